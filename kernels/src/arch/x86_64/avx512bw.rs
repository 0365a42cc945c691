//! AVX-512F with BW, VL and DQ: the row kernels decide many rows per step.
//!
//! The generic row kernels (`vv::generic`) decide one row at a time where a row is a whole
//! number of vectors, with a mask test and a branch per row (and per vector, for early
//! exit), and write one verdict byte per row. Here a step decides up to 64 rows:
//!
//! 1. *Mask plane.* Each vector's compare mask (`vpcmpuq`/`vpcmpud` into a `k` register) is
//!    stored as it is, `LANES` bits, to a small buffer: bit `i` of the plane is counter
//!    `i` of the block, so a row of `G` counters is `G` consecutive bits.
//! 2. *Rows from the plane.* For `G` of 8, 16, 32 or 64, one `vptestm{b,w,d,q}` of 64
//!    plane bytes gives "some bit set" for `512 / G` rows at once: bit `r` of a mask
//!    register is row `r`'s verdict.
//! 3. *Verdicts.* Two masked byte moves (`vmovdqu8` zeroing, `vpaddb` under a mask) turn
//!    the row masks into up to 64 order codes (or `dominated` flags), written by one
//!    byte-masked store, which also handles the last, partial step.
//!
//! Rows that are a whole number of vectors and wider than [`FLAT_MAX_VECTORS`] are not
//! read in full up front: the plane holds only each row's *first* vector, which settles
//! most rows of random data (`dominated`: some counter of `a` less; `compare`: some less
//! and some greater); the rows it leaves open (bits of a mask, walked with `tzcnt`) read on
//! with an early exit. Rows where the verdict needs the whole row (`a` dominates `b`) pay
//! one pass over the row and one well-predicted test per vector.
//!
//! Merge and column minimum have no per-row verdicts; they are the generic algorithms
//! compiled with these features. Widths the plane does not cover (below 8, or not a power
//! of two and not a whole number of vectors) use the generic row kernels too.

use core::arch::x86_64::*;

use super::avx512::{U32x16, U64x8};
use crate::arch::Vector;
use crate::isa::Isa;
use crate::vv::generic;

/// Counters of one block of the flat mask plane (L1-resident with both inputs).
const BLOCK: usize = 2048;
/// Plane bytes: a block's bits and one step of slack (the last step reads 64 bytes).
const PLANE: usize = BLOCK / 8 + 64;
/// Rows of at most this many vectors are read whole into the plane; wider rows (a whole
/// number of vectors) put only their first vector there and finish the open ones alone.
const FLAT_MAX_VECTORS: usize = 2;

/// A 512-bit vector of the AVX-512 family, with what the mask-plane kernels add to
/// [`Vector`].
trait Wide: Vector {
    /// Bytes of one vector's lane mask (`LANES / 8`).
    const MASK_BYTES: usize;

    /// Stores the low `LANES` bits of `m` at `p` (`MASK_BYTES` bytes, unaligned).
    ///
    /// # Safety
    /// `p .. p + MASK_BYTES` is writable.
    unsafe fn put_mask(p: *mut u8, m: u64);

    /// The first `n < LANES` counters at `p`, the other lanes zero; reads only those `n`
    /// (masked-off lanes are not accessed, so they may lie past the buffer).
    ///
    /// # Safety
    /// The CPU supports AVX-512F; `p .. p + n` is readable.
    unsafe fn load_first(p: *const Self::Elem, n: usize) -> Self;

    /// Stores the first `n < LANES` lanes to `p`, touching nothing past them.
    ///
    /// # Safety
    /// The CPU supports AVX-512F; `p .. p + n` is writable.
    unsafe fn store_first(self, p: *mut Self::Elem, n: usize);
}

impl Wide for U64x8 {
    const MASK_BYTES: usize = 1;

