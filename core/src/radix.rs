//! A radix sort of `(hash, row)` pairs: the first step of every batch write, which orders a
//! batch by key hash (the store's sort prefix) before building its columns.
//!
//! Hashes are uniform, so a stable LSD radix sort on only their top `log2(n) + 2` bits (in
//! two or three passes of at most 11 bits, so the scatter's 2048 write positions stay in
//! cache) leaves each pair within a few places of where it belongs; one insertion pass on
//! the full `(hash, row)` then finishes. Any input stays O(n log n): when the insertion
//! pass has moved more than a few pairs per pair (equal or adversarial hashes), the groups
//! of equal top bits are sorted by comparison instead. Short inputs are sorted by
//! comparison outright.

/// Below this many pairs, a comparison sort is faster than the radix passes.
const SMALL: usize = 256;

/// At most this many bits per radix pass.
const MAX_DIGIT: u32 = 11;

/// Buckets of the widest pass.
const MAX_BUCKETS: usize = 1 << MAX_DIGIT;

/// The insertion pass gives up after this many moves per pair.
const MOVES_PER_PAIR: usize = 4;

/// Sorts `v` by `(hash, row)` (the pairs' natural order) with a radix sort on the hashes.
///
/// The result equals `v.sort_unstable()`; equal pairs are indistinguishable.
pub(crate) fn sort_hash_rows(v: &mut Vec<(u64, usize)>) {
    let n = v.len();
    if n < SMALL {
        v.sort_unstable();
        return;
    }
    // the top bits to sort on: about four values of them per pair
    let want = (usize::BITS - (n - 1).leading_zeros() + 2).min(64);
    let passes = want.div_ceil(MAX_DIGIT) as usize;
    let digit = want.div_ceil(passes as u32);
    let top = (digit * passes as u32).min(64);
    let shift0 = 64 - top;
    let mask = ((1u64 << digit) - 1) as usize;
    let digit_of = |h: u64, p: usize| ((h >> (shift0 + p as u32 * digit)) as usize) & mask;
    // every pass's histogram in one read
    let mut hist = vec![[0usize; MAX_BUCKETS]; passes];
    for &(h, _) in v.iter() {
        for (p, counts) in hist.iter_mut().enumerate() {
            counts[digit_of(h, p) & (MAX_BUCKETS - 1)] += 1;
        }
    }
    let (mut src, mut dst) = (std::mem::take(v), vec![(0u64, 0usize); n]);
    for (p, counts) in hist.iter_mut().enumerate() {
        if counts.contains(&n) {
            continue; // every pair has the same digit: the pass would not move one
        }
        let mut at = 0;
        for c in counts.iter_mut() {
            let k = *c;
            *c = at;
            at += k;
        }
        for &e in &src {
            let d = digit_of(e.0, p) & (MAX_BUCKETS - 1);
            dst[counts[d]] = e;
            counts[d] += 1;
        }
        std::mem::swap(&mut src, &mut dst);
    }
    if !insertion_pass(&mut src, MOVES_PER_PAIR * n) {
        sort_groups(&mut src, shift0);
    }
    *v = src;
}

/// Insertion sort of a nearly sorted `v`; gives up (returning false, `v` a permutation of
/// itself) after `budget` moves.
fn insertion_pass(v: &mut [(u64, usize)], mut budget: usize) -> bool {
    for i in 1..v.len() {
        if v[i - 1] <= v[i] {
            continue;
        }
        let e = v[i];
        let mut j = i;
        while j > 0 && v[j - 1] > e {
            if budget == 0 {
                v[j] = e;
                return false;
            }
            budget -= 1;
            v[j] = v[j - 1];
            j -= 1;
        }
        v[j] = e;
    }
    true
}

/// Sorts each group of pairs with equal top `64 - shift` bits (contiguous after the radix
/// passes) by the full `(hash, row)`.
fn sort_groups(v: &mut [(u64, usize)], shift: u32) {
    let prefix = |h: u64| h.checked_shr(shift).unwrap_or(0);
    let mut start = 0;
    while start < v.len() {
        let p = prefix(v[start].0);
        let mut end = start + 1;
        while end < v.len() && prefix(v[end].0) == p {
            end += 1;
        }
        v[start..end].sort_unstable();
        start = end;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Checks the radix sort against std's sort on `v`.
    fn check(v: Vec<(u64, usize)>) {
        let mut want = v.clone();
        want.sort();
        let mut got = v;
        sort_hash_rows(&mut got);
        assert_eq!(got, want);
    }

    fn rng(seed: u64) -> impl FnMut() -> u64 {
        let mut s = pluriverse_testkit::SplitMix64(seed);
        move || s.next_u64()
    }

    #[test]
    fn random_hashes_of_every_size() {
        let mut r = rng(1);
        for n in [0, 1, 2, 255, 256, 257, 1000, 4096, 65_537, 300_000] {
            check((0..n).map(|i| (r(), i)).collect());
        }
    }

    #[test]
    fn random_rows_and_duplicate_pairs() {
        let mut r = rng(2);
        let v: Vec<(u64, usize)> = (0..50_000)
            .map(|_| (r() % 1000, (r() % 7) as usize))
            .collect();
        check(v);
    }

    #[test]
    fn edge_inputs() {
        let n = 20_000;
        // all hashes equal (one group of everything), rows reversed
        check((0..n).map(|i| (42, n - i)).collect());
        // extremes of the hash range
        check(
            (0..n)
                .map(|i| (if i % 2 == 0 { u64::MAX } else { 0 }, i))
                .collect(),
        );
        // already sorted and reverse sorted
        check((0..n).map(|i| (i as u64 * 0x9E37_79B9, i)).collect());
        check((0..n).map(|i| (u64::MAX - i as u64, i)).collect());
        // hashes differing only in the low bits (below the sorted top bits)
        let mut r = rng(3);
        check((0..n).map(|i| (r() & 0xFFFF, i)).collect());
        // differing only in the top bit
        check((0..n).map(|i| ((i as u64 % 2) << 63, n - i)).collect());
        // few distinct top values, each group large
        check(
            (0..n)
                .map(|i| ((r() % 3) << 62 | (r() & 0xFF), i))
                .collect(),
        );
    }
}
