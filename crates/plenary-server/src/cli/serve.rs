//! `plenary serve`, `import` and `export`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Args;
use plenary_auth::{Minter, Role, TokenRequest};
use plenary_doc::{Resolution, ResolutionDoc};
use plenary_server::ServerConfig;
use plenary_store::{EmbeddedStore, LogEntry, RedisStore, Store};

use super::config::{CommonArgs, FileConfig, ServeArgs, data_dir, token_config};
use super::token::unix_now;

/// The demo document created when the store is empty.
pub(crate) const DEMO_DOC: &str = "reducing-reoffending";
const DEMO_TEXT: &str =
    include_str!("../../../../tests/fixtures/reducing-reoffending-2021-rev1.txt");

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("PLENARY_LOG")
        // The Redis cluster client warns on every retry while slots move (hundreds a second in
        // a failover); the store reports what matters once, so it speaks only of errors.
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,redis=error"));
    let json = std::env::var("PLENARY_LOG_FORMAT").is_ok_and(|v| v == "json");
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

async fn open_store(redis: Option<&str>, dir: &std::path::Path) -> anyhow::Result<Arc<dyn Store>> {
    Ok(match redis {
        Some(url) => Arc::new(
            RedisStore::connect(url)
                .await
                .context("connecting to Redis")?,
        ),
        None => {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
            Arc::new(EmbeddedStore::open(dir).context("opening the embedded store")?)
        }
    })
}

/// Stores a resolution as a new document (one log entry by `system`).
async fn store_resolution(
    store: &dyn Store,
    name: &str,
    r: &Resolution,
    node: &str,
) -> anyhow::Result<u64> {
    let doc = ResolutionDoc::from_resolution(r).context("building the document")?;
    let entry = LogEntry {
        update: doc.encode_state(),
        user: "system".into(),
        name: Some("Plenary (import)".into()),
        delegation: None,
        at_ms: (unix_now() * 1000) as i64,
        paragraphs: r.paragraphs.iter().map(|p| p.id.clone()).collect(),
        node: node.into(),
    };
    Ok(store.append(name, &entry).await?)
}

/// Connections the kernel may hold for the accept loop. The usual 128 (std's and tokio's) is
/// too few for a hall reconnecting at once (a Wi-Fi blip, a node restart): SYNs past it are
/// dropped and those clients wait a second for their retry, then three, then seven. The kernel
/// caps it at `net.core.somaxconn`.
const LISTEN_BACKLOG: u32 = 1024;

async fn listen(bind: &str, port: u16) -> std::io::Result<tokio::net::TcpListener> {
    let mut last = None;
    for addr in tokio::net::lookup_host((bind, port)).await? {
        let socket = if addr.is_ipv4() {
            tokio::net::TcpSocket::new_v4()?
        } else {
            tokio::net::TcpSocket::new_v6()?
        };
        socket.set_reuseaddr(true)?;
        match socket.bind(addr) {
            Ok(()) => return socket.listen(LISTEN_BACKLOG),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| {
        std::io::Error::new(std::io::ErrorKind::AddrNotAvailable, "no address to bind")
    }))
}

