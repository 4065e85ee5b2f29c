//! The Docker side of the container tests: the engine and image scripts/test.sh starts,
//! compose projects that are always brought down (Drop), health polling, and the app
//! (redis-py configured from `.env` only) run on the host or in a container.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Output, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::common::{BIN, generate, python_bin};

/// The app: one script for a single server and a cluster, from the `.env` path it is given.
pub const APP_PY: &str = include_str!("app.py");

/// The named network of bridge-mode clusters is one per engine: those tests take turns.
static BRIDGE: Mutex<()> = Mutex::new(());

/// Ports already handed to a test of this binary: never handed out twice.
static GIVEN: Mutex<Vec<u16>> = Mutex::new(Vec::new());

pub fn bridge_turn() -> MutexGuard<'static, ()> {
    BRIDGE.lock().unwrap_or_else(|e| e.into_inner())
}

/// The local image scripts/test.sh built, when an engine answers. Under CI=true a missing
/// engine, image or docker-compose is a failure, never a skip.
pub fn engine() -> Option<String> {
    let image = std::env::var("KIMERA_TEST_IMAGE").ok();
    let problem = match &image {
        None => Some("KIMERA_TEST_IMAGE is not set".to_owned()),
        Some(image) => {
            let ok = |cmd: &mut Command| {
                cmd.stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status()
                    .is_ok_and(|s| s.success())
            };
            if !ok(Command::new("docker-compose").arg("version")) {
                Some("docker-compose does not run".to_owned())
            } else if !ok(Command::new("docker").args(["image", "inspect", image])) {
                Some(format!(
                    "no Docker engine with the image {image} (DOCKER_HOST={})",
                    std::env::var("DOCKER_HOST").unwrap_or_default()
                ))
            } else {
                None
            }
        }
    };
    match problem {
        None => image,
        Some(p) => {
            crate::common::skip(&p);
            None
        }
    }
}

/// A port below the kernel's ephemeral range (32768) whose cluster bus port (+10000) is
/// free too, so no outgoing connection takes it while the containers start.
pub fn low_ports(n: usize) -> Vec<u16> {
    let mut ports = Vec::new();
    let mut held = Vec::new();
    // Spread over 12000-21999 by process and time, so parallel tests rarely try the same.
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    let mut seed = u64::from(std::process::id()) << 32 | u64::from(nanos);
    while ports.len() < n {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let p = 12000 + ((seed >> 33) % 10000) as u16;
        let mut given = GIVEN.lock().unwrap_or_else(|e| e.into_inner());
        if given.contains(&p) {
            continue;
        }
        if let (Ok(a), Ok(b)) = (
            TcpListener::bind(("127.0.0.1", p)),
            TcpListener::bind(("127.0.0.1", p + 10000)),
        ) {
            ports.push(p);
            given.push(p);
            held.push((a, b));
        }
    }
    ports
}

/// A compose project of its own (unique name), brought down with its volumes and
/// containers when dropped, also when the test fails.
pub struct Stack {
    pub dir: PathBuf,
    pub project: String,
}

impl Stack {
    pub fn new(dir: &Path, test: &str) -> Stack {
        Stack {
            dir: dir.to_path_buf(),
            project: format!("k9{}{}", test.replace(['-', '_'], ""), std::process::id()),
        }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new("docker-compose");
        cmd.args(["-p", &self.project, "-f", "docker-compose.yml"])
            .args(args)
            .current_dir(&self.dir);
        cmd
    }

