//! The effect of an incoming update on a resolution, computed *before* it is
//! applied and at a cost proportional to the update: what the server
//! authorizes on, and what attribution and history are computed on.
//!
//! # How it works
//!
//! 1. The v1 bytes are read struct by struct (`ancestry::decode_v1`, the
//!    same layout as yrs's own decoder, with origins and parents kept).
//! 2. Each new struct is placed: an explicit parent (root name or the id of
//!    the item holding the parent type) and map key when it carries one,
//!    otherwise the parent and key of its origin (else right origin), looked
//!    up first among the update's own structs, then in the document's
//!    [`IdIndex`](crate::ancestry) of id ranges. Climbing containing items
//!    gives the ancestry: root, chain of containing items, map key.
//! 3. The delete set is mapped through the same lookups, minus what the
//!    document had already deleted (a client's sync-step-2 resends its whole
//!    delete set; that must not read as new deletions). Structs the document
//!    already holds are skipped for the same reason.
//! 4. The resolution schema reads each ancestry: `paragraphs → map M → key`
//!    is a field of the paragraph whose `id` label M carries; `… → text` is a
//!    text edit; `footnotes → key` a footnote; and so on. Anything else is
//!    [`Effect::unknown`], which the server denies.
//! 5. [`ResolutionDoc::effect`] then looks up, for each *inserted*
//!    paragraph only, the current paragraph with that id: a move whose
//!    re-inserted content differs from the current one (a stale replica
//!    reverting a concurrent edit) gets `text`/`fields` set; an insert of an
//!    id that exists gets `duplicate`. That lookup is the one place the cost
//!    depends on the document (one scan of the paragraph list per inserted
//!    paragraph); text edits, status changes and the rest never read it.
//!
//! Costs (bench `effect`, 200 paragraphs): ~4 µs for a one-character edit
//! or a 50-character paste, against ~6–10 ms for copying the document,
//! applying and diffing.
//!
//! # Invariants
//!
//! - Every transaction committed on the document (through [`ResolutionDoc`]
//!   or directly on a clone of its `yrs::Doc`) feeds the index via
//!   `observe_update_v1`, so local edits and remote updates are both known.
//! - Index entries are never removed, so edits next to deleted content are
//!   still placed. Ranges the document garbage-collected, when loaded from
//!   an encoded state, are known only as GC: a struct hanging only off GC
//!   ranges is dropped by yrs, and is counted in [`Effect::discarded`].
//! - A struct naming an id neither the document nor the update holds is
//!   unknown (yrs would keep it pending): reported in `unknown`.
//! - Yjs has no move: a move is delete + insert of a map with the same `id`.
//!   Two replicas moving the same paragraph concurrently therefore leave
//!   two copies; the second arrives as a `duplicate` insert, which the
//!   server should deny (or serialize moves: only the chair moves).
//! - Children of a container deleted by the same update (a paragraph's
//!   text and fields) fold into the container's deletion; fields written
//!   into a container created by the same update are its initial values.
//!
//! [`ResolutionDoc`]: crate::ResolutionDoc
//! [`ResolutionDoc::effect`]: crate::ResolutionDoc::effect

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use yrs::{Any, IdSet};

use serde::Serialize;
use serde_json::Value;

use crate::ancestry::{
    Ancestry, Content, DecodeError, TYPE_MAP, TYPE_TEXT, Touch, UpdateView, any_json, fmt_id,
};
use crate::model::Run;
use crate::schema::{FOOTNOTE, FOOTNOTES, ITALIC, META, PARAGRAPHS, PROPOSALS, SPONSORS};

/// Why an update's effect could not be computed, or why it could not be
/// applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EffectError {
    #[error(transparent)]
    Decode(#[from] DecodeError),
    #[error("the document's id index could not read a committed transaction: {0}")]
    IndexBroken(String),
    #[error("yrs refused the update: {0}")]
    Apply(String),
}

