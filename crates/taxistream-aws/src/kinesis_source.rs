//! Reading a Kinesis stream outside Lambda: every shard polled with GetRecords, from a start
//! position or from a checkpoint per shard (the last sequence number whose batch is done).

use crate::error::port_error;
use aws_sdk_kinesis::types::ShardIteratorType;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;
use taxistream_pipeline::local::staging::replace_durably;
use taxistream_pipeline::{PortError, StreamRecord};

/// Where reading starts on a shard that has no checkpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartPosition {
    /// The oldest record kept.
    TrimHorizon,
    /// Only records put from now on.
    Latest,
}

/// The last sequence number done per shard: where a restarted reader resumes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoints {
    /// The stream they belong to.
    pub stream: String,
    /// Shard id → last sequence number done.
    pub shards: BTreeMap<String, String>,
}

impl Checkpoints {
    /// Loads the checkpoints of `stream` from `path`; none when the file does not exist.
    pub fn load(path: &Path, stream: &str) -> Result<Checkpoints, PortError> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Checkpoints {
                    stream: stream.to_owned(),
                    shards: BTreeMap::new(),
                });
            }
            Err(error) => {
                return Err(PortError::permanent(format!(
                    "checkpoint file {}: {error}",
                    path.display()
                )));
            }
        };
        let checkpoints: Checkpoints = serde_json::from_str(&text).map_err(|error| {
            PortError::permanent(format!("checkpoint file {}", path.display())).caused_by(error)
        })?;
        if checkpoints.stream != stream {
            return Err(PortError::permanent(format!(
                "checkpoint file {} belongs to stream {}, not {stream}: use another --checkpoint file",
                path.display(),
                checkpoints.stream
            )));
        }
        Ok(checkpoints)
    }

    /// Saves atomically and durably (a synced temporary file renamed over the old one, and the
    /// directory synced): a crash leaves the old checkpoints or the new ones.
    pub fn save(&self, path: &Path) -> Result<(), PortError> {
        let failed = |error: Box<dyn std::error::Error + Send + Sync>| {
            PortError::permanent(format!("checkpoint file {}", path.display())).caused_by(error)
        };
        let text = serde_json::to_string_pretty(self).map_err(|error| failed(error.into()))?;
        replace_durably(path, text.as_bytes()).map_err(|error| failed(error.into()))
    }
}

/// What one GetRecords call gave.
#[derive(Debug, Default)]
pub struct ShardRead {
    /// The records, in shard order.
    pub records: Vec<StreamRecord>,
    /// How far behind the shard's tip this read was, when Kinesis says.
    pub millis_behind_latest: Option<i64>,
}

#[derive(Debug)]
enum Cursor {
    /// Start from the checkpoint, or the start position.
    Fresh,
    /// Start at the shard's first record (a shard that appeared while reading: a reshard's child).
    Beginning,
    /// Start at this sequence number (a batch not done is read again).
    At(String),
    /// Start after this sequence number (the last one read, when an iterator expired).
    After(String),
    /// Continue with this iterator.
    Iterator(String),
    /// The shard is closed and read to its end.
    Ended,
}

/// Polls every shard of a stream.
#[derive(Debug)]
pub struct StreamReader {
    client: aws_sdk_kinesis::Client,
    stream: String,
    start: StartPosition,
    shards: BTreeMap<String, Cursor>,
    /// Each shard's parents (a reshard's children have one or two).
    parents: BTreeMap<String, Vec<String>>,
    /// The last sequence number read per shard (done or not).
    last_read: BTreeMap<String, String>,
    listed_once: bool,
}

impl StreamReader {
    /// A reader of `stream`; shards without a checkpoint start at `start`.
    pub fn new(client: aws_sdk_kinesis::Client, stream: &str, start: StartPosition) -> Self {
        StreamReader {
            client,
            stream: stream.to_owned(),
            start,
            shards: BTreeMap::new(),
            parents: BTreeMap::new(),
            last_read: BTreeMap::new(),
            listed_once: false,
        }
    }

    /// Lists the stream's shards and adds those not known yet (after a reshard, the children
    /// start at their beginning). Returns the open shards.
    pub async fn refresh_shards(&mut self) -> Result<Vec<String>, PortError> {
        let mut next_token: Option<String> = None;
        loop {
            let request = self.client.list_shards();
            let request = match &next_token {
                Some(token) => request.next_token(token),
                None => request.stream_name(&self.stream),
            };
            let output = request.send().await.map_err(|error| {
                port_error(&format!("ListShards of stream {}", self.stream), &error)
            })?;
            for shard in output.shards() {
                let cursor = if self.listed_once {
                    Cursor::Beginning
                } else {
                    Cursor::Fresh
                };
                self.shards
                    .entry(shard.shard_id().to_owned())
                    .or_insert(cursor);
                let parents = [shard.parent_shard_id(), shard.adjacent_parent_shard_id()];
                self.parents.insert(
                    shard.shard_id().to_owned(),
                    parents.into_iter().flatten().map(str::to_owned).collect(),
                );
            }
            next_token = output.next_token().map(str::to_owned);
            if next_token.is_none() {
                break;
            }
        }
        self.listed_once = true;
        Ok(self.open_shards())
    }

    /// True when a parent of `shard` has a checkpoint.
    fn parent_was_read(&self, shard: &str, checkpoints: &Checkpoints) -> bool {
        self.parents.get(shard).is_some_and(|parents| {
            parents
                .iter()
                .any(|parent| checkpoints.shards.contains_key(parent))
        })
    }

    /// The stream read.
    pub fn stream(&self) -> &str {
        &self.stream
    }

