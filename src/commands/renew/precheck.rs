//! Check before write: `renew --apply` and `--reload-only` first dial every server of the
//! folder, prove it is ours (its certificate chains to a pinned CA), authenticate as the
//! admin and ask Redis whether the reload's `CONFIG SET` would be allowed (`ACL DRYRUN`),
//! all without changing anything. Only when every server passes are files written and
//! servers reloaded; otherwise the folder and the servers stay as they were, and the
//! real cause is named per server.

use crate::commands::stdout::outln;
use crate::error::{Error, Result};
use crate::readback::folder::Folder;
use crate::server::ask::{self, NoReload};
use crate::server::deadline::Deadline;
use crate::server::dial::{self, Target};
use crate::server::resp;

use super::apply::Plan;

/// Every server may be reloaded; `Err` (exit 1) names each that may not. A server that
/// refuses the connection (nothing listens) passes: it reads the files when it starts,
/// and the reload says so.
pub(super) fn check(folder: &Folder, plan: &Plan) -> Result<()> {
    let mut refused = Vec::new();
    for t in &plan.targets {
        if let Err(why) = check_one(plan, t) {
            outln!("FAIL    {} ({}): {why}", t.addr(), t.conf);
            refused.push(t.addr());
        }
    }
    if refused.is_empty() {
        return Ok(());
    }
    Err(Error::failed(format!(
        "{} of {} server(s) cannot be reloaded (see above): nothing was written to {} and no \
         server was changed",
        refused.len(),
        plan.targets.len(),
        folder.dir.display()
    )))
}

fn check_one(plan: &Plan, t: &Target) -> std::result::Result<(), String> {
    let deadline = Deadline::after(plan.timeout);
    let mut con = match dial::admin_connection(&plan.tls, &plan.admin, &t.host, t.port, deadline) {
        Ok(con) => con,
        Err(resp::Error::Io(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
            return Ok(());
        }
        Err(e) => return Err(dial_failure(plan, &e)),
    };
    reloads_same_name(&mut con)?;
    ask::may_reload(&mut con, &plan.admin, t).map_err(|e| match e {
        NoReload::Denied(why) => format!(
            "the admin may not run the reload's CONFIG SET ({why}); fix: give it the \
             permission in users.acl as generated (+@all), then run this again"
        ),
        NoReload::Dial(e) if e.code() == Some("ERR") && e.to_string().contains("not found") => {
            format!(
                "CONFIG is renamed or disabled on this server (rename-command in its \
                 redis.conf: {e}), so no reload can run; fix: remove the rename-command line \
                 and restart it, or renew without --apply and restart it"
            )
        }
        NoReload::Dial(e) if e.code() == Some("NOPERM") => format!(
            "the admin may not run ACL DRYRUN ({e}), so its permission to CONFIG SET cannot \
             be checked; fix: restore its rules in users.acl as generated (+@all)"
        ),
        NoReload::Dial(e) => dial_failure(plan, &e),
    })
}

/// Redis builds a new TLS context from a file of the same name only from 7.0.1 on
/// (redis#10713); older servers must be restarted.
pub(super) fn reloads_same_name(con: &mut resp::Connection) -> std::result::Result<(), String> {
    let version = ask::version(con)?;
    if version < (7, 0, 1) {
        return Err(format!(
            "Redis {}.{}.{} reloads a certificate file of the same name only from 7.0.1 on \
             (redis#10713); it was not changed: restart it to load the new files",
            version.0, version.1, version.2
        ));
    }
    Ok(())
}

/// A failed dial, handshake or AUTH, with what to do about it and nothing that would
/// authenticate to a server that is not ours.
fn dial_failure(plan: &Plan, e: &resp::Error) -> String {
    match e {
        resp::Error::Stranger(_) => format!(
            "{e}; it was sent nothing but a TLS hello. Find what listens there (ss -ltnp), \
             stop it and start this folder's server"
        ),
        resp::Error::NoAnswer(_) => format!(
            "{e}: it accepted the connection but did not finish answering (stopped, \
             overloaded, or not a Redis server); check the process and its log, then run this \
             again"
        ),
        e if e.auth_failed() => format!(
            "AUTH refused for {} ({e}): the password in admin.env is not the server's; fix: \
             restore admin.env as generated with this users.acl",
            plan.admin.user()
        ),
        e if dial::is_tls_failure(e) => format!(
            "the TLS handshake with the app's settings fails ({e}), so no reload can reach \
             it; fix: renew without --apply, then restart the server"
        ),
        e => format!("{e}"),
    }
}
