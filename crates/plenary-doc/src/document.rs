//! [`ResolutionDoc`]: one resolution as a live `yrs::Doc`, its typed view,
//! its editing operations, and the effect of incoming updates.
//!
//! Every editing operation is one transaction; it returns the v1 update it
//! produced so a server or CLI can broadcast or store it. New ids are derived
//! from the document's client id and its clock at the time of the edit
//! (`p<client-hex>-<clock>`): unique across concurrent clients with no
//! randomness, never reused because a client's clock only grows.
//!
//! Text indices are UTF-16 code units, as Yjs clients count them.

use std::sync::{Arc, Mutex, MutexGuard};

use yrs::updates::decoder::Decode;
use yrs::{
    Any, Array, ArrayRef, Doc, Map, MapPrelim, MapRef, Observable, OffsetKind, Options, Out,
    ReadTxn, StateVector, Text, TextPrelim, TextRef, Transact, TransactionMut, Update,
};

use crate::ancestry::{IdIndex, UpdateView};
use crate::effect::{Effect, EffectError, resolution_effect};
use crate::model::{
    Mode, Paragraph, ParagraphKind, Proposal, ProposalStatus, Resolution, Run, Sponsor, Status,
};
use crate::numbering::BaseOrder;
use crate::schema::{
    self, META_KEYS, REVISION, Roots, enum_name, read_paragraph, read_proposal, run_attrs, str_of,
    superscript, text_of, write_paragraph, write_proposal, write_runs, write_sponsor,
};

/// Why an editing operation was refused. Nothing was changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EditError {
    #[error("no paragraph with id `{0}`")]
    NoParagraph(String),
    #[error("no footnote with id `{0}`")]
    NoFootnote(String),
    #[error("no comment with id `{0}`")]
    NoComment(String),
    #[error("no proposal with id `{0}`")]
    NoProposal(String),
    #[error("range {index}..{end} is outside the text (length {len})")]
    OutOfRange { index: u32, end: u32, len: u32 },
    #[error("position {0} is past the end of the paragraph list")]
    BadPosition(u32),
    #[error("`{0}` is not a meta key of SPEC §2 (mode is set with set_mode)")]
    UnknownMetaKey(String),
    #[error("proposal `{0}` is no longer pending")]
    ProposalNotPending(String),
    #[error("proposal `{id}` cannot be applied: {why}")]
    ProposalIncomplete { id: String, why: String },
    #[error("a document could not be loaded: {0}")]
    Load(String),
}

/// Where a paragraph goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Position {
    Start,
    End,
    /// Index in the paragraph list (0 = first).
    Index(u32),
    After(String),
    Before(String),
}

struct Shared {
    index: IdIndex,
    /// Set by [`ResolutionDoc::edit`] while its transaction runs: only then is the update kept.
    recording: bool,
    /// The v1 update of the edit's transaction, as observers saw it. Nothing else is kept: a
    /// copy of every applied update (the whole state, after a load) would stay resident for
    /// nothing until the next one.
    last: Option<Vec<u8>>,
}

/// The keys whose string values name a container map in effects.
const LABEL_KEYS: &[&str] = &["id", "delegation"];

/// One resolution document. All changes are expected to go through it
/// ([`apply`](Self::apply) or its edit operations); the id index is
/// nevertheless fed by the document's update observer, so edits made on a
/// clone of [`doc`](Self::doc) keep it current too.
pub struct ResolutionDoc {
    doc: Doc,
    roots: Roots,
    shared: Arc<Mutex<Shared>>,
    /// Paragraph and proposal maps by their `id`, rebuilt only after the
    /// `paragraphs` / `proposals` arrays change (observed), so that a lookup
    /// by id on the per-update path costs O(1), not a walk of the document.
    lookup: Arc<Mutex<Lookup>>,
}

const LOOKUP_OBSERVER: &str = "plenary-doc-lookup";

#[derive(Default)]
struct Lookup {
    paragraphs: Option<std::collections::HashMap<String, MapRef>>,
    proposals: Option<std::collections::HashMap<String, MapRef>>,
}

fn index_by_id<T: ReadTxn>(
    txn: &T,
    maps: Vec<MapRef>,
) -> std::collections::HashMap<String, MapRef> {
    let mut out = std::collections::HashMap::with_capacity(maps.len());
    for m in maps {
        if let Some(id) = str_of(txn, &m, "id") {
            out.entry(id).or_insert(m);
        }
    }
    out
}

impl std::fmt::Debug for ResolutionDoc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResolutionDoc")
            .field("client_id", &self.doc.client_id().get())
            .finish_non_exhaustive()
    }
}

impl Default for ResolutionDoc {
    fn default() -> Self {
        Self::new()
    }
}

