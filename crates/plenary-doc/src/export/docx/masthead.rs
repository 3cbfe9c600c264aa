//! The top of page 1, as the UN prints it:
//!
//! ```text
//! United Nations                                        A/C.3/76/L.10/Rev.1
//! ──────────────────────────────────────────────────────────────────────────
//! General Assembly                               Distr.: Limited
//!                                                18 November 2021
//!
//!                                                Original: English
//! ━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━
//! Seventy-sixth session
//! Third Committee
//! Agenda item 105
//! Crime prevention and criminal justice                        (bold)
//!
//!       Japan: revised draft resolution
//!
//!          Reducing reoffending through rehabilitation …      (centred, bold)
//!
//!       The General Assembly,
//! ```

use docx_rs::{
    AlignmentType, BorderType, LineSpacing, Paragraph as WordParagraph, ParagraphBorder,
    ParagraphBorderPosition, ParagraphBorders, Run as WordRun, SpecialIndentType, Tab,
    TabValueType,
};

use super::{BODY_SIZE, INDENT, TEXT_WIDTH, clean};
use crate::model::Meta;

/// Half-points: the organ's name, 17 pt.
const ORGAN_SIZE: usize = 34;
/// Half-points: the symbol at the top right, 14 pt.
const SYMBOL_SIZE: usize = 28;
/// Half-points: the title, 12 pt.
const TITLE_SIZE: usize = 24;
/// Where the right-hand column of the masthead (Distr., date, Original)
/// starts.
const RIGHT_COLUMN: i32 = TEXT_WIDTH * 2 / 3;
/// Eighths of a point: the thin rule under the symbol and the thick one
/// under the organ.
const THIN_RULE: usize = 6;
const THICK_RULE: usize = 24;

fn tab_stop(kind: TabValueType, at: i32) -> Tab {
    Tab::new()
        .val(kind)
        .pos(usize::try_from(at).unwrap_or_default())
}

fn rule(paragraph: WordParagraph, size: usize) -> WordParagraph {
    let border = ParagraphBorder::new(ParagraphBorderPosition::Bottom)
        .val(BorderType::Single)
        .size(size)
        .space(1);
    let mut paragraph = paragraph;
    paragraph.property = paragraph
        .property
        .set_borders(ParagraphBorders::with_empty().set(border));
    paragraph
}

fn tight() -> LineSpacing {
    LineSpacing::new().before(0).after(0)
}

fn text(t: &str) -> WordRun {
    WordRun::new().add_text(clean(t))
}

/// The two ruled bands of the masthead: United Nations and the symbol; the
/// organ and the distribution, date and original language. Empty when
/// `meta` has none of them (a bare draft starts with its heading).
pub(super) fn masthead(meta: &Meta) -> Vec<WordParagraph> {
    let right_column = [
        meta.distribution.as_deref().map(|d| format!("Distr.: {d}")),
        meta.date.clone(),
        meta.original.as_deref().map(|o| format!("Original: {o}")),
    ];
    if meta.symbol.is_none() && meta.organ.is_none() && right_column.iter().all(Option::is_none) {
        return Vec::new();
    }
    let mut out = Vec::new();

    // United Nations ........................................ symbol
    let mut top = WordParagraph::new()
        .line_spacing(tight())
        .add_tab(tab_stop(TabValueType::Right, TEXT_WIDTH))
        .add_run(text("United Nations").size(BODY_SIZE));
    if let Some(symbol) = &meta.symbol {
        top = top
            .add_run(WordRun::new().add_tab())
            .add_run(text(symbol).bold().size(SYMBOL_SIZE));
    }
    out.push(rule(top, THIN_RULE));

    // Organ ........................ Distr.: / date / (blank) / Original:
    let mut lines: Vec<WordParagraph> = Vec::new();
    let column = || {
        WordParagraph::new()
            .line_spacing(tight())
            .add_tab(tab_stop(TabValueType::Left, RIGHT_COLUMN))
    };
    let mut first = column().line_spacing(LineSpacing::new().before(120).after(0));
    if let Some(organ) = &meta.organ {
        first = first.add_run(text(organ).bold().size(ORGAN_SIZE));
    }
    let [distribution, date, original] = right_column;
    let mut rest: Vec<String> = Vec::new();
    match distribution {
        Some(d) => {
            first = first.add_run(WordRun::new().add_tab()).add_run(text(&d));
            rest.extend(date);
        }
        None => {
            if let Some(date) = date {
                first = first.add_run(WordRun::new().add_tab()).add_run(text(&date));
            }
        }
    }
    lines.push(first);
    for line in rest {
        lines.push(
            column()
                .add_run(WordRun::new().add_tab())
                .add_run(text(&line)),
        );
    }
    if let Some(original) = original {
        // A blank line before Original, as printed.
        lines.push(column());
        lines.push(
            column()
                .add_run(WordRun::new().add_tab())
                .add_run(text(&original)),
        );
    }
    let last = lines.len() - 1;
    lines[last] = rule(
        lines[last]
            .clone()
            .line_spacing(LineSpacing::new().before(0).after(240)),
        THICK_RULE,
    );
    out.extend(lines);
    out
}

