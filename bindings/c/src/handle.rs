//! What the four handle types share: a state of the dynamic-typed layer plus a poison flag,
//! and the generic bodies of the functions every kind exports (`_from_bytes`, `_free`,
//! `_to_bytes`, `_merge`, `_context`, `_delta_since`, `_digest`, `_len`, ...).

use pluriverse::CausalContext;
use pluriverse_any::{AnyError, AnyState, Kind, Scalar, StateType};

use crate::bytes::{self, pv_bytes};
use crate::ptr::{self, check_ptr};
use crate::status::{pv_status, Fail, FfiResult};
use crate::value::{any_error, key_code, pv_type, pv_value, pv_values, value_code};

/// A state and whether a panic left it half-changed (then only `_free` is allowed).
#[derive(Debug)]
pub(crate) struct Handle {
    state: AnyState,
    poisoned: bool,
}

/// One of the opaque handle types (`pv_mvmap`, `pv_awset`, `pv_pncounter`, `pv_lwwmap`).
pub(crate) trait KindHandle: Sized + 'static {
    /// The kind every handle of this type holds.
    const KIND: Kind;
    /// The C name of the type, for messages.
    const NAME: &'static str;
    /// Wraps a handle.
    fn wrap(h: Handle) -> Self;
    /// The handle.
    fn get(&self) -> &Handle;
    /// The handle, mutably.
    fn get_mut(&mut self) -> &mut Handle;
}

/// What the read functions read a state through: a kind handle (`pv_mvmap`, ...) or a
/// replica (`pv_replica`, whose state is its replica's). The bodies of `_digest`, `_len`,
/// `_contains`, `_get`, `_to_bytes` and the counter reads are written once over it.
pub(crate) trait StateSource: 'static {
    /// The state behind `p`, refusing a poisoned handle.
    ///
    /// # Safety
    /// `p` is NULL or live and not mutated during the call.
    unsafe fn state<'a>(p: *const Self) -> FfiResult<&'a AnyState>;
}

/// Implements [`KindHandle`] for a handle type declared as `pub struct pv_<kind>(Handle);`
/// (the declaration itself stays outside the macro, where cbindgen reads it).
macro_rules! kind_handle {
    ($t:ident, $kind:ident) => {
        impl $crate::handle::KindHandle for $t {
            const KIND: ::pluriverse_any::Kind = ::pluriverse_any::Kind::$kind;
            const NAME: &'static str = stringify!($t);
            fn wrap(h: $crate::handle::Handle) -> Self {
                Self(h)
            }
            fn get(&self) -> &$crate::handle::Handle {
                &self.0
            }
            fn get_mut(&mut self) -> &mut $crate::handle::Handle {
                &mut self.0
            }
        }

        impl $crate::handle::StateSource for $t {
            unsafe fn state<'a>(
                p: *const Self,
            ) -> $crate::status::FfiResult<&'a ::pluriverse_any::AnyState> {
                // SAFETY: forwarded contract.
                unsafe { $crate::handle::read(p) }
            }
        }
    };
}
pub(crate) use kind_handle;

fn poisoned<T: KindHandle>() -> Fail {
    Fail::new(
        pv_status::PV_PANIC,
        format!(
            "this {} was left inconsistent by an earlier panic; only {}_free is allowed",
            T::NAME,
            T::NAME
        ),
    )
}

/// Reads the state behind `p`.
///
/// # Safety
/// `p` is NULL or a live handle not mutated during the call.
pub(crate) unsafe fn read<'a, T: KindHandle>(p: *const T) -> FfiResult<&'a AnyState> {
    // SAFETY: forwarded contract.
    let h = unsafe { ptr::handle(p, T::NAME) }?.get();
    if h.poisoned {
        return Err(poisoned::<T>());
    }
    Ok(&h.state)
}

