//! A stock `y-websocket` `WebsocketProvider` (npm `yjs` + `y-websocket`, run
//! with node: `tests/interop/interop.mjs`) and the Rust client on one
//! document: both edit at the same instant, both converge to the same text
//! and formatting, and each sees the other's presence. A refused edit from
//! the stock client reaches no one else.
//!
//! Needs `node` and `npm ci --prefix tests/interop`; without them these tests
//! fail (they never skip silently).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use yrs::types::text::{Diff, YChange};
use yrs::{Any, Array, Doc, GetString, Map, Out, Text, TextRef, Transact};

use crate::support::*;

/// How long the Node side may take for anything (it starts a runtime, then syncs).
const NODE_WAIT: Duration = Duration::from_secs(30);

fn interop_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/interop")
}

/// The stock client, its stdout read as JSON lines.
struct NodeClient {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Lines<BufReader<ChildStdout>>,
}

impl NodeClient {
    fn spawn(server: &TestServer, doc: &str, who: &Who, args: &[String]) -> NodeClient {
        server.ensure_doc(doc);
        let dir = interop_dir();
        assert!(
            dir.join("node_modules/y-websocket").is_dir(),
            "the interop test needs the npm packages: run `npm ci --prefix tests/interop` \
             (looked in {})",
            dir.display()
        );
        let mut child = Command::new("node")
            .current_dir(&dir)
            .arg("interop.mjs")
            .arg("--url")
            .arg(format!("ws://{}/sync", server.addr()))
            .args(["--doc", doc, "--token", &who.token()])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("the interop test needs `node` on PATH: {e}"));
        let stdin = child.stdin.take();
        let lines = BufReader::new(child.stdout.take().expect("piped stdout")).lines();
        NodeClient {
            child,
            stdin,
            lines,
        }
    }

    /// The next `{"event": …}` line, which must be `expected`.
    async fn event(&mut self, expected: &str) -> Value {
        let line = tokio::time::timeout(NODE_WAIT, self.lines.next_line())
            .await
            .unwrap_or_else(|_| panic!("node printed no {expected:?} event in {NODE_WAIT:?}"))
            .expect("read node stdout");
        let Some(line) = line else {
            let status = self.child.wait().await.expect("node exit status");
            panic!("node exited ({status}) before its {expected:?} event; its stderr is above");
        };
        let value: Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("node printed a line that is not JSON ({e}): {line}"));
        assert_eq!(value["event"], expected, "node printed {value}");
        value
    }

    async fn go(&mut self) {
        let stdin = self.stdin.as_mut().expect("stdin");
        stdin.write_all(b"go\n").await.expect("write go");
        stdin.flush().await.expect("flush go");
    }

    async fn exit_ok(mut self) {
        drop(self.stdin.take());
        let status = tokio::time::timeout(NODE_WAIT, self.child.wait())
            .await
            .expect("node exits")
            .expect("node exit status");
        assert!(status.success(), "node exited with {status}");
    }
}

/// The `paragraphs` root, read inside a transaction (opening a root from the
/// `Doc` would need a second transaction).
/// The paragraph ids of the fixture, in order (stable: Node addresses paragraphs by id).
fn ids(doc: &Doc) -> Vec<String> {
    (0..paragraph_count(doc))
        .map(|i| field(doc, i, "id").expect("paragraph id"))
        .collect()
}

fn text_ref(doc: &Doc, index: u32) -> TextRef {
    let arr = paragraphs(doc);
    let txn = doc.transact();
    match arr.get(&txn, index) {
        Some(Out::YMap(m)) => match m.get(&txn, "text") {
            Some(Out::YText(t)) => t,
            other => panic!("paragraph {index} has no text: {other:?}"),
        },
        other => panic!("paragraph {index} is not a map: {other:?}"),
    }
}

/// Offsets for one spot of a paragraph: yrs (this `Doc` counts bytes) and
/// Yjs (UTF-16 code units). The fixture has curly quotes and superscripts, so
/// the two differ and a mix-up would show.
fn offsets(text: &str, byte: usize) -> (u32, usize) {
    (byte as u32, text[..byte].encode_utf16().count())
}

/// The Rust document in the shape the Node side prints:
/// `[{id, text, runs: [{text, italic, footnote}]}]`.
fn paragraphs_json(doc: &Doc) -> Value {
    let arr = paragraphs(doc);
    let txn = doc.transact();
    let list = arr
        .iter(&txn)
        .map(|p| {
            let Out::YMap(m) = p else { return json!({"id": null, "text": null, "runs": []}) };
            let id = match m.get(&txn, "id") {
                Some(Out::Any(Any::String(s))) => json!(&*s),
                _ => Value::Null,
            };
            let Some(Out::YText(text)) = m.get(&txn, "text") else {
                return json!({"id": id, "text": null, "runs": []});
            };
            let mut runs: Vec<(String, bool, Value)> = Vec::new();
            for Diff { insert, attributes, .. } in text.diff(&txn, YChange::identity) {
                let Out::Any(Any::String(s)) = insert else { continue };
                let attr = |k: &str| attributes.as_deref().and_then(|a| a.get(k).cloned());
                let italic = matches!(attr("italic"), Some(Any::Bool(true)));
                let footnote = match attr("footnote") {
                    Some(Any::String(f)) => json!(&*f),
                    _ => Value::Null,
                };
                match runs.last_mut() {
                    Some((t, i, f)) if *i == italic && *f == footnote => t.push_str(&s),
                    _ => runs.push((s.to_string(), italic, footnote)),
                }
            }
            let runs: Vec<Value> = runs
                .into_iter()
                .map(|(text, italic, footnote)| json!({"text": text, "italic": italic, "footnote": footnote}))
                .collect();
            json!({"id": id, "text": text.get_string(&txn), "runs": runs})
        })
        .collect();
    Value::Array(list)
}

