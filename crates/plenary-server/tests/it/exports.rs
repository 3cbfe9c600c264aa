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
