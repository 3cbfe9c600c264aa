//! One live document: its Y.Doc, its awareness, its connections.
//!
//! A room is an actor: one tokio task owns the document and processes the
//! commands of its connections one at a time, so no lock guards the CRDT and
//! every accepted update has a single, total order (the order of the log).
//!
//! Architecture invariants:
//! - Every document update a client sends goes through [`Room::accept_updates`],
//!   and nothing else changes the document but [`Room::apply_remote`] (entries
//!   another node appended to the shared log). The order there is fixed:
//!   decode → judge (target by target) → integrate whole → revert the refused
//!   targets → settle (the server's own follow-up) → append the net change to
//!   the log → broadcast it (to the sender too when anything of its update
//!   was reverted or followed up). A refusal never leaves a client behind:
//!   its clocks stay continuous and the net change converges it. Nothing is
//!   broadcast or acknowledged that is not in the log: updates queued
//!   together are applied in order and group-committed; while a commit is in
//!   flight the room goes on applying the next batch, but a batch's deltas go
//!   out only when its commit returns (in log order), and a sync step 2 is
//!   held until the commit covering what it shows returns (see
//!   [`Room::accept_updates`] and [`Room::sync_step1`]).
//! - The room never awaits a client: fan-out uses `try_send` on each
//!   connection's bounded queue, and a connection whose queue is full is
//!   closed as a slow consumer (it resyncs when it reconnects).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use axum::body::Bytes;
use tokio::sync::{mpsc, oneshot, watch};
use yrs::sync::{Awareness, AwarenessUpdate};
use yrs::updates::decoder::Decode;
use yrs::{ClientID, ReadTxn, StateVector, Transact, Update};

use crate::document::LiveDoc;
use crate::enforcement::{self, Verdict};
use crate::metrics;
use crate::persistence::{PersistError, Persistence};
use crate::protocol::{self, Incoming};
use crate::session::Session;
use crate::state::ServerState;
use plenary_auth::Principal;
use plenary_doc::{Integration, ValuesBefore};
use plenary_store::LogEntry;

pub(crate) type ConnId = u64;

/// Why the server closes a connection (sent in the WebSocket close frame).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CloseReason {
    pub code: u16,
    pub reason: String,
}

impl CloseReason {
    pub(crate) fn new(code: u16, reason: impl Into<String>) -> Self {
        Self {
            code,
            reason: reason.into(),
        }
    }
}

/// What a room holds of one connection.
#[derive(Clone)]
pub(crate) struct ConnHandle {
    pub id: ConnId,
    pub session: Arc<Session>,
    /// Bounded: the room never waits on it.
    pub out: mpsc::Sender<Bytes>,
    /// Tells the connection's writer to close now, even if its queue is full.
    pub close: Arc<watch::Sender<Option<CloseReason>>>,
}

impl ConnHandle {
    fn close(&self, reason: CloseReason) {
        self.close.send_replace(Some(reason));
    }
}

pub(crate) enum RoomCmd {
    Join {
        conn: ConnHandle,
        ready: oneshot::Sender<Result<(), String>>,
    },
    Leave {
        conn: ConnId,
    },
    Message {
        conn: ConnId,
        msg: Incoming,
    },
    /// The chair's decision on a proposal (`POST …/proposals/{id}/decision`),
    /// applied in the room's turn like any update.
    Decide {
        // Boxed, like `by` below: a room's queue allocates its slots at the size of the
        // largest command, and these two are rare.
        request: Box<DecideRequest>,
        reply: oneshot::Sender<Result<plenary_doc::Proposal, DecideFailure>>,
    },
    /// A version was named: the server writes meta `revision` (its name) as
    /// `by`'s change, so every open page learns it and renumbers.
    Revision {
        by: Box<Principal>,
        name: String,
        done: oneshot::Sender<Result<(), String>>,
    },
}

/// A decision to apply: the proposal, what was decided, and who decided
/// (already checked to be the chair).
pub(crate) struct DecideRequest {
    pub proposal: String,
    pub decision: plenary_doc::Decision,
    pub principal: plenary_auth::Principal,
}

/// Why a decision was not applied.
#[derive(Debug)]
pub(crate) enum DecideFailure {
    /// The document said no (unknown, not pending, stale …).
    Refused(plenary_doc::DecideError),
    /// The room or the store could not take it now; nothing was applied.
    Unavailable(&'static str),
    /// The chair's own text is over the cap of what it replaces (a footnote's: the route
    /// checks the paragraph cap, which is larger).
    TooLarge(String),
}

struct Peer {
    handle: ConnHandle,
    /// Awareness client ids this connection speaks for. An id belongs to the
    /// first connection that announces it, so nobody can overwrite or remove
    /// another participant's presence.
    awareness_ids: HashSet<u64>,
}

pub(crate) struct Room {
    name: String,
    state: Arc<ServerState>,
    doc: LiveDoc,
    awareness: Awareness,
    peers: HashMap<ConnId, Peer>,
    /// Which connection owns which awareness client id.
    awareness_owner: HashMap<u64, ConnId>,
    persistence: Persistence,
    /// The document holds changes the store could not keep: unload.
    poisoned: bool,
    /// Applied updates waiting for the next group commit.
    queued: Vec<Pending>,
    /// The deltas of the group commit in flight, by sender.
    committing: Option<Vec<Fanout>>,
    /// When the commit in flight was handed to the store (for `plenary_commit_seconds`).
    commit_started: Instant,
    /// The answers to decisions in the commit in flight.
    replies: Vec<DecisionReply>,
    /// Where the commit task reports.
    commit_done: mpsc::Sender<Result<usize, PersistError>>,
    /// Sync step 2 answers encoded while updates were waiting for the store,
    /// held until the commit that makes what they show durable (by number).
    held_step2: Vec<(ConnId, Bytes, u64)>,
    /// Bumped by the document on every transaction that changed it (`None`: no cache).
    changes: Option<Arc<AtomicU64>>,
    /// The last sync step 2 answered to an empty state vector (a fresh page), with the change
    /// count it was encoded at: a join storm on a large document encodes it once, not per joiner.
    full_step2: Option<(u64, Bytes)>,
    /// Group commits started and finished so far.
    commits_started: u64,
    commits_finished: u64,
    /// What the room knows of its document's encoded size.
    size: DocSize,
}

/// The document's encoded size, for `max_document_bytes`, kept without
/// encoding the document on every update: the exact size measured at load
/// (and again when the estimate nears the cap) plus the bytes of every
/// change integrated since. That is an upper estimate in practice (a
/// net change carries its structs with their origins in full, while the
/// document squashes runs of typing into one item; see ARCHITECTURE), and
/// it never comes down by itself: deleted content is freed only in the
/// measurement.
///
/// So when the estimate says an update would pass the cap, the room
/// measures again (one encode of the document) if enough has changed
/// since the last measurement to pay for it: `1/64` of the cap in bytes
/// integrated, or, after deletions, a second. Otherwise it trusts the
/// estimate. A document at its cap therefore costs at most one encode a
/// second, and one per `cap/64` bytes of accepted changes.
struct DocSize {
    measured: usize,
    since: usize,
    deleted: bool,
    at: Instant,
}

/// How long after a measurement deletions may trigger another.
const REMEASURE_AFTER: std::time::Duration = std::time::Duration::from_secs(1);

impl DocSize {
    fn new(measured: usize) -> Self {
        DocSize {
            measured,
            since: 0,
            deleted: false,
            at: Instant::now(),
        }
    }

