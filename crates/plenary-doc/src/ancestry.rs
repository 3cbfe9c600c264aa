//! The schema-agnostic half of the update effect: decoding a v1 update field
//! by field and answering "which shared type (and which map key) does this
//! item live in?" for its structs and its delete set.
//!
//! A v1 struct carries its parent only when it has neither origin; otherwise
//! it inherits the parent (and map key) of the item its origin (or right
//! origin) names. That item is either earlier/later in the same update or
//! already in the document. The [`IdIndex`] remembers, for every id range
//! ever integrated into the document, its parent (root name or containing
//! item), its map key, whether it is a shared type, and (for small JSON
//! values) the values themselves — so that resolving a struct costs
//! O(depth · log n), never a walk over the document.
//!
//! The index is fed by the document's `observe_update_v1` hook: every
//! committed transaction (a remote update applied, or a local edit) is decoded
//! with the same reader and its structs indexed, its delete set recorded.
//! Entries are never removed (deleted items keep their ancestry, which is what
//! lets a late concurrent edit next to deleted text still be placed).

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;
use std::sync::Arc;

use smallvec::SmallVec;

use yrs::block::{
    BLOCK_GC_REF_NUMBER, BLOCK_SKIP_REF_NUMBER, HAS_ORIGIN, HAS_PARENT_SUB, HAS_RIGHT_ORIGIN,
    ItemContent,
};
use yrs::encoding::read::Read;
use yrs::updates::decoder::{Decode, Decoder, DecoderV1};
use yrs::{Any, ClientID, ID, IdSet, ReadTxn, Transact};

/// Why an update could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("the update is not valid lib0 v1: {0}")]
    Malformed(String),
    #[error("the update holds a struct of zero length at client {client} clock {clock}")]
    EmptyStruct { client: u64, clock: u32 },
    #[error("the update's clock range overflows at client {client}")]
    ClockOverflow { client: u64 },
}

fn malformed(e: yrs::encoding::read::Error) -> DecodeError {
    DecodeError::Malformed(e.to_string())
}

/// The parent of a struct: a root type by name, or the item holding the type.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum ParentRef {
    Root(Arc<str>),
    Item(ID),
}

/// What a struct holds, as far as the schemas care.
#[derive(Debug, Clone)]
pub(crate) enum Content {
    /// A shared type; the number is Yjs's type ref (0 array, 1 map, 2 text …).
    Type(u8),
    String(Arc<str>),
    /// A formatting mark: attribute key and value (`null` ends it).
    Format(Arc<str>, Any),
    Any(Arc<[Any]>),
    /// Content its writer already deleted and collected (what Yjs sends in
    /// a sync step 2 for text typed and deleted offline): a write into its
    /// parent with nothing left to read.
    Deleted,
    /// Embeds, binaries, sub-documents, JSON: counts as a write into its
    /// parent but carries nothing the schemas read.
    Other,
}

impl Content {
    fn from_item(content: ItemContent) -> Self {
        match content {
            ItemContent::Type(branch) => Content::Type(type_ref_number(branch.type_ref())),
            ItemContent::String(s) => Content::String(Arc::from(s.as_str())),
            ItemContent::Format(k, v) => Content::Format(k, *v),
            ItemContent::Any(v) => Content::Any(v.into()),
            ItemContent::Deleted(_) => Content::Deleted,
            _ => Content::Other,
        }
    }
}

fn type_ref_number(t: &yrs::types::TypeRef) -> u8 {
    use yrs::types::TypeRef;
    match t {
        TypeRef::Array => 0,
        TypeRef::Map => 1,
        TypeRef::Text => 2,
        _ => 255,
    }
}

pub(crate) const TYPE_MAP: u8 = 1;
pub(crate) const TYPE_TEXT: u8 = 2;

/// One struct of an update.
#[derive(Debug, Clone)]
pub(crate) struct Struct {
    pub id: ID,
    pub len: u32,
    pub origin: Option<ID>,
    pub right_origin: Option<ID>,
    pub parent: Option<ParentRef>,
    pub key: Option<Arc<str>>,
    /// `None` for GC and Skip structs.
    pub content: Option<Content>,
}

/// A decoded v1 update.
#[derive(Debug, Clone, Default)]
pub(crate) struct Decoded {
    pub structs: Vec<Struct>,
    pub deletes: Vec<(ClientID, Range<u32>)>,
}

/// Where a struct sits, as the v1 layout writes it: its origins, and only
/// when it has neither, its parent and map key.
#[derive(Debug, Clone)]
pub(crate) struct Header {
    pub origin: Option<ID>,
    pub right_origin: Option<ID>,
    pub parent: Option<ParentRef>,
    pub key: Option<Arc<str>>,
}

/// One struct of a v1 update as written, content untouched.
#[derive(Debug)]
pub(crate) enum RawBody {
    Skip,
    Gc,
    Item(Header, ItemContent),
}

#[derive(Debug)]
pub(crate) struct RawStruct {
    pub id: ID,
    pub len: u32,
    pub body: RawBody,
}

/// A v1 update as written: per client its structs from a start clock, then
/// the delete set. The one reader of the v1 struct layout in this crate
/// (the effect and the redaction both read through it).
#[derive(Debug)]
pub(crate) struct RawUpdate {
    pub groups: Vec<(ClientID, u32, Vec<RawStruct>)>,
    pub deletes: IdSet,
}

