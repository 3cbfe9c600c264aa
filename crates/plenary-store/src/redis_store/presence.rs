//! One pub/sub connection per node for the presence of every document it has loaded.
//!
//! Presence crosses nodes on a channel per document. Subscribing each document on a connection of
//! its own would cost a connection per loaded document; instead one connection is subscribed to
//! every channel a room of this node listens to, and one task hands each message to that
//! document's feeds. A channel is unsubscribed once its last feed is gone. After a lost
//! connection the task reconnects and subscribes every channel again; presence published in
//! between is lost, which presence allows (pages re-send theirs every 15 s).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use redis::Client;
use redis::aio::{PubSubSink, PubSubStream};
use tokio::sync::{Mutex, mpsc};

use super::{fields, with_timeout};
use crate::StoreError;

const BACKOFF_MIN: Duration = Duration::from_millis(50);
const BACKOFF_MAX: Duration = Duration::from_secs(1);

type Feed = mpsc::Sender<(String, Vec<u8>)>;

#[derive(Default)]
struct Subscriptions {
    /// Channel → the feeds of the rooms listening to it.
    feeds: HashMap<String, Vec<Feed>>,
    /// The connection's command half, while it is up.
    sink: Option<PubSubSink>,
}

/// The node's presence subscriptions. Cheap to clone.
#[derive(Clone)]
pub(super) struct Presence {
    client: Client,
    subs: Arc<Mutex<Subscriptions>>,
}

impl Presence {
    pub(super) fn new(client: Client) -> Presence {
        Presence {
            client,
            subs: Arc::default(),
        }
    }

    /// Adds `feed` to `channel`; returns once the channel is subscribed, so nothing published
    /// afterwards is missed.
    pub(super) async fn subscribe(&self, channel: &str, feed: Feed) -> Result<(), StoreError> {
        let mut subs = self.subs.lock().await;
        prune(&mut subs).await;
        if subs.sink.is_none() {
            let (sink, stream) = connect(&self.client, &[]).await?;
            subs.sink = Some(sink);
            tokio::spawn(relay(self.client.clone(), self.subs.clone(), stream));
        }
        let first = !subs.feeds.contains_key(channel);
        if first && let Some(sink) = subs.sink.as_mut() {
            with_timeout(sink.subscribe(channel)).await?;
        }
        subs.feeds.entry(channel.to_owned()).or_default().push(feed);
        Ok(())
    }
}

/// Drops feeds whose room is gone and unsubscribes channels nobody listens to any more.
async fn prune(subs: &mut Subscriptions) {
    let mut idle = Vec::new();
    subs.feeds.retain(|channel, feeds| {
        feeds.retain(|f| !f.is_closed());
        if feeds.is_empty() {
            idle.push(channel.clone());
        }
        !feeds.is_empty()
    });
    if let (false, Some(sink)) = (idle.is_empty(), subs.sink.as_mut()) {
        let _ = with_timeout(sink.unsubscribe(idle)).await;
    }
}

async fn connect(
    client: &Client,
    channels: &[String],
) -> Result<(PubSubSink, PubSubStream), StoreError> {
    let (mut sink, stream) = with_timeout(client.get_async_pubsub()).await?.split();
    if !channels.is_empty() {
        with_timeout(sink.subscribe(channels)).await?;
    }
    Ok((sink, stream))
}

/// Hands each message to its channel's feeds (dropping it for a feed that is behind: presence is
/// only worth its latest state); reconnects and resubscribes after a lost connection; ends when
/// no channel is left to listen to.
async fn relay(client: Client, subs: Arc<Mutex<Subscriptions>>, mut stream: PubSubStream) {
    let mut backoff = BACKOFF_MIN;
    loop {
        match stream.next().await {
            Some(message) => {
                let Some(decoded) = fields::unframe_awareness(message.get_payload_bytes()) else {
                    continue;
                };
                let channel = message.get_channel_name();
                let mut guard = subs.lock().await;
                if let Some(feeds) = guard.feeds.get_mut(channel) {
                    feeds.retain(|f| {
                        !matches!(
                            f.try_send(decoded.clone()),
                            Err(mpsc::error::TrySendError::Closed(_))
                        )
                    });
                }
                if guard.feeds.get(channel).is_some_and(Vec::is_empty) {
                    prune(&mut guard).await;
                }
            }
            None => {
                // The connection is gone: connect again and subscribe every channel still wanted.
                let mut guard = subs.lock().await;
                guard.sink = None;
                loop {
                    guard.feeds.retain(|_, feeds| {
                        feeds.retain(|f| !f.is_closed());
                        !feeds.is_empty()
                    });
                    if guard.feeds.is_empty() {
                        return;
                    }
                    let channels: Vec<String> = guard.feeds.keys().cloned().collect();
                    match connect(&client, &channels).await {
                        Ok((sink, fresh)) => {
                            guard.sink = Some(sink);
                            stream = fresh;
                            backoff = BACKOFF_MIN;
                            break;
                        }
                        Err(_) => {
                            drop(guard);
                            tokio::time::sleep(backoff).await;
                            backoff = (backoff * 2).min(BACKOFF_MAX);
                            guard = subs.lock().await;
                        }
                    }
                }
            }
        }
    }
}
