//! The typed, serde-serializable view of a resolution (SPEC §2).
//!
//! This is a plain-data mirror of the Y.Doc: importers produce it, exporters
//! consume it, the HTTP API serialises it. It is never the source of truth
//! while a document is live — the Y.Doc is. Derived fields (paragraph
//! `number`, `label`, footnote `marker`) are computed when the view is read
//! from a document and ignored when a view is written into one.

use serde::{Deserialize, Serialize};

/// A whole resolution.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Resolution {
    pub meta: Meta,
    /// In document order.
    pub paragraphs: Vec<Paragraph>,
    /// In order of first reference in the text (which is their numbering).
    pub footnotes: Vec<Footnote>,
    pub proposals: Vec<Proposal>,
    pub sponsors: Vec<Sponsor>,
}

/// The `meta` map. Every field is optional text except `mode`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Meta {
    pub symbol: Option<String>,
    pub distribution: Option<String>,
    pub date: Option<String>,
    pub original: Option<String>,
    pub organ: Option<String>,
    pub body: Option<String>,
    pub session: Option<String>,
    pub venue: Option<String>,
    pub agenda_item: Option<String>,
    pub agenda_title: Option<String>,
    pub submitted_by: Option<String>,
    /// The bracketed line under an adopted resolution's heading: `[on the report of the First
    /// Committee (A/80/534, para. 7)]`, `[without reference to a Main Committee (A/80/L.11)]`.
    pub report: Option<String>,
    pub introduction: Option<String>,
    /// An adopted resolution's number, printed before its title: `80/12`.
    pub number: Option<String>,
    pub title: Option<String>,
    pub acting_body: Option<String>,
    /// The lines after the last operative paragraph (`52nd plenary meeting`, its date), one per
    /// line.
    pub closing: Option<String>,
    pub mode: Mode,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    #[default]
    Open,
    Negotiation,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ParagraphKind {
    Preambular,
    Operative,
}

/// `open` → `bracketed` → `ad-ref` → `agreed` (locked).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    #[default]
    Open,
    Bracketed,
    AdRef,
    Agreed,
}

/// One paragraph of the preamble or the operative part.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Paragraph {
    /// Stable, never reused, survives moves.
    pub id: String,
    pub kind: ParagraphKind,
    /// 0 for a paragraph, 1 for a sub-paragraph (a), (b) …, 2 for a sub-sub-paragraph
    /// (i), (ii) … under a sub-paragraph.
    pub level: u8,
    pub status: Status,
    pub text: Vec<Run>,
    /// Derived: "3" for OP3, "(b)" for a sub-paragraph, "(ii)" for a sub-sub-paragraph, "" for preambular
    /// paragraphs (which are not numbered in the printed text).
    #[serde(default)]
    pub number: String,
    /// Derived: how delegates cite it: "PP2", "OP4", "OP4(b)", "OP3bis".
    #[serde(default)]
    pub label: String,
}

/// A run of text with uniform formatting. A footnote marker is its own run
/// whose `footnote` names the footnote id.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Run {
    pub text: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub italic: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub footnote: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Footnote {
    pub id: String,
    /// Derived: 1-based number by order of first reference.
    #[serde(default)]
    pub marker: u32,
    pub text: Vec<Run>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProposalAction {
    Replace,
    Insert,
    Delete,
    Move,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProposalStatus {
    #[default]
    Pending,
    Accepted,
    Rejected,
    Withdrawn,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Proposal {
    pub id: String,
    /// The paragraph replaced, deleted or moved.
    pub paragraph_id: Option<String>,
    /// `replace` only: the footnote amended, named instead of `paragraphId`; `baseText` is
    /// then the footnote's plain text when proposed, and accepting merges the change onto the
    /// footnote's text as it is then, exactly as for a paragraph. Absent in documents older
    /// than it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub footnote_id: Option<String>,
    /// For `insert` and `move`: the paragraph after which the new text goes.
    pub after: Option<String>,
    pub action: ProposalAction,
    pub text: String,
    /// `replace` (and `delete`): the paragraph's (or the footnote's) plain text the proposal was made against;
    /// accepting applies the change `baseText → text` to the paragraph as it is then (a
    /// three-way merge, `merge`). Absent in documents older than it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_text: Option<String>,
    /// The log position the proposal was made at, when the proposer's page knew it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_seq: Option<u64>,
    /// `insert`: the new paragraph's kind, when not that of the paragraph it follows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<ParagraphKind>,
    /// `insert`: the new paragraph's level, when not that of the paragraph it follows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<u8>,
    pub delegation: String,
    pub on_behalf_of: Option<String>,
    pub supporters: Vec<String>,
    pub author: String,
    /// Milliseconds since the Unix epoch.
    pub created_at: i64,
    pub status: ProposalStatus,
    pub decided_by: Option<String>,
    /// When the decision was taken, milliseconds since the Unix epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_at: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Sponsor {
    pub delegation: String,
    pub signed_by: String,
    /// Milliseconds since the Unix epoch.
    pub at: i64,
}
