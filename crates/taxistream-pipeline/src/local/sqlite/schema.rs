//! The tables' SQL: one column per item attribute, keyed by a unique index on `trip_id`.

use rusqlite::Connection;
use taxistream_core::Table;

/// `CREATE TABLE IF NOT EXISTS` for one table: a rowid table (not `WITHOUT ROWID`: rows of ~200
/// bytes inserted under random keys split far fewer pages this way) whose key is the unique index
/// of [`create_index_sql`].
pub fn create_table_sql(table: Table) -> String {
    let columns: Vec<String> = table
        .attributes()
        .into_iter()
        .map(|name| {
            format!("{name} {}", column_type(name))
                .trim_end()
                .to_owned()
        })
        .collect();
    format!(
        "CREATE TABLE IF NOT EXISTS {} (trip_id TEXT NOT NULL, {});",
        table.name(),
        columns.join(", ")
    )
}

/// The unique index on `trip_id` that is the table's key.
pub fn create_index_sql(table: Table) -> String {
    format!(
        "CREATE UNIQUE INDEX IF NOT EXISTS {} ON {} (trip_id);",
        index_name(table),
        table.name()
    )
}

/// Deletes every row of a table whose `trip_id` a later row (larger rowid) has too: the last
/// version of a trip stays, as an upsert would leave it.
pub(super) fn keep_last_sql(table: Table) -> String {
    let name = table.name();
    format!(
        "DELETE FROM {name} WHERE rowid NOT IN (SELECT max(rowid) FROM {name} GROUP BY trip_id);"
    )
}

/// Deletes the row of one `trip_id` (`?1`), through the key index.
pub(super) fn delete_sql(table: Table) -> String {
    format!("DELETE FROM {} WHERE trip_id = ?1", table.name())
}

/// Deletes the rows that stand for absences in a bulk-loaded table (every column but `trip_id`
/// NULL; a real row always has its pickup time), once the last version of each trip is the
/// only one left.
pub(super) fn delete_absences_sql(table: Table) -> String {
    format!(
        "DELETE FROM {} WHERE pickup_datetime IS NULL;",
        table.name()
    )
}

pub(super) fn index_name(table: Table) -> String {
    format!("{}_trip_id", table.name())
}

fn column_type(attribute: &str) -> &'static str {
    match attribute {
        // Integer codes, or text in 2009–2014 files: no declared type (BLOB affinity), so values
        // are stored exactly as bound, never converted.
        "vendor_id" | "payment_type" => "",
        "pickup_datetime" | "dropoff_datetime" | "duration_category" | "profitability" => "TEXT",
        "passenger_count" | "pickup_location_id" | "dropoff_location_id" => "INTEGER",
        _ => "NUMERIC",
    }
}

pub(super) fn upsert_sql(table: Table) -> String {
    let updates: Vec<String> = table
        .attributes()
        .iter()
        .map(|name| format!("{name} = excluded.{name}"))
        .collect();
    format!(
        "{} ON CONFLICT (trip_id) DO UPDATE SET {}",
        insert_sql(table),
        updates.join(", ")
    )
}

pub(super) fn insert_sql(table: Table) -> String {
    let attributes = table.attributes();
    let placeholders = vec!["?"; attributes.len() + 1].join(", ");
    format!(
        "INSERT INTO {} (trip_id, {}) VALUES ({placeholders})",
        table.name(),
        attributes.join(", ")
    )
}

/// How a table is written during one run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Load {
    /// Empty at the start: its key index is built after the load (plain appends, then one sort,
    /// instead of an insert into a B-tree of random keys per row). A trip written twice keeps its
    /// last version.
    Bulk,
    /// Rows already there, or a key that cannot be dropped: upserts on `trip_id`.
    Upsert,
}

/// Decides how each table is loaded, and readies it: drops the key index of an empty table to be
/// bulk-loaded, builds a missing one on a table to be upserted into.
pub(super) fn prepare_loads(connection: &Connection) -> rusqlite::Result<Vec<Load>> {
    let mut loads = Vec::with_capacity(Table::ALL.len());
    for table in Table::ALL {
        let empty: bool = connection.query_row(
            &format!("SELECT NOT EXISTS (SELECT 1 FROM {})", table.name()),
            [],
            |row| row.get(0),
        )?;
        let load = match (empty, key_index(connection, table)?) {
            (true, Some(name)) if name == index_name(table) => {
                connection.execute_batch(&format!("DROP INDEX {name};"))?;
                Load::Bulk
            }
            (true, None) => Load::Bulk,
            // An older database's primary key: it cannot be dropped.
            (true, Some(_)) => Load::Upsert,
            (false, key) => {
                if key.is_none() {
                    // As a run stopped part way through a bulk load leaves it: duplicates first.
                    connection.execute_batch(&keep_last_sql(table))?;
                    connection.execute_batch(&create_index_sql(table))?;
                }
                Load::Upsert
            }
        };
        loads.push(load);
    }
    Ok(loads)
}

/// The name of a unique index on exactly `trip_id` (ours, or an older schema's primary key).
pub(super) fn key_index(connection: &Connection, table: Table) -> rusqlite::Result<Option<String>> {
    let mut indexes = connection.prepare(&format!("PRAGMA index_list({})", table.name()))?;
    let unique: Vec<String> = indexes
        .query_map([], |row| {
            Ok((row.get::<_, String>("name")?, row.get::<_, bool>("unique")?))
        })?
        .filter_map(|index| match index {
            Ok((name, true)) => Some(Ok(name)),
            Ok(_) => None,
            Err(error) => Some(Err(error)),
        })
        .collect::<rusqlite::Result<_>>()?;
    for name in unique {
        let quoted = name.replace('"', "\"\"");
        let mut info = connection.prepare(&format!("PRAGMA index_info(\"{quoted}\")"))?;
        let columns: Vec<String> = info
            .query_map([], |row| row.get::<_, String>("name"))?
            .collect::<rusqlite::Result<_>>()?;
        if columns == ["trip_id"] {
            return Ok(Some(name));
        }
    }
    Ok(None)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn every_table_has_a_trip_id_key_and_one_column_per_attribute() {
        let sql = create_table_sql(Table::DistanceToFareRatio);
        assert_eq!(
            sql,
            "CREATE TABLE IF NOT EXISTS distance_to_fare_ratio (trip_id TEXT NOT NULL, \
             pickup_datetime TEXT, dropoff_datetime TEXT, vendor_id, pickup_location_id INTEGER, \
             dropoff_location_id INTEGER, trip_distance NUMERIC, fare_amount NUMERIC, fare_per_mile NUMERIC, \
             profitability TEXT);"
        );
    }
}
