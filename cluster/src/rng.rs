//! The seeded generator: the workspace's [`SplitMix64`](pluriverse_testkit::SplitMix64),
//! seeded and forked the way every run is, so that every fault and every workload choice of
//! a run is drawn from the run's seed.

pub use pluriverse_testkit::SplitMix64 as Rng;

/// The generator of a run with seed `seed` (mixed with the golden ratio, so that seed 0
/// starts from no special state).
///
/// # Example
/// ```
/// use pluriverse_cluster::rng::{fork, seeded};
/// let (mut a, mut b) = (seeded(7), seeded(7));
/// assert_eq!(a.next_u64(), b.next_u64());
/// assert_ne!(fork(&mut a).next_u64(), a.next_u64());
/// ```
pub fn seeded(seed: u64) -> Rng {
    pluriverse_testkit::SplitMix64(seed ^ 0x9e37_79b9_7f4a_7c15)
}

/// A generator derived from `rng`, for an independent stream.
pub fn fork(rng: &mut Rng) -> Rng {
    seeded(rng.next_u64())
}
