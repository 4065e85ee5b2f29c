//! `kimera-redis-init profiles`: the built-in profiles, one line each; `profiles show
//! NAME`: one of them resolved, as TOML that `--profile-file` reads back.

use crate::cli::ProfilesAction;
use crate::commands::stdout::{out, outln};
use crate::config::profile;
use crate::error::Result;

pub(crate) fn run(action: Option<&ProfilesAction>) -> Result<()> {
    if let Some(ProfilesAction::Show { name }) = action {
        out!("{}", profile::to_toml(name, &profile::builtin(name)?));
        return Ok(());
    }
    let names = profile::names();
    let width = names.iter().map(|n| n.len()).max().unwrap_or(0);
    for name in names {
        let p = profile::builtin(name)?;
        outln!("{name:<width$}  {}", p.description);
    }
    Ok(())
}
