//! PKCS#12 stores for Java (Jedis, Lettuce, plain JSSE) and other PKCS#12 readers,
//! made from the PEM files of the same run (`--pkcs12`):
//! - `certs/redis-client.p12`: the app's client key with its certificate and the CA;
//! - `certs/truststore.p12`: the CA as a trusted-certificate entry, carrying Java's
//!   trust attribute (OID 2.16.840.1.113894.746875.1.1), without which Java sees a
//!   PKCS#12 store of bare certificates as empty (what `openssl pkcs12 -export` makes);
//! - `certs/pkcs12-password`: the password of both, 0600, alone in the file.
//!
//! Both stores use PBES2 (PBKDF2-HMAC-SHA-256, AES-256-CBC) and an HMAC-SHA-256 MAC, what
//! JDK 17 itself writes. A store is derived data: each run rebuilds it in memory and keeps
//! the file on disk when it still holds the same key and certificates (PKCS#12 bytes differ
//! on every write, salts being random), so a new or renewed leaf refreshes its store.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::bundle::{Bundle, Kind};
use crate::error::{Error, Result};
use crate::layout;
use crate::pkcs12::{self, CertIn, KeyIn};
use crate::pki::{self, CertKey};

/// The key entry's alias in `redis-client.p12` (`keytool -list` shows it).
pub(crate) const CLIENT_ALIAS: &str = "redis-client";
/// The trusted entry's alias in `truststore.p12`.
pub(crate) const CA_ALIAS: &str = "kimera-redis-ca";

/// What an earlier run left: the stores' password and the stores themselves.
#[derive(Debug, Default)]
pub(crate) struct OnDisk {
    /// The password file as it is, kept byte for byte (a user may have chosen their own).
    password_file: Option<Vec<u8>>,
    /// Its contents without surrounding whitespace: what the stores are opened with.
    password: Option<String>,
    keystore: Option<Vec<u8>>,
    truststore: Option<Vec<u8>>,
}

impl OnDisk {
    /// What `dir` holds; read before anything is built, writes nothing.
    pub(crate) fn read(dir: &Path) -> OnDisk {
        let password_file = fs::read(dir.join(layout::STORE_PASSWORD)).ok();
        let password = password_file
            .as_deref()
            .and_then(|b| std::str::from_utf8(b).ok())
            .map(|p| p.trim().to_owned())
            .filter(|p| !p.is_empty());
        OnDisk {
            password_file,
            password,
            keystore: fs::read(dir.join(layout::CLIENT_P12)).ok(),
            truststore: fs::read(dir.join(layout::TRUSTSTORE_P12)).ok(),
        }
    }

    /// Whether the folder already has stores, which every later run keeps up to date.
    pub(crate) fn present(&self) -> bool {
        self.password_file.is_some() || self.keystore.is_some() || self.truststore.is_some()
    }
}

/// Add the password file and both stores for `client` under `ca_pem` to `bundle`.
pub(crate) fn add(
    bundle: &mut Bundle,
    on_disk: &OnDisk,
    client: &CertKey,
    ca_pem: &str,
) -> Result<()> {
    // The password on disk is kept as it is; otherwise a new one from the OS CSPRNG.
    let (password, file) = match (&on_disk.password, &on_disk.password_file) {
        (Some(p), Some(file)) => (p.clone(), file.clone()),
        _ => {
            let p = crate::random::alphanumeric(32);
            (p.clone(), p.into_bytes())
        }
    };
    bundle.file(
        layout::STORE_PASSWORD,
        Kind::Secret,
        file,
        "password of the PKCS#12 stores (no newline)",
    );
    add_stores(bundle, on_disk, &password, client, ca_pem)
}

/// After `renew` issued the client certificate again: refresh the stores of a folder
/// that has them, with the password it has. Returns whether it did.
pub(crate) fn refresh(
    dir: &Path,
    bundle: &mut Bundle,
    client: &CertKey,
    ca_pem: &str,
) -> Result<bool> {
    let on_disk = OnDisk::read(dir);
    if !on_disk.present() {
        return Ok(false);
    }
    let Some(password) = on_disk.password.clone() else {
        return Err(Error::failed(format!(
            "{} is missing or empty, so the PKCS#12 stores cannot be renewed with the password \
             the app uses; restore it, or generate again with --pkcs12 --force",
            layout::STORE_PASSWORD
        )));
    };
    add_stores(bundle, &on_disk, &password, client, ca_pem)?;
    Ok(true)
}