fn lock(shared: &Mutex<Shared>) -> MutexGuard<'_, Shared> {
    shared.lock().unwrap_or_else(|e| e.into_inner())
}

impl ResolutionDoc {
    /// An empty document with a random client id (yrs's choice).
    pub fn new() -> Self {
        Self::build(Options::default())
    }

    /// An empty document that keeps deleted content until its owner
    /// collects it (`TransactionMut::gc`): what a server needs to revert a
    /// refused deletion after integrating it (yrs would otherwise collect
    /// the deleted text when the transaction commits).
    pub fn with_manual_gc() -> Self {
        Self::build(Options {
            skip_gc: true,
            ..Options::default()
        })
    }

    /// An empty document writing as `client_id` (deterministic ids in tests
    /// and tools).
    pub fn with_client_id(client_id: u64) -> Self {
        Self::build(Options::with_client_id(yrs::ClientID::new(client_id)))
    }

    fn build(options: Options) -> Self {
        Self::build_with(options, true)
    }

    /// `indexed`: whether the document observes its transactions, keeping the effect index and
    /// recording what an edit wrote. Without it [`effect`](Self::effect) fails with
    /// [`EffectError::IndexBroken`] and an edit returns no update: a document to read only.
    fn build_with(mut options: Options, indexed: bool) -> Self {
        options.offset_kind = OffsetKind::Utf16;
        let doc = Doc::with_options(options);
        let shared = Arc::new(Mutex::new(Shared {
            index: IdIndex::new(LABEL_KEYS),
            recording: false,
            last: None,
        }));
        if indexed {
            let sink = shared.clone();
            let observed = doc.observe_update_v1("plenary-doc-index", move |_, e| {
                let mut s = lock(&sink);
                if !s.index.is_shed() {
                    s.index.ingest(&e.update);
                }
                if s.recording {
                    s.last = Some(e.update.clone());
                }
            });
            if let Err(e) = observed {
                lock(&shared).index.broken = Some(format!("could not observe the document: {e}"));
            }
        } else {
            lock(&shared).index.broken =
                Some("the document was opened for reading only: it has no effect index".into());
        }
        let roots = Roots::new(&doc);
        let lookup = Arc::new(Mutex::new(Lookup::default()));
        let (l1, l2) = (lookup.clone(), lookup.clone());
        roots.paragraphs.observe(LOOKUP_OBSERVER, move |_, _| {
            l1.lock().unwrap_or_else(|e| e.into_inner()).paragraphs = None;
        });
        roots.proposals.observe(LOOKUP_OBSERVER, move |_, _| {
            l2.lock().unwrap_or_else(|e| e.into_inner()).proposals = None;
        });
        ResolutionDoc {
            doc,
            roots,
            shared,
            lookup,
        }
    }

    /// A fresh document holding `resolution` (derived fields ignored).
    pub fn from_resolution(resolution: &Resolution) -> Result<Self, EditError> {
        let d = Self::new();
        d.write_resolution(resolution);
        Ok(d)
    }

    /// Like [`from_resolution`](Self::from_resolution), writing as `client_id`.
    pub fn from_resolution_with_client_id(
        client_id: u64,
        resolution: &Resolution,
    ) -> Result<Self, EditError> {
        let d = Self::with_client_id(client_id);
        d.write_resolution(resolution);
        Ok(d)
    }

    fn write_resolution(&self, r: &Resolution) {
        let mut txn = self.doc.transact_mut();
        self.roots.write(&mut txn, r);
    }

    /// Loads an encoded state (v1).
    pub fn from_update(update: &[u8]) -> Result<Self, EffectError> {
        let d = Self::new();
        d.load(update)?;
        Ok(d)
    }

    /// Loads an encoded state (v1) to read it, as history does: the document's views
    /// ([`resolution`](Self::resolution), [`encode_state`](Self::encode_state)) and plain
    /// updates applied to [`doc`](Self::doc) work; the effect index is not built (it was a
    /// third of the time of materialising a point of history), so [`effect`](Self::effect)
    /// fails, and the editing methods return no update: edit a document made with
    /// [`from_update`](Self::from_update) instead.
    pub fn for_reading(update: &[u8]) -> Result<Self, EffectError> {
        let d = Self::build_with(Options::default(), false);
        d.load(update)?;
        Ok(d)
    }

    /// An empty document to read, like [`for_reading`](Self::for_reading).
    pub fn empty_for_reading() -> Self {
        Self::build_with(Options::default(), false)
    }

    /// Like [`from_update`](Self::from_update), writing as `client_id`.
    pub fn from_update_with_client_id(client_id: u64, update: &[u8]) -> Result<Self, EffectError> {
        let d = Self::with_client_id(client_id);
        d.load(update)?;
        Ok(d)
    }

