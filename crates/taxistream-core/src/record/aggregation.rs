//! Packing user records into KPL aggregated records, as a producer puts them on a stream.
//!
//! Kinesis routes a record by the MD5 of its partition key, read as a 128-bit number, unless the
//! record names an explicit hash key. Records are packed by bucket (one of [`BUCKETS`] equal
//! ranges of that number, by their own partition key), and each aggregate names its bucket's
//! middle as its explicit hash key: every record of a partition key goes to one shard, in order,
//! and buckets spread evenly over shards that split the range evenly.

use super::MAX_RECORD_BYTES;
use super::kpl::{Aggregate, UserRecord};
use md5::{Digest, Md5};

/// Hash-key buckets records are packed by: each gives at most one aggregate not full per batch.
pub const BUCKETS: u32 = 16;
/// Default bound on an aggregate's bytes, as the Kinesis Producer Library's.
pub const DEFAULT_AGGREGATE_BYTES: usize = 50 * 1024;

/// A stream record made of user records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packed {
    /// Its partition key: its first user record's.
    pub partition_key: String,
    /// The hash key that routes it: its bucket's middle.
    pub explicit_hash_key: String,
    /// Its bytes: an aggregated record, or one user record's data when that record alone would
    /// pass the record limit once aggregated.
    pub data: Vec<u8>,
    /// User records in it.
    pub user_records: usize,
}

/// The bucket of `partition_key`.
pub fn bucket_of(partition_key: &str) -> u32 {
    let digest: [u8; 16] = Md5::digest(partition_key.as_bytes()).into();
    let high = u64::from_be_bytes([
        digest[0], digest[1], digest[2], digest[3], digest[4], digest[5], digest[6], digest[7],
    ]);
    ((u128::from(high) * u128::from(BUCKETS)) >> 64) as u32
}

/// The explicit hash key in the middle of `bucket`'s range.
pub fn bucket_hash_key(bucket: u32) -> String {
    let width = u128::MAX / u128::from(BUCKETS) + 1;
    (width * u128::from(bucket) + width / 2).to_string()
}

/// Packs `records` (in order) into aggregates of at most `max_bytes` each (but always at least
/// one record), by bucket, keeping each bucket's order.
pub fn pack(records: Vec<UserRecord>, max_bytes: usize) -> Vec<Packed> {
    // An aggregate and its partition key (at most 256 bytes) within the record limit.
    let max_bytes = max_bytes.min(MAX_RECORD_BYTES - 256);
    let mut open: Vec<Aggregate> = (0..BUCKETS).map(|_| Aggregate::new()).collect();
    let mut packed = Vec::new();
    for record in records {
        let bucket = bucket_of(&record.partition_key);
        let aggregate = &mut open[bucket as usize];
        let alone = Aggregate::new().size_with(&record) + record.partition_key.len();
        if alone > MAX_RECORD_BYTES {
            // Only aggregated would it pass the record limit: it goes as it is, after the
            // records of its bucket before it.
            if !aggregate.is_empty() {
                packed.push(finish(std::mem::take(aggregate), bucket));
            }
            packed.push(Packed {
                explicit_hash_key: bucket_hash_key(bucket),
                partition_key: record.partition_key,
                data: record.data,
                user_records: 1,
            });
            continue;
        }
        if !aggregate.is_empty() && aggregate.size_with(&record) > max_bytes {
            packed.push(finish(std::mem::take(aggregate), bucket));
        }
        aggregate.push(record);
    }
    for (bucket, aggregate) in open.into_iter().enumerate() {
        if !aggregate.is_empty() {
            packed.push(finish(aggregate, bucket as u32));
        }
    }
    packed
}

fn finish(aggregate: Aggregate, bucket: u32) -> Packed {
    Packed {
        partition_key: aggregate
            .first_partition_key()
            .unwrap_or_default()
            .to_owned(),
        explicit_hash_key: bucket_hash_key(bucket),
        data: aggregate.encode(),
        user_records: aggregate.len(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::record::kpl::deaggregate;

    fn user(index: usize, bytes: usize) -> UserRecord {
        UserRecord {
            partition_key: format!("{:032x}", index * 7919),
            explicit_hash_key: None,
            data: vec![b'x'; bytes],
        }
    }

    #[test]
    fn buckets_split_the_hash_range_evenly_and_their_keys_lie_inside() {
        assert_eq!(bucket_hash_key(0), (u128::MAX / 32 + 1).to_string());
        let last: u128 = bucket_hash_key(BUCKETS - 1).parse().unwrap();
        assert!(last > u128::MAX / 16 * 15);
        let mut counts = [0usize; BUCKETS as usize];
        for index in 0..16_000 {
            counts[bucket_of(&format!("trip-{index}")) as usize] += 1;
        }
        assert!(
            counts.iter().all(|&count| (850..1150).contains(&count)),
            "{counts:?}"
        );
    }

    #[test]
    fn packed_records_keep_each_buckets_order_and_their_bound() {
        let records: Vec<UserRecord> = (0..2_000).map(|index| user(index, 470)).collect();
        let packed = pack(records.clone(), DEFAULT_AGGREGATE_BYTES);
        // 2,000 records of about 520 bytes aggregated: about 20 full aggregates, and at most one
        // more per bucket.
        assert!(packed.len() <= 2_000 * 520 / DEFAULT_AGGREGATE_BYTES + 1 + BUCKETS as usize);
        let mut by_bucket = vec![Vec::new(); BUCKETS as usize];
        for record in &packed {
            assert!(record.data.len() <= DEFAULT_AGGREGATE_BYTES);
            let users = deaggregate(&record.data).unwrap();
            assert_eq!(users.len(), record.user_records);
            assert_eq!(record.partition_key, users[0].partition_key);
            for user in users {
                let bucket = bucket_of(&user.partition_key);
                assert_eq!(record.explicit_hash_key, bucket_hash_key(bucket));
                by_bucket[bucket as usize].push(user);
            }
        }
        for (bucket, users) in by_bucket.iter().enumerate() {
            let expected: Vec<&UserRecord> = records
                .iter()
                .filter(|record| bucket_of(&record.partition_key) as usize == bucket)
                .collect();
            assert_eq!(users.iter().collect::<Vec<_>>(), expected);
        }
    }

    #[test]
    fn a_record_too_large_to_aggregate_goes_as_it_is() {
        let large = user(1, MAX_RECORD_BYTES - 40);
        let packed = pack(vec![user(0, 10), large.clone()], DEFAULT_AGGREGATE_BYTES);
        let plain: Vec<&Packed> = packed.iter().filter(|p| p.data == large.data).collect();
        assert_eq!(plain.len(), 1);
        assert_eq!(plain[0].partition_key, large.partition_key);
    }
}
