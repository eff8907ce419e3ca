//! Property tests: no input makes a reader panic; the record codec and decimals round-trip exactly.
//!
//! The "no input makes … panic" properties are the fuzzers: the test command runs each for
//! `TAXISTREAM_FUZZ_CASES` cases (default 256, seconds in all). For an hour, under a memory cap:
//! `TAXISTREAM_FUZZ_CASES=2000000 timeout 3600 prlimit --as=2147483648 cargo test --release -p
//! taxistream-core --test properties no_` (see the README's "Repository").
#![allow(clippy::unwrap_used, clippy::panic)]

use proptest::prelude::*;
use rust_decimal::Decimal;
use std::sync::Arc;
use taxistream_core::number::{double_to_decimal, parse_decimal};
use taxistream_core::read::ParquetTripReader;
use taxistream_core::schema::Field;
use taxistream_core::trip::TripBuilder;
use taxistream_core::{TripId, open_stream, record};

const HEADER: &[u8] =
    b"VendorID,tpep_pickup_datetime,tpep_dropoff_datetime,trip_distance,fare_amount,total_amount\n";

fn drain_stream(bytes: Vec<u8>) {
    let mut seen = Vec::new();
    for workers in [1, 2] {
        let stream = Box::new(std::io::Cursor::new(bytes.clone()));
        let items: Vec<String> = match open_stream(stream, "fuzz".to_owned(), workers) {
            Ok(reader) => reader.map(|item| format!("{item:?}")).collect(),
            Err(error) => vec![error.to_string()],
        };
        seen.push(items);
    }
    assert_eq!(seen[0], seen[1], "inline and parallel conversion disagree");
}

/// Cases per fuzzing property: `TAXISTREAM_FUZZ_CASES`, or 256.
fn fuzz_cases() -> u32 {
    std::env::var("TAXISTREAM_FUZZ_CASES")
        .ok()
        .and_then(|cases| cases.parse().ok())
        .unwrap_or(256)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(fuzz_cases()))]

    #[test]
    fn no_byte_string_makes_the_stream_reader_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        drain_stream(bytes);
    }

    #[test]
    fn no_row_after_a_valid_header_makes_the_csv_reader_panic(body in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let mut bytes = HEADER.to_vec();
        bytes.extend(body);
        drain_stream(bytes);
    }

    #[test]
    fn no_row_of_plausible_text_makes_the_csv_reader_panic(rows in proptest::collection::vec("[0-9a-zA-Z .:,\"\\-]{0,80}", 0..20)) {
        let mut bytes = HEADER.to_vec();
        for row in rows {
            bytes.extend(row.as_bytes());
            bytes.push(b'\n');
        }
        drain_stream(bytes);
    }

    #[test]
    fn no_damage_to_a_parquet_file_makes_the_parquet_reader_panic(
        cut in 0usize..221_286,
        flips in proptest::collection::vec((0usize..221_286, any::<u8>()), 0..8),
    ) {
        let original = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/yellow_tripdata_2025-01_first10k.parquet")).unwrap();
        let mut bytes = original[..cut.min(original.len())].to_vec();
        for (position, value) in flips {
            if let Some(byte) = bytes.get_mut(position) {
                *byte = value;
            }
        }
        if let Ok(reader) = ParquetTripReader::new(bytes::Bytes::from(bytes), "fuzz.parquet".to_owned()) {
            for item in reader.take(20_000) {
                let _ = item;
            }
        }
    }

    #[test]
    fn no_byte_string_makes_the_record_decoder_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = record::decode(&bytes);
    }

    #[test]
    fn decimals_round_trip_exactly(mantissa in any::<i64>(), scale in 0u32..=18) {
        let value = Decimal::new(mantissa, scale);
        let parsed = parse_decimal(&value.to_string()).unwrap();
        prop_assert_eq!(parsed, value);
        prop_assert_eq!(parse_decimal(&parsed.to_string()).unwrap().to_string(), parsed.to_string());
    }

    #[test]
    fn doubles_become_decimals_that_read_back_as_the_same_double(value in -1.0e12f64..1.0e12) {
        let decimal = double_to_decimal(value, &mut String::new()).unwrap();
        prop_assert_eq!(decimal.to_string().parse::<f64>().unwrap(), value);
    }

    #[test]
    fn record_encode_then_decode_is_the_identity(
        vendor in prop_oneof![Just(String::new()), "[0-9]{1,2}", "[A-Z]{3}"],
        pickup in 0i64..4_000_000_000,
        seconds in -100_000i64..100_000,
        nanos in 0u32..1_000_000_000,
        distance in (any::<i32>(), 0u32..6),
        fare in (any::<i32>(), 0u32..4),
        passengers in proptest::option::of(0i64..9),
        flag in proptest::option::of("[NY]"),
        carried in proptest::collection::vec(("[a-z_]{1,12}", "\\PC{1,16}"), 0..4),
        given_id in proptest::option::of("[a-zA-Z0-9-]{1,20}"),
    ) {
        let pickup_text = timestamp(pickup, 0);
        let dropoff_text = timestamp(pickup + seconds, nanos);
        let mut builder = TripBuilder::new();
        builder.set_text(Field::VendorId, &vendor).unwrap();
        builder.set_text(Field::PickupDatetime, &pickup_text).unwrap();
        builder.set_text(Field::DropoffDatetime, &dropoff_text).unwrap();
        builder.set_text(Field::TripDistance, &Decimal::new(distance.0.into(), distance.1).to_string()).unwrap();
        builder.set_text(Field::FareAmount, &Decimal::new(fare.0.into(), fare.1).to_string()).unwrap();
        if let Some(passengers) = passengers {
            builder.set_integer(Field::PassengerCount, passengers).unwrap();
        }
        if let Some(flag) = &flag {
            builder.set_text(Field::StoreAndFwdFlag, flag).unwrap();
        }
        if let Some(id) = &given_id {
            builder.set_text(Field::TripId, id).unwrap();
        }
        for (name, value) in &carried {
            builder.carry(&Arc::from(format!("x_{name}").as_str()), value.trim());
        }
        let trip = builder.finish().unwrap();
        let id = TripId::identify(&trip);
        let mut bytes = Vec::new();
        record::encode(&trip, &id, &mut bytes);
        let decoded = record::decode(&bytes).unwrap();
        // The record always carries the id, so the decoded trip has it as its given `trip_id`.
        let without_id = |trip: &taxistream_core::Trip| {
            trip.fields().filter(|(field, _)| *field != Field::TripId).map(|(f, v)| (f, v.clone())).collect::<Vec<_>>()
        };
        prop_assert_eq!(without_id(&decoded.trip), without_id(&trip));
        prop_assert_eq!(decoded.trip.carried(), trip.carried());
        prop_assert_eq!(decoded.trip.given_id(), Some(id.as_str()));
        prop_assert_eq!(decoded.id, id);
    }
}

