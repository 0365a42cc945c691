//! `pv_replica`: the C handle on a durable replica directory (`pluriverse_replica::Replica`),
//! the `pv_kind` and `pv_durability` codes, and the status of each replica error.

use std::ffi::{c_char, CStr};
use std::path::PathBuf;

use pluriverse_any::{AnyState, Kind, StateType};
use pluriverse_replica::{Durability, Options, Replica, ReplicaError};

use crate::bytes::{self, pv_bytes};
use crate::handle::{self, KindHandle, StateSource};
use crate::ptr::{self, check_ptr};
use crate::status::{guard, guard_void, pv_status, Fail, FfiResult};
use crate::value::{any_error, key_code, pv_type, pv_value, pv_values, value_code};
use crate::{awset::pv_awset, lwwmap::pv_lwwmap, mvmap::pv_mvmap, pncounter::pv_pncounter};

/// A record kind: one of the `PV_KIND_*` codes. 0 is no kind.
#[allow(
    non_camel_case_types,
    reason = "C naming: the header spells it pv_kind"
)]
pub type pv_kind = u32;

/// `MVMap` (the kind of `pv_mvmap`): a multi-value register per key.
pub const PV_KIND_MVMAP: pv_kind = 1;
/// `AWSet` (the kind of `pv_awset`): an add-wins set.
pub const PV_KIND_AWSET: pv_kind = 2;
/// `PNCounterMap` (the kind of `pv_pncounter`): a counter per key.
pub const PV_KIND_PNCOUNTER: pv_kind = 3;
/// `LWWMap` (the kind of `pv_lwwmap`): last writer wins per key.
pub const PV_KIND_LWWMAP: pv_kind = 4;

/// What a write that returned `PV_OK` survives: one of the `PV_DURABILITY_*` codes. 0 is
/// no setting.
#[allow(
    non_camel_case_types,
    reason = "C naming: the header spells it pv_durability"
)]
pub type pv_durability = u32;

/// The record is handed to the operating system before the write returns: it survives a
/// crash or kill of the process, not a power loss.
pub const PV_DURABILITY_BUFFERED: pv_durability = 1;
/// The log is `fdatasync`ed before the write returns: the write survives power loss.
pub const PV_DURABILITY_SYNCED: pv_durability = 2;
/// Group commit: written as for `PV_DURABILITY_BUFFERED`, durable against power loss once
/// `pv_replica_sync` returns (one `fdatasync` acknowledges a whole batch).
pub const PV_DURABILITY_GROUP: pv_durability = 3;

/// What a replica write did: the counters it was given (the events `writer:first` ..
/// `writer:last` of the incarnation `pv_replica_writer` names) and whether it is durable
/// against power loss yet.
#[allow(
    non_camel_case_types,
    reason = "C naming: the header spells it pv_written"
)]
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct pv_written {
    /// The first counter the write took; 0 when it took none (a remove).
    pub first: u64,
    /// The last counter the write took (`first` for a single write); 0 when it took none.
    pub last: u64,
    /// Whether the write is durable against power loss now (`PV_DURABILITY_SYNCED`), or
    /// becomes so at the next `pv_replica_sync` (the other settings).
    pub durable: bool,
}

impl pv_written {
    const ZERO: pv_written = pv_written {
        first: 0,
        last: 0,
        durable: false,
    };
}

/// A replica that lives in a directory: a snapshot plus a checksummed append-only log of
/// every write and received delta. It survives its process, writes under a fresh
/// incarnation of its name at every open (so an event is never issued twice, whatever
/// happened to the files), and is open through one handle at a time.
///
/// Opaque: made by `pv_replica_create` or `pv_replica_open`, released by `pv_replica_close`
/// (syncs first) or `pv_replica_free`. Reads (`pv_replica_get`, `pv_replica_digest`, ...)
/// copy what they return out of the replica: nothing they give stays tied to it.
#[allow(
    non_camel_case_types,
    reason = "C naming: the header spells it pv_replica"
)]
pub struct pv_replica {
    replica: Replica,
    /// A panic left the replica half-changed: only `pv_replica_free` is allowed.
    poisoned: bool,
}