    fn load(&self, update: &[u8]) -> Result<(), EffectError> {
        crate::ancestry::decode_v1(update)?;
        let u = Update::decode_v1(update).map_err(|e| EffectError::Apply(e.to_string()))?;
        self.doc
            .transact_mut()
            .apply_update(u)
            .map_err(|e| EffectError::Apply(e.to_string()))
    }

    /// The underlying document (the server wraps a clone in `Awareness`).
    pub fn doc(&self) -> &Doc {
        &self.doc
    }

    pub fn client_id(&self) -> u64 {
        self.doc.client_id().get()
    }

    /// The whole state, v1-encoded.
    pub fn encode_state(&self) -> Vec<u8> {
        self.doc
            .transact()
            .encode_state_as_update_v1(&StateVector::default())
    }

    /// The typed view with derived numbering, labels and footnote markers.
    pub fn resolution(&self) -> Resolution {
        self.roots.read(&self.doc.transact())
    }

    /// The typed view with provisional labels (`OP3bis`) against the base
    /// order stored at the last named version.
    pub fn resolution_with_base(&self, base: Option<&BaseOrder>) -> Resolution {
        let mut r = self.resolution();
        crate::numbering::number_paragraphs(&mut r.paragraphs, base);
        r
    }

    pub fn mode(&self) -> Mode {
        self.roots.read_meta(&self.doc.transact()).mode
    }

    /// A paragraph (its `number`/`label` are not derived here: use
    /// [`resolution`](Self::resolution) for those).
    pub fn paragraph(&self, id: &str) -> Option<Paragraph> {
        let txn = self.doc.transact();
        let (_, m) = self.find_paragraph(&txn, id)?;
        read_paragraph(&txn, &m)
    }

    /// A paragraph's status: O(1) (no text is read).
    pub fn paragraph_status(&self, id: &str) -> Option<Status> {
        let txn = self.doc.transact();
        let m = self.paragraph_map(&txn, id)?;
        Some(
            str_of(&txn, &m, "status")
                .and_then(|s| schema::parse_enum(&s))
                .unwrap_or_default(),
        )
    }

    /// Whether a paragraph with this id exists: O(1).
    pub fn has_paragraph(&self, id: &str) -> bool {
        let txn = self.doc.transact();
        self.paragraph_map(&txn, id).is_some()
    }

    /// How delegates cite a paragraph ("OP4", "PP2", "OP3(b)"): reads the
    /// kind and level of every paragraph (not their text). Meant for
    /// messages, not for the per-update path.
    pub fn paragraph_label(&self, id: &str) -> Option<String> {
        let txn = self.doc.transact();
        let items: Vec<Paragraph> = self
            .roots
            .paragraph_maps(&txn)
            .iter()
            .map(|m| Paragraph {
                id: str_of(&txn, m, "id").unwrap_or_default(),
                kind: str_of(&txn, m, "kind")
                    .and_then(|s| schema::parse_enum(&s))
                    .unwrap_or(ParagraphKind::Operative),
                level: crate::schema::num_of(&txn, m, "level").unwrap_or(0.0) as u8,
                status: Status::default(),
                text: Vec::new(),
                number: String::new(),
                label: String::new(),
            })
            .collect();
        let labels = crate::numbering::labels(&items, None);
        items
            .iter()
            .zip(labels)
            .find(|(p, _)| p.id == id)
            .map(|(_, l)| l.label)
            .filter(|l| !l.is_empty())
    }

    /// The id of the paragraph right before `id` (`Some(None)` when it is
    /// the first), or `None` when there is no such paragraph. O(paragraphs).
    pub fn paragraph_before(&self, id: &str) -> Option<Option<String>> {
        let txn = self.doc.transact();
        let (i, _) = self.find_paragraph(&txn, id)?;
        if i == 0 {
            return Some(None);
        }
        let maps = self.roots.paragraph_maps(&txn);
        Some(maps.get(i as usize - 1).and_then(|m| str_of(&txn, m, "id")))
    }

    /// A footnote's runs (its `marker` is derived by [`resolution`](Self::resolution)):
    /// O(footnote).
    pub fn footnote_runs(&self, id: &str) -> Option<Vec<Run>> {
        let txn = self.doc.transact();
        self.footnote_text_in(&txn, id)
            .map(|t| crate::schema::read_runs(&txn, &t))
    }

    /// A proposal by id: O(1) lookup.
    pub fn proposal(&self, id: &str) -> Option<Proposal> {
        let txn = self.doc.transact();
        let m = self.proposal_map(&txn, id)?;
        read_proposal(&txn, &m)
    }

