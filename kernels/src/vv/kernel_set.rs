//! `KernelSet`: one implementation family's functions for one counter type, with the checks
//! that make calling them safe.

use crate::counter::{sealed::TOKEN, Counter};
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
    /// The family `isa`, or `None` when this CPU or build cannot run it: the checked
    /// constructor (as memchr's `One::new`). `for_isa(isa).is_some() == isa.is_available()`.
    pub fn for_isa(isa: Isa) -> Option<&'static Self> {
        if isa.is_available() {
            T::compiled_kernels(TOKEN, isa)
        } else {
            None
        }
    }

    /// The family `isa` without checking that this CPU runs it, or `None` when this build
    /// has no code for it (the x86-64 families on other targets). For callers that have
    /// detected the CPU's features themselves (as memchr's `One::new_unchecked`).
    ///
    /// # Safety
    /// The CPU the returned set's methods run on supports `isa` ([`Isa::is_available`]
    /// would return true). Calling a method of a set whose family the CPU lacks executes
    /// instructions it does not have: undefined behaviour.
    pub unsafe fn for_isa_unchecked(isa: Isa) -> Option<&'static Self> {
        T::compiled_kernels(TOKEN, isa)
    }

    /// The family the dispatching functions use ([`Isa::best`]). Chosen on the first call
    /// and cached per counter type, so later calls are one atomic load.
    pub fn best() -> &'static Self {
        T::best_slot(TOKEN).get_or_init(|| {
            // `Isa::best` only returns available families, and every available family is
            // compiled for both counter types; the portable one exists on every target and
            // every CPU runs it.
            Self::for_isa(Isa::best())
                .or_else(|| Self::for_isa(Isa::Portable))
                .expect("the portable kernels are compiled on every target")
        })
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
        self.merge_asserted(a, b);
        Ok(())
    }

    /// Order code per row. See [`crate::vv::compare`].
    ///
    /// # Errors
    /// As [`crate::vv::compare`].
    pub fn compare(&self, a: &[T], b: &[T], width: usize, out: &mut [u8]) -> Result<()> {
        let rows = check_pair(a.len(), b.len(), width)?;
        check_out(rows, out.len())?;
        self.compare_asserted(a, b, width, out);
        Ok(())
    }

    /// Merge and order code per row in one pass. See [`crate::vv::merge_compare`].
    ///
    /// # Errors
    /// As [`crate::vv::merge_compare`].
    pub fn merge_compare(&self, a: &mut [T], b: &[T], width: usize, out: &mut [u8]) -> Result<()> {
        let rows = check_pair(a.len(), b.len(), width)?;
        check_out(rows, out.len())?;
        self.merge_compare_asserted(a, b, width, out);
        Ok(())
    }

    /// Rows where `b <= a`. See [`crate::vv::dominated`].
    ///
    /// # Errors
    /// As [`crate::vv::dominated`].
    pub fn dominated(&self, a: &[T], b: &[T], width: usize, out: &mut [bool]) -> Result<()> {
        let rows = check_pair(a.len(), b.len(), width)?;
        check_out(rows, out.len())?;
        self.dominated_asserted(a, b, width, out);
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
        self.column_min_asserted(m, width, out);
        Ok(())
    }

    // The `_asserted` methods are the public methods without their `Result`: the dispatching
    // functions in `vv` have already checked the shapes (and returned an error to the user),
    // then call these, often once per rayon chunk. The vector kernels read and write through
    // raw pointers up to the lengths these shape relations imply, so the relations are what
    // make calling them sound; each method therefore checks them with `assert!` (kept in
    // release builds, one comparison per call, not per counter) and panics instead of reaching
    // the kernel with a wrong shape. The ISA half of soundness comes from construction: a
    // `&KernelSet` exists only through `for_isa` (checked), `best` (checked) or
    // `for_isa_unchecked` (the caller's promise).

    pub(crate) fn merge_asserted(&self, a: &mut [T], b: &[T]) {
        assert_eq!(a.len(), b.len());
        // SAFETY: a `&KernelSet` is handed out only for an ISA the CPU runs (`for_isa` and
        // `best` check it, `for_isa_unchecked` is the caller's promise); the lengths are equal
        // (asserted above).
        unsafe { (self.merge)(a, b) }
    }

    pub(crate) fn min_into_asserted(&self, a: &mut [T], b: &[T]) {
        assert_eq!(a.len(), b.len());
        // SAFETY: as in `merge_asserted`.
        unsafe { (self.min_into)(a, b) }
    }

    pub(crate) fn compare_asserted(&self, a: &[T], b: &[T], width: usize, out: &mut [u8]) {
        assert!(width > 0 && a.len() == b.len() && a.len() == out.len() * width);
        // SAFETY: the ISA holds by construction (see `merge_asserted`); the shapes are
        // asserted above.
        unsafe { (self.compare)(a, b, width, out) }
    }

    pub(crate) fn merge_compare_asserted(
        &self,
        a: &mut [T],
        b: &[T],
        width: usize,
        out: &mut [u8],
    ) {
        assert!(width > 0 && a.len() == b.len() && a.len() == out.len() * width);
        // SAFETY: the ISA holds by construction (see `merge_asserted`); the shapes are
        // asserted above.
        unsafe { (self.merge_compare)(a, b, width, out) }
    }

    pub(crate) fn dominated_asserted(&self, a: &[T], b: &[T], width: usize, out: &mut [bool]) {
        assert!(width > 0 && a.len() == b.len() && a.len() == out.len() * width);
        // SAFETY: the ISA holds by construction (see `merge_asserted`); the shapes are
        // asserted above.
        unsafe { (self.dominated)(a, b, width, out) }
    }

    pub(crate) fn column_min_asserted(&self, m: &[T], width: usize, out: &mut [T]) {
        assert!(width > 0 && m.len().is_multiple_of(width) && out.len() == width);
        // SAFETY: the ISA holds by construction (see `merge_asserted`); the shapes are
        // asserted above.
        unsafe { (self.column_min)(m, width, out) }
    }
}