/// The kind a `pv_kind` code names.
pub(crate) fn kind(k: pv_kind) -> FfiResult<Kind> {
    Ok(match k {
        PV_KIND_MVMAP => Kind::MVMap,
        PV_KIND_AWSET => Kind::AWSet,
        PV_KIND_PNCOUNTER => Kind::PNCounterMap,
        PV_KIND_LWWMAP => Kind::LWWMap,
        _ => {
            return Err(Fail::invalid(format!(
                "kind {k} is not a kind (PV_KIND_MVMAP, _AWSET, _PNCOUNTER or _LWWMAP)"
            )))
        }
    })
}

/// The `pv_kind` code of a kind.
pub(crate) fn kind_code(k: Kind) -> pv_kind {
    match k {
        Kind::MVMap => PV_KIND_MVMAP,
        Kind::AWSet => PV_KIND_AWSET,
        Kind::PNCounterMap => PV_KIND_PNCOUNTER,
        Kind::LWWMap => PV_KIND_LWWMAP,
    }
}

/// The state type of `kind` with key type `key` and value type `value` (0 for the kinds
/// without values).
pub(crate) fn state_type(k: pv_kind, key: pv_type, value: pv_type) -> FfiResult<StateType> {
    let k = kind(k)?;
    let key = crate::value::key_type(key)?;
    let value = if value == 0 {
        None
    } else {
        Some(crate::value::value_type(value)?)
    };
    StateType::new(k, key, value).map_err(any_error)
}

fn durability(d: pv_durability) -> FfiResult<Durability> {
    Ok(match d {
        PV_DURABILITY_BUFFERED => Durability::Buffered,
        PV_DURABILITY_SYNCED => Durability::Synced,
        PV_DURABILITY_GROUP => Durability::Group,
        _ => {
            return Err(Fail::invalid(format!(
                "durability {d} is not a setting (PV_DURABILITY_BUFFERED, _SYNCED or _GROUP)"
            )))
        }
    })
}

/// The status of a replica error (a state error keeps the status it has everywhere else).
pub(crate) fn replica_error(e: ReplicaError) -> Fail {
    let status = match e {
        ReplicaError::State(a) => return any_error(a),
        ReplicaError::Locked { .. } => pv_status::PV_LOCKED,
        ReplicaError::Corrupt { .. } => pv_status::PV_CORRUPT,
        ReplicaError::NotAReplica { .. } => pv_status::PV_NOT_A_REPLICA,
        ReplicaError::AlreadyExists { .. } => pv_status::PV_ALREADY_EXISTS,
        ReplicaError::Io { .. } => pv_status::PV_IO,
        ReplicaError::ForeignClaim { .. } => pv_status::PV_FOREIGN_CLAIM,
        ReplicaError::Poisoned => pv_status::PV_POISONED,
        ReplicaError::Message(_) => pv_status::PV_DECODE_ERROR,
        ReplicaError::Config(_) => pv_status::PV_INVALID_ARGUMENT,
        _ => pv_status::PV_ERROR,
    };
    Fail::new(status, e.to_string())
}

/// A path from a NUL-terminated string (any bytes on Unix, UTF-8 elsewhere).
///
/// # Safety
/// `path` is NULL or a NUL-terminated string.
unsafe fn path_arg(path: *const c_char) -> FfiResult<PathBuf> {
    if path.is_null() {
        return Err(Fail::invalid("path is NULL"));
    }
    // SAFETY: non-NULL and NUL-terminated (caller contract).
    let c = unsafe { CStr::from_ptr(path) };
    if c.is_empty() {
        return Err(Fail::invalid("path is empty"));
    }
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        Ok(PathBuf::from(std::ffi::OsStr::from_bytes(c.to_bytes())))
    }
    #[cfg(not(unix))]
    {
        let s = c
            .to_str()
            .map_err(|e| Fail::invalid(format!("path is not valid UTF-8: {e}")))?;
        Ok(PathBuf::from(s))
    }
}

fn poisoned() -> Fail {
    Fail::new(
        pv_status::PV_PANIC,
        "this pv_replica was left inconsistent by an earlier panic; only pv_replica_free is \
         allowed",
    )
}

/// The replica behind `p`, for reading.
///
/// # Safety
/// `p` is NULL or a live handle not mutated during the call.
pub(crate) unsafe fn read<'a>(p: *const pv_replica) -> FfiResult<&'a Replica> {
    // SAFETY: forwarded contract.
    let h = unsafe { ptr::handle(p, "replica") }?;
    if h.poisoned {
        return Err(poisoned());
    }
    Ok(&h.replica)
}

impl StateSource for pv_replica {
    unsafe fn state<'a>(p: *const Self) -> FfiResult<&'a AnyState> {
        // SAFETY: forwarded contract.
        Ok(unsafe { read(p) }?.state())
    }
}

