//! Import of a UN draft resolution's plain text.
//!
//! The layout is the one of a draft as circulated (see
//! `tests/fixtures/*.txt`): header lines (symbol, organ, `Distr.:`, date,
//! `Original:`, body, session, venue, `Agenda item N` and its title, the
//! submitted-by line, the introduction ending in `:`), the title, the acting
//! body (`The General Assembly,`), preambular paragraphs, numbered operative
//! paragraphs with lettered sub-paragraphs, and footnote texts at page
//! bottoms, each line opening with its superscript number.
//!
//! Drafts are converted from PDF or Word, so the importer is forgiving:
//! a paragraph interrupted by its page's footnotes is joined back, italics
//! lost in conversion are guessed (see `openings.rs`), page headers are
//! skipped. It never drops text silently: whatever it cannot place, or had
//! to guess about, comes back as an [`ImportWarning`] with its line.

use std::collections::HashMap;

use serde::Serialize;
use thiserror::Error;

use super::inline::{Piece, leading_superscript, parse_inline, superscript};
use super::openings::{operative_opening, preambular_opening};
use crate::model::{Footnote, Meta, Paragraph, ParagraphKind, Resolution, Run, Status};
use crate::numbering::{letter, roman};

/// A resolution read from text, with what the reader should check by hand.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Imported {
    pub resolution: Resolution,
    pub warnings: Vec<ImportWarning>,
}

/// Something in the input the importer could not place, or placed by a
/// guess worth checking.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportWarning {
    /// 1-based line number in the input.
    pub line: usize,
    pub message: String,
    /// The line (or the footnote text) concerned, so nothing is lost.
    pub text: String,
}

/// Input that cannot be read as a resolution at all.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ImportError {
    #[error("the input is empty: there is no text to import")]
    Empty,
    #[error(
        "no preambular or operative paragraph found in {lines} lines: \
         is this the plain text of a draft resolution?"
    )]
    NoParagraphs { lines: usize },
}

/// Reads the plain text of a UN draft resolution.
///
/// Paragraph ids are `p1`, `p2` … in document order and footnote ids `fn1`,
/// `fn2` … in order of first reference; every paragraph is `open`. Of the
/// derived fields, `number` is filled for operative paragraphs (`"3"`) and
/// sub-paragraphs (`"(b)"`) and `marker` for footnotes, from document order
/// as the document model derives them (a source numbered otherwise gets a
/// warning); labels are left to the document model.
pub fn import_text(input: &str) -> Result<Imported, ImportError> {
    let input = input.strip_prefix('\u{feff}').unwrap_or(input);
    // A form feed starts a new page; inside a line it is a space.
    let raw: Vec<(String, bool)> = input
        .split('\n')
        .map(|line| (line.replace('\u{c}', " "), line.contains('\u{c}')))
        .collect();
    let lines = split_lines(&raw);
    if lines.iter().all(|l| l.text.is_empty()) {
        return Err(ImportError::Empty);
    }
    let mut warnings = Vec::new();
    let mut meta = Meta::default();

    let (header_end, acting_body) = find_header_end(&lines);
    match acting_body {
        Some(line) => meta.acting_body = Some(line.text.to_owned()),
        None => warnings.push(ImportWarning {
            line: lines.get(header_end).map_or(lines.len(), |l| l.number),
            message: "no acting-body line (such as \u{201c}The General Assembly,\u{201d}) found"
                .to_owned(),
            text: String::new(),
        }),
    }
    parse_header(&lines[..header_end], &mut meta, &mut warnings);
    let body_start = header_end + usize::from(acting_body.is_some());
    let mut body = parse_body(&lines[body_start..], &meta, &mut warnings);
    if !body.closing.is_empty() {
        let lines: Vec<String> = std::mem::take(&mut body.closing)
            .into_iter()
            .map(|(_, text)| text)
            .collect();
        meta.closing = Some(lines.join("\n"));
    }
    if body.paragraphs.is_empty() {
        return Err(ImportError::NoParagraphs { lines: lines.len() });
    }
    let (paragraphs, footnotes) = resolve(body, &mut warnings);
    warnings.sort_by_key(|w| w.line);
    Ok(Imported {
        resolution: Resolution {
            meta,
            paragraphs,
            footnotes,
            proposals: Vec::new(),
            sponsors: Vec::new(),
        },
        warnings,
    })
}

