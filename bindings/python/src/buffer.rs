//! The buffer protocol (PEP 3118), the way `pluriverse.vv` reads and writes numpy arrays in
//! place and the byte entry points take `memoryview`s, for every CPython from 3.9 on.
//!
//! The wheel is built against the stable ABI of CPython 3.9 (`abi3-py39`), where PyO3 offers
//! no buffer type: the stable ABI *lists* `PyObject_GetBuffer`, `PyBuffer_Release` and
//! `Py_buffer` only from 3.11 (bpo-45459). The two functions and the struct are older than
//! that: they have been exported by every CPython 3 interpreter with this exact layout since
//! 3.3 (PEP 3118), and 3.11 only promised to keep them so. They are declared here, in one
//! small place, and wrapped in [`Buffer`], which checks what the exporter hands out before
//! any slice is made of it.

use std::ffi::{c_char, c_int, c_void, CStr};
use std::ptr::NonNull;

use pyo3::ffi::{PyObject, Py_ssize_t};
use pyo3::prelude::*;

/// `Py_buffer` of `Include/cpython/object.h` (3.3-3.10) and `Include/pybuffer.h` (3.11+):
/// the same eleven fields in the same order in every version.
#[repr(C)]
struct RawBuffer {
    buf: *mut c_void,
    obj: *mut PyObject,
    len: Py_ssize_t,
    itemsize: Py_ssize_t,
    readonly: c_int,
    ndim: c_int,
    format: *mut c_char,
    shape: *mut Py_ssize_t,
    strides: *mut Py_ssize_t,
    suboffsets: *mut Py_ssize_t,
    internal: *mut c_void,
}

unsafe extern "C" {
    fn PyObject_GetBuffer(obj: *mut PyObject, view: *mut RawBuffer, flags: c_int) -> c_int;
    fn PyBuffer_Release(view: *mut RawBuffer);
}

/// `PyBUF_FORMAT | PyBUF_STRIDES` (= `PyBUF_RECORDS_RO`): the format string, the shape and the
/// strides, no suboffsets (an exporter that needs them refuses), not necessarily writable.
const PYBUF_RECORDS_RO: c_int = 0x0004 | 0x0010 | 0x0008;

/// An element type a buffer's format string names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Element {
    /// An unsigned integer of this many bytes, in the machine's byte order.
    NativeUnsigned(usize),
    /// Anything else (signed, floating point, foreign byte order, structures).
    Other,
}

impl Element {
    /// The element a `struct`-module format string names (`"B"`, `"<Q"`, `"@L"`, ...).
    pub fn from_format(format: &[u8]) -> Element {
        let (standard, foreign, code) = match format {
            [b'@', c] | [c] => (false, false, *c),
            [b'=', c] => (true, false, *c),
            [b'<', c] => (true, cfg!(target_endian = "big"), *c),
            [b'>' | b'!', c] => (true, cfg!(target_endian = "little"), *c),
            _ => return Element::Other,
        };
        if foreign {
            return Element::Other;
        }
        let size = match code {
            b'B' => 1,
            b'H' => 2,
            b'I' => 4,
            b'L' if standard => 4,
            b'L' => std::mem::size_of::<std::ffi::c_ulong>(),
            b'Q' => 8,
            b'N' if !standard => std::mem::size_of::<usize>(),
            _ => return Element::Other,
        };
        Element::NativeUnsigned(size)
    }
}

/// A buffer an object exports, held until dropped (the exporter cannot resize or free the
/// memory meanwhile: a `bytearray` refuses to resize, numpy refuses `resize`).
///
/// Not `Send`: it is released with the GIL held, in the thread that took it.
pub struct Buffer {
    raw: NonNull<RawBuffer>,
}

impl Buffer {
    /// Takes `obj`'s buffer; `None` when it has none (or refuses the request).
    pub fn get(obj: &Bound<'_, PyAny>) -> Option<Buffer> {
        let raw = Box::into_raw(Box::new(RawBuffer {
            buf: std::ptr::null_mut(),
            obj: std::ptr::null_mut(),
            len: 0,
            itemsize: 0,
            readonly: 0,
            ndim: 0,
            format: std::ptr::null_mut(),
            shape: std::ptr::null_mut(),
            strides: std::ptr::null_mut(),
            suboffsets: std::ptr::null_mut(),
            internal: std::ptr::null_mut(),
        }));
        // SAFETY: `obj` is a live object and we hold the GIL (`Bound`); `raw` points at a
        // writable, zeroed `Py_buffer` that outlives the call. On failure the exporter leaves
        // nothing to release (the protocol's rule) and an exception set, cleared below.
        let rc = unsafe { PyObject_GetBuffer(obj.as_ptr(), raw, PYBUF_RECORDS_RO) };
        if rc != 0 {
            // SAFETY: `raw` came from `Box::into_raw` above and was not released.
            drop(unsafe { Box::from_raw(raw) });
            let _ = PyErr::take(obj.py());
            return None;
        }
        // `raw` is not null: it came from a Box.
        let buffer = Buffer {
            raw: NonNull::new(raw)?,
        };
        buffer.sane().then_some(buffer)
    }

    fn raw(&self) -> &RawBuffer {
        // SAFETY: `raw` is the Box made in `get`, filled by a successful `PyObject_GetBuffer`
        // and released only in `drop`.
        unsafe { self.raw.as_ref() }
    }

