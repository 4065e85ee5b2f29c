//! Profiles are data: one TOML file each under `profiles/`, embedded in the binary.
//! Adding a profile means adding a file here and a line to `BUILTIN`.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The built-in profiles, in the order `profiles` lists them.
const BUILTIN: &[(&str, &str)] = &[
    (
        "local-dev",
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/profiles/local-dev.toml"
        )),
    ),
    (
        "production-tls",
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/profiles/production-tls.toml"
        )),
    ),
    (
        "cluster",
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/profiles/cluster.toml"
        )),
    ),
    (
        "high-performance",
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/profiles/high-performance.toml"
        )),
    ),
];

/// A profile as written in TOML: every value is a default that a flag can change.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Profile {
    pub(crate) description: String,
    pub(crate) host: String,
    pub(crate) port: i64,
    pub(crate) db: i64,
    /// Empty when the profile has no ACL user (local development).
    pub(crate) username: String,
    pub(crate) tls: bool,
    /// An ACL user with a generated password, the default user off.
    pub(crate) auth: bool,
    /// `host:port` of every node; non-empty makes the profile a Redis Cluster.
    #[serde(default)]
    pub(crate) cluster_nodes: Vec<String>,
    /// Replicas per master (cluster only).
    #[serde(default)]
    pub(crate) replicas: i64,
    pub(crate) pool: Pool,
    pub(crate) kimera: Kimera,
    #[serde(default)]
    pub(crate) server: Server,
}

/// The app's connection pool and timeouts (REDIS_MAX_CONNECTIONS and friends).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Pool {
    pub(crate) max_connections: i64,
    pub(crate) socket_timeout: f64,
    pub(crate) socket_connect_timeout: f64,
    pub(crate) retry_on_timeout: bool,
    pub(crate) health_check_interval: i64,
}

/// The KIMERA_* variables the guide names.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Kimera {
    pub(crate) log_level: String,
    pub(crate) features: String,
    pub(crate) rate_limit_enabled: bool,
}

/// Server tuning. The defaults are Redis's own, defined here only: the redis.conf
/// templates get them as `redis_defaults` and write a directive only when it differs from
/// them, each with a line saying why.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct Server {
    pub(crate) maxclients: i64,
    pub(crate) tcp_backlog: i64,
    pub(crate) tcp_keepalive: i64,
    /// Seconds before an idle client is closed; 0 never.
    pub(crate) timeout: i64,
    /// `rdb` (Redis's default snapshots), `aof` (with the snapshots) or `none`.
    pub(crate) persistence: String,
    /// With `aof`: when the log is fsync-ed (`everysec`, `always`, `no`).
    pub(crate) appendfsync: String,
    /// Empty: no limit.
    pub(crate) maxmemory: String,
    pub(crate) maxmemory_policy: String,
    /// Free memory of deleted, expired and evicted keys in a background thread.
    pub(crate) lazyfree: bool,
    pub(crate) io_threads: i64,
}

impl Default for Server {
    fn default() -> Self {
        Server {
            maxclients: 10000,
            tcp_backlog: 511,
            tcp_keepalive: 300,
            timeout: 0,
            persistence: "rdb".into(),
            appendfsync: "everysec".into(),
            maxmemory: String::new(),
            maxmemory_policy: "noeviction".into(),
            lazyfree: false,
            io_threads: 1,
        }
    }
}

/// The names of the built-in profiles, for `--profile` and `profiles`.
pub(crate) fn names() -> Vec<&'static str> {
    BUILTIN.iter().map(|(name, _)| *name).collect()
}

/// Load a built-in profile by name.
pub(crate) fn builtin(name: &str) -> Result<Profile> {
    let (_, text) = BUILTIN.iter().find(|(n, _)| *n == name).ok_or_else(|| {
        Error::usage(format!(
            "--profile {}: unknown profile; allowed: {}",
            crate::printable::text(name),
            names().join(", ")
        ))
    })?;
    toml::from_str(text)
        .map_err(|e| Error::failed(format!("built-in profile {name} does not parse: {e}")))
}

