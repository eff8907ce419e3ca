//! The three tables in an embedded SQLite database, written by one thread in large transactions.
//!
//! Each table: `trip_id TEXT NOT NULL` with a unique index on it (the key), then one column per
//! item attribute. Numbers (DynamoDB `N`) are stored as INTEGER when integral, else REAL (exact
//! for the ≤15 significant digits of money and distances); strings as TEXT. Writes are upserts,
//! so a rerun leaves the same content.
//!
//! When the caller promises distinct ids ([`ItemIds::Distinct`]: a local run, whose producer sends
//! each trip once), a table that is empty when the writer opens is bulk-loaded: its key index is
//! dropped, rows are appended with plain INSERTs, and the unique index is built once, at the end
//! or earlier (below): sorting 500,000 keys once is far cheaper than 500,000 inserts into a B-tree
//! of random keys, and the build also checks the promise. Otherwise, and for a table with rows,
//! writes are upserts. A run that stopped part way may leave a table without its index: the next
//! one builds it first.
//!
//! Told the run's progress, the writer builds those indexes early when it has nothing to write
//! while the run reads on without sending new trips (the input goes on with duplicates only): it
//! has nothing else to do, and any later rows are inserted through the index, which checks them
//! the same way.
//!
//! With that promise, a database that does not exist yet is written under a staging name without
//! a journal and named when the writer is done ([`super::staging`]); one that exists is written in
//! place, with a write-ahead log.

use super::staging::Staging;
use crate::ports::{PortError, TripTables, WriteFailure};
use crate::progress::Progress;
use rusqlite::{Connection, types::Value as SqlValue};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use taxistream_core::number::nearest_double;
use taxistream_core::text::push_decimal;
use taxistream_core::{AttributeValue, Item, Table};
use tokio::sync::mpsc;

/// Item batches waiting for the writer before consumers wait (backpressure). Room for more than
/// one sorted run, so consumers keep working while the writer inserts one (measured: 12% faster
/// on new trips than 16 batches, for ~20 MiB more memory).
const WRITER_CHANNEL_BATCHES: usize = 64;
/// Items written in one transaction, at most (plus one batch).
const ITEMS_PER_TRANSACTION: usize = 500_000;
/// Items written together in key order.
const SORTED_RUN: usize = 16_384;
/// Age at which a transaction is committed, even if small (bounds what a crash loses).
const TRANSACTION_AGE: Duration = Duration::from_secs(2);
/// SQLite's page cache, in KiB: trip ids are random keys, so a small cache rereads index pages.
const PAGE_CACHE_KIB: u32 = 65_536;
/// The page cache while key indexes are built (SQLite's sorter sorts runs of this size).
const INDEX_BUILD_CACHE_KIB: u32 = 4_096;
/// When bulk-loaded tables get their key index before the end of the run.
const EARLY_INDEX: EarlyIndex = EarlyIndex {
    idle: Duration::from_millis(20),
    min_items: 100_000,
    min_rows: 10_000,
};

/// The writer builds the key indexes of bulk-loaded tables early when, with at least `min_items`
/// written in this run (fewer: building at the end costs little), it has had nothing to write for
/// `idle` while the run read `min_rows` rows and sent no new trip: the input goes on with
/// duplicates. Idleness alone is not enough: a pause of the whole machine looks the same.
#[derive(Debug, Clone, Copy)]
struct EarlyIndex {
    idle: Duration,
    min_items: u64,
    min_rows: u64,
}

/// A handle consumers write through; cheap to clone, one per consumer.
#[derive(Debug, Clone)]
pub struct SqliteTables {
    sender: mpsc::Sender<Vec<Item>>,
}

/// The writer thread; [`SqliteWriter::finish`] waits for every item to be committed.
#[derive(Debug)]
pub struct SqliteWriter {
    thread: JoinHandle<Result<u64, String>>,
    path: PathBuf,
    /// Where a new database is written until it is complete.
    staging: Option<Staging>,
}

/// What the writer may assume about the items it is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemIds {
    /// Any: a `trip_id` may come more than once (redelivered records); every write is an upsert.
    MayRepeat,
    /// Each `trip_id` comes at most once per table (a local run, whose producer drops duplicate
    /// trips): a table empty at the start is bulk-loaded, and the unique index built after the
    /// load (at the end, or early when the writer is idle) checks the promise (a repeat fails the
    /// run instead of being written twice). A new database appears only when
    /// [`SqliteWriter::finish`] succeeds.
    Distinct,
}

