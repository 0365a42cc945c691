//! `pv_sync`: the C handle on the sans-IO sync state machine for one peer
//! (`pluriverse_replica::sync::Peer`): bytes in, bytes out, the time given by the caller.

use std::time::Duration;

use pluriverse_any::{AnyState, StateType};
use pluriverse_replica::sync::{Config, Peer};

use crate::bytes::{self, pv_bytes};
use crate::handle::{self, KindHandle};
use crate::ptr::{self, check_ptr};
use crate::replica::{self as rep, pv_kind, pv_replica, replica_error};
use crate::status::{guard, guard_void, pv_status, Fail, FfiResult};
use crate::value::pv_type;
use crate::{awset::pv_awset, lwwmap::pv_lwwmap, mvmap::pv_mvmap, pncounter::pv_pncounter};

/// The sync state machine for one peer: it takes the peer's messages (`pv_sync_handle`),
/// gives the messages to send it (`pv_sync_poll_transmit`), and is given the time in
/// milliseconds on any clock that does not go back (`now_ms`); it never does I/O and never
/// changes a state itself. Make one per peer.
///
/// Any message may be lost, duplicated, reordered or delayed: nothing needs a retransmit.
/// Local writes' deltas are pushed (`pv_sync_push_*`); every `round_interval_ms` an
/// anti-entropy round compares summaries and sends what differs, in messages of at most
/// `max_message` bytes, each a valid delta on its own.
///
/// Opaque: made by `pv_sync_new`, freed by `pv_sync_free`.
#[allow(
    non_camel_case_types,
    reason = "C naming: the header spells it pv_sync"
)]
pub struct pv_sync {
    peer: Peer,
    ty: StateType,
    /// A panic left the machine half-changed: only `pv_sync_free` is allowed.
    poisoned: bool,
}

/// What a `pv_sync` has done (`pv_sync_get_stats`).
#[allow(
    non_camel_case_types,
    reason = "C naming: the header spells it pv_sync_stats"
)]
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct pv_sync_stats {
    /// Messages returned by `pv_sync_poll_transmit`.
    pub messages_out: u64,
    /// Their bytes.
    pub bytes_out: u64,
    /// Messages given to `pv_sync_handle`.
    pub messages_in: u64,
    /// Their bytes.
    pub bytes_in: u64,
    /// Anti-entropy rounds started.
    pub rounds: u64,
    /// Slices sent (chunks and pushed deltas).
    pub slices_out: u64,
    /// Deltas handed back to join.
    pub deltas_in: u64,
    /// Messages refused as malformed, of another type, or over a bound.
    pub bad_messages: u64,
    /// Messages dropped because the inbound budget of the round was spent.
    pub throttled: u64,
    /// Pieces of work dropped because the queue was full (a later round redoes them).
    pub dropped_work: u64,
    /// Slices that did not fit in a message even alone.
    pub oversized: u64,
}

fn poisoned() -> Fail {
    Fail::new(
        pv_status::PV_PANIC,
        "this pv_sync was left inconsistent by an earlier panic; only pv_sync_free is allowed",
    )
}

/// The machine behind `p`, for reading.
///
/// # Safety
/// `p` is NULL or a live handle not mutated during the call.
unsafe fn read<'a>(p: *const pv_sync) -> FfiResult<&'a pv_sync> {
    // SAFETY: forwarded contract.
    let h = unsafe { ptr::handle(p, "sync") }?;
    if h.poisoned {
        return Err(poisoned());
    }
    Ok(h)
}

/// Runs `f` on the machine behind `p`; a panic inside `f` poisons the handle.
///
/// # Safety
/// `p` is NULL or a live handle not otherwise accessed during the call.
unsafe fn write<R>(
    p: *mut pv_sync,
    f: impl FnOnce(&mut Peer, StateType) -> FfiResult<R>,
) -> FfiResult<R> {
    // SAFETY: forwarded contract.
    let h = unsafe { ptr::handle_mut(p, "sync") }?;
    if h.poisoned {
        return Err(poisoned());
    }
    h.poisoned = true;
    let r = f(&mut h.peer, h.ty);
    h.poisoned = false;
    r
}

