//! pluriverse replicas that live: in a directory, across crashes, under an identity they
//! never reuse, talking to peers through a protocol that needs nothing of the network.
//!
//! | module | what it holds |
//! |---|---|
//! | [`dir`] | [`Replica`]: the durable directory (snapshot + checksummed log), [`Durability`], [`Options`] |
//! | [`log`] | the log's record format: length-prefixed, checksummed; torn tails and damage |
//! | [`identity`] | incarnations: a fresh writer name at every open, so a dot is never issued twice |
//! | [`sync`] | the sans-IO sync protocol: [`sync::Peer`], one state machine per peer, bytes in and out |
//! | [`error`] | [`ReplicaError`] |
//!
//! The engine underneath is [`pluriverse`] (the record kinds and their joins) through
//! [`pluriverse_any::AnyState`] (kind and types chosen at run time).

pub mod dir;
pub mod error;
pub mod identity;
pub mod log;
pub mod sync;

pub use dir::{Durability, Options, Replica, Written};
pub use error::{ReplicaError, Result};

/// The README's Rust snippets (the engine's, the replica's and the kernels'), compiled and
/// run as doc tests of this crate, the one that sees all of them, so they cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
