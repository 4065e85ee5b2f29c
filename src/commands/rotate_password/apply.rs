//! `rotate-password --apply`: every running server of the folder changed live, as the
//! admin over TLS (trusting the pinned CAs alone, each conversation bounded in time),
//! with no connection dropped.
//!
//! Passwords change with `ACL SETUSER user #<sha256>` (add) and `!<sha256>` (remove),
//! never `ACL LOAD`: Redis 7.0 closes every connection of every user on `ACL LOAD`
//! (replication links included), while SETUSER leaves authenticated connections alone.
//! The server ends holding exactly the hashes users.acl has for each rotated user, so
//! what it accepts equals what is on disk, and a restart reads the same. Replicas switch
//! `masterauth` with `CONFIG SET` (used at their next reconnect) once every server
//! accepts the new replication password.

use std::time::Duration;

use super::Change;
use crate::commands::stdout::outln;
use crate::digest::sha256_hex;
use crate::error::{Error, Result};
use crate::readback::folder::Folder;
use crate::server::deadline::Deadline;
use crate::server::dial::{self, Admin, ClientTls, Target};
use crate::server::resp;
use crate::server::{ask, change};

/// How long a cluster node may take to report a healthy cluster after the change.
const HEALTH_WAIT: Duration = Duration::from_secs(30);

pub(super) struct Plan {
    /// The admin as admin.env has it.
    admin: Admin,
    /// The admin with its password from before the rotation, for a server that does not
    /// know the new one yet (a re-run after `add` wrote the files but did not apply).
    old_admin: Option<Admin>,
    targets: Vec<Target>,
    tls: ClientTls,
    timeout: Duration,
}

/// The usage errors of `--apply` (and of drop-old's check): no TLS, no admin.env, servers
/// that cannot be told apart.
pub(super) fn prepare(
    folder: &Folder,
    timeout: Duration,
    old_admin_password: Option<&str>,
) -> Result<Plan> {
    if !folder.tls() {
        return Err(super::no_tls(&folder.dir));
    }
    let admin = dial::admin(folder).map_err(|why| {
        Error::usage(format!(
            "--apply: {why}: the change runs as the admin user; restore admin.env as \
             generated (nothing was changed)"
        ))
    })?;
    let targets = dial::targets(folder);
    if targets.len() != folder.servers.len() || targets.is_empty() {
        return Err(Error::usage(format!(
            "--apply: cannot tell the address of every server from {}'s redis.conf files and \
             .env; nothing was changed",
            super::shown(&folder.dir)
        )));
    }
    let tls = dial::client_config(folder, None).map_err(|e| {
        Error::failed(format!(
            "--apply: the TLS client settings do not load ({e}); nothing was changed"
        ))
    })?;
    Ok(Plan {
        old_admin: old_admin_password.map(|p| admin.with_password(p)),
        admin,
        targets,
        tls,
        timeout,
    })
}

/// An admin connection with whichever admin password the server accepts: admin.env's,
/// else the one from before the rotation.
fn connect(plan: &Plan, t: &Target, deadline: Deadline) -> resp::Result<resp::Connection> {
    match dial::admin_connection(&plan.tls, &plan.admin, &t.host, t.port, deadline) {
        Err(e) if e.auth_failed() => match &plan.old_admin {
            Some(old) => dial::admin_connection(&plan.tls, old, &t.host, t.port, deadline),
            None => Err(e),
        },
        other => other,
    }
}

fn refused(e: &resp::Error) -> bool {
    matches!(e, resp::Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused)
}

