//! An item's values bound to an insert statement's parameters.

use rusqlite::types::Value as SqlValue;
use taxistream_core::number::nearest_double;
use taxistream_core::text::push_decimal;
use taxistream_core::{AttributeValue, Item};

/// Binds an item's values: trip_id, then each column's value or NULL. Numbers (DynamoDB `N`) are
/// bound as INTEGER when integral, else REAL (exact for the ≤15 significant digits of money and
/// distances); strings as TEXT.
pub(super) fn bind_item(
    statement: &mut rusqlite::CachedStatement<'_>,
    item: &Item,
    columns: &[&'static str],
    scratch: &mut String,
) -> rusqlite::Result<()> {
    statement.raw_bind_parameter(1, &*item.trip_id)?;
    // An item's attributes are its table's columns, in column order, absent ones left out.
    let mut attributes = item.attributes.iter().peekable();
    for (position, column) in columns.iter().enumerate() {
        let value = attributes
            .next_if(|(name, _)| name == column)
            .map(|(_, value)| value);
        let index = position + 2;
        match value {
            None => statement.raw_bind_parameter(index, SqlValue::Null)?,
            Some(AttributeValue::Integer(integer)) => {
                statement.raw_bind_parameter(index, integer)?
            }
            Some(AttributeValue::Text(text)) => statement.raw_bind_parameter(index, &**text)?,
            Some(AttributeValue::Label(label)) => statement.raw_bind_parameter(index, *label)?,
            Some(AttributeValue::Decimal(decimal)) => match i64::try_from(*decimal) {
                Ok(integer) if decimal.scale() == 0 => {
                    statement.raw_bind_parameter(index, integer)?
                }
                _ => match nearest_double(*decimal) {
                    Some(real) => statement.raw_bind_parameter(index, real)?,
                    // The nearest double, correctly rounded from the exact decimal text.
                    None => {
                        scratch.clear();
                        push_decimal(scratch, *decimal);
                        match scratch.parse::<f64>() {
                            Ok(real) => statement.raw_bind_parameter(index, real)?,
                            Err(_) => statement.raw_bind_parameter(index, scratch.as_str())?,
                        }
                    }
                },
            },
            Some(AttributeValue::Timestamp(timestamp)) => {
                scratch.clear();
                timestamp.push_iso(scratch);
                statement.raw_bind_parameter(index, scratch.as_str())?;
            }
        }
    }
    Ok(())
}
