//! Flags + profile become `Settings`: resolved and validated. This is the one place that
//! rejects bad input; everything after it can trust what it is given.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use crate::cli::{ComposeNetwork, GenerateArgs, KeyType};
use crate::error::{Error, Result};
use crate::layout;
use crate::profile::{self, Kimera, Pool, Profile, Server};

/// The compose service name; it is also a SAN on the server certificate so that other
/// containers on the compose network can verify the server by that name.
pub const COMPOSE_SERVICE: &str = "redis";

/// A name on a certificate: a DNS name or an IP address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SanName {
    Dns(String),
    Ip(IpAddr),
}

impl std::fmt::Display for SanName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SanName::Dns(d) => f.write_str(d),
            SanName::Ip(ip) => write!(f, "{ip}"),
        }
    }
}

/// One redis-server: the single server of most profiles, or a cluster node.
#[derive(Debug, Clone)]
pub struct Node {
    /// Its folder under `nodes/` and its compose service; `redis` for a single server.
    pub name: String,
    pub host: String,
    pub port: u16,
    /// Names on its server certificate.
    pub sans: Vec<SanName>,
    /// Paths relative to the output folder.
    pub conf: String,
    pub data: String,
    pub cert: String,
    pub key: String,
}

impl Node {
    /// `host:port`, with IPv6 addresses in brackets, as clients and redis-cli take it.
    pub fn address(&self) -> String {
        host_port(&self.host, self.port)
    }

    /// Whether clients reach this node on this machine, so it can listen on loopback only.
    pub fn is_loopback(&self) -> bool {
        is_loopback(&self.host)
    }
}

/// `host:port`, with an IPv6 address in brackets: what clients, redis-cli and .env take.
pub(crate) fn host_port(host: &str, port: impl std::fmt::Display) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// Everything a run needs, resolved and validated.
#[derive(Debug, Clone)]
pub struct Settings {
    pub profile: String,
    pub description: String,
    /// Absolute: rendered files point at each other by absolute path.
    pub out_dir: PathBuf,
    pub db: u8,
    /// The app's ACL user; `None` when the profile has no authentication.
    pub username: Option<String>,
    pub tls: bool,
    /// One node for a single server; every node for a cluster.
    pub nodes: Vec<Node>,
    /// `Some(replicas per master)` for a Redis Cluster.
    pub cluster: Option<u8>,
    pub key_type: KeyType,
    /// `--pkcs12`: PKCS#12 key and trust stores beside the PEM files (see `stores`).
    pub pkcs12: bool,
    pub leaf_days: u32,
    pub ca_days: u32,
    pub force: bool,
    /// `--replace-ca` (with `--force`): a new CA over the folder's own.
    pub replace_ca: bool,
    pub dry_run: bool,
    pub json: bool,
    pub pool: Pool,
    pub kimera: Kimera,
    pub server: Server,
    /// `--ca-cert` and `--ca-key`: issue under this CA, never copy its key.
    pub external_ca: Option<(PathBuf, PathBuf)>,
    /// Who owns the generated files; the container runs as this user so that it can
    /// read the 0600 keys without them being made readable to anyone else.
    pub owner: (u32, u32),
    /// `--kubernetes`: write the same setup as manifests too.
    pub kubernetes: Option<crate::kubernetes::options::Kubernetes>,
    /// `--image`: the image of every compose service, a checked reference.
    pub image: String,
    /// `--compose-network`, resolved: how a cluster's compose services are connected.
    pub compose_network: ComposeNetwork,
}

impl Settings {
    /// Where the app connects first: the server, or the first cluster node.
    pub fn host(&self) -> &str {
        &self.nodes[0].host
    }

    pub fn port(&self) -> u16 {
        self.nodes[0].port
    }

    /// Resolve `generate` flags against their profile.
    pub fn resolve(args: &GenerateArgs) -> Result<Settings> {
        let (name, profile) = match (&args.profile, &args.profile_file) {
            (Some(name), _) => (name.clone(), profile::builtin(name)?),
            (None, Some(file)) => profile::from_file(file)?,
            (None, None) => {
                return Err(Error::usage(
                    "--profile is required (or --profile-file); see `kimera-redis-init profiles`",
                ));
            }
        };
        Self::from_profile(&name, profile, args)
    }

