//! checkpoint-harness: Flink's checkpointing re-created as pure step functions, explored by a
//! seeded deterministic simulator and exhaustively by stateright over one transition relation,
//! checked against an exactly-once oracle.
//!
//! Data flow: model file -> [`spec::Spec`] -> [`world::World`] -> [`world::enabled`] /
//! [`world::apply`] -> invariants -> outcome and trace -> replay. See ARCHITECTURE.md.

pub mod bugs;
pub mod check;
pub mod coordinator;
pub mod error;
pub mod ghost;
pub mod html;
pub mod invariants;
pub mod protocol;
pub mod reference;
pub mod render;
pub mod report;
pub mod scheduler;
pub mod show;
pub mod sim;
pub mod spec;
pub mod symmetry;
pub mod task;
pub mod topology;
pub mod trace;
pub mod world;
