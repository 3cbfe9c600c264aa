//! At most `history_requests_per_doc` history requests (replay, compare, attribution) run at once
//! on one document; one more is refused at once with 429 and `Retry-After`.
//!
//! Refused rather than queued: every history request does bounded work (see `plenary-history`),
//! so a slot frees within about a second, and a refusal costs the server nothing, while a queue
//! would hold connections and memory for whoever fills it, one observer included.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::error::ApiError;

/// Seconds a refused client is asked to wait.
const RETRY_AFTER_S: u64 = 1;

/// One semaphore per document with requests in flight (documents without any hold none).
pub(crate) struct HistoryGate {
    per_doc: usize,
    docs: Mutex<HashMap<String, Arc<Semaphore>>>,
}

/// A running history request's slot; freed when dropped.
pub(crate) struct HistoryPermit {
    permit: Option<OwnedSemaphorePermit>,
    semaphore: Arc<Semaphore>,
    gate: Arc<HistoryGate>,
    doc: String,
}

impl HistoryGate {
    pub(crate) fn new(per_doc: usize) -> Self {
        HistoryGate {
            per_doc: per_doc.max(1),
            docs: Mutex::new(HashMap::new()),
        }
    }

    /// A slot for a history request on `doc`, or the 429 refusal.
    pub(crate) fn enter(self: &Arc<Self>, doc: &str) -> Result<HistoryPermit, ApiError> {
        let semaphore = {
            let mut docs = self.docs.lock().unwrap_or_else(|e| e.into_inner());
            docs.entry(doc.to_owned())
                .or_insert_with(|| Arc::new(Semaphore::new(self.per_doc)))
                .clone()
        };
        match semaphore.clone().try_acquire_owned() {
            Ok(permit) => Ok(HistoryPermit {
                permit: Some(permit),
                semaphore,
                gate: self.clone(),
                doc: doc.to_owned(),
            }),
            Err(_) => Err(ApiError::too_many_requests(
                format!(
                    "{} history requests are already running on document {doc} (the limit); \
                     try again in {RETRY_AFTER_S} s",
                    self.per_doc
                ),
                RETRY_AFTER_S,
            )),
        }
    }
}

impl Drop for HistoryPermit {
    fn drop(&mut self) {
        self.permit = None;
        let mut docs = self.gate.docs.lock().unwrap_or_else(|e| e.into_inner());
        // Nobody else holds or is about to use this document's semaphore: forget it.
        if Arc::strong_count(&self.semaphore) == 2
            && self.semaphore.available_permits() == self.gate.per_doc
        {
            docs.remove(&self.doc);
        }
    }
}
