//! Akoma Ntoso 3.0 in the AKN4UN profile: the machine-readable form UN
//! documentation systems exchange.
//!
//! `<statement name="resolution">` with an FRBR identification unique to the
//! document (organ, date, symbol or document name: see `Frbr`),
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

/// What the Akoma Ntoso export takes besides the resolution.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AknOptions<'a> {
    /// The document's name in the store (`ccpcj/reoffending`): it identifies
    /// the work when the draft has no symbol yet, so that two such drafts of
    /// one organ and day do not share FRBR identifiers. The symbol, when
    /// there is one, wins.
    pub document_name: Option<&'a str>,
}

/// Renders a resolution as an Akoma Ntoso 3.0 XML document (UTF-8); a draft
/// without a symbol gets the placeholder number `~` (see [`export_akn_with`]).
pub fn export_akn(resolution: &Resolution) -> String {
    export_akn_with(resolution, &AknOptions::default())
}

/// Renders a resolution as an Akoma Ntoso 3.0 XML document (UTF-8), its FRBR
/// identifiers made from the organ, the date and the symbol, or the
/// document name of `options` when there is no symbol.
pub fn export_akn_with(resolution: &Resolution, options: &AknOptions<'_>) -> String {
    let notes = Notes {
        numbering: Numbering::of(resolution),
        written: Cell::new(0),
    };
    let meta = &super::sponsored_meta(resolution);
    let mut out = String::new();
    let _ = write!(
        out,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<akomaNtoso xmlns=\"{NAMESPACE}\">\n<statement name=\"resolution\">\n"
    );
    write_meta(&mut out, meta, options.document_name);
    write_preface(&mut out, meta);

    let groups = group(&resolution.paragraphs, &notes.numbering.paragraphs);
    // The schema wants a preface, preamble or main body to hold something:
    // an empty preface or preamble is left out (a new document has neither).
    let preamble_at = out.len();
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
            for item in nest(&g.subs) {
                let _ = write!(
                    out,
                    "<item><num>({})</num><p>{}</p>",
                    item.number,
                    runs_xml(&item.head.text, &notes)
                );
                if !item.under.is_empty() {
                    out.push_str("<blockList>");
                    for (sub, number) in &item.under {
                        let _ = write!(
                            out,
                            "<item><num>({number})</num><p>{}</p></item>",
                            runs_xml(&sub.text, &notes)
                        );
                    }
                    out.push_str("</blockList>");
                }
                out.push_str("</item>");
            }
            out.push_str("</blockList>");
        }
        out.push_str("</container>\n");
    }
    if out.len() == preamble_at + "<preamble>\n".len() {
        out.truncate(preamble_at);
    } else {
        out.push_str("</preamble>\n");
    }
    out.push_str("<mainBody>\n");
    let main_body_at = out.len();
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
            for item in nest(&g.subs) {
                let point = format!("{eid}__list_1__point_{}", item.number);
                let text = runs_xml(&item.head.text, &notes);
                if item.under.is_empty() {
                    let _ = write!(
                        out,
                        "<point eId=\"{point}\"><num>({})</num><content><p>{text}</p></content></point>",
                        item.number
                    );
                    continue;
                }
                // A sub-paragraph introducing sub-sub-paragraphs (i), (ii): a list in the point.
                let _ = write!(
                    out,
                    "<point eId=\"{point}\"><num>({})</num><intro><p>{text}</p></intro><list eId=\"{point}__list_1\">",
                    item.number
                );
                for (sub, number) in &item.under {
                    let _ = write!(
                        out,
                        "<point eId=\"{point}__list_1__point_{number}\"><num>({number})</num><content><p>{}</p></content></point>",
                        runs_xml(&sub.text, &notes)
                    );
                }
                out.push_str("</list></point>");
            }
            out.push_str("</list>");
        }
        out.push_str("</paragraph>\n");
    }
    if out.len() == main_body_at {
        // The main body cannot be left out: an operative part not yet
        // written is one empty block.
        out.push_str("<p/>\n");
    }
    out.push_str("</mainBody>\n</statement>\n</akomaNtoso>\n");
    out
}

/// A sub-paragraph with the sub-sub-paragraphs (level 2 and deeper) that follow it.
struct Item<'a> {
    head: &'a Paragraph,
    number: &'a str,
    under: Vec<(&'a Paragraph, &'a str)>,
}

