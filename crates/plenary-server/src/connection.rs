//! One WebSocket connection: the handshake (token, document), then a reader
//! that decodes frames and hands them to the room, and a writer that drains
//! the connection's bounded queue.
//!
//! Architecture invariant: nothing reaches a room before the token has been
//! verified and the document name checked against it; a refused handshake is
//! an HTTP error with a reason, before any upgrade.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt, StreamExt};
use governor::{Quota, RateLimiter};
use plenary_auth::CommentScope;
use serde::Deserialize;
use tokio::sync::{mpsc, watch};

use crate::protocol;
use crate::room::{CloseReason, ConnHandle, RoomCmd};
use crate::session::Session;
use crate::state::ServerState;

/// Read buffer per connection, allocated up front. A frame longer than this is read whole into
/// a buffer reserved at its announced length, so the size only bounds the bytes one read takes
/// of many small frames (keystrokes are tens of bytes); at 8 KiB it was 8 % of a quiet room's
/// heap (BENCHMARKS.md, "Memory").
const READ_BUFFER: usize = 2 * 1024;
/// Bytes buffered before tungstenite writes to the socket (the writer also
/// flushes after each burst).
const WRITE_BUFFER: usize = 64 * 1024;
/// Frames written per flush at most.
const WRITE_BURST: usize = 64;
/// How long the socket stays open after an oversize message is refused. The client's message is
/// still arriving, unread; closing a TCP socket with unread bytes sends a reset, and a reset that
/// reaches the client before it has read the close frame turns 1009 into 1006 (seen with Node's
/// `ws`). Holding the socket this long lets the close frame be read first.
const OVERSIZE_LINGER: Duration = Duration::from_secs(1);
/// How long a single frame may take to reach a client before it is dropped.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// The close code when a connection's token expires. 4001 is in the range RFC 6455 leaves to
/// applications (4000–4999), chosen over the generic 1008 (policy violation) so that a client can
/// tell this close from every other refusal without parsing the reason: reconnecting with the
/// same token is pointless, it must obtain a fresh one first. Stock y-websocket clients treat it
/// like any other close and reconnect; with an expired token that reconnect is refused at the
/// handshake (401), which is what should happen.
pub(crate) const TOKEN_EXPIRED_CODE: u16 = 4001;
pub(crate) const TOKEN_EXPIRED_REASON: &str = "token expired; reconnect with a fresh token";

/// How long from now until a token expiring at `exp` (Unix seconds) stops being accepted.
fn until_expiry(exp: u64, leeway_secs: u64) -> Duration {
    let deadline = Duration::from_secs(exp.saturating_add(leeway_secs));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    // `verify` accepts up to and including second `exp + leeway`; it is refused after that.
    (deadline + Duration::from_secs(1)).saturating_sub(now)
}

#[derive(Debug, Deserialize)]
pub(crate) struct TokenQuery {
    token: Option<String>,
    /// A single-use ticket from `POST /api/tickets`, which keeps the token out of the URL.
    ticket: Option<String>,
}

/// A document name: path-like segments of letters, digits, `.`, `_`, `-`.
pub(crate) fn valid_doc_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 200
        && name.split('/').all(|seg| {
            !seg.is_empty()
                && seg != "."
                && seg != ".."
                && seg
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
        })
}

/// The bearer token of a request: `?token=` (browsers) or `Authorization: Bearer`.
pub(crate) fn request_token(query: Option<String>, headers: &HeaderMap) -> Option<String> {
    query.filter(|t| !t.is_empty()).or_else(|| {
        headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(|t| t.trim().to_string())
    })
}