/// A user's profile file: `base = "<built-in>"` and any fields to override, or (without
/// `base`) a complete profile as `profiles show` prints it.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Overlay {
    base: Option<String>,
    description: Option<String>,
    host: Option<String>,
    port: Option<i64>,
    db: Option<i64>,
    username: Option<String>,
    tls: Option<bool>,
    auth: Option<bool>,
    cluster_nodes: Option<Vec<String>>,
    replicas: Option<i64>,
    pool: Option<PoolOverlay>,
    kimera: Option<KimeraOverlay>,
    server: Option<ServerOverlay>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct PoolOverlay {
    max_connections: Option<i64>,
    socket_timeout: Option<f64>,
    socket_connect_timeout: Option<f64>,
    retry_on_timeout: Option<bool>,
    health_check_interval: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct KimeraOverlay {
    log_level: Option<String>,
    features: Option<String>,
    rate_limit_enabled: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ServerOverlay {
    maxclients: Option<i64>,
    tcp_backlog: Option<i64>,
    tcp_keepalive: Option<i64>,
    timeout: Option<i64>,
    persistence: Option<String>,
    appendfsync: Option<String>,
    maxmemory: Option<String>,
    maxmemory_policy: Option<String>,
    lazyfree: Option<bool>,
    io_threads: Option<i64>,
}

/// Set every field the overlay names.
macro_rules! apply {
    ($from:expr => $to:expr; $($field:ident),*) => {
        $(if let Some(v) = $from.$field { $to.$field = v; })*
    };
}

/// Load a user's profile file: the profile it resolves to, and the name to show for it.
pub(crate) fn from_file(path: &std::path::Path) -> Result<(String, Profile)> {
    let text = crate::config::inputfile::read("--profile-file", path)?;
    from_text(path, &text)
}

/// Parse a profile file's text; `path` names it in errors and gives the profile's name.
pub(crate) fn from_text(path: &std::path::Path, text: &str) -> Result<(String, Profile)> {
    let shown = crate::printable::path(path);
    let located = |e: toml::de::Error| {
        let (line, col) = e
            .span()
            .map(|s| {
                let before = &text[..s.start.min(text.len())];
                (
                    before.matches('\n').count() + 1,
                    before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1,
                )
            })
            .unwrap_or((1, 1));
        Error::usage(format!(
            "--profile-file {shown}:{line}:{col}: {}",
            crate::printable::text(e.message().trim())
        ))
    };
    let overlay: Overlay = toml::from_str(text).map_err(located)?;
    let Some(base) = overlay.base.clone() else {
        // A complete profile, as `profiles show` prints it.
        let profile: Profile = toml::from_str(text).map_err(located)?;
        return Ok((file_name(path), profile));
    };
    let mut p = builtin(&base).map_err(|_| {
        Error::usage(format!(
            "--profile-file {shown}: base = {base:?} is not a built-in profile; allowed: {}",
            names().join(", ")
        ))
    })?;
    apply!(overlay => p; description, host, port, db, username, tls, auth, cluster_nodes, replicas);
    if let Some(o) = overlay.pool {
        apply!(o => p.pool; max_connections, socket_timeout, socket_connect_timeout, retry_on_timeout, health_check_interval);
    }
    if let Some(o) = overlay.kimera {
        apply!(o => p.kimera; log_level, features, rate_limit_enabled);
    }
    if let Some(o) = overlay.server {
        apply!(o => p.server; maxclients, tcp_backlog, tcp_keepalive, timeout, persistence, appendfsync, maxmemory, maxmemory_policy, lazyfree, io_threads);
    }
    Ok((file_name(path), p))
}

/// The profile's name in generated headers: the file's stem, when it is a plain word.
fn file_name(path: &std::path::Path) -> String {
    path.file_stem()
        .and_then(|s| s.to_str())
        .filter(|s| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
        })
        .unwrap_or("custom")
        .to_owned()
}

/// A profile as TOML that `--profile-file` reads back.
pub(crate) fn to_toml(name: &str, p: &Profile) -> String {
    format!(
        "# Profile {name}, resolved by kimera-redis-init {}. Save it, edit it, and use it with\n\
         # --profile-file FILE (or keep only the fields you change and add base = \"{name}\").\n{}",
        env!("CARGO_PKG_VERSION"),
        toml::to_string_pretty(p).expect("a profile serializes")
    )
}
