//! A room's link to the store: loading, the log, snapshots, and the bus
//! between nodes.
//!
//! Architecture invariants:
//! - `append` returns only once the entry is durable in the store; the room
//!   broadcasts only after that.
//! - A snapshot is taken at the *watermark*: the highest sequence number `W`
//!   such that every entry `<= W` is in the document. The log watch delivers
//!   every entry in order (this node's too), so `W` is simply the last
//!   sequence number the watch delivered. Entries beyond `W` may also be in
//!   the snapshot; replaying them again on load is harmless (updates are
//!   idempotent).
//! - Attribution checkpoints follow the log: every `snapshot_every` entries
//!   (at most every [`ATTRIBUTION_CHECKPOINT_DISTANCE`]) a background task
//!   replays the entries since the last one (at most one task per document)
//!   and stores the next, so a history request replays a short tail only.
//!   The room never waits for it.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use plenary_history::{ATTRIBUTION_CHECKPOINT_DISTANCE, History};
use plenary_store::{AwarenessFeed, LogEntry, LogWatch, Snapshot, Store, StoreError};
use yrs::ClientID;
use yrs::sync::Awareness;

use crate::document::LiveDoc;
use crate::session::Session;
use crate::state::ServerState;

/// How long a store call may take before the room gives up on it.
const STORE_TIMEOUT: Duration = Duration::from_secs(5);
/// Log entries read per round trip while loading.
const LOAD_BATCH: usize = 5_000;

#[derive(Debug, thiserror::Error)]
pub(crate) enum PersistError {
    #[error("store unavailable: {0}")]
    Store(#[from] StoreError),
    #[error("store did not answer in time")]
    Timeout,
    #[error("stored document is damaged: {0}")]
    Corrupt(String),
}

async fn timed<T>(
    f: impl std::future::Future<Output = Result<T, StoreError>>,
) -> Result<T, PersistError> {
    match tokio::time::timeout(STORE_TIMEOUT, f).await {
        Ok(r) => Ok(r?),
        Err(_) => Err(PersistError::Timeout),
    }
}

/// Something another node did to this document.
pub(crate) enum RemoteEvent {
    Update(Vec<u8>),
    Awareness(Vec<u8>),
}

/// Entries and presence from the store, for one room.
pub(crate) struct RemoteFeed {
    log: Option<LogWatch>,
    awareness: Option<AwarenessFeed>,
    node: String,
    /// Shared with the room's [`Persistence`]: the watermark advances here.
    watermark: Arc<std::sync::atomic::AtomicU64>,
}

impl RemoteFeed {
    /// The next event from another node. Pending forever when there is none.
    pub(crate) async fn next(&mut self) -> Option<RemoteEvent> {
        loop {
            tokio::select! {
                entry = next_log(&mut self.log) => match entry {
                    Some(Ok((seq, entry))) => {
                        self.watermark.fetch_max(seq, std::sync::atomic::Ordering::Relaxed);
                        if entry.node != self.node {
                            return Some(RemoteEvent::Update(entry.update));
                        }
                    }
                    Some(Err(e)) => tracing::warn!(error = %e, "log watch interrupted"),
                    None => self.log = None,
                },
                msg = next_awareness(&mut self.awareness) => match msg {
                    Some((node, bytes)) if node != self.node => return Some(RemoteEvent::Awareness(bytes)),
                    Some(_) => {}
                    None => self.awareness = None,
                },
            }
        }
    }
}

async fn next_log(w: &mut Option<LogWatch>) -> Option<Result<(u64, LogEntry), StoreError>> {
    match w {
        Some(w) => w.next().await,
        None => std::future::pending().await,
    }
}

async fn next_awareness(f: &mut Option<AwarenessFeed>) -> Option<(String, Vec<u8>)> {
    match f {
        Some(f) => f.next().await,
        None => std::future::pending().await,
    }
}

pub(crate) struct Persistence {
    store: Arc<dyn Store>,
    state: Arc<ServerState>,
    node: String,
    watermark: Arc<std::sync::atomic::AtomicU64>,
    /// Watermark of the last snapshot written.
    snapshot_seq: u64,
    last_snapshot: Instant,
    appended_since_snapshot: u64,
    /// Bytes of the entries appended since the last snapshot, and the size
    /// of that snapshot: a snapshot encodes the whole document, so it is
    /// written only once the log has grown by a share of that size too
    /// (its cost, spread over the updates that paid for it, follows their
    /// size, not the document's).
    appended_bytes: u64,
    snapshot_bytes: u64,
    /// Keeps attribution checkpoints up with the log (and its state between
    /// two advances, so an advance replays only the new entries).
    attribution: Arc<Attribution>,
}

/// A room's attribution checkpointing.
struct Attribution {
    history: History,
    doc: String,
    /// Position of the last attribution checkpoint this room wrote or found.
    reached: AtomicU64,
    /// Whether an advance task is running.
    running: AtomicBool,
}

impl Attribution {
    /// Entries between two advances.
    fn every(state: &ServerState) -> u64 {
        state
            .config
            .snapshot_every
            .clamp(1, ATTRIBUTION_CHECKPOINT_DISTANCE)
    }