/// Reads a v1 update struct by struct, exactly as yrs's `Update::decode`
/// does, but keeping origins, parents and contents as written.
pub(crate) fn read_v1(bytes: &[u8]) -> Result<RawUpdate, DecodeError> {
    let mut d = DecoderV1::from(bytes);
    let clients: u32 = d.read_var().map_err(malformed)?;
    let mut groups = Vec::new();
    for _ in 0..clients {
        let count: u32 = d.read_var().map_err(malformed)?;
        let client = d.read_client().map_err(malformed)?;
        let start: u32 = d.read_var().map_err(malformed)?;
        let mut clock = start;
        let mut structs = Vec::new();
        for _ in 0..count {
            let id = ID::new(client, clock);
            let info = d.read_info().map_err(malformed)?;
            let (len, body) = match info & 0b1_1111 {
                BLOCK_SKIP_REF_NUMBER => (d.read_var().map_err(malformed)?, RawBody::Skip),
                BLOCK_GC_REF_NUMBER => (d.read_len().map_err(malformed)?, RawBody::Gc),
                _ => {
                    let header = read_header(&mut d, info)?;
                    let content = ItemContent::decode(&mut d, info).map_err(malformed)?;
                    let len = content.len_utf16();
                    if len == 0 {
                        // yrs drops such structs without advancing the clock.
                        continue;
                    }
                    (len, RawBody::Item(header, content))
                }
            };
            if len == 0 {
                return Err(DecodeError::EmptyStruct {
                    client: client.get(),
                    clock,
                });
            }
            clock = clock.checked_add(len).ok_or(DecodeError::ClockOverflow {
                client: client.get(),
            })?;
            structs.push(RawStruct { id, len, body });
        }
        groups.push((client, start, structs));
    }
    let deletes = IdSet::decode(&mut d).map_err(malformed)?;
    Ok(RawUpdate { groups, deletes })
}

fn read_header(d: &mut DecoderV1<'_>, info: u8) -> Result<Header, DecodeError> {
    let origin = if info & HAS_ORIGIN != 0 {
        Some(d.read_left_id().map_err(malformed)?)
    } else {
        None
    };
    let right_origin = if info & HAS_RIGHT_ORIGIN != 0 {
        Some(d.read_right_id().map_err(malformed)?)
    } else {
        None
    };
    let explicit = info & (HAS_ORIGIN | HAS_RIGHT_ORIGIN) == 0;
    let parent = if !explicit {
        None
    } else if d.read_parent_info().map_err(malformed)? {
        Some(ParentRef::Root(Arc::from(
            d.read_string().map_err(malformed)?,
        )))
    } else {
        Some(ParentRef::Item(d.read_left_id().map_err(malformed)?))
    };
    let key = if explicit && info & HAS_PARENT_SUB != 0 {
        Some(Arc::from(d.read_string().map_err(malformed)?))
    } else {
        None
    };
    Ok(Header {
        origin,
        right_origin,
        parent,
        key,
    })
}

/// Reads a v1 update for the effect: placements and the contents the
/// schemas read.
pub(crate) fn decode_v1(bytes: &[u8]) -> Result<Decoded, DecodeError> {
    let raw = read_v1(bytes)?;
    let mut out = Decoded::default();
    for (_, _, structs) in raw.groups {
        for RawStruct { id, len, body } in structs {
            out.structs.push(match body {
                RawBody::Skip | RawBody::Gc => Struct::gap(id, len),
                RawBody::Item(h, content) => Struct {
                    id,
                    len,
                    origin: h.origin,
                    right_origin: h.right_origin,
                    parent: h.parent,
                    key: h.key,
                    content: Some(Content::from_item(content)),
                },
            });
        }
    }
    for (client, ranges) in raw.deletes.iter() {
        for r in ranges.iter() {
            if r.start < r.end {
                out.deletes.push((*client, r.clone()));
            }
        }
    }
    Ok(out)
}

impl Struct {
    fn gap(id: ID, len: u32) -> Self {
        Struct {
            id,
            len,
            origin: None,
            right_origin: None,
            parent: None,
            key: None,
            content: None,
        }
    }
}

/// What the index knows of one integrated struct.
#[derive(Debug, Clone)]
pub(crate) struct Node {
    pub parent: ParentRef,
    pub key: Option<Arc<str>>,
    /// The type ref when the struct is a shared type.
    pub type_ref: Option<u8>,
    /// JSON values, kept so a deletion can say what it removed.
    pub values: Option<Arc<[Any]>>,
    /// For a formatting mark that ends a span (`key: null`): its key.
    pub span_end: Option<Arc<str>>,
    /// Deleted content (collected, or a refused struct the server stored
    /// without its content): whatever names it as parent is dropped by yrs.
    pub collected: bool,
}

#[derive(Debug, Clone)]
enum Slot {
    Node(Node),
    /// Garbage-collected (or parentless) range: whatever hangs off it is
    /// dropped by yrs on integration.
    Gc,
}

/// Where a struct's owner could be traced to.
#[derive(Debug, Clone)]
pub(crate) enum Placement {
    /// Fully resolved up to a root.
    Placed(Ancestry),
    /// Its neighbours were garbage-collected: yrs will drop it.
    Discarded,
    /// It names something neither the document nor the update holds, or its
    /// chain is malformed (cycles, parents that are not types).
    Unknown(String),
}

/// The owner chain of a struct: the root, then the containing items from the
/// root down with their map keys, then the struct's own map key.
#[derive(Debug, Clone)]
pub(crate) struct Ancestry {
    pub root: Arc<str>,
    pub chain: Vec<(ID, Option<Arc<str>>)>,
    pub key: Option<Arc<str>>,
}

/// Id ranges → nodes, the delete set so far, and per-client clocks.
#[derive(Debug, Default)]
pub(crate) struct IdIndex {
    ranges: HashMap<ClientID, Runs>,
    deleted: HashMap<ClientID, BTreeMap<u32, u32>>,
    /// Values of label keys (`id`, `delegation`) per containing map item.
    labels: HashMap<(ID, Arc<str>), String>,
    label_keys: &'static [&'static str],
    /// Per map key (parent, key): the items written there and not yet known deleted — the
    /// key's value (normally one item). A new write displaces it: yrs deletes it without the
    /// update naming it ([`UpdateView::displaced`]). Entries are dropped when a later write to
    /// the key finds them deleted, so this holds about one id per live map key.
    values: HashMap<(ParentRef, Arc<str>), SmallVec<[ID; 1]>>,
    /// Set when an observed transaction could not be indexed; every later
    /// effect query then fails rather than guessing.
    pub broken: Option<String>,
    /// Emptied while its document is quiet ([`IdIndex::shed`]): rebuilt from the document's
    /// state before the next query ([`IdIndex::restore`]).
    shed: bool,
}

/// One client's indexed structs: (first clock, length, slot), sorted by clock and disjoint.
///
/// A sorted vector rather than a `BTreeMap`: yrs integrates a client's structs in clock order,
/// so entries are appended (O(1) amortised) and a lookup is a binary search, at a third of the
/// memory of a map's half-full nodes (this index is most of a quiet room's own heap).
#[derive(Debug, Default)]
struct Runs(Vec<(u32, u32, Slot)>);

