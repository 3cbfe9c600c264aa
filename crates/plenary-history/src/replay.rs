//! The document at any point of its log, in bounded work.
//!
//! Checkpoints are the store's snapshots (the store keeps old ones). A snapshot is trusted only
//! if it is *exact*: the server may snapshot a state that already holds a few of its own entries
//! past the snapshot's position, so a snapshot at `W` is checked against the entries after `W`
//! (none of them may already be in it) before history starts from it; the verdict is cached.
//! While replaying, a new checkpoint is written whenever more than `checkpoint_distance` entries
//! separate the position from the last checkpoint, so the next request near that point is cheap.
//!
//! Attribution has checkpoints of its own (store checkpoints of kind [`ATTRIBUTION_KIND`]): the
//! document's exact state at a position together with the [`Attributor`]'s state there. The
//! server advances them as it accepts updates ([`History::advance_attribution`]), so a request
//! replays only a short tail. Their document state is exact (built by replay), so materializing
//! starts from them too.
//!
//! No request does unbounded work: a request whose nearest starting point lies more than
//! `max_tail` entries back (a log written before these checkpoints existed, say) starts building
//! the checkpoints in the background, at most one such task per document, and is answered
//! [`HistoryError::Preparing`].

use std::collections::{HashMap, HashSet};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::{Arc, LazyLock, Mutex};

use plenary_doc::{BaseOrder, ResolutionDoc, numbering};
use plenary_store::{Checkpoint, LogEntry, Snapshot, Store, StoreError, Version};
use serde::{Deserialize, Serialize};
use yrs::updates::decoder::Decode;
use yrs::{Transact, Update};

use crate::attribution::{Attributor, ParagraphAttribution};
use crate::error::HistoryError;

/// How many entries may separate a point from its checkpoint before a new one is written.
pub const DEFAULT_CHECKPOINT_DISTANCE: u64 = 1_000;
/// Entries read per store round trip (entries are up to a WebSocket message each, so a page is
/// kept small enough that its memory stays bounded).
const PAGE: usize = 250;
/// The store checkpoint kind of attribution checkpoints.
pub const ATTRIBUTION_KIND: &str = "attribution";
/// Attribution checkpoints are written this many entries apart while replaying.
pub const ATTRIBUTION_CHECKPOINT_DISTANCE: u64 = 500;
/// The longest replay one request may do for attribution (about a second's worth at most)…
pub const DEFAULT_MAX_ATTRIBUTION_TAIL: u64 = 1_500;
/// … and for materializing a state (cheaper per entry).
pub const DEFAULT_MAX_MATERIALIZE_TAIL: u64 = 5_000;
/// Snapshots older than the best attribution checkpoint are not probed; at most this many are.
const SNAPSHOT_PROBES: usize = 4;
/// Documents whose attribution state is kept in memory between requests …
const ATTRIBUTION_CACHE: usize = 8;
/// … as long as their checkpoints add up to at most this many bytes. In memory a state is about
/// ten times its checkpoint (its own copy of the document, with the effect index, and the
/// attributor): a 1 MB draft's was 15 MB, kept for as long as the server ran. A state over the
/// budget is read back from its checkpoint when next needed (one decode per 500 entries).
const ATTRIBUTION_CACHE_BYTES: usize = 1024 * 1024;
/// What a client is told to wait when checkpoints are being built.
const RETRY_AFTER_S: u64 = 5;
/// The first bytes of an attribution checkpoint (format 1).
const ATTRIBUTION_MAGIC: &[u8; 4] = b"PLA1";

/// Background checkpoint builds under way in this process: (store, kind, document). At most one
/// per document and kind, whichever `History` started it.
static BUILDS: LazyLock<Mutex<HashSet<BuildKey>>> = LazyLock::new(|| Mutex::new(HashSet::new()));

