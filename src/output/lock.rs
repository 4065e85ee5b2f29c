//! One run at a time per output folder: an exclusive advisory lock (`flock`) on
//! `DIR/.kimera-redis-init.lock`, held by generate, fixtures and renew from before they
//! read the folder until after they wrote it. A second run waits a short, bounded time
//! and then fails naming the process that holds the lock.
//!
//! Taking the lock also finishes or undoes what a killed run left (see `journal`), so
//! every run starts from a consistent folder.

use std::fs::{self, DirBuilder, File, OpenOptions, TryLockError};
use std::io::{ErrorKind, Seek, Write};
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::output::journal;

/// The lock file's name inside the output folder.
pub(crate) const LOCK_FILE: &str = ".kimera-redis-init.lock";

/// How long a run waits for another one before giving up. Runs take milliseconds
/// (seconds with RSA-4096 keys), so this is long enough to queue behind one run and
/// short enough that a stuck holder is reported promptly.
const DEFAULT_WAIT: Duration = Duration::from_secs(30);

/// Held for the whole run; dropping it releases the lock and removes the lock file.
/// Folders this run created only to hold the lock are removed again when nothing else
/// was written into them.
pub(crate) struct FolderLock {
    file: File,
    path: PathBuf,
    /// Folders `acquire` created, deepest last.
    created: Vec<PathBuf>,
    /// Taking the lock finished the files of a run that was killed while writing.
    finished_interrupted: bool,
}

impl std::fmt::Debug for FolderLock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FolderLock")
            .field("path", &self.path)
            .finish()
    }
}

impl FolderLock {
    /// Create `dir` if needed, lock it, and recover what a killed run left in it.
    pub(crate) fn acquire(dir: &Path) -> Result<FolderLock> {
        let wait = std::env::var("KIMERA_LOCK_WAIT_MS")
            .ok()
            .and_then(|v| v.parse().ok())
            .map_or(DEFAULT_WAIT, Duration::from_millis);
        let deadline = Instant::now() + wait;
        let mut created = Vec::new();
        loop {
            create_dirs(dir, &mut created)?;
            let path = dir.join(LOCK_FILE);
            let file = open_lock_file(&path)?;
            match file.try_lock() {
                Ok(()) => {}
                Err(TryLockError::WouldBlock) => {
                    if Instant::now() >= deadline {
                        return Err(Error::failed(format!(
                            "{} is in use by another kimera-redis-init run ({}); waited {} s; \
                             try again when it has finished",
                            dir.display(),
                            holder(&path),
                            wait.as_secs_f32()
                        )));
                    }
                    std::thread::sleep(Duration::from_millis(20));
                    continue;
                }
                Err(TryLockError::Error(e)) => {
                    return Err(Error::failed(format!(
                        "cannot lock {}: {e}",
                        path.display()
                    )));
                }
            }
            // The previous holder may have removed the file (and the folder) it had
            // created, after we opened it: then our lock guards nothing, start again.
            let same = fs::symlink_metadata(&path).is_ok_and(|m| {
                file.metadata()
                    .is_ok_and(|f| f.ino() == m.ino() && f.dev() == m.dev())
            });
            if !same {
                continue;
            }
            let mut lock = FolderLock {
                file,
                path,
                created: std::mem::take(&mut created),
                finished_interrupted: false,
            };
            lock.write_pid()?;
            crate::output::safedir::check_output_folder(dir)?;
            lock.finished_interrupted = journal::recover(dir)?;
            return Ok(lock);
        }
    }

    /// The note a command prints when taking the lock finished a killed run's files in
    /// `dir` (the library prints nothing).
    pub(crate) fn finished_note(&self, dir: &Path) -> Option<String> {
        self.finished_interrupted.then(|| {
            format!(
                "note: finished writing the files of an interrupted run in {}",
                crate::printable::path(dir)
            )
        })
    }

    fn write_pid(&mut self) -> Result<()> {
        let fail =
            |e: std::io::Error| Error::failed(format!("cannot write {}: {e}", self.path.display()));
        self.file.set_len(0).map_err(fail)?;
        self.file.rewind().map_err(fail)?;
        writeln!(self.file, "{}", std::process::id()).map_err(fail)
    }
}

impl Drop for FolderLock {
    fn drop(&mut self) {
        // The lock file goes with the run, so that a folder holds only what the runs
        // wrote into it (a run waiting on the removed file notices and starts again),
        // and so do the folders this run made only to hold it, when nothing else was
        // written into them.
        let _ = fs::remove_file(&self.path);
        for d in self.created.iter().rev() {
            if fs::remove_dir(d).is_err() {
                break;
            }
        }
        let _ = self.file.unlock();
    }
}