impl Runs {
    /// The run holding `clock`: (start, length, slot).
    fn get(&self, clock: u32) -> Option<(u32, u32, &Slot)> {
        let i = self
            .0
            .partition_point(|(s, _, _)| *s <= clock)
            .checked_sub(1)?;
        let (start, len, slot) = &self.0[i];
        (clock < start.saturating_add(*len)).then_some((*start, *len, slot))
    }

    /// The runs that overlap `from..to`, in clock order.
    fn overlapping(&self, from: u32, to: u32) -> impl Iterator<Item = &(u32, u32, Slot)> {
        let first = self
            .0
            .partition_point(|(s, l, _)| s.saturating_add(*l) <= from);
        self.0[first..].iter().take_while(move |(s, _, _)| *s < to)
    }

    /// The clock after the last run.
    fn end(&self) -> Option<u32> {
        self.0.last().map(|(s, l, _)| s.saturating_add(*l))
    }

    /// Records a run; one at the same start replaces the old one (the last write wins, as a
    /// map's insert did). Out-of-order starts are inserted in place.
    fn insert(&mut self, start: u32, len: u32, slot: Slot) {
        if self.0.last().is_none_or(|(s, _, _)| *s < start) {
            self.0.push((start, len, slot));
            return;
        }
        match self.0.binary_search_by_key(&start, |(s, _, _)| *s) {
            Ok(i) => self.0[i] = (start, len, slot),
            Err(i) => self.0.insert(i, (start, len, slot)),
        }
    }
}

/// Whether `id` lies in one of the ranges of `deleted` (per client: start → end).
fn deleted_in(deleted: &HashMap<ClientID, BTreeMap<u32, u32>>, id: &ID) -> bool {
    deleted.get(&id.client).is_some_and(|m| {
        m.range(..=id.clock)
            .next_back()
            .is_some_and(|(_, end)| id.clock < *end)
    })
}

/// Deeper than any schema here (a reply's field is 4 deep): a chain
/// longer than this is refused without climbing further.
const MAX_DEPTH: usize = 8;

