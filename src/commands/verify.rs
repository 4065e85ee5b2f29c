//! `kimera-redis-init verify DIR`: offline checks of a generated folder. Each finding is
//! one line saying what is wrong and how to fix it; exit 0 when clean, 1 with findings.

use crate::commands::stdout::outln;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use time::OffsetDateTime;

use crate::certificate::{self, CertInfo};
use crate::config::layout;
use crate::digest::sha256_hex;
use crate::error::Result;
use crate::pki::trust::{self, Usage};
use crate::readback::folder::Folder;

pub(crate) mod compare;
mod files;
pub(crate) mod fixes;
mod pinned;
mod recorded;
pub(crate) mod regenerated;
mod security;

/// One problem: which check found it, where, what, how bad, and the fix.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub(crate) struct Finding {
    /// The group of checks: interrupted, env, consistency, security, record,
    /// regenerated, certificates, modes, files.
    pub(crate) check: &'static str,
    /// The file (or `file line N`) the finding is about.
    #[serde(rename = "subject")]
    pub(crate) path: String,
    /// `error`, or `warning` for a certificate that expires soon: both fail verify;
    /// `note` for harmless drift from what the tool writes, which does not.
    pub(crate) severity: &'static str,
    #[serde(rename = "message")]
    pub(crate) problem: String,
    pub(crate) fix: String,
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Findings quote the folder's files: shown escaped (the JSON form is escaped by serde).
        let p = crate::printable::text;
        write!(
            f,
            "{}: {}; fix: {}",
            p(&self.path),
            p(&self.problem),
            p(&self.fix)
        )
    }
}

/// Run the checks and print them (as JSON with `json`); `Ok(true)` when the folder is clean.
pub(crate) fn run(dir: &Path, warn_days: i64, json: bool) -> Result<bool> {
    // What a killed run left (`journal`), reported first: the files may not fit together.
    let interrupted: Vec<Finding> = crate::output::journal::leftovers(dir)
        .into_iter()
        .map(|(path, problem, fix)| Finding {
            check: "interrupted",
            path,
            severity: "error",
            problem,
            fix,
        })
        .collect();
    let mut folder = match Folder::read(dir) {
        Err(_) if !interrupted.is_empty() => None,
        read => Some(read?),
    };
    let settled = folder
        .as_mut()
        .map(regenerated::settle_record)
        .unwrap_or_default();
    if let Some(note) = folder.as_ref().and_then(Folder::inferred_note) {
        eprintln!("{note}");
    }
    let (mut findings, checks) = match &folder {
        Some(folder) => check(folder, warn_days, OffsetDateTime::now_utc()),
        None => (Vec::new(), 0),
    };
    findings.splice(0..0, interrupted.into_iter().chain(settled));
    let failed = findings.iter().any(|f| f.severity != "note");
    if json {
        let report = serde_json::json!({
            "folder": dir.display().to_string(),
            "ok": !failed,
            "checks": checks,
            "findings": findings,
        });
        outln!(
            "{}",
            serde_json::to_string_pretty(&report).expect("findings serialize")
        );
        return Ok(!failed);
    }
    for f in &findings {
        if f.severity == "note" {
            outln!("note: {f}");
        } else {
            outln!("{f}");
        }
    }
    if let Some(note) = folder
        .as_ref()
        .and_then(|f| crate::commands::renew::rollover_note(&f.dir))
    {
        outln!("{note}");
    }
    if let Some(note) = folder
        .as_ref()
        .and_then(|f| crate::readback::passwords::note(&f.dir))
    {
        outln!("{note}");
    }
    let problems = findings.iter().filter(|f| f.severity != "note").count();
    if problems == 0 {
        outln!("ok: {} checks passed in {}", checks, dir.display());
    } else {
        outln!("{problems} problem(s) found in {}", dir.display());
    }
    Ok(!failed)
}

