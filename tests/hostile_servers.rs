//! Every conversation with a server is bounded: a fake server (a thread of this test)
//! that trickles bytes, never answers, or sends endless huge array headers, and a real
//! redis-server stopped with SIGSTOP, each end doctor or renew within `--timeout` plus a
//! small margin, with exit 1, the cause named ("no answer from HOST:PORT within N s",
//! never a TLS problem) and memory bounded.

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use common::*;

/// What the fake server does with each connection.
#[derive(Clone, Copy)]
enum Behaviour {
    /// One byte a second, forever.
    Trickle(&'static [u8]),
    /// Reads and never writes.
    Silent,
    /// `*67108864\r\n` as fast as the client reads it.
    HugeHeaders,
}

/// A TCP server on `port` that misbehaves; stopped (its thread joined) when dropped.
struct Fake {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Fake {
    fn start(port: u16, behaviour: Behaviour) -> Fake {
        let listener = TcpListener::bind(("127.0.0.1", port)).expect("the port is free");
        listener.set_nonblocking(true).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut open = Vec::new();
            while !s.load(Ordering::SeqCst) {
                if let Ok((sock, _)) = listener.accept() {
                    sock.set_nonblocking(false).unwrap();
                    let s = s.clone();
                    open.push(std::thread::spawn(move || serve(sock, behaviour, &s)));
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            for t in open {
                let _ = t.join();
            }
        });
        Fake {
            stop,
            thread: Some(thread),
        }
    }
}

fn serve(mut sock: std::net::TcpStream, behaviour: Behaviour, stop: &AtomicBool) {
    sock.set_read_timeout(Some(Duration::from_millis(50)))
        .unwrap();
    let mut buf = [0u8; 4096];
    let mut sent = 0usize;
    let mut last = Instant::now() - Duration::from_secs(2);
    while !stop.load(Ordering::SeqCst) {
        let _ = sock.read(&mut buf);
        let wrote = match behaviour {
            Behaviour::Silent => Ok(()),
            Behaviour::Trickle(bytes) if last.elapsed() >= Duration::from_secs(1) => {
                last = Instant::now();
                sent += 1;
                sock.write_all(&[bytes[(sent - 1) % bytes.len()]])
            }
            Behaviour::Trickle(_) => Ok(()),
            Behaviour::HugeHeaders => sock.write_all(&b"*67108864\r\n".repeat(1000)),
        };
        if wrote.is_err() {
            return;
        }
    }
}

impl Drop for Fake {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A plain-text folder (high-performance: AUTH as kimera_user, no TLS) on `port`.
fn plain_folder(tmp: &Path, port: u16) -> PathBuf {
    let dir = tmp.join("plain");
    generate(&[
        "--profile",
        "high-performance",
        "--host",
        "localhost",
        "--port",
        &port.to_string(),
        "--out",
        dir.to_str().unwrap(),
    ]);
    dir
}

fn tls_folder(tmp: &Path, port: u16) -> PathBuf {
    let dir = tmp.join("tls");
    let args = prod_args(&dir, port);
    generate(&args.iter().map(String::as_str).collect::<Vec<_>>());
    dir
}

/// Run the tool; its exit code, its output, and how long it took. A run that is still
/// going after 30 s is killed by its PID, so a hang fails the test instead of holding it.
fn timed(args: &[&str]) -> (Option<i32>, String, Duration) {
    let started = Instant::now();
    let mut child = std::process::Command::new(BIN)
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the binary runs");
    while child.try_wait().expect("wait").is_none() {
        if started.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().expect("output");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), text, started.elapsed())
}

/// `args` ends within `timeout` s plus a margin, exit 1, naming the expiry and no TLS
/// cause.
fn ends_with_no_answer(args: &[&str], port: u16, timeout: u64) {
    let (code, text, took) = timed(args);
    assert_eq!(code, Some(1), "{args:?}:\n{text}");
    // The margin: a plain-text probe after a TLS hello nobody answered (1 s), process
    // start and slow CI.
    assert!(
        took < Duration::from_secs(timeout + 3),
        "{args:?} took {took:?}:\n{text}"
    );
    assert!(
        text.contains(&format!(
            "no answer from localhost:{port} within {timeout} s"
        )),
        "{args:?}:\n{text}"
    );
    for tls_words in ["TLS handshake", "REDIS_SSL=true", "Resource temporarily"] {
        assert!(!text.contains(tls_words), "{args:?}:\n{text}");
    }
}

#[test]
fn a_trickling_server_cannot_hold_doctor_or_renew_past_the_deadline() {
    let tmp = tempdir();
    let port = free_low_port();
    let plain = plain_folder(tmp.path(), port);
    let tls = tls_folder(tmp.path(), port);
    // A reply that never ends: "+PONG" without its CRLF, one byte a second, and over
    // TLS a record header whose body comes a byte a second.
    let _fake = Fake::start(port, Behaviour::Trickle(b"+PONGPONGPONG"));
    ends_with_no_answer(
        &["doctor", plain.to_str().unwrap(), "--timeout", "2"],
        port,
        2,
    );
    drop(_fake);
    let _fake = Fake::start(
        port,
        Behaviour::Trickle(b"\x16\x03\x03\x40\x00aaaaaaaaaaaa"),
    );
    let t = tls.to_str().unwrap();
    ends_with_no_answer(&["doctor", t, "--timeout", "2"], port, 2);
    ends_with_no_answer(&["renew", t, "--reload-only", "--timeout", "2"], port, 2);
    let before = snapshot(&tls);
    ends_with_no_answer(&["renew", t, "--apply", "--timeout", "2"], port, 2);
    assert_eq!(
        snapshot(&tls),
        before,
        "renew --apply wrote before the check"
    );
}

#[test]
fn a_server_that_never_answers_is_no_answer_not_a_tls_problem() {
    let tmp = tempdir();
    let port = free_low_port();
    let plain = plain_folder(tmp.path(), port);
    let tls = tls_folder(tmp.path(), port);
    let _fake = Fake::start(port, Behaviour::Silent);
    ends_with_no_answer(
        &["doctor", plain.to_str().unwrap(), "--timeout", "1"],
        port,
        1,
    );
    ends_with_no_answer(
        &["doctor", tls.to_str().unwrap(), "--timeout", "2"],
        port,
        2,
    );
    let t = tls.to_str().unwrap();
    ends_with_no_answer(&["renew", t, "--apply", "--timeout", "1"], port, 1);
}

#[test]
fn endless_huge_array_headers_are_refused_at_once_with_memory_bounded() {
    let tmp = tempdir();
    let port = free_low_port();
    let plain = plain_folder(tmp.path(), port);
    let _fake = Fake::start(port, Behaviour::HugeHeaders);
    let (code, text, took) = timed(&["doctor", plain.to_str().unwrap(), "--timeout", "5"]);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("a reply larger than 1024 KiB"), "{text}");
    assert!(took < Duration::from_secs(4), "took {took:?}:\n{text}");
    // The largest child this test process waited for: the tool, a few MB, not the
    // gigabytes an allocation per header would reach.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage writes one rusage into the struct it is given.
    assert_eq!(
        unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) },
        0
    );
    assert!(
        usage.ru_maxrss < 200 * 1024,
        "max RSS {} KiB",
        usage.ru_maxrss
    );
}

#[test]
fn a_stopped_plain_server_is_no_answer_not_a_tls_problem() {
    if !have("redis-server") {
        return;
    }
    let tmp = tempdir();
    let port = free_low_port();
    let plain = plain_folder(tmp.path(), port);
    let server = Server::start(&plain.join("redis.conf"), port);
    // SAFETY: a signal to the child this test started, by its PID.
    assert_eq!(unsafe { libc::kill(server.pid() as i32, libc::SIGSTOP) }, 0);
    ends_with_no_answer(
        &["doctor", plain.to_str().unwrap(), "--timeout", "2"],
        port,
        2,
    );
    // SAFETY: as above; a stopped server must run again to be killed cleanly.
    assert_eq!(unsafe { libc::kill(server.pid() as i32, libc::SIGCONT) }, 0);
    let (code, text, _) = timed(&["doctor", plain.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{text}");
}
