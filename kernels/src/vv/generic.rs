//! The version-vector algorithms, written once over the `Vector` trait; each ISA module
//! instantiates them inside a `#[target_feature]` function so the intrinsics inline.
//!
//! Row-wise kernels (compare, fused merge+compare, dominated) treat a block of rows as one
//! flat run of counters: vectors fill 64-bit lane-mask words regardless of where rows start,
//! then each row's verdict is an "any bit set" over its bit range. This keeps every vector
//! full for any width, including widths smaller than a vector or not dividing it.

use crate::arch::Vector;

/// Rows per block are chosen so a block spans about this many counters (L1-resident).
const BLOCK_ELEMS: usize = 2048;
/// Lane-mask words that fit a block on the stack.
const STACK_WORDS: usize = BLOCK_ELEMS / 64;
/// Rows wider than this many counters stop early once their verdict is settled.
const EARLY_EXIT_MIN_WIDTH: usize = 8;

/// `max` or `min` of two vectors (a function, not a closure, so it inlines under the
/// caller's target features).
///
/// # Safety
/// The CPU supports `V`'s ISA.
#[inline(always)]
unsafe fn apply<V: Vector, const MAX: bool>(x: V, y: V) -> V {
    // SAFETY: the caller guarantees the ISA.
    unsafe {
        if MAX {
            x.max(y)
        } else {
            x.min(y)
        }
    }
}

/// `a[i] = max(a[i], b[i])` when `MAX`, else `min`, for all `i`.
///
/// # Safety
/// The CPU supports `V`'s ISA. `a.len() == b.len()` (checked in debug builds).
#[inline(always)]
pub(crate) unsafe fn zip_apply<V: Vector, const MAX: bool>(a: &mut [V::Elem], b: &[V::Elem]) {
    debug_assert_eq!(a.len(), b.len());
    let n = a.len().min(b.len());
    let (pa, pb) = (a.as_mut_ptr(), b.as_ptr());
    let l = V::LANES;
    let mut i = 0;
    // SAFETY: every access below stays under `n`, which both slices cover.
    unsafe {
        // Eight vectors per trip (the constant inner loop unrolls): in L1 the loop overhead
        // of four per trip was measurable against `-C target-cpu=native`, whose tuning
        // unrolls eight.
        while i + 8 * l <= n {
            for u in 0..8 {
                let k = i + u * l;
                apply::<V, MAX>(V::load(pa.add(k)), V::load(pb.add(k))).store(pa.add(k));
            }
            i += 8 * l;
        }
        while i + l <= n {
            apply::<V, MAX>(V::load(pa.add(i)), V::load(pb.add(i))).store(pa.add(i));
            i += l;
        }
    }
    for j in i..n {
        a[j] = if MAX { a[j].max(b[j]) } else { a[j].min(b[j]) };
    }
}

/// Whether any bit in `start..start + len` of the bit string `words` is set (`len >= 1`).
#[inline(always)]
fn any_bits(words: &[u64], start: usize, len: usize) -> bool {
    let (w, off) = (start / 64, start % 64);
    if off + len <= 64 {
        let mask = if len == 64 { !0 } else { (1u64 << len) - 1 };
        return (words[w] >> off) & mask != 0;
    }
    if words[w] >> off != 0 {
        return true;
    }
    let end = start + len;
    let last = (end - 1) / 64;
    if words[w + 1..last].iter().any(|&x| x != 0) {
        return true;
    }
    let rem = end - last * 64;
    let mask = if rem == 64 { !0 } else { (1u64 << rem) - 1 };
    words[last] & mask != 0
}

