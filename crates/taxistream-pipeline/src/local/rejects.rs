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

    /// Opens the file for appending (a long-running consumer keeps earlier rows across
    /// restarts); the header is written only when the file is new or empty.
    pub fn append(path: &Path) -> Result<RejectsFile, PortError> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|error| {
                PortError::permanent(format!(
                    "cannot open rejects file {}: {error}",
                    path.display()
                ))
            })?;
        let is_new = file.metadata().map_or(true, |metadata| metadata.len() == 0);
        let writer = BufWriter::new(file);
        let csv = if is_new {
            RejectsCsv::new(writer)?
        } else {
            RejectsCsv::without_header(writer)
        };
        Ok(RejectsFile { csv })
    }

    /// Flushes to disk.
    pub fn finish(self) -> Result<(), PortError> {
        self.csv
            .into_inner()?
            .flush()
            .map_err(|error| PortError::permanent("rejects file").caused_by(error))
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

    /// Writes what is buffered to the file and to the disk.
    async fn flush(&mut self) -> Result<(), PortError> {
        self.csv.flush()?;
        self.csv
            .get_ref()
            .get_ref()
            .sync_data()
            .map_err(|error| PortError::permanent("rejects file").caused_by(error))
    }
}
