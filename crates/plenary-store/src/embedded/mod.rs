//! [`EmbeddedStore`]: the store of a single node with no Redis, in one `redb` file.
//!
//! Appends go through one writer thread that commits whatever has queued up in one transaction
//! (group commit): each commit is durable (fsync) before any of its callers hears its sequence
//! number, and concurrent appenders share the cost of the fsync. Other writes and all reads run on
//! tokio's blocking pool. Watches and awareness are in-process broadcasts: one node is all there
//! is.

mod encoding;
mod hubs;
mod tables;

use std::path::Path;
use std::sync::mpsc as std_mpsc;
use std::sync::{Arc, Mutex, Weak};
use std::thread::JoinHandle;
use std::time::Duration;

use async_trait::async_trait;
use redb::{Database, ReadableDatabase, ReadableTable};
use tokio::sync::{broadcast, mpsc, oneshot};

use crate::entry::sort_versions;
use crate::error::{check_doc, check_kind};
use crate::store::{AWARENESS_BUFFER, WATCH_BUFFER, WatchItem};
use crate::{AwarenessFeed, Checkpoint, LogEntry, LogWatch, Snapshot, Store, StoreError, Version};
use hubs::Hubs;
use tables::{CHECKPOINTS, HEADS, LOG, SNAPSHOTS, VERSIONS, backend};

/// The database file inside the data directory.
const FILE_NAME: &str = "plenary.redb";
/// At most this many appends share one commit.
const MAX_BATCH: usize = 1024;
/// How many entries a lagging watch reads back from the file at a time.
const CATCH_UP_BATCH: usize = 512;

/// A [`Store`] in a local data directory. Cheap to clone; clones share the open database. The
/// directory is locked while any clone is alive (or a watch it handed out is mid-read).
#[derive(Clone)]
pub struct EmbeddedStore {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for EmbeddedStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedStore").finish_non_exhaustive()
    }
}

struct Inner {
    db: Arc<Database>,
    hubs: Arc<Hubs>,
    /// `None` only while dropping, so the writer thread sees its queue close and ends.
    appends: Option<std_mpsc::Sender<AppendRequest>>,
    writer: Mutex<Option<JoinHandle<()>>>,
    /// Claims ([`Store::claim`]): one process holds the file, so they live in memory.
    claims: Mutex<std::collections::HashMap<(String, String), std::time::Instant>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.appends = None;
        if let Ok(mut writer) = self.writer.lock()
            && let Some(handle) = writer.take()
        {
            // Nothing is queued (every appender held a reference), so this returns at once;
            // waiting releases the database file before a reopen.
            let _ = handle.join();
        }
    }
}

struct AppendRequest {
    doc: String,
    encoded: Vec<u8>,
    entry: LogEntry,
    reply: oneshot::Sender<Result<u64, StoreError>>,
}

/// redb's page cache (its default is 1 GiB), half of it at most for pages written and not yet
/// committed. Shared by every document of the process; at 32 MiB it was the largest part of a
/// server holding one long draft (25 of its 50 MB of heap, `bench/results/cold-massif.txt`),
/// and 8 MiB changed neither the fan-out nor history reads in A/B runs (BENCHMARKS.md, issue 16).
const CACHE_BYTES: usize = 8 * 1024 * 1024;

impl EmbeddedStore {
    /// Opens (creating if needed) the store in `dir`. Fails if another process or handle has it
    /// open, or if the file is not a store.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir).map_err(|e| {
            StoreError::Backend(format!(
                "cannot create data directory {}: {e}",
                dir.display()
            ))
        })?;
        // redb caches pages up to 1 GiB by default, so a server's memory followed its store
        // file (seen in the 30-minute soak: RSS grew with the log). Recent pages are what rooms
        // load and history reads; the rest is the operating system's page cache's job.
        let db = redb::Builder::new()
            .set_cache_size(CACHE_BYTES)
            .create(dir.join(FILE_NAME))
            .map_err(|e| match e {
                redb::DatabaseError::DatabaseAlreadyOpen => StoreError::Backend(format!(
                    "the data directory {} is already in use",
                    dir.display()
                )),
                other => backend(other),
            })?;
        tables::create_all(&db)?;
        let db = Arc::new(db);
        let hubs = Arc::new(Hubs::default());
        let (appends, queue) = std_mpsc::channel();
        let writer = {
            let db = db.clone();
            let hubs = hubs.clone();
            std::thread::Builder::new()
                .name("plenary-store-writer".to_owned())
                .spawn(move || write_appends(&db, &hubs, &queue))
                .map_err(|e| StoreError::Backend(format!("cannot start the writer thread: {e}")))?
        };
        Ok(EmbeddedStore {
            inner: Arc::new(Inner {
                db,
                hubs,
                appends: Some(appends),
                writer: Mutex::new(Some(writer)),
                claims: Mutex::default(),
            }),
        })
    }

    /// Runs `work` on the blocking pool with the database.
    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Database) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        run_blocking(self.inner.db.clone(), work).await
    }
}

