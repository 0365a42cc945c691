//! `pv_pncounter`: the C handle on a `PNCounterMap` replica (counter map).

use crate::bytes::pv_bytes;
use crate::handle::{self, Handle};
use crate::status::{guard, guard_void, pv_status};
use crate::value::{any_error, pv_type, pv_value};

/// A `PNCounterMap` replica: a counter per key that goes up (`increment`) and down (`decrement`); its value is a signed sum over all replicas.
///
/// Opaque: made by `pv_pncounter_new` or `pv_pncounter_from_bytes`, freed by `pv_pncounter_free`. Mutators return
/// their delta as bytes to ship to the other replicas.
#[allow(
    non_camel_case_types,
    reason = "C naming: the header spells it pv_pncounter"
)]
#[derive(Debug)]
pub struct pv_pncounter(Handle);

handle::kind_handle!(pv_pncounter, PNCounterMap);

/// Makes an empty `PNCounterMap` whose keys have type `key_type` (a `PV_TYPE_*` key code),
/// written to as the replica named `replica` (`replica_len` bytes, usually UTF-8 text). A
/// replica name must not be reused by a replica that lost its state.
///
/// Returns `PV_OK` and the handle in `*out` (free it with `pv_pncounter_free`);
/// `PV_INVALID_ARGUMENT` for NULL pointers or a code that is not a key type. On failure
/// `*out` is NULL.
///
/// # Safety
/// `replica` points to `replica_len` readable bytes; `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn pv_pncounter_new(
    key_type: pv_type,
    replica: *const u8,
    replica_len: usize,
    out: *mut *mut pv_pncounter,
) -> pv_status {
    let ty = || handle::state_type::<pv_pncounter>(key_type, None);
    // SAFETY: forwarded contract (see # Safety).
    guard("pv_pncounter_new", || unsafe {
        handle::new(ty, replica, replica_len, out)
    })
}

/// Adds `n` to the counter of `key`.
///
/// The delta to ship goes to `*out_delta` (free it with `pv_bytes_free`); pass NULL when it
/// is not wanted.
///
/// Returns `PV_OK`; `PV_TYPE_MISMATCH` for a key of another type, `PV_OVERFLOW` when this
/// replica's running total of increments would pass `UINT64_MAX` (or its event counter is
/// exhausted), `PV_INVALID_ARGUMENT` for a NULL handle or an invalid `pv_value`. On failure
/// the map is unchanged and `*out_delta` is `{NULL, 0}`.
///
/// # Safety
/// `pncounter` is NULL or live and not used by another thread; `key` names readable bytes;
/// `out_delta` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn pv_pncounter_increment(
    pncounter: *mut pv_pncounter,
    key: pv_value,
    n: u64,
    out_delta: *mut pv_bytes,
) -> pv_status {
    // SAFETY: forwarded contract (see # Safety).
    guard("pv_pncounter_increment", || unsafe {
        let key = handle::scalar(key, "key")?;
        handle::mutate(pncounter, out_delta, |s| {
            s.increment(key, n).map_err(any_error)
        })
    })
}

/// Subtracts `n` from the counter of `key` (this replica's running total of decrements
/// grows by `n`). Delta and statuses as in `pv_pncounter_increment`.
///
/// # Safety
/// As `pv_pncounter_increment`.
#[no_mangle]
pub unsafe extern "C" fn pv_pncounter_decrement(
    pncounter: *mut pv_pncounter,
    key: pv_value,
    n: u64,
    out_delta: *mut pv_bytes,
) -> pv_status {
    // SAFETY: forwarded contract (see # Safety).
    guard("pv_pncounter_decrement", || unsafe {
        let key = handle::scalar(key, "key")?;
        handle::mutate(pncounter, out_delta, |s| {
            s.decrement(key, n).map_err(any_error)
        })
    })
}

/// Writes the value of the counter of `key` (increments minus decrements over all
/// replicas; 0 when absent) into `*out`.
///
/// Returns `PV_OK`; `PV_OVERFLOW` when the value does not fit `int64_t` (`*out` is then
/// unchanged; `pv_pncounter_value_i128` reads any value), `PV_TYPE_MISMATCH` for a key of another type, `PV_INVALID_ARGUMENT` for
/// NULL pointers or an invalid `pv_value`.
///
/// # Safety
/// `pncounter` is NULL or live; `key` names readable bytes; `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn pv_pncounter_value(
    pncounter: *const pv_pncounter,
    key: pv_value,
    out: *mut i64,
) -> pv_status {
    // SAFETY: forwarded contract (see # Safety).
    guard("pv_pncounter_value", || unsafe {
        handle::value(pncounter, key, out)
    })
}

