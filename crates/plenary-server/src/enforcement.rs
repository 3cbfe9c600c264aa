//! The judgement of every incoming update: what it would change, part by
//! part (`plenary-doc`'s update effect, computed without applying it), and
//! whether this principal may do each part (`plenary-auth`'s policy).
//!
//! An update is judged target by target (a paragraph's text, one field of a
//! paragraph, a paragraph's place in the list, a meta key, a footnote, a
//! proposal, a sponsor entry). Each refused target carries the ids the
//! update inserted and deleted there (its footprint); the room integrates
//! the whole update and reverts exactly those ids (see
//! `plenary_doc::Integration`), so the sender converges and keeps working.
//!
//! Architecture invariants:
//! - Every part of an update is judged; anything the effect cannot place in
//!   the schema is refused (`schema.unknown`). An update that names ids the
//!   document lacks (a clock gap, a missing dependency) is refused whole and
//!   never integrated, so nothing can sit pending and land later unchecked.
//! - Fields that say who did something (a proposal's `delegation`,
//!   `author`, `onBehalfOf`, `supporters`, `decidedBy`; a comment's
//!   `author`, `authorName`, `delegation`, `resolvedBy`; a sponsor's
//!   `delegation`, `signedBy`) must be the token's.
//! - A map write that replaces an existing entry is judged as an edit of the
//!   entry it replaces, by that entry's owner's rules; ids are unique.
//! - Judging costs O(size of the update): lookups by id are O(1); a
//!   paragraph's label (OP4) is computed only for a refusal message.

use std::collections::BTreeSet;

use plenary_auth::{
    Action, CommentScope, Decision, DocContext, DocMode, ParagraphStatus, Principal, authorize,
};
use plenary_doc::{
    CommentTarget, CommentsDoc, CommentsEffect, Effect, Footprint, META_KEYS, Mode, ProposalAction,
    ProposalStatus, REVISION, ResolutionDoc, SponsorChange, Status, Target, TextKind,
};
use serde_json::Value;

use crate::config::Limits;
use crate::document::LiveDoc;
use crate::session::Session;

/// What the room does with one update.
pub(crate) enum Verdict {
    /// Integrate it; revert the refused parts.
    Judged(Box<Judgement>),
    /// Refuse it whole without integrating it (it depends on changes the
    /// document lacks): the reason, for the sender.
    Unintegrable(String),
    /// The bytes are not a Yjs update.
    Malformed(String),
}

#[derive(Default)]
pub(crate) struct Judgement {
    /// The paragraphs the allowed part touches (recorded in the log).
    pub touched: Vec<String>,
    /// Each refused part: the permission-denied message naming the target
    /// and the rule, and the ids to revert.
    pub refused: Vec<(String, Footprint)>,
    /// What the server writes after integrating (see `plenary_doc`'s
    /// `settle`): the effect, and which of its targets were refused.
    pub followup: Followup,
    /// An allowed part deletes something (the room's size estimate may
    /// then be high: see `Room::document_full`).
    pub deletes: bool,
}

#[derive(Default)]
pub(crate) enum Followup {
    #[default]
    Nothing,
    Resolution(Effect, BTreeSet<Target>),
    Comments(CommentsEffect, BTreeSet<CommentTarget>),
}

impl Judgement {
    /// The ids of every refused part.
    pub(crate) fn refused_ids(&self) -> Footprint {
        let mut all = Footprint::default();
        for (_, fp) in &self.refused {
            all.merge(fp);
        }
        all
    }
}

/// How many refusal messages one update may send (the rest are counted in
/// the last one).
const MAX_MESSAGES: usize = 8;

/// The size caps an update is judged against (SPEC §3; `Limits`), and
/// whether the document is full.
#[derive(Debug, Clone)]
pub(crate) struct Caps {
    pub paragraph_chars: usize,
    pub footnote_chars: usize,
    pub paragraphs: usize,
    pub proposals: usize,
    /// Set by the room when this update would take the document past
    /// `max_document_bytes`: why. Every part that grows is then refused;
    /// deletions, and edits that add no more than they delete, still land.
    pub document_full: Option<String>,
}

impl Caps {
    pub(crate) fn new(limits: &Limits) -> Self {
        Caps {
            paragraph_chars: limits.max_paragraph_chars,
            footnote_chars: limits.max_footnote_chars,
            paragraphs: limits.max_paragraphs,
            proposals: limits.max_proposals,
            document_full: None,
        }
    }
}

/// Judges one update from `session` against the room's document, with the
/// default caps (the property tests and fuzzing).
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) fn judge(doc: &LiveDoc, session: &Session, update: &[u8]) -> Verdict {
    judge_within(doc, session, update, &Caps::new(&Limits::default()))
}

/// Judges one update from `session` against the room's document: the
/// policy, the schema's rules, and the size caps.
pub(crate) fn judge_within(
    doc: &LiveDoc,
    session: &Session,
    update: &[u8],
    caps: &Caps,
) -> Verdict {
    let p = &session.principal;
    match doc {
        LiveDoc::Resolution(d) => match d.effect(update) {
            Ok(e) if e.unplaceable > 0 => Verdict::Unintegrable(unintegrable(&e.unknown)),
            Ok(e) => {
                let (mut j, refused) = judge_resolution(d, p, &e, caps);
                j.followup = Followup::Resolution(e, refused);
                Verdict::Judged(Box::new(j))
            }
            Err(e) => Verdict::Malformed(e.to_string()),
        },
        LiveDoc::Comments { doc, scope } => match doc.effect(update) {
            Ok(e) if e.unplaceable > 0 => Verdict::Unintegrable(unintegrable(&e.unknown)),
            Ok(e) => {
                let (mut j, refused) = judge_comments(doc, scope, p, &e, caps);
                j.followup = Followup::Comments(e, refused);
                Verdict::Judged(Box::new(j))
            }
            Err(e) => Verdict::Malformed(e.to_string()),
        },
    }
}

/// The refusal of an update with a clock gap (client, expected, found).
pub(crate) fn gap_reason(gap: &(u64, u32, u32)) -> String {
    unintegrable(&[format!(
        "client {} continues at clock {} where the server expects {}",
        gap.0, gap.2, gap.1
    )])
}

fn unintegrable(reasons: &[String]) -> String {
    format!(
        "this change depends on changes the server does not have ({}); it was not applied. \
         Resend your whole state (a new sync) [sync.gap]",
        reasons.first().map(String::as_str).unwrap_or("a clock gap")
    )
}

fn auth_status(s: Status) -> ParagraphStatus {
    match s {
        Status::Open => ParagraphStatus::Open,
        Status::Bracketed => ParagraphStatus::Bracketed,
        Status::AdRef => ParagraphStatus::AdRef,
        Status::Agreed => ParagraphStatus::Agreed,
    }
}

fn parse_status(v: &Value) -> Option<ParagraphStatus> {
    v.as_str().and_then(|s| s.parse().ok())
}

/// Denies with a message naming the target and the rule.
fn require(p: &Principal, action: Action, ctx: &DocContext, target: &str) -> Result<(), String> {
    match authorize(p, &action, ctx) {
        Decision::Deny(d) => Err(format!("{target}: {d}")),
        _ => Ok(()),
    }
}

fn refuse(target: &str, rule: &str, why: impl std::fmt::Display) -> Result<(), String> {
    Err(format!("{target}: {why} [{rule}]"))
}

/// Is `v` this principal's own identity (its `sub` or its `name`)?
fn is_self(p: &Principal, v: &Value) -> bool {
    matches!(v.as_str(), Some(s) if s == p.sub || s == p.name)
}

