//! Keys and values: Python objects <-> `pluriverse_any::Scalar` by the state's Arrow types,
//! and the errors of the any layer as `pluriverse.Error` subclasses.

use pluriverse_any::{AnyError, KeyType, Scalar, ValueType};
use pyo3::conversion::FromPyObjectOwned;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyByteArray, PyBytes, PyFloat, PyInt, PyString};
use pyo3::PyErr;

use crate::errors::{core_err, CounterOverflowError, KindError, TimestampError};

/// An error of the any layer as the matching Python exception.
pub fn any_err(e: AnyError) -> PyErr {
    match e {
        AnyError::Core(e) => core_err(e),
        other => KindError::new_err(other.to_string()),
    }
}

/// The Python type name of `obj`, for messages.
fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "?".into())
}

fn wrong(what: &str, expected: &str, obj: &Bound<'_, PyAny>) -> PyErr {
    KindError::new_err(format!(
        "{what}: expected {expected}, got {} {}",
        type_name(obj),
        obj.repr().map(|r| r.to_string()).unwrap_or_default()
    ))
}

fn text(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<String> {
    match obj.cast::<PyString>() {
        Ok(s) => Ok(utf8(s, what)?.into_owned()),
        Err(_) => Err(wrong(what, "str (utf8)", obj)),
    }
}

/// A `str` as UTF-8; `KindError` for one that has none (a lone surrogate such as
/// `"\ud800"`, which `surrogateescape` and JSON decoders produce).
pub fn utf8<'a>(s: &'a Bound<'_, PyString>, what: &str) -> PyResult<std::borrow::Cow<'a, str>> {
    s.to_cow().map_err(|_| {
        KindError::new_err(format!(
            "{what}: {} holds a lone surrogate and has no UTF-8 form (pass bytes, or a str \
             without surrogates)",
            s.repr().map(|r| r.to_string()).unwrap_or_default()
        ))
    })
}

/// Bytes given as `bytes` (not copied), `bytearray`, `memoryview` or any other object with
/// the buffer protocol (copied, so that a concurrent change cannot tear them).
pub fn bytes_arg<'a>(
    obj: &'a Bound<'_, PyAny>,
    what: &str,
) -> PyResult<std::borrow::Cow<'a, [u8]>> {
    if let Ok(b) = obj.cast::<PyBytes>() {
        return Ok(std::borrow::Cow::Borrowed(b.as_bytes()));
    }
    if let Ok(b) = obj.cast::<PyByteArray>() {
        return Ok(std::borrow::Cow::Owned(b.to_vec()));
    }
    if !obj.is_instance_of::<PyString>() {
        if let Some(bytes) = crate::buffer::Buffer::get(obj)
            .filter(|b| b.item_size() == 1)
            .and_then(|b| b.to_vec())
        {
            return Ok(std::borrow::Cow::Owned(bytes));
        }
    }
    Err(wrong(what, "bytes, bytearray or memoryview", obj))
}

fn bytes(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<Vec<u8>> {
    if let Ok(b) = obj.cast::<PyBytes>() {
        Ok(b.as_bytes().to_vec())
    } else if let Ok(b) = obj.cast::<PyByteArray>() {
        Ok(b.to_vec())
    } else {
        Err(wrong(what, "bytes (binary)", obj))
    }
}

/// An integer argument (an `int`, or anything with `__index__` such as numpy integers, but
/// not `bool`).
fn int<'py, T: FromPyObjectOwned<'py>>(
    obj: &Bound<'py, PyAny>,
    what: &str,
    ty: &str,
) -> PyResult<T> {
    if obj.is_instance_of::<PyBool>()
        || !(obj.is_instance_of::<PyInt>() || obj.hasattr("__index__")?)
    {
        return Err(wrong(what, &format!("int ({ty})"), obj));
    }
    obj.extract::<T>().map_err(|_| {
        KindError::new_err(format!(
            "{what}: {} is out of range for {ty}",
            obj.repr().map(|r| r.to_string()).unwrap_or_default()
        ))
    })
}

/// A key of type `t`.
pub fn key_from_py(obj: &Bound<'_, PyAny>, t: KeyType, what: &str) -> PyResult<Scalar> {
    Ok(match t {
        KeyType::Utf8 => Scalar::Utf8(text(obj, what)?),
        KeyType::Binary => Scalar::Binary(bytes(obj, what)?),
        KeyType::Int64 => Scalar::Int64(int(obj, what, "int64")?),
        KeyType::UInt64 => Scalar::UInt64(int(obj, what, "uint64")?),
    })
}

/// A value of type `t`.
pub fn value_from_py(obj: &Bound<'_, PyAny>, t: ValueType) -> PyResult<Scalar> {
    const WHAT: &str = "value";
    Ok(match t {
        ValueType::Utf8 => Scalar::Utf8(text(obj, WHAT)?),
        ValueType::Binary => Scalar::Binary(bytes(obj, WHAT)?),
        ValueType::Int64 => Scalar::Int64(int(obj, WHAT, "int64")?),
        ValueType::Float64 => {
            if obj.is_instance_of::<PyBool>()
                || !(obj.is_instance_of::<PyFloat>() || obj.is_instance_of::<PyInt>())
            {
                return Err(wrong(WHAT, "float (float64)", obj));
            }
            Scalar::Float64(obj.extract()?)
        }
        ValueType::Bool => match obj.cast::<PyBool>() {
            Ok(b) => Scalar::Bool(b.is_true()),
            Err(_) => return Err(wrong(WHAT, "bool", obj)),
        },
    })
}

/// A count or timestamp: an int in `0..2**64` (`CounterOverflowError` outside).
pub fn u64_from_py(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<u64> {
    if obj.is_instance_of::<PyBool>()
        || !(obj.is_instance_of::<PyInt>() || obj.hasattr("__index__")?)
    {
        return Err(wrong(what, "int", obj));
    }
    obj.extract::<u64>().map_err(|_| {
        CounterOverflowError::new_err(format!(
            "{what} must be in 0..2**64, got {}",
            obj.repr().map(|r| r.to_string()).unwrap_or_default()
        ))
    })
}

/// An LWW timestamp: an int in `0..2**64` (`TimestampError` outside).
pub fn timestamp_from_py(obj: &Bound<'_, PyAny>) -> PyResult<u64> {
    if obj.is_instance_of::<PyBool>()
        || !(obj.is_instance_of::<PyInt>() || obj.hasattr("__index__")?)
    {
        return Err(wrong("timestamp", "int", obj));
    }
    obj.extract::<u64>().map_err(|_| {
        TimestampError::new_err(format!(
            "timestamp must be in 0..2**64, got {}",
            obj.repr().map(|r| r.to_string()).unwrap_or_default()
        ))
    })
}

/// A key or value as the Python object of its type.
pub fn scalar_to_py<'py>(py: Python<'py>, s: &Scalar) -> PyResult<Bound<'py, PyAny>> {
    Ok(match s {
        Scalar::Utf8(v) => PyString::new(py, v).into_any(),
        Scalar::Binary(v) => PyBytes::new(py, v).into_any(),
        Scalar::Int64(v) => v.into_pyobject(py)?.into_any(),
        Scalar::UInt64(v) => v.into_pyobject(py)?.into_any(),
        Scalar::Float64(v) => v.into_pyobject(py)?.into_any(),
        Scalar::Bool(v) => PyBool::new(py, *v).to_owned().into_any(),
    })
}
