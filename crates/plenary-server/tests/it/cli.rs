//! The command line: `plenary token` mints what `serve` accepts; `import`
//! and `export` turn a circulated draft into structure and back.

use std::process::Command;

use crate::support::*;

fn plenary(args: &[&str]) -> std::process::Output {
    Command::new(bin())
        .args(args)
        .env("PLENARY_JWT_SECRET", TEST_SECRET)
        .env_remove("PLENARY_DATA_DIR")
        .output()
        .expect("run plenary")
}

fn fixture_path() -> String {
    format!(
        "{}/../../tests/fixtures/reducing-reoffending-2021-rev1.txt",
        env!("CARGO_MANIFEST_DIR")
    )
}

#[tokio::test]
async fn a_minted_token_opens_the_server_and_carries_its_role() {
    let server = server();
    let _chair = seeded(&server, "cli").await;
    let out = plenary(&[
        "token",
        "--role",
        "delegate",
        "--delegation",
        "JPN",
        "--name",
        "Delegate of Japan",
        "--docs",
        "cli*",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8(out.stdout).unwrap().trim().to_string();
    let c = Client::connect(&server.ws_url("cli", &token))
        .await
        .expect("the minted token opens the document");
    c.wait_synced(WAIT).await.unwrap();
    // It is a delegate's token: an agreed paragraph stays closed to it.
    let chair = connect(&server, "cli", &Who::chair()).await;
    set_field(chair.doc(), 5, "status", "agreed");
    c.wait_until(WAIT, |d| field(d, 5, "status").as_deref() == Some("agreed"))
        .await
        .unwrap();
    expect_denial(&c, "delegate.agreed-paragraph", |c| {
        append(c.doc(), 5, " no")
    })
    .await;
    // And it opens only what --docs says.
    match Client::connect(&server.ws_url("other", &token)).await {
        Err(plenary_client::ClientError::Rejected { status, .. }) => assert_eq!(status, 403),
        other => panic!("expected 403, got {other:?}"),
    }

    let bad = plenary(&["token", "--role", "delegate", "--name", "Nobody"]);
    assert!(!bad.status.success());
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("delegation"),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );
}

#[test]
fn import_and_export_a_circulated_draft() {
    let out = plenary(&["import", &fixture_path()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["paragraphs"].as_array().unwrap().len(), 13);
    assert_eq!(
        json["meta"]["submittedBy"],
        "Japan: revised draft resolution"
    );

    let akn = plenary(&["export", "--from", &fixture_path(), "--format", "akn"]);
    let akn = String::from_utf8(akn.stdout).unwrap();
    assert!(
        akn.contains("<akomaNtoso") && akn.matches("<authorialNote").count() == 6,
        "{akn}"
    );

    let text = plenary(&["export", "--from", &fixture_path(), "--format", "text"]);
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(
        text.contains("2. *Also encourages* Member States"),
        "{text}"
    );

    let unknown = plenary(&["export", "--from", &fixture_path(), "--format", "pdf"]);
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("unknown format"));
}

/// `plenary diff` on two revisions where an operative request became a
/// preambular "Recalling also its request …", a footnote was reworded and a
/// header field changed: the move is found across kinds, the footnote and
/// the header are reported, in text, JSON and HTML.
#[test]
fn diff_reports_cross_kind_moves_footnotes_and_header_changes() {
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures");
    let old = format!("{fixtures}/tracked-pair-rev1.txt");
    let new = format!("{fixtures}/tracked-pair-rev2.txt");
    let run = |flag: Option<&str>| {
        let mut args = vec!["diff", old.as_str(), new.as_str()];
        args.extend(flag);
        let out = plenary(&args);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let text = run(None);
    assert!(
        text.starts_with("4 unchanged, 1 changed, 1 moved, 1 added, 1 deleted, 1 footnote changes"),
        "{text}"
    );
    assert!(
        text.contains("moved from OP3 to PP3 (preambular/operative)\n  [-Requests-]{+Recalling also its request to+} the Secretary-General"),
        "{text}"
    );
    assert!(
        text.contains("footnote 1 -> 1 changed:\n  General Assembly resolution 70/174, [-annex.-]{+annex, para. 7.+}"),
        "{text}"
    );
    assert!(
        text.contains("header date: [-10 May 2024-]{+16 May 2024+}"),
        "{text}"
    );
    // no unrelated addition and deletion for the moved request
    assert!(text.contains("added OP3:\n  Calls upon"), "{text}");
    assert!(text.contains("deleted PP3:\n  Welcoming"), "{text}");

    let d: serde_json::Value = serde_json::from_str(&run(Some("--json"))).unwrap();
    assert_eq!(d["moved"][0]["old_label"], "OP3");
    assert_eq!(d["moved"][0]["new_label"], "PP3");
    assert_eq!(d["moved"][0]["kind_changed"], true);
    assert_eq!(d["footnotes"].as_array().unwrap().len(), 1);
    assert_eq!(d["footnotes"][0]["change"], "changed");
    assert_eq!(d["meta"][0]["key"], "date");

    // --docx: the same pairing as tracked changes in Word.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("rev2-tracked.docx");
    let o = plenary(&[
        "diff",
        &old,
        &new,
        "--docx",
        out.to_str().unwrap(),
        "--author",
        "Secretariat (CCPCJ)",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let mut zip = zip::ZipArchive::new(std::fs::File::open(&out).unwrap()).unwrap();
    let mut read = |name: &str| {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut zip.by_name(name).unwrap(), &mut s).unwrap();
        s
    };
    let xml = read("word/document.xml");
    assert!(xml.contains(r#"w:author="Secretariat (CCPCJ)""#), "{xml}");
    assert!(xml.contains("youth-led") && xml.contains("<w:ins "));
    let comments = read("word/comments.xml");
    assert!(comments.contains("Moved from OP3 (now PP3)"), "{comments}");

    let html = run(Some("--html"));
    assert!(html.starts_with("<!DOCTYPE html>"), "{html}");
    assert!(
        html.contains("<del>annex.</del><ins>annex, para. 7.</ins>"),
        "{html}"
    );
    assert!(
        html.contains("moved from OP3 to PP3 (preambular/operative)</span> <del>Requests</del><ins>Recalling also its request to</ins>"),
        "{html}"
    );
}

/// `plenary check` on a text file: the circulated draft passes (exit 0); the same draft with
/// OP2's closing semicolon lost gets one finding naming OP2 in plain words (exit 1), in text
/// and JSON; an unreadable file is a failure (exit 2), not a finding.
#[test]
fn check_reports_findings_by_label_and_exits_non_zero() {
    let clean = plenary(&["check", &fixture_path()]);
    assert_eq!(
        clean.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&clean.stderr)
    );
    assert_eq!(
        String::from_utf8(clean.stdout).unwrap(),
        "No findings in 13 paragraphs.\n"
    );

    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken.txt");
    let text = std::fs::read_to_string(fixture_path()).unwrap();
    let cut = text.replacen("for reintegration;\n", "for reintegration\n", 1);
    assert_ne!(cut, text, "the fixture's OP2 ends as expected");
    std::fs::write(&broken, cut).unwrap();
    let out = plenary(&["check", broken.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "OP2 does not end as it should: an operative paragraph ends with a semicolon.\n\
         1 finding in 13 paragraphs.\n"
    );
    let json = plenary(&["check", "--json", "--from", broken.to_str().unwrap()]);
    assert_eq!(json.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 1, "{v}");
    assert_eq!(v[0]["label"], "OP2");
    assert_eq!(v[0]["rule"], "ending");
    assert!(
        v[0]["sentence"]
            .as_str()
            .unwrap()
            .starts_with("OP2 does not end")
    );

    let missing = plenary(&["check", "/nonexistent/draft.txt"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("reading /nonexistent/draft.txt"));
    let help = plenary(&["check", "--help"]);
    assert!(
        String::from_utf8_lossy(&help.stdout).contains("1 when there are findings"),
        "{}",
        String::from_utf8_lossy(&help.stdout)
    );
}

/// `plenary compile` and `plenary check` on a stored document: after Rev.1 is named, Japan
/// proposes a new OP2 and the chair adds a preambular paragraph without an italic opening over
/// the WebSocket; the server stops. Read from its data directory, the compilation shows the
/// proposal bracketed under OP2 and attributed to Japan (text, HTML, JSON), and the check
/// cites the new paragraph as the editor does, PP1bis.
#[tokio::test(flavor = "multi_thread")]
async fn compile_shows_a_stored_documents_pending_proposals() {
    use plenary_doc::{ParagraphKind, Position, Proposal, ProposalAction, ProposalStatus, Run};

    const DOC: &str = "cli-compile";
    let mut server = server();
    let text = std::fs::read_to_string(fixture_path()).unwrap();
    let body = serde_json::json!({ "name": DOC, "text": text }).to_string();
    assert_eq!(
        server.post_json("/api/docs", &body, &Who::chair().token()),
        201
    );
    assert_eq!(
        server.post_json(
            &format!("/api/docs/{DOC}/versions"),
            r#"{"name":"Rev.1"}"#,
            &Who::chair().token()
        ),
        201
    );
    let chair = connect(&server, DOC, &Who::chair()).await;
    let jpn = connect(&server, DOC, &Who::delegate("JPN")).await;
    let ids: Vec<String> = plenary_doc::ResolutionDoc::from_update(&state_of(jpn.doc()))
        .unwrap()
        .resolution()
        .paragraphs
        .into_iter()
        .map(|p| p.id)
        .collect();
    let (pp1, op2) = (ids[0].clone(), ids[6].clone());
    as_client(&chair, |d| {
        d.insert_paragraph(
            Position::After(pp1.clone()),
            ParagraphKind::Preambular,
            0,
            &[Run::plain("Noting the report of the Secretary-General,")],
        )
        .unwrap()
        .1
    });
    as_client(&jpn, |d| {
        d.add_proposal(&Proposal {
            id: String::new(),
            paragraph_id: Some(op2.clone()),
            footnote_id: None,
            after: None,
            action: ProposalAction::Replace,
            text: "Also encourages Member States to promote rehabilitative prisons;".into(),
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
    // Each sees the other's change only once it is in the log (its own it has at once).
    for client in [&chair, &jpn] {
        client
            .wait_until(WAIT, |d| {
                plenary_doc::ResolutionDoc::from_update(&state_of(d)).is_ok_and(|r| {
                    let r = r.resolution();
                    !r.proposals.is_empty() && r.paragraphs.len() == 14
                })
            })
            .await
            .unwrap();
    }
    drop((chair, jpn));
    server.kill();
    let data = server.data_dir().to_str().unwrap().to_owned();

    let run = |format: &str| {
        let out = plenary(&[
            "compile",
            "--doc",
            DOC,
            "--data-dir",
            &data,
            "--format",
            format,
        ]);
        assert!(
            out.status.success(),
            "{format}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let text = run("text");
    let op2_block = text
        .split("\n\n")
        .find(|b| b.starts_with("OP2 "))
        .unwrap_or_else(|| panic!("no OP2 in {text}"));
    assert!(
        op2_block.starts_with("OP2 Also encourages Member States to promote a rehabilitative")
            && op2_block.ends_with(
                "for reintegration; [JPN: Also encourages Member States to promote rehabilitative prisons;]"
            ),
        "{op2_block}"
    );
    assert!(text.starts_with("PP1 "), "{text}");
    assert!(
        text.contains("\n\nPP1bis Noting the report of the Secretary-General,\n\nPP2 "),
        "{text}"
    );
    let html = run("html");
    assert!(html.starts_with("<!DOCTYPE html>"), "{html}");
    assert!(
        html.contains(r#"[<span class="by">JPN</span>: Also encourages Member States to promote rehabilitative prisons;]"#),
        "{html}"
    );
    let json: serde_json::Value = serde_json::from_str(&run("json")).unwrap();
    let op2_json = json["paragraphs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["label"] == "OP2")
        .unwrap();
    assert_eq!(op2_json["alternatives"][0]["attribution"], "JPN");

    let check = plenary(&["check", "--doc", DOC, "--data-dir", &data]);
    assert_eq!(
        check.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    assert_eq!(
        String::from_utf8(check.stdout).unwrap(),
        "PP1bis does not open in italics: a preambular paragraph opens with an italic participle.\n\
         1 finding in 14 paragraphs.\n"
    );
    let none = plenary(&["compile", "--doc", "nope", "--data-dir", &data]);
    assert!(!none.status.success());
    assert!(String::from_utf8_lossy(&none.stderr).contains("no document named nope"));

    // Word with tracked changes against Rev.1 from the command line: the chair's new
    // paragraph is one insertion credited to the chair (from the history, not the operator).
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("tracked.docx");
    let o = plenary(&[
        "export",
        "--doc",
        DOC,
        "--data-dir",
        &data,
        "--format",
        "docx",
        "--tracked-against",
        "Rev.1",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let mut zip = zip::ZipArchive::new(std::fs::File::open(&out).unwrap()).unwrap();
    let mut xml = String::new();
    std::io::Read::read_to_string(&mut zip.by_name("word/document.xml").unwrap(), &mut xml)
        .unwrap();
    let ins = xml
        .split("<w:ins ")
        .skip(1)
        .find(|chunk| {
            chunk
                .split("</w:ins>")
                .next()
                .is_some_and(|c| c.contains("Noting the report"))
        })
        .unwrap_or_else(|| panic!("the new paragraph is not a tracked insertion: {xml}"));
    // Credited to the chair (the log keeps the token's subject), not to the operator.
    assert!(ins.contains(r#"w:author="chair:"#), "{ins}");
    let unknown = plenary(&[
        "export",
        "--doc",
        DOC,
        "--data-dir",
        &data,
        "--format",
        "docx",
        "--tracked-against",
        "Rev.9",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(!unknown.status.success());
}
