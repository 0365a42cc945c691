//! Fuzz target: hostile bytes against every decoder (logic in `logic/decode.rs`, replayed by
//! the test suite).
#![no_main]

#[path = "../logic/decode.rs"]
#[allow(dead_code)] // `seeds` serves the replay test
mod logic;

libfuzzer_sys::fuzz_target!(|data: &[u8]| logic::check(data));