fn add_stores(
    bundle: &mut Bundle,
    on_disk: &OnDisk,
    password: &str,
    client: &CertKey,
    ca_pem: &str,
) -> Result<()> {
    let key = pkcs8_der(layout::CLIENT_KEY, &client.key_pem)?;
    let cert = pem_der(layout::CLIENT_CERT, &client.cert_pem)?;
    // `ca_pem` is certs/ca.crt: one CA, or two during a CA rollover (renew --new-ca).
    let trusted = crate::certinfo::all_from_pem(layout::CA_CERT, ca_pem)?;
    let ca = issuer_of(&cert, &trusted).ok_or_else(|| {
        Error::failed(format!(
            "{} is not issued by a CA in {}",
            layout::CLIENT_CERT,
            layout::CA_CERT
        ))
    })?;

    let keystore = match on_disk.keystore.as_deref() {
        Some(bytes)
            if key_entry(bytes, password)
                .is_some_and(|e| e == (key.clone(), vec![cert.clone(), ca.clone()])) =>
        {
            bytes.to_vec()
        }
        _ => write_keystore(&key, &cert, &ca, password)?,
    };
    let truststore = match on_disk.truststore.as_deref() {
        Some(bytes) if trusted_entries(bytes, password).is_some_and(|t| t == trusted) => {
            bytes.to_vec()
        }
        _ => write_truststore(&trusted, password)?,
    };
    bundle.file(
        layout::CLIENT_P12,
        Kind::Store,
        keystore,
        "PKCS#12 key store for Java: client key, certificate and CA (password in certs/pkcs12-password)",
    );
    bundle.file(
        layout::TRUSTSTORE_P12,
        Kind::Store,
        truststore,
        "PKCS#12 trust store for Java: the CA as a trusted certificate",
    );
    Ok(())
}

fn write_keystore(key: &[u8], cert: &[u8], ca: &[u8], password: &str) -> Result<Vec<u8>> {
    // The local key id ties the key to its certificate; Java matches on it.
    let key_id = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, cert);
    // Each certificate of the chain is named by its subject, as p12-keystore named them
    // (left out when a BMPString cannot hold it).
    let names = [cert, ca].map(|der| {
        crate::certinfo::from_der("certificate", der)
            .ok()
            .map(|info| info.subject)
            .filter(|s| s.chars().all(|c| u32::from(c) <= 0xffff))
    });
    let certs = [
        CertIn {
            der: cert,
            friendly_name: names[0].as_deref(),
            local_key_id: Some(key_id.as_ref()),
            trusted: false,
        },
        CertIn {
            der: ca,
            friendly_name: names[1].as_deref(),
            local_key_id: None,
            trusted: false,
        },
    ];
    let key = KeyIn {
        pkcs8: key,
        friendly_name: CLIENT_ALIAS,
        local_key_id: key_id.as_ref(),
    };
    pkcs12::write(password, &certs, &[key]).map_err(|_| store_error())
}

fn write_truststore(cas: &[Vec<u8>], password: &str) -> Result<Vec<u8>> {
    // Each CA with Java's trusted-certificate attribute. The second CA of a rollover gets
    // its own alias.
    let aliases: Vec<String> = (0..cas.len())
        .map(|i| match i {
            0 => CA_ALIAS.to_owned(),
            n => format!("{CA_ALIAS}-{}", n + 1),
        })
        .collect();
    let certs: Vec<CertIn<'_>> = cas
        .iter()
        .zip(&aliases)
        .map(|(der, alias)| CertIn {
            der,
            friendly_name: Some(alias),
            local_key_id: None,
            trusted: true,
        })
        .collect();
    pkcs12::write(password, &certs, &[]).map_err(|_| store_error())
}

/// The CA among `cas` that issued `cert` (its subject is the certificate's issuer).
fn issuer_of(cert: &[u8], cas: &[Vec<u8>]) -> Option<Vec<u8>> {
    let issuer = crate::certinfo::from_der("certificate", cert).ok()?.issuer;
    cas.iter()
        .find(|ca| crate::certinfo::from_der("CA", ca).is_ok_and(|info| info.subject == issuer))
        .cloned()
}

