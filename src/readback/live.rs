//! The running servers of a folder: which ones there are, the certificate each one
//! serves, and a live reload of their TLS files (`CONFIG SET`, Redis >= 7.0.1) as the
//! admin user. Used by `renew --apply`; nothing here writes to the disk.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::{ClientConfig, ClientConnection, RootCertStore};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};

use crate::readback::folder::{Folder, ServerConf, read_env};
use crate::{config::layout, readback::resp};

const TIMEOUT: Duration = Duration::from_secs(5);

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
}

impl std::fmt::Display for ClientTlsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClientTlsError::Unreadable { path, error, .. } if path.is_empty() => f.write_str(error),
            ClientTlsError::Unreadable { path, error, .. } => write!(f, "{path}: {error}"),
            ClientTlsError::Mismatch(e) => {
                write!(f, "the app's client certificate and key: {e}")
            }
        }
    }
}

/// TLS as the app does it: the folder's CA bundle (`REDIS_CA_CERTS`), the app's client
/// certificate (or `identity`), and the host name checked. The one client setup of doctor
/// and `renew --apply`.
pub(crate) fn client_config(
    folder: &Folder,
    identity: Option<&Identity>,
) -> Result<ClientConfig, ClientTlsError> {
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
    let mut roots = RootCertStore::empty();
    let ca = "REDIS_CA_CERTS";
    // Through `regularfile`: the paths come from .env, and a FIFO there must not hang.
    let file = |key: &'static str| {
        crate::regularfile::read(std::path::Path::new(folder.env(key)))
            .map_err(|e| unreadable(key, &e))
    };
    for der in CertificateDer::pem_slice_iter(&file(ca)?) {
        roots
            .add(der.map_err(|e| unreadable(ca, &e))?)
            .map_err(|e| unreadable(ca, &e))?;
    }
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
    ClientConfig::builder()
        .with_root_certificates(roots)
        .with_client_auth_cert(certs, key)
        .map_err(|e| ClientTlsError::Mismatch(e.to_string()))
}

