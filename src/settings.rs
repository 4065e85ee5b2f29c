//! Flags + profile become `Settings`: resolved and validated. This is the one place that
//! rejects bad input; everything after it can trust what it is given.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use crate::cli::{GenerateArgs, KeyType};
use crate::error::{Error, Result};
use crate::profile::{self, Kimera, Pool, Profile};

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

/// Everything a run needs, resolved and validated.
#[derive(Debug, Clone)]
pub struct Settings {
    pub profile: String,
    pub description: String,
    /// Absolute: rendered files point at each other by absolute path.
    pub out_dir: PathBuf,
    pub host: String,
    pub port: u16,
    pub db: u8,
    /// The ACL user; `None` when the profile has no authentication.
    pub username: Option<String>,
    pub tls: bool,
    /// Server certificate names: the host, loopback names, the compose service, `--san`s.
    pub server_sans: Vec<SanName>,
    pub key_type: KeyType,
    pub leaf_days: u32,
    pub ca_days: u32,
    pub force: bool,
    pub dry_run: bool,
    pub json: bool,
    pub pool: Pool,
    pub kimera: Kimera,
    /// Who owns the generated files; the container runs as this user so that it can
    /// read the 0600 keys without them being made readable to anyone else.
    pub owner: (u32, u32),
}

impl Settings {
    /// Resolve `generate` flags against their profile.
    pub fn resolve(args: &GenerateArgs) -> Result<Settings> {
        let name = args.profile.clone().ok_or_else(|| {
            Error::usage("--profile is required; see `kimera-redis-init profiles`")
        })?;
        let profile = profile::builtin(&name)?;
        Self::from_profile(&name, profile, args)
    }

    fn from_profile(name: &str, p: Profile, args: &GenerateArgs) -> Result<Settings> {
        if !p.cluster_nodes.is_empty() {
            return Err(Error::usage(format!(
                "--profile {name}: Redis Cluster generation is not available in this version; \
                 allowed now: local-dev, production-tls, high-performance"
            )));
        }
        let host = match &args.host {
            Some(h) => check_host("--host", h)?,
            None => check_host("profile field host", &p.host)?,
        };
        let port = match args.port {
            Some(v) => check_port("--port", v)?,
            None => check_port("profile field port", p.port)?,
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
        if !p.tls && !args.san.is_empty() {
            return Err(Error::usage(format!(
                "--san: profile {name} has no TLS, so there is no server certificate to add names to"
            )));
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

        let mut server_sans = Vec::new();
        if p.tls {
            let defaults = [
                host.as_str(),
                "localhost",
                "127.0.0.1",
                "::1",
                COMPOSE_SERVICE,
            ];
            for n in defaults {
                push_unique(&mut server_sans, san_name("--host", n)?);
            }
            for n in &args.san {
                push_unique(&mut server_sans, san_name("--san", n)?);
            }
        }

        let out = args.out.clone().unwrap_or_else(|| PathBuf::from(name));
        let out_dir = check_out(&out)?;

        Ok(Settings {
            profile: name.to_owned(),
            description: p.description,
            out_dir,
            host,
            port,
            db,
            username,
            tls: p.tls,
            server_sans,
            key_type: args.key_type,
            leaf_days,
            ca_days,
            force: args.force,
            dry_run: args.dry_run,
            json: args.json,
            pool: p.pool,
            kimera: p.kimera,
            owner: process_owner(),
        })
    }

    /// Whether the host the app dials is this machine, so the server can bind loopback only.
    pub fn host_is_loopback(&self) -> bool {
        match self.host.parse::<IpAddr>() {
            Ok(ip) => ip.is_loopback(),
            Err(_) => self.host.eq_ignore_ascii_case("localhost"),
        }
    }
}

fn push_unique(list: &mut Vec<SanName>, name: SanName) {
    if !list.contains(&name) {
        list.push(name);
    }
}

fn san_name(flag: &str, value: &str) -> Result<SanName> {
    if let Ok(ip) = value.parse::<IpAddr>() {
        return Ok(SanName::Ip(ip));
    }
    Ok(SanName::Dns(check_host(flag, value)?.to_ascii_lowercase()))
}

/// RFC 1123 host names or IP addresses; nothing else may reach a certificate or a config.
fn check_host(what: &str, value: &str) -> Result<String> {
    if value.parse::<IpAddr>().is_ok() {
        return Ok(value.to_owned());
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
    Ok(value.to_owned())
}

/// Validity in days: positive and no more than 100 years.
fn check_days(what: &str, value: i64) -> Result<u32> {
    u32::try_from(value)
        .ok()
        .filter(|d| (1..=36_500).contains(d))
        .ok_or_else(|| Error::usage(format!("{what} {value}: allowed: 1 to 36500 days")))
}

fn check_pool(pool: &Pool) -> Result<()> {
    let fine = pool.max_connections > 0
        && pool.socket_timeout.is_finite()
        && pool.socket_timeout > 0.0
        && pool.socket_connect_timeout.is_finite()
        && pool.socket_connect_timeout > 0.0
        && pool.health_check_interval >= 0;
    if fine {
        Ok(())
    } else {
        Err(Error::usage(
            "profile field pool: max_connections and timeouts must be positive, health_check_interval 0 or more",
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
    // Every generated file names this path. Control bytes cannot be carried by .env or
    // redis.conf lines, and a single quote not by .env's literal quoting; the rest is
    // escaped per format.
    if abs
        .to_str()
        .is_none_or(|s| s.chars().any(|c| c.is_control() || c == '\''))
    {
        return Err(Error::usage(format!(
            "--out {}: allowed: a UTF-8 path without control characters or single quotes",
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