/// Writes the value of the counter of `key` over its whole range (the sum over replicas of
/// `uint64_t` totals can pass `int64_t`): the upper 64 bits, signed, into `*out_hi`, the
/// lower 64 bits into `*out_lo`, so the value is `out_hi * 2^64 + out_lo`. With gcc or
/// clang: `(__int128)(((unsigned __int128)(uint64_t)hi << 64) | lo)`; a value that fits
/// `int64_t` has `hi` 0 (or -1 when negative) and `(int64_t)lo` the value.
///
/// Two halves rather than `__int128`: that type is not standard C (MSVC lacks it) and its
/// calling convention between Rust and C has differed across compiler versions.
///
/// Returns `PV_OK`; `PV_TYPE_MISMATCH` for a key of another type, `PV_INVALID_ARGUMENT`
/// for NULL pointers or an invalid `pv_value` (the outputs are then unchanged).
///
/// # Safety
/// `pncounter` is NULL or live; `key` names readable bytes; `out_hi`, `out_lo` are NULL or
/// writable.
#[no_mangle]
pub unsafe extern "C" fn pv_pncounter_value_i128(
    pncounter: *const pv_pncounter,
    key: pv_value,
    out_hi: *mut i64,
    out_lo: *mut u64,
) -> pv_status {
    // SAFETY: forwarded contract (see # Safety).
    guard("pv_pncounter_value_i128", || unsafe {
        handle::value_i128(pncounter, key, out_hi, out_lo)
    })
}

/// Frees `pncounter`. NULL is fine.
///
/// # Safety
/// `pncounter` is NULL or a live `pv_pncounter` from this library, freed only once and not used after.
#[no_mangle]
pub unsafe extern "C" fn pv_pncounter_free(pncounter: *mut pv_pncounter) {
    // SAFETY: forwarded contract (see # Safety).
    guard_void("pv_pncounter_free", || unsafe { handle::free(pncounter) });
}

/// Decodes a whole counter map (or a delta) from `bytes` (`len` bytes, as `pv_pncounter_to_bytes`
/// writes them) into a new handle that writes as the replica named `replica`
/// (`replica_len` bytes). The key types are read from the bytes.
///
/// Returns `PV_OK` and the handle in `*out` (free it with `pv_pncounter_free`);
/// `PV_DECODE_ERROR` for bad bytes, `PV_TYPE_MISMATCH` for bytes of another kind,
/// `PV_INVALID_ARGUMENT` for NULL pointers. On failure `*out` is NULL.
///
/// # Safety
/// `bytes` points to `len` readable bytes, `replica` to `replica_len`; `out` is NULL or
/// writable.
#[no_mangle]
pub unsafe extern "C" fn pv_pncounter_from_bytes(
    bytes: *const u8,
    len: usize,
    replica: *const u8,
    replica_len: usize,
    out: *mut *mut pv_pncounter,
) -> pv_status {
    // SAFETY: forwarded contract (see # Safety).
    guard("pv_pncounter_from_bytes", || unsafe {
        handle::from_bytes(bytes, len, replica, replica_len, out)
    })
}

/// Writes the whole state of `pncounter` as bytes (an Arrow IPC stream; equal states give
/// identical bytes) into `*out`; free them with `pv_bytes_free`.
///
/// Returns `PV_OK`; `PV_INVALID_ARGUMENT` for NULL pointers (`*out` is then `{NULL, 0}`).
///
/// # Safety
/// `pncounter` is NULL or live; `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn pv_pncounter_to_bytes(
    pncounter: *const pv_pncounter,
    out: *mut pv_bytes,
) -> pv_status {
    // SAFETY: forwarded contract (see # Safety).
    guard("pv_pncounter_to_bytes", || unsafe {
        handle::to_bytes(pncounter, out)
    })
}

/// Joins a delta or a whole state, given as bytes (from a mutator, `pv_pncounter_delta_since` or
/// `pv_pncounter_to_bytes` of any replica), into `pncounter`. Any order, any number of times: joins are
/// commutative, associative and idempotent.
///
/// Returns `PV_OK`; `PV_DECODE_ERROR` for bad bytes, `PV_TYPE_MISMATCH` for bytes of
/// another kind or key/value types, `PV_FOREIGN_CLAIM` when they claim events of this
/// handle's replica beyond what `pncounter` knows it issued (a forgery, or `pncounter` is an old
/// copy: write under a new replica name), `PV_EQUIVOCATION` when they bind an event
/// `pncounter` holds to other contents, `PV_INVALID_ARGUMENT` for NULL pointers. On failure
/// `pncounter` is unchanged.
///
/// # Safety
/// `pncounter` is NULL or live and not used by another thread; `bytes` points to `len` readable
/// bytes.
#[no_mangle]
pub unsafe extern "C" fn pv_pncounter_merge_bytes(
    pncounter: *mut pv_pncounter,
    bytes: *const u8,
    len: usize,
) -> pv_status {
    // SAFETY: forwarded contract (see # Safety).
    guard("pv_pncounter_merge_bytes", || unsafe {
        handle::merge_bytes(pncounter, bytes, len)
    })
}