/// Runs `f` on the replica behind `p`; a panic inside `f` poisons the handle.
///
/// # Safety
/// `p` is NULL or a live handle not otherwise accessed during the call.
pub(crate) unsafe fn write<R>(
    p: *mut pv_replica,
    f: impl FnOnce(&mut Replica) -> FfiResult<R>,
) -> FfiResult<R> {
    // SAFETY: forwarded contract.
    let h = unsafe { ptr::handle_mut(p, "replica") }?;
    if h.poisoned {
        return Err(poisoned());
    }
    h.poisoned = true;
    let r = f(&mut h.replica);
    h.poisoned = false;
    r
}

fn options(d: pv_durability) -> FfiResult<Options> {
    Ok(Options {
        durability: durability(d)?,
        ..Options::default()
    })
}

/// Creates a replica named `name` (`name_len` bytes, usually UTF-8 text) in the directory
/// `path` (created if missing; it must not hold a replica yet) and opens it. Its states are
/// of kind `kind` (a `PV_KIND_*` code) with keys of type `key_type` and, for
/// `PV_KIND_MVMAP` and `PV_KIND_LWWMAP`, values of type `value_type` (`PV_TYPE_*` codes;
/// pass 0 for the other kinds). `durability` (a `PV_DURABILITY_*` code) says what a write
/// that returned `PV_OK` survives.
///
/// A name is the replica's identity: give each directory its own. The handle writes as a
/// fresh incarnation of it (`pv_replica_writer`).
///
/// Returns `PV_OK` and the handle in `*out` (release it with `pv_replica_close` or
/// `pv_replica_free`); `PV_ALREADY_EXISTS` when the directory holds a replica,
/// `PV_LOCKED` when another handle has it open, `PV_IO` when a file cannot be made,
/// `PV_INVALID_ARGUMENT` for NULL pointers, an empty path, or codes that are not a kind,
/// key type, value type (or a value type given to a kind without values) or durability.
/// On failure `*out` is NULL.
///
/// # Safety
/// `path` is NULL or a NUL-terminated string; `name` points to `name_len` readable bytes;
/// `out` is NULL or writable.
#[no_mangle]
#[allow(
    clippy::too_many_arguments,
    reason = "C has no struct literals worth the ceremony here"
)]
pub unsafe extern "C" fn pv_replica_create(
    path: *const c_char,
    name: *const u8,
    name_len: usize,
    kind: pv_kind,
    key_type: pv_type,
    value_type: pv_type,
    durability: pv_durability,
    out: *mut *mut pv_replica,
) -> pv_status {
    // SAFETY: forwarded contract (see # Safety).
    guard("pv_replica_create", || unsafe {
        handle::out_handle(out)?;
        let path = path_arg(path)?;
        let name = ptr::bytes(name, name_len, "name")?;
        if name.is_empty() {
            return Err(Fail::invalid("name is empty"));
        }
        let ty = state_type(kind, key_type, value_type)?;
        let opts = options(durability)?;
        let replica = Replica::create(&path, name, ty, opts).map_err(replica_error)?;
        give(out, replica);
        Ok(())
    })
}

/// Opens the replica in the directory `path`: its newest snapshot plus the logs after it
/// (a torn tail of the last log, left by a crash mid-write, is cut), under a fresh
/// incarnation of its name. `durability` as in `pv_replica_create`.
///
/// Returns `PV_OK` and the handle in `*out`; `PV_LOCKED` when another handle (in this or
/// another process) has the directory open, `PV_NOT_A_REPLICA` when it holds no replica,
/// `PV_CORRUPT` when a file is damaged (the message names the file and offset), `PV_IO`,
/// `PV_INVALID_ARGUMENT` for NULL pointers, an empty path or a bad durability code. On
/// failure `*out` is NULL and nothing in the directory changed.
///
/// # Safety
/// `path` is NULL or a NUL-terminated string; `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn pv_replica_open(
    path: *const c_char,
    durability: pv_durability,
    out: *mut *mut pv_replica,
) -> pv_status {
    // SAFETY: forwarded contract (see # Safety).
    guard("pv_replica_open", || unsafe {
        handle::out_handle(out)?;
        let path = path_arg(path)?;
        let opts = options(durability)?;
        let replica = Replica::open(&path, opts).map_err(replica_error)?;
        give(out, replica);
        Ok(())
    })
}

