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

// --- The UN layout -------------------------------------------------------

/// The real General Assembly resolution of `../shared/fixtures/real`, if
/// that directory is there.
fn real_text() -> Option<Resolution> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/fixtures/real/ga80-12-military-expenditures.txt");
    let Ok(text) = std::fs::read_to_string(&path) else {
        println!("note: {} is absent; skipped", path.display());
        return None;
    };
    Some(import_text(&text).unwrap().resolution)
}

/// One Word paragraph: its text, its alignment, its indentation
/// (left, hanging, first line), whether each text run is bold or italic,
/// and its footnote references.
#[derive(Debug)]
struct Para {
    text: String,
    jc: Option<String>,
    ind: (Option<i64>, Option<i64>, Option<i64>),
    /// (text, bold, italic) per run with text.
    runs: Vec<(String, bool, bool)>,
    footnote_refs: usize,
    bottom_rule: Option<i64>,
}

fn paragraphs(xml: &str) -> Vec<Para> {
    let doc = roxmltree::Document::parse(xml).unwrap();
    let attr = |n: Option<roxmltree::Node<'_, '_>>, a: &str| {
        n.and_then(|n| n.attribute((W, a))).map(str::to_owned)
    };
    let num = |v: Option<String>| v.and_then(|v| v.parse::<i64>().ok());
    doc.descendants()
        .filter(|n| n.has_tag_name((W, "p")))
        .map(|p| {
            let ppr = p.children().find(|n| n.has_tag_name((W, "pPr")));
            let child =
                |tag: &str| ppr.and_then(|x| x.children().find(|n| n.has_tag_name((W, tag))));
            let ind = child("ind");
            let bottom =
                child("pBdr").and_then(|b| b.children().find(|n| n.has_tag_name((W, "bottom"))));
            let runs: Vec<(String, bool, bool)> = p
                .children()
                .filter(|n| n.has_tag_name((W, "r")))
                .filter_map(|r| {
                    let text: String = r
                        .children()
                        .filter(|n| n.has_tag_name((W, "t")))
                        .filter_map(|n| n.text())
                        .collect();
                    let rpr = r.children().find(|n| n.has_tag_name((W, "rPr")));
                    let has = |tag: &str| {
                        rpr.is_some_and(|x| x.children().any(|n| n.has_tag_name((W, tag))))
                    };
                    (!text.is_empty()).then(|| (text, has("b"), has("i")))
                })
                .collect();
            Para {
                text: runs.iter().map(|r| r.0.as_str()).collect(),
                jc: attr(child("jc"), "val"),
                ind: (
                    num(attr(ind, "left")),
                    num(attr(ind, "hanging")),
                    num(attr(ind, "firstLine")),
                ),
                runs,
                footnote_refs: p
                    .descendants()
                    .filter(|n| n.has_tag_name((W, "footnoteReference")))
                    .count(),
                bottom_rule: num(attr(bottom, "sz")),
            }
        })
        .collect()
}

fn text_of(runs: &[Run]) -> String {
    runs.iter().map(|r| r.text.as_str()).collect()
}

