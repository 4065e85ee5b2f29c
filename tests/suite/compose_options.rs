//! `--image` and `--compose-network`: what reaches the compose files, the defaults, and
//! the refusals (exit 2, one line naming the flag, nothing written). The files are read
//! back with a YAML parser and docker-compose's own `config`; tests/containers/ starts them.

use std::path::Path;

use crate::common::{BIN, docker_compose, generate, have, run, tempdir};
use serde_norway::Value;

fn compose(dir: &Path) -> Value {
    serde_norway::from_str(&std::fs::read_to_string(dir.join("docker-compose.yml")).unwrap())
        .unwrap()
}

fn services(doc: &Value) -> Vec<(String, Value)> {
    doc["services"]
        .as_mapping()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.as_str().unwrap().to_owned(), v.clone()))
        .collect()
}

const SETUPS: &[&[&str]] = &[
    &["--profile", "local-dev"],
    &["--profile", "production-tls"],
    &["--profile", "high-performance", "--tls"],
    &["--profile", "cluster", "--tls"],
    &[
        "--profile",
        "cluster",
        "--nodes",
        "127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003",
    ],
];

#[test]
fn image_reaches_every_compose_service() {
    let image = "registry.example.com:5000/team/redis:7.4-kimera";
    for args in SETUPS {
        let tmp = tempdir();
        let dir = tmp.path().join("o");
        let mut all = args.to_vec();
        all.extend(["--image", image, "--out", dir.to_str().unwrap()]);
        generate(&all);
        let doc = compose(&dir);
        for (name, svc) in services(&doc) {
            assert_eq!(
                svc["image"].as_str(),
                Some(image),
                "{args:?}: service {name}"
            );
        }
        if have("docker-compose") {
            docker_compose(&dir, &["-f", "docker-compose.yml", "config", "-q"]);
        }
    }
}

#[test]
fn the_official_image_is_the_default() {
    let tmp = tempdir();
    let dir = tmp.path().join("o");
    generate(&["--profile", "cluster", "--out", dir.to_str().unwrap()]);
    for (name, svc) in services(&compose(&dir)) {
        assert_eq!(svc["image"].as_str(), Some("redis:7.4"), "service {name}");
    }
}

#[test]
fn bad_images_are_refused_before_anything_is_written() {
    for bad in [
        "redis:7.4\nprivileged: true",
        "redis:7.4\" \n    privileged: true",
        "Redis:7.4",
        "redis:7.4 ",
        "redis:$(id)",
        "redis:${HOME}",
        "redis:7.4#x",
        "",
    ] {
        let tmp = tempdir();
        let dir = tmp.path().join("o");
        let out = run(&[
            "--profile",
            "production-tls",
            "--image",
            bad,
            "--out",
            dir.to_str().unwrap(),
        ]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{bad:?}: {err}");
        assert_eq!(
            err.trim_end().lines().count(),
            1,
            "{bad:?}: one line: {err}"
        );
        assert!(err.contains("--image") && err.contains("allowed"), "{err}");
        assert!(!dir.exists(), "{bad:?}: nothing may be written");
    }
}

/// Names (the guide's redis-1..3) mean bridge mode: a service per node named after its
/// host, on the named network, announcing that name; its certificate carries it.
#[test]
fn host_names_default_to_a_bridge_network() {
    let tmp = tempdir();
    let dir = tmp.path().join("b");
    generate(&[
        "--profile",
        "cluster",
        "--tls",
        "--out",
        dir.to_str().unwrap(),
    ]);
    let doc = compose(&dir);
    let names: Vec<String> = services(&doc).into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["redis-1", "redis-2", "redis-3", "cluster-create"]);
    for (name, svc) in services(&doc) {
        assert!(
            svc.get("network_mode").is_none(),
            "{name} uses host networking"
        );
        assert!(svc.get("ports").is_none(), "{name} publishes ports");
        assert_eq!(
            svc["networks"].as_sequence().unwrap()[0].as_str(),
            Some("kimera-redis"),
            "{name}"
        );
        if name != "cluster-create" {
            assert_eq!(svc["hostname"].as_str(), Some(name.as_str()));
        }
    }
    assert_eq!(
        doc["networks"]["kimera-redis"]["name"].as_str(),
        Some("kimera-redis")
    );
    for (i, name) in ["redis-1", "redis-2", "redis-3"].iter().enumerate() {
        let node = format!("{name}-{}", 7001 + i);
        let conf = std::fs::read_to_string(dir.join(format!("nodes/{node}/redis.conf"))).unwrap();
        assert!(
            conf.contains(&format!("\ncluster-announce-hostname {name}\n")),
            "{conf}"
        );
        assert!(conf.contains("\ncluster-preferred-endpoint-type hostname\n"));
        let out = std::process::Command::new(BIN)
            .args(["inspect", "--json"])
            .arg(dir.join(format!("certs/{node}.crt")))
            .output()
            .unwrap();
        let certs: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let sans = certs[0]["sans"].as_array().unwrap();
        assert!(sans.contains(&format!("DNS:{name}").into()), "{sans:?}");
    }
    if have("docker-compose") {
        docker_compose(&dir, &["-f", "docker-compose.yml", "config", "-q"]);
    }
}

