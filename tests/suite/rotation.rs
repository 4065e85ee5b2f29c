//! Zero-downtime rotation on real servers: `renew --apply` and the staged CA rollover
//! (`renew --new-ca trust-both|issue|drop-old --apply`) while the app's client (redis-py
//! from `.env`: a new TLS connection per request plus a pooled client) keeps working.

use std::fs;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::app_loop::{AppLoop, REQUESTS};
use crate::common::*;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};

/// The certificate a server presents to a fresh handshake made with `client_cert`/`key`
/// and the folder's CA bundle, host name checked; `Err` when the handshake or the round
/// trip after it fails (a refused client certificate).
fn served(dir: &Path, host: &str, port: u16, cert: &Path, key: &Path) -> Result<Vec<u8>, String> {
    install_crypto_provider();
    let env = read_env(dir);
    let mut roots = rustls::RootCertStore::empty();
    for der in CertificateDer::pem_file_iter(&env["REDIS_CA_CERTS"]).unwrap() {
        roots.add(der.unwrap()).unwrap();
    }
    let certs: Vec<_> = CertificateDer::pem_file_iter(cert)
        .unwrap()
        .map(|c| c.unwrap())
        .collect();
    let key = PrivateKeyDer::from_pem_file(key).unwrap();
    let config = rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_client_auth_cert(certs, key)
        .unwrap();
    let name = ServerName::try_from(host.to_owned()).unwrap();
    let mut conn = rustls::ClientConnection::new(Arc::new(config), name).unwrap();
    let mut sock = TcpStream::connect((host, port)).map_err(|e| e.to_string())?;
    sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut tls = rustls::Stream::new(&mut conn, &mut sock);
    let mut buf = [0u8; 64];
    match tls.write_all(b"PING\r\n").and_then(|()| tls.read(&mut buf)) {
        Ok(n) if n > 0 => {}
        Ok(_) => return Err("closed after the handshake".into()),
        Err(e) => return Err(e.to_string()),
    }
    Ok(conn.peer_certificates().unwrap()[0].to_vec())
}

fn app_served(dir: &Path, host: &str, port: u16) -> Result<Vec<u8>, String> {
    let env = read_env(dir);
    served(
        dir,
        host,
        port,
        Path::new(&env["REDIS_SSL_CERTFILE"]),
        Path::new(&env["REDIS_SSL_KEYFILE"]),
    )
}

fn der_of(pem_file: &Path) -> Vec<u8> {
    CertificateDer::from_pem_file(pem_file).unwrap().to_vec()
}

