//! The server's edges (issue 12): a connection ends with its token, oversize
//! messages close with 1009, and every HTTP error body is JSON.

use std::time::{Duration, Instant};

use crate::support::*;

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[tokio::test]
async fn a_connection_is_closed_when_its_token_expires() {
    const LEEWAY: u64 = 1;
    let server = server_with(&["--jwt-leeway-secs", &LEEWAY.to_string()]);
    let chair = seeded(&server, "expiring").await;

    let who = Who::chair()
        .named("Short-lived chair")
        .ttl(Duration::from_secs(3));
    let claims = who.claims();
    let exp = claims.exp;
    let token = sign(&claims);
    let short = Client::connect(&server.ws_url("expiring", &token))
        .await
        .unwrap();
    short.wait_synced(WAIT).await.unwrap();

    // While the token is valid, its edits are accepted.
    append(short.doc(), 4, " before expiry");
    chair
        .wait_until(WAIT, |d| text_of(d, 4).ends_with(" before expiry"))
        .await
        .unwrap();

    // At exp + leeway (and not before) the server closes it, with a reason.
    let started = Instant::now();
    let close = short
        .wait_closed(Duration::from_secs(3 + LEEWAY + 5))
        .await
        .unwrap()
        .expect("a close frame, not a dropped connection");
    let closed_at = unix_now();
    assert_eq!(close.code, 4001, "{close:?}");
    assert!(close.reason.contains("token expired"), "{close:?}");
    assert!(
        closed_at > exp + LEEWAY - 1,
        "closed at {closed_at}, before exp {exp} + leeway {LEEWAY} (after {:?})",
        started.elapsed()
    );

    // An edit made after exp + leeway is not accepted: it never reaches the room.
    append(short.doc(), 5, " after expiry");
    let reached = chair
        .wait_until(Duration::from_secs(2), |d| {
            text_of(d, 5).ends_with(" after expiry")
        })
        .await;
    assert!(reached.is_err(), "an edit after expiry was accepted");
    let fresh = connect(&server, "expiring", &Who::observer()).await;
    assert!(!text_of(fresh.doc(), 5).contains("after expiry"));
    assert!(text_of(fresh.doc(), 4).ends_with(" before expiry"));

    // Reconnecting with the expired token is refused at the handshake.
    assert!(
        Client::connect(&server.ws_url("expiring", &token))
            .await
            .is_err()
    );
}

#[tokio::test]
async fn a_frame_just_over_the_limit_closes_with_1009() {
    let server = server_with(&["--max-message-bytes", "20000"]);
    let chair = seeded(&server, "limit").await;
    for size in [20_001, 20_100, 200_000, 5_000_000] {
        let c = connect(&server, "limit", &Who::chair()).await;
        c.send_raw(vec![0; size]);
        let close = c
            .wait_closed(WAIT)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("{size} bytes: a close frame, not 1006"));
        assert_eq!(close.code, 1009, "{size} bytes: {close:?}");
        assert!(close.reason.contains("20000"), "{close:?}");
    }
    // Exactly at the limit is not oversize (the frame is garbage: closed as malformed, not 1009).
    let c = connect(&server, "limit", &Who::chair()).await;
    c.send_raw(vec![0; 20_000]);
    let close = c.wait_closed(WAIT).await.unwrap().expect("a close frame");
    assert_ne!(close.code, 1009, "{close:?}");
    append(chair.doc(), 3, " alive");
    let fresh = connect(&server, "limit", &Who::observer()).await;
    fresh
        .wait_until(WAIT, |d| text_of(d, 3).ends_with(" alive"))
        .await
        .unwrap();
}
