//! Checked conversions of the raw pointers C hands in: NULL, length and alignment checks
//! that turn into `PV_INVALID_ARGUMENT` instead of undefined behaviour.

use crate::status::{Fail, FfiResult};

/// Checks that `len` elements of `T` fit in one allocation (`len * size_of::<T>() <=
/// isize::MAX`), as Rust slices require.
pub(crate) fn check_len<T>(len: usize, what: &str) -> FfiResult<()> {
    let fits = len
        .checked_mul(size_of::<T>().max(1))
        .is_some_and(|b| b <= isize::MAX as usize);
    if fits {
        Ok(())
    } else {
        Err(Fail::invalid(format!("{what}: length {len} is too large")))
    }
}

/// Checks that `ptr` is not NULL and is aligned for `T`.
pub(crate) fn check_ptr<T>(ptr: *const T, what: &str) -> FfiResult<()> {
    if ptr.is_null() {
        return Err(Fail::invalid(format!("{what} is NULL")));
    }
    if !ptr.is_aligned() {
        return Err(Fail::invalid(format!(
            "{what} is not aligned to {} bytes",
            align_of::<T>()
        )));
    }
    Ok(())
}

/// A byte slice from a pointer and a length; NULL is refused.
///
/// # Safety
/// When `ptr` is not NULL it must point to `len` readable bytes that stay valid and
/// unmodified for `'a`.
pub(crate) unsafe fn bytes<'a>(ptr: *const u8, len: usize, what: &str) -> FfiResult<&'a [u8]> {
    check_ptr(ptr, what)?;
    check_len::<u8>(len, what)?;
    // SAFETY: ptr is non-NULL and (by the caller's contract) points to len readable bytes;
    // len fits isize.
    Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// A byte slice from a pointer and a length; NULL is allowed with `len == 0` (the empty
/// slice).
///
/// # Safety
/// As [`bytes`].
pub(crate) unsafe fn bytes_or_empty<'a>(
    ptr: *const u8,
    len: usize,
    what: &str,
) -> FfiResult<&'a [u8]> {
    if ptr.is_null() && len == 0 {
        return Ok(&[]);
    }
    // SAFETY: forwarded contract.
    unsafe { bytes(ptr, len, what) }
}

/// A shared reference to a handle; NULL is refused.
///
/// # Safety
/// When `ptr` is not NULL it must point to a live `T` not mutated for `'a`.
pub(crate) unsafe fn handle<'a, T>(ptr: *const T, what: &str) -> FfiResult<&'a T> {
    check_ptr(ptr, what)?;
    // SAFETY: non-NULL, aligned, and (by the caller's contract) a live T.
    Ok(unsafe { &*ptr })
}

/// A mutable reference to a handle; NULL is refused.
///
/// # Safety
/// When `ptr` is not NULL it must point to a live `T` not otherwise accessed for `'a`.
pub(crate) unsafe fn handle_mut<'a, T>(ptr: *mut T, what: &str) -> FfiResult<&'a mut T> {
    check_ptr(ptr, what)?;
    // SAFETY: non-NULL, aligned, and (by the caller's contract) a live T used only here.
    Ok(unsafe { &mut *ptr })
}

/// Whether the byte ranges `[a, a + a_len)` and `[b, b + b_len)` overlap.
pub(crate) fn overlaps(a: *const u8, a_len: usize, b: *const u8, b_len: usize) -> bool {
    let (a, b) = (a as usize, b as usize);
    a_len != 0 && b_len != 0 && a < b.saturating_add(b_len) && b < a.saturating_add(a_len)
}
