//! Verify by regeneration: what the folder's record asks for goes through generate's own
//! pipeline in memory (settings, then the PKI as found on disk, the passwords in use,
//! and every rendered file), and each rendered file is compared with the one on disk.
//! No list of bad lines: whatever is not what the tool would write there is found, and
//! classed by what it does (`compare`). The record itself is checked like flags and
//! against the settings it resolves to; a folder without one is judged from the
//! profile its `.env` names.

use std::path::Path;

use super::compare::{self, Class};
use super::fixes;
use crate::certificate;
use crate::config::layout;
use crate::config::record::Record;
use crate::config::replay;
use crate::config::request::RunOptions;
use crate::config::settings::Settings;
use crate::readback::existing::Existing;
use crate::readback::folder::Folder;
use crate::render::bundle::{Bundle, Kind};

/// How a record that `settle_record` set aside is named.
const SET_ASIDE: &str = "kimera-redis.toml is not believed";

impl super::Checker<'_> {
    /// Compare every rendered file with the folder; the regenerated bundle, when the
    /// folder's settings could be known, for the checks that iterate its layout.
    pub(super) fn regenerated(&mut self) -> Option<(Settings, Bundle)> {
        self.check = "record";
        let settings = self.expected_settings()?;
        self.check = "regenerated";
        let bundle = match self.render(&settings) {
            Ok(bundle) => bundle,
            Err(e) => {
                self.expect(
                    layout::RECORD,
                    Some(format!("the folder cannot be generated again from it: {e}")),
                    format!("run `{} --force`", fixes::generate_command(self.folder)),
                );
                return None;
            }
        };
        for (rel, diffs) in differences(&self.folder.dir, &bundle) {
            self.report(&rel, diffs);
        }
        Some((settings, bundle))
    }

    /// The settings the folder should hold: its record's, checked exactly as flags are
    /// and against themselves; without a readable record, its profile's as its files
    /// name it (with what generate would infer).
    fn expected_settings(&mut self) -> Option<Settings> {
        let f = self.folder;
        let fix_record = || {
            format!(
                "restore {} from a backup, or run `{} --force` (it writes the record again)",
                layout::RECORD,
                fixes::generate_command(f)
            )
        };
        match &f.record {
            Ok(record) => match replay::settings(record, &f.dir) {
                Ok(settings) => Some(settings),
                Err(e) => {
                    let problem = format!(
                        "holds settings generate refuses ({}): it was not written by kimera-redis-init",
                        crate::printable::text(&e.to_string())
                    );
                    self.expect(layout::RECORD, Some(problem), fix_record());
                    None
                }
            },
            Err(why) => {
                // A record set aside by `settle_record` was reported there; one that is
                // no regular file (a FIFO, a device) by the files check, whose fix
                // removes it first (a re-run refuses it).
                let not_a_file = matches!(
                    crate::regularfile::check(&f.dir.join(layout::RECORD)),
                    Err(crate::regularfile::Unreadable::NotRegular(_)
                        | crate::regularfile::Unreadable::TooLarge { .. })
                );
                if f.dir.join(layout::RECORD).exists() && !why.starts_with(SET_ASIDE) && !not_a_file
                {
                    self.expect(
                        layout::RECORD,
                        Some(crate::printable::text(why)),
                        fix_record(),
                    );
                }
                let inferred = fixes::inferred_settings(f);
                if inferred.is_none() {
                    self.expect(
                        layout::ENV,
                        Some("names no built-in profile in its header and the folder has no record: what it should hold cannot be known".into()),
                        "generate the folder again with its --profile (or --profile-file) and --force",
                    );
                }
                inferred
            }
        }
    }

    fn render(&self, settings: &Settings) -> crate::error::Result<Bundle> {
        render(settings, &self.folder.pinned_cas())
    }

    /// One rendered file's differences as findings, each naming the line and what the
    /// tool writes there.
    fn report(&mut self, rel: &str, diffs: Vec<compare::Diff>) {
        let force = || fixes::generate_command(self.folder) + " --force";
        self.checks += 1;
        for d in diffs {
            let at = match d.line {
                Some(n) => format!("{rel} line {n}"),
                None => rel.to_owned(),
            };
            let secret_manifest = rel.starts_with("kubernetes/secret-");
            let show = |s: &str| {
                crate::printable::text(&if secret_manifest {
                    redact_data(s)
                } else {
                    redact_secret(s)
                })
            };
            let problem = match (&d.found, &d.wants) {
                (Some(f), Some(w)) => format!(
                    "`{}`, where kimera-redis-init writes `{}`",
                    show(f),
                    show(w)
                ),
                (Some(f), None) => format!("`{}`, which kimera-redis-init does not write", show(f)),
                (None, Some(w)) => format!("lacks `{}`, which kimera-redis-init writes", show(w)),
                (None, None) => "differs from what kimera-redis-init writes only in comments, blank lines, spacing or line endings".into(),
            };
            self.findings.push(super::Finding {
                check: "regenerated",
                path: at,
                severity: if d.class == Class::Drift { "note" } else { "error" },
                problem: format!("{}: {problem}", d.class.name()),
                fix: format!(
                    "run `{}` (it writes the folder's files again, keeping the CA and the passwords)",
                    force()
                ),
            });
        }
    }
}

