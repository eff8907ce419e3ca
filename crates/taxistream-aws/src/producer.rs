//! The producer role on AWS: a trip object in S3 → one Kinesis record per distinct trip, rejected
//! rows to a CSV object. The same `produce` use case as `taxistream run`.

use crate::kinesis_sink::{KinesisSink, PutRecordsApi};
use crate::object_report::{InvocationReport, ReportFolder, write_report};
use crate::retry::DeliveryStats;
use crate::s3::{ObjectError, ObjectPart, ObjectRef, OpenedObject, ReadFrom, S3Rejects, S3Store};
use crate::settings::ProducerSettings;
use crate::work::{Continuation, WorkQueue};
use serde::Serialize;
use std::sync::Arc;
use taxistream_core::{Accounting, Format};
use taxistream_pipeline::{
    CountedSource, ErrorChain, PortError, ProduceError, Produced, Progress, RejectSink, SeenTrips,
    TripSource, produce_until,
};
use tokio::time::Instant;

/// What producing one object did: the contract's accounting, and what it cost on the stream.
#[derive(Debug, Clone, Serialize)]
pub struct ObjectReport {
    /// The object read (`s3://bucket/key`) or the local file.
    pub source: String,
    /// Its detected format.
    pub format: Format,
    /// Rows read = trips + duplicates + rejected.
    pub accounting: Accounting,
    /// PutRecords calls and retries.
    pub stream: DeliveryStats,
    /// Where rejected rows went, when there were any (this invocation's).
    pub rejects_object: Option<String>,
    /// Tables this object cannot feed, with the missing column: `(table, column)`.
    pub unavailable_analyses: Vec<(&'static str, &'static str)>,
    /// Which invocation of this object this was: 0 for the first.
    pub invocation: u32,
    /// True when this invocation's rows are done (the object's, or its part's); false when a
    /// continuation goes on from here.
    pub finished: bool,
    /// False when the object was split into parts and the part read is not the last one.
    pub last_part: bool,
}

/// What one invocation did with an object, and where the next one goes on if it stopped early.
#[derive(Debug, Clone)]
pub struct ObjectOutcome {
    /// The report; its accounting counts every invocation of the object so far.
    pub report: ObjectReport,
    /// Set when it stopped before the end of the object.
    pub continuation: Option<Continuation>,
}

/// Why an object was not produced.
#[derive(Debug, thiserror::Error)]
pub enum ProduceObjectError {
    /// It could not be opened or is not a trip file.
    #[error(transparent)]
    Object(#[from] ObjectError),
    /// Reading, the stream or the rejects failed part way.
    #[error("{source_name}")]
    Produce {
        /// The object.
        source_name: String,
        /// What failed.
        #[source]
        error: ProduceError,
    },
    /// The invocation's report could not be written.
    #[error("{source_name}: cannot write its report")]
    Report {
        /// The object.
        source_name: String,
        /// What failed.
        #[source]
        error: taxistream_pipeline::PortError,
    },
    /// The object stopped early and its continuation could not be queued.
    #[error("{source_name}: cannot queue its continuation")]
    Continuation {
        /// The object.
        source_name: String,
        /// What failed.
        #[source]
        error: taxistream_pipeline::PortError,
    },
}

impl ProduceObjectError {
    /// True when producing again later may succeed (S3 or Kinesis trouble, a cut connection).
    pub fn is_retryable(&self) -> bool {
        match self {
            ProduceObjectError::Object(error) => error.is_retryable(),
            ProduceObjectError::Produce { error, .. } => match error {
                ProduceError::Input(_) => true,
                ProduceError::Sink(error) | ProduceError::Rejects(error) => error.retryable(),
            },
            ProduceObjectError::Continuation { error, .. }
            | ProduceObjectError::Report { error, .. } => error.retryable(),
        }
    }
}

/// The producer: S3 reads, Kinesis writes, built once and used for every object.
#[derive(Debug, Clone)]
pub struct Producer<K> {
    s3: S3Store,
    kinesis: K,
    settings: ProducerSettings,
    progress: Arc<Progress>,
}

impl<K: PutRecordsApi + Clone> Producer<K> {
    /// A producer writing through `kinesis`.
    pub fn new(s3: S3Store, kinesis: K, settings: ProducerSettings) -> Self {
        Producer {
            s3,
            kinesis,
            settings,
            progress: Arc::default(),
        }
    }

