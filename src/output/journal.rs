//! Crash-consistent commits. A run stages every file it writes in one folder,
//! `DIR/.kimera-redis-init.staging/`, then writes a journal there (the list of staged
//! file -> final path) and only then renames the staged files into place. So a run
//! killed at any instant leaves one of:
//!
//! - no staging folder: the old state or the new state, whole;
//! - a staging folder without a journal: the old state plus unused staged files;
//!   the next run deletes them (nothing of them was visible);
//! - a staging folder with a journal: some files renamed, some not; the next run
//!   renames the rest (every staged file was complete and synced before the journal
//!   was written), which gives the new state, whole.
//!
//! The next run does this as soon as it holds the folder lock (`lock`), before it reads
//! anything; `verify` reports both leftovers. Renames go keys first, then the CA
//! certificate, then leaf certificates, then the files that point at them, so that a
//! certificate is not renamed into place before its key and its CA are.

use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};

use crate::error::{Error, Result};

/// The staging folder's name inside the output folder.
pub(crate) const STAGING: &str = ".kimera-redis-init.staging";
const JOURNAL: &str = "journal.json";
/// What temporary files and `--force` backups of earlier versions were named.
const OLD_TEMP_PREFIX: &str = ".kimera-redis-init-";

/// Files staged for one commit.
pub(crate) struct Staging {
    out_dir: PathBuf,
    dir: PathBuf,
    /// (staged file name, final path relative to `out_dir`), in commit order.
    moves: Vec<(String, String)>,
}

impl Staging {
    /// A fresh staging folder (0700) in `out_dir`. The caller holds the folder lock, and
    /// taking it removed any earlier staging folder.
    pub(crate) fn new(out_dir: &Path) -> Result<Staging> {
        let dir = out_dir.join(STAGING);
        fs::DirBuilder::new()
            .mode(0o700)
            .create(&dir)
            .map_err(|e| fail("create", &dir, e))?;
        Ok(Staging {
            out_dir: out_dir.to_path_buf(),
            dir,
            moves: Vec::new(),
        })
    }

