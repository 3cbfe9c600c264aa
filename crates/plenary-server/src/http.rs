//! The HTTP surface: WebSocket sync, health, metrics, the web editor.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::api::ApiError;
use crate::connection::sync_handler;
use crate::state::ServerState;

pub(crate) fn router(state: Arc<ServerState>) -> Router {
    let mut router = Router::new()
        .route("/sync/{*doc}", get(sync_handler))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .merge(crate::api::router(&state));
    if let Some(dir) = state.config.web_dir.clone() {
        router = router.fallback_service(tower_http::services::ServeDir::new(dir));
    }
    let limit = state.config.limits.request_timeout;
    router
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            limit,
        ))
        .layer(tower_http::timeout::RequestBodyTimeoutLayer::new(limit))
        .layer(axum::middleware::map_response(
            crate::api::json_error_bodies,
        ))
        .with_state(state)
}

/// Ready when the store answers and the server is not shutting down.
async fn readyz(State(state): State<Arc<ServerState>>) -> impl IntoResponse {
    if *state.shutdown.borrow() {
        return (StatusCode::SERVICE_UNAVAILABLE, "shutting down".to_string());
    }
    match tokio::time::timeout(Duration::from_secs(2), state.store.ping()).await {
        Ok(Ok(())) => {
            state.store_healthy(true);
            (StatusCode::OK, "ready".to_string())
        }
        Ok(Err(e)) => {
            state.store_healthy(false);
            // The store's own error text (a Redis address, say) is for the log, not the probe.
            tracing::warn!(error = %e, "readiness: the store did not answer");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "store unavailable".to_string(),
            )
        }
        Err(_) => {
            state.store_healthy(false);
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "store unavailable: no answer".to_string(),
            )
        }
    }
}

/// `/metrics`, for Prometheus. With `PLENARY_METRICS_TOKEN` set it answers only
/// `Authorization: Bearer <that token>` (a scrape job's `authorization` setting); without it, the
/// operator keeps it from the public side (deploy/nginx.conf does not pass `/metrics`).
async fn metrics(State(state): State<Arc<ServerState>>, headers: HeaderMap) -> Response {
    if let Some(want) = &state.config.metrics_token {
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        // Compared in time independent of where the first difference lies.
        let same = given.len() == want.len()
            && given
                .bytes()
                .zip(want.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0;
        if !same {
            return ApiError::unauthorized(
                "/metrics needs the scrape token: Authorization: Bearer <PLENARY_METRICS_TOKEN>",
            )
            .into_response();
        }
    }
    state
        .metrics
        .store_healthy
        .set(i64::from(state.is_store_healthy()));
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics.render(),
    )
        .into_response()
}
