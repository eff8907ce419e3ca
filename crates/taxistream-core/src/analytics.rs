//! The three analyses of the contract (§3): duration, high value, fare per mile, as table items.

pub use crate::categories::{DurationCategory, Profitability};
use crate::identity::TripId;
use crate::number::divide_rounded;
use crate::schema::Field;
use crate::settings::AnalysisRules;
use crate::speed::decimal_order::compare;
use crate::timestamp::LocalTimestamp;
use crate::trip::{Trip, Value};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// One of the three result tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Table {
    /// `high_value_trips`: trips whose total is over the threshold.
    HighValueTrips,
    /// `trip_duration_analysis`: every trip's duration and category.
    TripDurationAnalysis,
    /// `distance_to_fare_ratio`: fare per mile and profitability tier.
    DistanceToFareRatio,
}

/// Attributes every item carries where known, after `trip_id`.
const COMMON: [&str; 5] = [
    "pickup_datetime",
    "dropoff_datetime",
    "vendor_id",
    "pickup_location_id",
    "dropoff_location_id",
];

impl Table {
    /// The three tables, in a stable order.
    pub const ALL: [Table; 3] = [
        Table::HighValueTrips,
        Table::TripDurationAnalysis,
        Table::DistanceToFareRatio,
    ];

    /// The table's position in [`Table::ALL`].
    pub const fn index(self) -> usize {
        match self {
            Table::HighValueTrips => 0,
            Table::TripDurationAnalysis => 1,
            Table::DistanceToFareRatio => 2,
        }
    }

    /// The table's name, as in the tutorial.
    pub const fn name(self) -> &'static str {
        match self {
            Table::HighValueTrips => "high_value_trips",
            Table::TripDurationAnalysis => "trip_duration_analysis",
            Table::DistanceToFareRatio => "distance_to_fare_ratio",
        }
    }

    /// The attributes an item of this table may have besides `trip_id`, in column order.
    pub fn attributes(self) -> Vec<&'static str> {
        let specific: &[&str] = match self {
            Table::HighValueTrips => &[
                "total_amount",
                "fare_amount",
                "tip_amount",
                "trip_distance",
                "passenger_count",
                "payment_type",
                "threshold",
            ],
            Table::TripDurationAnalysis => &["duration_minutes", "duration_category"],
            Table::DistanceToFareRatio => &[
                "trip_distance",
                "fare_amount",
                "fare_per_mile",
                "profitability",
            ],
        };
        COMMON.iter().chain(specific).copied().collect()
    }
}

/// An attribute value: a number (DynamoDB `N`) or a string (DynamoDB `S`), kept typed until written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttributeValue {
    /// An integer number.
    Integer(i64),
    /// An exact, normalized decimal number.
    Decimal(Decimal),
    /// A string.
    Text(Box<str>),
    /// A timestamp, as an ISO 8601 string.
    Timestamp(LocalTimestamp),
    /// A fixed string, such as a category name.
    Label(&'static str),
}

impl AttributeValue {
    /// True for DynamoDB `N`, false for `S`.
    pub fn is_number(&self) -> bool {
        matches!(
            self,
            AttributeValue::Integer(_) | AttributeValue::Decimal(_)
        )
    }

    /// Appends the value's text: exact normalized decimal for numbers, the string for strings.
    pub fn push_text(&self, out: &mut String) {
        match self {
            AttributeValue::Integer(value) => crate::speed::text::push_integer(out, *value),
            AttributeValue::Decimal(value) => crate::speed::text::push_decimal(out, *value),
            AttributeValue::Text(text) => out.push_str(text),
            AttributeValue::Timestamp(value) => value.push_iso(out),
            AttributeValue::Label(label) => out.push_str(label),
        }
    }

    /// The value's text (see [`AttributeValue::push_text`]).
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        self.push_text(&mut out);
        out
    }
}

/// One item to write: a table, the trip id (partition key) and the other attributes. An item
/// without attributes is an absence (see [`Item::absence`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// The table the item goes to.
    pub table: Table,
    /// The partition key.
    pub trip_id: Arc<str>,
    /// The other attributes, in the table's column order, present ones only.
    pub attributes: Vec<(&'static str, AttributeValue)>,
}

impl Item {
    /// The trip has no item in `table`: writing this deletes the table's item of `trip_id`, left
    /// by an earlier version of a trip whose id the data gives.
    pub fn absence(table: Table, trip_id: Arc<str>) -> Item {
        Item {
            table,
            trip_id,
            attributes: Vec::new(),
        }
    }

    /// True for an [`Item::absence`]. Every analysis item has attributes (at least its
    /// category, tier or threshold), so none is taken for one.
    pub fn is_absence(&self) -> bool {
        self.attributes.is_empty()
    }
}

