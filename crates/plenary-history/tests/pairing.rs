//! The pairing shared by compare, `plenary diff` and the tracked export: moves across kinds,
//! footnote changes (added, deleted, reworded, marker moved), header changes.
#![allow(clippy::unwrap_used)] // tests may unwrap (helper-common rules)

use std::path::PathBuf;

use plenary_doc::{Footnote, ParagraphKind, Resolution, Run, import_text};
use plenary_history::{FootnoteChangeKind, compare, diff_texts};

fn fixture(name: &str) -> Resolution {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures")
        .join(name);
    let mut r = import_text(&std::fs::read_to_string(path).unwrap())
        .unwrap()
        .resolution;
    plenary_doc::numbering::number_paragraphs(&mut r.paragraphs, None);
    r
}

#[test]
fn two_imports_pair_a_request_turned_recalling_and_report_the_footnote() {
    let d = diff_texts(
        &fixture("tracked-pair-rev1.txt"),
        &fixture("tracked-pair-rev2.txt"),
    );
    assert_eq!(d.moved.len(), 1, "{d:#?}");
    let m = &d.moved[0];
    assert_eq!((m.old_label.as_str(), m.new_label.as_str()), ("OP3", "PP3"));
    assert!(m.kind_changed);
    assert_eq!(
        d.added.iter().map(|p| p.label.as_str()).collect::<Vec<_>>(),
        ["OP3"]
    );
    assert!(d.added[0].text.starts_with("Calls upon"));
    assert_eq!(
        d.deleted
            .iter()
            .map(|p| p.label.as_str())
            .collect::<Vec<_>>(),
        ["PP3"]
    );
    assert!(d.deleted[0].text.starts_with("Welcoming"));
    assert_eq!(d.changed.len(), 1);
    assert_eq!(d.footnotes.len(), 1);
    assert_eq!(d.footnotes[0].change, FootnoteChangeKind::Changed);
    assert!(!d.footnotes[0].marker_moved);
    assert_eq!(d.meta.len(), 1);
    assert_eq!(d.meta[0].key, "date");
}

#[test]
fn renumbered_footnotes_of_two_real_revisions_are_not_changes() {
    let d = diff_texts(
        &fixture("reducing-reoffending-2021-rev1.txt"),
        &fixture("reducing-reoffending-2021-rev2.txt"),
    );
    // Five notes renumbered by the move of the paragraph citing them, one reworded.
    assert_eq!(d.footnotes.len(), 1, "{:#?}", d.footnotes);
    let f = &d.footnotes[0];
    assert_eq!(f.change, FootnoteChangeKind::Changed);
    assert_eq!((f.old_marker, f.new_marker), (3, 6));
}

#[test]
fn compare_by_id_reports_a_change_of_kind_as_a_move_and_every_footnote_change() {
    let old = fixture("tracked-pair-rev1.txt");
    let mut new = old.clone();
    // OP3 becomes the last preambular paragraph (same id).
    let op3 = new
        .paragraphs
        .iter()
        .position(|p| p.label == "OP3")
        .unwrap();
    let mut p = new.paragraphs.remove(op3);
    p.kind = ParagraphKind::Preambular;
    new.paragraphs.insert(3, p);
    // The footnote's marker moves from PP1 to OP1; a new note is cited by OP2.
    let fid = old.footnotes[0].id.clone();
    for p in &mut new.paragraphs {
        p.text
            .retain(|r| r.footnote.as_deref() != Some(fid.as_str()));
    }
    let at = |new: &Resolution, label: &str| {
        new.paragraphs
            .iter()
            .position(|p| p.label == label)
            .unwrap()
    };
    let op1 = at(&new, "OP1");
    new.paragraphs[op1].text.push(Run {
        text: "¹".into(),
        italic: false,
        footnote: Some(fid.clone()),
    });
    let op2 = at(&new, "OP2");
    new.paragraphs[op2].text.push(Run {
        text: "²".into(),
        italic: false,
        footnote: Some("fn-new".into()),
    });
    new.footnotes.push(Footnote {
        id: "fn-new".into(),
        marker: 2,
        text: vec![Run::plain("See A/79/123.")],
    });
    plenary_doc::numbering::number_paragraphs(&mut new.paragraphs, None);
    let c = compare(&old, &new);
    assert_eq!(c.moved.len(), 1, "{c:#?}");
    assert!(c.moved[0].kind_changed);
    assert_eq!(
        (c.moved[0].old_label.as_str(), c.moved[0].new_label.as_str()),
        ("OP3", "PP4")
    );
    assert!(c.added.is_empty() && c.deleted.is_empty());
    let kinds: Vec<(String, FootnoteChangeKind)> = c
        .footnotes
        .iter()
        .map(|f| (f.id.clone(), f.change))
        .collect();
    assert_eq!(
        kinds,
        [
            (fid.clone(), FootnoteChangeKind::MarkerMoved),
            ("fn-new".to_owned(), FootnoteChangeKind::Added)
        ]
    );
    // and a deleted one
    let c = compare(&new, &old);
    assert!(
        c.footnotes
            .iter()
            .any(|f| f.id == "fn-new" && f.change == FootnoteChangeKind::Deleted)
    );
}
