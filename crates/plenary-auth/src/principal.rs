//! The verified identity behind a connection.

use serde::{Deserialize, Serialize};

use crate::claims::Role;
use crate::glob;
use crate::scope::CommentScope;

/// Who is speaking, for which delegation, and what the token opens. Built by
/// [`crate::Verifier::verify`]; fields are public so tests and tools can build one directly.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Principal {
    pub sub: String,
    pub name: String,
    pub role: Role,
    /// Always `Some` for a delegate (verification refuses a delegate token without it).
    pub delegation: Option<String>,
    pub groups: Vec<String>,
    /// Document names or `*`/`?` patterns (see [`Principal::may_open`]).
    pub docs: Vec<String>,
    /// The token's `exp` (Unix seconds): a long-lived connection can be closed when it passes.
    pub expires_at: u64,
}

impl Principal {
    /// Whether this token opens the document `doc_name` (the WebSocket path after `/sync/`).
    ///
    /// A `docs` entry is an exact name or a glob where `*` is any run of characters and `?` any
    /// one character, neither crossing `/`. A comment document `<doc>/comments/<scope>` is
    /// opened by the entries that open `<doc>` (so `res-*` opens `res-1/comments/public`), or by
    /// an entry naming it in full, **and** only if the principal belongs to the scope
    /// ([`Principal::may_join_scope`]). An empty `docs` opens nothing.
    pub fn may_open(&self, doc_name: &str) -> bool {
        match CommentScope::parse_doc_name(doc_name) {
            Some((base, scope)) => {
                (self.docs_match(base) || self.docs_match(doc_name)) && self.may_join_scope(&scope)
            }
            None => self.docs_match(doc_name),
        }
    }

    fn docs_match(&self, name: &str) -> bool {
        self.docs.iter().any(|pattern| glob::matches(pattern, name))
    }

    /// The comment scopes this principal reads and writes in: public, each of its groups, and
    /// its own delegation's private scope.
    pub fn comment_scopes(&self) -> Vec<CommentScope> {
        std::iter::once(CommentScope::Public)
            .chain(self.groups.iter().cloned().map(CommentScope::Group))
            .chain(
                self.delegation
                    .iter()
                    .cloned()
                    .map(CommentScope::Delegation),
            )
            .collect()
    }

    /// Whether the principal may join (read) a comment scope.
    ///
    /// Membership comes from the token alone, for every role alike: a group scope needs the group
    /// in `groups`, a delegation scope needs that `delegation`. The chair and the secretariat get
    /// no master key: a delegation's notes to itself and a group's coordination are private in a
    /// real negotiation, even (especially) from the chair, who sees what delegations put in the
    /// public scope. Observers read the public scope (they may write only where
    /// [`crate::DocContext::observers_may_comment`] allows).
    pub fn may_join_scope(&self, scope: &CommentScope) -> bool {
        match scope {
            CommentScope::Public => true,
            CommentScope::Group(g) => self.groups.iter().any(|mine| mine == g),
            CommentScope::Delegation(d) => self.delegation.as_deref() == Some(d.as_str()),
        }
    }

    /// The delegation a change or comment is attributed to: the `delegation` claim, or the role's
    /// label (`Chair`, `Secretariat`, `Observer`) for someone who speaks for none. A chair's own
    /// proposal ("chair's text") is attributed to `Chair`.
    pub fn attribution(&self) -> &str {
        self.delegation.as_deref().unwrap_or(self.role.label())
    }
}
