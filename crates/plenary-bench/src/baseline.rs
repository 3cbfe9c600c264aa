//! The bare broadcast baseline: every binary message goes to the other
//! sockets on the same path, with no CRDT work. Its figures are the
//! transport's ceiling on the machine, against which servers are judged.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};

/// Per-connection queue; a peer that falls this far behind is dropped, as Plenary does.
const QUEUE: usize = 4096;

type Room = HashMap<u64, mpsc::Sender<Message>>;

#[derive(Default)]
struct Rooms {
    rooms: Mutex<HashMap<String, Room>>,
    next: AtomicU64,
}

impl Rooms {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Room>> {
        self.rooms.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Listens on `addr`, prints `listening on http://…`, serves until the process ends.
pub async fn serve_baseline(addr: SocketAddr) -> std::io::Result<()> {
    let listener = TcpListener::bind(addr).await?;
    println!("listening on http://{}", listener.local_addr()?);
    let rooms = Arc::new(Rooms::default());
    loop {
        let (stream, _) = listener.accept().await?;
        let _ = stream.set_nodelay(true);
        tokio::spawn(serve_socket(stream, rooms.clone()));
    }
}

#[allow(clippy::result_large_err)] // tungstenite's handshake callback signature
async fn serve_socket(stream: TcpStream, rooms: Arc<Rooms>) {
    let mut path = String::new();
    let callback = |req: &Request, res: Response| {
        path = req.uri().path().to_string();
        Ok(res)
    };
    let Ok(ws) = tokio_tungstenite::accept_hdr_async(stream, callback).await else {
        return;
    };
    let id = rooms.next.fetch_add(1, Ordering::Relaxed);
    let (tx, mut rx) = mpsc::channel::<Message>(QUEUE);
    rooms.lock().entry(path.clone()).or_default().insert(id, tx);
    let (mut sink, mut stream) = ws.split();
    let writer = tokio::spawn(async move {
        while let Some(msg) = rx.recv().await {
            if sink.feed(msg).await.is_err() {
                return;
            }
            while let Ok(more) = rx.try_recv() {
                if sink.feed(more).await.is_err() {
                    return;
                }
            }
            if sink.flush().await.is_err() {
                return;
            }
        }
    });
    while let Some(Ok(msg)) = stream.next().await {
        match msg {
            Message::Binary(_) => {
                let mut all = rooms.lock();
                let Some(room) = all.get_mut(&path) else {
                    break;
                };
                room.retain(|peer, out| *peer == id || out.try_send(msg.clone()).is_ok());
            }
            Message::Close(_) => break,
            _ => {}
        }
    }
    let mut all = rooms.lock();
    if let Some(room) = all.get_mut(&path) {
        room.remove(&id);
        if room.is_empty() {
            all.remove(&path);
        }
    }
    drop(all);
    writer.abort();
}
