//! Re-runs and `--force`: nothing is lost, the CA is never replaced, kept and new files
//! agree, and modes are exact whatever the umask.

use std::fs;
use std::process::Command;

use crate::common::*;

fn gen_args(args: &[String], extra: &[&str]) -> std::process::Output {
    let mut all: Vec<&str> = args.iter().map(String::as_str).collect();
    all.extend_from_slice(extra);
    generate(&all)
}

#[test]
fn second_run_keeps_every_file_and_says_so() {
    let tmp = tempdir();
    let dir = tmp.path().join("p");
    let args = prod_args(&dir, 16380);
    gen_args(&args, &[]);
    let before = snapshot(&dir);
    let out = gen_args(&args, &[]);
    assert_eq!(snapshot(&dir), before, "a second run changed the folder");
    let stdout = String::from_utf8_lossy(&out.stdout);
    for file in [
        "certs/ca.key",
        "certs/redis-server.key",
        ".env",
        "users.acl",
        "redis.conf",
    ] {
        assert!(
            stdout
                .lines()
                .any(|l| l.contains("kept") && l.contains(file)),
            "{file} not reported kept:\n{stdout}"
        );
    }
    assert!(!stdout.contains("created"), "{stdout}");
}

#[test]
fn force_rewrites_leaves_under_the_same_ca_and_keeps_the_password() {
    if !have("redis-server") || !have("openssl") {
        return;
    }
    let tmp = tempdir();
    let dir = tmp.path().join("p");
    let port = free_port();
    let args = prod_args(&dir, port);
    gen_args(&args, &[]);
    let before = snapshot(&dir);
    let out = gen_args(&args, &["--force"]);
    let after = snapshot(&dir);

    for same in [
        "certs/ca.crt",
        "certs/ca.key",
        ".env",
        "users.acl",
        "redis.properties",
        "redis.conf",
    ] {
        assert_eq!(before[same], after[same], "{same} changed under --force");
    }
    for changed in [
        "certs/redis-server.crt",
        "certs/redis-server.key",
        "certs/redis-client.crt",
        "certs/redis-client.key",
    ] {
        assert_ne!(
            before[changed].1, after[changed].1,
            "{changed} was not rewritten by --force"
        );
        assert_eq!(
            before[changed].0, after[changed].0,
            "{changed} changed mode"
        );
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout
            .lines()
            .any(|l| l.contains("replaced") && l.contains("certs/redis-server.key")),
        "{stdout}"
    );
    assert!(
        stdout
            .lines()
            .any(|l| l.contains("kept") && l.contains("certs/ca.key")),
        "{stdout}"
    );

    // The new leaves chain to the old CA, and the whole setup still works.
    let verify = Command::new("openssl")
        .args(["verify", "-x509_strict", "-CAfile"])
        .arg(dir.join("certs/ca.crt"))
        .arg(dir.join("certs/redis-server.crt"))
        .arg(dir.join("certs/redis-client.crt"))
        .output()
        .unwrap();
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stdout)
    );
    let _server = Server::start(&dir.join("redis.conf"), port);
    assert_eq!(ping(&app_client(&read_env(&dir))).unwrap(), "PONG");
}

#[test]
fn missing_files_are_written_to_match_the_kept_ones() {
    if !have("redis-server") {
        return;
    }
    let tmp = tempdir();
    let dir = tmp.path().join("p");
    let port = free_port();
    let args = prod_args(&dir, port);
    gen_args(&args, &[]);
    let before = snapshot(&dir);
    // The app's .env and the server certificate are lost; the key and redis.properties stay.
    fs::remove_file(dir.join(".env")).unwrap();
    fs::remove_file(dir.join("certs/redis-server.crt")).unwrap();
    let out = gen_args(&args, &[]);
    let after = snapshot(&dir);
    assert_eq!(
        before[".env"], after[".env"],
        ".env came back with other contents"
    );
    assert_eq!(
        before["certs/redis-server.key"],
        after["certs/redis-server.key"]
    );
    assert_ne!(
        before["certs/redis-server.crt"].1,
        after["certs/redis-server.crt"].1
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout
            .lines()
            .any(|l| l.contains("created") && l.contains("certs/redis-server.crt")),
        "{stdout}"
    );
    // The re-issued certificate is for the kept key: the server starts and the app connects.
    let _server = Server::start(&dir.join("redis.conf"), port);
    assert_eq!(ping(&app_client(&read_env(&dir))).unwrap(), "PONG");
}

