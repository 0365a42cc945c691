//! pluriverse: replicated data merged at the speed of memory.
//!
//! Every replica is the primary site for the data it generates and merges what reaches it;
//! delta-state CRDTs make the merge correct whatever the network does (drops, duplicates,
//! reorders), columnar batches make it fast.
//!
//! | module | what it holds |
//! |---|---|
//! | [`replica`] | [`ReplicaId`] (user-chosen names) and [`ReplicaTable`] (per-state interning to dense `u32`) |
//! | [`dot`] | [`Dot`]: one event, `(replica, counter)` |
//! | [`version_vector`] | [`VersionVector`] and [`Order`] (`equal`, `before`, `after`, `concurrent`) |
//! | [`stability`] | [`Stability`]: what every replica has seen (frontier) and what some replica has seen (horizon), from the peers' version vectors; drives [`LWWMap::collect_tombstones`] |
//! | [`context`] | [`CausalContext`]: a version vector plus a roaring dot cloud |
//! | [`item`] | key and value types ([`Item`]) and their columns (interleaved by [`kernels::interleave`]) |
//! | [`store`] | [`CausalStore`]: entries `(key, dot, value)` in sorted runs (an LSM) plus a causal context, one file per job under `store/causal/`: the join (full and incremental), `delta_since`, local writes, digests, [`CausalStore::diff`] ([`StoreDiff`]), partitions, `check_invariants`, the Arrow bridge; the sorted run (`store/run.rs`), the one two-way merge (`store/merge.rs`), dot-range slices ([`store::slice`]) |
//! | [`kinds`] | the record kind as a type ([`Kind`]) and a replica's handle on a state of one ([`State`]); the kinds: [`MVMap`] (multi-value registers), [`AWSet`] (add-wins set), [`PNCounterMap`] (counters up and down), [`LWWMap`] (last writer wins, timestamped removes) |
//! | [`wire`] | states and deltas as Arrow record batches and IPC stream bytes (the documented, versioned format) |
//! | [`kernels`] | the batch kernels underneath (crate `pluriverse-kernels`) |
//!
//!
//! # Example
//! ```
//! use pluriverse::{CausalContext, Dot, Order, VersionVector};
//! let mut paris = CausalContext::new();
//! let mut tokyo = CausalContext::new();
//! paris.insert(&Dot::new("paris", 1));
//! tokyo.insert(&Dot::new("tokyo", 1));
//! assert_eq!(paris.version_vector().compare(&tokyo.version_vector()), Order::Concurrent);
//! paris.merge(&tokyo);
//! assert_eq!(paris.version_vector(), VersionVector::from_iter([("paris", 1), ("tokyo", 1)]));
//! ```

pub mod context;
pub mod dot;
mod error;
pub mod item;
pub mod kinds;
mod radix;
/// The radix sort that builds a run's dot index, for the benches (`benches/benches/dots.rs`
/// measures it against the comparison sort it replaced).
#[doc(hidden)]
pub use radix::sort_dots;
pub mod replica;
pub mod retired;
pub mod stability;
pub mod store;
pub mod version_vector;
pub mod wire;

pub use context::CausalContext;
pub use dot::Dot;
pub use error::{Error, Result};
pub use item::Item;
pub use kinds::awset::{AWSet, AWSetDelta};
pub use kinds::lww::{LWWMap, LWWMapDelta, LwwCell};
pub use kinds::mvmap::{MVMap, MVMapDelta};
pub use kinds::pncounter::{PNCounterDelta, PNCounterMap};
pub use kinds::{AWSetKind, Kind, LWWMapKind, MVMapKind, PNCounterKind, State, WireKind};
pub use pluriverse_kernels as kernels;
pub use replica::{ReplicaId, ReplicaTable};
pub use stability::Stability;
pub use store::{CausalStore, JoinBatch, JoinPath, StoreDiff};
pub use version_vector::{Order, VersionVector};