    fn estimate(&self) -> usize {
        self.measured.saturating_add(self.since)
    }

    /// A change of `bytes` was integrated; `deletes` when it deleted something.
    fn integrated(&mut self, bytes: usize, deletes: bool) {
        self.since = self.since.saturating_add(bytes);
        self.deleted |= deletes;
    }

    fn worth_measuring(&self, cap: usize) -> bool {
        self.since >= cap / 64 || (self.deleted && self.at.elapsed() >= REMEASURE_AFTER)
    }

    fn measure(&mut self, exact: usize) {
        *self = DocSize::new(exact);
    }
}

/// The net change one connection's update produced, and who must not get
/// it back: the sender, unless part of its update was reverted (then it
/// needs the reverting change like everyone else).
type Fanout = (Option<ConnId>, Vec<u8>);

/// An applied update waiting for the store.
struct Pending {
    except: Option<ConnId>,
    entry: LogEntry,
    net: Vec<u8>,
    /// A decision's answer, sent once the entry is durable.
    reply: Option<DecisionReply>,
}

type DecisionReply = (
    oneshot::Sender<Result<plenary_doc::Proposal, DecideFailure>>,
    plenary_doc::Proposal,
);

/// Updates handled in one group commit at most.
const MAX_BATCH: usize = 256;

impl Room {
    /// Spawns the room's task; it loads the document before serving joins.
    pub(crate) fn spawn(
        name: String,
        state: Arc<ServerState>,
        generation: u64,
    ) -> mpsc::Sender<RoomCmd> {
        let (tx, rx) = mpsc::channel(1024);
        let span = tracing::info_span!("room", doc = %name);
        tokio::spawn(tracing::Instrument::instrument(
            run(name, state, generation, rx),
            span,
        ));
        tx
    }

    fn broadcast(&mut self, frame: Bytes, except: Option<ConnId>) {
        let mut slow = Vec::new();
        for (id, peer) in &self.peers {
            if Some(*id) == except {
                continue;
            }
            match peer.handle.out.try_send(frame.clone()) {
                Ok(()) => {}
                Err(mpsc::error::TrySendError::Full(_)) => slow.push(*id),
                Err(mpsc::error::TrySendError::Closed(_)) => slow.push(*id),
            }
        }
        for id in slow {
            self.state.metrics.slow_consumers.inc();
            self.drop_peer(
                id,
                Some(CloseReason::new(
                    1013,
                    "slow consumer: too far behind the room; reconnect to resync",
                )),
            );
        }
    }

    fn send_to(&mut self, conn: ConnId, frame: Vec<u8>) {
        self.send_frame(conn, Bytes::from(frame));
    }

    fn send_frame(&mut self, conn: ConnId, frame: Bytes) {
        let Some(peer) = self.peers.get(&conn) else {
            return;
        };
        if peer.handle.out.try_send(frame).is_err() {
            self.drop_peer(
                conn,
                Some(CloseReason::new(
                    1013,
                    "slow consumer: too far behind the room; reconnect to resync",
                )),
            );
        }
    }

    /// Removes a connection and its presence, telling the others.
    fn drop_peer(&mut self, conn: ConnId, reason: Option<CloseReason>) {
        let Some(peer) = self.peers.remove(&conn) else {
            return;
        };
        if let Some(reason) = reason {
            peer.handle.close(reason);
        }
        if peer.awareness_ids.is_empty() {
            return;
        }
        for id in &peer.awareness_ids {
            self.awareness_owner.remove(id);
            self.awareness.remove_state(ClientID::new(*id));
        }
        let ids: Vec<ClientID> = peer
            .awareness_ids
            .iter()
            .map(|i| ClientID::new(*i))
            .collect();
        if let Ok(update) = self.awareness.update_with_clients(ids) {
            self.broadcast(Bytes::from(protocol::awareness(update)), None);
        }
        self.persistence
            .publish_awareness(&self.name, &peer.awareness_ids, &self.awareness);
    }

    fn join(&mut self, conn: ConnHandle) {
        let id = conn.id;
        self.peers.insert(
            id,
            Peer {
                handle: conn,
                awareness_ids: HashSet::new(),
            },
        );
        let sv = self.doc.doc().transact().state_vector();
        self.send_to(id, protocol::sync_step1(sv));
        if let Ok(update) = self.awareness.update()
            && !update.clients.is_empty()
        {
            self.send_to(id, protocol::awareness(update));
        }
    }

