//! PKCS#12 files (RFC 7292), written and read with what the crate already links: yasna
//! for DER (through rcgen) and aws-lc-rs for PBKDF2, AES-CBC, HMAC, SHA and randomness.
//!
//! What is written is what p12-keystore 0.4 wrote with its defaults, which are JDK 17's:
//! - PFX version 3 whose authSafe is a `data` ContentInfo holding two SafeContents:
//!   the certificate bags in an `encryptedData`, then the key bags in plain `data`;
//! - PBES2 (PBKDF2-HMAC-SHA-256, 32-byte salt, 10000 iterations; AES-256-CBC) for the
//!   certificate SafeContents and for each PKCS8ShroudedKeyBag;
//! - an HMAC-SHA-256 MAC keyed with the PKCS#12 KDF (appendix B.2, 10000 iterations).
//!
//! The reader takes what the writer writes and the usual variants of Java and OpenSSL 3:
//! a SHA-1/SHA-256/384/512 MAC, PBES2 with PBKDF2-HMAC-SHA-1/256/384/512 and AES-CBC of
//! any key size, certificate SafeContents plain or encrypted, shrouded or plain key bags.
//! Anything else (legacy PBES1 RC2/3DES among it) is not read. The MAC is checked first,
//! so a wrong password or a changed byte yields nothing.

use aws_lc_rs::cipher::{
    AES_128, AES_192, AES_256, DecryptionContext, EncryptionContext, PaddedBlockDecryptingKey,
    PaddedBlockEncryptingKey, UnboundCipherKey,
};
use aws_lc_rs::error::Unspecified;
use aws_lc_rs::{digest, hmac, pbkdf2};
use yasna::models::ObjectIdentifier;
use yasna::{ASN1Error, ASN1ErrorKind, ASN1Result, BERReader, DERWriter, Tag};

/// Iterations of PBKDF2 and of the MAC's KDF: JDK 17's defaults, and p12-keystore's.
const ITERATIONS: u32 = 10_000;
/// What the reader accepts at most, so that a crafted file cannot keep it busy for long.
const MAX_ITERATIONS: u32 = 1_000_000;

mod oid {
    pub const DATA: &[u64] = &[1, 2, 840, 113549, 1, 7, 1];
    pub const ENCRYPTED_DATA: &[u64] = &[1, 2, 840, 113549, 1, 7, 6];
    pub const PBES2: &[u64] = &[1, 2, 840, 113549, 1, 5, 13];
    pub const PBKDF2: &[u64] = &[1, 2, 840, 113549, 1, 5, 12];
    pub const HMAC_SHA1: &[u64] = &[1, 2, 840, 113549, 2, 7];
    pub const HMAC_SHA256: &[u64] = &[1, 2, 840, 113549, 2, 9];
    pub const HMAC_SHA384: &[u64] = &[1, 2, 840, 113549, 2, 10];
    pub const HMAC_SHA512: &[u64] = &[1, 2, 840, 113549, 2, 11];
    pub const AES128_CBC: &[u64] = &[2, 16, 840, 1, 101, 3, 4, 1, 2];
    pub const AES192_CBC: &[u64] = &[2, 16, 840, 1, 101, 3, 4, 1, 22];
    pub const AES256_CBC: &[u64] = &[2, 16, 840, 1, 101, 3, 4, 1, 42];
    pub const SHA1: &[u64] = &[1, 3, 14, 3, 2, 26];
    pub const SHA256: &[u64] = &[2, 16, 840, 1, 101, 3, 4, 2, 1];
    pub const SHA384: &[u64] = &[2, 16, 840, 1, 101, 3, 4, 2, 2];
    pub const SHA512: &[u64] = &[2, 16, 840, 1, 101, 3, 4, 2, 3];
    pub const KEY_BAG: &[u64] = &[1, 2, 840, 113549, 1, 12, 10, 1, 1];
    pub const SHROUDED_KEY_BAG: &[u64] = &[1, 2, 840, 113549, 1, 12, 10, 1, 2];
    pub const CERT_BAG: &[u64] = &[1, 2, 840, 113549, 1, 12, 10, 1, 3];
    pub const X509_CERTIFICATE: &[u64] = &[1, 2, 840, 113549, 1, 9, 22, 1];
    pub const FRIENDLY_NAME: &[u64] = &[1, 2, 840, 113549, 1, 9, 20];
    pub const LOCAL_KEY_ID: &[u64] = &[1, 2, 840, 113549, 1, 9, 21];
    /// Oracle's "trusted key usage" bag attribute: Java lists a certificate bag that has
    /// it as a trustedCertEntry, and ignores one that has not.
    pub const JAVA_TRUSTED_USAGE: &[u64] = &[2, 16, 840, 1, 113894, 746875, 1, 1];
    pub const ANY_EXTENDED_KEY_USAGE: &[u64] = &[2, 5, 29, 37, 0];
}

