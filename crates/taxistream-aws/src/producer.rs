//! The producer role on AWS: a trip object in S3 → one Kinesis record per distinct trip, rejected
//! rows to a CSV object. The same `produce` use case as `taxistream run`.

use crate::kinesis_sink::{KinesisSink, PutRecordsApi};
use crate::retry::DeliveryStats;
use crate::s3::{ObjectError, ObjectRef, S3Rejects, S3Store};
use crate::settings::ProducerSettings;
use serde::Serialize;
use std::sync::Arc;
use taxistream_core::{Accounting, Format};
use taxistream_pipeline::{
    CountedSource, ProduceError, Progress, RejectSink, SeenTrips, TripSource, produce,
};

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
    /// Where rejected rows went, when there were any.
    pub rejects_object: Option<String>,
    /// Tables this object cannot feed, with the missing column: `(table, column)`.
    pub unavailable_analyses: Vec<(&'static str, &'static str)>,
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

    /// Where the rejects of `object` go: `<prefix><key>.rejects.csv`.
    pub fn rejects_object(&self, object: &ObjectRef) -> ObjectRef {
        ObjectRef {
            bucket: self
                .settings
                .rejects_bucket
                .clone()
                .unwrap_or_else(|| object.bucket.clone()),
            key: format!("{}{}.rejects.csv", self.settings.rejects_prefix, object.key),
        }
    }

    /// Reads `object` and puts one record per distinct trip on the stream.
    pub async fn produce_object(
        &self,
        object: &ObjectRef,
    ) -> Result<ObjectReport, ProduceObjectError> {
        let (info, source) = self
            .s3
            .open_trip_object(object, &self.settings.read)
            .await?;
        let source_name = object.to_string();
        let rejects_object = self.rejects_object(object);
        let mut rejects =
            S3Rejects::new(rejects_object, &self.settings.read.spill_dir).map_err(|error| {
                ProduceObjectError::Produce {
                    source_name: source_name.clone(),
                    error: ProduceError::Rejects(error),
                }
            })?;
        let (accounting, stream) = self
            .produce_from(source, &source_name, &mut rejects)
            .await?;
        let rejects_object =
            rejects
                .finish(&self.s3)
                .await
                .map_err(|error| ProduceObjectError::Produce {
                    source_name: source_name.clone(),
                    error: ProduceError::Rejects(error),
                })?;
        Ok(ObjectReport {
            source: source_name,
            format: info.format,
            accounting,
            stream,
            rejects_object: rejects_object.map(|object| object.to_string()),
            unavailable_analyses: info.unavailable_analyses,
        })
    }

    /// Produces any source (a local file, say) to the stream, rejects to `rejects`.
    pub async fn produce_from<T: TripSource + Send, J: RejectSink>(
        &self,
        source: T,
        source_name: &str,
        rejects: &mut J,
    ) -> Result<(Accounting, DeliveryStats), ProduceObjectError> {
        let mut sink = KinesisSink::new(
            self.kinesis.clone(),
            &self.settings.stream,
            self.settings.retry.clone(),
        );
        let mut seen = SeenTrips::default();
        let source = CountedSource::new(source, Arc::clone(&self.progress));
        let accounting = produce(source, source_name, Some(&mut seen), &mut sink, rejects)
            .await
            .map_err(|error| ProduceObjectError::Produce {
                source_name: source_name.to_owned(),
                error,
            })?;
        Ok((accounting, sink.stats()))
    }
}
