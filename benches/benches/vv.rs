//! Version-vector kernels against the memory limit (a plain copy / read of the same bytes),
//! the naive scalar loop, each pinned instruction set, rayon, and the `crdts` crate's
//! `VClock` — all in the same group, same data, same run.
//!
//! "Naive loop" is the plain loop a user would write (below), compiled for whatever target
//! the bench is built for: in a baseline x86-64 build that is SSE2 at most, and LLVM does
//! auto-vectorize some of them (merge; not the early-exit `dominated`).
//!
//! `PLURIVERSE_BENCH_SIZES=l1,4k,1m,10m` picks the sizes (default `4k,1m,10m`): `l1` is
//! 2048 counters per matrix whatever the width (16 KB, both inputs inside a 48 KB L1d);
//! `4k`, `1m`, `10m` are row counts (4K rows are L2-resident up to width 16).
//! `PLURIVERSE_BENCH_QUICK=1` shortens warm-up and measurement (for `vv_native.sh`).

use std::cmp::Ordering;
use std::hint::black_box;
use std::time::Duration;

use crdts::{CvRDT, Dot, VClock};
use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};
use pluriverse_benches::vv_pair;
use pluriverse_kernels::vv::{self, KernelSet};
use pluriverse_kernels::Isa;

const WIDTHS: [usize; 4] = [4, 8, 16, 64];
/// Counters per matrix of the `l1` size.
const L1_COUNTERS: usize = 2048;

/// A size: a fixed row count, or (`l1`) a fixed number of counters per matrix.
#[derive(Clone, Copy)]
enum Size {
    Rows(usize),
    L1,
}

fn sizes() -> Vec<Size> {
    let spec = std::env::var("PLURIVERSE_BENCH_SIZES").unwrap_or_else(|_| "4k,1m,10m".into());
    spec.split(',')
        .filter_map(|s| match s.trim() {
            "l1" => Some(Size::L1),
            "4k" => Some(Size::Rows(4096)),
            "1m" => Some(Size::Rows(1 << 20)),
            "10m" => Some(Size::Rows(10_000_000)),
            _ => None,
        })
        .collect()
}

/// `(rows, width)` of every bench of `size`.
fn shapes(size: Size) -> Vec<(usize, usize)> {
    WIDTHS
        .into_iter()
        .map(|w| match size {
            Size::L1 => (L1_COUNTERS / w, w),
            Size::Rows(r) => (r, w),
        })
        // 10M x 64 counters is 5 GB per matrix: past what three buffers can hold here.
        .filter(|(r, w)| r * w <= 200_000_000)
        .collect()
}

fn label(size: Size, rows: usize, width: usize) -> String {
    let r = match (size, rows) {
        (Size::L1, _) => "L1".to_string(),
        (_, 4096) => "4K".to_string(),
        (_, 1_048_576) => "1M".to_string(),
        (_, 10_000_000) => "10M".to_string(),
        (_, n) => n.to_string(),
    };
    format!("{r}x{width}")
}

fn naive_merge(a: &mut [u64], b: &[u64]) {
    for (x, &y) in a.iter_mut().zip(b) {
        *x = (*x).max(y);
    }
}

fn naive_compare(a: &[u64], b: &[u64], width: usize, out: &mut [u8]) {
    for ((x, y), o) in a.chunks_exact(width).zip(b.chunks_exact(width)).zip(out) {
        let (mut lt, mut gt) = (false, false);
        for (p, q) in x.iter().zip(y) {
            lt |= p < q;
            gt |= p > q;
        }
        *o = u8::from(lt) | (u8::from(gt) << 1);
    }
}

fn naive_dominated(a: &[u64], b: &[u64], width: usize, out: &mut [bool]) {
    for ((x, y), o) in a.chunks_exact(width).zip(b.chunks_exact(width)).zip(out) {
        *o = x.iter().zip(y).all(|(p, q)| q <= p);
    }
}

