//! Real-time sync over real sockets (issue 3): convergence, late joiners,
//! awareness, bad input, slow readers, shutdown.

use std::time::{Duration, Instant};

use futures_util::SinkExt;
use tokio_tungstenite::tungstenite::Message;

use crate::support::*;

#[tokio::test]
async fn two_clients_converge_on_different_and_same_paragraphs() {
    let server = server();
    let chair = seeded(&server, "two").await;
    let a = connect(&server, "two", &Who::delegate("JPN")).await;
    let b = connect(&server, "two", &Who::delegate("FRA")).await;
    a.wait_until(WAIT, |d| paragraph_count(d) == 13)
        .await
        .unwrap();
    b.wait_until(WAIT, |d| paragraph_count(d) == 13)
        .await
        .unwrap();

    // Different paragraphs, concurrently.
    for i in 0..20 {
        append(a.doc(), 5, &format!(" a{i}"));
        append(b.doc(), 6, &format!(" b{i}"));
    }
    // The same paragraph, concurrently, at the same place.
    for i in 0..20 {
        type_at(a.doc(), 7, 0, &format!("A{i} "));
        type_at(b.doc(), 7, 0, &format!("B{i} "));
    }
    async fn converged(c: &Client, other: &Client) -> Result<(), plenary_client::ClientError> {
        let want = all_texts(other.doc());
        c.wait_until(WAIT, move |d| all_texts(d) == want).await
    }
    // Each side must end with both sides' text; then all three agree.
    a.wait_until(WAIT, |d| {
        text_of(d, 6).ends_with(" b19") && text_of(d, 7).contains("B19 ")
    })
    .await
    .unwrap();
    b.wait_until(WAIT, |d| {
        text_of(d, 5).ends_with(" a19") && text_of(d, 7).contains("A19 ")
    })
    .await
    .unwrap();
    converged(&a, &b).await.unwrap();
    converged(&chair, &a).await.unwrap();
    assert_eq!(all_texts(a.doc()), all_texts(b.doc()));
    let op3 = text_of(a.doc(), 7);
    for i in 0..20 {
        assert!(
            op3.contains(&format!("A{i} ")) && op3.contains(&format!("B{i} ")),
            "{op3}"
        );
    }
}