    pub fn from_profile(name: &str, p: Profile, args: &GenerateArgs) -> Result<Settings> {
        let is_cluster = !p.cluster_nodes.is_empty();
        // What the flags cannot combine, a profile file cannot either.
        if !p.auth && (is_cluster || p.tls) {
            return Err(Error::usage(format!(
                "profile field auth false: profile {name} has {}, which needs its ACL users; allowed: auth = true",
                if is_cluster { "cluster nodes" } else { "TLS" }
            )));
        }
        let tls = match (p.tls, args.tls, p.auth) {
            (_, true, false) => {
                return Err(Error::usage(format!(
                    "--tls: profile {name} has no authentication and stays plain text; \
                     use production-tls, or cluster/high-performance with --tls"
                )));
            }
            (profile_tls, flag, _) => profile_tls || flag,
        };
        let db = match args.db {
            Some(v) => check_db("--db", v)?,
            None => check_db("profile field db", p.db)?,
        };
        let username = match (&args.username, p.auth) {
            (Some(u), true) => Some(check_username("--username", u)?),
            (Some(_), false) => {
                return Err(Error::usage(format!(
                    "--username: profile {name} has no ACL user (no authentication); \
                     use a profile with authentication such as production-tls"
                )));
            }
            (None, true) => Some(check_username("profile field username", &p.username)?),
            (None, false) => None,
        };
        if !tls && !args.san.is_empty() {
            return Err(Error::usage(format!(
                "--san: profile {name} has no TLS, so there is no server certificate to add names to"
            )));
        }
        if args.pkcs12 && !tls {
            return Err(Error::usage(format!(
                "--pkcs12: profile {name} has no TLS, so there are no certificates to store; add --tls or use production-tls"
            )));
        }
        if args.replace_ca && !args.force {
            return Err(Error::usage(
                "--replace-ca: a new CA means every certificate is issued again and every file rewritten; add --force",
            ));
        }
        if args.replace_ca && args.ca.ca_cert.is_some() {
            return Err(Error::usage(
                "--replace-ca: with --ca-cert the CA is your organisation's; allowed: one of the two",
            ));
        }
        let leaf_days = check_days("--days", args.days)?;
        let ca_days = check_days("--ca-days", args.ca_days)?;
        if leaf_days > ca_days {
            return Err(Error::usage(format!(
                "--days {leaf_days}: the certificates would outlive the CA (--ca-days {ca_days}); \
                 allowed: at most --ca-days"
            )));
        }
        check_pool(&p.pool)?;
        check_profile_text(&p)?;
        let server = server(&p, args, tls)?;
        let extra_sans = args
            .san
            .iter()
            .map(|n| san_name("--san", n))
            .collect::<Result<Vec<_>>>()?;

        let (nodes, cluster) = if is_cluster {
            if args.host.is_some() || args.port.is_some() {
                return Err(Error::usage(format!(
                    "--host/--port: profile {name} is a cluster; give its nodes with --nodes HOST:PORT,..."
                )));
            }
            if db != 0 {
                return Err(Error::usage(format!(
                    "{} {db}: Redis Cluster has only database 0; allowed: 0",
                    if args.db.is_some() {
                        "--db"
                    } else {
                        "profile field db"
                    }
                )));
            }
            let (list, what) = if args.nodes.is_empty() {
                (&p.cluster_nodes, "profile field cluster_nodes")
            } else {
                (&args.nodes, "--nodes")
            };
            let replicas = match args.replicas {
                Some(r) => check_replicas("--replicas", r)?,
                None => check_replicas("profile field replicas", p.replicas)?,
            };
            (
                cluster_nodes(what, list, replicas, &extra_sans)?,
                Some(replicas),
            )
        } else {
            if !args.nodes.is_empty() || args.replicas.is_some() {
                return Err(Error::usage(format!(
                    "--nodes/--replicas: profile {name} is a single server; allowed with --profile cluster"
                )));
            }
            let (what, host) = match &args.host {
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
            let port = match args.port {
                Some(v) => check_port("--port", v)?,
                None => check_port("profile field port", p.port)?,
            };
            let sans = if tls {
                sans_for(&host, COMPOSE_SERVICE, &extra_sans)?
            } else {
                Vec::new()
            };
            let node = Node {
                name: COMPOSE_SERVICE.to_owned(),
                host,
                port,
                sans,
                conf: layout::REDIS_CONF.to_owned(),
                data: layout::DATA_DIR.to_owned(),
                cert: layout::SERVER_CERT.to_owned(),
                key: layout::SERVER_KEY.to_owned(),
            };
            (vec![node], None)
        };

        let out = args.out.clone().unwrap_or_else(|| PathBuf::from(name));
        let out_dir = check_out(&out)?;
        let kubernetes = crate::kubernetes::options::resolve(&args.kubernetes, name, p.auth)?;
        let image = match &args.image {
            Some(i) => crate::image::check_image("--image", i)?,
            None => crate::render::REDIS_IMAGE.to_owned(),
        };
        let compose_network =
            crate::network::resolve(name, args.compose_network, &nodes, cluster.is_some())?;

        Ok(Settings {
            profile: name.to_owned(),
            description: p.description,
            out_dir,
            db,
            username,
            tls,
            nodes,
            cluster,
            key_type: args.key_type,
            pkcs12: args.pkcs12,
            leaf_days,
            ca_days,
            force: args.force,
            replace_ca: args.replace_ca,
            dry_run: args.dry_run,
            json: args.json,
            pool: p.pool,
            kimera: p.kimera,
            server,
            external_ca: match (&args.ca.ca_cert, &args.ca.ca_key) {
                (Some(c), Some(k)) if tls => Some((c.clone(), k.clone())),
                (Some(_), Some(_)) => {
                    return Err(Error::usage(format!(
                        "--ca-cert: profile {name} has no TLS, so there is nothing to issue; add --tls or use production-tls"
                    )));
                }
                _ => None,
            },
            owner: process_owner(),
            kubernetes,
            image,
            compose_network,
        })
    }
}

fn is_loopback(host: &str) -> bool {
    match host.parse::<IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => host.eq_ignore_ascii_case("localhost"),
    }
}

