//! Proposals decided on the server (issue 14): the chair's accept or reject
//! goes through `POST /api/docs/{doc}/proposals/{id}/decision`, the room
//! merges the proposal's change onto the paragraph as it is now, and every
//! client sees the same text. Over real sockets, against `plenary serve`.

use std::time::Duration;

use plenary_doc::{Proposal, ProposalAction, ProposalStatus, ResolutionDoc};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use yrs::{Any, Array, Map, Out, Transact};

use crate::support::*;

/// OP4 of the fixture.
const PID: &str = "p9";
const STEP: Duration = Duration::from_secs(5);

/// A POST of a JSON body: status and body as JSON.
async fn post(server: &TestServer, path: &str, who: &Who, body: &Value) -> (u16, Value) {
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
    let json = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        rest.split("\r\n").nth(1).unwrap_or_default().to_owned()
    } else {
        rest.to_owned()
    };
    (
        status,
        serde_json::from_str(json.trim()).unwrap_or(Value::Null),
    )
}

async fn decide(server: &TestServer, doc: &str, id: &str, body: Value) -> (u16, Value) {
    post(
        server,
        &format!("/api/docs/{doc}/proposals/{id}/decision"),
        &Who::chair(),
        &body,
    )
    .await
}

/// The client's view of the document, through the doc crate.
fn mirror(c: &Client) -> ResolutionDoc {
    ResolutionDoc::from_update(&state_of(c.doc())).unwrap()
}

fn paragraph_text(c: &Client, pid: &str) -> String {
    mirror(c)
        .paragraph(pid)
        .map(|p| p.text.iter().map(|r| r.text.as_str()).collect())
        .unwrap_or_default()
}

fn proposal_of(c: &Client, id: &str) -> Option<Proposal> {
    mirror(c).proposal(id)
}

/// A replace proposal by `delegation` on `pid`, against the text its client sees now.
fn new_proposal(c: &Client, delegation: &str, pid: &str, text: &str) -> Proposal {
    Proposal {
        id: String::new(),
        paragraph_id: Some(pid.into()),
        footnote_id: None,
        after: None,
        action: ProposalAction::Replace,
        text: text.into(),
        base_text: Some(paragraph_text(c, pid)),
        base_seq: None,
        kind: None,
        level: None,
        delegation: delegation.into(),
        on_behalf_of: None,
        supporters: vec![],
        author: format!("Delegate of {delegation}"),
        created_at: 1,
        status: ProposalStatus::Pending,
        decided_by: None,
        decided_at: None,
    }
}

/// `delegation` proposes `text` for `pid` and waits until `witness` has it.
async fn propose(c: &Client, witness: &Client, delegation: &str, text: &str) -> String {
    let p = new_proposal(c, delegation, PID, text);
    let id = as_client(c, |d| d.add_proposal(&p).unwrap().0);
    let want = id.clone();
    witness
        .wait_until(WAIT, move |d| {
            ResolutionDoc::from_update(&state_of(d))
                .ok()
                .and_then(|r| r.proposal(&want))
                .is_some()
        })
        .await
        .unwrap();
    id
}

/// A raw write of a proposal's `status`, as any Yjs client could send it.
fn set_status(c: &Client, id: &str, status: &str) {
    let d = c.doc();
    let proposals = d.get_or_insert_array("proposals");
    let mut txn = d.transact_mut();
    let q = proposals
        .iter(&txn)
        .filter_map(|v| match v {
            Out::YMap(m) => Some(m),
            _ => None,
        })
        .find(|m| matches!(m.get(&txn, "id"), Some(Out::Any(Any::String(s))) if s.as_ref() == id))
        .unwrap();
    q.insert(&mut txn, "status", status);
}

/// `words` with the word at `i` replaced by `with`.
fn replace_word(text: &str, i: usize, with: &str) -> String {
    let mut w: Vec<&str> = text.split(' ').collect();
    w[i] = with;
    w.join(" ")
}

async fn wait_text(clients: &[&Client], pid: &str, want: &str) {
    for c in clients {
        let (wanted, pid) = (want.to_owned(), pid.to_owned());
        let got = c
            .wait_until(WAIT, move |d| {
                ResolutionDoc::from_update(&state_of(d))
                    .ok()
                    .and_then(|r| r.paragraph(&pid))
                    .map(|p| p.text.iter().map(|r| r.text.as_str()).collect::<String>())
                    .as_deref()
                    == Some(wanted.as_str())
            })
            .await;
        assert!(
            got.is_ok(),
            "a client never got {want:?}; it has {:?}",
            paragraph_text(c, PID)
        );
    }
}