pub(crate) fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// `GET /sync/<doc>`: authenticate, then upgrade.
pub(crate) async fn sync_handler(
    State(state): State<Arc<ServerState>>,
    Path(doc): Path<String>,
    Query(query): Query<TokenQuery>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    if !valid_doc_name(&doc) {
        return (StatusCode::BAD_REQUEST, "invalid document name").into_response();
    }
    let principal = match handshake_principal(&state, query, &headers) {
        Ok(p) => p,
        Err(why) => {
            state.metrics.auth_failures.inc();
            return (StatusCode::UNAUTHORIZED, why).into_response();
        }
    };
    if !principal.may_open(&doc) {
        state.metrics.auth_failures.inc();
        let why = match CommentScope::parse_doc_name(&doc) {
            Some((_, scope)) if !principal.may_join_scope(&scope) => {
                format!("this comment scope is not yours: {doc}")
            }
            _ => format!("your token does not open document {doc}"),
        };
        return (StatusCode::FORBIDDEN, why).into_response();
    }
    // Connecting creates nothing (SPEC §1: the chair or the secretariat creates documents, over
    // the HTTP API); a comment scope exists only beside an existing document.
    match document_exists(&state, &doc).await {
        Ok(true) => {}
        Ok(false) => {
            state.metrics.missing_docs.inc();
            return (
                StatusCode::NOT_FOUND,
                format!(
                    "no document named {}; the chair or the secretariat creates documents (POST /api/docs)",
                    CommentScope::parse_doc_name(&doc).map_or(doc.as_str(), |(d, _)| d)
                ),
            )
                .into_response();
        }
        Err(e) => {
            tracing::warn!(doc = %doc, error = %e, "could not check that a document exists");
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                "cannot open document now; try again shortly",
            )
                .into_response();
        }
    }
    let limit = state.config.max_message_bytes;
    let session = Arc::new(Session { principal, doc });
    // Most frames are keystrokes of a few bytes: tungstenite's default
    // 128 KiB read buffer per connection would dominate an idle room's memory.
    ws.max_message_size(limit)
        .max_frame_size(limit)
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(WRITE_BUFFER)
        .on_upgrade(move |socket| serve(state, session, socket))
}

/// Who a handshake speaks for: a ticket (`?ticket=`, redeemed here, once) stands for the token
/// that asked for it; otherwise the token (`?token=` or `Authorization: Bearer`) is verified. The
/// error is the reason for the 401; it never quotes the ticket or the token.
fn handshake_principal(
    state: &ServerState,
    query: TokenQuery,
    headers: &HeaderMap,
) -> Result<plenary_auth::Principal, String> {
    let now = unix_now();
    if let Some(ticket) = query.ticket.filter(|t| !t.is_empty()) {
        let principal = state
            .tickets
            .redeem(&ticket, std::time::Instant::now())
            .map_err(|e| e.to_string())?;
        // The token may have expired since it asked for the ticket.
        if now
            > principal
                .expires_at
                .saturating_add(state.verifier.current().leeway_secs())
        {
            return Err(format!(
                "the token behind this ticket expired at {} (Unix seconds); renew it",
                principal.expires_at
            ));
        }
        return Ok(principal);
    }
    let token = request_token(query.token, headers).ok_or_else(|| {
        "missing token: pass ?ticket=<ticket from POST /api/tickets>, ?token=<jwt> or \
         Authorization: Bearer <jwt>"
            .to_string()
    })?;
    state
        .verifier
        .current()
        .verify(&token, now)
        .map_err(|e| format!("invalid token: {e}"))
}

/// Whether `doc` (or, for a comment scope, the document it belongs to) exists: loaded now, or
/// known to the store.
async fn document_exists(
    state: &ServerState,
    doc: &str,
) -> Result<bool, plenary_store::StoreError> {
    let resolution = CommentScope::parse_doc_name(doc).map_or(doc, |(d, _)| d);
    if state.rooms.is_loaded(resolution) {
        return Ok(true);
    }
    state.store.doc_exists(resolution).await
}

fn quota(rate: u32, burst: u32) -> Quota {
    let nz = |n: u32| NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN);
    Quota::per_second(nz(rate)).allow_burst(nz(burst))
}

fn close_frame(reason: &CloseReason) -> Message {
    // A close reason is at most 123 bytes on the wire.
    let mut text = reason.reason.clone();
    while text.len() > 123 {
        text.pop();
    }
    Message::Close(Some(CloseFrame {
        code: reason.code,
        reason: text.into(),
    }))
}

