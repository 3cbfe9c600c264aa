//! Import of plain-text UN drafts: the real Rev.1 draft of the Commission on
//! Crime Prevention and Criminal Justice (tests/fixtures, copied from the
//! project's shared fixtures), and damaged inputs that must yield warnings.
#![allow(clippy::unwrap_used)] // tests may unwrap (helper-common rules)

use std::path::PathBuf;

use plenary_doc::{
    ImportError, Imported, Paragraph, ParagraphKind, Resolution, Run, Status, import_text,
};

const FIXTURE: &str = "reducing-reoffending-2021-rev1.txt";

fn fixture_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn import_fixture() -> Imported {
    let text = std::fs::read_to_string(fixture_path(FIXTURE)).unwrap();
    import_text(&text).unwrap()
}

fn plain(runs: &[Run]) -> String {
    runs.iter().map(|r| r.text.as_str()).collect()
}

fn italic_opening(paragraph: &Paragraph) -> &str {
    match paragraph.text.first() {
        Some(run) if run.italic => &run.text,
        _ => "",
    }
}

fn openings<'a>(paragraphs: &[&'a Paragraph]) -> Vec<&'a str> {
    paragraphs.iter().map(|p| italic_opening(p)).collect()
}

fn of_kind(resolution: &Resolution, kind: ParagraphKind) -> Vec<&Paragraph> {
    resolution
        .paragraphs
        .iter()
        .filter(|p| p.kind == kind)
        .collect()
}

/// The text of the paragraph up to and including the marker of `footnote`.
fn text_before_marker(paragraph: &Paragraph, footnote: &str) -> Option<String> {
    let mut text = String::new();
    for run in &paragraph.text {
        if run.footnote.as_deref() == Some(footnote) {
            return Some(text);
        }
        text.push_str(&run.text);
    }
    None
}

#[test]
fn shared_fixture_is_the_copy_under_test() {
    let shared = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/fixtures")
        .join(FIXTURE);
    match std::fs::read_to_string(&shared) {
        Ok(text) => assert_eq!(
            text,
            std::fs::read_to_string(fixture_path(FIXTURE)).unwrap(),
            "tests/fixtures/{FIXTURE} differs from the shared fixture"
        ),
        Err(_) => println!(
            "note: {} is absent; testing the project's copy only",
            shared.display()
        ),
    }
}

#[test]
fn fixture_header_metadata() {
    let imported = import_fixture();
    let meta = &imported.resolution.meta;
    assert_eq!(meta.organ.as_deref(), Some("Economic and Social Council"));
    assert_eq!(meta.distribution.as_deref(), Some("Limited"));
    assert_eq!(meta.date.as_deref(), Some("18 May 2021"));
    assert_eq!(meta.original.as_deref(), Some("English"));
    assert_eq!(
        meta.body.as_deref(),
        Some("Commission on Crime Prevention and Criminal Justice")
    );
    assert_eq!(meta.session.as_deref(), Some("Thirtieth session"));
    assert_eq!(meta.venue.as_deref(), Some("Vienna, 17\u{2013}21 May 2021"));
    assert_eq!(meta.agenda_item.as_deref(), Some("7"));
    assert_eq!(
        meta.agenda_title.as_deref(),
        Some(
            "Use and application of United Nations standards and norms in crime prevention and criminal justice"
        )
    );
    assert_eq!(
        meta.submitted_by.as_deref(),
        Some("Japan: revised draft resolution")
    );
    assert!(
        meta.introduction
            .as_deref()
            .is_some_and(|i| i.starts_with("The Commission on Crime Prevention")
                && i.ends_with("for adoption by the General Assembly:"))
    );
    assert_eq!(
        meta.title.as_deref(),
        Some("Reducing reoffending through rehabilitation and reintegration")
    );
    assert_eq!(meta.acting_body.as_deref(), Some("The General Assembly,"));
    assert_eq!(meta.symbol, None, "the fixture carries no symbol");
}

#[test]
fn fixture_imports_without_warnings() {
    let imported = import_fixture();
    assert_eq!(imported.warnings, vec![]);
}

