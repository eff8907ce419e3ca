//! S3: trip objects read as streams (Parquet spilled to a capped local file for random access),
//! and rejects written as CSV objects.

use crate::csv_object::{open_csv_part, plan_csv_object};
use crate::error::port_error;
use crate::parquet_object::{RangedObject, open_parquet};
use crate::parquet_parts::RowRange;
use crate::timeouts::SdkTimeouts;
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::SdkError;
use aws_sdk_s3::operation::get_object::GetObjectError;
use aws_sdk_s3::primitives::ByteStream;
use bytes::Bytes;
use std::io::{self, Read};
use std::path::PathBuf;
use std::time::Duration;
use taxistream_core::InputError;
use taxistream_core::read::CsvPart;
use taxistream_core::read::open_stream_after;
use taxistream_pipeline::{BackgroundSource, PortError, SourceInfo, open_in_background};
use tokio::sync::mpsc;
use tokio::time::Instant;

pub use crate::object_ref::{ObjectRef, decode_event_key};
pub use crate::s3_rejects::S3Rejects;

/// Body chunks buffered between the network and the reader thread.
const BODY_CHUNKS_IN_FLIGHT: usize = 16;

/// How trip objects are read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadSettings {
    /// Where rejected rows gather before they are uploaded (Lambda: `/tmp`).
    pub spill_dir: PathBuf,
    /// Threads converting CSV rows.
    pub reader_workers: usize,
}

/// Which rows of an object to read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadFrom {
    /// Rows on this line (Parquet: row number) and before were read already; 0: none.
    pub after_line: u64,
    /// The last row to read (Parquet only: a part's end); `None`: to the end.
    pub through_line: Option<u64>,
    /// The version to read (an earlier invocation's); `None`: the current one.
    pub etag: Option<String>,
    /// For a part of a CSV object split into parts: its header and bytes.
    pub csv_part: Option<CsvPart>,
    /// Split a plain CSV or Parquet object into parts of at least this many bytes (Parquet: whole
    /// row groups, by compressed bytes; CSV: whole records), and read only the first (see
    /// [`OpenedObject::other_parts`]).
    pub split_into: Option<u64>,
    /// When planning a CSV object's parts must be done by: past it, the object is refused (see
    /// [`plan_csv_object`]); `None`: no limit.
    pub plan_until: Option<Instant>,
}

/// A part of an object split into parts, for another invocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectPart {
    /// Parquet: whole row groups.
    Rows(RowRange),
    /// CSV: the header, then a range of whole records.
    Csv(CsvPart),
}

/// An object opened for reading.
#[derive(Debug)]
pub struct OpenedObject {
    /// Its format and what it lacks.
    pub info: SourceInfo,
    /// Its rows.
    pub source: BackgroundSource,
    /// The version being read.
    pub etag: Option<String>,
    /// The last row read (a Parquet part's end); `None`: to the end of the object.
    pub through_line: Option<u64>,
    /// The CSV part read, when the object was split into parts.
    pub csv_part: Option<CsvPart>,
    /// When the object was split into parts: the parts other than the one read here.
    pub other_parts: Vec<ObjectPart>,
}

impl OpenedObject {
    /// True when the rows read run to the end of the object (the last part, or the whole).
    pub fn reaches_end(&self) -> bool {
        self.through_line.is_none() && self.csv_part.is_none_or(|part| part.end.is_none())
    }
}

/// Why an object could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ObjectError {
    /// The object does not exist (deleted before it was read).
    #[error("{0}: no such object (deleted before it was read?)")]
    Missing(ObjectRef),
    /// The version asked for (the event's, or an earlier invocation's) was replaced by a newer
    /// upload, which has an event of its own.
    #[error("{0}: replaced by a newer upload since (that upload is read on its own event)")]
    Replaced(ObjectRef),
    /// The object is not a trip file, or is damaged.
    #[error(transparent)]
    Input(#[from] InputError),
    /// S3 failed.
    #[error(transparent)]
    Storage(#[from] PortError),
}

impl ObjectError {
    /// True when reading again later may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            ObjectError::Storage(error) => error.retryable(),
            ObjectError::Input(InputError::Read { .. }) => true,
            ObjectError::Missing(_) | ObjectError::Replaced(_) | ObjectError::Input(_) => false,
        }
    }
}

/// S3 operations of the pipeline.
#[derive(Debug, Clone)]
pub struct S3Store {
    pub(crate) client: aws_sdk_s3::Client,
    /// The longest an object's body may go without sending a byte (the SDK's timeouts end when
    /// the response starts).
    body_stall: Duration,
}

impl S3Store {
    /// Wraps a client; bodies may stall for the default attempt timeout.
    pub fn new(client: aws_sdk_s3::Client) -> Self {
        S3Store {
            client,
            body_stall: SdkTimeouts::default().attempt,
        }
    }

    /// The same store, failing a body read (as retryable) after `stall` without a byte.
    pub fn with_body_stall(mut self, stall: Duration) -> Self {
        self.body_stall = stall;
        self
    }

    /// Opens a trip object: its header is read (and checked) before this returns; rows then
    /// stream from a blocking thread. Its end is read first: Parquet is then read by ranged
    /// GETs, a row group at a time; CSV and gzip CSV stream, never held whole.
    pub async fn open_trip_object(
        &self,
        object: &ObjectRef,
        settings: &ReadSettings,
    ) -> Result<(SourceInfo, BackgroundSource), ObjectError> {
        let opened = self
            .open_trip_object_from(object, settings, &ReadFrom::default())
            .await?;
        Ok((opened.info, opened.source))
    }

