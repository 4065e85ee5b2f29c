//! The one way this tool reads a file: only a regular file, and only up to a size cap.
//! A folder is not trusted to hold what the tool wrote into it: a FIFO there would hang
//! the read forever (while a writing command holds the folder lock), and a link to
//! `/dev/zero` would be read until memory runs out.
//!
//! The type is checked before opening (so a device is never opened), the open does not
//! wait (`O_NONBLOCK`: a FIFO without a writer opens at once) and the type is checked
//! again on the open file (the path may have been swapped in between). Links are
//! followed: what counts is the file they lead to.

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::Read;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

use crate::error::Error;

/// The most any file this tool reads may hold. The largest file it writes and reads back
/// is a cluster's record, about 141 bytes a node (141 KiB for 1000 nodes); a store or a
/// certificate is a few KiB. 4 MiB leaves room for the largest clusters Redis supports
/// while a hostile file costs at most that much memory.
pub(crate) const MAX_BYTES: u64 = 4 * 1024 * 1024;

/// Why a file was not read. `Display` says what was found, without the path; `at`
/// makes the crate's error naming the path.
#[derive(Debug)]
pub(crate) enum Unreadable {
    /// The open or the read failed (including: no such file).
    Io(std::io::Error),
    /// Something other than a regular file: "a FIFO", "a folder", ...
    NotRegular(&'static str),
    /// More than `cap` bytes (`size` is what was seen: the size, or what was read).
    TooLarge { size: u64, cap: u64 },
    /// `text` only: the bytes are not UTF-8.
    NotText,
}

impl Unreadable {
    /// No file at the path (a dangling link counts as none).
    pub(crate) fn is_missing(&self) -> bool {
        matches!(self, Unreadable::Io(e) if e.kind() == std::io::ErrorKind::NotFound)
    }

    /// The crate's error (exit 1), one line naming `path`.
    pub(crate) fn at(&self, path: &Path) -> Error {
        Error::failed(format!("{}: {self}", crate::printable::path(path)))
    }
}

impl fmt::Display for Unreadable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unreadable::Io(e) => write!(f, "cannot be read: {e}"),
            Unreadable::NotRegular(what) => write!(f, "is {what}, not a regular file"),
            Unreadable::TooLarge { size, cap } => write!(
                f,
                "is {}, more than the {} a kimera-redis-init file can be",
                size_text(*size),
                size_text(*cap)
            ),
            Unreadable::NotText => f.write_str("is not UTF-8 text"),
        }
    }
}

/// The bytes of `path`, a regular file of at most `MAX_BYTES`.
pub(crate) fn read(path: &Path) -> Result<Vec<u8>, Unreadable> {
    read_capped(path, MAX_BYTES)
}

/// The text of `path`, a regular UTF-8 file of at most `MAX_BYTES`.
pub(crate) fn read_text(path: &Path) -> Result<String, Unreadable> {
    String::from_utf8(read(path)?).map_err(|_| Unreadable::NotText)
}

/// `read_text` with the crate's error naming the path.
pub(crate) fn text(path: &Path) -> crate::error::Result<String> {
    read_text(path).map_err(|e| e.at(path))
}

/// Whether `path` could be read (a regular file within the cap), without reading it.
pub(crate) fn check(path: &Path) -> Result<(), Unreadable> {
    let (_, len) = open(path)?;
    if len > MAX_BYTES {
        return Err(Unreadable::TooLarge {
            size: len,
            cap: MAX_BYTES,
        });
    }
    Ok(())
}

/// The bytes of `path`, a regular file of at most `cap` bytes.
pub(crate) fn read_capped(path: &Path, cap: u64) -> Result<Vec<u8>, Unreadable> {
    let (file, len) = open(path)?;
    if len > cap {
        return Err(Unreadable::TooLarge { size: len, cap });
    }
    let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    // The file may grow while it is read: never read more than one byte past the cap.
    file.take(cap.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(Unreadable::Io)?;
    if bytes.len() as u64 > cap {
        return Err(Unreadable::TooLarge {
            size: bytes.len() as u64,
            cap,
        });
    }
    Ok(bytes)
}

/// The open file and its size, when `path` is a regular file.
fn open(path: &Path) -> Result<(File, u64), Unreadable> {
    // Before opening: a device is not even opened (opening one can have effects).
    let before = std::fs::metadata(path).map_err(Unreadable::Io)?;
    regular(&before.file_type())?;
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY | libc::O_CLOEXEC)
        .open(path)
        .map_err(Unreadable::Io)?;
    // After opening: what was opened, which may not be what was looked at.
    let meta = file.metadata().map_err(Unreadable::Io)?;
    regular(&meta.file_type())?;
    Ok((file, meta.len()))
}