#[test]
fn fixture_paragraphs_and_italic_openings() {
    let resolution = import_fixture().resolution;
    let preambular = of_kind(&resolution, ParagraphKind::Preambular);
    let operative = of_kind(&resolution, ParagraphKind::Operative);
    assert_eq!(
        openings(&preambular),
        [
            "Recalling",
            "Reaffirming",
            "Noting",
            "Noting also",
            "Recalling"
        ]
    );
    assert_eq!(
        openings(&operative),
        [
            "Encourages",
            "Also encourages",
            "Further encourages",
            "Encourages",
            "Requests",
            "Also requests",
            "Invites",
            "Requests"
        ]
    );
    // The italics cover the opening only.
    assert!(plain(&preambular[0].text[1..]).starts_with(" the outcome of the Fourteenth"));
    assert!(plain(&operative[1].text[1..]).starts_with(" Member States to promote"));

    // Ids in order, all open, all top level; operative numbers as printed.
    let ids: Vec<&str> = resolution
        .paragraphs
        .iter()
        .map(|p| p.id.as_str())
        .collect();
    assert_eq!(
        ids,
        [
            "p1", "p2", "p3", "p4", "p5", "p6", "p7", "p8", "p9", "p10", "p11", "p12", "p13"
        ]
    );
    assert!(
        resolution
            .paragraphs
            .iter()
            .all(|p| p.status == Status::Open && p.level == 0)
    );
    let numbers: Vec<&str> = operative.iter().map(|p| p.number.as_str()).collect();
    assert_eq!(numbers, ["1", "2", "3", "4", "5", "6", "7", "8"]);
    assert!(plain(&operative[7].text).ends_with("implementation of the present resolution."));
}

#[test]
fn fixture_page_broken_paragraph_comes_back_whole() {
    let resolution = import_fixture().resolution;
    let pp4 = plain(&resolution.paragraphs[3].text);
    assert!(pp4.starts_with("Noting also the discussions held at the workshop"));
    assert!(
        pp4.contains(
            "and with the support of the United Nations Office on Drugs and Crime, of model strategies"
        ),
        "{pp4}"
    );
    assert!(pp4.ends_with("discussed during the workshop,³"), "{pp4}");
    // The continuation did not become a paragraph of its own.
    assert!(
        !resolution
            .paragraphs
            .iter()
            .any(|p| plain(&p.text).starts_with("United Nations Office"))
    );
}

#[test]
fn fixture_footnotes_attached_after_the_right_words() {
    let resolution = import_fixture().resolution;
    let ids: Vec<&str> = resolution.footnotes.iter().map(|f| f.id.as_str()).collect();
    assert_eq!(ids, ["fn1", "fn2", "fn3", "fn4", "fn5", "fn6"]);
    let markers: Vec<u32> = resolution.footnotes.iter().map(|f| f.marker).collect();
    assert_eq!(markers, [1, 2, 3, 4, 5, 6]);

    let expect = [
        ("fn1", 0, "as reflected in the report of the Congress"),
        (
            "fn2",
            0,
            "Towards the Achievement of the 2030 Agenda for Sustainable Development,",
        ),
        (
            "fn3",
            3,
            "the good practices discussed during the workshop,",
        ),
        (
            "fn4",
            4,
            "Treatment of Prisoners (the Nelson Mandela Rules),",
        ),
        (
            "fn5",
            4,
            "Non-custodial Measures for Women Offenders (the Bangkok Rules)",
        ),
        ("fn6", 4, "Non-Custodial Measures (the Tokyo Rules),"),
    ];
    for (id, paragraph, words_before) in expect {
        for (index, p) in resolution.paragraphs.iter().enumerate() {
            let before = text_before_marker(p, id);
            if index == paragraph {
                let before = before.unwrap_or_else(|| panic!("{id} not in paragraph {index}"));
                assert!(before.ends_with(words_before), "{id}: …{before}");
            } else {
                assert_eq!(before, None, "{id} also in paragraph {index}");
            }
        }
    }
    // The marker run prints the footnote's number.
    let marker = resolution.paragraphs[4]
        .text
        .iter()
        .find(|r| r.footnote.as_deref() == Some("fn5"))
        .unwrap();
    assert_eq!(marker.text, "⁵");
}

#[test]
fn fixture_footnote_texts_keep_italics_and_drop_link_targets() {
    let resolution = import_fixture().resolution;
    let texts: Vec<String> = resolution
        .footnotes
        .iter()
        .map(|f| plain(&f.text))
        .collect();
    assert_eq!(
        texts,
        [
            "A/CONF.234/16.",
            "Ibid., chap. I.",
            "Ibid., sect. VII.B.",
            "General Assembly resolution 70/175, annex.",
            "General Assembly resolution 65/229, annex.",
            "General Assembly resolution 45/110, annex.",
        ]
    );
    let fn2 = &resolution.footnotes[1].text;
    assert!(fn2[0].italic && fn2[0].text == "Ibid.");
    assert!(!fn2[1].italic && fn2[1].text == ", chap. I.");
}