/// Joins the whole state of `other` into `pncounter` (as `pv_pncounter_merge_bytes` of its bytes, without
/// the bytes). `other` may be `pncounter` itself (nothing changes).
///
/// Returns `PV_OK`; `PV_FOREIGN_CLAIM` and `PV_EQUIVOCATION` as for
/// `pv_pncounter_merge_bytes`, `PV_TYPE_MISMATCH` when the key types differ,
/// `PV_INVALID_ARGUMENT` for NULL pointers. On failure `pncounter` is unchanged.
///
/// # Safety
/// `pncounter` and `other` are NULL or live; `pncounter` is not used by another thread.
#[no_mangle]
pub unsafe extern "C" fn pv_pncounter_merge(
    pncounter: *mut pv_pncounter,
    other: *const pv_pncounter,
) -> pv_status {
    // SAFETY: forwarded contract (see # Safety).
    guard("pv_pncounter_merge", || unsafe {
        handle::merge(pncounter, other)
    })
}

/// Writes the causal context of `pncounter` (every event it has seen) as bytes into `*out`; free
/// them with `pv_bytes_free`. Send them to a peer, which answers with
/// `pv_pncounter_delta_since`.
///
/// Returns `PV_OK`; `PV_INVALID_ARGUMENT` for NULL pointers (`*out` is then `{NULL, 0}`).
///
/// # Safety
/// `pncounter` is NULL or live; `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn pv_pncounter_context(
    pncounter: *const pv_pncounter,
    out: *mut pv_bytes,
) -> pv_status {
    // SAFETY: forwarded contract (see # Safety).
    guard("pv_pncounter_context", || unsafe {
        handle::context(pncounter, out)
    })
}

/// Writes into `*out` the delta that a replica whose context is `context` (`len` bytes from
/// `pv_pncounter_context`) lacks: joining it there gives what joining the whole of `pncounter` would.
/// Free the bytes with `pv_bytes_free`.
///
/// Returns `PV_OK`; `PV_DECODE_ERROR` for bad context bytes, `PV_INVALID_ARGUMENT` for
/// NULL pointers (`*out` is then `{NULL, 0}`).
///
/// # Safety
/// `pncounter` is NULL or live; `context` points to `len` readable bytes; `out` is NULL or
/// writable.
#[no_mangle]
pub unsafe extern "C" fn pv_pncounter_delta_since(
    pncounter: *const pv_pncounter,
    context: *const u8,
    len: usize,
    out: *mut pv_bytes,
) -> pv_status {
    // SAFETY: forwarded contract (see # Safety).
    guard("pv_pncounter_delta_since", || unsafe {
        handle::delta_since(pncounter, context, len, out)
    })
}

/// Writes the 128-bit digest of the state of `pncounter` into `out[0..16]`, big-endian. Equal
/// states have equal digests, whatever replica the handles write as.
///
/// Returns `PV_OK`; `PV_INVALID_ARGUMENT` for NULL pointers.
///
/// # Safety
/// `pncounter` is NULL or live; `out` is NULL or writable for 16 bytes.
#[no_mangle]
pub unsafe extern "C" fn pv_pncounter_digest(
    pncounter: *const pv_pncounter,
    out: *mut u8,
) -> pv_status {
    // SAFETY: forwarded contract (see # Safety).
    guard("pv_pncounter_digest", || unsafe {
        handle::digest(pncounter, out)
    })
}

/// Writes the number of keys `pncounter` holds into `*out`.
///
/// Returns `PV_OK`; `PV_INVALID_ARGUMENT` for NULL pointers.
///
/// # Safety
/// `pncounter` is NULL or live; `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn pv_pncounter_len(
    pncounter: *const pv_pncounter,
    out: *mut usize,
) -> pv_status {
    // SAFETY: forwarded contract (see # Safety).
    guard("pv_pncounter_len", || unsafe {
        handle::len(pncounter, out)
    })
}

/// Writes the key type of `pncounter` (a `PV_TYPE_*` code) into `*out`.
///
/// Returns `PV_OK`; `PV_INVALID_ARGUMENT` for NULL pointers.
///
/// # Safety
/// `pncounter` is NULL or live; `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn pv_pncounter_key_type(
    pncounter: *const pv_pncounter,
    out: *mut pv_type,
) -> pv_status {
    // SAFETY: forwarded contract (see # Safety).
    guard("pv_pncounter_key_type", || unsafe {
        handle::key_type(pncounter, out)
    })
}

/// Writes into `*out` whether `pncounter` holds the key `key`.
///
/// Returns `PV_OK`; `PV_TYPE_MISMATCH` for a key of another type, `PV_INVALID_ARGUMENT` for
/// NULL pointers or an invalid `pv_value`.
///
/// # Safety
/// `pncounter` is NULL or live; `key` names readable bytes; `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn pv_pncounter_contains(
    pncounter: *const pv_pncounter,
    key: pv_value,
    out: *mut bool,
) -> pv_status {
    // SAFETY: forwarded contract (see # Safety).
    guard("pv_pncounter_contains", || unsafe {
        handle::contains(pncounter, key, out)
    })
}
