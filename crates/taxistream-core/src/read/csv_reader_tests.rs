//! Tests of [`CsvTripReader`].

use super::*;
use crate::reject::RejectReason;
use crate::schema::Field;

fn read_with(text: &str, workers: usize) -> Result<Vec<ReadItem>, InputError> {
    CsvTripReader::new(
        std::io::Cursor::new(text.as_bytes().to_vec()),
        "test.csv".to_owned(),
        false,
    )?
    .with_workers(workers)
    .collect()
}

fn read(text: &str) -> Result<Vec<ReadItem>, InputError> {
    read_with(text, 1)
}

fn reasons(items: &[ReadItem]) -> Vec<String> {
    items
        .iter()
        .map(|item| match item {
            ReadItem::Trip { .. } => "trip".to_owned(),
            ReadItem::Rejected(r) => r.to_string(),
        })
        .collect()
}

#[test]
fn crlf_blank_second_line_and_trailing_empty_fields() -> Result<(), InputError> {
    let items = read(
        "VendorID,tpep_pickup_datetime,tpep_dropoff_datetime,fare_amount\r\n\r\n1,2016-07-01 00:00:00,2016-07-01 00:10:00,.5,,\r\n",
    )?;
    assert_eq!(reasons(&items), ["trip"]);
    let ReadItem::Trip { trip, .. } = &items[0] else {
        unreachable!()
    };
    assert_eq!(
        trip.decimal(Field::FareAmount).map(|d| d.to_string()),
        Some("0.5".into())
    );
    Ok(())
}

#[test]
fn the_2009_and_2014_spellings_are_understood() -> Result<(), InputError> {
    let items = read(
        "vendor_name, Trip_Pickup_DateTime, Trip_Dropoff_DateTime, Total_Amt, Payment_Type\nVTS, 2009-01-04 02:52:00, 2009-01-04 03:02:00, 9.4, CASH\n",
    )?;
    let ReadItem::Trip { trip, .. } = &items[0] else {
        panic!("{:?}", reasons(&items))
    };
    assert_eq!(
        trip.decimal(Field::TotalAmount).map(|d| d.to_string()),
        Some("9.4".into())
    );
    Ok(())
}

const DIRTY: &str = concat!(
    "tpep_pickup_datetime,tpep_dropoff_datetime,passenger_count,fare_amount\n",
    "2025-01-01 00:00:00,2025-01-01 00:10:00,1.5,3\n",
    "2025-01-01 00:00:00,2025-02-30 00:10:00,1,3\n",
    "2025-01-01 00:00:00,,1,3\n",
    "2025-01-01 00:00:00,2025-01-01 00:10:00,1\n",
    "2025-01-01 00:00:00,2025-01-01 00:10:00,1,3,x\n",
    "2025-01-01 00:00:00,2025-01-01 00:10:00,1,abc\n",
);

#[test]
fn each_bad_row_is_rejected_with_line_column_and_reason() -> Result<(), InputError> {
    let items = read(DIRTY)?;
    assert_eq!(
        reasons(&items),
        [
            "line 2, column 3 (passenger_count): bad_number: not an integer: \"1.5\"",
            "line 3, column 2 (tpep_dropoff_datetime): bad_timestamp: timestamp not a valid date or time: \"2025-02-30 00:10:00\"",
            "line 4, column 2 (tpep_dropoff_datetime): missing_timestamp: dropoff_datetime is empty",
            "line 5: too_few_fields: 3 fields, the header has 4",
            "line 6: extra_fields: non-empty field 5 beyond the header's 4",
            "line 7, column 4 (fare_amount): bad_number: not a number: \"abc\"",
        ]
    );
    Ok(())
}

#[test]
fn crlf_rows_are_on_the_same_lines_and_read_the_same_as_lf_rows() -> Result<(), InputError> {
    // Official TLC CSVs end their lines with CRLF; a blank CRLF line is not a row either.
    let crlf = DIRTY.replace('\n', "\r\n").replacen("\r\n", "\r\n\r\n", 1);
    let lf = DIRTY.replacen('\n', "\n\n", 1);
    let (crlf, lf) = (read(&crlf)?, read(&lf)?);
    assert_eq!(crlf, lf);
    let lines: Vec<u64> = crlf.iter().map(line_of).collect();
    assert_eq!(lines, [3, 4, 5, 6, 7, 8]);
    Ok(())
}

#[test]
fn workers_yield_the_same_rows_in_the_same_order() -> Result<(), InputError> {
    let mut text = String::from(DIRTY);
    for minute in 0..5000 {
        text.push_str(&format!(
            "2025-01-01 00:00:00,2025-01-01 01:{:02}:00,1,{minute}\n",
            minute % 60
        ));
        if minute % 777 == 0 {
            text.push_str("\n2025-01-01 00:00:00,nope,1,3\n");
        }
    }
    let inline = read_with(&text, 1)?;
    assert_eq!(inline.len(), 6 + 5000 + 7);
    assert_eq!(read_with(&text, 3)?, inline);
    Ok(())
}

fn line_of(item: &ReadItem) -> u64 {
    match item {
        ReadItem::Trip { line, .. } => *line,
        ReadItem::Rejected(rejection) => rejection.line,
    }
}

