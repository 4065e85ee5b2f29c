//! `--compose-network`: how a cluster's compose file connects its nodes, resolved and
//! checked here for `settings` (the combinations that cannot work are refused).

use clap::ValueEnum;

use crate::config::node::Node;
use crate::error::{Error, Result};

/// How a cluster's compose services reach each other and the app.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ComposeNetwork {
    /// Each node its own service and IP on a named bridge network.
    Bridge,
    /// Every node on the Docker host's network.
    Host,
}

/// The named bridge network of a cluster in bridge mode; the app's container joins it as
/// an external network.
pub(crate) const BRIDGE_NETWORK: &str = "kimera-redis";

/// Bridge mode: the script each node's container starts with (nodes.conf peers' addresses
/// looked up again, then redis-server).
pub(crate) const NODE_START: &str = "node-start.sh";

/// The compose one-shot service that forms the cluster; no node may take its name.
pub(crate) const CREATE_SERVICE: &str = "cluster-create";

/// Bridge when every node is a host name other than localhost (the guide's redis-1,
/// redis-2, redis-3: compose service names); host when a node is an IP address or on
/// this machine. A single server's compose file always publishes its port on a bridge.
pub(crate) fn resolve(
    profile: &str,
    flag: Option<ComposeNetwork>,
    nodes: &[Node],
    cluster: bool,
) -> Result<ComposeNetwork> {
    if !cluster {
        return match flag {
            Some(ComposeNetwork::Host) => Err(Error::usage(format!(
                "--compose-network host: profile {profile} is a single server whose compose file \
                 publishes its port from the default bridge network; allowed: bridge (host \
                 networking is for --profile cluster)"
            ))),
            _ => Ok(ComposeNetwork::Bridge),
        };
    }
    let is_name = |n: &Node| is_host_name(&n.host);
    let hosts: Vec<&str> = nodes.iter().map(|n| n.host.as_str()).collect();
    let mode = flag.unwrap_or_else(|| default_for(&hosts));
    if mode == ComposeNetwork::Host {
        return Ok(mode);
    }
    let what = if flag.is_some() {
        "--compose-network bridge"
    } else {
        "--compose-network (bridge, the default for host names)"
    };
    for (i, n) in nodes.iter().enumerate() {
        if !is_name(n) {
            return Err(Error::usage(format!(
                "{what}: node {}: in bridge mode each node is a compose service \
                 named after its host, with its own IP on the {BRIDGE_NETWORK} network; allowed: \
                 host names such as redis-1 (use --compose-network host for IP addresses or localhost)",
                n.address()
            )));
        }
        if n.host.eq_ignore_ascii_case(CREATE_SERVICE) {
            return Err(Error::usage(format!(
                "{what}: node {}: {CREATE_SERVICE} is the service that forms \
                 the cluster; allowed: any other host name",
                n.address()
            )));
        }
        if let Some(m) = nodes[..i]
            .iter()
            .find(|m| m.host.eq_ignore_ascii_case(&n.host))
        {
            return Err(Error::usage(format!(
                "{what}: {} and {} share a host, but in bridge mode each node \
                 is its own container named after its host; allowed: one node per host name \
                 (or --compose-network host)",
                m.address(),
                n.address()
            )));
        }
    }
    Ok(mode)
}

/// The compose service of a node: its lowercased host name in bridge mode, its folder
/// name (host-port) with host networking.
pub(crate) fn service_name(mode: ComposeNetwork, cluster: bool, n: &Node) -> String {
    if cluster && mode == ComposeNetwork::Bridge {
        n.host.to_ascii_lowercase()
    } else {
        n.name.clone()
    }
}

/// A cluster's mode when `--compose-network` is not given, from its nodes' hosts.
pub(crate) fn default_for(hosts: &[&str]) -> ComposeNetwork {
    let distinct = hosts
        .iter()
        .enumerate()
        .all(|(i, h)| !hosts[..i].iter().any(|m| m.eq_ignore_ascii_case(h)));
    if distinct && hosts.iter().all(|h| is_host_name(h)) {
        ComposeNetwork::Bridge
    } else {
        ComposeNetwork::Host
    }
}

/// A name of its own: not an IP address, not this machine.
fn is_host_name(host: &str) -> bool {
    host.parse::<std::net::IpAddr>().is_err() && !crate::config::node::is_loopback(host)
}