/// Boxes `replica` into `*out`.
///
/// # Safety
/// `out` was checked by `handle::out_handle`.
unsafe fn give(out: *mut *mut pv_replica, replica: Replica) {
    let h = Box::new(pv_replica {
        replica,
        poisoned: false,
    });
    // SAFETY: out is non-NULL, aligned and writable (checked by out_handle).
    unsafe { out.write(Box::into_raw(h)) };
}

/// Releases `replica` without syncing (what `Buffered` and `Group` writes not yet synced
/// survive is what they would survive a crash of the process). NULL is fine. The directory
/// can be opened again once this returns.
///
/// # Safety
/// `replica` is NULL or a live `pv_replica` from this library, freed only once and not used
/// after.
#[no_mangle]
pub unsafe extern "C" fn pv_replica_free(replica: *mut pv_replica) {
    guard_void("pv_replica_free", || {
        if !replica.is_null() {
            // SAFETY: replica came from give's Box::into_raw and is freed once (contract).
            drop(unsafe { Box::from_raw(replica) });
        }
    });
}

/// Syncs the log (as `pv_replica_sync`) and releases `replica`, which is freed whatever the
/// status. NULL is fine (`PV_OK`).
///
/// Returns `PV_OK`; `PV_IO` when the sync failed (writes not yet synced may then be lost
/// to a power loss), `PV_POISONED` after an earlier failed write.
///
/// # Safety
/// As `pv_replica_free`.
#[no_mangle]
pub unsafe extern "C" fn pv_replica_close(replica: *mut pv_replica) -> pv_status {
    guard("pv_replica_close", || {
        if replica.is_null() {
            return Ok(());
        }
        // SAFETY: replica came from give's Box::into_raw and is freed once (contract).
        let h = unsafe { Box::from_raw(replica) };
        if h.poisoned {
            return Err(poisoned());
        }
        h.replica.close().map_err(replica_error)
    })
}

/// The body of a replica write of kind `T`: clears the outputs, checks the kind, writes
/// (to the log before returning), and hands out the delta and what the write took.
///
/// # Safety
/// `r` is NULL or live and not otherwise accessed; `out_delta` and `out_written` are NULL
/// or writable.
unsafe fn write_kind<T: KindHandle>(
    r: *mut pv_replica,
    out_delta: *mut *mut T,
    out_written: *mut pv_written,
    f: impl FnOnce(&mut AnyState) -> pluriverse_any::Result<AnyState>,
) -> FfiResult<()> {
    if !out_delta.is_null() {
        // SAFETY: forwarded contract.
        unsafe { handle::out_handle(out_delta) }?;
    }
    if !out_written.is_null() {
        check_ptr(out_written, "out_written")?;
        // SAFETY: non-NULL, aligned and writable (caller contract).
        unsafe { out_written.write(pv_written::ZERO) };
    }
    // SAFETY: forwarded contract.
    let w = unsafe {
        write(r, |rep| {
            let found = rep.state().state_type().kind;
            if found != T::KIND {
                return Err(Fail::new(
                    pv_status::PV_TYPE_MISMATCH,
                    format!("the replica holds a {found}, not a {}", T::KIND),
                ));
            }
            rep.write(f).map_err(replica_error)
        })
    }?;
    if !out_written.is_null() {
        let (first, last) = w.dots.unwrap_or((0, 0));
        let info = pv_written {
            first,
            last,
            durable: w.durable,
        };
        // SAFETY: checked above.
        unsafe { out_written.write(info) };
    }
    if !out_delta.is_null() {
        // SAFETY: checked by out_handle above.
        unsafe { handle::give_handle(out_delta, w.delta) };
    }
    Ok(())
}