fn is_null(v: Option<&Value>) -> bool {
    matches!(v, None | Some(Value::Null))
}

/// Collects verdicts part by part.
/// Collects verdicts target by target: the refusal messages (bounded), the
/// ids to revert, which targets were refused, and the paragraphs the
/// allowed ones touch.
struct Judge<T> {
    out: Judgement,
    messages: usize,
    refused: BTreeSet<T>,
    touched: BTreeSet<String>,
}

impl<T: Ord + Clone> Judge<T> {
    fn new() -> Self {
        Judge {
            out: Judgement::default(),
            messages: 0,
            refused: BTreeSet::new(),
            touched: BTreeSet::new(),
        }
    }

    fn record(&mut self, target: &T, verdict: Result<(), String>, fp: &Footprint) {
        let Err(reason) = verdict else {
            self.out.deletes |= !fp.deleted.is_empty();
            return;
        };
        self.refused.insert(target.clone());
        self.messages += 1;
        if self.messages > MAX_MESSAGES {
            // Bounded: the footprint still counts, the message does not.
            if let Some((last, _)) = self.out.refused.last_mut()
                && !last.ends_with(" (and more)")
            {
                last.push_str(" (and more)");
            }
            self.out.refused.push((String::new(), fp.clone()));
        } else {
            self.out.refused.push((reason, fp.clone()));
        }
    }

    fn finish(mut self) -> (Judgement, BTreeSet<T>) {
        self.out.touched = self.touched.into_iter().collect();
        (self.out, self.refused)
    }
}

fn judge_resolution(
    doc: &ResolutionDoc,
    p: &Principal,
    effect: &Effect,
    caps: &Caps,
) -> (Judgement, BTreeSet<Target>) {
    let ctx = DocContext {
        mode: match doc.mode() {
            Mode::Open => DocMode::Open,
            Mode::Negotiation => DocMode::Negotiation,
        },
        observers_may_comment: false,
    };
    let name = |id: &str| match doc.paragraph_label(id) {
        Some(label) => format!("{label} ({id})"),
        None => format!("paragraph {id}"),
    };
    let mut j = Judge::new();
    // Sponsor entries are judged together: one verdict for all of them.
    let sponsors = judge_sponsors(doc, p, &ctx, effect);
    // Decisions first: a forbidden decision is reported as such, before the
    // text edit it brings with it.
    let ordered = effect
        .footprints
        .iter()
        .filter(|(t, _)| matches!(t, Target::Proposal(_)))
        .chain(
            effect
                .footprints
                .iter()
                .filter(|(t, _)| !matches!(t, Target::Proposal(_))),
        );
    let mut verdicts: Vec<(&Target, &Footprint, Result<(), String>)> = ordered
        .map(|(target, fp)| {
            let verdict = match target {
                Target::ParagraphText(pid) => judge_text(doc, p, &ctx, effect, pid, false)
                    .map_err(|e| format!("{}{e}", name(pid))),
                Target::ParagraphMarks(pid) => judge_text(doc, p, &ctx, effect, pid, true)
                    .map_err(|e| format!("{}{e}", name(pid))),
                Target::Paragraph(pid) => judge_paragraph(doc, p, &ctx, effect, pid)
                    .map_err(|e| format!("{}{e}", name(pid))),
                Target::ParagraphField(pid, key) => judge_field(doc, p, &ctx, effect, pid, key)
                    .map_err(|e| format!("{}{e}", name(pid))),
                Target::Meta(key) => judge_meta(p, &ctx, effect, key),
                Target::Footnote(fid) => {
                    require(p, Action::EditFootnote, &ctx, &format!("footnote {fid}"))
                }
                Target::Proposal(qid) => judge_proposal(doc, p, &ctx, effect, qid),
                Target::Sponsor(_) => sponsors.clone(),
                Target::Unknown => refuse(
                    "this change",
                    "schema.unknown",
                    format!(
                        "writes outside the resolution's schema ({})",
                        effect.unknown.join("; ")
                    ),
                ),
            };
            (target, fp, verdict)
        })
        .collect();
    size_caps(doc, effect, caps, &mut verdicts, &name);
    forged_decisions(doc, effect, &mut verdicts, &name);
    for (target, fp, verdict) in verdicts {
        if verdict.is_ok() {
            match target {
                Target::ParagraphText(pid)
                | Target::ParagraphMarks(pid)
                | Target::Paragraph(pid)
                | Target::ParagraphField(pid, _) => {
                    j.touched.insert(pid.clone());
                }
                Target::Proposal(qid) => {
                    if let Some(para) = effect
                        .proposals
                        .get(qid)
                        .and_then(|q| q.inserted.as_ref())
                        .and_then(|f| f.get("paragraphId"))
                        .and_then(Value::as_str)
                    {
                        j.touched.insert(para.to_owned());
                    }
                }
                _ => {}
            }
        }
        j.record(target, verdict, fp);
    }
    j.finish()
}

/// A text write dressed as an acceptance: when an update writes a
/// decision into a proposal (refused: [`DECIDED_ON_SERVER`]), its edits of
/// the paragraph (or footnote) that proposal names are refused with it,
/// whoever sends it (the chair's client too): an acceptance's text comes
/// from the server.
fn forged_decisions(
    doc: &ResolutionDoc,
    effect: &Effect,
    verdicts: &mut [(&Target, &Footprint, Result<(), String>)],
    name: &dyn Fn(&str) -> String,
) {
    let named = |qid: &str, key: &str| {
        effect
            .proposals
            .get(qid)
            .and_then(|q| q.inserted.as_ref())
            .and_then(|f| f.get(key))
            .and_then(Value::as_str)
            .map(str::to_owned)
            .or_else(|| {
                doc.proposal(qid).and_then(|x| match key {
                    "footnoteId" => x.footnote_id,
                    _ => x.paragraph_id,
                })
            })
    };
    let forged_qids: Vec<&String> = verdicts
        .iter()
        .filter_map(|(t, _, v)| match (t, v) {
            (Target::Proposal(qid), Err(_))
                if effect.proposals.get(qid).is_some_and(writes_decision) =>
            {
                Some(qid)
            }
            _ => None,
        })
        .collect();
    if forged_qids.is_empty() {
        return;
    }
    let forged: BTreeSet<String> = forged_qids
        .iter()
        .filter_map(|qid| named(qid, "paragraphId"))
        .collect();
    let forged_notes: BTreeSet<String> = forged_qids
        .iter()
        .filter_map(|qid| named(qid, "footnoteId"))
        .collect();
    for (target, _, verdict) in verdicts.iter_mut() {
        let (what, hit) = match target {
            Target::ParagraphText(pid)
            | Target::ParagraphMarks(pid)
            | Target::Paragraph(pid)
            | Target::ParagraphField(pid, _) => (name(pid), forged.contains(pid)),
            Target::Footnote(fid) => (format!("footnote {fid}"), forged_notes.contains(fid)),
            _ => continue,
        };
        if verdict.is_ok() && hit {
            *verdict = refuse(
                &what,
                DECIDED_ON_SERVER,
                "this edit came with a decision on a proposal written by the client; \
                 an accepted proposal's text is written by the server",
            );
        }
    }
}

/// Whether a proposal's change writes a decision: a status other than
/// pending or withdrawn, or `decidedBy` / `decidedAt`.
fn writes_decision(q: &plenary_doc::ProposalEffect) -> bool {
    let decided = |v: &Value| !matches!(v.as_str(), Some("pending" | "withdrawn"));
    let fields = q.fields.iter().any(|(k, c)| match k.as_str() {
        "status" => c
            .values
            .iter()
            .any(|v| decided(v) || v.as_str() == Some("pending")),
        "decidedBy" | "decidedAt" => true,
        _ => false,
    });
    let inserted = q.inserted.as_ref().is_some_and(|f| {
        f.get("status").is_some_and(|v| !v.is_null() && decided(v))
            || !is_null(f.get("decidedBy"))
            || !is_null(f.get("decidedAt"))
    });
    fields || inserted
}