fn naive_column_min(m: &[u64], width: usize, out: &mut [u64]) {
    out.fill(u64::MAX);
    for row in m.chunks_exact(width) {
        for (o, &v) in out.iter_mut().zip(row) {
            *o = (*o).min(v);
        }
    }
}

/// Reads every counter of both inputs once: the memory limit of a compare.
fn read_both(a: &[u64], b: &[u64]) -> u64 {
    let mut acc = [0u64; 8];
    for (x, y) in a.chunks_exact(8).zip(b.chunks_exact(8)) {
        for k in 0..8 {
            acc[k] ^= x[k] ^ y[k];
        }
    }
    acc.iter().fold(0, |s, v| s ^ v)
}

fn clocks(m: &[u64], width: usize) -> Vec<VClock<u32>> {
    m.chunks_exact(width)
        .map(|row| {
            row.iter()
                .enumerate()
                .filter(|(_, &c)| c > 0)
                .map(|(j, &c)| Dot::new(j as u32, c))
                .collect()
        })
        .collect()
}

fn quick() -> bool {
    std::env::var("PLURIVERSE_BENCH_QUICK").is_ok()
}

fn configure<'a>(
    c: &'a mut Criterion,
    name: &str,
    rows: usize,
) -> criterion::BenchmarkGroup<'a, criterion::measurement::WallTime> {
    let mut g = c.benchmark_group(name);
    if rows >= 1 << 20 {
        g.sample_size(10)
            .warm_up_time(Duration::from_millis(500))
            .measurement_time(Duration::from_secs(3));
    } else if quick() {
        g.warm_up_time(Duration::from_millis(200))
            .measurement_time(Duration::from_millis(700));
    } else {
        g.warm_up_time(Duration::from_millis(500))
            .measurement_time(Duration::from_secs(2));
    }
    g
}

/// Every size's shapes with their labels.
fn all_shapes() -> Vec<(String, usize, usize)> {
    sizes()
        .into_iter()
        .flat_map(|s| {
            shapes(s)
                .into_iter()
                .map(move |(r, w)| (label(s, r, w), r, w))
        })
        .collect()
}

fn bench_merge(c: &mut Criterion) {
    // which family each figure ran: the pinned ones by name, `dispatch_rayon` this one
    eprintln!(
        "vv bench: families on this CPU {:?}; dispatch uses {}",
        Isa::available(),
        Isa::best()
    );
    for (id, rows, width) in all_shapes() {
        let (a0, b) = vv_pair(rows, width, 1);
        let mut a = a0.clone();
        let bytes = (a.len() * 8) as u64;
        let mut g = configure(c, &format!("vv_merge/{id}"), rows);
        // merge reads a and b and writes a: 3x the matrix bytes; copy reads b, writes a.
        g.throughput(Throughput::Bytes(3 * bytes));
        g.bench_function("copy_from_slice", |bn| {
            bn.iter(|| a.copy_from_slice(black_box(&b)))
        });
        a.copy_from_slice(&a0);
        g.bench_function("naive_loop", |bn| {
            bn.iter(|| naive_merge(black_box(&mut a), black_box(&b)))
        });
        for isa in Isa::available() {
            let k = KernelSet::<u64>::for_isa(isa).unwrap();
            a.copy_from_slice(&a0);
            g.bench_function(BenchmarkId::new("kernel", isa), |bn| {
                bn.iter(|| k.merge(black_box(&mut a), black_box(&b), width).unwrap())
            });
        }
        a.copy_from_slice(&a0);
        g.bench_function("dispatch_rayon", |bn| {
            bn.iter(|| vv::merge(black_box(&mut a), black_box(&b), width).unwrap())
        });
        if rows <= 1 << 20 && !quick() {
            let ca = clocks(&a0, width);
            let cb = clocks(&b, width);
            g.bench_function("crdts_vclock", |bn| {
                bn.iter_batched(
                    || (ca.clone(), cb.clone()),
                    |(mut x, y)| {
                        for (p, q) in x.iter_mut().zip(y) {
                            p.merge(q);
                        }
                        x
                    },
                    BatchSize::LargeInput,
                )
            });
        }
        g.finish();
    }
}

