//! `pv_mvmap`: the C handle on an `MVMap` replica (multi-value map).

use crate::bytes::pv_bytes;
use crate::handle::{self, Handle};
use crate::status::{guard, guard_void, pv_status};
use crate::value::{any_error, pv_type, pv_value, pv_values};

/// An `MVMap` replica: a multi-value register per key. Concurrent `set`s of a key survive side by side until a later `set` or `remove` that has seen them; `remove` removes only what this replica has seen.
///
/// Opaque: made by `pv_mvmap_new` or `pv_mvmap_from_bytes`, freed by `pv_mvmap_free`. Mutators return
/// their delta as bytes to ship to the other replicas.
#[allow(
    non_camel_case_types,
    reason = "C naming: the header spells it pv_mvmap"
)]
#[derive(Debug)]
pub struct pv_mvmap(Handle);

handle::kind_handle!(pv_mvmap, MVMap);

/// Makes an empty `MVMap` whose keys have type `key_type` and values `value_type`
/// (`PV_TYPE_*` codes), written to as the replica named `replica` (`replica_len` bytes,
/// usually UTF-8 text). A replica name must not be reused by a replica that lost its state.
///
/// Returns `PV_OK` and the handle in `*out` (free it with `pv_mvmap_free`);
/// `PV_INVALID_ARGUMENT` for NULL pointers or codes that are not a key or value type. On
/// failure `*out` is NULL.
///
/// # Safety
/// `replica` points to `replica_len` readable bytes; `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn pv_mvmap_new(
    key_type: pv_type,
    value_type: pv_type,
    replica: *const u8,
    replica_len: usize,
    out: *mut *mut pv_mvmap,
) -> pv_status {
    let ty = || handle::state_type::<pv_mvmap>(key_type, Some(value_type));
    // SAFETY: forwarded contract (see # Safety).
    guard("pv_mvmap_new", || unsafe {
        handle::new(ty, replica, replica_len, out)
    })
}

/// Sets `key` to `value`, replacing every value of `key` this replica has seen (values
/// written concurrently elsewhere survive next to it).
///
/// The delta to ship goes to `*out_delta` (free it with `pv_bytes_free`); pass NULL when it
/// is not wanted.
///
/// Returns `PV_OK`; `PV_TYPE_MISMATCH` for a key or value of another type, `PV_OVERFLOW`
/// when this replica's event counter is exhausted, `PV_INVALID_ARGUMENT` for a NULL handle
/// or an invalid `pv_value`. On failure the map is unchanged and `*out_delta` is
/// `{NULL, 0}`.
///
/// # Safety
/// `mvmap` is NULL or live and not used by another thread; `key` and `value` name readable
/// bytes; `out_delta` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn pv_mvmap_set(
    mvmap: *mut pv_mvmap,
    key: pv_value,
    value: pv_value,
    out_delta: *mut pv_bytes,
) -> pv_status {
    // SAFETY: forwarded contract (see # Safety).
    guard("pv_mvmap_set", || unsafe {
        let key = handle::scalar(key, "key")?;
        let value = handle::scalar(value, "value")?;
        handle::mutate(mvmap, out_delta, |s| s.set(key, value).map_err(any_error))
    })
}

/// Removes the values of `key` this replica has seen (a concurrent `set` elsewhere
/// survives). Delta and statuses as in `pv_mvmap_set`.
///
/// # Safety
/// As `pv_mvmap_set`.
#[no_mangle]
pub unsafe extern "C" fn pv_mvmap_remove(
    mvmap: *mut pv_mvmap,
    key: pv_value,
    out_delta: *mut pv_bytes,
) -> pv_status {
    // SAFETY: forwarded contract (see # Safety).
    guard("pv_mvmap_remove", || unsafe {
        let key = handle::scalar(key, "key")?;
        handle::mutate(mvmap, out_delta, |s| s.remove(key).map_err(any_error))
    })
}

/// Writes the concurrent values of `key` into a new list `*out` (empty when the key is
/// absent; ordered by the name of the replica that wrote each). Read it with
/// `pv_values_len` and `pv_values_get`; free it with `pv_values_free`.
///
/// Returns `PV_OK`; `PV_TYPE_MISMATCH` for a key of another type, `PV_INVALID_ARGUMENT`
/// for NULL pointers or an invalid `pv_value`. On failure `*out` is NULL.
///
/// # Safety
/// `mvmap` is NULL or live; `key` names readable bytes; `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn pv_mvmap_get(
    mvmap: *const pv_mvmap,
    key: pv_value,
    out: *mut *mut pv_values,
) -> pv_status {
    // SAFETY: forwarded contract (see # Safety).
    guard("pv_mvmap_get", || unsafe {
        handle::get(mvmap, key, out, |s, k| s.get(k).map_err(any_error))
    })
}

