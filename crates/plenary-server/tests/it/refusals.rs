//! A refused change derails no one (issue 11), tried the way users meet it:
//! with stock clients over real sockets against a real `plenary serve`.
//!
//! Two stock clients, driven through one line-based JSON protocol:
//! - npm `yjs` 13 + `y-websocket` 3.x `WebsocketProvider`
//!   (`tests/interop/interop.mjs --serve`, needs `npm ci --prefix tests/interop`);
//! - pycrdt's `Provider` on pycrdt-websocket's channel over httpx-ws
//!   (`tests/interop-py/client.py`; its virtualenv is made on first use from
//!   `tests/interop-py/requirements.txt`).
//!
//! For every kind of refusal, each stock client is refused (and told so with
//! permission-denied naming the target and the rule), its next allowed edit
//! reaches another client within a second, and its document ends up exactly
//! the server's: same texts, formatting, fields, and the same state vector as
//! a client that syncs afresh. A delegate who edited offline keeps the edit
//! the chair still allows. Refused text reaches no one: not the frames of
//! other clients, the history API, exports, the store, or a restarted server.
//!
//! These tests fail loudly (never skip) without node or python3.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use plenary_doc::{
    CommentsDoc, NewComment, Proposal, ProposalAction, ProposalStatus, ResolutionDoc,
};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use yrs::types::text::{Diff, YChange};
use yrs::updates::decoder::Decode;
use yrs::{Any, Array, Doc, Map, MapRef, Out, ReadTxn, StateVector, Text, Transact, Update};

use crate::support::*;

/// Deadline of any one wait for something that should happen at once.
const STEP: Duration = Duration::from_secs(5);
/// A refused client's next allowed edit reaches another client within this.
const REACH: Duration = Duration::from_secs(1);
/// A stock client's start: its runtime, its imports, its first sync.
const START: Duration = Duration::from_secs(30);

// ---------------------------------------------------------------------------
// Stock clients
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stock {
    /// npm `yjs` + `y-websocket` `WebsocketProvider`, under node.
    Yjs,
    /// pycrdt + pycrdt-websocket, under python.
    Pycrdt,
}

impl Stock {
    fn tag(self) -> &'static str {
        match self {
            Stock::Yjs => "yjs",
            Stock::Pycrdt => "pycrdt",
        }
    }
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The pycrdt virtualenv, made once per test run when missing or incomplete.
fn python() -> &'static Path {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON.get_or_init(|| {
        let dir = repo().join("tests/interop-py");
        let venv = dir.join(".venv");
        let python = venv.join("bin/python");
        let ready = || {
            std::process::Command::new(&python)
                .args(["-c", "import pycrdt, pycrdt.websocket, httpx_ws"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        };
        if !ready() {
            let run = |cmd: &mut std::process::Command, what: &str| {
                let status = cmd.status().unwrap_or_else(|e| {
                    panic!("{what}: cannot run it ({e}); python3 must be on PATH")
                });
                assert!(status.success(), "{what} failed ({status})");
            };
            run(
                std::process::Command::new("python3")
                    .args(["-m", "venv"])
                    .arg(&venv),
                "python3 -m venv tests/interop-py/.venv",
            );
            run(
                std::process::Command::new(venv.join("bin/pip"))
                    .args(["install", "--quiet", "--disable-pip-version-check", "-r"])
                    .arg(dir.join("requirements.txt")),
                "pip install -r tests/interop-py/requirements.txt",
            );
            assert!(
                ready(),
                "pycrdt is still not importable from {}",
                venv.display()
            );
        }
        python
    })
}

/// Makes the pycrdt virtualenv (if needed) off the async workers, before any
/// scenario starts timing anything.
async fn stock_clients_ready() {
    tokio::task::spawn_blocking(python)
        .await
        .expect("the pycrdt virtualenv");
}

/// A stock client in its own process, answering JSON commands on stdin with
/// JSON lines (the protocol is described in `interop.mjs`).
struct StockClient {
    label: String,
    child: Child,
    stdin: ChildStdin,
    lines: Lines<BufReader<ChildStdout>>,
}

/// What a stock client reports about itself.
#[derive(Debug, Clone)]
struct Seen {
    view: Value,
    sv: BTreeMap<u64, u32>,
    pending: bool,
    denied: Vec<String>,
}

impl Seen {
    fn of(answer: &Value) -> Seen {
        let hex = answer["sv"].as_str().expect("sv");
        let bytes: Vec<u8> = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
            .collect();
        Seen {
            view: answer["view"].clone(),
            sv: sv_map(&StateVector::decode_v1(&bytes).expect("a state vector")),
            pending: answer["pending"].as_bool().unwrap_or(false),
            denied: answer["denied"]
                .as_array()
                .expect("denied")
                .iter()
                .map(|d| d.as_str().unwrap_or_default().to_owned())
                .collect(),
        }
    }
}

impl StockClient {
    async fn start(kind: Stock, server: &TestServer, doc: &str, who: &Who) -> StockClient {
        server.ensure_doc(doc);
        let url = format!("ws://{}/sync", server.addr());
        let token = who.token();
        let mut cmd = match kind {
            Stock::Yjs => {
                let dir = repo().join("tests/interop");
                assert!(
                    dir.join("node_modules/y-websocket").is_dir(),
                    "the refusal tests need the npm packages: run `npm ci --prefix tests/interop`"
                );
                let mut c = Command::new("node");
                c.current_dir(&dir).args(["interop.mjs", "--serve"]);
                c
            }
            Stock::Pycrdt => {
                let mut c = Command::new(python());
                c.current_dir(repo().join("tests/interop-py"))
                    .arg("client.py");
                c
            }
        };
        let mut child = cmd
            .args(["--url", &url, "--doc", doc, "--token", &token])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start the {} client: {e}", kind.tag()));
        let stdin = child.stdin.take().expect("stdin");
        let lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let mut client = StockClient {
            label: format!("{} client on {doc}", kind.tag()),
            child,
            stdin,
            lines,
        };
        let synced = client.read(START).await;
        assert_eq!(synced["event"], "synced", "{}: {synced}", client.label);
        client
    }

    async fn read(&mut self, within: Duration) -> Value {
        let line = tokio::time::timeout(within, self.lines.next_line())
            .await
            .unwrap_or_else(|_| panic!("{}: no answer in {within:?}", self.label))
            .expect("read stdout");
        let Some(line) = line else {
            let status = self.child.wait().await.expect("exit status");
            panic!("{} exited ({status}); its stderr is above", self.label);
        };
        serde_json::from_str(&line).unwrap_or_else(|e| {
            panic!(
                "{} printed a line that is not JSON ({e}): {line}",
                self.label
            )
        })
    }

