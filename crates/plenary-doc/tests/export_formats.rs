//! Markdown, HTML and Akoma Ntoso exports: what a reader or a consuming
//! system sees, checked on the real fixture and on hostile text.
#![allow(clippy::unwrap_used)] // tests may unwrap (helper-common rules)

use std::path::PathBuf;

use plenary_doc::{
    AknOptions, Resolution, Run, export_akn, export_akn_with, export_html, export_markdown,
    import_text,
};

fn fixture() -> Resolution {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/reducing-reoffending-2021-rev1.txt");
    import_text(&std::fs::read_to_string(path).unwrap())
        .unwrap()
        .resolution
}

fn with_sub_paragraphs() -> Resolution {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/rural-libraries-2024.txt");
    import_text(&std::fs::read_to_string(path).unwrap())
        .unwrap()
        .resolution
}

/// The fixture with markup-like text put into the title, a paragraph and a
/// footnote, as a careless or malicious delegate might type it.
fn hostile() -> Resolution {
    let mut resolution = fixture();
    resolution.meta.title = Some("Rules <script>alert(1)</script> & \"quotes\"".to_owned());
    resolution.paragraphs[5].text.push(Run {
        text: " <b>bold</b> & *stars* [x](y) ]]> \u{1}".to_owned(),
        ..Run::default()
    });
    resolution.footnotes[0].text.push(Run {
        text: " <i>not italic</i> & ' \"".to_owned(),
        ..Run::default()
    });
    resolution
}

#[test]
fn html_is_a_complete_page_with_the_draft_laid_out() {
    let html = export_html(&fixture());
    assert!(html.starts_with("<!DOCTYPE html>\n<html lang=\"en\">"));
    assert!(html.trim_end().ends_with("</html>"));
    assert!(html.contains("<meta charset=\"utf-8\">"));
    assert!(html.contains(
        "<h1 class=\"title\">Reducing reoffending through rehabilitation and reintegration</h1>"
    ));
    assert!(html.contains("<p class=\"acting-body\">The General Assembly,</p>"));
    assert_eq!(html.matches("<p class=\"preambular\"").count(), 5);
    assert_eq!(html.matches("<p class=\"operative\"").count(), 8);
    assert!(
        html.contains("<span class=\"num\">2.</span>\u{a0}<i>Also encourages</i> Member States")
    );
    assert!(html.contains("<i>Noting also</i> the discussions"));
    // Footnote 3 referenced in PP4 and listed at the bottom, linked both ways.
    assert!(html.contains(
        "during the workshop,<sup class=\"footnote-ref\"><a href=\"#fn3\" id=\"fnref3\">3</a></sup>"
    ));
    assert!(html.contains(
        "<p id=\"fn3\"><sup><a href=\"#fnref3\">3</a></sup>\u{a0}Ibid., sect. VII.B.</p>"
    ));
    assert!(html.contains("<i>Ibid.</i>, chap. I."));
}

#[test]
fn html_escapes_document_text() {
    let html = export_html(&hostile());
    assert!(!html.contains("<script>"), "raw script tag in the page");
    assert!(!html.contains("<b>bold"));
    assert!(html.contains(
        "<title>Rules &lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quotes&quot;</title>"
    ));
    assert!(html.contains("&lt;b&gt;bold&lt;/b&gt; &amp; *stars*"));
    assert!(html.contains("&lt;i&gt;not italic&lt;/i&gt; &amp; &#39; &quot;"));
}

#[test]
fn html_sub_paragraphs_are_lettered() {
    let html = export_html(&with_sub_paragraphs());
    assert!(html.contains("<p class=\"sub-paragraph\" id=\"para-p6\"><span class=\"num\">(a)</span>\u{a0}Sustainable funding"));
    assert!(html.contains("<span class=\"num\">(c)</span>\u{a0}Mobile and outreach"));
}

#[test]
fn markdown_has_title_numbered_paragraphs_and_footnotes() {
    let md = export_markdown(&fixture());
    assert!(md.contains("\n\n# Reducing reoffending through rehabilitation and reintegration\n\n"));
    assert!(md.contains("\n\nThe General Assembly,\n\n*Recalling* the outcome"));
    assert!(md.contains("\n\n2. *Also encourages* Member States"));
    assert!(md.contains("report of the Congress[^1] and in the Kyoto Declaration"));
    assert!(md.contains("\n\n[^1]: A/CONF.234/16.\n\n[^2]: *Ibid.*, chap. I.\n\n"));
    assert!(md.contains(
        "Economic and Social Council  \nDistr.: Limited  \n18 May 2021  \nOriginal: English"
    ));
}

