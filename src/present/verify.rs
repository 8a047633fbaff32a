//! The `verify` gate: everything that must hold before a change to the coordinator or the tasks
//! is merged, sized up front to fit a time budget, and its structured result.
//!
//! Over every embedded model it runs the simulator sweep (a fixed seed block plus a rotating one
//! the caller derives from the date), the model checker (exhaustive where the model is recorded
//! to complete within a CI job, bounded by a state budget where it is not), every catalogued bug
//! as a canary that must still be caught (through [`report`]'s machinery), every regression trace
//! under `traces/` (replayed to its recorded expectation, as `tests/corpus.rs` does; a trace
//! recorded with bugs switched on, a catalogued bug's counterexample, is replayed again without
//! them, for as long as the correct code follows its path, and must violate nothing), and the
//! conformance suite against real Flink where a JDK and Flink's jars are available
//! ([`conformance`]: seeded schedules of every model and every regression trace through the
//! model's coordinator and Flink 2.3's, compared after every input).
//!
//! [`plan`] sizes the work from the budget before anything runs (seed counts, state bounds, one
//! time limit per step); [`run`] executes one shard of the plan. The time budget is honoured by
//! that sizing and by every step's own limit: a sweep runs its seeds in blocks and stops at its
//! limit, a check stops at its state bound or its time limit, and a step whose turn comes after
//! the whole budget is spent is reported as not run (never as a pass). Wall-clock time comes in
//! through a [`Clock`] the caller provides; it only measures and stops, it never decides a
//! verdict's content. Nothing here prints.
//!
//! ```
//! use checkpoint_harness::present::verify::{self, Budget, Request};
//!
//! let request = Request { budget: Budget::seconds(5), ..Request::default() };
//! let plan = verify::plan(&request, &[]);
//! // Every embedded model is in the plan, with its sizes fixed before anything runs.
//! assert_eq!(plan.models().count(), checkpoint_harness::spec::Spec::all_embedded().len());
//! assert!(plan.fixed_seeds.end > plan.fixed_seeds.start);
//! ```

use crate::conformance::{self as flink_conformance, flink::FlinkDriver, Coverage};
use crate::error::InputError;
use crate::explore::check::{self, Bound, CheckOptions, PropertyResult, Status, Strategy, Verdict};
use crate::explore::scheduler::SchedulerKind;
use crate::explore::sim::{self, Outcome, RunBounds, Shard, Sweep};
use crate::oracle::invariants::{self, Kind, Oracle, Violation};
use crate::present::report;
use crate::system::bugs::{Bug, BugSet};
use crate::system::spec::Spec;
use crate::trace::{self, Expected, Origin, Trace};
use std::ops::Range;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// Elapsed wall-clock time since the run started, supplied by the caller (the binary reads the
/// clock; the library only compares against limits).
pub trait Clock {
    fn elapsed(&self) -> Duration;
}

/// How long `verify` may take, in seconds of wall-clock time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Budget {
    pub seconds: u64,
}

impl Budget {
    /// For a mutation-testing loop and the test suite: catches every canary, checks nothing
    /// exhaustively.
    pub const SMALL: Budget = Budget { seconds: 20 };
    /// A CI job on two cores.
    pub const DEFAULT: Budget = Budget { seconds: 300 };
    /// A nightly job: more seeds, larger bounds, and the model checker on every canary.
    pub const LARGE: Budget = Budget { seconds: 1200 };

    pub const fn seconds(seconds: u64) -> Budget {
        Budget { seconds }
    }

    /// `small`, `default`, `large`, or a duration: `90`, `90s`, `5m`, `1h`.
    pub fn parse(text: &str) -> Result<Budget, String> {
        let text = text.trim();
        match text {
            "small" => return Ok(Budget::SMALL),
            "default" => return Ok(Budget::DEFAULT),
            "large" => return Ok(Budget::LARGE),
            _ => {}
        }
        let (number, unit) = match text.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
            Some((at, _)) => text.split_at(at),
            None => (text, "s"),
        };
        let value: u64 = number.parse().map_err(|_| {
            format!("{text:?}: expected small, default, large or a duration like 90s or 5m")
        })?;
        let scale = match unit {
            "s" => 1,
            "m" => 60,
            "h" => 3600,
            _ => return Err(format!("{text:?}: unknown unit {unit:?} (use s, m or h)")),
        };
        let seconds = value.saturating_mul(scale);
        if seconds < 5 {
            return Err(format!(
                "{text:?}: a budget under 5 seconds cannot run every canary"
            ));
        }
        Ok(Budget { seconds })
    }

    /// The preset's name, or the seconds.
    pub fn name(self) -> String {
        match self {
            Budget::SMALL => "small".into(),
            Budget::DEFAULT => "default".into(),
            Budget::LARGE => "large".into(),
            Budget { seconds } => format!("{seconds} s"),
        }
    }
}

/// Models whose exhaustive check completes within a CI job, with the states it generates (from
/// `checkpoint-harness check MODEL`; the README's Performance section). Each is checked with a
/// bound of 1.5 times its recorded size, so a model that grew shows as bounded, not as a hang.
/// Every other model is checked up to a state bound. Add a model here when its exhaustive check
/// takes under a minute on two cores (the recipe in docs/extending.md).
/// Measured with partial-order reduction on (the default).
pub const EXHAUSTIVE: &[(&str, usize)] = &[
    ("keyed-join-2pc", 4_690_933),
    ("retained-checkpoints", 481_675),
    ("short-timeout", 621_196),
    ("broadcast", 5_246_046),
    ("async-sink", 4_328_295),
    ("incremental", 344_837),
    ("transactions", 2_799_159),
    ("split-source-savepoint", 5_352_817),
    ("transactions-resume", 5_613_934),
    ("transactions-retry", 7_926_501),
    ("transactions-mark", 7_954_384),
    // Small instances (`MODEL@small`, `system/instance.rs`): checked exhaustively beside the
    // bounded check of a model too large to complete.
    ("linear@small", 8_491_221),
    ("unaligned-union@small", 2_424_314),
    ("diamond@small", 4_987_444),
    ("drain@small", 20_994_912),
    ("ha-failures@small", 4_883_533),
    ("region-failover@small", 1_721_567),
    ("alignment-timeout@small", 29_102_685),
    ("task-lifecycle@small", 3_173_772),
    ("transactions-resume@small", 668_213),
    ("transactions-mark@small", 919_905),
];

/// Throughput assumed per worker thread when sizing the work, on purpose below what the slowest
/// two-core machine measured so far reaches (the README's Performance section, 2026-12-02: about
/// 160,000 to 190,000 states/s and 680 to 1,300 seeds/s per thread, 45 to 92 schedules/s with
/// Flink), so that a shared CI runner still finishes within the budget; a faster machine just
/// finishes early. Fixed, not measured at start: a shard must run its share of the same plan on
/// whatever machine it lands on.
#[derive(Clone, Copy, Debug)]
pub struct Rates {
    /// Simulator seeds per second (a run is a few hundred steps).
    pub sim_seeds_per_second: f64,
    /// Model-checker states generated per second.
    pub check_states_per_second: f64,
    /// Schedules compared with real Flink per second (one driver process).
    pub conformance_schedules_per_second: f64,
    /// Barrier-handler sequences compared with Flink's handlers per second.
    pub handler_sequences_per_second: f64,
}

pub const RATES: Rates = Rates {
    sim_seeds_per_second: 800.0,
    check_states_per_second: 180_000.0,
    conformance_schedules_per_second: 60.0,
    handler_sequences_per_second: 600.0,
};

/// Conformance divergences found and not yet resolved: a model's schedules are compared with
/// Flink only below its first open divergence's seed (one list, owned by `conformance`).
pub use crate::conformance::OPEN_DIVERGENCES as CONFORMANCE_OPEN;

