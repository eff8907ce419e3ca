//! The stream record: one JSON object per trip, the exact bytes put on Kinesis.
//!
//! `{"trip_id":"…","vendor_id":1,"pickup_datetime":"2025-01-01T00:18:38",…,"pickup_longitude":"-73.99"}`:
//! the trip id first, then the present canonical fields in canonical order (numbers as JSON numbers
//! in exact decimal, codes as numbers or strings, timestamps as ISO 8601 strings), then the carried
//! columns as strings under their own names. The decoder also takes the original tutorial's records
//! (the same canonical names, numbers or numeric strings, possibly no `trip_id`). Only canonical
//! names fill fields: a carried column named like an alias (`Total_Amt` beside an empty
//! `total_amount`) stays carried, as the producer left it.

use crate::identity::{TripId, write_normalized_bytes};
use crate::schema::{FIELD_COUNT, Field};
use crate::trip::{Trip, TripBuilder, Value};
use serde::de::{Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

/// A record that is not a trip record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    /// Not a JSON object.
    #[error("not a JSON object: {0}")]
    Json(String),
    /// A field's value is not valid for its field.
    #[error("field {field}: {detail}")]
    Field {
        /// The JSON key.
        field: String,
        /// What is wrong with it.
        detail: String,
    },
    /// No pickup or dropoff timestamp.
    #[error("no {0}")]
    MissingTimestamp(&'static str),
}

/// A decoded record: the trip and its id (given, or generated as the producer would).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodedRecord {
    /// The id to write under.
    pub id: TripId,
    /// The trip.
    pub trip: Trip,
}

/// Kinesis limit: bytes per record (data plus partition key).
pub const MAX_RECORD_BYTES: usize = 1024 * 1024;

/// Encodes a trip with its id as the record bytes.
pub fn encode(trip: &Trip, id: &TripId, out: &mut Vec<u8>) {
    out.push(b'{');
    write_key(out, "trip_id");
    write_string(out, id.as_str());
    for (field, value) in trip.fields() {
        if field == Field::TripId {
            continue;
        }
        // Canonical names are plain snake_case: nothing to escape.
        out.extend_from_slice(b",\"");
        out.extend_from_slice(field.name().as_bytes());
        out.extend_from_slice(b"\":");
        match value {
            Value::Integer(_) | Value::Decimal(_) => write_normalized_bytes(out, value),
            Value::Text(text) => write_string(out, text),
            // Digits and separators: nothing to escape.
            Value::Timestamp(timestamp) => {
                out.push(b'"');
                timestamp.write_iso(out);
                out.push(b'"');
            }
        }
    }
    for (name, value) in trip.carried() {
        out.push(b',');
        write_key(out, name);
        write_string(out, value);
    }
    out.push(b'}');
}

/// True when the trip's record (data plus partition key) is surely within
/// [`MAX_RECORD_BYTES`], judged from an upper bound of its size without encoding it: every
/// text byte may be escaped to 6 (`\u001f`), every other value takes at most 72 bytes with its
/// key. Only records with hundreds of KiB of text need to be encoded to know.
pub fn surely_fits(trip: &Trip, id: &TripId) -> bool {
    const OTHER_VALUE: usize = 72;
    let escaped = |text: &str| 6 * text.len() + 2;
    let mut bound = 2 + "\"trip_id\":".len() + escaped(id.as_str()) + id.as_str().len();
    for (field, value) in trip.fields() {
        bound += match value {
            Value::Text(text) => field.name().len() + 4 + escaped(text),
            _ => OTHER_VALUE,
        };
    }
    for (name, value) in trip.carried() {
        bound += escaped(name) + 2 + escaped(value);
    }
    bound <= MAX_RECORD_BYTES
}

fn write_key(out: &mut Vec<u8>, key: &str) {
    write_string(out, key);
    out.push(b':');
}

fn write_string(out: &mut Vec<u8>, text: &str) {
    if text
        .bytes()
        .all(|byte| byte >= 0x20 && byte != b'"' && byte != b'\\')
    {
        // Nothing to escape: the common case (names, timestamps, ids, codes).
        out.push(b'"');
        out.extend_from_slice(text.as_bytes());
        out.push(b'"');
    } else {
        // Serializing a &str into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *out, text);
    }
}

