//! Sessions (issue 12): single-use tickets keep tokens out of WebSocket URLs, `?token=` and
//! `Authorization: Bearer` keep working for stock clients, and `serve --dev` renews tokens.

use std::time::Duration;

use plenary_auth::{AuthConfig, Minter, Verifier, VerifyKey};
use serde_json::Value;

use crate::support::*;
use plenary_client::ClientError;

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Sends `head` (request line and headers, without the blank line) and `body` over plain
/// HTTP/1.1; the status and the body, parsed as JSON.
async fn http(server: &TestServer, head: &str, body: &str) -> (u16, Value) {
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
    let json = serde_json::from_str(rest)
        .unwrap_or_else(|e| panic!("the body is not JSON ({e}): {head}\n\n{rest}"));
    (status, json)
}

/// `POST path` with the token as Bearer.
async fn post(server: &TestServer, path: &str, token: &str, body: &str) -> (u16, Value) {
    http(
        server,
        &format!(
            "POST {path} HTTP/1.1\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json"
        ),
        body,
    )
    .await
}

/// A fresh ticket for `token`.
async fn ticket(server: &TestServer, token: &str) -> String {
    let (status, body) = post(server, "/api/tickets", token, "").await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["expires_in_s"], 30, "{body}");
    body["ticket"].as_str().unwrap().to_owned()
}

/// A WebSocket handshake by hand, for its refusal: status and JSON body.
async fn handshake(server: &TestServer, path_and_query: &str) -> (u16, Value) {
    http(
        server,
        &format!(
            "GET {path_and_query} HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
             Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=="
        ),
        "",
    )
    .await
}

fn ticket_url(server: &TestServer, doc: &str, ticket: &str) -> String {
    format!("ws://{}/sync/{doc}?ticket={ticket}", server.addr())
}

fn assert_refused(what: &str, got: &(u16, Value), status: u16, says: &str) {
    let (code, body) = got;
    assert_eq!(*code, status, "{what}: {body}");
    assert_eq!(
        body["error"],
        match status {
            401 => "unauthorized",
            403 => "forbidden",
            _ => "not-found",
        },
        "{what}: {body}"
    );
    let detail = body["detail"].as_str().unwrap_or_default();
    assert!(detail.contains(says), "{what}: {body}");
}

#[tokio::test]
async fn a_ticket_opens_its_document_once() {
    let server = server();
    let chair = seeded(&server, "tickets").await;
    let jpn = Who::delegate("JPN");
    let t = ticket(&server, &jpn.token()).await;
    assert_eq!(t.len(), 43, "256 bits in base64url: {t}");

    let c = Client::connect(&ticket_url(&server, "tickets", &t))
        .await
        .unwrap();
    c.wait_synced(WAIT).await.unwrap();
    // It speaks for the token that asked for the ticket: the delegate's edit is accepted.
    append(c.doc(), 4, " [through a ticket]");
    chair
        .wait_until(WAIT, |d| text_of(d, 4).ends_with(" [through a ticket]"))
        .await
        .unwrap();

    // The same ticket again: refused before the upgrade, with a JSON reason.
    let again = handshake(&server, &format!("/sync/tickets?ticket={t}")).await;
    assert_refused("a used ticket", &again, 401, "already used or has expired");
    assert!(
        !again.1.to_string().contains(&t),
        "the refusal quotes the ticket"
    );
    match Client::connect(&ticket_url(&server, "tickets", &t)).await {
        Err(ClientError::Rejected { status, .. }) => assert_eq!(status, 401),
        Err(e) => panic!("unexpected error {e}"),
        Ok(_) => panic!("a used ticket opened a connection"),
    }
    // A made-up one neither.
    let made_up = handshake(&server, &format!("/sync/tickets?ticket={}", "A".repeat(43))).await;
    assert_refused(
        "an unknown ticket",
        &made_up,
        401,
        "already used or has expired",
    );
    // Every ticket is new.
    assert_ne!(ticket(&server, &jpn.token()).await, t);
}

