//! Plenary's resolution document: the schema of SPEC §2 on yrs, its typed
//! view, the editing operations a server or CLI needs, and — what the server
//! authorizes on — the *effect* of an incoming update, computed before it is
//! applied at a cost proportional to the update.
//!
//! Sans-IO: no clock, no network, no files. Time and client ids come in as
//! parameters.
//!
//! - [`ResolutionDoc`]: the live document, edits, [`Effect`] of updates.
//! - [`CommentsDoc`]: a comment-scope document and its [`CommentsEffect`].
//! - [`numbering`]: PP3, OP4, (b), provisional OP3bis against a [`BaseOrder`].
//! - [`compilation`] and [`checks`]: pure functions over a [`Resolution`].
//! - [`import_text`], [`export_text`], [`export_markdown`], [`export_html`],
//!   [`export_akn`], [`export_docx`], [`export_docx_tracked`]: drafts in and
//!   out as text, Markdown, HTML, Akoma Ntoso, Word (tracked changes too).
mod ancestry;
pub mod checks;
mod comments;
mod compensate;
pub mod compilation;
mod decide;
mod document;
mod effect;
mod export;
mod import;
pub mod merge;
mod model;
pub mod numbering;
pub mod pairing;
mod redact;
mod schema;
mod settle;
mod size;

pub use ancestry::DecodeError;
pub use comments::{
    Comment, CommentEffect, CommentTarget, CommentsDoc, CommentsEffect, NewComment, NewReply, Reply,
};
pub use compensate::{IntegrateError, Integration};
pub use decide::{DecideError, Decided, Decision, Stale, seen_token};
pub use document::{EditError, Position, ResolutionDoc, proposal_runs};
pub use effect::{
    Effect, EffectError, FieldChange, FootnoteEffect, Footprint, ParagraphEffect, ProposalEffect,
    SponsorChange, Target,
};
pub use export::{
    AknOptions, DocxError, TrackedAuthors, TrackedOptions, Writer, export_akn, export_akn_with,
    export_docx, export_docx_tracked, export_docx_tracked_with, export_html, export_markdown,
    export_text,
};
pub use import::{ImportError, ImportWarning, Imported, import_text};
pub use model::*;
pub use numbering::{BaseOrder, BaseParagraph, ParagraphLabel, labels};
pub use redact::redact_v1;
pub use schema::{
    FOOTNOTES, META, META_KEYS, PARAGRAPHS, PROPOSALS, REVISION, SPONSORS, superscript,
};
pub use settle::ValuesBefore;
pub use size::{TextKind, TextSize};
