//! Every export format reachable: over the HTTP API
//! (`GET /api/docs/{doc}?format=…`, the route the editor's Export menu
//! calls with its Bearer token) and from the command line
//! (`plenary export --from … | --doc … --format … [--out …]`).

use std::io::Read;
use std::process::Command;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::*;

const DOC: &str = "res-exports";
const TITLE: &str = "Reducing reoffending through rehabilitation and reintegration";
const DOCX: &str = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";

fn fixture_path() -> String {
    format!(
        "{}/../../tests/fixtures/reducing-reoffending-2021-rev1.txt",
        env!("CARGO_MANIFEST_DIR")
    )
}

/// A GET with a Bearer token: status, headers (lower-cased names), body bytes.
async fn get(server: &TestServer, path: &str, who: &Who) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let mut stream = tokio::net::TcpStream::connect(server.addr()).await.unwrap();
    let req = format!(
        "GET {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\nConnection: close\r\n\r\n",
        server.addr(),
        who.token()
    );
    stream.write_all(req.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.unwrap();
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8(raw[..split].to_vec()).unwrap();
    let mut body = raw[split + 4..].to_vec();
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    let headers: Vec<(String, String)> = head
        .lines()
        .skip(1)
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    if headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.contains("chunked"))
    {
        body = dechunk(&body);
    }
    (status, headers, body)
}

fn dechunk(mut s: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(at) = s.windows(2).position(|w| w == b"\r\n") {
        let size = std::str::from_utf8(&s[..at]).unwrap();
        let n = usize::from_str_radix(size.trim(), 16).unwrap();
        if n == 0 {
            break;
        }
        let rest = &s[at + 2..];
        out.extend_from_slice(&rest[..n]);
        s = &rest[n + 2..];
    }
    out
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> &'a str {
    headers
        .iter()
        .find(|(k, _)| k == name)
        .map_or("", |(_, v)| v.as_str())
}

/// `word/document.xml` of a .docx package.
fn document_xml(docx: &[u8]) -> String {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(docx)).expect("a zip package");
    let mut xml = String::new();
    archive
        .by_name("word/document.xml")
        .expect("word/document.xml in the package")
        .read_to_string(&mut xml)
        .unwrap();
    xml
}

/// Creates `DOC` from the 2021 fixture (`POST /api/docs` with its text).
fn create(server: &TestServer) {
    let text = std::fs::read_to_string(fixture_path()).unwrap();
    let body = serde_json::json!({ "name": DOC, "text": text }).to_string();
    assert_eq!(
        server.post_json("/api/docs", &body, &Who::chair().token()),
        201
    );
}