    async fn handle(&mut self, cmd: RoomCmd) {
        match cmd {
            RoomCmd::Join { conn, ready } => {
                if self.poisoned {
                    let _ = ready.send(Err("room unloading; retry".into()));
                    return;
                }
                self.join(conn);
                let _ = ready.send(Ok(()));
            }
            RoomCmd::Leave { conn } => self.drop_peer(conn, None),
            RoomCmd::Decide { request, reply } => self.decide(*request, reply),
            RoomCmd::Revision { by, name, done } => {
                let _ = done.send(self.write_revision(*by, &name));
            }
            RoomCmd::Message { conn, msg } => {
                if !self.peers.contains_key(&conn) {
                    return;
                }
                match msg {
                    Incoming::SyncStep1(sv) => self.sync_step1(conn, &sv),
                    Incoming::Update { bytes, step2 } => {
                        self.accept_updates(vec![(conn, bytes, step2)])
                    }
                    Incoming::Awareness(update) => self.awareness_update(conn, update),
                    Incoming::AwarenessQuery => {
                        if let Ok(update) = self.awareness.update() {
                            self.send_to(conn, protocol::awareness(update));
                        }
                    }
                }
            }
        }
    }

    /// Answers a sync step 1. A sync step 2 shows the whole document, so it
    /// must show only durable state: when applied updates are still waiting
    /// for the store, the answer is encoded now and held until the commit
    /// that covers them returns (the next one to start if some are queued,
    /// else the one in flight), so a steady stream of edits never starves it.
    fn sync_step1(&mut self, conn: ConnId, sv: &StateVector) {
        let encode = |room: &Self| {
            Bytes::from(protocol::sync_step2(
                room.doc.doc().transact().encode_state_as_update_v1(sv),
            ))
        };
        let changed = self.changes.as_ref().map(|c| c.load(Ordering::Acquire));
        let frame = if let (true, Some(now)) = (sv.is_empty(), changed) {
            match &self.full_step2 {
                Some((at, frame)) if *at == now => frame.clone(),
                _ => {
                    let frame = encode(self);
                    self.full_step2 = Some((now, frame.clone()));
                    frame
                }
            }
        } else {
            encode(self)
        };
        if self.is_durable() {
            self.send_frame(conn, frame);
        } else {
            let covering = if self.queued.is_empty() {
                self.commits_started
            } else {
                self.commits_started + 1
            };
            self.held_step2.push((conn, frame, covering));
        }
    }

