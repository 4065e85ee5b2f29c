//! `kimera-redis-init --profile NAME` (also `generate`): the main job, in the one-way
//! order of design.md: settings, PKI, bundle, writer.

use crate::bundle::Bundle;
use crate::cli::GenerateArgs;
use crate::error::Result;
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
    let existing = Existing::read(&settings)?;
    let secrets = secrets::resolve(&settings, &existing)?;
    let pki = if settings.tls {
        Some(pki::build(&settings, &existing)?)
    } else {
        None
    };
    let bundle = render::render(&settings, pki.as_ref(), secrets.as_ref())?;
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
