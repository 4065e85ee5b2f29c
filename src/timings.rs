//! `KIMERA_TRACE_TIMINGS=1`: each stage of a generate run and the milliseconds since the
//! stage before, on stderr (`timing: <stage> <ms>`), to see where a run's time goes;
//! `cargo bench --bench generate` prints their medians. Off, a stage costs one read of
//! a flag set once per process.

use std::sync::{Mutex, OnceLock};
use std::time::Instant;

/// `Some(when the last stage ended)` when tracing is on.
static LAST: OnceLock<Option<Mutex<Instant>>> = OnceLock::new();

/// The stage `name` has just ended. The first call starts the clock.
pub(crate) fn stage(name: &str) {
    let last = LAST.get_or_init(|| {
        std::env::var_os("KIMERA_TRACE_TIMINGS").map(|_| Mutex::new(Instant::now()))
    });
    if let Some(last) = last {
        let now = Instant::now();
        let mut last = last.lock().unwrap_or_else(|e| e.into_inner());
        eprintln!(
            "timing: {name} {:.3}",
            now.duration_since(*last).as_secs_f64() * 1000.0
        );
        *last = now;
    }
}
