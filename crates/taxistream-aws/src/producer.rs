//! The producer role on AWS: a trip object in S3 → one Kinesis record per distinct trip, rejected
//! rows to a CSV object. The same `produce` use case as `taxistream run`.

use crate::kinesis_sink::{KinesisSink, PutRecordsApi};
use crate::retry::DeliveryStats;
use crate::s3::{ObjectError, ObjectRef, S3Rejects, S3Store};
use crate::settings::ProducerSettings;
use crate::work::Continuation;
use serde::Serialize;
use std::sync::Arc;
use taxistream_core::{Accounting, Format};
use taxistream_pipeline::{
    CountedSource, ProduceError, Produced, Progress, RejectSink, SeenTrips, TripSource,
    produce_until,
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
    /// True when the object is done; false when a continuation goes on from here.
    pub finished: bool,
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
            ProduceObjectError::Continuation { error, .. } => error.retryable(),
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

    /// True for keys under the rejects prefix: written by this producer, never read back.
    pub fn is_rejects_key(&self, key: &str) -> bool {
        key.starts_with(&self.settings.rejects_prefix)
    }

    /// Where the rejects of `object` go: `<prefix><key>.rejects.csv`, and for the rows of its
    /// `invocation`-th continuation `<prefix><key>.continued-<invocation>.rejects.csv`.
    pub fn rejects_object(&self, object: &ObjectRef, invocation: u32) -> ObjectRef {
        let continued = match invocation {
            0 => String::new(),
            n => format!(".continued-{n}"),
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
        Ok(self.produce_object_until(object, None, None).await?.report)
    }

    /// Reads `object` from the start, or from where `continued` says, and stops at the first
    /// PutRecords call that ends at or after `until`: then the outcome carries the continuation.
    /// Duplicates are told apart within one invocation: a trip repeated in a later invocation's
    /// rows is sent again (the same item, written again) and counted as a trip there.
    pub async fn produce_object_until(
        &self,
        object: &ObjectRef,
        continued: Option<&Continuation>,
        until: Option<Instant>,
    ) -> Result<ObjectOutcome, ProduceObjectError> {
        let from = continued.map(Continuation::read_from).unwrap_or_default();
        let invocation = continued.map_or(0, |continuation| continuation.invocation);
        let opened = self
            .s3
            .open_trip_object_from(object, &self.settings.read, &from)
            .await?;
        let (info, source) = (opened.info, opened.source);
        let source_name = object.to_string();
        let rejects_object = self.rejects_object(object, invocation);
        let mut rejects =
            S3Rejects::new(rejects_object, &self.settings.read.spill_dir).map_err(|error| {
                ProduceObjectError::Produce {
                    source_name: source_name.clone(),
                    error: ProduceError::Rejects(error),
                }
            })?;
        let stop = move || until.is_some_and(|until| Instant::now() >= until);
        let (produced, stream) = self
            .produce_until(source, &source_name, &mut rejects, stop)
            .await?;
        let rejects_object =
            rejects
                .finish(&self.s3)
                .await
                .map_err(|error| ProduceObjectError::Produce {
                    source_name: source_name.clone(),
                    error: ProduceError::Rejects(error),
                })?;
        let mut accounting = continued
            .map(|continuation| continuation.accounting.clone())
            .unwrap_or_default();
        accounting.merge(&produced.accounting);
        let continuation = (!produced.finished).then(|| Continuation {
            bucket: object.bucket.clone(),
            key: object.key.clone(),
            etag: opened.etag,
            after_line: produced.last_line.max(from.after_line),
            invocation: invocation + 1,
            accounting: accounting.clone(),
        });
        Ok(ObjectOutcome {
            report: ObjectReport {
                source: source_name,
                format: info.format,
                accounting,
                stream,
                rejects_object: rejects_object.map(|object| object.to_string()),
                unavailable_analyses: info.unavailable_analyses,
                invocation,
                finished: produced.finished,
            },
            continuation,
        })
    }

    /// Produces any source (a local file, say) to the stream, rejects to `rejects`.
    pub async fn produce_from<T: TripSource + Send, J: RejectSink>(
        &self,
        source: T,
        source_name: &str,
        rejects: &mut J,
    ) -> Result<(Accounting, DeliveryStats), ProduceObjectError> {
        let (produced, stream) = self
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
    ) -> Result<(Produced, DeliveryStats), ProduceObjectError> {
        let mut sink = KinesisSink::new(
            self.kinesis.clone(),
            &self.settings.stream,
            self.settings.retry.clone(),
        );
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
        Ok((produced, sink.stats()))
    }
}