    /// Judges and integrates one update: `Some((paragraphs touched, net
    /// change, whether the sender needs the net change too))` when
    /// something changed.
    ///
    /// The update is integrated whole and its refused parts reverted in the
    /// same step ([`plenary_doc::Integration`]), so the sender's clocks stay
    /// continuous and it converges with everyone once it gets the net
    /// change. An update that depends on changes the document lacks is
    /// refused whole, and the sender is asked (sync step 1) for everything
    /// the server is missing, which a stock client answers at once.
    fn admit(
        &mut self,
        conn: ConnId,
        session: &Session,
        bytes: &[u8],
        step2: bool,
    ) -> Option<(Vec<String>, Vec<u8>, bool)> {
        let update = match Update::decode_v1(bytes) {
            Ok(u) => u,
            Err(e) => {
                self.malformed(conn, &e.to_string());
                return None;
            }
        };
        let sv = self.doc.doc().transact().state_vector();
        if is_known(&sv, &update) {
            return None; // a resync of what we already have: nothing to log or send
        }
        if let Some(gap) = clock_gap(&sv, &update) {
            self.refuse_whole(conn, session, &enforcement::gap_reason(&gap), sv);
            return None;
        }
        if writes_as(&sv, &update, self.doc.doc().client_id()) {
            // The server's own client id marks its reverting changes: no
            // client may write under it.
            self.refuse_whole(
                conn,
                session,
                "this change writes under the server's own client id [sync.client-id]",
                sv,
            );
            return None;
        }
        let mut caps = enforcement::Caps::new(&self.state.config.limits);
        caps.document_full = self.document_full(bytes.len());
        let checking = Instant::now();
        let verdict = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            enforcement::judge_within(&self.doc, session, bytes, &caps)
        }));
        self.state
            .metrics
            .check_seconds
            .observe(metrics::since(checking));
        let judgement = match verdict {
            Ok(Verdict::Judged(j)) => j,
            Ok(Verdict::Unintegrable(reason)) => {
                self.refuse_whole(conn, session, &reason, sv);
                return None;
            }
            Ok(Verdict::Malformed(e)) => {
                self.malformed(conn, &e);
                return None;
            }
            Err(_) => {
                self.panicked(conn, "judging", false);
                return None;
            }
        };
        let refused = !judgement.refused.is_empty();
        if refused {
            self.state.metrics.rejected_forbidden.inc();
            let mut first = true;
            for (reason, _) in judgement.refused.iter().filter(|(r, _)| !r.is_empty()) {
                if first {
                    tracing::info!(doc = %self.name, user = %session.principal.sub, step2, %reason, "part of an update refused and reverted");
                    first = false;
                }
                self.send_to(conn, protocol::permission_denied(reason));
            }
        }
        let before = if refused {
            self.doc.values_before(&judgement.followup)
        } else {
            ValuesBefore::default()
        };
        let doc = self.doc.doc();
        let integrated = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            // A refused insertion is integrated as its clock range only: the
            // struct with its origins and parent, its content gone.
            let refused_ids = judgement.refused_ids();
            let it = if refused {
                Integration::begin_refusing(doc, bytes, &refused_ids)?
            } else {
                Integration::begin(doc, update)?
            };
            if !it.changed() {
                return Ok(None);
            }
            if refused {
                self.doc.revert(it, refused_ids).map(Some)
            } else {
                Ok(Some(it.accept()))
            }
        }));
        match integrated {
            Ok(Ok(Some(net))) => {
                // The server's follow-up changes the sender's work too (a
                // footnote mark taken off, a value written again): then the
                // sender needs the net change like everyone else.
                let (net, followed_up) = self.settled(net, &judgement, &before);
                self.size.integrated(net.len(), judgement.deletes);
                Some((judgement.touched, net, refused || followed_up))
            }
            Ok(Ok(None)) => None,
            Ok(Err(e)) => {
                tracing::warn!(doc = %self.name, error = %e, "update failed to integrate");
                self.malformed(conn, &e.to_string());
                None
            }
            Err(_) => {
                self.panicked(conn, "integrating", true);
                None
            }
        }
    }

    /// Whether an update of `incoming` bytes would take the document past
    /// `max_document_bytes` (see [`DocSize`]): the refusal's wording, or
    /// `None`. Judged on the estimate, measured again when that is worth it.
    fn document_full(&mut self, incoming: usize) -> Option<String> {
        let cap = self.state.config.limits.max_document_bytes;
        if self.size.estimate().saturating_add(incoming) <= cap {
            return None;
        }
        if self.size.worth_measuring(cap) {
            let exact = self.doc.encode_state().len();
            tracing::debug!(doc = %self.name, estimate = self.size.estimate(), exact, "document size measured");
            self.size.measure(exact);
            if exact.saturating_add(incoming) <= cap {
                return None;
            }
        }
        Some(format!(
            "the document would pass its size limit (about {} bytes with this change; the limit is {} bytes). \
             Delete something first [limits.document-bytes]",
            enforcement::grouped(self.size.estimate().saturating_add(incoming) as u64),
            enforcement::grouped(cap as u64),
        ))
    }

    /// The net change with the server's follow-up merged in (see
    /// [`LiveDoc::settle`]).
    fn settled(
        &self,
        net: Vec<u8>,
        judgement: &enforcement::Judgement,
        before: &ValuesBefore,
    ) -> (Vec<u8>, bool) {
        let followup = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            self.doc.settle(&judgement.followup, before)
        }));
        let Ok(Some(extra)) = followup else {
            return (net, false);
        };
        match yrs::merge_updates_v1([net.as_slice(), extra.as_slice()]) {
            Ok(merged) => (merged, true),
            Err(e) => {
                tracing::warn!(doc = %self.name, error = %e, "follow-up change not merged");
                (net, false)
            }
        }
    }

    /// Closes a connection that sent bytes that are not a Yjs update.
    fn malformed(&mut self, conn: ConnId, why: &str) {
        self.state.metrics.rejected_malformed.inc();
        let mut why = why.to_owned();
        why.truncate(90);
        self.drop_peer(
            conn,
            Some(CloseReason::new(1007, format!("malformed update: {why}"))),
        );
    }

    /// A panic inside yrs or the analysis: that update is refused and that
    /// one connection closed; the room lives on.
    /// `touched_doc`: the panic struck while the update was being integrated, so the document
    /// in memory may hold part of it, unlogged. Then the room gives itself up: nothing of it is
    /// snapshotted, everyone is asked to reconnect, and the next room loads from the log (each
    /// client's sync step 2 then brings back whatever of its own work the log lacks).
    fn panicked(&mut self, conn: ConnId, stage: &str, touched_doc: bool) {
        self.state.metrics.rejected_malformed.inc();
        tracing::error!(doc = %self.name, stage, touched_doc, "an update made the CRDT library panic; connection closed");
        self.drop_peer(
            conn,
            Some(CloseReason::new(
                1011,
                "this update could not be processed; reconnect to resync",
            )),
        );
        if touched_doc {
            self.give_up();
        }
    }

    /// Gives the room up after a panic inside the document: its in-memory state may hold what
    /// was never logged, so nothing more is taken or snapshotted, and everyone reconnects
    /// (1012) to a room loaded again from the log.
    fn give_up(&mut self) {
        self.poisoned = true;
        self.state
            .metrics
            .commit_queue
            .dec_by(self.queued.len() as i64);
        self.queued.clear();
        for id in self.peers.keys().copied().collect::<Vec<_>>() {
            self.drop_peer(
                id,
                Some(CloseReason::new(1012, "document reloading; reconnect")),
            );
        }
    }

    /// Refuses an update without integrating it, and asks the sender for
    /// everything the server lacks (a stock client answers a sync step 1
    /// with a sync step 2 that fills the gap).
    fn refuse_whole(&mut self, conn: ConnId, session: &Session, reason: &str, sv: StateVector) {
        self.state.metrics.rejected_forbidden.inc();
        tracing::info!(doc = %self.name, user = %session.principal.sub, %reason, "update refused whole");
        self.send_to(conn, protocol::permission_denied(reason));
        self.send_to(conn, protocol::sync_step1(sv));
    }

    /// The accepted-update path, for a batch of updates that arrived
    /// together: each is judged, integrated (its refused parts reverted) in
    /// order (a later update may build on an earlier one), and its log
    /// entry queued. The queue is group-committed to the store while the
    /// room goes on with the next batch; a batch's net changes are broadcast
    /// only when its commit returns, in log order, and a sync step 2 is held
    /// until the commit that covers what it shows. So nobody observes a
    /// change before it is durable, and no commit waits for the room.
    fn accept_updates(&mut self, batch: Vec<(ConnId, Vec<u8>, bool)>) {
        for (conn, bytes, step2) in batch {
            if self.poisoned {
                return;
            }
            let Some(session) = self.peers.get(&conn).map(|p| p.handle.session.clone()) else {
                continue;
            };
            let Some((touched, net, reverted)) = self.admit(conn, &session, &bytes, step2) else {
                continue;
            };
            let entry = self.persistence.entry(&session, &net, touched);
            self.enqueue(Pending {
                except: (!reverted).then_some(conn),
                entry,
                net,
                reply: None,
            });
        }
        self.start_commit();
    }

    /// Applies the chair's decision on a proposal: one transaction of the
    /// server's own (`ResolutionDoc::decide`), logged as the chair's with
    /// the paragraphs it touched, broadcast to everyone once durable; the
    /// answer goes back after the commit. Taken in the room's turn, so two
    /// chairs racing, or a chair and someone typing, are put in one order:
    /// the second decision finds the proposal decided, or the text changed.
    fn decide(
        &mut self,
        request: DecideRequest,
        reply: oneshot::Sender<Result<plenary_doc::Proposal, DecideFailure>>,
    ) {
        if self.poisoned {
            let _ = reply.send(Err(DecideFailure::Unavailable("document reloading; retry")));
            return;
        }
        let LiveDoc::Resolution(doc) = &mut self.doc else {
            let _ = reply.send(Err(DecideFailure::Unavailable("not a resolution")));
            return;
        };
        let cap = self.state.config.limits.max_footnote_chars;
        if let plenary_doc::Decision::Accept {
            text: Some(text), ..
        } = &request.decision
            && text.encode_utf16().count() > cap
            && doc
                .proposal(&request.proposal)
                .is_some_and(|p| p.footnote_id.is_some())
        {
            let _ = reply.send(Err(DecideFailure::TooLarge(format!(
                "this footnote would be {} characters; the limit is {cap} [limits.footnote-chars]",
                text.encode_utf16().count()
            ))));
            return;
        }
        let at = crate::persistence::now_ms();
        let by = request.principal.name.clone();
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            doc.decide(&request.proposal, &request.decision, &by, at)
        }));
        let decided = match outcome {
            Ok(Ok(d)) => d,
            Ok(Err(e)) => {
                let _ = reply.send(Err(DecideFailure::Refused(e)));
                return;
            }
            Err(_) => {
                tracing::error!(doc = %self.name, proposal = %request.proposal, "deciding a proposal panicked; room reloading");
                let _ = reply.send(Err(DecideFailure::Unavailable("document reloading; retry")));
                self.give_up();
                return;
            }
        };
        tracing::info!(doc = %self.name, user = %request.principal.sub, proposal = %request.proposal,
            status = ?decided.proposal.status, "proposal decided");
        let session = Session {
            principal: request.principal,
            doc: self.name.clone(),
        };
        let entry = self
            .persistence
            .entry(&session, &decided.update, decided.paragraphs);
        self.size.integrated(decided.update.len(), true);
        self.enqueue(Pending {
            except: None,
            entry,
            net: decided.update,
            reply: Some((reply, decided.proposal)),
        });
        self.start_commit();
    }

    /// The server's own change recording a named version (meta `revision`),
    /// logged as `by`'s and sent to everyone once durable. No client may
    /// write that key (`enforcement`), so it is only ever this.
    fn write_revision(&mut self, by: Principal, name: &str) -> Result<(), String> {
        if self.poisoned {
            return Err("room unloading; retry".into());
        }
        let LiveDoc::Resolution(d) = &self.doc else {
            return Err("not a resolution".into());
        };
        let net = d.write_revision(name);
        self.size.integrated(net.len(), true);
        let session = Session {
            principal: by,
            doc: self.name.clone(),
        };
        let entry = self.persistence.entry(&session, &net, Vec::new());
        self.enqueue(Pending {
            except: None,
            entry,
            net,
            reply: None,
        });
        self.start_commit();
        Ok(())
    }

    /// Queues an applied change for the next group commit.
    fn enqueue(&mut self, pending: Pending) {
        self.state.metrics.commit_queue.inc();
        self.queued.push(pending);
    }

    /// Starts committing what is queued, unless a commit is in flight (one
    /// at a time keeps the log in the order the room applied).
    fn start_commit(&mut self) {
        if self.committing.is_some() || self.queued.is_empty() || self.poisoned {
            return;
        }
        let batch = std::mem::take(&mut self.queued);
        let metrics = &self.state.metrics;
        metrics.commit_queue.dec_by(batch.len() as i64);
        metrics.commit_batch.observe(batch.len() as f64);
        self.commit_started = Instant::now();
        let mut replies = Vec::new();
        let (entries, fanout): (Vec<LogEntry>, Vec<Fanout>) = batch
            .into_iter()
            .map(|p| {
                replies.extend(p.reply);
                (p.entry, (p.except, p.net))
            })
            .unzip();
        self.committing = Some(fanout);
        self.replies = replies;
        self.commits_started += 1;
        let commit = self.persistence.commit(&self.name, entries);
        let done = self.commit_done.clone();
        tokio::spawn(async move {
            let _ = done.send(commit.await).await;
        });
    }

    /// A group commit returned: broadcast its deltas, or, if the store
    /// failed, give up the room (it holds changes it could not keep).
    fn commit_finished(&mut self, result: Result<usize, PersistError>) {
        let Some(fanout) = self.committing.take() else {
            return;
        };
        let replies = std::mem::take(&mut self.replies);
        if let Err(e) = result {
            for (reply, _) in replies {
                let _ = reply.send(Err(DecideFailure::Unavailable(
                    "store unavailable: the decision was not saved; try again",
                )));
            }
            tracing::warn!(doc = %self.name, error = %e, "store unavailable; updates refused, room unloading");
            self.poisoned = true;
            for id in self.peers.keys().copied().collect::<Vec<_>>() {
                self.drop_peer(
                    id,
                    Some(CloseReason::new(
                        1013,
                        "store unavailable: change not saved; reconnect later to resend it",
                    )),
                );
            }
            return;
        }
        self.commits_finished += 1;
        self.state
            .metrics
            .commit_seconds
            .observe(metrics::since(self.commit_started));
        let bytes: usize = fanout.iter().map(|(_, net)| net.len()).sum();
        self.persistence.appended(fanout.len() as u64, bytes as u64);
        let fanout_started = Instant::now();
        for (except, net) in fanout {
            self.fan_out(net, except);
            self.state.metrics.updates_accepted.inc();
        }
        self.state
            .metrics
            .fanout_seconds
            .observe(metrics::since(fanout_started));
        for (reply, proposal) in replies {
            let _ = reply.send(Ok(proposal));
        }
        let done = self.commits_finished;
        let (ready, held): (Vec<_>, Vec<_>) = std::mem::take(&mut self.held_step2)
            .into_iter()
            .partition(|(_, _, covering)| *covering <= done);
        self.held_step2 = held;
        for (conn, frame, _) in ready {
            self.send_frame(conn, frame);
        }
        self.start_commit();
        if self.is_durable() {
            self.persistence.after_apply(&self.name, &self.doc);
        }
    }

    /// Nothing applied is waiting for the store.
    fn is_durable(&self) -> bool {
        self.committing.is_none() && self.queued.is_empty()
    }

    fn fan_out(&mut self, delta: Vec<u8>, except: Option<ConnId>) {
        self.state.metrics.deliveries.inc_by(
            self.peers
                .len()
                .saturating_sub(usize::from(except.is_some())) as u64,
        );
        self.broadcast(Bytes::from(protocol::update(delta)), except);
    }

    /// Applies an entry another node appended to the shared log.
    fn apply_remote(&mut self, bytes: &[u8]) {
        match self.doc.apply(bytes) {
            Ok(delta) if !delta.is_empty() => {
                // may delete: lets the next growth near the cap measure again
                self.size.integrated(delta.len(), true);
                self.fan_out(delta, None)
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(doc = %self.name, error = %e, "update failed to integrate"),
        }
        self.drop_stale_step2();
    }

    /// Forgets the shared full-state answer once the document has changed since it was
    /// encoded: the next fresh page gets a new one, and a stale copy of the whole document
    /// does not stay resident in the meantime.
    fn drop_stale_step2(&mut self) {
        let now = self.changes.as_ref().map(|c| c.load(Ordering::Acquire));
        if self
            .full_step2
            .as_ref()
            .is_some_and(|(at, _)| Some(*at) != now)
        {
            self.full_step2 = None;
        }
    }

    fn awareness_update(&mut self, conn: ConnId, mut update: AwarenessUpdate) {
        let Some(peer) = self.peers.get(&conn) else {
            return;
        };
        let principal = peer.handle.session.principal.clone();
        let who = Identity {
            name: &principal.name,
            delegation: principal.attribution(),
            role: principal.role.to_string(),
        };
        // Keep only the entries this connection may speak for: y-websocket
        // clients re-send every state they hear of, and nobody may rewrite or
        // remove someone else's presence. The same user may take over an id
        // from another of their connections: a page that reconnects after a
        // stall keeps its client id while the server may not yet have noticed
        // that the old socket is dead (it would otherwise stay silent for
        // everyone until the idle timeout closes the old one).
        let mut taken_over = Vec::new();
        update
            .clients
            .retain(|id, _| match self.awareness_owner.get(&id.get()) {
                Some(owner) if *owner == conn => true,
                Some(owner) => {
                    let same_user = self
                        .peers
                        .get(owner)
                        .is_some_and(|p| p.handle.session.principal.sub == principal.sub);
                    if same_user {
                        taken_over.push((*owner, id.get()));
                    }
                    same_user
                }
                None => true,
            });
        for (old, id) in taken_over {
            if let Some(p) = self.peers.get_mut(&old) {
                p.awareness_ids.remove(&id);
            }
        }
        let Some(peer) = self.peers.get(&conn) else {
            return;
        };
        // One presence per page: a connection may speak for a few ids (a
        // client that replaced its Y.Doc), not for thousands that every
        // joiner would then receive; and a state is small.
        let mut owned = peer.awareness_ids.len();
        let offered = update.clients.len();
        update.clients.retain(|id, entry| {
            if entry.json.len() > MAX_PRESENCE_BYTES {
                return false;
            }
            if peer.awareness_ids.contains(&id.get()) {
                return true;
            }
            if owned < MAX_PRESENCE_IDS {
                owned += 1;
                true
            } else {
                false
            }
        });
        let kept = update.clients.len();
        self.state
            .metrics
            .presence_refused
            .inc_by((offered - kept) as u64);
        if update.clients.is_empty() {
            return;
        }
        // Presence says who someone is and which delegation they speak for:
        // that comes from the token, not from the client.
        for entry in update.clients.values_mut() {
            if let Some(fixed) = stamp_identity(&entry.json, &who) {
                if fixed == "null" && entry.json.as_ref() != "null" {
                    // Not JSON: relayed as "no presence" (stock clients parse every state).
                    self.state.metrics.presence_refused.inc();
                }
                entry.json = fixed.into();
            }
        }
        if let Some(peer) = self.peers.get_mut(&conn) {
            for id in update.clients.keys() {
                peer.awareness_ids.insert(id.get());
                self.awareness_owner.insert(id.get(), conn);
            }
        }
        let frame = protocol::awareness(update.clone());
        if self.awareness.apply_update(update).is_err() {
            return;
        }
        self.persistence.forward_awareness(&self.name, &frame);
        self.broadcast(Bytes::from(frame), Some(conn));
    }

    /// Awareness from another node: applied and passed on to local peers.
    /// Its client ids belong to that node ([`REMOTE_OWNER`]), so a local
    /// client echoing them cannot take them over.
    fn remote_awareness(&mut self, frame: &[u8]) {
        // Another node's frame was checked there; no cap of ours applies.
        let Ok(msgs) = protocol::decode_frame(frame, usize::MAX) else {
            return;
        };
        for msg in msgs {
            if let Incoming::Awareness(update) = msg {
                for id in update.clients.keys() {
                    self.awareness_owner.entry(id.get()).or_insert(REMOTE_OWNER);
                }
                if self.awareness.apply_update(update).is_ok() {
                    self.broadcast(Bytes::copy_from_slice(frame), None);
                }
            }
        }
    }
}

