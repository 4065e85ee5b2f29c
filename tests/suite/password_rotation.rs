//! `rotate-password --step add|drop-old --apply` on real servers while the app works:
//! a client loop (redis-py) that makes a new connection per request from `.env` read
//! anew each time, plus a pooled client whose connection lives through the rotation.
//! No request may fail, replication links stay up (no resync), the old passwords are
//! refused after drop-old, and verify is clean after each step. With `--metrics` the
//! exporter's user rotates too, and redis_exporter run from the new metrics.env scrapes.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::app_loop::{AppLoop, REQUESTS};
use crate::common::*;

fn rotate(dir: &Path, args: &[&str]) -> std::process::Output {
    let mut all = vec!["rotate-password", dir.to_str().unwrap()];
    all.extend_from_slice(args);
    run(&all)
}

fn assert_ok(out: &std::process::Output, what: &str) -> String {
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{what} failed:\n{text}");
    text
}

fn assert_verify_clean(dir: &Path, after: &str) -> String {
    let out = run(&["verify", dir.to_str().unwrap()]);
    let text = assert_ok(&out, &format!("verify after {after}"));
    assert!(text.contains("ok: "), "verify after {after}:\n{text}");
    text
}

/// Every password of the folder, by user: the app's, the admin's, and for a cluster the
/// replication user's (from a node config's masterauth).
fn passwords(dir: &Path) -> Vec<(String, String)> {
    let env = read_env(dir);
    let (admin, admin_pw) = read_admin(dir);
    let mut out = vec![
        (env["REDIS_USERNAME"].clone(), env["REDIS_PASSWORD"].clone()),
        (admin, admin_pw),
    ];
    let nodes = dir.join("nodes");
    if let Some(first) = fs::read_dir(&nodes).ok().and_then(|mut d| d.next()) {
        let conf = fs::read_to_string(first.unwrap().path().join("redis.conf")).unwrap();
        let pw = conf
            .lines()
            .find_map(|l| l.strip_prefix("masterauth "))
            .unwrap()
            .trim_matches('"')
            .to_owned();
        out.push(("kimera_replica".into(), pw));
    }
    out
}

/// AUTH as `user` with `password` on a fresh TLS connection (the app's certificate).
fn auth(dir: &Path, port: u16, user: &str, password: &str) -> Result<(), String> {
    let env = read_env(dir);
    let out = Command::new("redis-cli")
        .args([
            "-e",
            "--tls",
            "--cacert",
            &env["REDIS_CA_CERTS"],
            "--cert",
            &env["REDIS_SSL_CERTFILE"],
            "--key",
            &env["REDIS_SSL_KEYFILE"],
            "-h",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "--user",
            user,
            "ping",
        ])
        .env("REDISCLI_AUTH", password)
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    if out.status.success() && text.contains("PONG") {
        Ok(())
    } else {
        Err(text)
    }
}

