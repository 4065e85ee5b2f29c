//! Questions to a running server that change nothing on it: its version, INFO fields,
//! cluster health, which password hashes a user holds, whether a login is accepted and
//! whether the admin may run a command (`ACL DRYRUN`).

use std::time::{Duration, Instant};

use crate::server::deadline::Deadline;
use crate::server::dial::{Admin, ClientTls, Target, open};
use crate::server::resp;

/// Why the admin may not reload a server's TLS files, found without changing anything.
#[derive(Debug)]
pub(crate) enum NoReload {
    /// The dial, the handshake, AUTH or the check itself failed.
    Dial(resp::Error),
    /// ACL DRYRUN says the admin may not run this CONFIG SET (Redis's words).
    Denied(String),
}

/// Whether `admin` may run the reload's exact `CONFIG SET` on `con`: `ACL DRYRUN`
/// (Redis >= 7.0) answers for the command as it would run, renamed commands and ACL
/// rules included, and changes nothing.
pub(crate) fn may_reload(
    con: &mut resp::Connection,
    admin: &Admin,
    t: &Target,
) -> Result<(), NoReload> {
    let args = [
        "ACL",
        "DRYRUN",
        admin.user(),
        "CONFIG",
        "SET",
        "tls-cert-file",
        &t.cert_file,
        "tls-key-file",
        &t.key_file,
        "tls-ca-cert-file",
        &t.ca_file,
    ];
    match con.command(&args).map_err(NoReload::Dial)? {
        resp::Reply::Simple(ok) if ok == "OK" => Ok(()),
        resp::Reply::Bulk(Some(why)) => Err(NoReload::Denied(
            String::from_utf8_lossy(&why).escape_debug().to_string(),
        )),
        other => Err(NoReload::Dial(resp::Error::Protocol(format!(
            "ACL DRYRUN answered {other:?}"
        )))),
    }
}

/// The server's version from INFO, as (major, minor, patch).
pub(crate) fn version(con: &mut resp::Connection) -> Result<(u32, u32, u32), String> {
    let info = con.text(&["INFO", "server"]).map_err(|e| e.to_string())?;
    let v = field(&info, "redis_version").ok_or("INFO has no redis_version")?;
    let mut parts = v.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    Ok((
        parts.next().unwrap_or(0),
        parts.next().unwrap_or(0),
        parts.next().unwrap_or(0),
    ))
}

/// One `field:value` line of an INFO reply.
pub(crate) fn field(info: &str, key: &str) -> Option<String> {
    info.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
        .map(|v| v.trim().to_owned())
}

/// After a rotation, a cluster node must be back in a healthy cluster: state ok on every
/// node and each replica's link to its master up. Waits up to `within`.
pub(crate) fn cluster_healthy(
    con: &mut resp::Connection,
    within: Duration,
) -> Result<String, String> {
    let deadline = Instant::now() + within;
    loop {
        let state = con.text(&["CLUSTER", "INFO"]).map_err(|e| e.to_string())?;
        let repl = con
            .text(&["INFO", "replication"])
            .map_err(|e| e.to_string())?;
        let ok = field(&state, "cluster_state").as_deref() == Some("ok");
        let role = field(&repl, "role").unwrap_or_default();
        let link = field(&repl, "master_link_status");
        let linked = role != "slave" || link.as_deref() == Some("up");
        if ok && linked {
            return Ok(if role == "slave" {
                "cluster_state:ok, replica in sync with its master".into()
            } else {
                format!(
                    "cluster_state:ok, master with {} replica(s)",
                    field(&repl, "connected_slaves").unwrap_or_default()
                )
            });
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "cluster_state:{}, role {role}, master link {}",
                field(&state, "cluster_state").unwrap_or_default(),
                link.unwrap_or_else(|| "-".into())
            ));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Whether the server accepts `password` for `user`: AUTH on a fresh connection (the
/// server proved to be ours first), closed right after.
pub(crate) fn accepts(
    tls: &ClientTls,
    host: &str,
    port: u16,
    user: &str,
    password: &str,
    deadline: Deadline,
) -> resp::Result<()> {
    let mut con = open(host, port, deadline, Some(tls))?;
    con.auth(Some(user), password)
}

/// The SHA-256 (hex) of every password `user` holds on the server (`ACL GETUSER`).
pub(crate) fn password_hashes(
    con: &mut resp::Connection,
    user: &str,
) -> Result<Vec<String>, String> {
    let reply = con
        .command(&["ACL", "GETUSER", user])
        .map_err(|e| e.to_string())?;
    let resp::Reply::Array(Some(fields)) = reply else {
        return Err(format!("the server has no user {user}"));
    };
    let text = |r: &resp::Reply| match r {
        resp::Reply::Simple(s) => Some(s.clone()),
        resp::Reply::Bulk(Some(b)) => String::from_utf8(b.clone()).ok(),
        _ => None,
    };
    let mut it = fields.iter();
    while let (Some(k), Some(v)) = (it.next(), it.next()) {
        if text(k).as_deref() == Some("passwords") {
            let resp::Reply::Array(Some(list)) = v else {
                return Err("ACL GETUSER answered passwords that are no list".into());
            };
            return Ok(list.iter().filter_map(text).collect());
        }
    }
    Err("ACL GETUSER answered no passwords".into())
}
