//! Per-ISA building blocks: a small `Vector` trait that each instruction set implements, and
//! the kernel sets instantiated from the generic algorithms in `vv::generic`.
//!
//! Every family is reachable for tests, benches and fuzzers through
//! [`KernelSet::for_isa`](crate::vv::KernelSet::for_isa), which refuses families the CPU
//! cannot run, or through the `unsafe`
//! [`KernelSet::for_isa_unchecked`](crate::vv::KernelSet::for_isa_unchecked), whose caller
//! promises the CPU runs the family. The tables below are crate-private, and the unchecked
//! lookup (`Sealed::compiled_kernels`) is a method of the crate-private sealed trait, so no
//! safe code outside this crate can obtain a table for a family the CPU lacks. Inside the
//! crate, every `&KernelSet` must come from one of those two constructors: the statics here
//! must not be handed out directly.

use crate::counter::Counter;

pub(crate) mod portable;
#[cfg(target_arch = "x86_64")]
pub(crate) mod x86_64;

/// A SIMD register of `LANES` counters, as the generic algorithms see it.
///
/// `LANES` divides 64, so a 64-bit lane mask word is filled by whole vectors.
pub(crate) trait Vector: Copy {
    /// The counter type in each lane.
    type Elem: Counter;
    /// Lanes per register: 1, 2, 4, 8 or 16.
    const LANES: usize;

    /// Loads `LANES` counters from `p`, which need not be aligned beyond `Elem`'s alignment.
    ///
    /// # Safety
    /// The CPU supports this type's ISA; `p..p + LANES` is readable.
    unsafe fn load(p: *const Self::Elem) -> Self;

    /// Stores the lanes to `p`, which need not be aligned beyond `Elem`'s alignment.
    ///
    /// # Safety
    /// The CPU supports this type's ISA; `p..p + LANES` is writable.
    unsafe fn store(self, p: *mut Self::Elem);

    /// Lane-wise unsigned maximum.
    ///
    /// # Safety
    /// The CPU supports this type's ISA.
    unsafe fn max(self, other: Self) -> Self;

    /// Lane-wise unsigned minimum.
    ///
    /// # Safety
    /// The CPU supports this type's ISA.
    unsafe fn min(self, other: Self) -> Self;

    /// Bit `i` is set when lane `i` of `self` is less than lane `i` of `other` (unsigned).
    ///
    /// # Safety
    /// The CPU supports this type's ISA.
    unsafe fn lt_mask(self, other: Self) -> u64;

    /// A lane mask kept in the ISA's native form (a vector or a mask register), so a row's
    /// verdict can be OR-accumulated without leaving the vector unit.
    type Mask: Copy;

    /// Lanes where `self < other` (unsigned), in native form.
    ///
    /// # Safety
    /// The CPU supports this type's ISA.
    unsafe fn lt_lanes(self, other: Self) -> Self::Mask;

    /// The empty mask.
    ///
    /// # Safety
    /// The CPU supports this type's ISA.
    unsafe fn mask_none() -> Self::Mask;

    /// Union of two masks.
    ///
    /// # Safety
    /// The CPU supports this type's ISA.
    unsafe fn mask_or(a: Self::Mask, b: Self::Mask) -> Self::Mask;

    /// Whether any lane is set.
    ///
    /// # Safety
    /// The CPU supports this type's ISA.
    unsafe fn mask_any(m: Self::Mask) -> bool;
}

/// Instantiates the generic algorithms for one vector type into a `KernelSet` static.
/// The optional attribute is the `#[target_feature]` that makes the intrinsics inline.
macro_rules! kernel_set {
    ($name:ident, $vec:ty, $elem:ty, $isa:expr $(, #[$attr:meta])?) => {
        pub(crate) static $name: crate::vv::KernelSet<$elem> = {
            use crate::vv::generic;

            $(#[$attr])?
            unsafe fn merge(a: &mut [$elem], b: &[$elem]) {
                // SAFETY: the caller (KernelSet) checked the ISA and that the lengths match.
                unsafe { generic::zip_apply::<$vec, true>(a, b) }
            }
            $(#[$attr])?
            unsafe fn min_into(a: &mut [$elem], b: &[$elem]) {
                // SAFETY: as for `merge`.
                unsafe { generic::zip_apply::<$vec, false>(a, b) }
            }
            $(#[$attr])?
            unsafe fn compare(a: &[$elem], b: &[$elem], width: usize, out: &mut [u8]) {
                // SAFETY: the caller checked the ISA and the shapes; nothing is stored to `a`.
                unsafe { generic::compare::<$vec>(a, b, width, out) }
            }
            $(#[$attr])?
            unsafe fn merge_compare(a: &mut [$elem], b: &[$elem], width: usize, out: &mut [u8]) {
                // SAFETY: the caller checked the ISA and the shapes.
                unsafe { generic::merge_compare::<$vec>(a, b, width, out) }
            }
            $(#[$attr])?
            unsafe fn dominated(a: &[$elem], b: &[$elem], width: usize, out: &mut [bool]) {
                // SAFETY: the caller checked the ISA and the shapes; nothing is stored to `a`.
                unsafe { generic::dominated::<$vec>(a, b, width, out) }
            }
            $(#[$attr])?
            unsafe fn column_min(m: &[$elem], width: usize, out: &mut [$elem]) {
                // SAFETY: the caller checked the ISA and the shapes.
                unsafe { generic::column_min::<$vec>(m, width, out) }
            }

            crate::vv::KernelSet {
                isa: $isa,
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
pub(crate) use kernel_set;