/// Fills lane-mask words for `e` counters at `a`, `b`: bit `i` of `lt` when `a[i] < b[i]`,
/// of `gt` when `a[i] > b[i]`; stores `max` into `a` when `STORE`.
///
/// # Safety
/// The CPU supports `V`'s ISA; `a` and `b` cover `e` counters (`a` writable when `STORE`);
/// `lt` and `gt` hold at least `e.div_ceil(64)` words.
#[inline(always)]
unsafe fn fill_bits<V: Vector, const LT: bool, const GT: bool, const STORE: bool>(
    a: *mut V::Elem,
    b: *const V::Elem,
    e: usize,
    lt: &mut [u64],
    gt: &mut [u64],
) {
    let l = V::LANES;
    let full = e / 64;
    for word in 0..full {
        let base = word * 64;
        let (mut lw, mut gw) = (0u64, 0u64);
        // A constant trip count: the loop unrolls and every shift is an immediate.
        for j in 0..64 / V::LANES {
            let k = j * l;
            // SAFETY: `base + k + l <= full * 64 <= e`, inside both buffers; the ISA is the
            // caller's promise.
            unsafe {
                let x = V::load(a.add(base + k));
                let y = V::load(b.add(base + k));
                if LT {
                    lw |= x.lt_mask(y) << k;
                }
                if GT {
                    gw |= y.lt_mask(x) << k;
                }
                if STORE {
                    x.max(y).store(a.add(base + k));
                }
            }
        }
        if LT {
            lt[word] = lw;
        }
        if GT {
            gt[word] = gw;
        }
    }
    let base = full * 64;
    let span = e - base;
    if span == 0 {
        return;
    }
    let (mut lw, mut gw) = (0u64, 0u64);
    let mut k = 0;
    // SAFETY: `base + k (+ l) <= e`, inside both buffers; the ISA is the caller's promise.
    unsafe {
        while k + l <= span {
            let x = V::load(a.add(base + k));
            let y = V::load(b.add(base + k));
            if LT {
                lw |= x.lt_mask(y) << k;
            }
            if GT {
                gw |= y.lt_mask(x) << k;
            }
            if STORE {
                x.max(y).store(a.add(base + k));
            }
            k += l;
        }
        while k < span {
            let x = *a.add(base + k);
            let y = *b.add(base + k);
            if LT {
                lw |= u64::from(x < y) << k;
            }
            if GT {
                gw |= u64::from(x > y) << k;
            }
            if STORE && y > x {
                *a.add(base + k) = y;
            }
            k += 1;
        }
    }
    if LT {
        lt[full] = lw;
    }
    if GT {
        gt[full] = gw;
    }
}

/// Bit `k * w` of the result is set when any of bits `k * w .. k * w + w` of `x` is set
/// (`w` a power of two up to 64); all other bits are clear.
#[inline(always)]
fn fold_groups(x: u64, w: usize) -> u64 {
    let mut y = x;
    let mut s = 1;
    while s < w {
        y |= y >> s;
        s <<= 1;
    }
    const STRIDE: [u64; 7] = [
        !0,
        0x5555_5555_5555_5555,
        0x1111_1111_1111_1111,
        0x0101_0101_0101_0101,
        0x0001_0001_0001_0001,
        0x0000_0001_0000_0001,
        1,
    ];
    y & STRIDE[w.trailing_zeros() as usize]
}

/// Byte `i` of the result is bit `i` of `b` (`b < 256`): 0 or 1.
#[inline(always)]
fn spread8(b: u64) -> u64 {
    let x = (b * 0x0101_0101_0101_0101) & 0x8040_2010_0804_0201;
    ((x + 0x7F7F_7F7F_7F7F_7F7F) >> 7) & 0x0101_0101_0101_0101
}

/// Moves 8 two-bit codes at stride `w` (2, 4 or 8) to one code per byte.
#[inline(always)]
fn codes_to_bytes(z: u64, w: usize) -> u64 {
    match w {
        2 => {
            let x = (z | z << 24) & 0x0000_00FF_0000_00FF;
            let x = (x | x << 12) & 0x000F_000F_000F_000F;
            (x | x << 6) & 0x0303_0303_0303_0303
        }
        4 => {
            let x = (z | z << 16) & 0x0000_FFFF_0000_FFFF;
            let x = (x | x << 8) & 0x00FF_00FF_00FF_00FF;
            (x | x << 4) & 0x0F0F_0F0F_0F0F_0F0F
        }
        _ => z,
    }
}

/// Writes the order codes of `rows` rows of width `w` from lane-mask words into `out`.
/// Widths 1, 2, 4 and 8 turn mask bits into 8 codes at a time with shifts and masks (one
/// instance per width, so the shifts are immediates); other widths test each row's bit
/// range.
#[inline(always)]
fn emit_codes<const GT: bool>(lt: &[u64], gt: &[u64], w: usize, out: &mut [u8]) {
    match w {
        1 => emit_small::<GT, 1>(lt, gt, out),
        2 => emit_small::<GT, 2>(lt, gt, out),
        4 => emit_small::<GT, 4>(lt, gt, out),
        8 => emit_small::<GT, 8>(lt, gt, out),
        _ => {
            for (j, o) in out.iter_mut().enumerate() {
                let s = j * w;
                *o = u8::from(any_bits(lt, s, w)) | (u8::from(GT && any_bits(gt, s, w)) << 1);
            }
        }
    }
}

