//! Decoding with a budget: a length prefix that lies costs its sender a
//! closed connection, never the server's memory.

use std::time::Duration;

use crate::support::*;

/// The server process's peak resident set (VmHWM), in kB.
fn peak_rss_kb(server: &TestServer) -> u64 {
    let pid = server.pid().expect("server running");
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc status")
}

/// Sync step 1 whose state vector claims 2^28 entries, in 10 bytes.
fn state_vector_bomb() -> Vec<u8> {
    vec![0, 0, 7, 0x80, 0x80, 0x80, 0x80, 0x01, 0, 0]
}

/// An awareness update claiming 2^28 client entries, in 10 bytes.
fn awareness_bomb() -> Vec<u8> {
    vec![1, 8, 0x80, 0x80, 0x80, 0x80, 0x01, 1, 1, 0]
}

/// An update claiming 2^28 clients, in 10 bytes.
fn update_clients_bomb() -> Vec<u8> {
    vec![0, 2, 7, 0x80, 0x80, 0x80, 0x80, 0x01, 0, 0]
}

/// An update of one client claiming 2^28 structs, in 12 bytes.
fn update_structs_bomb() -> Vec<u8> {
    vec![0, 2, 9, 1, 0x80, 0x80, 0x80, 0x80, 0x01, 1, 0, 0]
}

#[tokio::test]
async fn lying_length_prefixes_are_refused_with_bounded_memory() {
    let server = server();
    let doc = "budget";
    let chair = seeded(&server, doc).await;
    let witness = connect(&server, doc, &Who::delegate("FRA")).await;
    // Let the server settle before taking its peak.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let before = peak_rss_kb(&server);

    // Any token will do: observers send the bombs, six of each at once.
    let mut attackers = Vec::new();
    for _ in 0..6 {
        for bomb in [
            state_vector_bomb(),
            awareness_bomb(),
            update_clients_bomb(),
            update_structs_bomb(),
        ] {
            attackers.push((connect(&server, doc, &Who::observer()).await, bomb));
        }
    }
    for (a, bomb) in &attackers {
        a.send_raw(bomb.clone());
    }
    for (a, bomb) in &attackers {
        let close = a
            .wait_closed(WAIT)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("no close frame for {bomb:?}"));
        assert!(close.code == 1007 || close.code == 1002, "{close:?}");
        assert!(close.reason.contains("malformed"), "{close:?}");
    }

    let after = peak_rss_kb(&server);
    let grown_mb = after.saturating_sub(before) / 1024;
    eprintln!("server peak RSS: {before} kB before, {after} kB after the bombs");
    assert!(
        grown_mb < 64,
        "peak RSS grew by {grown_mb} MB ({before} kB -> {after} kB)"
    );

    // The room keeps serving the others.
    append(chair.doc(), 0, " still here");
    witness
        .wait_until(WAIT, |d| text_of(d, 0).ends_with(" still here"))
        .await
        .expect("another client's edit still arrives");
}
