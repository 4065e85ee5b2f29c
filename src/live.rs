//! The running servers of a folder: which ones there are, the certificate each one
//! serves, and a live reload of their TLS files (`CONFIG SET`, Redis >= 7.0.1) as the
//! admin user. Used by `renew --apply`; nothing here writes to the disk.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore};

use crate::folder::{Folder, ServerConf, read_env};
use crate::layout;

const TIMEOUT: Duration = Duration::from_secs(5);

/// One server of the folder, as the admin reaches it.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    /// Its redis.conf, relative to the folder.
    pub conf: String,
    pub host: String,
    pub port: u16,
    /// The files its redis.conf names (absolute, as written).
    pub cert_file: String,
    pub key_file: String,
    pub ca_file: String,
}

impl Target {
    pub fn addr(&self) -> String {
        crate::settings::host_port(&self.host, self.port)
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
    pub cert_pem: String,
    pub key_pem: String,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Identity { key: <redacted> }")
    }
}

/// TLS as the app does it: the folder's CA bundle (`REDIS_CA_CERTS`), the app's client
/// certificate (or `identity`), and the host name checked.
fn client_config(folder: &Folder, identity: Option<&Identity>) -> Result<ClientConfig, String> {
    let mut roots = RootCertStore::empty();
    let ca = folder.env("REDIS_CA_CERTS");
    for der in CertificateDer::pem_file_iter(ca).map_err(|e| format!("{ca}: {e}"))? {
        roots
            .add(der.map_err(|e| format!("{ca}: {e}"))?)
            .map_err(|e| format!("{ca}: {e}"))?;
    }
    let (certs, key) = match identity {
        Some(id) => (
            CertificateDer::pem_slice_iter(id.cert_pem.as_bytes())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| e.to_string())?,
            PrivateKeyDer::from_pem_slice(id.key_pem.as_bytes()).map_err(|e| e.to_string())?,
        ),
        None => {
            let cert_file = folder.env("REDIS_SSL_CERTFILE");
            let key_file = folder.env("REDIS_SSL_KEYFILE");
            (
                CertificateDer::pem_file_iter(cert_file)
                    .and_then(|it| it.collect::<Result<Vec<_>, _>>())
                    .map_err(|e| format!("{cert_file}: {e}"))?,
                PrivateKeyDer::from_pem_file(key_file).map_err(|e| format!("{key_file}: {e}"))?,
            )
        }
    };
    ClientConfig::builder()
        .with_root_certificates(roots)
        .with_client_auth_cert(certs, key)
        .map_err(|e| format!("the app's client certificate and key: {e}"))
}

fn tcp(host: &str, port: u16) -> Result<TcpStream, String> {
    let mut last = format!("{host} does not resolve");
    for addr in (host, port).to_socket_addrs().map_err(|e| e.to_string())? {
        match TcpStream::connect_timeout(&addr, TIMEOUT) {
            Ok(s) => return Ok(s),
            Err(e) => last = e.to_string(),
        }
    }
    Err(last)
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
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let config = client_config(folder, identity)?;
    let name = ServerName::try_from(host.to_owned()).map_err(|e| e.to_string())?;
    let mut conn = ClientConnection::new(Arc::new(config), name).map_err(|e| e.to_string())?;
    let mut sock = tcp(host, port)?;
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

/// An admin connection to one server, over TLS with the app's client certificate.
pub(crate) fn admin_connection(
    folder: &Folder,
    admin: &Admin,
    host: &str,
    port: u16,
) -> Result<redis::Connection, String> {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let read = |k: &str| std::fs::read(folder.env(k)).map_err(|e| format!("{k}: {e}"));
    let certs = redis::TlsCertificates {
        client_tls: Some(redis::ClientTlsConfig {
            client_cert: read("REDIS_SSL_CERTFILE")?,
            client_key: read("REDIS_SSL_KEYFILE")?,
        }),
        root_cert: Some(read("REDIS_CA_CERTS")?),
    };
    // The host without brackets: the client resolves it and checks it against the
    // certificate as it is.
    let addr = redis::ConnectionAddr::TcpTls {
        host: host.to_owned(),
        port,
        insecure: false,
        tls_params: None,
    };
    let info = redis::IntoConnectionInfo::into_connection_info(addr)
        .map_err(|e| e.to_string())?
        .set_redis_settings(
            redis::RedisConnectionInfo::default()
                .set_username(&admin.user)
                .set_password(&admin.password),
        );
    let client = redis::Client::build_with_tls(info, certs).map_err(|e| e.to_string())?;
    client
        .get_connection_with_timeout(TIMEOUT)
        .map_err(|e| e.to_string())
}

/// The server's version from INFO, as (major, minor, patch).
pub(crate) fn version(con: &mut redis::Connection) -> Result<(u32, u32, u32), String> {
    let info: String = redis::cmd("INFO")
        .arg("server")
        .query(con)
        .map_err(|e| e.to_string())?;
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
    con: &mut redis::Connection,
    params: &[(&str, &str)],
) -> Result<(), String> {
    let mut cmd = redis::cmd("CONFIG");
    cmd.arg("SET");
    for (k, v) in params {
        cmd.arg(*k).arg(*v);
    }
    cmd.query::<()>(con).map_err(|e| e.to_string())
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
    con: &mut redis::Connection,
    within: Duration,
) -> Result<String, String> {
    let deadline = Instant::now() + within;
    loop {
        let state = redis::cmd("CLUSTER")
            .arg("INFO")
            .query::<String>(con)
            .map_err(|e| e.to_string())?;
        let repl = redis::cmd("INFO")
            .arg("replication")
            .query::<String>(con)
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
