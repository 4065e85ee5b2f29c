//! The app's `.env` read with the app's own semantics: KIMERA's settings are a
//! pydantic-settings model, so each `REDIS_*` value is an int, a float, a bool in one of
//! the forms pydantic accepts, or one of a few words, and redis-py refuses what pydantic
//! lets through (`ssl_cert_reqs` other than none/optional/required, a timeout that does
//! not fit a C timeval). `verify` reports every value that does not parse as a finding
//! (never a skipped check), and `doctor` stops on them before connecting, so neither can
//! say "ok" about a `.env` the app cannot start with.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use crate::config::envrules::{
    MAX_CONNECTIONS, MAX_INTERVAL, MAX_SECONDS, MIN_SECONDS, parse_bool, seconds_ok,
};
use crate::error::{Error, Result};

/// The one `.env` reader (for `.env` and `admin.env`, by verify, doctor, renew and a
/// re-run alike): dotenvy, as the app's dotenv libraries read it (quotes, values over
/// several lines, the last of a repeated key wins). `Err` says why without quoting the
/// file: the line may hold a password.
pub(crate) fn parse_env(text: &str) -> std::result::Result<BTreeMap<String, String>, String> {
    dotenvy::from_read_iter(text.as_bytes())
        .collect::<std::result::Result<BTreeMap<_, _>, _>>()
        .map_err(|e| match e {
            dotenvy::Error::LineParse(..) => {
                "a line does not parse (an unbalanced quote?)".to_owned()
            }
            dotenvy::Error::Io(io) => io.to_string(),
            _ => "it does not parse".to_owned(),
        })
}

/// A `.env` file read with [`parse_env`]; the error names the file and the way out.
pub(crate) fn read_env(path: &Path) -> Result<BTreeMap<String, String>> {
    use crate::regularfile::Unreadable;
    let text = match crate::regularfile::read_text(path) {
        Ok(text) => Ok(text),
        // No file the tool wrote (a FIFO, a device, a huge file): a re-run would refuse
        // it too, so it has to go first.
        Err(e @ (Unreadable::NotRegular(_) | Unreadable::TooLarge { .. })) => {
            return Err(Error::failed(format!(
                "{}: {e}; remove it (rm -r {}), then generate the folder again with --force",
                crate::printable::path(path),
                crate::printable::text(&crate::printable::sh_word(&path.display().to_string()))
            )));
        }
        Err(e) => Err(e.to_string()),
    };
    text.and_then(|text| parse_env(&text)).map_err(|why| {
        Error::failed(format!(
            "{}: cannot be read: {why}; fix it by hand, or generate the folder again with --force",
            path.display()
        ))
    })
}

/// One `.env` value the app cannot use: the variable, what is wrong, and the fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EnvProblem {
    pub(crate) key: String,
    pub(crate) problem: String,
    pub(crate) fix: String,
}

/// What the app makes of `.env`: only the values that parsed (the others are problems).
#[derive(Debug, Clone, Default)]
pub(crate) struct AppEnv {
    pub(crate) host: Option<String>,
    pub(crate) port: Option<u16>,
    pub(crate) db: Option<u8>,
    pub(crate) ssl: bool,
    pub(crate) cluster: bool,
    /// Every REDIS_CLUSTER_NODES entry, when all of them parsed.
    pub(crate) nodes: Vec<(String, u16)>,
    pub(crate) connect_timeout: Option<Duration>,
    pub(crate) socket_timeout: Option<Duration>,
}

impl AppEnv {
    /// `(host, port)` of every server the app dials; empty when a value did not parse.
    pub(crate) fn dialled(&self) -> Vec<(String, u16)> {
        if self.cluster {
            return self.nodes.clone();
        }
        match (&self.host, self.port) {
            (Some(h), Some(p)) => vec![(h.clone(), p)],
            _ => Vec::new(),
        }
    }
}

/// Every variable the generator writes; a deleted one silently becomes the app's default.
const WRITTEN: &[&str] = &[
    "REDIS_HOST",
    "REDIS_PORT",
    "REDIS_USERNAME",
    "REDIS_DB",
    "REDIS_SSL",
    "REDIS_SSL_KEYFILE",
    "REDIS_SSL_CERTFILE",
    "REDIS_CA_PATH",
    "REDIS_CA_CERTS",
    "REDIS_CERT_REQS",
    "REDIS_CLUSTER_MODE",
    "REDIS_CLUSTER_NODES",
    "REDIS_SKIP_FULL_COVERAGE_CHECK",
    "REDIS_MAX_CONNECTIONS",
    "REDIS_SOCKET_TIMEOUT",
    "REDIS_SOCKET_CONNECT_TIMEOUT",
    "REDIS_RETRY_ON_TIMEOUT",
    "REDIS_HEALTH_CHECK_INTERVAL",
    "REDIS_DECODE_RESPONSES",
    "REDIS_ENCODING",
    "REDIS_PASSWORD",
];

