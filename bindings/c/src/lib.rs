//! The C face of pluriverse: `libpluriverse` (shared and static) and its header
//! `include/pluriverse.h`, generated from this crate by cbindgen at build time.
//!
//! Conventions (after rustls-ffi): `pv_<type>_<verb>` names; opaque handles made by
//! `_new`/`_from_bytes` and released by `_free`; every function that can fail returns a
//! [`status::pv_status`], leaves a message for `pv_last_error()`, and takes its
//! out-parameters last; every pointer is checked and every panic is caught at the
//! boundary. This crate converts and calls; the merge logic lives in `pluriverse` and
//! `pluriverse-any`, replicas and their sync in `pluriverse-replica`.
//!
//! | module | what it holds |
//! |---|---|
//! | [`status`], [`bytes`], [`value`] | status codes and `pv_last_error`; byte buffers; keys, values and type codes |
//! | [`mvmap`], [`awset`], [`pncounter`], [`lwwmap`] | one handle per record kind (a state in memory) |
//! | [`vv`] | batch version-vector kernels |
//! | [`replica`] | `pv_replica`: a durable replica directory, its writes and reads |
//! | [`sync`] | `pv_sync`: the sans-IO sync state machine for one peer |

pub mod bytes;
mod ptr;
pub mod status;
pub mod value;
pub mod vv;

pub mod awset;
mod handle;
pub mod lwwmap;
pub mod mvmap;
pub mod pncounter;

pub mod replica;
pub mod sync;