/// Sets `key` to `value` in a replica of kind `PV_KIND_MVMAP` (as `pv_mvmap_set`), logged
/// under the replica's durability before this returns.
///
/// The delta to ship to peers goes to `*out_delta` as a new `pv_mvmap` (its bytes come from
/// `pv_mvmap_to_bytes`, `pv_sync_push_mvmap` queues it; free it with `pv_mvmap_free`); what
/// the write took goes to `*out_written`. Pass NULL for either when it is not wanted.
///
/// Returns `PV_OK`; `PV_TYPE_MISMATCH` for a replica of another kind or a key or value of
/// another type, `PV_OVERFLOW` when the event counter is exhausted, `PV_IO` when the log
/// cannot be written (the handle is then poisoned: reopen the directory),
/// `PV_POISONED` after such a failure, `PV_INVALID_ARGUMENT` for a NULL handle or an
/// invalid `pv_value`. On failure the replica is unchanged (but after `PV_IO`), `*out_delta`
/// is NULL and `*out_written` is zero.
///
/// # Safety
/// `replica` is NULL or live and not used by another thread; `key` and `value` name
/// readable bytes; `out_delta` and `out_written` are NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn pv_replica_mvmap_set(
    replica: *mut pv_replica,
    key: pv_value,
    value: pv_value,
    out_delta: *mut *mut pv_mvmap,
    out_written: *mut pv_written,
) -> pv_status {
    // SAFETY: forwarded contract (see # Safety).
    guard("pv_replica_mvmap_set", || unsafe {
        let key = handle::scalar(key, "key")?;
        let value = handle::scalar(value, "value")?;
        write_kind(replica, out_delta, out_written, |s| s.set(key, value))
    })
}

/// Removes the values of `key` the replica has seen (as `pv_mvmap_remove`). Outputs and
/// statuses as in `pv_replica_mvmap_set` (a remove takes no counter).
///
/// # Safety
/// As `pv_replica_mvmap_set`.
#[no_mangle]
pub unsafe extern "C" fn pv_replica_mvmap_remove(
    replica: *mut pv_replica,
    key: pv_value,
    out_delta: *mut *mut pv_mvmap,
    out_written: *mut pv_written,
) -> pv_status {
    // SAFETY: forwarded contract (see # Safety).
    guard("pv_replica_mvmap_remove", || unsafe {
        let key = handle::scalar(key, "key")?;
        write_kind(replica, out_delta, out_written, |s| s.remove(key))
    })
}

/// Adds `elem` to a replica of kind `PV_KIND_AWSET` (as `pv_awset_add`). The delta comes
/// as a new `pv_awset`; outputs and statuses as in `pv_replica_mvmap_set`.
///
/// # Safety
/// As `pv_replica_mvmap_set`.
#[no_mangle]
pub unsafe extern "C" fn pv_replica_awset_add(
    replica: *mut pv_replica,
    elem: pv_value,
    out_delta: *mut *mut pv_awset,
    out_written: *mut pv_written,
) -> pv_status {
    // SAFETY: forwarded contract (see # Safety).
    guard("pv_replica_awset_add", || unsafe {
        let elem = handle::scalar(elem, "elem")?;
        write_kind(replica, out_delta, out_written, |s| s.add(elem))
    })
}

/// Removes the adds of `elem` the replica has seen (as `pv_awset_remove`). Outputs and
/// statuses as in `pv_replica_awset_add`.
///
/// # Safety
/// As `pv_replica_mvmap_set`.
#[no_mangle]
pub unsafe extern "C" fn pv_replica_awset_remove(
    replica: *mut pv_replica,
    elem: pv_value,
    out_delta: *mut *mut pv_awset,
    out_written: *mut pv_written,
) -> pv_status {
    // SAFETY: forwarded contract (see # Safety).
    guard("pv_replica_awset_remove", || unsafe {
        let elem = handle::scalar(elem, "elem")?;
        write_kind(replica, out_delta, out_written, |s| s.remove(elem))
    })
}

/// Adds `n` to the counter of `key` in a replica of kind `PV_KIND_PNCOUNTER` (as
/// `pv_pncounter_increment`). The delta comes as a new `pv_pncounter`; outputs and
/// statuses as in `pv_replica_mvmap_set` (`PV_OVERFLOW` also when the running total of
/// increments would pass `UINT64_MAX`).
///
/// # Safety
/// As `pv_replica_mvmap_set`.
#[no_mangle]
pub unsafe extern "C" fn pv_replica_pncounter_increment(
    replica: *mut pv_replica,
    key: pv_value,
    n: u64,
    out_delta: *mut *mut pv_pncounter,
    out_written: *mut pv_written,
) -> pv_status {
    // SAFETY: forwarded contract (see # Safety).
    guard("pv_replica_pncounter_increment", || unsafe {
        let key = handle::scalar(key, "key")?;
        write_kind(replica, out_delta, out_written, |s| s.increment(key, n))
    })
}

