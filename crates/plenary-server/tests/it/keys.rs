//! Keys from an identity provider (issue 17): tokens verified against a JSON Web Key Set chosen
//! by `kid`, and a rotation of that set picked up without a restart (on change or SIGHUP).

use std::path::{Path, PathBuf};
use std::time::Duration;

use plenary_auth::{Minter, SigningKey};

use crate::support::*;

fn key_file(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../plenary-auth/tests/keys")
        .join(name)
}

/// A delegate's token signed by `private` and naming key `kid`, as an identity provider issues it.
fn token(private: &str, kid: &str) -> String {
    let pem = std::fs::read_to_string(key_file(private)).unwrap();
    Minter::new(&SigningKey::private_pem(&pem).unwrap())
        .unwrap()
        .with_kid(kid)
        .mint(&Who::delegate("JPN").claims())
        .unwrap()
}

/// Replaces the key set file the way a deploy does: write beside it, then rename over it.
fn publish(jwks: &Path, contents: &[u8]) {
    let tmp = jwks.with_extension("new");
    std::fs::write(&tmp, contents).unwrap();
    std::fs::rename(&tmp, jwks).unwrap();
}

/// `GET /api/docs` with this bearer token: the status and the body.
async fn docs_with(server: &TestServer, token: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(server.addr()).await.unwrap();
    let req = format!(
        "GET /api/docs HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n",
        server.addr()
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).await.unwrap();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap();
    (status, text)
}

async fn metric(server: &TestServer, name: &str) -> u64 {
    let (status, body) = http_get(server, "/metrics", &Who::chair()).await;
    assert_eq!(status, 200);
    body.lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {name} in /metrics"))
}

/// Polls until `token` gets `want` from the server (the file is checked every second here).
async fn until_status(server: &TestServer, token: &str, want: u16) -> String {
    for _ in 0..100 {
        let (status, body) = docs_with(server, token).await;
        if status == want {
            return body;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the token never got {want}");
}

/// A server verifying with a copy of the test key set, checked for changes every `poll_secs`.
fn jwks_server(poll_secs: u64) -> (tempfile::TempDir, PathBuf, TestServer) {
    let dir = tempfile::tempdir().unwrap();
    let jwks = dir.path().join("jwks.json");
    publish(&jwks, &std::fs::read(key_file("jwks.json")).unwrap());
    let server = TestServer::start(
        bin(),
        ServerOptions {
            jwks: Some(jwks.clone()),
            jwks_poll_secs: Some(poll_secs),
            ..Default::default()
        },
    );
    (dir, jwks, server)
}

#[tokio::test]
async fn a_rotated_key_set_opens_the_new_key_and_retires_the_old_without_a_restart() {
    let (_dir, jwks, server) = jwks_server(1);
    let old = token("rsa-private.pem", "rsa-2026");
    let new = token("rsa-other-private.pem", "rsa-2027");
    for (private, kid) in [
        ("es256-private.pem", "ec-2026"),
        ("ed25519-private.pem", "ed-2026"),
    ] {
        assert_eq!(
            docs_with(&server, &token(private, kid)).await.0,
            200,
            "{kid}"
        );
    }
    assert_eq!(docs_with(&server, &old).await.0, 200);
    let (status, body) = docs_with(&server, &new).await;
    assert_eq!(status, 401, "{body}");
    assert!(
        body.contains("`rsa-2027`") && body.contains("does not know"),
        "{body}"
    );

    // The identity provider rotates: the new set holds only the new key.
    publish(
        &jwks,
        &std::fs::read(key_file("jwks-rotated.json")).unwrap(),
    );
    until_status(&server, &new, 200).await;
    let body = until_status(&server, &old, 401).await;
    assert!(body.contains("`rsa-2026`"), "{body}");
    assert!(server.pid().is_some(), "no restart");
    assert!(metric(&server, "plenary_jwks_reloads_total").await >= 1);
}

#[tokio::test]
async fn sighup_reloads_at_once_and_a_broken_set_leaves_the_keys_in_use() {
    let (_dir, jwks, server) = jwks_server(3_600);
    let old = token("rsa-private.pem", "rsa-2026");
    let new = token("rsa-other-private.pem", "rsa-2027");
    let hangup = || {
        let pid = server.pid().unwrap().to_string();
        assert!(
            std::process::Command::new("kill")
                .args(["-HUP", &pid])
                .status()
                .unwrap()
                .success()
        );
    };

    // A botched rotation (not a key set at all): refused, the keys in use stay.
    publish(&jwks, b"{\"keys\": \"oops\"}");
    hangup();
    for _ in 0..50 {
        if metric(&server, "plenary_jwks_reload_failures_total").await >= 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        metric(&server, "plenary_jwks_reload_failures_total").await,
        1
    );
    assert_eq!(
        docs_with(&server, &old).await.0,
        200,
        "the keys in use stay"
    );

    // The right file, and SIGHUP: in use well before the hourly check.
    publish(
        &jwks,
        &std::fs::read(key_file("jwks-rotated.json")).unwrap(),
    );
    hangup();
    until_status(&server, &new, 200).await;
    assert_eq!(docs_with(&server, &old).await.0, 401);
}