/// What the analyses made of one trip.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TripAnalysis {
    /// The duration class.
    pub duration_category: DurationCategory,
    /// The tier, when a fare-per-mile item was written.
    pub profitability: Option<Profitability>,
    /// The items to write: always a duration item, and the others when they apply; for a trip
    /// whose id the data gives, an absence for each table it does not qualify for.
    pub items: Vec<Item>,
}

/// Analyses one trip under the given rules.
pub fn analyse(trip: &Trip, id: &TripId, rules: &AnalysisRules) -> TripAnalysis {
    let id: Arc<str> = Arc::from(id.as_str());
    let id = &id;
    let common = common_attributes(trip);
    let mut items = Vec::with_capacity(3);

    if let Some(total) = trip.decimal(Field::TotalAmount)
        && compare(total, rules.high_value_total).is_gt()
    {
        let mut attributes = with_common(&common, 7);
        for field in [
            Field::TotalAmount,
            Field::FareAmount,
            Field::TipAmount,
            Field::TripDistance,
            Field::PassengerCount,
            Field::PaymentType,
        ] {
            push_field(&mut attributes, trip, field);
        }
        attributes.push(("threshold", number(rules.high_value_total)));
        items.push(item(Table::HighValueTrips, id, attributes));
    }

    let nanos = trip.dropoff().nanos_since(trip.pickup());
    let duration_category = rules.duration_category(nanos);
    let mut attributes = with_common(&common, 2);
    if let Some(minutes) = duration_minutes(nanos) {
        attributes.push(("duration_minutes", number(minutes)));
    }
    attributes.push((
        "duration_category",
        AttributeValue::Label(duration_category.name()),
    ));
    items.push(item(Table::TripDurationAnalysis, id, attributes));

    let mut profitability = None;
    if let (Some(distance), Some(fare)) = (
        trip.decimal(Field::TripDistance),
        trip.decimal(Field::FareAmount),
    ) && distance.is_sign_positive()
        && !distance.is_zero()
    {
        let tier = rules.profitability(fare, distance);
        let mut attributes = common;
        attributes.push(("trip_distance", number(distance)));
        attributes.push(("fare_amount", number(fare)));
        if let Some(per_mile) = fare_per_mile(fare, distance) {
            attributes.push(("fare_per_mile", number(per_mile)));
        }
        attributes.push(("profitability", AttributeValue::Label(tier.name())));
        items.push(item(Table::DistanceToFareRatio, id, attributes));
        profitability = Some(tier);
    }

    // The data's own id may come again with other content: its tables then follow the last
    // version, so an item an earlier version left in a table this one does not qualify for goes.
    if has_its_own_id(trip) {
        for table in Table::ALL {
            if !items.iter().any(|item| item.table == table) {
                items.push(Item::absence(table, Arc::clone(id)));
            }
        }
    }
    TripAnalysis {
        duration_category,
        profitability,
        items,
    }
}

/// True when the trip's id is the data's own, not the one generated from its content (which a
/// stream record carries too): only then can another version of it come.
fn has_its_own_id(trip: &Trip) -> bool {
    trip.given_id()
        .is_some_and(|given| TripId::generate(trip).as_str() != given)
}

/// Duration in minutes, rounded half away from zero to 2 decimals.
fn duration_minutes(nanos: i128) -> Option<Decimal> {
    // Hundredths of a minute: nanos × 100 / 60e9, in exact integer arithmetic.
    let hundredths = divide_rounded(nanos, 600_000_000);
    Decimal::try_from_i128_with_scale(hundredths, 2).ok()
}

/// `fare / distance` rounded half away from zero to 4 decimals, exactly (`distance` > 0).
fn fare_per_mile(fare: Decimal, distance: Decimal) -> Option<Decimal> {
    // fare = f·10^-a, distance = d·10^-b, so fare/distance·10^4 = f·10^(4+b-a) / d.
    let exponent = 4 + i64::from(distance.scale()) - i64::from(fare.scale());
    let (mut numerator, mut denominator) = (fare.mantissa(), distance.mantissa());
    let power = 10i128.checked_pow(u32::try_from(exponent.unsigned_abs()).ok()?)?;
    if exponent >= 0 {
        numerator = numerator.checked_mul(power)?;
    } else {
        denominator = denominator.checked_mul(power)?;
    }
    Decimal::try_from_i128_with_scale(divide_rounded(numerator, denominator), 4).ok()
}

