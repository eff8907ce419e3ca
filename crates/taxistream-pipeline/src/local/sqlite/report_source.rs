//! The report's reading of a database: each table scanned on a thread of its own, read-only.

use super::run_log::{RUNS_TABLE, read_runs};
use crate::ports::PortError;
use crate::progress::Progress;
use crate::report::{ReportSource, RunHistory};
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use taxistream_core::Table;
use taxistream_core::report::{ItemFields, ReportFigures, report_attributes, whole_number};

/// Items counted between two progress updates.
const PROGRESS_EVERY: u64 = 65_536;

/// A database written by `taxistream run`, checked to hold the three tables and items.
#[derive(Debug, Clone)]
pub struct SqliteReportSource {
    path: PathBuf,
    /// Rows expected in the three tables, for the progress bar.
    expected_rows: u64,
}

impl SqliteReportSource {
    /// Opens `path` read-only and checks it: it exists, is SQLite, has the three tables, and
    /// they hold items. Each failure is one line saying which.
    pub fn open(path: &Path) -> Result<SqliteReportSource, PortError> {
        let name = path.display();
        if !path.is_file() {
            return Err(PortError::permanent(format!(
                "no database at {name}: give the --db that `taxistream run` wrote"
            )));
        }
        let connection = open_read_only(path)?;
        let tables: Vec<String> = list_tables(&connection).map_err(|error| {
            PortError::permanent(format!("{name} is not a SQLite database"))
                .caused_by(error.to_string())
        })?;
        let missing: Vec<&str> = Table::ALL
            .iter()
            .map(|table| table.name())
            .filter(|table| !tables.iter().any(|name| name == table))
            .collect();
        if missing.len() == Table::ALL.len() {
            return Err(PortError::permanent(format!(
                "{name} holds none of the tables of `taxistream run` ({}): not its database, or empty",
                Table::ALL.map(Table::name).join(", ")
            )));
        }
        if !missing.is_empty() {
            return Err(PortError::permanent(format!(
                "{name} lacks the table{} {}: not a complete taxistream database",
                if missing.len() == 1 { "" } else { "s" },
                missing.join(", ")
            )));
        }
        check_columns(&connection, path)?;
        // Rowid tables: the largest rowid is read at once, and is the row count unless rows
        // were deleted; none means the table is empty.
        let mut expected_rows = 0_u64;
        for table in Table::ALL {
            let sql = format!("SELECT coalesce(max(rowid), 0) FROM {}", table.name());
            expected_rows += connection
                .query_row(&sql, [], |row| row.get::<_, i64>(0))
                .map_err(|error| sqlite_failed(path, error))?
                .unsigned_abs();
        }
        if expected_rows == 0 {
            return Err(PortError::permanent(format!(
                "{name} has no trips yet: its three tables are empty"
            )));
        }
        Ok(SqliteReportSource {
            path: path.to_owned(),
            expected_rows,
        })
    }
}

impl ReportSource for SqliteReportSource {
    fn describe(&self) -> String {
        format!("SQLite database {}", self.path.display())
    }

    async fn figures(&self, progress: Arc<Progress>) -> Result<ReportFigures, PortError> {
        progress.expect_rows(self.expected_rows);
        let scans: Vec<_> = Table::ALL
            .into_iter()
            .map(|table| {
                let path = self.path.clone();
                let progress = Arc::clone(&progress);
                tokio::task::spawn_blocking(move || scan_table(&path, table, &progress))
            })
            .collect();
        let mut figures = ReportFigures::default();
        for scan in scans {
            let table_figures = scan
                .await
                .map_err(|error| PortError::internal("a table scan failed").caused_by(error))??;
            figures.merge(&table_figures);
        }
        Ok(figures)
    }

    async fn runs(&self) -> Result<RunHistory, PortError> {
        let connection = open_read_only(&self.path)?;
        let runs = read_runs(&connection).map_err(|error| sqlite_failed(&self.path, error))?;
        Ok(match runs {
            Some(recorded) => RunHistory::Recorded {
                runs: recorded.runs,
                unreadable: recorded.unreadable,
            },
            None => RunHistory::NotKept(format!(
                "this database has no {RUNS_TABLE} table: it was written before taxistream recorded its runs"
            )),
        })
    }
}

