//! `bench-baseline --port P`: the bare broadcast server (see `plenary_bench::serve_baseline`).

use std::net::SocketAddr;
use std::process::ExitCode;

use clap::Parser;

#[derive(Debug, Parser)]
#[command(about = "Forwards every binary WebSocket message to the other clients on the same path")]
struct Args {
    #[arg(long, default_value = "127.0.0.1")]
    bind: std::net::IpAddr,
    #[arg(long, default_value_t = 0)]
    port: u16,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("bench-baseline: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(plenary_bench::serve_baseline(SocketAddr::new(
        args.bind, args.port,
    ))) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench-baseline: {e}");
            ExitCode::FAILURE
        }
    }
}