#[test]
fn a_ca_half_gone_is_refused_not_replaced() {
    let tmp = tempdir();
    let dir = tmp.path().join("p");
    let args = prod_args(&dir, 16380);
    gen_args(&args, &[]);
    fs::remove_file(dir.join("certs/ca.key")).unwrap();
    // Something must be signed: a missing certificate, or --force.
    fs::remove_file(dir.join("certs/redis-client.crt")).unwrap();
    let before = snapshot(&dir);
    for extra in [&[][..], &["--force"][..]] {
        let mut all: Vec<&str> = args.iter().map(String::as_str).collect();
        all.extend_from_slice(extra);
        let out = run(&all);
        assert_eq!(out.status.code(), Some(1), "{extra:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("certs/ca.crt exists but certs/ca.key does not"),
            "{stderr}"
        );
        assert_eq!(snapshot(&dir), before, "a refused run changed the folder");
    }
}

#[test]
fn a_key_that_does_not_match_its_certificate_is_refused() {
    let tmp = tempdir();
    let dir = tmp.path().join("p");
    let other = tmp.path().join("o");
    let args = prod_args(&dir, 16380);
    gen_args(&args, &[]);
    gen_args(&prod_args(&other, 16380), &[]);
    fs::copy(
        other.join("certs/redis-client.key"),
        dir.join("certs/redis-client.key"),
    )
    .unwrap();
    let out = run(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("certs/redis-client.key is not the key of certs/redis-client.crt"),
        "{stderr}"
    );
}

#[test]
fn modes_are_exact_whatever_the_umask() {
    for umask in ["000", "077", "022"] {
        let tmp = tempdir();
        let dir = tmp.path().join("p");
        let status = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "umask {umask} && exec \"$0\" --profile production-tls --out \"$1\" >/dev/null"
            ))
            .arg(BIN)
            .arg(&dir)
            .status()
            .unwrap();
        assert!(status.success());
        let snap = snapshot(&dir);
        let expect = [
            (".env", 0o600),
            ("redis.properties", 0o600),
            ("users.acl", 0o600),
            ("redis.conf", 0o644),
            ("docker-compose.yml", 0o644),
            ("certs/ca.key", 0o600),
            ("certs/redis-server.key", 0o600),
            ("certs/redis-client.key", 0o600),
            ("certs/ca.crt", 0o644),
            ("certs/redis-server.crt", 0o644),
            ("certs/redis-client.crt", 0o644),
            ("certs/", 0o700),
            ("data/", 0o700),
        ];
        for (file, mode) in expect {
            assert_eq!(
                snap[file].0, mode,
                "{file} under umask {umask}: {:o}",
                snap[file].0
            );
        }
        assert!(
            snap.keys().all(|k| !k.contains(".kimera-redis-init-")),
            "a temporary file was left behind"
        );
    }
}