    /// Opens a trip object where an earlier invocation stopped: the rows on `from.after_line`
    /// and before are skipped (Parquet: their row groups are not fetched; CSV: read again, not
    /// converted), and only the version `from.etag` is read.
    pub async fn open_trip_object_from(
        &self,
        object: &ObjectRef,
        settings: &ReadSettings,
        from: &ReadFrom,
    ) -> Result<OpenedObject, ObjectError> {
        let source_name = object.to_string();
        let (ranged, tail) =
            RangedObject::tail(self.client.clone(), object, from.etag.clone()).await?;
        let etag = tail.etag.clone();
        if tail.is_parquet() {
            let rows = RowRange {
                after: from.after_line,
                through: from.through_line,
            };
            let opened = open_parquet(ranged, tail, source_name, rows, from.split_into).await?;
            return Ok(OpenedObject {
                info: opened.info,
                source: opened.source,
                etag,
                through_line: opened.rows.through,
                csv_part: None,
                other_parts: opened
                    .other_parts
                    .into_iter()
                    .map(ObjectPart::Rows)
                    .collect(),
            });
        }
        if from.through_line.is_some() {
            // Only Parquet objects are split into parts: such a message was not written here.
            return Err(ObjectError::Storage(PortError::refused_data(format!(
                "{source_name}: a part of a CSV object was asked for; only Parquet objects are \
                 read in parts"
            ))));
        }
        let stall = self.body_stall;
        let planned = match (from.csv_part, from.split_into) {
            (Some(part), _) => Some((part, Vec::new())),
            (None, Some(bytes)) if tail.length > bytes && !tail.is_whole() => {
                plan_csv_object(&ranged, bytes, stall, from.plan_until)
                    .await?
                    .map(|mut parts| (parts.remove(0), parts))
            }
            _ => None,
        };
        if let Some((part, others)) = planned {
            let workers = settings.reader_workers;
            let (info, source) =
                open_csv_part(&ranged, part, from.after_line, workers, stall).await?;
            return Ok(OpenedObject {
                info,
                source,
                etag,
                through_line: None,
                csv_part: Some(part),
                other_parts: others.into_iter().map(ObjectPart::Csv).collect(),
            });
        }
        let opened = |(info, source)| OpenedObject {
            info,
            source,
            etag,
            through_line: None,
            csv_part: None,
            other_parts: Vec::new(),
        };
        let (workers, after) = (settings.reader_workers, from.after_line);
        if tail.is_whole() {
            let bytes = tail.bytes;
            let source = open_in_background(source_name.clone(), move || {
                open_stream_after(
                    Box::new(io::Cursor::new(bytes)),
                    source_name,
                    workers,
                    after,
                )
            })
            .await?;
            return Ok(opened(source));
        }
        let output = self
            .client
            .get_object()
            .bucket(&object.bucket)
            .key(&object.key)
            .set_if_match(tail.etag)
            .send()
            .await
            .map_err(|error| get_object_error(object, &error))?;
        let body = pump_body(output.body, self.body_stall);
        let source = open_in_background(source_name.clone(), move || {
            open_stream_after(Box::new(body), source_name, workers, after)
        })
        .await?;
        Ok(opened(source))
    }

    /// Writes an object.
    pub async fn put_object(
        &self,
        object: &ObjectRef,
        body: ByteStream,
        content_type: &str,
    ) -> Result<(), PortError> {
        self.client
            .put_object()
            .bucket(&object.bucket)
            .key(&object.key)
            .content_type(content_type)
            .body(body)
            .send()
            .await
            .map_err(|error| port_error(&format!("PutObject {object}"), &error))?;
        Ok(())
    }
}

/// A failed GetObject: the object is missing (deleted before it was read), replaced (its ETag is
/// not the one asked for: HTTP 412), or S3 failed.
pub(crate) fn get_object_error(
    object: &ObjectRef,
    error: &SdkError<GetObjectError, HttpResponse>,
) -> ObjectError {
    let precondition_failed = error
        .raw_response()
        .is_some_and(|response| response.status().as_u16() == 412);
    if error
        .as_service_error()
        .is_some_and(|service| service.is_no_such_key())
    {
        ObjectError::Missing(object.clone())
    } else if precondition_failed {
        ObjectError::Replaced(object.clone())
    } else {
        ObjectError::Storage(port_error(&format!("GetObject {object}"), error))
    }
}

/// Reads the body on the async side and hands its chunks to a synchronous reader; a body silent
/// for `stall` fails with a timeout.
pub(crate) fn pump_body(mut body: ByteStream, stall: Duration) -> BodyReader {
    let (sender, receiver) = mpsc::channel(BODY_CHUNKS_IN_FLIGHT);
    tokio::spawn(async move {
        loop {
            let chunk = match tokio::time::timeout(stall, body.next()).await {
                Ok(Some(chunk)) => chunk.map_err(|error| io::Error::other(error.to_string())),
                Ok(None) => break,
                Err(_) => Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("no data from S3 for {} s", stall.as_secs_f64()),
                )),
            };
            let failed = chunk.is_err();
            if sender.send(chunk).await.is_err() || failed {
                break;
            }
        }
    });
    BodyReader {
        receiver,
        current: Bytes::new(),
    }
}

/// An object body as a blocking reader (for use on a blocking thread only).
pub(crate) struct BodyReader {
    receiver: mpsc::Receiver<io::Result<Bytes>>,
    current: Bytes,
}

impl Read for BodyReader {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        while self.current.is_empty() {
            match self.receiver.blocking_recv() {
                Some(chunk) => self.current = chunk?,
                None => return Ok(0),
            }
        }
        let length = buffer.len().min(self.current.len());
        buffer[..length].copy_from_slice(&self.current.split_to(length));
        Ok(length)
    }
}