/// Before anything is written or changed: every server is ours, lets the admin in, and
/// would let it run each change (`ACL DRYRUN`). Exit 1 naming each server otherwise.
pub(super) fn precheck(folder: &Folder, plan: &Plan, changes: &[Change]) -> Result<()> {
    let mut failed = 0;
    for t in &plan.targets {
        let deadline = Deadline::after(plan.timeout);
        let result = connect(plan, t, deadline)
            .map_err(|e| dial_failure(&e))
            .and_then(|mut con| {
                for c in changes {
                    let hash = format!("#{}", sha256_hex(&c.new));
                    dry_run(&mut con, plan, &["ACL", "SETUSER", &c.user, &hash])?;
                    if c.replica {
                        dry_run(&mut con, plan, &["CONFIG", "SET", "masterauth", "x"])?;
                    }
                }
                Ok(())
            });
        if let Err(why) = result {
            failed += 1;
            outln!("FAIL    {} ({}): {why}", t.addr(), t.conf);
        }
    }
    if failed > 0 {
        return Err(Error::failed(format!(
            "{failed} of {} server(s) cannot be changed (see above): nothing was written to \
             {} and no server was changed",
            plan.targets.len(),
            super::shown(&folder.dir)
        )));
    }
    Ok(())
}

fn dry_run(
    con: &mut resp::Connection,
    plan: &Plan,
    command: &[&str],
) -> std::result::Result<(), String> {
    // Asked as the admin the connection logged in as (the name is the same either way).
    let mut args = vec!["ACL", "DRYRUN", plan.admin.user()];
    args.extend_from_slice(command);
    match con.command(&args) {
        Ok(resp::Reply::Simple(ok)) if ok == "OK" => Ok(()),
        Ok(resp::Reply::Bulk(Some(why))) => Err(format!(
            "the admin may not run {} {} ({}); give it +@all in users.acl as generated",
            command[0],
            command[1],
            crate::printable::text(&String::from_utf8_lossy(&why))
        )),
        Ok(other) => Err(format!("ACL DRYRUN answered {other:?}")),
        Err(e) => Err(e.to_string()),
    }
}

/// Step add, before the files are written: each server gets each new password's hash,
/// and ends holding exactly the old and the new one for each rotated user (a hash a
/// crashed earlier run added, which no file holds, is removed).
pub(super) fn add_live(folder: &Folder, plan: &Plan, changes: &[Change]) -> Result<()> {
    each(
        folder,
        plan,
        "the new passwords are not loaded",
        |con, _| {
            for c in changes {
                let new = sha256_hex(&c.new);
                set_hashes(con, &c.user, &[new.as_str(), c.old_sha256.as_str()])?;
            }
            Ok("accepts the old and the new passwords".into())
        },
    )
}

/// Step add, after the files are written: replicas switch `masterauth`, and every
/// server is shown to accept each new password and to be in a healthy cluster.
pub(super) fn add_finish(folder: &Folder, plan: &Plan, changes: &[Change]) -> Result<()> {
    let replica = changes.iter().find(|c| c.replica);
    each(
        folder,
        plan,
        "the new passwords are not in use",
        |con, t| {
            if let Some(r) = replica {
                change::config_set(con, &[("masterauth", &r.new)])
                    .map_err(|e| format!("CONFIG SET masterauth failed: {e}"))?;
            }
            accepts_new(plan, t, changes)?;
            Ok(format!(
                "accepts the new password of {}{}",
                super::names(changes),
                if replica.is_some() {
                    "; masterauth switched"
                } else {
                    ""
                }
            ))
        },
    )?;
    healthy(folder, plan)?;
    outln!("Every server accepts the old and the new passwords; open connections keep theirs.");
    Ok(())
}

