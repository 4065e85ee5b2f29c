//! inspect, verify, renew, doctor and issuing under an organisation's CA. Every failure
//! is produced for real (a swapped key, an edited .env, an expired certificate, a server
//! that is down, ...) and the message the user gets is asserted.

use std::fs;
use std::path::Path;
use std::process::Command;

use crate::common::*;
use rcgen::{CertificateParams, ExtendedKeyUsagePurpose, Issuer, KeyPair};
use time::{Duration, OffsetDateTime};

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Run `verify DIR`; returns (exit code, stdout).
fn verify(dir: &Path) -> (Option<i32>, String) {
    let out = run(&["verify", dir.to_str().unwrap()]);
    (out.status.code(), stdout(&out))
}

fn doctor(dir: &Path) -> (Option<i32>, String) {
    let out = run(&["doctor", dir.to_str().unwrap()]);
    (out.status.code(), stdout(&out))
}

/// Replace one variable of the generated .env, as a user editing it would.
fn edit_env(dir: &Path, key: &str, value: &str) {
    let path = dir.join(".env");
    let text = fs::read_to_string(&path).unwrap();
    let edited: Vec<String> = text
        .lines()
        .map(|l| {
            if l.starts_with(&format!("{key}=")) {
                format!("{key}={value}")
            } else {
                l.to_owned()
            }
        })
        .collect();
    fs::write(&path, edited.join("\n") + "\n").unwrap();
}

/// A server certificate for localhost under the folder's own CA, valid from `from` to `to`
/// days from now (negative: the past), written over the folder's server certificate.
fn issue_server_cert(dir: &Path, from: i64, to: i64) {
    let ca_pem = fs::read_to_string(dir.join("certs/ca.crt")).unwrap();
    let ca_key = KeyPair::from_pem(&fs::read_to_string(dir.join("certs/ca.key")).unwrap()).unwrap();
    let issuer = Issuer::from_ca_cert_pem(&ca_pem, ca_key).unwrap();
    let mut params =
        CertificateParams::new(vec!["localhost".into(), "127.0.0.1".into(), "::1".into()]).unwrap();
    let now = OffsetDateTime::now_utc();
    params.not_before = now + Duration::days(from);
    params.not_after = now + Duration::days(to);
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.use_authority_key_identifier_extension = true;
    let key = KeyPair::generate().unwrap();
    let cert = params.signed_by(&key, &issuer).unwrap();
    fs::write(dir.join("certs/redis-server.crt"), cert.pem()).unwrap();
    fs::write(dir.join("certs/redis-server.key"), key.serialize_pem()).unwrap();
}

/// Replace the folder's CA with one that expired yesterday (certificate and key).
fn write_expired_ca(dir: &Path) {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params.key_usages = vec![rcgen::KeyUsagePurpose::KeyCertSign];
    params.not_before = OffsetDateTime::now_utc() - Duration::days(400);
    params.not_after = OffsetDateTime::now_utc() - Duration::days(1);
    fs::write(
        dir.join("certs/ca.crt"),
        params.self_signed(&key).unwrap().pem(),
    )
    .unwrap();
    fs::write(dir.join("certs/ca.key"), key.serialize_pem()).unwrap();
}

#[test]
fn inspect_shows_a_folder_and_a_file_as_text_and_json() {
    let tmp = tempdir();
    let dir = tmp.path().join("p");
    generate_prod(&dir, &[]);
    let out = generate(&["inspect", dir.to_str().unwrap()]);
    let text = stdout(&out);
    for want in [
        "certs/ca.crt",
        "certs/redis-server.crt",
        "certs/redis-client.crt",
        "ECDSA P-256",
        "serverAuth",
        "clientAuth",
        "DNS:localhost, IP:127.0.0.1, IP:::1, DNS:redis",
        "day(s) left",
        "SHA-256",
    ] {
        assert!(text.contains(want), "inspect lacks {want:?}:\n{text}");
    }
    let out = generate(&[
        "inspect",
        dir.join("certs/ca.crt").to_str().unwrap(),
        "--json",
    ]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json[0]["is_ca"], true);
    assert_eq!(json[0]["key"], "ECDSA P-256");
    assert!(
        json[0]["key_usage"]
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u == "Key Cert Sign")
    );
    let days = json[0]["days_left"].as_i64().unwrap();
    assert!((3640..=3650).contains(&days), "{days}");
    let bad = run(&["inspect", dir.join(".env").to_str().unwrap()]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("holds no PEM certificate"));
}

