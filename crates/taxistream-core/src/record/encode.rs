//! A trip and its id as record bytes, and a bound on their size without encoding them.

use super::MAX_RECORD_BYTES;
use crate::identity::{TripId, write_normalized_bytes};
use crate::schema::Field;
use crate::trip::{Trip, Value};

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
