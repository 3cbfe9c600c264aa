//! Materialising an arbitrary point of a 100 000-entry history, and what the history costs in
//! storage per entry, on the embedded store.
//!
//! `CARGO_TARGET_DIR=/work/target-history cargo bench -p plenary-history --bench replay`
//!
//! The history: the fixture imported, then 100 000 small edits by three delegations over its
//! operative paragraphs (a word inserted, the next entry deletes it again; every 500th a status
//! change), the shape of a long negotiation. The store directory is on /dev/shm when it exists
//! (the embedded store fsyncs every append; filling the log is not what is measured).

#![allow(clippy::unwrap_used)] // a benchmark that fails should stop loudly

use std::sync::Arc;
use std::time::Instant;

use plenary_doc::{ResolutionDoc, Status, import_text};
use plenary_history::{DEFAULT_CHECKPOINT_DISTANCE, History};
use plenary_store::{EmbeddedStore, LogEntry, Store};

/// `PLENARY_BENCH_ENTRIES` overrides the history length.
const DEFAULT_ENTRIES: u64 = 100_000;
const DOC: &str = "bench";
const SAMPLES: u64 = 40;

fn dir_size(path: &std::path::Path) -> u64 {
    std::fs::read_dir(path)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let m = e.metadata().unwrap();
            if m.is_dir() {
                dir_size(&e.path())
            } else {
                m.len()
            }
        })
        .sum()
}