/// The proposals as the API lists them.
async fn listed(server: &TestServer, doc: &str) -> Vec<Value> {
    let (status, body) =
        http_get(server, &format!("/api/docs/{doc}/proposals"), &Who::chair()).await;
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).unwrap()
}

/// Two proposals on different words of OP4, accepted in either order, give
/// the same text with both changes, on every client; the decided proposals
/// stay with who decided and when.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_proposals_on_different_words_give_the_same_text_in_either_order() {
    let server = server();
    let mut results = Vec::new();
    for (doc, order) in [("prop-ab", [0, 1]), ("prop-ba", [1, 0])] {
        let chair = seeded(&server, doc).await;
        let jpn = connect(&server, doc, &Who::delegate("JPN")).await;
        let fra = connect(&server, doc, &Who::delegate("FRA")).await;
        jpn.wait_until(WAIT, |d| paragraph_count(d) == 13)
            .await
            .unwrap();
        fra.wait_until(WAIT, |d| paragraph_count(d) == 13)
            .await
            .unwrap();
        let base = paragraph_text(&jpn, PID);
        let n = base.split(' ').count();
        assert!(n > 6, "OP4 is long enough: {base}");
        let ids = [
            propose(&jpn, &chair, "JPN", &replace_word(&base, 2, "ALPHA")).await,
            propose(&fra, &chair, "FRA", &replace_word(&base, n - 2, "OMEGA")).await,
        ];
        for i in order {
            let (status, body) = decide(&server, doc, &ids[i], json!({"decision": "accept"})).await;
            assert_eq!(status, 200, "{body}");
            assert_eq!(body["status"], "accepted");
        }
        let want = replace_word(&replace_word(&base, 2, "ALPHA"), n - 2, "OMEGA");
        wait_text(&[&chair, &jpn, &fra], PID, &want).await;
        results.push(want);

        // The record: both accepted, by the chair, with a time; also on a fresh client.
        let list = listed(&server, doc).await;
        for id in &ids {
            let p = list.iter().find(|p| p["id"] == id.as_str()).unwrap();
            assert_eq!(p["status"], "accepted", "{p}");
            assert_eq!(p["decidedBy"], "Chair", "{p}");
            assert!(p["decidedAt"].as_i64().unwrap_or(0) > 0, "{p}");
        }
        let fresh = connect(&server, doc, &Who::observer()).await;
        let q = proposal_of(&fresh, &ids[0]).unwrap();
        assert_eq!(q.status, ProposalStatus::Accepted);
        assert_eq!(q.decided_by.as_deref(), Some("Chair"));

        // The record stays: its owner cannot withdraw an accepted proposal.
        expect_denial(&jpn, "proposals.decided-record", |c| {
            set_status(c, &ids[0], "withdrawn")
        })
        .await;

        // Deciding again is refused; a delegate may not decide at all.
        let (status, body) = decide(&server, doc, &ids[0], json!({"decision": "reject"})).await;
        assert_eq!(status, 409, "{body}");
        let (status, body) = post(
            &server,
            &format!("/api/docs/{doc}/proposals/{}/decision", ids[1]),
            &Who::delegate("JPN"),
            &json!({"decision": "accept"}),
        )
        .await;
        assert_eq!(status, 403, "{body}");
        let (status, _) = decide(&server, doc, "no-such", json!({"decision": "accept"})).await;
        assert_eq!(status, 404);
    }
    assert_eq!(results[0], results[1]);
}

