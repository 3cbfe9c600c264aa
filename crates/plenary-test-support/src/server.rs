//! A `plenary serve` process for tests: port 0, its own data directory, a
//! known secret, killable (SIGKILL, like a crash) and restartable on the same
//! data.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use crate::tokens::TEST_SECRET;

/// How to start a test server.
#[derive(Debug, Clone, Default)]
pub struct ServerOptions {
    /// Use this Redis instead of the embedded store.
    pub redis: Option<String>,
    /// Extra `serve` flags, e.g. `["--max-message-bytes", "1000"]`.
    pub args: Vec<String>,
    /// Keep the demo document (off by default: tests make their own).
    pub demo: bool,
    /// Verify tokens with this JSON Web Key Set file instead of the test secret
    /// (`PLENARY_JWT_JWKS`), checked for changes every `jwks_poll_secs` (default 5).
    pub jwks: Option<PathBuf>,
    pub jwks_poll_secs: Option<u64>,
    /// Extra environment variables for the server process.
    pub env: Vec<(String, String)>,
}

/// A running `plenary serve` child process; killed when dropped.
#[derive(Debug)]
pub struct TestServer {
    bin: PathBuf,
    options: ServerOptions,
    data: tempfile::TempDir,
    child: Option<Child>,
    addr: String,
    /// Documents known to exist (created by [`TestServer::ensure_doc`]).
    created: std::sync::Mutex<std::collections::HashSet<String>>,
}

impl TestServer {
    /// Starts `bin serve` (pass `env!("CARGO_BIN_EXE_plenary")`) and waits for
    /// the line that gives its address.
    pub fn start(bin: &Path, options: ServerOptions) -> TestServer {
        let data = tempfile::tempdir().expect("temp data dir");
        let mut server = TestServer {
            bin: bin.to_path_buf(),
            options,
            data,
            child: None,
            addr: String::new(),
            created: Default::default(),
        };
        server.launch();
        server
    }

    fn launch(&mut self) {
        let mut cmd = Command::new(&self.bin);
        cmd.arg("serve")
            .args(["--bind", "127.0.0.1", "--port", "0"])
            .arg("--data-dir")
            .arg(self.data.path())
            .env("PLENARY_JWT_SECRET", TEST_SECRET)
            .env_remove("PLENARY_REDIS")
            .env(
                "PLENARY_LOG",
                std::env::var("PLENARY_TEST_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        if let Some(jwks) = &self.options.jwks {
            cmd.env_remove("PLENARY_JWT_SECRET")
                .env("PLENARY_JWT_JWKS", jwks);
        }
        if let Some(secs) = self.options.jwks_poll_secs {
            cmd.env("PLENARY_JWT_JWKS_POLL_SECS", secs.to_string());
        }
        cmd.envs(self.options.env.iter().map(|(k, v)| (k, v)));
        if let Some(url) = &self.options.redis {
            cmd.args(["--redis", url]);
        }
        if !self.options.demo {
            cmd.arg("--no-demo");
        }
        cmd.args(&self.options.args);
        let mut child = cmd.spawn().expect("spawn plenary serve");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(addr) = line.strip_prefix("listening on http://") {
                    let _ = tx.send(addr.trim().to_string());
                }
            }
        });
        self.addr = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("plenary serve did not report its address in 30 s");
        self.child = Some(child);
    }

    /// `host:port`.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// `http://host:port`.
    pub fn http_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The WebSocket URL of a document, with a token in the query. Connecting creates nothing
    /// (only the chair or the secretariat create documents, over the HTTP API), so the document
    /// — for a comment scope `d/comments/…`, its document `d` — is created first if missing, as
    /// a test's setup. Tests of the refusal build the URL themselves ([`TestServer::raw_ws_url`]).
    pub fn ws_url(&self, doc: &str, token: &str) -> String {
        let resolution = doc.split('/').next().unwrap_or(doc);
        self.ensure_doc(resolution);
        self.raw_ws_url(doc, token)
    }

    /// The WebSocket URL of a document, creating nothing.
    pub fn raw_ws_url(&self, doc: &str, token: &str) -> String {
        format!("ws://{}/sync/{doc}?token={token}", self.addr)
    }

    /// Creates an empty document as the chair (`POST /api/docs`) unless this server already
    /// has it; the HTTP status (201 created, 409 already there).
    pub fn ensure_doc(&self, name: &str) -> u16 {
        let mut created = self.created.lock().unwrap_or_else(|p| p.into_inner());
        if created.contains(name) {
            return 409;
        }
        let status = self.post_json(
            "/api/docs",
            &format!("{{\"name\":\"{name}\"}}"),
            &crate::Who::chair().token(),
        );
        if status == 201 || status == 409 {
            created.insert(name.to_string());
        }
        status
    }

    /// A blocking `POST` of a JSON body with a bearer token; the status code (0 if no answer).
    pub fn post_json(&self, path: &str, body: &str, token: &str) -> u16 {
        use std::io::{Read, Write};
        let Ok(mut stream) = std::net::TcpStream::connect(&self.addr) else {
            return 0;
        };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
        let request = format!(
            "POST {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.addr,
            body.len()
        );
        if stream.write_all(request.as_bytes()).is_err() {
            return 0;
        }
        let mut answer = String::new();
        let _ = stream.read_to_string(&mut answer);
        answer
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0)
    }

    /// The data directory (embedded store).
    pub fn data_dir(&self) -> &Path {
        self.data.path()
    }

    /// The process id (for RSS/CPU readings).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.id())
    }

    /// SIGKILL, like a crash: nothing gets a chance to flush.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM, then waits for a clean exit; returns whether it exited successfully.
    pub fn terminate(&mut self, timeout: Duration) -> bool {
        let Some(mut child) = self.child.take() else {
            return false;
        };
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status();
        let deadline = std::time::Instant::now() + timeout;
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return status.success();
            }
            if std::time::Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Starts the server again on the same data (a new port).
    pub fn restart(&mut self) {
        self.kill();
        self.launch();
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.kill();
    }
}
