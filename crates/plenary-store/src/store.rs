//! The store interface the server programs against, and the feeds it hands out.

use async_trait::async_trait;
use tokio::sync::mpsc;

use crate::{Checkpoint, LogEntry, Snapshot, StoreError, Version};

/// Persistence for Plenary documents: logs, snapshots, versions, and the bus between nodes.
///
/// Every method is safe to call concurrently from many tasks and (for Redis) many processes.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Appends `entry` to `doc`'s log and returns its sequence number once the entry is durable.
    /// Sequence numbers are dense per document: 1, 2, 3, … with no gaps or repeats, however
    /// many writers there are.
    async fn append(&self, doc: &str, entry: &LogEntry) -> Result<u64, StoreError>;

    /// Up to `limit` entries with `seq > after`, in order.
    async fn read_log(
        &self,
        doc: &str,
        after: u64,
        limit: usize,
    ) -> Result<Vec<(u64, LogEntry)>, StoreError>;

    /// The sequence number of the last entry, 0 for an empty or unknown document.
    async fn last_seq(&self, doc: &str) -> Result<u64, StoreError>;

    /// Stores a snapshot. Older snapshots are kept as checkpoints for history; storing the same
    /// `seq` again replaces it. A `seq` beyond the log's end is refused ([`StoreError::BeyondLog`]).
    async fn put_snapshot(&self, doc: &str, snapshot: &Snapshot) -> Result<(), StoreError>;

    /// The snapshot with the highest `seq`, if any.
    async fn latest_snapshot(&self, doc: &str) -> Result<Option<Snapshot>, StoreError>;

    /// The snapshot with the highest `seq <= seq`, if any: the starting point for rebuilding the
    /// document as it was at `seq`.
    async fn snapshot_at_or_before(
        &self,
        doc: &str,
        seq: u64,
    ) -> Result<Option<Snapshot>, StoreError>;

    /// The positions of all stored snapshots, ascending.
    async fn snapshot_seqs(&self, doc: &str) -> Result<Vec<u64>, StoreError>;

    /// Stores derived data of `kind` (letters, digits, `-`, `_`; at most 64) at a log position.
    /// Older checkpoints of the kind are kept; storing the same (`kind`, `seq`) again replaces it.
    /// A `seq` beyond the log's end is refused ([`StoreError::BeyondLog`]). A checkpoint alone
    /// does not make a document exist.
    async fn put_checkpoint(
        &self,
        doc: &str,
        kind: &str,
        checkpoint: &Checkpoint,
    ) -> Result<(), StoreError>;

    /// The checkpoint of `kind` with the highest `seq <= seq`, if any.
    async fn checkpoint_at_or_before(
        &self,
        doc: &str,
        kind: &str,
        seq: u64,
    ) -> Result<Option<Checkpoint>, StoreError>;

    /// Every document that has a log entry, snapshot or version, sorted.
    async fn list_docs(&self) -> Result<Vec<String>, StoreError>;

    /// Whether `doc` has a log entry, snapshot or version.
    async fn doc_exists(&self, doc: &str) -> Result<bool, StoreError>;

    /// Names a log position. Names are unique per document ([`StoreError::DuplicateVersion`]);
    /// a position beyond the log's end is refused ([`StoreError::BeyondLog`]).
    async fn name_version(&self, doc: &str, version: &Version) -> Result<(), StoreError>;

    /// The document's named versions, by `seq` (then time, then name).
    async fn versions(&self, doc: &str) -> Result<Vec<Version>, StoreError>;

    /// Follows `doc`'s log: yields every entry with `seq > after` appended by anyone (this node
    /// included: compare [`LogEntry::node`] to skip your own), in order, without gaps or
    /// duplicates, surviving reconnections. Dropping the watch stops it.
    async fn watch(&self, doc: &str, after: u64) -> Result<LogWatch, StoreError>;

    /// Sends ephemeral presence bytes to every node subscribed to `doc` (this one included).
    /// Not stored; lost if nobody listens.
    async fn publish_awareness(
        &self,
        doc: &str,
        node: &str,
        bytes: &[u8],
    ) -> Result<(), StoreError>;

    /// Receives what any node publishes for `doc` from now on, as `(node, bytes)`. Messages
    /// published while the store is unreachable are lost (presence is re-sent periodically).
    async fn subscribe_awareness(&self, doc: &str) -> Result<AwarenessFeed, StoreError>;

    /// Whether the store answers now (for readiness checks).
    async fn ping(&self) -> Result<(), StoreError>;

    /// Takes `key` of `doc` for `ttl`, once across every process sharing the store: `true` when
    /// this caller holds it now, `false` while another holder's claim lasts. For work a room
    /// alone cannot order because rooms of other nodes may do it at the same moment (two chairs
    /// on two nodes deciding one proposal). Keys are any string; a claim that is never released
    /// lapses after `ttl`, so a crashed holder blocks nothing for long.
    async fn claim(
        &self,
        doc: &str,
        key: &str,
        ttl: std::time::Duration,
    ) -> Result<bool, StoreError>;

    /// Gives a claim back before its `ttl` (the work it guarded did not happen).
    async fn release(&self, doc: &str, key: &str) -> Result<(), StoreError>;
}

/// How many watched entries may wait for a slow consumer before the watch stops reading.
pub(crate) const WATCH_BUFFER: usize = 1024;
/// How many awareness messages may wait for a slow consumer; beyond that they are dropped.
pub(crate) const AWARENESS_BUFFER: usize = 1024;

/// What a watch's channel carries: boxed, because a channel allocates its slots at the size of
/// its item from the start, and every loaded document has a watch whose queue is idle nearly
/// always (a slot of a pointer, not of a whole entry).
pub(crate) type WatchItem = Box<Result<(u64, LogEntry), StoreError>>;

/// A document's log as it grows. See [`Store::watch`].
#[derive(Debug)]
pub struct LogWatch {
    rx: mpsc::Receiver<WatchItem>,
}

impl LogWatch {
    pub(crate) fn new(rx: mpsc::Receiver<WatchItem>) -> Self {
        LogWatch { rx }
    }

    /// The next entry. `Some(Err(Unavailable))` reports an outage (once per outage): the watch
    /// keeps trying and resumes where it stopped, so the caller may keep calling `next`.
    /// `Some(Err(Corrupt))` reports an entry that could not be decoded and was skipped.
    /// `None` only if the store behind it is gone.
    pub async fn next(&mut self) -> Option<Result<(u64, LogEntry), StoreError>> {
        self.rx.recv().await.map(|item| *item)
    }
}

/// Presence messages for one document from all nodes. See [`Store::subscribe_awareness`].
#[derive(Debug)]
pub struct AwarenessFeed {
    rx: mpsc::Receiver<(String, Vec<u8>)>,
}

impl AwarenessFeed {
    pub(crate) fn new(rx: mpsc::Receiver<(String, Vec<u8>)>) -> Self {
        AwarenessFeed { rx }
    }

    /// The next `(node, bytes)` message; `None` once the store behind it is gone.
    pub async fn next(&mut self) -> Option<(String, Vec<u8>)> {
        self.rx.recv().await
    }
}
