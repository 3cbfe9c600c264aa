//! Attacks on the per-target judgement of updates (issue 11), tried the way
//! an attacker would: raw yrs updates crafted by hand and sent over a real
//! socket to a real `plenary serve`, through the Rust client.
//!
//! Each test asserts what users notice: the attacker is told
//! (permission-denied naming the rule), nobody else ever receives the
//! forbidden content (not in their documents, not in their frames), and
//! every client, the attacker's included, ends up with exactly the
//! server's document (same content, formatting and state vector).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use plenary_client::{MessageKind, classify, encode_update};
use plenary_doc::{
    CommentsDoc, NewComment, Proposal, ProposalAction, ProposalStatus, ResolutionDoc,
};
use serde_json::{Value, json};
use tokio::sync::broadcast;
use yrs::types::text::{Diff, YChange};
use yrs::updates::decoder::Decode;
use yrs::{
    Any, Array, ArrayPrelim, ArrayRef, Doc, Map, MapPrelim, MapRef, Out, ReadTxn, StateVector,
    Text, TextRef, Transact, TransactionMut, Update,
};

use crate::support::*;

/// Deadline of any one wait for something that should happen at once.
const STEP: Duration = Duration::from_secs(5);
/// An allowed edit reaches another client within this.
const REACH: Duration = Duration::from_secs(1);

// Indices of OP4 (p9) and OP5 (p10) in the fixture.
const OP4: u32 = 8;
const OP5: u32 = 9;

fn fra() -> Who {
    Who::delegate("FRA").groups(&["EU"])
}

// ---------------------------------------------------------------------------
// What a client holds
// ---------------------------------------------------------------------------

fn any_json(a: &Any) -> Value {
    serde_json::to_value(a).unwrap_or(Value::Null)
}

/// A text as `[[insert, attrs]]`, adjacent runs with equal attributes
/// merged, null attributes dropped, an embed as `{"embed": …}`.
fn delta<T: ReadTxn>(txn: &T, text: &TextRef) -> Value {
    let mut out: Vec<(Value, serde_json::Map<String, Value>)> = Vec::new();
    for Diff {
        insert, attributes, ..
    } in text.diff(txn, YChange::identity)
    {
        let attrs: serde_json::Map<String, Value> = attributes
            .as_deref()
            .map(|a| {
                a.iter()
                    .filter(|(_, v)| !matches!(v, Any::Null | Any::Undefined))
                    .map(|(k, v)| (k.to_string(), any_json(v)))
                    .collect()
            })
            .unwrap_or_default();
        match insert {
            Out::Any(Any::String(s)) if s.is_empty() => {}
            Out::Any(Any::String(s)) => match out.last_mut() {
                Some((Value::String(t), a)) if *a == attrs => t.push_str(&s),
                _ => out.push((json!(&*s), attrs)),
            },
            Out::Any(a) => out.push((json!({"embed": any_json(&a)}), attrs)),
            other => out.push((json!({"embed": other.to_string(txn)}), attrs)),
        }
    }
    Value::Array(
        out.into_iter()
            .map(|(i, a)| json!([i, Value::Object(a)]))
            .collect(),
    )
}

fn out_json<T: ReadTxn>(txn: &T, v: Out) -> Value {
    match v {
        Out::Any(a) => any_json(&a),
        Out::YText(t) => delta(txn, &t),
        Out::YMap(m) => Value::Object(
            m.iter(txn)
                .map(|(k, v)| (k.to_owned(), out_json(txn, v)))
                .collect(),
        ),
        Out::YArray(a) => Value::Array(a.iter(txn).map(|v| out_json(txn, v)).collect()),
        other => json!({"other": other.to_string(txn)}),
    }
}

/// Everything a resolution document holds, formatting included.
fn view(doc: &Doc) -> Value {
    let (meta, paras, notes, props, sponsors) = (
        doc.get_or_insert_map("meta"),
        doc.get_or_insert_array("paragraphs"),
        doc.get_or_insert_map("footnotes"),
        doc.get_or_insert_array("proposals"),
        doc.get_or_insert_array("sponsors"),
    );
    let txn = doc.transact();
    json!({
        "meta": out_json(&txn, Out::YMap(meta)),
        "paragraphs": out_json(&txn, Out::YArray(paras)),
        "footnotes": out_json(&txn, Out::YMap(notes)),
        "proposals": out_json(&txn, Out::YArray(props)),
        "sponsors": out_json(&txn, Out::YArray(sponsors)),
    })
}

/// Everything a comment-scope document holds.
fn comments_view(doc: &Doc) -> Value {
    let (comments, policy) = (
        doc.get_or_insert_map("comments"),
        doc.get_or_insert_map("policy"),
    );
    let txn = doc.transact();
    json!({
        "comments": out_json(&txn, Out::YMap(comments)),
        "policy": out_json(&txn, Out::YMap(policy)),
    })
}

fn sv(doc: &Doc) -> StateVector {
    doc.transact().state_vector()
}

/// Waits until every client holds exactly what a client that syncs from
/// the server now holds: the same content and formatting, and the same
/// state vector.
async fn converge(server: &TestServer, doc: &str, clients: &[(&str, &Client)], what: &str) {
    let comments = doc.contains("/comments/");
    let fresh = connect(server, doc, &Who::chair()).await;
    let look = |d: &Doc| if comments { comments_view(d) } else { view(d) };
    let deadline = Instant::now() + STEP;
    loop {
        let want = (look(fresh.doc()), sv_map(&sv(fresh.doc())));
        let behind: Vec<&str> = clients
            .iter()
            .filter(|(_, c)| (look(c.doc()), sv_map(&sv(c.doc()))) != want)
            .map(|(n, _)| *n)
            .collect();
        if behind.is_empty() {
            return;
        }
        if Instant::now() > deadline {
            let (name, c) = clients.iter().find(|(n, _)| *n == behind[0]).unwrap();
            let (got, got_sv) = (look(c.doc()), sv_map(&sv(c.doc())));
            let diff = first_difference(&got, &want.0, "");
            panic!(
                "{what}: {behind:?} never converged with the server in {STEP:?}. {name}: {}",
                diff.unwrap_or_else(|| format!(
                    "same content, state vector {got_sv:?} where the server has {:?}",
                    want.1
                ))
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Where two views first differ, in a line.
fn first_difference(a: &Value, b: &Value, path: &str) -> Option<String> {
    if a == b {
        return None;
    }
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => x
            .keys()
            .chain(y.keys())
            .find_map(|k| {
                first_difference(
                    x.get(k).unwrap_or(&Value::Null),
                    y.get(k).unwrap_or(&Value::Null),
                    &format!("{path}.{k}"),
                )
            })
            .or_else(|| Some(format!("{path}: keys differ"))),
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => x
            .iter()
            .zip(y)
            .enumerate()
            .find_map(|(i, (p, q))| first_difference(p, q, &format!("{path}[{i}]"))),
        _ => Some(format!("{path}: the client has {a}, the server {b}")),
    }
}

fn has(doc: &Doc, needle: &str) -> bool {
    all_texts(doc).iter().any(|t| t.contains(needle))
}

/// The paragraph with `id`, in a view.
fn para<'a>(v: &'a Value, id: &str) -> &'a Value {
    v["paragraphs"]
        .as_array()
        .expect("paragraphs")
        .iter()
        .find(|p| p["id"] == id)
        .unwrap_or_else(|| panic!("no paragraph {id}"))
}

fn plain(p: &Value) -> String {
    p["text"]
        .as_array()
        .map(|runs| runs.iter().filter_map(|r| r[0].as_str()).collect())
        .unwrap_or_default()
}

/// The proposals of a view with this id.
fn proposals_with_id<'a>(v: &'a Value, id: &str) -> Vec<&'a Value> {
    v["proposals"]
        .as_array()
        .expect("proposals")
        .iter()
        .filter(|q| q["id"] == id)
        .collect()
}

