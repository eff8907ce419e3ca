//! A trip: the canonical fields of one row, typed, plus the columns carried through untouched.

use crate::number::{self, NumberError};
use crate::schema::{FIELD_COUNT, Field, FieldKind};
use crate::timestamp::{DateMemo, LocalTimestamp, TimestampError};
use rust_decimal::Decimal;
use std::sync::Arc;

/// A typed value of a canonical field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// An integer (also an integer code such as `VendorID` 2).
    Integer(i64),
    /// An exact, normalized decimal.
    Decimal(Decimal),
    /// Text (also a text code such as `CMT`).
    Text(Box<str>),
    /// A local timestamp.
    Timestamp(LocalTimestamp),
}

/// One trip: its canonical fields (each absent or typed) and its carried-through columns.
///
/// Pickup and dropoff are always present: a row without them is rejected, never a trip.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trip {
    // Boxed: a trip moves through iterators and channels; a pointer moves cheaply, 700 bytes do not.
    values: Box<[Option<Value>; FIELD_COUNT]>,
    carried: Vec<(Arc<str>, Box<str>)>,
}

/// Why a field's value was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FieldError {
    /// A timestamp that does not parse.
    #[error("timestamp {0}")]
    Timestamp(#[from] TimestampError),
    /// A numeric field that does not parse.
    #[error("{0}")]
    Number(#[from] NumberError),
}

impl Trip {
    /// The value of a canonical field, if present.
    pub fn get(&self, field: Field) -> Option<&Value> {
        self.values[field.index()].as_ref()
    }

    /// A decimal field's value (integers are widened), if present.
    pub fn decimal(&self, field: Field) -> Option<Decimal> {
        match self.get(field)? {
            Value::Decimal(value) => Some(*value),
            Value::Integer(value) => Some(Decimal::from(*value)),
            _ => None,
        }
    }

    /// The pickup time.
    pub fn pickup(&self) -> LocalTimestamp {
        self.timestamp(Field::PickupDatetime)
    }

    /// The dropoff time.
    pub fn dropoff(&self) -> LocalTimestamp {
        self.timestamp(Field::DropoffDatetime)
    }

    fn timestamp(&self, field: Field) -> LocalTimestamp {
        match self.get(field) {
            Some(Value::Timestamp(value)) => *value,
            // Unreachable by construction: `TripBuilder::finish` requires both.
            _ => LocalTimestamp::default(),
        }
    }

    /// The id the data gave the trip, if any.
    pub fn given_id(&self) -> Option<&str> {
        match self.get(Field::TripId)? {
            Value::Text(text) => Some(text),
            _ => None,
        }
    }

    /// The present canonical fields, in canonical order.
    pub fn fields(&self) -> impl Iterator<Item = (Field, &Value)> {
        Field::ALL
            .iter()
            .zip(self.values.iter())
            .filter_map(|(field, value)| value.as_ref().map(|value| (*field, value)))
    }

    /// The carried-through columns (name, value), in source order.
    pub fn carried(&self) -> &[(Arc<str>, Box<str>)] {
        &self.carried
    }
}

/// Builds a [`Trip`] field by field, from text (CSV, JSON) or typed cells (Parquet).
#[derive(Debug, Clone, Default)]
pub struct TripBuilder {
    values: Box<[Option<Value>; FIELD_COUNT]>,
    carried: Vec<(Arc<str>, Box<str>)>,
    scratch: String,
    dates: DateMemo,
    /// Per field, the last double read as a decimal (its bits, the decimal): a column of
    /// amounts repeats a few values (a surcharge, a tax), and the conversion is a pure function.
    last_decimals: [Option<(u64, Decimal)>; FIELD_COUNT],
}

/// What is missing for a builder to become a trip.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MissingTimestamp(pub Field);

impl TripBuilder {
    /// An empty builder.
    pub fn new() -> TripBuilder {
        TripBuilder::default()
    }

    /// Sets a field from its text form; empty text means absent.
    pub fn set_text(&mut self, field: Field, text: &str) -> Result<(), FieldError> {
        if text.is_empty() {
            return Ok(());
        }
        let value = match field.kind() {
            FieldKind::Text => Value::Text(text.into()),
            FieldKind::Code => match number::parse_integer(text) {
                Ok(value) => Value::Integer(value),
                Err(_) => Value::Text(text.into()),
            },
            FieldKind::Timestamp => {
                Value::Timestamp(LocalTimestamp::parse_with(text, &mut self.dates)?)
            }
            FieldKind::Integer => Value::Integer(number::parse_integer(text)?),
            FieldKind::Decimal => Value::Decimal(number::parse_decimal(text)?),
        };
        self.values[field.index()] = Some(value);
        Ok(())
    }

    /// Sets a field from an integer cell.
    pub fn set_integer(&mut self, field: Field, value: i64) -> Result<(), FieldError> {
        let value = match field.kind() {
            FieldKind::Integer | FieldKind::Code => Value::Integer(value),
            FieldKind::Decimal => Value::Decimal(Decimal::from(value)),
            FieldKind::Text => Value::Text(value.to_string().into()),
            FieldKind::Timestamp => return Err(TimestampError::BadFormat.into()),
        };
        self.values[field.index()] = Some(value);
        Ok(())
    }

    /// Sets a field from a binary double, read as its shortest round-tripping decimal.
    pub fn set_double(&mut self, field: Field, value: f64) -> Result<(), FieldError> {
        let value = match field.kind() {
            FieldKind::Integer => Value::Integer(number::double_to_integer(value)?),
            FieldKind::Code => match number::double_to_integer(value) {
                Ok(value) => Value::Integer(value),
                Err(_) => Value::Text(
                    number::double_to_decimal(value, &mut self.scratch)?
                        .to_string()
                        .into(),
                ),
            },
            FieldKind::Decimal => {
                let bits = value.to_bits();
                let last = &mut self.last_decimals[field.index()];
                match *last {
                    Some((last_bits, decimal)) if last_bits == bits => Value::Decimal(decimal),
                    _ => {
                        let decimal = number::double_to_decimal(value, &mut self.scratch)?;
                        *last = Some((bits, decimal));
                        Value::Decimal(decimal)
                    }
                }
            }
            FieldKind::Text => Value::Text(value.to_string().into()),
            FieldKind::Timestamp => return Err(TimestampError::BadFormat.into()),
        };
        self.values[field.index()] = Some(value);
        Ok(())
    }

    /// Sets a field from a timestamp cell.
    pub fn set_timestamp(&mut self, field: Field, value: LocalTimestamp) -> Result<(), FieldError> {
        let value = match field.kind() {
            FieldKind::Timestamp => Value::Timestamp(value),
            FieldKind::Text => Value::Text(value.to_string().into()),
            _ => return Err(NumberError::NotANumber.into()),
        };
        self.values[field.index()] = Some(value);
        Ok(())
    }

    /// Carries a column through untouched; empty text means absent.
    pub fn carry(&mut self, name: &Arc<str>, text: &str) {
        if !text.is_empty() {
            self.carried.push((Arc::clone(name), text.into()));
        }
    }

    /// The trip, when both timestamps are present; the builder is left empty for the next row.
    pub fn finish(&mut self) -> Result<Trip, MissingTimestamp> {
        let result = [Field::PickupDatetime, Field::DropoffDatetime]
            .into_iter()
            .find(|field| self.values[field.index()].is_none())
            .map_or(Ok(()), |field| Err(MissingTimestamp(field)));
        let values = std::mem::take(&mut self.values);
        // Room for the next row's carried columns, which are usually as many.
        let room = self.carried.len();
        let carried = std::mem::replace(&mut self.carried, Vec::with_capacity(room));
        result.map(|()| Trip { values, carried })
    }

    /// Forgets a partly built row.
    pub fn clear(&mut self) {
        self.values.fill(None);
        self.carried.clear();
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn repeated_doubles_read_as_the_same_decimals() -> Result<(), FieldError> {
        let mut builder = TripBuilder::new();
        for value in [0.1, 0.1, 2.75, -0.0, 0.0, 2.75, 1e-7, 0.1] {
            builder.set_double(Field::FareAmount, value)?;
            builder.set_double(Field::Extra, 2.5)?;
            let mut scratch = String::new();
            let expected = number::double_to_decimal(value, &mut scratch)?;
            let fare = builder.values[Field::FareAmount.index()].clone();
            assert_eq!(fare, Some(Value::Decimal(expected)), "{value}");
            let extra = builder.values[Field::Extra.index()].clone();
            assert_eq!(extra, Some(Value::Decimal(Decimal::new(25, 1))));
        }
        assert!(builder.set_double(Field::FareAmount, f64::NAN).is_err());
        assert!(builder.set_double(Field::FareAmount, 1e300).is_err());
        Ok(())
    }

    #[test]
    fn text_codes_are_kept_and_numeric_codes_become_integers() -> Result<(), FieldError> {
        let mut builder = TripBuilder::new();
        builder.set_text(Field::VendorId, "CMT")?;
        builder.set_text(Field::PaymentType, "1.0")?;
        builder.set_text(Field::PickupDatetime, "2009-01-04 02:52:00")?;
        builder.set_text(Field::DropoffDatetime, "2009-01-04 03:02:00")?;
        let trip = builder.finish().map_err(|_| NumberError::NotANumber)?;
        assert_eq!(trip.get(Field::VendorId), Some(&Value::Text("CMT".into())));
        assert_eq!(trip.get(Field::PaymentType), Some(&Value::Integer(1)));
        Ok(())
    }

    #[test]
    fn a_row_without_dropoff_is_not_a_trip() {
        let mut builder = TripBuilder::new();
        assert!(
            builder
                .set_text(Field::PickupDatetime, "2009-01-04 02:52:00")
                .is_ok()
        );
        assert_eq!(
            builder.finish(),
            Err(MissingTimestamp(Field::DropoffDatetime))
        );
        assert!(builder.finish().is_err(), "the builder is left empty");
    }

    #[test]
    fn empty_text_is_absent_not_zero() {
        let mut builder = TripBuilder::new();
        assert!(builder.set_text(Field::FareAmount, "").is_ok());
        assert!(builder.values[Field::FareAmount.index()].is_none());
    }
}