    #[inline(always)]
    unsafe fn put_mask(p: *mut u8, m: u64) {
        // SAFETY: the caller guarantees one writable byte.
        unsafe { p.write(m as u8) }
    }
    #[inline(always)]
    unsafe fn load_first(p: *const u64, n: usize) -> Self {
        // SAFETY: the caller guarantees AVX-512F and `n` readable counters; the masked-off
        // lanes are not read (fault suppression).
        Self(unsafe { _mm512_maskz_loadu_epi64(low_bits(n) as u8, p.cast()) })
    }
    #[inline(always)]
    unsafe fn store_first(self, p: *mut u64, n: usize) {
        // SAFETY: the caller guarantees AVX-512F and `n` writable counters; the masked-off
        // lanes are not written.
        unsafe { _mm512_mask_storeu_epi64(p.cast(), low_bits(n) as u8, self.0) }
    }
}

impl Wide for U32x16 {
    const MASK_BYTES: usize = 2;

    #[inline(always)]
    unsafe fn put_mask(p: *mut u8, m: u64) {
        // SAFETY: the caller guarantees two writable bytes; no alignment needed.
        unsafe { p.cast::<u16>().write_unaligned(m as u16) }
    }
    #[inline(always)]
    unsafe fn load_first(p: *const u32, n: usize) -> Self {
        // SAFETY: as for `U64x8`.
        Self(unsafe { _mm512_maskz_loadu_epi32(low_bits(n) as u16, p.cast()) })
    }
    #[inline(always)]
    unsafe fn store_first(self, p: *mut u32, n: usize) {
        // SAFETY: as for `U64x8`.
        unsafe { _mm512_mask_storeu_epi32(p.cast(), low_bits(n) as u16, self.0) }
    }
}

/// The low `n` bits set (`n <= 64`).
#[inline(always)]
fn low_bits(n: usize) -> u64 {
    if n >= 64 {
        !0
    } else {
        (1u64 << n) - 1
    }
}

/// Bit `r` is set when some bit of group `r` (`G` bits: 8, 16, 32 or 64) of the 64 plane
/// bytes at `p` is set: `512 / G` rows in one `vptestm`.
///
/// # Safety
/// The CPU supports AVX-512F and BW; `p .. p + 64` is readable.
#[inline(always)]
unsafe fn groups_any<const G: usize>(p: *const u8) -> u64 {
    // SAFETY: the caller's promise.
    unsafe {
        let v = _mm512_loadu_si512(p.cast());
        match G {
            8 => _mm512_test_epi8_mask(v, v),
            16 => u64::from(_mm512_test_epi16_mask(v, v)),
            32 => u64::from(_mm512_test_epi32_mask(v, v)),
            _ => u64::from(_mm512_test_epi64_mask(v, v)),
        }
    }
}

/// Writes the verdicts of `n <= 64` rows from their row masks to `out`: order codes
/// (`lt` bit 0, `gt` bit 1) or, when `DOM`, `dominated` flags (1 where no `lt`). One
/// byte-masked store: nothing past `out + n` is touched.
///
/// # Safety
/// The CPU supports AVX-512F and BW; `out .. out + n` is writable.
#[inline(always)]
unsafe fn emit<const DOM: bool>(out: *mut u8, n: usize, lt: u64, gt: u64) {
    // SAFETY: the caller's promise; the store writes only the first `n` bytes.
    unsafe {
        let one = _mm512_set1_epi8(1);
        let v = if DOM {
            _mm512_maskz_mov_epi8(!lt, one)
        } else {
            let v = _mm512_maskz_mov_epi8(lt, one);
            _mm512_mask_add_epi8(v, gt, v, _mm512_set1_epi8(2))
        };
        _mm512_mask_storeu_epi8(out.cast(), low_bits(n), v);
    }
}

/// The masks of one vector pair at `a`, `b` into the planes at byte `at`; stores the max
/// into `a` when `STORE`.
///
/// # Safety
/// The CPU supports AVX-512F and BW; `LANES` counters at `a` and `b` (`a` writable when
/// `STORE`); `at + MASK_BYTES` bytes in each plane.
#[inline(always)]
unsafe fn one<V: Wide, const GT: bool, const STORE: bool>(
    a: *mut V::Elem,
    b: *const V::Elem,
    lt: *mut u8,
    gt: *mut u8,
    at: usize,
) {
    // SAFETY: the caller's promise.
    unsafe {
        let x = V::load(a);
        let y = V::load(b);
        V::put_mask(lt.add(at), x.lt_mask(y));
        if GT {
            V::put_mask(gt.add(at), y.lt_mask(x));
        }
        if STORE {
            x.max(y).store(a);
        }
    }
}

