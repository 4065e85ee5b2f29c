//! `--kubernetes` and its flags, resolved and checked (called from `Settings`, the one
//! place that rejects input). Kubernetes names are DNS-1123; the data volume's size is a
//! Kubernetes quantity. Everything here reaches YAML and shell lines, so it must be plain.

use crate::config::node::SanName;
use crate::config::request::KubernetesRequest;
use crate::error::{Error, Result};

pub(crate) const DEFAULT_NAMESPACE: &str = "kimera";
pub(crate) const DEFAULT_DOMAIN: &str = "cluster.local";
pub(crate) const DEFAULT_NAME: &str = "kimera-redis";
pub(crate) const DEFAULT_STORAGE: &str = "1Gi";
/// Room for the longest suffix (`-cluster-create`) and a StatefulSet's revision label,
/// which must stay within 63 characters (name + 11).
const NAME_MAX: usize = 40;

/// Where and how the manifests place the setup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Kubernetes {
    pub(crate) namespace: String,
    pub(crate) cluster_domain: String,
    /// Prefix of every object: the StatefulSet and client Service are called this.
    pub(crate) name: String,
    pub(crate) storage: String,
    pub(crate) storage_class: Option<String>,
    /// The NetworkPolicy's app: pod labels (all must match) and namespaces.
    pub(crate) app_labels: Vec<(String, String)>,
    pub(crate) app_namespaces: Vec<String>,
    /// `--service-monitor`: settings checked that `--metrics` is on.
    pub(crate) service_monitor: bool,
}

impl Kubernetes {
    /// `--app-selector` as it is given and recorded: `KEY=VALUE` each.
    pub(crate) fn app_selector(&self) -> Vec<String> {
        self.app_labels
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect()
    }

    /// The headless Service that gives each pod its DNS name.
    pub(crate) fn headless(&self) -> String {
        format!("{}-headless", self.name)
    }

    /// `<service>.<ns>.svc.<domain>`.
    pub(crate) fn service_fqdn(&self, service: &str) -> String {
        format!("{service}.{}.svc.{}", self.namespace, self.cluster_domain)
    }

    /// The pod's stable name, `<name>-<ordinal>`.
    pub(crate) fn pod(&self, ordinal: usize) -> String {
        format!("{}-{ordinal}", self.name)
    }

    /// `<pod>.<headless>.<ns>.svc.<domain>`: what a cluster node announces.
    pub(crate) fn pod_fqdn(&self, ordinal: usize) -> String {
        format!(
            "{}.{}",
            self.pod(ordinal),
            self.service_fqdn(&self.headless())
        )
    }

    /// Names on the pods' server certificate: every pod (a wildcard for the headless
    /// Service, and each name for clients that do not take wildcards), both Services in
    /// each short form, and loopback for probes and local administration.
    pub(crate) fn sans(&self, pods: usize) -> Vec<SanName> {
        let mut names = Vec::new();
        let headless = self.headless();
        names.push(format!("*.{}", self.service_fqdn(&headless)));
        names.push(format!("*.{headless}.{}.svc", self.namespace));
        names.extend((0..pods).map(|i| self.pod_fqdn(i)));
        for svc in [self.name.as_str(), headless.as_str()] {
            names.push(svc.to_owned());
            names.push(format!("{svc}.{}", self.namespace));
            names.push(format!("{svc}.{}.svc", self.namespace));
            names.push(self.service_fqdn(svc));
        }
        names.push("localhost".to_owned());
        let mut sans: Vec<SanName> = names.into_iter().map(SanName::Dns).collect();
        sans.push(SanName::Ip([127, 0, 0, 1].into()));
        sans.push(SanName::Ip(std::net::Ipv6Addr::LOCALHOST.into()));
        sans
    }
}

