//! What settings decide, case by case: profile defaults, each flag, a profile file over
//! its base, read back from the files a run writes (`.env`, `redis.conf`) and from the
//! certificates its `--json` report describes. One table, so that a refactor of how
//! settings are built (profile -> flags -> settings) shows any value that moved.

use std::fs;

use crate::common::*;
use serde_json::Value;

struct Case {
    name: &'static str,
    args: &'static [&'static str],
    /// `.env` values that must be exactly these.
    env: &'static [(&'static str, &'static str)],
    /// Lines `redis.conf` must hold (for a cluster: the first node's).
    conf: &'static [&'static str],
    /// For TLS: (server certificate file, its SANs in order, key, leaf days, CA days).
    tls: Option<Tls>,
}

struct Tls {
    server: &'static str,
    sans: &'static [&'static str],
    key: &'static str,
    days: i64,
    ca_days: i64,
}

const CASES: &[Case] = &[
    Case {
        name: "local-dev defaults",
        args: &["--profile", "local-dev"],
        env: &[
            ("REDIS_HOST", "localhost"),
            ("REDIS_PORT", "6379"),
            ("REDIS_USERNAME", ""),
            ("REDIS_PASSWORD", ""),
            ("REDIS_DB", "0"),
            ("REDIS_SSL", "false"),
            ("REDIS_CLUSTER_MODE", "false"),
            ("REDIS_MAX_CONNECTIONS", "50"),
            ("REDIS_SOCKET_TIMEOUT", "5.0"),
            ("REDIS_HEALTH_CHECK_INTERVAL", "30"),
            ("REDIS_URL", "redis://localhost:6379/0"),
            ("KIMERA_LOG_LEVEL", "DEBUG"),
            (
                "KIMERA_FEATURES",
                r#"{"redis_cache": true, "redis_debug": true}"#,
            ),
        ],
        conf: &["port 6379"],
        tls: None,
    },
    Case {
        name: "production-tls defaults",
        args: &["--profile", "production-tls"],
        env: &[
            ("REDIS_HOST", "redis.production.com"),
            ("REDIS_PORT", "6380"),
            ("REDIS_USERNAME", "kimera_user"),
            ("REDIS_DB", "0"),
            ("REDIS_SSL", "true"),
            ("REDIS_CERT_REQS", "required"),
            ("REDIS_CLUSTER_MODE", "false"),
            ("KIMERA_LOG_LEVEL", "INFO"),
            ("KIMERA_FEATURES", r#"{"redis_cache": true}"#),
        ],
        conf: &["port 0", "tls-port 6380", "tls-auth-clients yes"],
        tls: Some(Tls {
            server: "certs/redis-server.crt",
            sans: &[
                "DNS:redis.production.com",
                "DNS:localhost",
                "IP:127.0.0.1",
                "IP:::1",
                "DNS:redis",
            ],
            key: "ECDSA P-256",
            days: 365,
            ca_days: 3650,
        }),
    },
    Case {
        name: "production-tls with every connection and certificate flag",
        args: &[
            "--profile",
            "production-tls",
            "--host",
            "h.example",
            "--port",
            "7000",
            "--db",
            "3",
            "--username",
            "app",
            "--san",
            "alt.example",
            "--san",
            "10.0.0.5",
            "--days",
            "30",
            "--ca-days",
            "60",
            "--key-type",
            "rsa-2048",
        ],
        env: &[
            ("REDIS_HOST", "h.example"),
            ("REDIS_PORT", "7000"),
            ("REDIS_USERNAME", "app"),
            ("REDIS_DB", "3"),
            ("REDIS_SSL", "true"),
        ],
        conf: &["port 0", "tls-port 7000"],
        tls: Some(Tls {
            server: "certs/redis-server.crt",
            sans: &[
                "DNS:h.example",
                "DNS:localhost",
                "IP:127.0.0.1",
                "IP:::1",
                "DNS:redis",
                "DNS:alt.example",
                "IP:10.0.0.5",
            ],
            key: "RSA 2048",
            days: 30,
            ca_days: 60,
        }),
    },
    Case {
        name: "high-performance tuning flags",
        args: &[
            "--profile",
            "high-performance",
            "--maxmemory",
            "2gb",
            "--io-threads",
            "4",
        ],
        env: &[
            ("REDIS_HOST", "redis.internal"),
            ("REDIS_PORT", "6379"),
            ("REDIS_USERNAME", "kimera_user"),
            ("REDIS_SSL", "false"),
            ("REDIS_MAX_CONNECTIONS", "100"),
            ("REDIS_SOCKET_TIMEOUT", "2.0"),
            ("REDIS_SOCKET_CONNECT_TIMEOUT", "2.0"),
            ("REDIS_HEALTH_CHECK_INTERVAL", "10"),
        ],
        conf: &[
            "port 6379",
            "maxmemory 2gb",
            "maxmemory-policy allkeys-lru",
            "io-threads 4",
            "io-threads-do-reads yes",
        ],
        tls: None,
    },
    Case {
        name: "high-performance with --tls on an IP host",
        args: &[
            "--profile",
            "high-performance",
            "--tls",
            "--host",
            "127.0.0.1",
        ],
        env: &[
            ("REDIS_HOST", "127.0.0.1"),
            ("REDIS_PORT", "6379"),
            ("REDIS_SSL", "true"),
        ],
        conf: &["port 0", "tls-port 6379", "tls-auth-clients yes"],
        tls: Some(Tls {
            server: "certs/redis-server.crt",
            sans: &["IP:127.0.0.1", "DNS:localhost", "IP:::1", "DNS:redis"],
            key: "ECDSA P-256",
            days: 365,
            ca_days: 3650,
        }),
    },
    Case {
        name: "cluster defaults",
        args: &["--profile", "cluster"],
        env: &[
            ("REDIS_HOST", "redis-1"),
            ("REDIS_PORT", "7001"),
            ("REDIS_USERNAME", "cluster_user"),
            ("REDIS_SSL", "false"),
            ("REDIS_CLUSTER_MODE", "true"),
            (
                "REDIS_CLUSTER_NODES",
                "redis-1:7001,redis-2:7002,redis-3:7003",
            ),
        ],
        conf: &["port 7001", "cluster-enabled yes"],
        tls: None,
    },
    Case {
        name: "cluster with --nodes, --tls and ed25519",
        args: &[
            "--profile",
            "cluster",
            "--nodes",
            "10.0.0.1:7001,10.0.0.2:7002,10.0.0.3:7003",
            "--tls",
            "--key-type",
            "ed25519",
        ],
        env: &[
            ("REDIS_HOST", "10.0.0.1"),
            ("REDIS_PORT", "7001"),
            ("REDIS_SSL", "true"),
            ("REDIS_CLUSTER_MODE", "true"),
            (
                "REDIS_CLUSTER_NODES",
                "10.0.0.1:7001,10.0.0.2:7002,10.0.0.3:7003",
            ),
        ],
        conf: &["port 0", "tls-port 7001", "tls-cluster yes"],
        tls: Some(Tls {
            server: "certs/10.0.0.1-7001.crt",
            sans: &[
                "IP:10.0.0.1",
                "DNS:localhost",
                "IP:127.0.0.1",
                "IP:::1",
                "DNS:10.0.0.1-7001",
            ],
            key: "Ed25519",
            days: 365,
            ca_days: 3650,
        }),
    },
];

/// Seconds between two RFC 3339 times of the report.
fn seconds(from: &str, to: &str) -> i64 {
    let parse = |t: &str| {
        time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339)
            .unwrap_or_else(|e| panic!("{t}: {e}"))
            .unix_timestamp()
    };
    parse(to) - parse(from)
}

