//! `REDIS_URL`: the app's connection as one URL, for clients that take one (redis-py
//! `from_url`, node-redis, ioredis, many frameworks), built from the same values as the
//! rest of `.env` so that nobody assembles it by hand, and checked against them by `verify`.

use std::collections::BTreeMap;

/// The pieces of a URL, each already encoded.
#[derive(PartialEq, Eq)]
struct Url {
    scheme: &'static str,
    /// `user:password@`, or empty.
    userinfo: String,
    /// `host:port`, IPv6 in brackets.
    address: String,
    /// `/db`, or empty for a cluster.
    path: String,
    /// `?ssl_...`, or empty without TLS.
    query: String,
}

/// The user info holds the password: never in a Debug print.
impl std::fmt::Debug for Url {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Url")
            .field("scheme", &self.scheme)
            .field("userinfo", &"<redacted>")
            .field("address", &self.address)
            .field("path", &self.path)
            .field("query", &self.query)
            .finish()
    }
}

impl Url {
    /// `redis[s]://user:password@host:port/db`, user and password percent-encoded; over
    /// TLS the CA and client files as redis-py's query parameters (`ssl_cert_reqs=required`,
    /// `ssl_ca_certs`, `ssl_certfile`, `ssl_keyfile`; redis-py checks the host name by
    /// default). A cluster's URL names its first node as the startup node and no
    /// database: Redis Cluster has only database 0 and `RedisCluster.from_url` refuses one.
    fn new(
        user: Option<&str>,
        password: &str,
        address: &str,
        db: Option<&str>,
        tls: Option<[&str; 3]>,
    ) -> Url {
        Url {
            scheme: if tls.is_some() {
                "rediss://"
            } else {
                "redis://"
            },
            userinfo: user
                .map(|u| format!("{}:{}@", encode(u, false), encode(password, false)))
                .unwrap_or_default(),
            address: address.to_owned(),
            path: db.map(|d| format!("/{d}")).unwrap_or_default(),
            query: tls
                .map(|[ca, cert, key]| {
                    format!(
                        "?ssl_cert_reqs=required&ssl_ca_certs={}&ssl_certfile={}&ssl_keyfile={}",
                        encode(ca, true),
                        encode(cert, true),
                        encode(key, true)
                    )
                })
                .unwrap_or_default(),
        }
    }

    fn text(&self) -> String {
        format!(
            "{}{}{}{}{}",
            self.scheme, self.userinfo, self.address, self.path, self.query
        )
    }
}

/// REDIS_URL for an app environment given by its other REDIS_* values (`appenv`: the
/// `.env` and the Kubernetes app Secret).
pub(crate) fn for_env(env: &BTreeMap<String, String>) -> String {
    from_env(env).text()
}

/// The URL the other REDIS_* values of an app environment make.
fn from_env(env: &BTreeMap<String, String>) -> Url {
    let get = |k: &str| env.get(k).map(String::as_str).unwrap_or("");
    // Booleans in every form the app (pydantic) accepts, as verify reads them.
    let flag = |k: &str| crate::config::envrules::parse_bool(get(k)).unwrap_or(false);
    let cluster = flag("REDIS_CLUSTER_MODE");
    let address = if cluster {
        get("REDIS_CLUSTER_NODES")
            .split(',')
            .next()
            .unwrap_or("")
            .to_owned()
    } else {
        crate::config::node::host_port(get("REDIS_HOST"), get("REDIS_PORT"))
    };
    let user = Some(get("REDIS_USERNAME")).filter(|u| !u.is_empty());
    let tls = flag("REDIS_SSL").then(|| {
        [
            get("REDIS_CA_CERTS"),
            get("REDIS_SSL_CERTFILE"),
            get("REDIS_SSL_KEYFILE"),
        ]
    });
    Url::new(
        user,
        get("REDIS_PASSWORD"),
        &address,
        (!cluster).then(|| get("REDIS_DB")),
        tls,
    )
}

/// For `verify`: what in `.env`'s REDIS_URL disagrees with its other values (never the
/// password itself). `None` when it agrees or is absent (folders made before it existed).
pub(crate) fn check(env: &BTreeMap<String, String>) -> Option<String> {
    let actual = env.get("REDIS_URL")?;
    let want = from_env(env);
    if *actual == want.text() {
        return None;
    }
    let parts = [
        (want.scheme, "the scheme (REDIS_SSL)"),
        (
            want.userinfo.as_str(),
            "the user or password (REDIS_USERNAME, REDIS_PASSWORD)",
        ),
        (
            want.address.as_str(),
            "the host or port (REDIS_HOST, REDIS_PORT, REDIS_CLUSTER_NODES)",
        ),
        (want.path.as_str(), "the database (REDIS_DB)"),
        (
            want.query.as_str(),
            "the TLS files (REDIS_CA_CERTS, REDIS_SSL_CERTFILE, REDIS_SSL_KEYFILE)",
        ),
    ];
    // Walk the URL piece by piece; the first piece that differs is the one to name.
    let mut rest = actual.as_str();
    for (piece, what) in parts {
        match rest.strip_prefix(piece) {
            Some(r) => rest = r,
            None => return Some(format!("REDIS_URL disagrees with {what}")),
        }
    }
    Some("REDIS_URL has more than the values in .env give".to_owned())
}

/// RFC 3986 percent-encoding of UTF-8 bytes: unreserved characters stay, and `/` too
/// where it is allowed (a query value holding a path); everything else is `%XX`, `+`,
/// `&`, `=`, `#`, `%` and spaces included, so every URL parser reads back the same text.
fn encode(value: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) || (keep_slash && b == b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::encode;

    #[test]
    fn encodes_what_a_url_parser_would_split_on() {
        assert_eq!(
            encode("a b+c&d=e#f%g?h@i:j", false),
            "a%20b%2Bc%26d%3De%23f%25g%3Fh%40i%3Aj"
        );
        assert_eq!(encode("/tmp/x y", true), "/tmp/x%20y");
        assert_eq!(encode("/tmp", false), "%2Ftmp");
        assert_eq!(encode("é", false), "%C3%A9");
    }
}