/// Runs `f` on the state behind `p`; a panic inside `f` poisons the handle.
///
/// # Safety
/// `p` is NULL or a live handle not otherwise accessed during the call.
pub(crate) unsafe fn write<T: KindHandle, R>(
    p: *mut T,
    f: impl FnOnce(&mut AnyState) -> FfiResult<R>,
) -> FfiResult<R> {
    // SAFETY: forwarded contract.
    let h = unsafe { ptr::handle_mut(p, T::NAME) }?.get_mut();
    if h.poisoned {
        return Err(poisoned::<T>());
    }
    h.poisoned = true;
    let r = f(&mut h.state);
    h.poisoned = false;
    r
}

/// Checks `out` and sets `*out` to NULL.
///
/// # Safety
/// `out` is NULL or writable.
pub(crate) unsafe fn out_handle<T>(out: *mut *mut T) -> FfiResult<()> {
    check_ptr(out, "out")?;
    // SAFETY: out is non-NULL, aligned and writable (caller contract).
    unsafe { out.write(std::ptr::null_mut()) };
    Ok(())
}

/// Boxes `state` as a `T` into `*out`.
///
/// # Safety
/// `out` was checked by [`out_handle`].
pub(crate) unsafe fn give_handle<T: KindHandle>(out: *mut *mut T, state: AnyState) {
    let h = T::wrap(Handle {
        state,
        poisoned: false,
    });
    // SAFETY: out is non-NULL, aligned and writable (checked by out_handle).
    unsafe { out.write(Box::into_raw(Box::new(h))) };
}

/// The body of `pv_<kind>_new`.
///
/// # Safety
/// `replica` points to `replica_len` readable bytes; `out` is NULL or writable.
pub(crate) unsafe fn new<T: KindHandle>(
    ty: impl FnOnce() -> FfiResult<StateType>,
    replica: *const u8,
    replica_len: usize,
    out: *mut *mut T,
) -> FfiResult<()> {
    // SAFETY: forwarded contract.
    unsafe { out_handle(out) }?;
    let ty = ty()?;
    // SAFETY: forwarded contract.
    let replica = unsafe { ptr::bytes(replica, replica_len, "replica") }?;
    // SAFETY: checked above.
    unsafe { give_handle(out, AnyState::new(ty, replica)) };
    Ok(())
}

/// The state type of kind `T` with the given codes.
pub(crate) fn state_type<T: KindHandle>(
    key: pv_type,
    value: Option<pv_type>,
) -> FfiResult<StateType> {
    let key = crate::value::key_type(key)?;
    let value = value.map(crate::value::value_type).transpose()?;
    StateType::new(T::KIND, key, value).map_err(any_error)
}

/// The body of `pv_<kind>_from_bytes`.
///
/// # Safety
/// `bytes` and `replica` point to that many readable bytes; `out` is NULL or writable.
pub(crate) unsafe fn from_bytes<T: KindHandle>(
    bytes: *const u8,
    len: usize,
    replica: *const u8,
    replica_len: usize,
    out: *mut *mut T,
) -> FfiResult<()> {
    // SAFETY: forwarded contract.
    unsafe { out_handle(out) }?;
    // SAFETY: forwarded contract.
    let bytes = unsafe { ptr::bytes(bytes, len, "bytes") }?;
    // SAFETY: forwarded contract.
    let replica = unsafe { ptr::bytes(replica, replica_len, "replica") }?;
    let ty = StateType::of_bytes(bytes).map_err(any_error)?;
    if ty.kind != T::KIND {
        return Err(Fail::new(
            pv_status::PV_TYPE_MISMATCH,
            format!("the bytes hold a {ty}, not a {}", T::KIND),
        ));
    }
    let state = AnyState::from_bytes_as(ty, bytes, replica).map_err(any_error)?;
    // SAFETY: checked above.
    unsafe { give_handle(out, state) };
    Ok(())
}

/// The body of `pv_<kind>_free`.
///
/// # Safety
/// `p` is NULL or a live handle from this library, freed only once.
pub(crate) unsafe fn free<T: KindHandle>(p: *mut T) {
    if !p.is_null() {
        // SAFETY: p came from give_handle's Box::into_raw and is freed once (contract).
        drop(unsafe { Box::from_raw(p) });
    }
}

