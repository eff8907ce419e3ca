//! The narrow ports the use cases talk through. Adapters: [`crate::local`] here, AWS elsewhere.

use crate::poison::PoisonRecord;
use crate::produce::BatchLimits;
use std::borrow::Cow;
use std::future::Future;
use taxistream_core::record::kpl::{self, AggregateError, UserRecord};
use taxistream_core::record::{DecodedRecord, RecordError};
use taxistream_core::{InputError, Item, ReadItem, RowRejection, Trip, TripId};

/// One stream record: the partition key (the trip id) and the data (the JSON record).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamRecord {
    /// The partition key; Kinesis picks the shard from its MD5.
    pub partition_key: String,
    /// When set, Kinesis picks the shard from this (a decimal 128-bit number) instead.
    pub explicit_hash_key: Option<String>,
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

/// Whose fault a port's failure is, which says who can fix it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The outside world: a service, the network, a disk, permissions, settings.
    Environment,
    /// What was given to the port: an item or record the other side refuses as it is.
    Data,
    /// taxistream's own: a broken invariant, a bug to report.
    Internal,
}

/// The cause of a [`PortError`]: any error, kept for the chain.
type Cause = Box<dyn std::error::Error + Send + Sync + 'static>;

/// An error from an adapter: what failed, whose fault it is, whether trying again may help, and
/// the underlying error as its [`source`](std::error::Error::source). Its `Display` is what
/// failed; [`ErrorChain`] says it with every cause, in one line.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct PortError {
    message: String,
    fault: Fault,
    retryable: bool,
    #[source]
    cause: Option<Cause>,
}

impl PortError {
    /// A failure of the outside world that trying again will not cure (a missing bucket, a
    /// denied permission, a full disk).
    pub fn permanent(message: impl Into<String>) -> PortError {
        PortError::new(message, Fault::Environment, false)
    }

    /// A failure of the outside world that trying again later may cure (throttling, a lost
    /// connection, a timeout).
    pub fn transient(message: impl Into<String>) -> PortError {
        PortError::new(message, Fault::Environment, true)
    }

    /// A failure of the outside world, retryable or not.
    pub fn environment(message: impl Into<String>, retryable: bool) -> PortError {
        PortError::new(message, Fault::Environment, retryable)
    }

    /// Data the other side refuses as it is: sending it again fails again.
    pub fn refused_data(message: impl Into<String>) -> PortError {
        PortError::new(message, Fault::Data, false)
    }

    /// A check of taxistream's own that failed: a bug.
    pub fn internal(message: impl Into<String>) -> PortError {
        PortError::new(message, Fault::Internal, false)
    }

    fn new(message: impl Into<String>, fault: Fault, retryable: bool) -> PortError {
        PortError {
            message: message.into(),
            fault,
            retryable,
            cause: None,
        }
    }

    /// The same error, caused by `cause`.
    pub fn caused_by(mut self, cause: impl Into<Cause>) -> PortError {
        self.cause = Some(cause.into());
        self
    }

    /// The same error, retryable also when `condition` holds (e.g. an expired iterator, which
    /// a fresh one cures).
    pub fn retryable_also_when(mut self, condition: bool) -> PortError {
        self.retryable |= condition;
        self
    }

    /// The same error, its message followed by `detail` (e.g. how many attempts were made).
    pub fn with_detail(mut self, detail: impl std::fmt::Display) -> PortError {
        self.message = format!("{} {detail}", self.message);
        self
    }

    /// What failed, without its causes.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Whose fault it is.
    pub fn fault(&self) -> Fault {
        self.fault
    }

    /// True when the outside world may recover: the same call may succeed later.
    pub fn retryable(&self) -> bool {
        self.retryable
    }
}

/// An error and each of its causes, in one line: `what failed: why: why that`.
#[derive(Debug, Clone, Copy)]
pub struct ErrorChain<'a>(pub &'a (dyn std::error::Error + 'static));

impl std::fmt::Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut cause = self.0.source();
        while let Some(error) = cause {
            write!(f, ": {error}")?;
            cause = error.source();
        }
        Ok(())
    }
}

/// A write to the trip tables that failed part way: the items before `items_written` (in the
/// order given) are done (durable, or replaced by a later item of the same key, which is not
/// done yet), the rest may or may not be.
#[derive(Debug, thiserror::Error)]
#[error("write failed after {items_written} items")]
pub struct WriteFailure {
    /// Leading items known to be written.
    pub items_written: usize,
    /// What failed.
    #[source]
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

    /// How many records, and bytes, to gather for one [`Self::put_records`].
    fn batch_limits(&self) -> BatchLimits {
        BatchLimits::PUT_RECORDS
    }

    /// Puts one batch (within [`Self::batch_limits`]); returns when every record is accepted.
    fn put_records(
        &mut self,
        records: Vec<Self::Record>,
    ) -> impl Future<Output = Result<(), PortError>> + Send;
}

/// A record as the consumer reads it: decoded from its bytes, or already a trip.
pub trait TripRecord {
    /// The trip the record holds, or, for a KPL aggregated record, its user records.
    fn trips(&self) -> RecordTrips<'_>;

    /// The record set aside as poison: `index` in its batch, and what is wrong with it.
    fn poison(&self, index: usize, error: RecordError) -> PoisonRecord;
}

/// What a record holds.
#[derive(Debug)]
pub enum RecordTrips<'a> {
    /// One trip and its id, or why the record is not a trip record.
    One(Result<Cow<'a, DecodedRecord>, RecordError>),
    /// The user records of an aggregated record (each one decoded apart), or why the aggregate
    /// cannot be read.
    Aggregated(Result<Vec<UserRecord>, AggregateError>),
}

impl TripRecord for StreamRecord {
    fn trips(&self) -> RecordTrips<'_> {
        if kpl::is_aggregated(&self.data) {
            return RecordTrips::Aggregated(kpl::deaggregate(&self.data));
        }
        RecordTrips::One(taxistream_core::record::decode(&self.data).map(Cow::Owned))
    }

    fn poison(&self, index: usize, error: RecordError) -> PoisonRecord {
        PoisonRecord {
            index,
            sequence_number: self.sequence_number.clone(),
            user_record: None,
            partition_key: self.partition_key.clone(),
            error,
            data: self.data.clone(),
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::{ErrorChain, Fault, PortError};

    #[test]
    fn a_port_error_keeps_its_cause_and_says_the_chain_in_one_line() {
        let cause = std::io::Error::other("disk full");
        let error = PortError::permanent("rejects file out.csv").caused_by(cause);
        assert_eq!(error.to_string(), "rejects file out.csv");
        assert_eq!(
            std::error::Error::source(&error).unwrap().to_string(),
            "disk full"
        );
        assert_eq!(
            ErrorChain(&error).to_string(),
            "rejects file out.csv: disk full"
        );
        assert_eq!(error.fault(), Fault::Environment);
        assert!(!error.retryable());
    }

    #[test]
    fn a_detail_keeps_the_fault_the_retry_hint_and_the_cause() {
        let error = PortError::transient("PutRecords")
            .caused_by(std::io::Error::other("connection reset"))
            .with_detail("(after 3 attempts)");
        assert_eq!(
            ErrorChain(&error).to_string(),
            "PutRecords (after 3 attempts): connection reset"
        );
        assert!(error.retryable());
        assert_eq!(PortError::refused_data("too large").fault(), Fault::Data);
        assert!(!PortError::internal("a bug").retryable());
        assert!(
            PortError::permanent("expired")
                .retryable_also_when(true)
                .retryable()
        );
    }
}
