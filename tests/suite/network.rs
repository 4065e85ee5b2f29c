//! `--bind`: the addresses written into redis.conf, the compose file's published ports
//! (read back with docker-compose's own `config`), the record that re-runs and verify
//! start from, and the refusals (exit 2, one line naming the flag).

use std::path::Path;

use crate::common::{docker_compose, generate, have, run, tempdir};

fn conf_bind(conf: &Path) -> String {
    std::fs::read_to_string(conf)
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("bind ").map(str::to_owned))
        .expect("redis.conf has a bind line")
}

/// The published ports of `service` as docker-compose itself resolves the file.
fn published(dir: &Path, service: &str) -> Vec<String> {
    let resolved = if have("docker-compose") {
        docker_compose(dir, &["-f", "docker-compose.yml", "config"])
    } else {
        std::fs::read_to_string(dir.join("docker-compose.yml")).unwrap()
    };
    let doc: serde_norway::Value = serde_norway::from_str(&resolved).unwrap();
    doc["services"][service]["ports"]
        .as_sequence()
        .map(|ports| {
            ports
                .iter()
                .map(|p| match p {
                    serde_norway::Value::String(s) => s.clone(),
                    // docker-compose config writes the long form.
                    p => format!(
                        "{}:{}:{}",
                        p["host_ip"].as_str().unwrap_or(""),
                        p["published"]
                            .as_u64()
                            .map(|n| n.to_string())
                            .or_else(|| p["published"].as_str().map(str::to_owned))
                            .unwrap_or_default(),
                        p["target"].as_u64().unwrap_or(0)
                    ),
                })
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn bind_reaches_redis_conf_the_published_ports_and_the_record() {
    let tmp = tempdir();
    let dir = tmp.path().join("p");
    let d = dir.to_str().unwrap();
    generate(&[
        "--profile",
        "production-tls",
        "--host",
        "10.0.0.5",
        "--bind",
        "10.0.0.5",
        "--bind",
        "fd00::5",
        "--out",
        d,
    ]);
    assert_eq!(
        conf_bind(&dir.join("redis.conf")),
        "10.0.0.5 fd00::5 127.0.0.1 -::1"
    );
    let ports = published(&dir, "redis");
    assert_eq!(ports.len(), 3, "{ports:?}");
    for want in ["10.0.0.5:6380:6380", "fd00::5", "127.0.0.1:6380:6380"] {
        assert!(ports.iter().any(|p| p.contains(want)), "{want}: {ports:?}");
    }
    assert!(
        !ports
            .iter()
            .any(|p| p.starts_with("6380") || p.starts_with("0.0.0.0")),
        "never on every interface: {ports:?}"
    );
    let record = std::fs::read_to_string(dir.join("kimera-redis.toml")).unwrap();
    assert!(
        record.contains("bind = [\"10.0.0.5\", \"fd00::5\"]"),
        "{record}"
    );
    // A re-run with no flags takes --bind from the record.
    let again = generate(&["--out", d, "--dry-run"]);
    let note = String::from_utf8_lossy(&again.stderr);
    assert!(note.contains("--bind 10.0.0.5,fd00::5"), "{note}");
    let ok = run(&["verify", d]);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stdout)
    );
}

#[test]
fn an_edited_bind_is_reported_by_verify() {
    let tmp = tempdir();
    let dir = tmp.path().join("p");
    let d = dir.to_str().unwrap();
    generate(&[
        "--profile",
        "production-tls",
        "--host",
        "10.0.0.5",
        "--bind",
        "10.0.0.5",
        "--out",
        d,
    ]);
    let conf = dir.join("redis.conf");
    let text = std::fs::read_to_string(&conf).unwrap();
    std::fs::write(
        &conf,
        text.replace("bind 10.0.0.5 127.0.0.1 -::1", "bind * -::*"),
    )
    .unwrap();
    let out = run(&["verify", d]);
    let said = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(
        said.contains("bind is `* -::*`, not the generated `10.0.0.5 127.0.0.1 -::1`"),
        "{said}"
    );
    std::fs::write(&conf, text).unwrap();
    // The compose file publishing on every interface again is reported too.
    let compose = dir.join("docker-compose.yml");
    let text = std::fs::read_to_string(&compose).unwrap();
    std::fs::write(
        &compose,
        text.replace("\"10.0.0.5:6380:6380\"", "\"6380:6380\""),
    )
    .unwrap();
    let out = run(&["verify", d]);
    let said = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(said.contains("docker-compose.yml"), "{said}");
}

#[test]
fn defaults_publish_where_redis_listens() {
    // A server on this machine: loopback only, as before.
    let tmp = tempdir();
    let dir = tmp.path().join("l");
    generate(&["--profile", "local-dev", "--out", dir.to_str().unwrap()]);
    assert_eq!(conf_bind(&dir.join("redis.conf")), "127.0.0.1 -::1");
    assert_eq!(published(&dir, "redis").len(), 1);
    assert!(published(&dir, "redis")[0].contains("127.0.0.1"));
    // An IP address: that address and loopback, no longer every interface.
    let dir = tmp.path().join("ip");
    generate(&[
        "--profile",
        "production-tls",
        "--host",
        "10.0.0.5",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(
        conf_bind(&dir.join("redis.conf")),
        "10.0.0.5 127.0.0.1 -::1"
    );
    let ports = published(&dir, "redis");
    assert_eq!(ports.len(), 2, "{ports:?}");
    assert!(
        ports
            .iter()
            .all(|p| p.contains("10.0.0.5") || p.contains("127.0.0.1"))
    );
    // A host name cannot be bound before it resolves: every interface (README says why).
    let dir = tmp.path().join("name");
    generate(&[
        "--profile",
        "production-tls",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(conf_bind(&dir.join("redis.conf")), "* -::*");
}

#[test]
fn a_cluster_on_host_networking_binds_every_node_and_its_bus() {
    let tmp = tempdir();
    let dir = tmp.path().join("c");
    generate(&[
        "--profile",
        "cluster",
        "--nodes",
        "127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003",
        "--bind",
        "127.0.0.1",
        "--out",
        dir.to_str().unwrap(),
    ]);
    for port in [7001, 7002, 7003] {
        // Redis binds the cluster bus (port + 10000) on the same addresses.
        assert_eq!(
            conf_bind(&dir.join(format!("nodes/127.0.0.1-{port}/redis.conf"))),
            "127.0.0.1 -::1"
        );
    }
}

#[test]
fn bad_bind_addresses_are_refused_with_one_line() {
    let tmp = tempdir();
    let d = tmp.path().join("x");
    let d = d.to_str().unwrap();
    let cases: &[(&[&str], &str)] = &[
        (
            &["--profile", "production-tls", "--bind", "redis.local"],
            "--bind redis.local: not an IP address",
        ),
        (
            &["--profile", "local-dev", "--bind", "10.0.0.5"],
            "--bind 10.0.0.5: profile local-dev has no password",
        ),
        (
            &[
                "--profile",
                "production-tls",
                "--host",
                "10.0.0.5",
                "--bind",
                "10.0.0.6",
            ],
            "--bind 10.0.0.6: the app dials 10.0.0.5:6380, which the server would not listen on",
        ),
        (
            &["--profile", "production-tls", "--bind", "10.0.0.5,10.0.0.5"],
            "--bind 10.0.0.5: listed twice",
        ),
        (
            &["--profile", "cluster", "--bind", "10.0.0.5"],
            "--bind: in bridge mode",
        ),
    ];
    for (args, want) in cases {
        let mut all = args.to_vec();
        all.extend(["--out", d]);
        let out = run(&all);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(want), "{args:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{err}");
        assert!(!Path::new(d).exists(), "nothing written");
    }
}
