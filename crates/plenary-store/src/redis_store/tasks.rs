//! The connection behind the log reader (`watches.rs`) and the task behind each
//! [`AwarenessFeed`](crate::AwarenessFeed), which owns a connection of its own, resubscribes after
//! errors and ends when its receiver is dropped.

use std::time::Duration;

use futures_util::StreamExt;
use redis::aio::{MultiplexedConnection, PubSubStream};
use redis::{AsyncConnectionConfig, Client};
use tokio::sync::mpsc;

use super::{CONNECT_TIMEOUT, OP_TIMEOUT, fields, with_timeout};
use crate::StoreError;

/// How long one XREAD of the log reader waits for new entries before asking again.
pub(super) const BLOCK_MS: usize = 2_000;
/// Waits between reconnection attempts grow from the first to the second.
const BACKOFF_MIN: Duration = Duration::from_millis(50);
const BACKOFF_MAX: Duration = Duration::from_secs(1);

/// A connection for blocking reads: its response timeout must outlast the BLOCK.
pub(super) async fn watch_connection(client: &Client) -> Result<MultiplexedConnection, StoreError> {
    let config = AsyncConnectionConfig::new()
        .set_connection_timeout(Some(CONNECT_TIMEOUT))
        .set_response_timeout(Some(Duration::from_millis(BLOCK_MS as u64) + OP_TIMEOUT));
    with_timeout(client.get_multiplexed_async_connection_with_config(&config)).await
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
