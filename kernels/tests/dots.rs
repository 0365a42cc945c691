//! Roaring dot-set kernels against a `BTreeSet<(replica, counter)>` oracle.

mod common;

use std::collections::BTreeSet;

use common::Rng;
use pluriverse_kernels::dots::{DotContext, DotSet, ReplicaDots};
use pluriverse_kernels::KernelError;
use roaring::RoaringTreemap;

type Oracle = BTreeSet<(u32, u64)>;

/// Counters from several regimes: small dense, around u32::MAX, near u64::MAX.
fn counter(g: &mut Rng) -> u64 {
    match g.below(4) {
        0 => (1u64 << 32) - 8 + g.below(16),
        1 => u64::MAX - g.below(8),
        _ => 1 + g.below(40),
    }
}

/// The oracle's view of a context's prefix for one replica: largest n with 1..=n present.
fn oracle_prefix(o: &Oracle, r: u32) -> u64 {
    let mut n = 0;
    while o.contains(&(r, n + 1)) {
        n += 1;
    }
    n
}

fn check_against(ctx: &DotContext, o: &Oracle, g: &mut Rng) {
    // canonical representation
    for (r, d) in ctx.replicas().iter().enumerate() {
        let r = r as u32;
        assert_eq!(d.prefix(), oracle_prefix(o, r), "prefix of replica {r}");
        assert!(
            d.cloud().iter().all(|c| c > d.prefix() + 1),
            "cloud not canonical"
        );
        let count = o.range((r, 0)..=(r, u64::MAX)).count() as u64;
        assert_eq!(d.len(), count, "len of replica {r}");
    }
    // membership, single and batch, on present dots and random probes
    let mut reps = vec![];
    let mut ctrs = vec![];
    for &(r, c) in o.iter().take(200) {
        reps.push(r);
        ctrs.push(c);
    }
    for _ in 0..300 {
        reps.push(g.below(5) as u32);
        ctrs.push(if g.below(10) == 0 { 0 } else { counter(g) });
    }
    let mut out = vec![false; reps.len()];
    ctx.contains_batch(&reps, &ctrs, &mut out).unwrap();
    for i in 0..reps.len() {
        let want = o.contains(&(reps[i], ctrs[i]));
        assert_eq!(out[i], want, "contains_batch ({}, {})", reps[i], ctrs[i]);
        assert_eq!(ctx.contains(reps[i], ctrs[i]), want);
    }
}

#[test]
fn context_operations_match_oracle() {
    let mut g = Rng(11);
    for _ in 0..200 {
        let mut ctx = DotContext::new();
        let mut o = Oracle::new();
        for _ in 0..40 {
            let r = g.below(4) as u32;
            match g.below(4) {
                0 | 1 => {
                    let c = counter(&mut g);
                    assert_eq!(ctx.insert(r, c), o.insert((r, c)));
                }
                2 => {
                    let start = counter(&mut g);
                    let end = start.saturating_add(g.below(20));
                    let added = ctx.insert_range(r, start, end).unwrap();
                    let mut want = 0;
                    for c in start..=end {
                        want += u64::from(o.insert((r, c)));
                    }
                    assert_eq!(added, want);
                }
                _ => {
                    let mut other = DotContext::new();
                    for _ in 0..g.below(30) {
                        let (r, c) = (g.below(4) as u32, counter(&mut g));
                        other.insert(r, c);
                        o.insert((r, c));
                    }
                    if g.bool() {
                        other.insert_range(r, 1, g.below(30) + 1).unwrap();
                        for c in 1..=other.get(r).unwrap().prefix() {
                            o.insert((r, c));
                        }
                    }
                    ctx.union_with(&other);
                }
            }
            check_against(&ctx, &o, &mut g);
        }
    }
}

#[test]
fn filling_every_gap_compacts_to_a_version_vector() {
    let mut g = Rng(12);
    let n = 5000u64;
    let mut order: Vec<u64> = (1..=n).collect();
    for i in (1..order.len()).rev() {
        order.swap(i, g.below(i as u64 + 1) as usize);
    }
    let mut ctx = DotContext::new();
    for (i, &c) in order.iter().enumerate() {
        ctx.insert(3, c);
        if i + 1 < order.len() {
            assert!(ctx.cloud_len() + ctx.get(3).unwrap().prefix() == i as u64 + 1);
        }
    }
    assert!(ctx.is_compact());
    assert_eq!(ctx.version_vector(), vec![0, 0, 0, n]);
    assert_eq!(ctx.compact(), 0, "compact is idempotent");
}

