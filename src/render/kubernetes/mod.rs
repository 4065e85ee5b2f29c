//! `--kubernetes`: the same setup as manifests in `DIR/kubernetes/`, from the same
//! Settings, CA and passwords, added to the in-memory Bundle (the writer writes it).
//!
//! Secrets hold every secret (TLS keys, passwords, the app's settings); the ConfigMap
//! holds redis.conf and the scripts, which reach secrets only through mounted files.

use minijinja::value::{Serde, Value};
use minijinja::{Environment, context};
use serde::Serialize;

use crate::config::acl::{ADMIN_USER, REPLICA_USER};
use crate::config::layout;
use crate::config::profile::Server;
use crate::config::settings::Settings;
use crate::error::{Error, Result};
use crate::pki::Pki;
use crate::pki::secrets::Secrets;
use crate::render::bundle::{Bundle, Kind};

use crate::config::kubernetes::Kubernetes;

/// The pods' server certificate: a leaf of its own under the folder's CA, kept by re-runs
/// like every other key (it names pods and Services, which the host's certificate does not).
pub(crate) const SERVER_CERT: &str = crate::config::layout::KUBERNETES_SERVER_CERT;
pub(crate) const SERVER_KEY: &str = crate::config::layout::KUBERNETES_SERVER_KEY;
pub(crate) const DIR: &str = "kubernetes";

/// The uid and gid of the official image's `redis` user: the pods run as it, and the
/// mounted Secrets are group-readable by it (fsGroup) and by no one else.
pub(crate) const REDIS_UID: u32 = 999;

/// Where the pods mount what they read. Not under /etc/redis: in Debian-based images that
/// folder belongs to another user (mode 2770), so uid 999 could not reach mounts below it.
const CONF_DIR: &str = "/etc/kimera-redis/conf";
const TLS_DIR: &str = "/etc/kimera-redis/tls";
const AUTH_DIR: &str = "/etc/kimera-redis/auth";
const DATA_DIR: &str = "/data";
/// `--metrics`: the exporter sidecar's client certificate.
const METRICS_DIR: &str = "/etc/kimera-redis/metrics";
/// The reloader sidecar's status folder (an emptyDir): `failed` there while the last
/// reload failed, which its liveness probe reports.
const RELOADER_STATUS_DIR: &str = "/run/kimera-reloader";
/// Seconds between the reloader's looks at the mounted Secrets (a `readlink` each).
const RELOAD_INTERVAL: u32 = 5;
/// Where the app's pod mounts its client Secret; the app Secret's paths point here.
pub(crate) const APP_TLS_DIR: &str = "/etc/kimera/redis-tls";

/// The image the manifests run: `--image`, as for the compose files.
fn image(settings: &Settings) -> &str {
    &settings.image
}

/// Each template of `templates/kubernetes/`, by the name it is rendered as.
macro_rules! templates {
    ($($name:literal => $file:literal),* $(,)?) => {
        &[$((
            $name,
            include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/templates/kubernetes/", $file)),
        )),*]
    };
}

const TEMPLATES: &[(&str, &str)] = templates![
    "redis.conf" => "redis.conf.j2",
    "start.sh" => "start.sh.j2",
    "cluster-create.sh" => "cluster-create.sh.j2",
    "reload.sh" => "reload.sh.j2",
    "replication.conf" => "replication.conf.j2",
    "kustomization.yaml" => "kustomization.yaml.j2",
    "manifests/common" => "manifests/common.j2",
    "manifests/namespace.yaml" => "manifests/namespace.yaml.j2",
    "manifests/secret-server-tls.yaml" => "manifests/secret-server-tls.yaml.j2",
    "manifests/secret-client-tls.yaml" => "manifests/secret-client-tls.yaml.j2",
    "manifests/secret-job-tls.yaml" => "manifests/secret-job-tls.yaml.j2",
    "manifests/secret-auth.yaml" => "manifests/secret-auth.yaml.j2",
    "manifests/secret-metrics.yaml" => "manifests/secret-metrics.yaml.j2",
    "manifests/secret-app.yaml" => "manifests/secret-app.yaml.j2",
    "manifests/configmap.yaml" => "manifests/configmap.yaml.j2",
    "manifests/service-headless.yaml" => "manifests/service-headless.yaml.j2",
    "manifests/service.yaml" => "manifests/service.yaml.j2",
    "manifests/statefulset.yaml" => "manifests/statefulset.yaml.j2",
    "manifests/networkpolicy.yaml" => "manifests/networkpolicy.yaml.j2",
    "manifests/servicemonitor.yaml" => "manifests/servicemonitor.yaml.j2",
    "manifests/poddisruptionbudget.yaml" => "manifests/poddisruptionbudget.yaml.j2",
    "manifests/job-cluster-create.yaml" => "manifests/job-cluster-create.yaml.j2",
];

