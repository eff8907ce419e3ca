//! Rows repeated field for field within a file, recognised before they are converted: a file that
//! holds the same rows again (appended exports, a file concatenated with itself) does not pay for
//! converting and hashing them again.
//!
//! The reading thread fingerprints each row (a 128-bit XXH3 of its fields and their bounds) and
//! marks the rows already known; workers convert the others, and make known each row that became
//! a trip the stream will take. A known row is a duplicate: its first occurrence, earlier in the
//! file, became that same trip, which the producer sends or counts as a duplicate before it gets
//! to the repeat. A repeat read before its first occurrence is converted is converted like any row,
//! and the producer's duplicate check counts it: being known is a shortcut, never the check.

use super::ReadItem;
use crate::fingerprints::FingerprintSet;
use csv::ByteRecord;
use std::sync::{Mutex, PoisonError};

/// Header plus row bytes up to which a trip read from a row always makes a stream record within
/// [`crate::record::MAX_RECORD_BYTES`]: JSON escapes at most sextuple the names and values, and
/// punctuation and normalized numbers and timestamps add a bounded amount per column (the test
/// `rows_within_the_bound_always_make_records_that_fit` writes the worst case). Longer rows
/// are never made known, so a repeat of a row the producer rejects as too large is rejected too.
const ALWAYS_FITS_BYTES: usize = 16 * 1024;

/// The rows of one file known to become trips the stream takes, shared by the reading thread and
/// the workers.
#[derive(Debug)]
pub(super) struct KnownRows {
    fingerprints: Mutex<FingerprintSet>,
    header_bytes: usize,
}

impl KnownRows {
    /// No row known yet, for a file whose header has `header_bytes` (see [`text_bytes`]).
    pub(super) fn new(header_bytes: usize) -> Self {
        KnownRows {
            fingerprints: Mutex::default(),
            header_bytes,
        }
    }

    /// Sets `repeats` to whether each row (by its fingerprint) is known.
    pub(super) fn mark(&self, fingerprints: &[u128], repeats: &mut Vec<bool>) {
        // A poisoned lock only means a worker panicked while inserting: the set is still sound.
        let known = self
            .fingerprints
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        known.prefetch(fingerprints.iter().copied());
        repeats.clear();
        repeats.extend(
            fingerprints
                .iter()
                .map(|&fingerprint| known.contains(fingerprint)),
        );
    }

    /// Makes known the rows that became trips within the stream's limits, from a chunk's records,
    /// their fingerprints and what they became.
    pub(super) fn learn(&self, records: &[ByteRecord], fingerprints: &[u128], items: &[ReadItem]) {
        let trips: Vec<u128> = records
            .iter()
            .zip(fingerprints)
            .zip(items)
            .filter(|((record, _), item)| match item {
                ReadItem::Trip { id, .. } => {
                    id.fits_key_limits()
                        && self.header_bytes + text_bytes(record) <= ALWAYS_FITS_BYTES
                }
                ReadItem::Rejected(_) | ReadItem::Repeat { .. } => false,
            })
            .map(|((_, &fingerprint), _)| fingerprint)
            .collect();
        if trips.is_empty() {
            return;
        }
        let mut known = self
            .fingerprints
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        for fingerprint in trips {
            known.insert(fingerprint);
        }
    }
}

/// A row's fingerprint: the XXH3-128 of its fields' bytes followed by where each field ends, so
/// that two rows get the same one only when their fields are the same (up to a 2^-128 chance for
/// rows that are not crafted to collide); `scratch` is reused between rows.
pub(super) fn fingerprint(record: &ByteRecord, scratch: &mut Vec<u8>) -> u128 {
    scratch.clear();
    scratch.extend_from_slice(record.as_slice());
    for index in 0..record.len() {
        let end = record.range(index).map_or(0, |range| range.end) as u64;
        scratch.extend_from_slice(&end.to_le_bytes());
    }
    twox_hash::XxHash3_128::oneshot(scratch)
}