    /// Sends one command and returns its answer; an error answer fails the test.
    async fn send(&mut self, cmd: Value) -> Value {
        let mut line = cmd.to_string();
        line.push('\n');
        self.stdin
            .write_all(line.as_bytes())
            .await
            .unwrap_or_else(|e| panic!("{}: write command: {e}", self.label));
        self.stdin.flush().await.expect("flush");
        let answer = self.read(STEP + Duration::from_secs(5)).await;
        assert_ne!(
            answer["event"], "error",
            "{}: {cmd} failed: {}",
            self.label, answer["message"]
        );
        answer
    }

    async fn state(&mut self) -> Seen {
        Seen::of(&self.send(json!({"cmd": "state"})).await)
    }

    /// Makes `ops` in one transaction, as one user action.
    async fn edit(&mut self, ops: Value) -> Seen {
        Seen::of(&self.send(json!({"cmd": "edit", "ops": ops})).await)
    }

    /// Waits (at most STEP) until `n` permission-denied messages have arrived.
    async fn denials(&mut self, n: usize) -> Vec<String> {
        let a = self
            .send(json!({"cmd": "wait", "denied": n, "timeoutMs": STEP.as_millis() as u64}))
            .await;
        let seen = Seen::of(&a);
        assert!(
            a["ok"] == true,
            "{}: the refused change got no permission-denied message within {STEP:?} \
             (denials so far: {:?})",
            self.label,
            seen.denied
        );
        seen.denied
    }

    /// Waits (at most `within`) until some paragraph's text holds `needle`.
    async fn sees(&mut self, needle: &str, within: Duration) -> bool {
        let a = self
            .send(json!({"cmd": "wait", "text": needle, "timeoutMs": within.as_millis() as u64}))
            .await;
        a["ok"] == true
    }

    async fn disconnect(&mut self) {
        self.send(json!({"cmd": "disconnect"})).await;
    }

    async fn connect(&mut self) {
        self.send(json!({"cmd": "connect", "timeoutMs": STEP.as_millis() as u64}))
            .await;
    }

    async fn quit(mut self) {
        let _ = self.stdin.write_all(b"{\"cmd\":\"quit\"}\n").await;
        let _ = self.stdin.flush().await;
        let _ = tokio::time::timeout(STEP, self.child.wait()).await;
    }
}

// ---------------------------------------------------------------------------
// The canonical view of a document (the same as interop.mjs and client.py)
// ---------------------------------------------------------------------------

fn any_json(a: &Any) -> Value {
    match a {
        Any::Null | Any::Undefined => Value::Null,
        Any::Bool(b) => json!(b),
        Any::Number(yrs::any::Number::Int(n)) => json!(n),
        Any::Number(yrs::any::Number::Float(n)) => json!(n),
        Any::String(s) => json!(&**s),
        Any::Buffer(b) => json!(b.iter().map(|x| format!("{x:02x}")).collect::<String>()),
        Any::Array(xs) => Value::Array(xs.iter().map(any_json).collect()),
        Any::Map(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), any_json(v))).collect()),
    }
}

/// The string and boolean entries of a map.
fn scalars<T: ReadTxn>(txn: &T, m: &MapRef) -> Value {
    Value::Object(
        m.iter(txn)
            .filter_map(|(k, v)| match v {
                Out::Any(Any::String(s)) => Some((k.to_owned(), json!(&*s))),
                Out::Any(Any::Bool(b)) => Some((k.to_owned(), json!(b))),
                _ => None,
            })
            .collect(),
    )
}

/// A text as `[[insert, attrs]]`: adjacent runs with equal attributes merged,
/// null attributes dropped, an embed as `{"embed": value}`.
fn delta<T: ReadTxn>(txn: &T, text: &yrs::TextRef) -> Value {
    let mut out: Vec<(Value, serde_json::Map<String, Value>)> = Vec::new();
    for Diff {
        insert, attributes, ..
    } in text.diff(txn, YChange::identity)
    {
        let mut attrs: Vec<(String, Value)> = attributes
            .as_deref()
            .map(|a| {
                a.iter()
                    .filter(|(_, v)| !matches!(v, Any::Null | Any::Undefined))
                    .map(|(k, v)| (k.to_string(), any_json(v)))
                    .collect()
            })
            .unwrap_or_default();
        attrs.sort_by(|a, b| a.0.cmp(&b.0));
        let attrs: serde_json::Map<String, Value> = attrs.into_iter().collect();
        match insert {
            Out::Any(Any::String(s)) => {
                if s.is_empty() {
                    continue;
                }
                match out.last_mut() {
                    Some((Value::String(t), a)) if *a == attrs => t.push_str(&s),
                    _ => out.push((json!(&*s), attrs)),
                }
            }
            Out::Any(a) => out.push((json!({"embed": any_json(&a)}), attrs)),
            other => out.push((json!({"embed": other.to_string(txn)}), attrs)),
        }
    }
    Value::Array(
        out.into_iter()
            .map(|(i, a)| json!([i, Value::Object(a)]))
            .collect(),
    )
}

