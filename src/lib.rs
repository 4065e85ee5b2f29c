//! kimera-redis-init: TLS certificates and every file that goes with them, for the
//! KIMERA Redis profiles. Data flows one way (design.md):
//! CLI + profile -> [`settings::Settings`] -> [`pki::Pki`] -> [`bundle::Bundle`] -> [`writer`].

pub mod api;
pub mod bundle;
pub mod certinfo;
pub mod cli;
pub mod commands;
pub mod error;
pub mod escape;
pub mod existing;
pub mod fixtures;
pub mod folder;
pub(crate) mod image;
pub mod layout;
pub mod manifest;
pub(crate) mod network;
pub mod pki;
pub mod profile;
pub mod redisconf;
pub mod render;
pub mod secrets;
pub mod settings;
pub mod trust;
pub mod writer;

pub use api::{Setup, Written, WrittenFile};
pub use cli::KeyType;
pub use error::Error;

use std::process::ExitCode;

use clap::Parser;

use cli::{Cli, Command};

/// Parse the command line, run, and map the outcome to an exit status: 0 done, 1 failed
/// (or, for verify and doctor, problems found), 2 bad input (clap uses 2 for its own).
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Some(Command::Generate(args)) => commands::generate::run(args, false).map(|()| true),
        Some(Command::Fixtures(args)) => commands::generate::run(args, true).map(|()| true),
        Some(Command::Completions { shell }) => commands::docs::completions(*shell).map(|()| true),
        Some(Command::Man) => commands::docs::man().map(|()| true),
        Some(Command::Profiles { action }) => {
            commands::profiles::run(action.as_ref()).map(|()| true)
        }
        Some(Command::Inspect { path, json }) => commands::inspect::run(path, *json).map(|()| true),
        Some(Command::Verify { dir, warn_days }) => commands::verify::run(dir, *warn_days),
        Some(Command::Renew(args)) => commands::renew::run(args).map(|()| true),
        Some(Command::Doctor { dir }) => commands::doctor::run(dir),
        None => commands::generate::run(&cli.generate, false).map(|()| true),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("kimera-redis-init: error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}
