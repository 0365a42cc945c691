//! The scalar fallback: plain Rust over 4-lane arrays. Runs on every target; compilers
//! auto-vectorize it where the target allows, and it is what non-x86 builds ship.

use super::{kernel_set, Vector};
use crate::counter::Counter;
use crate::isa::Isa;

/// Four counters in an array.
#[derive(Clone, Copy)]
pub(crate) struct Lanes4<T>([T; 4]);

impl<T: Counter> Vector for Lanes4<T> {
    type Elem = T;
    const LANES: usize = 4;

    #[inline(always)]
    unsafe fn load(p: *const T) -> Self {
        // SAFETY: the caller guarantees 4 readable counters at `p`.
        Self(unsafe { p.cast::<[T; 4]>().read_unaligned() })
    }
    #[inline(always)]
    unsafe fn store(self, p: *mut T) {
        // SAFETY: the caller guarantees 4 writable counters at `p`.
        unsafe { p.cast::<[T; 4]>().write_unaligned(self.0) }
    }
    #[inline(always)]
    unsafe fn max(self, o: Self) -> Self {
        Self(std::array::from_fn(|i| self.0[i].max(o.0[i])))
    }
    #[inline(always)]
    unsafe fn min(self, o: Self) -> Self {
        Self(std::array::from_fn(|i| self.0[i].min(o.0[i])))
    }
    #[inline(always)]
    unsafe fn lt_mask(self, o: Self) -> u64 {
        (0..4).fold(0, |m, i| m | (u64::from(self.0[i] < o.0[i]) << i))
    }

    type Mask = u64;
    #[inline(always)]
    unsafe fn lt_lanes(self, o: Self) -> u64 {
        // SAFETY: the caller guarantees the ISA.
        unsafe { self.lt_mask(o) }
    }
    #[inline(always)]
    unsafe fn mask_none() -> u64 {
        0
    }
    #[inline(always)]
    unsafe fn mask_or(a: u64, b: u64) -> u64 {
        a | b
    }
    #[inline(always)]
    unsafe fn mask_any(m: u64) -> bool {
        m != 0
    }
}

kernel_set!(U64, Lanes4<u64>, u64, Isa::Portable);
kernel_set!(U32, Lanes4<u32>, u32, Isa::Portable);