#[test]
fn reading_after_a_line_yields_exactly_the_rows_after_it() -> Result<(), InputError> {
    // Row 3 holds a quoted line break: its second line is not a row start.
    let mut text = String::from("tpep_pickup_datetime,tpep_dropoff_datetime,note\n");
    for minute in 0..3000 {
        let note = if minute == 2 { "\"two\nlines\"" } else { "x" };
        text.push_str(&format!(
            "2025-01-01 00:00:00,2025-01-01 01:{:02}:00,{note}\n",
            minute % 60
        ));
    }
    let all = read_with(&text, 1)?;
    assert_eq!(all.len(), 3000);
    for workers in [1, 3] {
        for done in [0usize, 1, 2, 3, 1500, 2999, 3000] {
            let after = done.checked_sub(1).map_or(0, |index| line_of(&all[index]));
            let rest: Vec<ReadItem> = CsvTripReader::new(
                std::io::Cursor::new(text.as_bytes().to_vec()),
                "test.csv".to_owned(),
                false,
            )?
            .after_line(after)
            .with_workers(workers)
            .collect::<Result<_, _>>()?;
            assert_eq!(rest, all[done..], "after line {after}, {workers} workers");
        }
    }
    Ok(())
}

#[test]
fn a_row_that_is_not_utf8_keeps_its_bytes_escaped() -> Result<(), InputError> {
    let mut text = b"tpep_pickup_datetime,tpep_dropoff_datetime,zone\n".to_vec();
    text.extend(b"2025-01-01 00:00:00,2025-01-01 00:10:00,Caf\xe9\n");
    let items: Vec<ReadItem> =
        CsvTripReader::new(std::io::Cursor::new(text), "l.csv".to_owned(), false)?
            .collect::<Result<_, _>>()?;
    let ReadItem::Rejected(rejection) = &items[0] else {
        panic!("{:?}", reasons(&items))
    };
    assert_eq!(rejection.reason, RejectReason::InvalidUtf8);
    assert!(rejection.raw.ends_with("Caf\\xE9"), "{}", rejection.raw);
    Ok(())
}

#[test]
fn fields_are_read_trimmed_and_rejected_rows_keep_trimmed_fields() -> Result<(), InputError> {
    let header = "tpep_pickup_datetime,tpep_dropoff_datetime,fare_amount,zone\n";
    let padded = read(&format!(
        "{header} 2025-01-01 00:00:00 ,\t2025-01-01 00:10:00,\" 1.50 \", Zürich \n   \n\
         2025-01-01 00:00:00,2025-01-01 00:10:00 ,3, a , x \n"
    ))?;
    let plain = read(&format!(
        "{header}2025-01-01 00:00:00,2025-01-01 00:10:00,1.5,Zürich\n \n\
         2025-01-01 00:00:00,2025-01-01 00:10:00,3,a,x\n"
    ))?;
    assert_eq!(padded, plain);
    assert_eq!(
        reasons(&padded)[1],
        "line 4: extra_fields: non-empty field 5 beyond the header's 4"
    );
    let ReadItem::Rejected(rejection) = &padded[1] else {
        unreachable!()
    };
    assert_eq!(
        rejection.raw,
        "2025-01-01 00:00:00,2025-01-01 00:10:00,3,a,x"
    );
    Ok(())
}

#[test]
fn a_character_split_across_two_fields_is_invalid_in_the_first() -> Result<(), InputError> {
    let mut text = b"tpep_pickup_datetime,tpep_dropoff_datetime,a,b\n".to_vec();
    // Together the two fields are the UTF-8 of `é`; each alone is not text.
    text.extend(b"2025-01-01 00:00:00,2025-01-01 00:10:00,\xc3,\xa9\n");
    text.extend(b"2025-01-01 00:00:00,2025-01-01 00:10:00,\xc3\xa9,\xe2\x82\n");
    let items: Vec<ReadItem> =
        CsvTripReader::new(std::io::Cursor::new(text), "s.csv".to_owned(), false)?
            .collect::<Result<_, _>>()?;
    let columns: Vec<_> = items
        .iter()
        .map(|item| match item {
            ReadItem::Rejected(r) => (r.reason, r.column.clone()),
            _ => panic!("{:?}", reasons(&items)),
        })
        .collect();
    assert_eq!(
        columns,
        [
            (RejectReason::InvalidUtf8, Some((3, "a".to_owned()))),
            (RejectReason::InvalidUtf8, Some((4, "b".to_owned())))
        ]
    );
    Ok(())
}

#[test]
fn a_header_without_timestamps_is_refused() {
    let error = read("LocationID,Borough\n1,EWR\n")
        .err()
        .map(|e| e.to_string());
    assert!(error.is_some_and(|e| e.contains("found columns: LocationID, Borough")));
    assert!(matches!(read(""), Err(InputError::Empty { .. })));
}

#[test]
fn lines_ending_in_a_lone_cr_are_refused_not_read_as_a_file_without_rows() {
    let text =
        "tpep_pickup_datetime,tpep_dropoff_datetime\r2024-01-01 00:00:00,2024-01-01 00:10:00\r";
    let error = read(text).err().map(|e| e.to_string());
    assert!(
        error.is_some_and(|e| e.contains("line 1: lines end in a lone carriage return")),
        "{text:?}"
    );
}