/// Writes `v` into `out` (checked non-NULL).
///
/// # Safety
/// `out` is NULL or writable.
pub(crate) unsafe fn put<T>(out: *mut T, v: T) -> FfiResult<()> {
    check_ptr(out, "out")?;
    // SAFETY: out is non-NULL, aligned and writable (caller contract).
    unsafe { out.write(v) };
    Ok(())
}

/// Writes a 128-bit value as its two 64-bit halves: `*out_hi` the upper half (signed),
/// `*out_lo` the lower half, so the value is `out_hi * 2^64 + out_lo`. Both are checked
/// before either is written.
///
/// # Safety
/// `out_hi` and `out_lo` are NULL or writable.
pub(crate) unsafe fn put_i128(out_hi: *mut i64, out_lo: *mut u64, v: i128) -> FfiResult<()> {
    check_ptr(out_hi, "out_hi")?;
    check_ptr(out_lo, "out_lo")?;
    // two's complement halves: the shift keeps the sign, the cast keeps the low bits
    let (hi, lo) = ((v >> 64) as i64, v as u64);
    // SAFETY: both are non-NULL, aligned and writable (caller contract).
    unsafe {
        out_hi.write(hi);
        out_lo.write(lo);
    }
    Ok(())
}

/// Serializes `state` into `out` (checked non-NULL, cleared first).
///
/// # Safety
/// `out` is NULL or writable.
pub(crate) unsafe fn put_bytes(out: *mut pv_bytes, state: &AnyState) -> FfiResult<()> {
    check_ptr(out, "out")?;
    let v = state.to_bytes().map_err(any_error)?;
    // SAFETY: out is non-NULL and writable (caller contract).
    unsafe { bytes::give(out, v) };
    Ok(())
}

/// The body of `pv_<kind>_to_bytes`.
///
/// # Safety
/// `p` is NULL or live; `out` is NULL or writable.
pub(crate) unsafe fn to_bytes<S: StateSource>(p: *const S, out: *mut pv_bytes) -> FfiResult<()> {
    // SAFETY: forwarded contract.
    unsafe { bytes::clear(out) };
    // SAFETY: forwarded contract.
    let state = unsafe { S::state(p) }?;
    // SAFETY: forwarded contract.
    unsafe { put_bytes(out, state) }
}

/// The body of `pv_<kind>_merge_bytes`.
///
/// # Safety
/// `p` is NULL or live and not otherwise accessed; `bytes` points to `len` readable bytes.
pub(crate) unsafe fn merge_bytes<T: KindHandle>(
    p: *mut T,
    bytes: *const u8,
    len: usize,
) -> FfiResult<()> {
    // SAFETY: forwarded contract.
    let bytes = unsafe { ptr::bytes(bytes, len, "bytes") }?;
    // SAFETY: forwarded contract.
    unsafe {
        write(p, |s| {
            s.join_bytes_checked(bytes, &pluriverse::wire::Limits::default())
                .map_err(any_error)
        })
    }
}

/// The body of `pv_<kind>_merge`.
///
/// # Safety
/// `p` and `other` are NULL or live; `p` is not otherwise accessed.
pub(crate) unsafe fn merge<T: KindHandle>(p: *mut T, other: *const T) -> FfiResult<()> {
    if std::ptr::eq(p, other) && !p.is_null() {
        // joining a state with itself changes nothing; still refuse a poisoned one
        // SAFETY: forwarded contract.
        return unsafe { read(other) }.map(|_| ());
    }
    // SAFETY: forwarded contract; other differs from p, so the two borrows are disjoint.
    let o = unsafe { read(other) }?;
    // SAFETY: forwarded contract.
    unsafe { write(p, |s| s.join_checked(o).map_err(any_error)) }
}

/// The body of `pv_<kind>_context`.
///
/// # Safety
/// `p` is NULL or live; `out` is NULL or writable.
pub(crate) unsafe fn context<T: KindHandle>(p: *const T, out: *mut pv_bytes) -> FfiResult<()> {
    // SAFETY: forwarded contract.
    unsafe { bytes::clear(out) };
    // SAFETY: forwarded contract.
    let state = unsafe { read(p) }?;
    check_ptr(out, "out")?;
    // SAFETY: out is non-NULL and writable (caller contract).
    unsafe { bytes::give(out, state.context().to_bytes()) };
    Ok(())
}

