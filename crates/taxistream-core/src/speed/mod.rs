//! Hot-path helpers kept apart from the domain code: each is a faster equivalent of a plain
//! computation, proven equal to it by its tests; their measured effect is in BENCHMARKS.md. They
//! never decide what the domain does.

pub(crate) mod decimal_order;
pub mod fingerprints;
pub(crate) mod md5_lanes;
pub mod text;