pub(crate) fn serve(args: ServeArgs) -> anyhow::Result<()> {
    init_logging();
    let file = FileConfig::load(args.common.config.as_deref())?;
    let tokens = token_config(&args.common, &file, false)?;
    let dir = data_dir(&args.common, &file);
    let bind = args
        .bind
        .or(file.bind)
        .unwrap_or_else(|| "127.0.0.1".into());
    let port = args.port.or(file.port).unwrap_or(8080);
    let redis = args.redis.or(file.redis);
    let mut config = ServerConfig::new(tokens.verify.clone());
    config.jwks_file = tokens.jwks_file.clone();
    config.metrics_token = std::env::var("PLENARY_METRICS_TOKEN")
        .ok()
        .or(file.metrics_token.clone())
        .filter(|t| !t.is_empty());
    if let Some(secs) = std::env::var("PLENARY_JWT_JWKS_POLL_SECS")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
    {
        config.jwks_poll = Duration::from_secs(secs.max(1));
    }
    if let Some(n) = args.max_message_bytes.or(file.max_message_bytes) {
        config.max_message_bytes = n;
    }
    if let Some(n) = args.outgoing_queue.or(file.outgoing_queue) {
        config.outgoing_queue = n.max(1);
    }
    if let Some(n) = args.room_idle_secs.or(file.room_idle_secs) {
        config.room_idle = Duration::from_secs(n);
    }
    if let Some(n) = args.index_quiet_secs.or(file.index_quiet_secs) {
        config.index_quiet = Duration::from_secs(n.max(1));
    }
    if let Some(n) = args.snapshot_every.or(file.snapshot_every) {
        config.snapshot_every = n.max(1);
    }
    if let Some(n) = args.max_update_structs.or(file.max_update_structs) {
        config.max_update_structs = n.max(1);
    }
    if let Some(id) = args.node_id.or(file.node_id) {
        config.node_id = id;
    }
    args.limits.apply(&file.limits, &mut config.limits);
    config.multi_node = redis.is_some();
    config.web_dir = args.web_dir.or(file.web_dir).or_else(default_web_dir);
    let dev = args.common.dev || file.dev.unwrap_or(false);
    if dev {
        // The web editor renews an expiring token at `POST /api/dev/token` (development only).
        config.dev_signing = tokens.signing.clone();
    }

    runtime()?.block_on(async move {
        let store = open_store(redis.as_deref(), &dir).await?;
        if !args.no_demo && store.list_docs().await?.is_empty() {
            let imported = plenary_doc::import_text(DEMO_TEXT).context("importing the demo")?;
            store_resolution(
                store.as_ref(),
                DEMO_DOC,
                &imported.resolution,
                &config.node_id,
            )
            .await?;
            tracing::info!(doc = DEMO_DOC, "created the demo document");
        }
        let listener = listen(&bind, port)
            .await
            .with_context(|| format!("binding {bind}:{port}"))?;
        let addr = listener.local_addr()?;
        // Tests and scripts read this line to find the port.
        println!("listening on http://{addr}");
        println!(
            "store: {}",
            if redis.is_some() { "redis" } else { "embedded" }
        );
        println!("tokens: {}", tokens.source);
        if dev {
            print_dev_tokens(&tokens, addr)?;
        }
        use std::io::Write as _;
        let _ = std::io::stdout().flush();
        plenary_server::run(listener, config, store, shutdown_signal()).await?;
        tracing::info!("stopped");
        Ok(())
    })
}

fn default_web_dir() -> Option<PathBuf> {
    let candidates = [
        PathBuf::from("web/dist"),
        PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../web/dist")),
    ];
    candidates
        .into_iter()
        .find(|p| p.join("index.html").is_file())
}

fn print_dev_tokens(
    tokens: &super::config::TokenConfig,
    addr: std::net::SocketAddr,
) -> anyhow::Result<()> {
    let Some(signing) = &tokens.signing else {
        return Ok(());
    };
    let minter = Minter::new(signing)?;
    let people: [(Role, &str, Option<&str>, &[&str]); 5] = [
        (Role::Chair, "Chair (Ms. Ortiz)", None, &[]),
        (Role::Secretariat, "Secretariat (UNODC)", None, &[]),
        (Role::Delegate, "Delegate of Japan", Some("JPN"), &[]),
        (Role::Delegate, "Delegate of France", Some("FRA"), &["EU"]),
        (Role::Observer, "Observer (NGO)", None, &[]),
    ];
    println!("\ndevelopment tokens (8h) for document {DEMO_DOC}:");
    for (role, name, delegation, groups) in people {
        let claims = TokenRequest {
            role,
            name: name.into(),
            sub: None,
            delegation: delegation.map(str::to_string),
            groups: groups.iter().map(|g| g.to_string()).collect(),
            docs: vec!["*".into()],
            ttl: Duration::from_secs(8 * 3600),
        }
        .into_claims(&tokens.verify.issuer, &tokens.verify.audience, unix_now())?;
        let token = minter.mint(&claims)?;
        println!("  {:<28} http://{addr}/?doc={DEMO_DOC}&token={token}", name);
    }
    println!();
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
    tracing::info!("shutting down: closing connections with 'going away'");
}

#[derive(Debug, Args)]
pub(crate) struct ImportArgs {
    /// Plain-text draft, e.g. tests/fixtures/reducing-reoffending-2021-rev1.txt
    pub file: PathBuf,
    /// Store it under this document name (in --data-dir or --redis) instead of printing it.
    #[arg(long)]
    pub doc: Option<String>,
    #[arg(long, env = "PLENARY_REDIS")]
    pub redis: Option<String>,
    #[command(flatten)]
    pub common: CommonArgs,
}