/// The codes of 8 rows of width `W` (1, 2, 4 or 8) from the low `8 * W` bits of their
/// lane masks `l` (less) and `g` (greater), one code per byte.
#[inline(always)]
fn codes8<const W: usize>(l: u64, g: u64) -> u64 {
    if W == 1 {
        spread8(l & 0xFF) | spread8(g & 0xFF) << 1
    } else {
        let mask = if W == 8 { !0 } else { (1u64 << (8 * W)) - 1 };
        let zl = fold_groups(l & mask, W);
        let zg = fold_groups(g & mask, W);
        codes_to_bytes(zl | zg << 1, W)
    }
}

/// [`emit_codes`] for a width `W` of 1, 2, 4 or 8: each step turns the `8 * W` mask bits
/// of 8 rows into 8 code bytes and stores them as one word.
#[inline(always)]
fn emit_small<const GT: bool, const W: usize>(lt: &[u64], gt: &[u64], out: &mut [u8]) {
    let at = |i: usize| -> u64 {
        let bit = i * 8 * W;
        let (word, sh) = (bit / 64, bit % 64);
        codes8::<W>(lt[word] >> sh, if GT { gt[word] >> sh } else { 0 })
    };
    let full = out.len() / 8;
    let mut chunks = out.chunks_exact_mut(8);
    for (i, chunk) in (&mut chunks).enumerate() {
        chunk.copy_from_slice(&at(i).to_le_bytes());
    }
    let rest = chunks.into_remainder();
    if !rest.is_empty() {
        rest.copy_from_slice(&at(full).to_le_bytes()[..rest.len()]);
    }
}

/// Rows of a small width `W` (1, 2, 4 or 8) that need not be a whole number of vectors: one
/// 64-counter word at a time (`64 / W` whole rows), the lane masks kept in registers and
/// turned into codes 8 rows at a time, `put(first_row, codes)`. Handles the whole words of
/// `rows` and returns how many rows that was; the caller finishes the rest.
///
/// # Safety
/// As `fill_bits`, with `e = rows * W`.
#[inline(always)]
unsafe fn for_small_rows<
    V: Vector,
    const W: usize,
    const LT: bool,
    const GT: bool,
    const STORE: bool,
>(
    a: *mut V::Elem,
    b: *const V::Elem,
    rows: usize,
    mut put: impl FnMut(usize, u64),
) -> usize {
    let l = V::LANES;
    let words = rows * W / 64;
    for word in 0..words {
        let base = word * 64;
        let (mut lw, mut gw) = (0u64, 0u64);
        for j in 0..64 / V::LANES {
            let k = j * l;
            // SAFETY: `base + k + l <= words * 64 <= rows * W`, inside both buffers; the
            // ISA is the caller's promise.
            unsafe {
                let x = V::load(a.add(base + k));
                let y = V::load(b.add(base + k));
                if LT {
                    lw |= x.lt_mask(y) << k;
                }
                if GT {
                    gw |= y.lt_mask(x) << k;
                }
                if STORE {
                    x.max(y).store(a.add(base + k));
                }
            }
        }
        let row0 = word * (64 / W);
        for c in 0..64 / (8 * W) {
            let sh = c * 8 * W;
            put(row0 + 8 * c, codes8::<W>(lw >> sh, gw >> sh));
        }
    }
    words * (64 / W)
}

/// Where the row kernels put their verdicts: order codes, or `dominated` flags.
trait Sink {
    /// The code of row `r`.
    fn put(&mut self, r: usize, code: u8);
    /// The codes of rows `r .. r + 8`, one per byte of `codes`.
    fn put8(&mut self, r: usize, codes: u64);
    /// The codes of rows `r .. r + n` of width `w` from a block's lane-mask words.
    fn block(&mut self, r: usize, n: usize, w: usize, lt: &[u64], gt: &[u64]);
}

/// Order codes of `compare` and `merge_compare`.
struct Codes<'a>(&'a mut [u8]);

