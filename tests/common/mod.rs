//! Shared test helpers: run the real binary, start a real redis-server on a free
//! loopback port (stopped by its PID when dropped, also on failure), and connect the
//! way the KIMERA app does, from `.env` only.
#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_kimera-redis-init");

/// Run the tool with `args`; returns the whole output.
pub fn run(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .output()
        .expect("the binary runs")
}

/// Run the tool and insist that it succeeds.
pub fn generate(args: &[&str]) -> Output {
    let out = run(args);
    assert!(
        out.status.success(),
        "kimera-redis-init {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// production-tls for localhost on `port` into `dir`: the flags most tests start from.
pub fn prod_args(dir: &Path, port: u16) -> Vec<String> {
    [
        "--profile",
        "production-tls",
        "--host",
        "localhost",
        "--port",
        &port.to_string(),
        "--out",
        dir.to_str().unwrap(),
    ]
    .map(String::from)
    .to_vec()
}

/// Generate production-tls for localhost on a free port into `dir` (plus `extra` flags);
/// returns the port.
pub fn generate_prod(dir: &Path, extra: &[&str]) -> u16 {
    let port = free_port();
    let mut args = prod_args(dir, port);
    args.extend(extra.iter().map(|a| a.to_string()));
    generate(&args.iter().map(String::as_str).collect::<Vec<_>>());
    port
}

/// Run Debian's docker-compose (a real Compose parser; no engine needed for `config`)
/// in `dir`; insists that it succeeds and returns its stdout.
pub fn docker_compose(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("docker-compose")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("docker-compose runs");
    assert!(
        out.status.success(),
        "docker-compose {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A test that cannot run on this machine says so as a skip, not as a pass: a line
/// `SKIPPED <test>: <reason>` written to the stderr handle itself (the harness captures
/// `eprintln!`, not that), which scripts/test.sh counts in its last line. Under CI=true a
/// skip is a failure: CI must prove the real thing.
pub fn skip(reason: &str) {
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "{reason}; under CI=true that is a failure (scripts/test.sh installs and starts what the tests need)"
    );
    skip_here(reason);
}

/// A skip CI allows too: what a machine may lack by design (an IPv6 loopback).
pub fn skip_here(reason: &str) {
    use std::io::Write;
    let test = std::thread::current().name().unwrap_or("a test").to_owned();
    let _ = std::io::stderr().write_all(format!("SKIPPED {test}: {reason}\n").as_bytes());
}

/// Whether a tool the tests need is installed; a skip otherwise (see `skip`).
pub fn have(tool: &str) -> bool {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .stdout(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !found {
        skip(&format!("{tool} is not installed"));
    }
    found
}

/// Whether redis-py, the KIMERA app's client, is importable; the same CI rule as `have`.
pub fn have_redis_py() -> bool {
    let found = Command::new(python_bin())
        .args(["-c", "import redis"])
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !found {
        skip("redis-py is not installed");
    }
    found
}

/// Generate a cluster of `n` nodes on `host` (free ports, bus ports free too) into `dir`,
/// plus `extra` flags, and start every node from its generated config.
pub fn start_cluster(dir: &Path, host: &str, n: usize, extra: &[&str]) -> Vec<Server> {
    let ports = free_cluster_ports(n);
    let nodes: Vec<String> = ports.iter().map(|p| format!("{host}:{p}")).collect();
    let nodes = nodes.join(",");
    let mut args = vec![
        "--profile",
        "cluster",
        "--nodes",
        &nodes,
        "--out",
        dir.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    generate(&args);
    ports
        .iter()
        .map(|p| {
            let name = format!("{host}-{p}");
            Server::start(&dir.join("nodes").join(name).join("redis.conf"), *p)
        })
        .collect()
}

/// Every file under `dir`: relative path -> (mode, bytes); of a server's `data/` folder
/// only the folder itself.
pub fn snapshot(dir: &Path) -> BTreeMap<String, (u32, Vec<u8>)> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            let meta = fs::symlink_metadata(&path).unwrap();
            let rel = path
                .strip_prefix(dir)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            if meta.is_dir() {
                // A server's data folder is the server's: a running one writes and renames
                // files there (its append-only file) whenever it likes. The tool only makes it.
                if path.file_name().is_none_or(|n| n != "data") {
                    stack.push(path);
                }
                out.insert(rel + "/", (meta.permissions().mode() & 0o7777, Vec::new()));
            } else {
                out.insert(
                    rel,
                    (meta.permissions().mode() & 0o7777, fs::read(&path).unwrap()),
                );
            }
        }
    }
    out
}

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// A free loopback port below the kernel's ephemeral range (32768 on Linux), so no
/// outgoing connection of another test can take it between the choice and the bind.
pub fn free_low_port() -> u16 {
    use std::sync::atomic::{AtomicU32, Ordering};
    // Each test binary starts at its own place (its PID), then walks the range.
    static NEXT: AtomicU32 = AtomicU32::new(u32::MAX);
    let _ = NEXT.compare_exchange(
        u32::MAX,
        std::process::id(),
        Ordering::SeqCst,
        Ordering::SeqCst,
    );
    for _ in 0..12000 {
        let port = 20000 + (NEXT.fetch_add(1, Ordering::SeqCst) % 12000) as u16;
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free loopback port in 20000..32000");
}

/// `n` distinct free ports whose cluster bus port (port + 10000) is free too.
pub fn free_cluster_ports(n: usize) -> Vec<u16> {
    let mut ports: Vec<u16> = Vec::new();
    let mut held = Vec::new();
    while ports.len() < n {
        let l = TcpListener::bind("127.0.0.1:0").expect("a free port");
        let p = l.local_addr().unwrap().port();
        if p > 55535 || ports.contains(&p) {
            continue;
        }
        // Held until all are chosen, so no port is picked twice.
        if let Ok(bus) = TcpListener::bind(("127.0.0.1", p + 10000)) {
            ports.push(p);
            held.push((l, bus));
        }
    }
    ports
}

/// The admin user's credentials from admin.env.
pub fn read_admin(dir: &Path) -> (String, String) {
    let m: HashMap<String, String> = dotenvy::from_path_iter(dir.join("admin.env"))
        .expect("admin.env exists")
        .map(|kv| kv.expect("admin.env parses"))
        .collect();
    (
        m["REDIS_ADMIN_USERNAME"].clone(),
        m["REDIS_ADMIN_PASSWORD"].clone(),
    )
}

/// redis-cli as the admin, over TLS when `.env` says so; the password via REDISCLI_AUTH.
pub fn admin_cli(dir: &Path, host: &str, port: u16, args: &[&str]) -> String {
    let env = read_env(dir);
    let (user, pass) = read_admin(dir);
    let mut cmd = Command::new("redis-cli");
    cmd.arg("-e");
    if env["REDIS_SSL"] == "true" {
        cmd.args([
            "--tls",
            "--cacert",
            &env["REDIS_CA_CERTS"],
            "--cert",
            &env["REDIS_SSL_CERTFILE"],
            "--key",
            &env["REDIS_SSL_KEYFILE"],
        ]);
    }
    let out = cmd
        .args(["--user", &user, "-h", host, "-p", &port.to_string()])
        .args(args)
        .env("REDISCLI_AUTH", pass)
        .output()
        .expect("redis-cli runs");
    assert!(
        out.status.success(),
        "redis-cli {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).replace('\r', "")
}

/// A tmpfs mounted on `at` (an existing folder of this test) with `options`, owned by
/// the user running the tests; unmounted when dropped, also on failure.
pub struct Tmpfs {
    at: PathBuf,
    sudo: bool,
}

impl Tmpfs {
    /// Mount it as root, or through `sudo -n` (no password prompt) as scripts/test.sh
    /// does. `None` when neither works: a skip that says why, and under CI=true a
    /// failure, since CI must run these tests.
    pub fn mount(at: &Path, options: &str) -> Option<Tmpfs> {
        use std::os::unix::fs::MetadataExt;
        let meta = fs::metadata(at).expect("the mount point exists");
        let options = format!("{options},uid={},gid={}", meta.uid(), meta.gid());
        let mut why = String::new();
        for sudo in [false, true] {
            let mut cmd = Command::new(if sudo { "sudo" } else { "mount" });
            if sudo {
                cmd.args(["-n", "mount"]);
            }
            match cmd
                .args(["-t", "tmpfs", "-o", &options, "tmpfs"])
                .arg(at)
                .output()
            {
                Ok(out) if out.status.success() => {
                    return Some(Tmpfs {
                        at: at.to_path_buf(),
                        sudo,
                    });
                }
                Ok(out) => why += String::from_utf8_lossy(&out.stderr).trim(),
                Err(e) => why += &format!("{}: {e}", if sudo { "sudo" } else { "mount" }),
            }
            why += "; ";
        }
        skip(&format!(
            "cannot mount a tmpfs (needs root or passwordless sudo): {why}"
        ));
        None
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let mut cmd = Command::new(if self.sudo { "sudo" } else { "umount" });
        if self.sudo {
            cmd.args(["-n", "umount"]);
        }
        let _ = cmd.arg(&self.at).status();
    }
}

pub fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("a temporary folder")
}

/// The `.env` a run wrote, parsed the way dotenv libraries do.
pub fn read_env(dir: &Path) -> HashMap<String, String> {
    dotenvy::from_path_iter(dir.join(".env"))
        .expect(".env exists")
        .map(|kv| kv.expect(".env parses"))
        .collect()
}

/// A redis-server started from a generated config; killed by PID when dropped.
pub struct Server {
    child: Child,
    pub port: u16,
    log: PathBuf,
}

impl Server {
    /// Start `redis-server CONF` and wait until it accepts TCP connections on `port`.
    pub fn start(conf: &Path, port: u16) -> Server {
        Self::start_with(conf, port, &[])
    }

    /// The same server config with another certificate and key, given on the command line.
    pub fn start_with_cert(conf: &Path, port: u16, cert: &Path, key: &Path) -> Server {
        let (cert, key) = (cert.to_str().unwrap(), key.to_str().unwrap());
        Self::start_with(
            conf,
            port,
            &["--tls-cert-file", cert, "--tls-key-file", key],
        )
    }

    /// The same with directives overridden on the command line, as `redis-server` allows.
    pub fn start_with(conf: &Path, port: u16, overrides: &[&str]) -> Server {
        let log = conf.with_extension(format!("{port}.log"));
        let out = fs::File::create(&log).expect("log file");
        let child = Command::new("redis-server")
            .arg(conf)
            .args(overrides)
            .stdout(out.try_clone().expect("log"))
            .stderr(out)
            .spawn()
            .expect("redis-server starts");
        let mut server = Server { child, port, log };
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = server.child.try_wait().expect("wait") {
                panic!("redis-server exited with {status}:\n{}", server.log());
            }
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return server;
            }
            assert!(
                Instant::now() < deadline,
                "redis-server did not listen:\n{}",
                server.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Wait until the server's log holds `needle` at least `times` times, and return the
    /// log. redis-server writes its log line a moment after the client has seen the
    /// outcome, so one read right after the action can miss it: poll up to a deadline.
    pub fn wait_for_log(&self, needle: &str, times: usize) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let log = self.log();
            if log.matches(needle).count() >= times {
                return log;
            }
            assert!(
                Instant::now() < deadline,
                "redis-server did not log {needle:?} {times} time(s) within 10 s:\n{log}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn install_crypto_provider() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
}

/// The client the app builds from `.env` alone: the URL from host, port, user, password
/// and db; over TLS the client certificate and the CA from the listed paths, with the
/// server's name checked against its certificate (rediss:// verifies by default).
pub fn app_client(env: &HashMap<String, String>) -> redis::Client {
    install_crypto_provider();
    let url = app_url(env);
    if env["REDIS_SSL"] == "true" {
        let read = |k: &str| fs::read(&env[k]).unwrap_or_else(|e| panic!("{k}={}: {e}", env[k]));
        let certs = redis::TlsCertificates {
            client_tls: Some(redis::ClientTlsConfig {
                client_cert: read("REDIS_SSL_CERTFILE"),
                client_key: read("REDIS_SSL_KEYFILE"),
            }),
            root_cert: Some(read("REDIS_CA_CERTS")),
        };
        redis::Client::build_with_tls(url, certs).expect("client builds")
    } else {
        redis::Client::open(url).expect("client builds")
    }
}

pub fn app_url(env: &HashMap<String, String>) -> String {
    let scheme = if env["REDIS_SSL"] == "true" {
        "rediss"
    } else {
        "redis"
    };
    let auth = match (
        env["REDIS_USERNAME"].as_str(),
        env["REDIS_PASSWORD"].as_str(),
    ) {
        ("", "") => String::new(),
        (user, pass) => format!("{user}:{pass}@"),
    };
    format!(
        "{scheme}://{auth}{}:{}/{}",
        env["REDIS_HOST"], env["REDIS_PORT"], env["REDIS_DB"]
    )
}

/// PING through `client`, with a short timeout so a refused handshake fails fast.
pub fn ping(client: &redis::Client) -> redis::RedisResult<String> {
    let mut con = client.get_connection_with_timeout(Duration::from_secs(5))?;
    redis::cmd("PING").query(&mut con)
}

/// The Python that has redis-py: scripts/test.sh makes a virtualenv and says where.
pub fn python_bin() -> String {
    std::env::var("KIMERA_TEST_PYTHON").unwrap_or_else(|_| "python3".into())
}

/// Run a Python snippet; the app itself is Python (redis-py).
pub fn python(script: &str, envs: &HashMap<String, String>) -> Output {
    Command::new(python_bin())
        .arg("-c")
        .arg(script)
        .envs(envs)
        .output()
        .expect("python3 runs")
}

/// Run a command a user pastes from the tool's output, in sh, with this build on PATH
/// as `kimera-redis-init`.
#[allow(dead_code)]
pub fn paste(cmd: &str) -> Output {
    let bin_dir = Path::new(BIN).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .env("PATH", path)
        .output()
        .expect("sh runs")
}

/// `paste`, which must succeed.
#[allow(dead_code)]
pub fn paste_ok(cmd: &str) {
    let out = paste(cmd);
    assert!(
        out.status.success(),
        "the printed command failed: {cmd}\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A Secret manifest as the API server serves it: its `data:` values decoded, in place.
/// The tool writes `data:` only (a `stringData` would show the Secret as changed on every
/// identical client-side apply); anything else is left as it is.
pub fn decode_secret(object: &mut serde_json::Value) {
    use base64::Engine;
    if object["kind"] != "Secret" {
        return;
    }
    assert!(
        object.get("stringData").is_none(),
        "{}: stringData is written; a Secret holds data only",
        object["metadata"]["name"]
    );
    for (k, v) in object["data"].as_object_mut().into_iter().flatten() {
        let text = v
            .as_str()
            .unwrap_or_else(|| panic!("data.{k} is not a string"));
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text)
            .unwrap_or_else(|e| panic!("data.{k} is not base64: {e}"));
        *v = serde_json::Value::String(String::from_utf8(bytes).unwrap());
    }
}

/// A Kubernetes manifest's text with each Secret `data:` value decoded in its line, for
/// checks of what a Secret carries.
pub fn decoded_text(path: &Path) -> String {
    use base64::Engine;
    let text = fs::read_to_string(path).unwrap();
    let mut out = String::new();
    for line in text.lines() {
        let decoded = line
            .strip_prefix("  ")
            .and_then(|l| l.split_once(": "))
            .filter(|(k, _)| !k.starts_with(' '))
            .and_then(|(k, v)| {
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(v.trim_matches('"'))
                    .ok()?;
                Some(format!("  {k}: {}", String::from_utf8(bytes).ok()?))
            });
        out.push_str(decoded.as_deref().unwrap_or(line));
        out.push('\n');
    }
    out
}

/// Edit the value of `key` in a Secret manifest's `data:`: `from` replaced by `to` in the
/// decoded value, encoded again.
pub fn edit_secret(dir: &Path, file: &str, key: &str, from: &str, to: &str) {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD;
    let path = dir.join(file);
    let text = fs::read_to_string(&path).unwrap();
    let prefix = format!("  {key}: ");
    let mut found = false;
    let edited: Vec<String> = text
        .lines()
        .map(|line| match line.strip_prefix(&prefix) {
            Some(v) if !found => {
                let value = String::from_utf8(b64.decode(v.trim_matches('"')).unwrap()).unwrap();
                assert!(value.contains(from), "{from:?} not in {file} {key}");
                found = true;
                format!("{prefix}{}", b64.encode(value.replacen(from, to, 1)))
            }
            _ => line.to_owned(),
        })
        .collect();
    assert!(found, "{file} has no data key {key}");
    fs::write(path, edited.join("\n") + "\n").unwrap();
}
