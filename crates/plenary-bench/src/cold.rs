//! Cold load: fill one document with many small updates, restart the
//! server, then time the first sync.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use tokio::sync::watch;
use yrs::block::ClientID;
use yrs::{ReadTxn, Transact};

use crate::args::BenchArgs;
use crate::connection;
use crate::error::BenchError;
use crate::latency::Registry;
use crate::procstat;
use crate::report::{ColdFigures, Report};
use crate::typing::{self, Typist};
use crate::wire::Framing;

/// Updates sent before waiting for the server to have taken them all.
const WINDOW: usize = 200;
const STEP_TIMEOUT: Duration = Duration::from_secs(60);

fn doc_name(args: &BenchArgs) -> String {
    format!("{}-0", crate::load::doc_prefix(args))
}

/// One writer and one observer on a document, both synced: what the fill
/// and writer modes start from. The observer's document tells when the
/// server has passed everything on.
pub(crate) struct WriterPair {
    /// Log entries the document was created with (1 when this run created it
    /// with `POST /api/docs`, 0 on a server that creates on connect).
    pub created: usize,
    pub framing: Framing,
    pub id: u64,
    pub stop_tx: watch::Sender<bool>,
    pub writer: connection::Conn,
    pub observer: connection::Conn,
    pub wdoc: yrs::Doc,
    pub odoc: yrs::Doc,
}

pub(crate) async fn writer_pair(args: &BenchArgs, doc: &str) -> Result<WriterPair, BenchError> {
    let created = crate::create::ensure_docs(args, &[doc.to_owned()])
        .await?
        .created;
    let framing = Framing {
        protocol: args.protocol,
        doc: doc.to_owned(),
    };
    let id = 1 + u64::from(rand::random::<u32>());
    let registry = Arc::new(Registry::default());
    let (stop_tx, stop) = watch::channel(false);
    let connect = |typist| {
        connection::open(
            args.url_for(0),
            args.token.as_deref(),
            framing.clone(),
            typist,
            registry.clone(),
            stop.clone(),
        )
    };
    let no_connection = |reason: String| BenchError::NoConnection {
        url: args.url.clone(),
        reason,
    };
    let writer = connect(Some((id, typing::new_doc(id))))
        .await
        .map_err(no_connection)?;
    let observer = connect(Some((id + 1, typing::new_doc(id + 1))))
        .await
        .map_err(no_connection)?;
    for c in [&writer, &observer] {
        if tokio::time::timeout(STEP_TIMEOUT, c.wait_synced()).await != Ok(true) {
            return Err(BenchError::SyncTimeout(doc.to_owned()));
        }
    }
    let (Some(wdoc), Some(odoc)) = (writer.doc.clone(), observer.doc.clone()) else {
        return Err(BenchError::Args(
            "typist connections carry documents".into(),
        ));
    };
    Ok(WriterPair {
        created,
        framing,
        id,
        stop_tx,
        writer,
        observer,
        wdoc,
        odoc,
    })
}

