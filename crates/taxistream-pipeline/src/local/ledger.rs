//! Duplicate detection with memory bounded whatever the input size: every trip the stream
//! carried, by its id's fingerprint, is noted in a buffer that is sorted and written to a
//! temporary file as a run when full. At the end the runs are merged: the first occurrence of an
//! id is a trip (of the file it came from), later ones are duplicates, and the last one is the
//! version the tables keep, whose analysis is counted.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::Path;
use taxistream_core::{Accounting, AnalysisSummary, DurationCategory, Profitability};

/// Bytes of one entry in a spilled run.
const ENTRY_BYTES: usize = 29;
/// Bytes written at a time to the runs' file.
const SPILL_BUFFER_BYTES: usize = 64 * 1024;
/// Bytes of read buffers, all runs together, while they are merged.
const MERGE_BUDGET_BYTES: usize = 4 * 1024 * 1024;

/// One trip carried by the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Entry {
    fingerprint: u128,
    order: u64,
    file: u32,
    summary: AnalysisSummary,
}

impl Entry {
    fn key(&self) -> (u128, u64) {
        (self.fingerprint, self.order)
    }

    fn write(&self, out: &mut impl Write) -> io::Result<()> {
        out.write_all(&self.fingerprint.to_le_bytes())?;
        out.write_all(&self.order.to_le_bytes())?;
        out.write_all(&self.file.to_le_bytes())?;
        out.write_all(&[pack(self.summary)])
    }

    fn read(bytes: &[u8; ENTRY_BYTES]) -> io::Result<Entry> {
        let (fingerprint, rest) = bytes.split_at(16);
        let (order, rest) = rest.split_at(8);
        let (file, summary) = rest.split_at(4);
        let corrupt = || {
            io::Error::new(
                io::ErrorKind::InvalidData,
                "corrupt duplicate-detection run",
            )
        };
        Ok(Entry {
            fingerprint: u128::from_le_bytes(fingerprint.try_into().map_err(|_| corrupt())?),
            order: u64::from_le_bytes(order.try_into().map_err(|_| corrupt())?),
            file: u32::from_le_bytes(file.try_into().map_err(|_| corrupt())?),
            summary: unpack(summary.first().copied().unwrap_or(u8::MAX)).ok_or_else(corrupt)?,
        })
    }
}

/// A summary in one byte: category (2 bits), tier plus one (2 bits), high value (1 bit).
fn pack(summary: AnalysisSummary) -> u8 {
    let category = summary.duration_category as u8;
    let tier = summary.profitability.map_or(0, |tier| tier as u8 + 1);
    category | tier << 2 | u8::from(summary.high_value) << 4
}

fn unpack(byte: u8) -> Option<AnalysisSummary> {
    Some(AnalysisSummary {
        duration_category: *DurationCategory::ALL.get(usize::from(byte & 0b11))?,
        profitability: match (byte >> 2) & 0b11 {
            0 => None,
            tier => Some(*Profitability::ALL.get(usize::from(tier - 1))?),
        },
        high_value: byte & 0b1_0000 != 0,
    })
}

/// What the merged runs say.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LedgerCounts {
    /// Per input file (by index): trips first seen in it, and rows repeating an earlier trip.
    pub files: Vec<FileCounts>,
    /// The analyses of the trips, each counted once, in its last version.
    pub analyses: Accounting,
}

/// Trips and duplicates of one input file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FileCounts {
    /// Trips first seen in this file.
    pub trips: u64,
    /// Rows of this file repeating a trip seen before.
    pub duplicates: u64,
}

impl LedgerCounts {
    /// Counts the next entry in (fingerprint, order) order: the first entry of an id is the trip,
    /// later ones duplicates; the last one's analysis is counted when the id ends.
    fn add(&mut self, group: &mut Group, entry: Entry) {
        if group
            .last
            .is_some_and(|last| last.fingerprint != entry.fingerprint)
        {
            self.end_group(group);
        }
        match group.last {
            None => self.file(entry.file).trips += 1,
            Some(_) => self.file(entry.file).duplicates += 1,
        }
        group.last = Some(entry);
    }

    /// Ends the id being counted.
    fn end_group(&mut self, group: &mut Group) {
        if let Some(last) = group.last.take() {
            self.analyses.count_summary(last.summary);
        }
    }

    fn file(&mut self, file: u32) -> &mut FileCounts {
        let index = file as usize;
        if self.files.len() <= index {
            self.files.resize(index + 1, FileCounts::default());
        }
        &mut self.files[index]
    }

