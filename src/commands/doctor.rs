//! `kimera-redis-init doctor DIR`: connect the way the app does, from `.env` only (TLS
//! with the client certificate and hostname checking, AUTH, SELECT, PING; in cluster
//! mode every node and the cluster's state), print what was checked, and for each failure
//! the likely cause and the fix.

use crate::commands::stdout::outln;
use std::io::ErrorKind;
use std::net::ToSocketAddrs;
use std::path::Path;
use std::time::Duration;

use rustls::{AlertDescription, CertificateError};

use crate::error::Result;
use crate::pki::trust;
use crate::readback::folder::Folder;
use crate::server::deadline::{self, Deadline, Expired};
use crate::server::dial::{self, ClientTls, ClientTlsError};
use crate::server::pinned::Stranger;
use crate::server::resp;

/// How long the check for a plain-text server behind a failed TLS hello may take, on top
/// of the server's deadline: one PING on loopback or a LAN.
const PLAIN_PROBE: Duration = Duration::from_secs(1);

/// A failed check: what failed, the likely cause, and the fix.
#[derive(Debug)]
pub(crate) struct Diagnosis {
    pub(crate) failed: String,
    pub(crate) cause: String,
    pub(crate) fix: String,
}

fn diag(failed: impl Into<String>, cause: impl Into<String>, fix: impl Into<String>) -> Diagnosis {
    Diagnosis {
        failed: failed.into(),
        cause: cause.into(),
        fix: fix.into(),
    }
}

/// One line of the report: a check that passed, or a failure with its cause and fix.
#[derive(Debug, serde::Serialize)]
struct Entry {
    check: &'static str,
    subject: String,
    severity: &'static str,
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    cause: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    fix: Option<String>,
}

/// Print every check (as JSON with `json`); `Ok(true)` when the app would connect.
pub(crate) fn run(dir: &Path, json: bool, timeout: Duration) -> Result<bool> {
    let mut folder = Folder::read(dir)?;
    // Fix commands and the offline checks start from a record verify would believe.
    for finding in crate::commands::verify::regenerated::settle_record(&mut folder) {
        eprintln!("note: {finding}");
    }
    if let Some(note) = folder.inferred_note() {
        eprintln!("{note}");
    }
    let entries = diagnose(&folder, timeout);
    let healthy = entries.iter().all(|e| e.severity == "ok");
    if json {
        let findings: Vec<&Entry> = entries.iter().filter(|e| e.severity != "ok").collect();
        let passed: Vec<&Entry> = entries.iter().filter(|e| e.severity == "ok").collect();
        let report = serde_json::json!({
            "folder": dir.display().to_string(),
            "ok": healthy,
            "passed": passed,
            "findings": findings,
        });
        outln!(
            "{}",
            serde_json::to_string_pretty(&report).expect("report serializes")
        );
        return Ok(healthy);
    }
    // Entries quote .env values and servers' replies: shown escaped (JSON is by serde).
    let p = crate::printable::text;
    for e in &entries {
        match (&e.cause, &e.fix) {
            (Some(cause), Some(fix)) => {
                outln!("FAIL  {}: {}", p(&e.subject), p(&e.message));
                outln!("      cause: {}", p(cause));
                outln!("      fix:   {}", p(fix));
            }
            _ => outln!("ok    {}: {}", p(&e.subject), p(&e.message)),
        }
    }
    outln!(
        "{}",
        if healthy {
            "The app can connect with this .env."
        } else {
            "The app cannot connect yet: see the fixes above."
        }
    );
    Ok(healthy)
}

