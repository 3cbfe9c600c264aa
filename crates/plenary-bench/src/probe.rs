//! A raw y-protocols connection for round-trip measurements: the caller
//! sends frames itself, and every frame that arrives is stamped by a reader
//! task the moment it is read, so a slow caller never inflates a figure.
//! It also keeps a local Y.Doc in sync when asked (`sync_doc`), applying
//! sync step 2 and updates as they are consumed.

use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use yrs::updates::decoder::Decode;
use yrs::updates::encoder::Encode;
use yrs::{Doc, ReadTxn, StateVector, Transact, Update};

use crate::wire::{Framing, Incoming};

/// What the reader saw, stamped when it was read.
#[derive(Debug)]
pub(crate) enum Arrival {
    Frame(Instant, Vec<u8>),
    /// The server closed the socket (code and reason when it sent a close frame) or it broke.
    Closed(Instant, Option<(u16, String)>),
}

pub(crate) struct Raw {
    pub framing: Framing,
    out: mpsc::UnboundedSender<Message>,
    inbox: mpsc::UnboundedReceiver<Arrival>,
    reader: JoinHandle<()>,
    writer: JoinHandle<()>,
}

impl Raw {
    /// Connects with no message size limit on our side (a denial naming a
    /// million structs can be tens of MB).
    pub(crate) async fn open(
        base: &str,
        token: Option<&str>,
        framing: Framing,
    ) -> Result<Raw, String> {
        let url = framing.url(base, token);
        let config = WebSocketConfig::default()
            .max_message_size(None)
            .max_frame_size(None);
        let (ws, _) =
            tokio_tungstenite::connect_async_with_config(url.as_str(), Some(config), true)
                .await
                .map_err(|e| e.to_string())?;
        let (mut sink, mut stream) = ws.split();
        let (out, mut out_rx) = mpsc::unbounded_channel::<Message>();
        let (in_tx, inbox) = mpsc::unbounded_channel();
        let writer = tokio::spawn(async move {
            while let Some(msg) = out_rx.recv().await {
                let closing = matches!(msg, Message::Close(_));
                if sink.send(msg).await.is_err() || closing {
                    return;
                }
            }
        });
        let reader = tokio::spawn(async move {
            loop {
                let msg = stream.next().await;
                let now = Instant::now();
                let arrival = match msg {
                    Some(Ok(Message::Binary(b))) => Arrival::Frame(now, b.to_vec()),
                    Some(Ok(Message::Close(frame))) => Arrival::Closed(
                        now,
                        frame.map(|f| (u16::from(f.code), f.reason.to_string())),
                    ),
                    Some(Ok(_)) => continue,
                    Some(Err(_)) | None => Arrival::Closed(now, None),
                };
                let closed = matches!(arrival, Arrival::Closed(..));
                if in_tx.send(arrival).is_err() || closed {
                    return;
                }
            }
        });
        Ok(Raw {
            framing,
            out,
            inbox,
            reader,
            writer,
        })
    }

    /// Queues a frame; returns the instant it was handed over.
    pub(crate) fn send(&self, frame: Vec<u8>) -> Instant {
        let at = Instant::now();
        let _ = self.out.send(Message::Binary(frame.into()));
        at
    }

    /// The next arrival, or `None` after `timeout`.
    pub(crate) async fn next(&mut self, timeout: Duration) -> Option<Arrival> {
        tokio::time::timeout(timeout, self.inbox.recv())
            .await
            .ok()
            .flatten()
    }

    /// Sends sync step 1 for `doc` and applies what arrives until the
    /// server's sync step 2 is in (answering the server's own step 1).
    pub(crate) async fn sync_doc(&mut self, doc: &Doc, timeout: Duration) -> Result<(), String> {
        let sv = doc.transact().state_vector().encode_v1();
        self.send(self.framing.sync(0, &sv));
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.next(left).await {
                Some(Arrival::Frame(_, f)) => {
                    if self.absorb(doc, &f) == Some(Step::Step2) {
                        return Ok(());
                    }
                }
                Some(Arrival::Closed(_, why)) => {
                    return Err(format!("closed while syncing: {why:?}"));
                }
                None => return Err("no sync step 2 in time".into()),
            }
        }
    }

    /// Applies a document frame to `doc` and answers a sync step 1; says what it was.
    pub(crate) fn absorb(&self, doc: &Doc, frame: &[u8]) -> Option<Step> {
        match self.framing.parse(frame)? {
            Incoming::Step1(sv) => {
                let sv = StateVector::decode_v1(sv).unwrap_or_default();
                let answer = doc.transact().encode_diff_v1(&sv);
                self.send(self.framing.sync(1, &answer));
                Some(Step::Step1)
            }
            Incoming::Step2(u) => {
                apply(doc, u);
                Some(Step::Step2)
            }
            Incoming::Update(u) => {
                apply(doc, u);
                Some(Step::Update)
            }
            Incoming::Awareness => Some(Step::Awareness),
            Incoming::Denied => Some(Step::Denied),
            Incoming::Other => None,
        }
    }

    /// Drains whatever has arrived within `quiet` (applying it to `doc` when given).
    pub(crate) async fn drain(&mut self, doc: Option<&Doc>, quiet: Duration) {
        while let Some(a) = self.next(quiet).await {
            match a {
                Arrival::Frame(_, f) => {
                    if let Some(doc) = doc {
                        self.absorb(doc, &f);
                    }
                }
                Arrival::Closed(..) => return,
            }
        }
    }

    pub(crate) async fn close(self) {
        let _ = self.out.send(Message::Close(None));
        let _ = tokio::time::timeout(Duration::from_secs(1), self.writer).await;
        self.reader.abort();
    }
}

/// The kind of a frame `absorb` handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    Step1,
    Step2,
    Update,
    Awareness,
    Denied,
}

fn apply(doc: &Doc, update: &[u8]) {
    if let Ok(u) = Update::decode_v1(update) {
        let _ = doc.transact_mut().apply_update(u);
    }
}

/// Percentiles of a list of milliseconds (nearest rank).
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Summary {
    pub n: usize,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub mean_ms: f64,
}

pub(crate) fn summary(samples: &[f64]) -> Summary {
    if samples.is_empty() {
        return Summary::default();
    }
    let mut v = samples.to_vec();
    v.sort_by(f64::total_cmp);
    let at = |q: f64| v[((q * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1];
    Summary {
        n: v.len(),
        p50_ms: at(0.50),
        p90_ms: at(0.90),
        p99_ms: at(0.99),
        max_ms: v[v.len() - 1],
        mean_ms: v.iter().sum::<f64>() / v.len() as f64,
    }
}

pub(crate) fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let s = summary(&(1..=100).map(f64::from).collect::<Vec<_>>());
        assert_eq!(
            (s.p50_ms, s.p90_ms, s.p99_ms, s.max_ms),
            (50.0, 90.0, 99.0, 100.0)
        );
        assert_eq!(summary(&[3.0]).p99_ms, 3.0);
        assert_eq!(summary(&[]).n, 0);
    }
}
