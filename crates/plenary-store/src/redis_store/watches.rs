//! One reader per node for every document log it follows.
//!
//! A node follows the log of each document it has loaded, to apply what other nodes append.
//! Every append publishes a notice, `plenary:{<doc>}:appended` with the new sequence number,
//! from inside the append script (so no entry lands without its notice). The node listens to the
//! notices of the documents it follows on its one pub/sub connection (`bus.rs`); a notice beyond
//! what a follower has taken starts a read of that stream (`XRANGE`, which does not block, on
//! the shared multiplexed connection) from the follower's position. Reads of different
//! documents run concurrently; one document has at most one read in flight.
//!
//! Why not one blocking `XREAD` over every followed stream: in a Redis Cluster a command may
//! only touch keys of one hash slot, and every document has a slot of its own, so that would be
//! one blocking connection per document. Notices cost one small message per append and work the
//! same on one Redis and on a cluster.
//!
//! Pub/sub keeps nothing, so notices can be lost: the bus says so when its connection drops or
//! returns, and every followed log is then read again; a slow sweep reads them all anyway (a
//! notice lost in a failover). Reads are by position, so a read too many costs a round trip and
//! nothing else.
//!
//! Each follower advances only as far as it has taken: a follower whose channel is full takes
//! nothing more from that read, and its log is read again from where it stopped once it has
//! room. A slow room never holds up the others, and nothing is skipped or repeated.
//!
//! The task keeps the documents that are due for a read and those with a full follower in sets
//! of their own, so a notice or a finished read costs work for its document only, however many
//! documents the node follows; only the sweep walks them all.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use redis::AsyncCommands;
use redis::streams::{StreamId, StreamRangeReply};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::bus::{Bus, Notice};
use super::target::Conn;
use super::{fields, keys, with_timeout};
use crate::StoreError;
use crate::store::WatchItem;

/// How many entries one read returns at most.
const READ_BATCH: usize = 512;
/// Every followed log is read at least this often, notices or not.
const SWEEP: Duration = Duration::from_secs(2);
/// Waits between failed reads grow from the first to the second.
const BACKOFF_MIN: Duration = Duration::from_millis(50);
const BACKOFF_MAX: Duration = Duration::from_secs(1);
/// How often a follower whose channel was full is looked at again.
const FULL_PAUSE: Duration = Duration::from_millis(10);

/// Where followers are registered; the task behind it ends when the store is dropped.
#[derive(Clone)]
pub(super) struct Watches {
    add: mpsc::UnboundedSender<(String, Follower)>,
}

struct Follower {
    /// The last sequence number this follower has taken.
    last: u64,
    tx: mpsc::Sender<WatchItem>,
    outage_reported: bool,
    /// Its channel was full at the last read.
    blocked: bool,
    /// Stopped at an entry it cannot read past (its room sees the error and reloads).
    done: bool,
}

impl Follower {
    fn gone(&self) -> bool {
        self.done || self.tx.is_closed()
    }
}

/// One followed log.
struct Followed {
    /// The stream key and the notice channel, made once.
    key: String,
    channel: String,
    followers: Vec<Follower>,
    reading: bool,
}

impl Followed {
    /// Where the next read starts: the earliest position a follower with room has reached.
    fn read_from(&self) -> Option<u64> {
        self.followers
            .iter()
            .filter(|f| !f.gone() && f.tx.capacity() > 0)
            .map(|f| f.last)
            .min()
    }
}

/// What a finished job reports.
enum Done {
    Read {
        doc: String,
        result: Result<Vec<StreamId>, StoreError>,
    },
    /// The notices of `doc`'s log are listened to (or will be, once the bus is back).
    Listened {
        doc: String,
    },
    Settled,
}

type Job = Pin<Box<dyn Future<Output = Done> + Send>>;

impl Watches {
    pub(super) fn start(conn: Conn, bus: Bus, notices: mpsc::Receiver<Notice>) -> Watches {
        let (add, added) = mpsc::unbounded_channel();
        tokio::spawn(run(conn, bus, added, notices));
        Watches { add }
    }

