//! What issue 11 found when trying the tool as an attacker would: renew signing a
//! foreign certificate, folders anyone can write, symlinks followed, inputs accepted
//! but broken. Each is refused or left alone now.

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use common::*;

fn openssl(args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .output()
        .expect("openssl runs");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A self-signed certificate for www.bank.example with codeSigning, and its key.
fn foreign_cert(dir: &Path, name: &str) {
    let (crt, key) = (
        dir.join(format!("{name}.crt")),
        dir.join(format!("{name}.key")),
    );
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        key.to_str().unwrap(),
        "-out",
        crt.to_str().unwrap(),
        "-days",
        "30",
        "-subj",
        "/CN=www.bank.example",
        "-addext",
        "subjectAltName=DNS:*.bank.example,DNS:www.google.com",
        "-addext",
        "extendedKeyUsage=codeSigning",
    ]);
}

#[test]
fn renew_leaves_certificates_not_issued_by_the_folder_ca_alone() {
    if !have("openssl") {
        return;
    }
    let tmp = tempdir();
    let dir = tmp.path().join("p");
    let port = generate_prod(&dir, &[]);
    let certs = dir.join("certs");
    foreign_cert(&certs, "bank");
    // Also one under a name of the layout: the client certificate swapped for a foreign one.
    foreign_cert(tmp.path(), "swapped");
    fs::copy(
        tmp.path().join("swapped.crt"),
        certs.join("redis-client.crt"),
    )
    .unwrap();
    fs::copy(
        tmp.path().join("swapped.key"),
        certs.join("redis-client.key"),
    )
    .unwrap();
    let before_bank = fs::read(certs.join("bank.crt")).unwrap();
    let before_client = fs::read(certs.join("redis-client.crt")).unwrap();
    let before_server = fs::read(certs.join("redis-server.crt")).unwrap();

    let out = run(&["renew", dir.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("left alone certs/bank.crt"), "{stdout}");
    assert!(
        stdout.contains("left alone certs/redis-client.crt"),
        "{stdout}"
    );
    assert_eq!(fs::read(certs.join("bank.crt")).unwrap(), before_bank);
    assert_eq!(
        fs::read(certs.join("redis-client.crt")).unwrap(),
        before_client
    );
    assert_ne!(
        fs::read(certs.join("redis-server.crt")).unwrap(),
        before_server
    );
    // Nothing under the CA names the bank.
    let issued = Command::new("openssl")
        .args(["x509", "-noout", "-subject", "-in"])
        .arg(certs.join("redis-server.crt"))
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&issued.stdout).contains("bank"));
    // The renewed server still works with a proper client.
    fs::remove_file(certs.join("bank.crt")).unwrap();
    fs::remove_file(certs.join("bank.key")).unwrap();
    let out = run(&[
        "--profile",
        "production-tls",
        "--host",
        "localhost",
        "--port",
        &port.to_string(),
        "--out",
        dir.to_str().unwrap(),
        "--force",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    if have("redis-server") {
        let _server = Server::start(&dir.join("redis.conf"), port);
        assert_eq!(
            ping(&app_client(&read_env(&dir))).ok().as_deref(),
            Some("PONG")
        );
    }
}

#[test]
fn folders_others_can_write_are_refused_and_symlinks_are_not_followed() {
    for (sub, mode) in [
        ("", 0o777),
        ("certs", 0o777),
        ("nodes/127.0.0.1-7102/data", 0o770),
        ("nodes", 0o777),
    ] {
        let tmp = tempdir();
        let dir = tmp.path().join("c");
        let d = dir.to_str().unwrap().to_owned();
        let args = [
            "--profile",
            "cluster",
            "--tls",
            "--nodes",
            "127.0.0.1:7101,127.0.0.1:7102,127.0.0.1:7103",
            "--out",
            &d,
        ];
        generate(&args);
        let target = if sub.is_empty() {
            dir.clone()
        } else {
            dir.join(sub)
        };
        fs::set_permissions(&target, fs::Permissions::from_mode(mode)).unwrap();
        let before = snapshot(&dir);
        let out = run(&[&args[..], &["--force"]].concat());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{sub} at {mode:o}: {stderr}");
        assert!(
            stderr.contains(target.to_str().unwrap()) && stderr.contains("chmod go-w"),
            "{stderr}"
        );
        assert_eq!(
            snapshot(&dir),
            before,
            "{sub}: the refused run changed the folder"
        );
    }
    // A symlinked nodes/ (or certs/) is refused: node configs hold the replica password.
    for sub in ["nodes", "certs"] {
        let tmp = tempdir();
        let dir = tmp.path().join("c");
        let elsewhere = tmp.path().join("elsewhere");
        fs::create_dir(&elsewhere).unwrap();
        fs::create_dir(&dir).unwrap();
        std::os::unix::fs::symlink(&elsewhere, dir.join(sub)).unwrap();
        let d = dir.to_str().unwrap();
        let out = run(&[
            "--profile",
            "cluster",
            "--tls",
            "--nodes",
            "127.0.0.1:7101,127.0.0.1:7102,127.0.0.1:7103",
            "--out",
            d,
        ]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{sub}: {stderr}");
        assert!(stderr.contains("symbolic link"), "{stderr}");
        assert_eq!(
            fs::read_dir(&elsewhere).unwrap().count(),
            0,
            "{sub}: wrote through the link"
        );
        assert_eq!(
            fs::read_dir(&dir).unwrap().count(),
            1,
            "{sub}: wrote into the folder"
        );
    }
}

#[test]
fn the_report_shows_modes_as_on_disk_and_force_narrows_loose_secrets() {
    let tmp = tempdir();
    let dir = tmp.path().join("p");
    let port = generate_prod(&dir, &[]);
    let args = [
        "--profile",
        "production-tls",
        "--host",
        "localhost",
        "--port",
        &port.to_string(),
        "--out",
        dir.to_str().unwrap(),
        "--json",
    ]
    .map(String::from);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    for (f, mode) in [
        ("certs/ca.key", 0o644),
        ("certs/redis-client.key", 0o640),
        (".env", 0o604),
    ] {
        fs::set_permissions(dir.join(f), fs::Permissions::from_mode(mode)).unwrap();
    }
    let mode_of = |json: &serde_json::Value, path: &str| {
        json["files"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["path"] == path)
            .unwrap()["mode"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let out = generate(&args);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        mode_of(&json, "certs/ca.key"),
        "0644",
        "the report must say what is on disk"
    );
    assert_eq!(mode_of(&json, "certs/redis-client.key"), "0640");
    let human = generate(&args[..args.len() - 1]);
    let text = String::from_utf8_lossy(&human.stdout);
    assert!(
        text.contains("warning: kept certs/ca.key has mode 0644"),
        "{text}"
    );
    assert!(text.contains("warning: kept .env has mode 0604"), "{text}");
    let out = generate(&[&args[..], &["--force"]].concat());
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for f in ["certs/ca.key", "certs/redis-client.key", ".env"] {
        let on_disk = fs::metadata(dir.join(f)).unwrap().permissions().mode() & 0o777;
        assert_eq!(on_disk, 0o600, "{f} after --force: {on_disk:o}");
    }
    assert_eq!(
        mode_of(&json, "certs/ca.key"),
        "0600",
        "reported as it is after the fix"
    );
}
