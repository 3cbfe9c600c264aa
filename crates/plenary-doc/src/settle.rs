//! What a server writes after an update is integrated (and its refused
//! parts reverted), so that the allowed part lands as the sender meant it.
//!
//! - **A footnote mark never spreads to typed text.** A stock Yjs client
//!   typing right after a footnote marker inherits the marker's `footnote`
//!   attribute: every live client would show the typed words as part of the
//!   marker while the API and exports drop them. The server takes the mark
//!   off everything in a marked run that is not a superscript digit.
//! - **The last map write to reach the server wins.** Yjs resolves
//!   concurrent writes to one map key by client id. When a write the server
//!   reverted happens to win that order, a concurrent allowed write would be
//!   shadowed by the reverted one and lost. So when an allowed write's value
//!   is not the key's value after integration, the server writes it again.
//!
//! Both cost O(what the update touched): the keys it wrote, and the text of
//! a paragraph only when the update typed inside a footnote marker's span
//! (the effect sees that from the update's own structs: typed text whose
//! right neighbour is the mark's end).

use std::sync::Arc;

use serde_json::Value;
use yrs::types::text::{Diff, YChange};
use yrs::{
    Any, Hook, Map, MapRef, Out, ReadTxn, SharedRef, Text, TextRef, Transact, TransactionMut,
};

use crate::comments::{CommentTarget, CommentsEffect};
use crate::effect::{Effect, FieldChange, Target};
use crate::schema::{FOOTNOTE, text_of};

const ORIGIN: &str = "plenary-settle";

/// Superscript digits: the only characters a footnote marker holds.
fn is_marker_char(c: char) -> bool {
    matches!(c, '⁰' | '¹' | '²' | '³' | '⁴' | '⁵' | '⁶' | '⁷' | '⁸' | '⁹')
}

/// Takes the footnote mark off every character of a marked run that is not
/// part of a marker.
fn unspread(txn: &mut TransactionMut, text: &TextRef) {
    let mut fixes: Vec<(u32, u32)> = Vec::new();
    let mut at = 0u32;
    for Diff {
        insert, attributes, ..
    } in text.diff(txn, YChange::identity)
    {
        let Out::Any(Any::String(s)) = insert else {
            at += 1;
            continue;
        };
        let marked = attributes
            .as_deref()
            .is_some_and(|a| matches!(a.get(FOOTNOTE), Some(Any::String(_))));
        if !marked {
            at += s.encode_utf16().count() as u32;
            continue;
        }
        for c in s.chars() {
            let w = c.len_utf16() as u32;
            if !is_marker_char(c) {
                match fixes.last_mut() {
                    Some((start, len)) if *start + *len == at => *len += w,
                    _ => fixes.push((at, w)),
                }
            }
            at += w;
        }
    }
    for (index, len) in fixes {
        let mut attrs = std::collections::HashMap::new();
        attrs.insert(Arc::from(FOOTNOTE), Any::Null);
        text.format(txn, index, len, attrs);
    }
}

/// Whether an update may have left a footnote mark on text that is not a
/// marker: typed inside a marker's span, a mark set on existing text, or a
/// new paragraph whose text carries one.
fn may_spread(p: &crate::effect::ParagraphEffect) -> bool {
    p.spreads_footnote
        || p.formats.contains(FOOTNOTE)
        || p.inserted_runs.as_ref().is_some_and(|runs| {
            runs.iter()
                .any(|r| r.footnote.is_some() && !r.text.chars().all(is_marker_char))
        })
}

/// The follow-up as one change (v1), its garbage collected; `None` when
/// it changed nothing.
fn finish(mut txn: TransactionMut<'_>) -> Option<Vec<u8>> {
    if txn.insert_set().is_empty() && txn.delete_set().is_empty() {
        return None;
    }
    let deleted = txn.delete_set().clone();
    txn.gc(Some(&deleted));
    Some(txn.encode_update_v1())
}

fn to_any(v: &Value) -> Option<Any> {
    match v {
        Value::Null => Some(Any::Null),
        Value::Bool(b) => Some(Any::Bool(*b)),
        Value::Number(n) => n.as_f64().map(Any::from),
        Value::String(s) => Some(Any::String(Arc::from(s.as_str()))),
        _ => None,
    }
}

fn current<T: ReadTxn>(txn: &T, map: &MapRef, key: &str) -> Option<Value> {
    match map.get(txn, key) {
        None => Some(Value::Null),
        Some(Out::Any(a)) => serde_json::to_value(a).ok(),
        Some(_) => None,
    }
}

