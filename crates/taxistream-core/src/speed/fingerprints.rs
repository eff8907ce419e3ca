//! Speeds up the set of trips seen (the producer's duplicate detection): an open-addressing table of 128-bit hashes.
//! Equivalent to a `HashSet<u128>` of the same fingerprints (property-tested against one).

/// Slots of a new set (1 MiB).
const INITIAL_SLOTS: usize = 1 << 16;

/// An open-addressing table of fingerprints with linear probing: a lookup is one random memory
/// access (a general hash set makes two: control bytes, then the entry), and
/// [`FingerprintSet::prefetch`] issues several lookups' accesses together so their cache misses
/// overlap. 16 bytes per slot, at most 3/4 full: 21 to 43 bytes per fingerprint.
#[derive(Debug, Clone)]
pub struct FingerprintSet {
    /// Fingerprints; 0 marks an empty slot (the fingerprint 0 itself is `has_zero`).
    slots: Vec<u128>,
    len: usize,
    has_zero: bool,
}

impl Default for FingerprintSet {
    fn default() -> Self {
        FingerprintSet::with_slots(INITIAL_SLOTS)
    }
}

impl FingerprintSet {
    /// An empty set of `slots` slots (a power of two, at least 2).
    fn with_slots(slots: usize) -> Self {
        FingerprintSet {
            slots: vec![0; slots],
            len: 0,
            has_zero: false,
        }
    }

    /// Fingerprints in the set.
    pub fn len(&self) -> usize {
        self.len + usize::from(self.has_zero)
    }

    /// True when the set is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The fingerprints in the set, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = u128> + '_ {
        let zero = self.has_zero.then_some(0);
        zero.into_iter()
            .chain(self.slots.iter().copied().filter(|&slot| slot != 0))
    }

    /// Reads the slots these fingerprints will be looked up in, all at once: their cache misses
    /// overlap instead of coming one after the other.
    pub fn prefetch(&self, fingerprints: impl IntoIterator<Item = u128>) {
        let mut touched = 0u128;
        for fingerprint in fingerprints {
            touched ^= self.slots[self.home(fingerprint)];
        }
        std::hint::black_box(touched);
    }

    /// True when `fingerprint` is in the set.
    pub fn contains(&self, fingerprint: u128) -> bool {
        if fingerprint == 0 {
            return self.has_zero;
        }
        let mask = self.mask();
        let mut slot = self.home(fingerprint);
        loop {
            match self.slots[slot] {
                0 => return false,
                found if found == fingerprint => return true,
                _ => slot = (slot + 1) & mask,
            }
        }
    }

    fn mask(&self) -> usize {
        self.slots.len() - 1
    }

    /// The slot a fingerprint's probe starts at: its two halves folded and mixed (Fibonacci
    /// hashing), so given ids that are hex numbers differing in a few digits spread too.
    #[allow(clippy::cast_possible_truncation)] // Folding and taking the top bits is the point.
    fn home(&self, fingerprint: u128) -> usize {
        let folded = (fingerprint as u64) ^ ((fingerprint >> 64) as u64);
        let mixed = folded.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        (mixed >> (64 - self.slots.len().trailing_zeros())) as usize
    }

    /// Adds `fingerprint`; true when it was not in the set.
    pub fn insert(&mut self, fingerprint: u128) -> bool {
        if fingerprint == 0 {
            return !std::mem::replace(&mut self.has_zero, true);
        }
        let mask = self.mask();
        let mut slot = self.home(fingerprint);
        loop {
            match self.slots[slot] {
                0 => break,
                found if found == fingerprint => return false,
                _ => slot = (slot + 1) & mask,
            }
        }
        self.slots[slot] = fingerprint;
        self.len += 1;
        if self.len * 4 > self.slots.len() * 3 {
            self.grow();
        }
        true
    }

    /// Removes `fingerprint`, if it is in the set.
    pub fn remove(&mut self, fingerprint: u128) {
        if fingerprint == 0 {
            self.has_zero = false;
            return;
        }
        let mask = self.mask();
        let mut slot = self.home(fingerprint);
        loop {
            match self.slots[slot] {
                0 => return,
                found if found == fingerprint => break,
                _ => slot = (slot + 1) & mask,
            }
        }
        // Backward-shift deletion: move later entries of the run into the hole when their home
        // is not after it, so every entry stays reachable from its home without gaps.
        let mut hole = slot;
        let mut next = slot;
        loop {
            next = (next + 1) & mask;
            let entry = self.slots[next];
            if entry == 0 {
                break;
            }
            let home = self.home(entry);
            if next.wrapping_sub(home) & mask >= next.wrapping_sub(hole) & mask {
                self.slots[hole] = entry;
                hole = next;
            }
        }
        self.slots[hole] = 0;
        self.len -= 1;
    }

    fn grow(&mut self) {
        let doubled = vec![0; self.slots.len() * 2];
        let old = std::mem::replace(&mut self.slots, doubled);
        let mask = self.mask();
        for fingerprint in old.into_iter().filter(|&fingerprint| fingerprint != 0) {
            let mut slot = self.home(fingerprint);
            while self.slots[slot] != 0 {
                slot = (slot + 1) & mask;
            }
            self.slots[slot] = fingerprint;
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashSet;

    #[derive(Debug, Clone)]
    enum Op {
        Insert(u128),
        Remove(u128),
    }

    /// Fingerprints from a small pool (0 included), so inserts repeat and removals hit.
    fn fingerprint() -> impl Strategy<Value = u128> {
        (0u128..48).prop_map(|n| n << 100 | n)
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            3 => fingerprint().prop_map(Op::Insert),
            1 => fingerprint().prop_map(Op::Remove),
        ]
    }

    proptest! {
        #[test]
        fn behaves_as_a_set(ops in prop::collection::vec(op(), 0..300)) {
            // A small table: probes collide, runs wrap around its end, and it grows.
            let mut seen = FingerprintSet::with_slots(4);
            let mut model = HashSet::new();
            for op in ops {
                match op {
                    Op::Insert(value) => {
                        prop_assert_eq!(seen.contains(value), model.contains(&value));
                        prop_assert_eq!(seen.insert(value), model.insert(value));
                    }
                    Op::Remove(value) => {
                        seen.remove(value);
                        model.remove(&value);
                    }
                }
                prop_assert_eq!(seen.len(), model.len());
            }
            prop_assert_eq!(seen.iter().collect::<HashSet<_>>(), model.clone());
            prop_assert_eq!(seen.iter().count(), model.len());
            for value in &model {
                prop_assert!(seen.contains(*value));
                prop_assert!(!seen.insert(*value));
            }
        }
    }

    #[test]
    fn grows_and_keeps_every_fingerprint() {
        let mut seen = FingerprintSet::default();
        let values: Vec<u128> = (1..=200_000u128)
            .map(|n| n.wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c835))
            .collect();
        assert!(values.iter().all(|&value| seen.insert(value)));
        assert_eq!(seen.len(), 200_000);
        assert!(seen.slots.len() >= 200_000 * 4 / 3);
        assert!(values.iter().all(|&value| !seen.insert(value)));
        seen.remove(values[7]);
        assert!(seen.insert(values[7]));
    }
}
