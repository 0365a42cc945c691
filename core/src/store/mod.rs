//! Dot stores: how entries and their causal context are kept (sorted runs in an LSM) and
//! joined.
//!
//! - `run`: one sorted run, column by column, with a bitmap of rows deleted since it was
//!   built and two indexes built on first use: row ids by dot, and for long runs a hash
//!   directory (one slot per bucket of the top hash bits) for key lookups.
//! - `causal`: the store. A *full* join plans the merge of both sides from the hashes and
//!   dots alone (hash-range partitions on the rayon pool), then gathers each column in one
//!   pass. An *incremental* join (a small delta) looks up only the dots of its context that
//!   ours also holds (by the delta's keys first, then by dot), and puts its few new rows
//!   straight into the smallest run; runs merge pairwise as they grow (binary counter).
//! - [`slice`](mod@slice): dot-range slices (one replica's counters `lo..=hi`), each a valid
//!   sub-state, and their fingerprints: the unit of sync.

pub(crate) mod causal;
pub(crate) mod merge;
pub(crate) mod run;
pub mod slice;

pub use causal::{CausalStore, JoinPath};
pub use slice::RangeSummary;
