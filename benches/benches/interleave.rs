//! The interleave kernels at a full join's size (1M left items, a tenth of them dropped,
//! merged with 1.5M right items at random): a column built anew (`interleave_into`,
//! `interleave_var_into`: what a join did before it wrote into its own buffers) against
//! the same merge into the left column's own buffers (`interleave_in_place`,
//! `interleave_var_in_place`), for `u64` items and for 10-byte items in the Arrow layout;
//! the plan in one part of four-byte picks and in parts of two-byte picks (as the full
//! join plans it).

use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use pluriverse_benches::SplitMix;
use pluriverse_kernels::interleave::{
    interleave_in_place, interleave_into, interleave_var_in_place, interleave_var_into, AnyPick,
    CheckedPlan, Part, Pick16, Pick32, VarSlice,
};

const LEFT: usize = 1_000_000;
const RIGHT: usize = 1_500_000;
/// Left items of one two-byte part (the join's parts are at most 2^14 rows of the longer
/// side; this cuts the left side at that size).
const PART_LEFT: usize = 1 << 13;

/// The merge as `(is_right, index)`: left items kept with probability 0.9, in order, and
/// every right item, in order, interleaved at random.
fn merge(g: &mut SplitMix) -> Vec<(bool, usize)> {
    let (mut l, mut r, mut out) = (0, 0, Vec::with_capacity(LEFT + RIGHT));
    while l < LEFT || r < RIGHT {
        let right = r < RIGHT && (l == LEFT || g.next_u64() % 5 < 3);
        if right {
            out.push((true, r));
            r += 1;
        } else {
            if !g.next_u64().is_multiple_of(10) {
                out.push((false, l));
            }
            l += 1;
        }
    }
    out
}

/// The merge in parts of picks of type `Q`, a new part at the first left item `part_left`
/// or more past the part's first,
/// counting from the part's first item of each side.
fn parts<Q: AnyPick>(flat: &[(bool, usize)], part_left: usize) -> Vec<Part<Q>> {
    let mut out: Vec<Part<Q>> = vec![];
    let (mut next_l, mut next_r) = (0, 0);
    for &(right, i) in flat {
        let cut = !right && out.last().is_some_and(|p| i - p.left >= part_left);
        if out.is_empty() || cut {
            out.push(Part {
                left: if right { next_l } else { i },
                right: next_r,
                picks: vec![],
            });
        }
        let p = out.last_mut().expect("a part");
        if right {
            p.picks.push(Q::right(i - p.right));
            next_r = i + 1;
        } else {
            p.picks.push(Q::left(i - p.left));
            next_l = i + 1;
        }
    }
    out
}

/// 10-byte items in the Arrow layout.
fn strings(g: &mut SplitMix, n: usize) -> (Vec<u64>, Vec<u8>) {
    let mut values = Vec::with_capacity(n * 10);
    let mut offsets = Vec::with_capacity(n + 1);
    offsets.push(0);
    for _ in 0..n {
        values.extend_from_slice(&g.next_u64().to_le_bytes());
        values.extend_from_slice(&(g.next_u64() as u16).to_le_bytes());
        offsets.push(values.len() as u64);
    }
    (offsets, values)
}

fn bench_interleave(c: &mut Criterion) {
    let mut g = SplitMix(0x1e4e);
    let flat = merge(&mut g);
    let whole: Vec<Part<Pick32>> = parts(&flat, usize::MAX);
    let narrow: Vec<Part<Pick16>> = parts(&flat, PART_LEFT);
    let left: Vec<u64> = (0..LEFT).map(|_| g.next_u64()).collect();
    let right: Vec<u64> = (0..RIGHT).map(|_| g.next_u64()).collect();
    let (lo, lv) = strings(&mut g, LEFT);
    let (ro, rv) = strings(&mut g, RIGHT);
    let rs = VarSlice {
        offsets: &ro,
        values: &rv,
    };

    let mut grp = c.benchmark_group("interleave/1M+1.5M");
    grp.sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(4));
    grp.throughput(Throughput::Elements(flat.len() as u64));
    grp.bench_function("u64_new_column", |b| {
        b.iter(|| {
            let mut out = Vec::new();
            for p in &whole {
                interleave_into(&left[p.left..], &right[p.right..], &p.picks, &mut out).unwrap();
            }
            out
        })
    });
    let in_place =
        |name: &str, grp: &mut criterion::BenchmarkGroup<'_, _>, plan: &dyn Fn(&mut Vec<u64>)| {
            grp.bench_function(name, |b| {
                b.iter_batched(
                    || left.clone(),
                    |mut col| {
                        plan(&mut col);
                        col
                    },
                    BatchSize::LargeInput,
                )
            });
        };
    let checked = CheckedPlan::new(&whole, LEFT, RIGHT).unwrap();
    in_place("u64_in_place_pick32", &mut grp, &|col| {
        interleave_in_place(col, &right, &checked).unwrap()
    });
    let checked16 = CheckedPlan::new(&narrow, LEFT, RIGHT).unwrap();
    in_place("u64_in_place_pick16_parts", &mut grp, &|col| {
        interleave_in_place(col, &right, &checked16).unwrap()
    });
    grp.bench_function("strings_new_column", |b| {
        let ls = VarSlice {
            offsets: &lo,
            values: &lv,
        };
        b.iter(|| {
            let (mut o, mut v) = (vec![0u64], Vec::new());
            for p in &whole {
                interleave_var_into(
                    ls.from_item(p.left),
                    rs.from_item(p.right),
                    &p.picks,
                    &mut o,
                    &mut v,
                )
                .unwrap();
            }
            (o, v)
        })
    });
    grp.bench_function("strings_in_place_pick32", |b| {
        b.iter_batched(
            || (lo.clone(), lv.clone()),
            |(mut o, mut v)| {
                interleave_var_in_place(&mut o, &mut v, rs, &checked).unwrap();
                (o, v)
            },
            BatchSize::LargeInput,
        )
    });
    grp.bench_function("strings_in_place_pick16_parts", |b| {
        b.iter_batched(
            || (lo.clone(), lv.clone()),
            |(mut o, mut v)| {
                interleave_var_in_place(&mut o, &mut v, rs, &checked16).unwrap();
                (o, v)
            },
            BatchSize::LargeInput,
        )
    });
    grp.finish();
}

criterion_group!(benches, bench_interleave);
criterion_main!(benches);