#[test]
fn dry_run_writes_nothing_and_json_lists_files_and_certificates() {
    let tmp = tempdir();
    let dir = tmp.path().join("p");
    let out = generate(&[
        "--profile",
        "production-tls",
        "--out",
        dir.to_str().unwrap(),
        "--dry-run",
    ]);
    assert!(!dir.exists(), "--dry-run created the output folder");
    assert!(String::from_utf8_lossy(&out.stdout).contains("would create"));

    let out = generate(&[
        "--profile",
        "production-tls",
        "--out",
        dir.to_str().unwrap(),
        "--json",
    ]);
    let m: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("--json prints JSON only");
    let files = m["files"].as_array().unwrap();
    let by_path = |p: &str| {
        files
            .iter()
            .find(|f| f["path"] == p)
            .unwrap_or_else(|| panic!("{p} missing"))
    };
    assert_eq!(by_path(".env")["mode"], "0600");
    assert_eq!(by_path(".env")["action"], "create");
    assert_eq!(by_path("redis.conf")["mode"], "0644");
    let server = &by_path("certs/redis-server.crt")["certificate"];
    let sans: Vec<&str> = server["sans"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(
        sans.contains(&"DNS:redis.production.com") && sans.contains(&"IP:127.0.0.1"),
        "{sans:?}"
    );
    assert!(server["not_after"].as_str().unwrap().len() >= 20);
    // The fingerprint is the one OpenSSL computes for the file on disk.
    if have("openssl") {
        let fp = Command::new("openssl")
            .args(["x509", "-noout", "-fingerprint", "-sha256", "-in"])
            .arg(dir.join("certs/redis-server.crt"))
            .output()
            .unwrap();
        let fp = String::from_utf8(fp.stdout).unwrap();
        assert_eq!(
            fp.trim().rsplit('=').next().unwrap(),
            server["sha256_fingerprint"].as_str().unwrap()
        );
    }
    // No secret in the manifest.
    let password = read_env(&dir)["REDIS_PASSWORD"].clone();
    assert!(!String::from_utf8_lossy(&out.stdout).contains(&password));
    let key = fs::read_to_string(dir.join("certs/ca.key")).unwrap();
    let key_body = key.lines().nth(1).unwrap();
    assert!(!String::from_utf8_lossy(&out.stdout).contains(key_body));
}

#[test]
fn kept_certificates_must_fit_the_ca_and_host_of_this_run() {
    let tmp = tempdir();
    let dir = tmp.path().join("p");
    let args = prod_args(&dir, 16380);
    gen_args(&args, &[]);
    // The CA was lost and a new one is made: the kept leaves were not issued by it.
    fs::remove_file(dir.join("certs/ca.crt")).unwrap();
    fs::remove_file(dir.join("certs/ca.key")).unwrap();
    let before = snapshot(&dir);
    let out = run(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("kept certs/redis-server.crt is not valid under certs/ca.crt"),
        "{stderr}"
    );
    assert!(stderr.contains("--force"), "{stderr}");
    assert_eq!(snapshot(&dir), before, "a refused run changed the folder");
    // --force issues the leaves again under the new CA.
    gen_args(&args, &["--force"]);
    let (code, out) = {
        let o = run(&["verify", dir.to_str().unwrap()]);
        (
            o.status.code(),
            String::from_utf8_lossy(&o.stdout).into_owned(),
        )
    };
    assert_eq!(code, Some(0), "{out}");
}

#[test]
fn a_partial_rerun_with_other_flags_is_refused() {
    let tmp = tempdir();
    let dir = tmp.path().join("p");
    gen_args(&prod_args(&dir, 16393), &[]);
    fs::remove_file(dir.join(".env")).unwrap();
    let before = snapshot(&dir);
    let out = run(&[
        "--profile",
        "production-tls",
        "--host",
        "localhost",
        "--port",
        "16394",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("redis.conf") && stderr.contains("differ"),
        "{stderr}"
    );
    assert_eq!(snapshot(&dir), before);
    // The server certificate must still name the host the new .env would dial.
    let out = run(&[
        "--profile",
        "production-tls",
        "--host",
        "redis.example.com",
        "--port",
        "16393",
        "--out",
        dir.to_str().unwrap(),
    ]);
    // Asking for a name the kept certificate lacks is the user's request refused (2).
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("does not name redis.example.com"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The flags of the first run bring .env back.
    gen_args(&prod_args(&dir, 16393), &[]);
    assert!(dir.join(".env").exists());
}

#[test]
fn a_ca_key_kept_offline_is_only_needed_to_sign() {
    let tmp = tempdir();
    let dir = tmp.path().join("p");
    let args = prod_args(&dir, 16380);
    gen_args(&args, &[]);
    let offline = tmp.path().join("ca.key");
    fs::rename(dir.join("certs/ca.key"), &offline).unwrap();
    // Everything is there: nothing to sign, the run keeps the folder as it is.
    let before = snapshot(&dir);
    gen_args(&args, &[]);
    assert_eq!(snapshot(&dir), before);
    // A certificate to issue needs the key.
    fs::remove_file(dir.join("certs/redis-client.crt")).unwrap();
    let out = run(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("certs/ca.crt exists but certs/ca.key does not")
    );
    fs::rename(&offline, dir.join("certs/ca.key")).unwrap();
    gen_args(&args, &[]);
    assert!(dir.join("certs/redis-client.crt").exists());
}