    /// Write `contents` to a new staged file with exactly `mode` (set before the first
    /// byte, so a key is never readable by others), synced, bound for `rel`.
    pub(crate) fn stage(&mut self, rel: &str, contents: &[u8], mode: u32) -> Result<()> {
        let name = self.moves.len().to_string();
        let path = self.dir.join(&name);
        let target = self.out_dir.join(rel);
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&path)
            .map_err(|e| fail("write", &target, e))?;
        // The mode given at creation is narrowed by the umask; set it exactly.
        file.set_permissions(fs::Permissions::from_mode(mode))
            .map_err(|e| fail("write", &target, e))?;
        // Unit tests only: this write runs out of space half-way, as on a full disk.
        #[cfg(test)]
        if let Err(e) = inject::check(inject::Step::Stage(self.moves.len())) {
            let _ = file.write_all(&contents[..contents.len() / 2]);
            return Err(fail("write", &target, e));
        }
        // Synced all together in `commit`, before the journal: one flush of many files
        // costs the disk about what one costs, one after another they add up.
        file.write_all(contents)
            .map_err(|e| fail("write", &target, e))?;
        self.moves.push((name, rel.to_owned()));
        Ok(())
    }

    /// Write the journal, rename every staged file into place, sync the folders, and
    /// remove the staging folder.
    pub(crate) fn commit(self) -> Result<()> {
        crate::timings::stage("files staged");
        let journal = serde_json::to_vec(&self.moves).expect("a list of strings serializes");
        let tmp = self.dir.join("journal.tmp");
        // Unit tests only: the journal cannot be written.
        #[cfg(test)]
        inject::check(inject::Step::Journal).map_err(|e| fail("write", &tmp, e))?;
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(|e| fail("write", &tmp, e))?;
        file.write_all(&journal)
            .map_err(|e| fail("write", &tmp, e))?;
        drop(file);
        // Before the journal says "commit" (the rename below), everything it names must be
        // durable: every staged file and the journal's own bytes, the staging folder's
        // entries, and every folder the files go to (made by this run, perhaps), so that
        // after a power loss the next run finds them all. None of them depends on another,
        // so they are synced in one batch: one wait for the disk instead of three.
        let mut paths: Vec<PathBuf> = self.moves.iter().map(|(n, _)| self.dir.join(n)).collect();
        paths.push(tmp.clone());
        // A set: with a 1000-node cluster's 5000 files, a list searched for each file's
        // folders was quadratic.
        let mut dirs: std::collections::BTreeSet<PathBuf> = std::collections::BTreeSet::new();
        for (_, rel) in &self.moves {
            let mut d = self.out_dir.join(rel);
            while d.pop() && d.starts_with(&self.out_dir) {
                if !dirs.insert(d.clone()) {
                    // Its parents are in the set already.
                    break;
                }
            }
        }
        dirs.insert(self.dir.clone());
        paths.extend(dirs);
        sync_all(&paths)?;
        crate::timings::stage("staged files, journal and folders synced");
        test_kill_point(0);
        fs::rename(&tmp, self.dir.join(JOURNAL)).map_err(|e| fail("write", &tmp, e))?;
        sync_dir(&self.dir)?;
        crate::timings::stage("journal committed");
        finish(&self.out_dir, &self.dir, &self.moves, true).map_err(|e| {
            Error::failed(format!(
                "{e}; the journal in {} is kept: the next run on this folder finishes the \
                 commit once the cause is fixed",
                self.dir.display()
            ))
        })
    }

    /// Give up before committing: nothing staged becomes visible.
    pub(crate) fn discard(self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// Rename whatever staged file is still there to its final path, sync every folder
/// touched, then remove the staging folder. Safe to repeat: a file already renamed is
/// no longer in the staging folder.
fn finish(out_dir: &Path, staging: &Path, moves: &[(String, String)], run: bool) -> Result<()> {
    let mut touched: std::collections::BTreeSet<PathBuf> = std::collections::BTreeSet::new();
    for (i, (name, rel)) in moves.iter().enumerate() {
        if run {
            test_kill_point(i + 1);
        }
        let from = staging.join(name);
        let to = out_dir.join(rel);
        // Unit tests only: this rename of a running commit fails.
        #[cfg(test)]
        if run {
            inject::check(inject::Step::Rename(i)).map_err(|e| fail("write", &to, e))?;
        }
        match fs::rename(&from, &to) {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::NotFound && !from.exists() => {}
            Err(e) => return Err(fail("write", &to, e)),
        }
        touched.insert(to.parent().unwrap_or(out_dir).to_path_buf());
    }
    sync_all(&touched.into_iter().collect::<Vec<_>>())?;
    crate::timings::stage("files renamed into place, folders synced");
    if run {
        test_kill_point(moves.len() + 1);
    }
    fs::remove_dir_all(staging).map_err(|e| fail("remove", staging, e))?;
    sync_dir(out_dir)?;
    crate::timings::stage("staging folder removed, synced");
    Ok(())
}

/// The journal's moves, `(staged name, destination)` each, when it is one this tool
/// wrote: JSON, and every path a plain relative one inside the folder.
pub(crate) fn parse_moves(bytes: &[u8]) -> Option<Vec<(String, String)>> {
    serde_json::from_slice(bytes)
        .ok()
        .filter(|m: &Vec<(String, String)>| m.iter().all(|(n, r)| safe(n) && safe(r)))
}

/// Whether `out_dir` holds a written journal: a commit that the next run finishes, so
/// the folders its files go to must stay.
pub(crate) fn pending(out_dir: &Path) -> bool {
    out_dir.join(STAGING).join(JOURNAL).exists()
}

/// Finish (or undo) what a killed run left in `out_dir`; whether a killed run's files
/// were finished (the caller says so). The caller holds the lock.
pub(crate) fn recover(out_dir: &Path) -> Result<bool> {
    let mut finished = false;
    let staging = out_dir.join(STAGING);
    match fs::symlink_metadata(&staging) {
        Err(e) if e.kind() == ErrorKind::NotFound => {}
        Err(e) => return Err(fail("read", &staging, e)),
        Ok(meta) if !meta.is_dir() => {
            fs::remove_file(&staging).map_err(|e| fail("remove", &staging, e))?;
        }
        Ok(_) => match crate::regularfile::read(&staging.join(JOURNAL)) {
            Ok(bytes) => {
                let moves = parse_moves(&bytes).ok_or_else(|| {
                    Error::failed(format!(
                        "{}: not a journal this tool wrote; look at it, then remove {}",
                        staging.join(JOURNAL).display(),
                        staging.display()
                    ))
                })?;
                finish(out_dir, &staging, &moves, false)?;
                finished = true;
            }
            Err(e) if e.is_missing() => {
                fs::remove_dir_all(&staging).map_err(|e| fail("remove", &staging, e))?;
                sync_dir(out_dir)?;
            }
            // Not a journal this tool wrote (a FIFO would hang the run): named, and
            // left for the user to look at.
            Err(e) => {
                return Err(Error::failed(format!(
                    "{}: {e}; look at it, then remove {}",
                    crate::printable::path(&staging.join(JOURNAL)),
                    crate::printable::path(&staging)
                )));
            }
        },
    }
    for path in old_temp_files(out_dir) {
        let _ = fs::remove_file(&path);
    }
    Ok(finished)
}

/// What a killed run left in `out_dir`: `(path, problem, fix)` each, for `verify`.
/// Reads only.
pub(crate) fn leftovers(out_dir: &Path) -> Vec<(String, String, String)> {
    let mut found = Vec::new();
    let staging = out_dir.join(STAGING);
    if staging.is_dir() {
        let problem = if staging.join(JOURNAL).exists() {
            "a run was killed while it renamed its files into place: some files are new, \
             some old, and they may not fit together"
        } else {
            "a run was killed before it changed any file; its unused staged files are left"
        };
        found.push((
            staging.display().to_string(),
            problem.to_owned(),
            "run the same kimera-redis-init command again (it finishes or cleans up the \
             interrupted run first)"
                .to_owned(),
        ));
    }
    for path in old_temp_files(out_dir) {
        found.push((
            path.display().to_string(),
            "a temporary file or backup left by a killed run".to_owned(),
            format!(
                "rm {}",
                crate::render::escape::sh_word(&path.display().to_string())
            ),
        ));
    }
    found
}

/// Temporary files and backups earlier versions left beside the files they wrote.
fn old_temp_files(out_dir: &Path) -> Vec<PathBuf> {
    let mut dirs = vec![
        out_dir.to_path_buf(),
        out_dir.join("certs"),
        out_dir.join("fixtures"),
    ];
    if let Ok(nodes) = fs::read_dir(out_dir.join("nodes")) {
        dirs.extend(nodes.filter_map(|e| e.ok()).map(|e| e.path()));
    }
    let mut found = Vec::new();
    for dir in dirs {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.filter_map(|e| e.ok()) {
            let is_file = e.file_type().is_ok_and(|t| t.is_file());
            if is_file && e.file_name().to_string_lossy().starts_with(OLD_TEMP_PREFIX) {
                found.push(e.path());
            }
        }
    }
    found.sort();
    found
}

/// A journal path stays inside the output folder.
fn safe(rel: &str) -> bool {
    !rel.is_empty()
        && Path::new(rel)
            .components()
            .all(|c| matches!(c, Component::Normal(_)))
}

/// Up to this many paths are synced on the calling thread (see `sync_all`).
const SYNC_ON_THIS_THREAD: usize = 64;

/// fsync every path (files, or folders for the renames in them). Never `syncfs`, which
/// would also wait for other programs' writes.
///
/// A few paths (a single setup's ~20) are synced here, after writeback of all of them has
/// been started (`sync_file_range`): by the first fsync the disk has most of them, and no
/// thread is started. Measured on the 2-core development machine (ext4 without a journal,
/// where each fsync ends with a cache flush), production-tls P-256 took 8.9 ms median
/// this way against 10.1 ms with a thread per path, and 37 ms against 45 ms while another
/// process wrote and fsynced 64 MiB at a time. Many paths (a 1000-node cluster's 6000)
/// are synced on 16 threads, a share each: concurrent flushes are merged, and one after
/// another 6000 of them took twice as long.
fn sync_all(paths: &[PathBuf]) -> Result<()> {
    if paths.len() <= SYNC_ON_THIS_THREAD {
        let files = paths
            .iter()
            .map(|p| {
                File::open(p)
                    .map(|f| (p, f))
                    .map_err(|e| fail("sync", p, e))
            })
            .collect::<Result<Vec<_>>>()?;
        for (_, f) in &files {
            start_writeback(f);
        }
        return files
            .iter()
            .try_for_each(|(p, f)| f.sync_all().map_err(|e| fail("sync", p, e)));
    }
    // I/O-bound: more threads than cores, each with a share of the paths.
    const THREADS: usize = 16;
    let per = paths.len().div_ceil(THREADS).max(1);
    std::thread::scope(|scope| {
        let workers: Vec<_> = paths
            .chunks(per)
            .map(|chunk| {
                scope.spawn(move || {
                    chunk.iter().try_for_each(|p| {
                        File::open(p)
                            .and_then(|f| f.sync_all())
                            .map_err(|e| fail("sync", p, e))
                    })
                })
            })
            .collect();
        workers
            .into_iter()
            .try_for_each(|w| w.join().expect("a sync worker does not panic"))
    })
}

/// Ask the kernel to start writing `file`'s dirty pages now, without waiting: a hint
/// only (the fsync that follows is what makes it durable), so its result is ignored.
fn start_writeback(file: &File) {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        // SAFETY: sync_file_range only reads its arguments; the fd is open for the call.
        unsafe {
            libc::sync_file_range(file.as_raw_fd(), 0, 0, libc::SYNC_FILE_RANGE_WRITE);
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = file;
}

/// Make renames and removals in `dir` durable.
fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| fail("sync", dir, e))
}

