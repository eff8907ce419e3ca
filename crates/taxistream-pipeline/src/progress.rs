//! Live counters a front end can show while a run goes on.

use crate::ports::TripSource;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use taxistream_core::{InputError, ReadItem};

/// Rows and bytes read and trips sent so far; shared between the run and whatever watches it.
#[derive(Debug, Default)]
pub struct Progress {
    rows: AtomicU64,
    bytes: AtomicU64,
    trips: AtomicU64,
    expected_rows: AtomicU64,
}

impl Progress {
    /// Counts rows read.
    pub fn add_rows(&self, rows: u64) {
        self.rows.fetch_add(rows, Ordering::Relaxed);
    }

    /// Counts bytes read.
    pub fn add_bytes(&self, bytes: u64) {
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
    }

    /// Counts trips sent to the stream.
    pub fn add_trips(&self, trips: u64) {
        self.trips.fetch_add(trips, Ordering::Relaxed);
    }

    /// Adds to the rows expected in all (an estimate a store gives before it is read).
    pub fn expect_rows(&self, rows: u64) {
        self.expected_rows.fetch_add(rows, Ordering::Relaxed);
    }

    /// The rows expected in all, when known (it may be exceeded: an estimate).
    pub fn expected_rows(&self) -> Option<u64> {
        Some(self.expected_rows.load(Ordering::Relaxed)).filter(|rows| *rows > 0)
    }

    /// Rows read so far.
    pub fn rows(&self) -> u64 {
        self.rows.load(Ordering::Relaxed)
    }

    /// Bytes read so far.
    pub fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }

    /// Trips sent to the stream so far.
    pub fn trips(&self) -> u64 {
        self.trips.load(Ordering::Relaxed)
    }
}

/// A trip source that counts the rows it yields into a [`Progress`].
#[derive(Debug)]
pub struct CountedSource<T> {
    source: T,
    progress: Arc<Progress>,
}

impl<T: TripSource> CountedSource<T> {
    /// Counts `source`'s rows into `progress`.
    pub fn new(source: T, progress: Arc<Progress>) -> Self {
        CountedSource { source, progress }
    }
}

impl<T: TripSource + Send> TripSource for CountedSource<T> {
    async fn next_item(&mut self) -> Option<Result<ReadItem, InputError>> {
        let item = self.source.next_item().await;
        if item.is_some() {
            self.progress.add_rows(1);
        }
        item
    }
}
