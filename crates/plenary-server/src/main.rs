//! `plenary`: the server and its command-line tools.

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
