//! The materialized view of a state: one row per key with the value a reader sees, as an
//! Arrow record batch (`to_arrow(view="values")` in Python). The rows follow the keys'
//! order in the state (the order of `keys()`); every value is read through the engine's
//! own reads (`get`, `value`), so the view agrees with them by construction.
//!
//! Columns: `key` for every kind; then `value` for `MVMap` (a list of the concurrent
//! values, in the order `get` returns them), `LWWMap` (the winning value; removed keys have
//! no row) and `PNCounterMap` (the total, `int64`). An `AWSet` has only `key`.

use std::sync::Arc;

use arrow_array::builder::{
    BinaryBuilder, BooleanBuilder, Float64Builder, Int64Builder, StringBuilder, UInt64Builder,
};
use arrow_array::cast::AsArray;
use arrow_array::types::{Int64Type, UInt64Type};
use arrow_array::{Array, ArrayRef, ListArray, RecordBatch};
use arrow_buffer::OffsetBuffer;
use arrow_schema::{DataType, Field, Schema};
use pluriverse_any::{AnyState, KeyType, Kind, Scalar, ValueType};
use pyo3::PyResult;

use crate::errors::{CounterOverflowError, Error};
use crate::scalar::any_err;

/// A column being built from scalars of one type.
enum Column {
    Utf8(StringBuilder),
    Binary(BinaryBuilder),
    Int64(Int64Builder),
    UInt64(UInt64Builder),
    Float64(Float64Builder),
    Bool(BooleanBuilder),
}

impl Column {
    fn key(t: KeyType) -> Self {
        match t {
            KeyType::Utf8 => Self::Utf8(StringBuilder::new()),
            KeyType::Binary => Self::Binary(BinaryBuilder::new()),
            KeyType::Int64 => Self::Int64(Int64Builder::new()),
            KeyType::UInt64 => Self::UInt64(UInt64Builder::new()),
        }
    }

    fn value(t: ValueType) -> Self {
        match t {
            ValueType::Utf8 => Self::Utf8(StringBuilder::new()),
            ValueType::Binary => Self::Binary(BinaryBuilder::new()),
            ValueType::Int64 => Self::Int64(Int64Builder::new()),
            ValueType::Float64 => Self::Float64(Float64Builder::new()),
            ValueType::Bool => Self::Bool(BooleanBuilder::new()),
        }
    }

    fn push(&mut self, s: &Scalar) -> PyResult<()> {
        match (self, s) {
            (Self::Utf8(b), Scalar::Utf8(v)) => b.append_value(v),
            (Self::Binary(b), Scalar::Binary(v)) => b.append_value(v),
            (Self::Int64(b), Scalar::Int64(v)) => b.append_value(*v),
            (Self::UInt64(b), Scalar::UInt64(v)) => b.append_value(*v),
            (Self::Float64(b), Scalar::Float64(v)) => b.append_value(*v),
            (Self::Bool(b), Scalar::Bool(v)) => b.append_value(*v),
            (_, s) => {
                return Err(Error::new_err(format!(
                    "materialized view: a {} where the column has another type (a bug)",
                    s.type_name()
                )))
            }
        }
        Ok(())
    }

    fn finish(self) -> ArrayRef {
        match self {
            Self::Utf8(mut b) => Arc::new(b.finish()),
            Self::Binary(mut b) => Arc::new(b.finish()),
            Self::Int64(mut b) => Arc::new(b.finish()),
            Self::UInt64(mut b) => Arc::new(b.finish()),
            Self::Float64(mut b) => Arc::new(b.finish()),
            Self::Bool(mut b) => Arc::new(b.finish()),
        }
    }
}

/// Key `i` of a keys array of type `t`.
fn key_at(keys: &dyn Array, t: KeyType, i: usize) -> Scalar {
    match t {
        KeyType::Utf8 => Scalar::Utf8(keys.as_string::<i32>().value(i).to_owned()),
        KeyType::Binary => Scalar::Binary(keys.as_binary::<i32>().value(i).to_vec()),
        KeyType::Int64 => Scalar::Int64(keys.as_primitive::<Int64Type>().value(i)),
        KeyType::UInt64 => Scalar::UInt64(keys.as_primitive::<UInt64Type>().value(i)),
    }
}

/// The materialized view of `s` (see the module documentation).
pub fn materialize(s: &AnyState) -> PyResult<RecordBatch> {
    let ty = s.state_type();
    let keys = s.keys();
    let n = keys.len();
    let key_field = Field::new("key", ty.key.data_type(), false);
    let mut key_col = Column::key(ty.key);
    let (value_field, value_col): (Option<Field>, Option<ArrayRef>) = match ty.kind {
        Kind::AWSet => {
            return RecordBatch::try_new(Arc::new(Schema::new(vec![key_field])), vec![keys])
                .map_err(|e| Error::new_err(format!("materialized view: {e}")));
        }
        Kind::PNCounterMap => {
            let mut totals = Int64Builder::with_capacity(n);
            for i in 0..n {
                let k = key_at(keys.as_ref(), ty.key, i);
                let v = s.value(&k).map_err(any_err)?;
                let v = i64::try_from(v).map_err(|_| {
                    CounterOverflowError::new_err(format!(
                        "the total of key {k} is {v}, outside int64: the view's `value` \
                         column is int64 (value(key) reads it as a Python int)"
                    ))
                })?;
                totals.append_value(v);
            }
            (
                Some(Field::new("value", DataType::Int64, false)),
                Some(Arc::new(totals.finish())),
            )
        }
        Kind::MVMap => {
            let vt = ty.value.expect("an MVMap has values");
            let mut flat = Column::value(vt);
            let mut offsets = Vec::with_capacity(n + 1);
            offsets.push(0i32);
            let mut total = 0usize;
            for i in 0..n {
                let k = key_at(keys.as_ref(), ty.key, i);
                let values = s.get(&k).map_err(any_err)?;
                for v in &values {
                    flat.push(v)?;
                }
                total += values.len();
                let end = i32::try_from(total).map_err(|_| {
                    Error::new_err("materialized view: over 2**31 values in one column")
                })?;
                offsets.push(end);
            }
            let item = Arc::new(Field::new("item", vt.data_type(), false));
            let list = ListArray::try_new(
                item.clone(),
                OffsetBuffer::new(offsets.into()),
                flat.finish(),
                None,
            )
            .map_err(|e| Error::new_err(format!("materialized view: {e}")))?;
            (
                Some(Field::new("value", DataType::List(item), false)),
                Some(Arc::new(list)),
            )
        }
        Kind::LWWMap => {
            let vt = ty.value.expect("an LWWMap has values");
            let mut col = Column::value(vt);
            for i in 0..n {
                let k = key_at(keys.as_ref(), ty.key, i);
                // removed keys (a winning tombstone) have no value, and no row
                if let Some(v) = s.get(&k).map_err(any_err)?.first() {
                    key_col.push(&k)?;
                    col.push(v)?;
                }
            }
            (
                Some(Field::new("value", vt.data_type(), false)),
                Some(col.finish()),
            )
        }
    };
    let key_array = if ty.kind == Kind::LWWMap {
        key_col.finish()
    } else {
        keys
    };
    let mut fields = vec![key_field];
    let mut columns = vec![key_array];
    fields.extend(value_field);
    columns.extend(value_col);
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)
        .map_err(|e| Error::new_err(format!("materialized view: {e}")))
}