/// The certificate the server presents is the one its redis.conf names on disk: else a
/// renew was never loaded (no reload, no restart) and the server still runs on the old
/// one, which will expire as the old one does. Only ever reached for a server that
/// proved to be ours, so the advice to reload (which authenticates) is safe.
fn served_as_on_disk(
    folder: &Folder,
    host: &str,
    port: u16,
    served: &[u8],
) -> std::result::Result<String, Diagnosis> {
    let Some(path) = folder
        .server_on(host, port)
        .and_then(|s| s.value("tls-cert-file"))
    else {
        return Ok("no server config of this folder listens there; not compared".into());
    };
    let on_disk = crate::regularfile::read_text(std::path::Path::new(path))
        .ok()
        .and_then(|pem| crate::certificate::from_pem(path, &pem).ok());
    match on_disk {
        Some((der, info)) if der == served => Ok(format!(
            "serves {path} as on disk (serial {}, valid until {})",
            info.serial,
            info.not_after.date()
        )),
        Some((_, info)) => {
            let serial = crate::certificate::from_der("served", served)
                .map(|i| i.serial)
                .unwrap_or_else(|_| "?".into());
            Err(diag(
                format!(
                    "serves serial {serial}, but {path} holds serial {}",
                    info.serial
                ),
                "the certificate was renewed on disk and never loaded: no reload and no restart since",
                format!(
                    "kimera-redis-init renew {} --reload-only (no restart), or restart the server",
                    folder.dir.display()
                ),
            ))
        }
        None => Err(diag(
            format!("{path} cannot be read as a certificate"),
            "the file the server config names is missing or damaged",
            "restore it, or run `kimera-redis-init renew` on this folder",
        )),
    }
}

/// Every check, in order. A `.env` the app cannot parse stops here: the app would not
/// start, so connecting with guessed values would only name the wrong failure.
fn diagnose(folder: &Folder, timeout: Duration) -> Vec<Entry> {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let (app, problems) = folder.app_env();
    let nodes = app.dialled();
    let mut entries = env_entries(&problems, nodes.is_empty());
    if !problems.is_empty() || nodes.is_empty() {
        return entries;
    }
    let mut reachable = 0;
    for (host, port) in &nodes {
        // Everything doctor asks one server shares one deadline.
        let deadline = Deadline::after(timeout);
        let (r, served) = match check_node(folder, host, *port, deadline) {
            Ok((done, served)) => (Ok(done), served),
            Err(d) => (Err(d), None),
        };
        let ok = r.is_ok();
        entries.push(entry("connect", format!("{host}:{port}"), r));
        if ok {
            reachable += 1;
            if let Some(served) = served {
                entries.push(entry(
                    "certificate",
                    format!("{host}:{port}"),
                    served_as_on_disk(folder, host, *port, &served),
                ));
            }
        }
    }
    if let Some((host, port)) = nodes
        .first()
        .filter(|_| folder.cluster() && reachable == nodes.len())
    {
        entries.push(entry(
            "cluster",
            "cluster".into(),
            check_cluster(folder, host, *port, Deadline::after(timeout)),
        ));
    }
    entries
}

/// One line of the report: a check passed, or failed with its cause and fix.
fn entry(check: &'static str, subject: String, r: std::result::Result<String, Diagnosis>) -> Entry {
    match r {
        Ok(done) => Entry {
            check,
            subject,
            severity: "ok",
            message: done,
            cause: None,
            fix: None,
        },
        Err(d) => Entry {
            check,
            subject,
            severity: "error",
            message: d.failed,
            cause: Some(d.cause),
            fix: Some(d.fix),
        },
    }
}

/// `.env` as the app reads it: each value it cannot use, or no server to dial.
fn env_entries(problems: &[crate::readback::envcheck::EnvProblem], no_nodes: bool) -> Vec<Entry> {
    let env = || crate::config::layout::ENV.to_owned();
    let mut entries: Vec<Entry> = problems
        .iter()
        .map(|p| {
            entry(
                "env",
                env(),
                Err(diag(
                    p.problem.clone(),
                    "the app reads .env with these types and would refuse to start (or misbehave) with this value",
                    p.fix.clone(),
                )),
            )
        })
        .collect();
    if problems.is_empty() && no_nodes {
        entries.push(entry(
            "env",
            env(),
            Err(diag(
                "names no server to dial",
                "REDIS_HOST and REDIS_PORT (or REDIS_CLUSTER_NODES) are empty",
                "restore them as generated (kimera-redis-init verify shows what the folder expects)",
            )),
        ));
    }
    entries
}