async fn run_blocking<T: Send + 'static>(
    db: Arc<Database>,
    work: impl FnOnce(&Database) -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    tokio::task::spawn_blocking(move || work(&db))
        .await
        .map_err(|_| StoreError::Backend("a store task failed".to_owned()))?
}

/// The writer thread: drains the queue into one transaction per batch, then answers in order and
/// tells watchers, in sequence order.
fn write_appends(db: &Database, hubs: &Hubs, queue: &std_mpsc::Receiver<AppendRequest>) {
    while let Ok(first) = queue.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(more) => batch.push(more),
                Err(_) => break,
            }
        }
        match commit_batch(db, &batch) {
            Ok(seqs) => {
                for (request, seq) in batch.into_iter().zip(seqs) {
                    hubs.publish_entry(&request.doc, seq, request.entry);
                    let _ = request.reply.send(Ok(seq));
                }
            }
            Err(error) => {
                for request in batch {
                    let _ = request.reply.send(Err(error.clone()));
                }
            }
        }
    }
}

fn commit_batch(db: &Database, batch: &[AppendRequest]) -> Result<Vec<u64>, StoreError> {
    let txn = db.begin_write().map_err(backend)?;
    let mut seqs = Vec::with_capacity(batch.len());
    {
        let mut heads = txn.open_table(HEADS).map_err(backend)?;
        let mut log = txn.open_table(LOG).map_err(backend)?;
        for request in batch {
            let last = heads
                .get(request.doc.as_str())
                .map_err(backend)?
                .map(|guard| guard.value())
                .unwrap_or(0);
            let seq = last + 1;
            log.insert((request.doc.as_str(), seq), request.encoded.as_slice())
                .map_err(backend)?;
            heads.insert(request.doc.as_str(), seq).map_err(backend)?;
            seqs.push(seq);
        }
    }
    txn.commit().map_err(backend)?;
    Ok(seqs)
}

fn read_entries(
    db: &Database,
    doc: &str,
    after: u64,
    limit: usize,
) -> Result<Vec<(u64, LogEntry)>, StoreError> {
    if limit == 0 || after == u64::MAX {
        return Ok(Vec::new());
    }
    let txn = db.begin_read().map_err(backend)?;
    let log = txn.open_table(LOG).map_err(backend)?;
    let mut entries = Vec::new();
    for item in log
        .range((doc, after + 1)..=(doc, u64::MAX))
        .map_err(backend)?
    {
        let (key, value) = item.map_err(backend)?;
        let seq = key.value().1;
        let entry = encoding::decode(value.value())
            .ok_or_else(|| StoreError::corrupt(doc, format!("entry {seq} is unreadable")))?;
        entries.push((seq, entry));
        if entries.len() == limit {
            break;
        }
    }
    Ok(entries)
}

fn last_seq_in(db: &Database, doc: &str) -> Result<Option<u64>, StoreError> {
    let txn = db.begin_read().map_err(backend)?;
    let heads = txn.open_table(HEADS).map_err(backend)?;
    Ok(heads.get(doc).map_err(backend)?.map(|guard| guard.value()))
}

fn snapshot_at_or_before_in(
    db: &Database,
    doc: &str,
    max: u64,
) -> Result<Option<Snapshot>, StoreError> {
    let txn = db.begin_read().map_err(backend)?;
    let snapshots = txn.open_table(SNAPSHOTS).map_err(backend)?;
    let mut range = snapshots.range((doc, 0)..=(doc, max)).map_err(backend)?;
    match range.next_back() {
        Some(item) => {
            let (key, value) = item.map_err(backend)?;
            Ok(Some(Snapshot {
                seq: key.value().1,
                state: value.value().to_vec(),
            }))
        }
        None => Ok(None),
    }
}