/// `None` without `--kubernetes`. `auth` says whether the profile has passwords: a
/// server without them listens on loopback only and has no place in a cluster.
pub(crate) fn resolve(
    args: &KubernetesRequest,
    profile: &str,
    auth: bool,
) -> Result<Option<Kubernetes>> {
    if !args.kubernetes {
        return Ok(None);
    }
    if !auth {
        return Err(Error::usage(format!(
            "--kubernetes: profile {profile} has no password and only listens on loopback, \
             which a pod reached over the network cannot be; allowed: production-tls, cluster \
             or high-performance"
        )));
    }
    let namespace = namespace(args.namespace.as_deref().unwrap_or(DEFAULT_NAMESPACE))?;
    let name = service_name(args.name.as_deref().unwrap_or(DEFAULT_NAME))?;
    let cluster_domain = subdomain(
        "--cluster-domain",
        args.cluster_domain.as_deref().unwrap_or(DEFAULT_DOMAIN),
    )?;
    let storage = quantity(
        "--storage",
        args.storage.as_deref().unwrap_or(DEFAULT_STORAGE),
    )?;
    let storage_class = args
        .storage_class
        .as_deref()
        .map(|c| subdomain("--storage-class", c))
        .transpose()?;
    let app_labels = if args.app_selector.is_empty() {
        vec![(PART_OF.to_owned(), name.clone())]
    } else {
        app_selector(&args.app_selector)?
    };
    let app_namespaces = if args.app_namespaces.is_empty() {
        vec![namespace.clone()]
    } else {
        let mut list: Vec<String> = Vec::new();
        for ns in &args.app_namespaces {
            let ns = label("--app-namespace", ns, 63)?;
            if list.contains(&ns) {
                return Err(Error::usage(format!(
                    "--app-namespace {ns}: listed twice; allowed: each namespace once"
                )));
            }
            list.push(ns);
        }
        list
    };
    Ok(Some(Kubernetes {
        namespace,
        cluster_domain,
        name,
        storage,
        storage_class,
        app_labels,
        app_namespaces,
        service_monitor: args.service_monitor,
    }))
}

/// The label the app's pods carry by default: the recommended "part of the application".
pub(crate) const PART_OF: &str = "app.kubernetes.io/part-of";

/// `--app-selector`: `KEY=VALUE` pairs with Kubernetes label syntax (a key is an
/// optional DNS subdomain prefix and `/`, then a name; names and values up to 63
/// characters of letters, digits, `-`, `_`, `.`, starting and ending alphanumeric).
fn app_selector(items: &[String]) -> Result<Vec<(String, String)>> {
    let name_ok = |s: &str, empty: bool| {
        let b = s.as_bytes();
        (empty && b.is_empty())
            || (!b.is_empty()
                && b.len() <= 63
                && b.iter()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
                && b[0].is_ascii_alphanumeric()
                && b[b.len() - 1].is_ascii_alphanumeric())
    };
    let mut out: Vec<(String, String)> = Vec::new();
    for item in items {
        let refuse = || {
            Error::usage(format!(
                "--app-selector {}: allowed: KEY=VALUE label pairs such as \
                 app.kubernetes.io/name=kimera (keys: [DNS-subdomain/]name; names and values: \
                 up to 63 characters of letters, digits, '-', '_', '.')",
                crate::printable::text(item)
            ))
        };
        let (key, value) = item.split_once('=').ok_or_else(refuse)?;
        let (prefix, key_name) = match key.split_once('/') {
            Some((p, n)) => (Some(p), n),
            None => (None, key),
        };
        let prefix_ok =
            prefix.is_none_or(|p| p.len() <= 253 && p.split('.').all(|l| label_ok(l, 63)));
        if !prefix_ok || !name_ok(key_name, false) || !name_ok(value, true) {
            return Err(refuse());
        }
        if out.iter().any(|(k, _)| k == key) {
            return Err(Error::usage(format!(
                "--app-selector {key}: named twice; allowed: each label key once"
            )));
        }
        out.push((key.to_owned(), value.to_owned()));
    }
    Ok(out)
}

fn label_ok(l: &str, max: usize) -> bool {
    let b = l.as_bytes();
    !b.is_empty()
        && b.len() <= max
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
}

/// Namespaces Kubernetes keeps for itself: the manifests would relabel them with a
/// restricted PodSecurity level and put the app's Secrets among the system's.
const RESERVED_NAMESPACES: [&str; 4] = ["kube-system", "kube-public", "kube-node-lease", "default"];

/// `--namespace`: a DNS-1123 label of the setup's own, that YAML reads as a string.
fn namespace(value: &str) -> Result<String> {
    let ns = label("--namespace", value, 63)?;
    if RESERVED_NAMESPACES.contains(&value) {
        return Err(Error::usage(format!(
            "--namespace {value}: a namespace Kubernetes keeps for itself, which the \
             manifests would relabel (PodSecurity restricted); allowed: a namespace of the \
             setup's own, such as {DEFAULT_NAMESPACE}"
        )));
    }
    yaml_string("--namespace", &ns)?;
    Ok(ns)
}

