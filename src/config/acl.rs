//! The Redis users every setup has and the ACL rules each one gets: spelled once, for
//! settings (names a user may not take), render (users.acl) and verify (what users.acl
//! must still say). Depends on nothing, so no module reaches settings through it.

/// Runs CONFIG, SHUTDOWN, CLUSTER and the like: what operators and cluster-create.sh need
/// and the app user may not do.
pub(crate) const ADMIN_USER: &str = "kimera_admin";
/// Only what replication needs (PSYNC, REPLCONF, PING): it is in every node's redis.conf.
pub(crate) const REPLICA_USER: &str = "kimera_replica";

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
}

pub(crate) fn rules_view() -> RulesView {
    RulesView {
        default: DEFAULT_RULES.join(" "),
        app: after_password(APP_RULES),
        admin: after_password(ADMIN_RULES),
        replica: after_password(REPLICA_RULES),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_with_a_password_are_switched_on_first() {
        for rules in [APP_RULES, ADMIN_RULES, REPLICA_RULES] {
            assert_eq!(rules[0], "on");
        }
        assert_eq!(after_password(ADMIN_RULES), "~* &* +@all");
        assert_eq!(DEFAULT_RULES[0], "off");
    }
}
