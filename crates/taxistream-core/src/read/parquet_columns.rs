//! Parquet columns as trip cells: each Arrow type TLC files use (int32/int64 or double for
//! integers, timestamps in s/ms/us/ns, dates, decimals, strings), resolved once per batch.

use crate::timestamp::LocalTimestamp;
use crate::trip::TripBuilder;
use arrow_array::cast::AsArray;
use arrow_array::types::ArrowPrimitiveType;
use arrow_array::types::{
    Date32Type, Decimal128Type, Float32Type, Float64Type, Int8Type, Int16Type, Int32Type,
    Int64Type, TimestampMicrosecondType, TimestampMillisecondType, TimestampNanosecondType,
    TimestampSecondType, UInt8Type, UInt16Type, UInt32Type, UInt64Type,
};
use arrow_array::{
    Array, ArrayRef, BooleanArray, LargeStringArray, PrimitiveArray, RecordBatch, StringArray,
    StringViewArray,
};
use arrow_schema::{DataType, TimeUnit};
use rust_decimal::Decimal;
use std::sync::Arc;

/// One cell, typed as far as trip fields care.
pub(super) enum Cell<'a> {
    Integer(i64),
    Double(f64),
    Text(&'a str),
    Timestamp(LocalTimestamp),
    Exact(Decimal),
    Invalid(String),
}

/// True for the Arrow types trip files use (the others are refused when the file is opened).
pub(super) fn supported(data_type: &DataType) -> bool {
    matches!(
        data_type,
        DataType::Null
            | DataType::Boolean
            | DataType::Int8
            | DataType::Int16
            | DataType::Int32
            | DataType::Int64
            | DataType::UInt8
            | DataType::UInt16
            | DataType::UInt32
            | DataType::UInt64
            | DataType::Float32
            | DataType::Float64
            | DataType::Utf8
            | DataType::LargeUtf8
            | DataType::Utf8View
            | DataType::Timestamp(_, _)
            | DataType::Date32
            | DataType::Decimal128(_, _)
    )
}

/// A record batch with each column's type resolved once, not once per cell.
pub(super) struct Batch {
    /// Rows in the batch.
    pub(super) rows: usize,
    /// Its columns, in the file's order.
    pub(super) columns: Vec<TypedColumn>,
}

impl Batch {
    pub(super) fn new(batch: &RecordBatch) -> Batch {
        Batch {
            rows: batch.num_rows(),
            columns: batch.columns().iter().map(TypedColumn::new).collect(),
        }
    }
}

/// One column of a batch, typed (arrays share the batch's buffers, nothing is copied).
pub(super) enum TypedColumn {
    /// A type without values (`Null`): every cell is null.
    Nothing,
    Boolean(BooleanArray),
    Int8(PrimitiveArray<Int8Type>),
    Int16(PrimitiveArray<Int16Type>),
    Int32(PrimitiveArray<Int32Type>),
    Int64(PrimitiveArray<Int64Type>),
    UInt8(PrimitiveArray<UInt8Type>),
    UInt16(PrimitiveArray<UInt16Type>),
    UInt32(PrimitiveArray<UInt32Type>),
    UInt64(PrimitiveArray<UInt64Type>),
    Float32(PrimitiveArray<Float32Type>),
    Float64(PrimitiveArray<Float64Type>),
    Utf8(StringArray),
    LargeUtf8(LargeStringArray),
    Utf8View(StringViewArray),
    /// Counts of 1/`units` s since the epoch (any time unit).
    Timestamp(PrimitiveArray<Int64Type>, i64),
    Date32(PrimitiveArray<Date32Type>),
    Decimal128(PrimitiveArray<Decimal128Type>, i8),
}

/// A primitive cell's value, or `None` when null.
fn present<T: ArrowPrimitiveType>(array: &PrimitiveArray<T>, row: usize) -> Option<T::Native> {
    if array.is_null(row) {
        return None;
    }
    array.values().get(row).copied()
}

