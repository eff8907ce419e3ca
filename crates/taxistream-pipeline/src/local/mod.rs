//! The embedded adapters: in-process sharded stream, SQLite tables, rejects file, and the local run.

pub mod error;
pub mod inputs;
pub mod ledger;
pub mod rejects;
pub mod run;
pub mod sqlite;
pub mod staging;
pub mod stream;

pub use error::RunError;
pub use inputs::{InputFile, expand_inputs};
pub use rejects::RejectsFile;
pub use run::{FileReport, LocalRunConfig, LocalRunReport, run_local};
pub use sqlite::{SqliteReportSource, SqliteTables, SqliteWriter, open_sqlite_tables, record_run};
pub use stream::{LocalRecord, LocalStreamSink, ShardReceiver, local_stream, shard_for};
