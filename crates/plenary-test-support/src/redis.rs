//! A throw-away `redis-server` for tests: its own free port and data directory, never the shared
//! Redis on 6379, so tests cannot see or clobber each other's data.
//!
//! The server runs with `--appendonly yes --appendfsync always`, so everything it acknowledged
//! survives [`RedisServer::stop`] (a SIGKILL, like a crash) and comes back on
//! [`RedisServer::restart`], which reuses the same port and directory: a client that keeps its
//! URL sees "the same Redis" go away and return.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a fresh `redis-server` gets to answer PING before spawning counts as failed.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(10);

/// A `redis-server` child process owned by a test; killed when dropped.
#[derive(Debug)]
pub struct RedisServer {
    port: u16,
    dir: tempfile::TempDir,
    child: Option<Child>,
    /// Extra `redis-server` arguments (a cluster node's).
    args: Vec<String>,
}

impl RedisServer {
    /// Starts `redis-server` (from PATH) on a free localhost port with a fresh temporary data
    /// directory, and returns once it answers PING.
    ///
    /// Panics if Redis cannot be started: this is test support, and a test without its Redis
    /// cannot say anything useful.
    pub fn spawn() -> RedisServer {
        RedisServer::spawn_with(&[])
    }

    /// [`RedisServer::spawn`] with extra `redis-server` arguments.
    pub fn spawn_with(args: &[&str]) -> RedisServer {
        let mut last_failure = String::new();
        // A port found free can be taken by someone else before redis binds it: try a few.
        for _ in 0..5 {
            let mut server = RedisServer {
                port: free_port(),
                dir: tempfile::tempdir().expect("create a temp dir for redis-server"),
                child: None,
                args: args.iter().map(|a| (*a).to_owned()).collect(),
            };
            match server.start() {
                Ok(()) => return server,
                Err(failure) => last_failure = failure,
            }
        }
        panic!("could not start redis-server: {last_failure}");
    }

    /// `redis://127.0.0.1:<port>/`, for `RedisStore::connect` or `plenary serve --redis`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// The TCP port the server listens on (kept across [`RedisServer::restart`]).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The server's data directory (its append-only file lives here).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Whether the server process is running (not stopped).
    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    /// Kills the server (SIGKILL, like a crash) and waits until it is gone. Acknowledged writes
    /// survive because of `appendfsync always`. Does nothing if already stopped.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port with the same data directory (stopping it
    /// first if it is running), and returns once it answers PING.
    pub fn restart(&mut self) {
        self.stop();
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        // The port can stay briefly unavailable after the kill; retry until the deadline.
        loop {
            match self.start() {
                Ok(()) => return,
                Err(failure) if Instant::now() >= deadline => {
                    panic!(
                        "could not restart redis-server on port {}: {failure}",
                        self.port
                    )
                }
                Err(_) => std::thread::sleep(Duration::from_millis(100)),
            }
        }
    }