// ---------------------------------------------------------------- size caps

/// The size caps (SPEC §3), on the parts the policy allows. Each is judged
/// from the effect and O(1) reads of the document (`plenary_doc`'s
/// `size`), so it costs O(update):
/// - a paragraph's or a footnote's text that would grow past its cap is
///   refused (the whole target: a paste that replaces a paragraph's text
///   leaves the old text, not an empty paragraph); one that shrinks, or
///   stays over a cap lowered since, passes;
/// - new paragraphs (proposals) past the count are refused, the update's
///   first ones up to the cap allowed, after the room its allowed
///   deletions make;
/// - a string value written into a field (a paragraph's, a proposal's, a
///   meta key) is held to the paragraph cap, so no field carries what a
///   paragraph may not;
/// - when the room says the document is full, every part that inserts
///   more than it deletes is refused.
fn size_caps(
    doc: &ResolutionDoc,
    effect: &Effect,
    caps: &Caps,
    verdicts: &mut [(&Target, &Footprint, Result<(), String>)],
    name: &dyn Fn(&str) -> String,
) {
    let allowed = |verdicts: &[(&Target, &Footprint, Result<(), String>)],
                   f: &dyn Fn(&Target) -> bool| {
        verdicts
            .iter()
            .filter(|(t, _, v)| v.is_ok() && f(t))
            .count()
    };
    let new_paragraph = |t: &Target| match t {
        Target::Paragraph(pid) => effect
            .paragraphs
            .get(pid)
            .is_some_and(|pe| pe.inserted.is_some() && !pe.deleted),
        _ => false,
    };
    let gone_paragraph = |t: &Target| match t {
        Target::Paragraph(pid) => effect
            .paragraphs
            .get(pid)
            .is_some_and(|pe| pe.inserted.is_none() && pe.deleted),
        _ => false,
    };
    let new_proposal = |t: &Target| match t {
        Target::Proposal(qid) => effect
            .proposals
            .get(qid)
            .is_some_and(|qe| qe.inserted.is_some() && !qe.deleted),
        _ => false,
    };
    let gone_proposal = |t: &Target| match t {
        Target::Proposal(qid) => effect
            .proposals
            .get(qid)
            .is_some_and(|qe| qe.inserted.is_none() && qe.deleted),
        _ => false,
    };
    // What the allowed deletions leave, and so how many new entries fit.
    let left =
        |cap: usize, now: u32, gone: usize| cap.saturating_sub((now as usize).saturating_sub(gone));
    let mut paragraphs_fit = left(
        caps.paragraphs,
        doc.paragraph_count(),
        allowed(verdicts, &gone_paragraph),
    );
    let mut proposals_fit = left(
        caps.proposals,
        doc.proposal_count(),
        allowed(verdicts, &gone_proposal),
    );
    for (target, fp, verdict) in verdicts.iter_mut() {
        if verdict.is_err() {
            continue;
        }
        let label = || match target {
            Target::ParagraphText(pid)
            | Target::ParagraphMarks(pid)
            | Target::Paragraph(pid)
            | Target::ParagraphField(pid, _) => name(pid),
            Target::Meta(key) => format!("meta.{key}"),
            Target::Footnote(fid) => format!("footnote {fid}"),
            Target::Proposal(qid) => format!("proposal {qid}"),
            Target::Sponsor(_) => "sponsors".to_owned(),
            Target::Unknown => "this change".to_owned(),
        };
        if let Some(why) = &caps.document_full
            && fp.inserted_len() > fp.deleted_len()
        {
            *verdict = Err(format!("{}: {why}", label()));
            continue;
        }
        if let Some(size) = doc.text_size_after(effect, target) {
            let (cap, what, rule) = match size.kind {
                TextKind::Paragraph => (
                    caps.paragraph_chars,
                    "this paragraph",
                    "limits.paragraph-chars",
                ),
                TextKind::Footnote => (
                    caps.footnote_chars,
                    "this footnote",
                    "limits.footnote-chars",
                ),
            };
            if size.exceeds(cap) {
                *verdict = Err(format!(
                    "{}: {what} would be {} characters; the limit is {} [{rule}]",
                    label(),
                    grouped(size.after),
                    grouped(cap as u64),
                ));
                continue;
            }
        }
        if new_paragraph(target) {
            if paragraphs_fit == 0 {
                *verdict = Err(format!(
                    "{}: a new paragraph would make more than {} paragraphs, the limit [limits.paragraphs]",
                    label(),
                    grouped(caps.paragraphs as u64),
                ));
                continue;
            }
            paragraphs_fit -= 1;
        }
        if new_proposal(target) {
            if proposals_fit == 0 {
                *verdict = Err(format!(
                    "{}: a new proposal would make more than {} proposals, the limit [limits.proposals]",
                    label(),
                    grouped(caps.proposals as u64),
                ));
                continue;
            }
            proposals_fit -= 1;
        }
        let longest = written_values(effect, target)
            .map(longest_string)
            .max()
            .unwrap_or(0);
        if longest > caps.paragraph_chars as u64 {
            *verdict = Err(format!(
                "{}: a value of {} characters; the limit is {} [limits.paragraph-chars]",
                label(),
                grouped(longest),
                grouped(caps.paragraph_chars as u64),
            ));
        }
    }
}

/// The JSON values a target writes into map fields (a new proposal's
/// fields included; a new paragraph's text is measured as a text).
fn written_values<'a>(
    effect: &'a Effect,
    target: &Target,
) -> Box<dyn Iterator<Item = &'a Value> + 'a> {
    match target {
        Target::ParagraphField(pid, key) => Box::new(
            effect
                .paragraphs
                .get(pid)
                .and_then(|pe| pe.fields.get(key))
                .into_iter()
                .flat_map(|c| c.values.iter()),
        ),
        Target::Paragraph(pid) => Box::new(
            effect
                .paragraphs
                .get(pid)
                .and_then(|pe| pe.inserted.as_ref())
                .into_iter()
                .flat_map(|m| m.iter().filter(|(k, _)| *k != "text").map(|(_, v)| v)),
        ),
        Target::Meta(key) => Box::new(
            effect
                .meta
                .get(key)
                .into_iter()
                .flat_map(|c| c.values.iter()),
        ),
        Target::Proposal(qid) => match effect.proposals.get(qid) {
            Some(qe) => Box::new(
                qe.inserted
                    .iter()
                    .flat_map(|m| m.values())
                    .chain(qe.fields.values().flat_map(|c| c.values.iter())),
            ),
            None => Box::new(std::iter::empty()),
        },
        _ => Box::new(std::iter::empty()),
    }
}

/// The longest string in a JSON value, in UTF-16 code units.
fn longest_string(v: &Value) -> u64 {
    match v {
        Value::String(s) => s.encode_utf16().count() as u64,
        Value::Array(a) => a.iter().map(longest_string).max().unwrap_or(0),
        Value::Object(m) => m.values().map(longest_string).max().unwrap_or(0),
        _ => 0,
    }
}

