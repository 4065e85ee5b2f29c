//! Check before write: `renew --apply` dials every server, authenticates as the admin
//! and asks Redis (ACL DRYRUN) whether the reload's CONFIG SET would run before it
//! writes a file. A wrong admin password, a renamed CONFIG or an admin without the
//! permission each exit 1 naming that cause, with the folder byte for byte as it was and
//! the server still serving its certificate.

use std::fs;
use std::path::Path;

use crate::common::*;

fn apply(dir: &Path) -> (Option<i32>, String) {
    let out = run(&["renew", dir.to_str().unwrap(), "--apply", "--timeout", "5"]);
    (
        out.status.code(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// The folder's files with their bytes (server logs aside: the server writes them).
fn files(dir: &Path) -> Vec<(String, u32, Vec<u8>)> {
    snapshot(dir)
        .into_iter()
        .filter(|(path, _)| !path.ends_with(".log"))
        .map(|(path, (mode, bytes))| (path, mode, bytes))
        .collect()
}

/// The serial of the certificate the server serves now, through redis-cli's view of
/// the folder's own server: INFO answers only on a working TLS session.
fn serves(dir: &Path, port: u16) -> String {
    admin_cli(dir, "localhost", port, &["CONFIG", "GET", "tls-cert-file"])
}

#[test]
fn a_wrong_admin_password_is_named_and_nothing_is_written() {
    if !have("redis-server") {
        return;
    }
    let tmp = tempdir();
    let dir = tmp.path().join("p");
    let port = free_low_port();
    let args = prod_args(&dir, port);
    generate(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let _server = Server::start(&dir.join("redis.conf"), port);
    let admin = fs::read_to_string(dir.join("admin.env")).unwrap();
    let (_, password) = read_admin(&dir);
    fs::write(
        dir.join("admin.env"),
        admin.replace(&password, "not-the-password"),
    )
    .unwrap();
    let before = files(&dir);
    let (code, text) = apply(&dir);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("AUTH refused for kimera_admin"), "{text}");
    assert!(text.contains("admin.env"), "{text}");
    assert!(!text.contains("not reachable"), "{text}");
    assert!(text.contains("nothing was written"), "{text}");
    assert_eq!(files(&dir), before, "a refused --apply changed the folder");
}

#[test]
fn a_renamed_config_or_a_missing_permission_is_named_and_nothing_is_written() {
    if !have("redis-server") {
        return;
    }
    let tmp = tempdir();
    let dir = tmp.path().join("p");
    let port = free_low_port();
    let args = prod_args(&dir, port);
    generate(&args.iter().map(String::as_str).collect::<Vec<_>>());

    // The admin may do everything but CONFIG SET.
    {
        let _server = Server::start(&dir.join("redis.conf"), port);
        let (user, _) = read_admin(&dir);
        admin_cli(
            &dir,
            "localhost",
            port,
            &["ACL", "SETUSER", &user, "-config|set"],
        );
        let before = files(&dir);
        let served = serves(&dir, port);
        let (code, text) = apply(&dir);
        assert_eq!(code, Some(1), "{text}");
        assert!(
            text.contains("the admin may not run the reload's CONFIG SET"),
            "{text}"
        );
        assert!(text.contains("config|set"), "{text}");
        assert_eq!(files(&dir), before);
        assert_eq!(serves(&dir, port), served);
    }

    // CONFIG renamed away, as an edited redis.conf would.
    {
        let _server = Server::start_with(
            &dir.join("redis.conf"),
            port,
            &["--rename-command", "CONFIG", ""],
        );
        let before = files(&dir);
        let (code, text) = apply(&dir);
        assert_eq!(code, Some(1), "{text}");
        assert!(text.contains("CONFIG is renamed or disabled"), "{text}");
        assert!(!text.contains("refused the files on disk"), "{text}");
        assert_eq!(files(&dir), before);
    }

    // And with the server as generated, the same folder renews and reloads.
    let _server = Server::start(&dir.join("redis.conf"), port);
    let (code, text) = apply(&dir);
    assert_eq!(code, Some(0), "{text}");
}
