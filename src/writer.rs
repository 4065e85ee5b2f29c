//! The only code that writes to the disk. Every file is staged as a temporary file in
//! its own folder with its final mode, and only when all are staged are they renamed
//! into place: a failure part-way leaves the output folder as it was.

use std::fs::{self, DirBuilder, Permissions};
use std::io::{ErrorKind, Write};
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

use tempfile::NamedTempFile;

use crate::bundle::{Bundle, Entry, Kind};
use crate::error::{Error, Result};

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
        .filter(|(e, _)| {
            fs::read(out_dir.join(&e.path)).map_or(true, |on_disk| on_disk != e.contents)
        })
        .map(|(e, _)| e.path.clone())
        .collect()
}

/// Write the bundle under `out_dir`: create what is missing, replace what `plan` says,
/// keep the rest. Returns the action taken for each entry, in bundle order.
pub fn write(bundle: &Bundle, out_dir: &Path, policy: Policy) -> Result<Vec<Action>> {
    let actions = plan(bundle, out_dir, policy)?;
    let mut made_dirs = Vec::new();
    let result = stage_and_commit(bundle, out_dir, &actions, &mut made_dirs);
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
    create_dirs(out_dir, 0o755, made_dirs)?;
    for (e, a) in bundle.entries.iter().zip(actions) {
        if e.kind == Kind::Dir && *a == Action::Create {
            create_dirs(&out_dir.join(&e.path), e.kind.mode(), made_dirs)?;
        }
    }
    let mut staged = Vec::new();
    for (e, a) in bundle.entries.iter().zip(actions) {
        if e.kind != Kind::Dir && *a != Action::Keep {
            staged.push((stage(out_dir, e)?, e, *a));
        }
    }
    // Commit: rename each into place. A file being replaced keeps a hard link to its old
    // contents until the end, so that a failure part-way can put every file back.
    let mut committed: Vec<(PathBuf, Option<PathBuf>)> = Vec::new();
    for (tmp, e, a) in staged {
        let target = out_dir.join(&e.path);
        let result = commit_one(tmp, &target, a);
        match result {
            Ok(backup) => committed.push((target, backup)),
            Err(err) => {
                roll_back(&committed);
                return Err(err);
            }
        }
    }
    for (_, backup) in committed {
        if let Some(b) = backup {
            let _ = fs::remove_file(b);
        }
    }
    Ok(())
}

/// Remove files of the folder that a finished step made obsolete (a CA rollover's next
/// CA, once it is the CA), then make the removal durable. Missing files are fine: the
/// step may run again after a crash.
pub fn remove(out_dir: &Path, rels: &[&str]) -> Result<()> {
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

/// Rename `tmp` to `target`; for a replacement, first keep the old file reachable under a
/// backup name and return it.
fn commit_one(tmp: NamedTempFile, target: &Path, action: Action) -> Result<Option<PathBuf>> {
    let fail =
        |err: std::io::Error| Error::failed(format!("cannot write {}: {err}", target.display()));
    let backup = if action == Action::Replace {
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let backup = target.with_file_name(format!(
            ".kimera-redis-init-old-{}-{name}",
            std::process::id()
        ));
        let _ = fs::remove_file(&backup);
        fs::hard_link(target, &backup)
            .or_else(|_| fs::copy(target, &backup).map(drop))
            .map_err(fail)?;
        Some(backup)
    } else {
        None
    };
    let persisted = match action {
        // Someone may have created the file since `plan`: do not clobber it then.
        Action::Create => tmp.persist_noclobber(target).map(drop),
        _ => tmp.persist(target).map(drop),
    };
    if let Err(err) = persisted {
        if let Some(b) = &backup {
            let _ = fs::remove_file(b);
        }
        return Err(fail(err.error));
    }
    Ok(backup)
}

/// Undo the renames done so far, newest first: restore replaced files, remove new ones.
fn roll_back(committed: &[(PathBuf, Option<PathBuf>)]) {
    for (target, backup) in committed.iter().rev() {
        match backup {
            Some(b) => {
                let _ = fs::rename(b, target);
            }
            None => {
                let _ = fs::remove_file(target);
            }
        }
    }
}

/// A temporary file beside the target, with the final mode and contents, synced.
fn stage(out_dir: &Path, e: &Entry) -> Result<NamedTempFile> {
    let target = out_dir.join(&e.path);
    let dir = target.parent().unwrap_or(out_dir);
    let fail =
        |err: std::io::Error| Error::failed(format!("cannot write {}: {err}", target.display()));
    let mode = Permissions::from_mode(e.kind.mode());
    let mut tmp = tempfile::Builder::new()
        .prefix(".kimera-redis-init-")
        .permissions(mode.clone())
        .tempfile_in(dir)
        .map_err(fail)?;
    // The mode given at creation is narrowed by the umask; set it exactly, still before
    // any byte is written and before the file has its final name.
    tmp.as_file().set_permissions(mode).map_err(fail)?;
    tmp.write_all(&e.contents).map_err(fail)?;
    tmp.as_file().sync_all().map_err(fail)?;
    Ok(tmp)
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
