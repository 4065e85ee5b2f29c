//! The cluster profile on real servers: nodes started from their generated configs,
//! formed by the generated cluster-create.sh, used by redis-py from `.env` alone.

use std::path::Path;
use std::process::Command;

use crate::common::*;

fn cluster_create(dir: &Path) -> std::process::Output {
    let out = Command::new(dir.join("cluster-create.sh"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "cluster-create.sh failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn info(dir: &Path, host: &str, port: u16, field: &str) -> String {
    let text = admin_cli(dir, host, port, &["cluster", "info"]);
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .unwrap_or_else(|| panic!("no {field} in {text}"))
        .to_owned()
}

/// The KIMERA app's cluster client: redis-py RedisCluster from the REDIS_* variables only.
/// Writes 64 keys, reads them back, and prints how many keys each master holds.
const APP_CLUSTER_PY: &str = r#"
import os
from redis.cluster import RedisCluster, ClusterNode
E = os.environ
nodes = [ClusterNode(h.strip("[]"), int(p)) for h, p in (n.rsplit(":", 1) for n in E["REDIS_CLUSTER_NODES"].split(","))]
kw = dict(username=E["REDIS_USERNAME"], password=E["REDIS_PASSWORD"], decode_responses=True,
          socket_timeout=float(E["REDIS_SOCKET_TIMEOUT"]),
          socket_connect_timeout=float(E["REDIS_SOCKET_CONNECT_TIMEOUT"]),
          require_full_coverage=E["REDIS_SKIP_FULL_COVERAGE_CHECK"] != "true")
if E["REDIS_SSL"] == "true":
    kw.update(ssl=True, ssl_certfile=E["REDIS_SSL_CERTFILE"], ssl_keyfile=E["REDIS_SSL_KEYFILE"],
              ssl_ca_certs=E["REDIS_CA_CERTS"], ssl_cert_reqs=E["REDIS_CERT_REQS"])
assert E["REDIS_CLUSTER_MODE"] == "true"
rc = RedisCluster(startup_nodes=nodes, **kw)
for i in range(64):
    rc.set(f"kimera:{i}", i)
assert all(rc.get(f"kimera:{i}") == str(i) for i in range(64))
for n in sorted(rc.get_primaries(), key=lambda n: n.port):
    print(n.port, rc.dbsize(target_nodes=n))
"#;

/// Every master holds some of the app's keys.
fn app_writes_to_every_master(dir: &Path, masters: usize) {
    let out = python(APP_CLUSTER_PY, &read_env(dir));
    assert!(
        out.status.success(),
        "redis-py cluster client failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let counts: Vec<u64> = stdout
        .lines()
        .map(|l| l.split_whitespace().nth(1).unwrap().parse().unwrap())
        .collect();
    assert_eq!(counts.len(), masters, "{stdout}");
    assert!(
        counts.iter().all(|c| *c > 0),
        "a master got no keys: {stdout}"
    );
}

#[test]
fn three_masters_form_and_the_app_writes_to_every_master() {
    if !have("redis-server") || !have("redis-cli") || !have_redis_py() {
        return;
    }
    let tmp = tempdir();
    let dir = tmp.path().join("c");
    let servers = start_cluster(&dir, "127.0.0.1", 3, &[]);
    let first = servers[0].port;
    let out = cluster_create(&dir);
    assert!(String::from_utf8_lossy(&out.stdout).contains("The cluster is formed"));
    assert_eq!(info(&dir, "127.0.0.1", first, "cluster_state"), "ok");
    assert_eq!(
        info(&dir, "127.0.0.1", first, "cluster_slots_assigned"),
        "16384"
    );
    assert_eq!(info(&dir, "127.0.0.1", first, "cluster_size"), "3");
    app_writes_to_every_master(&dir, 3);

    // Run again on the formed cluster: it says so and succeeds, changing nothing.
    let again = cluster_create(&dir);
    assert!(String::from_utf8_lossy(&again.stdout).contains("already formed: cluster_state:ok"));
    assert_eq!(info(&dir, "127.0.0.1", first, "cluster_known_nodes"), "3");
}

#[test]
fn tls_cluster_with_host_names_and_hostname_checking() {
    if !have("redis-server") || !have("redis-cli") || !have_redis_py() {
        return;
    }
    let tmp = tempdir();
    let dir = tmp.path().join("c");
    // Nodes named `localhost`: they announce host names, which the app verifies against
    // each node's certificate.
    let servers = start_cluster(&dir, "localhost", 3, &["--tls"]);
    let env = read_env(&dir);
    assert_eq!(env["REDIS_SSL"], "true");
    cluster_create(&dir);
    assert_eq!(
        info(&dir, "localhost", servers[0].port, "cluster_state"),
        "ok"
    );
    app_writes_to_every_master(&dir, 3);
    // The bus itself is TLS: the plain bus port does not speak the cluster protocol in
    // clear text, and a client without a certificate is refused by every node.
    let no_cert = Command::new("redis-cli")
        .args([
            "--tls",
            "--cacert",
            &env["REDIS_CA_CERTS"],
            "-p",
            &servers[1].port.to_string(),
            "ping",
        ])
        .output()
        .unwrap();
    // The refusal the user sees: redis-cli exits 1 with nothing on stdout and the
    // connection torn down by the server (reset or closed, depending on when the alert
    // arrives), and the node logs why: the client sent no certificate.
    let (out, err) = (
        String::from_utf8_lossy(&no_cert.stdout),
        String::from_utf8_lossy(&no_cert.stderr),
    );
    assert_eq!(
        no_cert.status.code(),
        Some(1),
        "stdout {out:?}, stderr {err:?}"
    );
    assert_eq!(out, "", "stderr {err:?}");
    assert!(
        [
            "Error: Connection reset by peer\n",
            "Error: Server closed the connection\n"
        ]
        .contains(&err.as_ref()),
        "{err:?}"
    );
    servers[1].wait_for_log("peer did not return a certificate", 1);
}

#[test]
fn six_nodes_with_one_replica_each() {
    if !have("redis-server") || !have("redis-cli") || !have_redis_py() {
        return;
    }
    let tmp = tempdir();
    let dir = tmp.path().join("c");
    let servers = start_cluster(&dir, "127.0.0.1", 6, &["--replicas", "1", "--tls"]);
    cluster_create(&dir);
    let first = servers[0].port;
    assert_eq!(info(&dir, "127.0.0.1", first, "cluster_size"), "3");
    // Roles reach the other nodes by gossip, a moment after the slots do: wait for the
    // first node to see every master with a replica.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let nodes = admin_cli(&dir, "127.0.0.1", first, &["cluster", "nodes"]);
        let masters: Vec<&str> = nodes
            .lines()
            .filter(|l| l.contains("master"))
            .map(|l| l.split(' ').next().unwrap())
            .collect();
        let paired = masters.len() == 3
            && masters
                .iter()
                .all(|m| nodes.lines().any(|l| l.contains("slave") && l.contains(m)));
        if paired {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not every master got a replica:\n{nodes}"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    // Replication authenticates and runs over TLS: each replica's link to its master is up.
    for s in &servers {
        let repl = admin_cli(&dir, "127.0.0.1", s.port, &["info", "replication"]);
        if repl.contains("role:slave") {
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
            let mut repl = repl;
            while !repl.contains("master_link_status:up") {
                assert!(
                    std::time::Instant::now() < deadline,
                    "replica on {} never linked up:\n{repl}",
                    s.port
                );
                std::thread::sleep(std::time::Duration::from_millis(200));
                repl = admin_cli(&dir, "127.0.0.1", s.port, &["info", "replication"]);
            }
        }
    }
    app_writes_to_every_master(&dir, 3);
}

#[test]
fn compose_file_passes_docker_compose_config() {
    if !have("docker-compose") {
        return;
    }
    let tmp = tempdir();
    let dir = tmp.path().join("c");
    generate(&[
        "--profile",
        "cluster",
        "--tls",
        "--compose-network",
        "host",
        "--out",
        dir.to_str().unwrap(),
    ]);
    docker_compose(&dir, &["-f", "docker-compose.yml", "config", "-q"]);
    let text = std::fs::read_to_string(dir.join("docker-compose.yml")).unwrap();
    let yaml: serde_norway::Value = serde_norway::from_str(&text).unwrap();
    let services = yaml["services"].as_mapping().unwrap();
    // The guide's three nodes, each on the host network (no NAT) as asked, plus the one-shot creator.
    for name in ["redis-1-7001", "redis-2-7002", "redis-3-7003"] {
        assert_eq!(
            yaml["services"][name]["network_mode"].as_str(),
            Some("host"),
            "{name}"
        );
    }
    assert_eq!(services.len(), 4);
    let create = &yaml["services"]["cluster-create"];
    assert_eq!(
        create["depends_on"]["redis-1-7001"]["condition"].as_str(),
        Some("service_healthy")
    );
    for secret in [read_env(&dir)["REDIS_PASSWORD"].clone(), read_admin(&dir).1] {
        assert!(
            !text.contains(&secret),
            "a password is in docker-compose.yml"
        );
    }
}

#[test]
fn guide_defaults_go_into_env() {
    let tmp = tempdir();
    let dir = tmp.path().join("c");
    generate(&["--profile", "cluster", "--out", dir.to_str().unwrap()]);
    let env = read_env(&dir);
    assert_eq!(env["REDIS_CLUSTER_MODE"], "true");
    assert_eq!(
        env["REDIS_CLUSTER_NODES"],
        "redis-1:7001,redis-2:7002,redis-3:7003"
    );
    assert_eq!(env["REDIS_SKIP_FULL_COVERAGE_CHECK"], "false");
    assert_eq!(env["REDIS_USERNAME"], "cluster_user");
    // Host-name nodes announce their names, so redirects carry what the app dialled.
    let conf = std::fs::read_to_string(dir.join("nodes/redis-2-7002/redis.conf")).unwrap();
    assert!(
        conf.contains("\ncluster-announce-hostname redis-2\n"),
        "{conf}"
    );
    assert!(
        conf.contains("\ncluster-preferred-endpoint-type hostname\n"),
        "{conf}"
    );
    assert!(conf.contains("\nport 7002\n"), "{conf}");
}

#[test]
fn ipv6_nodes_form_a_cluster() {
    if !have("redis-server") || !have("redis-cli") {
        return;
    }
    if std::net::TcpListener::bind("[::1]:0").is_err() {
        skip_here("this machine has no IPv6 loopback");
        return;
    }
    let tmp = tempdir();
    let dir = tmp.path().join("c");
    let ports = free_cluster_ports(3);
    let nodes: Vec<String> = ports.iter().map(|p| format!("[::1]:{p}")).collect();
    generate(&[
        "--profile",
        "cluster",
        "--nodes",
        &nodes.join(","),
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(read_env(&dir)["REDIS_CLUSTER_NODES"], nodes.join(","));
    let _servers: Vec<Server> = ports
        .iter()
        .map(|p| Server::start(&dir.join(format!("nodes/--1-{p}/redis.conf")), *p))
        .collect();
    cluster_create(&dir);
    assert_eq!(info(&dir, "::1", ports[0], "cluster_state"), "ok");
}

/// Written for Valkey, on a machine that has only Redis's tools (this one: Debian's
/// redis-tools): the script falls back to redis-cli, which speaks the same protocol, and
/// forms the cluster.
#[test]
fn a_valkey_setup_forms_with_redis_cli_where_only_it_is_installed() {
    if !have("redis-server") || !have("redis-cli") || !have_redis_py() {
        return;
    }
    let valkey_cli = Command::new("sh")
        .args(["-c", "command -v valkey-cli"])
        .output()
        .unwrap();
    assert!(
        !valkey_cli.status.success(),
        "this test needs a machine without valkey-cli"
    );
    let tmp = tempdir();
    let dir = tmp.path().join("c");
    let _servers = start_cluster(
        &dir,
        "127.0.0.1",
        3,
        &["--server", "valkey", "--server-version", "8.1"],
    );
    let out = cluster_create(&dir);
    assert!(String::from_utf8_lossy(&out.stdout).contains("The cluster is formed"));
    app_writes_to_every_master(&dir, 3);
}

/// No client at all: one line naming what it looked for, at once, never a 30 s wait.
#[test]
fn without_any_client_the_script_says_which_it_looked_for_at_once() {
    let tmp = tempdir();
    let dir = tmp.path().join("c");
    generate(&[
        "--profile",
        "cluster",
        "--server",
        "valkey",
        "--out",
        dir.to_str().unwrap(),
    ]);
    let started = std::time::Instant::now();
    let out = Command::new("/bin/sh")
        .arg(dir.join("cluster-create.sh"))
        .env("PATH", "/nonexistent")
        .output()
        .unwrap();
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    assert_eq!(out.status.code(), Some(127));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        err.trim(),
        "cluster-create.sh: valkey-cli not found (nor redis-cli); install it or run this where it is"
    );
}

/// A node that never answers: after the wait, the client's own error is shown.
#[test]
fn when_a_node_does_not_answer_the_clients_error_is_shown() {
    if !have("redis-cli") {
        return;
    }
    let tmp = tempdir();
    let dir = tmp.path().join("c");
    let ports = free_cluster_ports(3);
    let nodes: Vec<String> = ports.iter().map(|p| format!("127.0.0.1:{p}")).collect();
    generate(&[
        "--profile",
        "cluster",
        "--nodes",
        &nodes.join(","),
        "--out",
        dir.to_str().unwrap(),
    ]);
    let out = Command::new(dir.join("cluster-create.sh"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!(
            "node_answers failed for 127.0.0.1:{} after 30 s: Could not connect",
            ports[0]
        )),
        "{err}"
    );
}
