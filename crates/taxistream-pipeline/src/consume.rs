//! The consumer use case: decode records, analyse each trip, write the items.

use crate::ports::{PortError, StreamRecord, TripTables};
use taxistream_core::record::{self, RecordError};
use taxistream_core::{Accounting, AnalysisRules, analyse};

/// A record that could not be decoded: reported, never retried, never blocking the shard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoisonRecord {
    /// The record's sequence number, when it came from a stream.
    pub sequence_number: Option<String>,
    /// Its partition key.
    pub partition_key: String,
    /// What is wrong with it.
    pub error: RecordError,
    /// The raw data, as (lossy) text.
    pub data: String,
}

/// What consuming a batch did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ConsumeOutcome {
    /// Items per table and trips per category and tier.
    pub accounting: Accounting,
    /// Records that were not trip records.
    pub poison: Vec<PoisonRecord>,
}

/// Analyses every record of a batch and writes the items; undecodable records are set aside.
pub async fn consume<T: TripTables>(
    records: &[StreamRecord],
    rules: &AnalysisRules,
    tables: &mut T,
) -> Result<ConsumeOutcome, PortError> {
    let mut outcome = ConsumeOutcome::default();
    let mut items = Vec::with_capacity(records.len() * 3);
    for stream_record in records {
        match record::decode(&stream_record.data) {
            Ok(decoded) => {
                let analysis = analyse(&decoded.trip, &decoded.id, rules);
                outcome.accounting.count_analysis(&analysis);
                items.extend(analysis.items);
            }
            Err(error) => outcome.poison.push(PoisonRecord {
                sequence_number: stream_record.sequence_number.clone(),
                partition_key: stream_record.partition_key.clone(),
                error,
                data: String::from_utf8_lossy(&stream_record.data).into_owned(),
            }),
        }
    }
    if !items.is_empty() {
        tables.write_items(items).await?;
    }
    Ok(outcome)
}
