//! kimera-redis-init: TLS certificates and every file that goes with them, for the
//! KIMERA Redis profiles. Data flows one way (design.md):
//! CLI + profile -> [`settings::Settings`] -> [`pki::Pki`] -> [`bundle::Bundle`] -> [`writer`].

pub(crate) mod acl;
pub mod api;
mod appenv;
pub mod bundle;
pub mod certinfo;
pub mod cli;
pub mod clihelp;
pub mod commands;
pub(crate) mod digest;
pub mod envcheck;
pub mod error;
pub mod escape;
pub mod existing;
pub mod fixtures;
pub mod folder;
pub(crate) mod image;
pub(crate) mod inputfile;
pub(crate) mod journal;
pub(crate) mod kept;
pub mod kubernetes;
pub mod layout;
mod live;
pub mod lock;
pub mod manifest;
pub(crate) mod network;
pub(crate) mod ownca;
mod parallel;
pub(crate) mod pipeline;
pub(crate) mod pkcs12;
pub mod pki;
pub mod profile;
pub(crate) mod random;
pub(crate) mod record;
pub(crate) mod redact;
pub mod redisconf;
pub mod render;
pub(crate) mod request;
pub(crate) mod resp;
pub(crate) mod safedir;
pub mod secrets;
pub mod settings;
pub(crate) mod stores;
pub mod trust;
pub(crate) mod url;
pub mod writer;

pub use api::{Setup, Written, WrittenFile};
pub use error::Error;
pub use request::KeyType;

use std::process::ExitCode;

use cli::Command;

/// Parse the command line, run, and map the outcome to an exit status: 0 done, 1 failed
/// (or, for verify and doctor, problems found), 2 bad input (clap uses 2 for its own).
pub fn main() -> ExitCode {
    let cli = clihelp::parse();
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
            // The same prefix clap uses for its own errors.
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}
