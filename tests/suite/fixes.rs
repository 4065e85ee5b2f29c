//! Every fix verify prints works: for each class of finding, a fresh folder is broken,
//! the printed advice is followed literally (the edit it names, or the command it gives,
//! pasted into sh), and verify then passes.

use std::fs;
use std::path::Path;

use crate::common::*;

/// Lines of `verify DIR` output: `(subject, problem, fix)` for every finding.
fn findings(dir: &Path) -> (Option<i32>, String, Vec<String>) {
    let out = run(&["verify", dir.to_str().unwrap(), "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("verify --json");
    let fixes = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["fix"].as_str().unwrap().to_owned())
        .collect();
    (out.status.code(), json.to_string(), fixes)
}

/// The text between the first pair of backticks after `after`.
fn quoted<'a>(fix: &'a str, after: &str) -> &'a str {
    let rest = &fix[fix
        .find(after)
        .unwrap_or_else(|| panic!("{after:?} in {fix}"))
        + after.len()..];
    let start = rest.find('`').unwrap() + 1;
    let end = start + rest[start..].find('`').unwrap();
    &rest[start..end]
}

fn edit(dir: &Path, file: &str, f: impl FnOnce(Vec<String>) -> Vec<String>) {
    let path = dir.join(file);
    let lines = fs::read_to_string(&path)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    fs::write(&path, f(lines).join("\n") + "\n").unwrap();
}

fn set_env(dir: &Path, key: &str, value: &str) {
    let line = format!("{key}={value}");
    edit(dir, ".env", |lines| {
        let mut found = false;
        let mut out: Vec<String> = lines
            .into_iter()
            .map(|l| {
                if l.starts_with(&format!("{key}=")) {
                    found = true;
                    line.clone()
                } else {
                    l
                }
            })
            .collect();
        if !found {
            out.push(line.clone());
        }
        out
    });
}

/// Follow one printed fix, literally.
fn apply(dir: &Path, fix: &str) {
    if let Some(rest) = fix.strip_prefix("set ")
        && let Some((kv, _)) = rest.split_once(" in .env")
        && let Some((k, v)) = kv.split_once('=')
    {
        return set_env(dir, k, v);
    }
    if fix.starts_with("in users.acl, replace user ") {
        let name = fix.split(' ').nth(4).unwrap().trim_end_matches("'s");
        let line = quoted(fix, "line with").to_owned();
        return edit(dir, "users.acl", |lines| {
            lines
                .into_iter()
                .map(|l| {
                    if l.split(' ').nth(1) == Some(name) {
                        line.clone()
                    } else {
                        l
                    }
                })
                .collect()
        });
    }
    if let Some(rest) = fix.strip_prefix("in ")
        && let Some((file, _)) = rest.split_once(", write `")
    {
        // redis.conf: the last occurrence of a directive wins, so writing it at the end works.
        let line = quoted(fix, "write").to_owned();
        return edit(dir, file, |mut lines| {
            lines.push(line);
            lines
        });
    }
    if let Some(rest) = fix.strip_prefix("delete user ")
        && let Some((name, _)) = rest.split_once("'s line from users.acl")
    {
        return edit(dir, "users.acl", |lines| {
            lines
                .into_iter()
                .filter(|l| l.split(' ').nth(1) != Some(name))
                .collect()
        });
    }
    if fix.starts_with("keep only the first `user ") {
        let name = quoted(fix, "keep only the first")
            .trim_start_matches("user ")
            .to_owned();
        return edit(dir, "users.acl", |lines| {
            let mut seen = false;
            lines
                .into_iter()
                .filter(|l| {
                    if l.split(' ').nth(1) != Some(name.as_str()) {
                        return true;
                    }
                    !std::mem::replace(&mut seen, true)
                })
                .collect()
        });
    }
    if fix.starts_with("delete the lines of users.acl that do not start with `user `") {
        return edit(dir, "users.acl", |l| {
            l.into_iter().filter(|l| l.starts_with("user ")).collect()
        });
    }
    if fix.starts_with("add the line `") {
        let line = quoted(fix, "add the line").to_owned();
        return edit(dir, "users.acl", |mut lines| {
            lines.insert(0, line);
            lines
        });
    }
    if fix.starts_with("chmod ") {
        return paste_ok(fix);
    }
    if fix.starts_with("copy the value of redis.password in redis.properties") {
        let props = fs::read_to_string(dir.join("redis.properties")).unwrap();
        let pw = props
            .lines()
            .find_map(|l| l.strip_prefix("redis.password="))
            .unwrap()
            .to_owned();
        return set_env(dir, "REDIS_PASSWORD", &pw);
    }
    if fix.contains(
        "delete the REDIS_PASSWORD= line of .env and the redis.password= line of redis.properties",
    ) {
        edit(dir, ".env", |l| {
            l.into_iter()
                .filter(|l| !l.starts_with("REDIS_PASSWORD="))
                .collect()
        });
        edit(dir, "redis.properties", |l| {
            l.into_iter()
                .filter(|l| !l.starts_with("redis.password="))
                .collect()
        });
        return paste_ok(quoted(fix, "then run"));
    }
    if fix.contains("run `") {
        // "restore ... from a backup; without one, ... run `CMD`": there is no backup here.
        return paste_ok(quoted(fix, "run"));
    }
    panic!("no way to follow the printed fix: {fix}");
}

