//! Reaching the running servers of a folder: which ones there are, the one TLS client
//! setup (the app's certificate, the pinned CAs), connections as the admin, and the
//! certificate each server serves. Every dial trusts the folder's pinned CAs alone and
//! finishes the TLS handshake before it writes a command, and every conversation ends
//! by its deadline.

use std::sync::Arc;

use rustls::{ClientConfig, ClientConnection, RootCertStore};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};

use crate::config::layout;
use crate::readback::folder::{Folder, ServerConf, read_env};
use crate::server::deadline::{self, Bounded, Deadline};
use crate::server::pinned::{PinError, PinnedVerifier};
use crate::server::resp;

/// One server of the folder, as the admin reaches it.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    /// Its redis.conf, relative to the folder.
    pub(crate) conf: String,
    pub(crate) host: String,
    pub(crate) port: u16,
    /// The files its redis.conf names (absolute, as written).
    pub(crate) cert_file: String,
    pub(crate) key_file: String,
    pub(crate) ca_file: String,
}

impl Target {
    pub(crate) fn addr(&self) -> String {
        crate::config::node::host_port(&self.host, self.port)
    }
}

/// Every TLS server of the folder: a cluster node at the address it announces, the one
/// server of a standalone profile at the address the app dials.
pub(crate) fn targets(folder: &Folder) -> Vec<Target> {
    folder
        .servers
        .iter()
        .filter(|s| s.tls())
        .filter_map(|s| {
            let port = s.client_port()?;
            let host = announced(s).or_else(|| {
                folder
                    .app_env()
                    .0
                    .dialled()
                    .into_iter()
                    .find(|(_, p)| *p == port)
                    .map(|(h, _)| h)
            })?;
            Some(Target {
                conf: s.rel.clone(),
                host,
                port,
                cert_file: s.value("tls-cert-file")?.to_owned(),
                key_file: s.value("tls-key-file")?.to_owned(),
                ca_file: s.value("tls-ca-cert-file")?.to_owned(),
            })
        })
        .collect()
}

fn announced(s: &ServerConf) -> Option<String> {
    s.value("cluster-announce-hostname")
        .or_else(|| s.value("cluster-announce-ip"))
        .map(str::to_owned)
}

/// The admin user's name and password, from admin.env (never from argv).
pub(crate) struct Admin {
    user: String,
    password: String,
}

impl std::fmt::Debug for Admin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Admin")
            .field("user", &self.user)
            .field("password", &"<redacted>")
            .finish()
    }
}

impl Admin {
    pub(crate) fn user(&self) -> &str {
        &self.user
    }

    /// The same admin user with another password: the one it had before a password
    /// rotation, for a server that does not know the new one yet.
    pub(crate) fn with_password(&self, password: &str) -> Admin {
        Admin {
            user: self.user.clone(),
            password: password.to_owned(),
        }
    }
}

/// Reads admin.env; `Err` says what is missing, for a usage error.
pub(crate) fn admin(folder: &Folder) -> Result<Admin, String> {
    let path = folder.dir.join(layout::ADMIN_ENV);
    let env = read_env(&path).map_err(|e| e.to_string())?;
    let get = |k: &str| env.get(k).filter(|v| !v.is_empty()).cloned();
    match (get("REDIS_ADMIN_USERNAME"), get("REDIS_ADMIN_PASSWORD")) {
        (Some(user), Some(password)) => Ok(Admin { user, password }),
        _ => Err(format!(
            "{} has no REDIS_ADMIN_USERNAME and REDIS_ADMIN_PASSWORD",
            path.display()
        )),
    }
}

/// A client certificate and key (PEM) to present instead of the app's.
pub(crate) struct Identity {
    pub(crate) cert_pem: String,
    pub(crate) key_pem: String,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Identity { key: <redacted> }")
    }
}

/// Why the app's TLS client settings cannot be built.
#[derive(Debug)]
pub(crate) enum ClientTlsError {
    /// A file `.env` names under `key` (or the identity, with an empty `path`) does not
    /// load.
    Unreadable {
        key: &'static str,
        path: String,
        error: String,
    },
    /// The client certificate and key do not go together.
    Mismatch(String),
    /// No CA to trust: `certs/ca.crt` holds none that the record pins.
    Pins(PinError),
}

