//! `kimera-redis-init renew DIR`: issue every leaf certificate of a generated folder
//! again under the same CA, with the same names, SANs and usages, a new serial and a new
//! validity; new keys unless `--keep-keys`. The CA is never touched.

use crate::commands::stdout::outln;
use std::path::Path;

use rcgen::{DistinguishedName, DnType, ExtendedKeyUsagePurpose};
use time::{Duration, OffsetDateTime};

use crate::certificate;
use crate::cli::RenewArgs;
use crate::config::layout;
use crate::config::node::SanName;
use crate::config::request::KeyType;
use crate::error::{Error, Result};
use crate::output::lock::FolderLock;
use crate::output::writer;
use crate::pki;
use crate::pki::trust;
use crate::readback::folder::Folder;
use crate::render::bundle::{Bundle, Kind};

mod apply;
mod precheck;
mod rollover;

pub(crate) use crate::readback::rollover::{note as rollover_note, refuse_mid_rollover};

pub(crate) fn run(args: &RenewArgs) -> Result<()> {
    let dir = &args.dir;
    // No other run changes the folder from here until it is written.
    let (lock, folder) = super::folder_under_lock(dir)?;
    let days = crate::config::settings::check_days("--days", args.days)?;
    if folder.leaves.is_empty() {
        return Err(Error::usage(format!(
            "{}: has no certificates to renew (a profile without TLS)",
            dir.display()
        )));
    }
    // Everything --apply needs is checked before anything is written, every server
    // included: each proves it is ours and that the admin may reload it.
    let plan = if args.apply || args.reload_only {
        let plan = apply::prepare(&folder, std::time::Duration::from_secs(args.timeout))?;
        precheck::check(&folder, &plan)?;
        Some(plan)
    } else {
        None
    };
    let now = pki::issue::now();
    if !args.reload_only {
        match args.new_ca {
            Some(step) => rollover::run(&folder, args, step, days, now, &lock, plan.as_ref())?,
            None => renew_in_place(&folder, args, days, now, &lock, plan.is_none())?,
        }
    }
    match plan {
        Some(plan) => apply::run(&folder, &plan),
        None => Ok(()),
    }
}

/// Renewal under the folder's CA as it is (no rollover): every leaf issued again and
/// written; `say_reload` tells how to load them when `--apply` will not.
fn renew_in_place(
    folder: &Folder,
    args: &RenewArgs,
    days: u32,
    now: OffsetDateTime,
    lock: &FolderLock,
    say_reload: bool,
) -> Result<()> {
    let dir = &args.dir;
    refuse_mid_rollover(dir, "renew")?;
    let (issuer, ca) = load_ca(dir, args, now)?;
    let (mut bundle, report) = renew_leaves(folder, args, &issuer, &ca, days, now)?;
    kubernetes_in_step(folder, &mut bundle)?;
    write_renewed(dir, &bundle, lock)?;
    for line in report {
        outln!("{line}");
    }
    if say_reload {
        outln!(
            "The CA ({}) is unchanged. The server reads its certificates when it starts: \
             load them into the running servers without a restart with \
             `kimera-redis-init renew {} --reload-only`, or restart each {} \
             (or `docker-compose restart`). The app reads the files for each new \
             connection.",
            layout::CA_CERT,
            dir.display(),
            folder.server_program()
        );
    }
    Ok(())
}

/// Every leaf of the folder issued again under `issuer` (the CA `ca`), as it was: same
/// subject, SANs and usages; a new serial and validity; a new key unless `--keep-keys`.
/// The steps run in generate's order: read what the folder holds, issue (pki), put the
/// files in a bundle (render), and the caller writes it.
fn renew_leaves(
    folder: &Folder,
    args: &RenewArgs,
    issuer: &rcgen::Issuer<'static, rcgen::KeyPair>,
    ca: &pki::issue::CertKey,
    days: u32,
    now: OffsetDateTime,
) -> Result<(Bundle, Vec<String>)> {
    pki::issue::check_within_ca(days, now, &ca.info, None)?;
    // certs/ca.crt as it is (two CAs in the middle of a CA rollover): only leaves that
    // chain to it are renewed; anything else dropped into certs/ is left alone.
    let trust = crate::regularfile::read_text(&folder.dir.join(layout::CA_CERT))
        .unwrap_or_else(|_| ca.cert_pem.clone());
    let (found, left_alone) = leaves_to_renew(folder, args, &trust)?;
    if found.is_empty() {
        left_alone.iter().for_each(|l| outln!("{l}"));
        return Err(Error::usage(format!(
            "{}: no certificate of this setup issued by {} to renew",
            folder.dir.display(),
            layout::CA_CERT
        )));
    }
    let mut renewed = Vec::with_capacity(found.len());
    for leaf in found {
        let key = match leaf.kept_key {
            Some(key) => key,
            None => new_key(folder, &leaf.rel, &leaf.info)?,
        };
        let (sans, usages) = names_and_usages(&leaf.info);
        let issued = pki::issue::issue_leaf(
            issuer,
            &key,
            leaf.subject,
            &sans,
            &usages,
            pki::issue::validity(now, days),
            &leaf.rel,
        )?;
        renewed.push((leaf.rel, issued));
    }
    let (bundle, mut report) = renewed_bundle(folder, args, &renewed, &trust)?;
    report.extend(left_alone);
    Ok((bundle, report))
}