#[test]
fn markdown_escapes_markup_in_text_and_indents_sub_paragraphs() {
    let md = export_markdown(&hostile());
    assert!(md.contains("\\<b\\>bold\\</b\\> \\& \\*stars\\* \\[x\\](y)"));
    let md = export_markdown(&with_sub_paragraphs());
    assert!(md.contains("\n\n1. *Encourages* Member States to support public libraries"));
    assert!(md.contains("\n\n   (b) Affordable broadband connectivity"));
    assert!(md.contains("\n\n3. *Requests* the Secretary-General"));
}

fn parse(xml: &str) -> roxmltree::Document<'_> {
    roxmltree::Document::parse(xml).unwrap_or_else(|e| panic!("not well-formed: {e}\n{xml}"))
}

/// All the text under a node, markup removed.
fn text_of(node: roxmltree::Node<'_, '_>) -> String {
    node.descendants()
        .filter(|n| n.is_text())
        .filter_map(|n| n.text())
        .collect()
}

fn count(doc: &roxmltree::Document<'_>, name: &str, attr: Option<(&str, &str)>) -> usize {
    doc.descendants()
        .filter(|n| n.has_tag_name(name))
        .filter(|n| attr.is_none_or(|(k, v)| n.attribute(k) == Some(v)))
        .count()
}

#[test]
fn akn_has_the_akn4un_structure() {
    let xml = export_akn(&fixture());
    let doc = parse(&xml);
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "akomaNtoso");
    assert_eq!(
        root.tag_name().namespace(),
        Some("http://docs.oasis-open.org/legaldocml/ns/akn/3.0")
    );
    assert_eq!(count(&doc, "statement", Some(("name", "resolution"))), 1);
    assert_eq!(count(&doc, "FRBRWork", None), 1);
    assert_eq!(
        count(&doc, "container", Some(("name", "preambularParagraph"))),
        5
    );
    assert_eq!(count(&doc, "paragraph", None), 8);
    assert_eq!(
        count(&doc, "authorialNote", Some(("placement", "bottom"))),
        6
    );

    let formula = doc
        .descendants()
        .find(|n| n.has_tag_name("formula"))
        .unwrap();
    assert_eq!(formula.attribute("name"), Some("actingEntity"));
    assert_eq!(text_of(formula), "The General Assembly,");
    let para2 = doc
        .descendants()
        .find(|n| n.attribute("eId") == Some("para_2"))
        .unwrap();
    let num = para2.children().find(|n| n.has_tag_name("num")).unwrap();
    assert_eq!(num.text(), Some("2."));
    let italic = para2.descendants().find(|n| n.has_tag_name("i")).unwrap();
    assert_eq!(italic.text(), Some("Also encourages"));

    // Footnote 3 sits inside PP4, right after "workshop,".
    let note = doc
        .descendants()
        .find(|n| n.has_tag_name("authorialNote") && n.attribute("marker") == Some("3"))
        .unwrap();
    let container = note
        .ancestors()
        .find(|n| n.has_tag_name("container"))
        .unwrap();
    assert_eq!(container.attribute("eId"), Some("preamble__container_4"));
    let before = note
        .prev_sibling()
        .and_then(|n| n.text())
        .unwrap_or_default();
    assert!(
        before.ends_with("discussed during the workshop,"),
        "{before}"
    );
    assert_eq!(text_of(note), "Ibid., sect. VII.B.");

    let doc_date = doc
        .descendants()
        .find(|n| n.has_tag_name("docDate"))
        .unwrap();
    assert_eq!(doc_date.attribute("date"), Some("2021-05-18"));
    let title = doc
        .descendants()
        .find(|n| n.has_tag_name("docTitle"))
        .unwrap();
    assert_eq!(
        title.text(),
        Some("Reducing reoffending through rehabilitation and reintegration")
    );
}

