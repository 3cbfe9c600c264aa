//! Single-writer throughput against the size of the document's history.
//!
//! One client fills one document with small typing updates (the fill
//! typist of `--mode fill`), keeping `--in-flight` updates unacknowledged at
//! most: an update counts as accepted when a second client (the observer)
//! has received it from the server, so the rate is what the server accepts
//! *and* passes on. At each checkpoint (a number of updates in the
//! document's log, seed included) the sustained rate is measured over the
//! next `--window` updates, with the server's CPU and the generator's own.
//! Between checkpoints the document is filled the same way, unmeasured.
//!
//! The writer keeps one client id for the whole run (the state vectors stay
//! one entry long); its document and the observer's are the only ones the
//! generator keeps.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use rand::SeedableRng;
use rand::rngs::SmallRng;
use serde::Serialize;
use yrs::block::ClientID;
use yrs::{Doc, ReadTxn, Transact};

use crate::args::BenchArgs;
use crate::connection::Conn;
use crate::error::BenchError;
use crate::procstat::{self, CpuMark};
use crate::report::Report;
use crate::typing::{self, Typist};
use crate::wire::Framing;

const STEP_TIMEOUT: Duration = Duration::from_secs(60);
/// Each window is also timed in this many equal parts.
const SUB_WINDOWS: usize = 6;

/// Rates over `parts` equal slices of the acknowledgements in `marks`.
fn sub_window_rates(marks: &[(Instant, usize)], parts: usize) -> Vec<f64> {
    let (Some(&(t0, a0)), Some(&(_, a1))) = (marks.first(), marks.last()) else {
        return Vec::new();
    };
    let at = |n: usize| {
        marks
            .iter()
            .find(|(_, a)| *a >= n)
            .map(|(t, a)| (*t, *a))
            .unwrap_or((t0, a0))
    };
    let step = (a1 - a0) / parts.max(1);
    if step == 0 {
        return Vec::new();
    }
    let mut prev = (t0, a0);
    let mut out = Vec::new();
    for k in 1..=parts {
        let next = at(a0 + k * step);
        let secs = next.0.duration_since(prev.0).as_secs_f64();
        if secs > 0.0 {
            out.push((next.1 - prev.1) as f64 / secs);
        }
        prev = next;
    }
    out
}

fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => 0.0,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// The rate measured from one checkpoint on.
#[derive(Debug, Clone, Serialize)]
pub struct WindowFigures {
    /// Log entries (updates accepted, seed included) when the window started.
    pub at_entries: usize,
    pub updates: usize,
    pub seconds: f64,
    pub updates_per_s: f64,
    /// The median of the window's sub-window rates: the headline figure (a
    /// pause of the shared machine spoils one sub-window, not the figure).
    pub median_updates_per_s: f64,
    pub sub_window_updates_per_s: Vec<f64>,
    /// Average rate of the whole fill from the empty document to this checkpoint.
    pub fill_updates_per_s: f64,
    /// 100 = one core busy for the whole window.
    pub server_cpu_percent: Option<f64>,
    pub server_rss_mb: Option<f64>,
    pub generator_cpu_percent: Option<f64>,
    /// Bytes of the writer's document state at the checkpoint.
    pub doc_bytes: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sub_windows_split_the_acknowledgements_evenly() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        // 100 acks per 10 ms, then a 100 ms pause in the fourth part.
        let marks = [
            (t0, 0),
            (t0 + ms(10), 100),
            (t0 + ms(20), 200),
            (t0 + ms(120), 300),
            (t0 + ms(130), 400),
        ];
        let r = sub_window_rates(&marks, 4);
        assert_eq!(r.len(), 4);
        assert!(
            (r[0] - 10_000.0).abs() < 1.0 && (r[2] - 1_000.0).abs() < 1.0,
            "{r:?}"
        );
        assert!((median(&r) - 10_000.0).abs() < 1.0);
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct WriterFigures {
    pub label: String,
    pub doc: String,
    pub in_flight: usize,
    pub windows: Vec<WindowFigures>,
}

struct Pump<'a> {
    writer: &'a Conn,
    framing: &'a Framing,
    wdoc: &'a Doc,
    odoc: &'a Doc,
    id: ClientID,
    typist: Typist,
    rng: SmallRng,
    /// End clocks of the updates sent and not yet seen by the observer.
    in_flight: VecDeque<u32>,
    limit: usize,
    sent: usize,
    acked: usize,
    /// (when, acknowledged so far) each time acknowledgements arrived.
    marks: Vec<(Instant, usize)>,
}

