//! Whole runs, side by side in one measurement, each contender as a user runs it (a new
//! process into a fresh folder), rounds interleaved so that the machine's noise falls on
//! every contender alike:
//!
//!     cargo bench --bench generate
//!
//! - the guide's openssl steps (P-256 and RSA-4096: three keys, CA, two CSRs, two certs);
//! - rustls-cert-gen (a CA and one leaf; installed into target/bench-tools when missing);
//! - kimera-redis-init production-tls (P-256 and RSA-4096, every file, durable), and the
//!   same P-256 run with `--dry-run` and `--version`, for the breakdown: `--version` is
//!   the process's start and exit, `--dry-run` adds everything in memory (settings, keys
//!   and certificates, every file rendered, the manifest printed), the durable run adds
//!   the disk (lock, staging, journal, fsyncs, renames);
//! - TLS clusters of 3, 100 and 1000 nodes, with peak RSS; 1000 nodes twice: into fresh
//!   folders with the earlier trees left in place, and after removing the previous
//!   round's 22 MB tree (what a loop that cleans up after itself does);
//! - production-tls while another process writes and fsyncs a large file (disk load).
//!
//! Every run writes into a new folder under target/bench-runs/ (or $KIMERA_BENCH_DIR),
//! removed when the bench ends, never while it measures (see `fresh_dir`), except where removal is what is
//! measured. Medians, fastest and slowest runs, ratios and the targets of issue 26 are
//! printed.
//! Not a test: numbers go in the README, targets are judged by a person reading them.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
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

/// One timed run: wall time and the peak RSS (KiB) of the process, from wait4.
fn measure(cmd: &mut Command) -> (Duration, u64) {
    let start = Instant::now();
    let child = cmd
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the contender starts");
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: rusage is plain data that wait4 fills in; the child is ours and not
    // waited for elsewhere.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let elapsed = start.elapsed();
    assert_eq!(waited, pid, "wait4");
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "{cmd:?} failed"
    );
    std::mem::forget(child);
    (elapsed, usage.ru_maxrss as u64)
}

fn ours(key_type: &str) -> impl Fn(&Path) -> (Duration, u64) {
    ours_with(key_type, &[])
}

/// production-tls with `extra` arguments (`--dry-run`).
fn ours_with(key_type: &str, extra: &'static [&'static str]) -> impl Fn(&Path) -> (Duration, u64) {
    let key_type = key_type.to_owned();
    move |dir| {
        measure(
            Command::new(BIN)
                .args([
                    "--profile",
                    "production-tls",
                    "--host",
                    "localhost",
                    "--key-type",
                    &key_type,
                ])
                .args(extra)
                .arg("--out")
                .arg(dir),
        )
    }
}

/// The process alone: start, parse `--version`, print, exit.
fn version() -> impl Fn(&Path) -> (Duration, u64) {
    |_| measure(Command::new(BIN).arg("--version"))
}

/// `--profile cluster --tls` with `n` nodes: a certificate, a folder and a config each.
fn cluster(n: u16) -> impl Fn(&Path) -> (Duration, u64) {
    move |dir| measure(&mut cluster_command(n, dir))
}

fn cluster_command(n: u16, dir: &Path) -> Command {
    let nodes: Vec<String> = (0..n)
        .map(|i| format!("10.0.{}.{}:7001", i / 250, i % 250 + 1))
        .collect();
    let mut c = Command::new(BIN);
    c.args([
        "--profile",
        "cluster",
        "--tls",
        "--nodes",
        &nodes.join(","),
        "--out",
    ])
    .arg(dir);
    c
}

/// Every run's folder: new, under one folder of the bench's own in target/, which is
/// removed only when the bench ends. On ext4 without a journal (this development
/// machine's disk) a new inode is not taken from those freed in the last minute or
/// more, and each creation scans past all of them: removing trees while measuring made
/// every later run pay for the files removed before it.
fn fresh_dir() -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    runs_root().join(NEXT.fetch_add(1, Ordering::Relaxed).to_string())
}

fn runs_root() -> &'static Path {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        // KIMERA_BENCH_DIR: elsewhere, e.g. on a disk no build is writing to.
        let root = std::env::var_os("KIMERA_BENCH_DIR")
            .map_or_else(
                || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench-runs"),
                PathBuf::from,
            )
            .join(std::process::id().to_string());
        std::fs::create_dir_all(&root).unwrap();
        root
    })
}

/// 1000-node runs into fresh folders, every earlier tree left in place.
fn thousand_nodes_fresh(rounds: usize) -> (Row, PathBuf) {
    let mut row = Row {
        name: "1000 nodes, fresh folder (earlier trees kept)".into(),
        runs: Vec::new(),
    };
    let mut last = PathBuf::new();
    for _ in 0..rounds {
        last = fresh_dir();
        row.runs.push(measure(&mut cluster_command(1000, &last)));
    }
    (row, last)
}

