//! The document a room holds: a resolution, or one comment scope of it.
//!
//! Both kinds wrap a `plenary-doc` document that keeps the id index the
//! update-effect function needs. That index follows every transaction on the
//! yrs document through its update observer, so an update is analysed once
//! (by the policy check) and then integrated directly.

use plenary_auth::CommentScope;
use plenary_doc::{CommentsDoc, ResolutionDoc};
use yrs::Doc;
use yrs::updates::decoder::Decode;
use yrs::{Transact, Update};

/// Why stored or accepted bytes could not be applied.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ApplyError {
    #[error("undecodable update: {0}")]
    Decode(String),
    #[error("update did not integrate: {0}")]
    Integrate(String),
}

pub(crate) enum LiveDoc {
    Resolution(ResolutionDoc),
    Comments {
        doc: CommentsDoc,
        scope: CommentScope,
    },
}

impl LiveDoc {
    /// The kind follows the name: `<doc>/comments/<scope>` is a comment scope.
    pub(crate) fn new(name: &str) -> Self {
        match CommentScope::parse_doc_name(name) {
            Some((_, scope)) => LiveDoc::Comments {
                doc: CommentsDoc::new(),
                scope,
            },
            None => LiveDoc::Resolution(ResolutionDoc::new()),
        }
    }

    pub(crate) fn doc(&self) -> &Doc {
        match self {
            LiveDoc::Resolution(d) => d.doc(),
            LiveDoc::Comments { doc, .. } => doc.doc(),
        }
    }

    /// Integrates an update that is already decoded and authorized (its
    /// effect was computed by the policy check). It goes straight to the yrs
    /// document: the effect index follows every transaction through its
    /// update observer, so nothing is analysed twice.
    pub(crate) fn integrate(&mut self, update: Update) -> Result<(), ApplyError> {
        self.doc()
            .transact_mut()
            .apply_update(update)
            .map_err(|e| ApplyError::Integrate(e.to_string()))
    }

    /// Applies encoded update bytes (a snapshot, a log entry, another
    /// node's entry: all authorized when they were accepted).
    pub(crate) fn apply(&mut self, bytes: &[u8]) -> Result<(), ApplyError> {
        let update = Update::decode_v1(bytes).map_err(|e| ApplyError::Decode(e.to_string()))?;
        self.integrate(update)
    }

    pub(crate) fn encode_state(&self) -> Vec<u8> {
        match self {
            LiveDoc::Resolution(d) => d.encode_state(),
            LiveDoc::Comments { doc, .. } => doc.encode_state(),
        }
    }
}