    /// Counts the rows read into `progress` (for a progress display).
    pub fn with_progress(mut self, progress: Arc<Progress>) -> Self {
        self.progress = progress;
        self
    }

    /// For keys this producer writes, never to be read back: which of its outputs the key is
    /// under (`"rejects"` or `"reports"`).
    pub fn own_output_of(&self, key: &str) -> Option<&'static str> {
        if key.starts_with(&self.settings.rejects_prefix) {
            Some("rejects")
        } else if key.starts_with(&self.settings.reports_prefix) {
            Some("reports")
        } else {
            None
        }
    }

    /// Where the rejects of `object` go: `<prefix><key>.rejects.csv`, and for the rows after
    /// line n of a continuation `<prefix><key>.after-line-<n>.rejects.csv` (keyed by rows, so a
    /// retried invocation overwrites its own).
    pub fn rejects_object(&self, object: &ObjectRef, after_line: u64) -> ObjectRef {
        let continued = match after_line {
            0 => String::new(),
            n => format!(".after-line-{n}"),
        };
        ObjectRef {
            bucket: self
                .settings
                .rejects_bucket
                .clone()
                .unwrap_or_else(|| object.bucket.clone()),
            key: format!(
                "{}{}{continued}.rejects.csv",
                self.settings.rejects_prefix, object.key
            ),
        }
    }

    /// Reads `object` and puts one record per distinct trip on the stream.
    pub async fn produce_object(
        &self,
        object: &ObjectRef,
    ) -> Result<ObjectReport, ProduceObjectError> {
        let no_parts: Option<&crate::work::SqsWorkQueue> = None;
        Ok(self
            .produce_object_until(object, None, (None, None), no_parts)
            .await?
            .report)
    }

    /// Reads `object` from the start, or from where `continued` says, and stops at the first
    /// PutRecords call that ends at or after `until`: then the outcome carries the continuation.
    /// Planning a CSV object's parts, which cannot stop half way, is given until `deadline`.
    /// Duplicates are told apart within one invocation: a trip repeated in a later invocation's
    /// rows is sent again (the same item, written again) and counted as a trip there; `status`
    /// counts it as a duplicate from the invocations' reports, one of which this writes (also
    /// when it fails, when it knows the object's version).
    ///
    /// With `parts`, a Parquet object read from its start that is larger than the part size is
    /// split into parts of whole row groups: the others are queued there before this one reads
    /// the first.
    pub async fn produce_object_until<Q: WorkQueue>(
        &self,
        object: &ObjectRef,
        continued: Option<&Continuation>,
        (until, deadline): (Option<Instant>, Option<Instant>),
        parts: Option<&Q>,
    ) -> Result<ObjectOutcome, ProduceObjectError> {
        self.produce_version_until(object, None, continued, (until, deadline), parts)
            .await
    }