/// Every check on `folder`, as of `now`: the findings and how many checks ran.
pub(crate) fn check(folder: &Folder, warn_days: i64, now: OffsetDateTime) -> (Vec<Finding>, usize) {
    let mut c = Checker {
        folder,
        findings: Vec::new(),
        checks: 0,
        check: "env",
        severity: "error",
    };
    c.app_env();
    c.check = "consistency";
    c.consistency();
    c.security();
    c.recorded();
    let regenerated = c.regenerated();
    c.check = "certificates";
    if folder.tls() || folder.dir.join(layout::CA_CERT).exists() {
        c.pinned();
    }
    if folder.tls() {
        c.certificates(warn_days, now);
    }
    c.check = "modes";
    c.modes(regenerated.as_ref().map(|(_, bundle)| bundle));
    c.expect(
        layout::ENV,
        crate::config::url::check(&folder.env),
        format!(
            "run `{} --force` (it writes REDIS_URL again from the REDIS_* values, keeping the \
             password and the CA)",
            fixes::generate_command(folder)
        ),
    );
    for s in crate::render::stores::checks(&folder.dir, &folder.pinned_cas()) {
        c.expect(s.path, s.problem, s.fix);
    }
    c.files();
    (c.findings, c.checks)
}

/// Every password the folder keeps, where it is kept (`.env`, admin.env, each node's
/// masterauth), with its user and the fix for a mismatch (empty: the app's, whose fix
/// depends on the hash users.acl holds).
fn password_holders(f: &Folder, user: &str) -> Vec<(String, String, String, &'static str)> {
    let mut holders = vec![(
        "the REDIS_PASSWORD in .env".to_owned(),
        user.to_owned(),
        f.env("REDIS_PASSWORD").to_owned(),
        "",
    )];
    if let Ok(admin) = crate::readback::folder::read_env(&f.dir.join(layout::ADMIN_ENV)) {
        let get = |k: &str| admin.get(k).cloned().unwrap_or_default();
        holders.push((
            "the REDIS_ADMIN_PASSWORD in admin.env".to_owned(),
            get("REDIS_ADMIN_USERNAME"),
            get("REDIS_ADMIN_PASSWORD"),
            "restore the admin.env generated with this users.acl, or generate again with --force",
        ));
    }
    for s in &f.servers {
        if let (Some(u), Some(p)) = (s.value("masteruser"), s.value("masterauth")) {
            holders.push((
                format!("the masterauth in {}", s.rel),
                u.to_owned(),
                p.to_owned(),
                "restore the node configs generated with this users.acl, or generate again with --force",
            ));
        }
    }
    holders
}

struct Checker<'a> {
    folder: &'a Folder,
    findings: Vec<Finding>,
    checks: usize,
    /// The group the next findings belong to.
    check: &'static str,
    /// `warning` only while an expiry warning is recorded.
    severity: &'static str,
}

