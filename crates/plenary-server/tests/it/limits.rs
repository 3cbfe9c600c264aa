//! Size caps on paragraphs, footnotes, paragraph and proposal counts and document size: refusals that name the cap.
//!
//! Each cap is passed the way a client meets it: one update goes over the
//! cap while another part of the same update is allowed. The sender is
//! told which cap (permission-denied naming it), the allowed part lands,
//! the refused content reaches no other client (not a frame of it) and is
//! not in the server's state (a fresh client), and the sender converges to
//! that state. The chair is held to the caps like everyone else, and so is
//! an import through the HTTP API.

use plenary_doc::{Proposal, ProposalAction, ProposalStatus, ResolutionDoc};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use yrs::{Array, Map, Out, Text, TextRef, Transact};

use crate::support::*;

/// The paragraph text refs of a client's document, read before a write
/// transaction opens.
fn paragraph_texts(doc: &yrs::Doc) -> Vec<TextRef> {
    let arr = paragraphs(doc);
    let txn = doc.transact();
    arr.iter(&txn)
        .map(|v| match v {
            Out::YMap(m) => match m.get(&txn, "text") {
                Some(Out::YText(t)) => t,
                other => panic!("a paragraph without text: {other:?}"),
            },
            other => panic!("a paragraph that is not a map: {other:?}"),
        })
        .collect()
}

fn len_of(doc: &yrs::Doc, index: u32) -> u32 {
    text_of(doc, index).encode_utf16().count() as u32
}

/// `n` characters of a recognisable filler (`word` repeated).
fn filler(word: &str, n: usize) -> String {
    word.chars().cycle().take(n).collect()
}

/// A server with `args`, the fixture seeded by the chair, and a witness
/// that records every frame it receives.
async fn setup(args: &[&str], doc: &str) -> (TestServer, Client, Client) {
    let server = server_with(args);
    let chair = seeded(&server, doc).await;
    let witness = recording(&server, doc, &Who::observer()).await;
    witness
        .wait_until(WAIT, |d| paragraph_count(d) == 13)
        .await
        .unwrap();
    (server, chair, witness)
}

/// A fresh client's view: what the server holds.
async fn fresh(server: &TestServer, doc: &str) -> Client {
    let c = connect(server, doc, &Who::observer()).await;
    c.wait_until(WAIT, |d| paragraph_count(d) > 0)
        .await
        .unwrap();
    c
}

