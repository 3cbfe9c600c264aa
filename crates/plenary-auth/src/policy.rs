//! SPEC §1 as a pure function: may this principal do this to this document?

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::claims::Role;
use crate::principal::Principal;
use crate::scope::CommentScope;

/// The document's `meta.mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DocMode {
    /// Delegates edit open and bracketed text directly.
    Open,
    /// Delegates only propose; the chair decides.
    Negotiation,
}

/// A paragraph's `status`, in the order the chair moves it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ParagraphStatus {
    Open,
    Bracketed,
    /// Agreed ad referendum, pending capitals.
    AdRef,
    /// Agreed and locked.
    Agreed,
}

/// A string from the document that is not one of the known values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what}; expected {expected}")]
pub struct UnknownValue {
    pub what: &'static str,
    pub expected: &'static str,
}

impl DocMode {
    pub fn as_str(self) -> &'static str {
        match self {
            DocMode::Open => "open",
            DocMode::Negotiation => "negotiation",
        }
    }
}

impl FromStr for DocMode {
    type Err = UnknownValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "open" => Ok(DocMode::Open),
            "negotiation" => Ok(DocMode::Negotiation),
            _ => Err(UnknownValue {
                what: "document mode",
                expected: "open or negotiation",
            }),
        }
    }
}

impl ParagraphStatus {
    pub const ALL: [ParagraphStatus; 4] = [
        ParagraphStatus::Open,
        ParagraphStatus::Bracketed,
        ParagraphStatus::AdRef,
        ParagraphStatus::Agreed,
    ];

    /// The document's string: `open`, `bracketed`, `ad-ref`, `agreed`.
    pub fn as_str(self) -> &'static str {
        match self {
            ParagraphStatus::Open => "open",
            ParagraphStatus::Bracketed => "bracketed",
            ParagraphStatus::AdRef => "ad-ref",
            ParagraphStatus::Agreed => "agreed",
        }
    }
}

impl FromStr for ParagraphStatus {
    type Err = UnknownValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ParagraphStatus::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or(UnknownValue {
                what: "paragraph status",
                expected: "open, bracketed, ad-ref or agreed",
            })
    }
}

impl fmt::Display for DocMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for ParagraphStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the document's state says about who may do what.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DocContext {
    pub mode: DocMode,
    /// The document's policy on observers' comments (SPEC §1: "comment only where the
    /// document's policy allows it"). Off by default in a real negotiation.
    pub observers_may_comment: bool,
}

/// One thing an update (or a comment-document update) does. The server derives these from the
/// update's effect, paragraph by paragraph, and asks [`authorize`] about each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Change a paragraph's `text` (or its formatting), given the paragraph's current status.
    EditText {
        status: ParagraphStatus,
    },
    /// Add, change or remove a footnote's text (or a footnote marker).
    EditFootnote,
    /// Set a `meta` key; the key `mode` is the same as [`Action::SetMode`].
    EditMeta {
        key: String,
    },
    /// Switch the document between open and negotiation mode.
    SetMode,
    InsertParagraph,
    DeleteParagraph,
    MoveParagraph,
    /// Move a paragraph's status. Moving it *out of* `agreed` is a reopening: allowed to the
    /// chair with [`Decision::AllowWithReason`].
    SetParagraphStatus {
        from: ParagraphStatus,
        to: ParagraphStatus,
    },
    /// Change a paragraph's `kind` or `level`.
    ChangeParagraphShape,
    /// Create a proposal in the name of `delegation` (its `delegation` field).
    Propose {
        delegation: String,
    },
    /// Add or remove `supporter` in a proposal's `supporters`.
    SupportProposal {
        supporter: String,
    },
    /// Set a proposal's status to `withdrawn`.
    WithdrawProposal {
        proposal_delegation: String,
    },
    /// Change a pending proposal's text or target.
    EditProposal {
        proposal_delegation: String,
    },
    /// Accept or reject a proposal (status `accepted`/`rejected`, `decidedBy`).
    DecideProposal,
    /// Add or remove `delegation` in `sponsors`.
    Cosponsor {
        delegation: String,
    },
    /// Name a version (Rev.1, "as orally revised").
    NameVersion,
    /// Join (read) a comment scope's document.
    ReadComments {
        scope: CommentScope,
    },
    /// Add a comment or a reply.
    WriteComment {
        scope: CommentScope,
    },
    /// Change the text of an existing comment written by `author_sub`.
    EditComment {
        scope: CommentScope,
        author_sub: String,
    },
    /// Mark a comment written by `author_sub` resolved (or unresolved).
    ResolveComment {
        scope: CommentScope,
        author_sub: String,
    },
}

