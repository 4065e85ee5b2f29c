//! `renew --apply`: load the files renew just wrote into every running server of the
//! folder, without a restart, and prove it with a fresh handshake per server.
//!
//! One atomic `CONFIG SET tls-cert-file F tls-key-file K tls-ca-cert-file C` per server:
//! Redis (>= 7.0.1 for a file of the same name) builds a new TLS context from the files
//! and keeps the old one if they do not load. Open connections keep their session; only
//! new handshakes see the new certificate, so nothing in flight fails.

use crate::commands::stdout::outln;
use std::time::{Duration, Instant};

use crate::certificate;
use crate::config::layout;
use crate::error::{Error, Result};
use crate::pki;
use crate::readback::folder::Folder;
use crate::readback::rollover::CaStep;
use crate::server::deadline::Deadline;
use crate::server::dial::{self, Admin, ClientTls, Identity, Target};
use crate::server::resp;
use crate::server::{ask, change};

/// How long a cluster node may take to report a healthy cluster after its reload.
const HEALTH_WAIT: Duration = Duration::from_secs(30);

/// What `--apply` needs, checked before renew writes anything.
pub(crate) struct Plan {
    pub(super) admin: Admin,
    pub(super) targets: Vec<Target>,
    /// TLS with the app's client certificate, trusting the pinned CAs alone.
    pub(super) tls: ClientTls,
    /// Each server's conversations end within this (`--timeout`).
    pub(super) timeout: Duration,
}

/// The usage errors of `--apply`: a folder without TLS, without the admin's password, or
/// whose servers cannot be told apart.
pub(super) fn prepare(folder: &Folder, timeout: Duration) -> Result<Plan> {
    if !folder.tls() {
        return Err(Error::usage(format!(
            "--apply: {} serves no TLS (REDIS_SSL is not true), so there is nothing to reload; \
             allowed: --apply on a folder generated with TLS",
            folder.dir.display()
        )));
    }
    let admin = dial::admin(folder).map_err(|why| {
        Error::usage(format!(
            "--apply: {why}: the reload runs as the admin user; restore admin.env as generated \
             (nothing was changed on any server)"
        ))
    })?;
    let targets = dial::targets(folder);
    if targets.len() != folder.servers.len() || targets.is_empty() {
        return Err(Error::usage(format!(
            "--apply: cannot tell the address of every server from {}'s redis.conf files and \
             .env; nothing was changed on any server",
            folder.dir.display()
        )));
    }
    let tls = dial::client_config(folder, None).map_err(|e| {
        Error::failed(format!(
            "--apply: the TLS client settings do not load ({e}); nothing was changed on any \
             server"
        ))
    })?;
    Ok(Plan {
        admin,
        targets,
        tls,
        timeout,
    })
}

/// Reload every server; `Err` (exit 1) when any server does not serve the files on disk
/// afterwards, after every server was tried.
pub(super) fn run(folder: &Folder, plan: &Plan) -> Result<()> {
    let probe = new_ca_probe(folder)?;
    let mut failed = 0;
    for t in &plan.targets {
        let started = Instant::now();
        match reload(folder, plan, t, probe.as_ref()) {
            Ok(done) => outln!(
                "applied {} ({}): {done}, in {} ms",
                t.addr(),
                t.conf,
                started.elapsed().as_millis()
            ),
            Err(why) => {
                failed += 1;
                outln!("FAIL    {} ({}): {why}", t.addr(), t.conf);
            }
        }
    }
    if folder.cluster() && failed == 0 {
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
    }
    if failed > 0 {
        return Err(Error::failed(format!(
            "{failed} of {} server(s) do not serve the files on disk yet (see above); the files \
             are in place, so `renew {} --reload-only` applies them again once the cause is \
             fixed, and a server that starts reads them",
            plan.targets.len(),
            folder.dir.display()
        )));
    }
    outln!(
        "Every server serves the renewed files; open connections keep their sessions, new ones \
         use the new certificates. The app needs no restart: it reads the certificate files \
         for each new connection."
    );
    Ok(())
}

