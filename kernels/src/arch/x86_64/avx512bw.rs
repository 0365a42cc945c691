//! AVX-512F with BW, VL and DQ: the row kernels decide many rows per step.
//!
//! The generic row kernels (`vv::generic`) decide one row at a time where a row is a whole
//! number of vectors, with a mask test and a branch per row (and per vector, for early
//! exit), and write one verdict byte per row. Here a step decides up to 64 rows:
//!
//! 1. *Mask plane.* Each vector's compare mask (`vpcmpuq`/`vpcmpud` into a `k` register) is
//!    stored as it is (`kmovb`/`kmovw`, `LANES` bits) to a small buffer: bit `d + i` of the
//!    plane is counter `i` of the block, so a row of `G` counters is `G` consecutive bits.
//!    The vectors are aligned to 64 bytes in `a` (`d` lanes of offset, first and last
//!    vector under lane masks): unaligned 64-byte loads each span two cache lines.
//! 2. *Rows from the plane.* For `G` of 8, 16, 32 or 64, one `vptestm{b,w,d,q}` of 512
//!    plane bits (read at bit offset `d` with a funnel shift) gives "some bit set" for
//!    `512 / G` rows at once: bit `r` of a mask register is row `r`'s verdict. Groups of
//!    4 are spread to one per byte first (`vpmovzxbw` and a nibble shift), 64 rows a test.
//! 3. *Verdicts.* Two masked byte moves (`vmovdqu8` zeroing, `vpaddb` under a mask) turn
//!    the row masks into up to 64 order codes (or `dominated` flags), written by one
//!    byte-masked store, which also handles the last, partial step.
//!
//! That is the *flat* path, for widths 4, 8, 16, 32 and 64 (compare and merge+compare;
//! `dominated` up to [`FLAT_MAX_VECTORS`] vectors). `dominated` on wider rows that are a
//! whole number of vectors does not read them in full up front: the plane holds only each
//! row's *first* vector, which settles most rows of random data (some counter of `a`
//! less); the rows it leaves open (bits of a mask, walked with `tzcnt`) read on with an
//! early exit. Rows where the verdict needs the whole row (`a` dominates `b`) pay one pass
//! over the row and one well-predicted test per vector.
//!
//! Merge and column minimum have no per-row verdicts; they are the generic algorithms
//! compiled with these features. Widths the plane does not cover (1, 2, and widths that
//! are neither a power of two up to 64 nor a whole number of vectors) use the generic row
//! kernels too.

use core::arch::x86_64::*;

use super::avx512::{U32x16, U64x8};
use crate::arch::Vector;
use crate::isa::Isa;
use crate::vv::generic;

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

    /// The lanes of `LANES` counters at `p` whose bit is set in `m`, the other lanes zero.
    /// Masked-off lanes are not accessed (AVX-512 fault suppression), so they may lie
    /// outside the buffer, before it or past it.
    ///
    /// # Safety
    /// The CPU supports AVX-512F; `p + i` is readable for every lane `i` set in `m`.
    unsafe fn load_masked(p: *const Self::Elem, m: u64) -> Self;

    /// Stores the lanes set in `m` to `p`, touching no other lane's memory.
    ///
    /// # Safety
    /// The CPU supports AVX-512F; `p + i` is writable for every lane `i` set in `m`.
    unsafe fn store_masked(self, p: *mut Self::Elem, m: u64);
}

impl Wide for U64x8 {
    const MASK_BYTES: usize = 1;