fn now(ms: u64) -> Duration {
    Duration::from_millis(ms)
}

/// Makes a sync state machine for states of kind `kind` (a `PV_KIND_*` code) with keys of
/// type `key_type` and values of type `value_type` (0 for the kinds without values), as
/// `pv_replica_create` takes them. Every message it sends or accepts is at most
/// `max_message` bytes (0: 64 KiB; the smallest bound accepted depends on the
/// types, 1.5 to 2 KiB, and the error message says it); a round of anti-entropy starts
/// every `round_interval_ms` milliseconds (0: 1,000).
///
/// Returns `PV_OK` and the handle in `*out` (free it with `pv_sync_free`);
/// `PV_INVALID_ARGUMENT` for NULL pointers, codes that are not a kind, key or value type,
/// or a `max_message` too small to hold the smallest message (the message says how many
/// bytes are needed). On failure `*out` is NULL.
///
/// # Safety
/// `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn pv_sync_new(
    kind: pv_kind,
    key_type: pv_type,
    value_type: pv_type,
    max_message: usize,
    round_interval_ms: u64,
    out: *mut *mut pv_sync,
) -> pv_status {
    // SAFETY: forwarded contract (see # Safety).
    guard("pv_sync_new", || unsafe {
        handle::out_handle(out)?;
        let ty = rep::state_type(kind, key_type, value_type)?;
        let mut cfg = Config::default();
        if max_message != 0 {
            cfg.max_message = max_message;
        }
        if round_interval_ms != 0 {
            cfg.round_interval = Duration::from_millis(round_interval_ms);
        }
        let peer = Peer::new(ty, cfg).map_err(replica_error)?;
        let h = Box::new(pv_sync {
            peer,
            ty,
            poisoned: false,
        });
        out.write(Box::into_raw(h));
        Ok(())
    })
}

/// Frees `sync`. NULL is fine.
///
/// # Safety
/// `sync` is NULL or a live `pv_sync` from this library, freed only once and not used after.
#[no_mangle]
pub unsafe extern "C" fn pv_sync_free(sync: *mut pv_sync) {
    guard_void("pv_sync_free", || {
        if !sync.is_null() {
            // SAFETY: sync came from pv_sync_new's Box::into_raw and is freed once (contract).
            drop(unsafe { Box::from_raw(sync) });
        }
    });
}

/// The body of `pv_sync_push_<kind>`.
///
/// # Safety
/// `sync` is NULL or live and not otherwise accessed; `delta` is NULL or live.
unsafe fn push<T: KindHandle>(sync: *mut pv_sync, delta: *const T) -> FfiResult<()> {
    // SAFETY: forwarded contract.
    let d = unsafe { handle::read(delta) }?;
    // SAFETY: forwarded contract.
    unsafe {
        write(sync, |peer, ty| {
            if d.state_type() != ty {
                return Err(Fail::new(
                    pv_status::PV_TYPE_MISMATCH,
                    format!("the delta is a {}, this pv_sync syncs {ty}", d.state_type()),
                ));
            }
            peer.push(d);
            Ok(())
        })
    }
}

/// Queues the delta of a local write (from `pv_replica_mvmap_set` and the like, or any
/// `pv_mvmap` of the same types) to be sent to the peer: as one message, or as slices of it
/// when it exceeds the bound. `delta` is copied; free it when convenient. Pushing is
/// optional: anti-entropy finds what was not pushed, a round later.
///
/// Returns `PV_OK`; `PV_TYPE_MISMATCH` for a delta of other key or value types,
/// `PV_INVALID_ARGUMENT` for NULL pointers.
///
/// # Safety
/// `sync` is NULL or live and not used by another thread; `delta` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn pv_sync_push_mvmap(
    sync: *mut pv_sync,
    delta: *const pv_mvmap,
) -> pv_status {
    // SAFETY: forwarded contract (see # Safety).
    guard("pv_sync_push_mvmap", || unsafe { push(sync, delta) })
}

/// As `pv_sync_push_mvmap`, for a `pv_awset` delta.
///
/// # Safety
/// As `pv_sync_push_mvmap`.
#[no_mangle]
pub unsafe extern "C" fn pv_sync_push_awset(
    sync: *mut pv_sync,
    delta: *const pv_awset,
) -> pv_status {
    // SAFETY: forwarded contract (see # Safety).
    guard("pv_sync_push_awset", || unsafe { push(sync, delta) })
}

