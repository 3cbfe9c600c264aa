//! Decoding of incoming y-protocols frames into what a room acts on, and
//! encoding of what a room sends.
//!
//! Decoding happens in the connection's own task, so a flood of malformed
//! bytes costs its sender, never the room. Only well-formed messages reach
//! the room.

use yrs::StateVector;
use yrs::encoding::read::Cursor;
use yrs::sync::{AwarenessUpdate, Message, MessageReader, SyncMessage};
use yrs::updates::decoder::DecoderV1;
use yrs::updates::encoder::Encode;

/// A well-formed message from a client, as the room sees it.
#[derive(Debug)]
pub(crate) enum Incoming {
    SyncStep1(StateVector),
    /// A document update; `step2` when it came as sync step 2 (the answer to
    /// the server's step 1), which is policed exactly like an update.
    Update {
        bytes: Vec<u8>,
        step2: bool,
    },
    Awareness(AwarenessUpdate),
    AwarenessQuery,
}

/// Why a frame could not be used.
#[derive(Debug, thiserror::Error)]
pub(crate) enum FrameError {
    #[error("malformed message: {0}")]
    Malformed(String),
}

/// Decodes every message of a binary frame. Unknown top-level message types
/// are skipped, as y-websocket does; an auth message from a client means
/// nothing to the server and is skipped too.
pub(crate) fn decode_frame(frame: &[u8]) -> Result<Vec<Incoming>, FrameError> {
    let mut decoder = DecoderV1::new(Cursor::new(frame));
    let reader = MessageReader::new(&mut decoder);
    let mut out = Vec::with_capacity(1);
    let mut read = 0;
    for msg in reader {
        let msg = msg.map_err(|e| FrameError::Malformed(e.to_string()))?;
        read += 1;
        match msg {
            Message::Sync(SyncMessage::SyncStep1(sv)) => out.push(Incoming::SyncStep1(sv)),
            Message::Sync(SyncMessage::SyncStep2(bytes)) => {
                out.push(Incoming::Update { bytes, step2: true })
            }
            Message::Sync(SyncMessage::Update(bytes)) => out.push(Incoming::Update {
                bytes,
                step2: false,
            }),
            Message::Awareness(update) => out.push(Incoming::Awareness(update)),
            Message::AwarenessQuery => out.push(Incoming::AwarenessQuery),
            Message::Auth(_) | Message::Custom(..) => {}
        }
    }
    // yrs's reader stops silently at a message cut short; a frame that
    // yields no message at all is therefore empty or truncated.
    if read == 0 {
        return Err(FrameError::Malformed("empty or truncated message".into()));
    }
    Ok(out)
}

pub(crate) fn sync_step1(sv: StateVector) -> Vec<u8> {
    Message::Sync(SyncMessage::SyncStep1(sv)).encode_v1()
}

pub(crate) fn sync_step2(update: Vec<u8>) -> Vec<u8> {
    Message::Sync(SyncMessage::SyncStep2(update)).encode_v1()
}

pub(crate) fn update(update: Vec<u8>) -> Vec<u8> {
    Message::Sync(SyncMessage::Update(update)).encode_v1()
}

pub(crate) fn awareness(update: AwarenessUpdate) -> Vec<u8> {
    Message::Awareness(update).encode_v1()
}

/// The y-protocols `permission-denied` auth message.
pub(crate) fn permission_denied(reason: &str) -> Vec<u8> {
    Message::Auth(Some(reason.to_string())).encode_v1()
}
