//! The in-process stream: N shards, each a bounded channel of trips, routed as Kinesis routes
//! records (by the MD5 of the partition key, the trip id).

use crate::consume::PoisonRecord;
use crate::ports::{PortError, RecordSink, RecordTrips, TripRecord};
use crate::produce::check_record_limits;
use crate::progress::Progress;
use std::borrow::Cow;
use std::sync::Arc;
use taxistream_core::record::{DecodedRecord, RecordError};
use taxistream_core::{RowRejection, Trip, TripId};
use tokio::sync::mpsc;

/// Batches a shard's channel holds before the producer waits (backpressure).
const SHARD_CHANNEL_BATCHES: usize = 4;

/// The shard Kinesis would pick among `shards` shards of equal hash-key ranges for a record whose
/// partition key has MD5 `hash_key` (as a big-endian number; a trip id's
/// [`TripId::fingerprint`]): the hash key divided by the width of one shard's range.
pub fn shard_for(hash_key: u128, shards: usize) -> usize {
    if shards <= 1 {
        return 0;
    }
    // 2^128 / shards, rounded up, without overflowing: (u128::MAX / shards) + 1 for shards ≥ 2.
    let width = u128::MAX / shards as u128 + 1;
    usize::try_from(hash_key / width).unwrap_or(0)
}

/// A trip on the in-process stream: the trip itself (no bytes to encode and decode again), with
/// where it came from.
#[derive(Debug, Clone)]
pub struct LocalRecord {
    /// The trip and its id.
    pub decoded: DecodedRecord,
    /// The input file it was read from (its index in the run).
    pub file: u32,
    /// Its position in the stream: later records of a trip have larger ones.
    pub order: u64,
}

impl TripRecord for LocalRecord {
    fn trips(&self) -> RecordTrips<'_> {
        RecordTrips::One(Ok(Cow::Borrowed(&self.decoded)))
    }

    fn poison(&self, index: usize, error: RecordError) -> PoisonRecord {
        PoisonRecord {
            index,
            sequence_number: Some(self.order.to_string()),
            user_record: None,
            partition_key: self.decoded.id.as_str().to_owned(),
            error,
            data: Vec::new(),
        }
    }
}

/// The producer's end of the stream.
#[derive(Debug, Clone)]
pub struct LocalStreamSink {
    shards: Vec<mpsc::Sender<Vec<LocalRecord>>>,
    /// The file whose trips are being put.
    file: u32,
    next_order: u64,
    /// Where the records put are counted, as trips sent.
    progress: Option<Arc<Progress>>,
}

/// A consumer's end: the batches of one shard.
pub type ShardReceiver = mpsc::Receiver<Vec<LocalRecord>>;

/// Makes a stream of `shards` shards (at least one).
pub fn local_stream(shards: usize) -> (LocalStreamSink, Vec<ShardReceiver>) {
    let (senders, receivers) = (0..shards.max(1))
        .map(|_| mpsc::channel(SHARD_CHANNEL_BATCHES))
        .unzip();
    (
        LocalStreamSink {
            shards: senders,
            file: 0,
            next_order: 0,
            progress: None,
        },
        receivers,
    )
}

impl LocalStreamSink {
    /// Counts every record put into `progress`'s trips sent.
    pub fn counting_into(self, progress: Arc<Progress>) -> Self {
        LocalStreamSink {
            progress: Some(progress),
            ..self
        }
    }

    /// Marks the records put from now on as read from input file `file`.
    pub fn start_file(&mut self, file: u32) {
        self.file = file;
    }
}

impl RecordSink for LocalStreamSink {
    type Record = LocalRecord;

    /// The trip as it is, once checked against the limits its JSON record would have on Kinesis.
    fn to_record(
        &mut self,
        trip: Trip,
        id: TripId,
        line: u64,
    ) -> Result<LocalRecord, RowRejection> {
        check_record_limits(&trip, &id, line)?;
        self.next_order += 1;
        Ok(LocalRecord {
            decoded: DecodedRecord { id, trip },
            file: self.file,
            order: self.next_order,
        })
    }

    /// Only the record count limits a batch here (500, as on Kinesis).
    fn billed_size(_: &LocalRecord) -> usize {
        0
    }

    async fn put_records(&mut self, records: Vec<LocalRecord>) -> Result<(), PortError> {
        if let Some(progress) = &self.progress {
            progress.add_trips(records.len() as u64);
        }
        let shard_count = self.shards.len();
        let mut per_shard: Vec<Vec<LocalRecord>> = (0..shard_count)
            .map(|_| Vec::with_capacity(records.len() / shard_count + 16))
            .collect();
        for record in records {
            per_shard[shard_for(record.decoded.id.fingerprint(), shard_count)].push(record);
        }
        for (sender, batch) in self.shards.iter().zip(per_shard) {
            if batch.is_empty() {
                continue;
            }
            sender
                .send(batch)
                .await
                .map_err(|_| PortError::permanent("a shard consumer stopped"))?;
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    fn shard_of(partition_key: &str, shards: usize) -> usize {
        shard_for(TripId::given(partition_key).fingerprint(), shards)
    }

    #[test]
    fn shards_split_the_hash_key_range_evenly() {
        // MD5("a") = 0cc175b9…: in the first of two shards, the first of 16.
        assert_eq!(shard_of("a", 2), 0);
        assert_eq!(shard_of("a", 16), 0);
        // MD5("b") = 92eb5ffe…: in the second half, the ninth sixteenth.
        assert_eq!(shard_of("b", 2), 1);
        assert_eq!(shard_of("b", 16), 9);
        assert_eq!(shard_of("b", 1), 0);
    }

    #[test]
    fn ids_spread_over_shards() {
        let mut counts = [0u32; 4];
        for n in 0..4000 {
            counts[shard_of(&format!("{n:032x}"), 4)] += 1;
        }
        assert!(
            counts.iter().all(|&count| (850..1150).contains(&count)),
            "{counts:?}"
        );
    }
}
