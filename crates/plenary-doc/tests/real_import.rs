//! Import of real UN texts, each checked against counts made by hand.
//!
//! The shared corpus (`../shared/fixtures/real/*.txt`, each with an `.expect.json` sidecar) is
//! read when present (a message says so when it is absent); the project's own corpus in
//! `tests/fixtures/corpus/` (texts in the layouts of other organs and kinds, sidecars written
//! by hand the same way) always is. One table-driven test runs over both.
#![allow(clippy::unwrap_used)] // tests may unwrap

use std::path::{Path, PathBuf};

use plenary_doc::{Paragraph, ParagraphKind, Resolution, import_text};
use serde_json::Value;

/// The words of a paragraph, footnote markers left out.
fn plain(p: &Paragraph) -> String {
    p.text
        .iter()
        .filter(|r| r.footnote.is_none())
        .map(|r| r.text.as_str())
        .collect()
}

fn italic_opening(p: &Paragraph) -> String {
    p.text
        .iter()
        .take_while(|r| r.italic)
        .map(|r| r.text.as_str())
        .collect::<String>()
        .trim()
        .to_owned()
}

fn group<'a>(r: &'a Resolution, key: &str) -> Vec<&'a Paragraph> {
    r.paragraphs
        .iter()
        .filter(|p| match key {
            "pp" => p.kind == ParagraphKind::Preambular && p.level == 0,
            "op" => p.kind == ParagraphKind::Operative && p.level == 0,
            "subsub" => p.level >= 2,
            _ => p.level >= 1,
        })
        .collect()
}

fn meta_values(r: &Resolution) -> String {
    serde_json::to_value(&r.meta).unwrap().to_string()
}

