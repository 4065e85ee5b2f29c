//! The only code that writes to the disk. Every file is staged with its final mode in one
//! staging folder, and only when all are staged and a journal is written are they
//! renamed into place (`journal`): a failure or a kill part-way leaves the old state, or
//! a state the next run finishes.

use std::fs::{self, DirBuilder, Permissions};
use std::io::ErrorKind;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::bundle::{Bundle, Entry, Kind};
use crate::error::{Error, Result};
use crate::journal::Staging;
use crate::lock::FolderLock;

/// What happens, or happened, to one entry of the bundle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    Create,
    Replace,
    /// Exists and stays as it is (no `--force`, or the CA, or a folder).
    Keep,
}

/// What existing files a run may replace.
#[derive(Debug, Clone, Copy, Default)]
pub struct Policy {
    /// `--force`: leaf certificates, keys and rendered files.
    pub force: bool,
    /// `--replace-ca`: the CA's certificate and key too.
    pub replace_ca: bool,
}

/// Decide, for each entry, what a run under `policy` does. Reads the disk, writes nothing.
pub fn plan(bundle: &Bundle, out_dir: &Path, policy: Policy) -> Result<Vec<Action>> {
    for e in &bundle.entries {
        crate::safedir::check_path(out_dir, &e.path, e.kind == Kind::Dir)?;
    }
    bundle
        .entries
        .iter()
        .map(|e| {
            let path = out_dir.join(&e.path);
            match fs::symlink_metadata(&path) {
                Err(err) if err.kind() == ErrorKind::NotFound => Ok(Action::Create),
                Err(err) => Err(Error::failed(format!(
                    "cannot look at {}: {err}",
                    path.display()
                ))),
                Ok(meta) if (e.kind == Kind::Dir) != meta.is_dir() => Err(Error::failed(format!(
                    "{} is in the way: expected a {}",
                    path.display(),
                    if e.kind == Kind::Dir {
                        "folder"
                    } else {
                        "file"
                    }
                ))),
                // A store is derived from the PEM files: the stores module hands over the
                // bytes on disk when they still hold the same key and certificates.
                Ok(_) if e.kind == Kind::Store => {
                    Ok(if fs::read(&path).is_ok_and(|b| b == e.contents) {
                        Action::Keep
                    } else {
                        Action::Replace
                    })
                }
                Ok(_) if policy.force && e.kind.force_replaces() => Ok(Action::Replace),
                Ok(_)
                    if policy.replace_ca && matches!(e.kind, Kind::CaKey | Kind::CaCertificate) =>
                {
                    Ok(Action::Replace)
                }
                Ok(_) => Ok(Action::Keep),
            }
        })
        .collect()
}

/// The mode a report shows for an entry: as it is on disk for a kept file (not what a
/// new one would get), otherwise the mode it is written with.
pub(crate) fn mode_shown(settings: &crate::settings::Settings, e: &Entry, action: Action) -> u32 {
    match action {
        Action::Keep => on_disk_mode(&settings.out_dir.join(&e.path)).unwrap_or(e.kind.mode()),
        _ => e.kind.mode(),
    }
}

fn on_disk_mode(path: &Path) -> Option<u32> {
    fs::symlink_metadata(path)
        .ok()
        .map(|m| m.permissions().mode() & 0o7777)
}

/// Kept files that group or others may read or write although they should not (a key
/// at 0644): (path, mode on disk, mode they should have). `--force` narrows them.
pub fn loose_modes(bundle: &Bundle, out_dir: &Path, actions: &[Action]) -> Vec<(String, u32, u32)> {
    bundle
        .entries
        .iter()
        .zip(actions)
        .filter(|(e, a)| **a == Action::Keep && e.kind != Kind::Dir)
        .filter_map(|(e, _)| {
            let path = out_dir.join(&e.path);
            let meta = fs::symlink_metadata(&path).ok().filter(|m| m.is_file())?;
            let mode = meta.permissions().mode() & 0o7777;
            (mode & !e.kind.mode() != 0).then(|| (e.path.clone(), mode, e.kind.mode()))
        })
        .collect()
}

/// The rendered files (configs, secrets, scripts) that `plan` keeps although their
/// contents on disk differ from what this run rendered: edited by hand, or written with
/// other flags.
pub fn kept_but_different(bundle: &Bundle, out_dir: &Path, actions: &[Action]) -> Vec<String> {
    bundle
        .entries
        .iter()
        .zip(actions)
        .filter(|(e, a)| {
            **a == Action::Keep && matches!(e.kind, Kind::Config | Kind::Secret | Kind::Script)
        })
        // The record of the first run's settings is no file of the setup: a re-run with
        // other flags keeps it, and it neither blocks nor is reported.
        .filter(|(e, _)| e.path != crate::layout::RECORD)
        .filter(|(e, _)| {
            fs::read(out_dir.join(&e.path)).map_or(true, |on_disk| on_disk != e.contents)
        })
        .map(|(e, _)| e.path.clone())
        .collect()
}

