//! Shared test support for the replica's integration tests: fresh directories and a source
//! state with its stream's slices.
#![allow(dead_code)] // each test binary uses what it needs

use std::path::PathBuf;

use pluriverse_any::{AnyState, KeyType, Kind, Scalar, StateType};
use pluriverse_testkit::SplitMix64 as Rng;

/// A fresh path under the temporary directory (removed if it exists), unique to this
/// process and call; `tag` says what it is for.
pub fn tmp(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "plv-{tag}-{}-{}",
        std::process::id(),
        pluriverse_replica::identity::random_u64()
    ));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// Two writers' adds and removes of 300 keys, joined now and then.
pub fn source(seed: u64) -> AnyState {
    let t = StateType::new(Kind::AWSet, KeyType::Int64, None).unwrap();
    let mut rng = Rng(seed);
    let mut a = AnyState::new(t, "a");
    let mut b = AnyState::new(t, "b");
    for _ in 0..600 {
        let s = if rng.below(2) == 0 { &mut a } else { &mut b };
        let k = Scalar::Int64(rng.below(300) as i64);
        if rng.below(5) == 0 {
            s.remove(k).unwrap();
        } else {
            s.add(k).unwrap();
        }
        if rng.below(50) == 0 {
            let d = b.clone();
            a.join(&d).unwrap();
        }
    }
    a.join(&b).unwrap();
    a
}

/// The slices of `src` (every replica, `parts` each), shuffled.
pub fn slices(src: &AnyState, parts: u64, rng: &mut Rng) -> Vec<AnyState> {
    let mut out: Vec<AnyState> = Vec::new();
    for name in src.replicas_seen() {
        for (lo, hi) in src.split_range(&name, 1, u64::MAX, parts) {
            out.push(src.slice(&name, lo, hi));
        }
    }
    for i in (1..out.len()).rev() {
        out.swap(i, rng.below(i as u64 + 1) as usize);
    }
    out
}
