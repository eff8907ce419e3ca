//! The consumer use case: decode records, analyse each trip, write the items.

pub use crate::poison::PoisonRecord;
use crate::ports::{PortError, RecordTrips, TripRecord, TripTables};
use taxistream_core::item_size::{MAX_ITEM_BYTES, largest_item_size};
use taxistream_core::record::{DecodedRecord, RecordError};
use taxistream_core::{Accounting, AnalysisRules, AnalysisSummary, analyse};

/// A batch that could not be written whole: records before `first_unwritten` are done (their
/// items are durable), the rest must be consumed again (writes are idempotent upserts).
#[derive(Debug)]
pub struct BatchFailure {
    /// Index in the batch of the first record whose items may not all be written.
    pub first_unwritten: usize,
    /// What failed, after the adapter's own retries.
    pub error: PortError,
}

/// What consuming a batch did.
#[derive(Debug, Default)]
pub struct ConsumeOutcome {
    /// Items per table and trips per category and tier, of the records done.
    pub accounting: Accounting,
    /// Records that were not trip records, among the records done.
    pub poison: Vec<PoisonRecord>,
    /// Each trip record done, by its index in the batch, with what its analysis gave.
    pub analysed: Vec<(usize, AnalysisSummary)>,
    /// Set when the tables failed part way.
    pub failure: Option<BatchFailure>,
}

impl ConsumeOutcome {
    /// Keeps only the records before `index` as done: their trips counted, their poison kept.
    pub fn keep_before(&mut self, index: usize) {
        self.analysed.retain(|(done, _)| *done < index);
        self.poison.retain(|poison| poison.index < index);
        self.accounting = Accounting::default();
        for (_, summary) in &self.analysed {
            self.accounting.count_summary(*summary);
        }
    }
}