    /// Adds the counts of another (disjoint) ledger.
    pub fn merge(&mut self, other: &LedgerCounts) {
        for (index, counts) in other.files.iter().enumerate() {
            let file = self.file(index as u32);
            file.trips += counts.trips;
            file.duplicates += counts.duplicates;
        }
        self.analyses.merge(&other.analyses);
    }
}

/// The id being counted: only its last entry so far is kept, however often it repeats.
#[derive(Debug, Default)]
struct Group {
    last: Option<Entry>,
}

/// The trips a stream (or one shard of it) carried, in at most `capacity` entries of memory.
#[derive(Debug)]
pub struct TripLedger {
    buffer: Vec<Entry>,
    capacity: usize,
    spill: Option<Spill>,
    directory: std::path::PathBuf,
}

/// Runs written to an unnamed temporary file (removed by the system when closed).
#[derive(Debug)]
struct Spill {
    file: BufWriter<File>,
    /// Each run's first byte and entry count.
    runs: Vec<(u64, u64)>,
    written: u64,
}

impl TripLedger {
    /// A ledger keeping up to `capacity` entries (at least 1) in memory, spilling runs to
    /// temporary files in `directory`.
    pub fn new(capacity: usize, directory: &Path) -> TripLedger {
        let capacity = capacity.max(1);
        TripLedger {
            buffer: Vec::with_capacity(capacity.min(1 << 16)),
            capacity,
            spill: None,
            directory: directory.to_owned(),
        }
    }

    /// Notes a trip: its id's fingerprint, its position in the stream, its file and analysis.
    pub fn note(
        &mut self,
        fingerprint: u128,
        order: u64,
        file: u32,
        summary: AnalysisSummary,
    ) -> io::Result<()> {
        if self.buffer.len() >= self.capacity {
            self.spill_buffer()?;
        }
        if self.buffer.len() == self.buffer.capacity() {
            // Grown by doubling, but never past the capacity.
            let room = self
                .buffer
                .len()
                .max(1 << 10)
                .min(self.capacity - self.buffer.len());
            self.buffer.reserve_exact(room);
        }
        self.buffer.push(Entry {
            fingerprint,
            order,
            file,
            summary,
        });
        Ok(())
    }

    fn spill_buffer(&mut self) -> io::Result<()> {
        let spill = match &mut self.spill {
            Some(spill) => spill,
            None => self.spill.insert(Spill {
                file: BufWriter::with_capacity(
                    SPILL_BUFFER_BYTES,
                    tempfile::tempfile_in(&self.directory)?,
                ),
                runs: Vec::new(),
                written: 0,
            }),
        };
        self.buffer.sort_unstable_by_key(Entry::key);
        for entry in &self.buffer {
            entry.write(&mut spill.file)?;
        }
        let count = self.buffer.len() as u64;
        spill.runs.push((spill.written, count));
        spill.written += count * ENTRY_BYTES as u64;
        self.buffer.clear();
        Ok(())
    }

    /// The directory of the temporary files.
    pub fn directory(&self) -> &Path {
        &self.directory
    }

    /// Merges everything noted, and counts trips, duplicates and analyses.
    pub fn finish(mut self) -> io::Result<LedgerCounts> {
        let mut counts = LedgerCounts::default();
        let mut group = Group::default();
        if self.spill.is_none() {
            self.buffer.sort_unstable_by_key(Entry::key);
            for entry in &self.buffer {
                counts.add(&mut group, *entry);
            }
            counts.end_group(&mut group);
            return Ok(counts);
        }
        if !self.buffer.is_empty() {
            self.spill_buffer()?;
        }
        let Some(spill) = self.spill.take() else {
            return Ok(counts);
        };
        let mut file = spill
            .file
            .into_inner()
            .map_err(|error| error.into_error())?;
        file.flush()?;
        // One read buffer per run, all together within the merge budget.
        let buffer_entries = (MERGE_BUDGET_BYTES / ENTRY_BYTES / spill.runs.len().max(1)).max(16);
        let mut runs: Vec<RunReader> = spill
            .runs
            .iter()
            .map(|&(start, count)| RunReader::new(start, count, buffer_entries))
            .collect();
        // The next entry of each run, and a heap of their keys.
        let mut heads: Vec<Option<Entry>> = Vec::with_capacity(runs.len());
        let mut heap = BinaryHeap::with_capacity(runs.len());
        for (index, run) in runs.iter_mut().enumerate() {
            let head = run.next(&mut file)?;
            if let Some(entry) = head {
                heap.push(Reverse((entry.key(), index)));
            }
            heads.push(head);
        }
        while let Some(Reverse((_, index))) = heap.pop() {
            let (Some(head), Some(run)) = (heads.get_mut(index), runs.get_mut(index)) else {
                continue;
            };
            let Some(entry) = head.take() else {
                continue;
            };
            counts.add(&mut group, entry);
            *head = run.next(&mut file)?;
            if let Some(next) = head {
                heap.push(Reverse((next.key(), index)));
            }
        }
        counts.end_group(&mut group);
        Ok(counts)
    }
}