/// Why an action was refused: a stable rule id (for logs, tests and the permission-denied
/// message) and a sentence for the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denial {
    pub rule: &'static str,
    pub message: String,
}

impl fmt::Display for Denial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} [{}]", self.message, self.rule)
    }
}

impl std::error::Error for Denial {}

/// The policy's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Allow,
    /// Allowed, but SPEC §2 requires it logged with a reason (reopening an agreed paragraph):
    /// the server must record the chair's reason with the change. `rule` names the obligation.
    AllowWithReason {
        rule: &'static str,
    },
    Deny(Denial),
}

impl Decision {
    pub fn is_allowed(&self) -> bool {
        !matches!(self, Decision::Deny(_))
    }

    pub fn needs_reason(&self) -> bool {
        matches!(self, Decision::AllowWithReason { .. })
    }

    pub fn denial(&self) -> Option<&Denial> {
        match self {
            Decision::Deny(d) => Some(d),
            _ => None,
        }
    }
}

fn deny(rule: &'static str, message: impl Into<String>) -> Decision {
    Decision::Deny(Denial {
        rule,
        message: message.into(),
    })
}

/// Decides whether `principal` may perform `action` on a document in context `ctx`.
///
/// Pure and allocation-free when allowed. The matrix, role by role (SPEC §1):
/// * **chair** — everything a delegate may (proposals in its own name, attributed to its
///   delegation or `Chair`); text of any paragraph in any status and mode; structure, status,
///   mode, metadata, footnotes, deciding proposals, naming versions, resolving any comment in a
///   scope it reads. It edits only its own comments and reads only its own scopes.
/// * **secretariat** — metadata except `mode`, footnotes, technical text edits in paragraphs that
///   are not `agreed` (either mode), naming versions, resolving comments in scopes it reads; no
///   proposals, sponsorship, status, structure or mode.
/// * **delegate** — in open mode, text of `open`/`bracketed` paragraphs; in either mode,
///   proposals, support, withdrawal and edits of its own delegation's proposals, co-sponsorship
///   for its delegation, comments in its scopes (editing/resolving only its own).
/// * **observer** — reading; comments only if `ctx.observers_may_comment`.
pub fn authorize(principal: &Principal, action: &Action, ctx: &DocContext) -> Decision {
    use Role::{Chair, Delegate, Observer, Secretariat};
    let role = principal.role;
    match action {
        Action::EditText { status } => match (role, ctx.mode, status) {
            (Chair, _, _) => Decision::Allow,
            (Secretariat, _, ParagraphStatus::Agreed) => deny(
                "secretariat.agreed-paragraph",
                "the secretariat may not edit an agreed paragraph; ask the chair to reopen it",
            ),
            (Secretariat, _, _) => Decision::Allow,
            (Delegate, DocMode::Negotiation, _) => deny(
                "delegate.negotiation-mode",
                "in negotiation mode delegations make proposals; the text is edited by the chair",
            ),
            (Delegate, DocMode::Open, ParagraphStatus::Open | ParagraphStatus::Bracketed) => {
                Decision::Allow
            }
            (Delegate, DocMode::Open, ParagraphStatus::AdRef) => deny(
                "delegate.ad-ref-paragraph",
                "this paragraph is agreed ad referendum; make a proposal instead",
            ),
            (Delegate, DocMode::Open, ParagraphStatus::Agreed) => deny(
                "delegate.agreed-paragraph",
                "this paragraph is agreed and locked; make a proposal instead",
            ),
            (Observer, _, _) => observer_read_only(),
        },
        Action::EditFootnote => {
            chair_or_secretariat(role, "footnote.chair-or-secretariat", "edit footnotes")
        }
        Action::EditMeta { key } if key == "mode" => {
            chair_only(role, "mode.chair-only", "switch the document's mode")
        }
        Action::EditMeta { .. } => chair_or_secretariat(
            role,
            "meta.chair-or-secretariat",
            "edit the document's metadata",
        ),
        Action::SetMode => chair_only(role, "mode.chair-only", "switch the document's mode"),
        Action::InsertParagraph => chair_only(
            role,
            "structure.chair-only",
            "insert paragraphs; propose one instead",
        ),
        Action::DeleteParagraph => chair_only(
            role,
            "structure.chair-only",
            "delete paragraphs; propose it instead",
        ),
        Action::MoveParagraph => chair_only(
            role,
            "structure.chair-only",
            "move paragraphs; propose it instead",
        ),
        Action::ChangeParagraphShape => chair_only(
            role,
            "structure.chair-only",
            "change a paragraph's kind or level",
        ),
        Action::SetParagraphStatus { from, to } => match role {
            Chair if *from == ParagraphStatus::Agreed && *to != ParagraphStatus::Agreed => {
                Decision::AllowWithReason {
                    rule: "status.reopen-agreed",
                }
            }
            Chair => Decision::Allow,
            Role::Observer => observer_read_only(),
            _ => deny(
                "status.chair-only",
                "only the chair moves a paragraph's status",
            ),
        },
        Action::Propose { delegation } => {
            may_act_for_delegation(principal, delegation, "propose", "proposal.own-delegation")
        }
        Action::SupportProposal { supporter } => may_act_for_delegation(
            principal,
            supporter,
            "support proposals",
            "support.own-delegation",
        ),
        Action::WithdrawProposal {
            proposal_delegation,
        } => may_act_for_delegation(
            principal,
            proposal_delegation,
            "withdraw proposals",
            "proposal.own-delegation",
        ),
        Action::EditProposal {
            proposal_delegation,
        } => may_act_for_delegation(
            principal,
            proposal_delegation,
            "edit proposals",
            "proposal.own-delegation",
        ),
        Action::DecideProposal => {
            chair_only(role, "proposal.chair-decides", "accept or reject proposals")
        }
        Action::Cosponsor { delegation } => match role {
            Chair | Delegate if principal.delegation.as_deref() == Some(delegation.as_str()) => {
                Decision::Allow
            }
            Chair | Delegate => deny(
                "cosponsor.own-delegation",
                format!("you may co-sponsor only for your own delegation, not for {delegation}"),
            ),
            Secretariat => deny(
                "secretariat.no-proposals",
                "the secretariat does not co-sponsor",
            ),
            Observer => observer_read_only(),
        },
        Action::NameVersion => {
            chair_or_secretariat(role, "version.chair-or-secretariat", "name versions")
        }
        Action::ReadComments { scope } => scope_member(principal, scope),
        Action::WriteComment { scope } => may_comment(principal, scope, ctx),
        Action::EditComment { scope, author_sub } => match may_comment(principal, scope, ctx) {
            Decision::Allow if *author_sub == principal.sub => Decision::Allow,
            Decision::Allow => deny("comments.own-only", "you may edit only your own comments"),
            denied => denied,
        },
        Action::ResolveComment { scope, author_sub } => {
            match (role, scope_member(principal, scope)) {
                (_, denied @ Decision::Deny(_)) => denied,
                (Chair | Secretariat, _) => Decision::Allow,
                (Observer, _) if !ctx.observers_may_comment => observers_may_not_comment(),
                _ if *author_sub == principal.sub => Decision::Allow,
                _ => deny(
                    "comments.resolve-own-only",
                    "only the author, the chair or the secretariat resolves a comment",
                ),
            }
        }
    }
}

