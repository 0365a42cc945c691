//! `pv_lwwmap`: the C handle on an `LWWMap` replica (last-writer-wins map).

use crate::bytes::pv_bytes;
use crate::handle::{self, Handle};
use crate::status::{guard, guard_void, pv_status, Fail};
use crate::value::{any_error, pv_type, pv_value, pv_values};

/// An `LWWMap` replica: per key, the write with the highest `(timestamp, replica name)` wins; `remove` writes a timestamped tombstone.
///
/// Opaque: made by `pv_lwwmap_new` or `pv_lwwmap_from_bytes`, freed by `pv_lwwmap_free`. Mutators return
/// their delta as bytes to ship to the other replicas.
#[allow(
    non_camel_case_types,
    reason = "C naming: the header spells it pv_lwwmap"
)]
#[derive(Debug)]
pub struct pv_lwwmap(Handle);

handle::kind_handle!(pv_lwwmap, LWWMap);

/// Makes an empty `LWWMap` whose keys have type `key_type` and values `value_type`
/// (`PV_TYPE_*` codes), written to as the replica named `replica` (`replica_len` bytes,
/// usually UTF-8 text; it breaks ties between equal timestamps). A replica name must not be
/// reused by a replica that lost its state.
///
/// Returns `PV_OK` and the handle in `*out` (free it with `pv_lwwmap_free`);
/// `PV_INVALID_ARGUMENT` for NULL pointers or codes that are not a key or value type. On
/// failure `*out` is NULL.
///
/// # Safety
/// `replica` points to `replica_len` readable bytes; `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn pv_lwwmap_new(
    key_type: pv_type,
    value_type: pv_type,
    replica: *const u8,
    replica_len: usize,
    out: *mut *mut pv_lwwmap,
) -> pv_status {
    let ty = || handle::state_type::<pv_lwwmap>(key_type, Some(value_type));
    // SAFETY: forwarded contract (see # Safety).
    guard("pv_lwwmap_new", || unsafe {
        handle::new(ty, replica, replica_len, out)
    })
}

/// Writes `value` to `key` at `timestamp`; it wins over every write (or remove) of `key`
/// with a lower `(timestamp, replica name)`. A write older than the key's current winner
/// changes nothing (its delta is empty).
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
/// `lwwmap` is NULL or live and not used by another thread; `key` and `value` name readable
/// bytes; `out_delta` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn pv_lwwmap_set(
    lwwmap: *mut pv_lwwmap,
    key: pv_value,
    value: pv_value,
    timestamp: u64,
    out_delta: *mut pv_bytes,
) -> pv_status {
    // SAFETY: forwarded contract (see # Safety).
    guard("pv_lwwmap_set", || unsafe {
        let key = handle::scalar(key, "key")?;
        let value = handle::scalar(value, "value")?;
        handle::mutate(lwwmap, out_delta, |s| {
            s.set_at(key, value, timestamp).map_err(any_error)
        })
    })
}

/// Removes `key` at `timestamp` (a timestamped tombstone that wins like a write). Delta
/// and statuses as in `pv_lwwmap_set`.
///
/// # Safety
/// As `pv_lwwmap_set`.
#[no_mangle]
pub unsafe extern "C" fn pv_lwwmap_remove(
    lwwmap: *mut pv_lwwmap,
    key: pv_value,
    timestamp: u64,
    out_delta: *mut pv_bytes,
) -> pv_status {
    // SAFETY: forwarded contract (see # Safety).
    guard("pv_lwwmap_remove", || unsafe {
        let key = handle::scalar(key, "key")?;
        handle::mutate(lwwmap, out_delta, |s| {
            s.remove_at(key, timestamp).map_err(any_error)
        })
    })
}

/// Writes the winning value of `key` into a new list `*out`: one value, or none when the
/// key is absent or removed. Read it with `pv_values_len` and `pv_values_get`; free it with
/// `pv_values_free`. When `out_timestamp` is not NULL it receives the winner's timestamp
/// (0 when there is none).
///
/// Returns `PV_OK`; `PV_TYPE_MISMATCH` for a key of another type, `PV_INVALID_ARGUMENT`
/// for NULL pointers or an invalid `pv_value`. On failure `*out` is NULL.
///
/// # Safety
/// `lwwmap` is NULL or live; `key` names readable bytes; `out` is NULL or writable;
/// `out_timestamp` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn pv_lwwmap_get(
    lwwmap: *const pv_lwwmap,
    key: pv_value,
    out: *mut *mut pv_values,
    out_timestamp: *mut u64,
) -> pv_status {
    // SAFETY: forwarded contract (see # Safety).
    guard("pv_lwwmap_get", || unsafe {
        if !out_timestamp.is_null() && !out_timestamp.is_aligned() {
            return Err(Fail::invalid("out_timestamp is not aligned"));
        }
        let mut ts = 0;
        handle::get(lwwmap, key, out, |s, k| {
            let w = s.get_with_timestamp(k).map_err(any_error)?;
            Ok(w.map(|(t, v)| {
                ts = t;
                vec![v]
            })
            .unwrap_or_default())
        })?;
        if !out_timestamp.is_null() {
            out_timestamp.write(ts);
        }
        Ok(())
    })
}

