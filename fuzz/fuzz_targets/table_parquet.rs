//! cargo-fuzz entry for `targets::table_parquet` (the body is shared with the stable smoke test).
#![no_main]

#[path = "../targets.rs"]
mod targets;

libfuzzer_sys::fuzz_target!(|data: &[u8]| targets::table_parquet(data));