#[async_trait]
impl Store for EmbeddedStore {
    async fn append(&self, doc: &str, entry: &LogEntry) -> Result<u64, StoreError> {
        check_doc(doc)?;
        let (reply, answer) = oneshot::channel();
        let request = AppendRequest {
            doc: doc.to_owned(),
            encoded: encoding::encode(entry),
            entry: entry.clone(),
            reply,
        };
        let queue = self
            .inner
            .appends
            .as_ref()
            .ok_or_else(|| StoreError::Backend("the store is closing".to_owned()))?;
        queue
            .send(request)
            .map_err(|_| StoreError::Backend("the store's writer has stopped".to_owned()))?;
        answer
            .await
            .map_err(|_| StoreError::Backend("the store's writer has stopped".to_owned()))?
    }

    async fn read_log(
        &self,
        doc: &str,
        after: u64,
        limit: usize,
    ) -> Result<Vec<(u64, LogEntry)>, StoreError> {
        let doc = doc.to_owned();
        self.blocking(move |db| read_entries(db, &doc, after, limit))
            .await
    }

    async fn last_seq(&self, doc: &str) -> Result<u64, StoreError> {
        let doc = doc.to_owned();
        self.blocking(move |db| Ok(last_seq_in(db, &doc)?.unwrap_or(0)))
            .await
    }

    async fn put_snapshot(&self, doc: &str, snapshot: &Snapshot) -> Result<(), StoreError> {
        check_doc(doc)?;
        let doc = doc.to_owned();
        let snapshot = snapshot.clone();
        self.blocking(move |db| {
            let txn = db.begin_write().map_err(backend)?;
            {
                let mut heads = txn.open_table(HEADS).map_err(backend)?;
                let last = heads
                    .get(doc.as_str())
                    .map_err(backend)?
                    .map(|guard| guard.value());
                if snapshot.seq > last.unwrap_or(0) {
                    return Err(StoreError::BeyondLog {
                        doc,
                        seq: snapshot.seq,
                        last: last.unwrap_or(0),
                    });
                }
                if last.is_none() {
                    heads.insert(doc.as_str(), 0).map_err(backend)?;
                }
                let mut snapshots = txn.open_table(SNAPSHOTS).map_err(backend)?;
                snapshots
                    .insert((doc.as_str(), snapshot.seq), snapshot.state.as_slice())
                    .map_err(backend)?;
            }
            txn.commit().map_err(backend)
        })
        .await
    }

    async fn latest_snapshot(&self, doc: &str) -> Result<Option<Snapshot>, StoreError> {
        self.snapshot_at_or_before(doc, u64::MAX).await
    }

    async fn snapshot_at_or_before(
        &self,
        doc: &str,
        seq: u64,
    ) -> Result<Option<Snapshot>, StoreError> {
        let doc = doc.to_owned();
        self.blocking(move |db| snapshot_at_or_before_in(db, &doc, seq))
            .await
    }

