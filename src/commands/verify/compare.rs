//! One rendered file against the file on disk, read the way its reader reads it:
//! redis.conf as Redis parses it (a line is a comment only when it starts with `#`,
//! arguments split with Redis's quoting, the directive's case ignored), users.acl as
//! Redis's ACL loader does (every non-blank line is a rule, spaces only), `.env` files
//! as the app does (pydantic's booleans and numbers), everything else line by line with
//! comments, blank lines and trailing whitespace ignored. What differs is classed by
//! what it does: weakens security, breaks the server or the app, or harmless drift.

use std::collections::BTreeMap;

/// What a difference does to the setup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Class {
    /// Someone gets in, or sees, what the generated setup kept out.
    Weakens,
    /// The server does not start, or the app cannot use it as generated.
    Breaks,
    /// A tuning value or a wording changed: the setup still works and is as safe.
    Drift,
}

impl Class {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Class::Weakens => "weakens security",
            Class::Breaks => "breaks the server or the app",
            Class::Drift => "harmless drift",
        }
    }
}

/// One difference: the line on disk (1-based) when there is one, what is there, and
/// what kimera-redis-init writes instead (`None`: nothing; the line is extra).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Diff {
    pub(crate) line: Option<usize>,
    pub(crate) found: Option<String>,
    pub(crate) wants: Option<String>,
    pub(crate) class: Class,
}

/// The format a rendered file is read in, by its path.
pub(crate) fn compare(path: &str, expected: &str, found: &str) -> Vec<Diff> {
    let name = path.rsplit('/').next().unwrap_or(path);
    if name.ends_with(".conf") {
        conf(expected, found)
    } else if name == "users.acl" {
        acl(expected, found)
    } else if name.ends_with(".env") {
        env(expected, found)
    } else if name.ends_with(".sh") {
        lines(expected, found, Class::Weakens)
    } else if name.ends_with(".properties") {
        properties(expected, found)
    } else {
        lines(expected, found, Class::Breaks)
    }
}

/// Redis trims only these (sds `sdstrim(line, " \t\r\n")`): a BOM or a form feed stays
/// and makes the line a directive Redis does not know.
fn redis_trim(line: &str) -> &str {
    line.trim_matches([' ', '\t', '\r', '\n'])
}

/// One directive as Redis reads it, with where it stands and how it is written.
struct Directive {
    line: usize,
    name: String,
    args: Vec<String>,
    text: String,
}

/// redis.conf's directives in order.
fn directives(text: &str) -> Vec<Directive> {
    text.split('\n')
        .enumerate()
        .map(|(i, l)| (i + 1, redis_trim(l)))
        .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'))
        .map(|(line, l)| {
            let mut args = crate::readback::redisconf::split_args(l);
            let name = if args.is_empty() {
                l.to_owned()
            } else {
                args.remove(0).to_ascii_lowercase()
            };
            Directive {
                line,
                name,
                args,
                text: l.to_owned(),
            }
        })
        .collect()
}

fn conf(expected: &str, found: &str) -> Vec<Diff> {
    let want = directives(expected);
    let have = directives(found);
    let key = |d: &Directive| (d.name.clone(), d.args.clone());
    let ops = diff(
        &want.iter().map(key).collect::<Vec<_>>(),
        &have.iter().map(key).collect::<Vec<_>>(),
    );
    let side = |d: &Directive, line| Side {
        line,
        text: d.text.clone(),
        name: d.name.clone(),
    };
    pair_up(
        ops,
        |op| match op {
            Op::Missing(i) => side(&want[i], None),
            Op::Extra(j) => side(&have[j], Some(have[j].line)),
        },
        directive_class,
    )
}