/// TCP, then TLS (when on), then AUTH, SELECT and PING as the app does them; with TLS,
/// the certificate the server presented. AUTH is sent only to a server whose
/// certificate chains to a CA the record pins.
fn check_node(
    folder: &Folder,
    host: &str,
    port: u16,
    deadline: Deadline,
) -> std::result::Result<(String, Option<Vec<u8>>), Diagnosis> {
    connect(host, port, deadline, folder.server_program())?;
    let (tls, served) = if folder.tls() {
        ca_valid(folder)?;
        let tls = tls_config(folder)?;
        let served = tls_probe(folder, host, port, deadline, &tls)?;
        (Some(tls), Some(served))
    } else {
        (None, None)
    };
    let mut con = app_connection(folder, host, port, deadline, tls.as_ref())?;
    let pong = con.text(&["PING"]).map_err(|e| redis_failure(folder, &e))?;
    let user = match folder.env("REDIS_USERNAME") {
        "" => "the default user".to_owned(),
        u => format!("user {u}"),
    };
    let tls = if folder.tls() {
        "TLS with the client certificate and hostname check, "
    } else {
        ""
    };
    Ok((
        format!(
            "{tls}AUTH as {user}, SELECT {}, PING -> {pong}",
            folder.env("REDIS_DB")
        ),
        served,
    ))
}

/// Whether anything accepts a TCP connection on `host:port` (the connection is closed
/// again at once).
/// `program` is the server the folder was written for, named in the fix.
fn connect(
    host: &str,
    port: u16,
    deadline: Deadline,
    program: &str,
) -> std::result::Result<(), Diagnosis> {
    (host, port).to_socket_addrs().map_err(|e| {
        diag(
            format!("cannot resolve {host}"),
            format!("the name does not resolve here: {e}"),
            format!("make {host} resolve (DNS or /etc/hosts), or set REDIS_HOST to an address"),
        )
    })?;
    let e = match deadline::connect(host, port, deadline) {
        Ok(_) => return Ok(()),
        Err(e) => e,
    };
    Err(match (e.kind(), deadline::expired_in(&e)) {
        (_, Some(expired)) => no_answer(expired),
        (ErrorKind::ConnectionRefused, _) => diag(
            "connection refused",
            format!(
                "no server listens on {host}:{port}: it is not running, or listens on another port"
            ),
            format!(
                "start it from this folder's config ({program} <folder>/redis.conf, or the nodes' configs), or fix REDIS_PORT"
            ),
        ),
        _ => diag(
            format!("cannot connect: {e}"),
            "the network refused the connection",
            "check REDIS_HOST and REDIS_PORT",
        ),
    })
}

/// A deadline that passed: the server is there but does not answer, which is neither a
/// TLS nor a password problem.
fn no_answer(e: &Expired) -> Diagnosis {
    diag(
        e.to_string(),
        "it did not finish answering in time: the process is stopped (SIGSTOP) or overloaded, \
         a firewall drops the packets, or what listens there is not a Redis server",
        "check that the server process runs and is not stopped (kill -CONT PID), its log, and \
         that REDIS_HOST and REDIS_PORT are the server's; --timeout gives it longer",
    )
}

/// A server that is not this folder's: nothing but a TLS hello went to it, and no advice
/// here would send it a password.
fn stranger(s: &Stranger, port: u16) -> Diagnosis {
    diag(
        s.to_string(),
        format!(
            "a server this folder did not set up answers on the app's port: another setup's, or \
             an impostor. Only the CA pinned in {} is trusted (a CA added to {} is not), so no \
             AUTH and no password was sent to it",
            crate::config::layout::RECORD,
            crate::config::layout::CA_CERT
        ),
        format!(
            "find what listens on port {port} (ss -ltnp 'sport = :{port}'), stop it, and start \
             this folder's server there (redis-server <folder>/redis.conf); until then do not \
             run the app, renew --apply or --reload-only against it"
        ),
    )
}