/// A TCP connection to the first address of `host` that answers.
fn tcp(host: &str, port: u16, timeout: Duration) -> std::io::Result<TcpStream> {
    let mut last = std::io::Error::new(
        std::io::ErrorKind::NotFound,
        format!("{host} does not resolve"),
    );
    for addr in (host, port).to_socket_addrs()? {
        match TcpStream::connect_timeout(&addr, timeout) {
            Ok(s) => return Ok(s),
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// A RESP connection to `host:port`, over TLS with `tls` (the host name checked against
/// the server's certificate; the handshake runs with the first command). Reads and writes
/// time out after `timeout`.
pub(crate) fn open(
    host: &str,
    port: u16,
    timeout: Duration,
    tls: Option<ClientConfig>,
) -> resp::Result<resp::Connection> {
    let sock = tcp(host, port, timeout)?;
    sock.set_read_timeout(Some(timeout))?;
    sock.set_write_timeout(Some(timeout))?;
    let Some(config) = tls else {
        return Ok(resp::Connection::new(sock));
    };
    let name = ServerName::try_from(host.to_owned()).map_err(|e| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("{host} is not a valid TLS server name: {e}"),
        )
    })?;
    let conn = ClientConnection::new(Arc::new(config), name).map_err(std::io::Error::other)?;
    Ok(resp::Connection::new(rustls::StreamOwned::new(conn, sock)))
}

/// A fresh handshake with the app's TLS settings (its client certificate, or `identity`):
/// the certificate the server presents (DER). A PING round trip follows, so a client
/// certificate the server refuses after the handshake (TLS 1.3) is an error too.
pub(crate) fn served_certificate(
    folder: &Folder,
    host: &str,
    port: u16,
    identity: Option<&Identity>,
) -> Result<Vec<u8>, String> {
    let config = client_config(folder, identity).map_err(|e| e.to_string())?;
    let name = ServerName::try_from(host.to_owned()).map_err(|e| e.to_string())?;
    let mut conn = ClientConnection::new(Arc::new(config), name).map_err(|e| e.to_string())?;
    let mut sock = tcp(host, port, TIMEOUT).map_err(|e| e.to_string())?;
    let _ = sock.set_read_timeout(Some(TIMEOUT));
    let mut tls = rustls::Stream::new(&mut conn, &mut sock);
    let mut buf = [0u8; 64];
    match tls.write_all(b"PING\r\n").and_then(|()| tls.read(&mut buf)) {
        Ok(n) if n > 0 => {}
        Ok(_) => return Err("the server closed the connection after the handshake".into()),
        Err(e) => return Err(format!("TLS: {e}")),
    }
    conn.peer_certificates()
        .and_then(|c| c.first())
        .map(|c| c.to_vec())
        .ok_or_else(|| "the server presented no certificate".into())
}

/// Whether an error of `served_certificate` is the TLS handshake or the round trip after
/// it failing (the server answered), not the network.
pub(crate) fn is_tls_failure(error: &str) -> bool {
    error.starts_with("TLS: ") || error.starts_with("the server closed")
}

/// An admin connection to one server, over TLS with the app's client certificate,
/// authenticated as the admin user.
pub(crate) fn admin_connection(
    folder: &Folder,
    admin: &Admin,
    host: &str,
    port: u16,
) -> Result<resp::Connection, String> {
    let config = client_config(folder, None).map_err(|e| e.to_string())?;
    // The host without brackets: it resolves and is checked against the certificate as
    // it is.
    let mut con = open(host, port, TIMEOUT, Some(config)).map_err(|e| e.to_string())?;
    con.auth(Some(&admin.user), &admin.password)
        .map_err(|e| e.to_string())?;
    Ok(con)
}

/// The server's version from INFO, as (major, minor, patch).
pub(crate) fn version(con: &mut resp::Connection) -> Result<(u32, u32, u32), String> {
    let info = con.text(&["INFO", "server"]).map_err(|e| e.to_string())?;
    let v = field(&info, "redis_version").ok_or("INFO has no redis_version")?;
    let mut parts = v.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    Ok((
        parts.next().unwrap_or(0),
        parts.next().unwrap_or(0),
        parts.next().unwrap_or(0),
    ))
}

/// `CONFIG SET` of several parameters in one call: Redis applies them together, and
/// when the files do not load it keeps its current TLS context and answers an error.
pub(crate) fn config_set(
    con: &mut resp::Connection,
    params: &[(&str, &str)],
) -> Result<(), String> {
    let mut args = vec!["CONFIG", "SET"];
    for (k, v) in params {
        args.extend([*k, *v]);
    }
    con.ok(&args).map_err(|e| e.to_string())
}

/// One `field:value` line of an INFO reply.
pub(crate) fn field(info: &str, key: &str) -> Option<String> {
    info.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
        .map(|v| v.trim().to_owned())
}

/// After a rotation, a cluster node must be back in a healthy cluster: state ok on every
/// node and each replica's link to its master up. Waits up to `within`.
pub(crate) fn cluster_healthy(
    con: &mut resp::Connection,
    within: Duration,
) -> Result<String, String> {
    let deadline = Instant::now() + within;
    loop {
        let state = con.text(&["CLUSTER", "INFO"]).map_err(|e| e.to_string())?;
        let repl = con
            .text(&["INFO", "replication"])
            .map_err(|e| e.to_string())?;
        let ok = field(&state, "cluster_state").as_deref() == Some("ok");
        let role = field(&repl, "role").unwrap_or_default();
        let link = field(&repl, "master_link_status");
        let linked = role != "slave" || link.as_deref() == Some("up");
        if ok && linked {
            return Ok(if role == "slave" {
                "cluster_state:ok, replica in sync with its master".into()
            } else {
                format!(
                    "cluster_state:ok, master with {} replica(s)",
                    field(&repl, "connected_slaves").unwrap_or_default()
                )
            });
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "cluster_state:{}, role {role}, master link {}",
                field(&state, "cluster_state").unwrap_or_default(),
                link.unwrap_or_else(|| "-".into())
            ));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}
