//! The writer's behaviour on real database files.

use super::open_sqlite_tables;
use super::schema::{create_table_sql, index_name, key_index};
use crate::ports::{PortError, TripTables};
use rusqlite::Connection;
use std::path::Path;
use taxistream_core::{AttributeValue, Item, Table};

fn duration_item(trip_id: &str, hundredths: i64) -> Item {
    Item {
        table: Table::TripDurationAnalysis,
        trip_id: trip_id.into(),
        attributes: vec![(
            "duration_minutes",
            AttributeValue::Decimal(rust_decimal::Decimal::new(hundredths, 2)),
        )],
    }
}

/// Writes `items` in one run, as a local run does; returns the writer's result.
fn write_run(path: &Path, items: Vec<Item>) -> Result<u64, PortError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .map_err(|error| PortError::permanent(error.to_string()))?;
    let (mut tables, writer) = open_sqlite_tables(path)?;
    runtime
        .block_on(tables.write_items(items))
        .map_err(|failure| failure.error)?;
    drop(tables);
    writer.finish()
}

fn durations(path: &Path) -> Vec<(String, f64)> {
    let connection = Connection::open(path).unwrap();
    let mut statement = connection
        .prepare("SELECT trip_id, duration_minutes FROM trip_duration_analysis ORDER BY trip_id")
        .unwrap();
    statement
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap()
}

fn key_of(path: &Path, table: Table) -> Option<String> {
    key_index(&Connection::open(path).unwrap(), table).unwrap()
}

#[test]
fn a_bulk_loaded_table_gets_its_key_and_a_rerun_upserts() -> Result<(), Box<dyn std::error::Error>>
{
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("t.db");
    write_run(
        &path,
        vec![duration_item("b", 100), duration_item("a", 835)],
    )?;
    for table in Table::ALL {
        assert_eq!(key_of(&path, table), Some(index_name(table)), "{table:?}");
    }
    write_run(&path, vec![duration_item("a", 836), duration_item("c", 1)])?;
    assert_eq!(
        durations(&path),
        [("a".into(), 8.36), ("b".into(), 1.0), ("c".into(), 0.01)]
    );
    Ok(())
}

#[test]
fn a_trip_written_twice_in_a_bulk_load_keeps_its_last_version()
-> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("t.db");
    let items = vec![
        duration_item("a", 1),
        duration_item("b", 5),
        duration_item("a", 2),
    ];
    assert_eq!(write_run(&path, items)?, 3);
    assert_eq!(durations(&path), [("a".into(), 0.02), ("b".into(), 0.05)]);
    assert_eq!(
        key_of(&path, Table::TripDurationAnalysis),
        Some(index_name(Table::TripDurationAnalysis))
    );
    // Into a table with rows: upserts, in the order written.
    write_run(&path, vec![duration_item("b", 6), duration_item("b", 7)])?;
    assert_eq!(durations(&path), [("a".into(), 0.02), ("b".into(), 0.07)]);
    Ok(())
}

#[test]
fn a_new_database_appears_complete_when_the_writer_finishes()
-> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("t.db");
    let runtime = tokio::runtime::Builder::new_current_thread().build()?;
    let (mut tables, writer) = open_sqlite_tables(&path)?;
    runtime.block_on(tables.write_items(vec![duration_item("a", 1)]))?;
    drop(tables);
    let staging = dir.path().join("t.db.partial");
    assert!(!path.exists() && staging.exists());
    assert_eq!(writer.finish()?, 1);
    assert!(!staging.exists());
    assert_eq!(durations(&path), [("a".into(), 0.01)]);
    assert_eq!(
        key_of(&path, Table::TripDurationAnalysis),
        Some(index_name(Table::TripDurationAnalysis))
    );
    // Nothing beside it: no journal, no log.
    let mut names: Vec<_> = std::fs::read_dir(dir.path())?
        .map(|entry| entry.map(|entry| entry.file_name()))
        .collect::<Result<_, _>>()?;
    names.sort();
    assert_eq!(names, ["t.db"]);
    Ok(())
}

#[test]
fn a_table_left_without_its_key_gets_it_before_upserts() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("t.db");
    write_run(&path, vec![duration_item("a", 1)])?;
    // As a run stopped part way through a bulk load leaves it: no key, a trip twice.
    let connection = Connection::open(&path)?;
    connection.execute_batch(
        "DROP INDEX trip_duration_analysis_trip_id; \
     INSERT INTO trip_duration_analysis (trip_id, duration_minutes) VALUES ('a', 0.03);",
    )?;
    drop(connection);
    write_run(&path, vec![duration_item("b", 2)])?;
    assert_eq!(durations(&path), [("a".into(), 0.03), ("b".into(), 0.02)]);
    assert!(key_of(&path, Table::TripDurationAnalysis).is_some());
    Ok(())
}

