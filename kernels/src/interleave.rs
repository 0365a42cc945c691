//! Interleave: one column built from two by a list of [`Pick`]s, each naming a side and an
//! index (arrow-select's `interleave`, for two sources). A plan over inputs of at most
//! 2^31 items each can use [`Pick32`], half the size, and a plan cut into [`Part`]s of at
//! most 2^15 items a side [`Pick16`], counting from each part's first items; every kernel
//! takes any of them ([`AnyPick`], [`PlanPart`]). It knows nothing of keys or of
//! what the columns hold; the `pluriverse` crate plans a join as a list of picks (from the
//! hashes and dots alone) and then interleaves every column of both sides in one pass.
//!
//! Two layouts: fixed-width items in plain slices ([`interleave`], [`interleave_into`]) and
//! variable-length items in the Arrow layout, offsets plus one byte buffer
//! ([`interleave_var_into`] over [`VarSlice`]s). Either can also be interleaved into the
//! left input's own buffers ([`interleave_in_place`], [`interleave_var_in_place`], with a
//! [`CheckedPlan`]), so that a merge writes into memory it already holds instead of fresh
//! pages.
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

/// The two pick types: the side is the top bit of `$repr`, the index the other bits.
macro_rules! pick_type {
    ($(#[$meta:meta])* $name:ident($repr:ty)) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash)]
        #[repr(transparent)]
        pub struct $name($repr);

        impl $name {
            /// The bit that says it names the right side.
            const RIGHT: $repr = 1 << (<$repr>::BITS - 1);

            /// The largest index a pick can name: all bits but the side's (or `usize::MAX`
            /// where `usize` is narrower).
            pub const MAX_INDEX: usize = if (usize::MAX as u128) < (Self::RIGHT as u128) {
                usize::MAX
            } else {
                (Self::RIGHT - 1) as usize
            };

            /// Item `i` of the left input.
            ///
            /// # Panics
            #[doc = concat!("If `i` exceeds [`", stringify!($name), "::MAX_INDEX`] (see [`",
                stringify!($name), "::checked_left`]).")]
            #[inline]
            pub const fn left(i: usize) -> Self {
                assert!(i <= Self::MAX_INDEX, "pick index exceeds MAX_INDEX");
                Self(i as $repr)
            }

            /// Item `i` of the right input.
            ///
            /// # Panics
            #[doc = concat!("If `i` exceeds [`", stringify!($name), "::MAX_INDEX`] (see [`",
                stringify!($name), "::checked_right`]).")]
            #[inline]
            pub const fn right(i: usize) -> Self {
                assert!(i <= Self::MAX_INDEX, "pick index exceeds MAX_INDEX");
                Self(Self::RIGHT | i as $repr)
            }

            #[doc = concat!("[`", stringify!($name), "::left`], or `None` when `i` exceeds [`",
                stringify!($name), "::MAX_INDEX`].")]
            #[inline]
            pub const fn checked_left(i: usize) -> Option<Self> {
                if i <= Self::MAX_INDEX {
                    Some(Self(i as $repr))
                } else {
                    None
                }
            }

            #[doc = concat!("[`", stringify!($name), "::right`], or `None` when `i` exceeds [`",
                stringify!($name), "::MAX_INDEX`].")]
            #[inline]
            pub const fn checked_right(i: usize) -> Option<Self> {
                if i <= Self::MAX_INDEX {
                    Some(Self(Self::RIGHT | i as $repr))
                } else {
                    None
                }
            }

            /// The pick of item `i` on `side`.
            ///
            /// # Panics
            #[doc = concat!("As [`", stringify!($name), "::left`].")]
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
                self.0 & Self::RIGHT != 0
            }

            /// The index within its input.
            #[inline]
            pub const fn index(self) -> usize {
                (self.0 & !Self::RIGHT) as usize
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self.side() {
                    Side::Left => write!(f, "Left({})", self.index()),
                    Side::Right => write!(f, "Right({})", self.index()),
                }
            }
        }

        impl sealed::Sealed for $name {}

        impl AnyPick for $name {
            const MAX_INDEX: usize = $name::MAX_INDEX;
            #[inline]
            fn left(i: usize) -> Self {
                $name::left(i)
            }
            #[inline]
            fn right(i: usize) -> Self {
                $name::right(i)
            }
            #[inline]
            fn is_right(self) -> bool {
                $name::is_right(self)
            }
            #[inline]
            fn index(self) -> usize {
                $name::index(self)
            }
            #[inline]
            fn side_bit(self) -> usize {
                (self.0 >> (<$repr>::BITS - 1)) as usize
            }
        }
    };
}