#[test]
fn a_single_tls_server_rotates_every_password_without_a_failed_request() {
    if !have("redis-server") || !have("redis-cli") || !have_redis_py() {
        return;
    }
    let tmp = tempdir();
    let dir = tmp.path().join("p");
    let port = generate_prod(&dir, &["--kubernetes"]);
    let _server = Server::start(&dir.join("redis.conf"), port);
    let old = passwords(&dir);
    let secret_auth = || decoded_text(&dir.join("kubernetes/secret-auth.yaml"));
    let secret_app = || decoded_text(&dir.join("kubernetes/secret-app.yaml"));

    let mut app = AppLoop::start(&dir);
    let text = assert_ok(&rotate(&dir, &["--step", "add", "--apply"]), "add");
    assert!(text.contains("applied localhost:"), "{text}");
    let new = passwords(&dir);
    for ((user, o), (_, n)) in old.iter().zip(&new) {
        assert_ne!(o, n, "{user}'s password was not rotated");
        // Both are accepted between the steps.
        auth(&dir, port, user, o).unwrap_or_else(|e| panic!("{user} old: {e}"));
        auth(&dir, port, user, n).unwrap_or_else(|e| panic!("{user} new: {e}"));
    }
    // The Secrets carry the new passwords and users.acl with both hashes.
    assert!(secret_app().contains(&new[0].1));
    assert!(secret_auth().contains(&new[1].1));
    assert_eq!(secret_auth().matches(" #").count(), 4, "{}", secret_auth());
    let v = assert_verify_clean(&dir, "add");
    assert!(v.contains("password rotation is in progress"), "{v}");
    // Run again (as after a crash): nothing changes, every password stays.
    let before = files(&dir);
    assert_ok(&rotate(&dir, &["--step", "add", "--apply"]), "add again");
    assert_eq!(passwords(&dir), new);
    assert!(before == files(&dir), "a repeated add changed the folder");
    app.more(REQUESTS);

    assert_ok(
        &rotate(&dir, &["--step", "drop-old", "--apply"]),
        "drop-old",
    );
    let (ok, failed, errors) = app.finish();
    eprintln!("the app made {ok} requests, {failed} failed");
    assert_eq!(failed, 0, "requests failed during the rotation: {errors}");
    for ((user, o), (_, n)) in old.iter().zip(&new) {
        assert!(
            auth(&dir, port, user, o).is_err(),
            "{user}'s old password is still accepted"
        );
        auth(&dir, port, user, n).unwrap_or_else(|e| panic!("{user} new: {e}"));
    }
    assert!(!dir.join("password-rotation/state.toml").exists());
    assert_eq!(secret_auth().matches(" #").count(), 2, "{}", secret_auth());
    let v = assert_verify_clean(&dir, "drop-old");
    assert!(!v.contains("password rotation"), "{v}");
    // A second drop-old has nothing to drop.
    let again = rotate(&dir, &["--step", "drop-old"]);
    assert_eq!(again.status.code(), Some(2));
}

