//! Tracked changes (.docx) between two revisions: each paragraph's changes
//! are whole (added, deleted, moved) or word-level (changed), attributed to
//! whoever wrote them, and the header and footnotes are tracked too.
#![allow(clippy::unwrap_used)] // tests may unwrap (helper-common rules)

use std::collections::HashMap;
use std::io::Read;
use std::path::PathBuf;

use plenary_doc::pairing::PairBy;
use plenary_doc::{
    ParagraphKind, Resolution, TrackedAuthors, TrackedOptions, Writer, export_docx_tracked,
    export_docx_tracked_with, import_text,
};

const W: &str = "http://schemas.openxmlformats.org/wordprocessingml/2006/main";
const DATE: &str = "2024-05-16T09:00:00Z";

fn fixture(name: &str) -> Resolution {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures")
        .join(name);
    import_text(&std::fs::read_to_string(path).unwrap())
        .unwrap()
        .resolution
}

fn part(bytes: &[u8], name: &str) -> String {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut xml = String::new();
    archive
        .by_name(name)
        .unwrap()
        .read_to_string(&mut xml)
        .unwrap();
    xml
}

/// One Word paragraph as the test sees it.
#[derive(Debug, Default)]
struct Seen {
    /// Text outside any `w:ins` (what stayed).
    kept: String,
    inserted: String,
    deleted: String,
    /// `w:ins` / `w:del` elements among the paragraph's children.
    ins: usize,
    del: usize,
    /// Authors of the paragraph's `w:ins` and `w:del`, in order.
    authors: Vec<String>,
    /// Comment ids anchored in it.
    comments: Vec<String>,
}

fn paragraphs(xml: &str, root: &str) -> Vec<Seen> {
    let doc = roxmltree::Document::parse(xml).unwrap();
    let body = doc
        .descendants()
        .find(|n| n.has_tag_name((W, root)))
        .unwrap();
    let mut out = Vec::new();
    for p in body.descendants().filter(|n| n.has_tag_name((W, "p"))) {
        let mut seen = Seen::default();
        for c in p.children().filter(|c| c.is_element()) {
            if c.has_tag_name((W, "ins")) {
                seen.ins += 1;
            }
            if c.has_tag_name((W, "del")) {
                seen.del += 1;
            }
            if (c.has_tag_name((W, "ins")) || c.has_tag_name((W, "del")))
                && let Some(a) = c.attribute((W, "author"))
            {
                seen.authors.push(a.to_owned());
            }
            if c.has_tag_name((W, "commentRangeStart"))
                && let Some(id) = c.attribute((W, "id"))
            {
                seen.comments.push(id.to_owned());
            }
        }
        for t in p.descendants() {
            let in_ins = t.ancestors().any(|a| a.has_tag_name((W, "ins")));
            if t.has_tag_name((W, "t")) {
                let text = t.text().unwrap_or_default();
                if in_ins {
                    seen.inserted.push_str(text);
                } else {
                    seen.kept.push_str(text);
                }
            }
            if t.has_tag_name((W, "delText")) {
                seen.deleted.push_str(t.text().unwrap_or_default());
            }
        }
        out.push(seen);
    }
    out
}

fn comments(bytes: &[u8]) -> HashMap<String, String> {
    let xml = part(bytes, "word/comments.xml");
    let doc = roxmltree::Document::parse(&xml).unwrap();
    doc.descendants()
        .filter(|n| n.has_tag_name((W, "comment")))
        .map(|c| {
            let text: String = c
                .descendants()
                .filter(|t| t.has_tag_name((W, "t")))
                .filter_map(|t| t.text())
                .collect();
            (c.attribute((W, "id")).unwrap_or_default().to_owned(), text)
        })
        .collect()
}

fn find<'a>(ps: &'a [Seen], text: &str) -> &'a Seen {
    let found: Vec<&Seen> = ps
        .iter()
        .filter(|p| p.kept.contains(text) || p.inserted.contains(text) || p.deleted.contains(text))
        .collect();
    assert_eq!(found.len(), 1, "{text:?} in one paragraph: {found:#?}");
    found[0]
}

fn writer(name: &str, delegation: &str, date: &str) -> Writer {
    Writer {
        name: name.to_owned(),
        delegation: Some(delegation.to_owned()),
        date: Some(date.to_owned()),
    }
}

/// Spans of a paragraph's text: `part` by `by`, the rest by `rest`.
fn spans(text: &str, part: &str, by: &Writer, rest: &Writer) -> Vec<(usize, Writer)> {
    let start = text.find(part).unwrap();
    let chars = |s: &str| s.chars().count();
    vec![
        (chars(&text[..start]), rest.clone()),
        (chars(part), by.clone()),
        (chars(&text[start + part.len()..]), rest.clone()),
    ]
}

