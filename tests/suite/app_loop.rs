//! The KIMERA app under load, for the zero-downtime tests (renew, the CA rollover,
//! rotate-password): redis-py from `.env`, a fresh client per request (a new TLS
//! handshake and login, with `.env` read again, as an app that reconnects after a
//! deploy) plus a pooled client whose connection lives through the change.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::*;

/// The app under load. A fresh client per request reads `.env` again (as an app that
/// reconnects after a deploy does); the pooled one keeps the connection it made first.
/// Runs until `STOP` exists; prints ok/failed.
const LOOP_PY: &str = r#"
import json, os, time
import redis
from dotenv import dotenv_values
from redis.cluster import RedisCluster, ClusterNode
def make(E):
    tls = dict(ssl=True, ssl_certfile=E["REDIS_SSL_CERTFILE"], ssl_keyfile=E["REDIS_SSL_KEYFILE"],
               ssl_ca_certs=E["REDIS_CA_CERTS"], ssl_cert_reqs=E["REDIS_CERT_REQS"])
    auth = dict(username=E["REDIS_USERNAME"], password=E["REDIS_PASSWORD"], socket_timeout=5,
                socket_connect_timeout=5)
    if E["REDIS_CLUSTER_MODE"] == "true":
        nodes = [ClusterNode(*n.rsplit(":", 1)) for n in E["REDIS_CLUSTER_NODES"].split(",")]
        return RedisCluster(startup_nodes=nodes, **auth, **tls)
    return redis.Redis(host=E["REDIS_HOST"], port=int(E["REDIS_PORT"]), **auth, **tls)
S = os.environ
pooled = make(dotenv_values(S["ENV_FILE"]))
ok = failed = 0
errors = []
i = 0
while not os.path.exists(S["STOP"]):
    i += 1
    for fresh in (True, False):
        try:
            c = make(dotenv_values(S["ENV_FILE"])) if fresh else pooled
            c.set(f"k{i % 500}", i)
            assert int(c.get(f"k{i % 500}")) == i
            if fresh:
                c.close()
            ok += 1
            with open(S["PROGRESS"], "w") as f:
                f.write(str(ok))
        except Exception as e:
            failed += 1
            errors.append(f"{'fresh' if fresh else 'pooled'}: {e!r}")
    time.sleep(0.005)
print(json.dumps(dict(ok=ok, failed=failed, errors=errors[:5])))
"#;

/// Requests the loop must have made before a step starts, and again after it ends, so
/// that new handshakes and logins are shown to work on both sides of it whatever the load.
pub(crate) const REQUESTS: u64 = 20;

pub(crate) struct AppLoop {
    child: Child,
    stop: PathBuf,
    progress: PathBuf,
}

impl AppLoop {
    /// Start the loop on the folder `dir` and wait until it has made `REQUESTS` requests.
    pub(crate) fn start(dir: &Path) -> AppLoop {
        let stop = dir.with_extension("stop");
        let progress = dir.with_extension("progress");
        let child = Command::new(python_bin())
            .arg("-c")
            .arg(LOOP_PY)
            .env("ENV_FILE", dir.join(".env"))
            .env("STOP", &stop)
            .env("PROGRESS", &progress)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("python runs");
        let mut app = AppLoop {
            child,
            stop,
            progress,
        };
        app.wait_for(REQUESTS);
        app
    }

    /// Requests that worked so far.
    pub(crate) fn done(&self) -> u64 {
        fs::read_to_string(&self.progress)
            .ok()
            .and_then(|t| t.trim().parse().ok())
            .unwrap_or(0)
    }

    /// Wait until `n` more requests worked than so far.
    pub(crate) fn more(&mut self, n: u64) {
        let target = self.done() + n;
        self.wait_for(target);
    }

    fn wait_for(&mut self, n: u64) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while self.done() < n {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("the client loop ended ({status}): {}", self.stderr());
            }
            assert!(
                Instant::now() < deadline,
                "the client loop made only {} requests",
                self.done()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// What the loop wrote on stderr (once it has ended).
    fn stderr(&mut self) -> String {
        let mut err = String::new();
        if let Some(mut e) = self.child.stderr.take() {
            e.read_to_string(&mut err).unwrap();
        }
        err
    }

    /// Stop the loop; (requests that worked, requests that failed, first errors).
    pub(crate) fn finish(mut self) -> (u64, u64, String) {
        self.more(REQUESTS);
        fs::write(&self.stop, "").unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.child.try_wait().unwrap().is_none() {
            assert!(Instant::now() < deadline, "the client loop did not stop");
            std::thread::sleep(Duration::from_millis(50));
        }
        let mut out = String::new();
        self.child
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut out)
            .unwrap();
        let err = self.stderr();
        let v: serde_json::Value = serde_json::from_str(out.trim())
            .unwrap_or_else(|e| panic!("client loop output {out:?} ({e}); stderr: {err}"));
        (
            v["ok"].as_u64().unwrap(),
            v["failed"].as_u64().unwrap(),
            v["errors"].to_string(),
        )
    }
}

impl Drop for AppLoop {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
