//! The servers people run: each setup generated with `--server` and `--server-version`
//! for Redis 7.0 and 8.0 and Valkey 8.1 and 9.1 runs unchanged on that server, from an
//! image that holds only its own Debian package and tools (scripts/server-images.sh):
//! no warning about the generated config in its log, the app (redis-py) connects from
//! `.env` and from `REDIS_URL`, verify, doctor and `renew --apply` pass, a TLS cluster
//! with replicas is formed by the generated script with that server's client, I/O
//! threads serve TLS wherever the server supports it, and local-dev and the plain
//! high-performance setup run as they are.

use std::fs;
use std::net::TcpStream;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::common::{BIN, admin_cli, generate, python_bin, run, tempdir};
use crate::engine::{app_on_host, docker, doctor_passes, engine, low_ports};

/// One server of the matrix, as scripts/server-images.sh names it (`valkey-9.1`).
struct Under {
    kind: String,
    version: String,
    image: String,
}

impl Under {
    /// The server `label` names, from KIMERA_TEST_SERVERS; `None` (a skip) only outside
    /// CI, where a missing engine or image is a failure.
    fn find(label: &str) -> Option<Under> {
        engine()?;
        let list = std::env::var("KIMERA_TEST_SERVERS").unwrap_or_default();
        let image = list
            .split_whitespace()
            .find_map(|pair| pair.strip_prefix(label)?.strip_prefix('='));
        let Some(image) = image else {
            crate::common::skip(&format!("{label} is not in KIMERA_TEST_SERVERS ({list:?})"));
            return None;
        };
        let (kind, version) = label.split_once('-').expect("label is KIND-VERSION");
        Some(Under {
            kind: kind.to_owned(),
            version: version.to_owned(),
            image: image.to_owned(),
        })
    }

    fn program(&self) -> String {
        format!("{}-server", self.kind)
    }

    /// The flags that write a setup for this server and run it on its image.
    fn flags(&self) -> Vec<&str> {
        vec![
            "--server",
            &self.kind,
            "--server-version",
            &self.version,
            "--image",
            &self.image,
        ]
    }

    fn generate(&self, dir: &Path, args: &[&str]) {
        let mut all = vec!["--out", dir.to_str().unwrap()];
        all.extend_from_slice(args);
        all.extend(self.flags());
        generate(&all);
    }
}

/// A server started from a generated config in a container of its image: host
/// networking, the folder mounted at its own path (so the config's absolute paths hold
/// and renew's new files are seen), run as the files' owner. Removed when dropped.
struct Running {
    name: String,
}

