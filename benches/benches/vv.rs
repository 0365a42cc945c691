//! Version-vector kernels against the memory limit (a plain copy / read of the same bytes),
//! the naive scalar loop, each pinned instruction set, rayon, and the `crdts` crate's
//! `VClock` — all in the same group, same data, same run.
//!
//! `PLURIVERSE_BENCH_SIZES=4k,1m,10m` picks the row counts (default: all three).

use std::cmp::Ordering;
use std::hint::black_box;
use std::time::Duration;

use crdts::{CvRDT, Dot, VClock};
use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};
use pluriverse_benches::vv_pair;
use pluriverse_kernels::vv::{self, KernelSet};
use pluriverse_kernels::Isa;

const WIDTHS: [usize; 4] = [4, 8, 16, 64];

fn sizes() -> Vec<usize> {
    let spec = std::env::var("PLURIVERSE_BENCH_SIZES").unwrap_or_else(|_| "4k,1m,10m".into());
    spec.split(',')
        .filter_map(|s| match s.trim() {
            "4k" => Some(4096),
            "1m" => Some(1 << 20),
            "10m" => Some(10_000_000),
            _ => None,
        })
        .collect()
}

fn widths_for(rows: usize) -> Vec<usize> {
    // 10M x 64 counters is 5 GB per matrix: past what three buffers can hold here.
    WIDTHS
        .into_iter()
        .filter(|w| rows * w <= 200_000_000)
        .collect()
}

fn label(rows: usize, width: usize) -> String {
    let r = match rows {
        4096 => "4K".to_string(),
        1_048_576 => "1M".to_string(),
        10_000_000 => "10M".to_string(),
        n => n.to_string(),
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
    } else {
        g.warm_up_time(Duration::from_millis(500))
            .measurement_time(Duration::from_secs(2));
    }
    g
}

fn bench_merge(c: &mut Criterion) {
    for rows in sizes() {
        for width in widths_for(rows) {
            let (a0, b) = vv_pair(rows, width, 1);
            let mut a = a0.clone();
            let bytes = (a.len() * 8) as u64;
            let id = label(rows, width);
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
            if rows <= 1 << 20 {
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
}

fn bench_compare(c: &mut Criterion) {
    for rows in sizes() {
        for width in widths_for(rows) {
            let (a0, b) = vv_pair(rows, width, 2);
            let mut out = vec![0u8; rows];
            let bytes = (a0.len() * 8) as u64;
            let id = label(rows, width);
            let mut g = configure(c, &format!("vv_compare/{id}"), rows);
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
            if rows <= 1 << 20 {
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

criterion_group!(benches, bench_par_threshold, bench_merge, bench_compare);
criterion_main!(benches);
