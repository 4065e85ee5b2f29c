//! Every file of the layout that is present is a regular file of bounded size. The
//! readers refuse anything else (`regularfile`) and several checks then skip the file, so
//! a FIFO, a device or a huge file in place of the tool's own file is reported here: the
//! folder is not ok while a command reading it would be refused.

use std::path::Path;

use crate::config::layout;
use crate::regularfile::{self, Unreadable};
use crate::render::escape::sh_word;

/// The files of the layout at fixed places (certificates, keys and node configs are
/// found by listing their folders).
const FIXED: &[&str] = &[
    layout::ENV,
    layout::RECORD,
    layout::PROPERTIES,
    layout::REDIS_CONF,
    layout::ACL,
    layout::COMPOSE,
    layout::ADMIN_ENV,
    layout::CLUSTER_CREATE,
    layout::CLIENT_P12,
    layout::TRUSTSTORE_P12,
    layout::STORE_PASSWORD,
    layout::CA_NEXT_CERT,
    layout::CA_NEXT_KEY,
    layout::CA_ROLLOVER,
    layout::PASSWORD_ROTATION,
];

impl super::Checker<'_> {
    /// Run after the other checks: a file they already reported as unreadable is not
    /// reported twice.
    pub(super) fn files(&mut self) {
        self.check = "files";
        let dir = self.folder.dir.clone();
        for rel in expected(&dir) {
            let path = dir.join(&rel);
            // Only what is there: a missing file is the other checks' finding.
            if path.symlink_metadata().is_err() {
                continue;
            }
            let problem = match regularfile::check(&path) {
                Err(e @ (Unreadable::NotRegular(_) | Unreadable::TooLarge { .. })) => {
                    Some(e.to_string())
                }
                // Missing behind a link, or unreadable for another reason: reported by
                // the checks that read it, with their fixes.
                _ => None,
            };
            let reported = |p: &String| {
                self.findings
                    .iter()
                    .any(|f| f.path == rel && f.problem.contains(p.as_str()))
            };
            if problem.as_ref().is_some_and(reported) {
                continue;
            }
            let rm = crate::printable::text(&sh_word(&path.display().to_string()));
            let fix = if rel == layout::CA_KEY || rel == layout::CA_CERT {
                // Nothing writes the CA key again: its certificate would not match.
                format!(
                    "look at it (kimera-redis-init writes regular files of a few KiB), then \
                     move it away and put the CA's files back from a backup; without one, {}",
                    super::fixes::lost_ca(self.folder)
                )
            } else {
                format!(
                    "look at it (kimera-redis-init writes regular files of a few KiB), then \
                     remove it (rm -r {rm}) and run `{} --force` to write it again",
                    super::fixes::generate_command(self.folder)
                )
            };
            self.expect(&rel, problem, fix);
        }
        let (problem, fix) = crate::output::lock::lock_path_problem(&dir).unzip();
        self.expect(
            crate::output::lock::LOCK_FILE,
            problem,
            fix.unwrap_or_default(),
        );
    }
}

/// The layout's files under `dir`, relative, each once.
fn expected(dir: &Path) -> Vec<String> {
    let mut out: Vec<String> = FIXED.iter().map(|s| (*s).to_owned()).collect();
    for name in names(&dir.join(layout::CERTS_DIR)) {
        let rel = format!("{}/{name}", layout::CERTS_DIR);
        if (name.ends_with(".crt") || name.ends_with(".key")) && !out.contains(&rel) {
            out.push(rel);
        }
    }
    for name in names(&dir.join(layout::NODES_DIR)) {
        out.push(format!("{}/redis.conf", layout::node_dir(&name)));
    }
    out
}

/// The names in a folder, sorted; none when it cannot be listed.
fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| !n.starts_with('.'))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}