/// Write the bundle under `out_dir`: create what is missing, replace what `plan` says,
/// keep the rest. Returns the action taken for each entry, in bundle order. The caller
/// holds `out_dir`'s lock (taken before it read the folder), so the plan stays true.
pub fn write(
    bundle: &Bundle,
    out_dir: &Path,
    policy: Policy,
    _lock: &FolderLock,
) -> Result<Vec<Action>> {
    let actions = plan(bundle, out_dir, policy)?;
    let mut made_dirs = Vec::new();
    let loose = loose_modes(bundle, out_dir, &actions);
    let result = stage_and_commit(bundle, out_dir, &actions, &mut made_dirs);
    if result.is_ok() && policy.force {
        // Kept files (the CA key under --force) with loose modes get their exact mode.
        for (rel, _, mode) in loose {
            let path = out_dir.join(&rel);
            let file = fs::OpenOptions::new()
                .read(true)
                .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
                .open(&path);
            file.and_then(|f| f.set_permissions(Permissions::from_mode(mode)))
                .map_err(|e| Error::failed(format!("cannot chmod {}: {e}", path.display())))?;
        }
    }
    if result.is_err() {
        // Folders this run created are removed again, deepest first (they are empty:
        // nothing was renamed into place).
        for dir in made_dirs.iter().rev() {
            let _ = fs::remove_dir(dir);
        }
    }
    result.map(|()| actions)
}

fn stage_and_commit(
    bundle: &Bundle,
    out_dir: &Path,
    actions: &[Action],
    made_dirs: &mut Vec<PathBuf>,
) -> Result<()> {
    for (e, a) in bundle.entries.iter().zip(actions) {
        if e.kind == Kind::Dir && *a == Action::Create {
            create_dirs(&out_dir.join(&e.path), e.kind.mode(), made_dirs)?;
        }
    }
    let mut files: Vec<&Entry> = bundle
        .entries
        .iter()
        .zip(actions)
        .filter(|(e, a)| e.kind != Kind::Dir && **a != Action::Keep)
        .map(|(e, _)| e)
        .collect();
    if files.is_empty() {
        return Ok(());
    }
    // Keys before the certificates that need them, the CA before the leaves it signs,
    // and the files that point at certificates (configs, .env) last.
    files.sort_by_key(|e| commit_rank(e));
    for e in &files {
        let parent = out_dir.join(&e.path);
        if let Some(parent) = parent.parent() {
            create_dirs(parent, 0o755, made_dirs)?;
        }
    }
    // Staged files are renamed from DIR/.kimera-redis-init.staging into place, which
    // only works within one filesystem: refuse a folder mounted from another one before
    // anything is staged, rather than leave a commit no run can finish.
    let dev = |p: &Path| fs::metadata(p).map(|m| m.dev());
    let out_dev = dev(out_dir).map_err(|e| Error::failed(format!("{}: {e}", out_dir.display())))?;
    for e in &files {
        let target = out_dir.join(&e.path);
        let parent = target.parent().unwrap_or(out_dir);
        if dev(parent).is_ok_and(|d| d != out_dev) {
            return Err(Error::usage(format!(
                "{} is on another filesystem than {} (a mount point); allowed: an output \
                 folder whose subfolders are on its own filesystem, so that files can be \
                 renamed into place in one step",
                parent.display(),
                out_dir.display()
            )));
        }
    }
    let mut staging = Staging::new(out_dir)?;
    for e in &files {
        if let Err(err) = staging.stage(&e.path, &e.contents, e.kind.mode()) {
            staging.discard();
            return Err(err);
        }
    }
    staging.commit()
}

/// Remove files of the folder that a finished step made obsolete (a CA rollover's next
/// CA, once it is the CA), then make the removal durable. Missing files are fine: the
/// step may run again after a crash.
pub fn remove(out_dir: &Path, rels: &[&str], _lock: &FolderLock) -> Result<()> {
    let mut dirs = Vec::new();
    for rel in rels {
        let path = out_dir.join(rel);
        match fs::remove_file(&path) {
            Ok(()) => dirs.push(path.parent().unwrap_or(out_dir).to_path_buf()),
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => {
                return Err(Error::failed(format!(
                    "cannot remove {}: {e}",
                    path.display()
                )));
            }
        }
    }
    dirs.dedup();
    for d in dirs {
        fs::File::open(&d)
            .and_then(|f| f.sync_all())
            .map_err(|e| Error::failed(format!("cannot sync {}: {e}", d.display())))?;
    }
    Ok(())
}

/// The order of renames in a commit (stable sort: bundle order within a rank).
fn commit_rank(e: &Entry) -> u8 {
    match e.kind {
        Kind::CaKey => 0,
        Kind::PrivateKey => 1,
        Kind::CaCertificate => 2,
        Kind::Certificate => 3,
        // Stores are made from the key and certificates renamed before them.
        Kind::Config | Kind::Script | Kind::Store => 4,
        Kind::Secret if e.path == crate::layout::ENV => 6,
        Kind::Secret => 5,
        Kind::Dir => 7,
    }
}

/// `mkdir -p` that records each folder it made and gives it exactly `mode`.
fn create_dirs(dir: &Path, mode: u32, made: &mut Vec<PathBuf>) -> Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    if let Some(parent) = dir.parent() {
        create_dirs(parent, 0o755, made)?;
    }
    let fail =
        |err: std::io::Error| Error::failed(format!("cannot create {}: {err}", dir.display()));
    match DirBuilder::new().mode(mode).create(dir) {
        Ok(()) => {
            made.push(dir.to_path_buf());
            fs::set_permissions(dir, Permissions::from_mode(mode)).map_err(fail)
        }
        Err(err) if err.kind() == ErrorKind::AlreadyExists && dir.is_dir() => Ok(()),
        Err(err) => Err(fail(err)),
    }
}
