//! Safe under concurrency and crashes (issue 11): runs into one folder take turns, and a
//! run killed at any step of its commit leaves a folder the next run finishes; every
//! case ends in a folder `verify` passes, that starts a real redis-server the app's
//! client talks to, with the CA key never lost.

use std::fs;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use crate::common::*;

fn tool(args: &[String], extra: &[&str]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(args).args(extra);
    cmd
}

fn ok(out: &Output, what: &str) {
    assert!(
        out.status.success(),
        "{what}: {:?}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `verify` passes, the server starts from the folder's redis.conf and the app's
/// client (from `.env` only, TLS with its client certificate) gets PONG.
fn works(dir: &Path, port: u16, what: &str) {
    let out = run(&["verify", dir.to_str().unwrap()]);
    ok(&out, &format!("{what}: verify"));
    let snap = snapshot(dir);
    assert!(
        snap.keys()
            .all(|k| !k.contains(".kimera-redis-init-") && !k.contains(".staging")),
        "{what}: temporary files left: {:?}",
        snap.keys().collect::<Vec<_>>()
    );
    if !have("redis-server") {
        return;
    }
    let _server = Server::start(&dir.join("redis.conf"), port);
    let reply = ping(&app_client(&read_env(dir)));
    assert_eq!(reply.ok().as_deref(), Some("PONG"), "{what}: PING");
}

fn ca(dir: &Path) -> (Vec<u8>, Vec<u8>) {
    (
        fs::read(dir.join("certs/ca.crt")).expect("ca.crt"),
        fs::read(dir.join("certs/ca.key")).expect("ca.key"),
    )
}

#[test]
fn fifty_concurrent_pairs_of_runs_into_one_folder_all_end_working() {
    for i in 0..50 {
        let tmp = tempdir();
        let dir = tmp.path().join("p");
        let port = free_port();
        let args = prod_args(&dir, port);
        // 0: two identical runs into an empty folder; 1: two --force runs over a
        // folder; 2: a plain run and a --force run over a folder; 3: --force and renew
        // over a folder; 4: fixtures and a plain run into an empty folder.
        let kind = i % 5;
        let before = [1, 2, 3].contains(&kind).then(|| {
            ok(&tool(&args, &[]).output().unwrap(), "first run");
            ca(&dir)
        });
        let spawn = |cmd: &mut Command| {
            cmd.stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        };
        let renew = || {
            let mut c = Command::new(BIN);
            c.args(["renew", dir.to_str().unwrap()]);
            c
        };
        let fixtures = || {
            let mut c = Command::new(BIN);
            c.arg("fixtures").args(&args);
            c
        };
        let (mut a, mut b) = match kind {
            0 => (tool(&args, &[]), tool(&args, &[])),
            1 => (tool(&args, &["--force"]), tool(&args, &["--force"])),
            2 => (tool(&args, &[]), tool(&args, &["--force"])),
            3 => (tool(&args, &["--force"]), renew()),
            _ => (fixtures(), tool(&args, &[])),
        };
        let (first, second) = (spawn(&mut a), spawn(&mut b));
        let (first, second) = (
            first.wait_with_output().unwrap(),
            second.wait_with_output().unwrap(),
        );
        ok(&first, &format!("pair {i}, first"));
        ok(&second, &format!("pair {i}, second"));
        if let Some(before) = before {
            assert!(ca(&dir) == before, "pair {i}: the CA changed");
        }
        works(&dir, port, &format!("pair {i} (kind {kind})"));
    }
}

#[test]
fn a_second_run_waits_a_bounded_time_and_names_the_holder() {
    let tmp = tempdir();
    let dir = tmp.path().join("p");
    let port = free_port();
    let args = prod_args(&dir, port);
    ok(&tool(&args, &[]).output().unwrap(), "first run");
    // This test process holds the lock, as a run in progress would.
    let mut held = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(dir.join(".kimera-redis-init.lock"))
        .expect("the lock file opens");
    held.lock().unwrap();
    writeln!(held, "{}", std::process::id()).unwrap();
    let before = snapshot(&dir);
    let started = std::time::Instant::now();
    let out = tool(&args, &["--force"])
        .env("KIMERA_LOCK_WAIT_MS", "400")
        .output()
        .unwrap();
    let waited = started.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("process {}", std::process::id())) && stderr.contains("in use"),
        "{stderr}"
    );
    assert!(waited.as_millis() >= 400, "gave up after {waited:?}");
    assert_eq!(snapshot(&dir), before, "the refused run changed the folder");
    // The same for renew.
    let out = Command::new(BIN)
        .args(["renew", dir.to_str().unwrap()])
        .env("KIMERA_LOCK_WAIT_MS", "200")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        snapshot(&dir),
        before,
        "the refused renew changed the folder"
    );
    held.unlock().unwrap();
    ok(&tool(&args, &["--force"]).output().unwrap(), "after unlock");
    assert!(
        !dir.join(".kimera-redis-init.lock").exists(),
        "the lock file outlived the run"
    );
    works(&dir, port, "after unlock");
}

