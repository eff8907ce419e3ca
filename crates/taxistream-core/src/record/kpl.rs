//! The Kinesis Producer Library's aggregated records: many user records in one stream record.
//! Bytes: the magic `F3 89 9A C2`, a protobuf `AggregatedRecord` (a partition-key table, an
//! explicit-hash-key table, the records), then the 16-byte MD5 of that protobuf.
//! `scripts/kpl/FORMAT.md` describes the format as the awslabs reference implementation writes it.

use md5::{Digest, Md5};
use prost::Message;
use prost::encoding::encoded_len_varint;
use std::collections::HashMap;

/// The first bytes of an aggregated record.
pub const MAGIC: [u8; 4] = [0xF3, 0x89, 0x9A, 0xC2];
/// Bytes of the trailing MD5.
const DIGEST_BYTES: usize = 16;
/// Bytes of an aggregate holding no record: the magic and the digest.
pub const EMPTY_AGGREGATE_BYTES: usize = MAGIC.len() + DIGEST_BYTES;

#[derive(Clone, PartialEq, Message)]
struct AggregatedRecord {
    #[prost(string, repeated, tag = "1")]
    partition_key_table: Vec<String>,
    #[prost(string, repeated, tag = "2")]
    explicit_hash_key_table: Vec<String>,
    #[prost(message, repeated, tag = "3")]
    records: Vec<Record>,
}

#[derive(Clone, PartialEq, Message)]
struct Record {
    #[prost(uint64, required, tag = "1")]
    partition_key_index: u64,
    #[prost(uint64, optional, tag = "2")]
    explicit_hash_key_index: Option<u64>,
    #[prost(bytes = "vec", required, tag = "3")]
    data: Vec<u8>,
    #[prost(message, repeated, tag = "4")]
    tags: Vec<Tag>,
}

#[derive(Clone, PartialEq, Message)]
struct Tag {
    #[prost(string, required, tag = "1")]
    key: String,
    #[prost(string, optional, tag = "2")]
    value: Option<String>,
}

/// A record as its producer put it, before aggregation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    /// Its partition key.
    pub partition_key: String,
    /// Its explicit hash key (a decimal 128-bit number), when it has one.
    pub explicit_hash_key: Option<String>,
    /// Its data.
    pub data: Vec<u8>,
}

/// Why an aggregated record cannot be read: the whole record is set aside.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AggregateError {
    /// Shorter than the magic and the digest.
    #[error("aggregated record of {0} bytes: too short to hold its MD5")]
    Truncated(usize),
    /// The MD5 does not match the protobuf.
    #[error("aggregated record whose MD5 does not match its content")]
    Digest,
    /// The protobuf is not an `AggregatedRecord`.
    #[error("aggregated record whose protobuf is invalid: {0}")]
    Protobuf(String),
    /// A user record names a key its table does not have.
    #[error("aggregated record: user record {record} names {table} entry {index} of {entries}")]
    KeyIndex {
        /// The user record's position.
        record: usize,
        /// Which table.
        table: &'static str,
        /// The index it names.
        index: u64,
        /// The table's length.
        entries: usize,
    },
}

/// True when `data` is framed as an aggregated record (it starts with the magic bytes).
pub fn is_aggregated(data: &[u8]) -> bool {
    data.starts_with(&MAGIC)
}

/// The user records of an aggregated record, in order, once its MD5 and protobuf are checked.
pub fn deaggregate(data: &[u8]) -> Result<Vec<UserRecord>, AggregateError> {
    let Some(body_end) = data
        .len()
        .checked_sub(DIGEST_BYTES)
        .filter(|&end| end >= MAGIC.len())
    else {
        return Err(AggregateError::Truncated(data.len()));
    };
    let (body, digest) = (&data[MAGIC.len()..body_end], &data[body_end..]);
    if Md5::digest(body).as_slice() != digest {
        return Err(AggregateError::Digest);
    }
    let message = AggregatedRecord::decode(body)
        .map_err(|error| AggregateError::Protobuf(error.to_string()))?;
    let entry = |table: &'static str, entries: &[String], record: usize, index: u64| {
        usize::try_from(index)
            .ok()
            .and_then(|at| entries.get(at))
            .cloned()
            .ok_or(AggregateError::KeyIndex {
                record,
                table,
                index,
                entries: entries.len(),
            })
    };
    message
        .records
        .into_iter()
        .enumerate()
        .map(|(position, record)| {
            let partition_key = entry(
                "partition key",
                &message.partition_key_table,
                position,
                record.partition_key_index,
            )?;
            let explicit_hash_key = record
                .explicit_hash_key_index
                .map(|index| {
                    entry(
                        "explicit hash key",
                        &message.explicit_hash_key_table,
                        position,
                        index,
                    )
                })
                .transpose()?;
            Ok(UserRecord {
                partition_key,
                explicit_hash_key,
                data: record.data,
            })
        })
        .collect()
}

