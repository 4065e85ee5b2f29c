//! `--bind`: the addresses every redis-server listens on (its client port and, for a
//! cluster, its bus, which Redis binds on the same addresses), and the addresses the
//! compose file publishes its port on. Checked here for `settings`; resolved into the
//! words of redis.conf's `bind` for `render`.

use std::net::IpAddr;

use crate::config::node::Node;
use crate::error::{Error, Result};
use crate::printable;

/// `--bind` as given (comma lists already split by clap), checked: IP addresses Redis
/// can bind, each once; loopback only for a profile without a password; every node's
/// address (when it is an IP address, or localhost) among them, so the app can connect.
pub(crate) fn check(
    profile: &str,
    given: &[String],
    auth: bool,
    nodes: &[Node],
) -> Result<Vec<IpAddr>> {
    let mut addrs: Vec<IpAddr> = Vec::new();
    for value in given {
        let ip = value.trim().parse::<IpAddr>().map_err(|_| {
            Error::usage(format!(
                "--bind {}: not an IP address; allowed: IPv4 or IPv6 addresses of this machine, \
                 such as 10.0.0.5 or 127.0.0.1, comma-separated or repeated",
                printable::text(value)
            ))
        })?;
        if ip.is_multicast() || ip == IpAddr::from([255, 255, 255, 255]) {
            return Err(Error::usage(format!(
                "--bind {ip}: not an address a server can listen on; allowed: a unicast address \
                 of this machine, or 0.0.0.0 / :: for every interface"
            )));
        }
        if let IpAddr::V6(v6) = ip
            && let Some(v4) = v6.to_ipv4_mapped()
        {
            return Err(Error::usage(format!(
                "--bind {ip}: an IPv4-mapped IPv6 address, which Redis cannot bind; allowed: \
                 the IPv4 address itself ({v4})"
            )));
        }
        if addrs.contains(&ip) {
            return Err(Error::usage(format!(
                "--bind {ip}: listed twice; allowed: each address once"
            )));
        }
        if !auth && !ip.is_loopback() {
            return Err(Error::usage(format!(
                "--bind {ip}: profile {profile} has no password, so it only listens on this \
                 machine; allowed: 127.0.0.1, ::1"
            )));
        }
        addrs.push(ip);
    }
    if addrs.is_empty() {
        return Ok(addrs);
    }
    for n in nodes {
        if !reachable(&addrs, n) {
            return Err(Error::usage(format!(
                "--bind {}: the app dials {}, which the server would not listen on; allowed: \
                 a list that includes {} (or 0.0.0.0 / :: for every interface)",
                list(&addrs),
                n.address(),
                if n.is_loopback() {
                    "127.0.0.1 or ::1".to_owned()
                } else {
                    n.host.clone()
                }
            )));
        }
    }
    Ok(addrs)
}

/// Whether a server bound to `addrs` (loopback added, see `words`) answers at the node's
/// address; a host name cannot be checked without resolving it, so it passes.
fn reachable(addrs: &[IpAddr], n: &Node) -> bool {
    if n.is_loopback() {
        return true;
    }
    match n.host.parse::<IpAddr>() {
        Ok(ip) => addrs
            .iter()
            .any(|a| *a == ip || (a.is_unspecified() && a.is_ipv4() == ip.is_ipv4())),
        Err(_) => true,
    }
}

fn list(addrs: &[IpAddr]) -> String {
    addrs
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// The words of redis.conf's `bind` for explicit addresses: each of them, then loopback
/// for local administration and the healthchecks (`-::1`: optional, for hosts without
/// IPv6) unless an address already covers it (binding 0.0.0.0 and 127.0.0.1 both would
/// fail with "address in use").
pub(crate) fn words(addrs: &[IpAddr]) -> Vec<String> {
    let mut words: Vec<String> = addrs.iter().map(ToString::to_string).collect();
    let v4_covered = addrs
        .iter()
        .any(|a| a.is_ipv4() && (a.is_unspecified() || a.is_loopback()));
    let v6_covered = addrs
        .iter()
        .any(|a| a.is_ipv6() && (a.is_unspecified() || a.is_loopback()));
    if !v4_covered {
        words.push("127.0.0.1".to_owned());
    }
    if !v6_covered {
        words.push("-::1".to_owned());
    }
    words
}

/// The words of redis.conf's `bind` for a server reached at `host`, and why, written
/// once for render and verify: the `--bind` addresses with loopback when given; else
/// loopback for a server on this machine, the address clients dial and loopback for an
/// IP address, every interface for a host name (it cannot be bound before it resolves).
pub(crate) fn rule(explicit: &[IpAddr], host: &str) -> (Vec<String>, &'static str) {
    if !explicit.is_empty() {
        return (
            words(explicit),
            "Listen on the addresses given with --bind, and on loopback for local administration.",
        );
    }
    let loopback = crate::config::node::is_loopback(host);
    match host.parse::<IpAddr>() {
        Ok(ip) if !matches!(ip.to_string().as_str(), "127.0.0.1" | "::1") => (
            vec![ip.to_string(), "127.0.0.1".to_owned(), "-::1".to_owned()],
            "Listen on the address clients dial, and on loopback for local administration.",
        ),
        _ if loopback => (
            vec!["127.0.0.1".to_owned(), "-::1".to_owned()],
            "Clients reach this server on this machine: listen on loopback only.",
        ),
        _ => (
            vec!["*".to_owned(), "-::*".to_owned()],
            "Clients connect over the network: listen on every interface (-::* when IPv6 is absent).",
        ),
    }
}

/// The compose `ports:` entries of a server listening on `bind` (redis.conf's words):
/// published on each required address (an optional `-` address may be missing on the
/// Docker host, and would fail the start), every interface for `*`.
pub(crate) fn published(bind: &[String], port: u16) -> Vec<String> {
    if bind.iter().any(|w| w == "*") {
        return vec![format!("{port}:{port}")];
    }
    bind.iter()
        .filter(|w| !w.starts_with('-'))
        .map(|w| {
            if w.contains(':') {
                format!("[{w}]:{port}:{port}")
            } else {
                format!("{w}:{port}:{port}")
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_is_added_unless_covered_and_published_addresses_follow_bind() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(words(&[ip("10.0.0.5")]), ["10.0.0.5", "127.0.0.1", "-::1"]);
        assert_eq!(words(&[ip("0.0.0.0")]), ["0.0.0.0", "-::1"]);
        assert_eq!(words(&[ip("::1"), ip("127.0.0.1")]), ["::1", "127.0.0.1"]);
        assert_eq!(
            published(&words(&[ip("10.0.0.5"), ip("fd00::5")]), 6380),
            [
                "10.0.0.5:6380:6380",
                "[fd00::5]:6380:6380",
                "127.0.0.1:6380:6380"
            ]
        );
        assert_eq!(published(&["*".into(), "-::*".into()], 6380), ["6380:6380"]);
    }
}
