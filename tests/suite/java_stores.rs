//! `--pkcs12`: the Java key and trust stores, proven with the JDK's own tools. keytool
//! lists them as a PrivateKeyEntry and a trustedCertEntry; a JSSE client (compiled here
//! with javac) that is given only the two stores and the password file connects to a
//! real redis-server over mutual TLS with hostname checking on, and refuses a server
//! whose certificate names another host. Re-runs, --force and renew keep the stores in
//! step with the PEM files.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use crate::common::*;

/// A JSSE client that uses nothing but the two stores and the password file for TLS,
/// checks the server's name the way HTTPS does, then sends AUTH and PING and prints the
/// replies. The app's user and password come from the environment, as from .env.
const CLIENT_JAVA: &str = r#"
import java.io.*;
import java.nio.charset.StandardCharsets;
import java.nio.file.*;
import java.security.KeyStore;
import javax.net.ssl.*;

public class RedisTlsClient {
    public static void main(String[] a) throws Exception {
        String host = a[0];
        int port = Integer.parseInt(a[1]);
        char[] pw = Files.readString(Path.of(a[4])).strip().toCharArray();
        KeyStore keys = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(Path.of(a[2]))) { keys.load(in, pw); }
        KeyStore trust = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(Path.of(a[3]))) { trust.load(in, pw); }
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(keys, pw);
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trust);
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(kmf.getKeyManagers(), tmf.getTrustManagers(), null);
        try (SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket(host, port)) {
            SSLParameters p = s.getSSLParameters();
            p.setEndpointIdentificationAlgorithm("HTTPS");
            s.setSSLParameters(p);
            s.setSoTimeout(5000);
            s.startHandshake();
            OutputStream out = s.getOutputStream();
            out.write(resp("AUTH", System.getenv("REDIS_USERNAME"), System.getenv("REDIS_PASSWORD")));
            out.write(resp("PING"));
            out.flush();
            BufferedReader r = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8));
            System.out.println(r.readLine());
            System.out.println(r.readLine());
        }
    }

    static byte[] resp(String... args) {
        StringBuilder b = new StringBuilder("*" + args.length + "\r\n");
        for (String x : args) {
            b.append('$').append(x.getBytes(StandardCharsets.UTF_8).length).append("\r\n").append(x).append("\r\n");
        }
        return b.toString().getBytes(StandardCharsets.UTF_8);
    }
}
"#;

fn have_java() -> bool {
    have("java") && have("javac") && have("keytool")
}

/// The client, compiled once per test run.
fn client_classes() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir =
            Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("jsse-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("RedisTlsClient.java"), CLIENT_JAVA).unwrap();
        let out = Command::new("javac")
            .args(["-d", dir.to_str().unwrap()])
            .arg(dir.join("RedisTlsClient.java"))
            .output()
            .expect("javac runs");
        assert!(
            out.status.success(),
            "javac: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        dir
    })
}

/// Run the JSSE client against `host:port` with the folder's stores and password file.
fn jsse(dir: &Path, host: &str, port: u16) -> Output {
    let env = read_env(dir);
    Command::new("java")
        .args([
            "-cp",
            client_classes().to_str().unwrap(),
            "RedisTlsClient",
            host,
        ])
        .arg(port.to_string())
        .arg(dir.join("certs/redis-client.p12"))
        .arg(dir.join("certs/truststore.p12"))
        .arg(dir.join("certs/pkcs12-password"))
        .env("REDIS_USERNAME", &env["REDIS_USERNAME"])
        .env("REDIS_PASSWORD", &env["REDIS_PASSWORD"])
        .output()
        .expect("java runs")
}

