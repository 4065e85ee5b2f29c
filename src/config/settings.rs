//! Flags + profile become `Settings`: resolved and validated. This is the one place that
//! rejects bad input; everything after it can trust what it is given.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use crate::config::layout;
use crate::config::network::ComposeNetwork;
use crate::config::node::{Node, SanName, is_loopback};
use crate::config::profile::{self, Kimera, Pool, Profile, Server};
use crate::config::request::{Asked, KeyType, Request, RunOptions};
use crate::config::target::{ServerKind, Target};
use crate::error::{Error, Result};
use crate::printable;

/// The compose service name; it is also a SAN on the server certificate so that other
/// containers on the compose network can verify the server by that name.
pub(crate) const COMPOSE_SERVICE: &str = "redis";

/// Everything a run needs, resolved and validated.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub(crate) profile: String,
    /// Absolute: rendered files point at each other by absolute path.
    pub(crate) out_dir: PathBuf,
    pub(crate) db: u8,
    /// The app's ACL user; `None` when the profile has no authentication.
    pub(crate) username: Option<String>,
    pub(crate) tls: bool,
    /// One node for a single server; every node for a cluster.
    pub(crate) nodes: Vec<Node>,
    /// `Some(replicas per master)` for a Redis Cluster.
    pub(crate) replicas_per_master: Option<u8>,
    pub(crate) key_type: KeyType,
    /// `--pkcs12`: PKCS#12 key and trust stores beside the PEM files (see `stores`).
    pub(crate) pkcs12: bool,
    pub(crate) leaf_days: u32,
    pub(crate) ca_days: u32,
    pub(crate) pool: Pool,
    pub(crate) kimera: Kimera,
    pub(crate) server: Server,
    /// `--ca-cert` and `--ca-key`: issue under this CA, never copy its key.
    pub(crate) external_ca: Option<(PathBuf, PathBuf)>,
    /// Who owns the generated files; the container runs as this user so that it can
    /// read the 0600 keys without them being made readable to anyone else.
    pub(crate) owner: (u32, u32),
    /// `--kubernetes`: write the same setup as manifests too.
    pub(crate) kubernetes: Option<crate::config::kubernetes::Kubernetes>,
    /// `--server` and `--server-version`: what the files are written for.
    pub(crate) target: Target,
    /// `--image`: the image of every compose service, a checked reference.
    pub(crate) image: String,
    /// `--compose-network`, resolved: how a cluster's compose services are connected.
    pub(crate) compose_network: ComposeNetwork,
    /// `--bind`: the addresses every server listens on; empty: from its host (`render`).
    pub(crate) bind: Vec<IpAddr>,
    /// `--metrics`: the exporter's compose image; `None` without metrics.
    pub(crate) metrics: Option<String>,
    /// `--metrics-port`: the first exporter's port (a cluster's count up from it).
    pub(crate) metrics_port: u16,
    /// Values the request named even where they equal the defaults.
    pub(crate) asked: Asked,
}

impl Settings {
    /// A Redis Cluster (every node a server of its own), not one server.
    pub(crate) fn is_cluster(&self) -> bool {
        self.replicas_per_master.is_some()
    }

    /// Where the app connects first: the server, or the first cluster node.
    pub(crate) fn host(&self) -> &str {
        &self.nodes[0].host
    }

    pub(crate) fn port(&self) -> u16 {
        self.nodes[0].port
    }

    /// Resolve a request against its profile (built in, or a file of the user's).
    pub(crate) fn resolve(req: &Request, run: &RunOptions) -> Result<Settings> {
        let (name, profile) = match (&req.profile, &req.profile_file) {
            (Some(name), _) => (name.clone(), profile::builtin(name)?),
            (None, Some(file)) => profile::from_file(file)?,
            (None, None) => {
                return Err(Error::usage(
                    "--profile is required (or --profile-file); see `kimera-redis-init profiles`",
                ));
            }
        };
        Self::from_profile(&name, profile, req, run)
    }

    /// The request applied to profile `p`, in the order a user meets the errors: what
    /// the profile allows, the flags of one server or of the cluster's nodes, then where
    /// and how the setup is written.
    pub(crate) fn from_profile(
        name: &str,
        p: Profile,
        req: &Request,
        run: &RunOptions,
    ) -> Result<Settings> {
        let is_cluster = !p.cluster_nodes.is_empty();
        let tls = resolve_tls(name, &p, req, is_cluster)?;
        let db = match req.db {
            Some(v) => check_db("--db", v)?,
            None => check_db("profile field db", p.db)?,
        };
        let username = resolve_username(name, &p, req)?;
        check_needs_tls(name, req, tls)?;
        check_run_options(req, run)?;
        let leaf_days = check_days("--days", req.days)?;
        let ca_days = check_days("--ca-days", req.ca_days)?;
        check_outlives("--days", leaf_days, "--ca-days", ca_days)?;
        check_pool(&p.pool)?;
        check_profile_text(&p)?;
        let target = Target::resolve(
            req.server.unwrap_or(ServerKind::Redis),
            req.server_version.as_deref(),
            "--server-version",
        )?;
        let server = server(&p, req, tls, &target)?;
        check_san_count(&req.san)?;
        let extra_sans = req
            .san
            .iter()
            .map(|n| san_name("--san", n))
            .collect::<Result<Vec<_>>>()?;
        let (nodes, cluster) = if is_cluster {
            let (nodes, replicas) = cluster_topology(name, &p, req, db, &extra_sans)?;
            (nodes, Some(replicas))
        } else {
            (vec![single_server(name, &p, req, tls, &extra_sans)?], None)
        };
        let out = req.out.clone().unwrap_or_else(|| PathBuf::from(name));
        let out_dir = check_out(&out)?;
        let kubernetes = crate::config::kubernetes::resolve(&req.kubernetes, name, p.auth)?;
        let image = match &req.image {
            Some(i) => crate::config::image::check_image("--image", i)?,
            None => target.default_image(),
        };
        let compose_network =
            crate::config::network::resolve(name, req.compose_network, &nodes, cluster.is_some())?;
        let external_ca = external_ca(name, req, tls)?;
        let bind = crate::config::bind::check(name, &req.bind, p.auth, &nodes)?;
        let (metrics, metrics_port) = resolve_metrics(req, nodes.len(), kubernetes.as_ref())?;
        if !bind.is_empty() && cluster.is_some() && compose_network == ComposeNetwork::Bridge {
            return Err(Error::usage(
                "--bind: in bridge mode each node listens in its own container on the \
                 kimera-redis network and nothing is published on the Docker host; allowed: \
                 --bind with --compose-network host",
            ));
        }
        Ok(Settings {
            profile: name.to_owned(),
            out_dir,
            db,
            username,
            tls,
            nodes,
            replicas_per_master: cluster,
            key_type: req.key_type,
            pkcs12: req.pkcs12,
            leaf_days,
            ca_days,
            pool: p.pool,
            kimera: p.kimera,
            server,
            external_ca,
            owner: process_owner(),
            kubernetes,
            target,
            image,
            compose_network,
            bind,
            metrics,
            metrics_port,
            asked: req.asked,
        })
    }
}

