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

/// What the reader thread sends: rows, then an explicit end (a channel that closes without it
/// means the reader died, and the source must not look complete).
#[derive(Debug)]
enum Message {
    Rows(Rows),
    End,
}

/// A reader running on a blocking thread; rows arrive in file order.
#[derive(Debug)]
pub struct BackgroundSource {
    receiver: mpsc::Receiver<Message>,
    pending: std::vec::IntoIter<Result<ReadItem, InputError>>,
    source_name: String,
    ended: bool,
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
                source_name,
                ended: false,
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

/// Sends the reader's rows in chunks until it ends (then says so), fails, or nobody listens.
fn forward_rows(reader: TripReader, sender: &mpsc::Sender<Message>) {
    let mut chunk = Vec::with_capacity(ROWS_PER_MESSAGE);
    for row in reader {
        let failed = row.is_err();
        chunk.push(row);
        if failed || chunk.len() == ROWS_PER_MESSAGE {
            let full = std::mem::replace(&mut chunk, Vec::with_capacity(ROWS_PER_MESSAGE));
            if sender.blocking_send(Message::Rows(full)).is_err() || failed {
                return;
            }
        }
    }
    if !chunk.is_empty() && sender.blocking_send(Message::Rows(chunk)).is_err() {
        return;
    }
    let _ = sender.blocking_send(Message::End);
}

impl TripSource for BackgroundSource {
    async fn next_item(&mut self) -> Option<Result<ReadItem, InputError>> {
        loop {
            if let Some(row) = self.pending.next() {
                return Some(row);
            }
            if self.ended {
                return None;
            }
            match self.receiver.recv().await {
                Some(Message::Rows(rows)) => self.pending = rows.into_iter(),
                Some(Message::End) => self.ended = true,
                // The reader thread died mid-file (a panic in a reader library): an error, so
                // that the rows after it are not silently missing from the accounting.
                None => {
                    self.ended = true;
                    return Some(Err(InputError::Read {
                        source_name: self.source_name.clone(),
                        line: 0,
                        detail: "the reader stopped unexpectedly before the end".to_owned(),
                    }));
                }
            }
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

    /// Gives its text, then panics instead of saying "end of file".
    struct PanicsAtTheEnd(std::io::Cursor<&'static [u8]>);

    impl std::io::Read for PanicsAtTheEnd {
        fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
            match self.0.read(buffer)? {
                0 => panic!("injected reader failure"),
                read => Ok(read),
            }
        }
    }

    #[tokio::test]
    async fn a_reader_dying_mid_file_is_an_error_not_an_end() {
        let text = "pickup_datetime,dropoff_datetime\n2025-01-01 00:00:00,2025-01-01 00:10:00\n";
        let open = move || {
            let reader = PanicsAtTheEnd(std::io::Cursor::new(text.as_bytes()));
            taxistream_core::open_stream(Box::new(reader), "t.csv".to_owned(), 1)
        };
        let (_, mut source) = open_in_background("t.csv".into(), open).await.unwrap();
        let mut last = None;
        while let Some(row) = source.next_item().await {
            last = Some(row);
        }
        let error = last.unwrap().unwrap_err();
        assert!(
            error.to_string().contains("stopped unexpectedly"),
            "{error}"
        );
    }

    #[tokio::test]
    async fn an_unreadable_header_fails_the_open() {
        let error = open_in_background("t.csv".into(), csv("a,b\n1,2\n"))
            .await
            .unwrap_err();
        assert!(matches!(error, InputError::NotATripFile { .. }), "{error}");
    }
}
