//! Results as a table for people and JSON for the scripts and the plot.

use serde::Serialize;

use crate::crafted::CraftedFigures;
use crate::latency::Percentiles;
use crate::probe::Summary;
use crate::procstat::ServerUsage;
use crate::refusal::RefusalFigures;
use crate::writer::WriterFigures;

/// Figures of the fan-out scenario.
#[derive(Debug, Clone, Serialize)]
pub struct LoadFigures {
    pub label: String,
    pub protocol: String,
    pub url: String,
    pub docs: usize,
    pub clients: usize,
    pub typists: usize,
    pub rate: f64,
    pub duration_s: f64,
    /// Connections that could not be opened.
    pub connect_errors: usize,
    /// Connections that never received sync step 2.
    pub unsynced: usize,
    /// Connections the server closed or broke during the run.
    pub dropped: usize,
    pub first_error: Option<String>,
    pub updates_sent: u64,
    pub awareness_sent: u64,
    pub update_frames_received: u64,
    /// Typist updates seen by another member of the document (one latency sample each).
    pub deliveries: u64,
    pub expected_deliveries: u64,
    pub delivery_ratio: f64,
    pub deliveries_per_s: f64,
    pub awareness_received: u64,
    pub denied: u64,
    pub latency: Percentiles,
    pub server: Option<ServerUsage>,
    /// With `--final-texts`: per document, each typist's paragraph texts at the
    /// end (after the drain), to compare with the server's document.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub final_texts: Option<std::collections::BTreeMap<String, Vec<Vec<String>>>>,
}

/// Figures of the fill and first-sync modes.
#[derive(Debug, Clone, Serialize)]
pub struct ColdFigures {
    pub label: String,
    pub doc: String,
    pub mode: String,
    /// Fill: updates written and accepted per second (seen by an observer).
    pub updates: usize,
    pub updates_per_s: f64,
    /// First sync: milliseconds from opening the socket to sync step 2, per attempt.
    pub first_sync_ms: Vec<f64>,
    pub step2_bytes: usize,
    /// First sync and join storm: one more client that decodes and applies the state, as a page
    /// does (the others only receive it): milliseconds to synced.
    pub synced_with_state_ms: Option<f64>,
    pub server: Option<ServerUsage>,
}

/// Figures of the idle mode: server memory with many loaded, quiet documents.
#[derive(Debug, Clone, Serialize)]
pub struct IdleFigures {
    pub label: String,
    pub protocol: String,
    pub docs: usize,
    /// Connections open (one per document) while memory was read.
    pub clients: usize,
    pub connect_errors: usize,
    pub unsynced: usize,
    pub dropped: usize,
    pub first_error: Option<String>,
    /// Documents re-read by a fresh connection, and how many of them had their seed.
    pub checked: usize,
    pub seeded: usize,
    /// Seconds to open, sync and seed every document.
    pub loaded_in_s: f64,
    /// Server RSS before the first connection and with every document loaded.
    pub rss_empty_mb: f64,
    pub rss_loaded_mb: f64,
    /// (loaded − empty) / clients × 1 000.
    pub mb_per_1000_docs: f64,
    /// With `--quiet-secs`: seconds since seeding at the second reading, the RSS then, and
    /// (quiet − empty) / clients × 1 000.
    pub quiet_s: Option<f64>,
    pub rss_quiet_mb: Option<f64>,
    pub mb_per_1000_docs_quiet: Option<f64>,
}

/// What a run measured.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Report {
    Load(LoadFigures),
    Cold(ColdFigures),
    Idle(IdleFigures),
    Writer(WriterFigures),
    Crafted(CraftedFigures),
    Refusal(RefusalFigures),
}