#[test]
fn verify_is_clean_on_a_fresh_folder_of_every_profile() {
    let tmp = tempdir();
    for (profile, extra) in [
        ("production-tls", &[][..]),
        ("local-dev", &[][..]),
        ("high-performance", &["--tls"][..]),
        ("cluster", &["--tls"][..]),
    ] {
        let dir = tmp.path().join(profile);
        let mut args = vec!["--profile", profile, "--out", dir.to_str().unwrap()];
        args.extend_from_slice(extra);
        generate(&args);
        let (code, out) = verify(&dir);
        assert_eq!(code, Some(0), "{profile}:\n{out}");
        assert!(out.starts_with("ok: "), "{out}");
    }
}

#[test]
fn verify_finds_a_swapped_key_a_foreign_certificate_an_uncovered_host_and_loose_modes() {
    let tmp = tempdir();
    let dir = tmp.path().join("p");
    let other = tmp.path().join("o");
    generate_prod(&dir, &[]);
    generate_prod(&other, &[]);

    fs::copy(
        other.join("certs/redis-client.key"),
        dir.join("certs/redis-client.key"),
    )
    .unwrap();
    let (code, out) = verify(&dir);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("certs/redis-client.crt: certs/redis-client.key is not the key of this certificate; fix:"), "{out}");

    fs::copy(
        other.join("certs/redis-server.crt"),
        dir.join("certs/redis-server.crt"),
    )
    .unwrap();
    fs::copy(
        other.join("certs/redis-server.key"),
        dir.join("certs/redis-server.key"),
    )
    .unwrap();
    let (code, out) = verify(&dir);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("certs/redis-server.crt: does not chain to certs/ca.crt for serverAuth"),
        "{out}"
    );

    edit_env(&dir, "REDIS_HOST", "elsewhere.example");
    let (code, out) = verify(&dir);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("the app dials elsewhere.example, which the server certificate"),
        "{out}"
    );
    assert!(out.contains("--san elsewhere.example"), "{out}");

    edit_env(&dir, "REDIS_PASSWORD", "not-the-password");
    let (code, out) = verify(&dir);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains(
            "users.acl: the REDIS_PASSWORD in .env does not match user kimera_user's password hash"
        ),
        "{out}"
    );

    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(dir.join("users.acl"), fs::Permissions::from_mode(0o644)).unwrap();
    let (code, out) = verify(&dir);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("users.acl: holds a secret but is mode 0644; fix: chmod 600"),
        "{out}"
    );
    // One line per finding, and a closing count.
    assert!(
        out.lines()
            .last()
            .unwrap()
            .ends_with(&format!("problem(s) found in {}", dir.display())),
        "{out}"
    );
}

