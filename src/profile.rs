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
    #[serde(default)]
    pub cluster_nodes: Vec<String>,
    pub pool: Pool,
    pub kimera: Kimera,
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