/// Frees `lwwmap`. NULL is fine.
///
/// # Safety
/// `lwwmap` is NULL or a live `pv_lwwmap` from this library, freed only once and not used after.
#[no_mangle]
pub unsafe extern "C" fn pv_lwwmap_free(lwwmap: *mut pv_lwwmap) {
    // SAFETY: forwarded contract (see # Safety).
    guard_void("pv_lwwmap_free", || unsafe { handle::free(lwwmap) });
}

/// Decodes a whole last-writer-wins map (or a delta) from `bytes` (`len` bytes, as `pv_lwwmap_to_bytes`
/// writes them) into a new handle that writes as the replica named `replica`
/// (`replica_len` bytes). The key and value types are read from the bytes.
///
/// Returns `PV_OK` and the handle in `*out` (free it with `pv_lwwmap_free`);
/// `PV_DECODE_ERROR` for bad bytes, `PV_TYPE_MISMATCH` for bytes of another kind,
/// `PV_INVALID_ARGUMENT` for NULL pointers. On failure `*out` is NULL.
///
/// # Safety
/// `bytes` points to `len` readable bytes, `replica` to `replica_len`; `out` is NULL or
/// writable.
#[no_mangle]
pub unsafe extern "C" fn pv_lwwmap_from_bytes(
    bytes: *const u8,
    len: usize,
    replica: *const u8,
    replica_len: usize,
    out: *mut *mut pv_lwwmap,
) -> pv_status {
    // SAFETY: forwarded contract (see # Safety).
    guard("pv_lwwmap_from_bytes", || unsafe {
        handle::from_bytes(bytes, len, replica, replica_len, out)
    })
}

/// Writes the whole state of `lwwmap` as bytes (an Arrow IPC stream; equal states give
/// identical bytes) into `*out`; free them with `pv_bytes_free`.
///
/// Returns `PV_OK`; `PV_INVALID_ARGUMENT` for NULL pointers (`*out` is then `{NULL, 0}`).
///
/// # Safety
/// `lwwmap` is NULL or live; `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn pv_lwwmap_to_bytes(
    lwwmap: *const pv_lwwmap,
    out: *mut pv_bytes,
) -> pv_status {
    // SAFETY: forwarded contract (see # Safety).
    guard("pv_lwwmap_to_bytes", || unsafe {
        handle::to_bytes(lwwmap, out)
    })
}

/// Joins a delta or a whole state, given as bytes (from a mutator, `pv_lwwmap_delta_since` or
/// `pv_lwwmap_to_bytes` of any replica), into `lwwmap`. Any order, any number of times: joins are
/// commutative, associative and idempotent.
///
/// Returns `PV_OK`; `PV_DECODE_ERROR` for bad bytes, `PV_TYPE_MISMATCH` for bytes of
/// another kind or key/value types, `PV_FOREIGN_CLAIM` when they claim events of this
/// handle's replica beyond what `lwwmap` knows it issued (a forgery, or `lwwmap` is an old
/// copy: write under a new replica name), `PV_EQUIVOCATION` when they bind an event
/// `lwwmap` holds to other contents, `PV_INVALID_ARGUMENT` for NULL pointers. On failure
/// `lwwmap` is unchanged.
///
/// # Safety
/// `lwwmap` is NULL or live and not used by another thread; `bytes` points to `len` readable
/// bytes.
#[no_mangle]
pub unsafe extern "C" fn pv_lwwmap_merge_bytes(
    lwwmap: *mut pv_lwwmap,
    bytes: *const u8,
    len: usize,
) -> pv_status {
    // SAFETY: forwarded contract (see # Safety).
    guard("pv_lwwmap_merge_bytes", || unsafe {
        handle::merge_bytes(lwwmap, bytes, len)
    })
}

/// Joins the whole state of `other` into `lwwmap` (as `pv_lwwmap_merge_bytes` of its bytes, without
/// the bytes). `other` may be `lwwmap` itself (nothing changes).
///
/// Returns `PV_OK`; `PV_FOREIGN_CLAIM` and `PV_EQUIVOCATION` as for
/// `pv_lwwmap_merge_bytes`, `PV_TYPE_MISMATCH` when the key or value types differ,
/// `PV_INVALID_ARGUMENT` for NULL pointers. On failure `lwwmap` is unchanged.
///
/// # Safety
/// `lwwmap` and `other` are NULL or live; `lwwmap` is not used by another thread.
#[no_mangle]
pub unsafe extern "C" fn pv_lwwmap_merge(
    lwwmap: *mut pv_lwwmap,
    other: *const pv_lwwmap,
) -> pv_status {
    // SAFETY: forwarded contract (see # Safety).
    guard("pv_lwwmap_merge", || unsafe {
        handle::merge(lwwmap, other)
    })
}