/// Awareness ids one connection may speak for.
const MAX_PRESENCE_IDS: usize = 4;
/// Largest presence state relayed (JSON bytes); a cursor and a name need
/// a few hundred.
const MAX_PRESENCE_BYTES: usize = 4096;

/// The owner of awareness ids announced on another node (connection ids start at 1).
const REMOTE_OWNER: ConnId = 0;

/// Who a presence state says its user is, from the token.
struct Identity<'a> {
    name: &'a str,
    delegation: &'a str,
    role: String,
}

/// Rewrites the `user` of a presence state to the token's name, delegation
/// and role when the client wrote anything else there. A state that is not
/// JSON becomes `null` (no presence): stock clients parse every state they
/// receive. `None` when there is nothing to change.
fn stamp_identity(json: &str, who: &Identity<'_>) -> Option<String> {
    let Ok(mut state) = serde_json::from_str::<serde_json::Value>(json) else {
        return Some("null".into());
    };
    let user = state.get_mut("user")?;
    if !user.is_object() {
        *user = serde_json::Value::Object(serde_json::Map::new());
    }
    let user = user.as_object_mut()?;
    let mut changed = false;
    for (k, v) in [
        ("name", who.name),
        ("delegation", who.delegation),
        ("role", who.role.as_str()),
    ] {
        if user.get(k).and_then(serde_json::Value::as_str) != Some(v) {
            user.insert(k.into(), v.into());
            changed = true;
        }
    }
    changed.then(|| state.to_string())
}

