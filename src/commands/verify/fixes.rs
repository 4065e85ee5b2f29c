//! Fixes that need more than one edit: the generate command that made the folder
//! (rebuilt from what the folder says, so a pasted fix regenerates the same setup), and
//! what to do about a lost CA certificate or a password that no longer matches.

use crate::certificate;
use crate::config::layout;
use crate::config::replay;
use crate::config::request::{
    DEFAULT_CA_DAYS, DEFAULT_DAYS, DEFAULT_KEY_TYPE, KeyType, RunOptions,
};
use crate::config::settings::Settings;
use crate::digest::sha256_hex;
use crate::readback::folder::Folder;
use crate::render::escape::sh_word;

/// `kimera-redis-init --profile P --out DIR --host H ...`: the folder's own settings as
/// flags, shell-quoted so the line pastes safely. From the folder's record when it has
/// one verify trusts (what was asked for, whatever was edited since); otherwise inferred
/// from its files.
pub(crate) fn generate_command(folder: &Folder) -> String {
    let args = match folder.recorded() {
        Some(record) => replay::args(
            &replay::request(record, &folder.dir),
            replay::builtin(record),
        ),
        None => inferred_args(folder),
    };
    args.iter()
        .map(|a| sh_word(a))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The settings a folder without a (trusted) record was made with, as far as its files
/// tell: `None` when they name no built-in profile.
pub(crate) fn inferred_settings(folder: &Folder) -> Option<Settings> {
    let args = inferred_args(folder);
    profile_name(folder)?;
    let cli = <crate::cli::Cli as clap::Parser>::try_parse_from(&args).ok()?;
    Settings::resolve(&cli.generate.request(), &RunOptions::default()).ok()
}

/// The flags of a folder without a record, read from its files: the profile from the
/// `.env` header, where the app connects from `.env`, the key type, validity and extra
/// names from the server certificate, the image from the compose file.
fn inferred_args(folder: &Folder) -> Vec<String> {
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
    args.extend(certificate_flags(folder));
    let compose =
        crate::regularfile::read_text(&folder.dir.join(layout::COMPOSE)).unwrap_or_default();
    if let Some(image) = compose
        .lines()
        .find_map(|l| l.trim().strip_prefix("image: "))
        .map(|i| i.trim_matches(['"', '\'']))
        // A folder without a record predates --server: it was made for Redis.
        .filter(|i| *i != crate::config::target::Target::default().default_image())
    {
        args.extend(["--image".into(), image.to_owned()]);
    }
    if folder.dir.join(layout::CLIENT_P12).exists() {
        args.push("--pkcs12".into());
    }
    args.extend(metrics_flags(folder, &compose));
    args.extend(kubernetes_flags(folder));
    args
}

/// `--metrics` and its options, read back from the exporter's files: its settings file
/// (never users.acl: a user added there by hand is not a reason to expect it), the
/// exporter service's image and the first exporter's port.
fn metrics_flags(folder: &Folder, compose: &str) -> Vec<String> {
    let Some(env) = metrics_env(folder) else {
        return Vec::new();
    };
    let mut args = vec!["--metrics".to_owned()];
    let image = compose
        .split("-exporter:\n")
        .nth(1)
        .and_then(|svc| svc.lines().find_map(|l| l.trim().strip_prefix("image: ")))
        .map(|i| i.trim_matches(['"', '\'']))
        .filter(|i| *i != crate::config::request::DEFAULT_METRICS_IMAGE);
    if let Some(image) = image {
        args.extend(["--metrics-image".into(), image.to_owned()]);
    }
    let port = crate::readback::envcheck::parse_env(&env)
        .ok()
        .and_then(|vars| {
            let listen = vars.get("REDIS_EXPORTER_WEB_LISTEN_ADDRESS")?.clone();
            listen.rsplit_once(':')?.1.parse::<u16>().ok()
        })
        .filter(|p| *p != layout::METRICS_PORT);
    if let Some(port) = port {
        args.extend(["--metrics-port".into(), port.to_string()]);
    }
    args
}

/// The text of the folder's first metrics.env (a single server's, or the first cluster
/// node's), when the folder has an exporter.
pub(crate) fn metrics_env(folder: &Folder) -> Option<String> {
    let mut candidates = vec![folder.dir.join(layout::METRICS_ENV)];
    for s in &folder.servers {
        if let Some(name) = s
            .rel
            .strip_prefix("nodes/")
            .and_then(|r| r.strip_suffix("/redis.conf"))
        {
            candidates.push(folder.dir.join(layout::node_metrics_env(name)));
        }
    }
    candidates
        .iter()
        .find_map(|p| crate::regularfile::read_text(p).ok())
}

/// `--kubernetes` and its options, read back from the manifests the folder holds: the
/// StatefulSet's name and namespace, its volume claim, and the cluster domain from the
/// Service name the app dials.
fn kubernetes_flags(folder: &Folder) -> Vec<String> {
    let dir = folder.dir.join(crate::render::kubernetes::DIR);
    let Ok(sts) = crate::regularfile::read_text(&dir.join("statefulset.yaml")) else {
        return Vec::new();
    };
    let field = |text: &str, key: &str| {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(key))
            .map(|v| v.trim().trim_matches('"').to_owned())
    };
    let mut args = vec!["--kubernetes".to_owned()];
    let (Some(name), Some(namespace)) = (field(&sts, "name: "), field(&sts, "namespace: ")) else {
        return args;
    };
    let app = crate::regularfile::read_text(&dir.join("secret-app.yaml")).unwrap_or_default();
    let secret = crate::render::kubernetes::secret_value;
    let domain = secret(&app, "REDIS_HOST")
        .or_else(|| {
            secret(&app, "REDIS_CLUSTER_NODES").and_then(|n| {
                n.split(',')
                    .next()
                    .map(|h| h.rsplit_once(':').map_or(h, |x| x.0).to_owned())
            })
        })
        .and_then(|host| host.split_once(".svc.").map(|(_, d)| d.to_owned()));
    for (flag, value, default) in [
        (
            "--namespace",
            Some(namespace),
            crate::config::kubernetes::DEFAULT_NAMESPACE,
        ),
        (
            "--name",
            Some(name),
            crate::config::kubernetes::DEFAULT_NAME,
        ),
        (
            "--cluster-domain",
            domain,
            crate::config::kubernetes::DEFAULT_DOMAIN,
        ),
        (
            "--storage",
            field(&sts, "storage: "),
            crate::config::kubernetes::DEFAULT_STORAGE,
        ),
        ("--storage-class", field(&sts, "storageClassName: "), ""),
    ] {
        if let Some(v) = value.filter(|v| v != default) {
            args.extend([flag.to_owned(), v]);
        }
    }
    args
}

