//! Whole production-tls generation, side by side with the guide's openssl steps.
//!
//!     cargo bench --bench generate
//!
//! Each contender runs as the user would run it (separate processes, into a fresh
//! folder); the table shows the median and the fastest of the runs. Not a test: numbers
//! go in the README, targets are judged by a person reading them.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_kimera-redis-init");

/// The guide's "Generating Self-Signed Certificates" steps, made non-interactive with
/// -subj (and a SAN-less server certificate, exactly as the guide makes it).
fn openssl_steps(dir: &Path, genkey: &[&str]) {
    let sh = |args: &[&str]| {
        let ok = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("openssl runs");
        assert!(
            ok.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&ok.stderr)
        );
    };
    let key = |out: &str| {
        let mut a = vec!["genpkey"];
        a.extend_from_slice(genkey);
        a.extend_from_slice(&["-out", out]);
        sh(&a);
    };
    key("ca.key");
    sh(&[
        "req",
        "-new",
        "-x509",
        "-days",
        "365",
        "-key",
        "ca.key",
        "-out",
        "ca.crt",
        "-subj",
        "/CN=KIMERA CA",
    ]);
    key("redis-server.key");
    sh(&[
        "req",
        "-new",
        "-key",
        "redis-server.key",
        "-out",
        "redis-server.csr",
        "-subj",
        "/CN=localhost",
    ]);
    sh(&[
        "x509",
        "-req",
        "-days",
        "365",
        "-in",
        "redis-server.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "redis-server.crt",
    ]);
    key("redis-client.key");
    sh(&[
        "req",
        "-new",
        "-key",
        "redis-client.key",
        "-out",
        "redis-client.csr",
        "-subj",
        "/CN=kimera_user",
    ]);
    sh(&[
        "x509",
        "-req",
        "-days",
        "365",
        "-in",
        "redis-client.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "redis-client.crt",
    ]);
}

fn ours(dir: &Path, key_type: &str) {
    let out = Command::new(BIN)
        .args([
            "--profile",
            "production-tls",
            "--host",
            "localhost",
            "--key-type",
            key_type,
            "--out",
        ])
        .arg(dir)
        .output()
        .expect("kimera-redis-init runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `--profile cluster --tls` with `n` nodes: a certificate per node, a folder per node.
fn cluster(dir: &Path, n: u16) {
    let nodes: Vec<String> = (0..n).map(|i| format!("127.0.0.1:{}", 20001 + i)).collect();
    let out = Command::new(BIN)
        .args([
            "--profile",
            "cluster",
            "--tls",
            "--nodes",
            &nodes.join(","),
            "--out",
        ])
        .arg(dir)
        .output()
        .expect("kimera-redis-init runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Median and fastest of `runs` timed runs, each into a new folder.
fn time(runs: usize, f: impl Fn(&Path)) -> (Duration, Duration) {
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let tmp = tempfile::tempdir().unwrap();
            let dir = tmp.path().join("out");
            std::fs::create_dir(&dir).unwrap();
            let start = Instant::now();
            f(&dir);
            start.elapsed()
        })
        .collect();
    times.sort();
    (times[runs / 2], times[0])
}

fn main() {
    // `cargo test --benches` passes --bench-less arguments; run only under `cargo bench`.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let rows = [
        (
            "openssl steps, RSA-4096 (the guide)",
            time(5, |d| {
                openssl_steps(
                    d,
                    &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:4096"],
                )
            }),
        ),
        (
            "kimera-redis-init, --key-type rsa-4096",
            time(5, |d| ours(d, "rsa-4096")),
        ),
        (
            "openssl steps, ECDSA P-256",
            time(21, |d| {
                openssl_steps(
                    d,
                    &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
                )
            }),
        ),
        (
            "kimera-redis-init (ecdsa-p256, all files)",
            time(51, |d| ours(d, "ecdsa-p256")),
        ),
    ];
    println!(
        "{:<44} {:>12} {:>12}",
        "production-tls certificates", "median ms", "fastest ms"
    );
    for (name, (median, fastest)) in &rows {
        println!("{name:<44} {:>12.1} {:>12.1}", ms(*median), ms(*fastest));
    }
    println!();
    println!(
        "{:<44} {:>12} {:>12}",
        "cluster --tls (ecdsa-p256)", "median ms", "fastest ms"
    );
    for n in [3, 30, 100] {
        let (median, fastest) = time(21, |d| cluster(d, n));
        println!(
            "{:<44} {:>12.1} {:>12.1}",
            format!("{n} nodes"),
            ms(median),
            ms(fastest)
        );
    }
    let (median, fastest) = time(51, |d| {
        let out = Command::new(BIN)
            .args(["fixtures", "--host", "localhost", "--out"])
            .arg(d)
            .output()
            .unwrap();
        assert!(out.status.success());
    });
    println!(
        "{:<44} {:>12.1} {:>12.1}",
        "fixtures (production-tls + 9 broken pairs)",
        ms(median),
        ms(fastest)
    );
    println!();
    let ratio = |a: usize, b: usize| rows[a].1.0.as_secs_f64() / rows[b].1.0.as_secs_f64();
    println!(
        "P-256: kimera-redis-init is {:.0}x faster than openssl's P-256 steps (target: 10x)",
        ratio(2, 3)
    );
    println!(
        "RSA-4096: kimera-redis-init takes {:.2}x the time of openssl's RSA-4096 steps (target: at most 1x)",
        1.0 / ratio(0, 1)
    );
}
