//! One reader per node for every document log it follows.
//!
//! A node follows the log of each document it has loaded, to apply what other nodes append. One
//! blocking connection per document would cost a connection and a task per loaded document (a
//! thousand drafts, a thousand connections to Redis). Instead one task owns one connection and
//! asks with one `XREAD BLOCK` over every followed stream, each from the position its follower
//! has reached, and hands each entry to the followers of its stream.
//!
//! Followers come and go while that read blocks: a new one is sent to the task, which unblocks
//! its own read (`CLIENT UNBLOCK` on the shared connection) and asks again with the new stream
//! included, so a newly loaded document waits no longer than a round trip.
//!
//! Each follower advances only as far as it has taken: a follower whose channel is full is left
//! out of the next read until it has room, and is then read again from where it stopped. A slow
//! room never holds up the others, and nothing is skipped or repeated. Reads are by position, so
//! an answer dropped on the floor (an unblocked read, a lost connection) costs nothing.

use std::collections::BTreeMap;
use std::time::Duration;

use redis::aio::{ConnectionManager, MultiplexedConnection};
use redis::streams::{StreamReadOptions, StreamReadReply};
use redis::{AsyncCommands, AsyncConnectionConfig, Client};
use tokio::sync::mpsc;

use super::{CONNECT_TIMEOUT, OP_TIMEOUT, fields, from_redis, keys, with_timeout};
use crate::{LogEntry, StoreError};

/// How long one XREAD waits for new entries before asking again.
const BLOCK_MS: usize = 2_000;
/// How many entries one XREAD returns at most, per stream.
const READ_BATCH: usize = 512;
/// Waits between reconnection attempts grow from the first to the second.
const BACKOFF_MIN: Duration = Duration::from_millis(50);
const BACKOFF_MAX: Duration = Duration::from_secs(1);
/// How long to wait before asking again when every follower's channel is full.
const ALL_FULL_PAUSE: Duration = Duration::from_millis(10);

type WatchItem = Result<(u64, LogEntry), StoreError>;

/// Where followers are registered; the task behind it ends when the store is dropped.
#[derive(Clone)]
pub(super) struct Watches {
    add: mpsc::UnboundedSender<Follower>,
}

struct Follower {
    doc: String,
    /// The document's stream key, made once.
    key: String,
    /// The last sequence number this follower has taken.
    last: u64,
    tx: mpsc::Sender<WatchItem>,
    outage_reported: bool,
    /// Stopped at an entry it cannot read past (its room sees the error and reloads).
    done: bool,
}

impl Watches {
    pub(super) fn start(client: Client, control: ConnectionManager) -> Watches {
        let (add, added) = mpsc::unbounded_channel();
        tokio::spawn(run(client, control, added));
        Watches { add }
    }

    /// Feeds `tx` with every entry of `doc`'s log after `after`, until `tx`'s receiver is
    /// dropped. False if the reader task is gone (the runtime is shutting down).
    pub(super) fn follow(&self, doc: &str, after: u64, tx: mpsc::Sender<WatchItem>) -> bool {
        self.add
            .send(Follower {
                doc: doc.to_owned(),
                key: keys::log(doc),
                last: after,
                tx,
                outage_reported: false,
                done: false,
            })
            .is_ok()
    }
}

/// The reader's connection and its Redis client id (for `CLIENT UNBLOCK`).
struct Reader {
    conn: MultiplexedConnection,
    id: i64,
}

async fn connect(client: &Client) -> Result<Reader, StoreError> {
    // Its response timeout must outlast the BLOCK.
    let config = AsyncConnectionConfig::new()
        .set_connection_timeout(Some(CONNECT_TIMEOUT))
        .set_response_timeout(Some(Duration::from_millis(BLOCK_MS as u64) + OP_TIMEOUT));
    let mut conn: MultiplexedConnection =
        with_timeout(client.get_multiplexed_async_connection_with_config(&config)).await?;
    let id: i64 = with_timeout(redis::cmd("CLIENT").arg("ID").query_async(&mut conn)).await?;
    Ok(Reader { conn, id })
}

