//! The server a setup is written for: Redis or Valkey, and the version (`MAJOR.MINOR`).
//! It decides the program names in every script, compose file, manifest and printed hint
//! (Valkey's Debian package and some of its images carry no `redis-*` names), the default
//! image, and which lines a config may hold: a server logs a warning for a directive it
//! ignores, and the generated config must load without one.

use crate::error::{Error, Result};

/// `--server`: which server software the setup targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ServerKind {
    /// Redis, as redis.io and Debian's redis-server ship it.
    #[value(name = "redis")]
    Redis,
    /// Valkey, the Linux Foundation's fork of Redis 7.2 (valkey-server, valkey-cli).
    #[value(name = "valkey")]
    Valkey,
}

impl ServerKind {
    pub(crate) fn name(self) -> &'static str {
        match self {
            ServerKind::Redis => "redis",
            ServerKind::Valkey => "valkey",
        }
    }

    pub(crate) const ALL: [ServerKind; 2] = [ServerKind::Redis, ServerKind::Valkey];

    /// The kind `name` names (as `--server` takes it).
    pub(crate) fn from_name(name: &str) -> Option<ServerKind> {
        Self::ALL.into_iter().find(|k| k.name() == name)
    }

    /// The version a setup targets when `--server-version` is not given: the newest line
    /// of each server whose official image and Debian package this tool is proven on.
    pub(crate) fn default_version(self) -> Version {
        match self {
            ServerKind::Redis => Version { major: 7, minor: 4 },
            ServerKind::Valkey => Version { major: 8, minor: 1 },
        }
    }

    /// The oldest and newest major versions a setup may target.
    fn majors(self) -> (Version, u8) {
        match self {
            ServerKind::Redis => (Version { major: 7, minor: 0 }, 8),
            // Valkey started as a fork of Redis 7.2.
            ServerKind::Valkey => (Version { major: 7, minor: 2 }, 9),
        }
    }
}

/// `MAJOR.MINOR`, ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Version {
    pub(crate) major: u8,
    pub(crate) minor: u8,
}

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// The server software and version a setup is written for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Target {
    pub(crate) kind: ServerKind,
    pub(crate) version: Version,
}

impl Default for Target {
    fn default() -> Target {
        Target {
            kind: ServerKind::Redis,
            version: ServerKind::Redis.default_version(),
        }
    }
}

impl Target {
    /// `kind` at `version` (`MAJOR.MINOR`, or `None` for the kind's default), checked;
    /// `what` names the flag or field the version came from.
    pub(crate) fn resolve(kind: ServerKind, version: Option<&str>, what: &str) -> Result<Target> {
        let Some(text) = version else {
            return Ok(Target {
                kind,
                version: kind.default_version(),
            });
        };
        let (oldest, newest_major) = kind.majors();
        let allowed = || {
            format!(
                "{what} {text:?}: allowed for {}: MAJOR.MINOR from {oldest} to {newest_major}.x, such as {}",
                kind.name(),
                kind.default_version()
            )
        };
        let version = parse_version(text).ok_or_else(|| Error::usage(allowed()))?;
        if version < oldest || version.major > newest_major {
            return Err(Error::usage(allowed()));
        }
        Ok(Target { kind, version })
    }

    fn at_least(&self, major: u8, minor: u8) -> bool {
        self.version >= Version { major, minor }
    }

