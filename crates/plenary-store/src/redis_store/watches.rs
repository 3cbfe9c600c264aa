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

use std::collections::HashMap;
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
    /// Should be read (a notice, a new follower, a sweep).
    due: bool,
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
    let mut jobs: FuturesUnordered<Job> = FuturesUnordered::new();
    let mut next_sweep = Instant::now() + SWEEP;
    let mut retry_at: Option<Instant> = None;
    let mut backoff = BACKOFF_MIN;
    loop {
        // Logs nobody follows any more stop being listened to (once no read is in flight).
        docs.retain(|_, followed| {
            followed.followers.retain(|f| !f.gone());
            if followed.followers.is_empty() && !followed.reading {
                bus.unwant_log(&followed.channel);
                let bus = bus.clone();
                let channel = followed.channel.clone();
                jobs.push(Box::pin(async move {
                    let _ = bus.settle(&channel).await;
                    Done::Settled
                }));
                return false;
            }
            true
        });
        let now = Instant::now();
        if retry_at.is_none_or(|at| at <= now) {
            retry_at = None;
            for (doc, followed) in &mut docs {
                if !followed.due || followed.reading {
                    continue;
                }
                let Some(from) = followed.read_from() else {
                    continue;
                };
                followed.due = false;
                followed.reading = true;
                jobs.push(read(conn.clone(), doc.clone(), followed.key.clone(), from));
            }
        }
        let blocked = docs.values().any(|d| d.followers.iter().any(|f| f.blocked));
        let mut wake = next_sweep;
        if let Some(at) = retry_at {
            wake = wake.min(at);
        }
        if blocked {
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
                        due: true,
                        reading: false,
                    }
                });
                followed.followers.push(follower);
                followed.due = true;
            }
            notice = notices.recv() => match notice {
                Some(Notice::Appended { doc, seq }) => {
                    if let Some(followed) = docs.get_mut(&doc)
                        && followed.followers.iter().any(|f| !f.gone() && f.last < seq)
                    {
                        followed.due = true;
                    }
                }
                Some(Notice::Missed) => all_due(&mut docs),
                None => return,
            },
            Some(done) = jobs.next(), if !jobs.is_empty() => match done {
                Done::Read { doc, result } => {
                    let Some(followed) = docs.get_mut(&doc) else { continue };
                    match result {
                        Ok(entries) => {
                            if entries.len() >= READ_BATCH {
                                followed.due = true;
                            }
                            followed.reading = false;
                            backoff = BACKOFF_MIN;
                            deliver(&doc, entries, &mut followed.followers);
                        }
                        Err(error) => {
                            followed.reading = false;
                            followed.due = true;
                            report_outage(&mut followed.followers, &error);
                            retry_at = Some(Instant::now() + backoff);
                            backoff = (backoff * 2).min(BACKOFF_MAX);
                        }
                    }
                }
                Done::Listened { doc } => {
                    if let Some(followed) = docs.get_mut(&doc) {
                        followed.due = true;
                    }
                }
                Done::Settled => {}
            },
            () = tokio::time::sleep_until(wake) => {
                let now = Instant::now();
                if now >= next_sweep {
                    next_sweep = now + SWEEP;
                    all_due(&mut docs);
                }
                for followed in docs.values_mut() {
                    for f in &mut followed.followers {
                        if f.blocked && f.tx.capacity() > 0 {
                            f.blocked = false;
                            followed.due = true;
                        }
                    }
                }
            }
        }
        if bus.take_missed() {
            all_due(&mut docs);
        }
    }
}

fn all_due(docs: &mut HashMap<String, Followed>) {
    for followed in docs.values_mut() {
        followed.due = true;
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
/// cannot take one takes nothing more from this read.
fn deliver(doc: &str, entries: Vec<StreamId>, followers: &mut [Follower]) {
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
