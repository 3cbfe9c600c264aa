//! The document at any point of its log, in bounded work.
//!
//! Checkpoints are the store's snapshots (the store keeps old ones). A snapshot is trusted only
//! if it is *exact*: the server may snapshot a state that already holds a few of its own entries
//! past the snapshot's position, so a snapshot at `W` is checked against the entries after `W`
//! (none of them may already be in it) before history starts from it; the verdict is cached.
//! While replaying, a new checkpoint is written whenever more than `checkpoint_distance` entries
//! separate the position from the last checkpoint, so the next request near that point is cheap.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::{Arc, Mutex};

use plenary_doc::{BaseOrder, ResolutionDoc, numbering};
use plenary_store::{LogEntry, Snapshot, Store, Version};
use serde::{Deserialize, Serialize};
use yrs::updates::decoder::Decode;
use yrs::{Transact, Update};

use crate::attribution::{Attributor, ParagraphAttribution};
use crate::error::HistoryError;

/// How many entries may separate a point from its checkpoint before a new one is written.
pub const DEFAULT_CHECKPOINT_DISTANCE: u64 = 1_000;
/// Entries read per store round trip.
const PAGE: usize = 2_000;
/// How many entries after a snapshot are checked for having leaked into it.
const VERIFY_WINDOW: usize = 256;

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
    pub delegation: Option<String>,
    pub paragraphs: Vec<String>,
}

impl TimelineEntry {
    fn of(seq: u64, e: LogEntry) -> Self {
        TimelineEntry {
            seq,
            at_ms: e.at_ms,
            user: e.user,
            delegation: e.delegation,
            paragraphs: e.paragraphs,
        }
    }
}

/// The document rebuilt at a log position.
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

/// Attribution state kept between requests so following a growing log stays incremental.
struct AttributionCache {
    seq: u64,
    doc: ResolutionDoc,
    attributor: Attributor,
}

/// History questions about the documents of one store.
pub struct History {
    store: Arc<dyn Store>,
    checkpoint_distance: u64,
    /// (doc, snapshot seq, hash of its state) → whether it is exact.
    verified: Mutex<HashMap<(String, u64, u64), bool>>,
    /// (doc, version seq) → paragraph order at that version.
    bases: Mutex<HashMap<(String, u64), BaseOrder>>,
    attribution: tokio::sync::Mutex<HashMap<String, AttributionCache>>,
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
            verified: Mutex::new(HashMap::new()),
            bases: Mutex::new(HashMap::new()),
            attribution: tokio::sync::Mutex::new(HashMap::new()),
        }
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

    /// The nearest exact checkpoint at or before `seq`.
    async fn checkpoint(&self, doc: &str, seq: u64) -> Result<Option<Snapshot>, HistoryError> {
        let mut bound = seq;
        loop {
            let Some(s) = self.store.snapshot_at_or_before(doc, bound).await? else {
                return Ok(None);
            };
            if self.is_exact(doc, &s).await? {
                return Ok(Some(s));
            }
            if s.seq == 0 {
                return Ok(None);
            }
            bound = s.seq - 1;
        }
    }

    /// The document as it stood after entry `seq` (0: empty).
    pub async fn materialize(&self, doc: &str, seq: u64) -> Result<Materialized, HistoryError> {
        let last = self.last_seq(doc).await?;
        if seq > last {
            return Err(HistoryError::BeyondLog { seq, last });
        }
        let (start, d) = match self.checkpoint(doc, seq).await? {
            Some(s) => {
                let d =
                    ResolutionDoc::from_update(&s.state).map_err(|e| HistoryError::Corrupt {
                        seq: s.seq,
                        detail: e.to_string(),
                    })?;
                (s.seq, d)
            }
            None => (0, ResolutionDoc::new()),
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

    /// The document's named versions, by position.
    pub async fn versions(&self, doc: &str) -> Result<Vec<Version>, HistoryError> {
        self.last_seq(doc).await?;
        Ok(self.store.versions(doc).await?)
    }

    /// Who wrote which runs of each paragraph's text at `seq`, in document order.
    ///
    /// Computed by replaying the log from the start (a snapshot carries no authorship); the
    /// replay is kept per document, so asking again as the log grows only replays what is new.
    pub async fn attribution(
        &self,
        doc: &str,
        seq: u64,
    ) -> Result<Vec<ParagraphAttribution>, HistoryError> {
        let last = self.last_seq(doc).await?;
        if seq > last {
            return Err(HistoryError::BeyondLog { seq, last });
        }
        let mut caches = self.attribution.lock().await;
        let reuse = caches.get(doc).is_some_and(|c| c.seq <= seq);
        let mut cache = match caches.remove(doc).filter(|_| reuse) {
            Some(c) => c,
            None => AttributionCache {
                seq: 0,
                doc: ResolutionDoc::new(),
                attributor: Attributor::default(),
            },
        };
        while cache.seq < seq {
            let want = usize::try_from(seq - cache.seq).unwrap_or(PAGE).min(PAGE);
            let page = self.store.read_log(doc, cache.seq, want).await?;
            if page.is_empty() {
                break;
            }
            for (s, entry) in page {
                if s > seq {
                    break;
                }
                cache.attributor.apply(&mut cache.doc, s, &entry);
                cache.seq = s;
            }
        }
        let mut r = cache.doc.resolution();
        let base = self.base_order_at(doc, seq).await?;
        numbering::number_paragraphs(&mut r.paragraphs, base.as_ref());
        let out = cache.attributor.report(&r);
        caches.insert(doc.to_owned(), cache);
        Ok(out)
    }
}