    /// [`Self::produce_object_until`], reading only the version `etag` (an S3 event's) when the
    /// object is read from its start: a newer upload since fails it as
    /// [`ObjectError::Replaced`]. Continuations carry their own version.
    pub async fn produce_version_until<Q: WorkQueue>(
        &self,
        object: &ObjectRef,
        etag: Option<&str>,
        continued: Option<&Continuation>,
        (until, deadline): (Option<Instant>, Option<Instant>),
        parts: Option<&Q>,
    ) -> Result<ObjectOutcome, ProduceObjectError> {
        let mut from = continued.map(Continuation::read_from).unwrap_or_default();
        if continued.is_none() {
            from.etag = etag.filter(|etag| !etag.is_empty()).map(quoted_etag);
        }
        if continued.is_none() && parts.is_some() {
            from.split_into = Some(self.settings.part_bytes);
            from.plan_until = deadline;
        }
        let invocation = continued.map_or(0, |continuation| continuation.invocation);
        let mut report = InvocationReport {
            object: object.to_string(),
            etag: from.etag.clone(),
            format: None,
            invocation,
            after_line: from.after_line,
            last_line: from.after_line,
            reached_end: false,
            accounting: Accounting::default(),
            rejects_object: None,
            trips_key: None,
            failed: None,
        };
        // Boxed: the reading future is large, and a caller's future holds it inline otherwise.
        let invocation =
            Box::pin(self.produce_invocation(object, &from, until, parts, &mut report));
        match invocation.await {
            Ok((outcome, fingerprints)) => {
                self.write_report(object, report, &fingerprints)
                    .await
                    .map_err(|error| ProduceObjectError::Report {
                        source_name: object.to_string(),
                        error,
                    })?;
                let mut outcome = outcome;
                if let Some(continued) = continued {
                    let mut accounting = continued.accounting.clone();
                    accounting.merge(&outcome.report.accounting);
                    outcome.report.accounting = accounting.clone();
                    if let Some(next) = &mut outcome.continuation {
                        next.accounting = accounting;
                    }
                }
                Ok(outcome)
            }
            Err(error) => {
                if let ProduceObjectError::Object(
                    ObjectError::Missing(_) | ObjectError::Replaced(_),
                ) = error
                {
                    return Err(error);
                }
                report.failed = Some(ErrorChain(&error).to_string());
                if report.etag.is_none() {
                    report.etag = self.s3.etag_of(object).await.ok().flatten();
                }
                if report.etag.is_some()
                    && let Err(report_error) = self.write_report(object, report, &[]).await
                {
                    tracing::warn!("{object}: its failure is not reported: {report_error}");
                }
                Err(error)
            }
        }
    }

    /// One invocation's rows: the outcome (its own accounting; the caller adds the earlier
    /// invocations') and the fingerprints of the trips it sent. Fills `report` as it learns.
    async fn produce_invocation<Q: WorkQueue>(
        &self,
        object: &ObjectRef,
        from: &ReadFrom,
        until: Option<Instant>,
        parts: Option<&Q>,
        report: &mut InvocationReport,
    ) -> Result<(ObjectOutcome, Vec<u128>), ProduceObjectError> {
        let opened = self
            .s3
            .open_trip_object_from(object, &self.settings.read, from)
            .await?;
        if let Some(queue) = parts {
            self.queue_other_parts(object, &opened, queue).await?;
        }
        let reaches_end = opened.reaches_end();
        let (info, source) = (opened.info, opened.source);
        report.etag.clone_from(&opened.etag);
        report.format = Some(info.format);
        let source_name = object.to_string();
        let rejects_error = |error| ProduceObjectError::Produce {
            source_name: source_name.clone(),
            error: ProduceError::Rejects(error),
        };
        let mut rejects = S3Rejects::new(
            self.rejects_object(object, from.after_line),
            &self.settings.read.spill_dir,
        )
        .map_err(rejects_error)?;
        let stop = move || until.is_some_and(|until| Instant::now() >= until);
        let (produced, stream, fingerprints) = self
            .produce_until(source, &source_name, &mut rejects, stop)
            .await?;
        let rejects_object = rejects.finish(&self.s3).await.map_err(rejects_error)?;
        let last_line = produced.last_line.max(from.after_line);
        report.last_line = last_line;
        // A part other than the last ends before the object does.
        report.reached_end = produced.finished && reaches_end;
        report.accounting = produced.accounting.clone();
        report.rejects_object = rejects_object.as_ref().map(ToString::to_string);
        let continuation = (!produced.finished).then(|| Continuation {
            bucket: object.bucket.clone(),
            key: object.key.clone(),
            etag: opened.etag,
            after_line: last_line,
            through_line: opened.through_line,
            csv_part: opened.csv_part,
            invocation: report.invocation + 1,
            accounting: produced.accounting.clone(),
        });
        let outcome = ObjectOutcome {
            report: ObjectReport {
                source: source_name,
                format: info.format,
                accounting: produced.accounting,
                stream,
                rejects_object: rejects_object.map(|object| object.to_string()),
                unavailable_analyses: info.unavailable_analyses,
                invocation: report.invocation,
                finished: produced.finished,
                last_part: reaches_end,
            },
            continuation,
        };
        Ok((outcome, fingerprints))
    }

