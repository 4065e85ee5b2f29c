//! `--kubernetes`: the manifests are valid for the current and the oldest supported
//! Kubernetes (kubernetes-validate --strict, offline schemas), carry the security
//! properties users expect (checked on the parsed YAML), and bad input is refused.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::*;
use serde_json::Value;

/// The newest Kubernetes minor and the oldest one still supported upstream (the three
/// newest minors are maintained) when this was written.
const K8S_VERSIONS: [&str; 2] = ["1.37.0", "1.35.0"];

const CLUSTER6: &str = "a:7001,b:7002,c:7003,d:7004,e:7005,f:7006";

/// kubernetes-validate from the test virtualenv (scripts/test.sh installs it); `None`
/// skips locally, and under CI=true its absence fails.
fn validator() -> Option<PathBuf> {
    let python = PathBuf::from(python_bin());
    let beside = python.parent().map(|d| d.join("kubernetes-validate"));
    let local = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("target/test-python/bin/kubernetes-validate");
    let found = beside
        .filter(|p| p.exists())
        .or(Some(local).filter(|p| p.exists()));
    if found.is_none() {
        skip("kubernetes-validate is not installed");
    }
    found
}

fn gen_k8s(dir: &Path, args: &[&str]) {
    let mut all = args.to_vec();
    all.extend(["--kubernetes", "--out", dir.to_str().unwrap()]);
    generate(&all);
}

/// Every manifest of `dir/kubernetes` parsed, by file name.
fn manifests(dir: &Path) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    for e in fs::read_dir(dir.join("kubernetes")).unwrap() {
        let p = e.unwrap().path();
        let text = fs::read_to_string(&p).unwrap();
        let mut v: Value = serde_norway::from_str(&text)
            .unwrap_or_else(|e| panic!("{} does not parse: {e}", p.display()));
        decode_secret(&mut v);
        out.insert(p.file_name().unwrap().to_str().unwrap().to_owned(), v);
    }
    out
}

fn setups() -> Vec<(&'static str, Vec<&'static str>)> {
    vec![
        ("production-tls", vec!["--profile", "production-tls"]),
        (
            "cluster-tls",
            vec![
                "--profile",
                "cluster",
                "--tls",
                "--nodes",
                CLUSTER6,
                "--replicas",
                "1",
            ],
        ),
        ("cluster-plain", vec!["--profile", "cluster"]),
        (
            "cluster-tls-metrics",
            vec!["--profile", "cluster", "--tls", "--metrics"],
        ),
        (
            "high-performance-metrics",
            vec!["--profile", "high-performance", "--metrics"],
        ),
        ("high-performance", vec!["--profile", "high-performance"]),
        (
            "high-performance-tls",
            vec![
                "--profile",
                "high-performance",
                "--tls",
                "--namespace",
                "kimera-prod",
                "--cluster-domain",
                "k8s.example.internal",
                "--name",
                "cache",
                "--storage",
                "10Gi",
                "--storage-class",
                "fast-ssd",
            ],
        ),
    ]
}

fn validate(tool: &Path, version: &str, files: &[PathBuf]) -> std::process::Output {
    Command::new(tool)
        .args(["--strict", "-k", version])
        .args(files)
        .output()
        .expect("kubernetes-validate runs")
}

#[test]
fn every_manifest_passes_kubernetes_validate_strict() {
    let Some(tool) = validator() else { return };
    let tmp = tempdir();
    for (name, args) in setups() {
        let dir = tmp.path().join(name);
        gen_k8s(&dir, &args);
        let mut files: Vec<PathBuf> = fs::read_dir(dir.join("kubernetes"))
            .unwrap()
            .map(|e| e.unwrap().path())
            // kustomization.yaml is kustomize's, not an API object: checked below instead.
            .filter(|p| !p.ends_with("kustomization.yaml"))
            .collect();
        files.sort();
        // Namespace, four Secrets (three without TLS), ConfigMap, two Services,
        // StatefulSet; a cluster adds its PodDisruptionBudget and Job.
        assert!(files.len() >= 7, "{name}: only {files:?}");
        for version in K8S_VERSIONS {
            let out = validate(&tool, version, &files);
            let text = String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr);
            assert!(out.status.success(), "{name} against {version}:\n{text}");
            for f in &files {
                let file = f.file_name().unwrap().to_str().unwrap();
                assert!(
                    text.lines()
                        .any(|l| l.contains(file) && l.contains("passed")),
                    "{name} {version}: {file} not reported as passed:\n{text}"
                );
            }
        }
    }
    // The validator rejects what the API server would: a misspelt field fails --strict.
    let dir = tmp.path().join("production-tls/kubernetes");
    let sts = fs::read_to_string(dir.join("statefulset.yaml")).unwrap();
    let broken = dir.join("broken.yaml");
    fs::write(
        &broken,
        sts.replace("readOnlyRootFilesystem", "readOnlyRootFileSystem"),
    )
    .unwrap();
    let out = validate(&tool, K8S_VERSIONS[0], &[broken]);
    assert!(!out.status.success(), "a misspelt field passed --strict");
}

/// The pod spec of a StatefulSet or Job.
fn pod_spec(v: &Value) -> &Value {
    &v["spec"]["template"]["spec"]
}

/// One setup of `setups()`, generated with `--kubernetes` and its manifests parsed.
struct Setup {
    name: &'static str,
    dir: PathBuf,
    m: BTreeMap<String, Value>,
    env: std::collections::HashMap<String, String>,
    tls: bool,
    cluster: bool,
}

/// Generate every setup of `setups()` into a fresh folder and run `check` on each.
fn each_setup(check: impl Fn(&Setup)) {
    let tmp = tempdir();
    for (name, args) in setups() {
        let dir = tmp.path().join(name);
        gen_k8s(&dir, &args);
        let setup = Setup {
            name,
            m: manifests(&dir),
            env: read_env(&dir),
            tls: name.contains("tls"),
            cluster: name.starts_with("cluster"),
            dir,
        };
        check(&setup);
    }
}

