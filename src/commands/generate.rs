//! `kimera-redis-init --profile NAME` (also `generate`): the main job, in the one-way
//! order of design.md: settings, PKI, bundle, writer.

use crate::bundle::Bundle;
use crate::cli::GenerateArgs;
use crate::error::{Error, Result};
use crate::existing::Existing;
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
}

pub fn run(args: &GenerateArgs, fixtures: bool) -> Result<()> {
    let outcome = generate(args, fixtures)?;
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

/// Resolve, build, and write (or only plan, with `--dry-run`); with `fixtures`, also the
/// deliberately broken certificates of `fixtures/` (production-tls unless told otherwise).
pub fn generate(args: &GenerateArgs, fixtures: bool) -> Result<Outcome> {
    let mut args = args.clone();
    if fixtures && args.profile.is_none() {
        args.profile = Some("production-tls".into());
    }
    let settings = Settings::resolve(&args)?;
    if fixtures && !settings.tls {
        return Err(Error::usage(format!(
            "--profile {}: fixtures are certificates and this profile has no TLS; allowed: \
             production-tls, or cluster/high-performance with --tls",
            settings.profile
        )));
    }
    let existing = Existing::read(&settings)?;
    let secrets = secrets::resolve(&settings, &existing)?;
    let pki = if settings.tls {
        Some(pki::build(&settings, &existing)?)
    } else {
        None
    };
    let mut bundle = render::render(&settings, pki.as_ref(), secrets.as_ref())?;
    if let (true, Some(pki)) = (fixtures, &pki) {
        crate::fixtures::add(&settings, pki, &mut bundle)?;
    }
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
