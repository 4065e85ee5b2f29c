//! The staging journal a killed run left: a list of safe relative moves, or refused.
#![no_main]

use kimera_redis_init::testing::parse;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = parse::journal(data);
});
