//! `plenary diff a.txt b.txt`: two separately circulated revisions of a draft, each imported on
//! its own, compared paragraph by paragraph with paragraphs matched by similarity of content
//! words (the pairing the history's compare and the tracked-changes export share): a redline of
//! each changed paragraph (`[-deleted-]{+inserted+}`), moves ("moved from OP3 to PP5", across
//! kinds too), additions, deletions, footnotes (added, deleted, reworded, marker moved) and
//! header fields, as text, JSON or a standalone HTML page (`--html`, `<del>`/`<ins>`), and with
//! `--docx FILE` the later text as Word with tracked changes against the earlier one.

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use plenary_history::{
    FootnoteChange, FootnoteChangeKind, MatchedParagraph, TextDiff, WordOp, WordOpKind, diff_texts,
};

#[derive(Debug, Args)]
pub(crate) struct DiffArgs {
    /// The earlier text (plain text of a UN draft).
    old: PathBuf,
    /// The later text.
    new: PathBuf,
    /// Print the comparison as JSON.
    #[arg(long, conflicts_with = "html")]
    json: bool,
    /// Print the redline as a standalone HTML page.
    #[arg(long)]
    html: bool,
    /// Also write the later text as Word with tracked changes against the earlier one
    /// (paragraphs paired as for the redline).
    #[arg(long, value_name = "FILE")]
    docx: Option<PathBuf>,
    /// The author of the tracked changes in `--docx`.
    #[arg(long, default_value = "Secretariat")]
    author: String,
}

fn import(path: &PathBuf) -> anyhow::Result<plenary_doc::Resolution> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(plenary_doc::import_text(&text)
        .with_context(|| format!("importing {}", path.display()))?
        .resolution)
}

pub(crate) fn diff(args: DiffArgs) -> anyhow::Result<()> {
    let (old, new) = (import(&args.old)?, import(&args.new)?);
    if let Some(out) = &args.docx {
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        let bytes = plenary_doc::export_docx_tracked_with(
            &old,
            &new,
            &plenary_doc::TrackedOptions {
                author: &args.author,
                date: &plenary_history::iso8601(now_ms),
                pair_by: plenary_doc::pairing::PairBy::Similarity,
                authors: None,
            },
        )?;
        std::fs::write(out, bytes).with_context(|| format!("writing {}", out.display()))?;
    }
    let d = diff_texts(&old, &new);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&d)?);
    } else if args.html {
        print!("{}", render_html(&d));
    } else {
        print!("{}", render(&d));
    }
    Ok(())
}

/// Inline word diff: `[-deleted-]{+inserted+}`, as `git diff --word-diff` prints it.
fn inline(ops: &[WordOp]) -> String {
    ops.iter()
        .map(|o| match o.op {
            WordOpKind::Equal => o.text.clone(),
            WordOpKind::Insert => format!("{{+{}+}}", o.text),
            WordOpKind::Delete => format!("[-{}-]", o.text),
        })
        .collect()
}

/// The text of one side of a word diff.
fn side(ops: &[WordOp], keep: WordOpKind) -> String {
    ops.iter()
        .filter(|o| o.op == WordOpKind::Equal || o.op == keep)
        .map(|o| o.text.as_str())
        .collect()
}

fn marker(n: u32) -> String {
    if n == 0 {
        "-".to_owned()
    } else {
        n.to_string()
    }
}

/// One line describing a footnote change, and its redline.
fn footnote_line(f: &FootnoteChange) -> (String, String) {
    let head = match f.change {
        FootnoteChangeKind::Added => format!("footnote {} added", f.new_marker),
        FootnoteChangeKind::Deleted => format!("footnote {} deleted", f.old_marker),
        FootnoteChangeKind::Changed => format!(
            "footnote {} -> {} changed{}",
            marker(f.old_marker),
            marker(f.new_marker),
            if f.marker_moved {
                ", its marker moved"
            } else {
                ""
            }
        ),
        FootnoteChangeKind::MarkerMoved => format!(
            "footnote {} -> {}: marker moved",
            marker(f.old_marker),
            marker(f.new_marker)
        ),
    };
    let body = match f.change {
        FootnoteChangeKind::Added => side(&f.ops, WordOpKind::Insert),
        FootnoteChangeKind::Deleted => side(&f.ops, WordOpKind::Delete),
        FootnoteChangeKind::Changed => inline(&f.ops),
        FootnoteChangeKind::MarkerMoved => side(&f.ops, WordOpKind::Insert),
    };
    (head, body)
}

