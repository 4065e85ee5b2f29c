//! `fixtures`: each deliberately broken certificate is refused for exactly the reason its
//! README states, by webpki and OpenSSL, and by a real redis-server and a real verifying
//! client; the good pair is accepted.

use std::fs;
use std::path::Path;
use std::process::Command;

use crate::common::*;
use kimera_redis_init::testing::trust::{self, Usage};
use rustls_pki_types::UnixTime;
use rustls_pki_types::pem::PemObject;

fn der(path: &Path) -> Vec<u8> {
    rustls_pki_types::CertificateDer::from_pem_file(path)
        .unwrap()
        .to_vec()
}

fn make(dir: &Path, port: u16) {
    generate(&[
        "fixtures",
        "--host",
        "localhost",
        "--port",
        &port.to_string(),
        "--out",
        dir.to_str().unwrap(),
    ]);
}

/// (fixture, usage it is checked for, webpki error it must give, openssl verify flags, openssl error text)
const EXPECT: &[(&str, Usage, &str, &[&str], &str)] = &[
    (
        "expired-server",
        Usage::Server,
        "expired on ",
        &["-purpose", "sslserver"],
        "certificate has expired",
    ),
    (
        "not-yet-valid-server",
        Usage::Server,
        "not valid before ",
        &["-purpose", "sslserver"],
        "certificate is not yet valid",
    ),
    (
        "other-ca-server",
        Usage::Server,
        "not issued by this CA: signed by another CA, or self-signed",
        &["-purpose", "sslserver"],
        "unable to get local issuer certificate",
    ),
    (
        "server-without-serverauth",
        Usage::Server,
        "its extended key usage does not allow serverAuth",
        &["-purpose", "sslserver"],
        "unsuitable certificate purpose",
    ),
    (
        "self-signed-server",
        Usage::Server,
        "not issued by this CA: signed by another CA, or self-signed",
        &["-purpose", "sslserver"],
        "self-signed certificate",
    ),
    (
        "expired-client",
        Usage::Client,
        "expired on ",
        &["-purpose", "sslclient"],
        "certificate has expired",
    ),
    (
        "other-ca-client",
        Usage::Client,
        "not issued by this CA: signed by another CA, or self-signed",
        &["-purpose", "sslclient"],
        "unable to get local issuer certificate",
    ),
    (
        "client-without-clientauth",
        Usage::Client,
        "its extended key usage does not allow clientAuth",
        &["-purpose", "sslclient"],
        "unsuitable certificate purpose",
    ),
];

