//! A generated folder read back: its record of the settings that made it
//! (`kimera-redis.toml`, see `record`), `.env`, each server's redis.conf and the
//! certificates, for `verify`, `renew` and `doctor`. A folder made before the record is
//! read from its files alone, and `inferred_note` is what a command says about it, once.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use crate::config::layout;
use crate::config::record::Record;
use crate::error::{Error, Result};
use crate::readback::redisconf;

/// One server's configuration as written.
#[derive(Clone)]
pub(crate) struct ServerConf {
    /// Relative to the folder.
    pub(crate) rel: String,
    pub(crate) directives: Vec<(String, Vec<String>)>,
}

impl std::fmt::Debug for ServerConf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerConf")
            .field("rel", &self.rel)
            .field("directives", &crate::redact::Directives(&self.directives))
            .finish()
    }
}

impl ServerConf {
    pub(crate) fn value(&self, name: &str) -> Option<&str> {
        redisconf::value(&self.directives, name)
    }

    pub(crate) fn tls(&self) -> bool {
        self.value("tls-port").is_some_and(|p| p != "0")
    }

    /// The port clients use: `tls-port` on TLS servers, `port` otherwise.
    pub(crate) fn client_port(&self) -> Option<u16> {
        let key = if self.tls() { "tls-port" } else { "port" };
        self.value(key).and_then(|p| p.parse().ok())
    }
}

pub(crate) struct Folder {
    pub(crate) dir: PathBuf,
    /// The settings the folder was made with (`kimera-redis.toml`); `Err` says why there
    /// is none, and everything is then inferred from the files, as before the record.
    pub(crate) record: std::result::Result<Record, String>,
    pub(crate) env: BTreeMap<String, String>,
    pub(crate) servers: Vec<ServerConf>,
    /// Leaf certificates under certs/ (everything but ca.crt), relative paths, sorted.
    pub(crate) leaves: Vec<String>,
}

impl std::fmt::Debug for Folder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Folder")
            .field("dir", &self.dir)
            .field("record", &self.record)
            .field("env", &crate::redact::Env(&self.env))
            .field("servers", &self.servers)
            .field("leaves", &self.leaves)
            .finish()
    }
}

impl Folder {
    pub(crate) fn read(dir: &Path) -> Result<Folder> {
        // Absolute, as the paths inside the generated files are: they are compared.
        let dir = &std::path::absolute(dir)
            .map_err(|e| Error::usage(format!("{}: {e}", dir.display())))?;
        let env_path = dir.join(layout::ENV);
        // Absent, not merely unreadable: a FIFO or a folder there is named by read_env.
        if env_path.symlink_metadata().is_err() {
            return Err(Error::usage(format!(
                "{}: not a folder made by kimera-redis-init (it has no .env); allowed: the --out folder of a generate run",
                dir.display()
            )));
        }
        let env = read_env(&env_path)?;

        let mut conf_paths = Vec::new();
        if dir.join(layout::REDIS_CONF).is_file() {
            conf_paths.push(layout::REDIS_CONF.to_owned());
        }
        for name in sorted_names(&dir.join(layout::NODES_DIR))? {
            let rel = format!("{}/redis.conf", layout::node_dir(&name));
            if dir.join(&rel).is_file() {
                conf_paths.push(rel);
            }
        }
        let servers = conf_paths
            .into_iter()
            .map(|rel| {
                let text = crate::regularfile::text(&dir.join(&rel))?;
                Ok(ServerConf {
                    directives: redisconf::parse(&text),
                    rel,
                })
            })
            .collect::<Result<Vec<_>>>()?;

        let leaves = sorted_names(&dir.join(layout::CERTS_DIR))?
            .into_iter()
            .filter(|n| n.ends_with(".crt") && n != "ca.crt")
            .map(|n| format!("{}/{n}", layout::CERTS_DIR))
            .collect();
        let record = match crate::regularfile::read_text(&dir.join(layout::RECORD)) {
            Ok(text) => Record::parse(&text)
                .map_err(|why| format!("{} cannot be read ({why})", layout::RECORD)),
            Err(e) if e.is_missing() => Err(format!(
                "has no {} (made before folders recorded their settings)",
                layout::RECORD
            )),
            Err(e) => Err(format!("{}: {e}", layout::RECORD)),
        };
        Ok(Folder {
            dir: dir.to_path_buf(),
            record,
            env,
            servers,
            leaves,
        })
    }

    /// The record, when the folder has one that reads.
    pub(crate) fn recorded(&self) -> Option<&Record> {
        self.record.as_ref().ok()
    }

    /// The one line a command prints (to stderr, so `--json` stays JSON) when the folder
    /// has no record and its settings are inferred from its files.
    pub(crate) fn inferred_note(&self) -> Option<String> {
        self.record.as_ref().err().map(|why| {
            format!(
                "note: {} {}: its settings are inferred from its files; a re-run of generate with its flags records them",
                crate::printable::path(&self.dir),
                crate::printable::text(why)
            )
        })
    }

