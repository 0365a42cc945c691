//! Keys and values crossing the boundary: the `pv_type` codes, the tagged `pv_value`, and
//! `pv_values`, a list of values the library returns.

use pluriverse_any::{AnyError, KeyType, Scalar, ValueType};

use crate::ptr::{self, check_ptr};
use crate::status::{guard, guard_void, pv_status, Fail, FfiResult};

/// The type of a key or value: one of the `PV_TYPE_*` codes.
///
/// Keys (and `pv_awset` elements) are `PV_TYPE_UTF8`, `PV_TYPE_BINARY`, `PV_TYPE_INT64` or
/// `PV_TYPE_UINT64`; values (of `pv_mvmap` and `pv_lwwmap`) are `PV_TYPE_UTF8`,
/// `PV_TYPE_BINARY`, `PV_TYPE_INT64`, `PV_TYPE_FLOAT64` or `PV_TYPE_BOOL`. 0 is no type,
/// so a zero-initialized `pv_value` is refused.
#[allow(
    non_camel_case_types,
    reason = "C naming: the header spells it pv_type"
)]
pub type pv_type = u32;

/// UTF-8 text (`data`, `len`; not NUL-terminated).
pub const PV_TYPE_UTF8: pv_type = 1;
/// Bytes (`data`, `len`).
pub const PV_TYPE_BINARY: pv_type = 2;
/// A signed 64-bit integer (`int64`).
pub const PV_TYPE_INT64: pv_type = 3;
/// An unsigned 64-bit integer (`uint64`); keys only.
pub const PV_TYPE_UINT64: pv_type = 4;
/// A 64-bit float (`float64`); values only.
pub const PV_TYPE_FLOAT64: pv_type = 5;
/// A boolean (`boolean`); values only.
pub const PV_TYPE_BOOL: pv_type = 6;

/// One key or value, tagged with its type. Only the field(s) of the tag are read (or, in
/// values the library returns, written; the others are zero).
///
/// Passed by value. For text and bytes, `data` points to `len` bytes that the caller keeps
/// alive for the call (NULL is allowed when `len` is 0); the library copies what it keeps.
/// The header's `pv_value_utf8`, `pv_value_binary`, `pv_value_int64`, `pv_value_uint64`,
/// `pv_value_float64` and `pv_value_bool` build one.
///
/// Integers convert where the number fits: a `PV_TYPE_UINT64` value for an `int64` key (and
/// the other way round), a `PV_TYPE_INT64` value for a `float64` value. Any other type that
/// differs from the state's gives `PV_TYPE_MISMATCH`.
#[allow(
    non_camel_case_types,
    reason = "C naming: the header spells it pv_value"
)]
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct pv_value {
    /// Which field holds the value: a `PV_TYPE_*` code.
    pub tag: pv_type,
    /// `PV_TYPE_UTF8`, `PV_TYPE_BINARY`: the first byte.
    pub data: *const u8,
    /// `PV_TYPE_UTF8`, `PV_TYPE_BINARY`: the number of bytes.
    pub len: usize,
    /// `PV_TYPE_INT64`: the value.
    pub int64: i64,
    /// `PV_TYPE_UINT64`: the value.
    pub uint64: u64,
    /// `PV_TYPE_FLOAT64`: the value.
    pub float64: f64,
    /// `PV_TYPE_BOOL`: the value.
    pub boolean: bool,
}

impl pv_value {
    const ZERO: pv_value = pv_value {
        tag: 0,
        data: std::ptr::null(),
        len: 0,
        int64: 0,
        uint64: 0,
        float64: 0.0,
        boolean: false,
    };