/// Before drop-old changes anything: every server that answers accepts each new
/// password with admin.env's admin, every replica authenticates with the new replication
/// password, and every replica link is up. A server that refuses the connection (not
/// running) reads the files when it starts; without `--apply` (`strict` false) one that
/// cannot be reached at all (a name only a cluster's DNS resolves) is noted and left to
/// do the same. Exit 2, nothing changed, otherwise.
pub(super) fn ready_to_drop(
    folder: &Folder,
    plan: &Plan,
    changes: &[Change],
    strict: bool,
) -> Result<()> {
    let replica = changes.iter().find(|c| c.replica);
    for t in &plan.targets {
        let deadline = Deadline::after(plan.timeout);
        let not_yet = |what: String| {
            Error::usage(format!(
                "--step drop-old: {} ({}) {what}; dropping the old passwords would lock it \
                 out. Allowed: `kimera-redis-init rotate-password {} --step add --apply` \
                 first; nothing was changed",
                t.addr(),
                t.conf,
                super::shown(&folder.dir)
            ))
        };
        let mut con =
            match dial::admin_connection(&plan.tls, &plan.admin, &t.host, t.port, deadline) {
                Ok(con) => con,
                Err(e) if refused(&e) => continue,
                Err(e) if e.auth_failed() => {
                    return Err(not_yet(format!(
                        "does not accept the new password of {} yet",
                        plan.admin.user()
                    )));
                }
                Err(e @ (resp::Error::Io(_) | resp::Error::NoAnswer(_))) if !strict => {
                    outln!(
                        "note    {} ({}): not reachable ({e}), so not checked; it reads the \
                         files when it starts",
                        t.addr(),
                        t.conf
                    );
                    continue;
                }
                Err(e) => return Err(Error::failed(format!("{}: {}", t.addr(), dial_failure(&e)))),
            };
        accepts_new(plan, t, changes)
            .map_err(|why| not_yet(format!("does not accept every new password yet ({why})")))?;
        let info = con
            .text(&["INFO", "replication"])
            .map_err(|e| Error::failed(format!("{}: INFO replication: {e}", t.addr())))?;
        if ask::field(&info, "role").as_deref() == Some("slave")
            && ask::field(&info, "master_link_status").as_deref() != Some("up")
        {
            return Err(not_yet("has its replication link down".into()));
        }
        if let Some(r) = replica {
            let reply = con
                .command(&["CONFIG", "GET", "masterauth"])
                .map_err(|e| Error::failed(format!("{}: CONFIG GET: {e}", t.addr())))?;
            let current = match reply {
                resp::Reply::Array(Some(v)) => match v.get(1) {
                    Some(resp::Reply::Bulk(Some(b))) => b.clone(),
                    _ => Vec::new(),
                },
                _ => Vec::new(),
            };
            if current != r.new.as_bytes() {
                return Err(not_yet(
                    "still authenticates to its master with the old replication password \
                     (masterauth)"
                        .into(),
                ));
            }
        }
    }
    Ok(())
}

/// Step drop-old, before the files are written: each server ends holding the new hash
/// alone for each rotated user. Connections that logged in with an old password stay
/// open; a new login with one is refused.
pub(super) fn drop_live(folder: &Folder, plan: &Plan, changes: &[Change]) -> Result<()> {
    each(
        folder,
        plan,
        "the old passwords are not removed",
        |con, _| {
            for c in changes {
                set_hashes(con, &c.user, &[sha256_hex(&c.new).as_str()])?;
            }
            Ok("accepts the new passwords alone".into())
        },
    )
}

/// Step drop-old, after the files are written: every server accepts the new passwords
/// and is in a healthy cluster.
pub(super) fn drop_finish(folder: &Folder, plan: &Plan, changes: &[Change]) -> Result<()> {
    each(folder, plan, "the new passwords are not in use", |_, t| {
        accepts_new(plan, t, changes)?;
        Ok(format!(
            "accepts the new password of {} and no other",
            super::names(changes)
        ))
    })?;
    healthy(folder, plan)?;
    outln!("Every server accepts the new passwords alone.");
    Ok(())
}

