//! `--metrics`, end to end: Debian's prometheus-redis-exporter (redis_exporter 1.45) run
//! from the generated metrics.env alone against each profile's real redis-server, scraped
//! over HTTP; and the metrics user proved read-only on the server itself.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::*;

pub(crate) const EXPORTER: &str = "prometheus-redis-exporter";

/// A redis_exporter started from a metrics.env; killed by PID when dropped, also on failure.
pub(crate) struct Exporter {
    child: Child,
    port: u16,
    log: std::path::PathBuf,
}

impl Exporter {
    /// The exporter with exactly the variables of `env_file` (nothing inherited but PATH),
    /// serving on a free loopback port instead of the file's own (tests run in parallel).
    pub(crate) fn start(env_file: &Path) -> Exporter {
        let env = read_env_file(env_file);
        assert!(
            env["REDIS_EXPORTER_WEB_LISTEN_ADDRESS"].starts_with("127.0.0.1:"),
            "the exporter serves on loopback: {env:?}"
        );
        let port = free_low_port();
        let log = env_file.with_extension(format!("{port}.log"));
        let out = std::fs::File::create(&log).unwrap();
        let child = Command::new(EXPORTER)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .envs(&env)
            .env(
                "REDIS_EXPORTER_WEB_LISTEN_ADDRESS",
                format!("127.0.0.1:{port}"),
            )
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .expect("the exporter starts");
        Exporter { child, port, log }
    }

