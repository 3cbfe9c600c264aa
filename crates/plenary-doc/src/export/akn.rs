//! Akoma Ntoso 3.0 in the AKN4UN profile: the machine-readable form UN
//! documentation systems exchange.
//!
//! `<statement name="resolution">` with a minimal FRBR identification,
//! a `preface` (symbol, organ, dates, title …), a `preamble` holding the
//! acting body as `<formula name="actingEntity">` and one
//! `<container name="preambularParagraph">` per preambular paragraph, and a
//! `mainBody` of `<paragraph eId="para_N">` with `<num>` and `<content>`,
//! sub-paragraphs as `<list>`/`<point>`. Italics are `<i>`; a footnote is an
//! `<authorialNote placement="bottom">` at its reference point.

use std::cell::Cell;
use std::fmt::Write as _;

use super::numbering::Numbering;
use crate::model::{Meta, Paragraph, ParagraphKind, Resolution, Run};

const NAMESPACE: &str = "http://docs.oasis-open.org/legaldocml/ns/akn/3.0";

/// Renders a resolution as an Akoma Ntoso 3.0 XML document (UTF-8).
pub fn export_akn(resolution: &Resolution) -> String {
    let notes = Notes {
        numbering: Numbering::of(resolution),
        written: Cell::new(0),
    };
    let meta = &resolution.meta;
    let mut out = String::new();
    let _ = write!(
        out,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<akomaNtoso xmlns=\"{NAMESPACE}\">\n<statement name=\"resolution\">\n"
    );
    write_meta(&mut out, meta);
    write_preface(&mut out, meta);

    let groups = group(&resolution.paragraphs, &notes.numbering.paragraphs);
    out.push_str("<preamble>\n");
    if let Some(acting) = &meta.acting_body {
        let _ = writeln!(
            out,
            "<formula name=\"actingEntity\"><p>{}</p></formula>",
            escape(acting)
        );
    }
    let mut container = 0;
    for g in groups
        .iter()
        .filter(|g| g.head.kind == ParagraphKind::Preambular)
    {
        container += 1;
        let _ = write!(
            out,
            "<container name=\"preambularParagraph\" eId=\"preamble__container_{container}\"><p>{}</p>",
            runs_xml(&g.head.text, &notes)
        );
        if !g.subs.is_empty() {
            out.push_str("<blockList>");
            for (sub, number) in &g.subs {
                let _ = write!(
                    out,
                    "<item><num>({number})</num><p>{}</p></item>",
                    runs_xml(&sub.text, &notes)
                );
            }
            out.push_str("</blockList>");
        }
        out.push_str("</container>\n");
    }
    out.push_str("</preamble>\n<mainBody>\n");
    for g in groups
        .iter()
        .filter(|g| g.head.kind == ParagraphKind::Operative)
    {
        // An unnumbered operative paragraph (never printed so) keeps a
        // position-based id.
        let eid = format!("para_{}", g.number);
        let _ = write!(
            out,
            "<paragraph eId=\"{eid}\"><num>{}.</num>",
            escape(&g.number)
        );
        let text = runs_xml(&g.head.text, &notes);
        if g.subs.is_empty() {
            let _ = write!(out, "<content><p>{text}</p></content>");
        } else {
            let _ = write!(
                out,
                "<intro><p>{text}</p></intro><list eId=\"{eid}__list_1\">"
            );
            for (sub, number) in &g.subs {
                let _ = write!(
                    out,
                    "<point eId=\"{eid}__list_1__point_{number}\"><num>({number})</num><content><p>{}</p></content></point>",
                    runs_xml(&sub.text, &notes)
                );
            }
            out.push_str("</list>");
        }
        out.push_str("</paragraph>\n");
    }
    out.push_str("</mainBody>\n</statement>\n</akomaNtoso>\n");
    out
}

/// A level-0 paragraph with the sub-paragraphs that follow it.
struct Group<'a> {
    head: &'a Paragraph,
    number: String,
    subs: Vec<(&'a Paragraph, &'a str)>,
}