/// What changing a directive does. Only directives known to tune (memory, timeouts,
/// logging, persistence cadence, threads) are drift; any other, one this list has never
/// heard of included, is not: the classing fails closed.
fn directive_class(name: &str) -> Class {
    const TUNING: &[&str] = &[
        "maxmemory",
        "maxmemory-policy",
        "maxmemory-samples",
        "maxclients",
        "timeout",
        "tcp-keepalive",
        "tcp-backlog",
        "hz",
        "dynamic-hz",
        "loglevel",
        "slowlog-log-slower-than",
        "slowlog-max-len",
        "latency-monitor-threshold",
        "lazyfree-lazy-eviction",
        "lazyfree-lazy-expire",
        "lazyfree-lazy-server-del",
        "lazyfree-lazy-user-del",
        "replica-lazy-flush",
        "io-threads",
        "io-threads-do-reads",
        "activedefrag",
        "activerehashing",
        "save",
        "appendfsync",
        "no-appendfsync-on-rewrite",
        "auto-aof-rewrite-percentage",
        "auto-aof-rewrite-min-size",
    ];
    const BREAKS: &[&str] = &[
        "port",
        "dir",
        "dbfilename",
        "databases",
        "daemonize",
        "pidfile",
        "logfile",
        "appendonly",
        "appendfilename",
        "appenddirname",
        "cluster-enabled",
        "cluster-config-file",
        "cluster-announce-ip",
        "cluster-announce-hostname",
        "cluster-announce-port",
        "cluster-announce-tls-port",
        "cluster-announce-bus-port",
        "cluster-node-timeout",
        "cluster-require-full-coverage",
        "cluster-preferred-endpoint-type",
    ];
    if TUNING.contains(&name) {
        Class::Drift
    } else if BREAKS.contains(&name) {
        Class::Breaks
    } else {
        Class::Weakens
    }
}

/// users.acl: every line Redis reads is a rule (a `#` line aborts its startup), so any
/// difference changes who gets in.
fn acl(expected: &str, found: &str) -> Vec<Diff> {
    let rules = |t: &str| -> Vec<(usize, String)> {
        t.split('\n')
            .enumerate()
            .map(|(i, l)| (i + 1, redis_trim(l).to_owned()))
            .filter(|(_, l)| !l.is_empty())
            .collect()
    };
    let (want, have) = (rules(expected), rules(found));
    let ops = diff(
        &want.iter().map(|r| r.1.clone()).collect::<Vec<_>>(),
        &have.iter().map(|r| r.1.clone()).collect::<Vec<_>>(),
    );
    let side = |(n, text): &(usize, String), line: bool| Side {
        line: line.then_some(*n),
        text: text.clone(),
        name: acl_user(text),
    };
    pair_up(
        ops,
        |op| match op {
            Op::Missing(i) => side(&want[i], false),
            Op::Extra(j) => side(&have[j], true),
        },
        |_| Class::Weakens,
    )
}

fn acl_user(rule: &str) -> String {
    rule.split(' ').take(2).collect::<Vec<_>>().join(" ")
}

/// The app's settings: a key that is missing, extra or holds another value, read with
/// the app's semantics (`True` is `true`, `2` is `2.0`).
fn env(expected: &str, found: &str) -> Vec<Diff> {
    let parse = |t: &str| crate::readback::envcheck::parse_env(t).unwrap_or_default();
    let (want, have) = (parse(expected), parse(found));
    let line_of = |key: &str| {
        found
            .lines()
            .enumerate()
            .filter(|(_, l)| {
                let l = l.trim_start();
                let l = l.strip_prefix("export ").unwrap_or(l).trim_start();
                l.strip_prefix(key)
                    .is_some_and(|rest| rest.trim_start().starts_with('='))
            })
            .map(|(i, _)| i + 1)
            .last()
    };
    let mut out = Vec::new();
    for (key, value) in &want {
        match have.get(key) {
            Some(v) if same_env_value(key, value, v) => {}
            other => out.push(Diff {
                line: line_of(key),
                found: other.map(|v| format!("{key}={v}")),
                wants: Some(format!("{key}={value}")),
                class: env_class(key),
            }),
        }
    }
    for (key, value) in extra(&want, &have) {
        out.push(Diff {
            line: line_of(key),
            found: Some(format!("{key}={value}")),
            wants: None,
            class: Class::Drift,
        });
    }
    out
}

fn extra<'a>(
    want: &'a BTreeMap<String, String>,
    have: &'a BTreeMap<String, String>,
) -> impl Iterator<Item = (&'a String, &'a String)> {
    have.iter().filter(|(k, _)| !want.contains_key(*k))
}

/// Equal as the app reads it: the same text, or (for values that are not secrets) the
/// same boolean or the same number.
fn same_env_value(key: &str, want: &str, have: &str) -> bool {
    if want == have {
        return true;
    }
    if key.contains("PASSWORD") || key.ends_with("_URL") {
        return false;
    }
    let (w, h) = (want.trim(), have.trim());
    if let (Some(a), Some(b)) = (
        crate::config::envrules::parse_bool(w),
        crate::config::envrules::parse_bool(h),
    ) {
        return a == b;
    }
    matches!((w.parse::<f64>(), h.parse::<f64>()), (Ok(a), Ok(b)) if a == b)
}

