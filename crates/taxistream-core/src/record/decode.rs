//! Record bytes (ours or the tutorial's) back into a trip and its id: the flat objects this
//! encoder writes by the fast path of `flat`, any other JSON object through serde_json.

use super::flat::flat_object;
use super::{DecodedRecord, Member, RecordError};
use crate::identity::TripId;
use crate::schema::{ColumnMap, ColumnTarget, FIELD_COUNT, Field};
use crate::trip::{Trip, TripBuilder};
use serde::de::{Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

/// Decodes record bytes (ours, or another producer's) into a trip and its id.
pub fn decode(bytes: &[u8]) -> Result<DecodedRecord, RecordError> {
    let pairs = match flat_object(bytes) {
        Some(pairs) => pairs,
        None => parsed_object(bytes)?,
    };
    // Ours carry a `trip_id` (first); another producer's records are read as a file's rows are.
    let trip = if pairs.iter().any(|(key, _)| key == "trip_id") {
        own_trip(pairs)?
    } else {
        foreign_trip(&pairs)?
    };
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

/// A record this encoder wrote: fields by their canonical names, every other key carried.
fn own_trip(pairs: Vec<Member<'_>>) -> Result<Trip, RecordError> {
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
    builder
        .finish()
        .map_err(|missing| RecordError::MissingTimestamp(missing.0.name()))
}

/// A record of another producer (the tutorial's, fed any TLC file): its keys mapped as a file's
/// header is (every TLC spelling), values trimmed, empty ones absent, as `taxistream run` reads
/// that file's rows.
fn foreign_trip(pairs: &[Member<'_>]) -> Result<Trip, RecordError> {
    let keys: Vec<&str> = pairs.iter().map(|(key, _)| key.as_ref()).collect();
    let columns = ColumnMap::new(&keys);
    let mut builder = TripBuilder::new();
    for (index, (key, raw)) in pairs.iter().enumerate() {
        let Some(text) = raw
            .as_deref()
            .map(str::trim_ascii)
            .filter(|text| !text.is_empty())
        else {
            continue;
        };
        match columns.target(index) {
            ColumnTarget::Field(field) => {
                builder
                    .set_text(field, text)
                    .map_err(|error| RecordError::Field {
                        field: key.to_string(),
                        detail: format!("{error}: {text:?}"),
                    })?;
            }
            ColumnTarget::Carried => builder.carry(columns.name(index), text),
        }
    }
    builder
        .finish()
        .map_err(|missing| RecordError::MissingTimestamp(missing.0.name()))
}

/// Any JSON object, through serde_json: escapes, spacing, and the errors for what is not valid.
pub(super) fn parsed_object(bytes: &[u8]) -> Result<Vec<Member<'_>>, RecordError> {
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
    use crate::record::encode;

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
    fn another_producers_record_of_a_tlc_row_is_the_trip_run_reads_from_that_row() {
        let header = "VendorID,tpep_pickup_datetime,tpep_dropoff_datetime,passenger_count,trip_distance,RatecodeID,store_and_fwd_flag,PULocationID,DOLocationID,payment_type,fare_amount,extra,mta_tax,tip_amount,tolls_amount,improvement_surcharge,total_amount,congestion_surcharge,Airport_fee";
        let row = "2,2024-01-01 00:57:55,2024-01-01 01:17:43,1, 1.72,1,N,186,79,2,17.7,1,0.5,0,0,1,22.7,2.5,";
        let text = format!("{header}\n{row}\n");
        let read: Vec<_> = crate::read::open_stream(
            Box::new(std::io::Cursor::new(text.into_bytes())),
            "f.csv".to_owned(),
            1,
        )
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
        let crate::read::ReadItem::Trip { trip, id, .. } = &read[0] else {
            panic!("{read:?}");
        };
        // As the tutorial's producer sends a row: the file's own names, every value a string.
        let members: Vec<String> = header
            .split(',')
            .zip(row.split(','))
            .map(|(name, value)| format!("{name:?}: {value:?}"))
            .collect();
        let record = decode_str(&format!("{{{}}}", members.join(", "))).unwrap();
        assert_eq!((&record.trip, &record.id), (trip, id));
        // Numbers as JSON numbers give the same trip.
        let numbers = r#"{"VendorID": 2, "tpep_pickup_datetime": "2024-01-01 00:57:55", "tpep_dropoff_datetime": "2024-01-01 01:17:43", "passenger_count": 1, "trip_distance": 1.72, "RatecodeID": 1, "store_and_fwd_flag": "N", "PULocationID": 186, "DOLocationID": 79, "payment_type": 2, "fare_amount": 17.7, "extra": 1, "mta_tax": 0.5, "tip_amount": 0, "tolls_amount": 0, "improvement_surcharge": 1, "total_amount": 22.7, "congestion_surcharge": 2.5, "Airport_fee": null}"#;
        assert_eq!(decode_str(numbers).unwrap(), record);
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
