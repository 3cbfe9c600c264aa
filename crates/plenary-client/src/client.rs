use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio::sync::{broadcast, mpsc, watch};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{self, Message as WsMessage};
use yrs::encoding::read::Cursor;
use yrs::sync::{Awareness, Message, MessageReader, SyncMessage};
use yrs::updates::decoder::{Decode, DecoderV1};
use yrs::updates::encoder::Encode;
use yrs::{Doc, Origin, ReadTxn, Transact, TransactionMut, Update, UpdateEvent};

use crate::ClientError;
use crate::frames::{encode_awareness, encode_sync_step1, encode_update};

/// Transactions applied from the wire carry this origin so that the local
/// update observer does not echo them back to the server.
const REMOTE_ORIGIN: &str = "plenary-client/remote";
/// Key of the local-update observer on the document.
const OBSERVER_KEY: &str = "plenary-client/outgoing";
/// y-protocols drops a peer's presence after 30 s without renewal; renew at half that.
const AWARENESS_RENEW: Duration = Duration::from_secs(15);

/// How a WebSocket was closed by the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseInfo {
    pub code: u16,
    pub reason: String,
}

/// What the client observed, in arrival order.
#[derive(Debug, Clone)]
pub enum Event {
    /// A document update (sync step 2 or update) arrived and was applied.
    Update { at: Instant, bytes: usize },
    /// An awareness update arrived and was applied.
    Awareness { at: Instant },
    /// The server answered with y-protocols `permission-denied`.
    Denied(String),
    /// The first sync step 2 from the server was applied.
    Synced,
    /// The connection ended (with the server's close frame, if any).
    Closed(Option<CloseInfo>),
}

/// Connection options.
#[derive(Debug, Clone, Default)]
pub struct ClientOptions {
    /// Sent as `Authorization: Bearer`; put it in the url as `?token=` instead to
    /// behave like a browser.
    pub bearer_token: Option<String>,
    /// Keep a copy of every binary frame received (for tests that inspect the wire).
    pub record_frames: bool,
    /// Start from this document instead of an empty one.
    pub doc: Option<Doc>,
}

struct Shared {
    doc: Doc,
    awareness: Mutex<Awareness>,
    synced: watch::Sender<bool>,
    closed: watch::Sender<Option<Option<CloseInfo>>>,
    denials: Mutex<Vec<String>>,
    frames: Option<Mutex<Vec<Vec<u8>>>>,
    events: broadcast::Sender<Event>,
    out: mpsc::UnboundedSender<WsMessage>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A connected Yjs client. Dropping it closes the connection.
pub struct Client {
    shared: Arc<Shared>,
    tasks: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("client_id", &self.shared.doc.client_id())
            .finish()
    }
}

impl Client {
    /// Connects to `url` (`ws://host:port/sync/<doc>?token=…`) and starts syncing.
    pub async fn connect(url: &str) -> Result<Client, ClientError> {
        Self::connect_with(url, ClientOptions::default()).await
    }

