//! The `pluriverse` command's library: the state-file tools behind
//! `pluriverse merge | diff | inspect`, and how the command shows things. The simulator
//! behind `pluriverse simulate` is its own crate, `pluriverse-sim`.
//!
//! | module | what it holds |
//! |---|---|
//! | [`files`] | reading (bounded), merging, diffing and atomically writing state files |
//! | [`show`] | escaping names and keys, numbers, plurals and articles |

pub mod files;
pub mod show;