    fn start(&mut self) -> Result<(), String> {
        let mut child = Command::new("redis-server")
            .args(["--port", &self.port.to_string()])
            .args(["--bind", "127.0.0.1"])
            .arg("--dir")
            .arg(self.dir.path())
            .args(["--appendonly", "yes"])
            .args(["--appendfsync", "always"])
            .args(["--save", ""])
            .args(["--daemonize", "no"])
            .args(["--protected-mode", "no"])
            .args(&self.args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("spawn redis-server: {e}"))?;
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return Err(format!("redis-server exited at startup with {status}"));
            }
            if answers_ping(self.port) {
                self.child = Some(child);
                return Ok(());
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                return Err("redis-server did not answer PING in time".to_owned());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn free_port() -> u16 {
    let listener =
        TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind an ephemeral port on localhost");
    listener
        .local_addr()
        .expect("local address of a bound listener")
        .port()
}

/// A throw-away Redis Cluster for tests: `masters` nodes sharing the 16 384 slots, each with
/// `replicas` replicas, every node a [`RedisServer`] of its own (free port, temp directory,
/// `appendfsync always`). Made with `redis-cli --cluster create`; ready once every node says
/// `cluster_state:ok` and every replica has synced.
#[derive(Debug)]
pub struct RedisCluster {
    nodes: Vec<RedisServer>,
}

/// How long a failure goes unnoticed before a replica takes over (milliseconds).
const CLUSTER_NODE_TIMEOUT_MS: &str = "1000";

impl RedisCluster {
    /// Starts and joins the cluster. Panics if it cannot (see [`RedisServer::spawn`]).
    pub fn spawn(masters: usize, replicas: usize) -> RedisCluster {
        let nodes: Vec<RedisServer> = (0..masters * (1 + replicas))
            .map(|_| {
                RedisServer::spawn_with(&[
                    "--cluster-enabled",
                    "yes",
                    "--cluster-config-file",
                    "nodes.conf",
                    "--cluster-node-timeout",
                    CLUSTER_NODE_TIMEOUT_MS,
                    // A replica may take over however long it was cut off from its master.
                    "--cluster-replica-validity-factor",
                    "0",
                    // A replica syncs at once rather than waiting for others to share the transfer.
                    "--repl-diskless-sync-delay",
                    "0",
                ])
            })
            .collect();
        let mut create = Command::new("redis-cli");
        create.args(["--cluster", "create"]);
        for node in &nodes {
            create.arg(format!("127.0.0.1:{}", node.port()));
        }
        let out = create
            .args(["--cluster-replicas", &replicas.to_string(), "--cluster-yes"])
            .stdin(Stdio::null())
            .output()
            .expect("run redis-cli --cluster create");
        assert!(
            out.status.success(),
            "redis-cli --cluster create failed: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        let cluster = RedisCluster { nodes };
        cluster.wait_ready(masters, replicas);
        cluster
    }

    /// `redis+cluster://127.0.0.1:<p1>,…` naming every node as a seed, for
    /// `RedisStore::connect` or `plenary serve --redis`.
    pub fn url(&self) -> String {
        let seeds: Vec<String> = self
            .nodes
            .iter()
            .map(|n| format!("127.0.0.1:{}", n.port()))
            .collect();
        format!("redis+cluster://{}", seeds.join(","))
    }

    /// The nodes, masters and replicas alike.
    pub fn nodes(&self) -> &[RedisServer] {
        &self.nodes
    }

    /// The ports of the nodes that are masters now.
    pub fn master_ports(&self) -> Vec<u16> {
        self.nodes
            .iter()
            .filter(|n| n.is_running())
            .filter(|n| query(n.port(), "ROLE").is_some_and(|r| r.contains("master")))
            .map(RedisServer::port)
            .collect()
    }

    /// The ports of the running replicas of the master on `master_port`.
    fn replicas_of(&self, master_port: u16) -> Vec<u16> {
        let following = format!("\r\n:{master_port}\r\n");
        self.nodes
            .iter()
            .filter(|n| n.is_running())
            .filter(|n| {
                query(n.port(), "ROLE")
                    .is_some_and(|r| r.contains("slave") && r.contains(&following))
            })
            .map(RedisServer::port)
            .collect()
    }

    /// Waits until one of `replicas` is a master; returns its port.
    fn wait_promoted(&self, replicas: &[u16]) -> u16 {
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        loop {
            if let Some(port) = replicas
                .iter()
                .find(|port| query(**port, "ROLE").is_some_and(|r| r.contains("master")))
            {
                return *port;
            }
            assert!(Instant::now() < deadline, "no replica took over");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Promotes a replica of the master on `master_port` with `CLUSTER FAILOVER` (the master
    /// hands over: it stops taking writes, the replica catches up, then takes its slots), and
    /// returns once the replica is master and the cluster is whole. Returns its port.
    pub fn fail_over(&self, master_port: u16) -> u16 {
        let replicas = self.replicas_of(master_port);
        let replica = *replicas
            .first()
            .unwrap_or_else(|| panic!("no replica of the master on port {master_port}"));
        let answer = query(replica, "CLUSTER FAILOVER").unwrap_or_default();
        assert!(answer.starts_with("+OK"), "CLUSTER FAILOVER: {answer}");
        let promoted = self.wait_promoted(&[replica]);
        self.wait_ok();
        promoted
    }

    /// The port of the master that holds `key` now (the one that answers for it rather than
    /// redirecting with `MOVED`).
    pub fn master_of(&self, key: &str) -> u16 {
        self.master_ports()
            .into_iter()
            .find(|port| query(*port, &format!("EXISTS {key}")).is_some_and(|r| r.starts_with(':')))
            .unwrap_or_else(|| panic!("no master holds {key}"))
    }

    /// Kills the node on `port` (SIGKILL, like a machine lost) and, if it was a master with
    /// replicas, returns once one of them has taken over and the cluster is whole again.
    pub fn crash(&mut self, port: u16) {
        let replicas = self.replicas_of(port);
        if let Some(node) = self.nodes.iter_mut().find(|n| n.port() == port) {
            node.stop();
        }
        if !replicas.is_empty() {
            self.wait_promoted(&replicas);
        }
        self.wait_ok();
    }

    /// Starts the node on `port` again (its data and cluster configuration kept): a master that
    /// was replaced comes back as a replica of the node that took over. Returns once it has
    /// synced.
    pub fn revive(&mut self, port: u16) {
        if let Some(node) = self.nodes.iter_mut().find(|n| n.port() == port) {
            node.restart();
        }
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        while !query(port, "INFO replication")
            .is_some_and(|r| r.contains("role:slave") && r.contains("master_link_status:up"))
        {
            assert!(
                Instant::now() < deadline,
                "the revived node did not sync: {:?}",
                query(port, "INFO replication")
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        self.wait_ok();
    }

    fn wait_ready(&self, masters: usize, replicas: usize) {
        self.wait_ok();
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        loop {
            let synced = self
                .nodes
                .iter()
                .filter(|n| {
                    query(n.port(), "INFO replication").is_some_and(|r| {
                        r.contains("role:slave") && r.contains("master_link_status:up")
                    })
                })
                .count();
            if synced == masters * replicas {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{synced} of {} replicas synced in time",
                masters * replicas
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits until every running node sees the whole cluster serving every slot.
    fn wait_ok(&self) {
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        loop {
            let ok = self.nodes.iter().filter(|n| n.is_running()).all(|n| {
                query(n.port(), "CLUSTER INFO").is_some_and(|info| {
                    info.contains("cluster_state:ok") && info.contains("cluster_slots_ok:16384")
                })
            });
            if ok {
                return;
            }
            assert!(Instant::now() < deadline, "the cluster did not become ok");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Sends an inline command and returns the raw reply (RESP, lossily as text), or None if
/// nobody answers.
fn query(port: u16, command: &str) -> Option<String> {
    let mut stream = TcpStream::connect((Ipv4Addr::LOCALHOST, port)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_millis(500)))
        .ok()?;
    stream.write_all(format!("{command}\r\n").as_bytes()).ok()?;
    let mut reply = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    // One read usually holds the whole reply; read on briefly for the rest of a long one.
    while let Ok(n) = stream.read(&mut buf) {
        if n == 0 {
            break;
        }
        reply.extend_from_slice(&buf[..n]);
        let _ = stream.set_read_timeout(Some(Duration::from_millis(30)));
    }
    Some(String::from_utf8_lossy(&reply).into_owned())
}

/// Sends an inline PING and expects `+PONG` (a server still loading its AOF answers
/// `-LOADING`, which is not ready yet).
fn answers_ping(port: u16) -> bool {
    query(port, "PING").is_some_and(|reply| reply.starts_with("+PONG"))
}