pick_type! {
    /// One item of an interleave's output: item [`Pick::index`] of input [`Pick::side`].
    ///
    /// Eight bytes, so a plan of picks costs what a column of `u64` does: the side is the
    /// top bit and the index the other 63 (every index of a slice fits, as no slice holds
    /// more than `isize::MAX` items).
    ///
    /// # Example
    /// ```
    /// use pluriverse_kernels::interleave::{Pick, Side};
    /// let p = Pick::right(7);
    /// assert_eq!((p.side(), p.index()), (Side::Right, 7));
    /// assert_eq!(Pick::checked_left(Pick::MAX_INDEX + 1), None);
    /// ```
    Pick(u64)
}

pick_type! {
    /// One item of an interleave's output, in four bytes: [`Pick`] for inputs of at most
    /// `2^31` items each (the side is the top bit, the index the other 31). A plan of them
    /// costs half of one of [`Pick`]s: a merge's plan is read once per column and held
    /// while the output grows, so its size is traffic and peak memory.
    ///
    /// # Example
    /// ```
    /// use pluriverse_kernels::interleave::{interleave, Pick32, Side};
    /// let p = Pick32::right(7);
    /// assert_eq!((p.side(), p.index()), (Side::Right, 7));
    /// assert_eq!(Pick32::checked_left(Pick32::MAX_INDEX + 1), None);
    /// let picks = [Pick32::left(1), Pick32::right(0)];
    /// assert_eq!(interleave(&[1u8, 2], &[3], &picks).unwrap(), [2, 3]);
    /// ```
    Pick32(u32)
}

pick_type! {
    /// One item of an interleave's output, in two bytes: [`Pick`] for inputs of at most
    /// `2^15` items each (the side is the top bit, the index the other 15). Made for a
    /// plan cut into [`Part`]s of at most that many items a side, whose picks count from
    /// the part's first items: a quarter of the memory of [`Pick`]s, for any input length.
    ///
    /// # Example
    /// ```
    /// use pluriverse_kernels::interleave::{Pick16, Side};
    /// let p = Pick16::right(7);
    /// assert_eq!((p.side(), p.index()), (Side::Right, 7));
    /// assert_eq!(Pick16::MAX_INDEX, 32767);
    /// assert_eq!(Pick16::checked_left(Pick16::MAX_INDEX + 1), None);
    /// ```
    Pick16(u16)
}

mod sealed {
    /// Only this module's pick types are picks.
    pub trait Sealed {}
}

/// One part of a plan: its picks, and the first items of each input they count from. A
/// plain `Vec` of picks is a part that counts from 0. The in-place kernels and
/// [`CheckedPlan`] take any part; [`interleave_into`] and [`interleave_var_into`] take the
/// inputs from a part's bases on ([`Part::left`] items of the left dropped, as a slice).
///
/// # Example
/// ```
/// use pluriverse_kernels::interleave::{PlanPart, Part, Pick16};
/// let part = Part { left: 1000, right: 40, picks: vec![Pick16::left(2), Pick16::right(0)] };
/// assert_eq!((part.bases(), part.picks().len()), ((1000, 40), 2));
/// assert_eq!(vec![Pick16::left(2)].bases(), (0, 0));
/// ```
pub trait PlanPart<Q: AnyPick> {
    /// The part's picks.
    fn picks(&self) -> &[Q];
    /// The left and the right item a pick of index 0 names.
    #[inline]
    fn bases(&self) -> (usize, usize) {
        (0, 0)
    }
}

impl<Q: AnyPick> PlanPart<Q> for Vec<Q> {
    #[inline]
    fn picks(&self) -> &[Q] {
        self
    }
}

impl<Q: AnyPick, const N: usize> PlanPart<Q> for [Q; N] {
    #[inline]
    fn picks(&self) -> &[Q] {
        self
    }
}

/// A part of a plan whose picks count from item `left` of the left input and item `right`
/// of the right: a plan of hash-range parts can use narrow picks ([`Pick16`]) over inputs
/// of any length.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Part<Q> {
    /// The left item a left pick of index 0 names.
    pub left: usize,
    /// The right item a right pick of index 0 names.
    pub right: usize,
    /// The picks, counting from those items.
    pub picks: Vec<Q>,
}