    /// GET /metrics until it reports `redis_up 1` (the exporter connects on each scrape),
    /// for at most 20 s; returns the last body.
    pub(crate) fn scrape_until_up(&mut self) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("the exporter exited with {status}:\n{}", self.log());
            }
            let body = http_get(self.port, "/metrics").unwrap_or_default();
            if metric(&body, "redis_up") == Some(1.0) {
                return body;
            }
            assert!(
                Instant::now() < deadline,
                "no `redis_up 1` within 20 s; last scrape:\n{}\nexporter log:\n{}",
                body.lines()
                    .filter(|l| l.starts_with("redis_up") || l.contains("error"))
                    .collect::<Vec<_>>()
                    .join("\n"),
                self.log()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Exporter {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn read_env_file(path: &Path) -> HashMap<String, String> {
    dotenvy::from_path_iter(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .map(|kv| kv.expect("metrics.env parses"))
        .collect()
}

/// One HTTP/1.0 GET on loopback with bounded reads; the body, or `None` while nothing
/// answers yet.
fn http_get(port: u16, path: &str) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    s.set_write_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    let (head, body) = text.split_once("\r\n\r\n")?;
    head.starts_with("HTTP/1.0 200")
        .then(|| body.to_owned())
        .or_else(|| head.starts_with("HTTP/1.1 200").then(|| body.to_owned()))
}

/// The value of an unlabelled metric line `name value`.
fn metric(body: &str, name: &str) -> Option<f64> {
    body.lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
}

fn assert_scraped(exporter: &mut Exporter, what: &str) {
    let body = exporter.scrape_until_up();
    let clients = metric(&body, "redis_connected_clients")
        .unwrap_or_else(|| panic!("{what}: no redis_connected_clients in the scrape"));
    assert!(clients >= 1.0, "{what}: redis_connected_clients {clients}");
}

fn tools() -> bool {
    have("redis-server") && have("redis-cli") && have(EXPORTER)
}

/// A single-server profile with --metrics on a free low port, started; returns the dir's
/// server.
fn single(dir: &Path, profile: &str, extra: &[&str]) -> Server {
    let port = free_low_port();
    let port_s = port.to_string();
    let mut args = vec![
        "--profile",
        profile,
        "--host",
        "localhost",
        "--port",
        &port_s,
        "--metrics",
        "--out",
        dir.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    generate(&args);
    Server::start(&dir.join("redis.conf"), port)
}

#[test]
fn the_exporter_scrapes_production_tls_over_tls_with_its_client_certificate() {
    if !tools() {
        return;
    }
    let tmp = tempdir();
    let dir = tmp.path().join("p");
    let _server = single(&dir, "production-tls", &[]);
    let env = read_env_file(&dir.join("metrics.env"));
    assert!(
        env["REDIS_ADDR"].starts_with("rediss://localhost:"),
        "{env:?}"
    );
    assert_eq!(env["REDIS_USER"], "kimera_metrics");
    assert_eq!(
        env["REDIS_EXPORTER_TLS_CLIENT_CERT_FILE"],
        dir.join("certs/redis-metrics.crt").to_str().unwrap()
    );
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(dir.join("metrics.env"))
            .unwrap()
            .permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);
    let mut exporter = Exporter::start(&dir.join("metrics.env"));
    assert_scraped(&mut exporter, "production-tls");
    // The certificate it presented names the metrics user, for clientAuth only.
    let cert = run(&[
        "inspect",
        dir.join("certs/redis-metrics.crt").to_str().unwrap(),
    ]);
    let text = String::from_utf8_lossy(&cert.stdout);
    assert!(text.contains("kimera_metrics"), "{text}");
    assert!(
        text.contains("clientAuth") && !text.contains("serverAuth"),
        "{text}"
    );
}

#[test]
fn the_exporter_scrapes_the_plain_profiles() {
    if !tools() {
        return;
    }
    for profile in ["high-performance", "local-dev"] {
        let tmp = tempdir();
        let dir = tmp.path().join(profile);
        let _server = single(&dir, profile, &[]);
        let env = read_env_file(&dir.join("metrics.env"));
        assert!(
            env["REDIS_ADDR"].starts_with("redis://localhost:"),
            "{env:?}"
        );
        assert_eq!(
            env.contains_key("REDIS_USER"),
            profile != "local-dev",
            "{profile}: {env:?}"
        );
        let mut exporter = Exporter::start(&dir.join("metrics.env"));
        assert_scraped(&mut exporter, profile);
    }
}

#[test]
fn a_cluster_has_one_exporter_per_node() {
    if !tools() {
        return;
    }
    let tmp = tempdir();
    let dir = tmp.path().join("c");
    let servers = start_cluster(&dir, "127.0.0.1", 3, &["--tls", "--metrics"]);
    let mut ports = Vec::new();
    for s in &servers {
        let env_file = dir
            .join("nodes")
            .join(format!("127.0.0.1-{}", s.port))
            .join("metrics.env");
        let env = read_env_file(&env_file);
        assert_eq!(env["REDIS_ADDR"], format!("rediss://127.0.0.1:{}", s.port));
        ports.push(env["REDIS_EXPORTER_WEB_LISTEN_ADDRESS"].clone());
        let mut exporter = Exporter::start(&env_file);
        let body = exporter.scrape_until_up();
        assert!(
            body.contains("redis_cluster_enabled 1") || body.contains("cluster_enabled"),
            "the exporter read a cluster node's INFO"
        );
        assert!(metric(&body, "redis_connected_clients").unwrap_or(0.0) >= 1.0);
    }
    ports.dedup();
    assert_eq!(ports.len(), 3, "each node's exporter has a port of its own");
    // No CONFIG GET on a cluster node: it would show masterauth, the replication password.
    let (port, _) = (servers[0].port, ());
    let dryrun = admin_cli(
        &dir,
        "127.0.0.1",
        port,
        &[
            "ACL",
            "DRYRUN",
            "kimera_metrics",
            "CONFIG",
            "GET",
            "masterauth",
        ],
    );
    assert!(dryrun.contains("no permissions"), "{dryrun}");
}

/// redis-cli as the metrics user, with its client certificate and its password from
/// metrics.env (through REDISCLI_AUTH, never argv).
fn metrics_cli(dir: &Path, port: u16, args: &[&str]) -> std::process::Output {
    let env = read_env_file(&dir.join("metrics.env"));
    Command::new("redis-cli")
        .args([
            "-e",
            "--tls",
            "--cacert",
            &env["REDIS_EXPORTER_TLS_CA_CERT_FILE"],
            "--cert",
            &env["REDIS_EXPORTER_TLS_CLIENT_CERT_FILE"],
            "--key",
            &env["REDIS_EXPORTER_TLS_CLIENT_KEY_FILE"],
            "--user",
            &env["REDIS_USER"],
            "-h",
            "localhost",
            "-p",
            &port.to_string(),
        ])
        .args(args)
        .env("REDISCLI_AUTH", &env["REDIS_PASSWORD"])
        .output()
        .expect("redis-cli runs")
}

#[test]
fn the_metrics_user_reads_but_cannot_write_or_reconfigure() {
    if !tools() {
        return;
    }
    let tmp = tempdir();
    let dir = tmp.path().join("p");
    let server = single(&dir, "production-tls", &[]);
    let port = server.port;
    for cmd in [
        &["SET", "k", "v"][..],
        &["GET", "k"],
        &["FLUSHALL"],
        &["CONFIG", "SET", "maxmemory", "1"],
        &["ACL", "LIST"],
    ] {
        let mut args = vec!["ACL", "DRYRUN", "kimera_metrics"];
        args.extend_from_slice(cmd);
        let out = admin_cli(&dir, "localhost", port, &args);
        assert!(
            out.contains("no permissions"),
            "ACL DRYRUN kimera_metrics {cmd:?}: {out}"
        );
    }
    let ok = admin_cli(
        &dir,
        "localhost",
        port,
        &["ACL", "DRYRUN", "kimera_metrics", "INFO", "all"],
    );
    assert_eq!(ok.trim(), "OK");
    // On the server itself, with its own credentials: reads INFO, is refused CONFIG SET.
    let info = metrics_cli(&dir, port, &["INFO", "server"]);
    assert!(info.status.success(), "{info:?}");
    assert!(String::from_utf8_lossy(&info.stdout).contains("redis_version"));
    let set = metrics_cli(&dir, port, &["CONFIG", "SET", "maxmemory", "1"]);
    let said =
        String::from_utf8_lossy(&set.stdout).to_string() + &String::from_utf8_lossy(&set.stderr);
    assert!(!set.status.success() && said.contains("NOPERM"), "{said}");
    let write = metrics_cli(&dir, port, &["SET", "k", "v"]);
    let said = String::from_utf8_lossy(&write.stdout).to_string()
        + &String::from_utf8_lossy(&write.stderr);
    assert!(!write.status.success() && said.contains("NOPERM"), "{said}");
}

#[test]
fn reruns_keep_the_metrics_password_verify_checks_the_user_and_renew_covers_its_certificate() {
    let tmp = tempdir();
    let dir = tmp.path().join("p");
    let d = dir.to_str().unwrap();
    generate(&["--profile", "production-tls", "--metrics", "--out", d]);
    let before = read_env_file(&dir.join("metrics.env"))["REDIS_PASSWORD"].clone();
    // A bare re-run takes --metrics from the record and keeps the folder as it is.
    let bare = generate(&["--out", d, "--dry-run"]);
    let said = String::from_utf8_lossy(&bare.stderr);
    assert!(said.contains("--metrics"), "{said}");
    let plan = String::from_utf8_lossy(&bare.stdout);
    assert!(plan.contains("would keep    metrics.env"), "{plan}");
    // --force rewrites every file, with the password metrics.env holds.
    generate(&[
        "--profile",
        "production-tls",
        "--metrics",
        "--out",
        d,
        "--force",
    ]);
    let after = read_env_file(&dir.join("metrics.env"));
    assert_eq!(after["REDIS_PASSWORD"], before, "the password is reused");
    let ok = run(&["verify", d]);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stdout)
    );

    // A metrics user given write rights by hand is reported.
    let acl = dir.join("users.acl");
    let text = std::fs::read_to_string(&acl).unwrap();
    std::fs::write(&acl, text.replace("-@all +ping", "-@all +@write +ping")).unwrap();
    let bad = run(&["verify", d]);
    let said = String::from_utf8_lossy(&bad.stdout);
    assert_eq!(bad.status.code(), Some(1), "{said}");
    assert!(said.contains("kimera_metrics"), "{said}");
    assert!(
        !said.contains(&before),
        "verify never shows a password: {said}"
    );
    std::fs::write(&acl, text).unwrap();

    let renewed = run(&["renew", d]);
    let said = String::from_utf8_lossy(&renewed.stdout);
    assert!(renewed.status.success(), "{said}");
    assert!(said.contains("renewed certs/redis-metrics.crt"), "{said}");
    let ok = run(&["verify", d]);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stdout)
    );
}

