//! The PKI, made in memory: a CA (new or reused), the Redis server certificate and the
//! app's client certificate. Nothing here touches the disk; `existing` is what a
//! previous run left, read beforehand.

pub(crate) mod issue;
pub(crate) mod kept;
pub(crate) mod keys;
pub(crate) mod ownca;
pub(crate) mod pkcs12;
pub(crate) mod random;
pub(crate) mod secrets;
pub(crate) mod trust;

use rcgen::{ExtendedKeyUsagePurpose, Issuer, KeyPair};
use time::OffsetDateTime;

use crate::certificate::{self, CertInfo};
use crate::config::layout;
use crate::config::node::SanName;
use crate::config::request::RunOptions;
use crate::config::settings::Settings;
use crate::error::{Error, Result};
use crate::parallel;
use crate::readback::existing::Existing;

use issue::*;
use keys::*;

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
    /// `--metrics` with TLS: the exporter's client certificate.
    pub(crate) metrics: Option<CertKey>,
    /// `--kubernetes`: the pods' server certificate (every pod and Service name).
    pub(crate) kubernetes: Option<CertKey>,
    /// `--kubernetes` for a cluster: the cluster-create Job's client certificate.
    pub(crate) kubernetes_job: Option<CertKey>,
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
            .field("metrics", &self.metrics)
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
    let (ca_result, mut keys) = ca_and_new_keys(settings, run, existing, &specs, now, must_sign);
    let (issuer, ca) = ca_result?;
    check_within_ca(settings.leaf_days, now, &ca.info, Some(layout::CA_CERT))?;
    // Sign (or check the kept ones) on every core too; the order stays the specs'.
    let work: Vec<(&LeafSpec<'_>, Option<KeyPair>)> = specs
        .iter()
        .zip(keys.drain(..))
        .map(|(spec, key)| key.map(|k| (spec, k)))
        .collect::<Result<_>>()?;
    // Signing is as slow as the CA's key: an RSA CA's (or an organisation's, of any type)
    // signatures are worth threads, an ECDSA CA's only in a large cluster.
    let heavy_signing = settings.key_type.is_rsa() || settings.external_ca.is_some();
    let mut leaves = parallel::map_weighted(work, heavy_signing, |(spec, key)| {
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
    let kubernetes_job = job_leaf(settings, k8s_names.as_ref())
        .then(|| leaves.pop())
        .flatten();
    let kubernetes = k8s_names.is_some().then(|| leaves.pop()).flatten();
    let metrics = settings.metrics.is_some().then(|| leaves.pop()).flatten();
    let client = leaves.pop().expect("the client's spec is always there");
    let servers = leaves;
    if settings.external_ca.is_some() {
        check_under_external_ca(settings, &ca, &servers, &client, metrics.as_ref(), now)?;
    }
    Ok(Pki {
        issuer,
        now,
        ca,
        servers,
        client,
        metrics,
        kubernetes,
        kubernetes_job,
    })
}

/// The CA: its issuer when its key is at hand (`None` when the key was moved offline
/// and nothing needs signing), and its certificate.
type Ca = (Option<Issuer<'static, KeyPair>>, CertKey);

/// The CA (made, loaded or reused) and a new key for each leaf that needs one, in the
/// specs' order. The leaves' keys are made on the other cores while this one makes (or
/// loads) the CA when that pays: with RSA-4096, key generation is nearly all of a run.
fn ca_and_new_keys(
    settings: &Settings,
    run: &RunOptions,
    existing: &Existing,
    specs: &[LeafSpec<'_>],
    now: OffsetDateTime,
    must_sign: bool,
) -> (Result<Ca>, Vec<Result<Option<KeyPair>>>) {
    let needs_key: Vec<bool> = specs
        .iter()
        .map(|spec| {
            run.force || !(existing.exists(spec.cert_path) || existing.exists(spec.key_path))
        })
        .collect();
    // ECDSA and Ed25519 keys take microseconds: threads for them only in a large cluster.
    let rsa = settings.key_type.is_rsa();
    let new_keys = needs_key.iter().filter(|n| **n).count();
    let make_keys = |needs_key: Vec<bool>| {
        parallel::map_weighted(needs_key, rsa, |needed| {
            needed.then(|| generate_key(settings.key_type)).transpose()
        })
    };
    if parallel::worth_threads(new_keys, rsa) {
        std::thread::scope(|scope| {
            let keys = scope.spawn(|| make_keys(needs_key));
            let ca_result = ca(settings, run, existing, now, must_sign);
            (
                ca_result,
                keys.join().expect("key generation does not panic"),
            )
        })
    } else {
        (
            ca(settings, run, existing, now, must_sign),
            make_keys(needs_key),
        )
    }
}

/// The PKI as the folder holds it, for verify's regeneration: every certificate and key
/// read as it is, nothing checked, issued or signed (verify judges them itself). A file
/// that is missing or does not parse is an empty entry: the files rendered from the PKI
/// (Kubernetes Secrets, PKCS#12 stores) then differ from what is there, and say so. The
/// CA is `pinned` alone (the folder's CAs, as DER; all of ca.crt when empty): what the
/// tool writes, whatever else was appended to ca.crt.
pub(crate) fn as_found(settings: &Settings, existing: &Existing, pinned: &[Vec<u8>]) -> Pki {
    let k8s_names = settings
        .kubernetes
        .as_ref()
        .map(|k8s| (k8s.sans(settings.nodes.len()), k8s.service_fqdn(&k8s.name)));
    let found = |cert: &str, key: &str| {
        let cert_pem = existing.get(cert).unwrap_or_default().to_owned();
        let info = certificate::from_pem(cert, &cert_pem)
            .map(|(_, info)| info)
            .unwrap_or_else(|_| CertInfo::unreadable());
        CertKey {
            cert_pem,
            key_pem: existing.get(key).unwrap_or_default().to_owned(),
            info,
        }
    };
    let mut leaves: Vec<CertKey> = leaf_specs(settings, k8s_names.as_ref())
        .iter()
        .map(|spec| found(spec.cert_path, spec.key_path))
        .collect();
    let kubernetes_job = job_leaf(settings, k8s_names.as_ref())
        .then(|| leaves.pop())
        .flatten();
    let kubernetes = k8s_names.is_some().then(|| leaves.pop()).flatten();
    let metrics = settings.metrics.is_some().then(|| leaves.pop()).flatten();
    let client = leaves.pop().expect("the client's spec is always there");
    let mut ca = found(layout::CA_CERT, layout::CA_KEY);
    if !pinned.is_empty() {
        ca.cert_pem = only_pinned(&ca.cert_pem, pinned);
    }
    Pki {
        issuer: None,
        now: now(),
        ca,
        servers: leaves,
        client,
        metrics,
        kubernetes,
        kubernetes_job,
    }
}

/// Whether the leaves end with the cluster-create Job's certificate: manifests for a
/// cluster (the Job exists only there).
fn job_leaf(settings: &Settings, k8s: Option<&(Vec<SanName>, String)>) -> bool {
    k8s.is_some() && settings.is_cluster()
}

/// The PEM blocks of `pem` whose certificate is one of `pinned`, as they are written.
fn only_pinned(pem: &str, pinned: &[Vec<u8>]) -> String {
    const END: &str = "-----END CERTIFICATE-----";
    let mut out = String::new();
    let mut rest = pem;
    while let Some(i) = rest.find(END) {
        let block = &rest[..i + END.len()];
        rest = rest[i + END.len()..].trim_start_matches(['\r', '\n']);
        if certificate::from_pem(layout::CA_CERT, block).is_ok_and(|(der, _)| pinned.contains(&der))
        {
            out.push_str(block.trim_start_matches(['\r', '\n']));
            out.push('\n');
        }
    }
    out
}

/// Every leaf, in output order: the servers (one per node), the client, the pods' (with
/// `--kubernetes`: `k8s` is their names and the Service clients dial).
fn leaf_specs<'a>(
    settings: &'a Settings,
    k8s: Option<&'a (Vec<SanName>, String)>,
) -> Vec<LeafSpec<'a>> {
    let node_usages = server_usages(settings.is_cluster());
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
    if settings.metrics.is_some() {
        specs.push(LeafSpec {
            cert_path: layout::METRICS_CERT,
            key_path: layout::METRICS_KEY,
            common_name: crate::config::acl::METRICS_USER,
            sans: &[],
            usages: vec![ExtendedKeyUsagePurpose::ClientAuth],
            dialled: None,
        });
    }
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
        if settings.is_cluster() {
            // The Job logs in as the admin; it is a client only, and never the app.
            specs.push(LeafSpec {
                cert_path: crate::config::layout::KUBERNETES_JOB_CERT,
                key_path: crate::config::layout::KUBERNETES_JOB_KEY,
                common_name: KUBERNETES_JOB_NAME,
                sans: &[],
                usages: vec![ExtendedKeyUsagePurpose::ClientAuth],
                dialled: None,
            });
        }
    }
    specs
}

/// The cluster-create Job's certificate's common name.
const KUBERNETES_JOB_NAME: &str = "kimera-redis-init cluster-create job";

/// The client certificate's common name: the app's ACL user, or `kimera-app`.
pub(crate) fn client_name(settings: &Settings) -> &str {
    settings.username.as_deref().unwrap_or("kimera-app")
}

/// What kept certificates lack of what this run asks for (names, key type, validity,
/// usages), every difference at once (see `kept`); the servers' and the client's.
pub(crate) fn kept_differences(settings: &Settings, existing: &Existing) -> Vec<String> {
    let k8s_names = settings
        .kubernetes
        .as_ref()
        .map(|k8s| (k8s.sans(settings.nodes.len()), k8s.service_fqdn(&k8s.name)));
    let specs = leaf_specs(settings, k8s_names.as_ref());
    let mut kept = Vec::new();
    for spec in &specs[..=settings.nodes.len()] {
        let want = kept::Wanted {
            cert_path: spec.cert_path,
            sans: spec.sans,
            usages: &spec.usages,
        };
        if let Some(pem) = existing.get(want.cert_path)
            && let Ok((_, info)) = certificate::from_pem(want.cert_path, pem)
        {
            kept.push((want, info));
        }
    }
    kept::differences(settings, &kept)
}

/// Under an organisation's CA, every certificate must verify the way clients check it
/// (its name constraints apply): see `ownca::check_issued`.
fn check_under_external_ca(
    settings: &Settings,
    ca: &CertKey,
    servers: &[CertKey],
    client: &CertKey,
    metrics: Option<&CertKey>,
    now: OffsetDateTime,
) -> Result<()> {
    let node_usages: Vec<trust::Usage> = server_usages(settings.is_cluster())
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
    if let Some(m) = metrics {
        leaves.push((layout::METRICS_CERT, m, vec![trust::Usage::Client]));
    }
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
) -> Result<Ca> {
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
            let (issuer, mut ca) =
                load_issuer(layout::CA_CERT, cert_pem, layout::CA_KEY, key_pem, now)?;
            // The folder's CA is the first certificate, the one its key matched: whatever
            // else ca.crt holds is not carried into the stores and Secrets made from it.
            let (first, _) = certificate::from_pem(layout::CA_CERT, cert_pem)?;
            ca.cert_pem = only_pinned(cert_pem, &[first]);
            Ok((Some(issuer), ca))
        }
        (Some(cert_pem), None) if !must_sign => {
            let (_, info) = certificate::from_pem(layout::CA_CERT, cert_pem)?;
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
            let (der, info) = certificate::from_pem(spec.cert_path, cert_pem)?;
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
    let ca_der = certificate::from_pem(layout::CA_CERT, &ca.cert_pem)?.0;
    let unix_now = unix_time(now);
    for usage in &spec.usages {
        let usage = trust_usage(usage);
        if let Err(e) = trust::chains(&ca_der, der, usage, unix_now) {
            let why = if info.not_after <= now {
                crate::certificate::expired_on(info.not_after)
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