/// What is wrong with the import of `text` against `expect`, one line per finding.
fn check(text: &str, expect: &Value) -> Vec<String> {
    let mut wrong = Vec::new();
    let imported = match import_text(text) {
        Ok(i) => i,
        Err(e) => return vec![format!("import failed: {e}")],
    };
    let r = &imported.resolution;
    for key in ["pp", "op", "sub"] {
        let want = expect[key].as_u64().unwrap_or(0) as usize;
        let got = group(r, key).len();
        if got != want {
            wrong.push(format!("{key}: {got} paragraphs, expected {want}"));
        }
    }
    // Sub-sub-paragraphs (i), (ii) … are counted apart where a sidecar says how many.
    if let Some(want) = expect["subsub"].as_u64() {
        let got = group(r, "subsub").len();
        if got as u64 != want {
            wrong.push(format!("subsub: {got} paragraphs, expected {want}"));
        }
    }
    // Labels as delegates cite them (OP2(b)(ii)), each with the words its paragraph opens with.
    if let Some(labels) = expect["labels"].as_object() {
        let derived = plenary_doc::labels(&r.paragraphs, None);
        for (label, want) in labels {
            let want = want.as_str().unwrap_or_default();
            match derived.iter().position(|l| &l.label == label) {
                None => wrong.push(format!("no paragraph is labelled {label}")),
                Some(i) if !plain(&r.paragraphs[i]).starts_with(want) => wrong.push(format!(
                    "{label} opens with {:?}, expected {want:?}",
                    plain(&r.paragraphs[i]).chars().take(60).collect::<String>()
                )),
                Some(_) => {}
            }
        }
    }
    let fns = r.footnotes.len();
    if Some(fns as u64) != expect["fn"].as_u64() {
        wrong.push(format!("footnotes: {fns}, expected {}", expect["fn"]));
    }
    if let Some(title) = expect["title"].as_str()
        && r.meta.title.as_deref() != Some(title)
    {
        wrong.push(format!("title: {:?}, expected {title:?}", r.meta.title));
    }
    if let Some(symbol) = expect["symbol"].as_str()
        && r.meta.symbol.as_deref() != Some(symbol)
    {
        wrong.push(format!("symbol: {:?}, expected {symbol:?}", r.meta.symbol));
    }
    if let Some(body) = expect["actingBody"].as_str()
        && r.meta.acting_body.as_deref() != Some(body)
    {
        wrong.push(format!(
            "acting body: {:?}, expected {body:?}",
            r.meta.acting_body
        ));
    }
    if let Some(openings) = expect["openings"].as_object() {
        for (label, want) in openings {
            let (key, n) = label.split_at(label.find(|c: char| c.is_ascii_digit()).unwrap());
            let n: usize = n.parse().unwrap();
            // The opening words; in preambular and operative paragraphs they are italic.
            let Some(p) = group(r, key).get(n - 1).copied() else {
                wrong.push(format!("{label}: no such paragraph"));
                continue;
            };
            let want = want.as_str().unwrap_or_default();
            let got = if key == "sub" {
                plain(p).chars().take(want.chars().count()).collect()
            } else {
                italic_opening(p)
            };
            if got != want {
                wrong.push(format!("{label} opening: {got:?}, expected {want:?}"));
            }
        }
    }
    if let Some(whole) = expect["whole"].as_array() {
        for item in whole {
            let (key, n, words) = (
                item[0].as_str().unwrap(),
                item[1].as_u64().unwrap() as usize,
                item[2].as_str().unwrap(),
            );
            let got = group(r, key).get(n).map(|p| plain(p)).unwrap_or_default();
            if !got.contains(words) {
                wrong.push(format!("{key}[{n}] does not hold {words:?} whole: {got:?}"));
            }
        }
    }
    let meta = meta_values(r);
    if let Some(facts) = expect["facts"].as_array() {
        for fact in facts {
            let fact = fact.as_str().unwrap();
            // The agenda item is kept as its number ("Agenda item 13" → "13").
            let bare = fact
                .strip_prefix("Agenda items ")
                .or_else(|| fact.strip_prefix("Agenda item "));
            let item = bare.is_some_and(|b| r.meta.agenda_item.as_deref() == Some(b));
            if !meta.contains(fact) && !item {
                wrong.push(format!("header fact {fact:?} not in the metadata: {meta}"));
            }
        }
    }
    // No header or closing line may end up in a paragraph.
    if let Some(never) = expect["notInParagraphs"].as_array() {
        for line in never {
            let line = line.as_str().unwrap();
            if let Some(p) = r.paragraphs.iter().find(|p| plain(p).contains(line)) {
                wrong.push(format!("{line:?} ended up in paragraph {}", p.id));
            }
        }
    }
    wrong
}

fn corpus(dir: &Path) -> Vec<(PathBuf, Value)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<(PathBuf, Value)> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .filter_map(|p| {
            let sidecar = p.with_extension("expect.json");
            let expect = serde_json::from_str(&std::fs::read_to_string(sidecar).ok()?).ok()?;
            Some((p, expect))
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

#[test]
fn real_texts_import_as_counted_by_hand() {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let shared = manifest.join("../../../shared/fixtures/real");
    let own = manifest.join("../../tests/fixtures/corpus");
    let mut texts = corpus(&shared);
    if texts.is_empty() {
        println!(
            "note: {} is absent; the shared real texts are skipped",
            shared.display()
        );
    }
    let own_texts = corpus(&own);
    let own_count = own_texts.len();
    texts.extend(own_texts);
    let mut report = Vec::new();
    for (path, expect) in &texts {
        let text = std::fs::read_to_string(path).unwrap();
        for finding in check(&text, expect) {
            report.push(format!(
                "{}: {finding}",
                path.file_name().unwrap().to_string_lossy()
            ));
        }
    }
    assert!(
        report.is_empty(),
        "{} findings:\n{}",
        report.len(),
        report.join("\n")
    );
    assert!(
        own_count >= 6,
        "the project's corpus is missing: {}",
        own.display()
    );
}
