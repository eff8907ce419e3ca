//! The codec against byte vectors made with the awslabs reference implementation
//! (`scripts/kpl/make_vectors.py`, `aws-kinesis-agg`), and against itself.

use super::*;
use proptest::prelude::*;

/// One case of `scripts/kpl/vectors.json`.
struct Vector {
    name: String,
    record: Vec<u8>,
    user_records: Vec<UserRecord>,
}

fn hex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|at| u8::from_str_radix(&text[at..at + 2], 16).unwrap())
        .collect()
}

fn vectors() -> Vec<Vector> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../scripts/kpl/vectors.json"
    );
    let cases: Vec<serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    cases
        .iter()
        .filter_map(|case| {
            // The 1 MiB case is described, not stored: see `a_record_at_the_1_mib_limit`.
            let record = hex(case["record_hex"].as_str()?);
            let user_records = case["user_records"]
                .as_array()
                .unwrap()
                .iter()
                .map(|user| UserRecord {
                    partition_key: user["partition_key"].as_str().unwrap().to_owned(),
                    explicit_hash_key: user["explicit_hash_key"].as_str().map(str::to_owned),
                    data: hex(user["data_hex"].as_str().unwrap()),
                })
                .collect();
            Some(Vector {
                name: case["name"].as_str().unwrap().to_owned(),
                record,
                user_records,
            })
        })
        .collect()
}

fn aggregate_of(records: &[UserRecord]) -> Aggregate {
    let mut aggregate = Aggregate::new();
    for record in records {
        aggregate.push(record.clone());
    }
    aggregate
}

#[test]
fn every_reference_vector_reads_as_the_format_says() {
    let vectors = vectors();
    assert_eq!(vectors.len(), 17);
    for vector in vectors {
        let name = vector.name.as_str();
        let read = deaggregate(&vector.record);
        match name {
            "no_magic" => assert!(!is_aggregated(&vector.record)),
            "bad_md5" | "magic_only_short" | "truncated_record" => {
                assert_eq!(read, Err(AggregateError::Digest), "{name}");
            }
            "truncated_protobuf_valid_md5" => {
                assert!(
                    matches!(read, Err(AggregateError::Protobuf(_))),
                    "{name}: {read:?}"
                );
            }
            "records_without_pk_table" | "pk_index_out_of_range" => assert!(
                matches!(
                    read,
                    Err(AggregateError::KeyIndex {
                        table: "partition key",
                        ..
                    })
                ),
                "{name}: {read:?}"
            ),
            // Valid aggregates, with no record or some: what the reference wrote.
            _ => assert_eq!(read.as_ref(), Ok(&vector.user_records), "{name}"),
        }
        if name != "no_magic" {
            assert!(is_aggregated(&vector.record), "{name}");
        }
    }
}

#[test]
fn records_aggregated_here_are_the_bytes_the_reference_writes() {
    let written_by_the_reference = [
        "single_record",
        "three_records_one_pk",
        "five_distinct_pks",
        "explicit_hash_keys",
        "mixed_explicit_hash_keys",
        "multibyte_varints",
        "empty_string_partition_key",
    ];
    for vector in vectors() {
        if !written_by_the_reference.contains(&vector.name.as_str()) {
            continue;
        }
        let aggregate = aggregate_of(&vector.user_records);
        assert_eq!(aggregate.encode(), vector.record, "{}", vector.name);
        assert_eq!(aggregate.size(), vector.record.len(), "{}", vector.name);
        let first = vector.user_records[0].partition_key.as_str();
        assert_eq!(aggregate.first_partition_key(), Some(first));
    }
}

#[test]
fn a_record_at_the_1_mib_limit() {
    // As the reference's `one_mib` case: key "k", 1,048,543 bytes of `i % 251`.
    let record = UserRecord {
        partition_key: "k".to_owned(),
        explicit_hash_key: None,
        data: (0..1_048_543u32).map(|i| (i % 251) as u8).collect(),
    };
    let empty = Aggregate::new();
    assert_eq!(empty.size_with(&record), 1 << 20);
    let aggregate = aggregate_of(std::slice::from_ref(&record));
    let bytes = aggregate.encode();
    assert_eq!(bytes.len(), 1 << 20);
    assert_eq!(&bytes[..16], &hex("f3899ac20a016b1ae5ff3f08001adfff")[..]);
    assert_eq!(
        &bytes[bytes.len() - 16..],
        &hex("deb42af6b370181615848d1423eb3136")[..]
    );
    assert_eq!(deaggregate(&bytes), Ok(vec![record]));
}

#[test]
fn an_empty_aggregate_holds_no_record() {
    let bytes = Aggregate::new().encode();
    assert_eq!(bytes.len(), EMPTY_AGGREGATE_BYTES);
    assert_eq!(deaggregate(&bytes), Ok(Vec::new()));
    assert_eq!(deaggregate(&MAGIC), Err(AggregateError::Truncated(4)));
}

fn user_record() -> impl Strategy<Value = UserRecord> {
    (
        "[a-c]{0,3}",
        proptest::option::of("[0-9]{1,39}"),
        proptest::collection::vec(any::<u8>(), 0..300),
    )
        .prop_map(|(partition_key, explicit_hash_key, data)| UserRecord {
            partition_key,
            explicit_hash_key,
            data,
        })
}

proptest! {
    #[test]
    fn aggregates_round_trip_and_know_their_size_before_each_record(
        records in proptest::collection::vec(user_record(), 0..200),
    ) {
        let mut aggregate = Aggregate::new();
        for record in &records {
            let expected = aggregate.size_with(record);
            aggregate.push(record.clone());
            prop_assert_eq!(aggregate.size(), expected);
        }
        let bytes = aggregate.encode();
        prop_assert_eq!(bytes.len(), aggregate.size());
        prop_assert_eq!(deaggregate(&bytes), Ok(records));
    }

    #[test]
    fn no_damage_to_an_aggregate_makes_the_decoder_panic(
        records in proptest::collection::vec(user_record(), 1..20),
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut bytes = aggregate_of(&records).encode();
        for (at, value) in flips {
            let at = at.index(bytes.len());
            bytes[at] = value;
        }
        bytes.truncate(cut.index(bytes.len() + 1).max(1));
        let _ = deaggregate(&bytes);
    }
}