#[test]
fn metrics_flags_are_checked() {
    let tmp = tempdir();
    let d = tmp.path().join("x");
    let d = d.to_str().unwrap();
    let out = run(&[
        "--profile",
        "production-tls",
        "--username",
        "kimera_metrics",
        "--out",
        d,
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--username kimera_metrics"));
    let out = run(&[
        "--profile",
        "production-tls",
        "--metrics",
        "--metrics-image",
        "bad image",
        "--out",
        d,
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--metrics-image"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}

#[test]
fn a_clusters_compose_file_has_an_exporter_per_node_published_on_loopback_only() {
    for (mode, nodes) in [
        ("bridge", "redis-1:7001,redis-2:7002,redis-3:7003"),
        ("host", "127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003"),
    ] {
        let tmp = tempdir();
        let dir = tmp.path().join(mode);
        let d = dir.to_str().unwrap();
        generate(&[
            "--profile",
            "cluster",
            "--tls",
            "--nodes",
            nodes,
            "--metrics",
            "--metrics-port",
            "9300",
            "--out",
            d,
        ]);
        let text = if have("docker-compose") {
            docker_compose(&dir, &["-f", "docker-compose.yml", "config"])
        } else {
            std::fs::read_to_string(dir.join("docker-compose.yml")).unwrap()
        };
        let doc: serde_norway::Value = serde_norway::from_str(&text).unwrap();
        let services = doc["services"].as_mapping().unwrap();
        let exporters: Vec<_> = services
            .iter()
            .filter(|(k, _)| k.as_str().unwrap().ends_with("-exporter"))
            .collect();
        assert_eq!(exporters.len(), 3, "{mode}: one exporter per node");
        for (i, (name, svc)) in exporters.iter().enumerate() {
            let env = svc.get("environment");
            if mode == "bridge" {
                // Published on loopback only, each on its own port.
                let ports = serde_norway::to_string(&svc["ports"]).unwrap();
                assert!(ports.contains("127.0.0.1"), "{name:?}: {ports}");
                assert!(
                    ports.contains(&format!("{}", 9300 + i)),
                    "{name:?}: {ports}"
                );
                let addr = env.unwrap()["REDIS_ADDR"].as_str().unwrap().to_owned();
                assert!(addr.starts_with("rediss://redis-"), "{addr}");
            } else {
                assert_eq!(svc["network_mode"].as_str(), Some("host"));
                assert!(svc.get("ports").is_none());
            }
        }
        // The password stays in the env files (docker-compose reads them at `up`), never
        // in the compose file itself.
        let raw = std::fs::read_to_string(dir.join("docker-compose.yml")).unwrap();
        let first = nodes.split(',').next().unwrap().replace(':', "-");
        let pw = read_env_file(&dir.join(format!("nodes/{first}/metrics.env")))["REDIS_PASSWORD"]
            .clone();
        assert!(!raw.contains(&pw), "{mode}");
        for (i, port) in [7001, 7002, 7003].iter().enumerate() {
            let host = nodes.split(',').nth(i).unwrap().split(':').next().unwrap();
            let env = read_env_file(&dir.join(format!("nodes/{host}-{port}/metrics.env")));
            assert_eq!(
                env["REDIS_EXPORTER_WEB_LISTEN_ADDRESS"],
                format!("127.0.0.1:{}", 9300 + i)
            );
        }
        let ok = run(&["verify", d]);
        assert!(
            ok.status.success(),
            "{mode}: {}",
            String::from_utf8_lossy(&ok.stdout)
        );
        // An edited node metrics.env is reported.
        let host = nodes.split(',').next().unwrap().split(':').next().unwrap();
        let f = dir.join(format!("nodes/{host}-7001/metrics.env"));
        let text = std::fs::read_to_string(&f).unwrap();
        std::fs::write(&f, text.replace("127.0.0.1:9300", "0.0.0.0:9300")).unwrap();
        let bad = run(&["verify", d]);
        let said = String::from_utf8_lossy(&bad.stdout);
        assert_eq!(bad.status.code(), Some(1), "{said}");
        assert!(said.contains("metrics.env"), "{said}");
    }
}

#[test]
fn without_its_record_a_folder_is_known_to_have_an_exporter_from_its_files_not_its_acl() {
    let tmp = tempdir();
    let dir = tmp.path().join("c");
    let d = dir.to_str().unwrap();
    generate(&[
        "--profile",
        "cluster",
        "--tls",
        "--metrics",
        "--metrics-port",
        "9400",
        "--metrics-image",
        "registry.example.com/redis_exporter:v1.45.0",
        "--out",
        d,
    ]);
    std::fs::remove_file(dir.join("kimera-redis.toml")).unwrap();
    let ok = run(&["verify", d]);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stdout)
    );

    // A folder without an exporter: a kimera_metrics line added to users.acl by hand is
    // an unknown user, whatever its name.
    let dir = tmp.path().join("p");
    let d = dir.to_str().unwrap();
    generate(&["--profile", "production-tls", "--out", d]);
    std::fs::remove_file(dir.join("kimera-redis.toml")).unwrap();
    let acl = dir.join("users.acl");
    let mut text = std::fs::read_to_string(&acl).unwrap();
    text.push_str("user kimera_metrics on #0000000000000000000000000000000000000000000000000000000000000000 resetchannels -@all +info\n");
    std::fs::write(&acl, text).unwrap();
    let bad = run(&["verify", d]);
    let said = String::from_utf8_lossy(&bad.stdout);
    assert_eq!(bad.status.code(), Some(1), "{said}");
    assert!(
        said.contains("user kimera_metrics was not generated"),
        "{said}"
    );
}

#[test]
fn the_printed_metrics_command_pastes_for_a_folder_with_a_space() {
    if !tools() {
        return;
    }
    let tmp = tempdir();
    let dir = tmp.path().join("with space");
    let port = free_low_port().to_string();
    let metrics_port = free_low_port();
    let out = generate(&[
        "--profile",
        "production-tls",
        "--host",
        "localhost",
        "--port",
        &port,
        "--metrics",
        "--metrics-port",
        &metrics_port.to_string(),
        "--out",
        dir.to_str().unwrap(),
    ]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("Start the metrics: "))
        .unwrap_or_else(|| panic!("no metrics line in:\n{text}"));
    let _server = Server::start(&dir.join("redis.conf"), port.parse().unwrap());
    // The parentheses only keep `set -a` out of the user's shell; without them `exec`
    // replaces this sh, so the PID killed on drop is the exporter's.
    let body = line.trim_start_matches('(').trim_end_matches(')');
    let log = tmp.path().join("exporter.log");
    let child = Command::new("sh")
        .args(["-c", body])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .stdout(std::fs::File::create(&log).unwrap())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let mut exporter = Exporter {
        child,
        port: metrics_port,
        log,
    };
    assert_scraped(&mut exporter, "pasted");
}
