//! Changes to a running server, each one named: `CONFIG SET` (a TLS reload, masterauth)
//! and `ACL SETUSER` (password hashes). Never `ACL LOAD`: it closes every authenticated
//! connection, replication links included.

use crate::server::resp;

/// `CONFIG SET` of several parameters in one call: Redis applies them together, and
/// when the files do not load it keeps its current TLS context and answers an error.
pub(crate) fn config_set(
    con: &mut resp::Connection,
    params: &[(&str, &str)],
) -> Result<(), String> {
    let mut args = vec!["CONFIG", "SET"];
    for (k, v) in params {
        args.extend([*k, *v]);
    }
    con.ok(&args).map_err(|e| e.to_string())
}

/// `ACL SETUSER user rule...`: the rules (`#hash` adds a password hash, `!hash` removes
/// one) applied to the live user alone, without touching other users or connections.
pub(crate) fn acl_setuser(
    con: &mut resp::Connection,
    user: &str,
    rules: &[String],
) -> Result<(), String> {
    let mut args = vec!["ACL", "SETUSER", user];
    args.extend(rules.iter().map(String::as_str));
    con.ok(&args)
        .map_err(|e| format!("ACL SETUSER {user} failed: {e}"))
}
