//! production-tls, end to end: generated files, a real redis-server started from them,
//! and clients that either must get in (the app, from `.env` only) or must not.

use crate::common::*;

#[test]
fn app_connects_from_env_with_client_cert_and_hostname_check() {
    if !have("redis-server") {
        return;
    }
    let tmp = tempdir();
    let dir = tmp.path().join("redis-prod");
    let port = generate_prod(&dir, &[]);
    // Started from another folder on purpose: the config must not depend on the cwd.
    let server = Server::start(&dir.join("redis.conf"), port);

    let env = read_env(&dir);
    assert_eq!(env["REDIS_SSL"], "true");
    assert_eq!(env["REDIS_USERNAME"], "kimera_user");
    assert_eq!(env["REDIS_CERT_REQS"], "required");
    let client = app_client(&env);
    assert_eq!(ping(&client).unwrap(), "PONG");

    let mut con = client.get_connection().unwrap();
    let _: () = redis::cmd("SET")
        .arg("kimera:k")
        .arg("v")
        .query(&mut con)
        .unwrap();
    let v: String = redis::cmd("GET").arg("kimera:k").query(&mut con).unwrap();
    assert_eq!(v, "v");
    let who: String = redis::cmd("ACL").arg("WHOAMI").query(&mut con).unwrap();
    assert_eq!(who, "kimera_user");
    // The app user's rights exclude @dangerous commands.
    let flush: redis::RedisResult<()> = redis::cmd("FLUSHALL").query(&mut con);
    let err = flush.unwrap_err();
    assert_eq!(err.code(), Some("NOPERM"), "{err}");
    drop(server);
}

#[test]
fn app_connects_with_redis_py_from_env_only() {
    if !have("redis-server") || !have_redis_py() {
        return;
    }
    let tmp = tempdir();
    let dir = tmp.path().join("p");
    let port = generate_prod(&dir, &[]);
    let _server = Server::start(&dir.join("redis.conf"), port);
    let out = python(APP_PY, &read_env(&dir));
    assert!(
        out.status.success(),
        "redis-py could not use the generated .env:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "PONG kimera_user v"
    );
}

/// The KIMERA app's connection: redis-py keyword arguments from the REDIS_* variables,
/// hostname checking left at its default (on).
pub const APP_PY: &str = r#"
import os
import redis
E = os.environ
kw = dict(
    host=E["REDIS_HOST"], port=int(E["REDIS_PORT"]), db=int(E["REDIS_DB"]),
    username=E["REDIS_USERNAME"] or None, password=E["REDIS_PASSWORD"] or None,
    socket_timeout=float(E["REDIS_SOCKET_TIMEOUT"]),
    socket_connect_timeout=float(E["REDIS_SOCKET_CONNECT_TIMEOUT"]),
    retry_on_timeout=E["REDIS_RETRY_ON_TIMEOUT"] == "true",
    health_check_interval=int(E["REDIS_HEALTH_CHECK_INTERVAL"]),
    decode_responses=E["REDIS_DECODE_RESPONSES"] == "true",
    encoding=E["REDIS_ENCODING"], max_connections=int(E["REDIS_MAX_CONNECTIONS"]),
)
if E["REDIS_SSL"] == "true":
    kw.update(ssl=True, ssl_certfile=E["REDIS_SSL_CERTFILE"], ssl_keyfile=E["REDIS_SSL_KEYFILE"],
              ssl_ca_certs=E["REDIS_CA_CERTS"], ssl_cert_reqs=E["REDIS_CERT_REQS"])
r = redis.Redis(**kw)
r.set("kimera:py", "v")
print("PONG" if r.ping() else "no", r.acl_whoami() if E["REDIS_USERNAME"] else "-", r.get("kimera:py"))
"#;

#[test]
fn client_without_certificate_is_refused() {
    if !have("redis-server") {
        return;
    }
    let tmp = tempdir();
    let dir = tmp.path().join("p");
    let port = generate_prod(&dir, &[]);
    let server = Server::start(&dir.join("redis.conf"), port);
    let env = read_env(&dir);
    assert_eq!(
        ping(&app_client(&env)).unwrap(),
        "PONG",
        "the good client must get in first"
    );

    install_crypto_provider();
    let no_cert = redis::Client::build_with_tls(
        app_url(&env),
        redis::TlsCertificates {
            client_tls: None,
            root_cert: Some(std::fs::read(&env["REDIS_CA_CERTS"]).unwrap()),
        },
    )
    .unwrap();
    assert!(
        ping(&no_cert).is_err(),
        "a client without a certificate got in"
    );
    server.wait_for_log("peer did not return a certificate", 1);
}

