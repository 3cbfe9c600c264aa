//! The typed view and the editing operations, as a user of the document sees them.
#![allow(clippy::unwrap_used)]
mod common;

use common::*;
use plenary_doc::{
    Mode, ParagraphKind, Position, Proposal, ProposalAction, ProposalStatus, ResolutionDoc, Run,
    Sponsor, Status,
};
use yrs::Transact;
use yrs::updates::decoder::Decode;

#[test]
fn a_resolution_written_into_a_doc_reads_back_with_derived_labels() {
    let r = sample(2, 3);
    let d = ResolutionDoc::from_resolution_with_client_id(1, &r).unwrap();
    let back = d.resolution();
    assert_eq!(back.meta, r.meta);
    assert_eq!(back.paragraphs.len(), 5);
    for (a, b) in back.paragraphs.iter().zip(&r.paragraphs) {
        assert_eq!(
            (&a.id, a.kind, a.level, a.status),
            (&b.id, b.kind, b.level, b.status)
        );
        assert_eq!(a.text, b.text);
    }
    let labels: Vec<&str> = back.paragraphs.iter().map(|p| p.label.as_str()).collect();
    assert_eq!(labels, ["PP1", "PP2", "OP1", "OP2", "OP3"]);
    assert_eq!(back.paragraphs[3].number, "2");
    assert_eq!(back.footnotes.len(), 1);
    assert_eq!(back.footnotes[0].marker, 1);
    // a reload from the encoded state gives the same view
    let again = ResolutionDoc::from_update(&d.encode_state()).unwrap();
    assert_eq!(again.resolution(), back);
}

#[test]
fn a_document_opened_for_reading_reads_the_same_and_refuses_to_judge_updates() {
    let mut d = ResolutionDoc::from_resolution_with_client_id(1, &sample(2, 3)).unwrap();
    let before = d.encode_state();
    let edit = d.insert_text("op1", 0, "Also ", false).unwrap();
    let reader = ResolutionDoc::for_reading(&before).unwrap();
    assert_eq!(
        reader.resolution(),
        ResolutionDoc::from_update(&before).unwrap().resolution()
    );
    // plain updates apply, as history replays the log
    reader
        .doc()
        .transact_mut()
        .apply_update(yrs::Update::decode_v1(&edit).unwrap())
        .unwrap();
    assert_eq!(reader.resolution(), d.resolution());
    assert_eq!(reader.encode_state().len(), d.encode_state().len());
    // but it cannot say what an update would change: it has no index, and says so
    let err = reader.effect(&edit).unwrap_err().to_string();
    assert!(err.contains("reading only"), "{err}");
    assert!(ResolutionDoc::for_reading(b"\xff\xff\xff").is_err());
    assert!(
        ResolutionDoc::empty_for_reading()
            .resolution()
            .paragraphs
            .is_empty()
    );
}

#[test]
fn inserted_text_does_not_inherit_italics() {
    let mut d = ResolutionDoc::from_resolution_with_client_id(1, &sample(1, 1)).unwrap();
    // right after "Requests" (italic)
    d.insert_text("op1", 8, " also", false).unwrap();
    let p = d.paragraph("op1").unwrap();
    assert_eq!(p.text[0], italic("Requests"));
    assert!(p.text[1].text.starts_with(" also the Secretary"));
    assert!(!p.text[1].italic);
    d.set_italic("op1", 0, 13, true).unwrap();
    assert_eq!(d.paragraph("op1").unwrap().text[0], italic("Requests also"));
}

#[test]
fn out_of_range_edits_are_refused_not_panicking() {
    let mut d = ResolutionDoc::from_resolution_with_client_id(1, &sample(1, 1)).unwrap();
    assert!(d.insert_text("op1", 10_000, "x", false).is_err());
    assert!(d.delete_text("op1", 3, u32::MAX).is_err());
    assert!(d.set_italic("nope", 0, 1, true).is_err());
    assert!(d.move_paragraph("op1", Position::Index(99)).is_err());
    assert!(d.set_meta("colour", Some("red")).is_err());
}

#[test]
fn paragraphs_insert_move_delete_keep_stable_ids() {
    let mut d = ResolutionDoc::from_resolution_with_client_id(0xab, &sample(2, 3)).unwrap();
    let (id, update) = d
        .insert_paragraph(
            Position::After("op1".into()),
            ParagraphKind::Operative,
            0,
            &[italic("Decides"), run(" to remain seized of the matter;")],
        )
        .unwrap();
    assert!(id.starts_with("pab-"), "{id}");
    assert!(!update.is_empty());
    let ids = |d: &ResolutionDoc| -> Vec<String> {
        d.resolution()
            .paragraphs
            .into_iter()
            .map(|p| p.id)
            .collect()
    };
    assert_eq!(ids(&d), ["pp1", "pp2", "op1", id.as_str(), "op2", "op3"]);
    d.set_status("op3", Status::Agreed).unwrap();
    d.move_paragraph("op3", Position::Before("op1".into()))
        .unwrap();
    assert_eq!(ids(&d), ["pp1", "pp2", "op3", "op1", id.as_str(), "op2"]);
    // the move carried its status and text
    let op3 = d.paragraph("op3").unwrap();
    assert_eq!(op3.status, Status::Agreed);
    assert_eq!(op3.text[0], italic("Requests"));
    d.delete_paragraph("op1").unwrap();
    assert_eq!(ids(&d), ["pp1", "pp2", "op3", id.as_str(), "op2"]);
    // against the base order of the start, the new paragraph is provisional,
    // named after the base paragraph it now follows (OP3, moved up)
    let base = ResolutionDoc::from_resolution(&sample(2, 3))
        .unwrap()
        .base_order();
    let labels: Vec<String> = d
        .resolution_with_base(Some(&base))
        .paragraphs
        .into_iter()
        .map(|p| p.label)
        .collect();
    assert_eq!(labels, ["PP1", "PP2", "OP3", "OP3bis", "OP2"]);
    // a second insert gets a different id
    let (id2, _) = d
        .insert_paragraph(Position::End, ParagraphKind::Operative, 0, &[])
        .unwrap();
    assert_ne!(id, id2);
}

