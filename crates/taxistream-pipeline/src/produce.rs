//! The producer use case: read a trip file, send one record per distinct trip.

use crate::ports::{PortError, RecordSink, RejectSink, StreamRecord, TripSource};
use crate::seen::SeenTrips;
use taxistream_core::item_size::{MAX_ITEM_BYTES, largest_item_size};
use taxistream_core::reject::RowRejection;
use taxistream_core::{Accounting, InputError, ReadItem, RejectReason, Trip, TripId, record};

/// Kinesis PutRecords limit: records per call.
pub const MAX_RECORDS_PER_BATCH: usize = 500;
/// Kinesis PutRecords limit: bytes per call (data plus partition keys).
pub const MAX_BATCH_BYTES: usize = 5 * 1024 * 1024;
pub use taxistream_core::record::MAX_RECORD_BYTES;
/// How much of an oversized record the rejects output keeps.
const RAW_PREFIX_BYTES: usize = 512;
/// Rows taken from the source before they are handled, so their duplicate checks are prepared
/// together (see [`SeenTrips::prepare`]).
const LOOKAHEAD_ROWS: usize = 64;

/// Why producing stopped.
#[derive(Debug, thiserror::Error)]
pub enum ProduceError {
    /// The source failed as a whole.
    #[error(transparent)]
    Input(#[from] InputError),
    /// The stream refused records.
    #[error("stream")]
    Sink(#[source] PortError),
    /// The rejects destination failed.
    #[error("rejects")]
    Rejects(#[source] PortError),
}

/// Reads every row of `source`, rejects what the contract rejects, and puts one record per trip
/// to `sink` in batches within the Kinesis limits. Returns the accounting.
///
/// With `seen`, a trip already seen there is a duplicate, counted and not sent. Without it,
/// every trip is sent and counted as a trip: the store decides later which are duplicates, and
/// the caller moves them (as `taxistream run` does, with memory flat at any input size).
pub async fn produce<T, S, J>(
    source: T,
    source_name: &str,
    seen: Option<&mut SeenTrips>,
    sink: &mut S,
    rejects: &mut J,
) -> Result<Accounting, ProduceError>
where
    T: TripSource,
    S: RecordSink,
    J: RejectSink,
{
    let produced = produce_until(source, source_name, seen, sink, rejects, || false).await?;
    Ok(produced.accounting)
}

/// What [`produce_until`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Produced {
    /// The rows handled, each a trip sent, a duplicate or a rejected row.
    pub accounting: Accounting,
    /// The line (Parquet: row) of the last row handled, 0 if none: where to resume.
    pub last_line: u64,
    /// False when it stopped before the end of the source.
    pub finished: bool,
}

/// [`produce`], stopping early when `stop` says so after a PutRecords call: then every row
/// handled is sent, duplicate or rejected, and none after it; the rest of the source is left
/// unread (in the accounting's sense) for another invocation. A stop that leaves no row unread
/// is reported as `finished`, so no invocation is ever left with nothing to read.
pub async fn produce_until<T, S, J>(
    mut source: T,
    source_name: &str,
    mut seen: Option<&mut SeenTrips>,
    sink: &mut S,
    rejects: &mut J,
    stop: impl Fn() -> bool,
) -> Result<Produced, ProduceError>
where
    T: TripSource,
    S: RecordSink,
    J: RejectSink,
{
    let mut accounting = Accounting::default();
    let mut last_line = 0;
    let mut batch = Batch::new(sink.batch_limits());
    let mut ahead = Vec::with_capacity(LOOKAHEAD_ROWS);
    // The source is not asked again after its end or an error.
    let mut ended = false;
    let mut finished = true;
    'reading: loop {
        while !ended && ahead.len() < LOOKAHEAD_ROWS {
            match source.next_item().await {
                Some(Err(error)) => {
                    ahead.push(Err(error));
                    ended = true;
                }
                Some(item) => ahead.push(item),
                None => ended = true,
            }
        }
        if ahead.is_empty() {
            break;
        }
        if let Some(seen) = seen.as_deref() {
            seen.prepare(ahead.iter().filter_map(|item| match item {
                Ok(ReadItem::Trip { id, .. }) => Some(id),
                _ => None,
            }));
        }
        let mut items = ahead.drain(..);
        while let Some(item) = items.next() {
            let item = item?;
            last_line = item_line(&item);
            let rejection = match item {
                ReadItem::Rejected(rejection) => rejection,
                ReadItem::Trip { trip, id, line } => {
                    let duplicate = seen
                        .as_deref_mut()
                        .is_some_and(|seen| !seen.first_sighting(&id));
                    // A repeat of an id the data gives may carry other content: it is sent, so
                    // that the tables follow its last version, and counted as a duplicate.
                    if duplicate && trip.given_id().is_none() {
                        accounting.count_duplicate();
                        continue;
                    }
                    let fingerprint = id.fingerprint();
                    match sink.to_record(trip, id, line) {
                        Ok(record) => {
                            if duplicate {
                                accounting.count_duplicate();
                            } else {
                                accounting.count_trip();
                            }
                            if let Some(full) = batch.push(record, S::billed_size) {
                                sink.put_records(full).await.map_err(ProduceError::Sink)?;
                                if stop() {
                                    // The rows still ahead are left unread. Stopping after
                                    // the last row is finishing, not leaving an empty rest.
                                    finished = items.len() == 0
                                        && (ended || source.next_item().await.is_none());
                                    break 'reading;
                                }
                            }
                            continue;
                        }
                        Err(rejection) => {
                            // A first sighting rejected was never sent: a repeat of it is
                            // rejected too, not counted as its duplicate.
                            if let Some(seen) = seen.as_deref_mut()
                                && !duplicate
                            {
                                seen.forget(fingerprint);
                            }
                            rejection
                        }
                    }
                }
            };
            accounting.count_rejection(rejection.reason);
            rejects
                .reject(source_name, &rejection)
                .await
                .map_err(ProduceError::Rejects)?;
        }
    }
    let rest = batch.take();
    if !rest.is_empty() {
        sink.put_records(rest).await.map_err(ProduceError::Sink)?;
    }
    Ok(Produced {
        accounting,
        last_line,
        finished,
    })
}

/// The line (Parquet: row) a row was read from.
fn item_line(item: &ReadItem) -> u64 {
    match item {
        ReadItem::Trip { line, .. } => *line,
        ReadItem::Rejected(rejection) => rejection.line,
    }
}

/// The trip's JSON stream record, or a rejection (of the row at `line`) when it exceeds the
/// Kinesis limits.
pub fn stream_record(trip: &Trip, id: &TripId, line: u64) -> Result<StreamRecord, RowRejection> {
    check_partition_key(id, line)?;
    check_item_size(trip, id, line)?;
    let mut data = Vec::with_capacity(384);
    record::encode(trip, id, &mut data);
    let record = StreamRecord {
        explicit_hash_key: None,
        partition_key: id.as_str().to_owned(),
        data,
        sequence_number: None,
    };
    if record.billed_size() > MAX_RECORD_BYTES {
        return Err(too_large(id, line, &record.data));
    }
    Ok(record)
}

/// Checks that the trip's JSON record would fit the Kinesis limits, without keeping it: for a
/// stream that carries trips themselves, so that it rejects exactly what Kinesis would.
pub fn check_record_limits(trip: &Trip, id: &TripId, line: u64) -> Result<(), RowRejection> {
    check_partition_key(id, line)?;
    check_item_size(trip, id, line)?;
    if record::surely_fits(trip, id) {
        return Ok(());
    }
    let mut data = Vec::new();
    record::encode(trip, id, &mut data);
    if data.len() + id.as_str().len() > MAX_RECORD_BYTES {
        return Err(too_large(id, line, &data));
    }
    Ok(())
}

fn check_partition_key(id: &TripId, line: u64) -> Result<(), RowRejection> {
    if id.fits_key_limits() {
        return Ok(());
    }
    Err(RowRejection {
        raw_encoding: taxistream_core::RawEncoding::Text,
        line,
        column: None,
        reason: RejectReason::BadTripId,
        detail: format!(
            "trip_id has {} characters; a Kinesis partition key holds at most {}",
            id.as_str().chars().count(),
            TripId::MAX_CHARS
        ),
        raw: id.as_str().chars().take(RAW_PREFIX_BYTES).collect(),
    })
}

/// Refuses a trip whose largest DynamoDB item could pass the item limit: DynamoDB would refuse
/// its write, so no store keeps it.
fn check_item_size(trip: &Trip, id: &TripId, line: u64) -> Result<(), RowRejection> {
    let largest = largest_item_size(trip, id);
    if largest <= MAX_ITEM_BYTES {
        return Ok(());
    }
    let mut data = Vec::new();
    record::encode(trip, id, &mut data);
    Err(RowRejection {
        raw_encoding: taxistream_core::RawEncoding::Text,
        line,
        column: None,
        reason: RejectReason::ItemTooLarge,
        detail: format!(
            "trip {}: its largest table item would be {largest} bytes, over DynamoDB's \
             {MAX_ITEM_BYTES}-byte item limit",
            id.as_str(),
        ),
        raw: record_prefix(&data),
    })
}

/// The start of a record, for the rejects file.
fn record_prefix(data: &[u8]) -> String {
    format!(
        "{}… (first {RAW_PREFIX_BYTES} bytes of the record)",
        String::from_utf8_lossy(&data[..RAW_PREFIX_BYTES.min(data.len())])
    )
}

fn too_large(id: &TripId, line: u64, data: &[u8]) -> RowRejection {
    let billed = data.len() + id.as_str().len();
    RowRejection {
        raw_encoding: taxistream_core::RawEncoding::Text,
        line,
        column: None,
        reason: RejectReason::RecordTooLarge,
        detail: format!(
            "trip {} encodes to {billed} bytes, over the {MAX_RECORD_BYTES}-byte record limit",
            id.as_str(),
        ),
        raw: record_prefix(data),
    }
}

/// How many records, and how many bytes of them, a sink takes at a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchLimits {
    /// Records.
    pub records: usize,
    /// Bytes, as the sink bills them.
    pub bytes: usize,
}

