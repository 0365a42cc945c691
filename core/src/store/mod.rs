//! Dot stores: how entries and their causal context are kept (sorted runs in an LSM) and
//! joined.
//!
//! - `run`: one sorted run, column by column, with a bitmap of rows deleted since it was
//!   built and two indexes built on first use: row ids by dot, and for long runs a hash
//!   directory (one slot per bucket of the top hash bits) for key lookups.
//! - `merge`: the one two-way merge of two sorted sequences (`Left`/`Right`/`Both` steps, as
//!   roaring's `Pairs`), on the runs' full sort key or on any sorted slices; every merge of
//!   the store is a loop over it.
//! - `causal`: the store, one file per job (its `mod.rs` has the map). A *full* join
//!   (`join_full.rs`) plans the merge of both sides from the hashes and dots alone
//!   (hash-range partitions on the rayon pool) as a list of interleave picks, then
//!   interleaves each column in one pass ([`crate::kernels::interleave`]). An *incremental*
//!   join (`join_incremental.rs`, a small delta) looks up only the dots of its context that
//!   ours also holds (by the delta's keys first, then by dot), and puts its few new rows
//!   straight into the smallest run; runs merge pairwise as they grow (binary counter).
//!   Beside the joins: `delta_since` (`delta.rs`), the local-write primitive (`write.rs`),
//!   digests (`digest.rs`), [`CausalStore::diff`] (`diff.rs`), partitions
//!   (`partition.rs`), `check_invariants` (`check.rs`) and the Arrow bridge (`arrow.rs`).
//! - [`slice`](mod@slice): dot-range slices (one replica's counters `lo..=hi`), each a valid
//!   sub-state, and their fingerprints: the unit of sync.

pub(crate) mod causal;
pub(crate) mod merge;
pub(crate) mod run;
pub mod slice;

pub use causal::{CausalStore, JoinBatch, JoinPath, StoreDiff};
pub use slice::{DotState, RangeSummary};