/// One manifest: its file (and template, `manifests/<file>`), when a setup has it, what
/// it holds (a Secret's file is 0600 and only a Secret's template sees secret values),
/// and what the printed manifest says of it.
struct Manifest {
    file: &'static str,
    when: fn(&View<'_>) -> bool,
    kind: Kind,
    purpose: &'static str,
}

const MANIFESTS: &[Manifest] = &[
    Manifest {
        file: "namespace.yaml",
        when: |_| true,
        kind: Kind::Config,
        purpose: "the Namespace (Pod Security: restricted)",
    },
    Manifest {
        file: "secret-server-tls.yaml",
        when: |v| v.tls,
        kind: Kind::Secret,
        purpose: "Secret kubernetes.io/tls: the pods' certificate and key, ca.crt",
    },
    Manifest {
        file: "secret-client-tls.yaml",
        when: |v| v.tls,
        kind: Kind::Secret,
        purpose: "Secret kubernetes.io/tls: the app's client certificate and key, ca.crt",
    },
    Manifest {
        file: "secret-job-tls.yaml",
        when: |v| v.tls && v.cluster,
        kind: Kind::Secret,
        purpose: "Secret kubernetes.io/tls: the cluster-create Job's client certificate and key",
    },
    Manifest {
        file: "secret-auth.yaml",
        when: |_| true,
        kind: Kind::Secret,
        purpose: "Secret: users.acl and the admin and replication passwords",
    },
    Manifest {
        file: "secret-metrics.yaml",
        when: |v| v.metrics,
        kind: Kind::Secret,
        purpose: "Secret: the metrics exporter's user, password and client certificate",
    },
    Manifest {
        file: "secret-app.yaml",
        when: |_| true,
        kind: Kind::Secret,
        purpose: "Secret: the app's REDIS_* settings, for envFrom",
    },
    Manifest {
        file: "configmap.yaml",
        when: |_| true,
        kind: Kind::Config,
        purpose: "ConfigMap: redis.conf and the start scripts, no secret",
    },
    Manifest {
        file: "service-headless.yaml",
        when: |_| true,
        kind: Kind::Config,
        purpose: "headless Service: each pod's DNS name",
    },
    Manifest {
        file: "service.yaml",
        when: |_| true,
        kind: Kind::Config,
        purpose: "client Service: where the app connects",
    },
    Manifest {
        file: "statefulset.yaml",
        when: |_| true,
        kind: Kind::Config,
        purpose: "StatefulSet: the Redis pods",
    },
    Manifest {
        file: "networkpolicy.yaml",
        when: |_| true,
        kind: Kind::Config,
        purpose: "NetworkPolicy: only the app, the Redis pods and the cluster Job reach Redis",
    },
    Manifest {
        file: "servicemonitor.yaml",
        when: |v| v.service_monitor,
        kind: Kind::Config,
        purpose: "ServiceMonitor (Prometheus Operator): scrapes every pod's exporter",
    },
    Manifest {
        file: "poddisruptionbudget.yaml",
        when: |v| v.cluster,
        kind: Kind::Config,
        purpose: "PodDisruptionBudget: one pod down at a time",
    },
    Manifest {
        file: "job-cluster-create.yaml",
        when: |v| v.cluster,
        kind: Kind::Config,
        purpose: "Job: forms the cluster once; safe to run again",
    },
];

#[derive(Serialize)]
struct Dirs {
    conf: &'static str,
    tls: &'static str,
    auth: &'static str,
    data: &'static str,
    app_tls: &'static str,
    metrics: &'static str,
}

/// Everything the templates see. Secret values are passed only to the Secret manifests.
#[derive(Serialize)]
struct View<'a> {
    version: &'static str,
    profile: &'a str,
    name: &'a str,
    namespace: &'a str,
    headless: String,
    service_fqdn: String,
    headless_fqdn: String,
    image: &'a str,
    port: u16,
    bus_port: u32,
    pods: usize,
    pod_fqdns: Vec<String>,
    cluster: bool,
    replicas: u8,
    masters: usize,
    tls: bool,
    storage: &'a str,
    storage_class: Option<&'a str>,
    uid: u32,
    dirs: Dirs,
    admin_user: &'static str,
    replica_user: &'static str,
    server: &'a Server,
    /// Redis's own defaults: redis.conf writes a directive only where `server` differs.
    redis_defaults: Server,
    target: crate::render::TargetView,
    max_connections: i64,
    health_check_interval: i64,
    /// The NetworkPolicy's app: pod labels and namespaces.
    app_labels: Vec<Label<'a>>,
    app_namespaces: &'a [String],
    /// `--metrics`: a redis_exporter sidecar per pod, with its image and port.
    metrics: bool,
    metrics_image: &'a str,
    metrics_port: u16,
    metrics_user: &'static str,
    service_monitor: bool,
}