#[test]
fn edits_made_by_one_replica_reach_another_through_the_returned_update() {
    let mut a = ResolutionDoc::from_resolution_with_client_id(1, &sample(1, 2)).unwrap();
    let mut b = replica(&a, 2);
    let u = a.set_mode(Mode::Negotiation).unwrap();
    b.apply(&u).unwrap();
    assert_eq!(b.mode(), Mode::Negotiation);
    let u = a
        .set_meta("symbol", Some("E/CN.15/2021/L.4/Rev.1"))
        .unwrap();
    b.apply(&u).unwrap();
    assert_eq!(
        b.resolution().meta.symbol.as_deref(),
        Some("E/CN.15/2021/L.4/Rev.1")
    );
    let u = a
        .add_sponsor(&Sponsor {
            delegation: "JPN".into(),
            signed_by: "u1".into(),
            at: 5,
        })
        .unwrap();
    b.apply(&u).unwrap();
    assert_eq!(b.resolution().sponsors[0].delegation, "JPN");
}

#[test]
fn footnotes_are_numbered_by_first_reference() {
    let mut d = ResolutionDoc::from_resolution_with_client_id(1, &sample(2, 1)).unwrap();
    // a new footnote referenced before fn1 (at the start of PP1) becomes ¹
    let (fid, _) = d.add_footnote("pp1", 9, &[run("E/2020/30.")]).unwrap();
    let r = d.resolution();
    assert_eq!(r.footnotes[0].id, fid);
    assert_eq!(r.footnotes[0].marker, 1);
    assert_eq!(r.footnotes[1].id, "fn1");
    assert_eq!(r.footnotes[1].marker, 2);
    let markers: Vec<&Run> = r.paragraphs[0]
        .text
        .iter()
        .filter(|x| x.footnote.is_some())
        .collect();
    assert_eq!(markers[0].text, "¹");
    assert_eq!(markers[1].text, "²");
    d.set_footnote_text(&fid, &[run("E/2021/30.")]).unwrap();
    assert_eq!(d.resolution().footnotes[0].text, vec![run("E/2021/30.")]);
}

fn proposal(
    action: ProposalAction,
    pid: Option<&str>,
    after: Option<&str>,
    text: &str,
) -> Proposal {
    Proposal {
        id: String::new(),
        paragraph_id: pid.map(Into::into),
        footnote_id: None,
        after: after.map(Into::into),
        action,
        text: text.into(),
        delegation: "JPN".into(),
        on_behalf_of: None,
        supporters: vec![],
        author: "u-jpn".into(),
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

#[test]
fn accepting_proposals_applies_them() {
    let mut d = ResolutionDoc::from_resolution_with_client_id(1, &sample(1, 3)).unwrap();
    let (q1, _) = d
        .add_proposal(&proposal(
            ProposalAction::Replace,
            Some("op1"),
            None,
            "Requests the Secretariat to report;",
        ))
        .unwrap();
    d.support_proposal(&q1, "USA").unwrap();
    d.support_proposal(&q1, "USA").unwrap();
    assert_eq!(d.proposal(&q1).unwrap().supporters, ["USA"]);
    d.decide_proposal(&q1, true, "chair").unwrap();
    let op1 = d.paragraph("op1").unwrap();
    assert_eq!(
        op1.text,
        vec![italic("Requests"), run(" the Secretariat to report;")]
    );
    assert_eq!(d.proposal(&q1).unwrap().status, ProposalStatus::Accepted);
    // decided proposals cannot be decided again
    assert!(d.decide_proposal(&q1, false, "chair").is_err());

    let (q2, _) = d
        .add_proposal(&proposal(
            ProposalAction::Insert,
            None,
            Some("op1"),
            "*Invites* States;",
        ))
        .unwrap();
    d.decide_proposal(&q2, true, "chair").unwrap();
    let r = d.resolution();
    assert_eq!(
        r.paragraphs[2].text,
        vec![italic("Invites"), run(" States;")]
    );
    assert_eq!(r.paragraphs[2].kind, ParagraphKind::Operative);

    let (q3, _) = d
        .add_proposal(&proposal(
            ProposalAction::Move,
            Some("op3"),
            Some("pp1"),
            "",
        ))
        .unwrap();
    d.decide_proposal(&q3, true, "chair").unwrap();
    assert_eq!(d.resolution().paragraphs[1].id, "op3");

    let (q4, _) = d
        .add_proposal(&proposal(ProposalAction::Delete, Some("op2"), None, ""))
        .unwrap();
    let (q5, _) = d
        .add_proposal(&proposal(ProposalAction::Delete, Some("op1"), None, ""))
        .unwrap();
    d.withdraw_proposal(&q5).unwrap();
    d.decide_proposal(&q4, true, "chair").unwrap();
    assert!(d.paragraph("op2").is_none());
    assert!(d.paragraph("op1").is_some());
    assert_eq!(d.proposal(&q5).unwrap().status, ProposalStatus::Withdrawn);
}