fn fail(what: &str, path: &Path, e: std::io::Error) -> Error {
    Error::failed(format!("cannot {what} {}: {e}", path.display()))
}

/// For the crash tests: `KIMERA_TEST_KILL_AT_RENAME=N` makes the process abort (as
/// `kill -9` would, no clean-up) just before commit step N: 0 is the journal, 1..=n the
/// files, n+1 the removal of the staging folder.
fn test_kill_point(index: usize) {
    if std::env::var("KIMERA_TEST_KILL_AT_RENAME").is_ok_and(|v| v == index.to_string()) {
        std::process::abort();
    }
}

/// Failure injection for unit tests (compiled only under `cfg(test)`): makes one step of
/// a commit on the current thread fail with ENOSPC, the error a full disk gives.
#[cfg(test)]
pub(crate) mod inject {
    use std::cell::Cell;

    /// A step of a commit, counted from 0 in commit order.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub(crate) enum Step {
        /// Writing the Nth staged file.
        Stage(usize),
        /// Writing the journal, once every file is staged.
        Journal,
        /// Renaming the Nth staged file into place, after the journal is written.
        Rename(usize),
    }

    thread_local! {
        static FAIL_AT: Cell<Option<Step>> = const { Cell::new(None) };
    }

    /// Make `step` fail on this thread until the returned guard is dropped.
    pub(crate) fn fail_at(step: Step) -> Guard {
        FAIL_AT.set(Some(step));
        Guard
    }

    pub(crate) struct Guard;

    impl Drop for Guard {
        fn drop(&mut self) {
            FAIL_AT.set(None);
        }
    }

    pub(super) fn check(step: Step) -> std::io::Result<()> {
        if FAIL_AT.get() == Some(step) {
            Err(std::io::Error::from_raw_os_error(libc::ENOSPC))
        } else {
            Ok(())
        }
    }
}