impl Sink for Codes<'_> {
    #[inline(always)]
    fn put(&mut self, r: usize, code: u8) {
        self.0[r] = code;
    }
    #[inline(always)]
    fn put8(&mut self, r: usize, codes: u64) {
        self.0[r..r + 8].copy_from_slice(&codes.to_le_bytes());
    }
    #[inline(always)]
    fn block(&mut self, r: usize, n: usize, w: usize, lt: &[u64], gt: &[u64]) {
        emit_codes::<true>(lt, gt, w, &mut self.0[r..r + n]);
    }
}

/// Bit 0 of every byte.
const ONES: u64 = 0x0101_0101_0101_0101;

/// `dominated` flags: a row is dominated when no counter of `a` is less (code bit 0 clear).
struct Dominated<'a>(&'a mut [bool]);

impl Sink for Dominated<'_> {
    #[inline(always)]
    fn put(&mut self, r: usize, code: u8) {
        self.0[r] = code & 1 == 0;
    }
    #[inline(always)]
    fn put8(&mut self, r: usize, codes: u64) {
        // Flip each code's bit 0: byte `k` becomes 1 exactly when row `r + k` is dominated.
        let flags = ((codes & ONES) ^ ONES).to_le_bytes();
        for (o, &f) in self.0[r..r + 8].iter_mut().zip(&flags) {
            *o = f != 0;
        }
    }
    #[inline(always)]
    fn block(&mut self, r: usize, n: usize, w: usize, lt: &[u64], gt: &[u64]) {
        let mut codes = [0u8; BLOCK_ELEMS];
        emit_codes::<false>(lt, gt, w, &mut codes[..n]);
        for (o, &c) in self.0[r..r + n].iter_mut().zip(&codes[..n]) {
            *o = c == 0;
        }
    }
}

/// The row kernels' driver: picks the path for `width` and feeds `sink`.
///
/// * `width` a whole number of vectors: row by row ([`for_rows_by_vector`]);
/// * `width` 1, 2, 4 or 8 otherwise: whole 64-counter words in registers
///   ([`for_small_rows`]), then blocks for the rows left;
/// * any other width: blocks of lane-mask words ([`for_blocks`]).
///
/// # Safety
/// As `fill_bits`, with `e = rows * width`; nothing is written to `a` unless `STORE`.
#[inline(always)]
unsafe fn rows_kernel<V: Vector, const LT: bool, const GT: bool, const STORE: bool>(
    a: *mut V::Elem,
    b: *const V::Elem,
    width: usize,
    rows: usize,
    sink: &mut impl Sink,
) {
    if width.is_multiple_of(V::LANES) {
        // SAFETY: the caller's promise.
        unsafe {
            for_rows_by_vector::<V, LT, GT, STORE>(a, b, width, rows, |r, lt, gt| {
                sink.put(r, u8::from(lt) | (u8::from(gt) << 1));
            })
        };
        return;
    }
    let put8 = |r: usize, c: u64| sink.put8(r, c);
    // SAFETY: the caller's promise, with `e = rows * W` for `W = width`.
    let done = unsafe {
        match width {
            1 => for_small_rows::<V, 1, LT, GT, STORE>(a, b, rows, put8),
            2 => for_small_rows::<V, 2, LT, GT, STORE>(a, b, rows, put8),
            4 => for_small_rows::<V, 4, LT, GT, STORE>(a, b, rows, put8),
            8 => for_small_rows::<V, 8, LT, GT, STORE>(a, b, rows, put8),
            _ => 0,
        }
    };
    if done == rows {
        return;
    }
    let off = done * width;
    // SAFETY: rows `done..rows` lie inside the caller's buffers.
    unsafe {
        for_blocks::<V, LT, GT, STORE>(
            a.add(off),
            b.add(off),
            width,
            rows - done,
            |r, n, lt, gt| sink.block(done + r, n, width, lt, gt),
        )
    }
}

