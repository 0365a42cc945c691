//! `pv_bytes`: a byte buffer the library allocates and the caller frees.

use crate::status::guard_void;

/// A byte buffer allocated by the library (state, delta and context bytes).
///
/// Functions that return bytes take a `pv_bytes *out` and fill it in; the caller reads
/// `data[0 .. len)` and releases the buffer with `pv_bytes_free(&b)`, exactly once. A
/// zero-initialized `pv_bytes` (`{NULL, 0}`) is valid and empty, and freeing it does nothing.
/// A function that fails sets its `pv_bytes` out-parameter to `{NULL, 0}`; one that succeeds
/// overwrites it without freeing what it held. Do not change `data` or `len`.
#[allow(
    non_camel_case_types,
    reason = "C naming: the header spells it pv_bytes"
)]
#[repr(C)]
#[derive(Debug)]
pub struct pv_bytes {
    /// The first byte; NULL only when the buffer is empty and was never filled.
    pub data: *mut u8,
    /// The number of bytes.
    pub len: usize,
}

impl pv_bytes {
    /// The empty buffer `{NULL, 0}`.
    pub(crate) const EMPTY: pv_bytes = pv_bytes {
        data: std::ptr::null_mut(),
        len: 0,
    };

    /// Hands `v` over to C.
    pub(crate) fn from_vec(v: Vec<u8>) -> Self {
        let boxed: Box<[u8]> = v.into_boxed_slice();
        let len = boxed.len();
        let data = Box::into_raw(boxed).cast::<u8>();
        Self { data, len }
    }
}

/// Frees the buffer `b` holds and sets `*b` to `{NULL, 0}`. Does nothing when `b` is NULL
/// or `b->data` is NULL, so freeing twice through the same `pv_bytes` is harmless.
///
/// # Safety
/// `b` is NULL or points to a `pv_bytes` that is `{NULL, 0}` or was filled by this library
/// and not changed since.
#[no_mangle]
pub unsafe extern "C" fn pv_bytes_free(b: *mut pv_bytes) {
    guard_void("pv_bytes_free", || {
        if b.is_null() || !b.is_aligned() {
            return;
        }
        // SAFETY: b is non-NULL and aligned and points to a pv_bytes (caller contract).
        let b = unsafe { &mut *b };
        if b.data.is_null() {
            b.len = 0;
            return;
        }
        let raw = std::ptr::slice_from_raw_parts_mut(b.data, b.len);
        // SAFETY: data and len came from Box::into_raw of a Box<[u8]> in from_vec and were not
        // changed (caller contract), so this rebuilds that box exactly once.
        drop(unsafe { Box::from_raw(raw) });
        *b = pv_bytes::EMPTY;
    });
}

/// Writes `v` into `out`, or returns it to the allocator when `out` is NULL (the caller did
/// not want it).
///
/// # Safety
/// `out` is NULL or valid for writes of a `pv_bytes`.
pub(crate) unsafe fn give(out: *mut pv_bytes, v: Vec<u8>) {
    if !out.is_null() {
        // SAFETY: out is non-NULL and writable (caller contract); the place is overwritten
        // without reading it.
        unsafe { out.write(pv_bytes::from_vec(v)) };
    }
}

/// Sets `*out` to `{NULL, 0}` when `out` is not NULL and aligned.
///
/// # Safety
/// `out` is NULL or valid for writes of a `pv_bytes`.
pub(crate) unsafe fn clear(out: *mut pv_bytes) {
    if !out.is_null() && out.is_aligned() {
        // SAFETY: out is non-NULL, aligned and writable (caller contract).
        unsafe { out.write(pv_bytes::EMPTY) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_double_free() {
        let mut b = pv_bytes::from_vec(vec![1, 2, 3]);
        // SAFETY: b was filled by from_vec.
        let got = unsafe { std::slice::from_raw_parts(b.data, b.len) };
        assert_eq!(got, [1, 2, 3]);
        // SAFETY: as above; the second call sees {NULL, 0}.
        unsafe {
            pv_bytes_free(&mut b);
            pv_bytes_free(&mut b);
            pv_bytes_free(std::ptr::null_mut());
        }
        assert!(b.data.is_null());
        let mut e = pv_bytes::from_vec(Vec::new());
        assert!(!e.data.is_null());
        // SAFETY: e was filled by from_vec.
        unsafe { pv_bytes_free(&mut e) };
    }
}
