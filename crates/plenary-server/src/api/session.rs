//! Sessions (issue 12): `POST /api/tickets`, a single-use ticket for the WebSocket URL so that
//! the token itself stays out of URLs, and `POST /api/dev/token`, a renewed token in development.

use std::time::{Duration, Instant};

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use plenary_auth::{Claims, Minter, Principal};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::Api;
use super::error::{ApiError, ErrorBody};
use crate::connection::{request_token, unix_now};
use crate::tickets::{IssueError, TICKET_TTL};

/// How long after its `exp` a token may still be renewed in development.
const RENEW_GRACE: Duration = Duration::from_secs(24 * 3600);
/// The longest lifetime a renewed development token gets (what `serve --dev` prints).
const MAX_RENEWED_TTL: Duration = Duration::from_secs(8 * 3600);

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct TokenQuery {
    /// The JWT, for clients that cannot set `Authorization: Bearer`.
    token: Option<String>,
}

/// What a ticket request may ask (the body is optional).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct TicketRequest {
    /// A shorter life than the default 30 seconds, in seconds (1 to 30).
    pub expires_in_s: Option<u64>,
}

/// A ticket for one WebSocket connection: `/sync/<doc>?ticket=<ticket>`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct TicketView {
    /// 256 random bits, base64url. Opens one connection, once, as the token that asked for it
    /// (that token's expiry still ends the connection).
    pub ticket: String,
    /// Seconds until the ticket is refused if still unused.
    pub expires_in_s: u64,
}

/// A renewed development token.
#[derive(Debug, Serialize)]
pub(crate) struct TokenView {
    pub token: String,
    pub expires_in_s: u64,
}

fn verified(api: &Api, token: Option<String>, headers: &HeaderMap) -> Result<Principal, ApiError> {
    let token = request_token(token, headers).ok_or_else(|| {
        ApiError::unauthorized("missing token: pass Authorization: Bearer <jwt> or ?token=<jwt>")
    })?;
    api.state
        .verifier
        .current()
        .verify(&token, unix_now())
        .map_err(|e| ApiError::unauthorized(format!("invalid token: {e}")))
}

/// `POST /api/tickets`: a single-use ticket for the WebSocket URL.
#[utoipa::path(post, path = "/api/tickets", params(TokenQuery),
    request_body(content = Option<TicketRequest>, description = "Optional; `{}` or no body asks for the default 30 s"),
    responses((status = 201, body = TicketView, description = "Connect to /sync/<doc>?ticket=<ticket> within expires_in_s; the ticket works once"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 429, body = ErrorBody, description = "This user holds too many unused tickets"),
        (status = 503, body = ErrorBody, description = "Too many tickets outstanding on this node; see Retry-After")),
    security(("bearer" = [])))]
pub(crate) async fn ticket(
    State(api): State<Api>,
    Query(q): Query<TokenQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let principal = verified(&api, q.token, &headers)?;
    let request: TicketRequest = if body.iter().all(u8::is_ascii_whitespace) {
        TicketRequest::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| {
            ApiError::bad_request(format!(
                "the body is not a ticket request ({{\"expires_in_s\": 1..30}}): {e}"
            ))
        })?
    };
    let ttl = match request.expires_in_s {
        None => TICKET_TTL,
        Some(s) if (1..=TICKET_TTL.as_secs()).contains(&s) => Duration::from_secs(s),
        Some(_) => {
            return Err(ApiError::bad_request(format!(
                "expires_in_s must be between 1 and {}",
                TICKET_TTL.as_secs()
            )));
        }
    };
    let issued = match api.state.tickets.issue(principal, ttl, Instant::now()) {
        Ok(issued) => issued,
        Err(e) => {
            let (status, retry_after) = match e {
                IssueError::Full => (StatusCode::SERVICE_UNAVAILABLE, 5),
                IssueError::TooManyForSubject => {
                    (StatusCode::TOO_MANY_REQUESTS, TICKET_TTL.as_secs())
                }
            };
            let mut response = ApiError::new(status, e.to_string()).into_response();
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
            return Ok(response);
        }
    };
    let view = TicketView {
        ticket: issued.ticket,
        expires_in_s: issued.expires_in.as_secs(),
    };
    Ok((StatusCode::CREATED, Json(view)).into_response())
}

/// `POST /api/dev/token` (only with `serve --dev`): the same claims as the given token, with a
/// fresh expiry. The token's signature, `iss` and `aud` are checked; its `exp` may have passed,
/// by at most a day. The new token lives as long as the old one did (`exp − iat`), at most 8 h.
pub(crate) async fn dev_token(
    State(api): State<Api>,
    Query(q): Query<TokenQuery>,
    headers: HeaderMap,
) -> Result<Json<TokenView>, ApiError> {
    let Some(key) = &api.state.config.dev_signing else {
        // Exactly what an unknown route answers: production servers have no such route.
        return Err(ApiError::not_found("not found"));
    };
    let token = request_token(q.token, &headers).ok_or_else(|| {
        ApiError::unauthorized("missing token: pass Authorization: Bearer <jwt> or ?token=<jwt>")
    })?;
    let now = unix_now();
    let old = api
        .state
        .verifier
        .current()
        .verify_renewable(&token, now, RENEW_GRACE.as_secs())
        .map_err(|e| ApiError::unauthorized(format!("this token cannot be renewed: {e}")))?;
    let lifetime = old
        .issued_at
        .filter(|iat| *iat < old.principal.expires_at)
        .map_or(MAX_RENEWED_TTL.as_secs(), |iat| {
            old.principal.expires_at - iat
        })
        .clamp(1, MAX_RENEWED_TTL.as_secs());
    let p = old.principal;
    let auth = &api.state.config.auth;
    let claims = Claims {
        sub: p.sub,
        name: p.name,
        role: p.role,
        delegation: p.delegation,
        groups: p.groups,
        docs: p.docs,
        iss: auth.issuer.clone(),
        aud: auth.audience.clone(),
        exp: now + lifetime,
        nbf: None,
        iat: now,
    };
    let minted = Minter::new(key).ok().and_then(|m| m.mint(&claims).ok());
    let Some(token) = minted else {
        return Err(ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the development key cannot sign tokens",
        ));
    };
    Ok(Json(TokenView {
        token,
        expires_in_s: lifetime,
    }))
}
