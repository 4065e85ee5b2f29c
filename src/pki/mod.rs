//! The PKI, made in memory: a CA (new or reused), the Redis server certificate and the
//! app's client certificate. Nothing here touches the disk; `existing` is what a
//! previous run left, read beforehand.

pub(crate) mod ownca;
pub(crate) mod pkcs12;
pub(crate) mod random;
pub(crate) mod secrets;
pub(crate) mod trust;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, RsaKeySize, SanType, SerialNumber,
};
use time::{Duration, OffsetDateTime};

use crate::readback::certinfo::{self, CertInfo};
use crate::error::{Error, Result};
use crate::readback::existing::Existing;
use crate::config::layout;
use crate::parallel;
use crate::config::request::{KeyType, RunOptions};
use crate::config::settings::Settings;
use crate::config::node::SanName;

/// How far `not_before` is set in the past, so that a peer whose clock is a little
/// behind does not see a certificate from the future.
const BACKDATE: Duration = Duration::hours(1);
const ORGANIZATION: &str = "KIMERA";

/// A certificate with its private key, both PEM, and what it says.
#[derive(Clone)]
pub(crate) struct CertKey {
    pub(crate) cert_pem: String,
    pub(crate) key_pem: String,
    pub(crate) info: CertInfo,
}

/// Everything a TLS profile needs.
pub(crate) struct Pki {
    /// Signs more certificates under the same CA (fixtures); `None` when the CA key is
    /// not at hand and nothing had to be signed.
    pub(crate) issuer: Option<Issuer<'static, KeyPair>>,
    /// The moment every certificate of this run counts from.
    pub(crate) now: OffsetDateTime,
    pub(crate) ca: CertKey,
    /// One per node, in the order of `Settings::nodes`.
    pub(crate) servers: Vec<CertKey>,
    pub(crate) client: CertKey,
    /// `--kubernetes`: the pods' server certificate (every pod and Service name).
    pub(crate) kubernetes: Option<CertKey>,
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

impl std::fmt::Debug for Pki {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pki")
            .field(
                "issuer",
                &self.issuer.as_ref().map(|_| crate::redact::Redacted),
            )
            .field("now", &self.now)
            .field("ca", &self.ca)
            .field("servers", &self.servers)
            .field("client", &self.client)
            .finish()
    }
}

/// What a leaf certificate is for.
struct LeafSpec<'a> {
    cert_path: &'a str,
    key_path: &'a str,
    common_name: &'a str,
    sans: &'a [SanName],
    usages: Vec<ExtendedKeyUsagePurpose>,
    /// The name clients dial, which a kept server certificate must still carry.
    dialled: Option<&'a str>,
}

