//! Doctor's mapping from what went wrong to the words the user reads: for each failure
//! that no other test reaches, made real (a real redis-server, the folder's broken
//! fixtures, an edited `.env`), the FAIL line, its cause and its fix, and exit 1.
//! Parts that quote a system or library error are matched up to that quote only.

use std::fs;
use std::path::Path;

use crate::common::*;

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

/// Replace variables of the generated .env, as a user editing it would.
fn edit_env(dir: &Path, edits: &[(&str, &str)]) {
    let path = dir.join(".env");
    let mut text = fs::read_to_string(&path).unwrap();
    for (key, value) in edits {
        let prefix = format!("{key}=");
        let line = text
            .lines()
            .find(|l| l.starts_with(&prefix))
            .unwrap_or_else(|| panic!("no {key} in .env"))
            .to_owned();
        text = text.replace(&format!("{line}\n"), &format!("{key}={value}\n"));
    }
    fs::write(&path, text).unwrap();
}

/// `doctor DIR`, which must fail with exactly one finding: its (FAIL line, cause, fix).
fn one_failure(dir: &Path) -> (String, String, String) {
    let out = run(&["doctor", dir.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(1), "{text}");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4, "{text}");
    assert_eq!(
        lines[3], "The app cannot connect yet: see the fixes above.",
        "{text}"
    );
    let part = |line: &str, prefix: &str| {
        line.strip_prefix(prefix)
            .unwrap_or_else(|| panic!("{line:?} does not start with {prefix:?}:\n{text}"))
            .to_owned()
    };
    (
        part(lines[0], "FAIL  "),
        part(lines[1], "      cause: "),
        part(lines[2], "      fix:   "),
    )
}

#[test]
fn each_failure_is_named_with_its_cause_and_fix() {
    if !have("redis-server") {
        return;
    }
    let tmp = tempdir();
    let dir = tmp.path().join("f");
    let port = free_port();
    make(&dir, port);
    let good_env = fs::read_to_string(dir.join(".env")).unwrap();
    let at = format!("localhost:{port}");
    let fixture = |name: &str| dir.join("fixtures").join(name);

    {
        let _server = Server::start(&dir.join("redis.conf"), port);
        // The control: as generated, doctor passes.
        let out = run(&["doctor", dir.to_str().unwrap()]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );

        // An expired client certificate: the server's alert, in words.
        edit_env(
            &dir,
            &[
                (
                    "REDIS_SSL_CERTFILE",
                    fixture("expired-client.crt").to_str().unwrap(),
                ),
                (
                    "REDIS_SSL_KEYFILE",
                    fixture("expired-client.key").to_str().unwrap(),
                ),
            ],
        );
        assert_eq!(
            one_failure(&dir),
            (
                format!("{at}: client certificate refused (TLS alert CertificateExpired)"),
                "the server says the client certificate has expired".to_owned(),
                "run `kimera-redis-init renew <folder>` and restart the server".to_owned(),
            )
        );
        fs::write(dir.join(".env"), &good_env).unwrap();

        // No user and password: the default user is off, the server says NOAUTH.
        edit_env(&dir, &[("REDIS_USERNAME", ""), ("REDIS_PASSWORD", "")]);
        let (failed, cause, fix) = one_failure(&dir);
        assert!(
            failed.starts_with(&format!("{at}: the server wants authentication: ")),
            "{failed}"
        );
        assert_eq!(
            cause,
            "REDIS_USERNAME/REDIS_PASSWORD are empty, but the default user is off"
        );
        assert_eq!(
            fix,
            "restore REDIS_USERNAME and REDIS_PASSWORD from the generated .env"
        );
        fs::write(dir.join(".env"), &good_env).unwrap();
    }

    // A server certificate whose validity starts in the future.
    {
        let _server = Server::start_with_cert(
            &dir.join("redis.conf"),
            port,
            &fixture("not-yet-valid-server.crt"),
            &fixture("not-yet-valid-server.key"),
        );
        assert_eq!(
            one_failure(&dir),
            (
                format!("{at}: the server certificate is not valid yet"),
                "this machine's clock is behind, or the certificate starts in the future"
                    .to_owned(),
                "fix the clock (NTP), or renew the certificate".to_owned(),
            )
        );
    }

    // The same port speaking plain text while .env says TLS.
    {
        let port_s = port.to_string();
        let _server = Server::start_with(
            &dir.join("redis.conf"),
            port,
            &["--tls-port", "0", "--port", &port_s],
        );
        // A plain port waits for a line the TLS hello may not hold, or answers it with an
        // error: either way doctor asks it a plain PING and names what it found.
        let out = run(&["doctor", dir.to_str().unwrap(), "--timeout", "2"]);
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert_eq!(out.status.code(), Some(1), "{text}");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[..3],
            [
                format!("FAIL  {at}: the server speaks plain text on this port, not TLS").as_str(),
                format!("      cause: REDIS_SSL is true, but {at} answers a plain PING: the server runs without TLS there (port, not tls-port)").as_str(),
                "      fix:   start it from this folder's redis.conf (TLS on tls-port), or set REDIS_PORT to its tls-port",
            ],
            "{text}"
        );
        fs::write(dir.join(".env"), &good_env).unwrap();
    }

    // A host name that does not resolve (.invalid never does, RFC 6761).
    edit_env(&dir, &[("REDIS_HOST", "nonexistent.invalid")]);
    let (failed, cause, fix) = one_failure(&dir);
    assert_eq!(
        failed,
        format!("nonexistent.invalid:{port}: cannot resolve nonexistent.invalid")
    );
    assert!(
        cause.starts_with("the name does not resolve here: "),
        "{cause}"
    );
    assert_eq!(
        fix,
        "make nonexistent.invalid resolve (DNS or /etc/hosts), or set REDIS_HOST to an address"
    );
}