/// A TLS handshake with exactly what the app uses, trusting only the pinned CAs, then one
/// round trip, so that a client certificate the server refuses (reported after the
/// handshake in TLS 1.3) shows too. The certificate the server presented, once it is
/// proved to be ours and one the app's REDIS_CA_CERTS accepts.
fn tls_probe(
    folder: &Folder,
    host: &str,
    port: u16,
    deadline: Deadline,
    tls: &ClientTls,
) -> std::result::Result<Vec<u8>, Diagnosis> {
    if let Err(e) = rustls_pki_types::ServerName::try_from(host.to_owned()) {
        return Err(diag(
            format!("REDIS_HOST {host} is not a valid TLS server name: {e}"),
            "a typo in .env",
            "set REDIS_HOST to a host name or IP address",
        ));
    }
    let served = match dial::served_certificate(host, port, deadline, tls) {
        Ok(served) => served,
        Err(resp::Error::Stranger(s)) => return Err(stranger(&s, port)),
        Err(e) if !certificate_failure(&e) && speaks_plain(host, port, deadline) => {
            return Err(diag(
                "the server speaks plain text on this port, not TLS",
                format!(
                    "REDIS_SSL is true, but {host}:{port} answers a plain PING: the server runs without TLS there (port, not tls-port)"
                ),
                "start it from this folder's redis.conf (TLS on tls-port), or set REDIS_PORT to its tls-port",
            ));
        }
        Err(resp::Error::NoAnswer(e)) => return Err(no_answer(&e)),
        Err(resp::Error::Io(e)) => return Err(tls_failure(folder, host, &e)),
        Err(e) => {
            return Err(diag(
                format!("TLS session failed: {e}"),
                "the server answered something else than Redis over TLS",
                "check that REDIS_PORT is the server's tls-port",
            ));
        }
    };
    let now = rustls_pki_types::UnixTime::now();
    if trust::chains_to_any(&tls.app_cas, &served, trust::Usage::Server, now).is_err() {
        return Err(diag(
            "the server certificate is from an unknown CA",
            format!(
                "it was not issued by the CA in REDIS_CA_CERTS ({})",
                folder.env("REDIS_CA_CERTS")
            ),
            "point REDIS_CA_CERTS at the CA that issued the server's certificate, or start the server with this folder's certificates",
        ));
    }
    Ok(served)
}

/// Whether a failed TLS session was refused over a certificate (either side's), as
/// opposed to a peer that sent no TLS at all or nothing in time.
fn certificate_failure(e: &resp::Error) -> bool {
    let resp::Error::Io(io) = e else {
        return false;
    };
    matches!(
        io.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()),
        Some(rustls::Error::InvalidCertificate(_) | rustls::Error::AlertReceived(_))
    )
}

/// Whether `host:port` answers a plain-text PING (any RESP reply, NOAUTH included): a
/// TLS hello to such a port gets no answer or garbage. Nothing secret is sent.
fn speaks_plain(host: &str, port: u16, deadline: Deadline) -> bool {
    let probe =
        Deadline::after(PLAIN_PROBE).at_most(deadline.left().unwrap_or_default() + PLAIN_PROBE);
    let Ok(mut con) = dial::open(host, port, probe, None) else {
        return false;
    };
    matches!(
        con.command(&["PING"]),
        Ok(_) | Err(resp::Error::Server { .. })
    )
}

/// rustls takes the trust anchor's dates on faith; an expired CA must be named as such,
/// not as the leaf certificates it makes unusable.
fn ca_valid(folder: &Folder) -> std::result::Result<(), Diagnosis> {
    let path = folder.env("REDIS_CA_CERTS");
    let Ok(pem) = crate::regularfile::read_text(std::path::Path::new(path)) else {
        return Ok(()); // reported by the handshake with its own cause
    };
    let Ok((_, info)) = crate::certificate::from_pem(path, &pem) else {
        return Ok(());
    };
    if info.not_after <= time::OffsetDateTime::now_utc() {
        return Err(diag(
            format!(
                "the CA in REDIS_CA_CERTS {}",
                crate::certificate::expired_on(info.not_after)
            ),
            "every certificate issued under it is refused with it, the client's and the server's",
            format!(
                "make a new CA and issue everything again: {} --force --replace-ca (renew cannot: it keeps the CA); then restart the server and the app",
                super::verify::fixes::generate_command(folder)
            ),
        ));
    }
    Ok(())
}