/// Every item of `table`, fed to the figures.
fn scan_table(path: &Path, table: Table, progress: &Progress) -> Result<ReportFigures, PortError> {
    let connection = open_read_only(path)?;
    let attributes = report_attributes(table);
    let sql = format!("SELECT {} FROM {}", attributes.join(", "), table.name());
    let failed = |error| sqlite_failed(path, error);
    let mut statement = connection.prepare(&sql).map_err(failed)?;
    let mut rows = statement.query([]).map_err(failed)?;
    let mut figures = ReportFigures::default();
    let mut since_update = 0;
    while let Some(row) = rows.next().map_err(failed)? {
        let mut item = ItemFields::default();
        for (index, attribute) in attributes.iter().enumerate() {
            let value = row.get_ref(index).map_err(failed)?;
            match *attribute {
                "pickup_datetime" => item.pickup_datetime = text(value),
                "pickup_location_id" => item.pickup_location_id = integer(value),
                "duration_minutes" => item.duration_minutes = number(value),
                "duration_category" => item.duration_category = text(value),
                "fare_per_mile" => item.fare_per_mile = number(value),
                "profitability" => item.profitability = text(value),
                _ => {}
            }
        }
        figures.add(table, &item);
        since_update += 1;
        if since_update == PROGRESS_EVERY {
            progress.add_rows(since_update);
            since_update = 0;
        }
    }
    progress.add_rows(since_update);
    Ok(figures)
}

/// Each table has the columns the report reads: a table of the same name written by another
/// program would otherwise fail mid-scan with SQLite's words.
fn check_columns(connection: &Connection, path: &Path) -> Result<(), PortError> {
    for table in Table::ALL {
        let mut statement = connection
            .prepare(&format!(
                "SELECT name FROM pragma_table_info('{}')",
                table.name()
            ))
            .map_err(|error| sqlite_failed(path, error))?;
        let columns: Vec<String> = statement
            .query_map([], |row| row.get(0))
            .and_then(Iterator::collect)
            .map_err(|error| sqlite_failed(path, error))?;
        let missing: Vec<&str> = report_attributes(table)
            .iter()
            .copied()
            .filter(|attribute| !columns.iter().any(|column| column == attribute))
            .collect();
        if !missing.is_empty() {
            return Err(PortError::permanent(format!(
                "{}: table {} lacks the column{} {}: not written by `taxistream run`",
                path.display(),
                table.name(),
                if missing.len() == 1 { "" } else { "s" },
                missing.join(", ")
            )));
        }
    }
    Ok(())
}

fn text(value: ValueRef<'_>) -> Option<&str> {
    match value {
        ValueRef::Text(bytes) => std::str::from_utf8(bytes).ok(),
        _ => None,
    }
}

/// A number stored as one; text is not read as a number, as in DynamoDB, where an `S` is not an `N`.
fn number(value: ValueRef<'_>) -> Option<f64> {
    match value {
        ValueRef::Integer(integer) => Some(integer as f64),
        ValueRef::Real(real) => Some(real),
        ValueRef::Text(_) | ValueRef::Null | ValueRef::Blob(_) => None,
    }
}

fn integer(value: ValueRef<'_>) -> Option<i64> {
    match value {
        ValueRef::Integer(integer) => Some(integer),
        ValueRef::Real(real) => whole_number(real),
        _ => None,
    }
}

fn open_read_only(path: &Path) -> Result<Connection, PortError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    Connection::open_with_flags(path, flags).map_err(|error| sqlite_failed(path, error))
}

fn list_tables(connection: &Connection) -> rusqlite::Result<Vec<String>> {
    let mut statement =
        connection.prepare("SELECT name FROM sqlite_master WHERE type = 'table'")?;
    let names = statement.query_map([], |row| row.get(0))?;
    names.collect()
}

fn sqlite_failed(path: &Path, error: rusqlite::Error) -> PortError {
    PortError::permanent(format!("database {}", path.display())).caused_by(error.to_string())
}