/// The bench data of the row kernels: `vv_pair`'s rows (mostly concurrent, so a row's
/// verdict is usually settled within its first few counters) or, for the `_whole` groups,
/// the same rows with `b` lowered to `min(a, b)`, so `a` dominates `b`: every row is
/// `AFTER` or `EQUAL` and dominated, and every verdict needs the whole row (no early exit,
/// for the naive loop or the kernels).
fn row_data(rows: usize, width: usize, seed: u64, whole: bool) -> (Vec<u64>, Vec<u64>) {
    let (a, mut b) = vv_pair(rows, width, seed);
    if whole {
        for (y, &x) in b.iter_mut().zip(&a) {
            *y = (*y).min(x);
        }
    }
    (a, b)
}

/// Random rows (`""`) and rows where `a` dominates `b` (`"_whole"`), for every shape.
fn row_cases() -> Vec<(&'static str, bool, String, usize, usize)> {
    let mut v = vec![];
    for (kind, whole) in [("", false), ("_whole", true)] {
        for (id, rows, width) in all_shapes() {
            // the dominating case only where it is cheap to run (the in-cache sizes)
            if whole && rows >= 1 << 20 {
                continue;
            }
            v.push((kind, whole, id, rows, width));
        }
    }
    v
}

fn bench_compare(c: &mut Criterion) {
    for (kind, whole, id, rows, width) in row_cases() {
        let (a0, b) = row_data(rows, width, 2, whole);
        let mut out = vec![0u8; rows];
        let bytes = (a0.len() * 8) as u64;
        let mut g = configure(c, &format!("vv_compare{kind}/{id}"), rows);
        g.throughput(Throughput::Bytes(2 * bytes));
        g.bench_function("read_both", |bn| {
            bn.iter(|| read_both(black_box(&a0), black_box(&b)))
        });
        g.bench_function("naive_loop", |bn| {
            bn.iter(|| naive_compare(black_box(&a0), black_box(&b), width, &mut out))
        });
        for isa in Isa::available() {
            let k = KernelSet::<u64>::for_isa(isa).unwrap();
            g.bench_function(BenchmarkId::new("kernel", isa), |bn| {
                bn.iter(|| {
                    k.compare(black_box(&a0), black_box(&b), width, &mut out)
                        .unwrap()
                })
            });
        }
        g.bench_function("dispatch_rayon", |bn| {
            bn.iter(|| vv::compare(black_box(&a0), black_box(&b), width, &mut out).unwrap())
        });
        let k = KernelSet::<u64>::best();
        let mut a = a0.clone();
        g.bench_function("merge_then_compare", |bn| {
            bn.iter(|| {
                k.compare(black_box(&a), black_box(&b), width, &mut out)
                    .unwrap();
                k.merge(black_box(&mut a), black_box(&b), width).unwrap();
            })
        });
        a.copy_from_slice(&a0);
        g.bench_function("merge_compare_fused", |bn| {
            bn.iter(|| {
                k.merge_compare(black_box(&mut a), black_box(&b), width, &mut out)
                    .unwrap()
            })
        });
        if rows <= 1 << 20 && !quick() {
            let ca = clocks(&a0, width);
            let cb = clocks(&b, width);
            g.bench_function("crdts_vclock", |bn| {
                bn.iter(|| {
                    for ((p, q), o) in ca.iter().zip(&cb).zip(out.iter_mut()) {
                        *o = match p.partial_cmp(q) {
                            Some(Ordering::Equal) => 0,
                            Some(Ordering::Less) => 1,
                            Some(Ordering::Greater) => 2,
                            None => 3,
                        };
                    }
                })
            });
        }
        g.finish();
    }
}