#[test]
fn from_parts_canonicalizes() {
    let cloud: RoaringTreemap = [0u64, 2, 3, 4, 5, 9, 10].into_iter().collect();
    let d = ReplicaDots::from_parts(3, cloud);
    assert_eq!(d.prefix(), 5);
    assert_eq!(d.cloud().iter().collect::<Vec<_>>(), vec![9, 10]);
    assert_eq!(d, {
        let mut e = ReplicaDots::from_prefix(5);
        e.insert(10);
        e.insert(9);
        e
    });
}

#[test]
fn large_range_is_one_operation_and_exact_above_u32() {
    let mut d = ReplicaDots::new();
    let base = u64::from(u32::MAX) - 10;
    assert_eq!(d.insert_range(base, base + 1_000_000).unwrap(), 1_000_001);
    assert!(d.contains(base + 500_000) && !d.contains(base - 1));
    assert_eq!(d.insert_range(1, base - 1).unwrap(), base - 1);
    assert!(d.is_compact());
    assert_eq!(d.prefix(), base + 1_000_000);
}

#[test]
fn range_and_overflow_errors() {
    let mut ctx = DotContext::new();
    assert_eq!(
        ctx.insert_range(0, 0, 5),
        Err(KernelError::InvalidRange { start: 0, end: 5 })
    );
    assert_eq!(
        ctx.insert_range(0, 9, 5),
        Err(KernelError::InvalidRange { start: 9, end: 5 })
    );
    assert_eq!(ctx, DotContext::new());
    let mut d = ReplicaDots::new();
    assert_eq!(d.next_counter(7), Ok(1));
    d.insert(u64::MAX);
    assert_eq!(
        d.next_counter(7),
        Err(KernelError::CounterOverflow { replica: 7 })
    );
    assert!(!d.insert(0), "counter 0 is not a dot");
    let mut out = [false; 1];
    assert!(matches!(
        ctx.contains_batch(&[0, 1], &[1], &mut out),
        Err(KernelError::LengthMismatch { .. })
    ));
}

fn random_store(g: &mut Rng, o: &mut Oracle) -> DotSet {
    let mut s = DotSet::new();
    for _ in 0..g.below(60) {
        let (r, c) = (g.below(4) as u32, counter(g));
        s.insert(r, c);
        o.insert((r, c));
    }
    s
}

fn random_context(g: &mut Rng, o: &mut Oracle, store: &Oracle) -> DotContext {
    // a context covers its own store's dots plus other seen dots
    let mut c = DotContext::new();
    for &(r, k) in store {
        c.insert(r, k);
        o.insert((r, k));
    }
    for _ in 0..g.below(60) {
        let (r, k) = (g.below(4) as u32, counter(g));
        c.insert(r, k);
        o.insert((r, k));
    }
    if g.bool() {
        let r = g.below(4) as u32;
        let end = g.below(30) + 1;
        c.insert_range(r, 1, end).unwrap();
        for k in 1..=end {
            o.insert((r, k));
        }
    }
    c
}

#[test]
fn dot_store_join_matches_oracle() {
    let mut g = Rng(13);
    for _ in 0..500 {
        let (mut so, mut so2, mut co, mut co2) =
            (Oracle::new(), Oracle::new(), Oracle::new(), Oracle::new());
        let s = random_store(&mut g, &mut so);
        let s2 = random_store(&mut g, &mut so2);
        let c = random_context(&mut g, &mut co, &so);
        let c2 = random_context(&mut g, &mut co2, &so2);
        let want: Oracle = so
            .iter()
            .filter(|d| so2.contains(d) || !co2.contains(d))
            .chain(so2.iter().filter(|d| so.contains(d) || !co.contains(d)))
            .copied()
            .collect();
        let got = DotSet::join(&s, &c, &s2, &c2);
        let got_set: Oracle = got
            .replicas()
            .iter()
            .enumerate()
            .flat_map(|(r, b)| b.iter().map(move |k| (r as u32, k)))
            .collect();
        assert_eq!(got_set, want);
        assert_eq!(got.len(), want.len() as u64);
        // commutative
        assert_eq!(
            DotSet::join(&s2, &c2, &s, &c).replicas().len().max(1),
            got.replicas().len().max(1)
        );
        let back: Oracle = DotSet::join(&s2, &c2, &s, &c)
            .replicas()
            .iter()
            .enumerate()
            .flat_map(|(r, b)| b.iter().map(move |k| (r as u32, k)))
            .collect();
        assert_eq!(back, want);
    }
}

