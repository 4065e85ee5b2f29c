//! kimera-redis-init: TLS certificates and every file that goes with them, for the
//! KIMERA Redis profiles. Data flows one way (design.md), and the folders follow it:
//!
//! `cli` (flags) -> `config` (validated settings) -> `pki` (keys, certificates) ->
//! `render` (every file's text) -> `output` (the bundle in memory, the one writer).
//! `readback` reads a folder and its running servers back; `commands` holds one module
//! per subcommand, and `pipeline` the generate flow that `commands` and `api` share.
//!
//! The public surface is `api` (the library builder), `main`, and `testing` (what the
//! integration tests and the fuzz target need; not for users).

pub mod api;
mod cli;
mod commands;
mod config;
mod digest;
mod error;
mod output;
mod parallel;
mod pipeline;
mod pki;
mod printable;
mod readback;
mod redact;
mod regularfile;
mod render;
#[doc(hidden)]
pub mod testing;

pub use api::{Setup, Written, WrittenFile};
pub use config::request::KeyType;
pub use error::Error;

use std::process::ExitCode;

use cli::Command;

/// Parse the command line, run, and map the outcome to an exit status: 0 done, 1 failed
/// (or, for verify and doctor, problems found), 2 bad input (clap uses 2 for its own).
pub fn main() -> ExitCode {
    let cli = cli::help::parse();
    let result = match &cli.command {
        Some(Command::Generate(args)) => commands::generate::run(args, false).map(|()| true),
        Some(Command::Fixtures(args)) => commands::generate::run(args, true).map(|()| true),
        Some(Command::Completions { shell }) => commands::docs::completions(*shell).map(|()| true),
        Some(Command::Man) => commands::docs::man().map(|()| true),
        Some(Command::Profiles { action }) => {
            commands::profiles::run(action.as_ref()).map(|()| true)
        }
        Some(Command::Inspect { path, json }) => commands::inspect::run(path, *json).map(|()| true),
        Some(Command::Verify {
            dir,
            warn_days,
            json,
        }) => commands::verify::run(dir, *warn_days, *json),
        Some(Command::Renew(args)) => commands::renew::run(args).map(|()| true),
        Some(Command::Doctor { dir, json }) => commands::doctor::run(dir, *json),
        None => commands::generate::run(&cli.generate, false).map(|()| true),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            // The same prefix clap uses for its own errors. Escaped as a whole too: a value
            // quoted without `printable` somewhere still cannot drive the terminal (no
            // message is meant to span lines).
            eprintln!("error: {}", printable::text(&e.to_string()));
            ExitCode::from(e.exit_code())
        }
    }
}
