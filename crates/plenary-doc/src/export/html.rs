//! A standalone HTML page laid out as a UN draft is printed: the header
//! block, the title in bold, the acting body, indented preambular
//! paragraphs, operative paragraphs with hanging numbers, and footnotes at
//! the bottom linked both ways. Everything from the document is escaped.

use std::collections::HashSet;
use std::fmt::Write as _;

use super::numbering::Numbering;
use crate::model::{ParagraphKind, Resolution, Run};

const STYLE: &str = "\
body{font-family:\"Times New Roman\",Times,serif;font-size:12pt;line-height:1.35;max-width:42em;margin:2em auto;padding:0 1em;color:#000}
header.un-header{display:grid;grid-template-columns:1fr auto;gap:0 2em;border-bottom:1px solid #000;padding-bottom:.5em;margin-bottom:1em}
header .symbol{grid-column:2;font-weight:bold;text-align:right}
header .organ{font-size:1.3em;font-weight:bold}
header .distribution,header .date,header .original{grid-column:2;text-align:right}
.meta p{margin:.2em 0}
.agenda-title{font-weight:bold}
h1.title{font-size:1em;font-weight:bold;margin:1.5em 0 1em}
p.acting-body{margin:1em 0 1em 2.5em}
p.preambular{text-indent:2.5em;text-align:justify}
p.operative{text-indent:2.5em;text-align:justify}
p.sub-paragraph{margin-left:5em;text-indent:-2.5em;text-align:justify}
p.sub-sub-paragraph{margin-left:7.5em;text-indent:-2.5em;text-align:justify}
sup.footnote-ref a{text-decoration:none}
div.closing{text-align:right;font-style:italic;margin-top:1.5em}
section.footnotes{border-top:1px solid #000;margin-top:2em;font-size:10pt}
section.footnotes p{margin:.2em 0}
";

/// Renders a resolution as a complete HTML5 page (UTF-8, inline style).
pub fn export_html(resolution: &Resolution) -> String {
    let numbering = Numbering::of(resolution);
    let meta = &super::sponsored_meta(resolution);
    let mut out = String::new();
    let lang = meta
        .original
        .as_deref()
        .and_then(language_tag)
        .unwrap_or("en");
    let title = meta
        .title
        .as_deref()
        .or(meta.symbol.as_deref())
        .unwrap_or("Draft resolution");
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"{lang}\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>\n{STYLE}</style>\n</head>\n<body>\n<article class=\"resolution\">\n",
        escape(title)
    );

    out.push_str("<header class=\"un-header\">\n");
    let header_field = |out: &mut String, class: &str, value: &Option<String>, prefix: &str| {
        if let Some(value) = value {
            let _ = writeln!(
                out,
                "<div class=\"{class}\">{prefix}{}</div>",
                escape(value)
            );
        }
    };
    header_field(&mut out, "organ", &meta.organ, "");
    header_field(&mut out, "symbol", &meta.symbol, "");
    header_field(&mut out, "distribution", &meta.distribution, "Distr.: ");
    header_field(&mut out, "date", &meta.date, "");
    header_field(&mut out, "original", &meta.original, "Original: ");
    out.push_str("</header>\n<div class=\"meta\">\n");
    let meta_line = |out: &mut String, class: &str, value: &Option<String>, prefix: &str| {
        if let Some(value) = value {
            let _ = writeln!(out, "<p class=\"{class}\">{prefix}{}</p>", escape(value));
        }
    };
    meta_line(&mut out, "body", &meta.body, "");
    meta_line(&mut out, "session", &meta.session, "");
    meta_line(&mut out, "venue", &meta.venue, "");
    meta_line(&mut out, "agenda-item", &meta.agenda_item, "Agenda item ");
    meta_line(&mut out, "agenda-title", &meta.agenda_title, "");
    meta_line(&mut out, "submitted-by", &meta.submitted_by, "");
    meta_line(&mut out, "report", &meta.report, "");
    meta_line(&mut out, "introduction", &meta.introduction, "");
    out.push_str("</div>\n");
    match (&meta.number, &meta.title) {
        (Some(number), title) => {
            let _ = writeln!(
                out,
                "<h1 class=\"title\"><span class=\"number\">{}.</span> {}</h1>",
                escape(number),
                escape(title.as_deref().unwrap_or_default())
            );
        }
        (None, Some(title)) => {
            let _ = writeln!(out, "<h1 class=\"title\">{}</h1>", escape(title));
        }
        (None, None) => {}
    }
    meta_line(&mut out, "acting-body", &meta.acting_body, "");

    let mut referenced = HashSet::new();
    for (paragraph, number) in resolution.paragraphs.iter().zip(&numbering.paragraphs) {
        let body = runs_html(&paragraph.text, &numbering, &mut referenced);
        // Prefixed: document ids must not collide with the footnote anchors.
        let id = escape(&paragraph.id);
        let _ = match (paragraph.level, paragraph.kind) {
            (0, ParagraphKind::Preambular) => {
                writeln!(out, "<p class=\"preambular\" id=\"para-{id}\">{body}</p>")
            }
            (0, ParagraphKind::Operative) => writeln!(
                out,
                "<p class=\"operative\" id=\"para-{id}\"><span class=\"num\">{number}.</span>\u{a0}{body}</p>"
            ),
            (level, _) => writeln!(
                out,
                "<p class=\"{}\" id=\"para-{id}\"><span class=\"num\">({number})</span>\u{a0}{body}</p>",
                if level >= 2 {
                    "sub-sub-paragraph"
                } else {
                    "sub-paragraph"
                }
            ),
        };
    }
    if let Some(closing) = &meta.closing {
        out.push_str("<div class=\"closing\">\n");
        for line in closing.lines() {
            let _ = writeln!(out, "<p>{}</p>", escape(line));
        }
        out.push_str("</div>\n");
    }

    if !numbering.footnotes.is_empty() {
        out.push_str("<section class=\"footnotes\">\n");
        for footnote in &numbering.footnotes {
            let n = numbering.footnote(&footnote.id);
            let _ = writeln!(
                out,
                "<p id=\"fn{n}\"><sup><a href=\"#fnref{n}\">{n}</a></sup>\u{a0}{}</p>",
                runs_html(&footnote.text, &numbering, &mut referenced)
            );
        }
        out.push_str("</section>\n");
    }
    out.push_str("</article>\n</body>\n</html>\n");
    out
}

/// `referenced` collects the footnotes already referenced, so that only
/// the first reference carries the `fnrefN` anchor (ids must be unique).
fn runs_html(runs: &[Run], numbering: &Numbering<'_>, referenced: &mut HashSet<u32>) -> String {
    let mut out = String::new();
    for run in runs {
        match &run.footnote {
            Some(id) => {
                let n = numbering.footnote(id);
                let anchor = if referenced.insert(n) {
                    format!(" id=\"fnref{n}\"")
                } else {
                    String::new()
                };
                let _ = write!(
                    out,
                    "<sup class=\"footnote-ref\"><a href=\"#fn{n}\"{anchor}>{n}</a></sup>"
                );
            }
            None if run.italic => {
                let _ = write!(out, "<i>{}</i>", escape(&run.text));
            }
            None => out.push_str(&escape(&run.text)),
        }
    }
    out
}

/// HTML-escapes text for element content and double-quoted attributes.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The BCP 47 tag of a UN official language named in `Original:`.
fn language_tag(original: &str) -> Option<&'static str> {
    Some(match original.trim() {
        "English" => "en",
        "French" => "fr",
        "Spanish" => "es",
        "Russian" => "ru",
        "Arabic" => "ar",
        "Chinese" => "zh",
        _ => return None,
    })
}
