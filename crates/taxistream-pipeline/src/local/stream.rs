//! The in-process stream: N shards, each a bounded channel, records routed as Kinesis routes them.

use crate::ports::{PortError, RecordSink, StreamRecord};
use crate::progress::Progress;
use md5::{Digest, Md5};
use std::sync::Arc;
use tokio::sync::mpsc;

/// Batches a shard's channel holds before the producer waits (backpressure).
const SHARD_CHANNEL_BATCHES: usize = 4;

/// The shard Kinesis would pick for `partition_key` among `shards` shards of equal hash-key ranges:
/// the 128-bit MD5 of the key, divided by the width of one shard's range.
pub fn shard_for(partition_key: &str, shards: usize) -> usize {
    let digest: [u8; 16] = Md5::digest(partition_key.as_bytes()).into();
    let hash = u128::from_be_bytes(digest);
    if shards <= 1 {
        return 0;
    }
    // 2^128 / shards, rounded up, without overflowing: (u128::MAX / shards) + 1 for shards ≥ 2.
    let width = u128::MAX / shards as u128 + 1;
    usize::try_from(hash / width).unwrap_or(0)
}

/// The producer's end of the stream.
#[derive(Debug, Clone)]
pub struct LocalStreamSink {
    shards: Vec<mpsc::Sender<Vec<StreamRecord>>>,
    sequence: u64,
    /// Where the records put are counted, as trips sent.
    progress: Option<Arc<Progress>>,
}

/// A consumer's end: the batches of one shard.
pub type ShardReceiver = mpsc::Receiver<Vec<StreamRecord>>;

/// Makes a stream of `shards` shards (at least one).
pub fn local_stream(shards: usize) -> (LocalStreamSink, Vec<ShardReceiver>) {
    let (senders, receivers) = (0..shards.max(1))
        .map(|_| mpsc::channel(SHARD_CHANNEL_BATCHES))
        .unzip();
    (
        LocalStreamSink {
            shards: senders,
            sequence: 0,
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
}

impl RecordSink for LocalStreamSink {
    async fn put_records(&mut self, records: Vec<StreamRecord>) -> Result<(), PortError> {
        if let Some(progress) = &self.progress {
            progress.add_trips(records.len() as u64);
        }
        let mut per_shard: Vec<Vec<StreamRecord>> = vec![Vec::new(); self.shards.len()];
        for mut record in records {
            self.sequence += 1;
            record.sequence_number = Some(self.sequence.to_string());
            per_shard[shard_for(&record.partition_key, self.shards.len())].push(record);
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

    #[test]
    fn shards_split_the_hash_key_range_evenly() {
        // MD5("a") = 0cc175b9…: in the first of two shards, the first of 16.
        assert_eq!(shard_for("a", 2), 0);
        assert_eq!(shard_for("a", 16), 0);
        // MD5("b") = 92eb5ffe…: in the second half, the ninth sixteenth.
        assert_eq!(shard_for("b", 2), 1);
        assert_eq!(shard_for("b", 16), 9);
        assert_eq!(shard_for("b", 1), 0);
    }

    #[test]
    fn ids_spread_over_shards() {
        let mut counts = [0u32; 4];
        for n in 0..4000 {
            counts[shard_for(&format!("{n:032x}"), 4)] += 1;
        }
        assert!(
            counts.iter().all(|&count| (850..1150).contains(&count)),
            "{counts:?}"
        );
    }
}