    #[inline(always)]
    unsafe fn put_mask(p: *mut u8, m: u64) {
        // SAFETY: the caller guarantees one writable byte.
        unsafe { p.write(m as u8) }
    }
    #[inline(always)]
    unsafe fn load_masked(p: *const u64, m: u64) -> Self {
        // SAFETY: the caller guarantees AVX-512F and the lanes set in `m` readable; the
        // masked-off lanes are not read (fault suppression).
        Self(unsafe { _mm512_maskz_loadu_epi64(m as u8, p.cast()) })
    }
    #[inline(always)]
    unsafe fn store_masked(self, p: *mut u64, m: u64) {
        // SAFETY: the caller guarantees AVX-512F and the lanes set in `m` writable; the
        // masked-off lanes are not written.
        unsafe { _mm512_mask_storeu_epi64(p.cast(), m as u8, self.0) }
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
    unsafe fn load_masked(p: *const u32, m: u64) -> Self {
        // SAFETY: as for `U64x8`.
        Self(unsafe { _mm512_maskz_loadu_epi32(m as u16, p.cast()) })
    }
    #[inline(always)]
    unsafe fn store_masked(self, p: *mut u32, m: u64) {
        // SAFETY: as for `U64x8`.
        unsafe { _mm512_mask_storeu_epi32(p.cast(), m as u16, self.0) }
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

/// Mask planes of `n` consecutive counters, the vectors aligned to 64 bytes in `a`: plane
/// bit `d + i` is counter `i` (`d < LANES` the counters `a` lies past a 64-byte boundary),
/// set in `lt` when `a[i] < b[i]`, in `gt` when `a[i] > b[i]`; the max into `a` when
/// `STORE`. Aligned loads of `a` are what make this pay: unaligned, every 64-byte load of
/// both inputs spans two cache lines and the loads cost twice (1.7x in L1, measured). The
/// first and last vectors are loaded (and stored) under lane masks; lanes outside the
/// counters are not accessed and compare equal, so they set no bit.
///
/// # Safety
/// The CPU supports AVX-512F and BW; `n` counters at `a` and `b` (`a` writable when
/// `STORE`); `d` as above; each plane holds `(n + d).div_ceil(LANES) * MASK_BYTES` bytes.
#[inline(always)]
unsafe fn fill<V: Wide, const GT: bool, const STORE: bool>(
    a: *mut V::Elem,
    b: *const V::Elem,
    n: usize,
    d: usize,
    lt: *mut u8,
    gt: *mut u8,
) {
    let l = V::LANES;
    let mb = V::MASK_BYTES;
    let total = (n + d).div_ceil(l);
    if total == 0 {
        return;
    }
    // Vector `j` covers counters `j * l - d .. j * l - d + l`; `at(j)` is its first.
    let (a0, b0) = (a.wrapping_sub(d), b.wrapping_sub(d));
    // SAFETY (for the closure's callers): lanes set in `m` are counters inside `0 .. n`.
    let masked = |j: usize, m: u64| {
        // SAFETY: only lanes of `m` are accessed, each a counter in `0 .. n` of both
        // buffers; plane bytes `j * mb .. (j + 1) * mb` are inside the planes.
        unsafe {
            let x = V::load_masked(a0.wrapping_add(j * l), m);
            let y = V::load_masked(b0.wrapping_add(j * l), m);
            V::put_mask(lt.add(j * mb), x.lt_mask(y));
            if GT {
                V::put_mask(gt.add(j * mb), y.lt_mask(x));
            }
            if STORE {
                x.max(y).store_masked(a0.wrapping_add(j * l), m);
            }
        }
    };
    // the first vector: lanes `d ..` (and below `d + n` when it is also the last)
    masked(0, low_bits((d + n).min(l)) & !low_bits(d));
    if total == 1 {
        return;
    }
    let last = total - 1;
    let mut j = 1;
    // SAFETY: vectors `1 .. last` are whole: counters `j * l - d .. j * l - d + l <= n`
    // (only the last vector reaches past `n - 1`); plane bytes below `total * mb`.
    unsafe {
        while j + 4 <= last {
            for u in 0..4 {
                let k = (j + u) * l - d;
                one::<V, GT, STORE>(a.add(k), b.add(k), lt, gt, (j + u) * mb);
            }
            j += 4;
        }
        while j < last {
            let k = j * l - d;
            one::<V, GT, STORE>(a.add(k), b.add(k), lt, gt, j * mb);
            j += 1;
        }
    }
    // the last vector: counters `last * l - d .. n`
    masked(last, low_bits(n + d - last * l));
}

/// Bits `start .. start + 512` of the plane at `p` (`start % 64 < 64` bits past byte
/// `start / 64 * 8`), as a vector: two overlapping loads and a 64-bit lane funnel shift.
///
/// # Safety
/// The CPU supports AVX-512F; plane bytes `start / 8 .. start / 8 + 72` are readable.
#[inline(always)]
unsafe fn plane_at(p: *const u8, start: usize) -> __m512i {
    let (byte, sh) = (start / 64 * 8, (start % 64) as i64);
    // SAFETY: the caller's promise. A shift count of 64 (`sh == 0`) gives zero lanes.
    unsafe {
        let lo = _mm512_loadu_si512(p.add(byte).cast());
        let hi = _mm512_loadu_si512(p.add(byte + 8).cast());
        _mm512_or_si512(
            _mm512_srl_epi64(lo, _mm_cvtsi64_si128(sh)),
            _mm512_sll_epi64(hi, _mm_cvtsi64_si128(64 - sh)),
        )
    }
}

/// Rows per plane test of the flat kernel for groups of `G` bits: `512 / G`, at most 64.
const fn rows_per_step(g: usize) -> usize {
    if g >= 8 {
        512 / g
    } else {
        64
    }
}

/// Bit `r` is set when some bit of group `r` (`G` bits: 4, 8, 16, 32 or 64) of `v` is
/// set: [`rows_per_step`] rows in one `vptestm`. Groups of 4 (the low 256 bits of `v`)
/// are first spread to one per byte (`vpmovzxbw`, then each word's high nibble moved up to
/// its high byte).
///
/// # Safety
/// The CPU supports AVX-512F and BW.
#[inline(always)]
unsafe fn groups_of<const G: usize>(v: __m512i) -> u64 {
    // SAFETY: the caller's promise.
    unsafe {
        match G {
            4 => {
                let w = _mm512_cvtepu8_epi16(_mm512_castsi512_si256(v));
                let lo = _mm512_and_si512(w, _mm512_set1_epi16(0x000F));
                let hi = _mm512_slli_epi16::<4>(_mm512_and_si512(w, _mm512_set1_epi16(0x00F0)));
                let z = _mm512_or_si512(lo, hi);
                _mm512_test_epi8_mask(z, z)
            }
            8 => _mm512_test_epi8_mask(v, v),
            16 => u64::from(_mm512_test_epi16_mask(v, v)),
            32 => u64::from(_mm512_test_epi32_mask(v, v)),
            _ => u64::from(_mm512_test_epi64_mask(v, v)),
        }
    }
}

/// Counters of one block of the flat kernel (L1-resident with both inputs).
const BLOCK: usize = 2048;
/// Plane bytes of a block: its bits, up to 16 bits of alignment offset, a last vector's
/// mask, and the 72 bytes the last [`plane_at`] reads.
const PLANE: usize = BLOCK / 8 + 96;

/// Rows of `G` counters (4, 8, 16, 32 or 64), every counter read: block by block into the
/// mask planes (vectors aligned in `a`), then [`rows_per_step`] rows per plane test and
/// verdict store.
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
    let per_step = rows_per_step(G);
    let size = std::mem::size_of::<V::Elem>();
    let mut row = 0;
    while row < rows {
        let nr = block_rows.min(rows - row);
        let off = row * G;
        // SAFETY: `off` counters into the caller's buffer (pointer arithmetic only).
        let pa = unsafe { a.add(off) };
        let d = (pa as usize % 64) / size;
        // SAFETY: rows `row .. row + nr` lie inside the caller's buffers; the planes hold
        // `(nr * G + d).div_ceil(LANES) * MASK_BYTES <= BLOCK / 8 + 2` bytes.
        unsafe {
            fill::<V, GT, STORE>(pa, b.add(off), nr * G, d, lt.as_mut_ptr(), gt.as_mut_ptr())
        };
        let mut r = 0;
        while r < nr {
            let n = per_step.min(nr - r);
            // SAFETY: `plane_at` reads bytes below `(r * G + d) / 8 + 72 <= BLOCK / 8 - 64
            // + 2 + 72 < PLANE`; rows `row + r .. row + r + n` are inside `out`.
            unsafe {
                let l = groups_of::<G>(plane_at(lt.as_ptr(), r * G + d));
                let g = if GT {
                    groups_of::<G>(plane_at(gt.as_ptr(), r * G + d))
                } else {
                    0
                };
                emit::<DOM>(out.add(row + r), n, l, g);
            }
            r += n;
        }
        row += nr;
    }
}

/// Two steps' mask planes: 64 bytes each (one plane test), plus slack for a `u32` tail
/// vector's second byte. A step is tested while the next one is filled, so the 64 byte
/// stores of a plane have left the store buffer by the time one 64-byte load reads them
/// (a load that spans several in-flight stores waits until they are written).
#[derive(Clone, Copy)]
struct Planes {
    lt: [[u8; 66]; 2],
    gt: [[u8; 66]; 2],
}

impl Planes {
    fn new() -> Self {
        Self {
            lt: [[0; 66]; 2],
            gt: [[0; 66]; 2],
        }
    }
}

/// The row masks of step buffer `s`: bit `r` when some bit of plane group `r` (`G` bits)
/// is set, for `lt` and (when `GT`) `gt`.
///
/// # Safety
/// The CPU supports AVX-512F and BW.
#[inline(always)]
unsafe fn step_rows<const G: usize, const GT: bool>(p: &Planes, s: usize) -> (u64, u64) {
    // SAFETY: each plane is 66 >= 64 bytes; the ISA is the caller's promise.
    unsafe {
        (
            groups_any::<G>(p.lt[s].as_ptr()),
            if GT {
                groups_any::<G>(p.gt[s].as_ptr())
            } else {
                0
            },
        )
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
    let mb = V::MASK_BYTES;
    let per_step = 64 / mb;
    let mut planes = Planes::new();
    let mut pending: Option<(usize, usize, usize)> = None;
    let mut row = 0;
    let mut s = 0;
    while row < rows {
        let n = per_step.min(rows - row);
        // SAFETY: rows `row .. row + n` lie inside the caller's buffers (each at least one
        // vector wide); plane bytes `i * mb + mb <= 64`; nothing is stored to `a` (`STORE`
        // off).
        unsafe {
            for i in 0..n {
                let p = (row + i) * width;
                one::<V, GT, false>(
                    a.add(p).cast_mut(),
                    b.add(p),
                    planes.lt[s].as_mut_ptr(),
                    planes.gt[s].as_mut_ptr(),
                    i * mb,
                );
            }
        }
        if let Some((r0, n0, s0)) = pending {
            // SAFETY: the caller's promise, for rows `r0 .. r0 + n0`.
            unsafe { finish_step::<V, GT, DOM>(a, b, width, &planes, s0, r0, n0, out) };
        }
        pending = Some((row, n, s));
        row += n;
        s ^= 1;
    }
    if let Some((r0, n0, s0)) = pending {
        // SAFETY: as above.
        unsafe { finish_step::<V, GT, DOM>(a, b, width, &planes, s0, r0, n0, out) };
    }
}

/// One step of [`first_then_rest`]: the rows of the first vectors' plane `s`, rows
/// `row .. row + n`; the open ones read on from their second vector; then the verdicts.
///
/// # Safety
/// As [`first_then_rest`], with rows `row .. row + n` inside the buffers.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
unsafe fn finish_step<V: Wide, const GT: bool, const DOM: bool>(
    a: *const V::Elem,
    b: *const V::Elem,
    width: usize,
    planes: &Planes,
    s: usize,
    row: usize,
    n: usize,
    out: *mut u8,
) {
    let l = V::LANES;
    // SAFETY: the ISA is the caller's promise.
    let (mut lb, mut gb) = unsafe {
        if V::MASK_BYTES == 1 {
            step_rows::<8, GT>(planes, s)
        } else {
            step_rows::<16, GT>(planes, s)
        }
    };
    let live = low_bits(n);
    let mut open = if GT { !(lb & gb) } else { !lb } & live;
    while open != 0 {
        let i = open.trailing_zeros() as usize;
        open &= open - 1;
        let base = (row + i) * width;
        // the first vector's verdicts are known; the rest of the row through the generic
        // row loop (mask registers OR-accumulated, early exit once settled)
        let (sl, sg) = (lb >> i & 1 != 0, gb >> i & 1 != 0);
        // SAFETY: counters `base + l .. base + width` lie inside both buffers (row
        // `row + i`), a whole number of vectors; nothing is stored to `a`; the ISA is the
        // caller's promise.
        let (ml, mg) = unsafe {
            let x = std::slice::from_raw_parts(a.add(base + l), width - l);
            let y = std::slice::from_raw_parts(b.add(base + l), width - l);
            if GT {
                let mut code = [0u8];
                generic::compare::<V>(x, y, width - l, &mut code);
                (code[0] & 1 != 0, code[0] & 2 != 0)
            } else {
                let mut dom = [false];
                generic::dominated::<V>(x, y, width - l, &mut dom);
                (!dom[0], false)
            }
        };
        lb |= u64::from(sl || ml) << i;
        gb |= u64::from(sg || mg) << i;
    }
    // SAFETY: rows `row .. row + n` are inside `out`.
    unsafe { emit::<DOM>(out.add(row), n, lb, gb) };
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

/// The path for `width`: `gt` for the kernels that need the greater side too (compare,
/// merge+compare), `store` for merge+compare.
///
/// `compare` reads whole rows of up to 64 counters into the plane: it can stop a row only
/// once it has seen a lower *and* a greater counter, and the flat pass (no branch per row)
/// measured 5-7x the naive loop in L1 on random and on dominating rows alike, where
/// first-vector-then-rest ran 3.3x on dominating rows of 64. `dominated` can stop at the
/// first lower counter, which on random rows is usually in the first vector, so rows of
/// more than [`FLAT_MAX_VECTORS`] vectors read only that vector up front.
fn path<V: Wide>(width: usize, gt: bool, store: bool) -> Path {
    let l = V::LANES;
    let power = matches!(width, 4 | 8 | 16 | 32 | 64);
    if power && (gt || store || width <= FLAT_MAX_VECTORS * l) {
        Path::Flat(width)
    } else if width.is_multiple_of(l) && width > l && !store {
        Path::FirstThenRest
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
        match path::<V>(width, GT, STORE) {
            Path::Flat(4) => flat::<V, 4, GT, STORE, DOM>(a, b, rows, out),
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
