//! Property test of the room step (issue 11): several yrs clients make
//! random allowed and forbidden edits, delivered to the server in random
//! orders and batches; the server runs exactly the room step of
//! `Room::admit` (decode, is_known, clock_gap, the real `enforcement::judge`,
//! `Integration::begin` → `accept` or `revert`, settle, merge) and fans the
//! net change out as the room does. At the end every replica has converged,
//! and the server's view holds exactly what the allowed edits say.
//!
//! The oracle of "allowed" is the server's own verdict, recorded when it
//! judged the update that carried the edit (cross-checked against the SPEC
//! §1 matrix for the few roles and statuses used here).
//!
//! Words are units that can never be confused: every seed word is
//! `s<para>w<n>q`, every token a client types is `t<client><n>q`, so a unit
//! is present exactly when its string is a substring of the paragraph text.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex};

use plenary_auth::{Principal, Role};
use plenary_doc::{
    Footprint, Integration, META, Meta, Mode, PARAGRAPHS, Paragraph, ParagraphKind, Resolution,
    ResolutionDoc, Run, Status,
};
use proptest::prelude::*;
use yrs::types::Attrs;
use yrs::updates::decoder::Decode;
use yrs::{
    Any, Array, Doc, GetString, Map, MapRef, Options, Origin, Out, ReadTxn, StateVector, Text,
    TextRef, Transact, TransactionMut, Update,
};

use crate::document::LiveDoc;
use crate::enforcement::{self, Followup, Verdict};
use crate::room::{clock_gap, is_known};
use crate::session::Session;

// ---------------------------------------------------------------- the room step

/// What one room step did with one update.
enum Admitted {
    /// Nothing new (a resync): nothing logged or sent.
    Known,
    /// Refused whole without integrating: the room sends permission-denied
    /// and a sync step 1 with this state vector.
    Whole(StateVector),
    /// Judged: the ids of every part the judge placed, those of the refused
    /// parts, and the net change with whether the sender gets it too
    /// (`None`: nothing changed).
    Judged {
        placed: Footprint,
        refused: Footprint,
        /// The permission-denied messages.
        reasons: Vec<String>,
        net: Option<(Vec<u8>, bool)>,
    },
}

/// `Room::admit` without IO, in the same order.
fn admit(doc: &LiveDoc, session: &Session, bytes: &[u8]) -> Admitted {
    let update = Update::decode_v1(bytes).expect("clients send well-formed updates");
    let sv = doc.doc().transact().state_vector();
    if is_known(&sv, &update) {
        return Admitted::Known;
    }
    if clock_gap(&sv, &update).is_some() {
        return Admitted::Whole(sv);
    }
    let judgement = match enforcement::judge(doc, session, bytes) {
        Verdict::Judged(j) => j,
        Verdict::Unintegrable(_) => return Admitted::Whole(sv),
        Verdict::Malformed(e) => panic!("the server found a client update malformed: {e}"),
    };
    let (placed, refused_targets) = match &judgement.followup {
        Followup::Resolution(effect, refused) => {
            let mut all = Footprint::default();
            for fp in effect.footprints.values() {
                all.merge(fp);
            }
            (all, refused.clone())
        }
        _ => unreachable!("a resolution document"),
    };
    let refused = !judgement.refused.is_empty();
    assert_eq!(
        refused,
        !refused_targets.is_empty(),
        "refusal messages and refused targets disagree"
    );
    let before = if refused {
        doc.values_before(&judgement.followup)
    } else {
        plenary_doc::ValuesBefore::default()
    };
    // `Room::admit`: a refused insertion is integrated without its content.
    let it = if refused {
        Integration::begin_refusing(doc.doc(), bytes, &judgement.refused_ids())
    } else {
        Integration::begin(doc.doc(), update)
    }
    .expect("integrates");
    let net = if !it.changed() {
        None
    } else {
        let net = if refused {
            doc.revert(it, judgement.refused_ids()).expect("reverts")
        } else {
            it.accept()
        };
        // `Room::settled`
        Some(match doc.settle(&judgement.followup, &before) {
            Some(extra) => (
                yrs::merge_updates_v1([net.as_slice(), extra.as_slice()]).expect("merges"),
                true,
            ),
            None => (net, refused),
        })
    };
    Admitted::Judged {
        placed,
        refused: judgement.refused_ids(),
        reasons: judgement.refused.iter().map(|(r, _)| r.clone()).collect(),
        net,
    }
}

// ---------------------------------------------------------------- the scenario

const PARAS: [(&str, Status); 5] = [
    ("p0", Status::Open),
    ("p1", Status::Agreed),
    ("p2", Status::Open),
    ("p3", Status::Bracketed),
    ("p4", Status::Agreed),
];
const WORDS: usize = 4;

/// Delegate A, delegate B, the chair, an observer.
const CLIENTS: [(char, u64, Role, Option<&str>); 4] = [
    ('a', 10, Role::Delegate, Some("France")),
    ('b', 11, Role::Delegate, Some("Kenya")),
    ('c', 12, Role::Chair, None),
    ('o', 13, Role::Observer, None),
];

fn seed_word(p: usize, w: usize) -> String {
    format!("s{p}w{w}q")
}

fn seed() -> Resolution {
    let paragraphs = PARAS
        .iter()
        .enumerate()
        .map(|(i, (id, status))| {
            let rest: String = (1..WORDS)
                .map(|w| format!(" {}", seed_word(i, w)))
                .collect();
            Paragraph {
                id: (*id).into(),
                kind: ParagraphKind::Operative,
                level: 0,
                status: *status,
                text: vec![
                    Run {
                        text: seed_word(i, 0),
                        italic: true,
                        footnote: None,
                    },
                    Run::plain(rest),
                ],
                number: String::new(),
                label: String::new(),
            }
        })
        .collect();
    Resolution {
        meta: Meta {
            title: Some("Convergence".into()),
            mode: Mode::Open,
            ..Meta::default()
        },
        paragraphs,
        ..Resolution::default()
    }
}

#[derive(Clone)]
enum Op {
    /// Type ` t<client><n>q` after a word (or at the start).
    Insert {
        para: u8,
        at: u8,
    },
    /// Delete a word with its leading space.
    Delete {
        para: u8,
        at: u8,
    },
    /// Set or clear italics on a word.
    Italic {
        para: u8,
        at: u8,
        on: bool,
    },
    Status {
        para: u8,
        to: Status,
    },
    Mode(Mode),
}

