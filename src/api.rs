//! The library entry point for test suites: a builder over the same settings the CLI
//! uses, writing a complete bundle into a folder in one call.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::config::request::{KeyType, Request, RunOptions};
use crate::config::target::ServerKind;
use crate::error::Result;
use crate::pipeline;
pub use crate::render::bundle::Kind;

/// A setup to write: a profile and the flags that change it.
///
/// ```
/// let dir = tempfile::tempdir()?;
/// let setup = kimera_redis_init::Setup::new("production-tls")
///     .host("localhost")
///     .port(6390)
///     .fixtures(true)
///     .write_to(dir.path().join("redis"))?;
///
/// assert_eq!(setup.env("REDIS_SSL"), "true");
/// assert_eq!(setup.env("REDIS_PORT"), "6390");
/// assert!(setup.path("certs/redis-client.crt").exists());
/// assert!(setup.path("fixtures/expired-server.crt").exists());
/// // Start the server with `redis-server <setup.path("redis.conf")>`, connect with the
/// // REDIS_* values of `setup.env`.
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct Setup {
    request: Request,
    run: RunOptions,
    fixtures: bool,
}

impl Setup {
    /// Start from a built-in profile: `local-dev`, `production-tls`, `cluster`, `high-performance`.
    pub fn new(profile: &str) -> Setup {
        Setup {
            request: Request::new(profile),
            run: RunOptions::default(),
            fixtures: false,
        }
    }

    pub fn host(mut self, host: &str) -> Self {
        self.request.host = Some(host.to_owned());
        self
    }

    pub fn port(mut self, port: u16) -> Self {
        self.request.port = Some(port.into());
        self
    }

    pub fn username(mut self, username: &str) -> Self {
        self.request.username = Some(username.to_owned());
        self
    }

    pub fn db(mut self, db: u8) -> Self {
        self.request.db = Some(db.into());
        self
    }

    /// An extra name or IP address for the server certificate.
    pub fn san(mut self, name: &str) -> Self {
        self.request.san.push(name.to_owned());
        self
    }

    /// Cluster nodes as `host:port`.
    pub fn nodes(mut self, nodes: &[&str]) -> Self {
        self.request.nodes = nodes.iter().map(|n| (*n).to_owned()).collect();
        self
    }

    pub fn replicas(mut self, replicas: u8) -> Self {
        self.request.replicas = Some(replicas.into());
        self
    }

    /// TLS on a profile that is plain by default.
    pub fn tls(mut self, on: bool) -> Self {
        self.request.tls = on;
        self
    }

    pub fn key_type(mut self, key_type: KeyType) -> Self {
        self.request.key_type = key_type;
        self
    }

    /// Validity of the leaf certificates in days.
    pub fn days(mut self, days: u32) -> Self {
        self.request.days = days.into();
        self
    }

    /// Issue under an existing CA; its key is never copied into the folder.
    pub fn ca(mut self, cert: impl Into<PathBuf>, key: impl Into<PathBuf>) -> Self {
        self.request.ca = Some((cert.into(), key.into()));
        self
    }

    /// Also write `fixtures/`: deliberately broken certificates (see its README.md).
    pub fn fixtures(mut self, on: bool) -> Self {
        self.fixtures = on;
        self
    }

    /// The server the files are written for (`--server`, `--server-version`): its
    /// programs' names, its default image and the directives its version has. `version`
    /// is `MAJOR.MINOR`; `None` is the server's default.
    pub fn server(mut self, kind: ServerKind, version: Option<&str>) -> Self {
        self.request.server = Some(kind);
        self.request.server_version = version.map(str::to_owned);
        self
    }

    /// How data survives a restart and a crash (`--persistence`): `none`, `rdb` or `aof`.
    pub fn persistence(mut self, mode: &str) -> Self {
        self.request.persistence = Some(mode.to_owned());
        self
    }

    /// PKCS#12 key and trust stores for Java too (`--pkcs12`).
    pub fn pkcs12(mut self, on: bool) -> Self {
        self.request.pkcs12 = on;
        self
    }

    /// Rewrite existing leaf certificates, keys and rendered files (never the CA).
    pub fn force(mut self, on: bool) -> Self {
        self.run.force = on;
        self
    }

    /// Generate and write everything into `dir` (created when missing).
    pub fn write_to(mut self, dir: impl AsRef<Path>) -> Result<Written> {
        self.request.out = Some(dir.as_ref().to_path_buf());
        let outcome = pipeline::generate(&self.request, &self.run, self.fixtures)?;
        let out_dir = outcome.settings.out_dir.clone();
        let env_path = out_dir.join(crate::config::layout::ENV);
        let env = crate::readback::folder::read_env(&env_path)?;
        let files = outcome
            .bundle
            .entries
            .iter()
            .filter(|e| e.kind != Kind::Dir)
            .map(|e| WrittenFile {
                path: out_dir.join(&e.path),
                kind: e.kind,
                mode: e.kind.mode(),
                purpose: e.purpose,
            })
            .collect();
        Ok(Written {
            dir: out_dir,
            files,
            env,
        })
    }
}

/// What `write_to` wrote.
#[derive(Clone)]
pub struct Written {
    /// Absolute.
    pub dir: PathBuf,
    pub files: Vec<WrittenFile>,
    /// The `.env` the app reads, parsed.
    pub env: BTreeMap<String, String>,
}

impl std::fmt::Debug for Written {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Written")
            .field("dir", &self.dir)
            .field("files", &self.files)
            .field("env", &crate::redact::Env(&self.env))
            .finish()
    }
}

impl Written {
    /// A `.env` value; empty when unset.
    pub fn env(&self, key: &str) -> &str {
        self.env.get(key).map(String::as_str).unwrap_or("")
    }

    /// An absolute path inside the folder.
    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.join(rel)
    }
}

#[derive(Debug, Clone)]
pub struct WrittenFile {
    pub path: PathBuf,
    pub kind: Kind,
    pub mode: u32,
    pub purpose: &'static str,
}
