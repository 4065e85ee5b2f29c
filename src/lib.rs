//! kimera-redis-init: TLS certificates and every file that goes with them, for the
//! KIMERA Redis profiles. Data flows one way (ARCHITECTURE.md), and the folders follow it:
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
mod timings;

pub use api::{Setup, Written, WrittenFile};
pub use config::request::KeyType;
pub use config::target::ServerKind;
pub use error::Error;

use std::process::ExitCode;

use cli::Command;

/// Parse the command line, run, and map the outcome to an exit status: 0 done, 1 failed
/// (or, for verify and doctor, problems found), 2 bad input (clap uses 2 for its own).
pub fn main() -> ExitCode {
    timings::stage("start");
    let cli = cli::help::parse();
    timings::stage("arguments parsed");
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
        Some(Command::RotatePassword(args)) => commands::rotate_password::run(args).map(|()| true),
        Some(Command::Doctor { dir, json, timeout }) => {
            commands::doctor::run(dir, *json, std::time::Duration::from_secs(*timeout))
        }
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

/// Every `src/…` path named in the repository's documents, comments and manifests exists:
/// a map that names a file that moved is a wrong map.
#[cfg(test)]
mod named_paths {
    use std::path::Path;

    fn files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if path.is_dir() {
                if !name.starts_with('.') && name != "target" && name != "corpus" {
                    files(&path, out);
                }
            } else if [".rs", ".md", ".toml", ".sh", ".j2", ".py"]
                .iter()
                .any(|ext| name.ends_with(ext))
            {
                out.push(path);
            }
        }
    }

    #[test]
    fn every_src_path_named_anywhere_exists() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut all = Vec::new();
        files(root, &mut all);
        let mut missing = Vec::new();
        for file in &all {
            let text = std::fs::read_to_string(file).unwrap_or_default();
            for (i, _) in text.match_indices("src/") {
                let before = text[..i].chars().last();
                if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '-') {
                    continue;
                }
                let named: String = text[i..]
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || matches!(c, '/' | '_' | '.' | '-'))
                    .collect();
                let named = named.trim_end_matches('.');
                if named.ends_with(".rs") && !root.join(named).exists() {
                    missing.push(format!("{}: {named}", file.display()));
                }
            }
        }
        assert!(
            missing.is_empty(),
            "named but not there:\n{}",
            missing.join("\n")
        );
    }
}