    pub async fn connect_with(url: &str, options: ClientOptions) -> Result<Client, ClientError> {
        let mut request = url
            .into_client_request()
            .map_err(|e| ClientError::Url(e.to_string()))?;
        if let Some(token) = &options.bearer_token {
            let value = HeaderValue::from_str(&format!("Bearer {token}"))
                .map_err(|e| ClientError::Url(e.to_string()))?;
            request.headers_mut().insert("authorization", value);
        }
        let (ws, _response) = match tokio_tungstenite::connect_async(request).await {
            Ok(ok) => ok,
            Err(tungstenite::Error::Http(response)) => {
                let status = response.status().as_u16();
                let body = response
                    .body()
                    .as_ref()
                    .map(|b| String::from_utf8_lossy(b).into_owned())
                    .unwrap_or_default();
                return Err(ClientError::Rejected { status, body });
            }
            Err(e) => return Err(e.into()),
        };
        let (mut sink, mut stream) = ws.split();

        let doc = options.doc.unwrap_or_default();
        let (out, mut out_rx) = mpsc::unbounded_channel::<WsMessage>();
        let (events, _) = broadcast::channel(4096);
        let shared = Arc::new(Shared {
            awareness: Mutex::new(Awareness::new(doc.clone())),
            doc,
            synced: watch::channel(false).0,
            closed: watch::channel(None).0,
            denials: Mutex::new(Vec::new()),
            frames: options.record_frames.then(|| Mutex::new(Vec::new())),
            events,
            out,
        });

        // Every local transaction goes to the server, as y-websocket does.
        let out = shared.out.clone();
        let remote = Origin::from(REMOTE_ORIGIN);
        shared
            .doc
            .observe_update_v1(
                OBSERVER_KEY,
                move |txn: &TransactionMut, e: &UpdateEvent| {
                    if txn.origin() != Some(&remote) {
                        let _ = out.send(WsMessage::Binary(encode_update(e.update.clone()).into()));
                    }
                },
            )
            .map_err(|e| ClientError::Decode(e.to_string()))?;

        let writer = tokio::spawn(async move {
            while let Some(msg) = out_rx.recv().await {
                let closing = matches!(msg, WsMessage::Close(_));
                if sink.send(msg).await.is_err() || closing {
                    break;
                }
            }
            let _ = sink.close().await;
        });

        let reader_shared = shared.clone();
        let reader = tokio::spawn(async move {
            let s = reader_shared;
            let mut close = None;
            while let Some(msg) = stream.next().await {
                match msg {
                    Ok(WsMessage::Binary(bytes)) => s.handle_frame(&bytes),
                    Ok(WsMessage::Close(frame)) => {
                        close = frame.map(|f| CloseInfo {
                            code: u16::from(f.code),
                            reason: f.reason.to_string(),
                        });
                        break;
                    }
                    Ok(_) => {}
                    Err(_) => break,
                }
            }
            s.closed.send_replace(Some(close.clone()));
            let _ = s.events.send(Event::Closed(close));
        });

        let renew_shared = shared.clone();
        let renew = tokio::spawn(async move {
            let mut tick = tokio::time::interval(AWARENESS_RENEW);
            tick.tick().await;
            loop {
                tick.tick().await;
                let frame = {
                    let mut aw = lock(&renew_shared.awareness);
                    match aw.local_state_raw() {
                        Some(state) => {
                            aw.set_local_state_raw(state);
                            local_awareness_frame(&aw)
                        }
                        None => None,
                    }
                };
                if let Some(frame) = frame {
                    let _ = renew_shared.out.send(WsMessage::Binary(frame.into()));
                }
            }
        });

        let sv = shared.doc.transact().state_vector();
        let _ = shared
            .out
            .send(WsMessage::Binary(encode_sync_step1(&sv).into()));

        Ok(Client {
            shared,
            tasks: vec![writer, reader, renew],
        })
    }

    /// The client's local document. Edit it with `transact_mut()`: every
    /// transaction is sent to the server.
    pub fn doc(&self) -> &Doc {
        &self.shared.doc
    }

    /// Subscribes to what the client observes from now on.
    pub fn events(&self) -> broadcast::Receiver<Event> {
        self.shared.events.subscribe()
    }

    /// Waits until the server's first sync step 2 has been applied.
    pub async fn wait_synced(&self, timeout: Duration) -> Result<(), ClientError> {
        let mut rx = self.shared.synced.subscribe();
        tokio::time::timeout(timeout, rx.wait_for(|s| *s))
            .await
            .map_err(|_| ClientError::Timeout("sync"))?
            .map(|_| ())
            .map_err(|_| ClientError::Closed(None))
    }

