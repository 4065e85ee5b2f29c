//! Profile parsing and rendering on arbitrary input. Whatever a profile file says, the
//! run either refuses it or renders files that parse back into exactly the directives,
//! ACL users, variables, keys and commands the templates write: no user text may add a
//! line, a word or a key of its own. Every rendered file is checked in its own format:
//! redis.conf, users.acl, .env, admin.env, redis.properties, docker-compose.yml, the shell
//! scripts, and every Kubernetes manifest (with the redis.conf and scripts they carry).
#![no_main]

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::process::{Command, Stdio};

use kimera_redis_init::testing::Kind;
use kimera_redis_init::testing::redisconf;
use libfuzzer_sys::fuzz_target;
use serde_norway::Value;

/// Every directive a generated redis.conf may contain.
const DIRECTIVES: &[&str] = &[
    "port", "tls-port", "tls-cert-file", "tls-key-file", "tls-ca-cert-file", "tls-auth-clients",
    "tls-protocols", "tls-replication", "tls-cluster", "bind", "protected-mode", "aclfile", "dir",
    "enable-debug-command", "enable-module-command", "cluster-enabled", "cluster-config-file",
    "cluster-node-timeout", "cluster-announce-ip", "cluster-announce-hostname",
    "cluster-preferred-endpoint-type", "masteruser", "masterauth", "maxclients", "tcp-backlog",
    "tcp-keepalive", "timeout", "save", "appendonly", "appendfsync", "databases",
    "tls-auto-reload-interval", "maxmemory", "maxmemory-policy",
    "lazyfree-lazy-eviction", "lazyfree-lazy-expire", "lazyfree-lazy-server-del",
    "lazyfree-lazy-user-del", "io-threads", "io-threads-do-reads", "include",
];

/// redis.properties: each key and the `.env` variable holding the same value.
const PROPERTIES: &[(&str, &str)] = &[
    ("redis.host", "REDIS_HOST"), ("redis.port", "REDIS_PORT"),
    ("redis.username", "REDIS_USERNAME"), ("redis.ssl", "REDIS_SSL"),
    ("redis.ca_path", "REDIS_CA_PATH"), ("redis.ssl_keyfile", "REDIS_SSL_KEYFILE"),
    ("redis.ssl_certfile", "REDIS_SSL_CERTFILE"), ("redis.cert_reqs", "REDIS_CERT_REQS"),
    ("redis.ca_certs", "REDIS_CA_CERTS"), ("redis.cluster_mode", "REDIS_CLUSTER_MODE"),
    ("redis.password", "REDIS_PASSWORD"), ("redis.url", "REDIS_URL"),
];

fn check_conf(path: &str, body: &str) {
    for (name, args) in redisconf::parse(body) {
        assert!(DIRECTIVES.contains(&name.as_str()), "{path}: unexpected directive {name} {args:?}");
    }
    let ports = body.lines().filter(|l| l.starts_with("port ") || l.starts_with("tls-port ")).count();
    assert_eq!(ports, if body.contains("\ntls-port ") { 2 } else { 1 }, "{path}");
}

fn dotenv(path: &str, body: &str) -> BTreeMap<String, String> {
    dotenvy::from_read_iter(body.as_bytes())
        .collect::<Result<_, _>>()
        .unwrap_or_else(|err| panic!("{path} does not parse: {err}\n{body}"))
}

/// A `.properties` file as java.util.Properties reads it (key = value, `\` escapes,
/// `\uXXXX`); no line may continue onto the next.
fn properties(body: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for line in body.lines() {
        if line.is_empty() || line.starts_with(['#', '!']) {
            continue;
        }
        let trailing = line.len() - line.trim_end_matches('\\').len();
        assert!(trailing % 2 == 0, "a line continues: {line}");
        let (mut key, mut value, mut units) = (String::new(), String::new(), Vec::<u16>::new());
        let mut in_key = true;
        let mut chars = line.chars();
        while let Some(c) = chars.next() {
            let c = match c {
                '\\' => match chars.next().expect("escape at the end") {
                    'u' => {
                        let hex: String = chars.by_ref().take(4).collect();
                        units.push(u16::from_str_radix(&hex, 16).expect("\\u and 4 hex digits"));
                        continue;
                    }
                    'n' => '\n',
                    't' => '\t',
                    'r' => '\r',
                    other => other,
                },
                '=' | ':' if in_key => {
                    key.push_str(&String::from_utf16(&units).expect("UTF-16 pairs"));
                    units.clear();
                    in_key = false;
                    continue;
                }
                c => c,
            };
            let target = if in_key { &mut key } else { &mut value };
            target.push_str(&String::from_utf16(&units).expect("UTF-16 pairs"));
            units.clear();
            target.push(c);
        }
        let target = if in_key { &mut key } else { &mut value };
        target.push_str(&String::from_utf16(&units).expect("UTF-16 pairs"));
        assert!(out.insert(key, value).is_none(), "a key twice: {body}");
    }
    out
}

