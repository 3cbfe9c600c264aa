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
use crate::model::{Meta, Paragraph, ParagraphKind, Resolution, Run};

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
    let mut docx = document(&resolution.meta);
    let mut referenced = HashSet::new();
    for (paragraph, number) in resolution.paragraphs.iter().zip(&numbering.paragraphs) {
        let (mut word, number) = frame(paragraph, number);
        if let Some(number) = number {
            word = word.add_run(number);
        }
        for run in &paragraph.text {
            word = word.add_run(match &run.footnote {
                Some(id) => footnote_run(id, &numbering, &mut referenced),
                None => text_run(run),
            });
        }
        docx = docx.add_paragraph(word);
    }
    pack(docx)
}

/// A document with the UN styles and the header block of `meta`.
pub(super) fn document(meta: &Meta) -> Docx {
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
    for paragraph in header(meta) {
        docx = docx.add_paragraph(paragraph);
    }
    docx
}

pub(super) fn pack(docx: Docx) -> Result<Vec<u8>, DocxError> {
    let mut out = Cursor::new(Vec::new());
    docx.build()
        .pack(&mut out)
        .map_err(|e| DocxError(e.to_string()))?;
    Ok(out.into_inner())
}

/// The empty Word paragraph laid out for `paragraph`'s kind and level, and
/// the run printing its number (`3.` or `(b)`, then a tab) if it has one.
pub(super) fn frame(paragraph: &Paragraph, number: &str) -> (WordParagraph, Option<WordRun>) {
    let word = WordParagraph::new()
        .align(AlignmentType::Both)
        .line_spacing(LineSpacing::new().after(120));
    let first_line = Some(SpecialIndentType::FirstLine(INDENT));
    match (paragraph.level, paragraph.kind) {
        (0, ParagraphKind::Preambular) => (word.indent(Some(INDENT), first_line, None, None), None),
        (0, ParagraphKind::Operative) => (
            word.indent(Some(INDENT), first_line, None, None),
            Some(WordRun::new().add_text(format!("{number}.")).add_tab()),
        ),
        _ => (
            word.indent(
                Some(3 * INDENT),
                Some(SpecialIndentType::Hanging(INDENT)),
                None,
                None,
            ),
            Some(WordRun::new().add_text(format!("({number})")).add_tab()),
        ),
    }
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
    for value in [&meta.body, &meta.session, &meta.venue]
        .into_iter()
        .flatten()
    {
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
    if let Some(report) = &meta.report {
        out.push(line(report));
    }
    if let Some(introduction) = &meta.introduction {
        out.push(line(introduction).align(AlignmentType::Both));
    }
    let title = match (&meta.number, &meta.title) {
        (Some(number), title) => Some(format!(
            "{number}. {}",
            title.as_deref().unwrap_or_default()
        )),
        (None, title) => title.clone(),
    };
    if let Some(title) = &title {
        out.push(line(title).bold().size(24).line_spacing(spaced));
    }
    if let Some(acting) = &meta.acting_body {
        out.push(line(acting).indent(Some(INDENT), None, None, None));
    }
    out
}

/// A footnote is attached (as a real Word footnote) at its first
/// reference; a later reference to it prints its number in superscript.
pub(super) fn footnote_run(
    id: &str,
    numbering: &Numbering<'_>,
    referenced: &mut HashSet<u32>,
) -> WordRun {
    let n = numbering.footnote(id);
    if !referenced.insert(n) {
        return superscript_run(n, None);
    }
    let text = numbering
        .footnotes
        .iter()
        .find(|f| f.id == id)
        .map(|f| f.text.as_slice());
    // docx-rs writes no `w:footnoteRef` mark in the note itself: the number
    // is printed as a superscript run.
    let mut content = WordParagraph::new()
        .size(NOTE_SIZE)
        .add_run(superscript_run(n, Some(NOTE_SIZE)))
        .add_run(WordRun::new().add_text(" ").size(NOTE_SIZE));
    for r in runs_plain(text.unwrap_or_default()) {
        content = content.add_run(r.size(NOTE_SIZE));
    }
    let footnote = Footnote {
        id: usize::try_from(n).unwrap_or(usize::MAX),
        content: vec![content],
    };
    WordRun::new().add_footnote_reference(footnote)
}

/// A footnote number printed in superscript.
pub(super) fn superscript_run(n: u32, size: Option<usize>) -> WordRun {
    let mut run = WordRun::new().add_text(n.to_string());
    if let Some(size) = size {
        run = run.size(size);
    }
    run.run_property = run.run_property.vert_align(VertAlignType::SuperScript);
    run
}

fn runs_plain(runs: &[Run]) -> Vec<WordRun> {
    runs.iter()
        .filter(|r| r.footnote.is_none())
        .map(text_run)
        .collect()
}

pub(super) fn text_run(run: &Run) -> WordRun {
    let word = WordRun::new().add_text(clean(&run.text));
    if run.italic { word.italic() } else { word }
}

/// Characters XML 1.0 forbids would make Word refuse the file.
pub(super) fn clean(text: &str) -> String {
    text.chars()
        .filter(|&c| !(c < ' ' && c != '\t') && c != '\u{fffe}' && c != '\u{ffff}')
        .collect()
}
