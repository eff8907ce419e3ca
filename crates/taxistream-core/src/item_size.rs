//! DynamoDB's measure of an item, and its 400 KB limit. A trip whose largest item could pass it
//! is rejected where it is read (`item_too_large`), so that a run on one machine and the
//! pipeline on AWS keep the same trips.

use crate::analytics::{AttributeValue, Item, analyse};
use crate::identity::TripId;
use crate::settings::AnalysisRules;
use crate::trip::{Trip, Value};
use rust_decimal::Decimal;

/// DynamoDB's limit on an item's size.
pub const MAX_ITEM_BYTES: usize = 400 * 1024;
/// More than every attribute name and every value other than text take in one item.
const OTHER_ATTRIBUTES_BYTES: usize = 1024;
/// More than a category label or the threshold can differ by between two sets of rules.
const RULES_SLACK_BYTES: usize = 64;

/// The size DynamoDB counts for an item: each attribute's name and value, `trip_id` included.
pub fn item_size(item: &Item) -> usize {
    let attributes: usize = item
        .attributes
        .iter()
        .map(|(name, value)| name.len() + value_size(value))
        .sum();
    "trip_id".len() + item.trip_id.len() + attributes
}

/// The size of the largest item `trip` can make under any rules, at least (every analysis
/// applying). Trips without long text are told apart without building items.
pub fn largest_item_size(trip: &Trip, id: &TripId) -> usize {
    let text: usize = trip
        .fields()
        .map(|(_, value)| match value {
            Value::Text(text) => text.len(),
            _ => 0,
        })
        .sum();
    let bound = "trip_id".len() + id.as_str().len() + text + OTHER_ATTRIBUTES_BYTES;
    if bound <= MAX_ITEM_BYTES {
        return bound;
    }
    let mut every_trip_high_value = AnalysisRules::default();
    every_trip_high_value.high_value_total = Decimal::MIN;
    let analysis = analyse(trip, id, &every_trip_high_value);
    let largest = analysis.items.iter().map(item_size).max().unwrap_or(0);
    largest + RULES_SLACK_BYTES
}

fn value_size(value: &AttributeValue) -> usize {
    match value {
        AttributeValue::Integer(_) | AttributeValue::Decimal(_) => number_size(&value.to_text()),
        AttributeValue::Text(text) => text.len(),
        AttributeValue::Timestamp(_) => value.to_text().len(),
        AttributeValue::Label(label) => label.len(),
    }
}

/// A number's size as DynamoDB counts it: a byte per two significant digits, plus one.
fn number_size(text: &str) -> usize {
    let digits: Vec<u8> = text.bytes().filter(u8::is_ascii_digit).collect();
    let start = digits.iter().position(|&digit| digit != b'0');
    let end = digits.iter().rposition(|&digit| digit != b'0');
    let significant = match (start, end) {
        (Some(start), Some(end)) => end - start + 1,
        _ => 1,
    };
    significant.div_ceil(2) + 1
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::analytics::Table;
    use crate::schema::Field;
    use crate::trip::TripBuilder;
    use std::sync::Arc;

    #[test]
    fn numbers_count_a_byte_per_two_significant_digits_plus_one() {
        assert_eq!(number_size("0"), 2);
        assert_eq!(number_size("100"), 2);
        assert_eq!(number_size("12.5"), 3);
        assert_eq!(number_size("-0.0012345"), 4);
    }

    #[test]
    fn an_item_counts_every_name_and_value() {
        let item = Item {
            table: Table::TripDurationAnalysis,
            trip_id: Arc::from("abc"),
            attributes: vec![
                ("vendor_id", AttributeValue::Text("xy".into())),
                ("duration_category", AttributeValue::Label("short")),
                ("duration_minutes", AttributeValue::Integer(12)),
            ],
        };
        assert_eq!(item_size(&item), 7 + 3 + 9 + 2 + 17 + 5 + 16 + 2);
    }

    fn trip_with_vendor(vendor: &str) -> Trip {
        let mut builder = TripBuilder::new();
        for (field, text) in [
            (Field::PickupDatetime, "2025-01-01 00:00:00"),
            (Field::DropoffDatetime, "2025-01-01 00:10:00"),
            (Field::TotalAmount, "15"),
            (Field::TripDistance, "2.5"),
            (Field::FareAmount, "12"),
            (Field::VendorId, vendor),
        ] {
            builder.set_text(field, text).unwrap();
        }
        builder.finish().unwrap()
    }

    #[test]
    fn the_largest_item_is_at_least_any_item_under_any_rules() {
        let trip = trip_with_vendor(&"v".repeat(MAX_ITEM_BYTES));
        let id = TripId::identify(&trip);
        let largest = largest_item_size(&trip, &id);
        let items = analyse(&trip, &id, &AnalysisRules::default()).items;
        assert_eq!(items.len(), 2, "not high value under the default rules");
        assert!(items.iter().all(|item| item_size(item) <= largest));
        assert!(largest > MAX_ITEM_BYTES);
        let small = trip_with_vendor("1");
        assert!(largest_item_size(&small, &TripId::identify(&small)) <= MAX_ITEM_BYTES);
    }
}
