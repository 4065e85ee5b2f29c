//! The folder's record: parsed and resolved to settings as flags are, never a panic (ca_days = 4294967295 once was one).
#![no_main]

use kimera_redis_init::testing::parse;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = parse::record(text);
    }
});
