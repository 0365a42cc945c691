//! Item columns to Arrow arrays and back; each kind's cell columns are in its module
//! ([`crate::kinds`]).

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type, UInt64Type};
use arrow_array::{
    Array, ArrayRef, BinaryArray, BooleanArray, Float64Array, Int64Array, StringArray, UInt64Array,
};
use arrow_schema::DataType;

use super::DecodeError;
use crate::item::{Item, ItemCol, VarCol};
use crate::kinds::WireKind;

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
                if a.null_count() == 0 {
                    // one copy of the values buffer
                    col.extend_from_slice(a.values());
                    nulls.resize(nulls.len() + a.len(), false);
                    return;
                }
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
        if a.null_count() == 0 {
            // the offsets rebased and the bytes copied once (utf8 validated by Arrow)
            col.extend_offsets(a.value_offsets(), a.values());
            nulls.resize(nulls.len() + a.len(), false);
            return;
        }
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
        if a.null_count() == 0 {
            // the offsets rebased and the bytes copied once (utf8 validated by Arrow)
            col.extend_offsets(a.value_offsets(), a.values());
            nulls.resize(nulls.len() + a.len(), false);
            return;
        }
        col.reserve_bytes(a.len(), a.values().len());
        nulls.reserve(a.len());
        for i in 0..a.len() {
            let null = a.is_null(i);
            nulls.push(null);
            col.push_bytes(if null { b"" } else { a.value(i) });
        }
    }
}

/// A cell type, mapped to the [`WireKind`] whose cells it is: a store knows only its key
/// and cell types, and its bytes name the kind ([`crate::Kind::NAME`]) and carry that kind's
/// columns. Each kind's module implements it next to its columns.
pub trait Cells: Item {
    /// The kind of a store with keys `K` and these cells.
    type Kind<K: ArrowItem>: WireKind<Key = K, Cell = Self>;
}

/// `Err(DecodeError::Null)` at the first null of `nulls` (rows counted from `first_row`).
pub(crate) fn no_nulls(
    nulls: &[bool],
    column: &'static str,
    first_row: usize,
) -> Result<(), DecodeError> {
    match nulls.iter().position(|&n| n) {
        Some(i) => Err(DecodeError::Null {
            column,
            row: first_row + i,
        }),
        None => Ok(()),
    }
}

/// The items of an Arrow array, for the batch mutators that take Arrow columns.
///
/// # Errors
/// [`crate::Error::ArrowColumn`] when the array has another type or holds nulls.
pub fn items_from_arrow<T: ArrowItem>(a: &dyn Array, what: &'static str) -> crate::Result<Vec<T>> {
    let col = col_from_arrow::<T>(a, what)?;
    Ok((0..col.len()).map(|i| col.get(i)).collect())
}

/// An Arrow array as a column of items (one copy of its buffers, no item built), for the
/// batch mutators that take Arrow columns.
///
/// # Errors
/// [`crate::Error::ArrowColumn`] when the array has another type or holds nulls.
pub fn col_from_arrow<T: ArrowItem>(a: &dyn Array, what: &'static str) -> crate::Result<T::Col> {
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
    Ok(col)
}
