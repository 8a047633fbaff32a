//! Layer 3, the explorers: two ways over the one transition relation.
//!
//! - [`scheduler`]: the only module that draws random numbers (ChaCha8 per seed, swarm, PCT).
//! - [`sim`]: seeded runs (a faulty phase, then a healed phase), sweeps and shards.
//! - [`check`]: the exhaustive search, the only module that names stateright.
//! - [`hang`]: `healed-run-finishes` in the checker: the deterministic healed continuation, and
//!   the states it is run from.
//! - [`symmetry`]: canonical representatives of symmetric worlds for the checker.
//! - [`reduction`]: partial-order reduction (persistent sets of record deliveries) for the checker.
//! - [`shard`]: the split of a sharded check (`check --shard K/N`): prefix, frontier, stable hash.
//!
//! May touch: the system under test and the oracle. Must not touch: traces, presentation, I/O.

pub mod check;
pub mod hang;
pub mod reduction;
pub mod scheduler;
pub mod shard;
pub mod sim;
pub mod symmetry;
