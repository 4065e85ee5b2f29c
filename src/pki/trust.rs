//! Chain, usage and name checks with webpki, the strict validator rustls uses.

use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use webpki::{EndEntityCert, KeyUsage};

/// What a leaf must be good for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Usage {
    Server,
    Client,
}

impl Usage {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Usage::Server => "serverAuth",
            Usage::Client => "clientAuth",
        }
    }
}

/// Why a certificate does not verify, in the words users see (webpki's own error
/// names, such as `UnknownIssuer`, are not shown to users).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrustError {
    /// Signed by another CA, or self-signed.
    UnknownIssuer,
    /// Past its notAfter (a Unix time).
    Expired { not_after: u64 },
    /// Before its notBefore (a Unix time).
    NotValidYet { not_before: u64 },
    /// Its extended key usage does not allow this use.
    WrongUsage(Usage),
    /// It names neither the host nor its address.
    NotValidForName,
    /// What was asked for is not a DNS name or IP address.
    InvalidName,
    /// It names a host outside the CA's name constraints.
    NameConstraint,
    /// Its signature does not verify with the CA's key.
    BadSignature,
    /// Signed or keyed with an algorithm the strict validators do not take.
    UnsupportedAlgorithm,
    /// The CA certificate cannot be a trust anchor.
    BadCa,
    /// A CA certificate where a leaf belongs.
    CaAsLeaf,
    /// Not a certificate the validator can read.
    Malformed,
    /// Any other refusal, as webpki names it.
    Other(String),
}

impl std::fmt::Display for TrustError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let time = |secs: u64| {
            i64::try_from(secs)
                .ok()
                .and_then(|s| time::OffsetDateTime::from_unix_timestamp(s).ok())
        };
        match self {
            TrustError::UnknownIssuer => {
                f.write_str("not issued by this CA: signed by another CA, or self-signed")
            }
            TrustError::Expired { not_after } => match time(*not_after) {
                Some(t) => f.write_str(&crate::certificate::expired_on(t)),
                None => f.write_str("expired"),
            },
            TrustError::NotValidYet { not_before } => match time(*not_before) {
                Some(t) => f.write_str(&crate::certificate::not_valid_before(t)),
                None => f.write_str("not valid yet"),
            },
            TrustError::WrongUsage(usage) => {
                write!(f, "its extended key usage does not allow {}", usage.name())
            }
            TrustError::NotValidForName => f.write_str("it does not name that host or address"),
            TrustError::InvalidName => f.write_str("not a host name or IP address"),
            TrustError::NameConstraint => {
                f.write_str("it names a host outside the CA's name constraints")
            }
            TrustError::BadSignature => {
                f.write_str("its signature does not verify with the CA's key")
            }
            TrustError::UnsupportedAlgorithm => {
                f.write_str("its key or signature algorithm is not one strict validators accept")
            }
            TrustError::BadCa => f.write_str("the CA certificate cannot be a trust anchor"),
            TrustError::CaAsLeaf => f.write_str("it is a CA certificate, not a leaf"),
            TrustError::Malformed => {
                f.write_str("it is not a certificate strict validators can read")
            }
            TrustError::Other(name) => write!(f, "refused by webpki ({name})"),
        }
    }
}

impl std::error::Error for TrustError {}

impl TrustError {
    fn from_webpki(e: webpki::Error, usage: Option<Usage>) -> TrustError {
        use webpki::Error as W;
        match e {
            W::UnknownIssuer => TrustError::UnknownIssuer,
            W::CertExpired { not_after, .. } => TrustError::Expired {
                not_after: not_after.as_secs(),
            },
            W::CertNotValidYet { not_before, .. } => TrustError::NotValidYet {
                not_before: not_before.as_secs(),
            },
            W::RequiredEkuNotFoundContext(_) | W::EmptyEkuExtension => match usage {
                Some(u) => TrustError::WrongUsage(u),
                None => TrustError::Other(format!("{e:?}")),
            },
            W::CertNotValidForName(_) => TrustError::NotValidForName,
            W::NameConstraintViolation => TrustError::NameConstraint,
            W::InvalidSignatureForPublicKey | W::SignatureAlgorithmMismatch => {
                TrustError::BadSignature
            }
            W::UnsupportedSignatureAlgorithmContext(_)
            | W::UnsupportedSignatureAlgorithmForPublicKeyContext(_) => {
                TrustError::UnsupportedAlgorithm
            }
            W::CaUsedAsEndEntity => TrustError::CaAsLeaf,
            W::BadDer
            | W::BadDerTime
            | W::TrailingData(_)
            | W::MalformedExtensions
            | W::ExtensionValueInvalid
            | W::InvalidCertValidity
            | W::InvalidSerialNumber
            | W::UnsupportedCertVersion
            | W::UnsupportedCriticalExtension => TrustError::Malformed,
            other => TrustError::Other(format!("{other:?}")),
        }
    }
}

