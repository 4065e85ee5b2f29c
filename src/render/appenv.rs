//! The KIMERA app's settings, every `REDIS_*` and `KIMERA_*` variable the guide names,
//! built once from Settings for both places the app reads them: `.env` beside the server
//! and the Kubernetes app Secret. Only where the app runs differs (`Place`).

use std::collections::BTreeMap;

use crate::config::settings::Settings;

/// What differs between the places the app runs.
pub(crate) struct Place {
    /// REDIS_HOST: where the app connects.
    pub(crate) host: String,
    /// REDIS_CA_CERTS (and REDIS_CA_PATH), REDIS_SSL_CERTFILE, REDIS_SSL_KEYFILE: where the
    /// app finds the CA and its client certificate and key; written only with TLS.
    pub(crate) tls_files: [String; 3],
    /// REDIS_CLUSTER_NODES: the startup nodes; written only for a cluster.
    pub(crate) cluster_nodes: String,
}

/// The app's variables, in the order the Secret lists them (`.env` takes them by name);
/// REDIS_URL is made from the others, as `verify` checks it.
pub(crate) fn build(s: &Settings, password: &str, place: Place) -> Vec<(&'static str, String)> {
    let [ca, certfile, keyfile] = place
        .tls_files
        .map(|f| if s.tls { f } else { String::new() });
    let pool = &s.pool;
    let mut env = vec![
        ("REDIS_HOST", place.host),
        ("REDIS_PORT", s.port().to_string()),
        ("REDIS_USERNAME", s.username.clone().unwrap_or_default()),
        ("REDIS_PASSWORD", password.to_owned()),
        ("REDIS_DB", s.db.to_string()),
        ("REDIS_SSL", s.tls.to_string()),
        ("REDIS_SSL_KEYFILE", keyfile),
        ("REDIS_SSL_CERTFILE", certfile),
        ("REDIS_CA_PATH", ca.clone()),
        ("REDIS_CA_CERTS", ca),
        ("REDIS_CERT_REQS", "required".into()),
        ("REDIS_CLUSTER_MODE", s.is_cluster().to_string()),
        (
            "REDIS_CLUSTER_NODES",
            if s.is_cluster() {
                place.cluster_nodes
            } else {
                String::new()
            },
        ),
        ("REDIS_SKIP_FULL_COVERAGE_CHECK", "false".into()),
        ("REDIS_MAX_CONNECTIONS", pool.max_connections.to_string()),
        // As the guide writes them: `5.0`, not `5`.
        ("REDIS_SOCKET_TIMEOUT", format!("{:?}", pool.socket_timeout)),
        (
            "REDIS_SOCKET_CONNECT_TIMEOUT",
            format!("{:?}", pool.socket_connect_timeout),
        ),
        ("REDIS_RETRY_ON_TIMEOUT", pool.retry_on_timeout.to_string()),
        (
            "REDIS_HEALTH_CHECK_INTERVAL",
            pool.health_check_interval.to_string(),
        ),
        ("REDIS_DECODE_RESPONSES", "true".into()),
        ("REDIS_ENCODING", "utf-8".into()),
    ];
    let url = crate::config::url::for_env(
        &env.iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect(),
    );
    env.push(("REDIS_URL", url));
    env.extend([
        ("KIMERA_LOG_LEVEL", s.kimera.log_level.clone()),
        ("KIMERA_FEATURES", s.kimera.features.clone()),
        (
            "KIMERA_RATE_LIMIT_ENABLED",
            s.kimera.rate_limit_enabled.to_string(),
        ),
    ]);
    env
}

/// The same variables by name, for a template.
pub(crate) fn by_name(env: &[(&'static str, String)]) -> BTreeMap<&'static str, String> {
    env.iter().map(|(k, v)| (*k, v.clone())).collect()
}
