//! Parquet pages and row groups decoding past their bounds are refused before they are decoded;
//! pages of every codec and page version the features build pass the default bounds.
#![allow(clippy::unwrap_used, clippy::panic)]

use arrow_array::{ArrayRef, RecordBatch, StringArray, TimestampMicrosecondArray};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, GzipLevel, ZstdLevel};
use parquet::file::properties::{EnabledStatistics, WriterProperties, WriterVersion};
use parquet::file::reader::{FileReader, SerializedFileReader};
use std::sync::Arc;
use taxistream_core::ReadItem;
use taxistream_core::read::{InputError, ParquetLimits, ParquetTripReader};

const PICKUP_MICROS: i64 = 1_704_070_675_000_000;

/// A trip file of `flags.len()` rows whose `store_and_fwd_flag` column holds `flags`.
fn trips(flags: Vec<Option<String>>, properties: WriterProperties) -> bytes::Bytes {
    let rows = flags.len() as i64;
    let pickups: Vec<i64> = (0..rows)
        .map(|row| PICKUP_MICROS + row * 1_000_000)
        .collect();
    let dropoffs: Vec<i64> = pickups.iter().map(|pickup| pickup + 600_000_000).collect();
    let columns: Vec<(&str, ArrayRef)> = vec![
        (
            "tpep_pickup_datetime",
            Arc::new(TimestampMicrosecondArray::from(pickups)),
        ),
        (
            "tpep_dropoff_datetime",
            Arc::new(TimestampMicrosecondArray::from(dropoffs)),
        ),
        ("store_and_fwd_flag", Arc::new(StringArray::from(flags))),
    ];
    let batch = RecordBatch::try_from_iter(columns).unwrap();
    let mut buffer = Vec::new();
    let mut writer = ArrowWriter::try_new(&mut buffer, batch.schema(), Some(properties)).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
    bytes::Bytes::from(buffer)
}

fn read(bytes: bytes::Bytes, limits: ParquetLimits) -> Result<usize, InputError> {
    let reader = ParquetTripReader::with_limits(bytes, "bounds.parquet".to_owned(), limits)?;
    let items: Vec<ReadItem> = reader.collect::<Result<_, _>>()?;
    Ok(items
        .iter()
        .filter(|item| matches!(item, ReadItem::Trip { .. }))
        .count())
}

fn pages(limit: u64) -> ParquetLimits {
    ParquetLimits {
        max_page_bytes: limit,
        ..ParquetLimits::default()
    }
}

#[test]
fn pages_of_every_codec_and_page_version_pass_the_default_bounds_and_not_a_tiny_one() {
    let flags: Vec<Option<String>> = (0..20_000)
        .map(|row| (row % 7 != 0).then(|| format!("flag-{}", row % 500)))
        .collect();
    let codecs = [
        Compression::UNCOMPRESSED,
        Compression::SNAPPY,
        Compression::GZIP(GzipLevel::default()),
        Compression::ZSTD(ZstdLevel::default()),
    ];
    for codec in codecs {
        for version in [WriterVersion::PARQUET_1_0, WriterVersion::PARQUET_2_0] {
            let properties = WriterProperties::builder()
                .set_compression(codec)
                .set_writer_version(version)
                .set_data_page_size_limit(4096)
                .set_statistics_enabled(EnabledStatistics::Page)
                .build();
            let file = trips(flags.clone(), properties);
            let case = format!("{codec:?}, {version:?}");
            assert_eq!(
                read(file.clone(), ParquetLimits::default()).unwrap(),
                20_000,
                "{case}"
            );
            let refused = read(file, pages(64)).unwrap_err();
            assert!(
                matches!(&refused, InputError::ParquetTooLarge { part, limit: 64, .. }
                    if part.starts_with("row group 0, column ") && part.contains("page at byte")),
                "{case}: {refused}"
            );
        }
    }
}

#[test]
fn a_row_group_decoding_past_the_bound_is_refused_naming_the_file() {
    let file = trips(
        vec![Some("N".to_owned()); 1_000],
        WriterProperties::default(),
    );
    let limits = ParquetLimits {
        max_row_group_bytes: 1_000,
        ..ParquetLimits::default()
    };
    let refused = read(file, limits).unwrap_err();
    let message = refused.to_string();
    assert!(
        message.starts_with(
            "bounds.parquet: row group 0 decodes to more than the limit of 1000 bytes"
        ),
        "{message}"
    );
}

#[test]
fn a_zstd_bomb_page_is_refused_from_its_header() {
    let huge = "a".repeat(33 << 20);
    let properties = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::default()))
        .set_dictionary_enabled(false)
        .set_statistics_enabled(EnabledStatistics::None)
        .build();
    let file = trips(vec![Some(huge)], properties);
    assert!(file.len() < 64 * 1024, "a bomb: {} bytes", file.len());
    let refused = read(file, ParquetLimits::default()).unwrap_err();
    assert!(
        matches!(&refused, InputError::ParquetTooLarge { part, bytes, .. }
            if part.contains("column store_and_fwd_flag") && *bytes > 33 << 20),
        "{refused}"
    );
}

#[test]
fn a_gzip_page_decoding_past_what_its_header_declares_is_refused() {
    let properties = WriterProperties::builder()
        .set_compression(Compression::GZIP(GzipLevel::default()))
        .set_dictionary_enabled(false)
        .build();
    let file = trips(vec![Some("x".repeat(3_000))], properties);
    let reader = SerializedFileReader::new(file.clone()).unwrap();
    let column = reader
        .metadata()
        .row_group(0)
        .columns()
        .iter()
        .find(|column| column.column_path().string() == "store_and_fwd_flag")
        .unwrap()
        .clone();
    // The page header starts: field 1 (type, i32) = DATA_PAGE, then field 2 (i32), the
    // uncompressed size as a zigzag varint of two bytes. Declare 1,000 bytes instead.
    let at = usize::try_from(column.data_page_offset()).unwrap();
    let mut patched = file.to_vec();
    assert_eq!(&patched[at..at + 3], &[0x15, 0x00, 0x15]);
    let declared = zigzag_varint(&patched[at + 3..at + 5]);
    assert!((3_000..4_000).contains(&declared), "{declared}");
    patched[at + 3..at + 5].copy_from_slice(&[0xd0, 0x0f]); // zigzag(1000) = 2000
    assert_eq!(zigzag_varint(&patched[at + 3..at + 5]), 1_000);
    let refused = read(bytes::Bytes::from(patched), pages(2_000)).unwrap_err();
    assert!(
        matches!(&refused, InputError::ParquetTooLarge { bytes: 2_001, limit: 2_000, part, .. }
            if part.contains("column store_and_fwd_flag")),
        "{refused}"
    );
}

fn zigzag_varint(bytes: &[u8]) -> i64 {
    let value = u64::from(bytes[0] & 0x7f) | (u64::from(bytes[1]) << 7);
    (value >> 1) as i64 ^ -((value & 1) as i64)
}