/// A proposal whose words were changed since (by an accepted proposal) is
/// stale: 409 with the three texts and a token; without the token it stays
/// undecided; a token from before a further edit is refused; with the
/// current token it is accepted anyway. A rejection is recorded too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_overlapping_proposal_is_stale_until_the_chair_has_seen_it() {
    let server = server();
    let doc = "prop-stale";
    let chair = seeded(&server, doc).await;
    let jpn = connect(&server, doc, &Who::delegate("JPN")).await;
    let fra = connect(&server, doc, &Who::delegate("FRA")).await;
    jpn.wait_until(WAIT, |d| paragraph_count(d) == 13)
        .await
        .unwrap();
    fra.wait_until(WAIT, |d| paragraph_count(d) == 13)
        .await
        .unwrap();
    let base = paragraph_text(&jpn, PID);
    let jp = propose(&jpn, &chair, "JPN", &replace_word(&base, 3, "JAPAN")).await;
    let fr = propose(&fra, &chair, "FRA", &replace_word(&base, 3, "FRANCE")).await;
    let (status, body) = decide(&server, doc, &jp, json!({"decision": "accept"})).await;
    assert_eq!(status, 200, "{body}");
    let after_jp = replace_word(&base, 3, "JAPAN");
    wait_text(&[&chair, &fra], PID, &after_jp).await;

    let (status, stale) = decide(&server, doc, &fr, json!({"decision": "accept"})).await;
    assert_eq!(status, 409, "{stale}");
    assert_eq!(stale["error"], "conflict");
    assert_eq!(stale["base"], base.as_str());
    assert_eq!(stale["current"], after_jp.as_str());
    assert_eq!(stale["proposed"], replace_word(&base, 3, "FRANCE").as_str());
    let first_token = stale["seen"].as_str().unwrap().to_owned();
    // Without the token: stale again, nothing decided.
    let (status, _) = decide(&server, doc, &fr, json!({"decision": "accept"})).await;
    assert_eq!(status, 409);
    assert_eq!(
        proposal_of(&chair, &fr).unwrap().status,
        ProposalStatus::Pending
    );

    // Someone types at the end of OP4: the token the chair saw is for an older text.
    append(chair.doc(), 8, " TYPED");
    let typed = format!("{after_jp} TYPED");
    wait_text(&[&fra], PID, &typed).await;
    let (status, again) = decide(
        &server,
        doc,
        &fr,
        json!({"decision": "accept", "seen": first_token}),
    )
    .await;
    assert_eq!(status, 409, "{again}");
    assert_eq!(again["current"], typed.as_str());
    let token = again["seen"].as_str().unwrap().to_owned();
    assert_ne!(token, first_token);

    let (status, body) = decide(
        &server,
        doc,
        &fr,
        json!({"decision": "accept", "seen": token}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let want = format!("{} TYPED", replace_word(&base, 3, "FRANCE"));
    wait_text(&[&chair, &jpn, &fra], PID, &want).await;

    // A rejection leaves the text and records the decision.
    let third = propose(&jpn, &chair, "JPN", &replace_word(&want, 1, "GAMMA")).await;
    let (status, body) = decide(&server, doc, &third, json!({"decision": "reject"})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "rejected");
    let fresh = connect(&server, doc, &Who::observer()).await;
    assert_eq!(paragraph_text(&fresh, PID), want);
    let q = proposal_of(&fresh, &third).unwrap();
    assert_eq!(q.status, ProposalStatus::Rejected);
    assert!(q.decided_at.unwrap_or(0) > 0);

    // Edit: the chair's own text needs the token of what the chair saw.
    let fourth = propose(&jpn, &chair, "JPN", &replace_word(&want, 5, "DELTA")).await;
    let edited = replace_word(&want, 5, "EPSILON");
    let (status, shown) = decide(
        &server,
        doc,
        &fourth,
        json!({"decision": "accept", "text": edited}),
    )
    .await;
    assert_eq!(status, 409, "{shown}");
    let (status, body) = decide(
        &server,
        doc,
        &fourth,
        json!({"decision": "accept", "text": edited, "seen": shown["seen"]}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    wait_text(&[&chair, &jpn, &fra], PID, &edited).await;
}

/// Empty, no-op and dangling proposals are refused by the server, with reasons.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_no_op_and_dangling_proposals_are_refused() {
    let server = server();
    let doc = "prop-empty";
    let _chair = seeded(&server, doc).await;
    let jpn = connect(&server, doc, &Who::delegate("JPN")).await;
    jpn.wait_until(WAIT, |d| paragraph_count(d) == 13)
        .await
        .unwrap();
    let base = paragraph_text(&jpn, PID);
    let cases = [
        ("proposals.empty", new_proposal(&jpn, "JPN", PID, "   ")),
        ("proposals.no-op", new_proposal(&jpn, "JPN", PID, &base)),
        (
            "proposals.paragraph",
            Proposal {
                paragraph_id: Some("p-none".into()),
                ..new_proposal(&jpn, "JPN", PID, "Something new;")
            },
        ),
        (
            "proposals.empty",
            Proposal {
                action: ProposalAction::Insert,
                paragraph_id: None,
                after: Some(PID.into()),
                ..new_proposal(&jpn, "JPN", PID, "")
            },
        ),
        (
            // OP4 (p9) right after OP3 (p8) already
            "proposals.no-op",
            Proposal {
                action: ProposalAction::Move,
                after: Some("p8".into()),
                ..new_proposal(&jpn, "JPN", PID, "")
            },
        ),
    ];
    for (rule, p) in cases {
        expect_denial(&jpn, rule, |c| {
            as_client(c, |d| d.add_proposal(&p).unwrap());
        })
        .await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(listed(&server, doc).await.is_empty());
}

/// A forged acceptance is refused and the proposal stays pending: a
/// delegate's raw write of `accepted` with the proposed text, and a chair
/// client's raw write of `accepted`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_acceptance_is_refused_and_the_proposal_stays_pending() {
    let server = server();
    let doc = "prop-forged";
    let chair = seeded(&server, doc).await;
    let jpn = connect(&server, doc, &Who::delegate("JPN")).await;
    jpn.wait_until(WAIT, |d| paragraph_count(d) == 13)
        .await
        .unwrap();
    let base = paragraph_text(&jpn, PID);
    let proposed = replace_word(&base, 2, "FORGED");
    let id = propose(&jpn, &chair, "JPN", &proposed).await;

    // The delegate writes the outcome and the text itself, in one transaction.
    let forge = |c: &Client, text: Option<&str>| {
        let d = c.doc();
        let (proposals, paragraphs) = (d.get_or_insert_array("proposals"), paragraphs(d));
        let mut txn = d.transact_mut();
        let q = proposals
            .iter(&txn)
            .filter_map(|v| match v {
                Out::YMap(m) => Some(m),
                _ => None,
            })
            .find(|m| matches!(m.get(&txn, "id"), Some(Out::Any(Any::String(s))) if s.as_ref() == id.as_str()))
            .unwrap();
        q.insert(&mut txn, "status", "accepted");
        if let Some(text) = text {
            let Some(Out::YMap(p)) = paragraphs.get(&txn, 8) else {
                panic!("OP4")
            };
            let Some(Out::YText(t)) = p.get(&txn, "text") else {
                panic!("OP4 text")
            };
            use yrs::Text;
            let len = t.len(&txn);
            t.remove_range(&mut txn, 0, len);
            t.insert(&mut txn, 0, text);
        }
    };
    let mut events = jpn.events();
    forge(&jpn, Some(&proposed));
    let mut reasons = Vec::new();
    while reasons.len() < 2 {
        reasons.push(next_denial(&mut events).await);
    }
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("[proposal.chair-decides]")),
        "{reasons:?}"
    );
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("[proposals.decided-on-server]")),
        "the text that came with it is refused too: {reasons:?}"
    );

    expect_denial(&chair, "proposals.decided-on-server", |c| forge(c, None)).await;

    // Everyone, the forgers included, ends with the proposal pending and OP4 as it was.
    for c in [&chair, &jpn] {
        let (want, id) = (base.clone(), id.clone());
        c.wait_until(STEP, move |d| {
            let r = ResolutionDoc::from_update(&state_of(d)).unwrap();
            let text: String = r
                .paragraph(PID)
                .map(|p| p.text.iter().map(|r| r.text.as_str()).collect())
                .unwrap_or_default();
            text == want && r.proposals_pending_contains(&id)
        })
        .await
        .unwrap();
    }
    let fresh = connect(&server, doc, &Who::observer()).await;
    assert_eq!(paragraph_text(&fresh, PID), base);
    assert_eq!(
        proposal_of(&fresh, &id).unwrap().status,
        ProposalStatus::Pending
    );
    let list = listed(&server, doc).await;
    assert_eq!(list[0]["status"], "pending");
}