/// Runs `fill_bits` block by block over `rows` rows of `width` and hands each block's
/// lane-mask words to `emit(first_row, rows_in_block, lt, gt)`.
///
/// # Safety
/// As `fill_bits`, with `e = rows * width`.
#[inline(always)]
unsafe fn for_blocks<V: Vector, const LT: bool, const GT: bool, const STORE: bool>(
    a: *mut V::Elem,
    b: *const V::Elem,
    width: usize,
    rows: usize,
    mut emit: impl FnMut(usize, usize, &[u64], &[u64]),
) {
    let block_rows = (BLOCK_ELEMS / width).max(1);
    let words = (block_rows * width).div_ceil(64);
    let mut stack = [[0u64; STACK_WORDS]; 2];
    let mut heap;
    let [lt, gt]: [&mut [u64]; 2] = if words <= STACK_WORDS {
        let [x, y] = &mut stack;
        [x, y]
    } else {
        heap = [vec![0u64; words], vec![0u64; words]];
        let [x, y] = &mut heap;
        [x, y]
    };
    let mut row = 0;
    while row < rows {
        let nr = block_rows.min(rows - row);
        let off = row * width;
        // SAFETY: `off + nr * width <= rows * width`; the word buffers hold a whole block.
        unsafe { fill_bits::<V, LT, GT, STORE>(a.add(off), b.add(off), nr * width, lt, gt) };
        emit(row, nr, lt, gt);
        row += nr;
    }
}

/// Row by row, when `width` is a whole number of vectors: each row's verdicts are
/// OR-accumulated in the ISA's native mask form and tested once per row; calls
/// `emit(row, any_lt, any_gt)`.
///
/// Without `STORE` a row stops as soon as its verdict is settled (some lane less for
/// `dominated`, some lane less and some greater for `compare`): the rest of the row cannot
/// change it. Rows of more than [`EARLY_EXIT_MIN_WIDTH`] counters test after every vector;
/// narrower rows are one or two vectors, where the test costs more than it saves.
///
/// # Safety
/// As `fill_bits`, with `e = rows * width`, and `width % V::LANES == 0`.
#[inline(always)]
unsafe fn for_rows_by_vector<V: Vector, const LT: bool, const GT: bool, const STORE: bool>(
    a: *mut V::Elem,
    b: *const V::Elem,
    width: usize,
    rows: usize,
    mut emit: impl FnMut(usize, bool, bool),
) {
    let l = V::LANES;
    let early = !STORE && width > EARLY_EXIT_MIN_WIDTH;
    // SAFETY: every row lies inside `rows * width` counters; the ISA is the caller's promise.
    unsafe {
        if width == l {
            // One vector per row: no inner loop.
            for r in 0..rows {
                let x = V::load(a.add(r * l));
                let y = V::load(b.add(r * l));
                let lt = LT && V::mask_any(x.lt_lanes(y));
                let gt = GT && V::mask_any(y.lt_lanes(x));
                if STORE {
                    x.max(y).store(a.add(r * l));
                }
                emit(r, lt, gt);
            }
            return;
        }
        for r in 0..rows {
            let base = r * width;
            let (mut ml, mut mg) = (V::mask_none(), V::mask_none());
            let mut k = 0;
            while k < width {
                let x = V::load(a.add(base + k));
                let y = V::load(b.add(base + k));
                if LT {
                    ml = V::mask_or(ml, x.lt_lanes(y));
                }
                if GT {
                    mg = V::mask_or(mg, y.lt_lanes(x));
                }
                if STORE {
                    x.max(y).store(a.add(base + k));
                }
                k += l;
                if early && (!LT || V::mask_any(ml)) && (!GT || V::mask_any(mg)) {
                    break;
                }
            }
            emit(r, LT && V::mask_any(ml), GT && V::mask_any(mg));
        }
    }
}

/// Order code per row; see [`crate::vv::compare`].
///
/// # Safety
/// The CPU supports `V`'s ISA; `a.len() == b.len() == out.len() * width`, `width >= 1`.
#[inline(always)]
pub(crate) unsafe fn compare<V: Vector>(
    a: &[V::Elem],
    b: &[V::Elem],
    width: usize,
    out: &mut [u8],
) {
    let rows = out.len();
    // SAFETY: shapes are the caller's promise; with STORE = false nothing is written to `a`.
    unsafe {
        rows_kernel::<V, true, true, false>(
            a.as_ptr().cast_mut(),
            b.as_ptr(),
            width,
            rows,
            &mut Codes(out),
        )
    }
}