proptest! {
    // Each case reads megabytes: a sixteenth of the cases of the other fuzzing properties.
    #![proptest_config(ProptestConfig::with_cases(fuzz_cases().div_ceil(16)))]

    #[test]
    fn no_row_however_long_makes_the_csv_reader_panic_or_hold_it_whole(
        rows in proptest::collection::vec((0usize..3 << 20, prop::sample::select(&b"x,\"\n\r"[..])), 1..4),
    ) {
        let mut bytes = HEADER.to_vec();
        for (length, byte) in &rows {
            bytes.extend(b"1,2025-01-01 00:00:00,2025-01-01 00:10:00,1,2,");
            bytes.resize(bytes.len() + length, *byte);
            bytes.push(b'\n');
        }
        let stream = Box::new(std::io::Cursor::new(bytes));
        let reader = open_stream(stream, "fuzz".to_owned(), 2).unwrap();
        for item in reader {
            if let Ok(taxistream_core::ReadItem::Rejected(rejection)) = item {
                prop_assert!(rejection.raw.len() <= 4 << 20, "{} bytes kept", rejection.raw.len());
            }
        }
    }
}

/// `YYYY-MM-DD HH:MM:SS[.fffffffff]` for seconds since 1970 (a tiny civil-date converter for tests).
fn timestamp(seconds: i64, nanos: u32) -> String {
    let days = seconds.div_euclid(86_400);
    let second_of_day = seconds.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let mut text = format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}",
        second_of_day / 3600,
        second_of_day / 60 % 60,
        second_of_day % 60
    );
    if nanos != 0 {
        text.push_str(&format!(".{nanos:09}"));
    }
    text
}