/// A record's text, as it counts towards a stream record: its fields plus one separator each.
pub(super) fn text_bytes(record: &ByteRecord) -> usize {
    record.as_slice().len() + record.len()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::read::CsvTripReader;
    use crate::record::{MAX_RECORD_BYTES, encode};

    fn record(fields: &[&str]) -> ByteRecord {
        ByteRecord::from(fields.to_vec())
    }

    #[test]
    fn equal_fields_give_equal_fingerprints_and_moved_bounds_do_not() {
        let fingerprint = |row: &ByteRecord| fingerprint(row, &mut Vec::new());
        let row = record(&["1", "2025-01-01 00:00:00", "ab", "c"]);
        assert_eq!(fingerprint(&row), fingerprint(&row.clone()));
        assert_ne!(
            fingerprint(&row),
            fingerprint(&record(&["1", "2025-01-01 00:00:00", "a", "bc"]))
        );
        assert_ne!(
            fingerprint(&row),
            fingerprint(&record(&["1", "2025-01-01 00:00:00", "ab", "c", ""]))
        );
    }

    fn read(text: &str, workers: usize) -> Vec<ReadItem> {
        CsvTripReader::new(std::io::Cursor::new(text.to_owned()), "r.csv".into(), false)
            .unwrap_or_else(|error| panic!("{error}"))
            .with_workers(workers)
            .collect::<Result<_, _>>()
            .unwrap_or_else(|error| panic!("{error}"))
    }

    #[test]
    fn only_trips_within_the_limits_become_known() {
        let text = format!(
            "tpep_pickup_datetime,tpep_dropoff_datetime,trip_id,note\n\
             2025-01-01 00:00:00,2025-01-01 00:10:00,,a\n\
             2025-01-01 00:00:00,nope,,b\n\
             2025-01-01 00:00:00,2025-01-01 00:10:00,{},c\n\
             2025-01-01 00:00:00,2025-01-01 00:10:00,,{}\n",
            "i".repeat(257),
            "x".repeat(ALWAYS_FITS_BYTES)
        );
        let items = read(&text, 1);
        let mut reader = csv::ReaderBuilder::new().from_reader(text.as_bytes());
        let records: Vec<ByteRecord> = reader.byte_records().map(Result::unwrap).collect();
        let mut scratch = Vec::new();
        let fingerprints: Vec<u128> = records
            .iter()
            .map(|record| fingerprint(record, &mut scratch))
            .collect();
        let known = KnownRows::new(text_bytes(reader.byte_headers().unwrap()));
        known.learn(&records, &fingerprints, &items);
        let mut repeats = Vec::new();
        known.mark(&fingerprints, &mut repeats);
        // A trip; not a rejected row, a trip whose id is too long for a key, a row too long.
        assert_eq!(repeats, [true, false, false, false]);
        assert!(matches!(items[2], ReadItem::Trip { .. }));
        assert!(matches!(items[3], ReadItem::Trip { .. }));
    }

    #[test]
    fn repeats_are_found_on_worker_threads_and_only_in_place_of_repeated_trips() {
        let mut text = String::from("tpep_pickup_datetime,tpep_dropoff_datetime,fare_amount\n");
        // Twelve copies: the reading thread can be at most a few chunks ahead of the workers, so
        // most later copies come after their first occurrence is known.
        for _copy in 0..12 {
            for row in 0..3000 {
                text.push_str(&format!("2025-01-01 00:00:00,2025-01-01 01:00:00,{row}\n"));
                if row % 500 == 0 {
                    text.push_str("2025-01-01 00:00:00,nope,1\n");
                }
            }
        }
        let inline = read(&text, 1);
        let parallel = read(&text, 3);
        assert_eq!(parallel.len(), inline.len());
        let mut repeats = 0;
        for (index, (alone, together)) in inline.iter().zip(&parallel).enumerate() {
            match (alone, together) {
                (ReadItem::Trip { line, .. }, ReadItem::Repeat { line: repeat }) => {
                    assert_eq!(line, repeat);
                    // The same row came before, as a trip.
                    assert!(index >= 3006, "row {index} is a first occurrence");
                    repeats += 1;
                }
                _ => assert_eq!(alone, together),
            }
        }
        // Rows of the second and third copies come long after their first occurrence.
        assert!(repeats > 0);
    }

    /// The billed size (data plus partition key) of the record of a CSV file's one row, which
    /// must be within the bound as [`KnownRows`] counts it.
    fn record_size(csv: String) -> usize {
        let mut parsed = csv::ReaderBuilder::new().from_reader(csv.as_bytes());
        let header = text_bytes(parsed.byte_headers().unwrap());
        let row = parsed.byte_records().next().unwrap().unwrap();
        assert!(header + text_bytes(&row) <= ALWAYS_FITS_BYTES);
        assert!(header + text_bytes(&row) > ALWAYS_FITS_BYTES - 16);
        let mut reader = CsvTripReader::new(std::io::Cursor::new(csv), "t.csv".into(), false)
            .unwrap_or_else(|error| panic!("{error}"));
        let Some(Ok(ReadItem::Trip { trip, id, .. })) = reader.next() else {
            panic!("not a trip");
        };
        let mut out = Vec::new();
        encode(&trip, &id, &mut out);
        out.len() + id.as_str().len()
    }

    #[test]
    fn rows_within_the_bound_always_make_records_that_fit() {
        // Control characters escape to six bytes (`\u0001`): the worst case for JSON text.
        let fixed_header = "tpep_pickup_datetime,tpep_dropoff_datetime,fare_amount,trip_id";
        let id: String = "\u{1}".repeat(256);
        let fixed_row = format!("2025-01-01 00:00:00.123456789,2025-01-01 00:10:00,1e+27,{id}");
        let fixed = fixed_header.len() + fixed_row.len() + 2;
        // Many one-character columns (punctuation per column), then few long ones.
        let columns = (ALWAYS_FITS_BYTES - fixed) / 4;
        let many = record_size(format!(
            "{fixed_header}{}\n{fixed_row}{}\n",
            ",\u{1}".repeat(columns),
            ",\u{2}".repeat(columns)
        ));
        let half = (ALWAYS_FITS_BYTES - fixed) / 2 - 2;
        let long = record_size(format!(
            "{fixed_header},{}\n{fixed_row},{}\n",
            "\u{1}".repeat(half),
            "\u{2}".repeat(half)
        ));
        for size in [many, long] {
            assert!(size > 4 * ALWAYS_FITS_BYTES, "a worst case: {size}");
            assert!(size <= MAX_RECORD_BYTES, "{size}");
        }
    }
}
