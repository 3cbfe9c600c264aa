//! The server's configuration, as the library sees it (the binary builds it
//! from flags, environment and a config file).

use std::time::Duration;

use plenary_auth::AuthConfig;

/// Everything [`crate::run`] needs besides a listener, a store and a shutdown signal.
#[derive(Clone)]
pub struct ServerConfig {
    pub auth: AuthConfig,
    /// Largest WebSocket message accepted; over it the connection is closed (1009).
    pub max_message_bytes: usize,
    /// Most structs one update may hold; over it the connection is closed
    /// (1009) before the update is decoded. Yjs squashes typing into runs,
    /// so real updates hold far fewer; a crafted frame of a million
    /// one-character structs would hold a room for a second.
    pub max_update_structs: usize,
    /// Frames that may wait for one client before it is dropped as a slow consumer.
    pub outgoing_queue: usize,
    /// How long an empty room stays loaded.
    pub room_idle: Duration,
    /// How long a room goes without an update before its document drops the effect index
    /// (most of a quiet room's own memory); the next update rebuilds it, as a load does.
    pub index_quiet: Duration,
    /// Snapshot after this many log entries …
    pub snapshot_every: u64,
    /// … or after this long with unsnapshotted entries.
    pub snapshot_interval: Duration,
    /// Identifies this process in the shared log (several nodes on one Redis).
    pub node_id: String,
    /// Whether other nodes share the store (presence then crosses the bus).
    pub multi_node: bool,
    /// How long shutdown waits for rooms to write their final snapshots.
    pub shutdown_grace: Duration,
    /// Directory of the web editor's built files, served at `/`.
    pub web_dir: Option<std::path::PathBuf>,
    /// What one client, one connection and one document may cost (SPEC §3).
    pub limits: Limits,
    /// The development signing key (`serve --dev` with a secret it can sign with): when set,
    /// `POST /api/dev/token` renews a token; otherwise that route is 404.
    pub dev_signing: Option<plenary_auth::SigningKey>,
    /// The JSON Web Key Set file `auth.key` was read from (`PLENARY_JWT_JWKS`): re-read when it
    /// changes (polled every `jwks_poll`) or on SIGHUP, so keys rotate without a restart.
    pub jwks_file: Option<std::path::PathBuf>,
    /// How often the key set file is checked for a change.
    pub jwks_poll: Duration,
    /// When set, `/metrics` answers only `Authorization: Bearer <this>`.
    pub metrics_token: Option<String>,
}

/// The operator-settable limits of SPEC §3, each with a safe default. Every one is a flag, an
/// environment variable and a config-file key (see `plenary serve --help` and README).
#[derive(Debug, Clone)]
pub struct Limits {
    /// Time a client has to send a complete request head; then the connection is closed.
    pub header_read_timeout: Duration,
    /// Time an HTTP request (its body read and its answer) may take; then 408.
    pub request_timeout: Duration,
    /// Open TCP connections in all (HTTP and WebSocket); over it a new one gets 503 and is closed.
    pub max_connections: usize,
    /// Open TCP connections from one client address.
    pub max_connections_per_address: usize,
    /// How often the server pings an open WebSocket.
    pub ws_ping_interval: Duration,
    /// A WebSocket from which nothing (not even a pong) arrived for this long is closed.
    pub ws_idle_timeout: Duration,
    /// Sustained document updates per second one connection may send …
    pub update_rate: u32,
    /// … and how many it may send at once above that rate.
    pub update_burst: u32,
    /// Sustained presence messages per second one connection may send …
    pub presence_rate: u32,
    /// … and at once above it. Over it, the latest state is held back and relayed when allowed.
    pub presence_burst: u32,
    /// Characters in one paragraph's text.
    pub max_paragraph_chars: usize,
    /// Characters in one footnote.
    pub max_footnote_chars: usize,
    /// Paragraphs in one document.
    pub max_paragraphs: usize,
    /// Proposals in one document (open and decided).
    pub max_proposals: usize,
    /// Encoded size of one document.
    pub max_document_bytes: usize,
    /// History requests (replay, compare, attribution) running at once on one document.
    pub history_requests_per_doc: usize,
}

impl Limits {
    /// Each limit by name, for `plenary_limit{name="…"}` in `/metrics`.
    pub(crate) fn named_values(&self) -> [(&'static str, f64); 16] {
        let secs = |d: Duration| d.as_secs_f64();
        [
            ("header_read_timeout_secs", secs(self.header_read_timeout)),
            ("request_timeout_secs", secs(self.request_timeout)),
            ("max_connections", self.max_connections as f64),
            (
                "max_connections_per_address",
                self.max_connections_per_address as f64,
            ),
            ("ws_ping_interval_secs", secs(self.ws_ping_interval)),
            ("ws_idle_timeout_secs", secs(self.ws_idle_timeout)),
            ("update_rate", f64::from(self.update_rate)),
            ("update_burst", f64::from(self.update_burst)),
            ("presence_rate", f64::from(self.presence_rate)),
            ("presence_burst", f64::from(self.presence_burst)),
            ("max_paragraph_chars", self.max_paragraph_chars as f64),
            ("max_footnote_chars", self.max_footnote_chars as f64),
            ("max_paragraphs", self.max_paragraphs as f64),
            ("max_proposals", self.max_proposals as f64),
            ("max_document_bytes", self.max_document_bytes as f64),
            (
                "history_requests_per_doc",
                self.history_requests_per_doc as f64,
            ),
        ]
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            header_read_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            max_connections: 10_000,
            max_connections_per_address: 1_000,
            ws_ping_interval: Duration::from_secs(30),
            ws_idle_timeout: Duration::from_secs(90),
            update_rate: 50,
            update_burst: 500,
            presence_rate: 10,
            presence_burst: 20,
            max_paragraph_chars: 20_000,
            max_footnote_chars: 5_000,
            max_paragraphs: 1_000,
            max_proposals: 2_000,
            max_document_bytes: 8 * 1024 * 1024,
            history_requests_per_doc: 2,
        }
    }
}

impl std::fmt::Debug for ServerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerConfig")
            .field("max_message_bytes", &self.max_message_bytes)
            .field("max_update_structs", &self.max_update_structs)
            .field("outgoing_queue", &self.outgoing_queue)
            .field("room_idle", &self.room_idle)
            .field("index_quiet", &self.index_quiet)
            .field("node_id", &self.node_id)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl ServerConfig {
    /// Defaults suited to a negotiation room of a few hundred participants.
    pub fn new(auth: AuthConfig) -> Self {
        ServerConfig {
            auth,
            max_message_bytes: 4 * 1024 * 1024,
            max_update_structs: 20_000,
            outgoing_queue: 1024,
            room_idle: Duration::from_secs(30),
            index_quiet: Duration::from_secs(60),
            snapshot_every: 500,
            snapshot_interval: Duration::from_secs(60),
            node_id: format!("node-{:08x}", rand::random::<u32>()),
            multi_node: false,
            shutdown_grace: Duration::from_secs(10),
            web_dir: None,
            limits: Limits::default(),
            dev_signing: None,
            jwks_file: None,
            jwks_poll: Duration::from_secs(5),
            metrics_token: None,
        }
    }
}
