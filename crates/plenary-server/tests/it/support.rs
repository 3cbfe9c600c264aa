//! Small helpers local to this test binary.

use std::time::Duration;

pub use plenary_test_support::*;

pub const WAIT: Duration = Duration::from_secs(10);

pub fn bin() -> &'static std::path::Path {
    std::path::Path::new(env!("CARGO_BIN_EXE_plenary"))
}

pub fn server() -> TestServer {
    TestServer::start(bin(), ServerOptions::default())
}

/// A node of a cluster on `redis`, named `node`.
pub fn redis_server(redis: &RedisServer, node: &str) -> TestServer {
    redis_node(&redis.url(), node)
}

/// A node on the Redis (or Redis Cluster) at `url`.
pub fn redis_node(url: &str, node: &str) -> TestServer {
    TestServer::start(
        bin(),
        ServerOptions {
            redis: Some(url.to_owned()),
            args: vec!["--node-id".into(), node.into()],
            ..Default::default()
        },
    )
}

pub fn server_with(args: &[&str]) -> TestServer {
    TestServer::start(
        bin(),
        ServerOptions {
            args: args.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        },
    )
}

pub async fn connect(server: &TestServer, doc: &str, who: &Who) -> Client {
    let client = Client::connect(&server.ws_url(doc, &who.token()))
        .await
        .expect("connect");
    client.wait_synced(WAIT).await.expect("synced");
    client
}

use plenary_doc::{Resolution, ResolutionDoc};
use yrs::updates::decoder::Decode;
use yrs::{Array, ArrayRef, GetString, Map, MapRef, Out, ReadTxn, Text, TextRef, Transact, Update};

/// The fixture, imported.
pub fn fixture() -> Resolution {
    let text = include_str!("../../../../tests/fixtures/reducing-reoffending-2021-rev1.txt");
    plenary_doc::import_text(text)
        .expect("fixture imports")
        .resolution
}

/// Writes a whole resolution into a (chair's) client document, as one update.
pub fn seed(client: &Client, resolution: &Resolution) {
    let state = ResolutionDoc::from_resolution(resolution)
        .expect("build")
        .encode_state();
    let update = Update::decode_v1(&state).expect("decode");
    client
        .doc()
        .transact_mut()
        .apply_update(update)
        .expect("apply");
}

/// A chair seeds `doc` with the fixture and waits until the server has it.
pub async fn seeded(server: &TestServer, doc: &str) -> Client {
    let chair = connect(server, doc, &Who::chair()).await;
    seed(&chair, &fixture());
    // A fresh reader proves the server holds it.
    let probe = connect(server, doc, &Who::observer()).await;
    probe
        .wait_until(WAIT, |d| paragraph_count(d) == 13)
        .await
        .expect("seeded document reaches other clients");
    chair
}

pub fn paragraphs(doc: &yrs::Doc) -> ArrayRef {
    doc.get_or_insert_array("paragraphs")
}

pub fn paragraph_count(doc: &yrs::Doc) -> u32 {
    let arr = paragraphs(doc);
    arr.len(&doc.transact())
}

fn paragraph_map<T: ReadTxn>(arr: &ArrayRef, txn: &T, index: u32) -> MapRef {
    match arr.get(txn, index) {
        Some(Out::YMap(m)) => m,
        other => panic!("paragraph {index} is not a map: {other:?}"),
    }
}

/// `doc.get_or_insert_*` opens a write transaction: always get the root
/// before opening a read transaction.
fn paragraph_text_ref<T: ReadTxn>(arr: &ArrayRef, txn: &T, index: u32) -> TextRef {
    let m = paragraph_map(arr, txn, index);
    match m.get(txn, "text") {
        Some(Out::YText(t)) => t,
        other => panic!("paragraph {index} has no text: {other:?}"),
    }
}

/// The plain text of the paragraph at `index`.
pub fn text_of(doc: &yrs::Doc, index: u32) -> String {
    let arr = paragraphs(doc);
    let txn = doc.transact();
    paragraph_text_ref(&arr, &txn, index).get_string(&txn)
}

/// All paragraph texts, in order.
pub fn all_texts(doc: &yrs::Doc) -> Vec<String> {
    (0..paragraph_count(doc)).map(|i| text_of(doc, i)).collect()
}

/// Types `s` at character `pos` of paragraph `index` (one transaction).
pub fn type_at(doc: &yrs::Doc, index: u32, pos: u32, s: &str) {
    let arr = paragraphs(doc);
    let text = {
        let txn = doc.transact();
        paragraph_text_ref(&arr, &txn, index)
    };
    let mut txn = doc.transact_mut();
    text.insert(&mut txn, pos, s);
}

/// Appends `s` to paragraph `index`.
pub fn append(doc: &yrs::Doc, index: u32, s: &str) {
    let arr = paragraphs(doc);
    let len = {
        let txn = doc.transact();
        paragraph_text_ref(&arr, &txn, index).len(&txn)
    };
    type_at(doc, index, len, s);
}

