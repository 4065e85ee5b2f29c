//! The passwords of a setup: the app user's, the admin's, for a cluster the one replicas
//! use to authenticate to their master and, with `--metrics`, the exporter's. Reused from the files that hold them,
//! so a re-run keeps a working setup working; otherwise fresh from the OS CSPRNG.

use crate::config::layout;
use crate::config::request::RunOptions;
use crate::config::settings::Settings;
use crate::error::{Error, Result};
use crate::readback::existing::Existing;

#[derive(Clone)]
pub(crate) struct Secrets {
    pub(crate) app: String,
    pub(crate) admin: String,
    pub(crate) replica: Option<String>,
    /// `--metrics`: the exporter's user.
    pub(crate) metrics: Option<String>,
    /// During a password rotation (`rotate-password`, between `add` and `drop-old`):
    /// each user's old password as SHA-256, which users.acl keeps beside the new one.
    pub(crate) previous: Previous,
}

/// The SHA-256 (hex) of each user's old password while a rotation is in progress.
#[derive(Clone, Debug, Default)]
pub(crate) struct Previous {
    pub(crate) app: Option<String>,
    pub(crate) admin: Option<String>,
    pub(crate) replica: Option<String>,
    pub(crate) metrics: Option<String>,
}

impl Previous {
    /// From the rotation state: the hashes of the users this setup has, by name.
    pub(crate) fn from_rotation(
        settings: &Settings,
        rotation: Option<&crate::readback::passwords::Rotation>,
    ) -> Previous {
        let Some(r) = rotation else {
            return Previous::default();
        };
        let get = |user: &str| r.old.get(user).cloned();
        Previous {
            app: settings.username.as_deref().and_then(get),
            admin: get(crate::config::acl::ADMIN_USER),
            replica: settings
                .replicas_per_master
                .and_then(|_| get(crate::config::acl::REPLICA_USER)),
            metrics: settings
                .metrics
                .as_ref()
                .and_then(|_| get(crate::config::acl::METRICS_USER)),
        }
    }
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use crate::redact::Redacted;
        f.debug_struct("Secrets")
            .field("app", &Redacted)
            .field("admin", &Redacted)
            .field("replica", &self.replica.as_ref().map(|_| Redacted))
            .field("metrics", &self.metrics.as_ref().map(|_| Redacted))
            .field("previous", &self.previous)
            .finish()
    }
}

/// `None` for a profile without authentication.
pub(crate) fn resolve(
    settings: &Settings,
    run: &RunOptions,
    existing: &Existing,
) -> Result<Option<Secrets>> {
    if settings.username.is_none() {
        return Ok(None);
    }
    // The app reads .env: when it is there, its password is the one in use, and one
    // this tool could not have made (a multi-line value, say) is not replaced by another
    // file's without --force.
    let app = if existing.exists(layout::ENV) {
        existing.password(layout::ENV, "REDIS_PASSWORD=")
    } else {
        existing.password(layout::PROPERTIES, "redis.password=")
    };
    let app = reuse_or_new(
        settings,
        run,
        existing,
        app,
        "app",
        &[layout::ENV, layout::PROPERTIES, layout::ACL],
    )?;
    let admin = existing.password(layout::ADMIN_ENV, "REDIS_ADMIN_PASSWORD=");
    let admin = reuse_or_new(
        settings,
        run,
        existing,
        admin,
        "admin",
        &[layout::ADMIN_ENV, layout::ACL],
    )?;
    let replica = if settings.is_cluster() {
        let confs: Vec<&str> = settings.nodes.iter().map(|n| n.conf.as_str()).collect();
        let found = confs
            .iter()
            .find_map(|c| existing.password(c, "masterauth "));
        let mut holders = confs.clone();
        holders.push(layout::ACL);
        Some(reuse_or_new(
            settings,
            run,
            existing,
            found,
            "replication",
            &holders,
        )?)
    } else {
        None
    };
    let metrics = if settings.metrics.is_some() {
        let mut holders = metrics_envs(settings);
        let found = holders
            .iter()
            .find_map(|e| existing.password(e, "REDIS_PASSWORD="));
        holders.push(layout::ACL.to_owned());
        let holders: Vec<&str> = holders.iter().map(String::as_str).collect();
        Some(reuse_or_new(
            settings, run, existing, found, "metrics", &holders,
        )?)
    } else {
        None
    };
    // A rotation in progress: users.acl keeps each rotated user's old password too.
    let rotation = existing
        .get(layout::PASSWORD_ROTATION)
        .map(crate::readback::passwords::Rotation::parse)
        .transpose()?;
    let previous = Previous::from_rotation(settings, rotation.as_ref());
    Ok(Some(Secrets {
        app,
        admin,
        replica,
        metrics,
        previous,
    }))
}

/// Where the exporters' settings live: metrics.env, or one per cluster node.
pub(crate) fn metrics_envs(settings: &Settings) -> Vec<String> {
    if settings.is_cluster() {
        settings
            .nodes
            .iter()
            .map(|n| layout::node_metrics_env(&n.name))
            .collect()
    } else {
        vec![layout::METRICS_ENV.to_owned()]
    }
}

/// A new password is only safe when no kept file holds the old one (with `--force` all
/// of them are rewritten).
fn reuse_or_new(
    settings: &Settings,
    run: &RunOptions,
    existing: &Existing,
    found: Option<String>,
    which: &str,
    holders: &[&str],
) -> Result<String> {
    if let Some(p) = found {
        return Ok(p);
    }
    let kept: Vec<&str> = holders
        .iter()
        .copied()
        .filter(|h| existing.exists(h))
        .collect();
    if !run.force && !kept.is_empty() {
        return Err(Error::failed(format!(
            "{} exist(s) in {} but no file holds the {which} password to reuse: a new password \
             would not match the kept files; run with --force to write a new one to all of them",
            kept.join(", "),
            settings.out_dir.display()
        )));
    }
    Ok(crate::pki::random::alphanumeric(32))
}