impl IdIndex {
    pub fn new(label_keys: &'static [&'static str]) -> Self {
        IdIndex {
            label_keys,
            ..IdIndex::default()
        }
    }

    /// Empties the index (its memory is most of a quiet room's own): what it held can be
    /// rebuilt from the document's state. A broken index stays as it is.
    pub fn shed(&mut self) {
        if self.broken.is_none() && !self.shed {
            *self = IdIndex {
                label_keys: self.label_keys,
                shed: true,
                ..IdIndex::default()
            };
        }
    }

    /// Whether the index is shed: transactions are not ingested meanwhile (the rebuild reads
    /// them from the state).
    pub fn is_shed(&self) -> bool {
        self.shed
    }

    /// Rebuilds a shed index from `doc`'s whole state, as loading the document built it: the
    /// cost of one load, paid by the first query after a quiet spell. Reading the state needs
    /// no write transaction in progress; during one the index stays shed (empty) for this query.
    /// Never the case in a room: the effect of every update is asked before it integrates, and
    /// that restores the index.
    pub fn restore(&mut self, doc: &yrs::Doc) {
        if !self.shed {
            return;
        }
        let Ok(txn) = doc.try_transact() else {
            return;
        };
        let state = txn.encode_state_as_update_v1(&yrs::StateVector::default());
        drop(txn);
        self.shed = false;
        self.ingest(&state);
    }

    fn slot(&self, id: &ID) -> Option<(u32, &Slot)> {
        let (start, _, slot) = self.ranges.get(&id.client)?.get(id.clock)?;
        Some((start, slot))
    }

    /// Of the id ranges in `deleted`, those of items lying, at any depth, inside an item of
    /// `containers`: what yrs deleted along with a type an update deleted (its map values, its
    /// text), which restoring the type must bring back too. O(ranges · depth · log n).
    pub fn beneath(&self, deleted: &IdSet, containers: &IdSet) -> IdSet {
        let mut out = IdSet::new();
        if containers.is_empty() {
            return out;
        }
        for (client, ranges) in deleted.iter() {
            let Some(index) = self.ranges.get(client) else {
                continue;
            };
            for r in ranges.iter() {
                for (start, len, slot) in index.overlapping(r.start, r.end) {
                    let (from, to) = ((*start).max(r.start), (start + len).min(r.end));
                    if from < to && self.inside(slot, containers) {
                        out.insert(ID::new(*client, from), to - from);
                    }
                }
            }
        }
        out
    }

    /// Whether the struct of `slot` has an ancestor item in `containers`.
    fn inside(&self, slot: &Slot, containers: &IdSet) -> bool {
        let mut slot = slot;
        for _ in 0..MAX_DEPTH {
            let Slot::Node(node) = slot else {
                return false;
            };
            let ParentRef::Item(parent) = &node.parent else {
                return false;
            };
            if containers.contains(parent) {
                return true;
            }
            match self.slot(parent) {
                Some((_, next)) => slot = next,
                None => return false,
            }
        }
        false
    }

    fn is_deleted(&self, id: &ID) -> bool {
        deleted_in(&self.deleted, id)
    }

    /// Records a map value written at (`parent`, `key`), forgetting the ones
    /// since deleted (amortised O(1): each id is forgotten once).
    fn record_value(&mut self, parent: &ParentRef, key: &Arc<str>, id: ID) {
        let entry = self
            .values
            .entry((parent.clone(), key.clone()))
            .or_default();
        entry.retain(|v| !deleted_in(&self.deleted, v));
        entry.push(id);
    }

    /// The items holding the value of (`parent`, `key`) now.
    fn live_values(&self, parent: &ParentRef, key: &str) -> Vec<ID> {
        self.values
            .get(&(parent.clone(), Arc::from(key)))
            .map(|ids| {
                ids.iter()
                    .filter(|v| !self.is_deleted(v))
                    .copied()
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Next clock expected from `client`.
    pub fn clock(&self, client: &ClientID) -> u32 {
        self.ranges.get(client).and_then(Runs::end).unwrap_or(0)
    }

    pub fn label(&self, item: &ID, key: &str) -> Option<&str> {
        self.labels
            .get(&(*item, Arc::from(key)))
            .map(String::as_str)
    }

    /// Ranges of `r` (client `c`) not yet deleted in the document.
    fn undeleted(&self, c: &ClientID, r: Range<u32>) -> Vec<Range<u32>> {
        let mut out = Vec::new();
        let mut pos = r.start;
        if let Some(m) = self.deleted.get(c) {
            let first = m
                .range(..=r.start)
                .next_back()
                .map(|(s, _)| *s)
                .unwrap_or(r.start);
            for (s, e) in m.range(first..r.end) {
                if *e <= pos {
                    continue;
                }
                if *s > pos {
                    out.push(pos..(*s).min(r.end));
                }
                pos = pos.max(*e);
                if pos >= r.end {
                    break;
                }
            }
        }
        if pos < r.end {
            out.push(pos..r.end);
        }
        out
    }

    fn mark_deleted(&mut self, c: ClientID, r: Range<u32>) {
        let m = self.deleted.entry(c).or_default();
        let mut start = r.start;
        let mut end = r.end;
        let first = m
            .range(..=start)
            .next_back()
            .map(|(s, _)| *s)
            .unwrap_or(start);
        let overlapping: Vec<(u32, u32)> = m
            .range(first..=end)
            .filter(|(s, e)| **e >= start && **s <= end)
            .map(|(s, e)| (*s, *e))
            .collect();
        for (s, e) in overlapping {
            m.remove(&s);
            start = start.min(s);
            end = end.max(e);
        }
        m.insert(start, end);
    }

    /// Indexes an update that the document has just integrated.
    pub fn ingest(&mut self, bytes: &[u8]) {
        let decoded = match decode_v1(bytes) {
            Ok(d) => d,
            Err(e) => {
                self.broken = Some(e.to_string());
                return;
            }
        };
        let view = UpdateView::new(self, &decoded);
        let mut new_entries = Vec::with_capacity(decoded.structs.len());
        for (i, st) in decoded.structs.iter().enumerate() {
            let slot = match (&st.content, view.direct(i)) {
                (Some(c), Some((parent, key))) => Slot::Node(Node {
                    parent,
                    key,
                    type_ref: match c {
                        Content::Type(t) => Some(*t),
                        _ => None,
                    },
                    values: match c {
                        Content::Any(v) => Some(v.clone()),
                        _ => None,
                    },
                    span_end: match c {
                        Content::Format(k, Any::Null) => Some(k.clone()),
                        _ => None,
                    },
                    collected: matches!(c, Content::Deleted),
                }),
                _ => Slot::Gc,
            };
            new_entries.push((st.id, st.len, slot));
        }
        for (id, len, slot) in new_entries {
            if let Slot::Node(n) = &slot
                && let (ParentRef::Item(m), Some(k), Some(v)) = (&n.parent, &n.key, &n.values)
                && self.label_keys.contains(&k.as_ref())
                && let Some(Any::String(s)) = v.first()
            {
                self.labels.insert((*m, k.clone()), s.to_string());
            }
            if let Slot::Node(n) = &slot
                && let Some(k) = &n.key
                && !n.collected
            {
                let parent = n.parent.clone();
                let key = k.clone();
                self.record_value(&parent, &key, id);
            }
            self.ranges
                .entry(id.client)
                .or_default()
                .insert(id.clock, len, slot);
        }
        for (c, r) in decoded.deletes {
            self.mark_deleted(c, r);
        }
    }
}

/// The update being examined, laid over the index: lookups see its own
/// structs first, then the document's.
pub(crate) struct UpdateView<'a> {
    index: &'a IdIndex,
    decoded: &'a Decoded,
    /// Per client: (start clock, len, struct index), sorted by clock.
    local: HashMap<ClientID, Vec<(u32, u32, usize)>>,
    /// Memo of each struct's direct (parent, key); filled on construction.
    direct: Vec<Direct>,
    /// Label values written by the update, per (map item, key).
    labels: HashMap<(ID, Arc<str>), String>,
    /// The update's delete ranges per client, sorted by start.
    deleted: HashMap<ClientID, Vec<Range<u32>>>,
    /// Update structs by the item whose type directly holds them.
    children: HashMap<ID, Vec<usize>>,
}

/// Why a struct cannot be placed: kept as ids and worded only when a
/// reason is reported (a frame of a million such structs must not become a
/// million strings).
#[derive(Debug, Clone, Copy)]
enum Why {
    SelfOrigin(ID),
    Cycle(ID),
    Missing(ID, ID),
    NoParent(ID),
    SplitOrigins(ID),
    Unresolved,
}

impl Why {
    fn message(&self) -> String {
        match self {
            Why::SelfOrigin(id) => format!("struct {} names itself as origin", fmt_id(id)),
            Why::Cycle(id) => format!("origin cycle through {}", fmt_id(id)),
            Why::Missing(id, o) => format!(
                "struct {} refers to {} which neither the document nor the update holds",
                fmt_id(id),
                fmt_id(o)
            ),
            Why::NoParent(id) => format!("struct {} has no parent and no origin", fmt_id(id)),
            Why::SplitOrigins(id) => format!(
                "struct {}'s origin and right origin lie in different places",
                fmt_id(id)
            ),
            Why::Unresolved => "unresolved".to_owned(),
        }
    }
}

/// A struct's direct parent and map key, or why it has none.
type Direct = Result<(ParentRef, Option<Arc<str>>), Fail>;

#[derive(Debug, Clone)]
enum Fail {
    Gc,
    Unknown(Why),
}

enum Found<'a> {
    Local(usize),
    Indexed(&'a Node),
    Gc,
    Missing,
}

impl<'a> UpdateView<'a> {
    pub fn new(index: &'a IdIndex, decoded: &'a Decoded) -> Self {
        let mut local: HashMap<ClientID, Vec<(u32, u32, usize)>> = HashMap::new();
        for (i, st) in decoded.structs.iter().enumerate() {
            local
                .entry(st.id.client)
                .or_default()
                .push((st.id.clock, st.len, i));
        }
        for v in local.values_mut() {
            v.sort_unstable_by_key(|e| e.0);
        }
        let mut deleted: HashMap<ClientID, Vec<Range<u32>>> = HashMap::new();
        for (c, r) in &decoded.deletes {
            deleted.entry(*c).or_default().push(r.clone());
        }
        for v in deleted.values_mut() {
            v.sort_unstable_by_key(|r| r.start);
        }
        let mut view = UpdateView {
            index,
            decoded,
            local,
            direct: Vec::new(),
            labels: HashMap::new(),
            deleted,
            children: HashMap::new(),
        };
        view.resolve_all();
        for (i, r) in view.direct.iter().enumerate() {
            if let Ok((ParentRef::Item(p), _)) = r {
                view.children.entry(*p).or_default().push(i);
            }
        }
        for (i, st) in decoded.structs.iter().enumerate() {
            if let (Some(Ok((ParentRef::Item(p), Some(k)))), Some(Content::Any(v))) =
                (view.direct.get(i), &st.content)
                && let Some(Any::String(s)) = v.first()
            {
                view.labels.insert((*p, k.clone()), s.to_string());
            }
        }
        view
    }

    fn find(&self, id: &ID) -> Found<'a> {
        // A struct the document already holds is skipped by yrs when the update is applied (a
        // re-send, or a crafted duplicate of an existing id): what that id names, for a deletion
        // or an origin, is the document's item, never the update's copy.
        let known = id.clock < self.index.clock(&id.client);
        if let Some(v) = self.local.get(&id.client).filter(|_| !known) {
            let pos = v.partition_point(|e| e.0 <= id.clock);
            if pos > 0 {
                let (s, l, i) = v[pos - 1];
                if id.clock < s + l {
                    if self.decoded.structs[i].content.is_some() {
                        return Found::Local(i);
                    }
                    // a GC/Skip range in the update: the document may know better
                    if let Some((_, Slot::Node(n))) = self.index.slot(id) {
                        return Found::Indexed(n);
                    }
                    return Found::Gc;
                }
            }
        }
        match self.index.slot(id) {
            Some((_, Slot::Node(n))) => Found::Indexed(n),
            Some((_, Slot::Gc)) => Found::Gc,
            None => Found::Missing,
        }
    }

    /// Resolves every struct's direct parent and key, following origins
    /// through the update with an explicit stack (no recursion on input).
    fn resolve_all(&mut self) {
        let n = self.decoded.structs.len();
        let mut memo: Vec<Option<Direct>> = vec![None; n];
        for start in 0..n {
            if memo[start].is_some() {
                continue;
            }
            let mut stack = vec![start];
            let mut visiting = std::collections::HashSet::new();
            while let Some(&i) = stack.last() {
                if memo[i].is_some() {
                    stack.pop();
                    continue;
                }
                visiting.insert(i);
                let st = &self.decoded.structs[i];
                if st.content.is_none() {
                    memo[i] = Some(Err(Fail::Gc));
                    stack.pop();
                    continue;
                }
                if let Some(p) = &st.parent {
                    memo[i] = Some(Ok((p.clone(), st.key.clone())));
                    stack.pop();
                    continue;
                }
                // origin first, then right origin, as yrs does
                let mut result: Option<Direct> = None;
                let mut pending: Option<usize> = None;
                let mut saw_gc = false;
                for o in [st.origin, st.right_origin].into_iter().flatten() {
                    match self.find(&o) {
                        Found::Indexed(node) => {
                            result = Some(Ok((node.parent.clone(), node.key.clone())));
                            break;
                        }
                        Found::Local(j) if j == i => {
                            result = Some(Err(Fail::Unknown(Why::SelfOrigin(st.id))));
                            break;
                        }
                        Found::Local(j) => match &memo[j] {
                            Some(Ok(r)) => {
                                result = Some(Ok(r.clone()));
                                break;
                            }
                            Some(Err(Fail::Gc)) => saw_gc = true,
                            Some(Err(e)) => {
                                result = Some(Err(e.clone()));
                                break;
                            }
                            None if visiting.contains(&j) => {
                                result = Some(Err(Fail::Unknown(Why::Cycle(st.id))));
                                break;
                            }
                            None => {
                                pending = Some(j);
                                break;
                            }
                        },
                        Found::Gc => saw_gc = true,
                        Found::Missing => {
                            result = Some(Err(Fail::Unknown(Why::Missing(st.id, o))));
                            break;
                        }
                    }
                }
                if let Some(j) = pending {
                    stack.push(j);
                    continue;
                }
                memo[i] = Some(result.unwrap_or(if saw_gc {
                    Err(Fail::Gc)
                } else {
                    Err(Fail::Unknown(Why::NoParent(st.id)))
                }));
                stack.pop();
            }
        }
        // Yjs never writes an item whose origin and right origin live in different lists (or
        // under different map keys); yrs would place it by its origin and walk a list that never
        // reaches the other. Such a struct is not placed: the update is refused whole.
        for i in 0..n {
            let st = &self.decoded.structs[i];
            let (None, Some(right)) = (&st.parent, st.right_origin) else {
                continue;
            };
            if st.origin.is_none() {
                continue;
            }
            let Some(Ok((parent, key))) = &memo[i] else {
                continue;
            };
            let other = match self.find(&right) {
                Found::Indexed(node) => Some((node.parent.clone(), node.key.clone())),
                Found::Local(j) if j != i => {
                    memo[j].as_ref().and_then(|d| d.as_ref().ok().cloned())
                }
                _ => None,
            };
            if let Some((other_parent, other_key)) = other
                && (*parent != other_parent || *key != other_key)
            {
                memo[i] = Some(Err(Fail::Unknown(Why::SplitOrigins(st.id))));
            }
        }
        self.direct = memo
            .into_iter()
            .map(|m| m.unwrap_or(Err(Fail::Unknown(Why::Unresolved))))
            .collect();
    }

    fn direct(&self, i: usize) -> Option<(ParentRef, Option<Arc<str>>)> {
        self.direct.get(i).and_then(|r| r.as_ref().ok().cloned())
    }

    /// For struct `i` written under a map key: the document's current value of that key,
    /// which yrs deletes implicitly when struct `i` becomes the key's value. (If it does not
    /// become the value, yrs deletes struct `i` instead, and the id is not in the
    /// transaction's deletions: reverting ignores it.)
    fn displaced(&self, i: usize) -> Vec<ID> {
        match self.direct(i) {
            Some((parent, Some(key))) => self.index.live_values(&parent, &key),
            _ => Vec::new(),
        }
    }

    /// Is this item a shared type (per the update or the index)?
    /// Whether `id` is a formatting mark that ends a `key` span (`key:
    /// null`): text inserted right before it, after the span's content,
    /// takes on the span's attribute.
    pub fn ends_span(&self, id: &ID, key: &str) -> bool {
        match self.find(id) {
            Found::Local(j) => matches!(
                &self.decoded.structs[j].content,
                Some(Content::Format(k, Any::Null)) if k.as_ref() == key
            ),
            Found::Indexed(n) => n.span_end.as_deref() == Some(key),
            _ => false,
        }
    }

    fn type_of(&self, id: &ID) -> Option<u8> {
        match self.find(id) {
            Found::Local(j) => match &self.decoded.structs[j].content {
                Some(Content::Type(t)) => Some(*t),
                _ => None,
            },
            Found::Indexed(n) => n.type_ref,
            _ => None,
        }
    }

    fn climb(&self, first: (ParentRef, Option<Arc<str>>)) -> Placement {
        let (mut parent, key) = first;
        let mut chain: Vec<(ID, Option<Arc<str>>)> = Vec::new();
        for _ in 0..MAX_DEPTH {
            match parent {
                ParentRef::Root(root) => {
                    chain.reverse();
                    return Placement::Placed(Ancestry { root, chain, key });
                }
                ParentRef::Item(id) => {
                    if self.type_of(&id).is_none() {
                        return match self.find(&id) {
                            // yrs drops what hangs off deleted content
                            Found::Gc => Placement::Discarded,
                            Found::Indexed(n) if n.collected => Placement::Discarded,
                            Found::Local(j)
                                if matches!(
                                    self.decoded.structs[j].content,
                                    Some(Content::Deleted)
                                ) =>
                            {
                                Placement::Discarded
                            }
                            Found::Missing => {
                                Placement::Unknown(format!("parent {} is unknown", fmt_id(&id)))
                            }
                            _ => Placement::Unknown(format!(
                                "parent {} is not a shared type",
                                fmt_id(&id)
                            )),
                        };
                    }
                    let next = match self.find(&id) {
                        Found::Local(j) => match self.direct.get(j) {
                            Some(Ok(r)) => r.clone(),
                            Some(Err(Fail::Gc)) => return Placement::Discarded,
                            Some(Err(Fail::Unknown(m))) => return Placement::Unknown(m.message()),
                            None => return Placement::Unknown("unresolved parent".into()),
                        },
                        Found::Indexed(n) => (n.parent.clone(), n.key.clone()),
                        Found::Gc => return Placement::Discarded,
                        Found::Missing => {
                            return Placement::Unknown(format!(
                                "parent {} is unknown",
                                fmt_id(&id)
                            ));
                        }
                    };
                    // the containing item's start id: ids inside a type item are exact
                    chain.push((id, next.1.clone()));
                    parent = next.0;
                }
            }
        }
        Placement::Unknown("ancestry deeper than any schema allows".into())
    }

    /// Where struct `i` of the update lives.
    pub fn place_struct(&self, i: usize) -> Placement {
        match self.direct.get(i) {
            Some(Ok(r)) => self.climb(r.clone()),
            Some(Err(Fail::Gc)) => Placement::Discarded,
            Some(Err(Fail::Unknown(m))) => Placement::Unknown(m.message()),
            None => Placement::Unknown("no such struct".into()),
        }
    }

    /// The pieces of a delete range that are new (not already deleted), each
    /// placed, with the deleted item's id and any JSON values it held.
    pub fn place_delete(&self, client: ClientID, r: Range<u32>) -> Vec<PlacedDelete> {
        let mut out = Vec::new();
        for piece in self.index.undeleted(&client, r) {
            let mut pos = piece.start;
            while pos < piece.end {
                let id = ID::new(client, pos);
                match self.find(&id) {
                    Found::Local(j) => {
                        let st = &self.decoded.structs[j];
                        let end = (st.id.clock + st.len).min(piece.end);
                        let values = match &st.content {
                            Some(Content::Any(v)) => Some(
                                v.iter()
                                    .skip((pos - st.id.clock) as usize)
                                    .take((end - pos) as usize)
                                    .cloned()
                                    .collect(),
                            ),
                            _ => None,
                        };
                        out.push((st.id, pos..end, self.place_struct(j), values));
                        pos = end;
                    }
                    Found::Indexed(_) | Found::Gc => {
                        let Some((start, slot)) = self.index.slot(&id) else {
                            break;
                        };
                        let len = self
                            .index
                            .ranges
                            .get(&client)
                            .and_then(|m| m.get(start))
                            .map_or(1, |(_, l, _)| l);
                        let end = (start + len).min(piece.end);
                        match slot {
                            Slot::Node(n) => {
                                let values = n.values.as_ref().map(|v| {
                                    v.iter()
                                        .skip((pos - start) as usize)
                                        .take((end - pos) as usize)
                                        .cloned()
                                        .collect()
                                });
                                out.push((
                                    ID::new(client, start),
                                    pos..end,
                                    self.climb((n.parent.clone(), n.key.clone())),
                                    values,
                                ));
                            }
                            Slot::Gc => {}
                        }
                        pos = end;
                    }
                    Found::Missing => {
                        out.push((
                            id,
                            pos..piece.end,
                            Placement::Unknown(format!(
                                "deletes {}..{} of client {}, which the document does not hold",
                                pos,
                                piece.end,
                                client.get()
                            )),
                            None,
                        ));
                        break;
                    }
                }
            }
        }
        out
    }

    /// Label (e.g. `id`) of a map item, from the update first.
    pub fn label(&self, item: &ID, key: &str) -> Option<String> {
        self.labels
            .get(&(*item, Arc::from(key)))
            .cloned()
            .or_else(|| self.index.label(item, key).map(str::to_owned))
    }

    /// Is the struct starting at `id` part of this update (a new item)?
    pub fn is_new(&self, id: &ID) -> bool {
        matches!(self.find(id), Found::Local(_)) && self.index.slot(id).is_none()
    }

    /// Does this update delete the item at `id` (which it did not already)?
    pub fn deletes_item(&self, id: &ID) -> bool {
        let Some(v) = self.deleted.get(&id.client) else {
            return false;
        };
        let pos = v.partition_point(|r| r.start <= id.clock);
        let hit = pos > 0 && v[pos - 1].contains(&id.clock);
        hit && !self
            .index
            .undeleted(&id.client, id.clock..id.clock + 1)
            .is_empty()
    }

    /// The part of a struct the document does not hold yet (`None`: a re-send).
    pub fn new_part(&self, st: &Struct) -> Option<Range<u32>> {
        let sv = self.index.clock(&st.id.client);
        let end = st.id.clock + st.len;
        (end > sv).then(|| st.id.clock.max(sv)..end)
    }
}