/// The sub-paragraphs of a group, each with its sub-sub-paragraphs; a sub-sub-paragraph with
/// no sub-paragraph before it stands as an item of its own.
fn nest<'a>(subs: &[(&'a Paragraph, &'a str)]) -> Vec<Item<'a>> {
    let mut items: Vec<Item<'a>> = Vec::new();
    for &(paragraph, number) in subs {
        match items.last_mut() {
            Some(last) if paragraph.level >= 2 && last.head.level < 2 => {
                last.under.push((paragraph, number));
            }
            _ => items.push(Item {
                head: paragraph,
                number,
                under: Vec::new(),
            }),
        }
    }
    items
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

/// The FRBR identification of an export, after the Akoma Ntoso Naming
/// Convention: work `/akn/un/statement/resolution/<actor>/<date>/<number>`,
/// expression `<work>/<language>@<date>`, manifestation `<expression>/!main.xml`
/// (FRBRuri `<expression>.akn`).
///
/// The type segment is `statement`, the root element the export writes (it
/// validates against the AKN 3.0 schema and is what AKN4UN uses for
/// resolutions), with the subtype `resolution`. A draft is not made a `bill`:
/// a draft and the resolution adopted from it are different works with
/// different symbols (`A/C.3/80/L.21/Rev.1`, `A/RES/80/123`), and the symbol
/// in the number segment keeps them apart. The actor segment names the organ
/// (and the subsidiary body under it), so that equal symbols of different
/// organs or a missing symbol do not make two works one.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Frbr {
    work: String,
    expression: String,
    /// `FRBRthis` of the manifestation.
    manifestation: String,
    /// `FRBRuri` of the manifestation.
    manifestation_uri: String,
    /// ISO date of the document, or `9999-01-01` (the schema requires one).
    date: String,
    language: &'static str,
    /// The actor segment; also the `eId` of the organ's `TLCOrganization`.
    actor: String,
    /// How the organ is shown: `General Assembly, Third Committee`.
    actor_name: String,
}

impl Frbr {
    fn of(meta: &Meta, document_name: Option<&str>) -> Frbr {
        let known_date = meta.date.as_deref().and_then(iso_date);
        let date = known_date
            .clone()
            .unwrap_or_else(|| "9999-01-01".to_owned());
        let body = meta.body.as_deref().filter(|b| names_a_body(b));
        let organ = meta.organ.as_deref().unwrap_or("United Nations");
        let (actor, actor_name) = match body {
            Some(body) => (
                format!("{}.{}", slug(organ), slug(body)),
                format!("{organ}, {body}"),
            ),
            None => (slug(organ), organ.to_owned()),
        };
        let number = match (meta.symbol.as_deref(), document_name) {
            (Some(symbol), _) if !symbol.trim().is_empty() => uri_segment(symbol.trim()),
            (_, Some(name)) if !name.is_empty() => format!("~{}", uri_segment(name)),
            _ => "~".to_owned(),
        };
        let work = format!("/akn/un/statement/resolution/{actor}/{date}/{number}");
        let language = meta
            .original
            .as_deref()
            .and_then(language_code)
            .unwrap_or("eng");
        let expression = format!(
            "{work}/{language}@{}",
            known_date.as_deref().unwrap_or_default()
        );
        Frbr {
            manifestation: format!("{expression}/!main.xml"),
            manifestation_uri: format!("{expression}.akn"),
            work,
            expression,
            date,
            language,
            actor,
            actor_name,
        }
    }
}

/// Whether the masthead's body line names a body (`Third Committee`, `Human
/// Rights Council`) rather than a period (`25 July 2024–30 July 2025`, which
/// an ECOSOC masthead puts there).
fn names_a_body(body: &str) -> bool {
    body.starts_with(|c: char| c.is_alphabetic()) && !body.contains(|c: char| c.is_ascii_digit())
}

/// A symbol or document name as one URI path segment, distinct inputs giving
/// distinct segments (up to ASCII case, which symbols do not use to
/// distinguish documents): ASCII letters (lowercased), digits, `.` and `-`
/// are kept, `/` becomes `_`, every other byte is percent-encoded, `_` and
/// `~` included. `A/C.3/79/L.12/Rev.1` → `a_c.3_79_l.12_rev.1`,
/// `S/RES/2801 (2025)` → `s_res_2801%20%282025%29`.
fn uri_segment(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'a'..=b'z' | b'0'..=b'9' | b'.' | b'-' => out.push(char::from(byte)),
            b'A'..=b'Z' => out.push(char::from(byte.to_ascii_lowercase())),
            b'/' => out.push('_'),
            _ => {
                let _ = write!(out, "%{byte:02X}");
            }
        }
    }
    out
}

