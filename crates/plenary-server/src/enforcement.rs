//! The policy check on every incoming update: what would it change
//! (`plenary-doc`'s update effect, computed without applying it), and may
//! this principal do each of those things (`plenary-auth`'s policy).
//!
//! Architecture invariant: an update is allowed only if *every* action it
//! contains is allowed; anything the effect function cannot place in the
//! schema (`unknown`) is denied. The check runs against the document as it
//! is before the update, so a paragraph's status is the one the client saw
//! or a stricter one.

use std::collections::{HashMap, VecDeque};
use std::hash::{DefaultHasher, Hash, Hasher};

use plenary_auth::{
    Action, CommentScope, Decision, DocContext, DocMode, ParagraphStatus, Principal, authorize,
};
use plenary_doc::{
    CommentsDoc, CommentsEffect, Effect, Mode, ResolutionDoc, SponsorChange, Status,
};
use serde_json::Value;

use crate::document::LiveDoc;
use crate::session::Session;

pub(crate) enum Verdict {
    /// Allowed; the paragraphs it touches (recorded in the log).
    Allow(Vec<String>),
    /// Forbidden. `first_time` is false for a resend of an update already
    /// denied (a client resyncing state the server refused): it is answered
    /// again, without being analysed or logged again.
    Deny {
        reason: String,
        first_time: bool,
    },
    Malformed(String),
}

/// Recently denied updates (by hash of sender and bytes), per room, with
/// the reason they were denied.
#[derive(Default)]
pub(crate) struct DenialCache {
    order: VecDeque<u64>,
    reasons: HashMap<u64, String>,
}

const DENIAL_CACHE: usize = 256;

impl DenialCache {
    fn key(session: &Session, update: &[u8]) -> u64 {
        let mut h = DefaultHasher::new();
        session.principal.sub.hash(&mut h);
        update.hash(&mut h);
        h.finish()
    }

    fn remember(&mut self, key: u64, reason: &str) {
        if self.reasons.insert(key, reason.to_string()).is_none() {
            self.order.push_back(key);
        }
        if self.order.len() > DENIAL_CACHE
            && let Some(old) = self.order.pop_front()
        {
            self.reasons.remove(&old);
        }
    }
}

