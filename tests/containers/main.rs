//! Every generated compose setup, started for real on the Docker engine scripts/test.sh
//! starts, with the local image it builds (passed with --image): every healthcheck
//! healthy, the app (redis-py, hostname checking on) connects from `.env` only, `doctor`
//! passes, clusters form through the compose one-shot service, and `down` then `up`
//! keeps the data and the formed cluster. Bridge-mode clusters are proven from an app
//! container on their network, failover included.

#[path = "../common/mod.rs"]
mod common;
mod engine;
mod servers;

use std::path::Path;
use std::time::{Duration, Instant};

use common::{BIN, read_env, tempdir};
use engine::{
    Stack, WaitingApp, app_in_container, app_on_host, bridge_turn, docker, doctor_passes, engine,
    generate_with, low_ports,
};

/// A single server published on a loopback port: up, healthy, the app writes 200 keys,
/// doctor passes; down and up again, and the keys are there unless the profile keeps
/// nothing on disk.
fn single_server(test: &str, args: &[&str], kept: bool) {
    let Some(image) = engine() else { return };
    let tmp = tempdir();
    let dir = tmp.path().join("s");
    let port = low_ports(1)[0].to_string();
    let mut all = vec!["--host", "localhost", "--port", &port];
    all.extend_from_slice(args);
    generate_with(&image, &dir, &all);
    let stack = Stack::new(&dir, test);
    let services = ["redis".to_owned()];

    stack.up();
    let secs = stack.wait_ready(&services, None);
    eprintln!("{test}: healthy {secs:.1} s after up");
    assert_eq!(app_on_host(&dir, "write").lines().last(), Some("found 200"));
    doctor_passes(&dir);
    if read_env(&dir)["REDIS_SSL"] == "true" {
        rotates_live(&stack, &dir, kept);
    }

    stack.down();
    assert!(stack.states().is_empty(), "down leaves containers");
    stack.up();
    stack.wait_ready(&services, None);
    let expected = if kept { "found 200" } else { "found 0" };
    assert_eq!(app_on_host(&dir, "read").lines().last(), Some(expected));
    doctor_passes(&dir);
}

/// Each file is mounted on its own (the CA key never enters the container), and a file
/// mount keeps the file it started with: `renew --apply` must say that the container
/// still serves the old certificate and how to fix it, and following the fix works.
fn rotates_live(stack: &Stack, dir: &Path, kept: bool) {
    let inside = stack.exec("redis", &["ls", dir.join("certs").to_str().unwrap()]);
    assert!(
        !inside.contains("ca.key"),
        "the CA key is in the container: {inside}"
    );
    let cert = dir.join("certs/redis-server.crt");
    let before = std::fs::read(&cert).unwrap();
    let out = std::process::Command::new(BIN)
        .args(["renew", dir.to_str().unwrap(), "--apply"])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "renew --apply: {said}");
    assert!(
        said.contains("docker-compose up -d --force-recreate"),
        "{said}"
    );
    assert_ne!(
        std::fs::read(&cert).unwrap(),
        before,
        "renew wrote no new certificate"
    );
    stack.compose(&["up", "-d", "--force-recreate"]);
    stack.wait_ready(&["redis".to_owned()], None);
    // doctor compares what the server serves with the file on disk.
    doctor_passes(dir);
    let expected = if kept { "found 200" } else { "found 0" };
    assert_eq!(app_on_host(dir, "read").lines().last(), Some(expected));
}

#[test]
fn local_dev_runs_in_containers() {
    single_server("localdev", &["--profile", "local-dev"], true);
}

#[test]
fn production_tls_runs_in_containers() {
    single_server("prodtls", &["--profile", "production-tls"], true);
}

#[test]
fn high_performance_runs_in_containers() {
    // No persistence in this profile (a cache): after down and up it starts empty.
    single_server("hiperf", &["--profile", "high-performance"], false);
}

#[test]
fn high_performance_tls_runs_in_containers() {
    single_server(
        "hiperftls",
        &["--profile", "high-performance", "--tls"],
        false,
    );
}

/// A host-networking cluster on loopback: every node healthy, cluster-create forms it,
/// the app on this machine writes 200 keys across every master, doctor passes; after
/// down and up the one-shot service finds it formed and every key is there.
fn host_cluster(test: &str, nodes: usize, replicas: &str, tls: bool) {
    let Some(image) = engine() else { return };
    host_cluster_on(&image, test, nodes, replicas, tls, &[]);
}