/// One server: the certificate it serves now, the reload, and the proof.
fn reload(
    folder: &Folder,
    plan: &Plan,
    t: &Target,
    probe: Option<&ClientTls>,
) -> std::result::Result<String, String> {
    let deadline = Deadline::after(plan.timeout);
    let restart = || {
        format!(
            "{} {}/{}",
            folder.server_program(),
            folder.dir.display(),
            t.conf
        )
    };
    let unreachable = |e: resp::Error| match e {
        resp::Error::Stranger(_) => format!("{e}; it got nothing but a TLS hello"),
        resp::Error::NoAnswer(_) => format!("{e}; it was not changed"),
        e => format!(
            "not reachable ({e}); it was not changed. It reads the new files when it starts: \
             restart it ({}), or start it and run renew --reload-only",
            restart()
        ),
    };
    let before = dial::served_certificate(&t.host, t.port, deadline, &plan.tls).map_err(|e| {
        if dial::is_tls_failure(&e) {
            // Reachable, but the app's own TLS settings fail: a reload as admin uses them
            // too, so only a restart loads the files on disk.
            format!(
                "the TLS handshake with the app's settings fails ({e}), so neither the app nor \
                 a reload reaches it; it was not changed: restart it ({}) to \
                 load the files on disk",
                restart()
            )
        } else {
            unreachable(e)
        }
    })?;
    let mut con = dial::admin_connection(&plan.tls, &plan.admin, &t.host, t.port, deadline)
        .map_err(unreachable)?;
    super::precheck::reloads_same_name(&mut con)?;
    let on_disk = first_certificate(&t.cert_file)?;
    load_files(&mut con, t, &before)?;
    let after = serves(&on_disk, plan, t, deadline)?;
    let trusts_new = match probe {
        Some(id) => {
            dial::served_certificate(&t.host, t.port, deadline, id).map_err(|e| {
                format!(
                    "after the reload it does not accept a certificate of the new CA ({e}): \
                     the next rollover step would lock clients out; check {}",
                    t.ca_file
                )
            })?;
            ", and one of the new CA"
        }
        None => "",
    };
    Ok(format!(
        "serves serial {} (was {}), the app's client certificate is accepted{trusts_new}",
        serial(&after),
        serial(&before)
    ))
}

/// One `CONFIG SET` of the three TLS files: the server loads them together or keeps
/// serving `before`.
fn load_files(
    con: &mut resp::Connection,
    t: &Target,
    before: &[u8],
) -> std::result::Result<(), String> {
    change::config_set(
        con,
        &[
            ("tls-cert-file", &t.cert_file),
            ("tls-key-file", &t.key_file),
            ("tls-ca-cert-file", &t.ca_file),
        ],
    )
    .map_err(|e| {
        format!(
            "the server refused the files on disk ({e}); it keeps serving serial {}. Check \
             {} and {} (kimera-redis-init verify), then run renew --reload-only",
            serial(before),
            t.cert_file,
            t.key_file
        )
    })
}

/// After the reload, a fresh handshake must get the certificate on disk (`on_disk`): a
/// server that serves another reads other files (a container's mount).
fn serves(
    on_disk: &[u8],
    plan: &Plan,
    t: &Target,
    deadline: Deadline,
) -> std::result::Result<Vec<u8>, String> {
    let after = dial::served_certificate(&t.host, t.port, deadline, &plan.tls)
        .map_err(|e| format!("after the reload a fresh handshake failed: {e}"))?;
    if after != on_disk {
        return Err(format!(
            "after the reload it serves serial {}, not {} from {}: it reads other files than \
             those on disk, as a container started from this folder's docker-compose.yml \
             does (each file is mounted on its own, so the CA key never enters it, and a \
             mount keeps the file it started with); recreate it: docker-compose up -d \
             --force-recreate",
            serial(&after),
            serial(on_disk),
            t.cert_file
        ));
    }
    Ok(after)
}

