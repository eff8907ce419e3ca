//! Records that are not trip records: set aside, reported, never retried.

use taxistream_core::record::RecordError;
use taxistream_core::{RawEncoding, RejectReason, RowRejection};

/// A record that could not be decoded: reported, never retried, never blocking the shard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoisonRecord {
    /// Its position in the batch.
    pub index: usize,
    /// The record's sequence number, when it came from a stream.
    pub sequence_number: Option<String>,
    /// Which user record of an aggregated record (0-based), when it is one of them alone.
    pub user_record: Option<usize>,
    /// Its partition key.
    pub partition_key: String,
    /// What is wrong with it.
    pub error: RecordError,
    /// The data, as it came.
    pub data: Vec<u8>,
}

impl PoisonRecord {
    /// The record as a rejected row (`bad_record`, or `item_too_large`), for the rejects
    /// destination: its data kept whole (as text, or in hexadecimal when it is not text).
    pub fn to_rejection(&self) -> RowRejection {
        let reason = match self.error {
            RecordError::ItemTooLarge(_) => RejectReason::ItemTooLarge,
            _ => RejectReason::BadRecord,
        };
        let user_record = self
            .user_record
            .map(|index| format!(", user record {index} of the aggregated record"))
            .unwrap_or_default();
        let (raw, raw_encoding) = RawEncoding::keep(&self.data);
        RowRejection {
            line: 0,
            column: None,
            reason,
            detail: format!(
                "stream record {}{user_record} (partition key {}): {}",
                self.sequence_number.as_deref().unwrap_or("?"),
                self.partition_key,
                self.error
            ),
            raw,
            raw_encoding,
        }
    }
}
