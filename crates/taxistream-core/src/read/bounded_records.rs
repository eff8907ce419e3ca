//! CSV text with every record cut to a size bound before the parser sees it: whatever a file
//! holds (a gigabyte-long line, a quoted field without end), no record buffers more than the
//! bound, and the records after a cut one are read as they are.
//!
//! The scanner follows the CSV syntax as the `csv` parser reads it (fields, quoted fields, `""`,
//! records ending at a line feed). Of a record longer than the bound it passes on the first
//! `limit` bytes, a closing quote if they end inside a quoted field, and the record's line feeds
//! (as empty lines, which the parser skips), so later records keep their line numbers.

use memchr::{memchr, memchr2};
use std::collections::VecDeque;
use std::io::{self, Read};

/// Bytes a CSV row may have, by default (its line feed left out). A longer row is rejected as
/// `row_too_large`, and only its first bytes are read.
pub const DEFAULT_MAX_ROW_BYTES: u64 = 1 << 20;

/// Bytes read from the source at a time.
const INPUT_BYTES: usize = 64 * 1024;

/// A record that was cut, as the parser will see it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct CutRecord {
    /// The parser's byte position just after the record (in the text passed on).
    pub end: u64,
    /// The line of the stream the record starts on (1-based).
    pub line: u64,
    /// The record's length in the source, its line feed left out.
    pub bytes: u64,
    /// The bound it passed.
    pub limit: u64,
    /// The source's byte position just after the record (its line feed included).
    pub source_end: u64,
    /// Bytes dropped from the source so far, this record's included: after the empty lines that
    /// stand for the record's line feeds, the source's position is the parser's plus this.
    pub dropped: u64,
    /// Those empty lines: the line feeds of its quoted fields that were dropped.
    pub blank_lines: u64,
}

/// A source whose records are cut to `limit` bytes.
pub(super) struct BoundedRecords<R> {
    inner: R,
    input: Box<[u8]>,
    start: usize,
    end: usize,
    at_end: bool,
    scanner: Scanner,
    /// Bytes dropped through the last cut record [`Self::source_offset`] consumed.
    dropped: u64,
    /// That record.
    after_cut: CutRecord,
}

impl<R: Read> BoundedRecords<R> {
    pub(super) fn new(inner: R, limit: u64) -> Self {
        BoundedRecords {
            inner,
            input: vec![0; INPUT_BYTES].into_boxed_slice(),
            start: 0,
            end: 0,
            at_end: false,
            scanner: Scanner::new(limit.max(1)),
            dropped: 0,
            after_cut: CutRecord::default(),
        }
    }

    /// The cut record that ends at the parser's byte position `end`, if any; cut records that
    /// end before it (blank ones, which the parser skips) are forgotten.
    pub(super) fn take_cut(&mut self, end: u64) -> Option<CutRecord> {
        let cuts = &mut self.scanner.cuts;
        while let Some(cut) = cuts.front().copied() {
            if cut.end > end {
                return None;
            }
            cuts.pop_front();
            if cut.end == end {
                return Some(cut);
            }
        }
        None
    }

    /// The exact position in the source, and its line, of the parser's position `parsed` on
    /// `line`, the start of a record: cut records ending at or before it are consumed (so
    /// [`Self::take_cut`] no longer sees them; use one or the other).
    pub(super) fn source_offset(&mut self, parsed: u64, line: u64) -> (u64, u64) {
        while let Some(cut) = self.scanner.cuts.front().copied() {
            if cut.end > parsed {
                break;
            }
            self.scanner.cuts.pop_front();
            self.dropped = cut.dropped;
            self.after_cut = cut;
        }
        let offset = parsed + self.dropped;
        // The parser places the record after a cut one at that record's end, before the empty
        // lines that stand for its dropped line feeds: in the source, that is past them.
        if self.after_cut.end == parsed && offset < self.after_cut.source_end {
            return (self.after_cut.source_end, line + self.after_cut.blank_lines);
        }
        (offset, line)
    }

    /// The position in the source of the parser's byte position `parsed`, for progress: bytes
    /// dropped from cut records so far are added back.
    pub(super) fn source_position(&self, parsed: u64) -> u64 {
        parsed + self.scanner.scanned.saturating_sub(self.scanner.emitted)
    }

