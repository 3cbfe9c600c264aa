//! One benchmark connection: a writer task fed by a channel and a reader
//! task that accounts what arrives. Receivers keep no document; typists keep
//! one and apply everything, as an editor would.

use std::sync::Arc;
use std::time::Instant;

use futures_util::{SinkExt, StreamExt};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use yrs::updates::decoder::Decode;
use yrs::{Doc, ReadTxn, StateVector, Transact, Update};

use crate::args::Protocol;
use crate::latency::{Registry, Seen};
use crate::wire::{Framing, Incoming};

/// An empty document's answer to sync step 1 (no structs, no deletions).
const EMPTY_UPDATE: &[u8] = &[0, 0];

/// What a reader saw by the end of the run.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    pub seen: Seen,
    pub updates: u64,
    pub awareness: u64,
    pub denied: u64,
    /// The server closed or broke the connection before the run ended.
    pub lost: bool,
    /// When the first sync step 2 arrived.
    pub synced_at: Option<Instant>,
    pub step2_bytes: usize,
}

pub(crate) struct Conn {
    pub framing: Framing,
    pub doc: Option<Doc>,
    pub client_id: Option<u64>,
    out: mpsc::UnboundedSender<Message>,
    synced: watch::Receiver<bool>,
    reader: JoinHandle<Tally>,
    writer: JoinHandle<()>,
}

/// Opens a connection; `typist` is `(client id, document)` for a client that edits.
pub(crate) async fn open(
    base_url: &str,
    token: Option<&str>,
    framing: Framing,
    typist: Option<(u64, Doc)>,
    registry: Arc<Registry>,
    stop: watch::Receiver<bool>,
) -> Result<Conn, String> {
    let url = framing.url(base_url, token);
    let (ws, _) = tokio_tungstenite::connect_async(url.as_str())
        .await
        .map_err(|e| e.to_string())?;
    let (mut sink, mut stream) = ws.split();
    let (out, mut out_rx) = mpsc::unbounded_channel::<Message>();
    let (synced_tx, synced) = watch::channel(false);

    let writer = tokio::spawn(async move {
        while let Some(msg) = out_rx.recv().await {
            let closing = matches!(msg, Message::Close(_));
            if sink.feed(msg).await.is_err() {
                return;
            }
            // Batch what is already queued into one flush.
            while let Ok(more) = out_rx.try_recv() {
                if sink.feed(more).await.is_err() {
                    return;
                }
            }
            if sink.flush().await.is_err() || closing {
                return;
            }
        }
    });

    let (client_id, doc) = match typist {
        Some((id, doc)) => (Some(id), Some(doc)),
        None => (None, None),
    };
    let reader = {
        let framing = framing.clone();
        let doc = doc.clone();
        let out = out.clone();
        let mut stop = stop;
        tokio::spawn(async move {
            let mut tally = Tally::default();
            loop {
                let msg = tokio::select! {
                    msg = stream.next() => msg,
                    _ = stop.wait_for(|s| *s) => return tally,
                };
                let bytes = match msg {
                    Some(Ok(Message::Binary(b))) => b,
                    Some(Ok(Message::Close(_))) | Some(Err(_)) | None => {
                        tally.lost = !*stop.borrow();
                        return tally;
                    }
                    Some(Ok(_)) => continue,
                };
                let now = Instant::now();
                match framing.parse(&bytes) {
                    Some(Incoming::Step1(sv)) => {
                        if framing.protocol == Protocol::Relay {
                            continue; // peers' handshakes: answering would flood the room
                        }
                        let answer = match (&doc, StateVector::decode_v1(sv)) {
                            (Some(doc), Ok(sv)) => doc.transact().encode_diff_v1(&sv),
                            _ => EMPTY_UPDATE.to_vec(),
                        };
                        let _ = out.send(Message::Binary(framing.sync(1, &answer).into()));
                    }
                    Some(Incoming::Step2(u)) | Some(Incoming::Update(u)) => {
                        let live = matches!(framing.parse(&bytes), Some(Incoming::Update(_)));
                        // With nothing to account and no document to apply it to (a join
                        // storm's clients), the update is not decoded: 200 decodes of a 1 MB
                        // state would time the generator's CPU, not the server.
                        if doc.is_some() || !registry.is_empty() {
                            let Ok(update) = Update::decode_v1(u) else {
                                continue;
                            };
                            registry.received(
                                &mut tally.seen,
                                client_id,
                                &upper_clocks(&update),
                                now,
                                live,
                            );
                            if let Some(doc) = &doc {
                                let _ = doc.transact_mut().apply_update(update);
                            }
                        }
                        if live {
                            tally.updates += 1;
                        } else if tally.synced_at.is_none() {
                            tally.synced_at = Some(now);
                            tally.step2_bytes = u.len();
                            synced_tx.send_replace(true);
                        }
                    }
                    Some(Incoming::Awareness) => tally.awareness += 1,
                    Some(Incoming::Denied) => tally.denied += 1,
                    Some(Incoming::Other) | None => {}
                }
            }
        })
    };

    if let Some(hello) = framing.hello(token) {
        let _ = out.send(Message::Binary(hello.into()));
    }
    let sv = doc
        .as_ref()
        .map(|d| d.transact().state_vector())
        .unwrap_or_default();
    let _ = out.send(Message::Binary(
        framing
            .sync(0, &yrs::updates::encoder::Encode::encode_v1(&sv))
            .into(),
    ));
    Ok(Conn {
        framing,
        doc,
        client_id,
        out,
        synced,
        reader,
        writer,
    })
}

impl Conn {
    pub(crate) fn send(&self, frame: Vec<u8>) {
        let _ = self.out.send(Message::Binary(frame.into()));
    }

    /// Waits for the first sync step 2; false if the connection ended first.
    pub(crate) async fn wait_synced(&self) -> bool {
        let mut rx = self.synced.clone();
        rx.wait_for(|s| *s).await.is_ok()
    }

    /// Ends the connection and returns what its reader saw (the stop signal must be set).
    pub(crate) async fn finish(self) -> Tally {
        let _ = self.out.send(Message::Close(None));
        let tally = self.reader.await.unwrap_or_default();
        let _ = tokio::time::timeout(std::time::Duration::from_secs(1), self.writer).await;
        tally
    }
}

/// The clock each client's insertions in `update` end at. (`Update::state_vector`
/// counts only histories starting at clock 0, so it is empty for a live edit.)
fn upper_clocks(update: &Update) -> StateVector {
    let mut sv = StateVector::default();
    for (client, ranges) in update.insertions(true).iter() {
        if let Some(end) = ranges.iter().map(|r| r.end).max() {
            sv.set_max(*client, end);
        }
    }
    sv
}
