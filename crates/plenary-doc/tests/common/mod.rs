//! Shared fixtures for the integration tests and the bench.
#![allow(dead_code, clippy::unwrap_used)]

use plenary_doc::{
    Footnote, Meta, Paragraph, ParagraphKind, Resolution, ResolutionDoc, Run, Status,
};
use yrs::{ReadTxn, StateVector, Transact};

pub fn run(text: &str) -> Run {
    Run {
        text: text.into(),
        italic: false,
        footnote: None,
    }
}

pub fn italic(text: &str) -> Run {
    Run {
        text: text.into(),
        italic: true,
        footnote: None,
    }
}

pub fn para(id: &str, kind: ParagraphKind, level: u8, runs: Vec<Run>) -> Paragraph {
    Paragraph {
        id: id.into(),
        kind,
        level,
        status: Status::Open,
        text: runs,
        number: String::new(),
        label: String::new(),
    }
}

/// `n_pp` preambular then `n_op` operative paragraphs (OP2 with two
/// sub-paragraphs), a footnote on PP1.
pub fn sample(n_pp: usize, n_op: usize) -> Resolution {
    let mut ps = Vec::new();
    for i in 1..=n_pp {
        let mut runs = vec![
            italic("Recalling"),
            run(&format!(" its resolution {i}/100,")),
        ];
        if i == 1 {
            runs.push(Run {
                text: "¹".into(),
                italic: false,
                footnote: Some("fn1".into()),
            });
        }
        ps.push(para(&format!("pp{i}"), ParagraphKind::Preambular, 0, runs));
    }
    for i in 1..=n_op {
        let end = if i == n_op { "." } else { ";" };
        ps.push(para(
            &format!("op{i}"),
            ParagraphKind::Operative,
            0,
            vec![
                italic("Requests"),
                run(&format!(" the Secretary-General to act {i}{end}")),
            ],
        ));
    }
    Resolution {
        meta: Meta {
            title: Some("Reducing reoffending".into()),
            organ: Some("Economic and Social Council".into()),
            ..Meta::default()
        },
        paragraphs: ps,
        footnotes: vec![Footnote {
            id: "fn1".into(),
            marker: 0,
            text: vec![run("A/RES/70/1.")],
        }],
        proposals: vec![],
        sponsors: vec![],
    }
}

/// A client replica of `server`'s current state.
pub fn replica(server: &ResolutionDoc, client_id: u64) -> ResolutionDoc {
    ResolutionDoc::from_update_with_client_id(client_id, &server.encode_state()).unwrap()
}

/// Runs `f` on a raw yrs doc and returns the update it produced.
pub fn raw_edit(doc: &yrs::Doc, f: impl FnOnce(&mut yrs::TransactionMut)) -> Vec<u8> {
    let sv = doc.transact().state_vector();
    {
        let mut txn = doc.transact_mut();
        f(&mut txn);
    }
    doc.transact().encode_state_as_update_v1(&sv)
}

/// Full state of a doc as seen by a peer with nothing (sync step 2 resend).
pub fn full_state(doc: &yrs::Doc) -> Vec<u8> {
    doc.transact()
        .encode_state_as_update_v1(&StateVector::default())
}
