//! What can go wrong when reading history, in terms an API caller can act on.

use plenary_store::StoreError;

/// A history question could not be answered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HistoryError {
    /// The document has no log entry, snapshot or version.
    #[error("there is no document named {0:?}")]
    NoDocument(String),
    /// The position asked for lies past the last entry.
    #[error("position {seq} is beyond the end of the log (last entry is {last})")]
    BeyondLog { seq: u64, last: u64 },
    /// No version of this name was named on the document.
    #[error("no version named {0:?}: give a log position, a version name or `current`")]
    NoVersion(String),
    /// The stored state or log could not be turned into a document.
    #[error("the stored history is damaged at position {seq}: {detail}")]
    Corrupt { seq: u64, detail: String },
    /// Answering would replay too much of the log: the checkpoints that make it cheap are being
    /// built in the background. Ask again after about `retry_after_s` seconds.
    #[error("the history of this document is being indexed; try again in {retry_after_s} s")]
    Preparing { retry_after_s: u64 },
    /// The store failed or is unreachable.
    #[error(transparent)]
    Store(#[from] StoreError),
}