/// What to verify.
#[derive(Clone, Debug)]
pub struct Request {
    pub budget: Budget,
    /// Worker threads for sweeps and checks (results never depend on it).
    pub threads: usize,
    /// First seed of the rotating block (the binary derives it from the date).
    pub seed_base: u64,
    /// Which share of the work this process runs (CI matrices).
    pub shard: Shard,
    /// Bugs switched on in every model, canary and trace: stands in for a change to the code.
    pub injected: BugSet,
    /// Stop at the first failing step (the rest is reported as not run): the verdict is the same
    /// FAIL, sooner. For mutation testing, where most mutants fail a step early.
    pub fail_fast: bool,
}

impl Default for Request {
    fn default() -> Self {
        Request {
            budget: Budget::DEFAULT,
            threads: 2,
            seed_base: 1_000_000,
            shard: Shard::ALL,
            injected: BugSet::default(),
            fail_fast: false,
        }
    }
}

/// How one model is model-checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CheckPlan {
    /// Recorded to complete: bounded only by 1.5 times its recorded size.
    Exhaustive { max_states: usize },
    /// Up to a state bound: the model does not complete within the budget.
    Bounded {
        max_states: usize,
        reason: BoundedReason,
    },
}

impl CheckPlan {
    pub fn max_states(self) -> usize {
        match self {
            CheckPlan::Exhaustive { max_states } | CheckPlan::Bounded { max_states, .. } => {
                max_states
            }
        }
    }
}

/// Why a model is checked up to a bound.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BoundedReason {
    /// Its state space is too large for any CI budget.
    TooLarge,
    /// It completes, but not within this budget (a larger `--budget` checks it exhaustively).
    OverBudget,
}

/// One unit of work.
#[derive(Clone, Debug)]
pub enum Item {
    /// The simulator sweep and the model check of one embedded model; the sweep stops at
    /// `sim_limit`, the check gets the rest of the item's limit.
    Model {
        name: String,
        check: CheckPlan,
        sim_limit: Duration,
        /// The exhaustive check of the model's small instance (`system/instance.rs`), where the
        /// full model is only checked up to a bound and the instance fits the budget.
        small: Option<CheckPlan>,
    },
    /// One catalogued bug that must still be caught.
    Canary(Bug),
    /// Every regression trace.
    Traces,
    /// The conformance suite against real Flink.
    Conformance,
}

impl Item {
    /// Whether the step replays recorded inputs exactly (the regression traces, the comparison
    /// with real Flink) instead of searching.
    fn is_replay(&self) -> bool {
        matches!(self, Item::Traces | Item::Conformance)
    }

    /// A short name for progress and test-case names.
    pub fn label(&self) -> String {
        match self {
            Item::Model { name, .. } => format!("model {name}"),
            Item::Canary(bug) => format!("canary {bug}"),
            Item::Traces => "regression traces".into(),
            Item::Conformance => "conformance".into(),
        }
    }
}

/// An item with its estimated cost and its own time limit.
#[derive(Clone, Debug)]
pub struct Planned {
    pub item: Item,
    pub estimate: Duration,
    pub limit: Duration,
}

/// The work, sized up front.
#[derive(Clone, Debug)]
pub struct Plan {
    pub request: Request,
    /// Seeds every model's sweep runs on every day.
    pub fixed_seeds: Range<u64>,
    /// Seeds that change with `seed_base`.
    pub rotating_seeds: Range<u64>,
    /// Seeds the simulator tries per canary (it stops at the first catch).
    pub canary_seeds: u64,
    /// Also run the model checker on canaries the simulator caught (large budgets).
    pub canary_check_always: bool,
    /// Seeded schedules per model compared with real Flink (from 0; capped below a model's
    /// first open divergence, [`CONFORMANCE_OPEN`]).
    pub conformance_seeds: u64,
    /// Seeded input sequences per barrier handler compared with Flink's own handler.
    pub handler_sequences: u64,
    /// Regression traces to replay, sorted.
    pub traces: Vec<String>,
    /// This shard's items, in run order.
    pub items: Vec<Planned>,
    /// Items of the whole plan (every shard).
    pub total_items: usize,
}

impl Plan {
    /// The models this shard checks, with their plans.
    pub fn models(&self) -> impl Iterator<Item = (&str, CheckPlan)> {
        self.items.iter().filter_map(|p| match &p.item {
            Item::Model { name, check, .. } => Some((name.as_str(), *check)),
            _ => None,
        })
    }

    /// The estimated wall time of this shard.
    pub fn estimate(&self) -> Duration {
        self.items.iter().map(|p| p.estimate).sum()
    }
}

fn round_up(value: f64, to: u64) -> u64 {
    ((value / to as f64).ceil() as u64).max(1) * to
}

fn seconds(value: f64) -> Duration {
    Duration::from_secs_f64(value.max(0.0))
}

