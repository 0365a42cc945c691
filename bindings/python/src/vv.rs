//! `pluriverse.vv`: the batch version-vector kernels over numpy `uint64` matrices, in place,
//! through the buffer protocol (no copies).

use std::ops::Range;

use pluriverse::kernels::vv;
use pyo3::prelude::*;

use crate::buffer::{Buffer, Element};
use crate::errors::{kernel_err, KindError, ShapeError};

/// A C-contiguous buffer of `rows x width` elements of one machine type, checked.
struct Matrix {
    buf: Buffer,
    rows: usize,
    width: usize,
}

impl Matrix {
    /// The address range the buffer's elements occupy.
    fn span(&self) -> Range<usize> {
        let start = self.buf.ptr() as usize;
        start..start + self.buf.len_bytes()
    }
}

/// Takes `obj`'s buffer and checks that it is a C-contiguous matrix of `ndim` dimensions of
/// native `bytes`-byte unsigned integers (`ndim == 1`: a vector, `width == 1`).
fn matrix(
    obj: &Bound<'_, PyAny>,
    func: &str,
    what: &str,
    ndim: usize,
    bytes: usize,
    writable: bool,
) -> PyResult<Matrix> {
    let dtype = if bytes == 8 { "uint64" } else { "uint8" };
    let buf = Buffer::get(obj).ok_or_else(|| {
        KindError::new_err(format!(
            "{func}: `{what}` must be a numpy array of dtype {dtype}, not {}",
            obj.get_type()
                .name()
                .map(|n| n.to_string())
                .unwrap_or_default()
        ))
    })?;
    if buf.element() != Element::NativeUnsigned(bytes) || buf.item_size() != bytes {
        let found = obj
            .getattr("dtype")
            .and_then(|d| d.str())
            .map(|s| s.to_string())
            .unwrap_or_else(|_| format!("buffer format {:?}", buf.format()));
        return Err(KindError::new_err(format!(
            "{func}: `{what}` must have dtype {dtype}, got {found}"
        )));
    }
    if buf.shape().len() != ndim {
        let want = if ndim == 2 { "(N, R)" } else { "(N,)" };
        return Err(ShapeError::new_err(format!(
            "{func}: `{what}` must have shape {want}, got shape {:?}",
            buf.shape()
        )));
    }
    if !buf.is_c_contiguous() {
        return Err(ShapeError::new_err(format!(
            "{func}: `{what}` must be C-contiguous (row-major); \
             numpy.ascontiguousarray makes a contiguous copy"
        )));
    }
    if writable && buf.readonly() {
        return Err(ShapeError::new_err(format!(
            "{func}: `{what}` is read-only and would be written in place"
        )));
    }
    if !(buf.ptr() as usize).is_multiple_of(bytes) {
        return Err(ShapeError::new_err(format!(
            "{func}: `{what}` is not aligned to {bytes} bytes"
        )));
    }
    let shape = buf.shape();
    let (rows, width) = (shape[0], if ndim == 2 { shape[1] } else { 1 });
    Ok(Matrix { buf, rows, width })
}

/// Checks that `a` and `b` have the same shape and at least one column.
fn same_shape(func: &str, a: &Matrix, b: &Matrix) -> PyResult<()> {
    if (a.rows, a.width) != (b.rows, b.width) {
        return Err(ShapeError::new_err(format!(
            "{func}: `a` has shape ({}, {}) and `b` has shape ({}, {}); they must be equal",
            a.rows, a.width, b.rows, b.width
        )));
    }
    if a.width == 0 {
        return Err(ShapeError::new_err(format!(
            "{func}: the matrices have 0 columns; a version vector needs at least one replica"
        )));
    }
    Ok(())
}

/// Whether two address ranges share a byte.
fn overlaps(x: &Range<usize>, y: &Range<usize>) -> bool {
    x.start < y.end && y.start < x.end
}

