//! Radix sorts: of `(hash, row)` pairs, the first step of every batch write, which orders a
//! batch by key hash (the store's sort prefix) before building its columns; and of a run's
//! rows by dot ([`sort_dots`], the run's dot index).
//!
//! # By hash
//!
//! Hashes are uniform, so sorting on only their top `log2(n) + 2` bits leaves each pair
//! within a few places of where it belongs; one insertion pass on the full `(hash, row)`
//! then finishes. The top bits are sorted in two steps so that no pass scatters far: one
//! MSD pass on the top [`MSD_BITS`] bits into 256 buckets (256 write positions: their cache
//! lines stay in L1), then each bucket (a 256th of the batch: at 1M pairs 62 KiB, at 10M
//! 625 KiB, in L2) by a stable LSD sort on the next bits, in one or two passes of at most
//! [`MAX_LOCAL_DIGIT`] bits through a scratch buffer the size of the largest bucket,
//! which stays in cache. The batch-sized output is advised to huge pages
//! (`pluriverse_kernels::pages`): its first touch would otherwise fault in 4 KiB at a
//! time.
//!
//! Any input stays O(n log n): when the insertion pass has moved more than a few pairs per
//! pair (equal or adversarial hashes), the groups of equal top bits are sorted by
//! comparison instead. Short inputs are sorted by comparison outright.

/// A `(hash, row)` pair.
type Pair = (u64, usize);

/// Below this many pairs, a comparison sort is faster than the radix passes.
const SMALL: usize = 256;

/// Bits of the MSD pass.
const MSD_BITS: u32 = 8;

/// Buckets of the MSD pass.
const MSD_BUCKETS: usize = 1 << MSD_BITS;

/// At most this many bits per LSD pass inside a bucket.
const MAX_LOCAL_DIGIT: u32 = 10;

/// Buckets of at most this many pairs are sorted by comparison.
const SMALL_BUCKET: usize = 32;

/// The insertion pass gives up after this many moves per pair.
const MOVES_PER_PAIR: usize = 4;

/// A batch's `(hash, row)` pairs.
pub(crate) type Pairs = Vec<Pair>;

/// Sorts `v` by `(hash, row)` (the pairs' natural order) with a radix sort on the hashes.
///
/// The result equals `v.sort_unstable()`; equal pairs are indistinguishable.
pub(crate) fn sort_hash_rows(v: &mut Pairs) {
    let n = v.len();
    if n < SMALL {
        v.sort_unstable();
        return;
    }
    // the top bits to sort on: about four values of them per pair
    let want = (usize::BITS - (n - 1).leading_zeros() + 2).min(64);
    let msd_shift = 64 - MSD_BITS;
    let bucket = |h: u64| (h >> msd_shift) as usize;
    let mut starts = [0usize; MSD_BUCKETS + 1];
    for &(h, _) in v.iter() {
        starts[bucket(h) + 1] += 1;
    }
    for b in 0..MSD_BUCKETS {
        starts[b + 1] += starts[b];
    }
    let mut out: Pairs = pluriverse_kernels::pages::with_capacity(n);
    {
        let mut at = starts;
        let dst = &mut out.spare_capacity_mut()[..n];
        for &e in v.iter() {
            let b = bucket(e.0);
            dst[at[b]].write(e);
            at[b] += 1;
        }
        debug_assert!((0..MSD_BUCKETS).all(|b| at[b] == starts[b + 1]));
    }
    // SAFETY: `starts` counts the pairs of each bucket and the scatter wrote each pair to
    // the next slot of its bucket's range, so each of the first `n` slots (within the
    // capacity, as `dst` was cut to `n` slots) was written exactly once.
    unsafe { out.set_len(n) };
    // `want >= 10` (n >= 256): the next `want - 8` bits, bucket by bucket
    let rest = want - MSD_BITS;
    let passes = rest.div_ceil(MAX_LOCAL_DIGIT);
    let digit = rest.div_ceil(passes);
    let top = (MSD_BITS + digit * passes).min(64);
    let shift0 = 64 - top;
    let local_buckets = 1usize << digit;

    let widest = (0..MSD_BUCKETS)
        .map(|b| starts[b + 1] - starts[b])
        .max()
        .unwrap_or(0);
    let mut scratch = vec![(0u64, 0usize); widest];
    let mut hist = vec![0usize; local_buckets * passes as usize];
    for b in 0..MSD_BUCKETS {
        let part = &mut out[starts[b]..starts[b + 1]];
        if part.len() <= SMALL_BUCKET {
            part.sort_unstable();
            continue;
        }
        sort_bucket(
            part,
            &mut scratch[..starts[b + 1] - starts[b]],
            &mut hist,
            (shift0, digit, passes as usize),
        );
    }
    if !insertion_pass(&mut out, MOVES_PER_PAIR * n) {
        sort_groups(&mut out, shift0);
    }
    *v = out;
}

