//! Prometheus metrics, exposed at `/metrics`.
//!
//! A handful of counters and gauges kept as atomics and rendered in the
//! Prometheus text format: the server needs no more than that, and it keeps
//! the hot path (one relaxed atomic add) free of any registry lookup.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

#[derive(Debug, Default)]
pub(crate) struct Counter(AtomicU64);

impl Counter {
    pub(crate) fn inc(&self) {
        self.add(1);
    }
    pub(crate) fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }
    pub(crate) fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

#[derive(Debug, Default)]
pub(crate) struct Gauge(AtomicI64);

impl Gauge {
    pub(crate) fn inc(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
    pub(crate) fn dec(&self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
    pub(crate) fn get(&self) -> i64 {
        self.0.load(Ordering::Relaxed)
    }
    pub(crate) fn set(&self, v: i64) {
        self.0.store(v, Ordering::Relaxed);
    }
}

#[derive(Debug, Default)]
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
}

impl Metrics {
    pub(crate) fn render(&self) -> String {
        let mut out = String::new();
        let gauges = [
            (
                "plenary_connections",
                "Open WebSocket connections",
                self.connections.get(),
            ),
            (
                "plenary_rooms_loaded",
                "Documents loaded in memory",
                self.rooms_loaded.get(),
            ),
            (
                "plenary_tcp_connections",
                "Open TCP connections, HTTP and WebSocket",
                self.tcp_connections.get(),
            ),
            (
                "plenary_tcp_connection_cap",
                "Most open TCP connections (max_connections, lowered to the open-file limit)",
                self.connection_cap.get(),
            ),
        ];
        for (name, help, v) in gauges {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {v}");
        }
        let counters = [
            (
                "plenary_updates_accepted_total",
                "Document updates accepted",
                &self.updates_accepted,
            ),
            (
                "plenary_deliveries_total",
                "Update frames queued to clients",
                &self.deliveries,
            ),
            (
                "plenary_updates_forbidden_total",
                "Updates refused by the policy",
                &self.rejected_forbidden,
            ),
            (
                "plenary_messages_malformed_total",
                "Malformed messages and updates",
                &self.rejected_malformed,
            ),
            (
                "plenary_messages_oversize_total",
                "Messages over the size limit",
                &self.rejected_oversize,
            ),
            (
                "plenary_slow_consumers_total",
                "Connections dropped as slow consumers",
                &self.slow_consumers,
            ),
            (
                "plenary_auth_failures_total",
                "Connections refused at the handshake",
                &self.auth_failures,
            ),
            (
                "plenary_store_errors_total",
                "Store operations that failed",
                &self.store_errors,
            ),
            (
                "plenary_connections_refused_total_cap_total",
                "Connections refused: max_connections reached",
                &self.refused_total_cap,
            ),
            (
                "plenary_connections_refused_address_cap_total",
                "Connections refused: max_connections_per_address reached",
                &self.refused_address_cap,
            ),
            (
                "plenary_connections_evicted_total",
                "Connections without a request closed to make room at max_connections",
                &self.evicted_unserved,
            ),
            (
                "plenary_header_timeouts_total",
                "Connections closed: request head not complete within header_read_timeout",
                &self.header_timeouts,
            ),
            (
                "plenary_accept_errors_total",
                "Failed accepts (file descriptors exhausted, say)",
                &self.accept_errors,
            ),
            (
                "plenary_ws_idle_closed_total",
                "WebSockets closed: nothing received within ws_idle_timeout",
                &self.ws_idle_closed,
            ),
            (
                "plenary_updates_throttled_total",
                "Updates held back by update_rate/update_burst",
                &self.updates_throttled,
            ),
            (
                "plenary_presence_deferred_total",
                "Presence messages held back by presence_rate/presence_burst",
                &self.presence_deferred,
            ),
            (
                "plenary_presence_refused_total",
                "Presence messages not relayed (not JSON, too large, too many ids)",
                &self.presence_refused,
            ),
            (
                "plenary_missing_docs_total",
                "Connections refused: no such document",
                &self.missing_docs,
            ),
            (
                "plenary_jwks_reloads_total",
                "Times a changed key set file was read and put in use",
                &self.key_reloads,
            ),
            (
                "plenary_jwks_reload_failures_total",
                "Times a changed key set file was refused (the keys in use stay)",
                &self.key_reload_failures,
            ),
        ];
        for (name, help, c) in counters {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}",
                c.get()
            );
        }
        out
    }
}
