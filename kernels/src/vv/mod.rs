//! Version-vector kernels over columnar batches.
//!
//! A batch of `N` version vectors over the same `R` replicas is an `N x R` row-major matrix
//! of counters (`u64`, or `u32` where counters stay small): row `i` is the vector of record
//! `i`, column `j` the counter of replica `j`. Every function takes the matrices as plain
//! slices plus the width `R`; a width of 0 or a slice that is not a whole number of rows is an
//! error, never a panic. `N = 0` is valid.
//!
//! The functions here dispatch to the widest instruction set the CPU has ([`crate::Isa`])
//! and split batches of more than [`PAR_MIN_COUNTERS`] counters over the rayon pool; the
//! results are identical to the single-threaded [`KernelSet`] of any family.
//!
//! | function | per row | naive loop |
//! |---|---|---|
//! | [`merge`] | `a = a ⊔ b` | `a[i] = a[i].max(b[i])` |
//! | [`compare`] | order code | `lt \|= a[i] < b[i]; gt \|= a[i] > b[i]` |
//! | [`merge_compare`] | both, one pass | |
//! | [`dominated`], [`dominated_indices`] | `b <= a` | `!lt` |
//! | [`column_min`] | (per column) | `out[j] = min over rows` |

pub(crate) mod generic;
mod kernel_set;
mod shape;

use rayon::prelude::*;

pub use kernel_set::KernelSet;
use shape::{check_matrix, check_out, check_pair};

use crate::counter::Counter;
use crate::error::{KernelError, Result};

/// Order code: the two vectors are equal.
pub const EQUAL: u8 = 0;
/// Order code: `a < b` (a happened before b): some `a[i] < b[i]`, none greater.
pub const BEFORE: u8 = 1;
/// Order code: `a > b` (a happened after b): some `a[i] > b[i]`, none smaller.
pub const AFTER: u8 = 2;
/// Order code: neither dominates: some `a[i] < b[i]` and some `a[j] > b[j]`.
pub const CONCURRENT: u8 = 3;

/// Batches of at least this many counters are split over the rayon pool.
///
/// Chosen by measurement (see `benches/README.md`): below it the fork/join costs more than
/// the second core saves.
pub const PAR_MIN_COUNTERS: usize = 1 << 18;
/// Counters per rayon task once a batch is split.
const PAR_CHUNK: usize = 1 << 16;

/// Rows per rayon task for row-wise kernels.
fn rows_per_task(width: usize) -> usize {
    (PAR_CHUNK / width).max(1)
}

/// Pointwise maximum of `b` into `a` (the join of each pair of rows).
///
/// # Errors
/// [`KernelError::ZeroWidth`] when `width == 0`, [`KernelError::RaggedMatrix`] when `a` is
/// not a whole number of rows, [`KernelError::LengthMismatch`] when `b` differs in length.
/// `a` is unchanged on error.
///
/// # Example
/// ```
/// let mut a = vec![1u64, 7, 0, 4]; // two rows of width 2
/// let b = vec![3u64, 2, 0, 9];
/// pluriverse_kernels::vv::merge(&mut a, &b, 2).unwrap();
/// assert_eq!(a, [3, 7, 0, 9]);
/// // the same as the naive loop:
/// // for i in 0..a.len() { a[i] = a[i].max(b[i]) }
/// ```
pub fn merge<T: Counter>(a: &mut [T], b: &[T], width: usize) -> Result<()> {
    check_pair(a.len(), b.len(), width)?;
    let k = KernelSet::<T>::best();
    if a.len() < PAR_MIN_COUNTERS {
        k.merge_asserted(a, b);
    } else {
        a.par_chunks_mut(PAR_CHUNK)
            .zip(b.par_chunks(PAR_CHUNK))
            .for_each(|(x, y)| k.merge_asserted(x, y));
    }
    Ok(())
}

/// Order of each row of `a` against the same row of `b`, as a code in `out`:
/// bit 0 set when some `a[i] < b[i]`, bit 1 set when some `a[i] > b[i]`; so [`EQUAL`],
/// [`BEFORE`], [`AFTER`] or [`CONCURRENT`].
///
/// # Errors
/// As [`merge`], plus [`KernelError::LengthMismatch`] when `out` is not one byte per row.
///
/// # Example
/// ```
/// use pluriverse_kernels::vv::{self, AFTER, BEFORE, CONCURRENT, EQUAL};
/// let a = [1u64, 1, 2, 0, 5, 5, 1, 9];
/// let b = [1u64, 1, 2, 1, 4, 5, 2, 0];
/// let mut out = [0u8; 4];
/// vv::compare(&a, &b, 2, &mut out).unwrap();
/// assert_eq!(out, [EQUAL, BEFORE, AFTER, CONCURRENT]);
/// ```
pub fn compare<T: Counter>(a: &[T], b: &[T], width: usize, out: &mut [u8]) -> Result<()> {
    let rows = check_pair(a.len(), b.len(), width)?;
    check_out(rows, out.len())?;
    let k = KernelSet::<T>::best();
    if a.len() < PAR_MIN_COUNTERS {
        k.compare_asserted(a, b, width, out);
    } else {
        let rt = rows_per_task(width);
        out.par_chunks_mut(rt)
            .zip(a.par_chunks(rt * width).zip(b.par_chunks(rt * width)))
            .for_each(|(o, (x, y))| k.compare_asserted(x, y, width, o));
    }
    Ok(())
}

