//! kimera-redis-init: TLS certificates and every file that goes with them, for the
//! KIMERA Redis profiles. Data flows one way (design.md):
//! CLI + profile -> [`settings::Settings`] -> [`pki::Pki`] -> [`bundle::Bundle`] -> [`writer`].

pub mod bundle;
pub mod certinfo;
pub mod cli;
pub mod commands;
pub mod error;
pub mod escape;
pub mod existing;
pub mod layout;
pub mod manifest;
pub mod pki;
pub mod profile;
pub mod render;
pub mod secrets;
pub mod settings;
pub mod writer;

use std::process::ExitCode;

use clap::Parser;

use cli::{Cli, Command};

/// Parse the command line, run, and map the outcome to an exit status: 0 done, 1 failed,
/// 2 bad input (clap uses 2 for its own usage errors too).
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Some(Command::Generate(args)) => commands::generate::run(args),
        Some(Command::Profiles) => commands::profiles::run(),
        None => commands::generate::run(&cli.generate),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kimera-redis-init: error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}