/// One leaf of the folder to issue again, as read back.
struct Found {
    rel: String,
    info: certificate::CertInfo,
    subject: DistinguishedName,
    /// The key beside it with `--keep-keys`; a new one is made otherwise.
    kept_key: Option<rcgen::KeyPair>,
}

/// The folder's own leaves (`ours`), and a line for each certificate left alone.
fn leaves_to_renew(
    folder: &Folder,
    args: &RenewArgs,
    trust: &str,
) -> Result<(Vec<Found>, Vec<String>)> {
    let dir = &folder.dir;
    // Only leaves under a CA the folder pins are its own: one under a CA appended to
    // ca.crt is not signed again.
    let mut trusted = folder.pinned_cas();
    if trusted.is_empty() {
        trusted = certificate::all_from_pem(layout::CA_CERT, trust)?;
    }
    let read =
        |r: &str| crate::regularfile::read_text(&dir.join(r)).map_err(|e| e.at(&dir.join(r)));
    let mut found = Vec::new();
    let mut left_alone = Vec::new();
    for rel in &folder.leaves {
        let parsed = certificate::from_pem(rel, &read(rel)?);
        let (der, info) = match parsed.map_err(|e| e.to_string()).and_then(|(der, info)| {
            ours(folder, rel, &trusted, &der, &info)?;
            Ok((der, info))
        }) {
            Ok(ok) => ok,
            Err(why) => {
                left_alone.push(format!("left alone {rel}: {why}"));
                continue;
            }
        };
        let key_rel = Folder::key_for(rel);
        let kept_key = if args.keep_keys {
            Some(pki::keys::load_key(&key_rel, &read(&key_rel)?)?)
        } else {
            None
        };
        found.push(Found {
            rel: rel.clone(),
            subject: subject(rel, &der)?,
            info,
            kept_key,
        });
    }
    Ok((found, left_alone))
}

/// The renewed certificates (and new keys) as a bundle, with the PKCS#12 stores of a
/// folder that has them refreshed (`certs/ca.crt` as their trust), and what the report
/// says of each.
fn renewed_bundle(
    folder: &Folder,
    args: &RenewArgs,
    renewed: &[(String, pki::issue::CertKey)],
    trust: &str,
) -> Result<(Bundle, Vec<String>)> {
    let mut bundle = Bundle::default();
    let mut report = Vec::new();
    for (rel, issued) in renewed {
        bundle.cert(
            rel,
            Kind::Certificate,
            &issued.cert_pem,
            &issued.info,
            "renewed certificate",
        );
        if !args.keep_keys {
            bundle.file(
                &Folder::key_for(rel),
                Kind::PrivateKey,
                issued.key_pem.clone(),
                "new private key",
            );
        }
        report.push(format!(
            "renewed {rel}: serial {}, valid until {}{}",
            issued.info.serial,
            issued.info.not_after.date(),
            if args.keep_keys {
                ", same key"
            } else {
                ", new key"
            }
        ));
    }
    let client = renewed.iter().find(|(rel, _)| rel == layout::CLIENT_CERT);
    if let Some((_, c)) = client
        && crate::render::stores::refresh(&folder.dir, &mut bundle, c, trust)?
    {
        report.push(format!(
            "refreshed {} and {} (same password)",
            layout::CLIENT_P12,
            layout::TRUSTSTORE_P12
        ));
    }
    Ok((bundle, report))
}

/// A new key of the type the folder was generated with (its record), or, for a folder
/// that predates its record, of the type the certificate has.
fn new_key(folder: &Folder, rel: &str, info: &certificate::CertInfo) -> Result<rcgen::KeyPair> {
    let recorded = folder.recorded().and_then(|r| r.key_type());
    pki::keys::generate_key(
        recorded
            .or_else(|| KeyType::from_description(&info.key))
            .ok_or_else(|| {
                Error::failed(format!(
                    "{rel}: its key type {} cannot be generated again",
                    info.key
                ))
            })?,
    )
}

/// The SANs and extended key usages a certificate carries, to be issued again as they are.
fn names_and_usages(info: &certificate::CertInfo) -> (Vec<SanName>, Vec<ExtendedKeyUsagePurpose>) {
    let usages = info
        .extended_key_usage
        .iter()
        .filter(|u| **u != certificate::Purpose::Any)
        .map(|u| u.issued())
        .collect();
    (info.sans.clone(), usages)
}

/// A folder with Kubernetes manifests gets its Secrets rendered again from the files this
/// bundle writes, in the same commit: the manifests never hold the old certificates.
fn kubernetes_in_step(folder: &Folder, bundle: &mut Bundle) -> Result<()> {
    let manifests = crate::commands::verify::regenerated::kubernetes_in_step(folder, bundle)?;
    bundle.entries.extend(manifests);
    Ok(())
}

