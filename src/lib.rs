//! checkpoint-harness: Flink's checkpointing re-created as pure step functions, explored by a
//! seeded deterministic simulator and exhaustively by stateright over one transition relation,
//! checked against an exactly-once oracle.
//!
//! Data flow: model file -> [`spec::Spec`] -> [`world::World`] -> [`world::enabled`] /
//! [`world::apply`] -> invariants -> outcome and trace -> replay. See ARCHITECTURE.md.
//!
//! The source is grouped by layer; each layer may use the layers listed before it, never those
//! after it (`tests/tidy.rs` enforces this):
//!
//! 1. [`system`]: the system under test (vocabulary, model, step functions, the world).
//! 2. [`oracle`]: what must hold (reference fold, invariants).
//! 3. [`explore`]: the simulator, the scheduler and the model checker.
//! 4. [`trace`]: trace files, replay and shrinking.
//! 5. [`present`]: renderings and reports.
//!
//! The command line (`src/cli/`, in the binary) sits on top. Every module is also re-exported at
//! the crate root under its own name (`checkpoint_harness::spec`, `checkpoint_harness::check`),
//! the stable public paths that tests and outside crates use.

pub mod error;
pub mod explore;
pub mod oracle;
pub mod present;
pub mod system;
pub mod trace;

pub use explore::{check, scheduler, sim, symmetry};
pub use oracle::{invariants, reference};
pub use present::{html, render, report, show};
pub use system::world::ghost;
pub use system::{bugs, coordinator, protocol, spec, task, topology, world};