#[test]
fn verify_reports_expired_and_expiring_certificates() {
    let tmp = tempdir();
    let dir = tmp.path().join("p");
    generate_prod(&dir, &[]);
    issue_server_cert(&dir, -30, -1);
    let (code, out) = verify(&dir);
    assert_eq!(code, Some(1));
    assert!(out.contains("certs/redis-server.crt: expired on"), "{out}");
    assert!(out.contains("kimera-redis-init renew"), "{out}");

    // 100 days of validity, 20 left: inside the 30-day warning.
    issue_server_cert(&dir, -80, 20);
    let (code, out) = verify(&dir);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("certs/redis-server.crt: expires in 19 day(s)")
            || out.contains("certs/redis-server.crt: expires in 20 day(s)"),
        "{out}"
    );
    // In JSON the soon-expiring certificate is a warning (it still fails verify).
    let out = run(&["verify", dir.to_str().unwrap(), "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["findings"][0]["severity"], "warning", "{json}");
    assert_eq!(json["findings"][0]["check"], "certificates", "{json}");
    let out = run(&["verify", dir.to_str().unwrap(), "--warn-days", "10"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
}

#[test]
fn doctor_explains_each_failure_the_app_would_hit() {
    if !have("redis-server") {
        return;
    }
    let tmp = tempdir();
    let dir = tmp.path().join("p");
    let other = tmp.path().join("o");
    let port = generate_prod(&dir, &[]);
    generate_prod(&other, &[]);

    // Server down.
    let (code, out) = doctor(&dir);
    assert_eq!(code, Some(1));
    assert!(
        out.contains("FAIL  localhost:") && out.contains("connection refused"),
        "{out}"
    );
    assert!(out.contains("fix:   start it"), "{out}");

    let server = Server::start(&dir.join("redis.conf"), port);
    let (code, out) = doctor(&dir);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("PING -> PONG") && out.contains("hostname check"),
        "{out}"
    );

    // Wrong password.
    let good_env = fs::read_to_string(dir.join(".env")).unwrap();
    edit_env(&dir, "REDIS_PASSWORD", "wrong");
    let (code, out) = doctor(&dir);
    assert_eq!(code, Some(1));
    assert!(
        out.contains("AUTH refused")
            && out.contains("the password in .env is not user kimera_user's"),
        "{out}"
    );
    fs::write(dir.join(".env"), &good_env).unwrap();

    // A client certificate from another CA.
    edit_env(
        &dir,
        "REDIS_SSL_CERTFILE",
        other.join("certs/redis-client.crt").to_str().unwrap(),
    );
    edit_env(
        &dir,
        "REDIS_SSL_KEYFILE",
        other.join("certs/redis-client.key").to_str().unwrap(),
    );
    let (code, out) = doctor(&dir);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("client certificate refused"), "{out}");
    assert!(
        out.contains("does not trust the CA that issued the client certificate"),
        "{out}"
    );
    fs::write(dir.join(".env"), &good_env).unwrap();

    // The app trusts another CA than the one that issued the server's certificate.
    edit_env(
        &dir,
        "REDIS_CA_CERTS",
        other.join("certs/ca.crt").to_str().unwrap(),
    );
    let (code, out) = doctor(&dir);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("the server certificate is from an unknown CA"),
        "{out}"
    );
    fs::write(dir.join(".env"), &good_env).unwrap();
    drop(server);

    // A server running a foreign certificate (another setup's), the app's .env unchanged.
    let foreign = Server::start_with_cert(
        &dir.join("redis.conf"),
        port,
        &other.join("certs/redis-server.crt"),
        &other.join("certs/redis-server.key"),
    );
    // It is not this folder's server: named as such, and no advice that would send it
    // a password.
    let (code, out) = doctor(&dir);
    assert_eq!(code, Some(1));
    assert!(out.contains("another server on this port"), "{out}");
    assert!(!out.contains("kimera-redis-init renew"), "{out}");
    drop(foreign);

    // A host edited into .env that the certificate does not cover, reaching the same
    // server (the test lets it listen on 127.0.0.3 as well).
    let conf = fs::read_to_string(dir.join("redis.conf")).unwrap();
    fs::write(
        dir.join("redis.conf"),
        conf.replace(
            "\nbind 127.0.0.1 -::1\n",
            "\nbind 127.0.0.1 127.0.0.3 -::1\n",
        ),
    )
    .unwrap();
    let _server = Server::start(&dir.join("redis.conf"), port);
    edit_env(&dir, "REDIS_HOST", "127.0.0.3");
    let (code, out) = doctor(&dir);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("the server certificate does not name 127.0.0.3"),
        "{out}"
    );
    assert!(out.contains("--san 127.0.0.3"), "{out}");
}

