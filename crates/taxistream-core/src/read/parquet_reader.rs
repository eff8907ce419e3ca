//! Parquet rows → trips: TLC's physical types (int32/int64 or double for integers, timestamps in
//! ms/us/ns, string/large_string, nullable everything), read one record batch at a time.

use super::{Converted, IDENTIFY_ROWS, InputError, ReadItem, identify_chunk, reason_for};
use crate::reject::{RejectReason, RowRejection};
use crate::schema::{ColumnMap, ColumnTarget, FieldKind};
use crate::timestamp::LocalTimestamp;
use crate::trip::{FieldError, TripBuilder};
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
use parquet::arrow::arrow_reader::{
    ArrowReaderOptions, ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder,
};
use parquet::file::reader::ChunkReader;
use rust_decimal::Decimal;
use std::sync::Arc;

const BATCH_ROWS: usize = 8192;

/// Streams a Parquet file one record batch (8,192 rows) at a time.
pub struct ParquetTripReader {
    batches: ParquetRecordBatchReader,
    columns: ColumnMap,
    batch: Option<Batch>,
    row_in_batch: usize,
    converted: std::vec::IntoIter<ReadItem>,
    rows_before_batch: u64,
    builder: TripBuilder,
    source_name: String,
    failed: bool,
}

/// One cell, typed as far as trip fields care.
enum Cell<'a> {
    Integer(i64),
    Double(f64),
    Text(&'a str),
    Timestamp(LocalTimestamp),
    Exact(Decimal),
    Invalid(String),
}

impl ParquetTripReader {
    /// Opens a Parquet source (a file, or bytes) and checks its columns.
    pub fn new<R: ChunkReader + 'static>(
        source: R,
        source_name: String,
    ) -> Result<Self, InputError> {
        // The Parquet library can panic on some corrupt metadata: that is bad input, not a bug.
        let name = source_name.clone();
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            Self::open(source, source_name)
        }))
        .unwrap_or_else(|panic| {
            Err(InputError::Parquet {
                source_name: name,
                detail: panic_message(panic.as_ref()),
            })
        })
    }

    fn open<R: ChunkReader + 'static>(source: R, source_name: String) -> Result<Self, InputError> {
        let parquet_error = |error: parquet::errors::ParquetError| InputError::Parquet {
            source_name: source_name.clone(),
            detail: error.to_string(),
        };
        let options = ArrowReaderOptions::new().with_skip_arrow_metadata(true);
        let builder = ParquetRecordBatchReaderBuilder::try_new_with_options(source, options)
            .map_err(parquet_error)?;
        let schema = Arc::clone(builder.schema());
        for field in schema.fields() {
            if !supported(field.data_type()) {
                return Err(InputError::UnsupportedColumn {
                    source_name,
                    column: field.name().clone(),
                    data_type: field.data_type().to_string(),
                });
            }
        }
        let names: Vec<&str> = schema
            .fields()
            .iter()
            .map(|field| field.name().as_str())
            .collect();
        let columns = ColumnMap::new(&names);
        super::require_trip_header(&columns, &source_name)?;
        let batches = builder
            .with_batch_size(BATCH_ROWS)
            .build()
            .map_err(parquet_error)?;
        Ok(ParquetTripReader {
            batches,
            columns,
            batch: None,
            row_in_batch: 0,
            converted: Vec::new().into_iter(),
            rows_before_batch: 0,
            builder: TripBuilder::new(),
            source_name,
            failed: false,
        })
    }

    /// The file's columns and where each goes.
    pub fn columns(&self) -> &ColumnMap {
        &self.columns
    }

    fn convert(&mut self, batch: &Batch, row: usize, line: u64) -> Converted {
        let mut scratch = String::new();
        for (index, column) in batch.columns.iter().enumerate() {
            let target = self.columns.target(index);
            // An empty or blank string is absent, as an empty CSV field is.
            let cell = column
                .cell(row)
                .filter(|cell| !matches!(cell, Cell::Text(text) if text.trim().is_empty()));
            let Some(cell) = cell else {
                if let ColumnTarget::Field(field) = target
                    && field.kind() == FieldKind::Timestamp
                {
                    let detail = format!("{} is null", field.name());
                    return self.reject(
                        batch,
                        row,
                        line,
                        Some(index),
                        RejectReason::MissingTimestamp,
                        detail,
                    );
                }
                continue;
            };
            let result = match (target, cell) {
                (ColumnTarget::Field(field), Cell::Invalid(detail))
                    if field.kind() == FieldKind::Timestamp =>
                {
                    Err((RejectReason::BadTimestamp, detail))
                }
                (_, Cell::Invalid(detail)) => Err((RejectReason::BadNumber, detail)),
                (ColumnTarget::Field(field), Cell::Integer(value)) => {
                    self.builder.set_integer(field, value).map_err(detail_of)
                }
                (ColumnTarget::Field(field), Cell::Double(value)) => {
                    self.builder.set_double(field, value).map_err(detail_of)
                }
                (ColumnTarget::Field(field), Cell::Timestamp(value)) => {
                    self.builder.set_timestamp(field, value).map_err(detail_of)
                }
                (ColumnTarget::Field(field), Cell::Text(text)) => self
                    .builder
                    .set_text(field, text.trim())
                    .map_err(|error| (reason_for(error), format!("{error}: {text:?}"))),
                (ColumnTarget::Field(field), Cell::Exact(value)) => {
                    scratch.clear();
                    scratch.push_str(&value.normalize().to_string());
                    self.builder.set_text(field, &scratch).map_err(detail_of)
                }
                (ColumnTarget::Carried, cell) => {
                    carry_cell(&mut self.builder, self.columns.name(index), &cell);
                    Ok(())
                }
            };
            if let Err((reason, detail)) = result {
                return self.reject(batch, row, line, Some(index), reason, detail);
            }
        }
        match self.builder.finish() {
            Ok(trip) => Converted::Trip { trip, line },
            Err(missing) => {
                let detail = format!("{} is null", missing.0.name());
                self.reject(
                    batch,
                    row,
                    line,
                    None,
                    RejectReason::MissingTimestamp,
                    detail,
                )
            }
        }
    }

    fn reject(
        &mut self,
        batch: &Batch,
        row: usize,
        line: u64,
        column: Option<usize>,
        reason: RejectReason,
        detail: String,
    ) -> Converted {
        self.builder.clear();
        let raw = batch
            .columns
            .iter()
            .enumerate()
            .map(|(index, column)| {
                let value = column
                    .cell(row)
                    .map(|cell| cell_text(&cell))
                    .unwrap_or_default();
                format!("{}={value}", self.columns.name(index))
            })
            .collect::<Vec<_>>()
            .join("; ");
        Converted::Rejected(RowRejection {
            line,
            column: column.map(|index| (index + 1, self.columns.name(index).to_string())),
            reason,
            detail,
            raw,
        })
    }
}