pub(crate) fn import(args: ImportArgs) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(&args.file)
        .with_context(|| format!("reading {}", args.file.display()))?;
    let imported = plenary_doc::import_text(&text)?;
    for w in &imported.warnings {
        eprintln!("warning: line {}: {} ({})", w.line, w.message, w.text);
    }
    let Some(name) = args.doc else {
        println!("{}", serde_json::to_string_pretty(&imported.resolution)?);
        return Ok(());
    };
    let file = FileConfig::load(args.common.config.as_deref())?;
    let dir = data_dir(&args.common, &file);
    runtime()?.block_on(async move {
        let store = open_store(args.redis.as_deref(), &dir).await?;
        if store.doc_exists(&name).await? {
            bail!("document {name} already exists");
        }
        let seq = store_resolution(store.as_ref(), &name, &imported.resolution, "cli").await?;
        println!("stored {name} at log position {seq}");
        Ok(())
    })
}

#[derive(Debug, Args)]
pub(crate) struct ExportArgs {
    /// A stored document to export …
    #[arg(long, conflicts_with = "from")]
    pub doc: Option<String>,
    /// … or a plain-text draft to convert.
    #[arg(long)]
    pub from: Option<PathBuf>,
    /// text | markdown | html | akn | docx | json
    #[arg(long, default_value = "text")]
    pub format: String,
    /// Write the export to this file instead of standard output (a .docx
    /// is written to standard output only when that is not a terminal).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// With `--doc` and `--format docx`: Word with tracked changes against this named
    /// version (`Rev.1`) or log position, each change attributed to whoever made it (as
    /// `GET /api/docs/{doc}/tracked?base=` gives it).
    #[arg(long, requires = "doc")]
    pub tracked_against: Option<String>,
    #[arg(long, env = "PLENARY_REDIS")]
    pub redis: Option<String>,
    #[command(flatten)]
    pub common: CommonArgs,
}

/// The resolution a command works on: a plain-text draft imported as
/// `plenary import` reads it, or a stored document's current state from the
/// store `--data-dir` or `--redis` names, as `plenary export --doc` reads it.
///
/// With `review` (`check`, `compile`, which cite paragraphs by label), import
/// warnings go to standard error and a stored document's paragraphs are
/// labelled against its last named version (OP3bis) as the editor and the API
/// label them, so everyone cites the same paragraph by the same name.
pub(crate) fn read_resolution(
    doc: Option<&str>,
    from: Option<&std::path::Path>,
    redis: Option<&str>,
    common: &CommonArgs,
    review: bool,
) -> anyhow::Result<Resolution> {
    match (doc, from) {
        (_, Some(path)) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            let imported = plenary_doc::import_text(&text)
                .with_context(|| format!("importing {}", path.display()))?;
            if review {
                for w in &imported.warnings {
                    eprintln!("warning: line {}: {} ({})", w.line, w.message, w.text);
                }
            }
            Ok(imported.resolution)
        }
        (Some(name), None) => {
            let file = FileConfig::load(common.config.as_deref())?;
            let dir = data_dir(common, &file);
            runtime()?.block_on(async move {
                let store = open_store(redis, &dir).await?;
                let mut r = load_resolution(store.as_ref(), name).await?;
                if review {
                    label_against_last_version(store, name, &mut r).await?;
                }
                Ok(r)
            })
        }
        (None, None) => bail!("give --doc <name> or a text file"),
    }
}

pub(crate) fn export(args: ExportArgs) -> anyhow::Result<()> {
    if args.doc.is_none() && args.from.is_none() {
        bail!("give --doc <name> or --from <file>");
    }
    if let (Some(base), Some(name)) = (&args.tracked_against, &args.doc) {
        if !matches!(args.format.as_str(), "docx" | "word") {
            bail!("--tracked-against makes a Word file: give --format docx");
        }
        let out = tracked_docx(name, base, args.redis.as_deref(), &args.common)?;
        return write_export(&out, args.out.as_deref(), true);
    }
    let resolution = read_resolution(
        args.doc.as_deref(),
        args.from.as_deref(),
        args.redis.as_deref(),
        &args.common,
        false,
    )?;
    let out: Vec<u8> = match args.format.as_str() {
        "text" | "txt" => plenary_doc::export_text(&resolution).into_bytes(),
        "markdown" | "md" => plenary_doc::export_markdown(&resolution).into_bytes(),
        "html" => plenary_doc::export_html(&resolution).into_bytes(),
        "akn" | "xml" => {
            // The stored document's name, or the file's stem, identifies the
            // work when the draft has no symbol yet.
            let document_name = match (&args.doc, &args.from) {
                (_, Some(path)) => path.file_stem().and_then(|s| s.to_str()),
                (Some(name), None) => Some(name.as_str()),
                (None, None) => None,
            };
            plenary_doc::export_akn_with(&resolution, &plenary_doc::AknOptions { document_name })
                .into_bytes()
        }
        "docx" | "word" => plenary_doc::export_docx(&resolution)?,
        "json" => serde_json::to_string_pretty(&resolution)?.into_bytes(),
        other => bail!("unknown format {other}: use text, markdown, html, akn, docx or json"),
    };
    write_export(
        &out,
        args.out.as_deref(),
        args.format == "docx" || args.format == "word",
    )
}

