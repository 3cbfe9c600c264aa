use std::path::PathBuf;

use clap::{Args, ValueEnum};

/// How frames are laid out on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Protocol {
    /// Plain y-protocols, one document per socket at `<url>/<doc>` (Plenary, y-websocket).
    Yws,
    /// Hocuspocus: every message prefixed by the document name, an auth message first.
    Hocuspocus,
    /// y-protocols frames to a relay that keeps no document (`bench-baseline`):
    /// nobody answers sync step 1, so clients do not wait for a sync.
    Relay,
}

/// What to measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Mode {
    /// Typists type, everyone receives: fan-out throughput and latency.
    Load,
    /// One client writes `--updates` small updates into one document, as fast as acknowledged.
    Fill,
    /// Time from connect to the first applied sync step 2 (run after a restart: cold load).
    FirstSync,
    /// One client per document (`--docs`) seeds it and stays idle; reports the
    /// server's memory (`--pid`) before and after, per 1 000 documents.
    Idle,
    /// One writer fills a document; the accepted-update rate is measured over
    /// `--window` updates at each of `--checkpoints` log sizes.
    Writer,
    /// Crafted worst-case update frames (`--kinds`, `--sizes`) sent by
    /// `--sender-token`: time until the server has checked each one.
    Crafted,
    /// A delegate (`--sender-token`) alternates an edit of an open paragraph
    /// and one of an agreed paragraph: round trips of acceptance and refusal.
    Refusal,
    /// A join storm: `--clients` connect to one document at once (up to
    /// `--connect-parallelism` handshakes in flight); each one's time from connect
    /// to its first applied sync step 2.
    JoinStorm,
}

impl BenchArgs {
    /// The url client `i` connects to (round-robin over the comma-separated `--url`).
    pub fn url_for(&self, i: usize) -> &str {
        let urls: Vec<&str> = self
            .url
            .split(',')
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .collect();
        match urls.len() {
            0 => self.url.as_str(),
            n => urls[i % n],
        }
    }
}

/// `plenary bench`: a load generator for any y-protocols server.
#[derive(Debug, Clone, Args)]
pub struct BenchArgs {
    /// Server url without the document, e.g. ws://127.0.0.1:8080/sync. Several, comma-separated
    /// (nodes of one cluster): client i connects to url i % n.
    #[arg(long)]
    pub url: String,
    #[arg(long, value_enum, default_value = "yws")]
    pub protocol: Protocol,
    #[arg(long, value_enum, default_value = "load")]
    pub mode: Mode,
    /// Number of documents; clients are spread round-robin over them.
    #[arg(long, default_value_t = 1)]
    pub docs: usize,
    #[arg(long, default_value_t = 10)]
    pub clients: usize,
    /// How many of the clients type (spread round-robin over the documents).
    #[arg(long, default_value_t = 1)]
    pub typists: usize,
    /// Updates per second per typist.
    #[arg(long, default_value_t = 5.0)]
    pub rate: f64,
    /// Seconds of typing.
    #[arg(long, default_value_t = 10.0)]
    pub duration: f64,
    /// Appended as `?token=`. Against Plenary a chair's (or the
    /// secretariat's): it also creates the documents (`POST /api/docs`).
    #[arg(long)]
    pub token: Option<String>,
    /// Do not create the documents first (Plenary creates none on connect:
    /// without them every connection gets 404). Servers without the
    /// document API are detected and skipped anyway.
    #[arg(long)]
    pub no_create: bool,
    /// Server process to sample RSS and CPU from (/proc).
    #[arg(long)]
    pub pid: Option<u32>,
    /// Also write the report here as JSON.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Label of the server in the report.
    #[arg(long, default_value = "server")]
    pub label: String,
    /// Document name prefix (default: a fresh one per run).
    #[arg(long)]
    pub doc_prefix: Option<String>,
    /// Fill mode: number of updates to write.
    #[arg(long, default_value_t = 100_000)]
    pub updates: usize,
    /// Idle mode: seconds after the documents were seeded at which memory is read again, the
    /// documents having stayed quiet (0: only the first reading, a few seconds after seeding).
    #[arg(long, default_value_t = 0.0)]
    pub quiet_secs: f64,
    /// First-sync mode: how many successive connections to time.
    #[arg(long, default_value_t = 3)]
    pub repeat: usize,
    /// Concurrent connection attempts while opening clients.
    #[arg(long, default_value_t = 64)]
    pub connect_parallelism: usize,
    /// Writer mode: log sizes (entries, seed included) at which the rate is measured.
    #[arg(long, value_delimiter = ',', default_value = "3000,30000,100000")]
    pub checkpoints: Vec<usize>,
    /// Writer mode: updates per measurement window.
    #[arg(long, default_value_t = 3000)]
    pub window: usize,
    /// Writer mode: updates sent and not yet acknowledged, at most.
    #[arg(long, default_value_t = 200)]
    pub in_flight: usize,
    /// Crafted and refusal modes: the token of the participant who sends the
    /// crafted or refused updates (a delegate); `--token` is the chair's.
    #[arg(long)]
    pub sender_token: Option<String>,
    /// Crafted mode: which frames (unknown, text-append, text-reverse, deep-maps, deletes, paste).
    #[arg(
        long,
        default_value = "unknown,text-append,text-reverse,deep-maps,deletes,paste"
    )]
    pub kinds: String,
    /// Crafted mode: frame sizes in bytes, each kind at each size (ascending;
    /// a kind stops at its first timeout).
    #[arg(long, value_delimiter = ',', default_value = "262144,1048576,4194304")]
    pub sizes: Vec<usize>,
    /// Crafted mode: seconds to wait for the server's answer to one frame.
    #[arg(long, default_value_t = 60.0)]
    pub frame_timeout: f64,
    /// Crafted mode: round trips of a one-character edit (the floor); refusal
    /// mode: accepted and refused edits each.
    #[arg(long, default_value_t = 200)]
    pub samples: usize,
    /// Refusal mode: every refused edit comes from the refused client's own
    /// id (as an editor would send it), not from a fresh one each time.
    #[arg(long)]
    pub same_client: bool,
    /// Load mode: put every typist's final paragraph texts in the report
    /// (`final_texts`), to compare with the server's document afterwards.
    #[arg(long)]
    pub final_texts: bool,
}
