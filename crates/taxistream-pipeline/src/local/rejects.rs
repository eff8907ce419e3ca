//! Rejected rows to a local CSV file: source, line, column, reason, detail, raw row.

use crate::ports::{PortError, RejectSink};
use crate::rejects_csv::RejectsCsv;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use taxistream_core::RowRejection;

/// The rejects CSV file.
pub struct RejectsFile {
    csv: RejectsCsv<BufWriter<File>>,
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
        Ok(RejectsFile {
            csv: RejectsCsv::new(BufWriter::new(file))?,
        })
    }

    /// Flushes to disk.
    pub fn finish(self) -> Result<(), PortError> {
        self.csv
            .into_inner()?
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
        self.csv.reject(source_name, rejection).await
    }
}
