//! The version-vector kernels on caller-owned row-major `uint64_t` matrices.

use pluriverse::kernels::vv;

use crate::ptr::{check_len, check_ptr, overlaps};
use crate::status::{guard, pv_status, Fail, FfiResult};

/// Order code of `pv_vv_compare_u64`: the two rows are equal.
pub const PV_VV_EQUAL: u8 = 0;
/// Order code of `pv_vv_compare_u64`: row `a` happened before row `b` (`a < b`: some
/// `a[i] < b[i]`, none greater).
pub const PV_VV_BEFORE: u8 = 1;
/// Order code of `pv_vv_compare_u64`: row `a` happened after row `b` (`a > b`).
pub const PV_VV_AFTER: u8 = 2;
/// Order code of `pv_vv_compare_u64`: neither row dominates (some `a[i] < b[i]` and some
/// `a[j] > b[j]`).
pub const PV_VV_CONCURRENT: u8 = 3;

const _: () = assert!(PV_VV_EQUAL == vv::EQUAL);
const _: () = assert!(PV_VV_BEFORE == vv::BEFORE);
const _: () = assert!(PV_VV_AFTER == vv::AFTER);
const _: () = assert!(PV_VV_CONCURRENT == vv::CONCURRENT);

/// Checks a `rows x width` matrix pointer and returns its number of counters.
fn matrix(ptr: *const u64, rows: usize, width: usize, what: &str) -> FfiResult<usize> {
    check_ptr(ptr, what)?;
    if width == 0 {
        return Err(Fail::invalid("width is 0"));
    }
    let n = rows.checked_mul(width).ok_or_else(|| {
        Fail::new(
            pv_status::PV_OVERFLOW,
            format!("rows * width overflows ({rows} * {width})"),
        )
    })?;
    check_len::<u64>(n, what).map_err(|_| {
        Fail::new(
            pv_status::PV_OVERFLOW,
            format!("{what}: {n} counters do not fit in memory"),
        )
    })?;
    Ok(n)
}

fn kernel_error(e: pluriverse::kernels::KernelError) -> Fail {
    Fail::new(pv_status::PV_ERROR, e.to_string())
}

/// Joins each row of `b` into the same row of `a` (pointwise maximum: `a[i] = max(a[i],
/// b[i])` for every `i < rows * width`).
///
/// `a` and `b` are row-major matrices of `rows` version vectors with `width` counters each.
/// They need `uint64_t` alignment (8 bytes), nothing more: any offset into a larger buffer
/// is fine. `rows == 0` is valid (nothing happens). `a == b` is valid (nothing changes);
/// other overlaps are refused. Large matrices are split over all cores.
///
/// Returns `PV_OK`; `PV_INVALID_ARGUMENT` when `a` or `b` is NULL or misaligned, `width` is
/// 0, or the buffers overlap; `PV_OVERFLOW` when `rows * width` overflows. `a` is unchanged
/// on error.
///
/// # Safety
/// `a` must be valid for reads and writes, and `b` for reads, of `rows * width` counters.
#[no_mangle]
pub unsafe extern "C" fn pv_vv_merge_u64(
    a: *mut u64,
    b: *const u64,
    rows: usize,
    width: usize,
) -> pv_status {
    guard("pv_vv_merge_u64", || {
        let n = matrix(a, rows, width, "a")?;
        matrix(b, rows, width, "b")?;
        if std::ptr::eq(a, b) {
            return Ok(()); // a ⊔ a = a
        }
        let bytes = n * size_of::<u64>();
        if overlaps(a.cast(), bytes, b.cast(), bytes) {
            return Err(Fail::invalid("a and b overlap"));
        }
        // SAFETY: a is non-NULL, aligned, valid for n counters (caller contract), n * 8 fits
        // isize, and no other reference to this memory exists during the call (b does not
        // overlap it).
        let a = unsafe { std::slice::from_raw_parts_mut(a, n) };
        // SAFETY: as for a, for reads.
        let b = unsafe { std::slice::from_raw_parts(b, n) };
        vv::merge(a, b, width).map_err(kernel_error)
    })
}