#[test]
fn akn_sub_paragraphs_are_points_of_a_list() {
    let xml = export_akn(&with_sub_paragraphs());
    let doc = parse(&xml);
    let para1 = doc
        .descendants()
        .find(|n| n.attribute("eId") == Some("para_1"))
        .unwrap();
    assert!(para1.children().any(|n| n.has_tag_name("intro")));
    let points: Vec<String> = para1
        .descendants()
        .filter(|n| n.has_tag_name("point"))
        .map(|p| {
            p.children()
                .find(|n| n.has_tag_name("num"))
                .and_then(|n| n.text())
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    assert_eq!(points, ["(a)", "(b)", "(c)"]);
    assert_eq!(count(&doc, "paragraph", None), 3);
}

#[test]
fn akn_escapes_document_text_and_stays_well_formed() {
    let resolution = hostile();
    let xml = export_akn(&resolution);
    let doc = parse(&xml);
    let title = doc
        .descendants()
        .find(|n| n.has_tag_name("docTitle"))
        .unwrap();
    assert_eq!(title.text(), resolution.meta.title.as_deref());
    assert_eq!(count(&doc, "b", None), 0, "text became markup");
    let para6 = doc
        .descendants()
        .find(|n| n.attribute("eId") == Some("para_1"))
        .unwrap();
    let text = text_of(para6);
    assert!(
        text.ends_with(" <b>bold</b> & *stars* [x](y) ]]> "),
        "{text}"
    );
}

/// The corpus text with sub-sub-paragraphs: OP2(b) introduces (i), (ii), (iii).
fn with_sub_sub_paragraphs() -> Resolution {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/corpus/sub-sub-paragraphs.txt");
    import_text(&std::fs::read_to_string(path).unwrap())
        .unwrap()
        .resolution
}

#[test]
fn sub_sub_paragraphs_are_numbered_in_roman_and_indented_a_step_further_in_every_format() {
    let r = with_sub_sub_paragraphs();
    let html = export_html(&r);
    assert!(html.contains(
        "<p class=\"sub-sub-paragraph\" id=\"para-p11\"><span class=\"num\">(ii)</span>\u{a0}The training"
    ), "{html}");
    assert!(html.contains("<span class=\"num\">(c)</span>\u{a0}To report"));
    let md = export_markdown(&r);
    assert!(
        md.contains("\n\n      (ii) The training of national personnel"),
        "{md}"
    );
    assert!(md.contains("\n\n   (c) To report to the General Assembly"));
    let text = plenary_doc::export_text(&r);
    assert!(
        text.contains("\n\n(iii) The development of common standards"),
        "{text}"
    );
    // The text export reads back with the same structure.
    let again = import_text(&text).unwrap().resolution;
    let levels = |r: &Resolution| r.paragraphs.iter().map(|p| p.level).collect::<Vec<_>>();
    assert_eq!(levels(&again), levels(&r));
    assert_eq!(levels(&r).iter().filter(|l| **l == 2).count(), 3);
    // Akoma Ntoso nests them: a list inside the point of (b).
    let xml = export_akn(&r);
    let doc = parse(&xml);
    let ii = doc
        .descendants()
        .find(|n| n.attribute("eId") == Some("para_2__list_1__point_b__list_1__point_ii"))
        .expect("OP2(b)(ii) is a point of a list in OP2(b)");
    assert!(text_of(ii).contains("The training of national personnel"));
}

/// The `FRBRuri` of the work, expression and manifestation of an export.
fn frbr_uris(xml: &str) -> Vec<String> {
    let doc = parse(xml);
    ["FRBRWork", "FRBRExpression", "FRBRManifestation"]
        .iter()
        .map(|level| {
            doc.descendants()
                .find(|n| n.has_tag_name(*level))
                .and_then(|n| n.children().find(|c| c.has_tag_name("FRBRuri")))
                .and_then(|n| n.attribute("value"))
                .unwrap()
                .to_owned()
        })
        .collect()
}

#[test]
fn akn_identifies_a_revision_and_a_nameless_draft_apart() {
    let read = |file: &str| {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(file);
        import_text(&std::fs::read_to_string(path).unwrap())
            .unwrap()
            .resolution
    };
    let original = frbr_uris(&export_akn(&read("ocean-literacy-2025.txt")));
    let revised = frbr_uris(&export_akn(&read("ocean-literacy-2025-rev1.txt")));
    assert_eq!(
        original[0],
        "/akn/un/statement/resolution/general-assembly.second-committee/2025-11-03/a_c.2_80_l.27"
    );
    assert_eq!(
        revised[0],
        "/akn/un/statement/resolution/general-assembly.second-committee/2025-11-17/a_c.2_80_l.27_rev.1"
    );
    for (a, b) in original.iter().zip(&revised) {
        assert_ne!(a, b);
    }

    // No symbol: the document name tells two drafts of one organ and day apart.
    let draft = fixture();
    assert_eq!(draft.meta.symbol, None);
    let named = |name| {
        frbr_uris(&export_akn_with(
            &draft,
            &AknOptions {
                document_name: Some(name),
            },
        ))
    };
    let (a, b) = (named("ccpcj/reoffending"), named("ccpcj/reoffending-2"));
    assert!(a[0].ends_with("/2021-05-18/~ccpcj_reoffending"), "{}", a[0]);
    for (a, b) in a.iter().zip(&b) {
        assert_ne!(a, b);
    }
}
