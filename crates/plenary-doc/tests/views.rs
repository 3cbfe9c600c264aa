//! Compilation text and drafting checks.
#![allow(clippy::unwrap_used)]
mod common;

use common::*;
use plenary_doc::checks::{Rule, check};
use plenary_doc::compilation::{compile, render_html, render_plain};
use plenary_doc::{Footnote, ParagraphKind, Proposal, ProposalAction, ProposalStatus, Run};

fn proposal(
    id: &str,
    action: ProposalAction,
    pid: Option<&str>,
    after: Option<&str>,
    delegation: &str,
    text: &str,
) -> Proposal {
    Proposal {
        id: id.into(),
        paragraph_id: pid.map(Into::into),
        footnote_id: None,
        after: after.map(Into::into),
        action,
        text: text.into(),
        delegation: delegation.into(),
        on_behalf_of: None,
        supporters: vec![],
        author: "u".into(),
        created_at: 0,
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
fn the_compilation_shows_a_footnote_amendment_under_its_footnote() {
    let mut r = sample(1, 2);
    r.footnotes = vec![Footnote {
        id: "f1".into(),
        marker: 1,
        text: vec![Run::plain("See A/80/100.")],
    }];
    r.proposals = vec![
        Proposal {
            footnote_id: Some("f1".into()),
            ..proposal(
                "q1",
                ProposalAction::Replace,
                None,
                None,
                "JPN",
                "See A/80/200.",
            )
        },
        Proposal {
            footnote_id: Some("f9".into()),
            ..proposal("q2", ProposalAction::Replace, None, None, "FRA", "Gone.")
        },
    ];
    let c = compile(&r);
    assert!(
        c.paragraphs.iter().all(|p| p.alternatives.is_empty()),
        "a footnote amendment is not shown under a paragraph"
    );
    let labels: Vec<&str> = c.footnotes.iter().map(|f| f.label.as_str()).collect();
    assert_eq!(labels, ["Footnote 1", "footnote f9 (deleted)"]);
    let plain = render_plain(&c);
    assert!(
        plain.contains("Footnote 1 See A/80/100. [JPN: See A/80/200.]"),
        "{plain}"
    );
    let html = render_html(&c, "t");
    assert!(html.contains(r#"<section class="footnote">"#), "{html}");
    assert!(
        html.contains(r#"[<span class="by">JPN</span>: See A/80/200.]"#),
        "{html}"
    );
}

#[test]
fn the_compilation_shows_pending_proposals_as_attributed_alternatives() {
    let mut r = sample(1, 3);
    r.proposals = vec![
        proposal(
            "q1",
            ProposalAction::Replace,
            Some("op2"),
            None,
            "JPN",
            "Urges States;",
        ),
        Proposal {
            on_behalf_of: Some("EU".into()),
            supporters: vec!["NOR".into()],
            ..proposal("q2", ProposalAction::Delete, Some("op2"), None, "FRA", "")
        },
        proposal(
            "q3",
            ProposalAction::Insert,
            None,
            Some("op1"),
            "BRA",
            "Invites donors;",
        ),
        Proposal {
            status: ProposalStatus::Withdrawn,
            ..proposal("q4", ProposalAction::Replace, Some("op1"), None, "USA", "x")
        },
    ];
    let c = compile(&r);
    let labels: Vec<&str> = c.paragraphs.iter().map(|p| p.label.as_str()).collect();
    assert_eq!(labels, ["PP1", "OP1", "new after OP1", "OP2", "OP3"]);
    assert!(
        c.paragraphs[1].alternatives.is_empty(),
        "withdrawn proposals are not shown"
    );
    assert_eq!(c.paragraphs[3].alternatives.len(), 2);
    let plain = render_plain(&c);
    assert!(plain.contains("[JPN: Urges States;]"), "{plain}");
    assert!(
        plain.contains("[FRA on behalf of EU, supported by NOR: delete]"),
        "{plain}"
    );
    assert!(
        plain.contains("new after OP1 [BRA: Invites donors;]"),
        "{plain}"
    );
    // the HTML page: each alternative bracketed under its paragraph, the
    // delegations named, the document's text escaped
    r.proposals[0].text = "Urges <States> & donors;".into();
    let html = render_html(&compile(&r), "Reducing <reoffending>");
    assert!(html.starts_with("<!DOCTYPE html>"), "{html}");
    assert!(
        html.contains("<title>Compilation text: Reducing &lt;reoffending&gt;</title>"),
        "{html}"
    );
    assert!(
        html.contains(r#"[<span class="by">JPN</span>: Urges &lt;States&gt; &amp; donors;]"#),
        "{html}"
    );
    assert!(
        html.contains(r#"[<span class="by">FRA on behalf of EU, supported by NOR</span>: delete]"#),
        "{html}"
    );
    // structured output serialises with the spec's camelCase names
    let v = serde_json::to_value(&c).unwrap();
    assert_eq!(v["paragraphs"][3]["alternatives"][1]["onBehalfOf"], "EU");
}

#[test]
fn drafting_checks_flag_openings_and_endings() {
    let mut r = sample(2, 3);
    assert!(check(&r).is_empty(), "{:?}", check(&r));
    // PP2 loses its italic opening, OP1 ends with a full stop, last OP with ;
    r.paragraphs[1].text[0].italic = false;
    r.paragraphs[2].text[1].text = " the Secretary-General to act.".into();
    r.paragraphs[4].text[1].text = " the Secretary-General to act;".into();
    let f = check(&r);
    let got: Vec<(&str, Rule)> = f.iter().map(|x| (x.label.as_str(), x.rule)).collect();
    assert_eq!(
        got,
        [
            ("PP2", Rule::ItalicOpening),
            ("OP1", Rule::Ending),
            ("OP3", Rule::Ending)
        ]
    );
    assert_eq!(f[1].paragraph_id, "op1");
    assert_eq!(
        f[0].sentence(),
        "PP2 does not open in italics: a preambular paragraph opens with an italic participle."
    );
    assert_eq!(
        f[2].sentence(),
        "OP3 does not end as it should: the last operative paragraph ends with a full stop."
    );
}

#[test]
fn sub_paragraph_endings_follow_their_position() {
    let mut r = sample(1, 2);
    // OP2 (the last) introduces (a), (b)
    r.paragraphs[2].text[1].text = " the Secretary-General:".into();
    r.paragraphs.push(para(
        "a",
        ParagraphKind::Operative,
        1,
        vec![Run {
            text: "To report; and".into(),
            ..run("")
        }],
    ));
    r.paragraphs
        .push(para("b", ParagraphKind::Operative, 1, vec![run("To act;")]));
    let f = check(&r);
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].label, "OP2(b)");
    assert!(f[0].message.contains("full stop"));
}
