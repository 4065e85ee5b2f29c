//! The security the tool generated, checked as it was generated: who users.acl lets in
//! and with which rules, and the redis.conf directives that keep the server closed
//! (client certificates, protected mode, bind, DEBUG and MODULE off, no plain port next
//! to TLS). A folder weakened by hand is a finding, never "ok".

use std::collections::BTreeMap;
use std::net::IpAddr;

use crate::config::acl::{
    ADMIN_RULES, ADMIN_USER, APP_RULES, DEFAULT_RULES, REPLICA_RULES, REPLICA_USER,
};
use crate::config::layout;
use crate::readback::folder::ServerConf;

impl super::Checker<'_> {
    /// users.acl (when the folder authenticates) and every server's hardening directives.
    pub(super) fn security(&mut self) {
        self.check = "security";
        let f = self.folder;
        for s in &f.servers {
            self.server_hardening(s);
        }
        if let Some(aclfile) = f.servers.iter().find_map(|s| s.value("aclfile")) {
            self.users(aclfile);
        }
        if f.tls() {
            self.generated_files();
        }
    }

    /// Each server and the app use the certificate, key and CA generated for them, so
    /// every key stays paired with its certificate and the app never holds a server key.
    fn generated_files(&mut self) {
        let f = self.folder;
        let abs = |rel: &str| f.dir.join(rel).display().to_string();
        for s in &f.servers {
            let (cert, key) = match s
                .rel
                .strip_prefix("nodes/")
                .and_then(|r| r.strip_suffix("/redis.conf"))
            {
                Some(name) => (layout::node_cert(name), layout::node_key(name)),
                None => (
                    layout::SERVER_CERT.to_owned(),
                    layout::SERVER_KEY.to_owned(),
                ),
            };
            for (d, rel) in [
                ("tls-cert-file", cert.as_str()),
                ("tls-key-file", key.as_str()),
                ("tls-ca-cert-file", layout::CA_CERT),
            ] {
                let want = abs(rel);
                let have = s.value(d).unwrap_or("");
                self.expect(
                    &s.rel,
                    (have != want).then(|| format!("{d} is {have}, not the generated {rel}")),
                    format!(
                        "in {}, write `{d} {}` and restart the server",
                        s.rel,
                        crate::render::escape::conf(&want)
                    ),
                );
            }
        }
        let server_keys: Vec<&str> = f
            .servers
            .iter()
            .filter_map(|s| s.value("tls-key-file"))
            .collect();
        for (key, rel) in [
            ("REDIS_SSL_CERTFILE", layout::CLIENT_CERT),
            ("REDIS_SSL_KEYFILE", layout::CLIENT_KEY),
            ("REDIS_CA_CERTS", layout::CA_CERT),
            ("REDIS_CA_PATH", layout::CA_CERT),
        ] {
            let want = abs(rel);
            let have = f.env(key);
            let problem = if key == "REDIS_SSL_KEYFILE" && server_keys.contains(&have) {
                Some(format!(
                    "{key} is the server's private key: the app must hold only its own client key"
                ))
            } else {
                (have != want).then(|| format!("{key}={have} is not the generated {rel}"))
            };
            self.expect(
                layout::ENV,
                problem,
                format!(
                    "set {key}={} in .env",
                    crate::render::escape::sh_word(&want)
                ),
            );
        }
    }

    fn users(&mut self, aclfile: &str) {
        let Ok(text) = crate::regularfile::read_text(std::path::Path::new(aclfile)) else {
            return; // a missing aclfile is reported with the paths
        };
        let f = self.folder;
        let expected = expected_users(f);
        // During a password rotation a rotated user holds its old password's hash too,
        // exactly the one the rotation's state names.
        let rotating = crate::readback::passwords::state_at(&f.dir)
            .ok()
            .flatten()
            .map(|r| r.old)
            .unwrap_or_default();
        let mut seen: BTreeMap<String, usize> = BTreeMap::new();
        for (i, line) in text.lines().enumerate() {
            let words: Vec<&str> = line.split(' ').filter(|w| !w.is_empty()).collect();
            if words.is_empty() {
                continue;
            }
            let at = format!("{} line {}", layout::ACL, i + 1);
            if words[0] != "user" || words.len() < 2 {
                self.expect(
                    &at,
                    Some("is not a `user NAME rules` line: Redis refuses to start with it (the ACL file has no comments)".into()),
                    "delete the lines of users.acl that do not start with `user `".to_owned(),
                );
                continue;
            }
            let name = words[1];
            *seen.entry(name.to_owned()).or_default() += 1;
            let rules: Vec<&str> = words[2..].to_vec();
            if rules.contains(&"nopass") {
                self.expect(
                    &at,
                    Some(format!(
                        "user {name} has nopass: anyone can log in as {name} without a password"
                    )),
                    fix_line(name, expected.get(name).copied(), &rules),
                );
                continue;
            }
            let Some(want) = expected.get(name) else {
                self.expect(
                    &at,
                    Some(format!(
                        "user {name} was not generated: an unknown user can log in"
                    )),
                    format!("delete user {name}'s line from users.acl and restart the server"),
                );
                continue;
            };
            let old_hash = rotating.get(name).map(|h| format!("#{h}"));
            let problem =
                (!rules_as_generated(name, &rules, want, old_hash.as_deref())).then(|| {
                    format!(
                        "user {name} has rules `{}`, not the generated `{}`",
                        rules.join(" "),
                        want.join(" ")
                    )
                });
            self.expect(&at, problem, fix_line(name, Some(want), &rules));
        }
        for (name, n) in &seen {
            self.expect(
                layout::ACL,
                (*n > 1).then(|| format!("user {name} appears {n} times: Redis refuses to start")),
                format!("keep only the first `user {name}` line of users.acl (delete the others) and restart the server"),
            );
        }
        self.expect(
            layout::ACL,
            (!seen.contains_key("default")).then(|| {
                "has no `user default` line: Redis then creates the default user with no password and every right".to_owned()
            }),
            "add the line `user default off resetchannels -@all` at the top of users.acl and restart the server",
        );
    }

    fn server_hardening(&mut self, s: &ServerConf) {
        self.closed_to_strangers(s);
        if s.tls() {
            self.tls_only(s);
        }
        self.generated_files_only(s);
        self.tls_protocols(s);
        self.no_users_outside_the_acl(s);
        self.bind_as_generated(s);
    }

    /// Protected mode on, DEBUG and MODULE LOAD off.
    fn closed_to_strangers(&mut self, s: &ServerConf) {
        let want = |d: &str, v: &str| want(s, d, v);
        let is = |d: &str, ok: &[&str], default_ok: bool| is(s, d, ok, default_ok);
        self.expect(
            &s.rel,
            (!is("protected-mode", &["yes"], false)).then(|| format!(
                "protected-mode is {}: the server then answers clients on every interface without a password", s.value("protected-mode").unwrap_or("not set (the official image turns it off)")
            )),
            want("protected-mode", "yes"),
        );
        for d in ["enable-debug-command", "enable-module-command"] {
            self.expect(
                &s.rel,
                (!is(d, &["no"], true)).then(|| {
                    format!(
                        "{d} is {}: DEBUG/MODULE LOAD can run code in the server",
                        s.value(d).unwrap_or("")
                    )
                }),
                want(d, "no"),
            );
        }
    }

    /// With TLS: client certificates required, no plain port, node-to-node traffic over
    /// TLS.
    fn tls_only(&mut self, s: &ServerConf) {
        let f = self.folder;
        let want = |d: &str, v: &str| want(s, d, v);
        let is = |d: &str, ok: &[&str], default_ok: bool| is(s, d, ok, default_ok);
        self.expect(
            &s.rel,
            (!is("tls-auth-clients", &["yes"], true)).then(|| {
                format!(
                    "tls-auth-clients is {}: clients without a certificate of this CA get in",
                    s.value("tls-auth-clients").unwrap_or("")
                )
            }),
            want("tls-auth-clients", "yes"),
        );
        self.expect(
            &s.rel,
            (!is("port", &["0"], false)).then(|| {
                format!(
                    "port is {}: a plain-text port is open next to TLS",
                    s.value("port")
                        .unwrap_or("not set (Redis then listens on 6379 in plain text)")
                )
            }),
            want("port", "0"),
        );
        if f.cluster() {
            for d in ["tls-replication", "tls-cluster"] {
                self.expect(
                    &s.rel,
                    (!is(d, &["yes"], false)).then(|| {
                        format!("{d} is not yes: node-to-node traffic goes in plain text")
                    }),
                    want(d, "yes"),
                );
            }
        }
    }

    /// The generated users.acl and nothing included from elsewhere.
    fn generated_files_only(&mut self, s: &ServerConf) {
        let f = self.folder;
        let want = |d: &str, v: &str| want(s, d, v);
        if let Some(acl) = s.value("aclfile") {
            let generated = f.dir.join(layout::ACL).display().to_string();
            self.expect(
                &s.rel,
                (acl != generated)
                    .then(|| format!("aclfile is {acl}, not the generated {}", layout::ACL)),
                want("aclfile", &crate::render::escape::conf(&generated)),
            );
        }
        self.expect(
            &s.rel,
            s.value("include").is_some().then(|| "has an `include` directive: settings from another file can override the generated ones".to_owned()),
            format!("delete the `include` lines of {} and restart the server", s.rel),
        );
    }

    /// TLSv1.2 and TLSv1.3 only, when protocols are named.
    fn tls_protocols(&mut self, s: &ServerConf) {
        let want = |d: &str, v: &str| want(s, d, v);
        if let Some(protocols) = crate::readback::redisconf::get(&s.directives, "tls-protocols") {
            let weak = protocols
                .iter()
                .flat_map(|p| p.split_whitespace())
                .any(|p| !matches!(p.to_ascii_lowercase().as_str(), "tlsv1.2" | "tlsv1.3"));
            self.expect(
                &s.rel,
                weak.then(|| {
                    format!(
                        "tls-protocols allows `{}`: only TLSv1.2 and TLSv1.3 are generated",
                        protocols.join(" ")
                    )
                }),
                want("tls-protocols", "\"TLSv1.2 TLSv1.3\""),
            );
        }
    }

    /// Users and passwords come from users.acl alone.
    fn no_users_outside_the_acl(&mut self, s: &ServerConf) {
        for d in ["user", "requirepass"] {
            self.expect(
                &s.rel,
                s.value(d).is_some().then(|| {
                    format!("has a `{d}` directive: users and passwords belong in users.acl only")
                }),
                format!("delete the `{d}` lines of {} and restart the server", s.rel),
            );
        }
    }

    /// `bind` as generated for the host clients reach the server by.
    fn bind_as_generated(&mut self, s: &ServerConf) {
        let want = |d: &str, v: &str| want(s, d, v);
        if let Some(host) = self.host_of(s) {
            let recorded = self
                .folder
                .recorded()
                .map(|r| r.bind.clone())
                .unwrap_or_default();
            let generated = generated_bind(&recorded, &host);
            let bind: Vec<String> = crate::readback::redisconf::get(&s.directives, "bind")
                .map(|a| a.to_vec())
                .unwrap_or_else(|| vec!["*".into(), "-::*".into()]);
            self.expect(
                &s.rel,
                (bind != generated).then(|| {
                    format!(
                        "bind is `{}`, not the generated `{}` for {host}",
                        bind.join(" "),
                        generated.join(" ")
                    )
                }),
                want("bind", &generated.join(" ")),
            );
        }
    }

    /// The host clients reach this server by: the node's announced address, or REDIS_HOST.
    fn host_of(&self, s: &ServerConf) -> Option<String> {
        if let Some(h) = s
            .value("cluster-announce-ip")
            .or_else(|| s.value("cluster-announce-hostname"))
        {
            return Some(h.to_owned());
        }
        if self.folder.servers.len() == 1 {
            return self.folder.app_env().0.host;
        }
        None
    }
}

