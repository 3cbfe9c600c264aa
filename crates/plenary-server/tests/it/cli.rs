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
