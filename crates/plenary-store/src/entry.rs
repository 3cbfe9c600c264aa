//! The records the store keeps: log entries, snapshots and named versions.

use serde::{Deserialize, Serialize};

/// One accepted update, as appended to a document's log before it is broadcast.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    /// The encoded update (opaque to the store).
    pub update: Vec<u8>,
    /// Who made it.
    pub user: String,
    /// Their display name when they made it ("Delegate of Japan"), from their token: history
    /// reads in names even about someone long gone. `None` in entries written before it was kept.
    pub name: Option<String>,
    /// On behalf of which delegation, if any.
    pub delegation: Option<String>,
    /// When it was accepted, milliseconds since the Unix epoch (given by the caller).
    pub at_ms: i64,
    /// The paragraphs it touched, so history can be filtered by paragraph without decoding.
    pub paragraphs: Vec<String>,
    /// The server node that appended it, so a node watching the log can skip its own entries.
    pub node: String,
}

/// The encoded state of a document at a log position: loading it and replaying the log after
/// `seq` gives the current document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// The last log entry included in `state`.
    pub seq: u64,
    /// The encoded state (opaque to the store).
    pub state: Vec<u8>,
}

/// Data derived from a document's log up to a position (an attribution index, say), kept so a
/// reader can start from it instead of from the beginning of the log. The store keeps one per
/// (document, kind, position); what the bytes mean is the caller's business.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The last log entry the data covers.
    pub seq: u64,
    /// The encoded data (opaque to the store).
    pub data: Vec<u8>,
}

/// A name given to a log position ("rev1", "after first reading").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Version {
    /// Unique per document.
    pub name: String,
    /// The log position named.
    pub seq: u64,
    /// When it was named, milliseconds since the Unix epoch.
    pub at_ms: i64,
    /// Who named it.
    pub by: String,
}

/// Versions are listed by position, then time, then name, so the order is total and stable.
pub(crate) fn sort_versions(versions: &mut [Version]) {
    versions.sort_by(|a, b| (a.seq, a.at_ms, &a.name).cmp(&(b.seq, b.at_ms, &b.name)));
}
