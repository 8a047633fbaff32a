//! Layer 2, the oracle: what must hold, judged from the world's observations and an
//! independent serial reference, never from the step functions' reports about themselves.
//!
//! - [`reference`]: the serial reference fold, with its own expansion of the declared graph, its
//!   own routing and operator semantics, and the cuts to judge as the world observed them.
//! - [`invariants`]: the one table of named safety, liveness and non-vacuity properties used by
//!   both explorers.
//!
//! May touch: the system under test (to read a world). Must not touch: the explorers, traces,
//! presentation, stateright or randomness.

pub mod invariants;
pub mod reference;
