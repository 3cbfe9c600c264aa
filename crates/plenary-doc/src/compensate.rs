//! Integrate, then compensate: how a server keeps the allowed part of a
//! client's update and reverts the refused part without desynchronising
//! anyone.
//!
//! Yjs numbers each client's structs with consecutive clocks. A server that
//! drops a refused update leaves a hole in that client's clocks, and every
//! later update of the client waits behind it forever. So the update is
//! integrated *whole*, and the refused part is reverted by a change of the
//! server's own, in the same room step:
//!
//! 1. [`Integration::begin`] applies the update in one transaction and keeps
//!    it open; [`Integration::begin_refusing`] first rewrites the refused
//!    insertions as deleted structs of the same ids and origins
//!    ([`redact_v1`]), so refused content never enters the document while
//!    the sender's clocks stay continuous (the net change then deletes the
//!    sender's copies). Either keeps the transaction open, so checks that
//!    need the integrated state can read it.
//! 2. [`Integration::accept`] (nothing refused): collect what the update
//!    deleted, commit; the update as integrated is the net change.
//! 3. [`Integration::revert`] (some part refused): commit, then a short-lived
//!    `yrs::undo::UndoManager` seeded with exactly the refused insertions and
//!    deletions reverts them (removes inserted content, re-creates deleted
//!    content with its formatting as new items of the document's own client,
//!    restores overwritten map values). Then the garbage of both steps is
//!    collected, and the net change is built: the update's structs (refused
//!    content redacted, unless `begin_refusing` did that already), plus the
//!    reverting change.
//!    The sender applies it too and ends in the same state as everyone else.
//!
//! Architecture invariants:
//! - The document must keep deleted content until this module collects it
//!   (`ResolutionDoc::with_manual_gc`): a refused deletion is restored from
//!   the very items the update deleted.
//! - The net change never carries refused content, and everything here costs
//!   O(size of the update): no encoding of the whole document, no walk of its
//!   delete set.
//! - Nothing but the refused ids is reverted: the undo stack is seeded with
//!   the refused ids intersected with what this update actually inserted and
//!   deleted.

use std::sync::{Arc, Mutex};

use yrs::undo::{Options as UndoOptions, StackItem, UndoManager};
use yrs::updates::decoder::Decode;
use yrs::updates::encoder::Encode;
use yrs::{Doc, IdSet, Out, ReadTxn, Transact, TransactionMut, Update};

use crate::effect::Footprint;
use crate::redact::redact_v1;

/// Why an update could not be integrated or reverted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IntegrateError {
    #[error("yrs refused the update: {0}")]
    Apply(String),
    #[error("the reverting change could not be encoded: {0}")]
    Encode(String),
}

/// The origin of the transactions this module opens.
const ORIGIN: &str = "plenary-integrate";
const CAPTURE: &str = "plenary-integrate/capture";

/// An update applied in a transaction that is still open.
pub struct Integration<'doc> {
    txn: TransactionMut<'doc>,
    /// The refused insertions were redacted before they were applied: the
    /// integrated structs carry no refused content to redact again.
    redacted: bool,
}

impl std::fmt::Debug for Integration<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Integration").finish_non_exhaustive()
    }
}

impl<'doc> Integration<'doc> {
    /// Applies `update` whole. The caller must have made sure it has no clock
    /// gap and names nothing the document lacks (else yrs would keep part of
    /// it pending, to integrate later unchecked).
    pub fn begin(doc: &'doc Doc, update: Update) -> Result<Self, IntegrateError> {
        let mut txn = doc.transact_mut_with(ORIGIN);
        txn.apply_update(update)
            .map_err(|e| IntegrateError::Apply(e.to_string()))?;
        Ok(Integration {
            txn,
            redacted: false,
        })
    }

    /// Applies `update` (v1 bytes) with the insertions of `refused` turned
    /// into deleted structs of the same ids ([`redact_v1`]) first: refused
    /// content never enters the document, and a crafted run of refused
    /// structs is squashed by yrs as lengths, not as text. Follow with
    /// [`revert`](Self::revert) for the refused deletions.
    pub fn begin_refusing(
        doc: &'doc Doc,
        update: &[u8],
        refused: &Footprint,
    ) -> Result<Self, IntegrateError> {
        let bytes = if refused.inserted.is_empty() {
            std::borrow::Cow::Borrowed(update)
        } else {
            std::borrow::Cow::Owned(
                redact_v1(update, &refused.inserted)
                    .map_err(|e| IntegrateError::Apply(e.to_string()))?,
            )
        };
        let update = Update::decode_v1(&bytes).map_err(|e| IntegrateError::Apply(e.to_string()))?;
        let mut it = Self::begin(doc, update)?;
        it.redacted = true;
        Ok(it)
    }

