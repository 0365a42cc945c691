//! The `delta_since` figure of issue 16, measured in one run: an N-record MVMap (u64 keys
//! and values) whose peer holds all but the last 1% of its writes (new values for every
//! 100th key, as in the `mvmap_ops` bench group), against the same work over a state of
//! 1% of the size: the pass over the merged rows (`delta_since_scan`) of a 1%-sized state
//! towards an empty peer, which is a full scan of 1% of the state. Also the scan of the
//! whole state, which the indexed path replaced. Medians of 11 runs.
//!
//! `cargo run --release -p pluriverse --example delta_figure -- [records]` (default
//! 1,000,000).
use std::time::{Duration, Instant};

use pluriverse::{CausalContext, MVMap};

fn median(mut f: impl FnMut() -> usize) -> (Duration, usize) {
    let mut ts = Vec::new();
    let mut out = 0;
    for _ in 0..11 {
        let t = Instant::now();
        out = std::hint::black_box(f());
        ts.push(t.elapsed());
    }
    ts.sort();
    (ts[ts.len() / 2], out)
}

fn main() {
    let n: u64 = std::env::args()
        .nth(1)
        .map_or(1_000_000, |a| a.parse().expect("records"));
    let mut rng = pluriverse_testkit::SplitMix64(9);
    let keys: Vec<u64> = (0..n).collect();
    let values: Vec<u64> = (0..n).map(|_| rng.next_u64()).collect();
    let mut big: MVMap<u64, u64> = MVMap::new("a");
    big.set_many(&keys, &values).unwrap();
    let mut peer: MVMap<u64, u64> = MVMap::new("p");
    peer.join(big.store());
    let hot: Vec<u64> = keys.iter().copied().step_by(100).collect();
    big.set_many(&hot, &vec![7u64; hot.len()]).unwrap();
    // a state of 1% of the size, for the baseline
    let mut small: MVMap<u64, u64> = MVMap::new("a");
    small.set_many(&hot, &vec![7u64; hot.len()]).unwrap();
    let empty = CausalContext::new();

    let (fast, len) = median(|| big.store().delta_since(peer.context()).len());
    let (base, base_len) = median(|| small.store().delta_since_scan(&empty).len());
    let (whole, whole_len) = median(|| big.store().delta_since_scan(peer.context()).len());
    assert_eq!(
        (len, base_len, whole_len),
        (hot.len(), hot.len(), hot.len())
    );
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    // the same peer, 1% behind by new keys only (nothing it holds was overwritten or removed)
    let mut grown: MVMap<u64, u64> = MVMap::new("a");
    grown.set_many(&keys, &values).unwrap();
    let mut behind: MVMap<u64, u64> = MVMap::new("p");
    behind.join(grown.store());
    let fresh: Vec<u64> = (n..n + n / 100).collect();
    grown.set_many(&fresh, &vec![7u64; fresh.len()]).unwrap();
    let (appended, alen) = median(|| grown.store().delta_since(behind.context()).len());
    let (appended_scan, _) = median(|| grown.store().delta_since_scan(behind.context()).len());
    assert_eq!(alen, fresh.len());
    println!(
        "delta_since, peer missing 1% of {n} as new keys only: {:.3} ms; full scan of 1% of the state: {:.3} ms; ratio {:.2}x (target <= 3x); the pass over the whole state: {:.1} ms",
        ms(appended),
        ms(base),
        ms(appended) / ms(base),
        ms(appended_scan)
    );
    println!(
        "delta_since, peer missing 1% of {n}: {:.3} ms; full scan of 1% of the state: {:.3} ms; ratio {:.2}x (target <= 3x); the previous pass over the whole state: {:.1} ms ({:.1}x the indexed path's time)",
        ms(fast),
        ms(base),
        ms(fast) / ms(base),
        ms(whole),
        ms(whole) / ms(fast)
    );
}
