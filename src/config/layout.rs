//! Where each file of a bundle lives, relative to the output folder (design.md).

pub const ENV: &str = ".env";
/// The settings the folder was made with, secret-free (see `record`).
pub const RECORD: &str = "kimera-redis.toml";
pub const PROPERTIES: &str = "redis.properties";
pub const REDIS_CONF: &str = "redis.conf";
pub const ACL: &str = "users.acl";
pub const COMPOSE: &str = "docker-compose.yml";
pub const DATA_DIR: &str = "data";
pub const CERTS_DIR: &str = "certs";
pub const CA_CERT: &str = "certs/ca.crt";
pub const CA_KEY: &str = "certs/ca.key";
/// A CA rollover's own folder (`renew --new-ca`): the next CA, its key, the step done,
/// and the CAs a finished rollover retired. Beside certs/, so that certs/ keeps the
/// guide's file names and a leaf is never confused with a CA.
pub const ROLLOVER_DIR: &str = "ca-rollover";
pub const CA_NEXT_CERT: &str = "ca-rollover/ca-next.crt";
pub const CA_NEXT_KEY: &str = "ca-rollover/ca-next.key";
pub const CA_ROLLOVER: &str = "ca-rollover/state.toml";
pub const RETIRED_DIR: &str = "ca-rollover/retired";
pub const SERVER_CERT: &str = "certs/redis-server.crt";
pub const SERVER_KEY: &str = "certs/redis-server.key";
pub const CLIENT_CERT: &str = "certs/redis-client.crt";
pub const CLIENT_KEY: &str = "certs/redis-client.key";
/// With `--kubernetes`: the server certificate for the in-cluster names.
pub const KUBERNETES_SERVER_CERT: &str = "certs/kubernetes-server.crt";
pub const KUBERNETES_SERVER_KEY: &str = "certs/kubernetes-server.key";
/// `--pkcs12`: the client key, certificate and chain as a Java key store.
pub const CLIENT_P12: &str = "certs/redis-client.p12";
/// `--pkcs12`: the CA as a trusted-certificate entry, a Java trust store.
pub const TRUSTSTORE_P12: &str = "certs/truststore.p12";
/// `--pkcs12`: the password of both stores, alone in its file (no newline).
pub const STORE_PASSWORD: &str = "certs/pkcs12-password";
pub const ADMIN_ENV: &str = "admin.env";
pub const CLUSTER_CREATE: &str = "cluster-create.sh";
pub const NODES_DIR: &str = "nodes";

/// A cluster node's own folder: its redis.conf, cluster config file and data.
pub fn node_dir(name: &str) -> String {
    format!("{NODES_DIR}/{name}")
}

pub fn node_cert(name: &str) -> String {
    format!("{CERTS_DIR}/{name}.crt")
}

pub fn node_key(name: &str) -> String {
    format!("{CERTS_DIR}/{name}.key")
}