#[test]
fn big_join_takes_the_parallel_path_and_stays_exact() {
    // 4 replicas x 50K dots per side: above the parallel threshold.
    let mut g = Rng(14);
    let (mut s, mut s2, mut c, mut c2) = (
        DotSet::new(),
        DotSet::new(),
        DotContext::new(),
        DotContext::new(),
    );
    let (mut so, mut so2, mut co, mut co2) =
        (Oracle::new(), Oracle::new(), Oracle::new(), Oracle::new());
    for r in 0..4u32 {
        for k in 1..=50_000u64 {
            c.insert(r, k);
            co.insert((r, k));
            if g.below(4) != 0 {
                c2.insert(r, k);
                co2.insert((r, k));
            }
            if g.below(3) != 0 {
                s.insert(r, k);
                so.insert((r, k));
            }
            if co2.contains(&(r, k)) && g.below(3) != 0 {
                s2.insert(r, k);
                so2.insert((r, k));
            }
        }
    }
    let want = so
        .iter()
        .filter(|d| so2.contains(d) || !co2.contains(d))
        .chain(so2.iter().filter(|d| so.contains(d) || !co.contains(d)))
        .collect::<BTreeSet<_>>()
        .len() as u64;
    let got = DotSet::join(&s, &c, &s2, &c2);
    assert_eq!(got.len(), want);
    for &(r, k) in so.iter().step_by(97) {
        assert_eq!(
            got.contains(r, k),
            so2.contains(&(r, k)) || !co2.contains(&(r, k))
        );
    }
}

#[test]
fn cloud_runs_match_a_scan() {
    let mut g = Rng(15);
    for _ in 0..300 {
        let mut d = ReplicaDots::from_prefix(g.below(5));
        for _ in 0..g.below(40) {
            let start = counter(&mut g).max(1);
            let end = start.saturating_add(g.below(5));
            d.insert_range(start, end).unwrap();
        }
        let mut naive: Vec<(u64, u64)> = vec![];
        for c in d.cloud().iter() {
            match naive.last_mut() {
                Some((f, l)) if *f + *l == c => *l += 1,
                _ => naive.push((c, 1)),
            }
        }
        assert_eq!(d.cloud_runs(), naive);
    }
    // past 2^20 dots (the old code switched to rank queries there)
    for seed in 0..3 {
        let mut g = Rng(100 + seed);
        let mut d = ReplicaDots::from_prefix(g.below(3));
        d.insert_range(1000, 1000 + (1 << 20)).unwrap();
        for _ in 0..300 {
            let start = 5 + g.below(1 << 22);
            d.insert_range(start, start + g.below(3000)).unwrap();
        }
        d.insert_range(u64::MAX - g.below(4), u64::MAX).unwrap();
        let mut naive: Vec<(u64, u64)> = vec![];
        for c in d.cloud().iter() {
            match naive.last_mut() {
                Some((f, l)) if *f + *l == c => *l += 1,
                _ => naive.push((c, 1)),
            }
        }
        assert!(d.cloud().len() > 1 << 20);
        assert_eq!(d.cloud_runs(), naive);
    }
    let mut big = ReplicaDots::new();
    big.insert_range(10, 10 + (1 << 32)).unwrap();
    big.insert_range(u64::MAX - 3, u64::MAX).unwrap();
    assert_eq!(
        big.cloud_runs(),
        vec![(10, (1 << 32) + 1), (u64::MAX - 3, 4)]
    );
}