/// True when the update carries no insertion the document lacks and no
/// deletion: a resync of what the server already has. (`Update::state_vector`
/// only counts runs that start at clock 0, so it cannot answer this.)
pub(crate) fn is_known(doc_sv: &StateVector, update: &Update) -> bool {
    if !update.delete_set().is_empty() {
        return false;
    }
    update.insertions(true).iter().all(|(client, ranges)| {
        let have = doc_sv.get(client);
        ranges.iter().all(|r| r.end <= have)
    })
}

/// The first clock gap in `update`: a client whose structs start after the
/// document's clock for it, or that skips clocks within the update. yrs 0.28
/// would integrate around the hole (a `Skip`) or hold the structs pending,
/// to be integrated later without a judgement; neither may happen.
pub(crate) fn clock_gap(doc_sv: &StateVector, update: &Update) -> Option<(u64, u32, u32)> {
    let insertions = update.insertions(true);
    for (client, ranges) in insertions.iter() {
        let mut rs: Vec<std::ops::Range<u32>> = ranges.iter().cloned().collect();
        rs.sort_unstable_by_key(|r| r.start);
        let mut expected = doc_sv.get(client);
        for r in rs {
            if r.start > expected {
                return Some((client.get(), expected, r.start));
            }
            expected = expected.max(r.end);
        }
    }
    // A deletion of clocks neither the document nor the update holds would
    // wait in yrs as a pending delete set, to apply later unchecked.
    for (client, ranges) in update.delete_set().iter() {
        let held = doc_sv.get(client).max(
            insertions
                .get(client)
                .and_then(|r| r.iter().map(|r| r.0.end).max())
                .unwrap_or(0),
        );
        if let Some(end) = ranges.iter().map(|r| r.end).max()
            && end > held
        {
            return Some((client.get(), held, end));
        }
    }
    None
}

