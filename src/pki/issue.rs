//! Certificates: the CA (made or loaded), leaves issued under it, validity windows
//! (one clock for the whole run) and the extended key usages each role gets.

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SanType, SerialNumber,
};
use time::{Duration, OffsetDateTime};

use crate::certificate::{self, CertInfo};
use crate::config::layout;
use crate::config::node::SanName;
use crate::config::request::KeyType;
use crate::error::{Error, Result};
use crate::pki::keys::{check_pair, generate_key, key_pem, load_key, pki_error};
use crate::pki::trust;

/// How far `not_before` is set in the past, so that a peer whose clock is a little
/// behind does not see a certificate from the future.
pub(crate) const BACKDATE: Duration = Duration::hours(1);

pub(crate) const ORGANIZATION: &str = "KIMERA";

/// A certificate with its private key, both PEM, and what it says.
#[derive(Clone)]
pub(crate) struct CertKey {
    pub(crate) cert_pem: String,
    pub(crate) key_pem: String,
    pub(crate) info: CertInfo,
}

impl std::fmt::Debug for CertKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CertKey")
            .field("cert_pem", &self.cert_pem)
            .field("key_pem", &crate::redact::Redacted)
            .field("info", &self.info)
            .finish()
    }
}

/// A new root CA with a name of its own (a random suffix, so that two CAs of one folder,
/// as during a rollover, are never confused by subject).
pub(crate) fn new_ca(
    key_type: KeyType,
    ca_days: u32,
    now: OffsetDateTime,
) -> Result<(Issuer<'static, KeyPair>, CertKey)> {
    let key = generate_key(key_type)?;
    let mut params = CertificateParams::default();
    params.distinguished_name = name(&format!(
        "KIMERA Redis CA {}",
        &hex::encode_upper(random_bytes::<4>())
    ));
    params.serial_number = Some(random_serial());
    params.not_before = now - BACKDATE;
    params.not_after = now + Duration::days(ca_days.into());
    // pathlen 0: this CA signs leaves only, never another CA.
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let cert = params.self_signed(&key).map_err(pki_error)?;
    let info = certificate::from_der(layout::CA_CERT, cert.der())?;
    let ca = CertKey {
        cert_pem: cert.pem(),
        key_pem: key_pem(&key),
        info,
    };
    let issuer = Issuer::new(params, key);
    Ok((issuer, ca))
}

/// The CA whose certificate goes into certs/ca.crt must be a root (self-signed): Redis and
/// the app trust exactly that one certificate, and an intermediate alone does not verify
/// with OpenSSL (Redis, Python) without its root.
pub(crate) fn check_root(label: &str, info: &CertInfo) -> Result<()> {
    if info.subject != info.issuer {
        return Err(Error::usage(format!(
            "{label}: {} is an intermediate CA (issued by {}); allowed: a root CA certificate \
             (self-signed), since clients and servers trust only certs/ca.crt",
            info.subject, info.issuer
        )));
    }
    Ok(())
}

/// A CA to issue under, from its certificate and key: they must belong together, the
/// certificate must be a CA's, and it must not have expired.
pub(crate) fn load_issuer(
    cert_label: &str,
    cert_pem: &str,
    key_label: &str,
    key_pem: &str,
    now: OffsetDateTime,
) -> Result<(Issuer<'static, KeyPair>, CertKey)> {
    let key = load_key(key_label, key_pem)?;
    let (_, info) = certificate::from_pem(cert_label, cert_pem)?;
    check_pair(cert_label, key_label, &info, &key)?;
    if !info.is_ca || !info.key_usage.iter().any(|u| u == "Key Cert Sign") {
        return Err(Error::usage(format!(
            "{cert_label}: {} is not a CA certificate (it needs basicConstraints CA:TRUE and keyCertSign)",
            info.subject
        )));
    }
    if info.not_after <= now {
        return Err(Error::usage(format!(
            "the CA in {cert_label} expired on {}: no certificate can be issued under it; make a \
             new CA (move the certs folder away and generate again; clients must then trust the \
             new ca.crt) or, for an organisation's CA, get it renewed",
            info.not_after.date()
        )));
    }
    let issuer = Issuer::from_ca_cert_pem(cert_pem, key)
        .map_err(|e| Error::failed(format!("{cert_label}: cannot issue under this CA: {e}")))?;
    let ca = CertKey {
        cert_pem: cert_pem.to_owned(),
        key_pem: key_pem.to_owned(),
        info,
    };
    Ok((issuer, ca))
}

/// The moment a run's certificates count from: now, in whole seconds (what X.509 times
/// hold), so that every certificate of one run says the same time.
pub(crate) fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .expect("0 ns is valid")
}

