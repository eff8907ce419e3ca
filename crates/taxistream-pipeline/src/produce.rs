//! The producer use case: read a trip file, send one record per distinct trip.

use crate::ports::{PortError, RecordSink, RejectSink, StreamRecord, TripSource};
use crate::seen::SeenTrips;
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
/// unread (in the accounting's sense) for another invocation.
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
    let mut batch = Batch::default();
    let mut ahead = Vec::with_capacity(LOOKAHEAD_ROWS);
    // The source is not asked again after its end or an error.
    let mut ended = false;
    loop {
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
        for item in ahead.drain(..) {
            let item = item?;
            last_line = item_line(&item);
            let rejection = match item {
                ReadItem::Rejected(rejection) => rejection,
                ReadItem::Trip { trip, id, line } => {
                    if let Some(seen) = seen.as_deref_mut()
                        && !seen.first_sighting(&id)
                    {
                        accounting.count_duplicate();
                        continue;
                    }
                    let fingerprint = id.fingerprint();
                    match sink.to_record(trip, id, line) {
                        Ok(record) => {
                            accounting.count_trip();
                            if let Some(full) = batch.push(record, S::billed_size) {
                                sink.put_records(full).await.map_err(ProduceError::Sink)?;
                                if stop() {
                                    let rest = batch.take();
                                    if !rest.is_empty() {
                                        sink.put_records(rest).await.map_err(ProduceError::Sink)?;
                                    }
                                    return Ok(Produced {
                                        accounting,
                                        last_line,
                                        finished: false,
                                    });
                                }
                            }
                            continue;
                        }
                        Err(rejection) => {
                            if let Some(seen) = seen.as_deref_mut() {
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
        finished: true,
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
    let mut data = Vec::with_capacity(384);
    record::encode(trip, id, &mut data);
    let record = StreamRecord {
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

fn too_large(id: &TripId, line: u64, data: &[u8]) -> RowRejection {
    let billed = data.len() + id.as_str().len();
    RowRejection {
        line,
        column: None,
        reason: RejectReason::RecordTooLarge,
        detail: format!(
            "trip {} encodes to {billed} bytes, over the {MAX_RECORD_BYTES}-byte record limit",
            id.as_str(),
        ),
        raw: format!(
            "{}… (first {RAW_PREFIX_BYTES} bytes of the record)",
            String::from_utf8_lossy(&data[..RAW_PREFIX_BYTES.min(data.len())])
        ),
    }
}

/// Records gathered up to the PutRecords limits.
#[derive(Debug)]
pub struct Batch<R> {
    records: Vec<R>,
    bytes: usize,
}

impl<R> Default for Batch<R> {
    fn default() -> Self {
        Batch {
            records: Vec::new(),
            bytes: 0,
        }
    }
}

impl<R> Batch<R> {
    /// Adds a record of `billed_size`; returns the full batch to send first when this record
    /// would not fit.
    pub fn push(&mut self, record: R, billed_size: impl Fn(&R) -> usize) -> Option<Vec<R>> {
        let size = billed_size(&record);
        let full = (self.records.len() == MAX_RECORDS_PER_BATCH
            || self.bytes + size > MAX_BATCH_BYTES)
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
mod tests {
    use super::*;

    fn record(bytes: usize) -> StreamRecord {
        StreamRecord {
            partition_key: "k".repeat(32),
            data: vec![b'x'; bytes],
            sequence_number: None,
        }
    }

    /// A builder holding a trip from midnight to `minutes` past.
    fn timed(minutes: u32) -> taxistream_core::trip::TripBuilder {
        use taxistream_core::schema::Field;
        let mut builder = taxistream_core::trip::TripBuilder::new();
        assert!(
            builder
                .set_text(Field::PickupDatetime, "2025-01-01 00:00:00")
                .is_ok()
        );
        let dropoff = format!("2025-01-01 00:{minutes:02}:00");
        assert!(builder.set_text(Field::DropoffDatetime, &dropoff).is_ok());
        builder
    }

    #[test]
    fn a_record_over_1_mib_is_rejected_not_sent() {
        let mut builder = timed(10);
        builder.carry(&std::sync::Arc::from("note"), &"x".repeat(MAX_RECORD_BYTES));
        let trip = builder.finish().unwrap();
        let id = TripId::identify(&trip);
        let rejection = stream_record(&trip, &id, 7).unwrap_err();
        assert_eq!(rejection.line, 7);
        assert_eq!(rejection.reason, RejectReason::RecordTooLarge);
        assert!(rejection.detail.contains(id.as_str()));
    }

    #[test]
    fn the_limit_check_without_encoding_agrees_with_the_encoded_record() {
        // Text that JSON escapes six-fold, plain text, and sizes on both sides of the limit.
        for (unit, sizes) in [
            ("\u{1}", [174_000, 174_700, 175_000]),
            ("x", [1_048_000, 1_048_200, 1_048_576]),
        ] {
            for size in sizes {
                let mut builder = timed(10);
                builder.carry(&std::sync::Arc::from("note"), &unit.repeat(size));
                let trip = builder.finish().unwrap();
                let id = TripId::identify(&trip);
                let encoded = stream_record(&trip, &id, 1).map(|_| ());
                let checked = check_record_limits(&trip, &id, 1);
                assert_eq!(
                    encoded.as_ref().map_err(|r| r.reason),
                    checked.as_ref().map_err(|r| r.reason),
                    "{size} × {unit:?}"
                );
            }
        }
    }

    #[test]
    fn a_given_trip_id_over_256_characters_is_rejected() {
        let trip = timed(10).finish().unwrap();
        let rejection = stream_record(&trip, &TripId::given(&"é".repeat(257)), 3).unwrap_err();
        assert_eq!(rejection.reason, RejectReason::BadTripId);
        assert!(stream_record(&trip, &TripId::given(&"é".repeat(256)), 3).is_ok());
    }

    /// Gives its items in order, then `None`; asked once more after an error or the end, panics.
    struct Scripted(std::collections::VecDeque<Option<Result<ReadItem, InputError>>>);

    impl TripSource for Scripted {
        async fn next_item(&mut self) -> Option<Result<ReadItem, InputError>> {
            self.0
                .pop_front()
                .unwrap_or_else(|| panic!("the source was asked after its end or error"))
        }
    }

    #[derive(Default)]
    struct Collected(Vec<StreamRecord>);

    impl RecordSink for Collected {
        type Record = StreamRecord;

        fn to_record(
            &mut self,
            trip: Trip,
            id: TripId,
            line: u64,
        ) -> Result<StreamRecord, RowRejection> {
            stream_record(&trip, &id, line)
        }

        fn billed_size(record: &StreamRecord) -> usize {
            record.billed_size()
        }

        async fn put_records(&mut self, records: Vec<StreamRecord>) -> Result<(), PortError> {
            self.0.extend(records);
            Ok(())
        }
    }

    impl RejectSink for Collected {
        async fn reject(&mut self, _: &str, _: &RowRejection) -> Result<(), PortError> {
            Ok(())
        }
    }

    fn trip_item(minutes: u32, line: u64) -> ReadItem {
        let trip = timed(minutes).finish().unwrap();
        let id = TripId::identify(&trip);
        ReadItem::Trip { trip, id, line }
    }

    #[test]
    fn rows_before_an_error_are_sent_and_nothing_is_read_after_it() {
        let error = InputError::Read {
            source_name: "f.csv".to_owned(),
            line: 3,
            detail: "truncated".to_owned(),
        };
        let source = Scripted(
            [
                Some(Ok(trip_item(10, 2))),
                Some(Ok(trip_item(10, 3))),
                Some(Err(error)),
            ]
            .into(),
        );
        let (mut sink, mut rejects, mut seen) = (
            Collected::default(),
            Collected::default(),
            SeenTrips::default(),
        );
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let result = runtime.block_on(produce(
            source,
            "f.csv",
            Some(&mut seen),
            &mut sink,
            &mut rejects,
        ));
        assert!(matches!(
            result,
            Err(ProduceError::Input(InputError::Read { line: 3, .. }))
        ));
        // The batch in hand when the error came is not sent; the duplicate was counted, not kept.
        assert!(sink.0.is_empty());
        assert_eq!(seen.len(), 1);

        let source =
            Scripted([Some(Ok(trip_item(10, 2))), Some(Ok(trip_item(20, 3))), None].into());
        let (mut sink, mut seen) = (Collected::default(), SeenTrips::default());
        let accounting = runtime
            .block_on(produce(
                source,
                "f.csv",
                Some(&mut seen),
                &mut sink,
                &mut rejects,
            ))
            .unwrap();
        assert_eq!(
            (accounting.rows_read, accounting.trips, sink.0.len()),
            (2, 2, 2)
        );
    }

    #[test]
    fn a_stop_after_a_call_leaves_every_row_handled_sent_and_says_where_to_resume() {
        // 1,200 distinct trips on lines 2..=1201; the scripted source then ends.
        let rows: Vec<_> = (0..1200u32)
            .map(|n| Some(Ok(trip_item(n % 60, u64::from(n) + 2))))
            .chain([None])
            .collect();
        let (mut sink, mut rejects) = (Collected::default(), Collected::default());
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let produced = runtime
            .block_on(produce_until(
                Scripted(rows.into()),
                "f.csv",
                None,
                &mut sink,
                &mut rejects,
                || true,
            ))
            .unwrap();
        assert!(!produced.finished);
        // The first full batch went out, then the row that started the next one.
        assert_eq!(produced.accounting.rows_read, 501);
        assert_eq!(produced.accounting.trips, 501);
        assert_eq!(sink.0.len(), 501);
        assert_eq!(produced.last_line, 502);
    }

    #[test]
    fn batches_hold_at_most_500_records() {
        let mut batch = Batch::default();
        let mut sent = Vec::new();
        for _ in 0..1201 {
            sent.extend(
                batch
                    .push(record(10), StreamRecord::billed_size)
                    .map(|full| full.len()),
            );
        }
        sent.push(batch.take().len());
        assert_eq!(sent, [500, 500, 201]);
    }

    #[test]
    fn batches_hold_at_most_5_mib() {
        let mut batch = Batch::default();
        let mut sent = Vec::new();
        for _ in 0..12 {
            sent.extend(
                batch
                    .push(record(MAX_RECORD_BYTES - 32), StreamRecord::billed_size)
                    .map(|full| full.len()),
            );
        }
        sent.push(batch.take().len());
        assert_eq!(sent, [5, 5, 2]);
    }
}