fn write_meta(out: &mut String, meta: &Meta, document_name: Option<&str>) {
    let Frbr {
        work,
        expression,
        manifestation,
        manifestation_uri,
        date,
        language,
        actor,
        actor_name,
    } = Frbr::of(meta, document_name);
    // The URIs are ASCII without `&`, `<`, `"` (see `uri_segment`, `slug`),
    // but escaping costs nothing and keeps that an implementation detail.
    let (work, expression) = (escape(&work), escape(&expression));
    let (manifestation, manifestation_uri) = (escape(&manifestation), escape(&manifestation_uri));
    let number = meta
        .symbol
        .as_deref()
        .filter(|s| !s.trim().is_empty())
        .map(|s| format!("<FRBRnumber value=\"{}\"/>", escape(s.trim())))
        .unwrap_or_default();
    let _ = write!(
        out,
        "<meta>\n<identification source=\"#plenary\">\n\
         <FRBRWork><FRBRthis value=\"{work}/!main\"/><FRBRuri value=\"{work}\"/>\
         <FRBRdate date=\"{date}\" name=\"issued\"/><FRBRauthor href=\"#{actor}\"/>\
         <FRBRcountry value=\"un\"/>{number}<FRBRname value=\"resolution\"/></FRBRWork>\n\
         <FRBRExpression><FRBRthis value=\"{expression}/!main\"/><FRBRuri value=\"{expression}\"/>\
         <FRBRdate date=\"{date}\" name=\"issued\"/><FRBRauthor href=\"#{actor}\"/>\
         <FRBRlanguage language=\"{language}\"/></FRBRExpression>\n\
         <FRBRManifestation><FRBRthis value=\"{manifestation}\"/><FRBRuri value=\"{manifestation_uri}\"/>\
         <FRBRdate date=\"{date}\" name=\"generated\"/><FRBRauthor href=\"#plenary\"/></FRBRManifestation>\n\
         </identification>\n\
         <references source=\"#plenary\">\
         <TLCOrganization eId=\"plenary\" href=\"/ontology/organization/un/plenary\" showAs=\"Plenary\"/>\
         <TLCOrganization eId=\"{actor}\" href=\"/ontology/organization/un/{actor}\" showAs=\"{}\"/>\
         </references>\n</meta>\n",
        escape(&actor_name)
    );
}

