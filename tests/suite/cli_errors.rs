//! Bad input: one clear line naming the flag and what is allowed, exit 2, nothing written.

use std::path::Path;

use crate::common::*;

/// Run with `args` into a fresh folder; assert exit 2, a one-line error containing each
/// of `expect`, and that the output folder was not created.
fn refused(args: &[&str], expect: &[&str]) {
    let tmp = tempdir();
    let dir = tmp.path().join("out");
    let mut all = args.to_vec();
    all.extend(["--out", dir.to_str().unwrap()]);
    let out = run(&all);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{args:?} was not refused with 2:\n{stderr}"
    );
    for e in expect {
        assert!(stderr.contains(e), "{args:?}: error lacks {e:?}:\n{stderr}");
    }
    assert!(!dir.exists(), "{args:?} created the output folder");
}

#[test]
fn bad_values_are_refused_with_the_flag_and_what_is_allowed() {
    let p = ["--profile", "production-tls"];
    let with = |extra: &[&'static str]| [&p[..], extra].concat();
    refused(&with(&["--port", "0"]), &["--port 0", "1 to 65535"]);
    refused(&with(&["--port", "70000"]), &["--port 70000", "1 to 65535"]);
    refused(&with(&["--db", "16"]), &["--db 16", "0 to 15"]);
    refused(
        &with(&["--host", "bad host"]),
        &["--host \"bad host\"", "RFC 1123"],
    );
    refused(&with(&["--host=-lead.example"]), &["--host", "RFC 1123"]);
    refused(&with(&["--host", "a\nb"]), &["--host", "RFC 1123"]);
    refused(
        &with(&["--username", "a b"]),
        &["--username \"a b\"", "A-Z a-z 0-9 _ - ."],
    );
    refused(
        &with(&["--username", "x\nuser evil on nopass +@all"]),
        &["--username", "A-Z a-z 0-9 _ - ."],
    );
    refused(
        &with(&["--username", "default"]),
        &["--username default", "default user is switched off"],
    );
    refused(&with(&["--san", "bad_name!"]), &["--san", "RFC 1123"]);
    refused(&with(&["--days", "0"]), &["--days 0", "1 to 36500"]);
    refused(&with(&["--ca-days=-5"]), &["--ca-days -5", "1 to 36500"]);
    refused(
        &with(&["--days", "400", "--ca-days", "300"]),
        &["--days 400", "outlive the CA"],
    );
    refused(&with(&["--key-type", "dsa"]), &["--key-type", "ecdsa-p256"]);
    refused(&["--profile", "nope"], &["--profile", "production-tls"]);
    refused(
        &["--profile", "local-dev", "--username", "bob"],
        &["--username", "local-dev has no ACL user"],
    );
    refused(
        &["--profile", "local-dev", "--san", "x.example"],
        &["--san", "no TLS"],
    );
}

#[test]
fn errors_are_one_line() {
    let out = run(&["--profile", "production-tls", "--port", "0", "--dry-run"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("error: --port 0"), "{stderr}");
}

#[test]
fn out_that_is_a_file_is_refused() {
    let tmp = tempdir();
    let file = tmp.path().join("f");
    std::fs::write(&file, "x").unwrap();
    let out = run(&["--profile", "local-dev", "--out", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a folder"));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "x");
}

#[test]
fn profiles_lists_every_profile_on_one_line() {
    let out = generate(&["profiles"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let names: Vec<&str> = stdout
        .lines()
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    assert_eq!(
        names,
        ["local-dev", "production-tls", "cluster", "high-performance"]
    );
}

#[test]
fn generate_subcommand_is_the_same_job() {
    // `generate` and the bare flags write the same folder: the same files, modes and
    // contents (local-dev has no keys or passwords), but for the folder's own path.
    let tmp = tempdir();
    let run_into = |dir: &Path, sub: bool| {
        let mut args = if sub { vec!["generate"] } else { vec![] };
        args.extend(["--profile", "local-dev", "--out", dir.to_str().unwrap()]);
        generate(&args);
        snapshot(dir)
            .into_iter()
            .map(|(name, (mode, bytes))| {
                let text = String::from_utf8_lossy(&bytes).replace(dir.to_str().unwrap(), "DIR");
                (name, (mode, text))
            })
            .collect::<Vec<_>>()
    };
    let with = run_into(&tmp.path().join("g"), true);
    let without = run_into(&tmp.path().join("f"), false);
    assert!(
        with.iter().any(|(name, _)| name == "redis.conf"),
        "{with:?}"
    );
    assert_eq!(with, without);
}

#[test]
fn default_out_is_named_after_the_profile() {
    let tmp = tempdir();
    let out = std::process::Command::new(BIN)
        .args(["--profile", "local-dev"])
        .current_dir(tmp.path())
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(tmp.path().join("local-dev/.env").exists());
}

#[test]
fn out_with_a_single_quote_or_newline_is_refused() {
    let tmp = tempdir();
    for name in ["it's", "a\nb", "back\\slash", "${HOME}"] {
        let dir = tmp.path().join(name);
        let out = run(&[
            "--profile",
            "production-tls",
            "--out",
            dir.to_str().unwrap(),
        ]);
        assert_eq!(out.status.code(), Some(2), "{name:?}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("--out"));
        assert!(!dir.exists());
    }
}

#[test]
fn bad_cluster_input_is_refused() {
    let c = ["--profile", "cluster"];
    let with = |extra: &[&'static str]| [&c[..], extra].concat();
    refused(
        &with(&["--nodes", "a:7001,b:7002"]),
        &["--nodes", "2 node(s)", "at least 3 masters"],
    );
    refused(
        &with(&["--nodes", "a:7001,b:7002,a:7001"]),
        &["--nodes a:7001", "listed twice"],
    );
    refused(
        &with(&["--nodes", "a:7001,b:7002,c:55536"]),
        &["--nodes c:55536", "port + 10000", "up to 55535"],
    );
    refused(
        &with(&["--nodes", "a:7001,b:7002,c:7003,d:7004", "--replicas", "1"]),
        &["--nodes", "4 node(s) with --replicas 1", "multiple of 2"],
    );
    refused(
        &with(&["--nodes", "a:7001,b,c:7003"]),
        &["--nodes \"b\"", "HOST:PORT"],
    );
    refused(
        &with(&["--nodes", "a:7001,b:x,c:7003"]),
        &["--nodes \"b:x\"", "not a number"],
    );
    refused(
        &with(&["--nodes", "a:7001,b_c:7002,c:7003"]),
        &["--nodes \"b_c\"", "RFC 1123"],
    );
    refused(&with(&["--db", "1"]), &["--db 1", "only database 0"]);
    refused(
        &with(&["--nodes", "[1::2]:7001,1--2:7001,c:7003"]),
        &["--nodes", "would share the folder nodes/1--2-7001"],
    );
    refused(&with(&["--host", "x"]), &["--host/--port", "--nodes"]);
    refused(
        &["--profile", "production-tls", "--nodes", "a:1,b:2,c:3"],
        &["--nodes/--replicas", "single server"],
    );
}

#[test]
fn bad_tuning_is_refused() {
    refused(
        &[
            "--profile",
            "high-performance",
            "--io-threads",
            "2",
            "--tls",
        ],
        &["--io-threads 2", "TLS", "allowed with TLS: 1"],
    );
    refused(
        &["--profile", "production-tls", "--io-threads", "4"],
        &["--io-threads 4", "TLS"],
    );
    refused(
        &["--profile", "high-performance", "--io-threads", "0"],
        &["--io-threads 0", "1 to 128"],
    );
    refused(
        &["--profile", "high-performance", "--maxmemory", "lots"],
        &["--maxmemory \"lots\"", "512mb"],
    );
    refused(
        &["--profile", "local-dev", "--tls"],
        &["--tls", "local-dev"],
    );
    refused(
        &["--profile", "production-tls", "--username", "kimera_admin"],
        &["--username kimera_admin", "administration"],
    );
}

#[test]
fn kubernetes_names_are_checked_as_the_api_server_and_yaml_read_them() {
    let k = |extra: &[&'static str]| {
        [&["--profile", "production-tls", "--kubernetes"][..], extra].concat()
    };
    for ns in ["kube-system", "kube-public", "kube-node-lease", "default"] {
        refused(
            &k(&["--namespace", ns]),
            &["--namespace", ns, "keeps for itself"],
        );
    }
    for ns in ["no", "yes", "on", "null", "12345", "1e3", "0755"] {
        refused(
            &k(&["--namespace", ns]),
            &["--namespace", ns, "YAML reads it as"],
        );
    }
    refused(
        &k(&["--name", "9redis"]),
        &["--name \"9redis\"", "DNS-1035", "starting with a letter"],
    );
    refused(&k(&["--name", "true"]), &["--name", "YAML reads it as"]);
}