#[test]
fn doctor_reports_an_expired_server_certificate() {
    if !have("redis-server") {
        return;
    }
    let tmp = tempdir();
    let dir = tmp.path().join("p");
    let port = generate_prod(&dir, &[]);
    issue_server_cert(&dir, -30, -1);
    let _server = Server::start(&dir.join("redis.conf"), port);
    let (code, out) = doctor(&dir);
    assert_eq!(code, Some(1));
    assert!(out.contains("the server certificate has expired"), "{out}");
    assert!(out.contains("kimera-redis-init renew"), "{out}");
}

#[test]
fn doctor_reports_a_cluster_that_was_never_formed() {
    // cluster-create.sh runs redis-cli.
    if !have("redis-server") || !have("redis-cli") {
        return;
    }
    let tmp = tempdir();
    let dir = tmp.path().join("c");
    let _servers = start_cluster(&dir, "127.0.0.1", 3, &[]);
    let (code, out) = doctor(&dir);
    assert_eq!(code, Some(1), "{out}");
    assert_eq!(out.matches("ok    127.0.0.1:").count(), 3, "{out}");
    assert!(
        out.contains("FAIL  cluster: the cluster is not formed"),
        "{out}"
    );
    assert!(out.contains("cluster-create.sh"), "{out}");

    let create = Command::new(dir.join("cluster-create.sh"))
        .output()
        .unwrap();
    assert!(
        create.status.success(),
        "{}",
        String::from_utf8_lossy(&create.stderr)
    );
    let (code, out) = doctor(&dir);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("ok    cluster: cluster_state:ok, 3 nodes, all 16384 slots served"),
        "{out}"
    );
}

#[test]
fn renew_issues_new_leaves_under_the_same_ca_and_they_work() {
    if !have("redis-server") {
        return;
    }
    let tmp = tempdir();
    let dir = tmp.path().join("p");
    let port = generate_prod(&dir, &[]);
    let read = |rel: &str| fs::read(dir.join(rel)).unwrap();
    let (ca, ca_key, server_crt, server_key) = (
        read("certs/ca.crt"),
        read("certs/ca.key"),
        read("certs/redis-server.crt"),
        read("certs/redis-server.key"),
    );
    let before = generate(&[
        "inspect",
        dir.join("certs/redis-server.crt").to_str().unwrap(),
        "--json",
    ]);
    let before: serde_json::Value = serde_json::from_slice(&before.stdout).unwrap();

    let out = generate(&["renew", dir.to_str().unwrap()]);
    let text = stdout(&out);
    assert!(
        text.contains("renewed certs/redis-server.crt")
            && text.contains("renewed certs/redis-client.crt"),
        "{text}"
    );
    assert!(text.contains("restart"), "{text}");
    assert_eq!(read("certs/ca.crt"), ca);
    assert_eq!(read("certs/ca.key"), ca_key);
    assert_ne!(read("certs/redis-server.crt"), server_crt);
    assert_ne!(
        read("certs/redis-server.key"),
        server_key,
        "renew keeps keys only with --keep-keys"
    );
    let after = generate(&[
        "inspect",
        dir.join("certs/redis-server.crt").to_str().unwrap(),
        "--json",
    ]);
    let after: serde_json::Value = serde_json::from_slice(&after.stdout).unwrap();
    assert_eq!(before[0]["sans"], after[0]["sans"]);
    assert_eq!(before[0]["subject"], after[0]["subject"]);
    assert_eq!(
        before[0]["extended_key_usage"],
        after[0]["extended_key_usage"]
    );
    assert_ne!(before[0]["serial"], after[0]["serial"]);

    // A real handshake with the renewed certificates.
    let _server = Server::start(&dir.join("redis.conf"), port);
    assert_eq!(ping(&app_client(&read_env(&dir))).unwrap(), "PONG");
    let (code, out) = verify(&dir);
    assert_eq!(code, Some(0), "{out}");

    let key_now = read("certs/redis-client.key");
    generate(&[
        "renew",
        dir.to_str().unwrap(),
        "--keep-keys",
        "--days",
        "90",
    ]);
    assert_eq!(read("certs/redis-client.key"), key_now);
    let (code, out) = verify(&dir);
    assert_eq!(code, Some(0), "{out}");
}

