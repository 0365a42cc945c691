//! Dot stores: how entries and their causal context are kept (sorted runs in an LSM) and
//! joined.

pub(crate) mod causal;
pub(crate) mod run;

pub use causal::{CausalStore, JoinPath};