/// (the store's address, checkpoint kind, document).
type BuildKey = (usize, &'static str, String);

/// Holds a [`BUILDS`] slot; frees it when dropped.
struct BuildSlot(BuildKey);

impl BuildSlot {
    fn take(store: &Arc<dyn Store>, kind: &'static str, doc: &str) -> Option<BuildSlot> {
        let key = (
            Arc::as_ptr(store).cast::<()>() as usize,
            kind,
            doc.to_owned(),
        );
        let taken = lock(&BUILDS).insert(key.clone());
        // (A slot made and dropped under the lock would deadlock: build it only if taken.)
        if taken { Some(BuildSlot(key)) } else { None }
    }
}

impl Drop for BuildSlot {
    fn drop(&mut self) {
        lock(&BUILDS).remove(&self.0);
    }
}
/// How many entries after a snapshot are checked for having leaked into it.
const VERIFY_WINDOW: usize = 256;

/// The inputs of a tracked-changes export ([`History::tracked_since`]).
#[derive(Debug)]
pub struct TrackedInputs {
    pub base_seq: u64,
    pub seq: u64,
    pub old: plenary_doc::Resolution,
    pub new: plenary_doc::Resolution,
    pub authors: plenary_doc::TrackedAuthors,
}

/// A point in a document's history, as users name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Point {
    /// After this log entry (0 = before the first).
    Seq(u64),
    /// A named version.
    Version(String),
    /// The last entry accepted at or before this time (ms since the Unix epoch).
    Time(i64),
    Current,
}

impl Point {
    /// `current`, a sequence number, or else a version name.
    pub fn parse(s: &str) -> Point {
        if s == "current" {
            Point::Current
        } else if let Ok(n) = s.parse::<u64>() {
            Point::Seq(n)
        } else {
            Point::Version(s.to_owned())
        }
    }
}

/// One step of the timeline: who changed which paragraphs when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TimelineEntry {
    pub seq: u64,
    pub at_ms: i64,
    pub user: String,
    /// The display name the author's token carried ("Delegate of Japan"), if it was kept.
    #[serde(default)]
    pub name: Option<String>,
    pub delegation: Option<String>,
    pub paragraphs: Vec<String>,
}

impl TimelineEntry {
    fn of(seq: u64, e: LogEntry) -> Self {
        TimelineEntry {
            seq,
            at_ms: e.at_ms,
            user: e.user,
            name: e.name,
            delegation: e.delegation,
            paragraphs: e.paragraphs,
        }
    }
}

/// The document rebuilt at a log position, opened for reading (`ResolutionDoc::for_reading`:
/// its views and state; no effect index).
#[derive(Debug)]
pub struct Materialized {
    pub seq: u64,
    pub doc: ResolutionDoc,
    /// Where replay started (the checkpoint used, 0 for the beginning).
    pub from_checkpoint: u64,
    /// Entries applied on top of the checkpoint.
    pub replayed: u64,
    /// Entries that could not be decoded and were skipped (as the server does on load).
    pub skipped: u64,
}

/// Attribution replayed up to a position: the document there and who wrote what.
struct AttributionState {
    seq: u64,
    doc: ResolutionDoc,
    attributor: Attributor,
    /// Position of the last checkpoint written from (or read into) this state.
    saved: u64,
    /// The size of that checkpoint (0 before the first): what the cache budget counts.
    checkpoint_bytes: usize,
}

impl AttributionState {
    fn empty() -> Self {
        AttributionState {
            seq: 0,
            doc: ResolutionDoc::new(),
            attributor: Attributor::default(),
            saved: 0,
            checkpoint_bytes: 0,
        }
    }

    /// The checkpoint bytes: magic, the state's length (u64 LE), the state, the attributor.
    fn encode(&mut self) -> Vec<u8> {
        let state = self.doc.encode_state();
        let attributor = self.attributor.save();
        let mut out = Vec::with_capacity(12 + state.len() + attributor.len());
        out.extend_from_slice(ATTRIBUTION_MAGIC);
        out.extend_from_slice(&(state.len() as u64).to_le_bytes());
        out.extend_from_slice(&state);
        out.extend_from_slice(&attributor);
        out
    }

    /// The document state and the attributor's bytes of a checkpoint; `None` if it is not one.
    fn split(data: &[u8]) -> Option<(&[u8], &[u8])> {
        let rest = data.strip_prefix(ATTRIBUTION_MAGIC.as_slice())?;
        let (len, rest) = rest.split_at_checked(8)?;
        let len = usize::try_from(u64::from_le_bytes(len.try_into().ok()?)).ok()?;
        rest.split_at_checked(len)
    }

