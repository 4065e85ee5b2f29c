//! The generate pipeline, written once for the CLI (`commands::generate`) and the
//! library (`api::Setup`), in the one-way order of ARCHITECTURE.md: a request becomes
//! settings, settings a PKI, both a bundle in memory, and the writer writes it.
//!
//! It stands between the layers it wires and the commands that call it (ARCHITECTURE.md:
//! it may use every layer above it, and nothing in it is a CLI type). A folder in the
//! middle of a CA rollover is refused with the rollover state's own check
//! (`readback::rollover`), the one renew uses.

use crate::config::request::{Request, RunOptions};
use crate::config::settings::Settings;
use crate::error::{Error, Result};
use crate::output::lock::FolderLock;
use crate::output::writer::{self, Action};
use crate::pki;
use crate::pki::secrets;
use crate::printable;
use crate::readback::existing::Existing;
use crate::render;
use crate::render::bundle::{Bundle, Kind};
use crate::render::escape::sh_word;

/// The profile `fixtures` uses when the request names none.
pub(crate) const FIXTURES_PROFILE: &str = "production-tls";

/// The result of a run, for callers that want more than the printed report.
pub(crate) struct Outcome {
    pub(crate) settings: Settings,
    pub(crate) run: RunOptions,
    pub(crate) bundle: Bundle,
    pub(crate) actions: Vec<Action>,
    /// Kept rendered files whose contents differ from what this run rendered.
    pub(crate) differing: Vec<String>,
    /// Taking the folder's lock finished a killed run's files: the note to print.
    pub(crate) finished_note: Option<String>,
}

/// Resolve, build, and write (or only plan, with `--dry-run`); with `fixtures`, also the
/// deliberately broken certificates of `fixtures/` (production-tls unless told otherwise).
pub(crate) fn generate(req: &Request, run: &RunOptions, fixtures: bool) -> Result<Outcome> {
    let settings = resolve(req, run, fixtures)?;
    crate::timings::stage("settings resolved");
    refuse_stale_kubernetes(&settings, run)?;
    // One run at a time in a folder, from before it is read until it is written; taking
    // the lock also finishes what a killed run left. A dry run writes nothing.
    let lock = if run.dry_run {
        None
    } else {
        Some(FolderLock::acquire(&settings.out_dir)?)
    };
    crate::timings::stage("folder locked");
    if run.replace_ca && !fixtures && settings.out_dir.join(crate::render::fixtures::DIR).exists() {
        return Err(Error::usage(format!(
            "--replace-ca: {}/fixtures holds certificates of the old CA; allowed: `kimera-redis-init \
             fixtures --force --replace-ca` with the same flags, which issues them again too",
            settings.out_dir.display()
        )));
    }
    let existing = Existing::read(&settings)?;
    crate::timings::stage("folder read");
    if !run.force {
        refuse_kept_differences(req, &settings, &existing)?;
    }
    let mut bundle = build(&settings, run, &existing, fixtures)?;
    let policy = writer::Policy {
        force: run.force,
        replace_ca: run.replace_ca,
    };
    let mut planned = writer::plan(&bundle, &settings.out_dir, policy)?;
    let differing = check_kept_match(&mut bundle, &settings, &mut planned)?;
    crate::timings::stage("planned");
    let actions = match &lock {
        None => planned,
        Some(lock) => writer::write(&bundle, &settings.out_dir, policy, lock)?,
    };
    let finished_note = lock
        .as_ref()
        .and_then(|l| l.finished_note(&settings.out_dir));
    drop(lock);
    crate::timings::stage("lock let go");
    Ok(Outcome {
        settings,
        run: *run,
        bundle,
        actions,
        differing,
        finished_note,
    })
}

/// A re-run asking for what a kept certificate lacks (a new `--san`, a `--key-type`)
/// would keep the old certificate and exit 0 with the request ignored: refused instead,
/// naming each difference and the command that issues them again (the request with
/// `--force`, so from the command line and the library alike).
fn refuse_kept_differences(req: &Request, settings: &Settings, existing: &Existing) -> Result<()> {
    let lines = pki::kept_differences(settings, existing);
    if lines.is_empty() {
        return Ok(());
    }
    let mut args = crate::config::replay::args(req, req.profile_file.is_none());
    args.push("--force".to_owned());
    let words: Vec<String> = args.iter().map(|a| sh_word(a)).collect();
    Err(Error::usage(format!(
        "kept certificates do not have what this run asks for: {}; nothing was written; \
         allowed: the flags of the first run, or issue them again (the CA is kept) with: {}",
        lines.join("; "),
        printable::text(&words.join(" "))
    )))
}

/// `--force` rewrites the certificates; manifests under `kubernetes/` that this run does
/// not render (no `--kubernetes`) would keep the old ones in their Secrets, and
/// `kubectl apply -k` would deploy those.
fn refuse_stale_kubernetes(settings: &Settings, run: &RunOptions) -> Result<()> {
    let manifests = settings.out_dir.join(crate::render::kubernetes::DIR);
    if run.force && settings.kubernetes.is_none() && manifests.is_dir() {
        return Err(Error::usage(format!(
            "--force: {} holds Kubernetes manifests with the certificates this run replaces; \
             allowed: --force with --kubernetes (and the options of the first run), or move \
             {} away first",
            manifests.display(),
            manifests.display()
        )));
    }
    Ok(())
}