/// Certificates start an hour in the past (clock skew between hosts) and end `days`
/// after the run.
fn assert_days(cert: &Value, days: i64, what: &str) {
    let span = seconds(
        cert["not_before"].as_str().unwrap(),
        cert["not_after"].as_str().unwrap(),
    );
    assert_eq!(span, days * 86_400 + 3_600, "{what}: {cert}");
}

#[test]
fn each_profile_and_flag_lands_in_the_files() {
    for case in CASES {
        let tmp = tempdir();
        let dir = tmp.path().join("out");
        let mut args = case.args.to_vec();
        args.extend(["--out", dir.to_str().unwrap(), "--json"]);
        let out = generate(&args);
        let report: Value = serde_json::from_slice(&out.stdout).unwrap();
        let name = case.name;

        let env = read_env(&dir);
        for (k, v) in case.env {
            assert_eq!(env.get(*k).map(String::as_str), Some(*v), "{name}: {k}");
        }
        let conf_path = match env["REDIS_CLUSTER_MODE"].as_str() {
            "true" => {
                let first = env["REDIS_CLUSTER_NODES"].split(',').next().unwrap();
                dir.join("nodes")
                    .join(first.replace(':', "-"))
                    .join("redis.conf")
            }
            _ => dir.join("redis.conf"),
        };
        let conf = fs::read_to_string(&conf_path).unwrap();
        for line in case.conf {
            assert!(
                conf.lines().any(|l| l == *line),
                "{name}: {} lacks {line:?}",
                conf_path.display()
            );
        }

        let certs: Vec<(&str, &Value)> = report["files"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|f| Some((f["path"].as_str()?, f.get("certificate")?)))
            .collect();
        let Some(tls) = &case.tls else {
            assert!(certs.is_empty(), "{name}: certificates without TLS");
            assert!(!dir.join("certs").exists(), "{name}");
            continue;
        };
        let find = |path: &str| {
            certs
                .iter()
                .find(|(p, _)| *p == path)
                .map(|(_, c)| *c)
                .unwrap_or_else(|| panic!("{name}: no {path} in the report"))
        };
        let ca = find("certs/ca.crt");
        assert_days(ca, tls.ca_days, name);
        let server = find(tls.server);
        let sans: Vec<&str> = server["sans"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap())
            .collect();
        assert_eq!(sans, tls.sans, "{name}");
        assert_days(server, tls.days, name);
        assert_days(find("certs/redis-client.crt"), tls.days, name);
        for (path, cert) in &certs {
            assert_eq!(cert["key"], tls.key, "{name}: {path}");
        }
        // The .env points at the files the run wrote.
        for k in ["REDIS_SSL_CERTFILE", "REDIS_SSL_KEYFILE", "REDIS_CA_CERTS"] {
            assert!(
                std::path::Path::new(&env[k]).is_file(),
                "{name}: {k}={}",
                env[k]
            );
        }
    }
}

/// A profile file takes its base's values and replaces only what it names, also inside
/// a table such as `[pool]`.
#[test]
fn a_profile_file_overrides_only_what_it_names() {
    let tmp = tempdir();
    let file = tmp.path().join("p.toml");
    fs::write(
        &file,
        "base = \"high-performance\"\nport = 6400\n[pool]\nmax_connections = 7\n",
    )
    .unwrap();
    let dir = tmp.path().join("out");
    let out = generate(&[
        "--profile-file",
        file.to_str().unwrap(),
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .starts_with(&format!("Profile p in {}", dir.display())),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let env = read_env(&dir);
    for (k, v) in [
        ("REDIS_HOST", "redis.internal"),
        ("REDIS_PORT", "6400"),
        ("REDIS_USERNAME", "kimera_user"),
        ("REDIS_MAX_CONNECTIONS", "7"),
        ("REDIS_SOCKET_TIMEOUT", "2.0"),
        ("REDIS_HEALTH_CHECK_INTERVAL", "10"),
    ] {
        assert_eq!(env[k], v, "{k}");
    }
    let conf = fs::read_to_string(dir.join("redis.conf")).unwrap();
    assert!(conf.lines().any(|l| l == "port 6400"), "{conf}");
}