impl<Q> From<Vec<Q>> for Part<Q> {
    /// A part whose picks count from the inputs' first items.
    fn from(picks: Vec<Q>) -> Self {
        Self {
            left: 0,
            right: 0,
            picks,
        }
    }
}

impl<Q: AnyPick> PlanPart<Q> for Part<Q> {
    #[inline]
    fn picks(&self) -> &[Q] {
        &self.picks
    }
    #[inline]
    fn bases(&self) -> (usize, usize) {
        (self.left, self.right)
    }
}

/// A pick of any width, [`Pick`], [`Pick32`] or [`Pick16`]: what the kernels take. Sealed.
///
/// # Example
/// ```
/// use pluriverse_kernels::interleave::{AnyPick, Pick, Pick32};
/// fn plan<P: AnyPick>(n: usize) -> Vec<P> {
///     (0..n).map(|i| if i % 2 == 0 { P::left(i / 2) } else { P::right(i / 2) }).collect()
/// }
/// assert_eq!(plan::<Pick32>(3)[1].index(), plan::<Pick>(3)[1].index());
/// assert!(Pick32::MAX_INDEX < <Pick as AnyPick>::MAX_INDEX);
/// ```
pub trait AnyPick: Copy + Send + Sync + fmt::Debug + sealed::Sealed + 'static {
    /// The largest index a pick can name.
    const MAX_INDEX: usize;
    /// Item `i` of the left input.
    ///
    /// # Panics
    /// If `i` exceeds [`AnyPick::MAX_INDEX`].
    fn left(i: usize) -> Self;
    /// Item `i` of the right input.
    ///
    /// # Panics
    /// If `i` exceeds [`AnyPick::MAX_INDEX`].
    fn right(i: usize) -> Self;
    /// Whether it names the right input.
    fn is_right(self) -> bool;
    /// The index within its input.
    fn index(self) -> usize;
    /// The input it names.
    #[inline]
    fn side(self) -> Side {
        if self.is_right() {
            Side::Right
        } else {
            Side::Left
        }
    }
    /// The side as an index into `[left, right]`: 0 or 1 (lets a kernel select the input
    /// by indexing instead of branching, as the sides of a merge alternate at random).
    fn side_bit(self) -> usize;
}