/// Decodes record bytes (ours or the tutorial's) into a trip and its id.
pub fn decode(bytes: &[u8]) -> Result<DecodedRecord, RecordError> {
    let pairs = match flat_object(bytes) {
        Some(pairs) => pairs,
        None => parsed_object(bytes)?,
    };
    let mut builder = TripBuilder::new();
    let mut taken = [false; FIELD_COUNT];
    for (key, raw) in pairs {
        // Fields go by their canonical names only (as this encoder and the tutorial's producer
        // write them): any other key, an alias included, was carried through and stays so.
        let field = Field::from_canonical_name(&key).filter(|field| !taken[field.index()]);
        if let Some(field) = field {
            taken[field.index()] = true;
        }
        let Some(text) = raw else { continue };
        match field {
            Some(field) => {
                builder
                    .set_text(field, text.trim())
                    .map_err(|error| RecordError::Field {
                        field: key.to_string(),
                        detail: format!("{error}: {text:?}"),
                    })?;
            }
            None => builder.carry(&Arc::from(key.trim()), &text),
        }
    }
    let trip = builder
        .finish()
        .map_err(|missing| RecordError::MissingTimestamp(missing.0.name()))?;
    let id = TripId::identify(&trip);
    if !id.fits_key_limits() {
        return Err(RecordError::Field {
            field: "trip_id".to_owned(),
            detail: format!(
                "{} characters, over the {} a table key may hold",
                id.as_str().chars().count(),
                TripId::MAX_CHARS
            ),
        });
    }
    Ok(DecodedRecord { id, trip })
}

/// A member of a record: its key, and its value as text (`None` for `null`).
type Member<'a> = (Cow<'a, str>, Option<Cow<'a, str>>);

/// Any JSON object, through serde_json: escapes, spacing, and the errors for what is not valid.
fn parsed_object(bytes: &[u8]) -> Result<Vec<Member<'_>>, RecordError> {
    let Pairs(pairs) =
        serde_json::from_slice(bytes).map_err(|error| RecordError::Json(error.to_string()))?;
    pairs
        .into_iter()
        .map(|(key, raw)| {
            let text = raw_text(raw).map_err(|detail| RecordError::Field {
                field: key.to_string(),
                detail,
            })?;
            Ok((key, text))
        })
        .collect()
}

/// The fast path for the records this encoder writes: a flat object of strings without escapes,
/// numbers, booleans and nulls. `None` for anything else, which [`parsed_object`] then handles.
fn flat_object(bytes: &[u8]) -> Option<Vec<Member<'_>>> {
    let text = std::str::from_utf8(bytes).ok()?;
    let mut scanner = Scanner { text, position: 0 };
    scanner.expect(b'{')?;
    let mut members = Vec::with_capacity(24);
    if scanner.peek()? == b'}' {
        scanner.position += 1;
    } else {
        loop {
            let key = scanner.string()?;
            scanner.expect(b':')?;
            let value = match scanner.peek()? {
                b'"' => Some(Cow::Borrowed(scanner.string()?)),
                b'n' => scanner.literal("null").map(|_| None)?,
                b't' => Some(Cow::Borrowed(scanner.literal("true")?)),
                b'f' => Some(Cow::Borrowed(scanner.literal("false")?)),
                _ => Some(Cow::Borrowed(scanner.number()?)),
            };
            members.push((Cow::Borrowed(key), value));
            match scanner.peek()? {
                b',' => scanner.position += 1,
                b'}' => {
                    scanner.position += 1;
                    break;
                }
                _ => return None,
            }
        }
    }
    scanner.peek().is_none().then_some(members)
}

/// A cursor over a record's text for [`flat_object`].
struct Scanner<'a> {
    text: &'a str,
    position: usize,
}

impl<'a> Scanner<'a> {
    /// The next byte that is not JSON white space (the cursor stops on it).
    fn peek(&mut self) -> Option<u8> {
        let bytes = self.text.as_bytes();
        while let Some(&byte) = bytes.get(self.position) {
            if !matches!(byte, b' ' | b'\t' | b'\n' | b'\r') {
                return Some(byte);
            }
            self.position += 1;
        }
        None
    }

    fn expect(&mut self, wanted: u8) -> Option<()> {
        (self.peek()? == wanted).then(|| self.position += 1)
    }

