use std::io::IsTerminal as _;
use std::process::ExitCode;

use qr_origin::cmd::{Cli, Command};
use qr_origin::config::file::{self as config_file, ParseError};
use tracing_subscriber::EnvFilter;

/// jemalloc for the service: image churn (render, cache, evict) fragments glibc's heap; see the
/// dependency's comment in Cargo.toml for the load-test figures.
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// Errors end the process with their one-line cause chain (`a: b: c`) and status 1; never a
/// backtrace, even with `RUST_BACKTRACE=1` (what an operator needs is what to change).
fn main() -> ExitCode {
    let cli = match config_file::parse::<Cli>(std::env::args_os().collect()) {
        Ok(cli) => cli,
        Err(ParseError::Cli(e)) => e.exit(),
        Err(ParseError::File(e)) => return fail(&e),
    };
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&e),
    }
}

fn fail(e: &anyhow::Error) -> ExitCode {
    eprintln!("error: {e:#}");
    ExitCode::FAILURE
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if cli.log_format == "json" {
        logs.json().init();
    } else {
        logs.with_ansi(std::io::stderr().is_terminal()).init();
    }
    match cli.command {
        None => qr_origin::cmd::serve::run(cli.serve),
        Some(Command::Serve(args)) => qr_origin::cmd::serve::run(*args),
        Some(Command::Token(args)) => qr_origin::cmd::token::run(args),
        Some(Command::Render(args)) => qr_origin::cmd::render::run(args),
        Some(Command::Merchant(args)) => qr_origin::cmd::merchant::run(args),
        Some(Command::Logo(args)) => qr_origin::cmd::logo::run(args),
    }
}