/// Word with tracked changes of stored document `name` against `base` (a version name or a
/// log position). Changes the history cannot attribute are credited to the operator
/// (`$USER`, else "Plenary").
fn tracked_docx(
    name: &str,
    base: &str,
    redis: Option<&str>,
    common: &CommonArgs,
) -> anyhow::Result<Vec<u8>> {
    let file = FileConfig::load(common.config.as_deref())?;
    let dir = data_dir(common, &file);
    let inputs = runtime()?.block_on(async {
        let store = open_store(redis, &dir).await?;
        if !store.doc_exists(name).await? {
            bail!("no document named {name}");
        }
        // A local command may replay as far as it needs.
        let history = plenary_history::History::new(store).with_max_tail(u64::MAX, u64::MAX);
        history
            .tracked_since(name, &plenary_history::Point::parse(base), u64::MAX)
            .await
            .with_context(|| format!("reading {name} at {base} and now"))
    })?;
    let author = std::env::var("USER").unwrap_or_else(|_| "Plenary".to_owned());
    let date = plenary_history::iso8601(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX)),
    );
    Ok(plenary_doc::export_docx_tracked_with(
        &inputs.old,
        &inputs.new,
        &plenary_doc::TrackedOptions {
            author: &author,
            date: &date,
            pair_by: plenary_doc::pairing::PairBy::Id,
            authors: Some(&inputs.authors),
        },
    )?)
}

/// Writes an export to `path`, or to standard output; a binary one is not
/// written to a terminal.
pub(crate) fn write_export(
    out: &[u8],
    path: Option<&std::path::Path>,
    binary: bool,
) -> anyhow::Result<()> {
    use std::io::{IsTerminal, Write};
    if let Some(path) = path {
        return std::fs::write(path, out).with_context(|| format!("writing {}", path.display()));
    }
    let mut stdout = std::io::stdout().lock();
    if binary && stdout.is_terminal() {
        bail!("a .docx is binary: give --out <file> or redirect standard output");
    }
    stdout
        .write_all(out)
        .context("writing to standard output")?;
    stdout.flush().context("writing to standard output")
}

/// Numbers `r`'s paragraphs against the last version named in the store, if
/// any (a paragraph inserted since is OP3bis). A local command may take as
/// long as the replay of that version needs, so the history's tail limits
/// are lifted.
async fn label_against_last_version(
    store: Arc<dyn Store>,
    name: &str,
    r: &mut Resolution,
) -> anyhow::Result<()> {
    let history = plenary_history::History::new(store).with_max_tail(u64::MAX, u64::MAX);
    let last = history.last_seq(name).await?;
    let base = history
        .base_order_at(name, last)
        .await
        .context("reading the last named version")?;
    plenary_doc::numbering::number_paragraphs(&mut r.paragraphs, base.as_ref());
    Ok(())
}

/// Reads a stored document's current state (snapshot + log).
pub(crate) async fn load_resolution(store: &dyn Store, name: &str) -> anyhow::Result<Resolution> {
    if !store.doc_exists(name).await? {
        bail!("no document named {name}");
    }
    let mut doc = ResolutionDoc::new();
    let mut seq = 0;
    if let Some(s) = store.latest_snapshot(name).await? {
        doc.apply(&s.state).context("loading the snapshot")?;
        seq = s.seq;
    }
    loop {
        let batch = store.read_log(name, seq, 5000).await?;
        let Some((last, _)) = batch.last() else { break };
        seq = *last;
        for (_, e) in &batch {
            doc.apply(&e.update).context("replaying the log")?;
        }
    }
    Ok(doc.resolution())
}
