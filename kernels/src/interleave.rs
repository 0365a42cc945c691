//! Interleave: one column built from two by a list of [`Pick`]s, each naming a side and an
//! index (arrow-select's `interleave`, for two sources). It knows nothing of keys or of
//! what the columns hold; the `pluriverse` crate plans a join as a list of picks (from the
//! hashes and dots alone) and then interleaves every column of both sides in one pass.
//!
//! Two layouts: fixed-width items in plain slices ([`interleave`], [`interleave_into`]) and
//! variable-length items in the Arrow layout, offsets plus one byte buffer
//! ([`interleave_var_into`] over [`VarSlice`]s).
//!
//! # Example
//! ```
//! use pluriverse_kernels::interleave::{interleave, Pick};
//! let (left, right) = ([10, 11, 12], [20, 21]);
//! let picks = [Pick::left(0), Pick::right(1), Pick::left(2), Pick::right(0)];
//! assert_eq!(interleave(&left, &right, &picks).unwrap(), [10, 21, 12, 20]);
//! // the naive loop it replaces:
//! let naive: Vec<i32> = picks
//!     .iter()
//!     .map(|p| if p.is_right() { right[p.index()] } else { left[p.index()] })
//!     .collect();
//! assert_eq!(naive, [10, 21, 12, 20]);
//! ```

use std::fmt;

use crate::{KernelError, Result};

/// Which of the two inputs a [`Pick`] names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Side {
    /// The first input.
    Left,
    /// The second input.
    Right,
}

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Side::Left => "left",
            Side::Right => "right",
        })
    }
}

/// One item of an interleave's output: item [`Pick::index`] of input [`Pick::side`].
///
/// Eight bytes, so a plan of picks costs what a column of `u64` does: the side is the top
/// bit and the index the other 63 (every index of a slice fits, as no slice holds more
/// than `isize::MAX` items).
///
/// # Example
/// ```
/// use pluriverse_kernels::interleave::{Pick, Side};
/// let p = Pick::right(7);
/// assert_eq!((p.side(), p.index()), (Side::Right, 7));
/// assert_eq!(Pick::checked_left(Pick::MAX_INDEX + 1), None);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
#[repr(transparent)]
pub struct Pick(u64);

/// The bit of a [`Pick`] that says it names the right side.
const RIGHT: u64 = 1 << 63;

impl Pick {
    /// The largest index a pick can name: `2^63 - 1` (on 64-bit targets; `usize::MAX`
    /// where `usize` is narrower).
    pub const MAX_INDEX: usize = if (usize::MAX as u64) < RIGHT {
        usize::MAX
    } else {
        (RIGHT - 1) as usize
    };

    /// Item `i` of the left input.
    ///
    /// # Panics
    /// If `i` exceeds [`Pick::MAX_INDEX`] (no slice index does); see
    /// [`Pick::checked_left`].
    #[inline]
    pub const fn left(i: usize) -> Self {
        assert!(i <= Self::MAX_INDEX, "pick index exceeds Pick::MAX_INDEX");
        Self(i as u64)
    }

    /// Item `i` of the right input.
    ///
    /// # Panics
    /// If `i` exceeds [`Pick::MAX_INDEX`] (no slice index does); see
    /// [`Pick::checked_right`].
    #[inline]
    pub const fn right(i: usize) -> Self {
        assert!(i <= Self::MAX_INDEX, "pick index exceeds Pick::MAX_INDEX");
        Self(RIGHT | i as u64)
    }

    /// [`Pick::left`], or `None` when `i` exceeds [`Pick::MAX_INDEX`].
    #[inline]
    pub const fn checked_left(i: usize) -> Option<Self> {
        if i <= Self::MAX_INDEX {
            Some(Self(i as u64))
        } else {
            None
        }
    }

    /// [`Pick::right`], or `None` when `i` exceeds [`Pick::MAX_INDEX`].
    #[inline]
    pub const fn checked_right(i: usize) -> Option<Self> {
        if i <= Self::MAX_INDEX {
            Some(Self(RIGHT | i as u64))
        } else {
            None
        }
    }

    /// The pick of item `i` on `side`.
    ///
    /// # Panics
    /// As [`Pick::left`].
    #[inline]
    pub const fn new(side: Side, i: usize) -> Self {
        match side {
            Side::Left => Self::left(i),
            Side::Right => Self::right(i),
        }
    }

    /// The input it names.
    #[inline]
    pub const fn side(self) -> Side {
        if self.is_right() {
            Side::Right
        } else {
            Side::Left
        }
    }

    /// Whether it names the right input.
    #[inline]
    pub const fn is_right(self) -> bool {
        self.0 & RIGHT != 0
    }

    /// The index within its input.
    #[inline]
    pub const fn index(self) -> usize {
        (self.0 & !RIGHT) as usize
    }

    /// The side as an index into `[left, right]`: 0 or 1 (lets a kernel select the input
    /// by indexing instead of branching, as the sides of a merge alternate at random).
    #[inline]
    const fn side_bit(self) -> usize {
        (self.0 >> 63) as usize
    }
}

impl fmt::Debug for Pick {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.side() {
            Side::Left => write!(f, "Left({})", self.index()),
            Side::Right => write!(f, "Right({})", self.index()),
        }
    }
}

/// The error for pick `at`, which names an item its side (of `len` items) does not have.
#[cold]
fn out_of_bounds(picks: &[Pick], at: usize, len: usize) -> KernelError {
    let p = picks[at];
    KernelError::PickOutOfBounds {
        at,
        side: p.side(),
        index: p.index(),
        len,
    }
}

