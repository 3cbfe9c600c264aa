//! Load generator for y-protocols servers (`plenary bench`) and the bare
//! broadcast baseline (`bench-baseline`).
//!
//! Why: we must know, in numbers, how Plenary's fan-out compares with what a
//! team would otherwise deploy (the Yjs reference servers) and with the
//! transport's own ceiling on the same machine. The generator speaks plain
//! y-protocols (Plenary, `y-websocket`), Hocuspocus framing (document name
//! before every message) or the same frames to a relay that keeps no
//! document (`bench-baseline`).
//!
//! Receivers do not keep a document: they decode each update's state vector
//! only, so the generator stays light and the server is what gets measured.
//! A typist registers the clock its update ends at and when it was sent;
//! a receiver seeing a client's clock advance past a registered clock takes
//! one latency sample, which stays exact when a server merges or re-encodes
//! updates.

mod args;
mod baseline;
mod cold;
mod connection;
mod crafted;
mod create;
mod error;
mod idle;
mod latency;
mod load;
mod probe;
mod procstat;
mod refusal;
mod report;
mod typing;
mod wire;
mod writer;

pub use args::{BenchArgs, Mode, Protocol};
pub use baseline::serve_baseline;
pub use error::BenchError;
pub use report::Report;

/// Runs `plenary bench` with its parsed arguments: prints the table, writes the JSON.
pub fn run(args: BenchArgs) -> Result<(), BenchError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(BenchError::Runtime)?;
    let report = runtime.block_on(async {
        match args.mode {
            Mode::Load => load::run_load(&args).await,
            Mode::Fill => cold::fill(&args).await,
            Mode::FirstSync => cold::first_sync(&args).await,
            Mode::JoinStorm => cold::join_storm(&args).await,
            Mode::Idle => idle::run_idle(&args).await,
            Mode::Writer => writer::run_writer(&args).await,
            Mode::Crafted => crafted::run_crafted(&args).await,
            Mode::Refusal => refusal::run_refusal(&args).await,
        }
    })?;
    println!("{}", report.table());
    if let Some(path) = &args.json {
        let json = serde_json::to_string_pretty(&report).map_err(BenchError::Json)?;
        std::fs::write(path, json).map_err(|e| BenchError::Write(path.clone(), e))?;
    }
    Ok(())
}