/// What a killed commit may leave at any instant: never a certificate without its key,
/// never the CA certificate without the CA key.
fn no_orphans(dir: &Path, what: &str) {
    let Ok(entries) = fs::read_dir(dir.join("certs")) else {
        return;
    };
    for e in entries {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        if let Some(stem) = name.strip_suffix(".crt") {
            assert!(
                dir.join(format!("certs/{stem}.key")).exists(),
                "{what}: certs/{name} without its key"
            );
            if stem != "ca" {
                assert!(
                    dir.join("certs/ca.crt").exists(),
                    "{what}: {name} without CA"
                );
            }
        }
    }
}

/// Kill a run at commit step 0, 1, 2, ... until a run gets through; after each kill the
/// next plain run must finish the job. `scenario` prepares the folder and says which
/// command is killed.
fn kill_at_every_step(scenario: &str) {
    let mut n = 0;
    loop {
        let tmp = tempdir();
        let dir = tmp.path().join("p");
        let port = free_port();
        let args = prod_args(&dir, port);
        let ca_before = (scenario != "fresh").then(|| {
            ok(&tool(&args, &[]).output().unwrap(), "first run");
            ca(&dir)
        });
        let mut killed = match scenario {
            "fresh" => tool(&args, &[]),
            "force" => tool(&args, &["--force"]),
            _ => {
                let mut c = Command::new(BIN);
                c.args(["renew", dir.to_str().unwrap()]);
                c
            }
        };
        let out = killed
            .env("KIMERA_TEST_KILL_AT_RENAME", n.to_string())
            .output()
            .unwrap();
        let what = format!("{scenario}, killed at step {n}");
        if out.status.success() {
            assert!(n >= 5, "{what}: only {n} commit steps");
            break;
        }
        assert_eq!(out.status.code(), None, "{what}: not killed: {out:?}");
        no_orphans(&dir, &what);
        if let Some(before) = &ca_before {
            assert!(&ca(&dir) == before, "{what}: the CA changed");
        }
        let verify = run(&["verify", dir.to_str().unwrap()]);
        let report = String::from_utf8_lossy(&verify.stdout);
        assert!(
            !verify.status.success() && report.contains("was killed"),
            "{what}: verify does not report the killed run: {report}"
        );
        // The next run (the one a user would repeat) recovers first, and says so when it
        // finished the killed run's files (a journal was written) rather than undid them.
        let journal = dir.join(".kimera-redis-init.staging/journal.json").exists();
        let next = if scenario == "renew" {
            Command::new(BIN)
                .args(["renew", dir.to_str().unwrap()])
                .output()
                .unwrap()
        } else {
            tool(&args, &[]).output().unwrap()
        };
        ok(&next, &format!("{what}: next run"));
        assert_eq!(
            String::from_utf8_lossy(&next.stderr)
                .contains("note: finished writing the files of an interrupted run in"),
            journal,
            "{what}: {}",
            String::from_utf8_lossy(&next.stderr)
        );
        if let Some(before) = &ca_before {
            assert!(&ca(&dir) == before, "{what}: the CA changed");
        }
        works(&dir, port, &what);
        n += 1;
        assert!(n < 60, "{scenario}: never got through");
    }
}

