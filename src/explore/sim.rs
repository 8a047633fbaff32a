//! Bounded simulation runs: a faulty phase, then a healed phase that must finish the job.
//!
//! In the faulty phase the scheduler picks among every enabled action, with the fault kinds the
//! seed's swarm configuration switched on. In the healed phase faults and user requests stop and
//! the network is prompt (timers fire only when nothing else can happen); the job must then
//! finish, with every record committed exactly once, within the model's `healed_steps`. Every
//! invariant is checked after every step. Sweeps run a range of seeds, optionally one shard of it,
//! on several threads, and always report the lowest failing seed, so the result does not depend
//! on the thread count. PCT's expected run length `k` is calibrated once per model, depth and
//! bounds ([`pct_run_length`]), so a sweep and a rerun of one of its seeds draw the same change
//! points.

use crate::explore::scheduler::{ActionClass, Scheduler, SchedulerKind, SwarmConfig};
use crate::oracle::invariants::{self, Kind, Oracle, Violation};
use crate::system::spec::Spec;
use crate::system::world::{self, Action, Options, Timer, World};
use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};
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
        for property in self
            .oracle
            .properties()
            .filter(|p| p.kind == Kind::Sometimes)
        {
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
    run_with_length(
        spec,
        oracle,
        seed,
        kind,
        bounds,
        pct_run_length(spec, kind, bounds),
    )
}

/// How many runs calibrate PCT's expected run length.
pub const PCT_CALIBRATION_RUNS: u64 = 16;

/// PCT's `k` for a model and bounds: the paper draws the change points over the length of the
/// runs PCT itself produces, so `k` is measured on them. [`PCT_CALIBRATION_RUNS`] calibration
/// runs (fixed seeds, no invariants checked) of the same depth, change points drawn over the
/// faulty-phase bound, give the mean number of PCT-scheduled steps of a faulty phase; a second
/// round draws over that mean and measures again (one fixed-point step: change points drawn past
/// the end of most runs would otherwise shorten nothing). At least 1 and at most
/// `bounds.faulty_steps`. A function of the model, the depth and the bounds alone, so every seed
/// of a sweep, and a rerun of one seed, draws over the same `k`. 0 (unused) for the random
/// scheduler.
pub fn pct_run_length(spec: &Spec, kind: SchedulerKind, bounds: RunBounds) -> u32 {
    if kind == SchedulerKind::Random {
        return 0;
    }
    let first = mean_scheduled_steps(spec, kind, bounds, bounds.faulty_steps);
    mean_scheduled_steps(spec, kind, bounds, first)
}

/// The mean number of PCT-scheduled (system, not fault or user) steps in the faulty phases of the
/// calibration runs, change points drawn over `run_length`.
fn mean_scheduled_steps(
    spec: &Spec,
    kind: SchedulerKind,
    bounds: RunBounds,
    run_length: u32,
) -> u32 {
    let mut total: u64 = 0;
    for index in 0..PCT_CALIBRATION_RUNS {
        let seed = u64::MAX - index;
        let mut scheduler = Scheduler::with_run_length(spec, seed, kind, run_length);
        let mut world = World::initial(spec);
        for step in 0..bounds.faulty_steps {
            let candidates = faulty_candidates(spec, &world, &scheduler, step);
            if candidates.is_empty() {
                break;
            }
            let action = candidates[scheduler.pick(step, &candidates)];
            if !ActionClass::of(&action).is_fault() && !action.is_user() {
                total += 1;
            }
            world = world::apply(spec, &world, action).expect("only enabled actions are picked");
        }
    }
    let mean = total.div_ceil(PCT_CALIBRATION_RUNS);
    (mean as u32).clamp(1, bounds.faulty_steps.max(1))
}

/// The faulty phase's candidates at `step`: every enabled action, faults only of the kinds the
/// seed switched on, within their limits, from their first step on.
fn faulty_candidates(spec: &Spec, world: &World, scheduler: &Scheduler, step: u32) -> Vec<Action> {
    let faulty = Options {
        faults: true,
        user_requests: true,
        horizon: None,
        timers_last: false,
    };
    world::enabled_with(spec, world, faulty)
        .into_iter()
        .filter(|a| {
            let class = ActionClass::of(a);
            !class.is_fault()
                || scheduler
                    .config
                    .fault_allowed(class, step, used_of(world, class))
        })
        .collect()
}

