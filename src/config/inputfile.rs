//! Files the user names on the command line (profile files, `--ca-cert`, `--ca-key`) are
//! read only when they are regular files of a sane size (`regularfile`): a FIFO would
//! hang the run and `/dev/zero` would be read until memory runs out. Unlike a file of the
//! folder, such a file is the user's input: refused with exit 2, naming the flag.

use std::path::Path;

use crate::error::{Error, Result};
use crate::regularfile;

/// Larger than any profile, certificate chain or key this tool reads.
pub(crate) const MAX_BYTES: u64 = 1024 * 1024;

/// The text of `path`, given with `flag`; exit 2 naming the flag when it is not a
/// regular UTF-8 file of at most `MAX_BYTES`.
pub(crate) fn read(flag: &str, path: &Path) -> Result<String> {
    let bad = |why: regularfile::Unreadable| {
        Error::usage(format!(
            "{flag} {}: {why}; allowed: a regular file of at most {} KiB",
            crate::printable::path(path),
            MAX_BYTES / 1024
        ))
    };
    let bytes = regularfile::read_capped(path, MAX_BYTES).map_err(bad)?;
    String::from_utf8(bytes).map_err(|_| bad(regularfile::Unreadable::NotText))
}
