//! Crafted worst-case update frames: how long the server takes to check one
//! large, adversarial update, measured over a real socket.
//!
//! For each kind and size, a fresh document is seeded by the chair (`--token`,
//! the 12 paragraphs of the load generator), a second participant
//! (`--sender-token`, normally a delegate) syncs it and sends the crafted
//! update followed by a query-awareness message. The server answers the query
//! only after it has handled the update (a room handles its messages in
//! order), so *check time* = send → answer to the query, and the
//! permission-denied (or the close) that comes first is timed too. The same
//! is measured for a one-character edit in the same run (`tiny`), whose round
//! trip is the floor.
//!
//! The frames are encoded struct by struct in the v1 layout with yrs's lib0
//! writer and `EncoderV1` (valid updates: yrs decodes and integrates them, see
//! the tests), each shaped to stress one part of the check:
//!
//! - `unknown`: many one-clock structs whose origin is an id nobody holds:
//!   every one is unplaceable (each may produce an error line).
//! - `text-append`: a new paragraph whose new `Y.Text` holds many
//!   one-character structs, each after the previous one (origin = previous):
//!   rebuilding the text's runs finds each origin by a linear search.
//! - `text-reverse`: the same, each struct *before* the previous one (right
//!   origin = previous, no origin), as typing with the cursor at the start
//!   encodes it: each goes to the front of the runs (a splice at 0).
//! - `deep-maps`: a new paragraph holding a chain of nested `Y.Map`s, one per
//!   struct: every struct's ancestry is as deep as the chain allows.
//! - `deletes`: no structs and a delete set of one-clock ranges at every
//!   other clock of the seeding client, most beyond what it wrote.
//! - `paste`: control — one string struct as large as the frame, appended to
//!   an open paragraph (allowed to a delegate): the cost of the size alone.

use std::time::{Duration, Instant};

use serde::Serialize;
use yrs::block::{
    BLOCK_ITEM_ANY_REF_NUMBER, BLOCK_ITEM_DELETED_REF_NUMBER, BLOCK_ITEM_STRING_REF_NUMBER,
    BLOCK_ITEM_TYPE_REF_NUMBER, ClientID, HAS_ORIGIN, HAS_PARENT_SUB, HAS_RIGHT_ORIGIN, ID,
};
use yrs::encoding::write::Write;
use yrs::types::{TYPE_REFS_MAP, TYPE_REFS_TEXT};
use yrs::updates::encoder::{Encoder, EncoderV1};
use yrs::{Any, Array, Doc, Out, ReadTxn, Text, Transact};

use crate::args::BenchArgs;
use crate::error::BenchError;
use crate::probe::{self, Arrival, Raw, Summary};
use crate::procstat;
use crate::report::Report;
use crate::typing;
use crate::wire::{self, Framing, Incoming};

const SETUP_TIMEOUT: Duration = Duration::from_secs(30);
/// Bytes of the frame around the update (message type, sync step, length).
const FRAME_OVERHEAD: usize = 16;
/// The crafted structs' client, and an id nobody holds.
const CRAFTED_CLIENT: u64 = 7;
const GHOST_CLIENT: u64 = 5;
/// Paragraph 5 of the seed is open; the text edits go there.
const OPEN_PARAGRAPH: u32 = 5;

pub(crate) const KINDS: &[&str] = &[
    "unknown",
    "text-append",
    "text-reverse",
    "deep-maps",
    "deletes",
    "paste",
];

/// An update built to a byte budget.
#[derive(Debug)]
pub(crate) struct Crafted {
    pub update: Vec<u8>,
    /// Structs (or delete ranges, for `deletes`) it holds.
    pub parts: usize,
}

enum Parent<'a> {
    Root(&'a str),
    Item(ID),
}

enum Content<'a> {
    Str(&'a str),
    Deleted(u32),
    Type(u8),
    Any(Any),
}

