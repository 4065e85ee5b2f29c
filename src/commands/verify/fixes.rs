//! Fixes that need more than one edit: the generate command that made the folder
//! (rebuilt from what the folder says, so a pasted fix regenerates the same setup), and
//! what to do about a lost CA certificate or a password that no longer matches.

use std::fs;

use crate::escape::sh_word;
use crate::folder::Folder;
use crate::layout;
use crate::render::sha256_hex;

/// `kimera-redis-init --profile P --out DIR --host H ...`: the folder's own settings as
/// flags, shell-quoted so the line pastes safely.
pub(crate) fn generate_command(folder: &Folder) -> String {
    let mut args: Vec<String> = vec!["kimera-redis-init".into()];
    let header = fs::read_to_string(folder.dir.join(layout::ENV)).unwrap_or_default();
    let profile = header
        .lines()
        .next()
        .and_then(|l| l.split("profile ").nth(1))
        .and_then(|rest| rest.split(',').next())
        .map(str::to_owned)
        .filter(|p| crate::profile::names().contains(&p.as_str()));
    match &profile {
        Some(p) => args.extend(["--profile".into(), p.clone()]),
        None => args.extend(["--profile-file".into(), "<your profile file>".into()]),
    }
    args.extend(["--out".into(), folder.dir.display().to_string()]);
    let (app, _) = folder.app_env();
    if folder.cluster() {
        let nodes: Vec<String> = app.nodes.iter().map(|(h, p)| node(h, *p)).collect();
        args.extend(["--nodes".into(), nodes.join(",")]);
        let script =
            fs::read_to_string(folder.dir.join(layout::CLUSTER_CREATE)).unwrap_or_default();
        if let Some(r) = script
            .split("--cluster-replicas ")
            .nth(1)
            .and_then(|r| r.split_whitespace().next())
            .filter(|r| *r != "0")
        {
            args.extend(["--replicas".into(), r.to_owned()]);
        }
    } else {
        if let Some(h) = &app.host {
            args.extend(["--host".into(), h.clone()]);
        }
        if let Some(p) = app.port {
            args.extend(["--port".into(), p.to_string()]);
        }
        if let Some(db) = app.db.filter(|d| *d != 0) {
            args.extend(["--db".into(), db.to_string()]);
        }
    }
    match folder.env("REDIS_USERNAME") {
        "" => {}
        u => args.extend(["--username".into(), u.to_owned()]),
    }
    if folder.tls() && profile.as_deref() != Some("production-tls") {
        args.push("--tls".into());
    }
    if let Some(s) = folder.servers.first() {
        for (d, flag) in [("maxmemory", "--maxmemory"), ("io-threads", "--io-threads")] {
            if let Some(v) = s.value(d) {
                args.extend([flag.into(), v.to_owned()]);
            }
        }
    }
    args.iter()
        .map(|a| sh_word(a))
        .collect::<Vec<_>>()
        .join(" ")
}

fn node(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// certs/ca.crt is gone or unreadable: only a backup brings the same CA back; otherwise a
/// new CA, and every certificate issued again under it.
pub(crate) fn lost_ca(folder: &Folder) -> String {
    format!(
        "restore certs/ca.crt from a backup; without one, make a new CA and issue everything again under it: run `{} --force --replace-ca` and restart the server (clients must then trust the new certs/ca.crt)",
        generate_command(folder)
    )
}

/// REDIS_PASSWORD in .env is not the one users.acl holds the hash of (`want_hash`).
pub(crate) fn app_password(folder: &Folder, want_hash: &str) -> String {
    let properties = fs::read_to_string(folder.dir.join(layout::PROPERTIES))
        .ok()
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("redis.password="))
                .map(|v| v.trim().to_owned())
        });
    if properties.is_some_and(|p| sha256_hex(&p) == want_hash) {
        return "copy the value of redis.password in redis.properties (it matches users.acl) into REDIS_PASSWORD in .env".into();
    }
    format!(
        "restore the .env generated with this users.acl; without it, set a new password everywhere: delete the REDIS_PASSWORD= line of .env and the redis.password= line of redis.properties, then run `{} --force` and restart the server",
        generate_command(folder)
    )
}
