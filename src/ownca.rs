//! Checks on an organisation's own CA (`--ca-cert/--ca-key`) before anything is issued
//! under it, so that a CA the servers or clients would refuse is refused here, with the
//! reason, instead of making certificates whose handshakes fail.

use rcgen::{Issuer, KeyPair};
use time::OffsetDateTime;
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::error::{Error, Result};
use crate::pki::CertKey;
use crate::trust::{self, Usage};

const KEY_ALLOWED: &str = "allowed: an unencrypted PEM private key (PKCS#8, PKCS#1 or SEC1): \
                           RSA of 2048 bits or more, ECDSA P-256/P-384 or Ed25519";

/// An organisation's CA (`--ca-cert`, `--ca-key`), checked and ready to issue under, for
/// generate and renew alike.
pub(crate) fn load(
    cert_pem: &str,
    key_pem: &str,
    now: OffsetDateTime,
) -> Result<(Issuer<'static, KeyPair>, CertKey)> {
    check_files(cert_pem, key_pem, now)?;
    crate::pki::load_issuer("--ca-cert", cert_pem, "--ca-key", key_pem, now)
}

/// Whether `--ca-cert` is the CA a folder's certs/ca.crt holds (`folder_ca`).
pub(crate) fn is_folder_ca(cert_pem: &str, folder_ca: &str) -> Result<bool> {
    let (given, _) = crate::certinfo::from_pem("--ca-cert", cert_pem)?;
    let (in_folder, _) = crate::certinfo::from_pem(crate::layout::CA_CERT, folder_ca)?;
    Ok(given == in_folder)
}