fn plain(r: &Resolution, starts: &str) -> (String, String) {
    let p = r
        .paragraphs
        .iter()
        .find(|p| {
            p.text
                .iter()
                .map(|r| r.text.as_str())
                .collect::<String>()
                .starts_with(starts)
        })
        .unwrap();
    (
        p.id.clone(),
        p.text.iter().map(|r| r.text.as_str()).collect(),
    )
}

#[test]
fn added_deleted_moved_and_changed_paragraphs_are_tracked_whole_or_word_by_word() {
    let base = fixture("tracked-pair-rev1.txt");
    let current = fixture("tracked-pair-rev2.txt");
    let secretariat = writer("Amina Diallo", "Secretariat", "2024-05-10T08:00:00Z");
    let japan = writer("Kenji Sato", "Japan", "2024-05-14T10:30:00Z");
    let mexico = writer("Ana López", "Mexico", "2024-05-15T16:05:00Z");
    let mut authors = TrackedAuthors::default();
    let (op1, op1_text) = plain(&current, "Encourages");
    authors.paragraphs.insert(
        op1,
        spans(&op1_text, "primary and secondary ", &japan, &secretariat),
    );
    let (added, added_text) = plain(&current, "Calls upon");
    authors
        .paragraphs
        .insert(added, vec![(added_text.chars().count(), mexico.clone())]);
    let (moved, moved_text) = plain(&current, "Recalling also");
    authors
        .paragraphs
        .insert(moved, vec![(moved_text.chars().count(), japan.clone())]);

    let bytes = export_docx_tracked_with(
        &base,
        &current,
        &TrackedOptions {
            author: "Secretariat",
            date: DATE,
            pair_by: PairBy::Similarity,
            authors: Some(&authors),
        },
    )
    .unwrap();
    assert!(docx_rs::read_docx(&bytes).is_ok(), "docx-rs reads it back");
    // For a look in LibreOffice or Word.
    if let Some(out) = std::env::var_os("PLENARY_TRACKED_DOCX") {
        std::fs::write(out, &bytes).unwrap();
    }
    let xml = part(&bytes, "word/document.xml");
    let ps = paragraphs(&xml, "body");
    let notes = comments(&bytes);

    // Added: one whole insertion, by its writer.
    let p = find(&ps, "youth-led initiatives");
    assert_eq!((p.ins, p.del), (1, 0), "{p:#?}");
    assert!(p.kept.is_empty() && p.inserted.starts_with("3."), "{p:#?}");
    assert_eq!(p.authors, ["Ana López (Mexico)"]);

    // Deleted: one whole deletion.
    let p = find(&ps, "Welcoming the contributions");
    assert_eq!((p.ins, p.del), (0, 1), "{p:#?}");
    assert!(p.kept.is_empty() && p.inserted.is_empty(), "{p:#?}");
    assert_eq!(p.authors, ["Secretariat"]);

    // OP3 became PP3: a whole deletion at the old place and a whole
    // insertion at the new one, each with a comment naming the move; no
    // word salad with the paragraphs around.
    let old = find(&ps, "Requests the Secretary-General");
    assert_eq!((old.ins, old.del), (0, 1), "{old:#?}");
    assert!(old.deleted.starts_with("3.\tRequests"), "{old:#?}");
    assert_eq!(old.comments.len(), 1);
    assert_eq!(notes[&old.comments[0]], "Moved to PP3 (was OP3)");
    let new = find(&ps, "Recalling also its request");
    assert_eq!((new.ins, new.del), (1, 0), "{new:#?}");
    assert_eq!(new.authors, ["Kenji Sato (Japan)"]);
    let note = &notes[&new.comments[0]];
    assert!(
        note.starts_with("Moved from OP3 (now PP3). Wording: "),
        "{note}"
    );
    assert!(
        note.contains("[-Requests-]{+Recalling also+} {+its request to +}the Secretary-General"),
        "{note}"
    );
    assert!(note.contains("[-resolution;-]{+resolution,+}"), "{note}");

    // Changed: word-level, the insertion by its writer, the words it
    // replaced credited to them too.
    let p = find(&ps, "integrate crime prevention");
    assert!(
        p.kept
            .starts_with("1.Encourages Member States to integrate"),
        "{p:#?}"
    );
    assert_eq!(p.inserted, "primary and secondary systems;");
    assert_eq!(p.deleted, "systems at all levels;");
    assert!(
        p.authors.iter().any(|a| a == "Kenji Sato (Japan)"),
        "{p:#?}"
    );
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let ins_by = |text: &str| -> Vec<String> {
        doc.descendants()
            .filter(|n| n.has_tag_name((W, "ins")))
            .filter(|n| {
                n.descendants()
                    .filter_map(|t| t.text())
                    .any(|t| t.contains(text))
            })
            .map(|n| n.attribute((W, "author")).unwrap_or_default().to_owned())
            .collect()
    };
    assert_eq!(ins_by("primary and secondary"), ["Kenji Sato (Japan)"]);
    assert_eq!(ins_by("youth-led"), ["Ana López (Mexico)"]);
    let dated: Vec<&str> = doc
        .descendants()
        .filter(|n| n.has_tag_name((W, "ins")))
        .filter(|n| n.attribute((W, "author")) == Some("Kenji Sato (Japan)"))
        .filter_map(|n| n.attribute((W, "date")))
        .collect();
    assert!(!dated.is_empty() && dated.iter().all(|d| *d == "2024-05-14T10:30:00Z"));

    // Untouched paragraphs carry no mark.
    for text in [
        "Noting with appreciation",
        "share good practices",
        "remain seized",
    ] {
        let p = find(&ps, text);
        assert_eq!((p.ins, p.del), (0, 0), "{text}: {p:#?}");
    }

    // The header: the changed date, word by word.
    let date: Vec<&Seen> = ps
        .iter()
        .filter(|p| p.ins + p.del > 0 && p.kept == "May 2024")
        .collect();
    assert_eq!(date.len(), 1, "{ps:#?}");
    assert_eq!(
        (date[0].deleted.as_str(), date[0].inserted.as_str()),
        ("10 ", "16 ")
    );

    // The footnote: its text tracked inside the note.
    let notes_xml = part(&bytes, "word/footnotes.xml");
    let fs = paragraphs(&notes_xml, "footnotes");
    let f = find(&fs, "resolution 70/174");
    assert_eq!(f.inserted.trim(), "annex, para. 7.", "{f:#?}");
    assert_eq!(f.deleted.trim(), "annex.", "{f:#?}");
}

