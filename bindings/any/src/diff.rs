//! Where two states differ, found by bucket digests: compare `2^bits` digests, then list
//! the keys of the differing buckets only.

use crate::state::AnyState;
use crate::types::Scalar;
use crate::{AnyError, Result};

/// How two states differ.
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
/// [`AnyError::TypeMismatch`] for states of different types; `bits` above 24.
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
    if a.state_type() != b.state_type() {
        return Err(AnyError::TypeMismatch {
            expected: a.state_type(),
            found: b.state_type(),
        });
    }
    // the buckets that hold entries on either side, merged in bucket order: memory and time
    // proportional to the entries, not to 2^bits (empty buckets are equal on both sides)
    let da = a.sparse_bucket_digests(bits)?;
    let db = b.sparse_bucket_digests(bits)?;
    let mut differing: Vec<u32> = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < da.len() || j < db.len() {
        let left_first = match (da.get(i), db.get(j)) {
            (Some(x), Some(y)) if x.0 == y.0 => {
                if x.1 != y.1 {
                    differing.push(x.0);
                }
                i += 1;
                j += 1;
                continue;
            }
            (Some(x), Some(y)) => x.0 < y.0,
            (Some(_), None) => true,
            (None, _) => false,
        };
        if left_first {
            differing.push(da[i].0);
            i += 1;
        } else {
            differing.push(db[j].0);
            j += 1;
        }
    }
    let differing_buckets = differing.len();
    let ka = a.key_digests_in(bits, &differing);
    let kb = b.key_digests_in(bits, &differing);
    // both lists are in the stores' (hash, key) order; match keys through a map
    let mut right: std::collections::HashMap<String, (usize, u128)> = kb
        .iter()
        .enumerate()
        .map(|(i, (k, d))| (key_text(k), (i, *d)))
        .collect();
    let (mut only_left, mut changed) = (vec![], vec![]);
    for (k, d) in &ka {
        match right.remove(&key_text(k)) {
            None => only_left.push(k.clone()),
            Some((_, d2)) if d2 != *d => changed.push(k.clone()),
            Some(_) => {}
        }
    }
    let mut rest: Vec<(usize, u128)> = right.into_values().collect();
    rest.sort_unstable();
    let only_right = rest.into_iter().map(|(i, _)| kb[i].0.clone()).collect();
    Ok(Diff {
        buckets: 1usize << bits,
        differing_buckets,
        only_left,
        only_right,
        changed,
        contexts_differ: a.context() != b.context(),
    })
}

/// An exact, type-tagged text of a key (for matching keys of two states).
fn key_text(k: &Scalar) -> String {
    match k {
        Scalar::Binary(b) => format!("b:{b:?}"),
        other => format!("{}:{other}", other.type_name()),
    }
}
