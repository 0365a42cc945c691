//! AVX-512F (512-bit): native unsigned max/min and compares straight into mask registers.

use core::arch::x86_64::*;

use crate::arch::{kernel_set, Vector};
use crate::isa::Isa;

/// Eight `u64` lanes.
#[derive(Clone, Copy)]
pub(crate) struct U64x8(pub(super) __m512i);
/// Sixteen `u32` lanes.
#[derive(Clone, Copy)]
pub(crate) struct U32x16(pub(super) __m512i);

impl Vector for U64x8 {
    type Elem = u64;
    const LANES: usize = 8;

    #[inline(always)]
    unsafe fn load(p: *const u64) -> Self {
        // SAFETY: the caller guarantees AVX-512F and 64 readable bytes; no alignment needed.
        Self(unsafe { _mm512_loadu_si512(p.cast()) })
    }
    #[inline(always)]
    unsafe fn store(self, p: *mut u64) {
        // SAFETY: the caller guarantees AVX-512F and 64 writable bytes; no alignment needed.
        unsafe { _mm512_storeu_si512(p.cast(), self.0) }
    }
    #[inline(always)]
    unsafe fn max(self, o: Self) -> Self {
        // SAFETY: the caller guarantees AVX-512F.
        Self(unsafe { _mm512_max_epu64(self.0, o.0) })
    }
    #[inline(always)]
    unsafe fn min(self, o: Self) -> Self {
        // SAFETY: the caller guarantees AVX-512F.
        Self(unsafe { _mm512_min_epu64(self.0, o.0) })
    }
    #[inline(always)]
    unsafe fn lt_mask(self, o: Self) -> u64 {
        // SAFETY: the caller guarantees AVX-512F.
        u64::from(unsafe { _mm512_cmplt_epu64_mask(self.0, o.0) })
    }

    type Mask = u8;
    #[inline(always)]
    unsafe fn lt_lanes(self, o: Self) -> u8 {
        // SAFETY: the caller guarantees AVX-512F.
        unsafe { self.lt_mask(o) as u8 }
    }
    #[inline(always)]
    unsafe fn mask_none() -> u8 {
        0
    }
    #[inline(always)]
    unsafe fn mask_or(a: u8, b: u8) -> u8 {
        a | b
    }
    #[inline(always)]
    unsafe fn mask_any(m: u8) -> bool {
        m != 0
    }
}

impl Vector for U32x16 {
    type Elem = u32;
    const LANES: usize = 16;

    #[inline(always)]
    unsafe fn load(p: *const u32) -> Self {
        // SAFETY: the caller guarantees AVX-512F and 64 readable bytes; no alignment needed.
        Self(unsafe { _mm512_loadu_si512(p.cast()) })
    }
    #[inline(always)]
    unsafe fn store(self, p: *mut u32) {
        // SAFETY: the caller guarantees AVX-512F and 64 writable bytes; no alignment needed.
        unsafe { _mm512_storeu_si512(p.cast(), self.0) }
    }
    #[inline(always)]
    unsafe fn max(self, o: Self) -> Self {
        // SAFETY: the caller guarantees AVX-512F.
        Self(unsafe { _mm512_max_epu32(self.0, o.0) })
    }
    #[inline(always)]
    unsafe fn min(self, o: Self) -> Self {
        // SAFETY: the caller guarantees AVX-512F.
        Self(unsafe { _mm512_min_epu32(self.0, o.0) })
    }
    #[inline(always)]
    unsafe fn lt_mask(self, o: Self) -> u64 {
        // SAFETY: the caller guarantees AVX-512F.
        u64::from(unsafe { _mm512_cmplt_epu32_mask(self.0, o.0) })
    }

    type Mask = u16;
    #[inline(always)]
    unsafe fn lt_lanes(self, o: Self) -> u16 {
        // SAFETY: the caller guarantees AVX-512F.
        unsafe { self.lt_mask(o) as u16 }
    }
    #[inline(always)]
    unsafe fn mask_none() -> u16 {
        0
    }
    #[inline(always)]
    unsafe fn mask_or(a: u16, b: u16) -> u16 {
        a | b
    }
    #[inline(always)]
    unsafe fn mask_any(m: u16) -> bool {
        m != 0
    }
}

kernel_set!(U64, U64x8, u64, Isa::Avx512, #[target_feature(enable = "avx512f")]);
kernel_set!(U32, U32x16, u32, Isa::Avx512, #[target_feature(enable = "avx512f")]);
