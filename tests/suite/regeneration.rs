//! verify compares a folder with what its record and keys would generate. Every edit of
//! the table below (the ones that passed as "ok" when verify looked for known-bad lines,
//! and more) is found, with the file, the line, what the tool writes there, a class and
//! exit 1; harmless drift is a note with exit 0; every profile's fresh folder is clean,
//! and any single-line change to redis.conf or users.acl is found. The fixes printed
//! for the edits are followed and leave a clean folder with the first run's values.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::common::*;

struct Verdict {
    code: Option<i32>,
    findings: Vec<serde_json::Value>,
    text: String,
}

fn verify(dir: &Path) -> Verdict {
    let out = run(&["verify", dir.to_str().unwrap(), "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "verify --json: {e}\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    Verdict {
        code: out.status.code(),
        findings: json["findings"].as_array().unwrap().clone(),
        text: serde_json::to_string_pretty(&json).unwrap(),
    }
}

fn append(dir: &Path, file: &str, text: &str) {
    let path = dir.join(file);
    let mut body = fs::read_to_string(&path).unwrap();
    body.push_str(text);
    fs::write(path, body).unwrap();
}

fn replace(dir: &Path, file: &str, from: &str, to: &str) {
    let path = dir.join(file);
    let body = fs::read_to_string(&path).unwrap();
    assert!(body.contains(from), "{from:?} not in {file}:\n{body}");
    fs::write(path, body.replacen(from, to, 1)).unwrap();
}

/// A CA of someone else's, as PEM (certificate, key).
fn foreign_ca() -> (String, String) {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "Impostor CA");
    let cert = params.self_signed(&key).unwrap();
    (cert.pem(), key.serialize_pem())
}

type Edit = Box<dyn Fn(&Path)>;

/// (what, the edit, the subject the finding names, words of its message).
fn production_edits() -> Vec<(&'static str, Edit, &'static str, &'static str)> {
    let conf = |line: &'static str| -> Edit {
        Box::new(move |d: &Path| append(d, "redis.conf", &format!("{line}\n")))
    };
    let record = |from: &'static str, to: &'static str| -> Edit {
        Box::new(move |d: &Path| replace(d, "kimera-redis.toml", from, to))
    };
    vec![
        (
            "a module",
            conf("loadmodule /tmp/evil.so"),
            "redis.conf line",
            "weakens security: `loadmodule /tmp/evil.so`",
        ),
        (
            "replicaof",
            conf("replicaof 127.0.0.1 46900"),
            "redis.conf line",
            "weakens security: `replicaof",
        ),
        (
            "a unix socket",
            conf("unixsocket /tmp/r.sock\nunixsocketperm 777"),
            "redis.conf line",
            "`unixsocketperm 777`",
        ),
        (
            "another CA dir",
            conf("tls-ca-cert-dir /tmp"),
            "redis.conf line",
            "`tls-ca-cert-dir /tmp`",
        ),
        (
            "dir",
            conf("dir \"/tmp\""),
            "redis.conf line",
            "breaks the server or the app: `dir \"/tmp\"`",
        ),
        (
            "rename-command",
            conf("rename-command CONFIG \"\""),
            "redis.conf line",
            "`rename-command CONFIG \"\"`",
        ),
        (
            "cluster mode",
            conf("cluster-enabled yes"),
            "redis.conf line",
            "breaks the server or the app",
        ),
        (
            "null ciphers",
            conf("tls-ciphers \"aNULL:eNULL:NULL:RC4:DES\""),
            "redis.conf line",
            "weakens security: `tls-ciphers",
        ),
        (
            "dbfilename",
            conf("dbfilename ../../x"),
            "redis.conf line",
            "`dbfilename ../../x`",
        ),
        (
            "a changed port",
            Box::new(|d: &Path| {
                let conf = fs::read_to_string(d.join("redis.conf")).unwrap();
                let line = conf
                    .lines()
                    .find(|l| l.starts_with("tls-port "))
                    .unwrap()
                    .to_owned();
                replace(d, "redis.conf", &line, "tls-port 6399");
            }),
            "redis.conf line",
            "where kimera-redis-init writes `tls-port",
        ),
        (
            "a BOM",
            Box::new(|d: &Path| {
                let body = fs::read_to_string(d.join("redis.conf")).unwrap();
                fs::write(d.join("redis.conf"), format!("\u{feff}{body}")).unwrap();
            }),
            "redis.conf line 1",
            "which kimera-redis-init does not write",
        ),
        (
            "the default user on",
            Box::new(|d: &Path| {
                replace(
                    d,
                    "users.acl",
                    "user default off",
                    "user default on nopass ~* +@all",
                )
            }),
            "users.acl line",
            "weakens security",
        ),
        (
            "no client certificates",
            Box::new(|d: &Path| {
                replace(
                    d,
                    ".env",
                    "REDIS_CERT_REQS=required",
                    "REDIS_CERT_REQS=none",
                )
            }),
            ".env line",
            "where kimera-redis-init writes `REDIS_CERT_REQS=required`",
        ),
        (
            "a second CA",
            Box::new(|d: &Path| append(d, "certs/ca.crt", &foreign_ca().0)),
            "certs/ca.crt",
            "holds a CA the folder does not pin (CN=Impostor CA",
        ),
        (
            "another CA key",
            Box::new(|d: &Path| fs::write(d.join("certs/ca.key"), foreign_ca().1).unwrap()),
            "certs/ca.key",
            "is not the key of the pinned CA",
        ),
        (
            "the record's host",
            record("host = \"localhost\"", "host = \"evil.example.com\""),
            "kimera-redis.toml",
            "evil.example.com",
        ),
        (
            "the record's port",
            Box::new(|d: &Path| {
                let text = fs::read_to_string(d.join("kimera-redis.toml")).unwrap();
                let line = text
                    .lines()
                    .find(|l| l.starts_with("port = "))
                    .unwrap()
                    .to_owned();
                replace(d, "kimera-redis.toml", &line, "port = 6390");
            }),
            "kimera-redis.toml",
            "nodes[0].port = 6390, but every file of the folder says",
        ),
        (
            "the record's user",
            record("username = \"kimera_user\"", "username = \"evil\""),
            "kimera-redis.toml",
            "username = \"evil\"",
        ),
        (
            "the record's db",
            record("db = 0", "db = 5"),
            "kimera-redis.toml",
            "db = 5",
        ),
        (
            "the record's image",
            record("image = \"redis:7.4\"", "image = \"evil.example/redis:1\""),
            "kimera-redis.toml",
            "image = \"evil.example/redis:1\"",
        ),
        (
            "the record's profile",
            record(
                "profile = \"production-tls\"",
                "profile = \"high-performance\"",
            ),
            "kimera-redis.toml",
            "profile high-performance",
        ),
        (
            "the record's key type",
            record("key_type = \"ecdsa-p256\"", "key_type = \"rsa-4096\""),
            "kimera-redis.toml",
            "has an ECDSA P-256 key",
        ),
        (
            "a huge CA validity",
            record("ca_days = 3650", "ca_days = 4294967295"),
            "kimera-redis.toml",
            "--ca-days 4294967295",
        ),
        (
            "no CA validity",
            record("ca_days = 3650", "ca_days = 0"),
            "kimera-redis.toml",
            "--ca-days 0",
        ),
        (
            "TLS off in the record",
            record("tls = true", "tls = false"),
            "kimera-redis.toml",
            "tls = false",
        ),
        (
            "TLS off without a record",
            Box::new(|d: &Path| {
                fs::remove_file(d.join("kimera-redis.toml")).unwrap();
                replace(d, ".env", "REDIS_SSL=true", "REDIS_SSL=false");
            }),
            ".env line",
            "`REDIS_SSL=false`, where kimera-redis-init writes `REDIS_SSL=true`",
        ),
    ]
}