    /// The server the folder was written for, whose programs printed hints name: the
    /// record's `--server`; Redis for a folder from before it was recorded.
    fn target(&self) -> crate::config::target::Target {
        use crate::config::target::{ServerKind, Target};
        let kind = self
            .recorded()
            .and_then(|r| r.server_kind.as_deref())
            .and_then(ServerKind::from_name)
            .unwrap_or(ServerKind::Redis);
        Target {
            kind,
            version: kind.default_version(),
        }
    }

    /// `redis-server` or `valkey-server`, as the folder was written for.
    pub(crate) fn server_program(&self) -> &'static str {
        self.target().server_program()
    }

    /// `redis-cli` or `valkey-cli`, as the folder was written for.
    pub(crate) fn cli_program(&self) -> &'static str {
        self.target().cli_program()
    }

    pub(crate) fn env(&self, key: &str) -> &str {
        self.env.get(key).map(String::as_str).unwrap_or("")
    }

    /// REDIS_SSL as the app reads it (pydantic's bool forms: `True`, `yes`, `1` ...).
    pub(crate) fn tls(&self) -> bool {
        crate::config::envrules::parse_bool(self.env("REDIS_SSL")).unwrap_or(false)
    }

    pub(crate) fn cluster(&self) -> bool {
        crate::config::envrules::parse_bool(self.env("REDIS_CLUSTER_MODE")).unwrap_or(false)
    }

    /// `.env` read with the app's semantics, and every value the app could not use.
    pub(crate) fn app_env(
        &self,
    ) -> (
        crate::readback::envcheck::AppEnv,
        Vec<crate::readback::envcheck::EnvProblem>,
    ) {
        crate::readback::envcheck::check(&self.env)
    }

    /// The server clients reach at `host:port`: the only server, or the cluster node that
    /// listens on that port and announces that host.
    pub(crate) fn server_on(&self, host: &str, port: u16) -> Option<&ServerConf> {
        let on_port = |s: &&ServerConf| s.client_port() == Some(port);
        if self.servers.len() == 1 {
            return self.servers.iter().find(on_port);
        }
        self.servers.iter().filter(on_port).find(|s| {
            [
                s.value("cluster-announce-ip"),
                s.value("cluster-announce-hostname"),
            ]
            .into_iter()
            .flatten()
            .any(|announced| announced.eq_ignore_ascii_case(host))
        })
    }

    /// The fingerprints the record pins: the CA, and the next one during a rollover.
    /// `None` for a folder whose record pins nothing (made before pins) or has no record.
    pub(crate) fn pins(&self) -> Option<Vec<&str>> {
        let record = self.recorded()?;
        let ca = record.ca_sha256.as_deref()?;
        Some(
            [Some(ca), record.next_ca_sha256.as_deref()]
                .into_iter()
                .flatten()
                .collect(),
        )
    }

    /// The CAs this folder trusts, as DER, in `certs/ca.crt`'s order: those the record
    /// pins. Whatever else was appended to `ca.crt` is never trusted. A folder whose
    /// record pins nothing trusts the certificates of `ca.crt` whose key it holds
    /// (`certs/ca.key`, `ca-rollover/ca-next.key`), or, issued under an organisation's
    /// CA (no key here), the first one alone.
    pub(crate) fn pinned_cas(&self) -> Vec<Vec<u8>> {
        let Ok(pem) = crate::regularfile::read_text(&self.dir.join(layout::CA_CERT)) else {
            return Vec::new();
        };
        let Ok(all) = crate::certificate::all_from_pem(layout::CA_CERT, &pem) else {
            return Vec::new();
        };
        if let Some(pins) = self.pins() {
            return all
                .into_iter()
                .filter(|der| pins.contains(&crate::digest::fingerprint(der).as_str()))
                .collect();
        }
        let own_keys: Vec<Vec<u8>> = [layout::CA_KEY, layout::CA_NEXT_KEY]
            .iter()
            .filter_map(|rel| crate::regularfile::read_text(&self.dir.join(rel)).ok())
            .filter_map(|pem| rcgen::KeyPair::from_pem(&pem).ok())
            .map(|key| rcgen::PublicKeyData::der_bytes(&key).to_vec())
            .collect();
        if own_keys.is_empty() {
            return all.into_iter().take(1).collect();
        }
        all.into_iter()
            .filter(|der| {
                crate::certificate::from_der(layout::CA_CERT, der)
                    .is_ok_and(|info| own_keys.contains(&info.public_key))
            })
            .collect()
    }

    /// The private key that goes with a certificate: same name, `.key`.
    pub(crate) fn key_for(cert_rel: &str) -> String {
        format!("{}.key", cert_rel.trim_end_matches(".crt"))
    }
}

pub(crate) use crate::readback::envcheck::read_env;

fn sorted_names(dir: &Path) -> Result<Vec<String>> {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => {
            return Err(Error::failed(format!(
                "{}: cannot be read: {e}",
                dir.display()
            )));
        }
    };
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.'))
        .collect();
    names.sort();
    Ok(names)
}