/// Writes the causal context of `lwwmap` (every event it has seen) as bytes into `*out`; free
/// them with `pv_bytes_free`. Send them to a peer, which answers with
/// `pv_lwwmap_delta_since`.
///
/// Returns `PV_OK`; `PV_INVALID_ARGUMENT` for NULL pointers (`*out` is then `{NULL, 0}`).
///
/// # Safety
/// `lwwmap` is NULL or live; `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn pv_lwwmap_context(
    lwwmap: *const pv_lwwmap,
    out: *mut pv_bytes,
) -> pv_status {
    // SAFETY: forwarded contract (see # Safety).
    guard("pv_lwwmap_context", || unsafe {
        handle::context(lwwmap, out)
    })
}

/// Writes into `*out` the delta that a replica whose context is `context` (`len` bytes from
/// `pv_lwwmap_context`) lacks: joining it there gives what joining the whole of `lwwmap` would.
/// Free the bytes with `pv_bytes_free`.
///
/// Returns `PV_OK`; `PV_DECODE_ERROR` for bad context bytes, `PV_INVALID_ARGUMENT` for
/// NULL pointers (`*out` is then `{NULL, 0}`).
///
/// # Safety
/// `lwwmap` is NULL or live; `context` points to `len` readable bytes; `out` is NULL or
/// writable.
#[no_mangle]
pub unsafe extern "C" fn pv_lwwmap_delta_since(
    lwwmap: *const pv_lwwmap,
    context: *const u8,
    len: usize,
    out: *mut pv_bytes,
) -> pv_status {
    // SAFETY: forwarded contract (see # Safety).
    guard("pv_lwwmap_delta_since", || unsafe {
        handle::delta_since(lwwmap, context, len, out)
    })
}

/// Writes the 128-bit digest of the state of `lwwmap` into `out[0..16]`, big-endian. Equal
/// states have equal digests, whatever replica the handles write as.
///
/// Returns `PV_OK`; `PV_INVALID_ARGUMENT` for NULL pointers.
///
/// # Safety
/// `lwwmap` is NULL or live; `out` is NULL or writable for 16 bytes.
#[no_mangle]
pub unsafe extern "C" fn pv_lwwmap_digest(lwwmap: *const pv_lwwmap, out: *mut u8) -> pv_status {
    // SAFETY: forwarded contract (see # Safety).
    guard("pv_lwwmap_digest", || unsafe {
        handle::digest(lwwmap, out)
    })
}

/// Writes the number of keys `lwwmap` holds into `*out`.
///
/// Returns `PV_OK`; `PV_INVALID_ARGUMENT` for NULL pointers.
///
/// # Safety
/// `lwwmap` is NULL or live; `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn pv_lwwmap_len(lwwmap: *const pv_lwwmap, out: *mut usize) -> pv_status {
    // SAFETY: forwarded contract (see # Safety).
    guard("pv_lwwmap_len", || unsafe { handle::len(lwwmap, out) })
}

/// Writes the key type of `lwwmap` (a `PV_TYPE_*` code) into `*out`.
///
/// Returns `PV_OK`; `PV_INVALID_ARGUMENT` for NULL pointers.
///
/// # Safety
/// `lwwmap` is NULL or live; `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn pv_lwwmap_key_type(
    lwwmap: *const pv_lwwmap,
    out: *mut pv_type,
) -> pv_status {
    // SAFETY: forwarded contract (see # Safety).
    guard("pv_lwwmap_key_type", || unsafe {
        handle::key_type(lwwmap, out)
    })
}

/// Writes into `*out` whether `lwwmap` holds the key `key`.
///
/// Returns `PV_OK`; `PV_TYPE_MISMATCH` for a key of another type, `PV_INVALID_ARGUMENT` for
/// NULL pointers or an invalid `pv_value`.
///
/// # Safety
/// `lwwmap` is NULL or live; `key` names readable bytes; `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn pv_lwwmap_contains(
    lwwmap: *const pv_lwwmap,
    key: pv_value,
    out: *mut bool,
) -> pv_status {
    // SAFETY: forwarded contract (see # Safety).
    guard("pv_lwwmap_contains", || unsafe {
        handle::contains(lwwmap, key, out)
    })
}

/// Writes the value type of `lwwmap` (a `PV_TYPE_*` code) into `*out`.
///
/// Returns `PV_OK`; `PV_INVALID_ARGUMENT` for NULL pointers.
///
/// # Safety
/// `lwwmap` is NULL or live; `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn pv_lwwmap_value_type(
    lwwmap: *const pv_lwwmap,
    out: *mut pv_type,
) -> pv_status {
    // SAFETY: forwarded contract (see # Safety).
    guard("pv_lwwmap_value_type", || unsafe {
        handle::value_type(lwwmap, out)
    })
}
