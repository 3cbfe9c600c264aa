//! One pub/sub connection per node, for everything that travels between nodes without being
//! kept: the presence of every document the node has loaded, and the notices that a document's
//! log has grown (which wake the log reader, `watches.rs`).
//!
//! Subscribing each document on a connection of its own would cost a connection per loaded
//! document; instead one connection is subscribed to every channel the node wants, and one task
//! (the relay) hands each message on. A channel is unsubscribed once nobody wants it.
//!
//! Pub/sub keeps nothing: a message published while the connection is down is lost. Presence
//! allows that (pages re-send theirs every 15 s); the log reader is told ([`Notice::Missed`])
//! when the connection drops and again when it is back, and reads every log it follows, by
//! position, so no entry is lost with its notice.
//!
//! In a Redis Cluster the connection goes to one node, any seed that answers: the cluster
//! forwards every `PUBLISH` to every node, so one subscription hears the whole cluster.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use redis::Client;
use redis::aio::{PubSubSink, PubSubStream};
use tokio::sync::mpsc;

use super::{fields, with_timeout};
use crate::StoreError;

const BACKOFF_MIN: Duration = Duration::from_millis(50);
const BACKOFF_MAX: Duration = Duration::from_secs(1);
/// Notices waiting for the log reader; beyond this the bus says [`Notice::Missed`] instead.
pub(super) const NOTICE_BUFFER: usize = 4_096;

/// What the bus tells the log reader.
#[derive(Debug)]
pub(super) enum Notice {
    /// `doc`'s log holds entry `seq`.
    Appended { doc: String, seq: u64 },
    /// Notices may have been lost (the connection dropped or came back, or the reader fell
    /// behind): every followed log should be read again.
    Missed,
}

type AwarenessTx = mpsc::Sender<(String, Vec<u8>)>;

/// The channels this node wants.
#[derive(Default)]
struct Wanted {
    /// Presence channel → the feeds of the rooms listening to it.
    awareness: HashMap<String, Vec<AwarenessTx>>,
    /// Notice channel → the document whose log it announces.
    logs: HashMap<String, String>,
}

impl Wanted {
    fn contains(&self, channel: &str) -> bool {
        self.logs.contains_key(channel)
            || self
                .awareness
                .get(channel)
                .is_some_and(|feeds| feeds.iter().any(|f| !f.is_closed()))
    }

    /// Forgets presence feeds whose room is gone; returns the channels left with none.
    fn prune_awareness(&mut self) -> Vec<String> {
        let mut idle = Vec::new();
        self.awareness.retain(|channel, feeds| {
            feeds.retain(|f| !f.is_closed());
            if feeds.is_empty() {
                idle.push(channel.clone());
            }
            !feeds.is_empty()
        });
        idle
    }

    /// Every wanted channel (after forgetting presence feeds whose room is gone).
    fn channels(&mut self) -> Vec<String> {
        self.prune_awareness();
        self.awareness
            .keys()
            .chain(self.logs.keys())
            .cloned()
            .collect()
    }
}

/// The connection, while it is up.
#[derive(Default)]
struct Link {
    sink: Option<PubSubSink>,
    subscribed: HashSet<String>,
    /// Whether a relay task runs (reading the connection, or reconnecting).
    relay: bool,
}

struct Inner {
    /// The nodes to subscribe on, tried in turn.
    nodes: Vec<Client>,
    wanted: Mutex<Wanted>,
    link: tokio::sync::Mutex<Link>,
    notices: mpsc::Sender<Notice>,
    /// A notice could not be queued: the reader should read everything again.
    missed: AtomicBool,
}

/// The node's pub/sub connection. Cheap to clone.
#[derive(Clone)]
pub(super) struct Bus {
    inner: Arc<Inner>,
}

impl Bus {
    /// A bus subscribing on one of `nodes`, telling the log reader through `notices`.
    pub(super) fn new(nodes: Vec<Client>, notices: mpsc::Sender<Notice>) -> Bus {
        Bus {
            inner: Arc::new(Inner {
                nodes,
                wanted: Mutex::default(),
                link: tokio::sync::Mutex::default(),
                notices,
                missed: AtomicBool::new(false),
            }),
        }
    }

    /// Adds `feed` to the presence `channel`; returns once the channel is subscribed, so nothing
    /// published afterwards is missed.
    pub(super) async fn subscribe_awareness(
        &self,
        channel: &str,
        feed: AwarenessTx,
    ) -> Result<(), StoreError> {
        let idle = {
            let mut wanted = self.wanted();
            wanted
                .awareness
                .entry(channel.to_owned())
                .or_default()
                .push(feed);
            wanted.prune_awareness()
        };
        for gone in idle {
            let _ = self.settle(&gone).await;
        }
        self.settle(channel).await
    }

    /// Wants the notices of `doc`'s log, published on `channel`; [`Bus::settle`] subscribes.
    /// Kept apart from the subscription so that the wanted set changes in the order the log
    /// reader decides, whichever subscription finishes first.
    pub(super) fn want_log(&self, channel: &str, doc: &str) {
        self.wanted()
            .logs
            .insert(channel.to_owned(), doc.to_owned());
    }

