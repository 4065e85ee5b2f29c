//! The next steps a run prints are shell-quoted: pasted into sh they work for a folder
//! with a space in its name, and a folder name holding `$(...)` is never run.

use std::fs;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::*;

#[test]
fn the_printed_start_command_pastes_for_a_folder_with_a_space_and_a_dollar() {
    if !have("redis-server") {
        return;
    }
    let tmp = tempdir();
    let port = free_port().to_string();
    let out = Command::new(BIN)
        .args([
            "--profile",
            "production-tls",
            "--host",
            "localhost",
            "--port",
            &port,
        ])
        .args(["--out", "./with space $(touch pwned)"])
        .current_dir(tmp.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("Start the server:"))
        .unwrap_or_else(|| panic!("no start line in {text}"))
        .trim()
        .to_owned();
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    // Pasted as printed (exec, so the PID is the server's and it is stopped by it).
    let mut child = Kill(
        Command::new("sh")
            .arg("-c")
            .arg(format!("exec {line}"))
            .current_dir(tmp.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = child.0.try_wait().unwrap() {
            panic!("the pasted `{line}` exited with {status}");
        }
        if std::net::TcpStream::connect(("127.0.0.1", port.parse::<u16>().unwrap())).is_ok() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the pasted `{line}` did not start a server"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        !tmp.path().join("pwned").exists(),
        "the folder name was run as a command"
    );
    let dir = fs::read_dir(tmp.path())
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    install_crypto_provider();
    assert_eq!(ping(&app_client(&read_env(&dir))).unwrap(), "PONG");
}
