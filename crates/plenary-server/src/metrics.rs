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
