//! Property tests: arbitrary text pushed through every place where user text reaches a
//! file, and read back with the real parsers (redis-server, dotenvy, python-dotenv, a
//! YAML parser, docker-compose, sh). The value comes back unchanged, or it was refused.

use std::collections::HashMap;
use std::fs;
use std::process::Command;

use crate::common::*;
use kimera_redis_init::testing::escape;
use kimera_redis_init::testing::redisconf;
use proptest::prelude::*;

/// Text with the characters that break formats: quotes, `$`, `#`, backslashes, spaces,
/// newlines and other control bytes, and non-ASCII.
fn nasty() -> impl Strategy<Value = String> {
    let pieces = prop_oneof![
        Just("'".to_owned()),
        Just("\"".to_owned()),
        Just("$".to_owned()),
        Just("${HOME}".to_owned()),
        Just("#".to_owned()),
        Just("\\".to_owned()),
        Just(" ".to_owned()),
        Just("\n".to_owned()),
        Just("\t".to_owned()),
        Just("\r".to_owned()),
        Just("\u{0}".to_owned()),
        Just("é".to_owned()),
        Just("=".to_owned()),
        Just(":".to_owned()),
        Just("`".to_owned()),
        Just("%".to_owned()),
        "[a-zA-Z0-9._-]{1,4}",
        any::<char>().prop_map(String::from),
    ];
    prop::collection::vec(pieces, 0..8).prop_map(|v| v.concat())
}

/// The same without NUL, `/` (it names a path component) and nothing else removed.
fn nasty_path_component() -> impl Strategy<Value = String> {
    nasty()
        .prop_map(|s| s.replace(['\u{0}', '/'], ""))
        .prop_filter("non-empty, not . or ..", |s| {
            !s.is_empty() && s != "." && s != ".."
        })
}

/// `cases` cases, and no regression files written into the source tree.
fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

fn python_dotenv(text: &str) -> Option<HashMap<String, String>> {
    let out = Command::new(python_bin())
        .args(["-c", "import sys, json, io; from dotenv import dotenv_values; print(json.dumps(dotenv_values(stream=io.StringIO(sys.stdin.read()), interpolate=True)))"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .ok()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
            c.wait_with_output().ok()
        })?;
    out.status
        .success()
        .then(|| serde_json::from_slice(&out.stdout).unwrap())
}

fn have_python_dotenv() -> bool {
    let ok = Command::new(python_bin())
        .args(["-c", "import dotenv"])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        skip("python-dotenv is not installed (the half of this test that reads .env with it)");
    }
    ok
}

/// What a single-quoted `.env` value cannot carry for every reader: a single quote ends
/// it, python-dotenv reads backslash escapes in it, `${` is interpolated by some readers,
/// and a control character ends the line or is dropped.
fn env_hazard(v: &str) -> bool {
    v.contains('\'') || v.contains('\\') || v.contains("${") || v.chars().any(char::is_control)
}

/// The ACL users every setup generates for administration and replication (users.acl).
const GENERATED_USERS: [&str; 2] = ["kimera_admin", "kimera_replica"];

/// The one line a refused `--username` prints, by the rules it is checked against: 1 to 64
/// characters from A-Z a-z 0-9 _ - ., not `default`, not a generated user.
fn username_refusal(user: &str) -> Option<String> {
    let charset = |c: char| c.is_ascii_alphanumeric() || "_-.".contains(c);
    if user.is_empty() || user.len() > 64 || !user.chars().all(charset) {
        Some(format!(
            "error: --username {user:?}: allowed: 1 to 64 characters from A-Z a-z 0-9 _ - .\n"
        ))
    } else if user == "default" {
        Some("error: --username default: the default user is switched off in every generated setup; choose another name\n".to_owned())
    } else if GENERATED_USERS.contains(&user) {
        Some(format!(
            "error: --username {user}: that user is generated for administration or replication; choose another name\n"
        ))
    } else {
        None
    }
}