    /// Waits until `pred` holds on the local document.
    pub async fn wait_until(
        &self,
        timeout: Duration,
        pred: impl Fn(&Doc) -> bool,
    ) -> Result<(), ClientError> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut events = self.events();
        loop {
            if pred(&self.shared.doc) {
                return Ok(());
            }
            match tokio::time::timeout_at(deadline, events.recv()).await {
                Err(_) => return Err(ClientError::Timeout("condition on the document")),
                Ok(Err(broadcast::error::RecvError::Lagged(_))) => {}
                Ok(Err(broadcast::error::RecvError::Closed)) => {
                    return Err(ClientError::Closed(None));
                }
                Ok(Ok(Event::Closed(info))) => {
                    return if pred(&self.shared.doc) {
                        Ok(())
                    } else {
                        Err(ClientError::Closed(info))
                    };
                }
                Ok(Ok(_)) => {}
            }
        }
    }

    /// Waits until the server closes the connection; returns its close frame.
    pub async fn wait_closed(&self, timeout: Duration) -> Result<Option<CloseInfo>, ClientError> {
        let mut rx = self.shared.closed.subscribe();
        let r = tokio::time::timeout(timeout, rx.wait_for(|c| c.is_some()))
            .await
            .map_err(|_| ClientError::Timeout("close"))?
            .map_err(|_| ClientError::Closed(None))?;
        Ok(r.clone().flatten())
    }

    /// Whether the connection has ended.
    pub fn is_closed(&self) -> bool {
        self.shared.closed.borrow().is_some()
    }

    /// Sets this client's presence and sends it.
    pub fn set_awareness(&self, state: &serde_json::Value) {
        let frame = {
            let mut aw = lock(&self.shared.awareness);
            aw.set_local_state_raw(state.to_string());
            local_awareness_frame(&aw)
        };
        if let Some(frame) = frame {
            let _ = self.shared.out.send(WsMessage::Binary(frame.into()));
        }
    }

    /// Presence of every peer this client knows of: (client id, JSON state).
    pub fn awareness_states(&self) -> Vec<(u64, serde_json::Value)> {
        let aw = lock(&self.shared.awareness);
        let me = aw.client_id();
        aw.iter()
            .filter(|(id, _)| *id != me)
            .filter_map(|(id, state)| {
                let data = state.data.as_ref()?;
                Some((id.get(), serde_json::from_str(data).ok()?))
            })
            .collect()
    }

    /// Reasons of every `permission-denied` received so far.
    pub fn denials(&self) -> Vec<String> {
        lock(&self.shared.denials).clone()
    }

    /// Every binary frame received so far (only with `record_frames`).
    pub fn frames(&self) -> Vec<Vec<u8>> {
        self.shared
            .frames
            .as_ref()
            .map(|f| lock(f).clone())
            .unwrap_or_default()
    }

    /// Sends raw bytes as one binary frame (for tests of bad input).
    pub fn send_raw(&self, bytes: Vec<u8>) {
        let _ = self.shared.out.send(WsMessage::Binary(bytes.into()));
    }

    /// Sends a text frame (which y-protocols does not use).
    pub fn send_text(&self, text: &str) {
        let _ = self.shared.out.send(WsMessage::Text(text.into()));
    }

    /// Closes the connection politely.
    pub async fn close(self) {
        let _ = self.shared.out.send(WsMessage::Close(Some(CloseFrame {
            code: CloseCode::Normal,
            reason: "bye".into(),
        })));
        let _ = self.wait_closed(Duration::from_secs(2)).await;
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
        let _ = self.shared.doc.unobserve_update_v1(OBSERVER_KEY);
    }
}

fn local_awareness_frame(aw: &Awareness) -> Option<Vec<u8>> {
    let update = aw.update_with_clients([aw.client_id()]).ok()?;
    Some(encode_awareness(update))
}

impl Shared {
    fn reply(&self, msg: Message) {
        let _ = self.out.send(WsMessage::Binary(msg.encode_v1().into()));
    }

    fn handle_frame(&self, bytes: &[u8]) {
        if let Some(frames) = &self.frames {
            lock(frames).push(bytes.to_vec());
        }
        let mut decoder = DecoderV1::new(Cursor::new(bytes));
        let reader = MessageReader::new(&mut decoder);
        for msg in reader {
            let Ok(msg) = msg else { return };
            let at = Instant::now();
            match msg {
                Message::Sync(SyncMessage::SyncStep1(sv)) => {
                    let update = self.doc.transact().encode_state_as_update_v1(&sv);
                    self.reply(Message::Sync(SyncMessage::SyncStep2(update)));
                }
                Message::Sync(SyncMessage::SyncStep2(u))
                | Message::Sync(SyncMessage::Update(u)) => {
                    let is_step2 = bytes.get(1) == Some(&1);
                    if let Ok(update) = Update::decode_v1(&u) {
                        let mut txn = self.doc.transact_mut_with(REMOTE_ORIGIN);
                        let _ = txn.apply_update(update);
                    }
                    let _ = self.events.send(Event::Update { at, bytes: u.len() });
                    if is_step2 && !*self.synced.borrow() {
                        self.synced.send_replace(true);
                        let _ = self.events.send(Event::Synced);
                    }
                }
                Message::Awareness(update) => {
                    let _ = lock(&self.awareness).apply_update(update);
                    let _ = self.events.send(Event::Awareness { at });
                }
                Message::AwarenessQuery => {
                    if let Some(frame) = local_awareness_frame(&lock(&self.awareness)) {
                        let _ = self.out.send(WsMessage::Binary(frame.into()));
                    }
                }
                Message::Auth(Some(reason)) => {
                    lock(&self.denials).push(reason.clone());
                    let _ = self.events.send(Event::Denied(reason));
                }
                Message::Auth(None) | Message::Custom(..) => {}
            }
        }
    }
}