    /// docker-compose ARGS; insists that it succeeds.
    pub fn compose(&self, args: &[&str]) -> String {
        let out = self.command(args).output().expect("docker-compose runs");
        assert!(
            out.status.success(),
            "docker-compose {args:?} failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn up(&self) {
        self.compose(&["up", "-d"]);
    }

    pub fn down(&self) {
        self.compose(&["down", "-t", "10"]);
    }

    /// service -> (status, exit code, health) of every container of the project.
    pub fn states(&self) -> Vec<(String, String, i64, String)> {
        let ids = docker(&[
            "ps",
            "-aq",
            "--filter",
            &format!("label=com.docker.compose.project={}", self.project),
        ]);
        let ids: Vec<&str> = ids.split_whitespace().collect();
        if ids.is_empty() {
            return Vec::new();
        }
        let mut args = vec![
            "inspect",
            "--format",
            "{{index .Config.Labels \"com.docker.compose.service\"}} {{.State.Status}} {{.State.ExitCode}} {{if .State.Health}}{{.State.Health.Status}}{{else}}-{{end}}",
        ];
        args.extend(ids);
        docker(&args)
            .lines()
            .map(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                (
                    f[0].to_owned(),
                    f[1].to_owned(),
                    f[2].parse().unwrap(),
                    f[3].to_owned(),
                )
            })
            .collect()
    }