/// What every UN-layout export must show, checked on the package of
/// `resolution`.
fn check_un_layout(resolution: &Resolution, bytes: &[u8]) {
    let meta = &resolution.meta;
    let body = paragraphs(&part(bytes, "word/document.xml"));

    // The masthead: United Nations and the symbol over a thin rule, the
    // organ beside Distr. over a thick one.
    assert!(body[0].text.starts_with("United Nations"), "{:?}", body[0]);
    if let Some(symbol) = &meta.symbol {
        assert!(body[0].text.ends_with(symbol.as_str()), "{:?}", body[0]);
    }
    assert!(body[0].bottom_rule.is_some(), "a rule under the top line");
    let organ = meta.organ.as_deref().unwrap();
    let organ_line = body.iter().find(|p| p.text.starts_with(organ)).unwrap();
    assert!(organ_line.runs[0].1, "the organ is bold: {organ_line:?}");
    let distr = format!("Distr.: {}", meta.distribution.as_deref().unwrap());
    assert!(organ_line.text.ends_with(&distr), "{organ_line:?}");
    let thick = body
        .iter()
        .position(|p| p.bottom_rule.is_some_and(|s| s >= 18))
        .unwrap();
    assert!(
        body[..=thick]
            .iter()
            .any(|p| p.text.contains(meta.date.as_deref().unwrap()))
    );

    // Agenda item, submitted-by line.
    let agenda = format!("Agenda item {}", meta.agenda_item.as_deref().unwrap());
    assert!(body.iter().any(|p| p.text == agenda), "{agenda}");
    let submitted = meta.submitted_by.as_deref().unwrap();
    assert!(body.iter().any(|p| p.text == submitted), "{submitted}");

    // The title: one paragraph, centred, every run bold.
    let title = match &meta.number {
        Some(n) => format!("{n}. {}", meta.title.as_deref().unwrap()),
        None => meta.title.clone().unwrap(),
    };
    let titles: Vec<&Para> = body.iter().filter(|p| p.text == title).collect();
    assert_eq!(titles.len(), 1, "{title}");
    assert_eq!(titles[0].jc.as_deref(), Some("center"), "{:?}", titles[0]);
    assert!(titles[0].runs.iter().all(|r| r.1), "{:?}", titles[0]);

    // The acting body, then the paragraphs: each preambular paragraph's
    // italic opening is an italic run; operative paragraphs hang their
    // number; sub-paragraphs hang one step further in.
    let acting = meta.acting_body.as_deref().unwrap();
    let at = body.iter().position(|p| p.text == acting).unwrap();
    let printed = &body[at + 1..];
    let mut operative = 0;
    for (i, paragraph) in resolution.paragraphs.iter().enumerate() {
        let word = &printed[i];
        let own = text_of(&paragraph.text);
        let own: String = own.chars().filter(|c| !"¹²³⁴⁵⁶⁷⁸⁹⁰".contains(*c)).collect();
        assert!(word.text.ends_with(&own), "paragraph {i}: {word:?}");
        if let Some(opening) = paragraph.text.first().filter(|r| r.italic) {
            assert!(
                word.runs.iter().any(|r| r.0 == opening.text && r.2 && !r.1),
                "italic opening of paragraph {i}: {word:?}"
            );
        }
        match (paragraph.level, paragraph.kind) {
            (0, ParagraphKind::Preambular) => {
                assert_eq!(word.ind.2, Some(720), "{word:?}");
            }
            (0, ParagraphKind::Operative) => {
                operative += 1;
                assert_eq!(word.runs[0].0, format!("{operative}."), "{word:?}");
                assert_eq!(word.ind, (Some(1440), Some(720), None), "{word:?}");
            }
            _ => {
                assert!(word.runs[0].0.starts_with('('), "{word:?}");
                assert_eq!(word.ind, (Some(2160), Some(720), None), "{word:?}");
            }
        }
    }

    // Footnotes: one reference per footnote in the text, no marker text
    // (`²`) beside it, and in each note Word's own number mark and no
    // typed number.
    let references: usize = body.iter().map(|p| p.footnote_refs).sum();
    assert_eq!(references, resolution.footnotes.len());
    let document = part(bytes, "word/document.xml");
    for superscript in "¹²³⁴⁵⁶⁷⁸⁹⁰".chars() {
        assert!(
            !document.contains(superscript),
            "{superscript} printed as text"
        );
    }
    let notes_xml = part(bytes, "word/footnotes.xml");
    let notes = roxmltree::Document::parse(&notes_xml).unwrap();
    let footnotes: Vec<_> = notes
        .descendants()
        .filter(|n| n.has_tag_name((W, "footnote")))
        .collect();
    assert_eq!(footnotes.len(), resolution.footnotes.len());
    for (note, model) in footnotes.iter().zip(&resolution.footnotes) {
        let marks = note
            .descendants()
            .filter(|n| n.has_tag_name((W, "footnoteRef")))
            .count();
        assert_eq!(marks, 1, "one number mark in note {}", model.id);
        let text: String = note
            .descendants()
            .filter(|n| n.has_tag_name((W, "t")))
            .filter_map(|n| n.text())
            .collect();
        assert_eq!(
            text,
            text_of(&model.text),
            "note {} has no typed number",
            model.id
        );
    }

    // Page numbers in the footer; the symbol as running head.
    let footer = part(bytes, "word/footer1.xml");
    assert!(
        footer.contains("<w:instrText>PAGE</w:instrText>"),
        "{footer}"
    );
}

#[test]
fn docx_is_in_the_un_layout() {
    let resolution = fixture();
    check_un_layout(&resolution, &export_docx(&resolution).unwrap());
}

#[test]
fn docx_of_a_real_resolution_is_in_the_un_layout() {
    let Some(resolution) = real_text() else {
        return;
    };
    let bytes = export_docx(&resolution).unwrap();
    check_un_layout(&resolution, &bytes);
    let body = paragraphs(&part(&bytes, "word/document.xml"));
    // The report line and the closing meeting lines.
    assert!(
        body.iter()
            .any(|p| p.text == "[on the report of the First Committee (A/80/534, para. 7)]")
    );
    let closing = body
        .iter()
        .find(|p| p.text.contains("plenary meeting"))
        .unwrap();
    assert_eq!(closing.jc.as_deref(), Some("right"));
    assert!(closing.runs.iter().all(|r| r.2), "{closing:?}");
    let header = part(&bytes, "word/header1.xml");
    assert!(header.contains("A/RES/80/12"), "{header}");
}

#[test]
fn docx_of_a_bare_draft_has_no_masthead() {
    let mut resolution = fixture();
    resolution.meta = plenary_doc::Meta {
        title: Some("A bare draft".to_owned()),
        ..Default::default()
    };
    let bytes = export_docx(&resolution).unwrap();
    let body = paragraphs(&part(&bytes, "word/document.xml"));
    assert_eq!(body[0].text, "A bare draft");
    assert_eq!(body[0].jc.as_deref(), Some("center"));
    assert!(
        !body
            .iter()
            .any(|p| p.text.starts_with("United Nations") || p.bottom_rule.is_some())
    );
}

#[test]
fn docx_of_an_untitled_numbered_resolution_heads_it_resolution_n() {
    let resolution = own_fixture("../../../../tests/fixtures/corpus/sc-resolution.txt");
    assert_eq!(resolution.meta.number.as_deref(), Some("2801 (2025)"));
    let bytes = export_docx(&resolution).unwrap();
    let body = paragraphs(&part(&bytes, "word/document.xml"));
    let at = body
        .iter()
        .position(|p| p.text == "Resolution 2801 (2025)")
        .unwrap();
    assert_eq!(body[at].jc.as_deref(), Some("center"));
    assert!(body[at].runs.iter().all(|r| r.1));
    assert!(
        body[at + 1]
            .text
            .starts_with("Adopted by the Security Council")
    );
    assert_eq!(body[at + 2].text, "The Security Council,");
    assert!(body[0].text.ends_with("S/RES/2801 (2025)"));
}