#[tokio::test]
async fn every_format_over_the_api() {
    let server = server();
    create(&server);
    let reader = Who::observer();

    // Word, in the UN layout, as an attachment.
    let (status, headers, body) =
        get(&server, &format!("/api/docs/{DOC}?format=docx"), &reader).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    assert_eq!(header(&headers, "content-type"), DOCX);
    assert_eq!(
        header(&headers, "content-disposition"),
        format!("attachment; filename=\"{DOC}.docx\"")
    );
    assert!(body.starts_with(b"PK"));
    let xml = document_xml(&body);
    assert!(xml.contains(TITLE), "the title is in word/document.xml");
    assert!(xml.contains("Economic and Social Council"));
    assert!(xml.contains("<w:footnoteReference"));

    // The same at a log position.
    let (status, headers, body) = get(
        &server,
        &format!("/api/docs/{DOC}/state?seq=1&format=docx"),
        &reader,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(header(&headers, "content-type"), DOCX);
    assert!(document_xml(&body).contains(TITLE));

    // The text formats.
    for (format, content_type, marker) in [
        ("json", "application/json", "\"paragraphs\""),
        ("text", "text/plain; charset=utf-8", "2. *Also encourages*"),
        (
            "markdown",
            "text/markdown; charset=utf-8",
            "*Also encourages*",
        ),
        ("html", "text/html; charset=utf-8", "<i>Also encourages</i>"),
        ("akn", "application/akn+xml", "<akomaNtoso"),
    ] {
        let (status, headers, body) = get(
            &server,
            &format!("/api/docs/{DOC}?format={format}"),
            &reader,
        )
        .await;
        let body = String::from_utf8(body).unwrap();
        assert_eq!(status, 200, "{format}: {body}");
        assert_eq!(header(&headers, "content-type"), content_type, "{format}");
        assert!(body.contains(TITLE), "{format}: the title");
        assert!(body.contains(marker), "{format}: {marker}");
    }

    // An unknown format is refused, naming the known ones.
    let (status, _, body) = get(&server, &format!("/api/docs/{DOC}?format=pdf"), &reader).await;
    assert_eq!(status, 400);
    assert!(String::from_utf8_lossy(&body).contains("docx"));
    // A reader of another document gets nothing.
    let (status, _, _) = get(
        &server,
        &format!("/api/docs/{DOC}?format=docx"),
        &Who::delegate("JPN").docs(&["other"]),
    )
    .await;
    assert_eq!(status, 403);
}

fn plenary(args: &[&str]) -> std::process::Output {
    Command::new(bin())
        .args(args)
        .env("PLENARY_JWT_SECRET", TEST_SECRET)
        .env_remove("PLENARY_DATA_DIR")
        .output()
        .expect("run plenary")
}

#[test]
fn every_format_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let fixture = fixture_path();

    // A .docx to a file, and the same bytes to a pipe.
    let file = dir.path().join("draft.docx");
    let out = plenary(&[
        "export",
        "--from",
        &fixture,
        "--format",
        "docx",
        "--out",
        file.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout.is_empty());
    let written = std::fs::read(&file).unwrap();
    assert!(document_xml(&written).contains(TITLE));
    let piped = plenary(&["export", "--from", &fixture, "--format", "docx"]);
    assert!(piped.status.success());
    assert_eq!(piped.stdout, written, "the same package on standard output");

    for (format, marker) in [
        ("json", "\"paragraphs\""),
        ("text", "2. *Also encourages*"),
        ("markdown", "*Also encourages*"),
        ("html", "<i>Also encourages</i>"),
        ("akn", "<akomaNtoso"),
    ] {
        let out = plenary(&["export", "--from", &fixture, "--format", format]);
        assert!(out.status.success(), "{format}");
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(
            text.contains(TITLE) && text.contains(marker),
            "{format}: {text}"
        );
    }
}

#[test]
fn a_stored_document_exports_to_word_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data = data.to_str().unwrap();
    let out = plenary(&["import", &fixture_path(), "--doc", DOC, "--data-dir", data]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let file = dir.path().join("stored.docx");
    let out = plenary(&[
        "export",
        "--doc",
        DOC,
        "--data-dir",
        data,
        "--format",
        "docx",
        "--out",
        file.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(document_xml(&std::fs::read(&file).unwrap()).contains(TITLE));
}

/// A GET's body as JSON, asserting its status.
async fn get_json(server: &TestServer, path: &str, who: &Who, status: u16) -> serde_json::Value {
    let (got, _, body) = get(server, path, who).await;
    let text = String::from_utf8_lossy(&body).into_owned();
    assert_eq!(got, status, "GET {path}: {text}");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("GET {path}: {e}: {text}"))
}

/// Waits until the document's log holds `seq` entries.
async fn log_at(server: &TestServer, seq: u64) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let docs = get_json(server, "/api/docs", &Who::chair(), 200).await;
        let at = docs
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["name"] == DOC)
            .and_then(|d| d["seq"].as_u64());
        if at == Some(seq) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "log at {at:?}, waiting for {seq}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// The `w:ins`/`w:del` that encloses `text` in `word/document.xml`: its tag and `w:author`.
fn mark_around(xml: &str, text: &str) -> (String, String) {
    let at = xml
        .find(text)
        .unwrap_or_else(|| panic!("{text:?} not in the document: {xml}"));
    let (ins, del) = (
        xml[..at].rfind("<w:ins ").unwrap_or(0),
        xml[..at].rfind("<w:del ").unwrap_or(0),
    );
    let (start, tag) = if ins > del {
        (ins, "ins")
    } else {
        (del, "del")
    };
    assert!(
        start > 0 && !xml[start..at].contains(&format!("</w:{tag}>")),
        "{text:?} is not inside a tracked change"
    );
    let head = &xml[start..start + xml[start..].find('>').unwrap()];
    let from = head.find("w:author=\"").unwrap() + "w:author=\"".len();
    let author = head[from..from + head[from..].find('"').unwrap()].to_owned();
    (tag.to_owned(), author)
}

/// Issue 13 over the API, as a reader sees it after a short negotiation: Rev.1 is named, the
/// chair adds a preambular paragraph without an italic opening, Japan adds a word to OP1 and
/// proposes a new wording of OP2. The drafting checks name the new paragraph by its label, the
/// compilation shows Japan's proposal bracketed under OP2, and the Word export against Rev.1
/// tracks Japan's word as Japan's insertion and the chair's paragraph as the chair's.
#[tokio::test(flavor = "multi_thread")]
async fn checks_compilation_and_tracked_word_over_the_api() {
    use plenary_doc::{ParagraphKind, Position, Proposal, ProposalAction, ProposalStatus, Run};

    let server = server();
    create(&server);
    let (chair, jpn, reader) = (Who::chair(), Who::delegate("JPN"), Who::observer());
    assert_eq!(
        server.post_json(
            &format!("/api/docs/{DOC}/versions"),
            r#"{"name":"Rev.1"}"#,
            &chair.token()
        ),
        201
    );
    // Naming Rev.1 wrote its name into the document (meta `revision`): entry 2.
    log_at(&server, 2).await;
    // The fixture passes every check.
    let checks = get_json(&server, &format!("/api/docs/{DOC}/checks"), &reader, 200).await;
    assert_eq!(checks["findings"], serde_json::json!([]), "{checks}");

    let view = get_json(&server, &format!("/api/docs/{DOC}"), &reader, 200).await;
    let id_of = |label: &str| -> String {
        view["resolution"]["paragraphs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["label"] == label)
            .unwrap_or_else(|| panic!("no {label}"))["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let (pp1, op1, op2) = (id_of("PP1"), id_of("OP1"), id_of("OP2"));
    let c_chair = connect(&server, DOC, &chair).await;
    let c_jpn = connect(&server, DOC, &jpn).await;
    let added = as_client(&c_chair, |d| {
        d.insert_paragraph(
            Position::After(pp1.clone()),
            ParagraphKind::Preambular,
            0,
            &[Run::plain(
                "Noting the report of the Secretary-General on youth-led initiatives,",
            )],
        )
        .unwrap()
        .0
    });
    log_at(&server, 3).await;
    as_client(&c_jpn, |d| {
        let text: String = d
            .paragraph(&op1)
            .unwrap()
            .text
            .iter()
            .map(|r| r.text.clone())
            .collect();
        let at = text.find("offenders").unwrap() as u32;
        d.insert_text(&op1, at, "all ", false).unwrap()
    });
    log_at(&server, 4).await;
    as_client(&c_jpn, |d| {
        d.add_proposal(&Proposal {
            id: String::new(),
            paragraph_id: Some(op2.clone()),
            footnote_id: None,
            after: None,
            action: ProposalAction::Replace,
            text: "*Also encourages* Member States to promote rehabilitative prisons;".into(),
            base_text: None,
            base_seq: None,
            kind: None,
            level: None,
            delegation: "JPN".into(),
            on_behalf_of: None,
            supporters: vec![],
            author: "Delegate of JPN".into(),
            created_at: 0,
            status: ProposalStatus::Pending,
            decided_by: None,
            decided_at: None,
        })
        .unwrap()
    });
    log_at(&server, 5).await;

    // Drafting checks: the chair's paragraph, cited as the label everyone sees (inserted since
    // Rev.1, so provisional), in plain words.
    let view = get_json(&server, &format!("/api/docs/{DOC}"), &reader, 200).await;
    let label = view["resolution"]["paragraphs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == added.as_str())
        .unwrap()["label"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(label, "PP1bis");
    let checks = get_json(&server, &format!("/api/docs/{DOC}/checks"), &reader, 200).await;
    assert_eq!(checks["seq"], 5);
    let findings = checks["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1, "{checks}");
    assert_eq!(findings[0]["paragraphId"], added.as_str());
    assert_eq!(findings[0]["label"], "PP1bis");
    assert_eq!(findings[0]["rule"], "italic-opening");
    assert_eq!(
        findings[0]["sentence"],
        "PP1bis does not open in italics: a preambular paragraph opens with an italic participle."
    );

    // The compilation: Japan's wording bracketed under OP2, attributed.
    let (status, headers, body) = get(
        &server,
        &format!("/api/docs/{DOC}/compilation?format=text"),
        &reader,
    )
    .await;
    let text = String::from_utf8(body).unwrap();
    assert_eq!(status, 200, "{text}");
    assert_eq!(
        header(&headers, "content-type"),
        "text/plain; charset=utf-8"
    );
    let op2_block = text
        .split("\n\n")
        .find(|b| b.starts_with("OP2 "))
        .unwrap_or_else(|| panic!("no OP2 in {text}"));
    assert!(
        op2_block.starts_with("OP2 Also encourages Member States")
            && op2_block.ends_with(
                "[JPN: *Also encourages* Member States to promote rehabilitative prisons;]"
            ),
        "{op2_block}"
    );
    let json = get_json(
        &server,
        &format!("/api/docs/{DOC}/compilation"),
        &reader,
        200,
    )
    .await;
    let op2_json = json["paragraphs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["label"] == "OP2")
        .unwrap();
    assert_eq!(op2_json["alternatives"][0]["delegation"], "JPN");
    assert_eq!(op2_json["alternatives"][0]["action"], "replace");
    let (status, headers, body) = get(
        &server,
        &format!("/api/docs/{DOC}/compilation?format=html"),
        &reader,
    )
    .await;
    let html = String::from_utf8(body).unwrap();
    assert_eq!(status, 200);
    assert_eq!(header(&headers, "content-type"), "text/html; charset=utf-8");
    assert!(
        html.contains(&format!("Compilation text: {TITLE}")),
        "{html}"
    );
    assert!(
        html.contains(r#"[<span class="by">JPN</span>: *Also encourages* Member States"#),
        "{html}"
    );
    let bad = get_json(
        &server,
        &format!("/api/docs/{DOC}/compilation?format=pdf"),
        &reader,
        400,
    )
    .await;
    assert_eq!(bad["error"], "bad-request");

    // Word with tracked changes against Rev.1.
    let (status, headers, body) = get(
        &server,
        &format!("/api/docs/{DOC}/tracked?base=Rev.1"),
        &reader,
    )
    .await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    assert_eq!(header(&headers, "content-type"), DOCX);
    assert_eq!(
        header(&headers, "content-disposition"),
        format!("attachment; filename=\"{DOC}-tracked-against-Rev.1.docx\"")
    );
    let xml = document_xml(&body);
    let sub = |who: &Who| who.claims().sub;
    assert_eq!(
        mark_around(&xml, ">all <"),
        ("ins".into(), format!("{} (JPN)", sub(&jpn)))
    );
    assert_eq!(
        mark_around(&xml, "youth-led initiatives"),
        ("ins".into(), format!("{} (Chair)", sub(&chair)))
    );
    assert!(
        !xml.contains("rehabilitative prisons"),
        "a pending proposal is not a change"
    );
    // The same base as a log position gives the same changes.
    let (status, _, by_seq) =
        get(&server, &format!("/api/docs/{DOC}/tracked?base=1"), &reader).await;
    assert_eq!(status, 200);
    assert!(document_xml(&by_seq).contains(&format!("w:author=\"{} (JPN)\"", sub(&jpn))));
    // Up to a point before now (`to`, as a compare view chooses it): the chair's paragraph
    // (entry 3) is tracked, JPN's later word (entry 4) is not there at all.
    let (status, headers, upto) = get(
        &server,
        &format!("/api/docs/{DOC}/tracked?base=Rev.1&to=3"),
        &reader,
    )
    .await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&upto));
    assert_eq!(
        header(&headers, "content-disposition"),
        format!("attachment; filename=\"{DOC}-3-tracked-against-Rev.1.docx\"")
    );
    let xml3 = document_xml(&upto);
    assert_eq!(
        mark_around(&xml3, "youth-led initiatives"),
        ("ins".into(), format!("{} (Chair)", sub(&chair)))
    );
    assert!(
        !xml3.contains(">all <"),
        "JPN's word of entry 4 is after `to`"
    );
    let e = get_json(
        &server,
        &format!("/api/docs/{DOC}/tracked?base=Rev.1&to=Rev.9"),
        &reader,
        404,
    )
    .await;
    assert!(e["detail"].as_str().unwrap().contains("Rev.9"), "{e}");

    // Unknown bases and missing ones: JSON errors that say what was wrong.
    let e = get_json(
        &server,
        &format!("/api/docs/{DOC}/tracked?base=Rev.9"),
        &reader,
        404,
    )
    .await;
    assert_eq!(e["error"], "not-found");
    assert!(e["detail"].as_str().unwrap().contains("Rev.9"), "{e}");
    let e = get_json(
        &server,
        &format!("/api/docs/{DOC}/tracked?base=99"),
        &reader,
        404,
    )
    .await;
    assert_eq!(e["error"], "not-found");
    let e = get_json(&server, &format!("/api/docs/{DOC}/tracked"), &reader, 400).await;
    assert!(e["detail"].as_str().unwrap().contains("base"), "{e}");
    // A token for another document reads none of it.
    let other = Who::delegate("JPN").docs(&["other"]);
    for path in ["checks", "compilation", "tracked?base=Rev.1"] {
        let e = get_json(&server, &format!("/api/docs/{DOC}/{path}"), &other, 403).await;
        assert_eq!(e["error"], "forbidden", "{path}");
    }
    let e = get_json(&server, "/api/docs/no-such-doc/checks", &reader, 404).await;
    assert_eq!(e["error"], "not-found");
}
