//! Private keys: made (for each `--key-type`), read back, written as PEM, and matched
//! against a certificate's public key.

use rcgen::{KeyPair, RsaKeySize};

use crate::certificate::CertInfo;
use crate::config::layout;
use crate::config::request::KeyType;
use crate::error::{Error, Result};

/// An Ed25519 key as PKCS#8 v1 (RFC 5208, without the public key): aws-lc's default v2
/// is a format OpenSSL 3.0, and so Redis on Debian 12, cannot load.
pub(crate) fn ed25519_v1() -> std::result::Result<KeyPair, rcgen::Error> {
    use aws_lc_rs::signature::Ed25519KeyPair;
    let pkcs8 = Ed25519KeyPair::generate_pkcs8v1(&aws_lc_rs::rand::SystemRandom::new())
        .map_err(|_| rcgen::Error::RingUnspecified)?;
    KeyPair::from_pkcs8_der_and_sign_algo(
        &rustls_pki_types::PrivatePkcs8KeyDer::from(pkcs8.as_ref()),
        &rcgen::PKCS_ED25519,
    )
}

pub(crate) fn generate_key(key_type: KeyType) -> Result<KeyPair> {
    let rsa = |size| KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, size);
    match key_type {
        KeyType::EcdsaP256 => KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256),
        KeyType::EcdsaP384 => KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384),
        KeyType::Ed25519 => ed25519_v1(),
        KeyType::Rsa2048 => rsa(RsaKeySize::_2048),
        KeyType::Rsa3072 => rsa(RsaKeySize::_3072),
        KeyType::Rsa4096 => rsa(RsaKeySize::_4096),
    }
    .map_err(pki_error)
}

/// The key as PKCS#8 PEM (Ed25519 keys are made as v1, see [`generate_key`]).
pub(crate) fn key_pem(key: &KeyPair) -> String {
    key.serialize_pem()
}

pub(crate) fn load_key(path: &str, pem: &str) -> Result<KeyPair> {
    KeyPair::from_pem(pem)
        .map_err(|e| Error::failed(format!("{path}: not a usable private key: {e}")))
}

/// Whether `key` is the private key of a certificate whose subject public key (the BIT
/// STRING's contents, as `CertInfo::public_key` holds it) is `public_key`.
pub(crate) fn key_matches(key: &KeyPair, public_key: &[u8]) -> bool {
    use rcgen::PublicKeyData;
    key.der_bytes() == public_key
}

pub(crate) fn check_pair(
    cert_path: &str,
    key_path: &str,
    info: &CertInfo,
    key: &KeyPair,
) -> Result<()> {
    let matches = key_matches(key, &info.public_key);
    if !matches && cert_path == layout::CA_CERT {
        // --force keeps the CA, so it cannot help here.
        return Err(Error::usage(format!(
            "{key_path} is not the key of {cert_path}; allowed: the matching key restored, or \
             a new CA with --force --replace-ca (every client must then trust the new {cert_path})"
        )));
    }
    if !matches {
        return Err(Error::failed(format!(
            "{key_path} is not the key of {cert_path}; restore the matching key, or run with \
             --force to issue a new pair (the CA is never replaced)"
        )));
    }
    Ok(())
}

pub(crate) fn pki_error(e: rcgen::Error) -> Error {
    Error::failed(format!("certificate generation failed: {e}"))
}

#[cfg(test)]
mod ed25519_tests {
    use super::*;

    /// PKCS#8 v1 (RFC 5208): version 0 and no public key, 48 bytes; v2 would be version 1
    /// with the public key appended, which OpenSSL 3.0 cannot load.
    #[test]
    fn ed25519_keys_are_pkcs8_v1_and_load_again() {
        let key = generate_key(KeyType::Ed25519).unwrap();
        let der = key.serialized_der();
        assert_eq!(der.len(), 48, "{der:02x?}");
        assert_eq!(
            der[..16],
            [
                0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22,
                0x04, 0x20
            ]
        );
        let pem = key_pem(&key);
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"), "{pem}");
        assert!(!pem.contains('\r'));
        let again = load_key("k", &pem).unwrap();
        assert_eq!(again.public_key_raw(), key.public_key_raw());
        assert_eq!(again.algorithm(), &rcgen::PKCS_ED25519);
    }
}