#[test]
fn renew_refuses_an_expired_ca() {
    let tmp = tempdir();
    let dir = tmp.path().join("p");
    generate_prod(&dir, &[]);
    // Replace the CA with one that expired yesterday.
    write_expired_ca(&dir);
    let before = fs::read(dir.join("certs/redis-server.crt")).unwrap();
    let out = run(&["renew", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("expired on") && stderr.contains("make a new CA"),
        "{stderr}"
    );
    assert_eq!(
        fs::read(dir.join("certs/redis-server.crt")).unwrap(),
        before
    );
}

/// An organisation's CA made with openssl: an EC key in SEC1 form, or RSA in PKCS#1.
fn openssl_ca(dir: &Path, kind: &str) -> (String, String) {
    fs::create_dir_all(dir).unwrap();
    let key = dir.join("org-ca.key");
    let cert = dir.join("org-ca.crt");
    let sh = |args: &[&str]| {
        let out = Command::new("openssl").args(args).output().unwrap();
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    match kind {
        "ec" => sh(&[
            "ecparam",
            "-name",
            "prime256v1",
            "-genkey",
            "-noout",
            "-out",
            key.to_str().unwrap(),
        ]),
        _ => sh(&[
            "genrsa",
            "-traditional",
            "-out",
            key.to_str().unwrap(),
            "2048",
        ]),
    }
    sh(&[
        "req",
        "-x509",
        "-new",
        "-key",
        key.to_str().unwrap(),
        "-out",
        cert.to_str().unwrap(),
        "-days",
        "400",
        "-subj",
        "/O=Example Org/CN=Example Org Root",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
    ]);
    (
        cert.to_str().unwrap().to_owned(),
        key.to_str().unwrap().to_owned(),
    )
}

#[test]
fn a_bundle_under_an_organisations_ca_verifies_connects_and_renews() {
    if !have("redis-server") || !have("openssl") {
        return;
    }
    for kind in ["ec", "rsa"] {
        let tmp = tempdir();
        let (ca_cert, ca_key) = openssl_ca(&tmp.path().join("org"), kind);
        let first_line = fs::read_to_string(&ca_key)
            .unwrap()
            .lines()
            .next()
            .unwrap()
            .to_owned();
        assert!(
            first_line.contains(if kind == "ec" {
                "EC PRIVATE KEY"
            } else {
                "RSA PRIVATE KEY"
            }),
            "{first_line}"
        );
        let dir = tmp.path().join("p");
        let port = free_port();
        let port_s = port.to_string();
        generate(&[
            "--profile",
            "production-tls",
            "--host",
            "localhost",
            "--port",
            &port_s,
            "--ca-cert",
            &ca_cert,
            "--ca-key",
            &ca_key,
            "--out",
            dir.to_str().unwrap(),
        ]);
        assert!(
            !dir.join("certs/ca.key").exists(),
            "the organisation's CA key was copied into the folder"
        );
        assert_eq!(
            fs::read(dir.join("certs/ca.crt")).unwrap(),
            fs::read(&ca_cert).unwrap()
        );
        let (code, out) = verify(&dir);
        assert_eq!(code, Some(0), "{out}");
        let server = Server::start(&dir.join("redis.conf"), port);
        assert_eq!(
            ping(&app_client(&read_env(&dir))).unwrap(),
            "PONG",
            "{kind}"
        );
        drop(server);

        // A plain re-run has nothing to sign and keeps the folder; one that must sign
        // (--force) says what is missing rather than making a CA.
        let mut again_args = vec![
            "--profile",
            "production-tls",
            "--host",
            "localhost",
            "--port",
            &port_s,
            "--out",
            dir.to_str().unwrap(),
        ];
        assert!(run(&again_args).status.success());
        again_args.push("--force");
        let again = run(&again_args);
        assert_eq!(again.status.code(), Some(1));
        assert!(String::from_utf8_lossy(&again.stderr).contains("pass --ca-cert and --ca-key"));

        let renew = run(&["renew", dir.to_str().unwrap()]);
        assert_eq!(renew.status.code(), Some(2));
        assert!(
            String::from_utf8_lossy(&renew.stderr)
                .contains("pass the same --ca-cert FILE --ca-key FILE")
        );
        generate(&[
            "renew",
            dir.to_str().unwrap(),
            "--ca-cert",
            &ca_cert,
            "--ca-key",
            &ca_key,
        ]);
        assert!(!dir.join("certs/ca.key").exists());
        let _server = Server::start(&dir.join("redis.conf"), port);
        assert_eq!(
            ping(&app_client(&read_env(&dir))).unwrap(),
            "PONG",
            "{kind} after renew"
        );
    }
}

#[test]
fn a_ca_without_ca_rights_is_refused() {
    let tmp = tempdir();
    let other = tmp.path().join("o");
    generate_prod(&other, &[]);
    let dir = tmp.path().join("p");
    let out = run(&[
        "--profile",
        "production-tls",
        "--out",
        dir.to_str().unwrap(),
        "--ca-cert",
        other.join("certs/redis-client.crt").to_str().unwrap(),
        "--ca-key",
        other.join("certs/redis-client.key").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not a CA certificate"));
    assert!(!dir.exists());
}

#[test]
fn verify_reads_a_relative_folder_the_same_as_an_absolute_one() {
    let tmp = tempdir();
    let dir = tmp.path().join("p");
    let other = tmp.path().join("o");
    generate_prod(&dir, &[]);
    generate_prod(&other, &[]);
    for f in ["redis-server.crt", "redis-server.key"] {
        fs::copy(other.join("certs").join(f), dir.join("certs").join(f)).unwrap();
    }
    for (cwd, arg) in [
        (tmp.path().to_path_buf(), "p"),
        (dir.clone(), "."),
        (tmp.path().to_path_buf(), dir.to_str().unwrap()),
    ] {
        let out = Command::new(BIN)
            .args(["verify", arg])
            .current_dir(&cwd)
            .output()
            .unwrap();
        let text = stdout(&out);
        assert_eq!(
            out.status.code(),
            Some(1),
            "verify {arg} from {}: {text}",
            cwd.display()
        );
        assert!(
            text.contains("certs/redis-server.crt: does not chain to certs/ca.crt for serverAuth"),
            "{text}"
        );
    }
}

#[test]
fn a_broken_env_is_reported_without_its_contents() {
    let tmp = tempdir();
    let dir = tmp.path().join("p");
    generate_prod(&dir, &[]);
    let password = read_env(&dir)["REDIS_PASSWORD"].clone();
    edit_env(&dir, "REDIS_HOST", "\"redis.production.com");
    for cmd in ["verify", "doctor", "renew", "inspect"] {
        let out = run(&[cmd, dir.to_str().unwrap()]);
        let all = stdout(&out) + &String::from_utf8_lossy(&out.stderr);
        assert!(!all.contains(&password), "`{cmd}` printed the password");
        // Every command refuses with exit 1 and names the file and why, on stderr alone.
        assert_eq!(out.status.code(), Some(1), "{cmd}: {all}");
        assert_eq!(stdout(&out), "", "{cmd}");
        assert_eq!(
            String::from_utf8_lossy(&out.stderr),
            format!(
                "error: {}: cannot be read: a line does not parse (an unbalanced quote?); fix it by hand, or generate the folder again with --force\n",
                dir.join(".env").display()
            ),
            "{cmd}"
        );
    }
}

#[test]
fn verify_checks_every_password_against_users_acl() {
    let tmp = tempdir();
    let dir = tmp.path().join("c");
    generate(&[
        "--profile",
        "cluster",
        "--tls",
        "--nodes",
        "redis-1:6379,redis-2:6379,redis-3:6379",
        "--out",
        dir.to_str().unwrap(),
    ]);
    // Nodes that share a port on different hosts are told apart.
    let (code, out) = verify(&dir);
    assert_eq!(code, Some(0), "{out}");

    let admin = fs::read_to_string(dir.join("admin.env")).unwrap();
    let edited: String = admin
        .lines()
        .map(|l| {
            if l.starts_with("REDIS_ADMIN_PASSWORD=") {
                "REDIS_ADMIN_PASSWORD=wrong".to_owned()
            } else {
                l.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    fs::write(dir.join("admin.env"), edited).unwrap();
    let conf_path = dir.join("nodes/redis-2-6379/redis.conf");
    let conf = fs::read_to_string(&conf_path).unwrap();
    let conf: String = conf
        .lines()
        .map(|l| {
            if l.starts_with("masterauth ") {
                "masterauth \"wrong\"".to_owned()
            } else {
                l.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    fs::write(&conf_path, conf).unwrap();
    let (code, out) = verify(&dir);
    assert_eq!(code, Some(1));
    assert!(
        out.contains(
            "the REDIS_ADMIN_PASSWORD in admin.env does not match user kimera_admin's password hash"
        ),
        "{out}"
    );
    assert!(out.contains("the masterauth in nodes/redis-2-6379/redis.conf does not match user kimera_replica's password hash"), "{out}");
    assert!(
        !out.contains("redis-1-6379/redis.conf does not match"),
        "{out}"
    );
}

#[test]
fn an_intermediate_ca_is_refused() {
    if !have("openssl") {
        return;
    }
    let tmp = tempdir();
    let (root_cert, root_key) = openssl_ca(&tmp.path().join("org"), "ec");
    let org = tmp.path().join("org");
    let sh = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(&org)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    fs::write(
        org.join("ext.cnf"),
        "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n",
    )
    .unwrap();
    sh(&[
        "ecparam",
        "-name",
        "prime256v1",
        "-genkey",
        "-noout",
        "-out",
        "int.key",
    ]);
    sh(&[
        "req",
        "-new",
        "-key",
        "int.key",
        "-out",
        "int.csr",
        "-subj",
        "/CN=Example Org Intermediate",
    ]);
    sh(&[
        "x509",
        "-req",
        "-in",
        "int.csr",
        "-CA",
        &root_cert,
        "-CAkey",
        &root_key,
        "-CAcreateserial",
        "-days",
        "300",
        "-extfile",
        "ext.cnf",
        "-out",
        "int.crt",
    ]);
    let dir = tmp.path().join("p");
    let out = run(&[
        "--profile",
        "production-tls",
        "--ca-cert",
        org.join("int.crt").to_str().unwrap(),
        "--ca-key",
        org.join("int.key").to_str().unwrap(),
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("is an intermediate CA") && stderr.contains("root CA"),
        "{stderr}"
    );
    assert!(!dir.exists());
}

#[test]
fn doctor_names_an_expired_ca_and_plain_text_against_tls() {
    if !have("redis-server") {
        return;
    }
    let tmp = tempdir();
    let dir = tmp.path().join("p");
    let port = generate_prod(&dir, &[]);
    let server = Server::start(&dir.join("redis.conf"), port);
    let good_env = fs::read_to_string(dir.join(".env")).unwrap();
    edit_env(&dir, "REDIS_SSL", "false");
    let (code, out) = doctor(&dir);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("it may speak TLS on this port while .env says REDIS_SSL=false"),
        "{out}"
    );
    fs::write(dir.join(".env"), &good_env).unwrap();
    drop(server);

    // The CA, and so the whole chain, expired.
    write_expired_ca(&dir);
    let _server = Server::start(&dir.join("redis.conf"), port);
    let (code, out) = doctor(&dir);
    assert_eq!(code, Some(1));
    assert!(out.contains("the CA in REDIS_CA_CERTS expired on"), "{out}");
    assert!(out.contains("--replace-ca"), "{out}");
}
