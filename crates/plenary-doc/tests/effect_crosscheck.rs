//! Cross-check: on random edit sequences from several replicas, the effect
//! computed from the update alone agrees with applying it to the document
//! and diffing the views before and after.
#![allow(clippy::unwrap_used)]
mod common;

use std::collections::{BTreeSet, HashMap};

use common::*;
use plenary_doc::{
    Effect, Mode, ParagraphKind, Position, Proposal, ProposalAction, ProposalStatus, Resolution,
    ResolutionDoc, Run, Status,
};
use yrs::{ReadTxn, Transact};

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

type Touched = BTreeSet<(String, String)>;

fn from_effect(e: &Effect) -> Touched {
    let mut t = Touched::new();
    let mut add = |a: &str, b: &str| {
        t.insert((a.to_owned(), b.to_owned()));
    };
    for (id, p) in &e.paragraphs {
        match (p.inserted.is_some(), p.deleted) {
            _ if p.duplicate => {
                add(id, "duplicate");
                add(id, "inserted");
            }
            (true, true) => add(id, "moved"),
            (true, false) => add(id, "inserted"),
            (false, true) => add(id, "deleted"),
            _ => {}
        }
        if p.text {
            add(id, "text");
        }
        for k in p.fields.keys() {
            add(id, k);
        }
    }
    for k in e.meta.keys() {
        add("meta", k);
    }
    for (id, f) in &e.footnotes {
        if f.added {
            add(id, "added");
        }
        if f.deleted {
            add(id, "deleted");
        }
        if f.text {
            add(id, "text");
        }
    }
    for (id, q) in &e.proposals {
        if q.inserted.is_some() {
            add(id, "inserted");
        }
        for k in q.fields.keys() {
            add(id, k);
        }
        if !q.supporters_added.is_empty() || !q.supporters_removed.is_empty() {
            add(id, "supporters");
        }
    }
    t
}

/// Runs without derived marker digits (renumbering is not an edit).
fn body(runs: &[Run]) -> Vec<Run> {
    runs.iter()
        .map(|r| Run {
            text: if r.footnote.is_some() {
                String::new()
            } else {
                r.text.clone()
            },
            ..r.clone()
        })
        .collect()
}

fn from_diff(a: &Resolution, b: &Resolution, moved: Option<&str>) -> Touched {
    let mut t = Touched::new();
    let mut add = |x: &str, y: &str| {
        t.insert((x.to_owned(), y.to_owned()));
    };
    // paragraphs by (id, occurrence): concurrent moves can duplicate an id
    let keyed = |r: &Resolution| {
        let mut seen: HashMap<String, usize> = HashMap::new();
        r.paragraphs
            .iter()
            .map(|p| {
                let n = seen.entry(p.id.clone()).or_insert(0);
                *n += 1;
                ((p.id.clone(), *n), p.clone())
            })
            .collect::<HashMap<_, _>>()
    };
    let (ka, kb) = (keyed(a), keyed(b));
    for (k, p) in &ka {
        match kb.get(k) {
            None => add(&p.id, "deleted"),
            Some(q) => {
                if body(&p.text) != body(&q.text) {
                    add(&p.id, "text");
                }
                if p.status != q.status {
                    add(&p.id, "status");
                }
                if p.kind != q.kind {
                    add(&p.id, "kind");
                }
                if p.level != q.level {
                    add(&p.id, "level");
                }
            }
        }
    }
    for (k, q) in &kb {
        if !ka.contains_key(k) {
            add(&q.id, "inserted");
        }
    }
    if let Some(m) = moved {
        // a stale replica moving a paragraph deleted meanwhile re-inserts it
        let copies = b.paragraphs.iter().filter(|p| p.id == m).count();
        let before = a.paragraphs.iter().filter(|p| p.id == m).count();
        if before > 0 && copies > 0 {
            // a stale replica moving a paragraph another moved meanwhile
            // duplicates it (Yjs has no move)
            add(
                m,
                if copies > before {
                    "duplicate"
                } else {
                    "moved"
                },
            );
        }
    }
    let (ma, mb) = (
        serde_json::to_value(&a.meta).unwrap(),
        serde_json::to_value(&b.meta).unwrap(),
    );
    for (k, v) in ma.as_object().unwrap() {
        if mb.get(k) != Some(v) {
            add("meta", k);
        }
    }
    for f in &a.footnotes {
        match b.footnotes.iter().find(|g| g.id == f.id) {
            None => add(&f.id, "deleted"),
            Some(g) if g.text != f.text => add(&f.id, "text"),
            _ => {}
        }
    }
    for g in &b.footnotes {
        if !a.footnotes.iter().any(|f| f.id == g.id) {
            add(&g.id, "added");
        }
    }
    for q in &b.proposals {
        match a.proposals.iter().find(|p| p.id == q.id) {
            None => add(&q.id, "inserted"),
            Some(p) => {
                let (pa, pb) = (
                    serde_json::to_value(p).unwrap(),
                    serde_json::to_value(q).unwrap(),
                );
                for (k, v) in pb.as_object().unwrap() {
                    if pa.get(k) != Some(v) {
                        add(&q.id, k);
                    }
                }
            }
        }
    }
    t
}