#[test]
fn plain_text_without_markup_gets_italic_operative_verbs() {
    let text = "The Human Rights Council,\n\nBearing in mind its resolution 1/1,\n\n\
                1. Calls upon States to act;\n\n2. Further requests the Secretary-General to report.\n";
    let resolution = import_text(text).unwrap().resolution;
    let openings: Vec<&str> = resolution.paragraphs.iter().map(italic_opening).collect();
    assert_eq!(
        openings,
        ["Bearing in mind", "Calls upon", "Further requests"]
    );
}

#[test]
fn sub_paragraphs_are_level_one_and_lettered() {
    let text = "The General Assembly,\n\nRecalling its resolution 75/1,\n\n\
                1. *Decides*:\n\n(a) To convene a meeting;\n\n(b) To request a report;\n\n\
                2. *Requests* the Secretary-General to report.\n";
    let resolution = import_text(text).unwrap().resolution;
    let shape: Vec<(ParagraphKind, u8, &str)> = resolution
        .paragraphs
        .iter()
        .map(|p| (p.kind, p.level, p.number.as_str()))
        .collect();
    assert_eq!(
        shape,
        [
            (ParagraphKind::Preambular, 0, ""),
            (ParagraphKind::Operative, 0, "1"),
            (ParagraphKind::Operative, 1, "(a)"),
            (ParagraphKind::Operative, 1, "(b)"),
            (ParagraphKind::Operative, 0, "2"),
        ]
    );
    assert_eq!(
        plain(&resolution.paragraphs[2].text),
        "To convene a meeting;"
    );
}

#[test]
fn stray_footnote_text_is_a_warning_with_its_line() {
    let text = "The General Assembly,\n\nRecalling its resolution 75/1,¹\n\n\
                1. *Decides* to remain seized of the matter.\n\n¹ Resolution 75/1.\n\n² A note nobody refers to.\n";
    let imported = import_text(text).unwrap();
    assert_eq!(imported.resolution.footnotes.len(), 1);
    assert_eq!(imported.warnings.len(), 1, "{:?}", imported.warnings);
    let warning = &imported.warnings[0];
    assert_eq!(warning.line, 9);
    assert!(
        warning.message.contains("no reference"),
        "{}",
        warning.message
    );
    assert_eq!(warning.text, "A note nobody refers to.");
}

#[test]
fn unnumbered_operative_line_is_kept_and_warned_about() {
    let text = "The General Assembly,\n\nRecalling its resolution 75/1,\n\n\
                1. *Decides* to convene a meeting;\n\nRequests the Secretary-General to report;\n\n\
                2. *Decides* to remain seized of the matter.\n";
    let imported = import_text(text).unwrap();
    let warning = imported
        .warnings
        .iter()
        .find(|w| w.message.contains("unnumbered"))
        .expect("a warning about the unnumbered line");
    assert_eq!(warning.line, 7);
    assert_eq!(warning.text, "Requests the Secretary-General to report;");
    let operative = of_kind(&imported.resolution, ParagraphKind::Operative);
    assert_eq!(operative.len(), 3, "the line is not dropped");
}

#[test]
fn missing_footnote_text_and_misnumbered_paragraph_are_warned() {
    let text = "The General Assembly,\n\nRecalling its resolution 75/1,¹\n\n\
                1. *Decides* to convene a meeting;\n\n3. *Requests* a report.\n";
    let imported = import_text(text).unwrap();
    let lines: Vec<(usize, bool)> = imported
        .warnings
        .iter()
        .map(|w| {
            (
                w.line,
                w.message.contains("not found") || w.message.contains("where 2"),
            )
        })
        .collect();
    assert_eq!(lines, [(3, true), (7, true)], "{:?}", imported.warnings);
    // The footnote exists, empty, so the reference is not lost either.
    assert_eq!(imported.resolution.footnotes.len(), 1);
    assert!(imported.resolution.footnotes[0].text.is_empty());
}

#[test]
fn unclosed_italics_and_unknown_header_lines_are_warned() {
    let text = "General Assembly\n\nDistr.: General\n1 June 2021\n\nOriginal: English\n\n\
                Seventy-fifth session\n\nThird Committee\n\nSomething else entirely\n\n\
                A stray line\n\nThe title\n\nThe General Assembly,\n\n*Recalling its resolution,\n";
    let imported = import_text(text).unwrap();
    let messages: Vec<(usize, &str)> = imported
        .warnings
        .iter()
        .map(|w| (w.line, w.message.as_str()))
        .collect();
    assert!(
        messages
            .iter()
            .any(|(l, m)| *l == 20 && m.contains("never closed")),
        "{messages:?}"
    );
    assert!(
        messages
            .iter()
            .any(|(l, m)| *l == 12 && m.contains("not recognised")),
        "{messages:?}"
    );
    assert_eq!(
        imported.resolution.meta.body.as_deref(),
        Some("Third Committee")
    );
    assert_eq!(imported.resolution.meta.title.as_deref(), Some("The title"));
}