#[test]
fn every_edit_is_found_with_its_line_class_and_what_the_tool_writes() {
    let tmp = tempdir();
    let edits = production_edits();
    for (i, (what, edit, subject, message)) in edits.iter().enumerate() {
        let dir = tmp.path().join(format!("e{i}"));
        generate_prod(&dir, &[]);
        edit(&dir);
        let v = verify(&dir);
        assert_eq!(v.code, Some(1), "{what}: verify did not fail\n{}", v.text);
        let found = v.findings.iter().any(|f| {
            f["subject"].as_str().unwrap().starts_with(subject)
                && f["message"].as_str().unwrap().contains(message)
                && f["severity"] == "error"
        });
        assert!(
            found,
            "{what}: no error on {subject} saying {message:?}\n{}",
            v.text
        );
        // Whatever the record says, no printed fix takes a value from a forged one.
        for f in &v.findings {
            let fix = f["fix"].as_str().unwrap();
            assert!(
                !fix.contains("evil"),
                "{what}: a fix built from the forged record: {fix}"
            );
        }
    }
    assert!(edits.len() >= 25);
}

#[test]
fn a_forged_record_never_panics_renew() {
    let tmp = tempdir();
    let dir = tmp.path().join("p");
    generate_prod(&dir, &[]);
    replace(
        &dir,
        "kimera-redis.toml",
        "ca_days = 3650",
        "ca_days = 4294967295",
    );
    let out = run(&["renew", dir.to_str().unwrap(), "--new-ca", "trust-both"]);
    assert_ne!(
        out.status.code(),
        Some(101),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--ca-days 4294967295"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn harmless_drift_is_a_note_and_verify_passes() {
    let tmp = tempdir();
    let dir = tmp.path().join("p");
    generate_prod(&dir, &[]);
    let conf = fs::read_to_string(dir.join("redis.conf")).unwrap();
    fs::write(
        dir.join("redis.conf"),
        conf.replace('\n', "\r\n") + "# my note\n",
    )
    .unwrap();
    replace(
        &dir,
        ".env",
        "REDIS_MAX_CONNECTIONS=50",
        "REDIS_MAX_CONNECTIONS=80",
    );
    let v = verify(&dir);
    assert_eq!(v.code, Some(0), "{}", v.text);
    let notes: Vec<&str> = v
        .findings
        .iter()
        .filter(|f| f["severity"] == "note")
        .map(|f| f["subject"].as_str().unwrap())
        .collect();
    assert!(notes.contains(&"redis.conf"), "{}", v.text);
    assert!(
        notes.iter().any(|s| s.starts_with(".env line")),
        "{}",
        v.text
    );
}

/// The setups of every profile, with the options that add files.
fn setups(root: &Path) -> Vec<(String, PathBuf)> {
    let ports = free_cluster_ports(3);
    let nodes: String = ports
        .iter()
        .map(|p| format!("127.0.0.1:{p}"))
        .collect::<Vec<_>>()
        .join(",");
    let cases: Vec<Vec<String>> = vec![
        vec!["--profile", "local-dev"],
        vec![
            "--profile",
            "production-tls",
            "--host",
            "localhost",
            "--pkcs12",
            "--san",
            "extra.example",
        ],
        vec![
            "--profile",
            "production-tls",
            "--kubernetes",
            "--namespace",
            "redis",
        ],
        vec!["--profile", "cluster", "--nodes", &nodes],
        vec![
            "--profile",
            "cluster",
            "--tls",
            "--nodes",
            "redis-a:7001,redis-b:7002,redis-c:7003,redis-d:7004,redis-e:7005,redis-f:7006",
            "--replicas",
            "1",
        ],
        vec![
            "--profile",
            "high-performance",
            "--io-threads",
            "4",
            "--maxmemory",
            "1gb",
        ],
        vec![
            "--profile",
            "high-performance",
            "--tls",
            "--key-type",
            "ed25519",
            "--days",
            "90",
        ],
    ]
    .into_iter()
    .map(|c| c.into_iter().map(String::from).collect())
    .collect();
    cases
        .into_iter()
        .enumerate()
        .map(|(i, mut args)| {
            let dir = root.join(format!("s{i}"));
            args.extend(["--out".into(), dir.display().to_string()]);
            generate(&args.iter().map(String::as_str).collect::<Vec<_>>());
            (args.join(" "), dir)
        })
        .collect()
}

/// redis.conf directives whose value is the server's tuning, not its safety or shape.
const TUNING: &[&str] = &[
    "maxclients",
    "maxmemory",
    "maxmemory-policy",
    "timeout",
    "tcp-keepalive",
    "tcp-backlog",
    "save",
    "appendfsync",
    "io-threads",
    "io-threads-do-reads",
    "lazyfree-lazy-eviction",
    "lazyfree-lazy-expire",
    "lazyfree-lazy-server-del",
    "lazyfree-lazy-user-del",
    "replica-lazy-flush",
    "hz",
    "loglevel",
];

#[test]
fn fresh_folders_of_every_profile_verify_clean_and_any_one_line_change_is_found() {
    let tmp = tempdir();
    for (args, dir) in setups(tmp.path()) {
        let v = verify(&dir);
        assert_eq!(v.code, Some(0), "{args}: {}", v.text);
        assert!(v.findings.is_empty(), "{args}: {}", v.text);
        let conf = if dir.join("redis.conf").exists() {
            "redis.conf".to_owned()
        } else {
            let node = fs::read_dir(dir.join("nodes"))
                .unwrap()
                .next()
                .unwrap()
                .unwrap();
            format!("nodes/{}/redis.conf", node.file_name().to_string_lossy())
        };
        let mut files = vec![conf];
        if dir.join("users.acl").exists() {
            files.push("users.acl".into());
        }
        for file in files {
            let path = dir.join(&file);
            let original = fs::read_to_string(&path).unwrap();
            let lines: Vec<&str> = original.lines().collect();
            for i in 0..lines.len() {
                for change in ["delete", "append"] {
                    let mut edited: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
                    if change == "delete" {
                        if lines[i].trim().is_empty() {
                            continue;
                        }
                        edited.remove(i);
                    } else {
                        edited[i].push_str(" x");
                    }
                    fs::write(&path, edited.join("\n") + "\n").unwrap();
                    let v = verify(&dir);
                    let named = v
                        .findings
                        .iter()
                        .any(|f| f["subject"].as_str().unwrap().starts_with(file.as_str()));
                    assert!(
                        named,
                        "{args}: {change} line {} of {file} ({:?}) not found\n{}",
                        i + 1,
                        lines[i],
                        v.text
                    );
                    // Only a comment or a tuning value may change without failing verify.
                    let comment = lines[i].trim_start().starts_with('#');
                    let directive = lines[i].split_whitespace().next().unwrap_or("");
                    let tuning = TUNING.contains(&directive)
                        && v.findings
                            .iter()
                            .all(|f| f["message"].as_str().unwrap().starts_with("harmless drift"));
                    if !comment && !tuning {
                        assert_eq!(
                            v.code,
                            Some(1),
                            "{args}: {change} line {} of {file} ({:?})\n{}",
                            i + 1,
                            lines[i],
                            v.text
                        );
                    }
                }
            }
            fs::write(&path, &original).unwrap();
        }
        assert_eq!(verify(&dir).code, Some(0), "{args}");
    }
}

#[test]
fn cluster_node_edits_are_found() {
    let tmp = tempdir();
    let nodes = "redis-a:7001,redis-b:7002,redis-c:7003";
    let edits: Vec<(&str, Edit, &str)> = vec![
        (
            "cluster off on one node",
            Box::new(|d: &Path| {
                replace(
                    d,
                    "nodes/redis-b-7002/redis.conf",
                    "cluster-enabled yes",
                    "cluster-enabled no",
                )
            }),
            "nodes/redis-b-7002/redis.conf line",
        ),
        (
            "one node's config file pointing at another's",
            Box::new(|d: &Path| {
                let conf = fs::read_to_string(d.join("nodes/redis-c-7003/redis.conf")).unwrap();
                let line = conf
                    .lines()
                    .find(|l| l.starts_with("cluster-config-file"))
                    .unwrap()
                    .to_owned();
                replace(
                    d,
                    "nodes/redis-c-7003/redis.conf",
                    &line,
                    &line.replace("redis-c-7003", "redis-a-7001"),
                );
            }),
            "nodes/redis-c-7003/redis.conf line",
        ),
    ];
    for (i, (what, edit, subject)) in edits.iter().enumerate() {
        let dir = tmp.path().join(format!("c{i}"));
        generate(&[
            "--profile",
            "cluster",
            "--tls",
            "--nodes",
            nodes,
            "--out",
            dir.to_str().unwrap(),
        ]);
        assert!(
            dir.join("nodes/redis-b-7002/redis.conf").exists(),
            "node folder names changed"
        );
        edit(&dir);
        let v = verify(&dir);
        assert_eq!(v.code, Some(1), "{what}: {}", v.text);
        assert!(
            v.findings
                .iter()
                .any(|f| f["subject"].as_str().unwrap().starts_with(subject)
                    && f["message"]
                        .as_str()
                        .unwrap()
                        .starts_with("breaks the server or the app")),
            "{what}: {}",
            v.text
        );
    }
}

fn command_in(fix: &str) -> &str {
    let start = fix
        .find("run `")
        .unwrap_or_else(|| panic!("no command in: {fix}"))
        + 5;
    &fix[start..start + fix[start..].find('`').unwrap()]
}

#[test]
fn printed_fixes_keep_the_first_runs_names_image_key_type_and_validity() {
    let tmp = tempdir();
    let edits: Vec<(&str, Edit)> = vec![
        (
            "a module",
            Box::new(|d: &Path| append(d, "redis.conf", "loadmodule /tmp/evil.so\n")),
        ),
        (
            "a second CA",
            Box::new(|d: &Path| append(d, "certs/ca.crt", &foreign_ca().0)),
        ),
        (
            "a forged host",
            Box::new(|d: &Path| {
                replace(
                    d,
                    "kimera-redis.toml",
                    "host = \"localhost\"",
                    "host = \"evil.example.com\"",
                )
            }),
        ),
        (
            "a stale Secret",
            Box::new(|d: &Path| edit_secret(d, "kubernetes/secret-app.yaml", "REDIS_DB", "0", "1")),
        ),
        (
            "a loose Secret",
            Box::new(|d: &Path| {
                fs::set_permissions(
                    d.join("kubernetes/secret-app.yaml"),
                    fs::Permissions::from_mode(0o644),
                )
                .unwrap()
            }),
        ),
        (
            "a password file with a newline",
            Box::new(|d: &Path| append(d, "certs/pkcs12-password", "\n")),
        ),
        (
            "another CA key",
            Box::new(|d: &Path| fs::write(d.join("certs/ca.key"), foreign_ca().1).unwrap()),
        ),
        (
            "the CA key in the key store",
            Box::new(|d: &Path| {
                let password = fs::read_to_string(d.join("certs/pkcs12-password")).unwrap();
                let store = fs::read(d.join("certs/redis-client.p12")).unwrap();
                let ca_key =
                    rcgen::KeyPair::from_pem(&fs::read_to_string(d.join("certs/ca.key")).unwrap())
                        .unwrap();
                let edited = kimera_redis_init::testing::pkcs12::with_extra_key(
                    &store,
                    &password,
                    &ca_key.serialize_der(),
                )
                .unwrap();
                fs::write(d.join("certs/redis-client.p12"), edited).unwrap();
                let v = verify(d);
                assert!(
                    v.text
                        .contains("holds 2 private key(s) and 2 certificate(s)"),
                    "{}",
                    v.text
                );
            }),
        ),
    ];
    for (i, (what, edit)) in edits.iter().enumerate() {
        let dir = tmp.path().join(format!("f{i}"));
        generate_prod(
            &dir,
            &[
                "--san",
                "extra.example",
                "--image",
                "registry.example.com/redis:7.4",
                "--key-type",
                "ecdsa-p384",
                "--days",
                "90",
                "--pkcs12",
                "--kubernetes",
            ],
        );
        let before = fs::read_to_string(dir.join("docker-compose.yml")).unwrap();
        edit(&dir);
        for round in 0..3 {
            let v = verify(&dir);
            if v.code == Some(0) {
                break;
            }
            assert!(
                round < 2,
                "{what}: still failing after following its fixes\n{}",
                v.text
            );
            let fix = v.findings.iter().find(|f| f["severity"] != "note").unwrap()["fix"]
                .as_str()
                .unwrap()
                .to_owned();
            if let Some(chmod) = fix.strip_prefix("chmod ") {
                paste_ok(&format!("chmod {chmod}"));
            } else {
                paste_ok(command_in(&fix));
            }
        }
        let v = verify(&dir);
        assert_eq!(v.code, Some(0), "{what}: {}", v.text);
        assert!(v.findings.is_empty(), "{what}: {}", v.text);
        assert_eq!(
            fs::read_to_string(dir.join("docker-compose.yml")).unwrap(),
            before,
            "{what}"
        );
        let server = run(&[
            "inspect",
            dir.join("certs/redis-server.crt").to_str().unwrap(),
        ]);
        let text = String::from_utf8_lossy(&server.stdout);
        assert!(text.contains("extra.example"), "{what}: {text}");
        assert!(text.contains("ECDSA P-384"), "{what}: {text}");
        assert!(!text.contains("evil"), "{what}: {text}");
    }
}

#[test]
fn renew_and_every_ca_rollover_step_keep_the_kubernetes_secrets_in_step() {
    let tmp = tempdir();
    let dir = tmp.path().join("k");
    generate_prod(&dir, &["--kubernetes"]);
    let d = dir.to_str().unwrap();
    let secret = || fs::read_to_string(dir.join("kubernetes/secret-server-tls.yaml")).unwrap();
    let before = secret();
    let steps: [&[&str]; 4] = [
        &["renew", d],
        &["renew", d, "--new-ca", "trust-both"],
        &["renew", d, "--new-ca", "issue"],
        &["renew", d, "--new-ca", "drop-old"],
    ];
    for step in steps {
        let out = run(step);
        assert!(
            out.status.success(),
            "{step:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v = verify(&dir);
        assert_eq!(v.code, Some(0), "after {step:?}: {}", v.text);
        assert!(v.findings.is_empty(), "after {step:?}: {}", v.text);
    }
    assert_ne!(
        secret(),
        before,
        "the Secret still holds the first certificates"
    );
}

/// A finding shows the line that differs, never the password in it: not the one
/// generated, not the one an edit put there, in any format that holds one.
#[test]
fn findings_never_show_a_password() {
    let tmp = tempdir();
    let dir = tmp.path().join("s");
    generate_prod(&dir, &["--kubernetes"]);
    let app = read_env(&dir)["REDIS_PASSWORD"].clone();
    let (_, admin) = read_admin(&dir);
    let edited = "Edited0Password0Nobody0Should0See";
    replace(
        &dir,
        "redis.properties",
        &format!("redis.password={app}"),
        &format!("redis.password={edited}"),
    );
    replace(
        &dir,
        ".env",
        &format!("REDIS_PASSWORD={app}"),
        &format!("REDIS_PASSWORD={edited}"),
    );
    edit_secret(
        &dir,
        "kubernetes/secret-auth.yaml",
        "admin-password",
        &admin,
        edited,
    );
    edit_secret(
        &dir,
        "kubernetes/secret-app.yaml",
        "REDIS_URL",
        &format!(":{app}@"),
        &format!(":{edited}@"),
    );
    let v = verify(&dir);
    assert_eq!(v.code, Some(1), "{}", v.text);
    for secret in [app.as_str(), admin.as_str(), edited] {
        assert!(!v.text.contains(secret), "a password is shown:\n{}", v.text);
        // Nor as a Secret's data holds it.
        use base64::Engine;
        let encoded = base64::engine::general_purpose::STANDARD.encode(secret);
        assert!(
            !v.text.contains(&encoded),
            "a password is shown:\n{}",
            v.text
        );
    }
    assert!(v.text.contains("admin-password: <hidden>"), "{}", v.text);
    assert!(v.text.contains("REDIS_PASSWORD: <hidden>"), "{}", v.text);
}

/// renew writes the Kubernetes Secrets with the pinned CA only: a CA appended to
/// certs/ca.crt never reaches the manifests that would be applied to a cluster.
#[test]
fn renew_never_puts_an_appended_ca_into_the_secrets() {
    let tmp = tempdir();
    let dir = tmp.path().join("k");
    let port = generate_prod(&dir, &["--kubernetes"]);
    let (foreign, _) = foreign_ca();
    append(&dir, "certs/ca.crt", &foreign);
    let body: String = foreign
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    let clean = |after: &str| {
        for entry in fs::read_dir(dir.join("kubernetes")).unwrap() {
            let text = decoded_text(&entry.unwrap().path());
            let flat: String = text.split_whitespace().collect();
            assert!(
                !flat.contains(&body[..60]),
                "after {after}: the appended CA is in a manifest"
            );
        }
    };
    let out = run(&["renew", dir.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    clean("renew");
    // generate --force renders the Secrets from the folder's CA: the first certificate.
    let mut args = prod_args(&dir, port);
    args.extend(["--kubernetes".into(), "--force".into()]);
    generate(&args.iter().map(String::as_str).collect::<Vec<_>>());
    clean("generate --force");
}