/// Analyses every record of a batch and writes the items in record order; undecodable records,
/// and trips whose items DynamoDB would refuse, are set aside. An aggregated record's user
/// records are trips of that record: one that is not a trip record is set aside alone, and an
/// aggregate that cannot be read, whole. When the tables fail part way, the outcome says which
/// records are done (an aggregated record is done when all its trips are).
pub async fn consume<R: TripRecord, T: TripTables>(
    records: &[R],
    rules: &AnalysisRules,
    tables: &mut T,
) -> ConsumeOutcome {
    let mut outcome = ConsumeOutcome::default();
    let mut items = Vec::with_capacity(records.len() * 3);
    // The record each item came from, to map "items written" back to records.
    let mut item_record = Vec::with_capacity(records.len() * 3);
    let mut analyse_one = |index: usize, decoded: Result<&DecodedRecord, RecordError>| {
        let decoded = decoded.and_then(|decoded| {
            let largest = largest_item_size(&decoded.trip, &decoded.id);
            if largest > MAX_ITEM_BYTES {
                return Err(RecordError::ItemTooLarge(largest));
            }
            Ok(decoded)
        });
        match decoded {
            Ok(decoded) => {
                let analysis = analyse(&decoded.trip, &decoded.id, rules);
                let summary = AnalysisSummary::of(&analysis);
                outcome.accounting.count_summary(summary);
                outcome.analysed.push((index, summary));
                item_record.extend(std::iter::repeat_n(index, analysis.items.len()));
                items.extend(analysis.items);
                None
            }
            Err(error) => Some(error),
        }
    };
    let mut poison = Vec::new();
    for (index, record) in records.iter().enumerate() {
        match record.trips() {
            RecordTrips::One(decoded) => {
                let decoded = decoded.as_ref().map(AsRef::as_ref).map_err(Clone::clone);
                if let Some(error) = analyse_one(index, decoded) {
                    poison.push(record.poison(index, error));
                }
            }
            RecordTrips::Aggregated(Err(error)) => {
                poison.push(record.poison(index, RecordError::Aggregate(error)));
            }
            RecordTrips::Aggregated(Ok(users)) => {
                for (position, user) in users.into_iter().enumerate() {
                    let decoded = taxistream_core::record::decode(&user.data);
                    if let Some(error) = analyse_one(index, decoded.as_ref().map_err(Clone::clone))
                    {
                        let mut set_aside = record.poison(index, error);
                        set_aside.user_record = Some(position);
                        set_aside.partition_key = user.partition_key;
                        set_aside.data = user.data;
                        poison.push(set_aside);
                    }
                }
            }
        }
    }
    outcome.poison = poison;
    if items.is_empty() {
        return outcome;
    }
    if let Err(failure) = tables.write_items(items).await {
        let first_unwritten = item_record
            .get(failure.items_written)
            .copied()
            .unwrap_or(records.len());
        // Count only what is done; the rest is counted when it is consumed again.
        outcome.keep_before(first_unwritten);
        outcome.failure = Some(BatchFailure {
            first_unwritten,
            error: failure.error,
        });
    }
    outcome
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::ports::{StreamRecord, WriteFailure};
    use taxistream_core::record::kpl;
    use taxistream_core::{Item, RejectReason, Table, Thresholds};

    /// Tables that accept `capacity` items, then fail.
    struct Failing {
        capacity: usize,
        written: Vec<Item>,
    }

    impl TripTables for Failing {
        async fn write_items(&mut self, items: Vec<Item>) -> Result<(), WriteFailure> {
            let take = items.len().min(self.capacity);
            self.written.extend(items.into_iter().take(take));
            if take < self.capacity {
                return Ok(());
            }
            Err(WriteFailure {
                items_written: take,
                error: PortError::transient("throttled"),
            })
        }
    }

    fn record(minutes: u32, sequence: u64) -> StreamRecord {
        let data = format!(
            r#"{{"pickup_datetime":"2025-01-01 00:00:00","dropoff_datetime":"2025-01-01 00:{minutes:02}:00","trip_distance":2,"fare_amount":10,"total_amount":12}}"#
        );
        StreamRecord {
            explicit_hash_key: None,
            partition_key: format!("k{sequence}"),
            data: data.into_bytes(),
            sequence_number: Some(sequence.to_string()),
        }
    }

    fn poison(sequence: u64) -> StreamRecord {
        StreamRecord {
            explicit_hash_key: None,
            partition_key: "p".into(),
            data: b"not json".to_vec(),
            sequence_number: Some(sequence.to_string()),
        }
    }

    #[tokio::test]
    async fn a_poison_record_is_set_aside_and_the_rest_written() {
        let rules = Thresholds::default().validate().unwrap();
        let records = [record(5, 1), poison(2), record(20, 3)];
        let mut tables = Failing {
            capacity: usize::MAX,
            written: Vec::new(),
        };
        let outcome = consume(&records, &rules, &mut tables).await;
        assert!(outcome.failure.is_none());
        assert_eq!(outcome.poison.len(), 1);
        assert_eq!(outcome.poison[0].sequence_number.as_deref(), Some("2"));
        assert_eq!(
            outcome.poison[0].to_rejection().reason,
            RejectReason::BadRecord
        );
        // Two trips, each a duration item and a fare-per-mile item.
        assert_eq!(tables.written.len(), 4);
        assert_eq!(outcome.accounting.items[&Table::TripDurationAnalysis], 2);
    }

    #[tokio::test]
    async fn a_trip_whose_item_dynamodb_would_refuse_is_set_aside_not_written() {
        let rules = Thresholds::default().validate().unwrap();
        let mut huge = record(5, 2);
        let vendor = format!(r#"{{"vendor_id":"{}","#, "v".repeat(410_000));
        huge.data.splice(..1, vendor.into_bytes());
        let records = [record(5, 1), huge, record(20, 3)];
        let mut tables = Failing {
            capacity: usize::MAX,
            written: Vec::new(),
        };
        let outcome = consume(&records, &rules, &mut tables).await;
        assert!(outcome.failure.is_none());
        let poison: Vec<_> = outcome
            .poison
            .iter()
            .map(|p| p.to_rejection().reason)
            .collect();
        assert_eq!(poison, [RejectReason::ItemTooLarge]);
        assert_eq!(outcome.poison[0].sequence_number.as_deref(), Some("2"));
        assert_eq!(tables.written.len(), 4);
    }

    fn aggregate(sequence: u64, user_records: Vec<(String, Vec<u8>)>) -> StreamRecord {
        let mut aggregate = kpl::Aggregate::new();
        for (partition_key, data) in user_records {
            aggregate.push(kpl::UserRecord {
                partition_key,
                explicit_hash_key: None,
                data,
            });
        }
        StreamRecord {
            explicit_hash_key: None,
            partition_key: "outer".into(),
            data: aggregate.encode(),
            sequence_number: Some(sequence.to_string()),
        }
    }

    fn user(record: StreamRecord) -> (String, Vec<u8>) {
        (record.partition_key, record.data)
    }

    #[tokio::test]
    async fn an_aggregated_record_is_its_trips_and_a_bad_one_among_them_is_set_aside_alone() {
        let rules = Thresholds::default().validate().unwrap();
        let bad = ("p".to_owned(), b"\xff not a trip".to_vec());
        let records = [
            aggregate(1, vec![user(record(5, 10)), bad, user(record(20, 11))]),
            record(40, 2),
        ];
        let mut tables = Failing {
            capacity: usize::MAX,
            written: Vec::new(),
        };
        let outcome = consume(&records, &rules, &mut tables).await;
        assert!(outcome.failure.is_none());
        assert_eq!(outcome.accounting.items[&Table::TripDurationAnalysis], 3);
        let indexes: Vec<usize> = outcome.analysed.iter().map(|(index, _)| *index).collect();
        assert_eq!(indexes, [0, 0, 1]);
        assert_eq!(outcome.poison.len(), 1);
        let poison = &outcome.poison[0];
        assert_eq!((poison.index, poison.user_record), (0, Some(1)));
        assert_eq!(poison.data, b"\xff not a trip");
        let rejection = poison.to_rejection();
        assert_eq!(rejection.raw, "ff206e6f7420612074726970");
        assert_eq!(rejection.raw_encoding, taxistream_core::RawEncoding::Hex);
        assert!(
            rejection.detail.contains("user record 1"),
            "{}",
            rejection.detail
        );
    }

    #[tokio::test]
    async fn an_aggregate_whose_md5_does_not_match_is_set_aside_whole_and_kept_exactly() {
        let rules = Thresholds::default().validate().unwrap();
        let mut damaged = aggregate(1, vec![user(record(5, 10)), user(record(20, 11))]);
        let last = damaged.data.len() - 1;
        damaged.data[last] ^= 0xff;
        let records = [damaged.clone(), record(40, 2)];
        let mut tables = Failing {
            capacity: usize::MAX,
            written: Vec::new(),
        };
        let outcome = consume(&records, &rules, &mut tables).await;
        assert_eq!(outcome.accounting.items[&Table::TripDurationAnalysis], 1);
        assert_eq!(outcome.poison.len(), 1);
        let poison = &outcome.poison[0];
        assert_eq!((poison.index, poison.user_record), (0, None));
        assert!(matches!(
            poison.error,
            RecordError::Aggregate(kpl::AggregateError::Digest)
        ));
        let rejection = poison.to_rejection();
        assert_eq!(rejection.raw_encoding, taxistream_core::RawEncoding::Hex);
        let bytes: Vec<u8> = (0..rejection.raw.len())
            .step_by(2)
            .map(|at| u8::from_str_radix(&rejection.raw[at..at + 2], 16).unwrap())
            .collect();
        assert_eq!(bytes, damaged.data);
    }

    #[tokio::test]
    async fn a_failure_inside_an_aggregate_leaves_the_whole_aggregate_to_do_again() {
        let rules = Thresholds::default().validate().unwrap();
        let records = [
            record(5, 1),
            aggregate(2, vec![user(record(20, 10)), user(record(40, 11))]),
            record(50, 3),
        ];
        // Three items fit: record 1 (two items) and the aggregate's first trip's first item.
        let mut tables = Failing {
            capacity: 3,
            written: Vec::new(),
        };
        let outcome = consume(&records, &rules, &mut tables).await;
        assert_eq!(outcome.failure.unwrap().first_unwritten, 1);
        assert_eq!(outcome.accounting.items[&Table::TripDurationAnalysis], 1);
    }

    #[tokio::test]
    async fn a_failure_part_way_names_the_first_record_not_written() {
        let rules = Thresholds::default().validate().unwrap();
        let records = [
            record(5, 1),
            poison(2),
            record(20, 3),
            poison(4),
            record(40, 5),
        ];
        // Three items fit: record 1 (two items) and half of record 3.
        let mut tables = Failing {
            capacity: 3,
            written: Vec::new(),
        };
        let outcome = consume(&records, &rules, &mut tables).await;
        let failure = outcome.failure.unwrap();
        assert_eq!(failure.first_unwritten, 2);
        assert!(failure.error.retryable());
        // Only what is done is counted: record 1, and the poison record before the failure.
        assert_eq!(outcome.accounting.items[&Table::TripDurationAnalysis], 1);
        assert_eq!(outcome.poison.len(), 1);
    }
}
