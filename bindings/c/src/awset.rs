//! `pv_awset`: the C handle on an `AWSet` replica (add-wins set).

use crate::bytes::pv_bytes;
use crate::handle::{self, Handle};
use crate::status::{guard, guard_void, pv_status};
use crate::value::{any_error, pv_type, pv_value};

/// An `AWSet` replica: an add-wins set of elements. A concurrent `add` beats a `remove`; a `remove` removes only the adds this replica has seen.
///
/// Opaque: made by `pv_awset_new` or `pv_awset_from_bytes`, freed by `pv_awset_free`. Mutators return
/// their delta as bytes to ship to the other replicas.
#[allow(
    non_camel_case_types,
    reason = "C naming: the header spells it pv_awset"
)]
#[derive(Debug)]
pub struct pv_awset(Handle);

handle::kind_handle!(pv_awset, AWSet);

/// Makes an empty `AWSet` whose elements have type `key_type` (a `PV_TYPE_*` key code),
/// written to as the replica named `replica` (`replica_len` bytes, usually UTF-8 text). A
/// replica name must not be reused by a replica that lost its state.
///
/// Returns `PV_OK` and the handle in `*out` (free it with `pv_awset_free`);
/// `PV_INVALID_ARGUMENT` for NULL pointers or a code that is not a key type. On failure
/// `*out` is NULL.
///
/// # Safety
/// `replica` points to `replica_len` readable bytes; `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn pv_awset_new(
    key_type: pv_type,
    replica: *const u8,
    replica_len: usize,
    out: *mut *mut pv_awset,
) -> pv_status {
    let ty = || handle::state_type::<pv_awset>(key_type, None);
    // SAFETY: forwarded contract (see # Safety).
    guard("pv_awset_new", || unsafe {
        handle::new(ty, replica, replica_len, out)
    })
}

/// Adds `elem`.
///
/// The delta to ship goes to `*out_delta` (free it with `pv_bytes_free`); pass NULL when it
/// is not wanted.
///
/// Returns `PV_OK`; `PV_TYPE_MISMATCH` for an element of another type, `PV_OVERFLOW` when
/// this replica's event counter is exhausted, `PV_INVALID_ARGUMENT` for a NULL handle or an
/// invalid `pv_value`. On failure the set is unchanged and `*out_delta` is `{NULL, 0}`.
///
/// # Safety
/// `awset` is NULL or live and not used by another thread; `elem` names readable bytes;
/// `out_delta` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn pv_awset_add(
    awset: *mut pv_awset,
    elem: pv_value,
    out_delta: *mut pv_bytes,
) -> pv_status {
    // SAFETY: forwarded contract (see # Safety).
    guard("pv_awset_add", || unsafe {
        let elem = handle::scalar(elem, "elem")?;
        handle::mutate(awset, out_delta, |s| s.add(elem).map_err(any_error))
    })
}

/// Removes the adds of `elem` this replica has seen (a concurrent add elsewhere wins).
/// Delta and statuses as in `pv_awset_add`.
///
/// # Safety
/// As `pv_awset_add`.
#[no_mangle]
pub unsafe extern "C" fn pv_awset_remove(
    awset: *mut pv_awset,
    elem: pv_value,
    out_delta: *mut pv_bytes,
) -> pv_status {
    // SAFETY: forwarded contract (see # Safety).
    guard("pv_awset_remove", || unsafe {
        let elem = handle::scalar(elem, "elem")?;
        handle::mutate(awset, out_delta, |s| s.remove(elem).map_err(any_error))
    })
}

/// Frees `awset`. NULL is fine.
///
/// # Safety
/// `awset` is NULL or a live `pv_awset` from this library, freed only once and not used after.
#[no_mangle]
pub unsafe extern "C" fn pv_awset_free(awset: *mut pv_awset) {
    // SAFETY: forwarded contract (see # Safety).
    guard_void("pv_awset_free", || unsafe { handle::free(awset) });
}

