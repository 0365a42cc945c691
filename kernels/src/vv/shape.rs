//! Shape checks shared by every entry point: one place decides what a valid matrix is.

use crate::error::{KernelError, Result};

/// Rows of a matrix slice of `len` counters and `width` replicas per row.
pub(crate) fn check_matrix(what: &'static str, len: usize, width: usize) -> Result<usize> {
    if width == 0 {
        return Err(KernelError::ZeroWidth);
    }
    if !len.is_multiple_of(width) {
        return Err(KernelError::RaggedMatrix { what, len, width });
    }
    Ok(len / width)
}

/// Rows of two matrices that must have the same shape.
pub(crate) fn check_pair(a: usize, b: usize, width: usize) -> Result<usize> {
    let rows = check_matrix("a", a, width)?;
    if b != a {
        return Err(KernelError::LengthMismatch {
            what: "b",
            expected: a,
            actual: b,
        });
    }
    Ok(rows)
}

/// An output buffer of one entry per row.
pub(crate) fn check_out(rows: usize, out: usize) -> Result<()> {
    if out != rows {
        return Err(KernelError::LengthMismatch {
            what: "out",
            expected: rows,
            actual: out,
        });
    }
    Ok(())
}
