//! The limits of SPEC §3 as flags, environment variables and config-file keys.
//!
//! Each limit is declared once, in [`limit_args!`]: its flag (`--max-connections`), its
//! environment variable (`PLENARY_MAX_CONNECTIONS`), its config-file key (`max_connections`)
//! and how it sets [`Limits`] all come from that one line, so none can be forgotten.

use std::time::Duration;

use clap::Args;
use plenary_server::Limits;
use serde::Deserialize;

macro_rules! limit_args {
    ($( $(#[$doc:meta])* $field:ident : $ty:ty = $env:literal => |$l:ident, $v:ident| $set:expr ;)*) => {
        /// Every limit, as given on the command line, in the environment or in the config file.
        #[derive(Debug, Clone, Default, Args, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub(crate) struct LimitArgs {
            $(
                $(#[$doc])*
                #[arg(long, env = $env)]
                pub $field: Option<$ty>,
            )*
        }

        impl LimitArgs {
            /// The config-file keys that belong to limits.
            pub(crate) const KEYS: &'static [&'static str] = &[$(stringify!($field)),*];

            /// Sets `limits` from these values, falling back to `file`'s, then to the default.
            pub(crate) fn apply(&self, file: &LimitArgs, limits: &mut Limits) {
                $(
                    if let Some($v) = self.$field.clone().or_else(|| file.$field.clone()) {
                        let $l = &mut *limits;
                        $set;
                    }
                )*
            }
        }
    };
}

fn secs(s: f64) -> Duration {
    Duration::try_from_secs_f64(s.max(0.001)).unwrap_or(Duration::from_secs(3600))
}

limit_args! {
    /// Seconds a client has to send a complete request head (default 10).
    header_read_timeout_secs: f64 = "PLENARY_HEADER_READ_TIMEOUT_SECS" => |l, v| l.header_read_timeout = secs(v);
    /// Seconds an HTTP request (body and answer) may take before 408 (default 30).
    request_timeout_secs: f64 = "PLENARY_REQUEST_TIMEOUT_SECS" => |l, v| l.request_timeout = secs(v);
    /// Open connections in all (default 10000; never more than the process's file limit allows).
    max_connections: usize = "PLENARY_MAX_CONNECTIONS" => |l, v| l.max_connections = v.max(1);
    /// Open connections from one client address (default 1000).
    max_connections_per_address: usize = "PLENARY_MAX_CONNECTIONS_PER_ADDRESS" => |l, v| l.max_connections_per_address = v.max(1);
    /// Seconds between pings on an open WebSocket (default 30).
    ws_ping_interval_secs: f64 = "PLENARY_WS_PING_INTERVAL_SECS" => |l, v| l.ws_ping_interval = secs(v);
    /// Seconds without any frame (pongs included) before a WebSocket is closed (default 90).
    ws_idle_timeout_secs: f64 = "PLENARY_WS_IDLE_TIMEOUT_SECS" => |l, v| l.ws_idle_timeout = secs(v);
    /// Sustained document updates per second per connection (default 50).
    update_rate: u32 = "PLENARY_UPDATE_RATE" => |l, v| l.update_rate = v.max(1);
    /// Updates one connection may send at once above that rate (default 500).
    update_burst: u32 = "PLENARY_UPDATE_BURST" => |l, v| l.update_burst = v.max(1);
    /// Sustained presence messages per second per connection (default 10).
    presence_rate: u32 = "PLENARY_PRESENCE_RATE" => |l, v| l.presence_rate = v.max(1);
    /// Presence messages at once above that rate (default 20).
    presence_burst: u32 = "PLENARY_PRESENCE_BURST" => |l, v| l.presence_burst = v.max(1);
    /// Characters in one paragraph (default 20000).
    max_paragraph_chars: usize = "PLENARY_MAX_PARAGRAPH_CHARS" => |l, v| l.max_paragraph_chars = v;
    /// Characters in one footnote (default 5000).
    max_footnote_chars: usize = "PLENARY_MAX_FOOTNOTE_CHARS" => |l, v| l.max_footnote_chars = v;
    /// Paragraphs in one document (default 1000).
    max_paragraphs: usize = "PLENARY_MAX_PARAGRAPHS" => |l, v| l.max_paragraphs = v;
    /// Proposals in one document, open and decided (default 2000).
    max_proposals: usize = "PLENARY_MAX_PROPOSALS" => |l, v| l.max_proposals = v;
    /// Encoded size of one document in bytes (default 8 MiB).
    max_document_bytes: usize = "PLENARY_MAX_DOCUMENT_BYTES" => |l, v| l.max_document_bytes = v;
    /// History requests running at once on one document (default 2).
    history_requests_per_doc: usize = "PLENARY_HISTORY_REQUESTS_PER_DOC" => |l, v| l.history_requests_per_doc = v.max(1);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_override_the_file_and_the_file_overrides_defaults() {
        let flags = LimitArgs {
            max_connections: Some(5),
            ..Default::default()
        };
        let file: LimitArgs =
            toml::from_str("max_connections = 7\nws_idle_timeout_secs = 2.5\n").unwrap_or_default();
        let mut limits = Limits::default();
        flags.apply(&file, &mut limits);
        assert_eq!(limits.max_connections, 5);
        assert_eq!(limits.ws_idle_timeout, Duration::from_millis(2500));
        assert_eq!(limits.update_rate, Limits::default().update_rate);
    }

    #[test]
    fn every_key_is_listed() {
        assert_eq!(LimitArgs::KEYS.len(), 16);
        assert!(LimitArgs::KEYS.contains(&"max_document_bytes"));
    }
}
