//! Creating the documents a run uses, on a server that wants them created.
//!
//! Plenary creates no document on connect (a WebSocket to a missing name
//! gets 404): the chair or the secretariat creates it with `POST /api/docs`.
//! So before connecting, the generator posts `{"name": …}` for each document
//! with its `--token` (a chair's). 201 and 409 (already there) are both
//! fine. The reference servers create documents on connect and have no such
//! route (y-websocket and Hocuspocus answer any HTTP request with 200 and a
//! greeting, the relay with a failed handshake): anything that is not a
//! Plenary answer is noted once and the run goes on. A Plenary refusal
//! (400, 401, 403, 413) stops the run with the server's reason, since every
//! connection would then be refused anyway.
//!
//! Plain HTTP/1.1 on a TCP socket, one request per connection: the
//! generator needs nothing more, and no HTTP client crate.

use std::time::Duration;

use futures_util::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::args::{BenchArgs, Protocol};
use crate::error::BenchError;

/// One request may take this long (connect, send, read the answer).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Requests in flight at once.
const PARALLEL: usize = 16;
/// At most this much of an answer is read (the JSON is a few hundred bytes).
const MAX_ANSWER: u64 = 64 * 1024;

/// What came of creating the documents.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Created {
    /// 201: created now.
    pub created: usize,
    /// 409: it was there already.
    pub existed: usize,
    /// The server has no document API (not Plenary, or `--no-create`).
    pub skipped: usize,
}

/// `ws://host:port/prefix/sync` → (`host:port`, `/prefix`), for `ws://` urls only.
fn api_base(url: &str) -> Option<(String, String)> {
    let rest = url.strip_prefix("ws://")?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let path = path.split(['?', '#']).next().unwrap_or("");
    let path = path.trim_end_matches('/');
    let prefix = path.strip_suffix("/sync").unwrap_or(path);
    Some((authority.to_string(), prefix.to_string()))
}

