//! local-dev: no TLS, no certificates, no password, loopback only; the `.env` connects.

use crate::common::*;

#[test]
fn env_values_connect_to_a_loopback_only_server() {
    if !have("redis-server") {
        return;
    }
    let tmp = tempdir();
    let dir = tmp.path().join("dev");
    let port = free_port();
    generate(&[
        "--profile",
        "local-dev",
        "--port",
        &port.to_string(),
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert!(
        !dir.join("certs").exists(),
        "local-dev must not make certificates"
    );
    assert!(!dir.join("users.acl").exists(), "local-dev has no ACL file");

    let env = read_env(&dir);
    assert_eq!(env["REDIS_HOST"], "localhost");
    assert_eq!(env["REDIS_PASSWORD"], "");
    assert_eq!(env["REDIS_SSL"], "false");
    assert_eq!(env["REDIS_DB"], "0");

    let _server = Server::start(&dir.join("redis.conf"), port);
    let client = app_client(&env);
    assert_eq!(ping(&client).unwrap(), "PONG");
    let mut con = client.get_connection().unwrap();
    let bind: Vec<String> = redis::cmd("CONFIG")
        .arg("GET")
        .arg("bind")
        .query(&mut con)
        .unwrap();
    assert_eq!(bind, ["bind", "127.0.0.1 -::1"]);
    let protected: Vec<String> = redis::cmd("CONFIG")
        .arg("GET")
        .arg("protected-mode")
        .query(&mut con)
        .unwrap();
    assert_eq!(protected, ["protected-mode", "yes"]);
    let dir_cfg: Vec<String> = redis::cmd("CONFIG")
        .arg("GET")
        .arg("dir")
        .query(&mut con)
        .unwrap();
    assert_eq!(
        std::path::Path::new(&dir_cfg[1]),
        dir.join("data").canonicalize().unwrap()
    );
}

#[test]
fn redis_py_connects_from_env_only() {
    if !have("redis-server") || !have_redis_py() {
        return;
    }
    let tmp = tempdir();
    let dir = tmp.path().join("dev");
    let port = free_port();
    generate(&[
        "--profile",
        "local-dev",
        "--port",
        &port.to_string(),
        "--out",
        dir.to_str().unwrap(),
    ]);
    let _server = Server::start(&dir.join("redis.conf"), port);
    let script = r#"
import os, redis
E = os.environ
r = redis.Redis(host=E["REDIS_HOST"], port=int(E["REDIS_PORT"]), db=int(E["REDIS_DB"]),
                password=E["REDIS_PASSWORD"] or None, decode_responses=True)
r.set("k", "v")
print(r.ping(), r.get("k"))
"#;
    let out = python(script, &read_env(&dir));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "True v");
}

#[test]
fn compose_file_passes_docker_compose_config() {
    if !have("docker-compose") {
        return;
    }
    let tmp = tempdir();
    let dir = tmp.path().join("dev");
    generate(&["--profile", "local-dev", "--out", dir.to_str().unwrap()]);
    docker_compose(&dir, &["-f", "docker-compose.yml", "config", "-q"]);
    let text = std::fs::read_to_string(dir.join("docker-compose.yml")).unwrap();
    let yaml: serde_norway::Value = serde_norway::from_str(&text).unwrap();
    // No password: published on loopback only.
    assert_eq!(
        yaml["services"]["redis"]["ports"][0].as_str(),
        Some("127.0.0.1:6379:6379")
    );
}