    /// What the protocol promises a consumer that asked for `PYBUF_RECORDS_RO`, checked once
    /// so that the accessors below never read a null or negative field.
    fn sane(&self) -> bool {
        let r = self.raw();
        r.len >= 0
            && r.itemsize > 0
            && (0..=64).contains(&r.ndim)
            && (r.ndim == 0 || (!r.shape.is_null() && !r.strides.is_null()))
            && (!r.buf.is_null() || r.len == 0)
            && self.extents().iter().all(|&d| d >= 0)
    }

    /// The first byte.
    pub fn ptr(&self) -> *mut u8 {
        self.raw().buf.cast()
    }

    /// The bytes the elements occupy (`itemsize * product(shape)`).
    pub fn len_bytes(&self) -> usize {
        self.raw().len as usize
    }

    /// Bytes per element.
    pub fn item_size(&self) -> usize {
        self.raw().itemsize as usize
    }

    /// Whether the exporter forbids writes.
    pub fn readonly(&self) -> bool {
        self.raw().readonly != 0
    }

    /// The element type the format string names (`"B"` when the exporter gives none).
    pub fn element(&self) -> Element {
        let f = self.raw().format;
        if f.is_null() {
            return Element::NativeUnsigned(1);
        }
        // SAFETY: a non-null `format` is a NUL-terminated string owned by the exporter, valid
        // while the buffer is held.
        Element::from_format(unsafe { CStr::from_ptr(f) }.to_bytes())
    }

    /// The format string, for messages.
    pub fn format(&self) -> String {
        let f = self.raw().format;
        if f.is_null() {
            return "B".to_string();
        }
        // SAFETY: as in `element`.
        unsafe { CStr::from_ptr(f) }.to_string_lossy().into_owned()
    }

    /// The extent of each dimension.
    pub fn shape(&self) -> Vec<usize> {
        // Non-negative: checked by `sane`.
        self.extents().iter().map(|&d| d as usize).collect()
    }

    fn extents(&self) -> &[isize] {
        let r = self.raw();
        if r.ndim == 0 {
            return &[];
        }
        // SAFETY: `sane` checked `shape` is non-null for `ndim > 0`; the exporter keeps
        // `ndim` entries there while the buffer is held.
        unsafe { std::slice::from_raw_parts(r.shape, r.ndim as usize) }
    }

    fn strides(&self) -> &[isize] {
        let r = self.raw();
        if r.ndim == 0 {
            return &[];
        }
        // SAFETY: as for `extents`.
        unsafe { std::slice::from_raw_parts(r.strides, r.ndim as usize) }
    }

    /// Whether the elements lie in row-major order with no gaps (dimensions of extent 0 or 1
    /// may have any stride, as CPython's own `PyBuffer_IsContiguous` allows).
    pub fn is_c_contiguous(&self) -> bool {
        let mut expect = self.item_size() as isize;
        if self.extents().contains(&0) {
            return true;
        }
        for (&extent, &stride) in self.extents().iter().zip(self.strides()).rev() {
            if extent > 1 && stride != expect {
                return false;
            }
            expect = match expect.checked_mul(extent) {
                Some(e) => e,
                None => return false,
            };
        }
        expect as usize == self.len_bytes()
    }

    /// A copy of the bytes of a C-contiguous buffer.
    pub fn to_vec(&self) -> Option<Vec<u8>> {
        if !self.is_c_contiguous() {
            return None;
        }
        if self.len_bytes() == 0 {
            return Some(Vec::new());
        }
        // SAFETY: the buffer is live, contiguous (checked) and `len_bytes` long, its pointer
        // non-null (`sane`); we hold the GIL, so no Python code writes it during the copy.
        Some(unsafe { std::slice::from_raw_parts(self.ptr(), self.len_bytes()) }.to_vec())
    }
}

impl Drop for Buffer {
    fn drop(&mut self) {
        Python::attach(|_| {
            // SAFETY: `raw` holds a buffer taken by a successful `PyObject_GetBuffer` and not
            // yet released; the GIL is held; the Box is freed after the release.
            unsafe {
                PyBuffer_Release(self.raw.as_ptr());
                drop(Box::from_raw(self.raw.as_ptr()));
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::Element;

    #[test]
    fn format_strings_name_their_unsigned_types() {
        let native_long = std::mem::size_of::<std::ffi::c_ulong>();
        for (f, e) in [
            (&b"B"[..], Element::NativeUnsigned(1)),
            (b"@Q", Element::NativeUnsigned(8)),
            (b"=Q", Element::NativeUnsigned(8)),
            (b"L", Element::NativeUnsigned(native_long)),
            (b"=L", Element::NativeUnsigned(4)),
            (b"H", Element::NativeUnsigned(2)),
            (b"q", Element::Other),
            (b"d", Element::Other),
            (b"2Q", Element::Other),
            (b"", Element::Other),
            (b"T{Q:a:}", Element::Other),
        ] {
            assert_eq!(
                Element::from_format(f),
                e,
                "{:?}",
                String::from_utf8_lossy(f)
            );
        }
        let (own, foreign): (&[u8], &[u8]) = if cfg!(target_endian = "little") {
            (b"<Q", b">Q")
        } else {
            (b">Q", b"<Q")
        };
        assert_eq!(Element::from_format(own), Element::NativeUnsigned(8));
        assert_eq!(Element::from_format(foreign), Element::Other);
        assert_eq!(Element::from_format(b"!Q"), Element::from_format(b">Q"));
    }
}