/// Sizes the work for `request` over every embedded model, every catalogued bug and the given
/// regression traces, and keeps this shard's share. The sizes depend on the budget, the threads
/// and the seed base only, never on the shard: items are spread over shards by estimated cost
/// (largest first, each to the least-loaded shard), so the shards together run exactly the
/// unsharded plan.
pub fn plan(request: &Request, traces: &[String]) -> Plan {
    let threads = request.threads.max(1) as f64;
    let models = Spec::all_embedded();
    let sim_rate = RATES.sim_seeds_per_second * threads;
    let check_rate = RATES.check_states_per_second * threads;
    // The plan depends on the budget, the threads and the seed base only; a shard runs its share
    // of that same plan (so the shards together run exactly the unsharded work, faster).
    let usable = request.budget.seconds as f64 * 0.85;
    let large = request.budget.seconds >= Budget::LARGE.seconds;

    // Canaries are budgeted first: they are what makes a pass mean something. The simulator
    // catches most at a low seed; the estimate assumes a few hundred seeds each.
    let canary_seeds = 2000;
    let canary_sim = 0.15;
    let canary_check_always = large;
    let canary_cost = |bug: Bug| -> f64 {
        let check = match bug.showcase().check {
            Ok(plan) if canary_check_always => {
                plan.max_states as f64 / RATES.check_states_per_second
            }
            _ => 0.0,
        };
        canary_sim + check
    };
    let canaries: f64 = Bug::ALL.iter().map(|b| canary_cost(*b)).sum();
    let trace_cost = 0.5 + traces.len() as f64 * 0.05;
    // Conformance with real Flink (when available) is sized from the reserve the other steps
    // leave (15% of the budget): two thirds of it, a tenth of the budget, at least 10 schedules
    // per model. Per second it is the strictest judge of the coordinator (it compares every
    // input's effects and the state after it), so it gets more than its share of the reserve.
    let reserve = request.budget.seconds as f64 - usable;
    let conformance_seeds = round_up(
        reserve * 2.0 / 3.0 * RATES.conformance_schedules_per_second / models.len() as f64,
        10,
    )
    .max(10);
    // The task side's handlers get a sixth of the reserve, at least 1000 sequences each
    // (about a second per handler on a loaded machine).
    let handler_kinds = flink_conformance::handlers::HandlerKind::ALL.len() as f64;
    let handler_sequences = round_up(
        reserve / 6.0 * RATES.handler_sequences_per_second / handler_kinds,
        100,
    )
    .max(1000);
    let conformance_cost = 1.0
        + (conformance_seeds as f64 * models.len() as f64 + traces.len() as f64)
            / RATES.conformance_schedules_per_second
        + handler_sequences as f64 * handler_kinds / RATES.handler_sequences_per_second;
    let rest = (usable - canaries - trace_cost).max(usable * 0.3);

    // A third to the simulator (it catches most bugs): two thirds fixed seeds, one third
    // rotating.
    let sim_share = rest * 0.35;
    let per_model = sim_share * sim_rate / models.len() as f64;
    let fixed = round_up(per_model * 2.0 / 3.0, 100).max(200);
    let rotating = round_up(per_model / 3.0, 100).max(100);
    let sim_cost = (fixed + rotating) as f64 / sim_rate;

    // The rest to the model checker: exhaustive models smallest first while they fit in 70% of
    // it, then equal bounds for the others.
    let check_share = rest - sim_share;
    let mut exhaustive: Vec<(&str, usize)> = EXHAUSTIVE
        .iter()
        .copied()
        .filter(|(name, _)| models.iter().any(|m| m.name == *name))
        .collect();
    exhaustive.sort_by_key(|(_, states)| *states);
    let mut chosen = Vec::new();
    let mut spent = 0.0;
    for (name, states) in &exhaustive {
        let cost = *states as f64 * 1.1 / check_rate;
        if spent + cost <= check_share * 0.7 {
            spent += cost;
            chosen.push(*name);
        }
    }
    // Then the small instances of the models left bounded, smallest first, in what remains of
    // that 70%: an exhaustive verdict on a small scope, beside the full model's bounded check.
    let mut instances: Vec<(&str, usize)> = EXHAUSTIVE
        .iter()
        .copied()
        .filter(|(name, _)| {
            Spec::small_base(name).is_some_and(|base| {
                !chosen.contains(&base)
                    && models.iter().any(|m| m.name == base && m.small.is_some())
            })
        })
        .collect();
    instances.sort_by_key(|(_, states)| *states);
    let mut small_chosen: Vec<(&str, usize)> = Vec::new();
    for (name, states) in &instances {
        let cost = *states as f64 * 1.1 / check_rate;
        if spent + cost <= check_share * 0.7 {
            spent += cost;
            small_chosen.push((name, *states));
        }
    }
    let bounded_count = models.len() - chosen.len();
    let bounded_states = if bounded_count == 0 {
        0
    } else {
        let states = (check_share - spent) * check_rate / bounded_count as f64;
        (round_up(states, 10_000) as usize).clamp(50_000, 40_000_000)
    };

    let mut all: Vec<Planned> = Vec::new();
    for spec in &models {
        let recorded = EXHAUSTIVE.iter().find(|(n, _)| *n == spec.name);
        let check = match recorded {
            Some((_, states)) if chosen.contains(&spec.name.as_str()) => CheckPlan::Exhaustive {
                max_states: states + states / 2,
            },
            Some(_) => CheckPlan::Bounded {
                max_states: bounded_states,
                reason: BoundedReason::OverBudget,
            },
            None => CheckPlan::Bounded {
                max_states: bounded_states,
                reason: BoundedReason::TooLarge,
            },
        };
        let small_name = format!("{}{}", spec.name, crate::system::instance::SMALL_SUFFIX);
        let small = small_chosen
            .iter()
            .find(|(name, _)| *name == small_name)
            .map(|(_, states)| *states);
        let check_cost = match check {
            CheckPlan::Exhaustive { .. } => recorded.map_or(0, |(_, s)| *s) as f64 / check_rate,
            CheckPlan::Bounded { max_states, .. } => max_states as f64 / check_rate,
        } + small.unwrap_or(0) as f64 / check_rate;
        let estimate = sim_cost + check_cost;
        all.push(Planned {
            item: Item::Model {
                name: spec.name.clone(),
                check,
                sim_limit: seconds(sim_cost * 2.0 + 2.0),
                small: small.map(|states| CheckPlan::Exhaustive {
                    max_states: states + states / 2,
                }),
            },
            estimate: seconds(estimate),
            limit: seconds(estimate * 2.0 + 5.0),
        });
    }
    for bug in Bug::ALL {
        let estimate = canary_cost(*bug);
        let check_limit = match bug.showcase().check {
            Ok(plan) => plan.max_states as f64 / RATES.check_states_per_second,
            Err(_) => 0.0,
        };
        all.push(Planned {
            item: Item::Canary(*bug),
            estimate: seconds(estimate),
            limit: seconds(estimate.max(check_limit) * 2.0 + 5.0),
        });
    }
    all.push(Planned {
        item: Item::Traces,
        estimate: seconds(trace_cost),
        limit: seconds(trace_cost * 4.0 + 5.0),
    });
    all.push(Planned {
        item: Item::Conformance,
        estimate: seconds(conformance_cost),
        limit: seconds(conformance_cost * 2.0 + 10.0),
    });
    let total_items = all.len();

    // Spread over shards: largest first, each to the least-loaded shard (ties: lowest index).
    let count = request.shard.count.max(1) as usize;
    let mut order: Vec<usize> = (0..all.len()).collect();
    order.sort_by(|a, b| all[*b].estimate.cmp(&all[*a].estimate).then(a.cmp(b)));
    let mut load = vec![Duration::ZERO; count];
    let mut owner = vec![0usize; all.len()];
    for index in order {
        let shard = (0..count)
            .min_by_key(|s| (load[*s], *s))
            .expect("at least one shard");
        load[shard] += all[index].estimate;
        owner[index] = shard;
    }
    let mut items: Vec<Planned> = all
        .into_iter()
        .zip(owner)
        .filter(|(_, shard)| *shard as u64 == request.shard.index)
        .map(|(item, _)| item)
        .collect();
    if request.fail_fast {
        // The exact replays first (the regression traces, then the comparison with real Flink:
        // they judge a change at the first input where it differs), then the cheapest first,
        // so that the first failure comes as soon as it can (stable: ties keep the usual order). A change can slow the
        // canaries' sweeps down (a mutant that breaks the request queue made them take the
        // whole small budget) where a replay tells at once.
        items.sort_by_key(|planned| (!planned.item.is_replay(), planned.estimate));
    }

    Plan {
        request: request.clone(),
        fixed_seeds: 0..fixed,
        rotating_seeds: request.seed_base..request.seed_base + rotating,
        canary_seeds,
        canary_check_always,
        conformance_seeds,
        handler_sequences,
        traces: traces.to_vec(),
        items,
        total_items,
    }
}

