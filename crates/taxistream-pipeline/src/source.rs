//! Trip sources: a reader used in place, or a reader run on a blocking thread.
//!
//! Local files are read in place ([`IteratorSource`]): the disk answers at once. A network stream
//! (an S3 object body) may make the reader wait, so [`BackgroundSource`] runs the reader on a
//! blocking thread and hands rows over a bounded channel, never blocking the async runtime.

use crate::ports::TripSource;
use taxistream_core::{Format, InputError, ReadItem, TripReader};
use tokio::sync::mpsc;

/// Rows handed over per message (amortizes the channel's cost).
const ROWS_PER_MESSAGE: usize = 512;
/// Messages in flight before the reader waits (backpressure).
const MESSAGES_IN_FLIGHT: usize = 8;

/// A synchronous reader used directly as a source.
#[derive(Debug)]
pub struct IteratorSource<I>(pub I);

impl<I> TripSource for IteratorSource<I>
where
    I: Iterator<Item = Result<ReadItem, InputError>> + Send,
{
    async fn next_item(&mut self) -> Option<Result<ReadItem, InputError>> {
        self.0.next()
    }
}

/// What is known of a source once its header is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceInfo {
    /// The detected format.
    pub format: Format,
    /// Tables this source can never fill, with the missing column: `(table, column)`.
    pub unavailable_analyses: Vec<(&'static str, &'static str)>,
}

type Rows = Vec<Result<ReadItem, InputError>>;

/// A reader running on a blocking thread; rows arrive in file order.
#[derive(Debug)]
pub struct BackgroundSource {
    receiver: mpsc::Receiver<Rows>,
    pending: std::vec::IntoIter<Result<ReadItem, InputError>>,
}

/// Opens the source `source_name` with `open` on a blocking thread and reads it there. Returns
/// once the header is read: an error opening it (not a trip file, unknown format) comes back here.
pub async fn open_in_background<F>(
    source_name: String,
    open: F,
) -> Result<(SourceInfo, BackgroundSource), InputError>
where
    F: FnOnce() -> Result<TripReader, InputError> + Send + 'static,
{
    let (info_sender, info_receiver) = tokio::sync::oneshot::channel();
    let (sender, receiver) = mpsc::channel(MESSAGES_IN_FLIGHT);
    let reading = tokio::task::spawn_blocking(move || {
        let reader = match open() {
            Ok(reader) => reader,
            Err(error) => {
                let _ = info_sender.send(Err(error));
                return;
            }
        };
        let info = SourceInfo {
            format: reader.format(),
            unavailable_analyses: reader.unavailable_analyses(),
        };
        if info_sender.send(Ok(info)).is_err() {
            return;
        }
        forward_rows(reader, &sender);
    });
    match info_receiver.await {
        Ok(Ok(info)) => Ok((
            info,
            BackgroundSource {
                receiver,
                pending: Vec::new().into_iter(),
            },
        )),
        Ok(Err(error)) => Err(error),
        // The thread ended without a word: it panicked (the reader library on corrupt input).
        Err(_) => Err(InputError::Read {
            source_name,
            line: 0,
            detail: match reading.await {
                Err(error) if error.is_panic() => "the reader failed unexpectedly".to_owned(),
                _ => "the reader stopped".to_owned(),
            },
        }),
    }
}

/// Sends the reader's rows in chunks until it ends, fails, or nobody listens any more.
fn forward_rows(reader: TripReader, sender: &mpsc::Sender<Rows>) {
    let mut chunk = Vec::with_capacity(ROWS_PER_MESSAGE);
    for row in reader {
        let failed = row.is_err();
        chunk.push(row);
        if failed || chunk.len() == ROWS_PER_MESSAGE {
            let full = std::mem::replace(&mut chunk, Vec::with_capacity(ROWS_PER_MESSAGE));
            if sender.blocking_send(full).is_err() || failed {
                return;
            }
        }
    }
    if !chunk.is_empty() {
        let _ = sender.blocking_send(chunk);
    }
}

impl TripSource for BackgroundSource {
    async fn next_item(&mut self) -> Option<Result<ReadItem, InputError>> {
        loop {
            if let Some(row) = self.pending.next() {
                return Some(row);
            }
            self.pending = self.receiver.recv().await?.into_iter();
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    fn csv(text: &'static str) -> impl FnOnce() -> Result<TripReader, InputError> {
        move || taxistream_core::open_stream(Box::new(text.as_bytes()), "t.csv".to_owned(), 1)
    }

    #[tokio::test]
    async fn rows_arrive_in_order_and_end() {
        let mut text = String::from("pickup_datetime,dropoff_datetime\n");
        for minute in 0..1200 {
            text.push_str(&format!(
                "2025-01-01 00:00:00,2025-01-01 {:02}:{:02}:00\n",
                minute / 60,
                minute % 60
            ));
        }
        let text: &'static str = Box::leak(text.into_boxed_str());
        let (info, mut source) = open_in_background("t.csv".into(), csv(text)).await.unwrap();
        assert_eq!(info.format, Format::Csv);
        let mut lines = Vec::new();
        while let Some(row) = source.next_item().await {
            match row.unwrap() {
                ReadItem::Trip { line, .. } => lines.push(line),
                ReadItem::Rejected(rejection) => panic!("{rejection}"),
            }
        }
        assert_eq!(lines, (2..1202).collect::<Vec<u64>>());
    }

    #[tokio::test]
    async fn an_unreadable_header_fails_the_open() {
        let error = open_in_background("t.csv".into(), csv("a,b\n1,2\n"))
            .await
            .unwrap_err();
        assert!(matches!(error, InputError::NotATripFile { .. }), "{error}");
    }
}