/// Writes a field of the paragraph map at `index` (e.g. `status`).
pub fn set_field(doc: &yrs::Doc, index: u32, key: &str, value: &str) {
    let arr = paragraphs(doc);
    let m = {
        let txn = doc.transact();
        paragraph_map(&arr, &txn, index)
    };
    let mut txn = doc.transact_mut();
    m.insert(&mut txn, key.to_string(), value.to_string());
}

pub fn field(doc: &yrs::Doc, index: u32, key: &str) -> Option<String> {
    let arr = paragraphs(doc);
    let txn = doc.transact();
    let m = paragraph_map(&arr, &txn, index);
    match m.get(&txn, key) {
        Some(Out::Any(yrs::Any::String(s))) => Some(s.to_string()),
        _ => None,
    }
}

/// A `meta` value as text.
pub fn meta_value(doc: &yrs::Doc, key: &str) -> Option<String> {
    let meta = doc.get_or_insert_map("meta");
    let txn = doc.transact();
    meta.get(&txn, key).map(|v| v.to_string(&txn))
}

/// Writes a `meta` key.
pub fn set_meta(doc: &yrs::Doc, key: &str, value: &str) {
    let meta = doc.get_or_insert_map("meta");
    let mut txn = doc.transact_mut();
    meta.insert(&mut txn, key.to_string(), value.to_string());
}

/// The state of a client's document, encoded (to build a mirror of it).
pub fn state_of(d: &yrs::Doc) -> Vec<u8> {
    d.transact()
        .encode_state_as_update_v1(&yrs::StateVector::default())
}

/// The next permission-denied reason among `events`.
pub async fn next_denial(events: &mut tokio::sync::broadcast::Receiver<Event>) -> String {
    tokio::time::timeout(WAIT, async {
        loop {
            if let Ok(Event::Denied(r)) = events.recv().await {
                return r;
            }
        }
    })
    .await
    .expect("a permission-denied message")
}

/// Runs `act` on `client` and expects a denial naming `rule`.
pub async fn expect_denial(client: &Client, rule: &str, act: impl FnOnce(&Client)) {
    let mut events = client.events();
    act(client);
    let reason = next_denial(&mut events).await;
    assert!(reason.contains(rule), "expected {rule}, got: {reason}");
}

// ---- Helpers added for the refusal tests (refusals.rs) -----------------------

/// A GET over plain HTTP/1.1 (no client library): status and body, chunked
/// bodies joined.
pub async fn http_get(server: &TestServer, path: &str, who: &Who) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(server.addr())
        .await
        .expect("connect for HTTP");
    let req = format!(
        "GET {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\nConnection: close\r\n\r\n",
        server.addr(),
        who.token()
    );
    stream
        .write_all(req.as_bytes())
        .await
        .expect("send request");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.expect("read response");
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, rest) = text.split_once("\r\n\r\n").expect("an HTTP response");
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status code");
    if !head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        return (status, rest.to_owned());
    }
    let (mut body, mut s) = (String::new(), rest);
    while let Some((size, tail)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).expect("chunk size");
        if n == 0 {
            break;
        }
        body.push_str(&tail[..n]);
        s = &tail[n + 2..];
    }
    (status, body)
}

/// A client that keeps a copy of every frame it receives.
pub async fn recording(server: &TestServer, doc: &str, who: &Who) -> Client {
    let c = Client::connect_with(
        &server.ws_url(doc, &who.token()),
        ClientOptions {
            record_frames: true,
            ..Default::default()
        },
    )
    .await
    .expect("connect");
    c.wait_synced(WAIT).await.expect("synced");
    c
}

/// Whether any frame `client` received holds `needle`'s bytes.
pub fn frames_hold(client: &Client, needle: &str) -> bool {
    client
        .frames()
        .iter()
        .any(|f| f.windows(needle.len()).any(|w| w == needle.as_bytes()))
}

/// Runs a `ResolutionDoc` operation on `client`'s state under its own client
/// id and sends the result through its document, as a client built on the
/// doc crate would.
pub fn as_client<R>(client: &Client, op: impl FnOnce(&mut plenary_doc::ResolutionDoc) -> R) -> R {
    use yrs::updates::decoder::Decode;
    let d = client.doc();
    let state = d
        .transact()
        .encode_state_as_update_v1(&yrs::StateVector::default());
    let mut rd =
        plenary_doc::ResolutionDoc::from_update_with_client_id(d.client_id().get(), &state)
            .expect("mirror");
    let before = rd.doc().transact().state_vector();
    let r = op(&mut rd);
    let update = rd.doc().transact().encode_state_as_update_v1(&before);
    d.transact_mut()
        .apply_update(yrs::Update::decode_v1(&update).expect("decode"))
        .expect("apply");
    r
}

/// A state vector as a map of the clients with anything in it.
pub fn sv_map(sv: &yrs::StateVector) -> std::collections::BTreeMap<u64, u32> {
    sv.iter()
        .filter(|(_, clock)| **clock > 0)
        .map(|(client, clock)| (client.get(), *clock))
        .collect()
}

/// Waits until two clients hold the same state (same state vector).
pub async fn converged(a: &Client, b: &Client) {
    let sv = |d: &yrs::Doc| d.transact().state_vector();
    let deadline = tokio::time::Instant::now() + WAIT;
    while sv(a.doc()) != sv(b.doc()) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the clients never converged"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}