/// Frees `mvmap`. NULL is fine.
///
/// # Safety
/// `mvmap` is NULL or a live `pv_mvmap` from this library, freed only once and not used after.
#[no_mangle]
pub unsafe extern "C" fn pv_mvmap_free(mvmap: *mut pv_mvmap) {
    // SAFETY: forwarded contract (see # Safety).
    guard_void("pv_mvmap_free", || unsafe { handle::free(mvmap) });
}

/// Decodes a whole multi-value map (or a delta) from `bytes` (`len` bytes, as `pv_mvmap_to_bytes`
/// writes them) into a new handle that writes as the replica named `replica`
/// (`replica_len` bytes). The key and value types are read from the bytes.
///
/// Returns `PV_OK` and the handle in `*out` (free it with `pv_mvmap_free`);
/// `PV_DECODE_ERROR` for bad bytes, `PV_TYPE_MISMATCH` for bytes of another kind,
/// `PV_INVALID_ARGUMENT` for NULL pointers. On failure `*out` is NULL.
///
/// # Safety
/// `bytes` points to `len` readable bytes, `replica` to `replica_len`; `out` is NULL or
/// writable.
#[no_mangle]
pub unsafe extern "C" fn pv_mvmap_from_bytes(
    bytes: *const u8,
    len: usize,
    replica: *const u8,
    replica_len: usize,
    out: *mut *mut pv_mvmap,
) -> pv_status {
    // SAFETY: forwarded contract (see # Safety).
    guard("pv_mvmap_from_bytes", || unsafe {
        handle::from_bytes(bytes, len, replica, replica_len, out)
    })
}

/// Writes the whole state of `mvmap` as bytes (an Arrow IPC stream; equal states give
/// identical bytes) into `*out`; free them with `pv_bytes_free`.
///
/// Returns `PV_OK`; `PV_INVALID_ARGUMENT` for NULL pointers (`*out` is then `{NULL, 0}`).
///
/// # Safety
/// `mvmap` is NULL or live; `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn pv_mvmap_to_bytes(
    mvmap: *const pv_mvmap,
    out: *mut pv_bytes,
) -> pv_status {
    // SAFETY: forwarded contract (see # Safety).
    guard("pv_mvmap_to_bytes", || unsafe {
        handle::to_bytes(mvmap, out)
    })
}

/// Joins a delta or a whole state, given as bytes (from a mutator, `pv_mvmap_delta_since` or
/// `pv_mvmap_to_bytes` of any replica), into `mvmap`. Any order, any number of times: joins are
/// commutative, associative and idempotent.
///
/// Returns `PV_OK`; `PV_DECODE_ERROR` for bad bytes, `PV_TYPE_MISMATCH` for bytes of
/// another kind or key/value types, `PV_FOREIGN_CLAIM` when they claim events of this
/// handle's replica beyond what `mvmap` knows it issued (a forgery, or `mvmap` is an old
/// copy: write under a new replica name), `PV_EQUIVOCATION` when they bind an event
/// `mvmap` holds to other contents, `PV_INVALID_ARGUMENT` for NULL pointers. On failure
/// `mvmap` is unchanged.
///
/// # Safety
/// `mvmap` is NULL or live and not used by another thread; `bytes` points to `len` readable
/// bytes.
#[no_mangle]
pub unsafe extern "C" fn pv_mvmap_merge_bytes(
    mvmap: *mut pv_mvmap,
    bytes: *const u8,
    len: usize,
) -> pv_status {
    // SAFETY: forwarded contract (see # Safety).
    guard("pv_mvmap_merge_bytes", || unsafe {
        handle::merge_bytes(mvmap, bytes, len)
    })
}

/// Joins the whole state of `other` into `mvmap` (as `pv_mvmap_merge_bytes` of its bytes, without
/// the bytes). `other` may be `mvmap` itself (nothing changes).
///
/// Returns `PV_OK`; `PV_FOREIGN_CLAIM` and `PV_EQUIVOCATION` as for
/// `pv_mvmap_merge_bytes`, `PV_TYPE_MISMATCH` when the key or value types differ,
/// `PV_INVALID_ARGUMENT` for NULL pointers. On failure `mvmap` is unchanged.
///
/// # Safety
/// `mvmap` and `other` are NULL or live; `mvmap` is not used by another thread.
#[no_mangle]
pub unsafe extern "C" fn pv_mvmap_merge(mvmap: *mut pv_mvmap, other: *const pv_mvmap) -> pv_status {
    // SAFETY: forwarded contract (see # Safety).
    guard("pv_mvmap_merge", || unsafe { handle::merge(mvmap, other) })
}

