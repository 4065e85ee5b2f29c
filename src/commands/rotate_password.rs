//! `kimera-redis-init rotate-password DIR --step add|drop-old [--user NAME…] [--apply]`:
//! new passwords with no outage, additively. `add` gives each rotated user a new
//! password that every file holding one carries (`.env`, admin.env, redis.properties,
//! the node configs' `masterauth`, the exporters' metrics.env, the Kubernetes Secrets),
//! while users.acl keeps the old
//! password's hash beside the new one; `drop-old` removes the old hashes once nothing
//! depends on them. Between the steps `password-rotation/state.toml` holds the old hashes
//! (regeneration, and so verify, writes users.acl with both), so either step can run
//! again after a crash.
//!
//! Files are made by generate's own render, with the passwords swapped, and written by
//! the one writer. With `--apply` the running servers change live (`apply.rs`).

use std::collections::BTreeMap;

use crate::cli::RotatePasswordArgs;
use crate::commands::stdout::outln;
use crate::config::acl::{ADMIN_USER, METRICS_USER, REPLICA_USER};
use crate::config::layout;
use crate::config::request::RunOptions;
use crate::config::settings::Settings;
use crate::digest::sha256_hex;
use crate::error::{Error, Result};
use crate::output::lock::FolderLock;
use crate::output::writer;
use crate::pki::secrets::{Previous, Secrets};
use crate::readback::existing::Existing;
use crate::readback::folder::Folder;
use crate::readback::passwords::{PasswordStep, Rotation};
use crate::render::bundle::{Bundle, Kind};

mod apply;

/// One user's rotation: its name, the password every file gets, and the old one's hash.
pub(crate) struct Change {
    pub(crate) user: String,
    pub(crate) new: String,
    pub(crate) old_sha256: String,
    /// The replication user: replicas authenticate with it (`masterauth`).
    pub(crate) replica: bool,
}

impl std::fmt::Debug for Change {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Change")
            .field("user", &self.user)
            .field("new", &crate::redact::Redacted)
            .finish()
    }
}

pub(crate) fn run(args: &RotatePasswordArgs) -> Result<()> {
    let (lock, folder) = super::folder_under_lock(&args.dir)?;
    let settings = known_settings(&folder)?;
    let users = chosen(&args.users, &rotatable(&settings, &folder.dir)?)?;
    let existing = Existing::read(&settings)?;
    let current = crate::pki::secrets::resolve(&settings, &RunOptions::default(), &existing)?
        .ok_or_else(|| Error::failed("the folder's passwords cannot be read"))?;
    let step = Step {
        args,
        folder: &folder,
        settings: &settings,
        existing: &existing,
        state: crate::readback::passwords::state_at(&folder.dir)?,
        lock: &lock,
    };
    match args.step {
        PasswordStep::Add => step.add(current, &users),
        PasswordStep::DropOld => step.drop_old(current, &users),
    }
}

/// The settings the folder was made with (its record, or what its files name), which
/// the rotated files are rendered from.
fn known_settings(folder: &Folder) -> Result<Settings> {
    crate::commands::verify::regenerated::folder_settings(folder).ok_or_else(|| {
        Error::usage(format!(
            "{}: the folder's settings cannot be known (no record verify believes, and its \
             files name no profile); allowed: a folder verify can judge (`kimera-redis-init \
             verify {}`)",
            shown(&folder.dir),
            shown(&folder.dir)
        ))
    })
}

/// Every user of the setup that has a password: the app's, the admin, and the
/// replication and metrics users where the setup has them.
fn rotatable(settings: &Settings, dir: &std::path::Path) -> Result<Vec<String>> {
    let Some(app_user) = settings.username.clone() else {
        return Err(Error::usage(format!(
            "{}: its profile has no passwords to rotate (no ACL users); allowed: a folder \
             generated with a profile that authenticates",
            shown(dir)
        )));
    };
    let mut all = vec![app_user, ADMIN_USER.to_owned()];
    if settings.is_cluster() {
        all.push(REPLICA_USER.to_owned());
    }
    if settings.metrics.is_some() {
        all.push(METRICS_USER.to_owned());
    }
    Ok(all)
}

/// One step of a rotation over a folder held under its lock.
struct Step<'a> {
    args: &'a RotatePasswordArgs,
    folder: &'a Folder,
    settings: &'a Settings,
    existing: &'a Existing,
    /// The rotation in progress, if one is.
    state: Option<Rotation>,
    lock: &'a FolderLock,
}

