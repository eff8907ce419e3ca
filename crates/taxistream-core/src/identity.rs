//! Trip identity: the id the data gives, or a stable 128-bit hash of the whole trip.
//!
//! The generated id is the MD5 digest, as 32 lowercase hex digits, of this byte encoding (version 1):
//!
//! ```text
//! "taxistream.trip.v1" RS
//! for each present canonical field except trip_id, in canonical order:  field-number value RS
//! for each carried column, by lowercase name then value:                name US value RS
//! ```
//!
//! where RS is byte 0x1E, US is byte 0x1F, field-number is one byte, the field's 1-based position in
//! the canonical order (`vendor_id` = 2 … `total_amount` = 22, see `schema.rs`), carried names are
//! lowercase, and values are normalized: integers in decimal, decimals without trailing fractional
//! zeros (`1.0` → `1`, `.50` → `0.5`), timestamps as ISO 8601 (`2025-01-01T00:18:38`, fraction only
//! when non-zero), text as written (trimmed). Absent fields are left out. So a CSV row and the same
//! row in Parquet get the same id, and only rows equal in every column share one. Changing this
//! encoding changes every id: don't.

use crate::schema::Field;
use crate::speed::md5_lanes;
use crate::trip::{Trip, Value};
use md5::{Digest, Md5};

const RECORD_SEPARATOR: u8 = 0x1e;
const UNIT_SEPARATOR: u8 = 0x1f;
const DOMAIN: &str = "taxistream.trip.v1";

/// A trip's id and a 128-bit fingerprint of it for duplicate detection.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TripId {
    text: String,
    fingerprint: u128,
}

impl TripId {
    /// The id: the data's own `trip_id`, or the generated one.
    pub fn identify(trip: &Trip) -> TripId {
        match trip.given_id() {
            Some(given) => TripId::given(given),
            None => TripId::generate(trip),
        }
    }

    /// The longest id: a Kinesis partition key holds at most 256 characters (and a DynamoDB
    /// key 2,048 bytes). Generated ids have 32.
    pub const MAX_CHARS: usize = 256;

    /// True when the id fits [`TripId::MAX_CHARS`].
    pub fn fits_key_limits(&self) -> bool {
        self.text.len() <= Self::MAX_CHARS || self.text.chars().count() <= Self::MAX_CHARS
    }

    /// An id taken from the data.
    pub fn given(text: &str) -> TripId {
        TripId {
            text: text.to_owned(),
            fingerprint: fingerprint_of(text),
        }
    }

    /// The stable hash id of a trip without one (see the module docs for the encoding).
    pub fn generate(trip: &Trip) -> TripId {
        // The whole encoding is built in one buffer and hashed once: many small hasher updates
        // cost more than the hashing itself. The buffer is the thread's own, reused from trip
        // to trip.
        let digest: [u8; 16] = ENCODING.with_borrow_mut(|scratch| {
            scratch.bytes.clear();
            encode(trip, &mut scratch.bytes, &mut scratch.order);
            let digest = Md5::digest(&scratch.bytes[..]).into();
            scratch.shrink_if_huge();
            digest
        });
        TripId::from_digest(digest)
    }

    /// The ids of many trips, in order: each the same as [`TripId::identify`] gives, but the
    /// generated ones are hashed 8 at a time, several times faster per trip than one by one.
    pub fn identify_all<'a>(trips: impl IntoIterator<Item = &'a Trip>) -> Vec<TripId> {
        let trips: Vec<&Trip> = trips.into_iter().collect();
        let digests = ENCODING.with_borrow_mut(|scratch| {
            scratch.bytes.clear();
            scratch.ends.clear();
            for trip in trips.iter().filter(|trip| trip.given_id().is_none()) {
                encode(trip, &mut scratch.bytes, &mut scratch.order);
                scratch.ends.push(scratch.bytes.len());
            }
            let mut start = 0;
            let encodings: Vec<&[u8]> = scratch
                .ends
                .iter()
                .map(|&end| {
                    let encoding = &scratch.bytes[start..end];
                    start = end;
                    encoding
                })
                .collect();
            let digests = md5_lanes::digest_all(&encodings);
            scratch.shrink_if_huge();
            digests
        });
        // `digest_all` gives one digest per encoding (tested), so each trip without an id has
        // one; hashing the trip alone would give the same id, so the result is right either way.
        let mut digests = TripId::from_digests(&digests).into_iter();
        trips
            .into_iter()
            .map(|trip| match trip.given_id() {
                Some(given) => TripId::given(given),
                None => digests.next().unwrap_or_else(|| TripId::generate(trip)),
            })
            .collect()
    }

    fn from_digest(digest: [u8; 16]) -> TripId {
        let text = hex_text(digest);
        let fingerprint = fingerprint_of(&text);
        TripId { text, fingerprint }
    }

    /// The ids of many digests, in order, as [`TripId::from_digest`] gives each; their texts'
    /// fingerprints are hashed 8 at a time.
    fn from_digests(digests: &[[u8; 16]]) -> Vec<TripId> {
        let texts: Vec<String> = digests.iter().map(|digest| hex_text(*digest)).collect();
        let messages: Vec<&[u8]> = texts.iter().map(|text| text.as_bytes()).collect();
        let fingerprints = md5_lanes::digest_all(&messages);
        texts
            .into_iter()
            .zip(fingerprints)
            .map(|(text, fingerprint)| TripId {
                text,
                fingerprint: u128::from_be_bytes(fingerprint),
            })
            .collect()
    }

    /// The id as text (also the Kinesis partition key).
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// A 128-bit fingerprint: equal ids have equal fingerprints. It is the MD5 of the id's text
    /// as a big-endian number: the hash key Kinesis routes a record by when the id is its
    /// partition key.
    pub fn fingerprint(&self) -> u128 {
        self.fingerprint
    }
}

