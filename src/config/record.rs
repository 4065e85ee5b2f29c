//! The folder records the settings that made it: `kimera-redis.toml`, secret-free
//! (no password, no key, no certificate), rendered into the Bundle with every other file
//! so the one writer writes it. `renew`, `verify` and `doctor` read it back through
//! `folder::Folder`, so they start from what was asked for instead of guessing it from
//! the files; a folder made before the record existed is read from its files as before,
//! with a one-line note.

use clap::ValueEnum;
use serde::{Deserialize, Serialize};

use crate::config::profile::{Kimera, Pool, Server};
use crate::config::request::KeyType;
use crate::config::settings::Settings;

/// Bumped when a field changes meaning; readers refuse a format they do not know.
const FORMAT: u32 = 1;

/// Every setting of a run that is not secret and not a run option (`--force`,
/// `--dry-run`, `--json`): what the folder is, not how one run went.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Record {
    pub(crate) format: u32,
    /// The version of kimera-redis-init that wrote it.
    pub(crate) generated_by: String,
    pub(crate) profile: String,
    pub(crate) db: u8,
    /// The app's ACL user; absent for a profile without authentication.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) username: Option<String>,
    pub(crate) tls: bool,
    /// Replicas per master, for a Redis Cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) cluster_replicas: Option<u8>,
    /// As `--key-type` takes it (`ecdsa-p256`, ...).
    pub(crate) key_type: String,
    pub(crate) leaf_days: u32,
    pub(crate) ca_days: u32,
    /// Issued under an organisation's CA (`--ca-cert/--ca-key`): its key is not here.
    pub(crate) external_ca: bool,
    pub(crate) pkcs12: bool,
    /// `--server`: `redis` or `valkey` (absent in records written before it was kept:
    /// redis).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) server_kind: Option<String>,
    /// `--server-version` as `MAJOR.MINOR` (absent before it was kept: the default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) server_version: Option<String>,
    pub(crate) image: String,
    pub(crate) compose_network: String,
    /// `--bind`, when given: the addresses the servers listen on (absent: the default).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) bind: Vec<String>,
    /// `--metrics`: the exporter's compose image (absent: no exporter).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) metrics_image: Option<String>,
    /// `--metrics-port`, when not the default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) metrics_port: Option<u16>,
    /// `--kubernetes`: the manifests' namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) kubernetes_namespace: Option<String>,
    /// `--kubernetes`: the other options the manifests were made with (absent in records
    /// written before they were kept: the defaults).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) kubernetes_cluster_domain: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) kubernetes_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) kubernetes_storage: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) kubernetes_storage_class: Option<String>,
    /// `--kubernetes`: the NetworkPolicy's app labels and namespaces (absent in records
    /// written before the policy: the defaults).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) kubernetes_app_selector: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) kubernetes_app_namespaces: Vec<String>,
    /// `--service-monitor`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) kubernetes_service_monitor: bool,
    /// The CA this folder trusts, pinned: the SHA-256 fingerprint of `certs/ca.crt`'s
    /// certificate as `openssl x509 -fingerprint -sha256` prints it. Whatever is later
    /// appended to `ca.crt`, only this CA (and `next_ca_sha256` during a rollover) is
    /// trusted by verify and by every command that dials a server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) ca_sha256: Option<String>,
    /// During a CA rollover (`renew --new-ca trust-both` until `drop-old`): the next CA.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) next_ca_sha256: Option<String>,
    pub(crate) pool: Pool,
    pub(crate) kimera: Kimera,
    pub(crate) server: Server,
    pub(crate) nodes: Vec<NodeRecord>,
}

/// One redis-server: its name, where clients reach it and the names on its certificate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NodeRecord {
    pub(crate) name: String,
    pub(crate) host: String,
    pub(crate) port: u16,
    pub(crate) sans: Vec<String>,
}

const HEADER: &str = "\
# The settings this folder was generated with (no passwords, no keys), written by
# kimera-redis-init. renew, verify and doctor read it; a re-run keeps it unless --force.
";

