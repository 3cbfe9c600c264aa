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
    CommentTarget, CommentsDoc, CommentsEffect, Effect, Footprint, META_KEYS, Mode, ResolutionDoc,
    SponsorChange, Status, Target,
};
use serde_json::Value;

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

/// Judges one update from `session` against the room's document.
pub(crate) fn judge(doc: &LiveDoc, session: &Session, update: &[u8]) -> Verdict {
    let p = &session.principal;
    match doc {
        LiveDoc::Resolution(d) => match d.effect(update) {
            Ok(e) if e.unplaceable > 0 => Verdict::Unintegrable(unintegrable(&e.unknown)),
            Ok(e) => {
                let (mut j, refused) = judge_resolution(d, p, &e);
                j.followup = Followup::Resolution(e, refused);
                Verdict::Judged(Box::new(j))
            }
            Err(e) => Verdict::Malformed(e.to_string()),
        },
        LiveDoc::Comments { doc, scope } => match doc.effect(update) {
            Ok(e) if e.unplaceable > 0 => Verdict::Unintegrable(unintegrable(&e.unknown)),
            Ok(e) => {
                let (mut j, refused) = judge_comments(doc, scope, p, &e);
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
    for (target, fp) in ordered {
        let verdict =
            match target {
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
            None | Some(0.0 | 1.0)
        ) {
            refuse("", "schema.value", "a paragraph's level is 0 or 1")?;
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
                "level" => matches!(v.as_f64(), Some(0.0 | 1.0)),
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
            require(
                p,
                Action::EditProposal {
                    proposal_delegation: owner.clone(),
                },
                ctx,
                &target,
            )?;
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
    }
    if qe.deleted && qe.inserted.is_none() {
        require(p, Action::DecideProposal, ctx, &target)?;
    }
    for (field, change) in &qe.fields {
        let t = format!("{target} ({field})");
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
                        Some("accepted" | "rejected") => {
                            require(p, Action::DecideProposal, ctx, &t)?
                        }
                        Some("pending") => require(p, Action::DecideProposal, ctx, &t)?,
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
            }
            "id" | "delegation" | "author" | "createdAt" => refuse(
                &t,
                "proposals.identity",
                "who made a proposal, and when, never changes",
            )?,
            "onBehalfOf" => {
                require(
                    p,
                    Action::EditProposal {
                        proposal_delegation: owner.clone(),
                    },
                    ctx,
                    &t,
                )?;
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
            _ => require(
                p,
                Action::EditProposal {
                    proposal_delegation: owner.clone(),
                },
                ctx,
                &t,
            )?,
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