fn has_text(doc: &Doc, needle: &str) -> bool {
    all_texts(doc).iter().any(|t| t.contains(needle))
}

fn presence(name: &str, delegation: &str, color: &str, paragraph: &str) -> Value {
    // The server stamps name, delegation and role from the token.
    json!({"user": {"name": name, "delegation": delegation, "color": color, "role": "delegate"}, "paragraph": paragraph})
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| s.to_string()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stock_y_websocket_and_rust_client_converge_and_see_each_others_presence() {
    let server = server();
    let doc = "interop-edit";
    let _chair = seeded(&server, doc).await;
    let rust = connect(
        &server,
        doc,
        &Who::delegate("JPN").named("Rust delegate of JPN"),
    )
    .await;
    rust.wait_until(WAIT, |d| paragraph_count(d) == 13)
        .await
        .expect("the fixture");
    let rust_presence = presence("Rust delegate of JPN", "JPN", "#d62728", "pp1");
    rust.set_awareness(&rust_presence);

    // Both sides edit from the same synced state at the same instant (Node
    // waits for "go"): the same spot of PP1 (before its last comma);
    // overlapping spots of OP1 (Node deletes "comprehensive " while Rust
    // types inside that word); either side of the quoted title in PP3,
    // after curly quotes (bytes here, UTF-16 there); OP8 by Rust alone.
    let ids = ids(rust.doc());
    let (pp1, pp3, op1, op8) = (
        text_of(rust.doc(), 0),
        text_of(rust.doc(), 2),
        text_of(rust.doc(), 5),
        text_of(rust.doc(), 12),
    );
    // PP1 ends ",²": its last comma comes before a footnote mark.
    let comma = pp1.rfind(',').expect("PP1 ends with a comma");
    let (pp1_rust, pp1_node) = offsets(&pp1, comma);
    let word = op1.find("comprehensive ").expect("OP1 wording");
    let (op1_rust, _) = offsets(&op1, word + "compre".len());
    let (_, op1_node) = offsets(&op1, word);
    let open_q = pp3.find('\u{201c}').expect("PP3 quotes a title") + '\u{201c}'.len_utf8();
    let close_q = pp3.find('\u{201d}').expect("PP3 closes the quote") + '\u{201d}'.len_utf8();
    let (pp3_rust, _) = offsets(&pp3, open_q);
    let (_, pp3_node) = offsets(&pp3, close_q);
    let (op8_rust, _) = offsets(&op8, op8.len() - 1);

    let node_args = strings(&[
        "--wait-go",
        "--edit",
        &format!("insert:{}:{pp1_node}: [FRA-NODE-1]", ids[0]),
        "--edit",
        &format!("delete:{}:{op1_node}:14", ids[5]),
        "--edit",
        &format!("insert:{}:{pp3_node}:[FRA-NODE-2]", ids[2]),
        "--name",
        "Node delegate of FRA",
        "--delegation",
        "FRA",
        "--color",
        "#1f77b4",
        "--paragraph",
        &ids[5],
        "--expect-text",
        "[JPN-RUST-4]",
        "--expect-peer",
        "Rust delegate of JPN",
    ]);
    let mut node = NodeClient::spawn(
        &server,
        doc,
        &Who::delegate("FRA").named("Node delegate of FRA"),
        &node_args,
    );

    let synced = node.event("synced").await;
    assert_eq!(
        synced["paragraphs"],
        paragraphs_json(rust.doc()),
        "the stock client joined late and must get the full state, formatting included"
    );
    let texts = [
        (0, pp1_rust, " [JPN-RUST-1]"),
        (5, op1_rust, "[JPN-RUST-2]"),
        (2, pp3_rust, "[JPN-RUST-3]"),
        (12, op8_rust, " [JPN-RUST-4]"),
    ]
    .map(|(i, at, s)| (text_ref(rust.doc(), i), at, s));
    node.go().await;
    {
        // One transaction: when Node sees the last marker it has them all.
        let mut txn = rust.doc().transact_mut();
        for (text, at, s) in &texts {
            text.insert(&mut txn, *at, s);
        }
    }

    let done = node.event("done").await;
    rust.wait_until(NODE_WAIT, |d| has_text(d, "[FRA-NODE-2]"))
        .await
        .expect("the Rust client receives the stock client's edits");
    // Identical text, italics and footnote marks on both sides, with every edit in it.
    let rust_view = paragraphs_json(rust.doc());
    assert_eq!(
        done["paragraphs"], rust_view,
        "stock client and Rust client diverged"
    );
    let (pp1, pp3, op1, op8) = (
        text_of(rust.doc(), 0),
        text_of(rust.doc(), 2),
        text_of(rust.doc(), 5),
        text_of(rust.doc(), 12),
    );
    assert!(
        pp1.contains(" [FRA-NODE-1] [JPN-RUST-1],") || pp1.contains(" [JPN-RUST-1] [FRA-NODE-1],"),
        "{pp1}"
    );
    assert!(
        !op1.contains("comprehensive") && op1.contains("[JPN-RUST-2]"),
        "delete and concurrent insert: {op1}"
    );
    assert!(
        pp3.contains("\u{201c}[JPN-RUST-3]") && pp3.contains("\u{201d}[FRA-NODE-2]"),
        "{pp3}"
    );
    assert!(op8.ends_with(" [JPN-RUST-4]."), "{op8}");
    let italic_runs = rust_view.to_string().matches(r#""italic":true"#).count();
    assert!(
        italic_runs >= 13,
        "every paragraph opens in italics on both sides: {italic_runs}"
    );

    // Presence, both ways, exactly as set.
    let node_id = done["clientId"].as_u64().expect("node clientId");
    let node_presence = presence("Node delegate of FRA", "FRA", "#1f77b4", &ids[5]);
    let seen_by_node: Vec<&Value> = done["awareness"]
        .as_array()
        .expect("awareness list")
        .iter()
        .map(|a| &a["state"])
        .collect();
    assert!(
        seen_by_node.contains(&&rust_presence),
        "the stock client did not see the Rust client's presence: {seen_by_node:?}"
    );
    // Node stays until its stdin closes, so its presence is still there.
    rust.wait_until(NODE_WAIT, |_| {
        rust.awareness_states()
            .contains(&(node_id, node_presence.clone()))
    })
    .await
    .ok();
    assert!(
        rust.awareness_states().contains(&(node_id, node_presence)),
        "the Rust client did not see the stock client's presence: {:?}",
        rust.awareness_states()
    );

    // The stock client leaves; its presence goes with it.
    node.exit_ok().await;
    rust.wait_until(WAIT, |_| {
        rust.awareness_states().iter().all(|(id, _)| *id != node_id)
    })
    .await
    .expect("the stock client's presence is removed when it leaves");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stock_y_websocket_gets_permission_denied_and_its_edit_is_reverted_for_everyone() {
    let server = server();
    let doc = "interop-denied";
    let chair = seeded(&server, doc).await;
    let rust = connect(&server, doc, &Who::delegate("JPN")).await;
    rust.wait_until(WAIT, |d| paragraph_count(d) == 13)
        .await
        .expect("the fixture");
    let ids = ids(rust.doc());

    let node_args = strings(&[
        "--edit",
        &format!("insert:{}:0:OBSERVER-EDIT ", ids[0]),
        "--expect-denied",
        "--expect-text",
        "[CHAIR-AFTER-DENIAL]",
    ]);
    let mut node = NodeClient::spawn(&server, doc, &Who::observer(), &node_args);
    node.event("synced").await;
    let denied = node.event("denied").await;
    let reasons = denied["denied"].as_array().expect("denials");
    assert!(
        reasons
            .iter()
            .any(|r| r.as_str().is_some_and(|r| r.contains("observer"))),
        "the stock provider did not receive the observer's permission-denied: {denied}"
    );

    // Anything the server had broadcast would arrive before the chair's later edit.
    append(chair.doc(), 12, " [CHAIR-AFTER-DENIAL]");
    rust.wait_until(WAIT, |d| has_text(d, "[CHAIR-AFTER-DENIAL]"))
        .await
        .expect("the chair's edit arrives");
    assert!(
        !has_text(rust.doc(), "OBSERVER-EDIT"),
        "a connected client received the refused edit"
    );
    let late = connect(&server, doc, &Who::delegate("GBR")).await;
    late.wait_until(WAIT, |d| has_text(d, "[CHAIR-AFTER-DENIAL]"))
        .await
        .expect("a late joiner gets the chair's edit");
    assert!(
        !has_text(late.doc(), "OBSERVER-EDIT"),
        "the server kept the refused edit"
    );

    // The denied connection stays usable: it still receives the chair's edit.
    let done = node.event("done").await;
    assert!(
        done["paragraphs"]
            .to_string()
            .contains("[CHAIR-AFTER-DENIAL]")
    );
    // And the server reverted the refused edit on the stock client's side too.
    assert!(
        !done["paragraphs"].to_string().contains("OBSERVER-EDIT"),
        "the refused edit is still on the stock client: {done}"
    );
    node.exit_ok().await;
}