#[test]
fn without_matches_set_difference() {
    let mut g = Rng(77);
    for _ in 0..400 {
        let mut d = ReplicaDots::from_prefix(g.below(40));
        for _ in 0..g.below(10) {
            let start = 1 + g.below(80);
            d.insert_range(start, start + g.below(6)).unwrap();
        }
        let s: roaring::RoaringTreemap = (0..g.below(12)).map(|_| 1 + g.below(90)).collect();
        let want: std::collections::BTreeSet<u64> = (1..=200)
            .filter(|&c| d.contains(c) && !s.contains(c))
            .collect();
        let out = d.without(&s);
        let got: std::collections::BTreeSet<u64> = (1..=200).filter(|&c| out.contains(c)).collect();
        assert_eq!(got, want);
        // canonical: the prefix is as long as it can be
        assert!(!out.contains(out.prefix() + 1));
        assert_eq!(out.len(), want.len() as u64);
    }
}

/// The naive model of one replica's dots: a prefix and a set of counters beyond it, folded
/// by counting up (no bitmaps, no ranks), so it handles `u64::MAX` by plain arithmetic.
fn model_canonical(mut prefix: u64, mut cloud: BTreeSet<u64>) -> (u64, Vec<u64>) {
    cloud.retain(|&c| c > prefix);
    while prefix < u64::MAX && cloud.remove(&(prefix + 1)) {
        prefix += 1;
    }
    (prefix, cloud.into_iter().collect())
}

fn parts(d: &ReplicaDots) -> (u64, Vec<u64>) {
    (d.prefix(), d.cloud().iter().collect())
}

/// `union_with` and `from_parts` at the top of the counter space: a prefix of `u64::MAX`
/// on either side (hostile bytes can make one), clouds touching `u64::MAX`, small clouds
/// (inserted one by one) and large ones (bitmap union).
#[test]
fn union_at_u64_max_matches_the_model() {
    const M: u64 = u64::MAX;
    let prefixes = [0, 1, 5, M - 40, M - 20, M - 3, M - 2, M - 1, M];
    let clouds: Vec<Vec<u64>> = vec![
        vec![],
        vec![M],
        vec![M - 1, M],
        vec![M - 2],
        vec![3, 7, M],
        vec![2, 3, 4],
        (M - 30..=M).step_by(2).collect(), // 16 dots: the one-by-one path
        (M - 30..=M).collect(),            // 31 dots: the bitmap path
        (M - 60..=M - 19).collect(),       // 42 dots up to M - 19
        (1..=40).chain(M - 5..=M).collect(),
    ];
    let mut cases = 0;
    for &pa in &prefixes {
        for ca in &clouds {
            for &pb in &prefixes {
                for cb in &clouds {
                    let a_set: BTreeSet<u64> = ca.iter().copied().collect();
                    let b_set: BTreeSet<u64> = cb.iter().copied().collect();
                    let mut a = ReplicaDots::from_parts(pa, ca.iter().copied().collect());
                    let b = ReplicaDots::from_parts(pb, cb.iter().copied().collect());
                    assert_eq!(parts(&a), model_canonical(pa, a_set.clone()));
                    assert_eq!(parts(&b), model_canonical(pb, b_set.clone()));
                    a.union_with(&b);
                    let want = model_canonical(pa.max(pb), a_set.union(&b_set).copied().collect());
                    assert_eq!(parts(&a), want, "{pa} {ca:?} | {pb} {cb:?}");
                    assert_eq!(a.max(), want.1.last().copied().unwrap_or(want.0));
                    cases += 1;
                }
            }
        }
    }
    assert_eq!(cases, 8100);
    // through DotContext too
    let mut x = DotContext::new();
    x.insert_range(0, 1, M).unwrap();
    let mut y = DotContext::new();
    y.insert(0, M);
    y.insert(0, 9);
    x.union_with(&y);
    assert_eq!((x.version_vector(), x.cloud_len()), (vec![M], 0));
    y.union_with(&x);
    assert_eq!((y.version_vector(), y.cloud_len()), (vec![M], 0));
}

/// `without` with counter 0 in the removed set: 0 is not a dot, so it removes nothing.
#[test]
fn without_ignores_counter_zero() {
    for prefix in [0u64, 1, 4] {
        let d = ReplicaDots::from_prefix(prefix);
        let out = d.without(&RoaringTreemap::from_iter([0u64]));
        assert_eq!(out, d, "prefix {prefix}");
        let out = d.without(&RoaringTreemap::from_iter([0u64, 2]));
        let want = model_canonical(prefix.min(1), (3..=prefix).collect());
        assert_eq!(parts(&out), want, "prefix {prefix}");
    }
}