/// Decodes a whole add-wins set (or a delta) from `bytes` (`len` bytes, as `pv_awset_to_bytes`
/// writes them) into a new handle that writes as the replica named `replica`
/// (`replica_len` bytes). The key types are read from the bytes.
///
/// Returns `PV_OK` and the handle in `*out` (free it with `pv_awset_free`);
/// `PV_DECODE_ERROR` for bad bytes, `PV_TYPE_MISMATCH` for bytes of another kind,
/// `PV_INVALID_ARGUMENT` for NULL pointers. On failure `*out` is NULL.
///
/// # Safety
/// `bytes` points to `len` readable bytes, `replica` to `replica_len`; `out` is NULL or
/// writable.
#[no_mangle]
pub unsafe extern "C" fn pv_awset_from_bytes(
    bytes: *const u8,
    len: usize,
    replica: *const u8,
    replica_len: usize,
    out: *mut *mut pv_awset,
) -> pv_status {
    // SAFETY: forwarded contract (see # Safety).
    guard("pv_awset_from_bytes", || unsafe {
        handle::from_bytes(bytes, len, replica, replica_len, out)
    })
}

/// Writes the whole state of `awset` as bytes (an Arrow IPC stream; equal states give
/// identical bytes) into `*out`; free them with `pv_bytes_free`.
///
/// Returns `PV_OK`; `PV_INVALID_ARGUMENT` for NULL pointers (`*out` is then `{NULL, 0}`).
///
/// # Safety
/// `awset` is NULL or live; `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn pv_awset_to_bytes(
    awset: *const pv_awset,
    out: *mut pv_bytes,
) -> pv_status {
    // SAFETY: forwarded contract (see # Safety).
    guard("pv_awset_to_bytes", || unsafe {
        handle::to_bytes(awset, out)
    })
}

/// Joins a delta or a whole state, given as bytes (from a mutator, `pv_awset_delta_since` or
/// `pv_awset_to_bytes` of any replica), into `awset`. Any order, any number of times: joins are
/// commutative, associative and idempotent.
///
/// Returns `PV_OK`; `PV_DECODE_ERROR` for bad bytes, `PV_TYPE_MISMATCH` for bytes of
/// another kind or key/value types, `PV_FOREIGN_CLAIM` when they claim events of this
/// handle's replica beyond what `awset` knows it issued (a forgery, or `awset` is an old
/// copy: write under a new replica name), `PV_EQUIVOCATION` when they bind an event
/// `awset` holds to other contents, `PV_INVALID_ARGUMENT` for NULL pointers. On failure
/// `awset` is unchanged.
///
/// # Safety
/// `awset` is NULL or live and not used by another thread; `bytes` points to `len` readable
/// bytes.
#[no_mangle]
pub unsafe extern "C" fn pv_awset_merge_bytes(
    awset: *mut pv_awset,
    bytes: *const u8,
    len: usize,
) -> pv_status {
    // SAFETY: forwarded contract (see # Safety).
    guard("pv_awset_merge_bytes", || unsafe {
        handle::merge_bytes(awset, bytes, len)
    })
}

/// Joins the whole state of `other` into `awset` (as `pv_awset_merge_bytes` of its bytes, without
/// the bytes). `other` may be `awset` itself (nothing changes).
///
/// Returns `PV_OK`; `PV_FOREIGN_CLAIM` and `PV_EQUIVOCATION` as for
/// `pv_awset_merge_bytes`, `PV_TYPE_MISMATCH` when the key types differ,
/// `PV_INVALID_ARGUMENT` for NULL pointers. On failure `awset` is unchanged.
///
/// # Safety
/// `awset` and `other` are NULL or live; `awset` is not used by another thread.
#[no_mangle]
pub unsafe extern "C" fn pv_awset_merge(awset: *mut pv_awset, other: *const pv_awset) -> pv_status {
    // SAFETY: forwarded contract (see # Safety).
    guard("pv_awset_merge", || unsafe { handle::merge(awset, other) })
}