    /// The server program: `redis-server` or `valkey-server`.
    pub(crate) fn server_program(&self) -> &'static str {
        match self.kind {
            ServerKind::Redis => "redis-server",
            ServerKind::Valkey => "valkey-server",
        }
    }

    /// The command-line client: `redis-cli` or `valkey-cli`.
    pub(crate) fn cli_program(&self) -> &'static str {
        match self.kind {
            ServerKind::Redis => "redis-cli",
            ServerKind::Valkey => "valkey-cli",
        }
    }

    /// The other server's client, which speaks the same protocol: what a script falls
    /// back to where only that one is installed.
    pub(crate) fn other_cli_program(&self) -> &'static str {
        match self.kind {
            ServerKind::Redis => "valkey-cli",
            ServerKind::Valkey => "redis-cli",
        }
    }

    /// The official image of this version: `redis:7.4`, `valkey/valkey:8.1`.
    pub(crate) fn default_image(&self) -> String {
        match self.kind {
            ServerKind::Redis => format!("redis:{}", self.version),
            ServerKind::Valkey => format!("valkey/valkey:{}", self.version),
        }
    }

    /// `io-threads-do-reads`: Redis before 8.0 and Valkey before 8.0 read on the I/O
    /// threads only when told; later versions always do and ignore the directive.
    pub(crate) fn io_threads_do_reads(&self) -> bool {
        !self.at_least(8, 0)
    }

    /// Whether I/O threads serve TLS connections: from Redis 8.0 and Valkey 8.0 on.
    /// Redis 7 refuses to start with both.
    pub(crate) fn tls_io_threads(&self) -> bool {
        self.at_least(8, 0)
    }

    /// A cluster node has one database only. Redis 8 and Valkey 8 log a warning at
    /// start ("Changing databases number from 16 to 1") unless the config says so;
    /// Valkey 9 has numbered databases in cluster mode, and the app selects db 0 there.
    pub(crate) fn cluster_databases_one(&self) -> bool {
        match self.kind {
            ServerKind::Redis => self.at_least(8, 0),
            ServerKind::Valkey => self.at_least(8, 0) && !self.at_least(9, 0),
        }
    }

    /// `tls-auto-reload-interval`: Valkey 9.1 re-reads its certificate files by itself.
    pub(crate) fn tls_auto_reload(&self) -> bool {
        self.kind == ServerKind::Valkey && self.at_least(9, 1)
    }

    /// "Redis 7.4", "Valkey 9.1": how messages name it.
    pub(crate) fn title(&self) -> String {
        match self.kind {
            ServerKind::Redis => format!("Redis {}", self.version),
            ServerKind::Valkey => format!("Valkey {}", self.version),
        }
    }
}

/// `MAJOR.MINOR`, each a number without sign or leading zero (`7.4`, `10.0`).
fn parse_version(text: &str) -> Option<Version> {
    let (major, minor) = text.split_once('.')?;
    let number = |s: &str| -> Option<u8> {
        if s.is_empty()
            || !s.bytes().all(|b| b.is_ascii_digit())
            || (s.len() > 1 && s.starts_with('0'))
        {
            return None;
        }
        s.parse().ok()
    };
    Some(Version {
        major: number(major)?,
        minor: number(minor)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_outside_what_each_server_shipped_are_refused_with_the_range() {
        for (kind, text) in [
            (ServerKind::Redis, "6.2"),
            (ServerKind::Redis, "9.0"),
            (ServerKind::Valkey, "7.0"),
            (ServerKind::Valkey, "10.0"),
            (ServerKind::Redis, "7"),
            (ServerKind::Redis, "7.4.1"),
            (ServerKind::Redis, "07.4"),
            (ServerKind::Redis, "+7.4"),
            (ServerKind::Redis, "7.-1"),
            (ServerKind::Redis, "latest"),
        ] {
            let err = Target::resolve(kind, Some(text), "--server-version").unwrap_err();
            let msg = err.to_string();
            assert!(msg.starts_with("--server-version "), "{msg}");
            assert!(
                msg.contains(&format!("allowed for {}", kind.name())),
                "{msg}"
            );
        }
        assert_eq!(
            Target::resolve(ServerKind::Valkey, Some("9.1"), "x")
                .unwrap()
                .version,
            Version { major: 9, minor: 1 }
        );
    }

    #[test]
    fn what_a_config_may_say_follows_the_version() {
        let t = |kind, v: &str| Target::resolve(kind, Some(v), "x").unwrap();
        let redis7 = t(ServerKind::Redis, "7.4");
        let redis8 = t(ServerKind::Redis, "8.0");
        let valkey8 = t(ServerKind::Valkey, "8.1");
        let valkey9 = t(ServerKind::Valkey, "9.1");
        assert!(redis7.io_threads_do_reads() && !redis7.tls_io_threads());
        assert!(!redis8.io_threads_do_reads() && redis8.tls_io_threads());
        assert!(!redis7.cluster_databases_one() && redis8.cluster_databases_one());
        assert!(valkey8.cluster_databases_one() && !valkey9.cluster_databases_one());
        assert!(!valkey8.tls_auto_reload() && valkey9.tls_auto_reload());
        assert!(!t(ServerKind::Valkey, "9.0").tls_auto_reload());
        assert_eq!(valkey9.default_image(), "valkey/valkey:9.1");
        assert_eq!(Target::default().default_image(), "redis:7.4");
    }
}