/// The bundle generate would write for `settings` into its folder, in memory, with the
/// certificates, keys and passwords that are on disk.
fn render(settings: &Settings, pinned: &[Vec<u8>]) -> crate::error::Result<Bundle> {
    let existing = Existing::read(settings)?;
    // A password no file holds is made up, so that every file holding it differs.
    let run = RunOptions {
        force: true,
        ..RunOptions::default()
    };
    let secrets = crate::pki::secrets::resolve(settings, &run, &existing)?;
    let pki = settings
        .tls
        .then(|| crate::pki::as_found(settings, &existing, pinned));
    crate::render::render(settings, pki.as_ref(), secrets.as_ref())
}

/// Every rendered file of `bundle` (the record and the stores aside: the record is the
/// input, and a store's bytes differ on every write) against the file in `dir`.
fn differences(dir: &Path, bundle: &Bundle) -> Vec<(String, Vec<compare::Diff>)> {
    let mut out = Vec::new();
    for entry in &bundle.entries {
        if !matches!(entry.kind, Kind::Config | Kind::Secret | Kind::Script)
            || entry.path == layout::RECORD
            || entry.path == layout::STORE_PASSWORD
        {
            continue;
        }
        let path = dir.join(&entry.path);
        let found = crate::regularfile::read(&path).ok();
        let diffs = match found.as_deref().map(std::str::from_utf8) {
            None => vec![compare::Diff {
                line: None,
                found: None,
                wants: Some(
                    "the file (it is missing, or not a regular file of the size the tool writes)"
                        .into(),
                ),
                class: Class::Breaks,
            }],
            Some(Err(_)) => vec![compare::Diff {
                line: None,
                found: Some("bytes that are not UTF-8".into()),
                wants: None,
                class: Class::Breaks,
            }],
            Some(Ok(text)) => {
                let expected = String::from_utf8_lossy(&entry.contents);
                let mut diffs = compare::compare(&entry.path, &expected, text);
                if diffs.is_empty() && expected != text {
                    diffs.push(compare::Diff {
                        line: None,
                        found: None,
                        wants: None,
                        class: Class::Drift,
                    });
                }
                diffs
            }
        };
        out.push((entry.path.clone(), diffs));
    }
    out
}

