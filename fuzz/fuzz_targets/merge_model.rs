//! Fuzz target: arbitrary writes and deliveries on the engine and on a naive model (logic in
//! `logic/merge_model.rs`, replayed by the test suite).
#![no_main]

#[path = "../logic/merge_model.rs"]
mod logic;

libfuzzer_sys::fuzz_target!(|data: &[u8]| logic::check(data));
