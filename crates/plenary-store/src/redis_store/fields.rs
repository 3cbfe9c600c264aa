//! How a [`LogEntry`] is laid out as the fields of a stream entry (readable with `redis-cli
//! XRANGE`), and how awareness messages are framed on pub/sub.

use std::collections::HashMap;

use redis::Value;

use crate::{LogEntry, StoreError};

pub(super) const UPDATE: &str = "update";
pub(super) const USER: &str = "user";
pub(super) const DELEGATION: &str = "delegation";
pub(super) const AT_MS: &str = "at_ms";
pub(super) const PARAGRAPHS: &str = "paragraphs";
pub(super) const NODE: &str = "node";
pub(super) const NAME: &str = "name";

/// The stream ID of entry `seq`: the sequence number is the ID's time part, so XRANGE and XREAD
/// can start at any sequence number directly.
pub(super) fn stream_id(seq: u64) -> String {
    format!("{seq}-0")
}

/// The sequence number of a stream ID written by [`stream_id`].
pub(super) fn seq_of(doc: &str, id: &str) -> Result<u64, StoreError> {
    id.split_once('-')
        .and_then(|(ms, _)| ms.parse().ok())
        .ok_or_else(|| StoreError::corrupt(doc, format!("unexpected stream id {id:?}")))
}

pub(super) fn paragraphs_json(entry: &LogEntry) -> String {
    // Serialising a Vec<String> cannot fail.
    serde_json::to_string(&entry.paragraphs).unwrap_or_else(|_| "[]".to_owned())
}

pub(super) fn decode_entry(
    doc: &str,
    seq: u64,
    map: &HashMap<String, Value>,
) -> Result<LogEntry, StoreError> {
    let bytes = |name: &str| -> Result<Vec<u8>, StoreError> {
        let value = map
            .get(name)
            .ok_or_else(|| StoreError::corrupt(doc, format!("entry {seq} has no {name}")))?;
        redis::from_redis_value_ref::<Vec<u8>>(value)
            .map_err(|_| StoreError::corrupt(doc, format!("entry {seq} has an unreadable {name}")))
    };
    let text = |name: &str| -> Result<String, StoreError> {
        String::from_utf8(bytes(name)?)
            .map_err(|_| StoreError::corrupt(doc, format!("entry {seq} has a non-UTF-8 {name}")))
    };
    let at_ms = text(AT_MS)?
        .parse()
        .map_err(|_| StoreError::corrupt(doc, format!("entry {seq} has a bad {AT_MS}")))?;
    let paragraphs = serde_json::from_str(&text(PARAGRAPHS)?)
        .map_err(|_| StoreError::corrupt(doc, format!("entry {seq} has bad {PARAGRAPHS}")))?;
    let delegation = if map.contains_key(DELEGATION) {
        Some(text(DELEGATION)?)
    } else {
        None
    };
    let name = if map.contains_key(NAME) {
        Some(text(NAME)?)
    } else {
        None
    };
    Ok(LogEntry {
        update: bytes(UPDATE)?,
        user: text(USER)?,
        name,
        delegation,
        at_ms,
        paragraphs,
        node: text(NODE)?,
    })
}

/// Awareness payload on pub/sub: node id length (u16, big-endian), node id, then the bytes.
pub(super) fn frame_awareness(node: &str, bytes: &[u8]) -> Result<Vec<u8>, StoreError> {
    let len = u16::try_from(node.len())
        .map_err(|_| StoreError::InvalidInput("node id longer than 65535 bytes".to_owned()))?;
    let mut framed = Vec::with_capacity(2 + node.len() + bytes.len());
    framed.extend_from_slice(&len.to_be_bytes());
    framed.extend_from_slice(node.as_bytes());
    framed.extend_from_slice(bytes);
    Ok(framed)
}

/// The inverse of [`frame_awareness`]; `None` for a payload someone else published.
pub(super) fn unframe_awareness(payload: &[u8]) -> Option<(String, Vec<u8>)> {
    let (len, rest) = payload.split_first_chunk::<2>()?;
    let len = usize::from(u16::from_be_bytes(*len));
    if rest.len() < len {
        return None;
    }
    let (node, bytes) = rest.split_at(len);
    Some((String::from_utf8(node.to_vec()).ok()?, bytes.to_vec()))
}