#[derive(Clone)]
enum Action {
    Edit(u8, Op),
    /// The server takes up to `n` of this client's queued updates, in
    /// order; merged into one update first when `merge`.
    Send {
        client: u8,
        n: u8,
        merge: bool,
    },
    /// This client receives up to `n` server messages, in server order.
    Deliver {
        client: u8,
        n: u8,
    },
    /// The connection drops (frames in flight both ways are lost) and comes
    /// back: sync step 1 both ways.
    Reconnect(u8),
}

fn who(c: u8) -> char {
    CLIENTS[c as usize].0.to_ascii_uppercase()
}

impl fmt::Debug for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Op::Insert { para, at } => write!(f, "insert p{para}@{at}"),
            Op::Delete { para, at } => write!(f, "delete p{para}@{at}"),
            Op::Italic { para, at, on } => write!(f, "italic={on} p{para}@{at}"),
            Op::Status { para, to } => write!(f, "status p{para}={to:?}"),
            Op::Mode(m) => write!(f, "mode={m:?}"),
        }
    }
}

impl fmt::Debug for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::Edit(c, op) => write!(f, "{}: {op:?}", who(*c)),
            Action::Send { client, n, merge } => {
                write!(
                    f,
                    "{} → server ×{n}{}",
                    who(*client),
                    if *merge { " merged" } else { "" }
                )
            }
            Action::Deliver { client, n } => write!(f, "server → {} ×{n}", who(*client)),
            Action::Reconnect(c) => write!(f, "{} reconnects", who(*c)),
        }
    }
}

fn op() -> impl Strategy<Value = Op> {
    let para = 0..PARAS.len() as u8;
    prop_oneof![
        5 => (para.clone(), any::<u8>()).prop_map(|(para, at)| Op::Insert { para, at }),
        2 => (para.clone(), any::<u8>()).prop_map(|(para, at)| Op::Delete { para, at }),
        1 => (para.clone(), any::<u8>(), any::<bool>())
            .prop_map(|(para, at, on)| Op::Italic { para, at, on }),
        2 => (
            para,
            prop_oneof![
                Just(Status::Open),
                Just(Status::Bracketed),
                Just(Status::AdRef),
                Just(Status::Agreed)
            ]
        )
            .prop_map(|(para, to)| Op::Status { para, to }),
        1 => prop_oneof![Just(Mode::Open), Just(Mode::Negotiation)].prop_map(Op::Mode),
    ]
}

fn action() -> impl Strategy<Value = Action> {
    let client = 0..CLIENTS.len() as u8;
    prop_oneof![
        6 => (client.clone(), op()).prop_map(|(c, op)| Action::Edit(c, op)),
        3 => (client.clone(), 1..=3u8, any::<bool>())
            .prop_map(|(client, n, merge)| Action::Send { client, n, merge }),
        3 => (client.clone(), 1..=4u8).prop_map(|(client, n)| Action::Deliver { client, n }),
        1 => client.prop_map(Action::Reconnect),
    ]
}

// ---------------------------------------------------------------- the simulation

/// A client → server frame.
struct Up {
    bytes: Vec<u8>,
    /// The edits it carries (a sync step 2 carries every edit so far).
    edits: Vec<usize>,
}

/// A server → client frame.
enum Down {
    Update(Vec<u8>),
    Step1(StateVector),
}

/// The origin of the transactions that apply what the server sent.
const REMOTE: &str = "server";

/// A client replica: a plain yrs document like `plenary-client`'s (no
/// formatting clean-up, see `known_limit_a_replica_that_cleans_up_formatting_…`),
/// with a fixed client id. Like a y-websocket provider, it sends every
/// transaction that did not come from the server.
struct Client {
    doc: Doc,
    /// Local transactions not yet queued for the server.
    local: Arc<Mutex<Vec<Vec<u8>>>>,
    session: Session,
    letter: char,
    outbox: VecDeque<Up>,
    inbox: VecDeque<Down>,
    typed: u32,
}

fn replica(client_id: u64, state: &[u8]) -> (Doc, Arc<Mutex<Vec<Vec<u8>>>>) {
    replica_with(client_id, state, false)
}

fn replica_with(
    client_id: u64,
    state: &[u8],
    cleanup_formatting: bool,
) -> (Doc, Arc<Mutex<Vec<Vec<u8>>>>) {
    let mut options = Options::with_client_id(yrs::ClientID::new(client_id));
    options.offset_kind = yrs::OffsetKind::Utf16;
    options.cleanup_formatting = cleanup_formatting;
    let doc = Doc::with_options(options);
    doc.transact_mut_with(REMOTE)
        .apply_update(Update::decode_v1(state).unwrap())
        .unwrap();
    let local: Arc<Mutex<Vec<Vec<u8>>>> = Arc::default();
    let sink = local.clone();
    doc.observe_update_v1("provider", move |txn, e| {
        if txn.origin() != Some(&Origin::from(REMOTE)) {
            sink.lock().unwrap().push(e.update.clone());
        }
    })
    .unwrap();
    (doc, local)
}

fn paragraph_map<T: ReadTxn>(txn: &T, id: &str) -> MapRef {
    let ps = txn.get_array(PARAGRAPHS).unwrap();
    ps.iter(txn)
        .find_map(|v| match v {
            Out::YMap(m) => match m.get(txn, "id") {
                Some(Out::Any(Any::String(s))) if &*s == id => Some(m),
                _ => None,
            },
            _ => None,
        })
        .unwrap()
}

fn paragraph_text<T: ReadTxn>(txn: &T, id: &str) -> TextRef {
    match paragraph_map(txn, id).get(txn, "text") {
        Some(Out::YText(t)) => t,
        _ => panic!("paragraph {id} has no text"),
    }
}

fn name_of<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .unwrap()
        .as_str()
        .unwrap()
        .to_owned()
}

fn attrs(italic: bool) -> Attrs {
    let mut a = Attrs::new();
    a.insert(
        "italic".into(),
        if italic { Any::Bool(true) } else { Any::Null },
    );
    a
}

impl Client {
    /// One local transaction (what an editor does for one keystroke or command).
    fn edit(&self, f: impl FnOnce(&mut TransactionMut)) {
        f(&mut self.doc.transact_mut());
    }

    fn text(&self, id: &str) -> String {
        let txn = self.doc.transact();
        paragraph_text(&txn, id).get_string(&txn)
    }

