//! Prometheus metrics, exposed at `/metrics` in the OpenMetrics text format.
//!
//! Kept with `prometheus-client` (the Prometheus project's own Rust client): its counters and
//! gauges are one relaxed atomic each, so the hot path pays what the hand-written atomics cost
//! before, and it brings the histograms an operator alerts on (update check, store commit,
//! fan-out, join) with a correct encoder. One registry per server, no global state: tests run
//! many servers in one process.

use std::sync::atomic::AtomicU64;
use std::time::Instant;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

pub(crate) type Counter = prometheus_client::metrics::counter::Counter;
pub(crate) type Gauge = prometheus_client::metrics::gauge::Gauge;
type Limit = prometheus_client::metrics::gauge::Gauge<f64, AtomicU64>;

/// Seconds, from 50 µs to about 26 s in doublings: a judged keystroke sits near the bottom, a
/// stalled store at the top.
fn seconds() -> Histogram {
    Histogram::new(exponential_buckets(0.000_05, 2.0, 20))
}

#[derive(Debug)]
pub(crate) struct Metrics {
    pub connections: Gauge,
    pub rooms_loaded: Gauge,
    pub updates_accepted: Counter,
    pub deliveries: Counter,
    pub rejected_forbidden: Counter,
    pub rejected_malformed: Counter,
    pub rejected_oversize: Counter,
    pub slow_consumers: Counter,
    pub auth_failures: Counter,
    pub store_errors: Counter,
    /// Open TCP connections (HTTP and WebSocket), and the cap on them.
    pub tcp_connections: Gauge,
    pub connection_cap: Gauge,
    pub refused_total_cap: Counter,
    pub refused_address_cap: Counter,
    pub evicted_unserved: Counter,
    pub header_timeouts: Counter,
    pub accept_errors: Counter,
    pub ws_idle_closed: Counter,
    pub updates_throttled: Counter,
    pub presence_deferred: Counter,
    pub presence_refused: Counter,
    pub missing_docs: Counter,
    pub key_reloads: Counter,
    pub key_reload_failures: Counter,
    /// Updates applied in memory and waiting for the store (all rooms).
    pub commit_queue: Gauge,
    pub store_healthy: Gauge,
    /// Time to judge one incoming update against the policy.
    pub check_seconds: Histogram,
    /// Time from handing a batch to the store until it is durable.
    pub commit_seconds: Histogram,
    /// Updates per store commit (the group commit's batch).
    pub commit_batch: Histogram,
    /// Time to queue one committed batch's frames to every connection of its room.
    pub fanout_seconds: Histogram,
    /// Time for a new connection to join its room, loading the document if it is cold.
    pub join_seconds: Histogram,
    limits: Family<Vec<(String, String)>, Limit>,
    registry: Registry,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub(crate) fn new() -> Metrics {
        let mut m = Metrics {
            connections: Default::default(),
            rooms_loaded: Default::default(),
            updates_accepted: Default::default(),
            deliveries: Default::default(),
            rejected_forbidden: Default::default(),
            rejected_malformed: Default::default(),
            rejected_oversize: Default::default(),
            slow_consumers: Default::default(),
            auth_failures: Default::default(),
            store_errors: Default::default(),
            tcp_connections: Default::default(),
            connection_cap: Default::default(),
            refused_total_cap: Default::default(),
            refused_address_cap: Default::default(),
            evicted_unserved: Default::default(),
            header_timeouts: Default::default(),
            accept_errors: Default::default(),
            ws_idle_closed: Default::default(),
            updates_throttled: Default::default(),
            presence_deferred: Default::default(),
            presence_refused: Default::default(),
            missing_docs: Default::default(),
            key_reloads: Default::default(),
            key_reload_failures: Default::default(),
            commit_queue: Gauge::default(),
            store_healthy: Gauge::default(),
            check_seconds: seconds(),
            commit_seconds: seconds(),
            commit_batch: Histogram::new(exponential_buckets(1.0, 2.0, 12)),
            fanout_seconds: seconds(),
            join_seconds: seconds(),
            limits: Family::default(),
            registry: Registry::default(),
        };
        let r = &mut m.registry;
        r.register(
            "plenary_connections",
            "Open WebSocket connections",
            m.connections.clone(),
        );
        r.register(
            "plenary_rooms_loaded",
            "Documents loaded in memory",
            m.rooms_loaded.clone(),
        );
        r.register(
            "plenary_tcp_connections",
            "Open TCP connections, HTTP and WebSocket",
            m.tcp_connections.clone(),
        );
        r.register(
            "plenary_tcp_connection_cap",
            "Most open TCP connections (max_connections, lowered to the open-file limit)",
            m.connection_cap.clone(),
        );
        r.register(
            "plenary_updates_accepted",
            "Document updates accepted",
            m.updates_accepted.clone(),
        );
        r.register(
            "plenary_deliveries",
            "Update frames queued to clients",
            m.deliveries.clone(),
        );
        r.register(
            "plenary_updates_forbidden",
            "Updates refused by the policy",
            m.rejected_forbidden.clone(),
        );
        r.register(
            "plenary_messages_malformed",
            "Malformed messages and updates",
            m.rejected_malformed.clone(),
        );
        r.register(
            "plenary_messages_oversize",
            "Messages over the size limit",
            m.rejected_oversize.clone(),
        );
        r.register(
            "plenary_slow_consumers",
            "Connections dropped as slow consumers",
            m.slow_consumers.clone(),
        );
        r.register(
            "plenary_auth_failures",
            "Connections refused at the handshake",
            m.auth_failures.clone(),
        );
        r.register(
            "plenary_store_errors",
            "Store operations that failed",
            m.store_errors.clone(),
        );
        r.register(
            "plenary_connections_refused_total_cap",
            "Connections refused: max_connections reached",
            m.refused_total_cap.clone(),
        );
        r.register(
            "plenary_connections_refused_address_cap",
            "Connections refused: max_connections_per_address reached",
            m.refused_address_cap.clone(),
        );
        r.register(
            "plenary_connections_evicted",
            "Connections without a request closed to make room at max_connections",
            m.evicted_unserved.clone(),
        );
        r.register(
            "plenary_header_timeouts",
            "Connections closed: request head not complete within header_read_timeout",
            m.header_timeouts.clone(),
        );
        r.register(
            "plenary_accept_errors",
            "Failed accepts (file descriptors exhausted, say)",
            m.accept_errors.clone(),
        );
        r.register(
            "plenary_ws_idle_closed",
            "WebSockets closed: nothing received within ws_idle_timeout",
            m.ws_idle_closed.clone(),
        );
        r.register(
            "plenary_updates_throttled",
            "Updates held back by update_rate/update_burst",
            m.updates_throttled.clone(),
        );
        r.register(
            "plenary_presence_deferred",
            "Presence messages held back by presence_rate/presence_burst",
            m.presence_deferred.clone(),
        );
        r.register(
            "plenary_presence_refused",
            "Presence messages not relayed (not JSON, too large, too many ids)",
            m.presence_refused.clone(),
        );
        r.register(
            "plenary_missing_docs",
            "Connections refused: no such document",
            m.missing_docs.clone(),
        );
        r.register(
            "plenary_jwks_reloads",
            "Times a changed key set file was read and put in use",
            m.key_reloads.clone(),
        );
        r.register(
            "plenary_jwks_reload_failures",
            "Times a changed key set file was refused (the keys in use stay)",
            m.key_reload_failures.clone(),
        );
        r.register(
            "plenary_commit_queue",
            "Updates applied in memory and waiting for the store, in all rooms",
            m.commit_queue.clone(),
        );
        r.register(
            "plenary_store_healthy",
            "Whether the last store operation succeeded",
            m.store_healthy.clone(),
        );
        r.register(
            "plenary_update_check_seconds",
            "Time to judge one incoming update against the policy",
            m.check_seconds.clone(),
        );
        r.register(
            "plenary_commit_seconds",
            "Time for a batch of updates to become durable in the store",
            m.commit_seconds.clone(),
        );
        r.register(
            "plenary_commit_batch_updates",
            "Updates per store commit",
            m.commit_batch.clone(),
        );
        r.register(
            "plenary_fanout_seconds",
            "Time to queue a committed batch to every connection of its room",
            m.fanout_seconds.clone(),
        );
        r.register(
            "plenary_join_seconds",
            "Time for a connection to join its document, loading it if cold",
            m.join_seconds.clone(),
        );
        r.register(
            "plenary_limit",
            "A configured limit (SPEC §3)",
            m.limits.clone(),
        );
        m
    }

    /// Publishes each configured limit as `plenary_limit{name="…"}`, so an alert can compare a
    /// count with its cap.
    pub(crate) fn set_limits(&self, limits: &[(&str, f64)]) {
        for (name, v) in limits {
            self.limits
                .get_or_create(&vec![("name".to_owned(), (*name).to_owned())])
                .set(*v);
        }
    }

    pub(crate) fn render(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}

/// Seconds since `start`, for a histogram.
pub(crate) fn since(start: Instant) -> f64 {
    start.elapsed().as_secs_f64()
}