#[derive(Serialize)]
struct Label<'a> {
    key: &'a str,
    value: &'a str,
}

/// Add `kubernetes/` to the bundle when `--kubernetes` was given: the scripts and
/// configs the ConfigMap carries, the Secrets' values, each manifest of `MANIFESTS` this
/// setup has, the pods' and the Job's certificates, and the kustomization listing them.
/// `acl` is users.acl as `render` wrote it.
pub(crate) fn add(
    settings: &Settings,
    pki: Option<&Pki>,
    secrets: Option<&Secrets>,
    acl: Option<&str>,
    bundle: &mut Bundle,
) -> Result<()> {
    let Some(k8s) = &settings.kubernetes else {
        return Ok(());
    };
    // Settings refused --kubernetes for profiles without passwords.
    let (Some(secrets), Some(acl)) = (secrets, acl) else {
        return Err(Error::failed("--kubernetes needs the profile's passwords"));
    };
    let tls = match (settings.tls, pki) {
        (true, Some(pki)) => Some(pki),
        _ => None,
    };
    let view = view(settings, k8s);
    let templates = Templates {
        env: environment()?,
        view: Value::from(Serde(&view)),
    };
    let shared = configmap_values(&templates, &view)?;
    let secret_values = secret_values(settings, k8s, tls, secrets, acl, &templates, view.cluster)?;
    if let Some(pki) = tls {
        certificates(pki, bundle);
    }
    bundle.dir(DIR, "Kubernetes manifests: kubectl apply -k this folder");
    let mut names = Vec::new();
    for m in MANIFESTS.iter().filter(|m| (m.when)(&view)) {
        let values = if m.kind == Kind::Secret {
            context! { ..shared.clone(), ..secret_values.clone() }
        } else {
            shared.clone()
        };
        let body = templates.render(&format!("manifests/{}", m.file), values)?;
        bundle.file(
            &format!("{DIR}/{}", m.file),
            m.kind,
            format!("{}\n", body.trim()),
            m.purpose,
        );
        names.push(m.file);
    }
    let kustomization = templates.render(
        "kustomization.yaml",
        context! { dir => DIR, files => names },
    )?;
    bundle.file(
        &format!("{DIR}/kustomization.yaml"),
        Kind::Config,
        kustomization,
        "lists every manifest: kubectl apply -k kubernetes",
    );
    Ok(())
}

