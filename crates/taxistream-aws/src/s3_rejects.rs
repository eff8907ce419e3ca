//! Rejected rows of an object, gathered and written as one CSV object.

use crate::s3::{ObjectRef, S3Store};
use aws_sdk_s3::primitives::ByteStream;
use std::io::BufWriter;
use std::path::Path;
use taxistream_core::RowRejection;
use taxistream_pipeline::{PortError, RejectSink, RejectsCsv};

/// Rejected rows gathered as one CSV object, in a temporary file (a file of bad rows can be as
/// large as its object: memory stays bounded), written when finished (only if there are any).
pub struct S3Rejects {
    object: ObjectRef,
    csv: RejectsCsv<BufWriter<tempfile::NamedTempFile>>,
}

impl S3Rejects {
    /// Rejects to go to `object`, gathered in a temporary file in `dir`.
    pub fn new(object: ObjectRef, dir: &Path) -> Result<Self, PortError> {
        let file = tempfile::NamedTempFile::new_in(dir).map_err(|error| {
            PortError::permanent(format!(
                "cannot create a temporary rejects file in {}: {error}",
                dir.display()
            ))
        })?;
        Ok(S3Rejects {
            object,
            csv: RejectsCsv::new(BufWriter::new(file))?,
        })
    }

    /// Writes the object when there are rows; returns where it went.
    pub async fn finish(self, store: &S3Store) -> Result<Option<ObjectRef>, PortError> {
        if self.csv.rows() == 0 {
            return Ok(None);
        }
        let file = self
            .csv
            .into_inner()?
            .into_inner()
            .map_err(|error| PortError::permanent(format!("rejects: {}", error.error())))?;
        let body = ByteStream::from_path(file.path()).await.map_err(|error| {
            PortError::permanent("rejects: cannot read back the temporary file").caused_by(error)
        })?;
        store.put_object(&self.object, body, "text/csv").await?;
        Ok(Some(self.object))
    }
}

impl RejectSink for S3Rejects {
    async fn reject(
        &mut self,
        source_name: &str,
        rejection: &RowRejection,
    ) -> Result<(), PortError> {
        self.csv.reject(source_name, rejection).await
    }
}
