//! `POST /api/docs/{doc}/proposals/{id}/decision`: the chair accepts or
//! rejects a proposal, and the server applies it.
//!
//! The decision is a command into the document's room, taken in its turn
//! like an update (so two chairs racing, or a chair and someone typing, are
//! serialised), applied as one transaction of the server's own
//! (`plenary_doc::ResolutionDoc::decide`: a three-way merge of the
//! proposal's change onto the paragraph as it is), logged as the chair's
//! with the paragraphs it touched, and broadcast to every client. Clients
//! cannot write a decision themselves (`proposals.decided-on-server`).
//!
//! A stale proposal (the words it changes were changed since) answers 409
//! with the base, current and proposed texts and a `seen` token; deciding
//! again with that token accepts anyway (the proposal's change wins its
//! conflicts), with `text` too the chair's own text is applied. A token of
//! an older current text is 409 again.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use plenary_auth::{Action, DocContext, DocMode, authorize};
use plenary_doc::{DecideError, Decision, Stale};
use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;
use utoipa::{IntoParams, ToSchema};

use super::Api;
use super::error::{ApiError, ErrorBody};
use crate::connection::valid_doc_name;
use crate::room::{DecideFailure, DecideRequest, RoomCmd};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct TokenQuery {
    /// The JWT, for clients that cannot set `Authorization: Bearer`.
    token: Option<String>,
}

/// Accept or reject.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub(crate) enum DecisionKind {
    Accept,
    Reject,
}

/// The chair's decision.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct DecisionBody {
    pub decision: DecisionKind,
    /// The `seen` token of a 409 answer: accept anyway what was shown.
    pub seen: Option<String>,
    /// The chair's own text (a replace: the paragraph's or footnote's new text, with `seen`; an
    /// insert: the new paragraph's text).
    pub text: Option<String>,
}

/// A 409 for a stale proposal: the error shape plus the three texts and the token.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct StaleBody {
    /// `conflict`.
    pub error: String,
    pub detail: String,
    pub proposal: String,
    /// The text the proposal was made against (absent for a proposal older than `baseText`).
    pub base: Option<String>,
    /// The paragraph's (or, for a footnote amendment, the footnote's) text now.
    pub current: String,
    /// The proposal's text.
    pub proposed: String,
    /// Where both changed the same words: byte ranges `{start, end}` in `base`, `current` and
    /// `proposed`.
    #[schema(value_type = Vec<Object>)]
    pub conflicts: Vec<plenary_doc::merge::Conflict>,
    /// Pass it back as `seen` to accept anyway (or with `text`).
    pub seen: String,
}

impl StaleBody {
    fn new(s: Stale) -> Self {
        StaleBody {
            error: "conflict".into(),
            detail: "the words this proposal changes were changed since it was made: \
                     compare the texts, then accept anyway (seen), edit (seen and text) or reject"
                .into(),
            proposal: s.proposal,
            base: s.base,
            current: s.current,
            proposed: s.proposed,
            conflicts: s.conflicts,
            seen: s.seen,
        }
    }
}

