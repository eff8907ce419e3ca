//! The few fields of a Parquet page header that bound its decoded size, read from the Thrift
//! compact encoding (the Parquet library keeps its own header reader private).

use std::io::{self, Read};

/// A page header's sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageHeader {
    /// Bytes of the page after decompression, as its writer declares.
    pub uncompressed_size: u64,
    /// Bytes of the page body that follows the header.
    pub compressed_size: u64,
    /// Bytes at the start of a v2 data page body stored uncompressed (its levels).
    pub uncompressed_prefix: u64,
    /// Whether the body (after that prefix) is compressed with the column's codec.
    pub is_compressed: bool,
    /// Bytes of the header itself.
    pub header_size: u64,
}

/// Nesting depth past which a header is refused (real headers nest 3 deep).
const MAX_DEPTH: u32 = 16;

// Thrift compact protocol type codes.
const STOP: u8 = 0;
const BOOL_TRUE: u8 = 1;
const BOOL_FALSE: u8 = 2;
const BYTE: u8 = 3;
const I16: u8 = 4;
const I32: u8 = 5;
const I64: u8 = 6;
const DOUBLE: u8 = 7;
const BINARY: u8 = 8;
const LIST: u8 = 9;
const SET: u8 = 10;
const MAP: u8 = 11;
const STRUCT: u8 = 12;
const UUID: u8 = 13;

// PageHeader field ids, and DataPageHeaderV2's.
const UNCOMPRESSED_PAGE_SIZE: i16 = 2;
const COMPRESSED_PAGE_SIZE: i16 = 3;
const DATA_PAGE_HEADER_V2: i16 = 8;
const V2_DEFINITION_LEVELS_LENGTH: i16 = 5;
const V2_REPETITION_LEVELS_LENGTH: i16 = 6;
const V2_IS_COMPRESSED: i16 = 7;

/// Reads one page header from `source`, leaving it at the page body.
pub fn read_page_header(source: &mut impl Read) -> io::Result<PageHeader> {
    let mut input = Counted { source, read: 0 };
    let mut uncompressed = None;
    let mut compressed = None;
    let mut prefix = 0i64;
    let mut is_compressed = true;
    let mut fields = Fields::default();
    while let Some((id, kind)) = fields.next(&mut input)? {
        match (id, kind) {
            (UNCOMPRESSED_PAGE_SIZE, I32) => uncompressed = Some(input.varint_signed()?),
            (COMPRESSED_PAGE_SIZE, I32) => compressed = Some(input.varint_signed()?),
            (DATA_PAGE_HEADER_V2, STRUCT) => {
                let mut v2 = Fields::default();
                while let Some((id, kind)) = v2.next(&mut input)? {
                    match (id, kind) {
                        (V2_DEFINITION_LEVELS_LENGTH | V2_REPETITION_LEVELS_LENGTH, I32) => {
                            prefix = prefix.saturating_add(input.varint_signed()?.max(0));
                        }
                        (V2_IS_COMPRESSED, BOOL_TRUE | BOOL_FALSE) => {
                            is_compressed = kind == BOOL_TRUE;
                        }
                        _ => input.skip(kind, 1)?,
                    }
                }
            }
            _ => input.skip(kind, 0)?,
        }
    }
    let size = |value: Option<i64>, name: &str| {
        value
            .and_then(|value| u64::try_from(value).ok())
            .ok_or_else(|| invalid(format!("page header without a valid {name}")))
    };
    Ok(PageHeader {
        uncompressed_size: size(uncompressed, "uncompressed_page_size")?,
        compressed_size: size(compressed, "compressed_page_size")?,
        uncompressed_prefix: prefix.unsigned_abs(),
        is_compressed,
        header_size: input.read,
    })
}

fn invalid(detail: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, detail)
}

/// The field headers of one struct: each field's id and type, until its stop byte.
#[derive(Default)]
struct Fields {
    last_id: i16,
}

impl Fields {
    fn next<R: Read>(&mut self, input: &mut Counted<R>) -> io::Result<Option<(i16, u8)>> {
        let byte = input.byte()?;
        let kind = byte & 0x0f;
        if kind == STOP {
            return Ok(None);
        }
        let delta = i16::from(byte >> 4);
        let id = if delta == 0 {
            i16::try_from(input.varint_signed()?).map_err(|_| invalid("field id".to_owned()))?
        } else {
            self.last_id.saturating_add(delta)
        };
        self.last_id = id;
        Ok(Some((id, kind)))
    }
}

/// A reader that counts the bytes it consumed.
struct Counted<'a, R> {
    source: &'a mut R,
    read: u64,
}

impl<R: Read> Counted<'_, R> {
    fn byte(&mut self) -> io::Result<u8> {
        let mut byte = [0u8];
        self.source.read_exact(&mut byte)?;
        self.read += 1;
        Ok(byte[0])
    }

    fn varint(&mut self) -> io::Result<u64> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = self.byte()?;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(invalid("varint longer than 10 bytes".to_owned()))
    }

    fn varint_signed(&mut self) -> io::Result<i64> {
        let value = self.varint()?;
        Ok((value >> 1) as i64 ^ -((value & 1) as i64))
    }

    fn bytes(&mut self, count: u64) -> io::Result<()> {
        let copied = io::copy(&mut self.source.take(count), &mut io::sink())?;
        self.read += copied;
        if copied < count {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        Ok(())
    }

    /// Skips a value of type `kind`, `depth` levels into nested values.
    fn skip(&mut self, kind: u8, depth: u32) -> io::Result<()> {
        if depth > MAX_DEPTH {
            return Err(invalid("page header nested too deep".to_owned()));
        }
        match kind {
            BOOL_TRUE | BOOL_FALSE => Ok(()),
            BYTE => self.bytes(1),
            I16 | I32 | I64 => self.varint().map(drop),
            DOUBLE => self.bytes(8),
            BINARY => {
                let length = self.varint()?;
                self.bytes(length)
            }
            UUID => self.bytes(16),
            LIST | SET => {
                let header = self.byte()?;
                let count = match header >> 4 {
                    15 => self.varint()?,
                    small => u64::from(small),
                };
                self.skip_elements(header & 0x0f, count, depth)
            }
            MAP => {
                let count = self.varint()?;
                if count == 0 {
                    return Ok(());
                }
                let kinds = self.byte()?;
                for _ in 0..count {
                    self.skip_element(kinds >> 4, depth)?;
                    self.skip_element(kinds & 0x0f, depth)?;
                }
                Ok(())
            }
            STRUCT => {
                let mut fields = Fields::default();
                while let Some((_, kind)) = fields.next(self)? {
                    self.skip(kind, depth + 1)?;
                }
                Ok(())
            }
            other => Err(invalid(format!("unknown Thrift type {other}"))),
        }
    }

    fn skip_elements(&mut self, kind: u8, count: u64, depth: u32) -> io::Result<()> {
        for _ in 0..count {
            self.skip_element(kind, depth)?;
        }
        Ok(())
    }

    /// Skips a list, set or map element: a boolean there takes a byte.
    fn skip_element(&mut self, kind: u8, depth: u32) -> io::Result<()> {
        match kind {
            BOOL_TRUE | BOOL_FALSE => self.bytes(1),
            kind => self.skip(kind, depth + 1),
        }
    }
}
