//! Integrate, then compensate: a refused part of an update is reverted by the
//! server's own change; the sender and every other peer converge, the
//! sender's clocks stay continuous, and the net change carries no refused
//! content.
#![allow(clippy::unwrap_used)]
mod common;

use common::*;
use plenary_doc::{Footprint, Integration, ResolutionDoc, Status, Target};
use yrs::updates::decoder::Decode;
use yrs::{Doc, ReadTxn, Transact, Update};

/// A server document that keeps deleted content until it collects it.
fn server() -> ResolutionDoc {
    let s = ResolutionDoc::with_manual_gc();
    let seed = ResolutionDoc::from_resolution_with_client_id(1, &sample(2, 3)).unwrap();
    let u = Update::decode_v1(&seed.encode_state()).unwrap();
    Integration::begin(s.doc(), u).unwrap().accept();
    s
}

fn text_of(doc: &ResolutionDoc, id: &str) -> String {
    doc.paragraph(id)
        .unwrap()
        .text
        .iter()
        .map(|r| r.text.as_str())
        .collect()
}

/// Judges like a server that refuses every change to `locked`.
fn judge(s: &ResolutionDoc, update: &[u8], locked: &str) -> Footprint {
    let e = s.effect(update).unwrap();
    let mut refused = Footprint::default();
    for (t, fp) in &e.footprints {
        let hit = match t {
            Target::ParagraphText(p) | Target::Paragraph(p) | Target::ParagraphField(p, _) => {
                p == locked
            }
            Target::Unknown => true,
            _ => false,
        };
        if hit {
            refused.merge(fp);
        }
    }
    refused
}

fn apply(doc: &Doc, update: &[u8]) {
    let mut txn = doc.transact_mut();
    txn.apply_update(Update::decode_v1(update).unwrap())
        .unwrap();
}

fn para_text(doc: &Doc, id: &str) -> String {
    let r = ResolutionDoc::from_update(
        &doc.transact()
            .encode_state_as_update_v1(&Default::default()),
    )
    .unwrap();
    text_of(&r, id)
}

#[test]
fn a_partly_refused_update_keeps_the_allowed_part_and_everyone_converges() {
    let s = server();
    let before_op1 = text_of(&s, "op1");
    let mut client = replica(&s, 10);
    let observer = replica(&s, 11);
    // One update: text into op1 (locked), a deletion in op1, text into op2.
    let sv = client.doc().transact().state_vector();
    client.insert_text("op1", 0, "SECRET ", false).unwrap();
    client.delete_text("op1", 10, 5).unwrap();
    client.insert_text("op2", 0, "Kept ", false).unwrap();
    let update = client.doc().transact().encode_state_as_update_v1(&sv);
    let refused = judge(&s, &update, "op1");
    assert!(!refused.is_empty());
    let it = Integration::begin(s.doc(), Update::decode_v1(&update).unwrap()).unwrap();
    let net = it.revert(&refused).unwrap();

    // The server kept op2's edit and reverted op1 exactly.
    assert_eq!(text_of(&s, "op1"), before_op1);
    assert!(text_of(&s, "op2").starts_with("Kept "));
    // The net change holds no refused text.
    assert!(!String::from_utf8_lossy(&net).contains("SECRET"));

    // The sender applies the net change and converges, clocks included.
    apply(client.doc(), &net);
    assert_eq!(para_text(client.doc(), "op1"), before_op1);
    assert_eq!(para_text(client.doc(), "op2"), text_of(&s, "op2"));
    assert_eq!(
        client.doc().transact().state_vector(),
        s.doc().transact().state_vector()
    );
    // A peer that only ever sees net changes converges too.
    apply(observer.doc(), &net);
    assert_eq!(para_text(observer.doc(), "op1"), before_op1);
    assert_eq!(para_text(observer.doc(), "op2"), text_of(&s, "op2"));
    assert_eq!(
        observer.doc().transact().state_vector(),
        s.doc().transact().state_vector()
    );

    // The sender's next edit integrates on the server at once (no pending).
    let next = client.insert_text("op3", 0, "Next ", false).unwrap();
    let it = Integration::begin(s.doc(), Update::decode_v1(&next).unwrap()).unwrap();
    it.accept();
    assert!(text_of(&s, "op3").starts_with("Next "));
    assert!(s.doc().transact().store().pending_update().is_none());
    // and the snapshot keeps no refused text either
    assert!(!String::from_utf8_lossy(&s.encode_state()).contains("SECRET"));
}