#[test]
fn a_tls_cluster_with_replicas_rotates_with_its_replication_links_up() {
    if !have("redis-server") || !have("redis-cli") || !have_redis_py() {
        return;
    }
    let tmp = tempdir();
    let dir = tmp.path().join("c");
    let servers = start_cluster(&dir, "127.0.0.1", 6, &["--tls", "--replicas", "1"]);
    let create = Command::new(dir.join("cluster-create.sh"))
        .output()
        .unwrap();
    assert_ok(&create, "cluster-create.sh");
    wait_cluster_ok(&dir, &servers);
    // A replica that lost its link and came back asks its master for a resync: the
    // masters' counts of them show a link that broke, however briefly.
    let syncs = || -> u64 {
        servers
            .iter()
            .map(|s| {
                let stats = admin_cli(&dir, "127.0.0.1", s.port, &["info", "stats"]);
                ["sync_full:", "sync_partial_ok:", "sync_partial_err:"]
                    .iter()
                    .map(|k| {
                        stats
                            .lines()
                            .find_map(|l| l.strip_prefix(k))
                            .unwrap()
                            .trim()
                            .parse::<u64>()
                            .unwrap()
                    })
                    .sum::<u64>()
            })
            .sum()
    };
    let links_up = || {
        let replicas: Vec<String> = servers
            .iter()
            .map(|s| admin_cli(&dir, "127.0.0.1", s.port, &["info", "replication"]))
            .filter(|i| i.contains("role:slave"))
            .collect();
        assert_eq!(replicas.len(), 3);
        for i in replicas {
            assert!(i.contains("master_link_status:up"), "{i}");
        }
    };
    for s in &servers {
        if admin_cli(&dir, "127.0.0.1", s.port, &["info", "replication"]).contains("role:slave") {
            wait_links_up(&dir, s.port);
        }
    }
    links_up();
    let syncs_before = syncs();
    let old = passwords(&dir);
    assert_eq!(old.len(), 3);

    let mut app = AppLoop::start(&dir);
    let text = assert_ok(&rotate(&dir, &["--step", "add", "--apply"]), "add");
    assert_eq!(text.matches("cluster 127.0.0.1:").count(), 6, "{text}");
    let new = passwords(&dir);
    for s in &servers {
        let conf =
            fs::read_to_string(dir.join(format!("nodes/127.0.0.1-{}/redis.conf", s.port))).unwrap();
        assert!(
            conf.contains(&new[2].1) && !conf.contains(&old[2].1),
            "node {}: masterauth is not the new password",
            s.port
        );
        // The running server uses the new one too.
        let live = admin_cli(&dir, "127.0.0.1", s.port, &["config", "get", "masterauth"]);
        assert!(live.contains(&new[2].1), "node {}: {live}", s.port);
    }
    links_up();
    assert_verify_clean(&dir, "add");
    app.more(REQUESTS);

    // A replica that reconnects now authenticates with the new replication password.
    let replica = servers
        .iter()
        .find(|s| {
            admin_cli(&dir, "127.0.0.1", s.port, &["info", "replication"]).contains("role:slave")
        })
        .unwrap();
    let text = assert_ok(
        &rotate(&dir, &["--step", "drop-old", "--apply"]),
        "drop-old",
    );
    assert_eq!(text.matches("cluster 127.0.0.1:").count(), 6, "{text}");
    let (ok, failed, errors) = app.finish();
    eprintln!("the app made {ok} requests, {failed} failed");
    assert_eq!(failed, 0, "requests failed during the rotation: {errors}");
    links_up();
    assert_eq!(
        syncs(),
        syncs_before,
        "a replication link broke and resynced during the rotation"
    );
    for s in &servers {
        for ((user, o), (_, n)) in old.iter().zip(&new) {
            assert!(
                auth(&dir, s.port, user, o).is_err(),
                "node {}: {user}'s old password is still accepted",
                s.port
            );
            auth(&dir, s.port, user, n).unwrap_or_else(|e| panic!("{user} new: {e}"));
        }
    }
    // After drop-old a broken link comes back with the new replication password alone.
    admin_cli(
        &dir,
        "127.0.0.1",
        replica.port,
        &["client", "kill", "type", "master"],
    );
    std::thread::sleep(Duration::from_millis(500));
    wait_links_up(&dir, replica.port);
    assert_verify_clean(&dir, "drop-old");
}

