//! Rejected rows to a local CSV file: source, line, column, reason, detail, raw row.

use super::staging::{publish_by_rename, with_suffix};
use crate::ports::{PortError, RejectSink};
use crate::rejects_csv::RejectsCsv;
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use taxistream_core::RowRejection;

/// The rejects CSV file.
pub struct RejectsFile {
    csv: Option<RejectsCsv<BufWriter<File>>>,
    /// For a run's file: written as `<path>.partial`, named `path` when finished.
    staged: Option<Staged>,
}

struct Staged {
    partial: PathBuf,
    path: PathBuf,
}

impl RejectsFile {
    /// Starts a run's rejects file, with its header, as `<path>.partial`: [`RejectsFile::finish`]
    /// names it `path` (replacing an earlier run's), so a run that fails keeps the earlier file.
    pub fn create(path: &Path) -> Result<RejectsFile, PortError> {
        let partial = with_suffix(path, ".partial");
        let file = File::create(&partial).map_err(|error| {
            PortError::permanent(format!(
                "cannot create rejects file {}: {error}",
                partial.display()
            ))
        })?;
        Ok(RejectsFile {
            csv: Some(RejectsCsv::new(BufWriter::new(file))?),
            staged: Some(Staged {
                partial,
                path: path.to_owned(),
            }),
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
        Ok(RejectsFile {
            csv: Some(csv),
            staged: None,
        })
    }

    /// Flushes to disk; a run's file is synced and given its name.
    pub fn finish(mut self) -> Result<(), PortError> {
        let failed = |error: std::io::Error| PortError::permanent("rejects file").caused_by(error);
        if let Some(csv) = self.csv.take() {
            let file = csv
                .into_inner()?
                .into_inner()
                .map_err(|error| failed(error.into_error()))?;
            file.sync_all().map_err(failed)?;
        }
        if let Some(staged) = self.staged.take() {
            publish_by_rename(&staged.partial, &staged.path).map_err(failed)?;
        }
        Ok(())
    }

    fn csv(&mut self) -> Result<&mut RejectsCsv<BufWriter<File>>, PortError> {
        self.csv
            .as_mut()
            .ok_or_else(|| PortError::internal("rejects file written after it was finished"))
    }
}

impl Drop for RejectsFile {
    /// A run's file that was not finished is removed; the earlier run's stays.
    fn drop(&mut self) {
        if let Some(staged) = &self.staged {
            drop(self.csv.take());
            let _ = std::fs::remove_file(&staged.partial);
        }
    }
}

impl RejectSink for RejectsFile {
    async fn reject(
        &mut self,
        source_name: &str,
        rejection: &RowRejection,
    ) -> Result<(), PortError> {
        self.csv()?.reject(source_name, rejection).await
    }

    /// Writes what is buffered to the file and to the disk.
    async fn flush(&mut self) -> Result<(), PortError> {
        let csv = self.csv()?;
        csv.flush()?;
        csv.get_ref()
            .get_ref()
            .sync_data()
            .map_err(|error| PortError::permanent("rejects file").caused_by(error))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use taxistream_core::RejectReason;

    fn rejection() -> RowRejection {
        RowRejection {
            raw_encoding: taxistream_core::RawEncoding::Text,
            line: 2,
            column: None,
            reason: RejectReason::TooFewFields,
            detail: "1 fields, the header has 3".to_owned(),
            raw: "x".to_owned(),
        }
    }

    #[tokio::test]
    async fn a_runs_rejects_appear_when_finished_and_an_unfinished_run_keeps_the_earlier_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rejects.csv");
        let mut first = RejectsFile::create(&path).unwrap();
        first.reject("a.csv", &rejection()).await.unwrap();
        assert!(!path.exists(), "named only when finished");
        first.finish().unwrap();
        let finished = std::fs::read_to_string(&path).unwrap();
        assert_eq!(finished.lines().count(), 2);

        let mut second = RejectsFile::create(&path).unwrap();
        second.reject("b.csv", &rejection()).await.unwrap();
        drop(second);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), finished);
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1, "no partial file left");
    }
}
