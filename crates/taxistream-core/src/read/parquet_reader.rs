//! Parquet rows → trips: TLC's physical types (int32/int64 or double for integers, timestamps in
//! ms/us/ns, string/large_string, nullable everything), read one record batch at a time.

use super::parquet_bounds::ParquetLimits;
use super::parquet_columns::{Batch, Cell, carry_cell, cell_text, supported};
use super::{Converted, IDENTIFY_ROWS, InputError, ReadItem, identify_chunk, reason_for};
use crate::reject::{RejectReason, RowRejection};
use crate::schema::{ColumnMap, ColumnTarget, FieldKind};
use crate::trip::{FieldError, TripBuilder};
use arrow_array::RecordBatch;
use arrow_schema::{ArrowError, Schema};
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder,
};
use parquet::file::reader::ChunkReader;

/// Rows per record batch.
pub const BATCH_ROWS: usize = 8192;

/// Record batches of a Parquet file, from wherever they are decoded.
pub type RecordBatches = Box<dyn Iterator<Item = Result<RecordBatch, ArrowError>> + Send>;

/// Streams a Parquet file one record batch (8,192 rows) at a time.
pub struct ParquetTripReader {
    batches: RecordBatches,
    columns: ColumnMap,
    batch: Option<Batch>,
    row_in_batch: usize,
    converted: std::vec::IntoIter<ReadItem>,
    rows_before_batch: u64,
    builder: TripBuilder,
    source_name: String,
    failed: bool,
}

impl ParquetTripReader {
    /// Opens a Parquet source (a file, or bytes) and checks its columns, and its pages and row
    /// groups against the default [`ParquetLimits`].
    pub fn new<R: ChunkReader + 'static>(
        source: R,
        source_name: String,
    ) -> Result<Self, InputError> {
        Self::with_limits(source, source_name, ParquetLimits::default())
    }

    /// As [`Self::new`], a page or row group decoding past `limits` refused.
    pub fn with_limits<R: ChunkReader + 'static>(
        source: R,
        source_name: String,
        limits: ParquetLimits,
    ) -> Result<Self, InputError> {
        // The Parquet library can panic on some corrupt metadata: that is bad input, not a bug.
        let name = source_name.clone();
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            Self::open(source, source_name, limits)
        }))
        .unwrap_or_else(|panic| {
            Err(InputError::Parquet {
                source_name: name,
                detail: panic_message(panic.as_ref()),
            })
        })
    }

    fn open<R: ChunkReader + 'static>(
        source: R,
        source_name: String,
        limits: ParquetLimits,
    ) -> Result<Self, InputError> {
        let parquet_error = |error: parquet::errors::ParquetError| InputError::Parquet {
            source_name: source_name.clone(),
            detail: error.to_string(),
        };
        let metadata =
            ArrowReaderMetadata::load(&source, Self::options()).map_err(parquet_error)?;
        let columns = Self::check_schema(metadata.schema(), &source_name)?;
        limits.check_row_groups(metadata.metadata(), &source_name)?;
        limits.check_pages(&source, metadata.metadata(), &source_name)?;
        let builder = ParquetRecordBatchReaderBuilder::new_with_metadata(source, metadata);
        let batches = builder
            .with_batch_size(BATCH_ROWS)
            .build()
            .map_err(parquet_error)?;
        Ok(Self::with_columns(
            columns,
            Box::new(batches),
            source_name,
            0,
        ))
    }

    /// How trip files are read: by their Parquet schema only (the Arrow schema some writers
    /// embed is ignored).
    pub fn options() -> ArrowReaderOptions {
        ArrowReaderOptions::new().with_skip_arrow_metadata(true)
    }

    /// Checks a file's schema: every column of a supported type, and the trip columns there.
    pub fn check_schema(schema: &Schema, source_name: &str) -> Result<ColumnMap, InputError> {
        for field in schema.fields() {
            if !supported(field.data_type()) {
                return Err(InputError::UnsupportedColumn {
                    source_name: source_name.to_owned(),
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
        super::require_trip_header(&columns, source_name)?;
        Ok(columns)
    }

    /// Reads `batches` of a file whose schema [`Self::check_schema`] accepted as `columns`;
    /// `rows_before` rows of the file come before the first batch (for line numbers).
    pub fn with_columns(
        columns: ColumnMap,
        batches: RecordBatches,
        source_name: String,
        rows_before: u64,
    ) -> Self {
        ParquetTripReader {
            batches,
            columns,
            batch: None,
            row_in_batch: 0,
            converted: Vec::new().into_iter(),
            rows_before_batch: rows_before,
            builder: TripBuilder::new(),
            source_name,
            failed: false,
        }
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
            raw_encoding: crate::reject::RawEncoding::Text,
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
                        Some(Err(ArrowError::ParquetError(panic_message(panic.as_ref()))))
                    });
            match next? {
                Ok(batch) => {
                    self.batch = Some(Batch::new(&batch));
                    self.row_in_batch = 0;
                }
                Err(ArrowError::ExternalError(cause)) => {
                    self.failed = true;
                    return Some(Err(match cause.downcast::<InputError>() {
                        // The fetcher found the file at fault (a page past its bound).
                        Ok(input) => *input,
                        // Fetching the file failed (an object store): reading again may succeed.
                        Err(cause) => InputError::Read {
                            source_name: self.source_name.clone(),
                            line: self.rows_before_batch,
                            detail: with_causes(cause.as_ref()),
                        },
                    }));
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

/// An error and its causes, in one line.
fn with_causes(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(next) = cause {
        text.push_str(": ");
        text.push_str(&next.to_string());
        cause = next.source();
    }
    text
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
