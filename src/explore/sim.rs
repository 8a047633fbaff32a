//! Bounded simulation runs: a faulty phase, then a healed phase that must finish the job.
//!
//! In the faulty phase the scheduler picks among every enabled action, with the fault kinds the
//! seed's swarm configuration switched on. In the healed phase faults and user requests stop and
//! the network is prompt (timers fire only when nothing else can happen); the job must then
//! finish, with every record committed exactly once, within the model's `healed_steps`. Every
//! invariant is checked after every step. Sweeps run a range of seeds, optionally one shard of it,
//! on several threads, and always report the lowest failing seed, so the result does not depend
//! on the thread count.

use crate::explore::scheduler::{ActionClass, Scheduler, SchedulerKind, SwarmConfig};
use crate::oracle::invariants::{self, Kind, Oracle, Violation, PROPERTIES};
use crate::system::spec::Spec;
use crate::system::world::{self, Action, Options, World};
use std::ops::Range;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;

/// The liveness property only the simulator can check.
pub const HEALED_RUN_FINISHES: &str = "healed-run-finishes";

/// How a run ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Pass,
    /// A property was violated after `step` actions.
    Violation {
        violation: Violation,
        step: usize,
    },
}

impl Outcome {
    pub fn invariant(&self) -> Option<&'static str> {
        match self {
            Outcome::Pass => None,
            Outcome::Violation { violation, .. } => Some(violation.invariant),
        }
    }
}

/// One run.
#[derive(Clone, Debug)]
pub struct RunReport {
    pub config: SwarmConfig,
    pub actions: Vec<Action>,
    /// Index of the first healed-phase action.
    pub healed_at: usize,
    pub outcome: Outcome,
    /// Which non-vacuity properties the run reached.
    pub reached: Vec<&'static str>,
    pub final_world: World,
}

/// Bounds of a run (defaults come from the model).
#[derive(Clone, Copy, Debug)]
pub struct RunBounds {
    pub faulty_steps: u32,
    pub healed_steps: u32,
}

impl RunBounds {
    pub fn of(spec: &Spec) -> RunBounds {
        RunBounds {
            faulty_steps: spec.bounds.faulty_steps,
            healed_steps: spec.bounds.healed_steps,
        }
    }
}

/// A run in progress: the world, the actions taken, and what it reached.
struct Run<'a> {
    spec: &'a Spec,
    oracle: &'a Oracle,
    world: World,
    actions: Vec<Action>,
    reached: Vec<&'static str>,
}

impl Run<'_> {
    /// Applies one action, checks every invariant, and notes non-vacuity properties reached.
    fn step(&mut self, action: Action) -> Option<Outcome> {
        self.actions.push(action);
        self.world = world::apply(self.spec, &self.world, action)
            .expect("the scheduler only picks enabled actions");
        if let Err(violation) = invariants::check_all(self.spec, self.oracle, &self.world) {
            return Some(Outcome::Violation {
                violation,
                step: self.actions.len(),
            });
        }
        for property in PROPERTIES.iter().filter(|p| p.kind == Kind::Sometimes) {
            if !self.reached.contains(&property.name) && property.reached(self.spec, &self.world) {
                self.reached.push(property.name);
            }
        }
        None
    }

    fn report(self, config: SwarmConfig, healed_at: usize, outcome: Outcome) -> RunReport {
        RunReport {
            config,
            actions: self.actions,
            healed_at,
            outcome,
            reached: self.reached,
            final_world: self.world,
        }
    }
}

/// Runs one seed.
pub fn run(
    spec: &Spec,
    oracle: &Oracle,
    seed: u64,
    kind: SchedulerKind,
    bounds: RunBounds,
) -> RunReport {
    let mut scheduler = Scheduler::new(spec, seed, kind);
    let mut run = Run {
        spec,
        oracle,
        world: World::initial(spec),
        actions: Vec::new(),
        reached: Vec::new(),
    };
    let faulty = Options {
        faults: true,
        user_requests: true,
        horizon: None,
        timers_last: false,
    };

    // Faulty phase: the seed's fault kinds, within their limits, from their first step on.
    for step in 0..bounds.faulty_steps {
        let candidates: Vec<Action> = world::enabled_with(spec, &run.world, faulty)
            .into_iter()
            .filter(|a| {
                let class = ActionClass::of(a);
                !class.is_fault()
                    || scheduler
                        .config
                        .fault_allowed(class, step, used_of(&run.world, class))
            })
            .collect();
        if candidates.is_empty() {
            break;
        }
        let action = candidates[scheduler.pick(step, &candidates)];
        if let Some(outcome) = run.step(action) {
            let healed_at = run.actions.len();
            return run.report(scheduler.config, healed_at, outcome);
        }
    }

    // Healed phase: no faults, prompt network, fair choices; the job must finish in time.
    let healed_at = run.actions.len();
    for _ in 0..bounds.healed_steps {
        if run.world.job_done() {
            break;
        }
        let candidates = world::enabled_with(spec, &run.world, Options::healed());
        if candidates.is_empty() {
            break;
        }
        let action = candidates[scheduler.pick_fair(&candidates)];
        if let Some(outcome) = run.step(action) {
            return run.report(scheduler.config, healed_at, outcome);
        }
    }
    let outcome = if run.world.job_done() {
        Outcome::Pass
    } else {
        Outcome::Violation {
            violation: healed_violation(spec, &run.world, bounds.healed_steps),
            step: run.actions.len(),
        }
    };
    run.report(scheduler.config, healed_at, outcome)
}

