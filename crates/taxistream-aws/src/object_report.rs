//! What each invocation did with an object, kept in S3 beside the rejects: its own accounting,
//! the rows it covered, and the fingerprints of the trips it sent. `taxistream status` reads them
//! back to tell whether an object is done and to give its accounting (see [`crate::status`]).
//!
//! An invocation's report is keyed by the line its rows start after, so a retried invocation
//! (the same message, or the same S3 event delivered twice) overwrites its own report instead of
//! adding one. Reports form a chain: the report of rows after line 0 says its last line `n`, the
//! next is the report of rows after line `n`, and so on to a report that reached the end.

use crate::error::port_error;
use crate::s3::{ObjectRef, S3Store};
use aws_sdk_s3::primitives::ByteStream;
use serde::{Deserialize, Serialize};
use taxistream_core::{Accounting, Format};
use taxistream_pipeline::PortError;

/// The report object of one invocation (JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvocationReport {
    /// The object read (`s3://bucket/key`).
    pub object: String,
    /// The version read.
    pub etag: Option<String>,
    /// Its format, when it could be opened.
    pub format: Option<Format>,
    /// Which invocation of the object this was: 0 for the one its upload triggered.
    pub invocation: u32,
    /// The rows this invocation read start after this line (Parquet: row); 0: the first row.
    pub after_line: u64,
    /// The line (Parquet: row) of the last row it handled.
    pub last_line: u64,
    /// True when it reached the end of the object.
    pub reached_end: bool,
    /// Its rows only (not the invocations before): rows read = trips + duplicates + rejected.
    /// Duplicates are told apart within the invocation; `status` finds those across invocations.
    pub accounting: Accounting,
    /// Where its rejected rows went, when there were any.
    pub rejects_object: Option<String>,
    /// The key of its trips' fingerprints: sorted, 16 bytes each, little-endian.
    pub trips_key: Option<String>,
    /// Why it failed, when it did (then nothing above counts). A failure is kept beside the
    /// report of a success, never over it: a retry that succeeds is what counts.
    pub failed: Option<String>,
}

/// Where the reports of one version of an object go:
/// `<reports prefix><key>/<etag>/after-line-<n>.json` and `….trips`, and failures
/// `after-line-<n>.failed.json`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportFolder {
    /// The bucket of the reports.
    pub bucket: String,
    /// The folder, ending in `/`.
    pub prefix: String,
}

impl ReportFolder {
    /// The folder of `object`'s version `etag`, under `reports_prefix` in `bucket` (default: the
    /// object's own bucket).
    pub fn of(
        object: &ObjectRef,
        etag: Option<&str>,
        bucket: Option<&str>,
        reports_prefix: &str,
    ) -> Self {
        let version = etag
            .map(|etag| etag.trim_matches('"'))
            .filter(|etag| !etag.is_empty())
            .unwrap_or("unknown-version");
        ReportFolder {
            bucket: bucket.unwrap_or(&object.bucket).to_owned(),
            prefix: format!("{reports_prefix}{}/{version}/", object.key),
        }
    }

    /// The report of the rows after `after_line`.
    pub fn report(&self, after_line: u64) -> ObjectRef {
        self.object(format!("after-line-{after_line}.json"))
    }

    /// The report of an invocation that failed to read the rows after `after_line`.
    pub fn failure(&self, after_line: u64) -> ObjectRef {
        self.object(format!("after-line-{after_line}.failed.json"))
    }

    /// The trips' fingerprints of the rows after `after_line` up to `last_line`.
    pub fn trips(&self, after_line: u64, last_line: u64) -> ObjectRef {
        self.object(format!("after-line-{after_line}-to-{last_line}.trips"))
    }

    fn object(&self, name: String) -> ObjectRef {
        ObjectRef {
            bucket: self.bucket.clone(),
            key: format!("{}{name}", self.prefix),
        }
    }
}

/// The trips' fingerprints, ascending, as the bytes of a `.trips` object.
pub fn encode_fingerprints(fingerprints: &[u128]) -> Vec<u8> {
    fingerprints
        .iter()
        .flat_map(|fingerprint| fingerprint.to_le_bytes())
        .collect()
}