/// Opens (or creates) the database, creates the tables, and starts the writer thread; every
/// write is an upsert.
pub fn open_sqlite_tables(path: &Path) -> Result<(SqliteTables, SqliteWriter), PortError> {
    open_sqlite_tables_with(path, ItemIds::MayRepeat, None)
}

/// [`open_sqlite_tables`], bulk-loading empty tables when `ids` is [`ItemIds::Distinct`]; given
/// the run's `input` progress (rows read, trips sent), the writer builds their key indexes as soon
/// as the input goes on with duplicates only, instead of at the end.
pub fn open_sqlite_tables_with(
    path: &Path,
    ids: ItemIds,
    input: Option<Arc<Progress>>,
) -> Result<(SqliteTables, SqliteWriter), PortError> {
    open_tables(path, ids, EARLY_INDEX, input)
}

fn open_tables(
    path: &Path,
    ids: ItemIds,
    early_index: EarlyIndex,
    input: Option<Arc<Progress>>,
) -> Result<(SqliteTables, SqliteWriter), PortError> {
    let failed = |error: &dyn std::fmt::Display| {
        PortError::permanent(format!("database {}: {error}", path.display()))
    };
    // A local run's new database is written under a staging name (see `staging`).
    let staging = match ids {
        ItemIds::Distinct => Staging::claim(path).map_err(|error| failed(&error))?,
        ItemIds::MayRepeat => None,
    };
    let opened = match &staging {
        Some(staging) => open_database(staging.path(), Journal::Off),
        None => open_database(path, Journal::Wal),
    };
    let connection = match opened {
        Ok(connection) => connection,
        // Dropping the claim removes the staging file.
        Err(error) => return Err(failed(&error)),
    };
    let (sender, receiver) = mpsc::channel(WRITER_CHANNEL_BATCHES);
    let thread = std::thread::Builder::new()
        .name("sqlite-writer".to_owned())
        .spawn(move || write_all(connection, receiver, ids, early_index, input))
        .map_err(|error| {
            PortError::permanent(format!("cannot start the database writer: {error}"))
        })?;
    Ok((
        SqliteTables { sender },
        SqliteWriter {
            thread,
            path: path.to_owned(),
            staging,
        },
    ))
}

impl SqliteWriter {
    /// Waits until every item sent is committed; returns the number of items written.
    ///
    /// Every [`SqliteTables`] handle must be dropped first, or this waits forever.
    pub fn finish(self) -> Result<u64, PortError> {
        let path = self.path.display().to_string();
        let written = match self.thread.join() {
            Ok(Ok(written)) => written,
            failed => {
                // A new database that failed part way is not kept (its staging file has no
                // journal): dropping the claim removes it.
                drop(self.staging);
                return Err(PortError::permanent(match failed {
                    Ok(Err(error)) => format!("database {path}: {error}"),
                    _ => format!("database {path}: the writer thread panicked"),
                }));
            }
        };
        if let Some(staging) = self.staging {
            staging
                .publish()
                .map_err(|error| PortError::permanent(format!("database {path}: {error}")))?;
        }
        Ok(written)
    }
}

impl TripTables for SqliteTables {
    async fn write_items(&mut self, items: Vec<Item>) -> Result<(), WriteFailure> {
        self.sender.send(items).await.map_err(|_| WriteFailure {
            items_written: 0,
            error: PortError::permanent("the database writer stopped (see its error below)"),
        })
    }
}

/// How a database's writes are made safe against a crash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Journal {
    /// Write-ahead log: readers may read while the run writes; a crash loses at most the open
    /// transaction.
    Wal,
    /// No journal, and the file locked to this connection: a new database being staged, which a
    /// crash leaves unpublished (measured 7% faster end to end: every page is written once, not
    /// to the log and then to the database).
    Off,
}