/// Subtracts `n` from the counter of `key` (as `pv_pncounter_decrement`). Outputs and
/// statuses as in `pv_replica_pncounter_increment`.
///
/// # Safety
/// As `pv_replica_mvmap_set`.
#[no_mangle]
pub unsafe extern "C" fn pv_replica_pncounter_decrement(
    replica: *mut pv_replica,
    key: pv_value,
    n: u64,
    out_delta: *mut *mut pv_pncounter,
    out_written: *mut pv_written,
) -> pv_status {
    // SAFETY: forwarded contract (see # Safety).
    guard("pv_replica_pncounter_decrement", || unsafe {
        let key = handle::scalar(key, "key")?;
        write_kind(replica, out_delta, out_written, |s| s.decrement(key, n))
    })
}

/// Sets `key` to `value` at `timestamp` in a replica of kind `PV_KIND_LWWMAP` (as
/// `pv_lwwmap_set`). The delta comes as a new `pv_lwwmap`; outputs and statuses as in
/// `pv_replica_mvmap_set`.
///
/// # Safety
/// As `pv_replica_mvmap_set`.
#[no_mangle]
pub unsafe extern "C" fn pv_replica_lwwmap_set(
    replica: *mut pv_replica,
    key: pv_value,
    value: pv_value,
    timestamp: u64,
    out_delta: *mut *mut pv_lwwmap,
    out_written: *mut pv_written,
) -> pv_status {
    // SAFETY: forwarded contract (see # Safety).
    guard("pv_replica_lwwmap_set", || unsafe {
        let key = handle::scalar(key, "key")?;
        let value = handle::scalar(value, "value")?;
        write_kind(replica, out_delta, out_written, |s| {
            s.set_at(key, value, timestamp)
        })
    })
}

/// Removes `key` at `timestamp` (as `pv_lwwmap_remove`). Outputs and statuses as in
/// `pv_replica_lwwmap_set`.
///
/// # Safety
/// As `pv_replica_mvmap_set`.
#[no_mangle]
pub unsafe extern "C" fn pv_replica_lwwmap_remove(
    replica: *mut pv_replica,
    key: pv_value,
    timestamp: u64,
    out_delta: *mut *mut pv_lwwmap,
    out_written: *mut pv_written,
) -> pv_status {
    // SAFETY: forwarded contract (see # Safety).
    guard("pv_replica_lwwmap_remove", || unsafe {
        let key = handle::scalar(key, "key")?;
        write_kind(replica, out_delta, out_written, |s| {
            s.remove_at(key, timestamp)
        })
    })
}

/// Joins a delta or whole state received from a peer, given as bytes (from
/// `pv_sync_handle`, a `_to_bytes` or a mutator of any replica of the same type), into
/// `replica` and logs it (buffered: a received delta lost to a power loss is fetched again
/// by anti-entropy).
///
/// Returns `PV_OK`; `PV_DECODE_ERROR` for bad bytes, `PV_TYPE_MISMATCH` for bytes of
/// another kind or types, `PV_FOREIGN_CLAIM` for a delta claiming events of this
/// incarnation it never issued, `PV_IO` (the handle is then poisoned), `PV_POISONED`,
/// `PV_INVALID_ARGUMENT` for NULL pointers. On failure (but `PV_IO`) the replica is
/// unchanged.
///
/// # Safety
/// `replica` is NULL or live and not used by another thread; `bytes` points to `len`
/// readable bytes.
#[no_mangle]
pub unsafe extern "C" fn pv_replica_apply_bytes(
    replica: *mut pv_replica,
    bytes: *const u8,
    len: usize,
) -> pv_status {
    // SAFETY: forwarded contract (see # Safety).
    guard("pv_replica_apply_bytes", || unsafe {
        let bytes = ptr::bytes(bytes, len, "bytes")?;
        write(replica, |r| r.apply_bytes(bytes).map_err(replica_error))
    })
}

/// Makes every write so far durable against power loss (`fdatasync` of the log; nothing
/// to do when nothing is unsynced). Under `PV_DURABILITY_GROUP` this acknowledges a batch.
///
/// Returns `PV_OK`; `PV_IO` (the handle is then poisoned), `PV_POISONED`,
/// `PV_INVALID_ARGUMENT` for a NULL handle.
///
/// # Safety
/// `replica` is NULL or live and not used by another thread.
#[no_mangle]
pub unsafe extern "C" fn pv_replica_sync(replica: *mut pv_replica) -> pv_status {
    // SAFETY: forwarded contract (see # Safety).
    guard("pv_replica_sync", || unsafe {
        write(replica, |r| r.sync().map_err(replica_error))
    })
}