/// Break a fresh production-tls folder with `tamper`, then follow every printed fix
/// (a few rounds: one fix can reveal the next finding) until verify passes.
fn fixes_work(tamper: impl FnOnce(&Path)) {
    fixes_work_in(
        |d| {
            generate_prod(d, &[]);
        },
        tamper,
    )
}

/// The same for a folder made by `make`.
fn fixes_work_in(make: impl FnOnce(&Path), tamper: impl FnOnce(&Path)) {
    let tmp = tempdir();
    let dir = tmp.path().join("p");
    make(&dir);
    tamper(&dir);
    let (code, out, _) = findings(&dir);
    assert_eq!(code, Some(1), "the tamper was not found: {out}");
    for _ in 0..4 {
        let (code, out, fixes) = findings(&dir);
        if code == Some(0) {
            return;
        }
        assert!(!fixes.is_empty(), "{out}");
        let mut seen = Vec::new();
        for fix in fixes {
            if !seen.contains(&fix) {
                apply(&dir, &fix);
                seen.push(fix);
            }
        }
    }
    let (_, out, _) = findings(&dir);
    panic!("verify still fails after following its fixes: {out}");
}

#[test]
fn a_lost_ca_certificate_is_fixed_by_the_printed_command() {
    fixes_work(|d| fs::remove_file(d.join("certs/ca.crt")).unwrap());
}

#[test]
fn a_wrong_env_password_is_fixed_from_redis_properties() {
    fixes_work(|d| set_env(d, "REDIS_PASSWORD", "wrong"));
}

#[test]
fn a_lost_password_is_fixed_by_a_new_one_everywhere() {
    fixes_work(|d| {
        set_env(d, "REDIS_PASSWORD", "wrong");
        edit(d, "redis.properties", |l| {
            l.into_iter()
                .map(|l| {
                    if l.starts_with("redis.password=") {
                        "redis.password=wrong".into()
                    } else {
                        l
                    }
                })
                .collect()
        });
    });
}

#[test]
fn env_values_are_fixed_as_printed() {
    fixes_work(|d| set_env(d, "REDIS_CERT_REQS", "requred"));
    fixes_work(|d| set_env(d, "REDIS_PORT", "abc"));
    fixes_work(|d| {
        edit(d, ".env", |l| {
            l.into_iter()
                .filter(|l| !l.starts_with("REDIS_PORT="))
                .collect()
        })
    });
    fixes_work(|d| set_env(d, "REDIS_SOCKET_CONNECT_TIMEOUT", "1e300"));
    fixes_work(|d| {
        let key = d.join("certs/redis-server.key");
        set_env(d, "REDIS_SSL_KEYFILE", key.to_str().unwrap())
    });
}

#[test]
fn server_directives_are_fixed_as_printed() {
    for (from, to) in [
        ("protected-mode", "protected-mode no"),
        ("tls-auth-clients", "tls-auth-clients no"),
        ("bind ", "bind * -::*"),
        ("enable-debug-command", "enable-debug-command yes"),
        ("port 0", "port 6379"),
        ("tls-protocols", "tls-protocols TLSv1"),
    ] {
        fixes_work(|d| {
            edit(d, "redis.conf", |l| {
                l.into_iter()
                    .map(|l| {
                        if l.starts_with(from) {
                            to.to_owned()
                        } else {
                            l
                        }
                    })
                    .collect()
            })
        });
    }
    fixes_work(|d| {
        let client = d.join("certs/redis-client.crt");
        edit(d, "redis.conf", |l| {
            l.into_iter()
                .map(|l| {
                    if l.starts_with("tls-cert-file") {
                        format!("tls-cert-file {}", client.display())
                    } else {
                        l
                    }
                })
                .collect()
        })
    });
}

