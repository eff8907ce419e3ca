//! A plain CSV object read in parts: planned by parsing it once as it streams (cut points at
//! record starts, see [`plan_csv_parts`]), then each part read by two ranged GETs, the header's
//! bytes and the part's, as if they were one file whose rows keep the object's line numbers.

use crate::parquet_object::RangedObject;
use crate::s3::{ObjectError, get_object_error, pump_body};
use std::io::{self, Read};
use std::time::Duration;
use taxistream_core::InputError;
use taxistream_core::read::{CsvPart, open_stream_lines, plan_csv_parts, read_prefix};
use taxistream_pipeline::{BackgroundSource, PortError, SourceInfo, open_in_background};
use tokio::time::Instant;

/// The first bytes of a gzip stream: such an object is one part, read in order.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

impl RangedObject {
    /// The body of bytes `start..end` (`None`: to the object's end), streamed, of the version
    /// first read.
    async fn stream(
        &self,
        start: u64,
        end: Option<u64>,
        stall: Duration,
    ) -> Result<impl Read + Send + 'static, ObjectError> {
        let range = match end {
            Some(end) => format!("bytes={start}-{}", end.saturating_sub(1)),
            None => format!("bytes={start}-"),
        };
        let output = self
            .client
            .get_object()
            .bucket(&self.object.bucket)
            .key(&self.object.key)
            .range(range)
            .set_if_match(self.etag.clone())
            .send()
            .await
            .map_err(|error| get_object_error(&self.object, &error))?;
        Ok(pump_body(output.body, stall))
    }
}

/// Parses the object once, as it streams, and cuts it into parts of at least `part_bytes`;
/// `None` for a gzip object (one part) or one that makes a single part. An object not planned
/// by `until` is refused: planning it again would take as long.
pub(crate) async fn plan_csv_object(
    object: &RangedObject,
    part_bytes: u64,
    stall: Duration,
    until: Option<Instant>,
) -> Result<Option<Vec<CsvPart>>, ObjectError> {
    let body = object.stream(0, None, stall).await?;
    let source_name = object.object.to_string();
    let started = Instant::now();
    let mut body = UntilRead {
        inner: body,
        until,
        read: 0,
    };
    let planned =
        tokio::task::spawn_blocking(move || match plan(&mut body, &source_name, part_bytes) {
            Err(_) if body.timed_out() => Err(PlanError::OutOfTime { read: body.read }),
            planned => planned.map_err(PlanError::Input),
        })
        .await
        .map_err(|error| {
            ObjectError::Storage(PortError::internal("the CSV planner stopped").caused_by(error))
        })?;
    planned.map_err(|error| match error {
        PlanError::Input(error) => ObjectError::Input(error),
        PlanError::OutOfTime { read } => ObjectError::Storage(PortError::refused_data(format!(
            "{}: its parts were not planned before the invocation's deadline ({} MiB read in {} s); \
             one invocation cannot split a CSV object this large: upload it as several files, \
             gzip CSV or Parquet",
            object.object,
            read >> 20,
            started.elapsed().as_secs()
        ))),
    })
}

/// Why planning failed.
enum PlanError {
    /// The object is not a trip file, or is damaged.
    Input(InputError),
    /// The deadline came first, after `read` bytes.
    OutOfTime { read: u64 },
}

/// The parts of the object `body` streams; `None` for a gzip object or a single part.
fn plan(
    body: &mut impl Read,
    source_name: &str,
    part_bytes: u64,
) -> Result<Option<Vec<CsvPart>>, InputError> {
    let mut head = [0; 2];
    let read = read_prefix(body, &mut head).map_err(|error| InputError::Read {
        source_name: source_name.to_owned(),
        line: 0,
        detail: error.to_string(),
    })?;
    if head[..read] == GZIP_MAGIC {
        return Ok(None);
    }
    let text = io::Cursor::new(head[..read].to_vec()).chain(body);
    let parts = plan_csv_parts(text, source_name, part_bytes)?;
    Ok((parts.len() > 1).then_some(parts))
}

/// A reader that fails once `until` has passed, and counts the bytes it gave.
struct UntilRead<R> {
    inner: R,
    until: Option<Instant>,
    read: u64,
}

impl<R> UntilRead<R> {
    fn timed_out(&self) -> bool {
        self.until.is_some_and(|until| Instant::now() >= until)
    }
}

impl<R: Read> Read for UntilRead<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.timed_out() {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the deadline passed",
            ));
        }
        let read = self.inner.read(buf)?;
        self.read += read as u64;
        Ok(read)
    }
}

/// Opens one part of a CSV object: its header's bytes, then its own, read as one file whose
/// rows keep the object's line numbers; the rows on `after_line` and before are skipped.
pub(crate) async fn open_csv_part(
    object: &RangedObject,
    part: CsvPart,
    after_line: u64,
    workers: usize,
    stall: Duration,
) -> Result<(SourceInfo, BackgroundSource), ObjectError> {
    let header: Box<dyn Read + Send> = if part.is_first() {
        Box::new(io::empty())
    } else {
        let bytes = object
            .get(0..part.header_end)
            .await
            .map_err(ObjectError::Storage)?;
        Box::new(io::Cursor::new(bytes))
    };
    let start = if part.is_first() { 0 } else { part.start };
    let body = object.stream(start, part.end, stall).await?;
    let source_name = object.object.to_string();
    let lines = part.lines(after_line);
    let opened = open_in_background(source_name.clone(), move || {
        open_stream_lines(Box::new(header.chain(body)), source_name, workers, lines)
    })
    .await?;
    Ok(opened)
}
