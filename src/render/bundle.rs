//! A rendered setup as plain data: what to write where, with which mode. Built in
//! memory, so `--dry-run`, `--json` and tests need no disk; only `writer` writes it.

use crate::certificate::CertInfo;

/// What a file is, which decides its mode and whether `--force` may replace it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    Dir,
    /// Rendered configuration without secrets.
    Config,
    /// Rendered file holding a password.
    Secret,
    Certificate,
    PrivateKey,
    CaCertificate,
    /// Never replaced by any run, `--force` included.
    CaKey,
    /// A generated script users run; holds no secret.
    Script,
    /// A PKCS#12 store made from the PEM files: rewritten whenever what it holds changes
    /// (its bytes differ on every write: random salts), kept as it is otherwise.
    Store,
}

impl Kind {
    pub(crate) fn mode(self) -> u32 {
        match self {
            Kind::Dir => 0o700,
            Kind::Config | Kind::Certificate | Kind::CaCertificate => 0o644,
            Kind::Script => 0o755,
            Kind::Secret | Kind::PrivateKey | Kind::CaKey | Kind::Store => 0o600,
        }
    }

    /// Whether `--force` rewrites an existing file of this kind (the CA needs `--replace-ca`).
    pub(crate) fn force_replaces(self) -> bool {
        !matches!(self, Kind::CaKey | Kind::CaCertificate | Kind::Dir)
    }
}

#[derive(Clone)]
pub struct Entry {
    /// Relative to the output folder, `/`-separated.
    pub path: String,
    pub kind: Kind,
    /// Empty for folders.
    pub contents: Vec<u8>,
    /// For certificates: what the manifest shows. Boxed: most entries have none, and
    /// inline it made every entry ~330 bytes (a 1000-node cluster has 7000 entries).
    pub(crate) cert: Option<Box<CertInfo>>,
    /// One line for the manifest: what the file is for.
    pub purpose: &'static str,
}

/// Contents are shown as their length: they hold keys and passwords.
impl std::fmt::Debug for Entry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Entry")
            .field("path", &self.path)
            .field("kind", &self.kind)
            .field("contents", &format_args!("<{} bytes>", self.contents.len()))
            .field("cert", &self.cert)
            .field("purpose", &self.purpose)
            .finish()
    }
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Bundle {
    pub(crate) entries: Vec<Entry>,
}

impl Bundle {
    pub(crate) fn dir(&mut self, path: &str, purpose: &'static str) {
        self.push(path, Kind::Dir, Vec::new(), purpose);
    }

    pub(crate) fn file(
        &mut self,
        path: &str,
        kind: Kind,
        contents: impl Into<Vec<u8>>,
        purpose: &'static str,
    ) {
        self.push(path, kind, contents.into(), purpose);
    }

    pub(crate) fn cert(
        &mut self,
        path: &str,
        kind: Kind,
        pem: &str,
        info: &CertInfo,
        purpose: &'static str,
    ) {
        self.push(path, kind, pem.as_bytes().to_vec(), purpose);
        if let Some(last) = self.entries.last_mut() {
            last.cert = Some(Box::new(info.clone()));
        }
    }

    fn push(&mut self, path: &str, kind: Kind, contents: Vec<u8>, purpose: &'static str) {
        self.entries.push(Entry {
            path: path.to_owned(),
            kind,
            contents,
            cert: None,
            purpose,
        });
    }
}