/// Writes to one map key: the values written (deduplicated) and whether a
/// previous value was removed (with the removed values when known).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FieldChange {
    pub values: Vec<Value>,
    pub removed: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub previous: Vec<Value>,
    /// The value the writer ends with: its latest write to the key that the
    /// update does not delete again (`None` when every write it made is
    /// deleted again, or it only removed the key).
    #[serde(skip)]
    pub last: Option<Value>,
    #[serde(skip)]
    last_id: Option<(u64, u32)>,
}

impl FieldChange {
    fn set(&mut self, v: Value) {
        if !self.values.contains(&v) {
            self.values.push(v);
        }
    }
    fn remove(&mut self, previous: Vec<Value>) {
        self.removed = true;
        for p in previous {
            if !self.previous.contains(&p) {
                self.previous.push(p);
            }
        }
    }

    /// Records one write to the key: a value set, or the previous ones removed.
    pub(crate) fn record(&mut self, view: &UpdateView<'_>, touch: &Touch) {
        match touch {
            // A write its writer already deleted and collected: no value.
            Touch::Insert { st, .. } if matches!(st.content, Some(Content::Deleted)) => {}
            Touch::Insert { st, .. } => {
                let v = view.value_of(st);
                let at = (st.id.client.get(), st.id.clock);
                if !view.deletes_item(&st.id) && self.last_id.is_none_or(|l| l < at) {
                    self.last = Some(v.clone());
                    self.last_id = Some(at);
                }
                self.set(v)
            }
            Touch::Delete { values, .. } => self.remove(values.iter().map(any_json).collect()),
        }
    }
}

/// The ids one part of an update inserts and deletes: what the server
/// reverts when it refuses that part (and nothing else).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Footprint {
    pub inserted: IdSet,
    pub deleted: IdSet,
}

impl Footprint {
    pub fn is_empty(&self) -> bool {
        self.inserted.is_empty() && self.deleted.is_empty()
    }

    pub fn merge(&mut self, other: &Footprint) {
        self.inserted.merge_with(other.inserted.clone());
        self.deleted.merge_with(other.deleted.clone());
    }

    /// Clock units inserted (for text: UTF-16 code units, as Yjs counts).
    pub fn inserted_len(&self) -> u64 {
        units(&self.inserted)
    }

    /// Clock units deleted.
    pub fn deleted_len(&self) -> u64 {
        units(&self.deleted)
    }
}

/// Clock units in an id set: O(ranges).
fn units(set: &IdSet) -> u64 {
    set.iter()
        .flat_map(|(_, ranges)| ranges.into_iter())
        .map(|r| u64::from(r.end.saturating_sub(r.start)))
        .sum()
}

/// The unit of a judgement: one part of the schema an update may touch.
/// Everything an update does lands in exactly one target's [`Footprint`].
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Target {
    /// The characters of a paragraph's text, and whatever it deletes there.
    ParagraphText(String),
    /// Formatting marks (and any embed) inserted into a paragraph's text.
    ParagraphMarks(String),
    /// One field of an existing paragraph (`status`, `kind`, `level` …).
    ParagraphField(String, String),
    /// The paragraph map itself: inserted, deleted or moved, with its
    /// content.
    Paragraph(String),
    Meta(String),
    Footnote(String),
    /// A proposal: its creation, deletion, fields and supporters.
    Proposal(String),
    /// One entry of `sponsors`, by the id of its map item.
    Sponsor(String),
    /// Writes outside the resolution schema.
    Unknown,
}

