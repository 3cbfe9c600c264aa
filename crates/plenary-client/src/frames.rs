//! Encoding of the few y-protocols frames a client sends, and a cheap
//! classification of frames received (used by tests that inspect every frame).

use yrs::StateVector;
use yrs::sync::{Message, SyncMessage};
use yrs::updates::encoder::Encode;

/// A sync-step-1 frame carrying `sv`.
pub fn encode_sync_step1(sv: &StateVector) -> Vec<u8> {
    Message::Sync(SyncMessage::SyncStep1(sv.clone())).encode_v1()
}

/// An update frame carrying a v1 update.
pub fn encode_update(update: Vec<u8>) -> Vec<u8> {
    Message::Sync(SyncMessage::Update(update)).encode_v1()
}

/// An awareness frame.
pub fn encode_awareness(update: yrs::sync::AwarenessUpdate) -> Vec<u8> {
    Message::Awareness(update).encode_v1()
}

/// The kind of the first message in a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageKind {
    SyncStep1,
    SyncStep2,
    Update,
    Awareness,
    Auth,
    AwarenessQuery,
    Other(u8),
    Malformed,
}

/// Classifies a frame by its leading tags without decoding its payload.
pub fn classify(frame: &[u8]) -> MessageKind {
    match frame {
        [0, 0, ..] => MessageKind::SyncStep1,
        [0, 1, ..] => MessageKind::SyncStep2,
        [0, 2, ..] => MessageKind::Update,
        [1, ..] => MessageKind::Awareness,
        [2, ..] => MessageKind::Auth,
        [3, ..] => MessageKind::AwarenessQuery,
        [t, ..] => MessageKind::Other(*t),
        [] => MessageKind::Malformed,
    }
}
