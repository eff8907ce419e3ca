//! Rejected rows as CSV: `source,line,column,reason,detail,raw,raw_encoding`, to a file or an
//! in-memory object.
//!
//! A cell that a spreadsheet would run as a formula (it starts with `=`, `+`, `-`, `@`, a tab or
//! a carriage return) is written with a `'` before it, as OWASP advises against CSV injection:
//! strip that one quote to get the text back. `raw_encoding` says how `raw` holds what was read:
//! `text`, or `hex` (the exact bytes of a stream record set aside, when they are not text that a
//! cell keeps as it is).

use crate::ports::{PortError, RejectSink};
use std::borrow::Cow;
use std::io::Write;
use taxistream_core::RowRejection;
use taxistream_core::reject::starts_like_a_formula;

/// The header row of every rejects CSV.
pub const HEADER: [&str; 7] = [
    "source",
    "line",
    "column",
    "reason",
    "detail",
    "raw",
    "raw_encoding",
];

/// A rejects CSV being written to `W` (a file, or a buffer uploaded as one object).
pub struct RejectsCsv<W: Write> {
    writer: csv::Writer<W>,
    rows: u64,
}

impl<W: Write> RejectsCsv<W> {
    /// Starts the CSV with its header.
    pub fn new(out: W) -> Result<Self, PortError> {
        let mut writer = csv::Writer::from_writer(out);
        writer
            .write_record(HEADER)
            .map_err(|error| PortError::permanent("rejects").caused_by(error.to_string()))?;
        Ok(RejectsCsv { writer, rows: 0 })
    }

    /// Continues a CSV that already has its header.
    pub fn without_header(out: W) -> Self {
        RejectsCsv {
            writer: csv::Writer::from_writer(out),
            rows: 0,
        }
    }

    /// Writes what is buffered through to the destination.
    pub fn flush(&mut self) -> Result<(), PortError> {
        self.writer
            .flush()
            .map_err(|error| PortError::permanent("rejects").caused_by(error.to_string()))
    }

    /// The destination.
    pub fn get_ref(&self) -> &W {
        self.writer.get_ref()
    }

    /// Rows written so far, header not counted.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Flushes and gives back the destination.
    pub fn into_inner(self) -> Result<W, PortError> {
        self.writer
            .into_inner()
            .map_err(|error| PortError::permanent(format!("rejects: {}", error.error())))
    }

    fn write(&mut self, source_name: &str, rejection: &RowRejection) -> Result<(), PortError> {
        let column = rejection
            .column
            .as_ref()
            .map(|(number, name)| format!("{number}:{name}"))
            .unwrap_or_default();
        self.writer
            .write_record([
                &*inert(source_name),
                &rejection.line.to_string(),
                &inert(&column),
                rejection.reason.name(),
                &inert(&rejection.detail),
                &inert(&rejection.raw),
                rejection.raw_encoding.name(),
            ])
            .map_err(|error| PortError::permanent("rejects").caused_by(error.to_string()))?;
        self.rows += 1;
        Ok(())
    }
}

impl<W: Write + Send> RejectSink for RejectsCsv<W> {
    async fn reject(
        &mut self,
        source_name: &str,
        rejection: &RowRejection,
    ) -> Result<(), PortError> {
        self.write(source_name, rejection)
    }
}

/// The cell, with a `'` before it if a spreadsheet would take it for a formula.
fn inert(cell: &str) -> Cow<'_, str> {
    if starts_like_a_formula(cell) {
        Cow::Owned(format!("'{cell}"))
    } else {
        Cow::Borrowed(cell)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use taxistream_core::RejectReason;

    #[test]
    fn cells_a_spreadsheet_would_run_as_formulas_are_made_inert() {
        let mut rejects = RejectsCsv::new(Vec::new()).unwrap();
        let rejection = RowRejection {
            raw_encoding: taxistream_core::RawEncoding::Text,
            line: 3,
            column: Some((2, "=col".to_owned())),
            reason: RejectReason::BadNumber,
            detail: "not a number: \"x\"".to_owned(),
            raw: "-1,=HYPERLINK(\"http://x\"),@SUM(A1)".to_owned(),
        };
        rejects.write("+file.csv", &rejection).unwrap();
        let text = String::from_utf8(rejects.into_inner().unwrap()).unwrap();
        let row = text.lines().nth(1).unwrap();
        assert_eq!(
            row,
            r#"'+file.csv,3,2:=col,bad_number,"not a number: ""x""","'-1,=HYPERLINK(""http://x""),@SUM(A1)",text"#
        );
    }
}
