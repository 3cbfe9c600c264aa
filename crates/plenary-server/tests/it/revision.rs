//! Naming a version tells every open page (issue 14): the server writes meta `revision`
//! into the document as the namer's change, no client may write that key, and
//! `GET /versions` gives the last version's base order (what provisional labels such as
//! OP2bis are computed against).

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::*;

const DOC: &str = "res-revision";

async fn post(server: &TestServer, path: &str, who: &Who, body: Value) -> (u16, String) {
    let mut stream = tokio::net::TcpStream::connect(server.addr()).await.unwrap();
    let body = body.to_string();
    let req = format!(
        "POST {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        server.addr(),
        who.token(),
        body.len()
    );
    stream.write_all(req.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.unwrap();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, rest) = text.split_once("\r\n\r\n").unwrap();
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    (status, rest.to_owned())
}

#[tokio::test]
async fn naming_a_version_writes_the_revision_into_every_open_page() {
    let server = server();
    let chair = Who::chair();
    let fixture = include_str!("../../../../tests/fixtures/reducing-reoffending-2021-rev1.txt");
    let (s, b) = post(
        &server,
        "/api/docs",
        &chair,
        json!({"name": DOC, "text": fixture}),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    let jpn = Who::delegate("JPN");
    let c_jpn = connect(&server, DOC, &jpn).await;
    let c_chair = connect(&server, DOC, &chair).await;

    // Nobody writes the key themselves, the chair neither.
    expect_denial(&c_jpn, "meta.revision", |c| {
        set_meta(c.doc(), "revision", "Rev.9")
    })
    .await;
    expect_denial(&c_chair, "meta.revision", |c| {
        set_meta(c.doc(), "revision", "Rev.9")
    })
    .await;
    for c in [&c_jpn, &c_chair] {
        c.wait_until(WAIT, |d| meta_value(d, "revision").is_none())
            .await
            .expect("the forged revision is reverted");
    }

    // No version yet: no base order.
    let (s, b) = http_get(&server, &format!("/api/docs/{DOC}/versions"), &jpn).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(serde_json::from_str::<Value>(&b).unwrap(), json!([]));

    let (s, b) = post(
        &server,
        &format!("/api/docs/{DOC}/versions"),
        &chair,
        json!({"name": "Rev.1"}),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    for c in [&c_jpn, &c_chair] {
        c.wait_until(WAIT, |d| {
            meta_value(d, "revision").as_deref() == Some("Rev.1")
        })
        .await
        .expect("every open page learns the version's name");
    }
    // Logged as the chair's change.
    let (_, b) = http_get(&server, &format!("/api/docs/{DOC}/timeline"), &jpn).await;
    let t: Value = serde_json::from_str(&b).unwrap();
    let last = t.as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["user"], chair.claims().sub.as_str(), "{last}");

    // The last version carries its base order: the paragraphs as they stood.
    let (s, b) = http_get(&server, &format!("/api/docs/{DOC}/versions"), &jpn).await;
    assert_eq!(s, 200, "{b}");
    let vs: Value = serde_json::from_str(&b).unwrap();
    let base = &vs[0]["base_order"]["paragraphs"];
    assert_eq!(
        base.as_array().unwrap().len(),
        paragraph_count(c_jpn.doc()) as usize,
        "{vs}"
    );
    assert_eq!(base[0]["kind"], "preambular");
    assert!(
        base[0]["id"].is_string() && base[0]["level"].is_number(),
        "{base}"
    );

    // A second version: only the last one carries a base order, and pages hear of it.
    let (s, b) = post(
        &server,
        &format!("/api/docs/{DOC}/versions"),
        &chair,
        json!({"name": "Rev.2"}),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    c_jpn
        .wait_until(WAIT, |d| {
            meta_value(d, "revision").as_deref() == Some("Rev.2")
        })
        .await
        .expect("the next version reaches the page too");
    let (_, b) = http_get(&server, &format!("/api/docs/{DOC}/versions"), &jpn).await;
    let vs: Value = serde_json::from_str(&b).unwrap();
    assert!(vs[0].get("base_order").is_none(), "{vs}");
    assert!(vs[1]["base_order"]["paragraphs"].is_array(), "{vs}");
}