/// `--metrics`: the exporter's image and the first exporter's port (a cluster's count up
/// from it); `--metrics-image`, `--metrics-port` and `--service-monitor` only with it.
fn resolve_metrics(
    req: &Request,
    servers: usize,
    kubernetes: Option<&crate::config::kubernetes::Kubernetes>,
) -> Result<(Option<String>, u16)> {
    let metrics = match (&req.metrics_image, req.metrics) {
        (Some(i), true) => Some(crate::config::image::check_image("--metrics-image", i)?),
        (Some(_), false) => {
            return Err(Error::usage(
                "--metrics-image: there is no exporter without --metrics; allowed: add --metrics",
            ));
        }
        (None, true) => Some(crate::config::request::DEFAULT_METRICS_IMAGE.to_owned()),
        (None, false) => None,
    };
    let port = match req.metrics_port {
        _ if metrics.is_none() => crate::config::layout::METRICS_PORT,
        None => crate::config::layout::METRICS_PORT,
        Some(p) => {
            let port = check_port("--metrics-port", p)?;
            if usize::from(port) + servers - 1 > 65535 {
                return Err(Error::usage(format!(
                    "--metrics-port {port}: the {servers} exporters take ports {port} and up, \
                     which would pass 65535; allowed: at most {}",
                    65536 - servers
                )));
            }
            port
        }
    };
    if metrics.is_none() && kubernetes.is_some_and(|k| k.service_monitor) {
        return Err(Error::usage(
            "--service-monitor: there is no exporter to scrape without --metrics; allowed: add --metrics",
        ));
    }
    Ok((metrics, port))
}

/// TLS: the profile's, or `--tls` on a profile with authentication. A profile without
/// authentication cannot have TLS or cluster nodes (they need the ACL users), whether
/// the flags or a profile file ask for them.
fn resolve_tls(name: &str, p: &Profile, req: &Request, is_cluster: bool) -> Result<bool> {
    if !p.auth && (is_cluster || p.tls) {
        return Err(Error::usage(format!(
            "profile field auth false: profile {name} has {}, which needs its ACL users; allowed: auth = true",
            if is_cluster { "cluster nodes" } else { "TLS" }
        )));
    }
    if req.tls && !p.auth {
        return Err(Error::usage(format!(
            "--tls: profile {name} has no authentication and stays plain text; \
             use production-tls, or cluster/high-performance with --tls"
        )));
    }
    Ok(p.tls || req.tls)
}

/// The app's ACL user: `--username` or the profile's; none without authentication.
fn resolve_username(name: &str, p: &Profile, req: &Request) -> Result<Option<String>> {
    match (&req.username, p.auth) {
        (Some(u), true) => Ok(Some(check_username("--username", u)?)),
        (Some(_), false) => Err(Error::usage(format!(
            "--username: profile {name} has no ACL user (no authentication); \
             use a profile with authentication such as production-tls"
        ))),
        (None, true) => Ok(Some(check_username("profile field username", &p.username)?)),
        (None, false) => Ok(None),
    }
}

/// Flags that only mean something with certificates.
fn check_needs_tls(name: &str, req: &Request, tls: bool) -> Result<()> {
    if !tls && !req.san.is_empty() {
        return Err(Error::usage(format!(
            "--san: profile {name} has no TLS, so there is no server certificate to add names to"
        )));
    }
    if req.pkcs12 && !tls {
        return Err(Error::usage(format!(
            "--pkcs12: profile {name} has no TLS, so there are no certificates to store; add --tls or use production-tls"
        )));
    }
    Ok(())
}

/// `--replace-ca` rewrites everything, and only ever replaces the folder's own CA.
fn check_run_options(req: &Request, run: &RunOptions) -> Result<()> {
    if run.replace_ca && !run.force {
        return Err(Error::usage(
            "--replace-ca: a new CA means every certificate is issued again and every file rewritten; add --force",
        ));
    }
    if run.replace_ca && req.ca.is_some() {
        return Err(Error::usage(
            "--replace-ca: with --ca-cert the CA is your organisation's; allowed: one of the two",
        ));
    }
    Ok(())
}

/// A leaf certificate may not outlive the CA that signs it: `days` must be at most
/// `ca_days` (renew checks its `--days` against the folder's CA the same way).
pub(crate) fn check_outlives(what: &str, days: u32, ca_what: &str, ca_days: u32) -> Result<()> {
    if days > ca_days {
        return Err(Error::usage(format!(
            "{what} {days}: the certificates would outlive the CA ({ca_what} {ca_days}); \
             allowed: at most {ca_what}"
        )));
    }
    Ok(())
}