impl std::fmt::Display for ClientTlsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClientTlsError::Unreadable { path, error, .. } if path.is_empty() => f.write_str(error),
            ClientTlsError::Unreadable { path, error, .. } => write!(f, "{path}: {error}"),
            ClientTlsError::Mismatch(e) => {
                write!(f, "the app's client certificate and key: {e}")
            }
            ClientTlsError::Pins(e) => e.fmt(f),
        }
    }
}

/// The client side of TLS to a server of the folder: the pinned CAs as the only trust
/// (not whatever `certs/ca.crt` or `REDIS_CA_CERTS` holds now), and a client
/// certificate.
pub(crate) struct ClientTls {
    pinned: Vec<Vec<u8>>,
    /// The CAs the app trusts (`REDIS_CA_CERTS`), to say whether the app would accept
    /// a server; never used to decide whether to talk to it.
    pub(crate) app_cas: Vec<Vec<u8>>,
    certs: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
}

impl std::fmt::Debug for ClientTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClientTls { key: <redacted> }")
    }
}

impl ClientTls {
    /// A config for one connection, and its verifier, which remembers the certificate
    /// the server presented.
    fn config(&self) -> resp::Result<(ClientConfig, Arc<PinnedVerifier>)> {
        let verifier = PinnedVerifier::new(self.pinned.clone())
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        let config = ClientConfig::builder()
            .dangerous()
            .with_custom_certificate_verifier(verifier.clone())
            .with_client_auth_cert(self.certs.clone(), self.key.clone_key())
            .map_err(std::io::Error::other)?;
        Ok((config, verifier))
    }
}

/// TLS as the app does it, with the folder's pinned CAs as the only trust: the app's
/// client certificate (or `identity`), and the host name checked. The one client setup
/// of doctor and `renew --apply`.
pub(crate) fn client_config(
    folder: &Folder,
    identity: Option<&Identity>,
) -> Result<ClientTls, ClientTlsError> {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let unreadable = |key: &'static str, e: &dyn std::fmt::Display| ClientTlsError::Unreadable {
        key,
        path: if key.is_empty() {
            String::new()
        } else {
            folder.env(key).to_owned()
        },
        error: e.to_string(),
    };
    let ca = "REDIS_CA_CERTS";
    // Through `regularfile`: the paths come from .env, and a FIFO there must not hang.
    let file = |key: &'static str| {
        crate::regularfile::read(std::path::Path::new(folder.env(key)))
            .map_err(|e| unreadable(key, &e))
    };
    let app_cas = CertificateDer::pem_slice_iter(&file(ca)?)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| unreadable(ca, &e))?
        .into_iter()
        .map(|c| c.to_vec())
        .collect();
    let (certs, key) = match identity {
        Some(id) => (
            CertificateDer::pem_slice_iter(id.cert_pem.as_bytes())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| unreadable("", &e))?,
            PrivateKeyDer::from_pem_slice(id.key_pem.as_bytes()).map_err(|e| unreadable("", &e))?,
        ),
        None => {
            let (cert_file, key_file) = ("REDIS_SSL_CERTFILE", "REDIS_SSL_KEYFILE");
            (
                CertificateDer::pem_slice_iter(&file(cert_file)?)
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| unreadable(cert_file, &e))?,
                PrivateKeyDer::from_pem_slice(&file(key_file)?)
                    .map_err(|e| unreadable(key_file, &e))?,
            )
        }
    };
    let pinned = folder.pinned_cas();
    PinnedVerifier::new(pinned.clone()).map_err(ClientTlsError::Pins)?;
    // The pair is checked once here, so a mismatch is named before any dial.
    ClientConfig::builder()
        .with_root_certificates(RootCertStore::empty())
        .with_client_auth_cert(certs.clone(), key.clone_key())
        .map_err(|e| ClientTlsError::Mismatch(e.to_string()))?;
    Ok(ClientTls {
        pinned,
        app_cas,
        certs,
        key,
    })
}

