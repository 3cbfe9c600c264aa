//! One contract, two stores: every behaviour the server relies on is written once as a generic
//! async function over a [`Harness`], and run against a throw-away `redis-server`, a throw-away
//! three-master Redis Cluster and a temporary embedded store. For Redis, "another handle" is a separate connection, i.e. another
//! server node; for the embedded store (one node by design) it is a clone of the same store.

#![allow(clippy::unwrap_used)] // tests may unwrap: a failure here is the assertion

use std::collections::BTreeSet;
use std::future::Future;
use std::time::Duration;

use async_trait::async_trait;
use plenary_store::{
    Checkpoint, EmbeddedStore, LogEntry, RedisStore, Snapshot, Store, StoreError, Version,
};
use plenary_test_support::{RedisCluster, RedisServer};

/// Generous: these only fire when something hangs.
const PATIENCE: Duration = Duration::from_secs(20);

#[async_trait]
trait Harness: Send + Sync {
    type S: Store + Clone;
    /// A handle on the store; for Redis each call is a new connection (another node).
    async fn handle(&self) -> Self::S;
    /// Closes and reopens the store (the caller has dropped its handles).
    async fn reopen(&mut self);
}

struct EmbeddedHarness {
    dir: tempfile::TempDir,
    store: Option<EmbeddedStore>,
}

impl EmbeddedHarness {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = EmbeddedStore::open(dir.path()).unwrap();
        EmbeddedHarness {
            dir,
            store: Some(store),
        }
    }
}

#[async_trait]
impl Harness for EmbeddedHarness {
    type S = EmbeddedStore;
    async fn handle(&self) -> EmbeddedStore {
        self.store.clone().unwrap()
    }
    async fn reopen(&mut self) {
        self.store = None;
        self.store = Some(EmbeddedStore::open(self.dir.path()).unwrap());
    }
}

/// A throw-away Redis (`R`: one server, or a cluster) and the URL a handle connects to.
struct RedisHarness<R> {
    server: R,
    url: String,
}

impl RedisHarness<RedisServer> {
    fn new() -> Self {
        let server = RedisServer::spawn();
        RedisHarness {
            url: server.url(),
            server,
        }
    }
}

impl RedisHarness<RedisCluster> {
    /// Three masters, no replicas: each document's keys land on one of them by hash slot, and
    /// `plenary:docs` on another, so every behaviour crosses masters.
    async fn cluster() -> Self {
        let server = tokio::task::spawn_blocking(|| RedisCluster::spawn(3, 0))
            .await
            .unwrap();
        RedisHarness {
            url: server.url(),
            server,
        }
    }
}

#[async_trait]
impl<R: Send + Sync> Harness for RedisHarness<R> {
    type S = RedisStore;
    async fn handle(&self) -> RedisStore {
        RedisStore::connect(&self.url).await.unwrap()
    }
    async fn reopen(&mut self) {}
}

async fn within<T>(what: &str, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(PATIENCE, future)
        .await
        .unwrap_or_else(|_| panic!("{what} took longer than {PATIENCE:?}"))
}

fn entry(n: u64) -> LogEntry {
    LogEntry {
        update: format!("update {n}").into_bytes(),
        user: format!("user-{}", n % 3),
        name: (!n.is_multiple_of(3)).then(|| format!("Delegate {}", n % 3)),
        delegation: n.is_multiple_of(2).then(|| "Côte d'Ivoire".to_owned()),
        at_ms: 1_700_000_000_000 + i64::try_from(n).unwrap(),
        paragraphs: (0..n % 3).map(|p| format!("p{p}")).collect(),
        node: "node-a".to_owned(),
    }
}

async fn append_all<S: Store>(store: &S, doc: &str, range: std::ops::RangeInclusive<u64>) {
    for n in range {
        let seq = store.append(doc, &entry(n)).await.unwrap();
        assert_eq!(seq, n, "appends to {doc} are numbered densely");
    }
}

// --- behaviours ---------------------------------------------------------------------------

