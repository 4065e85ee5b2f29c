//! Re-runs start from the folder's record (`kimera-redis.toml`): the values a re-run
//! does not name are the first run's, so fewer flags reproduce the folder; named flags
//! still win, and a folder without a record runs as the flags say.

use std::fs;
use std::path::Path;
use std::process::Output;

use crate::common::*;

const RECORD: &str = "kimera-redis.toml";

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn first_run(dir: &Path) {
    generate(&[
        "--profile",
        "production-tls",
        "--host",
        "redis.example.com",
        "--san",
        "x.example",
        "--key-type",
        "rsa-2048",
        "--days",
        "90",
        "--username",
        "app_u",
        "--out",
        dir.to_str().unwrap(),
    ]);
}

#[test]
fn a_rerun_with_only_out_reproduces_the_folder_and_says_what_it_took() {
    let tmp = tempdir();
    let dir = tmp.path().join("p");
    first_run(&dir);
    let before = snapshot(&dir);
    let out = generate(&["--out", dir.to_str().unwrap()]);
    assert_eq!(snapshot(&dir), before, "the re-run changed the folder");
    let err = stderr(&out);
    let want = format!(
        "note: {}/{RECORD}: taking --profile production-tls --host redis.example.com --san \
         x.example --username app_u --key-type rsa-2048 --days 90 from the first run",
        dir.display()
    );
    assert_eq!(
        err.lines()
            .filter(|l| l.contains("from the first run"))
            .collect::<Vec<_>>(),
        [want.as_str()],
        "{err}"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!stdout.contains("differs"), "{stdout}");
    // A flag given takes nothing for itself, and a value equal to the profile's is not
    // mentioned: with --profile and --days named, the rest still comes from the record.
    let out = generate(&[
        "--profile",
        "production-tls",
        "--days",
        "90",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(snapshot(&dir), before);
    let err = stderr(&out);
    assert!(
        err.contains(
            "taking --host redis.example.com --san x.example --username app_u --key-type \
             rsa-2048 from the first run"
        ),
        "{err}"
    );
}

#[test]
fn a_named_flag_that_differs_is_refused_as_without_a_record() {
    let tmp = tempdir();
    let with = tmp.path().join("with");
    first_run(&with);
    let without = tmp.path().join("without");
    first_run(&without);
    fs::remove_file(without.join(RECORD)).unwrap();
    let refused = |dir: &Path| {
        let before = snapshot(dir);
        let out = run(&[
            "--profile",
            "production-tls",
            "--host",
            "other.example",
            "--san",
            "x.example",
            "--key-type",
            "rsa-2048",
            "--days",
            "90",
            "--username",
            "app_u",
            "--out",
            dir.to_str().unwrap(),
        ]);
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        assert_eq!(snapshot(dir), before, "a refused run changed the folder");
        stderr(&out).replace(dir.to_str().unwrap(), "DIR")
    };
    let with_record = refused(&with);
    assert_eq!(with_record, refused(&without));
    assert_eq!(
        with_record,
        "error: kept certificates do not have what this run asks for: \
         certs/redis-server.crt: does not name other.example; nothing was written; allowed: \
         the flags of the first run, or issue them again (the CA is kept) with: \
         kimera-redis-init --profile production-tls --out DIR --host other.example \
         --username app_u --san x.example --key-type rsa-2048 --days 90 --force\n"
    );
    // The printed command, pasted, issues the certificates that were asked for.
    let printed = with_record.trim_end().rsplit_once(" with: ").unwrap().1;
    paste_ok(&printed.replace("DIR", with.to_str().unwrap()));
    let cert = fs::read_to_string(with.join("certs/redis-server.crt")).unwrap();
    let text = openssl_text(&cert);
    assert!(text.contains("DNS:other.example"), "{text}");
    assert!(text.contains("DNS:x.example"), "{text}");
}

#[test]
fn a_profile_file_runs_refusal_names_its_file_and_following_it_works() {
    let tmp = tempdir();
    let profile = tmp.path().join("my profile.toml");
    fs::write(
        &profile,
        "base = \"production-tls\"\nhost = \"staging.example\"\n",
    )
    .unwrap();
    let dir = tmp.path().join("p");
    let (file, out) = (profile.to_str().unwrap(), dir.to_str().unwrap());
    generate(&["--profile-file", file, "--out", out]);
    let refused = run(&["--profile-file", file, "--san", "new.example", "--out", out]);
    assert_eq!(refused.status.code(), Some(2), "{}", stderr(&refused));
    let text = stderr(&refused);
    let printed = text.trim_end().rsplit_once(" with: ").unwrap().1;
    assert!(
        printed.starts_with(&format!("kimera-redis-init --profile-file '{file}' --out ")),
        "{printed}"
    );
    paste_ok(printed);
    let cert = fs::read_to_string(dir.join("certs/redis-server.crt")).unwrap();
    assert!(openssl_text(&cert).contains("DNS:new.example"));
}

#[test]
fn a_folder_without_a_record_takes_nothing() {
    let tmp = tempdir();
    let dir = tmp.path().join("p");
    first_run(&dir);
    fs::remove_file(dir.join(RECORD)).unwrap();
    let before = snapshot(&dir);
    let out = run(&["--out", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out),
        "error: --profile is required (or --profile-file); see `kimera-redis-init profiles`\n"
    );
    let out = run(&[
        "--profile",
        "production-tls",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(!err.contains("taking"), "{err}");
    assert!(
        err.contains("certs/redis-server.crt: does not name redis.production.com"),
        "{err}"
    );
    assert_eq!(snapshot(&dir), before);
}

#[test]
fn a_cluster_rerun_with_only_out_reproduces_it() {
    let tmp = tempdir();
    let dir = tmp.path().join("c");
    let nodes =
        "127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003,127.0.0.1:7004,127.0.0.1:7005,127.0.0.1:7006";
    generate(&[
        "--profile",
        "cluster",
        "--nodes",
        nodes,
        "--replicas",
        "1",
        "--tls",
        "--key-type",
        "ed25519",
        "--out",
        dir.to_str().unwrap(),
    ]);
    let before = snapshot(&dir);
    let out = generate(&["--out", dir.to_str().unwrap()]);
    assert_eq!(snapshot(&dir), before, "the re-run changed the folder");
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "taking --profile cluster --nodes {nodes} --replicas 1 --tls --key-type ed25519 \
             from the first run"
        )),
        "{err}"
    );
}

/// `--force` rewrites from the flags given: a SAN or a maxmemory of the first run can be
/// dropped (the record would otherwise put them back), and the note says so.
#[test]
fn force_rewrites_from_the_flags_given_not_from_the_record() {
    let tmp = tempdir();
    let dir = tmp.path().join("p");
    let d = dir.to_str().unwrap();
    let first = generate(&[
        "--profile",
        "production-tls",
        "--san",
        "old.example.com",
        "--maxmemory",
        "2gb",
        "--out",
        d,
    ]);
    assert!(first.status.success(), "{}", stderr(&first));
    let out = generate(&["--profile", "production-tls", "--out", d, "--force"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!(
            "note: --force rewrites from the flags given; the first run's in {d}/{RECORD} are not taken"
        )),
        "{}",
        stderr(&out)
    );
    assert!(!stderr(&out).contains("taking"), "{}", stderr(&out));
    let cert = fs::read_to_string(dir.join("certs/redis-server.crt")).unwrap();
    let names = openssl_text(&cert);
    assert!(!names.contains("old.example.com"), "{names}");
    let conf = fs::read_to_string(dir.join("redis.conf")).unwrap();
    assert!(!conf.contains("maxmemory 2gb"), "{conf}");
    let record = fs::read_to_string(dir.join(RECORD)).unwrap();
    assert!(!record.contains("old.example.com"), "{record}");
}

/// The certificate's text as `openssl x509 -text` prints it (its SANs among it).
fn openssl_text(pem: &str) -> String {
    let mut child = std::process::Command::new("openssl")
        .args(["x509", "-noout", "-text"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("openssl runs");
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(pem.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A record this version cannot read is not used, and the user is told why.
#[test]
fn an_unreadable_record_is_named_not_silently_ignored() {
    let tmp = tempdir();
    let dir = tmp.path().join("p");
    first_run(&dir);
    let path = dir.join(RECORD);
    let text = fs::read_to_string(&path).unwrap();
    fs::write(&path, text.replace("format = 1", "format = 2")).unwrap();
    let before = snapshot(&dir);
    let out = run(&[
        "--profile",
        "production-tls",
        "--out",
        dir.to_str().unwrap(),
    ]);
    let err = stderr(&out);
    assert!(
        err.starts_with(&format!("note: {}: cannot be read (", path.display())),
        "{err}"
    );
    assert!(err.contains("the first run's flags are not taken"), "{err}");
    // Run as the flags say: the kept certificate lacks the profile's host, refused as
    // before records existed.
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(snapshot(&dir), before);
}

/// `--force` without `--kubernetes` in a folder with manifests would leave the old
/// certificates in their Secrets: refused, nothing written; with `--kubernetes` it runs.
#[test]
fn force_without_kubernetes_is_refused_where_manifests_would_go_stale() {
    let tmp = tempdir();
    let dir = tmp.path().join("p");
    let d = dir.to_str().unwrap();
    let first = generate(&["--profile", "production-tls", "--kubernetes", "--out", d]);
    assert!(first.status.success(), "{}", stderr(&first));
    let before = snapshot(&dir);
    let out = run(&["--profile", "production-tls", "--out", d, "--force"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!(
            "--force: {d}/kubernetes holds Kubernetes manifests with the certificates this run replaces"
        )),
        "{}",
        stderr(&out)
    );
    assert_eq!(snapshot(&dir), before, "a refused run changed the folder");
    let secret = fs::read(dir.join("kubernetes/secret-server-tls.yaml")).unwrap();
    let ok = generate(&[
        "--profile",
        "production-tls",
        "--kubernetes",
        "--out",
        d,
        "--force",
    ]);
    assert!(ok.status.success(), "{}", stderr(&ok));
    assert_ne!(
        fs::read(dir.join("kubernetes/secret-server-tls.yaml")).unwrap(),
        secret,
        "the Secret follows the new certificate"
    );
}

/// The library builder says everything it wants: a second `Setup` into the same folder
/// takes nothing from the first one's record.
#[test]
fn the_library_does_not_take_values_from_the_record() {
    let tmp = tempdir();
    let dir = tmp.path().join("p");
    kimera_redis_init::Setup::new("production-tls")
        .host("prod.example.com")
        .pkcs12(true)
        .write_to(&dir)
        .unwrap();
    let again = kimera_redis_init::Setup::new("production-tls")
        .force(true)
        .write_to(&dir)
        .unwrap();
    assert_ne!(again.env("REDIS_HOST"), "prod.example.com");
    let record = fs::read_to_string(dir.join(RECORD)).unwrap();
    assert!(record.contains("pkcs12 = false"), "{record}");
}

#[test]
fn the_server_and_persistence_are_recorded_kept_by_a_rerun_and_checked_by_verify() {
    let tmp = tempdir();
    let dir = tmp.path().join("v");
    let d = dir.to_str().unwrap();
    generate(&[
        "--profile",
        "production-tls",
        "--server",
        "valkey",
        "--server-version",
        "9.1",
        "--persistence",
        "rdb",
        "--out",
        d,
    ]);
    let record = fs::read_to_string(dir.join(RECORD)).unwrap();
    for line in [
        "server_kind = \"valkey\"",
        "server_version = \"9.1\"",
        "persistence = \"rdb\"",
        "image = \"valkey/valkey:9.1\"",
    ] {
        assert!(
            record.lines().any(|l| l == line),
            "{line} not in:\n{record}"
        );
    }
    let before = snapshot(&dir);
    let out = generate(&["--out", d]);
    assert_eq!(snapshot(&dir), before, "the re-run changed the folder");
    let err = stderr(&out);
    assert!(
        err.contains("--persistence rdb --server valkey --server-version 9.1 from the first run"),
        "{err}"
    );
    let verify = run(&["verify", d]);
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stdout)
    );

    // The default for production-tls is aof; a config that stops keeping the log is a
    // finding, not drift.
    let dir = tmp.path().join("p");
    let d = dir.to_str().unwrap();
    generate(&["--profile", "production-tls", "--out", d]);
    let conf = dir.join("redis.conf");
    let text = fs::read_to_string(&conf).unwrap();
    assert!(text.contains("\nappendonly yes\nappendfsync everysec\n"));
    fs::write(&conf, text.replace("appendonly yes", "appendonly no")).unwrap();
    let verify = run(&["verify", d]);
    assert_eq!(verify.status.code(), Some(1));
    let said = String::from_utf8_lossy(&verify.stdout);
    assert!(said.contains("appendonly"), "{said}");
}
