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

use crate::config::layout;
use crate::error::{Error, Result};
use crate::pki;
use crate::pki::issue::CertKey;
use crate::pki::pkcs12::{self, CertIn, KeyIn};
use crate::regularfile::Unreadable;
use crate::render::bundle::{Bundle, Kind};
use crate::render::escape::sh_word;

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
    /// What `dir` holds; read before anything is built, writes nothing. A store or
    /// password file that is there but is no regular file of sane size (a FIFO, a link
    /// to /dev/zero) is refused naming it.
    pub(crate) fn read(dir: &Path) -> Result<OnDisk> {
        Self::read_each(dir).map_err(|(rel, e)| e.at(&dir.join(rel)))
    }

    /// `read`, saying which file could not be read.
    fn read_each(dir: &Path) -> std::result::Result<OnDisk, (&'static str, Unreadable)> {
        let read = |rel: &'static str| match crate::regularfile::read(&dir.join(rel)) {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.is_missing() => Ok(None),
            Err(e) => Err((rel, e)),
        };
        let password_file = read(layout::STORE_PASSWORD)?;
        let password = password_file
            .as_deref()
            .and_then(|b| std::str::from_utf8(b).ok())
            .map(|p| p.trim().to_owned())
            .filter(|p| !p.is_empty());
        Ok(OnDisk {
            password_file,
            password,
            keystore: read(layout::CLIENT_P12)?,
            truststore: read(layout::TRUSTSTORE_P12)?,
        })
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
            let p = crate::pki::random::alphanumeric(32);
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
    let on_disk = OnDisk::read(dir)?;
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
    let trusted = crate::certificate::all_from_pem(layout::CA_CERT, ca_pem)?;
    let ca = issuer_of(&cert, &trusted).ok_or_else(|| {
        Error::failed(format!(
            "{} is not issued by a CA in {}",
            layout::CLIENT_CERT,
            layout::CA_CERT
        ))
    })?;

    let keystore = match on_disk.keystore.as_deref() {
        Some(bytes)
            if extra_entries(bytes, password, 1, 2).is_none()
                && key_entry(bytes, password)
                    .is_some_and(|e| e == (key.clone(), vec![cert.clone(), ca.clone()])) =>
        {
            bytes.to_vec()
        }
        _ => write_keystore(&key, &cert, &ca, password)?,
    };
    let truststore = match on_disk.truststore.as_deref() {
        Some(bytes)
            if extra_entries(bytes, password, 0, trusted.len()).is_none()
                && trusted_entries(bytes, password).is_some_and(|t| t == trusted) =>
        {
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
        crate::certificate::from_der("certificate", der)
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
    let issuer = crate::certificate::from_der("certificate", cert)
        .ok()?
        .issuer;
    cas.iter()
        .find(|ca| crate::certificate::from_der("CA", ca).is_ok_and(|info| info.subject == issuer))
        .cloned()
}

/// A store that opens but holds other than the `keys` and `certs` the tool writes there
/// (a CA's or a server's private key added as an extra entry, say): the problem.
fn extra_entries(bytes: &[u8], password: &str, keys: usize, certs: usize) -> Option<String> {
    let store = pkcs12::read(bytes, password)?;
    (store.keys.len() != keys || store.certs.len() != certs).then(|| {
        format!(
            "weakens security: holds {} private key(s) and {} certificate(s); kimera-redis-init \
             writes {keys} and {certs}: whoever gets the store gets what else was put in it",
            store.keys.len(),
            store.certs.len()
        )
    })
}

/// The key store's key entry: PKCS#8 key and certificate chain (DER), when it opens.
/// The key is the first one whose local key id a certificate shares; the chain goes from
/// that certificate up through the untrusted certificates of the store by issuer name.
fn key_entry(bytes: &[u8], password: &str) -> Option<(Vec<u8>, Vec<Vec<u8>>)> {
    let store = pkcs12::read(bytes, password)?;
    let names = |der: &[u8]| {
        crate::certificate::from_der("certificate", der)
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
    Ok(pki::keys::load_key(label, key_pem)?
        .serialized_der()
        .to_vec())
}

fn pem_der(label: &str, cert_pem: &str) -> Result<Vec<u8>> {
    Ok(crate::certificate::from_pem(label, cert_pem)?.0)
}

fn store_error() -> Error {
    Error::failed("PKCS#12 store: encryption failed")
}

/// One offline check of the stores for `verify`: where, the problem if any, the fix.
pub(crate) struct Check {
    pub(crate) path: &'static str,
    pub(crate) problem: Option<String>,
    pub(crate) fix: String,
}

/// The stores of `dir`, when it has any: they open with the password file, the key store
/// holds certs/redis-client.key with certs/redis-client.crt and certs/ca.crt, the trust
/// store holds exactly certs/ca.crt as a trusted entry, and the secret holders are 0600.
/// `pinned` is the CAs the folder pins: the trust store must hold exactly those, whatever
/// else was appended to ca.crt.
pub(crate) fn checks(dir: &Path, pinned: &[Vec<u8>]) -> Vec<Check> {
    let on_disk = match OnDisk::read_each(dir) {
        Ok(d) => d,
        Err((path, e)) => return vec![unreadable(dir, path, e.to_string())],
    };
    if !on_disk.present() {
        return Vec::new();
    }
    let again = format!(
        "run `kimera-redis-init --out {}` (a re-run from the record: it writes stale stores again from the PEM files, same password)",
        sh_word(&dir.display().to_string())
    );
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
    // The file's bytes are the password Java's keytool and JSSE are given: a newline
    // after it is part of it for them.
    if on_disk.password_file.as_deref() != Some(password.as_bytes()) {
        let p = sh_word(&dir.join(layout::STORE_PASSWORD).display().to_string());
        out.push(Check {
            path: layout::STORE_PASSWORD,
            problem: Some(
                "holds whitespace around the password (a newline, say): Java reads the file's \
                 bytes as the password and cannot open the stores with them"
                    .into(),
            ),
            fix: format!(
                "run `(umask 077 && tr -d ' \\t\\r\\n' < {p} > {p}.new) && mv {p}.new {p}`"
            ),
        });
    }
    // Unreadable PEM files are verify's own findings; here they only fail the match.
    let read = |rel: &str| crate::regularfile::read_text(&dir.join(rel)).ok();
    let trusted = Some(pinned.to_vec()).filter(|p| !p.is_empty());
    let cert = read(layout::CLIENT_CERT).and_then(|p| pem_der(layout::CLIENT_CERT, &p).ok());
    let key = read(layout::CLIENT_KEY).and_then(|p| pkcs8_der(layout::CLIENT_KEY, &p).ok());
    out.push(Check {
        path: layout::CLIENT_P12,
        problem: keystore_problem(
            on_disk.keystore.as_deref(),
            password,
            key.as_ref(),
            cert.as_ref(),
            trusted.as_deref(),
        ),
        fix: again.clone(),
    });
    out.push(Check {
        path: layout::TRUSTSTORE_P12,
        problem: truststore_problem(
            on_disk.truststore.as_deref(),
            password,
            pinned,
            trusted.as_ref(),
        ),
        fix: again.clone(),
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

/// A store's file that is no regular file of sane size: named, with the way out.
fn unreadable(dir: &Path, path: &'static str, problem: String) -> Check {
    Check {
        path,
        problem: Some(problem),
        fix: format!(
            "look at it (kimera-redis-init writes regular files of a few KiB), then \
             remove it (rm -r {}) and generate again with --pkcs12 --force (new \
             password and stores)",
            crate::printable::text(&crate::render::escape::sh_word(
                &dir.join(path).display().to_string()
            ))
        ),
    }
}

/// Why a store does not open, in words: a wrong password, a corrupt file, an
/// unsupported algorithm and a too costly one each say so.
fn unopened(bytes: &[u8], password: &str) -> Option<String> {
    pkcs12::open(bytes, password).err().map(|e| e.to_string())
}

/// What is wrong with the key store, if anything: it must hold the client's key with
/// the client's certificate, chained to a pinned CA, and nothing else.
fn keystore_problem(
    bytes: Option<&[u8]>,
    password: &str,
    key: Option<&Vec<u8>>,
    cert: Option<&Vec<u8>>,
    trusted: Option<&[Vec<u8>]>,
) -> Option<String> {
    let Some(bytes) = bytes else {
        return Some("is missing".to_owned());
    };
    if let Some(why) = unopened(bytes, password).or_else(|| extra_entries(bytes, password, 1, 2)) {
        return Some(why);
    }
    let Some((k, chain)) = key_entry(bytes, password) else {
        return Some(format!(
            "cannot be opened with the password in {} (or holds no key entry)",
            layout::STORE_PASSWORD
        ));
    };
    if Some(&k) != key {
        Some(format!("holds another key than {}", layout::CLIENT_KEY))
    } else if chain.first() != cert {
        Some(format!(
            "holds another certificate than {} (stale)",
            layout::CLIENT_CERT
        ))
    } else if chain.len() != 2 || cert.and_then(|c| issuer_of(c, trusted?)) != chain.last().cloned()
    {
        Some(format!("its chain does not end in {}", layout::CA_CERT))
    } else {
        None
    }
}

/// What is wrong with the trust store, if anything: its trusted certificates must be
/// exactly the pinned CAs.
fn truststore_problem(
    bytes: Option<&[u8]>,
    password: &str,
    pinned: &[Vec<u8>],
    trusted: Option<&Vec<Vec<u8>>>,
) -> Option<String> {
    let Some(bytes) = bytes else {
        return Some("is missing".to_owned());
    };
    if let Some(why) =
        unopened(bytes, password).or_else(|| extra_entries(bytes, password, 0, pinned.len()))
    {
        return Some(why);
    }
    match trusted_entries(bytes, password) {
        None => Some(format!(
            "cannot be opened with the password in {}",
            layout::STORE_PASSWORD
        )),
        Some(t) if trusted == Some(&t) => None,
        Some(t) if t.is_empty() => {
            Some("has no trusted certificate entry: Java trusts nothing from it".to_owned())
        }
        Some(_) => Some(format!(
            "does not hold exactly the CA(s) of {} as its trusted certificates",
            layout::CA_CERT
        )),
    }
}

/// For `inspect`: each certificate in the stores of `dir`, labelled with its store and
/// entry. An error when a store does not open with the password file.
pub(crate) fn certificates(dir: &Path) -> Result<Vec<(String, Vec<u8>)>> {
    let on_disk = OnDisk::read(dir)?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pki::pkcs12::tests::hex;

    /// The stores of `generate --profile production-tls --host localhost --pkcs12` as the
    /// build before src/pki/pkcs12.rs wrote them with p12-keystore 0.4.1 (an 8-byte MAC salt),
    /// with their password: folders made then must still verify, inspect and be kept.
    /// certs/redis-client.p12 of that folder.
    const OLD_KEYSTORE: &str = concat!(
        "308207510201033082070906092a864886f70d010701a08206fa048206f6308206f23082055a06092a864886",
        "f70d010706a082054b308205470201003082054006092a864886f70d010701306f06092a864886f70d01050d",
        "3062304106092a864886f70d01050c30340420c75219d46ff91798c1088186c542b0a908893c3dbcfb443286",
        "ef741d828d5ad402022710300c06082a864886f70d02090500301d060960864801650304012a0410609611e7",
        "89831ef60702e5f91014c3ff808204c0215df3371f4b64c429e05f74d7203d01a423b7b7957f2e1be1caa80b",
        "f8ca4c3ea93a1bd895f68af5496dd499da0fc446f6d7be8787b9d6529c354fc808dba44d46adbd2725783ad9",
        "42b59311d09bc6210543ab2f0c9e298a060ed5603468eb5f064d79d831e8fe8da51a071e119c93e2ecffc905",
        "c0c2bbb509bb3bf5598dad61c4eb5c1c7e5d280aee7812fa0333dbcd0a010a5aee5c31e37573928402aadd29",
        "9e8f4774a73c6859770507cf9b7f145d899de82ecbb92aa3cdaf7aebfb5e5db82a8a658315b934f4296e54bb",
        "b8bebc76ccd8e41699314cf836a6fcca995a5ba18898451f3ac480854e6ffef32f7a21f9ddb33a971a78b459",
        "6c93d129254658880edb1c2414b8875d3163cfb3723b4e41bc36c9202b80b789e2381ecfe56c47fab3da6f64",
        "e0dcc7f8cea4acb62599369ffb90bb23f4e1a881005e2dee713eee222c08d90a35004ea6fb9ee65ec055da00",
        "4422def9f1aea4a551a02622c8708a9a41bf59509c439f3d3636fb7ad79bc713a14a30d2f2dba6c012f0cce5",
        "c225ec536a8fe929e9b23e2fe5c6de023f5b58c3ce3bb1666c01cc84de498694279637bb86e16d42277f4707",
        "aa4f6e230a9d0a0b18c6885f81bab5333430c16580e140900ff21ae32cf2a24ad010ffdaeb5841064e9c8401",
        "8a670bb3ef7aaee63699454b4b1b2aade1cac638bcfc9679cdadd58eebc5ce65770b737b3e612d1cadef41bc",
        "67a652794fbc36cd72f0f2aa3270316ebbd6ef572ee5507a2ee9acf59ac1ee6fee7fd0cb0f05ca947ae14a6c",
        "166f1e7cdcd3f74eda27835ec456f5e678b702c43f9ad204488278af9b32149cca8cf6b92fad278bb1681932",
        "0dab10289e26245e71a037c85152797be2d2e665234f508f9a805cc23636fe480db71213019b378cdb68aef2",
        "348d201015c2b68a7c299deb2981b5097ccc930340a3762cb687d493ec18c3af082541255342a7f75df27763",
        "890d2c92a733a25d8e70b32fa057ce2fb0ad54f1879d8c78df1178f54c7bd78ed5dde13ce595d3d5bfa30c99",
        "4e54cfcae5cb028674dbfd852952a503eb4e5887415e5d4a7ddac0e0e010fbf105b0a998e3de14ee972d48b1",
        "5e656f47319b3587755ece31c159abea11a57e0cfc9988564715b5b00ecd574cd78ca95ddd02baf64e6caa99",
        "b6c291d1dec541523e2970c393654fa6202a38b8ce7d4462cebf5ed0869d8a47ca7aa561a08ff338ad654cd0",
        "c47e957fb0813f8e634c21d10d81e7140390d8f9ce745b4a62d73d2946e8d2cbf3345aee1b8a57c6e6071e3f",
        "ad87f80fcadc675f1f56e5e6411403687829eba0f090eb3f65f1b08866d4598444bed0cdf3362fab53cc7c80",
        "c14515fe4b3c0ad792c1567803eb4a75a3087acdb8fef8b8e4706fe2bad71758fb99fd74bbb0e1e7cdcf2aaf",
        "aa40e4f072ab6c1b736d390a3d3ac10d93f70b75601938a8f14b8cc058a503f6f9c344fb67b52d44f043a942",
        "1bbaea8d036cdb54d89358b3b0fbcc149fb6509fd7c78cb79126fdfaaf49179ef4d78a7bfbd87904dbdc69ed",
        "52fe0e00d6e56dc0b02d50a49cdc4ecbcdfed4e860abdf1b2b8a92c934153f86171b6ab2cc58ac54a4d9e915",
        "eb87375c0af79951abc569c514c09dab72fc5d1df31df4a6a663fbbdd5732a5c329ee1fbc817478e3f9055e7",
        "ff463bc695b134afc03650664a1e2ee8684f22e8bd970b1d13bc4eddff58075f80e2a4c82420b7e236204333",
        "3082019006092a864886f70d010701a08201810482017d3082017930820175060b2a864886f70d010c0a0102",
        "a082010830820104306f06092a864886f70d01050d3062304106092a864886f70d01050c3034042054494a23",
        "2098a90443b2ea5786516772e07061c27ea0b2a76b0cecae90dc697b02022710300c06082a864886f70d0209",
        "0500301d060960864801650304012a0410aea49ba53c1f926f1bdbf99f7e3fbd57048190ab159e19bdc2f149",
        "35a5ad962b8d3aab0c228ed5abca8d252b1a4cef2ca06f40facae5366f467c2d9f68a52697f6f24b3747a75b",
        "d8f3d080cbd49f584a47508d0969956aa58c4266d9dfbefebf184373f12298ab561cf4333be70023502e856f",
        "2485176240613c18949c609bb4a24b580260bbb16e222096c4bf3726083ce7ebed1c82da1c526f34d1a86147",
        "83eee1c6315a302706092a864886f70d010914311a1e1800720065006400690073002d0063006c0069006500",
        "6e0074302f06092a864886f70d01091531220420dea37f736cd002158b0847f91b18ee7eabc6bb24dae4ecc3",
        "9ef27dbc85b0f3f3303f302f300b06096086480165030402010420db971015b44371ef6f3c207b2984af2ef0",
        "3d4fa455dc57c49f304f1de361017e04083531b90aecb6c1f602022710",
    );
    /// certs/truststore.p12 of that folder.
    const OLD_TRUSTSTORE: &str = concat!(
        "30820340020103308202f806092a864886f70d010701a08202e9048202e5308202e1308202ca06092a864886",
        "f70d010706a08202bb308202b7020100308202b006092a864886f70d010701306f06092a864886f70d01050d",
        "3062304106092a864886f70d01050c303404206ca8d972c428204679cc816c6ac00497d20fa8d9a5aba90196",
        "e0114035a5c86902022710300c06082a864886f70d02090500301d060960864801650304012a0410370fcb6a",
        "c4f9b0defeb37cf6f21c8db5808202308adf696bceddb73de9694a22644ff029470a503f6ed1a0df377e7b65",
        "9855cd944cdf0e12dc899484fcc4e93977e1b8ab073bc5fd53c8006affdee6f858e008d40cb4763b296d77f9",
        "3136fb563b4767f1d6baac39a8734b368d27a476a6545decbe5f2e1c1675bb747230fb69852cf2769c211677",
        "3fcc827a24881e5b636ece78c9dcca6688e15a4f5e522f704141dba718c90abd9a0d0ef6921d437fc5d753cd",
        "bf68f3dfa4e44866072e8c921e0bda7dba6a2e3aa9e1265fcae6c301ef87ca7d4bcb5869a2ec0cceb850b1eb",
        "7e46ea436583a7d9eb77b68c02d1cc698e6bb9924863d12909ec863252d8fc76554523ef1feab74c9ef7e2d4",
        "e418e0644834fad6b8cc0de590d23cf4a529e94d2f43b981eb5ccb8e9e21f878c3ee2105b64af581a26c169c",
        "72a40474ad254b8653a2a52332ea0f46e439ab9b653bb03af0bc86e55691421e69d30b28d62b5899333627de",
        "5ba6e6bf7aa72011c74464e21ba3152dbe7cd462f753edd31b63ef32af7d1dfef3d2a81d3a08a0858b8e8bde",
        "d7f297453f8c80634e3c02c83c8e0338efcd6041051ae07a3455785a293c21c414218224ea04fc4e507bee67",
        "6e32061141fc8fd5400800ff445970b3409e2c7a64568478b09c5baf763f4008ce83223086e09b3b3a009b0e",
        "d6f39b6c12361fa2e8720882a8585c095a0d7425f3daeaf0ddc4252835fafb71febed54c05e4950a388db1f3",
        "2c4e42231097e20fbac969c67e3d5296801fa7a3ee3c04a05e21ec8647552f9aae8e75d0bcabbf4fbb09e244",
        "f1f21d40301106092a864886f70d010701a00404023000303f302f300b06096086480165030402010420fb4d",
        "3888835ad00e7944f97efba0d8cf7965a9efdf178563c837ad47b6df79ee04085db87e83124a175702022710",
    );
    const OLD_PASSWORD: &str = "KBdsMIYhgJKYPWzVIJbJ7H7NV718wUb8";
    /// SHA-256 of the DER in that folder's redis-client.key, redis-client.crt and ca.crt.
    const KEY_SHA256: &str = "32a8309ef9de4bee81579393bcb054c9c6d0393b9ef69cd92600385182248aea";
    const LEAF_SHA256: &str = "dea37f736cd002158b0847f91b18ee7eabc6bb24dae4ecc39ef27dbc85b0f3f3";
    const CA_SHA256: &str = "0472dd2078bc1871ac4a5373ad1fd455db61494c9313fe00fea589f96c5e01e8";

    fn sha256(der: &[u8]) -> Vec<u8> {
        aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, der)
            .as_ref()
            .to_vec()
    }

    /// The old stores open and give the key entry (key, leaf, CA) and the one trusted CA
    /// that their folder's PEM files hold.
    #[test]
    fn opens_the_stores_p12_keystore_wrote() {
        let (keystore, truststore) = (hex(OLD_KEYSTORE), hex(OLD_TRUSTSTORE));
        let (key, chain) = key_entry(&keystore, OLD_PASSWORD).expect("the key store opens");
        assert_eq!(sha256(&key), hex(KEY_SHA256));
        let chain: Vec<_> = chain.iter().map(|der| sha256(der)).collect();
        assert_eq!(chain, [hex(LEAF_SHA256), hex(CA_SHA256)]);
        let trusted = trusted_entries(&truststore, OLD_PASSWORD).expect("the trust store opens");
        let trusted: Vec<_> = trusted.iter().map(|der| sha256(der)).collect();
        assert_eq!(trusted, [hex(CA_SHA256)]);

        assert_eq!(
            key_entry(&keystore, "KBdsMIYhgJKYPWzVIJbJ7H7NV718wUb9"),
            None
        );
        assert_eq!(trusted_entries(&truststore, ""), None);
        // Neither passes for the other: the key store holds no trusted entry but a key,
        // the trust store no key.
        assert_eq!(trusted_entries(&keystore, OLD_PASSWORD), None);
        assert_eq!(key_entry(&truststore, OLD_PASSWORD), None);
    }

    /// New stores made from the old stores' contents read back as the same entries, and
    /// only as what they are.
    #[test]
    fn new_stores_hold_exactly_what_went_in() {
        let (key, chain) = key_entry(&hex(OLD_KEYSTORE), OLD_PASSWORD).unwrap();
        let (leaf, ca) = (&chain[0], &chain[1]);
        let keystore = write_keystore(&key, leaf, ca, "pw").unwrap();
        assert_eq!(
            key_entry(&keystore, "pw"),
            Some((key.clone(), chain.clone()))
        );
        assert_eq!(trusted_entries(&keystore, "pw"), None);
        assert_eq!(key_entry(&keystore, "pW"), None);

        // A CA rollover's two CAs (the leaf stands in for the second one).
        let cas = vec![ca.clone(), leaf.clone()];
        let truststore = write_truststore(&cas, "pw").unwrap();
        assert_eq!(trusted_entries(&truststore, "pw"), Some(cas));
        assert_eq!(key_entry(&truststore, "pw"), None);
        let aliases: Vec<_> = crate::pki::pkcs12::read(&truststore, "pw")
            .unwrap()
            .certs
            .into_iter()
            .map(|c| c.friendly_name.unwrap())
            .collect();
        assert_eq!(aliases, [CA_ALIAS, "kimera-redis-ca-2"]);
    }
}
