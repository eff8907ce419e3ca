//! A Parquet object read by ranged GETs: the footer first, then one GET per row group (its
//! column chunks in one range). The object is never copied to disk, and at most a few row groups
//! are in memory: the one being read, and the next ones being fetched.
//!
//! The async side fetches and hands each row group's reader to the blocking reader thread, which
//! decodes it ([`ParquetTripReader`]).

use crate::error::port_error;
use crate::parquet_parts::{RowGroupSize, RowRange, plan_parts, rows_between};
use crate::s3::{ObjectError, ObjectRef, get_object_error};
use arrow_array::RecordBatch;
use arrow_schema::ArrowError;
use bytes::Bytes;
use parquet::DecodeResult;
use parquet::arrow::arrow_reader::{ArrowReaderMetadata, ParquetRecordBatchReader};
use parquet::arrow::push_decoder::ParquetPushDecoderBuilder;
use parquet::file::metadata::{PageIndexPolicy, ParquetMetaDataPushDecoder};
use std::ops::Range;
use std::sync::Arc;
use taxistream_core::read::{BATCH_ROWS, ChunkPages, ParquetLimits, ParquetTripReader};
use taxistream_core::{InputError, TripReader};
use taxistream_pipeline::{BackgroundSource, PortError, SourceInfo, open_in_background};
use tokio::sync::mpsc;

/// Bytes read from the end of an object first: the footer and, for most files, all metadata.
pub const TAIL_BYTES: u64 = 64 * 1024;
/// Row groups fetched ahead of the one being read.
const ROW_GROUPS_AHEAD: usize = 1;

/// The end of an object, read first: enough to tell Parquet and to decode its metadata.
#[derive(Debug, Clone)]
pub struct ObjectTail {
    /// The object's length in bytes.
    pub length: u64,
    /// Its last bytes (the whole object when it is short).
    pub bytes: Bytes,
    /// The version read: later ranges must come from the same one.
    pub etag: Option<String>,
}

impl ObjectTail {
    /// True when the object ends as every Parquet file does.
    pub fn is_parquet(&self) -> bool {
        self.length >= 12 && self.bytes.ends_with(b"PAR1")
    }

    /// True when the tail is the whole object.
    pub fn is_whole(&self) -> bool {
        self.bytes.len() as u64 == self.length
    }
}

/// Ranged reads of one version of an object.
#[derive(Debug, Clone)]
pub struct RangedObject {
    pub(crate) client: aws_sdk_s3::Client,
    pub(crate) object: ObjectRef,
    pub(crate) etag: Option<String>,
}

impl RangedObject {
    /// Reads the last [`TAIL_BYTES`] of `object` (one suffix GET), of the version `etag` when
    /// given (a continuation reads the version its first invocation read).
    pub async fn tail(
        client: aws_sdk_s3::Client,
        object: &ObjectRef,
        etag: Option<String>,
    ) -> Result<(RangedObject, ObjectTail), ObjectError> {
        let output = client
            .get_object()
            .bucket(&object.bucket)
            .key(&object.key)
            .range(format!("bytes=-{TAIL_BYTES}"))
            .set_if_match(etag)
            .send()
            .await
            .map_err(|error| get_object_error(object, &error))?;
        // "bytes 100-199/200"; an empty object has no range (and no bytes).
        let length = output
            .content_range()
            .and_then(|range| range.rsplit_once('/'))
            .and_then(|(_, total)| total.parse::<u64>().ok());
        let etag = output.e_tag().map(str::to_owned);
        let bytes = output
            .body
            .collect()
            .await
            .map_err(|error| {
                ObjectError::Storage(
                    PortError::transient(format!("GetObject {object}: body")).caused_by(error),
                )
            })?
            .into_bytes();
        let length = length.unwrap_or(bytes.len() as u64);
        let ranged = RangedObject {
            client,
            object: object.clone(),
            etag: etag.clone(),
        };
        Ok((
            ranged,
            ObjectTail {
                length,
                bytes,
                etag,
            },
        ))
    }

    /// The bytes of `range` (one GET), from the version first read.
    pub async fn get(&self, range: Range<u64>) -> Result<Bytes, PortError> {
        let what = format!(
            "GetObject {} bytes {}-{}",
            self.object,
            range.start,
            range.end.saturating_sub(1)
        );
        if range.is_empty() {
            return Ok(Bytes::new());
        }
        let output = self
            .client
            .get_object()
            .bucket(&self.object.bucket)
            .key(&self.object.key)
            .range(format!("bytes={}-{}", range.start, range.end - 1))
            .set_if_match(self.etag.clone())
            .send()
            .await
            .map_err(|error| port_error(&what, &error))?;
        let bytes = output
            .body
            .collect()
            .await
            .map_err(|error| PortError::transient(format!("{what}: body")).caused_by(error))?
            .into_bytes();
        if bytes.len() as u64 != range.end - range.start {
            return Err(PortError::permanent(format!(
                "{what}: {} bytes came (the object changed while it was read?)",
                bytes.len()
            )));
        }
        Ok(bytes)
    }