/// Compares each row of `a` with the same row of `b` and writes one order code per row to
/// `out`: `PV_VV_EQUAL` (0), `PV_VV_BEFORE` (1, `a < b`), `PV_VV_AFTER` (2, `a > b`) or
/// `PV_VV_CONCURRENT` (3). Bit 0 of a code is set when some `a[i] < b[i]`, bit 1 when
/// some `a[i] > b[i]`.
///
/// Matrices as in `pv_vv_merge_u64`; `a` and `b` may overlap, `out` may not overlap either.
///
/// Returns `PV_OK`; `PV_INVALID_ARGUMENT` when a pointer is NULL or misaligned, `width` is 0
/// or `out` overlaps `a` or `b`; `PV_OVERFLOW` when `rows * width` overflows. `out` is
/// unchanged on error.
///
/// # Safety
/// `a` and `b` must be valid for reads of `rows * width` counters, `out` for writes of `rows`
/// bytes.
#[no_mangle]
pub unsafe extern "C" fn pv_vv_compare_u64(
    a: *const u64,
    b: *const u64,
    rows: usize,
    width: usize,
    out: *mut u8,
) -> pv_status {
    guard("pv_vv_compare_u64", || {
        let n = matrix(a, rows, width, "a")?;
        matrix(b, rows, width, "b")?;
        check_ptr(out, "out")?;
        let bytes = n * size_of::<u64>();
        if overlaps(out, rows, a.cast(), bytes) || overlaps(out, rows, b.cast(), bytes) {
            return Err(Fail::invalid("out overlaps a or b"));
        }
        // SAFETY: a and b are non-NULL, aligned and valid for reads of n counters (caller
        // contract), n * 8 fits isize; nothing writes them during the call (out does not
        // overlap them).
        let (a, b) = unsafe {
            (
                std::slice::from_raw_parts(a, n),
                std::slice::from_raw_parts(b, n),
            )
        };
        // SAFETY: out is non-NULL and valid for writes of rows bytes (caller contract);
        // rows <= n fits isize, and it overlaps neither input.
        let out = unsafe { std::slice::from_raw_parts_mut(out, rows) };
        vv::compare(a, b, width, out).map_err(kernel_error)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_and_compare_small() {
        let mut a = [3u64, 1, 0, 2, 5, 5];
        let b = [2u64, 4, 0, 2, 5, 5];
        let mut out = [9u8; 3];
        // SAFETY: the buffers hold 3 rows of width 2 and 3 codes.
        unsafe {
            assert_eq!(
                pv_vv_compare_u64(a.as_ptr(), b.as_ptr(), 3, 2, out.as_mut_ptr()),
                pv_status::PV_OK
            );
            assert_eq!(
                pv_vv_merge_u64(a.as_mut_ptr(), b.as_ptr(), 3, 2),
                pv_status::PV_OK
            );
        }
        assert_eq!(out, [PV_VV_CONCURRENT, PV_VV_EQUAL, PV_VV_EQUAL]);
        assert_eq!(a, [3, 4, 0, 2, 5, 5]);
    }

    #[test]
    fn bad_arguments() {
        let mut a = [1u64; 4];
        let b = [2u64; 4];
        // SAFETY: every call is refused before any memory is touched, or stays in bounds.
        unsafe {
            assert_eq!(
                pv_vv_merge_u64(a.as_mut_ptr(), b.as_ptr(), 2, 0),
                pv_status::PV_INVALID_ARGUMENT
            );
            assert_eq!(
                pv_vv_merge_u64(std::ptr::null_mut(), b.as_ptr(), 2, 2),
                pv_status::PV_INVALID_ARGUMENT
            );
            assert_eq!(
                pv_vv_merge_u64(a.as_mut_ptr(), b.as_ptr(), usize::MAX, 2),
                pv_status::PV_OVERFLOW
            );
            assert_eq!(
                pv_vv_merge_u64(a.as_mut_ptr(), b.as_ptr(), usize::MAX / 8, 2),
                pv_status::PV_OVERFLOW
            );
            assert_eq!(
                pv_vv_merge_u64(a.as_mut_ptr(), a.as_ptr().add(1), 1, 2),
                pv_status::PV_INVALID_ARGUMENT
            );
            assert_eq!(
                pv_vv_merge_u64(a.as_mut_ptr(), a.as_ptr(), 2, 2),
                pv_status::PV_OK
            );
            let mis = a.as_mut_ptr().cast::<u8>().add(1).cast::<u64>();
            assert_eq!(
                pv_vv_merge_u64(mis, b.as_ptr(), 1, 1),
                pv_status::PV_INVALID_ARGUMENT
            );
        }
        assert_eq!(a, [1; 4]);
    }
}
