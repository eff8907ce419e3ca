//! `taxistream status`: whether an object on AWS is done, and its accounting, from the reports
//! its invocations wrote (see [`crate::object_report`]).
//!
//! The accounting is `taxistream run`'s for the same file: each invocation tells duplicates
//! apart within its own rows, so a trip sent by two invocations (a row repeated far apart in the
//! file) is counted here as a trip in the first and a duplicate in the second, by merging the
//! fingerprints of the trips each one sent. The stream carried it twice; the tables hold it once.

use crate::object_report::{InvocationReport, ReportFolder, body_cut, read_reports};
use crate::s3::{ObjectRef, S3Store};
use serde::Serialize;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::io::{self, BufReader, Read, Write};
use taxistream_core::Accounting;
use taxistream_pipeline::PortError;

/// Bytes of one fingerprint in a `.trips` object.
const FINGERPRINT_BYTES: usize = 16;
/// Read buffer of each `.trips` file while they are merged.
const MERGE_BUFFER_BYTES: usize = 64 * 1024;

/// Where an object stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum ChainState {
    /// Every row was handled.
    Complete,
    /// No invocation has reported the rows after this line yet: one is running or queued, or
    /// failed without a report (see the work queue's dead-letter queue).
    Waiting {
        /// The last line reported.
        after_line: u64,
    },
    /// The invocation reading the rows after this line failed.
    Failed {
        /// Where it started.
        after_line: u64,
        /// Why.
        error: String,
    },
}

/// What `taxistream status` prints.
#[derive(Debug, Clone, Serialize)]
pub struct ObjectStatus {
    /// The object.
    pub object: String,
    /// The version reported on.
    pub etag: Option<String>,
    /// Done, waiting or failed.
    pub progress: ChainState,
    /// Invocations whose reports count.
    pub invocations: usize,
    /// The rows handled so far, duplicates across invocations included.
    pub accounting: Accounting,
    /// The rejects objects written.
    pub rejects_objects: Vec<String>,
}

/// The reports that count, in row order from the first row, and where the chain stops.
pub fn follow_chain(reports: &[InvocationReport]) -> (Vec<&InvocationReport>, ChainState) {
    // Where a success and a failure start at the same line, the success counts.
    let mut by_start: HashMap<u64, &InvocationReport> = HashMap::new();
    for report in reports {
        let kept = by_start.entry(report.after_line).or_insert(report);
        if kept.failed.is_some() && report.failed.is_none() {
            *kept = report;
        }
    }
    let mut chain = Vec::new();
    let mut after_line = 0;
    loop {
        let Some(report) = by_start.get(&after_line) else {
            return (chain, ChainState::Waiting { after_line });
        };
        if let Some(error) = &report.failed {
            let error = error.clone();
            return (chain, ChainState::Failed { after_line, error });
        }
        chain.push(*report);
        if report.reached_end {
            return (chain, ChainState::Complete);
        }
        if report.last_line <= after_line {
            // A report that read nothing yet did not reach the end: the next one starts here
            // too, which would loop. Its successor has not reported.
            return (chain, ChainState::Waiting { after_line });
        }
        after_line = report.last_line;
    }
}

/// The status of `object` (its current version) from the reports under `reports_prefix` in
/// `bucket` (default: the object's bucket). `scratch` holds the trips' fingerprints while they
/// are merged.
pub async fn object_status(
    s3: &S3Store,
    object: &ObjectRef,
    bucket: Option<&str>,
    reports_prefix: &str,
    scratch: &std::path::Path,
) -> Result<ObjectStatus, PortError> {
    let etag = s3
        .etag_of(object)
        .await?
        .ok_or_else(|| PortError::refused_data(format!("{object}: no such object")))?;
    let folder = ReportFolder::of(object, Some(&etag), bucket, reports_prefix);
    let reports = read_reports(s3, &folder).await?;
    let (chain, progress) = follow_chain(&reports);
    let mut accounting = Accounting::default();
    let mut runs = Vec::new();
    for report in &chain {
        accounting.merge(&report.accounting);
        if let Some(key) = &report.trips_key {
            let trips = ObjectRef {
                bucket: folder.bucket.clone(),
                key: key.clone(),
            };
            runs.push(s3.download_to_temp(&trips, scratch).await?);
        }
    }
    let repeated = count_repeats(runs).map_err(|error| {
        PortError::permanent("cannot merge the trips of the invocations").caused_by(error)
    })?;
    // Each trip sent again by a later invocation was counted there as a trip.
    accounting.trips -= repeated.min(accounting.trips);
    accounting.duplicates += repeated;
    Ok(ObjectStatus {
        object: object.to_string(),
        etag: Some(etag),
        progress,
        invocations: chain.len(),
        rejects_objects: chain
            .iter()
            .filter_map(|report| report.rejects_object.clone())
            .collect(),
        accounting,
    })
}

