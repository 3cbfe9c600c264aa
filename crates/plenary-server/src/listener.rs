//! The accept loop: which TCP connections the server takes, and how long a client may take to
//! say what it wants.
//!
//! Before a byte is parsed, a connection must be admitted: under the cap on open connections in
//! all and under the cap for its client address. Over either cap it gets a short JSON 503 and
//! is closed, so one client cannot take the file descriptors every other client needs. Each
//! admitted connection is served by hyper's HTTP/1 server with a header-read timeout (a request
//! head that is not complete in time closes the connection: the "slowloris" defence), and a
//! WebSocket upgrade keeps its admission (the [`Admitted`] guard travels inside the I/O object)
//! until the socket closes.
//!
//! When the cap in all is reached, the oldest connection that has not yet sent a complete
//! request head gives its place to the new one: a flood of half-open requests from many
//! addresses cannot keep a real client (or `/healthz`) out; it only shortens its own wait.
//!
//! Architecture invariant: every open TCP connection, HTTP or WebSocket, holds exactly one
//! admission, released when its socket is dropped.

use std::collections::{HashMap, VecDeque};
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, mpsc, watch};

use crate::config::Limits;
use crate::metrics::Metrics;

/// File descriptors kept back from the connection cap for the store, logs and the listener.
const RESERVED_FDS: usize = 64;
/// How long a new connection waits for an evicted one to free its place.
const EVICTION_WAIT: Duration = Duration::from_millis(200);
/// How long a refused connection is given to read its 503.
const REFUSAL_WRITE: Duration = Duration::from_secs(1);

/// Decides which connections are taken, and counts them.
pub(crate) struct Admission {
    total: Arc<Semaphore>,
    cap: usize,
    per_address: usize,
    by_address: Mutex<HashMap<IpAddr, usize>>,
    /// Connections in the order they were admitted, while they have sent no request yet: the
    /// ones to evict when the cap in all is reached.
    unserved: Mutex<VecDeque<Weak<Pending>>>,
    metrics: Arc<Metrics>,
}

/// A connection that may be asked to give its place.
#[derive(Default)]
pub(crate) struct Pending {
    /// Set when its first request head is complete.
    served: AtomicBool,
    evict: Notify,
}

/// One admitted connection; dropping it frees its place.
pub(crate) struct Admitted {
    _permit: OwnedSemaphorePermit,
    address: IpAddr,
    admission: Arc<Admission>,
}

/// Why a connection was not taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    Total,
    Address,
}