    /// Queues the parts of a split object other than the one read here.
    async fn queue_other_parts<Q: WorkQueue>(
        &self,
        object: &ObjectRef,
        opened: &OpenedObject,
        queue: &Q,
    ) -> Result<(), ProduceObjectError> {
        for part in &opened.other_parts {
            let (after_line, through_line, csv_part) = match *part {
                ObjectPart::Rows(rows) => (rows.after, rows.through, None),
                ObjectPart::Csv(part) => (part.after_line, None, Some(part)),
            };
            let message = Continuation {
                bucket: object.bucket.clone(),
                key: object.key.clone(),
                etag: opened.etag.clone(),
                after_line,
                through_line,
                csv_part,
                invocation: 0,
                accounting: Accounting::default(),
            };
            queue
                .send(&message)
                .await
                .map_err(|error| ProduceObjectError::Continuation {
                    source_name: object.to_string(),
                    error,
                })?;
        }
        if !opened.other_parts.is_empty() {
            tracing::info!(
                parts = opened.other_parts.len() + 1,
                "{object}: split into parts; the others are queued"
            );
        }
        Ok(())
    }

    async fn write_report(
        &self,
        object: &ObjectRef,
        report: InvocationReport,
        fingerprints: &[u128],
    ) -> Result<(), PortError> {
        let folder = ReportFolder::of(
            object,
            report.etag.as_deref(),
            self.settings.rejects_bucket.as_deref(),
            &self.settings.reports_prefix,
        );
        write_report(&self.s3, &folder, report, fingerprints).await?;
        Ok(())
    }

    /// Produces any source (a local file, say) to the stream, rejects to `rejects`.
    pub async fn produce_from<T: TripSource + Send, J: RejectSink>(
        &self,
        source: T,
        source_name: &str,
        rejects: &mut J,
    ) -> Result<(Accounting, DeliveryStats), ProduceObjectError> {
        let (produced, stream, _) = self
            .produce_until(source, source_name, rejects, || false)
            .await?;
        Ok((produced.accounting, stream))
    }

    async fn produce_until<T: TripSource + Send, J: RejectSink>(
        &self,
        source: T,
        source_name: &str,
        rejects: &mut J,
        stop: impl Fn() -> bool,
    ) -> Result<(Produced, DeliveryStats, Vec<u128>), ProduceObjectError> {
        let mut sink = KinesisSink::new(
            self.kinesis.clone(),
            &self.settings.stream,
            self.settings.retry.clone(),
        )
        .with_aggregation(self.settings.aggregation);
        let mut seen = SeenTrips::default();
        let source = CountedSource::new(source, Arc::clone(&self.progress));
        let produced = produce_until(
            source,
            source_name,
            Some(&mut seen),
            &mut sink,
            rejects,
            stop,
        )
        .await
        .map_err(|error| ProduceObjectError::Produce {
            source_name: source_name.to_owned(),
            error,
        })?;
        Ok((produced, sink.stats(), seen.sorted_fingerprints()))
    }
}

/// An ETag as HTTP's If-Match takes it: in double quotes (S3 events give it bare).
fn quoted_etag(etag: &str) -> String {
    if etag.starts_with('"') {
        etag.to_owned()
    } else {
        format!("\"{etag}\"")
    }
}
