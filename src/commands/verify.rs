//! `kimera-redis-init verify DIR`: offline checks of a generated folder. Each finding is
//! one line saying what is wrong and how to fix it; exit 0 when clean, 1 with findings.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use rustls_pki_types::UnixTime;
use time::OffsetDateTime;

use crate::certinfo::{self, CertInfo};
use crate::error::Result;
use crate::folder::Folder;
use crate::layout;
use crate::render::sha256_hex;
use crate::trust::{self, Usage};

/// One problem: where, what, and the fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub path: String,
    pub problem: String,
    pub fix: String,
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}; fix: {}", self.path, self.problem, self.fix)
    }
}

/// Run the checks and print them; `Ok(true)` when the folder is clean.
pub fn run(dir: &Path, warn_days: i64) -> Result<bool> {
    // What a killed run left (issue 11: `journal`), reported before anything else.
    let interrupted = crate::journal::leftovers(dir);
    interrupted.iter().for_each(|line| println!("{line}"));
    let folder = match Folder::read(dir) {
        Err(_) if !interrupted.is_empty() => return Ok(false),
        read => read?,
    };
    let (findings, checks) = check(&folder, warn_days, OffsetDateTime::now_utc());
    for f in &findings {
        println!("{f}");
    }
    let problems = findings.len() + interrupted.len();
    if problems == 0 {
        println!("ok: {} checks passed in {}", checks, dir.display());
    } else {
        println!("{problems} problem(s) found in {}", dir.display());
    }
    Ok(findings.is_empty() && interrupted.is_empty())
}

/// Every check on `folder`, as of `now`: the findings and how many checks ran.
pub fn check(folder: &Folder, warn_days: i64, now: OffsetDateTime) -> (Vec<Finding>, usize) {
    let mut c = Checker {
        folder,
        findings: Vec::new(),
        checks: 0,
    };
    c.consistency();
    if folder.tls() {
        c.certificates(warn_days, now);
    }
    c.modes();
    (c.findings, c.checks)
}

struct Checker<'a> {
    folder: &'a Folder,
    findings: Vec<Finding>,
    checks: usize,
}