/// `--name`: the Services are called this, so a DNS-1035 label (starting with a letter).
fn service_name(value: &str) -> Result<String> {
    let name = label("--name", value, NAME_MAX)?;
    if !name.starts_with(|c: char| c.is_ascii_lowercase()) {
        return Err(Error::usage(format!(
            "--name {value:?}: Service names are DNS-1035 labels; allowed: 1 to {NAME_MAX} \
             characters from a-z, 0-9 and '-', starting with a letter and ending with a \
             letter or digit"
        )));
    }
    yaml_string("--name", &name)?;
    Ok(name)
}

/// A name the manifests write as a plain YAML scalar must read back as that string.
fn yaml_string(flag: &str, value: &str) -> Result<()> {
    if crate::config::yamlscalar::typed(value) {
        return Err(Error::usage(format!(
            "{flag} {value}: YAML reads it as a boolean, null, number or date, not a name; \
             allowed: a name with a letter that is not yes/no/on/off/true/false/null"
        )));
    }
    Ok(())
}

/// A DNS-1123 label: what namespaces, Services and pod names must be.
fn label(flag: &str, value: &str, max: usize) -> Result<String> {
    if label_ok(value, max) {
        Ok(value.to_owned())
    } else {
        Err(Error::usage(format!(
            "{flag} {value:?}: not a DNS-1123 label; allowed: 1 to {max} characters from a-z, \
             0-9 and '-', starting and ending with a letter or digit"
        )))
    }
}

/// A DNS-1123 subdomain: dot-separated labels, 253 characters at most.
fn subdomain(flag: &str, value: &str) -> Result<String> {
    if value.len() <= 253 && value.split('.').all(|l| label_ok(l, 63)) {
        Ok(value.to_owned())
    } else {
        Err(Error::usage(format!(
            "{flag} {value:?}: not a DNS-1123 subdomain; allowed: labels of a-z, 0-9 and '-' \
             joined by '.', such as cluster.local"
        )))
    }
}

/// A positive Kubernetes quantity for a volume: digits, an optional fraction, and an
/// optional binary (Ki..Ei) or decimal (k..E) suffix.
fn quantity(flag: &str, value: &str) -> Result<String> {
    const SUFFIXES: [&str; 13] = [
        "", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei", "k", "M", "G", "T", "P", "E",
    ];
    let number = value.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let suffix = &value[number.len()..];
    let (int, frac) = number.split_once('.').unwrap_or((number, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let ok = !int.is_empty()
        && digits(int)
        && digits(frac)
        && (!number.contains('.') || !frac.is_empty())
        && number.bytes().any(|b| (b'1'..=b'9').contains(&b))
        && SUFFIXES.contains(&suffix);
    if ok {
        Ok(value.to_owned())
    } else {
        Err(Error::usage(format!(
            "{flag} {value:?}: not a Kubernetes quantity; allowed: a positive size such as \
             512Mi, 10Gi or 1.5Ti (suffixes Ki Mi Gi Ti Pi Ei, or k M G T P E)"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_quantities() {
        assert!(label("--name", "kimera-redis", NAME_MAX).is_ok());
        for bad in ["", "Kimera", "-a", "a-", "a_b", "a.b", &"a".repeat(41)] {
            assert!(label("--name", bad, NAME_MAX).is_err(), "{bad:?}");
        }
        assert!(subdomain("--cluster-domain", "cluster.local").is_ok());
        for bad in ["", "a..b", ".a", "a.", "A.b", "a b", "a;b"] {
            assert!(subdomain("--cluster-domain", bad).is_err(), "{bad:?}");
        }
        for good in ["1Gi", "512Mi", "1.5Ti", "100", "10G"] {
            assert!(quantity("--storage", good).is_ok(), "{good:?}");
        }
        for bad in ["", "0", "0Gi", "Gi", "1gb", "1.Gi", "-1Gi", "1 Gi", "1Gi;x"] {
            assert!(quantity("--storage", bad).is_err(), "{bad:?}");
        }
    }
}