/// As `pv_sync_push_mvmap`, for a `pv_pncounter` delta.
///
/// # Safety
/// As `pv_sync_push_mvmap`.
#[no_mangle]
pub unsafe extern "C" fn pv_sync_push_pncounter(
    sync: *mut pv_sync,
    delta: *const pv_pncounter,
) -> pv_status {
    // SAFETY: forwarded contract (see # Safety).
    guard("pv_sync_push_pncounter", || unsafe { push(sync, delta) })
}

/// As `pv_sync_push_mvmap`, for a `pv_lwwmap` delta.
///
/// # Safety
/// As `pv_sync_push_mvmap`.
#[no_mangle]
pub unsafe extern "C" fn pv_sync_push_lwwmap(
    sync: *mut pv_sync,
    delta: *const pv_lwwmap,
) -> pv_status {
    // SAFETY: forwarded contract (see # Safety).
    guard("pv_sync_push_lwwmap", || unsafe { push(sync, delta) })
}

/// Takes one message from the peer (`len` bytes, received at `now_ms`). When it carries a
/// delta, its bytes go to `*out_delta` (free them with `pv_bytes_free`) for the caller to
/// join: `pv_replica_apply_bytes`, or `pv_<kind>_merge_bytes` for a bare state. Otherwise
/// `*out_delta` is `{NULL, 0}`. Replies are queued for `pv_sync_poll_transmit`. Pass NULL
/// for `out_delta` only to drop what the message carries. `pv_sync_handle_replica` does
/// the same and joins the delta into a replica without the bytes.
///
/// Returns `PV_OK` (also for a message dropped because the round's inbound budget is
/// spent); `PV_DECODE_ERROR` for a message that is malformed, corrupted, over the bound or
/// carries a delta that does not decode, `PV_TYPE_MISMATCH` for one of other types,
/// `PV_INVALID_ARGUMENT` for NULL pointers. A refused message is dropped and changes
/// nothing but the counts of `pv_sync_stats`.
///
/// # Safety
/// `sync` is NULL or live and not used by another thread; `bytes` points to `len` readable
/// bytes; `out_delta` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn pv_sync_handle(
    sync: *mut pv_sync,
    now_ms: u64,
    bytes: *const u8,
    len: usize,
    out_delta: *mut pv_bytes,
) -> pv_status {
    // SAFETY: forwarded contract (see # Safety).
    guard("pv_sync_handle", || unsafe {
        bytes::clear(out_delta);
        if !out_delta.is_null() {
            check_ptr(out_delta, "out_delta")?;
        }
        let msg = ptr::bytes(bytes, len, "bytes")?;
        let d = write(sync, |peer, _| {
            peer.handle(now(now_ms), msg).map_err(replica_error)
        })?;
        if let (Some(d), false) = (d, out_delta.is_null()) {
            handle::put_bytes(out_delta, &d)?;
        }
        Ok(())
    })
}

/// Takes one message from the peer as `pv_sync_handle` does, and joins the delta it
/// carries, if any, into `replica` (logged as `pv_replica_apply_bytes` logs it).
///
/// Returns `PV_OK`; the statuses of `pv_sync_handle` for a refused message (the replica is
/// then unchanged), and those of `pv_replica_apply_bytes` when the join fails.
///
/// # Safety
/// `sync` and `replica` are NULL or live and not used by another thread; `bytes` points to
/// `len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn pv_sync_handle_replica(
    sync: *mut pv_sync,
    now_ms: u64,
    bytes: *const u8,
    len: usize,
    replica: *mut pv_replica,
) -> pv_status {
    // SAFETY: forwarded contract (see # Safety).
    guard("pv_sync_handle_replica", || unsafe {
        let msg = ptr::bytes(bytes, len, "bytes")?;
        // refuse a NULL or poisoned replica before the message is consumed
        rep::read(replica)?;
        let d = write(sync, |peer, _| {
            peer.handle(now(now_ms), msg).map_err(replica_error)
        })?;
        match d {
            Some(d) => rep::write(replica, |r| r.apply(&d).map_err(replica_error)),
            None => Ok(()),
        }
    })
}

