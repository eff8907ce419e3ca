//! The narrow ports the use cases talk through. Adapters: [`crate::local`] here, AWS elsewhere.

use crate::poison::PoisonRecord;
use std::borrow::Cow;
use std::future::Future;
use taxistream_core::record::{DecodedRecord, RecordError};
use taxistream_core::{InputError, Item, ReadItem, RowRejection, Trip, TripId};

/// One stream record: the partition key (the trip id) and the data (the JSON record).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamRecord {
    /// The partition key; Kinesis picks the shard from its MD5.
    pub partition_key: String,
    /// The record bytes.
    pub data: Vec<u8>,
    /// The stream's sequence number, once the record is on a stream (decimal digits).
    pub sequence_number: Option<String>,
}

impl StreamRecord {
    /// The size Kinesis counts against its limits: data plus partition key.
    pub fn billed_size(&self) -> usize {
        self.data.len() + self.partition_key.len()
    }
}

/// An error from an adapter, saying whether trying again may help.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct PortError {
    /// What failed, in one line.
    pub message: String,
    /// True when the outside world may recover (throttling, a lost connection).
    pub retryable: bool,
}

impl PortError {
    /// A permanent failure.
    pub fn permanent(message: impl Into<String>) -> PortError {
        PortError {
            message: message.into(),
            retryable: false,
        }
    }

    /// A failure that trying again later may cure.
    pub fn transient(message: impl Into<String>) -> PortError {
        PortError {
            message: message.into(),
            retryable: true,
        }
    }
}

/// A write to the trip tables that failed part way: the items before `items_written` (in the
/// order given) are done (durable, or replaced by a later item of the same key, which is not
/// done yet), the rest may or may not be.
#[derive(Debug, thiserror::Error)]
#[error("{error} ({items_written} items written before it)")]
pub struct WriteFailure {
    /// Leading items known to be written.
    pub items_written: usize,
    /// What failed.
    pub error: PortError,
}

/// Where the producer reads trips from (a local file, an S3 object): rows in file order.
pub trait TripSource {
    /// The next row as a trip or a rejection; `None` at the end; an error stops the source.
    fn next_item(&mut self) -> impl Future<Output = Option<Result<ReadItem, InputError>>> + Send;
}

/// Where the producer puts trips: a Kinesis stream (JSON records), or the in-process stream
/// (the trips themselves).
pub trait RecordSink {
    /// One trip as this stream carries it.
    type Record: Send;

    /// The trip as a record of this stream, or the rejection of its row (`line`) when the record
    /// would break the stream's limits (the same limits on every stream, so results agree).
    fn to_record(
        &mut self,
        trip: Trip,
        id: TripId,
        line: u64,
    ) -> Result<Self::Record, RowRejection>;

    /// The bytes a record counts against the PutRecords limits.
    fn billed_size(record: &Self::Record) -> usize;

    /// Puts one batch (at most 500 records and 5 MiB); returns when every record is accepted.
    fn put_records(
        &mut self,
        records: Vec<Self::Record>,
    ) -> impl Future<Output = Result<(), PortError>> + Send;
}

/// A record as the consumer reads it: decoded from its bytes, or already a trip.
pub trait TripRecord {
    /// The trip and its id, or why the record is not a trip record.
    fn decode(&self) -> Result<Cow<'_, DecodedRecord>, RecordError>;

    /// The record set aside as poison: `index` in its batch, and what is wrong with it.
    fn poison(&self, index: usize, error: RecordError) -> PoisonRecord;
}

impl TripRecord for StreamRecord {
    fn decode(&self) -> Result<Cow<'_, DecodedRecord>, RecordError> {
        taxistream_core::record::decode(&self.data).map(Cow::Owned)
    }

    fn poison(&self, index: usize, error: RecordError) -> PoisonRecord {
        PoisonRecord {
            index,
            sequence_number: self.sequence_number.clone(),
            partition_key: self.partition_key.clone(),
            error,
            data: String::from_utf8_lossy(&self.data).into_owned(),
        }
    }
}

/// Where the consumer writes items (DynamoDB, or SQLite); writes are idempotent upserts.
pub trait TripTables {
    /// Writes the items; returns when all are durable, or says how many leading items are.
    fn write_items(
        &mut self,
        items: Vec<Item>,
    ) -> impl Future<Output = Result<(), WriteFailure>> + Send;
}

/// Where rejected rows go (a file locally, an S3 object on AWS).
pub trait RejectSink {
    /// Records one rejected row of `source_name`.
    fn reject(
        &mut self,
        source_name: &str,
        rejection: &RowRejection,
    ) -> impl Future<Output = Result<(), PortError>> + Send;

    /// Makes the rows recorded so far durable (before a checkpoint moves past them). Sinks that
    /// are written whole at the end have nothing to do.
    fn flush(&mut self) -> impl Future<Output = Result<(), PortError>> + Send {
        async { Ok(()) }
    }
}