async fn append_numbers_densely_and_reads_back_in_order<H: Harness>(h: H) {
    let store = h.handle().await;
    assert_eq!(store.last_seq("resolution").await.unwrap(), 0);
    assert!(
        store
            .read_log("resolution", 0, 100)
            .await
            .unwrap()
            .is_empty()
    );

    append_all(&store, "resolution", 1..=5).await;
    // Another document has its own numbering.
    assert_eq!(store.append("annex", &entry(9)).await.unwrap(), 1);

    let log = store.read_log("resolution", 0, 100).await.unwrap();
    let expected: Vec<_> = (1..=5).map(|n| (n, entry(n))).collect();
    assert_eq!(log, expected);
    assert_eq!(store.last_seq("resolution").await.unwrap(), 5);
    assert_eq!(
        store.read_log("annex", 0, 100).await.unwrap(),
        vec![(1, entry(9))]
    );
}

async fn read_log_from_a_position_with_a_limit<H: Harness>(h: H) {
    let store = h.handle().await;
    append_all(&store, "doc", 1..=10).await;
    let seqs = |log: Vec<(u64, LogEntry)>| log.into_iter().map(|(s, _)| s).collect::<Vec<_>>();
    assert_eq!(
        seqs(store.read_log("doc", 3, 4).await.unwrap()),
        vec![4, 5, 6, 7]
    );
    assert_eq!(
        seqs(store.read_log("doc", 8, 10).await.unwrap()),
        vec![9, 10]
    );
    assert!(store.read_log("doc", 10, 5).await.unwrap().is_empty());
    assert!(store.read_log("doc", 0, 0).await.unwrap().is_empty());
    let page = store.read_log("doc", 6, 1).await.unwrap();
    assert_eq!(page, vec![(7, entry(7))]);
}

async fn snapshots_keep_the_latest_and_older_checkpoints<H: Harness>(h: H) {
    let store = h.handle().await;
    assert_eq!(store.latest_snapshot("doc").await.unwrap(), None);
    append_all(&store, "doc", 1..=10).await;
    let snap = |seq: u64| Snapshot {
        seq,
        state: format!("state at {seq}").into_bytes(),
    };
    store.put_snapshot("doc", &snap(7)).await.unwrap();
    store.put_snapshot("doc", &snap(3)).await.unwrap();

    assert_eq!(store.latest_snapshot("doc").await.unwrap(), Some(snap(7)));
    assert_eq!(
        store.snapshot_at_or_before("doc", 5).await.unwrap(),
        Some(snap(3))
    );
    assert_eq!(
        store.snapshot_at_or_before("doc", 7).await.unwrap(),
        Some(snap(7))
    );
    assert_eq!(
        store.snapshot_at_or_before("doc", 100).await.unwrap(),
        Some(snap(7))
    );
    assert_eq!(store.snapshot_at_or_before("doc", 2).await.unwrap(), None);
    assert_eq!(store.snapshot_seqs("doc").await.unwrap(), vec![3, 7]);

    let err = store.put_snapshot("doc", &snap(11)).await.unwrap_err();
    assert_eq!(
        err,
        StoreError::BeyondLog {
            doc: "doc".to_owned(),
            seq: 11,
            last: 10
        }
    );
    // Storing a position again replaces it.
    let redone = Snapshot {
        seq: 7,
        state: b"recomputed".to_vec(),
    };
    store.put_snapshot("doc", &redone).await.unwrap();
    assert_eq!(store.latest_snapshot("doc").await.unwrap(), Some(redone));
    assert_eq!(store.snapshot_seqs("doc").await.unwrap(), vec![3, 7]);
    assert_eq!(store.latest_snapshot("other").await.unwrap(), None);
}