    /// No longer wants the notices on `channel`; [`Bus::settle`] unsubscribes.
    pub(super) fn unwant_log(&self, channel: &str) {
        self.wanted().logs.remove(channel);
    }

    /// Whether a notice was dropped since the last call (and forgets it).
    pub(super) fn take_missed(&self) -> bool {
        self.inner.missed.swap(false, Ordering::AcqRel)
    }

    fn wanted(&self) -> std::sync::MutexGuard<'_, Wanted> {
        // Nothing panics while holding it; a poisoned lock still holds consistent data.
        self.inner
            .wanted
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn notify(&self, notice: Notice) {
        if self.inner.notices.try_send(notice).is_err() {
            self.inner.missed.store(true, Ordering::Release);
        }
    }

    /// Brings `channel`'s subscription in line with whether it is wanted, connecting first if
    /// there is no connection (a relay that is reconnecting subscribes everything wanted itself).
    pub(super) async fn settle(&self, channel: &str) -> Result<(), StoreError> {
        let mut link = self.inner.link.lock().await;
        let wanted = self.wanted().contains(channel);
        if link.sink.is_none() {
            if !wanted || link.relay {
                return Ok(());
            }
            link.relay = true;
            match connect(&self.inner.nodes, &[]).await {
                Ok((sink, stream)) => {
                    link.sink = Some(sink);
                    tokio::spawn(relay(self.clone(), Some(stream)));
                }
                Err(error) => {
                    tokio::spawn(relay(self.clone(), None));
                    return Err(error);
                }
            }
        }
        let subscribed = link.subscribed.contains(channel);
        let Some(sink) = link.sink.as_mut() else {
            return Ok(());
        };
        if wanted && !subscribed {
            with_timeout(sink.subscribe(channel)).await?;
            link.subscribed.insert(channel.to_owned());
        } else if !wanted && subscribed {
            let _ = with_timeout(sink.unsubscribe(channel)).await;
            link.subscribed.remove(channel);
        }
        Ok(())
    }

    /// Hands one message on.
    fn deliver(&self, channel: &str, payload: &[u8]) {
        let mut wanted = self.wanted();
        if let Some(doc) = wanted.logs.get(channel) {
            let seq = std::str::from_utf8(payload)
                .ok()
                .and_then(|s| s.parse().ok());
            if let Some(seq) = seq {
                let doc = doc.clone();
                drop(wanted);
                self.notify(Notice::Appended { doc, seq });
            }
            return;
        }
        let Some(feeds) = wanted.awareness.get_mut(channel) else {
            return;
        };
        let Some(decoded) = fields::unframe_awareness(payload) else {
            return;
        };
        // A feed that is behind misses this one: presence is only worth its latest state.
        feeds.retain(|f| {
            !matches!(
                f.try_send(decoded.clone()),
                Err(mpsc::error::TrySendError::Closed(_))
            )
        });
    }
}

/// Connects to the first of `nodes` that answers and subscribes `channels`.
async fn connect(
    nodes: &[Client],
    channels: &[String],
) -> Result<(PubSubSink, PubSubStream), StoreError> {
    let mut last = StoreError::unavailable("no Redis node to subscribe on");
    for client in nodes {
        let attempt = async {
            let (mut sink, stream) = with_timeout(client.get_async_pubsub()).await?.split();
            if !channels.is_empty() {
                with_timeout(sink.subscribe(channels)).await?;
            }
            Ok::<_, StoreError>((sink, stream))
        };
        match attempt.await {
            Ok(link) => return Ok(link),
            Err(error) => last = error,
        }
    }
    Err(last)
}

/// Reads the connection and hands each message on; when it drops, connects again (to whichever
/// node answers) and subscribes everything still wanted; ends once nothing is.
async fn relay(bus: Bus, mut stream: Option<PubSubStream>) {
    let mut backoff = BACKOFF_MIN;
    loop {
        if let Some(messages) = stream.as_mut() {
            while let Some(message) = messages.next().await {
                bus.deliver(message.get_channel_name(), message.get_payload_bytes());
            }
            // Gone: whatever was published from now on until we are back is lost.
            bus.notify(Notice::Missed);
        }
        stream = None;
        let mut link = bus.inner.link.lock().await;
        link.sink = None;
        link.subscribed.clear();
        let channels = bus.wanted().channels();
        if channels.is_empty() {
            link.relay = false;
            return;
        }
        match connect(&bus.inner.nodes, &channels).await {
            Ok((sink, fresh)) => {
                link.sink = Some(sink);
                link.subscribed = channels.into_iter().collect();
                stream = Some(fresh);
                backoff = BACKOFF_MIN;
                drop(link);
                bus.notify(Notice::Missed);
            }
            Err(_) => {
                drop(link);
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(BACKOFF_MAX);
            }
        }
    }
}