/// The app's TLS settings (the one client setup, `dial::client_config`), its failures
/// named for the user.
fn tls_config(folder: &Folder) -> std::result::Result<ClientTls, Diagnosis> {
    dial::client_config(folder, None).map_err(|e| match e {
        ClientTlsError::Unreadable { key, error, .. } => diag(
            format!("{key}={} cannot be loaded: {error}", folder.env(key)),
            "the file is missing or not PEM",
            format!("point {key} at the file in certs/, or regenerate"),
        ),
        ClientTlsError::Mismatch(e) => diag(
            format!("the client certificate and key do not go together: {e}"),
            "REDIS_SSL_KEYFILE is not the key of REDIS_SSL_CERTFILE",
            "restore the matching key, or run `kimera-redis-init renew` on this folder",
        ),
        ClientTlsError::Pins(e) => diag(
            format!("no CA to trust: {e}"),
            "doctor trusts only the CA the record pins, so that no password goes to a server of another CA",
            format!(
                "restore {} as generated (kimera-redis-init verify compares it with the record)",
                crate::config::layout::CA_CERT
            ),
        ),
    })
}

/// What a TLS error means for the user.
fn tls_failure(folder: &Folder, host: &str, e: &std::io::Error) -> Diagnosis {
    let renew = "run `kimera-redis-init renew <folder>` and restart the server";
    let Some(tls) = e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) else {
        return diag(
            format!("TLS handshake failed: {e}"),
            "the server closed the connection: it may not speak TLS on this port, or refused the client certificate",
            "check that REDIS_PORT is the server's tls-port and that its tls-ca-cert-file issued REDIS_SSL_CERTFILE",
        );
    };
    use rustls::Error as E;
    match tls {
        E::InvalidCertificate(
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
        ) => diag(
            format!("the server certificate does not name {host}"),
            format!(
                "the app dials {host}, but the certificate was issued for other names (hostname checking is on, as in redis-py)"
            ),
            format!(
                "generate again with --host {host} (or --san {host}) and --force, or set REDIS_HOST to a name the certificate has (kimera-redis-init inspect shows them)"
            ),
        ),
        E::InvalidCertificate(CertificateError::UnknownIssuer | CertificateError::BadSignature) => {
            diag(
                "the server certificate is from an unknown CA",
                format!(
                    "it was not issued by the CA in REDIS_CA_CERTS ({})",
                    folder.env("REDIS_CA_CERTS")
                ),
                "point REDIS_CA_CERTS at the CA that issued the server's certificate, or start the server with this folder's certificates",
            )
        }
        E::InvalidCertificate(
            CertificateError::Expired | CertificateError::ExpiredContext { .. },
        ) => diag(
            "the server certificate has expired",
            "its validity ended",
            renew,
        ),
        E::InvalidCertificate(
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. },
        ) => diag(
            "the server certificate is not valid yet",
            "this machine's clock is behind, or the certificate starts in the future",
            "fix the clock (NTP), or renew the certificate",
        ),
        E::InvalidCertificate(
            CertificateError::InvalidPurpose | CertificateError::InvalidPurposeContext { .. },
        ) => diag(
            "the server certificate is not for a server (no serverAuth extended key usage)",
            "the server runs a certificate issued for another purpose, such as the client certificate",
            "start the server with this folder's server certificate (tls-cert-file in redis.conf), or run `kimera-redis-init renew <folder>`",
        ),
        E::InvalidCertificate(_) => diag(
            format!("the server certificate is refused: {tls}"),
            "it does not pass verification",
            renew,
        ),
        E::AlertReceived(alert) => client_refused(*alert, renew),
        other => diag(
            format!("TLS failed: {other}"),
            "the TLS session could not be set up",
            "check the server's TLS settings and its log",
        ),
    }
}