async fn checkpoints_are_kept_per_kind_and_found_at_or_before<H: Harness>(mut h: H) {
    {
        let store = h.handle().await;
        let ck = |seq: u64, what: &str| Checkpoint {
            seq,
            data: format!("{what} at {seq}").into_bytes(),
        };
        assert_eq!(
            store
                .checkpoint_at_or_before("doc", "attribution", u64::MAX)
                .await
                .unwrap(),
            None
        );
        append_all(&store, "doc", 1..=10).await;
        for seq in [3, 7] {
            store
                .put_checkpoint("doc", "attribution", &ck(seq, "a"))
                .await
                .unwrap();
        }
        store
            .put_checkpoint("doc", "other-kind", &ck(5, "o"))
            .await
            .unwrap();
        let at = |seq: u64| {
            let store = store.clone();
            async move {
                store
                    .checkpoint_at_or_before("doc", "attribution", seq)
                    .await
                    .unwrap()
            }
        };
        assert_eq!(at(2).await, None);
        assert_eq!(at(3).await, Some(ck(3, "a")));
        assert_eq!(at(6).await, Some(ck(3, "a")));
        assert_eq!(at(7).await, Some(ck(7, "a")));
        assert_eq!(at(u64::MAX).await, Some(ck(7, "a")));
        // Kinds do not mix, nor do documents, nor checkpoints and snapshots.
        assert_eq!(
            store
                .checkpoint_at_or_before("doc", "other-kind", 100)
                .await
                .unwrap(),
            Some(ck(5, "o"))
        );
        assert_eq!(
            store
                .checkpoint_at_or_before("other", "attribution", 100)
                .await
                .unwrap(),
            None
        );
        assert_eq!(store.latest_snapshot("doc").await.unwrap(), None);
        // Beyond the log: refused. The same position again: replaced.
        assert_eq!(
            store
                .put_checkpoint("doc", "attribution", &ck(11, "a"))
                .await
                .unwrap_err(),
            StoreError::BeyondLog {
                doc: "doc".to_owned(),
                seq: 11,
                last: 10
            }
        );
        store
            .put_checkpoint("doc", "attribution", &ck(7, "again"))
            .await
            .unwrap();
        assert_eq!(at(8).await, Some(ck(7, "again")));
        // A kind that could not be part of a key is refused.
        for bad in ["", "a:b", "a b", &"k".repeat(65)] {
            assert!(matches!(
                store.put_checkpoint("doc", bad, &ck(1, "x")).await,
                Err(StoreError::InvalidInput(_))
            ));
        }
        // Large data round-trips.
        let big = Checkpoint {
            seq: 9,
            data: (0..3_000_000u32).map(|i| (i % 251) as u8).collect(),
        };
        store
            .put_checkpoint("doc", "attribution", &big)
            .await
            .unwrap();
        assert_eq!(at(9).await, Some(big));
    }
    h.reopen().await;
    let store = h.handle().await;
    assert_eq!(
        store
            .checkpoint_at_or_before("doc", "attribution", 8)
            .await
            .unwrap(),
        Some(Checkpoint {
            seq: 7,
            data: b"again at 7".to_vec()
        })
    );
    assert_eq!(store.list_docs().await.unwrap(), vec!["doc"]);
}

async fn versions_are_unique_and_ordered_by_position<H: Harness>(h: H) {
    let store = h.handle().await;
    append_all(&store, "doc", 1..=5).await;
    let version = |name: &str, seq: u64, at_ms: i64| Version {
        name: name.to_owned(),
        seq,
        at_ms,
        by: "chair".to_owned(),
    };
    store
        .name_version("doc", &version("rev2", 4, 10))
        .await
        .unwrap();
    store
        .name_version("doc", &version("rev1", 2, 20))
        .await
        .unwrap();
    store
        .name_version("doc", &version("final", 4, 30))
        .await
        .unwrap();

    let dup = store
        .name_version("doc", &version("rev1", 5, 40))
        .await
        .unwrap_err();
    assert_eq!(
        dup,
        StoreError::DuplicateVersion {
            doc: "doc".to_owned(),
            name: "rev1".to_owned()
        }
    );
    let beyond = store
        .name_version("doc", &version("later", 6, 50))
        .await
        .unwrap_err();
    assert!(
        matches!(
            beyond,
            StoreError::BeyondLog {
                seq: 6,
                last: 5,
                ..
            }
        ),
        "{beyond:?}"
    );

    assert_eq!(
        store.versions("doc").await.unwrap(),
        vec![
            version("rev1", 2, 20),
            version("rev2", 4, 10),
            version("final", 4, 30)
        ]
    );
    assert!(store.versions("other").await.unwrap().is_empty());
    // The same name is fine on another document.
    store.append("other", &entry(1)).await.unwrap();
    store
        .name_version("other", &version("rev1", 1, 60))
        .await
        .unwrap();
}

