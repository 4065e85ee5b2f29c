//! `renew --new-ca STEP`: replace the folder's CA without a moment in which a client,
//! a replica or a cluster peer meets a certificate it does not trust. Servers, replicas
//! and the cluster bus share one trust store (`tls-ca-cert-file`), so the change is
//! staged, each step safe to run again and recorded in `ca-rollover/state.toml`:
//!
//! 1. `trust-both`: a new CA (`ca-rollover/ca-next.crt/.key`); `certs/ca.crt` becomes a bundle
//!    of the old and the new CA. Servers (with `--apply`) and clients, which read the
//!    same path, then trust both.
//! 2. `issue`: every leaf issued again under the new CA.
//! 3. `drop-old`: `certs/ca.crt` and `ca.key` become the new CA alone; the old CA is
//!    archived under `ca-rollover/retired/` (or removed with `--discard-old-ca`).

use crate::commands::stdout::outln;

use time::OffsetDateTime;

use super::{renew_leaves, write_renewed};
use crate::certificate;
use crate::cli::RenewArgs;
use crate::config::layout;
use crate::error::{Error, Result};
use crate::output::lock::FolderLock;
use crate::output::writer;
use crate::pki;
use crate::readback::folder::Folder;
use crate::readback::rollover::{CaStep, State, next, state};
use crate::render::bundle::{Bundle, Kind};

impl State {
    /// The state file goes into the step's own commit: the step and its record land
    /// together.
    fn record(&self, bundle: &mut Bundle) {
        bundle.file(
            layout::CA_ROLLOVER,
            Kind::Config,
            self.render(),
            "the rollover's state",
        );
    }

    fn render(&self) -> String {
        format!(
            "# A CA rollover by `kimera-redis-init renew --new-ca`: the last step done.\n\
             # trust-both -> issue -> drop-old; see the README.\n{}",
            toml::to_string(self).expect("plain fields serialise")
        )
    }
}

pub(super) fn run(
    folder: &Folder,
    args: &RenewArgs,
    step: CaStep,
    days: u32,
    now: OffsetDateTime,
    lock: &FolderLock,
    plan: Option<&super::apply::Plan>,
) -> Result<()> {
    let dir = &folder.dir;
    if !dir.join(layout::CA_KEY).exists() {
        return Err(Error::usage(format!(
            "--new-ca: {} holds no CA key ({}): it was issued under your organisation's CA, \
             whose rollover is your PKI's; allowed: --new-ca on a folder with its own CA",
            dir.display(),
            layout::CA_KEY
        )));
    }
    let recorded = state(folder)?;
    let finished = recorded.as_ref().is_some_and(|s| s.step == CaStep::DropOld);
    // A drop-old killed after its commit and before the next CA's files were removed:
    // finish it (they are copies of certs/ca.crt and ca.key by then).
    if finished {
        writer::remove(dir, &[layout::CA_NEXT_CERT, layout::CA_NEXT_KEY], lock)?;
        if step == CaStep::DropOld {
            // Run again (after a crash, or to --apply it): done, as trust-both is.
            outln!("step drop-old is done already: certs/ca.crt is the new CA alone");
            return Ok(());
        }
    }
    if step == CaStep::TrustBoth && dir.join(crate::render::fixtures::DIR).exists() {
        return Err(Error::usage(format!(
            "--new-ca trust-both: {}/fixtures holds certificates of the current CA, which this \
             rollover would leave behind; allowed: issue them again afterwards with \
             `kimera-redis-init fixtures --force` and the same flags, or move fixtures/ away \
             first; nothing was changed",
            dir.display()
        )));
    }
    // A finished rollover is no rollover: a new one may start.
    let current = recorded.filter(|s| s.step != CaStep::DropOld);
    let done = current.as_ref().map(|s| s.step);
    let allowed = match step {
        CaStep::TrustBoth => matches!(done, None | Some(CaStep::TrustBoth)),
        CaStep::Issue => matches!(done, Some(CaStep::TrustBoth | CaStep::Issue)),
        CaStep::DropOld => matches!(done, Some(CaStep::Issue)),
    };
    if !allowed {
        let (what, then) = match done {
            None => ("no rollover is in progress".to_owned(), CaStep::TrustBoth),
            Some(d) => (format!("the last step done is {}", d.name()), next(d)),
        };
        return Err(Error::usage(format!(
            "--new-ca {}: out of order: {what}; allowed next: --new-ca {} (steps: trust-both, \
             issue, drop-old); nothing was changed",
            step.name(),
            then.name()
        )));
    }
    // With --apply: every server must already run what the previous step wrote, or this
    // step would lock the app out of it (and out of a reload as admin).
    if let (Some(plan), true) = (plan, current.is_some()) {
        super::apply::ready_for(folder, plan, step)?;
    }
    match (step, current) {
        (CaStep::TrustBoth, None) => trust_both(folder, now, lock),
        (CaStep::TrustBoth, Some(_)) => {
            outln!("step trust-both is done already: certs/ca.crt trusts the old and the new CA");
            Ok(())
        }
        (CaStep::Issue, Some(s)) => issue(folder, args, s, days, now, lock),
        (CaStep::DropOld, Some(s)) => drop_old(folder, args, s, lock),
        _ => unreachable!("checked above"),
    }
}

