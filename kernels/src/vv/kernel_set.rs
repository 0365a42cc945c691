//! `KernelSet`: one implementation family's functions for one counter type, with the checks
//! that make calling them safe.

use crate::counter::Counter;
use crate::error::Result;
use crate::isa::Isa;

use super::shape::{check_matrix, check_out, check_pair};

/// The version-vector kernels of one implementation family ([`Isa`]) for counter type `T`,
/// single-threaded.
///
/// The module-level functions of [`crate::vv`] use the best family and split large batches
/// over cores; a `KernelSet` lets tests, benches and fuzzers pin one family and compare it
/// with the others. Every method checks shapes exactly as the module-level functions do.
///
/// # Example
/// ```
/// use pluriverse_kernels::{vv::KernelSet, Isa};
///
/// let a = [1u64, 5, 3, 3];
/// let b = [2u64, 5, 3, 3];
/// for isa in Isa::available() {
///     let k = KernelSet::<u64>::for_isa(isa).unwrap();
///     let mut out = [0u8; 2];
///     k.compare(&a, &b, 2, &mut out).unwrap();
///     assert_eq!(out, [pluriverse_kernels::vv::BEFORE, pluriverse_kernels::vv::EQUAL]);
/// }
/// ```
pub struct KernelSet<T: 'static> {
    pub(crate) isa: Isa,
    pub(crate) merge: unsafe fn(&mut [T], &[T]),
    pub(crate) min_into: unsafe fn(&mut [T], &[T]),
    pub(crate) compare: unsafe fn(&[T], &[T], usize, &mut [u8]),
    pub(crate) merge_compare: unsafe fn(&mut [T], &[T], usize, &mut [u8]),
    pub(crate) dominated: unsafe fn(&[T], &[T], usize, &mut [bool]),
    pub(crate) column_min: unsafe fn(&[T], usize, &mut [T]),
}

impl<T: Counter> std::fmt::Debug for KernelSet<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KernelSet").field("isa", &self.isa).finish()
    }
}

impl<T: Counter> KernelSet<T> {
    /// The family `isa`, or `None` when this CPU or build cannot run it.
    pub fn for_isa(isa: Isa) -> Option<&'static Self> {
        if isa.is_available() {
            T::compiled_kernels(isa)
        } else {
            None
        }
    }

    /// The family the dispatching functions use ([`Isa::best`]).
    pub fn best() -> &'static Self {
        // `Isa::best` only returns available families, and every available family is
        // compiled for both counter types; the portable one exists on every target.
        Self::for_isa(Isa::best())
            .or_else(|| T::compiled_kernels(Isa::Portable))
            .expect("the portable kernels are compiled on every target")
    }

    /// Which family this is.
    pub fn isa(&self) -> Isa {
        self.isa
    }

    /// Pointwise max of `b` into `a`. See [`crate::vv::merge`].
    ///
    /// # Errors
    /// As [`crate::vv::merge`].
    pub fn merge(&self, a: &mut [T], b: &[T], width: usize) -> Result<()> {
        check_pair(a.len(), b.len(), width)?;
        self.merge_unchecked(a, b);
        Ok(())
    }

    /// Order code per row. See [`crate::vv::compare`].
    ///
    /// # Errors
    /// As [`crate::vv::compare`].
    pub fn compare(&self, a: &[T], b: &[T], width: usize, out: &mut [u8]) -> Result<()> {
        let rows = check_pair(a.len(), b.len(), width)?;
        check_out(rows, out.len())?;
        self.compare_unchecked(a, b, width, out);
        Ok(())
    }

    /// Merge and order code per row in one pass. See [`crate::vv::merge_compare`].
    ///
    /// # Errors
    /// As [`crate::vv::merge_compare`].
    pub fn merge_compare(&self, a: &mut [T], b: &[T], width: usize, out: &mut [u8]) -> Result<()> {
        let rows = check_pair(a.len(), b.len(), width)?;
        check_out(rows, out.len())?;
        self.merge_compare_unchecked(a, b, width, out);
        Ok(())
    }

    /// Rows where `b <= a`. See [`crate::vv::dominated`].
    ///
    /// # Errors
    /// As [`crate::vv::dominated`].
    pub fn dominated(&self, a: &[T], b: &[T], width: usize, out: &mut [bool]) -> Result<()> {
        let rows = check_pair(a.len(), b.len(), width)?;
        check_out(rows, out.len())?;
        self.dominated_unchecked(a, b, width, out);
        Ok(())
    }

    /// Column-wise minimum. See [`crate::vv::column_min`].
    ///
    /// # Errors
    /// As [`crate::vv::column_min`].
    pub fn column_min(&self, m: &[T], width: usize, out: &mut [T]) -> Result<()> {
        check_matrix("matrix", m.len(), width)?;
        if out.len() != width {
            return Err(crate::KernelError::LengthMismatch {
                what: "out",
                expected: width,
                actual: out.len(),
            });
        }
        self.column_min_unchecked(m, width, out);
        Ok(())
    }

    // The `_unchecked` methods are safe to call with any slices: the kernels only rely on the
    // shape relations below for bounds, and `debug_assert`s document them. They are crate
    // private because wrong shapes give meaningless (never unsound) results.

    pub(crate) fn merge_unchecked(&self, a: &mut [T], b: &[T]) {
        assert_eq!(a.len(), b.len());
        // SAFETY: `for_isa` handed this set out only after checking the CPU runs its ISA, and
        // the lengths are equal (asserted above).
        unsafe { (self.merge)(a, b) }
    }

    pub(crate) fn min_into_unchecked(&self, a: &mut [T], b: &[T]) {
        assert_eq!(a.len(), b.len());
        // SAFETY: as in `merge_unchecked`.
        unsafe { (self.min_into)(a, b) }
    }

    pub(crate) fn compare_unchecked(&self, a: &[T], b: &[T], width: usize, out: &mut [u8]) {
        assert!(width > 0 && a.len() == b.len() && a.len() == out.len() * width);
        // SAFETY: the ISA was checked by `for_isa`; the shapes are asserted above.
        unsafe { (self.compare)(a, b, width, out) }
    }

    pub(crate) fn merge_compare_unchecked(
        &self,
        a: &mut [T],
        b: &[T],
        width: usize,
        out: &mut [u8],
    ) {
        assert!(width > 0 && a.len() == b.len() && a.len() == out.len() * width);
        // SAFETY: the ISA was checked by `for_isa`; the shapes are asserted above.
        unsafe { (self.merge_compare)(a, b, width, out) }
    }

    pub(crate) fn dominated_unchecked(&self, a: &[T], b: &[T], width: usize, out: &mut [bool]) {
        assert!(width > 0 && a.len() == b.len() && a.len() == out.len() * width);
        // SAFETY: the ISA was checked by `for_isa`; the shapes are asserted above.
        unsafe { (self.dominated)(a, b, width, out) }
    }

    pub(crate) fn column_min_unchecked(&self, m: &[T], width: usize, out: &mut [T]) {
        assert!(width > 0 && m.len().is_multiple_of(width) && out.len() == width);
        // SAFETY: the ISA was checked by `for_isa`; the shapes are asserted above.
        unsafe { (self.column_min)(m, width, out) }
    }
}