#[test]
fn client_certificate_from_another_ca_is_refused() {
    if !have("redis-server") {
        return;
    }
    let tmp = tempdir();
    let dir = tmp.path().join("p");
    let other = tmp.path().join("other");
    let port = generate_prod(&dir, &[]);
    generate_prod(&other, &[]);
    let server = Server::start(&dir.join("redis.conf"), port);
    let env = read_env(&dir);
    assert_eq!(
        ping(&app_client(&env)).unwrap(),
        "PONG",
        "the good client must get in first"
    );

    // Same server, same password, but the other setup's client certificate and key.
    let mut foreign = env.clone();
    for k in ["REDIS_SSL_CERTFILE", "REDIS_SSL_KEYFILE"] {
        foreign.insert(k.into(), read_env(&other)[k].clone());
    }
    assert!(
        ping(&app_client(&foreign)).is_err(),
        "a foreign client certificate got in"
    );
    server.wait_for_log("certificate verify failed", 1);
}

#[test]
fn default_user_cannot_log_in() {
    if !have("redis-server") {
        return;
    }
    let tmp = tempdir();
    let dir = tmp.path().join("p");
    let port = generate_prod(&dir, &[]);
    let _server = Server::start(&dir.join("redis.conf"), port);
    let env = read_env(&dir);

    // A valid client certificate but no credentials: the connection is the default user's.
    let mut anon = env.clone();
    anon.insert("REDIS_USERNAME".into(), String::new());
    anon.insert("REDIS_PASSWORD".into(), String::new());
    let err = ping(&app_client(&anon)).unwrap_err();
    assert_eq!(err.code(), Some("NOAUTH"), "{err}");

    // Logging in as `default`, whatever the password, is refused.
    let mut con = app_client(&anon)
        .get_connection_with_timeout(std::time::Duration::from_secs(5))
        .unwrap();
    for pass in ["", "nopass", &env["REDIS_PASSWORD"]] {
        let r: redis::RedisResult<()> = redis::cmd("AUTH").arg("default").arg(pass).query(&mut con);
        assert!(r.is_err(), "AUTH default {pass:?} succeeded");
    }
}

#[test]
fn plain_text_port_is_closed() {
    if !have("redis-server") || !have("redis-cli") {
        return;
    }
    let tmp = tempdir();
    let dir = tmp.path().join("p");
    let port = generate_prod(&dir, &[]);
    let server = Server::start(&dir.join("redis.conf"), port);
    // The server itself says it has no plain-text port, only the TLS one.
    assert_eq!(
        admin_cli(&dir, "127.0.0.1", port, &["config", "get", "port"])
            .lines()
            .nth(1),
        Some("0")
    );
    assert_eq!(
        admin_cli(&dir, "127.0.0.1", port, &["config", "get", "tls-port"])
            .lines()
            .nth(1),
        Some(port.to_string().as_str())
    );
    // And nothing of this server's answers in plain text on the TLS port.
    let mut env = read_env(&dir);
    env.insert("REDIS_SSL".into(), "false".into());
    assert!(
        ping(&app_client(&env)).is_err(),
        "plain text reached a TLS-only port"
    );
    drop(server);
}

#[test]
fn compose_file_passes_docker_compose_config() {
    if !have("docker-compose") {
        return;
    }
    let tmp = tempdir();
    let dir = tmp.path().join("p");
    generate_prod(&dir, &[]);
    docker_compose(&dir, &["-f", "docker-compose.yml", "config", "-q"]);
    let yaml: serde_norway::Value =
        serde_norway::from_str(&std::fs::read_to_string(dir.join("docker-compose.yml")).unwrap())
            .unwrap();
    let svc = &yaml["services"]["redis"];
    let env = read_env(&dir);
    // The password is read inside the container, never written into the compose file.
    let text = std::fs::read_to_string(dir.join("docker-compose.yml")).unwrap();
    assert!(!text.contains(&env["REDIS_PASSWORD"]));
    // Every mounted certificate and key is read-only, and the CA key is not mounted.
    let mounts = svc["volumes"].as_sequence().unwrap();
    for m in mounts {
        let src = m["source"].as_str().unwrap();
        assert!(
            !src.ends_with("ca.key"),
            "the CA key is mounted into the container"
        );
        if src.contains("/certs/") {
            assert_eq!(m["read_only"].as_bool(), Some(true), "{src}");
        }
    }
    let test = svc["healthcheck"]["test"][1].as_str().unwrap();
    assert!(test.contains("redis-cli -e --tls"), "{test}");
}

