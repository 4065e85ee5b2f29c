//! `kimera-redis-init --profile NAME` (also `generate`): the main job, in the one-way
//! order of design.md: settings, PKI, bundle, writer.

use rand::distr::{Alphanumeric, SampleString};

use crate::bundle::Bundle;
use crate::cli::GenerateArgs;
use crate::error::{Error, Result};
use crate::existing::Existing;
use crate::layout;
use crate::manifest;
use crate::pki;
use crate::render;
use crate::settings::Settings;
use crate::writer::{self, Action};

/// The result of a run, for callers that want more than the printed report.
pub struct Outcome {
    pub settings: Settings,
    pub bundle: Bundle,
    pub actions: Vec<Action>,
}

pub fn run(args: &GenerateArgs) -> Result<()> {
    let outcome = generate(args)?;
    let Outcome {
        settings,
        bundle,
        actions,
    } = &outcome;
    if settings.json {
        let m = manifest::manifest(settings, bundle, actions);
        println!(
            "{}",
            serde_json::to_string_pretty(&m).expect("manifest serializes")
        );
    } else {
        print!("{}", manifest::human(settings, bundle, actions));
    }
    Ok(())
}

/// Resolve, build, and write (or only plan, with `--dry-run`).
pub fn generate(args: &GenerateArgs) -> Result<Outcome> {
    let settings = Settings::resolve(args)?;
    let existing = Existing::read(&settings.out_dir)?;
    let password = if settings.username.is_some() {
        Some(password(&settings, &existing)?)
    } else {
        None
    };
    let pki = if settings.tls {
        Some(pki::build(&settings, &existing)?)
    } else {
        None
    };
    let bundle = render::render(&settings, pki.as_ref(), password.as_deref())?;
    let actions = if settings.dry_run {
        writer::plan(&bundle, &settings.out_dir, settings.force)?
    } else {
        writer::write(&bundle, &settings.out_dir, settings.force)?
    };
    Ok(Outcome {
        settings,
        bundle,
        actions,
    })
}

/// The app user's password: the one the existing `.env` (or `redis.properties`) holds, so that a re-run keeps
/// a working app working; otherwise 32 alphanumerics from the OS CSPRNG, which need no
/// quoting in any file format.
fn password(settings: &Settings, existing: &Existing) -> Result<String> {
    if let Some(p) = &existing.password {
        return Ok(p.clone());
    }
    let holders = [layout::ENV, layout::ACL, layout::PROPERTIES];
    let kept: Vec<&str> = holders
        .into_iter()
        .filter(|rel| settings.out_dir.join(rel).exists())
        .collect();
    if !settings.force && !kept.is_empty() {
        return Err(Error::failed(format!(
            "{} exist(s) in {} but neither .env nor redis.properties holds a password to reuse: a new password would not \
             match the kept files; run with --force to write the new password to all of them",
            kept.join(", "),
            settings.out_dir.display()
        )));
    }
    Ok(Alphanumeric.sample_string(&mut rand::rng(), 32))
}