#[test]
fn a_kill_at_every_step_of_a_fresh_run_is_finished_by_the_next_run() {
    kill_at_every_step("fresh");
}

#[test]
fn a_kill_at_every_step_of_a_force_run_is_finished_by_the_next_run() {
    kill_at_every_step("force");
}

#[test]
fn a_kill_at_every_step_of_renew_is_finished_by_the_next_run() {
    kill_at_every_step("renew");
}

#[test]
fn temporary_files_a_killed_older_run_left_are_reported_then_removed() {
    let tmp = tempdir();
    let dir = tmp.path().join("p");
    let port = free_port();
    let args = prod_args(&dir, port);
    ok(&tool(&args, &[]).output().unwrap(), "first run");
    // What the previous writer left when killed: a temp key and a --force backup.
    fs::write(dir.join("certs/.kimera-redis-init-Ab12Cd"), "a private key").unwrap();
    fs::write(
        dir.join(".kimera-redis-init-old-4242-.env"),
        "REDIS_PASSWORD=x",
    )
    .unwrap();
    let verify = run(&["verify", dir.to_str().unwrap()]);
    let report = String::from_utf8_lossy(&verify.stdout);
    assert_eq!(verify.status.code(), Some(1), "{report}");
    assert!(
        report.contains("certs/.kimera-redis-init-Ab12Cd")
            && report.contains(".kimera-redis-init-old-4242-.env"),
        "{report}"
    );
    ok(&tool(&args, &[]).output().unwrap(), "next run");
    works(&dir, port, "after the next run");
}

#[test]
fn concurrent_tls_cluster_runs_end_in_a_cluster_whose_nodes_start() {
    for i in 0..10 {
        let tmp = tempdir();
        let dir = tmp.path().join("c");
        let ports = free_cluster_ports(3);
        let nodes: Vec<String> = ports.iter().map(|p| format!("127.0.0.1:{p}")).collect();
        let nodes = nodes.join(",");
        let args: Vec<String> = [
            "--profile",
            "cluster",
            "--tls",
            "--nodes",
            &nodes,
            "--out",
            dir.to_str().unwrap(),
        ]
        .map(String::from)
        .to_vec();
        // Even: two runs into an empty folder; odd: --force and a plain run over one.
        let force: &[&str] = if i % 2 == 1 {
            ok(&tool(&args, &[]).output().unwrap(), "first run");
            &["--force"]
        } else {
            &[]
        };
        let spawn = |extra: &[&str]| {
            tool(&args, extra)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        };
        let (a, b) = (spawn(force), spawn(&[]));
        ok(
            &a.wait_with_output().unwrap(),
            &format!("cluster pair {i}, first"),
        );
        ok(
            &b.wait_with_output().unwrap(),
            &format!("cluster pair {i}, second"),
        );
        ok(
            &run(&["verify", dir.to_str().unwrap()]),
            &format!("cluster pair {i}: verify"),
        );
        if !have("redis-server") || !have("redis-cli") {
            continue;
        }
        let _servers: Vec<Server> = ports
            .iter()
            .map(|p| Server::start(&dir.join(format!("nodes/127.0.0.1-{p}/redis.conf")), *p))
            .collect();
        for p in &ports {
            let pong = admin_cli(&dir, "127.0.0.1", *p, &["PING"]);
            assert_eq!(pong.trim(), "PONG", "cluster pair {i}, node {p}");
        }
    }
}
