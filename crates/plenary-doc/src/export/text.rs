//! The plain-text layout of a UN draft, as [`crate::import_text`] reads it:
//! `import_text(&export_text(r))` gives back `r`'s structure.

use super::numbering::Numbering;
use crate::import::{
    escape_inline, operative_opening, preambular_opening, superscript, superscript_value,
};
use crate::model::{Meta, Paragraph, ParagraphKind, Resolution, Run};

/// Renders a resolution in the plain-text layout of a circulated draft:
/// header lines, title, acting body, paragraphs (italics as `*…*`, footnote
/// markers as superscript numbers), and the footnote texts at the end.
pub fn export_text(resolution: &Resolution) -> String {
    let numbering = Numbering::of(resolution);
    let mut blocks: Vec<String> = header_blocks(&super::sponsored_meta(resolution));

    for (index, (paragraph, number)) in resolution
        .paragraphs
        .iter()
        .zip(&numbering.paragraphs)
        .enumerate()
    {
        let mut body = runs_text(&paragraph.text, &numbering);
        // Without an acting-body line, the first paragraph must not pass
        // for a header line: markup marks it as a paragraph.
        let unmarked_first = index == 0
            && paragraph.kind == ParagraphKind::Preambular
            && resolution.meta.acting_body.is_none()
            && !body.starts_with(['*', '\\']);
        if paragraph.level == 0
            && (body.is_empty() || unmarked_first || would_gain_italics(paragraph))
        {
            // Empty italics: the markup is authoritative, nothing is guessed
            // (and an empty paragraph still has a line).
            body.insert_str(0, "**");
        }
        blocks.push(match (paragraph.level, number.is_empty()) {
            (0, true) => guard_line_start(body),
            (0, false) => format!("{number}. {body}"),
            _ => format!("({number}) {body}"),
        });
    }
    if let Some(closing) = &resolution.meta.closing {
        blocks.push(closing.clone());
    }
    for footnote in &numbering.footnotes {
        let number = numbering.footnote(&footnote.id);
        let text = runs_text(&footnote.text, &numbering);
        blocks.push(
            format!("{} {text}", superscript(number))
                .trim_end()
                .to_owned(),
        );
    }
    let mut out = blocks.join("\n\n");
    out.push('\n');
    out
}

fn header_blocks(meta: &Meta) -> Vec<String> {
    let field =
        |value: &Option<String>, prefix: &str| value.as_ref().map(|v| format!("{prefix}{v}"));
    let distribution = [field(&meta.distribution, "Distr.: "), field(&meta.date, "")];
    let lines: Vec<Option<String>> = vec![
        field(&meta.symbol, ""),
        field(&meta.organ, ""),
        join_lines(&distribution),
        field(&meta.original, "Original: "),
        field(&meta.body, ""),
        field(&meta.session, ""),
        field(&meta.venue, ""),
        field(&meta.agenda_item, "Agenda item "),
        field(&meta.agenda_title, ""),
        field(&meta.submitted_by, ""),
        field(&meta.report, ""),
        field(&meta.introduction, ""),
        match (&meta.number, &meta.title) {
            (Some(n), Some(t)) => Some(format!("{n}. {t}")),
            (Some(n), None) => Some(format!("{n}.")),
            (None, t) => field(t, ""),
        },
        field(&meta.acting_body, ""),
    ];
    lines.into_iter().flatten().collect()
}

fn join_lines(lines: &[Option<String>]) -> Option<String> {
    let present: Vec<&str> = lines.iter().flatten().map(String::as_str).collect();
    (!present.is_empty()).then(|| present.join("\n"))
}

/// Runs as inline markup: `*italic*`, superscript footnote markers,
/// everything else escaped.
fn runs_text(runs: &[Run], numbering: &Numbering<'_>) -> String {
    let mut out = String::new();
    let mut previous_was_marker = false;
    for run in runs {
        let is_marker = run.footnote.is_some();
        if is_marker && previous_was_marker {
            // `¹²` would read as footnote 12: an empty italic span, which
            // prints nothing, keeps two adjacent markers apart.
            out.push_str("**");
        }
        previous_was_marker = is_marker;
        match &run.footnote {
            Some(id) => out.push_str(&superscript(numbering.footnote(id))),
            None if run.text.is_empty() => {}
            None if run.italic => {
                out.push('*');
                out.push_str(&escape_inline(&run.text));
                out.push('*');
            }
            None => out.push_str(&escape_inline(&run.text)),
        }
    }
    out
}

/// An unnumbered paragraph whose text starts like something else (a number,
/// a sub-paragraph letter, a footnote, a continuation in lower case) gets a
/// leading `\` (or `**` before a marker) so that it is read back as a
/// paragraph of its own.
fn guard_line_start(line: String) -> String {
    match line.chars().next() {
        Some(c) if c.is_lowercase() || c.is_ascii_digit() || c == '(' => format!("\\{line}"),
        // A footnote marker opening the paragraph: escaping would make it
        // text, so an empty italic span goes first instead.
        Some(c) if superscript_value(c).is_some() => format!("**{line}"),
        _ => line,
    }
}

/// A top-level paragraph with no italics at all, whose opening the importer
/// would guess as italic if the text carried no markup.
fn would_gain_italics(paragraph: &Paragraph) -> bool {
    if paragraph.text.iter().any(|r| r.italic) {
        return false;
    }
    let Some(first) = paragraph.text.first().filter(|r| r.footnote.is_none()) else {
        return false;
    };
    let guessed = match paragraph.kind {
        ParagraphKind::Preambular => preambular_opening(&first.text),
        ParagraphKind::Operative => operative_opening(&first.text),
    };
    guessed > 0
}
