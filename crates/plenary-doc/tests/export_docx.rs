//! The Word export: a package Word and LibreOffice open, with the draft's
//! text, italics and footnotes where a reader expects them.
#![allow(clippy::unwrap_used)] // tests may unwrap (helper-common rules)

use std::path::PathBuf;

use plenary_doc::{
    Paragraph, ParagraphKind, Resolution, Run, Status, export_docx, export_docx_tracked,
    import_text,
};
use std::io::Read;

fn fixture() -> Resolution {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/reducing-reoffending-2021-rev1.txt");
    import_text(&std::fs::read_to_string(path).unwrap())
        .unwrap()
        .resolution
}

/// One part of the package, as text.
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

const W: &str = "http://schemas.openxmlformats.org/wordprocessingml/2006/main";

/// Every run of a part as (text, italic), in order; a footnote reference
/// is `("[fn N]", false)`.
fn runs(xml: &str) -> Vec<(String, bool)> {
    let doc = roxmltree::Document::parse(xml).unwrap();
    doc.descendants()
        .filter(|n| n.has_tag_name((W, "r")))
        .map(|r| {
            let italic = r.descendants().any(|n| n.has_tag_name((W, "i")));
            if let Some(reference) = r
                .children()
                .find(|n| n.has_tag_name((W, "footnoteReference")))
            {
                let id = reference.attribute((W, "id")).unwrap_or_default();
                return (format!("[fn {id}]"), false);
            }
            let text: String = r
                .children()
                .filter(|n| n.has_tag_name((W, "t")))
                .filter_map(|n| n.text())
                .collect();
            (text, italic)
        })
        .collect()
}

#[test]
fn docx_carries_the_text_italics_and_numbers() {
    let bytes = export_docx(&fixture()).unwrap();
    assert!(bytes.starts_with(b"PK"), "a zip package");
    assert!(docx_rs::read_docx(&bytes).is_ok(), "docx-rs reads it back");
    let all = runs(&part(&bytes, "word/document.xml"));
    let text: String = all.iter().map(|(t, _)| t.as_str()).collect();
    assert!(text.contains("Reducing reoffending through rehabilitation and reintegration"));
    assert!(
        text.contains("with the support of the United Nations Office on Drugs and Crime, of model")
    );
    assert!(all.contains(&("Also encourages".to_owned(), true)));
    assert!(all.contains(&("Noting also".to_owned(), true)));
    assert!(all.contains(&("2.".to_owned(), false)));
    assert!(all.contains(&(" Member States to promote a rehabilitative environment in correctional facilities, including through designing and implementing effective treatment programmes based on an individual assessment of the needs and risks of offenders, and to provide offenders with access to vocational and technical training and educational programmes to support them in developing the skills necessary for reintegration;".to_owned(), false)));
}

#[test]
fn docx_footnotes_are_word_footnotes() {
    let bytes = export_docx(&fixture()).unwrap();
    let body = runs(&part(&bytes, "word/document.xml"));
    let references: Vec<&str> = body
        .iter()
        .filter(|(t, _)| t.starts_with("[fn "))
        .map(|(t, _)| t.as_str())
        .collect();
    assert_eq!(
        references,
        ["[fn 1]", "[fn 2]", "[fn 3]", "[fn 4]", "[fn 5]", "[fn 6]"]
    );
    // Footnote 3 right after PP4's last words.
    let at = body.iter().position(|(t, _)| t == "[fn 3]").unwrap();
    assert!(body[at - 1].0.ends_with("discussed during the workshop,"));

    let notes = runs(&part(&bytes, "word/footnotes.xml"));
    assert!(notes.contains(&("Ibid.".to_owned(), true)));
    assert!(notes.contains(&(
        "General Assembly resolution 45/110, annex.".to_owned(),
        false
    )));
}

#[test]
fn docx_survives_control_characters_and_markup() {
    let mut resolution = fixture();
    resolution.paragraphs[0].text.push(Run {
        text: " <w:p> & \u{1}\u{b} end".to_owned(),
        ..Run::default()
    });
    let bytes = export_docx(&resolution).unwrap();
    let all = runs(&part(&bytes, "word/document.xml"));
    assert!(all.iter().any(|(t, _)| t == " <w:p> &  end"), "{all:?}");
}