    /// Shards not yet read to their end.
    pub fn open_shards(&self) -> Vec<String> {
        self.shards
            .iter()
            .filter(|(_, cursor)| !matches!(cursor, Cursor::Ended))
            .map(|(shard, _)| shard.clone())
            .collect()
    }

    /// Reads up to `limit` records of `shard`.
    pub async fn read(
        &mut self,
        shard: &str,
        checkpoints: &Checkpoints,
        limit: i32,
    ) -> Result<ShardRead, PortError> {
        let iterator = match self.shards.get(shard) {
            Some(Cursor::Iterator(iterator)) => iterator.clone(),
            Some(Cursor::Ended) | None => return Ok(ShardRead::default()),
            Some(Cursor::Fresh) => {
                let checkpoint = checkpoints.shards.get(shard).map(String::as_str);
                if checkpoint.is_none() && self.parent_was_read(shard, checkpoints) {
                    // A reshard's child whose parent an earlier run read: every record of it
                    // came after that run began, so all are read, whatever the start position.
                    self.iterator_of_type(shard, ShardIteratorType::TrimHorizon, None)
                        .await?
                } else {
                    self.iterator(shard, checkpoint, false).await?
                }
            }
            Some(Cursor::At(sequence)) => {
                let sequence = sequence.clone();
                self.iterator(shard, Some(&sequence), true).await?
            }
            Some(Cursor::After(sequence)) => {
                let sequence = sequence.clone();
                self.iterator(shard, Some(&sequence), false).await?
            }
            Some(Cursor::Beginning) => {
                self.iterator_of_type(shard, ShardIteratorType::TrimHorizon, None)
                    .await?
            }
        };
        let output = match self
            .client
            .get_records()
            .shard_iterator(&iterator)
            .limit(limit)
            .send()
            .await
        {
            Ok(output) => output,
            Err(error) => {
                let expired = error
                    .as_service_error()
                    .is_some_and(|service| service.is_expired_iterator_exception());
                if expired {
                    // Iterators last five minutes: go on after the last record read (not from
                    // the start position, which for `latest` would skip what came meanwhile).
                    let cursor = match self.last_read.get(shard) {
                        Some(sequence) => Cursor::After(sequence.clone()),
                        None => Cursor::Fresh,
                    };
                    self.shards.insert(shard.to_owned(), cursor);
                }
                let error = port_error(&format!("GetRecords of {shard}"), &error);
                return Err(error.retryable_also_when(expired));
            }
        };
        let records: Vec<StreamRecord> = output
            .records()
            .iter()
            .map(|record| StreamRecord {
                explicit_hash_key: None,
                partition_key: record.partition_key().to_owned(),
                data: record.data().as_ref().to_vec(),
                sequence_number: Some(record.sequence_number().to_owned()),
            })
            .collect();
        if let Some(last) = records
            .last()
            .and_then(|record| record.sequence_number.clone())
        {
            self.last_read.insert(shard.to_owned(), last);
        }
        let cursor = match output.next_shard_iterator() {
            Some(next) => Cursor::Iterator(next.to_owned()),
            None => Cursor::Ended,
        };
        self.shards.insert(shard.to_owned(), cursor);
        Ok(ShardRead {
            records,
            millis_behind_latest: output.millis_behind_latest(),
        })
    }

    /// Makes the next read of `shard` start at `sequence` (its batch was not done).
    pub fn rewind(&mut self, shard: &str, sequence: &str) {
        self.shards
            .insert(shard.to_owned(), Cursor::At(sequence.to_owned()));
        self.last_read.remove(shard);
    }

    async fn iterator(
        &self,
        shard: &str,
        sequence: Option<&str>,
        at: bool,
    ) -> Result<String, PortError> {
        match (sequence, at) {
            (Some(sequence), true) => {
                self.iterator_of_type(shard, ShardIteratorType::AtSequenceNumber, Some(sequence))
                    .await
            }
            (Some(sequence), false) => {
                self.iterator_of_type(
                    shard,
                    ShardIteratorType::AfterSequenceNumber,
                    Some(sequence),
                )
                .await
            }
            (None, _) => {
                let kind = match self.start {
                    StartPosition::TrimHorizon => ShardIteratorType::TrimHorizon,
                    StartPosition::Latest => ShardIteratorType::Latest,
                };
                self.iterator_of_type(shard, kind, None).await
            }
        }
    }

    async fn iterator_of_type(
        &self,
        shard: &str,
        kind: ShardIteratorType,
        sequence: Option<&str>,
    ) -> Result<String, PortError> {
        let output = self
            .client
            .get_shard_iterator()
            .stream_name(&self.stream)
            .shard_id(shard)
            .shard_iterator_type(kind)
            .set_starting_sequence_number(sequence.map(str::to_owned))
            .send()
            .await
            .map_err(|error| port_error(&format!("GetShardIterator of {shard}"), &error))?;
        output.shard_iterator().map(str::to_owned).ok_or_else(|| {
            PortError::permanent(format!("GetShardIterator of {shard}: no iterator"))
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn checkpoints_round_trip_and_refuse_another_stream() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.json");
        let mut checkpoints = Checkpoints::load(&path, "taxi_trips").unwrap();
        assert!(checkpoints.shards.is_empty());
        checkpoints
            .shards
            .insert("shardId-000000000000".into(), "49650".into());
        checkpoints.save(&path).unwrap();
        assert_eq!(Checkpoints::load(&path, "taxi_trips").unwrap(), checkpoints);
        let error = Checkpoints::load(&path, "other").unwrap_err();
        assert!(
            error.message().contains("belongs to stream taxi_trips"),
            "{error}"
        );
    }
}
