//! Item columns to Arrow arrays and back, and the value columns of each record kind.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type, UInt64Type};
use arrow_array::{
    Array, ArrayRef, BinaryArray, BooleanArray, Float64Array, Int64Array, StringArray, UInt64Array,
};
use arrow_schema::{DataType, Field};

use super::DecodeError;
use crate::item::{Item, ItemCol, VarCol};

/// An item type with an Arrow representation: keys (`u64`, `i64`, `String`, `Vec<u8>`) and
/// scalar values (also `f64`, `bool`).
pub trait ArrowItem: Item {
    /// The Arrow type of the column.
    fn data_type() -> DataType;
    /// The items at `rows` of `col`; a `false` in `valid` makes that row null.
    fn to_array(col: &Self::Col, rows: &[usize], valid: Option<&[bool]>) -> ArrayRef;
    /// Appends every item of `a` (already checked to have [`ArrowItem::data_type`]) to `col`;
    /// nulls become [`Item::zero`] and are reported through `nulls`.
    fn extend_from(a: &dyn Array, col: &mut Self::Col, nulls: &mut Vec<bool>);
}

fn null_buffer(valid: Option<&[bool]>) -> Option<arrow_buffer::NullBuffer> {
    valid.map(|v| arrow_buffer::NullBuffer::from(v.to_vec()))
}

macro_rules! arrow_primitive {
    ($t:ty, $arr:ty, $ty:ty, $dt:expr) => {
        impl ArrowItem for $t {
            fn data_type() -> DataType {
                $dt
            }
            fn to_array(col: &Vec<$t>, rows: &[usize], valid: Option<&[bool]>) -> ArrayRef {
                let values: Vec<$t> = rows.iter().map(|&i| col[i]).collect();
                Arc::new(<$arr>::new(values.into(), null_buffer(valid)))
            }
            fn extend_from(a: &dyn Array, col: &mut Vec<$t>, nulls: &mut Vec<bool>) {
                let a = a.as_primitive::<$ty>();
                for i in 0..a.len() {
                    nulls.push(a.is_null(i));
                    col.push(if a.is_null(i) {
                        <$t>::zero()
                    } else {
                        a.value(i)
                    });
                }
            }
        }
    };
}

arrow_primitive!(u64, UInt64Array, UInt64Type, DataType::UInt64);
arrow_primitive!(i64, Int64Array, Int64Type, DataType::Int64);
arrow_primitive!(f64, Float64Array, Float64Type, DataType::Float64);

impl ArrowItem for bool {
    fn data_type() -> DataType {
        DataType::Boolean
    }
    fn to_array(col: &Vec<bool>, rows: &[usize], valid: Option<&[bool]>) -> ArrayRef {
        let values: Vec<bool> = rows.iter().map(|&i| col[i]).collect();
        Arc::new(BooleanArray::new(values.into(), null_buffer(valid)))
    }
    fn extend_from(a: &dyn Array, col: &mut Vec<bool>, nulls: &mut Vec<bool>) {
        let a = a.as_boolean();
        for i in 0..a.len() {
            nulls.push(a.is_null(i));
            col.push(!a.is_null(i) && a.value(i));
        }
    }
}

impl ArrowItem for String {
    fn data_type() -> DataType {
        DataType::Utf8
    }
    fn to_array(col: &VarCol, rows: &[usize], valid: Option<&[bool]>) -> ArrayRef {
        // Strings enter a column only as `String`s (or validated Arrow utf8), so the bytes
        // are UTF-8; `from_utf8_lossy` never allocates for them.
        let iter = rows.iter().enumerate().map(|(n, &i)| {
            valid
                .is_none_or(|v| v[n])
                .then(|| String::from_utf8_lossy(col.bytes_at(i)))
        });
        Arc::new(iter.collect::<StringArray>())
    }
    fn extend_from(a: &dyn Array, col: &mut VarCol, nulls: &mut Vec<bool>) {
        let a = a.as_string::<i32>();
        col.reserve_bytes(a.len(), a.values().len());
        nulls.reserve(a.len());
        for i in 0..a.len() {
            let null = a.is_null(i);
            nulls.push(null);
            // validated UTF-8 (Arrow checks utf8 arrays on the way in), copied once
            col.push_bytes(if null { b"" } else { a.value(i).as_bytes() });
        }
    }
}

impl ArrowItem for Vec<u8> {
    fn data_type() -> DataType {
        DataType::Binary
    }
    fn to_array(col: &VarCol, rows: &[usize], valid: Option<&[bool]>) -> ArrayRef {
        let iter = rows
            .iter()
            .enumerate()
            .map(|(n, &i)| valid.is_none_or(|v| v[n]).then(|| col.bytes_at(i)));
        Arc::new(iter.collect::<BinaryArray>())
    }
    fn extend_from(a: &dyn Array, col: &mut VarCol, nulls: &mut Vec<bool>) {
        let a = a.as_binary::<i32>();
        col.reserve_bytes(a.len(), a.values().len());
        nulls.reserve(a.len());
        for i in 0..a.len() {
            let null = a.is_null(i);
            nulls.push(null);
            col.push_bytes(if null { b"" } else { a.value(i) });
        }
    }
}