// ---------------------------------------------------------------------------
// Writing as an attacker
// ---------------------------------------------------------------------------

struct Roots {
    paragraphs: ArrayRef,
    proposals: ArrayRef,
    sponsors: ArrayRef,
}

/// One transaction on the client's document: sent to the server as one
/// update when it commits.
fn write(client: &Client, f: impl FnOnce(&mut TransactionMut, &Roots)) {
    let d = client.doc();
    let roots = Roots {
        paragraphs: d.get_or_insert_array("paragraphs"),
        proposals: d.get_or_insert_array("proposals"),
        sponsors: d.get_or_insert_array("sponsors"),
    };
    let mut txn = d.transact_mut();
    f(&mut txn, &roots);
}

/// One transaction on a comment-scope document.
fn write_comments(client: &Client, f: impl FnOnce(&mut TransactionMut, &MapRef)) {
    let d = client.doc();
    let comments = d.get_or_insert_map("comments");
    let mut txn = d.transact_mut();
    f(&mut txn, &comments);
}

fn map_in<T: ReadTxn>(txn: &T, arr: &ArrayRef, id: &str) -> MapRef {
    arr.iter(txn)
        .find_map(|v| match v {
            Out::YMap(m) if matches!(m.get(txn, "id"), Some(Out::Any(Any::String(s))) if &*s == id) => {
                Some(m)
            }
            _ => None,
        })
        .unwrap_or_else(|| panic!("no map with id {id}"))
}

fn text_in<T: ReadTxn>(txn: &T, paragraphs: &ArrayRef, pid: &str) -> TextRef {
    match map_in(txn, paragraphs, pid).get(txn, "text") {
        Some(Out::YText(t)) => t,
        other => panic!("paragraph {pid} has no text: {other:?}"),
    }
}

/// Writes JSON fields into a fresh map (arrays of scalars become Y.Arrays).
fn fill(txn: &mut TransactionMut, map: &MapRef, fields: &Value) {
    for (k, v) in fields.as_object().expect("fields") {
        let scalar = |v: &Value| match v {
            Value::Null => Any::Null,
            Value::Bool(b) => Any::Bool(*b),
            Value::Number(n) => Any::from(n.as_f64().unwrap_or(0.0)),
            Value::String(s) => Any::String(Arc::from(s.as_str())),
            other => panic!("not a scalar: {other}"),
        };
        match v {
            Value::Array(xs) => {
                map.insert(
                    txn,
                    k.as_str(),
                    ArrayPrelim::from(xs.iter().map(scalar).collect::<Vec<_>>()),
                );
            }
            v => {
                map.insert(txn, k.as_str(), scalar(v));
            }
        }
    }
}

/// A proposal map pushed onto `proposals`, with exactly these fields.
fn push_proposal(client: &Client, fields: Value) {
    write(client, |txn, r| {
        let len = r.proposals.len(txn);
        let m = r.proposals.insert(txn, len, MapPrelim::default());
        fill(txn, &m, &fields);
    });
}

/// The fields of a proper new proposal by FRA, with `text`.
fn fra_proposal(text: &str) -> Value {
    json!({
        "id": format!("q-{}", text.to_lowercase()),
        "paragraphId": "p6",
        "after": null,
        "action": "replace",
        "text": text,
        "baseText": "",
        "delegation": "FRA",
        "onBehalfOf": null,
        "supporters": [],
        "author": "Delegate of FRA",
        "createdAt": 1,
        "status": "pending",
        "decidedBy": null,
    })
}

fn with(mut base: Value, over: Value) -> Value {
    for (k, v) in over.as_object().expect("fields") {
        base[k.as_str()] = v.clone();
    }
    base
}

