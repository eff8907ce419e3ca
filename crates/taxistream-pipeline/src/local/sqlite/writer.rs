//! The writer thread: items in large transactions, in key order where a key index is kept up,
//! and the key indexes of bulk-loaded tables built at the end.

use super::PAGE_CACHE_KIB;
use super::bind::bind_item;
use super::schema::{Load, create_index_sql, insert_sql, keep_last_sql, prepare_loads, upsert_sql};
use rusqlite::{Connection, ErrorCode};
use std::time::{Duration, Instant};
use taxistream_core::{Item, Table};
use tokio::sync::mpsc;

/// Items written in one transaction, at most (plus one run).
const ITEMS_PER_TRANSACTION: usize = 500_000;
/// Items gathered, then written together (in key order when that helps).
const SORTED_RUN: usize = 16_384;
/// Age at which a transaction is committed, even if small (bounds what a crash loses).
const TRANSACTION_AGE: Duration = Duration::from_secs(2);
/// The page cache while key indexes are built: SQLite's sorter sorts runs of this size on its
/// helper threads and merges them, instead of sorting every key in one list.
const INDEX_BUILD_CACHE_KIB: u32 = 4_096;

/// Writes every item received until every sender is gone, then builds the key indexes of the
/// bulk-loaded tables. Returns the number of items written.
pub(super) fn write_all(
    mut connection: Connection,
    mut receiver: mpsc::Receiver<Vec<Item>>,
) -> rusqlite::Result<u64> {
    let mut loads = prepare_loads(&connection)?;
    let columns: Vec<Vec<&'static str>> =
        Table::ALL.iter().map(|table| table.attributes()).collect();
    let statements: Vec<String> = Table::ALL
        .iter()
        .zip(&loads)
        .map(|(table, load)| match load {
            Load::Bulk => insert_sql(*table),
            Load::Upsert => upsert_sql(*table),
        })
        .collect();
    // Key order only helps a key index; bulk-loaded tables have none until the end.
    let sort_runs = loads.contains(&Load::Upsert);
    let mut written = 0u64;
    let mut open = true;
    let mut scratch = String::new();
    while open {
        // Trip ids are random keys: every transaction dirties pages all over the indexes, so few
        // large transactions write far less than many small ones. Commit by size or age.
        let transaction = connection.transaction()?;
        let started = Instant::now();
        let mut in_transaction = 0;
        {
            let mut prepared = statements
                .iter()
                .map(|sql| transaction.prepare_cached(sql))
                .collect::<rusqlite::Result<Vec<_>>>()?;
            while open
                && in_transaction < ITEMS_PER_TRANSACTION
                && started.elapsed() < TRANSACTION_AGE
            {
                let mut run: Vec<Item> = Vec::with_capacity(SORTED_RUN);
                while run.len() < SORTED_RUN {
                    match receiver.blocking_recv() {
                        Some(items) => run.extend(items),
                        None => {
                            open = false;
                            break;
                        }
                    }
                }
                if sort_runs {
                    // Stable: the versions of one trip stay in the order they came, the last wins.
                    run.sort_by(|a, b| (a.table, &a.trip_id).cmp(&(b.table, &b.trip_id)));
                }
                for item in &run {
                    let index = item.table.index();
                    bind_item(&mut prepared[index], item, &columns[index], &mut scratch)?;
                    prepared[index].raw_execute()?;
                }
                in_transaction += run.len();
            }
        }
        transaction.commit()?;
        written += in_transaction as u64;
    }
    index_bulk_tables(&connection, &mut loads)?;
    Ok(written)
}

/// Builds the key index of each bulk-loaded table. A trip written more than once fails the
/// build: its earlier rows are deleted (the last version stays, as upserts leave it), and the
/// index is built again.
fn index_bulk_tables(connection: &Connection, loads: &mut [Load]) -> rusqlite::Result<()> {
    if !loads.contains(&Load::Bulk) {
        return Ok(());
    }
    connection.execute_batch(&format!("PRAGMA cache_size = -{INDEX_BUILD_CACHE_KIB};"))?;
    let built = Table::ALL.iter().zip(loads).try_for_each(|(table, load)| {
        if *load == Load::Bulk {
            match connection.execute_batch(&create_index_sql(*table)) {
                Err(error) if error.sqlite_error_code() == Some(ErrorCode::ConstraintViolation) => {
                    connection.execute_batch(&keep_last_sql(*table))?;
                    connection.execute_batch(&create_index_sql(*table))?;
                }
                other => other?,
            }
            *load = Load::Upsert;
        }
        Ok(())
    });
    // The build's own error, if any, is the one to report.
    let restored = connection.execute_batch(&format!("PRAGMA cache_size = -{PAGE_CACHE_KIB};"));
    built.and(restored)
}