/// The body of `pv_<kind>_delta_since`.
///
/// # Safety
/// `p` is NULL or live; `context` points to `len` readable bytes; `out` is NULL or writable.
pub(crate) unsafe fn delta_since<T: KindHandle>(
    p: *const T,
    context: *const u8,
    len: usize,
    out: *mut pv_bytes,
) -> FfiResult<()> {
    // SAFETY: forwarded contract.
    unsafe { bytes::clear(out) };
    // SAFETY: forwarded contract.
    let state = unsafe { read(p) }?;
    // SAFETY: forwarded contract.
    let ctx = unsafe { ptr::bytes(context, len, "context") }?;
    check_ptr(out, "out")?;
    let ctx = CausalContext::from_bytes(ctx).map_err(|e| any_error(AnyError::Core(e)))?;
    // SAFETY: forwarded contract.
    unsafe { put_bytes(out, &state.delta_since(&ctx)) }
}

/// The body of `pv_<kind>_digest`.
///
/// # Safety
/// `p` is NULL or live; `out` is NULL or writable for 16 bytes.
pub(crate) unsafe fn digest<S: StateSource>(p: *const S, out: *mut u8) -> FfiResult<()> {
    // SAFETY: forwarded contract.
    let state = unsafe { S::state(p) }?;
    check_ptr(out, "out")?;
    let d = state.digest_bytes();
    // SAFETY: out is non-NULL and writable for 16 bytes (caller contract); d is a local.
    unsafe { std::ptr::copy_nonoverlapping(d.as_ptr(), out, d.len()) };
    Ok(())
}

/// The body of `pv_<kind>_len`.
///
/// # Safety
/// `p` is NULL or live; `out` is NULL or writable.
pub(crate) unsafe fn len<S: StateSource>(p: *const S, out: *mut usize) -> FfiResult<()> {
    // SAFETY: forwarded contract.
    let state = unsafe { S::state(p) }?;
    // SAFETY: forwarded contract.
    unsafe { put(out, state.len()) }
}

/// The body of `pv_<kind>_key_type`.
///
/// # Safety
/// `p` is NULL or live; `out` is NULL or writable.
pub(crate) unsafe fn key_type<T: KindHandle>(p: *const T, out: *mut pv_type) -> FfiResult<()> {
    // SAFETY: forwarded contract.
    let state = unsafe { read(p) }?;
    // SAFETY: forwarded contract.
    unsafe { put(out, key_code(state.state_type().key)) }
}

/// The body of `pv_<kind>_value_type`.
///
/// # Safety
/// `p` is NULL or live; `out` is NULL or writable.
pub(crate) unsafe fn value_type<T: KindHandle>(p: *const T, out: *mut pv_type) -> FfiResult<()> {
    // SAFETY: forwarded contract.
    let state = unsafe { read(p) }?;
    let v = state.state_type().value.ok_or_else(|| {
        Fail::new(
            pv_status::PV_TYPE_MISMATCH,
            format!("a {} has no values", T::KIND),
        )
    })?;
    // SAFETY: forwarded contract.
    unsafe { put(out, value_code(v)) }
}

/// The body of `pv_<kind>_contains`.
///
/// # Safety
/// `p` is NULL or live; `key`'s bytes are readable; `out` is NULL or writable.
pub(crate) unsafe fn contains<S: StateSource>(
    p: *const S,
    key: pv_value,
    out: *mut bool,
) -> FfiResult<()> {
    // SAFETY: forwarded contract.
    let state = unsafe { S::state(p) }?;
    check_ptr(out, "out")?;
    // SAFETY: forwarded contract.
    let key = unsafe { key.to_scalar("key") }?;
    let found = state.contains(&key).map_err(any_error)?;
    // SAFETY: forwarded contract.
    unsafe { put(out, found) }
}

