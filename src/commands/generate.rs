//! `kimera-redis-init --profile NAME` (also `generate`): the main job, in the one-way
//! order of ARCHITECTURE.md: settings, PKI, bundle, writer.

use crate::cli::GenerateArgs;
use crate::commands::stdout::{out, outln};
use crate::config::request::KeyType;
use crate::error::Result;
use crate::output::manifest;
use crate::output::writer;
use crate::pipeline;
pub(crate) use crate::pipeline::Outcome;

pub(crate) fn run(args: &GenerateArgs, fixtures: bool) -> Result<()> {
    let outcome = generate(args, fixtures)?;
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
    pipeline::start_from_record(&mut request, &run, fixtures)?;
    pipeline::generate(&request, &run, fixtures)
}