#[test]
fn two_real_revisions_pair_by_content_not_by_position() {
    let base = fixture("reducing-reoffending-2021-rev1.txt");
    let current = fixture("reducing-reoffending-2021-rev2.txt");
    let bytes = export_docx_tracked_with(
        &base,
        &current,
        &TrackedOptions {
            author: "Secretariat",
            date: DATE,
            pair_by: PairBy::Similarity,
            authors: None,
        },
    )
    .unwrap();
    let ps = paragraphs(&part(&bytes, "word/document.xml"), "body");
    // Only OP7 is edited word by word; every other paragraph is whole.
    let mixed: Vec<&Seen> = ps
        .iter()
        .filter(|p| p.ins > 0 && p.del > 0 && !p.kept.contains("May 2021"))
        .filter(|p| !p.kept.starts_with("Japan: revised draft"))
        .collect();
    assert_eq!(mixed.len(), 1, "{mixed:#?}");
    assert!(mixed[0].kept.starts_with("7.Invites"), "{mixed:#?}");
    let added = find(&ps, "collect and analyse data");
    assert_eq!((added.ins, added.del), (1, 0));
    let deleted = find(&ps, "rehabilitative environment in the community");
    assert_eq!((deleted.ins, deleted.del), (0, 1));
    // The moved "Recalling the standards and norms" paragraph: out at its
    // old place, in at its new one, one comment each.
    let moved: Vec<&Seen> = ps
        .iter()
        .filter(|p| {
            p.inserted.starts_with("Recalling the standards")
                || p.deleted.starts_with("Recalling the standards")
        })
        .collect();
    assert_eq!(moved.len(), 2);
    assert!(
        moved
            .iter()
            .all(|p| p.comments.len() == 1 && p.ins + p.del == 1)
    );
}

#[test]
fn by_id_a_paragraph_that_changed_kind_is_moved() {
    let base = fixture("tracked-pair-rev1.txt");
    let mut current = base.clone();
    let op3 = current
        .paragraphs
        .iter()
        .position(|p| {
            p.text
                .iter()
                .any(|r| r.text.contains("Secretary-General to report"))
        })
        .unwrap();
    let mut p = current.paragraphs.remove(op3);
    p.kind = ParagraphKind::Preambular;
    current.paragraphs.insert(3, p);
    let bytes = export_docx_tracked(&base, &current, "Secretariat", DATE).unwrap();
    let ps = paragraphs(&part(&bytes, "word/document.xml"), "body");
    let both: Vec<&Seen> = ps
        .iter()
        .filter(|p| {
            format!("{}{}{}", p.kept, p.inserted, p.deleted).contains("Secretary-General to report")
        })
        .collect();
    assert_eq!(both.len(), 2, "{both:#?}");
    assert_eq!(
        (both[0].ins, both[0].del, both[1].ins, both[1].del),
        (1, 0, 0, 1)
    );
    let notes = comments(&bytes);
    assert_eq!(notes[&both[0].comments[0]], "Moved from OP3 (now PP4)");
}
