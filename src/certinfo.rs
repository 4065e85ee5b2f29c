//! Reading certificates back: what the manifest shows and what re-runs check.

use serde::Serialize;
use time::OffsetDateTime;
use x509_parser::prelude::{FromDer, GeneralName, X509Certificate};

use crate::error::{Error, Result};

/// What a user wants to know about a certificate, without the key.
#[derive(Debug, Clone, Serialize)]
pub struct CertInfo {
    pub subject: String,
    pub issuer: String,
    pub sans: Vec<String>,
    pub serial: String,
    #[serde(with = "time::serde::rfc3339")]
    pub not_before: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub not_after: OffsetDateTime,
    /// SHA-256 of the DER, uppercase hex with colons: the form `openssl x509 -fingerprint -sha256` prints.
    pub sha256_fingerprint: String,
    /// "ECDSA P-256", "RSA 4096", "Ed25519".
    pub key: String,
    pub is_ca: bool,
    pub key_usage: Vec<String>,
    pub extended_key_usage: Vec<String>,
    #[serde(skip)]
    pub public_key: Vec<u8>,
}

/// Parse a PEM certificate (the first one in the text).
pub fn from_pem(label: &str, pem_text: &str) -> Result<(Vec<u8>, CertInfo)> {
    use rustls_pki_types::pem::PemObject;
    let der = rustls_pki_types::CertificateDer::from_pem_slice(pem_text.as_bytes())
        .map_err(|e| Error::failed(format!("{label}: not a PEM certificate: {e}")))?;
    let info = from_der(label, &der)?;
    Ok((der.to_vec(), info))
}

/// Every certificate of a PEM text, in order, as DER (a trust bundle).
pub fn all_from_pem(label: &str, pem_text: &str) -> Result<Vec<Vec<u8>>> {
    use rustls_pki_types::pem::PemObject;
    let all = rustls_pki_types::CertificateDer::pem_slice_iter(pem_text.as_bytes())
        .map(|c| c.map(|c| c.to_vec()))
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| Error::failed(format!("{label}: not PEM certificates: {e}")))?;
    if all.is_empty() {
        return Err(Error::failed(format!("{label}: holds no certificate")));
    }
    Ok(all)
}

pub fn from_der(label: &str, der: &[u8]) -> Result<CertInfo> {
    let (_, cert) = X509Certificate::from_der(der)
        .map_err(|e| Error::failed(format!("{label}: not an X.509 certificate: {e}")))?;
    let sans = cert
        .subject_alternative_name()
        .ok()
        .flatten()
        .map(|ext| {
            ext.value
                .general_names
                .iter()
                .filter_map(general_name)
                .collect()
        })
        .unwrap_or_default();
    let time = |t: x509_parser::time::ASN1Time| {
        OffsetDateTime::from_unix_timestamp(t.timestamp())
            .map_err(|e| Error::failed(format!("{label}: bad validity time: {e}")))
    };
    Ok(CertInfo {
        subject: cert.subject().to_string(),
        issuer: cert.issuer().to_string(),
        sans,
        serial: cert.raw_serial_as_string(),
        not_before: time(cert.validity().not_before)?,
        not_after: time(cert.validity().not_after)?,
        sha256_fingerprint: fingerprint(der),
        key: key_description(&cert),
        is_ca: cert.is_ca(),
        key_usage: cert
            .key_usage()
            .ok()
            .flatten()
            .map(|ku| {
                ku.value
                    .to_string()
                    .split(", ")
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default(),
        extended_key_usage: cert
            .extended_key_usage()
            .ok()
            .flatten()
            .map(|e| {
                let e = e.value;
                [
                    (e.server_auth, "serverAuth"),
                    (e.client_auth, "clientAuth"),
                    (e.any, "any"),
                ]
                .into_iter()
                .filter(|(on, _)| *on)
                .map(|(_, name)| name.to_owned())
                .collect()
            })
            .unwrap_or_default(),
        public_key: cert.public_key().subject_public_key.data.to_vec(),
    })
}

/// The key's algorithm and size, the way people name them.
fn key_description(cert: &X509Certificate<'_>) -> String {
    let spki = cert.public_key();
    let alg = spki.algorithm.algorithm.to_id_string();
    let param = spki
        .algorithm
        .parameters
        .as_ref()
        .and_then(|p| p.as_oid().ok())
        .map(|o| o.to_id_string())
        .unwrap_or_default();
    match (alg.as_str(), param.as_str()) {
        ("1.2.840.10045.2.1", "1.2.840.10045.3.1.7") => "ECDSA P-256".into(),
        ("1.2.840.10045.2.1", "1.3.132.0.34") => "ECDSA P-384".into(),
        ("1.2.840.10045.2.1", "1.3.132.0.35") => "ECDSA P-521".into(),
        ("1.3.101.112", _) => "Ed25519".into(),
        ("1.2.840.113549.1.1.1", _) => match spki.parsed() {
            Ok(x509_parser::public_key::PublicKey::RSA(rsa)) => format!("RSA {}", rsa.key_size()),
            _ => "RSA".into(),
        },
        _ => format!("unknown ({alg})"),
    }
}

fn general_name(name: &GeneralName<'_>) -> Option<String> {
    match name {
        GeneralName::DNSName(d) => Some(format!("DNS:{d}")),
        GeneralName::IPAddress(raw) => match raw.len() {
            4 => Some(format!(
                "IP:{}",
                std::net::Ipv4Addr::from(<[u8; 4]>::try_from(*raw).ok()?)
            )),
            16 => Some(format!(
                "IP:{}",
                std::net::Ipv6Addr::from(<[u8; 16]>::try_from(*raw).ok()?)
            )),
            _ => None,
        },
        _ => None,
    }
}

/// `2026-11-27 06:31:51 UTC`: how the text reports show a time.
pub fn show_time(t: OffsetDateTime) -> String {
    let f = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second] UTC");
    t.to_offset(time::UtcOffset::UTC)
        .format(&f)
        .unwrap_or_else(|_| t.to_string())
}

pub use crate::digest::fingerprint;