trait PendingCheck {
    fn proposals_pending_contains(&self, id: &str) -> bool;
}

impl PendingCheck for ResolutionDoc {
    fn proposals_pending_contains(&self, id: &str) -> bool {
        self.proposal(id)
            .is_some_and(|p| p.status == ProposalStatus::Pending && p.decided_by.is_none())
    }
}

/// Two chairs on two nodes decide one proposal at the same moment. Each node's room orders its
/// own decisions only, so without a claim across nodes both would apply it (the new words
/// twice). Exactly one decision applies; the other chair is told, and every client on both
/// nodes ends with the words once. While another node holds the claim, a decision is refused
/// and nothing is applied.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proposal_is_decided_once_when_two_nodes_decide_it_at_once() {
    use plenary_store::Store;
    const DOC: &str = "prop-two-nodes";
    let redis = RedisServer::spawn();
    let a = redis_server(&redis, "node-a");
    let b = redis_server(&redis, "node-b");
    let _chair = seeded(&a, DOC).await;
    let on_a = connect(&a, DOC, &Who::delegate("JPN")).await;
    let on_b = connect(&b, DOC, &Who::delegate("FRA")).await;
    on_b.wait_until(WAIT, |d| paragraph_count(d) == 13)
        .await
        .unwrap();
    let base = paragraph_text(&on_a, PID);
    let proposed = replace_word(&base, 1, "TWICE-CHECKED");
    let id = propose(&on_a, &on_b, "JPN", &proposed).await;

    // Another node holds the decision's claim: this node refuses, and applies nothing.
    let store = plenary_store::RedisStore::connect(&redis.url())
        .await
        .unwrap();
    let claim = format!("decision:{id}");
    assert!(
        store
            .claim(DOC, &claim, Duration::from_secs(60))
            .await
            .unwrap()
    );
    let (status, body) = decide(&b, DOC, &id, json!({"decision": "accept"})).await;
    assert_eq!(status, 409, "{body}");
    assert!(body.to_string().contains("another decision"), "{body}");
    store.release(DOC, &claim).await.unwrap();
    assert_eq!(
        proposal_of(&on_a, &id).map(|p| p.status),
        Some(ProposalStatus::Pending)
    );

    // Both nodes at once: one 200, one 409.
    let body = json!({"decision": "accept"});
    let ((sa, ba), (sb, bb)) = tokio::join!(
        decide(&a, DOC, &id, body.clone()),
        decide(&b, DOC, &id, body.clone())
    );
    let mut statuses = [sa, sb];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 409], "node a: {ba}, node b: {bb}");
    wait_text(&[&on_a, &on_b], PID, &proposed).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    for c in [&on_a, &on_b] {
        let text = paragraph_text(c, PID);
        assert_eq!(text.matches("TWICE-CHECKED").count(), 1, "{text}");
        assert_eq!(
            proposal_of(c, &id).map(|p| p.status),
            Some(ProposalStatus::Accepted)
        );
    }
}

