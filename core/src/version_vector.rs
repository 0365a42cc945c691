//! Version vectors (a.k.a. vector clocks, state vectors) over named replicas.

use std::collections::BTreeMap;
use std::fmt;

use pluriverse_kernels::vv::{AFTER, BEFORE, CONCURRENT, EQUAL};

use crate::replica::ReplicaId;

/// How two version vectors (or states) relate in causal order.
///
/// The discriminants are the kernels' order codes and part of the API (Python and C expose
/// the same numbers).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[repr(u8)]
pub enum Order {
    /// Same history.
    Equal = EQUAL,
    /// The left side happened before the right (it has seen less).
    Before = BEFORE,
    /// The left side happened after the right (it has seen more).
    After = AFTER,
    /// Each has seen something the other has not.
    Concurrent = CONCURRENT,
}

impl Order {
    /// The order of a kernel code (`0..=3`); `None` for other values.
    pub fn from_code(code: u8) -> Option<Self> {
        match code {
            EQUAL => Some(Self::Equal),
            BEFORE => Some(Self::Before),
            AFTER => Some(Self::After),
            CONCURRENT => Some(Self::Concurrent),
            _ => None,
        }
    }

    /// Lower-case name: `"equal"`, `"before"`, `"after"`, `"concurrent"`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Equal => "equal",
            Self::Before => "before",
            Self::After => "after",
            Self::Concurrent => "concurrent",
        }
    }
}

impl fmt::Display for Order {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A version vector: for each replica, the highest counter seen (all lower ones included).
/// Missing replicas are 0. Join is the pointwise maximum.
///
/// This is the one-vector type for users; batches of millions of vectors use the columnar
/// kernels in [`crate::kernels::vv`].
///
/// # Example
/// ```
/// use pluriverse::{Order, VersionVector};
/// let mut a = VersionVector::from_iter([("x", 2), ("y", 1)]);
/// let b = VersionVector::from_iter([("x", 1), ("y", 3)]);
/// assert_eq!(a.compare(&b), Order::Concurrent);
/// a.merge(&b);
/// assert_eq!(a.get(&"y".into()), 3);
/// assert_eq!(a.compare(&b), Order::After);
/// ```
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct VersionVector {
    entries: BTreeMap<ReplicaId, u64>,
}

impl fmt::Debug for VersionVector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.entries.iter().map(|(k, v)| (k.to_string(), v)))
            .finish()
    }
}

impl<R: Into<ReplicaId>> FromIterator<(R, u64)> for VersionVector {
    fn from_iter<I: IntoIterator<Item = (R, u64)>>(iter: I) -> Self {
        let mut v = Self::new();
        for (r, c) in iter {
            v.observe(r.into(), c);
        }
        v
    }
}

impl VersionVector {
    /// The empty vector (every counter 0).
    pub fn new() -> Self {
        Self::default()
    }

    /// The counter of `replica` (0 when absent).
    pub fn get(&self, replica: &ReplicaId) -> u64 {
        self.entries.get(replica).copied().unwrap_or(0)
    }

    /// Raises `replica`'s counter to at least `counter`.
    pub fn observe(&mut self, replica: ReplicaId, counter: u64) {
        if counter > 0 {
            let c = self.entries.entry(replica).or_insert(0);
            *c = (*c).max(counter);
        }
    }

    /// Pointwise maximum with `other` (the join).
    pub fn merge(&mut self, other: &Self) {
        for (r, &c) in &other.entries {
            self.observe(r.clone(), c);
        }
    }

    /// How `self` relates to `other`.
    pub fn compare(&self, other: &Self) -> Order {
        let (mut lt, mut gt) = (false, false);
        for (r, &c) in &self.entries {
            let o = other.get(r);
            lt |= c < o;
            gt |= c > o;
        }
        for (r, &o) in &other.entries {
            lt |= self.get(r) < o;
        }
        Order::from_code(u8::from(lt) | (u8::from(gt) << 1)).unwrap_or(Order::Concurrent)
    }

    /// Whether every counter of `self` is <= the same counter of `other`.
    pub fn dominated_by(&self, other: &Self) -> bool {
        matches!(self.compare(other), Order::Equal | Order::Before)
    }

    /// Non-zero entries, by replica name.
    pub fn iter(&self) -> impl Iterator<Item = (&ReplicaId, u64)> {
        self.entries.iter().map(|(r, &c)| (r, c))
    }

    /// Number of replicas with a non-zero counter.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether every counter is 0.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}