/// Fingerprints that occur in more than one of the ascending runs, counted once per extra run:
/// a k-way merge that holds one buffer per run, whatever their length.
pub fn count_repeats<R: Read>(runs: Vec<R>) -> io::Result<u64> {
    let mut readers: Vec<BufReader<R>> = runs
        .into_iter()
        .map(|run| BufReader::with_capacity(MERGE_BUFFER_BYTES, run))
        .collect();
    let mut heap = BinaryHeap::new();
    for (index, reader) in readers.iter_mut().enumerate() {
        if let Some(fingerprint) = next_fingerprint(reader)? {
            heap.push(Reverse((fingerprint, index)));
        }
    }
    let (mut repeats, mut previous) = (0, None);
    while let Some(Reverse((fingerprint, index))) = heap.pop() {
        if previous == Some(fingerprint) {
            repeats += 1;
        }
        previous = Some(fingerprint);
        if let Some(next) = next_fingerprint(&mut readers[index])? {
            heap.push(Reverse((next, index)));
        }
    }
    Ok(repeats)
}

fn next_fingerprint(reader: &mut impl Read) -> io::Result<Option<u128>> {
    let mut bytes = [0; FINGERPRINT_BYTES];
    match reader.read_exact(&mut bytes) {
        Ok(()) => Ok(Some(u128::from_le_bytes(bytes))),
        Err(error) if error.kind() == io::ErrorKind::UnexpectedEof => Ok(None),
        Err(error) => Err(error),
    }
}

impl S3Store {
    /// Copies an object's body into a temporary file in `dir` (deleted when dropped), read back
    /// from its start.
    pub async fn download_to_temp(
        &self,
        object: &ObjectRef,
        dir: &std::path::Path,
    ) -> Result<std::fs::File, PortError> {
        use std::io::Seek;
        let local = |error: io::Error| {
            PortError::permanent(format!("cannot keep {object} in {}", dir.display()))
                .caused_by(error)
        };
        let mut body = self.get_body(object).await?;
        let mut file = tempfile::tempfile_in(dir).map_err(local)?;
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|error| body_cut(object, error))?;
            file.write_all(&chunk).map_err(local)?;
        }
        file.rewind().map_err(local)?;
        Ok(file)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::object_report::encode_fingerprints;

    fn report(after_line: u64, last_line: u64, reached_end: bool) -> InvocationReport {
        InvocationReport {
            object: "s3://b/k".into(),
            etag: None,
            format: None,
            invocation: 0,
            after_line,
            last_line,
            reached_end,
            accounting: Accounting::default(),
            rejects_object: None,
            trips_key: None,
            failed: None,
        }
    }

    #[test]
    fn the_chain_runs_from_the_first_row_to_the_report_that_reached_the_end() {
        // Two chains from a doubly delivered event: the one whose first report won is followed.
        let reports = [
            report(0, 100, false),
            report(100, 250, false),
            report(120, 300, false),
            report(250, 400, true),
            report(300, 400, true),
        ];
        let (chain, progress) = follow_chain(&reports);
        assert_eq!(progress, ChainState::Complete);
        let starts: Vec<u64> = chain.iter().map(|report| report.after_line).collect();
        assert_eq!(starts, [0, 100, 250]);
    }

    #[test]
    fn a_gap_waits_and_a_failed_report_fails() {
        let first = [report(0, 100, false)];
        let (chain, progress) = follow_chain(&first);
        assert_eq!(
            (chain.len(), progress),
            (1, ChainState::Waiting { after_line: 100 })
        );
        let mut failed = report(100, 100, false);
        failed.failed = Some("GetObject: timeout".into());
        let (_, progress) = follow_chain(&[report(0, 100, false), failed.clone()]);
        assert_eq!(
            progress,
            ChainState::Failed {
                after_line: 100,
                error: "GetObject: timeout".into()
            }
        );
        // A retry that succeeded counts, whichever was listed first.
        let retried = [report(0, 100, false), failed, report(100, 200, true)];
        for reports in [
            retried.clone(),
            [retried[0].clone(), retried[2].clone(), retried[1].clone()],
        ] {
            assert_eq!(follow_chain(&reports).1, ChainState::Complete);
        }
        let (chain, progress) = follow_chain(&[]);
        assert_eq!(
            (chain.len(), progress),
            (0, ChainState::Waiting { after_line: 0 })
        );
    }

    #[test]
    fn repeats_are_fingerprints_in_more_than_one_run() {
        let runs = [
            encode_fingerprints(&[1, 5, 9]),
            encode_fingerprints(&[2, 5, 9, u128::MAX]),
            encode_fingerprints(&[]),
            encode_fingerprints(&[5]),
        ];
        let repeats = count_repeats(runs.iter().map(|run| run.as_slice()).collect()).unwrap();
        assert_eq!(repeats, 3);
    }
}
