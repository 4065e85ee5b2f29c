//! Shell completions and the man page, used for real: the bash script is sourced into a
//! real bash and asked, through the function `complete` registered, what it offers after
//! each subcommand; the man page is rendered by man/groff and must show every option of
//! every subcommand.

use std::process::Command;

use crate::common::*;

/// What bash completes for `line` (the last word is the one being completed).
fn complete(script: &std::path::Path, line: &str) -> Vec<String> {
    let mut words: Vec<&str> = line.split(' ').collect();
    if words.len() < 2 {
        words.push("");
    }
    let cword = words.len() - 1;
    let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let program = format!(
        r#"source '{script}'
spec=$(complete -p kimera-redis-init) || exit 3
fn=$(printf '%s\n' "$spec" | sed -n 's/.*-F \([^ ]*\) .*/\1/p')
COMP_WORDS=({words})
COMP_CWORD={cword}
COMP_LINE='{line}'
COMP_POINT=${{#COMP_LINE}}
"$fn" kimera-redis-init '{cur}' '{prev}'
printf '%s\n' "${{COMPREPLY[@]}}""#,
        script = script.display(),
        words = quoted.join(" "),
        cur = words[cword],
        prev = words[cword - 1],
    );
    let out = Command::new("bash")
        .arg("-c")
        .arg(&program)
        .output()
        .expect("bash runs");
    assert!(
        out.status.success(),
        "bash: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .filter(|l| !l.is_empty())
        .collect()
}

#[test]
fn bash_completes_every_subcommand_and_its_options() {
    if !have("bash") {
        return;
    }
    let tmp = tempdir();
    let script = tmp.path().join("kimera-redis-init.bash");
    let out = generate(&["completions", "bash"]);
    std::fs::write(&script, &out.stdout).unwrap();

    let top = complete(&script, "kimera-redis-init ");
    for sub in [
        "generate",
        "verify",
        "renew",
        "rotate-password",
        "doctor",
        "inspect",
        "profiles",
        "fixtures",
        "man",
        "completions",
    ] {
        assert!(top.contains(&sub.to_owned()), "{sub} not in {top:?}");
    }
    assert_eq!(complete(&script, "kimera-redis-init ver"), ["verify"]);
    assert_eq!(
        complete(&script, "kimera-redis-init verify --w"),
        ["--warn-days"]
    );
    assert_eq!(
        complete(&script, "kimera-redis-init doctor --j"),
        ["--json"]
    );
    let mut profiles: Vec<String> = complete(&script, "kimera-redis-init profiles show ")
        .into_iter()
        .filter(|w| !w.starts_with('-'))
        .collect();
    profiles.sort();
    assert_eq!(
        profiles,
        ["cluster", "high-performance", "local-dev", "production-tls"]
    );
    assert_eq!(
        complete(&script, "kimera-redis-init --profile prod"),
        ["production-tls"]
    );

    // Every option of every subcommand, as the CLI defines it, is offered after `--`.
    let cmd = kimera_redis_init::testing::cli_command();
    for sub in cmd.get_subcommands() {
        let offered = complete(&script, &format!("kimera-redis-init {} --", sub.get_name()));
        for arg in sub.get_arguments() {
            if let Some(long) = arg.get_long() {
                assert!(
                    offered.contains(&format!("--{long}")),
                    "{} --{long} not offered: {offered:?}",
                    sub.get_name()
                );
            }
        }
    }
}

#[test]
fn the_man_page_covers_every_subcommand_option_and_names_no_missing_page() {
    let out = generate(&["man"]);
    let roff = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(!roff.contains("(1)"), "the page points at other pages");
    let cmd = kimera_redis_init::testing::cli_command();
    for sub in cmd.get_subcommands() {
        assert!(
            roff.contains(&format!(
                ".SH \"KIMERA-REDIS-INIT {}\"",
                sub.get_name().to_uppercase()
            )),
            "no section for {}",
            sub.get_name()
        );
        for arg in sub.get_arguments() {
            if let Some(long) = arg.get_long() {
                // roff writes - as \-.
                assert!(
                    roff.contains(&format!("\\-\\-{}", long.replace('-', "\\-"))),
                    "--{long} of {}",
                    sub.get_name()
                );
            }
        }
    }
    if have("man") {
        let tmp = tempdir();
        let page = tmp.path().join("kimera-redis-init.1");
        std::fs::write(&page, &roff).unwrap();
        let shown = Command::new("man")
            .arg("-l")
            .arg(&page)
            .env("MANPAGER", "cat")
            .env("COLUMNS", "200")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&shown.stdout);
        assert!(
            shown.status.success(),
            "{}",
            String::from_utf8_lossy(&shown.stderr)
        );
        assert!(
            text.contains("--warn-days") && text.contains("--keep-keys"),
            "{text}"
        );
    }
}

#[test]
fn help_texts_fit_the_subcommand_they_are_shown_under() {
    let help = run(&["help", "--help"]);
    assert_eq!(
        help.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&help.stderr)
    );
    assert!(String::from_utf8_lossy(&help.stdout).contains("Usage: kimera-redis-init"));

    let renew = String::from_utf8_lossy(&run(&["renew", "--help"]).stdout).into_owned();
    assert!(!renew.contains("instead of making a CA"), "{renew}");
    assert!(renew.contains("renew signs with it"), "{renew}");

    let fixtures = String::from_utf8_lossy(&run(&["fixtures", "--help"]).stdout).into_owned();
    for line in fixtures
        .lines()
        .filter(|l| l.contains("Example: kimera-redis-init"))
    {
        assert!(
            line.contains("kimera-redis-init fixtures"),
            "generate's example under fixtures: {line}"
        );
    }
    // One error prefix, clap's: `error: `.
    let ours = run(&["--profile", "production-tls", "--port", "0"]);
    let clap = run(&["--profile", "nope"]);
    for out in [ours, clap] {
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(err.starts_with("error: "), "{err}");
    }
}
