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
    pub(crate) const DATA: &[u64] = &[1, 2, 840, 113549, 1, 7, 1];
    pub(crate) const ENCRYPTED_DATA: &[u64] = &[1, 2, 840, 113549, 1, 7, 6];
    pub(crate) const PBES2: &[u64] = &[1, 2, 840, 113549, 1, 5, 13];
    pub(crate) const PBKDF2: &[u64] = &[1, 2, 840, 113549, 1, 5, 12];
    pub(crate) const HMAC_SHA1: &[u64] = &[1, 2, 840, 113549, 2, 7];
    pub(crate) const HMAC_SHA256: &[u64] = &[1, 2, 840, 113549, 2, 9];
    pub(crate) const HMAC_SHA384: &[u64] = &[1, 2, 840, 113549, 2, 10];
    pub(crate) const HMAC_SHA512: &[u64] = &[1, 2, 840, 113549, 2, 11];
    pub(crate) const AES128_CBC: &[u64] = &[2, 16, 840, 1, 101, 3, 4, 1, 2];
    pub(crate) const AES192_CBC: &[u64] = &[2, 16, 840, 1, 101, 3, 4, 1, 22];
    pub(crate) const AES256_CBC: &[u64] = &[2, 16, 840, 1, 101, 3, 4, 1, 42];
    pub(crate) const SHA1: &[u64] = &[1, 3, 14, 3, 2, 26];
    pub(crate) const SHA256: &[u64] = &[2, 16, 840, 1, 101, 3, 4, 2, 1];
    pub(crate) const SHA384: &[u64] = &[2, 16, 840, 1, 101, 3, 4, 2, 2];
    pub(crate) const SHA512: &[u64] = &[2, 16, 840, 1, 101, 3, 4, 2, 3];
    pub(crate) const KEY_BAG: &[u64] = &[1, 2, 840, 113549, 1, 12, 10, 1, 1];
    pub(crate) const SHROUDED_KEY_BAG: &[u64] = &[1, 2, 840, 113549, 1, 12, 10, 1, 2];
    pub(crate) const CERT_BAG: &[u64] = &[1, 2, 840, 113549, 1, 12, 10, 1, 3];
    pub(crate) const X509_CERTIFICATE: &[u64] = &[1, 2, 840, 113549, 1, 9, 22, 1];
    pub(crate) const FRIENDLY_NAME: &[u64] = &[1, 2, 840, 113549, 1, 9, 20];
    pub(crate) const LOCAL_KEY_ID: &[u64] = &[1, 2, 840, 113549, 1, 9, 21];
    /// Oracle's "trusted key usage" bag attribute: Java lists a certificate bag that has
    /// it as a trustedCertEntry, and ignores one that has not.
    pub(crate) const JAVA_TRUSTED_USAGE: &[u64] = &[2, 16, 840, 1, 113894, 746875, 1, 1];
    pub(crate) const ANY_EXTENDED_KEY_USAGE: &[u64] = &[2, 5, 29, 37, 0];
}

/// A certificate to store.
pub(crate) struct CertIn<'a> {
    pub(crate) der: &'a [u8],
    pub(crate) friendly_name: Option<&'a str>,
    pub(crate) local_key_id: Option<&'a [u8]>,
    /// Marked with Java's trusted-usage attribute (anyExtendedKeyUsage).
    pub(crate) trusted: bool,
}

/// A private key to store, encrypted, as a PKCS8ShroudedKeyBag.
pub(crate) struct KeyIn<'a> {
    pub(crate) pkcs8: &'a [u8],
    pub(crate) friendly_name: &'a str,
    pub(crate) local_key_id: &'a [u8],
}

/// A certificate bag as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Cert {
    pub(crate) der: Vec<u8>,
    pub(crate) friendly_name: Option<String>,
    pub(crate) local_key_id: Option<Vec<u8>>,
    pub(crate) trusted: bool,
}

/// A key bag as read, decrypted: the PKCS#8 DER of the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Key {
    pub(crate) pkcs8: Vec<u8>,
    pub(crate) friendly_name: Option<String>,
    pub(crate) local_key_id: Option<Vec<u8>>,
}

/// What a PKCS#12 file holds, in file order.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Contents {
    pub(crate) keys: Vec<Key>,
    pub(crate) certs: Vec<Cert>,
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
    let key_safe = key_safe(password, keys)?;
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

    pfx(password, &auth_safe)
}

