//! users.acl from a folder: compared with itself, as Redis's ACL loader reads it, never differs.
#![no_main]

use kimera_redis_init::testing::parse;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        assert_eq!(parse::compare_with_itself("users.acl", text), 0);
    }
});