impl Checker<'_> {
    /// Record one check; a finding when `problem` is `Some`.
    fn expect(&mut self, path: &str, problem: Option<String>, fix: impl Into<String>) {
        self.checks += 1;
        if let Some(problem) = problem {
            self.findings.push(Finding {
                check: self.check,
                path: path.to_owned(),
                severity: self.severity,
                problem,
                fix: fix.into(),
            });
        }
    }

    fn abs(&self, p: &str) -> PathBuf {
        self.folder.dir.join(p)
    }

    /// Every `.env` value parsed as the app parses it; one that does not is a finding.
    fn app_env(&mut self) {
        let (app, problems) = self.folder.app_env();
        self.checks += 1;
        let problems_found = problems.len();
        for p in problems {
            let fix = match fixes::generated_value(self.folder, &p.key) {
                Some(v) => format!("set {}={v} in .env (the generated value)", p.key),
                None => p.fix,
            };
            self.expect(layout::ENV, Some(p.problem), fix);
        }
        self.expect(
            layout::ENV,
            (problems_found == 0 && app.dialled().is_empty()).then(|| "names no server the app can dial (REDIS_HOST and REDIS_PORT, or REDIS_CLUSTER_NODES)".to_owned()),
            "restore REDIS_HOST and REDIS_PORT (or REDIS_CLUSTER_NODES) as generated",
        );
    }

    /// redis.conf, users.acl and .env agree, and every path they name exists.
    fn consistency(&mut self) {
        let f = self.folder;
        if f.servers.is_empty() {
            self.expect(
                layout::REDIS_CONF,
                Some("no redis.conf (or nodes/*/redis.conf) in the folder".into()),
                "generate the folder again with the same --profile and --force",
            );
            return;
        }
        for (host, port) in f.app_env().0.dialled() {
            let server = f.server_on(&host, port);
            self.expect(
                layout::ENV,
                server.is_none().then(|| format!("the app dials {host}:{port}, but no server config here serves that address")),
                "make REDIS_PORT (or REDIS_CLUSTER_NODES) and the server's port agree, or generate again with --force",
            );
        }
        for s in &f.servers {
            self.expect(
                &s.rel,
                (s.tls() != f.tls()).then(|| {
                    format!(
                        "the server has TLS {} but .env says REDIS_SSL={}",
                        if s.tls() { "on" } else { "off" },
                        f.env("REDIS_SSL")
                    )
                }),
                "set REDIS_SSL to match the server, or generate again with --force",
            );
            for key in [
                "tls-cert-file",
                "tls-key-file",
                "tls-ca-cert-file",
                "aclfile",
                "dir",
            ] {
                if let Some(p) = s.value(key) {
                    self.expect(
                        &s.rel,
                        (!Path::new(p).exists()).then(|| format!("{key} {p} does not exist")),
                        fixes::missing_file(f, p),
                    );
                }
            }
        }
        if f.tls() {
            for key in [
                "REDIS_SSL_CERTFILE",
                "REDIS_SSL_KEYFILE",
                "REDIS_CA_CERTS",
                "REDIS_CA_PATH",
            ] {
                let p = f.env(key);
                self.expect(
                    layout::ENV,
                    (p.is_empty() || !Path::new(p).exists())
                        .then(|| format!("{key}={p} does not exist")),
                    fixes::missing_file(f, p),
                );
            }
        }
        self.acl();
    }

    /// The app's user exists, is on, and its hash is the SHA-256 of the .env password.
    fn acl(&mut self) {
        let f = self.folder;
        let user = f.env("REDIS_USERNAME");
        if user.is_empty() {
            return;
        }
        let Some(aclfile) = f.servers.iter().find_map(|s| s.value("aclfile")) else {
            let acl = crate::render::escape::conf(&self.abs(layout::ACL).display().to_string());
            for s in &f.servers {
                self.expect(
                    &s.rel,
                    Some(format!(
                        ".env names user {user} but {} has no aclfile",
                        s.rel
                    )),
                    format!("in {}, write `aclfile {acl}` and restart the server", s.rel),
                );
            }
            return;
        };
        let Ok(acl) = crate::regularfile::read_text(Path::new(aclfile)) else {
            return; // reported with the paths redis.conf names, with its fix
        };
        // Every password the setup uses, where it is kept, against its users.acl hash.
        for (source, user, password, fix) in password_holders(f, user) {
            self.acl_user(&acl, aclfile, &source, &user, &password, fix);
        }
    }

    /// One password holder against users.acl: the user is there, switched on, and holds
    /// the password's hash.
    fn acl_user(
        &mut self,
        acl: &str,
        aclfile: &str,
        source: &str,
        user: &str,
        password: &str,
        fix: &str,
    ) {
        let f = self.folder;
        let line = acl.lines().find(|l| l.split(' ').nth(1) == Some(user));
        let Some(line) = line else {
            self.expect(
                layout::ACL,
                Some(format!("user {user} ({source}) is not in {aclfile}")),
                format!(
                    "run `{} --force` (it writes users.acl again with the passwords the setup holds), or name a user that users.acl has",
                    fixes::generate_command(f)
                ),
            );
            return;
        };
        let words: Vec<&str> = line.split(' ').collect();
        self.expect(
            layout::ACL,
            (!words.contains(&"on")).then(|| format!("user {user} is switched off")),
            "put `on` in its users.acl line and restart the server",
        );
        let want = format!("#{}", sha256_hex(password));
        let fix = if fix.is_empty() {
            let stored = words.iter().find_map(|w| w.strip_prefix('#')).unwrap_or("");
            fixes::app_password(f, stored)
        } else {
            fix.to_owned()
        };
        self.expect(
            layout::ACL,
            (!words.contains(&want.as_str()))
                .then(|| format!("{source} does not match user {user}'s password hash")),
            fix,
        );
    }

    /// Chains, usages, names, key pairs and expiry.
    fn certificates(&mut self, warn_days: i64, now: OffsetDateTime) {
        let f = self.folder;
        let Some((_, ca)) = self.load_cert(layout::CA_CERT) else {
            return;
        };
        self.expiry(layout::CA_CERT, &ca, warn_days, now,
            "make a new CA: move certs/ away and generate again (clients must then trust the new ca.crt)");
        self.expect(
            layout::CA_CERT,
            (ca.subject != ca.issuer).then(|| format!("is an intermediate CA (issued by {}): OpenSSL clients and Redis cannot verify with it alone", ca.issuer)),
            "issue under a root CA: generate again with --ca-cert set to your root (self-signed) CA and --force",
        );
        let unix_now = crate::pki::issue::unix_time(now);
        // The CAs the folder pins: two during a CA rollover (renew --new-ca); never
        // whatever else was appended to ca.crt.
        let trusted = f.pinned_cas();
        for leaf in &f.leaves {
            let Some((der, info)) = self.load_cert(leaf) else {
                continue;
            };
            self.expiry(leaf, &info, warn_days, now, &fixes::renew(f, ""));
            self.key_pair(leaf, &info);
            for usage in self.usages(leaf) {
                let problem = trust::chains_to_any(&trusted, &der, usage, unix_now)
                    .err()
                    .map(|e| format!("does not chain to certs/ca.crt for {} ({e})", usage.name()));
                self.expect(
                    leaf,
                    problem,
                    fixes::renew(f, " to issue it again under certs/ca.crt"),
                );
            }
        }
        for (host, port) in f.app_env().0.dialled() {
            let Some(cert) = f
                .server_on(&host, port)
                .and_then(|s| s.value("tls-cert-file"))
            else {
                continue;
            };
            let Ok(pem) = crate::regularfile::read_text(Path::new(cert)) else {
                continue;
            };
            let Ok((der, _)) = certificate::from_pem(cert, &pem) else {
                continue;
            };
            let problem = trust::covers(&der, &host).err().map(|_| {
                format!("the app dials {host}, which the server certificate {cert} does not name")
            });
            self.expect(layout::ENV, problem, format!(
                "run `{} --force` to issue the server certificate for {host} (--san {host} adds it as an extra name), or set REDIS_HOST to a name the certificate has",
                fixes::generate_command(f)
            ));
        }
    }

    /// What a leaf is for: the app's client certificate, a server's (and, in a cluster,
    /// also a client of the other nodes).
    fn usages(&self, leaf: &str) -> Vec<Usage> {
        if leaf == layout::CLIENT_CERT || leaf == layout::KUBERNETES_JOB_CERT {
            return vec![Usage::Client];
        }
        let abs = self.abs(leaf);
        let serves = self
            .folder
            .servers
            .iter()
            .any(|s| s.value("tls-cert-file").map(PathBuf::from) == Some(abs.clone()));
        match (serves, self.folder.cluster()) {
            (true, true) => vec![Usage::Server, Usage::Client],
            (true, false) => vec![Usage::Server],
            (false, _) => vec![],
        }
    }

    fn load_cert(&mut self, rel: &str) -> Option<(Vec<u8>, CertInfo)> {
        let loaded = crate::regularfile::read_text(&self.abs(rel))
            .map_err(|e| e.to_string())
            .and_then(|pem| certificate::from_pem(rel, &pem).map_err(|e| e.to_string()));
        match loaded {
            Ok(x) => {
                self.checks += 1;
                Some(x)
            }
            Err(e) => {
                let fix = if rel == layout::CA_CERT {
                    fixes::lost_ca(self.folder)
                } else {
                    format!("restore it, or {}", fixes::renew(self.folder, ""))
                };
                self.expect(
                    rel,
                    Some(format!("cannot be read as a certificate: {e}")),
                    fix,
                );
                None
            }
        }
    }

    fn key_pair(&mut self, cert_rel: &str, info: &CertInfo) {
        let key_rel = Folder::key_for(cert_rel);
        let key = crate::regularfile::read_text(&self.abs(&key_rel))
            .ok()
            .and_then(|pem| rcgen::KeyPair::from_pem(&pem).ok());
        let problem = match key {
            None => Some(format!("{key_rel} is missing or not a private key")),
            Some(k) if !crate::pki::keys::key_matches(&k, &info.public_key) => {
                Some(format!("{key_rel} is not the key of this certificate"))
            }
            Some(_) => None,
        };
        self.expect(
            cert_rel,
            problem,
            format!(
                "restore the matching key, or {}",
                fixes::renew(self.folder, " (new keys)")
            ),
        );
    }

    fn expiry(
        &mut self,
        rel: &str,
        info: &CertInfo,
        warn_days: i64,
        now: OffsetDateTime,
        fix: &str,
    ) {
        let left = (info.not_after - now).whole_days();
        // A short-lived certificate (renew --days 30) is not flagged from its first day:
        // the warning starts at the last third of its validity when that is sooner.
        let warn_days = warn_days.min((info.not_after - info.not_before).whole_days() / 3);
        let soon = info.not_after > now && info.not_before <= now && left < warn_days;
        let problem = if info.not_after <= now {
            Some(certificate::expired_on(info.not_after))
        } else if info.not_before > now {
            Some(certificate::not_valid_before(info.not_before))
        } else if left < warn_days {
            Some(format!(
                "{} (warning from {warn_days} days)",
                certificate::expires_in(left, info.not_after)
            ))
        } else {
            None
        };
        if soon {
            self.severity = "warning";
        }
        self.expect(rel, problem, fix);
        self.severity = "error";
    }

    /// Files that hold secrets are readable by their owner only: every file the
    /// regenerated bundle makes 0600, and the known ones when it could not be made.
    fn modes(&mut self, bundle: Option<&crate::render::bundle::Bundle>) {
        let mut secret: Vec<String> = [
            layout::ENV,
            layout::PROPERTIES,
            layout::ACL,
            layout::ADMIN_ENV,
        ]
        .map(String::from)
        .to_vec();
        secret.extend(self.folder.leaves.iter().map(|c| Folder::key_for(c)));
        secret.push(layout::CA_KEY.to_owned());
        if self.folder.cluster() {
            secret.extend(self.folder.servers.iter().map(|s| s.rel.clone()));
        }
        for entry in bundle.map(|b| b.entries.as_slice()).unwrap_or_default() {
            if entry.kind.mode() & 0o077 == 0
                && entry.kind != crate::render::bundle::Kind::Dir
                && !secret.contains(&entry.path)
            {
                secret.push(entry.path.clone());
            }
        }
        for rel in secret {
            let Ok(meta) = fs::metadata(self.abs(&rel)) else {
                continue;
            };
            let mode = meta.permissions().mode() & 0o777;
            self.expect(
                &rel,
                (mode & 0o077 != 0).then(|| format!("holds a secret but is mode {mode:04o}")),
                format!("chmod 600 {}", self.abs(&rel).display()),
            );
        }
    }
}