/// Run `f` on every server with an admin connection; each result printed, and `Err`
/// (exit 1) after every server was tried when any failed.
fn each(
    folder: &Folder,
    plan: &Plan,
    consequence: &str,
    mut f: impl FnMut(&mut resp::Connection, &Target) -> std::result::Result<String, String>,
) -> Result<()> {
    let mut failed = 0;
    for t in &plan.targets {
        let deadline = Deadline::after(plan.timeout);
        let result = connect(plan, t, deadline)
            .map_err(|e| dial_failure(&e))
            .and_then(|mut con| f(&mut con, t));
        match result {
            Ok(done) => outln!("applied {} ({}): {done}", t.addr(), t.conf),
            Err(why) => {
                failed += 1;
                outln!("FAIL    {} ({}): {why}", t.addr(), t.conf);
            }
        }
    }
    if failed > 0 {
        return Err(Error::failed(format!(
            "{failed} of {} server(s): {consequence} (see above); the step is safe to run \
             again once the cause is fixed: `kimera-redis-init rotate-password {} --step \
             ... --apply`",
            plan.targets.len(),
            super::shown(&folder.dir)
        )));
    }
    Ok(())
}

/// Make `user` hold exactly the password hashes `want` on the server: the missing ones
/// added, any other removed, then read back.
fn set_hashes(
    con: &mut resp::Connection,
    user: &str,
    want: &[&str],
) -> std::result::Result<(), String> {
    let have = ask::password_hashes(con, user)?;
    let mut rules: Vec<String> = want
        .iter()
        .filter(|h| !have.iter().any(|x| x == *h))
        .map(|h| format!("#{h}"))
        .collect();
    rules.extend(
        have.iter()
            .filter(|h| !want.contains(&h.as_str()))
            .map(|h| format!("!{h}")),
    );
    if !rules.is_empty() {
        change::acl_setuser(con, user, &rules)?;
    }
    let mut now = ask::password_hashes(con, user)?;
    let mut want: Vec<String> = want.iter().map(|h| (*h).to_owned()).collect();
    now.sort();
    want.sort();
    if now != want {
        return Err(format!(
            "user {user} holds {} password(s) after ACL SETUSER, not the {} users.acl has",
            now.len(),
            want.len()
        ));
    }
    Ok(())
}

/// A fresh login with each new password is accepted.
fn accepts_new(plan: &Plan, t: &Target, changes: &[Change]) -> std::result::Result<(), String> {
    for c in changes {
        let deadline = Deadline::after(plan.timeout);
        ask::accepts(&plan.tls, &t.host, t.port, &c.user, &c.new, deadline).map_err(|e| {
            if e.auth_failed() {
                format!("a login as {} with its new password is refused", c.user)
            } else {
                format!("a login as {} failed: {}", c.user, dial_failure(&e))
            }
        })?;
    }
    Ok(())
}

/// A cluster's nodes report a healthy cluster, each replica's link up.
fn healthy(folder: &Folder, plan: &Plan) -> Result<()> {
    if !folder.cluster() {
        return Ok(());
    }
    let mut failed = 0;
    for t in &plan.targets {
        let deadline = Deadline::after(HEALTH_WAIT + plan.timeout);
        let health = dial::admin_connection(&plan.tls, &plan.admin, &t.host, t.port, deadline)
            .map_err(|e| e.to_string())
            .and_then(|mut con| ask::cluster_healthy(&mut con, HEALTH_WAIT));
        match health {
            Ok(state) => outln!("cluster {}: {state}", t.addr()),
            Err(why) => {
                failed += 1;
                outln!("FAIL    cluster {}: {why}", t.addr());
            }
        }
    }
    if failed > 0 {
        return Err(Error::failed(format!(
            "{failed} cluster node(s) are not healthy after the change (see above)"
        )));
    }
    Ok(())
}

/// A failed dial, handshake or AUTH, with nothing that would authenticate to a server
/// that is not ours.
fn dial_failure(e: &resp::Error) -> String {
    match e {
        resp::Error::Stranger(_) => {
            format!("{e}; it was sent nothing but a TLS hello. Find what listens there (ss -ltnp)")
        }
        e if refused(e) => format!(
            "not reachable ({e}); start it (it reads the files on disk when it starts) and run \
             the step again"
        ),
        e if e.auth_failed() => format!(
            "AUTH as the admin refused ({e}): neither admin.env's password nor the one from \
             before the rotation is the server's"
        ),
        e => e.to_string(),
    }
}