/// Whether a whole document (an import through the HTTP API) keeps within
/// the size caps: the first cap it passes, named as a refusal names it.
/// O(document): for a document about to be created, never per update.
/// Called by `POST /api/docs` (`api/docs.rs`).
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) fn within_caps(doc: &ResolutionDoc, limits: &Limits) -> Result<(), String> {
    let r = doc.resolution();
    let len = |runs: &[plenary_doc::Run]| -> u64 {
        runs.iter()
            .map(|x| x.text.encode_utf16().count() as u64)
            .sum()
    };
    if r.paragraphs.len() > limits.max_paragraphs {
        return Err(format!(
            "the document has {} paragraphs; the limit is {} [limits.paragraphs]",
            grouped(r.paragraphs.len() as u64),
            grouped(limits.max_paragraphs as u64)
        ));
    }
    if r.proposals.len() > limits.max_proposals {
        return Err(format!(
            "the document has {} proposals; the limit is {} [limits.proposals]",
            grouped(r.proposals.len() as u64),
            grouped(limits.max_proposals as u64)
        ));
    }
    for (i, para) in r.paragraphs.iter().enumerate() {
        let n = len(&para.text);
        if n > limits.max_paragraph_chars as u64 {
            let label = if para.label.is_empty() {
                format!("paragraph {}", i + 1)
            } else {
                para.label.clone()
            };
            return Err(format!(
                "{label}: this paragraph is {} characters; the limit is {} [limits.paragraph-chars]",
                grouped(n),
                grouped(limits.max_paragraph_chars as u64)
            ));
        }
    }
    for note in &r.footnotes {
        let n = len(&note.text);
        if n > limits.max_footnote_chars as u64 {
            return Err(format!(
                "footnote {}: this footnote is {} characters; the limit is {} [limits.footnote-chars]",
                note.marker,
                grouped(n),
                grouped(limits.max_footnote_chars as u64)
            ));
        }
    }
    let bytes = doc.encode_state().len();
    if bytes > limits.max_document_bytes {
        return Err(format!(
            "the document is {} bytes; the limit is {} bytes [limits.document-bytes]",
            grouped(bytes as u64),
            grouped(limits.max_document_bytes as u64)
        ));
    }
    Ok(())
}

/// 20412 as "20 412": how the limits read in messages.
pub(crate) fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(' ');
        }
        out.push(c);
    }
    out
}

/// The current status of a paragraph; an unknown paragraph counts as
/// agreed (when in doubt, the strictest rule).
fn status_of(doc: &ResolutionDoc, pid: &str) -> ParagraphStatus {
    doc.paragraph_status(pid)
        .map(auth_status)
        .unwrap_or(ParagraphStatus::Agreed)
}

/// Errors from these are appended to the paragraph's name.
fn judge_text(
    doc: &ResolutionDoc,
    p: &Principal,
    ctx: &DocContext,
    effect: &Effect,
    pid: &str,
    marks: bool,
) -> Result<(), String> {
    let Some(pe) = effect.paragraphs.get(pid) else {
        return Ok(());
    };
    require(
        p,
        Action::EditText {
            status: status_of(doc, pid),
        },
        ctx,
        "",
    )?;
    if !marks {
        return Ok(());
    }
    if let Some(why) = pe.foreign.first() {
        refuse(
            "",
            "schema.format",
            format!(
                "paragraph text holds only characters and the italic and footnote marks, not {why}"
            ),
        )?;
    }
    if pe.formats.contains("footnote") {
        require(p, Action::EditFootnote, ctx, "")?;
    }
    Ok(())
}

const PARAGRAPH_KEYS: [&str; 6] = ["id", "kind", "level", "status", "text", "statusNote"];

fn judge_paragraph(
    doc: &ResolutionDoc,
    p: &Principal,
    ctx: &DocContext,
    effect: &Effect,
    pid: &str,
) -> Result<(), String> {
    let Some(pe) = effect.paragraphs.get(pid) else {
        return require(p, Action::ChangeParagraphShape, ctx, "");
    };
    if pe.duplicate {
        // Two concurrent moves of one paragraph would leave two copies; a
        // new paragraph may not reuse an id.
        return refuse(
            "",
            "structure.duplicate",
            "a paragraph with this id already exists (moved concurrently by someone else, or an id reused)",
        );
    }
    if pe.is_move() {
        require(p, Action::MoveParagraph, ctx, "")?;
        if pe.text {
            // the move re-inserts text that differs from the current one
            require(
                p,
                Action::EditText {
                    status: status_of(doc, pid),
                },
                ctx,
                "",
            )?;
        }
        if !pe.fields.is_empty() {
            require(p, Action::ChangeParagraphShape, ctx, "")?;
        }
    } else if let Some(fields) = &pe.inserted {
        require(p, Action::InsertParagraph, ctx, "")?;
        if let Some(k) = fields
            .keys()
            .find(|k| !PARAGRAPH_KEYS.contains(&k.as_str()))
        {
            refuse(
                "",
                "schema.unknown",
                format!("a paragraph has no field `{k}`"),
            )?;
        }
        if !matches!(
            fields.get("kind").and_then(Value::as_str),
            Some("preambular" | "operative")
        ) {
            refuse("", "schema.value", "a paragraph is preambular or operative")?;
        }
        if !matches!(
            fields.get("level").and_then(Value::as_f64),
            None | Some(0.0 | 1.0 | 2.0)
        ) {
            refuse("", "schema.value", "a paragraph's level is 0, 1 or 2")?;
        }
        if fields
            .get("status")
            .is_some_and(|v| parse_status(v).is_none())
        {
            refuse("", "schema.value", "invalid status")?;
        }
        if let Some(why) = pe.foreign.first() {
            refuse(
                "",
                "schema.format",
                format!(
                    "paragraph text holds only characters and the italic and footnote marks, not {why}"
                ),
            )?;
        }
        if pe
            .inserted_runs
            .as_ref()
            .is_some_and(|runs| runs.iter().any(|r| r.footnote.is_some()))
        {
            require(p, Action::EditFootnote, ctx, "")?;
        }
    } else if pe.deleted {
        require(p, Action::DeleteParagraph, ctx, "")?;
    } else {
        require(p, Action::ChangeParagraphShape, ctx, "")?;
    }
    Ok(())
}

fn judge_field(
    doc: &ResolutionDoc,
    p: &Principal,
    ctx: &DocContext,
    effect: &Effect,
    pid: &str,
    key: &str,
) -> Result<(), String> {
    let change = effect.paragraphs.get(pid).and_then(|pe| pe.fields.get(key));
    let values = change.map(|c| c.values.as_slice()).unwrap_or_default();
    match key {
        "status" => {
            let current = status_of(doc, pid);
            for v in values {
                let Some(to) = parse_status(v) else {
                    return refuse("", "schema.value", format!("invalid status {v}"));
                };
                let action = Action::SetParagraphStatus { from: current, to };
                if authorize(p, &action, ctx).needs_reason() {
                    // SPEC §2: reopening an agreed paragraph is logged with a
                    // reason; the chair's client puts it in `statusNote`.
                    let reason = effect
                        .paragraphs
                        .get(pid)
                        .and_then(|pe| pe.fields.get("statusNote"))
                        .and_then(|c| c.values.first())
                        .and_then(Value::as_str)
                        .unwrap_or("(no reason given)");
                    tracing::info!(
                        paragraph = %pid, user = %p.sub, to = ?to, %reason,
                        "agreed paragraph reopened"
                    );
                }
                require(p, action, ctx, " (status)")?;
            }
            if values.is_empty() {
                // A write with no value: either a removal of the status, or a
                // write its writer already lost to a concurrent one and
                // collected (a sync step 2 carries it as deleted content).
                // Either can take the status away where it lands, so only
                // the chair may send it, and a removal is refused outright.
                require(
                    p,
                    Action::SetParagraphStatus {
                        from: current,
                        to: current,
                    },
                    ctx,
                    " (status)",
                )?;
                if change.is_some_and(|c| !c.previous.is_empty()) {
                    refuse(
                        " (status)",
                        "schema.value",
                        "a paragraph always has a status",
                    )?;
                }
            }
            Ok(())
        }
        "id" => refuse(" (id)", "schema.id", "a paragraph's id never changes"),
        "kind" | "level" | "statusNote" | "text" => {
            require(p, Action::ChangeParagraphShape, ctx, &format!(" ({key})"))?;
            let ok = values.iter().all(|v| match key {
                "kind" => matches!(v.as_str(), Some("preambular" | "operative")),
                "level" => matches!(v.as_f64(), Some(0.0 | 1.0 | 2.0)),
                "statusNote" => v.is_string() || v.is_null(),
                _ => v.is_string(),
            });
            if ok {
                Ok(())
            } else {
                refuse(
                    &format!(" ({key})"),
                    "schema.value",
                    "a value of the wrong kind",
                )
            }
        }
        other => refuse(
            &format!(" ({other})"),
            "schema.unknown",
            format!("a paragraph has no field `{other}`"),
        ),
    }
}