fn keytool(args: &[&str], dir: &Path, store: &str) -> String {
    let out = Command::new("keytool")
        .args(args)
        .args(["-storetype", "PKCS12", "-keystore"])
        .arg(dir.join(store))
        .arg("-storepass:file")
        .arg(dir.join("certs/pkcs12-password"))
        .output()
        .expect("keytool runs");
    assert!(
        out.status.success(),
        "keytool {args:?} {store}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The DER of the first PEM certificate in `text`.
fn der_of(text: &str) -> Vec<u8> {
    use rustls_pki_types::pem::PemObject;
    rustls_pki_types::CertificateDer::from_pem_slice(text.as_bytes())
        .expect("a PEM certificate")
        .to_vec()
}

/// The client certificate keytool exports from the key store, as DER.
fn stored_client_cert(dir: &Path) -> Vec<u8> {
    der_of(&keytool(
        &["-exportcert", "-rfc", "-alias", "redis-client"],
        dir,
        "certs/redis-client.p12",
    ))
}

fn file_der(path: &Path) -> Vec<u8> {
    der_of(&fs::read_to_string(path).unwrap())
}

#[test]
fn keytool_lists_a_key_entry_and_a_trusted_ca() {
    if !have_java() || !have("openssl") {
        return;
    }
    let tmp = tempdir();
    let dir = tmp.path().join("p");
    generate_prod(&dir, &["--pkcs12"]);
    let password = fs::read_to_string(dir.join("certs/pkcs12-password")).unwrap();
    assert_eq!(password.len(), 32, "a 32-character password, no newline");
    assert!(password.bytes().all(|b| b.is_ascii_alphanumeric()));
    for (f, mode) in [
        ("certs/pkcs12-password", 0o600),
        ("certs/redis-client.p12", 0o600),
        ("certs/truststore.p12", 0o600),
    ] {
        let m = fs::metadata(dir.join(f)).unwrap().permissions().mode() & 0o777;
        assert_eq!(m, mode, "{f}");
    }
    // The password stays out of .env: the stores are named by their fixed paths.
    assert!(
        !fs::read_to_string(dir.join(".env"))
            .unwrap()
            .contains(&password)
    );

    let keys = keytool(&["-list"], &dir, "certs/redis-client.p12");
    assert!(keys.contains("Your keystore contains 1 entry"), "{keys}");
    assert!(
        keys.contains("redis-client") && keys.contains("PrivateKeyEntry"),
        "{keys}"
    );
    let chain = keytool(
        &["-list", "-v", "-alias", "redis-client"],
        &dir,
        "certs/redis-client.p12",
    );
    assert!(chain.contains("Certificate chain length: 2"), "{chain}");
    assert_eq!(
        stored_client_cert(&dir),
        file_der(&dir.join("certs/redis-client.crt"))
    );

    let trust = keytool(&["-list"], &dir, "certs/truststore.p12");
    assert!(trust.contains("Your keystore contains 1 entry"), "{trust}");
    assert!(
        trust.contains("kimera-redis-ca") && trust.contains("trustedCertEntry"),
        "{trust}"
    );
    let ca = keytool(
        &["-exportcert", "-rfc", "-alias", "kimera-redis-ca"],
        &dir,
        "certs/truststore.p12",
    );
    assert_eq!(der_of(&ca), file_der(&dir.join("certs/ca.crt")));

    // Modern encryption: PBES2 with AES-256 for the key and the certificates.
    let info = Command::new("openssl")
        .args(["pkcs12", "-info", "-noout", "-in"])
        .arg(dir.join("certs/redis-client.p12"))
        .arg("-passin")
        .arg(format!(
            "file:{}",
            dir.join("certs/pkcs12-password").display()
        ))
        .output()
        .unwrap();
    let info =
        String::from_utf8_lossy(&info.stderr).into_owned() + &String::from_utf8_lossy(&info.stdout);
    assert!(
        info.contains("Shrouded Keybag: PBES2, PBKDF2, AES-256-CBC"),
        "{info}"
    );
    assert!(
        info.contains("PKCS7 Encrypted data: PBES2, PBKDF2, AES-256-CBC"),
        "{info}"
    );
    assert!(info.contains("MAC: sha256"), "{info}");

    let shown = run(&["inspect", dir.to_str().unwrap()]);
    let shown = String::from_utf8_lossy(&shown.stdout);
    assert!(
        shown.contains("certs/redis-client.p12 (key entry redis-client)"),
        "{shown}"
    );
    assert!(
        shown.contains("certs/truststore.p12 (trusted entry kimera-redis-ca)"),
        "{shown}"
    );
}

#[test]
fn jsse_connects_with_only_the_stores_and_refuses_a_wrong_host() {
    if !have_java() || !have("redis-server") {
        return;
    }
    for key_type in ["ecdsa-p256", "ed25519"] {
        let tmp = tempdir();
        let dir = tmp.path().join("p");
        let port = free_port();
        generate(&[
            "fixtures",
            "--host",
            "localhost",
            "--port",
            &port.to_string(),
            "--key-type",
            key_type,
            "--pkcs12",
            "--out",
            dir.to_str().unwrap(),
        ]);
        let conf = dir.join("redis.conf");
        {
            let _server = Server::start(&conf, port);
            let out = jsse(&dir, "localhost", port);
            let stdout = String::from_utf8_lossy(&out.stdout);
            assert!(
                out.status.success() && stdout.lines().collect::<Vec<_>>() == ["+OK", "+PONG"],
                "{key_type}: JSSE with the generated stores: {stdout}{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        // The same client, the same stores, a server presenting a certificate from the
        // same CA for another host: refused by the hostname check.
        let _server = Server::start_with_cert(
            &conf,
            port,
            &dir.join("fixtures/wrong-host-server.crt"),
            &dir.join("fixtures/wrong-host-server.key"),
        );
        let out = jsse(&dir, "localhost", port);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success(),
            "{key_type}: a wrong-host server was accepted"
        );
        assert!(
            stderr.contains("No subject alternative DNS name matching localhost"),
            "{key_type}: refused for another reason: {stderr}"
        );
    }
}

#[test]
fn jsse_reaches_every_node_of_a_tls_cluster_with_the_stores() {
    if !have_java() || !have("redis-server") || !have("redis-cli") {
        return;
    }
    let tmp = tempdir();
    let dir = tmp.path().join("c");
    let servers = start_cluster(&dir, "127.0.0.1", 3, &["--tls", "--pkcs12"]);
    let create = Command::new(dir.join("cluster-create.sh"))
        .output()
        .unwrap();
    assert!(
        create.status.success(),
        "{}",
        String::from_utf8_lossy(&create.stderr)
    );
    // Each node is dialled by its IP address, which its certificate must carry.
    for s in &servers {
        let out = jsse(&dir, "127.0.0.1", s.port);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && stdout.lines().collect::<Vec<_>>() == ["+OK", "+PONG"],
            "JSSE to node {}: {stdout}{}",
            s.port,
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn reruns_keep_the_stores_and_new_leaves_refresh_them() {
    if !have_java() {
        return;
    }
    let tmp = tempdir();
    let dir = tmp.path().join("p");
    let port = generate_prod(&dir, &["--pkcs12"]);
    let port_s = port.to_string();
    let base = [
        "--profile",
        "production-tls",
        "--host",
        "localhost",
        "--port",
        &port_s,
        "--out",
        dir.to_str().unwrap(),
    ];
    let read = |f: &str| fs::read(dir.join(f)).unwrap();
    let (keystore, truststore, password) = (
        read("certs/redis-client.p12"),
        read("certs/truststore.p12"),
        read("certs/pkcs12-password"),
    );

    // A re-run, with or without the flag, keeps all three as they are.
    for extra in [&[][..], &["--pkcs12"][..]] {
        let out = generate(&[&base[..], extra].concat());
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("kept          certs/redis-client.p12"),
            "{text}"
        );
        assert_eq!(read("certs/redis-client.p12"), keystore);
        assert_eq!(read("certs/truststore.p12"), truststore);
        assert_eq!(read("certs/pkcs12-password"), password);
    }

    // renew: the key store holds the renewed certificate; same password, same CA.
    let out = run(&["renew", dir.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("refreshed certs/redis-client.p12"));
    assert_ne!(read("certs/redis-client.p12"), keystore);
    assert_eq!(read("certs/pkcs12-password"), password);
    assert_eq!(
        stored_client_cert(&dir),
        file_der(&dir.join("certs/redis-client.crt"))
    );
    let renewed = read("certs/redis-client.p12");

    // --force without --pkcs12: new client pair, and the stores follow it.
    generate(&[&base[..], &["--force"][..]].concat());
    assert_ne!(read("certs/redis-client.p12"), renewed);
    assert_eq!(read("certs/pkcs12-password"), password);
    assert_eq!(
        stored_client_cert(&dir),
        file_der(&dir.join("certs/redis-client.crt"))
    );
    let ok = run(&["verify", dir.to_str().unwrap()]);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stdout)
    );

    // A stale store (another folder's) is a verify finding, and a re-run replaces it.
    let other = tmp.path().join("other");
    generate_prod(&other, &["--pkcs12"]);
    fs::copy(
        other.join("certs/redis-client.p12"),
        dir.join("certs/redis-client.p12"),
    )
    .unwrap();
    fs::copy(
        other.join("certs/pkcs12-password"),
        dir.join("certs/pkcs12-password"),
    )
    .unwrap();
    let found = run(&["verify", dir.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&found.stdout);
    assert_eq!(found.status.code(), Some(1), "{text}");
    assert!(
        text.contains("certs/redis-client.p12: holds another key than certs/redis-client.key"),
        "{text}"
    );
    assert!(
        text.contains("certs/truststore.p12: cannot be opened with the password"),
        "{text}"
    );
    let out = generate(&base);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("replaced      certs/redis-client.p12"),
        "{text}"
    );
    assert!(
        text.contains("replaced      certs/truststore.p12"),
        "{text}"
    );
    assert_eq!(
        stored_client_cert(&dir),
        file_der(&dir.join("certs/redis-client.crt"))
    );
    let ok = run(&["verify", dir.to_str().unwrap()]);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stdout)
    );

    // A password of the user's own choosing is kept as it is, and the stores follow it.
    fs::write(dir.join("certs/pkcs12-password"), "my own pass!").unwrap();
    let out = generate(&base);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("replaced      certs/redis-client.p12"),
        "{text}"
    );
    assert_eq!(read("certs/pkcs12-password"), b"my own pass!");
    assert!(keytool(&["-list"], &dir, "certs/truststore.p12").contains("trustedCertEntry"));
    assert_eq!(
        stored_client_cert(&dir),
        file_der(&dir.join("certs/redis-client.crt"))
    );
    let ok = run(&["verify", dir.to_str().unwrap()]);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stdout)
    );
}

#[test]
fn pkcs12_needs_tls_and_ed25519_runs_say_why_java_wants_it() {
    let tmp = tempdir();
    let out = run(&[
        "--profile",
        "local-dev",
        "--pkcs12",
        "--out",
        tmp.path().join("l").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--pkcs12: profile local-dev has no TLS"),
        "{err}"
    );
    assert!(!tmp.path().join("l").exists(), "nothing written");

    let out = generate(&[
        "--profile",
        "production-tls",
        "--key-type",
        "ed25519",
        "--out",
        tmp.path().join("e").to_str().unwrap(),
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("Netty, and so Lettuce's PEM path, cannot read the PEM key"),
        "{text}"
    );
    assert!(text.contains("--pkcs12"), "{text}");
}
