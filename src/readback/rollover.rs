//! Where a CA rollover (`renew --new-ca STEP`) stands in a folder, read from
//! `ca-rollover/state.toml`: for renew's next step, for verify's note, and for every run
//! that must not issue under one CA alone in the middle of it. Written by
//! `commands::renew::rollover`.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::config::layout;
use crate::error::{Error, Result};
use crate::readback::folder::Folder;

/// The steps of a CA rollover, in order.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum CaStep {
    /// A new CA; certs/ca.crt trusts the old and the new one.
    TrustBoth,
    /// Every certificate issued again under the new CA.
    Issue,
    /// certs/ca.crt and ca.key hold the new CA alone.
    DropOld,
}

impl CaStep {
    pub(crate) fn name(self) -> &'static str {
        match self {
            CaStep::TrustBoth => "trust-both",
            CaStep::Issue => "issue",
            CaStep::DropOld => "drop-old",
        }
    }
}

/// What `ca-rollover/state.toml` records: the last step done and the two CAs, by their
/// SHA-256 fingerprints.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct State {
    pub(crate) step: CaStep,
    pub(crate) old_ca: String,
    pub(crate) new_ca: String,
}

/// The rollover state of a folder, if one was ever started.
pub(crate) fn state(folder: &Folder) -> Result<Option<State>> {
    state_at(&folder.dir)
}

pub(crate) fn state_at(dir: &Path) -> Result<Option<State>> {
    let path = dir.join(layout::CA_ROLLOVER);
    // No such file, or a folder that cannot hold one (the refusals of --out say why).
    // Anything else there is read, or refused: a FIFO in its place must not hide a
    // rollover in progress.
    if std::fs::symlink_metadata(&path).is_err() {
        return Ok(None);
    }
    match crate::regularfile::read_text(&path) {
        Ok(text) => {
            let unusable =
                |why: String| Error::failed(format!("{}: {why}; restore it", layout::CA_ROLLOVER));
            let state: State = toml::from_str(&text)
                .map_err(|e| unusable(format!("does not parse ({})", e.message())))?;
            // SHA-256 fingerprints as the certificate model writes them: 32 bytes, hex, colon-separated.
            let fingerprint = |f: &str| {
                f.len() == 95
                    && f.split(':')
                        .all(|b| b.len() == 2 && b.bytes().all(|c| c.is_ascii_hexdigit()))
            };
            if !fingerprint(&state.old_ca) || !fingerprint(&state.new_ca) {
                return Err(unusable("holds a CA fingerprint that is not one".into()));
            }
            Ok(Some(state))
        }
        Err(e) if e.is_missing() => Ok(None),
        Err(e) => Err(e.at(&path)),
    }
}

/// Anything but the next rollover step, in the middle of a rollover, would judge or
/// issue the leaves under one CA alone (a plain renew, or generate with --force, under
/// the old one): refused until the rollover is done. `what` names the refused input.
pub(crate) fn refuse_mid_rollover(dir: &Path, what: &str) -> Result<()> {
    match state_at(dir)? {
        Some(s) if s.step != CaStep::DropOld => Err(Error::usage(format!(
            "{what}: a CA rollover is in progress in {} (step {} done); allowed: finish it \
             first with `kimera-redis-init renew {} --new-ca {} --apply`",
            dir.display(),
            s.step.name(),
            dir.display(),
            next(s.step).name()
        ))),
        _ => Ok(()),
    }
}

/// For verify: where a rollover in progress stands, and the next step.
pub(crate) fn note(dir: &Path) -> Option<String> {
    match state_at(dir) {
        Ok(Some(s)) if s.step != CaStep::DropOld => Some(format!(
            "note: a CA rollover is in progress (step {} done; certs/ca.crt trusts the old and \
             the new CA); next: `kimera-redis-init renew {} --new-ca {} --apply`",
            s.step.name(),
            dir.display(),
            next(s.step).name()
        )),
        _ => None,
    }
}

pub(crate) fn next(step: CaStep) -> CaStep {
    match step {
        CaStep::TrustBoth => CaStep::Issue,
        CaStep::Issue | CaStep::DropOld => CaStep::DropOld,
    }
}
