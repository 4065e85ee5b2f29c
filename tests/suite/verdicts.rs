//! Verdicts you can trust: a freshly generated folder tampered with in many distinct
//! ways, each of which `verify` must report (exit 1) and never call "ok"; `doctor` must
//! name a `.env` the app cannot parse instead of panicking or blaming the network.

use std::fs;
use std::path::Path;

use crate::common::*;

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn verify(dir: &Path) -> (Option<i32>, String) {
    let out = run(&["verify", dir.to_str().unwrap()]);
    (out.status.code(), stdout(&out))
}

/// Set (or add) one variable of `.env`, as a user editing it would.
pub fn set_env(dir: &Path, key: &str, value: &str) {
    let path = dir.join(".env");
    let text = fs::read_to_string(&path).unwrap();
    let mut found = false;
    let mut lines: Vec<String> = text
        .lines()
        .map(|l| {
            if l.starts_with(&format!("{key}=")) {
                found = true;
                format!("{key}={value}")
            } else {
                l.to_owned()
            }
        })
        .collect();
    if !found {
        lines.push(format!("{key}={value}"));
    }
    fs::write(&path, lines.join("\n") + "\n").unwrap();
}

/// Replace the lines of `file` that start with `prefix` by `new` (deleted when `None`).
fn replace(dir: &Path, file: &str, prefix: &str, new: Option<&str>) {
    let path = dir.join(file);
    let text = fs::read_to_string(&path).unwrap();
    assert!(
        text.lines().any(|l| l.starts_with(prefix)),
        "{file} has no line starting with {prefix:?}"
    );
    let lines: Vec<String> = text
        .lines()
        .filter_map(|l| {
            if l.starts_with(prefix) {
                new.map(str::to_owned)
            } else {
                Some(l.to_owned())
            }
        })
        .collect();
    fs::write(&path, lines.join("\n") + "\n").unwrap();
}

fn append(dir: &Path, file: &str, line: &str) {
    let path = dir.join(file);
    let text = fs::read_to_string(&path).unwrap();
    fs::write(&path, format!("{text}{line}\n")).unwrap();
}

fn prepend(dir: &Path, file: &str, line: &str) {
    let path = dir.join(file);
    let text = fs::read_to_string(&path).unwrap();
    fs::write(&path, format!("{line}\n{text}")).unwrap();
}

/// The app user's users.acl line with `f` applied to it.
fn edit_app_user(dir: &Path, f: impl Fn(&str) -> String) {
    let path = dir.join("users.acl");
    let text = fs::read_to_string(&path).unwrap();
    let lines: Vec<String> = text
        .lines()
        .map(|l| {
            if l.starts_with("user kimera_user ") || l.starts_with("user cluster_user ") {
                f(l)
            } else {
                l.to_owned()
            }
        })
        .collect();
    fs::write(&path, lines.join("\n") + "\n").unwrap();
}

type Tamper = (&'static str, Box<dyn Fn(&Path)>, &'static str);

fn t(name: &'static str, f: impl Fn(&Path) + 'static, expect: &'static str) -> Tamper {
    (name, Box::new(f), expect)
}

fn env(key: &'static str, value: &'static str, expect: &'static str) -> Tamper {
    t(key, move |d| set_env(d, key, value), expect)
}

fn conf_line(prefix: &'static str, new: &'static str, expect: &'static str) -> Tamper {
    t(
        new,
        move |d| replace(d, "redis.conf", prefix, Some(new)),
        expect,
    )
}