/// TLS to `host:port`, the handshake completed before anything else is written: the
/// server has proved it holds a certificate of a pinned CA for `host`, else the result is
/// [`resp::Error::Stranger`] (or the TLS error of one of ours), and no command, AUTH
/// least of all, ever reaches it.
pub(crate) fn handshake(
    host: &str,
    port: u16,
    deadline: Deadline,
    tls: &ClientTls,
) -> resp::Result<rustls::StreamOwned<ClientConnection, Bounded>> {
    let addr = crate::config::node::host_port(host, port);
    let (config, verifier) = tls.config()?;
    let name = ServerName::try_from(host.to_owned()).map_err(|e| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("{host} is not a valid TLS server name: {e}"),
        )
    })?;
    let mut conn = ClientConnection::new(Arc::new(config), name).map_err(std::io::Error::other)?;
    let mut sock = deadline::connect(host, port, deadline)?;
    while conn.is_handshaking() {
        let failed = match conn.complete_io(&mut sock) {
            Ok((0, 0)) => std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "the server closed the connection during the TLS handshake",
            ),
            Ok(_) => continue,
            Err(e) => e,
        };
        return Err(match verifier.stranger(&addr) {
            Some(stranger) => resp::Error::Stranger(stranger),
            None => failed.into(),
        });
    }
    Ok(rustls::StreamOwned::new(conn, sock))
}

/// A RESP connection to `host:port`, over TLS with `tls` (see [`handshake`]: the
/// server's identity is proved before this returns). Everything on it ends by
/// `deadline`.
pub(crate) fn open(
    host: &str,
    port: u16,
    deadline: Deadline,
    tls: Option<&ClientTls>,
) -> resp::Result<resp::Connection> {
    Ok(match tls {
        None => resp::Connection::new(deadline::connect(host, port, deadline)?),
        Some(tls) => resp::Connection::new(handshake(host, port, deadline, tls)?),
    })
}

/// A fresh handshake with `tls`: the certificate the server presents (DER). A PING round
/// trip follows, so a client certificate the server refuses after the handshake (TLS
/// 1.3) is an error too; any reply, NOAUTH included, shows it accepted the session.
pub(crate) fn served_certificate(
    host: &str,
    port: u16,
    deadline: Deadline,
    tls: &ClientTls,
) -> resp::Result<Vec<u8>> {
    let stream = handshake(host, port, deadline, tls)?;
    let served = stream
        .conn
        .peer_certificates()
        .and_then(|c| c.first())
        .map(|c| c.to_vec());
    let mut con = resp::Connection::new(stream);
    match con.command(&["PING"]) {
        Ok(_) | Err(resp::Error::Server { .. }) => {}
        Err(e) => return Err(e),
    }
    served.ok_or_else(|| resp::Error::Protocol("the server presented no certificate".into()))
}

/// Whether an error of `served_certificate` is a server of ours answering but refusing
/// the TLS session (its handshake failing, or the connection closed right after it), not
/// the network, a deadline or a stranger.
pub(crate) fn is_tls_failure(error: &resp::Error) -> bool {
    match error {
        resp::Error::Io(e) => {
            e.get_ref().is_some_and(|i| i.is::<rustls::Error>())
                || matches!(
                    e.kind(),
                    std::io::ErrorKind::UnexpectedEof | std::io::ErrorKind::ConnectionReset
                )
        }
        _ => false,
    }
}

/// An admin connection to one server, over TLS with the app's client certificate,
/// authenticated as the admin user once the server proved to be ours.
pub(crate) fn admin_connection(
    tls: &ClientTls,
    admin: &Admin,
    host: &str,
    port: u16,
    deadline: Deadline,
) -> resp::Result<resp::Connection> {
    // The host without brackets: it resolves and is checked against the certificate as
    // it is.
    let mut con = open(host, port, deadline, Some(tls))?;
    con.auth(Some(&admin.user), &admin.password)?;
    Ok(con)
}