/// User names: mostly valid ones (which must work end to end), and some of every kind
/// of refusal: any printable ASCII, `default`, the generated users, too long.
fn usernames() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => "[A-Za-z0-9_.-]{1,12}",
        2 => "[ -~]{1,12}",
        1 => prop_oneof![
            Just("default".to_owned()),
            Just(GENERATED_USERS[0].to_owned()),
            Just(GENERATED_USERS[1].to_owned()),
            Just("a".repeat(65)),
            Just("a".repeat(64)),
        ],
    ]
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn env_values_read_back_unchanged_or_are_refused(v in nasty()) {
        match escape::env(&v) {
            Ok(enc) => {
                let text = format!("K={enc}\n");
                let parsed: Vec<(String, String)> = dotenvy::from_read_iter(text.as_bytes()).map(|r| r.unwrap()).collect();
                prop_assert_eq!(parsed, vec![("K".to_owned(), v.clone())], "{}", text);
            }
            Err(e) => {
                // Refused only for what no single-quoted `.env` value can carry, spelled
                // out here rather than asked of `escape` itself, and with its own message.
                prop_assert!(env_hazard(&v), "refused a value .env can carry: {:?}", v);
                prop_assert_eq!(e, format!("{v:?} cannot be written to .env safely"));
            }
        }
    }

    #[test]
    fn env_values_are_refused_only_for_a_hazard(v in nasty()) {
        prop_assert_eq!(escape::env(&v).is_err(), env_hazard(&v), "{:?}", v);
    }

    #[test]
    fn conf_values_split_back_unchanged(v in nasty()) {
        let line = format!("masteruser {}", escape::conf(&v));
        prop_assert!(!line.contains('\n'), "a value broke the line: {:?}", line);
        prop_assert_eq!(redisconf::parse(&line), vec![("masteruser".to_owned(), vec![v.clone()])]);
    }

    #[test]
    fn compose_values_read_back_as_yaml(v in nasty()) {
        let doc = format!("k: {}\n", escape::compose(&v));
        let parsed: serde_norway::Value = serde_norway::from_str(&doc).unwrap();
        // `$$` is Compose's own escape for `$`; YAML itself gives it back doubled.
        let want = v.replace('$', "$$");
        prop_assert_eq!(parsed["k"].as_str(), Some(want.as_str()));
    }
}

proptest! {
    #![proptest_config(config(48))]

    #[test]
    fn env_values_read_back_with_python_dotenv(v in nasty()) {
        if let Ok(enc) = escape::env(&v) {
            if let Some(parsed) = python_dotenv(&format!("K={enc}\n")) {
                prop_assert_eq!(parsed.get("K"), Some(&v));
            } else {
                prop_assert!(!have_python_dotenv(), "python-dotenv failed on {:?}", enc);
            }
        }
    }

    #[test]
    fn shell_words_come_back_unchanged(v in nasty().prop_map(|s| s.replace('\u{0}', ""))) {
        let out = Command::new("sh").arg("-c").arg(format!("printf %s {}", escape::sh(&v))).output().unwrap();
        prop_assert_eq!(String::from_utf8_lossy(&out.stdout), v.as_str());
    }

    #[test]
    fn redis_server_loads_conf_values_unchanged(v in nasty().prop_map(|s| s.replace('\u{0}', ""))) {
        if !have("redis-server") { return Ok(()); }
        let tmp = tempdir();
        let port = free_port();
        let conf = tmp.path().join("r.conf");
        fs::write(&conf, format!("port {port}\nbind 127.0.0.1\nsave \"\"\ndir {}\nmasteruser {}\n",
            escape::conf(tmp.path().to_str().unwrap()), escape::conf(&v))).unwrap();
        let _server = Server::start(&conf, port);
        let mut con = redis::Client::open(format!("redis://127.0.0.1:{port}")).unwrap().get_connection().unwrap();
        let got: Vec<Vec<u8>> = redis::cmd("CONFIG").arg("GET").arg("masteruser").query(&mut con).unwrap();
        prop_assert_eq!(&got[1], &v.as_bytes().to_vec());
    }
}