/// The key store's key entry: PKCS#8 key and certificate chain (DER), when it opens.
/// The key is the first one whose local key id a certificate shares; the chain goes from
/// that certificate up through the untrusted certificates of the store by issuer name.
fn key_entry(bytes: &[u8], password: &str) -> Option<(Vec<u8>, Vec<Vec<u8>>)> {
    let store = pkcs12::read(bytes, password)?;
    let names = |der: &[u8]| {
        crate::certinfo::from_der("certificate", der)
            .ok()
            .map(|info| (info.subject, info.issuer))
    };
    let certs: Vec<_> = store.certs.iter().map(|c| (c, names(&c.der))).collect();
    store.keys.iter().find_map(|key| {
        let key_id = key.local_key_id.as_ref()?;
        let (leaf, leaf_names) = certs
            .iter()
            .find(|(c, _)| c.local_key_id.as_ref() == Some(key_id))?;
        let (leaf_subject, _) = leaf_names.as_ref()?;
        let mut chain = vec![leaf.der.clone()];
        let mut entry = leaf_names.as_ref()?;
        while let Some((issuer, Some(issuer_names))) = certs
            .iter()
            .find(|(c, n)| !c.trusted && n.as_ref().is_some_and(|(subject, _)| *subject == entry.1))
        {
            if chain.contains(&issuer.der) {
                break;
            }
            if issuer_names.0 != *leaf_subject {
                chain.push(issuer.der.clone());
            }
            if issuer_names.0 == issuer_names.1 {
                break;
            }
            entry = issuer_names;
        }
        Some((key.pkcs8.clone(), chain))
    })
}

/// The trusted certificates of a store (entries with Java's trust attribute), when it
/// opens. A bare certificate without the attribute is not trusted by Java and not listed;
/// a store with a key entry is not a trust store.
fn trusted_entries(bytes: &[u8], password: &str) -> Option<Vec<Vec<u8>>> {
    let store = pkcs12::read(bytes, password)?;
    let key_entry = store.keys.iter().any(|k| {
        k.local_key_id.is_some() && store.certs.iter().any(|c| c.local_key_id == k.local_key_id)
    });
    if key_entry {
        return None;
    }
    Some(
        store
            .certs
            .into_iter()
            .filter(|c| c.trusted && c.local_key_id.is_none())
            .map(|c| c.der)
            .collect(),
    )
}

/// A private key as PKCS#8 DER (v1 for Ed25519, which Java and OpenSSL 3.0 read).
fn pkcs8_der(label: &str, key_pem: &str) -> Result<Vec<u8>> {
    Ok(pki::load_key(label, key_pem)?.serialized_der().to_vec())
}

fn pem_der(label: &str, cert_pem: &str) -> Result<Vec<u8>> {
    Ok(crate::certinfo::from_pem(label, cert_pem)?.0)
}

fn store_error() -> Error {
    Error::failed("PKCS#12 store: encryption failed")
}

/// One offline check of the stores for `verify`: where, the problem if any, the fix.
pub(crate) struct Check {
    pub path: &'static str,
    pub problem: Option<String>,
    pub fix: String,
}

