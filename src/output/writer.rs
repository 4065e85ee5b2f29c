//! The only code that writes to the disk. Every file is staged with its final mode in one
//! staging folder, and only when all are staged and a journal is written are they
//! renamed into place (`journal`): a failure or a kill part-way leaves the old state, or
//! a state the next run finishes.

use std::fs::{self, DirBuilder, Permissions};
use std::io::ErrorKind;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::output::journal::Staging;
use crate::output::lock::FolderLock;
use crate::render::bundle::{Bundle, Entry, Kind};

/// What happens, or happened, to one entry of the bundle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Action {
    Create,
    Replace,
    /// Exists and stays as it is (no `--force`, or the CA, or a folder).
    Keep,
}

/// What existing files a run may replace.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Policy {
    /// `--force`: leaf certificates, keys and rendered files.
    pub(crate) force: bool,
    /// `--replace-ca`: the CA's certificate and key too.
    pub(crate) replace_ca: bool,
}

/// Decide, for each entry, what a run under `policy` does. Reads the disk, writes nothing.
pub(crate) fn plan(bundle: &Bundle, out_dir: &Path, policy: Policy) -> Result<Vec<Action>> {
    for e in &bundle.entries {
        crate::output::safedir::check_path(out_dir, &e.path, e.kind == Kind::Dir)?;
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
                // A FIFO, a device, a link to one: nothing this tool wrote, and reading
                // or keeping it would hang or mislead every later command.
                Ok(_) if e.kind != Kind::Dir => {
                    not_a_file(&path)?;
                    Ok(file_action(e, &path, policy))
                }
                Ok(_) => Ok(Action::Keep),
            }
        })
        .collect()
}

/// Refused when `path` is there but is no regular file (a dangling link is left to the
/// rename that replaces it, as before).
fn not_a_file(path: &Path) -> Result<()> {
    match fs::metadata(path) {
        Ok(m) if !m.is_file() => Err(Error::failed(format!(
            "{}: {}; it is not a file kimera-redis-init wrote: look at it, and remove it \
             (rm -r {}) to have it written again",
            crate::printable::path(path),
            crate::regularfile::check(path)
                .err()
                .map_or_else(|| "not a regular file".to_owned(), |e| e.to_string()),
            crate::printable::text(&crate::render::escape::sh_word(&path.display().to_string()))
        ))),
        _ => Ok(()),
    }
}

/// What `plan` does with an existing file.
fn file_action(e: &Entry, path: &Path, policy: Policy) -> Action {
    if e.kind == Kind::Store {
        // A store is derived from the PEM files: the stores module hands over the bytes
        // on disk when they still hold the same key and certificates.
        if same_contents(path, &e.contents) {
            Action::Keep
        } else {
            Action::Replace
        }
    } else if policy.force && e.kind.force_replaces()
        || policy.replace_ca && matches!(e.kind, Kind::CaKey | Kind::CaCertificate)
    {
        Action::Replace
    } else {
        Action::Keep
    }
}

/// Whether the file at `path` holds exactly `contents`; never reads more than that.
fn same_contents(path: &Path, contents: &[u8]) -> bool {
    crate::regularfile::read_capped(path, contents.len() as u64).is_ok_and(|b| b == contents)
}

