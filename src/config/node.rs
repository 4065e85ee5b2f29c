//! One redis-server as settings resolve it (its address, the names on its certificate,
//! its files), apart from the resolution itself so that `network` and `kubernetes`,
//! which `settings` calls, can name it without importing `settings`.

use std::net::IpAddr;

/// A name on a certificate: a DNS name or an IP address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SanName {
    Dns(String),
    Ip(IpAddr),
}

impl SanName {
    /// The same name: DNS names compare without regard to case, as resolvers do.
    pub(crate) fn same_as(&self, other: &SanName) -> bool {
        match (self, other) {
            (SanName::Dns(a), SanName::Dns(b)) => a.eq_ignore_ascii_case(b),
            (SanName::Ip(a), SanName::Ip(b)) => a == b,
            _ => false,
        }
    }
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
pub(crate) struct Node {
    /// Its folder under `nodes/` and its compose service; `redis` for a single server.
    pub(crate) name: String,
    pub(crate) host: String,
    pub(crate) port: u16,
    /// Names on its server certificate.
    pub(crate) sans: Vec<SanName>,
    /// Paths relative to the output folder.
    pub(crate) conf: String,
    pub(crate) data: String,
    pub(crate) cert: String,
    pub(crate) key: String,
}

impl Node {
    /// `host:port`, with IPv6 addresses in brackets, as clients and redis-cli take it.
    pub(crate) fn address(&self) -> String {
        host_port(&self.host, self.port)
    }

    /// Whether clients reach this node on this machine, so it can listen on loopback only.
    pub(crate) fn is_loopback(&self) -> bool {
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

pub(crate) fn is_loopback(host: &str) -> bool {
    match host.parse::<IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => host.eq_ignore_ascii_case("localhost"),
    }
}
