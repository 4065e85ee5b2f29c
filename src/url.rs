//! `REDIS_URL`: the app's connection as one URL, for clients that take one (redis-py
//! `from_url`, node-redis, ioredis, many frameworks), built from the same values as the
//! rest of `.env` so that nobody assembles it by hand.

use crate::layout;
use crate::settings::Settings;

/// `redis[s]://user:password@host:port/db`, user and password percent-encoded; over TLS
/// the CA and client files as redis-py's query parameters (`ssl_cert_reqs=required`,
/// `ssl_ca_certs`, `ssl_certfile`, `ssl_keyfile`; redis-py checks the host name by
/// default). A cluster's URL names its first node as the startup node and no database:
/// Redis Cluster has only database 0 and redis-py's `RedisCluster.from_url` refuses one.
pub(crate) fn app_url(s: &Settings, password: &str) -> String {
    let mut url = String::from(if s.tls { "rediss://" } else { "redis://" });
    if let Some(user) = &s.username {
        url.push_str(&encode(user, false));
        url.push(':');
        url.push_str(&encode(password, false));
        url.push('@');
    }
    url.push_str(&s.nodes[0].address());
    if s.cluster.is_none() {
        url.push_str(&format!("/{}", s.db));
    }
    if s.tls {
        let path = |rel: &str| encode(&s.out_dir.join(rel).to_string_lossy(), true);
        url.push_str(&format!(
            "?ssl_cert_reqs=required&ssl_ca_certs={}&ssl_certfile={}&ssl_keyfile={}",
            path(layout::CA_CERT),
            path(layout::CLIENT_CERT),
            path(layout::CLIENT_KEY)
        ));
    }
    url
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