/// An aggregated record being filled: its size known exactly before each record is added.
#[derive(Debug, Default)]
pub struct Aggregate {
    message: AggregatedRecord,
    partition_keys: HashMap<String, u64>,
    hash_keys: HashMap<String, u64>,
    body_bytes: usize,
}

impl Aggregate {
    /// An empty aggregate.
    pub fn new() -> Self {
        Self::default()
    }

    /// User records in it.
    pub fn len(&self) -> usize {
        self.message.records.len()
    }

    /// True when it holds no record.
    pub fn is_empty(&self) -> bool {
        self.message.records.is_empty()
    }

    /// Its bytes, encoded (magic, protobuf, digest).
    pub fn size(&self) -> usize {
        EMPTY_AGGREGATE_BYTES + self.body_bytes
    }

    /// Its bytes, encoded, were `record` added.
    pub fn size_with(&self, record: &UserRecord) -> usize {
        let key_bytes = |table: &HashMap<String, u64>, key: &str| {
            if table.contains_key(key) {
                0
            } else {
                length_delimited(key.len())
            }
        };
        let mut added = key_bytes(&self.partition_keys, &record.partition_key);
        if let Some(hash_key) = &record.explicit_hash_key {
            added += key_bytes(&self.hash_keys, hash_key);
        }
        added + length_delimited(self.record_bytes(record)) + self.size()
    }

    /// Adds `record`.
    pub fn push(&mut self, record: UserRecord) {
        let inner = self.record_bytes(&record);
        self.body_bytes += length_delimited(inner);
        let partition_key_index = index_of(
            &mut self.partition_keys,
            &mut self.message.partition_key_table,
            &mut self.body_bytes,
            record.partition_key,
        );
        let explicit_hash_key_index = record.explicit_hash_key.map(|key| {
            index_of(
                &mut self.hash_keys,
                &mut self.message.explicit_hash_key_table,
                &mut self.body_bytes,
                key,
            )
        });
        self.message.records.push(Record {
            partition_key_index,
            explicit_hash_key_index,
            data: record.data,
            tags: Vec::new(),
        });
    }

    /// The partition key of its first record (the one Kinesis routes it by), if any.
    pub fn first_partition_key(&self) -> Option<&str> {
        let index = self.message.records.first()?.partition_key_index;
        let index = usize::try_from(index).ok()?;
        self.message
            .partition_key_table
            .get(index)
            .map(String::as_str)
    }

    /// The encoded aggregated record.
    pub fn encode(&self) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(self.size());
        bytes.extend_from_slice(&MAGIC);
        self.message.encode_raw(&mut bytes);
        let digest = Md5::digest(&bytes[MAGIC.len()..]);
        bytes.extend_from_slice(&digest);
        bytes
    }

    /// Bytes of `record`'s `Record` message, with the key indexes it would get.
    fn record_bytes(&self, record: &UserRecord) -> usize {
        let next_index = |table: &HashMap<String, u64>, key: &str| {
            table.get(key).copied().unwrap_or(table.len() as u64)
        };
        let mut bytes =
            1 + encoded_len_varint(next_index(&self.partition_keys, &record.partition_key));
        if let Some(hash_key) = &record.explicit_hash_key {
            bytes += 1 + encoded_len_varint(next_index(&self.hash_keys, hash_key));
        }
        bytes + length_delimited(record.data.len())
    }
}

/// Bytes of a length-delimited field of `length` bytes: its tag, its length, its bytes.
fn length_delimited(length: usize) -> usize {
    1 + encoded_len_varint(length as u64) + length
}

/// The index of `key` in a key table, adding it (and its bytes) when new.
fn index_of(
    indexes: &mut HashMap<String, u64>,
    table: &mut Vec<String>,
    body_bytes: &mut usize,
    key: String,
) -> u64 {
    if let Some(&index) = indexes.get(&key) {
        return index;
    }
    let index = table.len() as u64;
    *body_bytes += length_delimited(key.len());
    indexes.insert(key.clone(), index);
    table.push(key);
    index
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
#[path = "kpl_tests.rs"]
mod tests;