fn judge_meta(p: &Principal, ctx: &DocContext, effect: &Effect, key: &str) -> Result<(), String> {
    let target = format!("meta.{key}");
    let values = effect
        .meta
        .get(key)
        .map(|c| c.values.as_slice())
        .unwrap_or_default();
    if key == "mode" {
        require(p, Action::SetMode, ctx, &target)?;
        if !values
            .iter()
            .all(|v| matches!(v.as_str(), Some("open" | "negotiation")))
        {
            return refuse(&target, "schema.value", "the mode is open or negotiation");
        }
        return Ok(());
    }
    if key == REVISION {
        // Written by the server alone, as the namer's change, when a version is named.
        return refuse(
            &target,
            "meta.revision",
            "the revision is written by the server when a version is named",
        );
    }
    if !META_KEYS.contains(&key) {
        return refuse(
            &target,
            "schema.unknown",
            "not a metadata field of the resolution",
        );
    }
    require(
        p,
        Action::EditMeta {
            key: key.to_owned(),
        },
        ctx,
        &target,
    )?;
    if values.iter().all(|v| v.is_string() || v.is_null()) {
        Ok(())
    } else {
        refuse(&target, "schema.value", "metadata fields are text")
    }
}

/// The rule that keeps decisions on the server: a client never writes a
/// proposal's `accepted`/`rejected` status, `decidedBy` or `decidedAt`
/// (the chair decides through `POST /api/docs/{doc}/proposals/{id}/decision`,
/// which the room applies in its turn).
pub(crate) const DECIDED_ON_SERVER: &str = "proposals.decided-on-server";
const DECIDED_ON_SERVER_WHY: &str = "proposals are accepted or rejected by the server, when the chair decides \
     (the Accept and Reject buttons), never by a client writing the outcome";
const EMPTY_WHY: &str = "a proposal to replace or insert text must have some text";

/// A new proposal says something: its paragraphs (or its footnote) exist, it
/// is not empty, and it changes something. O(one paragraph or footnote), and
/// O(paragraphs) for a move.
fn proposal_content(
    doc: &ResolutionDoc,
    target: &str,
    fields: &serde_json::Map<String, Value>,
) -> Result<(), String> {
    let s = |k: &str| fields.get(k).and_then(Value::as_str);
    let action = s("action");
    let text = s("text").unwrap_or("");
    if !is_null(fields.get("footnoteId")) {
        return footnote_amendment(doc, target, fields);
    }
    let unknown = |id: &str| {
        refuse(
            target,
            "proposals.paragraph",
            format!("paragraph {id} is not in the document"),
        )
    };
    let pid = match action {
        Some("replace" | "delete" | "move") => {
            let Some(pid) = s("paragraphId") else {
                return refuse(
                    target,
                    "proposals.paragraph",
                    "a replace, delete or move proposal names its paragraph (paragraphId); \
                     a replace may name a footnote instead (footnoteId)",
                );
            };
            if !doc.has_paragraph(pid) {
                return unknown(pid);
            }
            Some(pid)
        }
        Some("insert") => None,
        _ => {
            return refuse(
                target,
                "schema.value",
                "a proposal's action is replace, insert, delete or move",
            );
        }
    };
    let after = s("after");
    if let Some(a) = after
        && !doc.has_paragraph(a)
    {
        return unknown(a);
    }
    if matches!(action, Some("replace" | "insert")) && text.trim().is_empty() {
        return refuse(target, "proposals.empty", EMPTY_WHY);
    }
    if action == Some("replace")
        && let Some(pid) = pid
    {
        let same = match s("baseText") {
            Some(base) => base == text,
            None => doc.paragraph(pid).is_some_and(|x| {
                x.text.iter().map(|r| r.text.as_str()).collect::<String>() == text
            }),
        };
        if same {
            return refuse(
                target,
                "proposals.no-op",
                "this proposal would change nothing: its text is the paragraph's text",
            );
        }
    }
    if action == Some("move")
        && let Some(pid) = pid
        && (after == Some(pid)
            || doc
                .paragraph_before(pid)
                .is_some_and(|before| before.as_deref() == after))
    {
        return refuse(
            target,
            "proposals.no-op",
            "this proposal would move the paragraph to where it already is",
        );
    }
    Ok(())
}

/// A new footnote amendment (a `replace` naming `footnoteId`): the footnote
/// exists, no paragraph is named too, the text is not empty and changes
/// the footnote. O(one footnote).
fn footnote_amendment(
    doc: &ResolutionDoc,
    target: &str,
    fields: &serde_json::Map<String, Value>,
) -> Result<(), String> {
    let s = |k: &str| fields.get(k).and_then(Value::as_str);
    let Some(fid) = s("footnoteId") else {
        return refuse(target, "schema.value", "footnoteId is a footnote's id");
    };
    if s("action") != Some("replace") {
        return refuse(
            target,
            "schema.value",
            "only a replace proposal may name a footnote (footnoteId)",
        );
    }
    if !is_null(fields.get("paragraphId")) || !is_null(fields.get("after")) {
        return refuse(
            target,
            "proposals.paragraph",
            "a footnote amendment names its footnote only, not a paragraph",
        );
    }
    let Some(runs) = doc.footnote_runs(fid) else {
        return refuse(
            target,
            "proposals.paragraph",
            format!("footnote {fid} is not in the document"),
        );
    };
    let text = s("text").unwrap_or("");
    if text.trim().is_empty() {
        return refuse(target, "proposals.empty", EMPTY_WHY);
    }
    let same = match s("baseText") {
        Some(base) => base == text,
        None => runs.iter().map(|r| r.text.as_str()).collect::<String>() == text,
    };
    if same {
        return refuse(
            target,
            "proposals.no-op",
            "this proposal would change nothing: its text is the footnote's text",
        );
    }
    Ok(())
}