async fn list_docs_shows_every_document_written<H: Harness>(h: H) {
    let store = h.handle().await;
    assert!(store.list_docs().await.unwrap().is_empty());
    assert!(!store.doc_exists("beta").await.unwrap());
    store.append("beta", &entry(1)).await.unwrap();
    store.append("alpha", &entry(1)).await.unwrap();
    store.append("beta", &entry(2)).await.unwrap();
    // A document with only a snapshot of its empty state exists too.
    store
        .put_snapshot(
            "gamma",
            &Snapshot {
                seq: 0,
                state: vec![0],
            },
        )
        .await
        .unwrap();
    assert_eq!(
        store.list_docs().await.unwrap(),
        vec!["alpha", "beta", "gamma"]
    );
    assert!(store.doc_exists("beta").await.unwrap());
    assert!(store.doc_exists("gamma").await.unwrap());
    assert!(!store.doc_exists("delta").await.unwrap());
    assert!(matches!(
        store.append("", &entry(1)).await,
        Err(StoreError::InvalidInput(_))
    ));
}

async fn watch_sees_appends_from_another_handle_in_order<H: Harness>(h: H) {
    let watcher = h.handle().await;
    let writer = h.handle().await;
    append_all(&writer, "doc", 1..=3).await;

    let mut from_start = watcher.watch("doc", 0).await.unwrap();
    let mut from_two = watcher.watch("doc", 2).await.unwrap();
    let mut other_doc = watcher.watch("other", 0).await.unwrap();

    // Several writers at once: the watch must still see one dense sequence.
    let mut tasks = Vec::new();
    for t in 0..4u64 {
        let writer = writer.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..25u64 {
                let mut e = entry(100 + t * 25 + i);
                e.node = format!("node-{t}");
                writer.append("doc", &e).await.unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let total = 3 + 100;
    let log = writer.read_log("doc", 0, 1000).await.unwrap();
    assert_eq!(log.len(), total);

    for (watch, after) in [(&mut from_start, 0usize), (&mut from_two, 2)] {
        for expected in &log[after..] {
            let got = within("watch", watch.next()).await.unwrap().unwrap();
            assert_eq!(&got, expected);
        }
    }
    // Nothing more (no duplicates), and nothing from the other document.
    let more = tokio::time::timeout(Duration::from_millis(300), from_start.next()).await;
    assert!(more.is_err(), "unexpected extra item: {more:?}");
    let stray = tokio::time::timeout(Duration::from_millis(100), other_doc.next()).await;
    assert!(stray.is_err(), "other document's watch got {stray:?}");

    // It keeps following.
    writer.append("doc", &entry(999)).await.unwrap();
    let next = within("watch", from_start.next()).await.unwrap().unwrap();
    assert_eq!(next, (u64::try_from(total).unwrap() + 1, entry(999)));
}

async fn watch_catches_up_after_falling_behind<H: Harness>(h: H) {
    let store = h.handle().await;
    let mut watch = store.watch("doc", 0).await.unwrap();
    // Far more than any in-memory buffer, appended while nobody reads the watch.
    let count = 3000u64;
    let mut seqs = BTreeSet::new();
    for wave in 0..count / 100 {
        let appends: Vec<_> = (0..100)
            .map(|i| {
                let store = store.clone();
                tokio::spawn(async move { store.append("doc", &entry(wave * 100 + i)).await })
            })
            .collect();
        for append in appends {
            seqs.insert(append.await.unwrap().unwrap());
        }
    }
    assert_eq!(seqs.len(), usize::try_from(count).unwrap());
    for expected in 1..=count {
        let (seq, _) = within("watch", watch.next()).await.unwrap().unwrap();
        assert_eq!(seq, expected);
    }
}

async fn awareness_crosses_handles<H: Harness>(h: H) {
    let a = h.handle().await;
    let b = h.handle().await;
    let mut feed_a = a.subscribe_awareness("doc").await.unwrap();
    let mut feed_b = b.subscribe_awareness("doc").await.unwrap();
    let mut other = a.subscribe_awareness("other").await.unwrap();

    b.publish_awareness("doc", "node-b", b"cursor at 3")
        .await
        .unwrap();
    let got = within("awareness", feed_a.next()).await.unwrap();
    assert_eq!(got, ("node-b".to_owned(), b"cursor at 3".to_vec()));
    // The publisher's own node hears it too (it filters by node id).
    let own = within("awareness", feed_b.next()).await.unwrap();
    assert_eq!(own, ("node-b".to_owned(), b"cursor at 3".to_vec()));

    a.publish_awareness("doc", "node-a", &[]).await.unwrap();
    let got = within("awareness", feed_b.next()).await.unwrap();
    assert_eq!(got, ("node-a".to_owned(), Vec::new()));

    let stray = tokio::time::timeout(Duration::from_millis(200), other.next()).await;
    assert!(stray.is_err(), "other document's feed got {stray:?}");
}

async fn large_entries_round_trip<H: Harness>(h: H) {
    let store = h.handle().await;
    let mut watch = store.watch("doc", 0).await.unwrap();
    let mut big = entry(1);
    big.update = (0..1024 * 1024)
        .map(|i: u32| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    big.paragraphs = (0..500).map(|p| format!("paragraph-{p}")).collect();
    assert_eq!(store.append("doc", &big).await.unwrap(), 1);
    assert_eq!(store.append("doc", &entry(2)).await.unwrap(), 2);
    assert_eq!(
        store.read_log("doc", 0, 10).await.unwrap(),
        vec![(1, big.clone()), (2, entry(2))]
    );
    assert_eq!(
        within("watch", watch.next()).await.unwrap().unwrap(),
        (1, big)
    );
    let big_snapshot = Snapshot {
        seq: 2,
        state: vec![7; 4 * 1024 * 1024],
    };
    store.put_snapshot("doc", &big_snapshot).await.unwrap();
    assert_eq!(
        store.latest_snapshot("doc").await.unwrap(),
        Some(big_snapshot)
    );
}

async fn concurrent_appends_get_dense_unique_seqs<H: Harness>(h: H) {
    let handles = [h.handle().await, h.handle().await];
    let tasks = 16u64;
    let per_task = 50u64;
    let mut joins = Vec::new();
    for t in 0..tasks {
        let store = handles[usize::try_from(t % 2).unwrap()].clone();
        joins.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            for i in 0..per_task {
                let n = t * per_task + i;
                mine.push((store.append("doc", &entry(n)).await.unwrap(), n));
            }
            mine
        }));
    }
    let mut assigned = Vec::new();
    for join in joins {
        assigned.extend(within("appends", join).await.unwrap());
    }
    let total = tasks * per_task;
    let seqs: BTreeSet<u64> = assigned.iter().map(|(seq, _)| *seq).collect();
    assert_eq!(seqs, (1..=total).collect::<BTreeSet<_>>());
    // The log holds each entry at the position its append returned.
    let log = handles[0].read_log("doc", 0, 10_000).await.unwrap();
    assert_eq!(log.len(), usize::try_from(total).unwrap());
    for (seq, n) in assigned {
        assert_eq!(log[usize::try_from(seq - 1).unwrap()], (seq, entry(n)));
    }
}