/// Every `*.json` file under `dir` (recursively), sorted: the regression traces.
pub fn trace_files(dir: &str) -> Result<Vec<String>, InputError> {
    fn walk(dir: &Path, out: &mut Vec<String>) -> Result<(), InputError> {
        let entries = std::fs::read_dir(dir).map_err(|e| {
            InputError::new(dir.display().to_string(), "", format!("cannot list: {e}"))
        })?;
        let mut paths: Vec<_> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        paths.sort();
        for path in paths {
            if path.is_dir() {
                walk(&path, out)?;
            } else if path.extension().is_some_and(|e| e == "json") {
                out.push(path.to_string_lossy().into_owned());
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    walk(Path::new(dir), &mut out)?;
    Ok(out)
}

/// A simulator failure, ready to be saved and replayed.
#[derive(Clone, Debug)]
pub struct SimFailure {
    pub seed: u64,
    pub step: usize,
    pub invariant: &'static str,
    pub detail: String,
    pub configuration: String,
    pub trace: Trace,
    /// The arguments of the `sim` command that reruns it (after the program's name).
    pub rerun: String,
}

/// A model's simulator sweep.
#[derive(Clone, Debug)]
pub struct SimResult {
    pub fixed: Range<u64>,
    pub rotating: Range<u64>,
    pub seeds_run: u64,
    pub steps: u64,
    /// The lowest failing seed (fixed block first).
    pub failure: Option<SimFailure>,
    /// The step's time limit stopped the sweep before every planned seed ran.
    pub cut_short: bool,
    /// Runs reaching each applicable non-vacuity property.
    pub reached: Vec<(&'static str, u64)>,
    pub seconds: f64,
}

/// A model checker's counterexample, ready to be saved and replayed.
#[derive(Clone, Debug)]
pub struct CheckFailure {
    pub invariant: &'static str,
    pub detail: String,
    pub shortest: bool,
    pub trace: Trace,
    /// The arguments of the `check` command that reruns it (after the program's name).
    pub rerun: String,
}

/// A model's check.
#[derive(Clone, Debug)]
pub struct CheckResult {
    pub plan: CheckPlan,
    pub verdict: Verdict,
    pub unique_states: usize,
    pub total_states: usize,
    pub max_depth: usize,
    pub properties: Vec<PropertyResult>,
    pub failure: Option<CheckFailure>,
    pub seconds: f64,
}

/// How a model's check ended, in the gate's terms.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CheckStatus {
    /// Exhaustive: every property held, every non-vacuity property reached.
    Complete,
    /// No violation within the bound (states, or the time limit).
    Bounded,
    /// A property failed.
    Violated,
    /// Exhaustive but a non-vacuity property was never reached: not a pass.
    Vacuous,
}

impl CheckResult {
    pub fn status(&self) -> CheckStatus {
        match self.verdict {
            Verdict::Pass => CheckStatus::Complete,
            Verdict::Partial { .. } => CheckStatus::Bounded,
            Verdict::Violated { .. } => CheckStatus::Violated,
            Verdict::Vacuous { .. } => CheckStatus::Vacuous,
        }
    }

    pub fn passed(&self) -> bool {
        matches!(self.status(), CheckStatus::Complete | CheckStatus::Bounded)
    }

    /// Planned as exhaustive but stopped at a bound (the model grew, or the machine is slow).
    pub fn fell_short(&self) -> bool {
        matches!(self.plan, CheckPlan::Exhaustive { .. }) && self.status() == CheckStatus::Bounded
    }

    /// What stopped a bounded check.
    pub fn bound(&self) -> Option<Bound> {
        match self.verdict {
            Verdict::Partial { bound } => Some(bound),
            _ => None,
        }
    }
}

/// One model's results.
#[derive(Clone, Debug)]
pub struct ModelResult {
    pub model: String,
    pub file: String,
    pub sim: SimResult,
    pub check: CheckResult,
    /// The model's non-vacuity (`sometimes`) properties that neither the sweep nor the check
    /// reached: the model stopped exercising what it is for (judged only when the sweep ran every
    /// planned seed and nothing failed).
    pub unreached: Vec<&'static str>,
    /// The exhaustive check of the model's small instance, where it was planned.
    pub small: Option<SmallResult>,
    pub seconds: f64,
}

impl ModelResult {
    pub fn passed(&self) -> bool {
        self.sim.failure.is_none()
            && self.check.passed()
            && self.unreached.is_empty()
            && self.small.as_ref().is_none_or(|s| s.check.passed())
    }
}

/// A model's small instance (`MODEL@small`) and its exhaustive check.
#[derive(Clone, Debug)]
pub struct SmallResult {
    /// `MODEL@small`.
    pub model: String,
    /// `models/MODEL.toml@small`: what `check` takes to rerun it.
    pub file: String,
    /// The overrides in words (`records <= 2, time 20`).
    pub scope: String,
    /// What the instance leaves out and why it still exercises the model's topic.
    pub why: String,
    pub check: CheckResult,
}

/// The non-vacuity properties no seed of a complete sweep and no state of the check reached. A
/// change that switches a mechanism off (storage writes never fail, an alignment timer never
/// armed) breaks no safety property: the model's runs just stop reaching the situations its
/// invariants are there to judge, so every invariant passes vacuously. That is a failure of
/// the gate, as a `sometimes` property never reached is for an exhaustive check.
fn unreached(sim: &SimResult, check: &CheckResult) -> Vec<&'static str> {
    if sim.failure.is_some() || sim.cut_short || !check.passed() {
        return Vec::new();
    }
    sim.reached
        .iter()
        .filter(|(name, runs)| *runs == 0 && !invariants::SWEEP_RARE.contains(name))
        .map(|(name, _)| *name)
        .filter(|name| {
            !check
                .properties
                .iter()
                .any(|p| p.name == *name && p.status == Status::Reached)
        })
        .collect()
}

/// One canary: a catalogued bug switched on in its showcase model.
#[derive(Clone, Debug)]
pub struct CanaryResult {
    pub bug: Bug,
    pub model: &'static str,
    /// The invariant(s) it must violate (`a|b`).
    pub expected: &'static str,
    pub sim: report::SimResult,
    pub check: Option<report::CheckResult>,
    pub seconds: f64,
}

impl CanaryResult {
    /// Which explorer caught it first and with which invariant.
    pub fn caught_by(&self) -> Option<(&'static str, &'static str)> {
        if let Some(invariant) = self.sim.invariant {
            return Some(("sim", invariant));
        }
        self.check
            .as_ref()
            .and_then(|c| c.invariant)
            .map(|i| ("check", i))
    }

    pub fn caught(&self) -> bool {
        self.caught_by().is_some()
    }

    /// Caught with one of the invariants the catalogue expects.
    pub fn as_expected(&self) -> bool {
        self.caught_by()
            .is_some_and(|(_, i)| self.bug.showcase().accepts(i))
    }

    /// The arguments of the command that reruns it (after the program's name).
    pub fn rerun(&self) -> String {
        format!("bugs --report --bug {}", self.bug)
    }
}

/// One regression trace.
#[derive(Clone, Debug)]
pub struct TraceResult {
    pub path: String,
    /// What the file records (`None` if it did not load).
    pub expected: Option<Expected>,
    /// What the replay gave, or why it could not replay.
    pub got: Result<Expected, String>,
    /// A trace recorded with bugs switched on (a catalogued bug's counterexample), replayed
    /// again without them: `None` for a trace without bugs, or one that did not load.
    pub without_bugs: Option<WithoutBugs>,
}

impl TraceResult {
    /// The replay gave the recorded outcome, and the replay without the trace's bugs violated
    /// nothing.
    pub fn reproduced(&self) -> bool {
        self.outcome_reproduced() && self.recreated().is_none()
    }

    /// The replay gave the recorded outcome.
    pub fn outcome_reproduced(&self) -> bool {
        matches!((&self.expected, &self.got), (Some(e), Ok(g)) if e == g)
    }

    /// The violation the correct code gave on the trace's path without the trace's bugs: the
    /// catalogued bug re-created outside its own code.
    pub fn recreated(&self) -> Option<&Violation> {
        self.without_bugs.as_ref()?.violation.as_ref()
    }
}

/// A bug trace replayed on its model without its own bugs (the correct code; bugs injected into
/// the whole run stay on), for as long as each recorded action is enabled: the correct code may
/// leave the recorded path, but nothing on the way may violate an invariant. Mutation testing
/// found changes outside a bug's own code that re-create it; the replay with the bug on still
/// reproduces, this one does not pass.
#[derive(Clone, Debug)]
pub struct WithoutBugs {
    /// The bugs switched off: the trace's own, less the injected ones.
    pub removed: BugSet,
    /// The bugs still on (the injected ones).
    pub kept: BugSet,
    /// Actions applied: all of them, those before the first the correct code does not enable,
    /// or those up to and including the one after which an invariant failed.
    pub applied: usize,
    /// The trace's actions.
    pub total: usize,
    /// The first invariant violated, after action `applied` (counting from 1).
    pub violation: Option<Violation>,
    /// The actions up to the violation as a trace of the model without the bugs, to replay it
    /// (`None` without a violation, or where the trace's model text switches a removed bug on
    /// itself, so that no trace file can leave it off).
    pub trace: Option<Trace>,
}

/// The conformance suite against real Flink.
#[derive(Clone, Debug)]
pub enum Conformance {
    /// Real Flink cannot run here; the reason says why and how to enable it. Neither a pass
    /// nor a failure.
    NotAvailable(String),
    Ran(ConformanceResult),
}

/// What comparing with real Flink found.
#[derive(Clone, Debug, Default)]
pub struct ConformanceResult {
    /// Per model: the seeds compared, and the first divergence or why it was not compared.
    pub models: Vec<ConformanceModel>,
    /// Per barrier handler (the task side): the sequences compared with Flink's handler.
    pub handlers: Vec<HandlerConformance>,
    /// Regression traces compared, and those that diverged where they must not.
    pub traces_compared: usize,
    pub trace_divergences: Vec<ConformanceDivergence>,
    /// Schedules and traces compared, and coordinator inputs compared.
    pub runs: u64,
    pub inputs: u64,
    /// The step's time limit stopped it before everything planned was compared.
    pub cut_short: bool,
    /// The driver failed (not a divergence: the comparison could not run).
    pub driver_error: Option<String>,
    pub seconds: f64,
}

impl ConformanceResult {
    pub fn divergences(&self) -> impl Iterator<Item = &ConformanceDivergence> {
        self.handlers
            .iter()
            .filter_map(|h| h.divergence.as_ref())
            .chain(self.models.iter().filter_map(|m| m.divergence.as_ref()))
            .chain(&self.trace_divergences)
    }

    pub fn passed(&self) -> bool {
        self.divergences().next().is_none() && self.driver_error.is_none()
    }
}

/// One model's schedules compared with Flink.
#[derive(Clone, Debug)]
pub struct ConformanceModel {
    pub model: String,
    pub seeds: Range<u64>,
    pub compared: u64,
    pub divergence: Option<ConformanceDivergence>,
    /// Why the model was not compared (its setup cannot be expressed for the driver).
    pub not_compared: Option<String>,
}

/// One barrier handler's sequences compared with Flink's handler.
#[derive(Clone, Debug)]
pub struct HandlerConformance {
    /// `tracker`, `aligned` or `alternating`.
    pub handler: &'static str,
    pub seeds: Range<u64>,
    pub compared: u64,
    pub inputs: u64,
    /// Sequences cut short where Flink's handler threw (its task would fail).
    pub stopped: u64,
    pub divergence: Option<ConformanceDivergence>,
}

/// The first input after which the model and Flink differ.
#[derive(Clone, Debug)]
pub struct ConformanceDivergence {
    /// `linear seed 12`, or a trace's path.
    pub what: String,
    /// 1-based input index, the differing field and both sides' values.
    pub input: usize,
    pub field: &'static str,
    pub model_value: String,
    pub flink_value: String,
    /// The arguments of the `conform` command that reruns, shrinks and shows it.
    pub rerun: String,
}

fn divergence(
    what: String,
    found: &flink_conformance::Divergence,
    rerun: String,
) -> ConformanceDivergence {
    ConformanceDivergence {
        what,
        input: found.input + 1,
        field: found.field,
        model_value: found.model_value.clone(),
        flink_value: found.flink_value.clone(),
        rerun,
    }
}

/// The conformance step: seeded schedules of every model (with the injected bugs), from seed 0
/// and below the model's first open divergence, then every regression trace, through the
/// model's coordinator and Flink 2.3's real `CheckpointCoordinator` (`crate::conformance`, the
/// Java driver in `conformance/`), compared after every input. A trace may diverge only if it
/// records a coordinator bug of its own (as `tests/conformance.rs` asserts). Where Java or
/// Flink's jars are missing it reports that it is not available.
pub fn conformance(plan: &Plan, limit: Duration, clock: &dyn Clock) -> Conformance {
    let mut driver = match FlinkDriver::start(None) {
        Ok(driver) => driver,
        Err(why) => {
            return Conformance::NotAvailable(format!(
                "not available here ({why}); to enable it, {}",
                flink_conformance::flink::HOW_TO_ENABLE
            ))
        }
    };
    let started = clock.elapsed();
    let out_of_time = |clock: &dyn Clock| clock.elapsed() - started >= limit;
    let injected = plan.request.injected;
    let flags = bug_flags(injected);
    let mut result = ConformanceResult::default();
    let mut coverage = Coverage::default();
    // The task side first: a second for thousands of sequences, and the only comparison that
    // reaches the barrier handlers' corner cases (skipped ids, markers after barriers).
    let handler_spec = flink_conformance::handlers::handler_spec(injected);
    for kind in flink_conformance::handlers::HandlerKind::ALL {
        if result.driver_error.is_some() || result.cut_short {
            break;
        }
        let mut handler = HandlerConformance {
            handler: kind.name(),
            seeds: 0..plan.handler_sequences,
            compared: 0,
            inputs: 0,
            stopped: 0,
            divergence: None,
        };
        for seed in 0..plan.handler_sequences {
            if out_of_time(clock) {
                result.cut_short = true;
                break;
            }
            let (channels, inputs) =
                flink_conformance::handlers::sequence(kind, &handler_spec, seed);
            match flink_conformance::handlers::compare(
                &mut driver,
                kind,
                &handler_spec,
                channels,
                &inputs,
            ) {
                Ok(Ok(done)) => {
                    handler.compared += 1;
                    handler.inputs += done.inputs as u64;
                    handler.stopped += u64::from(done.stopped.is_some());
                }
                Ok(Err(found)) => {
                    handler.compared += 1;
                    handler.inputs += found.input as u64 + 1;
                    handler.divergence = Some(ConformanceDivergence {
                        what: format!("{} handler seed {seed}", kind.name()),
                        input: found.input + 1,
                        field: found.field,
                        model_value: found.model_value.clone(),
                        flink_value: found.flink_value.clone(),
                        rerun: format!(
                            "conform --handler {} --seeds {seed}..{}{flags}",
                            kind.name(),
                            seed + 1
                        ),
                    });
                    break;
                }
                Err(error) => {
                    result.driver_error = Some(error);
                    break;
                }
            }
        }
        result.runs += handler.compared;
        result.inputs += handler.inputs;
        result.handlers.push(handler);
    }
    'models: for spec in Spec::all_embedded() {
        if result.driver_error.is_some() || result.cut_short {
            break;
        }
        let spec = crate::conformance::compared_spec(spec.with_bugs(injected));
        let first_open = CONFORMANCE_OPEN
            .iter()
            .find(|(name, _)| *name == spec.name)
            .map_or(u64::MAX, |(_, seed)| *seed);
        let seeds = 0..plan.conformance_seeds.min(first_open);
        let mut model = ConformanceModel {
            model: spec.name.clone(),
            seeds: seeds.clone(),
            compared: 0,
            divergence: None,
            not_compared: None,
        };
        for seed in seeds {
            if out_of_time(clock) {
                result.cut_short = true;
                result.runs += model.compared;
                result.models.push(model);
                break 'models;
            }
            let actions = flink_conformance::schedule(&spec, seed);
            match flink_conformance::compare(&mut driver, &spec, &actions, &mut coverage) {
                Ok(flink_conformance::Verdict::Conforms { inputs, .. }) => {
                    model.compared += 1;
                    result.inputs += inputs as u64;
                }
                Ok(flink_conformance::Verdict::Diverges(found)) => {
                    model.compared += 1;
                    result.inputs += found.input as u64 + 1;
                    model.divergence = Some(divergence(
                        format!("{} seed {seed}", spec.name),
                        &found,
                        format!("conform {} --seeds {seed}..{}{flags}", spec.file, seed + 1),
                    ));
                    break;
                }
                Ok(
                    flink_conformance::Verdict::SetupRejected(why)
                    | flink_conformance::Verdict::NotExpressible { why, .. },
                ) => {
                    model.not_compared = Some(why);
                    break;
                }
                Err(error) => {
                    result.driver_error = Some(error);
                    result.runs += model.compared;
                    result.models.push(model);
                    break 'models;
                }
            }
        }
        result.runs += model.compared;
        result.models.push(model);
    }
    if result.driver_error.is_none() && !result.cut_short {
        for path in &plan.traces {
            if out_of_time(clock) {
                result.cut_short = true;
                break;
            }
            // A file that does not load is reported by the regression-trace step.
            let Ok(trace) = Trace::load(path) else {
                continue;
            };
            let Ok(spec) = trace.spec(path) else {
                continue;
            };
            let own_coordinator_bug = spec.bugs.iter().any(|bug| bug.layer() == "coordinator");
            let spec = spec.with_bugs(injected);
            match flink_conformance::compare(&mut driver, &spec, &trace.actions, &mut coverage) {
                Ok(flink_conformance::Verdict::Diverges(found)) if !own_coordinator_bug => {
                    result.inputs += found.input as u64 + 1;
                    result.trace_divergences.push(divergence(
                        path.clone(),
                        &found,
                        format!("conform --trace {path}"),
                    ));
                }
                Ok(flink_conformance::Verdict::Conforms { inputs, .. }) => {
                    result.inputs += inputs as u64;
                }
                Ok(_) => {}
                Err(error) => {
                    result.driver_error = Some(error);
                    break;
                }
            }
            result.traces_compared += 1;
            result.runs += 1;
        }
    }
    result.seconds = (clock.elapsed() - started).as_secs_f64();
    Conformance::Ran(result)
}

/// An item that was not run: the budget was spent before its turn, or (`fail_fast`) an earlier
/// step had failed.
#[derive(Clone, Debug)]
pub struct Skipped {
    pub label: String,
    pub after_failure: bool,
}

/// Everything `verify` found.
#[derive(Clone, Debug)]
pub struct Report {
    pub plan: Plan,
    pub models: Vec<ModelResult>,
    pub canaries: Vec<CanaryResult>,
    /// `None` when another shard replays the traces.
    pub traces: Option<Vec<TraceResult>>,
    /// `None` when another shard runs it.
    pub conformance: Option<Conformance>,
    pub skipped: Vec<Skipped>,
    pub seconds: f64,
}

impl Report {
    /// Every model passed, every canary was caught, every trace reproduced, real Flink agreed
    /// (where it ran), nothing was skipped.
    pub fn passed(&self) -> bool {
        !self.failed_so_far() && self.skipped.is_empty()
    }

    /// Some step that ran has failed (what `fail_fast` stops at).
    pub fn failed_so_far(&self) -> bool {
        !self.models.iter().all(ModelResult::passed)
            || !self.canaries.iter().all(CanaryResult::caught)
            || !self.traces.iter().flatten().all(TraceResult::reproduced)
            || matches!(&self.conformance, Some(Conformance::Ran(c)) if !c.passed())
    }

    /// Models checked exhaustively, and bounded.
    pub fn exhaustive_count(&self) -> usize {
        self.models
            .iter()
            .filter(|m| m.check.status() == CheckStatus::Complete)
            .count()
    }

    /// Models checked up to a bound whose small instance was checked exhaustively.
    pub fn small_exhaustive_count(&self) -> usize {
        self.models
            .iter()
            .filter(|m| m.check.status() != CheckStatus::Complete)
            .filter(|m| {
                m.small
                    .as_ref()
                    .is_some_and(|s| s.check.status() == CheckStatus::Complete)
            })
            .count()
    }
}

/// What [`run`] is doing, for a progress display.
#[derive(Clone, Debug)]
pub struct Progress {
    /// Items finished so far, and in this shard.
    pub done: usize,
    pub items: usize,
    /// What runs now, e.g. `model linear: check 120000 states`.
    pub message: String,
}

struct Context<'a> {
    plan: &'a Plan,
    clock: &'a dyn Clock,
    progress: &'a mut dyn FnMut(Progress),
    done: usize,
}