#[test]
fn empty_and_paragraphless_inputs_are_errors() {
    assert_eq!(import_text(" \n\n\t\n"), Err(ImportError::Empty));
    assert!(matches!(
        import_text("General Assembly\n\nDistr.: General\n"),
        Err(ImportError::NoParagraphs { .. })
    ));
}

#[test]
fn page_furniture_and_form_feeds_do_not_split_paragraphs() {
    let text = "A/C.3/76/L.99\n\nGeneral Assembly\n\nThe General Assembly,\n\n\
                Recalling the declaration adopted by the\n\u{c}21-12345 (E)\n\nA/C.3/76/L.99\n\n\
                World Conference on Human Rights,\n\n1. *Decides* to remain seized of the matter.\n";
    let imported = import_text(text).unwrap();
    let resolution = &imported.resolution;
    assert_eq!(resolution.meta.symbol.as_deref(), Some("A/C.3/76/L.99"));
    assert_eq!(
        plain(&resolution.paragraphs[0].text),
        "Recalling the declaration adopted by the World Conference on Human Rights,"
    );
    assert_eq!(resolution.paragraphs.len(), 2);
    let skipped: Vec<usize> = imported.warnings.iter().map(|w| w.line).collect();
    assert_eq!(skipped, [8, 10], "{:?}", imported.warnings);
}

// ---- damaged and arbitrary inputs ----

mod arbitrary {
    use plenary_doc::{export_akn, export_html, export_markdown, export_text, import_text};
    use proptest::prelude::*;

    const FIXTURE_TEXT: &str = include_str!("fixtures/reducing-reoffending-2021-rev1.txt");
    const OWN_FIXTURE_TEXT: &str = include_str!("fixtures/rural-libraries-2024.txt");
    const ACTING_BODY: &str = "The General Assembly,";

    fn real_lines(header: bool) -> Vec<&'static str> {
        FIXTURE_TEXT
            .lines()
            .chain(OWN_FIXTURE_TEXT.lines())
            .filter(|l| {
                header
                    || !FIXTURE_TEXT
                        .split(ACTING_BODY)
                        .next()
                        .is_some_and(|h| h.contains(*l))
                    || l.is_empty()
            })
            .collect()
    }

    /// Lines of real drafts, shuffled with layout-like and arbitrary lines.
    fn line(header: bool) -> impl Strategy<Value = String> {
        prop_oneof![
            2 => Just(String::new()),
            4 => prop::sample::select(real_lines(header)).prop_map(str::to_owned),
            1 => "\\PC{0,40}",
            1 => "[0-9]{1,3}\\.( [*a-zA-Z ¹²³,;.]{0,20})?",
            1 => "\\([a-z]{1,3}\\)( [a-z*,;]{0,10})?",
            1 => "[¹²³⁴⁰]{1,3}( [a-zA-Z*\\[\\]()#.]{0,12})?",
            1 => "[*\\\\\\[\\]()¹ a-zA-Z\u{c}]{0,12}",
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// No input, however scrambled, makes the importer or an exporter
        /// panic, and the Akoma Ntoso export of whatever was read is
        /// well-formed XML.
        #[test]
        fn import_never_panics(lines in prop::collection::vec(line(true), 0..40)) {
            if let Ok(imported) = import_text(&lines.join("\n")) {
                let resolution = &imported.resolution;
                let _ = (export_text(resolution), export_markdown(resolution), export_html(resolution));
                let xml = export_akn(resolution);
                prop_assert!(roxmltree::Document::parse(&xml).is_ok(), "{}", xml);
            }
        }

        /// Under a real header, whatever body the importer reads it writes
        /// back in a form it reads the same way.
        #[test]
        fn imported_body_is_stable(lines in prop::collection::vec(line(false), 0..40)) {
            let header = FIXTURE_TEXT.split(ACTING_BODY).next().unwrap_or_default();
            let text = format!("{header}{ACTING_BODY}\n\n{}", lines.join("\n"));
            if let Ok(first) = import_text(&text) {
                let exported = export_text(&first.resolution);
                let second = import_text(&exported)
                    .map_err(|e| TestCaseError::fail(format!("{e}\n---\n{exported}")))?;
                prop_assert_eq!(&second.resolution, &first.resolution, "\n---\n{}\n---\n{}", text, exported);
            }
        }
    }
}