/// Mask planes of `n` consecutive counters (`n` a multiple of 8): bit `i` of `lt` when
/// `a[i] < b[i]`, of `gt` when `a[i] > b[i]`; the max into `a` when `STORE`. A last
/// partial vector is loaded (and stored) under a lane mask; its missing lanes compare
/// equal, so they set no bit.
///
/// # Safety
/// The CPU supports AVX-512F and BW; `n` counters at `a` and `b` (`a` writable when
/// `STORE`); each plane holds `n / 8 + MASK_BYTES` bytes.
#[inline(always)]
unsafe fn fill<V: Wide, const GT: bool, const STORE: bool>(
    a: *mut V::Elem,
    b: *const V::Elem,
    n: usize,
    lt: *mut u8,
    gt: *mut u8,
) {
    let l = V::LANES;
    let mb = V::MASK_BYTES;
    let full = n / l;
    let mut j = 0;
    // SAFETY: vector `j < full` covers counters `j * l .. (j + 1) * l <= n` and plane bytes
    // `j * mb .. (j + 1) * mb <= n / 8`; the tail reads and writes only its `rest` lanes.
    unsafe {
        while j + 4 <= full {
            for u in 0..4 {
                let k = (j + u) * l;
                one::<V, GT, STORE>(a.add(k), b.add(k), lt, gt, (j + u) * mb);
            }
            j += 4;
        }
        while j < full {
            one::<V, GT, STORE>(a.add(j * l), b.add(j * l), lt, gt, j * mb);
            j += 1;
        }
        let rest = n - full * l;
        if rest > 0 {
            let k = full * l;
            let x = V::load_first(a.add(k), rest);
            let y = V::load_first(b.add(k), rest);
            V::put_mask(lt.add(full * mb), x.lt_mask(y));
            if GT {
                V::put_mask(gt.add(full * mb), y.lt_mask(x));
            }
            if STORE {
                x.max(y).store_first(a.add(k), rest);
            }
        }
    }
}

/// Rows of `G` counters (8, 16, 32 or 64), every counter read: block by block into the
/// mask planes, then `512 / G` rows per plane test and verdict store.
///
/// # Safety
/// The CPU supports AVX-512F and BW; `rows * G` counters at `a` and `b` (`a` writable when
/// `STORE`); `rows` bytes at `out`.
#[inline(always)]
unsafe fn flat<V: Wide, const G: usize, const GT: bool, const STORE: bool, const DOM: bool>(
    a: *mut V::Elem,
    b: *const V::Elem,
    rows: usize,
    out: *mut u8,
) {
    let mut lt = [0u8; PLANE];
    let mut gt = [0u8; PLANE];
    let block_rows = BLOCK / G;
    let per_step = 512 / G;
    let mut row = 0;
    while row < rows {
        let nr = block_rows.min(rows - row);
        let off = row * G;
        // SAFETY: rows `row .. row + nr` lie inside the caller's buffers; the planes hold
        // `nr * G / 8 <= BLOCK / 8` bytes plus slack.
        unsafe {
            fill::<V, GT, STORE>(
                a.add(off),
                b.add(off),
                nr * G,
                lt.as_mut_ptr(),
                gt.as_mut_ptr(),
            )
        };
        let mut r = 0;
        let mut step = 0;
        while r < nr {
            let n = per_step.min(nr - r);
            // SAFETY: `step * 64 + 64 <= BLOCK / 8 + 64 = PLANE` (a block has at most
            // `BLOCK / 512` steps); rows `row + r .. row + r + n` are inside `out`.
            unsafe {
                let l = groups_any::<G>(lt.as_ptr().add(step * 64));
                let g = if GT {
                    groups_any::<G>(gt.as_ptr().add(step * 64))
                } else {
                    0
                };
                emit::<DOM>(out.add(row + r), n, l, g);
            }
            r += n;
            step += 1;
        }
        row += nr;
    }
}