impl Step<'_> {
    fn timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.args.timeout)
    }

    /// Step add: new passwords (or the ones a rotation in progress already has), loaded
    /// into the servers first with `--apply`, then written with users.acl keeping the old
    /// hashes beside them.
    fn add(self, current: Secrets, users: &[String]) -> Result<()> {
        let (args, folder, dir) = (self.args, self.folder, &self.args.dir);
        let (secrets, rotation, fresh) = match self.state {
            Some(ref state) => {
                same_users(state, users, args.users.is_empty(), "add", dir)?;
                (current, state.clone(), false)
            }
            None => {
                let (secrets, rotation) = add_passwords(self.settings, current, users);
                (secrets, rotation, true)
            }
        };
        let changes = changes(self.settings, &secrets, &rotation);
        let plan = if args.apply {
            let plan = apply::prepare(
                folder,
                self.timeout(),
                rotation.old_admin_password.as_deref(),
            )?;
            apply::precheck(folder, &plan, &changes)?;
            // The servers learn the new passwords before any file names them, so a
            // client that reads .env anew is accepted whichever it reads.
            apply::add_live(folder, &plan, &changes)?;
            Some(plan)
        } else {
            None
        };
        let mut bundle = password_files(folder, self.settings, self.existing, &secrets)?;
        bundle.dir(
            layout::PASSWORD_ROTATION_DIR,
            "the password rotation's folder",
        );
        bundle.file(
            layout::PASSWORD_ROTATION,
            Kind::Secret,
            rotation.render(),
            "the password rotation's state: the old passwords' hashes",
        );
        write(folder, &bundle, self.lock)?;
        outln!(
            "step add: {} for {}; users.acl accepts the old and the new password until \
             drop-old. Written: {}",
            if fresh {
                "new passwords"
            } else {
                "the new passwords again"
            },
            names(&changes),
            written(&bundle)
        );
        match plan {
            Some(plan) => apply::add_finish(folder, &plan, &changes)?,
            None => outln!(
                "The running servers do not know the new passwords yet: load them with \
                 `kimera-redis-init rotate-password {} --step add --apply` (or restart \
                 each server) before clients reconnect with the new .env.",
                shown(dir)
            ),
        }
        outln!(
            "next: once every client uses the new passwords (the app reads .env when it \
             connects), run `kimera-redis-init rotate-password {} --step drop-old --apply`",
            shown(dir)
        );
        Ok(())
    }

    /// Step drop-old: refused while anything still depends on an old password; the old
    /// hashes dropped live with `--apply`, then users.acl written with the new ones alone.
    fn drop_old(self, current: Secrets, users: &[String]) -> Result<()> {
        let (args, folder, dir) = (self.args, self.folder, &self.args.dir);
        let Some(state) = &self.state else {
            return Err(Error::usage(format!(
                "--step drop-old: no password rotation is in progress in {} (no {}); \
                 allowed: --step add first",
                shown(dir),
                layout::PASSWORD_ROTATION
            )));
        };
        same_users(state, users, args.users.is_empty(), "drop-old", dir)?;
        let changes = changes(self.settings, &current, state);
        // Nothing may still depend on an old password: every server that answers must
        // accept the new ones, and every replica authenticate with the new one.
        let plan = if folder.tls() {
            let plan = apply::prepare(folder, self.timeout(), None)?;
            apply::ready_to_drop(folder, &plan, &changes, args.apply)?;
            Some(plan)
        } else if args.apply {
            return Err(no_tls(dir));
        } else {
            None
        };
        if args.apply
            && let Some(plan) = &plan
        {
            apply::drop_live(folder, plan, &changes)?;
        }
        let mut secrets = current;
        secrets.previous = Previous::default();
        let bundle = password_files(folder, self.settings, self.existing, &secrets)?;
        write(folder, &bundle, self.lock)?;
        writer::remove(&folder.dir, &[layout::PASSWORD_ROTATION], self.lock)?;
        outln!(
            "step drop-old: users.acl holds the new password alone for {}. Written: {}",
            names(&changes),
            written(&bundle)
        );
        match (args.apply, plan) {
            (true, Some(plan)) => apply::drop_finish(folder, &plan, &changes)?,
            _ => outln!(
                "Running servers still accept the old passwords until each is restarted \
                 (it then reads users.acl, which holds the new ones alone); with \
                 `--apply` they drop them live."
            ),
        }
        Ok(())
    }
}

/// `--user` as given, checked against the folder's users; none given: all of them.
fn chosen(given: &[String], all: &[String]) -> Result<Vec<String>> {
    if given.is_empty() {
        return Ok(all.to_vec());
    }
    let mut out: Vec<String> = Vec::new();
    for name in given {
        if !all.contains(name) {
            return Err(Error::usage(format!(
                "--user {}: not a user of this folder; allowed: {}",
                crate::printable::text(name),
                all.join(", ")
            )));
        }
        if !out.contains(name) {
            out.push(name.clone());
        }
    }
    Ok(out)
}

/// A step run again must rotate the users the rotation in progress rotates.
fn same_users(
    state: &Rotation,
    users: &[String],
    defaulted: bool,
    step: &str,
    dir: &std::path::Path,
) -> Result<()> {
    let mut want: Vec<&String> = state.old.keys().collect();
    let mut have: Vec<&String> = users.iter().collect();
    want.sort();
    have.sort();
    if defaulted || want == have {
        return Ok(());
    }
    Err(Error::usage(format!(
        "--user: a rotation of {} is in progress in {}; allowed: --step {step} with those \
         users (or no --user), and a rotation of others after drop-old",
        want.iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        shown(dir)
    )))
}