fn judge_proposal(
    doc: &ResolutionDoc,
    p: &Principal,
    ctx: &DocContext,
    effect: &Effect,
    qid: &str,
) -> Result<(), String> {
    let target = format!("proposal {qid}");
    let Some(qe) = effect.proposals.get(qid) else {
        return require(p, Action::DecideProposal, ctx, &target);
    };
    let existing = doc.proposal(qid);
    let owner = existing
        .as_ref()
        .map(|x| x.delegation.clone())
        .unwrap_or_default();
    // Editing a proposal (its words, a field, replacing its map) is its delegation's right.
    let may_edit = |t: &str| {
        require(
            p,
            Action::EditProposal {
                proposal_delegation: owner.clone(),
            },
            ctx,
            t,
        )
    };
    if let Some(fields) = &qe.inserted {
        if existing.is_some() && !qe.deleted {
            // A new map with the id of a live proposal would take it over.
            return refuse(
                &target,
                "proposals.duplicate-id",
                "a proposal with this id already exists; proposal ids are unique",
            );
        }
        if existing.is_some() {
            // The map was replaced: judged as an edit of the one it replaces.
            may_edit(&target)?;
        }
        let delegation = fields
            .get("delegation")
            .and_then(Value::as_str)
            .unwrap_or_default();
        require(
            p,
            Action::Propose {
                delegation: delegation.to_owned(),
            },
            ctx,
            &target,
        )?;
        if !fields.get("author").is_some_and(|v| is_self(p, v)) {
            refuse(
                &target,
                "proposals.identity",
                "a proposal carries its author's own name (from the token) as author",
            )?;
        }
        if let Some(group) = fields.get("onBehalfOf").filter(|v| !v.is_null())
            && !group
                .as_str()
                .is_some_and(|g| p.groups.iter().any(|mine| mine == g))
        {
            refuse(
                &target,
                "proposals.on-behalf-of",
                format!(
                    "you may propose on behalf of your own groups only ({})",
                    p.groups.join(", ")
                ),
            )?;
        }
        let supporters_ok = match fields.get("supporters") {
            None | Some(Value::Null) => true,
            Some(Value::Array(a)) => {
                a.is_empty() || (a.len() == 1 && a[0].as_str() == Some(p.attribution()))
            }
            Some(_) => false,
        };
        if !supporters_ok {
            refuse(
                &target,
                "proposals.supporters",
                "a new proposal starts with no supporters, or with its own delegation only",
            )?;
        }
        let status = fields
            .get("status")
            .and_then(Value::as_str)
            .unwrap_or("pending");
        if status != "pending" {
            require(p, Action::DecideProposal, ctx, &target)?;
        }
        if !is_null(fields.get("decidedBy"))
            && !fields.get("decidedBy").is_some_and(|v| is_self(p, v))
            || (status == "pending" && !is_null(fields.get("decidedBy")))
        {
            refuse(
                &target,
                "proposals.identity",
                "decidedBy is set by the chair who decides, when deciding",
            )?;
        }
        if status != "pending"
            || !is_null(fields.get("decidedBy"))
            || !is_null(fields.get("decidedAt"))
        {
            refuse(&target, DECIDED_ON_SERVER, DECIDED_ON_SERVER_WHY)?;
        }
        proposal_content(doc, &target, fields)?;
    }
    if let Some(x) = existing
        .as_ref()
        .filter(|x| x.status != ProposalStatus::Pending)
        && (qe.deleted
            || !qe.fields.is_empty()
            || !qe.supporters_added.is_empty()
            || !qe.supporters_removed.is_empty())
    {
        return refuse(
            &target,
            "proposals.decided-record",
            format!(
                "this proposal is {}; a decided or withdrawn proposal stays as it is, as the record",
                serde_json::to_value(x.status)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default()
            ),
        );
    }
    if qe.deleted && qe.inserted.is_none() {
        require(p, Action::DecideProposal, ctx, &target)?;
    }
    let classified = qe.inserted.is_some()
        || qe.deleted
        || !qe.fields.is_empty()
        || !qe.supporters_added.is_empty()
        || !qe.supporters_removed.is_empty();
    if !classified {
        // The proposal was touched in a way the effect names as none of the above (a deletion
        // inside its map that is no field change, say): only who may edit it may do that.
        may_edit(&target)?;
    }
    for (field, change) in &qe.fields {
        let t = format!("{target} ({field})");
        if change.values.is_empty() {
            // A key removed (no value written): checked per value below, it would pass
            // unchecked. Removing a proposal's field is editing it.
            may_edit(&t)?;
        }
        match field.as_str() {
            "status" => {
                for v in &change.values {
                    match v.as_str() {
                        Some("withdrawn") => require(
                            p,
                            Action::WithdrawProposal {
                                proposal_delegation: owner.clone(),
                            },
                            ctx,
                            &t,
                        )?,
                        Some("accepted" | "rejected" | "pending") => {
                            require(p, Action::DecideProposal, ctx, &t)?;
                            refuse(&t, DECIDED_ON_SERVER, DECIDED_ON_SERVER_WHY)?
                        }
                        _ => refuse(&t, "schema.value", format!("invalid status {v}"))?,
                    }
                }
            }
            "decidedBy" | "decidedAt" => {
                require(p, Action::DecideProposal, ctx, &t)?;
                if field == "decidedBy" && !change.values.iter().all(|v| is_self(p, v)) {
                    refuse(
                        &t,
                        "proposals.identity",
                        "decidedBy is the deciding chair's own name",
                    )?;
                }
                refuse(&t, DECIDED_ON_SERVER, DECIDED_ON_SERVER_WHY)?;
            }
            "text" => {
                may_edit(&t)?;
                let replaces_words = existing.as_ref().is_some_and(|x| {
                    matches!(x.action, ProposalAction::Replace | ProposalAction::Insert)
                });
                if replaces_words
                    && change
                        .values
                        .iter()
                        .any(|v| v.as_str().is_none_or(|s| s.trim().is_empty()))
                {
                    refuse(&t, "proposals.empty", EMPTY_WHY)?;
                }
            }
            "id" | "delegation" | "author" | "createdAt" => refuse(
                &t,
                "proposals.identity",
                "who made a proposal, and when, never changes",
            )?,
            "onBehalfOf" => {
                may_edit(&t)?;
                if !change.values.iter().all(|v| {
                    v.is_null() || v.as_str().is_some_and(|g| p.groups.iter().any(|m| m == g))
                }) {
                    refuse(
                        &t,
                        "proposals.on-behalf-of",
                        "you may propose on behalf of your own groups only",
                    )?;
                }
            }
            _ => may_edit(&t)?,
        }
    }
    for s in qe.supporters_added.iter().chain(&qe.supporters_removed) {
        require(
            p,
            Action::SupportProposal {
                supporter: s.clone(),
            },
            ctx,
            &target,
        )?;
    }
    Ok(())
}

/// One verdict for every sponsor change of the update.
fn judge_sponsors(
    doc: &ResolutionDoc,
    p: &Principal,
    ctx: &DocContext,
    effect: &Effect,
) -> Result<(), String> {
    if effect.sponsors.is_empty() {
        return Ok(());
    }
    let existing = doc.sponsor_delegations();
    let removed: Vec<&str> = effect
        .sponsors
        .iter()
        .filter_map(|c| match c {
            SponsorChange::Removed { delegation } => delegation.as_deref(),
            _ => None,
        })
        .collect();
    for change in &effect.sponsors {
        match change {
            SponsorChange::Added { fields } => {
                let delegation = fields
                    .get("delegation")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                require(
                    p,
                    Action::Cosponsor {
                        delegation: delegation.to_owned(),
                    },
                    ctx,
                    "sponsors",
                )?;
                if existing.iter().any(|d| d == delegation) && !removed.contains(&delegation) {
                    refuse(
                        "sponsors",
                        "sponsors.duplicate",
                        format!("{delegation} already co-sponsors"),
                    )?;
                }
                if !fields.get("signedBy").is_some_and(|v| is_self(p, v)) {
                    refuse(
                        "sponsors",
                        "sponsors.identity",
                        "a co-sponsorship is signed with the signer's own name (from the token)",
                    )?;
                }
            }
            SponsorChange::Removed { delegation } => require(
                p,
                Action::Cosponsor {
                    delegation: delegation.clone().unwrap_or_default(),
                },
                ctx,
                "sponsors",
            )?,
            SponsorChange::Edited {
                delegation, key, ..
            } => {
                require(
                    p,
                    Action::Cosponsor {
                        delegation: delegation.clone().unwrap_or_default(),
                    },
                    ctx,
                    "sponsors",
                )?;
                if matches!(key.as_str(), "delegation" | "signedBy") {
                    refuse(
                        "sponsors",
                        "sponsors.identity",
                        "who co-sponsors, and who signed, never changes",
                    )?;
                }
            }
        }
    }
    Ok(())
}

