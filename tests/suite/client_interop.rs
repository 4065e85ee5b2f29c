//! The generated setups with the clients apps actually use, hostname checking on and
//! every TLS option taken from the generated files: redis-py `from_url(REDIS_URL)`,
//! node-redis and ioredis, against a real production-tls server and a real 3-master TLS
//! cluster. None may print a warning on connect (ioredis's ready check runs INFO), and
//! each refuses a server presenting the `wrong-host` fixture.
//!
//! scripts/test.sh installs node-redis and ioredis under target/node-clients.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::common::*;

/// Where scripts/test.sh put the npm packages.
fn node_modules() -> PathBuf {
    std::env::var_os("KIMERA_TEST_NODE_MODULES")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("target/node-clients/node_modules")
        })
}

/// node with node-redis and ioredis installed; the CI rule of `have`.
fn have_node_clients() -> bool {
    if !have("node") {
        return false;
    }
    let found = ["redis", "ioredis"]
        .iter()
        .all(|m| node_modules().join(m).join("package.json").is_file());
    if !found {
        skip(&format!(
            "node-redis/ioredis are not in {}",
            node_modules().display()
        ));
    }
    found
}

/// Run a node script with the generated `.env` as its environment.
fn node(script: &str, env: &HashMap<String, String>) -> Output {
    Command::new("node")
        .arg("-e")
        .arg(script)
        .envs(env)
        .env("NODE_PATH", node_modules())
        .output()
        .expect("node runs")
}

/// TLS options read from the files .env names; nothing else.
const NODE_TLS: &str = r#"
const fs = require('fs');
const e = process.env;
const tls = () => ({
  ca: fs.readFileSync(e.REDIS_CA_CERTS),
  cert: fs.readFileSync(e.REDIS_SSL_CERTFILE),
  key: fs.readFileSync(e.REDIS_SSL_KEYFILE),
});
// Every error is printed (a client may report the cause after a generic one), then exit.
const fail = (err) => {
  console.error('FAIL', err && (err.code || ''), err && err.message);
  process.exitCode = 1;
  setTimeout(() => process.exit(1), 1000);
};
// A client that gives up without an error must not pass for one that succeeded.
let done = false;
process.on('exit', (code) => { if (!done && code === 0) { console.error('FAIL: ended without finishing'); process.exitCode = 1; } });
"#;

const NODE_REDIS: &str = r#"
const { createClient } = require('redis');
(async () => {
  const client = createClient({ url: e.REDIS_URL, socket: { tls: true, ...tls(), reconnectStrategy: false } });
  client.on('error', fail);
  await client.connect();
  await client.set('kimera:node-redis', 'v');
  console.log(await client.get('kimera:node-redis'), await client.sendCommand(['ACL', 'WHOAMI']));
  await client.quit();
  done = true;
})().catch(fail);
"#;

