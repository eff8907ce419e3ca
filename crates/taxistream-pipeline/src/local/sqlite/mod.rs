//! The three tables in an embedded SQLite database, written by one thread in large transactions.
//!
//! Each table: `trip_id TEXT NOT NULL` with a unique index on it (the key), then one column per
//! item attribute ([`schema`]). Writes keep the last version of a trip, so a rerun leaves the same
//! content.
//!
//! A table that is empty when the writer opens is bulk-loaded: its key index is dropped, rows are
//! appended with plain INSERTs, and the unique index is built once, at the end: sorting a million
//! keys once is far cheaper than a million inserts into a B-tree of random keys. When a trip came
//! more than once, the index build finds it, the earlier rows of that trip are deleted, and the
//! index is built again. A table with rows gets upserts. A run that stopped part way may leave a
//! table without its index: the next one builds it first.
//!
//! A database that does not exist yet is written under a staging name without a journal and named
//! when the writer is done ([`super::staging`]); one that exists is written in place, with a
//! write-ahead log. Memory is bounded: a 64 MiB page cache for upserts (8 MiB while every table is
//! bulk-loaded), 4 MiB sorter runs while indexes are built, temporary files on disk.

mod bind;
mod report_source;
mod run_log;
pub mod schema;
#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests;
mod writer;

pub use report_source::SqliteReportSource;
pub use run_log::{RUNS_TABLE, record_run};
pub use schema::{create_index_sql, create_table_sql};

use super::staging::Staging;
use crate::ports::{PortError, TripTables, WriteFailure};
use bind::RowBatch;
use rusqlite::Connection;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;
use taxistream_core::{Item, Table};
use tokio::sync::mpsc;

/// Item batches waiting for the writer before consumers wait (backpressure).
const WRITER_CHANNEL_BATCHES: usize = 64;
/// SQLite's page cache, in KiB: trip ids are random keys, so a small cache rereads index pages.
const PAGE_CACHE_KIB: u32 = 65_536;

/// A handle consumers write through; cheap to clone, one per consumer. Items become rows of SQL
/// values on the consumer's side, so the writer thread only binds them.
#[derive(Debug, Clone)]
pub struct SqliteTables {
    sender: mpsc::Sender<RowBatch>,
    /// Each table's columns, by table index.
    columns: Arc<Vec<Vec<&'static str>>>,
}

/// The writer thread; [`SqliteWriter::finish`] waits for every item to be committed.
#[derive(Debug)]
pub struct SqliteWriter {
    thread: JoinHandle<rusqlite::Result<u64>>,
    path: PathBuf,
    /// Where a new database is written until it is complete.
    staging: Option<Staging>,
    /// An existing database's lock, held until the writer is done.
    _run_lock: Option<std::fs::File>,
}

/// Opens (or creates) the database, creates the tables, and starts the writer thread.
pub fn open_sqlite_tables(path: &Path) -> Result<(SqliteTables, SqliteWriter), PortError> {
    let failed = |error: Box<dyn std::error::Error + Send + Sync>| {
        PortError::permanent(format!("database {}", path.display())).caused_by(error)
    };
    let staging = Staging::claim(path).map_err(|error| failed(error.into()))?;
    // A new database is claimed by its staging lock; an existing one is locked here, for the run.
    let run_lock = match &staging {
        Some(_) => None,
        None => Some(lock_for_the_run(path)?),
    };
    let opened = match &staging {
        Some(staging) => open_database(staging.path(), Journal::Off),
        None => open_database(path, Journal::Wal),
    };
    let connection = match opened {
        Ok(connection) => connection,
        // Dropping the claim removes the staging file.
        // SQLite's error says its own cause again ("Error code 14: ..."): keep its text only.
        Err(error) => return Err(failed(error.to_string().into())),
    };
    let (sender, receiver) = mpsc::channel(WRITER_CHANNEL_BATCHES);
    let thread = std::thread::Builder::new()
        .name("sqlite-writer".to_owned())
        .spawn(move || writer::write_all(connection, receiver))
        .map_err(|error| {
            PortError::permanent("cannot start the database writer").caused_by(error)
        })?;
    let columns = Table::ALL.iter().map(|table| table.attributes()).collect();
    Ok((
        SqliteTables {
            sender,
            columns: Arc::new(columns),
        },
        SqliteWriter {
            thread,
            path: path.to_owned(),
            staging,
            _run_lock: run_lock,
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
                return Err(match failed {
                    Ok(Err(error)) => PortError::permanent(format!("database {path}"))
                        .caused_by(error.to_string()),
                    _ => {
                        PortError::internal(format!("database {path}: the writer thread panicked"))
                    }
                });
            }
        };
        if let Some(staging) = self.staging {
            staging.publish().map_err(|error| {
                PortError::permanent(format!("database {path}")).caused_by(error)
            })?;
        }
        Ok(written)
    }
}

impl TripTables for SqliteTables {
    async fn write_items(&mut self, items: Vec<Item>) -> Result<(), WriteFailure> {
        let rows = RowBatch::from_items(&items, &self.columns);
        drop(items);
        self.sender.send(rows).await.map_err(|_| WriteFailure {
            items_written: 0,
            // The writer's own error is the one its finish reports.
            error: PortError::permanent("the database writer stopped (see its error below)"),
        })
    }
}

/// Takes an exclusive lock on the database file (an advisory `flock`, apart from SQLite's own
/// locks, so readers still read): two runs writing one database at once would both bulk-load an
/// empty table. A second run is refused at once, saying why; the lock goes with the process.
fn lock_for_the_run(path: &Path) -> Result<std::fs::File, PortError> {
    let database = format!("database {}", path.display());
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(|error| PortError::permanent(database.clone()).caused_by(error))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(PortError::transient(format!(
            "{database} is being written by another run; run again once it is done"
        ))),
        Err(std::fs::TryLockError::Error(error)) => {
            Err(PortError::permanent(format!("{database}: cannot lock it")).caused_by(error))
        }
    }
}

/// How a database's writes are made safe against a crash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Journal {
    /// Write-ahead log: readers may read while the run writes; a crash loses at most the open
    /// transaction.
    Wal,
    /// No journal, and the file locked to this connection: a new database being staged, which a
    /// crash leaves unpublished (every page is written once, not to the log and then the file).
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
    // 16 KiB pages (shallower trees; new databases only), a bounded page cache, temporary data
    // (sorter runs of an index build) in files, and up to 2 helper threads to sort.
    connection.execute_batch(&format!(
        "PRAGMA page_size = 16384; {journal} PRAGMA cache_size = -{PAGE_CACHE_KIB}; \
         PRAGMA temp_store = FILE; PRAGMA threads = 2;"
    ))?;
    for table in Table::ALL {
        connection.execute_batch(&create_table_sql(table))?;
    }
    Ok(connection)
}
