//! Where each file of a bundle lives, relative to the output folder (README.md, "Output").

pub(crate) const ENV: &str = ".env";
/// The settings the folder was made with, secret-free (see `record`).
pub(crate) const RECORD: &str = "kimera-redis.toml";
pub(crate) const PROPERTIES: &str = "redis.properties";
pub(crate) const REDIS_CONF: &str = "redis.conf";
pub(crate) const ACL: &str = "users.acl";
pub(crate) const COMPOSE: &str = "docker-compose.yml";
pub(crate) const DATA_DIR: &str = "data";
pub(crate) const CERTS_DIR: &str = "certs";
pub(crate) const CA_CERT: &str = "certs/ca.crt";
pub(crate) const CA_KEY: &str = "certs/ca.key";
/// A CA rollover's own folder (`renew --new-ca`): the next CA, its key, the step done,
/// and the CAs a finished rollover retired. Beside certs/, so that certs/ keeps the
/// guide's file names and a leaf is never confused with a CA.
pub(crate) const ROLLOVER_DIR: &str = "ca-rollover";
pub(crate) const CA_NEXT_CERT: &str = "ca-rollover/ca-next.crt";
pub(crate) const CA_NEXT_KEY: &str = "ca-rollover/ca-next.key";
pub(crate) const CA_ROLLOVER: &str = "ca-rollover/state.toml";
pub(crate) const RETIRED_DIR: &str = "ca-rollover/retired";
/// A password rotation's state (`rotate-password`): which users hold a second password
/// until `--step drop-old`, by the SHA-256 of the old one. Its own folder, as the CA
/// rollover has.
pub(crate) const PASSWORD_ROTATION_DIR: &str = "password-rotation";
pub(crate) const PASSWORD_ROTATION: &str = "password-rotation/state.toml";
pub(crate) const SERVER_CERT: &str = "certs/redis-server.crt";
pub(crate) const SERVER_KEY: &str = "certs/redis-server.key";
pub(crate) const CLIENT_CERT: &str = "certs/redis-client.crt";
pub(crate) const CLIENT_KEY: &str = "certs/redis-client.key";
/// With `--kubernetes`: the server certificate for the in-cluster names.
pub(crate) const KUBERNETES_SERVER_CERT: &str = "certs/kubernetes-server.crt";
pub(crate) const KUBERNETES_SERVER_KEY: &str = "certs/kubernetes-server.key";
/// With `--kubernetes` for a TLS cluster: the cluster-create Job's own client
/// certificate, so that the Job never holds the app's key.
pub(crate) const KUBERNETES_JOB_CERT: &str = "certs/kubernetes-job.crt";
pub(crate) const KUBERNETES_JOB_KEY: &str = "certs/kubernetes-job.key";
/// `--pkcs12`: the client key, certificate and chain as a Java key store.
pub(crate) const CLIENT_P12: &str = "certs/redis-client.p12";
/// `--pkcs12`: the CA as a trusted-certificate entry, a Java trust store.
pub(crate) const TRUSTSTORE_P12: &str = "certs/truststore.p12";
/// `--pkcs12`: the password of both stores, alone in its file (no newline).
pub(crate) const STORE_PASSWORD: &str = "certs/pkcs12-password";
pub(crate) const ADMIN_ENV: &str = "admin.env";
/// `--metrics`: redis_exporter's settings, in its own variable names (a single server).
pub(crate) const METRICS_ENV: &str = "metrics.env";
/// `--metrics`: the exporter's client certificate and key (CN kimera_metrics).
pub(crate) const METRICS_CERT: &str = "certs/redis-metrics.crt";
pub(crate) const METRICS_KEY: &str = "certs/redis-metrics.key";
/// `--metrics-port` when not given: where the first exporter listens on this machine
/// (redis_exporter's own default); a cluster's count up from it.
pub(crate) const METRICS_PORT: u16 = 9121;
pub(crate) const CLUSTER_CREATE: &str = "cluster-create.sh";
pub(crate) const NODES_DIR: &str = "nodes";

/// A cluster node's own folder: its redis.conf, cluster config file and data.
pub(crate) fn node_dir(name: &str) -> String {
    format!("{NODES_DIR}/{name}")
}

/// `--metrics` on a cluster: each node's exporter settings, in its own folder.
pub(crate) fn node_metrics_env(name: &str) -> String {
    format!("{NODES_DIR}/{name}/{METRICS_ENV}")
}

pub(crate) fn node_cert(name: &str) -> String {
    format!("{CERTS_DIR}/{name}.crt")
}

pub(crate) fn node_key(name: &str) -> String {
    format!("{CERTS_DIR}/{name}.key")
}