fn production_tampers() -> Vec<Tamper> {
    vec![
        t(
            "default user on, nopass, first",
            |d| prepend(d, "users.acl", "user default on nopass ~* +@all"),
            "user default has nopass",
        ),
        t(
            "a backdoor user",
            |d| append(d, "users.acl", "user backdoor on nopass ~* &* +@all"),
            "user backdoor has nopass",
        ),
        t(
            "a backdoor user with a password",
            |d| append(d, "users.acl", "user backdoor on >secret ~* &* +@all"),
            "user backdoor was not generated",
        ),
        t(
            "default user line deleted",
            |d| replace(d, "users.acl", "user default ", None),
            "has no `user default` line",
        ),
        t(
            "default user switched on",
            |d| {
                replace(
                    d,
                    "users.acl",
                    "user default ",
                    Some("user default on resetchannels -@all"),
                )
            },
            "user default has rules",
        ),
        t(
            "app user gets +@all",
            |d| edit_app_user(d, |l| l.replace(" -@dangerous", "")),
            "user kimera_user has rules",
        ),
        t(
            "app user gets nopass",
            |d| edit_app_user(d, |l| format!("{l} nopass")),
            "user kimera_user has nopass",
        ),
        t(
            "app user gets a second, plain password",
            |d| edit_app_user(d, |l| format!("{l} >extra")),
            "user kimera_user has rules",
        ),
        t(
            "admin user twice",
            |d| {
                let acl = fs::read_to_string(d.join("users.acl")).unwrap();
                let admin = acl
                    .lines()
                    .find(|l| l.starts_with("user kimera_admin"))
                    .unwrap()
                    .to_owned();
                append(d, "users.acl", &admin)
            },
            "user kimera_admin appears 2 times",
        ),
        t(
            "a comment in users.acl",
            |d| append(d, "users.acl", "# added by hand"),
            "is not a `user NAME rules` line",
        ),
        conf_line(
            "tls-auth-clients",
            "tls-auth-clients no",
            "tls-auth-clients is no",
        ),
        conf_line(
            "tls-auth-clients",
            "tls-auth-clients optional",
            "tls-auth-clients is optional",
        ),
        conf_line(
            "protected-mode",
            "protected-mode no",
            "protected-mode is no",
        ),
        conf_line("bind ", "bind * -::*", "bind is `* -::*`"),
        conf_line(
            "enable-debug-command",
            "enable-debug-command yes",
            "enable-debug-command is yes",
        ),
        conf_line(
            "enable-module-command",
            "enable-module-command local",
            "enable-module-command is local",
        ),
        conf_line("port 0", "port 6379", "a plain-text port is open"),
        t(
            "aclfile removed",
            |d| replace(d, "redis.conf", "aclfile", None),
            "has no aclfile",
        ),
        t(
            "aclfile pointing elsewhere",
            |d| {
                let other = d.join("other.acl");
                fs::write(&other, "user default on nopass ~* +@all\n").unwrap();
                replace(
                    d,
                    "redis.conf",
                    "aclfile",
                    Some(&format!("aclfile {}", other.display())),
                )
            },
            "aclfile is",
        ),
        t(
            "an include of another config",
            |d| append(d, "redis.conf", "include /etc/redis/extra.conf"),
            "has an `include` directive",
        ),
        conf_line(
            "tls-protocols",
            "tls-protocols \"TLSv1 TLSv1.2 TLSv1.3\"",
            "tls-protocols allows",
        ),
        t(
            "requirepass added",
            |d| append(d, "redis.conf", "requirepass hunter2"),
            "has a `requirepass` directive",
        ),
        t(
            "server presents the client certificate",
            |d| {
                let c = d.join("certs/redis-client.crt");
                replace(
                    d,
                    "redis.conf",
                    "tls-cert-file",
                    Some(&format!("tls-cert-file {}", c.display())),
                )
            },
            "tls-cert-file is",
        ),
        env("REDIS_PORT", "abc", "REDIS_PORT=abc is not a port"),
        env("REDIS_PORT", "", "REDIS_PORT= is not a port"),
        env("REDIS_PORT", "99999", "REDIS_PORT=99999 is not a port"),
        t(
            "REDIS_PORT deleted",
            |d| replace(d, ".env", "REDIS_PORT=", None),
            "REDIS_PORT is missing",
        ),
        env(
            "REDIS_SOCKET_CONNECT_TIMEOUT",
            "1e300",
            "REDIS_SOCKET_CONNECT_TIMEOUT=1e300 is not a usable timeout",
        ),
        env(
            "REDIS_SOCKET_CONNECT_TIMEOUT",
            "1e-12",
            "REDIS_SOCKET_CONNECT_TIMEOUT=1e-12 is not a usable timeout",
        ),
        env(
            "REDIS_SOCKET_TIMEOUT",
            "nan",
            "REDIS_SOCKET_TIMEOUT=nan is not a usable timeout",
        ),
        env(
            "REDIS_CERT_REQS",
            "requred",
            "REDIS_CERT_REQS=requred is refused by redis-py",
        ),
        env(
            "REDIS_CERT_REQS",
            "none",
            "would not verify the server's certificate",
        ),
        env("REDIS_DB", "20", "REDIS_DB=20 is not a database number"),
        env("REDIS_HOST", "", "is not a host name or IP address"),
        env(
            "REDIS_SSL",
            "false",
            "the server has TLS on but .env says REDIS_SSL=false",
        ),
        env("REDIS_SSL", "enabled", "REDIS_SSL=enabled is not a boolean"),
        env(
            "REDIS_MAX_CONNECTIONS",
            "0",
            "REDIS_MAX_CONNECTIONS=0 is not a connection count",
        ),
        env(
            "REDIS_HEALTH_CHECK_INTERVAL",
            "-1",
            "REDIS_HEALTH_CHECK_INTERVAL=-1",
        ),
        env(
            "REDIS_RETRY_ON_TIMEOUT",
            "maybe",
            "REDIS_RETRY_ON_TIMEOUT=maybe is not a boolean",
        ),
        env("REDIS_ENCODING", "klingon", "REDIS_ENCODING=klingon"),
        env(
            "KIMERA_FEATURES",
            "redis_cache",
            "KIMERA_FEATURES is not a JSON object",
        ),
        env(
            "REDIS_PASSWORD",
            "wrong",
            "does not match user kimera_user's password hash",
        ),
        env(
            "REDIS_CA_CERTS",
            "/etc/hostname",
            "REDIS_CA_CERTS=/etc/hostname is not the generated",
        ),
        t(
            "REDIS_SSL_KEYFILE is the server's key",
            |d| {
                let k = d.join("certs/redis-server.key");
                set_env(d, "REDIS_SSL_KEYFILE", k.to_str().unwrap())
            },
            "REDIS_SSL_KEYFILE is the server's private key",
        ),
        t(
            "ca.crt deleted",
            |d| fs::remove_file(d.join("certs/ca.crt")).unwrap(),
            "certs/ca.crt: cannot be read as a certificate",
        ),
        t(
            "client key replaced by the server key",
            |d| {
                fs::copy(
                    d.join("certs/redis-server.key"),
                    d.join("certs/redis-client.key"),
                )
                .unwrap();
            },
            "certs/redis-client.key is not the key of this certificate",
        ),
        t(
            ".env readable by all",
            |d| {
                use std::os::unix::fs::PermissionsExt;
                fs::set_permissions(d.join(".env"), fs::Permissions::from_mode(0o644)).unwrap()
            },
            ".env: holds a secret but is mode 0644",
        ),
    ]
}

