//! Plenary's edit history (SPEC §6): what the resolution looked like at any point of its log,
//! who changed what when, what changed between two points, and who wrote each part of a
//! paragraph.
//!
//! The log in `plenary-store` is the source of truth; this crate only reads it (and writes
//! checkpoint snapshots, a cache). It knows no HTTP: the server's `/api` routes and the
//! `plenary diff` command call into it.
//!
//! - [`History`]: replay with checkpoints so that any point costs bounded work
//!   ([`History::materialize`]), the [`timeline`](History::timeline), points named by
//!   sequence number, version or time ([`Point`]), labels against the last version
//!   ([`History::base_order_at`]) and [`attribution`](History::attribution).
//! - [`compare`]: two states of one document, paragraph by paragraph, matched by id.
//! - [`diff_texts`]: two separately imported texts, paragraphs matched by similarity.
//! - [`word_diff`]: the word-level diff both report.
//! - [`tracked_authors`]: the attribution as the tracked-changes export credits it.

mod attribution;
mod compare;
mod error;
mod replay;
mod similarity;
mod words;

pub use attribution::{AttributedRun, ParagraphAttribution};
pub use compare::{
    Comparison, FootnoteChange, FootnoteChangeKind, MetaChange, MovedParagraph, ParagraphRef,
    StatusChange, TextChange, compare, iso8601, tracked_authors,
};
pub use error::HistoryError;
pub use replay::{
    ATTRIBUTION_CHECKPOINT_DISTANCE, ATTRIBUTION_KIND, DEFAULT_CHECKPOINT_DISTANCE,
    DEFAULT_MAX_ATTRIBUTION_TAIL, DEFAULT_MAX_MATERIALIZE_TAIL, History, Materialized, Point,
    TimelineEntry, TrackedInputs,
};
pub use similarity::{MatchedParagraph, TextDiff, diff_texts};
pub use words::{WordOp, WordOpKind, plain_text, word_diff};