/// Everything between the masthead and the first paragraph: the session,
/// committee and agenda lines, the submitted-by and report lines, the
/// introduction, the (numbered) title centred in bold, and the acting body.
pub(super) fn heading(meta: &Meta) -> Vec<WordParagraph> {
    let line = |t: &str| WordParagraph::new().line_spacing(tight()).add_run(text(t));
    let mut out = Vec::new();

    // The General Assembly prints its session above the committee; other
    // organs' bodies (a commission, a council) come first. A numbered
    // resolution without a title (the Security Council's "Resolution 2801
    // (2025)") has its adoption line under that heading instead.
    let untitled = meta.number.is_some() && meta.title.is_none();
    let assembly = meta
        .organ
        .as_deref()
        .is_some_and(|o| o.trim() == "General Assembly");
    let venue = if untitled { &None } else { &meta.venue };
    let block: Vec<&String> = if assembly {
        [&meta.session, &meta.body, venue]
    } else {
        [&meta.body, &meta.session, venue]
    }
    .into_iter()
    .flatten()
    .collect();
    for value in block {
        out.push(line(value));
    }
    if let Some(item) = &meta.agenda_item {
        out.push(line(&format!("Agenda item {item}")));
    }
    if let Some(title) = &meta.agenda_title {
        out.push(
            WordParagraph::new()
                .line_spacing(tight())
                .indent(None, None, Some(TEXT_WIDTH / 3), None)
                .add_run(text(title).bold()),
        );
    }

    // An adopted resolution's "Resolution adopted by …" line is a heading
    // (bold) above its bracketed report line; a draft's sponsors line is
    // text on a hanging indent.
    let adopted = meta.number.is_some() || meta.report.is_some();
    if let Some(submitted) = &meta.submitted_by {
        let run = text(submitted);
        let paragraph =
            WordParagraph::new().line_spacing(LineSpacing::new().before(360).after(120));
        out.push(if adopted {
            paragraph
                .align(AlignmentType::Center)
                .add_run(run.bold().size(TITLE_SIZE))
        } else {
            paragraph
                .indent(
                    Some(2 * INDENT),
                    Some(SpecialIndentType::Hanging(INDENT)),
                    Some(INDENT),
                    None,
                )
                .align(AlignmentType::Left)
                .add_run(run)
        });
    }
    if let Some(report) = &meta.report {
        out.push(
            WordParagraph::new()
                .align(AlignmentType::Center)
                .line_spacing(LineSpacing::new().before(0).after(120))
                .add_run(text(report)),
        );
    }
    if let Some(introduction) = &meta.introduction {
        out.push(
            WordParagraph::new()
                .align(AlignmentType::Both)
                .indent(
                    Some(INDENT),
                    Some(SpecialIndentType::FirstLine(INDENT)),
                    Some(INDENT),
                    None,
                )
                .line_spacing(LineSpacing::new().before(120).after(120))
                .add_run(text(introduction)),
        );
    }
    let title = heading_title(meta);
    if let Some(title) = &title {
        out.push(
            WordParagraph::new()
                .align(AlignmentType::Center)
                .indent(Some(INDENT), None, Some(INDENT), None)
                .line_spacing(LineSpacing::new().before(240).after(240))
                .keep_next(true)
                .add_run(text(title).bold().size(TITLE_SIZE)),
        );
    }
    if let (true, Some(venue)) = (untitled, &meta.venue) {
        out.push(
            WordParagraph::new()
                .align(AlignmentType::Center)
                .line_spacing(LineSpacing::new().before(0).after(240))
                .add_run(text(venue)),
        );
    }
    if let Some(acting) = &meta.acting_body {
        out.push(
            WordParagraph::new()
                .indent(
                    Some(INDENT),
                    Some(SpecialIndentType::FirstLine(INDENT)),
                    None,
                    None,
                )
                .line_spacing(LineSpacing::new().after(120))
                .keep_next(true)
                .add_run(text(acting)),
        );
    }
    out
}

/// The title as printed: `80/12. Objective information …` for a numbered
/// resolution, `Resolution 2801 (2025)` for a numbered one without a title.
pub(crate) fn heading_title(meta: &Meta) -> Option<String> {
    let number = meta
        .number
        .as_deref()
        .map(|n| n.trim().trim_end_matches('.'));
    match (number, meta.title.as_deref()) {
        (Some(number), Some(title)) => Some(format!("{number}. {title}")),
        (Some(number), None) => Some(format!("Resolution {number}")),
        (None, title) => title.map(str::to_owned),
    }
}