proptest! {
    #![proptest_config(config(24))]

    /// The output folder's name reaches redis.conf, .env, redis.properties, compose and
    /// shell lines: it is refused, or the whole setup works from it as generated.
    #[test]
    fn any_output_folder_name_works_or_is_refused(name in nasty_path_component()) {
        if !have("redis-server") { return Ok(()); }
        let tmp = tempdir();
        let dir = tmp.path().join(&name);
        let port = free_port();
        let out = run(&["--profile", "production-tls", "--host", "localhost", "--port", &port.to_string(), "--out", dir.to_str().unwrap()]);
        if env_hazard(dir.to_str().unwrap()) {
            let stderr = String::from_utf8_lossy(&out.stderr);
            prop_assert_eq!(out.status.code(), Some(2), "{:?} was not refused: {}", name, stderr);
            // One line naming the flag and what is allowed; the path is shown with its
            // control characters escaped, so it cannot forge a second line.
            prop_assert!(stderr.starts_with("error: --out "), "{}", stderr);
            prop_assert!(stderr.ends_with(": allowed: a UTF-8 path without control characters, single quotes, backslashes or ${ (.env readers cannot take them back unchanged)\n"), "{}", stderr);
            prop_assert!(!stderr.trim_end_matches('\n').chars().any(char::is_control), "{:?}", stderr);
            prop_assert!(!dir.exists());
            return Ok(());
        }
        prop_assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let env = read_env(&dir);
        let certfile = dir.join("certs/redis-client.crt");
        prop_assert_eq!(env["REDIS_SSL_CERTFILE"].as_str(), certfile.to_str().unwrap());
        let yaml: serde_norway::Value = serde_norway::from_str(&fs::read_to_string(dir.join("docker-compose.yml")).unwrap()).unwrap();
        let source = yaml["services"]["redis"]["volumes"][0]["source"].as_str().unwrap().replace("$$", "$");
        let conf = dir.join("redis.conf");
        prop_assert_eq!(source.as_str(), conf.to_str().unwrap());
        let _server = Server::start(&dir.join("redis.conf"), port);
        prop_assert_eq!(ping(&app_client(&env)).unwrap(), "PONG");
        let got = admin_cli(&dir, "127.0.0.1", port, &["config", "get", "dir"]);
        let data = dir.join("data");
        prop_assert_eq!(got.lines().nth(1), Some(data.to_str().unwrap()));
    }

    /// A user name is refused, or the ACL file loads and the app logs in with it.
    #[test]
    fn any_username_works_or_is_refused(user in usernames()) {
        if !have("redis-server") { return Ok(()); }
        let tmp = tempdir();
        let dir = tmp.path().join("u");
        let port = free_port();
        let out = run(&["--profile", "high-performance", "--host", "127.0.0.1", "--port", &port.to_string(), &format!("--username={user}"), "--out", dir.to_str().unwrap()]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        if let Some(refusal) = username_refusal(&user) {
            prop_assert_eq!(out.status.code(), Some(2), "{:?} was not refused: {}", user, stderr);
            prop_assert_eq!(stderr.as_ref(), refusal.as_str());
            prop_assert!(out.stdout.is_empty());
            prop_assert!(!dir.exists());
            return Ok(());
        }
        prop_assert!(out.status.success(), "{:?}: {}", user, stderr);
        let acl = fs::read_to_string(dir.join("users.acl")).unwrap();
        prop_assert_eq!(acl.lines().count(), 3, "{}", acl);
        let _server = Server::start(&dir.join("redis.conf"), port);
        let mut con = app_client(&read_env(&dir)).get_connection().unwrap();
        let who: String = redis::cmd("ACL").arg("WHOAMI").query(&mut con).unwrap();
        prop_assert_eq!(who, user);
    }

    /// KIMERA_FEATURES from a profile file: refused, or read back unchanged by dotenvy and
    /// python-dotenv (what the app's settings loader uses).
    #[test]
    fn any_features_value_reads_back_or_is_refused(v in nasty()) {
        let tmp = tempdir();
        let file = tmp.path().join("p.toml");
        let features = format!("{{\"flag\": {}}}", serde_json::Value::String(v.clone()));
        fs::write(&file, format!("base = \"local-dev\"\n[kimera]\nfeatures = {}\n", toml::Value::String(features.clone()))).unwrap();
        let dir = tmp.path().join("out");
        let out = run(&["--profile-file", file.to_str().unwrap(), "--out", dir.to_str().unwrap()]);
        if env_hazard(&features) {
            let stderr = String::from_utf8_lossy(&out.stderr);
            prop_assert_eq!(out.status.code(), Some(2), "{:?} was not refused: {}", features, stderr);
            prop_assert_eq!(stderr.as_ref(), format!("error: profile field kimera.features {features:?}: allowed: a JSON object on one line without single quotes, backslashes or ${{, such as {{\"redis_cache\": true}}\n"));
            prop_assert!(!dir.exists());
            return Ok(());
        }
        prop_assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        prop_assert_eq!(&read_env(&dir)["KIMERA_FEATURES"], &features);
        if let Some(py) = python_dotenv(&fs::read_to_string(dir.join(".env")).unwrap()) {
            prop_assert_eq!(py.get("KIMERA_FEATURES"), Some(&features));
        }
    }
}

/// Each kind of refused user name, whatever the random draw above picks: the exact line,
/// exit 2 and no folder; and the longest allowed name is accepted.
#[test]
fn username_edge_cases_are_refused_exactly() {
    let long = "a".repeat(65);
    let longest = "a".repeat(64);
    for user in [
        "",
        "a b",
        "é",
        "a'b",
        "default",
        GENERATED_USERS[0],
        GENERATED_USERS[1],
        &long,
        &longest,
        "x.y-z_0",
    ] {
        let tmp = tempdir();
        let dir = tmp.path().join("u");
        let out = run(&[
            "--profile",
            "high-performance",
            &format!("--username={user}"),
            "--out",
            dir.to_str().unwrap(),
        ]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        match username_refusal(user) {
            Some(refusal) => {
                assert_eq!(out.status.code(), Some(2), "{user:?}: {stderr}");
                assert_eq!(stderr, refusal, "{user:?}");
                assert!(out.stdout.is_empty(), "{user:?}");
                assert!(!dir.exists(), "{user:?}");
            }
            None => {
                assert!(out.status.success(), "{user:?}: {stderr}");
                assert!(
                    fs::read_to_string(dir.join("users.acl"))
                        .unwrap()
                        .contains(&format!("user {user} "))
                );
            }
        }
    }
}

#[test]
fn docker_compose_reads_escaped_values_back() {
    if !have("docker-compose") {
        return;
    }
    let tmp = tempdir();
    let values = [
        "plain",
        "with space",
        "dollar $HOME and ${PATH}",
        "quote \" and \\ back",
        "hash # and: colon",
        "é ünï",
        "$$double",
    ];
    let mut doc = String::from("services:\n  s:\n    image: busybox\n    environment:\n");
    for (i, v) in values.iter().enumerate() {
        doc.push_str(&format!("      K{i}: {}\n", escape::compose(v)));
    }
    fs::write(tmp.path().join("docker-compose.yml"), &doc).unwrap();
    let yaml: serde_norway::Value =
        serde_norway::from_str(&docker_compose(tmp.path(), &["config"])).unwrap();
    for (i, v) in values.iter().enumerate() {
        // `config` prints the file with `$` escaped again as `$$`, so that it stays valid.
        let got = yaml["services"]["s"]["environment"][format!("K{i}")]
            .as_str()
            .unwrap()
            .replace("$$", "$");
        assert_eq!(got, *v);
    }
}