/// The body of the `pv_sync_poll_transmit` functions.
///
/// # Safety
/// `sync` is NULL or live and not otherwise accessed; `out` is NULL or writable.
unsafe fn poll<'a>(
    sync: *mut pv_sync,
    now_ms: u64,
    state: impl FnOnce() -> FfiResult<&'a AnyState>,
    out: *mut pv_bytes,
) -> FfiResult<()> {
    // SAFETY: forwarded contract.
    unsafe { bytes::clear(out) };
    check_ptr(out, "out")?;
    let state = state()?;
    // SAFETY: forwarded contract.
    let m = unsafe { write(sync, |peer, _| Ok(peer.poll_transmit(now(now_ms), state))) }?;
    if let Some(m) = m {
        // SAFETY: out was checked above.
        unsafe { bytes::give(out, m) };
    }
    Ok(())
}

/// Writes the next message to send to the peer, computed against the state of `replica` as
/// it is now, into `*out` (free it with `pv_bytes_free`), or `{NULL, 0}` when there is
/// nothing to send until the next round (`pv_sync_poll_timeout`) or the next message in:
/// `out->len != 0` says whether a message was produced (a message is never empty). Call it
/// in a loop until it gives nothing, whenever the transport can take messages: it is the
/// sender's backpressure. A due round starts here.
///
/// Returns `PV_OK`; `PV_INVALID_ARGUMENT` for NULL pointers (`*out` is then `{NULL, 0}`).
///
/// # Safety
/// `sync` is NULL or live and not used by another thread; `replica` is NULL or live and not
/// mutated during the call; `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn pv_sync_poll_transmit(
    sync: *mut pv_sync,
    now_ms: u64,
    replica: *const pv_replica,
    out: *mut pv_bytes,
) -> pv_status {
    // SAFETY: forwarded contract (see # Safety); the state is only read during the call.
    guard("pv_sync_poll_transmit", || unsafe {
        poll(sync, now_ms, || rep::read(replica).map(|r| r.state()), out)
    })
}

/// The body of `pv_sync_poll_transmit_<kind>`.
///
/// # Safety
/// As `pv_sync_poll_transmit_mvmap`.
unsafe fn poll_kind<T: KindHandle>(
    sync: *mut pv_sync,
    now_ms: u64,
    state: *const T,
    out: *mut pv_bytes,
) -> FfiResult<()> {
    // SAFETY: forwarded contract; the state is only read during the call.
    unsafe { poll(sync, now_ms, || handle::read(state), out) }
}

/// As `pv_sync_poll_transmit`, against a bare state (`pv_mvmap`) rather than a replica;
/// join what `pv_sync_handle` gives with `pv_mvmap_merge_bytes`.
///
/// # Safety
/// `sync` is NULL or live and not used by another thread; `state` is NULL or live and not
/// mutated during the call; `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn pv_sync_poll_transmit_mvmap(
    sync: *mut pv_sync,
    now_ms: u64,
    state: *const pv_mvmap,
    out: *mut pv_bytes,
) -> pv_status {
    // SAFETY: forwarded contract (see # Safety).
    guard("pv_sync_poll_transmit_mvmap", || unsafe {
        poll_kind(sync, now_ms, state, out)
    })
}

/// As `pv_sync_poll_transmit_mvmap`, against a `pv_awset`.
///
/// # Safety
/// As `pv_sync_poll_transmit_mvmap`.
#[no_mangle]
pub unsafe extern "C" fn pv_sync_poll_transmit_awset(
    sync: *mut pv_sync,
    now_ms: u64,
    state: *const pv_awset,
    out: *mut pv_bytes,
) -> pv_status {
    // SAFETY: forwarded contract (see # Safety).
    guard("pv_sync_poll_transmit_awset", || unsafe {
        poll_kind(sync, now_ms, state, out)
    })
}