impl Context<'_> {
    fn tell(&mut self, message: String) {
        (self.progress)(Progress {
            done: self.done,
            items: self.plan.items.len(),
            message,
        });
    }
}

/// Runs this shard of the plan. `progress` is called as steps start and advance.
pub fn run(plan: &Plan, clock: &dyn Clock, progress: &mut dyn FnMut(Progress)) -> Report {
    let budget = Duration::from_secs(plan.request.budget.seconds);
    let mut context = Context {
        plan,
        clock,
        progress,
        done: 0,
    };
    let mut report = Report {
        plan: plan.clone(),
        models: Vec::new(),
        canaries: Vec::new(),
        traces: None,
        conformance: None,
        skipped: Vec::new(),
        seconds: 0.0,
    };
    for planned in &plan.items {
        let started = clock.elapsed();
        let after_failure = plan.request.fail_fast && report.failed_so_far();
        if after_failure || started >= budget {
            report.skipped.push(Skipped {
                label: planned.item.label(),
                after_failure,
            });
            context.done += 1;
            continue;
        }
        // A step's own limit, never past the end of the budget.
        let limit = planned.limit.min(budget.saturating_sub(started));
        context.tell(planned.item.label());
        match &planned.item {
            Item::Model {
                name,
                check,
                sim_limit,
                small,
            } => {
                let spec = Spec::embedded(name)
                    .expect("planned models are embedded")
                    .with_bugs(plan.request.injected);
                let checks = Checks {
                    full: *check,
                    small: *small,
                };
                let result = verify_model(&spec, checks, *sim_limit, limit, &mut context);
                report.models.push(result);
            }
            Item::Canary(bug) => {
                report.canaries.push(canary(*bug, limit, &mut context));
            }
            Item::Traces => {
                report.traces = Some(replay_traces(plan, limit, &mut context));
            }
            Item::Conformance => {
                report.conformance = Some(conformance(plan, limit, clock));
            }
        }
        context.done += 1;
    }
    report.seconds = clock.elapsed().as_secs_f64();
    report
}