impl Checker<'_> {
    /// Record one check; a finding when `problem` is `Some`.
    fn expect(&mut self, path: &str, problem: Option<String>, fix: impl Into<String>) {
        self.checks += 1;
        if let Some(problem) = problem {
            self.findings.push(Finding {
                path: path.to_owned(),
                problem,
                fix: fix.into(),
            });
        }
    }

    fn abs(&self, p: &str) -> PathBuf {
        self.folder.dir.join(p)
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
        for (host, port) in f.dialled() {
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
                        "restore the file, or generate again with --force",
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
                    "point it at the file in certs/, or generate again with --force",
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
            self.expect(
                layout::REDIS_CONF,
                Some(format!(
                    ".env names user {user} but redis.conf has no aclfile"
                )),
                "generate again with --force",
            );
            return;
        };
        let acl = fs::read_to_string(aclfile).unwrap_or_default();
        // Every password the setup uses, where it is kept, against its users.acl hash.
        let mut holders = vec![(
            "the REDIS_PASSWORD in .env".to_owned(),
            user.to_owned(),
            f.env("REDIS_PASSWORD").to_owned(),
            "restore the .env that was generated with this users.acl, or generate again with --force (new password for both)",
        )];
        if let Ok(admin) = crate::folder::read_env(&f.dir.join(layout::ADMIN_ENV)) {
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
        for (source, user, password, fix) in holders {
            let line = acl
                .lines()
                .find(|l| l.split(' ').nth(1) == Some(user.as_str()));
            let Some(line) = line else {
                self.expect(
                    layout::ACL,
                    Some(format!("user {user} ({source}) is not in {aclfile}")),
                    "generate again with --force, or name a user that users.acl has",
                );
                continue;
            };
            let words: Vec<&str> = line.split(' ').collect();
            self.expect(
                layout::ACL,
                (!words.contains(&"on")).then(|| format!("user {user} is switched off")),
                "put `on` in its users.acl line and restart the server",
            );
            let want = format!("#{}", sha256_hex(&password));
            self.expect(
                layout::ACL,
                (!words.contains(&want.as_str()))
                    .then(|| format!("{source} does not match user {user}'s password hash")),
                fix,
            );
        }
    }

    /// Chains, usages, names, key pairs and expiry.
    fn certificates(&mut self, warn_days: i64, now: OffsetDateTime) {
        let f = self.folder;
        let Some((ca_der, ca)) = self.load_cert(layout::CA_CERT) else {
            return;
        };
        self.expiry(layout::CA_CERT, &ca, warn_days, now,
            "make a new CA: move certs/ away and generate again (clients must then trust the new ca.crt)");
        self.expect(
            layout::CA_CERT,
            (ca.subject != ca.issuer).then(|| format!("is an intermediate CA (issued by {}): OpenSSL clients and Redis cannot verify with it alone", ca.issuer)),
            "issue under a root CA: generate again with --ca-cert set to your root (self-signed) CA and --force",
        );
        let unix_now = UnixTime::since_unix_epoch(std::time::Duration::from_secs(
            now.unix_timestamp().max(0) as u64,
        ));
        for leaf in &f.leaves {
            let Some((der, info)) = self.load_cert(leaf) else {
                continue;
            };
            self.expiry(
                leaf,
                &info,
                warn_days,
                now,
                "run `kimera-redis-init renew` on this folder",
            );
            self.key_pair(leaf, &info);
            for usage in self.usages(leaf) {
                let problem = trust::chains(&ca_der, &der, usage, unix_now)
                    .err()
                    .map(|e| format!("does not chain to certs/ca.crt for {} ({e})", usage.name()));
                self.expect(leaf, problem, "run `kimera-redis-init renew` on this folder to issue it again under certs/ca.crt");
            }
        }
        for (host, port) in f.dialled() {
            let Some(cert) = f
                .server_on(&host, port)
                .and_then(|s| s.value("tls-cert-file"))
            else {
                continue;
            };
            let Ok(pem) = fs::read_to_string(cert) else {
                continue;
            };
            let Ok((der, _)) = certinfo::from_pem(cert, &pem) else {
                continue;
            };
            let problem = trust::covers(&der, &host).err().map(|_| {
                format!("the app dials {host}, which the server certificate {cert} does not name")
            });
            self.expect(layout::ENV, problem, format!(
                "generate again with --host {host} (or --san {host}) and --force, or dial a name the certificate has"
            ));
        }
    }

    /// What a leaf is for: the app's client certificate, a server's (and, in a cluster,
    /// also a client of the other nodes).
    fn usages(&self, leaf: &str) -> Vec<Usage> {
        if leaf == layout::CLIENT_CERT {
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
        let loaded = fs::read_to_string(self.abs(rel))
            .map_err(|e| e.to_string())
            .and_then(|pem| certinfo::from_pem(rel, &pem).map_err(|e| e.to_string()));
        match loaded {
            Ok(x) => {
                self.checks += 1;
                Some(x)
            }
            Err(e) => {
                self.expect(
                    rel,
                    Some(format!("cannot be read as a certificate: {e}")),
                    "restore it, or run `kimera-redis-init renew` on this folder",
                );
                None
            }
        }
    }

    fn key_pair(&mut self, cert_rel: &str, info: &CertInfo) {
        use rcgen::PublicKeyData;
        let key_rel = Folder::key_for(cert_rel);
        let key = fs::read_to_string(self.abs(&key_rel))
            .ok()
            .and_then(|pem| rcgen::KeyPair::from_pem(&pem).ok());
        let problem = match key {
            None => Some(format!("{key_rel} is missing or not a private key")),
            Some(k) if k.der_bytes() != info.public_key.as_slice() => {
                Some(format!("{key_rel} is not the key of this certificate"))
            }
            Some(_) => None,
        };
        self.expect(
            cert_rel,
            problem,
            "restore the matching key, or run `kimera-redis-init renew` (new keys) on this folder",
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
        let problem = if info.not_after <= now {
            Some(format!("expired on {}", info.not_after.date()))
        } else if info.not_before > now {
            Some(format!(
                "not valid before {}",
                certinfo::show_time(info.not_before)
            ))
        } else if left < warn_days {
            Some(format!(
                "expires in {left} day(s), on {} (warning from {warn_days} days)",
                info.not_after.date()
            ))
        } else {
            None
        };
        self.expect(rel, problem, fix);
    }

    /// Files that hold secrets are readable by their owner only.
    fn modes(&mut self) {
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
