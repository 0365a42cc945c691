//! Causal stability: what every replica has seen, as far as one replica knows. The input of
//! [`crate::LWWMap::collect_tombstones`].

use crate::replica::ReplicaId;
use crate::version_vector::VersionVector;

/// What the replicas have seen, from the version vectors one replica last heard from each
/// of them (for instance the prefixes of the contexts its peers sent in anti-entropy).
///
/// - The *frontier* is their column-wise minimum: the events every listed replica had seen
///   (for batches of vectors, [`crate::kernels::vv::column_min`] computes the same).
/// - The *horizon* is their column-wise maximum: the events some listed replica had seen.
///   Every write that was concurrent with an event of the frontier was issued before its
///   writer saw that event, so it is in the horizon: a state whose context covers the
///   horizon holds (or has removed) every such write, and no write that arrives later can be
///   concurrent with a frontier event.
///
/// The list must name every replica that has written or may still write, each with the
/// version vector last heard from it (an older one is fine: it only makes the frontier
/// smaller); a replica not heard from yet counts with an empty vector, which makes the
/// frontier empty. Stale vectors are safe, missing replicas are not: a replica left out
/// could hold writes concurrent with a "stable" event that no listed replica has seen.
///
/// # Example
/// ```
/// use pluriverse::{ReplicaId, Stability, VersionVector};
/// let a = VersionVector::from_iter([("a", 5), ("b", 2)]);
/// let b = VersionVector::from_iter([("a", 3), ("b", 4)]);
/// let (na, nb) = (ReplicaId::from("a"), ReplicaId::from("b"));
/// let s = Stability::from_peers([(&na, &a), (&nb, &b)]);
/// assert_eq!(s.frontier(), &VersionVector::from_iter([("a", 3), ("b", 2)]));
/// assert_eq!(s.horizon(), &VersionVector::from_iter([("a", 5), ("b", 4)]));
/// let silent = VersionVector::new();
/// let nc = ReplicaId::from("c");
/// let s = Stability::from_peers([(&na, &a), (&nb, &b), (&nc, &silent)]);
/// assert!(s.frontier().is_empty(), "a replica not heard from has seen nothing");
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stability {
    frontier: VersionVector,
    horizon: VersionVector,
}

impl Stability {
    /// The stability of `peers`: each replica with the version vector last heard from it
    /// (this replica's own included, or not: its context is checked against the horizon
    /// anyway). A replica listed twice counts with both vectors.
    pub fn from_peers<'a>(
        peers: impl IntoIterator<Item = (&'a ReplicaId, &'a VersionVector)>,
    ) -> Self {
        let vvs: Vec<&VersionVector> = peers.into_iter().map(|(_, v)| v).collect();
        let mut horizon = VersionVector::new();
        for v in &vvs {
            horizon.merge(v);
        }
        let frontier = match vvs.first() {
            None => VersionVector::new(),
            Some(first) => first
                .iter()
                .map(|(r, _)| {
                    let low = vvs.iter().map(|v| v.get(r)).min().unwrap_or(0);
                    (r.clone(), low)
                })
                .collect(),
        };
        Self { frontier, horizon }
    }

    /// The events every listed replica had seen (column-wise minimum).
    pub fn frontier(&self) -> &VersionVector {
        &self.frontier
    }

    /// The events some listed replica had seen (column-wise maximum).
    pub fn horizon(&self) -> &VersionVector {
        &self.horizon
    }
}