fn bug_flags(bugs: BugSet) -> String {
    bugs.iter().map(|b| format!(" --bug {b}")).collect()
}

/// A model's checks: the full model's, and its small instance's where planned.
#[derive(Clone, Copy, Debug)]
struct Checks {
    full: CheckPlan,
    small: Option<CheckPlan>,
}

fn verify_model(
    spec: &Spec,
    checks: Checks,
    sim_limit: Duration,
    limit: Duration,
    context: &mut Context<'_>,
) -> ModelResult {
    let started = context.clock.elapsed();
    let deadline = started + limit;
    // The simulator stops at its own limit; the small instance's check (recorded to complete)
    // comes next, and the full model's bounded check gets what is left of the step's limit.
    let sim = sweep(spec, started + sim_limit.min(limit), context);
    let small = checks.small.and_then(|plan| {
        let instance = spec.small_instance()?;
        let remaining = deadline.saturating_sub(context.clock.elapsed());
        let check = model_check(
            &instance,
            plan,
            remaining.max(Duration::from_secs(1)),
            context,
        );
        Some(SmallResult {
            model: instance.name.clone(),
            file: instance.file.clone(),
            scope: spec.small.as_ref().map(|s| s.summary()).unwrap_or_default(),
            why: spec
                .small
                .as_ref()
                .map(|s| s.why.clone())
                .unwrap_or_default(),
            check,
        })
    });
    let remaining = deadline.saturating_sub(context.clock.elapsed());
    let check = model_check(
        spec,
        checks.full,
        remaining.max(Duration::from_secs(1)),
        context,
    );
    ModelResult {
        model: spec.name.clone(),
        file: spec.file.clone(),
        unreached: unreached(&sim, &check),
        sim,
        check,
        small,
        seconds: (context.clock.elapsed() - started).as_secs_f64(),
    }
}