    fn refill(&mut self) -> io::Result<()> {
        loop {
            match self.inner.read(&mut self.input) {
                Ok(read) => {
                    (self.start, self.end) = (0, read);
                    if read == 0 {
                        self.at_end = true;
                        self.scanner.finish();
                    }
                    return Ok(());
                }
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => return Err(error),
            }
        }
    }
}

impl<R: Read> Read for BoundedRecords<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let mut written = 0;
        while written < out.len() {
            written += self.scanner.drain_pending(&mut out[written..]);
            if self.scanner.has_pending() {
                break;
            }
            if self.start == self.end {
                if written > 0 || self.at_end {
                    break;
                }
                self.refill()?;
                continue;
            }
            let (used, wrote) = self
                .scanner
                .step(&self.input[self.start..self.end], &mut out[written..]);
            self.start += used;
            written += wrote;
        }
        Ok(written)
    }
}

/// Where the scanner stands in the CSV syntax (the parser's states).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Between records.
    StartRecord,
    /// After a delimiter.
    StartField,
    /// In an unquoted field (a quote here is text).
    InField,
    /// In a quoted field.
    InQuoted,
    /// Just after a quote in a quoted field: it closed the field, or a second quote follows.
    QuoteInQuoted,
}

/// A record being cut: what to pass on when it ends.
#[derive(Debug, Clone, Copy)]
struct Cutting {
    close_quote: bool,
    line_feeds: u64,
}

/// The CSV syntax scanner and the output it owes.
#[derive(Debug)]
struct Scanner {
    limit: u64,
    state: State,
    /// Bytes of the current record so far, its line feed left out.
    record_bytes: u64,
    /// Line feeds seen so far.
    line_feeds: u64,
    record_line: u64,
    cutting: Option<Cutting>,
    pending_quote: bool,
    pending_line_feeds: u64,
    /// Bytes passed on so far.
    emitted: u64,
    /// Bytes of the source scanned so far.
    scanned: u64,
    cuts: VecDeque<CutRecord>,
}

impl Scanner {
    fn new(limit: u64) -> Self {
        Scanner {
            limit,
            state: State::StartRecord,
            record_bytes: 0,
            line_feeds: 0,
            record_line: 1,
            cutting: None,
            pending_quote: false,
            pending_line_feeds: 0,
            emitted: 0,
            scanned: 0,
            cuts: VecDeque::new(),
        }
    }

    fn has_pending(&self) -> bool {
        self.pending_quote || self.pending_line_feeds > 0
    }

    fn drain_pending(&mut self, out: &mut [u8]) -> usize {
        let mut written = 0;
        if self.pending_quote && written < out.len() {
            out[written] = b'"';
            written += 1;
            self.pending_quote = false;
        }
        let line_feeds = (out.len() - written).min(self.pending_line_feeds as usize);
        out[written..written + line_feeds].fill(b'\n');
        written += line_feeds;
        self.pending_line_feeds -= line_feeds as u64;
        self.emitted += written as u64;
        written
    }

    /// The source ended: a record being cut ends here, without a line feed.
    fn finish(&mut self) {
        if let Some(cutting) = self.cutting.take() {
            self.end_cut(cutting, false);
        }
    }

    /// Reads from `input` and writes to `out` until either is used up or a cut record ends (its
    /// end is owed first). Returns the bytes used and written.
    fn step(&mut self, input: &[u8], out: &mut [u8]) -> (usize, usize) {
        let (mut used, mut written) = (0, 0);
        while used < input.len() && written < out.len() && !self.has_pending() {
            let rest = &input[used..];
            let quoted = self.state == State::InQuoted;
            // A run of bytes that leaves the state as its last byte says: no quote, and no line
            // feed outside a quoted field.
            let run_end = if quoted {
                memchr(b'"', rest)
            } else {
                memchr2(b'"', b'\n', rest)
            }
            .unwrap_or(rest.len());
            if run_end == 0 {
                // A quote or a line feed: one byte.
                let byte = rest[0];
                if let Some(cutting) = self.cutting {
                    self.cut_byte(cutting, byte);
                } else if self.starts_record_byte(byte) && self.record_bytes >= self.limit {
                    self.start_cut();
                    continue;
                } else {
                    out[written] = byte;
                    written += 1;
                    self.emitted += 1;
                    self.pass_byte(byte);
                }
                used += 1;
                self.scanned += 1;
                continue;
            }
            let mut run = &rest[..run_end];
            if self.cutting.is_none() {
                let room = self.limit.saturating_sub(self.record_bytes);
                if room == 0 {
                    self.start_cut();
                    continue;
                }
                let take = run.len().min(out.len() - written).min(room as usize);
                run = &run[..take];
                out[written..written + take].copy_from_slice(run);
                written += take;
                self.emitted += take as u64;
            }
            self.pass_run(run);
            used += run.len();
            self.scanned += run.len() as u64;
        }
        (used, written)
    }