/// The body of a mutator: clears `out_delta`, converts, mutates, and ships the delta to
/// `out_delta` unless it is NULL.
///
/// # Safety
/// `p` is NULL or live and not otherwise accessed; `out_delta` is NULL or writable.
pub(crate) unsafe fn mutate<T: KindHandle>(
    p: *mut T,
    out_delta: *mut pv_bytes,
    f: impl FnOnce(&mut AnyState) -> FfiResult<AnyState>,
) -> FfiResult<()> {
    // SAFETY: forwarded contract.
    unsafe { bytes::clear(out_delta) };
    if !out_delta.is_null() && !out_delta.is_aligned() {
        return Err(Fail::invalid("out_delta is not aligned"));
    }
    // SAFETY: forwarded contract.
    let delta = unsafe { write(p, f) }?;
    if !out_delta.is_null() {
        // SAFETY: forwarded contract.
        unsafe { put_bytes(out_delta, &delta) }?;
    }
    Ok(())
}

/// The body of a read returning a list of values: checks `out` (setting `*out` to NULL),
/// reads with `f` and hands the list to `*out`.
///
/// # Safety
/// `p` is NULL or live; `key`'s bytes are readable; `out` is NULL or writable.
pub(crate) unsafe fn get<S: StateSource>(
    p: *const S,
    key: pv_value,
    out: *mut *mut pv_values,
    f: impl FnOnce(&AnyState, &Scalar) -> FfiResult<Vec<Scalar>>,
) -> FfiResult<()> {
    // SAFETY: forwarded contract.
    unsafe { out_handle(out) }?;
    // SAFETY: forwarded contract.
    let state = unsafe { S::state(p) }?;
    // SAFETY: forwarded contract.
    let key = unsafe { key.to_scalar("key") }?;
    let items = f(state, &key)?;
    // SAFETY: out was checked by out_handle.
    unsafe { out.write(pv_values::boxed(items)) };
    Ok(())
}

/// The body of `pv_pncounter_value` and `pv_replica_pncounter_value`: the counter of `key`
/// into `*out`, `PV_OVERFLOW` (and `*out` unchanged) when it does not fit `int64_t`.
///
/// # Safety
/// `p` is NULL or live; `key`'s bytes are readable; `out` is NULL or writable.
pub(crate) unsafe fn value<S: StateSource>(
    p: *const S,
    key: pv_value,
    out: *mut i64,
) -> FfiResult<()> {
    // SAFETY: forwarded contract.
    let state = unsafe { S::state(p) }?;
    check_ptr(out, "out")?;
    // SAFETY: forwarded contract.
    let key = unsafe { key.to_scalar("key") }?;
    let v = state.value(&key).map_err(any_error)?;
    let v = i64::try_from(v).map_err(|_| {
        Fail::new(
            pv_status::PV_OVERFLOW,
            format!("the counter's value {v} does not fit int64_t"),
        )
    })?;
    // SAFETY: forwarded contract.
    unsafe { put(out, v) }
}

/// The body of `pv_pncounter_value_i128` and `pv_replica_pncounter_value_i128`: the counter
/// of `key` as two halves (see [`put_i128`]).
///
/// # Safety
/// `p` is NULL or live; `key`'s bytes are readable; `out_hi`, `out_lo` are NULL or writable.
pub(crate) unsafe fn value_i128<S: StateSource>(
    p: *const S,
    key: pv_value,
    out_hi: *mut i64,
    out_lo: *mut u64,
) -> FfiResult<()> {
    // SAFETY: forwarded contract.
    let state = unsafe { S::state(p) }?;
    check_ptr(out_hi, "out_hi")?;
    check_ptr(out_lo, "out_lo")?;
    // SAFETY: forwarded contract.
    let key = unsafe { key.to_scalar("key") }?;
    let v = state.value(&key).map_err(any_error)?;
    // SAFETY: forwarded contract.
    unsafe { put_i128(out_hi, out_lo, v) }
}

/// Converts a key (for mutators).
///
/// # Safety
/// `key`'s bytes are readable.
pub(crate) unsafe fn scalar(v: pv_value, what: &str) -> FfiResult<Scalar> {
    // SAFETY: forwarded contract.
    unsafe { v.to_scalar(what) }
}
