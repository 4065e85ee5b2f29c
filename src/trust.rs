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
    chains_to_any(&[ca.to_vec()], leaf, usage, now)
}

/// The same against a trust bundle (certs/ca.crt during a CA rollover holds two CAs):
/// whether `leaf` chains to any of them.
pub fn chains_to_any(
    cas: &[Vec<u8>],
    leaf: &[u8],
    usage: Usage,
    now: UnixTime,
) -> Result<(), String> {
    let cas: Vec<CertificateDer> = cas
        .iter()
        .map(|c| CertificateDer::from(c.as_slice()))
        .collect();
    let anchors = cas
        .iter()
        .map(|c| webpki::anchor_from_trusted_cert(c).map_err(|e| format!("{e:?}")))
        .collect::<Result<Vec<_>, _>>()?;
    let leaf = CertificateDer::from(leaf);
    let ee = EndEntityCert::try_from(&leaf).map_err(|e| format!("{e:?}"))?;
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
