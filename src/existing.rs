//! What a previous run left in the output folder: read (never written) so that a re-run
//! reuses the CA, keeps existing keys and keeps the password the app already uses.

use std::fs;
use std::io::ErrorKind;
use std::path::Path;

use crate::error::{Error, Result};
use crate::layout;

/// The parts of an earlier bundle that this run must build on.
#[derive(Debug, Default)]
pub struct Existing {
    pub ca_cert: Option<String>,
    pub ca_key: Option<String>,
    pub server_cert: Option<String>,
    pub server_key: Option<String>,
    pub client_cert: Option<String>,
    pub client_key: Option<String>,
    /// The password the existing `.env` (or else `redis.properties`) holds.
    pub password: Option<String>,
    pub acl_exists: bool,
}

impl Existing {
    pub fn read(out_dir: &Path) -> Result<Existing> {
        let read = |rel: &str| read_optional(&out_dir.join(rel));
        let env = read(layout::ENV)?;
        let properties = read(layout::PROPERTIES)?;
        Ok(Existing {
            ca_cert: read(layout::CA_CERT)?,
            ca_key: read(layout::CA_KEY)?,
            server_cert: read(layout::SERVER_CERT)?,
            server_key: read(layout::SERVER_KEY)?,
            client_cert: read(layout::CLIENT_CERT)?,
            client_key: read(layout::CLIENT_KEY)?,
            password: env
                .as_deref()
                .and_then(|t| password_from(t, "REDIS_PASSWORD="))
                .or_else(|| {
                    properties
                        .as_deref()
                        .and_then(|t| password_from(t, "redis.password="))
                }),
            acl_exists: out_dir.join(layout::ACL).exists(),
        })
    }
}

fn read_optional(path: &Path) -> Result<Option<String>> {
    match fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::failed(format!(
            "cannot read {}: {e}",
            path.display()
        ))),
    }
}

/// The generated password is alphanumeric, so both files hold it bare after `prefix`.
fn password_from(text: &str, prefix: &str) -> Option<String> {
    text.lines()
        .find_map(|l| l.strip_prefix(prefix))
        .map(str::trim)
        .filter(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric()))
        .map(str::to_owned)
}
