//! One read-back model: what `verify` accepts, a re-run (and renew) reads the same way.
//! Each folder is edited the way a user may write a password (quoted) and both must
//! agree: the re-run keeps the passwords verify checked, or both refuse.

use std::fs;
use std::path::Path;

use crate::common::*;

fn verify(dir: &Path) -> (Option<i32>, String) {
    let out = run(&["verify", dir.to_str().unwrap()]);
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// Rewrite the first line of `file` that starts with `prefix` by `f`; returns the old value.
fn requote(dir: &Path, file: &str, prefix: &str, f: impl Fn(&str) -> String) -> String {
    let path = dir.join(file);
    let text = fs::read_to_string(&path).unwrap();
    let mut old = None;
    let text: String = text
        .lines()
        .map(|l| match l.strip_prefix(prefix) {
            Some(v) if old.is_none() => {
                old = Some(v.to_owned());
                format!("{prefix}{}\n", f(v))
            }
            _ => format!("{l}\n"),
        })
        .collect();
    fs::write(&path, text).unwrap();
    old.unwrap_or_else(|| panic!("{file} has no {prefix} line"))
}

#[test]
fn single_quoted_env_passwords_verify_and_survive_a_rerun() {
    let tmp = tempdir();
    let dir = tmp.path().join("p");
    let port = generate_prod(&dir, &[]);
    let app = requote(&dir, ".env", "REDIS_PASSWORD=", |v| format!("'{v}'"));
    let admin = requote(&dir, "admin.env", "REDIS_ADMIN_PASSWORD=", |v| {
        format!("'{v}'")
    });
    let acl = fs::read_to_string(dir.join("users.acl")).unwrap();

    let (code, out) = verify(&dir);
    assert_eq!(code, Some(0), "verify refused single quotes:\n{out}");

    let port = port.to_string();
    let out = generate(&[
        "--profile",
        "production-tls",
        "--host",
        "localhost",
        "--port",
        &port,
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert!(out.status.success());
    assert_eq!(
        fs::read_to_string(dir.join("users.acl")).unwrap(),
        acl,
        "the re-run did not reuse the passwords verify read"
    );
    let env = read_env(&dir);
    assert_eq!(env["REDIS_PASSWORD"], app);
    let (_, admin_pw) = read_admin(&dir);
    assert_eq!(admin_pw, admin);
}

#[test]
fn an_unbalanced_quote_is_refused_by_verify_and_by_a_rerun_alike() {
    let tmp = tempdir();
    let dir = tmp.path().join("p");
    let port = generate_prod(&dir, &[]);
    let app = requote(&dir, ".env", "REDIS_PASSWORD=", |v| format!("'{v}"));

    let (code, out) = verify(&dir);
    assert_eq!(
        code,
        Some(1),
        "verify accepted an .env the app cannot read:\n{out}"
    );

    let port = port.to_string();
    let out = run(&[
        "--profile",
        "production-tls",
        "--host",
        "localhost",
        "--port",
        &port,
        "--out",
        dir.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("no file holds the app password to reuse"),
        "{stderr}"
    );
    assert!(
        !stderr.contains(&app),
        "the error shows the password: {stderr}"
    );
}

#[test]
fn single_quoted_masterauth_verifies_and_survives_a_rerun() {
    let tmp = tempdir();
    let dir = tmp.path().join("c");
    let ports = free_cluster_ports(3);
    let nodes: Vec<String> = ports.iter().map(|p| format!("127.0.0.1:{p}")).collect();
    let nodes = nodes.join(",");
    let args = [
        "--profile",
        "cluster",
        "--nodes",
        &nodes,
        "--out",
        dir.to_str().unwrap(),
    ];
    generate(&args);
    let mut confs: Vec<_> = fs::read_dir(dir.join("nodes"))
        .unwrap()
        .map(|e| e.unwrap().path().join("redis.conf"))
        .collect();
    confs.sort();
    for conf in &confs {
        let rel = conf
            .strip_prefix(&dir)
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        requote(&dir, &rel, "masterauth ", |v| {
            format!("'{}'", v.trim_matches('"'))
        });
    }
    let acl = fs::read_to_string(dir.join("users.acl")).unwrap();

    let (code, out) = verify(&dir);
    assert_eq!(
        code,
        Some(0),
        "verify refused a single-quoted masterauth:\n{out}"
    );
    generate(&args);
    assert_eq!(
        fs::read_to_string(dir.join("users.acl")).unwrap(),
        acl,
        "the re-run did not reuse the replication password verify read"
    );
}

fn inspect_key(cert: &Path) -> String {
    let out = run(&["inspect", cert.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.lines()
        .find_map(|l| l.trim().strip_prefix("key "))
        .unwrap_or_else(|| panic!("no key line:\n{text}"))
        .trim()
        .to_owned()
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

const NOTE: &str = "has no kimera-redis.toml (made before folders recorded their settings): its settings are inferred from its files";

#[test]
fn the_record_holds_the_settings_and_no_secret() {
    let tmp = tempdir();
    let dir = tmp.path().join("c");
    let ports = free_cluster_ports(6);
    let nodes: Vec<String> = ports.iter().map(|p| format!("127.0.0.1:{p}")).collect();
    let nodes = nodes.join(",");
    generate(&[
        "--profile",
        "cluster",
        "--tls",
        "--nodes",
        &nodes,
        "--replicas",
        "1",
        "--key-type",
        "ed25519",
        "--out",
        dir.to_str().unwrap(),
    ]);
    let path = dir.join("kimera-redis.toml");
    let record = fs::read_to_string(&path).unwrap();
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o644
    );
    for want in [
        "profile = \"cluster\"",
        "tls = true",
        "cluster_replicas = 1",
        "key_type = \"ed25519\"",
        "username = \"cluster_user\"",
        &format!("port = {}", ports[5]),
    ] {
        assert!(record.contains(want), "{want} not in the record:\n{record}");
    }
    let env = read_env(&dir);
    let (_, admin) = read_admin(&dir);
    let first_node = fs::read_dir(dir.join("nodes"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap();
    let conf = fs::read_to_string(first_node.path().join("redis.conf")).unwrap();
    let replica = conf
        .lines()
        .find_map(|l| l.strip_prefix("masterauth "))
        .expect("a node config has masterauth")
        .trim_matches('"')
        .to_owned();
    for secret in [env["REDIS_PASSWORD"].as_str(), &admin, &replica] {
        assert_eq!(secret.len(), 32);
        assert!(!record.contains(secret), "the record holds a password");
    }
    assert!(!record.contains("PRIVATE"), "the record holds a key");
    assert!(!record.contains("BEGIN"), "the record holds PEM");
}

#[test]
fn renew_keeps_the_certificates_key_type_when_the_record_was_edited() {
    let tmp = tempdir();
    let dir = tmp.path().join("p");
    generate_prod(&dir, &[]);
    assert_eq!(
        inspect_key(&dir.join("certs/redis-client.crt")),
        "ECDSA P-256"
    );
    // A record edited by hand disagrees with the certificates the CA signed: it is not
    // believed, and renew says so and issues keys of the certificates' own type.
    let path = dir.join("kimera-redis.toml");
    let record = fs::read_to_string(&path).unwrap();
    assert!(record.contains("key_type = \"ecdsa-p256\""), "{record}");
    fs::write(&path, record.replace("ecdsa-p256", "rsa-4096")).unwrap();
    let out = run(&["renew", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out)
            .contains("key_type = \"rsa-4096\", but certs/redis-server.crt has an ECDSA P-256 key"),
        "{}",
        stderr(&out)
    );
    for cert in ["certs/redis-client.crt", "certs/redis-server.crt"] {
        assert_eq!(inspect_key(&dir.join(cert)), "ECDSA P-256", "{cert}");
    }
    // The way to change the key type is a run that asks for it.
    generate(&[
        "--profile",
        "production-tls",
        "--out",
        dir.to_str().unwrap(),
        "--key-type",
        "ecdsa-p384",
        "--force",
    ]);
    let out = run(&["renew", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(!stderr(&out).contains("note:"), "{}", stderr(&out));
    assert_eq!(
        inspect_key(&dir.join("certs/redis-server.crt")),
        "ECDSA P-384"
    );
}

#[test]
fn a_folder_without_a_record_verifies_and_renews_with_one_note() {
    let tmp = tempdir();
    let dir = tmp.path().join("p");
    let port = generate_prod(&dir, &["--key-type", "ed25519"]);
    fs::remove_file(dir.join("kimera-redis.toml")).unwrap();

    let out = run(&["verify", dir.to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("note: ") && err.contains(NOTE), "{err}");

    let out = run(&["verify", dir.to_str().unwrap(), "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("stdout stays JSON");
    assert_eq!(json["ok"], true);

    let out = run(&["renew", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let err = stderr(&out);
    assert_eq!(err.matches(NOTE).count(), 1, "{err}");
    // Inferred from the certificate: the folder's key type is kept.
    assert_eq!(inspect_key(&dir.join("certs/redis-client.crt")), "Ed25519");
    let out = run(&["verify", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));

    // A re-run with the folder's flags records its settings; the note is gone.
    let port = port.to_string();
    generate(&[
        "--profile",
        "production-tls",
        "--host",
        "localhost",
        "--port",
        &port,
        "--key-type",
        "ed25519",
        "--out",
        dir.to_str().unwrap(),
    ]);
    let record = fs::read_to_string(dir.join("kimera-redis.toml")).unwrap();
    assert!(record.contains("key_type = \"ed25519\""), "{record}");
    let out = run(&["verify", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    assert!(stderr(&out).is_empty(), "{}", stderr(&out));
}

/// The first `run \`...\`` command verify prints as a fix.
fn printed_command(out: &str) -> String {
    out.split("run `")
        .nth(1)
        .and_then(|rest| rest.split('`').next())
        .unwrap_or_else(|| panic!("no command to run in:\n{out}"))
        .to_owned()
}

#[test]
fn verify_fixes_regenerate_what_the_record_says_not_what_was_edited() {
    let tmp = tempdir();
    let dir = tmp.path().join("p");
    generate_prod(&dir, &["--key-type", "ed25519", "--days", "90"]);
    let env = read_env(&dir);
    set_user(&dir, "someone");

    let (code, out) = verify(&dir);
    assert_eq!(code, Some(1), "{out}");
    let command = printed_command(&out);
    for want in ["--key-type ed25519", "--days 90", "--force"] {
        assert!(command.contains(want), "{want} not in {command}");
    }
    assert!(!command.contains("someone"), "{command}");

    let fixed = paste(&command);
    assert!(fixed.status.success(), "{}", stderr(&fixed));
    let (code, out) = verify(&dir);
    assert_eq!(
        code,
        Some(0),
        "the printed fix did not fix the folder:\n{out}"
    );
    assert_eq!(read_env(&dir)["REDIS_USERNAME"], env["REDIS_USERNAME"]);
    assert_eq!(inspect_key(&dir.join("certs/redis-client.crt")), "Ed25519");
    let out = run(&[
        "inspect",
        dir.join("certs/redis-client.crt").to_str().unwrap(),
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("(89 day(s) left)"),
        "not issued for 90 days:\n{text}"
    );
}

fn set_user(dir: &Path, user: &str) {
    requote(dir, ".env", "REDIS_USERNAME=", |_| user.to_owned());
}

#[test]
fn a_rerun_that_adds_files_keeps_the_record_and_is_not_refused_for_it() {
    let tmp = tempdir();
    let dir = tmp.path().join("p");
    let port = generate_prod(&dir, &[]).to_string();
    let record = fs::read_to_string(dir.join("kimera-redis.toml")).unwrap();
    // Other flags that only add files: the kept setup still works together.
    let out = generate(&[
        "--profile",
        "production-tls",
        "--host",
        "localhost",
        "--port",
        &port,
        "--pkcs12",
        "--out",
        dir.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(dir.join("certs/redis-client.p12").is_file(), "{stdout}");
    assert!(!stdout.contains("kimera-redis.toml differs"), "{stdout}");
    assert_eq!(
        fs::read_to_string(dir.join("kimera-redis.toml")).unwrap(),
        record,
        "a re-run without --force rewrote the record"
    );
}

#[test]
fn a_folder_without_a_record_rerun_with_other_flags_works_as_before() {
    let tmp = tempdir();
    let dir = tmp.path().join("p");
    let port = generate_prod(&dir, &[]).to_string();
    fs::remove_file(dir.join("kimera-redis.toml")).unwrap();
    let args = |extra: &'static [&'static str]| {
        let mut a = vec![
            "--profile".to_owned(),
            "production-tls".into(),
            "--host".into(),
            "localhost".into(),
            "--port".into(),
            port.clone(),
            "--out".into(),
            dir.to_str().unwrap().into(),
        ];
        a.extend(extra.iter().map(|s| (*s).to_owned()));
        a
    };
    // Its kept compose file was made with another image: kept, with a note, and no
    // record of flags that did not make the kept files.
    let other = args(&["--image", "redis:7.2"]);
    let out = generate(&other.iter().map(String::as_str).collect::<Vec<_>>());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("note: kept docker-compose.yml differs"),
        "{stdout}"
    );
    assert!(!dir.join("kimera-redis.toml").exists());
    // The flags that made it: the record is added.
    let same = args(&[]);
    generate(&same.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(dir.join("kimera-redis.toml").is_file());
}

#[test]
fn verify_names_tls_switched_off_everywhere_from_the_record() {
    let tmp = tempdir();
    let dir = tmp.path().join("p");
    generate_prod(&dir, &[]);
    let port = read_env(&dir)["REDIS_PORT"].clone();
    // Plain text, consistently: .env, its URL and the server agree with each other.
    requote(&dir, ".env", "REDIS_SSL=", |_| "false".into());
    requote(&dir, ".env", "REDIS_URL=", |v| {
        let url = v.trim_matches('\'');
        let plain = url.replacen("rediss://", "redis://", 1);
        format!("'{}'", plain.split('?').next().unwrap())
    });
    requote(&dir, "redis.conf", "port ", |_| port.clone());
    requote(&dir, "redis.conf", "tls-port ", |_| "0".into());

    let (code, out) = verify(&dir);
    assert_eq!(
        code,
        Some(1),
        "verify said ok about TLS switched off:\n{out}"
    );
    assert!(
        out.contains("REDIS_SSL=false, but the folder was generated with TLS"),
        "{out}"
    );
    assert!(
        out.contains("redis.conf: TLS is off (no tls-port), but the folder was generated with TLS"),
        "{out}"
    );
    // The printed fix works when followed.
    let fixed = paste(&printed_command(&out));
    assert!(fixed.status.success(), "{}", stderr(&fixed));
    let (code, out) = verify(&dir);
    assert_eq!(code, Some(0), "{out}");
    assert_eq!(read_env(&dir)["REDIS_SSL"], "true");
}
