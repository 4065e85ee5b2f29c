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
    pub fn name(self) -> &'static str {
        match self {
            Usage::Server => "serverAuth",
            Usage::Client => "clientAuth",
        }
    }
}

/// Whether `leaf` chains to `ca` for `usage` at `now`; the webpki error otherwise.
pub fn chains(ca: &[u8], leaf: &[u8], usage: Usage, now: UnixTime) -> Result<(), String> {
    let ca = CertificateDer::from(ca);
    let anchor = webpki::anchor_from_trusted_cert(&ca).map_err(|e| format!("{e:?}"))?;
    let leaf = CertificateDer::from(leaf);
    let ee = EndEntityCert::try_from(&leaf).map_err(|e| format!("{e:?}"))?;
    let eku = match usage {
        Usage::Server => KeyUsage::server_auth(),
        Usage::Client => KeyUsage::client_auth(),
    };
    ee.verify_for_usage(
        webpki::ALL_VERIFICATION_ALGS,
        &[anchor],
        &[],
        now,
        eku,
        None,
        None,
    )
    .map(drop)
    .map_err(|e| format!("{e:?}"))
}

/// Whether `leaf` carries a SAN for `host` (a DNS name or an IP address).
pub fn covers(leaf: &[u8], host: &str) -> Result<(), String> {
    let leaf = CertificateDer::from(leaf);
    let ee = EndEntityCert::try_from(&leaf).map_err(|e| format!("{e:?}"))?;
    let name = ServerName::try_from(host).map_err(|e| format!("{e}"))?;
    ee.verify_is_valid_for_subject_name(&name)
        .map_err(|e| format!("{e:?}"))
}
