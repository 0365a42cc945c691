//! The `pluriverse` command's library: the lossy-network simulator and the state-file
//! tools behind `pluriverse simulate | merge | diff | inspect`.
//!
//! | module | what it holds |
//! |---|---|
//! | [`sim`] | the simulator: seeded workloads and fault schedules, gossip and anti-entropy, and the independent oracle that checks the outcome |
//! | [`files`] | reading, merging, diffing and atomically writing state files |

pub mod files;
pub mod sim;
