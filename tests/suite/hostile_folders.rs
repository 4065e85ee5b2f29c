//! A folder is not trusted to hold what the tool wrote into it, nor a flag or a record to
//! hold printable text: a FIFO, a link to /dev/zero or a folder where the tool expects
//! its own file gets a named answer in bounded time and memory, never a hang; a value
//! with a terminal escape sequence is never printed raw.
//!
//! Every run here has a deadline and is killed when it passes it, so a regression fails
//! the test instead of hanging the suite.

use std::fs;
use std::io::Read;
use std::os::unix::fs::FileTypeExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::common::*;

/// How long any run here may take: they take well under a second when they do not hang.
const DEADLINE: Duration = Duration::from_secs(20);

/// Run the tool with `args`, killed at `DEADLINE` (the test then fails), with its address
/// space capped at `memory` bytes when given (reading /dev/zero then fails at once
/// rather than taking the machine's memory).
fn run_bounded(args: &[&str], memory: Option<u64>) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(bytes) = memory {
        // SAFETY: only setrlimit between fork and exec, which is async-signal-safe.
        unsafe {
            cmd.pre_exec(move || {
                let limit = libc::rlimit {
                    rlim_cur: bytes,
                    rlim_max: bytes,
                };
                if libc::setrlimit(libc::RLIMIT_AS, &limit) == 0 {
                    Ok(())
                } else {
                    Err(std::io::Error::last_os_error())
                }
            });
        }
    }
    let mut child = cmd.spawn().expect("the binary runs");
    // Drained on their own threads, so a full pipe never stops the child.
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            bytes
        })
    };
    let stdout = drain(Box::new(child.stdout.take().unwrap()));
    let stderr = drain(Box::new(child.stderr.take().unwrap()));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "kimera-redis-init {args:?} was still running after {} s: it hangs",
                DEADLINE.as_secs()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output {
        status,
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
    }
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn mkfifo(path: &Path) {
    let _ = fs::remove_file(path);
    assert!(Command::new("mkfifo").arg(path).status().unwrap().success());
}

fn is_fifo(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_fifo())
}

/// A production-tls folder with PKCS#12 stores; returns the generate arguments.
fn folder_with_stores(dir: &Path) -> Vec<String> {
    let mut args = prod_args(dir, free_port());
    args.push("--pkcs12".into());
    generate(&args.iter().map(String::as_str).collect::<Vec<_>>());
    args
}

/// `verify DIR` ends in time with exit 1 and a finding line that starts with `rel` and
/// says what is there.
fn verify_finds(dir: &Path, rel: &str, found: &str) {
    let out = run_bounded(&["verify", dir.to_str().unwrap()], None);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with(&format!("{rel}: ")) && l.contains(found)),
        "no finding on {rel} saying {found:?}:\n{stdout}{stderr}"
    );
    assert!(!stdout.contains("ok:"), "{stdout}");
}

/// `args` ends in time with exit 1, naming the full path of `rel` in `dir` on stderr.
fn refused_naming(args: &[&str], dir: &Path, rel: &str, found: &str) {
    let out = run_bounded(args, None);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{args:?}:\n{stdout}{stderr}");
    let path = dir.join(rel).display().to_string();
    assert!(
        stderr
            .lines()
            .any(|l| l.starts_with("error: ") && l.contains(&path) && l.contains(found)),
        "{args:?}: the error does not name {path} and {found:?}:\n{stderr}"
    );
}

#[test]
fn a_fifo_in_place_of_a_file_of_the_folder_is_named_by_every_command() {
    for rel in [
        "kimera-redis.toml",
        "certs/redis-client.crt",
        "certs/pkcs12-password",
    ] {
        let tmp = tempdir();
        let dir = tmp.path().join("prod");
        let args = folder_with_stores(&dir);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let fifo = dir.join(rel);
        mkfifo(&fifo);

        verify_finds(&dir, rel, "is a FIFO, not a regular file");
        refused_naming(&args, &dir, rel, "is a FIFO");
        refused_naming(&["renew", dir.to_str().unwrap()], &dir, rel, "is a FIFO");
        assert!(is_fifo(&fifo), "{rel}: a refusing run replaced it");
    }
    // The journal of a killed run, read by the next writing run before anything else.
    let tmp = tempdir();
    let dir = tmp.path().join("prod");
    let args = folder_with_stores(&dir);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let journal = ".kimera-redis-init.staging/journal.json";
    fs::create_dir(dir.join(".kimera-redis-init.staging")).unwrap();
    mkfifo(&dir.join(journal));
    refused_naming(&args, &dir, journal, "is a FIFO");
    refused_naming(
        &["renew", dir.to_str().unwrap()],
        &dir,
        journal,
        "is a FIFO",
    );

    // Without a .env the folder cannot be read at all: every command stops, naming it.
    let tmp = tempdir();
    let dir = tmp.path().join("prod");
    let args = folder_with_stores(&dir);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    mkfifo(&dir.join(".env"));
    let d = dir.to_str().unwrap();
    for cmd in [&["verify", d][..], &["renew", d], &["doctor", d], &args] {
        refused_naming(cmd, &dir, ".env", "is a FIFO");
    }
}

#[test]
fn a_record_linked_to_dev_zero_is_refused_in_bounded_memory() {
    let tmp = tempdir();
    let dir = tmp.path().join("prod");
    let args = folder_with_stores(&dir);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let record = dir.join("kimera-redis.toml");
    fs::remove_file(&record).unwrap();
    std::os::unix::fs::symlink("/dev/zero", &record).unwrap();

    // 2 GiB of address space: plenty for a run, far less than /dev/zero holds.
    let memory = Some(2 << 30);
    let out = run_bounded(&["verify", dir.to_str().unwrap()], memory);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("kimera-redis.toml: is a character device, not a regular file")),
        "{stdout}{stderr}"
    );
    let out = run_bounded(&args, memory);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(stderr.contains(&record.display().to_string()), "{stderr}");
}

