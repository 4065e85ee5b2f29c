//! Where a password rotation (`rotate-password`) stands in a folder, read from
//! `password-rotation/state.toml`: between `--step add` and `--step drop-old` each
//! rotated user holds two passwords, the new one (in `.env`, admin.env, the node
//! configs) and the old one, kept here as its SHA-256 so that regeneration (a re-run,
//! verify, renew's Kubernetes Secrets) writes users.acl with both. The old admin
//! password itself is kept too (the file is 0600, as admin.env is): a re-run after a
//! crash dials a server that may not know the new one yet. Written by
//! `commands::rotate_password`.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::config::layout;
use crate::error::{Error, Result};

/// The steps of a password rotation, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum PasswordStep {
    /// New passwords; each rotated user accepts the old and the new one.
    Add,
    /// The old passwords removed; each user accepts the new one alone.
    DropOld,
}

/// What `password-rotation/state.toml` records while `add` is done and `drop-old` is
/// not: each rotated user's old password as SHA-256 (lowercase hex, as users.acl has it).
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Rotation {
    pub(crate) step: PasswordStep,
    /// User name → SHA-256 of the password it had before `add`.
    pub(crate) old: BTreeMap<String, String>,
    /// The admin's password before `add`, when the admin is rotated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) old_admin_password: Option<String>,
}

impl std::fmt::Debug for Rotation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rotation")
            .field("step", &self.step)
            .field("users", &self.old.keys().collect::<Vec<_>>())
            .field(
                "old_admin_password",
                &self
                    .old_admin_password
                    .as_ref()
                    .map(|_| crate::redact::Redacted),
            )
            .finish()
    }
}

impl Rotation {
    /// The file's text: a comment saying what it is, then the state as TOML. The values
    /// are hex digests and an alphanumeric password, which TOML quotes plainly.
    pub(crate) fn render(&self) -> String {
        format!(
            "# A password rotation by `kimera-redis-init rotate-password`: step add is done,\n\
             # so each user below accepts its old password too, until --step drop-old.\n{}",
            toml::to_string(self).expect("plain fields serialise")
        )
    }

    /// Parse and check the file's text: every hash 64 lowercase hex digits, the old admin
    /// password one this tool could have made.
    pub(crate) fn parse(text: &str) -> Result<Rotation> {
        let unusable = |why: String| {
            Error::failed(format!(
                "{}: {why}; restore it, or finish the rotation by hand",
                layout::PASSWORD_ROTATION
            ))
        };
        let state: Rotation = toml::from_str(text)
            .map_err(|e| unusable(format!("does not parse ({})", e.message())))?;
        let hex = |h: &str| {
            h.len() == 64
                && h.bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        };
        if let Some((user, _)) = state.old.iter().find(|(_, h)| !hex(h)) {
            return Err(unusable(format!(
                "the old password of {} is not a SHA-256 in hex",
                crate::printable::text(user)
            )));
        }
        if state
            .old_admin_password
            .as_deref()
            .is_some_and(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_alphanumeric()))
        {
            return Err(unusable(
                "old_admin_password is not one this tool writes".into(),
            ));
        }
        Ok(state)
    }
}

/// The rotation in progress in `dir`, if any. A file that is there but cannot be read
/// (a FIFO, say) is refused: it must not hide a rotation in progress.
pub(crate) fn state_at(dir: &Path) -> Result<Option<Rotation>> {
    let path = dir.join(layout::PASSWORD_ROTATION);
    if std::fs::symlink_metadata(&path).is_err() {
        return Ok(None);
    }
    match crate::regularfile::read_text(&path) {
        Ok(text) => Rotation::parse(&text).map(Some),
        Err(e) if e.is_missing() => Ok(None),
        Err(e) => Err(e.at(&path)),
    }
}

/// For verify: a rotation in progress, and the next step.
pub(crate) fn note(dir: &Path) -> Option<String> {
    match state_at(dir) {
        Ok(Some(s)) => Some(format!(
            "note: a password rotation is in progress (step add done; {} accept(s) the old \
             and the new password); next, once every client uses the new one: \
             `kimera-redis-init rotate-password {} --step drop-old --apply`",
            s.old.keys().cloned().collect::<Vec<_>>().join(", "),
            dir.display()
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_state_round_trips_and_bad_values_are_refused() {
        let state = Rotation {
            step: PasswordStep::Add,
            old: BTreeMap::from([("kimera_user".to_owned(), "ab".repeat(32))]),
            old_admin_password: Some("Abc123".into()),
        };
        let text = state.render();
        let back = Rotation::parse(&text).unwrap();
        assert_eq!(back.old, state.old);
        assert_eq!(back.old_admin_password.as_deref(), Some("Abc123"));
        assert!(!format!("{back:?}").contains("Abc123"));
        assert!(Rotation::parse(&text.replace(&"ab".repeat(32), "xyz")).is_err());
        assert!(Rotation::parse(&text.replace("Abc123", "a b")).is_err());
        assert!(Rotation::parse("step = \"add\"\nextra = 1\n[old]\n").is_err());
    }
}
