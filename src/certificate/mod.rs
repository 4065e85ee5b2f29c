//! The certificate model: a certificate as this tool reads it (names, key, usages,
//! validity, fingerprint), parsed from PEM or DER. pki describes what it issues with it,
//! render and the manifest show it, readback and the commands read folders with it.
//! How its times read is in `display`; why a file is no certificate, in `problem`.

mod display;
mod problem;

pub(crate) use display::{days_left, expired_on, expires_in, not_valid_before, show_time};
pub(crate) use problem::{CertError, CertProblem};

use rcgen::ExtendedKeyUsagePurpose;
use serde::Serialize;
use time::OffsetDateTime;
use x509_parser::prelude::{FromDer, GeneralName, X509Certificate};

use crate::config::node::SanName;
use crate::error::{Error, Result};

/// The certificate in `der`, parsed; a typed refusal otherwise.
pub(crate) fn parse_x509<'a>(
    label: &str,
    der: &'a [u8],
) -> std::result::Result<X509Certificate<'a>, CertError> {
    X509Certificate::from_der(der)
        .map(|(_, cert)| cert)
        .map_err(|_| CertError::new(label, CertProblem::NotX509))
}

/// What a user wants to know about a certificate, without the key.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct CertInfo {
    pub(crate) subject: String,
    pub(crate) issuer: String,
    /// Shown and serialized as `DNS:name` and `IP:address`, as openssl prints them.
    #[serde(serialize_with = "tagged_names")]
    pub(crate) sans: Vec<SanName>,
    pub(crate) serial: String,
    #[serde(with = "time::serde::rfc3339")]
    pub(crate) not_before: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub(crate) not_after: OffsetDateTime,
    /// SHA-256 of the DER, uppercase hex with colons: the form `openssl x509 -fingerprint -sha256` prints.
    pub(crate) sha256_fingerprint: String,
    /// "ECDSA P-256", "RSA 4096", "Ed25519".
    pub(crate) key: String,
    pub(crate) is_ca: bool,
    /// As x509-parser names them ("Digital Signature", "Key Cert Sign").
    pub(crate) key_usage: Vec<String>,
    /// The extended key usages this tool issues or checks; others are not listed.
    pub(crate) extended_key_usage: Vec<Purpose>,
    #[serde(skip)]
    pub(crate) public_key: Vec<u8>,
}

impl CertInfo {
    /// What is shown for a certificate that does not parse: nothing, dated 1970.
    pub(crate) fn unreadable() -> CertInfo {
        CertInfo {
            subject: String::new(),
            issuer: String::new(),
            sans: Vec::new(),
            serial: String::new(),
            not_before: OffsetDateTime::UNIX_EPOCH,
            not_after: OffsetDateTime::UNIX_EPOCH,
            sha256_fingerprint: String::new(),
            key: String::new(),
            is_ca: false,
            key_usage: Vec::new(),
            extended_key_usage: Vec::new(),
            public_key: Vec::new(),
        }
    }
}

/// An extended key usage this tool issues or checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub(crate) enum Purpose {
    #[serde(rename = "serverAuth")]
    ServerAuth,
    #[serde(rename = "clientAuth")]
    ClientAuth,
    /// anyExtendedKeyUsage: any purpose, these two included.
    #[serde(rename = "any")]
    Any,
}

impl Purpose {
    /// The name openssl and RFC 5280 use.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Purpose::ServerAuth => "serverAuth",
            Purpose::ClientAuth => "clientAuth",
            Purpose::Any => "any",
        }
    }

    /// Whether a certificate with this usage may be used for `wanted`.
    pub(crate) fn allows(self, wanted: Purpose) -> bool {
        self == wanted || self == Purpose::Any
    }

    /// The usage as rcgen issues it.
    pub(crate) fn issued(self) -> ExtendedKeyUsagePurpose {
        match self {
            Purpose::ServerAuth => ExtendedKeyUsagePurpose::ServerAuth,
            Purpose::ClientAuth => ExtendedKeyUsagePurpose::ClientAuth,
            Purpose::Any => ExtendedKeyUsagePurpose::Any,
        }
    }

    /// The usage rcgen is asked to issue, when it is one of these.
    pub(crate) fn of_issued(usage: &ExtendedKeyUsagePurpose) -> Option<Purpose> {
        match usage {
            ExtendedKeyUsagePurpose::ServerAuth => Some(Purpose::ServerAuth),
            ExtendedKeyUsagePurpose::ClientAuth => Some(Purpose::ClientAuth),
            ExtendedKeyUsagePurpose::Any => Some(Purpose::Any),
            _ => None,
        }
    }
}

