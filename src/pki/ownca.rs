//! Checks on an organisation's own CA (`--ca-cert/--ca-key`) before anything is issued
//! under it, so that a CA the servers or clients would refuse is refused here, with the
//! reason, instead of making certificates whose handshakes fail.

use rcgen::{Issuer, KeyPair};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::{PemObject, SectionKind};
use time::OffsetDateTime;
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::error::{Error, Result};
use crate::pki::issue::CertKey;
use crate::pki::trust::{self, Usage};

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
    crate::pki::issue::load_issuer("--ca-cert", cert_pem, "--ca-key", key_pem, now)
}

/// Whether `--ca-cert` is the CA a folder's certs/ca.crt holds (`folder_ca`).
pub(crate) fn is_folder_ca(cert_pem: &str, folder_ca: &str) -> Result<bool> {
    let (given, _) = crate::certificate::from_pem("--ca-cert", cert_pem)?;
    let (in_folder, _) = crate::certificate::from_pem(crate::config::layout::CA_CERT, folder_ca)?;
    Ok(given == in_folder)
}

/// The label of every `-----BEGIN LABEL-----` line, in order.
fn pem_labels(text: &str) -> impl Iterator<Item = &str> {
    text.lines().filter_map(|l| {
        l.trim_end()
            .strip_prefix("-----BEGIN ")?
            .strip_suffix("-----")
    })
}

/// The files themselves: one root certificate that is valid now and may sign server and
/// client certificates, and the private key that belongs to it.
fn check_files(cert_pem: &str, key_pem: &str, now: OffsetDateTime) -> Result<()> {
    let der = one_certificate(cert_pem)?;
    let (_, cert) = X509Certificate::from_der(&der).map_err(|e| {
        Error::usage(format!(
            "--ca-cert: not an X.509 certificate ({e}); allowed: a CA certificate"
        ))
    })?;
    check_ca_certificate(&cert, now)?;
    let key = load_ca_key(key_pem)?;
    if !crate::pki::keys::key_matches(&key, &cert.public_key().subject_public_key.data) {
        return Err(Error::usage(
            "--ca-key is not the private key of --ca-cert; allowed: the key that belongs to \
             that certificate (compare `openssl x509 -noout -pubkey -in CERT` with `openssl \
             pkey -pubout -in KEY`)",
        ));
    }
    Ok(())
}