    /// Wait until `services` are running and healthy and, when `one_shot` is given, that
    /// service has exited 0. Returns the seconds it took.
    pub fn wait_ready(&self, services: &[String], one_shot: Option<&str>) -> f64 {
        let start = Instant::now();
        let deadline = start + Duration::from_secs(90);
        loop {
            let states = self.states();
            let healthy = services.iter().all(|s| {
                states
                    .iter()
                    .any(|(n, st, _, h)| n == s && st == "running" && h == "healthy")
            });
            let done = one_shot.is_none_or(|s| {
                states
                    .iter()
                    .any(|(n, st, code, _)| n == s && st == "exited" && *code == 0)
            });
            if healthy && done {
                return start.elapsed().as_secs_f64();
            }
            if let Some((s, _, code, _)) = states.iter().find(|(n, st, code, _)| {
                one_shot == Some(n.as_str()) && st == "exited" && *code != 0
            }) {
                panic!("{s} exited with {code}:\n{}", self.logs());
            }
            assert!(
                Instant::now() < deadline,
                "not healthy after 90 s: {states:?}\n{}",
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    pub fn logs(&self) -> String {
        self.command(&["logs", "--no-color", "--tail", "40"])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default()
    }

    /// The log of the one-shot service.
    pub fn service_log(&self, service: &str) -> String {
        self.compose(&["logs", "--no-color", service])
    }

    /// `docker exec` into a service's container.
    pub fn exec(&self, service: &str, args: &[&str]) -> String {
        let id = self.compose(&["ps", "-q", service]);
        let mut all = vec!["exec", id.trim()];
        all.extend_from_slice(args);
        docker(&all)
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        let _ = self
            .command(&["down", "-v", "--remove-orphans", "-t", "3"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// docker ARGS; insists that it succeeds.
pub fn docker(args: &[&str]) -> String {
    let out = Command::new("docker")
        .args(args)
        .output()
        .expect("docker runs");
    assert!(
        out.status.success(),
        "docker {args:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Generate into `dir` with the test image.
pub fn generate_with(image: &str, dir: &Path, args: &[&str]) {
    let mut all = vec!["--image", image, "--out", dir.to_str().unwrap()];
    all.extend_from_slice(args);
    generate(&all);
}

/// The app on this machine: `mode` write (200 keys, then read back) or read.
pub fn app_on_host(dir: &Path, mode: &str) -> String {
    let env_path = dir.join(".env");
    let out = Command::new(python_bin())
        .args(["-c", APP_PY, env_path.to_str().unwrap(), mode])
        .output()
        .expect("python runs");
    app_output(out)
}

fn app_output(out: Output) -> String {
    assert!(
        out.status.success(),
        "the app failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `doctor DIR` from this machine, which must pass.
pub fn doctor_passes(dir: &Path) {
    let out = Command::new(BIN)
        .arg("doctor")
        .arg(dir)
        .output()
        .expect("doctor runs");
    assert!(
        out.status.success(),
        "doctor failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The site-packages of the test virtualenv: redis-py 8 and python-dotenv are pure
/// Python, so the image's python3 runs them from a read-only mount.
fn site_packages() -> String {
    let out = Command::new(python_bin())
        .args([
            "-c",
            "import redis, os; print(os.path.dirname(os.path.dirname(redis.__file__)))",
        ])
        .output()
        .expect("python runs");
    assert!(out.status.success(), "redis-py is importable");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// `docker run` arguments for an app container on `network` that sees the generated
/// folder at the same path (the `.env` names certificates by absolute path).
fn app_container_args(image: &str, network: &str, dir: &Path, interactive: bool) -> Vec<String> {
    let dir = dir.to_str().unwrap();
    let mut args: Vec<String> = vec!["run".into(), "--rm".into()];
    if interactive {
        args.push("-i".into());
    }
    for a in [
        "--network",
        network,
        "--user",
        &format!("{}:{}", unsafe_uid(), unsafe_gid()),
        "-e",
        "PYTHONPATH=/app/lib",
        "-e",
        "PYTHONUNBUFFERED=1",
        "-v",
        &format!("{}:/app/lib:ro", site_packages()),
        "-v",
        &format!("{dir}:{dir}:ro"),
        image,
        "python3",
        "-c",
        APP_PY,
        &format!("{dir}/.env"),
    ] {
        args.push(a.to_owned());
    }
    args
}

fn unsafe_uid() -> u32 {
    // SAFETY: geteuid cannot fail and touches no memory.
    unsafe { libc::geteuid() }
}

fn unsafe_gid() -> u32 {
    // SAFETY: getegid cannot fail and touches no memory.
    unsafe { libc::getegid() }
}

/// The app as a container on `network`, run once with `mode`.
pub fn app_in_container(image: &str, network: &str, dir: &Path, mode: &str) -> String {
    let mut args = app_container_args(image, network, dir, false);
    args.push(mode.to_owned());
    let out = Command::new("docker")
        .args(&args)
        .output()
        .expect("docker runs");
    app_output(out)
}

/// The app as a container that writes, then waits for a line on stdin before reading
/// every key back with the same client (which refreshes its slot map on errors).
pub struct WaitingApp {
    /// Its container's name: removed on drop, so a failed test never leaves it holding
    /// the network that `down` must remove.
    name: String,
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
}

impl WaitingApp {
    pub fn start(image: &str, network: &str, dir: &Path) -> WaitingApp {
        let name = format!("k9app{}", std::process::id());
        let mut args = app_container_args(image, network, dir, true);
        args.insert(2, format!("--name={name}"));
        args.push("write-wait-read".to_owned());
        let mut child = Command::new("docker")
            .args(&args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("docker runs");
        let stdin = child.stdin.take();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let mut app = WaitingApp {
            name,
            child,
            stdin,
            stdout,
        };
        let line = app.line();
        assert!(line.starts_with("written 200"), "the app wrote: {line:?}");
        app
    }

    fn line(&mut self) -> String {
        let mut line = String::new();
        self.stdout.read_line(&mut line).expect("app output");
        line
    }

    /// Let it read every key back; returns what it printed.
    pub fn read_back(mut self) -> String {
        let mut stdin = self.stdin.take().unwrap();
        stdin.write_all(b"go\n").unwrap();
        drop(stdin);
        let mut rest = String::new();
        loop {
            let line = self.line();
            if line.is_empty() {
                break;
            }
            rest.push_str(&line);
        }
        let status = self.child.wait().unwrap();
        assert!(status.success(), "the app failed after failover:\n{rest}");
        rest
    }
}

impl Drop for WaitingApp {
    fn drop(&mut self) {
        // `docker run --rm -i` ends with its stdin; kill the client too if it hangs.
        self.stdin.take();
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = Command::new("docker")
            .args(["rm", "-f", &self.name])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}