    /// A string without escapes or control characters, returned without its quotes.
    fn string(&mut self) -> Option<&'a str> {
        self.expect(b'"')?;
        let start = self.position;
        let length = self.text.as_bytes()[start..]
            .iter()
            .position(|&byte| byte == b'"' || byte == b'\\' || byte < 0x20)?;
        let end = start + length;
        (self.text.as_bytes()[end] == b'"').then_some(())?;
        self.position = end + 1;
        self.text.get(start..end)
    }

    fn literal(&mut self, word: &'static str) -> Option<&'a str> {
        let rest = self.text.get(self.position..)?;
        rest.starts_with(word).then_some(())?;
        self.position += word.len();
        self.text.get(self.position - word.len()..self.position)
    }

    /// A number as JSON writes it: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
    fn number(&mut self) -> Option<&'a str> {
        let bytes = self.text.as_bytes();
        let start = self.position;
        let mut at = start;
        let digits = |at: &mut usize| {
            let from = *at;
            while bytes.get(*at).is_some_and(u8::is_ascii_digit) {
                *at += 1;
            }
            *at > from
        };
        if bytes.get(at) == Some(&b'-') {
            at += 1;
        }
        if bytes.get(at) == Some(&b'0') {
            at += 1;
        } else if !digits(&mut at) {
            return None;
        }
        if bytes.get(at) == Some(&b'.') {
            at += 1;
            digits(&mut at).then_some(())?;
        }
        if matches!(bytes.get(at), Some(b'e' | b'E')) {
            at += 1;
            if matches!(bytes.get(at), Some(b'+' | b'-')) {
                at += 1;
            }
            digits(&mut at).then_some(())?;
        }
        self.position = at;
        self.text.get(start..at)
    }
}

/// A JSON value as text: strings unquoted, numbers and booleans as written, `null` as absent.
fn raw_text(raw: &RawValue) -> Result<Option<Cow<'_, str>>, String> {
    let text = raw.get();
    match text.as_bytes().first() {
        Some(b'"') => serde_json::from_str::<Cow<'_, str>>(text)
            .map(Some)
            .map_err(|error| error.to_string()),
        Some(b'n') => Ok(None),
        Some(b'{' | b'[') => Err("nested values are not trip fields".to_owned()),
        _ => Ok(Some(Cow::Borrowed(text))),
    }
}

/// The members of a JSON object, in order, values left unparsed.
struct Pairs<'a>(Vec<(Cow<'a, str>, &'a RawValue)>);