pub(crate) fn fmt_id(id: &ID) -> String {
    format!("{}:{}", id.client.get(), id.clock)
}

/// A piece of a delete range: the deleted item's start id, the part of it
/// deleted, where it lives, and the JSON values it held.
pub(crate) type PlacedDelete = (ID, Range<u32>, Placement, Option<Vec<Any>>);

/// One thing an update does, placed.
#[derive(Debug)]
pub(crate) enum Touch<'a> {
    /// A new struct (or the new part of one: `range`, at `st.id.client`).
    Insert {
        st: &'a Struct,
        at: Ancestry,
        range: Range<u32>,
        /// For a map value: the document's value of that key, which yrs deletes when this one
        /// integrates (the update does not name it). Reverting a refused write must restore it.
        displaces: Vec<ID>,
    },
    /// A newly deleted item (by its start id), the range of it deleted, and
    /// the JSON values removed.
    Delete {
        item: ID,
        range: Range<u32>,
        at: Ancestry,
        values: Vec<Any>,
    },
}

impl Touch<'_> {
    /// The ids this touch inserts or deletes, added to `fp`.
    pub fn add_to(&self, fp: &mut crate::effect::Footprint) {
        match self {
            Touch::Insert {
                st,
                range,
                displaces,
                ..
            } => {
                fp.inserted
                    .insert(ID::new(st.id.client, range.start), range.end - range.start);
                for id in displaces {
                    fp.deleted.insert(*id, 1);
                }
            }
            Touch::Delete { item, range, .. } => fp
                .deleted
                .insert(ID::new(item.client, range.start), range.end - range.start),
        }
    }
}

