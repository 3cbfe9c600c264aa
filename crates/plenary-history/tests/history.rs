//! History over a real embedded store: replay at every position, checkpoints (trusted only when
//! exact), versions and labels, compare, attribution through moves and accepted proposals, and
//! the similarity diff of two circulated revisions.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use plenary_doc::{
    ParagraphKind, Position, Proposal, ProposalAction, ProposalStatus, Resolution, ResolutionDoc,
    Run, Status, import_text,
};
use plenary_history::{History, HistoryError, Point, WordOpKind, compare, diff_texts};
use plenary_store::{EmbeddedStore, LogEntry, Snapshot, Store, Version};

const DOC: &str = "res-1";

fn entry(update: Vec<u8>, user: &str, delegation: Option<&str>, at_ms: i64) -> LogEntry {
    LogEntry {
        update,
        user: user.into(),
        name: None,
        delegation: delegation.map(str::to_owned),
        at_ms,
        paragraphs: vec![],
        node: "test".into(),
    }
}

/// A document edited by several writers, every state recorded as it was appended.
struct Session {
    store: Arc<dyn Store>,
    doc: ResolutionDoc,
    states: Vec<Resolution>,
    _dir: tempfile::TempDir,
}

impl Session {
    async fn new() -> Session {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn Store> = Arc::new(EmbeddedStore::open(dir.path()).unwrap());
        Session {
            store,
            doc: ResolutionDoc::with_client_id(1),
            states: vec![Resolution::default()],
            _dir: dir,
        }
    }

    async fn push(&mut self, update: Vec<u8>, user: &str, delegation: Option<&str>) -> u64 {
        let at = 1_000 * self.states.len() as i64;
        let seq = self
            .store
            .append(DOC, &entry(update, user, delegation, at))
            .await
            .unwrap();
        self.states.push(self.doc.resolution());
        assert_eq!(seq as usize, self.states.len() - 1);
        seq
    }

    fn ids(&self) -> Vec<String> {
        self.doc
            .resolution()
            .paragraphs
            .iter()
            .map(|p| p.id.clone())
            .collect()
    }
}

fn texts(r: &Resolution) -> Vec<(String, String, Status)> {
    r.paragraphs
        .iter()
        .map(|p| {
            (
                p.id.clone(),
                p.text.iter().map(|x| x.text.as_str()).collect(),
                p.status,
            )
        })
        .collect()
}

