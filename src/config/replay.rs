//! The folder's record made into what makes the folder again, both ways written once:
//! a record becomes a [`Request`] (and the [`Profile`] it applies to), and a request
//! becomes the command-line arguments that ask for it. Re-runs (`fill`), verify's
//! regeneration and every printed fix command go through here, so they cannot drift.

use std::path::Path;

use clap::ValueEnum;

use crate::config::network::{self, ComposeNetwork};
use crate::config::node::host_port;
use crate::config::profile::{self, Profile};
use crate::config::record::Record;
use crate::config::request::{
    Asked, DEFAULT_CA_DAYS, DEFAULT_DAYS, DEFAULT_KEY_TYPE, KubernetesRequest, Request, RunOptions,
};
use crate::config::settings::Settings;
use crate::config::target::{ServerKind, Target};
use crate::error::{Error, Result};

/// The profile the record applies to: the built-in one it names, or, for a folder made
/// from a profile file (which is not kept), one rebuilt from the values the record holds.
pub(crate) fn profile(record: &Record) -> Profile {
    if let Ok(p) = profile::builtin(&record.profile) {
        return p;
    }
    let first = record.nodes.first();
    Profile {
        description: format!("rebuilt from the record of profile {}", record.profile),
        host: first.map(|n| n.host.clone()).unwrap_or_default(),
        port: first.map_or(0, |n| i64::from(n.port)),
        db: i64::from(record.db),
        username: record.username.clone().unwrap_or_default(),
        tls: record.tls,
        auth: record.username.is_some(),
        cluster_nodes: match record.cluster_replicas {
            Some(_) => record
                .nodes
                .iter()
                .map(|n| host_port(&n.host, n.port))
                .collect(),
            None => Vec::new(),
        },
        replicas: record.cluster_replicas.map_or(0, i64::from),
        pool: record.pool.clone(),
        kimera: record.kimera.clone(),
        server: record.server.clone(),
    }
}

/// Whether the record was made from a built-in profile (a fix command can name it).
pub(crate) fn builtin(record: &Record) -> bool {
    profile::names().contains(&record.profile.as_str())
}