/// A cluster's nodes (`--nodes` or the profile's) and replicas per master.
fn cluster_topology(
    name: &str,
    p: &Profile,
    req: &Request,
    db: u8,
    extra_sans: &[SanName],
) -> Result<(Vec<Node>, u8)> {
    if req.host.is_some() || req.port.is_some() {
        return Err(Error::usage(format!(
            "--host/--port: profile {name} is a cluster; give its nodes with --nodes HOST:PORT,..."
        )));
    }
    if db != 0 {
        return Err(Error::usage(format!(
            "{} {db}: Redis Cluster has only database 0; allowed: 0",
            if req.db.is_some() {
                "--db"
            } else {
                "profile field db"
            }
        )));
    }
    let (list, what) = if req.nodes.is_empty() {
        (&p.cluster_nodes, "profile field cluster_nodes")
    } else {
        (&req.nodes, "--nodes")
    };
    let replicas = match req.replicas {
        Some(r) => check_replicas("--replicas", r)?,
        None => check_replicas("profile field replicas", p.replicas)?,
    };
    Ok((cluster_nodes(what, list, replicas, extra_sans)?, replicas))
}

/// The one server of a profile that is not a cluster: `--host`/`--port` or the profile's.
fn single_server(
    name: &str,
    p: &Profile,
    req: &Request,
    tls: bool,
    extra_sans: &[SanName],
) -> Result<Node> {
    if !req.nodes.is_empty() || req.replicas.is_some() {
        return Err(Error::usage(format!(
            "--nodes/--replicas: profile {name} is a single server; allowed with --profile cluster"
        )));
    }
    let (what, host) = match &req.host {
        Some(h) => ("--host", check_host("--host", h)?),
        None => (
            "profile field host",
            check_host("profile field host", &p.host)?,
        ),
    };
    if !p.auth && !is_loopback(&host) {
        return Err(Error::usage(format!(
            "{what} {host}: profile {name} has no password, so it only listens on this \
             machine; allowed: localhost, 127.0.0.1, ::1 (use production-tls for a server others reach)"
        )));
    }
    let port = match req.port {
        Some(v) => check_port("--port", v)?,
        None => check_port("profile field port", p.port)?,
    };
    let sans = if tls {
        sans_for(&host, COMPOSE_SERVICE, extra_sans)?
    } else {
        Vec::new()
    };
    Ok(Node {
        name: COMPOSE_SERVICE.to_owned(),
        host,
        port,
        sans,
        conf: layout::REDIS_CONF.to_owned(),
        data: layout::DATA_DIR.to_owned(),
        cert: layout::SERVER_CERT.to_owned(),
        key: layout::SERVER_KEY.to_owned(),
    })
}

/// `--ca-cert/--ca-key`: only with TLS, where there is something to issue.
fn external_ca(name: &str, req: &Request, tls: bool) -> Result<Option<(PathBuf, PathBuf)>> {
    match &req.ca {
        Some(pair) if tls => Ok(Some(pair.clone())),
        Some(_) => Err(Error::usage(format!(
            "--ca-cert: profile {name} has no TLS, so there is nothing to issue; add --tls or use production-tls"
        ))),
        None => Ok(None),
    }
}

/// A server certificate's names: its host, the loopback names (clients such as redis-py
/// resolve `localhost` and dial the IP), its compose service, and every `--san`.
pub(crate) fn sans_for(host: &str, service: &str, extra: &[SanName]) -> Result<Vec<SanName>> {
    let mut sans = Vec::new();
    for n in [host, "localhost", "127.0.0.1", "::1"] {
        push_unique(&mut sans, san_name("--host", n)?);
    }
    if let Ok(name) = san_name("node name", service) {
        push_unique(&mut sans, name);
    }
    for n in extra {
        push_unique(&mut sans, n.clone());
    }
    Ok(sans)
}

fn check_replicas(what: &str, value: i64) -> Result<u8> {
    u8::try_from(value).ok().filter(|r| *r <= 5).ok_or_else(|| {
        Error::usage(format!(
            "{what} {value}: allowed: 0 to 5 replicas per master"
        ))
    })
}

/// Cluster nodes: `host:port` (IPv6 as `[addr]:port`), unique, at least 3 masters, and a
/// port that leaves room for the cluster bus at port + 10000.
fn cluster_nodes(
    what: &str,
    list: &[String],
    replicas: u8,
    extra: &[SanName],
) -> Result<Vec<Node>> {
    let mut nodes: Vec<Node> = Vec::new();
    for item in list {
        let (host, port) = item
            .rsplit_once(':')
            .map(|(h, p)| (h.trim_start_matches('[').trim_end_matches(']'), p))
            .ok_or_else(|| {
                Error::usage(format!(
                    "{what} {item:?}: allowed: HOST:PORT, such as redis-1:7001"
                ))
            })?;
        let host = check_host(what, host)?;
        let port = port
            .parse::<i64>()
            .map_err(|_| Error::usage(format!("{what} {item:?}: the port is not a number")))
            .and_then(|p| check_port(what, p))?;
        if port > 55535 {
            return Err(Error::usage(format!(
                "{what} {item}: the cluster bus listens on port + 10000, which would pass 65535; \
                 allowed: ports up to 55535"
            )));
        }
        if nodes
            .iter()
            .any(|n| n.host.eq_ignore_ascii_case(&host) && n.port == port)
        {
            return Err(Error::usage(format!(
                "{what} {item}: listed twice; allowed: each node once"
            )));
        }
        let name = format!("{}-{port}", host.replace(':', "-")).to_ascii_lowercase();
        let dir = layout::node_dir(&name);
        nodes.push(Node {
            sans: sans_for(&host, &name, extra)?,
            host,
            port,
            conf: format!("{dir}/redis.conf"),
            data: format!("{dir}/data"),
            cert: layout::node_cert(&name),
            key: layout::node_key(&name),
            name,
        });
    }
    for (i, n) in nodes.iter().enumerate() {
        if let Some(m) = nodes[..i].iter().find(|m| m.name == n.name) {
            return Err(Error::usage(format!(
                "{what}: {} and {} would share the folder nodes/{}; allowed: nodes whose \
                 host-port names differ",
                m.address(),
                n.address(),
                n.name
            )));
        }
    }
    let group = usize::from(replicas) + 1;
    if nodes.len() < 3 * group || !nodes.len().is_multiple_of(group) {
        return Err(Error::usage(format!(
            "{what}: {} node(s) with --replicas {replicas}; allowed: a multiple of {group} that \
             gives at least 3 masters ({} nodes or more)",
            nodes.len(),
            3 * group
        )));
    }
    Ok(nodes)
}