fn read(folder: &Folder, rel: &str) -> Result<String> {
    crate::regularfile::read_text(&folder.dir.join(rel))
        .map_err(|e| Error::failed(format!("{rel}: {e}")))
}

/// Step 1: a new CA beside the old one, and a trust bundle of both.
fn trust_both(folder: &Folder, now: OffsetDateTime, lock: &FolderLock) -> Result<()> {
    let old_pem = read(folder, layout::CA_CERT)?;
    let old_key = read(folder, layout::CA_KEY)?;
    // The old CA must still be usable: leaves keep chaining to it until step 2.
    let (_, old) =
        pki::issue::load_issuer(layout::CA_CERT, &old_pem, layout::CA_KEY, &old_key, now)?;
    // The folder's recorded settings; a folder that predates its record: the old CA's.
    let recorded = folder.recorded();
    let key_type = recorded
        .and_then(|r| r.key_type())
        .or_else(|| crate::config::request::KeyType::from_description(&old.info.key))
        .ok_or_else(|| {
            Error::failed(format!(
                "{}: its key type {} cannot be generated again",
                layout::CA_CERT,
                old.info.key
            ))
        })?;
    let span = (old.info.not_after - old.info.not_before).whole_days();
    let ca_days = recorded
        .map(|r| r.ca_days)
        .unwrap_or_else(|| u32::try_from(span).unwrap_or(3650).clamp(1, 36_500));
    let (_, new) = pki::issue::new_ca(key_type, ca_days, now)?;
    let state = State {
        step: CaStep::TrustBoth,
        old_ca: certificate::fingerprint(&certificate::from_pem(layout::CA_CERT, &old_pem)?.0),
        new_ca: certificate::fingerprint(&certificate::from_pem("new CA", &new.cert_pem)?.0),
    };
    let mut bundle = Bundle::default();
    bundle.dir(layout::ROLLOVER_DIR, "the CA rollover's folder");
    bundle.cert(
        layout::CA_NEXT_CERT,
        Kind::CaCertificate,
        &new.cert_pem,
        &new.info,
        "the new CA of a rollover",
    );
    bundle.file(
        layout::CA_NEXT_KEY,
        Kind::CaKey,
        new.key_pem.clone(),
        "the new CA's key",
    );
    let trust = format!("{}{}", with_newline(&old_pem), new.cert_pem);
    refresh_stores(folder, &mut bundle, &trust)?;
    bundle.file(
        layout::CA_CERT,
        Kind::CaCertificate,
        trust,
        "the trust bundle: old and new CA",
    );
    state.record(&mut bundle);
    pin(folder, &mut bundle, &state.old_ca, Some(&state.new_ca));
    super::kubernetes_in_step(folder, &mut bundle)?;
    write(folder, &bundle, lock)?;
    outln!(
        "step trust-both: new CA {} ({}), valid until {}; {} now trusts the old and the new CA",
        new.info.subject,
        layout::CA_NEXT_CERT,
        new.info.not_after.date(),
        layout::CA_CERT
    );
    outln!(
        "next: once every server (--apply) and every client trusts both, run \
         `kimera-redis-init renew {} --new-ca issue --apply`",
        folder.dir.display()
    );
    Ok(())
}

/// Step 2: every leaf under the new CA.
fn issue(
    folder: &Folder,
    args: &RenewArgs,
    mut state: State,
    days: u32,
    now: OffsetDateTime,
    lock: &FolderLock,
) -> Result<()> {
    let cert = read(folder, layout::CA_NEXT_CERT)?;
    let key = read(folder, layout::CA_NEXT_KEY)?;
    let (issuer, ca) =
        pki::issue::load_issuer(layout::CA_NEXT_CERT, &cert, layout::CA_NEXT_KEY, &key, now)?;
    let (mut bundle, report) = renew_leaves(folder, args, &issuer, &ca, days, now)?;
    super::kubernetes_in_step(folder, &mut bundle)?;
    state.step = CaStep::Issue;
    state.record(&mut bundle);
    write_renewed(&folder.dir, &bundle, lock)?;
    for line in report {
        outln!("{line} (new CA)");
    }
    outln!(
        "step issue: every certificate chains to the new CA. next: `kimera-redis-init renew {} \
         --new-ca drop-old --apply`",
        folder.dir.display()
    );
    Ok(())
}

