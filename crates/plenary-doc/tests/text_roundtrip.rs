//! Import after export is the identity on the structure: for the real
//! fixture, for the project's own fixtures, and for generated resolutions
//! (italic openings, mid-paragraph italics, sub-paragraphs, footnotes
//! referenced once or twice, Unicode and markup-like characters).
#![allow(clippy::unwrap_used)] // tests may unwrap (helper-common rules)

use std::path::PathBuf;

use plenary_doc::{
    Footnote, Meta, Paragraph, ParagraphKind, Resolution, Run, Status, export_text, import_text,
};
use proptest::prelude::*;

fn fixture(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read_to_string(path).unwrap()
}

fn assert_round_trip(resolution: &Resolution) {
    let exported = export_text(resolution);
    let imported =
        import_text(&exported).unwrap_or_else(|e| panic!("re-import failed: {e}\n---\n{exported}"));
    assert_eq!(imported.warnings, vec![], "\n---\n{exported}");
    assert_eq!(&imported.resolution, resolution, "\n---\n{exported}");
}

#[test]
fn fixture_round_trips() {
    let first = import_text(&fixture("reducing-reoffending-2021-rev1.txt"))
        .unwrap()
        .resolution;
    assert_round_trip(&first);
}

#[test]
fn project_fixtures_round_trip() {
    for name in [
        "ocean-literacy-2025.txt",
        "ocean-literacy-2025-rev1.txt",
        "rural-libraries-2024.txt",
    ] {
        let imported = import_text(&fixture(name)).unwrap();
        assert_eq!(imported.warnings, vec![], "{name}");
        assert_round_trip(&imported.resolution);
    }
}

#[test]
fn exported_text_reads_like_the_draft() {
    let resolution = import_text(&fixture("reducing-reoffending-2021-rev1.txt"))
        .unwrap()
        .resolution;
    let text = export_text(&resolution);
    assert!(text.contains("\n\nDistr.: Limited\n18 May 2021\n\nOriginal: English\n\n"));
    assert!(text.contains("\n\nAgenda item 7\n\n"));
    assert!(text.contains("\n\nThe General Assembly,\n\n*Recalling* the outcome"));
    assert!(text.contains("\n\n2. *Also encourages* Member States"));
    assert!(text.contains("the support of the United Nations Office on Drugs and Crime, of model"));
    assert!(text.contains("the report of the Congress¹ and in the Kyoto Declaration"));
    assert!(text.contains("\n\n² *Ibid.*, chap. I.\n\n"));
    assert!(text.ends_with("⁶ General Assembly resolution 45/110, annex.\n"));
}

// ---- generated resolutions ----

const WORDS: &[&str] = &[
    "Member",
    "States",
    "the",
    "of",
    "résolution",
    "Ünïcödé",
    "中文文本",
    "العربية",
    "Ελληνικά",
    "naïve—dash",
    "“quoted”",
    "<b>bold</b>",
    "&amp;",
    "a*b",
    "back\\slash",
    "[link](target)",
    "x²",
    "(a)",
    "1.",
    "2021.",
    "Noting",
    "also",
    "session",
    "The",
    "x_y",
    "#hash",
    "Agenda",
    "item",
];

const OPENINGS: &[&str] = &[
    "Recalling",
    "Noting also",
    "Bearing in mind",
    "Deeply concerned",
    "Encourages",
    "Also requests",
    "Calls upon",
    "Décide",
    "يقرر",
];

#[derive(Debug, Clone)]
enum Segment {
    Plain(String),
    Italic(String),
    /// A footnote reference: a new footnote, or (when the selector says so
    /// and one exists) one already referenced.
    Note(u8),
}

#[derive(Debug, Clone)]
struct ParagraphSpec {
    /// Usually present; absent to check that a paragraph without italics
    /// does not gain a guessed opening on re-import.
    opening: Option<String>,
    segments: Vec<Segment>,
    subs: Vec<Vec<Segment>>,
}