    /// Queues what local transactions produced; returns how many frames.
    fn flush(&mut self, edits: Vec<usize>) -> usize {
        let updates: Vec<Vec<u8>> = std::mem::take(&mut *self.local.lock().unwrap());
        let n = updates.len();
        for (i, bytes) in updates.into_iter().enumerate() {
            let edits = if i == 0 { edits.clone() } else { Vec::new() };
            self.outbox.push_back(Up { bytes, edits });
        }
        n
    }

    fn state(&self) -> Vec<u8> {
        self.doc
            .transact()
            .encode_state_as_update_v1(&StateVector::default())
    }

    fn view(&self) -> Resolution {
        ResolutionDoc::from_update(&self.state())
            .unwrap()
            .resolution()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Judged {
    Allowed,
    Refused,
}

#[derive(Debug)]
enum Kind {
    Insert(String),
    /// The units (seed words, tokens) the deleted range held.
    Delete(Vec<String>),
    Italic,
    Status(Status),
    Mode(Mode),
}

#[derive(Debug)]
struct Edit {
    client: usize,
    /// The paragraph it edits (`None`: the mode).
    para: Option<&'static str>,
    kind: Kind,
    /// The ids it inserted and deleted: its verdict is the judge's verdict
    /// on the parts holding them.
    ids: Footprint,
    verdict: Option<Judged>,
    /// The server step that judged it.
    at: u32,
    /// The update that carried it deleted it too: overwritten by a later
    /// write of its writer, or already lost, on the writer's replica, to a
    /// value the server restored (then it arrives collected, without its
    /// value; see `known_limit_a_mode_write_lost_to_a_restore_offline_…`).
    deleted_when_sent: bool,
}

#[derive(Default, Debug)]
struct Stats {
    steps: u32,
    refused_whole: u32,
    allowed: u32,
    refused: u32,
    /// Status or mode entries holding an earlier allowed write because the
    /// chair's last one arrived collected (known limit, see
    /// `known_limit_a_mode_write_lost_to_a_restore_offline_is_not_the_last_write`).
    collected_writes_lost: u32,
    /// Units a refused deletion restored and a later allowed deletion
    /// missed (the known limit of ARCHITECTURE.md "Known limit", see
    /// `known_limit_an_allowed_deletion_misses_text_the_server_restored`).
    resurrected: u32,
    edits: u32,
}

struct Sim {
    server: LiveDoc,
    clients: Vec<Client>,
    edits: Vec<Edit>,
    /// Every unit ever written, by paragraph index.
    units: BTreeMap<String, usize>,
    /// Every distinct payload the server sent (nets, sync step 2s).
    sent: Vec<Vec<u8>>,
    /// Per paragraph: its runs when it last became agreed (or was last
    /// edited with permission while agreed), while it stays agreed.
    agreed_at: Vec<Option<Vec<Run>>>,
    stats: Stats,
}

fn server_doc(s: &LiveDoc) -> &ResolutionDoc {
    match s {
        LiveDoc::Resolution(d) => d,
        _ => unreachable!(),
    }
}

fn plain(runs: &[Run]) -> String {
    runs.iter().map(|r| r.text.as_str()).collect()
}

/// (start, end) of every maximal run of non-space characters (ASCII text,
/// so byte offsets are UTF-16 offsets).
fn words(text: &str) -> Vec<(usize, usize)> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b' ' {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && b[i] != b' ' {
            i += 1;
        }
        out.push((start, i));
    }
    out
}

impl Sim {
    fn new() -> Self {
        let mut server = LiveDoc::Resolution(ResolutionDoc::with_manual_gc());
        let seeded = ResolutionDoc::from_resolution_with_client_id(1, &seed()).unwrap();
        server.apply(&seeded.encode_state()).unwrap();
        let state = server.encode_state();
        let clients = CLIENTS
            .iter()
            .map(|(letter, id, role, delegation)| {
                let (doc, local) = replica(*id, &state);
                Client {
                    doc,
                    local,
                    session: Session {
                        principal: Principal {
                            sub: format!("user-{letter}"),
                            name: format!("User {letter}"),
                            role: *role,
                            delegation: delegation.map(str::to_owned),
                            groups: vec![],
                            docs: vec!["*".into()],
                            expires_at: u64::MAX,
                        },
                        doc: "res".into(),
                    },
                    letter: *letter,
                    outbox: VecDeque::new(),
                    inbox: VecDeque::new(),
                    typed: 0,
                }
            })
            .collect();
        let mut units = BTreeMap::new();
        for p in 0..PARAS.len() {
            for w in 0..WORDS {
                units.insert(seed_word(p, w), p);
            }
        }
        let agreed_at = PARAS
            .iter()
            .map(|(id, s)| {
                (*s == Status::Agreed).then(|| server_doc(&server).paragraph(id).unwrap().text)
            })
            .collect();
        Sim {
            server,
            clients,
            edits: Vec::new(),
            units,
            sent: Vec::new(),
            agreed_at,
            stats: Stats::default(),
        }
    }

    fn run(&mut self, action: &Action) {
        match action {
            Action::Edit(c, op) => self.edit(*c as usize, op),
            Action::Send { client, n, merge } => self.send(*client as usize, *n as usize, *merge),
            Action::Deliver { client, n } => self.deliver(*client as usize, *n as usize),
            Action::Reconnect(c) => self.reconnect(*c as usize),
        }
    }

    // ------------------------------------------------------------ clients