    /// The ranges asked for, fetched as one GET from the first start to the last end and cut.
    async fn get_coalesced(&self, ranges: &[Range<u64>]) -> Result<Vec<Bytes>, PortError> {
        let (Some(start), Some(end)) = (
            ranges.iter().map(|range| range.start).min(),
            ranges.iter().map(|range| range.end).max(),
        ) else {
            return Ok(Vec::new());
        };
        let whole = self.get(start..end).await?;
        Ok(ranges
            .iter()
            .map(|range| whole.slice((range.start - start) as usize..(range.end - start) as usize))
            .collect())
    }
}

/// Opens a Parquet object: decodes its metadata (fetching what the tail lacks) and checks its
/// columns here, then reads its row groups on a blocking thread as they are fetched. Only the
/// row groups holding `rows` are fetched. With `part_bytes`, an object read from its start is
/// split into parts of whole row groups (see [`plan_parts`]): only the first is read here.
pub async fn open_parquet(
    object: RangedObject,
    tail: ObjectTail,
    source_name: String,
    rows: RowRange,
    part_bytes: Option<u64>,
) -> Result<OpenedParquet, ObjectError> {
    let invalid = |detail: String| InputError::Parquet {
        source_name: source_name.clone(),
        detail,
    };
    let metadata = read_metadata(&object, &tail)
        .await
        .map_err(|failure| match failure {
            Failure::Storage(error) => ObjectError::Storage(error),
            Failure::Invalid(detail) => ObjectError::Input(invalid(detail)),
        })?;
    let metadata = ArrowReaderMetadata::try_new(Arc::new(metadata), ParquetTripReader::options())
        .map_err(|error| invalid(error.to_string()))?;
    let columns = ParquetTripReader::check_schema(metadata.schema(), &source_name)?;
    let limits = ParquetLimits::default();
    limits.check_row_groups(metadata.metadata(), &source_name)?;
    let pages = ChunkPages::new(limits, metadata.metadata(), source_name.clone());
    let groups: Vec<RowGroupSize> = metadata
        .metadata()
        .row_groups()
        .iter()
        .map(|group| RowGroupSize {
            rows: u64::try_from(group.num_rows()).unwrap_or(0),
            bytes: u64::try_from(group.compressed_size()).unwrap_or(0),
        })
        .collect();
    let mut other_parts = match part_bytes {
        Some(part_bytes) if rows == RowRange::default() => plan_parts(&groups, part_bytes),
        _ => vec![rows],
    };
    let rows = other_parts.remove(0);
    let row_counts: Vec<u64> = groups.iter().map(|group| group.rows).collect();
    let selections = rows_between(&row_counts, rows);
    let (sender, receiver) = mpsc::channel(ROW_GROUPS_AHEAD);
    if selections.is_empty() {
        // Every row was read before: nothing to fetch.
        let _ = sender.try_send(Fetched::Finished);
    } else {
        let decoder = ParquetPushDecoderBuilder::new_with_metadata(metadata)
            .with_batch_size(BATCH_ROWS)
            .with_row_group_selections(selections)
            .build()
            .map_err(|error| invalid(error.to_string()))?;
        tokio::spawn(fetch_row_groups(object, decoder, pages, sender));
    }
    let name = source_name.clone();
    let opened = open_in_background(source_name, move || {
        let batches = RowGroupBatches {
            receiver,
            current: None,
            ended: false,
        };
        Ok(TripReader::Parquet(Box::new(
            ParquetTripReader::with_columns(columns, Box::new(batches), name, rows.after),
        )))
    })
    .await?;
    Ok(OpenedParquet {
        info: opened.0,
        source: opened.1,
        rows,
        other_parts,
    })
}

/// A Parquet object opened: the rows of its first part stream from a blocking thread.
pub struct OpenedParquet {
    /// Its columns.
    pub info: SourceInfo,
    /// The rows read.
    pub source: BackgroundSource,
    /// Which rows: the range asked for, or the first part's.
    pub rows: RowRange,
    /// The object's other parts, when it was split: each for another invocation.
    pub other_parts: Vec<RowRange>,
}

/// Why reading metadata or a row group failed.
enum Failure {
    /// S3 failed.
    Storage(PortError),
    /// The file is not valid Parquet.
    Invalid(String),
}