/// The request's settings, refused where a run cannot start: in a folder halfway through
/// a CA rollover, or fixtures for a profile without certificates.
fn resolve(req: &Request, run: &RunOptions, fixtures: bool) -> Result<Settings> {
    let settings = if fixtures && req.profile.is_none() && req.profile_file.is_none() {
        let req = Request {
            profile: Some(FIXTURES_PROFILE.to_owned()),
            ..req.clone()
        };
        Settings::resolve(&req, run)?
    } else {
        Settings::resolve(req, run)?
    };
    crate::readback::rollover::refuse_mid_rollover(&settings.out_dir, "--out")?;
    if fixtures && !settings.tls {
        return Err(Error::usage(format!(
            "--profile {}: fixtures are certificates and this profile has no TLS; allowed: \
             production-tls, or cluster/high-performance with --tls",
            settings.profile
        )));
    }
    Ok(settings)
}

/// Everything the settings produce, in memory: secrets, the PKI and the rendered files
/// (Kubernetes manifests among them when asked for), the PKCS#12 stores, and the
/// fixtures.
pub(crate) fn build(
    settings: &Settings,
    run: &RunOptions,
    existing: &Existing,
    fixtures: bool,
) -> Result<Bundle> {
    let secrets = secrets::resolve(settings, run, existing)?;
    let pki = if settings.tls {
        Some(pki::build(settings, run, existing, fixtures)?)
    } else {
        None
    };
    crate::timings::stage("keys and certificates made");
    let mut bundle = render::render(settings, pki.as_ref(), secrets.as_ref())?;
    crate::timings::stage("files rendered");
    if let Some(pki) = &pki {
        // Once a folder has stores, every run keeps them in step with the PEM files.
        let on_disk = crate::render::stores::OnDisk::read(&settings.out_dir)?;
        if settings.pkcs12 || on_disk.present() {
            crate::render::stores::add(&mut bundle, &on_disk, &pki.client, &pki.ca.cert_pem)?;
        }
    }
    if let (true, Some(pki)) = (fixtures, &pki) {
        crate::render::fixtures::add(settings, pki, &mut bundle)?;
    }
    Ok(bundle)
}

/// Kept rendered files that differ from this run's; refused when the run would also add
/// files, since new files made from these settings next to kept ones made from others
/// would be a setup that does not work together.
fn check_kept_match(
    bundle: &mut Bundle,
    settings: &Settings,
    planned: &mut Vec<Action>,
) -> Result<Vec<String>> {
    let differing = writer::kept_but_different(bundle, &settings.out_dir, planned);
    keep_record_only_where_it_describes(bundle, planned, &differing);
    let creates_files = bundle
        .entries
        .iter()
        .zip(planned.iter())
        .any(|(e, a)| *a == Action::Create && e.kind != Kind::Dir);
    if creates_files && !differing.is_empty() {
        return Err(Error::failed(format!(
            "{} in {} differ(s) from what these settings produce (other flags, or edited by \
             hand), and the files this run would add would not match them; run with the flags \
             of the first run, or with --force to rewrite them all (the CA is kept)",
            differing.join(", "),
            settings.out_dir.display()
        )));
    }
    Ok(differing)
}

/// A record is added to a folder only when it describes it: a folder without one, run
/// again with flags its kept files were not made with (`differing`), gets none from this
/// run (so the run adds no file next to them and is not refused for it); a run whose
/// files match, or `--force`, adds it. `planned` is the writer's plan for `bundle`.
fn keep_record_only_where_it_describes(
    bundle: &mut Bundle,
    planned: &mut Vec<Action>,
    differing: &[String],
) {
    if differing.is_empty() {
        return;
    }
    if let Some(i) = bundle
        .entries
        .iter()
        .position(|e| e.path == crate::config::layout::RECORD)
        && planned[i] == Action::Create
    {
        bundle.entries.remove(i);
        planned.remove(i);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixtures_settings(req: Request) -> Settings {
        let req = Request {
            out: Some(std::path::PathBuf::from(
                "/nonexistent/kimera-pipeline-test",
            )),
            ..req
        };
        resolve(&req, &RunOptions::default(), true).expect("resolves")
    }

    #[test]
    fn fixtures_default_to_production_tls_but_take_a_profile_file() {
        assert_eq!(
            fixtures_settings(Request::default()).profile,
            "production-tls"
        );
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("staging.toml");
        std::fs::write(
            &file,
            "base = \"production-tls\"\nhost = \"staging.example\"\n",
        )
        .unwrap();
        let settings = fixtures_settings(Request {
            profile_file: Some(file),
            ..Request::default()
        });
        assert_eq!(settings.host(), "staging.example");
    }
}