/// A cluster on host networking from `image`, generated with `extra` flags too; returns
/// every node's log (from the first start) for the caller's own checks.
fn host_cluster_on(
    image: &str,
    test: &str,
    nodes: usize,
    replicas: &str,
    tls: bool,
    extra: &[&str],
) -> String {
    let tmp = tempdir();
    let dir = tmp.path().join("c");
    let ports = low_ports(nodes);
    let list: Vec<String> = ports.iter().map(|p| format!("127.0.0.1:{p}")).collect();
    let list = list.join(",");
    let mut args = vec![
        "--profile",
        "cluster",
        "--nodes",
        &list,
        "--replicas",
        replicas,
    ];
    if tls {
        args.push("--tls");
    }
    args.extend_from_slice(extra);
    generate_with(image, &dir, &args);
    let compose = std::fs::read_to_string(dir.join("docker-compose.yml")).unwrap();
    assert!(
        compose.contains("network_mode: host"),
        "IP nodes default to host networking"
    );
    let services: Vec<String> = ports.iter().map(|p| format!("127.0.0.1-{p}")).collect();
    let stack = Stack::new(&dir, test);

    stack.up();
    let secs = stack.wait_ready(&services, Some("cluster-create"));
    eprintln!("{test}: formed {secs:.1} s after up");
    assert!(
        stack
            .service_log("cluster-create")
            .contains("The cluster is formed"),
        "{}",
        stack.service_log("cluster-create")
    );
    let masters = nodes / (replicas.parse::<usize>().unwrap() + 1);
    let written = app_on_host(&dir, "write");
    assert!(
        written.starts_with(&format!("written 200 to {masters} masters")),
        "{written}"
    );
    assert_eq!(written.lines().last(), Some("found 200"));
    doctor_passes(&dir);
    let first_logs = stack.compose(&["logs", "--no-color"]);
    let replicas_seen = common::admin_cli(&dir, "127.0.0.1", ports[0], &["cluster", "nodes"])
        .lines()
        .filter(|l| l.contains("slave"))
        .count();
    assert_eq!(
        replicas_seen,
        nodes - masters,
        "replicas in the formed cluster"
    );

    stack.down();
    stack.up();
    stack.wait_ready(&services, Some("cluster-create"));
    assert!(
        stack
            .service_log("cluster-create")
            .contains("already formed: cluster_state:ok"),
        "{}",
        stack.service_log("cluster-create")
    );
    assert_eq!(app_on_host(&dir, "read").lines().last(), Some("found 200"));
    doctor_passes(&dir);
    first_logs
}

#[test]
fn cluster_of_three_runs_in_containers() {
    host_cluster("cluster3", 3, "0", false);
}

#[test]
fn tls_cluster_of_three_runs_in_containers() {
    host_cluster("clustertls3", 3, "0", true);
}

#[test]
fn cluster_of_six_with_replicas_runs_in_containers() {
    host_cluster("cluster6", 6, "1", false);
}

#[test]
fn tls_cluster_of_six_with_replicas_runs_in_containers() {
    host_cluster("clustertls6", 6, "1", true);
}

/// The guide's names as a bridge-mode TLS cluster: generated with the defaults (names
/// mean bridge), formed by the one-shot service on the kimera-redis network, proven from
/// an app container there.
fn bridge_cluster(image: &str, dir: &Path, names: &[&str], replicas: &str) -> Stack {
    let list: Vec<String> = names
        .iter()
        .enumerate()
        .map(|(i, n)| format!("{n}:{}", 7001 + i))
        .collect();
    let list = list.join(",");
    generate_with(
        image,
        dir,
        &[
            "--profile",
            "cluster",
            "--tls",
            "--nodes",
            &list,
            "--replicas",
            replicas,
        ],
    );
    let stack = Stack::new(dir, &format!("bridge{}", names.len()));
    stack.up();
    let services: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    let secs = stack.wait_ready(&services, Some("cluster-create"));
    eprintln!(
        "bridge cluster of {}: formed {secs:.1} s after up",
        names.len()
    );
    stack
}

