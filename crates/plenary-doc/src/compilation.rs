//! The compilation text (SPEC §2): each paragraph with its pending proposals
//! shown as bracketed alternatives attributed to their delegations, e.g.
//! `OP3 … [JPN: alternative text] [FRA on behalf of EU, supported by CAN: …]`,
//! and proposed new paragraphs placed right after their anchor; after the
//! paragraphs, each footnote with pending amendments (`Footnote 2 … [JPN:
//! …]`). A pure view over [`Resolution`]; only `pending` proposals appear.

use serde::Serialize;

use crate::model::{Paragraph, Proposal, ProposalAction, ProposalStatus, Resolution, Run};
use crate::numbering::labels;

/// One proposal shown as an alternative.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Alternative {
    pub proposal_id: String,
    pub action: ProposalAction,
    /// "JPN", "FRA on behalf of EU, supported by CAN, NOR".
    pub attribution: String,
    pub delegation: String,
    pub on_behalf_of: Option<String>,
    pub supporters: Vec<String>,
    /// The proposed text; for `delete` empty; for `move`, "move after OP3".
    pub text: String,
}

/// A paragraph of the compilation text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CompiledParagraph {
    /// `None` for a paragraph only proposed (an `insert` proposal).
    pub paragraph_id: Option<String>,
    /// "OP3"; for a proposed paragraph "new after OP3" (or "new, first").
    pub label: String,
    /// The agreed-so-far text (empty for a proposed paragraph).
    pub text: String,
    pub alternatives: Vec<Alternative>,
}

/// A footnote with pending amendments (`replace` proposals naming it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CompiledFootnote {
    pub footnote_id: String,
    /// "Footnote 2"; "footnote f7 (deleted)" for one no longer in the document.
    pub label: String,
    /// The footnote's text now (empty when deleted).
    pub text: String,
    pub alternatives: Vec<Alternative>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Compilation {
    pub paragraphs: Vec<CompiledParagraph>,
    /// Only footnotes with pending amendments, by marker.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub footnotes: Vec<CompiledFootnote>,
}

fn plain(runs: &[Run]) -> String {
    runs.iter().map(|r| r.text.as_str()).collect()
}

fn attribution(p: &Proposal) -> String {
    let mut s = p.delegation.clone();
    if let Some(g) = &p.on_behalf_of {
        s.push_str(" on behalf of ");
        s.push_str(g);
    }
    if !p.supporters.is_empty() {
        s.push_str(", supported by ");
        s.push_str(&p.supporters.join(", "));
    }
    s
}

/// Builds the compilation text of `r`.
pub fn compile(r: &Resolution) -> Compilation {
    let derived = labels(&r.paragraphs, None);
    let label_of = |p: &Paragraph, i: usize| {
        if p.label.is_empty() {
            derived.get(i).map(|l| l.label.clone()).unwrap_or_default()
        } else {
            p.label.clone()
        }
    };
    let label_by_id = |id: &str| {
        r.paragraphs
            .iter()
            .enumerate()
            .find(|(_, p)| p.id == id)
            .map(|(i, p)| label_of(p, i))
    };
    let pending: Vec<&Proposal> = r
        .proposals
        .iter()
        .filter(|p| p.status == ProposalStatus::Pending)
        .collect();
    let alt = |p: &Proposal| Alternative {
        proposal_id: p.id.clone(),
        action: p.action,
        attribution: attribution(p),
        delegation: p.delegation.clone(),
        on_behalf_of: p.on_behalf_of.clone(),
        supporters: p.supporters.clone(),
        text: match p.action {
            ProposalAction::Replace | ProposalAction::Insert => p.text.clone(),
            ProposalAction::Delete => String::new(),
            ProposalAction::Move => match p.after.as_deref() {
                Some(a) => format!(
                    "move after {}",
                    label_by_id(a).unwrap_or_else(|| a.to_owned())
                ),
                None => "move to the beginning".to_owned(),
            },
        },
    };
    let inserts_after = |anchor: Option<&str>| -> Vec<CompiledParagraph> {
        pending
            .iter()
            .filter(|p| p.action == ProposalAction::Insert && p.after.as_deref() == anchor)
            .map(|p| CompiledParagraph {
                paragraph_id: None,
                label: match anchor {
                    Some(a) => format!(
                        "new after {}",
                        label_by_id(a).unwrap_or_else(|| a.to_owned())
                    ),
                    None => "new, first".to_owned(),
                },
                text: String::new(),
                alternatives: vec![alt(p)],
            })
            .collect()
    };
    let mut out = inserts_after(None);
    for (i, para) in r.paragraphs.iter().enumerate() {
        out.push(CompiledParagraph {
            paragraph_id: Some(para.id.clone()),
            label: label_of(para, i),
            text: plain(&para.text),
            alternatives: pending
                .iter()
                .filter(|p| {
                    p.action != ProposalAction::Insert
                        && p.footnote_id.is_none()
                        && p.paragraph_id.as_deref() == Some(para.id.as_str())
                })
                .map(|p| alt(p))
                .collect(),
        });
        out.extend(inserts_after(Some(&para.id)));
    }
    // insert proposals anchored on a paragraph that no longer exists: last
    for p in &pending {
        if p.action == ProposalAction::Insert
            && let Some(a) = &p.after
            && label_by_id(a).is_none()
        {
            out.push(CompiledParagraph {
                paragraph_id: None,
                label: format!("new after {a} (deleted)"),
                text: String::new(),
                alternatives: vec![alt(p)],
            });
        }
    }
    let amends = |fid: &str| -> Vec<Alternative> {
        pending
            .iter()
            .filter(|p| p.footnote_id.as_deref() == Some(fid))
            .map(|p| alt(p))
            .collect()
    };
    let mut footnotes: Vec<CompiledFootnote> = r
        .footnotes
        .iter()
        .map(|f| CompiledFootnote {
            footnote_id: f.id.clone(),
            label: format!("Footnote {}", f.marker),
            text: plain(&f.text),
            alternatives: amends(&f.id),
        })
        .filter(|f| !f.alternatives.is_empty())
        .collect();
    // amendments of a footnote that no longer exists: last
    let mut gone: Vec<&str> = Vec::new();
    for p in &pending {
        if let Some(fid) = p.footnote_id.as_deref()
            && !r.footnotes.iter().any(|f| f.id == fid)
            && !gone.contains(&fid)
        {
            gone.push(fid);
            footnotes.push(CompiledFootnote {
                footnote_id: fid.to_owned(),
                label: format!("footnote {fid} (deleted)"),
                text: String::new(),
                alternatives: amends(fid),
            });
        }
    }
    Compilation {
        paragraphs: out,
        footnotes,
    }
}