/// Appends the trip's id encoding (see the module docs) to `encoding`; `order` is scratch space.
/// Field numbers, RS and US are single-byte chars.
fn encode(trip: &Trip, encoding: &mut Vec<u8>, order: &mut Vec<usize>) {
    encoding.extend_from_slice(DOMAIN.as_bytes());
    encoding.push(RECORD_SEPARATOR);
    for (field, value) in trip.fields() {
        if field == Field::TripId {
            continue;
        }
        encoding.push(field_number(field));
        write_normalized_bytes(encoding, value);
        encoding.push(RECORD_SEPARATOR);
    }
    let carried = trip.carried();
    if carried.is_empty() {
        return;
    }
    // Sorted by (lowercase name, value), compared without building lowercase copies.
    order.clear();
    order.extend(0..carried.len());
    order.sort_unstable_by(|&a, &b| {
        let ((name_a, value_a), (name_b, value_b)) = (&carried[a], &carried[b]);
        lowercase_bytes(name_a)
            .cmp(lowercase_bytes(name_b))
            .then_with(|| value_a.cmp(value_b))
    });
    for &index in order.iter() {
        let (name, value) = &carried[index];
        encoding.extend(lowercase_bytes(name));
        encoding.push(UNIT_SEPARATOR);
        encoding.extend_from_slice(value.as_bytes());
        encoding.push(RECORD_SEPARATOR);
    }
}

/// A thread's reusable buffers for the id encodings.
#[derive(Default)]
struct Scratch {
    /// One encoding, or a chunk's encodings end to end.
    bytes: Vec<u8>,
    /// Where each encoding of a chunk ends in `bytes`.
    ends: Vec<usize>,
    order: Vec<usize>,
}

impl Scratch {
    /// A huge row (a 1 MiB carried column) does not keep its buffer for the thread's life.
    fn shrink_if_huge(&mut self) {
        if self.bytes.capacity() > 1024 * 1024 {
            self.bytes = Vec::with_capacity(64 * 1024);
        }
    }
}

thread_local! {
    static ENCODING: std::cell::RefCell<Scratch> = std::cell::RefCell::new(Scratch {
        bytes: Vec::with_capacity(64 * 1024),
        ends: Vec::new(),
        order: Vec::new(),
    });
}

/// The bytes of `name.to_ascii_lowercase()`, without building it.
fn lowercase_bytes(name: &str) -> impl Iterator<Item = u8> + '_ {
    name.bytes().map(|byte| byte.to_ascii_lowercase())
}

/// The field's 1-based position in the canonical order.
fn field_number(field: Field) -> u8 {
    u8::try_from(field.index() + 1).unwrap_or(u8::MAX)
}

/// A digest as 32 lowercase hex digits.
fn hex_text(digest: [u8; 16]) -> String {
    let mut text = String::with_capacity(32);
    crate::speed::text::push_hex128(&mut text, u128::from_be_bytes(digest));
    text
}

/// The MD5 digest of the id's text: equal ids have equal fingerprints, and different ones differ
/// but by an MD5 collision. (The text is hashed even when it is a generated id's hex digest:
/// reading 32 hex digits as the fingerprint would let a given id equal to the digest of another
/// id's text share that other id's fingerprint.)
fn fingerprint_of(text: &str) -> u128 {
    u128::from_be_bytes(Md5::digest(text.as_bytes()).into())
}