#[test]
fn a_folder_a_link_or_a_fifo_at_the_lock_path_is_refused_with_the_fix() {
    let lock = ".kimera-redis-init.lock";
    for kind in ["folder", "symbolic link", "FIFO"] {
        let tmp = tempdir();
        let dir = tmp.path().join("prod");
        fs::create_dir(&dir).unwrap();
        let path = dir.join(lock);
        // The link leads to a file that must not be created through it.
        let target = tmp.path().join("elsewhere");
        match kind {
            "folder" => fs::create_dir(&path).unwrap(),
            "FIFO" => mkfifo(&path),
            _ => std::os::unix::fs::symlink(&target, &path).unwrap(),
        }
        let args = prod_args(&dir, free_port());
        let out = run_bounded(&args.iter().map(String::as_str).collect::<Vec<_>>(), None);
        let (stdout, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(1), "{kind}: {stdout}{stderr}");
        let shown = path.display().to_string();
        assert!(
            stderr.contains(&format!("error: {shown}: is a {kind}"))
                && stderr.contains(&format!("rm -r {shown}")),
            "{kind}: {stderr}"
        );
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(!target.exists(), "the lock was created through the link");
        assert!(!dir.join(".env").exists(), "a refused run wrote files");
    }

    // verify says so too: every writing run would be refused.
    let tmp = tempdir();
    let dir = tmp.path().join("prod");
    generate_prod(&dir, &[]);
    fs::create_dir(dir.join(lock)).unwrap();
    verify_finds(&dir, lock, "is a folder");
}

/// Neither stream holds an ESC byte (what terminal sequences start with).
fn no_escape(what: &str, out: &Output) {
    let (stdout, stderr) = text(out);
    for (name, bytes) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
        assert!(
            !bytes.contains(&0x1b),
            "{what}: raw escape on {name}:\n{stdout}{stderr}"
        );
    }
}

#[test]
fn hosts_with_terminal_escapes_are_never_printed_raw() {
    let tmp = tempdir();
    let dir = tmp.path().join("prod");
    let d = dir.to_str().unwrap();
    for host in ["x\u{1b}[2J.1", "x\u{1b}[2J", "a\u{1b}]0;title\u{7}.example"] {
        for flag in ["--host", "--san"] {
            let mut args = vec!["--profile", "production-tls", "--out", d];
            if flag == "--san" {
                args.extend(["--host", "localhost"]);
            }
            args.extend([flag, host]);
            let out = run_bounded(&args, None);
            assert_eq!(out.status.code(), Some(2), "{flag} {host:?}");
            assert!(text(&out).1.contains(flag), "{}", text(&out).1);
            no_escape(&format!("{flag} {host:?}"), &out);
        }
        let out = run_bounded(&["--profile", "cluster", "--out", d, "--nodes", host], None);
        no_escape(&format!("--nodes {host:?}"), &out);
    }

    // The record's host, edited by hand, is taken by a re-run and read by verify.
    generate_prod(&dir, &[]);
    let record = dir.join("kimera-redis.toml");
    let text_before = fs::read_to_string(&record).unwrap();
    let edited = text_before.replace("\"localhost\"", "\"x\\u001b[2J.1\"");
    assert_ne!(
        edited, text_before,
        "the record names the host: {text_before}"
    );
    fs::write(&record, edited).unwrap();
    let rerun = run_bounded(&["--out", d], None);
    assert_ne!(rerun.status.code(), Some(0));
    no_escape("a re-run with the edited record", &rerun);
    no_escape(
        "verify with the edited record",
        &run_bounded(&["verify", d], None),
    );

    // A host in .env, which doctor dials and quotes.
    fs::write(&record, text_before).unwrap();
    let env = fs::read_to_string(dir.join(".env")).unwrap();
    let edited = env.replace("REDIS_HOST=localhost", "REDIS_HOST=x\u{1b}[2J");
    assert_ne!(edited, env, "{env}");
    fs::write(dir.join(".env"), edited).unwrap();
    for args in [&["doctor", d, "--timeout", "2"][..], &["verify", d]] {
        let out = run_bounded(args, None);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", text(&out).1);
        no_escape(&format!("{args:?} with the host in .env"), &out);
    }
}

#[test]
fn san_names_are_capped_in_number_and_size() {
    let tmp = tempdir();
    let dir = tmp.path().join("prod");
    let base = prod_args(&dir, free_port());
    let with = |sans: &[String]| {
        let mut args = base.clone();
        for s in sans {
            args.extend(["--san".to_owned(), s.clone()]);
        }
        run_bounded(&args.iter().map(String::as_str).collect::<Vec<_>>(), None)
    };
    let many: Vec<String> = (0..101).map(|i| format!("h{i}.example")).collect();
    let out = with(&many);
    let stderr = text(&out).1;
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.starts_with("error: --san: 101 name(s)") && stderr.contains("at most 100 names"),
        "{stderr}"
    );
    // 40 names of 250 characters: each is a valid name, together 10,000 bytes.
    let label = "a".repeat(61);
    let long: Vec<String> = (0..40)
        .map(|i| format!("{label}.{label}.{label}.{label}.x{i:02}"))
        .collect();
    assert!(long.iter().all(|n| n.len() <= 253));
    let out = with(&long);
    let stderr = text(&out).1;
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("KiB in all"), "{stderr}");
    assert!(!dir.exists(), "a refused run wrote files");
    // 100 names are taken.
    let out = with(&many[..100]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out).1);
}
