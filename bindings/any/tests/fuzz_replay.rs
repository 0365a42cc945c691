//! Replays the fuzz targets' committed corpora (`fuzz/seeds/<target>/`) and every crasher
//! ever found (`fuzz/regressions/<target>/`) through the same checks the fuzzers run, so CI
//! keeps checking them on stable Rust without libFuzzer.

use std::path::PathBuf;

#[path = "../../../fuzz/logic/decode.rs"]
mod decode;
#[path = "../../../fuzz/logic/kernels.rs"]
mod kernels;
#[path = "../../../fuzz/logic/merge_model.rs"]
mod merge_model;

fn inputs(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    let mut out = vec![];
    for dir in ["seeds", "regressions"] {
        let Ok(rd) = std::fs::read_dir(root.join(dir).join(target)) else {
            continue;
        };
        for e in rd {
            let p = e.unwrap().path();
            if p.is_file() {
                out.push((p.clone(), std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

thread_local! {
    /// Set by the panic hook on the thread that panicked.
    static PANICKED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Like libFuzzer, counts every panic, even one the library catches itself (the decoder's
/// safety net around arrow-ipc): a caught panic is still a finding.
fn watch_panics() {
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            PANICKED.with(|p| p.set(true));
            previous(info);
        }));
    });
}

fn replay(target: &str, check: fn(&[u8]), min: usize) {
    watch_panics();
    let all = inputs(target);
    for (path, bytes) in &all {
        PANICKED.with(|p| p.set(false));
        let r = std::panic::catch_unwind(|| check(bytes));
        let panicked = PANICKED.with(|p| p.get());
        assert!(
            r.is_ok() && !panicked,
            "{target}: {} panics",
            path.display()
        );
    }
    assert!(
        all.len() >= min,
        "{target}: only {} corpus files",
        all.len()
    );
}

#[test]
fn decode_corpus() {
    replay("decode", decode::check, 20);
}

#[test]
fn decode_seeds_and_their_mutations() {
    // valid encodings of every kind and type, and every truncation / bit flip of a few
    let seeds = decode::seeds();
    assert!(seeds.len() > 50);
    for s in &seeds {
        decode::check(s);
    }
    for s in seeds.iter().step_by(17) {
        for cut in (0..s.len()).step_by(7) {
            decode::check(&s[..cut]);
        }
        for i in (0..s.len()).step_by(5) {
            let mut m = s.clone();
            m[i] ^= 1 << (i % 8);
            decode::check(&m);
        }
    }
}

#[test]
fn format_2_seeds_of_valid_states_decode_and_hostile_ones_are_refused() {
    // the hand-made seeds (core/tests/integrity.rs, write_fuzz_seeds): the valid states of
    // format 2 decode, and re-encode to format 3 that decodes to the same state and
    // re-encodes to itself; every hostile shape is refused
    let valid = [
        "v2-mvmap-utf8-int64",
        "v2-pncounter-uint64",
        "v2-lww-binary-utf8-tombstone",
        "v2-awset-int64",
        "v2-empty-mvmap",
        "v2-pncounter-two-cells-one-replica",
    ];
    let mut seen = 0;
    for (path, bytes) in inputs("decode") {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if !name.starts_with("v2-") {
            continue;
        }
        seen += 1;
        let decoded = pluriverse_any::AnyState::from_bytes_read_only(&bytes);
        if valid.contains(&name.as_str()) {
            let state = decoded.unwrap();
            let v3 = state.to_bytes().unwrap();
            assert_ne!(v3, bytes, "{name}: written again as format 3");
            let again = pluriverse_any::AnyState::from_bytes_read_only(&v3).unwrap();
            assert_eq!(again.digest(), state.digest(), "{name}");
            assert_eq!(again.to_bytes().unwrap(), v3, "{name}");
        } else {
            assert!(decoded.is_err(), "{name} accepted");
        }
    }
    assert!(seen >= 15, "only {seen} format-2 seeds");
}

#[test]
fn kernels_corpus() {
    replay("kernels", kernels::check, 20);
}

#[test]
fn merge_model_corpus() {
    replay("merge_model", merge_model::check, 20);
}

/// A tool, not a check: `PLURIVERSE_FUZZ_SEEDS=fuzz/corpus/decode cargo test -p
/// pluriverse-any --test fuzz_replay -- --ignored` writes the valid encodings the decode
/// fuzzer starts from.
#[test]
#[ignore = "a tool: writes the decode fuzzer's starting corpus"]
fn write_decode_seeds() {
    let dir =
        PathBuf::from(std::env::var("PLURIVERSE_FUZZ_SEEDS").expect("PLURIVERSE_FUZZ_SEEDS=DIR"));
    std::fs::create_dir_all(&dir).unwrap();
    for (i, s) in decode::seeds().iter().enumerate() {
        std::fs::write(dir.join(format!("seed-{i:03}")), s).unwrap();
    }
}