/// A TLS alert from the server: why it refused the app's client certificate.
fn client_refused(alert: AlertDescription, renew: &str) -> Diagnosis {
    let (cause, fix) = match alert {
            AlertDescription::CertificateExpired => ("the server says the client certificate has expired", renew.to_owned()),
            AlertDescription::UnknownCA => (
                "the server does not trust the CA that issued the client certificate",
                "use the client certificate of this folder (REDIS_SSL_CERTFILE/KEYFILE), issued by the CA in the server's tls-ca-cert-file".to_owned(),
            ),
            AlertDescription::CertificateRequired => (
                "the server requires a client certificate and got none",
                "set REDIS_SSL_CERTFILE and REDIS_SSL_KEYFILE".to_owned(),
            ),
            _ => ("the server refused the TLS session", "check the server log for the reason".to_owned()),
        };
    diag(
        format!("client certificate refused (TLS alert {alert:?})"),
        cause,
        fix,
    )
}

/// What a Redis error means for the user.
fn redis_failure(folder: &Folder, e: &resp::Error) -> Diagnosis {
    redis_diagnosis(folder.env("REDIS_USERNAME"), folder.tls(), e)
}

/// What a Redis error means for a connection as `user`, with TLS on or off.
fn redis_diagnosis(user: &str, tls: bool, e: &resp::Error) -> Diagnosis {
    let io_kind = match e {
        resp::Error::Io(io) => Some(io.kind()),
        _ => None,
    };
    // Neither is the password's fault nor a sign of TLS: each has its own advice.
    match e {
        resp::Error::NoAnswer(expired) => return no_answer(expired),
        resp::Error::Stranger(s) => return stranger(s, 0),
        _ => {}
    }
    match e.code() {
        _ if e.auth_failed() => diag(
            format!("AUTH refused: {e}"),
            format!(
                "the password in .env is not user {user}'s, or the user is switched off in users.acl"
            ),
            "restore the .env generated with this users.acl (kimera-redis-init verify compares them), or generate again with --force",
        ),
        Some("NOAUTH") => diag(
            format!("the server wants authentication: {e}"),
            "REDIS_USERNAME/REDIS_PASSWORD are empty, but the default user is off",
            "restore REDIS_USERNAME and REDIS_PASSWORD from the generated .env",
        ),
        Some("NOPERM") => diag(
            format!("permission denied: {e}"),
            format!("user {user} may not run this command"),
            "check the user's rules in users.acl",
        ),
        _ if !tls && io_kind.is_some() => diag(
            format!("the server closed the connection: {e}"),
            "it may speak TLS on this port while .env says REDIS_SSL=false",
            "set REDIS_SSL=true (with the certificate variables) or REDIS_PORT to the server's plain port",
        ),
        _ if io_kind == Some(ErrorKind::ConnectionRefused) => diag(
            format!("connection refused: {e}"),
            "the server went away between checks",
            "start it again and re-run doctor",
        ),
        _ => diag(
            format!("the server answered with an error: {e}"),
            "see the error",
            "check the server log",
        ),
    }
}

/// CLUSTER INFO on a node: formed, all slots assigned and served.
fn check_cluster(
    folder: &Folder,
    host: &str,
    port: u16,
    deadline: Deadline,
) -> std::result::Result<String, Diagnosis> {
    let tls = folder.tls().then(|| tls_config(folder)).transpose()?;
    let mut con = app_connection(folder, host, port, deadline, tls.as_ref())?;
    let info = con
        .text(&["CLUSTER", "INFO"])
        .map_err(|e| redis_failure(folder, &e))?;
    let field = |k: &str| {
        info.lines()
            .find_map(|l| l.strip_prefix(&format!("{k}:")))
            .map(|v| v.trim().to_owned())
            .unwrap_or_default()
    };
    let (state, known, assigned, served) = (
        field("cluster_state"),
        field("cluster_known_nodes"),
        field("cluster_slots_assigned"),
        field("cluster_slots_ok"),
    );
    if state == "ok" && assigned == "16384" && served == "16384" {
        return Ok(format!(
            "cluster_state:ok, {known} nodes, all 16384 slots served"
        ));
    }
    if known == "1" || assigned == "0" {
        return Err(diag(
            format!(
                "the cluster is not formed (cluster_state:{state}, {known} node(s) known, {assigned} slots assigned)"
            ),
            "the nodes run but were never joined into a cluster",
            format!("run {}/cluster-create.sh", folder.dir.display()),
        ));
    }
    Err(diag(
        format!(
            "the cluster is not healthy: cluster_state:{state}, {assigned} slots assigned, {served} served"
        ),
        "a node is down or slots are unassigned",
        format!(
            "start every node (each nodes/*/redis.conf) and check `{} --cluster check` as the admin user",
            folder.cli_program()
        ),
    ))
}

