//! What the fuzz targets share: the seeded document they judge against, built once per process.
//!
//! The seed is the real resolution `tests/fixtures/reducing-reoffending-2021-rev1.txt`,
//! imported as the server imports it, then brought into the shape a negotiation has: negotiation
//! mode, agreed, bracketed and ad-ref paragraphs, a pending proposal and a sponsor entry of
//! `DELEGATIONS[0]`, a footnote. So every rule of the policy has something to bite on.

use plenary_doc::{
    Mode, ParagraphKind, Position, Proposal, ProposalAction, ProposalStatus, ResolutionDoc, Run,
    Sponsor, Status, import_text,
};
use plenary_server::fuzzing::DELEGATIONS;

/// The fixture, as committed.
pub const FIXTURE: &str = include_str!("../../tests/fixtures/reducing-reoffending-2021-rev1.txt");

/// The client id the seed document writes as (the fuzzed updates may continue it).
pub const SEED_CLIENT: u64 = 1;

/// The name of the fuzzed room.
pub const DOC_NAME: &str = "reducing-reoffending";

/// The seeded document's whole state, v1.
pub fn seed_state() -> Vec<u8> {
    seed_doc().encode_state()
}

/// The seeded document (see the module doc).
pub fn seed_doc() -> ResolutionDoc {
    let imported = import_text(FIXTURE).expect("the fixture imports");
    let mut d = ResolutionDoc::from_resolution_with_client_id(SEED_CLIENT, &imported.resolution)
        .expect("the fixture loads");
    let ids: Vec<String> = d
        .resolution()
        .paragraphs
        .iter()
        .map(|p| p.id.clone())
        .collect();
    assert!(ids.len() >= 6, "the fixture has paragraphs");
    d.set_status(&ids[0], Status::Agreed).expect("status");
    d.set_status(&ids[1], Status::Bracketed).expect("status");
    d.set_status(&ids[2], Status::AdRef).expect("status");
    let last = ids.len() - 1;
    d.set_status(&ids[last], Status::Agreed).expect("status");
    d.add_footnote(&ids[3], 0, &[Run::plain("See A/CONF.234/16.")])
        .expect("footnote");
    d.add_proposal(&Proposal {
        id: String::new(),
        paragraph_id: Some(ids[4].clone()),
        footnote_id: None,
        after: None,
        action: ProposalAction::Replace,
        text: "Encourages Member States to share good practices in rehabilitation,".into(),
        delegation: DELEGATIONS[0].into(),
        on_behalf_of: None,
        supporters: vec![],
        author: "delegate-1".into(),
        created_at: 1_621_000_000_000,
        status: ProposalStatus::Pending,
        decided_by: None,
        decided_at: None,
        base_text: None,
        base_seq: None,
        kind: None,
        level: None,
    })
    .expect("proposal");
    d.add_sponsor(&Sponsor {
        delegation: DELEGATIONS[0].into(),
        signed_by: "delegate-1".into(),
        at: 1_621_000_000_000,
    })
    .expect("sponsor");
    d.set_mode(Mode::Negotiation).expect("mode");
    d
}

/// Single edits of the seeded document, each a v1 update that continues it (each made on a fresh
/// copy, as client 7): the seeds of the effect and policy corpora.
pub fn seed_updates() -> Vec<(&'static str, Vec<u8>)> {
    let state = seed_state();
    let fresh = || ResolutionDoc::from_update_with_client_id(7, &state).expect("seed loads");
    let ids: Vec<String> = fresh()
        .resolution()
        .paragraphs
        .iter()
        .map(|p| p.id.clone())
        .collect();
    let open = &ids[5];
    let agreed = &ids[0];
    let mut out = Vec::new();
    let mut push = |name: &'static str, r: Result<Vec<u8>, plenary_doc::EditError>| {
        out.push((name, r.expect(name)));
    };
    push("typing", fresh().insert_text(open, 3, "x", false));
    push("typing-agreed", fresh().insert_text(agreed, 3, "y", false));
    push(
        "typing-italic",
        fresh().insert_text(open, 0, "inter alia ", true),
    );
    push("delete-text", fresh().delete_text(open, 0, 5));
    push("replace-text", fresh().replace_text(open, 2, 4, "ensure"));
    push("italic", fresh().set_italic(open, 0, 4, true));
    push("status", fresh().set_status(open, Status::Agreed));
    push("unagree", fresh().set_status(agreed, Status::Open));
    push("level", fresh().set_level(open, 1));
    push("kind", fresh().set_kind(open, ParagraphKind::Preambular));
    push(
        "insert-paragraph",
        fresh()
            .insert_paragraph(
                Position::After(open.clone()),
                ParagraphKind::Operative,
                0,
                &[Run::plain("Requests the Secretary-General to report,")],
            )
            .map(|(_, u)| u),
    );
    push("delete-paragraph", fresh().delete_paragraph(open));
    push(
        "move-paragraph",
        fresh().move_paragraph(open, Position::Index(0)),
    );
    push(
        "footnote",
        fresh()
            .add_footnote(open, 1, &[Run::plain("Ibid.")])
            .map(|(_, u)| u),
    );
    push(
        "meta",
        fresh().set_meta("title", Some("Reducing reoffending")),
    );
    push("mode", fresh().set_mode(Mode::Open));
    push(
        "proposal",
        fresh()
            .add_proposal(&Proposal {
                id: String::new(),
                paragraph_id: Some(open.clone()),
                footnote_id: None,
                after: None,
                action: ProposalAction::Delete,
                text: String::new(),
                delegation: DELEGATIONS[1].into(),
                on_behalf_of: None,
                supporters: vec![],
                author: "delegate-1".into(),
                created_at: 1_621_000_000_001,
                status: ProposalStatus::Pending,
                decided_by: None,
                decided_at: None,
                base_text: None,
                base_seq: None,
                kind: None,
                level: None,
            })
            .map(|(_, u)| u),
    );
    let qid = fresh()
        .resolution()
        .proposals
        .first()
        .map(|q| q.id.clone())
        .expect("the seed has a proposal");
    push("support", fresh().support_proposal(&qid, DELEGATIONS[1]));
    push("withdraw", fresh().withdraw_proposal(&qid));
    push("decide", fresh().decide_proposal(&qid, true, "chair-1"));
    push(
        "sponsor",
        fresh().add_sponsor(&Sponsor {
            delegation: DELEGATIONS[1].into(),
            signed_by: "delegate-1".into(),
            at: 1_621_000_000_002,
        }),
    );
    out
}