/// Dominated rows: the random data has rows where `b <= a` with probability `(3/4)^width`,
/// so the naive loop's early exit usually stops within a few counters; the `_whole` data
/// has every row dominated, so every loop reads every counter.
fn bench_dominated(c: &mut Criterion) {
    for (kind, whole, id, rows, width) in row_cases() {
        let (a0, b) = row_data(rows, width, 4, whole);
        let mut out = vec![false; rows];
        let bytes = (a0.len() * 8) as u64;
        let mut g = configure(c, &format!("vv_dominated{kind}/{id}"), rows);
        g.throughput(Throughput::Bytes(2 * bytes));
        g.bench_function("read_both", |bn| {
            bn.iter(|| read_both(black_box(&a0), black_box(&b)))
        });
        g.bench_function("naive_loop", |bn| {
            bn.iter(|| naive_dominated(black_box(&a0), black_box(&b), width, &mut out))
        });
        for isa in Isa::available() {
            let k = KernelSet::<u64>::for_isa(isa).unwrap();
            g.bench_function(BenchmarkId::new("kernel", isa), |bn| {
                bn.iter(|| {
                    k.dominated(black_box(&a0), black_box(&b), width, &mut out)
                        .unwrap()
                })
            });
        }
        g.bench_function("dispatch_rayon", |bn| {
            bn.iter(|| vv::dominated(black_box(&a0), black_box(&b), width, &mut out).unwrap())
        });
        g.finish();
    }
}

fn bench_column_min(c: &mut Criterion) {
    for (id, rows, width) in all_shapes() {
        let (m, _) = vv_pair(rows, width, 5);
        let mut out = vec![0u64; width];
        let bytes = (m.len() * 8) as u64;
        let mut g = configure(c, &format!("vv_column_min/{id}"), rows);
        g.throughput(Throughput::Bytes(bytes));
        g.bench_function("naive_loop", |bn| {
            bn.iter(|| naive_column_min(black_box(&m), width, &mut out))
        });
        for isa in Isa::available() {
            let k = KernelSet::<u64>::for_isa(isa).unwrap();
            g.bench_function(BenchmarkId::new("kernel", isa), |bn| {
                bn.iter(|| k.column_min(black_box(&m), width, &mut out).unwrap())
            });
        }
        g.bench_function("dispatch_rayon", |bn| {
            bn.iter(|| vv::column_min(black_box(&m), width, &mut out).unwrap())
        });
        g.finish();
    }
}

/// Where splitting over rayon starts to pay: single-threaded kernel against the dispatching
/// (splitting) call, forced to split, at sizes around the threshold.
fn bench_par_threshold(c: &mut Criterion) {
    if std::env::var("PLURIVERSE_BENCH_THRESHOLD").is_err() {
        return;
    }
    let k = KernelSet::<u64>::best();
    for counters in [1usize << 14, 1 << 16, 1 << 17, 1 << 18, 1 << 19, 1 << 20] {
        let (mut a, b) = vv_pair(counters / 8, 8, 3);
        let mut g = c.benchmark_group(format!("vv_par_threshold/{counters}"));
        g.warm_up_time(Duration::from_millis(300))
            .measurement_time(Duration::from_secs(1));
        g.bench_function("single", |bn| {
            bn.iter(|| k.merge(black_box(&mut a), &b, 8).unwrap())
        });
        g.bench_function("rayon_split", |bn| {
            bn.iter(|| {
                use rayon::prelude::*;
                a.par_chunks_mut(1 << 16)
                    .zip(b.par_chunks(1 << 16))
                    .for_each(|(x, y)| k.merge(x, y, 8).unwrap())
            })
        });
        let mut out = vec![0u8; counters / 8];
        g.bench_function("compare_single", |bn| {
            bn.iter(|| k.compare(black_box(&a), &b, 8, &mut out).unwrap())
        });
        g.bench_function("compare_rayon_split", |bn| {
            bn.iter(|| {
                use rayon::prelude::*;
                out.par_chunks_mut(1 << 13)
                    .zip(a.par_chunks(1 << 16).zip(b.par_chunks(1 << 16)))
                    .for_each(|(o, (x, y))| k.compare(x, y, 8, o).unwrap())
            })
        });
        g.finish();
    }
}

criterion_group!(
    benches,
    bench_par_threshold,
    bench_merge,
    bench_compare,
    bench_dominated,
    bench_column_min
);
criterion_main!(benches);
