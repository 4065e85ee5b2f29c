//! The certificates: every key type is accepted by a real TLS handshake with the server,
//! and the chain passes the strictest common validators (webpki, OpenSSL -x509_strict,
//! Python's ssl with VERIFY_X509_STRICT and hostname checking).

use std::path::Path;
use std::process::Command;

use crate::common::*;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};

const KEY_TYPES: &[&str] = &[
    "ecdsa-p256",
    "ecdsa-p384",
    "ed25519",
    "rsa-2048",
    "rsa-3072",
    "rsa-4096",
];

fn generate_prod(dir: &Path, key_type: &str) -> u16 {
    crate::common::generate_prod(
        dir,
        &[
            "--key-type",
            key_type,
            "--san",
            "redis.internal",
            "--san",
            "10.1.2.3",
        ],
    )
}

fn der(path: &Path) -> CertificateDer<'static> {
    CertificateDer::from_pem_file(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// webpki: chain to the CA for the given usage, and (servers) every name the app may dial.
fn webpki_verify(certs: &Path, leaf: &str, usage: webpki::KeyUsage, names: &[&str]) {
    let ca = der(&certs.join("ca.crt"));
    let anchor = webpki::anchor_from_trusted_cert(&ca).unwrap();
    let leaf_der = der(&certs.join(leaf));
    let ee = webpki::EndEntityCert::try_from(&leaf_der).unwrap();
    ee.verify_for_usage(
        webpki::ALL_VERIFICATION_ALGS,
        &[anchor],
        &[],
        UnixTime::now(),
        usage,
        None,
        None,
    )
    .unwrap_or_else(|e| panic!("webpki refuses {leaf}: {e:?}"));
    for name in names {
        let sn = ServerName::try_from(*name).unwrap();
        ee.verify_is_valid_for_subject_name(&sn)
            .unwrap_or_else(|e| panic!("{leaf} does not cover {name}: {e:?}"));
    }
}

fn openssl_verify(certs: &Path, leaf: &str, purpose: &str) {
    let out = Command::new("openssl")
        .args(["verify", "-x509_strict", "-purpose", purpose, "-CAfile"])
        .arg(certs.join("ca.crt"))
        .arg(certs.join(leaf))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "openssl -x509_strict refuses {leaf}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn every_key_type_is_accepted_by_a_real_handshake_and_strict_validators() {
    if !have("redis-server") || !have("openssl") {
        return;
    }
    for key_type in KEY_TYPES {
        let tmp = tempdir();
        let dir = tmp.path().join(key_type);
        let port = generate_prod(&dir, key_type);
        let certs = dir.join("certs");

        webpki_verify(
            &certs,
            "redis-server.crt",
            webpki::KeyUsage::server_auth(),
            &[
                "localhost",
                "127.0.0.1",
                "::1",
                "redis",
                "redis.internal",
                "10.1.2.3",
            ],
        );
        webpki_verify(
            &certs,
            "redis-client.crt",
            webpki::KeyUsage::client_auth(),
            &[],
        );
        openssl_verify(&certs, "redis-server.crt", "sslserver");
        openssl_verify(&certs, "redis-client.crt", "sslclient");

        let _server = Server::start(&dir.join("redis.conf"), port);
        let env = read_env(&dir);
        assert_eq!(
            ping(&app_client(&env)).unwrap(),
            "PONG",
            "key type {key_type}"
        );
    }
}

#[test]
fn server_certificate_is_not_valid_for_usage_it_lacks() {
    // The checks above must be able to fail: the client certificate is no server certificate.
    let tmp = tempdir();
    let dir = tmp.path().join("p");
    generate_prod(&dir, "ecdsa-p256");
    let certs = dir.join("certs");
    let ca = der(&certs.join("ca.crt"));
    let anchor = webpki::anchor_from_trusted_cert(&ca).unwrap();
    let client = der(&certs.join("redis-client.crt"));
    let ee = webpki::EndEntityCert::try_from(&client).unwrap();
    let anchors = [anchor];
    let r = ee.verify_for_usage(
        webpki::ALL_VERIFICATION_ALGS,
        &anchors,
        &[],
        UnixTime::now(),
        webpki::KeyUsage::server_auth(),
        None,
        None,
    );
    assert!(
        r.is_err(),
        "a clientAuth-only certificate passed as a server certificate"
    );
    let server = der(&certs.join("redis-server.crt"));
    let ee = webpki::EndEntityCert::try_from(&server).unwrap();
    assert!(
        ee.verify_is_valid_for_subject_name(&ServerName::try_from("elsewhere.example").unwrap())
            .is_err()
    );
}

#[test]
fn python_strict_verification_with_hostname_check_accepts_the_server() {
    if !have("redis-server") || !have("python3") {
        return;
    }
    let tmp = tempdir();
    let dir = tmp.path().join("p");
    let port = generate_prod(&dir, "ecdsa-p256");
    let _server = Server::start(&dir.join("redis.conf"), port);
    let env = read_env(&dir);
    let script = r#"
import os, socket, ssl
E = os.environ
ctx = ssl.create_default_context(cafile=E["REDIS_CA_CERTS"])
ctx.verify_flags |= ssl.VERIFY_X509_STRICT
assert ctx.check_hostname and ctx.verify_mode == ssl.CERT_REQUIRED
ctx.load_cert_chain(E["REDIS_SSL_CERTFILE"], E["REDIS_SSL_KEYFILE"])
for host in ("localhost", "127.0.0.1"):
    with ctx.wrap_socket(socket.create_connection((host, int(E["REDIS_PORT"]))), server_hostname=host) as s:
        s.sendall(b"PING\r\n")
        print(host, s.recv(64).decode().strip())
"#;
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .envs(&env)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The default user is off, so an unauthenticated PING is refused: the handshake worked.
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(stdout.lines().count(), 2, "{stdout}");
    assert!(stdout.lines().all(|l| l.contains("-NOAUTH")), "{stdout}");
}

#[test]
fn ca_and_leaf_shape() {
    // Strict validators' rules (README, "What it does"), read back with OpenSSL's own text form.
    if !have("openssl") {
        return;
    }
    let tmp = tempdir();
    let dir = tmp.path().join("p");
    generate_prod(&dir, "ecdsa-p256");
    let text = |f: &str| {
        let out = Command::new("openssl")
            .args(["x509", "-noout", "-text", "-in"])
            .arg(dir.join("certs").join(f))
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap()
    };
    let ca = text("ca.crt");
    assert!(
        ca.contains("X509v3 Basic Constraints: critical\n                CA:TRUE, pathlen:0"),
        "{ca}"
    );
    assert!(ca.contains("Certificate Sign"), "{ca}");
    assert!(ca.contains("X509v3 Subject Key Identifier"), "{ca}");
    let server = text("redis-server.crt");
    assert!(server.contains("TLS Web Server Authentication"), "{server}");
    assert!(
        server.contains("X509v3 Authority Key Identifier"),
        "{server}"
    );
    assert!(server.contains("DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1, DNS:redis, DNS:redis.internal, IP Address:10.1.2.3"), "{server}");
    let client = text("redis-client.crt");
    assert!(client.contains("TLS Web Client Authentication"), "{client}");
    assert!(client.contains("CN = kimera_user"), "{client}");
    // Serials are random: two runs never share one.
    let other = tmp.path().join("q");
    generate_prod(&other, "ecdsa-p256");
    let serial = |d: &Path| {
        let out = Command::new("openssl")
            .args(["x509", "-noout", "-serial", "-in"])
            .arg(d.join("certs/redis-server.crt"))
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap()
    };
    assert_ne!(serial(&dir), serial(&other));
}
