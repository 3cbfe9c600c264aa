//! The Plenary server: WebSocket sync for stock Yjs clients, the policy
//! check on every update, the store, and the HTTP API.
//!
//! This crate wires the others and alone knows axum. Data flows one way:
//! WebSocket ([`connection`]) → session (token, role) → room (document,
//! policy check) → store → broadcast. [`run`] takes its listener, store and
//! shutdown signal from the caller, so tests run it on port 0 with a temp
//! store and stop it deterministically.

mod api;
mod config;
mod connection;
#[cfg(test)]
mod convergence_tests;
mod document;
mod enforcement;
/// Entry points for `cargo fuzz` (fuzz/): not part of the server's API.
#[doc(hidden)]
pub mod fuzzing;
mod http;
mod keyring;
mod listener;
mod metrics;
mod persistence;
mod protocol;
mod room;
mod rooms;
mod session;
mod state;
mod tickets;

use std::future::Future;
use std::sync::Arc;

pub use config::{Limits, ServerConfig};
use plenary_store::Store;
use tokio::net::TcpListener;
use tokio::sync::watch;

/// Why the server could not run.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("invalid token verification key: {0}")]
    Key(#[from] plenary_auth::KeyError),
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
}

/// Serves until `shutdown` completes, then closes every connection with
/// "going away" (1001), writes final snapshots and returns.
pub async fn run(
    listener: TcpListener,
    config: ServerConfig,
    store: Arc<dyn Store>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    let keys = Arc::new(keyring::Keyring::new(
        config.auth.clone(),
        config.jwks_file.clone(),
    )?);
    let grace = config.shutdown_grace;
    let (stop_tx, stop_rx) = watch::channel(false);
    let state = state::ServerState::new(config, keys.clone(), store, stop_rx);
    tokio::spawn(keyring::follow(
        keys,
        state.metrics.clone(),
        state.config.jwks_poll,
        state.shutdown.clone(),
    ));
    let app = http::router(state.clone());
    let stopped = stop_tx.subscribe();
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    });
    listener::serve(
        listener,
        app,
        &state.config.limits,
        state.metrics.clone(),
        stopped,
        grace,
    )
    .await?;
    // Rooms saw the same signal: wait until they have written their final
    // snapshots and every connection has sent its "going away".
    let deadline = tokio::time::Instant::now() + grace;
    let busy = |s: &state::ServerState| {
        !s.rooms.is_empty() || s.metrics.rooms_loaded.get() > 0 || s.metrics.connections.get() > 0
    };
    while busy(&state) && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    Ok(())
}
