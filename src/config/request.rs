//! What a caller asks `generate` for, before a profile is applied: the domain form of the
//! generate flags. The CLI (`cli::GenerateArgs`) and the library builder (`api::Setup`)
//! both fill a [`Request`]; `settings` resolves it against its profile and checks it.
//! The defaults are defined here once, and clap's `default_value_t` reads them.
//!
//! How this one run behaves ([`RunOptions`]: overwrite, dry run, output format) is kept
//! apart: it is not part of what the folder is.

use std::path::PathBuf;

use crate::config::network::ComposeNetwork;
use crate::config::target::ServerKind;

/// The key algorithms the certificates can use. Defined with the request (not in `pki`,
/// which reads it from `Settings`), so that settings never depend on the PKI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum KeyType {
    #[value(name = "ecdsa-p256")]
    EcdsaP256,
    #[value(name = "ecdsa-p384")]
    EcdsaP384,
    #[value(name = "ed25519")]
    Ed25519,
    #[value(name = "rsa-2048")]
    Rsa2048,
    #[value(name = "rsa-3072")]
    Rsa3072,
    #[value(name = "rsa-4096")]
    Rsa4096,
}

impl KeyType {
    pub(crate) fn name(self) -> &'static str {
        match self {
            KeyType::EcdsaP256 => "ecdsa-p256",
            KeyType::EcdsaP384 => "ecdsa-p384",
            KeyType::Ed25519 => "ed25519",
            KeyType::Rsa2048 => "rsa-2048",
            KeyType::Rsa3072 => "rsa-3072",
            KeyType::Rsa4096 => "rsa-4096",
        }
    }

    pub(crate) const ALL: [KeyType; 6] = [
        KeyType::EcdsaP256,
        KeyType::EcdsaP384,
        KeyType::Ed25519,
        KeyType::Rsa2048,
        KeyType::Rsa3072,
        KeyType::Rsa4096,
    ];

    /// RSA: key generation and signing take milliseconds, not microseconds.
    pub(crate) fn is_rsa(self) -> bool {
        matches!(self, KeyType::Rsa2048 | KeyType::Rsa3072 | KeyType::Rsa4096)
    }

    /// How the certificate model (`certificate`) describes a key of this type ("ECDSA P-256", "RSA 4096").
    pub(crate) fn description(self) -> &'static str {
        match self {
            KeyType::EcdsaP256 => "ECDSA P-256",
            KeyType::EcdsaP384 => "ECDSA P-384",
            KeyType::Ed25519 => "Ed25519",
            KeyType::Rsa2048 => "RSA 2048",
            KeyType::Rsa3072 => "RSA 3072",
            KeyType::Rsa4096 => "RSA 4096",
        }
    }

    /// The type the certificate model's description names, to make another key like it.
    pub(crate) fn from_description(description: &str) -> Option<KeyType> {
        Self::ALL
            .into_iter()
            .find(|k| k.description() == description)
    }
}

/// `--metrics-image` when not given: the exporter's official image, at the version the
/// tests run (Debian bookworm's prometheus-redis-exporter).
pub(crate) const DEFAULT_METRICS_IMAGE: &str = "oliver006/redis_exporter:v1.45.0";
/// `--key-type` when not given.
pub(crate) const DEFAULT_KEY_TYPE: KeyType = KeyType::EcdsaP256;
/// `--days` when not given: validity of the server and client certificates.
pub(crate) const DEFAULT_DAYS: i64 = 365;
/// `--ca-days` when not given: validity of a new CA.
pub(crate) const DEFAULT_CA_DAYS: i64 = 3650;