/// A moment as webpki takes it (times before 1970 count as 1970).
pub(crate) fn unix_time(t: OffsetDateTime) -> rustls_pki_types::UnixTime {
    rustls_pki_types::UnixTime::since_unix_epoch(std::time::Duration::from_secs(
        t.unix_timestamp().max(0) as u64,
    ))
}

/// The extended usages of a server certificate. Cluster nodes dial each other on the bus
/// and for replication, presenting their server certificate as a client certificate:
/// those need clientAuth too.
pub(crate) fn server_usages(cluster: bool) -> Vec<ExtendedKeyUsagePurpose> {
    if cluster {
        vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ]
    } else {
        vec![ExtendedKeyUsagePurpose::ServerAuth]
    }
}

/// The usage webpki checks a certificate of this extended usage for.
pub(crate) fn trust_usage(usage: &ExtendedKeyUsagePurpose) -> trust::Usage {
    match usage {
        ExtendedKeyUsagePurpose::ServerAuth => trust::Usage::Server,
        _ => trust::Usage::Client,
    }
}

/// Leaves issued `now` for `days` may not outlive the CA that signs them (`ca_label`:
/// where that CA is, when the message should say).
pub(crate) fn check_within_ca(
    days: u32,
    now: OffsetDateTime,
    ca: &CertInfo,
    ca_label: Option<&str>,
) -> Result<()> {
    if now + Duration::days(days.into()) > ca.not_after {
        return Err(Error::usage(format!(
            "--days {days}: the certificates would outlive the CA{} (it expires {}); \
             allowed: a validity that ends before the CA's",
            ca_label.map(|l| format!(" in {l}")).unwrap_or_default(),
            ca.not_after.date()
        )));
    }
    Ok(())
}

/// `(not_before, not_after)` of a leaf issued `now` for `days`: an hour back, so that a
/// peer whose clock is a little behind does not see a certificate from the future.
pub(crate) fn validity(now: OffsetDateTime, days: u32) -> (OffsetDateTime, OffsetDateTime) {
    (now - BACKDATE, now + Duration::days(days.into()))
}

/// Sign a leaf certificate for `key`: random serial, the given validity, AKI/SKI,
/// digitalSignature (and keyEncipherment for RSA), the given SANs and extended usages.
pub(crate) fn issue_leaf(
    issuer: &Issuer<'static, KeyPair>,
    key: &KeyPair,
    subject: DistinguishedName,
    sans: &[SanName],
    usages: &[ExtendedKeyUsagePurpose],
    (not_before, not_after): (OffsetDateTime, OffsetDateTime),
    label: &str,
) -> Result<CertKey> {
    let mut params = CertificateParams::default();
    params.distinguished_name = subject;
    params.serial_number = Some(random_serial());
    params.not_before = not_before;
    params.not_after = not_after;
    params.is_ca = IsCa::ExplicitNoCa;
    params.use_authority_key_identifier_extension = true;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    if key.algorithm() == &rcgen::PKCS_RSA_SHA256 {
        // RSA keys may also be used for TLS 1.2 RSA key exchange, as mkcert allows.
        params.key_usages.push(KeyUsagePurpose::KeyEncipherment);
    }
    params.extended_key_usages = usages.to_vec();
    params.subject_alt_names = sans
        .iter()
        .map(|n| match n {
            SanName::Dns(d) => d
                .clone()
                .try_into()
                .map(SanType::DnsName)
                .map_err(pki_error),
            SanName::Ip(ip) => Ok(SanType::IpAddress(*ip)),
        })
        .collect::<Result<_>>()?;
    let cert = params.signed_by(key, issuer).map_err(pki_error)?;
    let info = certificate::from_der(label, cert.der())?;
    Ok(CertKey {
        cert_pem: cert.pem(),
        key_pem: key_pem(key),
        info,
    })
}

pub(crate) fn name(common_name: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, ORGANIZATION);
    dn.push(DnType::CommonName, common_name);
    dn
}

/// 128 random bits, positive and of fixed length (RFC 5280 allows up to 20 octets).
pub(crate) fn random_serial() -> SerialNumber {
    let mut bytes = random_bytes::<16>();
    bytes[0] = (bytes[0] & 0x7f) | 0x40;
    SerialNumber::from_slice(&bytes)
}

pub(crate) fn random_bytes<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    aws_lc_rs::rand::fill(&mut out).expect("the OS random source works");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_key_type_is_described_as_the_certificate_model_reads_it_back() {
        let now = now();
        for kt in KeyType::ALL {
            let (_, ca) = new_ca(kt, 1, now).unwrap();
            assert_eq!(ca.info.key, kt.description(), "{}", kt.name());
            assert_eq!(KeyType::from_description(&ca.info.key), Some(kt));
        }
        assert_eq!(KeyType::from_description("DSA 1024"), None);
    }
}
