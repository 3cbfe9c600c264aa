//! The round trip of a refusal against the round trip of an accepted edit.
//!
//! The chair (`--token`) seeds a document and marks paragraph 0 *agreed*.
//! Two connections of a delegate (`--sender-token`) then alternate, one
//! sample at a time:
//!
//! - *accepted*: connection A types one character into open paragraph 5 and
//!   sends sync step 1 right after it. Timed: send → the chair's connection
//!   receives the character (echo through another client), and send → A
//!   receives its sync step 2 (the server answers step 1 only with durable
//!   state, so this is the sender's acknowledgement).
//! - *refused*: connection B types one character into agreed paragraph 0.
//!   Timed: send → permission-denied, and send → the first update on B whose
//!   delete set removes that character (the server's compensation; a server
//!   that only refuses never sends one, which is reported as such).
//!
//! By default each refused edit comes from a fresh client id (a clone of B's
//! document), so the measurement is the same whether or not the server keeps
//! a refused client's clocks continuous; `--same-client` types every refused
//! edit from B's own client id, as a real editor would. Each refused edit
//! carries a marker (`‹refused N›`); the chair's frames are searched for it
//! byte for byte, and a frame holding one is counted as a leak (a server that
//! integrates and reverts must still pass the refused client's clock range
//! on, but never its content).

use std::time::{Duration, Instant};

use serde::Serialize;
use yrs::updates::decoder::Decode;
use yrs::updates::encoder::Encode;
use yrs::{Array, Doc, ID, Map, Out, ReadTxn, Text, Transact, Update};

use crate::args::BenchArgs;
use crate::error::BenchError;
use crate::probe::{self, Arrival, Raw, Summary};
use crate::report::Report;
use crate::typing;
use crate::wire::{self, Framing, Incoming};

const SETUP_TIMEOUT: Duration = Duration::from_secs(30);
const SAMPLE_TIMEOUT: Duration = Duration::from_secs(5);
/// How long to wait for a compensating update after the denial, while
/// looking for one; given up after `PROBE_COMPENSATION` samples without any.
const COMPENSATION_WAIT: Duration = Duration::from_secs(1);
const PROBE_COMPENSATION: usize = 3;
const AGREED: u32 = 0;
const OPEN: u32 = 5;

#[derive(Debug, Clone, Serialize)]
pub struct RefusalFigures {
    pub label: String,
    pub samples: usize,
    pub same_client: bool,
    /// Accepted edit: send → the chair receives it.
    pub accepted_echo: Summary,
    /// Accepted edit: send → the sender's sync step 2 (durable acknowledgement).
    pub accepted_ack: Summary,
    /// Refused edit: send → permission-denied.
    pub refused_denied: Summary,
    /// Refused edit: send → the update that deletes the refused character.
    pub refused_compensated: Summary,
    /// Refused edits that got no permission-denied within the sample timeout.
    pub refused_without_denial: usize,
    /// Refused edits that got no compensating update (within 1 s, while looked for).
    pub refused_without_compensation: usize,
    /// Accepted edits that never reached the chair / were never acknowledged.
    pub accepted_lost: usize,
    /// Frames on the chair's connection holding the text of a refused edit.
    pub leaked_frames: usize,
    pub first_denial: Option<String>,
    /// Denials by the rule id the reason ends with (`[delegate.agreed-paragraph]`).
    pub denial_rules: std::collections::BTreeMap<String, usize>,
}

/// The rule id in brackets at the end of a denial reason.
fn rule_of(reason: &str) -> String {
    reason
        .rsplit_once('[')
        .and_then(|(_, r)| r.strip_suffix(']'))
        .unwrap_or("(none)")
        .to_string()
}

fn text_of(paragraphs: &yrs::ArrayRef, txn: &impl ReadTxn, index: u32) -> Option<yrs::TextRef> {
    match paragraphs.get(txn, index)? {
        Out::YMap(m) => match m.get(txn, "text")? {
            Out::YText(t) => Some(t),
            _ => None,
        },
        _ => None,
    }
}

fn status_of(doc: &Doc, index: u32) -> Option<String> {
    let paragraphs = doc.get_or_insert_array("paragraphs");
    let txn = doc.transact();
    match paragraphs.get(&txn, index)? {
        Out::YMap(m) => m.get(&txn, "status").map(|v| v.to_string(&txn)),
        _ => None,
    }
}

/// The start of every refused edit's text: what must never reach another client.
const MARKER: &str = "‹refused ";