/// The keys' SafeContents: one shrouded key bag each, encrypted with `password`.
fn key_safe(password: &str, keys: &[KeyIn<'_>]) -> Result<Vec<u8>, Unspecified> {
    let key_bags = keys
        .iter()
        .map(|k| Ok((k, pbes2_encrypt(password, k.pkcs8)?)))
        .collect::<Result<Vec<_>, Unspecified>>()?;
    Ok(yasna::construct_der(|w| {
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
    }))
}

/// The PFX around `auth_safe`, with its SHA-256 MAC under `password` (a fresh salt).
fn pfx(password: &str, auth_safe: &[u8]) -> Result<Vec<u8>, Unspecified> {
    let mut mac_salt = [0u8; 16];
    aws_lc_rs::rand::fill(&mut mac_salt)?;
    let mac = Mac::Sha256.compute(password, &mac_salt, ITERATIONS, auth_safe);
    Ok(yasna::construct_der(|w| {
        w.write_sequence(|w| {
            w.next().write_u8(3);
            w.next().write_sequence(|w| {
                w.next().write_oid(&id(oid::DATA));
                w.next()
                    .write_tagged(Tag::context(0), |w| w.write_bytes(auth_safe));
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

/// yasna's parsers after a check that every length in `bytes` fits inside what holds it:
/// yasna adds a length read from the input to its position, and a length near
/// `usize::MAX` overflows that sum (a panic with overflow checks, a position that wraps
/// back without them). Found by the `pkcs12` fuzz target.
fn parse_ber<'a, T, F>(bytes: &'a [u8], f: F) -> ASN1Result<T>
where
    F: for<'b> FnOnce(BERReader<'a, 'b>) -> ASN1Result<T>,
{
    if !lengths_fit(bytes) {
        return Err(invalid());
    }
    yasna::parse_ber(bytes, f)
}

fn parse_der<'a, T, F>(bytes: &'a [u8], f: F) -> ASN1Result<T>
where
    F: for<'b> FnOnce(BERReader<'a, 'b>) -> ASN1Result<T>,
{
    if !lengths_fit(bytes) {
        return Err(invalid());
    }
    yasna::parse_der(bytes, f)
}

/// Whether `bytes` is BER elements whose lengths all fit inside their parents (definite
/// or, for constructed ones, indefinite), nested at most 64 deep.
fn lengths_fit(bytes: &[u8]) -> bool {
    fn elements(mut b: &[u8], depth: usize, until_end_marker: bool) -> Option<usize> {
        let start = b.len();
        if depth > 64 {
            return None;
        }
        loop {
            if b.is_empty() {
                return (!until_end_marker).then_some(start);
            }
            if until_end_marker && b.starts_with(&[0, 0]) {
                return Some(start - b.len() + 2);
            }
            let (&first, mut rest) = b.split_first()?;
            if first & 0x1f == 0x1f {
                // A tag number in base 128, at most 4 bytes of it.
                let n = rest.iter().take(4).position(|t| t & 0x80 == 0)? + 1;
                rest = &rest[n..];
            }
            let (&len_byte, mut rest) = rest.split_first()?;
            let constructed = first & 0x20 != 0;
            let used = match len_byte {
                0x80 if constructed => elements(rest, depth + 1, true)?,
                0x80 => return None,
                l if l < 0x80 => {
                    let l = usize::from(l);
                    if constructed {
                        elements(rest.get(..l)?, depth + 1, false)?;
                    }
                    rest.get(..l)?;
                    l
                }
                l => {
                    let n = usize::from(l & 0x7f);
                    if n > 8 {
                        return None;
                    }
                    let digits = rest.get(..n)?;
                    rest = &rest[n..];
                    let l = digits.iter().fold(0u64, |v, d| (v << 8) | u64::from(*d));
                    let l = usize::try_from(l).ok().filter(|l| *l <= rest.len())?;
                    if constructed {
                        elements(&rest[..l], depth + 1, false)?;
                    }
                    l
                }
            };
            b = rest.get(used..)?;
        }
    }
    elements(bytes, 0, false).is_some()
}

/// Why a store was not read: each has its own advice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StoreError {
    /// Not PKCS#12 as written (a changed byte, a truncated file).
    Corrupt,
    /// PKCS#12 with a structure or algorithm this reader does not read.
    Unsupported,
    /// The MAC does not verify with the password.
    WrongPassword,
    /// More key-derivation work, bags or bytes than a store of this tool's needs.
    TooCostly,
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            StoreError::Corrupt => "is not a PKCS#12 file (changed or truncated)",
            StoreError::Unsupported => {
                "is PKCS#12 with an algorithm or structure this tool does not read"
            }
            StoreError::WrongPassword => {
                "cannot be opened with the password (its MAC does not verify with it)"
            }
            StoreError::TooCostly => {
                "asks for more key-derivation work, entries or bytes than a store of this tool holds"
            }
        })
    }
}

/// A store this tool writes is a few KiB with at most three bags.
const MAX_STORE_BYTES: usize = 1 << 20;
const MAX_BAGS: usize = 16;
/// PBKDF2 and PKCS#12-KDF iterations a whole store may ask for: the MAC and four
/// encrypted parts at the most iterations one may have.
const WORK_BUDGET: u64 = 5 * MAX_ITERATIONS as u64;

/// What `bytes` holds, when it is a PKCS#12 file this module reads and its MAC verifies
/// with `password`.
pub(crate) fn read(bytes: &[u8], password: &str) -> Option<Contents> {
    open(bytes, password).ok()
}

/// `read`, saying why a store was not read.
pub(crate) fn open(bytes: &[u8], password: &str) -> Result<Contents, StoreError> {
    use StoreError::*;
    if bytes.len() > MAX_STORE_BYTES {
        return Err(TooCostly);
    }
    let mut budget = WORK_BUDGET;
    let (auth_safe, mac) = parse_pfx(bytes)?;
    // Without a MAC nothing would tell a wrong password from a right one.
    let (alg, digest, salt, iterations) = mac.ok_or(Unsupported)?;
    let mac = Mac::from_oid(&alg).ok_or(Unsupported)?;
    if iterations == 0 {
        return Err(Corrupt);
    }
    if iterations > MAX_ITERATIONS {
        return Err(TooCostly);
    }
    budget -= u64::from(iterations);
    if !mac.verify(password, &salt, iterations, &auth_safe, &digest) {
        return Err(WrongPassword);
    }
    let safes = parse_ber(&auth_safe, |r| {
        r.collect_sequence_of(|r| read_content_info(r))
    })
    .map_err(|_| Corrupt)?;
    if safes.len() > MAX_BAGS {
        return Err(TooCostly);
    }
    let mut out = Contents::default();
    for (content_type, content) in safes {
        let safe_contents = if content_type == id(oid::DATA) {
            parse_octets(&content).ok_or(Corrupt)?
        } else if content_type == id(oid::ENCRYPTED_DATA) {
            let (alg, encrypted) = parse_encrypted_data(&content)?;
            pbes2_decrypt(password, &alg, &encrypted, &mut budget)?
        } else {
            return Err(Unsupported);
        };
        read_bags(&safe_contents, password, &mut out, &mut budget)?;
    }
    Ok(out)
}

/// A PFX's MacData: the MAC's algorithm, digest, salt and iteration count.
type MacData = (ObjectIdentifier, Vec<u8>, Vec<u8>, u32);

/// The PFX (version 3): its authSafe's bytes (a `data` ContentInfo) and its MacData.
fn parse_pfx(bytes: &[u8]) -> Result<(Vec<u8>, Option<MacData>), StoreError> {
    let ((content_type, auth_safe), mac) = parse_ber(bytes, |r| {
        r.read_sequence(|r| {
            if r.next().read_u8()? != 3 {
                return Err(invalid());
            }
            let auth_safe = read_content_info(r.next())?;
            let mac = r.read_optional(|r| {
                r.read_sequence(|r| {
                    let (alg, digest) = r.next().read_sequence(|r| {
                        let alg = read_hash_algorithm(r.next())?;
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
    .map_err(|_| StoreError::Corrupt)?;
    if content_type != id(oid::DATA) {
        return Err(StoreError::Unsupported);
    }
    Ok((parse_octets(&auth_safe).ok_or(StoreError::Corrupt)?, mac))
}

/// An EncryptedData ContentInfo's content: its encryption algorithm (DER) and the
/// encrypted SafeContents.
fn parse_encrypted_data(content: &[u8]) -> Result<(Vec<u8>, Vec<u8>), StoreError> {
    parse_ber(content, |r| {
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
    .map_err(|_| StoreError::Corrupt)
}

fn read_bags(
    safe_contents: &[u8],
    password: &str,
    out: &mut Contents,
    budget: &mut u64,
) -> Result<(), StoreError> {
    let bags = parse_bags(safe_contents)?;
    if bags.len() + out.keys.len() + out.certs.len() > MAX_BAGS {
        return Err(StoreError::TooCostly);
    }
    for bag in bags {
        bag.read_into(password, out, budget)?;
    }
    Ok(())
}

/// One SafeBag: its type, its value, and its attributes (name, values).
struct Bag {
    kind: ObjectIdentifier,
    value: Vec<u8>,
    attributes: Vec<(ObjectIdentifier, Vec<Vec<u8>>)>,
}

/// The SafeBags of a SafeContents, not yet interpreted.
fn parse_bags(safe_contents: &[u8]) -> Result<Vec<Bag>, StoreError> {
    parse_ber(safe_contents, |r| {
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
    .map_err(|_| StoreError::Corrupt)
}

impl Bag {
    /// The first value of an attribute, as Java and OpenSSL take it.
    fn first(&self, attr: &[u64]) -> Option<&Vec<u8>> {
        self.attributes
            .iter()
            .find(|(a, _)| *a == id(attr))
            .and_then(|(_, values)| values.first())
    }

    /// A certificate or key bag added to `out` (a shrouded key decrypted with
    /// `password`); other bags (CRLs, secrets, nested SafeContents) are not ours and are
    /// skipped.
    fn read_into(
        self,
        password: &str,
        out: &mut Contents,
        budget: &mut u64,
    ) -> Result<(), StoreError> {
        use StoreError::*;
        let friendly_name = match self.first(oid::FRIENDLY_NAME) {
            Some(v) => Some(parse_der(v, |r| r.read_bmp_string()).map_err(|_| Corrupt)?),
            None => None,
        };
        let local_key_id = match self.first(oid::LOCAL_KEY_ID) {
            Some(v) => Some(parse_der(v, |r| r.read_bytes()).map_err(|_| Corrupt)?),
            None => None,
        };
        let trusted = self
            .first(oid::JAVA_TRUSTED_USAGE)
            .and_then(|v| parse_der(v, |r| r.read_oid()).ok())
            .is_some_and(|o| o == id(oid::ANY_EXTENDED_KEY_USAGE));
        if self.kind == id(oid::CERT_BAG) {
            let der = parse_ber(&self.value, |r| {
                r.read_sequence(|r| {
                    if r.next().read_oid()? != id(oid::X509_CERTIFICATE) {
                        return Err(invalid());
                    }
                    r.next().read_tagged(Tag::context(0), |r| r.read_bytes())
                })
            })
            .map_err(|_| Corrupt)?;
            out.certs.push(Cert {
                der,
                friendly_name,
                local_key_id,
                trusted,
            });
        } else if self.kind == id(oid::SHROUDED_KEY_BAG) || self.kind == id(oid::KEY_BAG) {
            let pkcs8 = if self.kind == id(oid::KEY_BAG) {
                self.value
            } else {
                let (alg, encrypted) = parse_ber(&self.value, |r| {
                    r.read_sequence(|r| Ok((r.next().read_der()?, r.next().read_bytes()?)))
                })
                .map_err(|_| Corrupt)?;
                pbes2_decrypt(password, &alg, &encrypted, budget)?
            };
            out.keys.push(Key {
                pkcs8,
                friendly_name,
                local_key_id,
            });
        }
        Ok(())
    }
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
    parse_ber(der, |r| r.read_bytes()).ok()
}

/// An AlgorithmIdentifier: its OID and the DER of its parameters, if any.
fn read_algorithm(r: BERReader<'_, '_>) -> ASN1Result<(ObjectIdentifier, Option<Vec<u8>>)> {
    r.read_sequence(|r| {
        let alg = r.next().read_oid()?;
        let params = r.read_optional(|r| r.read_der())?;
        Ok((alg, params))
    })
}

/// The AlgorithmIdentifier of a hash or an HMAC: parameters absent or NULL.
fn read_hash_algorithm(r: BERReader<'_, '_>) -> ASN1Result<ObjectIdentifier> {
    match read_algorithm(r)? {
        (alg, None) => Ok(alg),
        (alg, Some(null)) if null == [5, 0] => Ok(alg),
        _ => Err(invalid()),
    }
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
/// PBES2 decryption of a part whose MAC already verified: a failure is the reader's, not
/// the password's. Its iterations are taken from `budget`.
fn pbes2_decrypt(
    password: &str,
    alg_der: &[u8],
    data: &[u8],
    budget: &mut u64,
) -> Result<Vec<u8>, StoreError> {
    let p = pbes2_params(alg_der).ok_or(StoreError::Unsupported)?;
    if p.iterations > MAX_ITERATIONS || u64::from(p.iterations) > *budget {
        return Err(StoreError::TooCostly);
    }
    *budget -= u64::from(p.iterations);
    pbes2_decrypt_with(password, p, data).ok_or(StoreError::Unsupported)
}

struct Pbes2Params {
    salt: Vec<u8>,
    iterations: u32,
    key_length: Option<u32>,
    prf: ObjectIdentifier,
    cipher: ObjectIdentifier,
    iv: Vec<u8>,
}

fn pbes2_params(alg_der: &[u8]) -> Option<Pbes2Params> {
    type Params = Pbes2Params;
    parse_ber(alg_der, |r| {
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
                        let prf = r.read_optional(read_hash_algorithm)?;
                        let prf = prf.unwrap_or_else(|| id(oid::HMAC_SHA1));
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
    .ok()
}

fn pbes2_decrypt_with(password: &str, p: Pbes2Params, data: &[u8]) -> Option<Vec<u8>> {
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

#[cfg(test)]
pub(crate) mod tests {
    /// The pkcs12 fuzz target's first find: BER whose lengths are near `usize::MAX`.
    #[test]
    fn lengths_past_the_end_are_refused_before_yasna_sees_them() {
        let mut crash = vec![
            0x30, 0x80, 0x02, 0x01, 0x03, 0x30, 0x80, 0x06, 0x01, 0x30, 0xa0, 0x80,
        ];
        crash.extend([0x2c, 0x11]);
        crash.extend([0xff; 30]);
        assert!(!lengths_fit(&crash));
        assert!(read(&crash, "x").is_none());
        assert!(lengths_fit(&[0x30, 0x03, 0x02, 0x01, 0x05]));
        assert!(!lengths_fit(&[
            0x30, 0x88, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xf0
        ]));
        assert!(lengths_fit(&[0x30, 0x80, 0x02, 0x01, 0x05, 0x00, 0x00]));
    }

    use super::*;

    /// Bytes from hex digits (test fixtures).
    pub(crate) fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// The fixture's P-256 key as PKCS#8 DER (`openssl pkcs8 -topk8 -nocrypt -outform DER`).
    const KEY: &str = concat!(
        "308187020100301306072a8648ce3d020106082a8648ce3d030107046d306b020101042097add48ff97d6d24",
        "fef0b593e76eb156455bc04b4b83ce374efe522a30fd8117a1440342000474b02f5da0a9e19a29cc0dbdc913",
        "def4cc81b531dd56c14941bf740951a2c53c096e08dfd573319ff24770cf5519ceb6510069641c5432ec2d27",
        "d5fb2b4748a0",
    );
    /// Its self-signed certificate `CN=fixture`, DER.
    const CERT: &str = concat!(
        "3082017c30820121a003020102021467f07fbf5a2e94ccddcb809068ef9d74f8694046300a06082a8648ce3d",
        "04030230123110300e06035504030c07666978747572653020170d3236313132373233333332335a180f3231",
        "3236313130333233333332335a30123110300e06035504030c07666978747572653059301306072a8648ce3d",
        "020106082a8648ce3d0301070342000474b02f5da0a9e19a29cc0dbdc913def4cc81b531dd56c14941bf7409",
        "51a2c53c096e08dfd573319ff24770cf5519ceb6510069641c5432ec2d27d5fb2b4748a0a3533051301d0603",
        "551d0e041604142dcbcf3063ff9fdab1f58b286babae0883fd3066301f0603551d230418301680142dcbcf30",
        "63ff9fdab1f58b286babae0883fd3066300f0603551d130101ff040530030101ff300a06082a8648ce3d0403",
        "020349003046022100a0a19d3609fbfb281569e59425d7ca821bb2b28d57699a2e6edb2f895e33e30f022100",
        "cec6acaffa9ed372db1349aee506e861999f1111e443d21e44532cbb8327f8c3",
    );
    /// `openssl pkcs12 -export -macalg sha256 -name fixture -passout pass:fixture-pw` with
    /// OpenSSL 3.0's defaults: PBES2 (PBKDF2-HMAC-SHA-256, AES-256-CBC), 2048 iterations.
    const OPENSSL_MODERN: &str = concat!(
        "3082044b0201033082040106092a864886f70d010701a08203f2048203ee308203ea3082028206092a864886",
        "f70d010706a08202733082026f0201003082026806092a864886f70d010701305706092a864886f70d01050d",
        "304a302906092a864886f70d01050c301c04084155e4fcff64e59602020800300c06082a864886f70d020905",
        "00301d060960864801650304012a0410ef8329cefc3297730b4d15fd981561f480820200c14a22369c600f82",
        "5ff097a453d5876e197012608d324bfdbc9d2de565be80461ebfbc0a1eb161ec885bc22fdee9b6d7da4c46f1",
        "b2ec3bc255f46c14f86f9357ddd43410b6371b2d906743cf5446bbb0fd2acf57a4716d293e4cb993c2778744",
        "2083105b1dd69fa4a656ff10ed9726a2fe550d029ba987a81c5f47fec0a856fb17fbba16bb9205c31bf346e9",
        "9027598c232e0149b6fa83030eaeb0614566a8f7df9e3c995058108b55ef8345fd70e4ef78ba39859c143d9d",
        "d4c7ed9e859a78da18c334303ab17ad380bc9b1910275a3e58fe3215946ae502617c07764d9a1ca0fc725636",
        "00434c6013b046022c53d44564b647aa67239f7b4758afa940628efcecce2f4db3c94eb87d6440ae3d718aff",
        "f4b7d871f0e8f698ac86039bf749b31a854e8486e77eb57ad1c126078381542ea9dce28bc93856b4056a8f10",
        "68ea80b215f30342ea6c0be4b46d709176040e314a756c4cff177ed0401383c1549c9b917f028757c59d730b",
        "e09dc09826f3844a5450f722682632c46091116742a32ca217c13a9a122148ddf2cf1297c258e4fb4a46420a",
        "2235b20a4b1322659f1a2da513c45ecda0ef3f5c7e5d018d5d431ce84c8b418ffa98351397cf59531ed1200a",
        "f9ee7ddb57dab64d5ffee397a75d398c35651391221b6129fc61d54bffae5d3b6610a6f415cac9f82d125afd",
        "cb8ee9938b72fd3d046bb39379a2a65c4624b7043082016006092a864886f70d010701a08201510482014d30",
        "82014930820145060b2a864886f70d010c0a0102a081ef3081ec305706092a864886f70d01050d304a302906",
        "092a864886f70d01050c301c040849dce7cf6c1cf8ad02020800300c06082a864886f70d02090500301d0609",
        "60864801650304012a04105a281e03b42b5a248754f5467b14c9cc04819039a3c2b92c21efcd9c8dbc1c4453",
        "1b77fc43ad2e0fa408b793c1c42c946566c83e42f4115b7692df6b56f83399715d08bf1ebe6034a6b2f39137",
        "35f3437f44b14c6528d38e8c7d0789690012736f0e52b524fba84cf3c4c76ef907f490aaf4035f11f43ef31b",
        "4805026e25302799e0cf7ed6de7ec296472579a3492a47e9f2318105eaa76ae68213f2e8ee3f82414b443144",
        "301d06092a864886f70d01091431101e0e0066006900780074007500720065302306092a864886f70d010915",
        "31160414b9ce6fdb8d22b0d87da12aab54bc49dee4466d3130413031300d0609608648016503040201050004",
        "20f902d4a65914efeecaf6adfc347927bb61648def34504a018650e0dc9c115a2104087b1d827937f76a3802",
        "020800",
    );
    /// The same with `-macalg sha1 -certpbe NONE`: a SHA-1 MAC, the certificate in plain `data`.
    const OPENSSL_PLAIN_CERTS: &str = concat!(
        "308203c30201033082038906092a864886f70d010701a082037a04820376308203723082020a06092a864886",
        "f70d010701a08201fb048201f7308201f3308201ef060b2a864886f70d010c0a0103a082019830820194060a",
        "2a864886f70d01091601a0820184048201803082017c30820121a003020102021467f07fbf5a2e94ccddcb80",
        "9068ef9d74f8694046300a06082a8648ce3d04030230123110300e06035504030c0766697874757265302017",
        "0d3236313132373233333332335a180f32313236313130333233333332335a30123110300e06035504030c07",
        "666978747572653059301306072a8648ce3d020106082a8648ce3d0301070342000474b02f5da0a9e19a29cc",
        "0dbdc913def4cc81b531dd56c14941bf740951a2c53c096e08dfd573319ff24770cf5519ceb6510069641c54",
        "32ec2d27d5fb2b4748a0a3533051301d0603551d0e041604142dcbcf3063ff9fdab1f58b286babae0883fd30",
        "66301f0603551d230418301680142dcbcf3063ff9fdab1f58b286babae0883fd3066300f0603551d130101ff",
        "040530030101ff300a06082a8648ce3d0403020349003046022100a0a19d3609fbfb281569e59425d7ca821b",
        "b2b28d57699a2e6edb2f895e33e30f022100cec6acaffa9ed372db1349aee506e861999f1111e443d21e4453",
        "2cbb8327f8c33144301d06092a864886f70d01091431101e0e0066006900780074007500720065302306092a",
        "864886f70d01091531160414b9ce6fdb8d22b0d87da12aab54bc49dee4466d313082016006092a864886f70d",
        "010701a08201510482014d3082014930820145060b2a864886f70d010c0a0102a081ef3081ec305706092a86",
        "4886f70d01050d304a302906092a864886f70d01050c301c04083e3a53526936dfc102020800300c06082a86",
        "4886f70d02090500301d060960864801650304012a041027cd9d6d29a1b5eb418355a62927172f04819002ee",
        "926e856206eb2ad29dabb7b3ae27df1c9540261a7d2d57bc77c59eced191be975fde7dd3f1df059e41283a44",
        "7875a698ec22806b4771d384a77f9ed8717a1699514462becec0c947d0349e198b118ac5061fb55860ae0e5d",
        "00e210f4e5441009190bd8caced06f5a689d8cc40418381a591570da2f51a40c1d7a05f6f266a604afb81845",
        "be6ac452efe36bddb9753144301d06092a864886f70d01091431101e0e006600690078007400750072006530",
        "2306092a864886f70d01091531160414b9ce6fdb8d22b0d87da12aab54bc49dee4466d313031302130090605",
        "2b0e03021a050004144baff43bb875fa0a5d2b668d3cb8409179bc639d04084f47e6ce1723bfb702020800",
    );
    /// `openssl pkcs8 -topk8 -v2 aes-128-cbc -v2prf hmacWithSHA1 -outform DER` of the key: an
    /// EncryptedPrivateKeyInfo with the default PRF (HMAC-SHA-1, left out) and AES-128-CBC.
    const OPENSSL_PKCS8_SHA1_PRF: &str = concat!(
        "3081de304906092a864886f70d01050d303c301b06092a864886f70d01050c300e040891543c2a83d44dc702",
        "020800301d06096086480165030401020410fc0905affd7653697ed91bcf9a64e94d0481908c3c90b383b448",
        "77a8b725dff21998c71eeee26c5908ba84d535406311de50b30337aea9e466fcafc2f9bd9ba8e6914cf62d82",
        "cdd6db0de6f09d93ba3c34aa837bf9be950989163b14b6d716e1b4b917a2f6bbc8c03b9399f42e2382b3c5ea",
        "02124f9ef3f76b6ac931a5ca11ca8e879dea2dcc3c48badf0a1be1a4984dbb57548f1b9878905429063591cd",
        "85054f9b1b",
    );

    /// RFC 7292 B.2 with SHA-1: the published vectors OpenSSL and Bouncy Castle test their
    /// KDF with, for the key (1), IV (2) and MAC (3) purposes; 24 bytes take two rounds.
    #[test]
    fn the_kdf_gives_the_published_answers() {
        let sha1 = &digest::SHA1_FOR_LEGACY_USE_ONLY;
        let cases = [
            (
                "smeg",
                "0A58CF64530D823F",
                1,
                1,
                "8AAAE6297B6CB04642AB5B077851284EB7128F1A2A7FBCA3",
            ),
            ("smeg", "0A58CF64530D823F", 2, 1, "79993DFE048D3B76"),
            (
                "smeg",
                "3D83C0E4546AC140",
                3,
                1,
                "8D967D88F6CAA9D714800AB3D48051D63F73A312",
            ),
            (
                "queeg",
                "05DEC959ACFF72F7",
                1,
                1000,
                "ED2034E36328830FF09DF1E1A07DD357185DAC0D4F9EB3D4",
            ),
        ];
        for (password, salt, purpose, iterations, expected) in cases {
            let expected = hex(expected);
            assert_eq!(
                pkcs12_kdf(
                    sha1,
                    password,
                    &hex(salt),
                    purpose,
                    iterations,
                    expected.len()
                ),
                expected,
                "{password} {salt} {purpose}"
            );
        }
    }

    /// OpenSSL's files open (their SHA-256 and SHA-1 MACs verify with our KDF) and give
    /// back exactly the key and certificate that went in, tied by their local key id.
    #[test]
    fn reads_what_openssl_writes() {
        let store = read(&hex(OPENSSL_MODERN), "fixture-pw").expect("it opens");
        assert_eq!(store.keys.len(), 1);
        assert_eq!(store.certs.len(), 1);
        let (key, cert) = (&store.keys[0], &store.certs[0]);
        assert_eq!(key.pkcs8, hex(KEY));
        assert_eq!(cert.der, hex(CERT));
        assert_eq!(key.friendly_name.as_deref(), Some("fixture"));
        assert_eq!(cert.friendly_name.as_deref(), Some("fixture"));
        assert!(key.local_key_id.is_some());
        assert_eq!(key.local_key_id, cert.local_key_id);
        assert!(!cert.trusted);
        let plain = read(&hex(OPENSSL_PLAIN_CERTS), "fixture-pw").expect("it opens");
        assert_eq!(plain, store);
    }

    #[test]
    fn a_wrong_password_or_any_changed_byte_opens_nothing() {
        for fixture in [OPENSSL_MODERN, OPENSSL_PLAIN_CERTS] {
            let bytes = hex(fixture);
            assert!(read(&bytes, "fixture-pw").is_some());
            for wrong in ["fixture-pW", "fixture-pw ", ""] {
                assert_eq!(read(&bytes, wrong), None, "{wrong:?}");
            }
            for i in 0..bytes.len() {
                let mut changed = bytes.clone();
                changed[i] ^= 0x01;
                assert_eq!(read(&changed, "fixture-pw"), None, "byte {i} changed");
            }
            assert_eq!(read(&bytes[..bytes.len() - 1], "fixture-pw"), None);
        }
    }

    #[test]
    fn decrypts_pbes2_with_the_default_prf_and_aes_128() {
        let (alg, encrypted) = parse_der(&hex(OPENSSL_PKCS8_SHA1_PRF), |r| {
            r.read_sequence(|r| Ok((r.next().read_der()?, r.next().read_bytes()?)))
        })
        .unwrap();
        let mut budget = WORK_BUDGET;
        assert_eq!(
            pbes2_decrypt("fixture-pw", &alg, &encrypted, &mut budget),
            Ok(hex(KEY))
        );
        assert!(budget < WORK_BUDGET, "the iterations were not counted");
        assert_eq!(
            pbes2_decrypt("fixture-px", &alg, &encrypted, &mut budget),
            Err(StoreError::Unsupported)
        );
        let mut spent = 0;
        assert_eq!(
            pbes2_decrypt("fixture-pw", &alg, &encrypted, &mut spent),
            Err(StoreError::TooCostly)
        );
    }

    /// A wrong password, a corrupt file and a store past the work budget each say so.
    #[test]
    fn each_reason_a_store_does_not_open_is_its_own() {
        let bytes = write(
            "pw",
            &[],
            &[KeyIn {
                pkcs8: &hex(KEY),
                friendly_name: "k",
                local_key_id: b"k",
            }],
        )
        .unwrap();
        assert!(open(&bytes, "pw").is_ok());
        assert_eq!(open(&bytes, "px"), Err(StoreError::WrongPassword));
        assert_eq!(
            open(&bytes[..bytes.len() / 2], "pw"),
            Err(StoreError::Corrupt)
        );
        assert_eq!(
            open(&vec![0x30; MAX_STORE_BYTES + 1], "pw"),
            Err(StoreError::TooCostly)
        );
        let keys: Vec<Vec<u8>> = (0..MAX_BAGS + 1).map(|_| hex(KEY)).collect();
        let many: Vec<KeyIn<'_>> = keys
            .iter()
            .map(|k| KeyIn {
                pkcs8: k,
                friendly_name: "k",
                local_key_id: b"k",
            })
            .collect();
        let bytes = write("pw", &[], &many).unwrap();
        assert_eq!(open(&bytes, "pw"), Err(StoreError::TooCostly));
    }

    /// A key store's and a trust store's bags come back as they went in, under fresh salts
    /// and IVs each time, and not under another password.
    #[test]
    fn what_it_writes_reads_back() {
        let (key, cert) = (hex(KEY), hex(CERT));
        let key_id = [7u8; 32];
        let certs = [
            CertIn {
                der: &cert,
                friendly_name: Some("CN=fixture"),
                local_key_id: Some(&key_id),
                trusted: false,
            },
            CertIn {
                der: &cert,
                friendly_name: Some("kimera-redis-ca-2 ✓"),
                local_key_id: None,
                trusted: true,
            },
        ];
        let keys = [KeyIn {
            pkcs8: &key,
            friendly_name: "redis-client",
            local_key_id: &key_id,
        }];
        let expected = Contents {
            keys: vec![Key {
                pkcs8: key.clone(),
                friendly_name: Some("redis-client".into()),
                local_key_id: Some(key_id.to_vec()),
            }],
            certs: vec![
                Cert {
                    der: cert.clone(),
                    friendly_name: Some("CN=fixture".into()),
                    local_key_id: Some(key_id.to_vec()),
                    trusted: false,
                },
                Cert {
                    der: cert.clone(),
                    friendly_name: Some("kimera-redis-ca-2 ✓".into()),
                    local_key_id: None,
                    trusted: true,
                },
            ],
        };
        let first = write("pässwörd", &certs, &keys).unwrap();
        let second = write("pässwörd", &certs, &keys).unwrap();
        assert_ne!(first, second, "salts and IVs are fresh");
        for bytes in [&first, &second] {
            assert_eq!(read(bytes, "pässwörd").as_ref(), Some(&expected));
            assert_eq!(read(bytes, "passwort"), None);
        }
        let trust = write("pw", &certs[1..], &[]).unwrap();
        assert_eq!(
            read(&trust, "pw").unwrap(),
            Contents {
                keys: vec![],
                certs: expected.certs[1..].to_vec(),
            }
        );
    }

    /// The layout JDK 17 writes and the Java tests rely on: MAC HMAC-SHA-256 (10000
    /// iterations, 16-byte salt), the certificates in encryptedData, the key in data, both
    /// under PBES2 with PBKDF2-HMAC-SHA-256 (10000 iterations, 32-byte salt) and AES-256-CBC.
    #[test]
    fn writes_the_layout_java_reads() {
        let (key, cert) = (hex(KEY), hex(CERT));
        let bytes = write(
            "pw",
            &[CertIn {
                der: &cert,
                friendly_name: None,
                local_key_id: Some(b"id"),
                trusted: false,
            }],
            &[KeyIn {
                pkcs8: &key,
                friendly_name: "k",
                local_key_id: b"id",
            }],
        )
        .unwrap();
        let (auth_safe, mac) = parse_der(&bytes, |r| {
            r.read_sequence(|r| {
                assert_eq!(r.next().read_u8()?, 3);
                let auth_safe = read_content_info(r.next())?;
                let mac = r.next().read_der()?;
                Ok((auth_safe, mac))
            })
        })
        .unwrap();
        assert_eq!(auth_safe.0, id(oid::DATA));
        let (mac_alg, digest_len, salt_len, iterations) = parse_der(&mac, |r| {
            r.read_sequence(|r| {
                let (alg, len) = r.next().read_sequence(|r| {
                    Ok((read_algorithm(r.next())?, r.next().read_bytes()?.len()))
                })?;
                Ok((alg, len, r.next().read_bytes()?.len(), r.next().read_u32()?))
            })
        })
        .unwrap();
        assert_eq!(mac_alg, (id(oid::SHA256), None));
        assert_eq!((digest_len, salt_len, iterations), (32, 16, 10_000));

        let safes = parse_der(&parse_octets(&auth_safe.1).unwrap(), |r| {
            r.collect_sequence_of(read_content_info)
        })
        .unwrap();
        let kinds: Vec<_> = safes.iter().map(|(kind, _)| kind.clone()).collect();
        assert_eq!(kinds, [id(oid::ENCRYPTED_DATA), id(oid::DATA)]);
        let cert_alg = parse_der(&safes[0].1, |r| {
            r.read_sequence(|r| {
                r.next().read_u8()?;
                r.next().read_sequence(|r| {
                    r.next().read_oid()?;
                    let alg = r.next().read_der()?;
                    r.next().read_der()?;
                    Ok(alg)
                })
            })
        })
        .unwrap();
        let key_alg = parse_der(&parse_octets(&safes[1].1).unwrap(), |r| {
            r.read_sequence(|r| {
                r.next().read_sequence(|r| {
                    assert_eq!(r.next().read_oid()?, id(oid::SHROUDED_KEY_BAG));
                    let alg = r.next().read_tagged(Tag::context(0), |r| {
                        r.read_sequence(|r| {
                            let alg = r.next().read_der()?;
                            r.next().read_bytes()?;
                            Ok(alg)
                        })
                    })?;
                    r.next().read_der()?;
                    Ok(alg)
                })
            })
        })
        .unwrap();
        for alg in [cert_alg, key_alg] {
            let (salt_len, iterations, prf, cipher, iv_len) = parse_der(&alg, |r| {
                r.read_sequence(|r| {
                    assert_eq!(r.next().read_oid()?, id(oid::PBES2));
                    r.next().read_sequence(|r| {
                        let (salt_len, iterations, prf) = r.next().read_sequence(|r| {
                            assert_eq!(r.next().read_oid()?, id(oid::PBKDF2));
                            r.next().read_sequence(|r| {
                                Ok((
                                    r.next().read_bytes()?.len(),
                                    r.next().read_u32()?,
                                    read_algorithm(r.next())?,
                                ))
                            })
                        })?;
                        let (cipher, iv_len) = r.next().read_sequence(|r| {
                            Ok((r.next().read_oid()?, r.next().read_bytes()?.len()))
                        })?;
                        Ok((salt_len, iterations, prf, cipher, iv_len))
                    })
                })
            })
            .unwrap();
            assert_eq!((salt_len, iterations, iv_len), (32, 10_000, 16));
            assert_eq!(prf, (id(oid::HMAC_SHA256), Some(vec![5, 0])));
            assert_eq!(cipher, id(oid::AES256_CBC));
        }
    }
}