fn moved_line(m: &MatchedParagraph) -> String {
    format!(
        "moved from {} to {}{}",
        m.old_label,
        m.new_label,
        if m.kind_changed {
            " (preambular/operative)"
        } else {
            ""
        }
    )
}

/// One line counting each kind of change (text and HTML output alike).
fn summary(d: &TextDiff) -> String {
    format!(
        "{} unchanged, {} changed, {} moved, {} added, {} deleted, {} footnote changes",
        d.unchanged.len(),
        d.changed.len(),
        d.moved.len(),
        d.added.len(),
        d.deleted.len(),
        d.footnotes.len()
    )
}

fn render(d: &TextDiff) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}", summary(d));
    for m in &d.meta {
        let _ = writeln!(
            out,
            "\nheader {}: [-{}-]{{+{}+}}",
            m.key,
            m.from.as_deref().unwrap_or_default(),
            m.to.as_deref().unwrap_or_default()
        );
    }
    for m in &d.changed {
        let _ = writeln!(
            out,
            "\nchanged {} -> {}:\n  {}",
            m.old_label,
            m.new_label,
            inline(&m.ops)
        );
    }
    for m in &d.moved {
        let _ = writeln!(out, "\n{}", moved_line(m));
        if !m.ops.is_empty() {
            let _ = writeln!(out, "  {}", inline(&m.ops));
        }
    }
    for p in &d.added {
        let _ = writeln!(out, "\nadded {}:\n  {}", p.label, p.text);
    }
    for p in &d.deleted {
        let _ = writeln!(out, "\ndeleted {}:\n  {}", p.label, p.text);
    }
    for f in &d.footnotes {
        let (head, body) = footnote_line(f);
        let _ = writeln!(out, "\n{head}:\n  {body}");
    }
    out
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn html_ops(ops: &[WordOp]) -> String {
    ops.iter()
        .map(|o| match o.op {
            WordOpKind::Equal => escape(&o.text),
            WordOpKind::Insert => format!("<ins>{}</ins>", escape(&o.text)),
            WordOpKind::Delete => format!("<del>{}</del>", escape(&o.text)),
        })
        .collect()
}

/// A standalone HTML page: each change a section with its redline.
fn render_html(d: &TextDiff) -> String {
    let mut out = String::from(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>Comparison</title>\n<style>\nbody{font-family:\"Times New Roman\",serif;max-width:48em;margin:2em auto}\nins{color:#1a4d8f;text-decoration:underline}\ndel{color:#a31515;text-decoration:line-through}\n.label{font-weight:bold}\n</style>\n</head>\n<body>\n",
    );
    let _ = writeln!(out, "<p class=\"summary\">{}</p>", summary(d));
    for m in &d.meta {
        let _ = writeln!(
            out,
            "<p class=\"meta\"><span class=\"label\">{}:</span> <del>{}</del><ins>{}</ins></p>",
            escape(&m.key),
            escape(m.from.as_deref().unwrap_or_default()),
            escape(m.to.as_deref().unwrap_or_default())
        );
    }
    for m in &d.changed {
        let _ = writeln!(
            out,
            "<p class=\"changed\"><span class=\"label\">{} → {}</span> {}</p>",
            escape(&m.old_label),
            escape(&m.new_label),
            html_ops(&m.ops)
        );
    }
    for m in &d.moved {
        let _ = writeln!(
            out,
            "<p class=\"moved\"><span class=\"label\">{}</span> {}</p>",
            escape(&moved_line(m)),
            if m.ops.is_empty() {
                String::new()
            } else {
                html_ops(&m.ops)
            }
        );
    }
    for p in &d.added {
        let _ = writeln!(
            out,
            "<p class=\"added\"><span class=\"label\">added {}</span> <ins>{}</ins></p>",
            escape(&p.label),
            escape(&p.text)
        );
    }
    for p in &d.deleted {
        let _ = writeln!(
            out,
            "<p class=\"deleted\"><span class=\"label\">deleted {}</span> <del>{}</del></p>",
            escape(&p.label),
            escape(&p.text)
        );
    }
    for f in &d.footnotes {
        let (head, _) = footnote_line(f);
        let _ = writeln!(
            out,
            "<p class=\"footnote\"><span class=\"label\">{}</span> {}</p>",
            escape(&head),
            html_ops(&f.ops)
        );
    }
    out.push_str("</body>\n</html>\n");
    out
}
