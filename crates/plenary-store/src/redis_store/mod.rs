//! [`RedisStore`]: the production store, and the bus between server nodes.
//!
//! Layout per document `d` (all under the hash tag `{d}`): `plenary:{d}:log` is a stream with one
//! entry per update, its ID `<seq>-0`; `plenary:{d}:seq` the last sequence number;
//! `plenary:{d}:snap:<seq>` the snapshots, indexed by the sorted set `plenary:{d}:snaps`;
//! `plenary:{d}:ckpt:<kind>:<seq>` the checkpoints, indexed per kind by `plenary:{d}:ckpts:<kind>`;
//! `plenary:{d}:versions` a hash name → version. `plenary:docs` is the set of documents.
//! Presence travels on the pub/sub channel `plenary:{d}:awareness`, and each append is announced
//! on `plenary:{d}:appended` (its sequence number) to the nodes following that log.
//!
//! The same commands run on one Redis or on a Redis Cluster (`target.rs`): a document's keys
//! share one hash slot, so each script touches one slot.

mod bus;
mod fields;
mod keys;
mod target;
mod watches;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use redis::streams::StreamRangeReply;
use redis::{AsyncCommands, RedisError, Script};

use crate::entry::sort_versions;
use crate::error::{check_doc, check_kind};
use crate::store::{AWARENESS_BUFFER, WATCH_BUFFER};
use crate::{AwarenessFeed, Checkpoint, LogEntry, LogWatch, Snapshot, Store, StoreError, Version};

/// How long any one operation may take before it counts as the store being unavailable: callers
/// must learn quickly that Redis is gone rather than hang.
const OP_TIMEOUT: Duration = Duration::from_secs(5);
/// How long opening a TCP connection to Redis may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// Appends atomically: the next sequence number is the stored one plus one; the stream entry is
/// added with that number as its ID, and only then is the counter moved, so a failed XADD
/// consumes no number and the log stays dense. Then the append is announced on the channel
/// ARGV[1] (the followers' wake-up call, `watches.rs`); the entry's fields are ARGV[2..].
const APPEND_LUA: &str = r"
local seq = tonumber(redis.call('GET', KEYS[1]) or '0') + 1
redis.call('XADD', KEYS[2], string.format('%d-0', seq), unpack(ARGV, 2))
redis.call('SET', KEYS[1], string.format('%d', seq))
redis.call('PUBLISH', ARGV[1], string.format('%d', seq))
return seq
";

/// Stores a value at a log position (a snapshot, a checkpoint) and indexes the position, unless
/// it is beyond the log. Returns {stored (1/0), last seq}.
const POSITIONED_LUA: &str = r"
local last = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) > last then return {0, last} end
redis.call('SET', KEYS[3], ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[1], ARGV[1])
return {1, last}
";

/// Names a version unless the name is taken (0) or the position is beyond the log (-1).
/// Returns {outcome, last seq}.
const VERSION_LUA: &str = r"
local last = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[2]) > last then return {-1, last} end
if redis.call('HSETNX', KEYS[2], ARGV[1], ARGV[3]) == 0 then return {0, last} end
return {1, last}
";

/// A [`Store`] on Redis or a Redis Cluster. Cheap to clone; clones share one auto-reconnecting
/// multiplexed command connection (on a cluster, one per master), one reader that follows every
/// watched log on it (`watches.rs`) and one pub/sub connection for every document's presence and
/// log notices (`bus.rs`): a node holds two connections to one Redis (one per master, plus one,
/// to a cluster) however many documents it has loaded.
#[derive(Clone)]
pub struct RedisStore {
    conn: target::Conn,
    scripts: Arc<Scripts>,
    /// Documents this process already added to `plenary:docs`, to spare a round trip per append.
    registered: Arc<Mutex<HashSet<String>>>,
    /// The one reader that follows every watched log (`watches.rs`).
    watches: watches::Watches,
    /// The one pub/sub connection, for presence and log notices (`bus.rs`).
    bus: bus::Bus,
    /// Replicas that must hold an append before it is acknowledged (`?replicas=N`).
    replicas: u32,
}