/// A setup to generate: a profile and every value that changes it. `None` and empty
/// mean "as the profile says". Numbers are as given (`i64`): `settings` checks ranges
/// and names the flag in its error.
#[derive(Debug, Clone)]
pub(crate) struct Request {
    /// A built-in profile by name.
    pub(crate) profile: Option<String>,
    /// A profile of the user's own in TOML (exclusive with `profile`).
    pub(crate) profile_file: Option<PathBuf>,
    /// Output folder; `./<profile>` when `None`.
    pub(crate) out: Option<PathBuf>,
    pub(crate) host: Option<String>,
    pub(crate) port: Option<i64>,
    pub(crate) username: Option<String>,
    pub(crate) db: Option<i64>,
    /// Extra names for the server certificate.
    pub(crate) san: Vec<String>,
    /// Cluster nodes as `host:port`.
    pub(crate) nodes: Vec<String>,
    pub(crate) replicas: Option<i64>,
    /// TLS on a profile that is plain by default.
    pub(crate) tls: bool,
    pub(crate) io_threads: Option<i64>,
    pub(crate) maxmemory: Option<String>,
    /// `--server`: Redis (the default) or Valkey.
    pub(crate) server: Option<ServerKind>,
    /// `--server-version`: `MAJOR.MINOR`, as given.
    pub(crate) server_version: Option<String>,
    /// `--persistence`: `none`, `rdb` or `aof`, as given.
    pub(crate) persistence: Option<String>,
    pub(crate) image: Option<String>,
    pub(crate) compose_network: Option<ComposeNetwork>,
    /// `--bind`: the addresses the servers listen on; empty: the profile's rule.
    pub(crate) bind: Vec<String>,
    /// `--metrics`: a redis_exporter per server, with a user of its own.
    pub(crate) metrics: bool,
    /// `--metrics-image`: the exporter's compose image.
    pub(crate) metrics_image: Option<String>,
    /// `--metrics-port`: the first exporter's port on this machine.
    pub(crate) metrics_port: Option<i64>,
    pub(crate) key_type: KeyType,
    pub(crate) days: i64,
    pub(crate) ca_days: i64,
    /// An organisation's CA (certificate, key) to issue under.
    pub(crate) ca: Option<(PathBuf, PathBuf)>,
    /// PKCS#12 key and trust stores beside the PEM files.
    pub(crate) pkcs12: bool,
    pub(crate) kubernetes: KubernetesRequest,
    /// Which values the caller named, even when they equal the defaults.
    pub(crate) asked: Asked,
}

/// Values named on the command line even when they equal the defaults: a re-run that
/// names `--key-type ecdsa-p256` asks kept RSA certificates to change, while a bare
/// re-run accepts what they have (see `kept`). The library builder names nothing, so
/// there only values other than the defaults ask.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Asked {
    pub(crate) key_type: bool,
    pub(crate) days: bool,
    pub(crate) ca_days: bool,
}

/// `--kubernetes` and its options, as given; `kubernetes::options` resolves them.
#[derive(Debug, Clone, Default)]
pub(crate) struct KubernetesRequest {
    pub(crate) kubernetes: bool,
    pub(crate) namespace: Option<String>,
    pub(crate) cluster_domain: Option<String>,
    pub(crate) name: Option<String>,
    pub(crate) storage: Option<String>,
    pub(crate) storage_class: Option<String>,
    /// `--app-selector KEY=VALUE,...`: the app's pod labels the NetworkPolicy admits.
    pub(crate) app_selector: Vec<String>,
    /// `--app-namespace NS,...`: where the app's pods run.
    pub(crate) app_namespaces: Vec<String>,
    /// `--service-monitor`: a Prometheus Operator ServiceMonitor for the exporters.
    pub(crate) service_monitor: bool,
}

/// How one run behaves, apart from what it generates.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct RunOptions {
    /// `--force`: rewrite existing leaf certificates, keys and rendered files.
    pub(crate) force: bool,
    /// `--replace-ca` (with `--force`): a new CA over the folder's own.
    pub(crate) replace_ca: bool,
    /// `--dry-run`: plan, write nothing.
    pub(crate) dry_run: bool,
    /// `--json`: print the manifest as JSON.
    pub(crate) json: bool,
}

impl Request {
    /// A built-in profile with nothing changed.
    pub(crate) fn new(profile: &str) -> Request {
        Request {
            profile: Some(profile.to_owned()),
            ..Request::default()
        }
    }
}

impl Default for Request {
    /// No profile chosen yet, every value as the profile says.
    fn default() -> Request {
        Request {
            profile: None,
            profile_file: None,
            out: None,
            host: None,
            port: None,
            username: None,
            db: None,
            san: Vec::new(),
            nodes: Vec::new(),
            replicas: None,
            tls: false,
            io_threads: None,
            maxmemory: None,
            server: None,
            server_version: None,
            persistence: None,
            image: None,
            compose_network: None,
            bind: Vec::new(),
            metrics: false,
            metrics_image: None,
            metrics_port: None,
            key_type: DEFAULT_KEY_TYPE,
            days: DEFAULT_DAYS,
            ca_days: DEFAULT_CA_DAYS,
            ca: None,
            pkcs12: false,
            kubernetes: KubernetesRequest::default(),
            asked: Asked::default(),
        }
    }
}
