//! AVX2 (256-bit). Unsigned 64-bit order comes from a signed compare after flipping the
//! sign bit; 32-bit lanes have native unsigned max/min.

use core::arch::x86_64::*;

use crate::arch::{kernel_set, Vector};
use crate::isa::Isa;

/// Four `u64` lanes.
#[derive(Clone, Copy)]
pub(crate) struct U64x4(__m256i);
/// Eight `u32` lanes.
#[derive(Clone, Copy)]
pub(crate) struct U32x8(__m256i);

/// All-ones in lane `i` where `a[i] > b[i]`, unsigned 64-bit.
///
/// # Safety
/// The CPU supports AVX2.
#[inline(always)]
unsafe fn gt_u64(a: __m256i, b: __m256i) -> __m256i {
    // SAFETY: the caller guarantees AVX2.
    unsafe {
        let flip = _mm256_set1_epi64x(i64::MIN);
        _mm256_cmpgt_epi64(_mm256_xor_si256(a, flip), _mm256_xor_si256(b, flip))
    }
}

/// All-ones in lane `i` where `a[i] > b[i]`, unsigned 32-bit.
///
/// # Safety
/// The CPU supports AVX2.
#[inline(always)]
unsafe fn gt_u32(a: __m256i, b: __m256i) -> __m256i {
    // SAFETY: the caller guarantees AVX2.
    unsafe {
        let flip = _mm256_set1_epi32(i32::MIN);
        _mm256_cmpgt_epi32(_mm256_xor_si256(a, flip), _mm256_xor_si256(b, flip))
    }
}

impl Vector for U64x4 {
    type Elem = u64;
    const LANES: usize = 4;

    #[inline(always)]
    unsafe fn load(p: *const u64) -> Self {
        // SAFETY: the caller guarantees AVX2 and 32 readable bytes; no alignment needed.
        Self(unsafe { _mm256_loadu_si256(p.cast()) })
    }
    #[inline(always)]
    unsafe fn store(self, p: *mut u64) {
        // SAFETY: the caller guarantees AVX2 and 32 writable bytes; no alignment needed.
        unsafe { _mm256_storeu_si256(p.cast(), self.0) }
    }
    #[inline(always)]
    unsafe fn max(self, o: Self) -> Self {
        // SAFETY: the caller guarantees AVX2.
        Self(unsafe { _mm256_blendv_epi8(o.0, self.0, gt_u64(self.0, o.0)) })
    }
    #[inline(always)]
    unsafe fn min(self, o: Self) -> Self {
        // SAFETY: the caller guarantees AVX2.
        Self(unsafe { _mm256_blendv_epi8(self.0, o.0, gt_u64(self.0, o.0)) })
    }
    #[inline(always)]
    unsafe fn lt_mask(self, o: Self) -> u64 {
        // SAFETY: the caller guarantees AVX2.
        unsafe { _mm256_movemask_pd(_mm256_castsi256_pd(gt_u64(o.0, self.0))) as u64 }
    }

    type Mask = __m256i;
    #[inline(always)]
    unsafe fn lt_lanes(self, o: Self) -> __m256i {
        // SAFETY: the caller guarantees AVX2.
        unsafe { gt_u64(o.0, self.0) }
    }
    #[inline(always)]
    unsafe fn mask_none() -> __m256i {
        // SAFETY: the caller guarantees AVX2.
        unsafe { _mm256_setzero_si256() }
    }
    #[inline(always)]
    unsafe fn mask_or(a: __m256i, b: __m256i) -> __m256i {
        // SAFETY: the caller guarantees AVX2.
        unsafe { _mm256_or_si256(a, b) }
    }
    #[inline(always)]
    unsafe fn mask_any(m: __m256i) -> bool {
        // SAFETY: the caller guarantees AVX2.
        unsafe { _mm256_testz_si256(m, m) == 0 }
    }
}

impl Vector for U32x8 {
    type Elem = u32;
    const LANES: usize = 8;

    #[inline(always)]
    unsafe fn load(p: *const u32) -> Self {
        // SAFETY: the caller guarantees AVX2 and 32 readable bytes; no alignment needed.
        Self(unsafe { _mm256_loadu_si256(p.cast()) })
    }
    #[inline(always)]
    unsafe fn store(self, p: *mut u32) {
        // SAFETY: the caller guarantees AVX2 and 32 writable bytes; no alignment needed.
        unsafe { _mm256_storeu_si256(p.cast(), self.0) }
    }
    #[inline(always)]
    unsafe fn max(self, o: Self) -> Self {
        // SAFETY: the caller guarantees AVX2.
        Self(unsafe { _mm256_max_epu32(self.0, o.0) })
    }
    #[inline(always)]
    unsafe fn min(self, o: Self) -> Self {
        // SAFETY: the caller guarantees AVX2.
        Self(unsafe { _mm256_min_epu32(self.0, o.0) })
    }
    #[inline(always)]
    unsafe fn lt_mask(self, o: Self) -> u64 {
        // SAFETY: the caller guarantees AVX2.
        unsafe { _mm256_movemask_ps(_mm256_castsi256_ps(gt_u32(o.0, self.0))) as u64 }
    }

    type Mask = __m256i;
    #[inline(always)]
    unsafe fn lt_lanes(self, o: Self) -> __m256i {
        // SAFETY: the caller guarantees AVX2.
        unsafe { gt_u32(o.0, self.0) }
    }
    #[inline(always)]
    unsafe fn mask_none() -> __m256i {
        // SAFETY: the caller guarantees AVX2.
        unsafe { _mm256_setzero_si256() }
    }
    #[inline(always)]
    unsafe fn mask_or(a: __m256i, b: __m256i) -> __m256i {
        // SAFETY: the caller guarantees AVX2.
        unsafe { _mm256_or_si256(a, b) }
    }
    #[inline(always)]
    unsafe fn mask_any(m: __m256i) -> bool {
        // SAFETY: the caller guarantees AVX2.
        unsafe { _mm256_testz_si256(m, m) == 0 }
    }
}

kernel_set!(U64, U64x4, u64, Isa::Avx2, #[target_feature(enable = "avx2")]);
kernel_set!(U32, U32x8, u32, Isa::Avx2, #[target_feature(enable = "avx2")]);