/// Every password the setup holds: the app's, the admin's, the replication user's (a
/// cluster's masterauth) and the metrics user's.
fn passwords(dir: &Path, env: &std::collections::HashMap<String, String>) -> Vec<String> {
    let admin = fs::read_to_string(dir.join("admin.env")).unwrap();
    let admin_pw = admin
        .lines()
        .find_map(|l| l.strip_prefix("REDIS_ADMIN_PASSWORD="))
        .unwrap()
        .to_owned();
    let mut secrets = vec![env["REDIS_PASSWORD"].clone(), admin_pw];
    if let Some(conf) = fs::read_dir(dir.join("nodes"))
        .ok()
        .and_then(|mut d| d.next())
    {
        let conf = fs::read_to_string(conf.unwrap().path().join("redis.conf")).unwrap();
        let pw = conf
            .lines()
            .find_map(|l| l.strip_prefix("masterauth "))
            .unwrap();
        secrets.push(pw.trim_matches('"').to_owned());
    }
    // The metrics user's password (--metrics), from the first metrics.env there is.
    let metrics_env = std::iter::once(dir.join("metrics.env"))
        .chain(
            fs::read_dir(dir.join("nodes"))
                .into_iter()
                .flatten()
                .map(|e| e.unwrap().path().join("metrics.env")),
        )
        .find(|p| p.exists());
    if let Some(p) = metrics_env {
        let text = fs::read_to_string(p).unwrap();
        let pw = text
            .lines()
            .find_map(|l| l.strip_prefix("REDIS_PASSWORD="))
            .unwrap();
        secrets.push(pw.to_owned());
    }
    secrets
}

/// Every line of the base64 body of the setup's private keys.
fn private_key_lines(dir: &Path) -> Vec<String> {
    // Private keys: every line of their base64 body is a secret too.
    let mut key_lines = Vec::new();
    for key in [
        "certs/kubernetes-server.key",
        "certs/redis-client.key",
        "certs/redis-metrics.key",
        "certs/ca.key",
    ] {
        if let Ok(pem) = fs::read_to_string(dir.join(key)) {
            key_lines.extend(
                pem.lines()
                    .filter(|l| !l.starts_with("-----"))
                    .map(String::from),
            );
        }
    }
    key_lines
}

