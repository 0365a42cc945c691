//! The one error type of the kernels: invalid arguments, reported with the numbers that made them invalid.

use std::fmt;

/// Why a kernel refused its arguments.
///
/// Kernels never panic on caller input: every shape problem comes back as one of these, and
/// the output buffers are left untouched.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum KernelError {
    /// A version-vector matrix was given with zero replicas per row.
    ZeroWidth,
    /// A matrix slice's length is not a whole number of rows.
    RaggedMatrix {
        /// Which argument (`"a"`, `"b"`, `"matrix"`).
        what: &'static str,
        /// The slice length that was given.
        len: usize,
        /// The row width (replicas per row).
        width: usize,
    },
    /// Two slices that must match in length do not.
    LengthMismatch {
        /// Which argument disagrees.
        what: &'static str,
        /// The length it must have.
        expected: usize,
        /// The length it has.
        actual: usize,
    },
    /// A dot range is empty, starts at counter 0, or is reversed.
    InvalidRange {
        /// First counter of the range.
        start: u64,
        /// Last counter of the range (inclusive).
        end: u64,
    },
    /// The next counter of a replica would exceed `u64::MAX`.
    CounterOverflow {
        /// Dense replica index.
        replica: u32,
    },
    /// An Arrow-style offset is negative, decreasing, or past the end of the values.
    BadOffset {
        /// Position of the offending offset.
        index: usize,
    },
    /// An offset of a named variable-width column is decreasing, or past the end of its
    /// values.
    BadColumnOffset {
        /// Which column.
        what: &'static str,
        /// Position of the offending offset.
        index: usize,
    },
    /// A bucket partition was asked for with more prefix bits than supported.
    BucketBits {
        /// The requested number of hash-prefix bits.
        bits: u32,
        /// The maximum accepted.
        max: u32,
    },
    /// An interleave pick names an item past the end of its side.
    PickOutOfBounds {
        /// Position of the pick in the list.
        at: usize,
        /// The side it names.
        side: crate::interleave::Side,
        /// The index it names.
        index: usize,
        /// How many items that side has.
        len: usize,
    },
    /// An in-place interleave's plan names a left item at or before the previous left
    /// pick's (the left picks of such a plan must be strictly increasing).
    PickOutOfOrder {
        /// Position of the pick in the plan (its parts one after the other).
        at: usize,
        /// The left index it names.
        index: usize,
        /// The previous left pick's index.
        previous: usize,
    },
}

impl fmt::Display for KernelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ZeroWidth => write!(f, "version-vector width must be at least 1 replica"),
            Self::RaggedMatrix { what, len, width } => write!(
                f,
                "matrix `{what}` has {len} counters, which is not a whole number of rows of width {width}"
            ),
            Self::LengthMismatch {
                what,
                expected,
                actual,
            } => write!(f, "`{what}` has length {actual}, expected {expected}"),
            Self::InvalidRange { start, end } => write!(
                f,
                "invalid dot range {start}..={end}: counters start at 1 and the range must not be empty"
            ),
            Self::CounterOverflow { replica } => {
                write!(f, "counter of replica #{replica} would overflow u64")
            }
            Self::BadOffset { index } => {
                write!(f, "offset #{index} is negative, decreasing or past the end of the values")
            }
            Self::BadColumnOffset { what, index } => write!(
                f,
                "offset #{index} of `{what}` is decreasing or past the end of its values"
            ),
            Self::BucketBits { bits, max } => {
                write!(f, "bucket partition of {bits} hash bits requested, at most {max} supported")
            }
            Self::PickOutOfBounds {
                at,
                side,
                index,
                len,
            } => write!(
                f,
                "pick #{at} names item {index} of the {side} input, which has {len}"
            ),
            Self::PickOutOfOrder {
                at,
                index,
                previous,
            } => write!(
                f,
                "pick #{at} names left item {index}, not after the previous left pick ({previous})"
            ),
        }
    }
}

impl std::error::Error for KernelError {}

/// Result alias for kernel calls.
pub type Result<T, E = KernelError> = std::result::Result<T, E>;