fn footnote_text(c: &Client, fid: &str) -> Option<String> {
    mirror(c)
        .footnote_runs(fid)
        .map(|r| r.iter().map(|r| r.text.as_str()).collect())
}

/// A delegate amends a footnote (a replace naming `footnoteId`); an empty,
/// no-op or dangling amendment is refused by the server; the compilation
/// text shows the open amendment under its footnote; the chair accepts it
/// through the route and every client, and a fresh one, has the new
/// footnote text with the paragraphs untouched.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_footnote_amendment_is_accepted_and_everyone_sees_the_new_footnote() {
    let server = server();
    let doc = "prop-footnote";
    let chair = seeded(&server, doc).await;
    let jpn = connect(&server, doc, &Who::delegate("JPN")).await;
    let fra = connect(&server, doc, &Who::delegate("FRA")).await;
    for c in [&jpn, &fra] {
        c.wait_until(WAIT, |d| paragraph_count(d) == 13)
            .await
            .unwrap();
    }
    let before = mirror(&jpn).resolution();
    let note = before
        .footnotes
        .iter()
        .max_by_key(|f| {
            f.text
                .iter()
                .map(|r| r.text.split(' ').count())
                .sum::<usize>()
        })
        .expect("the fixture has footnotes");
    let fid = note.id.clone();
    let base: String = note.text.iter().map(|r| r.text.as_str()).collect();
    assert!(base.split(' ').count() > 2, "the longest footnote: {base}");
    let amended = replace_word(&base, 1, "AMENDED");
    let amendment = |text: &str| Proposal {
        paragraph_id: None,
        footnote_id: Some(fid.clone()),
        base_text: Some(base.clone()),
        ..new_proposal(&jpn, "JPN", PID, text)
    };

    let refused = [
        ("proposals.empty", amendment("  ")),
        ("proposals.no-op", amendment(&base)),
        (
            "proposals.paragraph",
            Proposal {
                footnote_id: Some("f-none".into()),
                ..amendment(&amended)
            },
        ),
    ];
    for (rule, p) in refused {
        expect_denial(&jpn, rule, |c| {
            as_client(c, |d| d.add_proposal(&p).unwrap());
        })
        .await;
    }

    let p = amendment(&amended);
    let id = as_client(&jpn, |d| d.add_proposal(&p).unwrap().0);
    let want = id.clone();
    chair
        .wait_until(WAIT, move |d| {
            ResolutionDoc::from_update(&state_of(d))
                .ok()
                .and_then(|r| r.proposal(&want))
                .is_some()
        })
        .await
        .unwrap();
    let list = listed(&server, doc).await;
    assert_eq!(list.len(), 1, "only the amendment was kept: {list:?}");
    assert_eq!(list[0]["footnoteId"], fid.as_str());

    // The compilation text shows it under its footnote.
    let (status, text) = http_get(
        &server,
        &format!("/api/docs/{doc}/compilation?format=text"),
        &Who::chair(),
    )
    .await;
    assert_eq!(status, 200, "{text}");
    let block = text
        .split("\n\n")
        .find(|b| b.starts_with(&format!("Footnote {} ", note.marker)))
        .unwrap_or_else(|| panic!("no footnote block in {text}"));
    assert!(block.ends_with(&format!("[JPN: {amended}]")), "{block}");

    // A chair client's raw "acceptance" with the footnote text written by the client: both
    // refused, the footnote stays as it was.
    let mut events = chair.events();
    {
        let d = chair.doc();
        let (proposals, notes) = (
            d.get_or_insert_array("proposals"),
            d.get_or_insert_map("footnotes"),
        );
        let mut txn = d.transact_mut();
        let q = proposals
            .iter(&txn)
            .filter_map(|v| match v {
                Out::YMap(m) => Some(m),
                _ => None,
            })
            .find(|m| matches!(m.get(&txn, "id"), Some(Out::Any(Any::String(s))) if s.as_ref() == id.as_str()))
            .unwrap();
        q.insert(&mut txn, "status", "accepted");
        let Some(Out::YText(t)) = notes.get(&txn, &fid) else {
            panic!("the footnote's text")
        };
        use yrs::Text;
        let len = t.len(&txn);
        t.remove_range(&mut txn, 0, len);
        t.insert(&mut txn, 0, &amended);
    }
    let mut reasons = Vec::new();
    while reasons.len() < 2 {
        reasons.push(next_denial(&mut events).await);
    }
    assert!(
        reasons
            .iter()
            .all(|r| r.contains("[proposals.decided-on-server]")),
        "the footnote text that came with it is refused too: {reasons:?}"
    );
    for c in [&chair, &jpn] {
        let (note, want, q) = (fid.clone(), base.clone(), id.clone());
        c.wait_until(STEP, move |d| {
            let r = ResolutionDoc::from_update(&state_of(d)).unwrap();
            r.footnote_runs(&note)
                .map(|r| r.iter().map(|r| r.text.as_str()).collect::<String>())
                == Some(want.clone())
                && r.proposals_pending_contains(&q)
        })
        .await
        .unwrap();
    }

    // The chair's own text is held to the footnote cap (5 000), not the paragraph's.
    let long = "x ".repeat(3_000);
    let (status, body) = decide(
        &server,
        doc,
        &id,
        json!({"decision": "accept", "text": long}),
    )
    .await;
    assert_eq!(status, 413, "{body}");
    let (status, body) = decide(&server, doc, &id, json!({"decision": "accept"})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "accepted");
    assert_eq!(body["footnoteId"], fid.as_str());
    for c in [&chair, &jpn, &fra] {
        let (note, want) = (fid.clone(), amended.clone());
        let got = c
            .wait_until(WAIT, move |d| {
                ResolutionDoc::from_update(&state_of(d))
                    .ok()
                    .and_then(|r| r.footnote_runs(&note))
                    .map(|r| r.iter().map(|r| r.text.as_str()).collect::<String>())
                    .as_deref()
                    == Some(want.as_str())
            })
            .await;
        assert!(
            got.is_ok(),
            "a client never got {amended:?}; it has {:?}",
            footnote_text(c, &fid)
        );
    }
    let fresh = connect(&server, doc, &Who::observer()).await;
    assert_eq!(
        footnote_text(&fresh, &fid).as_deref(),
        Some(amended.as_str())
    );
    let after = mirror(&fresh).resolution();
    assert_eq!(after.paragraphs, before.paragraphs, "no paragraph changed");
    let q = proposal_of(&fresh, &id).unwrap();
    assert_eq!(q.status, ProposalStatus::Accepted);
    assert_eq!(q.decided_by.as_deref(), Some("Chair"));
}