impl Content<'_> {
    fn len(&self) -> u32 {
        match self {
            Content::Str(s) => s.encode_utf16().count() as u32,
            Content::Deleted(n) => *n,
            Content::Type(_) | Content::Any(_) => 1,
        }
    }

    fn ref_number(&self) -> u8 {
        match self {
            Content::Str(_) => BLOCK_ITEM_STRING_REF_NUMBER,
            Content::Deleted(_) => BLOCK_ITEM_DELETED_REF_NUMBER,
            Content::Type(_) => BLOCK_ITEM_TYPE_REF_NUMBER,
            Content::Any(_) => BLOCK_ITEM_ANY_REF_NUMBER,
        }
    }
}

/// Writes the structs of one client in the v1 layout (what `EncoderV1`
/// writes: lib0 varints and strings), counting clocks.
struct Structs {
    body: Vec<u8>,
    clock: u32,
    count: usize,
}

impl Structs {
    fn new() -> Self {
        Structs {
            body: Vec::with_capacity(1 << 16),
            clock: 0,
            count: 0,
        }
    }

    /// One item; returns its id. `origin`/`right` are its neighbours when it
    /// was inserted; with neither it names its parent (and map key).
    fn item(
        &mut self,
        origin: Option<ID>,
        right: Option<ID>,
        parent: Option<(Parent<'_>, Option<&str>)>,
        content: Content<'_>,
    ) -> ID {
        let id = ID::new(ClientID::new(CRAFTED_CLIENT), self.clock);
        let mut info = content.ref_number();
        if origin.is_some() {
            info |= HAS_ORIGIN;
        }
        if right.is_some() {
            info |= HAS_RIGHT_ORIGIN;
        }
        let explicit = origin.is_none() && right.is_none();
        if explicit && matches!(parent, Some((_, Some(_)))) {
            info |= HAS_PARENT_SUB;
        }
        let e = &mut self.body;
        let write_id = |e: &mut Vec<u8>, id: &ID| {
            e.write_var(id.client.get());
            e.write_var(id.clock);
        };
        e.write_u8(info);
        if let Some(o) = origin {
            write_id(e, &o);
        }
        if let Some(r) = right {
            write_id(e, &r);
        }
        if explicit {
            // An item with no neighbours names its parent; `item` is only
            // called that way with one.
            if let Some((p, key)) = parent {
                match p {
                    Parent::Root(name) => {
                        e.write_var(1u32);
                        e.write_string(name);
                    }
                    Parent::Item(pid) => {
                        e.write_var(0u32);
                        write_id(e, &pid);
                    }
                }
                if let Some(k) = key {
                    e.write_string(k);
                }
            }
        }
        let len = content.len();
        match content {
            Content::Str(s) => e.write_string(s),
            Content::Deleted(n) => e.write_var(n),
            Content::Type(t) => e.write_u8(t),
            Content::Any(a) => {
                e.write_var(1u32);
                a.encode(e);
            }
        }
        self.clock += len;
        self.count += 1;
        id
    }

    fn bytes(&self) -> usize {
        self.body.len()
    }

    /// The update: this client's structs, then `deletes` as the delete set.
    fn finish(self, deletes: Option<(u64, Vec<(u32, u32)>)>) -> Vec<u8> {
        let mut e = EncoderV1::new();
        if self.count == 0 {
            e.write_var(0u32);
        } else {
            e.write_var(1u32);
            e.write_var(self.count as u32);
            e.write_client(ClientID::new(CRAFTED_CLIENT));
            e.write_var(0u32);
            e.write_all(&self.body);
        }
        match deletes {
            None => e.write_var(0u32),
            Some((client, ranges)) => {
                e.write_var(1u32);
                e.reset_ds_cur_val();
                e.write_client(ClientID::new(client));
                e.write_var(ranges.len() as u32);
                for (clock, len) in ranges {
                    e.write_ds_clock(clock);
                    e.write_ds_len(len);
                }
            }
        }
        e.to_vec()
    }
}

/// A new paragraph map at the start of `paragraphs`, with an `id`; returns its id.
fn new_paragraph(s: &mut Structs) -> ID {
    let map = s.item(
        None,
        None,
        Some((Parent::Root("paragraphs"), None)),
        Content::Type(TYPE_REFS_MAP),
    );
    s.item(
        None,
        None,
        Some((Parent::Item(map), Some("id"))),
        Content::Any(Any::from("crafted-paragraph")),
    );
    map
}

/// Builds a frame of `kind` whose update is at most `budget` bytes.
/// `seed_client` is the client that seeded the document; `base` is a
/// document holding what the server holds (for `paste`).
pub(crate) fn build(
    kind: &str,
    budget: usize,
    seed_client: u64,
    base: &Doc,
) -> Result<Crafted, String> {
    // The largest struct or range below is under 24 bytes.
    let room = |s: &Structs| s.bytes() + 24 + FRAME_OVERHEAD < budget;
    let ghost = ID::new(ClientID::new(GHOST_CLIENT), 0);
    match kind {
        "unknown" => {
            let mut s = Structs::new();
            while room(&s) {
                s.item(Some(ghost), None, None, Content::Deleted(1));
            }
            let parts = s.count;
            Ok(Crafted {
                update: s.finish(None),
                parts,
            })
        }
        "text-append" | "text-reverse" => {
            let mut s = Structs::new();
            let map = new_paragraph(&mut s);
            let text = s.item(
                None,
                None,
                Some((Parent::Item(map), Some("text"))),
                Content::Type(TYPE_REFS_TEXT),
            );
            let mut prev = s.item(
                None,
                None,
                Some((Parent::Item(text), None)),
                Content::Str("a"),
            );
            while room(&s) {
                prev = if kind == "text-append" {
                    s.item(Some(prev), None, None, Content::Str("a"))
                } else {
                    s.item(None, Some(prev), None, Content::Str("a"))
                };
            }
            let parts = s.count;
            Ok(Crafted {
                update: s.finish(None),
                parts,
            })
        }
        "deep-maps" => {
            let mut s = Structs::new();
            let mut parent = new_paragraph(&mut s);
            while room(&s) {
                parent = s.item(
                    None,
                    None,
                    Some((Parent::Item(parent), Some("x"))),
                    Content::Type(TYPE_REFS_MAP),
                );
            }
            let parts = s.count;
            Ok(Crafted {
                update: s.finish(None),
                parts,
            })
        }
        "deletes" => {
            // Each range costs its clock's varint and a one-byte length.
            let varint = |v: u32| (32 - v.leading_zeros()).max(1).div_ceil(7) as usize;
            let mut bytes = 32 + FRAME_OVERHEAD;
            let mut ranges: Vec<(u32, u32)> = Vec::new();
            loop {
                let clock = 2 * ranges.len() as u32;
                let cost = varint(clock) + 1;
                if bytes + cost > budget {
                    break;
                }
                bytes += cost;
                ranges.push((clock, 1));
            }
            let parts = ranges.len();
            Ok(Crafted {
                update: Structs::new().finish(Some((seed_client, ranges))),
                parts,
            })
        }
        "paste" => {
            let doc = typing::new_doc(u64::from(rand::random::<u32>()) + 1_000);
            let state = base
                .transact()
                .encode_state_as_update_v1(&Default::default());
            doc.transact_mut()
                .apply_update(
                    yrs::updates::decoder::Decode::decode_v1(&state).map_err(|e| e.to_string())?,
                )
                .map_err(|e| e.to_string())?;
            let paragraphs = doc.get_or_insert_array("paragraphs");
            let mut txn = doc.transact_mut();
            let Some(Out::YMap(map)) = paragraphs.get(&txn, OPEN_PARAGRAPH) else {
                return Err("the seeded document has no paragraph 5".into());
            };
            let Some(Out::YText(text)) = yrs::Map::get(&map, &txn, "text") else {
                return Err("paragraph 5 has no text".into());
            };
            let words = "further invites the Member States to ensure ";
            let n = budget.saturating_sub(64 + FRAME_OVERHEAD);
            let paste: String = words.chars().cycle().take(n).collect();
            text.push(&mut txn, &paste);
            Ok(Crafted {
                update: txn.encode_update_v1(),
                parts: 1,
            })
        }
        other => Err(format!(
            "unknown crafted kind {other:?} (known: {})",
            KINDS.join(", ")
        )),
    }
}

/// What one crafted frame did to the server.
#[derive(Debug, Clone, Serialize)]
pub struct FrameFigures {
    pub kind: String,
    pub frame_bytes: usize,
    /// Structs, or delete ranges for `deletes`.
    pub parts: usize,
    /// `denied`, `accepted`, `closed <code> <reason>`, or `timeout`.
    pub outcome: String,
    /// Send → the server's answer to the query sent right after the frame
    /// (or → the close). `None` on timeout.
    pub check_ms: Option<f64>,
    pub denied_ms: Option<f64>,
    /// Length of the permission-denied reason, in bytes.
    pub reason_bytes: Option<usize>,
    pub reason_head: Option<String>,
    pub server_rss_before_mb: Option<f64>,
    pub server_rss_after_mb: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CraftedFigures {
    pub label: String,
    /// Round trips of a one-character edit followed by the same query.
    pub tiny: Summary,
    pub frames: Vec<FrameFigures>,
    pub timeout_s: f64,
}

/// A seeded document, the chair that seeded it and a synced sender.
struct Room {
    chair: Raw,
    sender: Raw,
    sender_doc: Doc,
    seed_client: u64,
}

async fn open_room(args: &BenchArgs, doc: &str) -> Result<Room, BenchError> {
    crate::create::ensure_docs(args, &[doc.to_string()]).await?;
    let framing = Framing {
        protocol: args.protocol,
        doc: doc.to_string(),
    };
    let fail = |reason: String| BenchError::NoConnection {
        url: args.url.clone(),
        reason,
    };
    let seed_client = u64::from(rand::random::<u32>()) + 1_000;
    let chair_doc = typing::new_doc(seed_client);
    let mut chair = Raw::open(args.url_for(0), args.token.as_deref(), framing.clone())
        .await
        .map_err(fail)?;
    chair
        .sync_doc(&chair_doc, SETUP_TIMEOUT)
        .await
        .map_err(fail)?;
    if let Some(seed) = typing::seed(&chair_doc) {
        chair.send(framing.update(&seed));
    }
    let sender_token = args.sender_token.as_deref().or(args.token.as_deref());
    let mut sender = Raw::open(args.url_for(0), sender_token, framing.clone())
        .await
        .map_err(fail)?;
    let sender_doc = typing::new_doc(u64::from(rand::random::<u32>()) + 1_000);
    // The server answers sync step 1 only with durable state: wait for the seed.
    let deadline = Instant::now() + SETUP_TIMEOUT;
    loop {
        sender
            .sync_doc(&sender_doc, SETUP_TIMEOUT)
            .await
            .map_err(fail)?;
        if paragraphs(&sender_doc) > OPEN_PARAGRAPH {
            break;
        }
        if Instant::now() > deadline {
            return Err(BenchError::SyncTimeout(doc.to_string()));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    chair.drain(None, Duration::from_millis(50)).await;
    Ok(Room {
        chair,
        sender,
        sender_doc,
        seed_client,
    })
}

fn paragraphs(doc: &Doc) -> u32 {
    doc.get_or_insert_array("paragraphs").len(&doc.transact())
}

/// A one-character edit into the open paragraph.
fn tiny_edit(doc: &Doc) -> Vec<u8> {
    let paragraphs = doc.get_or_insert_array("paragraphs");
    let mut txn = doc.transact_mut();
    if let Some(Out::YMap(map)) = paragraphs.get(&txn, OPEN_PARAGRAPH)
        && let Some(Out::YText(text)) = yrs::Map::get(&map, &txn, "text")
    {
        text.insert(&mut txn, 0, "x");
    }
    txn.encode_update_v1()
}

/// Sends `update` then a query; waits for the answer to the query.
async fn probe(sender: &mut Raw, update: &[u8], timeout: Duration) -> ProbeResult {
    let frame = sender.framing.update(update);
    let frame_bytes = frame.len();
    let t0 = sender.send(frame);
    sender.send(sender.framing.query_awareness());
    let mut r = ProbeResult {
        frame_bytes,
        ..ProbeResult::default()
    };
    let deadline = t0 + timeout;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match sender.next(left).await {
            Some(Arrival::Frame(at, f)) => match sender.framing.parse(&f) {
                Some(Incoming::Denied) => {
                    r.denied_ms = Some(probe::ms(at - t0));
                    let reason = wire::denial_reason(&f).unwrap_or_default();
                    r.reason_bytes = Some(reason.len());
                    r.reason_head = Some(reason.chars().take(160).collect());
                }
                Some(Incoming::Awareness) => {
                    r.check_ms = Some(probe::ms(at - t0));
                    r.outcome = if r.denied_ms.is_some() {
                        "denied".into()
                    } else {
                        "accepted".into()
                    };
                    return r;
                }
                _ => {}
            },
            Some(Arrival::Closed(at, why)) => {
                r.check_ms = Some(probe::ms(at - t0));
                r.outcome = match why {
                    Some((code, reason)) => format!("closed {code} {reason}"),
                    None => "closed".into(),
                };
                return r;
            }
            None => {
                r.outcome = "timeout".into();
                return r;
            }
        }
    }
}

#[derive(Debug, Default)]
struct ProbeResult {
    frame_bytes: usize,
    outcome: String,
    check_ms: Option<f64>,
    denied_ms: Option<f64>,
    reason_bytes: Option<usize>,
    reason_head: Option<String>,
}

pub(crate) async fn run_crafted(args: &BenchArgs) -> Result<Report, BenchError> {
    let prefix = crate::load::doc_prefix(args);
    let timeout = Duration::from_secs_f64(args.frame_timeout);
    let kinds: Vec<&str> = args.kinds.split(',').filter(|k| !k.is_empty()).collect();
    if let Some(bad) = kinds.iter().find(|k| !KINDS.contains(k)) {
        return Err(BenchError::Args(format!(
            "unknown crafted kind {bad:?} (known: {})",
            KINDS.join(", ")
        )));
    }
    let mut sizes = args.sizes.clone();
    sizes.sort_unstable();

    // The floor: a one-character edit and the same query, in a room of its own.
    let mut room = open_room(args, &format!("{prefix}-tiny")).await?;
    let mut tiny = Vec::new();
    for _ in 0..args.samples.max(1) {
        let update = tiny_edit(&room.sender_doc);
        let r = probe(&mut room.sender, &update, timeout).await;
        if let Some(ms) = r.check_ms.filter(|_| r.outcome == "accepted") {
            tiny.push(ms);
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    room.sender.close().await;
    room.chair.close().await;
    let tiny = probe::summary(&tiny);
    eprintln!(
        "{}: tiny edit round trip p50 {:.2} ms, p99 {:.2} ms ({} samples)",
        args.label, tiny.p50_ms, tiny.p99_ms, tiny.n
    );

    let mut frames = Vec::new();
    for kind in kinds {
        for &size in &sizes {
            if frames
                .iter()
                .any(|f: &FrameFigures| f.kind == kind && f.outcome == "timeout")
            {
                eprintln!(
                    "{}: {kind} {size} B skipped (a smaller frame timed out)",
                    args.label
                );
                continue;
            }
            let mut room = open_room(args, &format!("{prefix}-{kind}-{size}")).await?;
            let crafted =
                build(kind, size, room.seed_client, &room.sender_doc).map_err(BenchError::Args)?;
            let rss_before = args.pid.and_then(procstat::rss_mb);
            let r = probe(&mut room.sender, &crafted.update, timeout).await;
            let rss_after = args.pid.and_then(procstat::rss_mb);
            let f = FrameFigures {
                kind: kind.to_string(),
                frame_bytes: r.frame_bytes,
                parts: crafted.parts,
                outcome: r.outcome,
                check_ms: r.check_ms,
                denied_ms: r.denied_ms,
                reason_bytes: r.reason_bytes,
                reason_head: r.reason_head,
                server_rss_before_mb: rss_before,
                server_rss_after_mb: rss_after,
            };
            eprintln!(
                "{}: {kind} {} B ({} parts): {} in {}",
                args.label,
                f.frame_bytes,
                f.parts,
                f.outcome,
                f.check_ms
                    .map(|m| format!("{m:.1} ms"))
                    .unwrap_or_else(|| format!("> {:.0} s", args.frame_timeout)),
            );
            let timed_out = f.outcome == "timeout";
            frames.push(f);
            room.sender.close().await;
            room.chair.close().await;
            if timed_out {
                // The room may still be busy with it: leave it be; the next
                // kind gets a room of its own (the driver restarts the server
                // between kinds).
                continue;
            }
        }
    }
    Ok(Report::Crafted(CraftedFigures {
        label: args.label.clone(),
        tiny,
        frames,
        timeout_s: args.frame_timeout,
    }))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use yrs::updates::decoder::Decode;
    use yrs::{GetString, Map, Update};

    use super::*;

    fn seeded() -> (Doc, u64) {
        let chair = typing::new_doc(4242);
        let seed = typing::seed(&chair).unwrap();
        let doc = typing::new_doc(99);
        doc.transact_mut()
            .apply_update(Update::decode_v1(&seed).unwrap())
            .unwrap();
        (doc, 4242)
    }

    fn apply(doc: &Doc, update: &[u8]) {
        doc.transact_mut()
            .apply_update(Update::decode_v1(update).unwrap())
            .unwrap();
    }

    #[test]
    fn every_kind_fits_its_budget_and_decodes() {
        let (doc, seed_client) = seeded();
        for kind in KINDS {
            let c = build(kind, 8 * 1024, seed_client, &doc).unwrap();
            assert!(c.update.len() + FRAME_OVERHEAD <= 8 * 1024, "{kind}");
            assert!(c.update.len() > 6 * 1024, "{kind}: {}", c.update.len());
            assert!(c.parts > 0, "{kind}");
            Update::decode_v1(&c.update).unwrap();
        }
    }

    #[test]
    fn text_frames_are_one_new_paragraph_of_that_many_characters() {
        for kind in ["text-append", "text-reverse"] {
            let (doc, seed_client) = seeded();
            let c = build(kind, 4096, seed_client, &doc).unwrap();
            apply(&doc, &c.update);
            let paragraphs = doc.get_or_insert_array("paragraphs");
            let txn = doc.transact();
            assert_eq!(paragraphs.len(&txn), 13, "{kind}");
            let Some(Out::YMap(p)) = paragraphs.get(&txn, 0) else {
                panic!("{kind}: no new paragraph first");
            };
            let Some(Out::YText(t)) = p.get(&txn, "text") else {
                panic!("{kind}: no text");
            };
            // map, id, text, then one character per struct
            assert_eq!(t.get_string(&txn).len(), c.parts - 3, "{kind}");
        }
    }

    #[test]
    fn deep_maps_nest_one_map_per_struct() {
        let (doc, seed_client) = seeded();
        let c = build("deep-maps", 2048, seed_client, &doc).unwrap();
        apply(&doc, &c.update);
        let paragraphs = doc.get_or_insert_array("paragraphs");
        let txn = doc.transact();
        let Some(Out::YMap(mut m)) = paragraphs.get(&txn, 0) else {
            panic!("no new paragraph");
        };
        let mut depth = 0;
        while let Some(Out::YMap(inner)) = m.get(&txn, "x") {
            m = inner;
            depth += 1;
        }
        assert_eq!(depth, c.parts - 2);
    }

    #[test]
    fn unknown_structs_stay_pending_and_deletes_reach_the_seed() {
        let (doc, seed_client) = seeded();
        let c = build("unknown", 2048, seed_client, &doc).unwrap();
        apply(&doc, &c.update);
        assert!(doc.transact().store().pending_update().is_some());
        let (doc, seed_client) = seeded();
        let before = crate::typing::texts(&doc).concat().len();
        let c = build("deletes", 2048, seed_client, &doc).unwrap();
        apply(&doc, &c.update);
        assert!(crate::typing::texts(&doc).concat().len() < before);
    }

    #[test]
    fn paste_appends_to_the_open_paragraph() {
        let (doc, seed_client) = seeded();
        let c = build("paste", 4096, seed_client, &doc).unwrap();
        apply(&doc, &c.update);
        let texts = crate::typing::texts(&doc);
        assert!(texts[OPEN_PARAGRAPH as usize].len() > 3000);
    }
}
