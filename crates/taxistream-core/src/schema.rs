//! The canonical trip fields and the table of column names that map to them.

/// What kind of value a canonical field holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    /// Free text (kept as written, trimmed).
    Text,
    /// An integer code that older files write as text (`CMT`, `CASH`): kept as either.
    Code,
    /// A local timestamp without offset.
    Timestamp,
    /// An integer (`1` or `1.0`).
    Integer,
    /// An exact decimal number (money, miles).
    Decimal,
}

macro_rules! fields {
    ($( $variant:ident => $name:literal, $kind:ident, [$($alias:literal),*] );* $(;)?) => {
        /// A canonical trip field, in the order used by records and trip ids.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Field { $(
            #[doc = concat!("`", $name, "`")]
            $variant,
        )* }

        impl Field {
            /// Every canonical field, in canonical order.
            pub const ALL: &'static [Field] = &[$(Field::$variant),*];

            /// The canonical snake_case name.
            pub const fn name(self) -> &'static str {
                match self { $(Field::$variant => $name),* }
            }

            /// The kind of value the field holds.
            pub const fn kind(self) -> FieldKind {
                match self { $(Field::$variant => FieldKind::$kind),* }
            }

            /// The field whose canonical name is exactly `name` (the fast path for our own records).
            pub fn from_canonical_name(name: &str) -> Option<Field> {
                match name { $($name => Some(Field::$variant),)* _ => None }
            }

            /// Accepted column names (lowercase), the canonical name first.
            pub const fn aliases(self) -> &'static [&'static str] {
                match self { $(Field::$variant => &[$name $(, $alias)*]),* }
            }
        }
    };
}

fields! {
    TripId => "trip_id", Text, [];
    VendorId => "vendor_id", Code, ["vendorid", "vendor_name"];
    PickupDatetime => "pickup_datetime", Timestamp, ["tpep_pickup_datetime", "lpep_pickup_datetime", "trip_pickup_datetime"];
    DropoffDatetime => "dropoff_datetime", Timestamp, ["tpep_dropoff_datetime", "lpep_dropoff_datetime", "trip_dropoff_datetime"];
    PassengerCount => "passenger_count", Integer, [];
    TripDistance => "trip_distance", Decimal, [];
    RateCode => "rate_code", Integer, ["rate_code_id", "ratecodeid"];
    StoreAndFwdFlag => "store_and_fwd_flag", Text, ["store_and_forward"];
    PickupLocationId => "pickup_location_id", Integer, ["pulocationid"];
    DropoffLocationId => "dropoff_location_id", Integer, ["dolocationid"];
    PaymentType => "payment_type", Code, [];
    FareAmount => "fare_amount", Decimal, ["fare_amt"];
    Extra => "extra", Decimal, ["surcharge"];
    MtaTax => "mta_tax", Decimal, [];
    TipAmount => "tip_amount", Decimal, ["tip_amt"];
    TollsAmount => "tolls_amount", Decimal, ["tolls_amt"];
    ImprovementSurcharge => "improvement_surcharge", Decimal, [];
    CongestionSurcharge => "congestion_surcharge", Decimal, [];
    AirportFee => "airport_fee", Decimal, [];
    CbdCongestionFee => "cbd_congestion_fee", Decimal, [];
    EhailFee => "ehail_fee", Decimal, [];
    TotalAmount => "total_amount", Decimal, ["total_amt"];
}

/// Number of canonical fields.
pub const FIELD_COUNT: usize = Field::ALL.len();

impl Field {
    /// The field a column name maps to: case-insensitive, surrounding spaces and quotes ignored.
    pub fn from_column_name(column: &str) -> Option<Field> {
        if let Some(field) = Field::from_canonical_name(column) {
            return Some(field);
        }
        let name = column.trim().trim_matches('"').trim();
        Field::ALL.iter().copied().find(|field| {
            field
                .aliases()
                .iter()
                .any(|alias| alias.eq_ignore_ascii_case(name))
        })
    }

    /// Position of the field in [`Field::ALL`].
    pub const fn index(self) -> usize {
        self as usize
    }
}

/// Where each column of a source goes: to a canonical field, or carried through under its own name.
#[derive(Debug, Clone)]
pub struct ColumnMap {
    columns: Vec<ColumnTarget>,
    names: Vec<std::sync::Arc<str>>,
}

/// The destination of one source column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnTarget {
    /// The column fills this canonical field.
    Field(Field),
    /// The column is carried through untouched under its own name.
    Carried,
}