/// Checks one update from `session` against the room's document.
pub(crate) fn check(
    doc: &LiveDoc,
    session: &Session,
    update: &[u8],
    cache: &mut DenialCache,
) -> Verdict {
    let key = DenialCache::key(session, update);
    if let Some(reason) = cache.reasons.get(&key) {
        return Verdict::Deny {
            reason: reason.clone(),
            first_time: false,
        };
    }
    let result = match doc {
        LiveDoc::Resolution(d) => match d.effect(update) {
            Ok(effect) => check_resolution(d, &session.principal, &effect),
            Err(e) => return Verdict::Malformed(e.to_string()),
        },
        LiveDoc::Comments { doc, scope } => match doc.effect(update) {
            Ok(effect) => check_comments(doc, scope, &session.principal, &effect),
            Err(e) => return Verdict::Malformed(e.to_string()),
        },
    };
    match result {
        Ok(touched) => Verdict::Allow(touched),
        Err(reason) => {
            cache.remember(key, &reason);
            Verdict::Deny {
                reason,
                first_time: true,
            }
        }
    }
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

fn check_resolution(
    doc: &ResolutionDoc,
    p: &Principal,
    effect: &Effect,
) -> Result<Vec<String>, String> {
    if !effect.unknown.is_empty() {
        return Err(format!(
            "this change writes outside the resolution's schema ({}) [schema.unknown]",
            effect.unknown.join("; ")
        ));
    }
    let ctx = DocContext {
        mode: match doc.mode() {
            Mode::Open => DocMode::Open,
            Mode::Negotiation => DocMode::Negotiation,
        },
        observers_may_comment: false,
    };
    let labels: std::collections::HashMap<String, String> = if effect.paragraphs.is_empty() {
        Default::default()
    } else {
        doc.resolution()
            .paragraphs
            .into_iter()
            .map(|para| (para.id, para.label))
            .collect()
    };
    let name = |id: &str| match labels.get(id) {
        Some(label) if !label.is_empty() => format!("{label} ({id})"),
        _ => format!("paragraph {id}"),
    };
    let mut touched = Vec::new();
    // Decisions first: a forbidden decision is reported as such, not as the
    // text edit it would bring with it.
    for (id, pe) in &effect.proposals {
        let target = format!("proposal {id}");
        let existing = doc.proposal(id);
        let owner = existing
            .as_ref()
            .map(|x| x.delegation.clone())
            .unwrap_or_default();
        if let Some(fields) = &pe.inserted {
            let delegation = fields
                .get("delegation")
                .and_then(Value::as_str)
                .unwrap_or_default();
            require(
                p,
                Action::Propose {
                    delegation: delegation.to_string(),
                },
                &ctx,
                &target,
            )?;
            let status = fields
                .get("status")
                .and_then(Value::as_str)
                .unwrap_or("pending");
            if status != "pending" {
                require(p, Action::DecideProposal, &ctx, &target)?;
            }
            if let Some(para) = fields.get("paragraphId").and_then(Value::as_str) {
                touched.push(para.to_string());
            }
        }
        if pe.deleted && pe.inserted.is_none() {
            require(p, Action::DecideProposal, &ctx, &target)?;
        }
        for (field, change) in &pe.fields {
            match field.as_str() {
                "status" => {
                    for v in &change.values {
                        if v.as_str() == Some("withdrawn") {
                            require(
                                p,
                                Action::WithdrawProposal {
                                    proposal_delegation: owner.clone(),
                                },
                                &ctx,
                                &target,
                            )?;
                        } else {
                            require(p, Action::DecideProposal, &ctx, &target)?;
                        }
                    }
                }
                "decidedBy" => require(p, Action::DecideProposal, &ctx, &target)?,
                "delegation" => {
                    require(
                        p,
                        Action::EditProposal {
                            proposal_delegation: owner.clone(),
                        },
                        &ctx,
                        &target,
                    )?;
                    for v in &change.values {
                        let d = v.as_str().unwrap_or_default().to_string();
                        require(p, Action::Propose { delegation: d }, &ctx, &target)?;
                    }
                }
                _ => require(
                    p,
                    Action::EditProposal {
                        proposal_delegation: owner.clone(),
                    },
                    &ctx,
                    &target,
                )?,
            }
        }
        for s in pe.supporters_added.iter().chain(&pe.supporters_removed) {
            require(
                p,
                Action::SupportProposal {
                    supporter: s.clone(),
                },
                &ctx,
                &target,
            )?;
        }
    }
    for (id, pe) in &effect.paragraphs {
        touched.push(id.clone());
        let target = name(id);
        if pe.duplicate {
            // Two concurrent moves of one paragraph would leave two copies.
            return Err(format!(
                "{target}: this paragraph was moved concurrently by someone else; reload and move it again [structure.duplicate]"
            ));
        }
        if pe.is_move() {
            require(p, Action::MoveParagraph, &ctx, &target)?;
        } else if pe.inserted.is_some() {
            require(p, Action::InsertParagraph, &ctx, &target)?;
        } else if pe.deleted {
            require(p, Action::DeleteParagraph, &ctx, &target)?;
        }
        // Unknown paragraphs count as agreed: when in doubt, the strictest rule.
        let current = doc
            .paragraph_status(id)
            .map(auth_status)
            .unwrap_or(ParagraphStatus::Agreed);
        if pe.text || !pe.formats.is_empty() {
            if pe.inserted.is_none() || pe.is_move() {
                require(p, Action::EditText { status: current }, &ctx, &target)?;
            }
            if pe.formats.contains("footnote") {
                require(p, Action::EditFootnote, &ctx, &target)?;
            }
        }
        for (field, change) in &pe.fields {
            if field == "status" {
                for v in &change.values {
                    let to = parse_status(v)
                        .ok_or_else(|| format!("{target}: invalid status {v} [schema.value]"))?;
                    let action = Action::SetParagraphStatus { from: current, to };
                    if authorize(p, &action, &ctx).needs_reason() {
                        // SPEC §2: reopening an agreed paragraph is logged with a
                        // reason. The chair's client may put it in the paragraph's
                        // `statusNote` in the same update; the log keeps the update.
                        let reason = pe
                            .fields
                            .get("statusNote")
                            .and_then(|c| c.values.first())
                            .and_then(Value::as_str)
                            .unwrap_or("(no reason given)");
                        tracing::info!(
                            paragraph = %target, user = %p.sub, to = ?to, %reason,
                            "agreed paragraph reopened"
                        );
                    }
                    require(p, action, &ctx, &target)?;
                }
            } else {
                require(
                    p,
                    Action::ChangeParagraphShape,
                    &ctx,
                    &format!("{target} ({field})"),
                )?;
            }
        }
    }
    for key in effect.meta.keys() {
        let action = if key == "mode" {
            Action::SetMode
        } else {
            Action::EditMeta { key: key.clone() }
        };
        require(p, action, &ctx, &format!("meta.{key}"))?;
    }
    for id in effect.footnotes.keys() {
        require(p, Action::EditFootnote, &ctx, &format!("footnote {id}"))?;
    }
    for change in &effect.sponsors {
        let delegation = match change {
            SponsorChange::Added { fields } => fields
                .get("delegation")
                .and_then(Value::as_str)
                .map(str::to_string),
            SponsorChange::Removed { delegation } | SponsorChange::Edited { delegation, .. } => {
                delegation.clone()
            }
        };
        require(
            p,
            Action::Cosponsor {
                delegation: delegation.unwrap_or_default(),
            },
            &ctx,
            "sponsors",
        )?;
    }
    touched.sort();
    touched.dedup();
    Ok(touched)
}

fn check_comments(
    doc: &CommentsDoc,
    scope: &CommentScope,
    p: &Principal,
    effect: &CommentsEffect,
) -> Result<Vec<String>, String> {
    if !effect.unknown.is_empty() {
        return Err(format!(
            "this change writes outside the comments schema ({}) [schema.unknown]",
            effect.unknown.join("; ")
        ));
    }
    let ctx = DocContext {
        mode: DocMode::Open,
        observers_may_comment: doc.observers_may_comment(),
    };
    // The scope's policy is the document's to set: chair and secretariat.
    for key in effect.policy.keys() {
        let action = Action::EditMeta {
            key: format!("commentPolicy.{key}"),
        };
        require(p, action, &ctx, &format!("comment policy {key}"))?;
    }
    let mut touched = Vec::new();
    for (id, ce) in &effect.comments {
        let target = format!("comment {id}");
        let existing = doc.comment(id);
        if let Some(c) = &existing {
            touched.push(c.paragraph_id.clone());
        }
        let author = existing
            .as_ref()
            .map(|c| c.author.clone())
            .unwrap_or_default();
        if let Some(fields) = &ce.created {
            require(
                p,
                Action::WriteComment {
                    scope: scope.clone(),
                },
                &ctx,
                &target,
            )?;
            check_signed(p, fields, &target)?;
            if let Some(para) = fields.get("paragraphId").and_then(Value::as_str) {
                touched.push(para.to_string());
            }
        }
        if ce.deleted && ce.created.is_none() {
            require(
                p,
                Action::EditComment {
                    scope: scope.clone(),
                    author_sub: author.clone(),
                },
                &ctx,
                &target,
            )?;
        }
        for field in ce.fields.keys() {
            let action = if field == "resolved" || field == "resolvedBy" {
                Action::ResolveComment {
                    scope: scope.clone(),
                    author_sub: author.clone(),
                }
            } else {
                Action::EditComment {
                    scope: scope.clone(),
                    author_sub: author.clone(),
                }
            };
            require(p, action, &ctx, &format!("{target} ({field})"))?;
        }
        for reply in &ce.replies_added {
            require(
                p,
                Action::WriteComment {
                    scope: scope.clone(),
                },
                &ctx,
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
            require(p, action, &ctx, &format!("reply {rid}"))?;
        }
        for rid in &ce.replies_deleted {
            let author = rid.as_deref().map(reply_author).unwrap_or_default();
            let action = Action::EditComment {
                scope: scope.clone(),
                author_sub: author,
            };
            require(p, action, &ctx, &format!("reply to {target}"))?;
        }
    }
    touched.sort();
    touched.dedup();
    Ok(touched)
}

/// A new comment or reply must be signed with the writer's own identity.
fn check_signed(
    p: &Principal,
    fields: &serde_json::Map<String, Value>,
    target: &str,
) -> Result<(), String> {
    let author = fields.get("author").and_then(Value::as_str);
    if author != Some(p.sub.as_str()) {
        return Err(format!(
            "{target}: a comment must carry its writer's own identity as author [comments.author]"
        ));
    }
    let delegation = fields.get("delegation").and_then(Value::as_str);
    if delegation.is_some_and(|d| d != p.attribution()) {
        return Err(format!(
            "{target}: a comment must carry its writer's own delegation ({}) [comments.delegation]",
            p.attribution()
        ));
    }
    Ok(())
}
