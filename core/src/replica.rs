//! Replica names and the per-state table that interns them to dense `u32` indices.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

/// A replica's name, chosen by the user: a string or arbitrary bytes (strings are stored as
/// their UTF-8 bytes, so `"a"` and `b"a"` name the same replica). Names order by their bytes.
///
/// A replica that restarts without its state must not reuse counters it may have issued: it
/// rejoins under a new name (for example with an epoch suffix, see [`ReplicaId::with_epoch`]).
///
/// # Example
/// ```
/// use pluriverse::ReplicaId;
/// let a = ReplicaId::from("paris");
/// assert_eq!(a, ReplicaId::from(b"paris".as_slice()));
/// assert_eq!(a.to_string(), "paris");
/// assert_eq!(a.with_epoch(2).to_string(), "paris#2");
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ReplicaId(Arc<[u8]>);

impl ReplicaId {
    /// The name's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The name as text, if it is UTF-8.
    pub fn as_str(&self) -> Option<&str> {
        std::str::from_utf8(&self.0).ok()
    }

    /// The same name with `#epoch` appended: the name a replica takes when it restarts
    /// without its state.
    pub fn with_epoch(&self, epoch: u64) -> Self {
        let mut v = self.0.to_vec();
        v.extend_from_slice(format!("#{epoch}").as_bytes());
        Self(v.into())
    }
}

impl From<&str> for ReplicaId {
    fn from(s: &str) -> Self {
        Self(s.as_bytes().into())
    }
}
impl From<String> for ReplicaId {
    fn from(s: String) -> Self {
        Self(s.into_bytes().into())
    }
}
impl From<&[u8]> for ReplicaId {
    fn from(b: &[u8]) -> Self {
        Self(b.into())
    }
}
impl From<Vec<u8>> for ReplicaId {
    fn from(b: Vec<u8>) -> Self {
        Self(b.into())
    }
}

impl fmt::Display for ReplicaId {
    /// UTF-8 names print as they are; other names as `0x` and hex.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.as_str() {
            Some(s) => f.write_str(s),
            None => {
                f.write_str("0x")?;
                self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
            }
        }
    }
}

impl fmt::Debug for ReplicaId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ReplicaId({self})")
    }
}

/// Tables of at most this many names are searched linearly.
const LINEAR_NAMES: usize = 8;

/// The replicas a state knows, interned to dense `u32` indices in order of first sight.
///
/// Indices are private to one state: two states may intern the same names in different
/// orders. [`ReplicaTable::absorb`] maps another table's indices into this one, which is how
/// states with different tables merge; [`CausalContext::canonical_order`](crate::CausalContext::canonical_order)
/// gives the name-sorted order that serialization and digests use, so neither depends on
/// interning order.
///
/// # Example
/// ```
/// use pluriverse::ReplicaTable;
/// let mut ours = ReplicaTable::new();
/// ours.intern(&"b".into());
/// let mut theirs = ReplicaTable::new();
/// theirs.intern(&"c".into());
/// theirs.intern(&"b".into());
/// let map = ours.absorb(&theirs);
/// assert_eq!(map, vec![1, 0]); // their "c" is our 1, their "b" our 0
/// ```
#[derive(Clone, Default)]
pub struct ReplicaTable {
    names: Vec<ReplicaId>,
    index: HashMap<ReplicaId, u32>,
}

impl fmt::Debug for ReplicaTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(&self.names).finish()
    }
}

impl ReplicaTable {
    /// The empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of replicas.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// The index of `id`, interning it if new.
    ///
    /// # Panics
    /// Only past `u32::MAX` replicas, which no state can hold in memory.
    pub fn intern(&mut self, id: &ReplicaId) -> u32 {
        if self.names.len() <= LINEAR_NAMES {
            // a short table: comparing a few short names beats hashing one
            if let Some(i) = self.names.iter().position(|n| n == id) {
                return i as u32;
            }
        } else if let Some(&i) = self.index.get(id) {
            return i;
        }
        let i = u32::try_from(self.names.len()).expect("more than u32::MAX replicas");
        self.names.push(id.clone());
        self.index.insert(id.clone(), i);
        i
    }

    /// The index of `id`, if known.
    pub fn get(&self, id: &ReplicaId) -> Option<u32> {
        self.index.get(id).copied()
    }

    /// The name at `index`.
    pub fn name(&self, index: u32) -> Option<&ReplicaId> {
        self.names.get(index as usize)
    }

    /// Names in index order.
    pub fn names(&self) -> &[ReplicaId] {
        &self.names
    }

    /// Interns every name of `other`; returns, for each of `other`'s indices, our index.
    pub fn absorb(&mut self, other: &ReplicaTable) -> Vec<u32> {
        other.names.iter().map(|n| self.intern(n)).collect()
    }
}