#[tokio::test]
async fn fifty_clients_converge() {
    let server = server();
    let _chair = seeded(&server, "fifty").await;
    let mut clients = Vec::new();
    for i in 0..50 {
        let who = Who::delegate(&format!("D{i:02}"));
        clients.push(connect(&server, "fifty", &who).await);
    }
    for c in &clients {
        c.wait_until(WAIT, |d| paragraph_count(d) == 13)
            .await
            .unwrap();
    }
    // Half type in their own paragraph (5..13), half all in OP1 (index 5).
    for round in 0..5 {
        for (i, c) in clients.iter().enumerate() {
            let para = if i % 2 == 0 { 5 } else { 5 + (i as u32 % 8) };
            append(c.doc(), para, &format!(" c{i}r{round}"));
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let reference = connect(&server, "fifty", &Who::observer()).await;
    let all_there = |d: &yrs::Doc| {
        let all = all_texts(d).join("|");
        (0..50).all(|i| all.contains(&format!(" c{i}r4")))
    };
    reference
        .wait_until(Duration::from_secs(30), all_there)
        .await
        .unwrap();
    let want = all_texts(reference.doc());
    for c in &clients {
        let want = want.clone();
        c.wait_until(Duration::from_secs(30), move |d| all_texts(d) == want)
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn late_joiner_gets_the_full_state() {
    let server = server();
    let chair = seeded(&server, "late").await;
    append(chair.doc(), 12, " As amended.");
    let late = connect(&server, "late", &Who::observer()).await;
    late.wait_until(WAIT, |d| text_of(d, 12).ends_with(" As amended."))
        .await
        .unwrap();
    assert_eq!(all_texts(late.doc()), all_texts(chair.doc()));
    assert!(text_of(late.doc(), 0).starts_with("Recalling the outcome of the Fourteenth"));
}

#[tokio::test]
async fn awareness_appears_and_disappears() {
    let server = server();
    let _chair = seeded(&server, "aw").await;
    let a = connect(&server, "aw", &Who::delegate("JPN")).await;
    let b = connect(&server, "aw", &Who::delegate("FRA")).await;
    a.set_awareness(&serde_json::json!({"user": {"name": "Delegate of Japan", "delegation": "JPN", "color": "#c00"}, "paragraph": "p6"}));
    let deadline = Instant::now() + WAIT;
    while !b
        .awareness_states()
        .iter()
        .any(|(_, s)| s["user"]["delegation"] == "JPN")
    {
        assert!(Instant::now() < deadline, "b never saw a's presence");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // A late joiner sees it too.
    let c = connect(&server, "aw", &Who::observer()).await;
    let deadline = Instant::now() + WAIT;
    while !c
        .awareness_states()
        .iter()
        .any(|(_, s)| s["paragraph"] == "p6")
    {
        assert!(
            Instant::now() < deadline,
            "late joiner never saw a's presence"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Presence names the user, delegation and role of the token, whatever
    // the client claims.
    let spoof = connect(&server, "aw", &Who::delegate("DEU")).await;
    spoof.set_awareness(
        &serde_json::json!({"user": {"name": "Not really", "delegation": "USA", "role": "chair"}}),
    );
    let deadline = Instant::now() + WAIT;
    while !b
        .awareness_states()
        .iter()
        .any(|(_, s)| s["user"]["delegation"] == "DEU")
    {
        assert!(
            Instant::now() < deadline,
            "b never saw the spoofer's presence"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let claimed: Vec<_> = b
        .awareness_states()
        .into_iter()
        .filter(|(_, s)| s["user"]["delegation"] == "DEU")
        .collect();
    assert_eq!(
        claimed[0].1["user"]["name"], "Delegate of DEU",
        "{claimed:?}"
    );
    assert_eq!(claimed[0].1["user"]["role"], "delegate", "{claimed:?}");
    assert!(
        !b.awareness_states()
            .iter()
            .any(|(_, s)| s["user"]["name"] == "Not really" || s["user"]["delegation"] == "USA"),
        "the spoofed identity reached another client"
    );
    a.close().await;
    let deadline = Instant::now() + WAIT;
    while b
        .awareness_states()
        .iter()
        .any(|(_, s)| s["user"]["delegation"] == "JPN")
    {
        assert!(
            Instant::now() < deadline,
            "a's presence outlived its connection"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn oversize_message_closes_only_its_sender() {
    let server = server_with(&["--max-message-bytes", "20000"]);
    let chair = seeded_small(&server, "big").await;
    let a = connect(&server, "big", &Who::chair()).await;
    let b = connect(&server, "big", &Who::delegate("FRA")).await;
    append(a.doc(), 5, &"x".repeat(50_000));
    let close = a.wait_closed(WAIT).await.unwrap().expect("a close frame");
    assert_eq!(close.code, 1009, "{close:?}");
    assert!(close.reason.contains("too big"), "{close:?}");
    assert!(
        close.reason.contains("20000"),
        "the reason names the limit: {close:?}"
    );
    // Nothing of it was applied: others keep working on the old text.
    append(b.doc(), 6, " still here");
    chair
        .wait_until(WAIT, |d| text_of(d, 6).ends_with(" still here"))
        .await
        .unwrap();
    assert!(!text_of(chair.doc(), 5).contains("xxxx"));
    let fresh = connect(&server, "big", &Who::observer()).await;
    assert!(!text_of(fresh.doc(), 5).contains("xxxx"));
}

/// Seeding the fixture is one ~8 kB update: fine under a 20 kB limit.
async fn seeded_small(server: &TestServer, doc: &str) -> Client {
    seeded(server, doc).await
}

#[tokio::test]
async fn garbage_and_malformed_updates_are_rejected_while_others_keep_working() {
    let server = server();
    let chair = seeded(&server, "garbage").await;
    let other = connect(&server, "garbage", &Who::delegate("FRA")).await;

    // Truncated y-protocols message.
    let bad = connect(&server, "garbage", &Who::chair()).await;
    bad.send_raw(vec![0, 2, 200]);
    let close = bad.wait_closed(WAIT).await.unwrap().expect("close frame");
    assert_eq!(close.code, 1002, "{close:?}");

    // A well-framed update message whose update is garbage.
    let bad2 = connect(&server, "garbage", &Who::chair()).await;
    bad2.send_raw(vec![0, 2, 5, 0xff, 0xff, 0xff, 0xff, 0xff]);
    let close = bad2.wait_closed(WAIT).await.unwrap().expect("close frame");
    assert!(close.code == 1007 || close.code == 1002, "{close:?}");
    assert!(close.reason.contains("malformed"), "{close:?}");

    // Unknown message types are ignored, text frames too: the connection stays.
    let odd = connect(&server, "garbage", &Who::chair()).await;
    odd.send_raw(vec![7, 3, 1, 2, 3]);
    odd.send_text("hello");
    append(odd.doc(), 8, " after noise");
    other
        .wait_until(WAIT, |d| text_of(d, 8).ends_with(" after noise"))
        .await
        .unwrap();
    assert!(!odd.is_closed());

    // The room is not poisoned.
    append(chair.doc(), 9, " fine");
    other
        .wait_until(WAIT, |d| text_of(d, 9).ends_with(" fine"))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_slow_reader_is_dropped_and_others_are_not_delayed() {
    // 100 appends of 256 KiB: far over the default size caps, lifted here.
    let server = server_with(&[
        "--outgoing-queue",
        "16",
        "--max-paragraph-chars",
        "100000000",
        "--max-document-bytes",
        "1000000000",
    ]);
    let chair = seeded(&server, "slow").await;
    let fast = connect(&server, "slow", &Who::delegate("FRA")).await;
    fast.wait_until(WAIT, |d| paragraph_count(d) == 13)
        .await
        .unwrap();

    // A raw client that sends its sync step 1 and then never reads.
    let url = server.ws_url("slow", &Who::observer().token());
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    ws.send(Message::Binary(vec![0, 0, 1, 0].into()))
        .await
        .unwrap();

    // Big updates fill its socket buffers, then its queue.
    let mut worst = Duration::ZERO;
    for i in 0..100 {
        let marker = format!(" m{i}");
        let start = Instant::now();
        append(
            chair.doc(),
            5 + (i % 8),
            &format!("{}{marker}", "y".repeat(256 * 1024)),
        );
        fast.wait_until(WAIT, |d| text_of(d, 5 + (i % 8)).ends_with(&marker))
            .await
            .unwrap();
        worst = worst.max(start.elapsed());
    }
    assert!(
        worst < Duration::from_secs(2),
        "a fast client waited {worst:?} behind a slow one"
    );
    let metrics = reqwest_metrics(&server).await;
    assert!(
        metrics.contains("plenary_slow_consumers_total 1"),
        "{metrics}"
    );
    drop(ws);
}

async fn reqwest_metrics(server: &TestServer) -> String {
    http_get(&format!("{}/metrics", server.http_url())).await
}

/// A minimal HTTP GET over a raw socket (the tests need no HTTP client crate).
pub async fn http_get(url: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest
        .split_once('/')
        .map(|(h, p)| (h, format!("/{p}")))
        .unwrap_or((rest, "/".into()));
    let mut s = tokio::net::TcpStream::connect(host).await.unwrap();
    s.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .await
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    out
}

#[tokio::test]
async fn sigterm_closes_connections_with_going_away_and_keeps_everything() {
    let mut server = server();
    let chair = seeded(&server, "term").await;
    append(chair.doc(), 5, " before shutdown");
    let reader = connect(&server, "term", &Who::observer()).await;
    reader
        .wait_until(WAIT, |d| text_of(d, 5).ends_with(" before shutdown"))
        .await
        .unwrap();
    assert!(server.terminate(Duration::from_secs(15)), "clean exit");
    let close = reader
        .wait_closed(WAIT)
        .await
        .unwrap()
        .expect("close frame");
    assert_eq!(close.code, 1001, "{close:?}");
    server.restart();
    let again = connect(&server, "term", &Who::observer()).await;
    again
        .wait_until(WAIT, |d| {
            paragraph_count(d) == 13 && text_of(d, 5).ends_with(" before shutdown")
        })
        .await
        .unwrap();
}

#[tokio::test]
async fn an_idle_room_unloads_and_reloads_with_everything() {
    let server = server_with(&["--room-idle-secs", "1"]);
    let chair = seeded(&server, "idle").await;
    append(chair.doc(), 5, " kept");
    let reader = connect(&server, "idle", &Who::observer()).await;
    reader
        .wait_until(WAIT, |d| text_of(d, 5).ends_with(" kept"))
        .await
        .unwrap();
    chair.close().await;
    reader.close().await;
    let deadline = Instant::now() + WAIT;
    loop {
        let m = http_get(&format!("{}/metrics", server.http_url())).await;
        if m.contains("plenary_rooms_loaded 0") {
            break;
        }
        assert!(Instant::now() < deadline, "room never unloaded: {m}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let again = connect(&server, "idle", &Who::observer()).await;
    again
        .wait_until(WAIT, |d| {
            paragraph_count(d) == 13 && text_of(d, 5).ends_with(" kept")
        })
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn joiners_sync_promptly_while_others_type() {
    let server = server();
    let _chair = seeded(&server, "busy").await;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut writers = Vec::new();
    for w in 0..2u32 {
        let typist = connect(&server, "busy", &Who::chair()).await;
        let flag = stop.clone();
        writers.push(tokio::spawn(async move {
            let mut i = 0;
            while !flag.load(std::sync::atomic::Ordering::Relaxed) {
                append(typist.doc(), 5 + w, "x");
                i += 1;
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            (typist, i)
        }));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Every joiner gets its sync step 2 while commits keep coming.
    for _ in 0..5 {
        let start = Instant::now();
        let c = connect(&server, "busy", &Who::observer()).await;
        assert!(
            start.elapsed() < Duration::from_secs(2),
            "sync took {:?}",
            start.elapsed()
        );
        assert_eq!(paragraph_count(c.doc()), 13);
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut typists = Vec::new();
    for w in writers {
        let (typist, typed) = w.await.unwrap();
        assert!(typed > 50, "the typist kept typing ({typed} edits)");
        typists.push(typist);
    }
    let want: Vec<String> = (0..2)
        .map(|w| text_of(typists[w].doc(), 5 + w as u32))
        .collect();
    let last = connect(&server, "busy", &Who::observer()).await;
    last.wait_until(WAIT, move |d| {
        (0..2).map(|w| text_of(d, 5 + w)).collect::<Vec<_>>() == want
    })
    .await
    .unwrap();
}

/// Fresh pages get the whole document from one cached encoding until it changes: a change made
/// of deletions alone (which moves no state vector) must still reach the next fresh page, as must
/// an insertion.
#[tokio::test]
async fn every_fresh_page_gets_the_document_as_it_is_now_after_deletions_too() {
    let server = server();
    server.ensure_doc("fresh-pages");
    let chair = seeded(&server, "fresh-pages").await;
    let first = connect(&server, "fresh-pages", &Who::observer()).await;
    first
        .wait_until(WAIT, |d| paragraph_count(d) == 13)
        .await
        .unwrap();
    let before = text_of(chair.doc(), 2);
    // Delete the first five characters of paragraph 2: deletions only.
    {
        use yrs::{Array, Map, Transact};
        let arr = paragraphs(chair.doc());
        let text = {
            let txn = chair.doc().transact();
            let p: yrs::MapRef = arr.get(&txn, 2).unwrap().cast().unwrap();
            p.get(&txn, "text").unwrap().cast::<yrs::TextRef>().unwrap()
        };
        let mut txn = chair.doc().transact_mut();
        yrs::Text::remove_range(&text, &mut txn, 0, 5);
    }
    let want = before.chars().skip(5).collect::<String>();
    first
        .wait_until(WAIT, |d| text_of(d, 2) == want)
        .await
        .unwrap();
    let second = connect(&server, "fresh-pages", &Who::observer()).await;
    second
        .wait_until(WAIT, |d| paragraph_count(d) == 13)
        .await
        .unwrap();
    assert_eq!(
        text_of(second.doc(), 2),
        want,
        "a fresh page got the text before the deletion"
    );
    append(chair.doc(), 2, " (added)");
    first
        .wait_until(WAIT, |d| text_of(d, 2).ends_with("(added)"))
        .await
        .unwrap();
    let third = connect(&server, "fresh-pages", &Who::observer()).await;
    third
        .wait_until(WAIT, |d| paragraph_count(d) == 13)
        .await
        .unwrap();
    assert!(text_of(third.doc(), 2).ends_with("(added)"));
}