async fn run(
    client: Client,
    mut control: ConnectionManager,
    mut added: mpsc::UnboundedReceiver<Follower>,
) {
    let options = StreamReadOptions::default()
        .block(BLOCK_MS)
        .count(READ_BATCH);
    let mut followers: Vec<Follower> = Vec::new();
    let mut reader: Option<Reader> = None;
    let mut backoff = BACKOFF_MIN;
    loop {
        while let Ok(f) = added.try_recv() {
            followers.push(f);
        }
        followers.retain(|f| !f.done && !f.tx.is_closed());
        if followers.is_empty() {
            match added.recv().await {
                Some(f) => followers.push(f),
                None => return,
            }
            continue;
        }
        let Some(current) = reader.as_mut() else {
            match connect(&client).await {
                Ok(fresh) => {
                    reader = Some(fresh);
                    backoff = BACKOFF_MIN;
                }
                Err(error) => {
                    report_outage(&mut followers, &error);
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(BACKOFF_MAX);
                }
            }
            continue;
        };
        // Each stream from the earliest position a follower with room has reached.
        let mut from: BTreeMap<&str, u64> = BTreeMap::new();
        for f in followers.iter().filter(|f| f.tx.capacity() > 0) {
            from.entry(f.key.as_str())
                .and_modify(|last| *last = (*last).min(f.last))
                .or_insert(f.last);
        }
        if from.is_empty() {
            tokio::time::sleep(ALL_FULL_PAUSE).await;
            continue;
        }
        let stream_keys: Vec<&str> = from.keys().copied().collect();
        let ids: Vec<String> = from.values().map(|last| fields::stream_id(*last)).collect();
        let read = tokio::select! {
            read = current.conn.xread_options::<_, _, Option<StreamReadReply>>(&stream_keys, &ids, &options) => Some(read),
            f = added.recv() => {
                let Some(f) = f else { return };
                followers.push(f);
                // Cut the blocked read short; its answer, if any, is read again by position.
                let _: Result<i64, _> = with_timeout(
                    redis::cmd("CLIENT").arg("UNBLOCK").arg(current.id).query_async(&mut control),
                )
                .await;
                None
            }
        };
        match read {
            None => {}
            Some(Ok(reply)) => {
                for f in &mut followers {
                    f.outage_reported = false;
                }
                deliver(reply, &mut followers);
            }
            Some(Err(error)) => {
                reader = None;
                report_outage(&mut followers, &from_redis(error));
            }
        }
    }
}

/// Hands each entry to the followers of its stream that have not taken it yet, in order; a
/// follower that cannot take one takes nothing more from this answer.
fn deliver(reply: Option<StreamReadReply>, followers: &mut [Follower]) {
    for stream in reply.into_iter().flat_map(|r| r.keys) {
        let Some(doc) = followers
            .iter()
            .find(|f| f.key == stream.key)
            .map(|f| f.doc.clone())
        else {
            continue;
        };
        let mut blocked = vec![false; followers.len()];
        for stream_entry in stream.ids {
            let seq = fields::seq_of(&doc, &stream_entry.id);
            let entry = seq.as_ref().map_err(Clone::clone).and_then(|seq| {
                fields::decode_entry(&doc, *seq, &stream_entry.map).map(|entry| (*seq, entry))
            });
            for (i, f) in followers.iter_mut().enumerate() {
                if blocked[i] || f.done || f.key != stream.key {
                    continue;
                }
                match &entry {
                    Ok((seq, _)) if *seq <= f.last => {}
                    Ok((seq, e)) => match f.tx.try_send(Ok((*seq, e.clone()))) {
                        Ok(()) => f.last = *seq,
                        Err(_) => blocked[i] = true,
                    },
                    Err(error) => {
                        // An entry that cannot be read cannot be moved past: the follower stops
                        // here (its room sees the error and reloads from the log).
                        let _ = f.tx.try_send(Err(error.clone()));
                        blocked[i] = true;
                        f.done = true;
                    }
                }
            }
        }
    }
}

/// Tells each follower about an outage, once per outage.
fn report_outage(followers: &mut [Follower], error: &StoreError) {
    if !error.is_unavailable() {
        return;
    }
    for f in followers.iter_mut().filter(|f| !f.outage_reported) {
        f.outage_reported = f.tx.try_send(Err(error.clone())).is_ok();
    }
}