struct Scripts {
    append: Script,
    positioned: Script,
    version: Script,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore").finish_non_exhaustive()
    }
}

impl RedisStore {
    /// Stores `data` under `item` and `seq` in the sorted index `index`, unless `seq` is beyond
    /// `doc`'s log: what snapshots and checkpoints share.
    async fn put_positioned(
        &self,
        doc: &str,
        index: String,
        item: String,
        seq: u64,
        data: &[u8],
    ) -> Result<(), StoreError> {
        let mut conn = self.conn.clone();
        let (stored, last): (i64, u64) = with_timeout(
            self.scripts
                .positioned
                .key(keys::seq(doc))
                .key(index)
                .key(item)
                .arg(seq)
                .arg(data)
                .invoke_async(&mut conn),
        )
        .await?;
        if stored == 1 {
            Ok(())
        } else {
            Err(StoreError::BeyondLog {
                doc: doc.to_owned(),
                seq,
                last,
            })
        }
    }

    /// Connects to `url`: one Redis (`redis://host:port/db`) or a Redis Cluster by its seed
    /// nodes (`redis+cluster://host:port,host:port`, or several `redis://` URLs joined by
    /// commas). Fails with [`StoreError::Unavailable`] if Redis does not answer,
    /// [`StoreError::InvalidInput`] if the URL is not a Redis URL. Once connected, a lost
    /// connection is re-established on the next operation.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let target = target::Target::parse(url)?;
        let conn = target.connect().await?;
        let (notices, heard) = tokio::sync::mpsc::channel(bus::NOTICE_BUFFER);
        let bus = bus::Bus::new(target.nodes.clone(), notices);
        Ok(RedisStore {
            scripts: Arc::new(Scripts {
                append: Script::new(APPEND_LUA),
                positioned: Script::new(POSITIONED_LUA),
                version: Script::new(VERSION_LUA),
            }),
            registered: Arc::new(Mutex::new(HashSet::new())),
            watches: watches::Watches::start(conn.clone(), bus.clone(), heard),
            bus,
            replicas: target.replicas,
            conn,
        })
    }

    /// Adds `doc` to `plenary:docs` (once per process). It cannot share a slot with the
    /// document's keys, so it is a separate command, sent before the first write: a document
    /// may be listed a moment before its first entry lands, never the other way round.
    async fn register(&self, doc: &str) -> Result<(), StoreError> {
        if self.is_registered(doc) {
            return Ok(());
        }
        let mut conn = self.conn.clone();
        with_timeout(conn.sadd::<_, _, ()>(keys::DOCS, doc)).await?;
        if let Ok(mut registered) = self.registered.lock() {
            registered.insert(doc.to_owned());
        }
        Ok(())
    }

    fn is_registered(&self, doc: &str) -> bool {
        self.registered
            .lock()
            .map(|registered| registered.contains(doc))
            .unwrap_or(false)
    }

    async fn get_snapshot(&self, doc: &str, seq: u64) -> Result<Snapshot, StoreError> {
        let mut conn = self.conn.clone();
        let state: Option<Vec<u8>> = with_timeout(conn.get(keys::snapshot(doc, seq))).await?;
        let state = state.ok_or_else(|| {
            StoreError::corrupt(doc, format!("indexed snapshot {seq} is missing"))
        })?;
        Ok(Snapshot { seq, state })
    }

    /// The newest indexed snapshot position `<= max`.
    async fn snapshot_seq_at_or_before(
        &self,
        doc: &str,
        max: u64,
    ) -> Result<Option<u64>, StoreError> {
        let mut conn = self.conn.clone();
        let seqs: Vec<u64> =
            with_timeout(conn.zrevrangebyscore_limit(keys::snapshot_index(doc), max, "-inf", 0, 1))
                .await?;
        Ok(seqs.first().copied())
    }
}

