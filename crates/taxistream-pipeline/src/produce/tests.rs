//! Tests of the producer use case.

use super::*;

fn record(bytes: usize) -> StreamRecord {
    StreamRecord {
        explicit_hash_key: None,
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

/// A trip whose vendor id is `bytes` long.
fn with_vendor(bytes: usize) -> (Trip, TripId) {
    let mut builder = timed(10);
    let vendor = "v".repeat(bytes);
    let field = taxistream_core::schema::Field::VendorId;
    assert!(builder.set_text(field, &vendor).is_ok());
    let trip = builder.finish().unwrap();
    let id = TripId::identify(&trip);
    (trip, id)
}

#[test]
fn a_trip_whose_item_would_pass_400_kb_is_rejected_at_the_boundary_on_both_paths() {
    use taxistream_core::item_size::{MAX_ITEM_BYTES, largest_item_size};
    let (trip, id) = with_vendor(MAX_ITEM_BYTES);
    // Every byte of the vendor id is a byte of the item.
    let fixed = largest_item_size(&trip, &id) - MAX_ITEM_BYTES;
    let (at_limit, id_at_limit) = with_vendor(MAX_ITEM_BYTES - fixed);
    assert_eq!(largest_item_size(&at_limit, &id_at_limit), MAX_ITEM_BYTES);
    assert!(stream_record(&at_limit, &id_at_limit, 1).is_ok());
    assert!(check_record_limits(&at_limit, &id_at_limit, 1).is_ok());
    let (over, over_id) = with_vendor(MAX_ITEM_BYTES - fixed + 1);
    for rejected in [
        stream_record(&over, &over_id, 4).map(|_| ()),
        check_record_limits(&over, &over_id, 4),
    ] {
        let rejection = rejected.unwrap_err();
        assert_eq!(
            (rejection.line, rejection.reason),
            (4, RejectReason::ItemTooLarge)
        );
        let largest = MAX_ITEM_BYTES + 1;
        assert!(
            rejection
                .detail
                .contains(&format!("would be {largest} bytes"))
        );
        assert!(rejection.raw.len() < 1024);
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

    let source = Scripted([Some(Ok(trip_item(10, 2))), Some(Ok(trip_item(20, 3))), None].into());
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
fn a_stop_on_the_call_that_sends_the_last_row_is_finished() {
    // 11 rejected rows and 501 trips: 512 rows, eight full lookaheads, and the 501st trip (the
    // source's last row) is what fills the first batch and so triggers the stop.
    let rejected = (0..11u64).map(|n| {
        Some(Ok(ReadItem::Rejected(RowRejection {
            raw_encoding: taxistream_core::RawEncoding::Text,
            line: n + 2,
            column: None,
            reason: RejectReason::BadNumber,
            detail: String::new(),
            raw: String::new(),
        })))
    });
    let trips = (0..501u32).map(|n| Some(Ok(trip_item(n % 60, u64::from(n) + 13))));
    let rows: Vec<_> = rejected.chain(trips).chain([None]).collect();
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
    assert!(produced.finished);
    assert_eq!(produced.accounting.rows_read, 512);
    assert_eq!(sink.0.len(), 501);
    assert_eq!(produced.last_line, 513);
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
