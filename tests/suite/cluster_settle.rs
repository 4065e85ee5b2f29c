//! cluster-create.sh on a cluster that is already formed and was just restarted (the
//! README's start sequence, run a second time): it waits, bounded, for the nodes to meet
//! again instead of judging the first cluster_state:fail, and exits 0.

use std::path::Path;
use std::process::{Command, Output};

use crate::common::*;

fn cluster_create(dir: &Path) -> Output {
    Command::new(dir.join("cluster-create.sh"))
        .env("TERM", "xterm-256color")
        .output()
        .expect("cluster-create.sh runs")
}

#[test]
fn a_restarted_formed_cluster_is_waited_for_and_reported_ok() {
    if !have("redis-server") || !have("redis-cli") {
        return;
    }
    let tmp = tempdir();
    let dir = tmp.path().join("c");
    let servers = start_cluster(&dir, "127.0.0.1", 3, &[]);
    let ports: Vec<u16> = servers.iter().map(|s| s.port).collect();
    let out = cluster_create(&dir);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Piped output carries no terminal colour codes, even with an xterm TERM.
    assert!(
        !text.contains('\u{1b}'),
        "colour codes in piped output: {text:?}"
    );

    // Restart every node (killed by PID) from its config and cluster state file.
    drop(servers);
    let _servers: Vec<Server> = ports
        .iter()
        .map(|p| Server::start(&dir.join(format!("nodes/127.0.0.1-{p}/redis.conf")), *p))
        .collect();
    let out = cluster_create(&dir);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("already formed: cluster_state:ok, 3 nodes known"),
        "{text}"
    );
}