    fn edit(&mut self, c: usize, op: &Op) {
        let pid = |para: &u8| PARAS[*para as usize].0;
        let client = &mut self.clients[c];
        let (para, kind) = match op {
            Op::Insert { para, at } => {
                let t = client.text(pid(para));
                let b = t.as_bytes();
                // after a word, or at the very start
                let mut spots = vec![0];
                spots.extend(
                    (0..b.len())
                        .filter(|&i| b[i] != b' ' && (i + 1 == b.len() || b[i + 1] == b' '))
                        .map(|i| i + 1),
                );
                let at = spots[*at as usize % spots.len()] as u32;
                client.typed += 1;
                let token = format!("t{}{}q", client.letter, client.typed);
                self.units.insert(token.clone(), *para as usize);
                let typed = format!(" {token}");
                client.edit(|txn| {
                    paragraph_text(txn, pid(para)).insert_with_attributes(
                        txn,
                        at,
                        &typed,
                        attrs(false),
                    )
                });
                (Some(pid(para)), Kind::Insert(token))
            }
            Op::Delete { para, at } | Op::Italic { para, at, .. } => {
                let t = client.text(pid(para));
                let ws = words(&t);
                if ws.is_empty() {
                    return;
                }
                let (start, end) = ws[*at as usize % ws.len()];
                let target = Some(pid(para));
                if let Op::Italic { on, .. } = op {
                    let len = (end - start) as u32;
                    client.edit(|txn| {
                        paragraph_text(txn, pid(para)).format(txn, start as u32, len, attrs(*on))
                    });
                    (target, Kind::Italic)
                } else {
                    let start = if start > 0 && t.as_bytes()[start - 1] == b' ' {
                        start - 1
                    } else {
                        start
                    };
                    let gone = &t[start..end];
                    let covered = self
                        .units
                        .keys()
                        .filter(|u| gone.contains(u.as_str()))
                        .cloned()
                        .collect();
                    let len = (end - start) as u32;
                    client.edit(|txn| {
                        paragraph_text(txn, pid(para)).remove_range(txn, start as u32, len)
                    });
                    (target, Kind::Delete(covered))
                }
            }
            Op::Status { para, to } => {
                client.edit(|txn| {
                    paragraph_map(txn, pid(para)).insert(txn, "status", name_of(to));
                });
                (Some(pid(para)), Kind::Status(*to))
            }
            Op::Mode(m) => {
                client.edit(|txn| {
                    txn.get_map(META).unwrap().insert(txn, "mode", name_of(m));
                });
                (None, Kind::Mode(*m))
            }
        };
        let id = self.edits.len();
        if self.clients[c].flush(vec![id]) > 0 {
            let u = Update::decode_v1(&self.clients[c].outbox.back().unwrap().bytes).unwrap();
            self.edits.push(Edit {
                client: c,
                para,
                kind,
                ids: Footprint {
                    inserted: u.insertions(true),
                    deleted: u.delete_set().clone(),
                },
                verdict: None,
                at: 0,
                deleted_when_sent: false,
            });
        }
    }

    fn deliver(&mut self, c: usize, n: usize) {
        for _ in 0..n {
            let client = &mut self.clients[c];
            let Some(msg) = client.inbox.pop_front() else {
                return;
            };
            match msg {
                Down::Update(bytes) => {
                    let u = Update::decode_v1(&bytes).unwrap();
                    client
                        .doc
                        .transact_mut_with(REMOTE)
                        .apply_update(u)
                        .unwrap();
                }
                Down::Step1(sv) => {
                    // a stock client answers with everything the server lacks
                    let bytes = client.doc.transact().encode_state_as_update_v1(&sv);
                    let edits = (0..self.edits.len())
                        .filter(|&e| self.edits[e].client == c)
                        .collect();
                    // (a sync step 2: what the client wrote and deleted
                    // since the server's state vector arrives collected)
                    client.outbox.push_back(Up { bytes, edits });
                }
            }
            // nothing but the client's own edits makes a local transaction
            assert_eq!(
                client.flush(Vec::new()),
                0,
                "client {} wrote on its own",
                client.letter
            );
        }
    }

    fn reconnect(&mut self, c: usize) {
        let server_sv = self.server.doc().transact().state_vector();
        let client = &mut self.clients[c];
        client.outbox.clear();
        client.inbox.clear();
        // The room's join sends sync step 1; the client's own sync step 1
        // is answered with a sync step 2 of what the client lacks.
        client.inbox.push_back(Down::Step1(server_sv));
        let client_sv = client.doc.transact().state_vector();
        let step2 = self
            .server
            .doc()
            .transact()
            .encode_state_as_update_v1(&client_sv);
        self.sent.push(step2.clone());
        client.inbox.push_back(Down::Update(step2));
    }

    // ------------------------------------------------------------ the server

    fn send(&mut self, c: usize, n: usize, merge: bool) {
        let take = n.min(self.clients[c].outbox.len());
        let ups: Vec<Up> = self.clients[c].outbox.drain(..take).collect();
        if merge && ups.len() > 1 {
            let bytes = yrs::merge_updates_v1(ups.iter().map(|u| u.bytes.as_slice())).unwrap();
            let edits = ups.into_iter().flat_map(|u| u.edits).collect();
            self.step(c, Up { bytes, edits });
        } else {
            for up in ups {
                self.step(c, up);
            }
        }
    }

    /// What the SPEC §1 matrix says of this edit, given the server's state
    /// before the step.
    fn policy(&self, e: &Edit, statuses: &BTreeMap<String, Status>, mode: Mode) -> Judged {
        let allowed = match CLIENTS[e.client].2 {
            Role::Chair => true,
            Role::Observer => false,
            _ => match (&e.kind, e.para, mode) {
                (Kind::Insert(_) | Kind::Delete(_) | Kind::Italic, Some(p), Mode::Open) => {
                    matches!(statuses[p], Status::Open | Status::Bracketed)
                }
                _ => false,
            },
        };
        if allowed {
            Judged::Allowed
        } else {
            Judged::Refused
        }
    }