    /// The delegations that already co-sponsor the draft.
    pub fn sponsor_delegations(&self) -> Vec<String> {
        let txn = self.doc.transact();
        self.roots
            .sponsors
            .iter(&txn)
            .filter_map(|v| match v {
                Out::YMap(m) => str_of(&txn, &m, "delegation"),
                _ => None,
            })
            .collect()
    }

    /// The current order, to be stored as the base when a version is named.
    pub fn base_order(&self) -> BaseOrder {
        BaseOrder::of(&self.resolution().paragraphs)
    }

    /// Of the ids in `deleted` (what a transaction deleted), those of items inside an item of
    /// `containers` at any depth: the content yrs deleted along with a deleted type. A refused
    /// deletion of a paragraph (or a proposal, a footnote …) must restore these too, or the
    /// paragraph comes back without the fields and text the update did not name.
    pub fn deleted_beneath(&self, deleted: &yrs::IdSet, containers: &yrs::IdSet) -> yrs::IdSet {
        let mut shared = lock(&self.shared);
        shared.index.restore(&self.doc);
        shared.index.beneath(deleted, containers)
    }

    /// Drops the effect index while the document is quiet (see [`IdIndex::shed`]); the next
    /// [`effect`](Self::effect) rebuilds it from the state, at the cost of a load.
    pub fn shed_index(&self) {
        lock(&self.shared).index.shed();
    }

    /// What `update` would change, without applying it; cost proportional to
    /// the update (how: the module doc of `src/effect.rs`).
    pub fn effect(&self, update: &[u8]) -> Result<Effect, EffectError> {
        let decoded = crate::ancestry::decode_v1(update)?;
        let mut shared = lock(&self.shared);
        shared.index.restore(&self.doc);
        if let Some(b) = &shared.index.broken {
            return Err(EffectError::IndexBroken(b.clone()));
        }
        let view = UpdateView::new(&shared.index, &decoded);
        let mut effect = resolution_effect(&view);
        drop(shared);
        self.refine_moves(&mut effect);
        Ok(effect)
    }

    /// A move re-inserts the paragraph's content as the mover saw it; a
    /// replica that had not seen a concurrent edit reverts it. Compare the
    /// re-inserted fields with the current ones so the effect says so
    /// (`text` / `fields`); flag an insert of an id that already exists
    /// (`duplicate`). Costs one paragraph lookup per inserted paragraph —
    /// the only place the effect reads the document beyond the index.
    fn refine_moves(&self, effect: &mut Effect) {
        for (id, pe) in effect.paragraphs.iter_mut() {
            if pe.inserted.is_some() && !pe.deleted {
                pe.duplicate = self.paragraph(id).is_some();
            }
            let Some(ins) = pe.inserted.as_ref().filter(|_| pe.deleted) else {
                continue;
            };
            let Some(cur) = self.paragraph(id) else {
                continue;
            };
            let text: String = cur.text.iter().map(|r| r.text.as_str()).collect();
            let same_runs = pe.inserted_runs.as_ref().is_none_or(|r| *r == cur.text);
            if ins.get("text").and_then(|v| v.as_str()) != Some(text.as_str()) || !same_runs {
                pe.text = true;
            }
            let current = [
                ("kind", serde_json::Value::from(enum_name(&cur.kind))),
                ("level", serde_json::Value::from(cur.level)),
                ("status", serde_json::Value::from(enum_name(&cur.status))),
            ];
            for (k, old) in current {
                let new = ins.get(k).cloned().unwrap_or(serde_json::Value::Null);
                if !json_eq(&new, &old) {
                    let fc = pe.fields.entry(k.to_owned()).or_default();
                    fc.values.push(new);
                    fc.removed = true;
                    fc.previous.push(old);
                }
            }
        }
    }

    /// Applies a v1 update (after computing its effect, which it returns).
    pub fn apply(&mut self, update: &[u8]) -> Result<Effect, EffectError> {
        let effect = self.effect(update)?;
        let u = Update::decode_v1(update).map_err(|e| EffectError::Apply(e.to_string()))?;
        self.doc
            .transact_mut()
            .apply_update(u)
            .map_err(|e| EffectError::Apply(e.to_string()))?;
        Ok(effect)
    }

    // ---- editing -------------------------------------------------------

    /// Runs `f` in one transaction; returns its result and the update.
    pub(crate) fn edit<R>(
        &self,
        f: impl FnOnce(&mut TransactionMut, &Roots) -> Result<R, EditError>,
    ) -> Result<(R, Vec<u8>), EditError> {
        {
            let mut shared = lock(&self.shared);
            shared.last = None;
            shared.recording = true;
        }
        let r = {
            let mut txn = self.doc.transact_mut();
            f(&mut txn, &self.roots)
        };
        let update = {
            let mut shared = lock(&self.shared);
            shared.recording = false;
            shared.last.take().unwrap_or_default()
        };
        Ok((r?, update))
    }

