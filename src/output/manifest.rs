//! What a run reports: a human summary, or with `--json` a manifest any harness can read.
//! Never a secret: contents are not part of either.

use serde::Serialize;

use crate::certificate::CertInfo;
use crate::config::request::RunOptions;
use crate::config::settings::Settings;
use crate::output::writer::Action;
use crate::render::bundle::{Bundle, Kind};

#[derive(Serialize)]
pub(crate) struct Manifest<'a> {
    pub(crate) profile: &'a str,
    pub(crate) out_dir: String,
    pub(crate) dry_run: bool,
    pub(crate) files: Vec<FileReport<'a>>,
}

#[derive(Serialize)]
pub(crate) struct FileReport<'a> {
    pub(crate) path: &'a str,
    pub(crate) kind: Kind,
    /// Octal, as `ls -l` users read it: "0600".
    pub(crate) mode: String,
    pub(crate) action: Action,
    pub(crate) purpose: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) certificate: Option<&'a CertInfo>,
}

pub(crate) fn manifest<'a>(
    settings: &'a Settings,
    run: &RunOptions,
    bundle: &'a Bundle,
    actions: &[Action],
) -> Manifest<'a> {
    Manifest {
        profile: &settings.profile,
        out_dir: settings.out_dir.display().to_string(),
        dry_run: run.dry_run,
        files: bundle
            .entries
            .iter()
            .zip(actions)
            .map(|(e, a)| FileReport {
                path: &e.path,
                kind: e.kind,
                mode: format!("{:04o}", crate::output::writer::mode_shown(settings, e, *a)),
                action: *a,
                purpose: e.purpose,
                certificate: e.cert.as_deref(),
            })
            .collect(),
    }
}

/// The plain-text report: one line per file, then how to start the server.
pub(crate) fn human(
    settings: &Settings,
    run: &RunOptions,
    bundle: &Bundle,
    actions: &[Action],
) -> String {
    let mut out = String::new();
    let verb = |a: Action| match (run.dry_run, a) {
        (false, Action::Create) => "created",
        (false, Action::Replace) => "replaced",
        (false, Action::Keep) => "kept",
        (true, Action::Create) => "would create",
        (true, Action::Replace) => "would replace",
        (true, Action::Keep) => "would keep",
    };
    out.push_str(&format!(
        "{} {} in {}\n",
        if run.dry_run { "Plan for" } else { "Profile" },
        settings.profile,
        settings.out_dir.display()
    ));
    let mut kept_files = 0;
    for (e, a) in bundle.entries.iter().zip(actions) {
        if e.kind == Kind::Dir {
            continue;
        }
        let why = match (a, e.kind) {
            (Action::Keep, Kind::CaKey | Kind::CaCertificate) => {
                " (reused: only --force --replace-ca makes a new CA)"
            }
            (Action::Keep, Kind::Store) => " (up to date with the PEM files)",
            (Action::Keep, _) => {
                kept_files += 1;
                " (exists; --force rewrites it)"
            }
            _ => "",
        };
        out.push_str(&format!(
            "  {:<13} {:<24} {:04o}  {}{}\n",
            verb(*a),
            e.path,
            crate::output::writer::mode_shown(settings, e, *a),
            e.purpose,
            why
        ));
        if let (Some(c), false) = (&e.cert, *a == Action::Keep) {
            out.push_str(&format!(
                "  {:<13} {:<24}       expires {}\n",
                "",
                "",
                c.not_after.date()
            ));
        }
    }
    if kept_files > 0 && !run.force {
        out.push_str(&format!(
            "{kept_files} existing file(s) kept as they were; run with --force to rewrite them (the CA stays).\n"
        ));
    }
    if !run.dry_run {
        out.push_str(&next_steps(settings));
    }
    out
}

/// What to run next, pasteable: start the server (or the nodes and the cluster), the
/// containers, the app's settings and the metrics exporter.
fn next_steps(settings: &Settings) -> String {
    let mut out = String::new();
    // Shell-quoted, so a pasted line works for any folder name (spaces, `$`, quotes).
    let dir = settings.out_dir.display().to_string();
    let q = |rel: &str| crate::render::escape::sh_word(&format!("{dir}{rel}"));
    if settings.is_cluster() {
        out.push_str(&format!(
            "\nStart the nodes:   for n in {}/nodes/*/redis.conf; do {} \"$n\" & done\n\
             Form the cluster:  {}\n\
             Or in containers:  cd {} && docker-compose up -d\n\
             The KIMERA app reads {}\n",
            q(""),
            settings.target.server_program(),
            q("/cluster-create.sh"),
            q(""),
            q("/.env"),
        ));
    } else {
        out.push_str(&format!(
            "\nStart the server:  {} {}\n\
             Or in a container: cd {} && docker-compose up -d\n\
             The KIMERA app reads {}\n",
            settings.target.server_program(),
            q("/redis.conf"),
            q(""),
            q("/.env"),
        ));
    }
    if settings.metrics.is_some() {
        // The exporter reads its own variable names from the environment.
        let line = if settings.is_cluster() {
            format!(
                "for e in {}/nodes/*/metrics.env; do (set -a; . \"$e\"; exec prometheus-redis-exporter) & done",
                q("")
            )
        } else {
            format!(
                "(set -a; . {}; exec prometheus-redis-exporter)",
                q("/metrics.env")
            )
        };
        out.push_str(&format!("Start the metrics: {line}\n"));
    }
    out
}