impl std::fmt::Display for Purpose {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A subjectAltName as openssl prints it: `DNS:name`, `IP:address`.
pub(crate) fn tagged(name: &SanName) -> String {
    match name {
        SanName::Dns(d) => format!("DNS:{d}"),
        SanName::Ip(ip) => format!("IP:{ip}"),
    }
}

fn tagged_names<S: serde::Serializer>(
    names: &[SanName],
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    s.collect_seq(names.iter().map(tagged))
}

/// Parse a PEM certificate (the first one in the text).
pub(crate) fn from_pem(label: &str, pem_text: &str) -> Result<(Vec<u8>, CertInfo)> {
    use rustls_pki_types::pem::PemObject;
    let der = rustls_pki_types::CertificateDer::from_pem_slice(pem_text.as_bytes())
        .map_err(|e| CertError::pem(label, e))?;
    let info = from_der(label, &der)?;
    Ok((der.to_vec(), info))
}

/// Every certificate of a PEM text, in order, as DER (a trust bundle).
pub(crate) fn all_from_pem(label: &str, pem_text: &str) -> Result<Vec<Vec<u8>>> {
    use rustls_pki_types::pem::PemObject;
    let all = rustls_pki_types::CertificateDer::pem_slice_iter(pem_text.as_bytes())
        .map(|c| c.map(|c| c.to_vec()))
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| CertError::pem(label, e))?;
    if all.is_empty() {
        return Err(CertError::new(label, CertProblem::NoCertificate).into());
    }
    Ok(all)
}

pub(crate) fn from_der(label: &str, der: &[u8]) -> Result<CertInfo> {
    let cert = parse_x509(label, der)?;
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
            .map_err(|_| Error::from(CertError::new(label, CertProblem::BadTime)))
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
                    (e.server_auth, Purpose::ServerAuth),
                    (e.client_auth, Purpose::ClientAuth),
                    (e.any, Purpose::Any),
                ]
                .into_iter()
                .filter_map(|(on, purpose)| on.then_some(purpose))
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

fn general_name(name: &GeneralName<'_>) -> Option<SanName> {
    match name {
        GeneralName::DNSName(d) => Some(SanName::Dns((*d).to_owned())),
        GeneralName::IPAddress(raw) => match raw.len() {
            4 => Some(SanName::Ip(
                std::net::Ipv4Addr::from(<[u8; 4]>::try_from(*raw).ok()?).into(),
            )),
            16 => Some(SanName::Ip(
                std::net::Ipv6Addr::from(<[u8; 16]>::try_from(*raw).ok()?).into(),
            )),
            _ => None,
        },
        _ => None,
    }
}

pub(crate) use crate::digest::fingerprint;

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(text: &str) -> String {
        from_pem("x.crt", text).unwrap_err().to_string()
    }

    #[test]
    fn refusals_are_in_words_not_parser_names() {
        let cases = [
            (
                "-----BEGIN CERTIFICATE-----\nAAAA\n",
                "x.crt: not a PEM certificate: a -----BEGIN line without its -----END line",
            ),
            (
                "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n",
                "x.crt: not a PEM certificate: the text between -----BEGIN and -----END is not base64",
            ),
            (
                "hello\n",
                "x.crt: holds no certificate (no -----BEGIN CERTIFICATE----- block)",
            ),
            (
                "-----BEGIN CERTIFICATE-----\nMIIBzz\n-----END CERTIFICATE-----\n",
                "x.crt: not an X.509 certificate: what is inside the PEM block is truncated or another kind of object",
            ),
            (
                "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
                "x.crt: not an X.509 certificate: what is inside the PEM block is truncated or another kind of object",
            ),
        ];
        for (text, want) in cases {
            assert_eq!(problem(text), want, "{text}");
        }
        assert_eq!(
            all_from_pem("b.crt", "").unwrap_err().to_string(),
            "b.crt: holds no certificate (no -----BEGIN CERTIFICATE----- block)"
        );
    }
}