/// The connection the app makes from `.env`: over TLS (when on) with the client
/// certificate, the pinned CA and the host name checked, AUTH with user and password
/// (when a password is set, and only once the server proved to be ours), SELECT of the db
/// (not in cluster mode, nor for db 0).
fn app_connection(
    folder: &Folder,
    host: &str,
    port: u16,
    deadline: Deadline,
    tls: Option<&ClientTls>,
) -> std::result::Result<resp::Connection, Diagnosis> {
    let db = match (folder.cluster(), folder.env("REDIS_DB")) {
        (true, _) | (false, "") => 0,
        (false, db) => db.parse::<i64>().map_err(|e| {
            diag(
                format!("the .env settings do not make a client: REDIS_DB={db}: {e}"),
                "a malformed value in .env",
                "regenerate the folder",
            )
        })?,
    };
    let fail = |e: resp::Error| redis_failure(folder, &e);
    let mut con = dial::open(host, port, deadline, tls).map_err(fail)?;
    match (folder.env("REDIS_USERNAME"), folder.env("REDIS_PASSWORD")) {
        (_, "") => {}
        ("", pass) => con.auth(None, pass).map_err(fail)?,
        (user, pass) => con.auth(Some(user), pass).map_err(fail)?,
    }
    if db != 0 {
        con.select(db).map_err(fail)?;
    }
    Ok(con)
}

#[cfg(test)]
mod tests {
    //! The `.env` -> settings path of doctor and verify never panics, whatever `.env`
    //! holds: property-tested over values the app's readers would be handed.
    use super::*;
    use proptest::prelude::*;

    /// Values that broke parsing before, edge numbers, and arbitrary text.
    fn value() -> impl Strategy<Value = String> {
        prop_oneof![
            Just(String::new()),
            Just("1e300".to_owned()),
            Just("1e-12".to_owned()),
            Just("-1".to_owned()),
            Just("nan".to_owned()),
            Just("inf".to_owned()),
            Just("99999999999999999999999".to_owned()),
            Just("True".to_owned()),
            Just("requred".to_owned()),
            Just("127.0.0.1".to_owned()),
            Just("::1".to_owned()),
            Just("127.0.0.1:1".to_owned()),
            Just("127.0.0.1:abc".to_owned()),
            Just(",,".to_owned()),
            Just("[::1]:1,127.0.0.1:0".to_owned()),
            "[0-9.eE+-]{0,12}",
            "\\PC{0,16}",
        ]
    }

    const KEYS: &[&str] = &[
        "REDIS_HOST",
        "REDIS_PORT",
        "REDIS_DB",
        "REDIS_SSL",
        "REDIS_CERT_REQS",
        "REDIS_CLUSTER_MODE",
        "REDIS_CLUSTER_NODES",
        "REDIS_SOCKET_TIMEOUT",
        "REDIS_SOCKET_CONNECT_TIMEOUT",
        "REDIS_MAX_CONNECTIONS",
        "REDIS_HEALTH_CHECK_INTERVAL",
        "REDIS_SSL_KEYFILE",
        "REDIS_USERNAME",
        "REDIS_PASSWORD",
        "KIMERA_FEATURES",
    ];

    fn server(command: &str, line: &str) -> resp::Error {
        resp::Error::Server {
            command: command.into(),
            code: line.split(' ').next().unwrap().into(),
            message: line.into(),
        }
    }

    fn io(kind: std::io::ErrorKind) -> resp::Error {
        resp::Error::Io(std::io::Error::new(kind, "io"))
    }

