//! pluriverse: replicated data merged at the speed of memory.
//!
//! Every replica is the primary site for the data it generates and merges what reaches it;
//! delta-state CRDTs make the merge correct whatever the network does, columnar batches make
//! it fast. The model (dots, causal contexts, the four record kinds, Arrow I/O) is being
//! built here; today this crate re-exports the batch kernels it stands on.
//!
//! | where | what |
//! |---|---|
//! | [`kernels`] | SIMD version-vector kernels, roaring dot sets, digests (crate `pluriverse-kernels`) |

pub use pluriverse_kernels as kernels;
