//! One read-back model: what `verify` accepts, a re-run (and renew) reads the same way.
//! Each folder is edited the way a user may write a password (quoted) and both must
//! agree: the re-run keeps the passwords verify checked, or both refuse.

mod common;

use std::fs;
use std::path::Path;

use common::*;

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
