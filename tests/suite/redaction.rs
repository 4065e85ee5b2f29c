//! No secret in `Debug` (issue 11): one `{:?}` of any type that holds a private key or a
//! password, in a log line or a panic message, must not print them.

use std::fs;

use kimera_redis_init::{Setup, testing};

use crate::common::*;

/// The secrets a generated cluster folder holds: passwords and private key bodies.
fn secrets_in(dir: &std::path::Path) -> Vec<String> {
    let env = read_env(dir);
    let mut found = vec![env["REDIS_PASSWORD"].clone()];
    let (_, admin) = read_admin(dir);
    found.push(admin);
    for e in fs::read_dir(dir.join("certs")).unwrap() {
        let path = e.unwrap().path();
        if path.extension().is_some_and(|x| x == "key") {
            let pem = fs::read_to_string(&path).unwrap();
            // A line from the middle of the base64 body.
            found.push(pem.lines().nth(1).unwrap().to_owned());
        }
    }
    for s in &found {
        assert!(s.len() >= 16, "a secret too short to look for: {s:?}");
    }
    found
}

fn assert_clean(what: &str, debug: &str, secrets: &[String]) {
    for s in secrets {
        assert!(!debug.contains(s.as_str()), "{what} Debug prints a secret");
    }
}

#[test]
fn debug_of_every_type_holding_a_key_or_password_is_redacted() {
    let tmp = tempdir();
    let dir = tmp.path().join("c");
    let d = dir.to_str().unwrap();
    let argv = [
        "kimera-redis-init",
        "--profile",
        "cluster",
        "--tls",
        "--out",
        d,
    ];
    let dumps = testing::debug_of_secret_holders(&argv).expect("generates");
    let mut all = secrets_in(&dir);
    // The folder also holds the replica password, in each node's redis.conf.
    let conf = fs::read_to_string(dir.join("nodes/redis-1-7001/redis.conf")).unwrap();
    let replica = conf
        .lines()
        .find_map(|l| l.strip_prefix("masterauth "))
        .expect("a cluster node has the replica password");
    all.push(replica.trim_matches('"').to_owned());
    let names: Vec<&str> = dumps.iter().map(|(name, _)| *name).collect();
    assert_eq!(
        names,
        ["Bundle", "Existing", "Secrets", "Pki", "CertKey", "Folder"]
    );
    for (name, debug) in &dumps {
        assert_clean(name, debug, &all);
    }
    let written = Setup::new("production-tls")
        .write_to(tmp.path().join("p"))
        .unwrap();
    let mut prod = secrets_in(&tmp.path().join("p"));
    prod.push(written.env("REDIS_PASSWORD").to_owned());
    assert_clean("Written", &format!("{written:?}"), &prod);
    // And the redaction shows where the secret was, so Debug stays useful.
    assert!(dumps[2].1.contains("<redacted>"), "{}", dumps[2].1);
}