fn openssl_verify(dir: &Path, cert: &str, flags: &[&str]) -> String {
    let out = Command::new("openssl")
        .args(["verify", "-x509_strict"])
        .args(flags)
        .arg("-CAfile")
        .arg(dir.join("certs/ca.crt"))
        .arg(dir.join(cert))
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

#[test]
fn each_fixture_is_broken_in_exactly_the_stated_way() {
    if !have("openssl") {
        return;
    }
    let tmp = tempdir();
    let dir = tmp.path().join("f");
    make(&dir, 6390);
    let now = UnixTime::now();
    let ca = der(&dir.join("certs/ca.crt"));
    let other_ca = der(&dir.join("fixtures/other-ca.crt"));
    // The good pair passes both validators.
    trust::chains(
        &ca,
        &der(&dir.join("certs/redis-server.crt")),
        Usage::Server,
        now,
    )
    .unwrap();
    trust::chains(
        &ca,
        &der(&dir.join("certs/redis-client.crt")),
        Usage::Client,
        now,
    )
    .unwrap();
    assert!(
        openssl_verify(
            &dir,
            "certs/redis-server.crt",
            &["-purpose", "sslserver", "-verify_hostname", "localhost"]
        )
        .contains(": OK")
    );

    for (name, usage, webpki_error, flags, openssl_error) in EXPECT {
        let cert = format!("fixtures/{name}.crt");
        let leaf = der(&dir.join(&cert));
        let err = trust::chains(&ca, &leaf, *usage, now)
            .expect_err(name)
            .to_string();
        assert!(
            err.contains(webpki_error),
            "{name}: webpki said {err}, expected {webpki_error}"
        );
        let out = openssl_verify(&dir, &cert, flags);
        assert!(
            out.contains(openssl_error),
            "{name}: openssl said {out}, expected {openssl_error}"
        );
        // Broken in that one way only: fix the one thing and it passes.
        match *name {
            "other-ca-server" | "other-ca-client" => {
                trust::chains(&other_ca, &leaf, *usage, now).unwrap()
            }
            "server-without-serverauth" => trust::chains(&ca, &leaf, Usage::Client, now).unwrap(),
            "client-without-clientauth" => trust::chains(&ca, &leaf, Usage::Server, now).unwrap(),
            _ => {}
        }
        assert_eq!(
            fs::metadata(dir.join(format!("fixtures/{name}.key")))
                .map(|m| {
                    use std::os::unix::fs::PermissionsExt;
                    m.permissions().mode() & 0o777
                })
                .unwrap(),
            0o600
        );
    }
    // The wrong-host server chains fine; only its name is wrong.
    let wrong = der(&dir.join("fixtures/wrong-host-server.crt"));
    trust::chains(&ca, &wrong, Usage::Server, now).unwrap();
    assert!(trust::covers(&wrong, "localhost").is_err());
    assert!(trust::covers(&der(&dir.join("certs/redis-server.crt")), "localhost").is_ok());
    assert!(
        openssl_verify(
            &dir,
            "fixtures/wrong-host-server.crt",
            &["-verify_hostname", "localhost"]
        )
        .contains("hostname mismatch")
    );
}

#[test]
fn a_real_server_refuses_each_broken_client_and_accepts_the_good_one() {
    if !have("redis-server") {
        return;
    }
    let tmp = tempdir();
    let dir = tmp.path().join("f");
    let port = free_port();
    make(&dir, port);
    let server = Server::start(&dir.join("redis.conf"), port);
    let env = read_env(&dir);
    assert_eq!(ping(&app_client(&env)).unwrap(), "PONG");
    // The server's TLS alert names the reason; Redis 7.0 logs only "certificate verify failed".
    // The log grows by one "certificate verify failed" per refused client: each
    // iteration waits for its own line, not one an earlier iteration left.
    for (i, (name, alert)) in [
        ("expired-client", "received fatal alert: CertificateExpired"),
        ("other-ca-client", "received fatal alert: UnknownCA"),
        (
            "client-without-clientauth",
            "received fatal alert: UnsupportedCertificate",
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let mut with = env.clone();
        with.insert(
            "REDIS_SSL_CERTFILE".into(),
            dir.join(format!("fixtures/{name}.crt"))
                .to_str()
                .unwrap()
                .into(),
        );
        with.insert(
            "REDIS_SSL_KEYFILE".into(),
            dir.join(format!("fixtures/{name}.key"))
                .to_str()
                .unwrap()
                .into(),
        );
        let err = ping(&app_client(&with)).expect_err(name).to_string();
        assert!(
            err.contains(alert),
            "{name}: the client saw {err:?}, expected {alert:?}"
        );
        server.wait_for_log("certificate verify failed", i + 1);
    }
}

#[test]
fn a_verifying_client_refuses_a_server_running_each_broken_server_fixture() {
    if !have("redis-server") {
        return;
    }
    let tmp = tempdir();
    let dir = tmp.path().join("f");
    let port = free_port();
    make(&dir, port);
    let env = read_env(&dir);
    for (name, client_error) in [
        ("expired-server", "certificate expired"),
        ("not-yet-valid-server", "certificate not valid yet"),
        (
            "wrong-host-server",
            "certificate not valid for name \"localhost\"",
        ),
        ("other-ca-server", "UnknownIssuer"),
        (
            "server-without-serverauth",
            "does not allow extended key usage for server authentication",
        ),
        ("self-signed-server", "UnknownIssuer"),
    ] {
        let cert = dir.join(format!("fixtures/{name}.crt"));
        let key = dir.join(format!("fixtures/{name}.key"));
        let _server = Server::start_with_cert(&dir.join("redis.conf"), port, &cert, &key);
        let err = ping(&app_client(&env)).expect_err(name).to_string();
        assert!(
            err.contains(client_error),
            "{name}: the client said {err:?}, expected {client_error:?}"
        );
    }
    // And the good server certificate, on the same command line, is accepted.
    let _server = Server::start_with_cert(
        &dir.join("redis.conf"),
        port,
        &dir.join("certs/redis-server.crt"),
        &dir.join("certs/redis-server.key"),
    );
    assert_eq!(ping(&app_client(&env)).unwrap(), "PONG");
}

#[test]
fn json_lists_every_fixture_with_what_it_is_for() {
    let tmp = tempdir();
    let dir = tmp.path().join("f");
    let out = generate(&["fixtures", "--out", dir.to_str().unwrap(), "--json"]);
    let m: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let files = m["files"].as_array().unwrap();
    for (name, ..) in EXPECT
        .iter()
        .chain(&[("wrong-host-server", Usage::Server, "", &[][..], "")])
    {
        for ext in ["crt", "key"] {
            let path = format!("fixtures/{name}.{ext}");
            let f = files
                .iter()
                .find(|f| f["path"] == path.as_str())
                .unwrap_or_else(|| panic!("{path} not listed"));
            assert!(
                f["purpose"].as_str().unwrap().len() > 20,
                "{path}: {}",
                f["purpose"]
            );
        }
    }
    assert!(files.iter().any(|f| f["path"] == "fixtures/README.md"));
    assert!(files.iter().any(|f| f["path"] == "certs/redis-client.crt"));
    let readme = fs::read_to_string(dir.join("fixtures/README.md")).unwrap();
    for (name, ..) in EXPECT {
        assert!(
            readme.contains(&format!("`{name}.crt`")),
            "{name} not in README"
        );
    }
}

#[test]
fn fixtures_need_a_tls_profile() {
    let tmp = tempdir();
    let dir = tmp.path().join("f");
    let out = run(&[
        "fixtures",
        "--profile",
        "local-dev",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("fixtures are certificates"));
    assert!(!dir.exists());
}

#[test]
fn completions_and_man_page_come_from_the_cli_definitions() {
    for shell in ["bash", "zsh", "fish"] {
        let out = generate(&["completions", shell]);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("kimera-redis-init")
                && text.contains("fixtures")
                && text.contains("key-type"),
            "{shell}"
        );
    }
    let man = generate(&["man"]);
    let text = String::from_utf8_lossy(&man.stdout);
    assert!(
        text.starts_with(".ie") || text.contains(".TH kimera-redis-init 1"),
        "{text}"
    );
    assert!(text.contains("production\\-tls"));
}

#[test]
fn cluster_server_fixtures_keep_client_auth_and_dates_stay_inside_the_cas() {
    let tmp = tempdir();
    let dir = tmp.path().join("c");
    generate(&[
        "fixtures",
        "--profile",
        "cluster",
        "--tls",
        "--nodes",
        "127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003",
        "--out",
        dir.to_str().unwrap(),
    ]);
    let now = UnixTime::now();
    let ca = der(&dir.join("certs/ca.crt"));
    // Node certificates also authenticate to the other nodes: the server fixtures that
    // are not about usage must carry clientAuth as well, so only their flaw differs.
    for name in ["wrong-host-server", "other-ca-server", "self-signed-server"] {
        let leaf = der(&dir.join(format!("fixtures/{name}.crt")));
        let anchor = if name == "other-ca-server" {
            der(&dir.join("fixtures/other-ca.crt"))
        } else {
            ca.clone()
        };
        if name != "self-signed-server" {
            trust::chains(&anchor, &leaf, Usage::Client, now)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
        }
    }
    let readme = fs::read_to_string(dir.join("fixtures/README.md")).unwrap();
    let conf = dir.join("nodes/127.0.0.1-7001/redis.conf");
    assert!(
        readme.contains(&format!(
            "redis-server '{}' --tls-cert-file '{}'",
            conf.display(),
            dir.join("fixtures/expired-server.crt").display()
        )),
        "{readme}"
    );

    // The expired fixtures lie inside the CA's validity: only their own dates are wrong.
    let json = generate(&[
        "inspect",
        dir.join("certs/ca.crt").to_str().unwrap(),
        "--json",
    ]);
    let ca_info: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    for name in ["expired-server", "expired-client"] {
        let json = generate(&[
            "inspect",
            dir.join(format!("fixtures/{name}.crt")).to_str().unwrap(),
            "--json",
        ]);
        let info: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
        let ts = |v: &serde_json::Value| {
            time::OffsetDateTime::parse(
                v.as_str().unwrap(),
                &time::format_description::well_known::Rfc3339,
            )
            .unwrap()
        };
        assert!(
            ts(&info[0]["not_before"]) >= ts(&ca_info[0]["not_before"]),
            "{name} starts before its CA"
        );
        assert!(
            ts(&info[0]["not_after"]) < time::OffsetDateTime::now_utc(),
            "{name} has not expired"
        );
    }
}

#[test]
fn replacing_the_ca_issues_the_fixtures_again_or_is_refused() {
    let tmp = tempdir();
    let dir = tmp.path().join("f");
    let d = dir.to_str().unwrap();
    generate(&["fixtures", "--out", d]);
    let out = run(&[
        "--profile",
        "production-tls",
        "--out",
        d,
        "--force",
        "--replace-ca",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("fixtures holds certificates of the old CA")
    );
    generate(&["fixtures", "--out", d, "--force", "--replace-ca"]);
    let ca = der(&dir.join("certs/ca.crt"));
    let wrong = der(&dir.join("fixtures/wrong-host-server.crt"));
    trust::chains(&ca, &wrong, Usage::Server, UnixTime::now())
        .expect("fixtures issued under the new CA");
}