/// The liveness violation of a healed run that did not finish.
pub fn healed_violation(spec: &Spec, world: &World, healed_steps: u32) -> Violation {
    let stuck: Vec<String> = spec
        .task_ids()
        .filter(|t| world.task(*t).is_running())
        .map(|t| {
            let task = world.task(t);
            let blocked = task.handler.blocked();
            format!(
                "{}{}",
                spec.task(t).name,
                if blocked.is_empty() {
                    String::new()
                } else {
                    format!(" (blocked inputs {blocked:?})")
                }
            )
        })
        .collect();
    Violation {
        invariant: HEALED_RUN_FINISHES,
        detail: format!(
            "faults stopped but the job did not finish within {healed_steps} steps (job {:?}, clock {}, {} pending checkpoints, still running: {})",
            world.coordinator.job,
            world.now,
            world.coordinator.pending.len(),
            stuck.join(", ")
        ),
    }
}

fn used_of(world: &World, class: ActionClass) -> u8 {
    let used = world.used;
    match class {
        ActionClass::Crash => used.task_crashes,
        ActionClass::CoordinatorFailover => used.coordinator_failovers,
        ActionClass::LoseRpc => used.lost_rpcs,
        ActionClass::DeclineSnapshot => used.declined_snapshots,
        ActionClass::StorageFailure => used.storage_failures,
        _ => 0,
    }
}

/// Which part of a seed range to run: shard `index` of `count` takes every `count`-th seed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    pub index: u64,
    pub count: u64,
}

impl Shard {
    pub const ALL: Shard = Shard { index: 0, count: 1 };

    pub fn seeds(self, range: Range<u64>) -> impl Iterator<Item = u64> {
        range
            .clone()
            .filter(move |seed| (seed - range.start) % self.count == self.index)
    }
}

/// The result of a sweep.
#[derive(Debug)]
pub struct SweepReport {
    pub seeds_run: u64,
    pub steps: u64,
    /// The lowest failing seed's report, if any failed.
    pub failure: Option<(u64, RunReport)>,
    /// How many runs reached each non-vacuity property.
    pub reached: Vec<(&'static str, u64)>,
}

/// What a sweep runs: a seed range (or one shard of it), a scheduler, run bounds, threads.
#[derive(Clone, Debug)]
pub struct Sweep {
    pub seeds: Range<u64>,
    pub shard: Shard,
    pub scheduler: SchedulerKind,
    pub bounds: RunBounds,
    pub threads: usize,
}

/// Runs every seed of the shard on `threads` threads. Stops early after a failure, but always
/// finishes every seed below the failing one, so the reported failure is the lowest failing seed
/// whatever the thread count. `progress` is called with the number of seeds done.
pub fn sweep(
    spec: &Spec,
    oracle: &Oracle,
    request: &Sweep,
    progress: &(dyn Fn(u64) + Sync),
) -> SweepReport {
    let (shard, kind, bounds, threads) = (
        request.shard,
        request.scheduler,
        request.bounds,
        request.threads,
    );
    let seeds = request.seeds.clone();
    let seeds: Vec<u64> = shard.seeds(seeds).collect();
    let next = AtomicUsize::new(0);
    let lowest_failure = AtomicU64::new(u64::MAX);
    let done = AtomicU64::new(0);
    // Per seed: steps taken and non-vacuity properties reached; failures keep their report.
    let results: Mutex<Vec<(u64, u64, Vec<&'static str>)>> = Mutex::new(Vec::new());
    let failure: Mutex<Option<(u64, RunReport)>> = Mutex::new(None);
    std::thread::scope(|scope| {
        for _ in 0..threads.max(1) {
            scope.spawn(|| loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                let Some(&seed) = seeds.get(index) else {
                    return;
                };
                if seed > lowest_failure.load(Ordering::Relaxed) {
                    return;
                }
                let report = run(spec, oracle, seed, kind, bounds);
                results.lock().expect("not poisoned").push((
                    seed,
                    report.actions.len() as u64,
                    report.reached.clone(),
                ));
                if matches!(report.outcome, Outcome::Violation { .. }) {
                    lowest_failure.fetch_min(seed, Ordering::Relaxed);
                    let mut failure = failure.lock().expect("not poisoned");
                    if failure.as_ref().is_none_or(|(s, _)| seed < *s) {
                        *failure = Some((seed, report));
                    }
                }
                progress(done.fetch_add(1, Ordering::Relaxed) + 1);
            });
        }
    });
    let failure = failure.into_inner().expect("not poisoned");
    // Totals cover exactly the seeds up to the reported failure: independent of thread count.
    let limit = failure.as_ref().map_or(u64::MAX, |(seed, _)| *seed);
    let results: Vec<_> = results
        .into_inner()
        .expect("not poisoned")
        .into_iter()
        .filter(|(seed, _, _)| *seed <= limit)
        .collect();
    let reached = PROPERTIES
        .iter()
        .filter(|p| p.kind == Kind::Sometimes && p.applies(spec))
        .map(|p| {
            let count = results
                .iter()
                .filter(|(_, _, r)| r.contains(&p.name))
                .count();
            (p.name, count as u64)
        })
        .collect();
    SweepReport {
        seeds_run: results.len() as u64,
        steps: results.iter().map(|(_, steps, _)| steps).sum(),
        failure,
        reached,
    }
}