/// `--ca-cert` holds exactly one PEM certificate and nothing else: every certificate in
/// it would be trusted.
fn one_certificate(cert_pem: &str) -> Result<CertificateDer<'static>> {
    let mut certs = CertificateDer::pem_slice_iter(cert_pem.as_bytes())
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| {
            Error::usage(format!(
                "--ca-cert: not PEM ({e}); allowed: the CA certificate in PEM (-----BEGIN CERTIFICATE-----)"
            ))
        })?;
    if let Some(other) = pem_labels(cert_pem).find(|l| *l != "CERTIFICATE") {
        return Err(Error::usage(format!(
            "--ca-cert: holds a {other}; allowed: only the CA certificate"
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
    Ok(certs.swap_remove(0))
}

/// A CA that may sign the setup's certificates, valid now, whose extended key usage (if
/// any) allows both serverAuth and clientAuth, with a key OpenSSL accepts.
fn check_ca_certificate(cert: &X509Certificate<'_>, now: OffsetDateTime) -> Result<()> {
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
    if let Some(bits) = rsa_bits(cert)
        && bits < 2048
    {
        return Err(Error::usage(format!(
            "--ca-cert: an RSA {bits} key is too weak (OpenSSL refuses it); allowed: RSA of \
             2048 bits or more, or ECDSA"
        )));
    }
    Ok(())
}

/// `--ca-key`: a private key in plain PEM that rcgen loads.
fn load_ca_key(key_pem: &str) -> Result<KeyPair> {
    // Checked before parsing: the headers of a legacy encrypted key are not PEM to
    // rustls-pki-types, and an ENCRYPTED PRIVATE KEY section is one it skips.
    let legacy_encrypted = key_pem
        .lines()
        .any(|l| l.starts_with("Proc-Type:") && l.contains("ENCRYPTED"));
    if legacy_encrypted || pem_labels(key_pem).any(|l| l == "ENCRYPTED PRIVATE KEY") {
        return Err(Error::usage(format!(
            "--ca-key: the key is encrypted; {KEY_ALLOWED} (decrypt a copy: openssl pkey -in \
             KEY -out plain.key)"
        )));
    }
    for section in <(SectionKind, Vec<u8>)>::pem_slice_iter(key_pem.as_bytes()) {
        section.map_err(|e| Error::usage(format!("--ca-key: not PEM ({e}); {KEY_ALLOWED}")))?;
    }
    KeyPair::from_pem(key_pem)
        .map_err(|e| Error::usage(format!("--ca-key: cannot be loaded ({e}); {KEY_ALLOWED}")))
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
    let ca_der = crate::certificate::from_pem("--ca-cert", &ca.cert_pem)?.0;
    let at = crate::pki::issue::unix_time(now);
    for (path, leaf, usages) in leaves {
        let der = crate::certificate::from_pem(path, &leaf.cert_pem)?.0;
        for usage in usages {
            if let Err(e) = trust::chains(&ca_der, &der, *usage, at) {
                return Err(Error::usage(format!(
                    "--ca-cert: {path} ({}) issued under this CA does not verify for {} ({e}): \
                     the CA's name constraints exclude one of its names ({}); allowed: a CA \
                     that may issue for every host and --san of the setup",
                    leaf.info.subject,
                    usage.name(),
                    leaf.info
                        .sans
                        .iter()
                        .map(crate::certificate::tagged)
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod pem_tests {
    //! The PEM side of the `--ca-cert/--ca-key` checks: what the files may hold.
    use super::*;
    use crate::config::request::KeyType;

    fn own_ca() -> (String, String) {
        let (_, ca) =
            crate::pki::issue::new_ca(KeyType::EcdsaP256, 3650, OffsetDateTime::now_utc()).unwrap();
        (ca.cert_pem, ca.key_pem)
    }

    fn refusal(cert: &str, key: &str) -> String {
        check_files(cert, key, OffsetDateTime::now_utc())
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn a_ca_and_its_key_pass() {
        let (cert, key) = own_ca();
        check_files(&cert, &key, OffsetDateTime::now_utc()).unwrap();
    }

    #[test]
    fn the_certificate_file_holds_the_ca_certificate_only() {
        let (cert, key) = own_ca();
        assert!(
            refusal(&format!("{cert}{key}"), &key)
                .contains("--ca-cert: holds a PRIVATE KEY; allowed: only the CA certificate")
        );
        // A section rustls-pki-types does not know is named too, not skipped.
        let trusted = cert.replace("CERTIFICATE", "TRUSTED CERTIFICATE");
        assert!(
            refusal(&format!("{cert}{trusted}"), &key).contains("holds a TRUSTED CERTIFICATE;")
        );
        assert!(refusal(&format!("{cert}{cert}"), &key).contains("holds 2 certificates"));
        assert!(refusal("no pem here\n", &key).contains("holds no PEM certificate"));
        let broken = cert.replacen("MII", "M!I", 1);
        assert!(refusal(&broken, &key).starts_with("--ca-cert: not PEM ("));
    }

    #[test]
    fn an_encrypted_key_is_named_as_such() {
        let (cert, key) = own_ca();
        let body: String = key.lines().filter(|l| !l.starts_with("-----")).collect();
        let pkcs8 = format!(
            "-----BEGIN ENCRYPTED PRIVATE KEY-----\n{body}\n-----END ENCRYPTED PRIVATE KEY-----\n"
        );
        let legacy = format!(
            "-----BEGIN EC PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-256-CBC,00112233445566778899AABBCCDDEEFF\n\n{body}\n-----END EC PRIVATE KEY-----\n"
        );
        for encrypted in [pkcs8, legacy] {
            assert!(
                refusal(&cert, &encrypted).starts_with("--ca-key: the key is encrypted;"),
                "{encrypted}"
            );
        }
        let broken = key.replacen("MI", "M!", 1);
        assert!(refusal(&cert, &broken).starts_with("--ca-key: not PEM ("));
        let (_, other_key) = own_ca();
        assert!(refusal(&cert, &other_key).starts_with("--ca-key is not the private key"));
    }
}