#[derive(Debug, Clone, Copy)]
struct Line<'a> {
    /// 1-based.
    number: usize,
    /// Trimmed; empty for a blank line.
    text: &'a str,
    /// A form feed on this line: a new page starts here.
    page_break: bool,
}

fn split_lines(raw: &[(String, bool)]) -> Vec<Line<'_>> {
    raw.iter()
        .enumerate()
        .map(|(i, (text, page_break))| Line {
            number: i + 1,
            text: text.trim(),
            page_break: *page_break,
        })
        .collect()
}

/// Where the header ends: the index of the acting-body line if there is
/// one (returned too), else of the first line that looks like a paragraph.
fn find_header_end<'a>(lines: &[Line<'a>]) -> (usize, Option<Line<'a>>) {
    let first_operative = lines
        .iter()
        .position(|l| numbered(l.text).is_some())
        .unwrap_or(lines.len());
    if let Some(i) = lines[..first_operative]
        .iter()
        .position(|l| is_acting_body(l.text))
    {
        return (i, Some(lines[i]));
    }
    // Header lines carry no markup; a paragraph may open with it.
    let first_preambular = lines[..first_operative]
        .iter()
        .position(|l| {
            l.text.starts_with(['*', '\\'])
                || lettered(l.text).is_some()
                || (l.text.ends_with(',') && preambular_opening(l.text) > 0)
        })
        .unwrap_or(first_operative);
    (first_preambular, None)
}

fn is_acting_body(text: &str) -> bool {
    let Some(inner) = text.strip_prefix("The ").and_then(|t| t.strip_suffix(',')) else {
        return false;
    };
    inner.chars().next().is_some_and(char::is_uppercase)
        && !inner.contains([',', ':', ';', '.'])
        && inner.split(' ').count() <= 10
}

const ORGANS: &[&str] = &[
    "General Assembly",
    "Security Council",
    "Economic and Social Council",
    "Trusteeship Council",
];