impl BatchLimits {
    /// One PutRecords call's: 500 records, 5 MiB.
    pub const PUT_RECORDS: BatchLimits = BatchLimits {
        records: MAX_RECORDS_PER_BATCH,
        bytes: MAX_BATCH_BYTES,
    };
}

/// Records gathered up to a sink's limits (by default, a PutRecords call's).
#[derive(Debug)]
pub struct Batch<R> {
    records: Vec<R>,
    bytes: usize,
    limits: BatchLimits,
}

impl<R> Default for Batch<R> {
    fn default() -> Self {
        Batch::new(BatchLimits::PUT_RECORDS)
    }
}

impl<R> Batch<R> {
    /// An empty batch of at most `limits`.
    pub fn new(limits: BatchLimits) -> Self {
        Batch {
            records: Vec::new(),
            bytes: 0,
            limits,
        }
    }

    /// Adds a record of `billed_size`; returns the full batch to send first when this record
    /// would not fit.
    pub fn push(&mut self, record: R, billed_size: impl Fn(&R) -> usize) -> Option<Vec<R>> {
        let size = billed_size(&record);
        let full = (self.records.len() == self.limits.records
            || self.bytes + size > self.limits.bytes)
            .then(|| self.take());
        self.bytes += size;
        self.records.push(record);
        full
    }

    /// Takes what is gathered.
    pub fn take(&mut self) -> Vec<R> {
        self.bytes = 0;
        std::mem::take(&mut self.records)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests;