/// The Kubernetes templates and the view they all share.
struct Templates {
    env: Environment<'static>,
    view: Value,
}

impl Templates {
    fn render(&self, name: &str, extra: Value) -> Result<String> {
        self.env
            .get_template(name)
            .and_then(|t| t.render(context! { ..extra, ..self.view.clone() }))
            .map_err(|e| Error::failed(format!("rendering kubernetes/{name} failed: {e:#}")))
    }
}

/// What every manifest may show: the ConfigMap's files (no secret in them) and their
/// digest, which rolls the pods when they change.
fn configmap_values(templates: &Templates, view: &View<'_>) -> Result<Value> {
    let redis_conf = templates.render("redis.conf", context! {})?;
    let start_sh = templates.render("start.sh", context! {})?;
    let reload_sh = templates.render(
        "reload.sh",
        context! { reload_interval => RELOAD_INTERVAL, status_dir => RELOADER_STATUS_DIR },
    )?;
    let create_sh = if view.cluster {
        templates.render("cluster-create.sh", context! {})?
    } else {
        String::new()
    };
    let config_sha256 = crate::digest::sha256_hex(&format!(
        "{redis_conf}\0{start_sh}\0{create_sh}\0{reload_sh}"
    ));
    Ok(context! {
        redis_conf, start_sh, create_sh, reload_sh, config_sha256,
        status_dir => RELOADER_STATUS_DIR,
    })
}

/// What only the Secrets' templates see: keys, certificates, passwords, users.acl and
/// the app's settings.
fn secret_values(
    settings: &Settings,
    k8s: &Kubernetes,
    tls: Option<&Pki>,
    secrets: &Secrets,
    acl: &str,
    templates: &Templates,
    cluster: bool,
) -> Result<Value> {
    let replication_conf = match &secrets.replica {
        Some(password) => templates.render("replication.conf", context! { password })?,
        None => String::new(),
    };
    let leaf = |c: &crate::pki::issue::CertKey, ca: &str| tls_data(&c.cert_pem, &c.key_pem, ca);
    let (mut server_tls, mut client_tls, mut metrics_tls, mut job_tls) = (None, None, None, None);
    if let Some(pki) = tls {
        let ca = &pki.ca.cert_pem;
        let server = pki
            .kubernetes
            .as_ref()
            .ok_or_else(|| Error::failed("the pods' certificate was not issued"))?;
        server_tls = Some(leaf(server, ca));
        client_tls = Some(leaf(&pki.client, ca));
        metrics_tls = pki.metrics.as_ref().map(|m| leaf(m, ca));
        // The cluster-create Job's own client certificate, never the app's.
        job_tls = pki.kubernetes_job.as_ref().map(|j| leaf(j, ca));
        if cluster && job_tls.is_none() {
            return Err(Error::failed(
                "the cluster-create Job's certificate was not issued",
            ));
        }
    }
    Ok(context! {
        acl, replication_conf,
        server_tls => Serde(&server_tls), client_tls => Serde(&client_tls),
        job_tls => Serde(&job_tls),
        app_env => Serde(&app_env(settings, k8s, secrets)),
        admin_password => &secrets.admin,
        replica_password => secrets.replica.as_deref().unwrap_or(""),
        metrics_tls => Serde(&metrics_tls),
        metrics_password => secrets.metrics.as_deref().unwrap_or(""),
    })
}

/// The pods' certificate and the cluster Job's, beside the other certificates.
fn certificates(pki: &Pki, bundle: &mut Bundle) {
    if let Some(server) = &pki.kubernetes {
        bundle.cert(
            SERVER_CERT,
            Kind::Certificate,
            &server.cert_pem,
            &server.info,
            "the pods' certificate: every pod and Service name (serverAuth, clientAuth)",
        );
        bundle.file(
            SERVER_KEY,
            Kind::PrivateKey,
            server.key_pem.clone(),
            "the pods' private key (also in kubernetes/secret-server-tls.yaml)",
        );
    }
    if let Some(j) = &pki.kubernetes_job {
        bundle.cert(
            layout::KUBERNETES_JOB_CERT,
            Kind::Certificate,
            &j.cert_pem,
            &j.info,
            "the cluster-create Job's client certificate (clientAuth; it logs in as the admin)",
        );
        bundle.file(
            layout::KUBERNETES_JOB_KEY,
            Kind::PrivateKey,
            j.key_pem.clone(),
            "the Job's private key (also in kubernetes/secret-job-tls.yaml)",
        );
    }
}

