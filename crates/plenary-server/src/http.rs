//! The HTTP surface: WebSocket sync, health, metrics, the web editor.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;

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

async fn metrics(State(state): State<Arc<ServerState>>) -> impl IntoResponse {
    let mut body = state.metrics.render();
    body.push_str(&format!(
        "# HELP plenary_store_healthy Whether the last store operation succeeded\n# TYPE plenary_store_healthy gauge\nplenary_store_healthy {}\n",
        u8::from(state.is_store_healthy())
    ));
    body.push_str(&state.config.limits.render_metrics());
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body)
}
