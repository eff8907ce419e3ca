//! Records that are not trip records: set aside, reported, never retried.

use taxistream_core::record::RecordError;
use taxistream_core::{RejectReason, RowRejection};

/// A record that could not be decoded: reported, never retried, never blocking the shard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoisonRecord {
    /// Its position in the batch.
    pub index: usize,
    /// The record's sequence number, when it came from a stream.
    pub sequence_number: Option<String>,
    /// Its partition key.
    pub partition_key: String,
    /// What is wrong with it.
    pub error: RecordError,
    /// The raw data, as (lossy) text.
    pub data: String,
}

impl PoisonRecord {
    /// The record as a rejected row (`bad_record`, or `item_too_large`), for the rejects
    /// destination.
    pub fn to_rejection(&self) -> RowRejection {
        let reason = match self.error {
            RecordError::ItemTooLarge(_) => RejectReason::ItemTooLarge,
            _ => RejectReason::BadRecord,
        };
        RowRejection {
            line: 0,
            column: None,
            reason,
            detail: format!(
                "stream record {} (partition key {}): {}",
                self.sequence_number.as_deref().unwrap_or("?"),
                self.partition_key,
                self.error
            ),
            raw: self.data.clone(),
        }
    }
}
