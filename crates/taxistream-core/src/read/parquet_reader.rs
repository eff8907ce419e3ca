//! Parquet rows → trips: TLC's physical types (int32/int64 or double for integers, timestamps in
//! ms/us/ns, string/large_string, nullable everything), read one record batch at a time.

use super::{InputError, ReadItem, reason_for};
use crate::reject::{RejectReason, RowRejection};
use crate::schema::{ColumnMap, ColumnTarget, FieldKind};
use crate::timestamp::LocalTimestamp;
use crate::trip::{FieldError, TripBuilder};
use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, Decimal128Type, Float32Type, Float64Type, Int8Type, Int16Type, Int32Type,
    Int64Type, TimestampMicrosecondType, TimestampMillisecondType, TimestampNanosecondType,
    TimestampSecondType, UInt8Type, UInt16Type, UInt32Type, UInt64Type,
};
use arrow_array::{Array, ArrayRef, RecordBatch};
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
    batch: Option<RecordBatch>,
    row_in_batch: usize,
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

    fn convert(&mut self, batch: &RecordBatch, row: usize, line: u64) -> ReadItem {
        let mut scratch = String::new();
        for (index, array) in batch.columns().iter().enumerate() {
            let target = self.columns.target(index);
            // An empty or blank string is absent, as an empty CSV field is.
            let cell = cell(array, row)
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
                    let name = Arc::clone(self.columns.name(index));
                    self.builder.carry(&name, cell_text(&cell).trim());
                    Ok(())
                }
            };
            if let Err((reason, detail)) = result {
                return self.reject(batch, row, line, Some(index), reason, detail);
            }
        }
        match self.builder.finish() {
            Ok(trip) => {
                let id = crate::identity::TripId::identify(&trip);
                ReadItem::Trip { trip, id, line }
            }
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
        batch: &RecordBatch,
        row: usize,
        line: u64,
        column: Option<usize>,
        reason: RejectReason,
        detail: String,
    ) -> ReadItem {
        self.builder.clear();
        let raw = batch
            .columns()
            .iter()
            .enumerate()
            .map(|(index, array)| {
                let value = cell(array, row)
                    .map(|cell| cell_text(&cell))
                    .unwrap_or_default();
                format!("{}={value}", self.columns.name(index))
            })
            .collect::<Vec<_>>()
            .join("; ");
        ReadItem::Rejected(RowRejection {
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
            if let Some(batch) = self.batch.take() {
                if self.row_in_batch < batch.num_rows() {
                    let row = self.row_in_batch;
                    self.row_in_batch += 1;
                    let line = self.rows_before_batch + row as u64 + 1;
                    let item = self.convert(&batch, row, line);
                    self.batch = Some(batch);
                    return Some(Ok(item));
                }
                self.rows_before_batch += batch.num_rows() as u64;
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
                    self.batch = Some(batch);
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

/// The cell at `row`, or `None` when null.
fn cell(array: &ArrayRef, row: usize) -> Option<Cell<'_>> {
    if array.is_null(row) {
        return None;
    }
    let timestamp = |value: i64, units: i64| match LocalTimestamp::from_epoch_units(value, units) {
        Ok(timestamp) => Cell::Timestamp(timestamp),
        Err(_) => Cell::Invalid(format!(
            "timestamp out of range: {value} units of 1/{units} s"
        )),
    };
    Some(match array.data_type() {
        DataType::Boolean => Cell::Text(if array.as_boolean().value(row) {
            "true"
        } else {
            "false"
        }),
        DataType::Int8 => Cell::Integer(i64::from(array.as_primitive::<Int8Type>().value(row))),
        DataType::Int16 => Cell::Integer(i64::from(array.as_primitive::<Int16Type>().value(row))),
        DataType::Int32 => Cell::Integer(i64::from(array.as_primitive::<Int32Type>().value(row))),
        DataType::Int64 => Cell::Integer(array.as_primitive::<Int64Type>().value(row)),
        DataType::UInt8 => Cell::Integer(i64::from(array.as_primitive::<UInt8Type>().value(row))),
        DataType::UInt16 => Cell::Integer(i64::from(array.as_primitive::<UInt16Type>().value(row))),
        DataType::UInt32 => Cell::Integer(i64::from(array.as_primitive::<UInt32Type>().value(row))),
        DataType::UInt64 => match i64::try_from(array.as_primitive::<UInt64Type>().value(row)) {
            Ok(value) => Cell::Integer(value),
            Err(_) => Cell::Invalid("integer out of range".to_owned()),
        },
        DataType::Float32 => {
            Cell::Double(f64::from(array.as_primitive::<Float32Type>().value(row)))
        }
        DataType::Float64 => Cell::Double(array.as_primitive::<Float64Type>().value(row)),
        DataType::Utf8 => Cell::Text(array.as_string::<i32>().value(row)),
        DataType::LargeUtf8 => Cell::Text(array.as_string::<i64>().value(row)),
        DataType::Utf8View => Cell::Text(array.as_string_view().value(row)),
        DataType::Timestamp(unit, _) => {
            let (value, units) = match unit {
                TimeUnit::Second => (array.as_primitive::<TimestampSecondType>().value(row), 1),
                TimeUnit::Millisecond => (
                    array.as_primitive::<TimestampMillisecondType>().value(row),
                    1_000,
                ),
                TimeUnit::Microsecond => (
                    array.as_primitive::<TimestampMicrosecondType>().value(row),
                    1_000_000,
                ),
                TimeUnit::Nanosecond => (
                    array.as_primitive::<TimestampNanosecondType>().value(row),
                    1_000_000_000,
                ),
            };
            timestamp(value, units)
        }
        DataType::Date32 => {
            let days = i64::from(array.as_primitive::<Date32Type>().value(row));
            timestamp(days * 86_400, 1)
        }
        DataType::Decimal128(_, scale) => {
            let value = array.as_primitive::<Decimal128Type>().value(row);
            match u32::try_from(*scale)
                .ok()
                .and_then(|scale| Decimal::try_from_i128_with_scale(value, scale).ok())
            {
                Some(value) => Cell::Exact(value),
                None => Cell::Invalid("decimal out of range".to_owned()),
            }
        }
        _ => return None,
    })
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