    fn step(&mut self, c: usize, up: Up) {
        self.stats.steps += 1;
        let before = server_doc(&self.server);
        let statuses: BTreeMap<String, Status> = PARAS
            .iter()
            .map(|(id, _)| (id.to_string(), before.paragraph_status(id).unwrap()))
            .collect();
        let mode = before.mode();
        let admitted = admit(&self.server, &self.clients[c].session, &up.bytes);
        let pending = self
            .server
            .doc()
            .transact()
            .store()
            .pending_update()
            .is_some();
        assert!(!pending, "the server holds a pending update");
        let (placed, refused, reasons, net) = match admitted {
            Admitted::Known => return,
            Admitted::Whole(sv) => {
                self.stats.refused_whole += 1;
                self.clients[c].inbox.push_back(Down::Step1(sv));
                return;
            }
            Admitted::Judged {
                placed,
                refused,
                reasons,
                net,
            } => (placed, refused, reasons, net),
        };
        // Record the verdict of every edit this update carried that was not
        // judged before.
        let carried = Update::decode_v1(&up.bytes).unwrap();
        for &e in &up.edits {
            if self.edits[e].verdict.is_some() {
                continue;
            }
            let expected = self.policy(&self.edits[e], &statuses, mode);
            let ids = &self.edits[e].ids;
            let deleted_when_sent = !carried.delete_set().intersect(&ids.inserted).is_empty();
            let meets = |fp: &Footprint| {
                !fp.inserted.intersect(&ids.inserted).is_empty()
                    || !fp.deleted.intersect(&ids.deleted).is_empty()
            };
            let verdict = if meets(&placed) {
                let v = if meets(&refused) {
                    Judged::Refused
                } else {
                    Judged::Allowed
                };
                assert_eq!(
                    v, expected,
                    "the judge disagrees with the policy on {:?} (statuses {statuses:?}, mode {mode:?}): {reasons:?}",
                    self.edits[e]
                );
                v
            } else {
                // nothing of it was new to the server (a deletion of what
                // is gone already): it counts as the policy says
                expected
            };
            match verdict {
                Judged::Allowed => self.stats.allowed += 1,
                Judged::Refused => self.stats.refused += 1,
            }
            self.edits[e].verdict = Some(verdict);
            self.edits[e].at = self.stats.steps;
            self.edits[e].deleted_when_sent = deleted_when_sent;
        }
        if let Some((net, to_sender)) = net {
            for (j, client) in self.clients.iter_mut().enumerate() {
                if j != c || to_sender {
                    client.inbox.push_back(Down::Update(net.clone()));
                }
            }
            self.sent.push(net);
        }
        // An agreed paragraph changes only by an allowed edit of its text.
        let doc = server_doc(&self.server);
        for (i, (id, _)) in PARAS.iter().enumerate() {
            let now = doc.paragraph(id).unwrap();
            if now.status != Status::Agreed {
                self.agreed_at[i] = None;
                continue;
            }
            // (an edit judged in this very step, allowed, of this paragraph's text)
            let edited = self.edits.iter().any(|e| {
                e.at == self.stats.steps
                    && e.verdict == Some(Judged::Allowed)
                    && e.para == Some(*id)
                    && matches!(e.kind, Kind::Insert(_) | Kind::Delete(_) | Kind::Italic)
            });
            match &self.agreed_at[i] {
                Some(then) if !edited => assert_eq!(
                    &now.text, then,
                    "agreed paragraph {id} changed without an allowed edit"
                ),
                _ => self.agreed_at[i] = Some(now.text),
            }
        }
    }

    /// Delivers everything in flight until nothing moves.
    fn drain(&mut self) {
        for _ in 0..100 {
            let mut moved = false;
            for c in 0..self.clients.len() {
                while !self.clients[c].outbox.is_empty() {
                    moved = true;
                    self.send(c, 1, false);
                }
            }
            for c in 0..self.clients.len() {
                while !self.clients[c].inbox.is_empty() {
                    moved = true;
                    self.deliver(c, 1);
                }
            }
            if !moved {
                return;
            }
        }
        panic!("the room never quiesced");
    }

    // ------------------------------------------------------------ the checks

    fn check(&mut self) {
        let server = server_doc(&self.server);
        let sv = server.doc().transact().state_vector();
        let view = server.resolution();
        // (1) every replica has converged
        for client in &self.clients {
            let txn = client.doc.transact();
            assert!(
                txn.store().pending_update().is_none() && txn.store().pending_ds().is_none(),
                "client {} holds pending structs",
                client.letter
            );
            assert_eq!(
                txn.state_vector(),
                sv,
                "client {} state vector",
                client.letter
            );
            drop(txn);
            assert_eq!(client.view(), view, "client {} view", client.letter);
        }
        // every edit was judged in the end
        for e in &self.edits {
            assert!(e.verdict.is_some(), "never judged: {e:?}");
        }
        // (2) the server's view is the allowed edits alone
        let mut inserted: BTreeMap<&str, Judged> = BTreeMap::new();
        // unit → the first step that judged an allowed / a refused deletion of it
        let mut deleted: BTreeMap<&str, u32> = BTreeMap::new();
        let mut refused_deletion: BTreeMap<&str, u32> = BTreeMap::new();
        for e in &self.edits {
            match (&e.kind, e.verdict) {
                (Kind::Insert(t), Some(v)) => {
                    inserted.insert(t, v);
                }
                (Kind::Delete(units), Some(v)) => {
                    let first = match v {
                        Judged::Allowed => &mut deleted,
                        Judged::Refused => &mut refused_deletion,
                    };
                    for u in units {
                        let at = first.entry(u).or_insert(e.at);
                        *at = (*at).min(e.at);
                    }
                }
                _ => {}
            }
        }
        let state = server.encode_state();
        let state = String::from_utf8_lossy(&state);
        for (unit, para) in &self.units {
            let text = plain(&server.paragraph(PARAS[*para].0).unwrap().text);
            let judged = inserted.get(unit.as_str()).copied();
            let deleted_at = deleted.get(unit.as_str()).copied();
            let expect = judged != Some(Judged::Refused) && deleted_at.is_none();
            let count = text.matches(unit.as_str()).count();
            // Known limit (ARCHITECTURE.md "Known limit", see
            // `known_limit_an_allowed_deletion_misses_text_the_server_restored`):
            // a refused deletion judged first restores the unit as new
            // items, which a concurrent allowed deletion does not reach.
            let resurrected = count == 1
                && judged != Some(Judged::Refused)
                && matches!((deleted_at, refused_deletion.get(unit.as_str())),
                    (Some(allowed), Some(refused)) if *refused < allowed);
            if count != usize::from(expect) && resurrected {
                self.stats.resurrected += 1;
            }
            assert!(
                count == usize::from(expect) || resurrected,
                "unit {unit} in {} ({text:?}) {count} times: inserted {judged:?}, deleted by an allowed edit at step {deleted_at:?}",
                PARAS[*para].0,
            );
            if judged == Some(Judged::Refused) {
                assert!(
                    !state.contains(unit.as_str()),
                    "refused {unit} kept in the server's state"
                );
                for bytes in &self.sent {
                    assert!(
                        !String::from_utf8_lossy(bytes).contains(unit.as_str()),
                        "refused {unit} sent to clients"
                    );
                }
                for client in &self.clients {
                    assert!(
                        !String::from_utf8_lossy(&client.state()).contains(unit.as_str()),
                        "refused {unit} kept by client {}",
                        client.letter
                    );
                }
            }
        }
        // nothing but the units and spaces
        for (i, (id, _)) in PARAS.iter().enumerate() {
            let mut text = plain(&server.paragraph(id).unwrap().text);
            for (unit, _) in self.units.iter().filter(|(_, p)| **p == i) {
                text = text.replace(unit.as_str(), "");
            }
            assert!(text.trim().is_empty(), "stray text in {id}: {text:?}");
        }
        // Statuses and the mode: the last allowed write, in the order the
        // server judged them (only the chair's are allowed, and the chair's
        // writes reach the server in its own order).
        let mut order: Vec<&Edit> = self
            .edits
            .iter()
            .filter(|e| e.verdict == Some(Judged::Allowed))
            .collect();
        order.sort_by_key(|e| e.at); // stable: edits of one step stay in edit order
        // The last allowed write of each key, and the last one that reached
        // the server with its value (known bug, see `Edit::deleted_when_sent`).
        let mut statuses: BTreeMap<&str, [Status; 2]> =
            PARAS.iter().map(|(id, s)| (*id, [*s; 2])).collect();
        let mut mode = [Mode::Open; 2];
        for e in order {
            let live = !e.deleted_when_sent;
            match (&e.kind, e.para) {
                (Kind::Status(to), Some(p)) => {
                    let s = statuses.get_mut(p).unwrap();
                    s[0] = *to;
                    if live {
                        s[1] = *to;
                    }
                }
                (Kind::Mode(m), _) => {
                    mode[0] = *m;
                    if live {
                        mode[1] = *m;
                    }
                }
                _ => {}
            }
        }
        // Every key holds a value of its own (a missing one would read as
        // the default), and it is the last allowed write.
        let txn = server.doc().transact();
        for (id, [status, live]) in statuses {
            assert!(
                paragraph_map(&txn, id).get(&txn, "status").is_some(),
                "status of {id}: no value"
            );
            let now = server.paragraph_status(id);
            if now != Some(status) && now == Some(live) {
                self.stats.collected_writes_lost += 1;
            } else {
                assert_eq!(
                    now,
                    Some(status),
                    "status of {id}: not the last allowed write"
                );
            }
        }
        assert!(
            txn.get_map(META).unwrap().get(&txn, "mode").is_some(),
            "mode: no value"
        );
        drop(txn);
        if server.mode() != mode[0] && server.mode() == mode[1] {
            self.stats.collected_writes_lost += 1;
        } else {
            assert_eq!(server.mode(), mode[0], "mode: not the last allowed write");
        }
        // (3) is checked after every step.
    }
}

/// A scenario: the generator draws 45 to 130 actions; shrinking turns
/// actions into `None`, so a failure shrinks to the few that matter.
#[derive(Clone)]
struct Script(Vec<Option<Action>>);

impl fmt::Debug for Script {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.0.iter().flatten()).finish()
    }
}