/// The pool and KIMERA_* values are the app's tuning; everything else decides where
/// and how it connects.
fn env_class(key: &str) -> Class {
    const TUNING: &[&str] = &[
        "REDIS_MAX_CONNECTIONS",
        "REDIS_SOCKET_TIMEOUT",
        "REDIS_SOCKET_CONNECT_TIMEOUT",
        "REDIS_RETRY_ON_TIMEOUT",
        "REDIS_HEALTH_CHECK_INTERVAL",
        "KIMERA_LOG_LEVEL",
        "KIMERA_FEATURES",
        "KIMERA_RATE_LIMIT_ENABLED",
    ];
    if TUNING.contains(&key) {
        Class::Drift
    } else if key.contains("SSL")
        || key.contains("CERT")
        || key.contains("CA_")
        || key.contains("PASSWORD")
        || key.contains("USERNAME")
        || key.ends_with("_URL")
    {
        Class::Weakens
    } else {
        Class::Breaks
    }
}

/// redis.properties, the guide's `redis.key=value` form of `.env`.
fn properties(expected: &str, found: &str) -> Vec<Diff> {
    lines(expected, found, Class::Breaks)
        .into_iter()
        .map(|mut d| {
            let text = d.wants.as_deref().or(d.found.as_deref()).unwrap_or("");
            let key = text.split('=').next().unwrap_or("");
            let tuning = [
                "pool", "timeout", "retry", "health", "log", "features", "rate",
            ];
            if tuning.iter().any(|t| key.contains(t)) {
                d.class = Class::Drift;
            } else if key.contains("ssl") || key.contains("password") || key.contains("user") {
                d.class = Class::Weakens;
            }
            d
        })
        .collect()
}