/// Runs one seed with PCT's run length given (see [`pct_run_length`]; ignored by the random
/// scheduler).
pub fn run_with_length(
    spec: &Spec,
    oracle: &Oracle,
    seed: u64,
    kind: SchedulerKind,
    bounds: RunBounds,
    pct_length: u32,
) -> RunReport {
    let mut scheduler = Scheduler::with_run_length(spec, seed, kind, pct_length);
    let mut run = Run {
        spec,
        oracle,
        world: World::initial(spec),
        actions: Vec::new(),
        reached: Vec::new(),
    };

    // Faulty phase: the seed's fault kinds, within their limits, from their first step on.
    for step in 0..bounds.faulty_steps {
        let candidates = faulty_candidates(spec, &run.world, &scheduler, step);
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

/// The liveness violation of a healed run that did not finish: why it stopped (the budget ran
/// out, or nothing could happen any more), the backlog it left, and, by name, everything still
/// running: unfinished subtasks with their status, and besides them pending checkpoints and whom
/// they wait for, a trigger in progress or queued, RPCs in flight, non-empty channels and armed
/// timers. When nothing is left anywhere it says so and why that is still a failure: it never
/// prints an empty list.
pub fn healed_violation(spec: &Spec, world: &World, healed_steps: u32) -> Violation {
    use crate::system::task::TaskStatus;
    use crate::system::world::describe::{describe_rpc, task_name};
    let stuck = world::enabled_with(spec, world, Options::healed()).is_empty();
    let unfinished: Vec<String> = spec
        .task_ids()
        .filter(|t| world.task(*t).status != TaskStatus::Finished)
        .map(|t| {
            let task = world.task(t);
            let blocked = task.handler.blocked();
            format!(
                "{} {:?}{}{}",
                spec.task(t).name,
                task.status,
                if blocked.is_empty() {
                    String::new()
                } else {
                    format!(" (blocked inputs {blocked:?})")
                },
                if task.end_of_data {
                    " at end of data"
                } else {
                    ""
                }
            )
        })
        .collect();
    let queued: usize = world.channels.iter().map(|c| c.len()).sum();
    let busy_channels = world.channels.iter().filter(|c| !c.is_empty()).count();
    let cause = if stuck {
        "nothing could happen any more".to_string()
    } else {
        format!("its budget of {healed_steps} healed steps ran out (bounds.healed_steps) with work left")
    };
    let mut running: Vec<String> = Vec::new();
    let c = &world.coordinator;
    for pending in &c.pending {
        let waiting: Vec<&str> = pending
            .not_yet_acked
            .iter()
            .map(|t| task_name(spec, t))
            .collect();
        running.push(format!(
            "checkpoint {} pending (waiting for {})",
            pending.id,
            if waiting.is_empty() {
                "completion".to_string()
            } else {
                waiting.join(", ")
            }
        ));
    }
    if let Some(id) = c.coordinator_snapshot {
        running.push(format!("the coordinator still triggering {id}"));
    }
    if !c.queue.is_empty() {
        running.push(format!("{} queued trigger requests", c.queue.len()));
    }
    // RPCs by what they say, identical ones counted.
    let mut rpcs: Vec<(String, usize)> = Vec::new();
    for rpc in &world.rpcs {
        let said = describe_rpc(spec, &rpc.key());
        match rpcs.iter_mut().find(|(s, _)| *s == said) {
            Some((_, count)) => *count += 1,
            None => rpcs.push((said, 1)),
        }
    }
    const SHOWN: usize = 8;
    for (said, count) in rpcs.iter().take(SHOWN) {
        running.push(if *count == 1 {
            format!("RPC {said}")
        } else {
            format!("{count}x RPC {said}")
        });
    }
    if rpcs.len() > SHOWN {
        running.push(format!("{} more distinct RPCs", rpcs.len() - SHOWN));
    }
    for channel in spec.channel_ids() {
        let events = world.channels[channel.0 as usize].len();
        if events > 0 {
            let edge = spec.channel(channel);
            running.push(format!(
                "{events} events on {} -> {}",
                task_name(spec, edge.from),
                task_name(spec, edge.to)
            ));
        }
    }
    for (due, timer) in world.timers(spec) {
        let timer = match timer {
            Timer::Periodic => "the periodic trigger".to_string(),
            Timer::CheckpointTimeout { checkpoint } => format!("the timeout of {checkpoint}"),
            Timer::Alignment { task } => {
                format!("the alignment timer of {}", task_name(spec, task))
            }
            Timer::OutputAlignment { checkpoint } => {
                format!("the output alignment timer of {checkpoint}")
            }
        };
        running.push(format!("timer: {timer} due at {due}"));
    }
    let still_running = if !running.is_empty() {
        running.join("; ")
    } else if !unfinished.is_empty() {
        "nothing besides the unfinished subtasks: no checkpoint, RPC, channel event or timer is left".to_string()
    } else {
        format!(
            "nothing: every subtask finished and no checkpoint, RPC, channel event or timer is left, yet the coordinator never declared the job finished (it is {:?})",
            c.job
        )
    };
    Violation {
        invariant: HEALED_RUN_FINISHES,
        detail: format!(
            "faults stopped but the job did not finish: {cause} (job {:?}, clock {}); backlog: {queued} channel events queued on {busy_channels} channels, {} RPCs in flight, {} pending checkpoints; unfinished subtasks: {}; still running: {still_running}",
            c.job,
            world.now,
            world.rpcs.len(),
            c.pending.len(),
            if unfinished.is_empty() {
                "none, every subtask finished".to_string()
            } else {
                unfinished.join(", ")
            }
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
        (0..self.len(range.clone())).filter_map(move |n| self.nth(range.clone(), n))
    }

    /// How many seeds of `range` the shard holds (computed, not counted: a range may hold
    /// billions).
    pub fn len(self, range: Range<u64>) -> u64 {
        let size = range.end.saturating_sub(range.start);
        if self.count == 0 || self.index >= size {
            return 0;
        }
        (size - self.index).div_ceil(self.count)
    }

    /// Whether the shard holds no seed of `range`.
    pub fn is_empty(self, range: Range<u64>) -> bool {
        self.len(range) == 0
    }

    /// The shard's `n`-th seed of `range` (0-based), if it has that many.
    pub fn nth(self, range: Range<u64>, n: u64) -> Option<u64> {
        if n >= self.len(range.clone()) {
            return None;
        }
        Some(range.start + self.index + n * self.count)
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

/// Per-seed results a sweep still has to fold: at most one per thread beyond the folded prefix.
struct Tally {
    /// Seeds (by index in the shard) below this one are folded into the totals.
    folded_below: u64,
    seeds_run: u64,
    steps: u64,
    reached: Vec<u64>,
    /// Finished seeds above the folded prefix: index -> (steps, reached).
    waiting: std::collections::BTreeMap<u64, (u64, Vec<&'static str>)>,
}

impl Tally {
    fn fold(&mut self, steps: u64, reached: &[&'static str], names: &[&'static str]) {
        self.seeds_run += 1;
        self.steps += steps;
        for (count, name) in self.reached.iter_mut().zip(names) {
            if reached.contains(name) {
                *count += 1;
            }
        }
    }
}

/// Runs every seed of the shard on `threads` threads. Stops early after a failure, but always
/// finishes every seed below the failing one, so the reported failure is the lowest failing seed
/// whatever the thread count. `progress` is called with the number of seeds done. Memory does not
/// grow with the number of seeds: finished seeds are folded into the totals in order.
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
    let range = request.seeds.clone();
    let total = shard.len(range.clone());
    let pct_length = pct_run_length(spec, kind, bounds);
    let names: Vec<&'static str> = oracle
        .properties()
        .filter(|p| p.kind == Kind::Sometimes && p.applies(spec))
        .map(|p| p.name)
        .collect();
    let next = AtomicU64::new(0);
    let lowest_failure = AtomicU64::new(u64::MAX);
    let done = AtomicU64::new(0);
    let tally = Mutex::new(Tally {
        folded_below: 0,
        seeds_run: 0,
        steps: 0,
        reached: vec![0; names.len()],
        waiting: std::collections::BTreeMap::new(),
    });
    let failure: Mutex<Option<(u64, RunReport)>> = Mutex::new(None);
    std::thread::scope(|scope| {
        for _ in 0..threads.max(1) {
            scope.spawn(|| loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                let Some(seed) = shard.nth(range.clone(), index) else {
                    return;
                };
                if seed > lowest_failure.load(Ordering::Relaxed) {
                    return;
                }
                let report = run_with_length(spec, oracle, seed, kind, bounds, pct_length);
                let failed = matches!(report.outcome, Outcome::Violation { .. });
                {
                    let mut tally = tally.lock().expect("not poisoned");
                    if failed {
                        lowest_failure.fetch_min(seed, Ordering::Relaxed);
                    }
                    let entry = (report.actions.len() as u64, report.reached.clone());
                    tally.waiting.insert(index, entry);
                    // Fold the finished prefix, never past the lowest failure seen (a failure
                    // is recorded under the same lock before anything above it can fold).
                    loop {
                        let at = tally.folded_below;
                        let beyond = shard
                            .nth(range.clone(), at)
                            .is_none_or(|s| s > lowest_failure.load(Ordering::Relaxed));
                        if beyond {
                            break;
                        }
                        let Some((steps, reached)) = tally.waiting.remove(&at) else {
                            break;
                        };
                        tally.fold(steps, &reached, &names);
                        tally.folded_below += 1;
                    }
                }
                if failed {
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
    let tally = tally.into_inner().expect("not poisoned");
    // Totals cover exactly the seeds up to the reported failure: independent of thread count.
    // Every seed up to it finished, so the folded prefix already ends there; what still waits
    // lies above it.
    debug_assert!(tally.waiting.keys().all(|&index| shard
        .nth(range.clone(), index)
        .is_some_and(|seed| seed > failure.as_ref().map_or(u64::MAX, |(s, _)| *s))));
    debug_assert!(failure.is_some() || tally.seeds_run == total);
    SweepReport {
        seeds_run: tally.seeds_run,
        steps: tally.steps,
        failure,
        reached: names.into_iter().zip(tally.reached).collect(),
    }
}
