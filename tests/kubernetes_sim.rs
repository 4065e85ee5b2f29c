//! The Kubernetes manifests, run: each pod of the StatefulSet as its own container on a
//! Docker network, with the pod's names as network aliases, the Secret and ConfigMap
//! contents mounted where the manifests mount them, and the manifests' command and args
//! ($(VAR) expanded as the kubelet does). Then the Job's command, an app container that
//! uses only the app Secret (TLS, hostname checks on), a stopped master, and a restart of
//! every pod with a new IP.
//!
//! Needs DOCKER_HOST (a running engine) and KIMERA_TEST_IMAGE (a local Redis 7 image
//! with sh, getent, awk and python3, such as the one scripts/test.sh builds); skipped
//! without them, a failure under CI=true. The translator below is test code on purpose:
//! it only copies what the manifests say, so a wrong mount path, name or SAN fails here.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{PermissionsExt, chown};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;

const PREFIX: &str = "kimera-k8s-sim-";

fn engine() -> Option<String> {
    let host = std::env::var("DOCKER_HOST").ok();
    let image = std::env::var("KIMERA_TEST_IMAGE").ok();
    match (host, image) {
        (Some(_), Some(image)) => Some(image),
        _ => {
            common::skip("DOCKER_HOST and KIMERA_TEST_IMAGE are not set");
            None
        }
    }
}

fn docker(args: &[String]) -> Output {
    Command::new("docker")
        .args(args)
        .output()
        .expect("docker runs")
}