fn observer_read_only() -> Decision {
    deny(
        "observer.read-only",
        "observers read the text; they do not change it",
    )
}

fn chair_only(role: Role, rule: &'static str, what: &str) -> Decision {
    match role {
        Role::Chair => Decision::Allow,
        Role::Observer => observer_read_only(),
        _ => deny(rule, format!("only the chair may {what}")),
    }
}

fn chair_or_secretariat(role: Role, rule: &'static str, what: &str) -> Decision {
    match role {
        Role::Chair | Role::Secretariat => Decision::Allow,
        Role::Observer => observer_read_only(),
        Role::Delegate => deny(
            rule,
            format!("only the chair or the secretariat may {what}"),
        ),
    }
}

/// Proposals and support are acts of a delegation: a delegate (or the chair, in its own name)
/// acts only for the delegation it is attributed to.
fn may_act_for_delegation(
    principal: &Principal,
    delegation: &str,
    what: &str,
    rule: &'static str,
) -> Decision {
    match principal.role {
        Role::Chair | Role::Delegate if principal.attribution() == delegation => Decision::Allow,
        Role::Chair | Role::Delegate => deny(
            rule,
            format!(
                "you may {what} only for {}, not for {delegation}",
                principal.attribution()
            ),
        ),
        Role::Secretariat => deny(
            "secretariat.no-proposals",
            "the secretariat makes no proposals of its own",
        ),
        Role::Observer => observer_read_only(),
    }
}

fn scope_member(principal: &Principal, scope: &CommentScope) -> Decision {
    if principal.may_join_scope(scope) {
        Decision::Allow
    } else {
        deny(
            "comments.scope",
            format!("you do not belong to the comment scope {scope}"),
        )
    }
}

fn observers_may_not_comment() -> Decision {
    deny(
        "comments.observers-disabled",
        "this document does not take comments from observers",
    )
}

fn may_comment(principal: &Principal, scope: &CommentScope, ctx: &DocContext) -> Decision {
    match scope_member(principal, scope) {
        Decision::Allow if principal.role == Role::Observer && !ctx.observers_may_comment => {
            observers_may_not_comment()
        }
        decision => decision,
    }
}