/// One alternative as printed: `[JPN: text]`, `[JPN: delete]`.
fn bracket(a: &Alternative) -> String {
    match a.action {
        ProposalAction::Delete => format!("[{}: delete]", a.attribution),
        _ => format!("[{}: {}]", a.attribution, a.text),
    }
}

/// The plain-text rendering: one block per paragraph, `LABEL text [alt] …`.
pub fn render_plain(c: &Compilation) -> String {
    let mut s = String::new();
    for p in &c.paragraphs {
        s.push_str(&p.label);
        if !p.text.is_empty() {
            s.push(' ');
            s.push_str(&p.text);
        }
        for a in &p.alternatives {
            s.push(' ');
            s.push_str(&bracket(a));
        }
        s.push_str("\n\n");
    }
    for f in &c.footnotes {
        s.push_str(&f.label);
        if !f.text.is_empty() {
            s.push(' ');
            s.push_str(&f.text);
        }
        for a in &f.alternatives {
            s.push(' ');
            s.push_str(&bracket(a));
        }
        s.push_str("\n\n");
    }
    s
}

const STYLE: &str = "\
body{font-family:\"Times New Roman\",Times,serif;font-size:12pt;line-height:1.35;max-width:46em;margin:2em auto;padding:0 1em;color:#000}
h1{font-size:1.1em;font-weight:bold;margin:0 0 1.5em}
section.paragraph{margin:0 0 1em}
p.text{margin:0;text-align:justify}
span.label{font-weight:bold;margin-right:.5em}
p.alternative{margin:.25em 0 0 2.5em;text-align:justify}
span.by{font-weight:bold}
section.proposed p.text{font-style:italic}
section.footnote{font-size:.9em}
";

/// A standalone HTML page of the compilation text (UTF-8, inline style),
/// headed `Compilation text: <title>`: each paragraph with its label, and
/// under it one bracketed line per pending alternative, the delegations in
/// bold. Every piece of the document is escaped.
pub fn render_html(c: &Compilation, title: &str) -> String {
    use crate::export::escape_html as esc;
    use std::fmt::Write as _;
    let mut s = String::new();
    let _ = write!(
        s,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>Compilation text: {t}</title>\n<style>\n{STYLE}</style>\n</head>\n<body>\n\
         <article class=\"compilation\">\n<h1>Compilation text: {t}</h1>\n",
        t = esc(title)
    );
    let blocks = c
        .paragraphs
        .iter()
        .map(|p| {
            let class = if p.paragraph_id.is_some() {
                "paragraph"
            } else {
                "paragraph proposed"
            };
            (class, &p.label, &p.text, &p.alternatives)
        })
        .chain(
            c.footnotes
                .iter()
                .map(|f| ("footnote", &f.label, &f.text, &f.alternatives)),
        );
    for (class, label, text, alternatives) in blocks {
        let _ = write!(
            s,
            "<section class=\"{class}\"><p class=\"text\"><span class=\"label\">{}</span>{}</p>",
            esc(label),
            esc(text)
        );
        for a in alternatives {
            let what = match a.action {
                ProposalAction::Delete => "delete".to_owned(),
                _ => esc(&a.text),
            };
            let _ = write!(
                s,
                "\n<p class=\"alternative\" data-proposal=\"{}\">[<span class=\"by\">{}</span>: {what}]</p>",
                esc(&a.proposal_id),
                esc(&a.attribution)
            );
        }
        s.push_str("</section>\n");
    }
    s.push_str("</article>\n</body>\n</html>\n");
    s
}