/// As `pv_sync_poll_transmit_mvmap`, against a `pv_pncounter`.
///
/// # Safety
/// As `pv_sync_poll_transmit_mvmap`.
#[no_mangle]
pub unsafe extern "C" fn pv_sync_poll_transmit_pncounter(
    sync: *mut pv_sync,
    now_ms: u64,
    state: *const pv_pncounter,
    out: *mut pv_bytes,
) -> pv_status {
    // SAFETY: forwarded contract (see # Safety).
    guard("pv_sync_poll_transmit_pncounter", || unsafe {
        poll_kind(sync, now_ms, state, out)
    })
}

/// As `pv_sync_poll_transmit_mvmap`, against a `pv_lwwmap`.
///
/// # Safety
/// As `pv_sync_poll_transmit_mvmap`.
#[no_mangle]
pub unsafe extern "C" fn pv_sync_poll_transmit_lwwmap(
    sync: *mut pv_sync,
    now_ms: u64,
    state: *const pv_lwwmap,
    out: *mut pv_bytes,
) -> pv_status {
    // SAFETY: forwarded contract (see # Safety).
    guard("pv_sync_poll_transmit_lwwmap", || unsafe {
        poll_kind(sync, now_ms, state, out)
    })
}

/// Writes into `*out_ms` when the next anti-entropy round is due, on the clock of `now_ms`
/// (rounded up to a whole millisecond): the time to call `pv_sync_poll_transmit` again when
/// no message comes in before. 0 before the first `pv_sync_poll_transmit` (a round is due
/// at once).
///
/// Returns `PV_OK`; `PV_INVALID_ARGUMENT` for NULL pointers.
///
/// # Safety
/// `sync` is NULL or live; `out_ms` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn pv_sync_poll_timeout(sync: *const pv_sync, out_ms: *mut u64) -> pv_status {
    // SAFETY: forwarded contract (see # Safety).
    guard("pv_sync_poll_timeout", || unsafe {
        let s = read(sync)?;
        let t = s.peer.poll_timeout().map_or(0, |t| {
            let ms = t.as_nanos().div_ceil(1_000_000);
            u64::try_from(ms).unwrap_or(u64::MAX)
        });
        handle::put(out_ms, t)
    })
}

/// Starts an anti-entropy round at the next `pv_sync_poll_transmit` (after a reconnect,
/// say), whatever the interval.
///
/// Returns `PV_OK`; `PV_INVALID_ARGUMENT` for a NULL handle.
///
/// # Safety
/// `sync` is NULL or live and not used by another thread.
#[no_mangle]
pub unsafe extern "C" fn pv_sync_start_round(sync: *mut pv_sync) -> pv_status {
    // SAFETY: forwarded contract (see # Safety).
    guard("pv_sync_start_round", || unsafe {
        write(sync, |peer, _| {
            peer.start_round();
            Ok(())
        })
    })
}

/// Writes into `*out` whether nothing is queued for the peer (no message waiting, no work
/// pending).
///
/// Returns `PV_OK`; `PV_INVALID_ARGUMENT` for NULL pointers.
///
/// # Safety
/// `sync` is NULL or live; `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn pv_sync_is_idle(sync: *const pv_sync, out: *mut bool) -> pv_status {
    // SAFETY: forwarded contract (see # Safety).
    guard("pv_sync_is_idle", || unsafe {
        let s = read(sync)?;
        handle::put(out, s.peer.is_idle())
    })
}

/// Writes what `sync` has done so far into `*out`.
///
/// Returns `PV_OK`; `PV_INVALID_ARGUMENT` for NULL pointers.
///
/// # Safety
/// `sync` is NULL or live; `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn pv_sync_get_stats(
    sync: *const pv_sync,
    out: *mut pv_sync_stats,
) -> pv_status {
    // SAFETY: forwarded contract (see # Safety).
    guard("pv_sync_get_stats", || unsafe {
        let st = read(sync)?.peer.stats();
        let v = pv_sync_stats {
            messages_out: st.messages_out,
            bytes_out: st.bytes_out,
            messages_in: st.messages_in,
            bytes_in: st.bytes_in,
            rounds: st.rounds,
            slices_out: st.slices_out,
            deltas_in: st.deltas_in,
            bad_messages: st.bad_messages,
            throttled: st.throttled,
            dropped_work: st.dropped_work,
            oversized: st.oversized,
        };
        handle::put(out, v)
    })
}
