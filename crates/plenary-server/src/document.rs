//! The document a room holds: a resolution or a comment scope.

use yrs::updates::decoder::Decode;
use yrs::{Doc, ReadTxn, StateVector, Transact, Update};

/// The live CRDT of one room.
pub(crate) struct LiveDoc {
    doc: Doc,
}

impl LiveDoc {
    pub(crate) fn new(_name: &str) -> Self {
        LiveDoc { doc: Doc::new() }
    }

    pub(crate) fn doc(&self) -> &Doc {
        &self.doc
    }

    /// Applies stored state or a stored log entry (already authorized when it was appended).
    pub(crate) fn load_state(&mut self, bytes: &[u8]) -> Result<(), yrs::encoding::read::Error> {
        let update = Update::decode_v1(bytes)?;
        let _ = self.doc.transact_mut().apply_update(update);
        Ok(())
    }

    pub(crate) fn encode_state(&self) -> Vec<u8> {
        self.doc.transact().encode_state_as_update_v1(&StateVector::default())
    }
}
