//! The server's edges (issue 12): a connection ends with its token, oversize
//! messages close with 1009, and every HTTP error body is JSON.

use std::time::{Duration, Instant};

use crate::support::*;

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[tokio::test]
async fn a_connection_is_closed_when_its_token_expires() {
    const LEEWAY: u64 = 1;
    let server = server_with(&["--jwt-leeway-secs", &LEEWAY.to_string()]);
    let chair = seeded(&server, "expiring").await;

    let who = Who::chair()
        .named("Short-lived chair")
        .ttl(Duration::from_secs(3));
    let claims = who.claims();
    let exp = claims.exp;
    let token = sign(&claims);
    let short = Client::connect(&server.ws_url("expiring", &token))
        .await
        .unwrap();
    short.wait_synced(WAIT).await.unwrap();

    // While the token is valid, its edits are accepted.
    append(short.doc(), 4, " before expiry");
    chair
        .wait_until(WAIT, |d| text_of(d, 4).ends_with(" before expiry"))
        .await
        .unwrap();

    // At exp + leeway (and not before) the server closes it, with a reason.
    let started = Instant::now();
    let close = short
        .wait_closed(Duration::from_secs(3 + LEEWAY + 5))
        .await
        .unwrap()
        .expect("a close frame, not a dropped connection");
    let closed_at = unix_now();
    assert_eq!(close.code, 4001, "{close:?}");
    assert!(close.reason.contains("token expired"), "{close:?}");
    assert!(
        closed_at > exp + LEEWAY - 1,
        "closed at {closed_at}, before exp {exp} + leeway {LEEWAY} (after {:?})",
        started.elapsed()
    );

    // An edit made after exp + leeway is not accepted: it never reaches the room.
    append(short.doc(), 5, " after expiry");
    let reached = chair
        .wait_until(Duration::from_secs(2), |d| {
            text_of(d, 5).ends_with(" after expiry")
        })
        .await;
    assert!(reached.is_err(), "an edit after expiry was accepted");
    let fresh = connect(&server, "expiring", &Who::observer()).await;
    assert!(!text_of(fresh.doc(), 5).contains("after expiry"));
    assert!(text_of(fresh.doc(), 4).ends_with(" before expiry"));

    // Reconnecting with the expired token is refused at the handshake.
    assert!(
        Client::connect(&server.ws_url("expiring", &token))
            .await
            .is_err()
    );
}

#[tokio::test]
async fn a_frame_just_over_the_limit_closes_with_1009() {
    let server = server_with(&["--max-message-bytes", "20000"]);
    let chair = seeded(&server, "limit").await;
    for size in [20_001, 20_100, 200_000, 5_000_000] {
        let c = connect(&server, "limit", &Who::chair()).await;
        c.send_raw(vec![0; size]);
        let close = c
            .wait_closed(WAIT)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("{size} bytes: a close frame, not 1006"));
        assert_eq!(close.code, 1009, "{size} bytes: {close:?}");
        assert!(close.reason.contains("20000"), "{close:?}");
    }
    // Exactly at the limit is not oversize (the frame is garbage: closed as malformed, not 1009).
    let c = connect(&server, "limit", &Who::chair()).await;
    c.send_raw(vec![0; 20_000]);
    let close = c.wait_closed(WAIT).await.unwrap().expect("a close frame");
    assert_ne!(close.code, 1009, "{close:?}");
    append(chair.doc(), 3, " alive");
    let fresh = connect(&server, "limit", &Who::observer()).await;
    fresh
        .wait_until(WAIT, |d| text_of(d, 3).ends_with(" alive"))
        .await
        .unwrap();
}