fn write_preface(out: &mut String, meta: &Meta) {
    let preface_at = out.len();
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
    if out.len() == preface_at + "<preface>\n".len() {
        out.truncate(preface_at);
    } else {
        out.push_str("</preface>\n");
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(organ: &str, body: Option<&str>, symbol: Option<&str>, date: &str) -> Meta {
        Meta {
            organ: Some(organ.to_owned()),
            body: body.map(str::to_owned),
            symbol: symbol.map(str::to_owned),
            date: Some(date.to_owned()),
            original: Some("English".to_owned()),
            ..Meta::default()
        }
    }

    fn work(meta: &Meta) -> String {
        Frbr::of(meta, None).work
    }

    #[test]
    fn two_drafts_of_one_day_have_different_identifiers() {
        let a = Frbr::of(
            &meta("General Assembly", None, Some("A/80/L.12"), "3 June 2025"),
            None,
        );
        let b = Frbr::of(
            &meta("General Assembly", None, Some("A/80/L.13"), "3 June 2025"),
            None,
        );
        assert_ne!(a.work, b.work);
        assert_ne!(a.expression, b.expression);
        assert_ne!(a.manifestation, b.manifestation);
        assert_eq!(
            a.work,
            "/akn/un/statement/resolution/general-assembly/2025-06-03/a_80_l.12"
        );
    }

    #[test]
    fn the_organ_is_in_the_work_uri() {
        let cases = [
            (
                meta(
                    "General Assembly",
                    None,
                    Some("A/RES/80/12"),
                    "5 December 2025",
                ),
                "/general-assembly/",
            ),
            (
                meta(
                    "General Assembly",
                    Some("Human Rights Council"),
                    Some("A/HRC/58/L.12"),
                    "2 April 2025",
                ),
                "/general-assembly.human-rights-council/",
            ),
            (
                meta(
                    "Security Council",
                    None,
                    Some("S/RES/2801 (2025)"),
                    "14 November 2025",
                ),
                "/security-council/",
            ),
            (
                meta(
                    "Economic and Social Council",
                    Some("25 July 2024–30 July 2025"),
                    Some("E/2025/L.17"),
                    "3 June 2025",
                ),
                "/economic-and-social-council/",
            ),
            (
                meta(
                    "General Assembly",
                    Some("Third Committee"),
                    Some("A/C.3/80/L.21"),
                    "12 November 2025",
                ),
                "/general-assembly.third-committee/",
            ),
        ];
        for (meta, organ) in &cases {
            let uri = work(meta);
            assert!(uri.contains(organ), "{uri} lacks {organ}");
        }
        // One symbol and day under two organs: two works.
        let ga = meta("General Assembly", None, Some("X/1"), "1 May 2025");
        let sc = meta("Security Council", None, Some("X/1"), "1 May 2025");
        assert_ne!(work(&ga), work(&sc));
    }

    #[test]
    fn a_revision_is_another_work() {
        let original = meta(
            "General Assembly",
            Some("Third Committee"),
            Some("A/C.3/79/L.12"),
            "1 November 2024",
        );
        let revised = Meta {
            symbol: Some("A/C.3/79/L.12/Rev.1".to_owned()),
            ..original.clone()
        };
        assert_ne!(work(&original), work(&revised));
        assert!(work(&revised).ends_with("/a_c.3_79_l.12_rev.1"));
        // Also when the revision bears the same date.
        assert_ne!(
            Frbr::of(&original, None).manifestation,
            Frbr::of(&revised, None).manifestation
        );
    }

    #[test]
    fn expression_and_manifestation_extend_the_work() {
        let f = Frbr::of(
            &meta(
                "Security Council",
                None,
                Some("S/RES/2801 (2025)"),
                "14 November 2025",
            ),
            None,
        );
        assert_eq!(
            f.work,
            "/akn/un/statement/resolution/security-council/2025-11-14/s_res_2801%20%282025%29"
        );
        assert_eq!(f.expression, format!("{}/eng@2025-11-14", f.work));
        assert_eq!(f.manifestation, format!("{}/!main.xml", f.expression));
        assert_eq!(f.manifestation_uri, format!("{}.akn", f.expression));
    }

    #[test]
    fn without_a_symbol_the_document_name_identifies_the_work() {
        let m = meta(
            "Economic and Social Council",
            Some("Commission on Crime Prevention and Criminal Justice"),
            None,
            "18 May 2021",
        );
        let a = Frbr::of(&m, Some("ccpcj/reoffending"));
        let b = Frbr::of(&m, Some("ccpcj/reoffending_2"));
        assert_ne!(a.work, b.work);
        assert!(
            a.work.ends_with("/2021-05-18/~ccpcj_reoffending"),
            "{}",
            a.work
        );
        // A name never reads as a symbol, nor `a/b` as `a_b`.
        let symbol = Meta {
            symbol: Some("ccpcj/reoffending".to_owned()),
            ..m.clone()
        };
        assert_ne!(Frbr::of(&symbol, None).work, a.work);
        assert_ne!(
            Frbr::of(&m, Some("a/b")).work,
            Frbr::of(&m, Some("a_b")).work
        );
        // The symbol wins over the name.
        assert_eq!(
            Frbr::of(&symbol, Some("anything")).work,
            Frbr::of(&symbol, None).work
        );
        assert!(Frbr::of(&m, None).work.ends_with("/~"));
    }

    #[test]
    fn uri_segments_are_safe_and_distinct() {
        let inputs = [
            "A/ES-10/L.22",
            "A/ES/10/L.22",
            "a b",
            "a%20b",
            "a_b",
            "a/b",
            "é",
        ];
        let segments: Vec<String> = inputs.iter().map(|s| uri_segment(s)).collect();
        for (i, s) in segments.iter().enumerate() {
            assert!(
                s.bytes().all(|b| b.is_ascii_lowercase()
                    || b.is_ascii_digit()
                    || b".-_%ABCDEF".contains(&b)),
                "{s}"
            );
            for t in &segments[i + 1..] {
                assert_ne!(s, t);
            }
        }
    }
}