    /// Feeds `tx` with every entry of `doc`'s log after `after`, until `tx`'s receiver is
    /// dropped. False if the reader task is gone (the runtime is shutting down).
    pub(super) fn follow(&self, doc: &str, after: u64, tx: mpsc::Sender<WatchItem>) -> bool {
        let follower = Follower {
            last: after,
            tx,
            outage_reported: false,
            blocked: false,
            done: false,
        };
        self.add.send((doc.to_owned(), follower)).is_ok()
    }
}

async fn run(
    conn: Conn,
    bus: Bus,
    mut added: mpsc::UnboundedReceiver<(String, Follower)>,
    mut notices: mpsc::Receiver<Notice>,
) {
    let mut docs: HashMap<String, Followed> = HashMap::new();
    // Documents to read (a notice, a new follower, a sweep), and documents with a follower
    // whose channel was full.
    let mut due: HashSet<String> = HashSet::new();
    let mut blocked: HashSet<String> = HashSet::new();
    let mut jobs: FuturesUnordered<Job> = FuturesUnordered::new();
    let mut next_sweep = Instant::now() + SWEEP;
    let mut retry_at: Option<Instant> = None;
    let mut backoff = BACKOFF_MIN;
    loop {
        let now = Instant::now();
        if retry_at.is_none_or(|at| at <= now) {
            retry_at = None;
            let mut still_due = Vec::new();
            for doc in due.drain() {
                let Some(followed) = docs.get_mut(&doc) else {
                    continue;
                };
                followed.followers.retain(|f| !f.gone());
                if followed.reading {
                    // Read again once the read in flight is back.
                    still_due.push(doc);
                } else if followed.followers.is_empty() {
                    // Nobody follows this log any more: stop listening to it.
                    bus.unwant_log(&followed.channel);
                    let (bus, channel) = (bus.clone(), followed.channel.clone());
                    jobs.push(Box::pin(async move {
                        let _ = bus.settle(&channel).await;
                        Done::Settled
                    }));
                    docs.remove(&doc);
                } else if let Some(from) = followed.read_from() {
                    followed.reading = true;
                    jobs.push(read(conn.clone(), doc, followed.key.clone(), from));
                } else {
                    // Every follower is full: read once one has room.
                    for f in &mut followed.followers {
                        f.blocked = true;
                    }
                    blocked.insert(doc);
                }
            }
            due.extend(still_due);
        }
        let mut wake = next_sweep;
        if let Some(at) = retry_at {
            wake = wake.min(at);
        }
        if !blocked.is_empty() {
            wake = wake.min(now + FULL_PAUSE);
        }
        tokio::select! {
            follower = added.recv() => {
                let Some((doc, follower)) = follower else {
                    // The store is gone: stop listening, and stop.
                    for followed in docs.values() {
                        bus.unwant_log(&followed.channel);
                        let _ = bus.settle(&followed.channel).await;
                    }
                    return;
                };
                let followed = docs.entry(doc.clone()).or_insert_with(|| {
                    let channel = keys::appended(&doc);
                    bus.want_log(&channel, &doc);
                    let bus = bus.clone();
                    let (listening, listener) = (channel.clone(), doc.clone());
                    jobs.push(Box::pin(async move {
                        // Subscribed, the log is read again: nothing appended in between is
                        // missed. If this fails, the bus subscribes once it is back.
                        let _ = bus.settle(&listening).await;
                        Done::Listened { doc: listener }
                    }));
                    Followed {
                        key: keys::log(&doc),
                        channel,
                        followers: Vec::new(),
                        reading: false,
                    }
                });
                followed.followers.push(follower);
                due.insert(doc);
            }
            notice = notices.recv() => match notice {
                Some(Notice::Appended { doc, seq }) => {
                    if docs
                        .get(&doc)
                        .is_some_and(|d| d.followers.iter().any(|f| !f.gone() && f.last < seq))
                    {
                        due.insert(doc);
                    }
                }
                Some(Notice::Missed) => due.extend(docs.keys().cloned()),
                None => return,
            },
            Some(done) = jobs.next(), if !jobs.is_empty() => match done {
                Done::Read { doc, result } => {
                    let Some(followed) = docs.get_mut(&doc) else { continue };
                    followed.reading = false;
                    match result {
                        Ok(entries) => {
                            backoff = BACKOFF_MIN;
                            let full_batch = entries.len() >= READ_BATCH;
                            if deliver(&doc, entries, &mut followed.followers) {
                                blocked.insert(doc.clone());
                            }
                            if full_batch {
                                due.insert(doc);
                            }
                        }
                        Err(error) => {
                            report_outage(&mut followed.followers, &error);
                            due.insert(doc);
                            retry_at = Some(Instant::now() + backoff);
                            backoff = (backoff * 2).min(BACKOFF_MAX);
                        }
                    }
                }
                Done::Listened { doc } => {
                    if docs.contains_key(&doc) {
                        due.insert(doc);
                    }
                }
                Done::Settled => {}
            },
            () = tokio::time::sleep_until(wake) => {
                let now = Instant::now();
                if now >= next_sweep {
                    next_sweep = now + SWEEP;
                    due.extend(docs.keys().cloned());
                }
                blocked.retain(|doc| {
                    let Some(followed) = docs.get_mut(doc) else { return false };
                    let mut still = false;
                    for f in &mut followed.followers {
                        if f.blocked && f.tx.capacity() > 0 {
                            f.blocked = false;
                            due.insert(doc.clone());
                        }
                        still |= f.blocked && !f.gone();
                    }
                    still
                });
            }
        }
        if bus.take_missed() {
            due.extend(docs.keys().cloned());
        }
    }
}