/// What an update does to one paragraph.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ParagraphEffect {
    /// A new paragraph map with its initial fields (`id`, `kind`, `level`,
    /// `status`, `text` as a plain string).
    pub inserted: Option<serde_json::Map<String, Value>>,
    /// The new paragraph's text with its italic and footnote marks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inserted_runs: Option<Vec<Run>>,
    /// The paragraph map was deleted (with `inserted`: a move).
    pub deleted: bool,
    /// Inserted (not moved) with an id the document already has: applying
    /// it would show the paragraph twice — what two replicas moving the same
    /// paragraph concurrently produce, or a client reusing an id. The server
    /// should deny it.
    pub duplicate: bool,
    /// Characters or formatting of its text changed.
    pub text: bool,
    /// Format attributes written (`italic`, `footnote`).
    pub formats: BTreeSet<String>,
    /// Text was typed inside a footnote marker's span (right before the mark
    /// ends), so it takes on the `footnote` attribute: the server takes it
    /// off again (`settle`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub spreads_footnote: bool,
    /// Formatting the schema does not allow in paragraph text (an unknown
    /// attribute, or a value of the wrong kind), and embeds.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub foreign: Vec<String>,
    /// Field writes on an existing paragraph (`status`, `kind`, `level`, `id`).
    pub fields: BTreeMap<String, FieldChange>,
}

