//! Deciding a proposal: the chair's accept or reject, applied by whoever
//! holds the document of record (the server's room) in one transaction of
//! its own.
//!
//! Accepting a `replace` merges the proposal's change (`baseText → text`)
//! into the paragraph as it is now, word by word ([`crate::merge`]), and
//! writes only the proposal's changes into the paragraph's `Y.Text`:
//! deletions and insertions at the changed word ranges, so text typed
//! meanwhile, formatting and the attribution of every untouched word
//! survive. When the words it changes were changed since, it is *stale*
//! ([`DecideError::Stale`]): the decider must show the chair the three
//! texts and come back with the [`seen_token`] of what the chair saw
//! (accept anyway: the proposal's change wins its conflicts; or the
//! chair's own text). A token of an older current text is stale again.
//!
//! A `replace` that names a `footnoteId` instead of a `paragraphId`
//! amends that footnote: the same merge, onto the footnote's `Y.Text`,
//! stale the same way.
//!
//! Cost: a `replace` or a rejection reads one paragraph (or footnote) and one proposal
//! (found by id in O(1)); `insert`, `delete` and `move` also find the
//! paragraph's index in the list. Never the whole document's text.

use yrs::{Any, Array, Map, MapPrelim, MapRef, ReadTxn, Text, TextRef, TransactionMut};

use crate::document::{Position, ResolutionDoc, move_in};
use crate::merge::{self, Conflict, Edit};
use crate::model::{
    Paragraph, ParagraphKind, Proposal, ProposalAction, ProposalStatus, Run, Status,
};
use crate::schema::{
    enum_name, read_proposal, read_runs, run_attrs, str_of, text_of, write_paragraph,
};

/// What the chair decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Reject,
    /// Accept. `seen`: the [`seen_token`] of the stale texts the chair was
    /// shown (accept anyway); `text`: the chair's own text for the
    /// paragraph (`replace`) or the new paragraph (`insert`). A `replace`
    /// with `text` needs `seen` too: the chair edits what the chair saw.
    Accept {
        seen: Option<String>,
        text: Option<String>,
    },
}

/// A decision taken: the update to log and broadcast, the paragraphs it
/// touched, and the proposal as decided.
#[derive(Debug, Clone)]
pub struct Decided {
    pub update: Vec<u8>,
    pub paragraphs: Vec<String>,
    pub proposal: Proposal,
}

/// The texts a stale proposal is shown with.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Stale {
    pub proposal: String,
    /// What the proposal was made against (absent for a proposal older
    /// than `baseText`).
    pub base: Option<String>,
    pub current: String,
    pub proposed: String,
    pub conflicts: Vec<Conflict>,
    /// Pass it back to decide anyway.
    pub seen: String,
}

/// Why a decision was not taken. Nothing was changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecideError {
    #[error("no proposal with id `{0}`")]
    UnknownProposal(String),
    #[error(
        "proposal `{id}` is {status}, not pending: decided proposals stay as they were decided"
    )]
    NotPending { id: String, status: String },
    #[error("proposal `{}` is stale: the words it changes were changed since it was made", .0.proposal)]
    Stale(Box<Stale>),
    #[error("proposal `{id}` names paragraph `{paragraph}`, which is no longer in the document")]
    ParagraphGone { id: String, paragraph: String },
    #[error("proposal `{id}` names footnote `{footnote}`, which is no longer in the document")]
    FootnoteGone { id: String, footnote: String },
    #[error("proposal `{id}` cannot be applied: {why}")]
    Incomplete { id: String, why: String },
    #[error("a {action} proposal takes no edited text")]
    NotEditable { action: String },
    #[error("the accepted text would leave the paragraph empty")]
    Empty,
}

