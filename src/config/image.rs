//! `--image`: a container image reference, checked against the grammar Docker and the
//! OCI distribution spec use, so that nothing but an image name reaches a compose file
//! (or, later, a Kubernetes manifest): no spaces, quotes, newlines or YAML syntax.

use crate::error::{Error, Result};

/// `[host[:port]/]path[:tag][@algorithm:hex]`, as `docker pull` takes it.
pub(crate) fn check_image(what: &str, value: &str) -> Result<String> {
    if reference_ok(value) {
        Ok(value.to_owned())
    } else {
        Err(Error::usage(format!(
            "{what} {value:?}: not an image reference; allowed: [REGISTRY[:PORT]/]NAME[:TAG][@sha256:DIGEST] \
             with lowercase name parts, such as redis:7.4 or registry.example.com:5000/team/redis:7.4"
        )))
    }
}

fn reference_ok(value: &str) -> bool {
    if value.is_empty() || value.len() > 512 {
        return false;
    }
    let (rest, digest) = match value.split_once('@') {
        Some((r, d)) => (r, Some(d)),
        None => (value, None),
    };
    if digest.is_some_and(|d| !digest_ok(d)) {
        return false;
    }
    // A tag is what follows the last ':' after the last '/' (a registry port comes before a '/').
    let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
    let (name, tag) = match rest[last_slash..].rfind(':') {
        Some(i) => (&rest[..last_slash + i], Some(&rest[last_slash + i + 1..])),
        None => (rest, None),
    };
    if tag.is_some_and(|t| !tag_ok(t)) || name.len() > 255 {
        return false;
    }
    let mut parts: Vec<&str> = name.split('/').collect();
    // The first part is a registry when it looks like a host: a '.', a ':' or localhost.
    if parts.len() > 1 && (parts[0].contains(['.', ':']) || parts[0] == "localhost") {
        if !registry_ok(parts[0]) {
            return false;
        }
        parts.remove(0);
    }
    parts.iter().all(|p| path_component_ok(p))
}

/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`
fn path_component_ok(p: &str) -> bool {
    let b = p.as_bytes();
    if b.is_empty() || !alnum_lower(b[0]) || !alnum_lower(b[b.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        if alnum_lower(b[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && !alnum_lower(b[i]) {
            i += 1;
        }
        let sep = &p[start..i];
        let dashes = sep.bytes().all(|c| c == b'-');
        if !(sep == "." || sep == "_" || sep == "__" || dashes) {
            return false;
        }
    }
    true
}

fn alnum_lower(c: u8) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit()
}

/// A host name (labels of letters, digits and '-') or a bracketed IPv6 address, with an
/// optional port.
fn registry_ok(r: &str) -> bool {
    let (host, port) = if let Some(rest) = r.strip_prefix('[') {
        match rest.split_once(']') {
            Some((ip, after)) if ip.parse::<std::net::Ipv6Addr>().is_ok() => {
                match after.strip_prefix(':') {
                    Some(p) => return port_ok(p),
                    None => return after.is_empty(),
                }
            }
            _ => return false,
        }
    } else {
        match r.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (r, None),
        }
    };
    let label_ok = |l: &str| {
        !l.is_empty()
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-')
    };
    host.split('.').all(label_ok) && port.is_none_or(port_ok)
}

fn port_ok(p: &str) -> bool {
    !p.is_empty() && p.len() <= 5 && p.bytes().all(|c| c.is_ascii_digit())
}

/// `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`
fn tag_ok(t: &str) -> bool {
    let b = t.as_bytes();
    !b.is_empty()
        && b.len() <= 128
        && (b[0].is_ascii_alphanumeric() || b[0] == b'_')
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'))
}

/// `algorithm:encoded`, such as `sha256:` and 64 hex digits.
fn digest_ok(d: &str) -> bool {
    let Some((alg, hex)) = d.split_once(':') else {
        return false;
    };
    let alg_ok = !alg.is_empty()
        && alg
            .split(['+', '.', '_', '-'])
            .all(|p| !p.is_empty() && p.bytes().all(alnum_lower));
    let hex_ok = hex.len() >= 32
        && hex
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'=' | b'_' | b'-'));
    let sha256_ok = alg != "sha256"
        || (hex.len() == 64
            && hex
                .bytes()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
    alg_ok && hex_ok && sha256_ok
}

#[cfg(test)]
mod tests {
    use super::reference_ok;

    #[test]
    fn accepts_what_docker_pulls() {
        for ok in [
            "redis",
            "redis:7.4",
            "redis:7.4-alpine",
            "library/redis:7.4",
            "docker.io/library/redis:7.4",
            "kimera-test/redis:7.0",
            "localhost/redis",
            "localhost:5000/team/redis:latest",
            "registry.example.com:5000/a__b/c.d/e---f:_T.1-x",
            "[::1]:5000/redis:7",
            "redis@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            "redis:7.4@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        ] {
            assert!(reference_ok(ok), "{ok} should be accepted");
        }
    }

    #[test]
    fn refuses_everything_else() {
        for bad in [
            "",
            "Redis:7.4",
            "redis:",
            "redis:7.4 ",
            " redis",
            "redis:7.4\nprivileged: true",
            "redis:7.4\"",
            "redis:'7'",
            "redis:7#x",
            "redis:{a}",
            "redis:-7",
            "-redis",
            "redis-",
            "redis..x",
            "redis/",
            "/redis",
            "a//b",
            "redis:7:8",
            "redis@sha256:abc",
            "redis@sha256:0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef",
            "host:port/redis",
            "redis:${X}",
            "redis:$$",
        ] {
            assert!(!reference_ok(bad), "{bad:?} should be refused");
        }
    }
}