/// Reads `doc`'s stream after `from`.
fn read(mut conn: Conn, doc: String, key: String, from: u64) -> Job {
    Box::pin(async move {
        let start = format!("({}", fields::stream_id(from));
        let reply: Result<StreamRangeReply, StoreError> =
            with_timeout(conn.xrange_count(key, start, "+", READ_BATCH)).await;
        let result = reply.map(|reply| reply.ids);
        Done::Read { doc, result }
    })
}

/// Hands each entry to the followers that have not taken it yet, in order; a follower that
/// cannot take one takes nothing more from this read. True if one could not.
fn deliver(doc: &str, entries: Vec<StreamId>, followers: &mut [Follower]) -> bool {
    for f in followers.iter_mut() {
        f.outage_reported = false;
    }
    let mut stopped = vec![false; followers.len()];
    for stream_entry in entries {
        let seq = fields::seq_of(doc, &stream_entry.id);
        let entry = seq.as_ref().map_err(Clone::clone).and_then(|seq| {
            fields::decode_entry(doc, *seq, &stream_entry.map).map(|entry| (*seq, entry))
        });
        for (i, f) in followers.iter_mut().enumerate() {
            if stopped[i] || f.done {
                continue;
            }
            match &entry {
                Ok((seq, _)) if *seq <= f.last => {}
                Ok((seq, e)) => match f.tx.try_send(Box::new(Ok((*seq, e.clone())))) {
                    Ok(()) => f.last = *seq,
                    Err(_) => {
                        stopped[i] = true;
                        f.blocked = true;
                    }
                },
                Err(error) => {
                    // An entry that cannot be read cannot be moved past: the follower stops
                    // here (its room sees the error and reloads from the log).
                    let _ = f.tx.try_send(Box::new(Err(error.clone())));
                    stopped[i] = true;
                    f.done = true;
                }
            }
        }
    }
    followers.iter().any(|f| f.blocked && !f.done)
}

/// Tells each follower about an outage, once per outage.
fn report_outage(followers: &mut [Follower], error: &StoreError) {
    if !error.is_unavailable() {
        return;
    }
    for f in followers.iter_mut().filter(|f| !f.outage_reported) {
        f.outage_reported = f.tx.try_send(Box::new(Err(error.clone()))).is_ok();
    }
}