impl Pump<'_> {
    /// Sends until `total` updates are acknowledged, `limit` in flight at most.
    async fn run_to(&mut self, total: usize, doc: &str) -> Result<(), BenchError> {
        let mut last_progress = Instant::now();
        while self.acked < total {
            while self.sent < total && self.in_flight.len() < self.limit {
                let Some(edit) = self.typist.edit(self.wdoc, &mut self.rng) else {
                    return Err(BenchError::Args("the document has no paragraphs".into()));
                };
                self.writer.send(self.framing.update(&edit.update));
                self.in_flight.push_back(edit.end_clock);
                self.sent += 1;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
            let seen = self.odoc.transact().state_vector().get(&self.id);
            let before = self.acked;
            while self.in_flight.front().is_some_and(|end| *end <= seen) {
                self.in_flight.pop_front();
                self.acked += 1;
            }
            if self.acked > before {
                last_progress = Instant::now();
                self.marks.push((last_progress, self.acked));
            } else if last_progress.elapsed() > STEP_TIMEOUT {
                return Err(BenchError::SyncTimeout(doc.to_string()));
            }
        }
        Ok(())
    }
}

pub(crate) async fn run_writer(args: &BenchArgs) -> Result<Report, BenchError> {
    let mut checkpoints = args.checkpoints.clone();
    checkpoints.sort_unstable();
    if checkpoints.is_empty() || args.window == 0 || args.in_flight == 0 {
        return Err(BenchError::Args(
            "--checkpoints, --window and --in-flight must not be empty or zero".into(),
        ));
    }
    let doc = format!("{}-0", crate::load::doc_prefix(args));
    let crate::cold::WriterPair {
        created,
        framing,
        id,
        stop_tx,
        writer,
        observer,
        wdoc,
        odoc,
    } = crate::cold::writer_pair(args, &doc).await?;
    // The creation (if this run created the document) and the seed are one
    // log entry each; the typing updates are the rest.
    let seeded = created
        + usize::from(
            typing::seed(&wdoc)
                .map(|update| writer.send(framing.update(&update)))
                .is_some(),
        );
    let mut pump = Pump {
        writer: &writer,
        framing: &framing,
        wdoc: &wdoc,
        odoc: &odoc,
        id: ClientID::new(id),
        typist: Typist::new(id, "writer".into()),
        rng: SmallRng::seed_from_u64(7),
        in_flight: VecDeque::new(),
        limit: args.in_flight,
        sent: 0,
        acked: 0,
        marks: Vec::new(),
    };
    let me = std::process::id();
    let started = Instant::now();
    let mut windows = Vec::new();
    for at in checkpoints {
        let target = at.saturating_sub(seeded);
        pump.run_to(target, &doc).await?;
        let fill_rate = pump.acked as f64 / started.elapsed().as_secs_f64();
        let doc_bytes = wdoc
            .transact()
            .encode_state_as_update_v1(&Default::default())
            .len();
        // Scripts attach a profiler to the server on this line (bench/run.py writer --profile).
        eprintln!(
            "{}: measuring at {} entries",
            args.label,
            pump.acked + seeded
        );
        let t0 = Instant::now();
        let server_mark = args.pid.and_then(|pid| procstat::cpu_mark(pid, t0));
        let own_mark = procstat::cpu_mark(me, t0);
        let from = pump.acked;
        pump.marks.clear();
        pump.marks.push((t0, from));
        pump.run_to(from + args.window, &doc).await?;
        let now = Instant::now();
        let sub_rates = sub_window_rates(&pump.marks, SUB_WINDOWS);
        let seconds = now.duration_since(t0).as_secs_f64();
        let updates = pump.acked - from;
        let server = match (args.pid, server_mark) {
            (Some(pid), Some(mark)) => procstat::usage(pid, mark, now),
            _ => None,
        };
        let own = own_mark.and_then(|m: CpuMark| procstat::usage(me, m, now));
        let w = WindowFigures {
            at_entries: from + seeded,
            updates,
            seconds,
            updates_per_s: updates as f64 / seconds,
            median_updates_per_s: median(&sub_rates),
            sub_window_updates_per_s: sub_rates,
            fill_updates_per_s: fill_rate,
            server_cpu_percent: server.as_ref().map(|s| s.cpu_percent),
            server_rss_mb: server.as_ref().map(|s| s.rss_mb),
            generator_cpu_percent: own.map(|s| s.cpu_percent),
            doc_bytes,
        };
        eprintln!(
            "{}: measured at {} entries: {:.0} updates/s (median of {} parts; {:.0}/s over all {}) (fill so far {:.0}/s, server cpu {:.0} %, generator cpu {:.0} %)",
            args.label,
            w.at_entries,
            w.median_updates_per_s,
            w.sub_window_updates_per_s.len(),
            w.updates_per_s,
            w.updates,
            w.fill_updates_per_s,
            w.server_cpu_percent.unwrap_or(f64::NAN),
            w.generator_cpu_percent.unwrap_or(f64::NAN),
        );
        windows.push(w);
    }
    stop_tx.send_replace(true);
    writer.finish().await;
    observer.finish().await;
    Ok(Report::Writer(WriterFigures {
        label: args.label.clone(),
        doc,
        in_flight: args.in_flight,
        windows,
    }))
}