/// How many reasons an effect keeps word for word; the rest are counted.
/// A frame of a million unplaceable structs must not become a million
/// strings.
pub(crate) const MAX_REASONS: usize = 8;

/// Reasons, bounded: the first [`MAX_REASONS`] verbatim, then a count.
#[derive(Debug, Default)]
pub(crate) struct Reasons {
    pub kept: Vec<String>,
    pub more: usize,
}

impl Reasons {
    pub fn push(&mut self, why: impl FnOnce() -> String) {
        if self.kept.len() < MAX_REASONS {
            self.kept.push(why());
        } else {
            self.more += 1;
        }
    }

    pub fn into_vec(mut self) -> Vec<String> {
        if self.more > 0 {
            self.kept.push(format!("… and {} more", self.more));
        }
        self.kept
    }
}

/// Everything an update touches, plus what could not be placed.
#[derive(Debug, Default)]
pub(crate) struct Touches<'a> {
    pub touches: Vec<Touch<'a>>,
    /// Structs or deletions naming ids neither the document nor the update
    /// holds (or malformed chains): yrs would hold them back as pending.
    pub unplaceable: Reasons,
    pub discarded: u32,
}

impl<'a> UpdateView<'a> {
    pub fn touches(&self) -> Touches<'a> {
        let mut t = Touches::default();
        for (i, st) in self.decoded.structs.iter().enumerate() {
            if st.content.is_none() {
                continue;
            }
            let Some(range) = self.new_part(st) else {
                continue;
            };
            match self.place_struct(i) {
                Placement::Placed(at) => {
                    let displaces = self.displaced(i);
                    t.touches.push(Touch::Insert {
                        st,
                        at,
                        range,
                        displaces,
                    })
                }
                Placement::Discarded => t.discarded += 1,
                Placement::Unknown(m) => {
                    // The update is refused whole: placing the rest would
                    // only cost time (a crafted frame holds a million).
                    t.unplaceable.push(|| m);
                    return t;
                }
            }
        }
        for (c, r) in &self.decoded.deletes {
            for (item, range, placement, values) in self.place_delete(*c, r.clone()) {
                match placement {
                    Placement::Placed(at) => t.touches.push(Touch::Delete {
                        item,
                        range,
                        at,
                        values: values.unwrap_or_default(),
                    }),
                    Placement::Discarded => t.discarded += 1,
                    Placement::Unknown(m) => {
                        t.unplaceable.push(|| m);
                        return t;
                    }
                }
            }
        }
        t
    }

    /// The value a new struct writes: JSON for plain values, the initial
    /// content for a new shared type (map → object, text → string, array →
    /// list), built from the update's own structs.
    pub fn value_of(&self, st: &Struct) -> serde_json::Value {
        self.value_depth(st, 0)
    }

    fn value_depth(&self, st: &Struct, depth: usize) -> serde_json::Value {
        use serde_json::Value;
        match &st.content {
            Some(Content::Any(v)) => match v.len() {
                1 => any_json(&v[0]),
                _ => Value::Array(v.iter().map(any_json).collect()),
            },
            Some(Content::String(s)) => Value::String(s.to_string()),
            Some(Content::Type(t)) if depth < MAX_DEPTH => {
                let kids = self.children.get(&st.id).map(Vec::as_slice).unwrap_or(&[]);
                // What the writer ends with: not what it wrote and then
                // deleted (or collected) within the same update.
                let kids = kids
                    .iter()
                    .map(|&j| (&self.decoded.structs[j], self.direct.get(j)))
                    .filter(|(k, _)| {
                        !matches!(k.content, Some(Content::Deleted)) && !self.deletes_item(&k.id)
                    });
                match *t {
                    TYPE_MAP => {
                        let mut m = serde_json::Map::new();
                        for (k, d) in kids {
                            if let Some(Ok((_, Some(key)))) = d {
                                m.insert(key.to_string(), self.value_depth(k, depth + 1));
                            }
                        }
                        Value::Object(m)
                    }
                    TYPE_TEXT => {
                        let mut s = String::new();
                        for (k, _) in kids {
                            if let Some(Content::String(x)) = &k.content {
                                s.push_str(x);
                            }
                        }
                        Value::String(s)
                    }
                    _ => {
                        let mut a = Vec::new();
                        for (k, _) in kids {
                            match &k.content {
                                Some(Content::Any(v)) => a.extend(v.iter().map(any_json)),
                                Some(_) => a.push(self.value_depth(k, depth + 1)),
                                None => {}
                            }
                        }
                        Value::Array(a)
                    }
                }
            }
            _ => Value::Null,
        }
    }
}