    async fn snapshot_seqs(&self, doc: &str) -> Result<Vec<u64>, StoreError> {
        let doc = doc.to_owned();
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(backend)?;
            let snapshots = txn.open_table(SNAPSHOTS).map_err(backend)?;
            let range = snapshots
                .range((doc.as_str(), 0)..=(doc.as_str(), u64::MAX))
                .map_err(backend)?;
            range
                .map(|item| item.map(|(key, _)| key.value().1).map_err(backend))
                .collect()
        })
        .await
    }

    async fn put_checkpoint(
        &self,
        doc: &str,
        kind: &str,
        checkpoint: &Checkpoint,
    ) -> Result<(), StoreError> {
        check_doc(doc)?;
        check_kind(kind)?;
        let (doc, kind) = (doc.to_owned(), kind.to_owned());
        let checkpoint = checkpoint.clone();
        self.blocking(move |db| {
            let txn = db.begin_write().map_err(backend)?;
            {
                let heads = txn.open_table(HEADS).map_err(backend)?;
                let last = heads
                    .get(doc.as_str())
                    .map_err(backend)?
                    .map_or(0, |guard| guard.value());
                if checkpoint.seq > last {
                    return Err(StoreError::BeyondLog {
                        doc,
                        seq: checkpoint.seq,
                        last,
                    });
                }
                let mut table = txn.open_table(CHECKPOINTS).map_err(backend)?;
                table
                    .insert(
                        (doc.as_str(), kind.as_str(), checkpoint.seq),
                        checkpoint.data.as_slice(),
                    )
                    .map_err(backend)?;
            }
            txn.commit().map_err(backend)
        })
        .await
    }

    async fn checkpoint_at_or_before(
        &self,
        doc: &str,
        kind: &str,
        seq: u64,
    ) -> Result<Option<Checkpoint>, StoreError> {
        check_kind(kind)?;
        let (doc, kind) = (doc.to_owned(), kind.to_owned());
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(backend)?;
            let table = txn.open_table(CHECKPOINTS).map_err(backend)?;
            let mut range = table
                .range((doc.as_str(), kind.as_str(), 0)..=(doc.as_str(), kind.as_str(), seq))
                .map_err(backend)?;
            match range.next_back() {
                Some(item) => {
                    let (key, value) = item.map_err(backend)?;
                    Ok(Some(Checkpoint {
                        seq: key.value().2,
                        data: value.value().to_vec(),
                    }))
                }
                None => Ok(None),
            }
        })
        .await
    }

    async fn list_docs(&self) -> Result<Vec<String>, StoreError> {
        self.blocking(|db| {
            let txn = db.begin_read().map_err(backend)?;
            let heads = txn.open_table(HEADS).map_err(backend)?;
            heads
                .iter()
                .map_err(backend)?
                .map(|item| item.map(|(key, _)| key.value().to_owned()).map_err(backend))
                .collect()
        })
        .await
    }

    async fn doc_exists(&self, doc: &str) -> Result<bool, StoreError> {
        let doc = doc.to_owned();
        self.blocking(move |db| Ok(last_seq_in(db, &doc)?.is_some()))
            .await
    }

    async fn name_version(&self, doc: &str, version: &Version) -> Result<(), StoreError> {
        check_doc(doc)?;
        let doc = doc.to_owned();
        let version = version.clone();
        self.blocking(move |db| {
            let encoded = serde_json::to_vec(&version)
                .map_err(|_| StoreError::InvalidInput("version cannot be encoded".to_owned()))?;
            let txn = db.begin_write().map_err(backend)?;
            {
                let mut heads = txn.open_table(HEADS).map_err(backend)?;
                let last = heads
                    .get(doc.as_str())
                    .map_err(backend)?
                    .map(|guard| guard.value());
                if version.seq > last.unwrap_or(0) {
                    return Err(StoreError::BeyondLog {
                        doc,
                        seq: version.seq,
                        last: last.unwrap_or(0),
                    });
                }
                let mut versions = txn.open_table(VERSIONS).map_err(backend)?;
                let key = (doc.as_str(), version.name.as_str());
                if versions.get(key).map_err(backend)?.is_some() {
                    return Err(StoreError::DuplicateVersion {
                        doc: doc.clone(),
                        name: version.name.clone(),
                    });
                }
                versions.insert(key, encoded.as_slice()).map_err(backend)?;
                if last.is_none() {
                    heads.insert(doc.as_str(), 0).map_err(backend)?;
                }
            }
            txn.commit().map_err(backend)
        })
        .await
    }

    async fn versions(&self, doc: &str) -> Result<Vec<Version>, StoreError> {
        let doc = doc.to_owned();
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(backend)?;
            let table = txn.open_table(VERSIONS).map_err(backend)?;
            let range = table.range((doc.as_str(), "")..).map_err(backend)?;
            let mut versions = Vec::new();
            for item in range {
                let (key, value) = item.map_err(backend)?;
                let (owner, name) = key.value();
                if owner != doc {
                    break;
                }
                let version = serde_json::from_slice::<Version>(value.value()).map_err(|_| {
                    StoreError::corrupt(&doc, format!("version {name:?} is unreadable"))
                })?;
                versions.push(version);
            }
            sort_versions(&mut versions);
            Ok(versions)
        })
        .await
    }

    async fn watch(&self, doc: &str, after: u64) -> Result<LogWatch, StoreError> {
        let live = self.inner.hubs.subscribe_log(doc);
        let (tx, rx) = mpsc::channel(WATCH_BUFFER);
        tokio::spawn(follow_log(
            Arc::downgrade(&self.inner),
            doc.to_owned(),
            after,
            live,
            tx,
        ));
        Ok(LogWatch::new(rx))
    }

    async fn publish_awareness(
        &self,
        doc: &str,
        node: &str,
        bytes: &[u8],
    ) -> Result<(), StoreError> {
        self.inner.hubs.publish_awareness(doc, node, bytes);
        Ok(())
    }

    async fn subscribe_awareness(&self, doc: &str) -> Result<AwarenessFeed, StoreError> {
        let mut live = self.inner.hubs.subscribe_awareness(doc);
        let (tx, rx) = mpsc::channel(AWARENESS_BUFFER);
        let hubs = Arc::downgrade(&self.inner.hubs);
        let doc = doc.to_owned();
        tokio::spawn(async move {
            loop {
                let message = tokio::select! {
                    message = live.recv() => message,
                    () = tx.closed() => break,
                };
                match message {
                    Ok(message) => {
                        let (node, bytes) = &*message;
                        if let Err(mpsc::error::TrySendError::Closed(_)) =
                            tx.try_send((node.clone(), bytes.clone()))
                        {
                            break;
                        }
                    }
                    // Presence is only worth its latest state: skip what was missed.
                    Err(broadcast::error::RecvError::Lagged(_)) => {}
                    Err(broadcast::error::RecvError::Closed) => return,
                }
            }
            drop(live);
            if let Some(hubs) = hubs.upgrade() {
                hubs.prune(&doc);
            }
        });
        Ok(AwarenessFeed::new(rx))
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.blocking(|db| db.begin_read().map(|_| ()).map_err(backend))
            .await
    }

    async fn claim(
        &self,
        doc: &str,
        key: &str,
        ttl: std::time::Duration,
    ) -> Result<bool, StoreError> {
        let now = std::time::Instant::now();
        let mut claims = self
            .inner
            .claims
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // Lapsed claims go first: the map holds only claims that still count.
        claims.retain(|_, until| *until > now);
        match claims.entry((doc.to_owned(), key.to_owned())) {
            std::collections::hash_map::Entry::Occupied(_) => Ok(false),
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(now + ttl);
                Ok(true)
            }
        }
    }

    async fn release(&self, doc: &str, key: &str) -> Result<(), StoreError> {
        self.inner
            .claims
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&(doc.to_owned(), key.to_owned()));
        Ok(())
    }
}