/// The mode a report shows for an entry: as it is on disk for a kept file (not what a
/// new one would get), otherwise the mode it is written with.
pub(crate) fn mode_shown(
    settings: &crate::config::settings::Settings,
    e: &Entry,
    action: Action,
) -> u32 {
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
pub(crate) fn loose_modes(
    bundle: &Bundle,
    out_dir: &Path,
    actions: &[Action],
) -> Vec<(String, u32, u32)> {
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
pub(crate) fn kept_but_different(
    bundle: &Bundle,
    out_dir: &Path,
    actions: &[Action],
) -> Vec<String> {
    bundle
        .entries
        .iter()
        .zip(actions)
        .filter(|(e, a)| {
            **a == Action::Keep && matches!(e.kind, Kind::Config | Kind::Secret | Kind::Script)
        })
        // The record of the first run's settings is no file of the setup: a re-run with
        // other flags keeps it, and it neither blocks nor is reported.
        .filter(|(e, _)| e.path != crate::config::layout::RECORD)
        .filter(|(e, _)| !same_contents(&out_dir.join(&e.path), &e.contents))
        .map(|(e, _)| e.path.clone())
        .collect()
}

/// Write the bundle under `out_dir`: create what is missing, replace what `plan` says,
/// keep the rest. Returns the action taken for each entry, in bundle order. The caller
/// holds `out_dir`'s lock (taken before it read the folder), so the plan stays true.
pub(crate) fn write(
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
    if result.is_err() && !crate::output::journal::pending(out_dir) {
        // Folders this run created are removed again, deepest first (they are empty:
        // nothing was renamed into place). Not once the journal is written: the next
        // run renames the rest of the files into them.
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
    let result = staging.commit();
    if result.is_err() && !crate::output::journal::pending(out_dir) {
        // Failed before the journal said "commit": nothing was renamed, and the staged
        // files are of no use; leave none behind for the next run to clean up.
        let _ = fs::remove_dir_all(out_dir.join(crate::output::journal::STAGING));
    }
    result
}

/// Remove files of the folder that a finished step made obsolete (a CA rollover's next
/// CA, once it is the CA), then make the removal durable. Missing files are fine: the
/// step may run again after a crash.
pub(crate) fn remove(out_dir: &Path, rels: &[&str], _lock: &FolderLock) -> Result<()> {
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
        Kind::Secret if e.path == crate::config::layout::ENV => 6,
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

#[cfg(test)]
mod tests {
    //! Rollback with an injected failure (`journal::inject`): a write that fails at any
    //! file leaves the folder as it was; a rename that fails after the journal is
    //! written leaves a journal the next run finishes, never a mix it cannot repair.

    use std::collections::BTreeMap;

    use super::*;
    use crate::output::journal::inject::{self, Step};
    use crate::output::journal::{self, STAGING};

    /// A small setup of every kind of file; `v` is in every file's contents. The second
    /// version also has a file in a folder the first did not have.
    fn bundle(v: u32) -> Bundle {
        let mut b = Bundle::default();
        b.dir("certs", "certificates");
        b.file(
            "certs/ca.key",
            Kind::CaKey,
            format!("ca key {v}\n"),
            "CA key",
        );
        b.file(
            "certs/ca.crt",
            Kind::CaCertificate,
            format!("ca {v}\n"),
            "CA",
        );
        b.file(
            "certs/redis-server.key",
            Kind::PrivateKey,
            format!("key {v}\n"),
            "key",
        );
        b.file(
            "certs/redis-server.crt",
            Kind::Certificate,
            format!("crt {v}\n"),
            "crt",
        );
        b.file("redis.conf", Kind::Config, format!("port {v}\n"), "config");
        if v > 1 {
            b.file(
                "nodes/n1/redis.conf",
                Kind::Config,
                format!("port {v}\n"),
                "node",
            );
        }
        b.file("users.acl", Kind::Secret, format!("user {v}\n"), "users");
        b.file(".env", Kind::Secret, format!("REDIS_PASSWORD={v}\n"), "env");
        b
    }

    /// The files the second version writes under --force, in commit order (keys first,
    /// `.env` last; the CA is kept). Spelled out, not derived from `commit_rank`.
    const FORCED: [&str; 6] = [
        "certs/redis-server.key",
        "certs/redis-server.crt",
        "redis.conf",
        "nodes/n1/redis.conf",
        "users.acl",
        ".env",
    ];

    const FORCE: Policy = Policy {
        force: true,
        replace_ca: false,
    };

    /// Every entry under `dir`, folders included: relative path -> (mode, bytes).
    fn snapshot(dir: &Path) -> BTreeMap<String, (u32, Vec<u8>)> {
        let mut out = BTreeMap::new();
        let mut stack = vec![dir.to_path_buf()];
        while let Some(d) = stack.pop() {
            for entry in fs::read_dir(&d).unwrap() {
                let path = entry.unwrap().path();
                let meta = fs::symlink_metadata(&path).unwrap();
                let rel = path.strip_prefix(dir).unwrap().display().to_string();
                let mode = meta.permissions().mode() & 0o7777;
                if meta.is_dir() {
                    stack.push(path);
                    out.insert(rel + "/", (mode, Vec::new()));
                } else {
                    out.insert(rel, (mode, fs::read(&path).unwrap()));
                }
            }
        }
        out
    }

    /// One run as the commands do it: take the lock (which recovers what an earlier run
    /// left), write, let go of the lock.
    fn run(out: &Path, bundle: &Bundle, policy: Policy, fail: Option<Step>) -> Result<Vec<Action>> {
        let lock = FolderLock::acquire(out)?;
        let _fail = fail.map(inject::fail_at);
        write(bundle, out, policy, &lock)
    }

    fn enospc(out: &Path, rel: &str) -> String {
        format!(
            "cannot write {}: No space left on device (os error 28)",
            out.join(rel).display()
        )
    }

    #[test]
    fn a_write_failing_at_any_file_leaves_the_folder_as_it_was() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out");
        run(&out, &bundle(1), Policy::default(), None).unwrap();
        let before = snapshot(&out);
        assert_eq!(before["certs/ca.key"], (0o600, b"ca key 1\n".to_vec()));
        for (n, rel) in FORCED.iter().enumerate() {
            let err = run(&out, &bundle(2), FORCE, Some(Step::Stage(n))).unwrap_err();
            assert_eq!(err.to_string(), enospc(&out, rel), "failing at file {n}");
            assert_eq!(err.exit_code(), 1);
            // Same files, bytes and modes; the folder the run made for nodes/n1 is gone,
            // and so are the staging folder, its half-written file and the lock file.
            assert_eq!(snapshot(&out), before, "failing at file {n} ({rel})");
        }
        // The journal itself cannot be written: nothing staged stays behind either.
        let err = run(&out, &bundle(2), FORCE, Some(Step::Journal)).unwrap_err();
        let tmp = out.join(STAGING).join("journal.tmp");
        assert_eq!(
            err.to_string(),
            format!(
                "cannot write {}: No space left on device (os error 28)",
                tmp.display()
            )
        );
        assert_eq!(snapshot(&out), before, "failing at the journal");
        // The injection is what failed: without it the same run goes through.
        run(&out, &bundle(2), FORCE, None).unwrap();
        assert_eq!(fs::read(out.join(".env")).unwrap(), b"REDIS_PASSWORD=2\n");
        assert_eq!(fs::read(out.join("certs/ca.key")).unwrap(), b"ca key 1\n");
    }

    #[test]
    fn a_first_run_failing_at_any_file_leaves_no_folder() {
        let files = bundle(1)
            .entries
            .iter()
            .filter(|e| e.kind != Kind::Dir)
            .count();
        for n in 0..files {
            let tmp = tempfile::tempdir().unwrap();
            let out = tmp.path().join("out");
            let err = run(&out, &bundle(1), Policy::default(), Some(Step::Stage(n))).unwrap_err();
            assert!(err.to_string().contains("No space left on device"), "{err}");
            assert!(!out.exists(), "failing at file {n}: {:?}", snapshot(&out));
        }
    }

    #[test]
    fn a_rename_failing_part_way_is_finished_by_the_next_run() {
        // What a whole run of the second version leaves, for comparison.
        let tmp = tempfile::tempdir().unwrap();
        let reference = tmp.path().join("reference");
        run(&reference, &bundle(1), Policy::default(), None).unwrap();
        run(&reference, &bundle(2), FORCE, None).unwrap();
        let whole = snapshot(&reference);
        for (n, rel) in FORCED.iter().enumerate() {
            let out = tmp.path().join(format!("out{n}"));
            run(&out, &bundle(1), Policy::default(), None).unwrap();
            let before = snapshot(&out);
            let err = run(&out, &bundle(2), FORCE, Some(Step::Rename(n))).unwrap_err();
            assert_eq!(
                err.to_string(),
                format!(
                    "{}; the journal in {} is kept: the next run on this folder finishes \
                     the commit once the cause is fixed",
                    enospc(&out, rel),
                    out.join(STAGING).display()
                )
            );
            // Files before the failed rename are new, the others still old (or absent),
            // the CA is untouched, and verify sees the interrupted commit.
            let now = snapshot(&out);
            for (i, f) in FORCED.iter().enumerate() {
                let want = if i < n { whole.get(*f) } else { before.get(*f) };
                assert_eq!(now.get(*f), want, "rename {n} failed: {f}");
            }
            for f in ["certs/ca.key", "certs/ca.crt"] {
                assert_eq!(now[f], before[f], "rename {n} failed: {f}");
            }
            let leftovers = journal::leftovers(&out);
            assert_eq!(leftovers.len(), 1, "{leftovers:?}");
            assert_eq!(leftovers[0].0, out.join(STAGING).display().to_string());
            // The next run finishes the commit as soon as it holds the lock.
            drop(FolderLock::acquire(&out).unwrap());
            assert_eq!(snapshot(&out), whole, "after rename {n} failed and a rerun");
        }
    }
}