async fn everything_survives_reopening<H: Harness>(mut h: H) {
    {
        let store = h.handle().await;
        append_all(&store, "doc", 1..=4).await;
        store
            .put_snapshot(
                "doc",
                &Snapshot {
                    seq: 3,
                    state: b"s3".to_vec(),
                },
            )
            .await
            .unwrap();
        store
            .name_version(
                "doc",
                &Version {
                    name: "rev1".to_owned(),
                    seq: 4,
                    at_ms: 5,
                    by: "chair".to_owned(),
                },
            )
            .await
            .unwrap();
    }
    h.reopen().await;
    let store = h.handle().await;
    assert_eq!(store.list_docs().await.unwrap(), vec!["doc"]);
    assert_eq!(store.last_seq("doc").await.unwrap(), 4);
    let expected: Vec<_> = (1..=4).map(|n| (n, entry(n))).collect();
    assert_eq!(store.read_log("doc", 0, 10).await.unwrap(), expected);
    assert_eq!(
        store.latest_snapshot("doc").await.unwrap(),
        Some(Snapshot {
            seq: 3,
            state: b"s3".to_vec()
        })
    );
    assert_eq!(store.versions("doc").await.unwrap().len(), 1);
    assert_eq!(store.append("doc", &entry(5)).await.unwrap(), 5);
    store.ping().await.unwrap();
}

// --- one test per behaviour per store -----------------------------------------------------