/// The profile's server tuning with `--io-threads`, `--maxmemory` and `--persistence`
/// applied, checked against what `target` supports.
fn server(p: &Profile, args: &Request, tls: bool, target: &Target) -> Result<Server> {
    let mut s = p.server.clone();
    let named = Named::apply(&mut s, args);
    check_server_numbers(&s, named.io_threads)?;
    if s.io_threads > 1 && tls && !target.tls_io_threads() {
        return Err(Error::usage(format!(
            "{} {}: {} does not serve TLS connections on I/O threads; \
             allowed with TLS: 1 (off), or more with --server-version 8.0 or later",
            named.io_threads,
            s.io_threads,
            target.title()
        )));
    }
    if s.maxclients < p.pool.max_connections {
        return Err(Error::usage(format!(
            "profile field server.maxclients {}: smaller than the app's pool ({}); allowed: at least the pool size",
            s.maxclients, p.pool.max_connections
        )));
    }
    check_server_choices(&s, &named)?;
    Ok(s)
}

/// Where each value a flag can override came from: the flag, or the profile's field; a
/// refusal names that.
struct Named {
    persistence: &'static str,
    io_threads: &'static str,
    maxmemory: &'static str,
}

impl Named {
    /// `--persistence`, `--io-threads` and `--maxmemory` applied over the profile's.
    fn apply(s: &mut Server, args: &Request) -> Named {
        let persistence = if let Some(mode) = &args.persistence {
            s.persistence = mode.clone();
            "--persistence"
        } else {
            "profile field server.persistence"
        };
        let io_threads = if let Some(n) = args.io_threads {
            s.io_threads = n;
            "--io-threads"
        } else {
            "profile field server.io_threads"
        };
        let maxmemory = if let Some(m) = &args.maxmemory {
            s.maxmemory = m.clone();
            "--maxmemory"
        } else {
            "profile field server.maxmemory"
        };
        Named {
            persistence,
            io_threads,
            maxmemory,
        }
    }
}

/// The numbers the server takes, each within what Redis accepts for it.
fn check_server_numbers(s: &Server, io_what: &str) -> Result<()> {
    let ranges = [
        (io_what, s.io_threads, 1, 128),
        (
            "profile field server.maxclients",
            s.maxclients,
            1,
            1_000_000,
        ),
        ("profile field server.tcp_backlog", s.tcp_backlog, 1, 65_535),
        (
            "profile field server.tcp_keepalive",
            s.tcp_keepalive,
            0,
            86_400,
        ),
        ("profile field server.timeout", s.timeout, 0, 86_400 * 365),
    ];
    for (what, v, lo, hi) in ranges {
        if !(lo..=hi).contains(&v) {
            return Err(Error::usage(format!("{what} {v}: allowed: {lo} to {hi}")));
        }
    }
    Ok(())
}

/// The words the server takes (persistence, appendfsync, eviction policy) and a memory
/// size, each one Redis knows.
fn check_server_choices(s: &Server, named: &Named) -> Result<()> {
    if !["none", "rdb", "aof"].contains(&s.persistence.as_str()) {
        return Err(Error::usage(format!(
            "{} {:?}: allowed: none, rdb, aof",
            named.persistence, s.persistence
        )));
    }
    if !["everysec", "always", "no"].contains(&s.appendfsync.as_str()) {
        return Err(Error::usage(format!(
            "profile field server.appendfsync {:?}: allowed: everysec, always, no",
            s.appendfsync
        )));
    }
    if !s.maxmemory.is_empty() && !is_memory_size(&s.maxmemory) {
        return Err(Error::usage(format!(
            "{} {:?}: allowed: a size such as 512mb or 2gb (units b, kb, mb, gb)",
            named.maxmemory, s.maxmemory
        )));
    }
    const POLICIES: [&str; 8] = [
        "noeviction",
        "allkeys-lru",
        "allkeys-lfu",
        "allkeys-random",
        "volatile-lru",
        "volatile-lfu",
        "volatile-random",
        "volatile-ttl",
    ];
    if !POLICIES.contains(&s.maxmemory_policy.as_str()) {
        return Err(Error::usage(format!(
            "profile field server.maxmemory_policy {:?}: allowed: {}",
            s.maxmemory_policy,
            POLICIES.join(", ")
        )));
    }
    Ok(())
}

/// A memory size as redis.conf takes it (`512mb`, `2gb`, `1000000`), within the 64 bits
/// Redis keeps it in: larger values do not load.
fn is_memory_size(m: &str) -> bool {
    let lower = m.to_ascii_lowercase();
    let digits = lower.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let unit = &lower[digits.len()..];
    let scale: u64 = match unit {
        "" | "b" => 1,
        "k" => 1000,
        "kb" => 1024,
        "m" => 1000 * 1000,
        "mb" => 1024 * 1024,
        "g" => 1000 * 1000 * 1000,
        "gb" => 1024 * 1024 * 1024,
        _ => return false,
    };
    !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && digits
            .parse::<u64>()
            .ok()
            .and_then(|n| n.checked_mul(scale))
            .is_some_and(|n| i64::try_from(n).is_ok())
}

/// The most `--san` names a run takes, and their most bytes in all. Every name goes into
/// each server certificate (every node's, in a cluster): 20,000 of them made a 527 KB
/// certificate that clients and the tool's own verify refuse. 100 names of up to 253
/// characters would be 25 KB; 8 KiB in all keeps each certificate a few KiB.
const MAX_SANS: usize = 100;
const MAX_SAN_BYTES: usize = 8 * 1024;

fn check_san_count(sans: &[String]) -> Result<()> {
    let bytes: usize = sans.iter().map(String::len).sum();
    if sans.len() > MAX_SANS || bytes > MAX_SAN_BYTES {
        return Err(Error::usage(format!(
            "--san: {} name(s), {bytes} bytes in all; allowed: at most {MAX_SANS} names of at \
             most {} KiB in all",
            sans.len(),
            MAX_SAN_BYTES / 1024
        )));
    }
    Ok(())
}