fn sync(client: &mut ResolutionDoc, server: &ResolutionDoc) {
    let sv = client.doc().transact().state_vector();
    let u = server.doc().transact().encode_state_as_update_v1(&sv);
    client.apply(&u).unwrap();
}

/// One random edit on `c`; returns (update, id moved).
fn random_op(c: &mut ResolutionDoc, rng: &mut Rng, n: usize) -> Option<(Vec<u8>, Option<String>)> {
    let r = c.resolution();
    let ps = &r.paragraphs;
    if ps.is_empty() {
        return None;
    }
    let p = &ps[rng.below(ps.len())];
    let len: u32 = p
        .text
        .iter()
        .map(|x| x.text.encode_utf16().count() as u32)
        .sum();
    let op = rng.below(13);
    let res = match op {
        0..=2 => c.insert_text(
            &p.id,
            rng.below(len as usize + 1) as u32,
            &"ab".repeat(1 + rng.below(3)),
            rng.below(4) == 0,
        ),
        3 if len > 1 => {
            let i = rng.below(len as usize - 1) as u32;
            c.delete_text(&p.id, i, 1 + rng.below((len - i) as usize) as u32)
        }
        4 if len > 0 => {
            let first_italic = p.text.first().is_some_and(|x| x.italic);
            c.set_italic(&p.id, 0, 1 + rng.below(len as usize) as u32, !first_italic)
        }
        5 => {
            let all = [
                Status::Open,
                Status::Bracketed,
                Status::AdRef,
                Status::Agreed,
            ];
            let s = all
                .into_iter()
                .filter(|s| *s != p.status)
                .nth(rng.below(3))
                .unwrap();
            c.set_status(&p.id, s)
        }
        6 => c
            .insert_paragraph(
                Position::Index(rng.below(ps.len() + 1) as u32),
                ParagraphKind::Operative,
                rng.below(2) as u8,
                &[run(&format!("new {n};"))],
            )
            .map(|(_, u)| u),
        7 if ps.len() > 3 => c.delete_paragraph(&p.id),
        8 if ps.len() > 2 => {
            let from = ps.iter().position(|q| q.id == p.id).unwrap();
            let to = (0..=ps.len())
                .filter(|t| *t != from && *t != from + 1)
                .nth(rng.below(ps.len() - 1))?;
            return c
                .move_paragraph(&p.id, Position::Index(to as u32))
                .ok()
                .map(|u| (u, Some(p.id.clone())));
        }
        9 => {
            if rng.below(2) == 0 {
                c.set_meta("title", Some(&format!("title {n}")))
            } else {
                let m = if c.mode() == Mode::Open {
                    Mode::Negotiation
                } else {
                    Mode::Open
                };
                c.set_mode(m)
            }
        }
        10 => {
            if len > 0 && rng.below(2) == 0 {
                c.add_footnote(
                    &p.id,
                    rng.below(len as usize + 1) as u32,
                    &[run(&format!("note {n}"))],
                )
                .map(|(_, u)| u)
            } else if let Some(f) = r.footnotes.first() {
                c.set_footnote_text(&f.id, &[run(&format!("note text {n}"))])
            } else {
                return None;
            }
        }
        11 => c
            .add_proposal(&Proposal {
                id: String::new(),
                paragraph_id: Some(p.id.clone()),
                footnote_id: None,
                after: None,
                action: ProposalAction::Replace,
                text: format!("Replaced {n};"),
                delegation: "JPN".into(),
                on_behalf_of: None,
                supporters: vec![],
                author: "u".into(),
                created_at: n as i64,
                status: ProposalStatus::Pending,
                decided_by: None,
                decided_at: None,
                base_text: None,
                base_seq: None,
                kind: None,
                level: None,
            })
            .map(|(_, u)| u),
        _ => {
            let pending: Vec<&Proposal> = r
                .proposals
                .iter()
                .filter(|q| q.status == ProposalStatus::Pending)
                .collect();
            let q = pending.get(rng.below(pending.len()))?;
            match rng.below(3) {
                0 => c.support_proposal(&q.id, &format!("D{n}")),
                1 => c.withdraw_proposal(&q.id),
                _ => c.decide_proposal(&q.id, true, "chair"),
            }
        }
    };
    res.ok().filter(|u| !u.is_empty()).map(|u| (u, None))
}