/// pydantic's lax int from a string: optional sign, digits (`_` between digits, as in
/// Python), surrounding whitespace ignored.
pub(crate) fn parse_int(v: &str) -> Option<i64> {
    let t = v.trim();
    let (neg, digits) = match t.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    if digits.is_empty()
        || digits.starts_with('_')
        || digits.ends_with('_')
        || digits.contains("__")
        || !digits.bytes().all(|b| b.is_ascii_digit() || b == b'_')
    {
        return None;
    }
    let n: i64 = digits.replace('_', "").parse().ok()?;
    Some(if neg { -n } else { n })
}

/// Seconds, as the app's float field and then the socket read them. Python accepts
/// `1e300` and `1e-12`, but the first overflows the socket's timeval and the second
/// times every connection out at once: both are refused here.
pub(crate) fn parse_seconds(v: &str) -> Option<Duration> {
    let s: f64 = v.trim().parse().ok()?;
    seconds_ok(s).then(|| Duration::from_secs_f64(s))
}

/// A host the app can dial: a name or an IP address, nothing empty or with spaces.
fn host_ok(h: &str) -> bool {
    !h.is_empty()
        && h.len() <= 253
        && h.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-_:".contains(&b))
}

/// `host:port` as the app splits a REDIS_CLUSTER_NODES entry (`[v6]:port` too).
pub(crate) fn parse_node(entry: &str) -> Option<(String, u16)> {
    let (h, p) = entry.trim().rsplit_once(':')?;
    let h = h.trim_matches(['[', ']']);
    let port = parse_int(p).filter(|p| (1..=65535).contains(p))? as u16;
    host_ok(h).then(|| (h.to_owned(), port))
}

/// Parse `.env` as the app does; every value it cannot use is a problem.
pub(crate) fn check(env: &BTreeMap<String, String>) -> (AppEnv, Vec<EnvProblem>) {
    let mut c = EnvCheck {
        env,
        problems: Vec::new(),
    };
    c.missing_keys();
    let mut app = AppEnv {
        ssl: c.boolean("REDIS_SSL"),
        cluster: c.boolean("REDIS_CLUSTER_MODE"),
        ..AppEnv::default()
    };
    for key in [
        "REDIS_SKIP_FULL_COVERAGE_CHECK",
        "REDIS_RETRY_ON_TIMEOUT",
        "REDIS_DECODE_RESPONSES",
        "KIMERA_RATE_LIMIT_ENABLED",
    ] {
        c.boolean(key);
    }
    app.port = c.int("REDIS_PORT", 1, 65535, "a port").map(|p| p as u16);
    app.db = c
        .int("REDIS_DB", 0, 15, "a database number")
        .map(|d| d as u8);
    c.int(
        "REDIS_MAX_CONNECTIONS",
        1,
        MAX_CONNECTIONS,
        "a connection count",
    );
    c.int(
        "REDIS_HEALTH_CHECK_INTERVAL",
        0,
        MAX_INTERVAL,
        "a number of seconds",
    );
    app.socket_timeout = c.timeout("REDIS_SOCKET_TIMEOUT");
    app.connect_timeout = c.timeout("REDIS_SOCKET_CONNECT_TIMEOUT");
    c.words(app.ssl);
    if app.cluster {
        c.cluster(&mut app);
    } else if let Some(h) = c.get("REDIS_HOST") {
        if host_ok(h) {
            app.host = Some(h.to_owned());
        } else {
            c.bad(
                "REDIS_HOST",
                format!("REDIS_HOST=`{h}` is not a host name or IP address"),
                "set REDIS_HOST in .env to the server's host name or IP address".into(),
            );
        }
    }
    (app, c.problems)
}

/// `.env` being read, and the problems found so far, in the order the app meets them.
struct EnvCheck<'a> {
    env: &'a BTreeMap<String, String>,
    problems: Vec<EnvProblem>,
}