/// Decodes the file's metadata from the tail, fetching any range it lacks.
async fn read_metadata(
    object: &RangedObject,
    tail: &ObjectTail,
) -> Result<parquet::file::metadata::ParquetMetaData, Failure> {
    let invalid = |error: parquet::errors::ParquetError| Failure::Invalid(error.to_string());
    let mut decoder = ParquetMetaDataPushDecoder::try_new(tail.length)
        .map_err(invalid)?
        .with_page_index_policy(PageIndexPolicy::Skip);
    let start = tail.length - tail.bytes.len() as u64;
    decoder
        .push_range(start..tail.length, tail.bytes.clone())
        .map_err(invalid)?;
    loop {
        match guarded(|| decoder.try_decode()).map_err(Failure::Invalid)? {
            DecodeResult::Data(metadata) => return Ok(metadata),
            DecodeResult::NeedsData(ranges) => {
                let buffers = object
                    .get_coalesced(&ranges)
                    .await
                    .map_err(Failure::Storage)?;
                decoder.push_ranges(ranges, buffers).map_err(invalid)?;
            }
            DecodeResult::Finished => {
                return Err(Failure::Invalid("no metadata in the footer".to_owned()));
            }
        }
    }
}

/// What the fetcher hands the reader thread.
enum Fetched {
    /// The next row group, ready to decode.
    RowGroup(ParquetRecordBatchReader),
    /// Fetching failed; nothing follows.
    Failed(ArrowError),
    /// Every row group was handed over.
    Finished,
}

/// Fetches each row group in turn (its column chunks in one GET), checks its pages against
/// their bounds, and hands over its reader.
async fn fetch_row_groups(
    object: RangedObject,
    mut decoder: parquet::arrow::push_decoder::ParquetPushDecoder,
    pages: ChunkPages,
    sender: mpsc::Sender<Fetched>,
) {
    loop {
        let message = match guarded(|| decoder.try_next_reader()) {
            Ok(DecodeResult::Data(reader)) => Fetched::RowGroup(reader),
            Ok(DecodeResult::Finished) => Fetched::Finished,
            Ok(DecodeResult::NeedsData(ranges)) => {
                let pushed = match object.get_coalesced(&ranges).await {
                    Ok(buffers) => match check_pages(&pages, &ranges, &buffers) {
                        Ok(()) => decoder
                            .push_ranges(ranges, buffers)
                            .map_err(|error| ArrowError::ParquetError(error.to_string())),
                        Err(error) => Err(ArrowError::ExternalError(Box::new(error))),
                    },
                    Err(error) => Err(ArrowError::ExternalError(Box::new(error))),
                };
                match pushed {
                    Ok(()) => continue,
                    Err(error) => Fetched::Failed(error),
                }
            }
            Err(detail) => Fetched::Failed(ArrowError::ParquetError(detail)),
        };
        let last = !matches!(message, Fetched::RowGroup(_));
        if sender.send(message).await.is_err() || last {
            return;
        }
    }
}

/// Checks the pages of the column chunks fetched, before they are decoded.
fn check_pages(
    pages: &ChunkPages,
    ranges: &[Range<u64>],
    buffers: &[Bytes],
) -> Result<(), InputError> {
    ranges
        .iter()
        .zip(buffers)
        .try_for_each(|(range, bytes)| pages.check(range.start, bytes))
}

/// Calls the Parquet library, which can panic on corrupt input: that is bad input, not a bug.
fn guarded<T>(
    call: impl FnOnce() -> Result<T, parquet::errors::ParquetError>,
) -> Result<T, String> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(call)) {
        Ok(result) => result.map_err(|error| error.to_string()),
        Err(_) => Err("corrupt file (the Parquet library failed on it)".to_owned()),
    }
}

/// The record batches of the row groups as they arrive (on the blocking reader thread).
struct RowGroupBatches {
    receiver: mpsc::Receiver<Fetched>,
    current: Option<ParquetRecordBatchReader>,
    ended: bool,
}

impl Iterator for RowGroupBatches {
    type Item = Result<RecordBatch, ArrowError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.ended {
                return None;
            }
            if let Some(batch) = self.current.as_mut().and_then(Iterator::next) {
                return Some(batch);
            }
            self.current = None;
            match self.receiver.blocking_recv() {
                Some(Fetched::RowGroup(reader)) => self.current = Some(reader),
                Some(Fetched::Finished) => self.ended = true,
                Some(Fetched::Failed(error)) => {
                    self.ended = true;
                    return Some(Err(error));
                }
                // The fetcher is gone without saying it finished: never a silent end.
                None => {
                    self.ended = true;
                    return Some(Err(ArrowError::ExternalError(Box::new(
                        PortError::internal("the row group fetcher stopped"),
                    ))));
                }
            }
        }
    }
}