fn open_database(path: &Path, journal: Journal) -> rusqlite::Result<Connection> {
    let connection = Connection::open(path)?;
    let journal = match journal {
        Journal::Wal => "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;",
        Journal::Off => {
            "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA locking_mode = EXCLUSIVE;"
        }
    };
    // 16 KiB pages (shallower trees; measured 10% faster than 4 KiB, new databases only) and a
    // 64 MiB page cache: trip ids are random keys, so a small cache rereads pages from the file.
    // Up to 2 helper threads sort when a key index is built.
    connection.execute_batch(&format!(
        "PRAGMA page_size = 16384; {journal} PRAGMA cache_size = -{PAGE_CACHE_KIB}; \
         PRAGMA threads = 2;"
    ))?;
    for table in Table::ALL {
        connection.execute_batch(&create_table_sql(table))?;
    }
    Ok(connection)
}

/// `CREATE TABLE IF NOT EXISTS` for one table: a rowid table (not `WITHOUT ROWID`: rows of ~200
/// bytes inserted under random keys split far fewer pages this way, measured 15% faster end to
/// end) whose key is the unique index of [`create_index_sql`].
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

fn index_name(table: Table) -> String {
    format!("{}_trip_id", table.name())
}

/// How a table is written during one run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Load {
    /// Empty at the start, no index yet: plain appends, until the unique index is built.
    Bulk,
    /// Keyed, and every id new to it: plain inserts, checked by the key (a bulk-loaded table once
    /// its index is built, or an empty one keyed by the primary key of an older database).
    Insert,
    /// Rows already there: upserts on `trip_id`.
    Upsert,
}

