//! Every version-vector implementation against the naive oracle, on seeded random inputs and
//! on the edges (empty, one row, odd widths, unaligned slices, u64::MAX), plus the join laws.

mod common;

use common::{vv as oracle, Counters, Rng};
use pluriverse_kernels::vv::{self, KernelSet, AFTER, BEFORE, CONCURRENT, EQUAL};
use pluriverse_kernels::{Counter, Isa, KernelError};

fn widths() -> Vec<usize> {
    let mut w: Vec<usize> = (1..=67).collect();
    w.push(1024);
    w
}

fn row_counts(width: usize) -> Vec<usize> {
    if width >= 1024 {
        vec![0, 1, 2, 3, 5]
    } else if width > 16 {
        vec![0, 1, 2, 7, 33, 130]
    } else {
        (0..=130).collect()
    }
}

/// Matrices whose rows are a mix of equal, before, after and concurrent, with edge values.
fn gen_pair<T: Counter + From<u8>>(
    g: &mut Rng,
    n: usize,
    conv: impl Fn(u64) -> T,
) -> (Vec<T>, Vec<T>) {
    let mode = g.below(4);
    let mut a = Vec::with_capacity(n);
    let mut b = Vec::with_capacity(n);
    for _ in 0..n {
        let x = conv(g.counter());
        let y = match mode {
            0 => x, // all equal
            1 => {
                if g.below(8) == 0 {
                    conv(g.counter())
                } else {
                    x
                }
            } // mostly equal
            _ => conv(g.counter()),
        };
        a.push(x);
        b.push(y);
    }
    (a, b)
}

