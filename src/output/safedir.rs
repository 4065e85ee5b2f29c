//! Folders the tool writes into must be its user's alone: a folder that group or others
//! can write lets anyone on the machine swap `ca.crt` or `users.acl`, and a symbolic link
//! inside the output folder would send keys and passwords elsewhere. Checked before a
//! run reads the folder and again for every folder a bundle writes into.

use std::fs;
use std::io::ErrorKind;
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path};

use crate::config::layout;
use crate::error::{Error, Result};

/// `dir` (the output folder) and the folders of the layout under it, where they exist.
pub(crate) fn check_output_folder(dir: &Path) -> Result<()> {
    check(dir, true)?;
    for sub in [
        layout::CERTS_DIR,
        layout::DATA_DIR,
        layout::NODES_DIR,
        crate::render::fixtures::DIR,
    ] {
        check(&dir.join(sub), false)?;
    }
    if let Ok(nodes) = fs::read_dir(dir.join(layout::NODES_DIR)) {
        for node in nodes.filter_map(|e| e.ok()) {
            check(&node.path(), false)?;
            check(&node.path().join(layout::DATA_DIR), false)?;
        }
    }
    Ok(())
}

/// Every existing folder between `out_dir` and `rel` (a bundle path), and `rel` itself
/// when `is_dir`.
pub(crate) fn check_path(out_dir: &Path, rel: &str, is_dir: bool) -> Result<()> {
    let mut path = out_dir.to_path_buf();
    let components: Vec<Component> = Path::new(rel).components().collect();
    let folders = if is_dir {
        components.len()
    } else {
        components.len().saturating_sub(1)
    };
    for c in &components[..folders] {
        path.push(c);
        check(&path, false)?;
    }
    Ok(())
}

/// A folder that exists must be a real folder (not a link: links are not followed
/// inside the output folder; the output folder itself may be reached through one) that
/// only its owner can write.
fn check(path: &Path, top: bool) -> Result<()> {
    let meta = match fs::symlink_metadata(path) {
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
        Err(e) => {
            return Err(Error::failed(format!(
                "cannot look at {}: {e}",
                path.display()
            )));
        }
        Ok(m) if m.file_type().is_symlink() && top => match fs::metadata(path) {
            Ok(m) => m,
            Err(e) => return Err(Error::usage(format!("--out {}: {e}", path.display()))),
        },
        Ok(m) => m,
    };
    if meta.file_type().is_symlink() {
        return Err(Error::usage(format!(
            "{} is a symbolic link; allowed: a real folder (links inside the output folder \
             are not followed: they could send keys and passwords elsewhere)",
            path.display()
        )));
    }
    if !meta.is_dir() {
        // The writer reports a file in the way of a folder.
        return Ok(());
    }
    let mode = meta.permissions().mode() & 0o7777;
    if mode & 0o022 != 0 {
        return Err(Error::usage(format!(
            "{} is writable by {} (mode {mode:04o}): anyone on this machine could swap the \
             certificates or users.acl in it; allowed: a folder only its owner can write \
             (chmod go-w {})",
            path.display(),
            if mode & 0o002 != 0 {
                "everyone"
            } else {
                "its group"
            },
            path.display()
        )));
    }
    Ok(())
}
