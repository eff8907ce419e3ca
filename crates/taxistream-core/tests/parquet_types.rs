//! Parquet files with every physical type TLC has used: integers as int32, int64 or double,
//! timestamps in ms, us or ns, string and large_string, nulls anywhere.
#![allow(clippy::unwrap_used, clippy::panic)]

use arrow_array::{
    ArrayRef, Float64Array, Int32Array, Int64Array, LargeStringArray, RecordBatch, StringArray,
    TimestampMicrosecondArray, TimestampMillisecondArray, TimestampNanosecondArray,
};
use parquet::arrow::ArrowWriter;
use std::sync::Arc;
use taxistream_core::read::ParquetTripReader;
use taxistream_core::schema::Field;
use taxistream_core::{ReadItem, RejectReason};

fn parquet(columns: Vec<(&str, ArrayRef)>) -> bytes::Bytes {
    let batch = RecordBatch::try_from_iter(columns).unwrap();
    let mut buffer = Vec::new();
    let mut writer = ArrowWriter::try_new(&mut buffer, batch.schema(), None).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
    bytes::Bytes::from(buffer)
}

fn read(bytes: bytes::Bytes) -> Vec<ReadItem> {
    ParquetTripReader::new(bytes, "types.parquet".to_owned())
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

// 2024-01-01 00:57:55 and 01:02:03 as seconds since the epoch.
const PICKUP: i64 = 1_704_070_675;
const DROPOFF: i64 = 1_704_070_923;

#[test]
fn every_timestamp_unit_and_integer_encoding_reads_the_same_trip() {
    let pickups: [ArrayRef; 3] = [
        Arc::new(TimestampMillisecondArray::from(vec![
            Some(PICKUP * 1_000),
            None,
        ])),
        Arc::new(TimestampMicrosecondArray::from(vec![
            Some(PICKUP * 1_000_000),
            None,
        ])),
        Arc::new(TimestampNanosecondArray::from(vec![
            Some(PICKUP * 1_000_000_000),
            None,
        ])),
    ];
    let mut ids = Vec::new();
    for pickup in pickups {
        let dropoff: ArrayRef = Arc::new(TimestampMillisecondArray::from(vec![DROPOFF * 1_000; 2]));
        let integers: [(ArrayRef, ArrayRef); 3] = [
            (
                Arc::new(Int32Array::from(vec![Some(1), None])),
                Arc::new(Int32Array::from(vec![Some(2), Some(2)])),
            ),
            (
                Arc::new(Int64Array::from(vec![Some(1), None])),
                Arc::new(Int64Array::from(vec![Some(2), Some(2)])),
            ),
            (
                Arc::new(Float64Array::from(vec![Some(1.0), None])),
                Arc::new(Float64Array::from(vec![Some(2.0), Some(2.0)])),
            ),
        ];
        for (passengers, vendor) in integers {
            let flags: [ArrayRef; 2] = [
                Arc::new(StringArray::from(vec![Some("N"), None])),
                Arc::new(LargeStringArray::from(vec![Some("N"), None])),
            ];
            for flag in flags {
                let items = read(parquet(vec![
                    ("VendorID", Arc::clone(&vendor)),
                    ("tpep_pickup_datetime", Arc::clone(&pickup)),
                    ("tpep_dropoff_datetime", Arc::clone(&dropoff)),
                    ("passenger_count", Arc::clone(&passengers)),
                    ("store_and_fwd_flag", flag),
                    (
                        "fare_amount",
                        Arc::new(Float64Array::from(vec![Some(12.36), None])),
                    ),
                ]));
                let ReadItem::Trip { trip, id, line } = &items[0] else {
                    panic!("{items:?}")
                };
                assert_eq!(*line, 1);
                assert_eq!(trip.pickup().to_string(), "2024-01-01T00:57:55");
                assert_eq!(
                    trip.decimal(Field::FareAmount).map(|d| d.to_string()),
                    Some("12.36".into())
                );
                ids.push(id.as_str().to_owned());
                let ReadItem::Rejected(rejection) = &items[1] else {
                    panic!("{items:?}")
                };
                assert_eq!(
                    (rejection.line, rejection.reason),
                    (2, RejectReason::MissingTimestamp)
                );
            }
        }
    }
    ids.dedup();
    assert_eq!(
        ids.len(),
        1,
        "one trip, whatever the physical types: {ids:?}"
    );
}

#[test]
fn a_non_integral_double_in_an_integer_field_is_a_bad_number() {
    let items = read(parquet(vec![
        (
            "tpep_pickup_datetime",
            Arc::new(TimestampMillisecondArray::from(vec![PICKUP * 1_000])) as ArrayRef,
        ),
        (
            "tpep_dropoff_datetime",
            Arc::new(TimestampMillisecondArray::from(vec![DROPOFF * 1_000])),
        ),
        ("passenger_count", Arc::new(Float64Array::from(vec![1.5]))),
    ]));
    let ReadItem::Rejected(rejection) = &items[0] else {
        panic!("{items:?}")
    };
    assert_eq!(rejection.reason, RejectReason::BadNumber);
    assert_eq!(rejection.column, Some((3, "passenger_count".to_owned())));
}
