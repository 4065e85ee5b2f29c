//! `kimera-redis-init --profile NAME` (also `generate`): the main job, in the one-way
//! order of design.md: settings, PKI, bundle, writer.

use crate::cli::GenerateArgs;
use crate::error::Result;
use crate::manifest;
use crate::pipeline;
pub use crate::pipeline::Outcome;
use crate::writer;

pub fn run(args: &GenerateArgs, fixtures: bool) -> Result<()> {
    let outcome = generate(args, fixtures)?;
    let Outcome {
        settings,
        run,
        bundle,
        actions,
        differing,
    } = &outcome;
    if run.json {
        let m = manifest::manifest(settings, run, bundle, actions);
        println!(
            "{}",
            serde_json::to_string_pretty(&m).expect("manifest serializes")
        );
    } else {
        print!("{}", manifest::human(settings, run, bundle, actions));
        if settings.tls && settings.key_type == crate::pki::KeyType::Ed25519 {
            println!(
                "note: Ed25519 keys: Netty, and so Lettuce's PEM path, cannot read the PEM key \
                 (\"Neither RSA, DSA nor EC worked\"); Java clients should use the PKCS#12 \
                 stores (--pkcs12: certs/redis-client.p12, certs/truststore.p12)"
            );
        }
        if !run.force && !run.dry_run {
            let loose = writer::loose_modes(bundle, &settings.out_dir, actions);
            for (path, mode, want) in loose {
                println!(
                    "warning: kept {path} has mode {mode:04o}: others may read or change it; \
                     --force sets it to {want:04o} (or chmod {want:o} it)"
                );
            }
        }
        for path in differing {
            println!(
                "note: kept {path} differs from what these settings render (edited by hand, or other flags); --force rewrites it"
            );
        }
    }
    Ok(())
}

/// The pipeline for these flags (see [`pipeline::generate`]).
pub fn generate(args: &GenerateArgs, fixtures: bool) -> Result<Outcome> {
    pipeline::generate(&args.request(), &args.run_options(), fixtures)
}