/// Whether `leaf` chains to `ca` for `usage` at `now`; why not otherwise.
pub fn chains(ca: &[u8], leaf: &[u8], usage: Usage, now: UnixTime) -> Result<(), TrustError> {
    chains_to_any(&[ca.to_vec()], leaf, usage, now)
}

/// The same against a trust bundle (certs/ca.crt during a CA rollover holds two CAs):
/// whether `leaf` chains to any of them.
pub(crate) fn chains_to_any(
    cas: &[Vec<u8>],
    leaf: &[u8],
    usage: Usage,
    now: UnixTime,
) -> Result<(), TrustError> {
    let cas: Vec<CertificateDer> = cas
        .iter()
        .map(|c| CertificateDer::from(c.as_slice()))
        .collect();
    let anchors = cas
        .iter()
        .map(|c| webpki::anchor_from_trusted_cert(c).map_err(|_| TrustError::BadCa))
        .collect::<Result<Vec<_>, _>>()?;
    let leaf = CertificateDer::from(leaf);
    let ee = EndEntityCert::try_from(&leaf).map_err(|e| TrustError::from_webpki(e, Some(usage)))?;
    let eku = match usage {
        Usage::Server => KeyUsage::server_auth(),
        Usage::Client => KeyUsage::client_auth(),
    };
    ee.verify_for_usage(
        webpki::ALL_VERIFICATION_ALGS,
        &anchors,
        &[],
        now,
        eku,
        None,
        None,
    )
    .map(drop)
    .map_err(|e| TrustError::from_webpki(e, Some(usage)))
}

/// Whether `leaf` carries a SAN for `host` (a DNS name or an IP address).
pub fn covers(leaf: &[u8], host: &str) -> Result<(), TrustError> {
    let leaf = CertificateDer::from(leaf);
    let ee = EndEntityCert::try_from(&leaf).map_err(|e| TrustError::from_webpki(e, None))?;
    let name = ServerName::try_from(host).map_err(|_| TrustError::InvalidName)?;
    ee.verify_is_valid_for_subject_name(&name)
        .map_err(|e| TrustError::from_webpki(e, None))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webpki_refusals_map_to_what_users_read() {
        let at = |secs| UnixTime::since_unix_epoch(std::time::Duration::from_secs(secs));
        let cases = [
            (webpki::Error::UnknownIssuer, TrustError::UnknownIssuer),
            (
                webpki::Error::CertExpired {
                    time: at(1_800_000_000),
                    not_after: at(1_767_225_600),
                },
                TrustError::Expired {
                    not_after: 1_767_225_600,
                },
            ),
            (
                webpki::Error::NameConstraintViolation,
                TrustError::NameConstraint,
            ),
            (webpki::Error::BadDer, TrustError::Malformed),
            (webpki::Error::CaUsedAsEndEntity, TrustError::CaAsLeaf),
        ];
        for (from, want) in cases {
            assert_eq!(TrustError::from_webpki(from, Some(Usage::Server)), want);
        }
        assert_eq!(
            TrustError::Expired {
                not_after: 1_767_225_600
            }
            .to_string(),
            "expired on 2026-01-01"
        );
        assert_eq!(
            TrustError::WrongUsage(Usage::Client).to_string(),
            "its extended key usage does not allow clientAuth"
        );
    }
}