fn proposal(text: &str, paragraph: &str, delegation: &str) -> Proposal {
    Proposal {
        id: String::new(),
        paragraph_id: Some(paragraph.into()),
        footnote_id: None,
        after: None,
        action: ProposalAction::Replace,
        text: text.into(),
        delegation: delegation.into(),
        on_behalf_of: None,
        supporters: vec![],
        author: format!("Delegate of {delegation}"),
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

// ---------------------------------------------------------------------------
// What the attacker is told
// ---------------------------------------------------------------------------

/// Runs `act` and waits for a permission-denied ending in `[rule]`; returns
/// its reason.
async fn refused(client: &Client, rule: &str, act: impl FnOnce(&Client)) -> String {
    refused_any(client, &[rule], act).await
}

async fn refused_any(client: &Client, rules: &[&str], act: impl FnOnce(&Client)) -> String {
    let mut events = client.events();
    act(client);
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + STEP;
    loop {
        match tokio::time::timeout_at(deadline, events.recv()).await {
            Err(_) => panic!("no permission-denied naming {rules:?} within {STEP:?}; got {seen:?}"),
            Ok(Ok(Event::Denied(r))) => {
                if rules.iter().any(|rule| r.ends_with(&format!("[{rule}]"))) {
                    return r;
                }
                seen.push(r);
            }
            Ok(Ok(Event::Closed(info))) => panic!("the server closed the connection: {info:?}"),
            Ok(Err(broadcast::error::RecvError::Closed)) => panic!("client gone"),
            Ok(_) => {}
        }
    }
}

// ---------------------------------------------------------------------------
// 1. A staged clock gap
// ---------------------------------------------------------------------------

/// A delegate crafts two updates under a client id of its own: a harmless
/// proposal (clocks 0..n) and text in open OP4 (clocks n..m). It sends only
/// the second while OP4 is open, hoping the server will hold it and let the
/// first fill the gap once OP4 is agreed. The gap is refused at once and
/// nothing of it is kept: filling it later changes nothing in OP4.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_staged_clock_gap_is_refused_at_once_and_never_lands_later() {
    let server = server();
    let doc = "atk-gap";
    const STAGED: &str = "STAGED-GAP-TEXT";
    let chair = seeded(&server, doc).await;
    let witness = recording(&server, doc, &Who::delegate("GBR")).await;
    let attacker = recording(&server, doc, &fra()).await;
    attacker
        .wait_until(STEP, |d| paragraph_count(d) == 13)
        .await
        .unwrap();

    // Crafted offline under a client id nobody else uses.
    const CRAFTED: u64 = 0x5EED_0001;
    let mut m = ResolutionDoc::from_update_with_client_id(CRAFTED, &state_of(attacker.doc()))
        .expect("mirror");
    let (qid, early) = m
        .add_proposal(&proposal("A harmless proposal on OP4.", "p9", "FRA"))
        .expect("a proposal");
    let end = m
        .paragraph("p9")
        .expect("p9")
        .text
        .iter()
        .map(|r| r.text.encode_utf16().count() as u32)
        .sum();
    let late = m
        .insert_text("p9", end, &format!(" {STAGED}"), false)
        .expect("text");
    let late_update = Update::decode_v1(&late).unwrap();
    let start = late_update
        .insertions(true)
        .iter()
        .find(|(c, _)| c.get() == CRAFTED)
        .and_then(|(_, r)| r.iter().map(|r| r.start).min())
        .expect("crafted structs");
    assert!(start > 0, "the late update starts at clock {start}: no gap");

    // The later update alone, while OP4 is open.
    let steps_before = attacker
        .frames()
        .iter()
        .filter(|f| classify(f) == MessageKind::SyncStep1)
        .count();
    let reason = refused(&attacker, "sync.gap", |c| {
        c.send_raw(encode_update(late.clone()))
    })
    .await;
    assert!(reason.contains(&CRAFTED.to_string()), "{reason}");
    let deadline = Instant::now() + STEP;
    while attacker
        .frames()
        .iter()
        .filter(|f| classify(f) == MessageKind::SyncStep1)
        .count()
        == steps_before
    {
        assert!(
            Instant::now() < deadline,
            "no sync step 1 after the gap was refused"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Nothing of it is kept: not in a fresh client, not in the API.
    let fresh = connect(&server, doc, &Who::observer()).await;
    assert_eq!(
        sv(fresh.doc()).get(&yrs::ClientID::new(CRAFTED)),
        0,
        "the server holds structs of the refused update"
    );
    assert!(!has(fresh.doc(), STAGED));
    let (_, api) = http_get(&server, &format!("/api/docs/{doc}"), &Who::chair()).await;
    assert!(!api.contains(STAGED), "the API shows the refused text");

    // The chair agrees OP4 and opens negotiations.
    let agreed_text = text_of(chair.doc(), OP4);
    set_field(chair.doc(), OP4, "status", "agreed");
    set_meta(chair.doc(), "mode", "negotiation");
    witness
        .wait_until(STEP, |d| {
            field(d, OP4, "status").as_deref() == Some("agreed")
                && meta_value(d, "mode").as_deref() == Some("negotiation")
        })
        .await
        .expect("OP4 agreed, negotiation mode");

    // The withheld proposal fills the gap: allowed, and only it lands. (The
    // attacker's document takes it in a transaction of its own, which the
    // client sends: from now on that document holds what the attacker sent.)
    let local = |c: &Client, u: &[u8]| {
        c.doc()
            .transact_mut()
            .apply_update(Update::decode_v1(u).unwrap())
            .unwrap()
    };
    local(&attacker, &early);
    let q = qid.clone();
    witness
        .wait_until(STEP, move |d| proposals_with_id(&view(d), &q).len() == 1)
        .await
        .expect("the proposal is accepted");
    // Then the text, sent again (as a stock client that holds it would, in
    // its next update or sync step 2): it is judged now, against the agreed
    // paragraph, and reverted on the attacker's side too.
    let reason = refused_any(
        &attacker,
        &["delegate.agreed-paragraph", "delegate.negotiation-mode"],
        |c| local(c, &late),
    )
    .await;
    assert!(reason.contains("p9"), "{reason}");
    converge(
        &server,
        doc,
        &[
            ("attacker", &attacker),
            ("witness", &witness),
            ("chair", &chair),
        ],
        "after the gap was filled",
    )
    .await;
    for (who, c) in [
        ("witness", &witness),
        ("chair", &chair),
        ("attacker", &attacker),
    ] {
        assert_eq!(
            text_of(c.doc(), OP4),
            agreed_text,
            "{who}: agreed OP4 changed"
        );
    }
    assert!(
        !frames_hold(&witness, STAGED),
        "the staged text reached another client"
    );
    let (_, api) = http_get(&server, &format!("/api/docs/{doc}"), &Who::chair()).await;
    assert!(!api.contains(STAGED), "the API shows the staged text");
}

// ---------------------------------------------------------------------------
// 2. A proposal with another delegation's proposal id
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proposal_reusing_another_delegations_id_takes_nothing_over() {
    let server = server();
    let doc = "atk-dup";
    const TAKEOVER: &str = "TAKEOVER-TEXT-4411";
    let chair = seeded(&server, doc).await;
    let witness = recording(&server, doc, &Who::delegate("GBR")).await;
    let jpn = connect(&server, doc, &Who::delegate("JPN")).await;
    let fra_c = connect(&server, doc, &fra()).await;
    fra_c
        .wait_until(STEP, |d| paragraph_count(d) == 13)
        .await
        .unwrap();
    jpn.wait_until(STEP, |d| paragraph_count(d) == 13)
        .await
        .unwrap();
    let original = "Urges Member States to develop strategies to reduce reoffending;";
    let qid = as_client(&jpn, |m| {
        m.add_proposal(&proposal(original, "p6", "JPN"))
            .expect("a proposal")
            .0
    });
    for c in [&witness, &fra_c] {
        let q = qid.clone();
        c.wait_until(STEP, move |d| proposals_with_id(&view(d), &q).len() == 1)
            .await
            .expect("JPN's proposal arrives");
    }
    let before = proposals_with_id(&view(witness.doc()), &qid)[0].clone();

    // FRA writes a new proposal map with JPN's id.
    let reason = refused(&fra_c, "proposals.duplicate-id", |c| {
        push_proposal(c, with(fra_proposal(TAKEOVER), json!({"id": qid.clone()})))
    })
    .await;
    assert!(reason.contains(&qid), "{reason}");
    let all = [
        ("FRA", &fra_c),
        ("JPN", &jpn),
        ("witness", &witness),
        ("chair", &chair),
    ];
    converge(&server, doc, &all, "after the duplicate id").await;
    for (who, c) in all {
        let v = view(c.doc());
        let found = proposals_with_id(&v, &qid);
        assert_eq!(found.len(), 1, "{who}: proposals with id {qid}: {found:?}");
        assert_eq!(*found[0], before, "{who}: JPN's proposal changed");
    }
    assert!(
        !frames_hold(&witness, TAKEOVER),
        "the takeover reached another client"
    );

    // FRA still cannot withdraw or edit JPN's proposal.
    let edit = |key: &'static str, value: &'static str| {
        let q = qid.clone();
        move |c: &Client| {
            write(c, |txn, r| {
                let m = map_in(txn, &r.proposals, &q);
                m.insert(txn, key, value);
            })
        }
    };
    refused(
        &fra_c,
        "proposal.own-delegation",
        edit("status", "withdrawn"),
    )
    .await;
    refused(&fra_c, "proposal.own-delegation", edit("text", TAKEOVER)).await;
    converge(&server, doc, &all, "after the edits").await;
    for (who, c) in all {
        let v = view(c.doc());
        assert_eq!(
            *proposals_with_id(&v, &qid)[0],
            before,
            "{who}: JPN's proposal changed"
        );
    }
    assert!(
        !frames_hold(&witness, TAKEOVER),
        "the edit reached another client"
    );
}

// ---------------------------------------------------------------------------
// 3. A comment written at the key of another delegation's comment
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_comment_written_over_another_delegations_comment_is_undone() {
    let server = server();
    let doc = "atk-comment";
    let scope = format!("{doc}/comments/public");
    const OVER: &str = "OVERWRITTEN-BY-FRA-9931";
    let _chair = seeded(&server, doc).await;
    let witness = recording(&server, &scope, &Who::delegate("GBR")).await;
    let jpn_who = Who::delegate("JPN");
    let jpn = connect(&server, &scope, &jpn_who).await;
    let fra_c = connect(&server, &scope, &fra()).await;
    let mut mirror = CommentsDoc::from_update(&state_of(jpn.doc())).expect("mirror");
    let (cid, update) = mirror
        .add_comment(&NewComment {
            paragraph_id: "p6".into(),
            anchor: None,
            text: "JPN would rather keep OP1 as it stands.".into(),
            author: jpn_who.claims().sub,
            author_name: jpn_who.name.clone(),
            delegation: "JPN".into(),
            created_at: 1,
        })
        .expect("a comment");
    jpn.doc()
        .transact_mut()
        .apply_update(Update::decode_v1(&update).unwrap())
        .unwrap();
    for c in [&witness, &fra_c] {
        let id = cid.clone();
        c.wait_until(STEP, move |d| {
            comments_view(d)["comments"].get(&id).is_some()
        })
        .await
        .expect("JPN's comment arrives");
    }
    let before = comments_view(witness.doc())["comments"][&cid].clone();

    let fra_sub = fra().claims().sub;
    let id = cid.clone();
    let reason = refused(&fra_c, "comments.own-only", move |c| {
        write_comments(c, |txn, comments| {
            let m = comments.insert(txn, id.as_str(), MapPrelim::default());
            fill(
                txn,
                &m,
                &json!({"id": id, "paragraphId": "p6", "text": OVER, "author": fra_sub,
                        "authorName": "Delegate of FRA", "delegation": "FRA", "createdAt": 2,
                        "resolved": false, "replies": []}),
            );
        })
    })
    .await;
    assert!(reason.contains(&cid), "{reason}");
    let all = [("FRA", &fra_c), ("JPN", &jpn), ("witness", &witness)];
    converge(&server, &scope, &all, "after the overwrite").await;
    for (who, c) in all {
        assert_eq!(
            comments_view(c.doc())["comments"][&cid],
            before,
            "{who}: JPN's comment is not as JPN wrote it"
        );
    }
    assert!(
        !frames_hold(&witness, OVER),
        "the overwrite reached another client"
    );
}

// ---------------------------------------------------------------------------
// 4. Spoofed identity fields
// ---------------------------------------------------------------------------

/// FRA (groups: EU) writes one spoofed field at a time. Each is refused
/// naming its rule; nobody else ever sees the spoofed value; FRA converges.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_spoofed_identity_field_is_refused_and_seen_by_no_one() {
    let server = server();
    let doc = "atk-spoof";
    let scope = format!("{doc}/comments/public");
    let chair = seeded(&server, doc).await;
    let witness = recording(&server, doc, &Who::delegate("GBR")).await;
    let fra_c = connect(&server, doc, &fra()).await;
    fra_c
        .wait_until(STEP, |d| paragraph_count(d) == 13)
        .await
        .unwrap();
    let all = [("FRA", &fra_c), ("witness", &witness)];

    // Proposals: (spoofed fields, rule, the spoofed value that must reach no one).
    let cases: [(&str, Value, &str, &str); 5] = [
        (
            "SPOOF-AUTHOR",
            json!({"author": "Delegate of Ruritania"}),
            "proposals.identity",
            "Ruritania",
        ),
        (
            "SPOOF-GROUP",
            json!({"onBehalfOf": "G77"}),
            "proposals.on-behalf-of",
            "G77",
        ),
        (
            "SPOOF-SUPPORT",
            json!({"supporters": ["FRA", "JPN"]}),
            "proposals.supporters",
            "JPN",
        ),
        (
            "SPOOF-DECIDER",
            json!({"decidedBy": "Chair Impostor"}),
            "proposals.identity",
            "Impostor",
        ),
        (
            "SPOOF-ACCEPTED",
            json!({"status": "accepted"}),
            "proposal.chair-decides",
            "accepted",
        ),
    ];
    for (marker, over, rule, spoof) in cases {
        let reason = refused(&fra_c, rule, |c| {
            push_proposal(c, with(fra_proposal(marker), over.clone()))
        })
        .await;
        assert!(reason.contains("proposal"), "{marker}: {reason}");
        converge(&server, doc, &all, marker).await;
        let v = view(witness.doc());
        assert!(
            v["proposals"].as_array().unwrap().is_empty(),
            "{marker}: a proposal was kept: {}",
            v["proposals"]
        );
        for needle in [marker, spoof] {
            assert!(
                !frames_hold(&witness, needle),
                "{marker}: {needle} reached another client"
            );
        }
    }
    // The same proposal, honest, is accepted (the cases above failed on the
    // spoofed field alone).
    push_proposal(
        &fra_c,
        with(
            fra_proposal("HONEST-PROPOSAL"),
            json!({"supporters": ["FRA"], "onBehalfOf": "EU"}),
        ),
    );
    witness
        .wait_until(STEP, |d| {
            view(d)["proposals"].as_array().unwrap().len() == 1
        })
        .await
        .expect("an honest proposal is accepted");

    // Sponsors.
    let sponsor = |delegation: &'static str, signed: &'static str| {
        move |c: &Client| {
            write(c, |txn, r| {
                let len = r.sponsors.len(txn);
                let m = r.sponsors.insert(txn, len, MapPrelim::default());
                fill(
                    txn,
                    &m,
                    &json!({"delegation": delegation, "signedBy": signed, "at": 1}),
                );
            })
        }
    };
    refused(
        &fra_c,
        "sponsors.identity",
        sponsor("FRA", "Delegate of Ruritania"),
    )
    .await;
    converge(&server, doc, &all, "sponsor signed by someone else").await;
    assert!(
        view(witness.doc())["sponsors"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    sponsor("FRA", "Delegate of FRA")(&fra_c);
    witness
        .wait_until(STEP, |d| view(d)["sponsors"].as_array().unwrap().len() == 1)
        .await
        .expect("FRA co-sponsors");
    refused(
        &fra_c,
        "sponsors.duplicate",
        sponsor("FRA", "Delegate of FRA"),
    )
    .await;
    converge(&server, doc, &all, "second sponsorship").await;
    assert_eq!(
        view(witness.doc())["sponsors"].as_array().unwrap().len(),
        1,
        "FRA co-sponsors twice"
    );

    // A paragraph's id, rewritten (by a delegate, and by the chair).
    for (who, c, hijack) in [
        ("FRA", &fra_c, "p-HIJACK-FRA"),
        ("chair", &chair, "p-HIJACK-CHAIR"),
    ] {
        refused(c, "schema.id", |c| set_field(c.doc(), OP5, "id", hijack)).await;
        converge(
            &server,
            doc,
            &[(who, c), ("witness", &witness)],
            "paragraph id",
        )
        .await;
        assert_eq!(field(witness.doc(), OP5, "id").as_deref(), Some("p10"));
        assert!(
            !frames_hold(&witness, hijack),
            "{hijack} reached another client"
        );
    }
    assert!(!frames_hold(&witness, "Ruritania"));

    // Comments.
    let cwitness = recording(&server, &scope, &Who::delegate("GBR")).await;
    let fra_cc = connect(&server, &scope, &fra()).await;
    let fra_sub = fra().claims().sub;
    let jpn_sub = Who::delegate("JPN").claims().sub;
    let comment = |marker: &str| {
        json!({"id": format!("c-{}", marker.to_lowercase()), "paragraphId": "p6", "text": marker,
               "author": fra_sub, "authorName": "Delegate of FRA", "delegation": "FRA",
               "createdAt": 1, "resolved": false, "replies": []})
    };
    let ccases: [(&str, Value, &str, &str); 4] = [
        (
            "SPOOF-NAME",
            json!({"authorName": "Delegate of Ruritania"}),
            "comments.identity",
            "Ruritania",
        ),
        (
            "SPOOF-SUB",
            json!({"author": jpn_sub}),
            "comments.author",
            "SPOOF-SUB",
        ),
        (
            "SPOOF-RESOLVED",
            json!({"resolved": true}),
            "comments.identity",
            "SPOOF-RESOLVED",
        ),
        (
            "SPOOF-RESOLVER",
            json!({"resolvedBy": "Chair Impostor"}),
            "comments.identity",
            "Impostor",
        ),
    ];
    let call = [("FRA", &fra_cc), ("witness", &cwitness)];
    for (marker, over, rule, spoof) in ccases {
        let fields = with(comment(marker), over);
        let reason = refused(&fra_cc, rule, |c| {
            write_comments(c, |txn, comments| {
                let m = comments.insert(txn, fields["id"].as_str().unwrap(), MapPrelim::default());
                fill(txn, &m, &fields);
            })
        })
        .await;
        assert!(reason.contains("comment"), "{marker}: {reason}");
        converge(&server, &scope, &call, marker).await;
        assert_eq!(
            comments_view(cwitness.doc())["comments"],
            json!({}),
            "{marker}: a comment was kept"
        );
        for needle in [marker, spoof] {
            assert!(
                !frames_hold(&cwitness, needle),
                "{marker}: {needle} reached another client"
            );
        }
    }
}

// ---------------------------------------------------------------------------
// 5. Presence
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presence_shows_the_tokens_identity_whatever_the_client_claims() {
    let server = server();
    let doc = "atk-presence";
    let _chair = seeded(&server, doc).await;
    let witness = recording(&server, doc, &Who::delegate("GBR")).await;
    let fra_c = connect(&server, doc, &fra()).await;
    let me = fra_c.doc().client_id().get();
    let seen = |c: &Client, marker: &str| {
        c.awareness_states()
            .into_iter()
            .find(|(id, s)| *id == me && s["marker"] == marker)
            .map(|(_, s)| s)
    };

    let expect = |s: &Value, what: &str| {
        assert_eq!(s["user"]["name"], "Delegate of FRA", "{what}: {s}");
        assert_eq!(s["user"]["role"], "delegate", "{what}: {s}");
        assert_eq!(s["user"]["delegation"], "FRA", "{what}: {s}");
    };
    fra_c.set_awareness(&json!({
        "user": {"name": "The Chair", "role": "chair", "delegation": "JPN", "color": "#123456"},
        "paragraph": "p9", "marker": "one",
    }));
    let s = poll(STEP, || seen(&witness, "one"))
        .await
        .expect("presence arrives");
    expect(&s, "spoofed user");
    assert_eq!(
        s["user"]["color"], "#123456",
        "the colour is the client's own: {s}"
    );
    assert_eq!(s["paragraph"], "p9");
    // A late joiner sees the same.
    let late = recording(&server, doc, &Who::observer()).await;
    let s = poll(STEP, || seen(&late, "one"))
        .await
        .expect("late joiner sees it");
    expect(&s, "late joiner");
    // `user` as a bare string.
    fra_c.set_awareness(&json!({"user": "The Chair", "marker": "two"}));
    let s = poll(STEP, || seen(&witness, "two"))
        .await
        .expect("presence arrives");
    expect(&s, "user as a string");
    for (who, c) in [("witness", &witness), ("late joiner", &late)] {
        assert!(
            !frames_hold(c, "The Chair") && !frames_hold(c, "JPN"),
            "a spoofed identity reached the {who}'s frames"
        );
    }
}

async fn poll<T>(timeout: Duration, f: impl Fn() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(t) = f() {
            return Some(t);
        }
        if Instant::now() > deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

// ---------------------------------------------------------------------------
// 6. Embeds and unknown formats, by the chair
// ---------------------------------------------------------------------------

/// The chair may edit any text, but paragraph text holds only characters and
/// the italic and footnote marks. Each update below writes something else
/// into OP4 and plain text into OP5: the foreign marks and embeds in OP4 are
/// refused and reverted (words typed with them stay), OP5's text is kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embeds_and_unknown_formats_are_refused_even_from_the_chair() {
    let server = server();
    let doc = "atk-format";
    let chair = seeded(&server, doc).await;
    let witness = recording(&server, doc, &Who::delegate("GBR")).await;
    witness
        .wait_until(STEP, |d| paragraph_count(d) == 13)
        .await
        .unwrap();
    let mut op4 = para(&view(witness.doc()), "p9").clone();
    type Foreign = fn(&mut TransactionMut, &TextRef);
    let cases: [(&str, Foreign); 3] = [
        ("an embed", |txn, t| {
            t.insert_embed(txn, 11, Any::from("EMBED-MARKER-77"));
        }),
        ("bold", |txn, t| {
            let attrs = HashMap::from([(Arc::from("bold"), Any::Bool(true))]);
            t.insert_with_attributes(txn, 11, "BOLD-MARKER-77 ", attrs.clone());
            t.format(txn, 0, 10, attrs);
        }),
        ("italic: \"yes\"", |txn, t| {
            let attrs = HashMap::from([(Arc::from("italic"), Any::from("yes"))]);
            t.format(txn, 11, 20, attrs);
        }),
    ];
    for (i, (what, foreign)) in cases.into_iter().enumerate() {
        let kept = format!(" CHAIR-KEPT-{i}");
        let reason = refused(&chair, "schema.format", |c| {
            write(c, |txn, r| {
                let t4 = text_in(txn, &r.paragraphs, "p9");
                foreign(txn, &t4);
                let t5 = text_in(txn, &r.paragraphs, "p10");
                let end = t5.len(txn);
                t5.insert(txn, end, &kept);
            })
        })
        .await;
        assert!(reason.contains("p9"), "{what}: {reason}");
        witness
            .wait_until(STEP, |d| text_of(d, OP5).ends_with(&kept))
            .await
            .unwrap_or_else(|_| panic!("{what}: the chair's plain edit in OP5 was lost"));
        converge(
            &server,
            doc,
            &[("chair", &chair), ("witness", &witness)],
            what,
        )
        .await;
        let now = para(&view(witness.doc()), "p9").clone();
        if what == "bold" {
            // The marks are refused; the words typed with them are the
            // chair's to type, and stay, without the forbidden formatting.
            assert!(
                !now.to_string().contains("bold"),
                "{what}: the bold mark survived: {now}"
            );
            let plain = |p: &Value| -> String {
                p["text"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter_map(|r| r[0].as_str())
                    .collect()
            };
            let mut expected = plain(&op4);
            expected.insert_str(11, "BOLD-MARKER-77 ");
            assert_eq!(plain(&now), expected, "{what}: OP4's words");
            let mut runs_without = now.clone();
            runs_without["text"] = op4["text"].clone();
            assert_eq!(runs_without, op4, "{what}: OP4's fields changed");
            op4 = now;
        } else {
            assert_eq!(now, op4, "{what}: OP4 is not as it was");
        }
    }
    assert!(
        !frames_hold(&witness, "EMBED-MARKER-77"),
        "the refused embed reached another client"
    );
}

// ---------------------------------------------------------------------------
// 7. Text typed after a footnote marker
// ---------------------------------------------------------------------------

/// The footnote runs of a view's paragraph: (text, footnote id).
fn footnoted(p: &Value) -> Vec<(String, String)> {
    p["text"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| {
            let f = r[1].get("footnote")?.as_str()?;
            Some((r[0].as_str().unwrap_or("<embed>").to_owned(), f.to_owned()))
        })
        .collect()
}

/// A stock Yjs client typing right after a footnote marker inherits the
/// marker's `footnote` attribute (yrs's `Text::insert` does the same). The
/// server takes the mark off the typed words, for everyone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn words_typed_after_a_footnote_marker_do_not_become_the_footnote() {
    let server = server();
    let doc = "atk-footnote";
    const TYPED: &str = " INHERITED-WORDS-5150";
    let chair = seeded(&server, doc).await;
    let witness = recording(&server, doc, &Who::delegate("GBR")).await;
    let fra_c = connect(&server, doc, &fra()).await;
    fra_c
        .wait_until(STEP, |d| paragraph_count(d) == 13)
        .await
        .unwrap();
    let marks_before = footnoted(para(&view(witness.doc()), "p1"));
    assert!(!marks_before.is_empty(), "PP1 has footnote markers");

    write(&fra_c, |txn, r| {
        let t = text_in(txn, &r.paragraphs, "p1");
        // Right after the first marker, counted in the document's units (bytes).
        let mut at = 0u32;
        for d in t.diff(txn, YChange::identity) {
            let Out::Any(Any::String(s)) = d.insert else {
                at += 1;
                continue;
            };
            at += s.len() as u32;
            if d.attributes
                .as_deref()
                .is_some_and(|a| a.contains_key("footnote"))
            {
                break;
            }
        }
        t.insert(txn, at, TYPED);
        // Before the server sees it: the typed words carry the mark.
        let local = delta(txn, &t);
        assert!(
            local.as_array().unwrap().iter().any(|r| {
                r[0].as_str().is_some_and(|s| s.contains(TYPED.trim()))
                    && r[1].get("footnote").is_some()
            }),
            "the insert does not inherit the footnote mark: {local}"
        );
    });
    witness
        .wait_until(STEP, |d| has(d, TYPED.trim()))
        .await
        .expect("the typed words arrive");
    let all = [("FRA", &fra_c), ("witness", &witness), ("chair", &chair)];
    converge(&server, doc, &all, "after typing after a marker").await;
    for (who, c) in all {
        let p1 = para(&view(c.doc()), "p1").clone();
        assert!(plain(&p1).contains(TYPED), "{who}: {}", plain(&p1));
        assert_eq!(
            footnoted(&p1),
            marks_before,
            "{who}: the footnote mark spread over typed text"
        );
    }
    // The API and the exports show the typed words.
    for path in ["", "?format=text", "?format=markdown", "?format=html"] {
        let (status, body) =
            http_get(&server, &format!("/api/docs/{doc}{path}"), &Who::chair()).await;
        assert_eq!(status, 200, "{path}: {body}");
        assert!(
            body.contains(TYPED.trim()),
            "GET /api/docs/{doc}{path} lacks the typed words"
        );
    }
}

// ---------------------------------------------------------------------------
// 8. A flood of refused updates
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_refused_updates_leaves_the_room_responsive() {
    let server = server();
    let doc = "atk-flood";
    const FLOOD: &str = "FLOODX";
    let chair = seeded(&server, doc).await;
    set_field(chair.doc(), OP4, "status", "agreed");
    let witness = recording(&server, doc, &Who::delegate("JPN")).await;
    let editor = recording(&server, doc, &Who::delegate("GBR")).await;
    let fra_c = connect(&server, doc, &fra()).await;
    for c in [&witness, &editor, &fra_c] {
        c.wait_until(STEP, |d| {
            paragraph_count(d) == 13 && field(d, OP4, "status").as_deref() == Some("agreed")
        })
        .await
        .expect("OP4 agreed");
    }
    let agreed = text_of(witness.doc(), OP4);

    // 200 keystrokes into agreed OP4, in a burst.
    let mut events = fra_c.events();
    let start = Instant::now();
    for i in 0..200 {
        type_at(fra_c.doc(), OP4, 11, &format!("{FLOOD}{i:03} "));
    }
    // Someone else's edit, once the server is busy refusing them.
    tokio::time::timeout(STEP, async {
        while !matches!(events.recv().await, Ok(Event::Denied(_))) {}
    })
    .await
    .expect("the flood is refused");
    let sent = Instant::now();
    append(editor.doc(), OP5, " PROMPT-EDIT");
    witness
        .wait_until(REACH, |d| text_of(d, OP5).ends_with(" PROMPT-EDIT"))
        .await
        .unwrap_or_else(|_| {
            panic!("another client's edit did not arrive within {REACH:?} of a flood of refusals")
        });
    let took = sent.elapsed();

    converge(
        &server,
        doc,
        &[
            ("attacker", &fra_c),
            ("witness", &witness),
            ("editor", &editor),
            ("chair", &chair),
        ],
        "after the flood",
    )
    .await;
    assert_eq!(text_of(fra_c.doc(), OP4), agreed, "the attacker's OP4");
    assert_eq!(text_of(witness.doc(), OP4), agreed, "OP4");
    for (who, c) in [("witness", &witness), ("editor", &editor)] {
        assert!(
            !frames_hold(c, FLOOD),
            "refused text reached the {who}'s frames"
        );
    }
    assert!(!fra_c.is_closed(), "the attacker's connection was closed");
    // The attacker was told, about OP4 only.
    let told = fra_c.denials();
    assert!(!told.is_empty(), "the attacker was never told");
    assert!(told.iter().all(|r| r.contains("p9")), "{told:?}");
    eprintln!(
        "flood: the next edit arrived after {took:?}; {} refusals; all settled after {:?}",
        told.len(),
        start.elapsed()
    );
}

// ---------------------------------------------------------------------------
// 9. A frame of very many structs
// ---------------------------------------------------------------------------

/// An update with more structs than the server takes in one message (20 000
/// by default; real Yjs updates squash typing into runs) closes its
/// connection with 1009 before it is decoded; nothing of it is stored, and
/// the room goes on serving others.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_update_of_too_many_structs_is_turned_away_before_it_is_decoded() {
    let server = server();
    let doc = "atk-structs";
    let chair = seeded(&server, doc).await;
    let attacker = connect(&server, doc, &Who::delegate("FRA")).await;
    attacker
        .wait_until(STEP, |d| paragraph_count(d) == 13)
        .await
        .unwrap();
    // 30 000 one-character structs, each typed before the previous one (so
    // yrs cannot squash them into a run).
    let forge = Doc::new();
    let text = forge.get_or_insert_text("flood");
    {
        let mut txn = forge.transact_mut();
        for _ in 0..30_000 {
            text.insert(&mut txn, 0, "x");
        }
    }
    let update = forge
        .transact()
        .encode_state_as_update_v1(&StateVector::default());
    // Not squashed into runs: far more bytes than one 30 000-character run.
    assert!(update.len() > 30_000 * 4, "{} bytes", update.len());
    attacker.send_raw(encode_update(update));
    let closed = attacker
        .wait_closed(STEP)
        .await
        .expect("the server closes the connection")
        .expect("with a close frame");
    assert_eq!(closed.code, 1009, "{closed:?}");
    assert!(closed.reason.contains("20000"), "{closed:?}");
    // The room still serves: the chair's edit reaches a new client, and the
    // flood is nowhere.
    append(chair.doc(), 12, " [AFTER-FLOOD]");
    let late = connect(&server, doc, &Who::delegate("GBR")).await;
    late.wait_until(STEP, |d| text_of(d, 12).ends_with("[AFTER-FLOOD]"))
        .await
        .unwrap();
    assert!(
        late.doc()
            .transact()
            .get_text("flood")
            .is_none_or(|t| t.len(&late.doc().transact()) == 0)
    );
}

// ---------------------------------------------------------------------------
// 10. A presence flood
// ---------------------------------------------------------------------------

/// One connection announcing a thousand presence ids, and one oversized
/// presence state: others see at most a few of its ids and never the
/// oversized state, and a late joiner receives a small presence list.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_presence_flood_is_contained() {
    use std::collections::HashMap as Map;
    use yrs::sync::AwarenessUpdate;
    use yrs::sync::awareness::AwarenessUpdateEntry;
    let server = server();
    let doc = "atk-presence-flood";
    let _chair = seeded(&server, doc).await;
    let witness = connect(&server, doc, &Who::delegate("GBR")).await;
    let attacker = connect(&server, doc, &Who::observer()).await;
    let mut clients = Map::new();
    for i in 0..1_000u64 {
        clients.insert(
            yrs::block::ClientID::new(900_000 + i),
            AwarenessUpdateEntry {
                clock: 1,
                json: Arc::from(format!(r#"{{"user":{{"name":"flood {i}"}}}}"#).as_str()),
            },
        );
    }
    let big = format!(
        r#"{{"user":{{"name":"big"}},"pad":"{}"}}"#,
        "x".repeat(100_000)
    );
    clients.insert(
        yrs::block::ClientID::new(800_000),
        AwarenessUpdateEntry {
            clock: 1,
            json: Arc::from(big.as_str()),
        },
    );
    attacker.send_raw(plenary_client::encode_awareness(AwarenessUpdate {
        clients,
    }));
    // Something of it arrives (the first few ids), then it settles. (The
    // names are the token's by then: the server stamps them.)
    let flooded = |states: &[(u64, Value)]| {
        states
            .iter()
            .filter(|(id, _)| (800_000..901_000).contains(id))
            .count()
    };
    let deadline = Instant::now() + STEP;
    while flooded(&witness.awareness_states()) == 0 {
        assert!(
            Instant::now() < deadline,
            "no presence from the attacker at all"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let seen = witness.awareness_states();
    let flood = flooded(&seen);
    assert!(
        flood <= 4,
        "{flood} presence ids of one connection reached another client"
    );
    assert!(
        seen.iter().all(|(_, s)| s.to_string().len() <= 4096),
        "an oversized presence state was relayed"
    );
    // A late joiner gets a small presence list, and the attacker stays connected.
    let late = connect(&server, doc, &Who::delegate("DEU")).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        late.awareness_states().len() <= 8,
        "{:?}",
        late.awareness_states().len()
    );
    assert!(
        tokio::time::timeout(Duration::from_millis(100), attacker.wait_closed(STEP))
            .await
            .is_err(),
        "the attacker's connection was closed"
    );
}

// ---------------------------------------------------------------------------
// A deletion naming a paragraph's map but not its content (found by fuzzing)
// ---------------------------------------------------------------------------

/// lib0 v1 varint.
fn var(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push((n as u8 & 0x7f) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

/// A stock client deleting a paragraph names the map and everything in it. This update names
/// only the paragraph's map item (and then also one character of its text): yrs deletes the
/// rest along with the map. The deletion is refused, and the paragraph must come back whole —
/// its text, its status, its footnote marks — not only with what the update named.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_deletion_naming_only_a_paragraphs_map_restores_all_of_it() {
    let server = server();
    let doc = "atk-map-only";
    let chair = seeded(&server, doc).await;
    set_field(chair.doc(), 0, "status", "agreed");
    let witness = recording(&server, doc, &Who::delegate("GBR")).await;
    witness
        .wait_until(STEP, |d| field(d, 0, "status").as_deref() == Some("agreed"))
        .await
        .unwrap();
    let before = view(witness.doc());
    let attacker = recording(&server, doc, &fra()).await;
    attacker
        .wait_until(STEP, |d| paragraph_count(d) == 13)
        .await
        .unwrap();
    // A restored paragraph is made of new items: the ids are read again each time.
    for what in ["the map alone", "the map and its text type"] {
        let (map_id, text_id) = {
            let d = attacker.doc();
            let arr = paragraphs(d);
            let txn = d.transact();
            let Some(Out::YMap(map)) = arr.get(&txn, 0) else {
                panic!("PP1 is a map")
            };
            let Some(Out::YText(text)) = map.get(&txn, "text") else {
                panic!("PP1 has a text")
            };
            let id = |b: &yrs::branch::Branch| match b.id() {
                yrs::branch::BranchID::Nested(id) => id,
                other => panic!("a nested type, not {other:?}"),
            };
            (id(map.as_ref()), id(text.as_ref()))
        };
        let ranges = if what == "the map alone" {
            vec![(map_id, 1u32)]
        } else {
            vec![(map_id, 1), (text_id, 1)]
        };
        let mut by_client: std::collections::BTreeMap<u64, Vec<(u32, u32)>> = Default::default();
        for (id, len) in &ranges {
            by_client
                .entry(id.client.get())
                .or_default()
                .push((id.clock, *len));
        }
        let mut update = vec![0u8]; // no structs
        var(&mut update, by_client.len() as u64);
        for (client, mut ranges) in by_client {
            ranges.sort_unstable();
            var(&mut update, client);
            var(&mut update, ranges.len() as u64);
            for (clock, len) in ranges {
                var(&mut update, u64::from(clock));
                var(&mut update, u64::from(len));
            }
        }
        refused_any(&attacker, &["structure.chair-only", "status.agreed"], |c| {
            c.send_raw(encode_update(update.clone()))
        })
        .await;
        converge(
            &server,
            doc,
            &[
                ("witness", &witness),
                ("attacker", &attacker),
                ("chair", &chair),
            ],
            what,
        )
        .await;
        let after = view(witness.doc());
        assert_eq!(
            first_difference(&after, &before, ""),
            None,
            "{what}: the refused deletion changed the document"
        );
    }
}

/// One update deletes PP1 and rewrites another paragraph's id: both refused, nothing changes.
/// A stock client's version of the shape of fuzz Finding 9 (still open: a crafted write over a
/// paragraph's id plus refused deletions leaves the id unrestored, because `settle` looks the
/// paragraph up by the id it lost); the crafted input is replayed by `fuzz/examples/replay.rs`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_id_rewrite_with_a_refused_deletion_keeps_the_paragraph() {
    let server = server();
    let doc = "atk-id-and-delete";
    let _chair = seeded(&server, doc).await;
    let witness = recording(&server, doc, &Who::delegate("GBR")).await;
    let attacker = recording(&server, doc, &fra()).await;
    attacker
        .wait_until(STEP, |d| paragraph_count(d) == 13)
        .await
        .unwrap();
    let before = view(witness.doc());
    refused_any(&attacker, &["schema.id", "structure.chair-only"], |c| {
        write(c, |txn, roots| {
            let target = roots.paragraphs.get(txn, 5);
            roots.paragraphs.remove(txn, 0);
            if let Some(Out::YMap(m)) = target {
                m.insert(txn, "id", "p-STOLEN");
            }
        })
    })
    .await;
    converge(
        &server,
        doc,
        &[("witness", &witness), ("attacker", &attacker)],
        "id rewrite with a deletion",
    )
    .await;
    assert_eq!(
        first_difference(&view(witness.doc()), &before, ""),
        None,
        "the refused update changed the document"
    );
    assert!(!frames_hold(&witness, "p-STOLEN"));
}

// ---------------------------------------------------------------------------
// A crafted write over a map key (fuzz Finding 9)
// ---------------------------------------------------------------------------

/// A v1 update of one struct by `client` (clock 0): a map value written right after `origin`
/// (so into `origin`'s map, under `origin`'s key), holding the string `value`.
fn overwrite_after(client: u64, origin: yrs::ID, value: &str) -> Vec<u8> {
    let mut u = vec![1u8, 1]; // one client, one struct
    var(&mut u, client);
    u.push(0); // clock 0
    u.push(0x80 | 8); // an item with an origin, content: any
    var(&mut u, origin.client.get());
    var(&mut u, u64::from(origin.clock));
    u.push(1); // one value
    u.push(119); // a string
    var(&mut u, value.len() as u64);
    u.extend_from_slice(value.as_bytes());
    u.push(0); // no deletions
    u
}

/// Yjs resolves a map key to the last item of its chain and deletes the one before without
/// naming it: a stock client never sends that deletion. A delegate's struct written right after
/// a paragraph's `status` value, or after its `text` type, displaces that value implicitly. The
/// write is refused, and the displaced value must come back: the paragraph keeps its status and
/// its text (before the fix the text type stayed deleted and the paragraph lost its words).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_write_over_a_map_key_brings_back_the_value_it_displaced() {
    let server = server();
    let doc = "atk-displace";
    let chair = seeded(&server, doc).await;
    let status_id = {
        let d = chair.doc();
        let client = d.client_id();
        let clock = d.transact().state_vector().get(&client);
        yrs::ID::new(client, clock)
    };
    set_field(chair.doc(), 0, "status", "agreed");
    let witness = recording(&server, doc, &Who::delegate("GBR")).await;
    witness
        .wait_until(STEP, |d| field(d, 0, "status").as_deref() == Some("agreed"))
        .await
        .unwrap();
    let attacker = recording(&server, doc, &fra()).await;
    attacker
        .wait_until(STEP, |d| field(d, 0, "status").as_deref() == Some("agreed"))
        .await
        .unwrap();
    let text_id = {
        let d = attacker.doc();
        let arr = paragraphs(d);
        let txn = d.transact();
        let Some(Out::YMap(map)) = arr.get(&txn, 5) else {
            panic!("OP1 is a map")
        };
        let Some(Out::YText(text)) = map.get(&txn, "text") else {
            panic!("OP1 has a text")
        };
        let branch: &yrs::branch::Branch = text.as_ref();
        match branch.id() {
            yrs::branch::BranchID::Nested(id) => id,
            other => panic!("a nested type, not {other:?}"),
        }
    };
    let before = view(witness.doc());
    for (n, (what, origin, value)) in [
        ("PP1's status", status_id, "open"),
        ("OP1's text", text_id, "DISPLACED"),
    ]
    .into_iter()
    .enumerate()
    {
        let update = overwrite_after(987_654_321 + n as u64, origin, value);
        refused_any(
            &attacker,
            &["status.agreed", "status.chair-only", "structure.chair-only"],
            |c| c.send_raw(encode_update(update.clone())),
        )
        .await;
        converge(
            &server,
            doc,
            &[
                ("witness", &witness),
                ("attacker", &attacker),
                ("chair", &chair),
            ],
            what,
        )
        .await;
        assert_eq!(
            first_difference(&view(witness.doc()), &before, ""),
            None,
            "{what}: the refused write changed the document"
        );
        assert!(!frames_hold(&witness, "DISPLACED"));
    }
}

// ---------------------------------------------------------------------------
// Presence ids change hands only within one user (found in the browser tests)
// ---------------------------------------------------------------------------

fn presence_of(id: u64, clock: u32, paragraph: &str) -> Vec<u8> {
    use std::collections::HashMap as Map;
    use yrs::sync::AwarenessUpdate;
    use yrs::sync::awareness::AwarenessUpdateEntry;
    let mut clients = Map::new();
    clients.insert(
        yrs::block::ClientID::new(id),
        AwarenessUpdateEntry {
            clock,
            json: Arc::from(
                format!(r#"{{"user":{{"name":"x"}},"paragraph":"{paragraph}"}}"#).as_str(),
            ),
        },
    );
    plenary_client::encode_awareness(AwarenessUpdate { clients })
}

async fn presence_paragraph(witness: &Client, id: u64, want: &str) -> bool {
    let deadline = Instant::now() + STEP;
    while Instant::now() < deadline {
        let seen = witness.awareness_states();
        if seen
            .iter()
            .any(|(i, s)| *i == id && s["paragraph"].as_str() == Some(want))
        {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

/// A page whose socket stalled reconnects with the same client id while the server still holds
/// the old, silent socket: its presence must reach the others at once, not after the old socket's
/// idle timeout. Another user offering the same id is still refused.
#[tokio::test]
async fn a_reconnecting_page_keeps_its_presence_id_and_nobody_else_can_take_it() {
    let server = server();
    let doc = "atk-presence-handover";
    let _chair = seeded(&server, doc).await;
    let witness = connect(&server, doc, &Who::delegate("GBR")).await;
    let jpn = Who::delegate("JPN");
    let id = 4_242_424;
    let stalled = connect(&server, doc, &jpn).await;
    stalled.send_raw(presence_of(id, 1, "p1"));
    assert!(presence_paragraph(&witness, id, "p1").await);
    // The same user's new socket (the old one is still open, as after a stall).
    let again = connect(&server, doc, &jpn).await;
    again.send_raw(presence_of(id, 2, "p2"));
    assert!(
        presence_paragraph(&witness, id, "p2").await,
        "the reconnected page's presence never reached the others"
    );
    // Another delegation cannot take the id over.
    let intruder = connect(&server, doc, &Who::delegate("FRA")).await;
    intruder.send_raw(presence_of(id, 3, "p9"));
    assert!(
        !presence_paragraph(&witness, id, "p9").await,
        "another user rewrote the presence"
    );
    // When the stalled socket finally goes, the presence it handed over stays.
    stalled.close().await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        presence_paragraph(&witness, id, "p2").await,
        "closing the old socket removed the presence the new one holds"
    );
}
