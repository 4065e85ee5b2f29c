//! Command-line definitions (clap). Parsing only: every value is checked again, with
//! the profile applied, in `settings`, the one place that turns input into settings.

pub(crate) mod help;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::config::network::ComposeNetwork;
use crate::config::profile;
use crate::config::request::{self, Asked, KeyType, KubernetesRequest, Request, RunOptions};
use crate::config::target::ServerKind;

const EXAMPLES: &str = "\
Examples:
  kimera-redis-init --profile local-dev
  kimera-redis-init --profile production-tls --host redis.example.com --out ./redis-prod
  kimera-redis-init --profile production-tls --host localhost --dry-run
  kimera-redis-init --profile cluster --nodes 127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003 --tls
  kimera-redis-init --profile high-performance --maxmemory 2gb
  kimera-redis-init profiles
  kimera-redis-init verify ./redis-prod
  kimera-redis-init doctor ./redis-prod";

#[derive(Debug, Parser)]
#[command(
    name = "kimera-redis-init",
    version,
    about = "Set up Redis for KIMERA in one command: TLS certificates, redis.conf, users.acl, .env and docker-compose.yml",
    after_help = EXAMPLES,
    args_conflicts_with_subcommands = true
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Option<Command>,

    #[command(flatten)]
    pub(crate) generate: GenerateArgs,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Generate a profile's files (the same as running without a subcommand).
    ///
    /// Example: kimera-redis-init generate --profile production-tls --out ./redis-prod
    Generate(Box<GenerateArgs>),
    /// List the built-in profiles, one line each; `profiles show NAME` prints one as TOML.
    ///
    /// Example: kimera-redis-init profiles show production-tls > my-profile.toml
    Profiles {
        #[command(subcommand)]
        action: Option<ProfilesAction>,
    },
    /// Show a certificate, or every certificate of a generated folder.
    ///
    /// Example: kimera-redis-init inspect ./redis-prod
    Inspect {
        /// A certificate (PEM) or a folder made by generate.
        #[arg(value_name = "PATH")]
        path: PathBuf,
        /// Print JSON instead of text.
        ///
        /// Example: kimera-redis-init inspect ./redis-prod/certs/ca.crt --json
        #[arg(long)]
        json: bool,
    },
    /// Generate a profile (production-tls by default) plus fixtures/: deliberately broken
    /// certificates for other test suites, with a README saying what each one is.
    ///
    /// Example: kimera-redis-init fixtures --out ./tests/fixtures/redis --json
    Fixtures(Box<GenerateArgs>),
    /// Print a shell completion script.
    ///
    /// Example: kimera-redis-init completions bash > /etc/bash_completion.d/kimera-redis-init
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff).
    ///
    /// Example: kimera-redis-init man > kimera-redis-init.1
    Man,
    /// Check a generated folder offline; exit 0 when clean, 1 with findings.
    ///
    /// Example: kimera-redis-init verify ./redis-prod --warn-days 60
    Verify {
        /// A folder made by generate.
        #[arg(value_name = "DIR")]
        dir: PathBuf,
        /// Report certificates that expire within this many days.
        ///
        /// Example: --warn-days 60
        #[arg(long, value_name = "DAYS", default_value_t = 30)]
        warn_days: i64,
        /// Print the findings as JSON: each with check, subject, severity, message and fix.
        ///
        /// Example: kimera-redis-init verify ./redis-prod --json
        #[arg(long)]
        json: bool,
    },
    /// Issue every leaf certificate again under the folder's CA: new serial, new validity.
    ///
    /// Example: kimera-redis-init renew ./redis-prod --days 365
    Renew(Box<RenewArgs>),
    /// Rotate the users' passwords without downtime, in two steps: add (new passwords in
    /// every file; the servers accept the old and the new one), then drop-old.
    ///
    /// Example: kimera-redis-init rotate-password ./redis-prod --step add --apply
    RotatePassword(Box<RotatePasswordArgs>),
    /// Connect the way the app does, from .env only, and explain each failure.
    ///
    /// Example: kimera-redis-init doctor ./redis-prod
    Doctor {
        /// A folder made by generate.
        #[arg(value_name = "DIR")]
        dir: PathBuf,
        /// Print the checks as JSON: findings with check, subject, severity, message, cause and fix.
        ///
        /// Example: kimera-redis-init doctor ./redis-prod --json
        #[arg(long)]
        json: bool,
        /// Seconds each server gets to answer everything doctor asks it (connect, TLS,
        /// AUTH, PING); a server still answering then is reported as "no answer".
        ///
        /// Example: kimera-redis-init doctor ./redis-prod --timeout 3
        #[arg(long, value_name = "SECONDS", default_value_t = crate::server::deadline::DEFAULT_TIMEOUT_SECS, value_parser = clap::value_parser!(u64).range(1..=3600))]
        timeout: u64,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum ProfilesAction {
    /// Print a resolved profile as TOML, ready to save, edit and pass to --profile-file.
    ///
    /// Example: kimera-redis-init profiles show production-tls
    Show {
        #[arg(value_name = "NAME", value_parser = clap::builder::PossibleValuesParser::new(profile::names()))]
        name: String,
    },
}

#[derive(Debug, Clone, Args)]
pub(crate) struct RenewArgs {
    /// A folder made by generate.
    #[arg(value_name = "DIR")]
    pub(crate) dir: PathBuf,

    /// Validity of the renewed certificates in days.
    ///
    /// Example: --days 90
    #[arg(long, value_name = "DAYS", default_value_t = request::DEFAULT_DAYS)]
    pub(crate) days: i64,

    /// Keep each private key and only issue new certificates for them.
    ///
    /// Example: kimera-redis-init renew ./redis-prod --keep-keys
    #[arg(long)]
    pub(crate) keep_keys: bool,

    /// After renewing, load the new files into every running server of the folder
    /// without a restart (CONFIG SET as the admin user over TLS, Redis >= 7.0.1), and
    /// check that each one serves them.
    ///
    /// Example: kimera-redis-init renew ./redis-prod --apply
    #[arg(long)]
    pub(crate) apply: bool,

    /// Renew nothing: load the files already on disk into the running servers, as
    /// --apply does (after a server was down during --apply, or a failed reload).
    ///
    /// Example: kimera-redis-init renew ./redis-prod --reload-only
    #[arg(long, conflicts_with_all = ["apply", "keep_keys", "new_ca"])]
    pub(crate) reload_only: bool,

    /// Replace the folder's CA in three steps, each safe to run again: trust-both (a new
    /// CA; certs/ca.crt trusts old and new), issue (every certificate under the new CA),
    /// drop-old (the new CA alone). Run each with --apply.
    ///
    /// Example: kimera-redis-init renew ./redis-prod --new-ca trust-both --apply
    #[arg(long, value_name = "STEP", value_enum)]
    pub(crate) new_ca: Option<crate::readback::rollover::CaStep>,

    /// With --new-ca drop-old: remove the old CA's key instead of archiving it under
    /// ca-rollover/retired/.
    ///
    /// Example: kimera-redis-init renew ./redis-prod --new-ca drop-old --discard-old-ca
    #[arg(long, requires = "new_ca")]
    pub(crate) discard_old_ca: bool,

    /// With --apply or --reload-only: seconds each server gets for each step (the
    /// check before anything is written, the reload and its proof); a server still
    /// answering then is reported as "no answer" and nothing more is sent to it.
    ///
    /// Example: kimera-redis-init renew ./redis-prod --apply --timeout 30
    #[arg(long, value_name = "SECONDS", default_value_t = crate::server::deadline::DEFAULT_TIMEOUT_SECS, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub(crate) timeout: u64,

    #[command(flatten)]
    pub(crate) ca: ExternalCa,
}

#[derive(Debug, Clone, Args)]
pub(crate) struct RotatePasswordArgs {
    /// A folder made by generate.
    #[arg(value_name = "DIR")]
    pub(crate) dir: PathBuf,

    /// add: issue new passwords and write them to .env, admin.env, redis.properties, the
    /// node configs (masterauth), metrics.env and the Kubernetes Secrets, users.acl
    /// keeping the old ones too; drop-old: remove the old passwords, once nothing uses
    /// them. Each step is safe to run again.
    ///
    /// Example: kimera-redis-init rotate-password ./redis-prod --step drop-old --apply
    #[arg(long, value_name = "STEP", value_enum)]
    pub(crate) step: crate::readback::passwords::PasswordStep,

    /// A user whose password to rotate (repeat for several); default: every user the
    /// folder has (the app's, kimera_admin, for a cluster kimera_replica, and with
    /// --metrics kimera_metrics).
    ///
    /// Example: kimera-redis-init rotate-password ./redis-prod --step add --user kimera_user
    #[arg(long = "user", value_name = "NAME")]
    pub(crate) users: Vec<String>,

    /// Also change every running server of the folder live, as the admin user over TLS
    /// (ACL SETUSER, CONFIG SET masterauth), and check that each accepts the new
    /// passwords; no connection is dropped.
    ///
    /// Example: kimera-redis-init rotate-password ./redis-prod --step add --apply
    #[arg(long)]
    pub(crate) apply: bool,

    /// With --apply: seconds each server gets for each step (the check before anything
    /// is written, the change and its proof).
    ///
    /// Example: kimera-redis-init rotate-password ./redis-prod --step add --apply --timeout 30
    #[arg(long, value_name = "SECONDS", default_value_t = crate::server::deadline::DEFAULT_TIMEOUT_SECS, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub(crate) timeout: u64,
}

/// An organisation's own CA to issue under; its key never enters the output folder.
#[derive(Debug, Clone, Args)]
pub(crate) struct ExternalCa {
    /// CA certificate (PEM) to issue under instead of making a CA.
    ///
    /// Example: --ca-cert /etc/pki/kimera-ca.crt --ca-key /etc/pki/kimera-ca.key
    #[arg(long, value_name = "FILE", requires = "ca_key")]
    pub(crate) ca_cert: Option<PathBuf>,

    /// The CA's private key (PEM: PKCS#8, PKCS#1 or SEC1); never copied into the output.
    ///
    /// Example: --ca-key /etc/pki/kimera-ca.key
    #[arg(long, value_name = "FILE", requires = "ca_cert")]
    pub(crate) ca_key: Option<PathBuf>,
}

#[derive(Debug, Clone, Args)]
pub(crate) struct GenerateArgs {
    /// Profile to generate (`kimera-redis-init profiles` lists them).
    ///
    /// Example: --profile production-tls
    #[arg(long, value_name = "NAME", value_parser = clap::builder::PossibleValuesParser::new(profile::names()))]
    pub(crate) profile: Option<String>,

    /// A profile of your own in TOML: `base = "production-tls"` plus the fields to change,
    /// or a whole profile as `profiles show` prints it.
    ///
    /// Example: --profile-file ./kimera-staging.toml
    #[arg(long, value_name = "FILE", conflicts_with = "profile")]
    pub(crate) profile_file: Option<PathBuf>,

    /// Output folder [default: ./<profile>].
    ///
    /// Example: --out ./redis-prod
    #[arg(long, value_name = "DIR")]
    pub(crate) out: Option<PathBuf>,

    /// Host name or IP address the app connects to (goes into .env and the server certificate).
    ///
    /// Example: --host redis.example.com
    #[arg(long, value_name = "HOST")]
    pub(crate) host: Option<String>,

    /// Port the server listens on and the app connects to (1-65535).
    ///
    /// Example: --port 6390
    #[arg(long, value_name = "PORT")]
    pub(crate) port: Option<i64>,

    /// ACL user the app authenticates as.
    ///
    /// Example: --username kimera_app_user
    #[arg(long, value_name = "NAME")]
    pub(crate) username: Option<String>,

    /// Database number the app selects (0-15).
    ///
    /// Example: --db 1
    #[arg(long, value_name = "N")]
    pub(crate) db: Option<i64>,

    /// Extra DNS name or IP address for the server certificate (repeatable).
    ///
    /// Example: --san redis.internal --san 10.0.0.5
    #[arg(long, value_name = "NAME_OR_IP")]
    pub(crate) san: Vec<String>,

    /// Cluster nodes as host:port, comma-separated (cluster profile; at least 3 masters).
    ///
    /// Example: --nodes 127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003
    #[arg(long, value_name = "HOST:PORT,...", value_delimiter = ',')]
    pub(crate) nodes: Vec<String>,

    /// Replicas per master (cluster profile); the node count must be a multiple of N+1.
    ///
    /// Example: --nodes a:7001,b:7002,c:7003,d:7004,e:7005,f:7006 --replicas 1
    #[arg(long, value_name = "N")]
    pub(crate) replicas: Option<i64>,

    /// Turn TLS on for a profile that is plain by default (cluster, high-performance).
    ///
    /// Example: kimera-redis-init --profile cluster --tls
    #[arg(long)]
    pub(crate) tls: bool,

    /// Threads for network I/O (high-performance; 1 = off). Not with TLS on Redis 7.
    ///
    /// Example: --io-threads 4
    #[arg(long, value_name = "N")]
    pub(crate) io_threads: Option<i64>,

    /// Memory limit, after which the profile's eviction policy applies.
    ///
    /// Example: --maxmemory 2gb
    #[arg(long, value_name = "SIZE")]
    pub(crate) maxmemory: Option<String>,

    /// The server the setup is written for: the program names in every script, compose
    /// file and manifest, the default image, and what redis.conf may say [default: redis].
    ///
    /// Example: --server valkey
    #[arg(long, value_enum, value_name = "SERVER")]
    pub(crate) server: Option<ServerKind>,

    /// The server's version as MAJOR.MINOR [default: 7.4 for redis, 8.1 for valkey]:
    /// redis 7.0 to 8.x, valkey 7.2 to 9.x.
    ///
    /// Example: --server valkey --server-version 9.1
    #[arg(long, value_name = "MAJOR.MINOR")]
    pub(crate) server_version: Option<String>,

    /// How the server keeps data across a restart or a crash [default: aof for
    /// production-tls and cluster, rdb for local-dev, none for high-performance].
    /// none: nothing is written, every restart starts empty. rdb: snapshots (after 1 hour
    /// and 1 change, 5 minutes and 100 changes, 1 minute and 10000 changes); a crash
    /// loses every write since the last one. aof: an append-only log fsync-ed every
    /// second, plus the snapshots; a crash loses at most the last second.
    ///
    /// Example: --persistence aof
    #[arg(long, value_name = "MODE")]
    pub(crate) persistence: Option<String>,

    /// Container image of every compose service and pod [default: the official image of
    /// --server at --server-version: redis:7.4, valkey/valkey:8.1].
    ///
    /// Example: --image registry.example.com/redis:7.4
    #[arg(long, value_name = "IMAGE")]
    pub(crate) image: Option<String>,

    /// How the cluster's compose file connects its nodes [default: bridge when each
    /// node has a host name of its own such as redis-1, host when nodes are IP addresses,
    /// localhost or share a host].
    /// bridge: each node is its own service named after its host, with its own IP on the
    /// kimera-redis network, and the app runs as a container on that network. host: the
    /// nodes use the Docker host's network (Linux) and the app runs on the host.
    ///
    /// Example: --profile cluster --nodes redis-1:7001,redis-2:7002,redis-3:7003 --compose-network bridge
    #[arg(long, value_enum, value_name = "MODE")]
    pub(crate) compose_network: Option<ComposeNetwork>,

    /// Addresses every server listens on, and the compose file publishes its port on
    /// (comma-separated or repeated; loopback is added for administration) [default:
    /// loopback for a server on localhost; the host's address and loopback when --host is
    /// an IP address; every interface when it is a host name].
    ///
    /// Example: --bind 10.0.0.5
    #[arg(long, value_name = "ADDR,...", value_delimiter = ',')]
    pub(crate) bind: Vec<String>,

    /// Also set up Prometheus metrics: a redis_exporter per server with an ACL user of its
    /// own (kimera_metrics, read-only), its own client certificate, its settings in
    /// metrics.env (nodes/NAME/metrics.env for a cluster) and a compose service.
    ///
    /// Example: kimera-redis-init --profile production-tls --metrics
    #[arg(long)]
    pub(crate) metrics: bool,

    /// The exporter's compose image [default: oliver006/redis_exporter:v1.45.0].
    ///
    /// Example: --metrics-image registry.example.com/redis_exporter:v1.45.0
    #[arg(long, value_name = "IMAGE", requires = "metrics")]
    pub(crate) metrics_image: Option<String>,

    /// Port the exporter serves /metrics on, on loopback (a cluster's exporters take the
    /// ports from it up, one per node) [default: 9121].
    ///
    /// Example: --metrics-port 9200
    #[arg(long, value_name = "PORT", requires = "metrics")]
    pub(crate) metrics_port: Option<i64>,

    /// Key algorithm for the CA and every certificate.
    ///
    /// Example: --key-type rsa-4096
    #[arg(long, value_enum, value_name = "TYPE", default_value_t = request::DEFAULT_KEY_TYPE)]
    pub(crate) key_type: KeyType,

    /// Validity of the server and client certificates in days.
    ///
    /// Example: --days 90
    #[arg(long, value_name = "DAYS", default_value_t = request::DEFAULT_DAYS)]
    pub(crate) days: i64,

    /// Validity of a new CA in days (an existing CA is reused as it is).
    ///
    /// Example: --ca-days 3650
    #[arg(long, value_name = "DAYS", default_value_t = request::DEFAULT_CA_DAYS)]
    pub(crate) ca_days: i64,

    #[command(flatten)]
    pub(crate) ca: ExternalCa,

    /// Also write PKCS#12 stores for Java (Jedis, Lettuce, JSSE) and other PKCS#12 readers:
    /// certs/redis-client.p12 (client key and chain), certs/truststore.p12 (the CA as a
    /// trusted certificate) and their password in certs/pkcs12-password (0600).
    ///
    /// Example: kimera-redis-init --profile production-tls --pkcs12
    #[arg(long)]
    pub(crate) pkcs12: bool,

    /// Rewrite existing leaf certificates, keys and rendered files (never the CA).
    ///
    /// Example: kimera-redis-init --profile production-tls --force
    #[arg(long)]
    pub(crate) force: bool,

    /// Make a new CA even though the folder has one, and issue everything under it
    /// (needs --force). Every client must then trust the new certs/ca.crt.
    ///
    /// Example: kimera-redis-init --profile production-tls --force --replace-ca
    #[arg(long)]
    pub(crate) replace_ca: bool,

    /// Print what would be written, write nothing.
    ///
    /// Example: kimera-redis-init --profile production-tls --dry-run
    #[arg(long)]
    pub(crate) dry_run: bool,

    /// Print a JSON manifest: files with modes, certificates with subject, SANs, SHA-256 fingerprint and expiry.
    ///
    /// Example: kimera-redis-init --profile production-tls --json > manifest.json
    #[arg(long)]
    pub(crate) json: bool,

    #[command(flatten)]
    pub(crate) kubernetes: KubernetesArgs,

    /// Filled by `help::parse` from where clap found each value.
    #[arg(skip)]
    pub(crate) asked: Asked,
}

/// `--kubernetes` and its options: the same setup as manifests in DIR/kubernetes/.
#[derive(Debug, Clone, Default, Args)]
pub(crate) struct KubernetesArgs {
    /// Also write Kubernetes manifests to DIR/kubernetes/ (apply with `kubectl apply -k DIR/kubernetes`).
    ///
    /// Example: kimera-redis-init --profile cluster --tls --kubernetes --namespace kimera
    #[arg(long)]
    pub(crate) kubernetes: bool,

    /// Namespace of every object (a DNS-1123 label) [default: kimera].
    ///
    /// Example: --namespace kimera-prod
    #[arg(long, value_name = "NS", requires = "kubernetes")]
    pub(crate) namespace: Option<String>,

    /// The cluster's DNS domain, as in pod names <pod>.<service>.<ns>.svc.<domain> [default: cluster.local].
    ///
    /// Example: --cluster-domain k8s.example.internal
    #[arg(long, value_name = "DOMAIN", requires = "kubernetes")]
    pub(crate) cluster_domain: Option<String>,

    /// Prefix of every Kubernetes object's name (a DNS-1123 label, up to 40 characters) [default: kimera-redis].
    ///
    /// Example: --name kimera-cache
    #[arg(long, value_name = "NAME", requires = "kubernetes")]
    pub(crate) name: Option<String>,

    /// Size of each pod's data volume, a Kubernetes quantity [default: 1Gi].
    ///
    /// Example: --storage 10Gi
    #[arg(long, value_name = "SIZE", requires = "kubernetes")]
    pub(crate) storage: Option<String>,

    /// StorageClass of the data volumes [default: the cluster's default class].
    ///
    /// Example: --storage-class fast-ssd
    #[arg(long, value_name = "CLASS", requires = "kubernetes")]
    pub(crate) storage_class: Option<String>,

    /// The labels of the app's pods, which the NetworkPolicy lets reach the client port
    /// (comma-separated KEY=VALUE, all must match) [default: app.kubernetes.io/part-of=<--name>].
    ///
    /// Example: --app-selector app.kubernetes.io/name=kimera,tier=backend
    #[arg(
        long,
        value_name = "KEY=VALUE,...",
        value_delimiter = ',',
        requires = "kubernetes"
    )]
    pub(crate) app_selector: Vec<String>,

    /// Namespaces the app's pods run in (comma-separated or repeated) [default: --namespace].
    ///
    /// Example: --app-namespace kimera-app
    #[arg(
        long,
        value_name = "NS,...",
        value_delimiter = ',',
        requires = "kubernetes"
    )]
    pub(crate) app_namespace: Vec<String>,

    /// With --metrics: also write a ServiceMonitor (Prometheus Operator) that scrapes
    /// every pod's exporter.
    ///
    /// Example: --kubernetes --metrics --service-monitor
    #[arg(long, requires = "kubernetes")]
    pub(crate) service_monitor: bool,
}