/// Writes the causal context of `mvmap` (every event it has seen) as bytes into `*out`; free
/// them with `pv_bytes_free`. Send them to a peer, which answers with
/// `pv_mvmap_delta_since`.
///
/// Returns `PV_OK`; `PV_INVALID_ARGUMENT` for NULL pointers (`*out` is then `{NULL, 0}`).
///
/// # Safety
/// `mvmap` is NULL or live; `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn pv_mvmap_context(mvmap: *const pv_mvmap, out: *mut pv_bytes) -> pv_status {
    // SAFETY: forwarded contract (see # Safety).
    guard("pv_mvmap_context", || unsafe {
        handle::context(mvmap, out)
    })
}

/// Writes into `*out` the delta that a replica whose context is `context` (`len` bytes from
/// `pv_mvmap_context`) lacks: joining it there gives what joining the whole of `mvmap` would.
/// Free the bytes with `pv_bytes_free`.
///
/// Returns `PV_OK`; `PV_DECODE_ERROR` for bad context bytes, `PV_INVALID_ARGUMENT` for
/// NULL pointers (`*out` is then `{NULL, 0}`).
///
/// # Safety
/// `mvmap` is NULL or live; `context` points to `len` readable bytes; `out` is NULL or
/// writable.
#[no_mangle]
pub unsafe extern "C" fn pv_mvmap_delta_since(
    mvmap: *const pv_mvmap,
    context: *const u8,
    len: usize,
    out: *mut pv_bytes,
) -> pv_status {
    // SAFETY: forwarded contract (see # Safety).
    guard("pv_mvmap_delta_since", || unsafe {
        handle::delta_since(mvmap, context, len, out)
    })
}

/// Writes the 128-bit digest of the state of `mvmap` into `out[0..16]`, big-endian. Equal
/// states have equal digests, whatever replica the handles write as.
///
/// Returns `PV_OK`; `PV_INVALID_ARGUMENT` for NULL pointers.
///
/// # Safety
/// `mvmap` is NULL or live; `out` is NULL or writable for 16 bytes.
#[no_mangle]
pub unsafe extern "C" fn pv_mvmap_digest(mvmap: *const pv_mvmap, out: *mut u8) -> pv_status {
    // SAFETY: forwarded contract (see # Safety).
    guard("pv_mvmap_digest", || unsafe { handle::digest(mvmap, out) })
}

/// Writes the number of keys `mvmap` holds into `*out`.
///
/// Returns `PV_OK`; `PV_INVALID_ARGUMENT` for NULL pointers.
///
/// # Safety
/// `mvmap` is NULL or live; `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn pv_mvmap_len(mvmap: *const pv_mvmap, out: *mut usize) -> pv_status {
    // SAFETY: forwarded contract (see # Safety).
    guard("pv_mvmap_len", || unsafe { handle::len(mvmap, out) })
}

/// Writes the key type of `mvmap` (a `PV_TYPE_*` code) into `*out`.
///
/// Returns `PV_OK`; `PV_INVALID_ARGUMENT` for NULL pointers.
///
/// # Safety
/// `mvmap` is NULL or live; `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn pv_mvmap_key_type(mvmap: *const pv_mvmap, out: *mut pv_type) -> pv_status {
    // SAFETY: forwarded contract (see # Safety).
    guard("pv_mvmap_key_type", || unsafe {
        handle::key_type(mvmap, out)
    })
}

/// Writes into `*out` whether `mvmap` holds the key `key`.
///
/// Returns `PV_OK`; `PV_TYPE_MISMATCH` for a key of another type, `PV_INVALID_ARGUMENT` for
/// NULL pointers or an invalid `pv_value`.
///
/// # Safety
/// `mvmap` is NULL or live; `key` names readable bytes; `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn pv_mvmap_contains(
    mvmap: *const pv_mvmap,
    key: pv_value,
    out: *mut bool,
) -> pv_status {
    // SAFETY: forwarded contract (see # Safety).
    guard("pv_mvmap_contains", || unsafe {
        handle::contains(mvmap, key, out)
    })
}

/// Writes the value type of `mvmap` (a `PV_TYPE_*` code) into `*out`.
///
/// Returns `PV_OK`; `PV_INVALID_ARGUMENT` for NULL pointers.
///
/// # Safety
/// `mvmap` is NULL or live; `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn pv_mvmap_value_type(
    mvmap: *const pv_mvmap,
    out: *mut pv_type,
) -> pv_status {
    // SAFETY: forwarded contract (see # Safety).
    guard("pv_mvmap_value_type", || unsafe {
        handle::value_type(mvmap, out)
    })
}