/// Whether `update` holds structs of `client` that the document lacks.
fn writes_as(doc_sv: &StateVector, update: &Update, client: ClientID) -> bool {
    let have = doc_sv.get(&client);
    update
        .insertions(true)
        .iter()
        .any(|(c, ranges)| *c == client && ranges.iter().any(|r| r.end > have))
}

async fn run(
    name: String,
    state: Arc<ServerState>,
    generation: u64,
    mut rx: mpsc::Receiver<RoomCmd>,
) {
    let loaded = Persistence::load(&state, &name).await;
    let (doc, persistence) = match loaded {
        Ok(ok) => ok,
        Err(e) => {
            tracing::warn!(doc = %name, error = %e, "could not load document");
            state.rooms.forget(&name, generation);
            rx.close();
            while let Some(cmd) = rx.recv().await {
                if let RoomCmd::Join { ready, .. } = cmd {
                    let _ = ready.send(Err(format!("document unavailable: {e}")));
                }
            }
            return;
        }
    };
    let awareness = Awareness::new(doc.doc().clone());
    let counter = Arc::new(AtomicU64::new(0));
    let counting = counter.clone();
    // Without the observer (it cannot fail on a document no transaction holds) there is no cache.
    let changes = doc
        .doc()
        .observe_transaction_cleanup("plenary-room-changes", move |_, e| {
            if e.before_state != e.after_state || !e.delete_set.is_empty() {
                counting.fetch_add(1, Ordering::AcqRel);
            }
        })
        .is_ok()
        .then_some(counter);
    // Loading was O(document) already; so is this one encode.
    let size = DocSize::new(doc.encode_state().len());
    let (commit_done, mut commits) = mpsc::channel(4);
    let mut room = Room {
        name: name.clone(),
        state: state.clone(),
        doc,
        awareness,
        peers: HashMap::new(),
        awareness_owner: HashMap::new(),
        persistence,
        poisoned: false,
        queued: Vec::new(),
        committing: None,
        replies: Vec::new(),
        commit_done,
        held_step2: Vec::new(),
        changes,
        full_step2: None,
        commits_started: 0,
        commit_started: Instant::now(),
        commits_finished: 0,
        size,
    };
    state.metrics.rooms_loaded.inc();
    let mut shutdown = state.shutdown.clone();
    let idle = state.config.room_idle;
    let mut idle_since = Some(Instant::now());
    let mut quiet = QuietTimer::new(state.config.index_quiet);
    let mut remote = room.persistence.subscribe(&name).await;
    loop {
        let idle_deadline = idle_since.map(|t| tokio::time::Instant::from_std(t + idle));
        tokio::select! {
            cmd = rx.recv() => {
                let Some(cmd) = cmd else { break };
                // Updates queued together are committed together.
                let mut batch = Vec::new();
                let mut saw_update = false;
                let mut next = Some(cmd);
                while let Some(cmd) = next.take() {
                    match cmd {
                        RoomCmd::Message { conn, msg: Incoming::Update { bytes, step2 } } if batch.len() < MAX_BATCH => {
                            batch.push((conn, bytes, step2));
                            saw_update = true;
                            next = rx.try_recv().ok();
                        }
                        other => {
                            if !batch.is_empty() {
                                room.accept_updates(std::mem::take(&mut batch));
                            }
                            room.handle(other).await;
                        }
                    }
                }
                if !batch.is_empty() {
                    room.accept_updates(batch);
                }
                if saw_update {
                    quiet.touch();
                }
                room.drop_stale_step2();
                // Given up after a panic: once no commit is in flight (a new room must find
                // every entry this one wrote), make way for a fresh load.
                if room.poisoned && room.committing.is_none() {
                    state.rooms.forget(&name, generation);
                    break;
                }
                idle_since = if room.peers.is_empty() { idle_since.or(Some(Instant::now())) } else { None };
            }
            Some(result) = commits.recv() => {
                room.commit_finished(result);
                if room.poisoned {
                    state.rooms.forget(&name, generation);
                    break;
                }
            }
            Some(event) = remote.next() => {
                match event {
                    crate::persistence::RemoteEvent::Update(bytes) => {
                        room.apply_remote(&bytes);
                        quiet.touch();
                    }
                    crate::persistence::RemoteEvent::Awareness(frame) => room.remote_awareness(&frame),
                }
            }
            () = &mut quiet.sleep, if quiet.armed => {
                if quiet.fired() {
                    room.doc.shed_index();
                }
            }
            _ = sleep_until(idle_deadline) => {
                // Unload only if nobody raced in: the registry entry goes first,
                // then whatever is queued is still served below.
                if rx.is_empty() && room.is_durable() {
                    state.rooms.forget(&name, generation);
                    rx.close();
                    while let Some(cmd) = rx.recv().await {
                        if let RoomCmd::Join { ready, .. } = cmd {
                            let _ = ready.send(Err("room unloading; retry".into()));
                        }
                    }
                    break;
                }
            }
            _ = async { let _ = shutdown.wait_for(|s| *s).await; } => {
                // What is applied gets committed (and sent) before we go.
                while room.committing.is_some() {
                    let Some(result) = commits.recv().await else { break };
                    room.commit_finished(result);
                }
                for id in room.peers.keys().copied().collect::<Vec<_>>() {
                    room.drop_peer(id, Some(CloseReason::new(1001, "server shutting down")));
                }
                state.rooms.forget(&name, generation);
                break;
            }
        }
    }
    if !room.poisoned {
        room.persistence.unload(&name, &room.doc).await;
    }
    state.metrics.rooms_loaded.dec();
}

