//! `/metrics` (issue 17): the latency histograms an operator alerts on, the limits beside the
//! counts they cap, and a scrape token when one is configured.

use std::time::Duration;

use crate::support::*;

/// The value of the first line of `/metrics` that starts with `series ` (name and labels).
fn value(body: &str, series: &str) -> Option<f64> {
    body.lines()
        .find_map(|l| l.strip_prefix(&format!("{series} ")))
        .and_then(|v| v.trim().parse().ok())
}

#[tokio::test]
async fn an_edit_shows_in_the_check_commit_fanout_and_join_histograms() {
    let server = server();
    server.ensure_doc("metered");
    let chair = seeded(&server, "metered").await;
    let reader = connect(&server, "metered", &Who::observer()).await;
    append(chair.doc(), 0, " (metered)");
    reader
        .wait_until(WAIT, |d| text_of(d, 0).ends_with("(metered)"))
        .await
        .unwrap();
    let (status, body) = http_get(&server, "/metrics", &Who::observer()).await;
    assert_eq!(status, 200);
    for h in [
        "plenary_update_check_seconds",
        "plenary_commit_seconds",
        "plenary_fanout_seconds",
        "plenary_join_seconds",
        "plenary_commit_batch_updates",
    ] {
        assert!(
            body.contains(&format!("# TYPE {h} histogram")),
            "{h} is not a histogram:\n{body}"
        );
        let count = value(&body, &format!("{h}_count")).unwrap_or(0.0);
        assert!(count >= 1.0, "{h}_count is {count}");
        assert!(
            body.contains(&format!("{h}_bucket{{le=\"+Inf\"}}")),
            "{h} has no buckets"
        );
    }
    assert!(
        value(&body, "plenary_join_seconds_count").unwrap() >= 3.0,
        "three joins"
    );
    assert_eq!(value(&body, "plenary_rooms_loaded"), Some(1.0));
    assert!(value(&body, "plenary_connections").unwrap() >= 2.0);
    assert_eq!(
        value(&body, "plenary_commit_queue"),
        Some(0.0),
        "nothing waits once durable"
    );
    assert_eq!(value(&body, "plenary_store_healthy"), Some(1.0));
    assert!(value(&body, "plenary_updates_accepted_total").unwrap() >= 2.0);
    assert_eq!(
        value(&body, "plenary_limit{name=\"max_paragraphs\"}"),
        Some(1000.0)
    );
    assert!(
        body.trim_end().ends_with("# EOF"),
        "an OpenMetrics exposition ends with # EOF"
    );
    drop((chair, reader));
    tokio::time::sleep(Duration::from_millis(10)).await;
}

#[tokio::test]
async fn with_a_scrape_token_metrics_answer_only_to_it() {
    let server = TestServer::start(
        bin(),
        ServerOptions {
            env: vec![(
                "PLENARY_METRICS_TOKEN".into(),
                "scrape-secret-0123456789".into(),
            )],
            ..Default::default()
        },
    );
    let raw = |auth: &str| {
        let addr = server.addr().to_owned();
        let auth = auth.to_owned();
        async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
            let req =
                format!("GET /metrics HTTP/1.1\r\nHost: {addr}\r\n{auth}Connection: close\r\n\r\n");
            s.write_all(req.as_bytes()).await.unwrap();
            let mut out = Vec::new();
            s.read_to_end(&mut out).await.unwrap();
            String::from_utf8_lossy(&out).into_owned()
        }
    };
    let none = raw("").await;
    assert!(none.starts_with("HTTP/1.1 401"), "{none}");
    assert!(
        none.contains("\"error\":\"unauthorized\"") && none.contains("scrape token"),
        "{none}"
    );
    assert!(
        !none.contains("plenary_connections"),
        "no figures without the token"
    );
    let wrong = raw("Authorization: Bearer scrape-secret-0123456788\r\n").await;
    assert!(wrong.starts_with("HTTP/1.1 401"), "{wrong}");
    let right = raw("Authorization: Bearer scrape-secret-0123456789\r\n").await;
    assert!(right.starts_with("HTTP/1.1 200"), "{right}");
    assert!(right.contains("plenary_join_seconds"), "{right}");
}