/// A claim is held once across handles (nodes), per document and key, until it is released or
/// lapses; keys are any string.
async fn claims_are_held_once_across_handles_until_released_or_lapsed<H: Harness>(h: H) {
    let a = h.handle().await;
    let b = h.handle().await;
    let long = Duration::from_secs(60);
    assert!(a.claim("doc", "decision:p1", long).await.unwrap());
    assert!(
        !b.claim("doc", "decision:p1", long).await.unwrap(),
        "claimed twice"
    );
    assert!(
        !a.claim("doc", "decision:p1", long).await.unwrap(),
        "claimed twice"
    );
    // Other keys and other documents are other claims; odd characters do not collide.
    assert!(b.claim("doc", "decision:p2", long).await.unwrap());
    assert!(b.claim("other", "decision:p1", long).await.unwrap());
    assert!(b.claim("doc", "decision:p1:x", long).await.unwrap());
    // Released, it can be taken again.
    a.release("doc", "decision:p1").await.unwrap();
    assert!(b.claim("doc", "decision:p1", long).await.unwrap());
    // A claim never released lapses after its time.
    assert!(
        a.claim("doc", "short", Duration::from_millis(200))
            .await
            .unwrap()
    );
    assert!(!b.claim("doc", "short", long).await.unwrap());
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert!(
        b.claim("doc", "short", long).await.unwrap(),
        "the claim did not lapse"
    );
}

macro_rules! conformance {
    ($($behaviour:ident),* $(,)?) => {
        mod embedded {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $behaviour() {
                    super::$behaviour(super::EmbeddedHarness::new()).await;
                }
            )*
        }
        mod redis {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $behaviour() {
                    super::$behaviour(super::RedisHarness::new()).await;
                }
            )*
        }
        mod cluster {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $behaviour() {
                    super::$behaviour(super::RedisHarness::cluster().await).await;
                }
            )*
        }
    };
}

conformance!(
    append_numbers_densely_and_reads_back_in_order,
    read_log_from_a_position_with_a_limit,
    snapshots_keep_the_latest_and_older_checkpoints,
    checkpoints_are_kept_per_kind_and_found_at_or_before,
    versions_are_unique_and_ordered_by_position,
    list_docs_shows_every_document_written,
    watch_sees_appends_from_another_handle_in_order,
    watch_catches_up_after_falling_behind,
    awareness_crosses_handles,
    large_entries_round_trip,
    concurrent_appends_get_dense_unique_seqs,
    everything_survives_reopening,
    claims_are_held_once_across_handles_until_released_or_lapsed,
);

// --- Redis going away and coming back ----------------------------------------------------

/// How quickly an operation must fail when Redis is down: callers must be able to refuse
/// updates promptly rather than hang.
const FAIL_FAST: Duration = Duration::from_secs(8);

async fn fails_fast<T: std::fmt::Debug>(
    what: &str,
    op: impl Future<Output = Result<T, StoreError>>,
) {
    let result = tokio::time::timeout(FAIL_FAST, op)
        .await
        .unwrap_or_else(|_| panic!("{what} hung with Redis down"));
    match result {
        Err(StoreError::Unavailable { .. }) => {}
        other => panic!("{what} with Redis down gave {other:?}, expected Unavailable"),
    }
}