    pub(crate) fn new_id(&self, txn: &TransactionMut, prefix: &str) -> String {
        let client = self.doc.client_id();
        let clock = txn.state_vector().get(&client);
        format!("{prefix}{:x}-{clock}", client.get())
    }

    /// The map of paragraph `id`, from the lookup (rebuilt if the paragraph
    /// list changed since).
    fn paragraph_map<T: ReadTxn>(&self, txn: &T, id: &str) -> Option<MapRef> {
        let mut l = self.lookup.lock().unwrap_or_else(|e| e.into_inner());
        let by_id = l
            .paragraphs
            .get_or_insert_with(|| index_by_id(txn, self.roots.paragraph_maps(txn)));
        let m = by_id.get(id)?.clone();
        (str_of(txn, &m, "id").as_deref() == Some(id)).then_some(m)
    }

    fn proposal_map<T: ReadTxn>(&self, txn: &T, id: &str) -> Option<MapRef> {
        let mut l = self.lookup.lock().unwrap_or_else(|e| e.into_inner());
        let by_id = l
            .proposals
            .get_or_insert_with(|| index_by_id(txn, self.roots.proposal_maps(txn)));
        let m = by_id.get(id)?.clone();
        (str_of(txn, &m, "id").as_deref() == Some(id)).then_some(m)
    }

    pub(crate) fn paragraph_map_in<T: ReadTxn>(&self, txn: &T, id: &str) -> Option<MapRef> {
        self.paragraph_map(txn, id)
    }

    /// A footnote's `Y.Text`: O(1).
    pub(crate) fn footnote_text_in<T: ReadTxn>(&self, txn: &T, id: &str) -> Option<TextRef> {
        match self.roots.footnotes.get(txn, id) {
            Some(Out::YText(t)) => Some(t),
            _ => None,
        }
    }

    pub(crate) fn proposal_map_in<T: ReadTxn>(&self, txn: &T, id: &str) -> Option<MapRef> {
        self.proposal_map(txn, id)
    }

    pub(crate) fn roots(&self) -> &Roots {
        &self.roots
    }

    pub(crate) fn meta_map(&self) -> MapRef {
        self.roots.meta.clone()
    }

    pub(crate) fn find_paragraph<T: ReadTxn>(&self, txn: &T, id: &str) -> Option<(u32, MapRef)> {
        self.roots
            .paragraph_maps(txn)
            .into_iter()
            .enumerate()
            .find(|(_, m)| str_of(txn, m, "id").as_deref() == Some(id))
            .map(|(i, m)| (i as u32, m))
    }

    fn find_proposal<T: ReadTxn>(&self, txn: &T, id: &str) -> Option<MapRef> {
        self.proposal_map(txn, id)
    }

    fn paragraph_text<T: ReadTxn>(&self, txn: &T, id: &str) -> Result<TextRef, EditError> {
        let (_, m) = self
            .find_paragraph(txn, id)
            .ok_or_else(|| EditError::NoParagraph(id.to_owned()))?;
        text_of(txn, &m, "text").ok_or_else(|| EditError::NoParagraph(id.to_owned()))
    }

    fn resolve_position<T: ReadTxn>(&self, txn: &T, at: &Position) -> Result<u32, EditError> {
        let len = self.roots.paragraphs.len(txn);
        match at {
            Position::Start => Ok(0),
            Position::End => Ok(len),
            Position::Index(i) if *i <= len => Ok(*i),
            Position::Index(i) => Err(EditError::BadPosition(*i)),
            Position::After(id) => self
                .find_paragraph(txn, id)
                .map(|(i, _)| i + 1)
                .ok_or_else(|| EditError::NoParagraph(id.clone())),
            Position::Before(id) => self
                .find_paragraph(txn, id)
                .map(|(i, _)| i)
                .ok_or_else(|| EditError::NoParagraph(id.clone())),
        }
    }

    /// Inserts a paragraph; returns its new id and the update.
    pub fn insert_paragraph(
        &mut self,
        at: Position,
        kind: ParagraphKind,
        level: u8,
        runs: &[Run],
    ) -> Result<(String, Vec<u8>), EditError> {
        self.edit(|txn, roots| {
            let index = self.resolve_position(txn, &at)?;
            let id = self.new_id(txn, "p");
            let map = roots.paragraphs.insert(txn, index, MapPrelim::default());
            write_paragraph(
                txn,
                &map,
                &Paragraph {
                    id: id.clone(),
                    kind,
                    level,
                    status: Status::Open,
                    text: runs.to_vec(),
                    number: String::new(),
                    label: String::new(),
                },
            );
            Ok(id)
        })
    }