impl GenerateArgs {
    /// What these flags ask to generate.
    pub(crate) fn request(&self) -> Request {
        Request {
            profile: self.profile.clone(),
            profile_file: self.profile_file.clone(),
            out: self.out.clone(),
            host: self.host.clone(),
            port: self.port,
            username: self.username.clone(),
            db: self.db,
            san: self.san.clone(),
            nodes: self.nodes.clone(),
            replicas: self.replicas,
            tls: self.tls,
            io_threads: self.io_threads,
            maxmemory: self.maxmemory.clone(),
            server: self.server,
            server_version: self.server_version.clone(),
            persistence: self.persistence.clone(),
            image: self.image.clone(),
            compose_network: self.compose_network,
            bind: self.bind.clone(),
            metrics: self.metrics,
            metrics_image: self.metrics_image.clone(),
            metrics_port: self.metrics_port,
            key_type: self.key_type,
            days: self.days,
            ca_days: self.ca_days,
            ca: self.ca.pair(),
            pkcs12: self.pkcs12,
            kubernetes: self.kubernetes.request(),
            asked: self.asked,
        }
    }

    /// How these flags ask the run to behave.
    pub(crate) fn run_options(&self) -> RunOptions {
        RunOptions {
            force: self.force,
            replace_ca: self.replace_ca,
            dry_run: self.dry_run,
            json: self.json,
        }
    }
}

impl ExternalCa {
    /// `(certificate, key)` when both are given (clap requires one with the other).
    pub(crate) fn pair(&self) -> Option<(PathBuf, PathBuf)> {
        match (&self.ca_cert, &self.ca_key) {
            (Some(cert), Some(key)) => Some((cert.clone(), key.clone())),
            _ => None,
        }
    }
}

impl KubernetesArgs {
    fn request(&self) -> KubernetesRequest {
        KubernetesRequest {
            kubernetes: self.kubernetes,
            namespace: self.namespace.clone(),
            cluster_domain: self.cluster_domain.clone(),
            name: self.name.clone(),
            storage: self.storage.clone(),
            storage_class: self.storage_class.clone(),
            app_selector: self.app_selector.clone(),
            app_namespaces: self.app_namespace.clone(),
            service_monitor: self.service_monitor,
        }
    }
}