/// POSIX shell syntax, as the container images' sh checks it.
fn check_sh(path: &str, body: &str) {
    let mut child = Command::new("sh")
        .arg("-n")
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("sh runs");
    child.stdin.take().unwrap().write_all(body.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{path}: {}\n{body}", String::from_utf8_lossy(&out.stderr));
}

/// A line's shell words where they use only the quoting the templates write: bare,
/// '...' and "..." with backslash escapes. None for anything else.
fn sh_words(line: &str) -> Option<Vec<String>> {
    let (mut words, mut word, mut any) = (Vec::new(), String::new(), false);
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            ' ' if any => {
                words.push(std::mem::take(&mut word));
                any = false;
            }
            ' ' => {}
            '\'' => {
                any = true;
                loop {
                    match chars.next()? {
                        '\'' => break,
                        c => word.push(c),
                    }
                }
            }
            '"' => {
                any = true;
                loop {
                    match chars.next()? {
                        '"' => break,
                        '\\' => word.push(chars.next()?),
                        '$' | '`' => return None,
                        c => word.push(c),
                    }
                }
            }
            '\\' | ';' | '&' | '|' | '<' | '>' | '(' | ')' | '$' | '`' | '*' | '?' | '[' | '#' => {
                return None;
            }
            c => {
                any = true;
                word.push(c);
            }
        }
    }
    if any {
        words.push(word);
    }
    Some(words)
}

fn yaml(path: &str, body: &str) -> Value {
    serde_norway::from_str(body).unwrap_or_else(|err| panic!("{path}: {err}\n{body}"))
}

fn str_at<'a>(v: &'a Value, keys: &[&str]) -> Option<&'a str> {
    keys.iter().try_fold(v, |v, k| v.get(*k))?.as_str()
}

