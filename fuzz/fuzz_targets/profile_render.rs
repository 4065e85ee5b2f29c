//! Profile parsing and rendering on arbitrary input. Whatever a profile file says, the
//! run either refuses it or renders files that parse back into exactly the directives,
//! ACL users and variables the templates write: no user text may add a line of its own.
#![no_main]

use kimera_redis_init::bundle::Kind;
use kimera_redis_init::redisconf;
use libfuzzer_sys::fuzz_target;

/// Every directive a generated redis.conf may contain.
const DIRECTIVES: &[&str] = &[
    "port", "tls-port", "tls-cert-file", "tls-key-file", "tls-ca-cert-file", "tls-auth-clients",
    "tls-protocols", "tls-replication", "tls-cluster", "bind", "protected-mode", "aclfile", "dir",
    "enable-debug-command", "enable-module-command", "cluster-enabled", "cluster-config-file",
    "cluster-node-timeout", "cluster-announce-ip", "cluster-announce-hostname",
    "cluster-preferred-endpoint-type", "masteruser", "masterauth", "maxclients", "tcp-backlog",
    "tcp-keepalive", "timeout", "save", "appendonly", "maxmemory", "maxmemory-policy",
    "lazyfree-lazy-eviction", "lazyfree-lazy-expire", "lazyfree-lazy-server-del",
    "lazyfree-lazy-user-del", "io-threads", "io-threads-do-reads",
];

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(bundle) = kimera_redis_init::api::render_profile_text(text) else { return };
    for e in &bundle.entries {
        let body = String::from_utf8_lossy(&e.contents);
        if e.path.ends_with("redis.conf") {
            for (name, args) in redisconf::parse(&body) {
                assert!(DIRECTIVES.contains(&name.as_str()), "{}: unexpected directive {name} {args:?}", e.path);
            }
            assert_eq!(body.lines().filter(|l| l.starts_with("port ") || l.starts_with("tls-port ")).count(), if body.contains("\ntls-port ") { 2 } else { 1 });
        } else if e.path == "users.acl" {
            let users: Vec<&str> = body.lines().map(|l| l.split(' ').nth(1).unwrap_or("")).collect();
            assert!(body.lines().all(|l| l.starts_with("user ")), "{body}");
            assert!(users.len() == 3 || users.len() == 4, "{body}");
            assert_eq!(users[0], "default");
        } else if e.path == ".env" {
            let vars: Vec<(String, String)> = dotenvy::from_read_iter(body.as_bytes())
                .collect::<Result<_, _>>()
                .unwrap_or_else(|err| panic!(".env does not parse: {err}\n{body}"));
            assert_eq!(vars.len(), 25, "{body}");
            assert!(vars.iter().all(|(k, _)| k.starts_with("REDIS_") || k.starts_with("KIMERA_")));
        } else if e.path == "docker-compose.yml" {
            let _: serde_norway::Value = serde_norway::from_str(&body).unwrap_or_else(|err| panic!("compose: {err}\n{body}"));
        } else if e.kind == Kind::Dir {
            assert!(e.contents.is_empty());
        }
    }
});
