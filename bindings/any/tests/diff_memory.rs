//! `diff` costs memory in proportion to the states, not to `2^bits` (issue 13: `pluriverse
//! diff --bits 24` took 1 GB on two empty states). A counting global allocator measures the
//! peak of live heap bytes during the call; this binary holds one test so that nothing else
//! allocates meanwhile.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use pluriverse::MVMap;
use pluriverse_any::{diff, AnyState};

struct Counting;
static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator unchanged; only counts bytes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let now = LIVE.fetch_add(l.size(), Relaxed) + l.size();
        PEAK.fetch_max(now, Relaxed);
        // SAFETY: the caller's contract, forwarded.
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        LIVE.fetch_sub(l.size(), Relaxed);
        // SAFETY: the caller's contract, forwarded.
        unsafe { System.dealloc(p, l) }
    }
}

#[global_allocator]
static A: Counting = Counting;

/// The peak heap bytes allocated by `f` beyond what was live when it started.
fn peak_of<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let base = LIVE.load(Relaxed);
    PEAK.store(base, Relaxed);
    let out = f();
    (out, PEAK.load(Relaxed) - base)
}

fn state(name: &str, keys: std::ops::Range<u64>) -> AnyState {
    let mut m: MVMap<u64, i64> = MVMap::new(name);
    for k in keys {
        m.set(k, k as i64).unwrap();
    }
    AnyState::from_bytes(&m.to_bytes().unwrap(), name).unwrap()
}

#[test]
fn diff_memory_follows_the_data_not_two_to_the_bits() {
    let (ea, eb) = (state("a", 0..0), state("b", 0..0));
    let (d, peak) = peak_of(|| diff(&ea, &eb, 24).unwrap());
    assert_eq!((d.buckets, d.differing_buckets), (1 << 24, 0));
    // 2^24 buckets of 16-byte digests alone would be 256 MiB
    eprintln!("peak heap: empty states at 24 bits {peak} bytes");
    assert!(peak < 64 << 10, "empty states at 24 bits: {peak} bytes");
    let (a, b) = (state("a", 0..2000), state("b", 1000..3000));
    let (d, peak) = peak_of(|| diff(&a, &b, 24).unwrap());
    let counts = (d.only_left.len(), d.only_right.len(), d.changed.len());
    assert_eq!(
        counts,
        (1000, 1000, 1000),
        "the shared keys hold other dots"
    );
    assert!(peak < 4 << 20, "3,000 keys at 24 bits: {peak} bytes");
    let (_, peak12) = peak_of(|| diff(&a, &b, 12).unwrap());
    eprintln!("peak heap: 3,000 keys at 24 bits {peak} bytes, at 12 bits {peak12}");
    assert!(
        peak < 2 * peak12 + (64 << 10),
        "24 bits {peak} vs 12 bits {peak12}"
    );
}