#[test]
fn users_are_fixed_as_printed() {
    fixes_work(|d| {
        edit(d, "users.acl", |mut l| {
            l.insert(0, "user default on nopass ~* +@all".into());
            l
        })
    });
    fixes_work(|d| {
        edit(d, "users.acl", |mut l| {
            l.push("user backdoor on nopass ~* &* +@all".into());
            l
        })
    });
    fixes_work(|d| {
        edit(d, "users.acl", |l| {
            l.into_iter()
                .filter(|l| !l.starts_with("user default"))
                .collect()
        })
    });
    fixes_work(|d| {
        edit(d, "users.acl", |l| {
            l.into_iter()
                .map(|l| l.replace(" -@dangerous", ""))
                .collect()
        })
    });
}

#[test]
fn modes_are_fixed_as_printed() {
    use std::os::unix::fs::PermissionsExt;
    fixes_work(|d| fs::set_permissions(d.join(".env"), fs::Permissions::from_mode(0o644)).unwrap());
}

#[test]
fn a_fixed_folder_also_runs() {
    // The folder repaired by following the printed fixes works for real: redis-server
    // starts from it and the app's client connects with .env alone.
    if !have("redis-server") {
        return;
    }
    let tmp = tempdir();
    let dir = tmp.path().join("p");
    let port = generate_prod(&dir, &[]);
    fs::remove_file(dir.join("certs/ca.crt")).unwrap();
    let (_, _, fixes) = findings(&dir);
    for fix in &fixes {
        apply(&dir, fix);
    }
    let (code, out, _) = findings(&dir);
    assert_eq!(code, Some(0), "{out}");
    let _server = Server::start(&dir.join("redis.conf"), port);
    install_crypto_provider();
    assert_eq!(ping(&app_client(&read_env(&dir))).unwrap(), "PONG");
}

#[test]
fn several_findings_at_once_are_fixed_together() {
    fixes_work(|d| {
        fs::remove_file(d.join("certs/ca.crt")).unwrap();
        set_env(d, "REDIS_PORT", "abc");
        edit(d, "users.acl", |mut l| {
            l.push("user backdoor on nopass ~* &* +@all".into());
            l
        });
    });
}

#[test]
fn a_cluster_with_a_lost_ca_is_fixed_by_the_printed_command() {
    let ports = free_cluster_ports(3);
    let nodes: Vec<String> = ports.iter().map(|p| format!("127.0.0.1:{p}")).collect();
    let nodes = nodes.join(",");
    fixes_work_in(
        |d| {
            generate(&[
                "--profile",
                "cluster",
                "--tls",
                "--nodes",
                &nodes,
                "--out",
                d.to_str().unwrap(),
            ]);
        },
        |d| fs::remove_file(d.join("certs/ca.crt")).unwrap(),
    );
}

#[test]
fn certificate_findings_are_fixed_as_printed() {
    // A key that is not its certificate's: renew (new keys) as printed.
    fixes_work(|d| {
        fs::copy(
            d.join("certs/redis-server.key"),
            d.join("certs/redis-client.key"),
        )
        .unwrap();
    });
    // An expired server certificate (the fixtures' own) in place of the folder's.
    let port = free_port().to_string();
    fixes_work_in(
        |d| {
            generate(&[
                "fixtures",
                "--host",
                "localhost",
                "--port",
                &port,
                "--out",
                d.to_str().unwrap(),
            ]);
        },
        |d| {
            for ext in ["crt", "key"] {
                fs::copy(
                    d.join(format!("fixtures/expired-server.{ext}")),
                    d.join(format!("certs/redis-server.{ext}")),
                )
                .unwrap();
            }
        },
    );
    // The app dials a host the server certificate does not name.
    fixes_work(|d| set_env(d, "REDIS_HOST", "redis.example.com"));
}

#[test]
fn missing_files_are_fixed_as_printed() {
    fixes_work(|d| fs::remove_dir_all(d.join("data")).unwrap());
    fixes_work(|d| fs::remove_file(d.join("users.acl")).unwrap());
    fixes_work(|d| fs::remove_file(d.join("certs/redis-client.crt")).unwrap());
}

#[test]
fn a_removed_aclfile_line_is_fixed_as_printed() {
    fixes_work(|d| {
        edit(d, "redis.conf", |l| {
            l.into_iter()
                .filter(|l| !l.starts_with("aclfile"))
                .collect()
        })
    });
}
