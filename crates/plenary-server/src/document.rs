//! The document a room holds: a resolution, or one comment scope of it.
//!
//! Both kinds wrap a `plenary-doc` document that keeps the id index the
//! update-effect function needs; every change goes through [`LiveDoc::apply`]
//! so that index stays current.

use plenary_auth::CommentScope;
use plenary_doc::{CommentsDoc, EffectError, ResolutionDoc};
use yrs::Doc;

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

    /// Applies an update (already authorized, or read back from the log).
    pub(crate) fn apply(&mut self, bytes: &[u8]) -> Result<(), EffectError> {
        match self {
            LiveDoc::Resolution(d) => d.apply(bytes).map(|_| ()),
            LiveDoc::Comments { doc, .. } => doc.apply(bytes).map(|_| ()),
        }
    }

    pub(crate) fn load_state(&mut self, bytes: &[u8]) -> Result<(), EffectError> {
        self.apply(bytes)
    }

    pub(crate) fn encode_state(&self) -> Vec<u8> {
        match self {
            LiveDoc::Resolution(d) => d.encode_state(),
            LiveDoc::Comments { doc, .. } => doc.encode_state(),
        }
    }
}