fn cluster_tampers() -> Vec<Tamper> {
    vec![
        env(
            "REDIS_CLUSTER_NODES",
            "",
            "REDIS_CLUSTER_NODES lists no node",
        ),
        t(
            "a node that does not parse",
            |d| {
                let nodes = read_env(d)["REDIS_CLUSTER_NODES"].clone();
                set_env(d, "REDIS_CLUSTER_NODES", &format!("{nodes},127.0.0.1:abc"))
            },
            "entry `127.0.0.1:abc` is not host:port",
        ),
        env("REDIS_DB", "1", "REDIS_DB=1 in cluster mode"),
        t(
            "replica user gets +@all",
            |d| {
                let acl = fs::read_to_string(d.join("users.acl")).unwrap();
                fs::write(d.join("users.acl"), acl.replace("+psync", "+@all")).unwrap()
            },
            "user kimera_replica has rules",
        ),
        t(
            "a node without tls-cluster",
            |d| {
                let conf = first_node_conf(d);
                let text = fs::read_to_string(&conf).unwrap();
                fs::write(&conf, text.replace("tls-cluster yes", "tls-cluster no")).unwrap()
            },
            "tls-cluster is not yes",
        ),
    ]
}

fn first_node_conf(dir: &Path) -> std::path::PathBuf {
    let mut nodes: Vec<_> = fs::read_dir(dir.join("nodes"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    nodes.sort();
    nodes[0].join("redis.conf")
}

/// Apply each tamper to a fresh folder made by `make`; verify must report it, exit 1.
fn check_all(tmp: &Path, prefix: &str, make: impl Fn(&Path), tampers: Vec<Tamper>) -> usize {
    let mut failures = Vec::new();
    let n = tampers.len();
    for (i, (name, tamper, expect)) in tampers.into_iter().enumerate() {
        let dir = tmp.join(format!("{prefix}{i}"));
        make(&dir);
        let (code, out) = verify(&dir);
        assert_eq!(
            code,
            Some(0),
            "fresh folder for {name:?} is not clean:\n{out}"
        );
        tamper(&dir);
        let (code, out) = verify(&dir);
        if code != Some(1) || !out.contains(expect) || out.contains("ok: ") {
            failures.push(format!(
                "{name}: exit {code:?}, expected {expect:?} in:\n{out}"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {n} tampers not reported:\n{}",
        failures.len(),
        failures.join("\n")
    );
    n
}

#[test]
fn verify_reports_every_way_a_fresh_folder_is_tampered_with() {
    let tmp = tempdir();
    let prod = check_all(
        tmp.path(),
        "p",
        |d| {
            generate_prod(d, &[]);
        },
        production_tampers(),
    );
    let ports = free_cluster_ports(3);
    let nodes: Vec<String> = ports.iter().map(|p| format!("127.0.0.1:{p}")).collect();
    let nodes = nodes.join(",");
    let cluster = check_all(
        tmp.path(),
        "c",
        |d| {
            generate(&[
                "--profile",
                "cluster",
                "--tls",
                "--nodes",
                &nodes,
                "--out",
                d.to_str().unwrap(),
            ]);
        },
        cluster_tampers(),
    );
    assert!(prod + cluster >= 30, "only {} tampers", prod + cluster);
}

#[test]
fn pydantic_forms_the_app_accepts_are_not_findings() {
    let tmp = tempdir();
    let dir = tmp.path().join("p");
    generate_prod(&dir, &[]);
    for (key, value) in [
        ("REDIS_SSL", "True"),
        ("REDIS_RETRY_ON_TIMEOUT", "yes"),
        ("REDIS_DECODE_RESPONSES", "1"),
        ("REDIS_CLUSTER_MODE", "False"),
        ("REDIS_SOCKET_TIMEOUT", "2"),
        ("REDIS_MAX_CONNECTIONS", " 60"),
    ] {
        set_env(&dir, key, value);
        let (code, out) = verify(&dir);
        assert_eq!(code, Some(0), "{key}={value}:\n{out}");
    }
}

#[test]
fn doctor_names_an_env_the_app_cannot_parse_and_never_panics() {
    let tmp = tempdir();
    let prod = tmp.path().join("p");
    generate_prod(&prod, &[]);
    let ports = free_cluster_ports(3);
    let nodes: Vec<String> = ports.iter().map(|p| format!("127.0.0.1:{p}")).collect();
    let cluster = tmp.path().join("c");
    generate(&[
        "--profile",
        "cluster",
        "--nodes",
        &nodes.join(","),
        "--out",
        cluster.to_str().unwrap(),
    ]);
    for (dir, key, value, expect) in [
        (&prod, "REDIS_PORT", "abc", "REDIS_PORT=abc is not a port"),
        (&prod, "REDIS_PORT", "", "REDIS_PORT= is not a port"),
        (
            &prod,
            "REDIS_SOCKET_CONNECT_TIMEOUT",
            "1e300",
            "is not a usable timeout",
        ),
        (
            &prod,
            "REDIS_SOCKET_CONNECT_TIMEOUT",
            "1e-12",
            "is not a usable timeout",
        ),
        (&prod, "REDIS_CERT_REQS", "requred", "refused by redis-py"),
        (&prod, "REDIS_HOST", "", "is not a host name or IP address"),
        (&cluster, "REDIS_CLUSTER_NODES", "", "lists no node"),
        (
            &cluster,
            "REDIS_CLUSTER_NODES",
            "127.0.0.1:7001,127.0.0.1:abc",
            "127.0.0.1:abc",
        ),
    ] {
        let saved = fs::read(dir.join(".env")).unwrap();
        set_env(dir, key, value);
        let out = run(&["doctor", dir.to_str().unwrap()]);
        let (text, err) = (
            stdout(&out),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        );
        assert_eq!(out.status.code(), Some(1), "{key}={value}: {text}{err}");
        assert!(!err.contains("panicked"), "{key}={value}: {err}");
        assert!(
            text.contains("FAIL  .env: ") && text.contains(expect),
            "{key}={value}: {text}"
        );
        assert!(
            !text.contains("network refused") && !text.contains("The app can connect"),
            "{text}"
        );
        // JSON carries the same finding.
        let out = run(&["doctor", dir.to_str().unwrap(), "--json"]);
        let json: serde_json::Value =
            serde_json::from_slice(&out.stdout).expect("doctor --json prints JSON");
        assert_eq!(json["ok"], false);
        let f = &json["findings"][0];
        assert_eq!(f["check"], "env");
        assert_eq!(f["subject"], ".env");
        assert_eq!(f["severity"], "error");
        assert!(f["message"].as_str().unwrap().contains(expect), "{json}");
        assert!(f["fix"].as_str().is_some_and(|s| !s.is_empty()));
        fs::write(dir.join(".env"), saved).unwrap();
    }
}

#[test]
fn verify_json_lists_findings_with_check_subject_severity_message_and_fix() {
    let tmp = tempdir();
    let dir = tmp.path().join("p");
    generate_prod(&dir, &[]);
    let out = run(&["verify", dir.to_str().unwrap(), "--json"]);
    assert_eq!(out.status.code(), Some(0));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["ok"], true);
    assert_eq!(json["findings"].as_array().unwrap().len(), 0);
    replace(
        &dir,
        "redis.conf",
        "protected-mode",
        Some("protected-mode no"),
    );
    let out = run(&["verify", dir.to_str().unwrap(), "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let f = &json["findings"][0];
    assert_eq!(f["check"], "security");
    assert_eq!(f["subject"], "redis.conf");
    assert_eq!(f["severity"], "error");
    assert!(
        f["message"]
            .as_str()
            .unwrap()
            .contains("protected-mode is no"),
        "{json}"
    );
    assert_eq!(
        f["fix"],
        "in redis.conf, write `protected-mode yes` and restart the server"
    );
}

#[test]
fn inspect_on_a_folder_without_certificates_says_so() {
    let tmp = tempdir();
    let dir = tmp.path().join("l");
    generate(&["--profile", "local-dev", "--out", dir.to_str().unwrap()]);
    let out = run(&["inspect", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).starts_with("error: ")
            && String::from_utf8_lossy(&out.stderr).contains("no certificates in certs/"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn doctor_names_a_server_certificate_without_server_auth_in_words() {
    if !have("redis-server") {
        return;
    }
    let tmp = tempdir();
    let dir = tmp.path().join("f");
    let port = free_port().to_string();
    generate(&[
        "fixtures",
        "--host",
        "localhost",
        "--port",
        &port,
        "--out",
        dir.to_str().unwrap(),
    ]);
    let _server = Server::start_with_cert(
        &dir.join("redis.conf"),
        port.parse().unwrap(),
        &dir.join("fixtures/server-without-serverauth.crt"),
        &dir.join("fixtures/server-without-serverauth.key"),
    );
    let out = run(&["doctor", dir.to_str().unwrap()]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("the server certificate is not for a server (no serverAuth"),
        "{text}"
    );
    assert!(!text.contains("Context {"), "a raw rustls error: {text}");
}

#[test]
fn doctor_reads_redis_ssl_true_as_pydantic_does() {
    if !have("redis-server") {
        return;
    }
    let tmp = tempdir();
    let dir = tmp.path().join("p");
    let port = generate_prod(&dir, &[]);
    set_env(&dir, "REDIS_SSL", "True");
    let _server = Server::start(&dir.join("redis.conf"), port);
    let out = run(&["doctor", dir.to_str().unwrap()]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("TLS with the client certificate"), "{text}");
}

#[test]
fn a_renewal_for_30_days_is_not_flagged_by_the_next_verify() {
    let tmp = tempdir();
    let dir = tmp.path().join("p");
    generate_prod(&dir, &[]);
    let out = run(&["renew", dir.to_str().unwrap(), "--days", "30"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (code, out) = verify(&dir);
    assert_eq!(code, Some(0), "{out}");
}

#[test]
fn a_profile_file_with_a_timeout_no_socket_takes_is_refused() {
    let tmp = tempdir();
    for (field, value) in [
        ("socket_connect_timeout", "1e300"),
        ("socket_timeout", "1e-12"),
        ("max_connections", "0"),
    ] {
        let file = tmp.path().join(format!("{field}.toml"));
        fs::write(
            &file,
            format!("base = \"production-tls\"\n[pool]\n{field} = {value}\n"),
        )
        .unwrap();
        let out_dir = tmp.path().join(field);
        let out = run(&[
            "--profile-file",
            file.to_str().unwrap(),
            "--out",
            out_dir.to_str().unwrap(),
        ]);
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(2), "{field}={value}: {err}");
        assert!(
            err.starts_with("error: profile field pool: allowed:"),
            "{err}"
        );
        assert!(!out_dir.exists(), "{field}={value} wrote a folder");
    }
}
