//! CSV records read on one thread, converted to trips on worker threads, yielded in file order.

use super::bounded_records::BoundedRecords;
use super::csv_rows::{CutRow, RowConverter, StreamLines, fill_chunk};
use super::{InputError, ReadItem};
use csv::ByteRecord;
use std::collections::BTreeMap;
use std::io::Read;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, mpsc};

/// Records per chunk handed to a worker.
const CHUNK_ROWS: usize = 1024;
/// Chunks waiting per worker, in each direction (bounds memory: a few thousand rows in flight).
const CHUNKS_PER_WORKER: usize = 2;

type Sequenced<T> = (u64, Result<T, InputError>);

/// Records read, to be converted together.
#[derive(Default)]
struct Chunk {
    records: Vec<ByteRecord>,
    cuts: Vec<CutRow>,
}

/// The rows of a CSV source, converted in parallel, in order.
pub(super) struct ParallelRows {
    results: mpsc::Receiver<Sequenced<Vec<ReadItem>>>,
    pending: BTreeMap<u64, Result<Vec<ReadItem>, InputError>>,
    next_chunk: u64,
    current: std::vec::IntoIter<ReadItem>,
    bytes_read: Arc<AtomicU64>,
    finished: bool,
}

impl ParallelRows {
    /// Starts one reading thread and `workers` converting threads.
    pub(super) fn start<R: Read + Send + 'static>(
        reader: csv::Reader<BoundedRecords<R>>,
        converter: RowConverter,
        source_name: String,
        workers: usize,
        lines: StreamLines,
    ) -> ParallelRows {
        let (chunks, chunk_queue) = mpsc::sync_channel(workers * CHUNKS_PER_WORKER);
        let (results_sender, results) = mpsc::sync_channel(workers * CHUNKS_PER_WORKER);
        // Converted chunks go back to the reading thread to be filled again: the records'
        // buffers are reused instead of allocated on one thread and freed on another.
        let (recycle, recycled) = mpsc::sync_channel(workers * CHUNKS_PER_WORKER + 2);
        let bytes_read = Arc::new(AtomicU64::new(0));
        let start_line = converter.last_line();
        {
            let bytes_read = Arc::clone(&bytes_read);
            std::thread::spawn(move || {
                let chunks = Chunks {
                    sender: chunks,
                    recycled,
                };
                read_chunks(
                    reader,
                    &chunks,
                    &bytes_read,
                    &source_name,
                    (start_line, lines),
                )
            });
        }
        let chunk_queue = Arc::new(Mutex::new(chunk_queue));
        for _ in 0..workers {
            let chunk_queue = Arc::clone(&chunk_queue);
            let results_sender = results_sender.clone();
            let recycle = recycle.clone();
            let mut converter = converter.clone();
            std::thread::spawn(move || {
                loop {
                    // A poisoned lock only means another worker panicked; the queue is still sound.
                    let next = chunk_queue
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .recv();
                    let Ok((number, chunk)) = next else { return };
                    let converted = chunk.map(|chunk: Chunk| {
                        let items = converter.convert_chunk(&chunk.records, &chunk.cuts);
                        // When the reader has enough spare chunks, this one is just dropped.
                        let _ = recycle.try_send(chunk);
                        items
                    });
                    if results_sender.send((number, converted)).is_err() {
                        return;
                    }
                }
            });
        }
        ParallelRows {
            results,
            pending: BTreeMap::new(),
            next_chunk: 0,
            current: Vec::new().into_iter(),
            bytes_read,
            finished: false,
        }
    }

    /// Bytes of text read so far.
    pub(super) fn bytes_read(&self) -> u64 {
        self.bytes_read.load(Ordering::Relaxed)
    }

    /// The next row in file order.
    pub(super) fn next(&mut self) -> Option<Result<ReadItem, InputError>> {
        loop {
            if let Some(item) = self.current.next() {
                return Some(Ok(item));
            }
            if self.finished {
                return None;
            }
            match self.pending.remove(&self.next_chunk) {
                Some(Ok(items)) => {
                    self.current = items.into_iter();
                    self.next_chunk += 1;
                }
                Some(Err(error)) => {
                    self.finished = true;
                    return Some(Err(error));
                }
                None => match self.results.recv() {
                    Ok((number, chunk)) => {
                        self.pending.insert(number, chunk);
                    }
                    // Every sender is gone and nothing is pending: the source is done.
                    Err(_) => self.finished = true,
                },
            }
        }
    }
}

/// The reading thread's channels: chunks out, emptied chunks back.
struct Chunks {
    sender: mpsc::SyncSender<Sequenced<Chunk>>,
    recycled: mpsc::Receiver<Chunk>,
}

/// The reading thread: non-blank records in chunks, numbered; an error ends the stream.
fn read_chunks<R: Read>(
    mut reader: csv::Reader<BoundedRecords<R>>,
    chunks: &Chunks,
    bytes_read: &AtomicU64,
    source_name: &str,
    (mut last_line, lines): (u64, StreamLines),
) {
    for number in 0.. {
        // A chunk back from a worker keeps its records' buffers: refill them in place.
        let mut chunk = chunks.recycled.try_recv().unwrap_or_default();
        chunk.records.resize_with(CHUNK_ROWS, ByteRecord::new);
        let (filled, outcome) = fill_chunk(
            &mut reader,
            &mut chunk.records,
            &mut chunk.cuts,
            &mut last_line,
            lines,
        );
        chunk.records.truncate(filled);
        let position = reader.get_ref().source_position(reader.position().byte());
        bytes_read.store(position, Ordering::Relaxed);
        if !chunk.records.is_empty() && chunks.sender.send((number, Ok(chunk))).is_err() {
            return;
        }
        match outcome {
            Ok(true) => {}
            Ok(false) => return,
            Err(error) => {
                let error = InputError::Read {
                    source_name: source_name.to_owned(),
                    line: last_line,
                    detail: error.to_string(),
                };
                let _ = chunks.sender.send((number + 1, Err(error)));
                return;
            }
        }
    }
}