/// Decides how each table is loaded, and readies it: drops the key index of an empty table to be
/// bulk-loaded, builds a missing one on a table to be upserted into.
fn prepare_loads(connection: &Connection, ids: ItemIds) -> rusqlite::Result<Vec<Load>> {
    let mut loads = Vec::with_capacity(Table::ALL.len());
    for table in Table::ALL {
        let empty: bool = connection.query_row(
            &format!("SELECT NOT EXISTS (SELECT 1 FROM {})", table.name()),
            [],
            |row| row.get(0),
        )?;
        let load = match (
            empty && ids == ItemIds::Distinct,
            key_index(connection, table)?,
        ) {
            (true, Some(name)) if name == index_name(table) => {
                connection.execute_batch(&format!("DROP INDEX {name};"))?;
                Load::Bulk
            }
            (true, None) => Load::Bulk,
            (true, Some(_)) => Load::Insert,
            (false, key) => {
                if key.is_none() {
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
fn key_index(connection: &Connection, table: Table) -> rusqlite::Result<Option<String>> {
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

fn upsert_sql(table: Table) -> String {
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

fn insert_sql(table: Table) -> String {
    let attributes = table.attributes();
    let placeholders = vec!["?"; attributes.len() + 1].join(", ");
    format!(
        "INSERT INTO {} (trip_id, {}) VALUES ({placeholders})",
        table.name(),
        attributes.join(", ")
    )
}

/// What waiting for the next items gave.
enum Received {
    Items(Vec<Item>),
    /// Nothing came for the idle limit.
    Idle,
    /// Every sender is gone.
    Closed,
}

/// The writer thread: every item written, and the key indexes of bulk-loaded tables built (when
/// the writer is idle, or at the end).
fn write_all(
    connection: Connection,
    receiver: mpsc::Receiver<Vec<Item>>,
    ids: ItemIds,
    early_index: EarlyIndex,
    input: Option<Arc<Progress>>,
) -> Result<u64, String> {
    // A small runtime of its own, to wait for items with a time limit.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .map_err(|error| error.to_string())?;
    let mut writer = Writer {
        connection,
        receiver,
        runtime,
        early_index,
        input,
    };
    writer.write_all(ids).map_err(|error| error.to_string())
}

struct Writer {
    connection: Connection,
    receiver: mpsc::Receiver<Vec<Item>>,
    runtime: tokio::runtime::Runtime,
    early_index: EarlyIndex,
    /// The run's rows read and trips sent, when the writer is told them.
    input: Option<Arc<Progress>>,
}

impl Writer {
    fn write_all(&mut self, ids: ItemIds) -> rusqlite::Result<u64> {
        let mut loads = prepare_loads(&self.connection, ids)?;
        let columns: Vec<Vec<&'static str>> =
            Table::ALL.iter().map(|table| table.attributes()).collect();
        let statements: Vec<String> = Table::ALL
            .iter()
            .zip(&loads)
            .map(|(table, load)| match load {
                Load::Bulk | Load::Insert => insert_sql(*table),
                Load::Upsert => upsert_sql(*table),
            })
            .collect();
        let mut written = 0u64;
        let mut open = true;
        // The run's (rows read, trips sent) when the writer began to wait with nothing to write.
        let mut quiet_since = None;
        let mut scratch = String::new();
        while open {
            // Key order only helps a key index; bulk-loaded tables have none until indexed.
            let sort_runs = loads.iter().any(|load| *load != Load::Bulk);
            let bulk = loads.contains(&Load::Bulk);
            let mut idle = false;
            // Trip ids are random keys: every transaction dirties pages all over the indexes, so
            // few large transactions write far less than many small ones. Commit by size or age.
            let transaction = self.connection.transaction()?;
            let started = Instant::now();
            let mut in_transaction = 0;
            {
                let mut prepared = statements
                    .iter()
                    .map(|sql| transaction.prepare_cached(sql))
                    .collect::<rusqlite::Result<Vec<_>>>()?;
                while open
                    && !idle
                    && in_transaction < ITEMS_PER_TRANSACTION
                    && started.elapsed() < TRANSACTION_AGE
                {
                    // Gather a run of items and write it in key order: neighbouring keys share
                    // index pages, so each page is found once per run instead of once per item.
                    let mut run: Vec<Item> = Vec::with_capacity(SORTED_RUN);
                    while run.len() < SORTED_RUN {
                        let so_far = written + (in_transaction + run.len()) as u64;
                        let wait_limit = (bulk && so_far >= self.early_index.min_items)
                            .then_some(self.early_index.idle);
                        if wait_limit.is_some() && quiet_since.is_none() {
                            quiet_since = input_counts(self.input.as_deref());
                        }
                        match receive(&self.runtime, &mut self.receiver, wait_limit) {
                            Received::Items(items) => {
                                quiet_since = None;
                                run.extend(items);
                            }
                            Received::Idle => {
                                if only_duplicates_since(
                                    self.input.as_deref(),
                                    self.early_index.min_rows,
                                    &mut quiet_since,
                                ) {
                                    idle = true;
                                    break;
                                }
                                // Input stalled: commit what came, once the transaction is old.
                                if started.elapsed() >= TRANSACTION_AGE {
                                    break;
                                }
                            }
                            Received::Closed => {
                                open = false;
                                break;
                            }
                        }
                    }
                    if sort_runs {
                        run.sort_unstable_by(|a, b| {
                            (a.table, &a.trip_id).cmp(&(b.table, &b.trip_id))
                        });
                    }
                    for item in &run {
                        let index = Table::ALL
                            .iter()
                            .position(|table| *table == item.table)
                            .unwrap_or(0);
                        bind_item(&mut prepared[index], item, &columns[index], &mut scratch)?;
                        prepared[index].raw_execute()?;
                    }
                    in_transaction += run.len();
                }
            }
            transaction.commit()?;
            written += in_transaction as u64;
            if idle || !open {
                self.index_bulk_tables(&mut loads)?;
            }
        }
        Ok(written)
    }

    /// Builds the key index of each bulk-loaded table, which then takes plain inserts checked
    /// by it. Fails (and says so) if a trip_id came twice.
    fn index_bulk_tables(&self, loads: &mut [Load]) -> rusqlite::Result<()> {
        if !loads.contains(&Load::Bulk) {
            return Ok(());
        }
        // SQLite's sorter keeps up to the page cache's size in memory before it writes a sorted
        // run: with a small cache it sorts runs that fit the CPU's caches, on its helper threads,
        // and merges them, instead of sorting every key in one list.
        self.connection
            .execute_batch(&format!("PRAGMA cache_size = -{INDEX_BUILD_CACHE_KIB};"))?;
        let built = Table::ALL.iter().zip(loads).try_for_each(|(table, load)| {
            if *load == Load::Bulk {
                self.connection.execute_batch(&create_index_sql(*table))?;
                *load = Load::Insert;
            }
            Ok(())
        });
        // The build's own error, if any, is the one to report.
        let restored = self
            .connection
            .execute_batch(&format!("PRAGMA cache_size = -{PAGE_CACHE_KIB};"));
        built.and(restored)
    }
}

/// The run's rows read and trips sent, when the writer is told them.
fn input_counts(input: Option<&Progress>) -> Option<(u64, u64)> {
    input.map(|input| (input.rows(), input.trips()))
}

/// True when, since `quiet_since`, the run read at least `min_rows` rows and sent no new trip; a
/// trip sent starts the count again.
fn only_duplicates_since(
    input: Option<&Progress>,
    min_rows: u64,
    quiet_since: &mut Option<(u64, u64)>,
) -> bool {
    let (Some((rows, trips)), Some((rows_now, trips_now))) = (*quiet_since, input_counts(input))
    else {
        return false;
    };
    if trips_now != trips {
        *quiet_since = Some((rows_now, trips_now));
        return false;
    }
    rows_now >= rows + min_rows
}

/// The next items; with a `wait_limit`, [`Received::Idle`] when none came within it.
fn receive(
    runtime: &tokio::runtime::Runtime,
    receiver: &mut mpsc::Receiver<Vec<Item>>,
    wait_limit: Option<Duration>,
) -> Received {
    let received = match wait_limit {
        Some(limit) => {
            // The timer is made inside `block_on`: it needs the runtime's time driver.
            let wait = async { tokio::time::timeout(limit, receiver.recv()).await };
            match runtime.block_on(wait) {
                Ok(received) => received,
                Err(_) => return Received::Idle,
            }
        }
        None => receiver.blocking_recv(),
    };
    received.map_or(Received::Closed, Received::Items)
}

/// Binds an item's values to the upsert: trip_id, then each column's value or NULL.
fn bind_item(
    statement: &mut rusqlite::CachedStatement<'_>,
    item: &Item,
    columns: &[&'static str],
    scratch: &mut String,
) -> rusqlite::Result<()> {
    statement.raw_bind_parameter(1, &*item.trip_id)?;
    // An item's attributes are its table's columns, in column order, absent ones left out.
    let mut attributes = item.attributes.iter().peekable();
    for (position, column) in columns.iter().enumerate() {
        let value = attributes
            .next_if(|(name, _)| name == column)
            .map(|(_, value)| value);
        let index = position + 2;
        match value {
            None => statement.raw_bind_parameter(index, SqlValue::Null)?,
            Some(AttributeValue::Integer(integer)) => {
                statement.raw_bind_parameter(index, integer)?
            }
            Some(AttributeValue::Text(text)) => statement.raw_bind_parameter(index, &**text)?,
            Some(AttributeValue::Label(label)) => statement.raw_bind_parameter(index, *label)?,
            Some(AttributeValue::Decimal(decimal)) => match i64::try_from(*decimal) {
                Ok(integer) if decimal.scale() == 0 => {
                    statement.raw_bind_parameter(index, integer)?
                }
                _ => match nearest_double(*decimal) {
                    Some(real) => statement.raw_bind_parameter(index, real)?,
                    // The nearest double, correctly rounded from the exact decimal text.
                    None => {
                        scratch.clear();
                        push_decimal(scratch, *decimal);
                        match scratch.parse::<f64>() {
                            Ok(real) => statement.raw_bind_parameter(index, real)?,
                            Err(_) => statement.raw_bind_parameter(index, scratch.as_str())?,
                        }
                    }
                },
            },
            Some(AttributeValue::Timestamp(timestamp)) => {
                scratch.clear();
                timestamp.push_iso(scratch);
                statement.raw_bind_parameter(index, scratch.as_str())?;
            }
        }
    }
    Ok(())
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
        write_run_with(path, items, ItemIds::Distinct)
    }

    fn write_run_with(path: &Path, items: Vec<Item>, ids: ItemIds) -> Result<u64, PortError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .map_err(|error| PortError::permanent(error.to_string()))?;
        let (mut tables, writer) = open_sqlite_tables_with(path, ids, None)?;
        runtime
            .block_on(tables.write_items(items))
            .map_err(|failure| failure.error)?;
        drop(tables);
        writer.finish()
    }

    fn durations(path: &Path) -> Vec<(String, f64)> {
        let connection = Connection::open(path).unwrap();
        let mut statement = connection
            .prepare(
                "SELECT trip_id, duration_minutes FROM trip_duration_analysis ORDER BY trip_id",
            )
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
    fn a_bulk_loaded_table_gets_its_key_and_a_rerun_upserts()
    -> Result<(), Box<dyn std::error::Error>> {
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

    /// Feeds `input` for `time`, every 5 ms: `rows` rows read and `trips` trips sent.
    fn feed(input: &Progress, time: Duration, rows: u64, trips: u64) {
        let started = Instant::now();
        while started.elapsed() < time {
            input.add_rows(rows);
            input.add_trips(trips);
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    #[test]
    fn the_keys_are_built_early_once_reading_goes_on_without_new_trips()
    -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let runtime = tokio::runtime::Builder::new_current_thread().build()?;
        let early = EarlyIndex {
            idle: Duration::from_millis(20),
            min_items: 2,
            min_rows: 100,
        };
        let idle_then_write = |path: &Path, later: Item| -> Result<u64, PortError> {
            // An existing, empty database: written in place, so it can be read while it runs.
            Connection::open(path).map_err(|e| PortError::permanent(e.to_string()))?;
            let input = Arc::new(Progress::default());
            let (mut tables, writer) =
                open_tables(path, ItemIds::Distinct, early, Some(Arc::clone(&input)))?;
            let first = vec![duration_item("b", 100), duration_item("a", 835)];
            runtime
                .block_on(tables.write_items(first))
                .map_err(|f| f.error)?;
            // Idle, but nothing read (a pause), then reading with new trips: no key yet.
            std::thread::sleep(Duration::from_millis(200));
            feed(&input, Duration::from_millis(200), 50, 1);
            assert_eq!(key_of(path, Table::TripDurationAnalysis), None);
            // Rows read, no new trip: the key comes (read while the writer runs: WAL).
            let started = Instant::now();
            while key_of(path, Table::TripDurationAnalysis).is_none() {
                assert!(
                    started.elapsed() < Duration::from_secs(10),
                    "no early index"
                );
                feed(&input, Duration::from_millis(10), 50, 0);
            }
            runtime
                .block_on(tables.write_items(vec![later]))
                .map_err(|f| f.error)?;
            drop(tables);
            writer.finish()
        };
        let path = dir.path().join("t.db");
        assert_eq!(idle_then_write(&path, duration_item("c", 1))?, 3);
        assert_eq!(
            durations(&path),
            [("a".into(), 8.35), ("b".into(), 1.0), ("c".into(), 0.01)]
        );
        for table in Table::ALL {
            assert_eq!(key_of(&path, table), Some(index_name(table)), "{table:?}");
        }
        let path = dir.path().join("repeat.db");
        let error = idle_then_write(&path, duration_item("a", 1)).err();
        let error = error.map(|error| error.to_string());
        assert!(
            error.as_ref().is_some_and(|e| e.contains("UNIQUE")),
            "{error:?}"
        );
        Ok(())
    }

    #[test]
    fn a_trip_id_twice_in_a_bulk_load_is_an_error_not_two_rows()
    -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("t.db");
        let error = write_run(&path, vec![duration_item("a", 1), duration_item("a", 2)])
            .err()
            .map(|error| error.to_string());
        assert!(
            error.as_ref().is_some_and(|e| e.contains("UNIQUE")),
            "{error:?}"
        );
        // The new database is not created, and its staging file is removed.
        assert!(!path.exists());
        assert!(!super::super::staging::staging_path(&path).exists());
        Ok(())
    }

    #[test]
    fn a_new_database_appears_complete_when_the_writer_finishes()
    -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("t.db");
        let runtime = tokio::runtime::Builder::new_current_thread().build()?;
        let (mut tables, writer) = open_sqlite_tables_with(&path, ItemIds::Distinct, None)?;
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
    fn without_the_promise_a_repeated_trip_id_is_upserted() -> Result<(), Box<dyn std::error::Error>>
    {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("t.db");
        let items = vec![duration_item("a", 1), duration_item("a", 2)];
        write_run_with(&path, items, ItemIds::MayRepeat)?;
        assert_eq!(durations(&path), [("a".into(), 0.02)]);
        assert!(key_of(&path, Table::TripDurationAnalysis).is_some());
        Ok(())
    }

    #[test]
    fn a_table_left_without_its_key_gets_it_before_upserts()
    -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("t.db");
        write_run(&path, vec![duration_item("a", 1)])?;
        // As a run stopped part way through a bulk load leaves it.
        Connection::open(&path)?.execute_batch("DROP INDEX trip_duration_analysis_trip_id;")?;
        write_run(&path, vec![duration_item("a", 2)])?;
        assert_eq!(durations(&path), [("a".into(), 0.02)]);
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
}
