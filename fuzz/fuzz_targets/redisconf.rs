//! redis.conf from a folder: read as Redis splits it, and compared with itself never differs.
#![no_main]

use kimera_redis_init::testing::parse;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = parse::redisconf(text);
        assert_eq!(parse::compare_with_itself("redis.conf", text), 0);
    }
});
