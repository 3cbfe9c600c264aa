//! The document a room holds: a resolution, or one comment scope of it.
//!
//! Both kinds wrap a `plenary-doc` document that keeps the id index the
//! update-effect function needs. That index follows every transaction on the
//! yrs document through its update observer, so an update is analysed once
//! (by the policy check) and then integrated directly.
//!
//! The document keeps deleted content until the room collects it
//! (`with_manual_gc`): a refused deletion is restored from the very items
//! the update deleted (`plenary_doc::Integration`). Every path that applies
//! bytes collects what they deleted in the same step.

use plenary_auth::CommentScope;
use plenary_doc::{CommentsDoc, Integration, ResolutionDoc, ValuesBefore};

use crate::enforcement::Followup;
use yrs::Doc;
use yrs::Update;
use yrs::updates::decoder::Decode;

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
                doc: CommentsDoc::with_manual_gc(),
                scope,
            },
            None => LiveDoc::Resolution(ResolutionDoc::with_manual_gc()),
        }
    }

    pub(crate) fn doc(&self) -> &Doc {
        match self {
            LiveDoc::Resolution(d) => d.doc(),
            LiveDoc::Comments { doc, .. } => doc.doc(),
        }
    }

    /// Applies encoded update bytes (a snapshot, a log entry, another
    /// node's entry: all judged when they were accepted) and collects what
    /// they deleted. Returns the change as integrated (empty if it held
    /// nothing new).
    pub(crate) fn apply(&mut self, bytes: &[u8]) -> Result<Vec<u8>, ApplyError> {
        let update = Update::decode_v1(bytes).map_err(|e| ApplyError::Decode(e.to_string()))?;
        let it = Integration::begin(self.doc(), update)
            .map_err(|e| ApplyError::Integrate(e.to_string()))?;
        if !it.changed() {
            return Ok(Vec::new());
        }
        Ok(it.accept())
    }

    /// The server's follow-up to an integrated update (a footnote mark
    /// taken off typed text, an allowed map write written again when a
    /// reverted concurrent write shadowed it), if any.
    pub(crate) fn settle(&self, followup: &Followup, before: &ValuesBefore) -> Option<Vec<u8>> {
        match (self, followup) {
            (LiveDoc::Resolution(d), Followup::Resolution(effect, refused)) => {
                d.settle(effect, &|t| refused.contains(t), before)
            }
            (LiveDoc::Comments { doc, .. }, Followup::Comments(effect, refused)) => {
                doc.settle(effect, &|t| refused.contains(t), before)
            }
            _ => None,
        }
    }

    /// What the keys of an update's refused parts hold now, read before it
    /// is integrated (for [`LiveDoc::settle`]).
    pub(crate) fn values_before(&self, followup: &Followup) -> ValuesBefore {
        match (self, followup) {
            (LiveDoc::Resolution(d), Followup::Resolution(effect, refused)) => {
                d.values_before(effect, &|t| refused.contains(t))
            }
            (LiveDoc::Comments { doc, .. }, Followup::Comments(effect, refused)) => {
                doc.values_before(effect, &|t| refused.contains(t))
            }
            _ => ValuesBefore::default(),
        }
    }

    /// Reverts the refused part of an integrated update. A refused deletion of a type restores
    /// all of it: besides the ids the update named, the content yrs deleted along with it (see
    /// `ResolutionDoc::deleted_beneath`).
    pub(crate) fn revert(
        &self,
        it: Integration<'_>,
        mut refused: plenary_doc::Footprint,
    ) -> Result<Vec<u8>, plenary_doc::IntegrateError> {
        let beneath = match self {
            LiveDoc::Resolution(d) => d.deleted_beneath(it.deleted(), &refused.deleted),
            LiveDoc::Comments { doc, .. } => doc.deleted_beneath(it.deleted(), &refused.deleted),
        };
        refused.deleted.merge_with(beneath);
        it.revert(&refused)
    }

    /// Drops the effect index while the room is quiet; the next update's check rebuilds it
    /// from the state (`plenary_doc::ResolutionDoc::shed_index`).
    pub(crate) fn shed_index(&self) {
        match self {
            LiveDoc::Resolution(d) => d.shed_index(),
            LiveDoc::Comments { doc, .. } => doc.shed_index(),
        }
    }

    pub(crate) fn encode_state(&self) -> Vec<u8> {
        match self {
            LiveDoc::Resolution(d) => d.encode_state(),
            LiveDoc::Comments { doc, .. } => doc.encode_state(),
        }
    }
}
