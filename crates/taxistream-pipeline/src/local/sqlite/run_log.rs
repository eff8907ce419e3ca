//! The runs that wrote a database, one row each in `taxistream_runs`, for the report.

use rusqlite::{Connection, OptionalExtension};
use taxistream_core::report::RunRecord;

/// The table of runs.
pub const RUNS_TABLE: &str = "taxistream_runs";

/// Appends `record` as one row: a few columns to query, and the whole record as JSON.
pub(crate) fn append_run(connection: &Connection, record: &RunRecord) -> rusqlite::Result<()> {
    connection.execute_batch(&format!(
        "CREATE TABLE IF NOT EXISTS {RUNS_TABLE} (id INTEGER PRIMARY KEY, started_at TEXT NOT NULL, \
         finished_at TEXT NOT NULL, version TEXT NOT NULL, rows_read INTEGER NOT NULL, \
         trips INTEGER NOT NULL, duplicates INTEGER NOT NULL, rejected INTEGER NOT NULL, \
         record TEXT NOT NULL);"
    ))?;
    let json = serde_json::to_string(record)
        .map_err(|error| rusqlite::Error::ToSqlConversionFailure(Box::new(error)))?;
    let accounting = &record.accounting;
    connection.execute(
        &format!(
            "INSERT INTO {RUNS_TABLE} (started_at, finished_at, version, rows_read, trips, \
             duplicates, rejected, record) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
        ),
        rusqlite::params![
            record.started_at,
            record.finished_at,
            record.version,
            saturating(accounting.rows_read),
            saturating(accounting.trips),
            saturating(accounting.duplicates),
            saturating(accounting.rejected),
            json
        ],
    )?;
    Ok(())
}

/// The runs of a database's table of runs.
#[derive(Debug, Default)]
pub(crate) struct RecordedRuns {
    /// Every readable run, oldest first.
    pub runs: Vec<RunRecord>,
    /// Rows whose record could not be read, each with why.
    pub unreadable: Vec<String>,
}

/// Every recorded run, oldest first; `None` when the database has no table of runs. A row that
/// holds no run record (written by another program, or edited) is left out and said why.
pub(crate) fn read_runs(connection: &Connection) -> rusqlite::Result<Option<RecordedRuns>> {
    let exists = connection
        .query_row(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1",
            [RUNS_TABLE],
            |_| Ok(()),
        )
        .optional()?
        .is_some();
    if !exists {
        return Ok(None);
    }
    let mut statement =
        connection.prepare(&format!("SELECT id, record FROM {RUNS_TABLE} ORDER BY id"))?;
    let mut rows = statement.query([])?;
    let mut recorded = RecordedRuns::default();
    while let Some(row) = rows.next()? {
        let id: i64 = row.get(0)?;
        let parsed = match row.get_ref(1)? {
            rusqlite::types::ValueRef::Text(json) => {
                serde_json::from_slice::<RunRecord>(json).map_err(|error| error.to_string())
            }
            _ => Err("the record is not text".to_owned()),
        };
        match parsed {
            Ok(record) => recorded.runs.push(record),
            Err(why) => recorded.unreadable.push(format!(
                "run {id} of {RUNS_TABLE} is not a run record ({why})"
            )),
        }
    }
    Ok(Some(recorded))
}

fn saturating(count: u64) -> i64 {
    i64::try_from(count).unwrap_or(i64::MAX)
}

/// Records a finished run in the database at `path`.
pub fn record_run(path: &std::path::Path, record: &RunRecord) -> Result<(), crate::PortError> {
    let failed = |error: rusqlite::Error| {
        crate::PortError::permanent(format!(
            "database {}: the tables are written, but the run could not be recorded",
            path.display()
        ))
        .caused_by(error.to_string())
    };
    let connection = Connection::open(path).map_err(failed)?;
    connection
        .busy_timeout(std::time::Duration::from_secs(10))
        .map_err(failed)?;
    append_run(&connection, record).map_err(failed)
}
