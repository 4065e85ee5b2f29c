//! `completions SHELL` and `man`: generated from the same clap definitions as the CLI.

use std::io::Write;

use clap::CommandFactory;

use crate::cli::Cli;
use crate::error::{Error, Result};

pub fn completions(shell: clap_complete::Shell) -> Result<()> {
    clap_complete::generate(
        shell,
        &mut Cli::command(),
        "kimera-redis-init",
        &mut std::io::stdout(),
    );
    Ok(())
}

pub fn man() -> Result<()> {
    let mut out = Vec::new();
    clap_mangen::Man::new(Cli::command())
        .render(&mut out)
        .map_err(|e| Error::failed(format!("rendering the man page failed: {e}")))?;
    std::io::stdout()
        .write_all(&out)
        .map_err(|e| Error::failed(format!("cannot write the man page: {e}")))
}