#[test]
fn refused_typing_next_to_refused_text_is_reverted_again() {
    let s = server();
    let before = text_of(&s, "op1");
    let mut client = replica(&s, 10);
    for word in ["one ", "two ", "three "] {
        let u = client.insert_text("op1", 0, word, false).unwrap();
        let refused = judge(&s, &u, "op1");
        let net = Integration::begin(s.doc(), Update::decode_v1(&u).unwrap())
            .unwrap()
            .revert(&refused)
            .unwrap();
        apply(client.doc(), &net);
        assert_eq!(para_text(client.doc(), "op1"), before);
    }
}

/// One room step as the server runs it: judge (refusing every change to
/// `locked`), integrate, revert, settle; returns the net change.
fn step(s: &ResolutionDoc, update: &[u8], locked: &str) -> Vec<u8> {
    let effect = s.effect(update).unwrap();
    let refused = judge(s, update, locked);
    let is_refused = |t: &Target| match t {
        Target::ParagraphText(p) | Target::Paragraph(p) | Target::ParagraphField(p, _) => {
            p == locked
        }
        _ => false,
    };
    let before = s.values_before(&effect, &is_refused);
    let it = Integration::begin(s.doc(), Update::decode_v1(update).unwrap()).unwrap();
    let net = if refused.is_empty() {
        it.accept()
    } else {
        it.revert(&refused).unwrap()
    };
    match s.settle(&effect, &is_refused, &before) {
        Some(extra) => yrs::merge_updates_v1([net.as_slice(), extra.as_slice()]).unwrap(),
        None => net,
    }
}

#[test]
fn an_allowed_write_is_not_shadowed_by_a_concurrent_write_the_server_reverted() {
    // Yjs orders concurrent writes to one key by client id: try both orders.
    for (refused_id, allowed_id) in [(10, 20), (20, 10)] {
        let s = server();
        let mut a = replica(&s, refused_id);
        let mut b = replica(&s, allowed_id);
        // Both write op1's status, neither having seen the other: A's write
        // is refused (op1 is locked for A), B's is allowed.
        let ua = a.set_status("op1", Status::Agreed).unwrap();
        let ub = b.set_status("op1", Status::Bracketed).unwrap();
        let na = step(&s, &ua, "op1");
        let nb = step(&s, &ub, "none");
        assert_eq!(
            s.paragraph_status("op1"),
            Some(Status::Bracketed),
            "ids {refused_id}/{allowed_id}"
        );
        for c in [&a, &b] {
            apply(c.doc(), &na);
            apply(c.doc(), &nb);
            assert_eq!(c.paragraph_status("op1"), Some(Status::Bracketed));
            assert_eq!(
                c.doc().transact().state_vector(),
                s.doc().transact().state_vector()
            );
        }
    }
}

#[test]
fn a_footnote_mark_never_spreads_to_typed_text() {
    let s = server();
    let c = replica(&s, 10);
    // pp1 ends with the footnote marker ¹ (footnote fn1). A stock client
    // typing right after it inherits the mark.
    let before = s.paragraph("pp1").unwrap().text;
    let len: u32 = before
        .iter()
        .map(|r| r.text.encode_utf16().count() as u32)
        .sum();
    let u = {
        let sv = c.doc().transact().state_vector();
        let text = {
            let txn = c.doc().transact();
            let ps = txn.get_array("paragraphs").unwrap();
            let yrs::Out::YMap(m) = yrs::Array::get(&ps, &txn, 0).unwrap() else {
                panic!()
            };
            let Some(yrs::Out::YText(t)) = yrs::Map::get(&m, &txn, "text") else {
                panic!()
            };
            t
        };
        yrs::Text::insert(&text, &mut c.doc().transact_mut(), len, " typed");
        c.doc().transact().encode_state_as_update_v1(&sv)
    };
    let net = step(&s, &u, "none");
    let runs = s.paragraph("pp1").unwrap().text;
    for r in &runs {
        if r.footnote.is_some() {
            assert!(
                r.text.chars().all(|ch| "⁰¹²³⁴⁵⁶⁷⁸⁹".contains(ch)),
                "{runs:?}"
            );
        }
    }
    assert!(
        runs.iter()
            .any(|r| r.text.contains("typed") && r.footnote.is_none())
    );
    apply(c.doc(), &net);
    assert_eq!(
        ResolutionDoc::from_update(&full_state(c.doc()))
            .unwrap()
            .paragraph("pp1")
            .unwrap()
            .text,
        runs
    );
}