    /// Starts an advance to the watermark in the background if one is due and
    /// none is running. It goes on while the log keeps moving ahead of it.
    fn maybe_advance(
        self: &Arc<Self>,
        state: &Arc<ServerState>,
        watermark: &Arc<AtomicU64>,
        force: bool,
    ) {
        let every = if force { 1 } else { Self::every(state) };
        let due = |reached: u64| watermark.load(Ordering::Relaxed) >= reached + every;
        if !due(self.reached.load(Ordering::Relaxed)) || self.running.swap(true, Ordering::AcqRel) {
            return;
        }
        let (this, state, watermark) = (self.clone(), state.clone(), watermark.clone());
        tokio::spawn(async move {
            loop {
                let target = watermark.load(Ordering::Relaxed);
                match this
                    .history
                    .advance_attribution_alone(&this.doc, target)
                    .await
                {
                    Some(Ok(reached)) => this.reached.fetch_max(reached, Ordering::Relaxed),
                    // Another task of this process is building them: it will get there.
                    None => break,
                    Some(Err(e)) => {
                        state.metrics.store_errors.inc();
                        tracing::warn!(doc = %this.doc, error = %e, "attribution checkpoint not written");
                        break;
                    }
                };
                let reached = this.reached.load(Ordering::Relaxed);
                if watermark.load(Ordering::Relaxed) < reached + Self::every(&state) {
                    break;
                }
            }
            this.running.store(false, Ordering::Release);
        });
    }
}

impl Persistence {
    /// Loads a document: latest snapshot, then the log after it.
    pub(crate) async fn load(
        state: &Arc<ServerState>,
        name: &str,
    ) -> Result<(LiveDoc, Persistence), PersistError> {
        let store = state.store.clone();
        let mut doc = LiveDoc::new(name);
        let snapshot = timed(store.latest_snapshot(name)).await?;
        let mut seq = 0;
        if let Some(s) = snapshot {
            doc.apply(&s.state)
                .map_err(|e| PersistError::Corrupt(e.to_string()))?;
            seq = s.seq;
        }
        let snapshot_seq = seq;
        loop {
            let batch = timed(store.read_log(name, seq, LOAD_BATCH)).await?;
            let Some((last, _)) = batch.last() else { break };
            let last = *last;
            for (_, entry) in &batch {
                if let Err(e) = doc.apply(&entry.update) {
                    tracing::error!(doc = %name, error = %e, "undecodable log entry skipped");
                }
            }
            seq = last;
            if batch.len() < LOAD_BATCH {
                break;
            }
        }
        let attribution = Arc::new(Attribution {
            history: History::new(store.clone()),
            doc: name.to_owned(),
            reached: AtomicU64::new(0),
            running: AtomicBool::new(false),
        });
        let p = Persistence {
            attribution,
            store,
            state: state.clone(),
            node: state.config.node_id.clone(),
            watermark: Arc::new(std::sync::atomic::AtomicU64::new(seq)),
            snapshot_seq,
            last_snapshot: Instant::now(),
            appended_since_snapshot: seq - snapshot_seq,
            appended_bytes: 0,
            snapshot_bytes: 0,
        };
        // A log that outgrew its attribution checkpoints (or predates them) is
        // indexed now, in the background.
        p.attribution.maybe_advance(state, &p.watermark, false);
        Ok((doc, p))
    }

    /// Follows the log (for other nodes' entries) and the presence bus.
    pub(crate) async fn subscribe(&self, name: &str) -> RemoteFeed {
        let after = self.watermark.load(std::sync::atomic::Ordering::Relaxed);
        let log = match timed(self.store.watch(name, after)).await {
            Ok(w) => Some(w),
            Err(e) => {
                tracing::warn!(doc = %name, error = %e, "cannot watch the log");
                None
            }
        };
        // Presence from other nodes; one node has none (and a feed would cost a task and a
        // ring of messages per loaded document).
        let awareness = if self.state.config.multi_node {
            timed(self.store.subscribe_awareness(name)).await.ok()
        } else {
            None
        };
        RemoteFeed {
            log,
            awareness,
            node: self.node.clone(),
            watermark: self.watermark.clone(),
        }
    }