/// 1000-node runs, each after removing the previous run's tree (`previous` first), as a
/// loop that cleans up after itself does.
fn thousand_nodes_after_removal(rounds: usize, mut previous: PathBuf) -> Row {
    let mut row = Row {
        name: "1000 nodes, previous tree removed first".into(),
        runs: Vec::new(),
    };
    for _ in 0..rounds {
        std::fs::remove_dir_all(&previous).unwrap();
        previous = fresh_dir();
        row.runs
            .push(measure(&mut cluster_command(1000, &previous)));
    }
    row
}

fn openssl(genkey: &'static [&'static str]) -> impl Fn(&Path) -> (Duration, u64) {
    move |dir| {
        std::fs::create_dir_all(dir).unwrap();
        let start = Instant::now();
        openssl_steps(dir, genkey);
        (start.elapsed(), 0)
    }
}

/// rustls-cert-gen (a CA and one leaf), installed into target/bench-tools when missing.
fn rustls_cert_gen() -> Option<impl Fn(&Path) -> (Duration, u64)> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench-tools");
    let bin = root.join("bin/rustls-cert-gen");
    if !bin.exists() {
        eprintln!("installing rustls-cert-gen into {} (once)", root.display());
        let ok = Command::new("cargo")
            .args(["install", "--locked", "rustls-cert-gen", "--root"])
            .arg(&root)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            eprintln!("rustls-cert-gen could not be installed; its rows are left out");
            return None;
        }
    }
    Some(move |dir: &Path| measure(Command::new(&bin).arg("-o").arg(dir)))
}

/// `rounds` durable production-tls P-256 runs with KIMERA_TRACE_TIMINGS=1 (src/timings.rs),
/// each into a fresh folder: every stage's median milliseconds, in the order of a run.
fn stages(rounds: usize) -> Vec<(String, f64)> {
    let mut names: Vec<String> = Vec::new();
    let mut times: Vec<Vec<f64>> = Vec::new();
    for _ in 0..rounds {
        let out = Command::new(BIN)
            .args([
                "--profile",
                "production-tls",
                "--host",
                "localhost",
                "--key-type",
                "ecdsa-p256",
                "--out",
            ])
            .arg(fresh_dir())
            .env("KIMERA_TRACE_TIMINGS", "1")
            .output()
            .expect("the traced run starts");
        assert!(out.status.success(), "traced run: {out:?}");
        let text = String::from_utf8_lossy(&out.stderr);
        let traced = text.lines().filter_map(|l| l.strip_prefix("timing: "));
        for (i, line) in traced.enumerate() {
            let (name, ms) = line.rsplit_once(' ').expect("timing: <stage> <ms>");
            if names.len() <= i {
                names.push(name.to_owned());
                times.push(Vec::new());
            }
            times[i].push(ms.parse().expect("milliseconds"));
        }
    }
    names
        .into_iter()
        .zip(times)
        .map(|(name, mut t)| {
            t.sort_by(f64::total_cmp);
            (name, t[t.len() / 2])
        })
        .collect()
}

struct Row {
    name: String,
    runs: Vec<(Duration, u64)>,
}

impl Row {
    fn median(&self) -> Duration {
        let mut t: Vec<Duration> = self.runs.iter().map(|r| r.0).collect();
        t.sort();
        t[t.len() / 2]
    }
    fn fastest(&self) -> Duration {
        self.runs.iter().map(|r| r.0).min().unwrap()
    }
    fn slowest(&self) -> Duration {
        self.runs.iter().map(|r| r.0).max().unwrap()
    }
    fn peak_rss_mib(&self) -> f64 {
        self.runs.iter().map(|r| r.1).max().unwrap() as f64 / 1024.0
    }
}

type Contender<'a> = (&'a str, Box<dyn Fn(&Path) -> (Duration, u64) + 'a>);

/// `rounds` rounds; each runs every contender once, into a fresh folder (`fresh_dir`),
/// in turn.
fn side_by_side(rounds: usize, contenders: &[Contender<'_>]) -> Vec<Row> {
    let mut rows: Vec<Row> = contenders
        .iter()
        .map(|(name, _)| Row {
            name: (*name).to_owned(),
            runs: Vec::new(),
        })
        .collect();
    for _ in 0..rounds {
        for (row, (_, run)) in rows.iter_mut().zip(contenders) {
            row.runs.push(run(&fresh_dir()));
        }
    }
    rows
}

fn print(title: &str, rows: &[Row]) {
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{title:<46} {:>10} {:>10} {:>10} {:>9}",
        "median ms", "fastest", "slowest", "peak MiB"
    );
    for r in rows {
        let rss = if r.runs[0].1 > 0 {
            format!("{:.1}", r.peak_rss_mib())
        } else {
            "-".into()
        };
        println!(
            "{:<46} {:>10.1} {:>10.1} {:>10.1} {:>9}",
            r.name,
            ms(r.median()),
            ms(r.fastest()),
            ms(r.slowest()),
            rss
        );
    }
    println!();
}