/// The value part of a record kind's entries, as Arrow columns after `key`, `replica`,
/// `counter`.
pub trait Cells: Item {
    /// The kind's name in the schema metadata.
    const KIND: &'static str;
    /// The value fields.
    fn fields() -> Vec<Field>;
    /// The value columns for `rows` of `col`.
    fn encode(col: &Self::Col, rows: &[usize]) -> Vec<ArrayRef>;
    /// Appends the value columns of a batch (types already checked against
    /// [`Cells::fields`]) to `col`.
    ///
    /// # Errors
    /// A null where the kind allows none.
    fn decode(
        cols: &[ArrayRef],
        rows: usize,
        col: &mut Self::Col,
        first_row: usize,
    ) -> Result<(), DecodeError>;
}

fn no_nulls(nulls: &[bool], column: &'static str, first_row: usize) -> Result<(), DecodeError> {
    match nulls.iter().position(|&n| n) {
        Some(i) => Err(DecodeError::Null {
            column,
            row: first_row + i,
        }),
        None => Ok(()),
    }
}

/// `MVMap` values.
impl<V: ArrowItem> Cells for V {
    const KIND: &'static str = "MVMap";
    fn fields() -> Vec<Field> {
        vec![Field::new("value", V::data_type(), false)]
    }
    fn encode(col: &V::Col, rows: &[usize]) -> Vec<ArrayRef> {
        vec![V::to_array(col, rows, None)]
    }
    fn decode(
        cols: &[ArrayRef],
        _: usize,
        col: &mut V::Col,
        first_row: usize,
    ) -> Result<(), DecodeError> {
        let mut nulls = vec![];
        V::extend_from(cols[0].as_ref(), col, &mut nulls);
        no_nulls(&nulls, "value", first_row)
    }
}

/// `AWSet` entries carry no value.
impl Cells for () {
    const KIND: &'static str = "AWSet";
    fn fields() -> Vec<Field> {
        vec![]
    }
    fn encode(_: &crate::item::UnitCol, _: &[usize]) -> Vec<ArrayRef> {
        vec![]
    }
    fn decode(
        _: &[ArrayRef],
        rows: usize,
        col: &mut crate::item::UnitCol,
        _: usize,
    ) -> Result<(), DecodeError> {
        for _ in 0..rows {
            col.push(&());
        }
        Ok(())
    }
}

/// `PNCounterMap` cells: a replica's running totals.
impl Cells for (u64, u64) {
    const KIND: &'static str = "PNCounterMap";
    fn fields() -> Vec<Field> {
        vec![
            Field::new("increments", DataType::UInt64, false),
            Field::new("decrements", DataType::UInt64, false),
        ]
    }
    fn encode(col: &(Vec<u64>, Vec<u64>), rows: &[usize]) -> Vec<ArrayRef> {
        vec![
            u64::to_array(&col.0, rows, None),
            u64::to_array(&col.1, rows, None),
        ]
    }
    fn decode(
        cols: &[ArrayRef],
        _: usize,
        col: &mut (Vec<u64>, Vec<u64>),
        first_row: usize,
    ) -> Result<(), DecodeError> {
        let mut nulls = vec![];
        u64::extend_from(cols[0].as_ref(), &mut col.0, &mut nulls);
        no_nulls(&nulls, "increments", first_row)?;
        nulls.clear();
        u64::extend_from(cols[1].as_ref(), &mut col.1, &mut nulls);
        no_nulls(&nulls, "decrements", first_row)
    }
}

/// `LWWMap` cells: timestamp and value; a null value is a tombstone.
impl<V: ArrowItem> Cells for (u64, (bool, V)) {
    const KIND: &'static str = "LWWMap";
    fn fields() -> Vec<Field> {
        vec![
            Field::new("timestamp", DataType::UInt64, false),
            Field::new("value", V::data_type(), true),
        ]
    }
    fn encode(col: &(Vec<u64>, (Vec<bool>, V::Col)), rows: &[usize]) -> Vec<ArrayRef> {
        let valid: Vec<bool> = rows.iter().map(|&i| !col.1 .0[i]).collect();
        vec![
            u64::to_array(&col.0, rows, None),
            V::to_array(&col.1 .1, rows, Some(&valid)),
        ]
    }
    fn decode(
        cols: &[ArrayRef],
        _: usize,
        col: &mut (Vec<u64>, (Vec<bool>, V::Col)),
        first_row: usize,
    ) -> Result<(), DecodeError> {
        let mut nulls = vec![];
        u64::extend_from(cols[0].as_ref(), &mut col.0, &mut nulls);
        no_nulls(&nulls, "timestamp", first_row)?;
        nulls.clear();
        V::extend_from(cols[1].as_ref(), &mut col.1 .1, &mut nulls);
        col.1 .0.extend_from_slice(&nulls);
        Ok(())
    }
}

/// The items of an Arrow array, for the batch mutators that take Arrow columns.
///
/// # Errors
/// [`crate::Error::ArrowColumn`] when the array has another type or holds nulls.
pub fn items_from_arrow<T: ArrowItem>(a: &dyn Array, what: &'static str) -> crate::Result<Vec<T>> {
    if a.data_type() != &T::data_type() {
        return Err(crate::Error::ArrowColumn {
            what,
            problem: format!("type {}, expected {}", a.data_type(), T::data_type()),
        });
    }
    if a.null_count() > 0 {
        return Err(crate::Error::ArrowColumn {
            what,
            problem: format!("{} nulls", a.null_count()),
        });
    }
    let mut col = T::Col::default();
    let mut nulls = Vec::with_capacity(a.len());
    T::extend_from(a, &mut col, &mut nulls);
    Ok((0..col.len()).map(|i| col.get(i)).collect())
}
