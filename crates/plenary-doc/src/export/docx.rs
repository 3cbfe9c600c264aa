//! Word (.docx), the format delegations circulate: the draft laid out as the
//! UN prints it. Times New Roman 10 pt; the masthead (United Nations and the
//! symbol over a thin rule, the organ beside Distr., date and Original over
//! a thick rule); the session, committee and agenda lines; the submitted-by
//! line; the title centred in bold; the acting body; preambular paragraphs
//! with their italic openings; operative paragraphs numbered on a hanging
//! indent, sub-paragraphs one step further in; footnotes as real Word
//! footnotes, numbered once by Word itself; the symbol as a running head
//! from page 2 and the page number in the footer.

mod masthead;

use std::collections::HashSet;
use std::io::Cursor;

use docx_rs::{
    AlignmentType, Docx, Footer, Footnote, Header, LineSpacing, PageMargin, PageNum,
    Paragraph as WordParagraph, Run as WordRun, RunFonts, SpecialIndentType, Style, StyleType,
    VertAlignType,
};
use thiserror::Error;

use super::numbering::Numbering;
use crate::model::{Meta, Paragraph, ParagraphKind, Resolution, Run};

/// Writing the .docx package failed (the zip writer's message).
#[derive(Debug, Error)]
#[error("could not write the .docx package: {0}")]
pub struct DocxError(String);

/// Twentieths of a point: 1.27 cm (0.5 inch), the UN indent step.
const INDENT: i32 = 720;
/// Half-points: 10 pt body text, as UN documents.
const BODY_SIZE: usize = 20;
/// Half-points: 9 pt footnotes.
const NOTE_SIZE: usize = 18;
/// A4, in twentieths of a point.
const PAGE_WIDTH: u32 = 11_906;
const PAGE_HEIGHT: u32 = 16_838;
/// Left and right page margins: 2 cm.
const SIDE_MARGIN: i32 = 1_134;
/// The width of the text block between the margins.
const TEXT_WIDTH: i32 = PAGE_WIDTH as i32 - 2 * SIDE_MARGIN;

/// The text of the placeholder run that stands, in a footnote's own text,
/// for the footnote's number: `pack` turns it into `<w:footnoteRef/>`,
/// which docx-rs cannot write, so that Word and LibreOffice print the
/// number they give the note, once.
const FOOTNOTE_REF_PLACEHOLDER: &str = "\u{e000}plenary-footnote-ref\u{e000}";

/// Renders a resolution as a Word document.
pub fn export_docx(resolution: &Resolution) -> Result<Vec<u8>, DocxError> {
    let numbering = Numbering::of(resolution);
    let mut docx = document(&super::sponsored_meta(resolution));
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
    for paragraph in closing(&resolution.meta) {
        docx = docx.add_paragraph(paragraph);
    }
    pack(docx)
}

/// A document with the UN page, styles, running head, page numbers, and
/// the masthead and heading of `meta`.
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
        .add_style(footnote_ref)
        .page_size(PAGE_WIDTH, PAGE_HEIGHT)
        .page_margin(
            PageMargin::new()
                .top(1_418)
                .bottom(1_418)
                .left(SIDE_MARGIN)
                .right(SIDE_MARGIN)
                .header(709)
                .footer(709),
        );
    // Page 1 carries the masthead and no running head; every page carries
    // its number.
    let running_head = meta.symbol.as_deref().map_or_else(Header::new, |symbol| {
        Header::new().add_paragraph(
            WordParagraph::new().align(AlignmentType::Right).add_run(
                WordRun::new()
                    .add_text(clean(symbol))
                    .bold()
                    .size(BODY_SIZE),
            ),
        )
    });
    docx = docx
        .header(running_head)
        .first_header(Header::new())
        .footer(page_number_footer())
        .first_footer(page_number_footer());
    for paragraph in masthead::masthead(meta)
        .into_iter()
        .chain(masthead::heading(meta))
    {
        docx = docx.add_paragraph(paragraph);
    }
    docx
}

fn page_number_footer() -> Footer {
    Footer::new().add_paragraph(
        WordParagraph::new()
            .align(AlignmentType::Center)
            .add_page_num(PageNum::new()),
    )
}

/// The closing lines of `meta` (an adopted resolution's meeting and date),
/// right-aligned in italics, then the short centred rule that ends a UN
/// document.
pub(super) fn closing(meta: &Meta) -> Vec<WordParagraph> {
    let mut out: Vec<WordParagraph> = meta
        .closing
        .iter()
        .flat_map(|c| c.lines())
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| {
            WordParagraph::new()
                .align(AlignmentType::Right)
                .indent(None, None, Some(INDENT), None)
                .add_run(WordRun::new().add_text(clean(l)).italic())
        })
        .collect();
    if let Some(first) = out.first_mut() {
        *first = first
            .clone()
            .line_spacing(LineSpacing::new().before(240).after(0));
    }
    out.push(
        WordParagraph::new()
            .align(AlignmentType::Center)
            .line_spacing(LineSpacing::new().before(360))
            .add_run(WordRun::new().add_text("__________________")),
    );
    out
}