/// A server certificate's names: its host, the loopback names (clients such as redis-py
/// resolve `localhost` and dial the IP), its compose service, and every `--san`.
fn sans_for(host: &str, service: &str, extra: &[SanName]) -> Result<Vec<SanName>> {
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

/// The profile's server tuning with `--io-threads` and `--maxmemory` applied, checked.
fn server(p: &Profile, args: &GenerateArgs, tls: bool) -> Result<Server> {
    let mut s = p.server.clone();
    let io_what = if let Some(n) = args.io_threads {
        s.io_threads = n;
        "--io-threads"
    } else {
        "profile field server.io_threads"
    };
    let mem_what = if let Some(m) = &args.maxmemory {
        s.maxmemory = m.clone();
        "--maxmemory"
    } else {
        "profile field server.maxmemory"
    };
    let range = |what: &str, v: i64, lo: i64, hi: i64| {
        if (lo..=hi).contains(&v) {
            Ok(())
        } else {
            Err(Error::usage(format!("{what} {v}: allowed: {lo} to {hi}")))
        }
    };
    range(io_what, s.io_threads, 1, 128)?;
    range(
        "profile field server.maxclients",
        s.maxclients,
        1,
        1_000_000,
    )?;
    range("profile field server.tcp_backlog", s.tcp_backlog, 1, 65_535)?;
    range(
        "profile field server.tcp_keepalive",
        s.tcp_keepalive,
        0,
        86_400,
    )?;
    range("profile field server.timeout", s.timeout, 0, 86_400 * 365)?;
    if s.io_threads > 1 && tls {
        return Err(Error::usage(format!(
            "{io_what} {}: Redis 7 does not read TLS connections with I/O threads; \
             allowed with TLS: 1 (off)",
            s.io_threads
        )));
    }
    if s.maxclients < p.pool.max_connections {
        return Err(Error::usage(format!(
            "profile field server.maxclients {}: smaller than the app's pool ({}); allowed: at least the pool size",
            s.maxclients, p.pool.max_connections
        )));
    }
    if !["rdb", "aof", "none"].contains(&s.persistence.as_str()) {
        return Err(Error::usage(format!(
            "profile field server.persistence {:?}: allowed: rdb, aof, none",
            s.persistence
        )));
    }
    // Redis keeps the size in 64 bits: larger values do not load.
    let size_ok = |m: &str| {
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
    };
    if !s.maxmemory.is_empty() && !size_ok(&s.maxmemory) {
        return Err(Error::usage(format!(
            "{mem_what} {:?}: allowed: a size such as 512mb or 2gb (units b, kb, mb, gb)",
            s.maxmemory
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
    Ok(s)
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
            "{what} {value}: not a valid IPv4 address; allowed: four decimal numbers 0-255 \
             without leading zeros, such as 127.0.0.1, or a host name"
        )));
    }
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    };
    if value.is_empty() || value.len() > 253 || !value.split('.').all(label_ok) {
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
    if [crate::acl::ADMIN_USER, crate::acl::REPLICA_USER].contains(&value) {
        return Err(Error::usage(format!(
            "{what} {value}: that user is generated for administration or replication; choose another name"
        )));
    }
    Ok(value.to_owned())
}

/// Validity in days: positive and no more than 100 years.
fn check_days(what: &str, value: i64) -> Result<u32> {
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
    if !is_object || !crate::escape::env_safe(features) {
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
    use crate::envcheck::{MAX_CONNECTIONS, MAX_INTERVAL, seconds_ok};
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
        .map_err(|e| Error::usage(format!("--out {}: {e}", out.display())))?;
    if abs.exists() && !abs.is_dir() {
        return Err(Error::usage(format!(
            "--out {}: exists and is not a folder; allowed: a folder or a path that does not exist yet",
            out.display()
        )));
    }
    // Every generated file names this path; the app's .env is the strictest format
    // (see escape::env_safe), and everything else is escaped per format.
    if abs.to_str().is_none_or(|s| !crate::escape::env_safe(s)) {
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
