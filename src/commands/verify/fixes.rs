//! Fixes that need more than one edit: the generate command that made the folder
//! (rebuilt from what the folder says, so a pasted fix regenerates the same setup), and
//! what to do about a lost CA certificate or a password that no longer matches.

use crate::config::layout;
use crate::config::record::Record;
use crate::digest::sha256_hex;
use crate::readback::folder::Folder;
use crate::render::escape::sh_word;

/// `kimera-redis-init --profile P --out DIR --host H ...`: the folder's own settings as
/// flags, shell-quoted so the line pastes safely. From the folder's record when it has
/// one (what was asked for, whatever was edited since); otherwise inferred from its files.
pub(crate) fn generate_command(folder: &Folder) -> String {
    let args = match folder.recorded() {
        Some(record) => recorded_flags(folder, record),
        None => inferred_flags(folder),
    };
    args.iter()
        .map(|a| sh_word(a))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The flags that make the recorded settings again (defaults left out).
fn recorded_flags(folder: &Folder, r: &Record) -> Vec<String> {
    let mut args: Vec<String> = vec!["kimera-redis-init".into()];
    if crate::config::profile::names().contains(&r.profile.as_str()) {
        args.extend(["--profile".into(), r.profile.clone()]);
    } else {
        args.extend(["--profile-file".into(), "<your profile file>".into()]);
    }
    args.extend(["--out".into(), folder.dir.display().to_string()]);
    match r.cluster_replicas {
        Some(replicas) => {
            let nodes: Vec<String> = r
                .nodes
                .iter()
                .map(|n| crate::config::node::host_port(&n.host, n.port))
                .collect();
            args.extend(["--nodes".into(), nodes.join(",")]);
            if replicas != 0 {
                args.extend(["--replicas".into(), replicas.to_string()]);
            }
        }
        None => {
            if let Some(n) = r.nodes.first() {
                args.extend(["--host".into(), n.host.clone()]);
                args.extend(["--port".into(), n.port.to_string()]);
            }
            if r.db != 0 {
                args.extend(["--db".into(), r.db.to_string()]);
            }
        }
    }
    if let Some(u) = &r.username {
        args.extend(["--username".into(), u.clone()]);
    }
    if r.tls && r.profile != "production-tls" {
        args.push("--tls".into());
    }
    let redis_default = crate::config::profile::Server::default();
    if r.server.maxmemory != redis_default.maxmemory {
        args.extend(["--maxmemory".into(), r.server.maxmemory.clone()]);
    }
    if r.server.io_threads != redis_default.io_threads {
        args.extend(["--io-threads".into(), r.server.io_threads.to_string()]);
    }
    // generate's defaults (cli.rs): named only when the folder was made with others.
    if r.key_type != "ecdsa-p256" {
        args.extend(["--key-type".into(), r.key_type.clone()]);
    }
    if r.leaf_days != 365 {
        args.extend(["--days".into(), r.leaf_days.to_string()]);
    }
    if r.ca_days != 3650 {
        args.extend(["--ca-days".into(), r.ca_days.to_string()]);
    }
    args
}

/// The flags of a folder made before it recorded its settings, read from its files.
fn inferred_flags(folder: &Folder) -> Vec<String> {
    let mut args: Vec<String> = vec!["kimera-redis-init".into()];
    let profile = profile_name(folder);
    match &profile {
        Some(p) => args.extend(["--profile".into(), p.clone()]),
        None => args.extend(["--profile-file".into(), "<your profile file>".into()]),
    }
    args.extend(["--out".into(), folder.dir.display().to_string()]);
    let (app, _) = folder.app_env();
    if folder.cluster() {
        let nodes: Vec<String> = app
            .nodes
            .iter()
            .map(|(h, p)| crate::config::node::host_port(h, *p))
            .collect();
        args.extend(["--nodes".into(), nodes.join(",")]);
        let script = crate::regularfile::read_text(&folder.dir.join(layout::CLUSTER_CREATE))
            .unwrap_or_default();
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
        // The server's own port first: a .env edited by hand is reported on its own.
        let server_port = match folder.servers.as_slice() {
            [only] => only.client_port(),
            _ => None,
        };
        if let Some(p) = server_port.or(app.port) {
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
    args
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
    let properties = crate::regularfile::read_text(&folder.dir.join(layout::PROPERTIES))
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

/// A file that redis.conf or .env names is gone: the CA certificate only comes back
/// from a backup or as a new CA; a data folder is made again; anything else is
/// written again by a forced run, which keeps the CA and the passwords.
pub(crate) fn missing_file(folder: &Folder, path: &str) -> String {
    let p = std::path::Path::new(path);
    if p == folder.dir.join(layout::CA_CERT) {
        return lost_ca(folder);
    }
    if p.starts_with(&folder.dir) && (path.ends_with("/data") || p.extension().is_none()) {
        return format!("run `mkdir -p {}`", sh_word(path));
    }
    format!(
        "restore it from a backup; without one, run `{} --force` (it keeps the CA and the passwords)",
        generate_command(folder)
    )
}

/// The built-in profile the folder was generated from, as its `.env` header names it.
fn profile_name(folder: &Folder) -> Option<String> {
    let header = crate::regularfile::read_text(&folder.dir.join(layout::ENV)).unwrap_or_default();
    header
        .lines()
        .next()
        .and_then(|l| l.split("profile ").nth(1))
        .and_then(|rest| rest.split(',').next())
        .map(str::to_owned)
        .filter(|p| crate::config::profile::names().contains(&p.as_str()))
}

/// The value the generator wrote for `key`, when the folder shows it: the server's port,
/// the fixed words, and the built-in profile's pool settings.
pub(crate) fn generated_value(folder: &Folder, key: &str) -> Option<String> {
    let fixed = match key {
        "REDIS_CERT_REQS" => Some("required"),
        "REDIS_DECODE_RESPONSES" => Some("true"),
        "REDIS_ENCODING" => Some("utf-8"),
        "REDIS_SKIP_FULL_COVERAGE_CHECK" => Some("false"),
        _ => None,
    };
    if let Some(v) = fixed {
        return Some(v.to_owned());
    }
    let single = match folder.servers.as_slice() {
        [only] => Some(only),
        _ => None,
    };
    match key {
        "REDIS_PORT" => return single?.client_port().map(|p| p.to_string()),
        "REDIS_SSL" => return folder.servers.first().map(|s| s.tls().to_string()),
        "REDIS_CLUSTER_MODE" => {
            return folder
                .servers
                .first()
                .map(|s| (s.value("cluster-enabled") == Some("yes")).to_string());
        }
        _ => {}
    }
    let profile = crate::config::profile::builtin(&profile_name(folder)?).ok()?;
    let pool = &profile.pool;
    Some(match key {
        "REDIS_MAX_CONNECTIONS" => pool.max_connections.to_string(),
        "REDIS_SOCKET_TIMEOUT" => format!("{:?}", pool.socket_timeout),
        "REDIS_SOCKET_CONNECT_TIMEOUT" => format!("{:?}", pool.socket_connect_timeout),
        "REDIS_RETRY_ON_TIMEOUT" => pool.retry_on_timeout.to_string(),
        "REDIS_HEALTH_CHECK_INTERVAL" => pool.health_check_interval.to_string(),
        "KIMERA_RATE_LIMIT_ENABLED" => profile.kimera.rate_limit_enabled.to_string(),
        _ => return None,
    })
}

/// `run `kimera-redis-init renew DIR``, then `then`; a folder issued under an
/// organisation's CA (no certs/ca.key) needs that CA's flags too.
pub(crate) fn renew(folder: &Folder, then: &str) -> String {
    let dir = sh_word(&folder.dir.display().to_string());
    let external = if folder.dir.join(layout::CA_KEY).exists() {
        ""
    } else {
        " --ca-cert <your CA certificate> --ca-key <its key>"
    };
    format!("run `kimera-redis-init renew {dir}{external}`{then} and restart the server")
}
