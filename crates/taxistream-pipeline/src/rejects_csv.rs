//! Rejected rows as CSV: `source,line,column,reason,detail,raw`, to a file or an in-memory object.

use crate::ports::{PortError, RejectSink};
use std::io::Write;
use taxistream_core::RowRejection;

/// The header row of every rejects CSV.
pub const HEADER: [&str; 6] = ["source", "line", "column", "reason", "detail", "raw"];

/// A rejects CSV being written to `W` (a file, or a buffer uploaded as one object).
pub struct RejectsCsv<W: Write> {
    writer: csv::Writer<W>,
    rows: u64,
}

impl<W: Write> RejectsCsv<W> {
    /// Starts the CSV with its header.
    pub fn new(out: W) -> Result<Self, PortError> {
        let mut writer = csv::Writer::from_writer(out);
        writer
            .write_record(HEADER)
            .map_err(|error| PortError::permanent("rejects").caused_by(error.to_string()))?;
        Ok(RejectsCsv { writer, rows: 0 })
    }

    /// Continues a CSV that already has its header.
    pub fn without_header(out: W) -> Self {
        RejectsCsv {
            writer: csv::Writer::from_writer(out),
            rows: 0,
        }
    }

    /// Writes what is buffered through to the destination.
    pub fn flush(&mut self) -> Result<(), PortError> {
        self.writer
            .flush()
            .map_err(|error| PortError::permanent("rejects").caused_by(error.to_string()))
    }

    /// The destination.
    pub fn get_ref(&self) -> &W {
        self.writer.get_ref()
    }

    /// Rows written so far, header not counted.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Flushes and gives back the destination.
    pub fn into_inner(self) -> Result<W, PortError> {
        self.writer
            .into_inner()
            .map_err(|error| PortError::permanent(format!("rejects: {}", error.error())))
    }

    fn write(&mut self, source_name: &str, rejection: &RowRejection) -> Result<(), PortError> {
        let column = rejection
            .column
            .as_ref()
            .map(|(number, name)| format!("{number}:{name}"))
            .unwrap_or_default();
        self.writer
            .write_record([
                source_name,
                &rejection.line.to_string(),
                &column,
                rejection.reason.name(),
                &rejection.detail,
                &rejection.raw,
            ])
            .map_err(|error| PortError::permanent("rejects").caused_by(error.to_string()))?;
        self.rows += 1;
        Ok(())
    }
}

impl<W: Write + Send> RejectSink for RejectsCsv<W> {
    async fn reject(
        &mut self,
        source_name: &str,
        rejection: &RowRejection,
    ) -> Result<(), PortError> {
        self.write(source_name, rejection)
    }
}