const MONTHS: &[&str] = &[
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

fn parse_header(lines: &[Line<'_>], meta: &mut Meta, warnings: &mut Vec<ImportWarning>) {
    let nonblank: Vec<&Line<'_>> = lines.iter().filter(|l| !l.text.is_empty()).collect();
    // First, what each line's own content says it is. Lines that say nothing by themselves
    // ("free" lines: the organ, the agenda item's title, the title …) are placed afterwards by
    // where they stand.
    let mut seen_distribution = false;
    let mut free: Vec<(usize, &Line<'_>, bool)> = Vec::new();
    // Index in `nonblank` of the last masthead line (symbol, distribution, date, original,
    // session, venue, agenda item): free lines after it are the heading of the text itself.
    let mut masthead_end = None;
    let mut agenda_at = None;
    for (k, line) in nonblank.iter().enumerate() {
        let text = strip_bold(line.text);
        let before_heading = meta.submitted_by.is_none() && meta.introduction.is_none();
        let masthead = if text == "United Nations" {
            true
        } else if let Some(symbol) = symbol_in(text) {
            if meta.symbol.is_none() {
                meta.symbol = Some(symbol.to_owned());
            }
            true
        } else if let Some(rest) = text.strip_prefix("Distr.:").or(text.strip_prefix("Distr.")) {
            seen_distribution = true;
            meta.distribution = Some(rest.trim().to_owned());
            true
        } else if meta.date.is_none() && is_date(text) {
            meta.date = Some(text.to_owned());
            true
        } else if let Some(rest) = text.strip_prefix("Original:") {
            seen_distribution = true;
            meta.original = Some(rest.trim().to_owned());
            true
        } else if let Some(item) = agenda_item(text) {
            meta.agenda_item = Some(item.to_owned());
            agenda_at = Some(k);
            true
        } else if before_heading && meta.session.is_none() && is_session(text) {
            meta.session = Some(text.to_owned());
            true
        } else if before_heading && meta.venue.is_none() && is_venue(text) {
            meta.venue = Some(text.to_owned());
            true
        } else {
            if is_report(text) && meta.report.is_none() {
                meta.report = Some(text.to_owned());
            } else if meta.introduction.is_none() && text.ends_with(':') {
                meta.introduction = Some(text.to_owned());
            } else if meta.submitted_by.is_none() && is_submitted_by(text) {
                meta.submitted_by = Some(text.to_owned());
            } else if let Some(number) = resolution_number_line(text)
                && meta.number.is_none()
            {
                meta.number = Some(number.to_owned());
            } else {
                free.push((k, line, seen_distribution));
            }
            false
        };
        if masthead {
            masthead_end = Some(k);
        }
    }

    // Free lines wrap: adjacent ones after the masthead are one block (a long title, say).
    struct Block {
        first: usize,
        last: usize,
        line: usize,
        text: String,
        /// Whether a `Distr.` or `Original:` line came before it.
        after_distribution: bool,
    }
    // Without any masthead line, only the last free line is the heading (the title); the
    // others are the organ and the body, as in a masthead.
    let last_free = free.last().map(|&(k, _, _)| k);
    let in_heading = |k: usize| match masthead_end {
        Some(m) => k > m,
        None => Some(k) == last_free,
    };
    let mut blocks: Vec<Block> = Vec::new();
    for &(k, line, after_distribution) in &free {
        let text = strip_bold(line.text);
        if let Some(block) = blocks.last_mut()
            && in_heading(k)
            && in_heading(block.first)
            && is_adjacent(&nonblank, block.last, k)
        {
            block.text.push(' ');
            block.text.push_str(text);
            block.last = k;
            continue;
        }
        blocks.push(Block {
            first: k,
            last: k,
            line: line.number,
            text: text.to_owned(),
            after_distribution,
        });
    }

    let mut heading: Vec<(usize, String, bool)> = Vec::new();
    for Block {
        first,
        line,
        text,
        after_distribution,
        ..
    } in blocks
    {
        if meta.agenda_title.is_none() && agenda_at.is_some_and(|a| a + 1 == first) {
            meta.agenda_title = Some(text);
        } else if meta.organ.is_none() && ORGANS.contains(&text.as_str()) {
            meta.organ = Some(text);
        } else if in_heading(first) {
            heading.push((line, text, after_distribution));
        } else if meta.organ.is_none()
            && (ORGANS.contains(&text.as_str()) || (!after_distribution && meta.body.is_none()))
        {
            meta.organ = Some(text);
        } else if meta.body.is_none() {
            meta.body = Some(text);
        } else {
            warnings.push(ImportWarning {
                line,
                message: "header line not recognised; not imported".to_owned(),
                text,
            });
        }
    }
    // Without an agenda item, the organ (before any `Distr.` line) and a committee or
    // commission line may stand right after the masthead: the first heading lines are those.
    while agenda_at.is_none() && heading.len() >= 2 {
        let organ = meta.organ.is_none() && !heading[0].2;
        if !organ && meta.body.is_some() {
            break;
        }
        let (_, text, _) = heading.remove(0);
        if organ {
            meta.organ = Some(text);
        } else {
            meta.body = Some(text);
        }
    }
    // The heading: the last free block is the title (numbered when adopted: `80/12. …`); one
    // before it is the submitted-by line, when no line said so by its content.
    if let Some((_, title, _)) = heading.pop() {
        match numbered_title(&title) {
            Some((number, rest)) => {
                meta.number = Some(number.to_owned());
                meta.title = Some(rest.to_owned());
            }
            None => meta.title = Some(title),
        }
    }
    for (number, text, _) in heading {
        warnings.push(ImportWarning {
            line: number,
            message: "header line not recognised; not imported".to_owned(),
            text,
        });
    }
    // An adopted General Assembly resolution's symbol follows from its number when the masthead
    // lost it.
    if meta.symbol.is_none()
        && let Some(number) = &meta.number
        && meta.organ.as_deref() == Some("General Assembly")
        && number.contains('/')
    {
        meta.symbol = Some(format!("A/RES/{number}"));
    }
}

/// Whether lines `a` and `b` of `nonblank` are next to each other in the input.
fn is_adjacent(nonblank: &[&Line<'_>], a: usize, b: usize) -> bool {
    b == a + 1 && nonblank[a].number + 1 == nonblank[b].number
}

/// `**Draft resolution …**` (bold kept by a Markdown conversion) → its text.
fn strip_bold(text: &str) -> &str {
    text.strip_prefix("**")
        .and_then(|t| t.strip_suffix("**"))
        .map_or(text, str::trim)
}

/// `[on the report of the First Committee (A/80/534)]`: a whole line in brackets.
fn is_report(text: &str) -> bool {
    text.starts_with('[') && text.ends_with(']') && text.len() > 2
}

/// `80/12. Objective information …` → ("80/12", "Objective information …").
fn numbered_title(text: &str) -> Option<(&str, &str)> {
    let (number, rest) = text.split_once(". ")?;
    let (session, n) = number.split_once('/')?;
    let digits = |s: &str| !s.is_empty() && s.len() <= 5 && s.chars().all(|c| c.is_ascii_digit());
    let n_main = n.trim_end_matches(|c: char| c.is_ascii_uppercase() || c == ' ');
    (digits(session) && digits(n_main)).then_some((number, rest.trim()))
}

/// `Resolution 2719 (2023)`: a Security Council resolution's number line → `2719 (2023)`.
fn resolution_number_line(text: &str) -> Option<&str> {
    let rest = text.strip_prefix("Resolution ")?;
    let (n, year) = rest.split_once(' ')?;
    let year = year.strip_prefix('(')?.strip_suffix(')')?;
    (n.chars().all(|c| c.is_ascii_digit())
        && year.len() == 4
        && year.chars().all(|c| c.is_ascii_digit()))
    .then_some(rest)
}

/// A document symbol such as `E/CN.15/2021/L.4/Rev.1` or `A/C.3/76/L.12`,
/// alone on its line or after the `United Nations` letterhead.
fn symbol_in(text: &str) -> Option<&str> {
    let candidate = text.strip_prefix("United Nations").map_or(text, str::trim);
    // A Security Council resolution's symbol carries its year: `S/RES/2801 (2025)`.
    let bare = match candidate.rsplit_once(' ') {
        Some((symbol, year))
            if year.len() == 6
                && year.starts_with('(')
                && year.ends_with(')')
                && year[1..5].chars().all(|c| c.is_ascii_digit()) =>
        {
            symbol
        }
        _ => candidate,
    };
    let (organ, rest) = bare.split_once('/')?;
    let well_formed = !organ.is_empty()
        && organ.chars().all(|c| c.is_ascii_uppercase())
        && !rest.is_empty()
        && rest
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '.' | '-' | '(' | ')'));
    well_formed.then_some(candidate)
}

/// `18 May 2021`.
fn is_date(text: &str) -> bool {
    let parts: Vec<&str> = text.split(' ').collect();
    matches!(parts.as_slice(), [day, month, year]
        if (1..=2).contains(&day.len()) && day.chars().all(|c| c.is_ascii_digit())
            && MONTHS.contains(month)
            && year.len() == 4 && year.chars().all(|c| c.is_ascii_digit()))
}

/// `Agenda item 7`, `Agenda items 3 and 4`, `Item 7 of the provisional agenda`.
fn agenda_item(text: &str) -> Option<&str> {
    let rest = text
        .strip_prefix("Agenda items ")
        .or_else(|| text.strip_prefix("Agenda item "))
        .or_else(|| text.strip_prefix("Item "))?;
    rest.starts_with(|c: char| c.is_ascii_digit())
        .then_some(rest.trim())
}

/// `Thirtieth session`, `Seventy-sixth session`, `Resumed forty-eighth session`.
fn is_session(text: &str) -> bool {
    let lower = text.to_lowercase();
    text.len() < 80 && !text.contains([':', ',']) && lower.ends_with(" session")
}

/// `Vienna, 17–21 May 2021`: a place, a comma and dates ending in a year.
fn is_venue(text: &str) -> bool {
    let Some((place, dates)) = text.split_once(", ") else {
        return false;
    };
    let year = dates.rsplit(' ').next().unwrap_or_default();
    place.chars().next().is_some_and(char::is_uppercase)
        && !text.contains(':')
        && text.len() < 100
        && year.len() == 4
        && year.chars().all(|c| c.is_ascii_digit())
}

/// `Japan: revised draft resolution`, `Chile and Spain: draft decision`, `Draft resolution
/// submitted by the Chair on the recommendation of …`, `Resolution adopted by the General
/// Assembly on 1 December 2025`, `Adopted by the Security Council at its 9520th meeting, …`.
fn is_submitted_by(text: &str) -> bool {
    let lower = text.to_lowercase();
    let by_sponsors = text.contains(':')
        && !text.ends_with(':')
        && (lower.contains("draft resolution") || lower.contains("draft decision"));
    let by_line = [
        "draft resolution submitted by ",
        "revised draft resolution submitted by ",
        "draft decision submitted by ",
        "resolution adopted by ",
        "decision adopted by ",
        "adopted by ",
    ]
    .iter()
    .any(|p| lower.starts_with(p));
    by_sponsors || by_line
}

/// `12. text` → (12, "text").
fn numbered(text: &str) -> Option<(u32, &str)> {
    let (number, rest) = text.split_once('.')?;
    if number.is_empty() || number.len() > 4 || !number.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    // `3.` alone is an empty paragraph (just inserted, not yet drafted).
    if !rest.is_empty() && !rest.starts_with(char::is_whitespace) {
        return None;
    }
    Some((number.parse().ok()?, rest.trim_start()))
}

/// `(b) text` → ("b", "text").
fn lettered(text: &str) -> Option<(&str, &str)> {
    let rest = text.strip_prefix('(')?;
    let (label, rest) = rest.split_once(')')?;
    if label.is_empty() || label.len() > 4 || !label.chars().all(|c| c.is_ascii_lowercase()) {
        return None;
    }
    if !rest.is_empty() && !rest.starts_with(char::is_whitespace) {
        return None;
    }
    Some((label, rest.trim_start()))
}

/// Page furniture of PDF conversions: job numbers (`21-06789 (E)`,
/// `V.21-03456`), page numbers (`2/4`), the symbol repeated as a running head.
fn is_page_furniture(text: &str, meta: &Meta) -> bool {
    if meta.symbol.as_deref() == symbol_in(text) && meta.symbol.is_some() {
        return true;
    }
    // A running head: the title (or the symbol and the title) repeated at the top of a page.
    if let Some(title) = meta.title.as_deref().filter(|t| !t.is_empty()) {
        let symbol = meta.symbol.as_deref().unwrap_or("\u{0}");
        let head = text
            .strip_prefix(symbol)
            .or_else(|| text.strip_suffix(symbol))
            .map_or(text, str::trim);
        let head = head
            .strip_prefix(meta.number.as_deref().unwrap_or("\u{0}"))
            .map_or(head, |h| h.trim_start_matches('.').trim());
        if head == title {
            return true;
        }
    }
    let job = text.trim_start_matches("V.");
    let job = job.split(' ').next().unwrap_or_default();
    let is_job = job.len() == 8
        && job.as_bytes().get(2) == Some(&b'-')
        && job
            .char_indices()
            .all(|(i, c)| if i == 2 { c == '-' } else { c.is_ascii_digit() });
    let is_page = text.split_once('/').is_some_and(|(a, b)| {
        !a.is_empty()
            && !b.is_empty()
            && a.chars().all(|c| c.is_ascii_digit())
            && b.chars().all(|c| c.is_ascii_digit())
    });
    is_job || is_page
}

/// A paragraph not yet finished: no closing punctuation, as when a page
/// break cuts it.
fn is_incomplete(text: &str) -> bool {
    let trimmed = text.trim_end_matches(|c: char| {
        c.is_whitespace()
            || super::inline::superscript_value(c).is_some()
            || matches!(c, '*' | '\u{201d}' | '\u{2019}' | '"' | '\'' | ')' | ']')
    });
    !trimmed.ends_with([',', ';', '.', ':', '!', '?'])
}

/// A paragraph's text ends with a full stop (before any footnote marker or closing quote): the
/// last operative paragraph of a resolution does, the others end with `;`.
fn ends_with_full_stop(text: &str) -> bool {
    let trimmed = text.trim_end_matches(|c: char| {
        c.is_whitespace()
            || super::inline::superscript_value(c).is_some()
            || matches!(c, '*' | '\u{201d}' | '\u{2019}' | '"' | '\'' | ')' | ']')
    });
    trimmed.ends_with('.')
}

#[derive(Debug)]
struct RawParagraph {
    kind: ParagraphKind,
    level: u8,
    line: usize,
    text: String,
}

#[derive(Debug)]
struct RawFootnote {
    number: u32,
    line: usize,
    text: String,
}

#[derive(Debug, Default)]
struct Body {
    paragraphs: Vec<RawParagraph>,
    footnotes: Vec<RawFootnote>,
    /// Lines after the text's final full stop (`52nd plenary meeting`, a date).
    closing: Vec<(usize, String)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Last {
    Paragraph,
    Footnote,
    Other,
}

fn parse_body(lines: &[Line<'_>], meta: &Meta, warnings: &mut Vec<ImportWarning>) -> Body {
    let mut body = Body::default();
    // Most texts separate paragraphs by a blank line; in those, a line right under a paragraph's
    // line is that paragraph again, broken by the line ends of a PDF extraction. (A layout with
    // one paragraph per line and no blank lines is read by the other cues below.)
    let blank_separated = {
        let (mut after_blank, mut nonblank) = (0usize, 0usize);
        for (i, l) in lines.iter().enumerate() {
            if !l.text.is_empty() {
                nonblank += 1;
                if i == 0 || lines[i - 1].text.is_empty() {
                    after_blank += 1;
                }
            }
        }
        after_blank * 3 >= nonblank * 2
    };

    let mut section = ParagraphKind::Preambular;
    let mut page_break = false;
    let mut last = Last::Other;
    let mut last_line = 0;
    let mut next_operative = 1u32;
    let mut next_sub = 0usize;
    let mut next_subsub = 0usize;
    let mut reopened = Vec::new();
    let mut warn = |line: &Line<'_>, message: String| {
        warnings.push(ImportWarning {
            line: line.number,
            message,
            text: line.text.to_owned(),
        });
    };

    for line in lines {
        page_break |= line.page_break;
        let text = line.text;
        if text.is_empty() {
            continue;
        }
        let adjacent = line.number == last_line + 1;
        let finished = !body.closing.is_empty()
            || (section == ParagraphKind::Operative
                && !(blank_separated && adjacent && last == Last::Paragraph)
                && body
                    .paragraphs
                    .last()
                    .is_some_and(|p| ends_with_full_stop(&p.text)));
        last_line = line.number;

        if let Some((number, _, rest)) = leading_superscript(text)
            && (rest.is_empty() || rest.starts_with(char::is_whitespace))
        {
            body.footnotes.push(RawFootnote {
                number,
                line: line.number,
                text: rest.trim().to_owned(),
            });
            page_break = true;
            last = Last::Footnote;
            continue;
        }
        if text == "*" || (text.starts_with("* ") && !text[1..].contains('*')) {
            warn(
                line,
                "footnote to the header (marked *) not imported".to_owned(),
            );
            page_break = true;
            last = Last::Other;
            continue;
        }
        if is_page_furniture(text, meta) {
            warn(line, "page header or footer skipped".to_owned());
            page_break = true;
            last = Last::Other;
            continue;
        }
        if adjacent
            && last == Last::Footnote
            && let Some(footnote) = body.footnotes.last_mut()
        {
            if !footnote.text.is_empty() {
                footnote.text.push(' ');
            }
            footnote.text.push_str(text);
            continue;
        }
        let starts_paragraph = numbered(text).is_some() || lettered(text).is_some();
        if starts_paragraph && !body.closing.is_empty() {
            // Paragraphs go on: what looked like the closing was not; those lines are
            // unnumbered operative paragraphs, as they would have been read.
            for (number, text) in std::mem::take(&mut body.closing) {
                reopened.push(ImportWarning {
                    line: number,
                    message:
                        "unnumbered line in the operative part; imported as an operative paragraph"
                            .to_owned(),
                    text: text.clone(),
                });
                body.paragraphs.push(RawParagraph {
                    kind: ParagraphKind::Operative,
                    level: 0,
                    line: number,
                    text,
                });
            }
        }
        if blank_separated
            && adjacent
            && last == Last::Paragraph
            && !starts_paragraph
            && let Some(previous) = body.paragraphs.last_mut()
        {
            if !previous.text.is_empty() && !previous.text.ends_with('-') {
                previous.text.push(' ');
            }
            previous.text.push_str(text);
            continue;
        }
        // Once the operative part has ended with its final full stop, what follows (the meeting
        // and its date) is the closing, never a paragraph.
        let lowercase = text.chars().next().is_some_and(char::is_lowercase);
        // (A line in lower case right after the final paragraph still continues it; once the
        // closing has begun, everything unnumbered belongs to it.)
        if finished && !starts_paragraph && (!lowercase || !body.closing.is_empty()) {
            body.closing.push((line.number, text.to_owned()));
            last = Last::Other;
            continue;
        }
        let previous_incomplete = body
            .paragraphs
            .last()
            .is_some_and(|p| is_incomplete(&p.text));
        let may_continue = previous_incomplete && (page_break || adjacent);

        if let Some((number, rest)) = numbered(text)
            && !(may_continue && number != next_operative)
        {
            if number != next_operative {
                warn(
                    line,
                    format!(
                        "operative paragraph numbered {number} where {next_operative} was expected"
                    ),
                );
            }
            body.paragraphs.push(RawParagraph {
                kind: ParagraphKind::Operative,
                level: 0,
                line: line.number,
                text: rest.to_owned(),
            });
            section = ParagraphKind::Operative;
            next_operative = number.saturating_add(1);
            next_sub = 0;
            next_subsub = 0;
            page_break = false;
            last = Last::Paragraph;
            continue;
        }
        if let Some((label, rest)) = lettered(text) {
            // (i) is a letter after (h), or the first of sub-sub-paragraphs. Decided on the
            // structure: a roman run follows a sub-paragraph that ends with a colon (it
            // introduces the list), and goes on while the labels count on in Roman numerals.
            let previous = body.paragraphs.last();
            let in_roman_run = previous.is_some_and(|p| p.level >= 2);
            let introduces =
                previous.is_some_and(|p| p.level == 1 && p.text.trim_end().ends_with(':'));
            let roman_next = (in_roman_run && label == roman(next_subsub))
                || (!in_roman_run && introduces && label == "i");
            let (level, expected) = if roman_next {
                (2, roman(next_subsub))
            } else {
                (1, letter(next_sub))
            };
            if label != expected {
                warn(
                    line,
                    format!("sub-paragraph ({label}) where ({expected}) was expected"),
                );
            }
            body.paragraphs.push(RawParagraph {
                kind: section,
                level,
                line: line.number,
                text: rest.to_owned(),
            });
            if level == 2 {
                next_subsub += 1;
            } else {
                next_sub += 1;
                next_subsub = 0;
            }
            page_break = false;
            last = Last::Paragraph;
            continue;
        }
        if let Some(previous) = body.paragraphs.last_mut()
            && (may_continue || lowercase)
        {
            if !may_continue {
                warn(
                    line,
                    "line starting in lower case joined to the previous paragraph".to_owned(),
                );
            }
            if !previous.text.is_empty() && !previous.text.ends_with('-') {
                previous.text.push(' ');
            }
            previous.text.push_str(text);
            page_break = false;
            last = Last::Paragraph;
            continue;
        }
        if section == ParagraphKind::Operative {
            warn(
                line,
                "unnumbered line in the operative part; imported as an operative paragraph"
                    .to_owned(),
            );
        }
        body.paragraphs.push(RawParagraph {
            kind: section,
            level: 0,
            line: line.number,
            text: text.to_owned(),
        });
        next_sub = 0;
        page_break = false;
        last = Last::Paragraph;
    }
    warnings.extend(reopened);
    body
}

/// Turns raw paragraphs into runs, guessing lost italics, and ties footnote
/// markers to footnote texts.
fn resolve(body: Body, warnings: &mut Vec<ImportWarning>) -> (Vec<Paragraph>, Vec<Footnote>) {
    let mut ids: HashMap<u32, (String, usize)> = HashMap::new();
    let mut referenced: Vec<(u32, usize)> = Vec::new();
    let mut paragraphs = Vec::with_capacity(body.paragraphs.len());

    for (index, raw) in body.paragraphs.into_iter().enumerate() {
        let parsed = parse_inline(&raw.text);
        if parsed.unclosed_italic {
            warnings.push(ImportWarning {
                line: raw.line,
                message: "italics opened with * and never closed".to_owned(),
                text: raw.text.clone(),
            });
        }
        let mut pieces = parsed.pieces;
        if !parsed.had_markup && raw.level == 0 {
            italicise_opening(&mut pieces, raw.kind);
        }
        let mut runs = Vec::with_capacity(pieces.len());
        for piece in pieces {
            match piece {
                Piece::Text { text, italic } => runs.push(Run {
                    text,
                    italic,
                    footnote: None,
                }),
                Piece::Marker { number, .. } => {
                    let (id, order) = ids.entry(number).or_insert_with(|| {
                        referenced.push((number, raw.line));
                        (format!("fn{}", referenced.len()), referenced.len())
                    });
                    // The marker prints the footnote's number by order of
                    // reference, as the document model derives it; a
                    // misnumbered source is reported below.
                    runs.push(Run {
                        text: superscript(u32::try_from(*order).unwrap_or(u32::MAX)),
                        italic: false,
                        footnote: Some(id.clone()),
                    });
                }
            }
        }
        trim_runs(&mut runs);
        paragraphs.push(Paragraph {
            id: format!("p{}", index + 1),
            kind: raw.kind,
            level: raw.level,
            status: Status::Open,
            text: runs,
            number: String::new(),
            label: String::new(),
        });
    }

    // Numbers as the document model derives them from order (a misnumbered source has been
    // warned about).
    let items: Vec<(ParagraphKind, u8)> = paragraphs.iter().map(|p| (p.kind, p.level)).collect();
    for (p, l) in paragraphs.iter_mut().zip(crate::numbering::plain(&items)) {
        p.number = l.number;
    }

    for (position, &(number, line)) in referenced.iter().enumerate() {
        if usize::try_from(number).ok() != Some(position + 1) {
            warnings.push(ImportWarning {
                line,
                message: format!(
                    "footnote marker {number} out of sequence (footnote {} by order of reference)",
                    position + 1
                ),
                text: String::new(),
            });
        }
    }

    let mut texts: HashMap<u32, RawFootnote> = HashMap::new();
    for footnote in body.footnotes {
        if !ids.contains_key(&footnote.number) {
            warnings.push(ImportWarning {
                line: footnote.line,
                message: format!(
                    "footnote {} has no reference in the paragraphs; not imported",
                    footnote.number
                ),
                text: footnote.text,
            });
        } else if let Some(first) = texts.get(&footnote.number) {
            warnings.push(ImportWarning {
                line: footnote.line,
                message: format!(
                    "second text for footnote {} (the first is on line {}); the first one is kept",
                    footnote.number, first.line
                ),
                text: footnote.text,
            });
        } else {
            texts.insert(footnote.number, footnote);
        }
    }

    let footnotes = referenced
        .iter()
        .enumerate()
        .map(|(position, &(number, line))| {
            let text = match texts.remove(&number) {
                Some(raw) => footnote_runs(&raw, warnings),
                None => {
                    warnings.push(ImportWarning {
                        line,
                        message: format!(
                            "footnote {number} is referenced but its text was not found"
                        ),
                        text: String::new(),
                    });
                    Vec::new()
                }
            };
            Footnote {
                id: ids
                    .get(&number)
                    .map(|(id, _)| id.clone())
                    .unwrap_or_default(),
                marker: u32::try_from(position + 1).unwrap_or(u32::MAX),
                text,
            }
        })
        .collect();
    (paragraphs, footnotes)
}

fn footnote_runs(raw: &RawFootnote, warnings: &mut Vec<ImportWarning>) -> Vec<Run> {
    let parsed = parse_inline(&raw.text);
    if parsed.unclosed_italic {
        warnings.push(ImportWarning {
            line: raw.line,
            message: "italics opened with * and never closed".to_owned(),
            text: raw.text.clone(),
        });
    }
    let mut runs: Vec<Run> = Vec::new();
    for piece in parsed.pieces {
        let (text, italic) = match piece {
            Piece::Text { text, italic } => (text, italic),
            // No footnotes inside footnotes: the superscript is just text.
            Piece::Marker { printed, .. } => (printed, false),
        };
        match runs.last_mut() {
            Some(last) if last.italic == italic => last.text.push_str(&text),
            _ => runs.push(Run {
                text,
                italic,
                footnote: None,
            }),
        }
    }
    trim_runs(&mut runs);
    runs
}

/// Whitespace at either end of a paragraph is layout, not text (markup can
/// leave some, as in `text *`): trimmed so that what is read is what a
/// re-export writes.
fn trim_runs(runs: &mut Vec<Run>) {
    runs.retain(|r| r.footnote.is_some() || !r.text.is_empty());
    while let Some(first) = runs.first_mut().filter(|r| r.footnote.is_none()) {
        first.text = first.text.trim_start().to_owned();
        if !first.text.is_empty() {
            break;
        }
        runs.remove(0);
    }
    while let Some(last) = runs.last_mut().filter(|r| r.footnote.is_none()) {
        last.text = last.text.trim_end().to_owned();
        if !last.text.is_empty() {
            break;
        }
        runs.pop();
    }
}

/// Splits the guessed opening phrase off the first piece as italics.
fn italicise_opening(pieces: &mut Vec<Piece>, kind: ParagraphKind) {
    let Some(Piece::Text { text, .. }) = pieces.first() else {
        return;
    };
    let end = match kind {
        ParagraphKind::Preambular => preambular_opening(text),
        ParagraphKind::Operative => operative_opening(text),
    };
    if end == 0 {
        return;
    }
    let opening = text[..end].to_owned();
    let rest = text[end..].to_owned();
    pieces[0] = Piece::Text {
        text: opening,
        italic: true,
    };
    if !rest.is_empty() {
        pieces.insert(
            1,
            Piece::Text {
                text: rest,
                italic: false,
            },
        );
    }
}
