//! Markdown, for reading a draft on a code host or pasting it into a
//! message: header as plain lines, the title as a heading, operative
//! paragraphs as a numbered list with their sub-paragraphs inside, italics
//! as `*…*`, footnotes as `[^n]` references with their texts at the end.

use super::numbering::Numbering;
use crate::model::{Meta, ParagraphKind, Resolution, Run};

/// Renders a resolution as CommonMark with footnotes (GitHub flavour).
pub fn export_markdown(resolution: &Resolution) -> String {
    let numbering = Numbering::of(resolution);
    let mut blocks = header_blocks(&super::sponsored_meta(resolution));
    let mut in_operative_item = false;

    for (paragraph, number) in resolution.paragraphs.iter().zip(&numbering.paragraphs) {
        let body = runs_markdown(&paragraph.text, &numbering);
        let block = match (paragraph.level, paragraph.kind) {
            (0, ParagraphKind::Operative) => {
                in_operative_item = true;
                format!("{number}. {body}")
            }
            (0, ParagraphKind::Preambular) => {
                in_operative_item = false;
                escape_line_start(body)
            }
            // Indented under its numbered item, so the list keeps going.
            (level, _) if in_operative_item && level >= 2 => format!("      ({number}) {body}"),
            _ if in_operative_item => format!("   ({number}) {body}"),
            _ => format!("({number}) {body}"),
        };
        blocks.push(block);
    }
    if let Some(closing) = &resolution.meta.closing {
        blocks.push(
            closing
                .lines()
                .map(|l| format!("*{}*", escape(l)))
                .collect::<Vec<_>>()
                .join("  \n"),
        );
    }
    for footnote in &numbering.footnotes {
        let number = numbering.footnote(&footnote.id);
        let text = runs_markdown(&footnote.text, &numbering);
        blocks.push(format!("[^{number}]: {text}").trim_end().to_owned());
    }
    let mut out = blocks.join("\n\n");
    out.push('\n');
    out
}

fn header_blocks(meta: &Meta) -> Vec<String> {
    let line = |value: &Option<String>, prefix: &str| {
        value.as_ref().map(|v| format!("{prefix}{}", escape(v)))
    };
    // Lines of one block end in two spaces: a hard line break.
    let block = |lines: Vec<Option<String>>| {
        let present: Vec<String> = lines.into_iter().flatten().collect();
        (!present.is_empty()).then(|| present.join("  \n"))
    };
    let mut blocks: Vec<String> = [
        meta.symbol.as_ref().map(|s| format!("**{}**", escape(s))),
        block(vec![
            line(&meta.organ, ""),
            line(&meta.distribution, "Distr.: "),
            line(&meta.date, ""),
            line(&meta.original, "Original: "),
        ]),
        block(vec![
            line(&meta.body, ""),
            line(&meta.session, ""),
            line(&meta.venue, ""),
        ]),
        block(vec![
            line(&meta.agenda_item, "Agenda item "),
            meta.agenda_title
                .as_ref()
                .map(|t| format!("**{}**", escape(t))),
        ]),
        line(&meta.submitted_by, ""),
        line(&meta.report, ""),
        line(&meta.introduction, ""),
        match (&meta.number, &meta.title) {
            (Some(n), t) => Some(format!(
                "# {}. {}",
                escape(n),
                escape(t.as_deref().unwrap_or_default())
            )),
            (None, t) => t.as_ref().map(|t| format!("# {}", escape(t))),
        },
        line(&meta.acting_body, ""),
    ]
    .into_iter()
    .flatten()
    .collect();
    blocks.retain(|b| !b.is_empty());
    blocks
}

fn runs_markdown(runs: &[Run], numbering: &Numbering<'_>) -> String {
    let mut out = String::new();
    for run in runs {
        match &run.footnote {
            Some(id) => out.push_str(&format!("[^{}]", numbering.footnote(id))),
            None if run.italic => {
                // Emphasis may not start or end with a space in CommonMark:
                // keep the spaces outside the asterisks.
                let trimmed = run.text.trim();
                if trimmed.is_empty() {
                    out.push_str(&run.text);
                    continue;
                }
                let start = run.text.len() - run.text.trim_start().len();
                let end = start + trimmed.len();
                out.push_str(&run.text[..start]);
                out.push('*');
                out.push_str(&escape(trimmed));
                out.push('*');
                out.push_str(&run.text[end..]);
            }
            None => out.push_str(&escape(&run.text)),
        }
    }
    out
}

/// Backslash-escapes the characters that would start markup inline.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(
            c,
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '&' | '|' | '~' | '#' | '!'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A paragraph that would start a list, heading or block quote is escaped
/// at its first character.
fn escape_line_start(line: String) -> String {
    let starts_block = line.starts_with(['-', '+', '='])
        || line
            .split_once(['.', ')'])
            .is_some_and(|(n, _)| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()));
    if !starts_block {
        return line;
    }
    match line.split_once(['.', ')']) {
        Some((n, rest)) if !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()) => {
            let sep = &line[n.len()..=n.len()];
            format!("{n}\\{sep}{rest}")
        }
        _ => format!("\\{line}"),
    }
}