/// Open (or create, 0600) the lock file. Only a regular file is a lock file: a link is
/// not followed (it could point anywhere), and a folder, a FIFO or a device in its place
/// would block every run with an error that gives no way out, so each is named with the
/// fix.
fn open_lock_file(path: &Path) -> Result<File> {
    not_a_lock_file(path, fs::symlink_metadata(path).ok().map(|m| m.file_type()))?;
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        // O_NONBLOCK: a FIFO put there since the look above opens at once.
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY | libc::O_CLOEXEC)
        .open(path)
        .map_err(|e| match e.raw_os_error() {
            // Swapped for a link or a folder since the look above.
            Some(libc::ELOOP | libc::EISDIR) => {
                not_a_lock_file(path, fs::symlink_metadata(path).ok().map(|m| m.file_type()))
                    .err()
                    .unwrap_or_else(|| open_failed(path, e))
            }
            _ => open_failed(path, e),
        })?;
    let meta = file.metadata().map_err(|e| open_failed(path, e))?;
    not_a_lock_file(path, Some(meta.file_type()))?;
    Ok(file)
}

fn open_failed(path: &Path, e: std::io::Error) -> Error {
    Error::failed(format!("cannot open {}: {e}", crate::printable::path(path)))
}

/// Refused unless `found` (what is at `path`, if anything) is a regular file.
fn not_a_lock_file(path: &Path, found: Option<fs::FileType>) -> Result<()> {
    match problem(path, found) {
        Some((problem, fix)) => Err(Error::failed(format!(
            "{}: {problem}; {fix}",
            crate::printable::path(path)
        ))),
        None => Ok(()),
    }
}

/// For `verify`: what is wrong with the lock path of `dir`, and the fix, when something
/// other than a lock file is there (every writing run would be refused).
pub(crate) fn lock_path_problem(dir: &Path) -> Option<(String, String)> {
    let path = dir.join(LOCK_FILE);
    problem(
        &path,
        fs::symlink_metadata(&path).ok().map(|m| m.file_type()),
    )
}

fn problem(path: &Path, found: Option<fs::FileType>) -> Option<(String, String)> {
    let t = found?;
    let what = if t.is_file() {
        return None;
    } else if t.is_symlink() {
        "a symbolic link"
    } else if t.is_dir() {
        "a folder"
    } else if t.is_fifo() {
        "a FIFO"
    } else {
        "a device or socket"
    };
    Some((
        format!("is {what}, not the lock file kimera-redis-init keeps there while it writes"),
        format!(
            "nothing else belongs at that path: remove it (rm -r {}) and run again",
            crate::printable::text(&crate::render::escape::sh_word(&path.display().to_string()))
        ),
    ))
}

/// Who holds the lock, as its PID says in the lock file.
fn holder(path: &Path) -> String {
    // A PID and a newline; anything longer is not one.
    let text = crate::regularfile::read_capped(path, 32)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .unwrap_or_default();
    match text.trim().parse::<u32>() {
        Ok(pid) => format!("held by process {pid}"),
        Err(_) => "held by a process that has not written its PID yet".to_owned(),
    }
}

/// `mkdir -p` (0755 for the output folder and its parents, as before), recording each
/// folder made. A folder that exists is used as it is.
fn create_dirs(dir: &Path, made: &mut Vec<PathBuf>) -> Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    if let Some(parent) = dir.parent()
        && !parent.as_os_str().is_empty()
    {
        create_dirs(parent, made)?;
    }
    match DirBuilder::new().mode(0o755).create(dir) {
        Ok(()) => {
            made.push(dir.to_path_buf());
            // Exactly 0755 whatever the umask: a group-writable folder is refused.
            fs::set_permissions(dir, fs::Permissions::from_mode(0o755))
                .map_err(|e| Error::failed(format!("cannot create {}: {e}", dir.display())))
        }
        Err(e) if e.kind() == ErrorKind::AlreadyExists && dir.is_dir() => Ok(()),
        // The path itself is wrong (a file in the way, a name over 255 bytes): the
        // user's input, not a failure of the run.
        Err(e)
            if e.kind() == ErrorKind::AlreadyExists
                || matches!(e.raw_os_error(), Some(libc::ENOTDIR | libc::ENAMETOOLONG)) =>
        {
            Err(Error::usage(format!(
                "--out {}: cannot be created ({e}); allowed: a folder whose parents are \
                 folders and whose names are at most 255 bytes",
                dir.display()
            )))
        }
        Err(e) => Err(Error::failed(format!(
            "cannot create {}: {e}",
            dir.display()
        ))),
    }
}
