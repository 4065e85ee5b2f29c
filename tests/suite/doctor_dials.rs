//! Which servers `doctor` dials, read from `.env` with the app's semantics: REDIS_HOST and
//! REDIS_PORT, or every REDIS_CLUSTER_NODES entry when REDIS_CLUSTER_MODE is true (as
//! pydantic reads it, `True` included), and none when a value does not parse. No server
//! runs, so every dialled address is reported as refused, in order, with exit 1.

use std::fs;
use std::path::Path;

use crate::common::*;

/// Replace one variable of the generated .env, as a user editing it would.
fn edit_env(dir: &Path, key: &str, value: &str) {
    let path = dir.join(".env");
    let text = fs::read_to_string(&path).unwrap();
    let prefix = format!("{key}=");
    assert!(text.lines().any(|l| l.starts_with(&prefix)), "no {key}");
    let edited: Vec<String> = text
        .lines()
        .map(|l| match l.starts_with(&prefix) {
            true => format!("{key}={value}"),
            false => l.to_owned(),
        })
        .collect();
    fs::write(&path, edited.join("\n") + "\n").unwrap();
}

/// The FAIL lines of `doctor DIR`, after checking that it exits 1 and ends by saying the
/// app cannot connect.
fn failures(dir: &Path) -> Vec<String> {
    let out = run(&["doctor", dir.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert_eq!(
        text.lines().last(),
        Some("The app cannot connect yet: see the fixes above."),
        "{text}"
    );
    text.lines()
        .filter(|l| l.starts_with("FAIL  "))
        .map(str::to_owned)
        .collect()
}

fn refused(host: &str, port: u16) -> String {
    format!("FAIL  {host}:{port}: connection refused")
}

#[test]
fn a_single_server_is_dialled_at_redis_host_and_redis_port() {
    let tmp = tempdir();
    let dir = tmp.path().join("p");
    let port = generate_prod(&dir, &[]);
    assert_eq!(failures(&dir), [refused("localhost", port)]);

    // An edited host is the one dialled.
    edit_env(&dir, "REDIS_HOST", "127.0.0.1");
    assert_eq!(failures(&dir), [refused("127.0.0.1", port)]);

    // Cluster mode switched on by hand: the listed nodes, in order, not REDIS_HOST.
    let (a, b) = (free_port(), free_port());
    edit_env(&dir, "REDIS_CLUSTER_MODE", "true");
    edit_env(
        &dir,
        "REDIS_CLUSTER_NODES",
        &format!("127.0.0.1:{a},localhost:{b}"),
    );
    assert_eq!(
        failures(&dir),
        [refused("127.0.0.1", a), refused("localhost", b)]
    );
}

#[test]
fn a_cluster_is_dialled_at_every_node_while_cluster_mode_is_true() {
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
    let every: Vec<String> = ports.iter().map(|p| refused("127.0.0.1", *p)).collect();
    assert_eq!(failures(&dir), every);

    // pydantic reads `True` as true.
    edit_env(&dir, "REDIS_CLUSTER_MODE", "True");
    assert_eq!(failures(&dir), every);

    // Cluster mode off: the app dials REDIS_HOST:REDIS_PORT (the first node) alone.
    edit_env(&dir, "REDIS_CLUSTER_MODE", "false");
    assert_eq!(failures(&dir), [refused("127.0.0.1", ports[0])]);
}

#[test]
fn nothing_is_dialled_when_the_port_does_not_parse() {
    let tmp = tempdir();
    let dir = tmp.path().join("p");
    generate_prod(&dir, &[]);
    edit_env(&dir, "REDIS_PORT", "abc");
    assert_eq!(
        failures(&dir),
        ["FAIL  .env: REDIS_PORT=abc is not a port (1 to 65535)"]
    );
}