#[tokio::test]
async fn an_expired_ticket_opens_nothing() {
    let server = server();
    let _chair = seeded(&server, "late").await;
    let token = Who::delegate("JPN").token();
    // A client may ask for a shorter life than the default 30 s (never a longer one).
    let (status, body) = post(&server, "/api/tickets", &token, r#"{"expires_in_s": 1}"#).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["expires_in_s"], 1, "{body}");
    let t = body["ticket"].as_str().unwrap().to_owned();
    for bad in [r#"{"expires_in_s": 0}"#, r#"{"expires_in_s": 31}"#, "{nope"] {
        let (status, body) = post(&server, "/api/tickets", &token, bad).await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert_eq!(body["error"], "bad-request", "{body}");
    }
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let got = handshake(&server, &format!("/sync/late?ticket={t}")).await;
    assert_refused(
        "an expired ticket",
        &got,
        401,
        "already used or has expired",
    );
}

#[tokio::test]
async fn a_ticket_opens_only_what_its_token_opens() {
    let server = server();
    let _chair = seeded(&server, "mine").await;
    let narrow = Who::delegate("JPN").docs(&["other"]).token();
    let t = ticket(&server, &narrow).await;
    let got = handshake(&server, &format!("/sync/mine?ticket={t}")).await;
    assert_refused("a document not in the token", &got, 403, "does not open");
    // Refused or not, a ticket is used once.
    let got = handshake(&server, &format!("/sync/other?ticket={t}")).await;
    assert_refused("the same ticket again", &got, 401, "already used");

    let fra = Who::delegate("FRA").token();
    let t = ticket(&server, &fra).await;
    let got = handshake(
        &server,
        &format!("/sync/mine/comments/delegation/JPN?ticket={t}"),
    )
    .await;
    assert_refused("another delegation's comments", &got, 403, "not yours");

    // No token, a bad token, an expired token: no ticket.
    let (status, body) = http(&server, "POST /api/tickets HTTP/1.1", "").await;
    assert_refused("no token", &(status, body), 401, "missing token");
    let (status, body) = post(&server, "/api/tickets", "nonsense", "").await;
    assert_refused("a bad token", &(status, body), 401, "invalid token");
    let mut expired = Who::observer().claims();
    expired.exp = unix_now() - 3600;
    expired.iat = expired.exp - 60;
    let (status, body) = post(&server, "/api/tickets", &sign(&expired), "").await;
    assert_refused("an expired token", &(status, body), 401, "expired");
}

#[tokio::test]
async fn tokens_in_the_query_and_the_header_still_work() {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let server = server();
    let chair = seeded(&server, "stock").await;
    // `?token=`, as stock y-websocket clients connect.
    let c = connect(&server, "stock", &Who::delegate("JPN")).await;
    append(c.doc(), 3, " [query token]");
    chair
        .wait_until(WAIT, |d| text_of(d, 3).ends_with(" [query token]"))
        .await
        .unwrap();
    // `Authorization: Bearer`.
    let mut request = format!("ws://{}/sync/stock", server.addr())
        .into_client_request()
        .unwrap();
    request.headers_mut().insert(
        "Authorization",
        format!("Bearer {}", Who::observer().token())
            .parse()
            .unwrap(),
    );
    let (_ws, response) = tokio_tungstenite::connect_async(request).await.unwrap();
    assert_eq!(response.status().as_u16(), 101);
    // And a ticket may be asked for with `?token=` too.
    let (status, body) = http(
        &server,
        &format!(
            "POST /api/tickets?token={} HTTP/1.1",
            Who::delegate("JPN").token()
        ),
        "",
    )
    .await;
    assert_eq!(status, 201, "{body}");
}

#[tokio::test]
async fn a_connection_opened_with_a_ticket_still_ends_with_its_token() {
    let server = server_with(&["--jwt-leeway-secs", "0"]);
    let _chair = seeded(&server, "ending").await;
    let short = Who::chair().ttl(Duration::from_secs(2)).token();
    let t = ticket(&server, &short).await;
    let c = Client::connect(&ticket_url(&server, "ending", &t))
        .await
        .unwrap();
    c.wait_synced(WAIT).await.unwrap();
    let close = c
        .wait_closed(Duration::from_secs(8))
        .await
        .unwrap()
        .expect("a close frame");
    assert_eq!(close.code, 4001, "{close:?}");
    assert!(close.reason.contains("token expired"), "{close:?}");
}

fn verifier() -> Verifier {
    Verifier::new(AuthConfig {
        key: VerifyKey::Hs256Secret(TEST_SECRET.as_bytes().to_vec()),
        issuer: TEST_ISSUER.into(),
        audience: TEST_AUDIENCE.into(),
        leeway_secs: 0,
    })
    .unwrap()
}

#[tokio::test]
async fn serve_dev_renews_a_token_with_the_same_claims() {
    let server = server_with(&["--dev"]);
    let _chair = seeded(&server, "renew").await;
    let now = unix_now();
    // Issued two hours ago for an hour: expired an hour ago.
    let mut old = Who::delegate("FRA")
        .groups(&["EU"])
        .docs(&["renew", "res-*"])
        .claims();
    old.iat = now - 7200;
    old.exp = now - 3600;
    let (status, body) = post(&server, "/api/dev/token", &sign(&old), "").await;
    assert_eq!(status, 200, "{body}");
    let fresh = body["token"].as_str().unwrap();
    assert_eq!(body["expires_in_s"], 3600, "the original lifetime: {body}");
    let p = verifier().verify(fresh, unix_now()).unwrap();
    assert_eq!(
        (
            p.sub.as_str(),
            p.name.as_str(),
            p.role,
            p.delegation.as_deref()
        ),
        (
            old.sub.as_str(),
            old.name.as_str(),
            old.role,
            old.delegation.as_deref()
        )
    );
    assert_eq!((p.groups, p.docs), (old.groups.clone(), old.docs.clone()));
    assert!(p.expires_at >= now + 3600 && p.expires_at <= unix_now() + 3600);
    // The renewed token opens the document.
    let c = Client::connect(&server.ws_url("renew", fresh))
        .await
        .unwrap();
    c.wait_synced(WAIT).await.unwrap();

    // A long-lived original gets at most 8 h.
    let long = Who::chair()
        .ttl(Duration::from_secs(30 * 24 * 3600))
        .token();
    let (status, body) = post(&server, "/api/dev/token", &long, "").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["expires_in_s"], 8 * 3600, "{body}");

    // Expired more than a day ago: refused.
    let mut ancient = old.clone();
    ancient.iat = now - 3 * 24 * 3600;
    ancient.exp = now - 2 * 24 * 3600;
    let got = post(&server, "/api/dev/token", &sign(&ancient), "").await;
    assert_refused("expired two days ago", &got, 401, "expired");

    // Signed with another secret, or for another audience or issuer: refused.
    let other = Minter::hs256(b"another-secret-that-is-long-enough-0123456789")
        .unwrap()
        .mint(&old)
        .unwrap();
    let got = post(&server, "/api/dev/token", &other, "").await;
    assert_refused("another secret", &got, 401, "signature");
    let mut aud = old.clone();
    aud.aud = "someone-else".into();
    let got = post(&server, "/api/dev/token", &sign(&aud), "").await;
    assert_refused("another audience", &got, 401, "audience");
    let mut iss = old.clone();
    iss.iss = "someone-else".into();
    let got = post(&server, "/api/dev/token", &sign(&iss), "").await;
    assert_refused("another issuer", &got, 401, "issuer");
    let got = http(&server, "POST /api/dev/token HTTP/1.1", "").await;
    assert_refused("no token", &got, 401, "missing token");
}

#[tokio::test]
async fn without_dev_there_is_no_token_renewal() {
    let server = server();
    let got = post(&server, "/api/dev/token", &Who::chair().token(), "").await;
    assert_refused("renewal without --dev", &got, 404, "not found");
}