    #[test]
    fn redis_errors_map_to_their_diagnosis() {
        let wrongpass = server(
            "AUTH",
            "WRONGPASS invalid username-password pair or user is disabled.",
        );
        // Any refusal of AUTH is the password's fault, whatever code the server uses.
        for (e, tls) in [
            (&wrongpass, true),
            (&wrongpass, false),
            (&server("AUTH", "ERR invalid password"), true),
        ] {
            let d = redis_diagnosis("kimera_user", tls, e);
            assert_eq!(d.failed, format!("AUTH refused: {e}"));
            assert_eq!(
                d.cause,
                "the password in .env is not user kimera_user's, or the user is switched off in users.acl"
            );
        }
        let d = redis_diagnosis("", true, &server("PING", "NOAUTH Authentication required."));
        assert_eq!(
            d.failed,
            "the server wants authentication: NOAUTH Authentication required."
        );
        assert_eq!(
            d.cause,
            "REDIS_USERNAME/REDIS_PASSWORD are empty, but the default user is off"
        );
        let d = redis_diagnosis(
            "app",
            false,
            &server(
                "SELECT",
                "NOPERM this user has no permissions to run the 'select' command",
            ),
        );
        assert!(
            d.failed.starts_with("permission denied: NOPERM "),
            "{}",
            d.failed
        );
        assert_eq!(d.cause, "user app may not run this command");
        // Plain text to a TLS port: the server drops the connection.
        for kind in [
            std::io::ErrorKind::UnexpectedEof,
            std::io::ErrorKind::ConnectionReset,
            std::io::ErrorKind::ConnectionRefused,
        ] {
            let d = redis_diagnosis("app", false, &io(kind));
            assert_eq!(d.failed, "the server closed the connection: io");
            assert_eq!(
                d.cause,
                "it may speak TLS on this port while .env says REDIS_SSL=false"
            );
        }
        let d = redis_diagnosis("app", true, &io(std::io::ErrorKind::ConnectionRefused));
        assert_eq!(d.failed, "connection refused: io");
        assert_eq!(d.cause, "the server went away between checks");
        for e in [
            io(std::io::ErrorKind::UnexpectedEof),
            server("PING", "LOADING Redis is loading the dataset in memory"),
            resp::Error::Protocol("bad".into()),
        ] {
            let d = redis_diagnosis("app", true, &e);
            assert_eq!(d.failed, format!("the server answered with an error: {e}"));
            assert_eq!(d.fix, "check the server log");
        }
    }

    /// The mapping on a real connection: nothing listens on the port, so the TCP connect
    /// is refused, and TLS off reads it as a server that dropped plain text.
    #[test]
    fn a_refused_connection_is_diagnosed() {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let e = dial::open(
            "127.0.0.1",
            port,
            Deadline::after(Duration::from_secs(2)),
            None,
        )
        .unwrap_err();
        assert!(
            matches!(&e, resp::Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused),
            "{e:?}"
        );
        assert_eq!(
            redis_diagnosis("app", true, &e).cause,
            "the server went away between checks"
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn no_env_makes_doctor_or_verify_panic(
            edits in proptest::collection::vec((0..KEYS.len(), proptest::option::of(value())), 1..6),
        ) {
            let tmp = tempfile::tempdir().unwrap();
            crate::api::Setup::new("production-tls").host("localhost").port(1).write_to(tmp.path()).unwrap();
            let mut folder = Folder::read(tmp.path()).unwrap();
            for (k, v) in &edits {
                match v {
                    Some(v) => { folder.env.insert(KEYS[*k].to_owned(), v.clone()); }
                    None => { folder.env.remove(KEYS[*k]); }
                }
            }
            let (app, problems) = folder.app_env();
            if problems.is_empty() {
                // Whatever parses is usable: something to dial, a timeout a socket takes.
                prop_assert!(!app.dialled().is_empty());
                prop_assert!(app.connect_timeout.is_some_and(|t| t <= Duration::from_secs(3600)));
            }
            // Port 1 on loopback: nothing listens, so a connect fails at once.
            let entries = diagnose(&folder, Duration::from_secs(2));
            prop_assert!(!entries.is_empty());
            let (findings, _) = crate::commands::verify::check(&folder, 30, time::OffsetDateTime::now_utc());
            if !problems.is_empty() {
                prop_assert!(!findings.is_empty());
                prop_assert!(entries.iter().all(|e| e.check == "env"));
            }
        }
    }
}