fn detail_of(error: FieldError) -> (RejectReason, String) {
    (reason_for(error), error.to_string())
}

impl Iterator for ParquetTripReader {
    type Item = Result<ReadItem, InputError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        loop {
            if let Some(item) = self.converted.next() {
                return Some(Ok(item));
            }
            if let Some(batch) = self.batch.take() {
                if self.row_in_batch < batch.rows {
                    let rows = self.row_in_batch..batch.rows.min(self.row_in_batch + IDENTIFY_ROWS);
                    self.row_in_batch = rows.end;
                    let converted = rows
                        .map(|row| {
                            let line = self.rows_before_batch + row as u64 + 1;
                            self.convert(&batch, row, line)
                        })
                        .collect();
                    self.converted = identify_chunk(converted).into_iter();
                    self.batch = Some(batch);
                    continue;
                }
                self.rows_before_batch += batch.rows as u64;
            }
            let next =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.batches.next()))
                    .unwrap_or_else(|panic| {
                        Some(Err(arrow_schema::ArrowError::ParquetError(panic_message(
                            panic.as_ref(),
                        ))))
                    });
            match next? {
                Ok(batch) => {
                    self.batch = Some(Batch::new(&batch));
                    self.row_in_batch = 0;
                }
                Err(error) => {
                    self.failed = true;
                    return Some(Err(InputError::Parquet {
                        source_name: self.source_name.clone(),
                        detail: format!("after row {}: {error}", self.rows_before_batch),
                    }));
                }
            }
        }
    }
}

/// The text of a caught panic.
fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    let text = panic
        .downcast_ref::<&str>()
        .map(|text| (*text).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unreadable metadata".to_owned());
    format!("corrupt file ({text})")
}

fn supported(data_type: &DataType) -> bool {
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
struct Batch {
    rows: usize,
    columns: Vec<TypedColumn>,
}

impl Batch {
    fn new(batch: &RecordBatch) -> Batch {
        Batch {
            rows: batch.num_rows(),
            columns: batch.columns().iter().map(TypedColumn::new).collect(),
        }
    }
}

/// One column of a batch, typed (arrays share the batch's buffers, nothing is copied).
enum TypedColumn {
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
    fn cell(&self, row: usize) -> Option<Cell<'_>> {
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
fn carry_cell(builder: &mut TripBuilder, name: &Arc<str>, cell: &Cell<'_>) {
    match cell {
        Cell::Text(text) => builder.carry(name, text.trim()),
        Cell::Integer(value) => builder.carry(name, itoa::Buffer::new().format(*value)),
        other => builder.carry(name, cell_text(other).trim()),
    }
}

/// A cell's text, for carried columns and rejects.
fn cell_text(cell: &Cell<'_>) -> String {
    match cell {
        Cell::Integer(value) => value.to_string(),
        Cell::Double(value) => value.to_string(),
        Cell::Text(text) => (*text).to_owned(),
        Cell::Timestamp(value) => value.to_string(),
        Cell::Exact(value) => value.normalize().to_string(),
        Cell::Invalid(detail) => detail.clone(),
    }
}
