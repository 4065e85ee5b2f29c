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
mod certificate;
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
mod server;
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

/// No module imports one that stands below it in ARCHITECTURE.md's code map, and every
/// module has a place there: the map's order is the code's order.
#[cfg(test)]
mod layering {
    use std::collections::BTreeMap;
    use std::path::Path;

    /// The crate's faces, which wire every layer together.
    const FACES: [&str; 4] = ["lib", "api", "testing", "main"];

    /// Each module named in a `### ` heading of the code map, with its heading's rank.
    fn ranks(map: &str) -> BTreeMap<String, usize> {
        let mut ranks = BTreeMap::new();
        let code_map = map.split("## Code map").nth(1).expect("a code map");
        for (rank, heading) in code_map
            .lines()
            .filter(|l| l.starts_with("### "))
            .enumerate()
        {
            for path in heading.split('`').filter(|w| w.starts_with("src/")) {
                let module = path
                    .trim_start_matches("src/")
                    .trim_end_matches('/')
                    .trim_end_matches(".rs");
                ranks.insert(module.to_owned(), rank);
            }
        }
        ranks
    }

    fn sources(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                sources(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }

    /// The top module of every `crate::x` a file's code (not its unit tests) names.
    fn imports(text: &str) -> Vec<String> {
        let code = text.split("#[cfg(test)]").next().unwrap_or_default();
        let mut out: Vec<String> = code
            .match_indices("crate::")
            .map(|(i, m)| {
                code[i + m.len()..]
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect()
            })
            .collect();
        // `use crate::{a, b::c}`: each name in the braces.
        for (i, _) in code.match_indices("crate::{") {
            let inner = &code[i + 8..];
            let inner = &inner[..inner.find('}').unwrap_or(0)];
            out.extend(inner.split(',').map(|w| {
                w.trim()
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect()
            }));
        }
        out.retain(|m| !m.is_empty());
        // `crate::Error`: a re-export of the face lib.rs.
        for m in &mut out {
            if m.chars().next().is_some_and(char::is_uppercase) {
                "lib".clone_into(m);
            }
        }
        out.sort();
        out.dedup();
        out
    }

    #[test]
    fn no_module_imports_one_below_it_in_the_architecture_map() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let ranks = ranks(&std::fs::read_to_string(root.join("ARCHITECTURE.md")).unwrap());
        let mut files = Vec::new();
        sources(&root.join("src"), &mut files);
        let mut wrong = Vec::new();
        for file in files {
            let rel = file.strip_prefix(root.join("src")).unwrap();
            let top = rel.iter().next().unwrap().to_string_lossy();
            let module = top.trim_end_matches(".rs");
            if FACES.contains(&module) {
                continue;
            }
            let Some(&rank) = ranks.get(module) else {
                wrong.push(format!(
                    "src/{}: its module has no place in the map",
                    rel.display()
                ));
                continue;
            };
            for import in imports(&std::fs::read_to_string(&file).unwrap()) {
                match ranks.get(&import) {
                    _ if import == module => {}
                    Some(&r) if r <= rank => {}
                    Some(_) => wrong.push(format!(
                        "src/{} imports {import}, which stands below {module}",
                        rel.display()
                    )),
                    None if FACES.contains(&import.as_str()) => wrong.push(format!(
                        "src/{} imports the crate face {import}",
                        rel.display()
                    )),
                    None => wrong.push(format!(
                        "src/{} imports {import}, which has no place in the map",
                        rel.display()
                    )),
                }
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }

    /// The library (`api::Setup`) is the same code as the CLI: only the commands, the
    /// CLI's types and the crate's entry points print or read the command line, so a
    /// program using the library gets no stray output and no message built from its
    /// own argv.
    #[test]
    fn only_the_commands_print_or_read_the_command_line() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut files = Vec::new();
        sources(&root.join("src"), &mut files);
        let mut wrong = Vec::new();
        for file in files {
            let rel = file.strip_prefix(root.join("src")).unwrap().to_owned();
            let top = rel.iter().next().unwrap().to_string_lossy().into_owned();
            // timings.rs prints only when KIMERA_TRACE_TIMINGS asks it to.
            if ["commands", "cli", "lib.rs", "main.rs", "timings.rs"].contains(&top.as_str()) {
                continue;
            }
            let text = std::fs::read_to_string(&file).unwrap();
            let code = text.split("#[cfg(test)]").next().unwrap_or_default();
            for what in ["println!", "eprintln!", "print!(", "eprint!(", "env::args"] {
                if code.contains(what) {
                    wrong.push(format!("src/{}: {what}", rel.display()));
                }
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }

    #[test]
    fn an_import_back_up_the_map_is_found() {
        let ranks = ranks(
            "## Code map\n### `src/config/`\n### Shared: `src/error.rs`, `src/digest.rs`\n### `src/pki/`\n",
        );
        assert_eq!(ranks["config"], 0);
        assert_eq!(ranks["error"], 1);
        assert_eq!(ranks["digest"], 1);
        assert_eq!(ranks["pki"], 2);
        assert_eq!(
            imports(
                "use crate::{pki::keys, error};\nfn f() { crate::config::x(); }\n#[cfg(test)]\nmod t { use crate::render; }"
            ),
            ["config", "error", "pki"]
        );
        assert_eq!(imports("use crate::KeyType;"), ["lib"]);
    }
}