impl Report {
    /// A plain-text table.
    pub fn table(&self) -> String {
        let mut rows: Vec<(String, String)> = Vec::new();
        let mut row = |k: &str, v: String| rows.push((k.to_string(), v));
        match self {
            Report::Load(f) => {
                row("server", format!("{} ({}) {}", f.label, f.protocol, f.url));
                row(
                    "shape",
                    format!(
                        "{} docs, {} clients, {} typists at {}/s, {:.1} s",
                        f.docs, f.clients, f.typists, f.rate, f.duration_s
                    ),
                );
                row(
                    "connection errors",
                    format!(
                        "{} failed, {} unsynced, {} dropped",
                        f.connect_errors, f.unsynced, f.dropped
                    ),
                );
                row(
                    "updates sent",
                    format!("{} (+{} awareness)", f.updates_sent, f.awareness_sent),
                );
                row(
                    "deliveries",
                    format!(
                        "{} of {} expected ({:.1} %)",
                        f.deliveries,
                        f.expected_deliveries,
                        f.delivery_ratio * 100.0
                    ),
                );
                row("deliveries/s", format!("{:.0}", f.deliveries_per_s));
                let l = &f.latency;
                row(
                    "latency ms",
                    format!(
                        "p50 {:.2}  p95 {:.2}  p99 {:.2}  max {:.2}  mean {:.2}",
                        l.p50_ms, l.p95_ms, l.p99_ms, l.max_ms, l.mean_ms
                    ),
                );
                row("awareness received", f.awareness_received.to_string());
                if f.denied > 0 {
                    row("permission denied", f.denied.to_string());
                }
                if let Some(e) = &f.first_error {
                    row("first error", e.clone());
                }
                server_rows(&mut row, f.server.as_ref());
            }
            Report::Cold(f) => {
                row("server", format!("{} doc {}", f.label, f.doc));
                row("mode", f.mode.clone());
                if f.updates > 0 {
                    row(
                        "updates",
                        format!("{} at {:.0}/s", f.updates, f.updates_per_s),
                    );
                }
                if f.first_sync_ms.len() > 10 {
                    // A join storm: the distribution, not every client.
                    let mut t = f.first_sync_ms.clone();
                    t.sort_by(f64::total_cmp);
                    let at = |q: f64| t[((t.len() - 1) as f64 * q).round() as usize];
                    row(
                        "time to synced ms",
                        format!(
                            "{} clients: p50 {:.1}, p90 {:.1}, p99 {:.1}, max {:.1}",
                            t.len(),
                            at(0.5),
                            at(0.9),
                            at(0.99),
                            at(1.0)
                        ),
                    );
                    row("sync step 2 bytes", f.step2_bytes.to_string());
                } else if !f.first_sync_ms.is_empty() {
                    let list: Vec<String> =
                        f.first_sync_ms.iter().map(|m| format!("{m:.1}")).collect();
                    row("first sync ms", list.join(", "));
                    row("sync step 2 bytes", f.step2_bytes.to_string());
                }
                server_rows(&mut row, f.server.as_ref());
            }
            Report::Idle(f) => {
                row("server", format!("{} ({})", f.label, f.protocol));
                row(
                    "documents",
                    format!(
                        "{} ({} connected, {} failed, {} unsynced, {} dropped), loaded in {:.1} s",
                        f.docs, f.clients, f.connect_errors, f.unsynced, f.dropped, f.loaded_in_s
                    ),
                );
                row(
                    "seed kept",
                    format!("{} of {} re-read documents", f.seeded, f.checked),
                );
                if let Some(e) = &f.first_error {
                    row("first error", e.clone());
                }
                row(
                    "server rss",
                    format!(
                        "{:.1} MB empty, {:.1} MB loaded",
                        f.rss_empty_mb, f.rss_loaded_mb
                    ),
                );
                row("per 1000 docs", format!("{:.1} MB", f.mb_per_1000_docs));
                if let (Some(s), Some(rss), Some(per)) =
                    (f.quiet_s, f.rss_quiet_mb, f.mb_per_1000_docs_quiet)
                {
                    row(
                        "quiet",
                        format!("after {s:.0} s: {rss:.1} MB, {per:.1} MB per 1000 docs"),
                    );
                }
            }
            Report::Writer(f) => {
                row("server", format!("{} doc {}", f.label, f.doc));
                row("in flight", f.in_flight.to_string());
                for w in &f.windows {
                    row(
                        &format!("at {} entries", w.at_entries),
                        format!(
                            "{:.0} updates/s (median of parts; {:.0}/s over all {} in {:.2} s); fill so far {:.0}/s; server cpu {} %, generator cpu {} %; doc {} B",
                            w.median_updates_per_s,
                            w.updates_per_s,
                            w.updates,
                            w.seconds,
                            w.fill_updates_per_s,
                            opt0(w.server_cpu_percent),
                            opt0(w.generator_cpu_percent),
                            w.doc_bytes
                        ),
                    );
                }
            }
            Report::Crafted(f) => {
                row("server", f.label.clone());
                row("tiny edit", summary_text(&f.tiny));
                for fr in &f.frames {
                    row(
                        &format!("{} {} B", fr.kind, fr.frame_bytes),
                        format!(
                            "{} parts: {} after {}{}{}",
                            fr.parts,
                            fr.outcome,
                            fr.check_ms
                                .map(|m| format!("{m:.1} ms"))
                                .unwrap_or_else(|| format!("> {:.0} s", f.timeout_s)),
                            fr.reason_bytes
                                .map(|b| format!("; denial reason {b} B"))
                                .unwrap_or_default(),
                            match (fr.server_rss_before_mb, fr.server_rss_after_mb) {
                                (Some(a), Some(b)) => format!("; server rss {a:.0} → {b:.0} MB"),
                                _ => String::new(),
                            }
                        ),
                    );
                }
            }
            Report::Refusal(f) => {
                row("server", f.label.clone());
                row(
                    "samples",
                    format!(
                        "{} accepted + {} refused{}",
                        f.samples,
                        f.samples,
                        if f.same_client {
                            " (refused edits from the sender's own client id)"
                        } else {
                            " (each refused edit from a fresh client id)"
                        }
                    ),
                );
                row("accepted: echo at chair", summary_text(&f.accepted_echo));
                row("accepted: own sync step 2", summary_text(&f.accepted_ack));
                row(
                    "refused: permission-denied",
                    summary_text(&f.refused_denied),
                );
                row(
                    "refused: compensating update",
                    summary_text(&f.refused_compensated),
                );
                row(
                    "anomalies",
                    format!(
                        "{} refused without denial, {} without compensation, {} accepted lost, {} leaked frames",
                        f.refused_without_denial,
                        f.refused_without_compensation,
                        f.accepted_lost,
                        f.leaked_frames
                    ),
                );
                if !f.denial_rules.is_empty() {
                    let rules: Vec<String> = f
                        .denial_rules
                        .iter()
                        .map(|(r, n)| format!("{r} × {n}"))
                        .collect();
                    row("denials by rule", rules.join(", "));
                }
                if let Some(d) = &f.first_denial {
                    row("first denial", d.chars().take(200).collect());
                }
            }
        }
        let width = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
        rows.iter()
            .map(|(k, v)| format!("{k:<width$}  {v}"))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

fn opt0(v: Option<f64>) -> String {
    v.map(|x| format!("{x:.0}")).unwrap_or_else(|| "-".into())
}

fn summary_text(s: &Summary) -> String {
    if s.n == 0 {
        return "none".into();
    }
    format!(
        "p50 {:.2} ms  p90 {:.2}  p99 {:.2}  max {:.2}  (n = {})",
        s.p50_ms, s.p90_ms, s.p99_ms, s.max_ms, s.n
    )
}

fn server_rows(row: &mut impl FnMut(&str, String), server: Option<&ServerUsage>) {
    if let Some(s) = server {
        row(
            "server rss",
            format!("{:.1} MB (peak {:.1} MB)", s.rss_mb, s.peak_rss_mb),
        );
        row("server cpu", format!("{:.0} %", s.cpu_percent));
    }
}