/// Rows of `width` counters, a whole number (at least two) of vectors: each row's first
/// vector into the mask planes, 64 bytes of plane (64 rows of `u64`, 32 of `u32`) per
/// step; the rows the first vector leaves open read on alone, stopping once settled.
///
/// # Safety
/// The CPU supports AVX-512F and BW; `rows * width` counters at `a` and `b`;
/// `width % LANES == 0`; `rows` bytes at `out`. Nothing is written to `a`.
#[inline(always)]
unsafe fn first_then_rest<V: Wide, const GT: bool, const DOM: bool>(
    a: *const V::Elem,
    b: *const V::Elem,
    width: usize,
    rows: usize,
    out: *mut u8,
) {
    let l = V::LANES;
    let mb = V::MASK_BYTES;
    let per_step = 64 / mb;
    let mut lt = [0u8; 64];
    let mut gt = [0u8; 64];
    let mut row = 0;
    while row < rows {
        let n = per_step.min(rows - row);
        // SAFETY: rows `row .. row + n` lie inside the caller's buffers (each at least one
        // vector wide); plane bytes `i * mb < 64`; nothing is stored to `a` (`STORE` off).
        unsafe {
            for i in 0..n {
                let p = (row + i) * width;
                one::<V, GT, false>(
                    a.add(p).cast_mut(),
                    b.add(p),
                    lt.as_mut_ptr(),
                    gt.as_mut_ptr(),
                    i * mb,
                );
            }
        }
        // SAFETY: both planes are 64 bytes.
        let (mut lb, mut gb) = unsafe {
            if mb == 1 {
                (
                    groups_any::<8>(lt.as_ptr()),
                    if GT { groups_any::<8>(gt.as_ptr()) } else { 0 },
                )
            } else {
                (
                    groups_any::<16>(lt.as_ptr()),
                    if GT { groups_any::<16>(gt.as_ptr()) } else { 0 },
                )
            }
        };
        let live = low_bits(n);
        let mut open = if GT { !(lb & gb) } else { !lb } & live;
        while open != 0 {
            let i = open.trailing_zeros() as usize;
            open &= open - 1;
            let base = (row + i) * width;
            let (mut sl, mut sg) = (lb >> i & 1 != 0, gb >> i & 1 != 0);
            let mut k = l;
            // SAFETY: `base + k + l <= (row + i + 1) * width`, inside both buffers.
            unsafe {
                while k < width {
                    let x = V::load(a.add(base + k));
                    let y = V::load(b.add(base + k));
                    sl |= V::mask_any(x.lt_lanes(y));
                    if GT {
                        sg |= V::mask_any(y.lt_lanes(x));
                    }
                    k += l;
                    if sl && (!GT || sg) {
                        break;
                    }
                }
            }
            lb |= u64::from(sl) << i;
            gb |= u64::from(sg) << i;
        }
        // SAFETY: rows `row .. row + n` are inside `out`.
        unsafe { emit::<DOM>(out.add(row), n, lb, gb) };
        row += n;
    }
}

/// Which row kernel runs for `width`.
enum Path {
    /// [`flat`] with this group size.
    Flat(usize),
    /// [`first_then_rest`].
    FirstThenRest,
    /// The generic row kernels.
    Generic,
}

fn path<V: Wide>(width: usize, store: bool) -> Path {
    let l = V::LANES;
    if width.is_multiple_of(l) && width > FLAT_MAX_VECTORS * l && !store {
        Path::FirstThenRest
    } else if matches!(width, 8 | 16 | 32 | 64) {
        Path::Flat(width)
    } else {
        Path::Generic
    }
}

