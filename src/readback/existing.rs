//! What a previous run left in the output folder: read (never written) so that a re-run
//! reuses the CA, keeps existing keys and keeps the passwords that are already in use.
//! The re-run's side of the read-back model (`folder` is the commands' side): its files
//! are parsed by the same readers, `.env` files by `envcheck::parse_env` and redis.conf
//! by `redisconf`, so a value verify accepts is one a re-run reuses.

use std::collections::HashMap;

use crate::config::layout;
use crate::config::settings::Settings;
use crate::error::{Error, Result};
use crate::regularfile::Unreadable;

/// The files of an earlier bundle that this run builds on, by relative path.
#[derive(Default)]
pub(crate) struct Existing {
    files: HashMap<String, String>,
    /// `--ca-cert` and `--ca-key`, read.
    external_ca: Option<(String, String)>,
}

/// Names only: the files hold keys and passwords.
impl std::fmt::Debug for Existing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut files: Vec<&String> = self.files.keys().collect();
        files.sort();
        f.debug_struct("Existing")
            .field("files", &files)
            .field(
                "external_ca",
                &self.external_ca.as_ref().map(|_| crate::redact::Redacted),
            )
            .finish()
    }
}

impl Existing {
    /// Read every file this run might reuse: certificates, keys and secret holders.
    pub(crate) fn read(settings: &Settings) -> Result<Existing> {
        let mut paths: Vec<String> = [
            layout::CA_CERT,
            layout::CA_KEY,
            layout::CLIENT_CERT,
            layout::CLIENT_KEY,
            layout::ENV,
            layout::PROPERTIES,
            layout::ADMIN_ENV,
            layout::ACL,
            layout::METRICS_ENV,
            layout::METRICS_CERT,
            layout::METRICS_KEY,
            layout::PASSWORD_ROTATION,
        ]
        .map(String::from)
        .to_vec();
        for node in &settings.nodes {
            paths.extend([node.cert.clone(), node.key.clone(), node.conf.clone()]);
            if settings.metrics.is_some() && settings.is_cluster() {
                paths.push(layout::node_metrics_env(&node.name));
            }
        }
        if settings.kubernetes.is_some() {
            paths.extend([
                layout::KUBERNETES_SERVER_CERT.to_owned(),
                layout::KUBERNETES_SERVER_KEY.to_owned(),
                layout::KUBERNETES_JOB_CERT.to_owned(),
                layout::KUBERNETES_JOB_KEY.to_owned(),
            ]);
        }
        let mut files = HashMap::new();
        for rel in paths {
            let path = settings.out_dir.join(&rel);
            match crate::regularfile::read_text(&path) {
                Ok(text) => {
                    files.insert(rel, text);
                }
                Err(e) if e.is_missing() => {}
                Err(Unreadable::NotRegular("a folder")) => {
                    return Err(Error::failed(format!(
                        "{} is in the way: expected a file, found a folder",
                        crate::printable::path(&path)
                    )));
                }
                // A FIFO would hang the run, a link to /dev/zero exhaust its memory: the
                // file is not one this tool wrote, and is named rather than replaced.
                Err(e @ (Unreadable::NotRegular(_) | Unreadable::TooLarge { .. })) => {
                    return Err(Error::failed(format!(
                        "{}: {e}; it is not a file kimera-redis-init wrote: look at it, and \
                         remove it (rm -r {}) to have it written again",
                        crate::printable::path(&path),
                        crate::printable::text(&crate::printable::sh_word(
                            &path.display().to_string()
                        ))
                    )));
                }
                Err(e) => return Err(e.at(&path)),
            }
        }
        let external_ca = match &settings.external_ca {
            Some((cert, key)) => Some((
                crate::config::inputfile::read("--ca-cert", cert)?,
                crate::config::inputfile::read("--ca-key", key)?,
            )),
            None => None,
        };
        Ok(Existing { files, external_ca })
    }

    /// The organisation's CA given with `--ca-cert/--ca-key`: (certificate, key) PEM.
    pub(crate) fn external_ca(&self) -> Option<(&str, &str)> {
        self.external_ca
            .as_ref()
            .map(|(c, k)| (c.as_str(), k.as_str()))
    }

    /// The folder as it will be once `text` is written at `rel` (a renewed certificate,
    /// say), for rendering what depends on it; nothing is written here.
    pub(crate) fn overlay(&mut self, rel: &str, text: String) {
        self.files.insert(rel.to_owned(), text);
    }

    pub(crate) fn get(&self, rel: &str) -> Option<&str> {
        self.files.get(rel).map(String::as_str)
    }

    pub(crate) fn exists(&self, rel: &str) -> bool {
        self.files.contains_key(rel)
    }

    /// The password `key` holds in `rel`, read by the reader that file has everywhere
    /// (`.env` files by `envcheck::parse_env`, redis.conf by `redisconf`, the last value
    /// winning as for the app and Redis), when it is one this tool could have generated
    /// (alphanumeric). `key` may end in the `=` or space that separates it from the value.
    pub(crate) fn password(&self, rel: &str, key: &str) -> Option<String> {
        let text = self.get(rel)?;
        let key = key.trim_end_matches(['=', ' ']);
        let value = if rel.ends_with(".env") {
            crate::readback::envcheck::parse_env(text).ok()?.remove(key)
        } else if rel.ends_with(".conf") {
            crate::readback::redisconf::value(&crate::readback::redisconf::parse(text), key)
                .map(str::to_owned)
        } else {
            // redis.properties: `key=value` lines, as the guide's quick reference has them.
            text.lines()
                .rev()
                .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
                .map(|v| v.trim().trim_matches('"').to_owned())
        };
        value.filter(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric()))
    }
}