/// The items `picks` name, in order: `picks[k]` is item `index` of `left` or of `right`.
///
/// # Errors
/// [`KernelError::PickOutOfBounds`] for the first pick past the end of its side.
///
/// # Example
/// ```
/// use pluriverse_kernels::interleave::{interleave, Pick};
/// let out = interleave(&[1u64, 2], &[9u64], &[Pick::right(0), Pick::left(1)]).unwrap();
/// assert_eq!(out, [9, 2]);
/// assert!(interleave(&[1u64], &[], &[Pick::right(0)]).is_err());
/// ```
pub fn interleave<T: Copy>(left: &[T], right: &[T], picks: &[Pick]) -> Result<Vec<T>> {
    let mut out = Vec::new();
    interleave_into(left, right, picks, &mut out)?;
    Ok(out)
}

/// [`interleave`], appending to `out` (a plan made of several parts fills one column).
///
/// # Errors
/// As [`interleave`]; `out` is then unchanged.
///
/// # Example
/// ```
/// use pluriverse_kernels::interleave::{interleave_into, Pick};
/// let mut out = vec![0u32];
/// interleave_into(&[5u32], &[6u32], &[Pick::right(0)], &mut out).unwrap();
/// interleave_into(&[5u32], &[6u32], &[Pick::left(0)], &mut out).unwrap();
/// assert_eq!(out, [0, 6, 5]);
/// ```
pub fn interleave_into<T: Copy>(
    left: &[T],
    right: &[T],
    picks: &[Pick],
    out: &mut Vec<T>,
) -> Result<()> {
    // the side is an index, not a branch: in a merge the sides alternate at random
    let sides = [left, right];
    let start = out.len();
    out.reserve(picks.len());
    // one pass: the bounds check of each pick is the check of the arguments (a separate
    // validating pass would cost a sweep over the picks per column)
    out.extend(
        picks
            .iter()
            .map_while(|p| sides[p.side_bit()].get(p.index()).copied()),
    );
    let done = out.len() - start;
    if done < picks.len() {
        out.truncate(start);
        let len = sides[picks[done].side_bit()].len();
        return Err(out_of_bounds(picks, done, len));
    }
    Ok(())
}

/// A column of variable-length items in the Arrow layout: item `i` is
/// `values[offsets[i]..offsets[i + 1]]`, so `offsets` holds one more entry than items.
#[derive(Clone, Copy, Debug)]
pub struct VarSlice<'a> {
    /// `len + 1` offsets into `values`.
    pub offsets: &'a [u64],
    /// The items' bytes, back to back.
    pub values: &'a [u8],
}

impl<'a> VarSlice<'a> {
    /// Number of items.
    pub fn len(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }

    /// Whether there are no items.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Item `i`, or `None` when `i` is past the end or its offsets are not a range of
    /// `values`.
    #[inline]
    pub fn get(&self, i: usize) -> Option<&'a [u8]> {
        let lo = usize::try_from(*self.offsets.get(i)?).ok()?;
        let hi = usize::try_from(*self.offsets.get(i.checked_add(1)?)?).ok()?;
        self.values.get(lo..hi)
    }
}

/// The variable-length items `picks` name, in order, appended to a column in the Arrow
/// layout: each item's bytes to `values` and its end offset to `offsets`. New offsets count
/// from `values.len()` (the last offset of a well-formed column); an empty `offsets` first
/// gets that start offset (0 for a new column). Offsets first, then the bytes, so the byte
/// buffer grows once, to its final size.
///
/// # Errors
/// For the first pick that names no item: [`KernelError::PickOutOfBounds`] when it is past
/// the end of its side, [`KernelError::BadOffset`] (at the pick's position) when the
/// item's offsets are not a range of its side's values; `offsets` and `values` are then
/// unchanged.
///
/// # Example
/// ```
/// use pluriverse_kernels::interleave::{interleave_var_into, Pick, VarSlice};
/// let left = VarSlice { offsets: &[0, 3, 5], values: b"onetw" };
/// let right = VarSlice { offsets: &[0, 1], values: b"x" };
/// let (mut offsets, mut values) = (vec![], vec![]);
/// let picks = [Pick::left(1), Pick::right(0), Pick::left(0)];
/// interleave_var_into(left, right, &picks, &mut offsets, &mut values).unwrap();
/// assert_eq!((offsets.as_slice(), values.as_slice()), (&[0, 2, 3, 6][..], &b"twxone"[..]));
/// ```
pub fn interleave_var_into(
    left: VarSlice<'_>,
    right: VarSlice<'_>,
    picks: &[Pick],
    offsets: &mut Vec<u64>,
    values: &mut Vec<u8>,
) -> Result<()> {
    let sides = [left, right];
    let item = |at: usize| {
        let p = picks[at];
        let side = sides[p.side_bit()];
        if p.index() >= side.len() {
            return Err(out_of_bounds(picks, at, side.len()));
        }
        side.get(p.index())
            .ok_or(KernelError::BadOffset { index: at })
    };
    let offsets_len = offsets.len();
    let base = values.len() as u64;
    if offsets.is_empty() {
        offsets.push(base);
    }
    offsets.reserve(picks.len());
    let mut end = base;
    for at in 0..picks.len() {
        match item(at) {
            Ok(b) => {
                end += b.len() as u64;
                offsets.push(end);
            }
            Err(e) => {
                offsets.truncate(offsets_len);
                return Err(e);
            }
        }
    }
    values.reserve((end - base) as usize);
    crate::pages::advise(values);
    for at in 0..picks.len() {
        // every item was checked in the first pass
        if let Ok(b) = item(at) {
            values.extend_from_slice(b);
        }
    }
    Ok(())
}
