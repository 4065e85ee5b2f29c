//! high-performance: the guide's example 4 in `.env`, ACL authentication, and a tuned
//! server whose values are in effect on a real redis-server.

use crate::common::*;

fn config_get(dir: &std::path::Path, port: u16, key: &str) -> String {
    let out = admin_cli(dir, "127.0.0.1", port, &["config", "get", key]);
    out.lines()
        .nth(1)
        .unwrap_or_else(|| panic!("CONFIG GET {key}: {out}"))
        .to_owned()
}

#[test]
fn tuned_server_starts_and_the_env_credentials_work() {
    if !have("redis-server") || !have("redis-cli") {
        return;
    }
    let tmp = tempdir();
    let dir = tmp.path().join("hp");
    let port = free_port();
    generate(&[
        "--profile",
        "high-performance",
        "--host",
        "127.0.0.1",
        "--port",
        &port.to_string(),
        "--maxmemory",
        "64mb",
        "--io-threads",
        "2",
        "--out",
        dir.to_str().unwrap(),
    ]);
    let env = read_env(&dir);
    // The guide's example 4.
    assert_eq!(env["REDIS_MAX_CONNECTIONS"], "100");
    assert_eq!(env["REDIS_SOCKET_TIMEOUT"], "2.0");
    assert_eq!(env["REDIS_SOCKET_CONNECT_TIMEOUT"], "2.0");
    assert_eq!(env["REDIS_HEALTH_CHECK_INTERVAL"], "10");
    assert_eq!(env["REDIS_RETRY_ON_TIMEOUT"], "true");
    assert_ne!(env["REDIS_PASSWORD"], "");

    let _server = Server::start(&dir.join("redis.conf"), port);
    let client = app_client(&env);
    assert_eq!(ping(&client).unwrap(), "PONG");

    for (key, want) in [
        ("maxclients", "1000"),
        ("tcp-backlog", "1024"),
        ("tcp-keepalive", "60"),
        ("timeout", "300"),
        ("save", ""),
        ("appendonly", "no"),
        ("maxmemory", "67108864"),
        ("maxmemory-policy", "allkeys-lru"),
        ("lazyfree-lazy-eviction", "yes"),
        ("lazyfree-lazy-user-del", "yes"),
        ("io-threads", "2"),
        ("io-threads-do-reads", "yes"),
    ] {
        assert_eq!(config_get(&dir, port, key), want, "CONFIG GET {key}");
    }
    // The app user cannot change them.
    let mut con = client.get_connection().unwrap();
    let r: redis::RedisResult<()> = redis::cmd("CONFIG")
        .arg("SET")
        .arg("maxmemory")
        .arg("0")
        .query(&mut con);
    assert_eq!(r.unwrap_err().code(), Some("NOPERM"));
}

#[test]
fn every_tuned_directive_says_why() {
    let tmp = tempdir();
    let dir = tmp.path().join("hp");
    generate(&[
        "--profile",
        "high-performance",
        "--maxmemory",
        "1gb",
        "--out",
        dir.to_str().unwrap(),
    ]);
    let conf = std::fs::read_to_string(dir.join("redis.conf")).unwrap();
    let lines: Vec<&str> = conf.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        // A directive is explained by the comment right above it, or belongs to a group
        // that one comment explains (lines directly under another directive).
        let mut j = i;
        while j > 0 && !lines[j - 1].is_empty() && !lines[j - 1].starts_with('#') {
            j -= 1;
        }
        assert!(
            j > 0 && lines[j - 1].starts_with("# "),
            "{line:?} has no comment saying why:\n{conf}"
        );
    }
    assert!(conf.contains("\nmaxmemory 1gb\n"));
}

#[test]
fn tuned_server_with_tls_starts_and_the_app_connects() {
    if !have("redis-server") {
        return;
    }
    let tmp = tempdir();
    let dir = tmp.path().join("hp");
    let port = free_port();
    generate(&[
        "--profile",
        "high-performance",
        "--tls",
        "--host",
        "localhost",
        "--port",
        &port.to_string(),
        "--out",
        dir.to_str().unwrap(),
    ]);
    let env = read_env(&dir);
    assert_eq!(env["REDIS_SSL"], "true");
    assert_eq!(env["REDIS_MAX_CONNECTIONS"], "100");
    let _server = Server::start(&dir.join("redis.conf"), port);
    assert_eq!(ping(&app_client(&env)).unwrap(), "PONG");
    assert_eq!(config_get(&dir, port, "maxclients"), "1000");
}