    /// A view of `s` (borrowing its bytes).
    fn of_scalar(s: &Scalar) -> Self {
        let mut v = Self::ZERO;
        match s {
            Scalar::Utf8(t) => {
                v.tag = PV_TYPE_UTF8;
                v.data = t.as_ptr();
                v.len = t.len();
            }
            Scalar::Binary(b) => {
                v.tag = PV_TYPE_BINARY;
                v.data = b.as_ptr();
                v.len = b.len();
            }
            Scalar::Int64(x) => {
                v.tag = PV_TYPE_INT64;
                v.int64 = *x;
            }
            Scalar::UInt64(x) => {
                v.tag = PV_TYPE_UINT64;
                v.uint64 = *x;
            }
            Scalar::Float64(x) => {
                v.tag = PV_TYPE_FLOAT64;
                v.float64 = *x;
            }
            Scalar::Bool(x) => {
                v.tag = PV_TYPE_BOOL;
                v.boolean = *x;
            }
        }
        v
    }

    /// The owned scalar this value names.
    ///
    /// # Safety
    /// For text and bytes, `data` is NULL with `len == 0` or points to `len` readable bytes.
    pub(crate) unsafe fn to_scalar(self, what: &str) -> FfiResult<Scalar> {
        Ok(match self.tag {
            PV_TYPE_UTF8 | PV_TYPE_BINARY => {
                // SAFETY: forwarded contract.
                let b = unsafe { ptr::bytes_or_empty(self.data, self.len, what) }?;
                if self.tag == PV_TYPE_UTF8 {
                    let s = std::str::from_utf8(b)
                        .map_err(|e| Fail::invalid(format!("{what} is not valid UTF-8: {e}")))?;
                    Scalar::Utf8(s.to_owned())
                } else {
                    Scalar::Binary(b.to_vec())
                }
            }
            PV_TYPE_INT64 => Scalar::Int64(self.int64),
            PV_TYPE_UINT64 => Scalar::UInt64(self.uint64),
            PV_TYPE_FLOAT64 => Scalar::Float64(self.float64),
            PV_TYPE_BOOL => Scalar::Bool(self.boolean),
            t => return Err(Fail::invalid(format!("{what} has no type (tag {t})"))),
        })
    }
}

/// The key type a `pv_type` code names.
pub(crate) fn key_type(t: pv_type) -> FfiResult<KeyType> {
    Ok(match t {
        PV_TYPE_UTF8 => KeyType::Utf8,
        PV_TYPE_BINARY => KeyType::Binary,
        PV_TYPE_INT64 => KeyType::Int64,
        PV_TYPE_UINT64 => KeyType::UInt64,
        _ => {
            return Err(Fail::invalid(format!(
                "key type {t} is not a key type (PV_TYPE_UTF8, _BINARY, _INT64 or _UINT64)"
            )))
        }
    })
}

/// The value type a `pv_type` code names.
pub(crate) fn value_type(t: pv_type) -> FfiResult<ValueType> {
    Ok(match t {
        PV_TYPE_UTF8 => ValueType::Utf8,
        PV_TYPE_BINARY => ValueType::Binary,
        PV_TYPE_INT64 => ValueType::Int64,
        PV_TYPE_FLOAT64 => ValueType::Float64,
        PV_TYPE_BOOL => ValueType::Bool,
        _ => {
            return Err(Fail::invalid(format!(
            "value type {t} is not a value type (PV_TYPE_UTF8, _BINARY, _INT64, _FLOAT64 or _BOOL)"
        )))
        }
    })
}

/// The `pv_type` code of a key type.
pub(crate) fn key_code(t: KeyType) -> pv_type {
    match t {
        KeyType::Utf8 => PV_TYPE_UTF8,
        KeyType::Binary => PV_TYPE_BINARY,
        KeyType::Int64 => PV_TYPE_INT64,
        KeyType::UInt64 => PV_TYPE_UINT64,
    }
}

/// The `pv_type` code of a value type.
pub(crate) fn value_code(t: ValueType) -> pv_type {
    match t {
        ValueType::Utf8 => PV_TYPE_UTF8,
        ValueType::Binary => PV_TYPE_BINARY,
        ValueType::Int64 => PV_TYPE_INT64,
        ValueType::Float64 => PV_TYPE_FLOAT64,
        ValueType::Bool => PV_TYPE_BOOL,
    }
}

