//! One module per subcommand.

pub(crate) mod docs;
pub(crate) mod doctor;
pub(crate) mod generate;
pub(crate) mod inspect;
pub(crate) mod profiles;
pub(crate) mod renew;
pub(crate) mod rotate_password;
pub(crate) mod stdout;
pub(crate) mod verify;

use std::path::Path;

use crate::config::layout;
use crate::error::Result;
use crate::output::lock::FolderLock;
use crate::readback::folder::Folder;

/// A generated folder, read under its lock, for a command that changes it (renew,
/// rotate-password): a path that is no generated folder is refused before the lock is
/// taken; a folder a killed run left half-written is finished by taking it; a record
/// that is there but no regular file (a FIFO, a link to /dev/zero) is no record this tool
/// wrote and is refused; a record verify would not believe (edited: a key type, a
/// validity) is set aside with a note, as verify does.
pub(crate) fn folder_under_lock(dir: &Path) -> Result<(FolderLock, Folder)> {
    if !dir.join(crate::output::journal::STAGING).is_dir() {
        Folder::read(dir)?;
    }
    let lock = FolderLock::acquire(dir)?;
    if let Some(note) = lock.finished_note(dir) {
        eprintln!("{note}");
    }
    let mut folder = Folder::read(dir)?;
    match crate::regularfile::check(&folder.dir.join(layout::RECORD)) {
        Err(e) if !e.is_missing() => return Err(e.at(&folder.dir.join(layout::RECORD))),
        _ => {}
    }
    for finding in verify::regenerated::settle_record(&mut folder) {
        eprintln!("note: {finding}");
    }
    if let Some(note) = folder.inferred_note() {
        eprintln!("{note}");
    }
    Ok((lock, folder))
}
