//! `plenary diff a.txt b.txt`: two separately circulated revisions of a draft, each imported on
//! its own, compared paragraph by paragraph with paragraphs matched by similarity.

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use plenary_history::{MatchedParagraph, TextDiff, WordOpKind, diff_texts};

#[derive(Debug, Args)]
pub(crate) struct DiffArgs {
    /// The earlier text (plain text of a UN draft).
    old: PathBuf,
    /// The later text.
    new: PathBuf,
    /// Print the comparison as JSON.
    #[arg(long)]
    json: bool,
}

fn import(path: &PathBuf) -> anyhow::Result<plenary_doc::Resolution> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(plenary_doc::import_text(&text)
        .with_context(|| format!("importing {}", path.display()))?
        .resolution)
}

pub(crate) fn diff(args: DiffArgs) -> anyhow::Result<()> {
    let d = diff_texts(&import(&args.old)?, &import(&args.new)?);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&d)?);
    } else {
        print!("{}", render(&d));
    }
    Ok(())
}

/// Inline word diff: `[-deleted-]{+inserted+}`, as `git diff --word-diff` prints it.
fn inline(m: &MatchedParagraph) -> String {
    m.ops
        .iter()
        .map(|o| match o.op {
            WordOpKind::Equal => o.text.clone(),
            WordOpKind::Insert => format!("{{+{}+}}", o.text),
            WordOpKind::Delete => format!("[-{}-]", o.text),
        })
        .collect()
}

fn render(d: &TextDiff) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} unchanged, {} changed, {} moved, {} added, {} deleted",
        d.unchanged.len(),
        d.changed.len(),
        d.moved.len(),
        d.added.len(),
        d.deleted.len()
    );
    for m in &d.changed {
        let _ = writeln!(
            out,
            "\nchanged {} -> {}:\n  {}",
            m.old_label,
            m.new_label,
            inline(m)
        );
    }
    for m in &d.moved {
        let _ = writeln!(out, "\nmoved {} -> {}", m.old_label, m.new_label);
        if !m.ops.is_empty() {
            let _ = writeln!(out, "  {}", inline(m));
        }
    }
    for p in &d.added {
        let _ = writeln!(out, "\nadded {}:\n  {}", p.label, p.text);
    }
    for p in &d.deleted {
        let _ = writeln!(out, "\ndeleted {}:\n  {}", p.label, p.text);
    }
    out
}