impl<'a> UpdateView<'a> {
    /// The initial content of a new text as (string, attributes) runs, in
    /// document order: its structs are replayed in clock order, each placed
    /// right after its origin — exact for a text written by one client
    /// (what an editing op, a paste or a move produces); an approximation
    /// when several clients' concurrent structs are mixed in one update.
    pub fn text_runs(&self, text: &ID) -> Vec<(String, HashMap<Arc<str>, Any>)> {
        enum Unit<'s> {
            Char(&'s str),
            Format(&'s Arc<str>, &'s Any),
        }
        let mut kids: Vec<&Struct> = self
            .children
            .get(text)
            .map(|v| v.iter().map(|&j| &self.decoded.structs[j]).collect())
            .unwrap_or_default();
        kids.sort_by_key(|st| (st.id.client, st.id.clock));
        // Units in document order as a linked list (node 0 is the head), each
        // placed right after its origin: O(units), however the structs are
        // ordered (a splice into a vector was quadratic in a crafted frame).
        let mut nodes: Vec<(Option<Unit<'_>>, usize)> = vec![(None, usize::MAX)];
        let mut by_id: HashMap<ID, usize> = HashMap::new();
        let mut tail = 0usize;
        for st in kids {
            let mut units: Vec<(ID, Unit<'_>)> = Vec::new();
            match &st.content {
                Some(Content::String(s)) => {
                    let mut clock = st.id.clock;
                    let mut at = 0;
                    for c in s.chars() {
                        let w = c.len_utf16() as u32;
                        let end = at + c.len_utf8();
                        units.push((
                            ID::new(st.id.client, clock + w - 1),
                            Unit::Char(&s[at..end]),
                        ));
                        clock += w;
                        at = end;
                    }
                }
                Some(Content::Format(k, v)) => units.push((st.id, Unit::Format(k, v))),
                _ => continue,
            }
            let mut after = match st.origin {
                Some(o) => by_id.get(&o).copied().unwrap_or(tail),
                None => 0,
            };
            for (id, unit) in units {
                let next = nodes[after].1;
                let i = nodes.len();
                nodes.push((Some(unit), next));
                nodes[after].1 = i;
                if after == tail {
                    tail = i;
                }
                by_id.insert(id, i);
                after = i;
            }
        }
        let mut seq: Vec<Unit<'_>> = Vec::with_capacity(nodes.len());
        let mut at = nodes[0].1;
        while at != usize::MAX {
            let (unit, next) = &mut nodes[at];
            let next = *next;
            if let Some(u) = unit.take() {
                seq.push(u);
            }
            at = next;
        }
        let mut attrs: HashMap<Arc<str>, Any> = HashMap::new();
        let mut out: Vec<(String, HashMap<Arc<str>, Any>)> = Vec::new();
        for u in seq {
            match u {
                Unit::Format(k, Any::Null) => {
                    attrs.remove(k);
                }
                Unit::Format(k, v) => {
                    attrs.insert(k.clone(), v.clone());
                }
                Unit::Char(c) => match out.last_mut() {
                    Some((t, a)) if *a == attrs => t.push_str(c),
                    _ => out.push((c.to_owned(), attrs.clone())),
                },
            }
        }
        out
    }

    /// The item holding the value written under `key` in new map `map`.
    pub fn child_with_key(&self, map: &ID, key: &str) -> Option<&'a Struct> {
        let kids = self.children.get(map)?;
        kids.iter().rev().find_map(|&j| match self.direct.get(j) {
            Some(Ok((_, Some(k)))) if k.as_ref() == key => Some(&self.decoded.structs[j]),
            _ => None,
        })
    }
}

pub(crate) fn any_json(a: &Any) -> serde_json::Value {
    serde_json::to_value(a).unwrap_or(serde_json::Value::Null)
}

#[cfg(test)]
mod tests {
    use super::{Runs, Slot};