#[test]
fn an_output_path_with_spaces_quotes_and_dollars_works_as_generated() {
    if !have("redis-server") {
        return;
    }
    let tmp = tempdir();
    let dir = tmp.path().join("my \"redis\" $HOME #1 é");
    let port = generate_prod(&dir, &[]);
    let _server = Server::start(&dir.join("redis.conf"), port);
    let env = read_env(&dir);
    assert!(
        env["REDIS_SSL_CERTFILE"].starts_with(dir.to_str().unwrap()),
        "{}",
        env["REDIS_SSL_CERTFILE"]
    );
    assert_eq!(ping(&app_client(&env)).unwrap(), "PONG");
    if have("docker-compose") {
        let compose_out = docker_compose(&dir, &["-f", "docker-compose.yml", "config"]);
        // Compose kept the `$` literally rather than interpolating $HOME.
        assert!(compose_out.contains("$HOME #1"));
    }
}

/// Writes `n` keys through the app's client, then kills the server with SIGKILL (a crash,
/// an out-of-memory kill) more than a second later, starts it again from the same config
/// and counts what came back.
fn keys_after_a_crash(persistence: Option<&str>, n: usize) -> (String, usize) {
    assert!(
        have("redis-server") || std::env::var("CI").as_deref() != Ok("true"),
        "redis-server is missing; under CI=true that is a failure"
    );
    let tmp = tempdir();
    let dir = tmp.path().join("p");
    let extra: Vec<&str> = persistence.map_or(vec![], |p| vec!["--persistence", p]);
    let port = generate_prod(&dir, &extra);
    let conf = dir.join("redis.conf");
    let client = app_client(&read_env(&dir));
    let server = Server::start(&conf, port);
    let mut con = client.get_connection().unwrap();
    for i in 0..n {
        let _: () = redis::cmd("SET")
            .arg(format!("kimera:session:{i}"))
            .arg(i)
            .query(&mut con)
            .unwrap();
    }
    // Every write acknowledged more than a second before the kill.
    std::thread::sleep(std::time::Duration::from_millis(2000));
    let pid = server.pid();
    drop(server); // SIGKILL, then wait: no shutdown, no final save.
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}")).exists(),
        "the server was not killed"
    );
    let _server = Server::start(&conf, port);
    let mut con = client.get_connection().unwrap();
    let found: usize = redis::cmd("DBSIZE").query(&mut con).unwrap();
    (std::fs::read_to_string(&conf).unwrap(), found)
}

#[test]
fn with_the_default_aof_a_killed_server_keeps_every_write_older_than_a_second() {
    if !have("redis-server") {
        return;
    }
    let (conf, found) = keys_after_a_crash(None, 200);
    assert!(
        conf.contains("\nappendonly yes\nappendfsync everysec\n"),
        "{conf}"
    );
    assert_eq!(
        found, 200,
        "writes acknowledged before the SIGKILL were lost"
    );
}

#[test]
fn with_persistence_none_or_rdb_the_config_says_a_crash_loses_the_writes_and_it_does() {
    if !have("redis-server") {
        return;
    }
    let (conf, found) = keys_after_a_crash(Some("none"), 200);
    assert!(conf.contains("\nsave \"\"\nappendonly no\n"), "{conf}");
    assert!(
        conf.contains("Nothing survives a restart or a crash"),
        "{conf}"
    );
    assert_eq!(found, 0);
    // Snapshots only: 200 changes in a few seconds reach none of the save points, so a
    // crash loses them, as the config's comment says.
    let (conf, found) = keys_after_a_crash(Some("rdb"), 200);
    assert!(
        conf.contains("\nsave 3600 1 300 100 60 10000\nappendonly no\n"),
        "{conf}"
    );
    assert!(
        conf.contains("A crash loses every write since the last snapshot"),
        "{conf}"
    );
    assert_eq!(found, 0);
}
