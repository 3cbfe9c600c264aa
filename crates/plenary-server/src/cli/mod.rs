//! Command-line entry points: `serve`, `token`, `import`, `export`, `check`, `compile`, `diff`,
//! `bench`.
//!
//! Every `serve` flag also comes from the environment (`PLENARY_PORT`, …) or
//! a TOML config file (`--config`); precedence is flag, then environment,
//! then file, then default. `token` reads the same configuration, so what it
//! mints opens the server that configuration runs.

mod config;
mod diff;
mod limits;
mod review;
mod serve;
mod token;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "plenary",
    version,
    about = "Real-time co-drafting of UN-style resolutions"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server (HTTP API, WebSocket sync, web editor).
    Serve(Box<config::ServeArgs>),
    /// Mint a token from the configured secret (development and operators).
    Token(token::TokenArgs),
    /// Import the plain text of a draft: print it as JSON, or store it as a document.
    Import(serve::ImportArgs),
    /// Export a stored document or a text file as text, Markdown, HTML, Akoma Ntoso or JSON.
    Export(serve::ExportArgs),
    /// Load-test a y-protocols server: N clients, K typists, latency and throughput.
    Bench(plenary_bench::BenchArgs),
    /// Compare two revisions of a draft given as text files, matching paragraphs by similarity.
    Diff(diff::DiffArgs),
    /// Run the drafting checks on a text file or a stored document and print the findings in
    /// plain words with paragraph labels (PP2, OP3 …); exits 1 when there are findings.
    Check(review::CheckArgs),
    /// Print the compilation text of a text file or a stored document: each paragraph with its
    /// pending proposals as bracketed alternatives attributed to their delegations.
    Compile(review::CompileArgs),
}

pub(crate) fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => serve::serve(*args),
        Command::Token(args) => token::token(args),
        Command::Import(args) => serve::import(args),
        Command::Export(args) => serve::export(args),
        Command::Bench(args) => plenary_bench::run(args).map_err(anyhow::Error::from),
        Command::Diff(args) => diff::diff(args),
        // Its exit status tells findings (1) from failures (2).
        Command::Check(args) => return review::check(args),
        Command::Compile(args) => review::compile(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("plenary: {e:#}");
            ExitCode::FAILURE
        }
    }
}
