//! Bounds on what decoding a Parquet file may take: each row group's decoded size, as its
//! metadata says, and each page's, as its header says (and, for gzip pages, whose codec the
//! Parquet library decompresses without a bound, as decompressing it gives).

use super::InputError;
use super::page_header::read_page_header;
use flate2::read::MultiGzDecoder;
use parquet::basic::Compression;
use parquet::file::metadata::{ColumnChunkMetaData, ParquetMetaData};
use parquet::file::reader::ChunkReader;
use std::io::{self, Read};

/// Default bound on a page's decoded size (writers' pages are about 1 MiB).
pub const DEFAULT_MAX_PAGE_BYTES: u64 = 32 << 20;
/// Default bound on a row group's decoded size (a month of trips in one row group is well under).
pub const DEFAULT_MAX_ROW_GROUP_BYTES: u64 = 1 << 30;

/// How large a Parquet file's parts may decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParquetLimits {
    /// Bound on one page, in bytes.
    pub max_page_bytes: u64,
    /// Bound on one row group, in bytes.
    pub max_row_group_bytes: u64,
}

impl Default for ParquetLimits {
    fn default() -> Self {
        ParquetLimits {
            max_page_bytes: DEFAULT_MAX_PAGE_BYTES,
            max_row_group_bytes: DEFAULT_MAX_ROW_GROUP_BYTES,
        }
    }
}

impl ParquetLimits {
    /// Refuses a file with a row group that decodes past the bound (by its metadata).
    pub fn check_row_groups(
        &self,
        metadata: &ParquetMetaData,
        source_name: &str,
    ) -> Result<(), InputError> {
        for (index, group) in metadata.row_groups().iter().enumerate() {
            let bytes = u64::try_from(group.total_byte_size()).unwrap_or(u64::MAX);
            if bytes > self.max_row_group_bytes {
                return Err(InputError::ParquetTooLarge {
                    source_name: source_name.to_owned(),
                    part: format!("row group {index}"),
                    bytes,
                    limit: self.max_row_group_bytes,
                });
            }
        }
        Ok(())
    }

    /// Checks every page of the file read through `source`, before any is decoded.
    pub fn check_pages<R: ChunkReader>(
        &self,
        source: &R,
        metadata: &ParquetMetaData,
        source_name: &str,
    ) -> Result<(), InputError> {
        for (group, row_group) in metadata.row_groups().iter().enumerate() {
            for column in row_group.columns() {
                let (start, length) = column.byte_range();
                let chunk = source
                    .get_read(start)
                    .map_err(|error| InputError::Parquet {
                        source_name: source_name.to_owned(),
                        detail: error.to_string(),
                    })?;
                self.check_column_chunk(chunk.take(length), group, column, source_name)?;
            }
        }
        Ok(())
    }

    /// Checks the pages of the column chunk `column` of row group `group`, read from `chunk`
    /// (its bytes, from the first).
    pub fn check_column_chunk(
        &self,
        mut chunk: impl Read,
        group: usize,
        column: &ColumnChunkMetaData,
        source_name: &str,
    ) -> Result<(), InputError> {
        let (start, length) = column.byte_range();
        let is_gzip = matches!(column.compression(), Compression::GZIP(_));
        let mut offset = 0u64;
        while offset < length {
            let place = || {
                format!(
                    "row group {group}, column {}, page at byte {}",
                    column.column_path().string(),
                    start.saturating_add(offset)
                )
            };
            let invalid = |error: io::Error| InputError::Parquet {
                source_name: source_name.to_owned(),
                detail: format!("{}: {error}", place()),
            };
            let header = read_page_header(&mut chunk).map_err(invalid)?;
            let too_large = |bytes| InputError::ParquetTooLarge {
                source_name: source_name.to_owned(),
                part: place(),
                bytes,
                limit: self.max_page_bytes,
            };
            if header.uncompressed_size > self.max_page_bytes {
                return Err(too_large(header.uncompressed_size));
            }
            let mut body = (&mut chunk).take(header.compressed_size);
            if is_gzip && header.is_compressed {
                let decoded =
                    gzip_page_size(&mut body, header.uncompressed_prefix, self).map_err(invalid)?;
                if decoded > self.max_page_bytes {
                    return Err(too_large(decoded));
                }
            }
            let rest = io::copy(&mut body, &mut io::sink()).map_err(invalid)?;
            if body.limit() > 0 {
                return Err(invalid(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("the page ends past its column chunk ({rest} bytes read)"),
                )));
            }
            offset = offset
                .saturating_add(header.header_size)
                .saturating_add(header.compressed_size);
        }
        Ok(())
    }
}

/// The column chunks of a file, to check each one's pages as its bytes arrive.
pub struct ChunkPages {
    limits: ParquetLimits,
    source_name: String,
    /// Each chunk's row group and metadata, by where it starts.
    chunks: Vec<(usize, ColumnChunkMetaData)>,
}

impl ChunkPages {
    /// The column chunks of the file `metadata` describes.
    pub fn new(limits: ParquetLimits, metadata: &ParquetMetaData, source_name: String) -> Self {
        let mut chunks: Vec<(usize, ColumnChunkMetaData)> = metadata
            .row_groups()
            .iter()
            .enumerate()
            .flat_map(|(group, row_group)| {
                row_group
                    .columns()
                    .iter()
                    .map(move |column| (group, column.clone()))
            })
            .collect();
        chunks.sort_by_key(|(_, column)| column.byte_range().0);
        ChunkPages {
            limits,
            source_name,
            chunks,
        }
    }

    /// Checks the pages of every column chunk lying whole in `bytes`, read from offset `start`.
    pub fn check(&self, start: u64, bytes: &[u8]) -> Result<(), InputError> {
        let end = start.saturating_add(bytes.len() as u64);
        let first = self
            .chunks
            .partition_point(|(_, column)| column.byte_range().0 < start);
        for (group, column) in &self.chunks[first..] {
            let (chunk_start, length) = column.byte_range();
            if chunk_start.saturating_add(length) > end {
                break;
            }
            let offset = usize::try_from(chunk_start - start).unwrap_or(usize::MAX);
            let chunk = bytes.get(offset..).unwrap_or_default();
            self.limits
                .check_column_chunk(chunk, *group, column, &self.source_name)?;
        }
        Ok(())
    }
}

/// How many bytes a gzip page body decodes to, counting no further than one past the bound.
fn gzip_page_size(body: &mut impl Read, prefix: u64, limits: &ParquetLimits) -> io::Result<u64> {
    let prefix = io::copy(&mut body.take(prefix), &mut io::sink())?;
    let budget = limits
        .max_page_bytes
        .saturating_add(1)
        .saturating_sub(prefix);
    let decoded = io::copy(&mut MultiGzDecoder::new(body).take(budget), &mut io::sink())?;
    Ok(prefix + decoded)
}