/// Whether the folder's record can be believed, decided before any check reads it: a
/// record generate refuses, one that names values its profile does not give, one that
/// disagrees with the certificates the CA signed, or one that alone disagrees with
/// files that agree with each other, is reported, naming both sides, and set aside: the
/// folder is then judged, and its fixes built, from its files.
pub(crate) fn settle_record(folder: &mut Folder) -> Vec<super::Finding> {
    let Ok(record) = &folder.record else {
        return Vec::new();
    };
    let record = record.clone();
    let mut problems: Vec<String> = Vec::new();
    match replay::settings(&record, &folder.dir) {
        Err(e) => problems.push(format!(
            "holds settings generate refuses ({})",
            crate::printable::text(&e.to_string())
        )),
        Ok(settings) => {
            problems.extend(profile_disagreements(&record, &settings));
            problems.extend(certificate_disagreements(&folder.dir, &settings));
            if problems.is_empty() {
                problems.extend(odd_one_out(folder, &record, &settings));
            }
        }
    }
    if problems.is_empty() {
        return Vec::new();
    }
    folder.record = Err(format!("{SET_ASIDE} ({})", problems.join("; ")));
    let fix = format!(
        "if the folder's files are right, run `{} --force` (it writes the record again from them); otherwise restore {} from a backup",
        fixes::generate_command(folder),
        layout::RECORD
    );
    problems
        .into_iter()
        .map(|problem| super::Finding {
            check: "record",
            path: layout::RECORD.to_owned(),
            severity: "error",
            problem,
            fix: fix.clone(),
        })
        .collect()
}

/// Values a built-in profile fixes, edited in the record: what its settings record
/// again differs from what it holds.
fn profile_disagreements(record: &Record, settings: &Settings) -> Vec<String> {
    let mut again = Record::from_settings(settings, record.ca_sha256.as_deref());
    again.next_ca_sha256 = record.next_ca_sha256.clone();
    again.external_ca = record.external_ca;
    again.generated_by = record.generated_by.clone();
    let (want, have) = (flat(&again), flat(record));
    have.iter()
        .filter(|(key, value)| want.get(*key) != Some(*value))
        .map(|(key, value)| {
            format!(
                "{key} = {} is not what profile {} gives with the recorded flags ({})",
                crate::printable::text(value),
                crate::printable::text(&record.profile),
                want.get(key).map_or("nothing", String::as_str)
            )
        })
        .collect()
}

/// The record against the certificates the CA signed: a key type that no leaf has was
/// not what made them (renew issues keys of the recorded type, so one edited record
/// would change every key silently). A single leaf of another type is the leaf's
/// problem, reported with the certificates.
fn certificate_disagreements(dir: &Path, settings: &Settings) -> Vec<String> {
    if !settings.tls {
        return Vec::new();
    }
    let mut paths: Vec<&str> = settings.nodes.iter().map(|n| n.cert.as_str()).collect();
    paths.push(layout::CLIENT_CERT);
    let keys: Vec<(&str, String)> = paths
        .into_iter()
        .filter_map(|rel| {
            let pem = crate::regularfile::read_text(&dir.join(rel)).ok()?;
            Some((rel, certificate::from_pem(rel, &pem).ok()?.1.key))
        })
        .collect();
    let want = settings.key_type.description();
    match keys.first() {
        Some((rel, key)) if keys.iter().all(|(_, k)| k != want) => vec![format!(
            "key_type = {:?}, but {rel} has an {key} key, and no certificate of the folder has an {want} key",
            settings.key_type.name()
        )],
        _ => Vec::new(),
    }
}

