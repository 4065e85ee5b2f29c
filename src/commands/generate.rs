//! `kimera-redis-init --profile NAME` (also `generate`): the main job, in the one-way
//! order of ARCHITECTURE.md: settings, PKI, bundle, writer.

use std::path::PathBuf;

use crate::cli::GenerateArgs;
use crate::commands::stdout::{out, outln};
use crate::config::fill;
use crate::config::record::Record;
use crate::config::request::{KeyType, Request, RunOptions};
use crate::error::{Error, Result};
use crate::output::manifest;
use crate::output::writer;
use crate::pipeline;
pub(crate) use crate::pipeline::Outcome;
use crate::printable;
use crate::regularfile::{self, Unreadable};
use crate::render::escape::sh_word;

pub(crate) fn run(args: &GenerateArgs, fixtures: bool) -> Result<()> {
    let outcome = generate(args, fixtures)?;
    if let Some(note) = &outcome.finished_note {
        eprintln!("{note}");
    }
    if outcome.run.json {
        let m = manifest::manifest(
            &outcome.settings,
            &outcome.run,
            &outcome.bundle,
            &outcome.actions,
        );
        outln!(
            "{}",
            serde_json::to_string_pretty(&m).expect("manifest serializes")
        );
    } else {
        out!(
            "{}",
            manifest::human(
                &outcome.settings,
                &outcome.run,
                &outcome.bundle,
                &outcome.actions
            )
        );
        for line in notes(&outcome) {
            outln!("{line}");
        }
    }
    crate::timings::stage("report printed");
    Ok(())
}

/// What the text report adds after the files: what a Java client needs with Ed25519
/// keys, kept files others may read, and kept files that differ from this run's.
fn notes(outcome: &Outcome) -> Vec<String> {
    let Outcome {
        settings,
        run,
        bundle,
        actions,
        differing,
        ..
    } = outcome;
    let mut lines = Vec::new();
    if settings.tls && settings.key_type == KeyType::Ed25519 {
        lines.push(
            "note: Ed25519 keys: Netty, and so Lettuce's PEM path, cannot read the PEM key \
             (\"Neither RSA, DSA nor EC worked\"); Java clients should use the PKCS#12 \
             stores (--pkcs12: certs/redis-client.p12, certs/truststore.p12)"
                .to_owned(),
        );
    }
    if !run.force && !run.dry_run {
        for (path, mode, want) in writer::loose_modes(bundle, &settings.out_dir, actions) {
            lines.push(format!(
                "warning: kept {path} has mode {mode:04o}: others may read or change it; \
                 --force sets it to {want:04o} (or chmod {want:o} it)"
            ));
        }
    }
    for path in differing {
        lines.push(format!(
            "note: kept {path} differs from what these settings render (edited by hand, or other flags); --force rewrites it"
        ));
    }
    lines
}

/// The pipeline for these flags (see [`pipeline::generate`]).
pub(crate) fn generate(args: &GenerateArgs, fixtures: bool) -> Result<Outcome> {
    let mut request = args.request();
    let run = args.run_options();
    start_from_record(&mut request, &run, fixtures)?;
    pipeline::generate(&request, &run, fixtures)
}

/// A re-run from the command line starts from the folder's record (`config::fill`): what
/// the flags leave to the profile is taken from it, said in one line on stderr. Not with
/// `--force`, which rewrites from the flags given (so a value can be dropped), and not
/// for the library (`api`), whose builder says everything it wants. A folder without a
/// record is run as the flags say; one whose record does not parse too, with a note.
/// A record that is not a regular file of sane size (a FIFO, a link to `/dev/zero`) is
/// refused naming it: it is no record this tool wrote, and reading it would never end.
fn start_from_record(req: &mut Request, run: &RunOptions, fixtures: bool) -> Result<()> {
    if req.profile_file.is_some() {
        return Ok(());
    }
    let profile = match (&req.profile, fixtures) {
        (Some(p), _) => Some(p.as_str()),
        (None, true) => Some(pipeline::FIXTURES_PROFILE),
        (None, false) => None,
    };
    let Some(dir) = req.out.clone().or_else(|| profile.map(PathBuf::from)) else {
        return Ok(());
    };
    let path = dir.join(crate::config::layout::RECORD);
    let parsed = match regularfile::read_text(&path) {
        Ok(text) => Record::parse(&text).map_err(|e| e.to_string()),
        Err(e @ Unreadable::NotText) => Err(e.to_string()),
        Err(e @ (Unreadable::NotRegular(_) | Unreadable::TooLarge { .. })) => {
            return Err(Error::failed(format!(
                "{}: {e}; remove it (rm -r {}) or put the record of this folder back, then run \
                 again",
                printable::path(&path),
                printable::text(&sh_word(&path.display().to_string()))
            )));
        }
        // No record, or an --out that cannot hold one (its own refusals say why).
        Err(Unreadable::Io(_)) => return Ok(()),
    };
    let record = match parsed {
        Ok(record) => record,
        Err(e) => {
            eprintln!(
                "note: {}: cannot be read ({}); the first run's flags are not taken, only the \
                 ones given",
                printable::path(&path),
                printable::text(&e)
            );
            return Ok(());
        }
    };
    if run.force {
        eprintln!(
            "note: --force rewrites from the flags given; the first run's in {} are not taken",
            printable::path(&path)
        );
        return Ok(());
    }
    let taken = fill::fill_from(req, &record);
    if taken.is_empty() {
        return Ok(());
    }
    let words: Vec<String> = taken
        .iter()
        .map(|t| match &t.value {
            Some(v) => format!("{} {}", t.flag, printable::text(&sh_word(v))),
            None => t.flag.to_owned(),
        })
        .collect();
    eprintln!(
        "note: {}: taking {} from the first run",
        printable::path(&path),
        words.join(" ")
    );
    Ok(())
}