fn push_unique(list: &mut Vec<SanName>, name: SanName) {
    if !list.contains(&name) {
        list.push(name);
    }
}

fn san_name(flag: &str, value: &str) -> Result<SanName> {
    let checked = check_host(flag, value)?;
    if let Ok(ip) = checked.parse::<IpAddr>() {
        return Ok(SanName::Ip(ip));
    }
    Ok(SanName::Dns(checked.to_ascii_lowercase()))
}

/// RFC 1123 host names or IP addresses; nothing else may reach a certificate or a config.
/// IP addresses come back in canonical form (`0::1` is `::1`), so that one address
/// spelled two ways is one address everywhere.
fn check_host(what: &str, value: &str) -> Result<String> {
    if let Ok(ip) = value.parse::<IpAddr>() {
        let dialable =
            !ip.is_unspecified() && !ip.is_multicast() && ip != IpAddr::from([255, 255, 255, 255]);
        if !dialable {
            return Err(Error::usage(format!(
                "{what} {value}: not an address a client can dial; allowed: a host name or a \
                 unicast IP address (the server's listening addresses follow from it)"
            )));
        }
        if let IpAddr::V6(v6) = ip
            && let Some(v4) = v6.to_ipv4_mapped()
        {
            return Err(Error::usage(format!(
                "{what} {value}: an IPv4-mapped IPv6 address, which Redis cannot bind; allowed: \
                 the IPv4 address itself ({v4})"
            )));
        }
        return Ok(ip.to_string());
    }
    // A name whose last label is numeric (or hex) is an IPv4 address in some other
    // spelling (`127.1`, `0x7f.1`, `1.2.3.999`, `127.000.000.001`): resolvers and Redis
    // disagree on what they mean, so only the four-decimal-octet form is taken.
    let last = value.rsplit('.').next().unwrap_or("");
    let numeric = |l: &str| {
        !l.is_empty()
            && (l.bytes().all(|b| b.is_ascii_digit())
                || l.get(..2).is_some_and(|p| p.eq_ignore_ascii_case("0x")))
    };
    if numeric(last) {
        return Err(Error::usage(format!(
            "{what} {}: not a valid IPv4 address; allowed: four decimal numbers 0-255 \
             without leading zeros, such as 127.0.0.1, or a host name",
            printable::text(value)
        )));
    }
    // What webpki takes as a DNS name (labels of letters, digits and '-', up to 63
    // characters, 253 in all), less what it allows and Redis configs and the formats here
    // should not carry: '_' and a trailing dot.
    let webpki_name = rustls_pki_types::DnsName::try_from(value).is_ok();
    if !webpki_name || value.contains('_') || value.ends_with('.') {
        return Err(Error::usage(format!(
            "{what} {value:?}: not a host name or IP address; allowed: an RFC 1123 name \
             (letters, digits, '-' and '.', labels up to 63 characters) or an IPv4/IPv6 address"
        )));
    }
    Ok(value.to_owned())
}

fn check_port(what: &str, value: i64) -> Result<u16> {
    u16::try_from(value)
        .ok()
        .filter(|p| *p > 0)
        .ok_or_else(|| Error::usage(format!("{what} {value}: allowed: a port from 1 to 65535")))
}

fn check_db(what: &str, value: i64) -> Result<u8> {
    u8::try_from(value)
        .ok()
        .filter(|d| *d <= 15)
        .ok_or_else(|| {
            Error::usage(format!(
                "{what} {value}: allowed: a database number from 0 to 15"
            ))
        })
}

/// ACL user names: aclfile lines have no quoting at all, so only a safe set is allowed.
fn check_username(what: &str, value: &str) -> Result<String> {
    let ok = !value.is_empty()
        && value.len() <= 64
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    if !ok {
        return Err(Error::usage(format!(
            "{what} {value:?}: allowed: 1 to 64 characters from A-Z a-z 0-9 _ - ."
        )));
    }
    if value == "default" {
        return Err(Error::usage(format!(
            "{what} default: the default user is switched off in every generated setup; choose another name"
        )));
    }
    if value == crate::config::acl::METRICS_USER {
        return Err(Error::usage(format!(
            "{what} {value}: that user is generated for the metrics exporter (--metrics); choose another name"
        )));
    }
    if [
        crate::config::acl::ADMIN_USER,
        crate::config::acl::REPLICA_USER,
    ]
    .contains(&value)
    {
        return Err(Error::usage(format!(
            "{what} {value}: that user is generated for administration or replication; choose another name"
        )));
    }
    Ok(value.to_owned())
}

/// Validity in days: positive and no more than 100 years.
pub(crate) fn check_days(what: &str, value: i64) -> Result<u32> {
    u32::try_from(value)
        .ok()
        .filter(|d| (1..=36_500).contains(d))
        .ok_or_else(|| Error::usage(format!("{what} {value}: allowed: 1 to 36500 days")))
}

/// Profile fields that reach `.env` as text: a known log level, and features as a JSON
/// object that `.env`'s literal single quotes can carry.
fn check_profile_text(p: &Profile) -> Result<()> {
    const LEVELS: [&str; 5] = ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"];
    if !LEVELS.contains(&p.kimera.log_level.as_str()) {
        return Err(Error::usage(format!(
            "profile field kimera.log_level {:?}: allowed: {}",
            p.kimera.log_level,
            LEVELS.join(", ")
        )));
    }
    let features = &p.kimera.features;
    let is_object =
        serde_json::from_str::<serde_json::Value>(features).is_ok_and(|v| v.is_object());
    if !is_object || !crate::config::envrules::env_safe(features) {
        return Err(Error::usage(format!(
            "profile field kimera.features {features:?}: allowed: a JSON object on one line without single quotes, backslashes or ${{, such as {{\"redis_cache\": true}}"
        )));
    }
    if p.description.chars().any(char::is_control) {
        return Err(Error::usage(
            "profile field description: allowed: one line of text",
        ));
    }
    Ok(())
}