fn renew(dir: &Path, args: &[&str]) -> std::process::Output {
    let mut all = vec!["renew", dir.to_str().unwrap()];
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

#[test]
fn renew_apply_rotates_a_running_server_without_a_failed_request() {
    if !have("redis-server") || !have_redis_py() {
        return;
    }
    let tmp = tempdir();
    let dir = tmp.path().join("p");
    let port = generate_prod(&dir, &[]);
    let _server = Server::start(&dir.join("redis.conf"), port);
    let server_crt = dir.join("certs/redis-server.crt");
    let before = app_served(&dir, "localhost", port).unwrap();
    assert_eq!(before, der_of(&server_crt));

    let app = AppLoop::start(&dir);
    let started = Instant::now();
    let text = assert_ok(&renew(&dir, &["--apply"]), "renew --apply");
    let took = started.elapsed();
    let (ok, failed, errors) = app.finish();
    eprintln!("renew --apply took {took:?}; the app made {ok} requests, {failed} failed");

    assert_eq!(failed, 0, "requests failed during the rotation: {errors}");
    assert!(
        ok >= 2 * REQUESTS,
        "the client loop made only {ok} requests"
    );
    let after = app_served(&dir, "localhost", port).unwrap();
    assert_ne!(after, before, "the server still serves the old certificate");
    let doctor = run(&["doctor", dir.to_str().unwrap()]);
    let said = assert_ok(&doctor, "doctor");
    assert!(said.contains("as on disk"), "{said}");
    assert_eq!(
        after,
        der_of(&server_crt),
        "it serves another certificate than the one on disk"
    );
    assert!(text.contains("applied localhost:"), "{text}");
}

#[test]
fn renew_apply_rotates_every_node_of_a_tls_cluster_with_replicas() {
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
    let before: Vec<_> = servers
        .iter()
        .map(|s| app_served(&dir, "127.0.0.1", s.port).unwrap())
        .collect();

    let app = AppLoop::start(&dir);
    let text = assert_ok(&renew(&dir, &["--apply"]), "renew --apply");
    let (ok, failed, errors) = app.finish();
    eprintln!("{text}\nthe app made {ok} requests, {failed} failed");

    assert_eq!(failed, 0, "requests failed during the rotation: {errors}");
    assert!(
        ok >= 2 * REQUESTS,
        "the client loop made only {ok} requests"
    );
    for (s, old) in servers.iter().zip(&before) {
        let now = app_served(&dir, "127.0.0.1", s.port).unwrap();
        assert_ne!(
            &now, old,
            "node {} still serves its old certificate",
            s.port
        );
        let on_disk = der_of(&dir.join(format!("certs/127.0.0.1-{}.crt", s.port)));
        assert_eq!(now, on_disk, "node {} serves another certificate", s.port);
    }
    // Replication and the bus over TLS still work: every node reports ok, and each
    // replica's link is up (renew --apply checked this too; look for ourselves).
    wait_cluster_ok(&dir, &servers);
    let replicas = servers
        .iter()
        .map(|s| admin_cli(&dir, "127.0.0.1", s.port, &["info", "replication"]))
        .filter(|i| i.contains("role:slave"))
        .inspect(|i| assert!(i.contains("master_link_status:up"), "{i}"))
        .count();
    assert_eq!(replicas, 3);
    assert_eq!(text.matches("cluster 127.0.0.1:").count(), 6, "{text}");
}

/// The folder's files (the server's own log aside), to show that nothing changed.
fn files(dir: &Path) -> Vec<(String, u32, String)> {
    snapshot(dir)
        .into_iter()
        .filter(|(path, _)| !path.ends_with(".log"))
        .map(|(path, (mode, bytes))| (path, mode, format!("{:x}", digest(&bytes))))
        .collect()
}

/// A short digest for readable assertion messages (not for security).
fn digest(bytes: &[u8]) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    bytes.hash(&mut h);
    h.finish()
}