/// The stores of `dir`, when it has any: they open with the password file, the key store
/// holds certs/redis-client.key with certs/redis-client.crt and certs/ca.crt, the trust
/// store holds exactly certs/ca.crt as a trusted entry, and the secret holders are 0600.
pub(crate) fn checks(dir: &Path) -> Vec<Check> {
    let on_disk = OnDisk::read(dir);
    if !on_disk.present() {
        return Vec::new();
    }
    let again = "generate again with the first run's flags plus --pkcs12 (it rewrites only stale stores), or run `kimera-redis-init renew` on this folder";
    let mut out = Vec::new();
    let Some(password) = on_disk.password.as_deref() else {
        out.push(Check {
            path: layout::STORE_PASSWORD,
            problem: Some("is missing or empty, but the folder has PKCS#12 stores".into()),
            fix: "restore it, or generate again with --pkcs12 --force (new password and stores)"
                .into(),
        });
        return out;
    };
    let read = |rel: &str| fs::read_to_string(dir.join(rel)).ok();
    let trusted =
        read(layout::CA_CERT).and_then(|p| crate::certinfo::all_from_pem(layout::CA_CERT, &p).ok());
    let cert = read(layout::CLIENT_CERT).and_then(|p| pem_der(layout::CLIENT_CERT, &p).ok());
    let key = read(layout::CLIENT_KEY).and_then(|p| pkcs8_der(layout::CLIENT_KEY, &p).ok());

    let problem = match on_disk.keystore.as_deref() {
        None => Some("is missing".to_owned()),
        Some(bytes) => match key_entry(bytes, password) {
            None => Some(format!(
                "cannot be opened with the password in {} (or holds no key entry)",
                layout::STORE_PASSWORD
            )),
            Some((k, chain)) => {
                if Some(&k) != key.as_ref() {
                    Some(format!("holds another key than {}", layout::CLIENT_KEY))
                } else if chain.first() != cert.as_ref() {
                    Some(format!(
                        "holds another certificate than {} (stale)",
                        layout::CLIENT_CERT
                    ))
                } else if chain.len() != 2
                    || cert
                        .as_ref()
                        .and_then(|c| issuer_of(c, trusted.as_deref()?))
                        != chain.last().cloned()
                {
                    Some(format!("its chain does not end in {}", layout::CA_CERT))
                } else {
                    None
                }
            }
        },
    };
    out.push(Check {
        path: layout::CLIENT_P12,
        problem,
        fix: again.into(),
    });
    let problem = match on_disk.truststore.as_deref() {
        None => Some("is missing".to_owned()),
        Some(bytes) => match trusted_entries(bytes, password) {
            None => Some(format!(
                "cannot be opened with the password in {}",
                layout::STORE_PASSWORD
            )),
            Some(t) if trusted.as_ref() == Some(&t) => None,
            Some(t) if t.is_empty() => {
                Some("has no trusted certificate entry: Java trusts nothing from it".to_owned())
            }
            Some(_) => Some(format!(
                "does not hold exactly the CA(s) of {} as its trusted certificates",
                layout::CA_CERT
            )),
        },
    };
    out.push(Check {
        path: layout::TRUSTSTORE_P12,
        problem,
        fix: again.into(),
    });
    for rel in [layout::STORE_PASSWORD, layout::CLIENT_P12] {
        let Ok(meta) = fs::metadata(dir.join(rel)) else {
            continue;
        };
        let mode = meta.permissions().mode() & 0o777;
        out.push(Check {
            path: rel,
            problem: (mode & 0o077 != 0).then(|| format!("holds a secret but is mode {mode:04o}")),
            fix: format!("chmod 600 {}", dir.join(rel).display()),
        });
    }
    out
}

/// For `inspect`: each certificate in the stores of `dir`, labelled with its store and
/// entry. An error when a store does not open with the password file.
pub(crate) fn certificates(dir: &Path) -> Result<Vec<(String, Vec<u8>)>> {
    let on_disk = OnDisk::read(dir);
    let mut out = Vec::new();
    if on_disk.keystore.is_none() && on_disk.truststore.is_none() {
        return Ok(out);
    }
    let password = on_disk.password.as_deref().unwrap_or("");
    let unreadable = |rel: &str| {
        Error::failed(format!(
            "{rel}: cannot be opened with the password in {}; `kimera-redis-init verify` says more",
            layout::STORE_PASSWORD
        ))
    };
    if let Some(bytes) = on_disk.keystore.as_deref() {
        let (_, chain) =
            key_entry(bytes, password).ok_or_else(|| unreadable(layout::CLIENT_P12))?;
        for (i, der) in chain.into_iter().enumerate() {
            let role = if i == 0 {
                "key entry"
            } else {
                "chain of key entry"
            };
            out.push((
                format!("{} ({role} {CLIENT_ALIAS})", layout::CLIENT_P12),
                der,
            ));
        }
    }
    if let Some(bytes) = on_disk.truststore.as_deref() {
        let trusted =
            trusted_entries(bytes, password).ok_or_else(|| unreadable(layout::TRUSTSTORE_P12))?;
        for der in trusted {
            out.push((
                format!("{} (trusted entry {CA_ALIAS})", layout::TRUSTSTORE_P12),
                der,
            ));
        }
    }
    Ok(out)
}
