//! Fuzz target: hostile bytes against the sync message and compact payload decoders (logic
//! in `logic/sync_message.rs`, replayed by `replica/tests/fuzz_replay.rs`).
#![no_main]

#[path = "../logic/sync_message.rs"]
#[allow(dead_code)] // `seeds` serves the replay test
mod logic;

libfuzzer_sys::fuzz_target!(|data: &[u8]| logic::check(data));