fn view_of(doc: &Doc, comments: bool) -> Value {
    if comments {
        let (c, p) = (
            doc.get_or_insert_map("comments"),
            doc.get_or_insert_map("policy"),
        );
        let txn = doc.transact();
        let list: serde_json::Map<String, Value> = c
            .iter(&txn)
            .map(|(k, v)| {
                let v = match v {
                    Out::YMap(m) => scalars(&txn, &m),
                    _ => json!({}),
                };
                (k.to_owned(), v)
            })
            .collect();
        return json!({"comments": list, "policy": scalars(&txn, &p)});
    }
    let (meta, paras, props, notes) = (
        doc.get_or_insert_map("meta"),
        doc.get_or_insert_array("paragraphs"),
        doc.get_or_insert_array("proposals"),
        doc.get_or_insert_map("footnotes"),
    );
    let txn = doc.transact();
    let paragraphs: Vec<Value> = paras
        .iter(&txn)
        .map(|p| match p {
            Out::YMap(m) => {
                let d = match m.get(&txn, "text") {
                    Some(Out::YText(t)) => delta(&txn, &t),
                    _ => Value::Null,
                };
                json!({"fields": scalars(&txn, &m), "delta": d})
            }
            _ => json!({"fields": {}, "delta": null}),
        })
        .collect();
    let proposals: Vec<Value> = props
        .iter(&txn)
        .map(|p| match p {
            Out::YMap(m) => {
                let supporters: Vec<Value> = match m.get(&txn, "supporters") {
                    Some(Out::YArray(a)) => a
                        .iter(&txn)
                        .filter_map(|s| match s {
                            Out::Any(Any::String(s)) => Some(json!(&*s)),
                            _ => None,
                        })
                        .collect(),
                    _ => vec![],
                };
                json!({"fields": scalars(&txn, &m), "supporters": supporters})
            }
            _ => json!({"fields": {}, "supporters": []}),
        })
        .collect();
    let footnotes: serde_json::Map<String, Value> = notes
        .iter(&txn)
        .map(|(k, v)| {
            let d = match v {
                Out::YText(t) => delta(&txn, &t),
                _ => Value::Null,
            };
            (k.to_owned(), d)
        })
        .collect();
    json!({
        "meta": scalars(&txn, &meta),
        "paragraphs": paragraphs,
        "proposals": proposals,
        "footnotes": footnotes,
    })
}

fn is_comments(doc: &str) -> bool {
    doc.contains("/comments/")
}

/// The paragraph with `id` in a view.
fn para<'a>(view: &'a Value, id: &str) -> &'a Value {
    view["paragraphs"]
        .as_array()
        .expect("paragraphs")
        .iter()
        .find(|p| p["fields"]["id"] == id)
        .unwrap_or_else(|| panic!("no paragraph {id} in the view"))
}

fn plain(p: &Value) -> String {
    p["delta"]
        .as_array()
        .map(|runs| runs.iter().filter_map(|r| r[0].as_str()).collect())
        .unwrap_or_default()
}

fn ids(view: &Value) -> Vec<String> {
    view["paragraphs"]
        .as_array()
        .expect("paragraphs")
        .iter()
        .map(|p| p["fields"]["id"].as_str().unwrap_or("?").to_owned())
        .collect()
}

/// A view without the paragraphs in `skip` (those the allowed edits changed).
fn without(view: &Value, skip: &[&str]) -> Value {
    let mut v = view.clone();
    if let Some(ps) = v["paragraphs"].as_array_mut() {
        ps.retain(|p| !skip.iter().any(|s| p["fields"]["id"] == *s));
    }
    v
}

fn has_text(doc: &Doc, needle: &str) -> bool {
    all_texts(doc).iter().any(|t| t.contains(needle))
}

/// Where a client's view differs from the server's, in a few lines.
fn differences(client: &Value, server: &Value) -> String {
    let mut out = Vec::new();
    let empty = serde_json::Map::new();
    let keys: std::collections::BTreeSet<&String> = client
        .as_object()
        .unwrap_or(&empty)
        .keys()
        .chain(server.as_object().unwrap_or(&empty).keys())
        .collect();
    for key in keys {
        let (c, s) = (&client[key.as_str()], &server[key.as_str()]);
        if c == s {
            continue;
        }
        if key != "paragraphs" {
            out.push(format!(
                "  {key}: the client has {c}\n  {key}: the server has {s}"
            ));
            continue;
        }
        let (ci, si) = (ids(client), ids(server));
        if ci != si {
            out.push(format!(
                "  paragraphs: the client has {ci:?}\n  paragraphs: the server has {si:?}"
            ));
        }
        for id in si.iter().filter(|id| ci.contains(id)) {
            let (cp, sp) = (para(client, id), para(server, id));
            if cp == sp {
                continue;
            }
            if cp["fields"] != sp["fields"] {
                out.push(format!(
                    "  {id} fields: the client has {}, the server {}",
                    cp["fields"], sp["fields"]
                ));
            }
            if plain(cp) != plain(sp) {
                out.push(format!(
                    "  {id} text: the client has {:?}\n  {id} text: the server has {:?}",
                    plain(cp),
                    plain(sp)
                ));
            } else if cp["delta"] != sp["delta"] {
                out.push(format!(
                    "  {id} formatting: the client has {}\n  {id} formatting: the server has {}",
                    cp["delta"], sp["delta"]
                ));
            }
        }
    }
    out.join("\n")
}

