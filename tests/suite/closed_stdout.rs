//! A reader that stops early (`generate --json | head`, `verify DIR | grep -m1 FAIL`)
//! closes the pipe: the command must neither panic nor change what it does or the exit
//! status that reports it.

use std::fs;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use crate::common::*;

/// `args`, with standard output a pipe whose reading end is closed before the command
/// writes to it.
fn with_closed_stdout(args: &[&str]) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    drop(child.stdout.take());
    child.wait_with_output().expect("the binary ends")
}

fn no_panic(what: &str, out: &Output) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("panicked") && out.status.code() != Some(101),
        "{what} panicked on a closed stdout:\n{stderr}"
    );
}

#[test]
fn generate_writes_everything_and_exits_0_when_its_reader_is_gone() {
    let tmp = tempdir();
    let dir = tmp.path().join("p");
    let d = dir.to_str().unwrap();
    let out = with_closed_stdout(&["--profile", "production-tls", "--out", d, "--json"]);
    no_panic("generate --json", &out);
    assert_eq!(out.status.code(), Some(0));
    // The same folder a run with an open stdout makes: verify passes on it.
    let verify = run(&["verify", d]);
    assert!(verify.status.success(), "{verify:?}");
    assert!(Path::new(d).join("certs/redis-client.key").is_file());
}

#[test]
fn verify_and_inspect_keep_their_verdict_when_their_reader_is_gone() {
    let tmp = tempdir();
    let dir = tmp.path().join("p");
    let d = dir.to_str().unwrap();
    assert!(
        generate(&["--profile", "production-tls", "--out", d])
            .status
            .success()
    );
    let ok = with_closed_stdout(&["verify", d]);
    no_panic("verify", &ok);
    assert_eq!(ok.status.code(), Some(0), "a good folder");
    let inspect = with_closed_stdout(&["inspect", d]);
    no_panic("inspect", &inspect);
    assert_eq!(inspect.status.code(), Some(0));
    // A backdoor user: verify's finding is still exit 1 with nobody reading.
    let acl = dir.join("users.acl");
    let text = fs::read_to_string(&acl).unwrap();
    fs::write(&acl, format!("{text}user backdoor on nopass ~* &* +@all\n")).unwrap();
    let bad = with_closed_stdout(&["verify", d]);
    no_panic("verify", &bad);
    assert_eq!(bad.status.code(), Some(1), "the finding's exit status");
}