fn script() -> impl Strategy<Value = Script> {
    proptest::collection::vec(proptest::option::weighted(0.999, action()), 45..130).prop_map(Script)
}

fn simulate(script: &Script) -> Stats {
    let mut sim = Sim::new();
    for a in script.0.iter().flatten() {
        sim.run(a);
    }
    sim.drain();
    sim.check();
    sim.stats.edits = sim.edits.len() as u32;
    sim.stats
}

proptest! {
    // 128 cases (about 2 s in a debug build); PROPTEST_CASES=5000 for a deep run.
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(128),
        max_shrink_iters: 4096,
        ..ProptestConfig::default()
    })]

    /// All replicas converge on the server's state; the server's text holds
    /// exactly the allowed insertions minus the allowed deletions; refused
    /// text reaches no one and is not kept; agreed paragraphs change only
    /// by allowed edits.
    #[test]
    fn random_allowed_and_forbidden_edits_converge_to_the_allowed_edits_alone(
        script in script()
    ) {
        simulate(&script);
    }
}

#[test]
fn the_property_exercises_every_path() {
    // A fixed run, to see that the generator reaches refusals, whole
    // refusals (clock gaps after a reconnect) and allowed edits.
    use proptest::strategy::ValueTree;
    use proptest::test_runner::{Config, TestRng, TestRunner};
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::deterministic_rng(proptest::test_runner::RngAlgorithm::ChaCha),
    );
    let mut total = Stats::default();
    for _ in 0..16 {
        let s = simulate(&script().new_tree(&mut runner).unwrap().current());
        total.steps += s.steps;
        total.refused_whole += s.refused_whole;
        total.allowed += s.allowed;
        total.refused += s.refused;
        total.collected_writes_lost += s.collected_writes_lost;
        total.resurrected += s.resurrected;
        total.edits += s.edits;
    }
    eprintln!("{total:?}");
    assert!(total.allowed > 50 && total.refused > 50, "{total:?}");
    assert!(total.refused_whole > 0, "{total:?}");
}

// ---------------------------------------------------------------- regressions
//
// Minimal cases the property found, fixed since (97cf9a1); the property
// fails too if one of them comes back.

fn judged(doc: &LiveDoc, session: &Session, update: &[u8]) -> (Vec<String>, Vec<u8>) {
    match admit(doc, session, update) {
        Admitted::Judged {
            reasons,
            net: Some((net, _)),
            ..
        } => (reasons, net),
        _ => panic!("not integrated"),
    }
}

fn server_text(sim: &Sim, id: &str) -> String {
    plain(&server_doc(&sim.server).paragraph(id).unwrap().text)
}

/// Words typed and deleted offline arrive collected, not as an embed: the kept words stay.
#[test]
fn text_typed_and_deleted_offline_is_not_an_embed() {
    let sim = Sim::new();
    let a = &sim.clients[0];
    a.edit(|txn| paragraph_text(txn, "p0").insert_with_attributes(txn, 0, " goneq", attrs(false)));
    a.edit(|txn| paragraph_text(txn, "p0").remove_range(txn, 0, 6));
    a.edit(|txn| paragraph_text(txn, "p0").insert_with_attributes(txn, 0, " keptq", attrs(false)));
    let sv = sim.server.doc().transact().state_vector();
    let step2 = a.doc.transact().encode_state_as_update_v1(&sv);
    let (reasons, _) = judged(&sim.server, &a.session, &step2);
    assert!(reasons.is_empty(), "{reasons:?}");
    let text = server_text(&sim, "p0");
    assert!(
        text.contains("keptq") && !text.contains("goneq"),
        "{text:?}"
    );
}

/// Values overwritten offline arrive collected, not invalid: the last status and mode hold.
#[test]
fn a_value_replaced_offline_is_taken_at_its_last_value() {
    let sim = Sim::new();
    let chair = &sim.clients[2];
    for to in [Status::Bracketed, Status::Agreed] {
        chair.edit(|txn| {
            paragraph_map(txn, "p0").insert(txn, "status", name_of(&to));
        });
    }
    for m in [Mode::Negotiation, Mode::Open] {
        chair.edit(|txn| {
            txn.get_map(META).unwrap().insert(txn, "mode", name_of(&m));
        });
    }
    let sv = sim.server.doc().transact().state_vector();
    let step2 = chair.doc.transact().encode_state_as_update_v1(&sv);
    let (reasons, _) = judged(&sim.server, &chair.session, &step2);
    assert!(reasons.is_empty(), "{reasons:?}");
    assert_eq!(
        server_doc(&sim.server).paragraph_status("p0"),
        Some(Status::Agreed)
    );
    assert_eq!(server_doc(&sim.server).mode(), Mode::Open);
}

