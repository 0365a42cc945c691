//! Fuzz target: every version-vector implementation against the portable one (the logic is
//! in `logic/kernels.rs`, which the test suite also replays).
#![no_main]

#[path = "../logic/kernels.rs"]
mod logic;

libfuzzer_sys::fuzz_target!(|data: &[u8]| logic::check(data));