const IOREDIS: &str = r#"
const Redis = require('ioredis');
(async () => {
  const client = new Redis(e.REDIS_URL, { tls: tls(), lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', fail);
  await client.connect();
  await client.set('kimera:ioredis', 'v');
  console.log(await client.get('kimera:ioredis'), await client.call('ACL', 'WHOAMI'));
  await client.quit();
  done = true;
})().catch(fail);
"#;

const NODE_REDIS_CLUSTER: &str = r#"
const { createCluster } = require('redis');
(async () => {
  const rootNodes = e.REDIS_CLUSTER_NODES.split(',').map((n) => ({ url: 'rediss://' + n }));
  const cluster = createCluster({
    rootNodes,
    defaults: { username: e.REDIS_USERNAME, password: e.REDIS_PASSWORD, socket: { tls: true, ...tls(), reconnectStrategy: false } },
  });
  cluster.on('error', fail);
  await cluster.connect();
  for (let i = 0; i < 30; i++) await cluster.set('kimera:nr:' + i, String(i));
  let sum = 0;
  for (let i = 0; i < 30; i++) sum += Number(await cluster.get('kimera:nr:' + i));
  console.log(sum, cluster.masters.length);
  await cluster.close();
  done = true;
})().catch(fail);
"#;

const IOREDIS_CLUSTER: &str = r#"
const Redis = require('ioredis');
(async () => {
  const nodes = e.REDIS_CLUSTER_NODES.split(',').map((n) => { const i = n.lastIndexOf(':'); return { host: n.slice(0, i), port: Number(n.slice(i + 1)) }; });
  const cluster = new Redis.Cluster(nodes, {
    redisOptions: { username: e.REDIS_USERNAME, password: e.REDIS_PASSWORD, tls: tls(), maxRetriesPerRequest: 0 },
    clusterRetryStrategy: () => null,
    lazyConnect: true,
  });
  cluster.on('error', fail);
  cluster.on('node error', fail);
  await cluster.connect();
  for (let i = 0; i < 30; i++) await cluster.set('kimera:io:' + i, String(i));
  let sum = 0;
  for (let i = 0; i < 30; i++) sum += Number(await cluster.get('kimera:io:' + i));
  console.log(sum, cluster.nodes('master').length);
  await cluster.quit();
  done = true;
})().catch(fail);
"#;

const PY_FROM_URL: &str = r#"
import os, redis
r = redis.Redis.from_url(os.environ["REDIS_URL"], decode_responses=True)
r.set("kimera:py", "v")
print(r.get("kimera:py"), r.acl_whoami())
"#;

const PY_CLUSTER_FROM_URL: &str = r#"
import os
from redis.cluster import RedisCluster
r = RedisCluster.from_url(os.environ["REDIS_URL"], decode_responses=True)
for i in range(30):
    r.set(f"kimera:py:{i}", i)
print(sum(int(r.get(f"kimera:py:{i}")) for i in range(30)), len(r.get_primaries()))
"#;

/// Run `what` and insist it succeeds with exactly `expect` on stdout and nothing on
/// stderr: a client's warning on connect is a failure too.
fn clean_run(what: &str, out: Output, expect: &str) {
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{what} failed: {stdout}{stderr}");
    assert_eq!(stdout.trim(), expect, "{what}: {stderr}");
    assert_eq!(stderr.trim(), "", "{what} printed on stderr");
}

/// Run `what` and insist it fails because the server's certificate does not name the host.
fn refused_for_host(what: &str, out: Output, reason: &str) {
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "{what} accepted a wrong-host server: {text}"
    );
    assert!(
        text.contains(reason),
        "{what} refused for another reason: {text}"
    );
}

#[test]
fn production_tls_from_url_and_node_clients_with_hostname_checks() {
    if !have("redis-server") || !have("redis-cli") || !have_redis_py() || !have_node_clients() {
        return;
    }
    let tmp = tempdir();
    // Characters a URL must encode in the folder's path: the TLS file paths in REDIS_URL.
    let dir = tmp.path().join("url a&b+c#d%41=e?f");
    let port = free_port();
    generate(&[
        "fixtures",
        "--host",
        "localhost",
        "--port",
        &port.to_string(),
        "--out",
        dir.to_str().unwrap(),
    ]);
    let env = read_env(&dir);
    assert!(
        env["REDIS_URL"].contains("/url%20a%26b%2Bc%23d%2541%3De%3Ff/certs/ca.crt"),
        "{}",
        env["REDIS_URL"]
    );
    let conf = dir.join("redis.conf");
    {
        let _server = Server::start(&conf, port);
        clean_run(
            "redis-py from_url",
            python(PY_FROM_URL, &env),
            "v kimera_user",
        );
        clean_run(
            "node-redis",
            node(&format!("{NODE_TLS}{NODE_REDIS}"), &env),
            "v kimera_user",
        );
        clean_run(
            "ioredis",
            node(&format!("{NODE_TLS}{IOREDIS}"), &env),
            "v kimera_user",
        );

        // Without +info the same ioredis connection warns: the check above can fail.
        admin_cli(
            &dir,
            "127.0.0.1",
            port,
            &["ACL", "SETUSER", "kimera_user", "-info"],
        );
        let out = node(&format!("{NODE_TLS}{IOREDIS}"), &env);
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("NOPERM"),
            "ioredis did not warn without INFO: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let _server = Server::start_with_cert(
        &conf,
        port,
        &dir.join("fixtures/wrong-host-server.crt"),
        &dir.join("fixtures/wrong-host-server.key"),
    );
    refused_for_host(
        "redis-py from_url",
        python(PY_FROM_URL, &env),
        "Hostname mismatch",
    );
    refused_for_host(
        "node-redis",
        node(&format!("{NODE_TLS}{NODE_REDIS}"), &env),
        "ERR_TLS_CERT_ALTNAME_INVALID",
    );
    refused_for_host(
        "ioredis",
        node(&format!("{NODE_TLS}{IOREDIS}"), &env),
        "ERR_TLS_CERT_ALTNAME_INVALID",
    );
}

#[test]
fn tls_cluster_from_url_and_node_clients_with_hostname_checks() {
    if !have("redis-server") || !have("redis-cli") || !have_redis_py() || !have_node_clients() {
        return;
    }
    let tmp = tempdir();
    let dir = tmp.path().join("c");
    let servers = start_cluster(&dir, "127.0.0.1", 3, &["--tls"]);
    let create = Command::new(dir.join("cluster-create.sh"))
        .output()
        .unwrap();
    assert!(
        create.status.success(),
        "{}",
        String::from_utf8_lossy(&create.stderr)
    );
    wait_cluster_ok(&dir, servers[0].port);
    let env = read_env(&dir);
    assert!(
        env["REDIS_URL"].starts_with(&format!(
            "rediss://cluster_user:{}@127.0.0.1:{}?",
            env["REDIS_PASSWORD"], servers[0].port
        )),
        "a cluster URL names the first node and no database: {}",
        env["REDIS_URL"]
    );
    let sum: i32 = (0..30).sum();
    clean_run(
        "redis-py RedisCluster.from_url",
        python(PY_CLUSTER_FROM_URL, &env),
        &format!("{sum} 3"),
    );
    clean_run(
        "node-redis cluster",
        node(&format!("{NODE_TLS}{NODE_REDIS_CLUSTER}"), &env),
        &format!("{sum} 3"),
    );
    clean_run(
        "ioredis cluster",
        node(&format!("{NODE_TLS}{IOREDIS_CLUSTER}"), &env),
        &format!("{sum} 3"),
    );
    drop(servers);
}

#[test]
fn tls_cluster_clients_refuse_a_node_with_a_wrong_host_certificate() {
    if !have("redis-server") || !have("redis-cli") || !have_redis_py() || !have_node_clients() {
        return;
    }
    let tmp = tempdir();
    let dir = tmp.path().join("c");
    let ports = free_cluster_ports(3);
    let nodes: Vec<String> = ports.iter().map(|p| format!("127.0.0.1:{p}")).collect();
    generate(&[
        "fixtures",
        "--profile",
        "cluster",
        "--tls",
        "--nodes",
        &nodes.join(","),
        "--out",
        dir.to_str().unwrap(),
    ]);
    let conf = |p: u16| dir.join(format!("nodes/127.0.0.1-{p}/redis.conf"));
    // The first node, the one REDIS_URL names, presents a certificate of the same CA for
    // another host (it keeps clientAuth, so the cluster bus still works).
    let servers = vec![
        Server::start_with_cert(
            &conf(ports[0]),
            ports[0],
            &dir.join("fixtures/wrong-host-server.crt"),
            &dir.join("fixtures/wrong-host-server.key"),
        ),
        Server::start(&conf(ports[1]), ports[1]),
        Server::start(&conf(ports[2]), ports[2]),
    ];
    let create = Command::new(dir.join("cluster-create.sh"))
        .output()
        .unwrap();
    assert!(
        create.status.success(),
        "{}",
        String::from_utf8_lossy(&create.stderr)
    );
    wait_cluster_ok(&dir, ports[0]);
    let env = read_env(&dir);
    refused_for_host(
        "redis-py RedisCluster.from_url",
        python(PY_CLUSTER_FROM_URL, &env),
        "IP address mismatch, certificate is not valid for '127.0.0.1'",
    );
    refused_for_host(
        "node-redis cluster",
        node(&format!("{NODE_TLS}{NODE_REDIS_CLUSTER}"), &env),
        "ERR_TLS_CERT_ALTNAME_INVALID",
    );
    refused_for_host(
        "ioredis cluster",
        node(&format!("{NODE_TLS}{IOREDIS_CLUSTER}"), &env),
        "ERR_TLS_CERT_ALTNAME_INVALID",
    );
    drop(servers);
}

#[test]
fn verify_finds_a_redis_url_that_disagrees_with_the_other_values() {
    let tmp = tempdir();
    let dir = tmp.path().join("p");
    generate_prod(&dir, &[]);
    let env_path = dir.join(".env");
    let original = std::fs::read_to_string(&env_path).unwrap();
    let verify = || run(&["verify", dir.to_str().unwrap()]);
    assert!(verify().status.success());
    let env = read_env(&dir);
    let cases = [
        (
            format!(":{}/0?", env["REDIS_PORT"]),
            ":1/0?".to_owned(),
            "REDIS_URL disagrees with the host or port",
        ),
        (
            format!("{}@", env["REDIS_PASSWORD"]),
            "other@".to_owned(),
            "REDIS_URL disagrees with the user or password",
        ),
        (
            "ssl_cert_reqs=required".to_owned(),
            "ssl_cert_reqs=none".to_owned(),
            "REDIS_URL disagrees with the TLS files",
        ),
    ];
    for (from, to, finding) in cases {
        let url_line = original
            .lines()
            .find(|l| l.starts_with("REDIS_URL="))
            .unwrap();
        assert!(url_line.contains(&from), "{from}");
        std::fs::write(
            &env_path,
            original.replace(url_line, &url_line.replace(&from, &to)),
        )
        .unwrap();
        let out = verify();
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(1), "{text}");
        assert!(text.contains(finding), "{text}");
        assert!(
            !text.contains(&env["REDIS_PASSWORD"]),
            "verify printed the password"
        );
    }
}

/// Wait until the cluster says `cluster_state:ok` (roles settle a moment after creation).
fn wait_cluster_ok(dir: &Path, port: u16) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let info = admin_cli(dir, "127.0.0.1", port, &["CLUSTER", "INFO"]);
        if info.contains("cluster_state:ok") {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "cluster not ok: {info}"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}