/// The files themselves: one root certificate that is valid now and may sign server and
/// client certificates, and the private key that belongs to it.
fn check_files(cert_pem: &str, key_pem: &str, now: OffsetDateTime) -> Result<()> {
    let blocks = pem::parse_many(cert_pem).map_err(|e| {
        Error::usage(format!(
            "--ca-cert: not PEM ({e}); allowed: the CA certificate in PEM (-----BEGIN CERTIFICATE-----)"
        ))
    })?;
    let certs: Vec<&pem::Pem> = blocks.iter().filter(|b| b.tag() == "CERTIFICATE").collect();
    if let Some(other) = blocks.iter().find(|b| b.tag() != "CERTIFICATE") {
        return Err(Error::usage(format!(
            "--ca-cert: holds a {}; allowed: only the CA certificate",
            other.tag()
        )));
    }
    match certs.len() {
        0 => {
            return Err(Error::usage(
                "--ca-cert: holds no PEM certificate; allowed: the CA certificate in PEM \
                 (-----BEGIN CERTIFICATE-----)",
            ));
        }
        1 => {}
        n => {
            return Err(Error::usage(format!(
                "--ca-cert: holds {n} certificates, and every one in it would be trusted; \
                 allowed: exactly one, the root CA certificate that signs the setup"
            )));
        }
    }
    let (_, cert) = X509Certificate::from_der(certs[0].contents()).map_err(|e| {
        Error::usage(format!(
            "--ca-cert: not an X.509 certificate ({e}); allowed: a CA certificate"
        ))
    })?;
    let is_ca = cert
        .basic_constraints()
        .ok()
        .flatten()
        .is_some_and(|b| b.value.ca);
    let signs = cert
        .key_usage()
        .ok()
        .flatten()
        .is_none_or(|k| k.value.key_cert_sign());
    if !is_ca || !signs {
        return Err(Error::usage(format!(
            "--ca-cert: {} is not a CA certificate (it needs basicConstraints CA:TRUE and \
             keyCertSign); allowed: your organisation's root CA certificate",
            cert.subject()
        )));
    }
    let not_before = cert.validity().not_before.timestamp();
    let not_after = cert.validity().not_after.timestamp();
    if not_before > now.unix_timestamp() {
        return Err(Error::usage(format!(
            "--ca-cert: the CA is not valid yet (from {}); allowed: a CA valid now (check the \
             clock, or wait)",
            cert.validity().not_before
        )));
    }
    if not_after <= now.unix_timestamp() {
        return Err(Error::usage(format!(
            "--ca-cert: the CA expired on {}; allowed: a CA valid now (get it renewed)",
            cert.validity().not_after
        )));
    }
    if let Ok(Some(eku)) = cert.extended_key_usage() {
        let e = eku.value;
        if !(e.any || (e.server_auth && e.client_auth)) {
            let mut has: Vec<&str> = [
                (e.server_auth, "serverAuth"),
                (e.client_auth, "clientAuth"),
                (e.code_signing, "codeSigning"),
                (e.email_protection, "emailProtection"),
                (e.time_stamping, "timeStamping"),
                (e.ocsp_signing, "OCSPSigning"),
            ]
            .into_iter()
            .filter(|(on, _)| *on)
            .map(|(_, n)| n)
            .collect();
            if !e.other.is_empty() {
                has.push("other");
            }
            return Err(Error::usage(format!(
                "--ca-cert: its extendedKeyUsage ({}) does not allow both serverAuth and \
                 clientAuth, so Redis and the app would refuse the certificates it signs; \
                 allowed: a CA without extendedKeyUsage, or with serverAuth and clientAuth",
                has.join(", ")
            )));
        }
    }
    if let Some(bits) = rsa_bits(&cert)
        && bits < 2048
    {
        return Err(Error::usage(format!(
            "--ca-cert: an RSA {bits} key is too weak (OpenSSL refuses it); allowed: RSA of \
             2048 bits or more, or ECDSA"
        )));
    }
    let key_blocks = pem::parse_many(key_pem)
        .map_err(|e| Error::usage(format!("--ca-key: not PEM ({e}); {KEY_ALLOWED}")))?;
    if key_blocks.iter().any(|b| {
        b.tag() == "ENCRYPTED PRIVATE KEY"
            || b.headers()
                .get("Proc-Type")
                .is_some_and(|v| v.contains("ENCRYPTED"))
    }) {
        return Err(Error::usage(format!(
            "--ca-key: the key is encrypted; {KEY_ALLOWED} (decrypt a copy: openssl pkey -in \
             KEY -out plain.key)"
        )));
    }
    let key = KeyPair::from_pem(key_pem)
        .map_err(|e| Error::usage(format!("--ca-key: cannot be loaded ({e}); {KEY_ALLOWED}")))?;
    if !crate::pki::key_matches(&key, &cert.public_key().subject_public_key.data) {
        return Err(Error::usage(
            "--ca-key is not the private key of --ca-cert; allowed: the key that belongs to \
             that certificate (compare `openssl x509 -noout -pubkey -in CERT` with `openssl \
             pkey -pubout -in KEY`)",
        ));
    }
    Ok(())
}

fn rsa_bits(cert: &X509Certificate<'_>) -> Option<usize> {
    match cert.public_key().parsed().ok()? {
        x509_parser::public_key::PublicKey::RSA(rsa) => Some(rsa.key_size()),
        _ => None,
    }
}

/// Every certificate issued under the CA must verify under it the way clients check it
/// (webpki applies the CA's name constraints): a CA whose constraints exclude a name the
/// setup uses is refused, naming the certificate.
pub(crate) fn check_issued(
    ca: &CertKey,
    leaves: &[(&str, &CertKey, Vec<Usage>)],
    now: OffsetDateTime,
) -> Result<()> {
    let ca_der = crate::certinfo::from_pem("--ca-cert", &ca.cert_pem)?.0;
    let at = crate::pki::unix_time(now);
    for (path, leaf, usages) in leaves {
        let der = crate::certinfo::from_pem(path, &leaf.cert_pem)?.0;
        for usage in usages {
            if let Err(e) = trust::chains(&ca_der, &der, *usage, at) {
                return Err(Error::usage(format!(
                    "--ca-cert: {path} ({}) issued under this CA does not verify for {} ({e}): \
                     the CA's name constraints exclude one of its names ({}); allowed: a CA \
                     that may issue for every host and --san of the setup",
                    leaf.info.subject,
                    usage.name(),
                    leaf.info.sans.join(", ")
                )));
            }
        }
    }
    Ok(())
}
