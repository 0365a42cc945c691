//! What the benches share (all outside the timed regions): seeded input generators, the
//! two-replica MVMap workload of `mvmap.rs` and `dson.rs`, size selection from the
//! environment, and a counting allocator for bytes-per-record figures.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use pluriverse::MVMap;

/// The workspace's seeded generator, so bench inputs are identical run to run.
pub use pluriverse_testkit::SplitMix64 as SplitMix;

/// Two `rows x width` matrices of counters with realistic structure: counters near each
/// other so rows are a mix of equal, before, after and concurrent.
pub fn vv_pair(rows: usize, width: usize, seed: u64) -> (Vec<u64>, Vec<u64>) {
    let mut g = SplitMix(seed);
    let n = rows * width;
    let mut a = Vec::with_capacity(n);
    let mut b = Vec::with_capacity(n);
    for _ in 0..n {
        let base = g.below(1 << 20);
        a.push(base + g.below(2));
        b.push(base + g.below(2));
    }
    (a, b)
}

/// A global allocator that forwards to the system one and counts live bytes; a bench
/// installs it with `#[global_allocator] static ALLOC: CountingAlloc = CountingAlloc;` and
/// reads [`live_bytes`] around a construction.
pub struct CountingAlloc;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

/// Bytes currently allocated through [`CountingAlloc`].
pub fn live_bytes() -> usize {
    LIVE.load(Ordering::Relaxed)
}

/// The most bytes allocated through [`CountingAlloc`] at once since the last
/// [`reset_peak`] (or since the start).
pub fn peak_bytes() -> usize {
    PEAK.load(Ordering::Relaxed)
}

/// Starts a new peak at the bytes live now (see [`peak_bytes`]).
pub fn reset_peak() {
    PEAK.store(LIVE.load(Ordering::Relaxed), Ordering::Relaxed);
}

fn note_live(now: usize) {
    PEAK.fetch_max(now, Ordering::Relaxed);
}

// SAFETY: forwards to the system allocator and only counts bytes.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        note_live(LIVE.fetch_add(l.size(), Ordering::Relaxed) + l.size());
        // SAFETY: same layout contract as the caller's.
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        LIVE.fetch_sub(l.size(), Ordering::Relaxed);
        // SAFETY: `p` was allocated by `System` with `l`.
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        // the net change (a large block grows in place, by mremap, without a copy)
        if new >= l.size() {
            note_live(LIVE.fetch_add(new - l.size(), Ordering::Relaxed) + new - l.size());
        } else {
            LIVE.fetch_sub(l.size() - new, Ordering::Relaxed);
        }
        // SAFETY: `p` was allocated by `System` with `l`.
        unsafe { System.realloc(p, l, new) }
    }
}

/// Record counts from `PLURIVERSE_BENCH_RECORDS` (comma-separated `10k`, `100k`, `1m`,
/// `10m`), or from `default` in the same form.
pub fn sizes(default: &str) -> Vec<usize> {
    let spec = std::env::var("PLURIVERSE_BENCH_RECORDS").unwrap_or_else(|_| default.into());
    spec.split(',')
        .filter_map(|s| match s.trim() {
            "10k" => Some(10_000),
            "100k" => Some(100_000),
            "1m" => Some(1_000_000),
            "10m" => Some(10_000_000),
            _ => None,
        })
        .collect()
}

/// `1M`, `100K`, ...: a record count as a bench group label.
pub fn label(n: usize) -> String {
    match n {
        n if n >= 1_000_000 && n % 1_000_000 == 0 => format!("{}M", n / 1_000_000),
        n if n >= 1_000 && n % 1_000 == 0 => format!("{}K", n / 1_000),
        n => n.to_string(),
    }
}

/// The two-replica workload: replica a writes keys 0..n; b saw a's writes of the shared
/// keys except every tenth (those are concurrent), then wrote keys n/2..3n/2.
pub struct Work {
    /// a's first batch (b saw it).
    pub a_first: Vec<u64>,
    /// a's later writes of every tenth shared key (concurrent with b's).
    pub a_concurrent: Vec<u64>,
    /// b's keys.
    pub b_keys: Vec<u64>,
    /// Values, drawn once.
    pub values: Vec<u64>,
}

/// The workload for `n` records (seeded: identical run to run).
pub fn work(n: usize) -> Work {
    let mut g = SplitMix(5);
    let (mut a_first, mut a_concurrent) = (vec![], vec![]);
    for k in 0..n as u64 {
        if k >= n as u64 / 2 && k % 10 == 0 {
            a_concurrent.push(k);
        } else {
            a_first.push(k);
        }
    }
    Work {
        a_first,
        a_concurrent,
        b_keys: (n as u64 / 2..n as u64 * 3 / 2).collect(),
        values: (0..n).map(|_| g.next_u64()).collect(),
    }
}

/// The pluriverse states of [`Work`] (each compacted to one run), and the bytes state `a`
/// holds (counted when [`CountingAlloc`] is the global allocator, else 0).
///
/// # Panics
/// Only if a batch is refused (it cannot be: equal lengths, fresh counters).
pub fn pv_states(w: &Work) -> (MVMap<u64, u64>, MVMap<u64, u64>, usize) {
    let before = live_bytes();
    let mut a: MVMap<u64, u64> = MVMap::new("a");
    a.set_many(&w.a_first, &w.values[..w.a_first.len()])
        .expect("a's first batch");
    a.set_many(&w.a_concurrent, &w.values[..w.a_concurrent.len()])
        .expect("a's concurrent batch");
    a.compact_runs();
    let bytes_a = live_bytes().saturating_sub(before);
    // b saw a's first batch (the same delta a shipped), then wrote its own keys
    let first = MVMap::<u64, u64>::new("a")
        .set_many(&w.a_first, &w.values[..w.a_first.len()])
        .expect("a's first batch");
    let mut b: MVMap<u64, u64> = MVMap::new("b");
    b.join(&first);
    drop(first);
    b.set_many(&w.b_keys, &w.values[..w.b_keys.len()])
        .expect("b's batch");
    b.compact_runs();
    (a, b, bytes_a)
}
