//! Append and read throughput of both stores, for ~100-byte entries.
//!
//! `CARGO_TARGET_DIR=/work/target-store cargo bench -p plenary-store --bench append`
//!
//! Redis is a spawned `redis-server` with `appendonly yes`, measured with `appendfsync always`
//! (every acknowledged append on disk, what the tests use) and `everysec` (Redis' default for AOF).
//! The embedded store commits (fsyncs) before acknowledging; concurrent appends share commits.

#![allow(clippy::unwrap_used)] // a benchmark that fails should stop loudly

use std::time::{Duration, Instant};

use plenary_store::{EmbeddedStore, LogEntry, RedisStore, Store};
use plenary_test_support::RedisServer;

/// Each measurement runs about this long (or until its entry budget is spent).
const BUDGET: Duration = Duration::from_secs(3);
const READ_ENTRIES: u64 = 100_000;
const READ_PAGE: usize = 1_000;

fn entry(n: u64) -> LogEntry {
    LogEntry {
        update: vec![u8::try_from(n % 251).unwrap(); 100],
        user: "delegate-17".to_owned(),
        name: None,
        delegation: Some("Chile".to_owned()),
        at_ms: 1_700_000_000_000,
        paragraphs: vec!["p4".to_owned()],
        node: "bench".to_owned(),
    }
}

/// Appends from `tasks` tasks until the budget is spent; returns entries per second.
async fn append_rate<S: Store + Clone>(store: &S, doc: &str, tasks: usize) -> f64 {
    let start = Instant::now();
    let mut joins = Vec::new();
    for t in 0..tasks {
        let store = store.clone();
        let doc = doc.to_owned();
        joins.push(tokio::spawn(async move {
            let mut done = 0u64;
            while start.elapsed() < BUDGET {
                store
                    .append(&doc, &entry(done * 16 + t as u64))
                    .await
                    .unwrap();
                done += 1;
            }
            done
        }));
    }
    let mut total = 0;
    for join in joins {
        total += join.await.unwrap();
    }
    total as f64 / start.elapsed().as_secs_f64()
}

/// Fills a document with [`READ_ENTRIES`] entries, then reads it back in pages.
async fn read_rate<S: Store + Clone>(store: &S, doc: &str) -> (f64, Duration) {
    let per_task = READ_ENTRIES / 64;
    let mut joins = Vec::new();
    for t in 0..64 {
        let store = store.clone();
        let doc = doc.to_owned();
        joins.push(tokio::spawn(async move {
            for i in 0..per_task {
                store.append(&doc, &entry(t * per_task + i)).await.unwrap();
            }
        }));
    }
    for join in joins {
        join.await.unwrap();
    }
    let total = store.last_seq(doc).await.unwrap();
    assert_eq!(total, per_task * 64);
    let start = Instant::now();
    let mut after = 0;
    loop {
        let page = store.read_log(doc, after, READ_PAGE).await.unwrap();
        let Some((last, _)) = page.last() else { break };
        after = *last;
    }
    assert_eq!(after, total);
    let took = start.elapsed();
    (total as f64 / took.as_secs_f64(), took)
}

async fn report<S: Store + Clone>(name: &str, store: S) {
    let sequential = append_rate(&store, "seq", 1).await;
    let concurrent = append_rate(&store, "conc", 16).await;
    let (read, took) = read_rate(&store, "read").await;
    println!(
        "{name:<28} append sequential {sequential:>9.0}/s   16 tasks {concurrent:>9.0}/s   \
         read_log {read:>9.0}/s ({READ_ENTRIES} entries in {took:.2?})"
    );
}

async fn set_fsync(url: &str, policy: &str) {
    let client = redis::Client::open(url).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("appendfsync")
        .arg(policy)
        .query_async(&mut conn)
        .await
        .unwrap();
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        report("embedded (redb)", EmbeddedStore::open(dir.path()).unwrap()).await;

        for policy in ["always", "everysec"] {
            let server = RedisServer::spawn();
            set_fsync(&server.url(), policy).await;
            let store = RedisStore::connect(&server.url()).await.unwrap();
            report(&format!("redis (appendfsync {policy})"), store).await;
        }
    });
}