    /// The open transaction, to read the integrated state.
    pub fn txn(&self) -> &TransactionMut<'doc> {
        &self.txn
    }

    /// What the transaction deleted so far: the update's delete set and everything yrs
    /// deleted along with it (the contents of a deleted type).
    pub fn deleted(&self) -> &IdSet {
        self.txn.delete_set()
    }

    /// Whether the update added or deleted anything.
    pub fn changed(&self) -> bool {
        !self.txn.insert_set().is_empty() || !self.txn.delete_set().is_empty()
    }

    /// Keeps everything: collects what the update deleted and commits.
    /// Returns the update as integrated (v1).
    pub fn accept(mut self) -> Vec<u8> {
        let deleted = self.txn.delete_set().clone();
        if !deleted.is_empty() {
            self.txn.gc(Some(&deleted));
        }
        let net = self.txn.encode_update_v1();
        drop(self.txn);
        net
    }

    /// Keeps everything but `refused`: commits, reverts the refused ids,
    /// collects the garbage of both, and returns the net change (v1).
    pub fn revert(self, refused: &Footprint) -> Result<Vec<u8>, IntegrateError> {
        let redacted = self.redacted;
        let doc = self.txn.doc().clone();
        let inserted = self.txn.insert_set().clone();
        let deleted = self.txn.delete_set().clone();
        let own = self.txn.encode_update_v1();
        drop(self.txn);

        let refused_ins = refused.inserted.intersect(&inserted);
        let refused_del = refused.deleted.intersect(&deleted);
        let reverting = if refused_ins.is_empty() && refused_del.is_empty() {
            None
        } else {
            undo(&doc, refused_del, refused_ins.clone())?
        };

        // Collect what the update and the revert deleted (the refused
        // content among it), then build the net change from the update's
        // structs (refused content redacted) and the reverting change.
        let mut garbage = deleted;
        let own = if redacted || refused_ins.is_empty() {
            own
        } else {
            redact_v1(&own, &refused_ins).map_err(|e| IntegrateError::Encode(e.to_string()))?
        };
        let mut parts =
            vec![Update::decode_v1(&own).map_err(|e| IntegrateError::Encode(e.to_string()))?];
        if let Some(bytes) = reverting {
            let u = Update::decode_v1(&bytes).map_err(|e| IntegrateError::Encode(e.to_string()))?;
            garbage.merge_with(u.delete_set().clone());
            parts.push(u);
        }
        if !garbage.is_empty() {
            doc.transact_mut_with(ORIGIN).gc(Some(&garbage));
        }
        Ok(Update::merge_updates(parts).encode_v1())
    }
}

/// Every root type of the document: an undo manager only reverts items
/// under its scope, and a refused write may sit under a root outside the
/// schema.
fn roots(doc: &Doc) -> Vec<Out> {
    doc.transact().root_refs().map(|(_, out)| out).collect()
}

fn expand(mgr: &mut UndoManager<()>, doc: &Doc, root: &Out) {
    match root {
        Out::YText(t) => mgr.expand_scope(doc, t),
        Out::YArray(a) => mgr.expand_scope(doc, a),
        Out::YMap(m) => mgr.expand_scope(doc, m),
        Out::YXmlElement(x) => mgr.expand_scope(doc, x),
        Out::YXmlFragment(x) => mgr.expand_scope(doc, x),
        Out::YXmlText(x) => mgr.expand_scope(doc, x),
        Out::UndefinedRef(b) => mgr.expand_scope(doc, b),
        _ => {}
    }
}

fn manager(doc: &Doc, deletions: IdSet, insertions: IdSet) -> UndoManager<()> {
    let options = UndoOptions {
        init_undo_stack: vec![StackItem::new(doc.guid(), deletions, insertions)],
        ..UndoOptions::default()
    };
    let mut mgr = UndoManager::with_options(options);
    for root in roots(doc) {
        expand(&mut mgr, doc, &root);
    }
    mgr
}

/// Reverts exactly these insertions and deletions; returns the reverting
/// change (v1), if the revert changed anything.
fn undo(doc: &Doc, deletions: IdSet, insertions: IdSet) -> Result<Option<Vec<u8>>, IntegrateError> {
    let captured: Arc<Mutex<Option<Vec<u8>>>> = Arc::default();
    let sink = captured.clone();
    doc.observe_update_v1(CAPTURE, move |_, e| {
        *sink.lock().unwrap_or_else(|p| p.into_inner()) = Some(e.update.clone());
    })
    .map_err(|e| IntegrateError::Encode(e.to_string()))?;
    let mut mgr = manager(doc, deletions, insertions);
    mgr.undo_blocking();
    // The undo marked what it deleted as "keep" (for a redo we will never
    // do): unmark, so the garbage collection below can take it.
    mgr.clear_all();
    drop(mgr);
    let _ = doc.unobserve_update_v1(CAPTURE);
    let bytes = captured.lock().unwrap_or_else(|p| p.into_inner()).take();
    if let Some(b) = &bytes {
        // Restored items are marked "keep" too; unmark them, so that when
        // someone deletes them later they are collected like any other text.
        let restored = Update::decode_v1(b)
            .map_err(|e| IntegrateError::Encode(e.to_string()))?
            .insertions(false);
        let mut unmark = manager(doc, restored, IdSet::new());
        unmark.clear_all();
    }
    Ok(bytes)
}
