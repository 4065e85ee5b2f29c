//! `kimera-redis-init inspect PATH`: what a certificate says, or every certificate of a
//! generated folder, as text or JSON.

use crate::commands::stdout::outln;
use std::path::Path;

use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use serde::Serialize;
use time::OffsetDateTime;

use crate::certificate::{self, CertInfo};
use crate::config::layout;
use crate::error::{Error, Result};
use crate::readback::folder::Folder;

#[derive(Serialize)]
struct Shown {
    path: String,
    #[serde(flatten)]
    info: CertInfo,
    days_left: i64,
}

pub(crate) fn run(path: &Path, json: bool) -> Result<()> {
    let files = files_of(path)?;
    if files.is_empty() {
        // Silence and exit 0 would read as "nothing wrong" for a folder that should have some.
        return Err(Error::failed(format!(
            "{}: no certificates in certs/ (a profile without TLS has none; --tls or production-tls makes them)",
            path.display()
        )));
    }
    let now = OffsetDateTime::now_utc();
    let mut shown = Vec::new();
    // The PKCS#12 stores of a folder, opened with their password file.
    let stored = if path.is_dir() {
        crate::render::stores::certificates(path)?
    } else {
        Vec::new()
    };
    for (label, file) in files {
        let pem = crate::regularfile::read(&file)
            .map_err(|e| Error::usage(format!("{}: {e}", crate::printable::path(&file))))?;
        let ders: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&pem)
            .collect::<std::result::Result<_, _>>()
            .map_err(|e| Error::usage(crate::certificate::CertError::pem(&label, e).to_string()))?;
        if ders.is_empty() {
            return Err(Error::usage(format!(
                "{label}: holds no PEM certificate; allowed: a .crt file or a generated folder"
            )));
        }
        for der in ders {
            let info = certificate::from_der(&label, &der)?;
            let days_left = (info.not_after - now).whole_days();
            shown.push(Shown {
                path: label.clone(),
                info,
                days_left,
            });
        }
    }
    for (label, der) in stored {
        let info = certificate::from_der(&label, &der)?;
        let days_left = (info.not_after - now).whole_days();
        shown.push(Shown {
            path: label,
            info,
            days_left,
        });
    }
    if json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&shown).expect("serializes")
        );
        return Ok(());
    }
    for (i, s) in shown.iter().enumerate() {
        if i > 0 {
            outln!();
        }
        print_one(s);
    }
    Ok(())
}

/// One certificate as the text report shows it.
fn print_one(s: &Shown) {
    let c = &s.info;
    let list = |v: Vec<String>| {
        if v.is_empty() {
            "-".to_owned()
        } else {
            v.join(", ")
        }
    };
    let left = crate::certificate::days_left(s.days_left);
    outln!("{}", s.path);
    outln!("  subject     {}", c.subject);
    outln!("  issuer      {}", c.issuer);
    outln!(
        "  SANs        {}",
        list(c.sans.iter().map(certificate::tagged).collect())
    );
    outln!("  key         {}", c.key);
    outln!("  CA          {}", if c.is_ca { "yes" } else { "no" });
    outln!("  key usage   {}", list(c.key_usage.clone()));
    outln!(
        "  ext. usage  {}",
        list(
            c.extended_key_usage
                .iter()
                .map(ToString::to_string)
                .collect()
        )
    );
    outln!(
        "  valid       {} to {} ({left})",
        certificate::show_time(c.not_before),
        certificate::show_time(c.not_after)
    );
    outln!("  serial      {}", c.serial);
    outln!("  SHA-256     {}", c.sha256_fingerprint);
}

/// The certificate files `path` names: a folder's CA and leaves that are there, or the
/// one file given.
fn files_of(path: &Path) -> Result<Vec<(String, std::path::PathBuf)>> {
    Ok(if path.is_dir() {
        let folder = Folder::read(path)?;
        std::iter::once(layout::CA_CERT.to_owned())
            .chain(folder.leaves.iter().cloned())
            // Present (a FIFO or a device in their place is refused when read).
            .filter(|rel| path.join(rel).symlink_metadata().is_ok())
            .map(|rel| (rel.clone(), path.join(rel)))
            .collect()
    } else {
        vec![(path.display().to_string(), path.to_path_buf())]
    })
}
