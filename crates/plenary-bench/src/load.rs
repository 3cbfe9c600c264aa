//! The fan-out scenario: N clients over D documents, K of them typing.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use tokio::sync::watch;

use crate::args::{BenchArgs, Protocol};
use crate::connection::{self, Conn, Tally};
use crate::error::BenchError;
use crate::latency::{Registry, percentiles};
use crate::procstat;
use crate::report::{LoadFigures, Report};
use crate::typing::{self, Typist};
use crate::wire::Framing;

/// How long clients may take to connect and sync, all together.
const SETUP_TIMEOUT: Duration = Duration::from_secs(120);
/// After typing stops, how long in-flight deliveries may still arrive.
const DRAIN: Duration = Duration::from_secs(3);
/// A typist announces its cursor on every move and every this many edits.
const AWARENESS_EVERY: u64 = 4;

pub(crate) fn doc_prefix(args: &BenchArgs) -> String {
    args.doc_prefix
        .clone()
        .unwrap_or_else(|| format!("bench-{:08x}", rand::rng().random::<u32>()))
}

pub(crate) fn check(args: &BenchArgs) -> Result<(), BenchError> {
    if args.docs == 0 || args.clients == 0 {
        return Err(BenchError::Args(
            "--docs and --clients must be at least 1".into(),
        ));
    }
    if args.typists > args.clients {
        return Err(BenchError::Args("--typists cannot exceed --clients".into()));
    }
    if !(args.rate > 0.0
        && args.rate.is_finite()
        && args.duration > 0.0
        && args.duration.is_finite())
    {
        return Err(BenchError::Args(
            "--rate and --duration must be positive".into(),
        ));
    }
    Ok(())
}