fn group<'a>(paragraphs: &'a [Paragraph], numbers: &'a [String]) -> Vec<Group<'a>> {
    let mut groups: Vec<Group<'a>> = Vec::new();
    let mut unnumbered = 0;
    for (paragraph, number) in paragraphs.iter().zip(numbers) {
        match groups.last_mut() {
            Some(last) if paragraph.level > 0 => last.subs.push((paragraph, number.as_str())),
            _ => {
                let number = if number.is_empty() && paragraph.kind == ParagraphKind::Operative {
                    unnumbered += 1;
                    format!("x{unnumbered}")
                } else {
                    number.clone()
                };
                groups.push(Group {
                    head: paragraph,
                    number,
                    subs: Vec::new(),
                });
            }
        }
    }
    groups
}

fn write_meta(out: &mut String, meta: &Meta) {
    let date = meta
        .date
        .as_deref()
        .and_then(iso_date)
        .unwrap_or_else(|| "9999-01-01".to_owned());
    let number = meta
        .symbol
        .as_deref()
        .map(|s| s.replace('/', "-").to_lowercase())
        .unwrap_or_else(|| "draft".to_owned());
    let work = format!("/akn/un/statement/resolution/{date}/{}", escape(&number));
    let language = meta
        .original
        .as_deref()
        .and_then(language_code)
        .unwrap_or("eng");
    let expression = format!("{work}/{language}@");
    let author = slug(meta.organ.as_deref().unwrap_or("United Nations"));
    let _ = write!(
        out,
        "<meta>\n<identification source=\"#plenary\">\n\
         <FRBRWork><FRBRthis value=\"{work}/!main\"/><FRBRuri value=\"{work}\"/>\
         <FRBRdate date=\"{date}\" name=\"issued\"/><FRBRauthor href=\"#{author}\"/>\
         <FRBRcountry value=\"un\"/><FRBRname value=\"resolution\"/></FRBRWork>\n\
         <FRBRExpression><FRBRthis value=\"{expression}/!main\"/><FRBRuri value=\"{expression}\"/>\
         <FRBRdate date=\"{date}\" name=\"issued\"/><FRBRauthor href=\"#{author}\"/>\
         <FRBRlanguage language=\"{language}\"/></FRBRExpression>\n\
         <FRBRManifestation><FRBRthis value=\"{expression}/!main.xml\"/><FRBRuri value=\"{expression}.akn\"/>\
         <FRBRdate date=\"{date}\" name=\"generated\"/><FRBRauthor href=\"#plenary\"/></FRBRManifestation>\n\
         </identification>\n\
         <references source=\"#plenary\">\
         <TLCOrganization eId=\"plenary\" href=\"/ontology/organization/un/plenary\" showAs=\"Plenary\"/>\
         <TLCOrganization eId=\"{author}\" href=\"/ontology/organization/un/{author}\" showAs=\"{}\"/>\
         </references>\n</meta>\n",
        escape(meta.organ.as_deref().unwrap_or("United Nations"))
    );
}

