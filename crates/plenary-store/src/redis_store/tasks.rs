//! The background tasks behind [`LogWatch`](crate::LogWatch) and
//! [`AwarenessFeed`](crate::AwarenessFeed): each owns a connection of its own, reconnects after
//! errors, and ends when its receiver is dropped.

use std::time::Duration;

use futures_util::StreamExt;
use redis::aio::{MultiplexedConnection, PubSubStream};
use redis::streams::{StreamReadOptions, StreamReadReply};
use redis::{AsyncCommands, AsyncConnectionConfig, Client};
use tokio::sync::mpsc;

use super::{CONNECT_TIMEOUT, OP_TIMEOUT, fields, keys, with_timeout};
use crate::{LogEntry, StoreError};

/// How long one XREAD waits for new entries before asking again.
const BLOCK_MS: usize = 2_000;
/// How many entries one XREAD returns at most.
const READ_BATCH: usize = 512;
/// Waits between reconnection attempts grow from the first to the second.
const BACKOFF_MIN: Duration = Duration::from_millis(50);
const BACKOFF_MAX: Duration = Duration::from_secs(1);

type WatchItem = Result<(u64, LogEntry), StoreError>;

/// A connection for blocking reads: its response timeout must outlast the BLOCK.
pub(super) async fn watch_connection(client: &Client) -> Result<MultiplexedConnection, StoreError> {
    let config = AsyncConnectionConfig::new()
        .set_connection_timeout(Some(CONNECT_TIMEOUT))
        .set_response_timeout(Some(Duration::from_millis(BLOCK_MS as u64) + OP_TIMEOUT));
    with_timeout(client.get_multiplexed_async_connection_with_config(&config)).await
}

/// Feeds `tx` with every entry of `doc`'s log after `after`, forever: XREAD BLOCK from the last
/// delivered ID, so a reconnection resumes exactly where the previous connection stopped.
pub(super) async fn follow_log(
    client: Client,
    conn: MultiplexedConnection,
    doc: String,
    after: u64,
    tx: mpsc::Sender<WatchItem>,
) {
    let key = keys::log(&doc);
    let options = StreamReadOptions::default()
        .block(BLOCK_MS)
        .count(READ_BATCH);
    let mut last = after;
    let mut conn = Some(conn);
    let mut backoff = BACKOFF_MIN;
    let mut outage_reported = false;
    loop {
        let Some(current) = conn.as_mut() else {
            tokio::select! {
                () = tokio::time::sleep(backoff) => {}
                () = tx.closed() => return,
            }
            backoff = (backoff * 2).min(BACKOFF_MAX);
            match watch_connection(&client).await {
                Ok(fresh) => conn = Some(fresh),
                Err(error) => {
                    if !report_outage(&tx, error, &mut outage_reported).await {
                        return;
                    }
                }
            }
            continue;
        };
        let keys = [key.as_str()];
        let ids = [fields::stream_id(last)];
        let read = tokio::select! {
            read = current.xread_options::<_, _, Option<StreamReadReply>>(&keys, &ids, &options) => read,
            () = tx.closed() => return,
        };
        match read {
            Ok(reply) => {
                outage_reported = false;
                backoff = BACKOFF_MIN;
                let ids = reply.into_iter().flat_map(|r| r.keys).flat_map(|k| k.ids);
                for stream_entry in ids {
                    let seq = match fields::seq_of(&doc, &stream_entry.id) {
                        Ok(seq) => seq,
                        Err(error) => {
                            // Without a sequence number we cannot move past it; stop here.
                            let _ = tx.send(Err(error)).await;
                            return;
                        }
                    };
                    if seq <= last {
                        continue;
                    }
                    last = seq;
                    let item = fields::decode_entry(&doc, seq, &stream_entry.map)
                        .map(|entry| (seq, entry));
                    if tx.send(item).await.is_err() {
                        return;
                    }
                }
            }
            Err(error) => {
                conn = None;
                if !report_outage(&tx, super::from_redis(error), &mut outage_reported).await {
                    return;
                }
            }
        }
    }
}

/// Tells the watcher about an outage, once per outage. False if the watcher is gone.
async fn report_outage(
    tx: &mpsc::Sender<WatchItem>,
    error: StoreError,
    outage_reported: &mut bool,
) -> bool {
    if *outage_reported || !error.is_unavailable() {
        return !tx.is_closed();
    }
    *outage_reported = true;
    tx.send(Err(error)).await.is_ok()
}

/// Opens a pub/sub connection subscribed to `channel`; returns once the subscription is active,
/// so nothing published afterwards is missed.
pub(super) async fn subscribe(client: &Client, channel: &str) -> Result<PubSubStream, StoreError> {
    let mut pubsub = with_timeout(client.get_async_pubsub()).await?;
    with_timeout(pubsub.subscribe(channel)).await?;
    Ok(pubsub.into_on_message())
}

/// Relays awareness messages to `tx`, resubscribing after a lost connection. Messages are
/// dropped, not queued, when the consumer is behind: presence is only worth its latest state.
pub(super) async fn relay_awareness(
    client: Client,
    channel: String,
    messages: PubSubStream,
    tx: mpsc::Sender<(String, Vec<u8>)>,
) {
    let mut messages = Some(messages);
    let mut backoff = BACKOFF_MIN;
    loop {
        let Some(stream) = messages.as_mut() else {
            tokio::select! {
                () = tokio::time::sleep(backoff) => {}
                () = tx.closed() => return,
            }
            backoff = (backoff * 2).min(BACKOFF_MAX);
            messages = subscribe(&client, &channel).await.ok();
            continue;
        };
        let message = tokio::select! {
            message = stream.next() => message,
            () = tx.closed() => return,
        };
        match message {
            Some(message) => {
                backoff = BACKOFF_MIN;
                if let Some(decoded) = fields::unframe_awareness(message.get_payload_bytes())
                    && let Err(mpsc::error::TrySendError::Closed(_)) = tx.try_send(decoded)
                {
                    return;
                }
            }
            None => messages = None,
        }
    }
}