/// The token standing for "the chair saw this proposal against this
/// current text": stable across processes and builds (FNV-1a, 64 bits, of
/// the proposal's id, base and text and the current text).
pub fn seen_token(p: &Proposal, current: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |s: &str| {
        for b in s.bytes().chain([0xff]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    };
    eat(&p.id);
    eat(p.base_text.as_deref().unwrap_or("\u{0}none"));
    eat(&p.text);
    eat(current);
    format!("{h:016x}")
}

/// The plain text of a paragraph's runs.
fn plain(runs: &[Run]) -> String {
    runs.iter().map(|r| r.text.as_str()).collect()
}

impl ResolutionDoc {
    /// Decides pending proposal `id` as `decided_by` at `at_ms` (the
    /// caller's clock): one transaction that applies an acceptance and
    /// sets `status`, `decidedBy` and `decidedAt`.
    pub fn decide(
        &mut self,
        id: &str,
        decision: &Decision,
        decided_by: &str,
        at_ms: i64,
    ) -> Result<Decided, DecideError> {
        let mut failure = None;
        let result =
            self.edit(
                |txn, _| match self.decide_in(txn, id, decision, decided_by, at_ms) {
                    Ok(ok) => Ok(ok),
                    Err(e) => {
                        failure = Some(e);
                        Err(crate::EditError::NoProposal(id.to_owned()))
                    }
                },
            );
        match (result, failure) {
            (Ok(((paragraphs, proposal), update)), _) => Ok(Decided {
                update,
                paragraphs,
                proposal,
            }),
            (Err(_), Some(e)) => Err(e),
            (Err(e), None) => Err(DecideError::Incomplete {
                id: id.to_owned(),
                why: e.to_string(),
            }),
        }
    }

    /// Everything is checked before the first write: yrs has no rollback.
    fn decide_in(
        &self,
        txn: &mut TransactionMut,
        id: &str,
        decision: &Decision,
        decided_by: &str,
        at_ms: i64,
    ) -> Result<(Vec<String>, Proposal), DecideError> {
        let m = self
            .proposal_map_in(txn, id)
            .ok_or_else(|| DecideError::UnknownProposal(id.to_owned()))?;
        let p = read_proposal(txn, &m).ok_or_else(|| DecideError::Incomplete {
            id: id.to_owned(),
            why: "its fields cannot be read".into(),
        })?;
        if p.status != ProposalStatus::Pending {
            return Err(DecideError::NotPending {
                id: id.to_owned(),
                status: enum_name(&p.status),
            });
        }
        let mut touched = Vec::new();
        let status = match decision {
            Decision::Reject => ProposalStatus::Rejected,
            Decision::Accept { seen, text } => {
                let step = self.prepare(txn, &p, seen.as_deref(), text.as_deref())?;
                touched = self.apply_step(txn, &p, step)?;
                ProposalStatus::Accepted
            }
        };
        m.insert(txn, "status", enum_name(&status));
        m.insert(txn, "decidedBy", decided_by);
        m.insert(txn, "decidedAt", Any::from(at_ms));
        // A document that keeps deleted content for reverts (the server's)
        // collects what its own decision deleted in the same step.
        let deleted = txn.delete_set().clone();
        if !deleted.is_empty() {
            txn.gc(Some(&deleted));
        }
        if let Some(pid) = p.paragraph_id.clone().filter(|p| !touched.contains(p)) {
            touched.push(pid);
        }
        let decided = Proposal {
            status,
            decided_by: Some(decided_by.to_owned()),
            decided_at: Some(at_ms),
            ..p
        };
        Ok((touched, decided))
    }

    /// The text a `replace` changes: its footnote's, or its paragraph's
    /// (then with the paragraph's id, which the decision touches).
    fn replaced_text<T: ReadTxn>(
        &self,
        txn: &T,
        p: &Proposal,
    ) -> Result<(Option<String>, TextRef), DecideError> {
        let Some(fid) = p.footnote_id.as_deref() else {
            return self.target_text(txn, p).map(|(pid, t)| (Some(pid), t));
        };
        if p.paragraph_id.is_some() {
            return Err(DecideError::Incomplete {
                id: p.id.clone(),
                why: "it names both a paragraph and a footnote".into(),
            });
        }
        let t = self
            .footnote_text_in(txn, fid)
            .ok_or_else(|| DecideError::FootnoteGone {
                id: p.id.clone(),
                footnote: fid.to_owned(),
            })?;
        Ok((None, t))
    }

    fn target_text<T: ReadTxn>(
        &self,
        txn: &T,
        p: &Proposal,
    ) -> Result<(String, TextRef), DecideError> {
        if p.footnote_id.is_some() {
            return Err(DecideError::Incomplete {
                id: p.id.clone(),
                why: "only a replace proposal may name a footnote (footnoteId)".into(),
            });
        }
        let pid = p
            .paragraph_id
            .as_deref()
            .ok_or_else(|| DecideError::Incomplete {
                id: p.id.clone(),
                why: "it names no paragraph (paragraphId)".into(),
            })?;
        let gone = || DecideError::ParagraphGone {
            id: p.id.clone(),
            paragraph: pid.to_owned(),
        };
        let m = self.paragraph_map_in(txn, pid).ok_or_else(gone)?;
        let t = text_of(txn, &m, "text").ok_or_else(gone)?;
        Ok((pid.to_owned(), t))
    }

    fn exists<T: ReadTxn>(&self, txn: &T, p: &Proposal, pid: &str) -> Result<(), DecideError> {
        self.paragraph_map_in(txn, pid)
            .map(|_| ())
            .ok_or_else(|| DecideError::ParagraphGone {
                id: p.id.clone(),
                paragraph: pid.to_owned(),
            })
    }

    /// What accepting will write, worked out without writing.
    fn prepare<T: ReadTxn>(
        &self,
        txn: &T,
        p: &Proposal,
        seen: Option<&str>,
        text: Option<&str>,
    ) -> Result<Step, DecideError> {
        let stale = |current: String, conflicts: Vec<Conflict>| {
            DecideError::Stale(Box::new(Stale {
                proposal: p.id.clone(),
                base: p.base_text.clone(),
                seen: seen_token(p, &current),
                current,
                proposed: p.text.clone(),
                conflicts,
            }))
        };
        match p.action {
            ProposalAction::Replace => {
                let (pid, t) = self.replaced_text(txn, p)?;
                let runs = read_runs(txn, &t);
                let current = plain(&runs);
                let whole = |current: &str| {
                    vec![Conflict {
                        base: 0..p.base_text.as_ref().map_or(0, String::len),
                        current: 0..current.len(),
                        proposed: 0..p.text.len(),
                    }]
                };
                let plan = match (seen, text) {
                    (Some(s), _) if s != seen_token(p, &current) => {
                        let conflicts = match &p.base_text {
                            Some(b) => merge::merge(b, &current, &p.text).err().unwrap_or_default(),
                            None => whole(&current),
                        };
                        return Err(stale(current, conflicts));
                    }
                    (Some(_), Some(edited)) => merge::rewrite(&current, edited),
                    (None, Some(_)) => {
                        let conflicts = whole(&current);
                        return Err(stale(current, conflicts));
                    }
                    (seen, None) => match &p.base_text {
                        Some(base) => match merge::plan(base, &current, &p.text, seen.is_some()) {
                            Ok(plan) => plan,
                            Err(conflicts) => return Err(stale(current, conflicts)),
                        },
                        // Made before proposals carried their base: the server cannot tell
                        // what it changes, so the chair must see it (then it replaces the text).
                        None if current == p.text => merge::rewrite(&current, &p.text),
                        None if seen.is_some() => merge::rewrite(&current, &p.text),
                        None => {
                            let conflicts = whole(&current);
                            return Err(stale(current, conflicts));
                        }
                    },
                };
                if plan.text.trim().is_empty() {
                    return Err(DecideError::Empty);
                }
                Ok(Step::Replace {
                    pid,
                    text: t,
                    runs,
                    edits: plan.edits,
                })
            }
            ProposalAction::Insert => {
                if let Some(a) = &p.after {
                    self.exists(txn, p, a)?;
                }
                let text = text.unwrap_or(&p.text);
                if text.trim().is_empty() {
                    return Err(DecideError::Empty);
                }
                Ok(Step::Insert(text.to_owned()))
            }
            ProposalAction::Delete => {
                if text.is_some() {
                    return Err(DecideError::NotEditable {
                        action: "delete".into(),
                    });
                }
                let (pid, t) = self.target_text(txn, p)?;
                let current = plain(&read_runs(txn, &t));
                let changed = p.base_text.as_ref().is_some_and(|b| *b != current);
                let confirmed = seen.is_some_and(|s| s == seen_token(p, &current));
                if !confirmed && (changed || seen.is_some()) {
                    let conflicts = vec![Conflict {
                        base: 0..p.base_text.as_ref().map_or(0, String::len),
                        current: 0..current.len(),
                        proposed: 0..0,
                    }];
                    return Err(stale(current, conflicts));
                }
                Ok(Step::Delete(pid))
            }
            ProposalAction::Move => {
                if text.is_some() {
                    return Err(DecideError::NotEditable {
                        action: "move".into(),
                    });
                }
                let (pid, _) = self.target_text(txn, p)?;
                if let Some(a) = &p.after {
                    self.exists(txn, p, a)?;
                }
                Ok(Step::Move(pid))
            }
        }
    }

    fn apply_step(
        &self,
        txn: &mut TransactionMut,
        p: &Proposal,
        step: Step,
    ) -> Result<Vec<String>, DecideError> {
        let gone = |pid: &str| DecideError::ParagraphGone {
            id: p.id.clone(),
            paragraph: pid.to_owned(),
        };
        match step {
            Step::Replace {
                pid,
                text,
                runs,
                edits,
            } => {
                apply_edits(txn, &text, &runs, &edits);
                Ok(pid.into_iter().collect())
            }
            Step::Insert(body) => {
                let (index, kind, level) = match &p.after {
                    Some(a) => {
                        let (i, m) = self.find_paragraph(txn, a).ok_or_else(|| gone(a))?;
                        (i + 1, kind_of(txn, &m), level_of(txn, &m))
                    }
                    None => (0, ParagraphKind::Preambular, 0),
                };
                let kind = p.kind.unwrap_or(kind);
                let level = p.level.unwrap_or(level).min(2);
                let nid = self.new_id(txn, "p");
                let map = self
                    .roots()
                    .paragraphs
                    .insert(txn, index, MapPrelim::default());
                write_paragraph(
                    txn,
                    &map,
                    &Paragraph {
                        id: nid.clone(),
                        kind,
                        level,
                        status: Status::Open,
                        text: opening_runs(&body, kind),
                        number: String::new(),
                        label: String::new(),
                    },
                );
                let mut touched = vec![nid];
                touched.extend(p.after.clone());
                Ok(touched)
            }
            Step::Delete(pid) => {
                let (i, _) = self.find_paragraph(txn, &pid).ok_or_else(|| gone(&pid))?;
                self.roots().paragraphs.remove(txn, i);
                Ok(vec![pid])
            }
            Step::Move(pid) => {
                let to = match &p.after {
                    Some(a) => Position::After(a.clone()),
                    None => Position::Start,
                };
                move_in(self, txn, self.roots(), &pid, &to).map_err(|_| gone(&pid))?;
                Ok(vec![pid])
            }
        }
    }
}

enum Step {
    Replace {
        /// The paragraph changed; `None` for a footnote.
        pid: Option<String>,
        text: TextRef,
        runs: Vec<Run>,
        edits: Vec<Edit>,
    },
    Insert(String),
    Delete(String),
    Move(String),
}

fn kind_of<T: ReadTxn>(txn: &T, m: &MapRef) -> ParagraphKind {
    str_of(txn, m, "kind")
        .and_then(|s| crate::schema::parse_enum(&s))
        .unwrap_or(ParagraphKind::Operative)
}

fn level_of<T: ReadTxn>(txn: &T, m: &MapRef) -> u8 {
    crate::schema::num_of(txn, m, "level").map_or(0, |n| n.clamp(0.0, 2.0) as u8)
}

/// A new paragraph's runs: `*…*` marks italics explicitly; otherwise the
/// opening words are found as the importer finds them (a participle for a
/// preambular paragraph, a verb for an operative one) and set in italics.
fn opening_runs(text: &str, kind: ParagraphKind) -> Vec<Run> {
    if text.contains('*') {
        return crate::document::proposal_runs(text, &[]);
    }
    let n = match kind {
        ParagraphKind::Preambular => crate::import::preambular_opening(text),
        ParagraphKind::Operative => crate::import::operative_opening(text),
    };
    let n = if text.is_char_boundary(n) { n } else { 0 };
    let mut runs = Vec::new();
    if n > 0 {
        runs.push(Run {
            text: text[..n].to_owned(),
            italic: true,
            footnote: None,
        });
    }
    if n < text.len() {
        runs.push(Run::plain(&text[n..]));
    }
    runs
}

/// Writes `edits` (offsets into the text as it is, ascending) into `text`,
/// last first so earlier offsets stay valid. Inserted words take italics
/// where they replace italic words (or sit inside an italic run), never a
/// footnote mark.
fn apply_edits(txn: &mut TransactionMut, text: &TextRef, runs: &[Run], edits: &[Edit]) {
    let mut italic: Vec<bool> = Vec::new();
    for r in runs {
        italic.extend(std::iter::repeat_n(r.italic, r.text.encode_utf16().count()));
    }
    let len = italic.len() as u32;
    for e in edits.iter().rev() {
        let index = e.index.min(len);
        let delete = e.delete.min(len - index);
        let i = index as usize;
        let is_italic = if delete > 0 {
            italic[i]
        } else {
            i > 0 && italic[i - 1] && italic.get(i).copied().unwrap_or(false)
        };
        if delete > 0 {
            text.remove_range(txn, index, delete);
        }
        if !e.insert.is_empty() {
            let run = Run {
                text: String::new(),
                italic: is_italic,
                footnote: None,
            };
            text.insert_with_attributes(txn, index, &e.insert, run_attrs(&run));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Resolution, Run};

    fn doc() -> ResolutionDoc {
        let r = Resolution {
            paragraphs: vec![Paragraph {
                id: "op1".into(),
                kind: ParagraphKind::Operative,
                level: 0,
                status: Status::Open,
                text: vec![
                    Run {
                        text: "Invites".into(),
                        italic: true,
                        footnote: None,
                    },
                    Run::plain(" Member States to consider the report at its next session;"),
                ],
                number: String::new(),
                label: String::new(),
            }],
            ..Resolution::default()
        };
        ResolutionDoc::from_resolution_with_client_id(7, &r).expect("doc")
    }

    fn propose(d: &mut ResolutionDoc, action: ProposalAction, text: &str) -> String {
        let base = plain(&d.paragraph("op1").expect("op1").text);
        let p = Proposal {
            id: String::new(),
            paragraph_id: Some("op1".into()),
            footnote_id: None,
            after: (action == ProposalAction::Insert).then(|| "op1".into()),
            action,
            text: text.into(),
            base_text: Some(base),
            base_seq: None,
            kind: None,
            level: None,
            delegation: "JPN".into(),
            on_behalf_of: None,
            supporters: vec![],
            author: "u".into(),
            created_at: 1,
            status: ProposalStatus::Pending,
            decided_by: None,
            decided_at: None,
        };
        d.add_proposal(&p).expect("added").0
    }

    const NOTE: &str = "See the report of the Secretary-General (A/80/100), para. 12.";

    /// `doc()` with footnote `f1` (its marker at the end of OP1).
    fn doc_with_note() -> ResolutionDoc {
        let mut r = doc().resolution();
        r.paragraphs[0].text.push(Run {
            text: "1".into(),
            italic: false,
            footnote: Some("f1".into()),
        });
        r.footnotes = vec![crate::model::Footnote {
            id: "f1".into(),
            marker: 0,
            text: vec![
                Run::plain("See the report of the "),
                Run {
                    text: "Secretary-General".into(),
                    italic: true,
                    footnote: None,
                },
                Run::plain(" (A/80/100), para. 12."),
            ],
        }];
        ResolutionDoc::from_resolution_with_client_id(7, &r).expect("doc")
    }

    fn note_text(d: &ResolutionDoc, fid: &str) -> String {
        plain(&d.footnote_runs(fid).expect("footnote"))
    }

    /// A footnote amendment of `f1` (or `fid`) against its text now.
    fn amend(d: &mut ResolutionDoc, fid: &str, text: &str) -> String {
        let p = Proposal {
            id: String::new(),
            paragraph_id: None,
            footnote_id: Some(fid.into()),
            after: None,
            action: ProposalAction::Replace,
            text: text.into(),
            base_text: d.footnote_runs(fid).map(|r| plain(&r)),
            base_seq: None,
            kind: None,
            level: None,
            delegation: "FRA".into(),
            on_behalf_of: None,
            supporters: vec![],
            author: "u".into(),
            created_at: 1,
            status: ProposalStatus::Pending,
            decided_by: None,
            decided_at: None,
        };
        d.add_proposal(&p).expect("added").0
    }

    const ACCEPT: Decision = Decision::Accept {
        seen: None,
        text: None,
    };

    #[test]
    fn two_replacements_on_different_words_give_both_in_either_order() {
        let texts = [
            "Invites all Member States to consider the report at its next session;",
            "Invites Member States to consider the report at its seventieth session;",
        ];
        let mut results = Vec::new();
        for order in [[0, 1], [1, 0]] {
            let mut d = doc();
            let q: Vec<String> = texts
                .iter()
                .map(|t| propose(&mut d, ProposalAction::Replace, t))
                .collect();
            for i in order {
                d.decide(&q[i], &ACCEPT, "Chair", 42).expect("accepted");
            }
            let op1 = d.paragraph("op1").expect("op1");
            assert_eq!(op1.text[0].text, "Invites");
            assert!(
                op1.text[0].italic,
                "the untouched opening keeps its italics"
            );
            results.push(plain(&op1.text));
        }
        assert_eq!(results[0], results[1]);
        assert_eq!(
            results[0],
            "Invites all Member States to consider the report at its seventieth session;"
        );
    }

    #[test]
    fn typing_since_the_proposal_survives_and_an_overlap_is_stale_until_seen() {
        let mut d = doc();
        let q = propose(
            &mut d,
            ProposalAction::Replace,
            "Invites Member States to consider the report at its seventieth session;",
        );
        // someone types elsewhere, and someone changes the same word
        d.insert_text("op1", 8, "all ", false).expect("typed");
        d.replace_text("op1", 56, 4, "eighty-first").expect("typed");
        let current = plain(&d.paragraph("op1").expect("op1").text);
        assert_eq!(
            current,
            "Invites all Member States to consider the report at its eighty-first session;"
        );
        let Err(DecideError::Stale(stale)) = d.decide(&q, &ACCEPT, "Chair", 1) else {
            panic!("stale expected");
        };
        assert_eq!(stale.current, current);
        assert_eq!(&current[stale.conflicts[0].current.clone()], "eighty-first");
        // a token for an older text is stale again
        let old = Decision::Accept {
            seen: Some(seen_token(&d.proposal(&q).expect("q"), "something else")),
            text: None,
        };
        assert!(matches!(
            d.decide(&q, &old, "Chair", 1),
            Err(DecideError::Stale(_))
        ));
        assert_eq!(d.proposal(&q).expect("q").status, ProposalStatus::Pending);
        let anyway = Decision::Accept {
            seen: Some(stale.seen.clone()),
            text: None,
        };
        let decided = d.decide(&q, &anyway, "Chair", 99).expect("accepted anyway");
        assert_eq!(decided.paragraphs, ["op1"]);
        assert_eq!(
            plain(&d.paragraph("op1").expect("op1").text),
            "Invites all Member States to consider the report at its seventieth session;"
        );
        let p = d.proposal(&q).expect("q");
        assert_eq!(p.status, ProposalStatus::Accepted);
        assert_eq!(p.decided_by.as_deref(), Some("Chair"));
        assert_eq!(p.decided_at, Some(99));
        assert!(matches!(
            d.decide(&q, &Decision::Reject, "Chair", 100),
            Err(DecideError::NotPending { .. })
        ));
    }

    #[test]
    fn the_chairs_own_text_needs_the_token_and_lands_as_minimal_edits() {
        let mut d = doc();
        let q = propose(
            &mut d,
            ProposalAction::Replace,
            "Invites Member States to consider the report at its next meeting;",
        );
        let edited = |seen| Decision::Accept {
            seen,
            text: Some("Invites Member States to study the report at its next meeting;".into()),
        };
        let Err(DecideError::Stale(stale)) = d.decide(&q, &edited(None), "Chair", 1) else {
            panic!("an edit without having seen the text is refused");
        };
        d.decide(&q, &edited(Some(stale.seen)), "Chair", 2)
            .expect("edited");
        let op1 = d.paragraph("op1").expect("op1");
        assert!(op1.text[0].italic);
        assert_eq!(
            plain(&op1.text),
            "Invites Member States to study the report at its next meeting;"
        );
    }

    #[test]
    fn an_inserted_paragraph_gets_its_italic_opening_and_a_rejection_is_recorded() {
        let mut d = doc();
        let q = propose(
            &mut d,
            ProposalAction::Insert,
            "Requests the Secretariat to report;",
        );
        let decided = d.decide(&q, &ACCEPT, "Chair", 5).expect("inserted");
        let r = d.resolution();
        assert_eq!(r.paragraphs.len(), 2);
        assert_eq!(r.paragraphs[1].kind, ParagraphKind::Operative);
        assert_eq!(r.paragraphs[1].text[0].text, "Requests");
        assert!(r.paragraphs[1].text[0].italic);
        assert!(decided.paragraphs.contains(&r.paragraphs[1].id));
        let q2 = propose(&mut d, ProposalAction::Delete, "");
        d.decide(&q2, &Decision::Reject, "Chair", 6)
            .expect("rejected");
        let p = d.proposal(&q2).expect("q2");
        assert_eq!(p.status, ProposalStatus::Rejected);
        assert_eq!(p.decided_at, Some(6));
        assert!(d.paragraph("op1").is_some());
        assert!(matches!(
            d.decide("nope", &ACCEPT, "Chair", 1),
            Err(DecideError::UnknownProposal(_))
        ));
    }

    #[test]
    fn footnote_amendments_on_different_words_merge_in_either_order() {
        let texts = [
            "See the report of the Secretary-General (A/80/200), para. 12.",
            "See the report of the Secretary-General (A/80/100), paras. 12-14.",
        ];
        let mut results = Vec::new();
        for order in [[0, 1], [1, 0]] {
            let mut d = doc_with_note();
            let op1 = d.paragraph("op1").expect("op1");
            let q: Vec<String> = texts.iter().map(|t| amend(&mut d, "f1", t)).collect();
            assert_eq!(
                d.proposal(&q[0]).expect("q0").footnote_id.as_deref(),
                Some("f1"),
                "footnoteId is written and read back"
            );
            for i in order {
                let decided = d.decide(&q[i], &ACCEPT, "Chair", 42).expect("accepted");
                assert!(decided.paragraphs.is_empty(), "no paragraph is touched");
                assert_eq!(decided.proposal.status, ProposalStatus::Accepted);
            }
            assert_eq!(d.paragraph("op1").expect("op1"), op1, "OP1 is untouched");
            let runs = d.footnote_runs("f1").expect("f1");
            assert!(
                runs.iter()
                    .any(|r| r.italic && r.text == "Secretary-General"),
                "untouched words keep their italics: {runs:?}"
            );
            results.push(note_text(&d, "f1"));
        }
        assert_eq!(results[0], results[1]);
        assert_eq!(
            results[0],
            "See the report of the Secretary-General (A/80/200), paras. 12-14."
        );
    }

    #[test]
    fn a_footnote_amendment_over_changed_words_is_stale_until_seen() {
        let mut d = doc_with_note();
        let q = amend(
            &mut d,
            "f1",
            "See the report of the Secretary-General (A/80/200), para. 12.",
        );
        // someone rewrites the same symbol in the footnote meanwhile
        let changed = NOTE.replace("A/80/100", "A/80/150");
        d.set_footnote_text("f1", &[Run::plain(&changed)])
            .expect("edited");
        let Err(DecideError::Stale(stale)) = d.decide(&q, &ACCEPT, "Chair", 1) else {
            panic!("stale expected");
        };
        assert_eq!(stale.base.as_deref(), Some(NOTE));
        assert_eq!(stale.current, changed);
        assert_eq!(&changed[stale.conflicts[0].current.clone()], "150");
        assert_eq!(d.proposal(&q).expect("q").status, ProposalStatus::Pending);
        // a token for an older text is stale again; the current one accepts anyway
        let old = Decision::Accept {
            seen: Some(seen_token(&d.proposal(&q).expect("q"), NOTE)),
            text: None,
        };
        assert!(matches!(
            d.decide(&q, &old, "Chair", 2),
            Err(DecideError::Stale(_))
        ));
        let anyway = Decision::Accept {
            seen: Some(stale.seen.clone()),
            text: None,
        };
        d.decide(&q, &anyway, "Chair", 3).expect("accepted anyway");
        assert_eq!(
            note_text(&d, "f1"),
            "See the report of the Secretary-General (A/80/200), para. 12."
        );
        // the tools' accept (always "anyway") takes the footnote's text for its token
        let q2 = amend(&mut d, "f1", "See A/80/200.");
        d.decide_proposal(&q2, true, "Chair").expect("tool accept");
        assert_eq!(note_text(&d, "f1"), "See A/80/200.");
    }

    #[test]
    fn a_footnote_amendment_of_a_missing_footnote_or_emptying_one_is_refused() {
        let mut d = doc_with_note();
        let gone = amend(&mut d, "f-none", "Something.");
        assert!(matches!(
            d.decide(&gone, &ACCEPT, "Chair", 1),
            Err(DecideError::FootnoteGone { .. })
        ));
        let q = amend(&mut d, "f1", "Other.");
        let chair = |seen| Decision::Accept {
            seen,
            text: Some("  ".into()),
        };
        let Err(DecideError::Stale(s)) = d.decide(&q, &chair(None), "Chair", 1) else {
            panic!("the chair's own text needs the token");
        };
        assert!(matches!(
            d.decide(&q, &chair(Some(s.seen)), "Chair", 1),
            Err(DecideError::Empty)
        ));
        assert_eq!(note_text(&d, "f1"), NOTE);
        // only a replace names a footnote
        let mut p = d.proposal(&q).expect("q");
        p.action = ProposalAction::Delete;
        let del = d.add_proposal(&p).expect("added").0;
        assert!(matches!(
            d.decide(&del, &ACCEPT, "Chair", 1),
            Err(DecideError::Incomplete { .. })
        ));
    }
}