impl Record {
    /// The record of `s`; `ca_sha256` is the fingerprint of the CA it was issued under
    /// (`None` without TLS).
    pub(crate) fn from_settings(s: &Settings, ca_sha256: Option<&str>) -> Record {
        Record {
            format: FORMAT,
            generated_by: env!("CARGO_PKG_VERSION").to_owned(),
            profile: s.profile.clone(),
            db: s.db,
            username: s.username.clone(),
            tls: s.tls,
            cluster_replicas: s.replicas_per_master,
            key_type: s.key_type.name().to_owned(),
            leaf_days: s.leaf_days,
            ca_days: s.ca_days,
            external_ca: s.external_ca.is_some(),
            pkcs12: s.pkcs12,
            server_kind: Some(s.target.kind.name().to_owned()),
            server_version: Some(s.target.version.to_string()),
            image: s.image.clone(),
            compose_network: s
                .compose_network
                .to_possible_value()
                .map(|v| v.get_name().to_owned())
                .unwrap_or_default(),
            bind: s.bind.iter().map(ToString::to_string).collect(),
            metrics_image: s.metrics.clone(),
            metrics_port: (s.metrics.is_some()
                && s.metrics_port != crate::config::layout::METRICS_PORT)
                .then_some(s.metrics_port),
            kubernetes_namespace: s.kubernetes.as_ref().map(|k| k.namespace.clone()),
            kubernetes_cluster_domain: s.kubernetes.as_ref().map(|k| k.cluster_domain.clone()),
            kubernetes_name: s.kubernetes.as_ref().map(|k| k.name.clone()),
            kubernetes_storage: s.kubernetes.as_ref().map(|k| k.storage.clone()),
            kubernetes_storage_class: s.kubernetes.as_ref().and_then(|k| k.storage_class.clone()),
            kubernetes_app_selector: s
                .kubernetes
                .as_ref()
                .map(|k| k.app_selector())
                .unwrap_or_default(),
            kubernetes_app_namespaces: s
                .kubernetes
                .as_ref()
                .map(|k| k.app_namespaces.clone())
                .unwrap_or_default(),
            kubernetes_service_monitor: s.kubernetes.as_ref().is_some_and(|k| k.service_monitor),
            ca_sha256: ca_sha256.map(str::to_owned),
            next_ca_sha256: None,
            pool: s.pool.clone(),
            kimera: s.kimera.clone(),
            server: s.server.clone(),
            nodes: s
                .nodes
                .iter()
                .map(|n| NodeRecord {
                    name: n.name.clone(),
                    host: n.host.clone(),
                    port: n.port,
                    sans: n.sans.iter().map(ToString::to_string).collect(),
                })
                .collect(),
        }
    }

    /// The file's text: a comment, then TOML.
    pub(crate) fn render(&self) -> String {
        let body = toml::to_string(self).expect("a record always serializes");
        format!("{HEADER}{body}")
    }

    /// `Err` says what is wrong in one phrase (the file holds no secret, so it may quote).
    pub(crate) fn parse(text: &str) -> Result<Record, String> {
        let record: Record = toml::from_str(text).map_err(|e| e.message().to_owned())?;
        if record.format != FORMAT {
            return Err(format!(
                "format {} is not one this version reads ({FORMAT})",
                record.format
            ));
        }
        if record.key_type().is_none() {
            return Err(format!("key_type {:?} is not a key type", record.key_type));
        }
        Ok(record)
    }

    pub(crate) fn key_type(&self) -> Option<KeyType> {
        KeyType::value_variants()
            .iter()
            .copied()
            .find(|k| k.name() == self.key_type)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Record {
        Record {
            format: FORMAT,
            generated_by: "0.0.0".into(),
            profile: "cluster".into(),
            db: 0,
            username: Some("cluster_user".into()),
            tls: true,
            cluster_replicas: Some(1),
            key_type: "ed25519".into(),
            leaf_days: 90,
            ca_days: 3650,
            external_ca: false,
            pkcs12: false,
            server_kind: Some("valkey".into()),
            server_version: Some("9.1".into()),
            image: "redis:7.4".into(),
            compose_network: "bridge".into(),
            bind: Vec::new(),
            metrics_image: None,
            metrics_port: None,
            kubernetes_namespace: None,
            kubernetes_cluster_domain: None,
            kubernetes_name: None,
            kubernetes_storage: None,
            kubernetes_storage_class: None,
            kubernetes_app_selector: Vec::new(),
            kubernetes_app_namespaces: Vec::new(),
            kubernetes_service_monitor: false,
            ca_sha256: None,
            next_ca_sha256: None,
            pool: Pool {
                max_connections: 50,
                socket_timeout: 5.0,
                socket_connect_timeout: 5.0,
                retry_on_timeout: true,
                health_check_interval: 30,
            },
            kimera: Kimera {
                log_level: "INFO".into(),
                features: "{\"a\": true}".into(),
                rate_limit_enabled: true,
            },
            server: Server::default(),
            nodes: vec![NodeRecord {
                name: "redis-1".into(),
                host: "::1".into(),
                port: 7001,
                sans: vec!["::1".into(), "localhost".into()],
            }],
        }
    }

    #[test]
    fn reads_back_what_it_writes() {
        let r = sample();
        let text = r.render();
        assert!(text.starts_with("# The settings"), "{text}");
        let back = Record::parse(&text).unwrap();
        assert_eq!(back.render(), text);
        assert_eq!(back.nodes, r.nodes);
        assert_eq!(r.key_type(), Some(KeyType::Ed25519));
    }

    #[test]
    fn refuses_what_it_cannot_read() {
        let text = sample().render();
        for (from, to) in [
            ("format = 1", "format = 2"),
            ("key_type = \"ed25519\"", "key_type = \"dsa\""),
            ("tls = true", "tls = true\npassword = \"x\""),
            ("db = 0", "db = \"zero\""),
        ] {
            assert!(text.contains(from), "{from} not in {text}");
            let bad = text.replacen(from, to, 1);
            assert!(Record::parse(&bad).is_err(), "{to} accepted");
        }
    }
}
