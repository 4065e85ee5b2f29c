//! The Redis users every setup has and the ACL rules each one gets: spelled once, for
//! settings (names a user may not take), render (users.acl) and verify (what users.acl
//! must still say). Depends on nothing, so no module reaches settings through it.

/// Runs CONFIG, SHUTDOWN, CLUSTER and the like: what operators and cluster-create.sh need
/// and the app user may not do.
pub(crate) const ADMIN_USER: &str = "kimera_admin";
/// Only what replication needs (PSYNC, REPLCONF, PING): it is in every node's redis.conf.
pub(crate) const REPLICA_USER: &str = "kimera_replica";

/// `--metrics`: what redis_exporter reads, and nothing else (see `METRICS_RULES`).
pub(crate) const METRICS_USER: &str = "kimera_metrics";

/// The rules of each generated user as users.acl spells them, without the `#<sha256>`
/// password that follows the leading `on`.
pub(crate) const DEFAULT_RULES: &[&str] = &["off", "resetchannels", "-@all"];
// `+info`: the ready and health checks of standard clients (ioredis, redis-py cluster) send INFO.
pub(crate) const APP_RULES: &[&str] = &["on", "~*", "&*", "+@all", "-@dangerous", "+info"];
pub(crate) const ADMIN_RULES: &[&str] = &["on", "~*", "&*", "+@all"];
pub(crate) const REPLICA_RULES: &[&str] = &[
    "on",
    "resetchannels",
    "-@all",
    "+psync",
    "+replconf",
    "+ping",
];

/// What redis_exporter 1.45 runs on a scrape (seen in INFO commandstats and ACL LOG
/// against a real server): CLIENT SETNAME, INFO ALL, CONFIG GET *, SLOWLOG GET/LEN,
/// LATENCY LATEST (LATENCY HISTOGRAM in later versions), CLUSTER INFO on a cluster node,
/// CLIENT LIST with --export-client-list, PING with --ping-on-connect. No key, no channel,
/// no write, no admin command.
pub(crate) const METRICS_RULES: &[&str] = &[
    "on",
    "resetchannels",
    "-@all",
    "+ping",
    "+info",
    "+client|setname",
    "+client|list",
    "+config|get",
    "+slowlog|get",
    "+slowlog|len",
    "+latency|latest",
    "+latency|histogram",
    "+cluster|info",
];
/// A cluster node's config holds `masterauth`, the replication user's password, which
/// CONFIG GET would show and PSYNC would turn into a copy of the data: there the exporter
/// goes without CONFIG GET (it then only omits the redis_config_* metrics).
pub(crate) const METRICS_CLUSTER_RULES: &[&str] = &[
    "on",
    "resetchannels",
    "-@all",
    "+ping",
    "+info",
    "+client|setname",
    "+client|list",
    "+slowlog|get",
    "+slowlog|len",
    "+latency|latest",
    "+latency|histogram",
    "+cluster|info",
];

/// The metrics user's rules on a cluster or a single server.
pub(crate) fn metrics_rules(cluster: bool) -> &'static [&'static str] {
    if cluster {
        METRICS_CLUSTER_RULES
    } else {
        METRICS_RULES
    }
}

/// The rules after the leading `on` (where users.acl puts the password), space-separated.
pub(crate) fn after_password(rules: &[&str]) -> String {
    debug_assert_eq!(rules.first(), Some(&"on"));
    rules[1..].join(" ")
}

/// What templates/users.acl.j2 writes after each user's name (and password): literal
/// rule words from this module, so the template marks them `safe` (no user value).
#[derive(serde::Serialize)]
pub(crate) struct RulesView {
    default: String,
    app: String,
    admin: String,
    replica: String,
    metrics: String,
    metrics_cluster: String,
}

pub(crate) fn rules_view() -> RulesView {
    RulesView {
        default: DEFAULT_RULES.join(" "),
        app: after_password(APP_RULES),
        admin: after_password(ADMIN_RULES),
        replica: after_password(REPLICA_RULES),
        metrics: after_password(METRICS_RULES),
        metrics_cluster: after_password(METRICS_CLUSTER_RULES),
    }
}