fn judge_comments(
    doc: &CommentsDoc,
    scope: &CommentScope,
    p: &Principal,
    effect: &CommentsEffect,
    caps: &Caps,
) -> (Judgement, BTreeSet<CommentTarget>) {
    let ctx = DocContext {
        mode: DocMode::Open,
        observers_may_comment: doc.observers_may_comment(),
    };
    let mut j = Judge::new();
    for (target, fp) in &effect.footprints {
        let verdict = match target {
            // The scope's policy is the document's to set: chair and secretariat.
            CommentTarget::Policy(key) => require(
                p,
                Action::EditMeta {
                    key: format!("commentPolicy.{key}"),
                },
                &ctx,
                &format!("comment policy {key}"),
            ),
            CommentTarget::Comment(cid) => {
                let r = judge_comment(doc, scope, p, &ctx, effect, cid);
                if r.is_ok()
                    && let Some(para) = doc.comment(cid).map(|c| c.paragraph_id).or_else(|| {
                        effect
                            .comments
                            .get(cid)
                            .and_then(|c| c.created.as_ref())
                            .and_then(|f| f.get("paragraphId"))
                            .and_then(Value::as_str)
                            .map(str::to_owned)
                    })
                {
                    j.touched.insert(para);
                }
                r
            }
            CommentTarget::Unknown => refuse(
                "this change",
                "schema.unknown",
                format!(
                    "writes outside the comments schema ({})",
                    effect.unknown.join("; ")
                ),
            ),
        };
        // A full document takes deletions, and edits that add no more than
        // they delete.
        let verdict = match (&caps.document_full, verdict) {
            (Some(why), Ok(())) if fp.inserted_len() > fp.deleted_len() => {
                let what = match target {
                    CommentTarget::Comment(cid) => format!("comment {cid}"),
                    CommentTarget::Policy(key) => format!("comment policy {key}"),
                    CommentTarget::Unknown => "this change".to_owned(),
                };
                Err(format!("{what}: {why}"))
            }
            (_, verdict) => verdict,
        };
        j.record(target, verdict, fp);
    }
    j.finish()
}

fn judge_comment(
    doc: &CommentsDoc,
    scope: &CommentScope,
    p: &Principal,
    ctx: &DocContext,
    effect: &CommentsEffect,
    cid: &str,
) -> Result<(), String> {
    let target = format!("comment {cid}");
    let Some(ce) = effect.comments.get(cid) else {
        return refuse(&target, "schema.unknown", "not part of the comments schema");
    };
    let existing = doc.comment(cid);
    let author = existing
        .as_ref()
        .map(|c| c.author.clone())
        .unwrap_or_default();
    let edit = || Action::EditComment {
        scope: scope.clone(),
        author_sub: author.clone(),
    };
    if let Some(fields) = &ce.created {
        if existing.is_some() {
            // A new map at the key of an existing comment replaces it: that
            // is an edit (and deletion) of the comment it replaces.
            require(p, edit(), ctx, &target)?;
        }
        require(
            p,
            Action::WriteComment {
                scope: scope.clone(),
            },
            ctx,
            &target,
        )?;
        check_signed(p, fields, &target)?;
        if fields
            .get("resolved")
            .is_some_and(|v| v != &Value::Bool(false))
            || !is_null(fields.get("resolvedBy"))
        {
            refuse(
                &target,
                "comments.identity",
                "a new comment is not resolved",
            )?;
        }
    }
    if ce.deleted && ce.created.is_none() {
        require(p, edit(), ctx, &target)?;
    }
    for (field, change) in &ce.fields {
        let t = format!("{target} ({field})");
        match field.as_str() {
            "resolved" | "resolvedBy" => {
                require(
                    p,
                    Action::ResolveComment {
                        scope: scope.clone(),
                        author_sub: author.clone(),
                    },
                    ctx,
                    &t,
                )?;
                let ok = change.values.iter().all(|v| match field.as_str() {
                    "resolved" => v.is_boolean(),
                    _ => v.is_null() || is_self(p, v),
                });
                if !ok {
                    refuse(
                        &t,
                        "comments.identity",
                        "resolvedBy is the resolver's own identity",
                    )?;
                }
            }
            "id" | "author" | "authorName" | "delegation" | "createdAt" | "paragraphId" => refuse(
                &t,
                "comments.identity",
                "who wrote a comment, where and when never changes",
            )?,
            _ => require(p, edit(), ctx, &t)?,
        }
    }
    for reply in &ce.replies_added {
        require(
            p,
            Action::WriteComment {
                scope: scope.clone(),
            },
            ctx,
            &target,
        )?;
        check_signed(p, reply, &format!("reply to {target}"))?;
    }
    let reply_author = |rid: &str| {
        existing
            .as_ref()
            .and_then(|c| c.replies.iter().find(|r| r.id == rid))
            .map(|r| r.author.clone())
            .unwrap_or_default()
    };
    for rid in ce.replies_edited.keys() {
        let action = Action::EditComment {
            scope: scope.clone(),
            author_sub: reply_author(rid),
        };
        require(p, action, ctx, &format!("reply {rid}"))?;
    }
    for rid in &ce.replies_deleted {
        let author = rid.as_deref().map(reply_author).unwrap_or_default();
        let action = Action::EditComment {
            scope: scope.clone(),
            author_sub: author,
        };
        require(p, action, ctx, &format!("reply to {target}"))?;
    }
    Ok(())
}

/// A new comment or reply must be signed with the writer's own identity.
fn check_signed(
    p: &Principal,
    fields: &serde_json::Map<String, Value>,
    target: &str,
) -> Result<(), String> {
    let author = fields.get("author").and_then(Value::as_str);
    if author != Some(p.sub.as_str()) {
        return refuse(
            target,
            "comments.author",
            "a comment must carry its writer's own identity as author",
        );
    }
    let delegation = fields.get("delegation").and_then(Value::as_str);
    if delegation.is_some_and(|d| d != p.attribution()) {
        return refuse(
            target,
            "comments.delegation",
            format!(
                "a comment must carry its writer's own delegation ({})",
                p.attribution()
            ),
        );
    }
    if fields
        .get("authorName")
        .is_some_and(|v| !v.is_null() && v.as_str() != Some(p.name.as_str()))
    {
        return refuse(
            target,
            "comments.identity",
            "a comment carries its writer's own name (from the token)",
        );
    }
    Ok(())
}

#[cfg(test)]
mod size_tests {
    //! The size caps as the judge applies them, without sockets (the same
    //! scenarios over real sockets: `tests/it/limits.rs`).

    use super::*;
    use plenary_auth::Role;
    use plenary_doc::{ParagraphKind, Position, Run};

    fn chair() -> Session {
        Session {
            principal: Principal {
                sub: "chair".into(),
                name: "Chair".into(),
                role: Role::Chair,
                delegation: None,
                groups: vec![],
                docs: vec!["*".into()],
                expires_at: u64::MAX,
            },
            doc: "res".into(),
        }
    }

