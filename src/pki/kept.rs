//! A re-run that asks for something a kept certificate does not have (a new `--san`, a
//! `--key-type`, a `--days`, a usage) would keep the old certificate and exit 0 while the
//! user's request was ignored. Each difference is named instead (the pipeline refuses
//! the run with the command that issues the certificates again), and nothing is written.

use rcgen::ExtendedKeyUsagePurpose;

use crate::certificate::{CertInfo, Purpose};
use crate::config::node::SanName;
use crate::config::request::{DEFAULT_DAYS, DEFAULT_KEY_TYPE};
use crate::config::settings::Settings;

/// What one kept certificate must have for this run.
pub(crate) struct Wanted<'a> {
    pub(crate) cert_path: &'a str,
    pub(crate) sans: &'a [SanName],
    pub(crate) usages: &'a [ExtendedKeyUsagePurpose],
}

/// Each difference between what this run asks for and a kept certificate, as
/// `certs/x.crt: does not name y`; empty when every kept certificate has it all.
pub(crate) fn differences(settings: &Settings, kept: &[(Wanted<'_>, CertInfo)]) -> Vec<String> {
    kept.iter()
        .flat_map(|(want, info)| {
            missing(settings, want, info)
                .into_iter()
                .map(move |d| format!("{}: {d}", want.cert_path))
        })
        .collect()
}

fn missing(settings: &Settings, want: &Wanted<'_>, info: &CertInfo) -> Vec<String> {
    let mut out = Vec::new();
    let missing: Vec<String> = want
        .sans
        .iter()
        .filter(|s| !info.sans.iter().any(|have| have.same_as(s)))
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
    for usage in want.usages.iter().filter_map(Purpose::of_issued) {
        if !info.extended_key_usage.iter().any(|u| u.allows(usage)) {
            out.push(format!("lacks the {usage} usage"));
        }
    }
    out
}
