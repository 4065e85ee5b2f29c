//! A re-run that asks for something a kept certificate does not have (a new `--san`, a
//! `--key-type`, a `--days`, a usage) would keep the old certificate and exit 0 while the
//! user's request was ignored. Each difference is named instead, with the command that
//! issues the certificates again, and nothing is written.

use rcgen::ExtendedKeyUsagePurpose;

use crate::config::node::SanName;
use crate::config::request::{DEFAULT_DAYS, DEFAULT_KEY_TYPE};
use crate::config::settings::Settings;
use crate::error::{Error, Result};
use crate::readback::certinfo::CertInfo;

/// What one kept certificate must have for this run.
pub(crate) struct Wanted<'a> {
    pub(crate) cert_path: &'a str,
    pub(crate) sans: &'a [SanName],
    pub(crate) usages: &'a [ExtendedKeyUsagePurpose],
}

/// Refuse (exit 2) when any kept certificate lacks what this run asks for.
pub(crate) fn check(settings: &Settings, kept: &[(Wanted<'_>, CertInfo)]) -> Result<()> {
    let mut lines = Vec::new();
    for (want, info) in kept {
        for d in differences(settings, want, info) {
            lines.push(format!("{}: {d}", want.cert_path));
        }
    }
    if lines.is_empty() {
        return Ok(());
    }
    Err(Error::usage(format!(
        "kept certificates do not have what this run asks for: {}; nothing was written; \
         allowed: the flags of the first run, or issue them again (the CA is kept) with: {}",
        lines.join("; "),
        force_command()
    )))
}

fn differences(settings: &Settings, want: &Wanted<'_>, info: &CertInfo) -> Vec<String> {
    let mut out = Vec::new();
    let missing: Vec<String> = want
        .sans
        .iter()
        .filter(|s| {
            let name = match s {
                SanName::Dns(d) => format!("DNS:{d}"),
                SanName::Ip(ip) => format!("IP:{ip}"),
            };
            !info
                .sans
                .iter()
                .any(|have| have.eq_ignore_ascii_case(&name))
        })
        .map(ToString::to_string)
        .collect();
    if !missing.is_empty() {
        out.push(format!("does not name {}", missing.join(", ")));
    }
    // A re-run that does not name --key-type or --days accepts what the kept certificates
    // have; naming them, even with the defaults, asks.
    let asked_key = settings.key_type != DEFAULT_KEY_TYPE || settings.asked.key_type;
    if asked_key && info.key != settings.key_type.description() {
        out.push(format!(
            "has a {} key, not {}",
            info.key,
            settings.key_type.description()
        ));
    }
    // Issued an hour back (pki::issue::validity), so whole days are the days asked for.
    let days = (info.not_after - info.not_before).whole_days();
    let asked_days = i64::from(settings.leaf_days) != DEFAULT_DAYS || settings.asked.days;
    if asked_days && days != i64::from(settings.leaf_days) {
        out.push(format!(
            "is valid for {days} days, not {}",
            settings.leaf_days
        ));
    }
    for usage in want.usages {
        let name = match usage {
            ExtendedKeyUsagePurpose::ServerAuth => "serverAuth",
            ExtendedKeyUsagePurpose::ClientAuth => "clientAuth",
            _ => continue,
        };
        if !info
            .extended_key_usage
            .iter()
            .any(|u| u == name || u == "any")
        {
            out.push(format!("lacks the {name} usage"));
        }
    }
    out
}

/// This run's command line with `--force` added, quoted for a POSIX shell.
fn force_command() -> String {
    let quote = |a: String| {
        let plain = !a.is_empty()
            && a.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_./:=,@+".contains(&b));
        if plain {
            a
        } else {
            format!("'{}'", a.replace('\'', r"'\''"))
        }
    };
    let mut args: Vec<String> = std::env::args().skip(1).map(quote).collect();
    args.insert(0, "kimera-redis-init".to_owned());
    args.push("--force".to_owned());
    args.join(" ")
}