/// The request that makes the recorded folder again, into `out`: every value the
/// profile would not give by itself is named, so that `profile(record)` and this request
/// resolve to the recorded settings. The key type and validity are always asked for.
pub(crate) fn request(record: &Record, out: &Path) -> Request {
    let p = profile(record);
    let mut req = Request {
        profile: Some(record.profile.clone()),
        out: Some(out.to_path_buf()),
        key_type: record.key_type().unwrap_or(DEFAULT_KEY_TYPE),
        days: i64::from(record.leaf_days),
        ca_days: i64::from(record.ca_days),
        asked: Asked {
            key_type: true,
            days: true,
            ca_days: true,
        },
        pkcs12: record.pkcs12,
        ..Request::default()
    };
    let first = record.nodes.first();
    if let Some(replicas) = record.cluster_replicas {
        let listed: Vec<String> = record
            .nodes
            .iter()
            .map(|n| host_port(&n.host, n.port))
            .collect();
        if listed != p.cluster_nodes {
            req.nodes = listed;
        }
        if i64::from(replicas) != p.replicas {
            req.replicas = Some(i64::from(replicas));
        }
    } else if let Some(first) = first {
        if first.host != p.host {
            req.host = Some(first.host.clone());
        }
        if i64::from(first.port) != p.port {
            req.port = Some(i64::from(first.port));
        }
    }
    if let Some(user) = &record.username
        && *user != p.username
    {
        req.username = Some(user.clone());
    }
    if i64::from(record.db) != p.db {
        req.db = Some(i64::from(record.db));
    }
    req.tls = record.tls && !p.tls;
    if record.server.io_threads != p.server.io_threads {
        req.io_threads = Some(record.server.io_threads);
    }
    if record.server.maxmemory != p.server.maxmemory {
        req.maxmemory = Some(record.server.maxmemory.clone());
    }
    if record.server.persistence != p.server.persistence {
        req.persistence = Some(record.server.persistence.clone());
    }
    let kind = server_kind(record).unwrap_or(ServerKind::Redis);
    if kind != ServerKind::Redis {
        req.server = Some(kind);
    }
    if let Some(version) = &record.server_version
        && *version != kind.default_version().to_string()
    {
        req.server_version = Some(version.clone());
    }
    let target =
        Target::resolve(kind, req.server_version.as_deref(), "server_version").unwrap_or_default();
    if record.image != target.default_image() {
        req.image = Some(record.image.clone());
    }
    // Named only when it is not what the nodes give by default; one a single server
    // cannot have is named, for `settings` to refuse.
    let hosts: Vec<&str> = record.nodes.iter().map(|n| n.host.as_str()).collect();
    let default = match record.cluster_replicas {
        Some(_) => network::default_for(&hosts),
        None => ComposeNetwork::Bridge,
    };
    req.compose_network = ComposeNetwork::from_str(&record.compose_network, false)
        .ok()
        .filter(|mode| *mode != default);
    req.bind = record.bind.clone();
    req.metrics = record.metrics_image.is_some();
    req.metrics_image = record
        .metrics_image
        .clone()
        .filter(|i| i != crate::config::request::DEFAULT_METRICS_IMAGE);
    req.metrics_port = record.metrics_port.map(i64::from);
    if let Some(namespace) = &record.kubernetes_namespace {
        req.kubernetes = KubernetesRequest {
            kubernetes: true,
            namespace: Some(namespace.clone()),
            cluster_domain: record.kubernetes_cluster_domain.clone(),
            name: record.kubernetes_name.clone(),
            storage: record.kubernetes_storage.clone(),
            storage_class: record.kubernetes_storage_class.clone(),
            app_selector: record.kubernetes_app_selector.clone(),
            app_namespaces: record.kubernetes_app_namespaces.clone(),
            service_monitor: record.kubernetes_service_monitor,
        };
    }
    req.san = extra_sans(record);
    req
}

/// The recorded `--server`; `None` for a name this version does not know (which
/// `settings` refuses), and redis for a record written before it was kept.
fn server_kind(record: &Record) -> Option<ServerKind> {
    match record.server_kind.as_deref() {
        None => Some(ServerKind::Redis),
        Some(name) => ServerKind::from_name(name),
    }
}

/// The names on the first node's certificate beyond what the settings give it anyway
/// (its host, loopback, its node name): those the first run asked for with `--san`.
fn extra_sans(record: &Record) -> Vec<String> {
    let Some(first) = record.nodes.first() else {
        return Vec::new();
    };
    let base: Vec<String> = crate::config::settings::sans_for(&first.host, &first.name, &[])
        .map(|sans| sans.iter().map(ToString::to_string).collect())
        .unwrap_or_default();
    first
        .sans
        .iter()
        .filter(|san| !base.iter().any(|b| b.eq_ignore_ascii_case(san)))
        .cloned()
        .collect()
}

/// The recorded settings, checked exactly as flags are: a record edited by hand gets
/// the refusal the same value on the command line gets.
pub(crate) fn settings(record: &Record, out: &Path) -> Result<Settings> {
    if record.key_type().is_none() {
        return Err(Error::usage(format!(
            "key_type {:?}: allowed: {}",
            record.key_type,
            crate::config::request::KeyType::ALL
                .map(|k| k.name())
                .join(", ")
        )));
    }
    ComposeNetwork::from_str(&record.compose_network, false).map_err(|_| {
        Error::usage(format!(
            "compose_network {:?}: allowed: {}",
            record.compose_network,
            ComposeNetwork::value_variants()
                .iter()
                .filter_map(|v| v.to_possible_value().map(|p| p.get_name().to_owned()))
                .collect::<Vec<_>>()
                .join(", ")
        ))
    })?;
    let Some(kind) = server_kind(record) else {
        return Err(Error::usage(format!(
            "server_kind {:?}: allowed: {}",
            record.server_kind.as_deref().unwrap_or_default(),
            ServerKind::ALL.map(ServerKind::name).join(", ")
        )));
    };
    // Refused here under the record's own field name, not the flag's.
    Target::resolve(kind, record.server_version.as_deref(), "server_version")?;
    let req = request(record, out);
    Settings::from_profile(
        &record.profile,
        profile(record),
        &req,
        &RunOptions::default(),
    )
}

