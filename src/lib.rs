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
//! 5. [`present`]: renderings and reports; [`conformance`]: the model against real Flink.
//!
//! The command line (`src/cli/`, in the binary) sits on top. Every module is also re-exported at
//! the crate root under its own name (`checkpoint_harness::spec`, `checkpoint_harness::check`),
//! the stable public paths that tests and outside crates use.
//!
//! # Using the library from another crate
//!
//! Load a model, run the seeded simulator (every built-in invariant is checked after every step)
//! and model-check it within bounds:
//!
//! ```
//! use checkpoint_harness::check::{self, CheckOptions, Verdict};
//! use checkpoint_harness::invariants::Oracle;
//! use checkpoint_harness::scheduler::SchedulerKind;
//! use checkpoint_harness::sim::{self, Outcome, RunBounds};
//! use checkpoint_harness::spec::Spec;
//! use std::sync::Arc;
//!
//! let spec = Spec::embedded("linear").expect("an embedded model"); // or Spec::load(path)
//! let oracle = Oracle::new(&spec);
//! let run = sim::run(&spec, &oracle, 7, SchedulerKind::Random, RunBounds::of(&spec));
//! assert_eq!(run.outcome, Outcome::Pass);
//!
//! let options = CheckOptions { max_states: Some(20_000), threads: 1, ..CheckOptions::default() };
//! let summary = check::check(Arc::new(spec), options, &mut |_| {});
//! assert!(matches!(summary.verdict, Verdict::Partial { .. })); // bounded: never a pass
//! ```
//!
//! A catalogued bug switched on is caught, and the failing run is a list of actions that replays
//! (here checked by hand, as `trace::replay` does):
//!
//! ```
//! use checkpoint_harness::bugs::{Bug, BugSet};
//! use checkpoint_harness::invariants::{self, Oracle};
//! use checkpoint_harness::scheduler::SchedulerKind;
//! use checkpoint_harness::sim::{self, RunBounds, Shard, Sweep};
//! use checkpoint_harness::spec::Spec;
//! use checkpoint_harness::world::{self, World};
//!
//! let spec = Spec::default_model().with_bugs(BugSet::of(&[Bug::CommitBeforeComplete]));
//! let oracle = Oracle::new(&spec);
//! let sweep = Sweep {
//!     seeds: 0..200,
//!     shard: Shard::ALL,
//!     scheduler: SchedulerKind::Random,
//!     bounds: RunBounds::of(&spec),
//!     threads: 1,
//! };
//! let report = sim::sweep(&spec, &oracle, &sweep, &|_| {});
//! let (_seed, run) = report.failure.expect("the simulator catches the bug");
//! assert_eq!(run.outcome.invariant(), Some("no-commit-before-complete"));
//!
//! let mut world = World::initial(&spec);
//! let mut violated = None;
//! for action in &run.actions {
//!     world = world::apply(&spec, &world, *action).expect("the run's actions are enabled");
//!     if let Err(violation) = invariants::check_all(&spec, &oracle, &world) {
//!         violated = Some(violation.invariant);
//!         break;
//!     }
//! }
//! assert_eq!(violated, Some("no-commit-before-complete"));
//! ```
//!
//! An invariant of your own cannot join the built-in table yet (`invariants::PROPERTIES` is a
//! closed `static`, so `sim` and `check` only see its entries); meanwhile an outside crate checks
//! its own predicate over the worlds of the simulator's runs:
//!
//! ```
//! use checkpoint_harness::invariants::Oracle;
//! use checkpoint_harness::scheduler::SchedulerKind;
//! use checkpoint_harness::sim::{self, RunBounds};
//! use checkpoint_harness::spec::Spec;
//! use checkpoint_harness::world::{self, World};
//!
//! /// Mine: never more pending checkpoints than the model allows concurrently, plus one forced.
//! fn pending_is_small(spec: &Spec, world: &World) -> Result<(), String> {
//!     let pending = world.coordinator.pending.len();
//!     let allowed = spec.checkpointing.max_concurrent as usize + 1;
//!     if pending <= allowed {
//!         Ok(())
//!     } else {
//!         Err(format!("{pending} pending, at most {allowed} allowed"))
//!     }
//! }
//!
//! let spec = Spec::embedded("savepoints-2pc").expect("an embedded model");
//! let oracle = Oracle::new(&spec);
//! for seed in 0..20 {
//!     let run = sim::run(&spec, &oracle, seed, SchedulerKind::Random, RunBounds::of(&spec));
//!     let mut world = World::initial(&spec);
//!     for action in &run.actions {
//!         world = world::apply(&spec, &world, *action).expect("enabled");
//!         pending_is_small(&spec, &world).unwrap_or_else(|e| panic!("seed {seed}: {e}"));
//!     }
//! }
//! ```

pub mod conformance;
pub mod error;
pub mod explore;
pub mod oracle;
pub mod present;
pub mod system;
pub mod trace;

pub use explore::{check, scheduler, sim, symmetry};
pub use oracle::{invariants, reference};
pub use present::{html, render, report, show, verify};
pub use system::world::ghost;
pub use system::{bugs, coordinator, protocol, spec, task, topology, world};