/// Before a rollover step changes the folder, with `--apply`: every server that answers
/// must already run what the previous step wrote. Before `issue`: it accepts a client
/// certificate of the new CA (it reloaded the trust bundle). Before `drop-old`: it
/// serves a certificate of the new CA (it reloaded its new leaf). A server that does not
/// answer is left to read the files when it starts. Exit 2, nothing changed, otherwise.
pub(super) fn ready_for(folder: &Folder, plan: &Plan, step: CaStep) -> Result<()> {
    let not_yet = |t: &Target, what: &str| {
        Error::usage(format!(
            "--new-ca {}: {} ({}) {what}; the step would lock the app out of it. Allowed: \
             `kimera-redis-init renew {} --reload-only` (or restart it) first; nothing was \
             changed",
            step.name(),
            t.addr(),
            t.conf,
            folder.dir.display()
        ))
    };
    let targets = dial::targets(folder);
    match step {
        CaStep::TrustBoth => Ok(()),
        CaStep::Issue => {
            let Some(probe) = new_ca_probe(folder)? else {
                return Ok(());
            };
            for t in &targets {
                let deadline = Deadline::after(plan.timeout);
                match dial::served_certificate(&t.host, t.port, deadline, &probe) {
                    Err(e) if dial::is_tls_failure(&e) => {
                        return Err(not_yet(t, "does not trust the new CA yet"));
                    }
                    _ => {}
                }
            }
            Ok(())
        }
        CaStep::DropOld => {
            let next = crate::regularfile::read_text(&folder.dir.join(layout::CA_NEXT_CERT))
                .ok()
                .and_then(|pem| certificate::from_pem(layout::CA_NEXT_CERT, &pem).ok());
            let Some((next_der, _)) = next else {
                return Ok(());
            };
            let now = rustls_pki_types::UnixTime::now();
            for t in &targets {
                let deadline = Deadline::after(plan.timeout);
                let Ok(served) = dial::served_certificate(&t.host, t.port, deadline, &plan.tls)
                else {
                    continue;
                };
                if crate::pki::trust::chains(
                    &next_der,
                    &served,
                    crate::pki::trust::Usage::Server,
                    now,
                )
                .is_err()
                {
                    return Err(not_yet(t, "still serves a certificate of the old CA"));
                }
            }
            Ok(())
        }
    }
}

/// During a CA rollover: TLS with a throwaway client certificate of the new CA, made in
/// memory and never written, to prove that each server trusts the new CA before any leaf
/// moves to it.
fn new_ca_probe(folder: &Folder) -> Result<Option<ClientTls>> {
    let (cert, key) = (
        folder.dir.join(layout::CA_NEXT_CERT),
        folder.dir.join(layout::CA_NEXT_KEY),
    );
    let (Ok(cert), Ok(key)) = (
        crate::regularfile::read_text(&cert),
        crate::regularfile::read_text(&key),
    ) else {
        return Ok(None);
    };
    let now = time::OffsetDateTime::now_utc();
    let (issuer, _) =
        pki::issue::load_issuer(layout::CA_NEXT_CERT, &cert, layout::CA_NEXT_KEY, &key, now)?;
    let probe_key = pki::keys::generate_key(crate::config::request::KeyType::EcdsaP256)?;
    let leaf = pki::issue::issue_leaf(
        &issuer,
        &probe_key,
        pki::issue::name("kimera-redis-init rollover probe"),
        &[],
        &[rcgen::ExtendedKeyUsagePurpose::ClientAuth],
        pki::issue::validity(now, 1),
        "probe",
    )?;
    let probe = Identity {
        cert_pem: leaf.cert_pem,
        key_pem: leaf.key_pem,
    };
    dial::client_config(folder, Some(&probe))
        .map(Some)
        .map_err(|e| Error::failed(format!("the rollover probe's TLS settings: {e}")))
}

fn first_certificate(path: &str) -> std::result::Result<Vec<u8>, String> {
    let pem = crate::regularfile::read_text(std::path::Path::new(path))
        .map_err(|e| format!("{path}: {e}"))?;
    certificate::from_pem(path, &pem)
        .map(|(der, _)| der)
        .map_err(|e| e.to_string())
}

fn serial(der: &[u8]) -> String {
    certificate::from_der("served certificate", der)
        .map(|i| i.serial)
        .unwrap_or_else(|_| "?".into())
}
