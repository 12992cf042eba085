//! cargo-fuzz entry for `targets::table_csv` (the body is shared with the stable smoke test).
#![no_main]

#[path = "../targets.rs"]
mod targets;

// libfuzzer-sys aborts on every panic, even one the table loader catches and turns into an input
// error (the Parquet reader panics on some damaged files): keep the default hook instead. A panic
// escaping the target still aborts (libfuzzer-sys's catch_unwind), so real findings stay findings.
libfuzzer_sys::fuzz_target!(init: drop(std::panic::take_hook()), |data: &[u8]| targets::table_csv(data));