fn words() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(WORDS), 1..6).prop_map(|w| w.join(" "))
}

fn segment() -> impl Strategy<Value = Segment> {
    prop_oneof![
        4 => words().prop_map(|w| Segment::Plain(format!(" {w}"))),
        1 => words().prop_map(|w| Segment::Italic(format!(" {w}"))),
        1 => any::<u8>().prop_map(Segment::Note),
    ]
}

fn paragraph(max_subs: usize) -> impl Strategy<Value = ParagraphSpec> {
    (
        prop::option::weighted(0.85, prop::sample::select(OPENINGS)),
        prop::collection::vec(segment(), 0..6),
        prop::collection::vec(prop::collection::vec(segment(), 1..4), 0..=max_subs),
    )
        .prop_map(|(opening, segments, subs)| ParagraphSpec {
            opening: opening.map(str::to_owned),
            segments,
            subs,
        })
}

fn choice(options: &'static [&'static str]) -> impl Strategy<Value = Option<String>> {
    prop::option::of(prop::sample::select(options).prop_map(str::to_owned))
}

fn meta() -> impl Strategy<Value = Meta> {
    (
        (
            choice(&["E/CN.15/2021/L.4/Rev.1", "A/C.3/76/L.12", "A/HRC/48/L.1"]),
            prop::sample::select(&[
                "Economic and Social Council",
                "General Assembly",
                "United Nations Environment Assembly of the United Nations Environment Programme",
            ][..]),
            choice(&["Limited", "General"]),
            choice(&["18 May 2021", "1 October 2025"]),
            choice(&["English", "French"]),
            choice(&["Commission on Crime Prevention and Criminal Justice", "Third Committee"]),
            choice(&["Thirtieth session", "Seventy-sixth session"]),
        ),
        (
            choice(&["Vienna, 17\u{2013}21 May 2021", "Nairobi, 1\u{2013}5 March 2026"]),
            prop::option::of((
                prop::sample::select(&["7", "70 (b)", "3 and 4"][..]),
                prop::sample::select(&["Crime prevention", "Promotion et protection des droits"][..]),
            )),
            choice(&["Japan: revised draft resolution", "Chile, Ghana and Norway: draft resolution"]),
            choice(&["The Commission recommends the following draft resolution for adoption:"]),
            prop::sample::select(&[
                "Reducing reoffending through rehabilitation and reintegration",
                "Le rôle des bibliothèques rurales",
                "International cooperation: <the> \u{201c}way\u{201d} & forward",
            ][..]),
            prop::sample::select(&["The General Assembly,", "The Economic and Social Council,"][..]),
        ),
    )
        .prop_map(
            |(
                (symbol, organ, distribution, date, original, body, session),
                (venue, agenda, submitted_by, introduction, title, acting_body),
            )| Meta {
                symbol,
                distribution,
                date,
                original,
                organ: Some(organ.to_owned()),
                body,
                session,
                venue,
                agenda_item: agenda.map(|a| a.0.to_owned()),
                agenda_title: agenda.map(|a| a.1.to_owned()),
                submitted_by,
                introduction,
                title: Some(title.to_owned()),
                acting_body: Some(acting_body.to_owned()),
                ..Meta::default()
            },
        )
}