#[async_trait]
impl Store for RedisStore {
    async fn append(&self, doc: &str, entry: &LogEntry) -> Result<u64, StoreError> {
        check_doc(doc)?;
        self.register(doc).await?;
        let (seq_key, log_key) = (keys::seq(doc), keys::log(doc));
        let owned = AppendArgs::new(doc, entry);
        let args = owned.list();
        let mut conn = self.conn.clone();
        if self.replicas == 0 {
            let mut invocation = self.scripts.append.key(&seq_key);
            invocation.key(&log_key).arg(&args);
            return with_timeout(invocation.invoke_async(&mut conn)).await;
        }
        // The append and its WAIT go together to the document's master, on one connection (as
        // EVAL: a pipeline cannot load a script the server lacks and ask again, as EVALSHA does).
        let mut pipeline = redis::pipe();
        pipeline
            .cmd("EVAL")
            .arg(APPEND_LUA)
            .arg(2)
            .arg(&seq_key)
            .arg(&log_key)
            .arg(&args)
            .cmd("WAIT")
            .arg(self.replicas)
            .arg(target::REPLICA_WAIT_MS);
        let (seq, acked): (u64, u32) = with_timeout(conn.on_master_of(&seq_key, pipeline)).await?;
        if acked < self.replicas {
            return Err(StoreError::unavailable(format!(
                "{acked} of {} replicas hold the append",
                self.replicas
            )));
        }
        Ok(seq)
    }

    async fn read_log(
        &self,
        doc: &str,
        after: u64,
        limit: usize,
    ) -> Result<Vec<(u64, LogEntry)>, StoreError> {
        if limit == 0 || after == u64::MAX {
            return Ok(Vec::new());
        }
        let mut conn = self.conn.clone();
        let start = format!("({}", fields::stream_id(after));
        let reply: StreamRangeReply =
            with_timeout(conn.xrange_count(keys::log(doc), start, "+", limit)).await?;
        reply
            .ids
            .iter()
            .map(|id| {
                let seq = fields::seq_of(doc, &id.id)?;
                Ok((seq, fields::decode_entry(doc, seq, &id.map)?))
            })
            .collect()
    }

    async fn last_seq(&self, doc: &str) -> Result<u64, StoreError> {
        let mut conn = self.conn.clone();
        let seq: Option<u64> = with_timeout(conn.get(keys::seq(doc))).await?;
        Ok(seq.unwrap_or(0))
    }

    async fn put_snapshot(&self, doc: &str, snapshot: &Snapshot) -> Result<(), StoreError> {
        check_doc(doc)?;
        self.register(doc).await?;
        self.put_positioned(
            doc,
            keys::snapshot_index(doc),
            keys::snapshot(doc, snapshot.seq),
            snapshot.seq,
            &snapshot.state,
        )
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
        match self.snapshot_seq_at_or_before(doc, seq).await? {
            Some(found) => Ok(Some(self.get_snapshot(doc, found).await?)),
            None => Ok(None),
        }
    }

    async fn snapshot_seqs(&self, doc: &str) -> Result<Vec<u64>, StoreError> {
        let mut conn = self.conn.clone();
        with_timeout(conn.zrangebyscore(keys::snapshot_index(doc), "-inf", "+inf")).await
    }

    async fn put_checkpoint(
        &self,
        doc: &str,
        kind: &str,
        checkpoint: &Checkpoint,
    ) -> Result<(), StoreError> {
        check_doc(doc)?;
        check_kind(kind)?;
        self.put_positioned(
            doc,
            keys::checkpoint_index(doc, kind),
            keys::checkpoint(doc, kind, checkpoint.seq),
            checkpoint.seq,
            &checkpoint.data,
        )
        .await
    }