    /// True if `byte`, read now, is part of a record (not a line feed that ends or skips one).
    fn starts_record_byte(&self, byte: u8) -> bool {
        byte != b'\n' || self.state == State::InQuoted
    }

    fn start_cut(&mut self) {
        self.cutting = Some(Cutting {
            close_quote: self.state == State::InQuoted,
            line_feeds: 0,
        });
    }

    /// A run of bytes with no quote, and no line feed unless in a quoted field.
    fn pass_run(&mut self, run: &[u8]) {
        let Some(&last) = run.last() else { return };
        if self.state == State::StartRecord {
            self.record_line = self.line_feeds + 1;
        }
        self.record_bytes += run.len() as u64;
        if self.state == State::InQuoted {
            let line_feeds = run.iter().filter(|&&byte| byte == b'\n').count() as u64;
            self.line_feeds += line_feeds;
            if let Some(cutting) = &mut self.cutting {
                cutting.line_feeds += line_feeds;
            }
        } else {
            self.state = if last == b',' {
                State::StartField
            } else {
                State::InField
            };
        }
    }

    /// A quote or a line feed, passed on.
    fn pass_byte(&mut self, byte: u8) {
        if byte == b'\n' {
            self.line_feeds += 1;
            if self.state == State::InQuoted {
                self.record_bytes += 1;
            } else {
                self.state = State::StartRecord;
                self.record_bytes = 0;
            }
            return;
        }
        if self.state == State::StartRecord {
            self.record_line = self.line_feeds + 1;
        }
        self.record_bytes += 1;
        self.state = match self.state {
            State::StartRecord | State::StartField | State::QuoteInQuoted => State::InQuoted,
            State::InQuoted => State::QuoteInQuoted,
            State::InField => State::InField,
        };
    }

    /// A quote or a line feed of a record being cut: dropped, and the state follows it.
    fn cut_byte(&mut self, mut cutting: Cutting, byte: u8) {
        if byte == b'\n' && self.state != State::InQuoted {
            self.line_feeds += 1;
            self.cutting = None;
            self.end_cut(cutting, true);
            return;
        }
        if byte == b'\n' {
            cutting.line_feeds += 1;
            self.cutting = Some(cutting);
        }
        self.pass_byte(byte);
    }

    /// Owes the end of the cut record: a closing quote if needed, and its line feeds.
    fn end_cut(&mut self, cutting: Cutting, line_feed: bool) {
        let owed = u64::from(cutting.close_quote) + u64::from(line_feed);
        // At the end of the source, nothing follows: the record ends where the text does.
        let line_feeds = if line_feed { 1 + cutting.line_feeds } else { 0 };
        // Called before the line feed that ends it is counted as scanned.
        let source_end = self.scanned + u64::from(line_feed);
        let stream_end = self.emitted + u64::from(cutting.close_quote) + line_feeds;
        self.cuts.push_back(CutRecord {
            end: self.emitted + owed,
            line: self.record_line,
            bytes: self.record_bytes,
            limit: self.limit,
            source_end,
            dropped: source_end.saturating_sub(stream_end),
            blank_lines: line_feeds.saturating_sub(1),
        });
        self.pending_quote = cutting.close_quote;
        self.pending_line_feeds = line_feeds;
        self.state = State::StartRecord;
        self.record_bytes = 0;
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
#[path = "bounded_records_tests.rs"]
mod tests;
