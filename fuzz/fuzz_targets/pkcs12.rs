//! PKCS#12 stores from a folder: any bytes open or are refused, within the key-derivation caps.
#![no_main]

use kimera_redis_init::testing::parse;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = parse::pkcs12(data, "changeit");
});
