//! .env from a folder: read with the app's semantics, and compared with itself never differs.
#![no_main]

use kimera_redis_init::testing::parse;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = parse::env(text);
        assert_eq!(parse::compare_with_itself(".env", text), 0);
    }
});