#[test]
fn bridge_cluster_by_the_guides_names_serves_an_app_container() {
    let Some(image) = engine() else { return };
    let _turn = bridge_turn();
    let tmp = tempdir();
    let dir = tmp.path().join("b");
    let stack = bridge_cluster(&image, &dir, &["redis-1", "redis-2", "redis-3"], "0");
    assert_eq!(
        read_env(&dir)["REDIS_CLUSTER_NODES"],
        "redis-1:7001,redis-2:7002,redis-3:7003"
    );
    // Each node is its own container with its own IP on the network.
    let ip_of = |s: &str| -> std::net::Ipv4Addr {
        let out = stack.exec(s, &["hostname", "-i"]);
        out.trim().parse().unwrap_or_else(|_| panic!("{s}: {out}"))
    };
    let ips: std::collections::BTreeMap<std::net::Ipv4Addr, &str> =
        ["redis-1", "redis-2", "redis-3"]
            .iter()
            .map(|s| (ip_of(s), *s))
            .collect();
    assert_eq!(ips.len(), 3, "three nodes, three IPs: {ips:?}");

    let written = app_in_container(&image, "kimera-redis", &dir, "write");
    assert!(
        written.starts_with("written 200 to 3 masters: redis-1:7001 redis-2:7002 redis-3:7003"),
        "{written}"
    );
    assert_eq!(written.lines().last(), Some("found 200"));

    // doctor, this tool's own binary, in a container on the network.
    let bin = format!("{BIN}:/usr/local/bin/kimera-redis-init:ro");
    let d = dir.to_str().unwrap();
    let vol = format!("{d}:{d}:ro");
    docker(&[
        "run",
        "--rm",
        "--network",
        "kimera-redis",
        "-v",
        &bin,
        "-v",
        &vol,
        &image,
        "kimera-redis-init",
        "doctor",
        d,
    ]);

    // Down, then up with other addresses: the node that had the highest starts first on
    // the new network and gets the lowest. Its peers still have its old address in
    // nodes.conf; node-start.sh looks it up again.
    let (old_ip, first) = ips.iter().next_back().map(|(ip, s)| (*ip, *s)).unwrap();
    stack.down();
    stack.compose(&["up", "-d", first]);
    stack.up();
    stack.wait_ready(
        &["redis-1".into(), "redis-2".into(), "redis-3".into()],
        Some("cluster-create"),
    );
    assert_ne!(ip_of(first), old_ip, "{first} kept its address");
    let read = app_in_container(&image, "kimera-redis", &dir, "read");
    assert_eq!(read.lines().last(), Some("found 200"));
}