#[test]
fn effect_agrees_with_apply_and_diff_on_random_edits() {
    for seed in 1..=6u64 {
        let mut rng = Rng(0x2545F4914F6CDD1D ^ seed.wrapping_mul(0x9E3779B97F4A7C15));
        let mut server = ResolutionDoc::from_resolution_with_client_id(1, &sample(3, 5)).unwrap();
        let mut clients: Vec<ResolutionDoc> = (0..3).map(|i| replica(&server, 100 + i)).collect();
        let mut strict_checks = 0;
        for n in 0..150 {
            let ci = rng.below(clients.len());
            let synced = rng.below(3) != 0;
            if synced {
                sync(&mut clients[ci], &server);
            }
            let Some((update, moved)) = random_op(&mut clients[ci], &mut rng, n) else {
                continue;
            };
            let before = server.resolution();
            let effect = server.effect(&update).unwrap();
            assert!(
                effect.unknown.is_empty(),
                "seed {seed} step {n}: {:?}",
                effect.unknown
            );
            let applied = server.apply(&update).unwrap();
            assert_eq!(applied, effect);
            let after = server.resolution();
            // ids duplicated by concurrent moves are ambiguous to a diff
            let dup =
                |r: &Resolution, id: &str| r.paragraphs.iter().filter(|p| p.id == id).count() > 1;
            let clear = |t: Touched| -> Touched {
                t.into_iter()
                    .filter(|(id, _)| !dup(&before, id) && !dup(&after, id))
                    .collect()
            };
            let got = clear(from_effect(&effect));
            let want = clear(from_diff(&before, &after, moved.as_deref()));
            if synced {
                strict_checks += 1;
                if got != want {
                    for (id, _) in want.symmetric_difference(&got) {
                        let f = |r: &Resolution| {
                            r.paragraphs
                                .iter()
                                .find(|p| &p.id == id)
                                .map(|p| p.text.clone())
                        };
                        eprintln!(
                            "{id}: before {:?}\nafter {:?}\neffect {effect:?}",
                            f(&before),
                            f(&after)
                        );
                    }
                }
                assert_eq!(got, want, "seed {seed} step {n} (synced client {ci})");
            } else {
                // concurrent edits may lose (e.g. typing into a paragraph
                // deleted meanwhile): the effect may say more, never less
                assert!(
                    want.is_subset(&got),
                    "seed {seed} step {n}: {want:?} ⊄ {got:?}"
                );
            }
        }
        assert!(strict_checks > 50);
        // every replica converges with the server
        for c in &mut clients {
            sync(c, &server);
            let u = c
                .doc()
                .transact()
                .encode_state_as_update_v1(&server.doc().transact().state_vector());
            server.apply(&u).unwrap();
        }
        for c in &clients {
            assert_eq!(c.resolution(), server.resolution());
        }
    }
}

#[test]
fn an_index_shed_while_quiet_and_rebuilt_judges_every_update_alike() {
    for seed in 1..=4u64 {
        let mut rng = Rng(0x9E3779B97F4A7C15 ^ seed.wrapping_mul(0x2545F4914F6CDD1D));
        let mut server = ResolutionDoc::from_resolution_with_client_id(1, &sample(3, 5)).unwrap();
        // the same document, whose index is dropped at random moments (a room gone quiet)
        let mut quiet = ResolutionDoc::from_update(&server.encode_state()).unwrap();
        let mut clients: Vec<ResolutionDoc> = (0..3).map(|i| replica(&server, 100 + i)).collect();
        let (mut shed, mut differed) = (0, 0);
        for n in 0..150 {
            let ci = rng.below(clients.len());
            if rng.below(3) != 0 {
                sync(&mut clients[ci], &server);
            }
            let Some((update, _)) = random_op(&mut clients[ci], &mut rng, n) else {
                continue;
            };
            if rng.below(3) == 0 {
                quiet.shed_index();
                shed += 1;
            }
            let before = server.resolution();
            let want = server.apply(&update).unwrap();
            let got = quiet.apply(&update).unwrap();
            let after = server.resolution();
            assert_eq!(quiet.resolution(), after, "seed {seed} step {n}");
            if got != want {
                // The one difference allowed is the one a restart makes: a rebuilt index (like
                // a freshly loaded one) knows text typed into a paragraph deleted by a move
                // only as collected, so it calls such an insert discarded where the running
                // index named the paragraph. yrs does discard it: nothing visible changed.
                differed += 1;
                assert!(
                    got.discarded > want.discarded,
                    "seed {seed} step {n}: {got:?} vs {want:?}"
                );
                for id in want
                    .paragraphs
                    .keys()
                    .filter(|id| !got.paragraphs.contains_key(*id))
                {
                    let text = |r: &Resolution| {
                        r.paragraphs
                            .iter()
                            .filter(|p| &p.id == id)
                            .map(|p| p.text.clone())
                            .collect::<Vec<_>>()
                    };
                    assert_eq!(
                        text(&before),
                        text(&after),
                        "seed {seed} step {n}: {id} changed"
                    );
                }
            }
        }
        assert!(shed > 20);
        assert!(differed < 5, "{differed} effects differed");
        assert_eq!(quiet.resolution(), server.resolution());
    }
}