    /// A server document with one paragraph of `len` characters.
    fn server(len: usize) -> (LiveDoc, String) {
        let mut d = ResolutionDoc::with_client_id(1);
        let (id, _) = d
            .insert_paragraph(
                Position::End,
                ParagraphKind::Operative,
                0,
                &[Run::plain("x".repeat(len))],
            )
            .unwrap();
        (LiveDoc::Resolution(d), id)
    }

    /// A client replica of the server's document (a new client each time).
    fn client(doc: &LiveDoc, client_id: u64) -> ResolutionDoc {
        ResolutionDoc::from_update_with_client_id(client_id, &doc.encode_state()).unwrap()
    }

    fn caps() -> Caps {
        Caps::new(&Limits::default())
    }

    /// The refusal messages of one update.
    fn refusals(doc: &LiveDoc, update: &[u8], caps: &Caps) -> Vec<String> {
        match judge_within(doc, &chair(), update, caps) {
            Verdict::Judged(j) => j.refused.into_iter().map(|(r, _)| r).collect(),
            _ => panic!("not judged"),
        }
    }

    fn merged(updates: &[Vec<u8>]) -> Vec<u8> {
        yrs::merge_updates_v1(updates.iter().map(Vec::as_slice)).unwrap()
    }

    #[test]
    fn a_paragraph_over_a_lowered_cap_may_shrink_but_not_grow() {
        let (doc, pid) = server(50);
        let caps = Caps {
            paragraph_chars: 40,
            ..caps()
        };
        let mut c = client(&doc, 10);
        let shrink = c.delete_text(&pid, 0, 5).unwrap();
        assert_eq!(refusals(&doc, &shrink, &caps), Vec::<String>::new());

        let mut c = client(&doc, 11);
        let grow = c.insert_text(&pid, 0, "y", false).unwrap();
        let r = refusals(&doc, &grow, &caps);
        assert_eq!(r.len(), 1, "{r:?}");
        assert!(
            r[0].contains(
                "this paragraph would be 51 characters; the limit is 40 [limits.paragraph-chars]"
            ),
            "{r:?}"
        );

        // replacing ten characters by five shrinks it: allowed
        let mut c = client(&doc, 12);
        let replace = merged(&[
            c.delete_text(&pid, 0, 10).unwrap(),
            c.insert_text(&pid, 0, "short", false).unwrap(),
        ]);
        assert_eq!(refusals(&doc, &replace, &caps), Vec::<String>::new());
    }

    #[test]
    fn a_paste_up_to_the_cap_passes_and_one_more_character_does_not() {
        let (doc, pid) = server(10);
        let caps = Caps {
            paragraph_chars: 1_000,
            ..caps()
        };
        let mut c = client(&doc, 10);
        let fits = c.insert_text(&pid, 10, &"é".repeat(990), false).unwrap();
        assert_eq!(refusals(&doc, &fits, &caps), Vec::<String>::new());
        let mut c = client(&doc, 11);
        let over = c.insert_text(&pid, 10, &"é".repeat(991), false).unwrap();
        let r = refusals(&doc, &over, &caps);
        assert!(
            r[0].contains("would be 1 001 characters; the limit is 1 000"),
            "{r:?}"
        );
    }

    #[test]
    fn new_paragraphs_past_the_count_are_refused_after_the_deletions_count() {
        let (doc, pid) = server(3);
        let caps = Caps {
            paragraphs: 2,
            ..caps()
        };
        let mut c = client(&doc, 10);
        let two = merged(&[
            c.insert_paragraph(
                Position::End,
                ParagraphKind::Operative,
                0,
                &[Run::plain("a")],
            )
            .unwrap()
            .1,
            c.insert_paragraph(
                Position::End,
                ParagraphKind::Operative,
                0,
                &[Run::plain("b")],
            )
            .unwrap()
            .1,
        ]);
        let r = refusals(&doc, &two, &caps);
        assert_eq!(r.len(), 1, "one of the two fits: {r:?}");
        assert!(
            r[0].contains("more than 2 paragraphs, the limit [limits.paragraphs]"),
            "{r:?}"
        );

        // a deletion in the same update makes room
        let mut c = client(&doc, 11);
        let swap = merged(&[
            c.delete_paragraph(&pid).unwrap(),
            c.insert_paragraph(
                Position::End,
                ParagraphKind::Operative,
                0,
                &[Run::plain("a")],
            )
            .unwrap()
            .1,
            c.insert_paragraph(
                Position::End,
                ParagraphKind::Operative,
                0,
                &[Run::plain("b")],
            )
            .unwrap()
            .1,
        ]);
        assert_eq!(refusals(&doc, &swap, &caps), Vec::<String>::new());
    }

    #[test]
    fn a_new_paragraph_over_the_character_cap_is_refused_whole() {
        let (doc, _) = server(3);
        let caps = Caps {
            paragraph_chars: 100,
            ..caps()
        };
        let mut c = client(&doc, 10);
        let (_, long) = c
            .insert_paragraph(
                Position::End,
                ParagraphKind::Operative,
                0,
                &[Run::plain("z".repeat(101))],
            )
            .unwrap();
        let r = refusals(&doc, &long, &caps);
        assert!(r[0].contains("would be 101 characters"), "{r:?}");
    }

    #[test]
    fn a_field_value_is_held_to_the_paragraph_cap() {
        let (doc, _) = server(3);
        let caps = Caps {
            paragraph_chars: 100,
            ..caps()
        };
        let mut c = client(&doc, 10);
        let title = c.set_meta("title", Some(&"t".repeat(101))).unwrap();
        let r = refusals(&doc, &title, &caps);
        assert!(
            r[0].contains("meta.title: a value of 101 characters; the limit is 100"),
            "{r:?}"
        );
    }

    #[test]
    fn a_full_document_takes_deletions_and_like_for_like_edits_only() {
        let (doc, pid) = server(30);
        let caps = Caps {
            document_full: Some("full [limits.document-bytes]".into()),
            ..caps()
        };
        let mut c = client(&doc, 10);
        let grow = c.insert_text(&pid, 0, "more", false).unwrap();
        let r = refusals(&doc, &grow, &caps);
        assert!(r[0].ends_with(": full [limits.document-bytes]"), "{r:?}");

        let mut c = client(&doc, 11);
        let shrink = c.delete_text(&pid, 0, 10).unwrap();
        assert_eq!(refusals(&doc, &shrink, &caps), Vec::<String>::new());

        let mut c = client(&doc, 12);
        let status = c.set_status(&pid, plenary_doc::Status::Agreed).unwrap();
        assert_eq!(refusals(&doc, &status, &caps), Vec::<String>::new());
    }

    #[test]
    fn an_import_names_the_first_cap_it_passes() {
        let (doc, _) = server(30);
        let LiveDoc::Resolution(d) = &doc else {
            unreachable!()
        };
        let mut limits = Limits::default();
        assert_eq!(within_caps(d, &limits), Ok(()));
        limits.max_paragraph_chars = 20;
        let e = within_caps(d, &limits).unwrap_err();
        assert!(
            e.contains("is 30 characters; the limit is 20 [limits.paragraph-chars]"),
            "{e}"
        );
        limits.max_document_bytes = 10;
        limits.max_paragraph_chars = 100;
        let e = within_caps(d, &limits).unwrap_err();
        assert!(e.contains("[limits.document-bytes]"), "{e}");
    }

    #[test]
    fn numbers_read_in_groups_of_three() {
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(20_412), "20 412");
        assert_eq!(grouped(8_388_608), "8 388 608");
    }
}
