//! RESP replies from a server: any bytes are a reply or a named refusal, within the size and nesting caps.
#![no_main]

use kimera_redis_init::testing::parse;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = parse::resp(data);
});