/// Reads one sorted run back, a buffer at a time.
struct RunReader {
    next_byte: u64,
    left: u64,
    /// Entries read at a time.
    buffer_entries: u64,
    buffer: Vec<u8>,
    position: usize,
}

impl RunReader {
    fn new(start: u64, count: u64, buffer_entries: usize) -> RunReader {
        RunReader {
            next_byte: start,
            left: count,
            buffer_entries: buffer_entries as u64,
            buffer: Vec::new(),
            position: 0,
        }
    }

    fn next(&mut self, file: &mut File) -> io::Result<Option<Entry>> {
        if self.position == self.buffer.len() {
            if self.left == 0 {
                return Ok(None);
            }
            let entries = self.left.min(self.buffer_entries);
            self.buffer.resize(entries as usize * ENTRY_BYTES, 0);
            file.seek(SeekFrom::Start(self.next_byte))?;
            file.read_exact(&mut self.buffer)?;
            self.next_byte += self.buffer.len() as u64;
            self.left -= entries;
            self.position = 0;
        }
        let end = self.position + ENTRY_BYTES;
        let bytes: &[u8; ENTRY_BYTES] = self
            .buffer
            .get(self.position..end)
            .and_then(|bytes| bytes.try_into().ok())
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "short run"))?;
        self.position = end;
        Entry::read(bytes).map(Some)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A summary that changes with `n` (every byte under 32 is one).
    fn summary(n: u64) -> AnalysisSummary {
        unpack((n % 32) as u8).unwrap()
    }

    #[test]
    fn every_summary_survives_its_byte() {
        for category in DurationCategory::ALL {
            for profitability in [
                None,
                Some(Profitability::Low),
                Some(Profitability::Standard),
                Some(Profitability::Premium),
            ] {
                for high_value in [false, true] {
                    let summary = AnalysisSummary {
                        duration_category: category,
                        profitability,
                        high_value,
                    };
                    assert_eq!(unpack(pack(summary)), Some(summary));
                }
            }
        }
    }

    /// The counts an in-memory map gives for the same notes.
    fn expected(notes: &[(u128, u32)]) -> LedgerCounts {
        let mut groups: std::collections::BTreeMap<u128, Vec<Entry>> = Default::default();
        for (order, &(fingerprint, file)) in notes.iter().enumerate() {
            let order = order as u64;
            groups.entry(fingerprint).or_default().push(Entry {
                fingerprint,
                order,
                file,
                summary: summary(order),
            });
        }
        let mut counts = LedgerCounts::default();
        let mut group = Group::default();
        for entry in groups.values().flatten() {
            counts.add(&mut group, *entry);
        }
        counts.end_group(&mut group);
        counts
    }

    fn ledger_counts(notes: &[(u128, u32)], capacity: usize) -> LedgerCounts {
        let directory = tempfile::tempdir().unwrap();
        let mut ledger = TripLedger::new(capacity, directory.path());
        for (order, &(fingerprint, file)) in notes.iter().enumerate() {
            ledger
                .note(fingerprint, order as u64, file, summary(order as u64))
                .unwrap();
        }
        ledger.finish().unwrap()
    }

    #[test]
    fn the_first_sighting_is_the_trip_and_the_last_version_is_counted() {
        let notes = [(7, 0), (9, 0), (7, 1), (7, 2)];
        let counts = ledger_counts(&notes, 2);
        assert_eq!(
            counts.files,
            [
                FileCounts {
                    trips: 2,
                    duplicates: 0
                },
                FileCounts {
                    trips: 0,
                    duplicates: 1
                },
                FileCounts {
                    trips: 0,
                    duplicates: 1
                }
            ]
        );
        assert_eq!(counts, expected(&notes));
    }

    proptest! {
        #[test]
        fn spilled_runs_count_as_memory_does(
            notes in proptest::collection::vec((0u128..50, 0u32..3), 0..400),
            capacity in 1usize..64,
        ) {
            prop_assert_eq!(ledger_counts(&notes, capacity), expected(&notes));
        }
    }
}