fn wait_cluster_ok(dir: &Path, servers: &[Server]) {
    let deadline = Instant::now() + Duration::from_secs(30);
    for s in servers {
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

#[test]
fn a_staged_ca_rollover_keeps_every_request_working_and_ends_trusting_only_the_new_ca() {
    if !have("redis-server") || !have_redis_py() {
        return;
    }
    let tmp = tempdir();
    let dir = tmp.path().join("p");
    // With the Java stores too: verify checks after each step that they trust what
    // certs/ca.crt trusts.
    let port = generate_prod(&dir, &["--pkcs12"]);
    let _server = Server::start(&dir.join("redis.conf"), port);
    // The app's certificate from the old CA, kept aside to show it is refused at the end.
    let old_cert = tmp.path().join("old-client.crt");
    let old_key = tmp.path().join("old-client.key");
    fs::copy(dir.join("certs/redis-client.crt"), &old_cert).unwrap();
    fs::copy(dir.join("certs/redis-client.key"), &old_key).unwrap();
    let old_ca = fs::read_to_string(dir.join("certs/ca.crt")).unwrap();

    let app = AppLoop::start(&dir);
    for step in ["trust-both", "issue", "drop-old"] {
        let text = assert_ok(
            &renew(&dir, &["--new-ca", step, "--apply"]),
            &format!("--new-ca {step}"),
        );
        // Before any leaf moves to the new CA, the server is shown to trust it.
        if step != "drop-old" {
            assert!(text.contains("and one of the new CA"), "{text}");
        }
        // Mid-way the folder is consistent: verify passes after every step.
        assert_ok(&run(&["verify", dir.to_str().unwrap()]), "verify");
        std::thread::sleep(Duration::from_millis(500));
    }
    let (ok, failed, errors) = app.finish();
    eprintln!("the app made {ok} requests during the rollover, {failed} failed");
    assert_eq!(failed, 0, "requests failed during the rollover: {errors}");

    let new_ca = fs::read_to_string(dir.join("certs/ca.crt")).unwrap();
    assert_eq!(new_ca.matches("BEGIN CERTIFICATE").count(), 1);
    assert_ne!(new_ca, old_ca);
    // The old CA is archived, key 0600, and the server no longer trusts it.
    let retired: Vec<_> = fs::read_dir(dir.join("ca-rollover/retired"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(retired.len(), 2, "{retired:?}");
    assert!(!dir.join("ca-rollover/ca-next.key").exists());
    assert!(
        served(&dir, "localhost", port, &old_cert, &old_key).is_err(),
        "the server still accepts a client certificate of the old CA"
    );
    assert_eq!(
        app_served(&dir, "localhost", port).unwrap(),
        der_of(&dir.join("certs/redis-server.crt"))
    );
    // And the app's .env alone still works.
    let doctor = run(&["doctor", dir.to_str().unwrap()]);
    assert_ok(&doctor, "doctor");
}

#[test]
fn a_reload_that_fails_keeps_the_old_certificate_and_exits_1() {
    let tmp = tempdir();
    let dir = tmp.path().join("p");
    let port = generate_prod(&dir, &[]);
    if !have("redis-server") {
        return;
    }
    let _server = Server::start(&dir.join("redis.conf"), port);
    let before = app_served(&dir, "localhost", port).unwrap();
    assert_ok(&renew(&dir, &[]), "renew");
    // A corrupt new key: the reload must not take the server down with it.
    fs::write(
        dir.join("certs/redis-server.key"),
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
    )
    .unwrap();
    // doctor sees the server still serving the certificate renew replaced on disk.
    let doctor = run(&["doctor", dir.to_str().unwrap()]);
    let said = String::from_utf8_lossy(&doctor.stdout);
    assert_eq!(doctor.status.code(), Some(1), "{said}");
    assert!(said.contains("never loaded"), "{said}");
    assert!(said.contains("--reload-only"), "{said}");
    let out = renew(&dir, &["--reload-only"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("refused the files on disk"), "{text}");
    assert!(text.contains("keeps serving serial"), "{text}");
    assert_eq!(
        app_served(&dir, "localhost", port).unwrap(),
        before,
        "the server does not serve its old certificate any more"
    );
}

#[test]
fn an_unreachable_server_is_reported_with_what_to_do_and_the_files_stay_renewed() {
    let tmp = tempdir();
    let dir = tmp.path().join("p");
    generate_prod(&dir, &[]);
    let old = fs::read(dir.join("certs/redis-server.crt")).unwrap();
    let out = renew(&dir, &["--apply"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("not reachable"), "{text}");
    assert!(text.contains("restart it"), "{text}");
    assert_ne!(fs::read(dir.join("certs/redis-server.crt")).unwrap(), old);
}

#[test]
fn apply_refuses_what_cannot_work_and_changes_nothing() {
    let tmp = tempdir();
    // No TLS: nothing to reload.
    let plain = tmp.path().join("plain");
    generate(&[
        "--profile",
        "high-performance",
        "--host",
        "localhost",
        "--out",
        plain.to_str().unwrap(),
    ]);
    let out = renew(&plain, &["--reload-only"]);
    assert_eq!(out.status.code(), Some(2));

    // No admin password: exit 2 before anything is written.
    let dir = tmp.path().join("p");
    let port = generate_prod(&dir, &[]);
    if !have("redis-server") {
        return;
    }
    let _server = Server::start(&dir.join("redis.conf"), port);
    fs::write(dir.join("admin.env"), "REDIS_ADMIN_USERNAME=kimera_admin\n").unwrap();
    let before = files(&dir);
    let out = renew(&dir, &["--apply"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("admin"), "{err}");
    assert_eq!(files(&dir), before, "a refused --apply changed the folder");

    // CA steps out of order: exit 2, nothing changed.
    for step in ["issue", "drop-old"] {
        let out = renew(&dir, &["--new-ca", step]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains("allowed next: --new-ca trust-both"), "{err}");
        assert_eq!(files(&dir), before);
    }
    assert_ok(&renew(&dir, &["--new-ca", "trust-both"]), "trust-both");
    let mid = files(&dir);
    let out = renew(&dir, &["--new-ca", "drop-old"]);
    assert_eq!(out.status.code(), Some(2));
    // A plain renew mid-way would issue under the wrong CA.
    let out = renew(&dir, &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("--new-ca issue"), "{err}");
    // Nor may generate judge or re-issue the leaves under one CA alone.
    let out = run(&[
        "--profile",
        "production-tls",
        "--host",
        "localhost",
        "--out",
        dir.to_str().unwrap(),
        "--force",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("a CA rollover is in progress"), "{err}");
    // trust-both again is safe: the same new CA, nothing rewritten.
    assert_ok(
        &renew(&dir, &["--new-ca", "trust-both"]),
        "trust-both again",
    );
    assert_eq!(files(&dir), mid);
}

#[test]
fn apply_refuses_a_rollover_step_the_servers_are_not_ready_for() {
    let tmp = tempdir();
    let dir = tmp.path().join("p");
    let port = generate_prod(&dir, &[]);
    if !have("redis-server") {
        return;
    }
    let _server = Server::start(&dir.join("redis.conf"), port);
    // trust-both written but never loaded: issuing under the new CA would lock the app out.
    assert_ok(&renew(&dir, &["--new-ca", "trust-both"]), "trust-both");
    let before = files(&dir);
    let out = renew(&dir, &["--new-ca", "issue", "--apply"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("does not trust the new CA yet"), "{err}");
    assert!(err.contains("--reload-only"), "{err}");
    assert_eq!(files(&dir), before, "a refused step changed the folder");
    // Following the advice works.
    assert_ok(&renew(&dir, &["--reload-only"]), "--reload-only");
    assert_ok(&renew(&dir, &["--new-ca", "issue"]), "issue (not applied)");
    // The new leaves never loaded: dropping the old CA would lock the app out too.
    let before = files(&dir);
    let out = renew(&dir, &["--new-ca", "drop-old", "--apply"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("still serves a certificate of the old CA"),
        "{err}"
    );
    assert_eq!(files(&dir), before);
    assert_ok(&renew(&dir, &["--reload-only"]), "--reload-only");
    assert_ok(
        &renew(&dir, &["--new-ca", "drop-old", "--apply"]),
        "drop-old",
    );
    // Running the last step again (after a crash, say) is done already, not an error.
    let again = assert_ok(
        &renew(&dir, &["--new-ca", "drop-old", "--apply"]),
        "drop-old again",
    );
    assert!(again.contains("done already"), "{again}");
    assert_ok(&run(&["doctor", dir.to_str().unwrap()]), "doctor");
}

#[test]
fn a_rollover_is_refused_while_fixtures_hold_the_current_cas_certificates() {
    let tmp = tempdir();
    let dir = tmp.path().join("f");
    let out = run(&[
        "fixtures",
        "--host",
        "localhost",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert!(out.status.success());
    let before = files(&dir);
    let out = renew(&dir, &["--new-ca", "trust-both"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("fixtures"), "{err}");
    assert_eq!(files(&dir), before);
}
