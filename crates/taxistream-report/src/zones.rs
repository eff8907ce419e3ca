//! TLC taxi zone names, from the official lookup table kept in `data/` (provenance there).

use std::collections::HashMap;

/// The official lookup, built into the binary.
const OFFICIAL_LOOKUP: &str = include_str!("../data/taxi_zone_lookup.csv");

/// Zone id → `Zone (Borough)`.
#[derive(Debug, Clone, Default)]
pub struct ZoneNames {
    names: HashMap<i64, String>,
}

impl ZoneNames {
    /// The TLC's 265 zones.
    pub fn official() -> ZoneNames {
        ZoneNames::parse(OFFICIAL_LOOKUP)
    }

    /// Reads a lookup CSV with `LocationID`, `Borough` and `Zone` columns; rows it cannot read
    /// are left out (their ids show as numbers).
    pub fn parse(csv_text: &str) -> ZoneNames {
        let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
        let headers = reader.headers().cloned().unwrap_or_default();
        let column = |name: &str| headers.iter().position(|header| header.trim() == name);
        let (Some(id), Some(borough), Some(zone)) =
            (column("LocationID"), column("Borough"), column("Zone"))
        else {
            return ZoneNames::default();
        };
        let names = reader
            .records()
            .filter_map(Result::ok)
            .filter_map(|row| {
                let id = row.get(id)?.trim().parse().ok()?;
                let zone = row.get(zone)?.trim();
                let borough = row.get(borough)?.trim();
                Some((id, format!("{zone} ({borough})")))
            })
            .collect();
        ZoneNames { names }
    }

    /// The zone's name and id (`JFK Airport (Queens) · 132`), or `unknown zone N` when the
    /// lookup does not list it.
    pub fn label(&self, id: i64) -> String {
        match self.names.get(&id) {
            Some(name) => format!("{name} · {id}"),
            None => format!("unknown zone {id}"),
        }
    }

    /// Zones listed.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// True when no zone is listed.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::ZoneNames;

    #[test]
    fn the_official_lookup_names_every_zone_and_numbers_the_unknown() {
        let zones = ZoneNames::official();
        assert_eq!(zones.len(), 265);
        assert_eq!(zones.label(132), "JFK Airport (Queens) · 132");
        assert_eq!(zones.label(999), "unknown zone 999");
    }
}