/// Retries `op` until it succeeds: the handle reconnects by itself once Redis is back.
async fn until_ok<T, F: Future<Output = Result<T, StoreError>>>(mut op: impl FnMut() -> F) -> T {
    within("recovery", async {
        loop {
            match op().await {
                Ok(value) => return value,
                Err(StoreError::Unavailable { .. }) => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(other) => panic!("unexpected error while recovering: {other:?}"),
            }
        }
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_down_fails_fast_and_the_same_handle_recovers() {
    let mut h = RedisHarness::new();
    let store = h.handle().await;
    append_all(&store, "doc", 1..=3).await;
    let mut watch = store.watch("doc", 0).await.unwrap();
    for expected in 1..=3 {
        assert_eq!(
            within("watch", watch.next()).await.unwrap().unwrap().0,
            expected
        );
    }

    h.server.stop();
    fails_fast("append", store.append("doc", &entry(4))).await;
    fails_fast("read_log", store.read_log("doc", 0, 10)).await;
    fails_fast("last_seq", store.last_seq("doc")).await;
    fails_fast("ping", store.ping()).await;
    fails_fast(
        "put_snapshot",
        store.put_snapshot(
            "doc",
            &Snapshot {
                seq: 1,
                state: vec![],
            },
        ),
    )
    .await;
    // The watch reports the outage instead of silently stalling.
    let outage = within("watch outage", watch.next()).await.unwrap();
    assert!(
        matches!(outage, Err(StoreError::Unavailable { .. })),
        "{outage:?}"
    );

    h.server.restart();
    until_ok(|| store.ping()).await;
    // Nothing acknowledged was lost, and numbering continues.
    assert_eq!(store.last_seq("doc").await.unwrap(), 3);
    assert_eq!(store.append("doc", &entry(4)).await.unwrap(), 4);
    // The watch resumes exactly where it stopped.
    let (seq, got) = within("watch resume", watch.next()).await.unwrap().unwrap();
    assert_eq!((seq, got), (4, entry(4)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_awareness_resumes_after_restart() {
    let mut h = RedisHarness::new();
    let a = h.handle().await;
    let b = h.handle().await;
    let mut feed = a.subscribe_awareness("doc").await.unwrap();
    h.server.stop();
    fails_fast(
        "publish_awareness",
        b.publish_awareness("doc", "node-b", b"x"),
    )
    .await;
    h.server.restart();
    // The subscription comes back by itself; keep publishing until it hears one.
    let heard = within("awareness after restart", async {
        loop {
            let _ = b.publish_awareness("doc", "node-b", b"back").await;
            if let Ok(Some(message)) =
                tokio::time::timeout(Duration::from_millis(200), feed.next()).await
            {
                return message;
            }
        }
    })
    .await;
    assert_eq!(heard, ("node-b".to_owned(), b"back".to_vec()));
}

#[tokio::test]
async fn connecting_to_nothing_is_unavailable() {
    let server = RedisServer::spawn();
    let url = server.url();
    drop(server);
    fails_fast("connect", RedisStore::connect(&url)).await;
}

// --- a Redis Cluster losing a master while appends go on ---------------------------------

const CLUSTER_DOCS: [&str; 6] = [
    "resolution",
    "annex",
    "draft-3",
    "draft-4",
    "draft-5",
    "draft-6",
];

/// What one writer got while appending to [`CLUSTER_DOCS`] in turn.
struct Typed {
    /// Per document, the entries acknowledged, in order.
    acked: Vec<Vec<LogEntry>>,
    /// Appends refused as unavailable (then tried no more).
    refused: u32,
    /// The longest wait between two acknowledged appends.
    longest_wait: Duration,
}

/// A writer appending to [`CLUSTER_DOCS`] in turn, counting what was acknowledged.
struct Typist {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    handle: tokio::task::JoinHandle<Typed>,
}

impl Typist {
    fn start(writer: RedisStore) -> Typist {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stopped = stop.clone();
        let handle = tokio::spawn(async move {
            let mut typed = Typed {
                acked: vec![Vec::new(); CLUSTER_DOCS.len()],
                refused: 0,
                longest_wait: Duration::ZERO,
            };
            let mut last_ok = std::time::Instant::now();
            let mut n = 0u64;
            while !stopped.load(std::sync::atomic::Ordering::Acquire) {
                n += 1;
                let i = usize::try_from(n).unwrap() % CLUSTER_DOCS.len();
                let e = entry(n);
                match writer.append(CLUSTER_DOCS[i], &e).await {
                    Ok(_) => {
                        typed.acked[i].push(e);
                        typed.longest_wait = typed.longest_wait.max(last_ok.elapsed());
                        last_ok = std::time::Instant::now();
                    }
                    Err(StoreError::Unavailable { .. }) => {
                        typed.refused += 1;
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                    Err(other) => panic!("append while a master went away: {other:?}"),
                }
            }
            typed
        });
        Typist { stop, handle }
    }

    /// Stops, after a last `linger` of typing.
    async fn finish(self, linger: Duration) -> Typed {
        tokio::time::sleep(linger).await;
        self.stop.store(true, std::sync::atomic::Ordering::Release);
        self.handle.await.unwrap()
    }
}

/// A replica promoted while appends go on (`CLUSTER FAILOVER` on every master in turn): every
/// acknowledged append is in the log, in order, numbered densely, and a watch on another handle
/// sees each exactly once. Prints the figures (appends, refusals while the slots moved, the
/// longest wait for an acknowledgement).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_failover_loses_nothing_acknowledged() {
    let cluster = tokio::task::spawn_blocking(|| RedisCluster::spawn(3, 1))
        .await
        .unwrap();
    let writer = RedisStore::connect(&cluster.url()).await.unwrap();
    let reader = RedisStore::connect(&cluster.url()).await.unwrap();
    let mut watches = Vec::new();
    for doc in CLUSTER_DOCS {
        watches.push(reader.watch(doc, 0).await.unwrap());
    }
    let typist = Typist::start(writer);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let promoted = tokio::task::spawn_blocking(move || {
        let started = std::time::Instant::now();
        for master in cluster.master_ports() {
            cluster.fail_over(master);
        }
        (cluster, started.elapsed())
    })
    .await
    .unwrap();
    let (_cluster, took) = promoted;
    let Typed {
        acked,
        refused,
        longest_wait,
    } = typist.finish(Duration::from_millis(300)).await;
    let total: usize = acked.iter().map(Vec::len).sum();
    for (i, doc) in CLUSTER_DOCS.iter().enumerate() {
        let log = reader.read_log(doc, 0, 100_000).await.unwrap();
        let logged: Vec<LogEntry> = log.iter().map(|(_, e)| e.clone()).collect();
        assert_eq!(
            logged, acked[i],
            "{doc}: the log is exactly what was acknowledged"
        );
        for (expected, (seq, _)) in (1..).zip(&log) {
            assert_eq!(*seq, expected);
        }
        for want in 1..=acked[i].len() as u64 {
            let got = within("watch across failover", async {
                loop {
                    match watches[i].next().await {
                        Some(Ok((seq, _))) => return seq,
                        Some(Err(_)) => continue, // an outage reported while slots moved
                        None => panic!("{doc}: watch ended"),
                    }
                }
            })
            .await;
            assert_eq!(got, want, "{doc}: the watch sees each entry once, in order");
        }
    }
    assert!(total > 100, "only {total} appends");
    eprintln!(
        "failover of 3 masters in {took:?}: {total} appends acknowledged, all in the log; \
         {refused} refused while slots moved; longest wait between two acknowledged appends \
         {longest_wait:?}"
    );
}

/// A master killed (SIGKILL) while appends go on, with the store asked to acknowledge an append
/// only once a replica holds it (`?replicas=1`): the promoted replica has every acknowledged
/// entry, in order, and the log stays dense. (Appends refused while the slots had no master may
/// be in the log or not; they were never acknowledged.) Prints the figures.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_master_crash_loses_nothing_acknowledged_when_replicas_confirm() {
    let cluster = tokio::task::spawn_blocking(|| RedisCluster::spawn(3, 1))
        .await
        .unwrap();
    let url = format!("{}?replicas=1", cluster.url());
    let writer = RedisStore::connect(&url).await.unwrap();
    let typist = Typist::start(writer);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let cluster = tokio::task::spawn_blocking(move || {
        let mut cluster = cluster;
        let master = cluster.master_ports()[0];
        cluster.crash(master);
        cluster
    })
    .await
    .unwrap();
    // Typing goes on until every document takes appends again, and a little longer.
    let Typed {
        acked,
        refused,
        longest_wait,
    } = typist.finish(Duration::from_millis(1_500)).await;
    let reader = RedisStore::connect(&cluster.url()).await.unwrap();
    let (mut total, mut unacknowledged) = (0, 0);
    for (i, doc) in CLUSTER_DOCS.iter().enumerate() {
        let log = reader.read_log(doc, 0, 100_000).await.unwrap();
        for (expected, (seq, _)) in (1..).zip(&log) {
            assert_eq!(*seq, expected, "{doc}: dense after the crash");
        }
        // Every acknowledged entry is there, in order.
        let mut logged = log.iter().map(|(_, e)| e);
        for want in &acked[i] {
            assert!(
                logged.any(|e| e == want),
                "{doc}: an acknowledged entry was lost in the crash"
            );
        }
        total += acked[i].len();
        unacknowledged += log.len() - acked[i].len();
        assert!(!acked[i].is_empty());
    }
    eprintln!(
        "master crash with replicas=1: {total} appends acknowledged, all kept; {refused} refused \
         while a master was missing ({unacknowledged} of them in the log anyway); longest wait \
         between two acknowledged appends {longest_wait:?}"
    );
}
