//! A CSV file cut into parts that can be read apart, each by a different process: every part is
//! the file's header followed by a byte range of whole records.
//!
//! The cut points come from parsing the file once, so a quoted field holding a line break is
//! never cut: a part begins at the start of a record (never inside one), the first non-blank
//! record at or after its nominal offset, and ends where the next part begins. Line numbers are
//! the whole file's, so errors and continuations name the same lines as a reading of the file.

use super::InputError;
use super::bounded_records::DEFAULT_MAX_ROW_BYTES;
use super::csv_rows::{StreamLines, bounded_csv_parser, first_line, is_blank};
use csv::ByteRecord;
use serde::{Deserialize, Serialize};
use std::io::Read;

/// One part of a CSV file: the header (bytes `..header_end`), then bytes `start..end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CsvPart {
    /// The bytes of the header, which every part reads first.
    pub header_end: u64,
    /// The line that `header_end` is on.
    pub header_end_line: u64,
    /// The part's first byte: the start of a record.
    pub start: u64,
    /// The line that `start` is on.
    pub start_line: u64,
    /// The byte after its last one (the next part's `start`); `None`: the end of the file.
    pub end: Option<u64>,
    /// The line of the last row of the parts before it; 0 for the first part.
    pub after_line: u64,
}

impl CsvPart {
    /// The first part, when the rows start right after the header.
    pub fn is_first(&self) -> bool {
        self.start == self.header_end
    }

    /// How a reader of the header followed by the part's bytes numbers its rows as the file
    /// does, skipping the rows on `after_line` and before (those of the parts before it, or of
    /// an earlier invocation of this part).
    pub fn lines(&self, after_line: u64) -> StreamLines {
        StreamLines {
            after_line: after_line.max(self.after_line),
            line_offset: self.start_line.saturating_sub(self.header_end_line),
        }
    }
}

/// Parses the CSV file `source` and cuts it into parts of at least `part_bytes` bytes each (the
/// last may be smaller), each holding at least one row: one part when the file is not larger
/// than that. An empty file has none.
pub fn plan_csv_parts(
    source: impl Read,
    source_name: &str,
    part_bytes: u64,
) -> Result<Vec<CsvPart>, InputError> {
    plan_bounded_csv_parts(source, source_name, part_bytes, DEFAULT_MAX_ROW_BYTES)
}