/// The sender, a fresh client and the witness hold the same state, and
/// none of them (nor any frame the witness received) holds `refused`.
async fn refused_everywhere(
    server: &TestServer,
    doc: &str,
    sender: &Client,
    witness: &Client,
    refused: &str,
) {
    let probe = fresh(server, doc).await;
    converged(sender, &probe).await;
    converged(witness, &probe).await;
    let texts = all_texts(probe.doc());
    assert_eq!(all_texts(sender.doc()), texts, "the sender converged");
    assert!(
        !texts.iter().any(|t| t.contains(refused)),
        "the server holds refused text"
    );
    assert!(
        !String::from_utf8_lossy(&state_of(probe.doc())).contains(refused),
        "the server's state holds refused text"
    );
    assert!(
        !frames_hold(witness, refused),
        "another client received refused text"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paste_over_the_paragraph_cap_is_refused_naming_it_and_the_rest_lands() {
    let doc = "limits-paragraph";
    let (server, _chair, witness) = setup(&["--max-paragraph-chars", "1000"], doc).await;
    let jpn = connect(&server, doc, &Who::delegate("JPN")).await;
    jpn.wait_until(WAIT, |d| paragraph_count(d) == 13)
        .await
        .unwrap();
    let len = len_of(jpn.doc(), 5);
    let paste = filler("OVERSIZE ", 1001 - len as usize);
    let texts = paragraph_texts(jpn.doc());
    expect_denial(&jpn, "[limits.paragraph-chars]", |c| {
        let mut txn = c.doc().transact_mut();
        texts[5].insert(&mut txn, len, &paste);
        texts[6].insert(&mut txn, 0, "ALLOWED EDIT ");
    })
    .await;
    let denial = jpn.denials().join("\n");
    assert!(
        denial.contains("would be 1 001 characters; the limit is 1 000"),
        "{denial}"
    );
    witness
        .wait_until(WAIT, |d| text_of(d, 6).starts_with("ALLOWED EDIT "))
        .await
        .expect("the allowed part of the update lands");
    refused_everywhere(&server, doc, &jpn, &witness, "OVERSIZE").await;
    assert_eq!(len_of(witness.doc(), 5), len);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paste_up_to_the_paragraph_cap_is_accepted_and_deletions_always_are() {
    let doc = "limits-paragraph-fits";
    let (server, chair, witness) = setup(&["--max-paragraph-chars", "1000"], doc).await;
    let len = len_of(chair.doc(), 3);
    append(chair.doc(), 3, &filler("FITS ", 1000 - len as usize));
    witness
        .wait_until(WAIT, |d| len_of(d, 3) == 1000)
        .await
        .expect("a paste up to the cap is accepted");
    // at the cap: one more character is refused, a deletion is not
    expect_denial(&chair, "[limits.paragraph-chars]", |c| {
        append(c.doc(), 3, "X")
    })
    .await;
    let texts = paragraph_texts(chair.doc());
    {
        let mut txn = chair.doc().transact_mut();
        texts[3].remove_range(&mut txn, 0, 10);
    }
    witness
        .wait_until(WAIT, |d| len_of(d, 3) == 990)
        .await
        .expect("a deletion at the cap lands");
    let probe = fresh(&server, doc).await;
    converged(&chair, &probe).await;
    assert_eq!(len_of(probe.doc(), 3), 990);
    assert!(chair.denials().len() == 1, "{:?}", chair.denials());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_footnote_over_its_cap_is_refused_naming_it_and_the_rest_lands() {
    let doc = "limits-footnote";
    let (server, chair, witness) = setup(&["--max-footnote-chars", "200"], doc).await;
    let pid = as_client(&chair, |m| m.resolution().paragraphs[2].id.clone());
    let fid = as_client(&chair, |m| {
        m.add_footnote(&pid, 0, &[plenary_doc::Run::plain("A short note.")])
            .unwrap()
            .0
    });
    let f = fid.clone();
    witness
        .wait_until(WAIT, move |d| {
            ResolutionDoc::from_update(&state_of(d))
                .unwrap()
                .footnote_len(&f)
                == Some(13)
        })
        .await
        .expect("the short footnote is accepted");
    let note = {
        let footnotes = chair.doc().get_or_insert_map("footnotes");
        let txn = chair.doc().transact();
        match footnotes.get(&txn, &fid) {
            Some(Out::YText(t)) => t,
            other => panic!("no footnote text: {other:?}"),
        }
    };
    let texts = paragraph_texts(chair.doc());
    let long = filler("LONGNOTE ", 200);
    expect_denial(&chair, "[limits.footnote-chars]", |c| {
        let mut txn = c.doc().transact_mut();
        note.insert(&mut txn, 13, &long);
        texts[4].insert(&mut txn, 0, "ALLOWED EDIT ");
    })
    .await;
    let denial = chair.denials().join("\n");
    assert!(
        denial.contains(&format!(
            "footnote {fid}: this footnote would be 213 characters; the limit is 200"
        )),
        "{denial}"
    );
    witness
        .wait_until(WAIT, |d| text_of(d, 4).starts_with("ALLOWED EDIT "))
        .await
        .expect("the allowed part of the update lands");
    refused_everywhere(&server, doc, &chair, &witness, "LONGNOTE").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_paragraphs_past_the_count_are_refused_naming_the_cap() {
    let doc = "limits-paragraphs";
    let (server, chair, witness) = setup(&["--max-paragraphs", "14"], doc).await;
    let texts = paragraph_texts(chair.doc());
    expect_denial(&chair, "[limits.paragraphs]", |c| {
        as_client(c, |m| {
            for word in ["FIRSTNEW", "SECONDNEW"] {
                m.insert_paragraph(
                    plenary_doc::Position::End,
                    plenary_doc::ParagraphKind::Operative,
                    0,
                    &[plenary_doc::Run::plain(word)],
                )
                .unwrap();
            }
            let _ = &texts;
            let id = m.resolution().paragraphs[1].id.clone();
            m.insert_text(&id, 0, "ALLOWED EDIT ", false).unwrap();
        })
    })
    .await;
    let denial = chair.denials().join("\n");
    assert!(
        denial.contains("more than 14 paragraphs, the limit"),
        "{denial}"
    );
    witness
        .wait_until(WAIT, |d| {
            paragraph_count(d) == 14 && text_of(d, 1).starts_with("ALLOWED EDIT ")
        })
        .await
        .expect("the first new paragraph and the text edit land");
    let probe = fresh(&server, doc).await;
    converged(&chair, &probe).await;
    let held = all_texts(probe.doc());
    assert_eq!(held.len(), 14);
    let news = held
        .iter()
        .filter(|t| *t == "FIRSTNEW" || *t == "SECONDNEW")
        .count();
    assert_eq!(news, 1, "exactly one new paragraph fits: {held:?}");
    let refused = if held.iter().any(|t| t == "FIRSTNEW") {
        "SECONDNEW"
    } else {
        "FIRSTNEW"
    };
    assert!(!frames_hold(&witness, refused));
    assert_eq!(all_texts(chair.doc()), held);

    // a deletion in the same update makes room for a new one
    as_client(&chair, |m| {
        let id = m.resolution().paragraphs[0].id.clone();
        m.delete_paragraph(&id).unwrap();
        m.insert_paragraph(
            plenary_doc::Position::End,
            plenary_doc::ParagraphKind::Operative,
            0,
            &[plenary_doc::Run::plain("REPLACEMENT")],
        )
        .unwrap();
    });
    witness
        .wait_until(WAIT, |d| {
            paragraph_count(d) == 14 && all_texts(d).iter().any(|t| t == "REPLACEMENT")
        })
        .await
        .expect("a delete and an insert together stay within the count");
    assert_eq!(chair.denials().len(), 1, "{:?}", chair.denials());
}

fn proposal(text: &str) -> Proposal {
    Proposal {
        id: String::new(),
        paragraph_id: Some("p6".into()),
        footnote_id: None,
        after: None,
        action: ProposalAction::Replace,
        text: text.into(),
        delegation: "JPN".into(),
        on_behalf_of: None,
        supporters: vec![],
        author: "Delegate of JPN".into(),
        created_at: 1,
        status: ProposalStatus::Pending,
        decided_by: None,
        decided_at: None,
        base_text: None,
        base_seq: None,
        kind: None,
        level: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proposal_past_the_count_is_refused_naming_the_cap() {
    let doc = "limits-proposals";
    let (server, _chair, witness) = setup(&["--max-proposals", "1"], doc).await;
    let jpn = connect(&server, doc, &Who::delegate("JPN")).await;
    jpn.wait_until(WAIT, |d| paragraph_count(d) == 13)
        .await
        .unwrap();
    let proposals = |d: &yrs::Doc| {
        ResolutionDoc::from_update(&state_of(d))
            .unwrap()
            .proposal_count()
    };
    as_client(&jpn, |m| {
        m.add_proposal(&proposal("First proposal.")).unwrap()
    });
    witness
        .wait_until(WAIT, move |d| proposals(d) == 1)
        .await
        .expect("the first proposal is accepted");
    expect_denial(&jpn, "[limits.proposals]", |c| {
        as_client(c, |m| {
            m.add_proposal(&proposal("SECONDPROPOSAL")).unwrap();
            let id = m.resolution().paragraphs[6].id.clone();
            m.insert_text(&id, 0, "ALLOWED EDIT ", false).unwrap();
        })
    })
    .await;
    let denial = jpn.denials().join("\n");
    assert!(
        denial.contains("more than 1 proposals, the limit"),
        "{denial}"
    );
    witness
        .wait_until(WAIT, |d| text_of(d, 6).starts_with("ALLOWED EDIT "))
        .await
        .expect("the allowed part of the update lands");
    refused_everywhere(&server, doc, &jpn, &witness, "SECONDPROPOSAL").await;
    assert_eq!(proposals(witness.doc()), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn growth_past_the_document_size_is_refused_and_deletions_still_land() {
    let doc = "limits-document";
    let seeded_size = ResolutionDoc::from_resolution(&fixture())
        .unwrap()
        .encode_state()
        .len();
    let cap = (seeded_size + 4_000).to_string();
    let (server, chair, witness) = setup(&["--max-document-bytes", &cap], doc).await;
    // a small edit fits
    append(chair.doc(), 2, " SMALL EDIT");
    witness
        .wait_until(WAIT, |d| text_of(d, 2).ends_with(" SMALL EDIT"))
        .await
        .expect("a small edit fits");
    let before = len_of(chair.doc(), 4);
    let texts = paragraph_texts(chair.doc());
    let paste = filler("BIGPASTE ", 6_000);
    expect_denial(&chair, "[limits.document-bytes]", |c| {
        let mut txn = c.doc().transact_mut();
        texts[3].insert(&mut txn, 0, &paste);
        texts[4].remove_range(&mut txn, 0, 10);
    })
    .await;
    let denial = chair.denials().join("\n");
    assert!(
        denial.contains("would pass its size limit") && denial.contains(&grouped(&cap)),
        "{denial}"
    );
    witness
        .wait_until(WAIT, |d| len_of(d, 4) == before - 10)
        .await
        .expect("the deletion in the same update lands");
    refused_everywhere(&server, doc, &chair, &witness, "BIGPASTE").await;
}

/// "12345" as "12 345", as the server writes numbers in refusals.
fn grouped(n: &str) -> String {
    let mut out = String::new();
    for (i, c) in n.chars().enumerate() {
        if i > 0 && (n.len() - i).is_multiple_of(3) {
            out.push(' ');
        }
        out.push(c);
    }
    out
}

/// A POST of a JSON body: status and body.
async fn post(server: &TestServer, path: &str, who: &Who, body: &Value) -> (u16, String) {
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_over_a_cap_is_refused_naming_it() {
    let server = server_with(&["--max-paragraph-chars", "300"]);
    let text = include_str!("../../../../tests/fixtures/reducing-reoffending-2021-rev1.txt");
    let (status, body) = post(
        &server,
        "/api/docs",
        &Who::secretariat(),
        &json!({"name": "too-long", "text": text}),
    )
    .await;
    assert_eq!(status, 413, "{body}");
    let err: Value = serde_json::from_str(body.trim()).unwrap_or_else(|_| {
        // a chunked body: its one chunk
        let json = body.split("\r\n").nth(1).unwrap_or_default();
        serde_json::from_str(json).unwrap()
    });
    let detail = err["detail"].as_str().unwrap();
    assert!(
        detail.contains("the limit is 300 [limits.paragraph-chars]"),
        "{detail}"
    );
    // nothing was created: the same name imports once the text fits
    let (status, body) = post(
        &server,
        "/api/docs",
        &Who::secretariat(),
        &json!({"name": "too-long", "text": "The General Assembly,\n\n1. Decides to act;"}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
}

/// A hall reconnecting at once (a Wi-Fi blip, a node restart) must not overflow the kernel's
/// accept queue: past it SYNs are dropped and clients wait a second or more for their retry.
/// The listening socket's backlog (what `ss` shows as its Send-Q) is 1 024, not the usual 128.
#[tokio::test]
async fn the_listener_queues_a_hall_of_simultaneous_connections() {
    let server = server();
    let port = server.addr().rsplit(':').next().unwrap().to_owned();
    let out = std::process::Command::new("ss")
        .args(["-ltnH", &format!("sport = :{port}")])
        .output()
        .expect("ss runs");
    let listing = String::from_utf8_lossy(&out.stdout);
    let backlog: u32 = listing
        .split_whitespace()
        .nth(2)
        .and_then(|q| q.parse().ok())
        .unwrap_or_else(|| panic!("no listening socket on {port}: {listing:?}"));
    let cap: u32 = std::fs::read_to_string("/proc/sys/net/core/somaxconn")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(4096);
    assert_eq!(backlog, 1024.min(cap), "{listing}");
}