/// The common attributes, with room for `more`.
fn with_common(
    common: &[(&'static str, AttributeValue)],
    more: usize,
) -> Vec<(&'static str, AttributeValue)> {
    let mut attributes = Vec::with_capacity(common.len() + more);
    attributes.extend_from_slice(common);
    attributes
}

fn common_attributes(trip: &Trip) -> Vec<(&'static str, AttributeValue)> {
    let mut attributes = Vec::with_capacity(COMMON.len() + 4);
    for field in [
        Field::PickupDatetime,
        Field::DropoffDatetime,
        Field::VendorId,
        Field::PickupLocationId,
        Field::DropoffLocationId,
    ] {
        push_field(&mut attributes, trip, field);
    }
    attributes
}

fn push_field(attributes: &mut Vec<(&'static str, AttributeValue)>, trip: &Trip, field: Field) {
    let Some(value) = trip.get(field) else {
        return;
    };
    let value = match value {
        Value::Integer(value) => AttributeValue::Integer(*value),
        Value::Decimal(value) => AttributeValue::Decimal(*value),
        Value::Text(text) => AttributeValue::Text(text.clone()),
        Value::Timestamp(value) => AttributeValue::Timestamp(*value),
    };
    attributes.push((field.name(), value));
}

fn number(value: Decimal) -> AttributeValue {
    AttributeValue::Decimal(value.normalize())
}

fn item(table: Table, id: &Arc<str>, attributes: Vec<(&'static str, AttributeValue)>) -> Item {
    Item {
        table,
        trip_id: Arc::clone(id),
        attributes,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use rust_decimal::RoundingStrategy;

    fn d(text: &str) -> Decimal {
        text.parse().unwrap()
    }

    #[test]
    fn fare_per_mile_is_the_exact_ratio_rounded_half_away_from_zero() {
        for (fare, distance) in [
            ("10", "1.6"),
            ("5.1", "0.5"),
            ("-52", "0.01"),
            ("0.00005", "1"),
            ("7", "3"),
            ("12.36", "0.07"),
            ("1000000", "0.0001"),
        ] {
            let expected = (d(fare) / d(distance))
                .round_dp_with_strategy(4, RoundingStrategy::MidpointAwayFromZero);
            assert_eq!(
                fare_per_mile(d(fare), d(distance)),
                Some(expected),
                "{fare}/{distance}"
            );
        }
        assert_eq!(
            fare_per_mile(d("0.00005"), d("1")).map(|v| v.normalize().to_string()),
            Some("0.0001".into())
        );
    }

    #[test]
    fn duration_minutes_round_half_away_from_zero() {
        let minute = 60_000_000_000i128;
        assert_eq!(
            duration_minutes(8 * minute + 21_000_000_000).map(|v| v.normalize().to_string()),
            Some("8.35".into())
        );
        assert_eq!(
            duration_minutes(300_000_000).map(|v| v.to_string()),
            Some("0.01".into())
        );
        assert_eq!(
            duration_minutes(-300_000_000).map(|v| v.to_string()),
            Some("-0.01".into())
        );
        assert_eq!(
            duration_minutes(299_999_999).map(|v| v.to_string()),
            Some("0.00".into())
        );
    }

    fn trip(id: Option<&str>, total: &str) -> Trip {
        let mut builder = crate::trip::TripBuilder::new();
        let mut fields = vec![
            (Field::PickupDatetime, "2025-01-01 00:00:00"),
            (Field::DropoffDatetime, "2025-01-01 00:10:00"),
            (Field::TotalAmount, total),
        ];
        fields.extend(id.map(|id| (Field::TripId, id)));
        for (field, text) in fields {
            builder.set_text(field, text).unwrap();
        }
        builder.finish().unwrap()
    }

    fn kinds(trip: &Trip) -> Vec<(Table, bool)> {
        let id = TripId::identify(trip);
        let analysis = analyse(trip, &id, &AnalysisRules::default());
        analysis
            .items
            .iter()
            .map(|item| (item.table, item.is_absence()))
            .collect()
    }

    #[test]
    fn a_trip_with_its_own_id_has_an_absence_for_each_table_it_does_not_qualify_for() {
        assert_eq!(
            kinds(&trip(Some("t-1"), "12")),
            [
                (Table::TripDurationAnalysis, false),
                (Table::HighValueTrips, true),
                (Table::DistanceToFareRatio, true),
            ]
        );
        assert_eq!(
            kinds(&trip(Some("t-1"), "80")),
            [
                (Table::HighValueTrips, false),
                (Table::TripDurationAnalysis, false),
                (Table::DistanceToFareRatio, true),
            ]
        );
        // A generated id changes with the content: nothing of another version to delete. A
        // stream record carries it as its trip_id, and it is still told apart.
        assert_eq!(
            kinds(&trip(None, "12")),
            [(Table::TripDurationAnalysis, false)]
        );
        let generated = TripId::identify(&trip(None, "12"));
        assert_eq!(
            kinds(&trip(Some(generated.as_str()), "12")),
            [(Table::TripDurationAnalysis, false)]
        );
    }
}