    /// Moves a paragraph: Yjs has no move, so the map is deleted and a new
    /// one carrying the same `id`, fields and text is inserted at `to`.
    pub fn move_paragraph(&mut self, id: &str, to: Position) -> Result<Vec<u8>, EditError> {
        self.edit(|txn, roots| move_in(self, txn, roots, id, &to))
            .map(|(_, u)| u)
    }

    pub fn delete_paragraph(&mut self, id: &str) -> Result<Vec<u8>, EditError> {
        self.edit(|txn, roots| {
            let (i, _) = self
                .find_paragraph(txn, id)
                .ok_or_else(|| EditError::NoParagraph(id.to_owned()))?;
            roots.paragraphs.remove(txn, i);
            Ok(())
        })
        .map(|(_, u)| u)
    }

    fn set_paragraph_field(
        &mut self,
        id: &str,
        key: &str,
        value: Any,
    ) -> Result<Vec<u8>, EditError> {
        self.edit(|txn, _| {
            let (_, m) = self
                .find_paragraph(txn, id)
                .ok_or_else(|| EditError::NoParagraph(id.to_owned()))?;
            m.insert(txn, key, value);
            Ok(())
        })
        .map(|(_, u)| u)
    }

    pub fn set_status(&mut self, id: &str, status: Status) -> Result<Vec<u8>, EditError> {
        self.set_paragraph_field(id, "status", Any::from(enum_name(&status)))
    }

    pub fn set_kind(&mut self, id: &str, kind: ParagraphKind) -> Result<Vec<u8>, EditError> {
        self.set_paragraph_field(id, "kind", Any::from(enum_name(&kind)))
    }

    pub fn set_level(&mut self, id: &str, level: u8) -> Result<Vec<u8>, EditError> {
        self.set_paragraph_field(id, "level", Any::from(level as i64))
    }

    /// Inserts plain (or italic) text at a UTF-16 `index`; it never inherits
    /// its neighbour's italics or footnote mark.
    pub fn insert_text(
        &mut self,
        id: &str,
        index: u32,
        text: &str,
        italic: bool,
    ) -> Result<Vec<u8>, EditError> {
        self.edit(|txn, _| {
            let t = self.paragraph_text(txn, id)?;
            check_range(txn, &t, index, 0)?;
            let run = Run {
                text: text.to_owned(),
                italic,
                footnote: None,
            };
            t.insert_with_attributes(txn, index, text, run_attrs(&run));
            Ok(())
        })
        .map(|(_, u)| u)
    }

    pub fn delete_text(&mut self, id: &str, index: u32, len: u32) -> Result<Vec<u8>, EditError> {
        self.edit(|txn, _| {
            let t = self.paragraph_text(txn, id)?;
            check_range(txn, &t, index, len)?;
            if len > 0 {
                t.remove_range(txn, index, len);
            }
            Ok(())
        })
        .map(|(_, u)| u)
    }

    /// Replaces `len` units at `index` with `text` (plain).
    pub fn replace_text(
        &mut self,
        id: &str,
        index: u32,
        len: u32,
        text: &str,
    ) -> Result<Vec<u8>, EditError> {
        self.edit(|txn, _| {
            let t = self.paragraph_text(txn, id)?;
            check_range(txn, &t, index, len)?;
            if len > 0 {
                t.remove_range(txn, index, len);
            }
            write_runs(txn, &t, index, &[Run::plain(text)]);
            Ok(())
        })
        .map(|(_, u)| u)
    }

    /// Replaces the whole text of a paragraph with `runs`.
    pub fn set_text(&mut self, id: &str, runs: &[Run]) -> Result<Vec<u8>, EditError> {
        self.edit(|txn, _| {
            let t = self.paragraph_text(txn, id)?;
            let len = t.len(txn);
            if len > 0 {
                t.remove_range(txn, 0, len);
            }
            write_runs(txn, &t, 0, runs);
            Ok(())
        })
        .map(|(_, u)| u)
    }

    pub fn set_italic(
        &mut self,
        id: &str,
        index: u32,
        len: u32,
        italic: bool,
    ) -> Result<Vec<u8>, EditError> {
        self.edit(|txn, _| {
            let t = self.paragraph_text(txn, id)?;
            check_range(txn, &t, index, len)?;
            let mut attrs = yrs::types::Attrs::new();
            attrs.insert(
                schema::ITALIC.into(),
                if italic { Any::Bool(true) } else { Any::Null },
            );
            t.format(txn, index, len, attrs);
            Ok(())
        })
        .map(|(_, u)| u)
    }