fn check_pool(pool: &Pool) -> Result<()> {
    // The ranges verify holds the written .env to (envcheck), so nothing generated fails it.
    use crate::config::envrules::{MAX_CONNECTIONS, MAX_INTERVAL, seconds_ok};
    let fine = (1..=MAX_CONNECTIONS).contains(&pool.max_connections)
        && seconds_ok(pool.socket_timeout)
        && seconds_ok(pool.socket_connect_timeout)
        && (0..=MAX_INTERVAL).contains(&pool.health_check_interval);
    if fine {
        Ok(())
    } else {
        Err(Error::usage(
            "profile field pool: allowed: max_connections 1 to 100000, timeouts 0.1 to 3600 seconds, health_check_interval 0 to 86400",
        ))
    }
}

/// The output folder as an absolute path; it may not exist yet, but it may not be a file.
fn check_out(out: &Path) -> Result<PathBuf> {
    let abs = std::path::absolute(out)
        .map_err(|e| Error::usage(format!("--out {}: {e}", printable::path(out))))?;
    if abs.exists() && !abs.is_dir() {
        return Err(Error::usage(format!(
            "--out {}: exists and is not a folder; allowed: a folder or a path that does not exist yet",
            out.display()
        )));
    }
    // Every generated file names this path; the app's .env is the strictest format
    // (see escape::env_safe), and everything else is escaped per format.
    if abs
        .to_str()
        .is_none_or(|s| !crate::config::envrules::env_safe(s))
    {
        return Err(Error::usage(format!(
            "--out {}: allowed: a UTF-8 path without control characters, single quotes, backslashes or ${{ (.env readers cannot take them back unchanged)",
            out.display()
        )));
    }
    Ok(abs)
}

