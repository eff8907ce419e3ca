//! Rejected rows to a local CSV file: source, line, column, reason, detail, raw row.

use crate::ports::{PortError, RejectSink};
use std::fs::File;
use std::io::BufWriter;
use std::path::Path;
use taxistream_core::RowRejection;

/// The rejects CSV file.
pub struct RejectsFile {
    writer: csv::Writer<BufWriter<File>>,
}

impl RejectsFile {
    /// Creates (or truncates) the file and writes its header.
    pub fn create(path: &Path) -> Result<RejectsFile, PortError> {
        let file = File::create(path).map_err(|error| {
            PortError::permanent(format!(
                "cannot create rejects file {}: {error}",
                path.display()
            ))
        })?;
        let mut writer = csv::Writer::from_writer(BufWriter::new(file));
        writer
            .write_record(["source", "line", "column", "reason", "detail", "raw"])
            .map_err(|error| PortError::permanent(error.to_string()))?;
        Ok(RejectsFile { writer })
    }

    /// Flushes to disk.
    pub fn finish(mut self) -> Result<(), PortError> {
        self.writer
            .flush()
            .map_err(|error| PortError::permanent(format!("rejects file: {error}")))
    }
}

impl RejectSink for RejectsFile {
    async fn reject(
        &mut self,
        source_name: &str,
        rejection: &RowRejection,
    ) -> Result<(), PortError> {
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
            .map_err(|error| PortError::permanent(format!("rejects file: {error}")))?;
        Ok(())
    }
}
