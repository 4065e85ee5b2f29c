//! `kimera-redis-init profiles`: the built-in profiles, one line each.

use crate::error::Result;
use crate::profile;

pub fn run() -> Result<()> {
    let names = profile::names();
    let width = names.iter().map(|n| n.len()).max().unwrap_or(0);
    for name in names {
        let p = profile::builtin(name)?;
        println!("{name:<width$}  {}", p.description);
    }
    Ok(())
}