#[derive(Serialize)]
struct TlsData {
    crt: String,
    key: String,
    ca: String,
}

fn tls_data(crt: &str, key: &str, ca: &str) -> TlsData {
    TlsData {
        crt: crt.to_owned(),
        key: key.to_owned(),
        ca: ca.to_owned(),
    }
}

/// The app's settings as the `.env` has them (the same builder), with the pod's view: the
/// client Service as host, and TLS file paths where the app's pod mounts its client Secret.
fn app_env(s: &Settings, k8s: &Kubernetes, secrets: &Secrets) -> Vec<(&'static str, String)> {
    let port = s.port();
    let service = k8s.service_fqdn(&k8s.name);
    // A fresh client needs one reachable startup node: the Service (any ready pod) and the
    // first pods by name, so that one pod going away never leaves it without one.
    let cluster_nodes = std::iter::once(format!("{service}:{port}"))
        .chain((0..s.nodes.len().min(3)).map(|i| format!("{}:{port}", k8s.pod_fqdn(i))))
        .collect::<Vec<_>>()
        .join(",");
    crate::render::appenv::build(
        s,
        &secrets.app,
        crate::render::appenv::Place {
            host: service,
            tls_files: ["ca.crt", "tls.crt", "tls.key"].map(|f| format!("{APP_TLS_DIR}/{f}")),
            cluster_nodes,
        },
    )
}

fn view<'a>(s: &'a Settings, k8s: &'a Kubernetes) -> View<'a> {
    let pods = s.nodes.len();
    let replicas = s.replicas_per_master.unwrap_or(0);
    let headless = k8s.headless();
    View {
        version: env!("CARGO_PKG_VERSION"),
        profile: &s.profile,
        name: &k8s.name,
        namespace: &k8s.namespace,
        service_fqdn: k8s.service_fqdn(&k8s.name),
        headless_fqdn: k8s.service_fqdn(&headless),
        headless,
        image: image(s),
        port: s.port(),
        bus_port: u32::from(s.port()) + 10_000,
        pods,
        pod_fqdns: (0..pods).map(|i| k8s.pod_fqdn(i)).collect(),
        cluster: s.is_cluster(),
        replicas,
        masters: pods / (usize::from(replicas) + 1),
        tls: s.tls,
        storage: &k8s.storage,
        storage_class: k8s.storage_class.as_deref(),
        uid: REDIS_UID,
        dirs: Dirs {
            conf: CONF_DIR,
            tls: TLS_DIR,
            auth: AUTH_DIR,
            data: DATA_DIR,
            app_tls: APP_TLS_DIR,
            metrics: METRICS_DIR,
        },
        admin_user: ADMIN_USER,
        replica_user: REPLICA_USER,
        server: &s.server,
        redis_defaults: Server::default(),
        target: crate::render::TargetView::of(&s.target),
        max_connections: s.pool.max_connections,
        health_check_interval: s.pool.health_check_interval,
        app_labels: k8s
            .app_labels
            .iter()
            .map(|(key, value)| Label { key, value })
            .collect(),
        app_namespaces: &k8s.app_namespaces,
        metrics: s.metrics.is_some(),
        metrics_image: s.metrics.as_deref().unwrap_or(""),
        metrics_port: s.metrics_port,
        metrics_user: crate::config::acl::METRICS_USER,
        service_monitor: k8s.service_monitor,
    }
}