#[test]
fn drop_old_is_refused_while_a_server_depends_on_an_old_password() {
    if !have("redis-server") {
        return;
    }
    let tmp = tempdir();
    let dir = tmp.path().join("p");
    let port = generate_prod(&dir, &[]);
    let _server = Server::start(&dir.join("redis.conf"), port);

    // Bad input: exit 2, naming the flag and what is allowed, nothing written.
    let before = files(&dir);
    let out = rotate(&dir, &["--step", "add", "--user", "nobody"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(
            "--user nobody: not a user of this folder; allowed: kimera_user, kimera_admin"
        ),
        "{err}"
    );
    let out = rotate(&dir, &["--step", "drop-old"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no password rotation is in progress"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(before == files(&dir), "a refused run changed the folder");

    // add without --apply: the files change, the server does not know the new passwords.
    assert_ok(
        &rotate(&dir, &["--step", "add", "--user", "kimera_user"]),
        "add",
    );
    assert_verify_clean(&dir, "add");
    let pending = files(&dir);
    let out = rotate(&dir, &["--step", "drop-old", "--apply"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("does not accept every new password yet")
            && err.contains("--step add --apply"),
        "{err}"
    );
    assert!(!err.contains(&read_env(&dir)["REDIS_PASSWORD"]), "{err}");
    assert!(
        pending == files(&dir),
        "a refused drop-old changed the folder"
    );
    // Another user's rotation cannot start in the middle of this one.
    let out = rotate(&dir, &["--step", "add", "--user", "kimera_admin"]);
    assert_eq!(out.status.code(), Some(2));

    // add --apply again loads what the files hold; then drop-old goes through.
    assert_ok(&rotate(&dir, &["--step", "add", "--apply"]), "add --apply");
    assert_ok(
        &rotate(&dir, &["--step", "drop-old", "--apply"]),
        "drop-old",
    );
    let env = read_env(&dir);
    auth(&dir, port, "kimera_user", &env["REDIS_PASSWORD"]).unwrap();
    assert_verify_clean(&dir, "drop-old");
}

/// A step whose files were written but never applied (run without --apply, or killed
/// before the servers changed): admin.env holds a password the server does not know
/// yet, and --apply logs in with the one from before the rotation.
#[test]
fn add_applied_later_logs_in_with_the_admin_password_the_server_knows() {
    if !have("redis-server") || !have("redis-cli") {
        return;
    }
    let tmp = tempdir();
    let dir = tmp.path().join("p");
    let port = generate_prod(&dir, &[]);
    let _server = Server::start(&dir.join("redis.conf"), port);
    let old = passwords(&dir);
    assert_ok(&rotate(&dir, &["--step", "add"]), "add");
    let new = passwords(&dir);
    let (admin, _) = read_admin(&dir);
    assert!(auth(&dir, port, &admin, &new[1].1).is_err());
    let text = assert_ok(&rotate(&dir, &["--step", "add", "--apply"]), "add --apply");
    assert!(
        !text.contains(&old[1].1) && !text.contains(&new[1].1),
        "{text}"
    );
    for (user, pw) in old.iter().chain(&new) {
        auth(&dir, port, user, pw).unwrap_or_else(|e| panic!("{user}: {e}"));
    }
    assert_verify_clean(&dir, "add --apply");
    assert_ok(
        &rotate(&dir, &["--step", "drop-old", "--apply"]),
        "drop-old",
    );
    assert!(auth(&dir, port, &admin, &old[1].1).is_err());
    assert_verify_clean(&dir, "drop-old");
}

/// A folder for Kubernetes only: its nodes' names resolve nowhere here. Both steps run
/// without --apply, the Secrets follow each, and verify is clean after each.
#[test]
fn a_kubernetes_cluster_folder_rotates_its_secrets() {
    let tmp = tempdir();
    let dir = tmp.path().join("k");
    generate(&[
        "--profile",
        "cluster",
        "--tls",
        "--replicas",
        "1",
        "--nodes",
        "a:7001,b:7002,c:7003,d:7004,e:7005,f:7006",
        "--kubernetes",
        "--out",
        dir.to_str().unwrap(),
    ]);
    let auth_secret = || decoded_text(&dir.join("kubernetes/secret-auth.yaml"));
    let old = passwords(&dir);
    assert_ok(&rotate(&dir, &["--step", "add"]), "add");
    let new = passwords(&dir);
    assert_verify_clean(&dir, "add");
    let secret = auth_secret();
    assert!(secret.contains(&new[1].1) && secret.contains(&new[2].1));
    assert!(!secret.contains(&old[1].1) && !secret.contains(&old[2].1));
    assert_eq!(secret.matches(" #").count(), 6, "{secret}");
    let app = decoded_text(&dir.join("kubernetes/secret-app.yaml"));
    assert!(app.contains(&new[0].1) && !app.contains(&old[0].1));
    let text = assert_ok(&rotate(&dir, &["--step", "drop-old"]), "drop-old");
    assert!(text.contains("not reachable"), "{text}");
    assert_eq!(auth_secret().matches(" #").count(), 3);
    assert_verify_clean(&dir, "drop-old");
    // With --apply, a server that cannot be reached is a failure, not a note.
    assert_ok(&rotate(&dir, &["--step", "add"]), "add");
    let before = files(&dir);
    let out = rotate(&dir, &["--step", "drop-old", "--apply"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(
        before == files(&dir),
        "a failed drop-old changed the folder"
    );
}

/// The next step a run prints pastes into sh for a folder with a space in its name, and
/// a `$(...)` in the name is never run.
#[test]
fn the_printed_next_step_pastes_for_a_folder_with_a_space_and_a_dollar() {
    let tmp = tempdir();
    let name = "with space $(touch pwned)";
    let out = Command::new(BIN)
        .args(["--profile", "production-tls", "--out", name])
        .current_dir(tmp.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let out = Command::new(BIN)
        .args(["rotate-password", name, "--step", "add"])
        .current_dir(tmp.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let next = text
        .lines()
        .find_map(|l| l.strip_prefix("next: "))
        .and_then(|l| l.split('`').nth(1))
        .unwrap_or_else(|| panic!("no next step in {text}"))
        .replacen("kimera-redis-init", BIN, 1)
        .replace(" --apply", "");
    let pasted = Command::new("sh")
        .args(["-c", &next])
        .current_dir(tmp.path())
        .output()
        .unwrap();
    assert!(pasted.status.success(), "{next}: {pasted:?}");
    assert!(!tmp.path().join("pwned").exists(), "the name's $(...) ran");
    assert!(
        !tmp.path()
            .join(name)
            .join("password-rotation/state.toml")
            .exists()
    );
}

#[test]
fn apply_is_refused_without_tls() {
    let tmp = tempdir();
    let dir = tmp.path().join("c");
    generate(&[
        "--profile",
        "cluster",
        "--nodes",
        "127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003",
        "--out",
        dir.to_str().unwrap(),
    ]);
    let before = files(&dir);
    let out = rotate(&dir, &["--step", "add", "--apply"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--apply:") && err.contains("allowed:"),
        "{err}"
    );
    assert!(before == files(&dir), "a refused run changed the folder");
    // Without --apply the files rotate, the replication password with them.
    let old = passwords(&dir);
    assert_ok(&rotate(&dir, &["--step", "add"]), "add");
    let new = passwords(&dir);
    assert_ne!(old[2], new[2]);
    let acl = fs::read_to_string(dir.join("users.acl")).unwrap();
    assert_eq!(acl.matches(" #").count(), 6, "{acl}");
    assert_verify_clean(&dir, "add");
    assert_ok(&rotate(&dir, &["--step", "drop-old"]), "drop-old");
    let acl = fs::read_to_string(dir.join("users.acl")).unwrap();
    assert_eq!(acl.matches(" #").count(), 3, "{acl}");
    assert_verify_clean(&dir, "drop-old");
}

/// `--metrics`: the exporter's user rotates like the others. Each metrics.env (one per
/// node for a cluster) and secret-metrics.yaml get the new password, users.acl keeps both
/// hashes between the steps, and Debian's redis_exporter run from the new metrics.env
/// scrapes `redis_up 1` after each step; the old password logs in until drop-old.
fn rotates_the_metrics_user(dir: &Path, ports: &[u16], only_metrics: bool) {
    use crate::metrics::{Exporter, read_env_file};
    let env_files: Vec<PathBuf> = if ports.len() > 1 {
        ports
            .iter()
            .map(|p| dir.join(format!("nodes/127.0.0.1-{p}/metrics.env")))
            .collect()
    } else {
        vec![dir.join("metrics.env")]
    };
    let metrics_password = || {
        let all: Vec<String> = env_files
            .iter()
            .map(|f| read_env_file(f)["REDIS_PASSWORD"].clone())
            .collect();
        assert!(all.iter().all(|p| *p == all[0]), "every node's metrics.env");
        all[0].clone()
    };
    let metrics_line = || {
        fs::read_to_string(dir.join("users.acl"))
            .unwrap()
            .lines()
            .find(|l| l.starts_with("user kimera_metrics "))
            .unwrap()
            .to_owned()
    };
    let secret = dir.join("kubernetes/secret-metrics.yaml");
    let old = metrics_password();
    let app_before = read_env(dir)["REDIS_PASSWORD"].clone();

    let args: &[&str] = if only_metrics {
        &["--step", "add", "--user", "kimera_metrics", "--apply"]
    } else {
        &["--step", "add", "--apply"]
    };
    let text = assert_ok(&rotate(dir, args), "add");
    assert!(text.contains("kimera_metrics"), "{text}");
    assert!(!text.contains(&old), "{text}");
    let new = metrics_password();
    assert_ne!(old, new, "the metrics password was not rotated");
    assert!(!text.contains(&new), "{text}");
    assert_eq!(
        metrics_line().matches(" #").count(),
        2,
        "{}",
        metrics_line()
    );
    if secret.exists() {
        let s = decoded_text(&secret);
        assert!(s.contains(&new) && !s.contains(&old), "{s}");
    }
    let app_after = read_env(dir)["REDIS_PASSWORD"].clone();
    assert_eq!(app_before == app_after, only_metrics, "the app's password");
    for (port, env_file) in ports.iter().zip(&env_files) {
        auth(dir, *port, "kimera_metrics", &old).unwrap_or_else(|e| panic!("old: {e}"));
        auth(dir, *port, "kimera_metrics", &new).unwrap_or_else(|e| panic!("new: {e}"));
        Exporter::start(env_file).scrape_until_up();
    }
    assert_verify_clean(dir, "add");

    assert_ok(&rotate(dir, &["--step", "drop-old", "--apply"]), "drop-old");
    assert_eq!(
        metrics_line().matches(" #").count(),
        1,
        "{}",
        metrics_line()
    );
    for (port, env_file) in ports.iter().zip(&env_files) {
        assert!(
            auth(dir, *port, "kimera_metrics", &old).is_err(),
            "{port}: the old metrics password is still accepted"
        );
        auth(dir, *port, "kimera_metrics", &new).unwrap_or_else(|e| panic!("new: {e}"));
        Exporter::start(env_file).scrape_until_up();
    }
    assert_verify_clean(dir, "drop-old");
}

#[test]
fn a_production_tls_folder_rotates_its_metrics_user_with_the_others() {
    if !have("redis-server") || !have("redis-cli") || !have(crate::metrics::EXPORTER) {
        return;
    }
    let tmp = tempdir();
    let dir = tmp.path().join("p");
    let port = generate_prod(&dir, &["--metrics", "--kubernetes"]);
    let _server = Server::start(&dir.join("redis.conf"), port);
    rotates_the_metrics_user(&dir, &[port], false);
}

#[test]
fn a_tls_cluster_rotates_its_metrics_user_alone_on_every_node() {
    if !have("redis-server") || !have("redis-cli") || !have(crate::metrics::EXPORTER) {
        return;
    }
    let tmp = tempdir();
    let dir = tmp.path().join("c");
    let servers = start_cluster(&dir, "127.0.0.1", 3, &["--tls", "--metrics"]);
    let create = Command::new(dir.join("cluster-create.sh"))
        .output()
        .unwrap();
    assert_ok(&create, "cluster-create.sh");
    wait_cluster_ok(&dir, &servers);
    let ports: Vec<u16> = servers.iter().map(|s| s.port).collect();
    rotates_the_metrics_user(&dir, &ports, true);
}

/// The folder's files, the servers' own logs aside: what a refused run must not change.
fn files(dir: &Path) -> Vec<(String, u32, Vec<u8>)> {
    snapshot(dir)
        .into_iter()
        .filter(|(rel, _)| !rel.ends_with(".log"))
        .map(|(rel, (mode, bytes))| (rel, mode, bytes))
        .collect()
}

fn wait_cluster_ok(dir: &Path, servers: &[Server]) {
    for s in servers {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let info = admin_cli(dir, "127.0.0.1", s.port, &["cluster", "info"]);
            if info.contains("cluster_state:ok") {
                break;
            }
            assert!(Instant::now() < deadline, "node {}: {info}", s.port);
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

fn wait_links_up(dir: &Path, port: u16) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let info = admin_cli(dir, "127.0.0.1", port, &["info", "replication"]);
        if info.contains("master_link_status:up") {
            break;
        }
        assert!(Instant::now() < deadline, "node {port}: {info}");
        std::thread::sleep(Duration::from_millis(200));
    }
}