impl TypedColumn {
    fn new(array: &ArrayRef) -> TypedColumn {
        match array.data_type() {
            DataType::Boolean => TypedColumn::Boolean(array.as_boolean().clone()),
            DataType::Int8 => TypedColumn::Int8(array.as_primitive().clone()),
            DataType::Int16 => TypedColumn::Int16(array.as_primitive().clone()),
            DataType::Int32 => TypedColumn::Int32(array.as_primitive().clone()),
            DataType::Int64 => TypedColumn::Int64(array.as_primitive().clone()),
            DataType::UInt8 => TypedColumn::UInt8(array.as_primitive().clone()),
            DataType::UInt16 => TypedColumn::UInt16(array.as_primitive().clone()),
            DataType::UInt32 => TypedColumn::UInt32(array.as_primitive().clone()),
            DataType::UInt64 => TypedColumn::UInt64(array.as_primitive().clone()),
            DataType::Float32 => TypedColumn::Float32(array.as_primitive().clone()),
            DataType::Float64 => TypedColumn::Float64(array.as_primitive().clone()),
            DataType::Utf8 => TypedColumn::Utf8(array.as_string::<i32>().clone()),
            DataType::LargeUtf8 => TypedColumn::LargeUtf8(array.as_string::<i64>().clone()),
            DataType::Utf8View => TypedColumn::Utf8View(array.as_string_view().clone()),
            DataType::Timestamp(unit, _) => match unit {
                TimeUnit::Second => TypedColumn::Timestamp(
                    array
                        .as_primitive::<TimestampSecondType>()
                        .reinterpret_cast(),
                    1,
                ),
                TimeUnit::Millisecond => TypedColumn::Timestamp(
                    array
                        .as_primitive::<TimestampMillisecondType>()
                        .reinterpret_cast(),
                    1_000,
                ),
                TimeUnit::Microsecond => TypedColumn::Timestamp(
                    array
                        .as_primitive::<TimestampMicrosecondType>()
                        .reinterpret_cast(),
                    1_000_000,
                ),
                TimeUnit::Nanosecond => TypedColumn::Timestamp(
                    array
                        .as_primitive::<TimestampNanosecondType>()
                        .reinterpret_cast(),
                    1_000_000_000,
                ),
            },
            DataType::Date32 => TypedColumn::Date32(array.as_primitive().clone()),
            DataType::Decimal128(_, scale) => {
                TypedColumn::Decimal128(array.as_primitive().clone(), *scale)
            }
            _ => TypedColumn::Nothing,
        }
    }

    /// The cell at `row`, or `None` when null.
    pub(super) fn cell(&self, row: usize) -> Option<Cell<'_>> {
        let timestamp =
            |value: i64, units: i64| match LocalTimestamp::from_epoch_units(value, units) {
                Ok(timestamp) => Cell::Timestamp(timestamp),
                Err(_) => Cell::Invalid(format!(
                    "timestamp out of range: {value} units of 1/{units} s"
                )),
            };
        Some(match self {
            TypedColumn::Nothing => return None,
            TypedColumn::Boolean(array) if array.is_null(row) => return None,
            TypedColumn::Boolean(array) => {
                Cell::Text(if array.value(row) { "true" } else { "false" })
            }
            TypedColumn::Int8(array) => Cell::Integer(i64::from(present(array, row)?)),
            TypedColumn::Int16(array) => Cell::Integer(i64::from(present(array, row)?)),
            TypedColumn::Int32(array) => Cell::Integer(i64::from(present(array, row)?)),
            TypedColumn::Int64(array) => Cell::Integer(present(array, row)?),
            TypedColumn::UInt8(array) => Cell::Integer(i64::from(present(array, row)?)),
            TypedColumn::UInt16(array) => Cell::Integer(i64::from(present(array, row)?)),
            TypedColumn::UInt32(array) => Cell::Integer(i64::from(present(array, row)?)),
            TypedColumn::UInt64(array) => match i64::try_from(present(array, row)?) {
                Ok(value) => Cell::Integer(value),
                Err(_) => Cell::Invalid("integer out of range".to_owned()),
            },
            TypedColumn::Float32(array) => Cell::Double(f64::from(present(array, row)?)),
            TypedColumn::Float64(array) => Cell::Double(present(array, row)?),
            TypedColumn::Utf8(array) if array.is_null(row) => return None,
            TypedColumn::Utf8(array) => Cell::Text(array.value(row)),
            TypedColumn::LargeUtf8(array) if array.is_null(row) => return None,
            TypedColumn::LargeUtf8(array) => Cell::Text(array.value(row)),
            TypedColumn::Utf8View(array) if array.is_null(row) => return None,
            TypedColumn::Utf8View(array) => Cell::Text(array.value(row)),
            TypedColumn::Timestamp(array, units) => timestamp(present(array, row)?, *units),
            TypedColumn::Date32(array) => timestamp(i64::from(present(array, row)?) * 86_400, 1),
            TypedColumn::Decimal128(array, scale) => {
                let value = present(array, row)?;
                match u32::try_from(*scale)
                    .ok()
                    .and_then(|scale| Decimal::try_from_i128_with_scale(value, scale).ok())
                {
                    Some(value) => Cell::Exact(value),
                    None => Cell::Invalid("decimal out of range".to_owned()),
                }
            }
        })
    }
}

/// Carries a cell's text through, without an intermediate string for text and integers.
pub(super) fn carry_cell(builder: &mut TripBuilder, name: &Arc<str>, cell: &Cell<'_>) {
    match cell {
        Cell::Text(text) => builder.carry(name, text.trim()),
        Cell::Integer(value) => builder.carry(name, itoa::Buffer::new().format(*value)),
        other => builder.carry(name, cell_text(other).trim()),
    }
}

/// A cell's text, for carried columns and rejects.
pub(super) fn cell_text(cell: &Cell<'_>) -> String {
    match cell {
        Cell::Integer(value) => value.to_string(),
        Cell::Double(value) => value.to_string(),
        Cell::Text(text) => (*text).to_owned(),
        Cell::Timestamp(value) => value.to_string(),
        Cell::Exact(value) => value.normalize().to_string(),
        Cell::Invalid(detail) => detail.clone(),
    }
}