/// Secrets are 0600 and the only manifests with a password or a private key; the CA key
/// is in none; kustomization.yaml lists every other file.
#[test]
fn only_secrets_hold_secrets_and_the_kustomization_lists_every_manifest() {
    each_setup(|s| {
        let Setup {
            name,
            dir,
            m,
            env,
            tls,
            ..
        } = s;
        let (name, tls) = (*name, *tls);
        let secrets = passwords(dir, env);
        let key_lines = private_key_lines(dir);
        assert_eq!(
            dir.join("certs/kubernetes-server.key").exists(),
            tls,
            "{name}"
        );

        // Kustomization lists every other file, and nothing else.
        let listed: Vec<String> = m["kustomization.yaml"]["resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect();
        let mut others: Vec<String> = m
            .keys()
            .filter(|k| *k != "kustomization.yaml")
            .cloned()
            .collect();
        let mut sorted = listed.clone();
        sorted.sort();
        others.sort();
        assert_eq!(sorted, others, "{name}: kustomization resources");

        for (file, v) in m {
            let text = fs::read_to_string(dir.join("kubernetes").join(file)).unwrap();
            let mode = fs::metadata(dir.join("kubernetes").join(file))
                .unwrap()
                .permissions()
                .mode()
                & 0o777;
            let is_secret = v["kind"] == "Secret";
            assert_eq!(
                mode,
                if is_secret { 0o600 } else { 0o644 },
                "{name}/{file} mode"
            );
            // The CA key never goes into the cluster.
            if let Ok(ca_key) = fs::read_to_string(dir.join("certs/ca.key")) {
                let body = ca_key.lines().nth(1).unwrap();
                assert!(!text.contains(body), "{name}/{file} holds the CA key");
            }
            if !is_secret {
                for s in &secrets {
                    assert!(!text.contains(s.as_str()), "{name}/{file} holds a password");
                }
                for l in &key_lines {
                    assert!(
                        !text.contains(l.as_str()),
                        "{name}/{file} holds a private key"
                    );
                }
            }
        }
    });
}

/// `kubernetes.io/tls` Secrets with tls.crt, tls.key and ca.crt, the folder's files.
#[test]
fn tls_secrets_have_the_layout_charts_and_operators_read() {
    each_setup(|s| {
        let Setup {
            name, dir, m, tls, ..
        } = s;
        let (name, tls) = (*name, *tls);
        // TLS Secrets in the layout charts and operators read.
        for secret in ["secret-server-tls.yaml", "secret-client-tls.yaml"] {
            match m.get(secret) {
                Some(s) if tls => {
                    assert_eq!(s["type"], "kubernetes.io/tls", "{name}/{secret}");
                    for k in ["tls.crt", "tls.key", "ca.crt"] {
                        let val = s["data"][k]
                            .as_str()
                            .unwrap_or_else(|| panic!("{name}/{secret} lacks {k}"));
                        assert!(val.starts_with("-----BEGIN "), "{name}/{secret} {k}");
                    }
                    assert_eq!(
                        s["data"]["ca.crt"].as_str().unwrap(),
                        fs::read_to_string(dir.join("certs/ca.crt")).unwrap()
                    );
                }
                Some(_) => panic!("{name}: {secret} without TLS"),
                None => assert!(!tls, "{name}: {secret} missing"),
            }
        }
        if tls {
            let s = &m["secret-server-tls.yaml"]["data"];
            assert_eq!(
                s["tls.crt"].as_str().unwrap(),
                fs::read_to_string(dir.join("certs/kubernetes-server.crt")).unwrap()
            );
            assert_eq!(
                s["tls.key"].as_str().unwrap(),
                fs::read_to_string(dir.join("certs/kubernetes-server.key")).unwrap()
            );
        }
    });
}

/// Non-root, read-only root, no capabilities, resources, read-only mounts of Secrets
/// that are not world-readable, and no password in any container spec.
#[test]
fn pods_and_the_job_run_restricted_with_no_password_in_their_spec() {
    each_setup(|s| {
        let Setup {
            name, dir, m, env, ..
        } = s;
        let name = *name;
        let secrets = passwords(dir, env);
        let sts = &m["statefulset.yaml"];
        let mut pods = vec![("statefulset", pod_spec(sts))];
        if let Some(job) = m.get("job-cluster-create.yaml") {
            pods.push(("job", pod_spec(job)));
        }
        assert_eq!(
            m.contains_key("job-cluster-create.yaml"),
            name.starts_with("cluster")
        );
        for (what, spec) in &pods {
            let sc = &spec["securityContext"];
            assert_eq!(sc["runAsNonRoot"], true, "{name} {what}");
            assert!(sc["runAsUser"].as_u64().unwrap() > 0, "{name} {what}");
            assert!(sc["fsGroup"].as_u64().unwrap() > 0, "{name} {what}");
            assert_eq!(
                sc["seccompProfile"]["type"], "RuntimeDefault",
                "{name} {what}"
            );
            let volumes = spec["volumes"].as_array().unwrap();
            for c in spec["containers"].as_array().unwrap() {
                let csc = &c["securityContext"];
                assert_eq!(csc["readOnlyRootFilesystem"], true, "{name} {what}");
                assert_eq!(csc["allowPrivilegeEscalation"], false, "{name} {what}");
                assert_eq!(
                    csc["capabilities"]["drop"],
                    serde_json::json!(["ALL"]),
                    "{name} {what}"
                );
                assert!(
                    c["resources"]["requests"]["cpu"].is_string(),
                    "{name} {what}"
                );
                assert!(
                    c["resources"]["requests"]["memory"].is_string(),
                    "{name} {what}"
                );
                // No secret in an env value, the command line or a probe.
                let spec_text = serde_json::to_string(c).unwrap();
                for s in &secrets {
                    assert!(
                        !spec_text.contains(s.as_str()),
                        "{name} {what}: a password in the container spec"
                    );
                }
                for e in c["env"].as_array().into_iter().flatten() {
                    assert!(e.get("value").is_none() || !e["value"].as_str().unwrap().is_empty());
                }
                // A container may mount nothing (a plain setup's metrics sidecar).
                for mnt in c["volumeMounts"].as_array().into_iter().flatten() {
                    assert!(
                        mnt.get("subPath").is_none() && mnt.get("subPathExpr").is_none(),
                        "{name} {what}: subPath on {mnt}"
                    );
                    let Some(vol) = volumes.iter().find(|v| v["name"] == mnt["name"]) else {
                        // Only the data volume comes from volumeClaimTemplates.
                        assert_eq!(mnt["name"], "data", "{name} {what}: {mnt}");
                        continue;
                    };
                    if vol.get("secret").is_some() || vol.get("configMap").is_some() {
                        assert_eq!(mnt["readOnly"], true, "{name} {what}: {mnt}");
                    }
                    if let Some(mode) = vol["secret"]["defaultMode"].as_u64() {
                        assert_eq!(
                            mode & 0o007,
                            0,
                            "{name} {what}: world-readable Secret {vol}"
                        );
                    }
                }
            }
        }
    });
}

/// Every file redis.conf, the start command or a probe names is a key of a mounted
/// Secret or ConfigMap; probes log in with a password read from a file.
#[test]
fn every_file_a_config_script_or_probe_names_is_mounted() {
    each_setup(|s| {
        let Setup { name, m, tls, .. } = s;
        let (name, tls) = (*name, *tls);
        let cm = &m["configmap.yaml"]["data"];
        let sts = &m["statefulset.yaml"];
        // key of the mounted Secret or ConfigMap.
        let spec = pod_spec(sts);
        let container = &spec["containers"][0];
        let resolve = |path: &str| -> bool {
            container["volumeMounts"]
                .as_array()
                .unwrap()
                .iter()
                .any(|mnt| {
                    let Some(rest) =
                        path.strip_prefix(&format!("{}/", mnt["mountPath"].as_str().unwrap()))
                    else {
                        return false;
                    };
                    let Some(vol) = spec["volumes"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .find(|v| v["name"] == mnt["name"])
                    else {
                        return mnt["name"] == "data" && path.starts_with("/data/");
                    };
                    let source = if let Some(sn) = vol["secret"]["secretName"].as_str() {
                        m.values()
                            .find(|o| o["kind"] == "Secret" && o["metadata"]["name"] == sn)
                            .map(|o| &o["data"])
                    } else if let Some(cn) = vol["configMap"]["name"].as_str() {
                        m.values()
                            .find(|o| o["kind"] == "ConfigMap" && o["metadata"]["name"] == cn)
                            .map(|o| &o["data"])
                    } else {
                        return mnt["mountPath"] == "/data";
                    };
                    source.is_some_and(|s| s.get(rest).is_some())
                })
        };
        let conf = cm["redis.conf"].as_str().unwrap();
        let mut named = 0;
        for line in conf.lines().filter(|l| !l.starts_with('#')) {
            let mut words = line.split_whitespace();
            let (Some(key), Some(val)) = (words.next(), words.next()) else {
                continue;
            };
            if [
                "tls-cert-file",
                "tls-key-file",
                "tls-ca-cert-file",
                "aclfile",
                "include",
                "cluster-config-file",
            ]
            .contains(&key)
            {
                named += 1;
                assert!(
                    resolve(val),
                    "{name}: redis.conf {key} {val} is not a mounted file"
                );
            }
        }
        assert_eq!(
            named,
            if tls { 4 } else { 1 } + usize::from(name.starts_with("cluster")) * 2,
            "{name}"
        );
        assert!(
            !conf.contains("masterauth"),
            "{name}: masterauth in the ConfigMap"
        );
        let command = container["command"].as_array().unwrap();
        assert!(
            resolve(command[1].as_str().unwrap()),
            "{name}: command {command:?}"
        );
        // Probes authenticate with the password read from a mounted file (over TLS with TLS).
        for probe in ["readinessProbe", "livenessProbe"] {
            let cmd = container[probe]["exec"]["command"].as_array().unwrap();
            let line = cmd.last().unwrap().as_str().unwrap();
            let file = line
                .split("$(cat ")
                .nth(1)
                .and_then(|r| r.split(')').next())
                .unwrap_or_else(|| panic!("{name}: {probe} reads no file: {line}"));
            assert!(
                resolve(file),
                "{name}: {probe} reads {file}, not a mounted Secret key"
            );
            assert!(
                line.contains("REDISCLI_AUTH=") && line.contains("--user "),
                "{name}: {probe}"
            );
            assert_eq!(line.contains("--tls"), tls, "{name}: {probe}");
            for f in line
                .split_whitespace()
                .filter(|w| w.starts_with("/etc/"))
                .map(|w| w.trim_end_matches(")\""))
            {
                assert!(resolve(f), "{name}: {probe} names {f}, not mounted");
            }
        }
    });
}

/// Anti-affinity for every setup; a PodDisruptionBudget, a parallel start and POD_NAME
/// for a cluster only.
#[test]
fn a_single_server_carries_nothing_of_the_clusters() {
    each_setup(|s| {
        let Setup { name, dir, m, .. } = s;
        let name = *name;
        let sts = &m["statefulset.yaml"];
        let spec = pod_spec(sts);
        let container = &spec["containers"][0];
        // Pods keep to different nodes where they can, and a drain takes one cluster pod
        // at a time. A single server carries nothing of the cluster's: no budget that
        // protects nothing on one pod, no parallel start, no pod name it never reads.
        assert_eq!(
            spec["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"]
                [0]["podAffinityTerm"]["topologyKey"],
            "kubernetes.io/hostname"
        );
        let cluster = name.starts_with("cluster");
        let sts_text = fs::read_to_string(dir.join("kubernetes/statefulset.yaml")).unwrap();
        let kustomization = fs::read_to_string(dir.join("kubernetes/kustomization.yaml")).unwrap();
        if cluster {
            assert_eq!(m["poddisruptionbudget.yaml"]["spec"]["maxUnavailable"], 1);
            assert_eq!(sts["spec"]["podManagementPolicy"], "Parallel");
            let env = container["env"].as_array().unwrap();
            assert_eq!(env.len(), 1, "{name}: {env:?}");
            assert_eq!(env[0]["name"], "POD_NAME");
            // As the API server defaults it: server-side apply then owns the field.
            assert_eq!(
                env[0]["valueFrom"]["fieldRef"],
                serde_json::json!({"apiVersion": "v1", "fieldPath": "metadata.name"})
            );
        } else {
            assert!(!m.contains_key("poddisruptionbudget.yaml"), "{name}");
            assert!(!kustomization.contains("poddisruptionbudget"), "{name}");
            assert!(sts["spec"].get("podManagementPolicy").is_none(), "{name}");
            for word in ["Parallel", "POD_NAME", "start them together"] {
                assert!(
                    !sts_text.contains(word),
                    "{name}: {word} in statefulset.yaml"
                );
            }
            assert!(container.get("env").is_none(), "{name}");
        }
    });
}

/// The cluster-create Job mounts its own client certificate, never the app's.
#[test]
fn the_cluster_job_logs_in_with_a_certificate_of_its_own() {
    each_setup(|s| {
        let Setup {
            name, dir, m, tls, ..
        } = s;
        let (name, tls) = (*name, *tls);
        // The cluster-create Job logs in with a certificate of its own, never the app's.
        if let Some(job) = m.get("job-cluster-create.yaml").filter(|_| tls) {
            let volumes = pod_spec(job)["volumes"].as_array().unwrap().clone();
            let secrets: Vec<&str> = volumes
                .iter()
                .filter_map(|v| v["secret"]["secretName"].as_str())
                .collect();
            assert!(
                secrets.iter().any(|n| n.ends_with("-job-tls")),
                "{name}: {secrets:?}"
            );
            assert!(
                !secrets.iter().any(|n| n.ends_with("-client-tls")),
                "{name}: the Job mounts the app's certificate"
            );
            let job_tls = &m["secret-job-tls.yaml"]["data"];
            let job_crt = fs::read_to_string(dir.join("certs/kubernetes-job.crt")).unwrap();
            assert_eq!(job_tls["tls.crt"], job_crt.as_str());
            assert_eq!(
                job_tls["tls.key"],
                fs::read_to_string(dir.join("certs/kubernetes-job.key"))
                    .unwrap()
                    .as_str()
            );
            let app_key = fs::read_to_string(dir.join("certs/redis-client.key")).unwrap();
            assert_ne!(job_tls["tls.key"], app_key.as_str());
        } else {
            assert!(!m.contains_key("secret-job-tls.yaml"), "{name}");
            assert!(!dir.join("certs/kubernetes-job.crt").exists(), "{name}");
        }
    });
}

/// The reloader runs the server's image and reload.sh from the ConfigMap, mounts what the
/// server mounts, and never replays users.acl with ACL LOAD.
#[test]
fn the_reloader_sidecar_reloads_from_the_same_mounted_secrets() {
    each_setup(|s| {
        let Setup {
            name,
            m,
            tls,
            cluster,
            ..
        } = s;
        let (name, tls, cluster) = (*name, *tls, *cluster);
        let cm = &m["configmap.yaml"]["data"];
        let sts = &m["statefulset.yaml"];
        let spec = pod_spec(sts);
        let container = &spec["containers"][0];
        // The reloader sidecar: the server's image, its script from the ConfigMap, the
        // same Secret folders as the server, a liveness probe for a failed reload, and no
        // password on its command line (redis-cli gets them by environment or stdin).
        let containers = spec["containers"].as_array().unwrap();
        let metrics = usize::from(name.contains("metrics"));
        assert_eq!(containers.len(), 2 + metrics, "{name}");
        let reloader = containers.iter().find(|c| c["name"] == "reloader").unwrap();
        assert_eq!(reloader["name"], "reloader");
        assert_eq!(reloader["image"], container["image"]);
        assert!(
            reloader["command"][1]
                .as_str()
                .unwrap()
                .ends_with("/reload.sh"),
            "{name}"
        );
        assert!(
            reloader["livenessProbe"]["exec"]["command"][2]
                .as_str()
                .unwrap()
                .contains("/failed")
        );
        let script = cm["reload.sh"].as_str().unwrap();
        assert!(script.contains("REDISCLI_AUTH=$1") && script.contains("resetpass"));
        assert!(!script.contains("acl load") && !script.contains("ACL LOAD\n"));
        assert_eq!(
            script.contains("-x config set masterauth"),
            cluster,
            "{name}"
        );
        assert_eq!(script.contains("tls-cert-file"), tls, "{name}");
        let mounts = |c: &Value| -> Vec<String> {
            c["volumeMounts"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["mountPath"].as_str().unwrap().to_owned())
                .collect()
        };
        for path in mounts(container).iter().filter(|p| p.starts_with("/etc/")) {
            assert!(
                mounts(reloader).contains(path),
                "{name}: reloader lacks {path}"
            );
        }
    });
}

/// Claim templates as the API server defaults them, Secrets as data only, and a
/// headless Service that publishes pods before they are ready.
#[test]
fn manifests_are_written_as_the_api_server_stores_them() {
    each_setup(|s| {
        let Setup { name, dir, m, .. } = s;
        let name = *name;
        let sts = &m["statefulset.yaml"];
        // Claim templates written as the API server defaults them.
        let claim = &sts["spec"]["volumeClaimTemplates"][0];
        assert_eq!(claim["apiVersion"], "v1");
        assert_eq!(claim["kind"], "PersistentVolumeClaim");
        assert_eq!(claim["spec"]["volumeMode"], "Filesystem");
        // Every Secret is written as data only (see decode_secret), every value base64.
        for (file, o) in m {
            if o["kind"] == "Secret" {
                let raw = fs::read_to_string(dir.join("kubernetes").join(file)).unwrap();
                assert!(!raw.contains("stringData"), "{name}/{file}");
            }
        }
        assert_eq!(m["service-headless.yaml"]["spec"]["clusterIP"], "None");
        assert_eq!(
            m["service-headless.yaml"]["spec"]["publishNotReadyAddresses"],
            true
        );
    });
}

/// The app Secret: every `.env` variable, REDIS_URL built from its own values, paths
/// where the app mounts its client Secret, and a cluster's startup nodes.
#[test]
fn the_app_secret_carries_every_env_variable_for_the_apps_pod() {
    each_setup(|s| {
        let Setup {
            name, m, env, tls, ..
        } = s;
        let (name, tls) = (*name, *tls);
        let sts = &m["statefulset.yaml"];
        let spec = pod_spec(sts);
        let container = &spec["containers"][0];

        // The app Secret: paths where the app mounts its client Secret, a startup node
        // list that survives one pod going away.
        let app = &m["secret-app.yaml"]["data"];
        assert_eq!(app["REDIS_PASSWORD"], env["REDIS_PASSWORD"].as_str());
        // Every variable .env has, REDIS_URL included, built from the Secret's own values.
        let mut in_secret: Vec<&str> = app
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let mut in_env: Vec<&str> = env.keys().map(String::as_str).collect();
        in_secret.sort();
        in_env.sort();
        assert_eq!(in_secret, in_env, "{name}");
        let url = app["REDIS_URL"].as_str().unwrap();
        let first = app["REDIS_CLUSTER_NODES"]
            .as_str()
            .unwrap()
            .split(',')
            .next()
            .unwrap();
        let address = if name.starts_with("cluster") {
            first.to_owned()
        } else {
            format!(
                "{}:{}",
                app["REDIS_HOST"].as_str().unwrap(),
                app["REDIS_PORT"].as_str().unwrap()
            )
        };
        assert!(url.contains(&format!("@{address}")), "{name}: {url}");
        if tls {
            let ca = app["REDIS_CA_CERTS"].as_str().unwrap();
            assert!(url.contains(&format!("ssl_ca_certs={ca}")), "{name}: {url}");
        }
        if tls {
            for k in ["REDIS_SSL_CERTFILE", "REDIS_SSL_KEYFILE", "REDIS_CA_CERTS"] {
                assert!(
                    app[k]
                        .as_str()
                        .unwrap()
                        .starts_with("/etc/kimera/redis-tls/"),
                    "{name} {k}"
                );
            }
        }
        if name.starts_with("cluster") {
            let nodes = app["REDIS_CLUSTER_NODES"].as_str().unwrap();
            assert!(nodes.split(',').count() >= 3, "{name}: {nodes}");
            let args = container["args"].as_array().unwrap();
            assert_eq!(args[0], "--cluster-announce-hostname");
            assert!(args[1].as_str().unwrap().starts_with("$(POD_NAME)."));
        }
    });
}

#[test]
fn the_pods_certificate_names_every_pod_service_and_loopback_for_both_usages() {
    if !have("openssl") {
        return;
    }
    let tmp = tempdir();
    let dir = tmp.path().join("c");
    gen_k8s(
        &dir,
        &[
            "--profile",
            "cluster",
            "--tls",
            "--nodes",
            CLUSTER6,
            "--replicas",
            "1",
            "--namespace",
            "ns1",
            "--cluster-domain",
            "corp.internal",
        ],
    );
    let ca = dir.join("certs/ca.crt");
    let crt = dir.join("certs/kubernetes-server.crt");
    let check = |flag: &str, name: &str, purpose: &str| {
        Command::new("openssl")
            .args([
                "verify",
                "-x509_strict",
                "-purpose",
                purpose,
                flag,
                name,
                "-CAfile",
            ])
            .arg(&ca)
            .arg(&crt)
            .output()
            .unwrap()
            .status
            .success()
    };
    for host in [
        "kimera-redis-0.kimera-redis-headless.ns1.svc.corp.internal",
        "kimera-redis-5.kimera-redis-headless.ns1.svc.corp.internal",
        "kimera-redis.ns1.svc.corp.internal",
        "kimera-redis",
        "localhost",
    ] {
        assert!(check("-verify_hostname", host, "sslserver"), "{host}");
    }
    assert!(check("-verify_ip", "127.0.0.1", "sslserver"));
    assert!(check("-verify_ip", "::1", "sslclient"));
    assert!(!check(
        "-verify_hostname",
        "kimera-redis-0.kimera-redis-headless.ns1.svc.cluster.local",
        "sslserver"
    ));
    // The Job's certificate is a client's under the same CA, and nothing more.
    let job = |purpose: &str| {
        Command::new("openssl")
            .args(["verify", "-x509_strict", "-purpose", purpose, "-CAfile"])
            .arg(&ca)
            .arg(dir.join("certs/kubernetes-job.crt"))
            .output()
            .unwrap()
            .status
            .success()
    };
    assert!(job("sslclient"));
    assert!(!job("sslserver"));
}

#[test]
fn dry_run_and_json_cover_the_manifests_and_reruns_keep_the_keys() {
    let tmp = tempdir();
    let dir = tmp.path().join("p");
    let d = dir.to_str().unwrap();
    let out = generate(&[
        "--profile",
        "production-tls",
        "--kubernetes",
        "--dry-run",
        "--out",
        d,
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("kubernetes/statefulset.yaml")
            && text.contains("certs/kubernetes-server.key"),
        "{text}"
    );
    assert!(!dir.exists(), "--dry-run wrote");
    let out = generate(&[
        "--profile",
        "production-tls",
        "--kubernetes",
        "--json",
        "--out",
        d,
    ]);
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    let files = json["files"].as_array().unwrap();
    let entry = |p: &str| {
        files
            .iter()
            .find(|f| f["path"] == p)
            .unwrap_or_else(|| panic!("{p} not in --json"))
    };
    assert_eq!(entry("kubernetes/secret-server-tls.yaml")["mode"], "0600");
    assert_eq!(entry("kubernetes/configmap.yaml")["mode"], "0644");
    assert!(
        entry("certs/kubernetes-server.crt")["certificate"]["sans"]
            .to_string()
            .contains("localhost")
    );
    let before = snapshot(&dir);
    generate(&["--profile", "production-tls", "--kubernetes", "--out", d]);
    assert_eq!(before, snapshot(&dir), "a re-run changed files");
    // --force issues new leaves but keeps the CA; the Secret carries the new pair.
    generate(&[
        "--profile",
        "production-tls",
        "--kubernetes",
        "--force",
        "--out",
        d,
    ]);
    let after = snapshot(&dir);
    assert_eq!(before["certs/ca.key"], after["certs/ca.key"]);
    assert_ne!(
        before["certs/kubernetes-server.key"],
        after["certs/kubernetes-server.key"]
    );
    let mut secret: Value = serde_norway::from_str(
        &fs::read_to_string(dir.join("kubernetes/secret-server-tls.yaml")).unwrap(),
    )
    .unwrap();
    decode_secret(&mut secret);
    let key = fs::read_to_string(dir.join("certs/kubernetes-server.key")).unwrap();
    assert_eq!(secret["data"]["tls.key"], key.as_str());
}

#[test]
fn bad_kubernetes_input_is_refused_with_exit_2() {
    let cases: &[(&[&str], &str)] = &[
        (
            &["--namespace", "Kimera"],
            "--namespace \"Kimera\": not a DNS-1123 label",
        ),
        (&["--namespace", "a_b"], "--namespace"),
        (
            &["--name", "kimera-redis-with-a-name-that-is-far-too-long"],
            "--name",
        ),
        (&["--name=-x"], "--name \"-x\""),
        (&["--cluster-domain", "cluster..local"], "--cluster-domain"),
        (&["--cluster-domain", "Cluster.Local"], "--cluster-domain"),
        (
            &["--storage", "1gb"],
            "--storage \"1gb\": not a Kubernetes quantity",
        ),
        (&["--storage", "0"], "--storage"),
        (&["--storage-class", "fast ssd"], "--storage-class"),
        (
            &["--app-selector", "tier"],
            "--app-selector tier: allowed: KEY=VALUE",
        ),
        (&["--app-selector=-x=y"], "--app-selector -x=y"),
        (
            &["--app-selector", "a=b,a=c"],
            "--app-selector a: named twice",
        ),
        (&["--app-namespace", "Kimera"], "--app-namespace \"Kimera\""),
    ];
    for (extra, expect) in cases {
        let tmp = tempdir();
        let dir = tmp.path().join("o");
        let mut args = vec![
            "--profile",
            "production-tls",
            "--kubernetes",
            "--out",
            dir.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        let out = run(&args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{extra:?}: {err}");
        assert!(
            err.contains(expect) && err.lines().count() == 1,
            "{extra:?}: {err}"
        );
        assert!(!dir.exists(), "{extra:?} wrote files");
    }
    let tmp = tempdir();
    let dir = tmp.path().join("o");
    let out = run(&[
        "--profile",
        "local-dev",
        "--kubernetes",
        "--out",
        dir.to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("--kubernetes: profile local-dev"), "{err}");
    // The Kubernetes flags mean nothing without --kubernetes.
    let out = run(&[
        "--profile",
        "production-tls",
        "--namespace",
        "x",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(!dir.exists());
}

/// `matchLabels` as a map.
fn match_labels(v: &Value) -> BTreeMap<String, String> {
    v["matchLabels"]
        .as_object()
        .unwrap_or_else(|| panic!("no matchLabels in {v}"))
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
        .collect()
}

/// Whether a selector's labels are all on a pod.
fn selects(selector: &BTreeMap<String, String>, pod: &Value) -> bool {
    selector
        .iter()
        .all(|(k, v)| pod["metadata"]["labels"][k].as_str() == Some(v.as_str()))
}

fn rule_ports(rule: &Value) -> Vec<u64> {
    rule["ports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            assert_eq!(p["protocol"], "TCP");
            p["port"].as_u64().unwrap()
        })
        .collect()
}

fn container_port(pod: &Value, name: &str) -> u64 {
    pod["spec"]["containers"][0]["ports"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .and_then(|p| p["containerPort"].as_u64())
        .unwrap_or_else(|| panic!("no port {name}"))
}

#[test]
fn the_network_policy_selects_the_statefulset_and_admits_the_app_the_peers_and_the_job() {
    let tmp = tempdir();
    for (name, args) in setups() {
        let dir = tmp.path().join(name);
        gen_k8s(&dir, &args);
        let m = manifests(&dir);
        let policy = &m["networkpolicy.yaml"];
        let sts = &m["statefulset.yaml"];
        let pod = &sts["spec"]["template"];
        assert_eq!(policy["kind"], "NetworkPolicy", "{name}");
        assert_eq!(
            policy["metadata"]["namespace"],
            sts["metadata"]["namespace"]
        );
        assert_eq!(
            policy["spec"]["policyTypes"],
            serde_json::json!(["Ingress"])
        );
        // It applies to exactly the StatefulSet's pods.
        let own = match_labels(&policy["spec"]["podSelector"]);
        assert_eq!(own, match_labels(&sts["spec"]["selector"]), "{name}");
        assert!(
            selects(&own, pod),
            "{name}: the policy does not select the pods"
        );
        let client = container_port(pod, "redis");
        let rules = policy["spec"]["ingress"].as_array().unwrap();
        // Every rule names who (an empty `from` would admit everyone) and which ports.
        for r in rules {
            assert!(!r["from"].as_array().unwrap().is_empty(), "{name}: {r}");
        }
        // The app: the default selector (part-of the --name) in the setup's namespace,
        // on the client port only.
        let app = &rules[0];
        assert_eq!(rule_ports(app), [client], "{name}");
        let peer = &app["from"][0];
        assert_eq!(
            match_labels(&peer["podSelector"]),
            BTreeMap::from([(
                "app.kubernetes.io/part-of".to_owned(),
                sts["metadata"]["name"].as_str().unwrap().to_owned()
            )])
        );
        assert_eq!(
            match_labels(&peer["namespaceSelector"]),
            BTreeMap::from([(
                "kubernetes.io/metadata.name".to_owned(),
                sts["metadata"]["namespace"].as_str().unwrap().to_owned()
            )])
        );
        // The Redis pods reach each other: the rule's selector matches the pods.
        let peers = &rules[1];
        assert!(selects(
            &match_labels(&peers["from"][0]["podSelector"]),
            pod
        ));
        assert!(peers["from"][0]["namespaceSelector"].is_null());
        let cluster = m.contains_key("job-cluster-create.yaml");
        // With --metrics, one more rule: Prometheus on the exporters' port (tested below).
        let metrics = usize::from(m.contains_key("secret-metrics.yaml"));
        if cluster {
            // Only they reach the bus; the Job reaches the client port alone.
            assert_eq!(
                rule_ports(peers),
                [client, container_port(pod, "bus")],
                "{name}"
            );
            let job = &m["job-cluster-create.yaml"]["spec"]["template"];
            let job_rule = &rules[2];
            let job_sel = match_labels(&job_rule["from"][0]["podSelector"]);
            assert!(selects(&job_sel, job), "{name}: the Job is not admitted");
            assert!(
                !selects(&job_sel, pod),
                "{name}: the Job rule admits Redis pods"
            );
            assert!(!selects(
                &match_labels(&peers["from"][0]["podSelector"]),
                job
            ));
            assert_eq!(rule_ports(job_rule), [client]);
            assert_eq!(rules.len(), 3 + metrics);
        } else {
            assert_eq!(rule_ports(peers), [client], "{name}");
            assert_eq!(rules.len(), 2 + metrics);
        }
    }
    // --app-selector and --app-namespace name the app's pods and namespaces, recorded.
    let dir = tmp.path().join("own-app");
    gen_k8s(
        &dir,
        &[
            "--profile",
            "production-tls",
            "--app-selector",
            "app.kubernetes.io/name=kimera,tier=backend",
            "--app-namespace",
            "apps,batch",
        ],
    );
    let m = manifests(&dir);
    let from = m["networkpolicy.yaml"]["spec"]["ingress"][0]["from"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(from.len(), 2);
    for (peer, ns) in from.iter().zip(["apps", "batch"]) {
        assert_eq!(
            peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"],
            ns
        );
        assert_eq!(
            match_labels(&peer["podSelector"]),
            BTreeMap::from([
                ("app.kubernetes.io/name".to_owned(), "kimera".to_owned()),
                ("tier".to_owned(), "backend".to_owned()),
            ])
        );
    }
    let record = fs::read_to_string(dir.join("kimera-redis.toml")).unwrap();
    assert!(
        record.contains("kubernetes_app_namespaces = [\"apps\", \"batch\"]"),
        "{record}"
    );
    let ok = run(&["verify", dir.to_str().unwrap()]);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stdout)
    );
}

#[test]
fn metrics_run_as_a_sidecar_with_its_own_secret_port_annotations_and_policy() {
    let tmp = tempdir();
    for (name, args, tls) in [
        (
            "cluster",
            vec![
                "--profile",
                "cluster",
                "--tls",
                "--metrics",
                "--service-monitor",
            ],
            true,
        ),
        (
            "plain",
            vec!["--profile", "high-performance", "--metrics"],
            false,
        ),
    ] {
        let dir = tmp.path().join(name);
        gen_k8s(&dir, &args);
        let m = manifests(&dir);
        let sts = &m["statefulset.yaml"];
        let pod = &sts["spec"]["template"];
        let containers = pod["spec"]["containers"].as_array().unwrap();
        // One exporter per pod: a sidecar beside redis (and the reloader), so every node
        // has its own.
        assert_eq!(containers.len(), 3, "{name}");
        let side = containers.iter().find(|c| c["name"] == "metrics").unwrap();
        assert_eq!(side["name"], "metrics");
        assert_eq!(side["image"], "oliver006/redis_exporter:v1.45.0");
        let sc = &side["securityContext"];
        assert_eq!(sc["readOnlyRootFilesystem"], true, "{name}");
        assert_eq!(sc["runAsNonRoot"], true, "{name}");
        assert_eq!(sc["allowPrivilegeEscalation"], false, "{name}");
        assert_eq!(pod["spec"]["securityContext"]["runAsNonRoot"], true);
        let env: BTreeMap<String, Value> = side["env"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| (e["name"].as_str().unwrap().to_owned(), e.clone()))
            .collect();
        let scheme = if tls { "rediss" } else { "redis" };
        let port = container_port(pod, "redis");
        assert_eq!(
            env["REDIS_ADDR"]["value"],
            format!("{scheme}://localhost:{port}")
        );
        // Its credentials come from its own Secret, never from the admin's or the app's.
        for key in ["REDIS_USER", "REDIS_PASSWORD"] {
            assert_eq!(
                env[key]["valueFrom"]["secretKeyRef"]["name"], "kimera-redis-metrics",
                "{name}"
            );
        }
        let secret = &m["secret-metrics.yaml"];
        assert_eq!(secret["data"]["REDIS_USER"], "kimera_metrics");
        assert_eq!(secret["data"].get("tls.crt").is_some(), tls);
        let pw = secret["data"]["REDIS_PASSWORD"].as_str().unwrap();
        let acl = m["secret-auth.yaml"]["data"]["users.acl"].as_str().unwrap();
        let line = acl
            .lines()
            .find(|l| l.starts_with("user kimera_metrics "))
            .expect("the metrics user is in the pods' users.acl");
        assert!(line.contains(&common_sha256(pw)), "{line}");
        assert!(line.contains("-@all") && !line.contains("~"), "{line}");
        if tls {
            let mounts = side["volumeMounts"].as_array().unwrap();
            assert_eq!(mounts.len(), 1);
            let vol = pod["spec"]["volumes"]
                .as_array()
                .unwrap()
                .iter()
                .find(|v| v["name"] == mounts[0]["name"])
                .unwrap();
            assert_eq!(vol["secret"]["secretName"], "kimera-redis-metrics");
            for key in ["CERT", "KEY", "CA_CERT"] {
                let v = env[&format!("REDIS_EXPORTER_TLS_CLIENT_{key}_FILE")
                    .replace("CLIENT_CA_CERT", "CA_CERT")]["value"]
                    .as_str()
                    .unwrap()
                    .to_owned();
                assert!(
                    v.starts_with(mounts[0]["mountPath"].as_str().unwrap()),
                    "{v}"
                );
            }
        }
        // The Service's `metrics` port and the conventional annotations.
        let svc_ports = m["service.yaml"]["spec"]["ports"].as_array().unwrap();
        assert!(
            svc_ports.iter().any(|p| p["name"] == "metrics"
                && p["port"] == 9121
                && p["targetPort"] == "metrics")
        );
        let ann = &pod["metadata"]["annotations"];
        assert_eq!(ann["prometheus.io/scrape"], "true");
        assert_eq!(ann["prometheus.io/port"], "9121");
        assert_eq!(ann["prometheus.io/path"], "/metrics");
        // Prometheus reaches the exporters' port, and nothing but it.
        let rules = m["networkpolicy.yaml"]["spec"]["ingress"]
            .as_array()
            .unwrap();
        let scrape = rules.last().unwrap();
        assert_eq!(rule_ports(scrape), [9121]);
        assert_eq!(
            scrape["from"][0]["podSelector"]["matchLabels"]["app.kubernetes.io/name"],
            "prometheus"
        );
        assert!(
            rules[..rules.len() - 1]
                .iter()
                .all(|r| !rule_ports(r).contains(&9121))
        );
        // A ServiceMonitor only when asked for, selecting the Service with the port.
        assert_eq!(m.contains_key("servicemonitor.yaml"), name == "cluster");
        if let Some(sm) = m.get("servicemonitor.yaml") {
            assert_eq!(sm["kind"], "ServiceMonitor");
            assert_eq!(sm["spec"]["endpoints"][0]["port"], "metrics");
            let sel = match_labels(&sm["spec"]["selector"]);
            assert!(selects(&sel, &m["service.yaml"]));
        }
        let ok = run(&["verify", dir.to_str().unwrap()]);
        assert!(
            ok.status.success(),
            "{}",
            String::from_utf8_lossy(&ok.stdout)
        );
        if tls {
            // renew issues the exporter's certificate again and writes it into its Secret.
            let before = fs::read_to_string(dir.join("kubernetes/secret-metrics.yaml")).unwrap();
            let out = run(&["renew", dir.to_str().unwrap()]);
            let said = String::from_utf8_lossy(&out.stdout);
            assert!(said.contains("renewed certs/redis-metrics.crt"), "{said}");
            let after = fs::read_to_string(dir.join("kubernetes/secret-metrics.yaml")).unwrap();
            assert_ne!(before, after);
            let crt = fs::read_to_string(dir.join("certs/redis-metrics.crt")).unwrap();
            let body: String = crt.lines().filter(|l| !l.starts_with("-----")).collect();
            let decoded = decoded_text(&dir.join("kubernetes/secret-metrics.yaml"));
            assert!(
                decoded.replace([' ', '\n'], "").contains(&body),
                "the Secret holds the new one"
            );
            let ok = run(&["verify", dir.to_str().unwrap()]);
            assert!(
                ok.status.success(),
                "{}",
                String::from_utf8_lossy(&ok.stdout)
            );
        }
    }
    let tmp = tempdir();
    let out = run(&[
        "--profile",
        "production-tls",
        "--kubernetes",
        "--service-monitor",
        "--out",
        tmp.path().join("o").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("error: --service-monitor:"));
}

/// users.acl's `#<sha256>` of a password.
fn common_sha256(password: &str) -> String {
    let out = Command::new("sh")
        .args(["-c", "printf %s \"$0\" | sha256sum", password])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned()
}