/// [`plan_csv_parts`] with rows cut to `max_row_bytes`, as the readers of its parts cut them.
fn plan_bounded_csv_parts(
    source: impl Read,
    source_name: &str,
    part_bytes: u64,
    max_row_bytes: u64,
) -> Result<Vec<CsvPart>, InputError> {
    let failed = |line: u64, error: csv::Error| InputError::Read {
        source_name: source_name.to_owned(),
        line,
        detail: error.to_string(),
    };
    // Records are cut to the readers' bound, so a huge line is never held whole here either.
    let mut reader = bounded_csv_parser(source, max_row_bytes);
    let mut record = ByteRecord::new();
    if !reader
        .read_byte_record(&mut record)
        .map_err(|error| failed(0, error))?
    {
        return Ok(Vec::new());
    }
    let parsed_header_end = reader.position().byte();
    if let Some(cut) = reader.get_mut().take_cut(parsed_header_end) {
        return Err(InputError::HeaderTooLarge {
            source_name: source_name.to_owned(),
            bytes: cut.bytes,
            limit: cut.limit,
        });
    }
    let parsed_line = reader.position().line();
    let (header_end, header_end_line) = reader
        .get_mut()
        .source_offset(parsed_header_end, parsed_line);
    let mut parts = Vec::new();
    let mut part = CsvPart {
        header_end,
        header_end_line,
        start: header_end,
        start_line: header_end_line,
        end: None,
        after_line: 0,
    };
    let mut last_row_line = 0;
    while reader
        .read_byte_record(&mut record)
        .map_err(|error| failed(last_row_line, error))?
    {
        if is_blank(&record) {
            continue;
        }
        let Some(position) = record.position() else {
            continue;
        };
        let (start, start_line) = reader
            .get_mut()
            .source_offset(position.byte(), position.line());
        // A part ends once it is large enough, and never before its first row.
        if start >= part.start.saturating_add(part_bytes) && last_row_line > part.after_line {
            parts.push(CsvPart {
                end: Some(start),
                ..part
            });
            part = CsvPart {
                start,
                start_line,
                after_line: last_row_line,
                ..part
            };
        }
        last_row_line = first_line(&record, reader.position().line()).unwrap_or(position.line());
    }
    parts.push(part);
    Ok(parts)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::read::{ReadItem, open_stream, open_stream_lines};
    use proptest::prelude::*;

    fn read_whole(text: &[u8]) -> Vec<ReadItem> {
        open_stream(
            Box::new(std::io::Cursor::new(text.to_vec())),
            "f.csv".into(),
            1,
        )
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
    }

    /// Each part read apart, as an invocation reads it: the header's bytes, then the part's.
    fn read_parts(text: &[u8], parts: &[CsvPart], workers: usize) -> Vec<ReadItem> {
        read_each_part(text, parts, workers).concat()
    }

    fn read_each_part(text: &[u8], parts: &[CsvPart], workers: usize) -> Vec<Vec<ReadItem>> {
        let mut items = Vec::new();
        for part in parts {
            let header = &text[..part.header_end as usize];
            let end = part.end.map_or(text.len(), |end| end as usize);
            let body = &text[part.start as usize..end];
            let bytes = [header, body].concat();
            let reader = open_stream_lines(
                Box::new(std::io::Cursor::new(bytes)),
                "f.csv".into(),
                workers,
                part.lines(0),
            )
            .unwrap();
            items.push(reader.map(Result::unwrap).collect());
        }
        items
    }

    fn line(item: &ReadItem) -> u64 {
        match item {
            ReadItem::Trip { line, .. } => *line,
            ReadItem::Rejected(rejection) => rejection.line,
        }
    }

    const HEADER: &str = "tpep_pickup_datetime,tpep_dropoff_datetime,fare_amount,note";

    /// Rows of every shape a part boundary may meet: quoted line breaks, CRLF, blank lines,
    /// rejected rows.
    fn text(rows: &[(u8, bool)]) -> Vec<u8> {
        let mut text = format!("{HEADER}\r\n");
        for (index, (shape, crlf)) in rows.iter().enumerate() {
            let end = if *crlf { "\r\n" } else { "\n" };
            let minute = index % 60;
            let row = match shape % 5 {
                0 => format!("2025-01-01 00:{minute:02}:00,2025-01-01 01:00:00,{index}.5,x"),
                1 => format!(
                    "2025-01-01 00:{minute:02}:00,2025-01-01 01:00:00,{index},\"two{end}lines, quoted\""
                ),
                2 => String::new(),
                3 => format!("2025-01-01 00:{minute:02}:00,not a time,1,x"),
                _ => format!("2025-01-01 00:{minute:02}:00,2025-01-01 02:00:00,{index}"),
            };
            text.push_str(&row);
            text.push_str(end);
        }
        text.into_bytes()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn the_parts_read_apart_are_the_file_read_whole(
            rows in prop::collection::vec((0u8..5, any::<bool>()), 0..120),
            part_bytes in 1u64..400,
            workers in 1usize..3,
            cut_rows in any::<bool>(),
            row_bound in 61u64..120, // past the 60-byte header
        ) {
            let text = text(&rows);
            // The plan cuts rows as the readers do, at any bound: the parts are the same.
            let parts = if cut_rows {
                plan_bounded_csv_parts(text.as_slice(), "f.csv", part_bytes, row_bound)
            } else {
                plan_csv_parts(text.as_slice(), "f.csv", part_bytes)
            }
            .unwrap();
            let each = read_each_part(&text, &parts, workers);
            prop_assert_eq!(each.concat(), read_whole(&text));
            // A part's `after_line` is the line of the last row before it (what the invocations
            // of the parts before it report as their last line), and every part but the last
            // small one holds a row.
            let mut last_line = 0;
            for (part, items) in parts.iter().zip(&each) {
                prop_assert_eq!(part.after_line, last_line);
                prop_assert!(!items.is_empty() || parts.len() == 1);
                last_line = items.last().map_or(last_line, line);
            }
        }
    }

    #[test]
    fn a_quoted_line_break_is_never_a_cut_point() {
        let text = format!(
            "{HEADER}\n2025-01-01 00:00:00,2025-01-01 00:30:00,1,\"a\nb\"\n2025-01-01 00:01:00,2025-01-01 00:30:00,2,x\n"
        );
        let parts = plan_csv_parts(text.as_bytes(), "f.csv", 1).unwrap();
        assert_eq!(parts.len(), 2);
        // The second part starts on line 4: line 3 is inside the first row's quoted field.
        assert_eq!((parts[1].start_line, parts[1].after_line), (4, 2));
        assert_eq!(parts[0].end, Some(parts[1].start));
        assert_eq!(
            read_parts(text.as_bytes(), &parts, 1),
            read_whole(text.as_bytes())
        );
    }

    #[test]
    fn rows_past_the_row_bound_are_cut_at_the_same_source_bytes_planned_or_read_whole() {
        let good = |minute: u32| format!("2025-01-01 00:{minute:02}:00,2025-01-01 01:00:00,1,x\n");
        let mut text = format!("{HEADER}\n{}", good(0));
        text.push_str(&format!("{}{}\n", good(1).trim_end(), "y".repeat(3 << 19)));
        text.push_str(&good(2));
        let quoted = "z\n".repeat(5 << 18);
        text.push_str(&format!(
            "2025-01-01 00:03:00,2025-01-01 01:00:00,1,\"{quoted}\"\n"
        ));
        for minute in 4..8 {
            text.push_str(&good(minute));
        }
        let whole = read_whole(text.as_bytes());
        let too_large = whole
            .iter()
            .filter(|item| {
                matches!(item, ReadItem::Rejected(rejection)
                    if rejection.reason == crate::reject::RejectReason::RowTooLarge)
            })
            .count();
        assert_eq!((whole.len(), too_large), (8, 2));
        for part_bytes in [1, 100, 1 << 20, 2 << 20, 4 << 20] {
            let parts = plan_csv_parts(text.as_bytes(), "f.csv", part_bytes).unwrap();
            // Not `assert_eq!`: the rows are megabytes long.
            assert!(
                read_parts(text.as_bytes(), &parts, 2) == whole,
                "{part_bytes}: {parts:?}"
            );
        }
    }

    #[test]
    fn a_header_past_the_row_bound_refuses_the_plan() {
        let text = format!(
            "{HEADER},{}\n2025-01-01 00:00:00,2025-01-01 00:30:00,1,x\n",
            "h".repeat(2 << 20)
        );
        let refused = plan_csv_parts(text.as_bytes(), "f.csv", 100).unwrap_err();
        assert!(
            matches!(refused, InputError::HeaderTooLarge { .. }),
            "{refused}"
        );
    }

    #[test]
    fn a_small_file_is_one_part_and_an_empty_one_none() {
        let text = format!("{HEADER}\n2025-01-01 00:00:00,2025-01-01 00:30:00,1,x\n");
        let parts = plan_csv_parts(text.as_bytes(), "f.csv", 1 << 20).unwrap();
        assert_eq!(parts.len(), 1);
        assert!(parts[0].is_first() && parts[0].end.is_none());
        assert!(plan_csv_parts(&b""[..], "f.csv", 1).unwrap().is_empty());
    }
}