/// Two concurrent refused status writes leave an agreed paragraph agreed, and locked.
#[test]
fn two_concurrent_refused_status_writes_leave_the_agreed_status() {
    let sim = Sim::new();
    let write = |c: &Client| {
        c.edit(|txn| {
            paragraph_map(txn, "p4").insert(txn, "status", name_of(&Status::Open));
        });
        c.local.lock().unwrap().pop().unwrap()
    };
    let (a, b) = (&sim.clients[0], &sim.clients[1]);
    let (ua, ub) = (write(a), write(b));
    let (reasons, _) = judged(&sim.server, &a.session, &ua);
    assert!(!reasons.is_empty());
    let (reasons, _) = judged(&sim.server, &b.session, &ub);
    assert!(!reasons.is_empty());
    {
        let txn = sim.server.doc().transact();
        let raw = paragraph_map(&txn, "p4").get(&txn, "status");
        assert!(raw.is_some(), "the status entry was deleted");
    }
    assert_eq!(
        server_doc(&sim.server).paragraph_status("p4"),
        Some(Status::Agreed)
    );
    // and so a delegate may not type into it
    a.edit(|txn| paragraph_text(txn, "p4").insert_with_attributes(txn, 0, " tx1q", attrs(false)));
    let u = a.local.lock().unwrap().pop().unwrap();
    let (reasons, _) = judged(&sim.server, &a.session, &u);
    assert!(
        !reasons.is_empty(),
        "a delegate typed into an agreed paragraph"
    );
}

/// Two concurrent refused mode writes leave the mode as it was, with a value.
#[test]
fn two_concurrent_refused_mode_writes_leave_the_mode() {
    let sim = Sim::new();
    let write = |c: &Client| {
        c.edit(|txn| {
            txn.get_map(META)
                .unwrap()
                .insert(txn, "mode", name_of(&Mode::Negotiation));
        });
        c.local.lock().unwrap().pop().unwrap()
    };
    let (a, b) = (&sim.clients[0], &sim.clients[1]);
    let (ua, ub) = (write(a), write(b));
    for (c, u) in [(a, ua), (b, ub)] {
        let (reasons, _) = judged(&sim.server, &c.session, &u);
        assert!(!reasons.is_empty());
    }
    {
        let txn = sim.server.doc().transact();
        let raw = txn.get_map(META).unwrap().get(&txn, "mode");
        assert!(raw.is_some(), "the mode entry was deleted");
    }
    assert_eq!(server_doc(&sim.server).mode(), Mode::Open);
}

/// An allowed update writing a key twice wins over a concurrent refused write with its last value.
#[test]
fn an_allowed_update_writing_a_key_twice_wins_with_its_last_value() {
    let sim = Sim::new();
    let (chair, observer) = (&sim.clients[2], &sim.clients[3]);
    let write = |c: &Client, to: Status| {
        c.edit(|txn| {
            paragraph_map(txn, "p1").insert(txn, "status", name_of(&to));
        });
        c.local.lock().unwrap().pop().unwrap()
    };
    let by_observer = write(observer, Status::Open);
    let first = write(chair, Status::Bracketed);
    let second = write(chair, Status::Open);
    let (reasons, _) = judged(&sim.server, &observer.session, &by_observer);
    assert!(!reasons.is_empty());
    let both = yrs::merge_updates_v1([first.as_slice(), second.as_slice()]).unwrap();
    let (reasons, _) = judged(&sim.server, &chair.session, &both);
    assert!(reasons.is_empty());
    assert_eq!(
        server_doc(&sim.server).paragraph_status("p1"),
        Some(Status::Open)
    );
}

// ---------------------------------------------------------------- known bugs
//
// Found since; the property tolerates exactly these (counted in `Stats`):
// remove the tolerance when a fix lands.

/// The observer writes the status of an open paragraph; the chair, before
/// hearing of it, writes another. The observer's write is refused and
/// reverted: the server writes the old value again, a new item that wins
/// over the chair's write in Yjs's order on the chair's replica, which
/// deletes and collects the chair's item. The chair's connection drops
/// before its update reached the server; its sync step 2 carries the
/// write as collected content (no value) with the deletion of the old
/// value, which `judge_paragraph_field` reads as the status removed:
/// refused [schema.value] "a paragraph always has a status". Nothing
/// changes on the server (the restored value stays, on every replica
/// alike); the chair gets a permission-denied for an allowed edit.
#[test]
fn a_status_write_lost_to_a_restore_offline_is_not_refused() {
    let sim = Sim::new();
    let (chair, observer) = (&sim.clients[2], &sim.clients[3]);
    let write = |c: &Client, to: Status| {
        c.edit(|txn| {
            paragraph_map(txn, "p0").insert(txn, "status", name_of(&to));
        });
    };
    write(observer, Status::Open);
    write(chair, Status::AdRef);
    let by_observer = observer.local.lock().unwrap().pop().unwrap();
    let (reasons, net) = judged(&sim.server, &observer.session, &by_observer);
    assert!(!reasons.is_empty(), "the observer's write is refused");
    chair
        .doc
        .transact_mut_with(REMOTE)
        .apply_update(Update::decode_v1(&net).unwrap())
        .unwrap();
    // the chair's live update is lost with the connection; it reconnects
    let sv = sim.server.doc().transact().state_vector();
    let step2 = chair.doc.transact().encode_state_as_update_v1(&sv);
    match admit(&sim.server, &chair.session, &step2) {
        Admitted::Judged { reasons, .. } => assert!(reasons.is_empty(), "{reasons:?}"),
        _ => panic!("judged"),
    }
}