/// Step 3: the new CA alone; the old one archived or removed.
fn drop_old(folder: &Folder, args: &RenewArgs, mut state: State, lock: &FolderLock) -> Result<()> {
    let new_pem = read(folder, layout::CA_NEXT_CERT)?;
    let new_key = read(folder, layout::CA_NEXT_KEY)?;
    let (new_der, new_info) = certificate::from_pem(layout::CA_NEXT_CERT, &new_pem)?;
    // Nothing may still depend on the old CA.
    for rel in &folder.leaves {
        let (der, _) = certificate::from_pem(rel, &read(folder, rel)?)?;
        let now = rustls_pki_types::UnixTime::now();
        let chains = |usage| crate::pki::trust::chains(&new_der, &der, usage, now).is_ok();
        if !chains(crate::pki::trust::Usage::Server) && !chains(crate::pki::trust::Usage::Client) {
            return Err(Error::usage(format!(
                "--new-ca drop-old: {rel} does not chain to the new CA; allowed: run \
                 `kimera-redis-init renew {} --new-ca issue` first; nothing was changed",
                folder.dir.display()
            )));
        }
    }
    let old_pem = first_pem(&read(folder, layout::CA_CERT)?);
    let old_key = read(folder, layout::CA_KEY)?;
    let mut bundle = Bundle::default();
    bundle.cert(
        layout::CA_CERT,
        Kind::CaCertificate,
        &new_pem,
        &new_info,
        "the CA",
    );
    bundle.file(layout::CA_KEY, Kind::CaKey, new_key, "the CA's key");
    refresh_stores(folder, &mut bundle, &new_pem)?;
    let archive = format!(
        "{}/ca-{}",
        layout::RETIRED_DIR,
        &state.old_ca.replace(':', "")[..16].to_ascii_lowercase()
    );
    if !args.discard_old_ca {
        bundle.dir(layout::RETIRED_DIR, "retired CAs");
        bundle.file(
            &format!("{archive}.crt"),
            Kind::CaCertificate,
            old_pem,
            "the retired CA",
        );
        bundle.file(
            &format!("{archive}.key"),
            Kind::CaKey,
            old_key,
            "the retired CA's key",
        );
    }
    state.step = CaStep::DropOld;
    state.record(&mut bundle);
    pin(folder, &mut bundle, &state.new_ca, None);
    super::kubernetes_in_step(folder, &mut bundle)?;
    write(folder, &bundle, lock)?;
    writer::remove(
        &folder.dir,
        &[layout::CA_NEXT_CERT, layout::CA_NEXT_KEY],
        lock,
    )?;
    outln!(
        "step drop-old: {} is the new CA alone ({}); the old CA is {}",
        layout::CA_CERT,
        new_info.subject,
        if args.discard_old_ca {
            "removed".to_owned()
        } else {
            format!("archived in {archive}.crt and .key")
        }
    );
    Ok(())
}

/// A folder with PKCS#12 stores (`--pkcs12`): its trust store follows certs/ca.crt
/// through the rollover, so Java clients trust what the PEM clients trust.
fn refresh_stores(folder: &Folder, bundle: &mut Bundle, trust_pem: &str) -> Result<()> {
    let (Ok(cert_pem), Ok(key_pem)) = (
        read(folder, layout::CLIENT_CERT),
        read(folder, layout::CLIENT_KEY),
    ) else {
        return Ok(());
    };
    let (_, info) = certificate::from_pem(layout::CLIENT_CERT, &cert_pem)?;
    let client = pki::issue::CertKey {
        cert_pem,
        key_pem,
        info,
    };
    crate::render::stores::refresh(&folder.dir, bundle, &client, trust_pem).map(drop)
}

/// The folder's record pins the CAs `certs/ca.crt` holds after a step, in the step's own
/// commit: both during the rollover, the new one alone after it. A folder without a
/// record has no pin to move (its trust is read from its CA keys: `Folder::pinned_cas`).
fn pin(folder: &Folder, bundle: &mut Bundle, ca: &str, next: Option<&str>) {
    if let Some(record) = folder.recorded() {
        let mut record = record.clone();
        record.ca_sha256 = Some(ca.to_owned());
        record.next_ca_sha256 = next.map(str::to_owned);
        bundle.file(
            layout::RECORD,
            Kind::Config,
            record.render(),
            "the settings this folder was made with, its CA pins moved",
        );
    }
}

/// The CA files of a step replace what is there: that is the point of the step.
fn write(folder: &Folder, bundle: &Bundle, lock: &FolderLock) -> Result<()> {
    writer::write(
        bundle,
        &folder.dir,
        writer::Policy {
            force: true,
            replace_ca: true,
        },
        lock,
    )
    .map(drop)
}

fn with_newline(pem: &str) -> String {
    if pem.ends_with('\n') {
        pem.to_owned()
    } else {
        format!("{pem}\n")
    }
}

/// The first PEM block of a bundle.
fn first_pem(text: &str) -> String {
    const END: &str = "-----END CERTIFICATE-----";
    match text.find(END) {
        Some(i) => format!("{}\n", &text[..i + END.len()]),
        None => text.to_owned(),
    }
}
