//! What every request handler and room shares.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use plenary_store::Store;
use tokio::sync::watch;

use crate::ServerConfig;
use crate::keyring::Keyring;
use crate::metrics::Metrics;
use crate::rooms::Rooms;
use crate::tickets::Tickets;

pub(crate) struct ServerState {
    pub config: ServerConfig,
    /// The token verifier in use (`verifier.current()`), renewed when the key set file changes.
    pub verifier: Arc<Keyring>,
    pub store: Arc<dyn Store>,
    pub rooms: Rooms,
    pub metrics: Arc<Metrics>,
    /// Single-use tickets for the WebSocket URL (`POST /api/tickets`), at most one per
    /// connection the server would admit.
    pub tickets: Tickets,
    /// Becomes `true` once when the server starts shutting down.
    pub shutdown: watch::Receiver<bool>,
    next_conn: AtomicU64,
    store_ok: AtomicBool,
}

impl ServerState {
    pub(crate) fn new(
        config: ServerConfig,
        verifier: Arc<Keyring>,
        store: Arc<dyn Store>,
        shutdown: watch::Receiver<bool>,
    ) -> Arc<Self> {
        let tickets = Tickets::new(config.limits.max_connections);
        let metrics = Arc::new(Metrics::new());
        metrics.set_limits(&config.limits.named_values());
        Arc::new(ServerState {
            config,
            verifier,
            store,
            rooms: Rooms::default(),
            metrics,
            tickets,
            shutdown,
            next_conn: AtomicU64::new(1),
            store_ok: AtomicBool::new(true),
        })
    }

    pub(crate) fn next_conn_id(&self) -> u64 {
        self.next_conn.fetch_add(1, Ordering::Relaxed)
    }

    pub(crate) fn store_healthy(&self, ok: bool) {
        self.store_ok.store(ok, Ordering::Relaxed);
    }

    pub(crate) fn is_store_healthy(&self) -> bool {
        self.store_ok.load(Ordering::Relaxed)
    }
}