pub(crate) async fn run_load(args: &BenchArgs) -> Result<Report, BenchError> {
    check(args)?;
    let prefix = doc_prefix(args);
    let mut rng = SmallRng::from_rng(&mut rand::rng());
    // Client ids of typists: distinct, below 2^53 as Yjs requires.
    let mut typist_ids = Vec::with_capacity(args.typists);
    while typist_ids.len() < args.typists {
        let id = rng.random_range(1..(1u64 << 32));
        if !typist_ids.contains(&id) {
            typist_ids.push(id);
        }
    }
    let registry = Arc::new(Registry::new(typist_ids.iter().copied()));
    let (stop_tx, stop) = watch::channel(false);
    let names: Vec<String> = (0..args.docs).map(|i| format!("{prefix}-{i}")).collect();
    crate::create::ensure_docs(args, &names).await?;

    // Client i joins document i % docs; the first K clients type.
    let opened: Vec<(usize, Result<Conn, String>)> = futures_util::stream::iter(0..args.clients)
        .map(|i| {
            let framing = Framing {
                protocol: args.protocol,
                doc: format!("{prefix}-{}", i % args.docs),
            };
            let typist = typist_ids.get(i).map(|&id| (id, typing::new_doc(id)));
            let registry = registry.clone();
            let stop = stop.clone();
            async move {
                let conn = connection::open(
                    args.url_for(i),
                    args.token.as_deref(),
                    framing,
                    typist,
                    registry,
                    stop,
                )
                .await;
                (i, conn)
            }
        })
        .buffer_unordered(args.connect_parallelism.max(1))
        .collect()
        .await;
    let mut conns: Vec<(usize, Conn)> = Vec::new();
    let mut connect_errors = 0usize;
    let mut first_error = None;
    for (i, c) in opened {
        match c {
            Ok(c) => conns.push((i, c)),
            Err(e) => {
                connect_errors += 1;
                first_error.get_or_insert(e);
            }
        }
    }
    if conns.is_empty() {
        return Err(BenchError::NoConnection {
            url: args.url.clone(),
            reason: first_error.unwrap_or_default(),
        });
    }
    conns.sort_by_key(|(i, _)| *i);

    let mut unsynced = 0usize;
    if args.protocol != Protocol::Relay {
        let deadline = tokio::time::Instant::now() + SETUP_TIMEOUT;
        for (_, c) in &conns {
            if tokio::time::timeout_at(deadline, c.wait_synced()).await != Ok(true) {
                unsynced += 1;
            }
        }
    } else {
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    // The first typist of each document gives it paragraphs.
    let mut seeded = std::collections::HashSet::new();
    for (_, c) in conns.iter().filter(|(_, c)| c.doc.is_some()) {
        if seeded.insert(c.framing.doc.clone())
            && let Some(update) = c.doc.as_ref().and_then(typing::seed)
        {
            c.send(c.framing.update(&update));
        }
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline
        && conns.iter().filter_map(|(_, c)| c.doc.as_ref()).any(|d| {
            use yrs::{Array, Transact};
            d.get_or_insert_array("paragraphs").len(&d.transact()) == 0
        })
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Typing.
    let started = Instant::now();
    let cpu_start = args.pid.and_then(|pid| procstat::cpu_mark(pid, started));
    let typing_for = Duration::from_secs_f64(args.duration);
    let conns = Arc::new(conns);
    let mut typists = Vec::new();
    for (slot, (i, c)) in conns.iter().enumerate() {
        let Some(id) = c.client_id else { continue };
        let conns = conns.clone();
        let registry = registry.clone();
        let rate = args.rate;
        let seed = rng.random::<u64>();
        let name = format!("typist-{i}");
        typists.push(tokio::spawn(async move {
            let mut rng = SmallRng::seed_from_u64(seed);
            let Some((_, conn)) = conns.get(slot) else {
                return (0u64, 0u64);
            };
            let Some(doc) = conn.doc.clone() else {
                return (0, 0);
            };
            let mut typist = Typist::new(id, name);
            let period = Duration::from_secs_f64(1.0 / rate);
            // Random phase so typists do not all press keys in the same instant.
            tokio::time::sleep(period.mul_f64(rng.random::<f64>())).await;
            let mut tick = tokio::time::interval(period);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            let (mut sent, mut aware) = (0u64, 0u64);
            while started.elapsed() < typing_for {
                tick.tick().await;
                let Some(edit) = typist.edit(&doc, &mut rng) else {
                    continue;
                };
                registry.sent(id, edit.end_clock, Instant::now());
                conn.send(conn.framing.update(&edit.update));
                sent += 1;
                if edit.moved || sent % AWARENESS_EVERY == 0 {
                    conn.send(conn.framing.awareness(&typist.awareness(edit.cursor)));
                    aware += 1;
                }
            }
            (sent, aware)
        }));
    }
    let (mut updates_sent, mut awareness_sent) = (0u64, 0u64);
    let mut sent_per_doc = std::collections::HashMap::<String, u64>::new();
    for (t, (_, c)) in typists
        .into_iter()
        .zip(conns.iter().filter(|(_, c)| c.client_id.is_some()))
    {
        let (s, a) = t.await.unwrap_or((0, 0));
        updates_sent += s;
        awareness_sent += a;
        *sent_per_doc.entry(c.framing.doc.clone()).or_default() += s;
    }
    let typed = started.elapsed();
    let server = match (args.pid, cpu_start) {
        (Some(pid), Some(mark)) => procstat::usage(pid, mark, Instant::now()),
        _ => None,
    };
    tokio::time::sleep(DRAIN).await;
    stop_tx.send_replace(true);
    let final_texts = args.final_texts.then(|| {
        let mut by_doc = std::collections::BTreeMap::<String, Vec<Vec<String>>>::new();
        for (_, c) in conns.iter() {
            if let Some(doc) = &c.doc {
                by_doc
                    .entry(c.framing.doc.clone())
                    .or_default()
                    .push(typing::texts(doc));
            }
        }
        by_doc
    });

    let conns = Arc::try_unwrap(conns)
        .map_err(|_| BenchError::Args("typist tasks still running".into()))?;
    let mut members_per_doc = std::collections::HashMap::<String, u64>::new();
    for (_, c) in &conns {
        *members_per_doc.entry(c.framing.doc.clone()).or_default() += 1;
    }
    // Every update should reach every other member of its document.
    let expected: u64 = sent_per_doc
        .iter()
        .map(|(doc, sent)| {
            sent * members_per_doc
                .get(doc)
                .copied()
                .unwrap_or(1)
                .saturating_sub(1)
        })
        .sum();
    let mut samples = Vec::new();
    let (mut lost, mut awareness_received, mut denied, mut frames) = (0usize, 0u64, 0u64, 0u64);
    for (_, c) in conns {
        let Tally {
            seen,
            awareness,
            lost: l,
            denied: d,
            updates,
            ..
        } = c.finish().await;
        samples.extend(seen.samples);
        awareness_received += awareness;
        denied += d;
        frames += updates;
        lost += usize::from(l);
    }
    let deliveries = samples.len() as u64;
    let latency = percentiles(&mut samples);
    Ok(Report::Load(LoadFigures {
        label: args.label.clone(),
        protocol: format!("{:?}", args.protocol).to_lowercase(),
        url: args.url.clone(),
        docs: args.docs,
        clients: args.clients,
        typists: args.typists,
        rate: args.rate,
        duration_s: typed.as_secs_f64(),
        connect_errors,
        unsynced,
        dropped: lost,
        first_error,
        updates_sent,
        awareness_sent,
        update_frames_received: frames,
        deliveries,
        expected_deliveries: expected,
        delivery_ratio: if expected == 0 {
            0.0
        } else {
            deliveries as f64 / expected as f64
        },
        deliveries_per_s: deliveries as f64 / typed.as_secs_f64(),
        awareness_received,
        denied,
        latency,
        server,
        final_texts,
    }))
}