/// The shared environment (render.rs) plus the YAML scalars the manifests need.
fn environment() -> Result<Environment<'static>> {
    let mut env = crate::render::environment_with(TEMPLATES)?;
    // Their output is YAML already: printed as it is.
    env.add_filter("q", |v: &str| Value::from_safe_string(yaml_quoted(v)));
    env.add_filter("block", |v: &str, indent: usize| {
        Value::from_safe_string(yaml_block(v, indent))
    });
    // A Secret's `data:` value. Secrets hold `data` only: the API server stores
    // `stringData` as `data`, so a client-side apply that sends `stringData` again finds
    // it missing and reports the Secret changed on every identical re-apply.
    env.add_filter("b64", |v: &str| Value::from_safe_string(yaml_base64(v)));
    Ok(env)
}

/// A YAML double-quoted scalar. JSON's string escapes are a subset of YAML's, so a JSON
/// string is read back unchanged by every YAML 1.1/1.2 parser.
fn yaml_quoted(v: &str) -> String {
    serde_json::to_string(v).expect("a string serializes")
}

/// `v` base64-encoded as a YAML scalar (the alphabet needs no quotes; empty is `""`).
fn yaml_base64(v: &str) -> String {
    use base64::Engine;
    match base64::engine::general_purpose::STANDARD.encode(v) {
        e if e.is_empty() => "\"\"".to_owned(),
        e => e,
    }
}

/// The value of `key` in a Secret manifest's `data:` as written by this module, decoded;
/// `None` when the key is absent or its value is no base64 of UTF-8 text.
pub(crate) fn secret_value(manifest: &str, key: &str) -> Option<String> {
    use base64::Engine;
    let value = manifest
        .lines()
        .find_map(|l| l.strip_prefix("  ")?.strip_prefix(key)?.strip_prefix(':'))?
        .trim()
        .trim_matches('"');
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(value)
        .ok()?;
    String::from_utf8(bytes).ok()
}

/// A literal block scalar (`|`) indented by `indent` spaces, for PEM and config files;
/// anything a block cannot carry exactly (no final newline, leading blanks, tabs, control
/// characters, a trailing blank line) falls back to a double-quoted scalar.
fn yaml_block(v: &str, indent: usize) -> String {
    let fits = v.ends_with('\n')
        && !v.ends_with("\n\n")
        && !v.starts_with([' ', '\n'])
        && !v.chars().any(|c| c.is_control() && c != '\n')
        && v.lines().all(|l| !l.ends_with(' '));
    if !fits {
        return yaml_quoted(v);
    }
    let pad = " ".repeat(indent);
    let mut out = String::from("|");
    for line in v.lines() {
        out.push('\n');
        if !line.is_empty() {
            out.push_str(&pad);
            out.push_str(line);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Templates are compiled when first rendered: each must parse, rendered by a run or not.
    #[test]
    fn every_template_parses() {
        let env = environment().unwrap();
        for (name, _) in TEMPLATES {
            if let Err(e) = env.get_template(name) {
                panic!("template kubernetes/{name} does not parse: {e:#}");
            }
        }
    }

    #[test]
    fn blocks_fall_back_to_quotes() {
        assert_eq!(yaml_block("a\nb\n", 2), "|\n  a\n  b");
        assert_eq!(yaml_block("a\n\nb\n", 2), "|\n  a\n\n  b");
        assert_eq!(yaml_block("a", 2), "\"a\"");
        assert_eq!(yaml_block(" a\n", 2), "\" a\\n\"");
        assert_eq!(yaml_quoted("a\"b"), "\"a\\\"b\"");
    }

    #[test]
    fn secret_values_round_trip_through_base64() {
        let manifest = format!(
            "data:\n  REDIS_HOST: {}\n  EMPTY: {}\n",
            yaml_base64("kimera-redis.kimera.svc.cluster.local"),
            yaml_base64("")
        );
        assert_eq!(
            secret_value(&manifest, "REDIS_HOST").as_deref(),
            Some("kimera-redis.kimera.svc.cluster.local")
        );
        assert_eq!(secret_value(&manifest, "EMPTY").as_deref(), Some(""));
        assert_eq!(secret_value(&manifest, "REDIS_PORT"), None);
    }
}