/// The fixed block, then the rotating one, in blocks of seeds so that the time limit is honoured
/// between blocks; the lowest failing seed of the first failing block is reported.
fn sweep(spec: &Spec, deadline: Duration, context: &mut Context<'_>) -> SimResult {
    let plan = context.plan;
    let started = context.clock.elapsed();
    let oracle = Oracle::new(spec);
    let threads = plan.request.threads.max(1);
    let block = 128 * threads as u64;
    let mut seeds_run = 0;
    let mut steps = 0;
    let mut reached: Vec<(&'static str, u64)> = Vec::new();
    let mut failure = None;
    let mut cut_short = false;
    'blocks: for range in [plan.fixed_seeds.clone(), plan.rotating_seeds.clone()] {
        let mut start = range.start;
        while start < range.end {
            if context.clock.elapsed() >= deadline {
                cut_short = true;
                break 'blocks;
            }
            let end = (start + block).min(range.end);
            let request = Sweep {
                seeds: start..end,
                shard: Shard::ALL,
                scheduler: SchedulerKind::Random,
                bounds: RunBounds::of(spec),
                threads,
            };
            let report = sim::sweep(spec, &oracle, &request, &|_| {});
            seeds_run += report.seeds_run;
            steps += report.steps;
            for (name, count) in report.reached {
                match reached.iter_mut().find(|(n, _)| *n == name) {
                    Some(entry) => entry.1 += count,
                    None => reached.push((name, count)),
                }
            }
            if let Some((seed, run)) = report.failure {
                failure = Some(sim_failure(spec, plan.request.injected, seed, run));
                break 'blocks;
            }
            start = end;
            context.tell(format!("model {}: simulator {seeds_run} seeds", spec.name));
        }
    }
    SimResult {
        fixed: plan.fixed_seeds.clone(),
        rotating: plan.rotating_seeds.clone(),
        seeds_run,
        steps,
        failure,
        cut_short,
        reached,
        seconds: (context.clock.elapsed() - started).as_secs_f64(),
    }
}

fn sim_failure(spec: &Spec, injected: BugSet, seed: u64, run: sim::RunReport) -> SimFailure {
    let (invariant, detail, step) = match &run.outcome {
        Outcome::Violation { violation, step } => {
            (violation.invariant, violation.detail.clone(), *step)
        }
        Outcome::Pass => ("", String::new(), 0),
    };
    let configuration = run.config.describe();
    let mut trace = Trace::new(
        spec,
        injected,
        Origin::Sim {
            scheduler: SchedulerKind::Random,
            config: configuration.clone(),
        },
        run.actions.clone(),
        Expected::of(&run.outcome),
    );
    trace.seed = Some(seed);
    trace.healed_at = Some(run.healed_at);
    trace.note = detail.clone();
    SimFailure {
        seed,
        step,
        invariant,
        detail,
        configuration,
        trace,
        rerun: format!("sim {} --seed {seed}{}", spec.file, bug_flags(injected)),
    }
}

fn model_check(
    spec: &Spec,
    plan: CheckPlan,
    limit: Duration,
    context: &mut Context<'_>,
) -> CheckResult {
    let started = context.clock.elapsed();
    let injected = context.plan.request.injected;
    let options = CheckOptions {
        strategy: Strategy::Dfs,
        threads: context.plan.request.threads.max(1),
        max_states: Some(plan.max_states()),
        max_depth: None,
        time_limit: Some(limit),
        symmetry: true,
        shortest: true,
        reduction: crate::explore::check::REDUCTION_DEFAULT,
    };
    let name = spec.name.clone();
    let mut last_told = 0;
    let summary = check::check(Arc::new(spec.clone()), options, &mut |p| {
        if p.total >= last_told + 500_000 {
            last_told = p.total;
            (context.progress)(Progress {
                done: context.done,
                items: context.plan.items.len(),
                message: format!("model {name}: check {} states", p.total),
            });
        }
    });
    let failure = summary.counterexample.as_ref().map(|c| {
        let trace = Trace::new(
            spec,
            injected,
            Origin::Check {
                strategy: "dfs".into(),
            },
            c.actions.clone(),
            Expected::Violation {
                invariant: c.invariant.to_string(),
            },
        );
        CheckFailure {
            invariant: c.invariant,
            detail: c.detail.clone(),
            shortest: c.shortest,
            trace,
            rerun: format!(
                "check {} --max-states {}{}",
                spec.file,
                plan.max_states(),
                bug_flags(injected)
            ),
        }
    });
    CheckResult {
        plan,
        verdict: summary.verdict.clone(),
        unique_states: summary.unique_states,
        total_states: summary.total_states,
        max_depth: summary.max_depth,
        properties: summary.properties.clone(),
        failure,
        seconds: (context.clock.elapsed() - started).as_secs_f64(),
    }
}

/// A canary through the report's machinery: the simulator first (it stops at the first catch),
/// then the model checker with the catalogue's plan if the simulator missed it (or always, on
/// large budgets).
fn canary(bug: Bug, limit: Duration, context: &mut Context<'_>) -> CanaryResult {
    let started = context.clock.elapsed();
    let plan = context.plan;
    let showcase = bug.showcase();
    let spec = report::showcase_spec(bug).with_bugs(plan.request.injected);
    let budget = report::Budget {
        sim_seeds: plan.canary_seeds,
        threads: plan.request.threads.max(1),
        check: true,
        check_time_limit: limit,
    };
    let sim = report::simulate(&spec, &budget);
    let check = match showcase.check {
        Ok(check_plan) if sim.invariant.is_none() || plan.canary_check_always => {
            let remaining = limit.saturating_sub(context.clock.elapsed() - started);
            let budget = report::Budget {
                check_time_limit: remaining.max(Duration::from_secs(1)),
                ..budget
            };
            context.tell(format!("canary {bug}: check"));
            Some(report::model_check(&spec, check_plan, &budget))
        }
        _ => None,
    };
    CanaryResult {
        bug,
        model: showcase.model,
        expected: showcase.invariant,
        sim,
        check,
        seconds: (context.clock.elapsed() - started).as_secs_f64(),
    }
}

/// Every regression trace replayed (with the injected bugs on top of its own) against its
/// recorded expectation, as `tests/corpus.rs` does, and without its own bugs ([`replay_trace`]).
fn replay_traces(plan: &Plan, limit: Duration, context: &mut Context<'_>) -> Vec<TraceResult> {
    let started = context.clock.elapsed();
    let mut results = Vec::new();
    for path in &plan.traces {
        if context.clock.elapsed() - started >= limit {
            results.push(TraceResult {
                path: path.clone(),
                expected: None,
                got: Err("not replayed: the step's time limit was reached".into()),
                without_bugs: None,
            });
            continue;
        }
        results.push(replay_trace(path, plan.request.injected));
    }
    results
}

/// One regression trace replayed (with the `injected` bugs on top of its own) against its
/// recorded expectation, and, if it has bugs of its own, replayed again without them.
pub fn replay_trace(path: &str, injected: BugSet) -> TraceResult {
    let failed = |expected, error: InputError| TraceResult {
        path: path.into(),
        expected,
        got: Err(error.to_string()),
        without_bugs: None,
    };
    let trace = match Trace::load(path) {
        Ok(trace) => trace,
        Err(error) => return failed(None, error),
    };
    let expected = Some(trace.expected.clone());
    let spec = match trace.spec(path) {
        Ok(spec) => spec,
        Err(error) => return failed(expected, error),
    };
    let own = spec.bugs;
    let spec = spec.with_bugs(injected);
    let oracle = Oracle::new(&spec);
    let got = trace::replay(&spec, &oracle, &trace, path)
        .map(|replayed| Expected::of(&replayed.outcome))
        .map_err(|e| e.to_string());
    TraceResult {
        path: path.into(),
        expected,
        got,
        without_bugs: (!own.is_empty())
            .then(|| replay_without_bugs(path, &trace, &spec, own.difference(injected))),
    }
}