/// The record alone disagrees with the folder: the files regenerate exactly from what
/// they say themselves, and not from the record. Each recorded value that differs is
/// named with the files' value.
fn odd_one_out(folder: &Folder, record: &Record, settings: &Settings) -> Vec<String> {
    let pinned = folder.pinned_cas();
    let Ok(bundle) = render(settings, &pinned) else {
        return Vec::new();
    };
    let differing: Vec<String> = differences(&folder.dir, &bundle)
        .into_iter()
        .filter(|(_, d)| !d.is_empty())
        .map(|(rel, _)| rel)
        .collect();
    if differing.is_empty() {
        return Vec::new();
    }
    let Some(inferred) = fixes::inferred_settings(folder) else {
        return Vec::new();
    };
    // The files must say it all themselves: every file the record's settings find
    // different is one the files' own settings render, and find as it is.
    let clean = render(&inferred, &pinned).is_ok_and(|b| {
        let judged = differences(&folder.dir, &b);
        let drift_only = |d: &Vec<compare::Diff>| d.iter().all(|d| d.class == Class::Drift);
        judged.iter().all(|(_, d)| drift_only(d))
            && differing
                .iter()
                .all(|rel| judged.iter().any(|(r, _)| r == rel))
    });
    if !clean {
        return Vec::new();
    }
    let from_files = Record::from_settings(&inferred, record.ca_sha256.as_deref());
    let (files, have) = (flat(&from_files), flat(record));
    let own = ["generated_by", "ca_sha256", "next_ca_sha256", "external_ca"];
    have.iter()
        .filter(|(key, _)| !own.contains(&key.as_str()))
        .filter(|(key, value)| files.get(*key) != Some(*value))
        .map(|(key, value)| {
            format!(
                "{key} = {}, but every file of the folder says {}",
                crate::printable::text(value),
                files
                    .get(key)
                    .map_or("nothing".into(), |v| crate::printable::text(v))
            )
        })
        .collect()
}

/// A record as `key.path = value` pairs (`nodes[0].port`), for naming what differs.
fn flat(record: &Record) -> std::collections::BTreeMap<String, String> {
    fn walk(
        prefix: String,
        value: &toml::Value,
        out: &mut std::collections::BTreeMap<String, String>,
    ) {
        match value {
            toml::Value::Table(t) => {
                for (k, v) in t {
                    let key = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    walk(key, v, out);
                }
            }
            toml::Value::Array(a) if a.iter().any(|v| v.is_table()) => {
                for (i, v) in a.iter().enumerate() {
                    walk(format!("{prefix}[{i}]"), v, out);
                }
            }
            other => {
                out.insert(prefix, other.to_string());
            }
        }
    }
    let mut out = std::collections::BTreeMap::new();
    if let Ok(value) = toml::Value::try_from(record) {
        walk(String::new(), &value, &mut out);
    }
    out
}

/// The settings a folder holds: its record's when verify believes it (call
/// `settle_record` first), otherwise what its files say; `None` when neither is known.
pub(crate) fn folder_settings(folder: &Folder) -> Option<Settings> {
    match folder.recorded() {
        Some(record) => replay::settings(record, &folder.dir).ok(),
        None => fixes::inferred_settings(folder),
    }
}

/// The Kubernetes manifests of a folder that has them, rendered again with `changed`
/// (files a renew or rotation is about to write) in place of what is on disk: the
/// Secrets then carry the new certificates, keys and CA in the same commit. Empty for a
/// folder without manifests.
pub(crate) fn kubernetes_in_step(
    folder: &Folder,
    changed: &Bundle,
) -> crate::error::Result<Vec<crate::render::bundle::Entry>> {
    if !folder.dir.join(crate::render::kubernetes::DIR).is_dir() {
        return Ok(Vec::new());
    }
    let Some(settings) = folder_settings(folder).filter(|s| s.kubernetes.is_some()) else {
        return Err(crate::error::Error::failed(format!(
            "{}: the folder's settings cannot be known (no record verify believes, and its files name no profile), so its Kubernetes Secrets cannot be kept in step; run `kimera-redis-init verify {}`",
            crate::render::kubernetes::DIR,
            folder.dir.display()
        )));
    };
    let mut existing = Existing::read(&settings)?;
    for entry in &changed.entries {
        if let Ok(text) = String::from_utf8(entry.contents.clone()) {
            existing.overlay(&entry.path, text);
        }
    }
    let run = RunOptions {
        force: true,
        ..RunOptions::default()
    };
    let secrets = crate::pki::secrets::resolve(&settings, &run, &existing)?;
    // The Secrets carry the pinned CA alone, as generate writes them; a step that writes
    // certs/ca.crt itself (a CA rollover) is trusted with what it writes.
    let writes_ca = changed.entries.iter().any(|e| e.path == layout::CA_CERT);
    let pinned = if writes_ca {
        Vec::new()
    } else {
        folder.pinned_cas()
    };
    let pki = settings
        .tls
        .then(|| crate::pki::as_found(&settings, &existing, &pinned));
    let all = crate::render::render(&settings, pki.as_ref(), secrets.as_ref())?;
    let prefix = format!("{}/", crate::render::kubernetes::DIR);
    Ok(all
        .entries
        .into_iter()
        .filter(|e| e.kind != Kind::Dir && e.path.starts_with(&prefix))
        .collect())
}

