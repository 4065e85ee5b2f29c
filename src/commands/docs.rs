//! `completions SHELL` and `man`: generated from the same clap definitions as the CLI.

use std::io::Write;

use crate::cli::help;
use crate::error::{Error, Result};

const BIN: &str = "kimera-redis-init";

pub(crate) fn completions(shell: clap_complete::Shell) -> Result<()> {
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut help::command(), BIN, &mut out);
    if shell == clap_complete::Shell::Bash {
        out = fix_bash(&String::from_utf8_lossy(&out)).into_bytes();
    }
    write(&out)
}

/// clap_complete's bash script names each subcommand's state after the binary with `-`
/// turned into `__` (`kimera__redis__init__subcmd__verify`) where it sets it, but turns
/// the same `-` into `__subcmd__` in the case labels that read it, so nothing below the
/// top level ever matched: `renew --` completed nothing. One spelling for both.
fn fix_bash(script: &str) -> String {
    script.replace("kimera__subcmd__redis__subcmd__init", "kimera__redis__init")
}

/// One page that covers every subcommand and every option: the top-level page, then a
/// section per subcommand (its synopsis, description and options as subsections),
/// instead of pointing at kimera-redis-init-verify(1) pages nobody installs.
pub(crate) fn man() -> Result<()> {
    let failed = |e: std::io::Error| Error::failed(format!("rendering the man page failed: {e}"));
    let mut cmd = help::command().disable_help_subcommand(true);
    cmd.build();
    let page = clap_mangen::Man::new(cmd.clone());
    let mut out = Vec::new();
    page.render_title(&mut out).map_err(failed)?;
    page.render_name_section(&mut out).map_err(failed)?;
    page.render_synopsis_section(&mut out).map_err(failed)?;
    page.render_description_section(&mut out).map_err(failed)?;
    page.render_options_section(&mut out).map_err(failed)?;
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        render_subcommand(&mut out, sub, &format!("{BIN} {}", sub.get_name())).map_err(failed)?;
    }
    page.render_extra_section(&mut out).map_err(failed)?;
    page.render_version_section(&mut out).map_err(failed)?;
    write(&out)
}

fn render_subcommand(out: &mut Vec<u8>, sub: &clap::Command, path: &str) -> std::io::Result<()> {
    writeln!(out, ".SH \"{}\"", path.to_uppercase())?;
    let page = clap_mangen::Man::new(sub.clone());
    let mut body = Vec::new();
    page.render_synopsis_section(&mut body)?;
    page.render_description_section(&mut body)?;
    if sub.get_arguments().any(|a| !a.is_hide_set()) {
        page.render_options_section(&mut body)?;
    }
    // Its sections become subsections of this one.
    let body = String::from_utf8_lossy(&body).replace("\n.SH ", "\n.SS ");
    let body = body
        .strip_prefix(".SH ")
        .map(|b| format!(".SS {b}"))
        .unwrap_or(body);
    out.extend_from_slice(body.as_bytes());
    for nested in sub.get_subcommands().filter(|s| !s.is_hide_set()) {
        render_subcommand(out, nested, &format!("{path} {}", nested.get_name()))?;
    }
    Ok(())
}

fn write(bytes: &[u8]) -> Result<()> {
    std::io::stdout()
        .write_all(bytes)
        .map_err(|e| Error::failed(format!("cannot write to stdout: {e}")))
}
