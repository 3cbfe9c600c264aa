//! The HTTP JSON API under `/api` (SPEC §6, issue 6): documents, their history, versions,
//! compare, attribution and proposals, drafting checks, the compilation text and Word with
//! tracked changes against a base, described by an OpenAPI document generated from these
//! handlers (`/api/openapi.json`).
//!
//! Every route but the description takes the WebSocket's token (`Authorization: Bearer` or
//! `?token=`) and answers only for documents the token opens. Errors are JSON bodies
//! `{"error": "<kind>", "detail": "<what was wrong>"}` with the matching status code.

mod docs;
mod error;
mod gate;
mod openapi;
mod proposals;
mod session;

use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use axum::routing::post;
use plenary_history::History;

use crate::state::ServerState;

pub(crate) use error::{ApiError, json_error_bodies};

/// What the API handlers share besides the server state: the history reader with its caches,
/// and the per-document limit on history requests running at once.
#[derive(Clone)]
pub(crate) struct Api {
    pub state: Arc<ServerState>,
    pub history: Arc<History>,
    pub gate: Arc<gate::HistoryGate>,
}

/// The `/api` routes, to be merged into the server's router.
pub(crate) fn router(state: &Arc<ServerState>) -> Router<Arc<ServerState>> {
    let api = Api {
        state: state.clone(),
        history: Arc::new(History::new(state.store.clone())),
        gate: Arc::new(gate::HistoryGate::new(
            state.config.limits.history_requests_per_doc,
        )),
    };
    Router::new()
        .route("/api/openapi.json", get(openapi::serve))
        .route("/api/docs", get(docs::list).post(docs::create))
        .route("/api/docs/{doc}", get(docs::get_doc))
        .route("/api/docs/{doc}/timeline", get(docs::timeline))
        .route("/api/docs/{doc}/state", get(docs::state_at))
        .route(
            "/api/docs/{doc}/versions",
            get(docs::versions).post(docs::name_version),
        )
        .route("/api/docs/{doc}/compare", get(docs::compare))
        .route("/api/docs/{doc}/attribution", get(docs::attribution))
        .route("/api/docs/{doc}/proposals", get(docs::proposals))
        .route("/api/docs/{doc}/checks", get(docs::checks))
        .route("/api/docs/{doc}/compilation", get(docs::compilation))
        .route("/api/docs/{doc}/tracked", get(docs::tracked))
        .route(
            "/api/docs/{doc}/proposals/{id}/decision",
            post(proposals::decide),
        )
        .route("/api/tickets", post(session::ticket))
        .route("/api/dev/token", post(session::dev_token))
        .with_state(api)
}