/// Sends `head` (request line and headers, without the blank line) and `body`
/// over plain HTTP/1.1; returns the status, the content type and the body.
async fn http_raw(server: &TestServer, head: &str, body: &str) -> (u16, String, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(server.addr()).await.unwrap();
    let req = format!(
        "{head}\r\nHost: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        server.addr(),
        body.len()
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).await.unwrap();
    let (head, rest) = raw.split_once("\r\n\r\n").expect("an HTTP response");
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    let content_type = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-type:")
                .map(|v| v.trim().to_owned())
        })
        .unwrap_or_default();
    (status, content_type, rest.to_owned())
}

/// The body is `{"error": kind, "detail": non-empty}` and says `kind`.
fn assert_json_error(what: &str, got: &(u16, String, String), status: u16, kind: &str) {
    let (code, content_type, body) = got;
    assert_eq!(*code, status, "{what}: {got:?}");
    assert!(
        content_type.starts_with("application/json"),
        "{what}: {got:?}"
    );
    let json: serde_json::Value = serde_json::from_str(body)
        .unwrap_or_else(|e| panic!("{what}: body is not JSON ({e}): {body}"));
    assert_eq!(json["error"], kind, "{what}: {body}");
    let detail = json["detail"].as_str().unwrap_or_default();
    assert!(!detail.is_empty(), "{what}: {body}");
}

#[tokio::test]
async fn every_http_error_body_is_the_json_error_shape() {
    let server = server();
    let token = Who::chair().token();
    let bearer = format!("Authorization: Bearer {token}");

    let got = http_raw(&server, "GET /api/no-such-route HTTP/1.1", "").await;
    assert_json_error("unknown route under /api", &got, 404, "not-found");

    let got = http_raw(&server, "POST /healthz HTTP/1.1", "").await;
    assert_json_error("wrong method", &got, 405, "method-not-allowed");

    let got = http_raw(
        &server,
        &format!("POST /api/docs HTTP/1.1\r\n{bearer}\r\nContent-Type: application/json"),
        "{not json",
    )
    .await;
    assert_json_error("malformed JSON body", &got, 400, "bad-request");

    let got = http_raw(
        &server,
        &format!("POST /api/docs HTTP/1.1\r\n{bearer}\r\nContent-Type: text/plain"),
        "{}",
    )
    .await;
    assert_eq!(got.0 / 100, 4, "{got:?}");
    assert_json_error(
        "JSON body without its content type",
        &got,
        got.0,
        "bad-request",
    );

    // The WebSocket endpoint: not an upgrade, no token, a bad token, a bad name.
    let got = http_raw(&server, &format!("GET /sync/doc HTTP/1.1\r\n{bearer}"), "").await;
    assert_eq!(got.0 / 100, 4, "{got:?}");
    assert_json_error("plain GET of a sync URL", &got, got.0, kind_of(got.0));
    let upgrade = "Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==";
    let got = http_raw(&server, &format!("GET /sync/doc HTTP/1.1\r\n{upgrade}"), "").await;
    assert_json_error("handshake without a token", &got, 401, "unauthorized");
    assert!(got.2.contains("missing token"), "{got:?}");
    let got = http_raw(
        &server,
        &format!("GET /sync/doc?token=nonsense HTTP/1.1\r\n{upgrade}"),
        "",
    )
    .await;
    assert_json_error("handshake with a bad token", &got, 401, "unauthorized");
    let got = http_raw(
        &server,
        &format!("GET /sync/a/../b HTTP/1.1\r\n{upgrade}\r\n{bearer}"),
        "",
    )
    .await;
    assert_json_error("handshake for an invalid name", &got, 400, "bad-request");
    let narrow = Who::delegate("JPN").docs(&["other"]).token();
    let got = http_raw(
        &server,
        &format!("GET /sync/doc?token={narrow} HTTP/1.1\r\n{upgrade}"),
        "",
    )
    .await;
    assert_json_error(
        "handshake for a document not in the token",
        &got,
        403,
        "forbidden",
    );
}

fn kind_of(status: u16) -> &'static str {
    match status {
        401 => "unauthorized",
        404 => "not-found",
        405 => "method-not-allowed",
        _ => "bad-request",
    }
}