impl ColumnMap {
    /// Maps column names; a second column for a field already taken is carried through.
    pub fn new<S: AsRef<str>>(names: &[S]) -> ColumnMap {
        let mut taken = [false; FIELD_COUNT];
        let mut columns = Vec::with_capacity(names.len());
        let mut kept = Vec::with_capacity(names.len());
        for name in names {
            let name = name.as_ref().trim().trim_matches('"').trim();
            let target = match Field::from_column_name(name) {
                Some(field) if !taken[field.index()] => {
                    taken[field.index()] = true;
                    ColumnTarget::Field(field)
                }
                _ => ColumnTarget::Carried,
            };
            columns.push(target);
            kept.push(std::sync::Arc::from(name));
        }
        ColumnMap {
            columns,
            names: kept,
        }
    }

    /// Number of columns.
    pub fn len(&self) -> usize {
        self.columns.len()
    }

    /// True when there are no columns.
    pub fn is_empty(&self) -> bool {
        self.columns.is_empty()
    }

    /// Where column `index` goes.
    pub fn target(&self, index: usize) -> ColumnTarget {
        self.columns
            .get(index)
            .copied()
            .unwrap_or(ColumnTarget::Carried)
    }

    /// The trimmed name of column `index`.
    pub fn name(&self, index: usize) -> &std::sync::Arc<str> {
        &self.names[index.min(self.names.len().saturating_sub(1))]
    }

    /// True when some column fills `field`.
    pub fn has(&self, field: Field) -> bool {
        self.columns.contains(&ColumnTarget::Field(field))
    }

    /// The trimmed column names, in source order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.names.iter().map(|name| name.as_ref())
    }

    /// Refuses a header without both timestamp columns, naming what it has and what is accepted.
    pub fn require_timestamps(&self) -> Result<(), MissingTimestampColumns> {
        let missing: Vec<Field> = [Field::PickupDatetime, Field::DropoffDatetime]
            .into_iter()
            .filter(|field| !self.has(*field))
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        Err(MissingTimestampColumns {
            missing,
            found: self.names().map(str::to_owned).collect(),
        })
    }
}

/// A header that lacks the pickup or dropoff timestamp column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingTimestampColumns {
    /// The timestamp fields with no column.
    pub missing: Vec<Field>,
    /// The column names the source has.
    pub found: Vec<String>,
}

impl std::fmt::Display for MissingTimestampColumns {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let accepted: Vec<String> = self
            .missing
            .iter()
            .map(|field| format!("for {}: {}", field.name(), field.aliases().join(", ")))
            .collect();
        let found = if self.found.is_empty() {
            "none".to_owned()
        } else {
            self.found.join(", ")
        };
        write!(
            f,
            "not a trip file: no {} column; found columns: {found}; accepted names: {}",
            self.missing
                .iter()
                .map(|field| field.name())
                .collect::<Vec<_>>()
                .join(" or "),
            accepted.join("; ")
        )
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn every_tlc_spelling_maps_to_its_field() {
        let cases = [
            ("VendorID", Field::VendorId),
            ("vendor_name", Field::VendorId),
            ("Trip_Pickup_DateTime", Field::PickupDatetime),
            (" lpep_dropoff_datetime ", Field::DropoffDatetime),
            ("RateCodeID", Field::RateCode),
            ("RatecodeID", Field::RateCode),
            ("Rate_Code", Field::RateCode),
            ("rate_code_id", Field::RateCode),
            ("PULocationID", Field::PickupLocationId),
            ("Airport_fee", Field::AirportFee),
            ("surcharge", Field::Extra),
            ("Tip_Amt", Field::TipAmount),
            ("\"Total_Amt\"", Field::TotalAmount),
            ("store_and_forward", Field::StoreAndFwdFlag),
        ];
        for (column, field) in cases {
            assert_eq!(Field::from_column_name(column), Some(field), "{column}");
        }
        assert_eq!(Field::from_column_name("pickup_longitude"), None);
    }

    #[test]
    fn header_without_timestamps_names_what_it_found() {
        let map = ColumnMap::new(&["LocationID", "Borough"]);
        let error = map.require_timestamps().unwrap_err().to_string();
        assert!(
            error.contains("found columns: LocationID, Borough"),
            "{error}"
        );
        assert!(error.contains("tpep_pickup_datetime"), "{error}");
    }

    #[test]
    fn a_second_column_for_a_taken_field_is_carried() {
        let map = ColumnMap::new(&["airport_fee", "Airport_fee"]);
        assert_eq!(map.target(0), ColumnTarget::Field(Field::AirportFee));
        assert_eq!(map.target(1), ColumnTarget::Carried);
    }
}