pub(crate) async fn fill(args: &BenchArgs) -> Result<Report, BenchError> {
    let doc = doc_name(args);
    let WriterPair {
        framing,
        created: _,
        id,
        stop_tx,
        writer,
        observer,
        wdoc,
        odoc,
    } = writer_pair(args, &doc).await?;
    if let Some(update) = typing::seed(&wdoc) {
        writer.send(framing.update(&update));
    }
    let started = Instant::now();
    let cpu = args.pid.and_then(|pid| procstat::cpu_mark(pid, started));
    let mut typist = Typist::new(id, "filler".into());
    let mut rng = rand::SeedableRng::seed_from_u64(7);
    let mut written = 0;
    while written < args.updates {
        let mut end = 0;
        for _ in 0..WINDOW.min(args.updates - written) {
            let Some(edit) = typist.edit(&wdoc, &mut rng) else {
                break;
            };
            writer.send(framing.update(&edit.update));
            end = edit.end_clock;
            written += 1;
        }
        let deadline = Instant::now() + STEP_TIMEOUT;
        while odoc.transact().state_vector().get(&ClientID::new(id)) < end {
            if Instant::now() > deadline {
                return Err(BenchError::SyncTimeout(doc));
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    let server = match (args.pid, cpu) {
        (Some(pid), Some(mark)) => procstat::usage(pid, mark, Instant::now()),
        _ => None,
    };
    stop_tx.send_replace(true);
    writer.finish().await;
    observer.finish().await;
    Ok(Report::Cold(ColdFigures {
        label: args.label.clone(),
        doc,
        mode: "fill".into(),
        updates: written,
        updates_per_s: written as f64 / elapsed,
        first_sync_ms: Vec::new(),
        step2_bytes: 0,
        synced_with_state_ms: None,
        server,
    }))
}

/// `--clients` connect at once (up to `--connect-parallelism` handshakes in flight) and wait for
/// their first sync: each client's time from the start of its connect to synced, in ms, sorted.
pub(crate) async fn join_storm(args: &BenchArgs) -> Result<Report, BenchError> {
    let doc = doc_name(args);
    let registry = Arc::new(Registry::default());
    let (stop_tx, stop) = watch::channel(false);
    let joins = futures_util::stream::iter(0..args.clients.max(1))
        .map(|i| {
            let framing = Framing {
                protocol: args.protocol,
                doc: doc.clone(),
            };
            let (registry, stop) = (registry.clone(), stop.clone());
            async move {
                let started = Instant::now();
                let conn = connection::open(
                    args.url_for(i),
                    args.token.as_deref(),
                    framing,
                    None,
                    registry,
                    stop,
                )
                .await?;
                let synced =
                    tokio::time::timeout(STEP_TIMEOUT, conn.wait_synced()).await == Ok(true);
                let took = started.elapsed().as_secs_f64() * 1000.0;
                Ok::<_, String>((synced.then_some(took), conn))
            }
        })
        .buffer_unordered(args.connect_parallelism.max(1))
        .collect::<Vec<_>>()
        .await;
    let mut times = Vec::new();
    let mut conns = Vec::new();
    let mut failed = None;
    for j in joins {
        match j {
            Ok((Some(ms), conn)) => {
                times.push(ms);
                conns.push(conn);
            }
            Ok((None, conn)) => {
                failed.get_or_insert_with(|| "no sync within the step timeout".to_owned());
                conns.push(conn);
            }
            Err(e) => {
                failed.get_or_insert(e);
            }
        }
    }
    let server = args.pid.and_then(|pid| {
        let now = Instant::now();
        procstat::usage(pid, procstat::cpu_mark(pid, now)?, now)
    });
    stop_tx.send_replace(true);
    let mut step2_bytes = 0;
    for conn in conns {
        step2_bytes = step2_bytes.max(conn.finish().await.step2_bytes);
    }
    if let Some(reason) = failed {
        return Err(BenchError::NoConnection {
            url: args.url.clone(),
            reason: format!(
                "{} of {} clients did not sync: {reason}",
                args.clients - times.len(),
                args.clients
            ),
        });
    }
    times.sort_by(f64::total_cmp);
    let synced_with_state_ms = synced_with_state(args, &doc).await?;
    Ok(Report::Cold(ColdFigures {
        label: args.label.clone(),
        doc,
        mode: "join-storm".into(),
        updates: 0,
        updates_per_s: 0.0,
        first_sync_ms: times,
        step2_bytes,
        synced_with_state_ms: Some(synced_with_state_ms),
        server,
    }))
}

pub(crate) async fn first_sync(args: &BenchArgs) -> Result<Report, BenchError> {
    let doc = doc_name(args);
    let registry = Arc::new(Registry::default());
    let mut times = Vec::new();
    let mut step2_bytes = 0;
    for _ in 0..args.repeat.max(1) {
        let (stop_tx, stop) = watch::channel(false);
        let (conn, took) = join_once(args, &doc, None, registry.clone(), stop).await?;
        times.push(took);
        stop_tx.send_replace(true);
        let tally = conn.finish().await;
        step2_bytes = tally.step2_bytes;
    }
    let server = args.pid.and_then(|pid| {
        let now = Instant::now();
        procstat::usage(pid, procstat::cpu_mark(pid, now)?, now)
    });
    let synced_with_state_ms = synced_with_state(args, &doc).await?;
    Ok(Report::Cold(ColdFigures {
        label: args.label.clone(),
        doc,
        mode: "first-sync".into(),
        updates: 0,
        updates_per_s: 0.0,
        first_sync_ms: times,
        step2_bytes,
        synced_with_state_ms: Some(synced_with_state_ms),
        server,
    }))
}

/// One client that decodes and applies the whole state into a document of its own, as a page
/// does: milliseconds from its connect to synced. (The timed clients of a storm only receive
/// the state: on one machine, 200 decodes of a megabyte would time the generator.)
async fn synced_with_state(args: &BenchArgs, doc: &str) -> Result<f64, BenchError> {
    let (stop_tx, stop) = watch::channel(false);
    let id = 1 + u64::from(rand::random::<u32>());
    let typist = Some((id, typing::new_doc(id)));
    let (conn, took) = join_once(args, doc, typist, Arc::new(Registry::default()), stop).await?;
    stop_tx.send_replace(true);
    conn.finish().await;
    Ok(took)
}

/// Opens one connection to `doc` (applying the state into `typist`'s document, if given) and
/// waits for its first sync: the connection, and milliseconds from the connect to synced.
async fn join_once(
    args: &BenchArgs,
    doc: &str,
    typist: Option<(u64, yrs::Doc)>,
    registry: Arc<Registry>,
    stop: watch::Receiver<bool>,
) -> Result<(connection::Conn, f64), BenchError> {
    let started = Instant::now();
    let framing = Framing {
        protocol: args.protocol,
        doc: doc.to_owned(),
    };
    let conn = connection::open(
        args.url_for(0),
        args.token.as_deref(),
        framing,
        typist,
        registry,
        stop,
    )
    .await
    .map_err(|reason| BenchError::NoConnection {
        url: args.url.clone(),
        reason,
    })?;
    if tokio::time::timeout(STEP_TIMEOUT, conn.wait_synced()).await != Ok(true) {
        return Err(BenchError::SyncTimeout(doc.to_owned()));
    }
    Ok((conn, started.elapsed().as_secs_f64() * 1000.0))
}