/// Folds the log into a new snapshot now (atomically: a kill at any point leaves a
/// directory that opens to the same state). Replicas also fold by themselves when the log
/// passes 64 MiB.
///
/// Returns `PV_OK`; `PV_IO` (the handle is then poisoned; the directory still opens to the
/// same state), `PV_POISONED`, `PV_INVALID_ARGUMENT` for a NULL handle.
///
/// # Safety
/// `replica` is NULL or live and not used by another thread.
#[no_mangle]
pub unsafe extern "C" fn pv_replica_fold(replica: *mut pv_replica) -> pv_status {
    // SAFETY: forwarded contract (see # Safety).
    guard("pv_replica_fold", || unsafe {
        write(replica, |r| r.fold().map_err(replica_error))
    })
}

/// Writes the 128-bit digest of the replica's state into `out[0..16]`, big-endian (as
/// `pv_mvmap_digest`): replicas that hold equal states have equal digests.
///
/// Returns `PV_OK`; `PV_INVALID_ARGUMENT` for NULL pointers.
///
/// # Safety
/// `replica` is NULL or live; `out` is NULL or writable for 16 bytes.
#[no_mangle]
pub unsafe extern "C" fn pv_replica_digest(replica: *const pv_replica, out: *mut u8) -> pv_status {
    // SAFETY: forwarded contract (see # Safety).
    guard("pv_replica_digest", || unsafe {
        handle::digest(replica, out)
    })
}

/// Writes the whole state of the replica as bytes (as `pv_mvmap_to_bytes`) into `*out`; free
/// them with `pv_bytes_free`. `pv_<kind>_from_bytes` makes a handle of them: a copy for
/// reads that the replica's later writes do not change.
///
/// Returns `PV_OK`; `PV_INVALID_ARGUMENT` for NULL pointers (`*out` is then `{NULL, 0}`).
///
/// # Safety
/// `replica` is NULL or live; `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn pv_replica_to_bytes(
    replica: *const pv_replica,
    out: *mut pv_bytes,
) -> pv_status {
    // SAFETY: forwarded contract (see # Safety).
    guard("pv_replica_to_bytes", || unsafe {
        handle::to_bytes(replica, out)
    })
}

/// Writes the number of keys (elements, for a set) the replica holds into `*out`.
///
/// Returns `PV_OK`; `PV_INVALID_ARGUMENT` for NULL pointers.
///
/// # Safety
/// `replica` is NULL or live; `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn pv_replica_len(replica: *const pv_replica, out: *mut usize) -> pv_status {
    // SAFETY: forwarded contract (see # Safety).
    guard("pv_replica_len", || unsafe { handle::len(replica, out) })
}

/// Writes into `*out` whether the replica holds the key (or element) `key`.
///
/// Returns `PV_OK`; `PV_TYPE_MISMATCH` for a key of another type, `PV_INVALID_ARGUMENT` for
/// NULL pointers or an invalid `pv_value`.
///
/// # Safety
/// `replica` is NULL or live; `key` names readable bytes; `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn pv_replica_contains(
    replica: *const pv_replica,
    key: pv_value,
    out: *mut bool,
) -> pv_status {
    // SAFETY: forwarded contract (see # Safety).
    guard("pv_replica_contains", || unsafe {
        handle::contains(replica, key, out)
    })
}

/// Writes the values of `key` into a new list `*out` (a copy: it outlives later writes and
/// the replica itself): for `PV_KIND_MVMAP` the concurrent values (as `pv_mvmap_get`), for
/// `PV_KIND_LWWMAP` the winning value, if any (as `pv_lwwmap_get`). Read it with
/// `pv_values_len` and `pv_values_get`; free it with `pv_values_free`.
///
/// Returns `PV_OK`; `PV_TYPE_MISMATCH` for a replica of another kind or a key of another
/// type, `PV_INVALID_ARGUMENT` for NULL pointers or an invalid `pv_value`. On failure
/// `*out` is NULL.
///
/// # Safety
/// `replica` is NULL or live; `key` names readable bytes; `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn pv_replica_get(
    replica: *const pv_replica,
    key: pv_value,
    out: *mut *mut pv_values,
) -> pv_status {
    // SAFETY: forwarded contract (see # Safety).
    guard("pv_replica_get", || unsafe {
        handle::get(replica, key, out, |s, k| s.get(k).map_err(any_error))
    })
}