/// Builds the package. docx-rs cannot write the `<w:footnoteRef/>` mark a
/// footnote's text starts with, so its placeholder runs (`footnote_run`)
/// are turned into that mark here.
pub(super) fn pack(docx: Docx) -> Result<Vec<u8>, DocxError> {
    let mut xml = docx.build();
    xml.footnotes = with_footnote_refs(&xml.footnotes);
    let mut out = Cursor::new(Vec::new());
    xml.pack(&mut out).map_err(|e| DocxError(e.to_string()))?;
    Ok(out.into_inner())
}

/// `footnotes.xml` with each placeholder text element replaced by
/// `<w:footnoteRef/>`. Only runs styled as footnote references are
/// touched, and only `footnote_run` writes those into a note.
fn with_footnote_refs(footnotes: &[u8]) -> Vec<u8> {
    let Ok(xml) = std::str::from_utf8(footnotes) else {
        return footnotes.to_vec();
    };
    let placeholder = format!(r#"<w:t xml:space="preserve">{FOOTNOTE_REF_PLACEHOLDER}</w:t>"#);
    xml.replace(&placeholder, "<w:footnoteRef />").into_bytes()
}

/// The empty Word paragraph laid out for `paragraph`'s kind and level, and
/// the run printing its number (`3.` or `(b)`, then a tab) if it has one.
///
/// A preambular paragraph starts one step in and runs back to the body's
/// margin; an operative paragraph hangs its number at the body's margin
/// and aligns its text one step in (where the preambular openings start);
/// a sub-paragraph hangs its letter there and its text one step further.
pub(super) fn frame(paragraph: &Paragraph, number: &str) -> (WordParagraph, Option<WordRun>) {
    let word = WordParagraph::new()
        .align(AlignmentType::Both)
        .line_spacing(LineSpacing::new().after(120));
    let level = i32::from(paragraph.level);
    match (paragraph.level, paragraph.kind) {
        (0, ParagraphKind::Preambular) => (
            word.indent(
                Some(INDENT),
                Some(SpecialIndentType::FirstLine(INDENT)),
                Some(INDENT),
                None,
            ),
            None,
        ),
        (0, ParagraphKind::Operative) => (
            word.indent(
                Some(2 * INDENT),
                Some(SpecialIndentType::Hanging(INDENT)),
                Some(INDENT),
                None,
            ),
            Some(WordRun::new().add_text(format!("{number}.")).add_tab()),
        ),
        _ => (
            word.indent(
                Some((2 + level) * INDENT),
                Some(SpecialIndentType::Hanging(INDENT)),
                Some(INDENT),
                None,
            ),
            Some(WordRun::new().add_text(format!("({number})")).add_tab()),
        ),
    }
}

/// A footnote is attached (as a real Word footnote) at its first
/// reference, where Word prints its number; a later reference to it prints
/// its number in superscript. The marker's own text (`²`) is never
/// written: Word numbers the note.
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
    // The note: its number (the placeholder `pack` turns into
    // `<w:footnoteRef/>`), a tab, the text, on a hanging indent.
    let mut content = WordParagraph::new()
        .size(NOTE_SIZE)
        .indent(
            Some(INDENT),
            Some(SpecialIndentType::Hanging(INDENT / 2)),
            Some(INDENT),
            None,
        )
        // Only the style on the mark's run: Word lists `w:rStyle` first in
        // a run's properties, and docx-rs would write a size before it.
        .add_run(
            WordRun::new()
                .style("FootnoteReference")
                .add_text(FOOTNOTE_REF_PLACEHOLDER),
        )
        .add_run(WordRun::new().add_tab().size(NOTE_SIZE));
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

/// Characters XML 1.0 forbids would make Word refuse the file, and the
/// private-use character of the footnote placeholder is kept for it.
pub(super) fn clean(text: &str) -> String {
    text.chars()
        .filter(|&c| {
            !(c < ' ' && c != '\t') && c != '\u{fffe}' && c != '\u{ffff}' && c != '\u{e000}'
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_placeholder_becomes_a_footnote_ref_mark() {
        let note = Footnote {
            id: 1,
            content: vec![
                WordParagraph::new().add_run(
                    WordRun::new()
                        .style("FootnoteReference")
                        .add_text(FOOTNOTE_REF_PLACEHOLDER),
                ),
            ],
        };
        let docx = Docx::new().add_paragraph(
            WordParagraph::new().add_run(WordRun::new().add_footnote_reference(note)),
        );
        let mut xml = docx.build();
        xml.footnotes = with_footnote_refs(&xml.footnotes);
        let notes = String::from_utf8(xml.footnotes).unwrap_or_default();
        assert!(notes.contains("<w:footnoteRef />"), "{notes}");
        assert!(!notes.contains(FOOTNOTE_REF_PLACEHOLDER), "{notes}");
    }

    #[test]
    fn clean_drops_the_placeholder_character() {
        assert_eq!(clean("a\u{e000}b\u{1}c"), "abc");
    }
}
