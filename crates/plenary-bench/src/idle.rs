//! Idle documents: what a loaded document costs the server while nobody types.
//!
//! A long negotiation keeps many documents open with delegates connected but
//! quiet; the server's resident memory per loaded document bounds how many
//! one node can hold. One client per document connects, gives the document
//! the generator's seed (12 paragraphs), then stays connected and silent; the
//! server's RSS is read before the first connection and once everything has
//! settled.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use tokio::sync::watch;

use crate::args::{BenchArgs, Protocol};
use crate::connection::{self, Conn};
use crate::error::BenchError;
use crate::latency::Registry;
use crate::load::doc_prefix;
use crate::procstat;
use crate::report::{IdleFigures, Report};
use crate::typing;
use crate::wire::Framing;

const SETUP_TIMEOUT: Duration = Duration::from_secs(120);
/// Time for the server to take the seeds and for its allocator to settle.
const SETTLE: Duration = Duration::from_secs(3);
/// Documents re-read by a fresh connection to check the server kept their seed.
const CHECKED: usize = 10;
/// A sync step 2 at least this long carries paragraphs (an empty document's is 2 bytes).
const SEEDED_BYTES: usize = 100;

pub(crate) async fn run_idle(args: &BenchArgs) -> Result<Report, BenchError> {
    if args.docs == 0 {
        return Err(BenchError::Args("--docs must be at least 1".into()));
    }
    let Some(pid) = args.pid else {
        return Err(BenchError::Args(
            "idle mode reads the server's memory: give --pid".into(),
        ));
    };
    let rss_empty_mb = procstat::rss_mb(pid).ok_or(BenchError::NoProcess(pid))?;
    let prefix = doc_prefix(args);
    let registry = Arc::new(Registry::default());
    let (stop_tx, stop) = watch::channel(false);
    let framing = |i: usize| Framing {
        protocol: args.protocol,
        doc: format!("{prefix}-{i}"),
    };
    let names: Vec<String> = (0..args.docs).map(|i| format!("{prefix}-{i}")).collect();
    crate::create::ensure_docs(args, &names).await?;
    let started = Instant::now();
    let opened: Vec<Result<Conn, String>> = futures_util::stream::iter(0..args.docs)
        .map(|i| {
            let id = 1 + i as u64;
            connection::open(
                args.url_for(0),
                args.token.as_deref(),
                framing(i),
                Some((id, typing::new_doc(id))),
                registry.clone(),
                stop.clone(),
            )
        })
        .buffer_unordered(args.connect_parallelism.max(1))
        .collect()
        .await;
    let mut conns = Vec::new();
    let (mut connect_errors, mut first_error) = (0usize, None);
    for c in opened {
        match c {
            Ok(c) => conns.push(c),
            Err(e) => {
                connect_errors += 1;
                first_error.get_or_insert(e);
            }
        }
    }
    let mut unsynced = 0usize;
    if args.protocol != Protocol::Relay {
        let deadline = tokio::time::Instant::now() + SETUP_TIMEOUT;
        for c in &conns {
            if tokio::time::timeout_at(deadline, c.wait_synced()).await != Ok(true) {
                unsynced += 1;
            }
        }
    }
    for c in &conns {
        if let Some(update) = c.doc.as_ref().and_then(typing::seed) {
            c.send(c.framing.update(&update));
        }
    }
    let loaded_in_s = started.elapsed().as_secs_f64();
    tokio::time::sleep(SETTLE).await;

    // A fresh connection to a few documents must find their paragraphs.
    let mut checked = 0usize;
    let mut seeded = 0usize;
    if args.protocol != Protocol::Relay {
        for i in (0..args.docs)
            .step_by((args.docs / CHECKED).max(1))
            .take(CHECKED)
        {
            checked += 1;
            let (probe_stop_tx, probe_stop) = watch::channel(false);
            let Ok(probe) = connection::open(
                args.url_for(0),
                args.token.as_deref(),
                framing(i),
                None,
                registry.clone(),
                probe_stop,
            )
            .await
            else {
                continue;
            };
            let synced = tokio::time::timeout(SETUP_TIMEOUT, probe.wait_synced()).await == Ok(true);
            probe_stop_tx.send_replace(true);
            let tally = probe.finish().await;
            if synced && tally.step2_bytes >= SEEDED_BYTES {
                seeded += 1;
            }
        }
        // The probes have gone; give the server a moment to drop them.
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let rss_loaded_mb = procstat::rss_mb(pid).ok_or(BenchError::NoProcess(pid))?;
    // Again once the documents have been quiet for `--quiet-secs` (a server may shed what a
    // quiet document does not need).
    let quiet = if args.quiet_secs > 0.0 {
        let seeded_at = started + Duration::from_secs_f64(loaded_in_s);
        let until = seeded_at + Duration::from_secs_f64(args.quiet_secs);
        tokio::time::sleep_until(until.into()).await;
        let rss = procstat::rss_mb(pid).ok_or(BenchError::NoProcess(pid))?;
        Some((seeded_at.elapsed().as_secs_f64(), rss))
    } else {
        None
    };
    let clients = conns.len();
    let per_1000 = |rss: f64| {
        if clients == 0 {
            0.0
        } else {
            (rss - rss_empty_mb) / clients as f64 * 1000.0
        }
    };
    stop_tx.send_replace(true);
    let mut dropped = 0usize;
    for c in conns {
        dropped += usize::from(c.finish().await.lost);
    }
    Ok(Report::Idle(IdleFigures {
        label: args.label.clone(),
        protocol: format!("{:?}", args.protocol).to_lowercase(),
        docs: args.docs,
        clients,
        connect_errors,
        unsynced,
        dropped,
        first_error,
        checked,
        seeded,
        loaded_in_s,
        rss_empty_mb,
        rss_loaded_mb,
        mb_per_1000_docs: per_1000(rss_loaded_mb),
        quiet_s: quiet.map(|(s, _)| s),
        rss_quiet_mb: quiet.map(|(_, rss)| rss),
        mb_per_1000_docs_quiet: quiet.map(|(_, rss)| per_1000(rss)),
    }))
}