/// Writes the causal context of `awset` (every event it has seen) as bytes into `*out`; free
/// them with `pv_bytes_free`. Send them to a peer, which answers with
/// `pv_awset_delta_since`.
///
/// Returns `PV_OK`; `PV_INVALID_ARGUMENT` for NULL pointers (`*out` is then `{NULL, 0}`).
///
/// # Safety
/// `awset` is NULL or live; `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn pv_awset_context(awset: *const pv_awset, out: *mut pv_bytes) -> pv_status {
    // SAFETY: forwarded contract (see # Safety).
    guard("pv_awset_context", || unsafe {
        handle::context(awset, out)
    })
}

/// Writes into `*out` the delta that a replica whose context is `context` (`len` bytes from
/// `pv_awset_context`) lacks: joining it there gives what joining the whole of `awset` would.
/// Free the bytes with `pv_bytes_free`.
///
/// Returns `PV_OK`; `PV_DECODE_ERROR` for bad context bytes, `PV_INVALID_ARGUMENT` for
/// NULL pointers (`*out` is then `{NULL, 0}`).
///
/// # Safety
/// `awset` is NULL or live; `context` points to `len` readable bytes; `out` is NULL or
/// writable.
#[no_mangle]
pub unsafe extern "C" fn pv_awset_delta_since(
    awset: *const pv_awset,
    context: *const u8,
    len: usize,
    out: *mut pv_bytes,
) -> pv_status {
    // SAFETY: forwarded contract (see # Safety).
    guard("pv_awset_delta_since", || unsafe {
        handle::delta_since(awset, context, len, out)
    })
}

/// Writes the 128-bit digest of the state of `awset` into `out[0..16]`, big-endian. Equal
/// states have equal digests, whatever replica the handles write as.
///
/// Returns `PV_OK`; `PV_INVALID_ARGUMENT` for NULL pointers.
///
/// # Safety
/// `awset` is NULL or live; `out` is NULL or writable for 16 bytes.
#[no_mangle]
pub unsafe extern "C" fn pv_awset_digest(awset: *const pv_awset, out: *mut u8) -> pv_status {
    // SAFETY: forwarded contract (see # Safety).
    guard("pv_awset_digest", || unsafe { handle::digest(awset, out) })
}

/// Writes the number of elements `awset` holds into `*out`.
///
/// Returns `PV_OK`; `PV_INVALID_ARGUMENT` for NULL pointers.
///
/// # Safety
/// `awset` is NULL or live; `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn pv_awset_len(awset: *const pv_awset, out: *mut usize) -> pv_status {
    // SAFETY: forwarded contract (see # Safety).
    guard("pv_awset_len", || unsafe { handle::len(awset, out) })
}

/// Writes the element type of `awset` (a `PV_TYPE_*` code) into `*out`.
///
/// Returns `PV_OK`; `PV_INVALID_ARGUMENT` for NULL pointers.
///
/// # Safety
/// `awset` is NULL or live; `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn pv_awset_key_type(awset: *const pv_awset, out: *mut pv_type) -> pv_status {
    // SAFETY: forwarded contract (see # Safety).
    guard("pv_awset_key_type", || unsafe {
        handle::key_type(awset, out)
    })
}

/// Writes into `*out` whether `awset` holds the element `key`.
///
/// Returns `PV_OK`; `PV_TYPE_MISMATCH` for a key of another type, `PV_INVALID_ARGUMENT` for
/// NULL pointers or an invalid `pv_value`.
///
/// # Safety
/// `awset` is NULL or live; `key` names readable bytes; `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn pv_awset_contains(
    awset: *const pv_awset,
    key: pv_value,
    out: *mut bool,
) -> pv_status {
    // SAFETY: forwarded contract (see # Safety).
    guard("pv_awset_contains", || unsafe {
        handle::contains(awset, key, out)
    })
}