impl<'a> EnvCheck<'a> {
    fn get(&self, key: &str) -> Option<&'a str> {
        self.env.get(key).map(String::as_str)
    }

    fn bad(&mut self, key: &str, problem: String, fix: String) {
        self.problems.push(EnvProblem {
            key: key.to_owned(),
            problem,
            fix,
        });
    }

    /// Every variable the tool writes is there: a missing one is the app's default.
    fn missing_keys(&mut self) {
        for key in WRITTEN {
            if !self.env.contains_key(*key) {
                self.bad(
                    key,
                    format!("{key} is missing from .env (the app would silently use its default)"),
                    format!(
                        "add the {key}= line back to .env, with the value it was generated with"
                    ),
                );
            }
        }
    }

    /// A boolean as pydantic reads it; absent or unreadable: false.
    fn boolean(&mut self, key: &str) -> bool {
        match self.get(key) {
            None => false,
            Some(v) => parse_bool(v).unwrap_or_else(|| {
                self.bad(
                    key,
                    format!("{key}={v} is not a boolean the app reads"),
                    format!("set {key} to true or false in .env"),
                );
                false
            }),
        }
    }

    /// An integer from `lo` to `hi`, `what` naming it in the problem.
    fn int(&mut self, key: &str, lo: i64, hi: i64, what: &str) -> Option<i64> {
        let v = self.get(key)?;
        let n = parse_int(v).filter(|n| (lo..=hi).contains(n));
        if n.is_none() {
            self.bad(
                key,
                format!("{key}={v} is not {what} ({lo} to {hi})"),
                format!("set {key} to {what} from {lo} to {hi} in .env"),
            );
        }
        n
    }

    /// A socket timeout in seconds the app can use.
    fn timeout(&mut self, key: &str) -> Option<Duration> {
        let v = self.get(key)?;
        let d = parse_seconds(v);
        if d.is_none() {
            self.bad(
                key,
                format!(
                    "{key}={v} is not a usable timeout ({MIN_SECONDS} to {MAX_SECONDS} seconds)"
                ),
                format!(
                    "set {key} to a number of seconds from {MIN_SECONDS} to {MAX_SECONDS}, such as 5.0, in .env"
                ),
            );
        }
        d
    }

    /// The values that are words redis-py or the app take as they are: the certificate
    /// check (`required` with TLS), the text encoding, the features' JSON.
    fn words(&mut self, ssl: bool) {
        if let Some(v) = self.get("REDIS_CERT_REQS")
            && !matches!(v, "none" | "optional" | "required")
        {
            self.bad(
                "REDIS_CERT_REQS",
                format!(
                    "REDIS_CERT_REQS={v} is refused by redis-py (it takes exactly none, optional or required)"
                ),
                "set REDIS_CERT_REQS=required in .env".into(),
            );
        } else if ssl && self.get("REDIS_CERT_REQS") == Some("none") {
            self.bad(
                "REDIS_CERT_REQS",
                "REDIS_CERT_REQS=none: the app would not verify the server's certificate".into(),
                "set REDIS_CERT_REQS=required in .env".into(),
            );
        }
        if let Some(v) = self.get("REDIS_ENCODING")
            && !matches!(
                v.to_ascii_lowercase().replace('_', "-").as_str(),
                "utf-8"
                    | "utf8"
                    | "ascii"
                    | "latin-1"
                    | "latin1"
                    | "iso-8859-1"
                    | "utf-16"
                    | "utf-32"
            )
        {
            self.bad(
                "REDIS_ENCODING",
                format!("REDIS_ENCODING={v} is not a text encoding the app can decode with"),
                "set REDIS_ENCODING=utf-8 in .env".into(),
            );
        }
        if let Some(v) = self.get("KIMERA_FEATURES")
            && !v.is_empty()
            && !serde_json::from_str::<serde_json::Value>(v).is_ok_and(|j| j.is_object())
        {
            self.bad(
                "KIMERA_FEATURES",
                "KIMERA_FEATURES is not a JSON object (the app reads it as one)".into(),
                "set KIMERA_FEATURES to a JSON object such as {\"redis_cache\": true} in .env"
                    .into(),
            );
        }
    }

    /// Cluster mode: the startup nodes the app dials, and database 0 only.
    fn cluster(&mut self, app: &mut AppEnv) {
        let raw = self.get("REDIS_CLUSTER_NODES").unwrap_or("");
        let entries: Vec<&str> = raw.split(',').filter(|e| !e.trim().is_empty()).collect();
        if entries.is_empty() {
            self.bad(
                "REDIS_CLUSTER_NODES",
                "REDIS_CLUSTER_MODE=true but REDIS_CLUSTER_NODES lists no node: the app has nothing to dial".into(),
                "set REDIS_CLUSTER_NODES in .env to the nodes' host:port list, as cluster-create.sh names them".into(),
            );
        }
        let mut nodes = Vec::new();
        for e in &entries {
            match parse_node(e) {
                Some(n) => nodes.push(n),
                None => self.bad(
                    "REDIS_CLUSTER_NODES",
                    format!(
                        "REDIS_CLUSTER_NODES entry `{}` is not host:port (port 1 to 65535)",
                        e.trim()
                    ),
                    "write every node of REDIS_CLUSTER_NODES in .env as host:port, comma-separated"
                        .into(),
                ),
            }
        }
        if nodes.len() == entries.len() {
            app.nodes = nodes;
        }
        if let Some(db) = app.db
            && db != 0
        {
            self.bad(
                "REDIS_DB",
                format!("REDIS_DB={db} in cluster mode: a Redis Cluster has only database 0"),
                "set REDIS_DB=0 in .env".into(),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bools_are_read_as_pydantic_reads_them() {
        for v in ["true", "True", "YES", "1", "on", " t "] {
            assert_eq!(parse_bool(v), Some(true), "{v}");
        }
        for v in ["false", "False", "no", "0", "off", "F"] {
            assert_eq!(parse_bool(v), Some(false), "{v}");
        }
        for v in ["", "tru", "2", "enabled"] {
            assert_eq!(parse_bool(v), None, "{v}");
        }
    }

    #[test]
    fn ints_and_seconds() {
        assert_eq!(parse_int(" 6379 "), Some(6379));
        assert_eq!(parse_int("1_000"), Some(1000));
        assert_eq!(parse_int("+5"), Some(5));
        for v in ["", "abc", "1e3", "_1", "1__0", "99999999999999999999"] {
            assert_eq!(parse_int(v), None, "{v}");
        }
        assert_eq!(parse_seconds("5.0"), Some(Duration::from_secs(5)));
        for v in ["1e300", "1e-12", "nan", "inf", "-1", "0", ""] {
            assert_eq!(parse_seconds(v), None, "{v}");
        }
    }

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn dialled_is_the_host_and_port_or_every_cluster_node() {
        let single = env(&[("REDIS_HOST", "redis.example"), ("REDIS_PORT", "6380")]);
        assert_eq!(
            check(&single).0.dialled(),
            [("redis.example".to_owned(), 6380)]
        );
        // Cluster mode dials REDIS_CLUSTER_NODES, never REDIS_HOST.
        let cluster = env(&[
            ("REDIS_HOST", "ignored"),
            ("REDIS_PORT", "1"),
            ("REDIS_CLUSTER_MODE", "True"),
            (
                "REDIS_CLUSTER_NODES",
                "redis-1:7001, [::1]:7002,10.0.0.3:7003",
            ),
        ]);
        assert_eq!(
            check(&cluster).0.dialled(),
            [
                ("redis-1".to_owned(), 7001),
                ("::1".to_owned(), 7002),
                ("10.0.0.3".to_owned(), 7003)
            ]
        );
    }

    #[test]
    fn dialled_is_empty_when_a_value_does_not_parse() {
        for bad in [
            env(&[("REDIS_HOST", "redis"), ("REDIS_PORT", "0")]),
            env(&[("REDIS_HOST", "red is"), ("REDIS_PORT", "6379")]),
            env(&[("REDIS_PORT", "6379")]),
            env(&[("REDIS_HOST", "redis")]),
            env(&[
                ("REDIS_CLUSTER_MODE", "true"),
                ("REDIS_CLUSTER_NODES", "redis-1:7001,redis-2"),
            ]),
            env(&[("REDIS_CLUSTER_MODE", "true"), ("REDIS_CLUSTER_NODES", "")]),
        ] {
            let (app, _) = check(&bad);
            assert!(
                app.dialled().is_empty(),
                "{bad:?} dials {:?}",
                app.dialled()
            );
        }
    }

    #[test]
    fn one_reader_for_every_quoting() {
        let text = "A=bare\nB='single'\nC=\"double\"\nD=\"two\nlines\"\nA=last\n";
        let env = parse_env(text).unwrap();
        assert_eq!(env["A"], "last");
        assert_eq!(env["B"], "single");
        assert_eq!(env["C"], "double");
        assert_eq!(env["D"], "two\nlines");
        // The error never quotes the line: it may hold the password.
        let err = parse_env("REDIS_PASSWORD='s3cret\n").unwrap_err();
        assert!(!err.contains("s3cret"), "{err}");
    }
}
