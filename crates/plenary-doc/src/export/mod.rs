//! Getting drafts out: the same plain-text layout the importer reads,
//! Markdown, a standalone HTML page, Akoma Ntoso XML (AKN4UN) and Word, plain or with tracked changes
//! against a base version.
//!
//! Every exporter numbers from the document order (operative paragraphs
//! 1, 2 …, sub-paragraphs (a), (b) …, footnotes by first reference), never
//! from the derived fields of the view, which may not have been computed.

mod akn;
mod docx;
mod html;
mod markdown;
mod numbering;
mod text;
mod tracked;

use crate::model::{Meta, Resolution};

/// The meta an export prints: the submitted-by line names the co-sponsors too
/// (SPEC §2 `sponsors`), so that a delegation that signed on in the editor
/// appears in every format. "Japan: revised draft resolution" with sponsors
/// JPN, EU, MEX prints "Japan, JPN, EU and MEX: revised draft resolution"
/// (a sponsor already named in the line is not repeated; sponsors are named as
/// the document stores them, delegation codes included). Without a colon the
/// sponsors follow in parentheses; without a line, none is made up.
pub(crate) fn sponsored_meta(r: &Resolution) -> Meta {
    let mut meta = r.meta.clone();
    let Some(line) = &r.meta.submitted_by else {
        return meta;
    };
    let (proponents, rest) = match line.split_once(':') {
        Some((p, rest)) => (p.trim().to_owned(), Some(rest)),
        None => (line.trim().to_owned(), None),
    };
    let mut names: Vec<String> = proponents
        .split(" and ")
        .flat_map(|s| s.split(','))
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect();
    let before = names.len();
    for s in &r.sponsors {
        let d = s.delegation.trim();
        if !d.is_empty() && !names.iter().any(|n| n == d) {
            names.push(d.to_owned());
        }
    }
    if names.len() == before {
        return meta;
    }
    meta.submitted_by = Some(match rest {
        Some(rest) => format!("{}:{rest}", and_list(&names)),
        None => format!("{proponents} (co-sponsors: {})", and_list(&names[before..])),
    });
    meta
}

/// "A", "A and B", "A, B and C".
fn and_list(names: &[String]) -> String {
    match names {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

pub use akn::{AknOptions, export_akn, export_akn_with};
pub use docx::{DocxError, export_docx};
pub(crate) use html::escape as escape_html;
pub use html::export_html;
pub use markdown::export_markdown;
pub use text::export_text;
pub use tracked::{
    TrackedAuthors, TrackedOptions, Writer, export_docx_tracked, export_docx_tracked_with,
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Sponsor;

    fn with(line: Option<&str>, sponsors: &[&str]) -> Resolution {
        let mut r = Resolution::default();
        r.meta.submitted_by = line.map(str::to_owned);
        r.sponsors = sponsors
            .iter()
            .map(|d| Sponsor {
                delegation: (*d).to_owned(),
                signed_by: "u".into(),
                at: 0,
            })
            .collect();
        r
    }

    #[test]
    fn sponsors_reach_the_submitted_by_line_of_every_export() {
        let r = with(
            Some("Japan: revised draft resolution"),
            &["EU", "Japan", "MEX"],
        );
        let line = "Japan, EU and MEX: revised draft resolution";
        assert_eq!(sponsored_meta(&r).submitted_by.as_deref(), Some(line));
        assert!(export_text(&r).contains(line));
        assert!(export_markdown(&r).contains(line));
        assert!(export_html(&r).contains(line));
        assert!(export_akn(&r).contains("<docProponent>Japan, EU and MEX</docProponent>"));
        let docx = export_docx(&r).unwrap();
        let mut zip = zip::ZipArchive::new(std::io::Cursor::new(docx)).unwrap();
        let mut xml = String::new();
        std::io::Read::read_to_string(&mut zip.by_name("word/document.xml").unwrap(), &mut xml)
            .unwrap();
        assert!(xml.contains("Japan, EU and MEX"), "{xml}");
        // No sponsors, or no line: unchanged; a line without a colon gets them in parentheses.
        assert_eq!(
            sponsored_meta(&with(Some("Japan: draft"), &[]))
                .submitted_by
                .as_deref(),
            Some("Japan: draft")
        );
        assert_eq!(sponsored_meta(&with(None, &["EU"])).submitted_by, None);
        assert_eq!(
            sponsored_meta(&with(Some("Japan and Chile"), &["EU"]))
                .submitted_by
                .as_deref(),
            Some("Japan and Chile (co-sponsors: EU)")
        );
    }
}