#[test]
fn addresses_default_to_host_networking_and_bridge_can_be_chosen_for_names() {
    let tmp = tempdir();
    for (nodes, flag, host) in [
        ("127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003", None, true),
        ("localhost:7001,localhost:7002,localhost:7003", None, true),
        ("10.0.0.1:7001,10.0.0.2:7001,10.0.0.3:7001", None, true),
        ("redis-1:7001,redis-2:7002,redis-3:7003", Some("host"), true),
        // Two nodes on one host cannot be two services named after it.
        ("redis-1:7001,redis-1:7002,redis-2:7003", None, true),
        (
            "a.example:7001,b.example:7001,c.example:7001",
            Some("bridge"),
            false,
        ),
    ] {
        let dir = tmp
            .path()
            .join(format!("{nodes}{flag:?}").replace([':', ',', '"'], "_"));
        let mut args = vec![
            "--profile",
            "cluster",
            "--nodes",
            nodes,
            "--out",
            dir.to_str().unwrap(),
        ];
        if let Some(f) = flag {
            args.extend(["--compose-network", f]);
        }
        generate(&args);
        let doc = compose(&dir);
        for (name, svc) in services(&doc) {
            assert_eq!(
                svc.get("network_mode").and_then(Value::as_str) == Some("host"),
                host,
                "{nodes} {flag:?}: {name}"
            );
        }
    }
}

#[test]
fn combinations_that_cannot_work_are_refused() {
    for (args, says) in [
        (
            &[
                "--profile",
                "cluster",
                "--compose-network",
                "bridge",
                "--nodes",
                "10.0.0.1:7001,10.0.0.2:7001,10.0.0.3:7001",
            ][..],
            "host names such as redis-1",
        ),
        (
            &[
                "--profile",
                "cluster",
                "--compose-network",
                "bridge",
                "--nodes",
                "localhost:7001,localhost:7002,localhost:7003",
            ],
            "host names such as redis-1",
        ),
        (
            &[
                "--profile",
                "cluster",
                "--compose-network",
                "bridge",
                "--nodes",
                "redis-1:7001,redis-1:7002,redis-2:7003",
            ],
            "share a host",
        ),
        (
            &[
                "--profile",
                "cluster",
                "--nodes",
                "cluster-create:7001,redis-2:7002,redis-3:7003",
            ],
            "forms the cluster",
        ),
        (
            &["--profile", "production-tls", "--compose-network", "host"],
            "host networking is for --profile cluster",
        ),
        (
            &["--profile", "cluster", "--compose-network", "overlay"],
            "possible values",
        ),
    ] {
        let tmp = tempdir();
        let dir = tmp.path().join("o");
        let mut all = args.to_vec();
        all.extend(["--out", dir.to_str().unwrap()]);
        let out = run(&all);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains("--compose-network"), "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
        assert!(!dir.exists(), "{args:?}: nothing may be written");
    }
}

/// Whether `text` names `redis-server` or `redis-cli` as a program: a word of its own,
/// not part of a longer name (kimera-redis-server-tls) or a file name
/// (certs/redis-server.crt).
fn names_a_redis_program(text: &str) -> bool {
    let part_of_a_name = |c: Option<char>| {
        c.is_some_and(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
    };
    ["redis-server", "redis-cli"].iter().any(|p| {
        text.match_indices(p).any(|(i, _)| {
            !part_of_a_name(text[..i].chars().next_back())
                && !part_of_a_name(text[i + p.len()..].chars().next())
        })
    })
}

/// `--server valkey`: every program a file starts or a printed hint names is Valkey's;
/// the only redis-cli left is the cluster scripts' fallback for machines without
/// valkey-cli. Certificate file names (certs/redis-server.crt) are names, not programs.
#[test]
fn a_valkey_setup_names_valkeys_programs_only() {
    assert!(names_a_redis_program("exec redis-server \"$@\""));
    assert!(!names_a_redis_program("certs/redis-server.crt"));
    assert!(!names_a_redis_program("name: kimera-redis-server-tls"));
    let tmp = tempdir();
    for (profile, extra) in [
        ("production-tls", vec!["--kubernetes"]),
        ("cluster", vec!["--tls", "--kubernetes"]),
        ("local-dev", vec![]),
    ] {
        let dir = tmp.path().join(profile);
        let mut args = vec![
            "--profile",
            profile,
            "--server",
            "valkey",
            "--server-version",
            "9.1",
            "--out",
            dir.to_str().unwrap(),
        ];
        args.extend(extra);
        let printed = String::from_utf8_lossy(&generate(&args).stdout).into_owned();
        assert!(!names_a_redis_program(&printed), "{printed}");
        assert!(printed.contains("valkey-server"), "{printed}");
        for (path, (_, bytes)) in crate::common::snapshot(&dir) {
            let text = String::from_utf8_lossy(&bytes);
            for line in text.lines().filter(|l| names_a_redis_program(l)) {
                // The Job's script is in the ConfigMap.
                let script = path.ends_with("cluster-create.sh")
                    || path.ends_with("kubernetes/configmap.yaml");
                let fallback = script
                    && (line.contains("command -v redis-cli")
                        || line.trim() == "CLI=redis-cli"
                        || line.contains("valkey-cli not found (nor redis-cli)"));
                assert!(fallback, "{profile}: {path} names a Redis program: {line}");
            }
        }
        let compose = std::fs::read_to_string(dir.join("docker-compose.yml")).unwrap();
        assert!(
            compose.contains("image: \"valkey/valkey:9.1\""),
            "{compose}"
        );
    }
}