impl<'de: 'a, 'a> serde::Deserialize<'de> for Pairs<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct PairsVisitor<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for PairsVisitor<'a> {
            type Value = Pairs<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Pairs<'a>, M::Error> {
                let mut pairs = Vec::with_capacity(map.size_hint().unwrap_or(24));
                while let Some(key) = map.next_key::<Cow<'de, str>>()? {
                    let value: &'de RawValue = map.next_value()?;
                    pairs.push((key, value));
                }
                Ok(Pairs(pairs))
            }
        }
        deserializer.deserialize_map(PairsVisitor(std::marker::PhantomData))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    fn decode_str(text: &str) -> Result<DecodedRecord, RecordError> {
        decode(text.as_bytes())
    }

    #[test]
    fn the_tutorial_format_is_accepted() -> Result<(), RecordError> {
        let record = decode_str(
            r#"{"vendor_id": 2, "pickup_datetime": "2018-01-11 18:24:44", "dropoff_datetime": "2018-01-11 18:35:02",
               "passenger_count": 1, "trip_distance": 1.65, "rate_code": 1, "store_and_fwd_flag": "N",
               "pickup_location_id": 230, "dropoff_location_id": 237, "payment_type": 1, "fare_amount": 8.5,
               "tip_amount": 2.06, "total_amount": 12.36, "congestion_surcharge": ""}"#,
        )?;
        assert_eq!(
            record
                .trip
                .decimal(Field::TotalAmount)
                .map(|d| d.to_string()),
            Some("12.36".into())
        );
        assert_eq!(record.trip.get(Field::CongestionSurcharge), None);
        assert_eq!(record.id.as_str().len(), 32);
        Ok(())
    }

    #[test]
    fn a_trip_id_too_long_for_a_table_key_is_not_a_trip_record() {
        let record = format!(
            r#"{{"trip_id":"{}","pickup_datetime":"2025-01-01 00:00:00","dropoff_datetime":"2025-01-01 00:10:00"}}"#,
            "x".repeat(3000)
        );
        let error = decode_str(&record).unwrap_err();
        assert!(error.to_string().contains("3000 characters"), "{error}");
    }

    #[test]
    fn our_encoding_round_trips() -> Result<(), RecordError> {
        let source = r#"{"trip_id":"x-1","vendor_id":"CMT","pickup_datetime":"2009-01-04 02:52:00","dropoff_datetime":"2009-01-04 03:02:00","fare_amount":"8.90","note":"a \"quoted\" one","Total_Amt":"75"}"#;
        let first = decode_str(source)?;
        assert_eq!(
            first.trip.get(Field::TotalAmount),
            None,
            "an alias key stays carried"
        );
        let mut bytes = Vec::new();
        encode(&first.trip, &first.id, &mut bytes);
        let text = String::from_utf8_lossy(&bytes).into_owned();
        assert_eq!(
            text,
            r#"{"trip_id":"x-1","vendor_id":"CMT","pickup_datetime":"2009-01-04T02:52:00","dropoff_datetime":"2009-01-04T03:02:00","fare_amount":8.9,"note":"a \"quoted\" one","Total_Amt":"75"}"#
        );
        assert_eq!(decode(&bytes)?, first);
        Ok(())
    }

    fn both_paths(text: &str) -> (Option<Vec<Member<'_>>>, Option<Vec<Member<'_>>>) {
        (
            flat_object(text.as_bytes()),
            parsed_object(text.as_bytes()).ok(),
        )
    }

    #[test]
    fn the_fast_path_reads_what_serde_json_reads_or_steps_aside() {
        let accepted = [
            r#"{}"#,
            r#" { "a" : 1 , "b":"x y", "c": null, "d": true, "e": -0.5e-3 } "#,
            "{\"k\":\"é ü \u{7f}\",\"k\":\"again\"}",
        ];
        for text in accepted {
            let (fast, slow) = both_paths(text);
            assert!(fast.is_some(), "{text}");
            assert_eq!(fast, slow, "{text}");
        }
        let declined = [
            r#"{"a":"x\"y"}"#,
            r#"{"a":[1]}"#,
            r#"{"a":01}"#,
            r#"{"a":1.}"#,
            r#"{"a":1}x"#,
            r#"{"a":nul}"#,
            r#"{"a" 1}"#,
            r#"{"a":1,}"#,
            "",
            "[1]",
            "\u{feff}{}",
        ];
        for text in declined {
            assert_eq!(flat_object(text.as_bytes()), None, "{text}");
        }
    }

    proptest::proptest! {
        #[test]
        fn fast_and_serde_paths_agree(
            members in proptest::collection::vec(
                ("[a-z\\\\\" ]{0,6}", "[0-9a-z\\\\\" .eE+-]{0,8}", 0u8..4),
                0..6,
            ),
            space in "[ \t\r\n]{0,2}",
        ) {
            let mut text = format!("{space}{{");
            for (index, (key, value, kind)) in members.iter().enumerate() {
                if index > 0 {
                    text.push_str(&format!("{space},"));
                }
                let value = match kind {
                    0 => format!("\"{value}\""),
                    1 => "null".to_owned(),
                    2 => value.clone(),
                    _ => "true".to_owned(),
                };
                text.push_str(&format!("\"{key}\"{space}:{space}{value}"));
            }
            text.push_str(&format!("}}{space}"));
            let (fast, slow) = both_paths(&text);
            if fast.is_some() {
                proptest::prop_assert_eq!(fast, slow, "{}", text);
            }
        }
    }

    #[test]
    fn bad_records_say_what_is_wrong() {
        assert!(matches!(decode_str("[1,2]"), Err(RecordError::Json(_))));
        assert!(matches!(
            decode_str("{\"pickup_datetime\":\"2018-01-11 18:24:44\"}"),
            Err(RecordError::MissingTimestamp("dropoff_datetime"))
        ));
        let error =
            decode_str(r#"{"pickup_datetime":"2018-01-11 18:24:44","dropoff_datetime":"x"}"#);
        assert!(
            matches!(error, Err(RecordError::Field { ref field, .. }) if field == "dropoff_datetime"),
            "{error:?}"
        );
    }
}