#[tokio::main]
async fn main() {
    let entries: u64 = std::env::var("PLENARY_BENCH_ENTRIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_ENTRIES);
    let tmp = if std::path::Path::new("/dev/shm").is_dir() {
        tempfile::tempdir_in("/dev/shm").unwrap()
    } else {
        tempfile::tempdir().unwrap()
    };
    let store: Arc<dyn Store> = Arc::new(EmbeddedStore::open(tmp.path()).unwrap());
    let fixture = format!(
        "{}/../../tests/fixtures/reducing-reoffending-2021-rev1.txt",
        env!("CARGO_MANIFEST_DIR")
    );
    let imported = import_text(&std::fs::read_to_string(fixture).unwrap()).unwrap();
    let mut doc = ResolutionDoc::from_resolution_with_client_id(1, &imported.resolution).unwrap();
    let ops: Vec<String> = doc
        .resolution()
        .paragraphs
        .iter()
        .filter(|p| p.label.starts_with("OP"))
        .map(|p| p.id.clone())
        .collect();
    let entry = |update: Vec<u8>, i: u64| LogEntry {
        update,
        user: format!("user-{}", i % 3),
        name: None,
        delegation: Some(["JPN", "EU", "MEX"][(i % 3) as usize].to_owned()),
        at_ms: 1_700_000_000_000 + i as i64,
        paragraphs: vec![],
        node: "bench".to_owned(),
    };
    let start = Instant::now();
    let mut update_bytes = doc.encode_state().len() as u64;
    store
        .append(DOC, &entry(doc.encode_state(), 0))
        .await
        .unwrap();
    for i in 1..entries {
        let pid = &ops[(i / 2) as usize % ops.len()];
        let at = 10 + (i / 2 % 50) as u32;
        let update = if i % 500 == 0 {
            let s = if i % 1000 == 0 {
                Status::Open
            } else {
                Status::Bracketed
            };
            doc.set_status(pid, s).unwrap()
        } else if i % 2 == 1 {
            doc.insert_text(pid, at, "amended ", false).unwrap()
        } else {
            doc.delete_text(pid, at, 8).unwrap()
        };
        update_bytes += update.len() as u64;
        store.append(DOC, &entry(update, i)).await.unwrap();
    }
    let fill = start.elapsed();
    let log_size = dir_size(tmp.path());
    println!(
        "history: {entries} entries written in {:.1} s; updates average {:.0} B; store {:.1} MiB = {:.0} B per entry (before checkpoints); final state {} B",
        fill.as_secs_f64(),
        update_bytes as f64 / entries as f64,
        log_size as f64 / 1048576.0,
        log_size as f64 / entries as f64,
        doc.encode_state().len()
    );

    // Worst case: no checkpoint at all, the last entry replayed from the beginning.
    let h = History::new(store.clone())
        .with_checkpoint_distance(u64::MAX)
        .with_max_tail(u64::MAX, u64::MAX);
    let t = Instant::now();
    let m = h.materialize(DOC, entries).await.unwrap();
    let full = t.elapsed();
    assert_eq!(m.replayed, entries);
    assert_eq!(m.doc.resolution().paragraphs, doc.resolution().paragraphs);
    println!(
        "replay from the beginning (no checkpoint): {:.2} s for {entries} entries ({:.1} µs/entry)",
        full.as_secs_f64(),
        full.as_secs_f64() * 1e6 / entries as f64
    );

    // With checkpoints every K entries (written by the first pass over the log).
    let h = History::new(store.clone()).with_max_tail(u64::MAX, u64::MAX);
    let t = Instant::now();
    h.materialize(DOC, entries).await.unwrap();
    println!(
        "first pass writing a checkpoint every {DEFAULT_CHECKPOINT_DISTANCE} entries: {:.2} s; store now {:.0} B per entry",
        t.elapsed().as_secs_f64(),
        dir_size(tmp.path()) as f64 / entries as f64
    );
    let mut worst = 0f64;
    let mut total = 0f64;
    let mut max_replayed = 0;
    for k in 0..SAMPLES {
        // spread over the whole log, never on a checkpoint
        let seq = (k * 2_477 + 1) * 997 % entries + 1;
        let t = Instant::now();
        let m = h.materialize(DOC, seq).await.unwrap();
        let _ = m.doc.resolution();
        let s = t.elapsed().as_secs_f64();
        worst = worst.max(s);
        total += s;
        max_replayed = max_replayed.max(m.replayed);
    }
    println!(
        "arbitrary point with checkpoints: mean {:.1} ms, worst {:.1} ms over {SAMPLES} points (at most {max_replayed} entries replayed)",
        total * 1e3 / SAMPLES as f64,
        worst * 1e3
    );

    // Issue 12. Before: no attribution checkpoint, so the first request replays the whole log
    // (what every first request did before the checkpoints existed).
    let before = History::new(store.clone()).with_max_tail(u64::MAX, u64::MAX);
    let t = Instant::now();
    let whole = before.attribution(DOC, entries).await.unwrap();
    println!(
        "attribution, first request, no checkpoint (whole log replayed): {:.2} s, {} paragraphs",
        t.elapsed().as_secs_f64(),
        whole.len()
    );
    let t = Instant::now();
    before.attribution(DOC, entries).await.unwrap();
    println!(
        "attribution again (kept in memory): {:.1} ms",
        t.elapsed().as_secs_f64() * 1e3
    );

    // A fresh bounded reader with no checkpoint answers at once that it is preparing.
    let fresh = History::new(store.clone());
    let t = Instant::now();
    let err = fresh.attribution(DOC, entries).await.unwrap_err();
    println!(
        "attribution, first request, no checkpoint, bounded reader: {:.1} ms ({err})",
        t.elapsed().as_secs_f64() * 1e3
    );
    // Let that background build finish before measuring the room's way.
    loop {
        match fresh.attribution(DOC, entries).await {
            Err(plenary_history::HistoryError::Preparing { .. }) => {
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
            other => {
                other.unwrap();
                break;
            }
        }
    }

    // After: what a room does as it accepts the log, an advance every 500 entries (on a copy of
    // the log so that the checkpoints written by the build above do not help).
    let tmp2 = if std::path::Path::new("/dev/shm").is_dir() {
        tempfile::tempdir_in("/dev/shm").unwrap()
    } else {
        tempfile::tempdir().unwrap()
    };
    let store2: Arc<dyn Store> = Arc::new(EmbeddedStore::open(tmp2.path()).unwrap());
    let room = History::new(store2.clone());
    let mut advancing = 0f64;
    let mut worst_advance = 0f64;
    let mut copied = 0u64;
    while copied < entries {
        let page = store.read_log(DOC, copied, 500).await.unwrap();
        for (_, e) in &page {
            store2.append(DOC, e).await.unwrap();
        }
        copied += page.len() as u64;
        let t = Instant::now();
        room.advance_attribution(DOC, copied).await.unwrap();
        let s = t.elapsed().as_secs_f64();
        advancing += s;
        worst_advance = worst_advance.max(s);
    }
    println!(
        "room advancing attribution checkpoints every 500 entries: {:.2} s in all = {:.1} µs per accepted entry (worst advance {:.0} ms); store now {:.0} B per entry",
        advancing,
        advancing * 1e6 / entries as f64,
        worst_advance * 1e3,
        dir_size(tmp2.path()) as f64 / entries as f64
    );
    let reader = History::new(store2.clone());
    let t = Instant::now();
    let got = reader.attribution(DOC, entries).await.unwrap();
    println!(
        "attribution, first request, with checkpoints: {:.1} ms",
        t.elapsed().as_secs_f64() * 1e3
    );
    assert_eq!(
        got, whole,
        "same answer from checkpoints as from the whole log"
    );
    let mut worst = 0f64;
    for k in 0..SAMPLES {
        let seq = (k * 2_477 + 1) * 997 % entries + 1;
        let reader = History::new(store2.clone());
        let t = Instant::now();
        reader.attribution(DOC, seq).await.unwrap();
        worst = worst.max(t.elapsed().as_secs_f64());
    }
    println!(
        "attribution at={{old position}}, first request each (fresh reader): worst {:.1} ms over {SAMPLES} points",
        worst * 1e3
    );
}