fn regular(t: &std::fs::FileType) -> Result<(), Unreadable> {
    let what = if t.is_file() {
        return Ok(());
    } else if t.is_dir() {
        "a folder"
    } else if t.is_fifo() {
        "a FIFO"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_socket() {
        "a socket"
    } else {
        "not a file"
    };
    Err(Unreadable::NotRegular(what))
}

/// A size as people read it: `5 GiB`, `4.1 MiB` (rounded up, so that a size just over a
/// cap never reads as the cap), `12 bytes`.
fn size_text(bytes: u64) -> String {
    const UNITS: [(u64, &str); 3] = [(1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")];
    for (unit, name) in UNITS {
        if bytes >= unit {
            if bytes.is_multiple_of(unit) {
                return format!("{} {name}", bytes / unit);
            }
            let tenths = (u128::from(bytes) * 10).div_ceil(u128::from(unit));
            return format!("{}.{} {name}", tenths / 10, tenths % 10);
        }
    }
    format!("{bytes} bytes")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[test]
    fn a_regular_file_is_read_whole() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f.txt");
        std::fs::write(&p, "hello\n").unwrap();
        assert_eq!(read(&p).unwrap(), b"hello\n");
        assert_eq!(text(&p).unwrap(), "hello\n");
        assert!(check(&p).is_ok());
    }

    #[test]
    fn a_missing_file_and_a_dangling_link_are_missing() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("absent");
        assert!(read(&p).unwrap_err().is_missing());
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&p, &link).unwrap();
        assert!(read(&link).unwrap_err().is_missing());
    }

    #[test]
    fn a_fifo_is_refused_at_once_and_named() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("kimera-redis.toml");
        let c = std::ffi::CString::new(p.to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path; mkfifo only creates the node.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let started = Instant::now();
        let e = read(&p).unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(2));
        assert!(matches!(e, Unreadable::NotRegular("a FIFO")), "{e:?}");
        let msg = text(&p).unwrap_err().to_string();
        assert!(
            msg.contains("kimera-redis.toml: is a FIFO, not a regular file"),
            "{msg}"
        );
        assert!(check(&p).is_err());
    }

    #[test]
    fn dev_zero_and_a_link_to_it_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let link = dir.path().join("zero");
        std::os::unix::fs::symlink("/dev/zero", &link).unwrap();
        for p in [Path::new("/dev/zero"), link.as_path()] {
            let e = read(p).unwrap_err();
            assert!(
                matches!(e, Unreadable::NotRegular("a character device")),
                "{e:?}"
            );
        }
    }

    #[test]
    fn a_folder_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let e = read(dir.path()).unwrap_err();
        assert_eq!(e.to_string(), "is a folder, not a regular file");
    }

    #[test]
    fn a_file_over_the_cap_is_refused_without_reading_it() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("big");
        // Sparse: 5 GiB long, no disk space taken, and reading it would take minutes.
        let f = File::create(&p).unwrap();
        f.set_len(5 << 30).unwrap();
        let started = Instant::now();
        let e = read(&p).unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(2));
        assert_eq!(
            e.to_string(),
            "is 5 GiB, more than the 4 MiB a kimera-redis-init file can be"
        );
        assert!(check(&p).is_err());
    }

    #[test]
    fn the_cap_is_exact() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, [b'x'; 10]).unwrap();
        assert_eq!(read_capped(&p, 10).unwrap().len(), 10);
        assert!(matches!(
            read_capped(&p, 9),
            Err(Unreadable::TooLarge { size: 10, cap: 9 })
        ));
    }

    #[test]
    fn non_utf8_is_not_text() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, [0xff, 0xfe]).unwrap();
        assert!(matches!(read_text(&p), Err(Unreadable::NotText)));
    }

    #[test]
    fn sizes_read_as_people_read_them() {
        assert_eq!(size_text(12), "12 bytes");
        assert_eq!(size_text(4 << 20), "4 MiB");
        assert_eq!(size_text((4 << 20) + 1), "4.1 MiB");
        assert_eq!(size_text(5 << 30), "5 GiB");
    }
}