/// The chair sets the mode to negotiation (allowed; the server writes it
/// again over the value it restored for the observer's concurrent, refused
/// write). Before hearing of that, the chair sets it back to open; then
/// the observer's revert reaches the chair and the restored value wins
/// over the chair's second write in Yjs's order, on the chair's replica,
/// which collects it. The connection drops before that update reached
/// the server; the sync step 2 carries the second write collected (no
/// value), so the server cannot write it again: the mode stays
/// negotiation, the chair's last write is lost (converged, on every
/// replica). A status written the same way is refused instead (see
/// `a_status_write_lost_to_a_restore_offline_is_not_refused`).
#[test]
#[ignore = "known limit: a write the writer's own replica lost to a restored value arrives without its value; the server keeps the value every replica already shows"]
fn known_limit_a_mode_write_lost_to_a_restore_offline_is_not_the_last_write() {
    let sim = Sim::new();
    let (chair, observer) = (&sim.clients[2], &sim.clients[3]);
    let write = |c: &Client, m: Mode| {
        c.edit(|txn| {
            txn.get_map(META).unwrap().insert(txn, "mode", name_of(&m));
        });
        c.local.lock().unwrap().pop().unwrap()
    };
    let first = write(chair, Mode::Negotiation);
    let by_observer = write(observer, Mode::Open);
    let (reasons, revert) = judged(&sim.server, &observer.session, &by_observer);
    assert!(!reasons.is_empty(), "the observer's write is refused");
    let (reasons, _) = judged(&sim.server, &chair.session, &first);
    assert!(reasons.is_empty(), "the chair's first write is allowed");
    write(chair, Mode::Open);
    chair
        .doc
        .transact_mut_with(REMOTE)
        .apply_update(Update::decode_v1(&revert).unwrap())
        .unwrap();
    // the chair's live update is lost with the connection; it reconnects
    let sv = sim.server.doc().transact().state_vector();
    let step2 = chair.doc.transact().encode_state_as_update_v1(&sv);
    let (reasons, _) = judged(&sim.server, &chair.session, &step2);
    assert!(reasons.is_empty(), "{reasons:?}");
    assert_eq!(server_doc(&sim.server).mode(), Mode::Open);
}

// ---------------------------------------------------------------- known limits
//
// By design. The property tolerates the first (`Stats::resurrected`) and
// avoids the second (its replicas do not clean up formatting).

/// The observer and a delegate delete the same word of an open paragraph
/// concurrently. The observer's deletion reaches the server first: refused,
/// the word is restored as new items of the server. The delegate's deletion
/// (allowed) names the original items, deleted already: a no-op, so the
/// word survives although the only allowed edit deleted it. Documented in
/// ARCHITECTURE.md "Known limit".
#[test]
#[ignore = "known limit (ARCHITECTURE.md \"Known limit\"): an allowed deletion misses the copy a refused concurrent deletion restored"]
fn known_limit_an_allowed_deletion_misses_text_the_server_restored() {
    let sim = Sim::new();
    let delete = |c: &Client| {
        let at = c.text("p0").find(" s0w3q").unwrap() as u32;
        c.edit(|txn| paragraph_text(txn, "p0").remove_range(txn, at, 6));
        c.local.lock().unwrap().pop().unwrap()
    };
    let by_observer = delete(&sim.clients[3]);
    let by_delegate = delete(&sim.clients[0]);
    let (reasons, _) = judged(&sim.server, &sim.clients[3].session, &by_observer);
    assert!(!reasons.is_empty(), "the observer's deletion is refused");
    match admit(&sim.server, &sim.clients[0].session, &by_delegate) {
        Admitted::Judged { reasons, .. } => {
            assert!(reasons.is_empty(), "the delegate's deletion is allowed")
        }
        _ => panic!("judged"),
    }
    assert!(
        !server_text(&sim, "p0").contains("s0w3q"),
        "{:?}",
        server_text(&sim, "p0")
    );
}

/// yrs with `cleanup_formatting` (what `Options::with_client_id`, hence
/// `ResolutionDoc::with_client_id` and `Doc::with_client_id`, turn on)
/// deletes formatting marks left without text after a *remote*
/// transaction, silently: the deletion is in no update (Yjs makes it a
/// local transaction, which a provider sends). When the server later
/// restores text next to such a mark, that replica renders the restored
/// text without the mark's formatting, and stays diverged. The property's
/// replicas are plain yrs documents without the clean-up, like
/// `plenary-client`'s.
#[test]
#[ignore = "known limit: yrs replicas with cleanup_formatting diverge after a restore next to formatting"]
fn known_limit_a_replica_that_cleans_up_formatting_diverges_after_a_restore() {
    let sim = Sim::new();
    let state = sim.server.encode_state();
    let (a, a_out) = replica_with(10, &state, true);
    let (b, b_out) = replica_with(11, &state, true);
    let (o, o_out) = replica_with(13, &state, true);
    let remote = |d: &Doc, u: &[u8]| {
        d.transact_mut_with(REMOTE)
            .apply_update(Update::decode_v1(u).unwrap())
            .unwrap();
    };
    let session = |i: usize| &sim.clients[i].session;
    // p3 is "*s3w0q* s3w1q s3w2q s3w3q" (the first word italic).
    // A types after the italic word; allowed.
    {
        let mut txn = a.transact_mut();
        paragraph_text(&txn, "p3").insert_with_attributes(&mut txn, 5, " ta1q", attrs(false));
    }
    let ua = a_out.lock().unwrap().pop().unwrap();
    let (_, net0) = judged(&sim.server, session(0), &ua);
    // The observer deletes the italic word before it hears of A's edit.
    {
        let mut txn = o.transact_mut();
        paragraph_text(&txn, "p3").remove_range(&mut txn, 0, 5);
    }
    let uo = o_out.lock().unwrap().pop().unwrap();
    // B hears of A's word and deletes it; allowed.
    remote(&b, &net0);
    {
        let mut txn = b.transact_mut();
        paragraph_text(&txn, "p3").remove_range(&mut txn, 5, 5);
    }
    let ub = b_out.lock().unwrap().pop().unwrap();
    let (_, net1) = judged(&sim.server, session(1), &ub);
    // The observer hears of both: its clean-up silently deletes the
    // italic mark left before the gap.
    remote(&o, &net0);
    remote(&o, &net1);
    // The observer's deletion is refused; the server restores the word
    // after the italic mark, which the observer no longer has.
    let (reasons, net2) = judged(&sim.server, session(3), &uo);
    assert!(!reasons.is_empty());
    remote(&o, &net2);
    let view = |d: &Doc| {
        ResolutionDoc::from_update(
            &d.transact()
                .encode_state_as_update_v1(&StateVector::default()),
        )
        .unwrap()
        .paragraph("p3")
        .unwrap()
        .text
    };
    assert_eq!(
        view(&o),
        server_doc(&sim.server).paragraph("p3").unwrap().text
    );
}