async fn serve(state: Arc<ServerState>, session: Arc<Session>, socket: WebSocket) {
    state.metrics.connections.inc();
    let (mut sink, mut stream) = socket.split();
    let (out_tx, mut out_rx) = mpsc::channel::<Bytes>(state.config.outgoing_queue);
    let (close_tx, mut close_rx) = watch::channel::<Option<CloseReason>>(None);
    let conn = ConnHandle {
        id: state.next_conn_id(),
        session: session.clone(),
        out: out_tx,
        close: Arc::new(close_tx),
    };
    let joining = std::time::Instant::now();
    let room = match state.rooms.join(&state, &session.doc, conn.clone()).await {
        Ok(room) => {
            state
                .metrics
                .join_seconds
                .observe(crate::metrics::since(joining));
            room
        }
        Err(e) => {
            // The detail (a store's own error text, say "Redis I/O error") is for the log; the
            // client gets a fixed public reason.
            tracing::warn!(doc = %session.doc, error = %e.0, "a connection could not join its document");
            let reason = CloseReason::new(1013, "cannot open document now; try again shortly");
            let _ = sink.send(close_frame(&reason)).await;
            state.metrics.connections.dec();
            return;
        }
    };

    // A connection lives no longer than its token (SPEC §4): at `exp` plus the verifier's leeway
    // (the same leeway the handshake allowed) the server closes it.
    let expiry = tokio::time::sleep(until_expiry(
        session.principal.expires_at,
        state.verifier.current().leeway_secs(),
    ));
    tokio::pin!(expiry);

    let limits = state.config.limits.clone();
    let mut writer_close = close_rx.clone();
    // A client that neither reads nor writes is found by pinging it: browsers and stock clients
    // answer pings by themselves, so only a dead peer or one that never reads stays silent.
    let mut ping = tokio::time::interval_at(
        tokio::time::Instant::now() + limits.ws_ping_interval,
        limits.ws_ping_interval,
    );
    ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let writer = tokio::spawn(async move {
        loop {
            tokio::select! {
                biased;
                _ = writer_close.changed() => {
                    let reason = writer_close.borrow().clone();
                    if let Some(reason) = reason {
                        let _ = tokio::time::timeout(Duration::from_secs(1), sink.send(close_frame(&reason))).await;
                    }
                    break;
                }
                _ = ping.tick() => {
                    let sent = tokio::time::timeout(SEND_TIMEOUT, sink.send(Message::Ping(Bytes::new()))).await;
                    if !matches!(sent, Ok(Ok(()))) { break; }
                }
                frame = out_rx.recv() => {
                    let Some(frame) = frame else { break };
                    // Everything already queued goes out with one flush: one
                    // syscall for a burst instead of one per frame.
                    let mut burst = vec![frame];
                    while burst.len() < WRITE_BURST {
                        match out_rx.try_recv() {
                            Ok(f) => burst.push(f),
                            Err(_) => break,
                        }
                    }
                    let write = async {
                        for f in burst {
                            sink.feed(Message::Binary(f)).await?;
                        }
                        sink.flush().await
                    };
                    tokio::select! {
                        sent = tokio::time::timeout(SEND_TIMEOUT, write) => {
                            if !matches!(sent, Ok(Ok(()))) { break; }
                        }
                        _ = writer_close.changed() => {
                            // Stuck writing to a client that does not read: give up on it.
                            break;
                        }
                    }
                }
            }
        }
        let _ = tokio::time::timeout(Duration::from_secs(1), sink.close()).await;
    });

    let mut linger = false;
    // Per-connection budgets (SPEC §3): document work (updates, and sync step 1, whose answer
    // costs the size of the document) and presence each have a rate with a burst. Over the
    // update budget the connection is simply not read until the budget refills: nothing is lost,
    // the sender slows down (TCP backpressure). Over the presence budget only the latest state is
    // kept and relayed once the budget allows, so a cursor never stays stale.
    let updates = RateLimiter::direct(quota(limits.update_rate, limits.update_burst));
    let presence = RateLimiter::direct(quota(limits.presence_rate, limits.presence_burst));
    let mut held_presence: Option<protocol::Incoming> = None;
    let idle = tokio::time::sleep(limits.ws_idle_timeout);
    tokio::pin!(idle);
    'read: loop {
        let msg = tokio::select! {
            msg = stream.next() => msg,
            _ = close_rx.changed() => break,
            () = &mut expiry => {
                state.metrics.auth_failures.inc();
                conn.close.send_replace(Some(CloseReason::new(
                    TOKEN_EXPIRED_CODE,
                    TOKEN_EXPIRED_REASON,
                )));
                break;
            }
            () = &mut idle => {
                state.metrics.ws_idle_closed.inc();
                conn.close.send_replace(Some(CloseReason::new(
                    1001,
                    format!(
                        "nothing received for {} s (pings unanswered); reconnect",
                        limits.ws_idle_timeout.as_secs()
                    ),
                )));
                break;
            }
            _ = presence.until_ready(), if held_presence.is_some() => {
                if let Some(msg) = held_presence.take()
                    && room.send(RoomCmd::Message { conn: conn.id, msg }).await.is_err()
                {
                    conn.close.send_replace(Some(CloseReason::new(1012, "document reloading; reconnect")));
                    break;
                }
                continue;
            }
        };
        // Any frame, a pong included, shows the peer is there.
        idle.as_mut()
            .reset(tokio::time::Instant::now() + limits.ws_idle_timeout);
        match msg {
            Some(Ok(Message::Binary(bytes))) => {
                match protocol::decode_frame(&bytes, state.config.max_update_structs) {
                    Ok(msgs) => {
                        for msg in msgs {
                            if matches!(msg, protocol::Incoming::Awareness(_)) {
                                if held_presence.is_some() || presence.check().is_err() {
                                    state.metrics.presence_deferred.inc();
                                    held_presence = Some(msg);
                                    continue;
                                }
                            } else if updates.check().is_err() {
                                state.metrics.updates_throttled.inc();
                                tokio::select! {
                                    _ = updates.until_ready() => {}
                                    _ = close_rx.changed() => break 'read,
                                    () = &mut expiry => continue 'read,
                                }
                            }
                            if room
                                .send(RoomCmd::Message { conn: conn.id, msg })
                                .await
                                .is_err()
                            {
                                conn.close.send_replace(Some(CloseReason::new(
                                    1012,
                                    "document reloading; reconnect",
                                )));
                                break 'read;
                            }
                        }
                    }
                    Err(e) => {
                        state.metrics.rejected_malformed.inc();
                        // The decoder's own words are for the log; the close reason says what
                        // the client can act on.
                        tracing::debug!(doc = %session.doc, error = %e, "malformed frame");
                        let reason = match e {
                            protocol::FrameError::TooManyStructs(_) => {
                                CloseReason::new(1009, e.to_string())
                            }
                            protocol::FrameError::Malformed(_) => CloseReason::new(
                                1002,
                                "malformed y-protocols message; nothing of it was applied",
                            ),
                        };
                        conn.close.send_replace(Some(reason));
                        break;
                    }
                }
            }
            Some(Ok(Message::Close(_))) | None => break,
            Some(Ok(_)) => {} // text, ping, pong: not part of y-protocols
            Some(Err(e)) => {
                let text = e.to_string();
                if text.contains("too long")
                    || text.contains("too big")
                    || text.contains("Space limit")
                {
                    state.metrics.rejected_oversize.inc();
                    linger = true;
                    conn.close.send_replace(Some(CloseReason::new(
                        1009,
                        format!(
                            "message too big: the limit is {} bytes",
                            state.config.max_message_bytes
                        ),
                    )));
                } else {
                    tracing::debug!(error = %text, "websocket read error");
                }
                break;
            }
        }
    }
    let _ = room.send(RoomCmd::Leave { conn: conn.id }).await;
    if conn.close.borrow().is_none() {
        conn.close.send_replace(Some(CloseReason::new(1000, "bye")));
    }
    let _ = tokio::time::timeout(Duration::from_secs(2), writer).await;
    if linger {
        // `stream` (and with it the socket) lives until the end of this function.
        tokio::time::sleep(OVERSIZE_LINGER).await;
    }
    drop(stream);
    state.metrics.connections.dec();
}
