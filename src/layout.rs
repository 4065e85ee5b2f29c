//! Where each file of a bundle lives, relative to the output folder (design.md).

pub const ENV: &str = ".env";
pub const PROPERTIES: &str = "redis.properties";
pub const REDIS_CONF: &str = "redis.conf";
pub const ACL: &str = "users.acl";
pub const COMPOSE: &str = "docker-compose.yml";
pub const DATA_DIR: &str = "data";
pub const CERTS_DIR: &str = "certs";
pub const CA_CERT: &str = "certs/ca.crt";
pub const CA_KEY: &str = "certs/ca.key";
pub const SERVER_CERT: &str = "certs/redis-server.crt";
pub const SERVER_KEY: &str = "certs/redis-server.key";
pub const CLIENT_CERT: &str = "certs/redis-client.crt";
pub const CLIENT_KEY: &str = "certs/redis-client.key";
