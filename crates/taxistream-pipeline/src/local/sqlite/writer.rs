//! The writer thread: items in large transactions, in key order where a key index is kept up,
//! and the key indexes of bulk-loaded tables built at the end.

use super::PAGE_CACHE_KIB;
use super::bind::RowBatch;
use super::schema::{
    Load, create_index_sql, delete_absences_sql, delete_sql, insert_sql, keep_last_sql,
    prepare_loads, upsert_sql,
};
use rusqlite::{Connection, ErrorCode};
use std::time::{Duration, Instant};
use taxistream_core::Table;
use tokio::sync::mpsc;

/// Rows written in one transaction, at most (plus one run).
const ROWS_PER_TRANSACTION: usize = 500_000;
/// Rows gathered, then written together (in key order when that helps).
const SORTED_RUN: usize = 16_384;
/// Age at which a transaction is committed, even if small (bounds what a crash loses).
const TRANSACTION_AGE: Duration = Duration::from_secs(2);
/// The page cache while key indexes are built: SQLite's sorter sorts runs of this size on its
/// helper threads and merges them, instead of sorting every key in one list.
const INDEX_BUILD_CACHE_KIB: u32 = 4_096;
/// The page cache while every table is bulk-loaded: rows are appended, so few pages are touched.
const BULK_LOAD_CACHE_KIB: u32 = 8_192;

/// Writes every row received until every sender is gone, then builds the key indexes of the
/// bulk-loaded tables. Returns the number of rows written.
pub(super) fn write_all(
    mut connection: Connection,
    mut receiver: mpsc::Receiver<RowBatch>,
) -> rusqlite::Result<u64> {
    let mut loads = prepare_loads(&connection)?;
    let statements: Vec<String> = Table::ALL
        .iter()
        .zip(&loads)
        .map(|(table, load)| match load {
            Load::Bulk => insert_sql(*table),
            Load::Upsert => upsert_sql(*table),
        })
        .collect();
    let deletes: Vec<String> = Table::ALL.iter().map(|table| delete_sql(*table)).collect();
    // Bulk-loaded tables that got absences: rows to delete once the key index is built.
    let mut absences = [false; Table::ALL.len()];
    // Key order only helps a key index; bulk-loaded tables have none until the end.
    let sort_runs = loads.contains(&Load::Upsert);
    if !sort_runs {
        connection.execute_batch(&format!("PRAGMA cache_size = -{BULK_LOAD_CACHE_KIB};"))?;
    }
    let mut written = 0u64;
    let mut open = true;
    // Time spent waiting for rows: the rest of the load is the writer's own work.
    let (loading, mut waiting) = (Instant::now(), Duration::ZERO);
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
            let mut prepared_deletes = deletes
                .iter()
                .map(|sql| transaction.prepare_cached(sql))
                .collect::<rusqlite::Result<Vec<_>>>()?;
            while open
                && in_transaction < ROWS_PER_TRANSACTION
                && started.elapsed() < TRANSACTION_AGE
            {
                let mut run: Vec<RowBatch> = Vec::new();
                let mut rows = 0;
                while rows < SORTED_RUN {
                    let asked = Instant::now();
                    let received = receiver.blocking_recv();
                    waiting += asked.elapsed();
                    match received {
                        Some(batch) => {
                            rows += batch.len();
                            run.push(batch);
                        }
                        None => {
                            open = false;
                            break;
                        }
                    }
                }
                let mut order: Vec<(usize, usize)> = run
                    .iter()
                    .enumerate()
                    .flat_map(|(batch, rows)| (0..rows.len()).map(move |row| (batch, row)))
                    .collect();
                if sort_runs {
                    // Stable: the versions of one trip stay in the order they came, the last wins.
                    order.sort_by(|&(a, i), &(b, j)| run[a].key(i).cmp(&run[b].key(j)));
                }
                for (batch, row) in order {
                    let rows = &run[batch];
                    match rows.key(row) {
                        // A table with its key index deletes the trip's row at once; a bulk-loaded
                        // one keeps the absence as a row, the trip's last, removed at the end.
                        Some((table, _)) if rows.is_absence(row) => {
                            if loads[table.index()] == Load::Upsert {
                                rows.delete(row, &mut prepared_deletes)?;
                            } else {
                                absences[table.index()] = true;
                                rows.insert(row, &mut prepared)?;
                            }
                        }
                        _ => rows.insert(row, &mut prepared)?,
                    }
                }
                in_transaction += rows;
            }
        }
        transaction.commit()?;
        written += in_transaction as u64;
    }
    let load_seconds = loading.elapsed().as_secs_f64();
    let indexing = Instant::now();
    index_bulk_tables(&connection, &mut loads)?;
    for (table, _) in Table::ALL.iter().zip(absences).filter(|(_, any)| *any) {
        connection.execute_batch(&delete_absences_sql(*table))?;
    }
    tracing::debug!(
        written,
        load_seconds,
        waiting_seconds = waiting.as_secs_f64(),
        index_seconds = indexing.elapsed().as_secs_f64(),
        "database writer done"
    );
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
