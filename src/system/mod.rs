//! Layer 1, the system under test: Flink's checkpointing as data and pure step functions.
//!
//! - [`protocol`]: the shared vocabulary (ids, records, barriers, failure reasons).
//! - [`spec`] and [`topology`]: the model file, validated and expanded into subtasks and channels.
//! - [`coordinator`]: the JobManager's `CheckpointCoordinator` as a step function.
//! - [`task`]: one subtask's barrier handling, snapshots, notifications and operators.
//! - [`world`]: the whole system's dynamic state and the one transition relation (`enabled`,
//!   `apply`); it routes step-function outputs and holds no semantics of its own.
//! - [`instance`]: a model's small instance (`NAME@small`), which the exhaustive checker completes on.
//! - [`bugs`]: the catalogue of injectable bugs, each a marked decision in a step function.
//!
//! May touch: nothing outside this layer (and `crate::error`). Must not touch: the oracle, the
//! explorers, traces, presentation, stateright, clap, randomness, clocks or I/O. The step
//! functions (protocol, coordinator, task) know nothing of petgraph or serde_json either.

pub mod bugs;
pub mod coordinator;
pub mod instance;
pub mod protocol;
pub mod spec;
pub mod task;
pub mod topology;
pub mod world;