/// Another process's disk load: a large file written and fsync-ed over and over.
fn disk_load(stop: &AtomicBool) {
    use std::io::Write;
    let load = fresh_dir();
    std::fs::create_dir_all(&load).unwrap();
    let chunk = vec![0x5au8; 8 << 20];
    while !stop.load(Ordering::Relaxed) {
        let mut f = std::fs::File::create(load.join("load")).unwrap();
        for _ in 0..8 {
            f.write_all(&chunk).unwrap();
        }
        f.sync_all().unwrap();
    }
}

fn main() {
    // `cargo test --benches` passes --bench-less arguments; run only under `cargo bench`.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let secs = |d: Duration| d.as_secs_f64();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;

    let mut p256: Vec<Contender<'_>> = vec![
        (
            "openssl steps, ECDSA P-256",
            Box::new(openssl(&[
                "-algorithm",
                "EC",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
            ])),
        ),
        (
            "kimera-redis-init production-tls, P-256",
            Box::new(ours("ecdsa-p256")),
        ),
        (
            "  the same with --dry-run",
            Box::new(ours_with("ecdsa-p256", &["--dry-run"])),
        ),
        ("  kimera-redis-init --version", Box::new(version())),
    ];
    if let Some(peer) = rustls_cert_gen() {
        p256.push(("rustls-cert-gen (CA + one leaf)", Box::new(peer)));
    }
    let p256 = side_by_side(31, &p256);
    print("production-tls certificates, P-256", &p256);
    let (durable, dry, start) = (p256[1].median(), p256[2].median(), p256[3].median());
    println!("where a durable production-tls P-256 run's median goes:");
    println!(
        "  process start and exit (--version)            {:>6.2} ms",
        ms(start)
    );
    println!(
        "  in memory: settings, PKI, render, manifest    {:>6.2} ms  (--dry-run minus --version)",
        ms(dry.saturating_sub(start))
    );
    println!(
        "  on disk: lock, staging, journal, fsyncs       {:>6.2} ms  (durable minus --dry-run)",
        ms(durable.saturating_sub(dry))
    );
    println!(
        "the same run's stages, KIMERA_TRACE_TIMINGS=1 (medians of 31 runs, ms since the stage before):"
    );
    for (name, ms) in stages(31) {
        println!("  {name:<46} {ms:>6.2} ms");
    }
    println!();

    let rsa = side_by_side(
        5,
        &[
            (
                "openssl steps, RSA-4096 (the guide)",
                Box::new(openssl(&[
                    "-algorithm",
                    "RSA",
                    "-pkeyopt",
                    "rsa_keygen_bits:4096",
                ])),
            ),
            (
                "kimera-redis-init production-tls, RSA-4096",
                Box::new(ours("rsa-4096")),
            ),
        ],
    );
    print("production-tls certificates, RSA-4096", &rsa);

    let mut clusters = side_by_side(
        5,
        &[
            ("3 nodes", Box::new(cluster(3))),
            ("100 nodes", Box::new(cluster(100))),
        ],
    );
    let (fresh, last_tree) = thousand_nodes_fresh(5);
    clusters.push(fresh);

    let stop = AtomicBool::new(false);
    let loaded = std::thread::scope(|s| {
        s.spawn(|| disk_load(&stop));
        let rows = side_by_side(
            31,
            &[(
                "production-tls, P-256, under disk load",
                Box::new(ours("ecdsa-p256")),
            )],
        );
        stop.store(true, Ordering::Relaxed);
        rows
    });
    print(
        "while another process writes and fsyncs 64 MiB at a time",
        &loaded,
    );

    // Last: the removals it measures slow every run after them (`fresh_dir`).
    clusters.push(thousand_nodes_after_removal(5, last_tree));
    print("cluster --tls (P-256), durable", &clusters);

    println!("targets (issue 26):");
    if let Some(peer) = p256.get(4) {
        println!(
            "  production-tls P-256, durable: {:.2}x rustls-cert-gen's median (target <= 2.00)",
            secs(durable) / secs(peer.median())
        );
        println!(
            "  production-tls P-256, --dry-run: {:.2}x rustls-cert-gen's median (target <= 1.20)",
            secs(dry) / secs(peer.median())
        );
    }
    println!(
        "  P-256: {:.1}x faster than the openssl steps (target >= 10)",
        secs(p256[0].median()) / secs(durable)
    );
    println!(
        "  RSA-4096: {:.1}x faster than the openssl steps (target >= 3)",
        secs(rsa[0].median()) / secs(rsa[1].median())
    );
    for row in &clusters[2..] {
        println!(
            "  {}: {:.2} s median, {:.1} MiB peak RSS (targets < 0.5 s, < 30 MiB)",
            row.name,
            secs(row.median()),
            row.peak_rss_mib()
        );
    }
    println!(
        "  under disk load: slowest {:.1}x the median (target <= 2.0); median {:.1}x the idle median",
        secs(loaded[0].slowest()) / secs(loaded[0].median()),
        secs(loaded[0].median()) / secs(durable)
    );
    let _ = std::fs::remove_dir_all(runs_root());
}