#[test]
fn bridge_cluster_fails_over_and_the_app_reads_every_key() {
    let Some(image) = engine() else { return };
    let _turn = bridge_turn();
    let tmp = tempdir();
    let dir = tmp.path().join("f");
    let names = [
        "redis-1", "redis-2", "redis-3", "redis-4", "redis-5", "redis-6",
    ];
    let stack = bridge_cluster(&image, &dir, &names, "1");

    let app = WaitingApp::start(&image, "kimera-redis", &dir);
    let admin = common::read_admin(&dir);
    let cli = |service: &str, args: &[&str]| -> String {
        let env = format!("REDISCLI_AUTH={}", admin.1);
        let mut all = vec!["env", &env, "redis-cli", "-e", "--tls"];
        let ca = dir.join("certs/ca.crt");
        let cert = dir.join("certs/redis-client.crt");
        let key = dir.join("certs/redis-client.key");
        let (ca, cert, key) = (
            ca.to_str().unwrap(),
            cert.to_str().unwrap(),
            key.to_str().unwrap(),
        );
        all.extend([
            "--cacert", ca, "--cert", cert, "--key", key, "--user", &admin.0,
        ]);
        let port = (7001 + names.iter().position(|n| *n == service).unwrap()).to_string();
        all.extend(["-h", "127.0.0.1", "-p", &port]);
        all.extend_from_slice(args);
        stack.exec(service, &all).replace('\r', "")
    };
    let nodes = cli("redis-1", &["cluster", "nodes"]);
    let master = nodes
        .lines()
        .find(|l| l.contains("master") && !l.contains("myself"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|a| a.split(',').nth(1))
        .unwrap_or_else(|| panic!("a master other than redis-1 in:\n{nodes}"))
        .to_owned();
    let master_id = nodes
        .lines()
        .find(|l| l.contains(&format!(",{master} ")))
        .and_then(|l| l.split_whitespace().next())
        .unwrap()
        .to_owned();

    // Replication is asynchronous: stop the master only once its replica is linked and
    // has every write (the same offset), or there would be nothing to fail over to.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let info = cli(&master, &["info", "replication"]);
        let field = |k: &str| {
            info.lines()
                .find_map(|l| l.strip_prefix(&format!("{k}:")))
                .map(str::to_owned)
        };
        let offset = field("master_repl_offset");
        let synced = field("connected_slaves").as_deref() == Some("1")
            && field("slave0").is_some_and(|s| {
                s.contains("state=online")
                    && offset
                        .as_ref()
                        .is_some_and(|o| s.contains(&format!("offset={o},")))
            });
        if synced {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{master}'s replica did not catch up in 30 s:\n{info}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    stack.compose(&["stop", "-t", "1", &master]);
    let stopped = Instant::now();
    // A replica takes over: the stopped master is marked failed, one of its replicas is
    // a master, and the cluster is whole again.
    let deadline = stopped + Duration::from_secs(60);
    loop {
        let nodes = cli("redis-1", &["cluster", "nodes"]);
        // The flags column: `fail` once the majority agrees (`fail?` is one node's suspicion).
        let flags = |l: &str| -> Vec<String> {
            l.split_whitespace()
                .nth(2)
                .unwrap_or("")
                .split(',')
                .map(str::to_owned)
                .collect()
        };
        let failed = nodes
            .lines()
            .any(|l| l.starts_with(&master_id) && flags(l).iter().any(|f| f == "fail"));
        let masters = nodes
            .lines()
            .filter(|l| {
                let f = flags(l);
                f.iter().any(|f| f == "master") && !f.iter().any(|f| f.starts_with("fail"))
            })
            .count();
        // Asked after the node list, so "ok" describes the cluster after the promotion seen.
        let info = cli("redis-1", &["cluster", "info"]);
        if failed && masters == 3 && info.contains("cluster_state:ok") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no failover (the stopped master failed, a replica promoted, the cluster ok) \
             after 60 s:\n{nodes}\n{info}\n{}",
            stack.logs()
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    eprintln!(
        "failover: cluster ok {:.1} s after stopping {master}",
        stopped.elapsed().as_secs_f64()
    );

    let out = app.read_back();
    assert_eq!(out.lines().last(), Some("found 200"), "{out}");
}

/// `--metrics` in compose: the exporter service (the test image has Debian's
/// prometheus-redis-exporter as /redis_exporter, where the official image has it) reads
/// metrics.env through env_file, reaches the server by its service name over TLS with its
/// own client certificate, and answers on the loopback port it is published on.
fn exporter_service(test: &str, args: &[&str]) {
    let Some(image) = engine() else { return };
    let tmp = tempdir();
    let dir = tmp.path().join("m");
    let ports = low_ports(2);
    let (port, metrics_port) = (ports[0].to_string(), ports[1]);
    let mp = metrics_port.to_string();
    let mut all = vec![
        "--host",
        "localhost",
        "--port",
        &port,
        "--metrics",
        "--metrics-image",
        &image,
        "--metrics-port",
        &mp,
    ];
    all.extend_from_slice(args);
    generate_with(&image, &dir, &all);
    let stack = Stack::new(&dir, test);
    stack.up();
    stack.wait_ready(&["redis".to_owned()], None);
    let deadline = Instant::now() + Duration::from_secs(60);
    let body = loop {
        let body = http_get(metrics_port).unwrap_or_default();
        if body.lines().any(|l| l == "redis_up 1") {
            break body;
        }
        assert!(
            Instant::now() < deadline,
            "{test}: no `redis_up 1` on 127.0.0.1:{metrics_port} within 60 s:\n{}\n{}",
            body.lines()
                .filter(|l| l.starts_with("redis_up"))
                .collect::<Vec<_>>()
                .join("\n"),
            stack.logs()
        );
        std::thread::sleep(Duration::from_millis(500));
    };
    let clients: f64 = body
        .lines()
        .find_map(|l| l.strip_prefix("redis_connected_clients "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0.0);
    assert!(clients >= 1.0, "{test}: redis_connected_clients {clients}");
    // Published on loopback only.
    let published = stack.compose(&["port", "redis-exporter", "9121"]);
    assert_eq!(published.trim(), format!("127.0.0.1:{metrics_port}"));
}

/// One HTTP/1.0 GET of /metrics on loopback, bounded in time; the body on a 200.
fn http_get(port: u16) -> Option<String> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(s, "GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    let (head, body) = text.split_once("\r\n\r\n")?;
    head.contains(" 200 ").then(|| body.to_owned())
}

#[test]
fn production_tls_exporter_service_answers_on_loopback() {
    exporter_service("metricstls", &["--profile", "production-tls"]);
}

#[test]
fn local_dev_exporter_service_answers_on_loopback() {
    exporter_service("metricsdev", &["--profile", "local-dev"]);
}