/// Writes the value of the counter of `key` in a replica of kind `PV_KIND_PNCOUNTER` (as
/// `pv_pncounter_value`; 0 when absent) into `*out`.
///
/// Returns `PV_OK`; `PV_OVERFLOW` when the value does not fit `int64_t` (`*out` is then
/// unchanged), `PV_TYPE_MISMATCH` for a replica of another kind or a key of another type,
/// `PV_INVALID_ARGUMENT` for NULL pointers or an invalid `pv_value`.
///
/// # Safety
/// `replica` is NULL or live; `key` names readable bytes; `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn pv_replica_pncounter_value(
    replica: *const pv_replica,
    key: pv_value,
    out: *mut i64,
) -> pv_status {
    // SAFETY: forwarded contract (see # Safety).
    guard("pv_replica_pncounter_value", || unsafe {
        handle::value(replica, key, out)
    })
}

/// `pv_pncounter_value_i128` for a replica: the value of the counter of `key` over its whole
/// range as two halves, `out_hi * 2^64 + out_lo`.
///
/// Returns `PV_OK`; `PV_TYPE_MISMATCH` for a key of another type or a replica of another
/// kind, `PV_INVALID_ARGUMENT` for NULL pointers or an invalid `pv_value`.
///
/// # Safety
/// `replica` is NULL or live; `key` names readable bytes; `out_hi`, `out_lo` are NULL or
/// writable.
#[no_mangle]
pub unsafe extern "C" fn pv_replica_pncounter_value_i128(
    replica: *const pv_replica,
    key: pv_value,
    out_hi: *mut i64,
    out_lo: *mut u64,
) -> pv_status {
    // SAFETY: forwarded contract (see # Safety).
    guard("pv_replica_pncounter_value_i128", || unsafe {
        handle::value_i128(replica, key, out_hi, out_lo)
    })
}

/// Writes the replica's kind (a `PV_KIND_*` code), key type and value type (`PV_TYPE_*`
/// codes; 0 for the kinds without values) into `*out_kind`, `*out_key_type` and
/// `*out_value_type`; pass NULL for any that is not wanted.
///
/// Returns `PV_OK`; `PV_INVALID_ARGUMENT` for a NULL handle or a misaligned output.
///
/// # Safety
/// `replica` is NULL or live; each output is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn pv_replica_type(
    replica: *const pv_replica,
    out_kind: *mut pv_kind,
    out_key_type: *mut pv_type,
    out_value_type: *mut pv_type,
) -> pv_status {
    // SAFETY: forwarded contract (see # Safety).
    guard("pv_replica_type", || unsafe {
        let t = read(replica)?.state().state_type();
        let v = t.value.map_or(0, value_code);
        for (p, x) in [
            (out_kind, kind_code(t.kind)),
            (out_key_type, key_code(t.key)),
            (out_value_type, v),
        ] {
            if !p.is_null() {
                handle::put(p, x)?;
            }
        }
        Ok(())
    })
}

/// Writes the replica's name (what `pv_replica_create` was given) into `*out`; free the
/// bytes with `pv_bytes_free`.
///
/// Returns `PV_OK`; `PV_INVALID_ARGUMENT` for NULL pointers (`*out` is then `{NULL, 0}`).
///
/// # Safety
/// `replica` is NULL or live; `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn pv_replica_name(
    replica: *const pv_replica,
    out: *mut pv_bytes,
) -> pv_status {
    // SAFETY: forwarded contract (see # Safety).
    guard("pv_replica_name", || unsafe {
        bytes::clear(out);
        let r = read(replica)?;
        check_ptr(out, "out")?;
        bytes::give(out, r.name().as_bytes().to_vec());
        Ok(())
    })
}

/// Writes the incarnation this handle writes as (`name#<16 hex digits>`, fresh at every
/// open) into `*out`; free the bytes with `pv_bytes_free`. The counters of `pv_written` are
/// this incarnation's.
///
/// Returns `PV_OK`; `PV_INVALID_ARGUMENT` for NULL pointers (`*out` is then `{NULL, 0}`).
///
/// # Safety
/// `replica` is NULL or live; `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn pv_replica_writer(
    replica: *const pv_replica,
    out: *mut pv_bytes,
) -> pv_status {
    // SAFETY: forwarded contract (see # Safety).
    guard("pv_replica_writer", || unsafe {
        bytes::clear(out);
        let r = read(replica)?;
        check_ptr(out, "out")?;
        bytes::give(out, r.writer().as_bytes().to_vec());
        Ok(())
    })
}