/// Writes an invocation's report: its trips first, then the report naming them, so a report
/// that exists always has its trips.
pub async fn write_report(
    s3: &S3Store,
    folder: &ReportFolder,
    mut report: InvocationReport,
    fingerprints: &[u128],
) -> Result<ObjectRef, PortError> {
    if report.failed.is_none() {
        let trips = folder.trips(report.after_line, report.last_line);
        let body = ByteStream::from(encode_fingerprints(fingerprints));
        s3.put_object(&trips, body, "application/octet-stream")
            .await?;
        report.trips_key = Some(trips.key);
    }
    let json = serde_json::to_vec_pretty(&report).map_err(|error| {
        PortError::internal("cannot encode an invocation report").caused_by(error)
    })?;
    let target = if report.failed.is_some() {
        folder.failure(report.after_line)
    } else {
        folder.report(report.after_line)
    };
    s3.put_object(&target, ByteStream::from(json), "application/json")
        .await?;
    Ok(target)
}

/// Reads the report objects of `folder`, in no particular order.
pub async fn read_reports(
    s3: &S3Store,
    folder: &ReportFolder,
) -> Result<Vec<InvocationReport>, PortError> {
    let mut reports = Vec::new();
    for key in s3.list_keys(&folder.bucket, &folder.prefix).await? {
        if !key.ends_with(".json") {
            continue;
        }
        let object = ObjectRef {
            bucket: folder.bucket.clone(),
            key,
        };
        let bytes = s3.get_bytes(&object).await?;
        let report = serde_json::from_slice(&bytes).map_err(|error| {
            PortError::refused_data(format!("{object} is not an invocation report"))
                .caused_by(error)
        })?;
        reports.push(report);
    }
    Ok(reports)
}

impl S3Store {
    /// Every key under `prefix` in `bucket`.
    pub async fn list_keys(&self, bucket: &str, prefix: &str) -> Result<Vec<String>, PortError> {
        let mut keys = Vec::new();
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(bucket)
            .prefix(prefix)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|error| {
                port_error(&format!("ListObjectsV2 s3://{bucket}/{prefix}"), &error)
            })?;
            keys.extend(
                page.contents()
                    .iter()
                    .filter_map(|object| object.key().map(str::to_owned)),
            );
        }
        Ok(keys)
    }

    /// A small object's body, whole.
    pub async fn get_bytes(&self, object: &ObjectRef) -> Result<Vec<u8>, PortError> {
        let body = self.get_body(object).await?.collect().await;
        Ok(body.map_err(|error| body_cut(object, error))?.to_vec())
    }

    /// An object's body, as it arrives.
    pub(crate) async fn get_body(&self, object: &ObjectRef) -> Result<ByteStream, PortError> {
        let output = self
            .client
            .get_object()
            .bucket(&object.bucket)
            .key(&object.key)
            .send()
            .await
            .map_err(|error| port_error(&format!("GetObject {object}"), &error))?;
        Ok(output.body)
    }

    /// The current version of an object (its ETag), or `None` when it does not exist.
    pub async fn etag_of(&self, object: &ObjectRef) -> Result<Option<String>, PortError> {
        match self
            .client
            .head_object()
            .bucket(&object.bucket)
            .key(&object.key)
            .send()
            .await
        {
            Ok(head) => Ok(head.e_tag().map(str::to_owned)),
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|service| service.is_not_found()) =>
            {
                Ok(None)
            }
            Err(error) => Err(port_error(&format!("HeadObject {object}"), &error)),
        }
    }
}

/// A body that ended before its length: worth reading again.
pub(crate) fn body_cut(
    object: &ObjectRef,
    error: impl std::error::Error + Send + Sync + 'static,
) -> PortError {
    PortError::transient(format!("GetObject {object}: the body was cut")).caused_by(error)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn reports_are_keyed_by_object_version_and_first_row() {
        let object = ObjectRef::parse_url("s3://trips/incoming/jan.parquet").unwrap();
        let folder = ReportFolder::of(&object, Some("\"9b2cf535f27731c9\""), None, "reports/");
        assert_eq!(
            folder.prefix,
            "reports/incoming/jan.parquet/9b2cf535f27731c9/"
        );
        assert_eq!(
            folder.report(0).to_string(),
            "s3://trips/reports/incoming/jan.parquet/9b2cf535f27731c9/after-line-0.json"
        );
        assert!(folder.trips(5, 9).key.ends_with("/after-line-5-to-9.trips"));
        assert!(folder.failure(5).key.ends_with("/after-line-5.failed.json"));
        let elsewhere = ReportFolder::of(&object, None, Some("audit"), "r/");
        assert_eq!(elsewhere.bucket, "audit");
        assert_eq!(elsewhere.prefix, "r/incoming/jan.parquet/unknown-version/");
    }

    #[test]
    fn fingerprints_are_sixteen_little_endian_bytes_each() {
        let bytes = encode_fingerprints(&[1, u128::MAX]);
        assert_eq!(bytes.len(), 32);
        assert_eq!(bytes[0], 1);
        assert!(bytes[16..].iter().all(|&byte| byte == 0xff));
    }
}