/// The row kernels for `V`: verdicts into `out` (codes, or flags when `DOM`). Returns
/// false, having done nothing, for a width the mask-plane kernels do not cover (the caller
/// runs the generic kernel then).
///
/// # Safety
/// The CPU supports AVX-512F, BW, VL and DQ; `rows * width` counters at `a` and `b`
/// (`a` writable when `STORE`), `width >= 1`, `rows` bytes at `out`.
#[inline(always)]
unsafe fn rows<V: Wide, const GT: bool, const STORE: bool, const DOM: bool>(
    a: *mut V::Elem,
    b: *const V::Elem,
    width: usize,
    rows: usize,
    out: *mut u8,
) -> bool {
    // SAFETY: the caller's promise; `path` gives `Flat(g)` only for `width == g` and
    // `FirstThenRest` only for a whole number of vectors without `STORE`.
    unsafe {
        match path::<V>(width, STORE) {
            Path::Flat(8) => flat::<V, 8, GT, STORE, DOM>(a, b, rows, out),
            Path::Flat(16) => flat::<V, 16, GT, STORE, DOM>(a, b, rows, out),
            Path::Flat(32) => flat::<V, 32, GT, STORE, DOM>(a, b, rows, out),
            Path::Flat(_) => flat::<V, 64, GT, STORE, DOM>(a, b, rows, out),
            Path::FirstThenRest => first_then_rest::<V, GT, DOM>(a, b, width, rows, out),
            Path::Generic => return false,
        }
    }
    true
}

/// One counter type's table: merge and column minimum generic, the row kernels above.
macro_rules! bw_set {
    ($name:ident, $vec:ty, $elem:ty) => {
        pub(crate) static $name: crate::vv::KernelSet<$elem> = {
            #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq")]
            unsafe fn merge(a: &mut [$elem], b: &[$elem]) {
                // SAFETY: the caller (KernelSet) checked the ISA and that the lengths match.
                unsafe { generic::zip_apply::<$vec, true>(a, b) }
            }
            #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq")]
            unsafe fn min_into(a: &mut [$elem], b: &[$elem]) {
                // SAFETY: as for `merge`.
                unsafe { generic::zip_apply::<$vec, false>(a, b) }
            }
            #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq")]
            unsafe fn compare(a: &[$elem], b: &[$elem], width: usize, out: &mut [u8]) {
                // SAFETY: the caller checked the ISA and the shapes
                // (`a.len() == b.len() == out.len() * width`); nothing is stored to `a`.
                unsafe {
                    let (pa, pb, n, po) = (
                        a.as_ptr().cast_mut(),
                        b.as_ptr(),
                        out.len(),
                        out.as_mut_ptr(),
                    );
                    if !rows::<$vec, true, false, false>(pa, pb, width, n, po) {
                        generic::compare::<$vec>(a, b, width, out)
                    }
                }
            }
            #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq")]
            unsafe fn merge_compare(a: &mut [$elem], b: &[$elem], width: usize, out: &mut [u8]) {
                // SAFETY: the caller checked the ISA and the shapes.
                unsafe {
                    let (pa, pb, n, po) = (a.as_mut_ptr(), b.as_ptr(), out.len(), out.as_mut_ptr());
                    if !rows::<$vec, true, true, false>(pa, pb, width, n, po) {
                        generic::merge_compare::<$vec>(a, b, width, out)
                    }
                }
            }
            #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq")]
            unsafe fn dominated(a: &[$elem], b: &[$elem], width: usize, out: &mut [bool]) {
                // SAFETY: the caller checked the ISA and the shapes; nothing is stored to
                // `a`; `out` is written only with the bytes 0 and 1, valid `bool`s.
                unsafe {
                    let (pa, pb, n) = (a.as_ptr().cast_mut(), b.as_ptr(), out.len());
                    if !rows::<$vec, false, false, true>(pa, pb, width, n, out.as_mut_ptr().cast())
                    {
                        generic::dominated::<$vec>(a, b, width, out)
                    }
                }
            }
            #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq")]
            unsafe fn column_min(m: &[$elem], width: usize, out: &mut [$elem]) {
                // SAFETY: the caller checked the ISA and the shapes.
                unsafe { generic::column_min::<$vec>(m, width, out) }
            }

            crate::vv::KernelSet {
                isa: Isa::Avx512Bw,
                merge,
                min_into,
                compare,
                merge_compare,
                dominated,
                column_min,
            }
        };
    };
}

bw_set!(U64, U64x8, u64);
bw_set!(U32, U32x16, u32);
