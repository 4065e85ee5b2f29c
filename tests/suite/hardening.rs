//! Bad profiles refused with file, line and column; the CA replaced only on request;
//! failed runs leave the folder as it was; secrets never printed.

use std::fs;

use crate::common::*;

fn refused_file(text: &str, expect: &[&str]) {
    let tmp = tempdir();
    let file = tmp.path().join("mine.toml");
    fs::write(&file, text).unwrap();
    let out_dir = tmp.path().join("out");
    let out = run(&[
        "--profile-file",
        file.to_str().unwrap(),
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{text:?}: {stderr}");
    for e in expect {
        assert!(stderr.contains(e), "{text:?}: error lacks {e:?}: {stderr}");
    }
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(!out_dir.exists());
}

#[test]
fn a_profile_file_overrides_a_built_in_one() {
    let tmp = tempdir();
    let file = tmp.path().join("staging.toml");
    fs::write(&file, "base = \"production-tls\"\nhost = \"localhost\"\nport = 16500\n[pool]\nmax_connections = 80\n[kimera]\nlog_level = \"DEBUG\"\n").unwrap();
    let dir = tmp.path().join("out");
    generate(&[
        "--profile-file",
        file.to_str().unwrap(),
        "--out",
        dir.to_str().unwrap(),
    ]);
    let env = read_env(&dir);
    assert_eq!(env["REDIS_PORT"], "16500");
    assert_eq!(env["REDIS_MAX_CONNECTIONS"], "80");
    assert_eq!(env["KIMERA_LOG_LEVEL"], "DEBUG");
    assert_eq!(env["REDIS_SSL"], "true", "not overridden: from the base");
    assert_eq!(
        env["REDIS_SOCKET_TIMEOUT"], "5.0",
        "not overridden: from the base"
    );
    assert!(
        fs::read_to_string(dir.join("redis.conf"))
            .unwrap()
            .contains("profile staging,")
    );
}

#[test]
fn profiles_show_prints_a_profile_that_reads_back_the_same() {
    let tmp = tempdir();
    for name in ["local-dev", "production-tls", "cluster", "high-performance"] {
        let shown = generate(&["profiles", "show", name]);
        let file = tmp.path().join(format!("{name}.toml"));
        fs::write(&file, &shown.stdout).unwrap();
        let a = generate(&[
            "--profile",
            name,
            "--out",
            "/tmp/kimera-same",
            "--dry-run",
            "--json",
        ]);
        let b = generate(&[
            "--profile-file",
            file.to_str().unwrap(),
            "--out",
            "/tmp/kimera-same",
            "--dry-run",
            "--json",
        ]);
        let strip = |o: &std::process::Output| {
            let mut v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
            // Certificates differ per run; the files and their modes must not.
            for f in v["files"].as_array_mut().unwrap() {
                f.as_object_mut().unwrap().remove("certificate");
            }
            v
        };
        assert_eq!(strip(&a), strip(&b), "{name}");
    }
}

#[test]
fn bad_profile_files_are_refused_with_file_line_and_column() {
    refused_file(
        "base = \"production-tls\"\nhosst = \"x\"\n",
        &["mine.toml:2:1:", "unknown field `hosst`"],
    );
    refused_file(
        "base = \"production-tls\"\n[pool]\nmax_connections = \"many\"\n",
        &["mine.toml:3:19:", "invalid type: string"],
    );
    refused_file(
        "base = \"production-tls\"\nport = 1.5\n",
        &["mine.toml:2:8:", "expected i64"],
    );
    refused_file(
        "base = \"nope\"\n",
        &["base = \"nope\"", "allowed: local-dev, production-tls"],
    );
    refused_file("base = \"production-tls\"\nhost = \n", &["mine.toml:2:"]);
    refused_file("host = \"x\"\n", &["mine.toml:", "missing field"]);
    refused_file(
        "base = \"production-tls\"\n[kimera]\nfeatures = \"{\\\"a\\\": \\\"it's\\\"}\"\n",
        &[
            "kimera.features",
            "without single quotes, backslashes or ${",
        ],
    );
    refused_file(
        "base = \"production-tls\"\n[kimera]\nfeatures = \"not json\"\n",
        &["kimera.features", "JSON object"],
    );
    refused_file(
        "base = \"production-tls\"\n[kimera]\nlog_level = \"LOUD\"\n",
        &["kimera.log_level \"LOUD\"", "DEBUG, INFO"],
    );
    refused_file(
        "base = \"production-tls\"\nport = 70000\n",
        &["profile field port 70000", "1 to 65535"],
    );
    refused_file(
        "base = \"production-tls\"\nusername = \"a b\"\n",
        &["profile field username", "A-Z a-z 0-9"],
    );
    refused_file(
        "base = \"high-performance\"\n[server]\npersistence = \"sometimes\"\n",
        &["server.persistence", "none, rdb, aof"],
    );
    refused_file(
        "base = \"cluster\"\nauth = false\n",
        &["profile field auth false", "cluster nodes"],
    );
    refused_file(
        "base = \"production-tls\"\nauth = false\n",
        &["profile field auth false", "TLS"],
    );
    refused_file(
        "base = \"cluster\"\ncluster_nodes = [\"a:1\", \"b:2\"]\n",
        &["cluster_nodes", "at least 3 masters"],
    );
}

#[test]
fn the_ca_is_replaced_only_with_force_and_replace_ca() {
    let tmp = tempdir();
    let dir = tmp.path().join("p");
    let d = dir.to_str().unwrap();
    generate(&["--profile", "production-tls", "--out", d]);
    let ca = fs::read(dir.join("certs/ca.crt")).unwrap();
    generate(&["--profile", "production-tls", "--out", d, "--force"]);
    assert_eq!(
        fs::read(dir.join("certs/ca.crt")).unwrap(),
        ca,
        "--force alone replaced the CA"
    );
    let out = run(&["--profile", "production-tls", "--out", d, "--replace-ca"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("add --force"));
    generate(&[
        "--profile",
        "production-tls",
        "--out",
        d,
        "--force",
        "--replace-ca",
    ]);
    assert_ne!(fs::read(dir.join("certs/ca.crt")).unwrap(), ca);
    let verify = generate(&["verify", d]);
    assert!(String::from_utf8_lossy(&verify.stdout).starts_with("ok:"));
}

#[test]
fn a_run_that_fails_part_way_leaves_the_folder_as_it_was() {
    let tmp = tempdir();
    let dir = tmp.path().join("p");
    let d = dir.to_str().unwrap();
    generate(&["--profile", "production-tls", "--out", d]);
    // A folder where a file must go: found before anything is written.
    fs::remove_file(dir.join("certs/redis-client.crt")).unwrap();
    fs::create_dir(dir.join("certs/redis-client.crt")).unwrap();
    let before = snapshot(&dir);
    for extra in [&[][..], &["--force"][..]] {
        let mut args = vec!["--profile", "production-tls", "--out", d];
        args.extend_from_slice(extra);
        let out = run(&args);
        assert_eq!(out.status.code(), Some(1), "{extra:?}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("is in the way"));
        assert_eq!(snapshot(&dir), before, "{extra:?} changed the folder");
    }
}

#[test]
fn a_full_disk_part_way_leaves_the_folder_as_it_was() {
    // A tiny tmpfs: the run runs out of space while staging its files.
    let tmp = tempdir();
    let mnt = tmp.path().join("small");
    fs::create_dir(&mnt).unwrap();
    let Some(_mounted) = Tmpfs::mount(&mnt, "size=24k") else {
        return;
    };
    let dir = mnt.join("p");
    fs::create_dir(&dir).unwrap();
    fs::write(dir.join("keep-me.txt"), "the user's own file").unwrap();
    // Fill most of the space so that the bundle cannot fit.
    fs::write(mnt.join("filler"), vec![0u8; 12 * 1024]).unwrap();
    let before = snapshot(&dir);
    let out = run(&["fixtures", "--out", dir.to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("No space left"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(snapshot(&dir), before, "a failed run left files behind");
}

#[test]
fn secrets_are_never_printed() {
    let tmp = tempdir();
    let dir = tmp.path().join("c");
    let d = dir.to_str().unwrap();
    let ports = free_cluster_ports(3);
    let nodes: Vec<String> = ports.iter().map(|p| format!("127.0.0.1:{p}")).collect();
    let mut outputs = Vec::new();
    let mut record = |args: &[&str]| {
        let o = run(args);
        outputs.push((
            args.join(" "),
            String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr),
        ));
    };
    record(&[
        "fixtures",
        "--profile",
        "cluster",
        "--tls",
        "--nodes",
        &nodes.join(","),
        "--out",
        d,
    ]);
    record(&[
        "--profile",
        "cluster",
        "--tls",
        "--nodes",
        &nodes.join(","),
        "--out",
        d,
        "--json",
    ]);
    record(&[
        "--profile",
        "cluster",
        "--tls",
        "--nodes",
        &nodes.join(","),
        "--out",
        d,
        "--dry-run",
        "--force",
    ]);
    record(&["verify", d]);
    record(&["inspect", d]);
    record(&["doctor", d]);
    record(&["renew", d]);
    let env = read_env(&dir);
    let (_, admin) = read_admin(&dir);
    let conf =
        fs::read_to_string(dir.join(format!("nodes/127.0.0.1-{}/redis.conf", ports[0]))).unwrap();
    let replica = conf
        .lines()
        .find_map(|l| l.strip_prefix("masterauth "))
        .unwrap()
        .trim_matches('"')
        .to_owned();
    let mut secrets = vec![env["REDIS_PASSWORD"].clone(), admin, replica];
    for key in [
        "certs/ca.key",
        "certs/redis-client.key",
        "fixtures/expired-client.key",
    ] {
        let pem = fs::read_to_string(dir.join(key)).unwrap();
        secrets.push(pem.lines().nth(1).unwrap().to_owned());
    }
    for (cmd, text) in &outputs {
        for s in &secrets {
            assert!(!text.contains(s.as_str()), "`{cmd}` printed a secret");
        }
    }
    // Generated files that are not secret holders do not hold them either.
    for file in ["docker-compose.yml", "cluster-create.sh"] {
        let text = fs::read_to_string(dir.join(file)).unwrap();
        for s in &secrets {
            assert!(!text.contains(s.as_str()), "{file} holds a secret");
        }
    }
    let script = fs::read_to_string(dir.join("cluster-create.sh")).unwrap();
    assert!(
        script.contains("REDISCLI_AUTH") && !script.contains(" -a ") && !script.contains("--pass")
    );
}
