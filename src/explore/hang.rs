//! Hangs in the exhaustive checker: the property `healed-run-finishes` (the simulator's healed
//! phase, judged from explored states).
//!
//! # What it says
//!
//! From a state, the *healed continuation* is the simulator's healed phase made deterministic:
//! faults and user requests off, a prompt network (timers fire only when nothing else can
//! happen), no time horizon, and round robin over the actions `world::enabled_with(spec, world,
//! Options::healed())` lists (at step k, the (k mod n)-th of the n enabled ones), for at most the
//! model's `bounds.healed_steps` steps. (`shrink` regenerates liveness traces with the first
//! enabled action instead; round robin was measured to find hangs that one misses, see `run`.)
//! The property fails at a state
//! where the job has not finished and its healed continuation does not finish it: the budget
//! runs out with work left (timers keep firing, alignment stays stuck), or nothing can happen
//! any more. That is exactly what the simulator's healed phase judges, with the same name, so a
//! failure is a concrete, replayable claim: the path to the state, then the continuation (a
//! trace whose `healed_at` is the path's length replays to `healed-run-finishes`).
//!
//! # Where it is evaluated, and why that is enough for the hang class
//!
//! A continuation costs up to `healed_steps` (at least 1,000) steps, so it is not run at every
//! state. It is run at:
//!
//! 1. **Every quiescent state with timers still armed** (no action is enabled within the time
//!    horizon, only timers past it remain, and the job is not finished). `quiescent-job-finished`
//!    judges the quiescent states with nothing armed and declines these ("not a verdict"): this
//!    property is its completion, running the timers past the horizon. Every maximal path of the
//!    checker's bounded graph ends in a quiescent state, and a hang of the kind the catalogue
//!    holds (stuck alignment, a stop whose savepoint completion every task dropped) is
//!    *absorbing*: once it happened, no action without faults undoes it, so the path's quiescent
//!    end still hangs, and the check finds it there. This part is exact under partial-order
//!    reduction: a reduced set is never empty and is persistent, so the reduced search reaches
//!    every quiescent state of the full graph (`reduction`, C0), the very same worlds.
//! 2. **One state in [`HangOptions::sample`]** of the others, chosen by the state's stable hash
//!    (FNV-1a, `shard::stable_hash`), so the choice depends on the state alone, never on the
//!    search order, the thread count or a clock. This catches hangs that depend on the healed
//!    schedule from an earlier state (a race the continuation itself loses), on whatever states
//!    the search explores; under reduction that is fewer states, so this part is best effort.
//!
//! What it can miss: a hang that is not absorbing (every quiescent end of every path through
//! the bad state is finished by its continuation) and whose states all fall outside the sample;
//! and a hang only a *different* fair healed schedule shows (the continuation is one schedule,
//! round robin). It never raises a false alarm on its own: each failure
//! is a reachable state plus a healed run that does not finish within the model's bound, which
//! is the simulator's verdict on the same run. Safety violations along the continuation are not
//! judged here (replay names them first, and the counterexample is named the way replay names
//! it).
//!
//! Cost: see [`SAMPLE_DEFAULT`].

use crate::explore::shard::stable_hash;
use crate::explore::sim;
use crate::oracle::invariants::Violation;
use crate::system::spec::Spec;
use crate::system::world::{self, Action, Options, World};

/// The property's name: the simulator's, so both explorers and the report agree.
pub const NAME: &str = sim::HEALED_RUN_FINISHES;

/// One state in this many (by stable hash) has its continuation run besides every quiescent
/// state with armed timers. Measured on the default model when it had one record per source
/// (keyed-join-2pc, 558,215 unique states, exhaustive, depth-first on two shared cores): 758 k
/// states/s without the property, 598 k with it at 1 in 1024 (about a fifth slower); the state
/// counts are the same.
pub const SAMPLE_DEFAULT: u64 = 1024;

/// Whether and where the checker evaluates `healed-run-finishes`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HangOptions {
    /// Register the property at all (`check --no-hangs` turns it off).
    pub enabled: bool,
    /// Besides every quiescent state with armed timers, evaluate one state in `sample` by stable
    /// hash (0: quiescent states only).
    pub sample: u64,
}

impl Default for HangOptions {
    fn default() -> Self {
        HangOptions {
            enabled: true,
            sample: SAMPLE_DEFAULT,
        }
    }
}

/// Whether the continuation is run from `world` (see the module doc): the job is not finished,
/// and the state is quiescent with armed timers or falls into the sample.
pub fn evaluated(spec: &Spec, world: &World, options: HangOptions) -> bool {
    if world.job_done() {
        return false;
    }
    if world::is_quiescent(spec, world) {
        // With nothing armed, `quiescent-job-finished` judges it (and names it first).
        return !world.timers(spec).is_empty();
    }
    options.sample > 0 && stable_hash(world).is_multiple_of(options.sample)
}

/// Whether the property holds at `world`.
pub fn holds(spec: &Spec, world: &World, options: HangOptions) -> bool {
    !evaluated(spec, world, options) || run(spec, world, |_| {}).1
}

/// The healed continuation from `world`: the actions it takes, the world it ends in, and
/// whether the job finished.
pub fn continuation(spec: &Spec, world: &World) -> (Vec<Action>, World, bool) {
    let mut taken = Vec::new();
    let (end, finished) = run(spec, world, |action| taken.push(action));
    (taken, end, finished)
}

/// The violation a continuation that ended in `end` without finishing reports: the simulator's
/// own description (why it stopped, the backlog, what is still running).
pub fn violation(spec: &Spec, end: &World) -> Violation {
    sim::healed_violation(spec, end, spec.bounds.healed_steps)
}

/// Runs the continuation, handing each action to `taken`; returns the end and whether the job
/// finished.
fn run(spec: &Spec, world: &World, mut taken: impl FnMut(Action)) -> (World, bool) {
    let mut world = world.clone();
    for step in 0..spec.bounds.healed_steps as usize {
        if world.job_done() {
            break;
        }
        let enabled = world::enabled_with(spec, &world, Options::healed());
        if enabled.is_empty() {
            break;
        }
        // Round robin over the enabled list: deterministic, and fair (no action stays enabled
        // for more than as many steps as there are enabled actions without being taken, unless
        // the list keeps changing under it; timers wait until nothing else can happen). The
        // first enabled action alone was measured to miss what this finds: on savepoints-2pc
        // with `end-of-data-checkpoint-while-stopping`, about 3 % of the states at depths 7 to
        // 15 hang under round robin, none under "always the first" or "always the last".
        let action = enabled[step % enabled.len()];
        world = world::apply(spec, &world, action).expect("enabled actions apply");
        taken(action);
    }
    let finished = world.job_done();
    (world, finished)
}