/// The status of an error of the dynamic-typed layer.
pub(crate) fn any_error(e: AnyError) -> Fail {
    use pluriverse::Error as E;
    let status = match &e {
        AnyError::Core(E::Decode(_)) => pv_status::PV_DECODE_ERROR,
        AnyError::Core(E::CounterOverflow { .. } | E::ValueOverflow { .. }) => {
            pv_status::PV_OVERFLOW
        }
        AnyError::Core(E::LengthMismatch { .. } | E::ArrowColumn { .. } | E::Kernel(_)) => {
            pv_status::PV_INVALID_ARGUMENT
        }
        AnyError::WrongKind { .. }
        | AnyError::TypeMismatch { .. }
        | AnyError::ScalarType { .. } => pv_status::PV_TYPE_MISMATCH,
        AnyError::UnknownType(_) => pv_status::PV_INVALID_ARGUMENT,
        AnyError::Core(E::ForeignClaim { .. }) => pv_status::PV_FOREIGN_CLAIM,
        AnyError::Core(E::Equivocation { .. }) => pv_status::PV_EQUIVOCATION,
        _ => pv_status::PV_ERROR,
    };
    Fail::new(status, e.to_string())
}

/// A list of values the library returns (the values of a key). Opaque: read it with
/// `pv_values_len` and `pv_values_get`, free it with `pv_values_free`.
#[allow(
    non_camel_case_types,
    reason = "C naming: the header spells it pv_values"
)]
pub struct pv_values {
    items: Vec<Scalar>,
}

impl pv_values {
    /// Hands `items` over to C.
    pub(crate) fn boxed(items: Vec<Scalar>) -> *mut pv_values {
        Box::into_raw(Box::new(pv_values { items }))
    }
}

/// The number of values in `list`; 0 when `list` is NULL.
///
/// # Safety
/// `list` is NULL or a live list from this library.
#[no_mangle]
pub unsafe extern "C" fn pv_values_len(list: *const pv_values) -> usize {
    let mut n = 0;
    guard("pv_values_len", || {
        if !list.is_null() {
            // SAFETY: non-NULL lists are live lists from this library (caller contract).
            n = unsafe { ptr::handle(list, "list") }?.items.len();
        }
        Ok(())
    });
    n
}

/// Writes the `index`-th value of `list` to `*out`. For text and bytes, `out->data` points
/// into the list and stays valid until the list is freed; text is not NUL-terminated.
///
/// Returns `PV_OK`; `PV_INVALID_ARGUMENT` when a pointer is NULL or `index` is out of range
/// (`*out` is then zeroed, when `out` is not NULL).
///
/// # Safety
/// `list` is NULL or a live list from this library; `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn pv_values_get(
    list: *const pv_values,
    index: usize,
    out: *mut pv_value,
) -> pv_status {
    guard("pv_values_get", || {
        check_ptr(out, "out")?;
        // SAFETY: out is non-NULL, aligned and writable (caller contract).
        unsafe { out.write(pv_value::ZERO) };
        // SAFETY: list is NULL (refused) or live (caller contract).
        let list = unsafe { ptr::handle(list, "list") }?;
        let item = list.items.get(index).ok_or_else(|| {
            Fail::invalid(format!(
                "index {index} is out of range for a list of {} values",
                list.items.len()
            ))
        })?;
        // SAFETY: as above.
        unsafe { out.write(pv_value::of_scalar(item)) };
        Ok(())
    })
}

/// Frees `list` (and the text and bytes its values pointed to). NULL is fine.
///
/// # Safety
/// `list` is NULL or a live list from this library, freed only once.
#[no_mangle]
pub unsafe extern "C" fn pv_values_free(list: *mut pv_values) {
    guard_void("pv_values_free", || {
        if !list.is_null() {
            // SAFETY: list came from pv_values::boxed and is freed once (caller contract).
            drop(unsafe { Box::from_raw(list) });
        }
    });
}
