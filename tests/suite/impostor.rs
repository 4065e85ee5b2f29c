//! Never a credential to a stranger: with another CA appended to `certs/ca.crt` and a TLS
//! server of that CA on the app's port, `doctor`, `renew --reload-only` and
//! `renew --apply` each refuse it as "another server on this port" and exit 1, and it
//! receives no AUTH and no password, whatever it answers. The folder's own server, with
//! the same appended CA, keeps working with every command.

use std::fs;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::common::*;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// A TLS server on `port` with a certificate of another CA (for the right host name),
/// that answers `+OK` to everything and records every byte it decrypts.
struct Impostor {
    received: Arc<Mutex<Vec<u8>>>,
    handshakes: Arc<Mutex<usize>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Impostor {
    fn start(port: u16, cert: &Path, key: &Path) -> Impostor {
        install_crypto_provider();
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let key = PrivateKeyDer::from_pem_file(key).unwrap();
        let config = Arc::new(
            rustls::ServerConfig::builder()
                .with_no_client_auth()
                .with_single_cert(certs, key)
                .unwrap(),
        );
        let listener = TcpListener::bind(("127.0.0.1", port)).expect("the app's port is free");
        listener.set_nonblocking(true).unwrap();
        let received = Arc::new(Mutex::new(Vec::new()));
        let handshakes = Arc::new(Mutex::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (r, h, s) = (received.clone(), handshakes.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::SeqCst) {
                let Ok((sock, _)) = listener.accept() else {
                    std::thread::sleep(Duration::from_millis(10));
                    continue;
                };
                *h.lock().unwrap() += 1;
                sock.set_nonblocking(false).unwrap();
                sock.set_read_timeout(Some(Duration::from_millis(100)))
                    .unwrap();
                let conn = rustls::ServerConnection::new(config.clone()).unwrap();
                let mut tls = rustls::StreamOwned::new(conn, sock);
                let mut buf = [0u8; 4096];
                while !s.load(Ordering::SeqCst) {
                    match tls.read(&mut buf) {
                        Ok(0) => break,
                        Ok(n) => {
                            r.lock().unwrap().extend_from_slice(&buf[..n]);
                            // Whatever was asked: yes. A client that trusted it would go on.
                            let _ = tls.write_all(b"+OK\r\n");
                        }
                        Err(e)
                            if matches!(
                                e.kind(),
                                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                            ) => {}
                        Err(_) => break,
                    }
                }
            }
        });
        Impostor {
            received,
            handshakes,
            stop,
            thread: Some(thread),
        }
    }

    fn received(&self) -> String {
        String::from_utf8_lossy(&self.received.lock().unwrap()).into_owned()
    }

    fn handshakes(&self) -> usize {
        *self.handshakes.lock().unwrap()
    }
}

impl Drop for Impostor {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn out_text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A production-tls folder on a free low port, and another setup (its `fixtures/` hold
/// a CA and a server certificate of that CA for the same host).
fn folder_and_foreign_ca(tmp: &Path) -> (std::path::PathBuf, std::path::PathBuf, u16) {
    let port = free_low_port();
    let dir = tmp.join("p");
    let args = prod_args(&dir, port);
    generate(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let other = tmp.join("other");
    generate(&[
        "fixtures",
        "--host",
        "localhost",
        "--port",
        &port.to_string(),
        "--out",
        other.to_str().unwrap(),
    ]);
    // The careless (or hostile) edit: the other CA appended to the folder's trust.
    let mut ca = fs::read_to_string(dir.join("certs/ca.crt")).unwrap();
    ca.push_str(&fs::read_to_string(other.join("fixtures/other-ca.crt")).unwrap());
    fs::write(dir.join("certs/ca.crt"), ca).unwrap();
    (dir, other, port)
}

#[test]
fn an_impostor_on_the_apps_port_gets_no_auth_and_no_password_from_any_command() {
    let tmp = tempdir();
    let (dir, other, port) = folder_and_foreign_ca(tmp.path());
    let impostor = Impostor::start(
        port,
        &other.join("fixtures/other-ca-server.crt"),
        &other.join("fixtures/other-ca-server.key"),
    );
    let before = snapshot(&dir);
    let secrets = [read_env(&dir)["REDIS_PASSWORD"].clone(), read_admin(&dir).1];
    let d = dir.to_str().unwrap();
    for args in [
        vec!["doctor", d],
        vec!["renew", d, "--reload-only"],
        vec!["renew", d, "--apply"],
    ] {
        let handshakes = impostor.handshakes();
        let out = run(&args);
        let text = out_text(&out);
        assert_eq!(out.status.code(), Some(1), "{args:?}:\n{text}");
        assert!(
            text.contains(&format!(
                "another server on this port: localhost:{port} serves a certificate of subject"
            )),
            "{args:?}:\n{text}"
        );
        assert!(
            text.contains("KIMERA fixtures: another CA"),
            "{args:?}:\n{text}"
        );
        // No advice that would authenticate to it.
        assert!(
            !text.contains("--reload-only (no restart)"),
            "{args:?}:\n{text}"
        );
        assert!(
            impostor.handshakes() > handshakes,
            "{args:?} never dialled it"
        );
        let got = impostor.received();
        assert!(!got.contains("AUTH"), "{args:?} sent the impostor: {got:?}");
        for secret in &secrets {
            assert!(!got.contains(secret.as_str()), "{args:?} sent a password");
            assert!(
                !text.contains(secret.as_str()),
                "{args:?} printed a password"
            );
        }
        // Check before write: nothing renewed for a server that is not ours.
        assert_eq!(snapshot(&dir), before, "{args:?} changed the folder");
    }
    assert_eq!(impostor.received(), "", "the impostor got application data");
}

#[test]
fn the_folders_own_server_works_with_every_command_despite_the_appended_ca() {
    if !have("redis-server") {
        return;
    }
    let tmp = tempdir();
    let (dir, _other, port) = folder_and_foreign_ca(tmp.path());
    let _server = Server::start(&dir.join("redis.conf"), port);
    let d = dir.to_str().unwrap();
    for args in [
        vec!["doctor", d],
        vec!["renew", d, "--reload-only"],
        vec!["renew", d, "--apply"],
        vec!["doctor", d],
    ] {
        let out = run(&args);
        assert!(out.status.success(), "{args:?}:\n{}", out_text(&out));
    }
}
