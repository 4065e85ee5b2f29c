//! `kimera-redis-init --profile NAME` (also `generate`): the main job, in the one-way
//! order of design.md: settings, PKI, bundle, writer.

use crate::bundle::Bundle;
use crate::cli::GenerateArgs;
use crate::error::{Error, Result};
use crate::existing::Existing;
use crate::lock::FolderLock;
use crate::manifest;
use crate::pki;
use crate::render;
use crate::secrets;
use crate::settings::Settings;
use crate::writer::{self, Action};

/// The result of a run, for callers that want more than the printed report.
pub struct Outcome {
    pub settings: Settings,
    pub bundle: Bundle,
    pub actions: Vec<Action>,
    /// Kept rendered files whose contents differ from what this run rendered.
    pub differing: Vec<String>,
}

pub fn run(args: &GenerateArgs, fixtures: bool) -> Result<()> {
    let outcome = generate(args, fixtures)?;
    let Outcome {
        settings,
        bundle,
        actions,
        differing,
    } = &outcome;
    if settings.json {
        let m = manifest::manifest(settings, bundle, actions);
        println!(
            "{}",
            serde_json::to_string_pretty(&m).expect("manifest serializes")
        );
    } else {
        print!("{}", manifest::human(settings, bundle, actions));
        if settings.tls && settings.key_type == crate::cli::KeyType::Ed25519 {
            println!(
                "note: Ed25519 keys: Netty, and so Lettuce's PEM path, cannot read the PEM key \
                 (\"Neither RSA, DSA nor EC worked\"); Java clients should use the PKCS#12 \
                 stores (--pkcs12: certs/redis-client.p12, certs/truststore.p12)"
            );
        }
        if !settings.force && !settings.dry_run {
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

/// Resolve, build, and write (or only plan, with `--dry-run`); with `fixtures`, also the
/// deliberately broken certificates of `fixtures/` (production-tls unless told otherwise).
pub fn generate(args: &GenerateArgs, fixtures: bool) -> Result<Outcome> {
    let mut args = args.clone();
    if fixtures && args.profile.is_none() {
        args.profile = Some("production-tls".into());
    }
    let settings = Settings::resolve(&args)?;
    crate::commands::renew::refuse_mid_rollover(&settings.out_dir, "--out")?;
    if fixtures && !settings.tls {
        return Err(Error::usage(format!(
            "--profile {}: fixtures are certificates and this profile has no TLS; allowed: \
             production-tls, or cluster/high-performance with --tls",
            settings.profile
        )));
    }
    // One run at a time in a folder, from before it is read until it is written; taking
    // the lock also finishes what a killed run left. A dry run writes nothing.
    let lock = if settings.dry_run {
        None
    } else {
        Some(FolderLock::acquire(&settings.out_dir)?)
    };
    if settings.replace_ca && !fixtures && settings.out_dir.join(crate::fixtures::DIR).exists() {
        return Err(Error::usage(format!(
            "--replace-ca: {}/fixtures holds certificates of the old CA; allowed: `kimera-redis-init \
             fixtures --force --replace-ca` with the same flags, which issues them again too",
            settings.out_dir.display()
        )));
    }
    let existing = Existing::read(&settings)?;
    let secrets = secrets::resolve(&settings, &existing)?;
    let pki = if settings.tls {
        Some(pki::build(&settings, &existing, fixtures)?)
    } else {
        None
    };
    let mut bundle = render::render(&settings, pki.as_ref(), secrets.as_ref())?;
    if let Some(pki) = &pki {
        // Once a folder has stores, every run keeps them in step with the PEM files.
        let on_disk = crate::stores::OnDisk::read(&settings.out_dir);
        if settings.pkcs12 || on_disk.present() {
            crate::stores::add(&mut bundle, &on_disk, &pki.client, &pki.ca.cert_pem)?;
        }
    }
    crate::kubernetes::add(&settings, pki.as_ref(), secrets.as_ref(), &mut bundle)?;
    if let (true, Some(pki)) = (fixtures, &pki) {
        crate::fixtures::add(&settings, pki, &mut bundle)?;
    }
    let policy = writer::Policy {
        force: settings.force,
        replace_ca: settings.replace_ca,
    };
    let mut planned = writer::plan(&bundle, &settings.out_dir, policy)?;
    let differing = writer::kept_but_different(&bundle, &settings.out_dir, &planned);
    crate::record::drop_if_it_would_not_describe(
        &mut bundle,
        &mut planned,
        Action::Create,
        &differing,
    );
    let creates_files = bundle
        .entries
        .iter()
        .zip(&planned)
        .any(|(e, a)| *a == Action::Create && e.kind != crate::bundle::Kind::Dir);
    if creates_files && !differing.is_empty() {
        // New files rendered from these settings would sit next to kept ones made from
        // others: a setup that does not work together.
        return Err(Error::failed(format!(
            "{} in {} differ(s) from what these settings produce (other flags, or edited by \
             hand), and the files this run would add would not match them; run with the flags \
             of the first run, or with --force to rewrite them all (the CA is kept)",
            differing.join(", "),
            settings.out_dir.display()
        )));
    }
    let actions = match &lock {
        None => planned,
        Some(lock) => writer::write(&bundle, &settings.out_dir, policy, lock)?,
    };
    drop(lock);
    Ok(Outcome {
        settings,
        bundle,
        actions,
        differing,
    })
}