    async fn checkpoint_at_or_before(
        &self,
        doc: &str,
        kind: &str,
        seq: u64,
    ) -> Result<Option<Checkpoint>, StoreError> {
        check_kind(kind)?;
        let mut conn = self.conn.clone();
        let seqs: Vec<u64> = with_timeout(conn.zrevrangebyscore_limit(
            keys::checkpoint_index(doc, kind),
            seq,
            "-inf",
            0,
            1,
        ))
        .await?;
        let Some(found) = seqs.first().copied() else {
            return Ok(None);
        };
        let data: Option<Vec<u8>> =
            with_timeout(conn.get(keys::checkpoint(doc, kind, found))).await?;
        let data = data.ok_or_else(|| {
            StoreError::corrupt(doc, format!("indexed {kind} checkpoint {found} is missing"))
        })?;
        Ok(Some(Checkpoint { seq: found, data }))
    }

    async fn list_docs(&self) -> Result<Vec<String>, StoreError> {
        let mut conn = self.conn.clone();
        let mut docs: Vec<String> = with_timeout(conn.smembers(keys::DOCS)).await?;
        docs.sort();
        Ok(docs)
    }

    async fn doc_exists(&self, doc: &str) -> Result<bool, StoreError> {
        let mut conn = self.conn.clone();
        with_timeout(conn.sismember(keys::DOCS, doc)).await
    }

    async fn name_version(&self, doc: &str, version: &Version) -> Result<(), StoreError> {
        check_doc(doc)?;
        self.register(doc).await?;
        let encoded = serde_json::to_string(version)
            .map_err(|_| StoreError::InvalidInput("version cannot be encoded".to_owned()))?;
        let mut conn = self.conn.clone();
        let (outcome, last): (i64, u64) = with_timeout(
            self.scripts
                .version
                .key(keys::seq(doc))
                .key(keys::versions(doc))
                .arg(&version.name)
                .arg(version.seq)
                .arg(encoded)
                .invoke_async(&mut conn),
        )
        .await?;
        match outcome {
            1 => Ok(()),
            0 => Err(StoreError::DuplicateVersion {
                doc: doc.to_owned(),
                name: version.name.clone(),
            }),
            _ => Err(StoreError::BeyondLog {
                doc: doc.to_owned(),
                seq: version.seq,
                last,
            }),
        }
    }

