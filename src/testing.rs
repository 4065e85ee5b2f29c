//! What the integration tests and the fuzz target reach inside the crate, and nothing
//! else: the escapers and the redis.conf reader they check properties of, webpki's chain
//! check the fixtures are judged by, the in-memory pipeline the fuzz target drives, and
//! the `Debug` of every type that holds a secret. Not an API for users (see `api`).

use std::path::{Path, PathBuf};

use crate::config::request::{Request, RunOptions};
use crate::config::settings::Settings;
use crate::error::Result;
use crate::readback::existing::Existing;
use crate::render::bundle::Bundle;

/// The output formats' escapers (`Err` where a value cannot be written safely).
pub mod escape {
    pub use crate::render::escape::{compose, conf, env, sh};
}

/// redis.conf read the way Redis reads it: directive and arguments, line by line.
pub mod redisconf {
    pub use crate::readback::redisconf::parse;
}

/// Chain, usage and validity checks with webpki, as rustls clients and servers make them.
pub mod trust {
    pub use crate::pki::trust::{TrustError, Usage, chains, covers};
}

pub use crate::render::bundle::{Entry, Kind};

/// Every parser of bytes from outside (a server, a folder someone else may have written),
/// for the fuzz targets: each returns whether the input was accepted and must never
/// panic, hang or allocate without bound.
pub mod parse {
    use std::io::BufReader;

    /// One RESP reply, as doctor and renew read a server's.
    pub fn resp(bytes: &[u8]) -> bool {
        crate::server::resp::read_reply(&mut BufReader::new(bytes)).is_ok()
    }

    /// A PKCS#12 store opened with `password`.
    pub fn pkcs12(bytes: &[u8], password: &str) -> bool {
        crate::pki::pkcs12::read(bytes, password).is_some()
    }

    /// A file compared with itself, read as its reader reads it (`redis.conf`,
    /// `users.acl`, `.env`, anything else): never a difference.
    pub fn compare_with_itself(path: &str, text: &str) -> usize {
        crate::commands::verify::compare::compare(path, text, text).len()
    }

    /// A redis.conf read back as Redis splits it.
    pub fn redisconf(text: &str) -> usize {
        crate::readback::redisconf::parse(text).len()
    }

    /// A `.env` read with the app's semantics: its values, and what the app would refuse.
    pub fn env(text: &str) -> bool {
        match crate::readback::envcheck::parse_env(text) {
            Ok(map) => {
                let _ = crate::readback::envcheck::check(&map);
                true
            }
            Err(_) => false,
        }
    }

    /// A folder's record, and the settings it resolves to (checked as flags are).
    pub fn record(text: &str) -> bool {
        crate::config::record::Record::parse(text).is_ok_and(|r| {
            crate::config::replay::settings(&r, std::path::Path::new("/nonexistent/fuzz")).is_ok()
        })
    }

    /// A staging journal left by a killed run.
    pub fn journal(bytes: &[u8]) -> bool {
        crate::output::journal::parse_moves(bytes).is_some()
    }

    /// PEM text read as certificates (the first one described, all of them listed).
    pub fn pem(text: &str) -> bool {
        let _ = crate::certificate::all_from_pem("fuzz", text);
        crate::certificate::from_pem("fuzz", text).is_ok()
    }
}

/// PKCS#12 stores as an attacker edits them.
pub mod pkcs12 {
    use crate::pki::pkcs12::{self, CertIn, KeyIn};

    /// `store` (opened with `password`) with the PKCS#8 DER `extra` added as one more key
    /// entry, written again; `None` when the store does not open.
    pub fn with_extra_key(store: &[u8], password: &str, extra: &[u8]) -> Option<Vec<u8>> {
        let read = pkcs12::read(store, password)?;
        let certs: Vec<CertIn<'_>> = read
            .certs
            .iter()
            .map(|c| CertIn {
                der: &c.der,
                friendly_name: c.friendly_name.as_deref(),
                local_key_id: c.local_key_id.as_deref(),
                trusted: c.trusted,
            })
            .collect();
        let mut keys: Vec<KeyIn<'_>> = read
            .keys
            .iter()
            .map(|k| KeyIn {
                pkcs8: &k.pkcs8,
                friendly_name: k.friendly_name.as_deref().unwrap_or("key"),
                local_key_id: k.local_key_id.as_deref().unwrap_or(&[]),
            })
            .collect();
        keys.push(KeyIn {
            pkcs8: extra,
            friendly_name: "extra",
            local_key_id: b"extra",
        });
        pkcs12::write(password, &certs, &keys).ok()
    }
}

/// The command line as clap sees it (for completion and help checks).
pub fn cli_command() -> clap::Command {
    <crate::cli::Cli as clap::CommandFactory>::command()
}

/// The files a profile file's text renders to, through settings, PKI and rendering, all
/// in memory (nothing is read from or written to the disk but the profile text); with the
/// Kubernetes manifests too where settings accept `--kubernetes` for the profile.
pub fn render_profile_text(text: &str) -> Result<Vec<Entry>> {
    let (name, profile) = crate::config::profile::from_text(Path::new("fuzz.toml"), text)?;
    let request = Request {
        out: Some(PathBuf::from("/nonexistent/kimera-redis-init-fuzz")),
        ..Request::default()
    };
    let mut k8s = request.clone();
    k8s.kubernetes.kubernetes = true;
    let run = RunOptions::default();
    let settings = match Settings::from_profile(&name, profile.clone(), &k8s, &run) {
        Ok(settings) => settings,
        Err(_) => Settings::from_profile(&name, profile, &request, &run)?,
    };
    let bundle: Bundle = crate::pipeline::build(&settings, &run, &Existing::default(), false)?;
    Ok(bundle.entries)
}

/// `generate` with `argv` (a cluster with TLS, say), then the `Debug` text of every value
/// along the way that holds a private key or a password, by type name; the test checks
/// that none of them shows a secret of the folder it wrote.
pub fn debug_of_secret_holders(argv: &[&str]) -> Result<Vec<(&'static str, String)>> {
    use clap::Parser;
    let cli = crate::cli::Cli::try_parse_from(argv)
        .map_err(|e| crate::error::Error::usage(e.to_string()))?;
    let outcome = crate::commands::generate::generate(&cli.generate, false)?;
    let existing = Existing::read(&outcome.settings)?;
    let secrets = crate::pki::secrets::resolve(&outcome.settings, &outcome.run, &existing)?;
    let built = crate::pki::build(&outcome.settings, &outcome.run, &existing, true)?;
    let folder = crate::readback::folder::Folder::read(&outcome.settings.out_dir)?;
    Ok(vec![
        ("Bundle", format!("{:?}", outcome.bundle)),
        ("Existing", format!("{existing:?}")),
        ("Secrets", format!("{secrets:?}")),
        ("Pki", format!("{built:?}")),
        ("CertKey", format!("{:?}", built.client)),
        ("Folder", format!("{folder:?}")),
    ])
}