    /// Adds a footnote whose marker goes at `index` in paragraph
    /// `paragraph_id`; returns the footnote id.
    pub fn add_footnote(
        &mut self,
        paragraph_id: &str,
        index: u32,
        text: &[Run],
    ) -> Result<(String, Vec<u8>), EditError> {
        self.edit(|txn, roots| {
            let t = self.paragraph_text(txn, paragraph_id)?;
            check_range(txn, &t, index, 0)?;
            let fid = self.new_id(txn, "f");
            let n = roots.footnotes.len(txn) + 1;
            let marker = Run {
                text: superscript(n),
                italic: false,
                footnote: Some(fid.clone()),
            };
            t.insert_with_attributes(txn, index, &marker.text, run_attrs(&marker));
            let note = roots
                .footnotes
                .insert(txn, fid.as_str(), TextPrelim::new(""));
            write_runs(txn, &note, 0, text);
            Ok(fid)
        })
    }

    pub fn set_footnote_text(
        &mut self,
        footnote_id: &str,
        text: &[Run],
    ) -> Result<Vec<u8>, EditError> {
        self.edit(|txn, roots| {
            let note = match roots.footnotes.get(txn, footnote_id) {
                Some(Out::YText(t)) => t,
                _ => return Err(EditError::NoFootnote(footnote_id.to_owned())),
            };
            let len = note.len(txn);
            if len > 0 {
                note.remove_range(txn, 0, len);
            }
            write_runs(txn, &note, 0, text);
            Ok(())
        })
        .map(|(_, u)| u)
    }

    /// Records a proposal (its `id` is assigned, its status set to pending);
    /// returns the id.
    pub fn add_proposal(&mut self, proposal: &Proposal) -> Result<(String, Vec<u8>), EditError> {
        self.edit(|txn, roots| {
            let id = self.new_id(txn, "q");
            let mut p = proposal.clone();
            p.id = id.clone();
            p.status = ProposalStatus::Pending;
            p.decided_by = None;
            let len = roots.proposals.len(txn);
            let map = roots.proposals.insert(txn, len, MapPrelim::default());
            write_proposal(txn, &map, &p);
            Ok(id)
        })
    }

    /// Adds `delegation` to a proposal's supporters (idempotent).
    pub fn support_proposal(&mut self, id: &str, delegation: &str) -> Result<Vec<u8>, EditError> {
        self.edit(|txn, _| {
            let m = self
                .find_proposal(txn, id)
                .ok_or_else(|| EditError::NoProposal(id.to_owned()))?;
            let arr: ArrayRef = match m.get(txn, "supporters") {
                Some(Out::YArray(a)) => a,
                _ => m.insert(txn, "supporters", yrs::ArrayPrelim::default()),
            };
            let present = arr
                .iter(txn)
                .any(|v| matches!(v, Out::Any(Any::String(s)) if s.as_ref() == delegation));
            if !present {
                arr.push_back(txn, delegation);
            }
            Ok(())
        })
        .map(|(_, u)| u)
    }

    pub fn withdraw_proposal(&mut self, id: &str) -> Result<Vec<u8>, EditError> {
        self.edit(|txn, _| {
            let m = self.pending_proposal(txn, id)?;
            m.insert(txn, "status", enum_name(&ProposalStatus::Withdrawn));
            Ok(())
        })
        .map(|(_, u)| u)
    }

    fn pending_proposal<T: ReadTxn>(&self, txn: &T, id: &str) -> Result<MapRef, EditError> {
        let m = self
            .find_proposal(txn, id)
            .ok_or_else(|| EditError::NoProposal(id.to_owned()))?;
        if str_of(txn, &m, "status").as_deref() != Some("pending") {
            return Err(EditError::ProposalNotPending(id.to_owned()));
        }
        Ok(m)
    }

    /// Accepts or rejects a pending proposal, for tools and tests: an
    /// acceptance is an "accept anyway" (the proposal's change wins over
    /// whatever changed since; see [`decide`](Self::decide), which the
    /// server uses) and `decidedAt` is 0.
    pub fn decide_proposal(
        &mut self,
        id: &str,
        accept: bool,
        decided_by: &str,
    ) -> Result<Vec<u8>, EditError> {
        use crate::decide::{DecideError, Decision, seen_token};
        let decision = if accept {
            let seen = self.proposal(id).map(|p| {
                let runs = match p.footnote_id.as_deref() {
                    Some(fid) => self.footnote_runs(fid),
                    None => p
                        .paragraph_id
                        .as_deref()
                        .and_then(|pid| self.paragraph(pid))
                        .map(|x| x.text),
                };
                let current: String = runs
                    .map(|r| r.iter().map(|r| r.text.as_str()).collect())
                    .unwrap_or_default();
                seen_token(&p, &current)
            });
            Decision::Accept { seen, text: None }
        } else {
            Decision::Reject
        };
        self.decide(id, &decision, decided_by, 0)
            .map(|d| d.update)
            .map_err(|e| match e {
                DecideError::UnknownProposal(id) => EditError::NoProposal(id),
                DecideError::NotPending { id, .. } => EditError::ProposalNotPending(id),
                DecideError::ParagraphGone { paragraph, .. } => EditError::NoParagraph(paragraph),
                DecideError::FootnoteGone { footnote, .. } => EditError::NoFootnote(footnote),
                other => EditError::ProposalIncomplete {
                    id: id.to_owned(),
                    why: other.to_string(),
                },
            })
    }

