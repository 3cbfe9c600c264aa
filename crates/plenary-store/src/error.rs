//! What can go wrong when talking to a store, in terms a caller can act on.

/// A store operation failed. Messages say what was wrong without exposing internals (keys,
/// connection strings), so they may be shown to operators and, for [`StoreError::Unavailable`],
/// summarised to clients.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The store cannot be reached right now (connection refused or lost, timeout, server
    /// loading). Retryable: nothing was written, or (for an append that timed out) the entry may
    /// have been written and will show up in the log.
    #[error("the store is unavailable: {reason}")]
    Unavailable { reason: String },
    /// Stored data could not be decoded: something other than this crate wrote it, or it was
    /// damaged.
    #[error("stored data for document {doc:?} is corrupt: {detail}")]
    Corrupt { doc: String, detail: String },
    /// A version with this name already exists for the document; version names are unique.
    #[error("document {doc:?} already has a version named {name:?}")]
    DuplicateVersion { doc: String, name: String },
    /// A snapshot or version was given a log position the document's log has not reached.
    #[error("position {seq} is beyond the end of document {doc:?}'s log (last is {last})")]
    BeyondLog { doc: String, seq: u64, last: u64 },
    /// The caller passed something the store cannot keep (an empty document name, ...).
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// The store refused or failed the operation for another reason (disk full, server error).
    #[error("the store failed: {0}")]
    Backend(String),
}

impl StoreError {
    /// Whether retrying later may succeed without changing anything (the store was unreachable).
    pub fn is_unavailable(&self) -> bool {
        matches!(self, StoreError::Unavailable { .. })
    }

    pub(crate) fn corrupt(doc: &str, detail: impl Into<String>) -> Self {
        StoreError::Corrupt {
            doc: doc.to_owned(),
            detail: detail.into(),
        }
    }

    pub(crate) fn unavailable(reason: impl Into<String>) -> Self {
        StoreError::Unavailable {
            reason: reason.into(),
        }
    }
}

/// Document names become parts of keys; the empty name is never a document.
pub(crate) fn check_doc(doc: &str) -> Result<(), StoreError> {
    if doc.is_empty() {
        return Err(StoreError::InvalidInput(
            "document name is empty".to_owned(),
        ));
    }
    Ok(())
}

/// Checkpoint kinds become parts of keys: a short name of letters, digits, `-` and `_`.
pub(crate) fn check_kind(kind: &str) -> Result<(), StoreError> {
    let ok = !kind.is_empty()
        && kind.len() <= 64
        && kind
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(StoreError::InvalidInput(
            "a checkpoint kind is 1 to 64 letters, digits, '-' or '_'".to_owned(),
        ))
    }
}