fn docker_ok(args: &[String]) -> String {
    let out = docker(args);
    assert!(
        out.status.success(),
        "docker {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_owned()).collect()
}

/// A Docker network and the containers on it, removed when dropped (also on failure).
struct Sim {
    id: String,
    net: String,
    subnet: String,
    image: String,
    containers: Vec<String>,
    work: PathBuf,
    objects: Vec<Value>,
    /// Every Secret and ConfigMap volume written, to update as the kubelet does.
    mounted: Vec<(PathBuf, Value, u32)>,
    /// The kubelet's timestamped folders, numbered.
    generation: u32,
}

impl Drop for Sim {
    fn drop(&mut self) {
        for c in &self.containers {
            let _ = docker(&strings(&["rm", "-f", "-v", c]));
        }
        let _ = docker(&strings(&["network", "rm", &self.net]));
    }
}

/// A tiny DNS server answering every name it is asked with NXDOMAIN: Docker's embedded DNS
/// forwards names it does not know there, and would otherwise take 40 s to give up on a
/// stopped pod's name (CoreDNS answers at once).
const NXDOMAIN_SERVER: &str = r#"
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", 53))
while True:
    d, a = s.recvfrom(4096)
    if len(d) < 12:
        continue
    i = 12
    while i < len(d) and d[i] != 0:
        i += d[i] + 1
    q = d[12:i + 5]
    s.sendto(d[:2] + bytes([0x80 | (d[2] & 0x79), 0x83]) + b"\x00\x01" + b"\x00" * 6 + q, a)
"#;

impl Sim {
    fn new(image: &str, work: &Path, objects: Vec<Value>) -> Sim {
        let pid = std::process::id();
        let id = format!(
            "{}{pid}-{}",
            PREFIX,
            work.file_name().unwrap().to_str().unwrap()
        );
        // One /24 per simulation: both tests of this process get their own.
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let subnet = format!("10.{}.{}", 200 + pid % 50, (pid / 50 * 4 + n) % 250);
        let mut sim = Sim {
            net: id.clone(),
            id,
            subnet: subnet.clone(),
            image: image.to_owned(),
            containers: Vec::new(),
            work: work.to_path_buf(),
            objects,
            mounted: Vec::new(),
            generation: 0,
        };
        docker_ok(&strings(&[
            "network",
            "create",
            "--internal",
            "--subnet",
            &format!("{subnet}.0/24"),
            &sim.net,
        ]));
        let dns = format!("{}-dns", sim.id);
        sim.containers.push(dns.clone());
        docker_ok(&strings(&[
            "run",
            "-d",
            "--name",
            &dns,
            "--network",
            &sim.net,
            "--ip",
            &sim.dns_ip(),
            image,
            "python3",
            "-c",
            NXDOMAIN_SERVER,
        ]));
        sim
    }

    fn dns_ip(&self) -> String {
        format!("{}.2", self.subnet)
    }

    fn object(&self, kind: &str, name: &str) -> &Value {
        self.objects
            .iter()
            .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
            .unwrap_or_else(|| panic!("no {kind} {name} in the manifests"))
    }

    /// Write each Secret/ConfigMap volume of `spec` as the kubelet's atomic writer does
    /// (see `write_volume`), and make each emptyDir; `create` false only names the
    /// folders of a pod whose first container made them (its sidecars share them).
    fn volumes(&mut self, owner: &str, spec: &Value, create: bool) -> BTreeMap<String, PathBuf> {
        let fs_group = spec["securityContext"]["fsGroup"].as_u64().unwrap() as u32;
        let mut out = BTreeMap::new();
        for vol in spec["volumes"].as_array().unwrap() {
            let name = vol["name"].as_str().unwrap();
            let dir = self.work.join("volumes").join(owner).join(name);
            out.insert(name.to_owned(), dir.clone());
            if !create {
                continue;
            }
            let _ = fs::remove_dir_all(&dir);
            fs::create_dir_all(&dir).unwrap();
            chown(&dir, Some(0), Some(fs_group)).unwrap();
            if vol.get("emptyDir").is_some() {
                fs::set_permissions(&dir, fs::Permissions::from_mode(0o777)).unwrap();
                continue;
            }
            fs::set_permissions(&dir, fs::Permissions::from_mode(0o750)).unwrap();
            self.write_volume(&dir, vol, fs_group);
            self.mounted.push((dir, vol.clone(), fs_group));
        }
        out
    }

    /// A Secret or ConfigMap volume's files as the kubelet writes them: a timestamped
    /// folder with the keys (or the listed items), `..data` a symlink to it swapped in
    /// one rename, and each key a symlink through `..data`; the old folder removed after.
    fn write_volume(&mut self, dir: &Path, vol: &Value, fs_group: u32) {
        let (data, items, mode) = if let Some(s) = vol.get("secret") {
            let o = self.object("Secret", s["secretName"].as_str().unwrap());
            (
                o["data"].clone(),
                s["items"].clone(),
                s["defaultMode"].as_u64().unwrap_or(0o644),
            )
        } else if let Some(c) = vol.get("configMap") {
            let o = self.object("ConfigMap", c["name"].as_str().unwrap());
            (
                o["data"].clone(),
                c["items"].clone(),
                c["defaultMode"].as_u64().unwrap_or(0o644),
            )
        } else {
            panic!("volume {vol} is neither a Secret, a ConfigMap nor an emptyDir");
        };
        let files: Vec<(String, String)> = match items.as_array() {
            Some(list) => list
                .iter()
                .map(|i| {
                    (
                        i["key"].as_str().unwrap().to_owned(),
                        i["path"].as_str().unwrap().to_owned(),
                    )
                })
                .collect(),
            None => data
                .as_object()
                .unwrap()
                .keys()
                .map(|k| (k.clone(), k.clone()))
                .collect(),
        };
        self.generation += 1;
        let stamp = format!("..2026_12_04_00_00_00.{:09}", self.generation);
        let folder = dir.join(&stamp);
        fs::create_dir(&folder).unwrap();
        for (key, path) in &files {
            let f = folder.join(path);
            fs::write(
                &f,
                data[key].as_str().unwrap_or_else(|| panic!("no key {key}")),
            )
            .unwrap();
            chown(&f, Some(0), Some(fs_group)).unwrap();
            fs::set_permissions(&f, fs::Permissions::from_mode(mode as u32)).unwrap();
        }
        chown(&folder, Some(0), Some(fs_group)).unwrap();
        fs::set_permissions(&folder, fs::Permissions::from_mode(0o750)).unwrap();
        let old = fs::read_link(dir.join("..data")).ok();
        let tmp = dir.join("..data_tmp");
        let _ = fs::remove_file(&tmp);
        std::os::unix::fs::symlink(&stamp, &tmp).unwrap();
        fs::rename(&tmp, dir.join("..data")).unwrap();
        for (_, path) in &files {
            let link = dir.join(path);
            if link.symlink_metadata().is_err() {
                std::os::unix::fs::symlink(format!("..data/{path}"), &link).unwrap();
            }
        }
        if let Some(old) = old {
            fs::remove_dir_all(dir.join(old)).unwrap();
        }
    }

    /// The kubelet's update of every mounted Secret and ConfigMap to `objects` (the
    /// manifests applied again): each volume's `..data` swapped at once.
    fn kubelet_update(&mut self, objects: Vec<Value>) {
        self.objects = objects;
        for (dir, vol, fs_group) in self.mounted.clone() {
            if dir.exists() {
                self.write_volume(&dir, &vol, fs_group);
            }
        }
    }

    /// `docker run` arguments for one container of a pod spec, as the kubelet would run it.
    /// `index` picks the pod's container; a sidecar (`join`: the pod's first container)
    /// shares its network and volumes, as containers of one pod do.
    #[allow(clippy::too_many_arguments)]
    fn run_args(
        &mut self,
        container_name: &str,
        pod: &str,
        ip: Option<&str>,
        aliases: &[String],
        spec: &Value,
        data: Option<&Path>,
        index: usize,
        join: Option<&str>,
    ) -> Vec<String> {
        let c = &spec["containers"][index];
        let sc = &spec["securityContext"];
        let vols = self.volumes(pod, spec, join.is_none());
        let mut env = BTreeMap::new();
        for e in c["env"].as_array().into_iter().flatten() {
            let value = match e["valueFrom"]["fieldRef"]["fieldPath"].as_str() {
                Some("metadata.name") => pod.to_owned(),
                Some("status.podIP") => ip.unwrap_or_default().to_owned(),
                Some(other) => panic!("fieldRef {other} is not simulated"),
                None => e["value"].as_str().unwrap().to_owned(),
            };
            env.insert(e["name"].as_str().unwrap().to_owned(), value);
        }
        let expand = |s: &str| {
            let mut out = s.to_owned();
            for (k, v) in &env {
                out = out.replace(&format!("$({k})"), v);
            }
            out
        };
        let mut a = strings(&["run", "--name", container_name]);
        if let Some(main) = join {
            a.extend(["--network".into(), format!("container:{main}")]);
        } else {
            a.extend(["--network".into(), self.net.clone()]);
            if let Some(ip) = ip {
                a.extend(strings(&["--ip", ip]));
            }
            a.extend(strings(&[
                "--hostname",
                pod,
                "--dns",
                &self.dns_ip(),
                "--dns-opt",
                "ndots:5",
            ]));
            let ns = self.objects[0]["metadata"]["namespace"]
                .as_str()
                .unwrap_or("kimera")
                .to_owned();
            for search in [
                format!("{ns}.svc.cluster.local"),
                "svc.cluster.local".into(),
                "cluster.local".into(),
            ] {
                a.extend(["--dns-search".into(), search]);
            }
            for alias in aliases {
                a.extend(["--network-alias".into(), alias.clone()]);
            }
        }
        let uid = sc["runAsUser"].as_u64().unwrap();
        let gid = sc["runAsGroup"].as_u64().unwrap();
        let fs_group = sc["fsGroup"].as_u64().unwrap();
        a.extend(strings(&[
            "--user",
            &format!("{uid}:{gid}"),
            "--group-add",
            &fs_group.to_string(),
        ]));
        let csc = &c["securityContext"];
        if csc["readOnlyRootFilesystem"] == true {
            a.push("--read-only".into());
        }
        if csc["capabilities"]["drop"] == serde_json::json!(["ALL"]) {
            a.extend(strings(&["--cap-drop", "ALL"]));
        }
        if csc["allowPrivilegeEscalation"] == false {
            a.extend(strings(&["--security-opt", "no-new-privileges"]));
        }
        for (k, v) in &env {
            a.extend(["-e".into(), format!("{k}={v}")]);
        }
        for m in c["volumeMounts"].as_array().unwrap() {
            assert!(
                m.get("subPath").is_none(),
                "subPath cannot be simulated: {m}"
            );
            let name = m["name"].as_str().unwrap();
            let target = m["mountPath"].as_str().unwrap();
            let host = match vols.get(name) {
                Some(dir) => dir.clone(),
                None => {
                    assert_eq!(name, "data", "volume {name} is not defined");
                    data.expect("a data volume").to_path_buf()
                }
            };
            let ro = if m["readOnly"] == true { ":ro" } else { "" };
            a.extend(["-v".into(), format!("{}:{target}{ro}", host.display())]);
        }
        let command: Vec<String> = c["command"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| expand(v.as_str().unwrap()))
            .collect();
        // The manifest's own image (generated with --image KIMERA_TEST_IMAGE): a wrong
        // image reference in a manifest fails here as it would on a cluster.
        a.extend([
            "--entrypoint".into(),
            command[0].clone(),
            c["image"]
                .as_str()
                .expect("a container names its image")
                .to_owned(),
        ]);
        a.extend(command[1..].iter().cloned());
        for arg in c["args"].as_array().into_iter().flatten() {
            a.push(expand(arg.as_str().unwrap()));
        }
        self.containers.push(container_name.to_owned());
        a
    }
}

struct Cluster {
    sim: Sim,
    pods: Vec<String>,
    sts: Value,
    ns: String,
    headless: String,
    service: String,
    /// Each pod's current IP.
    ips: BTreeMap<String, String>,
}

impl Cluster {
    fn container(&self, pod: &str) -> String {
        format!("{}-{pod}", self.sim.id)
    }

    fn aliases(&self, pod: &str) -> Vec<String> {
        let d = "svc.cluster.local";
        let (ns, h, s) = (&self.ns, &self.headless, &self.service);
        vec![
            format!("{pod}.{h}.{ns}.{d}"),
            format!("{pod}.{h}"),
            s.clone(),
            format!("{s}.{ns}"),
            format!("{s}.{ns}.{d}"),
            h.clone(),
            format!("{h}.{ns}.{d}"),
        ]
    }

    /// Start every pod (`generation` picks fresh IPs: a restart gives pods new addresses).
    fn start_pods(&mut self, generation: u8) {
        let spec = self.sts["spec"]["template"]["spec"].clone();
        for (i, pod) in self.pods.clone().iter().enumerate() {
            let ip = format!(
                "{}.{}",
                self.sim.subnet,
                10 + usize::from(generation) * 40 + i
            );
            let data = self.sim.work.join("pvc").join(pod);
            if !data.exists() {
                fs::create_dir_all(&data).unwrap();
                let fs_group = spec["securityContext"]["fsGroup"].as_u64().unwrap() as u32;
                let uid = spec["securityContext"]["runAsUser"].as_u64().unwrap() as u32;
                chown(&data, Some(uid), Some(fs_group)).unwrap();
                fs::set_permissions(&data, fs::Permissions::from_mode(0o770)).unwrap();
            }
            self.ips.insert(pod.clone(), ip.clone());
            let name = self.container(pod);
            let aliases = self.aliases(pod);
            let mut args =
                self.sim
                    .run_args(&name, pod, Some(&ip), &aliases, &spec, Some(&data), 0, None);
            args.insert(1, "-d".into());
            docker_ok(&args);
            for (index, c) in spec["containers"]
                .as_array()
                .unwrap()
                .iter()
                .enumerate()
                .skip(1)
            {
                let sidecar = format!("{name}-{}", c["name"].as_str().unwrap());
                let mut args = self.sim.run_args(
                    &sidecar,
                    pod,
                    None,
                    &[],
                    &spec,
                    Some(&data),
                    index,
                    Some(&name),
                );
                args.insert(1, "-d".into());
                docker_ok(&args);
            }
        }
    }

    /// The names of a pod's sidecar containers.
    fn sidecars(&self, pod: &str) -> Vec<String> {
        self.sts["spec"]["template"]["spec"]["containers"]
            .as_array()
            .unwrap()
            .iter()
            .skip(1)
            .map(|c| format!("{}-{}", self.container(pod), c["name"].as_str().unwrap()))
            .collect()
    }

    /// Delete every pod as Kubernetes does: SIGTERM and a grace period (Redis saves its
    /// snapshot to the data volume), then the container is gone.
    fn remove_pods(&mut self) {
        let sidecars: Vec<String> = self.pods.iter().flat_map(|p| self.sidecars(p)).collect();
        for name in &sidecars {
            docker_ok(&strings(&["rm", "-f", name]));
            self.sim.containers.retain(|c| c != name);
        }
        let mut stop = strings(&["stop", "-t", "20"]);
        stop.extend(self.pods.iter().map(|p| self.container(p)));
        docker_ok(&stop);
        for pod in &self.pods {
            let name = self.container(pod);
            docker_ok(&strings(&["rm", "-f", &name]));
            self.sim.containers.retain(|c| *c != name);
        }
        self.sim.mounted.clear();
    }

    /// The readiness probe's own command with its last word (`ping`) replaced by `cmd`,
    /// run in the pod: the probes' TLS files and password file are exercised too.
    fn probe(&self, pod: &str, cmd: &str) -> Output {
        let c = &self.sts["spec"]["template"]["spec"]["containers"][0];
        let argv: Vec<String> = c["readinessProbe"]["exec"]["command"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect();
        let mut argv = argv;
        let last = argv.pop().unwrap();
        let line = last
            .strip_suffix(" ping")
            .expect("the probe ends in ping")
            .to_owned()
            + " "
            + cmd;
        argv.push(line);
        let mut a = strings(&["exec", &self.container(pod)]);
        a.extend(argv);
        docker(&a)
    }

    /// The SHA-256 of the certificate `pod` serves to a fresh handshake (made inside the
    /// pod with its own mounted key pair), or an empty string when none completes.
    fn served(&self, pod: &str) -> String {
        let port =
            self.sts["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"]
                .as_u64()
                .unwrap();
        let script = format!(
            "import ssl, socket, hashlib\n\
             c = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)\n\
             c.check_hostname = False\n\
             c.verify_mode = ssl.CERT_NONE\n\
             c.load_cert_chain('/etc/kimera-redis/tls/tls.crt', '/etc/kimera-redis/tls/tls.key')\n\
             s = c.wrap_socket(socket.create_connection(('127.0.0.1', {port}), timeout=5))\n\
             print(hashlib.sha256(s.getpeercert(True)).hexdigest())\n"
        );
        let out = docker(&strings(&[
            "exec",
            &self.container(pod),
            "python3",
            "-c",
            &script,
        ]));
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// The reloader's log in `pod`.
    fn reloader_log(&self, pod: &str) -> String {
        let out = docker(&strings(&[
            "logs",
            &format!("{}-reloader", self.container(pod)),
        ]));
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
    }

    fn wait_ready(&self, pods: &[String], limit: Duration) {
        let start = Instant::now();
        for pod in pods {
            loop {
                let out = self.probe(pod, "ping");
                if out.status.success() && String::from_utf8_lossy(&out.stdout).trim() == "PONG" {
                    break;
                }
                if start.elapsed() > limit {
                    let logs = docker(&strings(&["logs", &self.container(pod)]));
                    panic!(
                        "{pod} not ready after {limit:?}: {}{}\nlogs: {}{}",
                        String::from_utf8_lossy(&out.stdout),
                        String::from_utf8_lossy(&out.stderr),
                        String::from_utf8_lossy(&logs.stdout),
                        String::from_utf8_lossy(&logs.stderr)
                    );
                }
                std::thread::sleep(Duration::from_millis(500));
            }
        }
    }

    fn cluster_states(&self) -> Vec<String> {
        self.pods
            .iter()
            .map(|p| {
                let out = self.probe(p, "cluster info");
                String::from_utf8_lossy(&out.stdout)
                    .lines()
                    .find_map(|l| l.trim().strip_prefix("cluster_state:").map(str::to_owned))
                    .unwrap_or_else(|| "unreachable".into())
            })
            .collect()
    }

    /// Every node says cluster_state:ok and lists all nodes, none failing, each at the
    /// pod's current IP. (cluster_state alone says ok for a few seconds after a restart,
    /// before the nodes notice that their peers' old addresses are dead.)
    fn settled(&self) -> Result<(), String> {
        for (pod, state) in self.pods.iter().zip(self.cluster_states()) {
            if state != "ok" {
                return Err(format!("{pod}: cluster_state:{state}"));
            }
            let table =
                String::from_utf8_lossy(&self.probe(pod, "cluster nodes").stdout).into_owned();
            let lines: Vec<&str> = table
                .lines()
                .filter(|l| l.split_whitespace().count() >= 8)
                .collect();
            if lines.len() != self.pods.len() {
                return Err(format!("{pod} knows {} nodes:\n{table}", lines.len()));
            }
            for l in lines {
                let f: Vec<&str> = l.split_whitespace().collect();
                let (ipport, host) = f[1].split_once(',').ok_or(format!("no hostname: {l}"))?;
                let ip = ipport.rsplit_once(':').unwrap().0;
                let peer = host.split('.').next().unwrap();
                if f[2].contains("fail")
                    || f[7] != "connected"
                    || self.ips.get(peer).map(String::as_str) != Some(ip)
                {
                    return Err(format!(
                        "{pod} sees {l} (current IP of {peer}: {:?})",
                        self.ips.get(peer)
                    ));
                }
            }
        }
        Ok(())
    }

    /// Run the Job's container to completion; returns (success, output).
    fn run_job(&mut self, job: &Value, n: usize) -> (bool, String) {
        let spec = job["spec"]["template"]["spec"].clone();
        let name = format!("{}-job-{n}", self.sim.id);
        let pod = format!("{}-{n}", job["metadata"]["name"].as_str().unwrap());
        let args = self
            .sim
            .run_args(&name, &pod, None, &[], &spec, None, 0, None);
        let out = docker(&args);
        let _ = docker(&strings(&["rm", "-f", &name]));
        self.sim.containers.retain(|c| *c != name);
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        (out.status.success(), text)
    }

    /// The app: a container with only the app Secret as its environment (envFrom) and the
    /// client TLS Secret mounted where the app Secret says, running redis-py with
    /// hostname checks on. `mode` is write (then read) or read.
    fn app(&mut self, n: usize, mode: &str) -> (bool, String) {
        let objects = self.sim.objects.clone();
        self.app_with(n, mode, &objects)
    }

    /// The app with the Secrets of `objects` (manifests applied earlier, say).
    fn app_with(&mut self, n: usize, mode: &str, objects: &[Value]) -> (bool, String) {
        let (name, a) = self.app_args(n, mode, objects);
        self.sim.containers.push(name.clone());
        let out = docker(&a);
        let _ = docker(&strings(&["rm", "-f", &name]));
        self.sim.containers.retain(|c| *c != name);
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr),
        )
    }

    /// The app under load while the pods are updated: a new connection per request plus
    /// a pooled one, until `finish_loop`. Returns its container's name.
    fn start_loop(&mut self, n: usize) -> String {
        let objects = self.sim.objects.clone();
        let (name, mut a) = self.app_args(n, "loop", &objects);
        let dir = self.sim.work.join(format!("loop-{n}"));
        fs::create_dir_all(&dir).unwrap();
        chown(&dir, Some(999), Some(999)).unwrap();
        a.insert(1, "-d".into());
        let image_at = a.iter().position(|w| *w == self.sim.image).unwrap();
        a.splice(
            image_at..image_at,
            ["-v".to_owned(), format!("{}:/loop", dir.display())],
        );
        self.sim.containers.push(name.clone());
        docker_ok(&a);
        let start = Instant::now();
        while !dir.join("progress").exists() {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "the app loop made no request: {}",
                String::from_utf8_lossy(&docker(&strings(&["logs", &name])).stderr)
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        name
    }

    /// Stop the loop: (requests that worked, requests that failed, first errors).
    fn finish_loop(&mut self, name: &str, n: usize) -> (u64, u64, String) {
        let dir = self.sim.work.join(format!("loop-{n}"));
        fs::write(dir.join("stop"), "").unwrap();
        docker_ok(&strings(&["wait", name]));
        let out = docker(&strings(&["logs", name]));
        let _ = docker(&strings(&["rm", "-f", name]));
        self.sim.containers.retain(|c| c != name);
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let v: Value = serde_json::from_str(text.trim()).unwrap_or_else(|e| {
            panic!(
                "app loop output {text:?} ({e}): {}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
        (
            v["ok"].as_u64().unwrap(),
            v["failed"].as_u64().unwrap(),
            v["errors"].to_string(),
        )
    }

    fn app_args(&mut self, n: usize, mode: &str, objects: &[Value]) -> (String, Vec<String>) {
        let name = format!("{}-app-{n}", self.sim.id);
        let app_secret = objects
            .iter()
            .find(|o| {
                o["kind"] == "Secret" && o["metadata"]["name"].as_str().unwrap().ends_with("-app")
            })
            .unwrap()
            .clone();
        let env_file = self.sim.work.join(format!("app-{n}.env"));
        let mut text = String::new();
        for (k, v) in app_secret["data"].as_object().unwrap() {
            text.push_str(&format!("{k}={}\n", v.as_str().unwrap()));
        }
        fs::write(&env_file, text).unwrap();
        let client_tls = objects
            .iter()
            .find(|o| {
                o["kind"] == "Secret"
                    && o["metadata"]["name"]
                        .as_str()
                        .unwrap()
                        .ends_with("-client-tls")
            })
            .cloned();
        let mount = app_secret["data"]["REDIS_CA_CERTS"]
            .as_str()
            .unwrap()
            .rsplit_once('/')
            .map(|(d, _)| d.to_owned());
        let site = site_packages();
        let mut a = strings(&[
            "run",
            "--name",
            &name,
            "--network",
            &self.sim.net,
            "--dns",
            &self.sim.dns_ip(),
            "--dns-opt",
            "ndots:5",
            "--user",
            "999:999",
            "--read-only",
            "--cap-drop",
            "ALL",
            "--env-file",
        ]);
        a.push(env_file.display().to_string());
        a.extend([
            "-e".into(),
            "PYTHONPATH=/opt/site".into(),
            "-e".into(),
            "PYTHONDONTWRITEBYTECODE=1".into(),
        ]);
        a.extend(["-v".into(), format!("{}:/opt/site:ro", site.display())]);
        if let (Some(secret), Some(dir)) = (client_tls, mount) {
            let host = self.sim.work.join("volumes").join(format!("app-{n}"));
            fs::create_dir_all(&host).unwrap();
            for (k, v) in secret["data"].as_object().unwrap() {
                let f = host.join(k);
                fs::write(&f, v.as_str().unwrap()).unwrap();
                chown(&f, Some(0), Some(999)).unwrap();
                fs::set_permissions(&f, fs::Permissions::from_mode(0o440)).unwrap();
            }
            a.extend(["-v".into(), format!("{}:{dir}:ro", host.display())]);
        }
        a.extend([
            self.sim.image.clone(),
            "python3".into(),
            "-c".into(),
            APP.into(),
            mode.into(),
        ]);
        (name, a)
    }
}

/// redis-py from the test virtualenv (pure Python): the app container imports it.
fn site_packages() -> PathBuf {
    let python = PathBuf::from(python_bin());
    let venv = python
        .parent()
        .and_then(|b| b.parent())
        .map(Path::to_path_buf)
        .filter(|v| v.join("lib").exists())
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/test-python"));
    let lib = venv.join("lib");
    let py = fs::read_dir(&lib)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with("python3")
        })
        .expect("a python3.x folder in the venv");
    py.join("site-packages")
}

/// The KIMERA app's way to connect, from the app Secret's variables only.
const APP: &str = r#"
import os, sys, redis
from redis.cluster import RedisCluster, ClusterNode
e = os.environ
kw = dict(username=e["REDIS_USERNAME"], password=e["REDIS_PASSWORD"],
          socket_timeout=float(e["REDIS_SOCKET_TIMEOUT"]),
          socket_connect_timeout=float(e["REDIS_SOCKET_CONNECT_TIMEOUT"]),
          decode_responses=True)
if e["REDIS_SSL"] == "true":
    kw.update(ssl=True, ssl_certfile=e["REDIS_SSL_CERTFILE"], ssl_keyfile=e["REDIS_SSL_KEYFILE"],
              ssl_ca_certs=e["REDIS_CA_CERTS"], ssl_cert_reqs=e["REDIS_CERT_REQS"],
              ssl_check_hostname=True)
def make():
    if e["REDIS_CLUSTER_MODE"] == "true":
        nodes = [ClusterNode(h, int(p)) for h, p in (n.rsplit(":", 1) for n in e["REDIS_CLUSTER_NODES"].split(","))]
        return RedisCluster(startup_nodes=nodes, **kw)
    return redis.Redis(host=e["REDIS_HOST"], port=int(e["REDIS_PORT"]), db=int(e["REDIS_DB"]), **kw)
r = make()
if sys.argv[1] == "loop":
    import json, time
    ok = failed = i = 0
    errors = []
    while not os.path.exists("/loop/stop"):
        i += 1
        for fresh in (True, False):
            try:
                c = make() if fresh else r
                c.set("loop%d" % (i % 50), i)
                assert int(c.get("loop%d" % (i % 50))) == i
                if fresh:
                    c.close()
                ok += 1
                with open("/loop/progress", "w") as f:
                    f.write(str(ok))
            except Exception as x:
                failed += 1
                errors.append(("fresh: " if fresh else "pooled: ") + repr(x))
        time.sleep(0.01)
    print(json.dumps(dict(ok=ok, failed=failed, errors=errors[:5])))
    sys.exit(0)
if e["REDIS_CLUSTER_MODE"] == "true":
    owners = {r.get_node_from_key("k%d" % i).name for i in range(200)}
else:
    owners = {e["REDIS_HOST"]}
if sys.argv[1] == "write":
    for i in range(200):
        r.set("k%d" % i, "v%d" % i)
bad = [i for i in range(200) if r.get("k%d" % i) != "v%d" % i]
print("owners=%d bad=%d hosts=%s" % (len(owners), len(bad), ",".join(sorted(owners))))
sys.exit(1 if bad else 0)
"#;

fn load(dir: &Path) -> Vec<Value> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir.join("kubernetes"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
        .iter()
        .filter(|p| !p.ends_with("kustomization.yaml"))
        .map(|p| {
            let mut v = serde_norway::from_str(&fs::read_to_string(p).unwrap()).unwrap();
            decode_secret(&mut v);
            v
        })
        .collect()
}

fn cluster_for(image: &str, work: &Path, dir: &Path) -> (Cluster, Option<Value>) {
    let objects = load(dir);
    let sts = objects
        .iter()
        .find(|o| o["kind"] == "StatefulSet")
        .unwrap()
        .clone();
    let job = objects.iter().find(|o| o["kind"] == "Job").cloned();
    let name = sts["metadata"]["name"].as_str().unwrap().to_owned();
    let ns = sts["metadata"]["namespace"].as_str().unwrap().to_owned();
    let n = sts["spec"]["replicas"].as_u64().unwrap() as usize;
    let headless = sts["spec"]["serviceName"].as_str().unwrap().to_owned();
    let service = objects
        .iter()
        .find(|o| o["kind"] == "Service" && o["spec"]["clusterIP"] != "None")
        .unwrap()["metadata"]["name"]
        .as_str()
        .unwrap()
        .to_owned();
    let cluster = Cluster {
        sim: Sim::new(image, work, objects),
        pods: (0..n).map(|i| format!("{name}-{i}")).collect(),
        sts,
        ns,
        headless,
        service,
        ips: BTreeMap::new(),
    };
    (cluster, job)
}

/// The six-pod TLS cluster (three masters, a replica each) the cluster tests run, in
/// namespace `namespace`, from `image`, plus `extra` flags.
fn generate_tls_cluster(dir: &Path, namespace: &str, image: &str, extra: &[&str]) {
    let mut args = vec![
        "--profile",
        "cluster",
        "--tls",
        "--replicas",
        "1",
        "--nodes",
        "a:7001,b:7002,c:7003,d:7004,e:7005,f:7006",
        "--kubernetes",
        "--namespace",
        namespace,
        "--image",
        image,
        "--out",
        dir.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    generate(&args);
}

#[test]
fn a_tls_cluster_forms_fails_over_and_survives_every_pod_restarting_with_new_ips() {
    let Some(image) = engine() else { return };
    let tmp = tempdir();
    let dir = tmp.path().join("bundle");
    generate_tls_cluster(&dir, "sim", &image, &[]);
    let work = tmp.path().join("cl");
    fs::create_dir_all(&work).unwrap();
    let (mut c, job) = cluster_for(&image, &work, &dir);
    let job = job.expect("a cluster has a Job");
    let t0 = Instant::now();
    c.start_pods(0);
    c.wait_ready(&c.pods.clone(), Duration::from_secs(60));

    let (ok, out) = c.run_job(&job, 1);
    assert!(
        ok && out.contains("Forming the cluster") && out.contains("healthy"),
        "the Job failed:\n{out}"
    );
    let (ok, out) = c.run_job(&job, 2);
    assert!(
        ok && out.contains("already formed") && !out.contains("Forming"),
        "the Job run again:\n{out}"
    );
    assert_eq!(c.settled(), Ok(()));
    eprintln!("formed after {:?}", t0.elapsed());

    let (ok, out) = c.app(1, "write");
    assert!(ok && out.contains("owners=3 bad=0"), "the app:\n{out}");
    // Slots are served under the pods' names, which the certificate carries.
    assert!(
        out.contains(".kimera-redis-headless.sim.svc.cluster.local"),
        "{out}"
    );

    // Stop a master: its replica takes over, the app still reads every key.
    let master = c
        .pods
        .iter()
        .find(|p| String::from_utf8_lossy(&c.probe(p, "role").stdout).starts_with("master"))
        .unwrap()
        .clone();
    docker_ok(&strings(&["stop", "-t", "2", &c.container(&master)]));
    let t1 = Instant::now();
    loop {
        let (ok, out) = c.app(2, "read");
        if ok {
            assert!(out.contains("owners=3 bad=0"), "{out}");
            break;
        }
        assert!(
            t1.elapsed() < Duration::from_secs(90),
            "no failover after {master} stopped:\n{out}"
        );
        std::thread::sleep(Duration::from_secs(2));
    }
    eprintln!("failover of {master} after {:?}", t1.elapsed());

    // Every pod restarts with a new IP (a node-pool upgrade): the start script refreshes
    // the peers' addresses, the cluster returns to ok and keeps every key.
    c.remove_pods();
    let t2 = Instant::now();
    c.start_pods(1);
    c.wait_ready(&c.pods.clone(), Duration::from_secs(60));
    // The Job, run at once, while the cluster settles: it must neither form a second
    // cluster nor call it healthy before every node has found its peers again.
    let (ok, out) = c.run_job(&job, 3);
    assert!(
        ok && out.contains("already formed") && !out.contains("Forming"),
        "the Job right after the restart:\n{out}"
    );
    assert_eq!(
        c.settled(),
        Ok(()),
        "the Job said healthy too early:\n{out}"
    );
    eprintln!(
        "the Job saw the cluster healthy {:?} after restarting every pod",
        t2.elapsed()
    );
    let (ok, out) = c.app(3, "read");
    assert!(
        ok && out.contains("owners=3 bad=0"),
        "after the restart:\n{out}"
    );

    // renew + the kubelet's update: every pod's reloader loads the new certificate
    // within two of its intervals, and bus and replication keep working over it.
    let interval = reload_interval(&c);
    let app_loop = c.start_loop(10);
    let renewed = run(&["renew", dir.to_str().unwrap()]);
    assert!(renewed.status.success(), "{renewed:?}");
    let want = {
        let out = Command::new(python_bin())
            .args([
                "-c",
                "import ssl, sys, hashlib; print(hashlib.sha256(ssl.PEM_cert_to_DER_cert(open(sys.argv[1]).read())).hexdigest())",
            ])
            .arg(dir.join("certs/kubernetes-server.crt"))
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    };
    c.sim.kubelet_update(load(&dir));
    let t3 = Instant::now();
    for pod in c.pods.clone() {
        while c.served(&pod) != want {
            assert!(
                t3.elapsed() < 2 * interval + Duration::from_secs(2),
                "{pod} does not serve the renewed certificate:\n{}",
                c.reloader_log(&pod)
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }
    eprintln!(
        "every pod served the renewed certificate after {:?}",
        t3.elapsed()
    );
    let (ok, out) = c.app(4, "read");
    assert!(ok && out.contains("owners=3 bad=0"), "after renew:\n{out}");

    // Passwords, every user's (the replication user's too), in the two steps.
    let old_objects = c.sim.objects.clone();
    let added = run(&["rotate-password", dir.to_str().unwrap(), "--step", "add"]);
    assert!(added.status.success(), "{added:?}");
    c.sim.kubelet_update(load(&dir));
    std::thread::sleep(2 * interval);
    let (ok, out) = c.app(5, "read");
    assert!(
        ok && out.contains("owners=3 bad=0"),
        "the new password:\n{out}"
    );
    let (ok, failed, errors) = c.finish_loop(&app_loop, 10);
    eprintln!("the app made {ok} requests through renew and add, {failed} failed");
    assert_eq!(failed, 0, "requests failed: {errors}");
    assert!(ok > 20, "the app loop made only {ok} requests");
    let (ok, out) = c.app_with(6, "read", &old_objects);
    assert!(
        ok && out.contains("owners=3 bad=0"),
        "the old password between the steps:\n{out}"
    );
    let dropped = run(&[
        "rotate-password",
        dir.to_str().unwrap(),
        "--step",
        "drop-old",
    ]);
    assert!(dropped.status.success(), "{dropped:?}");
    c.sim.kubelet_update(load(&dir));
    std::thread::sleep(2 * interval);
    let (ok, out) = c.app_with(7, "read", &old_objects);
    assert!(!ok, "the old password is still accepted:\n{out}");
    let (ok, out) = c.app(8, "read");
    assert!(
        ok && out.contains("owners=3 bad=0"),
        "after drop-old:\n{out}"
    );
    // Every replica still in sync: its link authenticated once and stayed up, and one
    // that reconnects now does so with the new replication password (the reloader set
    // masterauth from the mounted file).
    assert_eq!(c.settled(), Ok(()));
    for pod in c.pods.clone() {
        let log = c.reloader_log(&pod);
        assert_eq!(
            log.matches("the mounted Secrets changed: reloaded").count(),
            3,
            "{pod}: {log}"
        );
        assert!(!log.contains("FAILED"), "{pod}: {log}");
        let role = String::from_utf8_lossy(&c.probe(&pod, "role").stdout).into_owned();
        if role.starts_with("slave") {
            let _ = c.probe(&pod, "client kill type master");
        }
    }
    let t4 = Instant::now();
    loop {
        let links: Vec<String> = c
            .pods
            .iter()
            .map(|p| String::from_utf8_lossy(&c.probe(p, "info replication").stdout).into_owned())
            .filter(|i| i.contains("role:slave"))
            .collect();
        if links.len() == 3 && links.iter().all(|i| i.contains("master_link_status:up")) {
            break;
        }
        assert!(
            t4.elapsed() < Duration::from_secs(30),
            "a replica did not reconnect with the new replication password: {links:?}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    eprintln!("whole run {:?}", t0.elapsed());
}

#[test]
fn production_tls_runs_as_one_pod_and_keeps_its_keys_across_a_restart() {
    let Some(image) = engine() else { return };
    let tmp = tempdir();
    let dir = tmp.path().join("bundle");
    generate(&[
        "--profile",
        "production-tls",
        "--kubernetes",
        "--image",
        &image,
        "--out",
        dir.to_str().unwrap(),
    ]);
    let work = tmp.path().join("pt");
    fs::create_dir_all(&work).unwrap();
    let (mut c, job) = cluster_for(&image, &work, &dir);
    assert!(job.is_none());
    assert_eq!(c.pods.len(), 1);
    c.start_pods(0);
    c.wait_ready(&c.pods.clone(), Duration::from_secs(30));
    let (ok, out) = c.app(1, "write");
    assert!(
        ok && out.contains("bad=0") && out.contains("hosts=kimera-redis.kimera.svc.cluster.local"),
        "the app:\n{out}"
    );
    // A restart with a new IP (SIGTERM saves the snapshot to the data volume).
    c.remove_pods();
    c.start_pods(1);
    c.wait_ready(&c.pods.clone(), Duration::from_secs(30));
    let (ok, out) = c.app(2, "read");
    assert!(ok && out.contains("bad=0"), "after the restart:\n{out}");

    // Rotation with no restart: renew, apply, the kubelet swaps the Secret's ..data, and
    // the reloader sidecar loads it within two of its intervals.
    let pod = c.pods[0].clone();
    let interval = reload_interval(&c);
    let pem_sha = |rel: &str| {
        let out = Command::new(python_bin())
            .args([
                "-c",
                "import ssl, sys, hashlib; print(hashlib.sha256(ssl.PEM_cert_to_DER_cert(open(sys.argv[1]).read())).hexdigest())",
            ])
            .arg(dir.join(rel))
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    };
    let wait_served = |c: &Cluster, want: &str, what: &str| {
        let start = Instant::now();
        while c.served(&pod) != want {
            assert!(
                start.elapsed() < 2 * interval + Duration::from_secs(2),
                "{what}: not served within two reload intervals; reloader log:\n{}",
                c.reloader_log(&pod)
            );
            std::thread::sleep(Duration::from_millis(250));
        }
        start.elapsed()
    };
    wait_served(
        &c,
        &pem_sha("certs/kubernetes-server.crt"),
        "the first certificate",
    );
    let app_loop = c.start_loop(10);
    let renewed = run(&["renew", dir.to_str().unwrap()]);
    assert!(renewed.status.success(), "{renewed:?}");
    let new_cert = pem_sha("certs/kubernetes-server.crt");
    assert_ne!(c.served(&pod), new_cert);
    c.sim.kubelet_update(load(&dir));
    let took = wait_served(&c, &new_cert, "the renewed certificate");
    eprintln!("the renewed certificate was served {took:?} after the kubelet's update");
    let (ok, out) = c.app(3, "read");
    assert!(ok && out.contains("bad=0"), "after renew:\n{out}");

    // Passwords: add, then the app with the new Secret works and one with the old too.
    let old_objects = c.sim.objects.clone();
    let added = run(&["rotate-password", dir.to_str().unwrap(), "--step", "add"]);
    assert!(added.status.success(), "{added:?}");
    c.sim.kubelet_update(load(&dir));
    let start = Instant::now();
    loop {
        let (ok, out) = c.app(4, "read");
        if ok {
            assert!(out.contains("bad=0"), "{out}");
            break;
        }
        assert!(
            start.elapsed() < 2 * interval + Duration::from_secs(2),
            "the new password is not accepted within two reload intervals:\n{out}\nreloader log:\n{}",
            c.reloader_log(&pod)
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    let (ok, out) = c.app_with(5, "read", &old_objects);
    assert!(
        ok && out.contains("bad=0"),
        "the old password between the steps:\n{out}"
    );
    // The app that ran through both updates (with the Secrets it started with) never
    // saw a request fail.
    let (ok, failed, errors) = c.finish_loop(&app_loop, 10);
    eprintln!("the app made {ok} requests through renew and add, {failed} failed");
    assert_eq!(failed, 0, "requests failed: {errors}");
    assert!(ok > 20, "the app loop made only {ok} requests");
    // drop-old: the old password is refused once the reloader ran, the new one works.
    let dropped = run(&[
        "rotate-password",
        dir.to_str().unwrap(),
        "--step",
        "drop-old",
    ]);
    assert!(dropped.status.success(), "{dropped:?}");
    c.sim.kubelet_update(load(&dir));
    let start = Instant::now();
    loop {
        let (ok, out) = c.app_with(6, "read", &old_objects);
        if !ok {
            assert!(
                out.contains("WRONGPASS") || out.contains("AuthenticationError"),
                "{out}"
            );
            break;
        }
        assert!(
            start.elapsed() < 2 * interval + Duration::from_secs(2),
            "the old password is still accepted after two reload intervals\nreloader log:\n{}",
            c.reloader_log(&pod)
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    let (ok, out) = c.app(7, "read");
    assert!(ok && out.contains("bad=0"), "after drop-old:\n{out}");
    let log = c.reloader_log(&pod);
    assert_eq!(
        log.matches("the mounted Secrets changed: reloaded").count(),
        3,
        "{log}"
    );
    assert!(!log.contains("FAILED"), "{log}");
    let verify = run(&["verify", dir.to_str().unwrap()]);
    assert!(verify.status.success(), "{verify:?}");
}

/// The reloader's interval, as its script in the ConfigMap says.
fn reload_interval(c: &Cluster) -> Duration {
    let script = c
        .sim
        .objects
        .iter()
        .find(|o| o["kind"] == "ConfigMap")
        .unwrap()["data"]["reload.sh"]
        .as_str()
        .unwrap()
        .to_owned();
    let secs = script
        .lines()
        .find_map(|l| l.strip_prefix("interval="))
        .expect("the script sets its interval")
        .parse()
        .unwrap();
    Duration::from_secs(secs)
}

/// The Valkey 9.1 image (scripts/server-images.sh), which has valkey-server and
/// valkey-cli only: the pods start, pass their probes, the reloader runs, and the Job
/// forms the cluster, each with Valkey's own programs.
#[test]
fn a_valkey_tls_cluster_starts_and_forms_with_valkeys_own_programs() {
    // The simulation's own helpers (its DNS server) run in the suite's image, which has
    // python3; the pods and the Job run the image the manifests name.
    let Some(helpers) = engine() else { return };
    let servers = std::env::var("KIMERA_TEST_SERVERS").unwrap_or_default();
    let Some(image) = servers
        .split_whitespace()
        .find_map(|pair| pair.strip_prefix("valkey-9.1="))
    else {
        common::skip("valkey-9.1 is not in KIMERA_TEST_SERVERS");
        return;
    };
    let tmp = tempdir();
    let dir = tmp.path().join("bundle");
    let valkey = ["--server", "valkey", "--server-version", "9.1"];
    generate_tls_cluster(&dir, "simvk", image, &valkey);
    let work = tmp.path().join("vk");
    fs::create_dir_all(&work).unwrap();
    let (mut c, job) = cluster_for(&helpers, &work, &dir);
    let job = job.expect("a cluster has a Job");
    c.start_pods(0);
    c.wait_ready(&c.pods.clone(), Duration::from_secs(60));
    let (ok, out) = c.run_job(&job, 1);
    assert!(
        ok && out.contains("Forming the cluster") && out.contains("healthy"),
        "the Job failed:\n{out}"
    );
    assert_eq!(c.settled(), Ok(()));
    for pod in c.pods.clone() {
        let logs = docker(&strings(&["logs", &c.container(&pod)]));
        let text = String::from_utf8_lossy(&logs.stdout).into_owned()
            + &String::from_utf8_lossy(&logs.stderr);
        assert!(text.contains("Valkey version=9.1."), "{pod}:\n{text}");
        let warnings: Vec<&str> = text
            .lines()
            .filter(|l| l.to_ascii_lowercase().contains("warning") && !l.contains("overcommit"))
            .collect();
        assert!(warnings.is_empty(), "{pod}: {warnings:#?}");
    }
}
