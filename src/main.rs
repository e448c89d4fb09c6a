use clap::Parser;
use qr_origin::cmd::{Cli, Command};

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Render(args)) => qr_origin::cmd::render::run(args),
        Some(Command::Merchant(args)) => qr_origin::cmd::merchant::run(args),
        None => anyhow::bail!("serve: not implemented yet"),
    }
}
