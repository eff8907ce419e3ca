//! Tests of the record bound: the text passed on, and what the parser and the reader make of it.

use super::*;
use crate::read::{CsvTripReader, InputError, ReadItem};
use crate::reject::RejectReason;
use proptest::prelude::*;

/// The text passed on, read a few bytes at a time, and the cuts.
fn bound(text: &[u8], limit: u64, read_size: usize) -> (Vec<u8>, Vec<CutRecord>) {
    let mut bounded = BoundedRecords::new(text, limit);
    let mut out = Vec::new();
    let mut buffer = vec![0; read_size];
    loop {
        let read = bounded.read(&mut buffer).unwrap();
        if read == 0 {
            break;
        }
        out.extend_from_slice(&buffer[..read]);
    }
    (out, bounded.scanner.cuts.into_iter().collect())
}

#[test]
fn a_long_line_keeps_its_first_bytes_and_the_next_lines_are_untouched() {
    let (out, cuts) = bound(b"h\nabcdefghij\nxy\n", 4, 3);
    assert_eq!(out, b"h\nabcd\nxy\n");
    let cut = CutRecord {
        end: 7,
        line: 2,
        bytes: 10,
        limit: 4,
        source_end: 13,
        dropped: 6,
        blank_lines: 0,
    };
    assert_eq!(cuts, [cut]);
}

#[test]
fn a_quoted_field_cut_is_closed_and_its_line_feeds_kept_as_empty_lines() {
    let (out, cuts) = bound(b"a\n\"x\ny\nzz\"\"z\",q\nb\n", 3, 64);
    assert_eq!(out, b"a\n\"x\n\"\n\nb\n");
    let cut = CutRecord {
        end: 7,
        line: 2,
        bytes: 13,
        limit: 3,
        source_end: 16,
        dropped: 8,
        blank_lines: 1,
    };
    assert_eq!(cuts, [cut]);
}

#[test]
fn a_record_cut_at_the_end_of_the_text_ends_there() {
    let (out, cuts) = bound(b"a\n\"xyz\nw", 2, 64);
    assert_eq!(out, b"a\n\"x\"");
    let cut = CutRecord {
        end: 5,
        line: 2,
        bytes: 6,
        limit: 2,
        source_end: 8,
        dropped: 3,
        blank_lines: 0,
    };
    assert_eq!(cuts, [cut]);
}

#[test]
fn the_parser_ends_a_cut_record_where_the_cut_says() {
    let text = b"h,i\n\"1234567\n89\",x\n\n3,4\n";
    let mut reader = crate::read::csv_rows::bounded_csv_parser(&text[..], 5);
    let mut record = csv::ByteRecord::new();
    let (mut lines, mut last) = (Vec::new(), Vec::new());
    while reader.read_byte_record(&mut record).unwrap() {
        last = record.as_slice().to_vec();
        let end = reader.position().byte();
        let cut = reader.get_mut().take_cut(end);
        let line = crate::read::csv_rows::first_line(&record, reader.position().line());
        lines.push((line.unwrap(), cut.map(|cut| cut.line)));
    }
    assert_eq!(lines, [(1, None), (2, Some(2)), (5, None)]);
    assert_eq!(last, b"34");
}

const HEADER: &str = "tpep_pickup_datetime,tpep_dropoff_datetime,passenger_count,fare_amount";
const ROW: &str = "2025-01-01 00:00:00,2025-01-01 00:10:00,1,3";

fn read_bounded(text: &str, limit: u64, workers: usize) -> Result<Vec<ReadItem>, InputError> {
    let source = std::io::Cursor::new(text.as_bytes().to_vec());
    CsvTripReader::with_max_row_bytes(source, "t.csv".to_owned(), false, limit)?
        .with_workers(workers)
        .collect()
}

#[test]
fn a_row_over_the_bound_is_rejected_on_its_line_and_the_rows_after_it_are_read() {
    let long = "x".repeat(3000);
    let over = format!("{ROW},\"{long}\n{long}\"");
    let text = format!("{HEADER}\n{ROW}\n{over}\n{ROW}\n\n{ROW}\n");
    for workers in [1, 2] {
        let items = read_bounded(&text, 1000, workers).unwrap();
        let seen: Vec<(u64, Option<RejectReason>)> = items
            .iter()
            .map(|item| match item {
                ReadItem::Trip { line, .. } => (*line, None),
                ReadItem::Rejected(rejection) => (rejection.line, Some(rejection.reason)),
            })
            .collect();
        let rejected = Some(RejectReason::RowTooLarge);
        assert_eq!(seen, [(2, None), (3, rejected), (5, None), (7, None)]);
        let ReadItem::Rejected(rejection) = &items[1] else {
            unreachable!()
        };
        // The row's first 1000 bytes, less the quote that opened its last field.
        assert_eq!(rejection.raw.len(), 999);
        let bytes = over.len();
        assert_eq!(
            rejection.detail,
            format!(
                "the row is {bytes} bytes, over the limit of 1000 bytes; only its first 4096 bytes are kept"
            )
        );
    }
}

#[test]
fn a_header_over_the_bound_refuses_the_file_naming_it() {
    let error = read_bounded(&format!("{HEADER}\n{ROW}\n"), 20, 1).unwrap_err();
    let expected = format!(
        "t.csv: line 1: the header is {} bytes, over the limit of 20 bytes for a row",
        HEADER.len()
    );
    assert_eq!(error.to_string(), expected);
}

proptest! {
    #[test]
    fn records_within_the_bound_pass_unchanged(
        text in proptest::collection::vec(prop::sample::select(&b"ab,\"\n\r"[..]), 0..400),
        read_size in 1usize..50,
    ) {
        let (out, cuts) = bound(&text, 10_000, read_size);
        prop_assert_eq!(out, text);
        prop_assert!(cuts.is_empty());
    }

    #[test]
    fn the_parser_reads_the_same_records_on_the_same_lines_and_cut_ones_within_the_bound(
        text in proptest::collection::vec(prop::sample::select(&b"ab,\"\n"[..]), 0..400),
        limit in 1u64..20,
    ) {
        let mut whole = crate::read::csv_rows::csv_parser(&text[..]);
        let mut bounded = crate::read::csv_rows::bounded_csv_parser(&text[..], limit);
        let (mut expected, mut record) = (csv::ByteRecord::new(), csv::ByteRecord::new());
        while whole.read_byte_record(&mut expected).unwrap_or(false) {
            prop_assert!(bounded.read_byte_record(&mut record).unwrap_or(false));
            let line = |end: &csv::Position, record| {
                crate::read::csv_rows::first_line(record, end.line())
            };
            let end = bounded.position().byte();
            let cut = bounded.get_mut().take_cut(end);
            // The line of a last record with no line feed after empty lines is not told
            // apart (see `first_line`), and a cut record's line feeds become empty lines:
            // lines are compared for the records before the last.
            let lines_known = whole.position().byte() < text.len() as u64;
            let whole_line = line(whole.position(), &expected);
            match cut {
                Some(cut) => {
                    prop_assert!(!lines_known || whole_line == Some(cut.line));
                    prop_assert!(record.as_slice().len() as u64 <= limit);
                }
                None => {
                    let bounded_line = line(bounded.position(), &record);
                    prop_assert!(!lines_known || whole_line == bounded_line);
                    prop_assert_eq!(&expected, &record);
                }
            }
        }
        prop_assert!(!bounded.read_byte_record(&mut record).unwrap_or(false));
    }
}