/// Waits until the stock client holds exactly what a client that syncs from
/// the server now holds: the same view (texts, formatting, fields) and the
/// same state vector, with nothing pending. Returns the agreed view.
async fn converges(stock: &mut StockClient, server: &TestServer, doc: &str, what: &str) -> Value {
    let fresh = connect(server, doc, &Who::chair()).await;
    let comments = is_comments(doc);
    let deadline = Instant::now() + STEP;
    loop {
        let seen = stock.state().await;
        let (view, sv) = (
            view_of(fresh.doc(), comments),
            sv_map(&fresh.doc().transact().state_vector()),
        );
        if seen.view == view && seen.sv == sv && !seen.pending {
            return view;
        }
        if Instant::now() > deadline {
            assert!(
                seen.view == view,
                "{}, {what}: its document differs from the server's after {STEP:?}:\n{}",
                stock.label,
                differences(&seen.view, &view)
            );
            assert_eq!(
                seen.sv, sv,
                "{}, {what}: same content but not the same state vector as a client that \
                 syncs from the server (client id → clock)",
                stock.label
            );
            panic!(
                "{}, {what}: it still holds updates it cannot integrate",
                stock.label
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A permission-denied reason reads `<target>: <message> [<rule-id>]`.
fn assert_reason(label: &str, reason: &str, target: &str, rule: Option<&str>) {
    let rule_id = reason
        .rsplit_once('[')
        .and_then(|(_, r)| r.strip_suffix(']'))
        .unwrap_or_else(|| panic!("{label}: the denial does not end with a [rule-id]: {reason:?}"));
    assert!(
        !rule_id.is_empty() && !rule_id.contains(' '),
        "{label}: rule id {rule_id:?} in {reason:?}"
    );
    if let Some(rule) = rule {
        assert_eq!(
            rule_id, rule,
            "{label}: the denial names another rule: {reason:?}"
        );
    }
    let (head, _) = reason
        .split_once(": ")
        .unwrap_or_else(|| panic!("{label}: the denial names no target: {reason:?}"));
    assert!(
        head.contains(target),
        "{label}: the denial should name {target:?} before its message: {reason:?}"
    );
}

// ---------------------------------------------------------------------------
// Setting the scene with Rust clients
// ---------------------------------------------------------------------------

/// JPN proposes a replacement of OP1 (p6); returns the proposal's id once the
/// witness has it.
async fn jpn_proposal(server: &TestServer, doc: &str, witness: &Client) -> (Client, String) {
    let jpn = connect(server, doc, &Who::delegate("JPN")).await;
    jpn.wait_until(STEP, |d| paragraph_count(d) == 13)
        .await
        .expect("JPN has the draft");
    let pid = as_client(&jpn, |m| {
        m.add_proposal(&Proposal {
            id: String::new(),
            paragraph_id: Some("p6".into()),
            footnote_id: None,
            after: None,
            action: ProposalAction::Replace,
            text: "Urges Member States to develop strategies to reduce reoffending;".into(),
            delegation: "JPN".into(),
            on_behalf_of: None,
            supporters: vec![],
            author: "Delegate of JPN".into(),
            created_at: 1,
            status: ProposalStatus::Pending,
            decided_by: None,
            decided_at: None,
            base_text: None,
            base_seq: None,
            kind: None,
            level: None,
        })
        .expect("a proposal")
        .0
    });
    let p = pid.clone();
    witness
        .wait_until(STEP, move |d| {
            ResolutionDoc::from_update(&state_of(d))
                .expect("view")
                .proposal(&p)
                .is_some()
        })
        .await
        .expect("JPN's proposal is accepted");
    (jpn, pid)
}

/// JPN writes a public comment; returns its id once the witness has it.
async fn jpn_comment(server: &TestServer, scope: &str, witness: &Client) -> (Client, String) {
    let who = Who::delegate("JPN");
    let jpn = connect(server, scope, &who).await;
    let mut mirror = CommentsDoc::from_update(&state_of(jpn.doc())).expect("mirror");
    let (cid, update) = mirror
        .add_comment(&NewComment {
            paragraph_id: "p6".into(),
            anchor: None,
            text: "JPN would rather keep OP1 as it stands.".into(),
            author: who.claims().sub,
            author_name: who.name.clone(),
            delegation: "JPN".into(),
            created_at: 1,
        })
        .expect("a comment");
    jpn.doc()
        .transact_mut()
        .apply_update(Update::decode_v1(&update).expect("decode"))
        .expect("apply");
    let c = cid.clone();
    witness
        .wait_until(STEP, move |d| {
            view_of(d, true)["comments"].get(c.as_str()).is_some()
        })
        .await
        .expect("JPN's comment is accepted");
    (jpn, cid)
}

fn paragraph_index(doc: &Doc, id: &str) -> u32 {
    (0..paragraph_count(doc))
        .find(|i| field(doc, *i, "id").as_deref() == Some(id))
        .unwrap_or_else(|| panic!("no paragraph {id}"))
}

// ---------------------------------------------------------------------------
// One refusal, end to end
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    AgreedText,
    AdRefText,
    StatusChange,
    ModeChange,
    InsertParagraph,
    DeleteParagraph,
    MoveParagraph,
    EditOthersProposal,
    WithdrawOthersProposal,
    ObserverText,
    EditOthersComment,
    FootnoteAttribute,
    Embed,
}

impl Class {
    fn tag(self) -> &'static str {
        match self {
            Class::AgreedText => "agreed",
            Class::AdRefText => "adref",
            Class::StatusChange => "status",
            Class::ModeChange => "mode",
            Class::InsertParagraph => "insert",
            Class::DeleteParagraph => "delete",
            Class::MoveParagraph => "move",
            Class::EditOthersProposal => "proposal-edit",
            Class::WithdrawOthersProposal => "proposal-withdraw",
            Class::ObserverText => "observer",
            Class::EditOthersComment => "comment",
            Class::FootnoteAttribute => "footnote",
            Class::Embed => "embed",
        }
    }
}

/// The delegate every refused stock client speaks for (or an observer).
fn fra() -> Who {
    Who::delegate("FRA")
}

/// The change of each class, with the rule it breaks (when the rule is
/// named in advance), the target its denial names, and the paragraphs the
/// allowed edits of the scenario touch.
fn refusal(
    class: Class,
    refused: &str,
    partial: &str,
    pid: &str,
    cid: &str,
) -> (Value, Option<&'static str>, String, Vec<&'static str>) {
    match class {
        Class::AgreedText => (
            // Partial: one transaction, the agreed OP4 and the open OP5.
            json!([
                {"op": "insert", "paragraph": "p9", "after": "Encourages", "text": format!(" {refused}")},
                {"op": "delete", "paragraph": "p9", "find": "promote "},
                {"op": "insert", "paragraph": "p10", "at": "end", "text": format!(" {partial}")},
            ]),
            Some("delegate.agreed-paragraph"),
            "p9".into(),
            vec!["p10", "p11"],
        ),
        Class::AdRefText => (
            json!([
                {"op": "insert", "paragraph": "p8", "at": "end", "text": format!(" {refused}")},
                {"op": "delete", "paragraph": "p8", "find": "local "},
            ]),
            Some("delegate.ad-ref-paragraph"),
            "p8".into(),
            vec!["p11"],
        ),
        Class::StatusChange => (
            json!([{"op": "setField", "paragraph": "p10", "key": "status", "value": "agreed"}]),
            Some("status.chair-only"),
            "p10".into(),
            vec!["p11"],
        ),
        Class::ModeChange => (
            json!([{"op": "setMeta", "key": "mode", "value": "negotiation"}]),
            Some("mode.chair-only"),
            "mode".into(),
            vec!["p11"],
        ),
        Class::InsertParagraph => (
            json!([{"op": "insertParagraph", "index": 9,
                "fields": {"id": format!("p-{refused}"), "kind": "operative", "status": "open"},
                "text": format!("Decides {refused};")}]),
            Some("structure.chair-only"),
            format!("p-{refused}"),
            vec!["p11"],
        ),
        Class::DeleteParagraph => (
            json!([{"op": "deleteParagraph", "paragraph": "p12"}]),
            Some("structure.chair-only"),
            "p12".into(),
            vec!["p11"],
        ),
        Class::MoveParagraph => (
            json!([{"op": "moveParagraph", "paragraph": "p13", "index": 5}]),
            Some("structure.chair-only"),
            "p13".into(),
            vec!["p11"],
        ),
        Class::EditOthersProposal => (
            json!([{"op": "setProposal", "proposal": pid, "key": "text", "value": refused}]),
            Some("proposal.own-delegation"),
            pid.to_owned(),
            vec!["p11"],
        ),
        Class::WithdrawOthersProposal => (
            json!([{"op": "setProposal", "proposal": pid, "key": "status", "value": "withdrawn"}]),
            Some("proposal.own-delegation"),
            pid.to_owned(),
            vec!["p11"],
        ),
        Class::ObserverText => (
            json!([{"op": "insert", "paragraph": "p10", "at": "end", "text": format!(" {refused}")}]),
            Some("observer.read-only"),
            "p10".into(),
            vec!["p11"],
        ),
        Class::EditOthersComment => (
            json!([{"op": "setComment", "comment": cid, "key": "text", "value": refused}]),
            Some("comments.own-only"),
            cid.to_owned(),
            vec![],
        ),
        Class::FootnoteAttribute => (
            // Words of an open paragraph marked as a footnote reference.
            json!([{"op": "format", "paragraph": "p10", "find": "expert group meeting",
                "attrs": {"footnote": "fn1"}}]),
            None,
            "p10".into(),
            vec!["p11"],
        ),
        Class::Embed => (
            json!([{"op": "embed", "paragraph": "p10", "after": "Requests",
                "embed": {"image": format!("https://example.org/{refused}.png")}}]),
            None,
            "p10".into(),
            vec!["p11"],
        ),
    }
}

/// One stock client refused once, then carrying on. Every assertion says what
/// a user would notice.
async fn refused_then_carries_on(server: &TestServer, kind: Stock, class: Class) {
    let doc = format!("ref-{}-{}", class.tag(), kind.tag());
    let label = format!("{} client, {:?}", kind.tag(), class);
    let refused = format!("REFUSED-{}-{}", class.tag(), kind.tag()).to_uppercase();
    let allowed = format!("ALLOWED-{}-{}", class.tag(), kind.tag()).to_uppercase();
    let partial = format!("PARTIAL-{}-{}", class.tag(), kind.tag()).to_uppercase();

    // The scene: the fixture, the chair's settings, what others wrote.
    let chair = seeded(server, &doc).await;
    let scope = format!("{doc}/comments/public");
    let comments = class == Class::EditOthersComment;
    let on = if comments { scope.clone() } else { doc.clone() };
    let witness = recording(server, &on, &Who::delegate("GBR")).await;
    let mut _keep = Vec::new();
    let mut pid = String::new();
    let mut cid = String::new();
    match class {
        Class::AgreedText => set_field(
            chair.doc(),
            paragraph_index(chair.doc(), "p9"),
            "status",
            "agreed",
        ),
        Class::AdRefText => set_field(
            chair.doc(),
            paragraph_index(chair.doc(), "p8"),
            "status",
            "ad-ref",
        ),
        Class::EditOthersProposal | Class::WithdrawOthersProposal => {
            let (jpn, id) = jpn_proposal(server, &doc, &witness).await;
            _keep.push(jpn);
            pid = id;
        }
        Class::EditOthersComment => {
            let (jpn, id) = jpn_comment(server, &scope, &witness).await;
            _keep.push(jpn);
            cid = id;
        }
        _ => {}
    }
    match class {
        Class::AgreedText => witness
            .wait_until(STEP, |d| field(d, 8, "status").as_deref() == Some("agreed"))
            .await
            .expect("OP4 agreed"),
        Class::AdRefText => witness
            .wait_until(STEP, |d| field(d, 7, "status").as_deref() == Some("ad-ref"))
            .await
            .expect("OP3 ad ref"),
        _ => {}
    }

    let who = if class == Class::ObserverText {
        Who::observer()
    } else {
        fra()
    };
    let mut stock = StockClient::start(kind, server, &on, &who).await;
    let before = converges(&mut stock, server, &on, "on joining").await;

    // The refused change (FRA may not do it; the observer may do nothing).
    let (ops, rule, target, touched) = refusal(class, &refused, &partial, &pid, &cid);
    let made = stock.edit(ops).await;
    assert_ne!(
        made.view, before,
        "{label}: the client made the change locally (so only the server can undo it)"
    );
    let denied = stock.denials(1).await;
    assert_reason(&label, &denied[0], &target, rule);
    if class == Class::FootnoteAttribute {
        assert!(denied[0].contains("footnote"), "{label}: {}", denied[0]);
    }

    // Its next allowed edit reaches another client within a second.
    if class == Class::ObserverText {
        // An observer has nothing to write: what it notices is whether it
        // still follows the negotiation.
        append(
            chair.doc(),
            paragraph_index(chair.doc(), "p11"),
            &format!(" {allowed}"),
        );
        assert!(
            stock.sees(&allowed, REACH).await,
            "{label}: after its refusal the observer no longer receives the chair's edits"
        );
    } else {
        let next = if comments {
            json!([{"op": "addComment", "id": format!("c-{allowed}"), "fields": {
                "id": format!("c-{allowed}"), "paragraphId": "p11", "text": allowed,
                "author": who.claims().sub, "authorName": who.name, "delegation": "FRA",
                "createdAt": 2, "resolved": false}}])
        } else {
            json!([{"op": "insert", "paragraph": "p11", "at": "end", "text": format!(" {allowed}")}])
        };
        let sent = Instant::now();
        stock.edit(next).await;
        let arrived = if comments {
            let id = format!("c-{allowed}");
            witness
                .wait_until(REACH, move |d| {
                    view_of(d, true)["comments"].get(id.as_str()).is_some()
                })
                .await
        } else {
            witness.wait_until(REACH, |d| has_text(d, &allowed)).await
        };
        assert!(
            arrived.is_ok(),
            "{label}: its next edit, which it may make, did not reach another client within \
             {REACH:?} of being made (waited {:?}); denials: {:?}",
            sent.elapsed(),
            stock.state().await.denied
        );
    }

    // It ends up with the server's document, to the last formatting mark and clock.
    let after = converges(&mut stock, server, &on, "after the refusal").await;
    let skip: Vec<&str> = touched;
    let mut after_rest = without(&after, &skip);
    if comments {
        // Everything but its own new comment is as it was.
        after_rest["comments"]
            .as_object_mut()
            .expect("comments")
            .remove(&format!("c-{allowed}"));
    }
    assert_eq!(
        after_rest,
        without(&before, &skip),
        "{label}: the refused change is not exactly undone"
    );
    assert!(
        !after.to_string().contains(&refused),
        "{label}: refused content is in the server's document"
    );
    match class {
        Class::AgreedText => {
            assert!(
                plain(para(&after, "p10")).ends_with(&format!(" {partial}")),
                "{label}: the allowed part of the same change (in open OP5) was lost: {}",
                plain(para(&after, "p10"))
            );
            assert!(
                plain(para(&after, "p9")).contains("to promote multi-stakeholder"),
                "{label}: the deleted words of agreed OP4 are not restored"
            );
        }
        Class::AdRefText => assert!(plain(para(&after, "p8")).contains("of local communities")),
        Class::StatusChange => assert_eq!(para(&after, "p10")["fields"]["status"], "open"),
        Class::ModeChange => assert_eq!(after["meta"]["mode"], "open"),
        Class::InsertParagraph | Class::DeleteParagraph | Class::MoveParagraph => assert_eq!(
            ids(&after),
            (1..=13).map(|i| format!("p{i}")).collect::<Vec<_>>(),
            "{label}: the paragraphs are not back in their places"
        ),
        Class::EditOthersProposal | Class::WithdrawOthersProposal => {
            let p = &after["proposals"][0]["fields"];
            assert_eq!(p["status"], "pending", "{label}");
            assert_eq!(p["delegation"], "JPN", "{label}");
            assert!(
                p["text"].as_str().unwrap_or_default().starts_with("Urges"),
                "{label}: {p}"
            );
        }
        Class::EditOthersComment => {
            assert_eq!(
                after["comments"][cid.as_str()]["text"],
                "JPN would rather keep OP1 as it stands."
            );
            assert_eq!(
                after["comments"][format!("c-{allowed}").as_str()]["text"],
                allowed.as_str()
            );
        }
        Class::FootnoteAttribute => assert!(
            !para(&after, "p10")["delta"]
                .to_string()
                .contains("footnote"),
            "{label}: {}",
            para(&after, "p10")["delta"]
        ),
        Class::Embed => assert!(
            !para(&after, "p10")["delta"].to_string().contains("embed"),
            "{label}: {}",
            para(&after, "p10")["delta"]
        ),
        Class::ObserverText => {}
    }
    if !matches!(class, Class::ObserverText) {
        assert!(
            after.to_string().contains(&allowed),
            "{label}: the allowed edit is not in the server's document"
        );
    }
    // What another client received never held the refused content.
    assert!(
        !frames_hold(&witness, &refused),
        "{label}: another client received the refused content"
    );
    stock.quit().await;
}

/// Runs the same scenario for both stock clients at once on one server, and
/// reports every client that failed (not only the first).
async fn for_both<F, Fut>(scenario: F)
where
    F: Fn(Arc<TestServer>, Stock) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    stock_clients_ready().await;
    let server = Arc::new(server());
    let runs: Vec<_> = [Stock::Yjs, Stock::Pycrdt]
        .into_iter()
        .map(|kind| (kind, tokio::spawn(scenario(server.clone(), kind))))
        .collect();
    let mut failures = Vec::new();
    for (kind, run) in runs {
        if let Err(e) = run.await {
            let why = match e.try_into_panic() {
                Ok(p) => p
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_else(|| "a panic".into()),
                Err(e) => e.to_string(),
            };
            failures.push(format!("[{}] {why}", kind.tag()));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n\n"));
}

async fn both(class: Class) {
    for_both(
        move |server, kind| async move { refused_then_carries_on(&server, kind, class).await },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agreed_text_edit_is_undone_and_the_open_part_kept() {
    both(Class::AgreedText).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ad_ref_text_edit_is_undone() {
    both(Class::AdRefText).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_change_by_a_delegate_is_undone() {
    both(Class::StatusChange).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mode_change_by_a_delegate_is_undone() {
    both(Class::ModeChange).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paragraph_inserted_by_a_delegate_is_removed() {
    both(Class::InsertParagraph).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paragraph_deleted_by_a_delegate_is_restored_with_its_formatting() {
    both(Class::DeleteParagraph).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paragraph_moved_by_a_delegate_goes_back() {
    both(Class::MoveParagraph).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edit_of_another_delegations_proposal_is_undone() {
    both(Class::EditOthersProposal).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn withdrawal_of_another_delegations_proposal_is_undone() {
    both(Class::WithdrawOthersProposal).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn observer_text_edit_is_undone_and_the_observer_still_follows() {
    both(Class::ObserverText).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edit_of_another_delegations_comment_is_undone() {
    both(Class::EditOthersComment).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn footnote_mark_set_by_a_delegate_is_undone() {
    both(Class::FootnoteAttribute).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embed_in_paragraph_text_is_removed() {
    both(Class::Embed).await;
}

// ---------------------------------------------------------------------------
// Offline edits, one paragraph agreed meanwhile
// ---------------------------------------------------------------------------

async fn offline_delegate(server: &TestServer, kind: Stock) {
    let doc = format!("ref-offline-{}", kind.tag());
    let label = format!("{} client offline", kind.tag());
    let kept = format!("OFFLINE-KEPT-{}", kind.tag()).to_uppercase();
    let lost = format!("OFFLINE-LOST-{}", kind.tag()).to_uppercase();
    let next = format!("BACK-ONLINE-{}", kind.tag()).to_uppercase();
    let chair = seeded(server, &doc).await;
    let witness = recording(server, &doc, &Who::delegate("GBR")).await;
    let mut stock = StockClient::start(kind, server, &doc, &fra()).await;
    let before = converges(&mut stock, server, &doc, "on joining").await;

    // Offline, the delegate works on OP5 (p10) and OP6 (p11), one edit each.
    stock.disconnect().await;
    stock
        .edit(
            json!([{"op": "insert", "paragraph": "p10", "at": "end", "text": format!(" {kept}")}]),
        )
        .await;
    stock
        .edit(json!([{"op": "insert", "paragraph": "p11", "after": "Also requests", "text": format!(" {lost}")}]))
        .await;
    // Meanwhile the chair agrees OP6.
    set_field(
        chair.doc(),
        paragraph_index(chair.doc(), "p11"),
        "status",
        "agreed",
    );
    witness
        .wait_until(STEP, |d| {
            field(d, 10, "status").as_deref() == Some("agreed")
        })
        .await
        .expect("OP6 agreed");

    stock.connect().await;
    let denied = stock.denials(1).await;
    assert_reason(&label, &denied[0], "p11", Some("delegate.agreed-paragraph"));
    witness
        .wait_until(STEP, |d| has_text(d, &kept))
        .await
        .unwrap_or_else(|_| {
            panic!("{label}: the offline edit of open OP5 never reached the others")
        });
    let after = converges(&mut stock, server, &doc, "after reconnecting").await;
    assert!(
        plain(para(&after, "p10")).ends_with(&format!(" {kept}")),
        "{label}: OP5 lost its edit"
    );
    assert_eq!(
        plain(para(&after, "p11")),
        plain(para(&before, "p11")),
        "{label}: agreed OP6 is not as the chair agreed it, on the delegate's side too"
    );
    assert_eq!(para(&after, "p11")["fields"]["status"], "agreed");
    assert!(
        !frames_hold(&witness, &lost),
        "{label}: another client received the refused edit"
    );

    // And it carries on.
    stock
        .edit(
            json!([{"op": "insert", "paragraph": "p12", "at": "end", "text": format!(" {next}")}]),
        )
        .await;
    witness
        .wait_until(REACH, |d| has_text(d, &next))
        .await
        .unwrap_or_else(|_| panic!("{label}: its next edit did not arrive within {REACH:?}"));
    converges(&mut stock, server, &doc, "after its next edit").await;
    stock.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_edits_keep_the_open_paragraph_and_revert_the_one_agreed_meanwhile() {
    for_both(|server, kind| async move { offline_delegate(&server, kind).await }).await;
}

// ---------------------------------------------------------------------------
// Refused text is seen nowhere
// ---------------------------------------------------------------------------

const SECRET: &str = "SECRET-7F3A-REFUSED";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_text_reaches_no_frame_log_history_export_or_snapshot() {
    stock_clients_ready().await;
    let mut server = server();
    let doc = "ref-frames";
    let scope = format!("{doc}/comments/public");
    let chair = seeded(&server, doc).await;
    set_field(chair.doc(), 8, "status", "agreed");
    // A third client records every frame it receives, on the draft and on the comments.
    let frames = recording(&server, doc, &Who::delegate("GBR")).await;
    let comment_frames = recording(&server, &scope, &Who::delegate("GBR")).await;
    frames
        .wait_until(STEP, |d| field(d, 8, "status").as_deref() == Some("agreed"))
        .await
        .expect("OP4 agreed");
    let (_jpn, pid) = jpn_proposal(&server, doc, &frames).await;
    let (_jpn_c, cid) = jpn_comment(&server, &scope, &comment_frames).await;

    let mut yjs = StockClient::start(Stock::Yjs, &server, doc, &fra()).await;
    let mut py = StockClient::start(Stock::Pycrdt, &server, doc, &fra()).await;
    let mut yjs_c = StockClient::start(Stock::Yjs, &server, &scope, &fra()).await;
    converges(&mut yjs, &server, doc, "on joining").await;
    converges(&mut py, &server, doc, "on joining").await;

    // Refused, each with the secret: text in agreed OP4 next to an allowed
    // edit of open OP5 (one change), a new paragraph, a proposal's text, a
    // comment's text.
    yjs.edit(json!([
        {"op": "insert", "paragraph": "p9", "after": "Encourages", "text": format!(" {SECRET}-1")},
        {"op": "insert", "paragraph": "p10", "at": "end", "text": " VISIBLE-1"},
    ]))
    .await;
    py.edit(json!([
        {"op": "insertParagraph", "index": 9, "fields": {"id": "p-secret", "kind": "operative", "status": "open"},
         "text": format!("Decides {SECRET}-2;")},
    ]))
    .await;
    yjs.denials(1).await;
    py.denials(1).await;
    py.edit(json!([{"op": "setProposal", "proposal": pid, "key": "text", "value": format!("{SECRET}-3")}]))
        .await;
    yjs_c
        .edit(json!([{"op": "setComment", "comment": cid, "key": "text", "value": format!("{SECRET}-4")}]))
        .await;
    py.denials(2).await;
    yjs_c.denials(1).await;
    // Then allowed edits from the same clients: whatever the server had
    // broadcast of the refused ones would have arrived before these.
    yjs.edit(json!([{"op": "insert", "paragraph": "p11", "at": "end", "text": " VISIBLE-2"}]))
        .await;
    py.edit(json!([{"op": "insert", "paragraph": "p12", "at": "end", "text": " VISIBLE-3"}]))
        .await;
    let id = "c-visible-4";
    let fra_sub = fra().claims().sub;
    yjs_c
        .edit(
            json!([{"op": "addComment", "id": id, "fields": {"id": id, "paragraphId": "p11",
            "text": "VISIBLE-4", "author": fra_sub, "authorName": fra().name, "delegation": "FRA",
            "createdAt": 2, "resolved": false}}]),
        )
        .await;
    let visible = ["VISIBLE-1", "VISIBLE-2", "VISIBLE-3"];
    if frames
        .wait_until(STEP, |d| visible.iter().all(|v| has_text(d, v)))
        .await
        .is_err()
    {
        let missing: Vec<_> = visible
            .iter()
            .filter(|v| !has_text(frames.doc(), v))
            .collect();
        panic!(
            "allowed edits made with or after refused ones never reached another client: {missing:?}; \
             denials: {:?} {:?}",
            yjs.state().await.denied,
            py.state().await.denied
        );
    }
    comment_frames
        .wait_until(STEP, |d| view_of(d, true)["comments"].get(id).is_some())
        .await
        .expect("the allowed comment arrives");
    for (c, what) in [(&mut yjs, "yjs"), (&mut py, "pycrdt")] {
        converges(c, &server, doc, what).await;
    }
    converges(&mut yjs_c, &server, &scope, "comments").await;
    assert!(frames_hold(&frames, "VISIBLE-1"), "the recorder records");
    assert!(
        !frames_hold(&frames, SECRET),
        "refused text reached another client's frames"
    );
    assert!(
        !frames_hold(&comment_frames, SECRET),
        "a refused comment edit reached another client's frames"
    );

    // The history API and the exports it serves.
    let chair_who = Who::chair();
    let (_, list) = http_get(&server, "/api/docs", &chair_who).await;
    let seq = serde_json::from_str::<Value>(&list)
        .expect("JSON")
        .as_array()
        .expect("a list")
        .iter()
        .find(|d| d["name"] == doc)
        .and_then(|d| d["seq"].as_u64())
        .expect("the document is listed");
    let mut paths: Vec<String> = [
        "",
        "?format=text",
        "?format=markdown",
        "?format=html",
        "?format=akn",
        "/timeline",
        "/attribution",
        "/proposals",
        "/versions",
    ]
    .iter()
    .map(|p| format!("/api/docs/{doc}{p}"))
    .collect();
    paths.push(format!("/api/docs/{doc}/compare?from=1&to={seq}"));
    paths.extend((1..=seq).map(|s| format!("/api/docs/{doc}/state?seq={s}")));
    let check_api = |status: u16, path: &str, body: &str| {
        assert_eq!(status, 200, "GET {path}: {body}");
        assert!(!body.contains(SECRET), "GET {path} shows refused text");
    };
    for path in &paths {
        let (status, body) = http_get(&server, path, &chair_who).await;
        check_api(status, path, &body);
    }
    let (_, current) = http_get(&server, &format!("/api/docs/{doc}"), &chair_who).await;
    assert!(
        current.contains("VISIBLE-1") && current.contains("VISIBLE-3"),
        "{current}"
    );

    // The store: stop the server cleanly (final snapshots) and read its files.
    for c in [yjs, py, yjs_c] {
        c.quit().await;
    }
    drop((frames, comment_frames, chair, _jpn, _jpn_c));
    assert!(
        server.terminate(Duration::from_secs(20)),
        "the server stops cleanly"
    );
    let mut files = vec![server.data_dir().to_path_buf()];
    while let Some(path) = files.pop() {
        if path.is_dir() {
            files.extend(
                std::fs::read_dir(&path)
                    .expect("read dir")
                    .map(|e| e.expect("entry").path()),
            );
        } else {
            let bytes = std::fs::read(&path).expect("read a store file");
            assert!(
                !bytes.windows(SECRET.len()).any(|w| w == SECRET.as_bytes()),
                "refused text is stored in {}",
                path.display()
            );
        }
    }
    // The exports of the stored document.
    for format in ["text", "markdown", "html", "akn", "json"] {
        let out = std::process::Command::new(bin())
            .args(["export", "--doc", doc, "--format", format, "--data-dir"])
            .arg(server.data_dir())
            .env("PLENARY_JWT_SECRET", TEST_SECRET)
            .output()
            .expect("plenary export");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "export {format}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            text.contains("VISIBLE-1"),
            "export {format} lacks the accepted edit"
        );
        assert!(!text.contains(SECRET), "export {format} shows refused text");
    }

    // A restarted server, from its snapshots and log.
    server.restart();
    let fresh = recording(&server, doc, &Who::observer()).await;
    fresh
        .wait_until(STEP, |d| has_text(d, "VISIBLE-3"))
        .await
        .expect("the restarted server has the accepted edits");
    assert!(
        !frames_hold(&fresh, SECRET),
        "the restarted server sent refused text"
    );
    let fresh_c = recording(&server, &scope, &Who::observer()).await;
    fresh_c
        .wait_until(STEP, |d| view_of(d, true)["comments"].get(id).is_some())
        .await
        .expect("the restarted server has the allowed comment");
    assert!(
        !frames_hold(&fresh_c, SECRET),
        "the restarted server sent a refused comment edit"
    );
    for path in &paths {
        let (status, body) = http_get(&server, path, &chair_who).await;
        check_api(status, path, &body);
    }
}

// ---------------------------------------------------------------------------
// The yardstick: the same changes, made by the chair, who may make them
// ---------------------------------------------------------------------------

/// The chair's stock client makes the changes the scenarios above have
/// refused from others: each is accepted, and after each one the stock client
/// and a client syncing afresh agree to the formatting mark and the clock.
/// This holds on a server that merely drops refused updates, so when the
/// tests above fail, the failure is the refusal's, not the clients' or the
/// comparison's.
async fn chair_makes_the_same_changes(server: &TestServer, kind: Stock) {
    let doc = format!("ref-chair-{}", kind.tag());
    let chair = seeded(server, &doc).await;
    set_field(
        chair.doc(),
        paragraph_index(chair.doc(), "p8"),
        "status",
        "ad-ref",
    );
    let witness = connect(server, &doc, &Who::observer()).await;
    witness
        .wait_until(STEP, |d| field(d, 7, "status").as_deref() == Some("ad-ref"))
        .await
        .expect("OP3 ad ref");
    let mut stock = StockClient::start(kind, server, &doc, &Who::chair()).await;
    converges(&mut stock, server, &doc, "on joining").await;
    let tag = kind.tag().to_uppercase();
    for class in [
        Class::AgreedText,
        Class::AdRefText,
        Class::FootnoteAttribute,
        Class::InsertParagraph,
        Class::DeleteParagraph,
        Class::MoveParagraph,
        Class::StatusChange,
        Class::ModeChange,
    ] {
        let marker = format!("CHAIR-{}-{tag}", class.tag()).to_uppercase();
        let (ops, ..) = refusal(class, &marker, &format!("{marker}-P"), "", "");
        stock.edit(ops).await;
        let what = format!("after the chair's {class:?}");
        let view = converges(&mut stock, server, &doc, &what).await;
        assert!(
            stock.state().await.denied.is_empty(),
            "{what}: {:?}",
            stock.state().await.denied
        );
        if !matches!(
            class,
            Class::StatusChange
                | Class::ModeChange
                | Class::FootnoteAttribute
                | Class::DeleteParagraph
                | Class::MoveParagraph
        ) {
            assert!(view.to_string().contains(&marker), "{what}: {view}");
        }
        match class {
            // A footnote mark belongs on a marker (superscript digits) only:
            // words marked as one would be hidden from the API and exports,
            // so the server takes the mark off them even for the chair, and
            // the chair's own client converges to that.
            Class::FootnoteAttribute => assert!(
                !para(&view, "p10")["delta"].to_string().contains("footnote"),
                "{what}: {}",
                para(&view, "p10")["delta"]
            ),
            Class::MoveParagraph => {
                assert_eq!(ids(&view)[5], "p13", "{what}");
                assert_eq!(
                    para(&view, "p13")["delta"][0],
                    json!(["Requests", {"italic": true}]),
                    "{what}"
                );
            }
            _ => {}
        }
    }
    stock.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_chair_may_make_the_same_changes_and_every_client_converges() {
    for_both(|server, kind| async move { chair_makes_the_same_changes(&server, kind).await }).await;
}