    /// The log entry of an accepted update, attributed to the session's principal.
    pub(crate) fn entry(
        &self,
        session: &Session,
        update: &[u8],
        paragraphs: Vec<String>,
    ) -> LogEntry {
        LogEntry {
            update: update.to_vec(),
            user: session.principal.sub.clone(),
            name: Some(session.principal.name.clone()),
            delegation: Some(session.principal.attribution().to_string()),
            at_ms: now_ms(),
            paragraphs,
            node: self.node.clone(),
        }
    }

    /// A group commit of `entries`, to run on its own task: the appends are
    /// issued together so the store can commit them at once. Resolves to the
    /// number of entries once all are durable, or to the first error.
    pub(crate) fn commit(
        &self,
        name: &str,
        entries: Vec<LogEntry>,
    ) -> impl std::future::Future<Output = Result<usize, PersistError>> + Send + 'static {
        let store = self.store.clone();
        let state = self.state.clone();
        let name = name.to_string();
        async move {
            let appends = entries.iter().map(|e| timed(store.append(&name, e)));
            let results = futures_util::future::join_all(appends).await;
            match results.into_iter().find_map(Result::err) {
                None => {
                    state.store_healthy(true);
                    Ok(entries.len())
                }
                Some(e) => {
                    state.metrics.store_errors.inc();
                    state.store_healthy(false);
                    Err(e)
                }
            }
        }
    }

    /// Counts entries appended since the last snapshot.
    pub(crate) fn appended(&mut self, n: u64, bytes: u64) {
        self.appended_since_snapshot += n;
        self.appended_bytes += bytes;
        self.attribution
            .maybe_advance(&self.state, &self.watermark, false);
    }

    /// Writes a snapshot in the background when enough has changed: at
    /// least `snapshot_every` entries *and* entries worth a quarter of the
    /// last snapshot's size, or the snapshot interval passed.
    pub(crate) fn after_apply(&mut self, name: &str, doc: &LiveDoc) {
        let cfg = &self.state.config;
        let due = (self.appended_since_snapshot >= cfg.snapshot_every
            && self.appended_bytes.saturating_mul(4) >= self.snapshot_bytes)
            || (self.appended_since_snapshot > 0
                && self.last_snapshot.elapsed() >= cfg.snapshot_interval);
        if due {
            self.snapshot(name, doc, false);
        }
        self.attribution
            .maybe_advance(&self.state, &self.watermark, false);
    }

    fn snapshot(
        &mut self,
        name: &str,
        doc: &LiveDoc,
        wait: bool,
    ) -> Option<tokio::task::JoinHandle<()>> {
        let seq = self.watermark.load(std::sync::atomic::Ordering::Relaxed);
        if seq == 0 || seq <= self.snapshot_seq && self.appended_since_snapshot == 0 {
            return None;
        }
        let snapshot = Snapshot {
            seq,
            state: doc.encode_state(),
        };
        self.snapshot_seq = seq;
        self.last_snapshot = Instant::now();
        self.appended_since_snapshot = 0;
        self.appended_bytes = 0;
        self.snapshot_bytes = snapshot.state.len() as u64;
        let store = self.store.clone();
        let name = name.to_string();
        let state = self.state.clone();
        let task = tokio::spawn(async move {
            if let Err(e) = timed(store.put_snapshot(&name, &snapshot)).await {
                state.metrics.store_errors.inc();
                tracing::warn!(doc = %name, error = %e, "snapshot not written");
            }
        });
        wait.then_some(task)
    }

    /// A final snapshot before the room is unloaded.
    pub(crate) async fn unload(&mut self, name: &str, doc: &LiveDoc) {
        if let Some(task) = self.snapshot(name, doc, true) {
            let _ = task.await;
        }
        // The rest of the log too, in the background: the room does not wait.
        self.attribution
            .maybe_advance(&self.state, &self.watermark, true);
    }

    /// Passes a presence frame from a local client to the other nodes.
    pub(crate) fn forward_awareness(&self, name: &str, frame: &[u8]) {
        if !self.state.config.multi_node {
            return;
        }
        let store = self.store.clone();
        let (name, node, frame) = (name.to_string(), self.node.clone(), frame.to_vec());
        tokio::spawn(async move {
            let _ = timed(store.publish_awareness(&name, &node, &frame)).await;
        });
    }

    /// Tells the other nodes that these local participants left.
    pub(crate) fn publish_awareness(&self, name: &str, ids: &HashSet<u64>, awareness: &Awareness) {
        if !self.state.config.multi_node {
            return;
        }
        let ids: Vec<ClientID> = ids.iter().map(|i| ClientID::new(*i)).collect();
        if let Ok(update) = awareness.update_with_clients(ids) {
            self.forward_awareness(name, &crate::protocol::awareness(update));
        }
    }
}

pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