/// The bind line the generator writes for a server reached at `host`, with the
/// record's `--bind` addresses (those a flag would refuse count as none: the record is
/// reported on its own).
fn generated_bind(recorded: &[String], host: &str) -> Vec<String> {
    let explicit: Vec<IpAddr> = recorded.iter().filter_map(|a| a.parse().ok()).collect();
    crate::config::bind::rule(&explicit, host).0
}

/// The fix for a user line: the line as generated, keeping its password hash.
fn fix_line(name: &str, want: Option<&[&str]>, rules: &[&str]) -> String {
    let Some(want) = want else {
        return format!("delete user {name}'s line from users.acl and restart the server");
    };
    let hash = rules.iter().find(|w| w.starts_with('#'));
    let mut words = vec!["user", name];
    words.push(want[0]);
    if let Some(h) = hash {
        words.push(h);
    }
    words.extend_from_slice(&want[1..]);
    format!(
        "in users.acl, replace user {name}'s line with `{}` and restart the server",
        words.join(" ")
    )
}

/// Each user the folder's setup generates, with its rules: `default` (off), the app's,
/// the admin, and the replication and metrics users where the setup has them.
fn expected_users(
    f: &crate::readback::folder::Folder,
) -> BTreeMap<String, &'static [&'static str]> {
    let mut expected: BTreeMap<String, &[&str]> = BTreeMap::new();
    expected.insert("default".into(), DEFAULT_RULES);
    let app = f.env("REDIS_USERNAME");
    if !app.is_empty() {
        expected.insert(app.to_owned(), APP_RULES);
    }
    expected.insert(ADMIN_USER.into(), ADMIN_RULES);
    if f.cluster() {
        expected.insert(REPLICA_USER.into(), REPLICA_RULES);
    }
    let metrics = match f.recorded() {
        Some(r) => r.metrics_image.is_some(),
        None => super::fixes::metrics_env(f).is_some(),
    };
    if metrics {
        expected.insert(
            crate::config::acl::METRICS_USER.into(),
            crate::config::acl::metrics_rules(f.cluster()),
        );
    }
    expected
}

/// A user's rules are the generated ones: the same rules, and one password hash (none
/// for `default`), plus the old one a password rotation keeps (`old_hash`).
fn rules_as_generated(name: &str, rules: &[&str], want: &[&str], old_hash: Option<&str>) -> bool {
    let hashes = rules.iter().filter(|w| w.starts_with('#')).count();
    let without: Vec<&str> = rules
        .iter()
        .copied()
        .filter(|w| !w.starts_with('#'))
        .collect();
    let want_hashes =
        usize::from(name != "default") + usize::from(old_hash.is_some_and(|h| rules.contains(&h)));
    without == want && hashes == want_hashes
}

/// The fix for a directive: write it as generated.
fn want(s: &ServerConf, d: &str, v: &str) -> String {
    format!("in {}, write `{d} {v}` and restart the server", s.rel)
}

/// Whether directive `d` is one of `ok` (any case); unset: `default_ok`.
fn is(s: &ServerConf, d: &str, ok: &[&str], default_ok: bool) -> bool {
    match s.value(d) {
        None => default_ok,
        Some(v) => ok.contains(&v.to_ascii_lowercase().as_str()),
    }
}