/// The error for pick `at`, which names an item its side (of `len` items) does not have.
#[cold]
fn out_of_bounds<Q: AnyPick>(picks: &[Q], at: usize, len: usize) -> KernelError {
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
pub fn interleave<T: Copy, Q: AnyPick>(left: &[T], right: &[T], picks: &[Q]) -> Result<Vec<T>> {
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
pub fn interleave_into<T: Copy, Q: AnyPick>(
    left: &[T],
    right: &[T],
    picks: &[Q],
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

    /// The items from item `i` on (none when `i` is past the end): a part of a plan that
    /// counts from `i` reads these.
    ///
    /// # Example
    /// ```
    /// use pluriverse_kernels::interleave::VarSlice;
    /// let col = VarSlice { offsets: &[0, 3, 5], values: b"onetw" };
    /// assert_eq!(col.from_item(1).get(0), Some(&b"tw"[..]));
    /// assert!(col.from_item(2).is_empty() && col.from_item(9).is_empty());
    /// ```
    pub fn from_item(&self, i: usize) -> VarSlice<'a> {
        VarSlice {
            offsets: self.offsets.get(i..).unwrap_or(&[]),
            values: self.values,
        }
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
pub fn interleave_var_into<Q: AnyPick>(
    left: VarSlice<'_>,
    right: VarSlice<'_>,
    picks: &[Q],
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

/// A plan of picks in parts (the parts one after the other are the plan; a part's picks
/// count from its [`PlanPart::bases`]), checked once against the lengths of its two inputs
/// for [`interleave_in_place`] and [`interleave_var_in_place`]: every pick names an item
/// of its side, and the left picks name strictly increasing items (as a merge's plan does:
/// each left item is kept at most once, in order). One check serves every column of a
/// merge.
///
/// # Example
/// ```
/// use pluriverse_kernels::interleave::{CheckedPlan, Pick};
/// let parts = [vec![Pick::left(0), Pick::right(0)], vec![Pick::left(2)]];
/// let plan = CheckedPlan::new(&parts, 3, 1).unwrap();
/// assert_eq!((plan.len(), plan.left_picks()), (3, 2));
/// // a left index repeated, or one past the end, is refused
/// assert!(CheckedPlan::new(&[vec![Pick::left(1), Pick::left(1)]], 3, 0).is_err());
/// assert!(CheckedPlan::new(&[vec![Pick::right(1)]], 3, 1).is_err());
/// // parts in two-byte picks counting from their bases; a base past the end is refused
/// use pluriverse_kernels::interleave::{Part, Pick16};
/// let parts = [
///     Part { left: 0, right: 0, picks: vec![Pick16::left(0)] },
///     Part { left: 70_000, right: 5, picks: vec![Pick16::right(1), Pick16::left(3)] },
/// ];
/// assert_eq!(CheckedPlan::new(&parts, 70_004, 7).unwrap().len(), 3);
/// assert!(CheckedPlan::new(&parts, 70_003, 7).is_err());
/// ```
#[derive(Clone, Copy, Debug)]
pub struct CheckedPlan<'a, P, Q = Pick> {
    parts: &'a [P],
    left_len: usize,
    right_len: usize,
    left_picks: usize,
    len: usize,
    /// How far past its place a left item must sit so that a single forward pass, writing
    /// the output from the start, reads it before overwriting it: the most any left pick
    /// is ahead of the item it names (its position in the output less the item's index).
    tail: usize,
    pick: std::marker::PhantomData<Q>,
}

impl<'a, Q: AnyPick, P: PlanPart<Q>> CheckedPlan<'a, P, Q> {
    /// Checks `parts` against inputs of `left_len` and `right_len` items.
    ///
    /// # Errors
    /// For the first offending pick (its position counted over the parts in order):
    /// [`KernelError::PickOutOfBounds`] when it names an item past the end of its side
    /// (`index` counted from the input's start, saturated where the base overflows),
    /// [`KernelError::PickOutOfOrder`] when it is a left pick at or before the previous one.
    pub fn new(parts: &'a [P], left_len: usize, right_len: usize) -> Result<Self>
    where
        P: Sync,
    {
        // Each part is summed up on its own (on the pool for a long plan of several parts),
        // and the summaries are folded in order: the checks between parts are on their
        // first and last left picks.
        let total: usize = parts.iter().map(|p| p.picks().len()).sum();
        let summaries: Vec<PartSummary> = if total >= PAR_CHECK_PICKS && parts.len() > 1 {
            use rayon::prelude::*;
            parts
                .par_iter()
                .map(|p| PartSummary::of(p, left_len, right_len))
                .collect()
        } else {
            parts
                .iter()
                .map(|p| PartSummary::of(p, left_len, right_len))
                .collect()
        };
        let (mut at, mut left_picks, mut next_left, mut tail) = (0usize, 0usize, 0usize, 0usize);
        let mut bad = false;
        for s in &summaries {
            bad |= s.bad;
            if let Some((first, last)) = s.left {
                bad |= first < next_left;
                next_left = last.saturating_add(1);
                // the most a left pick of this part is ahead of its item, its position
                // counted from the plan's start (none ahead: a tail of 0)
                tail = tail.max(usize::try_from((at as i128) + s.ahead).unwrap_or(0));
            }
            left_picks += s.left_picks;
            at += s.len;
        }
        // the walk decides (it finds what the summaries found: the same checks, with
        // branches, and the first pick that fails one)
        if let Some(e) = bad
            .then(|| first_bad_pick(parts, left_len, right_len))
            .flatten()
        {
            return Err(e);
        }
        Ok(Self {
            parts,
            left_len,
            right_len,
            left_picks,
            len: at,
            tail,
            pick: std::marker::PhantomData,
        })
    }

    /// The parts of the plan.
    pub fn parts(&self) -> &'a [P] {
        self.parts
    }

    /// Picks in the plan: the length of the output.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the plan picks nothing.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Left picks in the plan.
    pub fn left_picks(&self) -> usize {
        self.left_picks
    }
}

/// Plans of at least this many picks (in more than one part) are checked on the rayon pool,
/// a part a task.
const PAR_CHECK_PICKS: usize = 1 << 17;

/// One part of a plan summed up for [`CheckedPlan::new`], in one pass without a branch on
/// the side (the sides of a merge alternate at random).
struct PartSummary {
    /// Picks in the part.
    len: usize,
    /// Left picks in the part.
    left_picks: usize,
    /// The first and the last left item the part names (`None` without left picks).
    left: Option<(usize, usize)>,
    /// The most any left pick is ahead of the item it names: its position in the part less
    /// the item's index (negative where every left item lies past its position).
    ahead: i128,
    /// Whether a pick names an item past its side's end, or a left pick is at or before
    /// the part's previous one.
    bad: bool,
}

impl PartSummary {
    fn of<Q: AnyPick, P: PlanPart<Q>>(part: &P, left_len: usize, right_len: usize) -> Self {
        let (lbase, rbase) = part.bases();
        let picks = part.picks();
        let (mut at, mut left_picks, mut next_left) = (0usize, 0usize, 0usize);
        let (mut ahead, mut bad) = (i128::MIN, false);
        let mut first = usize::MAX;
        for &p in picks {
            let right = p.is_right();
            let left = !right;
            let i = std::hint::select_unpredictable(right, rbase, lbase).saturating_add(p.index());
            bad |= i >= std::hint::select_unpredictable(right, right_len, left_len);
            bad |= left & (left_picks > 0) & (i < next_left);
            first = std::hint::select_unpredictable(left & (left_picks == 0), i, first);
            next_left = std::hint::select_unpredictable(left, i.saturating_add(1), next_left);
            let a = std::hint::select_unpredictable(left, at as i128 - i as i128, i128::MIN);
            ahead = ahead.max(a);
            left_picks += usize::from(left);
            at += 1;
        }
        Self {
            len: at,
            left_picks,
            left: (left_picks > 0).then(|| (first, next_left - 1)),
            ahead,
            bad,
        }
    }
}

/// The error [`CheckedPlan::new`] reports for a plan that fails its checks: the first
/// offending pick (`None` for a plan that passes), found by walking the plan again with a
/// branch per check.
fn first_bad_pick<Q: AnyPick, P: PlanPart<Q>>(
    parts: &[P],
    left_len: usize,
    right_len: usize,
) -> Option<KernelError> {
    let (mut at, mut next_left) = (0usize, 0usize);
    for part in parts {
        let (lbase, rbase) = part.bases();
        for &p in part.picks() {
            let base = if p.is_right() { rbase } else { lbase };
            let i = base.saturating_add(p.index());
            if p.is_right() {
                if i >= right_len {
                    return Some(KernelError::PickOutOfBounds {
                        at,
                        side: Side::Right,
                        index: i,
                        len: right_len,
                    });
                }
            } else {
                if i >= left_len {
                    return Some(KernelError::PickOutOfBounds {
                        at,
                        side: Side::Left,
                        index: i,
                        len: left_len,
                    });
                }
                if i < next_left {
                    return Some(KernelError::PickOutOfOrder {
                        at,
                        index: i,
                        previous: next_left - 1,
                    });
                }
                next_left = i + 1;
            }
            at += 1;
        }
    }
    None
}

/// [`interleave`] into the left input's own buffer: afterwards `left` holds the items the
/// plan names, in order (as `interleave(&old_left, right, picks)` would return), grown in
/// place where the output is longer (a large buffer grows by remapping its pages, not by
/// copying them) and truncated where it is shorter. The left items move up by the plan's
/// tail (one `memmove`; see [`CheckedPlan`]) and one forward pass writes the output.
///
/// Safe in place because of the order of a merge's plan: the left picks name increasing
/// items, and after the move every left item sits at or past every output position it is
/// read for, so the pass, writing from the start, never overwrites an item it has yet to
/// read. The buffer holds `max(output, tail + left)` items while it works (the tail is at
/// most the right picks less the dropped left items before any left pick, so the excess
/// over the output is at most the dropped left items).
///
/// # Errors
/// [`KernelError::LengthMismatch`] when `left` or `right` is not of the length the plan
/// was checked for; `left` is then unchanged.
///
/// # Example
/// ```
/// use pluriverse_kernels::interleave::{interleave, interleave_in_place, CheckedPlan, Pick};
/// let (old, right) = (vec![10u64, 11, 12, 13], [20u64, 21]);
/// let parts = [vec![Pick::right(0), Pick::left(1)], vec![Pick::left(3), Pick::right(1)]];
/// let plan = CheckedPlan::new(&parts, old.len(), right.len()).unwrap();
/// let mut left = old.clone();
/// interleave_in_place(&mut left, &right, &plan).unwrap();
/// assert_eq!(left, [20, 11, 13, 21]);
/// assert_eq!(left, interleave(&old, &right, &parts.concat()).unwrap());
/// ```
pub fn interleave_in_place<T: Copy + Default, Q: AnyPick, P: PlanPart<Q>>(
    left: &mut Vec<T>,
    right: &[T],
    plan: &CheckedPlan<'_, P, Q>,
) -> Result<()> {
    if left.len() != plan.left_len {
        return Err(KernelError::LengthMismatch {
            what: "left",
            expected: plan.left_len,
            actual: left.len(),
        });
    }
    if right.len() != plan.right_len {
        return Err(KernelError::LengthMismatch {
            what: "right",
            expected: plan.right_len,
            actual: right.len(),
        });
    }
    // One forward pass writes the output from the start. A left item is read at `tail + i`
    // (the left column moved up by the plan's tail first), which is at or past the output
    // position it is read for, so no write reaches a left item not yet read. Both sides are
    // read every step and one is kept: no branch on the side (the sides of a merge
    // alternate at random).
    let (n, tail) = (plan.len, plan.tail);
    if n == 0 {
        left.clear();
        return Ok(());
    }
    let l = left.len();
    let size = n.max(tail + l);
    grow_shifted(left, 0, tail, size);
    let last = size - 1;
    let right_last = right.len().saturating_sub(1);
    let zero = [T::default()];
    let right_or_zero: &[T] = if right.is_empty() { &zero } else { right };
    let mut k = 0;
    for part in plan.parts {
        let (lbase, rbase) = part.bases();
        let from = tail + lbase;
        for &p in part.picks() {
            let from_left = left[(from + p.index()).min(last)];
            let from_right = right_or_zero[(rbase + p.index()).min(right_last)];
            left[k] = std::hint::select_unpredictable(p.is_right(), from_right, from_left);
            k += 1;
        }
    }
    left.truncate(n);
    Ok(())
}

/// The first offset of `offsets` that is below the one before it or past `values_len`.
fn first_bad_offset(offsets: &[u64], values_len: usize) -> Option<usize> {
    let end = values_len as u64;
    let mut previous = offsets.first().copied().unwrap_or(0);
    for (i, &o) in offsets.iter().enumerate() {
        if o < previous || o > end {
            return Some(i);
        }
        previous = o;
    }
    None
}

/// Items of at most this many bytes are copied as [`Short`]s, from either side without a
/// branch on the side; longer ones take a branch and a `memmove`.
const SHORT_ITEM: usize = 32;

/// The bytes of an item of at most [`SHORT_ITEM`] bytes, loaded as two overlapping words
/// (the first and the last `w` bytes, `w` the widest of 16, 8, 4 or 1 that fits; a
/// 1-3-byte item as its first, middle and last byte): an item copy in a few loads and
/// stores instead of a call, branching only on the length's class. Every byte is loaded
/// before any is stored, so the copy is right where its source and destination overlap.
#[derive(Clone, Copy)]
struct Short {
    head: u128,
    tail: u128,
    len: usize,
}

impl Short {
    /// Loads `src` (at most [`SHORT_ITEM`] bytes).
    #[inline(always)]
    fn load(src: &[u8]) -> Self {
        let len = src.len();
        debug_assert!(len <= SHORT_ITEM);
        let (head, tail) = if len >= 16 {
            (word::<16>(&src[..16]), word::<16>(&src[len - 16..]))
        } else if len >= 8 {
            (word::<8>(&src[..8]), word::<8>(&src[len - 8..]))
        } else if len >= 4 {
            (word::<4>(&src[..4]), word::<4>(&src[len - 4..]))
        } else if len > 0 {
            (
                u128::from(src[0]) | u128::from(src[len / 2]) << 8,
                u128::from(src[len - 1]),
            )
        } else {
            (0, 0)
        };
        Self { head, tail, len }
    }

    /// Stores the bytes into `dst`, of the loaded length.
    #[inline(always)]
    fn store(self, dst: &mut [u8]) {
        let len = self.len;
        debug_assert_eq!(dst.len(), len);
        let h = self.head.to_le_bytes();
        let t = self.tail.to_le_bytes();
        if len >= 16 {
            dst[..16].copy_from_slice(&h[..16]);
            dst[len - 16..].copy_from_slice(&t[..16]);
        } else if len >= 8 {
            dst[..8].copy_from_slice(&h[..8]);
            dst[len - 8..].copy_from_slice(&t[..8]);
        } else if len >= 4 {
            dst[..4].copy_from_slice(&h[..4]);
            dst[len - 4..].copy_from_slice(&t[..4]);
        } else if len > 0 {
            dst[0] = h[0];
            dst[len / 2] = h[1];
            dst[len - 1] = t[0];
        }
    }
}

/// The first `N` bytes of `b` (exactly `N` long) as a little-endian number.
#[inline(always)]
fn word<const N: usize>(b: &[u8]) -> u128 {
    let mut w = [0u8; 16];
    w[..N].copy_from_slice(b);
    u128::from_le_bytes(w)
}

/// [`interleave_var_into`] into the left input's own buffers: a column in the Arrow layout
/// (`offsets`, `left_len + 1` of them, into `values`) afterwards holds the items the plan
/// names, in order, starting at its first offset (bytes before it are left alone, bytes
/// after its last offset dropped). The buffers grow in place where the output is longer
/// (a large buffer grows by remapping its pages, not by copying them), so that a merge of
/// a long column needs no second copy of it.
///
/// The scheme of [`interleave_in_place`], for offsets and bytes together: a pass over the
/// plan sums the output's bytes and finds how far the left bytes must move up for a
/// forward pass to read every item before it is overwritten; the left offsets and bytes
/// move up (one `memmove` each), and one forward pass writes the output from the start.
/// The byte buffer holds at most the output plus the dropped left items' bytes while it
/// works. Items of up to 32 bytes are copied in a few word loads and stores, not a call.
///
/// # Errors
/// Every check comes before anything is written, so on an error `offsets` and `values` are
/// unchanged:
/// - [`KernelError::LengthMismatch`] when `offsets` is not one longer than the left length
///   the plan was checked for, or `right` is not of its right length;
/// - [`KernelError::BadColumnOffset`] (`what` is `"left"` or `"right"`) for the first
///   offset of a side that is below the one before it or past the end of its values.
///
/// # Example
/// ```
/// use pluriverse_kernels::interleave::{
///     interleave_var_in_place, interleave_var_into, CheckedPlan, Pick, VarSlice,
/// };
/// let (mut offsets, mut values) = (vec![0u64, 3, 6, 11], b"onetwothree".to_vec());
/// let right = VarSlice { offsets: &[0, 1, 4], values: b"xyzw" };
/// // drop "one", keep "two" and "three", with the right items between them
/// let parts = [vec![Pick::right(0), Pick::left(1)], vec![Pick::right(1), Pick::left(2)]];
/// let plan = CheckedPlan::new(&parts, 3, 2).unwrap();
/// interleave_var_in_place(&mut offsets, &mut values, right, &plan).unwrap();
/// assert_eq!(offsets, [0, 1, 4, 7, 12]);
/// assert_eq!(values, b"xtwoyzwthree");
/// ```
pub fn interleave_var_in_place<Q: AnyPick, P: PlanPart<Q>>(
    offsets: &mut Vec<u64>,
    values: &mut Vec<u8>,
    right: VarSlice<'_>,
    plan: &CheckedPlan<'_, P, Q>,
) -> Result<()> {
    if offsets.len() != plan.left_len + 1 {
        return Err(KernelError::LengthMismatch {
            what: "left offsets",
            expected: plan.left_len + 1,
            actual: offsets.len(),
        });
    }
    if right.offsets.len() != plan.right_len + 1 {
        return Err(KernelError::LengthMismatch {
            what: "right offsets",
            expected: plan.right_len + 1,
            actual: right.offsets.len(),
        });
    }
    if let Some(index) = first_bad_offset(offsets, values.len()) {
        return Err(KernelError::BadColumnOffset {
            what: "left",
            index,
        });
    }
    if let Some(index) = first_bad_offset(right.offsets, right.values.len()) {
        return Err(KernelError::BadColumnOffset {
            what: "right",
            index,
        });
    }
    // From here every offset read is in order and within its values, and every pick names
    // an item of its side (the plan was checked): nothing below can fail.
    let (n, l) = (plan.len, plan.left_len);
    let base = offsets[0];
    let left_end = offsets[l];
    let roff = right.offsets;
    // The output's size and its byte tail, in one pass without a branch on the side: item
    // `k` of the output starts at `at`, and a left item must sit at or past where its
    // output item starts, so the left bytes move up by the most any left pick's output
    // start is past its item's (`byte_tail`).
    let (mut at, mut byte_tail) = (base, 0u64);
    for part in plan.parts {
        let (lbase, rbase) = part.bases();
        for &p in part.picks() {
            let is_right = p.is_right();
            let i = std::hint::select_unpredictable(is_right, rbase, lbase) + p.index();
            let side: &[u64] = std::hint::select_unpredictable(is_right, roff, offsets);
            let (lo, hi) = (side[i], side[i + 1]);
            let ahead = std::hint::select_unpredictable(is_right, 0, at.saturating_sub(lo));
            byte_tail = byte_tail.max(ahead);
            at += hi - lo;
        }
    }
    let total = at;
    if n == 0 {
        offsets.truncate(1);
        values.truncate(base as usize);
        return Ok(());
    }
    // The left offsets move up by the plan's tail plus one (offset `k + 1` of the output
    // is written in step `k`, after the step read the offsets of its item), the left bytes
    // by the byte tail; the buffers grow to hold both the moved input and the output.
    let offset_tail = plan.tail + 1;
    grow_shifted(offsets, 0, offset_tail, (n + 1).max(offset_tail + l + 1));
    offsets[0] = base;
    let (left_start, left_bytes) = (base as usize, (left_end - base) as usize);
    values.truncate(left_end as usize);
    let byte_tail = byte_tail as usize;
    grow_shifted(
        values,
        left_start,
        byte_tail,
        (total as usize).max(left_start + byte_tail + left_bytes),
    );
    // One forward pass: item `k` of the output is written at `at`, where the items before
    // it end. A left item is read from its moved place, at or past `at`, and every item
    // the pass has yet to read lies past it, so no write reaches a byte or an offset not
    // yet read (a short item is loaded whole before it is stored; a long one is moved).
    // Both sides' offsets are read every step and one pair kept (no branch on the side);
    // the offsets read for the side not kept are clamped to the buffer and never used.
    let last = offsets.len() - 2;
    // a right side of no items reads an empty item (a plan of only left picks)
    let roff: &[u64] = if roff.len() < 2 { &[0, 0] } else { roff };
    let right_last = roff.len() - 2;
    let mut at = base;
    let mut k = 0;
    for part in plan.parts {
        let (lbase, rbase) = part.bases();
        let from = offset_tail + lbase;
        for &p in part.picks() {
            let is_right = p.is_right();
            let li = (from + p.index()).min(last);
            let moved = (
                offsets[li].wrapping_add(byte_tail as u64),
                offsets[li + 1].wrapping_add(byte_tail as u64),
            );
            let ri = (rbase + p.index()).min(right_last);
            let (lo, hi) =
                std::hint::select_unpredictable(is_right, (roff[ri], roff[ri + 1]), moved);
            let (lo, hi, to) = (lo as usize, hi as usize, at as usize);
            let len = hi - lo;
            if len <= SHORT_ITEM {
                let src: &[u8] =
                    std::hint::select_unpredictable(is_right, right.values, values.as_slice());
                Short::load(&src[lo..hi]).store(&mut values[to..to + len]);
            } else if is_right {
                values[to..to + len].copy_from_slice(&right.values[lo..hi]);
            } else {
                values.copy_within(lo..hi, to);
            }
            at += len as u64;
            k += 1;
            offsets[k] = at;
        }
    }
    offsets.truncate(n + 1);
    values.truncate(total as usize);
    Ok(())
}

/// Grows `v` to `len` items in one allocation of exactly that size (its pages advised for
/// huge pages) with its items from `from` on moved up by `shift`: afterwards
/// `v[from + shift..][..old_len - from]` holds what `v[from..]` held, the items before
/// `from` are as they were, and the rest holds old items or zeros. Each moved item is
/// written once (the ones that land past the old end are copied there, the others moved
/// within), and zeros only where no old item lands. `len` must be at least
/// `old_len + shift`.
fn grow_shifted<T: Copy + Default>(v: &mut Vec<T>, from: usize, shift: usize, len: usize) {
    let old = v.len();
    debug_assert!(from <= old && len >= old + shift);
    v.reserve_exact(len - old);
    crate::pages::advise(v);
    if shift == 0 {
        // nothing moves
    } else if shift >= old - from {
        v.resize(from + shift, T::default());
        v.extend_from_within(from..old);
    } else {
        v.extend_from_within(old - shift..old);
        v.copy_within(from..old - shift, from + shift);
    }
    v.resize(len, T::default());
}