fn own_fixture(name: &str) -> Resolution {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    import_text(&std::fs::read_to_string(path).unwrap())
        .unwrap()
        .resolution
}

/// (inserted text, deleted text, authors of the marks) of a document part.
fn tracked(xml: &str) -> (String, String, Vec<String>) {
    let doc = roxmltree::Document::parse(xml).unwrap();
    let under =
        |n: roxmltree::Node<'_, '_>, tag: &str| n.ancestors().any(|a| a.has_tag_name((W, tag)));
    let inserted = doc
        .descendants()
        .filter(|n| n.has_tag_name((W, "t")) && under(*n, "ins"))
        .filter_map(|n| n.text())
        .collect();
    let deleted = doc
        .descendants()
        .filter(|n| n.has_tag_name((W, "delText")))
        .filter_map(|n| n.text())
        .collect();
    let authors = doc
        .descendants()
        .filter(|n| n.has_tag_name((W, "ins")) || n.has_tag_name((W, "del")))
        .filter_map(|n| n.attribute((W, "author")))
        .map(str::to_owned)
        .collect();
    (inserted, deleted, authors)
}

#[test]
fn tracked_docx_shows_what_changed_since_the_base() {
    let base = own_fixture("ocean-literacy-2025.txt");
    let mut current = base.clone();
    let position = |r: &Resolution, start: &str| {
        r.paragraphs
            .iter()
            .position(|p| {
                p.text
                    .iter()
                    .map(|r| r.text.as_str())
                    .collect::<String>()
                    .starts_with(start)
            })
            .unwrap()
    };
    // A word-level edit in OP2(b).
    let b = position(&current, "To support teacher training");
    current.paragraphs[b].text[0].text = current.paragraphs[b].text[0].text.replace(
        "small island developing States;",
        "small island developing States and the least developed countries;",
    );
    // A paragraph deleted (PP3) and one added after OP2(c).
    let pp3 = position(&current, "Noting with concern");
    current.paragraphs.remove(pp3);
    let c = position(&current, "To report on progress");
    current.paragraphs.insert(
        c + 1,
        Paragraph {
            id: "p100".to_owned(),
            kind: ParagraphKind::Operative,
            level: 0,
            status: Status::Open,
            text: vec![
                Run {
                    text: "Also encourages".to_owned(),
                    italic: true,
                    footnote: None,
                },
                Run {
                    text: " partnerships between schools and marine research institutions;"
                        .to_owned(),
                    ..Run::default()
                },
            ],
            number: String::new(),
            label: String::new(),
        },
    );

    let bytes =
        export_docx_tracked(&base, &current, "Secretariat", "2025-11-17T10:00:00Z").unwrap();
    assert!(docx_rs::read_docx(&bytes).is_ok(), "docx-rs reads it back");
    let (inserted, deleted, authors) = tracked(&part(&bytes, "word/document.xml"));
    assert!(
        inserted.contains("and the least developed countries"),
        "{inserted}"
    );
    assert!(
        inserted.contains("Also encourages partnerships between schools"),
        "{inserted}"
    );
    assert!(
        deleted.contains("Noting with concern that public understanding"),
        "{deleted}"
    );
    assert!(deleted.contains("States;"), "{deleted}");
    // Untouched paragraphs are not marked.
    assert!(!inserted.contains("Recalling") && !deleted.contains("Recalling"));
    assert!(!authors.is_empty() && authors.iter().all(|a| a == "Secretariat"));

    // Against itself, nothing is marked.
    let (inserted, deleted, authors) = tracked(&part(
        &export_docx_tracked(&base, &base, "Secretariat", "2025-11-17T10:00:00Z").unwrap(),
        "word/document.xml",
    ));
    assert_eq!(
        (inserted.as_str(), deleted.as_str(), authors.len()),
        ("", "", 0)
    );
}