/// Renewed leaves replace the old ones; the CA is never part of such a bundle.
fn write_renewed(dir: &Path, bundle: &Bundle, lock: &FolderLock) -> Result<()> {
    writer::write(
        bundle,
        dir,
        writer::Policy {
            force: true,
            replace_ca: false,
        },
        lock,
    )
    .map(drop)
}

/// The folder's own CA, or the organisation's given again with `--ca-cert/--ca-key`.
fn load_ca(
    dir: &Path,
    args: &RenewArgs,
    now: OffsetDateTime,
) -> Result<(rcgen::Issuer<'static, rcgen::KeyPair>, pki::issue::CertKey)> {
    let read = |label: &str, p: &Path, usage: bool| {
        crate::regularfile::read_text(p).map_err(|e| {
            let msg = format!("{label} {}: {e}", crate::printable::path(p));
            if usage {
                Error::usage(msg)
            } else {
                Error::failed(msg)
            }
        })
    };
    let own_key = dir.join(layout::CA_KEY);
    match (&args.ca.ca_cert, &args.ca.ca_key) {
        (Some(cert), Some(key)) => {
            if own_key.exists() {
                return Err(Error::usage(format!(
                    "--ca-cert: {} has its own CA ({}); allowed: renew without --ca-cert/--ca-key",
                    dir.display(),
                    layout::CA_KEY
                )));
            }
            let cert_pem = crate::config::inputfile::read("--ca-cert", cert)?;
            let key_pem = crate::config::inputfile::read("--ca-key", key)?;
            let loaded = crate::pki::ownca::load(&cert_pem, &key_pem, now)?;
            let in_folder = read(layout::CA_CERT, &dir.join(layout::CA_CERT), false)?;
            if !crate::pki::ownca::is_folder_ca(&cert_pem, &in_folder)? {
                return Err(Error::usage(format!(
                    "--ca-cert: not the CA in {}; allowed: the CA this folder was issued under",
                    layout::CA_CERT
                )));
            }
            Ok(loaded)
        }
        _ if own_key.exists() => {
            let cert = read(layout::CA_CERT, &dir.join(layout::CA_CERT), false)?;
            let key = read(layout::CA_KEY, &own_key, false)?;
            pki::issue::load_issuer(layout::CA_CERT, &cert, layout::CA_KEY, &key, now)
        }
        _ => Err(Error::usage(format!(
            "{}: {} is not in the folder, so it was issued under your organisation's CA; \
             pass the same --ca-cert FILE --ca-key FILE as when it was generated",
            dir.display(),
            layout::CA_KEY
        ))),
    }
}

/// Whether `rel` is one of this setup's leaves, issued by the folder's CA: a server
/// certificate of the layout or of a node, or the client certificate, that chains to
/// `ca` for its usage (checked as of its own start, so expired ones are renewed) and has
/// its key beside it. Anything else dropped into certs/ is not signed again.
fn ours(
    folder: &Folder,
    rel: &str,
    trusted: &[Vec<u8>],
    der: &[u8],
    info: &certificate::CertInfo,
) -> std::result::Result<(), String> {
    let node_certs = folder.servers.iter().filter_map(|s| {
        let name = s.rel.strip_prefix("nodes/")?.strip_suffix("/redis.conf")?;
        Some(layout::node_cert(name))
    });
    let layout_cert = rel == layout::SERVER_CERT
        || rel == layout::CLIENT_CERT
        || rel == layout::METRICS_CERT
        || rel == layout::KUBERNETES_SERVER_CERT
        || rel == layout::KUBERNETES_JOB_CERT
        || node_certs.into_iter().any(|c| c == rel);
    if !layout_cert {
        return Err("not a certificate of this setup's layout".to_owned());
    }
    if !folder.dir.join(Folder::key_for(rel)).is_file() {
        return Err(format!("its key {} is missing", Folder::key_for(rel)));
    }
    let usage = if rel == layout::CLIENT_CERT
        || rel == layout::METRICS_CERT
        || rel == layout::KUBERNETES_JOB_CERT
    {
        trust::Usage::Client
    } else {
        trust::Usage::Server
    };
    let at = pki::issue::unix_time(info.not_before + Duration::seconds(1));
    trust::chains_to_any(trusted, der, usage, at).map_err(|e| {
        format!(
            "not issued by {} for {} ({e})",
            layout::CA_CERT,
            usage.name()
        )
    })
}

/// The certificate's subject, attribute by attribute, to be issued again as it was.
fn subject(label: &str, der: &[u8]) -> Result<DistinguishedName> {
    let cert = certificate::parse_x509(label, der)?;
    let mut dn = DistinguishedName::new();
    for attr in cert.subject().iter_attributes() {
        let oid: Vec<u64> = attr
            .attr_type()
            .iter()
            .map(|it| it.collect())
            .unwrap_or_default();
        if let Ok(value) = attr.as_str() {
            dn.push(DnType::from_oid(&oid), value);
        }
    }
    Ok(dn)
}
