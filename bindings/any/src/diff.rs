//! Where two states differ, found by bucket digests: compare `2^bits` digests, then list
//! the keys of the differing buckets only. A thin adapter: the comparison is
//! [`pluriverse::CausalStore::diff`] (a sorted merge over both states), with the keys as
//! [`Scalar`]s.

use crate::state::AnyState;
use crate::types::Scalar;
use crate::Result;

/// How two states differ ([`pluriverse::StoreDiff`] with the keys as [`Scalar`]s).
#[derive(Debug, Clone, PartialEq)]
pub struct Diff {
    /// Buckets compared (`2^bits`).
    pub buckets: usize,
    /// Buckets whose digests differ.
    pub differing_buckets: usize,
    /// Keys only the first state holds.
    pub only_left: Vec<Scalar>,
    /// Keys only the second state holds.
    pub only_right: Vec<Scalar>,
    /// Keys both hold, with different entries.
    pub changed: Vec<Scalar>,
    /// Whether the contexts (the events seen) differ.
    pub contexts_differ: bool,
}

impl Diff {
    /// Whether the states are equal.
    pub fn is_empty(&self) -> bool {
        self.differing_buckets == 0 && !self.contexts_differ
    }
}

/// Compares `a` and `b` (of the same type) with `2^bits` bucket digests; only the keys of
/// differing buckets are listed, so equal regions cost one digest comparison. Only buckets
/// holding entries are materialized: memory and time are proportional to the entries, not
/// to `2^bits`.
///
/// # Errors
/// [`crate::AnyError::TypeMismatch`] for states of different types; `bits` above 24.
///
/// # Example
/// ```
/// use pluriverse_any::{diff, AnyState, Kind, KeyType, Scalar, StateType};
/// let t = StateType::new(Kind::AWSet, KeyType::UInt64, None).unwrap();
/// let mut a = AnyState::new(t, "a");
/// let mut b = AnyState::new(t, "b");
/// let d = a.add(Scalar::UInt64(1)).unwrap();
/// b.join(&d).unwrap();
/// b.add(Scalar::UInt64(2)).unwrap();
/// let d = diff(&a, &b, 8).unwrap();
/// assert_eq!(d.only_right, vec![Scalar::UInt64(2)]);
/// assert!(d.only_left.is_empty() && d.changed.is_empty());
/// ```
pub fn diff(a: &AnyState, b: &AnyState, bits: u32) -> Result<Diff> {
    // refused with TypeMismatch by the typed side when `b` is of another type
    a.diff(b, bits)
}