/// A Secret's value: `data.KEY`, base64 as every generated Secret writes it (never
/// stringData), decoded; a value that is not base64 of UTF-8 fails the run.
fn secret_at(doc: &Value, key: &str) -> Option<String> {
    use base64::Engine;
    assert!(doc.get("stringData").is_none(), "a Secret with stringData");
    let b64 = str_at(doc, &["data", key])?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap_or_else(|e| panic!("data.{key} is not base64: {e}"));
    Some(String::from_utf8(bytes).unwrap_or_else(|e| panic!("data.{key}: {e}")))
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(entries) = kimera_redis_init::testing::render_profile_text(text) else { return };
    let file = |p: &str| {
        entries.iter().find(|e| e.path == p).map(|e| String::from_utf8_lossy(&e.contents).into_owned())
    };
    let env = dotenv(".env", &file(".env").expect(".env is always written"));
    assert_eq!(env.len(), 25, "{env:?}");
    assert!(env.keys().all(|k| k.starts_with("REDIS_") || k.starts_with("KIMERA_")));
    let acl = file("users.acl");
    let admin_password = file("admin.env")
        .and_then(|body| dotenv("admin.env", &body).remove("REDIS_ADMIN_PASSWORD"));
    let k8s_files: BTreeSet<String> = entries
        .iter()
        .filter_map(|e| e.path.strip_prefix("kubernetes/"))
        .filter(|p| *p != "kustomization.yaml")
        .map(str::to_owned)
        .collect();
    let mut checked = 0;
    for e in &entries {
        let body = String::from_utf8_lossy(&e.contents);
        let path = e.path.as_str();
        if e.kind == Kind::Dir {
            assert!(e.contents.is_empty());
            continue;
        }
        checked += 1;
        if path.ends_with(".crt") || path.ends_with(".key") {
            assert!(body.starts_with("-----BEGIN "), "{path}");
        } else if path.ends_with("redis.conf") {
            check_conf(path, &body);
        } else if path == "users.acl" {
            let users: Vec<&str> = body.lines().map(|l| l.split(' ').nth(1).unwrap_or("")).collect();
            assert!(body.lines().all(|l| l.starts_with("user ")), "{body}");
            assert!(users.len() == 3 || users.len() == 4, "{body}");
            assert_eq!(users[0], "default");
        } else if path == ".env" {
            // Checked above.
        } else if path == "admin.env" {
            let vars = dotenv(path, &body);
            let keys: Vec<&str> = vars.keys().map(String::as_str).collect();
            assert_eq!(keys, ["REDIS_ADMIN_PASSWORD", "REDIS_ADMIN_USERNAME"], "{body}");
        } else if path == "redis.properties" {
            let props = properties(&body);
            assert_eq!(props.len(), PROPERTIES.len(), "{body}");
            for (key, var) in PROPERTIES {
                assert_eq!(props.get(*key), env.get(*var), "{key} and {var} differ:\n{body}");
            }
        } else if path == "docker-compose.yml" {
            let doc = yaml(path, &body);
            let services = doc.get("services").and_then(Value::as_mapping).expect("services");
            assert!(!services.is_empty());
            for (name, s) in services {
                assert!(name.as_str().is_some(), "a service name that is not a string: {name:?}");
                assert!(str_at(s, &["image"]).is_some(), "{body}");
            }
        } else if path == "cluster-create.sh" || path == "node-start.sh" {
            check_sh(path, &body);
            // Each node is waited for with exactly one host and one port.
            for line in body.lines().filter(|l| l.starts_with("retry node_")) {
                let words = sh_words(line).unwrap_or_else(|| panic!("{path}: {line}"));
                assert_eq!(words.len(), 4, "{path}: {line}");
                assert!(words[3].parse::<u16>().is_ok(), "{path}: {line}");
            }
        } else if let Some(name) = path.strip_prefix("kubernetes/") {
            let doc = yaml(path, &body);
            if name == "kustomization.yaml" {
                let listed: BTreeSet<String> = doc["resources"]
                    .as_sequence()
                    .expect("resources")
                    .iter()
                    .map(|r| r.as_str().expect("a file name").to_owned())
                    .collect();
                assert_eq!(listed, k8s_files);
                continue;
            }
            assert!(str_at(&doc, &["kind"]).is_some() && str_at(&doc, &["apiVersion"]).is_some(), "{body}");
            match name {
                "configmap.yaml" => {
                    let conf = str_at(&doc, &["data", "redis.conf"]).expect("redis.conf");
                    check_conf("configmap redis.conf", conf);
                    for script in ["start.sh", "cluster-create.sh", "reload.sh"] {
                        if let Some(s) = str_at(&doc, &["data", script]) {
                            check_sh(script, s);
                        }
                    }
                }
                "secret-auth.yaml" => {
                    assert_eq!(secret_at(&doc, "users.acl"), acl);
                    if let Some(r) = secret_at(&doc, "replication.conf") {
                        let lines = redisconf::parse(&r);
                        assert!(lines.len() == 1 && lines[0].0 == "masterauth", "{r}");
                    }
                }
                "secret-app.yaml" => {
                    let data = doc["data"].as_mapping().expect("data");
                    let keys: BTreeSet<&str> = data.keys().map(|k| k.as_str().expect("a name")).collect();
                    assert_eq!(keys, env.keys().map(String::as_str).collect(), "{body}");
                    for key in &keys {
                        assert!(secret_at(&doc, key).is_some(), "{body}");
                    }
                    for same in ["REDIS_USERNAME", "REDIS_PASSWORD", "KIMERA_FEATURES", "KIMERA_LOG_LEVEL"] {
                        assert_eq!(secret_at(&doc, same).as_deref(), env.get(same).map(String::as_str));
                    }
                }
                _ => {}
            }
        } else if path == "kimera-redis.toml" {
            // The folder's record: TOML, and secret-free (no password of .env or admin.env).
            let record: toml::Table = body.parse().unwrap_or_else(|e| panic!("{e}\n{body}"));
            assert!(record.get("profile").and_then(|p| p.as_str()).is_some(), "{body}");
            assert!(!body.contains("PRIVATE KEY"), "{body}");
            for secret in [env.get("REDIS_PASSWORD"), admin_password.as_ref()].into_iter().flatten() {
                assert!(secret.is_empty() || !body.contains(secret.as_str()), "a password in the record:\n{body}");
            }
        } else if path.ends_with(".p12") {
        } else {
            panic!("{path}: a rendered file this target does not check");
        }
    }
    assert!(checked > 0);
});