/// `trace` replayed on `spec` with the bugs `removed` switched off, while its actions are
/// enabled.
fn replay_without_bugs(path: &str, trace: &Trace, spec: &Spec, removed: BugSet) -> WithoutBugs {
    let mut spec = spec.clone();
    spec.bugs = spec.bugs.difference(removed);
    let oracle = Oracle::new(&spec);
    let followed = trace::replay_while_enabled(&spec, &oracle, trace);
    // The bugs the model text switches on itself, which a trace file cannot switch off.
    let in_model = Spec::parse(&spec.file, &trace.model).map_or(BugSet::default(), |s| s.bugs);
    let saved = followed
        .violation
        .as_ref()
        .filter(|_| in_model.difference(spec.bugs).is_empty())
        .map(|violation| Trace {
            bugs: spec
                .bugs
                .difference(in_model)
                .iter()
                .map(|b| b.name().to_string())
                .collect(),
            origin: Origin::Hand,
            healed_at: trace.healed_at.filter(|&at| at <= followed.applied),
            actions: trace.actions[..followed.applied].to_vec(),
            expected: Expected::Violation {
                invariant: violation.invariant.to_string(),
            },
            note: format!(
                "{path}'s first {} actions replayed {}: {}",
                followed.applied,
                without_text(removed, spec.bugs),
                violation.detail
            ),
            ..trace.clone()
        });
    WithoutBugs {
        removed,
        kept: spec.bugs,
        applied: followed.applied,
        total: trace.actions.len(),
        violation: followed.violation,
        trace: saved,
    }
}

impl WithoutBugs {
    /// Which bugs the replay left off and which stayed on, as in "replayed without X".
    pub fn bugs_text(&self) -> String {
        without_text(self.removed, self.kept)
    }
}

/// `without a`, `without a (the injected b still on)`, or `with the injected a still on (the
/// trace's own bugs among them)`.
fn without_text(removed: BugSet, kept: BugSet) -> String {
    let names = |bugs: BugSet| bugs.iter().map(Bug::name).collect::<Vec<_>>().join(", ");
    match (removed.is_empty(), kept.is_empty()) {
        (false, true) => format!("without {}", names(removed)),
        (false, false) => format!(
            "without {} (the injected {} still on)",
            names(removed),
            names(kept)
        ),
        (true, _) => format!(
            "with the injected {} still on (the trace's own bugs among them)",
            names(kept)
        ),
    }
}

/// A property's combined status over the simulator and the check, for one test case per
/// property: the simulator's violation counts too.
pub fn property_status(model: &ModelResult, name: &str) -> Status {
    if model
        .sim
        .failure
        .as_ref()
        .is_some_and(|f| f.invariant == name)
    {
        return Status::Violated;
    }
    if model.unreached.contains(&name) {
        return Status::NotReached;
    }
    if name == sim::HEALED_RUN_FINISHES {
        return if model.sim.seeds_run > 0 && model.sim.failure.is_none() {
            Status::Held
        } else {
            Status::Unknown
        };
    }
    model
        .check
        .properties
        .iter()
        .find(|p| p.name == name)
        .map_or(Status::Unknown, |p| p.status.clone())
}

/// The properties of a model's check, with the simulator-only liveness property added.
pub fn property_names(model: &ModelResult) -> Vec<(&'static str, Kind)> {
    let mut names: Vec<(&'static str, Kind)> = model
        .check
        .properties
        .iter()
        .map(|p| (p.name, p.kind))
        .collect();
    names.push((sim::HEALED_RUN_FINISHES, Kind::Liveness));
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sim(reached: &[(&'static str, u64)], cut_short: bool) -> SimResult {
        SimResult {
            fixed: 0..400,
            rotating: 0..200,
            seeds_run: 600,
            steps: 0,
            failure: None,
            cut_short,
            reached: reached.to_vec(),
            seconds: 0.0,
        }
    }

    fn bounded_check(reached: &[&'static str]) -> CheckResult {
        CheckResult {
            plan: CheckPlan::Bounded {
                max_states: 1000,
                reason: BoundedReason::TooLarge,
            },
            verdict: Verdict::Partial {
                bound: Bound::MaxStates,
            },
            unique_states: 0,
            total_states: 0,
            max_depth: 0,
            properties: reached
                .iter()
                .map(|name| PropertyResult {
                    name,
                    kind: Kind::Sometimes,
                    status: Status::Reached,
                })
                .collect(),
            failure: None,
            seconds: 0.0,
        }
    }

    /// Every exemption names a real non-vacuity property (a renamed one would exempt nothing).
    #[test]
    fn every_sweep_exemption_is_a_sometimes_property() {
        for (name, model) in invariants::SWEEP_RARE.iter().zip([
            "ha-failures",
            "task-lifecycle",
            "transactions-resume",
            "transactions-mark",
        ]) {
            let spec = Spec::embedded(model).expect("embedded");
            let oracle = Oracle::new(&spec);
            let property = oracle.find(name).expect("a property of the oracle");
            assert_eq!(property.kind, Kind::Sometimes, "{name}");
            assert!(property.applies(&spec), "{name} applies to {model}");
        }
        assert_eq!(invariants::SWEEP_RARE.len(), 4, "a model per exemption");
    }

    /// A situation no run and no checked state reached makes the model vacuous; one reached by
    /// either is not; an incomplete sweep is not judged (a slow machine is not a vacuous model).
    #[test]
    fn a_model_that_stops_reaching_its_situations_is_vacuous() {
        let reached = [("job-finished", 600), ("storage-write-failed", 0)];
        assert_eq!(
            unreached(&sim(&reached, false), &bounded_check(&[])),
            vec!["storage-write-failed"]
        );
        assert!(unreached(
            &sim(&reached, false),
            &bounded_check(&["storage-write-failed"])
        )
        .is_empty());
        assert!(unreached(&sim(&reached, true), &bounded_check(&[])).is_empty());
        assert!(unreached(&sim(&[("job-finished", 1)], false), &bounded_check(&[])).is_empty());
    }

    /// A model passes only if its small instance's exhaustive check passed too (a violation or a
    /// vacuous instance fails it, whatever the full model's bounded check found).
    #[test]
    fn a_failed_small_instance_fails_its_model() {
        let model = |small: Option<CheckResult>| ModelResult {
            model: "m".into(),
            file: "m.toml".into(),
            sim: sim(&[("job-finished", 600)], false),
            check: bounded_check(&["job-finished"]),
            unreached: Vec::new(),
            small: small.map(|check| SmallResult {
                model: "m@small".into(),
                file: "m.toml@small".into(),
                scope: "records <= 1".into(),
                why: "w".into(),
                check,
            }),
            seconds: 0.0,
        };
        let with_verdict = |verdict: Verdict| CheckResult {
            verdict,
            ..bounded_check(&["job-finished"])
        };
        assert!(model(None).passed());
        assert!(model(Some(with_verdict(Verdict::Pass))).passed());
        let violated = Verdict::Violated {
            invariant: "end-to-end-exactly-once",
        };
        assert!(!model(Some(with_verdict(violated))).passed());
        let vacuous = Verdict::Vacuous {
            unreached: vec!["job-finished"],
        };
        assert!(!model(Some(with_verdict(vacuous))).passed());
    }
}