#[test]
fn a_database_keyed_by_primary_key_keeps_working() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("t.db");
    {
        let connection = Connection::open(&path)?;
        for table in Table::ALL {
            let sql = create_table_sql(table)
                .replace("trip_id TEXT NOT NULL", "trip_id TEXT PRIMARY KEY NOT NULL");
            connection.execute_batch(&sql)?;
        }
    }
    write_run(&path, vec![duration_item("a", 1)])?;
    write_run(&path, vec![duration_item("a", 2), duration_item("b", 3)])?;
    assert_eq!(durations(&path), [("a".into(), 0.02), ("b".into(), 0.03)]);
    let key = key_of(&path, Table::TripDurationAnalysis);
    assert!(key.is_some_and(|name| name.starts_with("sqlite_autoindex")));
    Ok(())
}

#[test]
fn writing_twice_leaves_one_row() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("t.db");
    let item = Item {
        table: Table::TripDurationAnalysis,
        trip_id: "t1".into(),
        attributes: vec![(
            "duration_minutes",
            AttributeValue::Decimal(rust_decimal::Decimal::new(835, 2)),
        )],
    };
    let runtime = tokio::runtime::Builder::new_current_thread().build()?;
    for _ in 0..2 {
        let (mut tables, writer) = open_sqlite_tables(&path)?;
        runtime.block_on(tables.write_items(vec![item.clone()]))?;
        drop(tables);
        assert_eq!(writer.finish()?, 1);
    }
    let connection = Connection::open(&path)?;
    let (count, minutes): (i64, f64) = connection.query_row(
        "SELECT count(*), max(duration_minutes) FROM trip_duration_analysis",
        [],
        |row| Ok((row.get(0)?, row.get(1)?)),
    )?;
    assert_eq!((count, minutes), (1, 8.35));
    Ok(())
}

/// A high-value item of `trip_id` (only its pickup time, which every real item has).
fn high_value_item(trip_id: &str) -> Item {
    Item {
        table: Table::HighValueTrips,
        trip_id: trip_id.into(),
        attributes: vec![(
            "pickup_datetime",
            AttributeValue::Text("2025-01-01T00:00:00".into()),
        )],
    }
}

fn high_value_ids(path: &Path) -> Vec<String> {
    let connection = Connection::open(path).unwrap();
    let mut statement = connection
        .prepare("SELECT trip_id FROM high_value_trips ORDER BY trip_id")
        .unwrap();
    statement
        .query_map([], |row| row.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap()
}

#[test]
fn an_absence_deletes_the_trips_row_whether_bulk_loaded_or_upserted()
-> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("t.db");
    let absent = |trip_id: &str| Item::absence(Table::HighValueTrips, trip_id.into());
    // Bulk load: a row then its absence, an absence alone, an absence then a row.
    write_run(
        &path,
        vec![
            high_value_item("a"),
            high_value_item("c"),
            absent("a"),
            absent("b"),
            absent("e"),
            high_value_item("e"),
        ],
    )?;
    assert_eq!(high_value_ids(&path), ["c", "e"]);
    assert_eq!(
        key_of(&path, Table::HighValueTrips),
        Some(index_name(Table::HighValueTrips))
    );
    // Upserts into the table that now has rows.
    write_run(&path, vec![absent("c"), high_value_item("d"), absent("x")])?;
    assert_eq!(high_value_ids(&path), ["d", "e"]);
    Ok(())
}

#[test]
fn a_second_run_on_an_existing_database_is_refused_while_the_first_writes()
-> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("t.db");
    write_run(&path, vec![duration_item("a", 1)])?;
    let (tables, writer) = open_sqlite_tables(&path)?;
    let refused = open_sqlite_tables(&path).map(|_| ()).unwrap_err();
    assert!(refused.retryable());
    assert!(
        refused
            .to_string()
            .contains("is being written by another run"),
        "{refused}"
    );
    drop(tables);
    writer.finish()?;
    write_run(&path, vec![duration_item("b", 2)])?;
    assert_eq!(durations(&path).len(), 2);
    Ok(())
}