/// New passwords for `users`, and the rotation's state holding the old ones' hashes.
fn add_passwords(settings: &Settings, current: Secrets, users: &[String]) -> (Secrets, Rotation) {
    let mut secrets = current.clone();
    let mut old = BTreeMap::new();
    let fresh = || crate::pki::random::alphanumeric(32);
    let mut old_admin_password = None;
    for user in users {
        if Some(user) == settings.username.as_ref() {
            old.insert(user.clone(), sha256_hex(&current.app));
            secrets.app = fresh();
        } else if user == ADMIN_USER {
            old.insert(user.clone(), sha256_hex(&current.admin));
            old_admin_password = Some(current.admin.clone());
            secrets.admin = fresh();
        } else if user == REPLICA_USER
            && let Some(replica) = &current.replica
        {
            old.insert(user.clone(), sha256_hex(replica));
            secrets.replica = Some(fresh());
        } else if user == METRICS_USER
            && let Some(metrics) = &current.metrics
        {
            old.insert(user.clone(), sha256_hex(metrics));
            secrets.metrics = Some(fresh());
        }
    }
    let rotation = Rotation {
        step: PasswordStep::Add,
        old,
        old_admin_password,
    };
    secrets.previous = Previous::from_rotation(settings, Some(&rotation));
    (secrets, rotation)
}

/// Each rotated user with its new password (as `secrets` has it) and its old hash.
fn changes(settings: &Settings, secrets: &Secrets, rotation: &Rotation) -> Vec<Change> {
    rotation
        .old
        .iter()
        .filter_map(|(user, old)| {
            let new = if Some(user) == settings.username.as_ref() {
                secrets.app.clone()
            } else if user == ADMIN_USER {
                secrets.admin.clone()
            } else if user == REPLICA_USER {
                secrets.replica.clone()?
            } else if user == METRICS_USER {
                secrets.metrics.clone()?
            } else {
                return None;
            };
            Some(Change {
                user: user.clone(),
                new,
                old_sha256: old.clone(),
                replica: user == REPLICA_USER,
            })
        })
        .collect()
}

/// Every file that holds a password, rendered by generate's own pipeline with
/// `secrets`: the app's and the admin's settings, users.acl, a cluster's node configs
/// (`masterauth`), the exporters' metrics.env and, for a folder with manifests, the
/// Kubernetes Secrets.
fn password_files(
    folder: &Folder,
    settings: &Settings,
    existing: &Existing,
    secrets: &Secrets,
) -> Result<Bundle> {
    let pki = settings
        .tls
        .then(|| crate::pki::as_found(settings, existing, &folder.pinned_cas()));
    let all = crate::render::render(settings, pki.as_ref(), Some(secrets))?;
    let manifests = folder.dir.join(crate::render::kubernetes::DIR).is_dir();
    let mut holders = vec![
        layout::ENV.to_owned(),
        layout::ADMIN_ENV.to_owned(),
        layout::PROPERTIES.to_owned(),
        layout::ACL.to_owned(),
    ];
    if settings.is_cluster() {
        holders.extend(settings.nodes.iter().map(|n| n.conf.clone()));
    }
    if settings.metrics.is_some() {
        holders.extend(crate::pki::secrets::metrics_envs(settings));
    }
    if manifests {
        let mut secrets = vec!["secret-auth.yaml", "secret-app.yaml"];
        if settings.metrics.is_some() {
            secrets.push("secret-metrics.yaml");
        }
        for f in secrets {
            holders.push(format!("{}/{f}", crate::render::kubernetes::DIR));
        }
    }
    Ok(Bundle {
        entries: all
            .entries
            .into_iter()
            .filter(|e| holders.contains(&e.path))
            .collect(),
    })
}

fn write(folder: &Folder, bundle: &Bundle, lock: &FolderLock) -> Result<()> {
    writer::write(
        bundle,
        &folder.dir,
        writer::Policy {
            force: true,
            replace_ca: false,
        },
        lock,
    )
    .map(drop)
}

fn names(changes: &[Change]) -> String {
    changes
        .iter()
        .map(|c| c.user.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn written(bundle: &Bundle) -> String {
    bundle
        .entries
        .iter()
        .filter(|e| e.kind != Kind::Dir && e.path != layout::PASSWORD_ROTATION)
        .map(|e| e.path.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn no_tls(dir: &std::path::Path) -> Error {
    Error::usage(format!(
        "--apply: {} serves no TLS, so the admin's password would reach servers that never \
         proved they are ours; allowed: --apply on a folder generated with TLS (without \
         --apply, restart each server after each step)",
        shown(dir)
    ))
}

/// A folder as a printed message shows it: one shell word (a pasted command works for a
/// name with a space and never runs a `$(...)` in it), control characters escaped.
fn shown(dir: &std::path::Path) -> String {
    crate::printable::text(&crate::render::escape::sh_word(&dir.display().to_string()))
}