    async fn versions(&self, doc: &str) -> Result<Vec<Version>, StoreError> {
        let mut conn = self.conn.clone();
        let raw: Vec<(String, String)> = with_timeout(conn.hgetall(keys::versions(doc))).await?;
        let mut versions = raw
            .iter()
            .map(|(name, encoded)| {
                serde_json::from_str::<Version>(encoded).map_err(|_| {
                    StoreError::corrupt(doc, format!("version {name:?} is unreadable"))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        sort_versions(&mut versions);
        Ok(versions)
    }

    async fn watch(&self, doc: &str, after: u64) -> Result<LogWatch, StoreError> {
        check_doc(doc)?;
        let (tx, rx) = tokio::sync::mpsc::channel(WATCH_BUFFER);
        if !self.watches.follow(doc, after, tx) {
            return Err(StoreError::unavailable("the log reader has stopped"));
        }
        Ok(LogWatch::new(rx))
    }

    async fn publish_awareness(
        &self,
        doc: &str,
        node: &str,
        bytes: &[u8],
    ) -> Result<(), StoreError> {
        let payload = fields::frame_awareness(node, bytes)?;
        let mut conn = self.conn.clone();
        with_timeout(conn.publish::<_, _, ()>(keys::awareness(doc), payload)).await
    }

    async fn subscribe_awareness(&self, doc: &str) -> Result<AwarenessFeed, StoreError> {
        check_doc(doc)?;
        let (tx, rx) = tokio::sync::mpsc::channel(AWARENESS_BUFFER);
        self.bus
            .subscribe_awareness(&keys::awareness(doc), tx)
            .await?;
        Ok(AwarenessFeed::new(rx))
    }

    async fn ping(&self) -> Result<(), StoreError> {
        let mut conn = self.conn.clone();
        let _: String = with_timeout(redis::cmd("PING").query_async(&mut conn)).await?;
        Ok(())
    }

    async fn claim(
        &self,
        doc: &str,
        key: &str,
        ttl: std::time::Duration,
    ) -> Result<bool, StoreError> {
        check_doc(doc)?;
        let mut conn = self.conn.clone();
        let ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        let set: Option<String> = with_timeout(
            redis::cmd("SET")
                .arg(keys::claim(doc, key))
                .arg(1)
                .arg("NX")
                .arg("PX")
                .arg(ms)
                .query_async(&mut conn),
        )
        .await?;
        Ok(set.is_some())
    }

    async fn release(&self, doc: &str, key: &str) -> Result<(), StoreError> {
        check_doc(doc)?;
        let mut conn = self.conn.clone();
        let _: i64 = with_timeout(
            redis::cmd("DEL")
                .arg(keys::claim(doc, key))
                .query_async(&mut conn),
        )
        .await?;
        Ok(())
    }
}

/// The append script's arguments: the notice channel, then the entry's fields, borrowed from the
/// entry where they can be (an update is not copied to be sent).
struct AppendArgs<'a> {
    entry: &'a LogEntry,
    channel: String,
    at_ms: String,
    paragraphs: String,
}

impl<'a> AppendArgs<'a> {
    fn new(doc: &str, entry: &'a LogEntry) -> Self {
        AppendArgs {
            entry,
            channel: keys::appended(doc),
            at_ms: entry.at_ms.to_string(),
            paragraphs: fields::paragraphs_json(entry),
        }
    }

    fn list(&self) -> Vec<&[u8]> {
        let e = self.entry;
        let mut args: Vec<&[u8]> = vec![
            self.channel.as_bytes(),
            fields::UPDATE.as_bytes(),
            &e.update,
            fields::USER.as_bytes(),
            e.user.as_bytes(),
            fields::AT_MS.as_bytes(),
            self.at_ms.as_bytes(),
            fields::PARAGRAPHS.as_bytes(),
            self.paragraphs.as_bytes(),
            fields::NODE.as_bytes(),
            e.node.as_bytes(),
        ];
        if let Some(delegation) = &e.delegation {
            args.extend([fields::DELEGATION.as_bytes(), delegation.as_bytes()]);
        }
        if let Some(name) = &e.name {
            args.extend([fields::NAME.as_bytes(), name.as_bytes()]);
        }
        args
    }
}

/// Runs a Redis call with the operation deadline, mapping failures to [`StoreError`].
async fn with_timeout<T>(
    call: impl Future<Output = Result<T, RedisError>>,
) -> Result<T, StoreError> {
    match tokio::time::timeout(OP_TIMEOUT, call).await {
        Ok(result) => result.map_err(from_redis),
        Err(_) => Err(StoreError::unavailable("Redis did not answer in time")),
    }
}

/// Connection trouble and a server that cannot serve right now (on a cluster: slots moving, no
/// master for a slot yet) are [`StoreError::Unavailable`]; anything else Redis refuses is a
/// [`StoreError::Backend`] failure.
fn from_redis(error: RedisError) -> StoreError {
    use redis::{ErrorKind, ServerErrorKind};
    let transient = matches!(
        error.kind(),
        ErrorKind::Io
            | ErrorKind::Server(
                ServerErrorKind::BusyLoading
                    | ServerErrorKind::TryAgain
                    | ServerErrorKind::ClusterDown
                    | ServerErrorKind::MasterDown
                    | ServerErrorKind::ReadOnly
            )
    );
    if transient
        || error.is_cluster_error()
        || error.kind() == ErrorKind::ClusterConnectionNotFound
        || error.is_timeout()
        || error.is_connection_dropped()
        || error.is_connection_refusal()
        || error.is_unrecoverable_error()
    {
        StoreError::unavailable(format!("Redis {}", error.category()))
    } else {
        match error.code() {
            Some(code) => StoreError::Backend(format!("Redis {}: {code}", error.category())),
            None => StoreError::Backend(format!("Redis {}", error.category())),
        }
    }
}