/// The command line that asks for `req`: `kimera-redis-init --profile P --out DIR ...`,
/// naming what the request names and the key type and validity when they are not the
/// defaults. A record keeps no profile file, so for a folder made from one it is a
/// placeholder the user fills in; a request that names its file names it.
pub(crate) fn args(req: &Request, builtin: bool) -> Vec<String> {
    let mut a: Vec<String> = vec!["kimera-redis-init".into()];
    let mut flag = |name: &str, value: Option<String>| {
        if let Some(v) = value {
            a.push(format!("--{name}"));
            a.push(v);
        }
    };
    match (&req.profile_file, &req.profile, builtin) {
        (Some(file), _, _) => flag("profile-file", Some(file.display().to_string())),
        (None, Some(p), true) => flag("profile", Some(p.clone())),
        _ => flag("profile-file", Some("<your profile file>".into())),
    }
    flag("out", req.out.as_ref().map(|o| o.display().to_string()));
    flag("host", req.host.clone());
    flag("port", req.port.map(|p| p.to_string()));
    flag(
        "nodes",
        (!req.nodes.is_empty()).then(|| req.nodes.join(",")),
    );
    flag("replicas", req.replicas.map(|r| r.to_string()));
    flag("db", req.db.map(|d| d.to_string()));
    flag("username", req.username.clone());
    for san in &req.san {
        flag("san", Some(san.clone()));
    }
    flag("io-threads", req.io_threads.map(|n| n.to_string()));
    flag("maxmemory", req.maxmemory.clone());
    flag("persistence", req.persistence.clone());
    flag("server", req.server.map(|k| k.name().to_owned()));
    flag("server-version", req.server_version.clone());
    flag("image", req.image.clone());
    flag(
        "compose-network",
        req.compose_network
            .and_then(|m| m.to_possible_value())
            .map(|v| v.get_name().to_owned()),
    );
    flag("bind", (!req.bind.is_empty()).then(|| req.bind.join(",")));
    flag("metrics-image", req.metrics_image.clone());
    flag("metrics-port", req.metrics_port.map(|p| p.to_string()));
    flag(
        "key-type",
        (req.key_type != DEFAULT_KEY_TYPE).then(|| req.key_type.name().to_owned()),
    );
    flag(
        "days",
        (req.days != DEFAULT_DAYS).then(|| req.days.to_string()),
    );
    flag(
        "ca-days",
        (req.ca_days != DEFAULT_CA_DAYS).then(|| req.ca_days.to_string()),
    );
    if let Some((cert, key)) = &req.ca {
        flag("ca-cert", Some(cert.display().to_string()));
        flag("ca-key", Some(key.display().to_string()));
    }
    let k = &req.kubernetes;
    if k.kubernetes {
        flag("namespace", k.namespace.clone());
        flag("cluster-domain", k.cluster_domain.clone());
        flag("name", k.name.clone());
        flag("storage", k.storage.clone());
        flag("storage-class", k.storage_class.clone());
        flag(
            "app-selector",
            (!k.app_selector.is_empty()).then(|| k.app_selector.join(",")),
        );
        flag(
            "app-namespace",
            (!k.app_namespaces.is_empty()).then(|| k.app_namespaces.join(",")),
        );
    }
    for (on, name) in [
        (req.tls, "--tls"),
        (req.pkcs12, "--pkcs12"),
        (req.metrics, "--metrics"),
        (k.kubernetes, "--kubernetes"),
        (k.kubernetes && k.service_monitor, "--service-monitor"),
    ] {
        if on {
            a.push(name.into());
        }
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::request::KeyType;

    fn recorded(req: Request) -> Record {
        let req = Request {
            out: Some("/nonexistent/kimera-replay-test".into()),
            ..req
        };
        Record::from_settings(
            &Settings::resolve(&req, &RunOptions::default()).unwrap(),
            None,
        )
    }

    /// A request made from a record resolves to the same record, and its arguments parse
    /// back into it: the three forms of one setup agree.
    #[test]
    fn record_request_and_arguments_make_the_same_setup() {
        let cases = [
            Request {
                host: Some("redis.example.com".into()),
                port: Some(6390),
                san: vec!["x.example".into(), "10.0.0.9".into()],
                key_type: KeyType::Rsa2048,
                days: 90,
                ca_days: 800,
                image: Some("registry.example.com/redis:7.4".into()),
                pkcs12: true,
                metrics: true,
                metrics_image: Some("registry.example.com/redis_exporter:v1.45.0".into()),
                metrics_port: Some(9200),
                ..Request::new("production-tls")
            },
            Request {
                nodes: vec![
                    "127.0.0.1:7101".into(),
                    "127.0.0.1:7102".into(),
                    "127.0.0.1:7103".into(),
                ],
                replicas: Some(0),
                tls: true,
                bind: vec!["127.0.0.1".into(), "::1".into()],
                metrics: true,
                ..Request::new("cluster")
            },
            Request {
                io_threads: Some(4),
                maxmemory: Some("1gb".into()),
                metrics: true,
                db: Some(3),
                username: Some("app".into()),
                kubernetes: KubernetesRequest {
                    kubernetes: true,
                    namespace: Some("redis".into()),
                    storage: Some("5Gi".into()),
                    app_selector: vec!["app.kubernetes.io/name=kimera".into(), "tier=".into()],
                    app_namespaces: vec!["kimera-app".into(), "redis".into()],
                    service_monitor: true,
                    ..KubernetesRequest::default()
                },
                ..Request::new("high-performance")
            },
            Request::new("local-dev"),
        ];
        for req in cases {
            let record = recorded(req);
            let out = Path::new("/nonexistent/kimera-replay-test");
            let again = Record::from_settings(&settings(&record, out).unwrap(), None);
            assert_eq!(again.render(), record.render());
            let argv = args(&request(&record, out), true);
            let cli = <crate::cli::Cli as clap::Parser>::try_parse_from(&argv)
                .unwrap_or_else(|e| panic!("{argv:?}: {e}"));
            let from_args = Settings::resolve(&cli.generate.request(), &RunOptions::default())
                .unwrap_or_else(|e| panic!("{argv:?}: {e}"));
            assert_eq!(
                Record::from_settings(&from_args, None).render(),
                record.render(),
                "{argv:?}"
            );
        }
    }

    #[test]
    fn values_a_flag_would_refuse_are_refused_in_a_record() {
        let out = Path::new("/nonexistent/kimera-replay-test");
        let good = recorded(Request::new("production-tls"));
        for (field, edit) in [
            (
                "--ca-days",
                &(|r: &mut Record| r.ca_days = u32::MAX) as &dyn Fn(&mut Record),
            ),
            ("--days", &|r: &mut Record| r.leaf_days = 0),
            ("key_type", &|r: &mut Record| r.key_type = "dsa".into()),
            ("--image", &|r: &mut Record| {
                r.image = "redis:7.4\nloadmodule x".into()
            }),
            ("--host", &|r: &mut Record| {
                r.nodes[0].host = "bad host".into()
            }),
            ("--bind", &|r: &mut Record| {
                r.bind = vec!["10.0.0.300".into()]
            }),
        ] {
            let mut bad = good.clone();
            edit(&mut bad);
            let err = settings(&bad, out).expect_err(field).to_string();
            assert!(err.contains(field), "{field}: {err}");
        }
    }
}