    fn decode(c: &Checkpoint) -> Option<Self> {
        let (state, attributor) = Self::split(&c.data)?;
        Some(AttributionState {
            seq: c.seq,
            doc: ResolutionDoc::from_update(state).ok()?,
            attributor: Attributor::load(attributor)?,
            saved: c.seq,
            checkpoint_bytes: c.data.len(),
        })
    }

    /// Applies `page` (in order) up to `until`, on the blocking pool: it is CPU work. A panic in
    /// the work is carried on to the caller; the pool refusing it (the runtime shutting down) is
    /// a store-like outage, never a panic.
    async fn apply(mut self, page: Vec<(u64, LogEntry)>, until: u64) -> Result<Self, HistoryError> {
        let work = move || {
            for (s, entry) in page {
                if s > until {
                    break;
                }
                self.attributor.apply(&mut self.doc, s, &entry);
                self.seq = s;
            }
            self
        };
        match tokio::runtime::Handle::try_current() {
            Ok(_) => match tokio::task::spawn_blocking(work).await {
                Ok(state) => Ok(state),
                Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
                Err(_) => Err(HistoryError::Store(StoreError::Unavailable {
                    reason: "the server is shutting down".to_owned(),
                })),
            },
            Err(_) => Ok(work()),
        }
    }
}

/// History questions about the documents of one store.
pub struct History {
    store: Arc<dyn Store>,
    checkpoint_distance: u64,
    max_attribution_tail: u64,
    max_materialize_tail: u64,
    /// (doc, snapshot seq, hash of its state) → whether it is exact.
    verified: Mutex<HashMap<(String, u64, u64), bool>>,
    /// (doc, version seq) → paragraph order at that version.
    bases: Mutex<HashMap<(String, u64), BaseOrder>>,
    /// Recently used attribution states, most recent last (at most [`ATTRIBUTION_CACHE`]).
    attribution: Mutex<Vec<(String, AttributionState)>>,
}

impl std::fmt::Debug for History {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("History")
            .field("checkpoint_distance", &self.checkpoint_distance)
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn hash(bytes: &[u8]) -> u64 {
    let mut h = DefaultHasher::new();
    bytes.hash(&mut h);
    h.finish()
}

/// Applies a log entry's update; `false` if it could not be decoded or applied.
fn apply_raw(doc: &ResolutionDoc, update: &[u8]) -> bool {
    match Update::decode_v1(update) {
        Ok(u) => doc.doc().transact_mut().apply_update(u).is_ok(),
        Err(_) => false,
    }
}

impl History {
    pub fn new(store: Arc<dyn Store>) -> Self {
        History {
            store,
            checkpoint_distance: DEFAULT_CHECKPOINT_DISTANCE,
            max_attribution_tail: DEFAULT_MAX_ATTRIBUTION_TAIL,
            max_materialize_tail: DEFAULT_MAX_MATERIALIZE_TAIL,
            verified: Mutex::new(HashMap::new()),
            bases: Mutex::new(HashMap::new()),
            attribution: Mutex::new(Vec::new()),
        }
    }

    /// The longest replay (in entries) one call may do for attribution and for a state; farther
    /// than that from any checkpoint, a call starts building checkpoints in the background and
    /// answers [`HistoryError::Preparing`]. `u64::MAX` for tools that may take their time.
    pub fn with_max_tail(mut self, attribution: u64, materialize: u64) -> Self {
        self.max_attribution_tail = attribution;
        self.max_materialize_tail = materialize;
        self
    }