    fn starts(r: &Runs) -> Vec<(u32, u32)> {
        r.0.iter().map(|(s, l, _)| (*s, *l)).collect()
    }

    #[test]
    fn runs_find_clocks_inside_them_whatever_order_they_came_in() {
        let mut r = Runs::default();
        assert!(r.get(0).is_none());
        assert_eq!(r.end(), None);
        r.insert(0, 3, Slot::Gc);
        r.insert(10, 2, Slot::Gc);
        // out of order (not what yrs emits, but it must not corrupt the order)
        r.insert(5, 5, Slot::Gc);
        // the same start again replaces the run, as a map's insert did
        r.insert(10, 4, Slot::Gc);
        assert_eq!(starts(&r), [(0, 3), (5, 5), (10, 4)]);
        assert_eq!(r.end(), Some(14));
        assert_eq!(r.get(2).map(|(s, l, _)| (s, l)), Some((0, 3)));
        assert!(r.get(3).is_none(), "3 lies between runs");
        assert_eq!(r.get(9).map(|(s, _, _)| s), Some(5));
        assert_eq!(r.get(13).map(|(s, _, _)| s), Some(10));
        assert!(r.get(14).is_none());
        let over: Vec<u32> = r.overlapping(2, 11).map(|(s, _, _)| *s).collect();
        assert_eq!(over, [0, 5, 10]);
        let over: Vec<u32> = r.overlapping(3, 5).map(|(s, _, _)| *s).collect();
        assert!(over.is_empty());
        let over: Vec<u32> = r.overlapping(14, 99).map(|(s, _, _)| *s).collect();
        assert!(over.is_empty());
    }
}