/// Issue (or reuse) the CA and the leaves for `settings`; `fixtures` says more
/// certificates will be signed afterwards.
pub(crate) fn build(
    settings: &Settings,
    run: &RunOptions,
    existing: &Existing,
    fixtures: bool,
) -> Result<Pki> {
    let now = now();
    let k8s_names = settings
        .kubernetes
        .as_ref()
        .map(|k8s| (k8s.sans(settings.nodes.len()), k8s.service_fqdn(&k8s.name)));
    let specs = leaf_specs(settings, k8s_names.as_ref());
    // Without anything to sign, a CA whose key was moved offline is enough.
    let must_sign =
        fixtures || run.force || specs.iter().any(|spec| !existing.exists(spec.cert_path));
    // The leaves' new keys are made on the other cores while this one makes (or loads)
    // the CA: with RSA-4096 key generation is nearly all of a run.
    let needs_key: Vec<bool> = specs
        .iter()
        .map(|spec| {
            run.force || !(existing.exists(spec.cert_path) || existing.exists(spec.key_path))
        })
        .collect();
    let (ca_result, mut keys) = std::thread::scope(|scope| {
        let keys = scope.spawn(|| {
            parallel::map(needs_key, |needed| {
                needed.then(|| generate_key(settings.key_type)).transpose()
            })
        });
        let ca_result = ca(settings, run, existing, now, must_sign);
        (
            ca_result,
            keys.join().expect("key generation does not panic"),
        )
    });
    let (issuer, ca) = ca_result?;
    check_within_ca(settings.leaf_days, now, &ca.info, Some(layout::CA_CERT))?;
    if !run.force {
        check_kept_asked(settings, existing, &specs[..=settings.nodes.len()])?;
    }
    // Sign (or check the kept ones) on every core too; the order stays the specs'.
    let work: Vec<(&LeafSpec<'_>, Option<KeyPair>)> = specs
        .iter()
        .zip(keys.drain(..))
        .map(|(spec, key)| key.map(|k| (spec, k)))
        .collect::<Result<_>>()?;
    let mut leaves = parallel::map(work, |(spec, key)| {
        leaf(
            settings,
            run,
            issuer.as_ref(),
            &ca,
            existing,
            spec,
            now,
            key,
        )
    })
    .into_iter()
    .collect::<Result<Vec<_>>>()?;
    let kubernetes = k8s_names.is_some().then(|| leaves.pop()).flatten();
    let client = leaves.pop().expect("the client's spec is always there");
    let servers = leaves;
    if settings.external_ca.is_some() {
        check_under_external_ca(settings, &ca, &servers, &client, now)?;
    }
    Ok(Pki {
        issuer,
        now,
        ca,
        servers,
        client,
        kubernetes,
    })
}

/// Every leaf, in output order: the servers (one per node), the client, the pods' (with
/// `--kubernetes`: `k8s` is their names and the Service clients dial).
fn leaf_specs<'a>(
    settings: &'a Settings,
    k8s: Option<&'a (Vec<SanName>, String)>,
) -> Vec<LeafSpec<'a>> {
    let node_usages = server_usages(settings.cluster.is_some());
    let mut specs: Vec<LeafSpec<'a>> = settings
        .nodes
        .iter()
        .map(|node| LeafSpec {
            cert_path: &node.cert,
            key_path: &node.key,
            common_name: &node.host,
            sans: &node.sans,
            usages: node_usages.clone(),
            dialled: Some(&node.host),
        })
        .collect();
    specs.push(LeafSpec {
        cert_path: layout::CLIENT_CERT,
        key_path: layout::CLIENT_KEY,
        common_name: client_name(settings),
        sans: &[],
        usages: vec![ExtendedKeyUsagePurpose::ClientAuth],
        dialled: None,
    });
    if let Some((sans, service)) = k8s {
        // Pods dial each other (bus, replication) with it, so it is a client certificate too.
        specs.push(LeafSpec {
            cert_path: crate::config::layout::KUBERNETES_SERVER_CERT,
            key_path: crate::config::layout::KUBERNETES_SERVER_KEY,
            common_name: service,
            sans,
            usages: server_usages(true),
            dialled: Some(service),
        });
    }
    specs
}

/// The client certificate's common name: the app's ACL user, or `kimera-app`.
pub(crate) fn client_name(settings: &Settings) -> &str {
    settings.username.as_deref().unwrap_or("kimera-app")
}