/// `a[i, j] = max(a[i, j], b[i, j])` in place (the GIL is released while it runs).
#[pyfunction]
pub fn vv_batch_merge(py: Python<'_>, a: &Bound<'_, PyAny>, b: &Bound<'_, PyAny>) -> PyResult<()> {
    const F: &str = "vv.merge";
    let ma = matrix(a, F, "a", 2, 8, true)?;
    let mb = matrix(b, F, "b", 2, 8, false)?;
    same_shape(F, &ma, &mb)?;
    let (n, width) = (ma.rows * ma.width, ma.width);
    if ma.span() == mb.span() {
        return Ok(()); // a ⊔ a = a
    }
    // A `b` that shares memory with `a` (another view of the same array) is read from a copy,
    // so the kernel never sees a `&mut` and a `&` to the same bytes.
    let b_copy: Option<Vec<u64>> = if overlaps(&ma.span(), &mb.span()) {
        // SAFETY: `mb.buf` is a live, C-contiguous, aligned buffer of `n` native u64 (checked
        // by `matrix`), kept alive by `mb` for this statement; nothing writes it meanwhile (we
        // hold the GIL).
        Some(unsafe { std::slice::from_raw_parts(mb.buf.ptr() as *const u64, n) }.to_vec())
    } else {
        None
    };
    // SAFETY: `ma.buf` is a live, writable, C-contiguous, aligned buffer of `n` native u64
    // (checked by `matrix`); the exporter is kept alive (and cannot resize) while `ma` holds
    // the buffer, i.e. past the end of this function. No other slice in this function points
    // into it: `b` is either disjoint from it or read from `b_copy`. Python threads that write
    // the same array while the GIL is released race as they do with numpy's own kernels.
    let xs: &mut [u64] = unsafe { std::slice::from_raw_parts_mut(ma.buf.ptr() as *mut u64, n) };
    let ys: &[u64] = match &b_copy {
        Some(v) => v,
        // SAFETY: as above for `mb`, which is disjoint from `ma` here and only read.
        None => unsafe { std::slice::from_raw_parts(mb.buf.ptr() as *const u64, n) },
    };
    py.detach(move || vv::merge(xs, ys, width))
        .map_err(kernel_err)
}

/// Writes into `out` (uint8, shape (N,)) the order code of each row of `a` against `b`.
#[pyfunction]
pub fn vv_batch_compare(
    py: Python<'_>,
    a: &Bound<'_, PyAny>,
    b: &Bound<'_, PyAny>,
    out: &Bound<'_, PyAny>,
) -> PyResult<()> {
    const F: &str = "vv.compare";
    let ma = matrix(a, F, "a", 2, 8, false)?;
    let mb = matrix(b, F, "b", 2, 8, false)?;
    let mo = matrix(out, F, "out", 1, 1, true)?;
    same_shape(F, &ma, &mb)?;
    if mo.rows != ma.rows {
        return Err(ShapeError::new_err(format!(
            "{F}: `out` has {} rows, expected {}",
            mo.rows, ma.rows
        )));
    }
    if overlaps(&mo.span(), &ma.span()) || overlaps(&mo.span(), &mb.span()) {
        return Err(ShapeError::new_err(format!(
            "{F}: `out` shares memory with an input"
        )));
    }
    let (n, width) = (ma.rows * ma.width, ma.width);
    // SAFETY: `ma` and `mb` are live, C-contiguous, aligned buffers of `n` native u64 (checked
    // by `matrix`), kept alive by `ma`/`mb` until this function returns; both are only read.
    let xs: &[u64] = unsafe { std::slice::from_raw_parts(ma.buf.ptr() as *const u64, n) };
    // SAFETY: as above.
    let ys: &[u64] = unsafe { std::slice::from_raw_parts(mb.buf.ptr() as *const u64, n) };
    // SAFETY: `mo` is a live, writable, contiguous buffer of `rows` bytes (checked by
    // `matrix`), disjoint from both inputs (checked above), alive until this function returns.
    let os: &mut [u8] = unsafe { std::slice::from_raw_parts_mut(mo.buf.ptr(), mo.rows) };
    py.detach(move || vv::compare(xs, ys, width, os))
        .map_err(kernel_err)
}