    /// The server's record, in the document, that a version was named: meta
    /// [`REVISION`] set to the version's name. Only the server writes it
    /// (`plenary-server`'s judge refuses it from any client); open pages
    /// observe it and fetch the new base order, so provisional labels renumber
    /// live. Collects what it overwrote (a document with manual GC keeps
    /// deleted content otherwise). Returns the update (v1).
    pub fn write_revision(&self, name: &str) -> Vec<u8> {
        let mut txn = self.doc.transact_mut();
        self.roots.meta.insert(&mut txn, REVISION, name);
        let deleted = txn.delete_set().clone();
        txn.gc(Some(&deleted));
        txn.encode_update_v1()
    }

    /// Sets (or with `None` removes) a meta key other than `mode`.
    pub fn set_meta(&mut self, key: &str, value: Option<&str>) -> Result<Vec<u8>, EditError> {
        if key == "mode" || !META_KEYS.contains(&key) {
            return Err(EditError::UnknownMetaKey(key.to_owned()));
        }
        self.edit(|txn, roots| {
            match value {
                Some(v) => {
                    roots.meta.insert(txn, key, v);
                }
                None => {
                    roots.meta.remove(txn, key);
                }
            }
            Ok(())
        })
        .map(|(_, u)| u)
    }

    pub fn set_mode(&mut self, mode: Mode) -> Result<Vec<u8>, EditError> {
        self.edit(|txn, roots| {
            roots.meta.insert(txn, "mode", enum_name(&mode));
            Ok(())
        })
        .map(|(_, u)| u)
    }

    pub fn add_sponsor(&mut self, sponsor: &Sponsor) -> Result<Vec<u8>, EditError> {
        self.edit(|txn, roots| {
            let len = roots.sponsors.len(txn);
            let map = roots.sponsors.insert(txn, len, MapPrelim::default());
            write_sponsor(txn, &map, sponsor);
            Ok(())
        })
        .map(|(_, u)| u)
    }
}

pub(crate) fn move_in(
    d: &ResolutionDoc,
    txn: &mut TransactionMut,
    roots: &Roots,
    id: &str,
    to: &Position,
) -> Result<(), EditError> {
    let (from, m) = d
        .find_paragraph(txn, id)
        .ok_or_else(|| EditError::NoParagraph(id.to_owned()))?;
    let p = read_paragraph(txn, &m).ok_or_else(|| EditError::NoParagraph(id.to_owned()))?;
    let mut index = d.resolve_position(txn, to)?;
    if index > from {
        index -= 1;
    }
    roots.paragraphs.remove(txn, from);
    let map = roots.paragraphs.insert(txn, index, MapPrelim::default());
    write_paragraph(txn, &map, &p);
    Ok(())
}

/// JSON equality where 1 and 1.0 are the same number.
fn json_eq(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

fn check_range<T: ReadTxn>(txn: &T, t: &TextRef, index: u32, len: u32) -> Result<(), EditError> {
    let total = t.len(txn);
    let end = index.saturating_add(len);
    if end > total {
        return Err(EditError::OutOfRange {
            index,
            end,
            len: total,
        });
    }
    Ok(())
}

/// The runs a proposal's plain text becomes. `*…*` marks italics
/// explicitly; without any, if the text starts with the old paragraph's
/// italic opening words, those stay italic.
pub fn proposal_runs(text: &str, old: &[Run]) -> Vec<Run> {
    if text.contains('*') {
        let mut runs = Vec::new();
        for (i, part) in text.split('*').enumerate() {
            if !part.is_empty() {
                runs.push(Run {
                    text: part.to_owned(),
                    italic: i % 2 == 1,
                    footnote: None,
                });
            }
        }
        return runs;
    }
    if let Some(first) = old.first().filter(|r| r.italic && !r.text.is_empty())
        && let Some(rest) = text.strip_prefix(first.text.as_str())
    {
        let mut runs = vec![Run {
            text: first.text.clone(),
            italic: true,
            footnote: None,
        }];
        if !rest.is_empty() {
            runs.push(Run::plain(rest));
        }
        return runs;
    }
    vec![Run::plain(text)]
}

impl Run {
    /// An unformatted run.
    pub fn plain(text: impl Into<String>) -> Self {
        Run {
            text: text.into(),
            italic: false,
            footnote: None,
        }
    }
}