/// Merge into `a` and order code per row, in one pass.
///
/// # Safety
/// As [`compare`].
#[inline(always)]
pub(crate) unsafe fn merge_compare<V: Vector>(
    a: &mut [V::Elem],
    b: &[V::Elem],
    width: usize,
    out: &mut [u8],
) {
    let rows = out.len();
    // SAFETY: shapes are the caller's promise.
    unsafe {
        rows_kernel::<V, true, true, true>(a.as_mut_ptr(), b.as_ptr(), width, rows, &mut Codes(out))
    }
}

/// `out[r]` is true when row `r` of `b` is <= row `r` of `a` everywhere.
///
/// # Safety
/// As [`compare`].
#[inline(always)]
pub(crate) unsafe fn dominated<V: Vector>(
    a: &[V::Elem],
    b: &[V::Elem],
    width: usize,
    out: &mut [bool],
) {
    let rows = out.len();
    // SAFETY: shapes are the caller's promise; with STORE = false nothing is written to `a`.
    unsafe {
        rows_kernel::<V, true, false, false>(
            a.as_ptr().cast_mut(),
            b.as_ptr(),
            width,
            rows,
            &mut Dominated(out),
        )
    }
}

const fn gcd(mut a: usize, mut b: usize) -> usize {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// Vectors of the register-resident accumulator of [`column_min`].
const MIN_REGS: usize = 8;
/// Counters the register-resident accumulator can spill to at the end (`MIN_REGS` vectors
/// of up to 16 lanes).
const MIN_SPILL: usize = MIN_REGS * 16;

/// Column-wise minimum over the rows of `m` into `out` (`out` starts from `MAX`).
///
/// Rows are folded a "super-row" at a time, so every vector lines up with the same columns
/// in every super-row, and the accumulator is folded down to `width` columns once at the
/// end. When `width` divides `MIN_REGS` vectors (every power of two up to 64 counters with
/// AVX-512 `u64`), the super-row is exactly those vectors and the accumulator stays in
/// registers: one load and one `min` per vector of input. Otherwise the super-row is
/// `lcm(width, LANES)` rounded up to about 256 counters, accumulated in memory.
///
/// # Safety
/// The CPU supports `V`'s ISA; `m.len()` is a multiple of `width == out.len() >= 1`.
#[inline(always)]
pub(crate) unsafe fn column_min<V: Vector>(m: &[V::Elem], width: usize, out: &mut [V::Elem]) {
    use crate::counter::Counter;
    out.fill(V::Elem::MAX);
    let l = V::LANES;
    let span = MIN_REGS * l;
    let done = if span.is_multiple_of(width) && span <= MIN_SPILL && m.len() >= span {
        let supers = m.len() / span;
        let p = m.as_ptr();
        let mut spill = [V::Elem::MAX; MIN_SPILL];
        // SAFETY: super-row `s < supers` covers `s * span .. (s + 1) * span <= m.len()`, and
        // `spill` holds `span <= MIN_SPILL` counters; the ISA is the caller's promise.
        unsafe {
            let first = V::load(p);
            let mut acc = [first; MIN_REGS];
            for (j, v) in acc.iter_mut().enumerate().skip(1) {
                *v = V::load(p.add(j * l));
            }
            for s in 1..supers {
                let row = p.add(s * span);
                for (j, v) in acc.iter_mut().enumerate() {
                    *v = v.min(V::load(row.add(j * l)));
                }
            }
            for (j, v) in acc.iter().enumerate() {
                v.store(spill.as_mut_ptr().add(j * l));
            }
        }
        for (k, &v) in spill[..span].iter().enumerate() {
            let c = &mut out[k % width];
            *c = (*c).min(v);
        }
        supers * span
    } else {
        let lcm = width / gcd(width, l) * l;
        let super_len = lcm * 256usize.div_ceil(lcm);
        let supers = m.len() / super_len;
        if supers > 0 {
            let mut acc = m[..super_len].to_vec();
            for chunk in m[super_len..supers * super_len].chunks_exact(super_len) {
                // SAFETY: equal lengths; the ISA is the caller's promise.
                unsafe { zip_apply::<V, false>(&mut acc, chunk) };
            }
            for (k, &v) in acc.iter().enumerate() {
                let c = &mut out[k % width];
                *c = (*c).min(v);
            }
        }
        supers * super_len
    };
    for row in m[done..].chunks_exact(width) {
        // SAFETY: equal lengths; the ISA is the caller's promise.
        unsafe { zip_apply::<V, false>(out, row) };
    }
}