/// What the certificates tell of the first run: its key type, leaf and CA validity, and
/// the names it added to the server certificate (`--san`).
fn certificate_flags(folder: &Folder) -> Vec<String> {
    let info = |rel: &str| {
        crate::regularfile::read_text(&folder.dir.join(rel))
            .ok()
            .and_then(|pem| certificate::from_pem(rel, &pem).ok())
            .map(|(_, info)| info)
    };
    let server_cert = folder
        .servers
        .first()
        .and_then(|s| s.value("tls-cert-file"))
        .and_then(|p| {
            p.strip_prefix(&format!("{}/", folder.dir.display()))
                .map(str::to_owned)
        });
    let Some(server) = server_cert.as_deref().and_then(info) else {
        return Vec::new();
    };
    let mut args = Vec::new();
    if let Some(k) = KeyType::from_description(&server.key).filter(|k| *k != DEFAULT_KEY_TYPE) {
        args.extend(["--key-type".into(), k.name().to_owned()]);
    }
    let days = (server.not_after - server.not_before).whole_days();
    if days != DEFAULT_DAYS {
        args.extend(["--days".into(), days.to_string()]);
    }
    if let Some(ca) = info(layout::CA_CERT) {
        let ca_days = (ca.not_after - ca.not_before).whole_days();
        if ca_days != DEFAULT_CA_DAYS {
            args.extend(["--ca-days".into(), ca_days.to_string()]);
        }
    }
    let (app, _) = folder.app_env();
    let host = app
        .host
        .clone()
        .or_else(|| app.nodes.first().map(|n| n.0.clone()))
        .unwrap_or_default();
    let mut base = vec![
        host,
        "localhost".into(),
        "127.0.0.1".into(),
        "::1".into(),
        "redis".into(),
    ];
    base.extend(app.nodes.iter().map(|n| n.0.clone()));
    for san in &server.sans {
        let name = san.to_string();
        let name = name.as_str();
        let node_name = name.starts_with("redis-") && folder.cluster();
        if !node_name && !base.iter().any(|b| b.eq_ignore_ascii_case(name)) {
            args.extend(["--san".into(), name.to_owned()]);
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