impl Admission {
    /// `max_connections` is lowered to what the process's open-file limit allows.
    pub(crate) fn new(limits: &Limits, metrics: Arc<Metrics>) -> Arc<Self> {
        let mut total = limits.max_connections.max(1);
        if let Some(files) = open_file_limit() {
            let room = files.saturating_sub(RESERVED_FDS).max(1);
            if room < total {
                tracing::warn!(
                    configured = total,
                    open_file_limit = files,
                    using = room,
                    "max_connections lowered to fit the open-file limit"
                );
                total = room;
            }
        }
        metrics.connection_cap.set(total as i64);
        Arc::new(Admission {
            total: Arc::new(Semaphore::new(total)),
            cap: total,
            per_address: limits.max_connections_per_address.max(1),
            by_address: Mutex::new(HashMap::new()),
            unserved: Mutex::new(VecDeque::new()),
            metrics,
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, usize>> {
        self.by_address.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Remembers a new connection as evictable until it is served.
    fn track(&self, pending: &Arc<Pending>) {
        let mut queue = self.unserved.lock().unwrap_or_else(|p| p.into_inner());
        if queue.len() >= 2 * self.cap {
            queue.retain(|w| {
                w.upgrade()
                    .is_some_and(|p| !p.served.load(Ordering::Relaxed))
            });
        }
        queue.push_back(Arc::downgrade(pending));
    }

    /// Asks the oldest connection that has sent no request to close; `false` if there is none.
    fn evict_oldest_unserved(&self) -> bool {
        let mut queue = self.unserved.lock().unwrap_or_else(|p| p.into_inner());
        while let Some(weak) = queue.pop_front() {
            if let Some(pending) = weak.upgrade()
                && !pending.served.load(Ordering::Relaxed)
            {
                pending.evict.notify_one();
                self.metrics.evicted_unserved.inc();
                return true;
            }
        }
        false
    }

    /// Admits `address`, making room by eviction when the cap in all is reached (waiting at
    /// most `EVICTION_WAIT` for the evicted connection to close).
    async fn admit_or_evict(self: &Arc<Self>, address: IpAddr) -> Result<Admitted, Refusal> {
        match self.admit(address) {
            Err(Refusal::Total) if self.evict_oldest_unserved() => {
                let permit =
                    tokio::time::timeout(EVICTION_WAIT, self.total.clone().acquire_owned())
                        .await
                        .ok()
                        .and_then(Result::ok)
                        .ok_or(Refusal::Total)?;
                self.admit_with(permit, address)
            }
            other => other,
        }
    }

    pub(crate) fn admit(self: &Arc<Self>, address: IpAddr) -> Result<Admitted, Refusal> {
        let permit = self
            .total
            .clone()
            .try_acquire_owned()
            .map_err(|_| Refusal::Total)?;
        self.admit_with(permit, address)
    }

    fn admit_with(
        self: &Arc<Self>,
        permit: OwnedSemaphorePermit,
        address: IpAddr,
    ) -> Result<Admitted, Refusal> {
        {
            let mut map = self.lock();
            let n = map.entry(address).or_insert(0);
            if *n >= self.per_address {
                return Err(Refusal::Address);
            }
            *n += 1;
        }
        self.metrics.tcp_connections.inc();
        Ok(Admitted {
            _permit: permit,
            address,
            admission: self.clone(),
        })
    }
}

impl Drop for Admitted {
    fn drop(&mut self) {
        let mut map = self.admission.lock();
        if let Some(n) = map.get_mut(&self.address) {
            *n -= 1;
            if *n == 0 {
                map.remove(&self.address);
            }
        }
        self.admission.metrics.tcp_connections.dec();
    }
}

/// The soft limit on open files, from `/proc/self/limits` (Linux); `None` elsewhere.
fn open_file_limit() -> Option<usize> {
    let text = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = text.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

/// A TCP stream that holds its admission for as long as it lives, through a WebSocket upgrade.
pub(crate) struct Counted {
    stream: TcpStream,
    _admitted: Admitted,
}

impl AsyncRead for Counted {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Counted {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }
    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}

fn refusal_response(why: Refusal) -> Vec<u8> {
    let message = match why {
        Refusal::Total => "the server has too many open connections; try again shortly",
        Refusal::Address => "too many open connections from your address; close some and retry",
    };
    let body = serde_json::json!({ "error": "unavailable", "detail": message }).to_string();
    format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\nretry-after: 5\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Accepts and serves connections until `stop` turns `true`, then waits up to `grace` for open
/// HTTP requests to finish. (Upgraded WebSockets are closed by their rooms, which see the same
/// signal.)
pub(crate) async fn serve(
    listener: TcpListener,
    app: Router,
    limits: &Limits,
    metrics: Arc<Metrics>,
    mut stop: watch::Receiver<bool>,
    grace: Duration,
) -> io::Result<()> {
    let admission = Admission::new(limits, metrics.clone());
    // Shutdown by drop (as in mini-redis): every connection task holds a sender; when the last
    // one ends, `done.recv()` returns `None`.
    let (alive, mut done) = mpsc::channel::<()>(1);
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .keep_alive(true);
    // Refusals in flight are bounded too: past this many, a refused socket is simply dropped.
    let refusing = Arc::new(Semaphore::new(256));
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // EMFILE and friends: back off instead of spinning; the connections we
                    // hold will free descriptors.
                    metrics.accept_errors.inc();
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = async { let _ = stop.wait_for(|s| *s).await; } => break,
        };
        let admitted = match admission.admit_or_evict(peer.ip()).await {
            Ok(a) => a,
            Err(why) => {
                match why {
                    Refusal::Total => metrics.refused_total_cap.inc(),
                    Refusal::Address => metrics.refused_address_cap.inc(),
                };
                refuse(stream, peer, why, &refusing);
                continue;
            }
        };
        // Every frame is a keystroke or its answer: send it now, not after Nagle's 40 ms (a
        // permission-denied and its revert measured 44 ms p99 without this).
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!(error = %e, "TCP_NODELAY not set");
        }
        let io = TokioIo::new(Counted {
            stream,
            _admitted: admitted,
        });
        let pending = Arc::new(Pending::default());
        admission.track(&pending);
        let served = pending.clone();
        let app = app.clone();
        // The first request head marks the connection as served: it may no longer be evicted.
        let service = hyper::service::service_fn(move |request| {
            served.served.store(true, Ordering::Relaxed);
            tower::Service::call(&mut app.clone(), request)
        });
        let conn = http.serve_connection(io, service).with_upgrades();
        let metrics = metrics.clone();
        let mut stop = stop.clone();
        let alive = alive.clone();
        tokio::spawn(async move {
            tokio::pin!(conn);
            let ended = tokio::select! {
                ended = conn.as_mut() => ended,
                () = pending.evict.notified() => Ok(()), // dropped: the socket closes
                _ = async { let _ = stop.wait_for(|s| *s).await; } => {
                    // Finish the request in flight, take no other.
                    conn.as_mut().graceful_shutdown();
                    conn.await
                }
            };
            if let Err(e) = ended {
                if e.is_timeout() {
                    metrics.header_timeouts.inc();
                } else {
                    tracing::debug!(error = %e, "http connection ended with an error");
                }
            }
            drop(alive);
        });
    }
    drop(listener);
    drop(alive);
    if tokio::time::timeout(grace, done.recv()).await.is_err() {
        tracing::warn!("open HTTP requests did not finish within the shutdown grace");
    }
    Ok(())
}

fn refuse(mut stream: TcpStream, peer: SocketAddr, why: Refusal, refusing: &Arc<Semaphore>) {
    tracing::debug!(%peer, ?why, "connection refused");
    let Ok(permit) = refusing.clone().try_acquire_owned() else {
        return; // dropped: closed at once
    };
    tokio::spawn(async move {
        let _ = tokio::time::timeout(REFUSAL_WRITE, async {
            stream.write_all(&refusal_response(why)).await?;
            stream.shutdown().await
        })
        .await;
        drop(permit);
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn admission(total: usize, per_address: usize) -> Arc<Admission> {
        let limits = Limits {
            max_connections: total,
            max_connections_per_address: per_address,
            ..Limits::default()
        };
        Admission::new(&limits, Arc::new(Metrics::default()))
    }

    #[test]
    fn one_address_cannot_take_every_place() {
        let a = admission(10, 2);
        let one: IpAddr = [10, 0, 0, 1].into();
        let two: IpAddr = [10, 0, 0, 2].into();
        let first = a.admit(one).expect("first");
        let _second = a.admit(one).expect("second");
        assert_eq!(a.admit(one).err(), Some(Refusal::Address));
        assert!(a.admit(two).is_ok(), "another address still gets in");
        drop(first);
        assert!(a.admit(one).is_ok(), "a closed connection frees its place");
    }

    #[test]
    fn the_total_cap_holds_across_addresses() {
        let a = admission(3, 3);
        let held: Vec<_> = (1..=3u8)
            .map(|i| a.admit([10, 0, 0, i].into()).expect("under the cap"))
            .collect();
        assert_eq!(a.admit([10, 0, 0, 9].into()).err(), Some(Refusal::Total));
        drop(held);
        let again = a.admit([10, 0, 0, 9].into()).expect("places freed");
        assert_eq!(a.metrics.tcp_connections.get(), 1);
        drop(again);
        assert_eq!(a.metrics.tcp_connections.get(), 0);
    }

    #[tokio::test]
    async fn at_the_cap_the_oldest_unserved_connection_gives_way() {
        let a = admission(2, 2);
        let (first, second) = (Arc::new(Pending::default()), Arc::new(Pending::default()));
        let held_first = a.admit([10, 0, 0, 1].into()).expect("first");
        a.track(&first);
        let _held_second = a.admit([10, 0, 0, 2].into()).expect("second");
        a.track(&second);
        // The first connection closes when asked to, as the serving task does.
        let waiting = first.clone();
        tokio::spawn(async move {
            waiting.evict.notified().await;
            drop(held_first);
        });
        let third = a.admit_or_evict([10, 0, 0, 3].into()).await;
        assert!(third.is_ok(), "the newcomer takes the evicted place");
        assert_eq!(a.metrics.evicted_unserved.get(), 1);
        // A served connection is never evicted: with none unserved left, the cap refuses.
        second.served.store(true, Ordering::Relaxed);
        assert_eq!(
            a.admit_or_evict([10, 0, 0, 4].into()).await.err(),
            Some(Refusal::Total)
        );
    }

    #[test]
    fn refusal_is_json() {
        let text = String::from_utf8(refusal_response(Refusal::Address)).unwrap_or_default();
        let body = text.split("\r\n\r\n").nth(1).unwrap_or_default();
        let v: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
        assert_eq!(v["error"], "unavailable");
        assert!(
            v["detail"]
                .as_str()
                .is_some_and(|e| e.contains("your address"))
        );
        assert!(text.starts_with("HTTP/1.1 503"));
    }
}