/// Runs `check` on every available family with slices starting at every offset 0..4;
/// returns the families it ran.
fn each_impl<T: Counter>(mut check: impl FnMut(&'static KernelSet<T>, usize)) -> Vec<Isa> {
    let mut ran = vec![];
    for isa in Isa::available() {
        let k = KernelSet::<T>::for_isa(isa).expect("available family has kernels");
        assert_eq!(k.isa(), isa);
        for offset in 0..4 {
            check(k, offset);
        }
        ran.push(isa);
    }
    ran
}

fn differential<T: Counter + From<u8>>(conv: impl Fn(u64) -> T + Copy, max: T) -> Vec<Isa> {
    let mut ran = vec![];
    let mut g = Rng(0x5EED ^ std::mem::size_of::<T>() as u64);
    for width in widths() {
        for rows in row_counts(width) {
            let n = rows * width;
            let (a0, b0) = gen_pair(&mut g, n, conv);
            let want_cmp = oracle::compare(&a0, &b0, width);
            let want_dom = oracle::dominated(&a0, &b0, width);
            let want_min = oracle::column_min(&a0, width, max);
            let mut want_merge = a0.clone();
            oracle::merge(&mut want_merge, &b0);

            ran = each_impl::<T>(|k, off| {
                // copy into buffers at an odd offset so nothing is vector-aligned
                let mut abuf = vec![T::ZERO; n + off];
                let mut bbuf = vec![T::ZERO; n + off];
                abuf[off..].copy_from_slice(&a0);
                bbuf[off..].copy_from_slice(&b0);
                let ctx = format!("{:?} width {width} rows {rows} offset {off}", k.isa());

                let mut out = vec![9u8; rows];
                k.compare(&abuf[off..], &bbuf[off..], width, &mut out)
                    .unwrap();
                assert_eq!(out, want_cmp, "compare {ctx}");

                let mut dom = vec![false; rows];
                k.dominated(&abuf[off..], &bbuf[off..], width, &mut dom)
                    .unwrap();
                assert_eq!(dom, want_dom, "dominated {ctx}");

                let mut mn = vec![T::ZERO; width];
                k.column_min(&abuf[off..], width, &mut mn).unwrap();
                assert_eq!(mn, want_min, "column_min {ctx}");

                let mut m = abuf.clone();
                k.merge(&mut m[off..], &bbuf[off..], width).unwrap();
                assert_eq!(&m[off..], &want_merge[..], "merge {ctx}");
                assert!(
                    m[..off].iter().all(|&x| x == T::ZERO),
                    "merge wrote before the slice"
                );

                let mut m = abuf.clone();
                let mut out = vec![9u8; rows];
                k.merge_compare(&mut m[off..], &bbuf[off..], width, &mut out)
                    .unwrap();
                assert_eq!(&m[off..], &want_merge[..], "merge_compare merge {ctx}");
                assert_eq!(out, want_cmp, "merge_compare codes {ctx}");
            });
        }
    }
    ran
}

#[test]
fn differential_u64() {
    let ran = differential::<u64>(|x| x, u64::MAX);
    common::report_families("differential_u64", &ran);
}

#[test]
fn differential_u32() {
    let ran = differential::<u32>(|x| (x ^ (x >> 32)) as u32, u32::MAX);
    common::report_families("differential_u32", &ran);
}

#[test]
fn every_family_this_cpu_has_is_tested() {
    let isas = Isa::available();
    assert!(isas.contains(&Isa::Portable));
    #[cfg(target_arch = "x86_64")]
    {
        assert!(isas.contains(&Isa::Sse2));
        assert_eq!(
            isas.contains(&Isa::Avx2),
            std::is_x86_feature_detected!("avx2")
        );
        assert_eq!(
            isas.contains(&Isa::Avx512),
            std::is_x86_feature_detected!("avx512f")
        );
        assert_eq!(
            isas.contains(&Isa::Avx512Bw),
            std::is_x86_feature_detected!("avx512f")
                && std::is_x86_feature_detected!("avx512bw")
                && std::is_x86_feature_detected!("avx512vl")
                && std::is_x86_feature_detected!("avx512dq")
        );
    }
    assert!(isas.contains(&Isa::best()));
    eprintln!(
        "families tested here: {isas:?}; dispatch uses {}",
        Isa::best()
    );
}

/// Safe code gets a kernel table exactly for the families this CPU runs: `for_isa` is
/// `None` for every other one, and its table is the family asked for. (That no safe path
/// reaches an unchecked table is a compile-time property: the `compile_fail` examples on
/// `Counter`.)
#[test]
fn for_isa_is_some_exactly_for_available_families() {
    fn check<T: Counter>() {
        for isa in [
            Isa::Portable,
            Isa::Sse2,
            Isa::Avx2,
            Isa::Avx512,
            Isa::Avx512Bw,
        ] {
            // an exhaustive match: a new family breaks this test until it is listed above
            match isa {
                Isa::Portable | Isa::Sse2 | Isa::Avx2 | Isa::Avx512 | Isa::Avx512Bw => {}
            }
            let available = isa.is_available();
            let k = KernelSet::<T>::for_isa(isa);
            assert_eq!(k.is_some(), available, "for_isa({isa})");
            if let Some(k) = k {
                assert_eq!(k.isa(), isa);
            }
            // SAFETY: the table is only inspected (its `isa`), never run, unless `isa`
            // is available.
            let unchecked = unsafe { KernelSet::<T>::for_isa_unchecked(isa) };
            #[cfg(target_arch = "x86_64")]
            assert!(unchecked.is_some(), "x86-64 builds compile every family");
            if let Some(u) = unchecked {
                assert_eq!(u.isa(), isa);
            }
        }
        let best = KernelSet::<T>::best();
        assert_eq!(best.isa(), Isa::best());
        assert!(best.isa().is_available());
        // cached: the same table every time
        assert!(std::ptr::eq(best, KernelSet::<T>::best()));
    }
    check::<u64>();
    check::<u32>();
}

#[test]
fn expected_families_are_enforced() {
    use common::check_expected_families as check;
    let ran = [Isa::Portable, Isa::Sse2];
    assert!(check(None, &ran).is_ok());
    assert!(check(Some("sse2".into()), &ran).is_ok());
    assert!(check(Some(" portable , sse2 ".into()), &ran).is_ok());
    assert!(check(Some("avx512".into()), &ran)
        .unwrap_err()
        .contains("avx512"));
    assert!(check(Some("sse2,avx2".into()), &ran).is_err());
    assert!(check(Some("neon".into()), &ran)
        .unwrap_err()
        .contains("unknown"));
}

#[test]
fn edge_values() {
    let width = 9;
    for rows in [1usize, 2, 17] {
        let n = rows * width;
        let cases: Vec<(Vec<u64>, Vec<u64>)> = vec![
            (vec![0; n], vec![0; n]),
            (vec![u64::MAX; n], vec![u64::MAX; n]),
            (vec![0; n], vec![u64::MAX; n]),
            (vec![u64::MAX; n], vec![0; n]),
            // differ only in the last counter of each row, by the top bit (sign-flip trap)
            (
                (0..n)
                    .map(|i| if i % width == width - 1 { 1 << 63 } else { 5 })
                    .collect(),
                (0..n)
                    .map(|i| {
                        if i % width == width - 1 {
                            (1 << 63) - 1
                        } else {
                            5
                        }
                    })
                    .collect(),
            ),
            // differ only in the high half of the counter (64-bit compare built from 32-bit)
            (
                (0..n).map(|i| (i as u64) << 32 | 0xFFFF_FFFF).collect(),
                (0..n)
                    .map(|i| ((i as u64) + (i % 2) as u64) << 32)
                    .collect(),
            ),
        ];
        for (a, b) in cases {
            let want = oracle::compare(&a, &b, width);
            let mut want_m = a.clone();
            oracle::merge(&mut want_m, &b);
            each_impl::<u64>(|k, _| {
                let mut out = vec![0u8; rows];
                k.compare(&a, &b, width, &mut out).unwrap();
                assert_eq!(out, want, "{:?}", k.isa());
                let mut m = a.clone();
                k.merge(&mut m, &b, width).unwrap();
                assert_eq!(m, want_m, "{:?}", k.isa());
            });
        }
    }
}

/// One or two counters decide each row, at every position: the kernels that stop a row
/// early (compare and dominated on wide rows) and the register-resident column minimum must
/// see a deciding counter wherever it is, in the first vector, the last, or a tail.
#[test]
fn a_single_counter_decides_at_every_position() {
    for width in [8usize, 15, 16, 24, 32, 40, 64, 72, 128] {
        let rows = 2 * width + 3;
        let (a, b) = single_counter_rows(width, rows, [6u64, 7, 8]);
        compare_and_dominated_match_the_oracle(&a, &b, width);
        // one small counter per column, in a different row for each column
        let mut m = vec![9u64; rows * width];
        for j in 0..width {
            m[((j * 5) % rows) * width + j] = j as u64;
        }
        let want_min = oracle::column_min(&m, width, u64::MAX);
        each_impl::<u64>(|k, _| {
            let mut mn = vec![0u64; width];
            k.column_min(&m, width, &mut mn).unwrap();
            assert_eq!(mn, want_min, "column_min {:?} width {width}", k.isa());
        });
    }
}

/// `rows` rows of `width` counters, `a` all `mid`, and `b` differing from it in row `r` at
/// position `r % width` (and, for rows past `width`, also at the position after it, the
/// other way), by `lo` or `hi` (`lo < mid < hi`).
fn single_counter_rows<T: Counter>(
    width: usize,
    rows: usize,
    [lo, mid, hi]: [T; 3],
) -> (Vec<T>, Vec<T>) {
    let a: Vec<T> = vec![mid; rows * width];
    let mut b = a.clone();
    for r in 0..rows {
        let p = r % width;
        b[r * width + p] = if r % 2 == 0 { hi } else { lo };
        if r >= width && p + 1 < width {
            b[r * width + p + 1] = if r % 2 == 0 { lo } else { hi };
        }
    }
    (a, b)
}

/// Every family's compare and dominated (both ways) of `a` and `b` against the oracle.
fn compare_and_dominated_match_the_oracle<T: Counter>(a: &[T], b: &[T], width: usize) {
    let rows = a.len() / width;
    let want = oracle::compare(a, b, width);
    let want_dom = oracle::dominated(a, b, width);
    let want_dom_rev = oracle::dominated(b, a, width);
    each_impl::<T>(|k, _| {
        let ctx = format!("{:?} width {width}", k.isa());
        let mut out = vec![9u8; rows];
        k.compare(a, b, width, &mut out).unwrap();
        assert_eq!(out, want, "compare {ctx}");
        let mut dom = vec![false; rows];
        k.dominated(a, b, width, &mut dom).unwrap();
        assert_eq!(dom, want_dom, "dominated {ctx}");
        k.dominated(b, a, width, &mut dom).unwrap();
        assert_eq!(dom, want_dom_rev, "dominated reversed {ctx}");
    });
}

#[test]
fn codes_are_the_documented_values() {
    assert_eq!((EQUAL, BEFORE, AFTER, CONCURRENT), (0, 1, 2, 3));
}

#[test]
fn invalid_shapes_are_errors_and_touch_nothing() {
    let mut a = vec![1u64, 2, 3, 4];
    let b = vec![5u64, 6, 7, 8];
    let mut out = vec![7u8; 2];
    assert_eq!(vv::merge(&mut a, &b, 0), Err(KernelError::ZeroWidth));
    assert!(matches!(
        vv::merge(&mut a, &b, 3),
        Err(KernelError::RaggedMatrix { .. })
    ));
    assert!(matches!(
        vv::merge(&mut a, &b[..3], 1),
        Err(KernelError::LengthMismatch { .. })
    ));
    assert!(matches!(
        vv::compare(&a, &b, 2, &mut out[..1]),
        Err(KernelError::LengthMismatch { what: "out", .. })
    ));
    assert!(matches!(
        vv::merge_compare(&mut a, &b, 4, &mut out),
        Err(KernelError::LengthMismatch { what: "out", .. })
    ));
    let mut dom = [false; 3];
    assert!(vv::dominated(&a, &b, 2, &mut dom).is_err());
    let mut mn = [0u64; 3];
    assert!(vv::column_min(&a, 2, &mut mn).is_err());
    assert!(vv::column_min(&a, 0, &mut mn[..0]).is_err());
    assert_eq!(a, [1, 2, 3, 4]);
    assert_eq!(out, [7, 7]);
    // the same through a pinned family
    let k = KernelSet::<u64>::best();
    assert_eq!(k.merge(&mut a, &b, 0), Err(KernelError::ZeroWidth));
    assert!(k.compare(&a, &b, 3, &mut out).is_err());
    assert_eq!(a, [1, 2, 3, 4]);
    // errors render readably
    let msg = vv::merge(&mut a, &b, 3).unwrap_err().to_string();
    assert!(msg.contains("width 3"), "{msg}");
}

#[test]
fn empty_batches_are_valid() {
    let mut a: Vec<u64> = vec![];
    vv::merge(&mut a, &[], 4).unwrap();
    let mut out: Vec<u8> = vec![];
    vv::compare(&a, &[], 4, &mut out).unwrap();
    vv::merge_compare(&mut a, &[], 4, &mut out).unwrap();
    let mut mn = [0u64; 4];
    vv::column_min(&a, 4, &mut mn).unwrap();
    assert_eq!(mn, [u64::MAX; 4]);
    assert!(vv::dominated_indices(&a, &[], 4).unwrap().is_empty());
}

/// The dispatching functions split big batches over rayon; the result must equal the oracle
/// (and so the single-threaded path) exactly, including rows straddling task boundaries.
#[test]
fn parallel_path_equals_oracle() {
    let mut g = Rng(77);
    for width in [1usize, 3, 8, 13, 64] {
        let rows = vv::PAR_MIN_COUNTERS / width + 1234;
        let (a, b) = gen_pair::<u64>(&mut g, rows * width, |x| x);
        let want_cmp = oracle::compare(&a, &b, width);
        let mut want_m = a.clone();
        oracle::merge(&mut want_m, &b);

        let mut out = vec![0u8; rows];
        vv::compare(&a, &b, width, &mut out).unwrap();
        assert_eq!(out, want_cmp, "compare width {width}");

        let mut m = a.clone();
        vv::merge(&mut m, &b, width).unwrap();
        assert_eq!(m, want_m, "merge width {width}");

        let mut m = a.clone();
        let mut out = vec![0u8; rows];
        vv::merge_compare(&mut m, &b, width, &mut out).unwrap();
        assert_eq!(
            (m == want_m, out == want_cmp),
            (true, true),
            "merge_compare {width}"
        );

        let mut dom = vec![false; rows];
        vv::dominated(&a, &b, width, &mut dom).unwrap();
        assert_eq!(dom, oracle::dominated(&a, &b, width));
        let idx = vv::dominated_indices(&a, &b, width).unwrap();
        let want_idx: Vec<u64> = (0..rows as u64).filter(|&i| !dom[i as usize]).collect();
        assert_eq!(idx, want_idx);

        let mut mn = vec![0u64; width];
        vv::column_min(&a, width, &mut mn).unwrap();
        assert_eq!(mn, oracle::column_min(&a, width, u64::MAX));
    }
}

// ---- the join laws, as property tests over seeded random vectors ----

fn random_rows(g: &mut Rng, rows: usize, width: usize) -> Vec<u64> {
    (0..rows * width).map(|_| g.below(6)).collect()
}

fn join(a: &[u64], b: &[u64], width: usize) -> Vec<u64> {
    let mut m = a.to_vec();
    vv::merge(&mut m, b, width).unwrap();
    m
}

#[test]
fn join_is_commutative() {
    let mut g = Rng(1);
    for width in [1, 3, 8, 19] {
        let (a, b) = (
            random_rows(&mut g, 200, width),
            random_rows(&mut g, 200, width),
        );
        assert_eq!(join(&a, &b, width), join(&b, &a, width));
    }
}

#[test]
fn join_is_associative() {
    let mut g = Rng(2);
    for width in [1, 3, 8, 19] {
        let a = random_rows(&mut g, 200, width);
        let b = random_rows(&mut g, 200, width);
        let c = random_rows(&mut g, 200, width);
        assert_eq!(
            join(&join(&a, &b, width), &c, width),
            join(&a, &join(&b, &c, width), width)
        );
    }
}

#[test]
fn join_is_idempotent() {
    let mut g = Rng(3);
    for width in [1, 3, 8, 19] {
        let a = random_rows(&mut g, 200, width);
        assert_eq!(join(&a, &a, width), a);
    }
}

#[test]
fn join_is_an_upper_bound() {
    // a <= a ⊔ b for every row: compare(a, a ⊔ b) is EQUAL or BEFORE
    let mut g = Rng(4);
    for width in [1, 3, 8, 19] {
        let (a, b) = (
            random_rows(&mut g, 200, width),
            random_rows(&mut g, 200, width),
        );
        let j = join(&a, &b, width);
        let mut out = vec![0u8; 200];
        vv::compare(&a, &j, width, &mut out).unwrap();
        assert!(out.iter().all(|&c| c == EQUAL || c == BEFORE));
        let mut dom = vec![false; 200];
        vv::dominated(&j, &a, width, &mut dom).unwrap();
        assert!(dom.iter().all(|&d| d));
    }
}

#[test]
fn compare_agrees_with_merge() {
    // a ⊔ b == b  iff  a <= b  (compare is EQUAL or BEFORE)
    let mut g = Rng(5);
    for width in [1, 2, 5, 8] {
        let rows = 500;
        let a = random_rows(&mut g, rows, width);
        // make b often dominate a so both sides of the iff occur
        let b: Vec<u64> = a
            .iter()
            .map(|&x| {
                if g.below(3) == 0 {
                    x.saturating_sub(1)
                } else {
                    x + g.below(2)
                }
            })
            .collect();
        let j = join(&a, &b, width);
        let mut out = vec![0u8; rows];
        vv::compare(&a, &b, width, &mut out).unwrap();
        for (r, &code) in out.iter().enumerate() {
            let row = r * width..(r + 1) * width;
            let join_is_b = j[row.clone()] == b[row];
            assert_eq!(join_is_b, code == EQUAL || code == BEFORE, "row {r}");
        }
    }
}

// ---- the row kernels that decide many rows per step (AVX-512BW's mask planes), on the
// shapes where their steps and blocks end, for both counter types ----

/// Rows around the mask-plane kernels' step (8 to 64 rows) and block (2048 counters)
/// boundaries, widths around the plane's group sizes and around whole vectors, random
/// data, data where `a` dominates `b` (every counter read) and equal rows; every family
/// against the oracle, `u64` and `u32`.
fn step_and_block_edges<T: Counter + From<u8>>(conv: impl Fn(u64) -> T + Copy) -> Vec<Isa> {
    let mut ran = vec![];
    let mut g = Rng(0xB10C ^ std::mem::size_of::<T>() as u64);
    for width in [
        7usize, 8, 9, 15, 16, 17, 24, 31, 32, 33, 48, 63, 64, 65, 96, 128, 136,
    ] {
        let block_rows = (2048 / width).max(1);
        let mut counts = vec![0, 1, 31, 32, 33, 63, 64, 65, 127, 128, 129];
        counts.extend([
            block_rows - 1,
            block_rows,
            block_rows + 1,
            2 * block_rows + 7,
        ]);
        for rows in counts {
            let n = rows * width;
            for data in 0..3 {
                let (a, b): (Vec<T>, Vec<T>) = match data {
                    0 => gen_pair(&mut g, n, conv),
                    // `a` dominates `b`: b = a or a - 1 per counter, so each verdict needs
                    // the whole row; one row in 8 gets a single greater counter of `b`
                    1 => {
                        let a: Vec<T> = (0..n).map(|_| conv(1 + g.below(1 << 30))).collect();
                        let mut b: Vec<T> = a
                            .iter()
                            .map(|&x| if g.below(2) == 0 { x } else { conv(0) })
                            .collect();
                        for r in 0..rows {
                            if g.below(8) == 0 {
                                let p = r * width + g.below(width as u64) as usize;
                                b[p] = conv(1 << 31);
                            }
                        }
                        (a, b)
                    }
                    _ => {
                        let a: Vec<T> = (0..n).map(|_| conv(g.counter())).collect();
                        (a.clone(), a)
                    }
                };
                let want_cmp = oracle::compare(&a, &b, width);
                let want_dom = oracle::dominated(&a, &b, width);
                let want_dom_rev = oracle::dominated(&b, &a, width);
                let mut want_m = a.clone();
                oracle::merge(&mut want_m, &b);
                ran = each_impl::<T>(|k, _| {
                    let ctx = format!("{:?} width {width} rows {rows} data {data}", k.isa());
                    // guard bytes after `out`: nothing past the last row is written
                    let mut out = vec![9u8; rows + 64];
                    k.compare(&a, &b, width, &mut out[..rows]).unwrap();
                    assert_eq!(&out[..rows], &want_cmp[..], "compare {ctx}");
                    assert!(
                        out[rows..].iter().all(|&x| x == 9),
                        "compare wrote past {ctx}"
                    );
                    let mut dom = vec![true; rows];
                    k.dominated(&a, &b, width, &mut dom).unwrap();
                    assert_eq!(dom, want_dom, "dominated {ctx}");
                    k.dominated(&b, &a, width, &mut dom).unwrap();
                    assert_eq!(dom, want_dom_rev, "dominated reversed {ctx}");
                    let mut m = a.clone();
                    m.extend(std::iter::repeat_n(T::ZERO, 16));
                    let mut out = vec![9u8; rows];
                    k.merge_compare(&mut m[..n], &b, width, &mut out).unwrap();
                    assert_eq!(&m[..n], &want_m[..], "merge_compare merge {ctx}");
                    assert!(
                        m[n..].iter().all(|&x| x == T::ZERO),
                        "merge wrote past {ctx}"
                    );
                    assert_eq!(out, want_cmp, "merge_compare codes {ctx}");
                });
            }
        }
    }
    ran
}

#[test]
fn row_kernels_at_step_and_block_edges_u64() {
    let ran = step_and_block_edges::<u64>(|x| x);
    common::report_families("row_kernels_at_step_and_block_edges_u64", &ran);
}

#[test]
fn row_kernels_at_step_and_block_edges_u32() {
    let ran = step_and_block_edges::<u32>(|x| (x ^ (x >> 32)) as u32);
    common::report_families("row_kernels_at_step_and_block_edges_u32", &ran);
}

/// The single deciding counter of `a_single_counter_decides_at_every_position`, for `u32`
/// (16 lanes per AVX-512 vector, two plane bytes per vector) and at widths below a vector.
#[test]
fn a_single_counter_decides_at_every_position_u32() {
    for width in [8usize, 12, 16, 24, 32, 48, 64, 80, 128] {
        let rows = 2 * width + 67;
        let (a, b) = single_counter_rows(width, rows, [6u32, 7, 8]);
        compare_and_dominated_match_the_oracle(&a, &b, width);
    }
}

/// Empty batches through every pinned family, at widths of each path.
#[test]
fn empty_batches_are_valid_in_every_family() {
    for width in [1usize, 4, 8, 16, 24, 64, 128] {
        each_impl::<u64>(|k, _| {
            let mut a: Vec<u64> = vec![];
            let mut out: Vec<u8> = vec![];
            k.compare(&a, &[], width, &mut out).unwrap();
            k.merge_compare(&mut a, &[], width, &mut out).unwrap();
            k.dominated(&a, &[], width, &mut []).unwrap();
            k.merge(&mut a, &[], width).unwrap();
            let mut mn = vec![0u64; width];
            k.column_min(&a, width, &mut mn).unwrap();
            assert!(mn.iter().all(|&x| x == u64::MAX));
        });
    }
}
