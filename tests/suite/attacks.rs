//! What issue 11 found when trying the tool as an attacker would: renew signing a
//! foreign certificate, folders anyone can write, symlinks followed, inputs accepted
//! but broken. Each is refused or left alone now.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use crate::common::*;

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

/// Exit 2, one line naming `flag`, and no output folder.
fn refused(args: &[&str], flag: &str, dir: &Path) {
    let mut child = Command::new(BIN)
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{args:?} hangs");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
    assert!(
        stderr.contains(flag),
        "{args:?} does not name {flag}: {stderr}"
    );
    assert!(
        stderr.contains("allowed"),
        "{args:?} does not say what is allowed: {stderr}"
    );
    assert!(!dir.exists(), "{args:?} created the output folder");
}

#[test]
fn inputs_that_were_accepted_but_broken_exit_2_and_write_nothing() {
    let tmp = tempdir();
    let dir = tmp.path().join("out");
    let d = dir.to_str().unwrap();
    fn with<'a>(base: &[&'a str], extra: &[&'a str]) -> Vec<&'a str> {
        [base, extra].concat()
    }
    let base = ["--profile", "production-tls", "--out", d];
    let prod = |extra: &[&'static str]| with(&base, extra);
    for host in [
        "1.2.3",
        "127.1",
        "0x7f.1",
        "1.2.3.999",
        "127.000.000.001",
        "::ffff:127.0.0.1",
    ] {
        refused(&prod(&["--host", host]), "--host", &dir);
    }
    for san in ["0.0.0.0", "::", "224.0.0.1"] {
        refused(&prod(&["--san", san]), "--san", &dir);
    }
    // One address spelled two ways is one node.
    for nodes in [
        "[::1]:7001,[0::1]:7001,[::1]:7002",
        "127.0.0.1:7001,127.000.000.001:7001,127.0.0.1:7002",
    ] {
        refused(
            &["--profile", "cluster", "--nodes", nodes, "--out", d],
            "--nodes",
            &dir,
        );
    }
    refused(
        &[
            "--profile",
            "high-performance",
            "--maxmemory",
            "99999999999999999999gb",
            "--out",
            d,
        ],
        "--maxmemory",
        &dir,
    );
    // A FIFO hung the run; /dev/zero was read until memory ran out.
    let fifo = tmp.path().join("fifo");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    for file in [fifo.to_str().unwrap(), "/dev/zero"] {
        refused(
            &["--profile-file", file, "--out", d],
            "--profile-file",
            &dir,
        );
    }
    let ca = tmp.path().join("ca");
    ca_files(&ca, &ca_params(), None);
    let key = ca.join("ca.key");
    let k = key.to_str().unwrap();
    refused(
        &with(&base, &["--ca-cert", "/dev/zero", "--ca-key", k]),
        "--ca-cert",
        &dir,
    );
    refused(
        &with(&base, &["--ca-cert", fifo.to_str().unwrap(), "--ca-key", k]),
        "--ca-cert",
        &dir,
    );
    // A db in a profile file is reported as the profile's field, not as --db.
    let profile = tmp.path().join("mine.toml");
    let shown = run(&["profiles", "show", "production-tls"]);
    let text = String::from_utf8_lossy(&shown.stdout).replace("db = 0", "db = 99");
    assert!(text.contains("db = 99"), "{text}");
    fs::write(&profile, text).unwrap();
    refused(
        &["--profile-file", profile.to_str().unwrap(), "--out", d],
        "profile field db",
        &dir,
    );
    let out = run(&["--profile-file", profile.to_str().unwrap(), "--out", d]);
    assert!(!String::from_utf8_lossy(&out.stderr).contains("--db"));
    let cluster = run(&["profiles", "show", "cluster"]);
    let text = String::from_utf8_lossy(&cluster.stdout).replace("db = 0", "db = 3");
    assert!(text.contains("db = 3"), "{text}");
    fs::write(&profile, text).unwrap();
    refused(
        &["--profile-file", profile.to_str().unwrap(), "--out", d],
        "profile field db 3",
        &dir,
    );
    // Paths that cannot be a folder.
    let file = tmp.path().join("a-file");
    fs::write(&file, "").unwrap();
    let under = file.join("out");
    refused(
        &["--profile", "local-dev", "--out", under.to_str().unwrap()],
        "--out",
        &under,
    );
    let long = tmp.path().join("x".repeat(300));
    refused(
        &["--profile", "local-dev", "--out", long.to_str().unwrap()],
        "--out",
        &long,
    );
    // inspect of garbage.
    let garbage = tmp.path().join("garbage.pem");
    fs::write(
        &garbage,
        "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    let out = run(&["inspect", garbage.to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn ca_params() -> rcgen::CertificateParams {
    let mut p = rcgen::CertificateParams::default();
    let mut dn = rcgen::DistinguishedName::new();
    dn.push(rcgen::DnType::CommonName, "Org Root CA");
    p.distinguished_name = dn;
    p.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    p.key_usages = vec![
        rcgen::KeyUsagePurpose::KeyCertSign,
        rcgen::KeyUsagePurpose::CrlSign,
    ];
    let now = time::OffsetDateTime::now_utc();
    p.not_before = now - time::Duration::days(1);
    p.not_after = now + time::Duration::days(3650);
    p
}

/// ca.crt and ca.key from `params` in `dir`; `extra_pem` is appended to ca.crt.
fn ca_files(dir: &Path, params: &rcgen::CertificateParams, extra_pem: Option<&str>) {
    fs::create_dir_all(dir).unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    fs::write(dir.join("ca.crt"), cert.pem() + extra_pem.unwrap_or("")).unwrap();
    fs::write(dir.join("ca.key"), key.serialize_pem()).unwrap();
}

#[test]
fn an_own_ca_the_servers_would_refuse_is_refused_with_the_reason() {
    let tmp = tempdir();
    let dir = tmp.path().join("out");
    let d = dir.to_str().unwrap();
    let now = time::OffsetDateTime::now_utc();
    let try_ca = |name: &str, params: rcgen::CertificateParams, extra: Option<&str>, why: &str| {
        let ca = tmp.path().join(name);
        ca_files(&ca, &params, extra);
        let (c, k) = (ca.join("ca.crt"), ca.join("ca.key"));
        let args = [
            "--profile",
            "production-tls",
            "--host",
            "redis.corp.example",
            "--days",
            "30",
            "--ca-cert",
            c.to_str().unwrap(),
            "--ca-key",
            k.to_str().unwrap(),
            "--out",
            d,
        ];
        refused(&args, why, &dir);
    };
    let mut email = ca_params();
    email.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::EmailProtection];
    try_ca("email", email, None, "emailProtection");
    let mut future = ca_params();
    future.not_before = now + time::Duration::days(30);
    try_ca("future", future, None, "not valid yet");
    let mut expired = ca_params();
    expired.not_before = now - time::Duration::days(60);
    expired.not_after = now - time::Duration::days(1);
    try_ca("expired", expired, None, "expired");
    let mut constrained = ca_params();
    constrained.name_constraints = Some(rcgen::NameConstraints {
        permitted_subtrees: vec![],
        excluded_subtrees: vec![rcgen::GeneralSubtree::DnsName("corp.example".into())],
    });
    try_ca("constrained", constrained, None, "name constraints");
    let other = rcgen::KeyPair::generate().unwrap();
    let second = ca_params().self_signed(&other).unwrap().pem();
    try_ca("two", ca_params(), Some(&second), "2 certificates");

    // A key that does not match, an encrypted one, a weak RSA one: exit 2 and advice
    // that works (not --force, which keeps the CA).
    let good = tmp.path().join("good");
    ca_files(&good, &ca_params(), None);
    let c = good.join("ca.crt");
    let wrong = tmp.path().join("wrong.key");
    fs::write(&wrong, other.serialize_pem()).unwrap();
    let encrypted = tmp.path().join("enc.key");
    let rsa1024 = tmp.path().join("rsa1024.key");
    if have("openssl") {
        openssl(&[
            "pkey",
            "-in",
            good.join("ca.key").to_str().unwrap(),
            "-aes256",
            "-passout",
            "pass:secret",
            "-out",
            encrypted.to_str().unwrap(),
        ]);
        openssl(&["genrsa", "-out", rsa1024.to_str().unwrap(), "1024"]);
    }
    for (key, why) in [
        (&wrong, "not the private key"),
        (&encrypted, "encrypted"),
        (&rsa1024, "--ca-key"),
    ] {
        if !key.exists() {
            continue;
        }
        let args = [
            "--profile",
            "production-tls",
            "--ca-cert",
            c.to_str().unwrap(),
            "--ca-key",
            key.to_str().unwrap(),
            "--out",
            d,
        ];
        refused(&args, why, &dir);
        let out = run(&args);
        assert!(
            !String::from_utf8_lossy(&out.stderr).contains("--force"),
            "advice that does not work"
        );
    }
    let garbage = tmp.path().join("garbage.crt");
    fs::write(&garbage, "garbage\n").unwrap();
    let gk = good.join("ca.key");
    refused(
        &[
            "--profile",
            "production-tls",
            "--ca-cert",
            garbage.to_str().unwrap(),
            "--ca-key",
            gk.to_str().unwrap(),
            "--out",
            d,
        ],
        "--ca-cert",
        &dir,
    );

    // A CA the checks accept still works end to end: EKU serverAuth+clientAuth, a
    // name constraint that permits the names used.
    let mut fine = ca_params();
    fine.extended_key_usages = vec![
        rcgen::ExtendedKeyUsagePurpose::ServerAuth,
        rcgen::ExtendedKeyUsagePurpose::ClientAuth,
    ];
    fine.name_constraints = Some(rcgen::NameConstraints {
        permitted_subtrees: vec![],
        excluded_subtrees: vec![rcgen::GeneralSubtree::DnsName("bank.example".into())],
    });
    let fine_dir = tmp.path().join("fine");
    ca_files(&fine_dir, &fine, None);
    let (fc, fk) = (fine_dir.join("ca.crt"), fine_dir.join("ca.key"));
    let port = generate_prod(
        &dir,
        &[
            "--days",
            "30",
            "--ca-cert",
            fc.to_str().unwrap(),
            "--ca-key",
            fk.to_str().unwrap(),
        ],
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
fn a_multi_line_password_in_env_is_not_cut_to_its_first_line() {
    let tmp = tempdir();
    let dir = tmp.path().join("p");
    let port = generate_prod(&dir, &[]);
    let env = fs::read_to_string(dir.join(".env")).unwrap();
    let pw = read_env(&dir)["REDIS_PASSWORD"].clone();
    let edited = env
        .lines()
        .map(|l| {
            if l.starts_with("REDIS_PASSWORD=") {
                format!("REDIS_PASSWORD=\"{pw}\nsecond line\"")
            } else {
                l.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n";
    fs::write(dir.join(".env"), &edited).unwrap();
    assert_eq!(
        read_env(&dir)["REDIS_PASSWORD"],
        format!("{pw}\nsecond line")
    );
    let before = snapshot(&dir);
    let args = [
        "--profile",
        "production-tls",
        "--host",
        "localhost",
        "--port",
        &port.to_string(),
        "--out",
        dir.to_str().unwrap(),
    ];
    let out = run(&args);
    assert!(
        !out.status.success(),
        "a run reused a password cut to its first line"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("--force"));
    assert_eq!(snapshot(&dir), before);
}

#[test]
fn a_rerun_asking_for_what_kept_certificates_lack_names_each_difference() {
    let tmp = tempdir();
    let dir = tmp.path().join("p");
    let port = generate_prod(&dir, &[]);
    let args = prod_args(&dir, port);
    let base: Vec<&str> = args.iter().map(String::as_str).collect();
    for (extra, says) in [
        (
            &["--san", "cache.example.com"][..],
            vec!["does not name cache.example.com"],
        ),
        (
            &["--key-type", "ed25519"][..],
            vec!["has a ECDSA P-256 key, not Ed25519"],
        ),
        (&["--days", "30"][..], vec!["is valid for 365 days, not 30"]),
        (
            &[
                "--san",
                "10.1.2.3",
                "--days",
                "90",
                "--key-type",
                "ecdsa-p384",
            ][..],
            vec!["does not name 10.1.2.3", "not ECDSA P-384", "not 90"],
        ),
    ] {
        let before = snapshot(&dir);
        let args = [&base[..], extra].concat();
        let out = run(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{extra:?}: {stderr}");
        for s in says {
            assert!(stderr.contains(s), "{extra:?}: {stderr}");
        }
        assert!(stderr.contains("certs/redis-server.crt"), "{stderr}");
        assert!(snapshot(&dir) == before, "{extra:?} wrote something");
        // The command it prints issues them again, and then they have it.
        let cmd = stderr.rsplit("with: ").next().unwrap().trim();
        assert!(cmd.ends_with("--force") && cmd.contains(extra[1]), "{cmd}");
        let forced = run(&[&args[..], &["--force"]].concat());
        assert!(
            forced.status.success(),
            "{}",
            String::from_utf8_lossy(&forced.stderr)
        );
        let again = run(&args);
        assert!(
            again.status.success(),
            "{extra:?} after --force: {}",
            String::from_utf8_lossy(&again.stderr)
        );
        // Back to the first settings for the next case.
        generate(&[&base[..], &["--force"]].concat());
        let _ = run(&base);
    }
}

#[test]
fn naming_the_default_key_type_or_days_after_a_run_with_others_is_a_request_too() {
    let tmp = tempdir();
    let dir = tmp.path().join("p");
    let port = generate_prod(&dir, &["--key-type", "ecdsa-p384", "--days", "90"]);
    let args = prod_args(&dir, port);
    let base: Vec<&str> = args.iter().map(String::as_str).collect();
    for (extra, says) in [
        (
            ["--key-type", "ecdsa-p256"],
            "has a ECDSA P-384 key, not ECDSA P-256",
        ),
        (["--days", "365"], "is valid for 90 days, not 365"),
    ] {
        let out = run(&[&base[..], &extra[..]].concat());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{extra:?}: {stderr}");
        assert!(stderr.contains(says), "{extra:?}: {stderr}");
    }
    // A bare re-run asks for nothing and keeps them.
    let out = run(&base);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_subfolder_mounted_from_another_filesystem_is_refused_before_anything_is_staged() {
    let tmp = tempdir();
    let dir = tmp.path().join("p");
    let certs = dir.join("certs");
    fs::create_dir_all(&certs).unwrap();
    fs::set_permissions(&certs, fs::Permissions::from_mode(0o700)).unwrap();
    let Some(_mounted) = Tmpfs::mount(&certs, "size=1m,mode=0700") else {
        return;
    };
    let out = run(&[
        "--profile",
        "production-tls",
        "--out",
        dir.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("another filesystem"), "{stderr}");
    assert_eq!(fs::read_dir(&certs).unwrap().count(), 0);
    let left: Vec<_> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        left,
        vec![std::ffi::OsString::from("certs")],
        "left behind: {left:?}"
    );
}
