//! SSE2 (128-bit). SSE2 has no unsigned or 64-bit compares, so both are built from signed
//! 32-bit compares after flipping the sign bits.

use core::arch::x86_64::*;

use crate::arch::{kernel_set, Vector};
use crate::isa::Isa;

/// Two `u64` lanes.
#[derive(Clone, Copy)]
pub(crate) struct U64x2(__m128i);
/// Four `u32` lanes.
#[derive(Clone, Copy)]
pub(crate) struct U32x4(__m128i);

/// All-ones in lane `i` where `a[i] > b[i]`, unsigned 64-bit.
#[inline(always)]
unsafe fn gt_u64(a: __m128i, b: __m128i) -> __m128i {
    // SAFETY: SSE2 is part of the x86-64 baseline.
    unsafe {
        // Flipping the top bit of every 32-bit half turns unsigned into signed order.
        let flip = _mm_set1_epi32(i32::MIN);
        let (a, b) = (_mm_xor_si128(a, flip), _mm_xor_si128(b, flip));
        let gt = _mm_cmpgt_epi32(a, b);
        let eq = _mm_cmpeq_epi32(a, b);
        // hi > hi, or hi == hi and lo > lo; spread each half's verdict over its 64-bit lane.
        let gt_hi = _mm_shuffle_epi32::<0xF5>(gt);
        let eq_hi = _mm_shuffle_epi32::<0xF5>(eq);
        let gt_lo = _mm_shuffle_epi32::<0xA0>(gt);
        _mm_or_si128(gt_hi, _mm_and_si128(eq_hi, gt_lo))
    }
}

/// All-ones in lane `i` where `a[i] > b[i]`, unsigned 32-bit.
#[inline(always)]
unsafe fn gt_u32(a: __m128i, b: __m128i) -> __m128i {
    // SAFETY: SSE2 is part of the x86-64 baseline.
    unsafe {
        let flip = _mm_set1_epi32(i32::MIN);
        _mm_cmpgt_epi32(_mm_xor_si128(a, flip), _mm_xor_si128(b, flip))
    }
}

/// `mask ? a : b`, bitwise.
#[inline(always)]
unsafe fn select(mask: __m128i, a: __m128i, b: __m128i) -> __m128i {
    // SAFETY: SSE2 is part of the x86-64 baseline.
    unsafe { _mm_or_si128(_mm_and_si128(mask, a), _mm_andnot_si128(mask, b)) }
}

impl Vector for U64x2 {
    type Elem = u64;
    const LANES: usize = 2;

    #[inline(always)]
    unsafe fn load(p: *const u64) -> Self {
        // SAFETY: the caller guarantees 16 readable bytes; loadu has no alignment requirement.
        Self(unsafe { _mm_loadu_si128(p.cast()) })
    }
    #[inline(always)]
    unsafe fn store(self, p: *mut u64) {
        // SAFETY: the caller guarantees 16 writable bytes; storeu has no alignment requirement.
        unsafe { _mm_storeu_si128(p.cast(), self.0) }
    }
    #[inline(always)]
    unsafe fn max(self, o: Self) -> Self {
        // SAFETY: SSE2 is part of the x86-64 baseline.
        Self(unsafe { select(gt_u64(self.0, o.0), self.0, o.0) })
    }
    #[inline(always)]
    unsafe fn min(self, o: Self) -> Self {
        // SAFETY: SSE2 is part of the x86-64 baseline.
        Self(unsafe { select(gt_u64(self.0, o.0), o.0, self.0) })
    }
    #[inline(always)]
    unsafe fn lt_mask(self, o: Self) -> u64 {
        // SAFETY: SSE2 is part of the x86-64 baseline.
        unsafe { _mm_movemask_pd(_mm_castsi128_pd(gt_u64(o.0, self.0))) as u64 }
    }

    type Mask = __m128i;
    #[inline(always)]
    unsafe fn lt_lanes(self, o: Self) -> __m128i {
        // SAFETY: SSE2 is part of the x86-64 baseline.
        unsafe { gt_u64(o.0, self.0) }
    }
    #[inline(always)]
    unsafe fn mask_none() -> __m128i {
        // SAFETY: SSE2 is part of the x86-64 baseline.
        unsafe { _mm_setzero_si128() }
    }
    #[inline(always)]
    unsafe fn mask_or(a: __m128i, b: __m128i) -> __m128i {
        // SAFETY: SSE2 is part of the x86-64 baseline.
        unsafe { _mm_or_si128(a, b) }
    }
    #[inline(always)]
    unsafe fn mask_any(m: __m128i) -> bool {
        // SAFETY: SSE2 is part of the x86-64 baseline.
        unsafe { _mm_movemask_epi8(m) != 0 }
    }
}

impl Vector for U32x4 {
    type Elem = u32;
    const LANES: usize = 4;

    #[inline(always)]
    unsafe fn load(p: *const u32) -> Self {
        // SAFETY: the caller guarantees 16 readable bytes; loadu has no alignment requirement.
        Self(unsafe { _mm_loadu_si128(p.cast()) })
    }
    #[inline(always)]
    unsafe fn store(self, p: *mut u32) {
        // SAFETY: the caller guarantees 16 writable bytes; storeu has no alignment requirement.
        unsafe { _mm_storeu_si128(p.cast(), self.0) }
    }
    #[inline(always)]
    unsafe fn max(self, o: Self) -> Self {
        // SAFETY: SSE2 is part of the x86-64 baseline.
        Self(unsafe { select(gt_u32(self.0, o.0), self.0, o.0) })
    }
    #[inline(always)]
    unsafe fn min(self, o: Self) -> Self {
        // SAFETY: SSE2 is part of the x86-64 baseline.
        Self(unsafe { select(gt_u32(self.0, o.0), o.0, self.0) })
    }
    #[inline(always)]
    unsafe fn lt_mask(self, o: Self) -> u64 {
        // SAFETY: SSE2 is part of the x86-64 baseline.
        unsafe { _mm_movemask_ps(_mm_castsi128_ps(gt_u32(o.0, self.0))) as u64 }
    }

    type Mask = __m128i;
    #[inline(always)]
    unsafe fn lt_lanes(self, o: Self) -> __m128i {
        // SAFETY: SSE2 is part of the x86-64 baseline.
        unsafe { gt_u32(o.0, self.0) }
    }
    #[inline(always)]
    unsafe fn mask_none() -> __m128i {
        // SAFETY: SSE2 is part of the x86-64 baseline.
        unsafe { _mm_setzero_si128() }
    }
    #[inline(always)]
    unsafe fn mask_or(a: __m128i, b: __m128i) -> __m128i {
        // SAFETY: SSE2 is part of the x86-64 baseline.
        unsafe { _mm_or_si128(a, b) }
    }
    #[inline(always)]
    unsafe fn mask_any(m: __m128i) -> bool {
        // SAFETY: SSE2 is part of the x86-64 baseline.
        unsafe { _mm_movemask_epi8(m) != 0 }
    }
}

kernel_set!(U64, U64x2, u64, Isa::Sse2, #[target_feature(enable = "sse2")]);
kernel_set!(U32, U32x4, u32, Isa::Sse2, #[target_feature(enable = "sse2")]);
