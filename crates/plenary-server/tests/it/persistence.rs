//! Persistence and scale-out (issue 5): nothing acknowledged is lost to a
//! crash, a Redis restart or a node going away; nodes share documents.

use std::time::{Duration, Instant};

use yrs::{ReadTxn, StateVector, Transact};

use crate::support::*;

fn sv(doc: &yrs::Doc) -> StateVector {
    doc.transact().state_vector()
}

/// Every clock `b` has, `a` has too.
fn covers(a: &StateVector, b: &StateVector) -> bool {
    b.iter().all(|(client, clock)| a.get(client) >= *clock)
}

#[tokio::test]
async fn sigkill_mid_stream_loses_nothing_any_client_saw() {
    let mut server = server();
    let chair = seeded(&server, "crash").await;
    let witness = connect(&server, "crash", &Who::observer()).await;
    witness
        .wait_until(WAIT, |d| paragraph_count(d) == 13)
        .await
        .unwrap();

    // Stream edits and kill the server while they flow.
    let writer = tokio::spawn(async move {
        for i in 0..400 {
            append(chair.doc(), 5 + (i % 8), &format!(" k{i}"));
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        chair
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    server.kill();
    let _chair = writer.await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let seen = sv(witness.doc());
    let seen_texts = all_texts(witness.doc());
    assert!(
        seen_texts.join("").contains(" k1"),
        "the witness saw edits before the crash"
    );

    server.restart();
    let after = connect(&server, "crash", &Who::observer()).await;
    after
        .wait_until(WAIT, |d| paragraph_count(d) == 13)
        .await
        .unwrap();
    assert!(
        covers(&sv(after.doc()), &seen),
        "the restarted server lacks updates a client had received"
    );
    for (i, (before, now)) in seen_texts.iter().zip(all_texts(after.doc())).enumerate() {
        assert!(
            now.starts_with(before.as_str()),
            "paragraph {i} lost text: had {before:?}, now {now:?}"
        );
    }
}

#[tokio::test]
async fn redis_restart_refuses_then_resumes_and_loses_nothing() {
    let mut redis = RedisServer::spawn();
    let server = redis_server(&redis, "solo");
    let chair = seeded(&server, "rr").await;
    append(chair.doc(), 5, " before-outage");
    let witness = connect(&server, "rr", &Who::observer()).await;
    witness
        .wait_until(WAIT, |d| text_of(d, 5).ends_with(" before-outage"))
        .await
        .unwrap();

    redis.stop();
    append(chair.doc(), 6, " during-outage");
    // The server refuses what it cannot keep: the writer is asked to come back later.
    let close = chair
        .wait_closed(Duration::from_secs(20))
        .await
        .unwrap()
        .expect("a close frame");
    assert_eq!(close.code, 1013, "{close:?}");
    assert!(close.reason.contains("store unavailable"), "{close:?}");
    assert!(
        !text_of(witness.doc(), 6).contains("during-outage"),
        "an unsaved change was broadcast"
    );
    let ready = crate::sync::http_get(&format!("{}/readyz", server.http_url())).await;
    assert!(ready.starts_with("HTTP/1.1 503"), "{ready}");

    redis.restart();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let ready = crate::sync::http_get(&format!("{}/readyz", server.http_url())).await;
        if ready.starts_with("HTTP/1.1 200") {
            break;
        }
        assert!(Instant::now() < deadline, "never ready again: {ready}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // The writer reconnects with its local state (as y-websocket does): the
    // refused change is resent by the resync and now accepted.
    let again = Client::connect_with(
        &server.ws_url("rr", &Who::chair().token()),
        ClientOptions {
            doc: Some(chair.doc().clone()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    drop(chair);
    again.wait_synced(WAIT).await.unwrap();
    // The room unloaded when the store failed (it held a change it could not
    // keep); readers reconnect too, as y-websocket does, and see everything.
    let reader = Client::connect_with(
        &server.ws_url("rr", &Who::observer().token()),
        ClientOptions {
            doc: Some(witness.doc().clone()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    reader
        .wait_until(Duration::from_secs(20), |d| {
            text_of(d, 6).ends_with(" during-outage")
        })
        .await
        .unwrap();
    let fresh = connect(&server, "rr", &Who::observer()).await;
    assert!(text_of(fresh.doc(), 5).ends_with(" before-outage"));
    assert!(text_of(fresh.doc(), 6).ends_with(" during-outage"));
}

#[tokio::test]
async fn two_nodes_share_documents_and_presence_and_survive_a_node_loss() {
    let redis = RedisServer::spawn();
    two_nodes_share_and_survive(&redis.url()).await;
}

#[tokio::test]
async fn two_nodes_on_a_redis_cluster_share_documents_and_presence_and_survive_a_node_loss() {
    let cluster = tokio::task::spawn_blocking(|| RedisCluster::spawn(3, 0))
        .await
        .unwrap();
    two_nodes_share_and_survive(&cluster.url()).await;
}

async fn two_nodes_share_and_survive(url: &str) {
    let mut a = redis_node(url, "node-a");
    let b = redis_node(url, "node-b");
    let chair = seeded(&a, "nodes").await;
    let on_a = connect(&a, "nodes", &Who::delegate("JPN")).await;
    let on_b = connect(&b, "nodes", &Who::delegate("FRA")).await;
    on_b.wait_until(WAIT, |d| paragraph_count(d) == 13)
        .await
        .unwrap();

    append(on_a.doc(), 5, " from-A");
    append(on_b.doc(), 6, " from-B");
    on_b.wait_until(WAIT, |d| text_of(d, 5).ends_with(" from-A"))
        .await
        .unwrap();
    on_a.wait_until(WAIT, |d| text_of(d, 6).ends_with(" from-B"))
        .await
        .unwrap();

    // Presence crosses nodes.
    on_a.set_awareness(
        &serde_json::json!({"user": {"name": "Delegate of Japan", "delegation": "JPN"}}),
    );
    let deadline = Instant::now() + WAIT;
    while !on_b
        .awareness_states()
        .iter()
        .any(|(_, s)| s["user"]["delegation"] == "JPN")
    {
        assert!(Instant::now() < deadline, "presence did not cross nodes");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // No duplicates, no loops: the text appears exactly once on both nodes.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(text_of(on_b.doc(), 5).matches(" from-A").count(), 1);
    assert_eq!(all_texts(on_a.doc()), all_texts(on_b.doc()));

    // Node A dies; its clients reconnect to B with their local state.
    for i in 0..20 {
        append(on_a.doc(), 7, &format!(" a{i}"));
    }
    on_b.wait_until(WAIT, |d| text_of(d, 7).ends_with(" a19"))
        .await
        .unwrap();
    a.kill();
    append(on_a.doc(), 8, " written-while-A-was-dying");
    let moved = Client::connect_with(
        &b.ws_url("nodes", &Who::delegate("JPN").token()),
        ClientOptions {
            doc: Some(on_a.doc().clone()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    drop(on_a);
    drop(chair);
    moved.wait_synced(WAIT).await.unwrap();
    on_b.wait_until(WAIT, |d| {
        text_of(d, 8).ends_with(" written-while-A-was-dying")
    })
    .await
    .unwrap();
    let fresh = connect(&b, "nodes", &Who::observer()).await;
    assert_eq!(all_texts(fresh.doc()), all_texts(moved.doc()));
    assert!(text_of(fresh.doc(), 7).ends_with(" a19"));
}

/// Connections the Redis servers at `ports` hold, not counting the ones that ask, nor a
/// cluster's own links between its nodes (those are not clients).
fn redis_connections(ports: &[u16]) -> usize {
    ports
        .iter()
        .map(|port| {
            let out = std::process::Command::new("redis-cli")
                .args(["-p", &port.to_string(), "CLIENT", "LIST"])
                .output()
                .expect("redis-cli runs");
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .count()
                .saturating_sub(1)
        })
        .sum()
}

/// A node follows every document it has loaded, for the log and for presence, over a fixed
/// number of Redis connections: loading sixty documents costs no more connections than two, and
/// edits and presence still cross nodes on every one of them.
#[tokio::test]
async fn a_node_follows_many_documents_over_a_fixed_number_of_redis_connections() {
    let redis = RedisServer::spawn();
    // Per node: the command connection and the pub/sub connection.
    follows_many(&redis.url(), &[redis.port()], 4).await;
}

#[tokio::test]
async fn on_a_redis_cluster_a_node_follows_many_documents_over_a_fixed_number_of_connections() {
    let cluster = tokio::task::spawn_blocking(|| RedisCluster::spawn(3, 0))
        .await
        .unwrap();
    let ports: Vec<u16> = cluster.nodes().iter().map(RedisServer::port).collect();
    // Per node: a command connection to each master, and the pub/sub connection.
    follows_many(&cluster.url(), &ports, 2 * (3 + 1)).await;
}

async fn follows_many(url: &str, ports: &[u16], most: usize) {
    let a = redis_node(url, "node-a");
    let b = redis_node(url, "node-b");
    let mut readers = Vec::new();
    let mut writers = Vec::new();
    let load = |n: usize| format!("many-{n}");
    for n in 0..2 {
        a.ensure_doc(&load(n));
        readers.push(connect(&a, &load(n), &Who::observer()).await);
        writers.push(connect(&b, &load(n), &Who::chair()).await);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let with_two = redis_connections(ports);
    for n in 2..60 {
        a.ensure_doc(&load(n));
        readers.push(connect(&a, &load(n), &Who::observer()).await);
        writers.push(connect(&b, &load(n), &Who::chair()).await);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let with_sixty = redis_connections(ports);
    assert!(
        with_sixty <= with_two,
        "two nodes hold {with_two} Redis connections with 2 documents loaded, {with_sixty} with 60"
    );
    assert!(
        with_sixty <= most,
        "{with_sixty} connections for two nodes, expected at most {most}"
    );
    // Every one of the sixty still crosses from node B to node A, edits and presence alike.
    for (n, (w, r)) in writers.iter().zip(&readers).enumerate() {
        set_meta(w.doc(), "agendaItem", &format!("mark-{n}"));
        w.set_awareness(&serde_json::json!({"user": {"name": format!("writer {n}")}}));
        let want = format!("mark-{n}");
        r.wait_until(WAIT, |d| {
            meta_value(d, "agendaItem").as_deref() == Some(want.as_str())
        })
        .await
        .unwrap_or_else(|_| panic!("the edit of document {n} did not cross nodes"));
    }
    for (n, r) in readers.iter().enumerate() {
        let deadline = Instant::now() + WAIT;
        while !r
            .awareness_states()
            .iter()
            .any(|(_, s)| s["paragraph"].is_null() && s["user"]["role"] == "chair")
        {
            assert!(
                Instant::now() < deadline,
                "presence of document {n} did not cross nodes"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    eprintln!(
        "Redis connections of two nodes: {with_two} with 2 documents loaded, {with_sixty} with 60"
    );
}

/// Two nodes on a Redis Cluster whose appends are confirmed by a replica (`?replicas=1`); the
/// master holding the document is killed while delegates type on both nodes, its replica takes
/// over, and the dead node is started again (as an orchestrator would) to be the new master's
/// replica. Writers are refused while no master and replica hold their changes (1013) and come
/// back with their local state, as y-websocket does; in the end both nodes hold everything
/// anyone typed, and nothing a witness saw before the crash is missing.
#[tokio::test]
async fn a_master_crash_on_a_redis_cluster_loses_nothing_while_delegates_type() {
    let cluster = tokio::task::spawn_blocking(|| RedisCluster::spawn(3, 1))
        .await
        .unwrap();
    let url = format!("{}?replicas=1", cluster.url());
    let a = redis_node(&url, "node-a");
    let b = redis_node(&url, "node-b");
    let chair = seeded(&a, "crash").await;
    let on_a = connect(&a, "crash", &Who::chair()).await;
    let on_b = connect(&b, "crash", &Who::chair()).await;
    let witness = connect(&b, "crash", &Who::observer()).await;
    witness
        .wait_until(WAIT, |d| paragraph_count(d) == 13)
        .await
        .unwrap();
    let typing = tokio::spawn(async move {
        for i in 0..300 {
            append(on_a.doc(), 5, &format!(" a{i}"));
            append(on_b.doc(), 6, &format!(" b{i}"));
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        (on_a, on_b)
    });
    tokio::time::sleep(Duration::from_millis(400)).await;
    let crashed = Instant::now();
    let (cluster, promoted) = tokio::task::spawn_blocking(move || {
        let master = cluster.master_of("plenary:{crash}:log");
        let mut cluster = cluster;
        cluster.crash(master);
        let promoted = crashed.elapsed();
        cluster.revive(master);
        (cluster, promoted)
    })
    .await
    .unwrap();
    let (on_a, on_b) = typing.await.unwrap();
    let seen = sv(witness.doc());
    let seen_texts = all_texts(witness.doc());
    assert!(
        seen_texts[5].contains(" a1"),
        "the witness saw typing before the crash"
    );

    // Everyone comes back with what they hold.
    let back = |server: &TestServer, who: Who, doc: &yrs::Doc| {
        let url = server.ws_url("crash", &who.token());
        let doc = doc.clone();
        async move {
            // Like y-websocket, retry while the node says "try again shortly" (503).
            let deadline = Instant::now() + Duration::from_secs(20);
            loop {
                let options = ClientOptions {
                    doc: Some(doc.clone()),
                    ..Default::default()
                };
                match Client::connect_with(&url, options).await {
                    Ok(client) => {
                        client.wait_synced(WAIT).await.unwrap();
                        return client;
                    }
                    Err(e) if Instant::now() < deadline => {
                        eprintln!("reconnecting after: {e:?}");
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                    Err(e) => panic!("could not come back: {e:?}"),
                }
            }
        }
    };
    let wa = back(&a, Who::chair(), on_a.doc()).await;
    let wb = back(&b, Who::chair(), on_b.doc()).await;
    let typed_a = text_of(on_a.doc(), 5);
    let typed_b = text_of(on_b.doc(), 6);
    drop((on_a, on_b, chair));
    for (node, name) in [(&a, "a"), (&b, "b")] {
        let fresh = connect(node, "crash", &Who::observer()).await;
        fresh
            .wait_until(Duration::from_secs(20), |d| {
                text_of(d, 5).ends_with(" a299") && text_of(d, 6).ends_with(" b299")
            })
            .await
            .unwrap_or_else(|_| panic!("node {name} lacks typing after the crash"));
        assert_eq!(text_of(fresh.doc(), 5), typed_a, "node {name}");
        assert_eq!(text_of(fresh.doc(), 6), typed_b, "node {name}");
        assert!(
            covers(&sv(fresh.doc()), &seen),
            "node {name} lost what the witness saw"
        );
        for (before, now) in seen_texts.iter().zip(all_texts(fresh.doc())) {
            assert!(now.starts_with(before.as_str()));
        }
    }
    drop((wa, wb));
    // The cluster is whole again without the dead master.
    assert_eq!(cluster.master_ports().len(), 3);
    eprintln!("master crashed; replica serving after {promoted:?}; nothing typed was lost");
}