/// A stable LSD sort of `part` on `passes` digits of `digit` bits from bit `shift0` up,
/// through `tmp` (as long as `part`); `hist` holds `passes << digit` counters.
fn sort_bucket(
    part: &mut [(u64, usize)],
    tmp: &mut [(u64, usize)],
    hist: &mut [usize],
    (shift0, digit, passes): (u32, u32, usize),
) {
    let nb = 1usize << digit;
    let mask = nb - 1;
    let digit_of = |h: u64, p: usize| ((h >> (shift0 + p as u32 * digit)) as usize) & mask;
    hist.fill(0);
    for &(h, _) in part.iter() {
        for p in 0..passes {
            hist[p * nb + digit_of(h, p)] += 1;
        }
    }
    // where the pairs are now: in `part` (true) or in `tmp`
    let mut in_part = true;
    for (p, counts) in hist.chunks_exact_mut(nb).enumerate().take(passes) {
        if counts.contains(&part.len()) {
            continue; // every pair has the same digit: the pass would not move one
        }
        let mut at = 0;
        for c in counts.iter_mut() {
            let k = *c;
            *c = at;
            at += k;
        }
        let (src, dst): (&[Pair], &mut [Pair]) = if in_part {
            (&*part, &mut *tmp)
        } else {
            (&*tmp, &mut *part)
        };
        for &e in src {
            let d = digit_of(e.0, p);
            dst[counts[d]] = e;
            counts[d] += 1;
        }
        in_part = !in_part;
    }
    if !in_part {
        part.copy_from_slice(tmp);
    }
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

/// Bits of one pass of [`sort_dots`] (2,048 buckets: their write positions stay in L1/L2).
const DOT_DIGIT: u32 = 11;

/// Row ids `0..n` ordered by `(replica[row], counter[row], row)`: what sorting the triples
/// gives (`sort_unstable` of `(replica, counter, row)`), by a stable LSD radix sort.
///
/// Each row becomes one `u64`: its replica above its counter above its row id, each in as
/// many bits as its largest value needs; the passes sort on the replica and counter bits
/// only (a run's counters are dense, so 10M rows of a few replicas take 3 passes of
/// at most 11 bits), and the row ids, in order from the start, stay in order among equal
/// dots. Falls back to the comparison sort when the three do not fit in 64 bits, or for
/// short inputs.
pub fn sort_dots(replica: &[u32], counter: &[u64]) -> Vec<u32> {
    let n = replica.len().min(counter.len());
    let by_compare = || {
        let mut t: Vec<(u32, u64, u32)> =
            (0..n).map(|i| (replica[i], counter[i], i as u32)).collect();
        t.sort_unstable();
        t.into_iter().map(|t| t.2).collect()
    };
    if n < SMALL {
        return by_compare();
    }
    let bits = |m: u64| u64::BITS - m.leading_zeros();
    let rbits = bits(replica[..n].iter().copied().max().map_or(0, u64::from));
    let cbits = bits(counter[..n].iter().copied().max().unwrap_or(0));
    let nbits = bits(n as u64 - 1);
    let keybits = rbits + cbits;
    if keybits + nbits > 64 {
        return by_compare();
    }
    let mut a: Vec<u64> = (0..n)
        .map(|i| {
            let dot = (u64::from(replica[i]) << cbits) | counter[i];
            // `keybits` is at most 64 - `nbits`: the shift keeps every bit
            dot.checked_shl(nbits).unwrap_or(0) | i as u64
        })
        .collect();
    if keybits > 0 {
        let passes = keybits.div_ceil(DOT_DIGIT);
        let digit = keybits.div_ceil(passes);
        let mask = (1u64 << digit) - 1;
        let mut b = vec![0u64; n];
        let mut hist = vec![0usize; 1 << digit];
        for p in 0..passes {
            let shift = nbits + p * digit;
            hist.iter_mut().for_each(|h| *h = 0);
            for &v in &a {
                hist[((v >> shift) & mask) as usize] += 1;
            }
            let mut sum = 0;
            for h in hist.iter_mut() {
                let c = *h;
                *h = sum;
                sum += c;
            }
            for &v in &a {
                let d = ((v >> shift) & mask) as usize;
                b[hist[d]] = v;
                hist[d] += 1;
            }
            std::mem::swap(&mut a, &mut b);
        }
    }
    let rows = if nbits == 0 {
        0
    } else {
        u64::MAX >> (64 - nbits)
    };
    a.into_iter().map(|v| (v & rows) as u32).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Checks [`sort_dots`] against the comparison sort of the triples.
    fn check_dots(replica: &[u32], counter: &[u64]) {
        let mut t: Vec<(u32, u64, u32)> = (0..replica.len())
            .map(|i| (replica[i], counter[i], i as u32))
            .collect();
        t.sort_unstable();
        let want: Vec<u32> = t.into_iter().map(|t| t.2).collect();
        assert_eq!(sort_dots(replica, counter), want, "{} rows", replica.len());
    }

    #[test]
    fn dots_sort_like_the_triples() {
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for n in [0usize, 1, 2, 255, 256, 257, 5_000, 70_000] {
            // a permutation of dense counters, one replica (the common run)
            let mut c: Vec<u64> = (1..=n as u64).collect();
            for i in (1..n).rev() {
                c.swap(i, (next() % (i as u64 + 1)) as usize);
            }
            check_dots(&vec![0; n], &c);
            // a few replicas, repeated dots (equal keys keep row order), zero counters
            let r: Vec<u32> = (0..n).map(|_| (next() % 5) as u32).collect();
            let c: Vec<u64> = (0..n).map(|_| next() % 300).collect();
            check_dots(&r, &c);
            // wide counters and replicas: over 64 bits with the row ids, by comparison
            let r: Vec<u32> = (0..n).map(|_| next() as u32).collect();
            let c: Vec<u64> = (0..n).map(|_| next() >> 1).collect();
            check_dots(&r, &c);
            // the edges of the packing: counters just fitting beside the rows
            let nb = if n > 1 {
                64 - (n as u64 - 1).leading_zeros()
            } else {
                0
            };
            let top = if nb >= 64 { 0 } else { u64::MAX >> nb };
            let c: Vec<u64> = (0..n).map(|_| next() & top).collect();
            check_dots(&vec![0; n], &c);
            check_dots(&vec![u32::MAX; n], &vec![u64::MAX; n]);
        }
    }

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
        // around the sizes where the bits sorted on, or the passes per bucket, change
        for n in [
            0, 1, 2, 3, 255, 256, 257, 1000, 1023, 1024, 1025, 4096, 8191, 8193, 65_535, 65_536,
            65_537, 131_071, 131_073, 300_000,
        ] {
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
        // one MSD bucket holds everything (top byte equal), the rest random
        check((0..n).map(|i| (0xAB << 56 | (r() >> 8), i)).collect());
        // two MSD buckets, skewed: almost all pairs in one
        check(
            (0..n)
                .map(|i| {
                    (
                        (if i % 97 == 0 { 1u64 } else { 0xFF }) << 56 | (r() >> 8),
                        i,
                    )
                })
                .collect(),
        );
        // every LSD digit inside a bucket equal (only the low bits differ), rows shuffled
        check(
            (0..n)
                .map(|_| (7 << 56 | (r() & 0xFF), r() as usize))
                .collect(),
        );
        // few distinct top values, each group large
        check(
            (0..n)
                .map(|i| ((r() % 3) << 62 | (r() & 0xFF), i))
                .collect(),
        );
    }
}