/// Builds the resolution the importer would produce for these choices:
/// runs merged, ids in order, numbers and markers as printed.
fn build(
    meta: Meta,
    preambular: Vec<ParagraphSpec>,
    operative: Vec<ParagraphSpec>,
    notes: Vec<(String, String)>,
) -> Resolution {
    let mut paragraphs = Vec::new();
    let mut footnotes: Vec<Footnote> = Vec::new();
    let mut add = |kind: ParagraphKind, level: u8, number: String, runs: Vec<Run>| {
        let id = format!("p{}", paragraphs.len() + 1);
        paragraphs.push(Paragraph {
            id,
            kind,
            level,
            status: Status::Open,
            text: runs,
            number,
            label: String::new(),
        });
    };
    let mut runs_of = |opening: Option<&str>, segments: &[Segment]| {
        let mut runs: Vec<Run> = Vec::new();
        let mut push = |text: &str, italic: bool, footnote: Option<String>| match runs.last_mut() {
            Some(last)
                if footnote.is_none() && last.footnote.is_none() && last.italic == italic =>
            {
                last.text.push_str(text)
            }
            _ => runs.push(Run {
                text: text.to_owned(),
                italic,
                footnote,
            }),
        };
        if let Some(opening) = opening {
            push(opening, true, None);
        }
        for (i, segment) in segments.iter().enumerate() {
            // A sub-paragraph's text starts without the leading space.
            let strip = |s: &str| {
                if opening.is_none() && i == 0 {
                    s.trim_start().to_owned()
                } else {
                    s.to_owned()
                }
            };
            match segment {
                Segment::Plain(text) => push(&strip(text), false, None),
                Segment::Italic(text) => push(&strip(text), true, None),
                Segment::Note(selector) => {
                    let index = if *selector % 3 == 0 && !footnotes.is_empty() {
                        usize::from(*selector) % footnotes.len()
                    } else {
                        let (plain, italic) = notes
                            .get(footnotes.len() % notes.len().max(1))
                            .cloned()
                            .unwrap_or_else(|| ("Note.".to_owned(), String::new()));
                        let mut text = vec![Run {
                            text: plain,
                            ..Run::default()
                        }];
                        if !italic.is_empty() {
                            text.push(Run {
                                text: format!(" {italic}"),
                                italic: true,
                                footnote: None,
                            });
                        }
                        footnotes.push(Footnote {
                            id: format!("fn{}", footnotes.len() + 1),
                            marker: u32::try_from(footnotes.len() + 1).unwrap(),
                            text,
                        });
                        footnotes.len() - 1
                    };
                    let number = u32::try_from(index + 1).unwrap();
                    push(
                        &plenary_doc::superscript(number),
                        false,
                        Some(format!("fn{number}")),
                    );
                }
            }
        }
        runs
    };
    let letters = |i: usize| format!("({})", char::from(b'a' + u8::try_from(i).unwrap()));
    for spec in &preambular {
        add(
            ParagraphKind::Preambular,
            0,
            String::new(),
            runs_of(spec.opening.as_deref(), &spec.segments),
        );
        for (i, sub) in spec.subs.iter().enumerate() {
            add(ParagraphKind::Preambular, 1, letters(i), runs_of(None, sub));
        }
    }
    for (n, spec) in operative.iter().enumerate() {
        add(
            ParagraphKind::Operative,
            0,
            (n + 1).to_string(),
            runs_of(spec.opening.as_deref(), &spec.segments),
        );
        for (i, sub) in spec.subs.iter().enumerate() {
            add(ParagraphKind::Operative, 1, letters(i), runs_of(None, sub));
        }
    }
    Resolution {
        meta,
        paragraphs,
        footnotes,
        proposals: Vec::new(),
        sponsors: Vec::new(),
    }
}

fn resolution() -> impl Strategy<Value = Resolution> {
    (
        meta(),
        prop::collection::vec(paragraph(1), 0..5),
        prop::collection::vec(paragraph(3), 1..8),
        prop::collection::vec((words(), prop::option::of(words())), 1..4),
    )
        .prop_map(|(meta, preambular, operative, notes)| {
            let notes = notes
                .into_iter()
                .map(|(plain, italic)| (plain, italic.unwrap_or_default()))
                .collect();
            build(meta, preambular, operative, notes)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn generated_resolutions_round_trip(resolution in resolution()) {
        let exported = export_text(&resolution);
        let imported = import_text(&exported).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(&imported.warnings, &vec![], "\n---\n{}", exported);
        prop_assert_eq!(&imported.resolution, &resolution, "\n---\n{}", exported);
    }
}