/// Types `what` at the start of paragraph `index`: (update, id of its first character).
fn type_at(doc: &Doc, index: u32, what: &str) -> Option<(Vec<u8>, ID)> {
    let client = doc.client_id();
    let clock = doc.transact().state_vector().get(&client);
    // (get_or_insert_array takes a transaction of its own: before ours)
    let paragraphs = doc.get_or_insert_array("paragraphs");
    let mut txn = doc.transact_mut();
    let text = text_of(&paragraphs, &txn, index)?;
    text.insert(&mut txn, 0, what);
    Some((txn.encode_update_v1(), ID::new(client, clock)))
}

fn fresh_clone(doc: &Doc) -> Doc {
    let clone = typing::new_doc(u64::from(rand::random::<u32>()) + 1_000_000);
    let state = doc
        .transact()
        .encode_state_as_update_v1(&Default::default());
    if let Ok(u) = Update::decode_v1(&state) {
        let _ = clone.transact_mut().apply_update(u);
    }
    clone
}

/// Syncs `doc` until `ready` holds for it (the server shows only durable state).
async fn sync_until(conn: &mut Raw, doc: &Doc, ready: impl Fn(&Doc) -> bool) -> Result<(), String> {
    let deadline = Instant::now() + SETUP_TIMEOUT;
    loop {
        conn.sync_doc(doc, SETUP_TIMEOUT).await?;
        if ready(doc) {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err("the seeded document never showed up".into());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The frames of an update message: the decoded update.
fn update_of(framing: &Framing, frame: &[u8]) -> Option<Update> {
    match framing.parse(frame)? {
        Incoming::Update(u) | Incoming::Step2(u) => Update::decode_v1(u).ok(),
        _ => None,
    }
}

pub(crate) async fn run_refusal(args: &BenchArgs) -> Result<Report, BenchError> {
    let doc = format!("{}-0", crate::load::doc_prefix(args));
    let framing = Framing {
        protocol: args.protocol,
        doc: doc.clone(),
    };
    let fail = |reason: String| BenchError::NoConnection {
        url: args.url.clone(),
        reason,
    };
    let sender_token = args.sender_token.as_deref().ok_or_else(|| {
        BenchError::Args("--sender-token (a delegate's token) is required".into())
    })?;
    crate::create::ensure_docs(args, std::slice::from_ref(&doc)).await?;

    let chair_doc = typing::new_doc(u64::from(rand::random::<u32>()) + 1_000);
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
    let agree = {
        let paragraphs = chair_doc.get_or_insert_array("paragraphs");
        let mut txn = chair_doc.transact_mut();
        if let Some(Out::YMap(m)) = paragraphs.get(&txn, AGREED) {
            m.insert(&mut txn, "status", "agreed");
        }
        txn.encode_update_v1()
    };
    chair.send(framing.update(&agree));
    let agreed = |d: &Doc| status_of(d, AGREED).as_deref() == Some("agreed");

    let mut a = Raw::open(args.url_for(0), Some(sender_token), framing.clone())
        .await
        .map_err(fail)?;
    let a_doc = typing::new_doc(u64::from(rand::random::<u32>()) + 1_000);
    sync_until(&mut a, &a_doc, agreed).await.map_err(fail)?;
    let mut b = Raw::open(args.url_for(0), Some(sender_token), framing.clone())
        .await
        .map_err(fail)?;
    let b_doc = typing::new_doc(u64::from(rand::random::<u32>()) + 1_000);
    sync_until(&mut b, &b_doc, agreed).await.map_err(fail)?;
    chair.drain(None, Duration::from_millis(100)).await;

    let mut echo = Vec::new();
    let mut ack = Vec::new();
    let mut denied = Vec::new();
    let mut compensated = Vec::new();
    let (mut no_denial, mut no_comp, mut lost, mut leaked) = (0, 0, 0, 0);
    let leaks = |frame: &[u8]| frame.windows(MARKER.len()).any(|w| w == MARKER.as_bytes());
    let mut first_denial = None;
    let mut denial_rules = std::collections::BTreeMap::new();
    let a_client = a_doc.client_id();

    for i in 0..args.samples.max(1) {
        // Accepted: A types into the open paragraph, then asks for sync step 2.
        let Some((update, id)) = type_at(&a_doc, OPEN, "x") else {
            return Err(BenchError::Args(
                "the seeded document has no open paragraph 5".into(),
            ));
        };
        let t0 = a.send(framing.update(&update));
        a.send(framing.sync(0, &a_doc.transact().state_vector().encode_v1()));
        let deadline = t0 + SAMPLE_TIMEOUT;
        let mut got_ack = false;
        while let Some(arrival) = a
            .next(deadline.saturating_duration_since(Instant::now()))
            .await
        {
            match arrival {
                Arrival::Frame(at, f) => match framing.parse(&f) {
                    Some(Incoming::Step2(_)) => {
                        ack.push(probe::ms(at - t0));
                        got_ack = true;
                        break;
                    }
                    Some(Incoming::Denied) => {
                        return Err(BenchError::Args(format!(
                            "an edit of an open paragraph was refused: {}",
                            wire::denial_reason(&f).unwrap_or_default()
                        )));
                    }
                    _ => {}
                },
                Arrival::Closed(_, why) => {
                    return Err(fail(format!("connection A closed: {why:?}")));
                }
            }
        }
        let mut got_echo = false;
        while let Some(arrival) = chair
            .next(deadline.saturating_duration_since(Instant::now()))
            .await
        {
            let Arrival::Frame(at, f) = arrival else {
                return Err(fail("the chair's connection closed".into()));
            };
            if leaks(&f) {
                leaked += 1;
            }
            let Some(u) = update_of(&framing, &f) else {
                continue;
            };
            let ins = u.insertions(true);
            if ins
                .iter()
                .any(|(c, r)| *c == a_client && r.iter().any(|r| r.end > id.clock))
            {
                echo.push(probe::ms(at - t0));
                got_echo = true;
                break;
            }
        }
        if !(got_ack && got_echo) {
            lost += 1;
        }

        // Refused: B types into the agreed paragraph.
        let editor = if args.same_client {
            None
        } else {
            Some(fresh_clone(&b_doc))
        };
        let edit_doc = editor.as_ref().unwrap_or(&b_doc);
        let Some((update, id)) = type_at(edit_doc, AGREED, &format!("{MARKER}{i}›")) else {
            return Err(BenchError::Args(
                "the seeded document has no paragraph 0".into(),
            ));
        };
        let t0 = b.send(framing.update(&update));
        let look_for_compensation = i < PROBE_COMPENSATION || !compensated.is_empty();
        let mut got_denied: Option<Instant> = None;
        let mut got_comp = false;
        loop {
            let deadline = match got_denied {
                Some(at) if look_for_compensation => at + COMPENSATION_WAIT,
                Some(_) => break,
                None => t0 + SAMPLE_TIMEOUT,
            };
            let Some(arrival) = b
                .next(deadline.saturating_duration_since(Instant::now()))
                .await
            else {
                break;
            };
            let Arrival::Frame(at, f) = arrival else {
                return Err(fail("connection B closed".into()));
            };
            match framing.parse(&f) {
                Some(Incoming::Denied) => {
                    denied.push(probe::ms(at - t0));
                    let reason = wire::denial_reason(&f).unwrap_or_default();
                    *denial_rules.entry(rule_of(&reason)).or_insert(0) += 1;
                    if first_denial.is_none() {
                        first_denial = Some(reason);
                    }
                    got_denied = Some(at);
                }
                Some(Incoming::Update(_)) | Some(Incoming::Step2(_)) => {
                    if let Some(u) = update_of(&framing, &f) {
                        let removes = u.delete_set().contains(&id);
                        let _ = edit_doc.transact_mut().apply_update(u);
                        if removes && !got_comp {
                            compensated.push(probe::ms(at - t0));
                            got_comp = true;
                        }
                    }
                }
                _ => {}
            }
            if got_denied.is_some() && got_comp {
                break;
            }
        }
        if got_denied.is_none() {
            no_denial += 1;
        }
        if !got_comp {
            no_comp += 1;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Late frames on the chair's connection still count for leaks.
    while let Some(Arrival::Frame(_, f)) = chair.next(Duration::from_millis(300)).await {
        if leaks(&f) {
            leaked += 1;
        }
    }
    a.close().await;
    b.close().await;
    chair.close().await;
    Ok(Report::Refusal(RefusalFigures {
        label: args.label.clone(),
        samples: args.samples.max(1),
        same_client: args.same_client,
        accepted_echo: probe::summary(&echo),
        accepted_ack: probe::summary(&ack),
        refused_denied: probe::summary(&denied),
        refused_compensated: probe::summary(&compensated),
        refused_without_denial: no_denial,
        refused_without_compensation: no_comp,
        accepted_lost: lost,
        leaked_frames: leaked,
        first_denial,
        denial_rules,
    }))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_rule_is_the_bracketed_tail() {
        assert_eq!(
            super::rule_of("PP1 (p0): agreed; make a proposal instead [delegate.agreed-paragraph]"),
            "delegate.agreed-paragraph"
        );
        assert_eq!(super::rule_of("no rule"), "(none)");
    }
}
