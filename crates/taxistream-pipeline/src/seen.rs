//! The trips already seen in a run, by 128-bit fingerprint: a repeat is a duplicate.

use taxistream_core::TripId;
use taxistream_core::fingerprints::FingerprintSet;

/// The trips already seen in this run: a repeat is a duplicate, not sent again.
///
/// A [`FingerprintSet`] of trip ids' fingerprints; [`SeenTrips::prepare`] issues a chunk's
/// lookups together so their cache misses overlap.
#[derive(Debug, Clone, Default)]
pub struct SeenTrips {
    fingerprints: FingerprintSet,
}

impl SeenTrips {
    /// True the first time a trip is offered.
    pub fn first_sighting(&mut self, id: &TripId) -> bool {
        self.fingerprints.insert(id.fingerprint())
    }

    /// Forgets a trip (by its id's fingerprint) that was rejected after all, so a repeat of it is rejected too, not counted
    /// as a duplicate of a trip that was never sent.
    pub fn forget(&mut self, fingerprint: u128) {
        self.fingerprints.remove(fingerprint);
    }

    /// Reads the slots these trips will be looked up in, all at once: their cache misses overlap
    /// instead of coming one after the other in [`SeenTrips::first_sighting`].
    pub fn prepare<'a>(&self, ids: impl IntoIterator<Item = &'a TripId>) {
        self.fingerprints
            .prefetch(ids.into_iter().map(TripId::fingerprint));
    }

    /// The fingerprints of the trips seen (and not forgotten), in ascending order: what another
    /// run's fingerprints are merged with to tell the trips both saw.
    pub fn sorted_fingerprints(&self) -> Vec<u128> {
        let mut fingerprints: Vec<u128> = self.fingerprints.iter().collect();
        fingerprints.sort_unstable();
        fingerprints
    }

    /// Distinct trips seen.
    pub fn len(&self) -> usize {
        self.fingerprints.len()
    }

    /// True when no trip was seen.
    pub fn is_empty(&self) -> bool {
        self.fingerprints.is_empty()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn a_trip_is_first_seen_once_until_forgotten() {
        let mut seen = SeenTrips::default();
        let id = TripId::given("T-1");
        assert!(seen.first_sighting(&id));
        assert!(!seen.first_sighting(&id));
        seen.forget(id.fingerprint());
        assert!(seen.first_sighting(&id));
        assert!(seen.first_sighting(&TripId::given("T-2")));
        assert_eq!(seen.len(), 2);
        let mut expected = vec![id.fingerprint(), TripId::given("T-2").fingerprint()];
        expected.sort_unstable();
        assert_eq!(seen.sorted_fingerprints(), expected);
    }
}
