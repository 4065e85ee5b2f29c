//! Files the user names on the command line (profile files, `--ca-cert`, `--ca-key`) are
//! read only when they are regular files of a sane size: a FIFO would hang the run and
//! `/dev/zero` would be read until memory runs out.

use std::fs::OpenOptions;
use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use crate::error::{Error, Result};

/// Larger than any profile, certificate chain or key this tool reads.
pub(crate) const MAX_BYTES: u64 = 1024 * 1024;

/// The text of `path`, given with `flag`; exit 2 naming the flag when it is not a
/// regular UTF-8 file of at most `MAX_BYTES`.
pub(crate) fn read(flag: &str, path: &Path) -> Result<String> {
    let bad = |why: String| {
        Error::usage(format!(
            "{flag} {}: {why}; allowed: a regular file of at most {} KiB",
            path.display(),
            MAX_BYTES / 1024
        ))
    };
    // O_NONBLOCK: opening a FIFO with no writer returns at once instead of waiting.
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)
        .map_err(|e| bad(format!("cannot be read: {e}")))?;
    let meta = file
        .metadata()
        .map_err(|e| bad(format!("cannot be read: {e}")))?;
    if !meta.is_file() {
        return Err(bad("not a regular file".to_owned()));
    }
    if meta.len() > MAX_BYTES {
        return Err(bad(format!("{} bytes is too large", meta.len())));
    }
    let mut bytes = Vec::new();
    // The size may change while reading: never read more than the cap.
    file.take(MAX_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| bad(format!("cannot be read: {e}")))?;
    if bytes.len() as u64 > MAX_BYTES {
        return Err(bad("grew too large while being read".to_owned()));
    }
    String::from_utf8(bytes).map_err(|_| bad("not UTF-8 text".to_owned()))
}