/// [`merge`] and [`compare`] in one pass: `out` gets the order of each row of `a` *before*
/// the merge against `b`, and `a` becomes `a ⊔ b`. Anti-entropy needs both; the pass is
/// memory-bound, so fusing halves the traffic.
///
/// # Errors
/// As [`compare`]; `a` and `out` are unchanged on error.
///
/// # Example
/// ```
/// use pluriverse_kernels::vv::{self, CONCURRENT, EQUAL};
/// let mut a = vec![3u64, 0, 1, 1];
/// let b = [1u64, 2, 1, 1];
/// let mut out = [0u8; 2];
/// vv::merge_compare(&mut a, &b, 2, &mut out).unwrap();
/// assert_eq!(a, [3, 2, 1, 1]);
/// assert_eq!(out, [CONCURRENT, EQUAL]);
/// ```
pub fn merge_compare<T: Counter>(a: &mut [T], b: &[T], width: usize, out: &mut [u8]) -> Result<()> {
    let rows = check_pair(a.len(), b.len(), width)?;
    check_out(rows, out.len())?;
    let k = KernelSet::<T>::best();
    if a.len() < PAR_MIN_COUNTERS {
        k.merge_compare_asserted(a, b, width, out);
    } else {
        let rt = rows_per_task(width);
        out.par_chunks_mut(rt)
            .zip(a.par_chunks_mut(rt * width).zip(b.par_chunks(rt * width)))
            .for_each(|(o, (x, y))| k.merge_compare_asserted(x, y, width, o));
    }
    Ok(())
}

/// `out[r]` is true when row `r` of `b` is dominated by row `r` of `a` (`b <= a`
/// pointwise): the records a peer at `b` would gain nothing from. The basis of delta
/// extraction.
///
/// # Errors
/// As [`compare`].
///
/// # Example
/// ```
/// let a = [5u64, 5, 1, 1];
/// let b = [4u64, 5, 2, 0];
/// let mut out = [false; 2];
/// pluriverse_kernels::vv::dominated(&a, &b, 2, &mut out).unwrap();
/// assert_eq!(out, [true, false]);
/// ```
pub fn dominated<T: Counter>(a: &[T], b: &[T], width: usize, out: &mut [bool]) -> Result<()> {
    let rows = check_pair(a.len(), b.len(), width)?;
    check_out(rows, out.len())?;
    let k = KernelSet::<T>::best();
    if a.len() < PAR_MIN_COUNTERS {
        k.dominated_asserted(a, b, width, out);
    } else {
        let rt = rows_per_task(width);
        out.par_chunks_mut(rt)
            .zip(a.par_chunks(rt * width).zip(b.par_chunks(rt * width)))
            .for_each(|(o, (x, y))| k.dominated_asserted(x, y, width, o));
    }
    Ok(())
}

/// Indices of the rows where `b` is *not* dominated by `a` (some `b[i] > a[i]`): the rows
/// that must be shipped to a peer whose vectors are `a`, in increasing order.
///
/// # Errors
/// As [`merge`].
///
/// # Example
/// ```
/// let ours = [5u64, 5, 1, 1, 0, 0];
/// let peer = [4u64, 5, 0, 0, 0, 0];
/// // rows of `ours` the peer lacks: compare with the roles swapped
/// assert_eq!(pluriverse_kernels::vv::dominated_indices(&peer, &ours, 2).unwrap(), vec![0, 1]);
/// ```
pub fn dominated_indices<T: Counter>(a: &[T], b: &[T], width: usize) -> Result<Vec<u64>> {
    let rows = check_pair(a.len(), b.len(), width)?;
    let mut mask = vec![false; rows];
    dominated(a, b, width, &mut mask)?;
    Ok(mask
        .iter()
        .enumerate()
        .filter(|(_, &d)| !d)
        .map(|(i, _)| i as u64)
        .collect())
}

/// Column-wise minimum over the rows of `m` into `out` (one counter per replica): with one
/// row per known peer, the causally stable frontier, i.e. the events every peer has seen.
/// With no rows, every column is `T::MAX` (the identity of `min`).
///
/// # Errors
/// As [`merge`] for `m`, and [`KernelError::LengthMismatch`] when `out.len() != width`.
///
/// # Example
/// ```
/// let peers = [3u64, 9, 1, 5, 7, 2, 4, 8]; // 4 peers, 2 replicas
/// let mut frontier = [0u64; 2];
/// pluriverse_kernels::vv::column_min(&peers, 2, &mut frontier).unwrap();
/// assert_eq!(frontier, [1, 2]);
/// ```
pub fn column_min<T: Counter>(m: &[T], width: usize, out: &mut [T]) -> Result<()> {
    let rows = check_matrix("matrix", m.len(), width)?;
    if out.len() != width {
        return Err(KernelError::LengthMismatch {
            what: "out",
            expected: width,
            actual: out.len(),
        });
    }
    let k = KernelSet::<T>::best();
    if m.len() < PAR_MIN_COUNTERS {
        k.column_min_asserted(m, width, out);
    } else {
        let rt = rows_per_task(width).max(rows.div_ceil(rayon::current_num_threads() * 4));
        let partial = m
            .par_chunks(rt * width)
            .map(|chunk| {
                let mut o = vec![T::MAX; width];
                k.column_min_asserted(chunk, width, &mut o);
                o
            })
            .reduce(
                || vec![T::MAX; width],
                |mut x, y| {
                    k.min_into_asserted(&mut x, &y);
                    x
                },
            );
        out.copy_from_slice(&partial);
    }
    Ok(())
}