fn write_preface(out: &mut String, meta: &Meta) {
    out.push_str("<preface>\n");
    let p = |out: &mut String, class: &str, inner: String| {
        let _ = writeln!(out, "<p class=\"{class}\">{inner}</p>");
    };
    if let Some(symbol) = &meta.symbol {
        p(
            out,
            "symbol",
            format!("<docNumber>{}</docNumber>", escape(symbol)),
        );
    }
    if let Some(organ) = &meta.organ {
        p(
            out,
            "organ",
            format!("<docAuthority>{}</docAuthority>", escape(organ)),
        );
    }
    if let Some(distribution) = &meta.distribution {
        p(
            out,
            "distribution",
            format!("Distr.: <docStatus>{}</docStatus>", escape(distribution)),
        );
    }
    if let Some(date) = &meta.date {
        let iso = iso_date(date).unwrap_or_else(|| "9999-01-01".to_owned());
        p(
            out,
            "date",
            format!("<docDate date=\"{iso}\">{}</docDate>", escape(date)),
        );
    }
    if let Some(original) = &meta.original {
        p(out, "original", format!("Original: {}", escape(original)));
    }
    if let Some(body) = &meta.body {
        p(
            out,
            "body",
            format!("<docCommittee>{}</docCommittee>", escape(body)),
        );
    }
    if let Some(session) = &meta.session {
        p(
            out,
            "session",
            format!("<session value=\"{0}\">{0}</session>", escape(session)),
        );
    }
    if let Some(venue) = &meta.venue {
        p(out, "venue", escape(venue));
    }
    if let Some(item) = &meta.agenda_item {
        p(out, "agendaItem", format!("Agenda item {}", escape(item)));
    }
    if let Some(title) = &meta.agenda_title {
        p(out, "agendaTitle", escape(title));
    }
    if let Some(submitted) = &meta.submitted_by {
        let inner = match submitted.split_once(':') {
            Some((proponent, rest)) => format!(
                "<docProponent>{}</docProponent>:{}",
                escape(proponent),
                escape(rest)
            ),
            None => escape(submitted),
        };
        p(out, "submittedBy", inner);
    }
    if let Some(report) = &meta.report {
        p(out, "report", escape(report));
    }
    if let Some(introduction) = &meta.introduction {
        p(out, "introduction", escape(introduction));
    }
    match (&meta.number, &meta.title) {
        (Some(number), title) => p(
            out,
            "title",
            format!(
                "<docNumber>{}</docNumber>. <docTitle>{}</docTitle>",
                escape(number),
                escape(title.as_deref().unwrap_or_default())
            ),
        ),
        (None, Some(title)) => p(
            out,
            "title",
            format!("<docTitle>{}</docTitle>", escape(title)),
        ),
        (None, None) => {}
    }
    out.push_str("</preface>\n");
}

/// Numbering plus a count of the notes written, for unique `eId`s when a
/// footnote is referenced twice.
struct Notes<'a> {
    numbering: Numbering<'a>,
    written: Cell<u32>,
}

fn runs_xml(runs: &[Run], notes: &Notes<'_>) -> String {
    let numbering = &notes.numbering;
    let mut out = String::new();
    for run in runs {
        match &run.footnote {
            Some(id) => {
                let n = numbering.footnote(id);
                let text = numbering
                    .footnotes
                    .iter()
                    .find(|f| &f.id == id)
                    .map(|f| runs_xml(&f.text, notes))
                    .unwrap_or_default();
                let k = notes.written.get() + 1;
                notes.written.set(k);
                let _ = write!(
                    out,
                    "<authorialNote marker=\"{n}\" placement=\"bottom\" eId=\"authorialNote_{k}\"><p>{text}</p></authorialNote>"
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

/// XML-escapes text; characters XML 1.0 forbids (most C0 controls) are
/// dropped so the output stays well-formed whatever a delegate typed.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if c < ' ' || c == '\u{fffe}' || c == '\u{ffff}' => {}
            c => out.push(c),
        }
    }
    out
}

/// `18 May 2021` → `2021-05-18`.
fn iso_date(date: &str) -> Option<String> {
    const MONTHS: [&str; 12] = [
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
    let mut parts = date.split_whitespace();
    let day: u32 = parts.next()?.parse().ok()?;
    let month_name = parts.next()?;
    let month = MONTHS.iter().position(|m| *m == month_name)? + 1;
    let year: u32 = parts.next()?.parse().ok()?;
    (parts.next().is_none() && (1..=31).contains(&day) && year <= 9999)
        .then(|| format!("{year:04}-{month:02}-{day:02}"))
}

/// The ISO 639-2 code of a UN official language named in `Original:`.
fn language_code(original: &str) -> Option<&'static str> {
    Some(match original.trim() {
        "English" => "eng",
        "French" => "fra",
        "Spanish" => "spa",
        "Russian" => "rus",
        "Arabic" => "ara",
        "Chinese" => "zho",
        _ => return None,
    })
}

/// An organ's name as an XML id and URI segment: `economic-and-social-council`.
fn slug(name: &str) -> String {
    let words: Vec<String> = name
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_lowercase)
        .collect();
    match words.first() {
        Some(first) if !first.starts_with(|c: char| c.is_ascii_digit()) => words.join("-"),
        Some(_) => format!("organ-{}", words.join("-")),
        None => "organ".to_owned(),
    }
}
