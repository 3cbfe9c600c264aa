//! Frame layout per protocol: plain y-protocols, or Hocuspocus's
//! document-name prefix. Parsing reads only tags and lengths, never applies.

use yrs::encoding::read::{Cursor, Read};
use yrs::encoding::write::Write;

use crate::args::Protocol;

/// y-protocols message tags (Hocuspocus adds `SYNC_REPLY`, same payload as sync).
const MSG_SYNC: u32 = 0;
const MSG_AWARENESS: u32 = 1;
const MSG_AUTH: u32 = 2;
const MSG_QUERY_AWARENESS: u32 = 3;
const MSG_SYNC_REPLY: u32 = 4;
/// y-protocols `auth` sub-message: 0 is permission-denied (followed by the reason), 1 granted.
const PERMISSION_DENIED: u32 = 0;
const SYNC_STEP1: u32 = 0;
const SYNC_STEP2: u32 = 1;
const SYNC_UPDATE: u32 = 2;

/// One received message, borrowed from its frame.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Incoming<'a> {
    Step1(&'a [u8]),
    Step2(&'a [u8]),
    Update(&'a [u8]),
    Awareness,
    Denied,
    Other,
}

/// Frames for one document under one protocol.
#[derive(Debug, Clone)]
pub(crate) struct Framing {
    pub protocol: Protocol,
    pub doc: String,
}

impl Framing {
    /// The socket url: `<base>/<doc>` for y-protocols servers, `<base>` for Hocuspocus.
    pub(crate) fn url(&self, base: &str, token: Option<&str>) -> String {
        let base = base.trim_end_matches('/');
        let mut url = match self.protocol {
            Protocol::Hocuspocus => base.to_string(),
            Protocol::Yws | Protocol::Relay => format!("{base}/{}", self.doc),
        };
        if let Some(token) = token {
            url.push_str(if url.contains('?') {
                "&token="
            } else {
                "?token="
            });
            url.push_str(token);
        }
        url
    }

    /// What a client sends before anything else (Hocuspocus's token message).
    pub(crate) fn hello(&self, token: Option<&str>) -> Option<Vec<u8>> {
        (self.protocol == Protocol::Hocuspocus).then(|| {
            let mut buf = Vec::new();
            buf.write_string(&self.doc);
            buf.write_var(MSG_AUTH);
            buf.write_var(0u32);
            buf.write_string(token.unwrap_or(""));
            buf
        })
    }

    /// A sync message (`step` 0, 1 or 2) carrying `payload` (a state vector or an update).
    pub(crate) fn sync(&self, step: u32, payload: &[u8]) -> Vec<u8> {
        let mut buf = self.prefix();
        buf.write_var(MSG_SYNC);
        buf.write_var(step);
        buf.write_buf(payload);
        buf
    }

    pub(crate) fn update(&self, update: &[u8]) -> Vec<u8> {
        self.sync(SYNC_UPDATE, update)
    }

    /// An awareness message carrying an encoded `AwarenessUpdate`.
    pub(crate) fn awareness(&self, encoded: &[u8]) -> Vec<u8> {
        let mut buf = self.prefix();
        buf.write_var(MSG_AWARENESS);
        buf.write_buf(encoded);
        buf
    }

    /// A query-awareness message: the server answers it with its awareness
    /// states at once, after whatever it received before (a probe).
    pub(crate) fn query_awareness(&self) -> Vec<u8> {
        let mut buf = self.prefix();
        buf.write_var(MSG_QUERY_AWARENESS);
        buf
    }

    fn prefix(&self) -> Vec<u8> {
        let mut buf = Vec::with_capacity(64);
        if self.protocol == Protocol::Hocuspocus {
            buf.write_string(&self.doc);
        }
        buf
    }

    /// Reads the message of a frame; `None` if it is malformed or for another document.
    pub(crate) fn parse<'a>(&self, frame: &'a [u8]) -> Option<Incoming<'a>> {
        let mut c = Cursor::new(frame);
        if self.protocol == Protocol::Hocuspocus && c.read_string().ok()? != self.doc {
            return None;
        }
        Some(match c.read_var::<u32>().ok()? {
            MSG_SYNC | MSG_SYNC_REPLY => {
                let step = c.read_var::<u32>().ok()?;
                let len = c.read_var::<u32>().ok()? as usize;
                let payload = frame.get(c.next..c.next.checked_add(len)?)?;
                match step {
                    SYNC_STEP1 => Incoming::Step1(payload),
                    SYNC_STEP2 => Incoming::Step2(payload),
                    SYNC_UPDATE => Incoming::Update(payload),
                    _ => Incoming::Other,
                }
            }
            MSG_AWARENESS => Incoming::Awareness,
            MSG_AUTH => match c.read_var::<u32>().ok()? {
                PERMISSION_DENIED => Incoming::Denied,
                _ => Incoming::Other,
            },
            _ => Incoming::Other,
        })
    }
}

/// The reason of a permission-denied frame (plain y-protocols framing).
pub(crate) fn denial_reason(frame: &[u8]) -> Option<String> {
    let mut c = Cursor::new(frame);
    if c.read_var::<u32>().ok()? != MSG_AUTH || c.read_var::<u32>().ok()? != PERMISSION_DENIED {
        return None;
    }
    c.read_string().ok().map(str::to_owned)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn hocuspocus_frames_round_trip_with_the_document_prefix() {
        let f = Framing {
            protocol: Protocol::Hocuspocus,
            doc: "room-1".into(),
        };
        let frame = f.update(&[1, 2, 3]);
        assert_eq!(f.parse(&frame), Some(Incoming::Update(&[1, 2, 3])));
        let other = Framing {
            protocol: Protocol::Hocuspocus,
            doc: "room-2".into(),
        };
        assert_eq!(
            other.parse(&frame),
            None,
            "a frame for another document is not ours"
        );
        assert_eq!(f.url("ws://h:1/", Some("t")), "ws://h:1?token=t");
    }

    #[test]
    fn plain_frames_are_y_protocols_and_the_doc_goes_in_the_path() {
        let f = Framing {
            protocol: Protocol::Yws,
            doc: "d".into(),
        };
        assert_eq!(f.update(&[9]), vec![0, 2, 1, 9]);
        assert_eq!(f.parse(&[0, 1, 2, 7, 7]), Some(Incoming::Step2(&[7, 7])));
        assert_eq!(f.url("ws://h:1/sync", None), "ws://h:1/sync/d");
        assert!(f.hello(None).is_none());
    }

    #[test]
    fn permission_denied_is_auth_zero_as_yrs_encodes_it() {
        use yrs::sync::Message;
        use yrs::updates::encoder::Encode;
        let f = Framing {
            protocol: Protocol::Yws,
            doc: "d".into(),
        };
        let denied = Message::Auth(Some("OP1: agreed".into())).encode_v1();
        assert_eq!(f.parse(&denied), Some(Incoming::Denied));
        assert_eq!(denial_reason(&denied).as_deref(), Some("OP1: agreed"));
        let granted = Message::Auth(None).encode_v1();
        assert_eq!(f.parse(&granted), Some(Incoming::Other));
        assert_eq!(f.query_awareness(), Message::AwarenessQuery.encode_v1());
    }
}