/// Writes the update's value again when it is not the key's value now.
fn reassert(txn: &mut TransactionMut, map: &MapRef, key: &str, change: &FieldChange) {
    let Some(value) = &change.last else {
        return; // the writer ends with no value of its own here
    };
    let Some(any) = to_any(value) else {
        return; // only plain values
    };
    match current(txn, map, key) {
        Some(now) if now == *value => {}
        Some(_) => {
            map.insert(txn, key, any);
        }
        None => {}
    }
}

/// Puts back the value a key had before a refused update, when the revert
/// did not leave it there (a concurrent write, refused too, may shadow the
/// restored value).
fn restore(txn: &mut TransactionMut, map: &MapRef, key: &str, before: &Value) {
    match current(txn, map, key) {
        Some(now) if now == *before => {}
        Some(_) if before.is_null() => {
            map.remove(txn, key);
        }
        Some(_) => {
            if let Some(any) = to_any(before) {
                map.insert(txn, key, any);
            }
        }
        None => {}
    }
}

/// Where a map key lives, found again after the update is integrated and
/// reverted. A nested map is found by its item id (a [`Hook`]), never by a
/// field the update may have overwritten (a paragraph by its `id`, say), and
/// never by a handle kept from before: the revert's garbage collection may
/// have freed the branch such a handle points to.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Slot {
    Nested(Hook<MapRef>),
    Meta,
    Policy,
}

/// The plain values that the keys of an update's refused parts held before
/// it was integrated ([`ResolutionDoc::values_before`]): what `settle` puts
/// back if the revert did not.
///
/// [`ResolutionDoc::values_before`]: crate::ResolutionDoc::values_before
#[derive(Debug, Clone, Default)]
pub struct ValuesBefore {
    values: Vec<(Slot, String, Value)>,
}

impl crate::ResolutionDoc {
    /// Reads, before an update is integrated, the plain values of the map
    /// keys it writes in its refused targets (O(keys written)).
    pub fn values_before(
        &self,
        effect: &Effect,
        refused: &dyn Fn(&Target) -> bool,
    ) -> ValuesBefore {
        let txn = self.doc().transact();
        let mut out = ValuesBefore::default();
        for target in effect.footprints.keys().filter(|t| refused(t)) {
            match target {
                Target::ParagraphField(pid, key) => {
                    if let Some(m) = self.paragraph_map_in(&txn, pid)
                        && let Some(v) = current(&txn, &m, key)
                    {
                        out.values.push((Slot::Nested(m.hook()), key.clone(), v));
                    }
                }
                Target::Meta(key) => {
                    if let Some(v) = current(&txn, &self.meta_map(), key) {
                        out.values.push((Slot::Meta, key.clone(), v));
                    }
                }
                Target::Proposal(qid) => {
                    let (Some(m), Some(qe)) =
                        (self.proposal_map_in(&txn, qid), effect.proposals.get(qid))
                    else {
                        continue;
                    };
                    for key in qe.fields.keys() {
                        if let Some(v) = current(&txn, &m, key) {
                            out.values.push((Slot::Nested(m.hook()), key.clone(), v));
                        }
                    }
                }
                _ => {}
            }
        }
        out
    }

    /// The server's follow-up to an integrated update (see the module doc):
    /// `refused` says which of the effect's targets were reverted, `before`
    /// what their keys held. Returns the follow-up change (v1), if any.
    pub fn settle(
        &self,
        effect: &Effect,
        refused: &dyn Fn(&Target) -> bool,
        before: &ValuesBefore,
    ) -> Option<Vec<u8>> {
        // Most updates are typing that spreads no mark: nothing to do, and
        // no transaction opened.
        let candidate = effect.footprints.keys().any(|t| match t {
            Target::ParagraphText(pid) | Target::ParagraphMarks(pid) | Target::Paragraph(pid) => {
                effect.paragraphs.get(pid).is_some_and(may_spread)
            }
            Target::ParagraphField(..) | Target::Meta(_) | Target::Proposal(_) => true,
            _ => false,
        });
        if !candidate && before.values.is_empty() {
            return None;
        }
        let doc = self.doc().clone();
        let mut txn = doc.transact_mut_with(ORIGIN);
        for (slot, key, value) in &before.values {
            let map = match slot {
                Slot::Nested(hook) => hook.get(&txn),
                Slot::Meta => Some(self.meta_map()),
                Slot::Policy => None,
            };
            if let Some(m) = map {
                restore(&mut txn, &m, key, value);
            }
        }
        for (target, fp) in &effect.footprints {
            if refused(target) {
                continue;
            }
            match target {
                Target::ParagraphText(pid)
                | Target::ParagraphMarks(pid)
                | Target::Paragraph(pid)
                    if !fp.inserted.is_empty()
                        && effect.paragraphs.get(pid).is_some_and(may_spread) =>
                {
                    if let Some(text) = self
                        .paragraph_map_in(&txn, pid)
                        .and_then(|m| text_of(&txn, &m, "text"))
                    {
                        unspread(&mut txn, &text);
                    }
                }
                Target::ParagraphField(pid, key) => {
                    if let (Some(m), Some(fc)) = (
                        self.paragraph_map_in(&txn, pid),
                        effect.paragraphs.get(pid).and_then(|p| p.fields.get(key)),
                    ) {
                        reassert(&mut txn, &m, key, fc);
                    }
                }
                Target::Meta(key) => {
                    if let Some(fc) = effect.meta.get(key) {
                        let meta = self.meta_map();
                        reassert(&mut txn, &meta, key, fc);
                    }
                }
                Target::Proposal(qid) => {
                    if let (Some(m), Some(qe)) =
                        (self.proposal_map_in(&txn, qid), effect.proposals.get(qid))
                    {
                        for (key, fc) in &qe.fields {
                            reassert(&mut txn, &m, key, fc);
                        }
                    }
                }
                _ => {}
            }
        }
        finish(txn)
    }
}

