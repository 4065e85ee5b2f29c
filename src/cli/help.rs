//! The clap command as users meet it: the derive definitions of `cli` plus the few help
//! texts that depend on the subcommand they appear under (the generate flags shared by
//! `fixtures`, the CA flags shared by `renew`). The same command feeds parsing, the
//! completions and the man page, so all three say the same thing.

use clap::parser::ValueSource;
use clap::{Command, CommandFactory, FromArgMatches};

use crate::cli::{self, Cli};
use crate::config::request::Asked;

/// The full command definition with its per-subcommand help texts.
pub(crate) fn command() -> Command {
    command_with(true)
}

/// [`command`]; with `fixtures_help` false, fixtures' flags keep generate's help texts.
/// Those are shown only when `fixtures` is on the command line, and rewriting all of
/// them was a tenth of parsing a generate run's arguments (0.35 -> 0.32 ms).
fn command_with(fixtures_help: bool) -> Command {
    let cmd = Cli::command();
    let cmd = if !fixtures_help {
        cmd
    } else {
        cmd.mut_subcommand("fixtures", |c| {
            // The shared generate flags show generate's command lines as examples.
            c.mut_args(|a| {
                let fix = |s: String| {
                    s.replace(
                        "kimera-redis-init --profile",
                        "kimera-redis-init fixtures --profile",
                    )
                };
                let help = a.get_help().map(|h| fix(h.to_string()));
                let long = a.get_long_help().map(|h| fix(h.to_string()));
                let a = match help {
                    Some(h) => a.help(h),
                    None => a,
                };
                match long {
                    Some(h) => a.long_help(h),
                    None => a,
                }
            })
        })
    };
    cmd.mut_subcommand("renew", |c| {
            c.mut_arg("ca_cert", |a| {
                a.help("The organisation's CA certificate (PEM) the folder was issued under: renew signs with it, as that CA's key is not in the folder.")
                    .long_help("The organisation's CA certificate (PEM) the folder was issued under (generate --ca-cert): renew signs with it, as that CA's key is never copied into the folder. Not needed for a folder with its own CA.\n\nExample: kimera-redis-init renew ./redis-prod --ca-cert /etc/pki/kimera-ca.crt --ca-key /etc/pki/kimera-ca.key")
            })
        })
}

/// Parse the process's arguments with [`command`]. `help --help` (and `help -h`) shows the
/// top-level help, as `help` alone does, instead of clap's "unrecognized subcommand".
pub(crate) fn parse() -> Cli {
    let mut args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if args.get(1).is_some_and(|a| a == "help") {
        args.retain(|a| a != "--help" && a != "-h");
    }
    let fixtures = args.iter().any(|a| a == "fixtures");
    let matches = command_with(fixtures).get_matches_from(args);
    let mut cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    let (generate, sub) = match (&mut cli.command, matches.subcommand()) {
        (Some(cli::Command::Generate(args) | cli::Command::Fixtures(args)), Some((_, sub))) => {
            (&mut **args, sub)
        }
        (None, _) => (&mut cli.generate, &matches),
        _ => return cli,
    };
    let named = |id: &str| {
        sub.try_contains_id(id).unwrap_or(false)
            && sub.value_source(id) == Some(ValueSource::CommandLine)
    };
    generate.asked = Asked {
        key_type: named("key_type"),
        days: named("days"),
        ca_days: named("ca_days"),
    };
    cli
}
