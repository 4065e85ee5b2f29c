//! Trust in a dialled server comes from the CAs the folder's record pins
//! (`Folder::pinned_cas`), never from whatever `certs/ca.crt` holds now: a CA appended to
//! that file must not make a stranger's server one of ours. The verifier keeps the
//! certificate the server presented, so a refusal can say who answered.

use std::sync::{Arc, Mutex};

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};

use crate::pki::trust::{self, TrustError, Usage};

/// webpki's server verification against the pinned CAs, remembering the end-entity
/// certificate it was shown.
#[derive(Debug)]
pub(crate) struct PinnedVerifier {
    inner: Arc<WebPkiServerVerifier>,
    pinned: Vec<Vec<u8>>,
    served: Mutex<Option<Vec<u8>>>,
}

/// Why no verifier could be built from the pins.
#[derive(Debug)]
pub(crate) enum PinError {
    /// `certs/ca.crt` holds none of the CAs the record pins.
    NoPinnedCa,
    /// A pinned CA is not usable as a trust anchor.
    BadCa(String),
}

impl std::fmt::Display for PinError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PinError::NoPinnedCa => write!(
                f,
                "{} holds no CA whose fingerprint the record ({}) pins",
                crate::config::layout::CA_CERT,
                crate::config::layout::RECORD
            ),
            PinError::BadCa(e) => write!(f, "a pinned CA cannot be trusted: {e}"),
        }
    }
}

impl PinnedVerifier {
    pub(crate) fn new(pinned: Vec<Vec<u8>>) -> Result<Arc<PinnedVerifier>, PinError> {
        if pinned.is_empty() {
            return Err(PinError::NoPinnedCa);
        }
        let mut roots = RootCertStore::empty();
        for der in &pinned {
            roots
                .add(CertificateDer::from(der.clone()))
                .map_err(|e| PinError::BadCa(e.to_string()))?;
        }
        let inner = WebPkiServerVerifier::builder(Arc::new(roots))
            .build()
            .map_err(|e| PinError::BadCa(e.to_string()))?;
        Ok(Arc::new(PinnedVerifier {
            inner,
            pinned,
            served: Mutex::new(None),
        }))
    }

    /// The certificate the server presented, once the handshake got that far.
    pub(crate) fn served(&self) -> Option<Vec<u8>> {
        self.served.lock().ok()?.clone()
    }

    /// After a failed handshake: the server that answered, when its certificate is not
    /// one of this folder's CAs at all (whatever its dates or names). A certificate of a
    /// pinned CA that fails for another reason (expired, other names, wrong usage) is
    /// ours, and its failure is named as such.
    pub(crate) fn stranger(&self, addr: &str) -> Option<Stranger> {
        let served = self.served()?;
        let info = crate::certificate::from_der("served certificate", &served).ok();
        // Checked as of its own start, so that only the issuer decides.
        let at = info
            .as_ref()
            .map(|i| crate::pki::issue::unix_time(i.not_before + time::Duration::seconds(1)))
            .unwrap_or_else(UnixTime::now);
        match trust::chains_to_any(&self.pinned, &served, Usage::Server, at) {
            Ok(()) | Err(TrustError::WrongUsage(_)) => None,
            Err(_) => Some(Stranger {
                addr: addr.to_owned(),
                subject: info.as_ref().map(|i| shown(&i.subject)),
                issuer: info.as_ref().map(|i| shown(&i.issuer)),
            }),
        }
    }
}

impl ServerCertVerifier for PinnedVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if let Ok(mut slot) = self.served.lock() {
            *slot = Some(end_entity.to_vec());
        }
        self.inner
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// A server on a port of this folder whose certificate no pinned CA issued: another
/// setup's server, or an impostor. Nothing but a TLS hello was sent to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Stranger {
    pub(crate) addr: String,
    /// The served certificate's subject and issuer (control characters escaped), when it
    /// parses.
    pub(crate) subject: Option<String>,
    pub(crate) issuer: Option<String>,
}

impl std::fmt::Display for Stranger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let unknown = "(unreadable)";
        write!(
            f,
            "another server on this port: {} serves a certificate of subject {} issued by {}, \
             which no CA pinned in {} issued",
            self.addr,
            self.subject.as_deref().unwrap_or(unknown),
            self.issuer.as_deref().unwrap_or(unknown),
            crate::config::layout::RECORD
        )
    }
}

impl std::error::Error for Stranger {}

/// A name from a stranger's certificate, printable: control characters escaped, so it
/// cannot rewrite the terminal or forge a line of the report.
fn shown(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            let escaped: Vec<char> = if c.is_control() {
                c.escape_default().collect()
            } else {
                vec![c]
            };
            escaped
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_from_a_stranger_cannot_forge_lines() {
        assert_eq!(shown("CN=x\u{1b}[2J\nok"), "CN=x\\u{1b}[2J\\nok");
        assert_eq!(shown("CN=redis, O=KIMERA"), "CN=redis, O=KIMERA");
    }

    #[test]
    fn no_pinned_ca_is_no_trust_at_all() {
        assert!(matches!(
            PinnedVerifier::new(Vec::new()),
            Err(PinError::NoPinnedCa)
        ));
    }
}
