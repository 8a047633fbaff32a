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
//! An invariant of your own joins the built-in ones through [`invariants::Oracle::with_property`]:
//! the simulator ([`sim::run`], [`sim::sweep`]) and the model checker ([`check::check_with`])
//! then check it in every state and name it in a violation. Here one that a correct coordinator
//! breaks on purpose (a job with periodic checkpointing does trigger one), to show it is caught:
//!
//! ```
//! use checkpoint_harness::check::{self, CheckOptions, Limits, Verdict};
//! use checkpoint_harness::invariants::{Oracle, Property};
//! use checkpoint_harness::scheduler::SchedulerKind;
//! use checkpoint_harness::sim::{self, RunBounds};
//! use checkpoint_harness::spec::Spec;
//! use checkpoint_harness::world::World;
//! use std::sync::Arc;
//!
//! /// Mine: no checkpoint id is ever allocated (false for any job that checkpoints).
//! fn no_checkpoint_allocated(_: &Spec, _: &Oracle, world: &World) -> Result<(), String> {
//!     match world.ghost.highest_allocated.0 {
//!         0 => Ok(()),
//!         id => Err(format!("checkpoint {id} was allocated")),
//!     }
//! }
//! static MINE: Property = Property::safety(
//!     "no-checkpoint-allocated",
//!     "no checkpoint id is ever allocated",
//!     no_checkpoint_allocated,
//! );
//!
//! let spec = Spec::embedded("linear").expect("an embedded model");
//! let oracle = Oracle::new(&spec).with_property(&MINE).expect("a new name");
//! let run = sim::run(&spec, &oracle, 0, SchedulerKind::Random, RunBounds::of(&spec));
//! assert_eq!(run.outcome.invariant(), Some("no-checkpoint-allocated"));
//!
//! let options = CheckOptions { max_states: Some(20_000), threads: 1, ..CheckOptions::default() };
//! let summary = check::check_with(Arc::new(spec), oracle, options, Limits::default(), &mut |_| {});
//! assert_eq!(summary.verdict, Verdict::Violated { invariant: "no-checkpoint-allocated" });
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
pub use system::{bugs, coordinator, instance, protocol, spec, task, topology, world};