    /// Writes checkpoints this many entries apart (at least 1).
    pub fn with_checkpoint_distance(mut self, distance: u64) -> Self {
        self.checkpoint_distance = distance.max(1);
        self
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The last log position, or [`HistoryError::NoDocument`].
    pub async fn last_seq(&self, doc: &str) -> Result<u64, HistoryError> {
        let last = self.store.last_seq(doc).await?;
        if last == 0 && !self.store.doc_exists(doc).await? {
            return Err(HistoryError::NoDocument(doc.to_owned()));
        }
        Ok(last)
    }

    /// The log position a [`Point`] names.
    pub async fn resolve(&self, doc: &str, point: &Point) -> Result<u64, HistoryError> {
        let last = self.last_seq(doc).await?;
        match point {
            Point::Current => Ok(last),
            Point::Seq(s) if *s <= last => Ok(*s),
            Point::Seq(s) => Err(HistoryError::BeyondLog { seq: *s, last }),
            Point::Version(name) => self
                .store
                .versions(doc)
                .await?
                .into_iter()
                .find(|v| &v.name == name)
                .map(|v| v.seq)
                .ok_or_else(|| HistoryError::NoVersion(name.clone())),
            Point::Time(t) => self.seq_at_time(doc, *t, last).await,
        }
    }

    /// The last entry accepted at or before `at_ms`: a binary search on positions (entries are
    /// stamped in append order, so their times do not decrease on one node).
    async fn seq_at_time(&self, doc: &str, at_ms: i64, last: u64) -> Result<u64, HistoryError> {
        let (mut lo, mut hi) = (0u64, last); // answer in [lo, hi]
        while lo < hi {
            let mid = lo + (hi - lo).div_ceil(2);
            let entry = self.store.read_log(doc, mid - 1, 1).await?;
            match entry.first() {
                Some((_, e)) if e.at_ms <= at_ms => lo = mid,
                _ => hi = mid - 1,
            }
        }
        Ok(lo)
    }

    /// Up to `limit` timeline entries after position `after`.
    pub async fn timeline(
        &self,
        doc: &str,
        after: u64,
        limit: usize,
    ) -> Result<Vec<TimelineEntry>, HistoryError> {
        self.last_seq(doc).await?;
        let entries = self.store.read_log(doc, after, limit).await?;
        Ok(entries
            .into_iter()
            .map(|(seq, e)| TimelineEntry::of(seq, e))
            .collect())
    }

    /// Whether the snapshot holds exactly the entries up to its position: none of the entries
    /// after it may already be in its state.
    async fn is_exact(&self, doc: &str, snapshot: &Snapshot) -> Result<bool, HistoryError> {
        let key = (doc.to_owned(), snapshot.seq, hash(&snapshot.state));
        if let Some(v) = lock(&self.verified).get(&key) {
            return Ok(*v);
        }
        let exact = match Update::decode_v1(&snapshot.state) {
            Err(_) => false,
            Ok(state) => {
                let have = state.insertions(true);
                let deleted = state.delete_set();
                let after = self
                    .store
                    .read_log(doc, snapshot.seq, VERIFY_WINDOW)
                    .await?;
                !after
                    .iter()
                    .any(|(_, e)| match Update::decode_v1(&e.update) {
                        Ok(u) => {
                            let ins = u.insertions(true);
                            let del = u.delete_set();
                            !(ins.is_empty() && del.is_empty())
                                && ins.diff(&have).is_empty()
                                && del.diff(deleted).is_empty()
                        }
                        Err(_) => false,
                    })
            }
        };
        lock(&self.verified).insert(key, exact);
        Ok(exact)
    }

    /// The nearest exact snapshot at or before `seq` and after `floor` (a better starting point
    /// the caller has), probing at most [`SNAPSHOT_PROBES`] snapshots.
    async fn checkpoint(
        &self,
        doc: &str,
        seq: u64,
        floor: Option<u64>,
    ) -> Result<Option<Snapshot>, HistoryError> {
        let mut bound = seq;
        for _ in 0..SNAPSHOT_PROBES {
            let Some(s) = self.store.snapshot_at_or_before(doc, bound).await? else {
                return Ok(None);
            };
            if floor.is_some_and(|f| s.seq <= f) {
                return Ok(None);
            }
            if self.is_exact(doc, &s).await? {
                return Ok(Some(s));
            }
            if s.seq == 0 {
                return Ok(None);
            }
            bound = s.seq - 1;
        }
        Ok(None)
    }

    /// The attribution checkpoint at or before `seq`, if there is a readable one.
    async fn attribution_checkpoint(
        &self,
        doc: &str,
        seq: u64,
    ) -> Result<Option<Checkpoint>, HistoryError> {
        let c = self
            .store
            .checkpoint_at_or_before(doc, ATTRIBUTION_KIND, seq)
            .await?;
        Ok(c.filter(|c| AttributionState::split(&c.data).is_some()))
    }

    /// Starts building checkpoints of `kind` up to `seq` in the background unless such a build
    /// is under way for the document, and says how long to wait.
    fn prepare(&self, doc: &str, kind: &'static str, seq: u64) -> HistoryError {
        if let Some(slot) = BuildSlot::take(&self.store, kind, doc)
            && tokio::runtime::Handle::try_current().is_ok()
        {
            let history = History::new(self.store.clone())
                .with_checkpoint_distance(self.checkpoint_distance)
                .with_max_tail(u64::MAX, u64::MAX);
            let doc = doc.to_owned();
            tokio::spawn(async move {
                let _slot = slot;
                // A failure (the store away) costs nothing but a later request starting again.
                let _ = if kind == ATTRIBUTION_KIND {
                    history.advance_attribution(&doc, seq).await.map(|_| ())
                } else {
                    match history.materialize(&doc, seq).await {
                        Ok(m) => {
                            history.write_checkpoint(&doc, m.seq, &m.doc).await;
                            Ok(())
                        }
                        Err(e) => Err(e),
                    }
                };
            });
        }
        HistoryError::Preparing {
            retry_after_s: RETRY_AFTER_S,
        }
    }

    /// The document as it stood after entry `seq` (0: empty).
    pub async fn materialize(&self, doc: &str, seq: u64) -> Result<Materialized, HistoryError> {
        let last = self.last_seq(doc).await?;
        if seq > last {
            return Err(HistoryError::BeyondLog { seq, last });
        }
        let exact = self.attribution_checkpoint(doc, seq).await?;
        let snapshot = self
            .checkpoint(doc, seq, exact.as_ref().map(|c| c.seq))
            .await?;
        let start = match (&snapshot, &exact) {
            (Some(s), _) => s.seq,
            (None, Some(c)) => c.seq,
            (None, None) => 0,
        };
        if seq - start > self.max_materialize_tail {
            return Err(self.prepare(doc, "state", seq));
        }
        let state = match (&snapshot, &exact) {
            (Some(s), _) => Some(s.state.as_slice()),
            (None, Some(c)) => AttributionState::split(&c.data).map(|(state, _)| state),
            (None, None) => None,
        };
        let d = match state {
            Some(state) => {
                // Only read (its views, its state, plain updates): no effect index to build.
                ResolutionDoc::for_reading(state).map_err(|e| HistoryError::Corrupt {
                    seq: start,
                    detail: e.to_string(),
                })?
            }
            None => ResolutionDoc::empty_for_reading(),
        };
        let mut m = Materialized {
            seq,
            doc: d,
            from_checkpoint: start,
            replayed: 0,
            skipped: 0,
        };
        let mut pos = start;
        let mut last_checkpoint = start;
        while pos < seq {
            let want = usize::try_from(seq - pos).unwrap_or(PAGE).min(PAGE);
            let page = self.store.read_log(doc, pos, want).await?;
            if page.is_empty() {
                break;
            }
            for (s, entry) in page {
                if s > seq {
                    break;
                }
                if apply_raw(&m.doc, &entry.update) {
                    m.replayed += 1;
                } else {
                    m.skipped += 1;
                }
                pos = s;
                if pos - last_checkpoint >= self.checkpoint_distance {
                    self.write_checkpoint(doc, pos, &m.doc).await;
                    last_checkpoint = pos;
                }
            }
        }
        Ok(m)
    }

    /// Caches a replayed state as a snapshot; a failure only costs a later replay.
    async fn write_checkpoint(&self, doc: &str, seq: u64, d: &ResolutionDoc) {
        let state = d.encode_state();
        let key = (doc.to_owned(), seq, hash(&state));
        if self
            .store
            .put_snapshot(doc, &Snapshot { seq, state })
            .await
            .is_ok()
        {
            lock(&self.verified).insert(key, true);
        }
    }

    /// The paragraph order labels at `seq` are computed against: that of the last version named
    /// at or before `seq` (`None` before the first version: plain numbering).
    pub async fn base_order_at(
        &self,
        doc: &str,
        seq: u64,
    ) -> Result<Option<BaseOrder>, HistoryError> {
        let versions = self.store.versions(doc).await?;
        let Some(v) = versions.iter().rev().find(|v| v.seq <= seq) else {
            return Ok(None);
        };
        let key = (doc.to_owned(), v.seq);
        if let Some(b) = lock(&self.bases).get(&key) {
            return Ok(Some(b.clone()));
        }
        let base = self.materialize(doc, v.seq).await?.doc.base_order();
        lock(&self.bases).insert(key, base.clone());
        Ok(Some(base))
    }

    /// The typed view at `seq`, labelled against the last version at or before it.
    pub async fn resolution_at(
        &self,
        doc: &str,
        seq: u64,
    ) -> Result<plenary_doc::Resolution, HistoryError> {
        let m = self.materialize(doc, seq).await?;
        let mut r = m.doc.resolution();
        let base = self.base_order_at(doc, seq).await?;
        numbering::number_paragraphs(&mut r.paragraphs, base.as_ref());
        Ok(r)
    }

    /// What a tracked-changes export of `doc` against `base` needs: the state at the base
    /// and now, and who wrote what in between (attribution of the current text, and the
    /// writer of the last change to each paragraph among at most `max_entries` timeline
    /// entries before now — older changes since the base are credited to the exporter).
    /// Bounded like every history read: one materialisation per state, one attribution,
    /// `max_entries` log entries.
    pub async fn tracked_since(
        &self,
        doc: &str,
        base: &Point,
        max_entries: u64,
    ) -> Result<TrackedInputs, HistoryError> {
        self.tracked_between(doc, base, &Point::Current, max_entries)
            .await
    }

    /// Like [`tracked_since`](Self::tracked_since), up to the point `to` rather than now: the
    /// changes from one version (or position) to another, as a compare view shows them. A `to`
    /// before the base gives the changes that lead back from the base to it.
    pub async fn tracked_between(
        &self,
        doc: &str,
        base: &Point,
        to: &Point,
        max_entries: u64,
    ) -> Result<TrackedInputs, HistoryError> {
        const PAGE: usize = 1_000;
        let base_seq = self.resolve(doc, base).await?;
        let seq = self.resolve(doc, to).await?;
        let old = self.resolution_at(doc, base_seq).await?;
        let new = self.resolution_at(doc, seq).await?;
        let attribution = self.attribution(doc, seq).await?;
        let mut entries = Vec::new();
        let mut after = base_seq.max(seq.saturating_sub(max_entries));
        while after < seq {
            let page = self.timeline(doc, after, PAGE).await?;
            let Some(last) = page.last() else { break };
            after = last.seq;
            entries.extend(page);
        }
        Ok(TrackedInputs {
            base_seq,
            seq,
            old,
            new,
            authors: crate::compare::tracked_authors(&attribution, &entries),
        })
    }

    /// The document's named versions, by position.
    pub async fn versions(&self, doc: &str) -> Result<Vec<Version>, HistoryError> {
        self.last_seq(doc).await?;
        Ok(self.store.versions(doc).await?)
    }

    /// Who wrote which runs of each paragraph's text at `seq`, in document order.
    ///
    /// Starts from the nearest attribution checkpoint (or the state this reader kept from an
    /// earlier call) and replays the rest of the log. More than `max_tail` entries from any
    /// checkpoint, it starts building them in the background and answers
    /// [`HistoryError::Preparing`].
    pub async fn attribution(
        &self,
        doc: &str,
        seq: u64,
    ) -> Result<Vec<ParagraphAttribution>, HistoryError> {
        let last = self.last_seq(doc).await?;
        if seq > last {
            return Err(HistoryError::BeyondLog { seq, last });
        }
        let mut state = self.attribution_start(doc, seq).await?;
        if seq - state.seq > self.max_attribution_tail {
            if state.seq > 0 {
                self.keep(doc, state);
            }
            return Err(self.prepare(doc, ATTRIBUTION_KIND, seq));
        }
        state = self.replay_attribution(doc, state, seq, false).await?;
        let mut r = state.doc.resolution();
        let base = self.base_order_at(doc, seq).await;
        let base = match base {
            Ok(base) => base,
            Err(e) => {
                self.keep(doc, state);
                return Err(e);
            }
        };
        numbering::number_paragraphs(&mut r.paragraphs, base.as_ref());
        let out = state.attributor.report(&r);
        self.keep(doc, state);
        Ok(out)
    }

    /// Brings the attribution checkpoints of `doc` up to `target` (at most the log's end),
    /// writing one every [`ATTRIBUTION_CHECKPOINT_DISTANCE`] entries and one at the end, and
    /// keeps the state for the next call. Returns the position reached. Its cost is the replay
    /// of the entries since the last checkpoint: the server calls it as the log grows, so each
    /// call replays about one snapshot interval.
    pub async fn advance_attribution(&self, doc: &str, target: u64) -> Result<u64, HistoryError> {
        let target = target.min(self.store.last_seq(doc).await?);
        let state = self.attribution_start(doc, target).await?;
        let mut state = self.replay_attribution(doc, state, target, true).await?;
        if state.seq > state.saved {
            self.save_attribution(doc, &mut state).await?;
        }
        let reached = state.seq;
        self.keep(doc, state);
        Ok(reached)
    }

    /// Like [`advance_attribution`](Self::advance_attribution), unless another advance or
    /// build of this document's attribution checkpoints is under way in this process (with any
    /// `History` on the same store): then `None` at once.
    pub async fn advance_attribution_alone(
        &self,
        doc: &str,
        target: u64,
    ) -> Option<Result<u64, HistoryError>> {
        let _slot = BuildSlot::take(&self.store, ATTRIBUTION_KIND, doc)?;
        Some(self.advance_attribution(doc, target).await)
    }

    /// The best state to replay attribution from towards `seq`: the one kept in memory or the
    /// stored checkpoint, whichever is nearer.
    async fn attribution_start(
        &self,
        doc: &str,
        seq: u64,
    ) -> Result<AttributionState, HistoryError> {
        let cached = {
            let mut cache = lock(&self.attribution);
            cache
                .iter()
                .position(|(d, s)| d == doc && s.seq <= seq)
                .map(|i| cache.remove(i).1)
        };
        // Close enough: not worth reading a stored checkpoint (which may be large).
        if let Some(c) = cached.as_ref()
            && seq - c.seq <= ATTRIBUTION_CHECKPOINT_DISTANCE.min(self.max_attribution_tail)
        {
            return Ok(cached.unwrap_or_else(AttributionState::empty));
        }
        let stored = self
            .attribution_checkpoint(doc, seq)
            .await?
            .filter(|s| cached.as_ref().is_none_or(|c| s.seq > c.seq))
            .and_then(|s| AttributionState::decode(&s));
        Ok(stored.or(cached).unwrap_or_else(AttributionState::empty))
    }

    /// Keeps a state for the next call (the most recent [`ATTRIBUTION_CACHE`] documents, within
    /// [`ATTRIBUTION_CACHE_BYTES`]).
    fn keep(&self, doc: &str, mut state: AttributionState) {
        if state.attributor.author_count() > 4_096 {
            state.attributor.compact();
        }
        let mut cache = lock(&self.attribution);
        if let Some(i) = cache.iter().position(|(d, _)| d == doc) {
            if cache[i].1.seq > state.seq {
                return;
            }
            cache.remove(i);
        }
        if state.checkpoint_bytes > ATTRIBUTION_CACHE_BYTES {
            return;
        }
        cache.push((doc.to_owned(), state));
        if cache.len() > ATTRIBUTION_CACHE {
            cache.remove(0);
        }
        while cache.iter().map(|(_, s)| s.checkpoint_bytes).sum::<usize>() > ATTRIBUTION_CACHE_BYTES
            && cache.len() > 1
        {
            cache.remove(0);
        }
    }

    /// Replays the log after `state` up to `target`, writing checkpoints on the way if asked.
    async fn replay_attribution(
        &self,
        doc: &str,
        mut state: AttributionState,
        target: u64,
        checkpoints: bool,
    ) -> Result<AttributionState, HistoryError> {
        while state.seq < target {
            let want = usize::try_from(target - state.seq)
                .unwrap_or(PAGE)
                .min(PAGE);
            let page = self.store.read_log(doc, state.seq, want).await?;
            if page.is_empty() {
                break;
            }
            state = state.apply(page, target).await?;
            if checkpoints && state.seq - state.saved >= ATTRIBUTION_CHECKPOINT_DISTANCE {
                self.save_attribution(doc, &mut state).await?;
            }
        }
        Ok(state)
    }

    async fn save_attribution(
        &self,
        doc: &str,
        state: &mut AttributionState,
    ) -> Result<(), HistoryError> {
        let data = state.encode();
        state.checkpoint_bytes = data.len();
        self.store
            .put_checkpoint(
                doc,
                ATTRIBUTION_KIND,
                &Checkpoint {
                    seq: state.seq,
                    data,
                },
            )
            .await?;
        state.saved = state.seq;
        Ok(())
    }
}