/// Kept certificates must have what this run asks for (names, key type, validity,
/// usages); every difference is named at once (see `kept`).
fn check_kept_asked(
    settings: &Settings,
    existing: &Existing,
    specs: &[LeafSpec<'_>],
) -> Result<()> {
    let mut kept = Vec::new();
    for spec in specs {
        let want = crate::readback::kept::Wanted {
            cert_path: spec.cert_path,
            sans: spec.sans,
            usages: &spec.usages,
        };
        if let Some(pem) = existing.get(want.cert_path)
            && let Ok((_, info)) = certinfo::from_pem(want.cert_path, pem)
        {
            kept.push((want, info));
        }
    }
    crate::readback::kept::check(settings, &kept)
}

/// Under an organisation's CA, every certificate must verify the way clients check it
/// (its name constraints apply): see `ownca::check_issued`.
fn check_under_external_ca(
    settings: &Settings,
    ca: &CertKey,
    servers: &[CertKey],
    client: &CertKey,
    now: OffsetDateTime,
) -> Result<()> {
    let node_usages: Vec<trust::Usage> = server_usages(settings.cluster.is_some())
        .iter()
        .map(trust_usage)
        .collect();
    let mut leaves: Vec<(&str, &CertKey, Vec<trust::Usage>)> = settings
        .nodes
        .iter()
        .zip(servers)
        .map(|(n, c)| (n.cert.as_str(), c, node_usages.clone()))
        .collect();
    leaves.push((layout::CLIENT_CERT, client, vec![trust::Usage::Client]));
    crate::pki::ownca::check_issued(ca, &leaves, now)
}

/// The CA: an organisation's own (`--ca-cert/--ca-key`, never copied into the folder),
/// else the folder's own whenever both its files exist, `--force` or not (old and new
/// certificates then chain to the same root, and no CA key is ever lost), else a new one.
fn ca(
    settings: &Settings,
    run: &RunOptions,
    existing: &Existing,
    now: OffsetDateTime,
    must_sign: bool,
) -> Result<(Option<Issuer<'static, KeyPair>>, CertKey)> {
    if let Some((cert_pem, key_pem)) = existing.external_ca() {
        if existing.exists(layout::CA_KEY) {
            return Err(Error::usage(format!(
                "--ca-cert: {} already has its own CA ({}); allowed: leave out --ca-cert/--ca-key, or use a new --out",
                settings.out_dir.display(),
                layout::CA_KEY
            )));
        }
        let (issuer, ca) = crate::pki::ownca::load(cert_pem, key_pem, now)?;
        check_root("--ca-cert", &ca.info)?;
        if let Some(in_folder) = existing.get(layout::CA_CERT)
            && !crate::pki::ownca::is_folder_ca(cert_pem, in_folder)?
        {
            return Err(Error::usage(format!(
                "--ca-cert: {} holds another CA; allowed: the CA this folder was issued under, or a new --out",
                layout::CA_CERT
            )));
        }
        return Ok((
            Some(issuer),
            CertKey {
                key_pem: String::new(),
                ..ca
            },
        ));
    }
    let on_disk = if run.replace_ca {
        (None, None)
    } else {
        (existing.get(layout::CA_CERT), existing.get(layout::CA_KEY))
    };
    match on_disk {
        (Some(cert_pem), Some(key_pem)) => {
            let (issuer, ca) =
                load_issuer(layout::CA_CERT, cert_pem, layout::CA_KEY, key_pem, now)?;
            Ok((Some(issuer), ca))
        }
        (Some(cert_pem), None) if !must_sign => {
            let (_, info) = certinfo::from_pem(layout::CA_CERT, cert_pem)?;
            let ca = CertKey {
                cert_pem: cert_pem.to_owned(),
                key_pem: String::new(),
                info,
            };
            Ok((None, ca))
        }
        (None, None) => {
            let (issuer, ca) = new_ca(settings.key_type, settings.ca_days, now)?;
            Ok((Some(issuer), ca))
        }
        (Some(_), None) => Err(Error::failed(format!(
            "{} exists but {} does not: this run cannot reuse the CA and will not replace it; if \
             the folder was issued under your organisation's CA pass --ca-cert and --ca-key, \
             otherwise restore {1}, or move the certs folder away to start a new CA",
            layout::CA_CERT,
            layout::CA_KEY
        ))),
        (None, Some(_)) => Err(Error::failed(format!(
            "{} exists but {} does not: this run cannot reuse the CA and will not replace it; \
             restore {1}, or move the certs folder away to start a new CA",
            layout::CA_KEY,
            layout::CA_CERT
        ))),
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
    let info = certinfo::from_der(layout::CA_CERT, cert.der())?;
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
    let (_, info) = certinfo::from_pem(cert_label, cert_pem)?;
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

/// A leaf without `--force` keeps what is on disk: both files as they are, or the key
/// with a new certificate when only the key is left. With `--force`: new key, new cert.
#[allow(clippy::too_many_arguments)]
fn leaf(
    settings: &Settings,
    run: &RunOptions,
    issuer: Option<&Issuer<'static, KeyPair>>,
    ca: &CertKey,
    existing: &Existing,
    spec: &LeafSpec<'_>,
    now: OffsetDateTime,
    fresh_key: Option<KeyPair>,
) -> Result<CertKey> {
    let on_disk = (existing.get(spec.cert_path), existing.get(spec.key_path));
    let key = match (run.force, on_disk.0, on_disk.1) {
        (false, Some(cert_pem), Some(key_pem)) => {
            let key = load_key(spec.key_path, key_pem)?;
            let (der, info) = certinfo::from_pem(spec.cert_path, cert_pem)?;
            check_pair(spec.cert_path, spec.key_path, &info, &key)?;
            check_kept(spec, &der, &info, ca, now)?;
            return Ok(CertKey {
                cert_pem: cert_pem.to_owned(),
                key_pem: key_pem.to_owned(),
                info,
            });
        }
        (false, Some(_), None) => {
            return Err(Error::failed(format!(
                "{} exists but its key {} does not; restore the key, or run with --force to \
                 issue a new pair",
                spec.cert_path, spec.key_path
            )));
        }
        (false, None, Some(key_pem)) => load_key(spec.key_path, key_pem)?,
        _ => match fresh_key {
            Some(key) => key,
            None => generate_key(settings.key_type)?,
        },
    };
    let issuer = issuer.ok_or_else(|| {
        Error::failed(format!(
            "{} must be issued but the CA key is not here",
            spec.cert_path
        ))
    })?;
    issue_leaf(
        issuer,
        &key,
        name(spec.common_name),
        spec.sans,
        &spec.usages,
        validity(now, settings.leaf_days),
        spec.cert_path,
    )
}

/// A certificate kept from an earlier run must still fit this run: issued by this CA for
/// its usage, unexpired, and naming the host clients dial. Otherwise the kept files and
/// the new ones would not work together.
fn check_kept(
    spec: &LeafSpec<'_>,
    der: &[u8],
    info: &CertInfo,
    ca: &CertKey,
    now: OffsetDateTime,
) -> Result<()> {
    let force = "run with --force to issue it again (the CA is kept)";
    let ca_der = certinfo::from_pem(layout::CA_CERT, &ca.cert_pem)?.0;
    let unix_now = unix_time(now);
    for usage in &spec.usages {
        let usage = trust_usage(usage);
        if let Err(e) = trust::chains(&ca_der, der, usage, unix_now) {
            let why = if info.not_after <= now {
                crate::readback::certinfo::expired_on(info.not_after)
            } else {
                format!(
                    "is not valid under {} for {} ({e})",
                    layout::CA_CERT,
                    usage.name()
                )
            };
            return Err(Error::failed(format!(
                "kept {} {why}; {force}",
                spec.cert_path
            )));
        }
    }
    if let Some(host) = spec.dialled
        && trust::covers(der, host).is_err()
    {
        return Err(Error::failed(format!(
            "kept {} does not name {host}, which clients will dial; {force}",
            spec.cert_path
        )));
    }
    Ok(())
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
fn trust_usage(usage: &ExtendedKeyUsagePurpose) -> trust::Usage {
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
    let info = certinfo::from_der(label, cert.der())?;
    Ok(CertKey {
        cert_pem: cert.pem(),
        key_pem: key_pem(key),
        info,
    })
}

/// An Ed25519 key as PKCS#8 v1 (RFC 5208, without the public key): aws-lc's default v2
/// is a format OpenSSL 3.0, and so Redis on Debian 12, cannot load.
fn ed25519_v1() -> std::result::Result<KeyPair, rcgen::Error> {
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

fn check_pair(cert_path: &str, key_path: &str, info: &CertInfo, key: &KeyPair) -> Result<()> {
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

pub(crate) fn name(common_name: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, ORGANIZATION);
    dn.push(DnType::CommonName, common_name);
    dn
}

/// 128 random bits, positive and of fixed length (RFC 5280 allows up to 20 octets).
fn random_serial() -> SerialNumber {
    let mut bytes = random_bytes::<16>();
    bytes[0] = (bytes[0] & 0x7f) | 0x40;
    SerialNumber::from_slice(&bytes)
}

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    aws_lc_rs::rand::fill(&mut out).expect("the OS random source works");
    out
}

fn pki_error(e: rcgen::Error) -> Error {
    Error::failed(format!("certificate generation failed: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_key_type_is_described_as_certinfo_reads_it_back() {
        let now = now();
        for kt in KeyType::ALL {
            let (_, ca) = new_ca(kt, 1, now).unwrap();
            assert_eq!(ca.info.key, kt.description(), "{}", kt.name());
            assert_eq!(KeyType::from_description(&ca.info.key), Some(kt));
        }
        assert_eq!(KeyType::from_description("DSA 1024"), None);
    }
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