/// Feeds a watch: first what the file holds after `after`, then live appends; if the live feed
/// skips ahead (lagged), reads the gap back from the file. Holds the store only weakly, so it
/// ends when the store is dropped.
async fn follow_log(
    store: Weak<Inner>,
    doc: String,
    after: u64,
    mut live: broadcast::Receiver<Arc<(u64, LogEntry)>>,
    tx: mpsc::Sender<WatchItem>,
) {
    let mut last = after;
    let mut behind = true;
    loop {
        if behind {
            let Some(db) = store.upgrade().map(|inner| inner.db.clone()) else {
                return;
            };
            let doc_name = doc.clone();
            let read = run_blocking(db, move |db| {
                read_entries(db, &doc_name, last, CATCH_UP_BATCH)
            })
            .await;
            match read {
                Ok(entries) if entries.is_empty() => behind = false,
                Ok(entries) => {
                    for (seq, entry) in entries {
                        last = seq;
                        if tx.send(Box::new(Ok((seq, entry)))).await.is_err() {
                            return;
                        }
                    }
                }
                Err(error) => {
                    if tx.send(Box::new(Err(error))).await.is_err() {
                        return;
                    }
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
            continue;
        }
        let message = tokio::select! {
            message = live.recv() => message,
            () = tx.closed() => break,
        };
        match message {
            Ok(appended) => {
                let (seq, entry) = &*appended;
                if *seq <= last {
                    continue;
                }
                if *seq != last + 1 {
                    behind = true;
                    continue;
                }
                last = *seq;
                if tx.send(Box::new(Ok((*seq, entry.clone())))).await.is_err() {
                    break;
                }
            }
            Err(broadcast::error::RecvError::Lagged(_)) => behind = true,
            Err(broadcast::error::RecvError::Closed) => return,
        }
    }
    drop(live);
    if let Some(inner) = store.upgrade() {
        inner.hubs.prune(&doc);
    }
}