/// Issue 13's honest state: the replica received every other one of 51,200 batches of 64
/// dots, so its cloud has 25,600 runs and more than 2^20 dots. The runs are known by
/// construction (batch `i` is `64 i + 1 ..= 64 i + 64`; batch 0 is in the prefix), an
/// arithmetic reference independent of any bitmap walk. Before the fix `cloud_runs` cost a
/// few rank queries per run, each linear in the containers, so this took minutes in a
/// debug build; now it is one pass over the runs.
#[test]
fn cloud_runs_with_25600_gaps_match_the_batches() {
    const BATCH: u64 = 64;
    const BATCHES: u64 = 51_200;
    let mut d = ReplicaDots::new();
    for i in (0..BATCHES).step_by(2) {
        d.insert_range(BATCH * i + 1, BATCH * i + BATCH).unwrap();
    }
    let want: Vec<(u64, u64)> = (2..BATCHES)
        .step_by(2)
        .map(|i| (BATCH * i + 1, BATCH))
        .collect();
    assert_eq!(d.prefix(), BATCH);
    assert_eq!(want.len(), 25_599);
    assert!(d.cloud().len() > 1 << 20);
    assert_eq!(d.cloud_runs(), want);

    // the same shape above u32::MAX, where runs cross the treemap's 2^32 boundary
    let base = (1u64 << 32) - 10 * BATCH;
    let mut d = ReplicaDots::new();
    for i in (0..BATCHES).step_by(2) {
        d.insert_range(base + BATCH * i, base + BATCH * i + BATCH - 1)
            .unwrap();
    }
    let want: Vec<(u64, u64)> = (0..BATCHES)
        .step_by(2)
        .map(|i| (base + BATCH * i, BATCH))
        .collect();
    assert_eq!(d.cloud_runs(), want);
}

/// Runs that cross container (2^16) and bitmap (2^32) boundaries, a run ending at
/// `u64::MAX`, and every container kind (array, bitmap, run), against a naive scan.
#[test]
fn cloud_runs_across_boundaries_match_a_scan() {
    const M: u64 = u64::MAX;
    let scan = |d: &ReplicaDots| {
        let mut naive: Vec<(u64, u64)> = vec![];
        for c in d.cloud().iter() {
            match naive.last_mut() {
                Some((f, l)) if *f + *l == c => *l += 1,
                _ => naive.push((c, 1)),
            }
        }
        naive
    };
    let mut d = ReplicaDots::new();
    let ranges = [
        (65_530, 65_545),               // across a container boundary
        (131_072 - 1, 131_072),         // ends one container, starts the next
        (200_000, 200_000 + 70_000),    // spans a full (run) container
        ((1 << 32) - 3, (1 << 32) + 2), // across the 2^32 bitmap boundary
        ((2 << 32) - 1, (2 << 32) - 1), // last counter of a bitmap, alone
        ((3 << 32), (3 << 32)),         // first counter of a bitmap, alone
        (M - 70_000, M - 65_536),       // into the last container
        (M - 2, M),                     // up to u64::MAX
    ];
    for (s, e) in ranges {
        d.insert_range(s, e).unwrap();
    }
    // a bitmap container: every third counter of one container
    for c in (400_000..400_000 + 60_000).step_by(3) {
        d.insert(c);
    }
    assert_eq!(d.cloud_runs(), scan(&d));
    let n = d.cloud_runs().len();
    assert!(n > 20_000, "{n}");
    assert_eq!(d.cloud_runs().last(), Some(&(M - 2, 3)));
    // and after roaring's run optimization changed the containers' kinds
    let mut c = d.cloud().clone();
    c.optimize();
    let o = ReplicaDots::from_parts(d.prefix(), c);
    assert_eq!(o.cloud_runs(), scan(&d));
    // a single run of 2^32 + 1 dots across a bitmap boundary stays one run
    let mut big = ReplicaDots::new();
    big.insert_range(10, 10 + (1 << 32)).unwrap();
    assert_eq!(big.cloud_runs(), vec![(10, (1 << 32) + 1)]);
}
