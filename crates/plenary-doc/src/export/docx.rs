//! Word (.docx), the format delegations circulate: the draft laid out as the
//! UN prints it (Times New Roman, header block, bold title, indented
//! paragraphs, operative numbers on a tab), italics kept, footnotes as real
//! Word footnotes at the bottom of the page.

use std::collections::HashSet;
use std::io::Cursor;

use docx_rs::{
    AlignmentType, Docx, Footnote, LineSpacing, Paragraph as WordParagraph, Run as WordRun,
    RunFonts, SpecialIndentType, Style, StyleType, VertAlignType,
};
use thiserror::Error;

use super::numbering::Numbering;
use crate::model::{Meta, ParagraphKind, Resolution, Run};

/// Writing the .docx package failed (the zip writer's message).
#[derive(Debug, Error)]
#[error("could not write the .docx package: {0}")]
pub struct DocxError(String);

/// Twentieths of a point: 0.5 inch, the UN indent step.
const INDENT: i32 = 720;
/// Half-points: 10 pt body text, as UN documents.
const BODY_SIZE: usize = 20;
/// Half-points: 8 pt footnotes.
const NOTE_SIZE: usize = 16;

/// Renders a resolution as a Word document.
pub fn export_docx(resolution: &Resolution) -> Result<Vec<u8>, DocxError> {
    let numbering = Numbering::of(resolution);
    let mut footnote_ref =
        Style::new("FootnoteReference", StyleType::Character).name("footnote reference");
    footnote_ref.run_property = footnote_ref
        .run_property
        .vert_align(VertAlignType::SuperScript);
    let mut docx = Docx::new()
        .default_fonts(
            RunFonts::new()
                .ascii("Times New Roman")
                .hi_ansi("Times New Roman")
                .cs("Times New Roman"),
        )
        .default_size(BODY_SIZE)
        .add_style(footnote_ref);

    for paragraph in header(&resolution.meta) {
        docx = docx.add_paragraph(paragraph);
    }
    let mut referenced = HashSet::new();
    for (paragraph, number) in resolution.paragraphs.iter().zip(&numbering.paragraphs) {
        let mut word = WordParagraph::new()
            .align(AlignmentType::Both)
            .line_spacing(LineSpacing::new().after(120));
        word = match (paragraph.level, paragraph.kind) {
            (0, ParagraphKind::Preambular) => word.indent(
                Some(INDENT),
                Some(SpecialIndentType::FirstLine(INDENT)),
                None,
                None,
            ),
            (0, ParagraphKind::Operative) => word
                .indent(
                    Some(INDENT),
                    Some(SpecialIndentType::FirstLine(INDENT)),
                    None,
                    None,
                )
                .add_run(WordRun::new().add_text(format!("{number}.")).add_tab()),
            _ => word
                .indent(
                    Some(3 * INDENT),
                    Some(SpecialIndentType::Hanging(INDENT)),
                    None,
                    None,
                )
                .add_run(WordRun::new().add_text(format!("({number})")).add_tab()),
        };
        for run in runs(&paragraph.text, &numbering, &mut referenced) {
            word = word.add_run(run);
        }
        docx = docx.add_paragraph(word);
    }

    let mut out = Cursor::new(Vec::new());
    docx.build()
        .pack(&mut out)
        .map_err(|e| DocxError(e.to_string()))?;
    Ok(out.into_inner())
}

fn header(meta: &Meta) -> Vec<WordParagraph> {
    let line = |text: &str| WordParagraph::new().add_run(WordRun::new().add_text(clean(text)));
    let mut out = Vec::new();
    if let Some(symbol) = &meta.symbol {
        out.push(line(symbol).align(AlignmentType::Right).bold());
    }
    if let Some(organ) = &meta.organ {
        out.push(line(organ).bold().size(28));
    }
    for (prefix, value) in [
        ("Distr.: ", &meta.distribution),
        ("", &meta.date),
        ("Original: ", &meta.original),
    ] {
        if let Some(value) = value {
            out.push(line(&format!("{prefix}{value}")).align(AlignmentType::Right));
        }
    }
    for value in [&meta.body, &meta.session, &meta.venue].into_iter().flatten() {
        out.push(line(value));
    }
    if let Some(item) = &meta.agenda_item {
        out.push(line(&format!("Agenda item {item}")));
    }
    if let Some(title) = &meta.agenda_title {
        out.push(line(title).bold());
    }
    let spaced = LineSpacing::new().before(240).after(240);
    if let Some(submitted) = &meta.submitted_by {
        out.push(line(submitted).line_spacing(spaced.clone()));
    }
    if let Some(introduction) = &meta.introduction {
        out.push(line(introduction).align(AlignmentType::Both));
    }
    if let Some(title) = &meta.title {
        out.push(line(title).bold().size(24).line_spacing(spaced));
    }
    if let Some(acting) = &meta.acting_body {
        out.push(line(acting).indent(Some(INDENT), None, None, None));
    }
    out
}

/// A footnote is attached (as a real Word footnote) at its first
/// reference; a later reference to it prints its number in superscript.
fn runs(runs: &[Run], numbering: &Numbering<'_>, referenced: &mut HashSet<u32>) -> Vec<WordRun> {
    runs.iter()
        .map(|run| match &run.footnote {
            Some(id) => {
                let n = numbering.footnote(id);
                let text = numbering
                    .footnotes
                    .iter()
                    .find(|f| &f.id == id)
                    .map(|f| f.text.as_slice());
                if referenced.insert(n) {
                    // docx-rs writes no `w:footnoteRef` mark in the note
                    // itself: the number is printed as a superscript run.
                    let mut number = WordRun::new().add_text(n.to_string()).size(NOTE_SIZE);
                    number.run_property =
                        number.run_property.vert_align(VertAlignType::SuperScript);
                    let mut content = WordParagraph::new()
                        .size(NOTE_SIZE)
                        .add_run(number)
                        .add_run(WordRun::new().add_text(" ").size(NOTE_SIZE));
                    for r in runs_plain(text.unwrap_or_default()) {
                        content = content.add_run(r.size(NOTE_SIZE));
                    }
                    let footnote = Footnote {
                        id: usize::try_from(n).unwrap_or(usize::MAX),
                        content: vec![content],
                    };
                    WordRun::new().add_footnote_reference(footnote)
                } else {
                    let mut r = WordRun::new().add_text(n.to_string());
                    r.run_property = r.run_property.vert_align(VertAlignType::SuperScript);
                    r
                }
            }
            None => text_run(run),
        })
        .collect()
}

fn runs_plain(runs: &[Run]) -> Vec<WordRun> {
    runs.iter()
        .filter(|r| r.footnote.is_none())
        .map(text_run)
        .collect()
}

fn text_run(run: &Run) -> WordRun {
    let word = WordRun::new().add_text(clean(&run.text));
    if run.italic { word.italic() } else { word }
}

/// Characters XML 1.0 forbids would make Word refuse the file.
fn clean(text: &str) -> String {
    text.chars()
        .filter(|&c| !(c < ' ' && c != '\t') && c != '\u{fffe}' && c != '\u{ffff}')
        .collect()
}