/// Writes a value's normalized text form (the one used in ids, records and tables).
pub fn write_normalized(out: &mut String, value: &Value) {
    match value {
        Value::Integer(value) => crate::speed::text::push_integer(out, *value),
        Value::Decimal(value) => crate::speed::text::push_decimal(out, *value),
        Value::Text(value) => out.push_str(value),
        Value::Timestamp(value) => value.push_iso(out),
    }
}

/// [`write_normalized`] as bytes (for the id's encoding and the stream record).
pub fn write_normalized_bytes(out: &mut Vec<u8>, value: &Value) {
    match value {
        Value::Integer(value) => crate::speed::text::write_integer(out, *value),
        Value::Decimal(value) => crate::speed::text::write_decimal(out, *value),
        Value::Text(value) => out.extend_from_slice(value.as_bytes()),
        Value::Timestamp(value) => value.write_iso(out),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::trip::TripBuilder;

    fn trip(rows: &[(Field, &str)], carried: &[(&str, &str)]) -> Trip {
        let mut builder = TripBuilder::new();
        for (field, text) in rows {
            assert!(builder.set_text(*field, text).is_ok());
        }
        for (name, text) in carried {
            builder.carry(&std::sync::Arc::from(*name), text);
        }
        builder
            .finish()
            .unwrap_or_else(|_| unreachable!("fixture has timestamps"))
    }

    const FIXED: &[(Field, &str)] = &[
        (Field::VendorId, "1"),
        (Field::PickupDatetime, "2025-01-01 00:18:38.000000000"),
        (Field::DropoffDatetime, "2025-01-01 00:26:59.000000000"),
        (Field::PassengerCount, "1"),
        (Field::TripDistance, "1.6"),
        (Field::FareAmount, "10"),
        (Field::TotalAmount, "18"),
    ];

    /// The expected id was computed outside this code, from the documented encoding, with Python:
    /// `hashlib.md5(b"taxistream.trip.v1\x1e" + b"".join(bytes([n]) + v + b"\x1e" for n, v in
    /// [(2, b"1"), (3, b"2025-01-01T00:18:38"), (4, b"2025-01-01T00:26:59"), (5, b"1"), (6, b"1.6"),
    /// (12, b"10"), (22, b"18")])).hexdigest()`.
    #[test]
    fn a_fixed_trip_has_a_fixed_id() {
        let id = TripId::identify(&trip(FIXED, &[]));
        assert_eq!(id.as_str(), "4d2e8d0616a5614393ac3dbac63e4a11");
    }

    #[test]
    fn spelling_does_not_change_the_id_but_any_value_does() {
        let base = TripId::identify(&trip(FIXED, &[("pickup_longitude", "-73.99")]));
        let mut respelled = FIXED.to_vec();
        respelled[4] = (Field::TripDistance, "1.60");
        respelled[1] = (Field::PickupDatetime, "2025-01-01T00:18:38");
        let same = TripId::identify(&trip(&respelled, &[("Pickup_Longitude", "-73.99")]));
        assert_eq!(base, same);
        let other = TripId::identify(&trip(FIXED, &[("pickup_longitude", "-73.98")]));
        assert_ne!(base, other);
    }

    #[test]
    fn a_generated_id_read_back_as_given_is_the_same_id() {
        let generated = TripId::identify(&trip(FIXED, &[]));
        assert_eq!(TripId::given(generated.as_str()), generated);
    }

    #[test]
    fn ids_of_many_trips_are_each_trips_id() {
        let mut given = FIXED.to_vec();
        given.push((Field::TripId, "T-42"));
        let trips: Vec<Trip> = (0..21)
            .map(|n| {
                if n % 5 == 0 {
                    return trip(&given, &[]);
                }
                let note = "x".repeat(n * 7);
                trip(FIXED, &[("note", note.as_str()), ("Extra", "1")])
            })
            .collect();
        let one_by_one: Vec<TripId> = trips.iter().map(TripId::identify).collect();
        assert_eq!(TripId::identify_all(&trips), one_by_one);
        assert!(TripId::identify_all(&[]).is_empty());
    }

    #[test]
    fn a_given_id_equal_to_the_digest_of_another_ids_text_has_another_fingerprint() {
        let plain = TripId::given("T-42");
        let digest = u128::from_be_bytes(Md5::digest(b"T-42").into());
        let mut hex = String::new();
        crate::speed::text::push_hex128(&mut hex, digest);
        let crafted = TripId::given(&hex);
        assert_ne!(plain.as_str(), crafted.as_str());
        assert_ne!(plain.fingerprint(), crafted.fingerprint());
    }

    #[test]
    fn a_given_id_is_kept() {
        let mut rows = FIXED.to_vec();
        rows.push((Field::TripId, "T-42"));
        assert_eq!(TripId::identify(&trip(&rows, &[])).as_str(), "T-42");
    }
}