/// The effective user and group of this process: the owner of every file it creates.
fn process_owner() -> (u32, u32) {
    // SAFETY: getuid/getgid cannot fail and touch no memory.
    unsafe { (libc::geteuid(), libc::getegid()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fields a row checks on success.
    #[derive(Debug, PartialEq)]
    struct Fields {
        tls: bool,
        username: Option<&'static str>,
        /// `host:port` of every node.
        nodes: Vec<&'static str>,
        db: u8,
        cluster: Option<u8>,
        leaf_days: u32,
        ca_days: u32,
        key_type: KeyType,
    }

    fn fields(s: &Settings) -> Fields {
        let leak = |v: String| -> &'static str { Box::leak(v.into_boxed_str()) };
        Fields {
            tls: s.tls,
            username: s.username.clone().map(leak),
            nodes: s.nodes.iter().map(|n| leak(n.address())).collect(),
            db: s.db,
            cluster: s.replicas_per_master,
            leaf_days: s.leaf_days,
            ca_days: s.ca_days,
            key_type: s.key_type,
        }
    }

    enum Expect {
        Ok(Fields),
        /// The exact message of a usage error (exit 2).
        Usage(&'static str),
    }

    struct Row {
        profile: &'static str,
        flags: fn(&mut Request, &mut RunOptions),
        expect: Expect,
    }

    fn none(_: &mut Request, _: &mut RunOptions) {}

    fn single(tls: bool, user: Option<&'static str>, node: &'static str, db: u8) -> Fields {
        Fields {
            tls,
            username: user,
            nodes: vec![node],
            db,
            cluster: None,
            leaf_days: 365,
            ca_days: 3650,
            key_type: KeyType::EcdsaP256,
        }
    }

    fn rows() -> Vec<Row> {
        use Expect::{Ok, Usage};
        let guide_cluster = || Fields {
            tls: false,
            username: Some("cluster_user"),
            nodes: vec!["redis-1:7001", "redis-2:7002", "redis-3:7003"],
            db: 0,
            cluster: Some(0),
            leaf_days: 365,
            ca_days: 3650,
            key_type: KeyType::EcdsaP256,
        };
        vec![
            // The profiles as they are.
            Row {
                profile: "local-dev",
                flags: none,
                expect: Ok(single(false, None, "localhost:6379", 0)),
            },
            Row {
                profile: "production-tls",
                flags: none,
                expect: Ok(single(
                    true,
                    Some("kimera_user"),
                    "redis.production.com:6380",
                    0,
                )),
            },
            Row {
                profile: "cluster",
                flags: none,
                expect: Ok(guide_cluster()),
            },
            // Flags that change them.
            Row {
                profile: "production-tls",
                flags: |r, _| {
                    r.host = Some("0::1".into());
                    r.port = Some(6390);
                    r.db = Some(15);
                    r.username = Some("app.user-1".into());
                    r.days = 90;
                    r.ca_days = 90;
                    r.key_type = KeyType::Rsa2048;
                },
                expect: Ok(Fields {
                    leaf_days: 90,
                    ca_days: 90,
                    key_type: KeyType::Rsa2048,
                    ..single(true, Some("app.user-1"), "[::1]:6390", 15)
                }),
            },
            Row {
                profile: "cluster",
                flags: |r, _| {
                    r.tls = true;
                    r.replicas = Some(1);
                    r.nodes = (7001..=7006).map(|p| format!("127.0.0.1:{p}")).collect();
                },
                expect: Ok(Fields {
                    tls: true,
                    nodes: vec![
                        "127.0.0.1:7001",
                        "127.0.0.1:7002",
                        "127.0.0.1:7003",
                        "127.0.0.1:7004",
                        "127.0.0.1:7005",
                        "127.0.0.1:7006",
                    ],
                    cluster: Some(1),
                    ..guide_cluster()
                }),
            },
            // What the profile does not allow.
            Row {
                profile: "local-dev",
                flags: |r, _| r.tls = true,
                expect: Usage(
                    "--tls: profile local-dev has no authentication and stays plain text; \
                     use production-tls, or cluster/high-performance with --tls",
                ),
            },
            Row {
                profile: "local-dev",
                flags: |r, _| r.username = Some("app".into()),
                expect: Usage(
                    "--username: profile local-dev has no ACL user (no authentication); \
                     use a profile with authentication such as production-tls",
                ),
            },
            Row {
                profile: "local-dev",
                flags: |r, _| r.host = Some("10.0.0.1".into()),
                expect: Usage(
                    "--host 10.0.0.1: profile local-dev has no password, so it only listens on \
                     this machine; allowed: localhost, 127.0.0.1, ::1 (use production-tls for a \
                     server others reach)",
                ),
            },
            Row {
                profile: "local-dev",
                flags: |r, _| r.san = vec!["redis.internal".into()],
                expect: Usage(
                    "--san: profile local-dev has no TLS, so there is no server certificate to add names to",
                ),
            },
            Row {
                profile: "high-performance",
                flags: |r, _| r.pkcs12 = true,
                expect: Usage(
                    "--pkcs12: profile high-performance has no TLS, so there are no certificates \
                     to store; add --tls or use production-tls",
                ),
            },
            Row {
                profile: "high-performance",
                flags: |r, _| r.ca = Some(("ca.crt".into(), "ca.key".into())),
                expect: Usage(
                    "--ca-cert: profile high-performance has no TLS, so there is nothing to \
                     issue; add --tls or use production-tls",
                ),
            },
            // Values out of range.
            Row {
                profile: "production-tls",
                flags: |r, _| r.db = Some(16),
                expect: Usage("--db 16: allowed: a database number from 0 to 15"),
            },
            Row {
                profile: "production-tls",
                flags: |r, _| r.port = Some(0),
                expect: Usage("--port 0: allowed: a port from 1 to 65535"),
            },
            Row {
                profile: "production-tls",
                flags: |r, _| r.port = Some(65536),
                expect: Usage("--port 65536: allowed: a port from 1 to 65535"),
            },
            Row {
                profile: "production-tls",
                flags: |r, _| r.days = 0,
                expect: Usage("--days 0: allowed: 1 to 36500 days"),
            },
            Row {
                profile: "production-tls",
                flags: |r, _| r.ca_days = 36_501,
                expect: Usage("--ca-days 36501: allowed: 1 to 36500 days"),
            },
            Row {
                profile: "production-tls",
                flags: |r, _| r.days = 3651,
                expect: Usage(
                    "--days 3651: the certificates would outlive the CA (--ca-days 3650); \
                     allowed: at most --ca-days",
                ),
            },
            Row {
                profile: "production-tls",
                flags: |r, _| r.username = Some("default".into()),
                expect: Usage(
                    "--username default: the default user is switched off in every generated \
                     setup; choose another name",
                ),
            },
            Row {
                profile: "production-tls",
                flags: |r, _| r.username = Some("kimera_admin".into()),
                expect: Usage(
                    "--username kimera_admin: that user is generated for administration or \
                     replication; choose another name",
                ),
            },
            Row {
                profile: "production-tls",
                flags: |r, _| r.username = Some("a b".into()),
                expect: Usage(
                    "--username \"a b\": allowed: 1 to 64 characters from A-Z a-z 0-9 _ - .",
                ),
            },
            Row {
                profile: "production-tls",
                flags: |r, _| r.host = Some("127.1".into()),
                expect: Usage(
                    "--host 127.1: not a valid IPv4 address; allowed: four decimal numbers 0-255 \
                     without leading zeros, such as 127.0.0.1, or a host name",
                ),
            },
            Row {
                profile: "production-tls",
                flags: |r, _| r.host = Some("bad_host".into()),
                expect: Usage(
                    "--host \"bad_host\": not a host name or IP address; allowed: an RFC 1123 \
                     name (letters, digits, '-' and '.', labels up to 63 characters) or an \
                     IPv4/IPv6 address",
                ),
            },
            Row {
                profile: "production-tls",
                flags: |r, _| r.host = Some("redis.example.com.".into()),
                expect: Usage(
                    "--host \"redis.example.com.\": not a host name or IP address; allowed: an \
                     RFC 1123 name (letters, digits, '-' and '.', labels up to 63 characters) or \
                     an IPv4/IPv6 address",
                ),
            },
            Row {
                profile: "production-tls",
                flags: |r, _| r.host = Some("-redis".into()),
                expect: Usage(
                    "--host \"-redis\": not a host name or IP address; allowed: an RFC 1123 \
                     name (letters, digits, '-' and '.', labels up to 63 characters) or an \
                     IPv4/IPv6 address",
                ),
            },
            Row {
                profile: "production-tls",
                flags: |r, _| r.host = Some("0xzz.example.0x1f".into()),
                expect: Usage(
                    "--host 0xzz.example.0x1f: not a valid IPv4 address; allowed: four decimal \
                     numbers 0-255 without leading zeros, such as 127.0.0.1, or a host name",
                ),
            },
            Row {
                profile: "production-tls",
                flags: |r, _| r.host = Some(format!("{}.example.com", "a".repeat(64))),
                expect: Usage(
                    "--host \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.example.com\": \
                     not a host name or IP address; allowed: an RFC 1123 name (letters, digits, \
                     '-' and '.', labels up to 63 characters) or an IPv4/IPv6 address",
                ),
            },
            Row {
                profile: "production-tls",
                flags: |r, _| r.host = Some(format!("{}.example.com", "a".repeat(63))),
                expect: Ok(single(
                    true,
                    Some("kimera_user"),
                    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.example.com:6380",
                    0,
                )),
            },
            Row {
                profile: "production-tls",
                flags: |r, _| r.host = Some("::ffff:10.0.0.1".into()),
                expect: Usage(
                    "--host ::ffff:10.0.0.1: an IPv4-mapped IPv6 address, which Redis cannot \
                     bind; allowed: the IPv4 address itself (10.0.0.1)",
                ),
            },
            Row {
                profile: "production-tls",
                flags: |r, _| r.io_threads = Some(4),
                expect: Usage(
                    "--io-threads 4: Redis 7.4 does not serve TLS connections on I/O threads; \
                     allowed with TLS: 1 (off), or more with --server-version 8.0 or later",
                ),
            },
            Row {
                profile: "production-tls",
                flags: |r, _| {
                    r.io_threads = Some(4);
                    r.server = Some(ServerKind::Valkey);
                    r.server_version = Some("7.2".into());
                },
                expect: Usage(
                    "--io-threads 4: Valkey 7.2 does not serve TLS connections on I/O threads; \
                     allowed with TLS: 1 (off), or more with --server-version 8.0 or later",
                ),
            },
            Row {
                profile: "production-tls",
                flags: |r, _| r.persistence = Some("always".into()),
                expect: Usage("--persistence \"always\": allowed: none, rdb, aof"),
            },
            Row {
                profile: "production-tls",
                flags: |r, _| {
                    r.server = Some(ServerKind::Redis);
                    r.server_version = Some("6.2".into());
                },
                expect: Usage(
                    "--server-version \"6.2\": allowed for redis: MAJOR.MINOR from 7.0 to 8.x, such as 7.4",
                ),
            },
            Row {
                profile: "high-performance",
                flags: |r, _| r.maxmemory = Some("2xb".into()),
                expect: Usage(
                    "--maxmemory \"2xb\": allowed: a size such as 512mb or 2gb (units b, kb, mb, gb)",
                ),
            },
            // Run options that cannot go together.
            Row {
                profile: "production-tls",
                flags: |_, run| run.replace_ca = true,
                expect: Usage(
                    "--replace-ca: a new CA means every certificate is issued again and every \
                     file rewritten; add --force",
                ),
            },
            Row {
                profile: "production-tls",
                flags: |r, run| {
                    run.force = true;
                    run.replace_ca = true;
                    r.ca = Some(("ca.crt".into(), "ca.key".into()));
                },
                expect: Usage(
                    "--replace-ca: with --ca-cert the CA is your organisation's; allowed: one of the two",
                ),
            },
            // A cluster's shape.
            Row {
                profile: "cluster",
                flags: |r, _| r.host = Some("redis-1".into()),
                expect: Usage(
                    "--host/--port: profile cluster is a cluster; give its nodes with --nodes HOST:PORT,...",
                ),
            },
            Row {
                profile: "cluster",
                flags: |r, _| r.db = Some(1),
                expect: Usage("--db 1: Redis Cluster has only database 0; allowed: 0"),
            },
            Row {
                profile: "cluster",
                flags: |r, _| r.nodes = vec!["redis-1:7001".into(), "redis-2:7002".into()],
                expect: Usage(
                    "--nodes: 2 node(s) with --replicas 0; allowed: a multiple of 1 that gives at \
                     least 3 masters (3 nodes or more)",
                ),
            },
            Row {
                profile: "cluster",
                flags: |r, _| {
                    r.nodes = vec!["a:7001".into(), "b:7002".into(), "A:7001".into()];
                },
                expect: Usage("--nodes A:7001: listed twice; allowed: each node once"),
            },
            Row {
                profile: "cluster",
                flags: |r, _| r.nodes = vec!["a:60000".into()],
                expect: Usage(
                    "--nodes a:60000: the cluster bus listens on port + 10000, which would pass \
                     65535; allowed: ports up to 55535",
                ),
            },
            Row {
                profile: "cluster",
                flags: |r, _| r.replicas = Some(6),
                expect: Usage("--replicas 6: allowed: 0 to 5 replicas per master"),
            },
            Row {
                profile: "production-tls",
                flags: |r, _| r.nodes = vec!["a:7001".into()],
                expect: Usage(
                    "--nodes/--replicas: profile production-tls is a single server; allowed with --profile cluster",
                ),
            },
        ]
    }

    #[test]
    fn each_request_resolves_to_its_settings_or_its_one_error() {
        let mut failures = Vec::new();
        for (i, row) in rows().into_iter().enumerate() {
            let mut req = Request {
                out: Some(PathBuf::from("/nonexistent/kimera-settings-test")),
                ..Request::new(row.profile)
            };
            let mut run = RunOptions::default();
            (row.flags)(&mut req, &mut run);
            let got = Settings::resolve(&req, &run);
            let line = match (&row.expect, got) {
                (Expect::Ok(want), Ok(s)) if fields(&s) == *want => continue,
                (Expect::Ok(want), Ok(s)) => format!("want {want:?}, got {:?}", fields(&s)),
                (Expect::Ok(_), Err(e)) => format!("want settings, got error {e}"),
                (Expect::Usage(want), Err(Error::Usage(got))) if got == *want => continue,
                (Expect::Usage(want), Err(e)) => {
                    format!("want usage error\n  {want}\ngot\n  {e:?}")
                }
                (Expect::Usage(want), Ok(s)) => {
                    format!("want usage error {want}, got {:?}", fields(&s))
                }
            };
            failures.push(format!("row {i} ({}): {line}", row.profile));
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[test]
    fn a_server_certificate_names_its_host_loopback_the_service_and_every_san() {
        let req = Request {
            out: Some(PathBuf::from("/nonexistent/kimera-settings-test")),
            host: Some("Redis.Example.com".into()),
            san: vec!["10.0.0.5".into(), "localhost".into()],
            ..Request::new("production-tls")
        };
        let s = Settings::resolve(&req, &RunOptions::default()).unwrap();
        let names: Vec<String> = s.nodes[0].sans.iter().map(ToString::to_string).collect();
        assert_eq!(
            names,
            [
                "redis.example.com",
                "localhost",
                "127.0.0.1",
                "::1",
                "redis",
                "10.0.0.5"
            ]
        );
    }

    #[test]
    fn memory_sizes_are_what_redis_loads() {
        for ok in ["1", "512mb", "2GB", "100k", "8589934591gb"] {
            assert!(is_memory_size(ok), "{ok}");
        }
        for bad in ["", "mb", "2xb", "-1", "1.5gb", "8589934592gb", "2 gb"] {
            assert!(!is_memory_size(bad), "{bad}");
        }
    }

    #[test]
    fn a_request_without_a_profile_names_the_flag() {
        let err = Settings::resolve(&Request::default(), &RunOptions::default()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "--profile is required (or --profile-file); see `kimera-redis-init profiles`"
        );
    }
}