fn fixture(name: &str) -> Resolution {
    let path = format!("{}/../../tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    import_text(&std::fs::read_to_string(path).unwrap())
        .unwrap()
        .resolution
}

/// Import, then a delegate's edit, a move, a status change, an accepted and a rejected proposal.
async fn negotiated() -> Session {
    let mut s = Session::new().await;
    let imported = fixture("reducing-reoffending-2021-rev1.txt");
    s.doc = ResolutionDoc::from_resolution_with_client_id(1, &imported).unwrap();
    let u = s.doc.encode_state();
    s.push(u, "sec", None).await;
    let ids = s.ids();
    let op1 = ids[5].clone();
    let op7 = ids[11].clone();
    // JPN inserts words into OP1
    let mut jpn = ResolutionDoc::from_update_with_client_id(2, &s.doc.encode_state()).unwrap();
    let at = s
        .doc
        .paragraph(&op1)
        .unwrap()
        .text
        .iter()
        .map(|r| r.text.clone())
        .collect::<String>()
        .find("offenders")
        .unwrap();
    let u = jpn.insert_text(&op1, at as u32, "all ", false).unwrap();
    s.doc.apply(&u).unwrap();
    s.push(u, "jpn-1", Some("JPN")).await;
    // chair moves OP7 to the top of the operative part, sets OP1 agreed
    let u = s
        .doc
        .move_paragraph(&op7, Position::Before(op1.clone()))
        .unwrap();
    s.push(u, "chair", None).await;
    let u = s.doc.set_status(&op1, Status::Agreed).unwrap();
    s.push(u, "chair", None).await;
    // EU proposes a new OP2 wording (accepted), MEX a deletion (rejected)
    let proposal = |action, pid: &str, text: &str, d: &str| Proposal {
        id: String::new(),
        paragraph_id: Some(pid.to_owned()),
        footnote_id: None,
        after: None,
        action,
        text: text.into(),
        delegation: d.into(),
        on_behalf_of: None,
        supporters: vec![],
        author: format!("{}-1", d.to_lowercase()),
        created_at: 0,
        status: ProposalStatus::Pending,
        decided_by: None,
        decided_at: None,
        base_text: None,
        base_seq: None,
        kind: None,
        level: None,
    };
    let op2 = ids[6].clone();
    let (eu, u) = s
        .doc
        .add_proposal(&proposal(
            ProposalAction::Replace,
            &op2,
            "*Also encourages* Member States to promote rehabilitative environments in prisons;",
            "EU",
        ))
        .unwrap();
    s.push(u, "eu-1", Some("EU")).await;
    let (mex, u) = s
        .doc
        .add_proposal(&proposal(ProposalAction::Delete, &ids[8], "", "MEX"))
        .unwrap();
    s.push(u, "mex-1", Some("MEX")).await;
    let u = s.doc.decide_proposal(&eu, true, "chair").unwrap();
    s.push(u, "chair", None).await;
    let u = s.doc.decide_proposal(&mex, false, "chair").unwrap();
    s.push(u, "chair", None).await;
    // secretariat edits a footnote
    let fid = s.doc.resolution().footnotes[0].id.clone();
    let u = s
        .doc
        .set_footnote_text(&fid, &[Run::plain("A/CONF.234/16, chap. I.")])
        .unwrap();
    s.push(u, "sec", None).await;
    s
}

#[tokio::test]
async fn the_state_at_every_position_is_what_was_written() {
    let s = negotiated().await;
    let h = History::new(s.store.clone()).with_checkpoint_distance(3);
    for (seq, want) in s.states.iter().enumerate() {
        let m = h.materialize(DOC, seq as u64).await.unwrap();
        assert_eq!(texts(&m.doc.resolution()), texts(want), "at {seq}");
        assert_eq!(m.doc.resolution().footnotes, want.footnotes, "at {seq}");
    }
    // checkpoints were written while replaying, so a far point now starts near itself
    assert!(!s.store.snapshot_seqs(DOC).await.unwrap().is_empty());
    let m = h.materialize(DOC, 9).await.unwrap();
    assert!(m.replayed <= 3, "replayed {} entries", m.replayed);
    assert!(matches!(
        h.materialize(DOC, 99).await,
        Err(HistoryError::BeyondLog { last: 9, .. })
    ));
    assert!(matches!(
        h.materialize("nope", 0).await,
        Err(HistoryError::NoDocument(_))
    ));
}

#[tokio::test]
async fn a_snapshot_holding_later_entries_is_not_used_as_a_checkpoint() {
    let s = negotiated().await;
    // a server snapshot labelled 3 that already holds everything up to 9
    s.store
        .put_snapshot(
            DOC,
            &Snapshot {
                seq: 3,
                state: s.doc.encode_state(),
            },
        )
        .await
        .unwrap();
    let h = History::new(s.store.clone());
    let m = h.materialize(DOC, 3).await.unwrap();
    assert_eq!(texts(&m.doc.resolution()), texts(&s.states[3]));
    assert_eq!(m.from_checkpoint, 0);
    // an exact one is used
    let exact = h.materialize(DOC, 5).await.unwrap().doc.encode_state();
    s.store
        .put_snapshot(
            DOC,
            &Snapshot {
                seq: 5,
                state: exact,
            },
        )
        .await
        .unwrap();
    let m = h.materialize(DOC, 7).await.unwrap();
    assert_eq!((m.from_checkpoint, m.replayed), (5, 2));
    assert_eq!(texts(&m.doc.resolution()), texts(&s.states[7]));
}

#[tokio::test]
async fn points_by_version_time_and_labels_against_the_last_version() {
    let mut s = negotiated().await;
    let v = |name: &str, seq| Version {
        name: name.into(),
        seq,
        at_ms: 0,
        by: "chair".into(),
    };
    s.store.name_version(DOC, &v("Rev.1", 1)).await.unwrap();
    // after Rev.1: a new paragraph after OP2 takes a provisional label
    let ids = s.ids();
    let (new_id, u) = s
        .doc
        .insert_paragraph(
            Position::After(ids[7].clone()),
            ParagraphKind::Operative,
            0,
            &[Run::plain("Urges States;")],
        )
        .unwrap();
    let seq = s.push(u, "chair", None).await;
    let h = History::new(s.store.clone());
    assert_eq!(h.resolve(DOC, &Point::parse("Rev.1")).await.unwrap(), 1);
    assert_eq!(h.resolve(DOC, &Point::parse("current")).await.unwrap(), seq);
    assert_eq!(h.resolve(DOC, &Point::Time(2_500)).await.unwrap(), 2);
    assert!(matches!(
        h.resolve(DOC, &Point::parse("Rev.9")).await,
        Err(HistoryError::NoVersion(_))
    ));
    let label = |r: &Resolution, id: &str| {
        r.paragraphs
            .iter()
            .find(|p| p.id == id)
            .unwrap()
            .label
            .clone()
    };
    let r = h.resolution_at(DOC, seq).await.unwrap();
    // OP7 moved to the top keeps its Rev.1 label; the new paragraph after old OP2 is OP2bis
    assert_eq!(label(&r, &ids[5]), "OP7");
    assert_eq!(label(&r, &new_id), "OP2bis");
    // naming a version renumbers
    s.store.name_version(DOC, &v("Rev.2", seq)).await.unwrap();
    let r = h.resolution_at(DOC, seq).await.unwrap();
    assert_eq!(label(&r, &ids[5]), "OP1");
    assert_eq!(label(&r, &new_id), "OP4");
}

#[tokio::test]
async fn compare_reports_exactly_the_changes_between_two_points() {
    let s = negotiated().await;
    let h = History::new(s.store.clone());
    let old = h.resolution_at(DOC, 1).await.unwrap();
    let new = h.resolution_at(DOC, 9).await.unwrap();
    let c = compare(&old, &new);
    let ids: Vec<String> = old.paragraphs.iter().map(|p| p.id.clone()).collect();
    assert!(c.added.is_empty() && c.deleted.is_empty(), "{c:?}");
    assert_eq!(c.moved.len(), 1);
    assert_eq!(
        (
            c.moved[0].id.as_str(),
            c.moved[0].old_label.as_str(),
            c.moved[0].new_label.as_str()
        ),
        (ids[11].as_str(), "OP7", "OP1")
    );
    let changed: Vec<&str> = c.changed.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(changed, [ids[5].as_str(), ids[6].as_str()]);
    let inserted: String = c.changed[0]
        .ops
        .iter()
        .filter(|o| o.op == WordOpKind::Insert)
        .map(|o| o.text.as_str())
        .collect();
    assert_eq!(inserted.trim(), "all");
    assert_eq!(c.status_changed.len(), 1);
    assert_eq!(c.status_changed[0].to, Status::Agreed);
    assert_eq!(c.footnotes.len(), 1);
}

#[tokio::test]
async fn attribution_credits_writers_through_moves_and_accepted_proposals() {
    let s = negotiated().await;
    let h = History::new(s.store.clone());
    let a = h.attribution(DOC, 9).await.unwrap();
    let ids = s.states[1]
        .paragraphs
        .iter()
        .map(|p| p.id.clone())
        .collect::<Vec<_>>();
    let op1 = a.iter().find(|p| p.id == ids[5]).unwrap();
    let by: Vec<(&str, Option<&str>)> = op1
        .runs
        .iter()
        .map(|r| (r.text.as_str(), r.delegation.as_deref()))
        .collect();
    assert_eq!(by[1], ("all ", Some("JPN")));
    assert_eq!(by.len(), 3);
    assert_eq!(by[0].1, None); // the secretariat's import
    let moved = a.iter().find(|p| p.id == ids[11]).unwrap();
    assert_eq!(moved.runs.len(), 1, "a move keeps authorship: {moved:?}");
    assert_eq!(moved.runs[0].user, "sec");
    let op2 = a.iter().find(|p| p.id == ids[6]).unwrap();
    assert!(
        op2.runs
            .iter()
            .any(|r| r.delegation.as_deref() == Some("EU")
                && r.proposal.is_some()
                && r.text.contains("prisons")),
        "{op2:?}"
    );
    // earlier point: before JPN's edit, OP1 is the secretariat's alone
    let a1 = h.attribution(DOC, 1).await.unwrap();
    assert_eq!(a1.iter().find(|p| p.id == ids[5]).unwrap().runs.len(), 1);
}

#[test]
fn diff_of_two_circulated_revisions_finds_each_edit() {
    let a = fixture("reducing-reoffending-2021-rev1.txt");
    let b = fixture("reducing-reoffending-2021-rev2.txt");
    let d = diff_texts(&a, &b);
    let pairs = |v: &[plenary_history::MatchedParagraph]| {
        v.iter()
            .map(|m| (m.old_label.clone(), m.new_label.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(pairs(&d.changed), [("OP7".to_owned(), "OP7".to_owned())]);
    assert_eq!(pairs(&d.moved), [("PP5".to_owned(), "PP2".to_owned())]);
    assert_eq!(
        d.added.iter().map(|p| p.label.as_str()).collect::<Vec<_>>(),
        ["OP4"]
    );
    assert_eq!(
        d.deleted
            .iter()
            .map(|p| p.label.as_str())
            .collect::<Vec<_>>(),
        ["OP3"]
    );
    assert_eq!(d.unchanged.len(), 13 - 3);
    let ins: String = d.changed[0]
        .ops
        .iter()
        .filter(|o| o.op == WordOpKind::Insert)
        .map(|o| o.text.as_str())
        .collect();
    assert!(
        ins.contains("voluntary") && ins.contains("developing countries"),
        "{ins}"
    );
    // a text against itself: all unchanged
    let same = diff_texts(&a, &a);
    assert_eq!(same.unchanged.len(), a.paragraphs.len());
}

/// The negotiated session, then `n` typing steps by three delegations over the operative
/// paragraphs: a word inserted mid-paragraph, a word deleted, now and then a move.
async fn long_negotiation(n: u64) -> Session {
    let mut s = negotiated().await;
    let ops: Vec<String> = s
        .doc
        .resolution()
        .paragraphs
        .iter()
        .filter(|p| p.label.starts_with("OP"))
        .map(|p| p.id.clone())
        .collect();
    for i in 0..n {
        let pid = &ops[(i / 3) as usize % ops.len()];
        let d = ["JPN", "EU", "MEX"][(i % 3) as usize];
        let len: usize = s
            .doc
            .paragraph(pid)
            .unwrap()
            .text
            .iter()
            .map(|r| r.text.encode_utf16().count())
            .sum();
        let at = (7 * i as usize + 3) % len.max(1);
        let u = if i % 97 == 96 {
            let other = &ops[(i as usize * 5) % ops.len()];
            if other == pid {
                continue;
            }
            s.doc
                .move_paragraph(pid, Position::Before(other.clone()))
                .unwrap()
        } else if i % 4 == 3 && len > 20 {
            s.doc.delete_text(pid, (at % (len - 5)) as u32, 5).unwrap()
        } else {
            s.doc
                .insert_text(pid, at as u32, &format!("w{i} "), false)
                .unwrap()
        };
        s.push(u, &format!("{}-1", d.to_lowercase()), Some(d)).await;
    }
    s
}

/// Attribution started from stored checkpoints (and from the state kept between calls) is what
/// a replay of the whole log gives, at every point asked; the checkpoint round trip loses
/// nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attribution_from_checkpoints_is_attribution_from_the_start() {
    let s = long_negotiation(1_300).await;
    let last = s.store.last_seq(DOC).await.unwrap();
    let points = [1, 9, 480, 777, 1_001, last - 3, last];
    let mut whole = Vec::new();
    for &p in &points {
        // A fresh reader, no checkpoint, no bound: the whole log replayed.
        let h = History::new(s.store.clone()).with_max_tail(u64::MAX, u64::MAX);
        whole.push(h.attribution(DOC, p).await.unwrap());
    }
    // What the server does as updates are accepted: advance at each snapshot.
    let writer = History::new(s.store.clone());
    for at in (250..=last).step_by(250) {
        assert_eq!(writer.advance_attribution(DOC, at).await.unwrap(), at);
    }
    let h = History::new(s.store.clone());
    for (&p, want) in points.iter().zip(&whole) {
        assert_eq!(&h.attribution(DOC, p).await.unwrap(), want, "at {p}");
        let fresh = History::new(s.store.clone());
        assert_eq!(&fresh.attribution(DOC, p).await.unwrap(), want, "at {p}");
    }
    // Materializing starts from them too, and agrees with the log.
    let m = History::new(s.store.clone())
        .with_checkpoint_distance(u64::MAX)
        .materialize(DOC, 777)
        .await
        .unwrap();
    assert!(m.replayed <= 250, "replayed {}", m.replayed);
    assert_eq!(texts(&m.doc.resolution()), texts(&s.states[777]));
}

/// A log with no checkpoints (written before they existed): a bounded reader does not replay it
/// on the request; it says so, builds the checkpoints in the background, and then answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_log_without_checkpoints_is_prepared_in_the_background() {
    let s = long_negotiation(600).await;
    let last = s.store.last_seq(DOC).await.unwrap();
    let want = History::new(s.store.clone())
        .with_max_tail(u64::MAX, u64::MAX)
        .attribution(DOC, last)
        .await
        .unwrap();
    let h = History::new(s.store.clone()).with_max_tail(100, 100);
    let err = h.attribution(DOC, last).await.unwrap_err();
    assert!(matches!(err, HistoryError::Preparing { .. }), "{err:?}");
    let err = h.materialize(DOC, last).await.unwrap_err();
    assert!(matches!(err, HistoryError::Preparing { .. }), "{err:?}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        match h.attribution(DOC, last).await {
            Ok(got) => {
                assert_eq!(got, want);
                break;
            }
            Err(HistoryError::Preparing { .. }) => {
                assert!(std::time::Instant::now() < deadline, "never prepared");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            Err(e) => panic!("{e}"),
        }
    }
    for at in [last, last - 50] {
        let m = loop {
            match h.materialize(DOC, at).await {
                Ok(m) => break m,
                Err(HistoryError::Preparing { .. }) => {
                    assert!(std::time::Instant::now() < deadline, "never prepared");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
                Err(e) => panic!("{e}"),
            }
        };
        assert!(m.replayed <= 100);
        assert_eq!(texts(&m.doc.resolution()), texts(&s.states[at as usize]));
    }
}