impl ParagraphEffect {
    /// Deleted and re-inserted with the same id: the Yjs form of a move.
    pub fn is_move(&self) -> bool {
        self.deleted && self.inserted.is_some()
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FootnoteEffect {
    pub added: bool,
    pub deleted: bool,
    pub text: bool,
    /// A new footnote text's length (UTF-16 code units, as Yjs counts), the
    /// longest when the update writes the key more than once.
    #[serde(skip)]
    pub added_len: u32,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProposalEffect {
    /// Initial fields of a new proposal (`delegation`, `author`, `status`,
    /// `action`, `paragraphId`, `supporters` …).
    pub inserted: Option<serde_json::Map<String, Value>>,
    pub deleted: bool,
    pub fields: BTreeMap<String, FieldChange>,
    pub supporters_added: Vec<String>,
    pub supporters_removed: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase", tag = "change")]
pub enum SponsorChange {
    Added {
        fields: serde_json::Map<String, Value>,
    },
    Removed {
        delegation: Option<String>,
    },
    Edited {
        delegation: Option<String>,
        key: String,
        value: Option<Value>,
    },
}

/// What an update would change, keyed by the schema's own ids.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Effect {
    pub paragraphs: BTreeMap<String, ParagraphEffect>,
    /// `meta` keys written, `mode` included (see [`Effect::mode`]).
    pub meta: BTreeMap<String, FieldChange>,
    pub footnotes: BTreeMap<String, FootnoteEffect>,
    pub proposals: BTreeMap<String, ProposalEffect>,
    pub sponsors: Vec<SponsorChange>,
    /// Writes the schema does not account for (other roots, unplaceable
    /// structs, malformed shapes): the server denies an update with any.
    pub unknown: Vec<String>,
    /// Structs yrs will drop on integration (their neighbours were GC'd).
    pub discarded: u32,
    /// Structs or deletions naming ids that neither the document nor the
    /// update holds (a clock gap, a missing dependency): yrs would keep them
    /// pending and integrate them later, unchecked. Their reasons are in
    /// `unknown`; the server refuses such an update whole.
    pub unplaceable: u32,
    /// The ids of each part, to revert the parts the server refuses.
    #[serde(skip)]
    pub footprints: BTreeMap<Target, Footprint>,
}

impl Effect {
    /// Nothing would change (e.g. a resend of known state).
    pub fn is_empty(&self) -> bool {
        self.paragraphs.is_empty()
            && self.meta.is_empty()
            && self.footnotes.is_empty()
            && self.proposals.is_empty()
            && self.sponsors.is_empty()
            && self.unknown.is_empty()
    }

    /// The write to `meta.mode`, if any.
    pub fn mode(&self) -> Option<&FieldChange> {
        self.meta.get("mode")
    }

    /// Ids of paragraphs deleted and re-inserted (moved) by the update.
    pub fn moved_paragraphs(&self) -> impl Iterator<Item = &str> {
        self.paragraphs
            .iter()
            .filter(|(_, p)| p.is_move())
            .map(|(id, _)| id.as_str())
    }
}

fn runs_of(raw: Vec<(String, HashMap<Arc<str>, Any>)>) -> Vec<Run> {
    let mut runs: Vec<Run> = Vec::new();
    for (text, attrs) in raw {
        let italic = matches!(attrs.get(ITALIC), Some(Any::Bool(true)));
        let footnote = match attrs.get(FOOTNOTE) {
            Some(Any::String(s)) => Some(s.to_string()),
            _ => None,
        };
        match runs.last_mut() {
            Some(r) if r.italic == italic && r.footnote == footnote => r.text.push_str(&text),
            _ => runs.push(Run {
                text,
                italic,
                footnote,
            }),
        }
    }
    runs
}

/// The length of runs of text in UTF-16 code units (what Yjs and a
/// browser count as a text's length).
pub(crate) fn utf16_len(runs: &[Run]) -> u32 {
    runs.iter()
        .map(|r| r.text.encode_utf16().count() as u32)
        .sum()
}

/// Why a struct written into paragraph text is not part of the schema:
/// only characters, and the `italic` (true/null) and `footnote` (a footnote
/// id/null) marks.
fn foreign_in_text(st: &crate::ancestry::Struct) -> Option<String> {
    match &st.content {
        Some(Content::String(_) | Content::Deleted) | None => None,
        Some(Content::Format(k, v)) => match (k.as_ref(), v) {
            (ITALIC, Any::Bool(true) | Any::Null) => None,
            (FOOTNOTE, Any::String(_) | Any::Null) => None,
            (ITALIC | FOOTNOTE, _) => {
                Some(format!("the `{k}` mark with a value of the wrong kind"))
            }
            _ => Some(format!("the format attribute `{k}`")),
        },
        Some(_) => Some("an embed or other non-text content".to_owned()),
    }
}

fn object(v: Value) -> serde_json::Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => serde_json::Map::new(),
    }
}

fn key_is(at: &Ancestry, k: &str) -> bool {
    at.key.as_deref() == Some(k)
}

/// Reads touches through the resolution schema.
pub(crate) fn resolution_effect(view: &UpdateView<'_>) -> Effect {
    let touches = view.touches();
    let unplaceable = (touches.unplaceable.kept.len() + touches.unplaceable.more) as u32;
    let mut e = Effect {
        discarded: touches.discarded,
        unplaceable,
        ..Effect::default()
    };
    let mut unknowns = touches.unplaceable;
    for t in &touches.touches {
        let (at, insert) = match t {
            Touch::Insert { st, at, .. } => (at, Some(*st)),
            Touch::Delete { at, .. } => (at, None),
        };
        let mut unknown = |e: &mut Effect, why: &str| {
            unknowns.push(|| {
                let what = match t {
                    Touch::Insert { st, .. } => format!("insert {}", fmt_id(&st.id)),
                    Touch::Delete { item, .. } => format!("delete {}", fmt_id(item)),
                };
                format!("{what} in `{}`: {why}", at.root)
            });
            t.add_to(e.footprints.entry(Target::Unknown).or_default());
        };
        let charge = |e: &mut Effect, target: Target| {
            t.add_to(e.footprints.entry(target).or_default());
        };
        let chain: Vec<(&yrs::ID, Option<&str>)> =
            at.chain.iter().map(|(i, k)| (i, k.as_deref())).collect();
        let item = match t {
            Touch::Insert { st, .. } => st.id,
            Touch::Delete { item, .. } => *item,
        };
        match (at.root.as_ref(), chain.as_slice()) {
            (PARAGRAPHS, []) => {
                if let Some(st) = insert
                    && (!matches!(st.content, Some(Content::Type(TYPE_MAP))) || at.key.is_some())
                {
                    unknown(&mut e, "paragraphs holds only maps");
                    continue;
                }
                let Some(pid) = view.label(&item, "id") else {
                    unknown(&mut e, "paragraph without an id");
                    continue;
                };
                charge(&mut e, Target::Paragraph(pid.clone()));
                let pe = e.paragraphs.entry(pid).or_default();
                match insert {
                    Some(st) => {
                        pe.inserted = Some(object(view.value_of(st)));
                        pe.inserted_runs = view
                            .child_with_key(&st.id, "text")
                            .map(|t| runs_of(view.text_runs(&t.id)));
                    }
                    None => pe.deleted = true,
                }
            }
            (PARAGRAPHS, [(m, None)]) => {
                let Some(key) = at.key.as_deref() else {
                    unknown(&mut e, "paragraph map entry without key");
                    continue;
                };
                let Some(pid) = view.label(m, "id") else {
                    unknown(&mut e, "paragraph without an id");
                    continue;
                };
                if view.is_new(m) || view.deletes_item(m) {
                    // initial value of a new paragraph, or folded into its deletion
                    charge(&mut e, Target::Paragraph(pid));
                    continue;
                }
                charge(&mut e, Target::ParagraphField(pid.clone(), key.to_owned()));
                let fc = e
                    .paragraphs
                    .entry(pid)
                    .or_default()
                    .fields
                    .entry(key.to_owned())
                    .or_default();
                fc.record(view, t)
            }
            (PARAGRAPHS, [(m, None), (text, Some("text"))]) if at.key.is_none() => {
                let Some(pid) = view.label(m, "id") else {
                    unknown(&mut e, "paragraph without an id");
                    continue;
                };
                if view.is_new(m) || view.deletes_item(m) || view.deletes_item(text) {
                    charge(&mut e, Target::Paragraph(pid.clone()));
                    if let Some(st) = insert
                        && let Some(why) = foreign_in_text(st)
                    {
                        e.paragraphs.entry(pid).or_default().foreign.push(why);
                    }
                    continue;
                }
                // Characters and deletions are the text; formatting marks
                // and embeds inserted are judged (and reverted) on their own,
                // so a forbidden mark does not take the words typed with it.
                let mark = insert.is_some_and(|st| {
                    !matches!(st.content, Some(Content::String(_) | Content::Deleted))
                });
                charge(
                    &mut e,
                    if mark {
                        Target::ParagraphMarks(pid.clone())
                    } else {
                        Target::ParagraphText(pid.clone())
                    },
                );
                let pe = e.paragraphs.entry(pid).or_default();
                pe.text = true;
                if let Some(st) = insert
                    && matches!(st.content, Some(Content::String(_)))
                    && st
                        .right_origin
                        .is_some_and(|r| view.ends_span(&r, FOOTNOTE))
                {
                    pe.spreads_footnote = true;
                }
                if let Some(st) = insert {
                    if let Some(Content::Format(k, _)) = &st.content {
                        pe.formats.insert(k.to_string());
                    }
                    if let Some(why) = foreign_in_text(st) {
                        pe.foreign.push(why);
                    }
                }
            }
            (META, []) if at.key.is_some() => {
                let key = at.key.as_deref().unwrap_or_default().to_owned();
                charge(&mut e, Target::Meta(key.clone()));
                let fc = e.meta.entry(key).or_default();
                fc.record(view, t)
            }
            (FOOTNOTES, []) if at.key.is_some() => {
                if let Some(st) = insert
                    && !matches!(st.content, Some(Content::Type(TYPE_TEXT)))
                {
                    unknown(&mut e, "a footnote is a text");
                    continue;
                }
                let fid = at.key.as_deref().unwrap_or_default().to_owned();
                charge(&mut e, Target::Footnote(fid.clone()));
                let fe = e.footnotes.entry(fid).or_default();
                match insert {
                    Some(st) => {
                        fe.added = true;
                        let len = utf16_len(&runs_of(view.text_runs(&st.id)));
                        fe.added_len = fe.added_len.max(len);
                    }
                    None => fe.deleted = true,
                }
            }
            (FOOTNOTES, [(text, Some(fid))]) if at.key.is_none() => {
                charge(&mut e, Target::Footnote((*fid).to_owned()));
                if view.is_new(text) || view.deletes_item(text) {
                    continue;
                }
                e.footnotes.entry((*fid).to_owned()).or_default().text = true;
            }
            (PROPOSALS, []) => {
                if let Some(st) = insert
                    && (!matches!(st.content, Some(Content::Type(TYPE_MAP))) || at.key.is_some())
                {
                    unknown(&mut e, "proposals holds only maps");
                    continue;
                }
                let Some(qid) = view.label(&item, "id") else {
                    unknown(&mut e, "proposal without an id");
                    continue;
                };
                charge(&mut e, Target::Proposal(qid.clone()));
                let qe = e.proposals.entry(qid).or_default();
                match insert {
                    Some(st) => qe.inserted = Some(object(view.value_of(st))),
                    None => qe.deleted = true,
                }
            }
            (PROPOSALS, [(q, None)]) if at.key.is_some() => {
                let Some(qid) = view.label(q, "id") else {
                    unknown(&mut e, "proposal without an id");
                    continue;
                };
                charge(&mut e, Target::Proposal(qid.clone()));
                if view.is_new(q) || view.deletes_item(q) {
                    continue;
                }
                let key = at.key.as_deref().unwrap_or_default().to_owned();
                let fc = e
                    .proposals
                    .entry(qid)
                    .or_default()
                    .fields
                    .entry(key)
                    .or_default();
                fc.record(view, t)
            }
            (PROPOSALS, [(q, None), (arr, Some("supporters"))]) if at.key.is_none() => {
                let Some(qid) = view.label(q, "id") else {
                    unknown(&mut e, "proposal without an id");
                    continue;
                };
                charge(&mut e, Target::Proposal(qid.clone()));
                if view.is_new(q) || view.deletes_item(q) || view.deletes_item(arr) {
                    continue;
                }
                let qe = e.proposals.entry(qid).or_default();
                match t {
                    // written and collected by the writer: nothing left
                    Touch::Insert { st, .. } if matches!(st.content, Some(Content::Deleted)) => {}
                    Touch::Insert { st, .. } => match view.value_of(st) {
                        Value::String(s) => qe.supporters_added.push(s),
                        Value::Array(a) if a.iter().all(Value::is_string) => qe
                            .supporters_added
                            .extend(a.into_iter().filter_map(|v| v.as_str().map(str::to_owned))),
                        _ => unknown(&mut e, "supporters are strings"),
                    },
                    Touch::Delete { values, .. } => qe.supporters_removed.extend(
                        values
                            .iter()
                            .filter_map(|v| any_json(v).as_str().map(str::to_owned)),
                    ),
                }
            }
            (PROPOSALS, [(q, None), ..]) if view.is_new(q) => {
                // something nested inside a new proposal that is not a field
                // or a supporter: outside the schema
                unknown(&mut e, "not part of a proposal");
            }
            (SPONSORS, []) => {
                match t {
                    Touch::Insert { st, .. } => {
                        if !matches!(st.content, Some(Content::Type(TYPE_MAP))) {
                            unknown(&mut e, "sponsors holds only maps");
                            continue;
                        }
                        charge(&mut e, Target::Sponsor(fmt_id(&item)));
                        e.sponsors.push(SponsorChange::Added {
                            fields: object(view.value_of(st)),
                        })
                    }
                    Touch::Delete { item, .. } => {
                        charge(&mut e, Target::Sponsor(fmt_id(item)));
                        e.sponsors.push(SponsorChange::Removed {
                            delegation: view.label(item, "delegation"),
                        })
                    }
                };
            }
            (SPONSORS, [(s, None)]) if at.key.is_some() => {
                charge(&mut e, Target::Sponsor(fmt_id(s)));
                if view.is_new(s) || view.deletes_item(s) {
                    continue;
                }
                let change = SponsorChange::Edited {
                    delegation: view.label(s, "delegation"),
                    key: at.key.as_deref().unwrap_or_default().to_owned(),
                    value: insert.map(|st| view.value_of(st)),
                };
                if !e.sponsors.contains(&change) {
                    e.sponsors.push(change);
                }
            }
            _ => {
                let why = if key_is(at, "") {
                    "empty key".to_owned()
                } else {
                    format!(
                        "not part of the resolution schema (depth {})",
                        at.chain.len()
                    )
                };
                unknown(&mut e, &why);
            }
        }
    }
    e.unknown = unknowns.into_vec();
    e
}