/// The request for one document.
fn request(authority: &str, prefix: &str, token: &str, name: &str) -> String {
    let body = serde_json::json!({ "name": name }).to_string();
    format!(
        "POST {prefix}/api/docs HTTP/1.1\r\nHost: {authority}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

/// The status code and body of an HTTP/1.1 answer (a complete one, `Connection: close`).
fn parse_answer(raw: &[u8]) -> Option<(u16, String)> {
    let text = String::from_utf8_lossy(raw);
    let status_line = text.lines().next()?;
    let mut parts = status_line.split_whitespace();
    if !parts.next()?.starts_with("HTTP/1.") {
        return None;
    }
    let status = parts.next()?.parse().ok()?;
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Some((status, body))
}

/// One outcome of one POST.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Created,
    Existed,
    /// Plenary refused: the reason (from its JSON error body).
    Refused(u16, String),
    /// Not a Plenary answer (no route, another server, no HTTP at all).
    NoApi(String),
}

fn classify(answer: Option<(u16, String)>) -> Outcome {
    match answer {
        Some((201, _)) => Outcome::Created,
        Some((409, _)) => Outcome::Existed,
        Some((status @ (400 | 401 | 403 | 413), body)) if body.trim_start().starts_with('{') => {
            Outcome::Refused(status, body.chars().take(300).collect())
        }
        Some((status, _)) => Outcome::NoApi(format!("HTTP {status}")),
        None => Outcome::NoApi("no HTTP answer".into()),
    }
}

async fn post(authority: &str, prefix: &str, token: &str, name: &str) -> Outcome {
    let exchange = async {
        let mut stream = TcpStream::connect(authority).await?;
        stream
            .write_all(request(authority, prefix, token, name).as_bytes())
            .await?;
        let mut raw = Vec::new();
        // A server that closes without answering (the relay) is "no answer", not an error.
        let _ = (&mut stream).take(MAX_ANSWER).read_to_end(&mut raw).await;
        Ok::<_, std::io::Error>(raw)
    };
    match tokio::time::timeout(REQUEST_TIMEOUT, exchange).await {
        Ok(Ok(raw)) => classify(parse_answer(&raw)),
        Ok(Err(e)) => Outcome::NoApi(e.to_string()),
        Err(_) => Outcome::NoApi("no answer in time".into()),
    }
}

/// Creates `names` on the server of `args.url` with `args.token`, unless
/// `--no-create`, or the protocol is not plain y-protocols (Hocuspocus and
/// the relay are never Plenary), or the url is not `ws://`.
pub(crate) async fn ensure_docs(args: &BenchArgs, names: &[String]) -> Result<Created, BenchError> {
    let skip = Created {
        skipped: names.len(),
        ..Created::default()
    };
    if args.no_create || args.protocol != Protocol::Yws || names.is_empty() {
        return Ok(skip);
    }
    let Some((authority, prefix)) = api_base(args.url_for(0)) else {
        eprintln!(
            "{}: not creating documents (only ws:// urls; the generator has no TLS client)",
            args.label
        );
        return Ok(skip);
    };
    let token = args.token.as_deref().unwrap_or("");
    let outcomes: Vec<Outcome> = futures_util::stream::iter(names)
        .map(|name| post(&authority, &prefix, token, name))
        .buffer_unordered(PARALLEL)
        .collect()
        .await;
    let mut done = Created::default();
    for outcome in outcomes {
        match outcome {
            Outcome::Created => done.created += 1,
            Outcome::Existed => done.existed += 1,
            Outcome::Refused(status, reason) => {
                return Err(BenchError::Create(format!(
                    "POST {prefix}/api/docs answered {status}: {reason} (documents are created \
                     by the chair or the secretariat: pass a chair's --token)"
                )));
            }
            Outcome::NoApi(why) => {
                if done.skipped == 0 {
                    eprintln!(
                        "{}: no document API at http://{authority}{prefix}/api/docs ({why}): \
                         assuming the server creates documents on connect",
                        args.label
                    );
                }
                done.skipped += 1;
            }
        }
    }
    if done.created + done.existed > 0 {
        eprintln!(
            "{}: documents created {}, already there {}",
            args.label, done.created, done.existed
        );
    }
    Ok(done)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_api_sits_beside_the_sync_path() {
        assert_eq!(
            api_base("ws://127.0.0.1:8080/sync"),
            Some(("127.0.0.1:8080".into(), String::new()))
        );
        assert_eq!(
            api_base("ws://h:1/plenary/sync/"),
            Some(("h:1".into(), "/plenary".into()))
        );
        assert_eq!(api_base("ws://h:1"), Some(("h:1".into(), String::new())));
        assert_eq!(api_base("wss://h/sync"), None);
    }

    #[test]
    fn plenary_answers_are_told_from_other_servers() {
        let answer = |raw: &str| classify(parse_answer(raw.as_bytes()));
        assert_eq!(
            answer("HTTP/1.1 201 Created\r\ncontent-length: 2\r\n\r\n{}"),
            Outcome::Created
        );
        assert_eq!(answer("HTTP/1.1 409 Conflict\r\n\r\n{}"), Outcome::Existed);
        assert!(matches!(
            answer("HTTP/1.1 403 Forbidden\r\n\r\n{\"error\":\"only the chair\"}"),
            Outcome::Refused(403, _)
        ));
        // y-websocket's bin/server.js answers every request with 200 "okay".
        assert!(matches!(
            answer("HTTP/1.1 200 OK\r\n\r\nokay"),
            Outcome::NoApi(_)
        ));
        // A 404 page that is not Plenary's JSON error.
        assert!(matches!(
            answer("HTTP/1.1 403 Forbidden\r\n\r\n<html>"),
            Outcome::NoApi(_)
        ));
        assert!(matches!(answer(""), Outcome::NoApi(_)));
    }

    #[test]
    fn the_request_carries_the_name_as_json_and_the_bearer_token() {
        let r = request("h:1", "", "T", "bench-1");
        assert!(r.starts_with("POST /api/docs HTTP/1.1\r\n"));
        assert!(r.contains("Authorization: Bearer T\r\n"));
        assert!(r.ends_with("\r\n\r\n{\"name\":\"bench-1\"}"));
        assert!(r.contains("Content-Length: 18\r\n"));
    }
}