/// `POST /api/docs/{doc}/proposals/{id}/decision`: the chair accepts or rejects a proposal.
#[utoipa::path(post, path = "/api/docs/{doc}/proposals/{id}/decision",
    params(("doc" = String, Path), ("id" = String, Path), TokenQuery),
    request_body = DecisionBody,
    responses((status = 200, body = Object, description = "The proposal as decided (SPEC §2)"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 413, body = ErrorBody, description = "The chair's text is over the paragraph (or, for a footnote amendment, the footnote) limit"),
        (status = 409, body = StaleBody, description = "Stale: the three texts and a `seen` token; or the proposal is no longer pending, or its paragraph is gone (the error shape)"),
        (status = 503, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn decide(
    State(api): State<Api>,
    Path((doc, id)): Path<(String, String)>,
    Query(q): Query<TokenQuery>,
    headers: HeaderMap,
    Json(body): Json<DecisionBody>,
) -> Result<Response, ApiError> {
    let p = super::docs::principal(&api, q.token, &headers, Some(&doc))?;
    // Deciding is the chair's whatever the document's mode.
    let ctx = DocContext {
        mode: DocMode::Negotiation,
        observers_may_comment: false,
    };
    if let Some(denial) = authorize(&p, &Action::DecideProposal, &ctx).denial() {
        return Err(ApiError::forbidden(denial.to_string()));
    }
    if !valid_doc_name(&doc) || doc.contains('/') {
        return Err(ApiError::not_found(format!("no document {doc}")));
    }
    let cap = api.state.config.limits.max_paragraph_chars;
    if let Some(text) = &body.text
        && text.encode_utf16().count() > cap
    {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "this text would be {} characters; the limit is {cap} [limits.paragraph-chars]",
                text.encode_utf16().count()
            ),
        ));
    }
    let decision = match body.decision {
        DecisionKind::Reject if body.text.is_some() => {
            return Err(ApiError::bad_request("a rejection takes no text"));
        }
        DecisionKind::Reject => Decision::Reject,
        DecisionKind::Accept => Decision::Accept {
            seen: body.seen,
            text: body.text,
        },
    };
    let exists = api.state.rooms.is_loaded(&doc)
        || api.state.store.doc_exists(&doc).await.map_err(|e| {
            tracing::warn!(doc = %doc, error = %e, "could not check that a document exists");
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "store unavailable; try again",
            )
            .retry_after(1)
        })?;
    if !exists {
        return Err(ApiError::not_found(format!("no document {doc}")));
    }
    // A room orders the decisions of its node; rooms of other nodes may decide the same
    // proposal at the same moment (two chairs on two nodes), and both would apply it. One claim
    // per proposal across every node makes the first the only one. It lapses after
    // DECISION_CLAIM (a node that died mid-decision blocks nothing for long; by then every node
    // has the decision from the log) and is given back when nothing was decided, so the chair
    // can decide again (accept anyway after a stale answer, say).
    let claim = format!("decision:{id}");
    let store_down = |e: plenary_store::StoreError| {
        tracing::warn!(doc = %doc, error = %e, "could not claim a decision");
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "store unavailable; try again",
        )
        .retry_after(1)
    };
    if !api
        .state
        .store
        .claim(&doc, &claim, DECISION_CLAIM)
        .await
        .map_err(store_down)?
    {
        return Err(ApiError::conflict(
            "another decision on this proposal was just applied or is being applied; reload to see its status, and decide again only if it is still pending",
        ));
    }
    let outcome = apply_decision(&api, &doc, id, decision, p).await;
    if !matches!(outcome, Ok(Ok(_)))
        && let Err(e) = api.state.store.release(&doc, &claim).await
    {
        tracing::warn!(doc = %doc, error = %e, "could not release a decision claim; it lapses");
    }
    match outcome {
        Ok(Ok(proposal)) => Ok(Json(proposal).into_response()),
        Ok(Err(e)) => Ok(refused(e)),
        Err(e) => Err(e),
    }
}

/// How long a decision's claim holds when it is not given back: longer than a decision takes
/// to reach every node's log, short enough that a crashed node blocks nothing for long.
const DECISION_CLAIM: std::time::Duration = std::time::Duration::from_secs(60);

/// Has `doc`'s room apply the decision in its turn. `Ok(Err)`: the document said no.
async fn apply_decision(
    api: &Api,
    doc: &str,
    id: String,
    decision: Decision,
    p: plenary_auth::Principal,
) -> Result<Result<plenary_doc::Proposal, DecideError>, ApiError> {
    let (reply, answer) = oneshot::channel();
    let cmd = RoomCmd::Decide {
        request: Box::new(DecideRequest {
            proposal: id,
            decision,
            principal: p,
        }),
        reply,
    };
    let busy = || {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "the document is busy; try again",
        )
        .retry_after(1)
    };
    if api.state.rooms.command(&api.state, doc, cmd).await.is_err() {
        return Err(busy());
    }
    match answer.await {
        Ok(Ok(proposal)) => Ok(Ok(proposal)),
        Ok(Err(DecideFailure::Refused(e))) => Ok(Err(e)),
        Ok(Err(DecideFailure::TooLarge(why))) => {
            Err(ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, why))
        }
        Ok(Err(DecideFailure::Unavailable(why))) => {
            Err(ApiError::new(StatusCode::SERVICE_UNAVAILABLE, why).retry_after(1))
        }
        Err(_) => Err(busy()),
    }
}

/// A refusal from the document, as an answer.
fn refused(e: DecideError) -> Response {
    let error = match e {
        DecideError::Stale(s) => {
            return (StatusCode::CONFLICT, Json(StaleBody::new(*s))).into_response();
        }
        DecideError::UnknownProposal(_) => ApiError::not_found(e.to_string()),
        DecideError::NotPending { .. }
        | DecideError::ParagraphGone { .. }
        | DecideError::FootnoteGone { .. } => ApiError::conflict(e.to_string()),
        DecideError::Incomplete { .. } | DecideError::NotEditable { .. } | DecideError::Empty => {
            ApiError::bad_request(e.to_string())
        }
    };
    error.into_response()
}