/// When a room's document drops its effect index: after `quiet` without an update (a quiet room
/// then holds yrs's document and its connections, not a second map of every struct). One timer,
/// armed while the index is kept; an update only notes its time, so the hot path does no timer
/// work, and a timer that fires early re-arms at the last update plus `quiet`.
struct QuietTimer {
    quiet: std::time::Duration,
    last_update: tokio::time::Instant,
    armed: bool,
    sleep: std::pin::Pin<Box<tokio::time::Sleep>>,
}

impl QuietTimer {
    fn new(quiet: std::time::Duration) -> Self {
        let now = tokio::time::Instant::now();
        QuietTimer {
            quiet,
            last_update: now,
            armed: true,
            sleep: Box::pin(tokio::time::sleep_until(now + quiet)),
        }
    }

    /// An update was applied.
    fn touch(&mut self) {
        self.last_update = tokio::time::Instant::now();
        if !self.armed {
            self.armed = true;
            self.sleep.as_mut().reset(self.last_update + self.quiet);
        }
    }

    /// The timer went off: whether the room has been quiet long enough (then it disarms until
    /// the next update), else it re-arms.
    fn fired(&mut self) -> bool {
        let due = self.last_update + self.quiet;
        if due <= tokio::time::Instant::now() {
            self.armed = false;
            true
        } else {
            self.sleep.as_mut().reset(due);
            false
        }
    }
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::QuietTimer;

    #[tokio::test(start_paused = true)]
    async fn a_room_sheds_its_index_only_after_a_full_quiet_spell() {
        let mut q = QuietTimer::new(Duration::from_secs(60));
        tokio::time::sleep(Duration::from_secs(50)).await;
        q.touch();
        // the timer set at the start goes off at 60 s: only 10 s of quiet by then
        (&mut q.sleep).await;
        assert!(!q.fired(), "an update 10 s ago keeps the index");
        assert!(q.armed);
        (&mut q.sleep).await;
        assert_eq!(
            tokio::time::Instant::now() - q.last_update,
            Duration::from_secs(60)
        );
        assert!(q.fired());
        assert!(!q.armed, "disarmed until the next update");
        // the next update arms it again, 60 s from then
        tokio::time::sleep(Duration::from_secs(600)).await;
        q.touch();
        assert!(q.armed);
        let t = tokio::time::Instant::now();
        (&mut q.sleep).await;
        assert_eq!(tokio::time::Instant::now() - t, Duration::from_secs(60));
        assert!(q.fired());
    }
}