/// A certificate to store.
pub(crate) struct CertIn<'a> {
    pub der: &'a [u8],
    pub friendly_name: Option<&'a str>,
    pub local_key_id: Option<&'a [u8]>,
    /// Marked with Java's trusted-usage attribute (anyExtendedKeyUsage).
    pub trusted: bool,
}

/// A private key to store, encrypted, as a PKCS8ShroudedKeyBag.
pub(crate) struct KeyIn<'a> {
    pub pkcs8: &'a [u8],
    pub friendly_name: &'a str,
    pub local_key_id: &'a [u8],
}

/// A certificate bag as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Cert {
    pub der: Vec<u8>,
    pub friendly_name: Option<String>,
    pub local_key_id: Option<Vec<u8>>,
    pub trusted: bool,
}

/// A key bag as read, decrypted: the PKCS#8 DER of the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Key {
    pub pkcs8: Vec<u8>,
    pub friendly_name: Option<String>,
    pub local_key_id: Option<Vec<u8>>,
}

/// What a PKCS#12 file holds, in file order.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Contents {
    pub keys: Vec<Key>,
    pub certs: Vec<Cert>,
}

/// The PKCS#12 file of `certs` and `keys` under `password`, with fresh salts and IVs.
pub(crate) fn write(
    password: &str,
    certs: &[CertIn<'_>],
    keys: &[KeyIn<'_>],
) -> Result<Vec<u8>, Unspecified> {
    let cert_safe = yasna::construct_der(|w| {
        w.write_sequence_of(|w| {
            for c in certs {
                write_cert_bag(w.next(), c);
            }
        })
    });
    let (cert_alg, cert_enc) = pbes2_encrypt(password, &cert_safe)?;
    let key_bags = keys
        .iter()
        .map(|k| Ok((k, pbes2_encrypt(password, k.pkcs8)?)))
        .collect::<Result<Vec<_>, Unspecified>>()?;
    let key_safe = yasna::construct_der(|w| {
        w.write_sequence_of(|w| {
            for (k, (alg, enc)) in &key_bags {
                w.next().write_sequence(|w| {
                    w.next().write_oid(&id(oid::SHROUDED_KEY_BAG));
                    w.next().write_tagged(Tag::context(0), |w| {
                        w.write_sequence(|w| {
                            w.next().write_der(alg);
                            w.next().write_bytes(enc);
                        })
                    });
                    write_attributes(w.next(), Some(k.friendly_name), Some(k.local_key_id), false);
                });
            }
        })
    });
    let auth_safe = yasna::construct_der(|w| {
        w.write_sequence_of(|w| {
            w.next().write_sequence(|w| {
                w.next().write_oid(&id(oid::ENCRYPTED_DATA));
                w.next().write_tagged(Tag::context(0), |w| {
                    w.write_sequence(|w| {
                        w.next().write_u8(0);
                        w.next().write_sequence(|w| {
                            w.next().write_oid(&id(oid::DATA));
                            w.next().write_der(&cert_alg);
                            w.next().write_tagged_implicit(Tag::context(0), |w| {
                                w.write_bytes(&cert_enc)
                            });
                        });
                    })
                });
            });
            w.next().write_sequence(|w| {
                w.next().write_oid(&id(oid::DATA));
                w.next()
                    .write_tagged(Tag::context(0), |w| w.write_bytes(&key_safe));
            });
        })
    });

    let mut mac_salt = [0u8; 16];
    aws_lc_rs::rand::fill(&mut mac_salt)?;
    let mac = Mac::Sha256.compute(password, &mac_salt, ITERATIONS, &auth_safe);
    Ok(yasna::construct_der(|w| {
        w.write_sequence(|w| {
            w.next().write_u8(3);
            w.next().write_sequence(|w| {
                w.next().write_oid(&id(oid::DATA));
                w.next()
                    .write_tagged(Tag::context(0), |w| w.write_bytes(&auth_safe));
            });
            w.next().write_sequence(|w| {
                w.next().write_sequence(|w| {
                    // SHA-2 identifiers without parameters (RFC 5754), as p12-keystore wrote.
                    w.next()
                        .write_sequence(|w| w.next().write_oid(&id(oid::SHA256)));
                    w.next().write_bytes(&mac);
                });
                w.next().write_bytes(&mac_salt);
                w.next().write_u32(ITERATIONS);
            });
        })
    }))
}

/// What `bytes` holds, when it is a PKCS#12 file this module reads and its MAC verifies
/// with `password`; None for a wrong password, a changed byte, or a format not read.
pub(crate) fn read(bytes: &[u8], password: &str) -> Option<Contents> {
    let pfx = yasna::parse_ber(bytes, |r| {
        r.read_sequence(|r| {
            if r.next().read_u8()? != 3 {
                return Err(invalid());
            }
            let auth_safe = read_content_info(r.next())?;
            let mac = r.read_optional(|r| {
                r.read_sequence(|r| {
                    let (alg, digest) = r.next().read_sequence(|r| {
                        let alg = read_algorithm(r.next())?.0;
                        Ok((alg, r.next().read_bytes()?))
                    })?;
                    let salt = r.next().read_bytes()?;
                    let iterations = r.read_default(1, |r| r.read_u32())?;
                    Ok((alg, digest, salt, iterations))
                })
            })?;
            Ok((auth_safe, mac))
        })
    })
    .ok()?;
    let ((content_type, auth_safe), mac) = pfx;
    if content_type != id(oid::DATA) {
        return None;
    }
    let auth_safe = parse_octets(&auth_safe)?;
    // Without a MAC nothing would tell a wrong password from a right one.
    let (alg, digest, salt, iterations) = mac?;
    let mac = Mac::from_oid(&alg)?;
    if !(1..=MAX_ITERATIONS).contains(&iterations) {
        return None;
    }
    if !mac.verify(password, &salt, iterations, &auth_safe, &digest) {
        return None;
    }

    let safes = yasna::parse_ber(&auth_safe, |r| {
        r.collect_sequence_of(|r| read_content_info(r))
    })
    .ok()?;
    let mut out = Contents::default();
    for (content_type, content) in safes {
        let safe_contents = if content_type == id(oid::DATA) {
            parse_octets(&content)?
        } else if content_type == id(oid::ENCRYPTED_DATA) {
            let (alg, encrypted) = yasna::parse_ber(&content, |r| {
                r.read_sequence(|r| {
                    if r.next().read_u8()? != 0 {
                        return Err(invalid());
                    }
                    r.next().read_sequence(|r| {
                        if r.next().read_oid()? != id(oid::DATA) {
                            return Err(invalid());
                        }
                        let alg = r.next().read_der()?;
                        let encrypted = r.read_optional(|r| {
                            r.read_tagged_implicit(Tag::context(0), |r| r.read_bytes())
                        })?;
                        Ok((alg, encrypted.unwrap_or_default()))
                    })
                })
            })
            .ok()?;
            pbes2_decrypt(password, &alg, &encrypted)?
        } else {
            return None;
        };
        read_bags(&safe_contents, password, &mut out)?;
    }
    Some(out)
}

fn read_bags(safe_contents: &[u8], password: &str, out: &mut Contents) -> Option<()> {
    struct Bag {
        kind: ObjectIdentifier,
        value: Vec<u8>,
        attributes: Vec<(ObjectIdentifier, Vec<Vec<u8>>)>,
    }
    let bags = yasna::parse_ber(safe_contents, |r| {
        r.collect_sequence_of(|r| {
            r.read_sequence(|r| {
                let kind = r.next().read_oid()?;
                let value = r.next().read_tagged(Tag::context(0), |r| r.read_der())?;
                let attributes = r
                    .read_optional(|r| {
                        r.collect_set_of(|r| {
                            r.read_sequence(|r| {
                                let attr = r.next().read_oid()?;
                                let values = r.next().collect_set_of(|r| r.read_der())?;
                                Ok((attr, values))
                            })
                        })
                    })?
                    .unwrap_or_default();
                Ok(Bag {
                    kind,
                    value,
                    attributes,
                })
            })
        })
    })
    .ok()?;
    for bag in bags {
        // The first value of an attribute, as Java and OpenSSL take it.
        let first = |attr: &[u64]| {
            bag.attributes
                .iter()
                .find(|(a, _)| *a == id(attr))
                .and_then(|(_, values)| values.first())
        };
        let friendly_name = match first(oid::FRIENDLY_NAME) {
            Some(v) => Some(yasna::parse_der(v, |r| r.read_bmp_string()).ok()?),
            None => None,
        };
        let local_key_id = match first(oid::LOCAL_KEY_ID) {
            Some(v) => Some(yasna::parse_der(v, |r| r.read_bytes()).ok()?),
            None => None,
        };
        let trusted = first(oid::JAVA_TRUSTED_USAGE)
            .and_then(|v| yasna::parse_der(v, |r| r.read_oid()).ok())
            .is_some_and(|o| o == id(oid::ANY_EXTENDED_KEY_USAGE));
        if bag.kind == id(oid::CERT_BAG) {
            let der = yasna::parse_ber(&bag.value, |r| {
                r.read_sequence(|r| {
                    if r.next().read_oid()? != id(oid::X509_CERTIFICATE) {
                        return Err(invalid());
                    }
                    r.next().read_tagged(Tag::context(0), |r| r.read_bytes())
                })
            })
            .ok()?;
            out.certs.push(Cert {
                der,
                friendly_name,
                local_key_id,
                trusted,
            });
        } else if bag.kind == id(oid::SHROUDED_KEY_BAG) || bag.kind == id(oid::KEY_BAG) {
            let pkcs8 = if bag.kind == id(oid::KEY_BAG) {
                bag.value
            } else {
                let (alg, encrypted) = yasna::parse_ber(&bag.value, |r| {
                    r.read_sequence(|r| Ok((r.next().read_der()?, r.next().read_bytes()?)))
                })
                .ok()?;
                pbes2_decrypt(password, &alg, &encrypted)?
            };
            out.keys.push(Key {
                pkcs8,
                friendly_name,
                local_key_id,
            });
        }
        // Other bags (CRLs, secrets, nested SafeContents) are not ours and are skipped.
    }
    Some(())
}

fn write_cert_bag(w: DERWriter<'_>, c: &CertIn<'_>) {
    w.write_sequence(|w| {
        w.next().write_oid(&id(oid::CERT_BAG));
        w.next().write_tagged(Tag::context(0), |w| {
            w.write_sequence(|w| {
                w.next().write_oid(&id(oid::X509_CERTIFICATE));
                w.next()
                    .write_tagged(Tag::context(0), |w| w.write_bytes(c.der));
            })
        });
        write_attributes(w.next(), c.friendly_name, c.local_key_id, c.trusted);
    })
}

/// A bag's attributes (a DER SET, so yasna sorts them).
fn write_attributes(
    w: DERWriter<'_>,
    friendly_name: Option<&str>,
    local_key_id: Option<&[u8]>,
    trusted: bool,
) {
    w.write_set_of(|w| {
        if let Some(name) = friendly_name {
            w.next().write_sequence(|w| {
                w.next().write_oid(&id(oid::FRIENDLY_NAME));
                w.next().write_set_of(|w| w.next().write_bmp_string(name));
            });
        }
        if let Some(key_id) = local_key_id {
            w.next().write_sequence(|w| {
                w.next().write_oid(&id(oid::LOCAL_KEY_ID));
                w.next().write_set_of(|w| w.next().write_bytes(key_id));
            });
        }
        if trusted {
            w.next().write_sequence(|w| {
                w.next().write_oid(&id(oid::JAVA_TRUSTED_USAGE));
                w.next()
                    .write_set_of(|w| w.next().write_oid(&id(oid::ANY_EXTENDED_KEY_USAGE)));
            });
        }
    })
}

/// ContentInfo: its type and the DER of its `[0] EXPLICIT` content.
fn read_content_info(r: BERReader<'_, '_>) -> ASN1Result<(ObjectIdentifier, Vec<u8>)> {
    r.read_sequence(|r| {
        let content_type = r.next().read_oid()?;
        let content = r.next().read_tagged(Tag::context(0), |r| r.read_der())?;
        Ok((content_type, content))
    })
}

/// The contents of a DER/BER OCTET STRING.
fn parse_octets(der: &[u8]) -> Option<Vec<u8>> {
    yasna::parse_ber(der, |r| r.read_bytes()).ok()
}

/// An AlgorithmIdentifier: its OID and the DER of its parameters, if any.
fn read_algorithm(r: BERReader<'_, '_>) -> ASN1Result<(ObjectIdentifier, Option<Vec<u8>>)> {
    r.read_sequence(|r| {
        let alg = r.next().read_oid()?;
        let params = r.read_optional(|r| r.read_der())?;
        Ok((alg, params))
    })
}

/// PBES2 with PBKDF2-HMAC-SHA-256 and AES-256-CBC: the AlgorithmIdentifier's DER and the
/// ciphertext.
fn pbes2_encrypt(password: &str, plain: &[u8]) -> Result<(Vec<u8>, Vec<u8>), Unspecified> {
    let mut salt = [0u8; 32];
    aws_lc_rs::rand::fill(&mut salt)?;
    let mut iv = [0u8; 16];
    aws_lc_rs::rand::fill(&mut iv)?;
    let mut key = [0u8; 32];
    pbkdf2::derive(
        pbkdf2::PBKDF2_HMAC_SHA256,
        ITERATIONS.try_into().map_err(|_| Unspecified)?,
        &salt,
        password.as_bytes(),
        &mut key,
    );
    let cipher = PaddedBlockEncryptingKey::cbc_pkcs7(UnboundCipherKey::new(&AES_256, &key)?)?;
    let mut data = plain.to_vec();
    cipher.less_safe_encrypt(&mut data, EncryptionContext::Iv128(iv.into()))?;
    let alg = yasna::construct_der(|w| {
        w.write_sequence(|w| {
            w.next().write_oid(&id(oid::PBES2));
            w.next().write_sequence(|w| {
                w.next().write_sequence(|w| {
                    w.next().write_oid(&id(oid::PBKDF2));
                    w.next().write_sequence(|w| {
                        w.next().write_bytes(&salt);
                        w.next().write_u32(ITERATIONS);
                        w.next().write_sequence(|w| {
                            w.next().write_oid(&id(oid::HMAC_SHA256));
                            w.next().write_null();
                        });
                    });
                });
                w.next().write_sequence(|w| {
                    w.next().write_oid(&id(oid::AES256_CBC));
                    w.next().write_bytes(&iv);
                });
            });
        })
    });
    Ok((alg, data))
}

/// Decrypt `data` under the PBES2 AlgorithmIdentifier `alg_der` (PBKDF2, AES-CBC).
fn pbes2_decrypt(password: &str, alg_der: &[u8], data: &[u8]) -> Option<Vec<u8>> {
    struct Params {
        salt: Vec<u8>,
        iterations: u32,
        key_length: Option<u32>,
        prf: ObjectIdentifier,
        cipher: ObjectIdentifier,
        iv: Vec<u8>,
    }
    let p = yasna::parse_ber(alg_der, |r| {
        r.read_sequence(|r| {
            if r.next().read_oid()? != id(oid::PBES2) {
                return Err(invalid());
            }
            r.next().read_sequence(|r| {
                let (salt, iterations, key_length, prf) = r.next().read_sequence(|r| {
                    if r.next().read_oid()? != id(oid::PBKDF2) {
                        return Err(invalid());
                    }
                    r.next().read_sequence(|r| {
                        let salt = r.next().read_bytes()?;
                        let iterations = r.next().read_u32()?;
                        let key_length = r.read_optional(|r| r.read_u32())?;
                        let prf = r.read_optional(read_algorithm)?;
                        let prf = prf.map_or_else(|| id(oid::HMAC_SHA1), |(o, _)| o);
                        Ok((salt, iterations, key_length, prf))
                    })
                })?;
                let (cipher, iv) = r
                    .next()
                    .read_sequence(|r| Ok((r.next().read_oid()?, r.next().read_bytes()?)))?;
                Ok(Params {
                    salt,
                    iterations,
                    key_length,
                    prf,
                    cipher,
                    iv,
                })
            })
        })
    })
    .ok()?;
    let prf = [
        (oid::HMAC_SHA1, pbkdf2::PBKDF2_HMAC_SHA1),
        (oid::HMAC_SHA256, pbkdf2::PBKDF2_HMAC_SHA256),
        (oid::HMAC_SHA384, pbkdf2::PBKDF2_HMAC_SHA384),
        (oid::HMAC_SHA512, pbkdf2::PBKDF2_HMAC_SHA512),
    ]
    .into_iter()
    .find(|(o, _)| p.prf == id(o))?
    .1;
    let cipher = [
        (oid::AES128_CBC, &AES_128, 16),
        (oid::AES192_CBC, &AES_192, 24),
        (oid::AES256_CBC, &AES_256, 32),
    ]
    .into_iter()
    .find(|(o, _, _)| p.cipher == id(o));
    let (_, cipher, key_len) = cipher?;
    if p.key_length.is_some_and(|l| l as usize != key_len) || p.iterations > MAX_ITERATIONS {
        return None;
    }
    let iv: [u8; 16] = p.iv.as_slice().try_into().ok()?;
    let mut key = vec![0u8; key_len];
    pbkdf2::derive(
        prf,
        p.iterations.try_into().ok()?,
        &p.salt,
        password.as_bytes(),
        &mut key,
    );
    let cipher =
        PaddedBlockDecryptingKey::cbc_pkcs7(UnboundCipherKey::new(cipher, &key).ok()?).ok()?;
    let mut data = data.to_vec();
    let plain = cipher
        .decrypt(&mut data, DecryptionContext::Iv128(iv.into()))
        .ok()?;
    Some(plain.to_vec())
}

/// The hash of a PKCS#12 MAC (HMAC keyed through the KDF of appendix B.2).
#[derive(Clone, Copy)]
enum Mac {
    Sha1,
    Sha256,
    Sha384,
    Sha512,
}

impl Mac {
    fn from_oid(o: &ObjectIdentifier) -> Option<Mac> {
        [
            (oid::SHA1, Mac::Sha1),
            (oid::SHA256, Mac::Sha256),
            (oid::SHA384, Mac::Sha384),
            (oid::SHA512, Mac::Sha512),
        ]
        .into_iter()
        .find(|(known, _)| *o == id(known))
        .map(|(_, m)| m)
    }

    fn digest(self) -> &'static digest::Algorithm {
        match self {
            Mac::Sha1 => &digest::SHA1_FOR_LEGACY_USE_ONLY,
            Mac::Sha256 => &digest::SHA256,
            Mac::Sha384 => &digest::SHA384,
            Mac::Sha512 => &digest::SHA512,
        }
    }

    fn hmac(self) -> hmac::Algorithm {
        match self {
            Mac::Sha1 => hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
            Mac::Sha256 => hmac::HMAC_SHA256,
            Mac::Sha384 => hmac::HMAC_SHA384,
            Mac::Sha512 => hmac::HMAC_SHA512,
        }
    }

    fn key(self, password: &str, salt: &[u8], iterations: u32) -> hmac::Key {
        let len = self.digest().output_len();
        hmac::Key::new(
            self.hmac(),
            &pkcs12_kdf(self.digest(), password, salt, 3, iterations, len),
        )
    }

    fn compute(self, password: &str, salt: &[u8], iterations: u32, data: &[u8]) -> Vec<u8> {
        hmac::sign(&self.key(password, salt, iterations), data)
            .as_ref()
            .to_vec()
    }

    /// Whether `tag` is the MAC of `data` (compared in constant time).
    fn verify(self, password: &str, salt: &[u8], iterations: u32, data: &[u8], tag: &[u8]) -> bool {
        hmac::verify(&self.key(password, salt, iterations), data, tag).is_ok()
    }
}

/// The PKCS#12 key derivation of RFC 7292 appendix B.2: `n` bytes for purpose `purpose`
/// (1 key, 2 IV, 3 MAC key) from the password as a BMPString with its two zero bytes.
fn pkcs12_kdf(
    alg: &'static digest::Algorithm,
    password: &str,
    salt: &[u8],
    purpose: u8,
    iterations: u32,
    n: usize,
) -> Vec<u8> {
    let v = alg.block_len();
    let mut bmp: Vec<u8> = password.encode_utf16().flat_map(u16::to_be_bytes).collect();
    bmp.extend([0, 0]);
    // Each input repeated to a whole number of v-byte blocks.
    let fill = |s: &[u8]| -> Vec<u8> {
        s.iter()
            .copied()
            .cycle()
            .take(v * s.len().div_ceil(v))
            .collect()
    };
    let mut i = fill(salt);
    i.extend(fill(&bmp));
    let d = vec![purpose; v];
    let mut out = Vec::with_capacity(n);
    loop {
        let mut ctx = digest::Context::new(alg);
        ctx.update(&d);
        ctx.update(&i);
        let mut a = ctx.finish();
        for _ in 1..iterations {
            a = digest::digest(alg, a.as_ref());
        }
        let a = a.as_ref();
        out.extend_from_slice(&a[..a.len().min(n - out.len())]);
        if out.len() == n {
            return out;
        }
        // I_j = (I_j + B + 1) mod 2^(8v) for each block, B being A repeated to v bytes.
        let b: Vec<u8> = a.iter().copied().cycle().take(v).collect();
        for block in i.chunks_mut(v) {
            let mut carry = 1u16;
            for (x, y) in block.iter_mut().zip(&b).rev() {
                let sum = u16::from(*x) + u16::from(*y) + carry;
                *x = sum as u8;
                carry = sum >> 8;
            }
        }
    }
}

fn id(components: &[u64]) -> ObjectIdentifier {
    ObjectIdentifier::from_slice(components)
}

fn invalid() -> ASN1Error {
    ASN1Error::new(ASN1ErrorKind::Invalid)
}
