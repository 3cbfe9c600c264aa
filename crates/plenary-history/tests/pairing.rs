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

/// The `w:author` and `w:date` of the `w:ins` or `w:del` around the first occurrence of `text`.
fn mark_around(xml: &str, text: &str) -> (String, String, String) {
    let at = xml
        .find(text)
        .unwrap_or_else(|| panic!("{text} not in the document"));
    let (ins, del) = (
        xml[..at].rfind("<w:ins ").unwrap_or(0),
        xml[..at].rfind("<w:del ").unwrap_or(0),
    );
    let (start, tag) = if ins > del {
        (ins, "ins")
    } else {
        (del, "del")
    };
    let close = xml[start..at].contains(&format!("</w:{tag}>"));
    assert!(!close, "{text} is not inside a w:{tag}");
    let head = &xml[start..start + xml[start..].find('>').unwrap()];
    let attr = |name: &str| {
        let from = head.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
        head[from..from + head[from..].find('"').unwrap()].to_owned()
    };
    (tag.to_owned(), attr("w:author"), attr("w:date"))
}

/// One document's history: the secretariat imports it, Japan rewords OP1, Mexico adds a
/// paragraph, the chair deletes PP3 and turns OP3 into a preambular paragraph. The tracked
/// .docx of the last state against the first credits each insertion to its delegate.
#[tokio::test]
async fn tracked_changes_from_history_credit_each_delegate() {
    use plenary_doc::pairing::PairBy;
    use plenary_doc::{Position, ResolutionDoc, TrackedOptions, export_docx_tracked_with};
    use plenary_history::{History, iso8601, tracked_authors};
    use plenary_store::{EmbeddedStore, LogEntry, Store};
    use std::io::Read;
    use std::sync::Arc;

    const DOC: &str = "tracked-1";
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(EmbeddedStore::open(dir.path()).unwrap());
    let mut seq_at = Vec::new();
    let mut push = async |update: Vec<u8>, user: &str, delegation: Option<&str>, touched: &str| {
        let at_ms = 1_715_850_000_000 + 60_000 * seq_at.len() as i64;
        let entry = LogEntry {
            update,
            user: user.into(),
            name: None,
            delegation: delegation.map(str::to_owned),
            at_ms,
            paragraphs: vec![touched.to_owned()],
            node: "test".into(),
        };
        store.append(DOC, &entry).await.unwrap();
        seq_at.push(at_ms);
        at_ms
    };
    let imported = fixture("tracked-pair-rev1.txt");
    let mut doc = ResolutionDoc::from_resolution_with_client_id(1, &imported).unwrap();
    push(doc.encode_state(), "sec-1", Some("Secretariat"), "").await;
    let id_of = |doc: &ResolutionDoc, starts: &str| {
        doc.resolution()
            .paragraphs
            .iter()
            .find(|p| {
                p.text
                    .iter()
                    .map(|r| r.text.as_str())
                    .collect::<String>()
                    .starts_with(starts)
            })
            .unwrap()
            .id
            .clone()
    };
    let text_of = |doc: &ResolutionDoc, id: &str| -> String {
        doc.paragraph(id)
            .unwrap()
            .text
            .iter()
            .map(|r| r.text.as_str())
            .collect()
    };
    // Japan: "… into their primary and secondary education systems …"
    let mut jpn = ResolutionDoc::from_update_with_client_id(2, &doc.encode_state()).unwrap();
    let op1 = id_of(&doc, "Encourages");
    let at = text_of(&doc, &op1).find("education").unwrap() as u32;
    let u = jpn
        .insert_text(&op1, at, "primary and secondary ", false)
        .unwrap();
    doc.apply(&u).unwrap();
    let jpn_at = push(u, "jpn-1", Some("Japan"), &op1).await;
    // Mexico adds an operative paragraph after OP2.
    let mut mex = ResolutionDoc::from_update_with_client_id(3, &doc.encode_state()).unwrap();
    let op2 = id_of(&doc, "Invites");
    let (added, u) = mex
        .insert_paragraph(
            Position::After(op2),
            ParagraphKind::Operative,
            0,
            &[
                Run {
                    text: "Calls upon".into(),
                    italic: true,
                    footnote: None,
                },
                Run::plain(" Member States to support youth-led initiatives;"),
            ],
        )
        .unwrap();
    doc.apply(&u).unwrap();
    let mex_at = push(u, "mex-1", Some("Mexico"), &added).await;
    // The chair deletes PP3 and turns OP3 into the last preambular paragraph.
    let mut chair = ResolutionDoc::from_update_with_client_id(4, &doc.encode_state()).unwrap();
    let pp3 = id_of(&doc, "Welcoming");
    let u = chair.delete_paragraph(&pp3).unwrap();
    doc.apply(&u).unwrap();
    let deleted_at = push(u, "chair-1", None, &pp3).await;
    let op3 = id_of(&doc, "Requests");
    let pp2 = id_of(&doc, "Noting with appreciation");
    let u = chair.move_paragraph(&op3, Position::After(pp2)).unwrap();
    doc.apply(&u).unwrap();
    push(u, "chair-1", None, &op3).await;
    let u = chair.set_kind(&op3, ParagraphKind::Preambular).unwrap();
    doc.apply(&u).unwrap();
    let moved_at = push(u, "chair-1", None, &op3).await;

    let h = History::new(store.clone());
    let last = h.last_seq(DOC).await.unwrap();
    let base = h.resolution_at(DOC, 1).await.unwrap();
    let current = h.resolution_at(DOC, last).await.unwrap();
    let since_base = h.timeline(DOC, 1, 1_000).await.unwrap();
    let authors = tracked_authors(&h.attribution(DOC, last).await.unwrap(), &since_base);
    let bytes = export_docx_tracked_with(
        &base,
        &current,
        &TrackedOptions {
            author: "Secretariat",
            date: "2024-05-16T09:00:00Z",
            pair_by: PairBy::Id,
            authors: Some(&authors),
        },
    )
    .unwrap();
    let mut xml = String::new();
    zip::ZipArchive::new(std::io::Cursor::new(&bytes))
        .unwrap()
        .by_name("word/document.xml")
        .unwrap()
        .read_to_string(&mut xml)
        .unwrap();

    assert_eq!(
        mark_around(&xml, "primary and secondary"),
        ("ins".into(), "jpn-1 (Japan)".into(), iso8601(jpn_at))
    );
    assert_eq!(
        mark_around(&xml, "Member States to support youth-led"),
        ("ins".into(), "mex-1 (Mexico)".into(), iso8601(mex_at))
    );
    // A paragraph deleted whole: whoever deleted it (the log says who touched it last).
    assert_eq!(
        mark_around(&xml, "the contributions of Member States"),
        ("del".into(), "chair-1".into(), iso8601(deleted_at))
    );
    // The move: out and in, both by whoever moved it.
    let request = xml.find("the Secretary-General to report").unwrap();
    let again = request
        + 1
        + xml[request + 1..]
            .find("the Secretary-General to report")
            .unwrap();
    let (first, second) = (
        mark_around(&xml[..request + 40], "the Secretary-General to report"),
        mark_around(
            &xml[request + 1..again + 40],
            "the Secretary-General to report",
        ),
    );
    let mut tags = [first.0.clone(), second.0.clone()];
    tags.sort();
    assert_eq!(tags, ["del", "ins"]);
    for (_, author, date) in [first, second] {
        assert_eq!((author, date), ("chair-1".to_owned(), iso8601(moved_at)));
    }
    // The request is out at OP3 and in as PP3, once each, with the move named.
    assert_eq!(xml.matches("the Secretary-General to report").count(), 2);
    let mut comments = String::new();
    zip::ZipArchive::new(std::io::Cursor::new(&bytes))
        .unwrap()
        .by_name("word/comments.xml")
        .unwrap()
        .read_to_string(&mut comments)
        .unwrap();
    assert!(comments.contains("Moved from OP3 (now PP3)"), "{comments}");
    assert!(comments.contains("Moved to PP3 (was OP3)"), "{comments}");
    // Untouched text carries no mark.
    let noting = xml.find("Noting with appreciation").unwrap();
    assert!(!xml[xml[..noting].rfind("<w:pPr").unwrap_or(0)..noting].contains("<w:ins "));
}
