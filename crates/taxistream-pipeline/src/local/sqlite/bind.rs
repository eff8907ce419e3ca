//! Items turned into SQL values on the consumers' threads, so that the writer thread, which every
//! item goes through, only binds them.

use rusqlite::types::{ToSqlOutput, Value as SqlValue, ValueRef};
use std::sync::Arc;
use taxistream_core::number::nearest_double;
use taxistream_core::text::push_decimal;
use taxistream_core::{AttributeValue, Item, Table};

/// Rows for the tables: per row its table, key and one cell per column, texts in one buffer.
#[derive(Debug, Default)]
pub(super) struct RowBatch {
    rows: Vec<Row>,
    cells: Vec<Cell>,
    text: String,
}

#[derive(Debug)]
struct Row {
    table: Table,
    trip_id: Arc<str>,
    /// An absence: the trip's row in this table goes (its cells are all NULL).
    absent: bool,
    /// Its cells: `cells[first_cell..]`, one per column of its table.
    first_cell: usize,
}

/// One column's value. Numbers (DynamoDB `N`) are INTEGER when integral, else REAL (exact for the
/// ≤15 significant digits of money and distances); strings are TEXT.
#[derive(Debug, Clone, Copy)]
enum Cell {
    Null,
    Integer(i64),
    Real(f64),
    /// A range of the batch's text.
    Text(usize, usize),
    Label(&'static str),
}

impl RowBatch {
    /// The rows of `items`, each with its table's columns in order (`columns`, by table index).
    pub(super) fn from_items(items: &[Item], columns: &[Vec<&'static str>]) -> RowBatch {
        let mut batch = RowBatch {
            rows: Vec::with_capacity(items.len()),
            cells: Vec::with_capacity(items.len() * 12),
            text: String::with_capacity(items.len() * 48),
        };
        for item in items {
            batch.push(
                item,
                columns
                    .get(item.table.index())
                    .map_or(&[][..], Vec::as_slice),
            );
        }
        batch
    }

    fn push(&mut self, item: &Item, columns: &[&'static str]) {
        self.rows.push(Row {
            table: item.table,
            trip_id: Arc::clone(&item.trip_id),
            absent: item.is_absence(),
            first_cell: self.cells.len(),
        });
        // An item's attributes are its table's columns, in column order, absent ones left out.
        let mut attributes = item.attributes.iter().peekable();
        for column in columns {
            let value = attributes
                .next_if(|(name, _)| name == column)
                .map(|(_, value)| value);
            let cell = match value {
                None => Cell::Null,
                Some(AttributeValue::Integer(integer)) => Cell::Integer(*integer),
                Some(AttributeValue::Label(label)) => Cell::Label(label),
                Some(AttributeValue::Text(text)) => self.text_cell(|out| out.push_str(text)),
                Some(AttributeValue::Timestamp(timestamp)) => {
                    self.text_cell(|out| timestamp.push_iso(out))
                }
                Some(AttributeValue::Decimal(decimal)) => match i64::try_from(*decimal) {
                    Ok(integer) if decimal.scale() == 0 => Cell::Integer(integer),
                    _ => match nearest_double(*decimal) {
                        Some(real) => Cell::Real(real),
                        // The nearest double, correctly rounded from the exact decimal text.
                        None => {
                            let start = self.text.len();
                            push_decimal(&mut self.text, *decimal);
                            match self.text[start..].parse::<f64>() {
                                Ok(real) => {
                                    self.text.truncate(start);
                                    Cell::Real(real)
                                }
                                Err(_) => Cell::Text(start, self.text.len()),
                            }
                        }
                    },
                },
            };
            self.cells.push(cell);
        }
    }

    fn text_cell(&mut self, write: impl FnOnce(&mut String)) -> Cell {
        let start = self.text.len();
        write(&mut self.text);
        Cell::Text(start, self.text.len())
    }

    /// Rows in the batch.
    pub(super) fn len(&self) -> usize {
        self.rows.len()
    }

    /// A row's table and key.
    pub(super) fn key(&self, row: usize) -> Option<(Table, &str)> {
        self.rows.get(row).map(|row| (row.table, &*row.trip_id))
    }

    /// True when the row is an absence ([`Item::absence`]).
    pub(super) fn is_absence(&self, row: usize) -> bool {
        self.rows.get(row).is_some_and(|row| row.absent)
    }

    /// Runs the table's delete-by-key statement (`statements`, by table index) for the row.
    pub(super) fn delete(
        &self,
        row: usize,
        statements: &mut [rusqlite::CachedStatement<'_>],
    ) -> rusqlite::Result<()> {
        let Some(row) = self.rows.get(row) else {
            return Ok(());
        };
        let Some(statement) = statements.get_mut(row.table.index()) else {
            return Err(rusqlite::Error::InvalidQuery);
        };
        statement.raw_bind_parameter(1, &*row.trip_id)?;
        statement.raw_execute().map(|_| ())
    }

    /// Binds a row to its table's insert statement (trip_id, then each column) and runs it.
    pub(super) fn insert(
        &self,
        row: usize,
        statements: &mut [rusqlite::CachedStatement<'_>],
    ) -> rusqlite::Result<()> {
        let Some(row_data) = self.rows.get(row) else {
            return Ok(());
        };
        let end = self
            .rows
            .get(row + 1)
            .map_or(self.cells.len(), |next| next.first_cell);
        // One statement per table of `Table::ALL`, so every table has its own.
        let Some(statement) = statements.get_mut(row_data.table.index()) else {
            return Err(rusqlite::Error::InvalidQuery);
        };
        statement.raw_bind_parameter(1, &*row_data.trip_id)?;
        let cells = self.cells.get(row_data.first_cell..end).unwrap_or_default();
        for (position, cell) in cells.iter().enumerate() {
            statement.raw_bind_parameter(position + 2, self.value(*cell))?;
        }
        statement.raw_execute().map(|_| ())
    }

    fn value(&self, cell: Cell) -> ToSqlOutput<'_> {
        match cell {
            Cell::Null => ToSqlOutput::Owned(SqlValue::Null),
            Cell::Integer(integer) => ToSqlOutput::Borrowed(ValueRef::Integer(integer)),
            Cell::Real(real) => ToSqlOutput::Borrowed(ValueRef::Real(real)),
            Cell::Text(start, end) => {
                ToSqlOutput::Borrowed(ValueRef::Text(&self.text.as_bytes()[start..end]))
            }
            Cell::Label(label) => ToSqlOutput::Borrowed(ValueRef::Text(label.as_bytes())),
        }
    }
}
