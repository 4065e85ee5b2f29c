//! Profiles are data: one TOML file each under `profiles/`, embedded in the binary.
//! Adding a profile means adding a file here and a line to `BUILTIN`.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The built-in profiles, in the order `profiles` lists them.
const BUILTIN: &[(&str, &str)] = &[
    ("local-dev", include_str!("../profiles/local-dev.toml")),
    (
        "production-tls",
        include_str!("../profiles/production-tls.toml"),
    ),
    ("cluster", include_str!("../profiles/cluster.toml")),
    (
        "high-performance",
        include_str!("../profiles/high-performance.toml"),
    ),
];

/// A profile as written in TOML: every value is a default that a flag can change.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    pub description: String,
    pub host: String,
    pub port: i64,
    pub db: i64,
    /// Empty when the profile has no ACL user (local development).
    pub username: String,
    pub tls: bool,
    /// An ACL user with a generated password, the default user off.
    pub auth: bool,
    /// `host:port` of every node; non-empty makes the profile a Redis Cluster.
    #[serde(default)]
    pub cluster_nodes: Vec<String>,
    /// Replicas per master (cluster only).
    #[serde(default)]
    pub replicas: i64,
    pub pool: Pool,
    pub kimera: Kimera,
    #[serde(default)]
    pub server: Server,
}

/// The app's connection pool and timeouts (REDIS_MAX_CONNECTIONS and friends).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Pool {
    pub max_connections: i64,
    pub socket_timeout: f64,
    pub socket_connect_timeout: f64,
    pub retry_on_timeout: bool,
    pub health_check_interval: i64,
}

/// The KIMERA_* variables the guide names.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Kimera {
    pub log_level: String,
    pub features: String,
    pub rate_limit_enabled: bool,
}

/// Server tuning. The defaults are Redis's own, and the template writes a directive only
/// when it differs from them, each with a line saying why.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Server {
    pub maxclients: i64,
    pub tcp_backlog: i64,
    pub tcp_keepalive: i64,
    /// Seconds before an idle client is closed; 0 never.
    pub timeout: i64,
    /// `rdb` (Redis's default snapshots), `aof` or `none`.
    pub persistence: String,
    /// Empty: no limit.
    pub maxmemory: String,
    pub maxmemory_policy: String,
    /// Free memory of deleted, expired and evicted keys in a background thread.
    pub lazyfree: bool,
    pub io_threads: i64,
}

impl Default for Server {
    fn default() -> Self {
        Server {
            maxclients: 10000,
            tcp_backlog: 511,
            tcp_keepalive: 300,
            timeout: 0,
            persistence: "rdb".into(),
            maxmemory: String::new(),
            maxmemory_policy: "noeviction".into(),
            lazyfree: false,
            io_threads: 1,
        }
    }
}

/// The names of the built-in profiles, for `--profile` and `profiles`.
pub fn names() -> Vec<&'static str> {
    BUILTIN.iter().map(|(name, _)| *name).collect()
}

/// Load a built-in profile by name.
pub fn builtin(name: &str) -> Result<Profile> {
    let (_, text) = BUILTIN.iter().find(|(n, _)| *n == name).ok_or_else(|| {
        Error::usage(format!(
            "--profile {name}: unknown profile; allowed: {}",
            names().join(", ")
        ))
    })?;
    toml::from_str(text)
        .map_err(|e| Error::failed(format!("built-in profile {name} does not parse: {e}")))
}