/// A line of a Kubernetes Secret as a finding shows it: each `data:` value is base64 of
/// a key, a password or a URL holding one, so only its key is shown.
fn redact_data(line: &str) -> String {
    match line.split_once(':') {
        Some((key, value)) if line.starts_with("  ") && !value.trim().is_empty() => {
            format!("{key}: <hidden>")
        }
        _ => line.to_owned(),
    }
}

/// A line as a finding shows it, with every password in it hidden, whatever the file's
/// format: a value whose key names a password (`REDIS_PASSWORD=`, `redis.password=`,
/// `admin-password:`, `masterauth`, `requirepass`), the password in a URL's user info
/// (`REDIS_URL`, `redis.url`), and an ACL rule's `>password`.
fn redact_secret(line: &str) -> String {
    let trimmed = line.trim_start();
    let indent = &line[..line.len() - trimmed.len()];
    let key_end = trimmed.find(['=', ':', ' ', '\t']).unwrap_or(trimmed.len());
    let key = trimmed[..key_end].to_ascii_lowercase();
    if key.contains("password") || key == "masterauth" || key == "requirepass" {
        let sep = trimmed[key_end..]
            .chars()
            .take_while(|c| matches!(c, '=' | ':' | ' ' | '\t'))
            .collect::<String>();
        return format!("{indent}{}{sep}<hidden>", &trimmed[..key_end]);
    }
    let mut out = line.to_owned();
    if let Some(scheme) = out.find("://")
        && let Some(at) = out[scheme + 3..].find('@').map(|i| i + scheme + 3)
        && let Some(colon) = out[scheme + 3..at].find(':').map(|i| i + scheme + 3)
    {
        out.replace_range(colon + 1..at, "<hidden>");
    }
    out.split(' ')
        .map(|w| if w.starts_with('>') { ">" } else { w })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::{redact_data, redact_secret};

    #[test]
    fn passwords_are_hidden_in_every_format() {
        let pw = "JTVzTJUpXQFVQ5iv9xvRG5LMMIKfZkUW";
        for line in [
            format!("REDIS_PASSWORD={pw}"),
            format!("redis.password={pw}"),
            format!("  admin-password: \"{pw}\""),
            format!("  replication-password: \"{pw}\""),
            format!("masterauth \"{pw}\""),
            format!("    masterauth {pw}"),
            format!("requirepass {pw}"),
            format!("REDIS_URL=rediss://kimera_user:{pw}@host:6380/0?ssl_cert_reqs=required"),
            format!(
                "  REDIS_URL: \"rediss://kimera_user:{pw}@host:6380/0?ssl_cert_reqs=required\""
            ),
            format!("redis.url=rediss://kimera_user:{pw}@host:6380/0"),
            format!("user kimera_user on >{pw} ~* +@all"),
        ] {
            let shown = redact_secret(&line);
            assert!(!shown.contains(pw), "{line} shown as {shown}");
            assert!(
                shown.contains("<hidden>") || shown.contains(" > "),
                "{shown}"
            );
        }
        assert_eq!(
            redact_data("  REDIS_URL: cmVkaXNzOi8va2ltZXJhX3VzZXI6cHdAaG9zdA=="),
            "  REDIS_URL: <hidden>"
        );
        assert_eq!(redact_data("data:"), "data:");
        assert_eq!(
            redact_secret("tls-auth-clients yes"),
            "tls-auth-clients yes"
        );
        assert_eq!(
            redact_secret("REDIS_HOST=localhost"),
            "REDIS_HOST=localhost"
        );
    }
}
