//! What a command prints on standard output. A reader that stops early
//! (`generate --json | head`, `verify DIR | grep -m1 FAIL`) closes the pipe; `println!`
//! then panics (exit 101 and a backtrace). Here the rest of the output is dropped and the
//! command runs to its end, so its exit status still tells what happened (files written,
//! verify's verdict).

use std::fmt::Arguments;
use std::io::{ErrorKind, Write};
use std::sync::atomic::{AtomicBool, Ordering};

/// Set once standard output cannot take more: nothing more is written to it.
static CLOSED: AtomicBool = AtomicBool::new(false);

/// `print!` that survives a closed standard output.
pub(crate) fn write(args: Arguments) {
    if CLOSED.load(Ordering::Relaxed) {
        return;
    }
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_fmt(args).and_then(|()| out.flush()) {
        CLOSED.store(true, Ordering::Relaxed);
        if e.kind() != ErrorKind::BrokenPipe {
            // A full disk behind a redirect, say: worth one line, not a panic.
            eprintln!("kimera-redis-init: standard output: {e}; the rest of the output is dropped");
        }
    }
}

/// `println!` for commands: see the module's comment.
macro_rules! outln {
    () => { $crate::commands::stdout::write(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::commands::stdout::write(format_args!("{}\n", format_args!($($arg)*))) };
}

/// `print!` for commands: see the module's comment.
macro_rules! out {
    ($($arg:tt)*) => { $crate::commands::stdout::write(format_args!($($arg)*)) };
}

pub(crate) use {out, outln};