/// Line by line, blank lines, `#` comments, CRLF and trailing blanks aside.
fn lines(expected: &str, found: &str, class: Class) -> Vec<Diff> {
    let meaningful = |t: &str| -> Vec<(usize, String)> {
        t.split('\n')
            .enumerate()
            .map(|(i, l)| (i + 1, l.trim_end().to_owned()))
            .filter(|(_, l)| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
            .collect()
    };
    let (want, have) = (meaningful(expected), meaningful(found));
    let ops = diff(
        &want.iter().map(|l| l.1.clone()).collect::<Vec<_>>(),
        &have.iter().map(|l| l.1.clone()).collect::<Vec<_>>(),
    );
    let side = |(n, text): &(usize, String), line: bool| Side {
        line: line.then_some(*n),
        text: text.clone(),
        name: String::new(),
    };
    pair_up(
        ops,
        |op| match op {
            Op::Missing(i) => side(&want[i], false),
            Op::Extra(j) => side(&have[j], true),
        },
        |_| class,
    )
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    /// The expected item at this index is not on disk.
    Missing(usize),
    /// The item on disk at this index is not expected.
    Extra(usize),
}

/// The shortest edit from `want` to `have` (a longest common subsequence), in order.
fn diff<T: PartialEq>(want: &[T], have: &[T]) -> Vec<Op> {
    let (n, m) = (want.len(), have.len());
    // Common prefix and suffix first: most files differ in a line or two.
    let mut start = 0;
    while start < n && start < m && want[start] == have[start] {
        start += 1;
    }
    let mut end = 0;
    while end < n - start && end < m - start && want[n - 1 - end] == have[m - 1 - end] {
        end += 1;
    }
    let (w, h) = (&want[start..n - end], &have[start..m - end]);
    let mut lcs = vec![vec![0u32; h.len() + 1]; w.len() + 1];
    for i in (0..w.len()).rev() {
        for j in (0..h.len()).rev() {
            lcs[i][j] = if w[i] == h[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j, mut ops) = (0, 0, Vec::new());
    while i < w.len() || j < h.len() {
        if i < w.len() && j < h.len() && w[i] == h[j] {
            i += 1;
            j += 1;
        } else if j < h.len() && (i == w.len() || lcs[i][j + 1] >= lcs[i + 1][j]) {
            ops.push(Op::Extra(start + j));
            j += 1;
        } else {
            ops.push(Op::Missing(start + i));
            i += 1;
        }
    }
    ops
}

/// One side of an edit: where it is on disk (extra lines only), its text, and the name
/// that pairs a missing line with an extra one (empty: never paired).
struct Side {
    line: Option<usize>,
    text: String,
    name: String,
}

/// Edits as differences: an extra line and a missing one of the same name are one
/// changed line. `classify` gets the name.
fn pair_up(
    ops: Vec<Op>,
    describe: impl Fn(Op) -> Side,
    classify: impl Fn(&str) -> Class,
) -> Vec<Diff> {
    let (mut missing, mut extra): (Vec<Side>, Vec<Side>) = (Vec::new(), Vec::new());
    for op in ops {
        match op {
            Op::Missing(_) => missing.push(describe(op)),
            Op::Extra(_) => extra.push(describe(op)),
        }
    }
    let mut out = Vec::new();
    for found in extra {
        let same = missing
            .iter()
            .position(|m| !found.name.is_empty() && m.name == found.name);
        let wants = same.map(|k| missing.remove(k).text);
        out.push(Diff {
            line: found.line,
            class: classify(&found.name),
            found: Some(found.text),
            wants,
        });
    }
    for m in missing {
        out.push(Diff {
            line: None,
            class: classify(&m.name),
            found: None,
            wants: Some(m.text),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONF: &str =
        "# generated\nport 0\ntls-port 6380\naclfile \"/d/users.acl\"\nmaxmemory 0\n";

    #[test]
    fn the_same_conf_written_otherwise_is_no_difference() {
        let other =
            "# generated\r\n\n  PORT 0\r\ntls-port \"6380\"\naclfile /d/users.acl\n\nmaxmemory 0";
        assert_eq!(conf(CONF, other), []);
    }

    #[test]
    fn an_added_directive_is_named_with_its_line_and_class() {
        let found = CONF.replace("port 0\n", "port 0\nloadmodule /tmp/evil.so\n");
        let d = conf(CONF, &found);
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(d[0].line, Some(3));
        assert_eq!(d[0].found.as_deref(), Some("loadmodule /tmp/evil.so"));
        assert_eq!(
            conf(CONF, &CONF.replace("port 0", "port 1"))[0]
                .wants
                .as_deref(),
            Some("port 0")
        );
        assert_eq!(d[0].wants, None);
        assert_eq!(d[0].class, Class::Weakens);
    }

    #[test]
    fn a_changed_directive_says_what_is_written_there() {
        let d = conf(CONF, &CONF.replace("maxmemory 0", "maxmemory 1gb"));
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(d[0].line, Some(5));
        assert_eq!(d[0].wants.as_deref(), Some("maxmemory 0"));
        assert_eq!(d[0].class, Class::Drift);
        let d = conf(CONF, &CONF.replace("tls-port 6380\n", ""));
        assert_eq!(
            (d[0].line, d[0].wants.as_deref()),
            (None, Some("tls-port 6380"))
        );
    }

    #[test]
    fn a_bom_or_a_duplicate_is_a_difference() {
        assert_eq!(conf(CONF, &format!("\u{feff}{CONF}")).len(), 1);
        assert_eq!(conf(CONF, &format!("{CONF}port 0\n")).len(), 1);
        assert_eq!(directive_class("no-such-directive"), Class::Weakens);
    }

    #[test]
    fn env_values_compare_as_the_app_reads_them() {
        let want = "REDIS_SSL=true\nREDIS_MAX_CONNECTIONS=50\nREDIS_PASSWORD=abc\n";
        assert_eq!(
            env(
                want,
                "REDIS_SSL=True\nREDIS_MAX_CONNECTIONS=50.0\nREDIS_PASSWORD=abc\n"
            ),
            []
        );
        let d = env(
            want,
            "REDIS_SSL=false\nREDIS_MAX_CONNECTIONS=60\nREDIS_PASSWORD=abc\nX=1\n",
        );
        let classes: Vec<_> = d.iter().map(|d| d.class).collect();
        assert_eq!(
            classes,
            [Class::Drift, Class::Weakens, Class::Drift],
            "{d:?}"
        );
        assert_eq!(d[1].line, Some(1));
    }

    #[test]
    fn any_acl_difference_weakens() {
        let want = "user default off\nuser app on #ab ~* +@all\n";
        assert_eq!(
            acl(want, "user default off\r\nuser app on #ab ~* +@all"),
            []
        );
        let d = acl(
            want,
            "user default on nopass ~* +@all\nuser app on #ab ~* +@all\n",
        );
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].wants.as_deref(), Some("user default off"));
        assert_eq!(d[0].class, Class::Weakens);
    }

    #[test]
    fn other_files_compare_line_by_line_without_comments() {
        let want = "a: 1\n# c\nb: 2\n";
        assert_eq!(lines(want, "a: 1  \nb: 2\n# other\n", Class::Breaks), []);
        assert_eq!(lines(want, "a: 1\nb: 3\n", Class::Breaks).len(), 2);
    }
}