impl crate::CommentsDoc {
    /// Reads, before an update is integrated, the plain values of the keys
    /// it writes in its refused targets.
    pub fn values_before(
        &self,
        effect: &CommentsEffect,
        refused: &dyn Fn(&CommentTarget) -> bool,
    ) -> ValuesBefore {
        let doc = self.doc().clone();
        let policy = doc.get_or_insert_map(crate::comments::POLICY);
        let comments = doc.get_or_insert_map(crate::comments::COMMENTS);
        let txn = doc.transact();
        let mut out = ValuesBefore::default();
        for target in effect.footprints.keys().filter(|t| refused(t)) {
            match target {
                CommentTarget::Policy(key) => {
                    if let Some(v) = current(&txn, &policy, key) {
                        out.values.push((Slot::Policy, key.clone(), v));
                    }
                }
                CommentTarget::Comment(cid) => {
                    let (Some(Out::YMap(m)), Some(ce)) =
                        (comments.get(&txn, cid), effect.comments.get(cid))
                    else {
                        continue;
                    };
                    for key in ce.fields.keys() {
                        if let Some(v) = current(&txn, &m, key) {
                            out.values.push((Slot::Nested(m.hook()), key.clone(), v));
                        }
                    }
                }
                CommentTarget::Unknown => {}
            }
        }
        out
    }

    /// The server's follow-up to an integrated update: allowed writes to a
    /// comment's fields and to the scope's policy win over concurrent
    /// writes the server reverted, and refused ones leave the value as it
    /// was.
    pub fn settle(
        &self,
        effect: &CommentsEffect,
        refused: &dyn Fn(&CommentTarget) -> bool,
        before: &ValuesBefore,
    ) -> Option<Vec<u8>> {
        let candidate = effect.footprints.keys().any(|t| match t {
            CommentTarget::Policy(_) => true,
            CommentTarget::Comment(cid) => effect
                .comments
                .get(cid)
                .is_some_and(|c| !c.fields.is_empty()),
            CommentTarget::Unknown => false,
        });
        if !candidate && before.values.is_empty() {
            return None;
        }
        let doc = self.doc().clone();
        let policy = doc.get_or_insert_map(crate::comments::POLICY);
        let comments = doc.get_or_insert_map(crate::comments::COMMENTS);
        let mut txn = doc.transact_mut_with(ORIGIN);
        for (slot, key, value) in &before.values {
            let map = match slot {
                Slot::Policy => Some(policy.clone()),
                Slot::Nested(hook) => hook.get(&txn),
                Slot::Meta => None,
            };
            if let Some(m) = map {
                restore(&mut txn, &m, key, value);
            }
        }
        for target in effect.footprints.keys() {
            if refused(target) {
                continue;
            }
            match target {
                CommentTarget::Policy(key) => {
                    if let Some(fc) = effect.policy.get(key) {
                        reassert(&mut txn, &policy, key, fc);
                    }
                }
                CommentTarget::Comment(cid) => {
                    let Some(ce) = effect.comments.get(cid) else {
                        continue;
                    };
                    if let Some(Out::YMap(m)) = comments.get(&txn, cid) {
                        for (key, fc) in &ce.fields {
                            reassert(&mut txn, &m, key, fc);
                        }
                    }
                }
                CommentTarget::Unknown => {}
            }
        }
        finish(txn)
    }
}