impl Running {
    fn start(under: &Under, dir: &Path, conf: &Path, port: u16) -> Running {
        let meta = fs::metadata(dir).unwrap();
        let name = format!("kimera-srv-{}-{port}", std::process::id());
        let mount = format!("{0}:{0}", dir.display());
        let user = format!("{}:{}", meta.uid(), meta.gid());
        docker(&[
            "run",
            "-d",
            "--name",
            &name,
            "--network",
            "host",
            "--user",
            &user,
            "-v",
            &mount,
            &under.image,
            &under.program(),
            conf.to_str().unwrap(),
        ]);
        let running = Running { name };
        let deadline = Instant::now() + Duration::from_secs(20);
        while !running.log().contains("Ready to accept connections") {
            assert!(
                Instant::now() < deadline,
                "{} did not start within 20 s:\n{}",
                under.program(),
                running.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        assert!(TcpStream::connect(("127.0.0.1", port)).is_ok());
        running
    }

    fn log(&self) -> String {
        let out = Command::new("docker")
            .args(["logs", &self.name])
            .output()
            .expect("docker runs");
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = Command::new("docker")
            .args(["rm", "-f", &self.name])
            .output();
    }
}

/// The log's warnings, but the machine's own (memory overcommit is a kernel setting of
/// the host, not something a config can change).
fn config_warnings(log: &str) -> Vec<&str> {
    log.lines()
        .filter(|l| l.to_ascii_lowercase().contains("warning"))
        .filter(|l| !l.contains("overcommit"))
        .collect()
}

/// The server is the version the label promises (sid moves on: a new Valkey there
/// must be noticed, not passed off as 9.1), and it did not warn about the config.
fn runs_as_written(under: &Under, log: &str) {
    assert!(
        log.contains(&format!("version={}.", under.version)),
        "not {} {}:\n{log}",
        under.kind,
        under.version
    );
    let warnings = config_warnings(log);
    assert!(warnings.is_empty(), "warnings: {warnings:#?}\n{log}");
}

/// `verify DIR` passes: the folder is what its record generates.
fn verify_passes(dir: &Path) {
    let out = run(&["verify", dir.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "verify failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// redis-py from `REDIS_URL` alone (`redis.from_url`), as many apps configure it.
fn app_from_url(dir: &Path) -> String {
    let script = r#"
import sys
import redis
from dotenv import dotenv_values
r = redis.from_url(dotenv_values(sys.argv[1])["REDIS_URL"])
r.set("kimera:url", "ok")
print(r.get("kimera:url").decode(), r.dbsize())
"#;
    let out = Command::new(python_bin())
        .args(["-c", script, dir.join(".env").to_str().unwrap()])
        .output()
        .expect("python runs");
    assert!(
        out.status.success(),
        "redis.from_url(REDIS_URL) failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn production_tls(label: &str) {
    let Some(under) = Under::find(label) else {
        return;
    };
    let tmp = tempdir();
    let dir = tmp.path().join("p");
    let port = low_ports(1)[0].to_string();
    under.generate(
        &dir,
        &[
            "--profile",
            "production-tls",
            "--host",
            "localhost",
            "--port",
            &port,
        ],
    );
    let conf = fs::read_to_string(dir.join("redis.conf")).unwrap();
    assert!(conf.contains("\nappendonly yes\n"), "{conf}");
    let server = Running::start(&under, &dir, &dir.join("redis.conf"), port.parse().unwrap());
    runs_as_written(&under, &server.log());

    assert_eq!(app_on_host(&dir, "write").lines().last(), Some("found 200"));
    assert_eq!(app_from_url(&dir), "ok 201");
    assert!(
        dir.join("data/appendonlydir").is_dir(),
        "the server keeps no append-only file"
    );
    verify_passes(&dir);
    doctor_passes(&dir);

    let out = Command::new(BIN)
        .args(["renew", dir.to_str().unwrap(), "--apply"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "renew --apply failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    doctor_passes(&dir);
    verify_passes(&dir);
    assert_eq!(app_on_host(&dir, "read").lines().last(), Some("found 200"));
    let warnings = config_warnings(&server.log()).len();
    assert_eq!(warnings, 0, "{}", server.log());
}

/// A plain setup (`profile` with `extra` flags) on a loopback port: the server starts
/// without a warning, the app writes and reads its keys, verify and doctor pass.
fn plain(label: &str, profile: &str, extra: &[&str]) {
    let Some(under) = Under::find(label) else {
        return;
    };
    let tmp = tempdir();
    let dir = tmp.path().join("l");
    let port = low_ports(1)[0].to_string();
    let mut args = vec!["--profile", profile, "--host", "localhost", "--port", &port];
    args.extend_from_slice(extra);
    under.generate(&dir, &args);
    let server = Running::start(&under, &dir, &dir.join("redis.conf"), port.parse().unwrap());
    runs_as_written(&under, &server.log());
    assert_eq!(app_on_host(&dir, "write").lines().last(), Some("found 200"));
    verify_passes(&dir);
    doctor_passes(&dir);
}

fn tls_cluster_with_replicas(label: &str) {
    let Some(under) = Under::find(label) else {
        return;
    };
    let test = format!("srv{}", label.replace(['-', '.'], ""));
    let logs = crate::host_cluster_on(&under.image, &test, 6, "1", true, &under.flags()[..4]);
    // compose prefixes each line with its container's name; the one-shot service's own
    // output is the client's, not a server's.
    let servers = logs.lines().filter(|l| {
        l.split('|')
            .next()
            .is_some_and(|c| !c.contains("cluster-create"))
    });
    for node_log in servers {
        assert!(
            config_warnings(node_log).is_empty(),
            "a node warns: {node_log}"
        );
    }
    assert!(
        logs.contains(&format!("version={}.", under.version)),
        "{logs}"
    );
}

fn high_performance_tls(label: &str) {
    let Some(under) = Under::find(label) else {
        return;
    };
    let tmp = tempdir();
    let dir = tmp.path().join("h");
    let port = low_ports(1)[0].to_string();
    let mut args = vec![
        "--profile",
        "high-performance",
        "--host",
        "localhost",
        "--port",
        &port,
        "--tls",
        "--io-threads",
        "4",
        "--out",
        dir.to_str().unwrap(),
    ];
    args.extend(under.flags());
    let threads = if under.kind == "redis" && under.version.starts_with("7.") {
        // Redis 7 refuses to start with TLS and I/O threads: so does the tool, naming why.
        let out = run(&args);
        assert_eq!(out.status.code(), Some(2));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("--io-threads 4") && err.contains(&format!("Redis {}", under.version)),
            "{err}"
        );
        args.retain(|a| *a != "--io-threads" && *a != "4");
        "1"
    } else {
        "4"
    };
    generate(&args);
    let conf = fs::read_to_string(dir.join("redis.conf")).unwrap();
    assert!(!conf.contains("io-threads-do-reads"), "{conf}");
    let server = Running::start(&under, &dir, &dir.join("redis.conf"), port.parse().unwrap());
    runs_as_written(&under, &server.log());
    assert_eq!(app_on_host(&dir, "write").lines().last(), Some("found 200"));
    let got = admin_cli(
        &dir,
        "127.0.0.1",
        port.parse().unwrap(),
        &["config", "get", "io-threads"],
    );
    assert_eq!(got.lines().nth(1), Some(threads), "{got}");
    verify_passes(&dir);
    doctor_passes(&dir);
}

macro_rules! every_server {
    ($($name:ident => $label:literal),* $(,)?) => {
        $(mod $name {
            #[test]
            fn production_tls_runs_unchanged() {
                super::production_tls($label);
            }

            #[test]
            fn tls_cluster_with_replicas_forms_with_its_own_client() {
                super::tls_cluster_with_replicas($label);
            }

            #[test]
            fn local_dev_runs_unchanged() {
                super::plain($label, "local-dev", &[]);
            }

            #[test]
            fn high_performance_plain_with_io_threads_runs_unchanged() {
                super::plain($label, "high-performance", &["--io-threads", "2"]);
            }

            #[test]
            fn high_performance_tls_uses_io_threads_where_the_server_can() {
                super::high_performance_tls($label);
            }
        })*
    };
}

every_server! {
    redis_7_0 => "redis-7.0",
    redis_8_0 => "redis-8.0",
    valkey_8_1 => "valkey-8.1",
    valkey_9_1 => "valkey-9.1",
}
