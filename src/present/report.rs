//! The detection report: every injected bug run against the model where it shows, through the
//! simulator (a fixed seed budget) and the model checker (within bounds), with what caught it,
//! how fast, and which invariant it violated. Also writes each bug's shrunk counterexample as a
//! regression trace. Wall-clock time here only measures; it decides nothing.
//!
//! With [`compare_schedulers`] it also measures the simulator's two schedulers against each other on
//! the same seeds: every seed of the budget runs (the sweep does not stop at the first catch), so
//! each scheduler gets a detection rate (catching seeds / seeds), its first catching seed, and
//! catches per second of wall-clock time, the figure the default sweep is chosen by.

use crate::system::bugs::{Bug, BugSet, CheckPlan};

use crate::error::InputError;
use crate::explore::check::{self, CheckOptions, Strategy, Verdict};
use crate::explore::scheduler::SchedulerKind;
use crate::explore::sim::{self, Outcome, RunBounds, Shard, Sweep};
use crate::oracle::invariants::Oracle;
use crate::system::spec::Spec;
use crate::system::world::Action;
use crate::trace::{self, Expected, Origin, Trace};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How much the report may spend per bug.
#[derive(Clone, Copy, Debug)]
pub struct Budget {
    /// Seeds the simulator tries (random scheduler), from 0.
    pub sim_seeds: u64,
    pub threads: usize,
    /// Run the model checker where the bug's showcase has a plan.
    pub check: bool,
    pub check_time_limit: Duration,
}

impl Default for Budget {
    fn default() -> Self {
        Budget {
            sim_seeds: 2000,
            threads: 2,
            check: true,
            // What `check` must stay within for every catalogued bug (issue 13, point 6).
            check_time_limit: Duration::from_secs(60),
        }
    }
}

/// What the simulator did with one bug.
#[derive(Clone, Debug)]
pub struct SimResult {
    /// The first failing seed, if any within the budget.
    pub caught_at_seed: Option<u64>,
    pub seeds_run: u64,
    pub invariant: Option<&'static str>,
    pub seconds: f64,
    pub actions: Vec<Action>,
    pub healed_at: usize,
}

/// What the model checker did with one bug.
#[derive(Clone, Debug)]
pub struct CheckResult {
    pub caught: bool,
    /// States generated until the search stopped (at the counterexample, or at its bound).
    pub states: usize,
    pub length: Option<usize>,
    pub invariant: Option<&'static str>,
    pub seconds: f64,
    pub actions: Vec<Action>,
    /// Where a hang counterexample's healed continuation starts (see `check::Counterexample`).
    pub healed_at: Option<usize>,
    /// The search ended by exhausting the state space, not at a bound.
    pub complete: bool,
    /// The small instance (`MODEL@small`) this result is from: what `check` tells a user to run
    /// next when the model's own check stops at its bound (and what `verify` checks too).
    pub instance: Option<String>,
    /// The states the model's own check generated before it stopped at its bound without a
    /// violation, when the result is its small instance's.
    pub model_states: Option<usize>,
}

/// One row of the report.
#[derive(Clone, Debug)]
pub struct BugResult {
    pub bug: Bug,
    pub model: &'static str,
    pub expected: &'static str,
    pub sim: SimResult,
    pub check: Option<CheckResult>,
    /// Why the model checker did not look for this bug.
    pub not_checked: Option<&'static str>,
    /// Random vs PCT over every seed of the budget (filled by [`compare_schedulers`]).
    pub schedulers: Vec<Detection>,
}

/// One scheduler over every seed of the budget.
#[derive(Clone, Debug)]
pub struct Detection {
    pub scheduler: SchedulerKind,
    pub seeds_run: u64,
    /// Seeds whose run violated a property.
    pub catching_seeds: u64,
    pub first_catch: Option<u64>,
    /// The property the first catching seed violated.
    pub invariant: Option<&'static str>,
    /// Wall-clock time of the whole budget (with PCT's calibration).
    pub seconds: f64,
}

impl Detection {
    /// Catching seeds per second of wall-clock time.
    pub fn per_second(&self) -> f64 {
        self.catching_seeds as f64 / self.seconds.max(1e-9)
    }

    /// Expected seeds until the first catch (seeds / catching seeds).
    pub fn seeds_per_catch(&self) -> Option<f64> {
        (self.catching_seeds > 0).then(|| self.seeds_run as f64 / self.catching_seeds as f64)
    }
}

/// Runs every seed of the budget with one scheduler and counts the catches. The counts and the
/// first catch do not depend on the thread count; only the time does.
pub fn detect(spec: &Spec, kind: SchedulerKind, budget: &Budget) -> Detection {
    let started = Instant::now();
    let oracle = Oracle::new(spec);
    let bounds = RunBounds::of(spec);
    let length = sim::pct_run_length(spec, kind, bounds);
    let next = AtomicU64::new(0);
    let tally: Mutex<(u64, Option<(u64, &'static str)>)> = Mutex::new((0, None));
    std::thread::scope(|scope| {
        for _ in 0..budget.threads.max(1) {
            scope.spawn(|| loop {
                let seed = next.fetch_add(1, Ordering::Relaxed);
                if seed >= budget.sim_seeds {
                    return;
                }
                let run = sim::run_with_length(spec, &oracle, seed, kind, bounds, length);
                if let Some(invariant) = run.outcome.invariant() {
                    let mut tally = tally.lock().expect("not poisoned");
                    tally.0 += 1;
                    if tally.1.is_none_or(|(s, _)| seed < s) {
                        tally.1 = Some((seed, invariant));
                    }
                }
            });
        }
    });
    let (catching_seeds, first) = tally.into_inner().expect("not poisoned");
    Detection {
        scheduler: kind,
        seeds_run: budget.sim_seeds,
        catching_seeds,
        first_catch: first.map(|(s, _)| s),
        invariant: first.map(|(_, i)| i),
        seconds: started.elapsed().as_secs_f64(),
    }
}

impl BugResult {
    /// Caught by everything that looked, each time with an expected invariant.
    pub fn as_expected(&self) -> bool {
        let showcase = self.bug.showcase();
        let sim_ok = self.sim.invariant.is_some_and(|i| showcase.accepts(i));
        // A bug the catalogue says the checker cannot catch is judged by the simulator alone.
        let check_ok = showcase.check.is_err()
            || self
                .check
                .as_ref()
                .is_none_or(|c| c.invariant.is_some_and(|i| showcase.accepts(i)));
        sim_ok && check_ok
    }
}

/// The model a bug shows on, with the bug switched on.
pub fn showcase_spec(bug: Bug) -> Spec {
    let showcase = bug.showcase();
    Spec::embedded(showcase.model)
        .expect("showcases name embedded models")
        .with_bugs(BugSet::of(&[bug]))
}

/// Runs the simulator over the budget's seeds; stops at the first failure.
pub fn simulate(spec: &Spec, budget: &Budget) -> SimResult {
    let started = Instant::now();
    let oracle = Oracle::new(spec);
    let request = Sweep {
        seeds: 0..budget.sim_seeds,
        shard: Shard::ALL,
        scheduler: SchedulerKind::Random,
        bounds: RunBounds::of(spec),
        threads: budget.threads,
    };
    let report = sim::sweep(spec, &oracle, &request, &|_| {});
    let (caught_at_seed, invariant, actions, healed_at) = match &report.failure {
        Some((seed, run)) => (
            Some(*seed),
            run.outcome.invariant(),
            run.actions.clone(),
            run.healed_at,
        ),
        None => (None, None, Vec::new(), 0),
    };
    SimResult {
        caught_at_seed,
        seeds_run: report.seeds_run,
        invariant,
        seconds: started.elapsed().as_secs_f64(),
        actions,
        healed_at,
    }
}

/// Runs the model checker exactly as `check MODEL --time-limit N` does: its defaults (the race
/// of depth-first and bounded breadth-first search, partial-order reduction on, symmetry off,
/// `healed-run-finishes` on), with the budget's time limit; never a per-bug strategy.
pub fn model_check_as_user(spec: &Spec, budget: &Budget) -> CheckResult {
    model_check_with(
        spec,
        CheckOptions {
            time_limit: Some(budget.check_time_limit),
            ..CheckOptions::default()
        },
    )
}

/// Runs the model checker with a showcase's plan (`verify`'s canaries: one thread, the plan's
/// strategy and state bound, symmetry on), on the model's small instance where the plan says so.
pub fn model_check(spec: &Spec, plan: CheckPlan, budget: &Budget) -> CheckResult {
    let instance = if plan.small_instance {
        spec.small_instance()
    } else {
        None
    };
    let mut result = model_check_with(
        instance.as_ref().unwrap_or(spec),
        CheckOptions {
            strategy: if plan.breadth_first {
                Strategy::Bfs
            } else {
                Strategy::Dfs
            },
            threads: 1,
            max_states: Some(plan.max_states),
            max_depth: None,
            time_limit: Some(budget.check_time_limit),
            symmetry: true,
            shortest: true,
            reduction: crate::explore::check::REDUCTION_DEFAULT,
        },
    );
    result.instance = instance.map(|small| small.name);
    result
}

fn model_check_with(spec: &Spec, options: CheckOptions) -> CheckResult {
    let started = Instant::now();
    let summary = check::check(Arc::new(spec.clone()), options, &mut |_| {});
    let (caught, invariant, length, actions, healed_at) =
        match (&summary.verdict, &summary.counterexample) {
            (Verdict::Violated { invariant }, Some(c)) => (
                true,
                Some(*invariant),
                Some(c.actions.len()),
                c.actions.clone(),
                c.healed_at,
            ),
            _ => (false, None, None, Vec::new(), None),
        };
    CheckResult {
        caught,
        states: summary.total_states,
        length,
        invariant,
        seconds: started.elapsed().as_secs_f64(),
        actions,
        healed_at,
        complete: !matches!(summary.verdict, Verdict::Partial { .. }),
        instance: None,
        model_states: None,
    }
}

/// A user's check of a model, as `check` leads them: the model itself, and where that stops at
/// its bound without a violation, the small instance `check` then prints the command of.
pub fn model_check_as_user_with_instance(spec: &Spec, budget: &Budget) -> CheckResult {
    let full = model_check_as_user(spec, budget);
    if full.caught || full.complete {
        return full;
    }
    let Some(small) = spec.small_instance() else {
        return full;
    };
    let mut on_small = model_check_as_user(&small, budget);
    on_small.instance = Some(small.name.clone());
    on_small.model_states = Some(full.states);
    on_small.seconds += full.seconds;
    on_small
}

/// Runs one bug through the simulator and, where planned, the model checker.
pub fn run(bug: Bug, budget: &Budget) -> BugResult {
    run_from(bug, budget, false)
}

/// [`run`], but a bug the catalogue places deeper than the full model's check reaches (its plan
/// runs on the small instance) is checked on the small instance at once, without first spending
/// the time limit on the full model (the test suite's use: the catalogue records the miss).
pub fn run_skipping_known_misses(bug: Bug, budget: &Budget) -> BugResult {
    run_from(bug, budget, true)
}

fn run_from(bug: Bug, budget: &Budget, skip_known_misses: bool) -> BugResult {
    let showcase = bug.showcase();
    let spec = showcase_spec(bug);
    let sim = simulate(&spec, budget);
    let known_deep = skip_known_misses && showcase.check.is_ok_and(|plan| plan.small_instance);
    // Every bug is checked, hangs included (`healed-run-finishes` is a checker property now),
    // with the user's defaults: the catalogue's per-bug plan only says (for the test suite)
    // where the full model's check is known to stop short.
    let (check, not_checked) = if budget.check {
        let result = match spec.small_instance() {
            Some(small) if known_deep => {
                let mut result = model_check_as_user(&small, budget);
                result.instance = Some(small.name.clone());
                result
            }
            _ => model_check_as_user_with_instance(&spec, budget),
        };
        (Some(result), None)
    } else {
        (
            None,
            Some("the model checker was switched off for this report"),
        )
    };

    BugResult {
        bug,
        model: showcase.model,
        expected: showcase.invariant,
        sim,
        check,
        not_checked,
        schedulers: Vec::new(),
    }
}

/// Measures the random scheduler and PCT of `depth` on the bug's showcase, every seed of the
/// budget each, into `result.schedulers`.
pub fn compare_schedulers(result: &mut BugResult, depth: u32, budget: &Budget) {
    let spec = showcase_spec(result.bug);
    result.schedulers = [SchedulerKind::Random, SchedulerKind::Pct { depth }]
        .into_iter()
        .map(|kind| detect(&spec, kind, budget))
        .collect();
}

/// The scheduler comparison as a Markdown table (rows only for bugs that were compared).
pub fn comparison_table(results: &[BugResult], budget: &Budget) -> String {
    let mut out = String::new();
    let Some(pct) = results
        .iter()
        .find_map(|r| r.schedulers.get(1).map(|d| d.scheduler))
    else {
        return out;
    };
    let _ = writeln!(
        out,
        "| bug | model | random: catching seeds (first, seeds per catch, time) | {pct}: catching seeds (first, seeds per catch, time) | catches per second, random / pct | more per second |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|");
    let cell = |d: &Detection| match d.first_catch {
        Some(first) => format!(
            "{}/{} (seed {first}, {:.0}, {:.2} s)",
            d.catching_seeds,
            d.seeds_run,
            d.seeds_per_catch().unwrap_or(0.0),
            d.seconds
        ),
        None => format!("0/{} (-, -, {:.2} s)", d.seeds_run, d.seconds),
    };
    let (mut random_wins, mut pct_wins, mut both_missed) = (0, 0, 0);
    for r in results {
        let (Some(random), Some(p)) = (r.schedulers.first(), r.schedulers.get(1)) else {
            continue;
        };
        let winner = match (random.per_second(), p.per_second()) {
            (a, b) if a == 0.0 && b == 0.0 => {
                both_missed += 1;
                "neither"
            }
            (a, b) if b > a => {
                pct_wins += 1;
                "pct"
            }
            _ => {
                random_wins += 1;
                "random"
            }
        };
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | {} | {:.0} / {:.0} | {winner} |",
            r.bug.name(),
            r.model,
            cell(random),
            cell(p),
            random.per_second(),
            p.per_second()
        );
    }
    let missed = |i: usize| {
        results
            .iter()
            .filter(|r| r.schedulers.get(i).is_some_and(|d| d.catching_seeds == 0))
            .count()
    };
    let _ = writeln!(
        out,
        "
Same {} seeds per bug for both: random finds more per second on {random_wins} bugs, {pct} on {pct_wins}, neither on {both_missed}; random misses {} bugs, {pct} misses {}.",
        budget.sim_seeds,
        missed(0),
        missed(1)
    );
    out
}

/// The report as a Markdown table.
pub fn table(results: &[BugResult], budget: &Budget) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "sim: {} seeds, random scheduler. check: exactly `check MODEL --time-limit {}`, its defaults (a breadth-first search bounded at 3,000,000 states, then depth-first, on two threads; partial-order reduction on; symmetry off; `healed-run-finishes` on, 1 state in {} sampled), no per-bug strategy; where that stops at its bound without a violation and the model has a small instance, the same on `MODEL@small` (the command `check` prints then).\n",
        budget.sim_seeds,
        budget.check_time_limit.as_secs(),
        crate::explore::hang::SAMPLE_DEFAULT
    );
    let _ = writeln!(
        out,
        "| bug | origin | model | sim: caught (seeds until first catch, time) | check: caught (states, counterexample length, time) | invariant violated |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|");
    for r in results {
        let seeds = |n: u64| format!("{n} seed{}", if n == 1 { "" } else { "s" });
        let sim = match r.sim.caught_at_seed {
            Some(seed) => format!("yes ({}, {:.2} s)", seeds(seed + 1), r.sim.seconds),
            None => format!("no ({}, {:.2} s)", seeds(r.sim.seeds_run), r.sim.seconds),
        };
        let check = match &r.check {
            None => format!("not run: {}", r.not_checked.unwrap_or("no plan")),
            Some(c) if c.caught => match &c.instance {
                None => format!(
                    "yes ({} states, {} steps, {:.2} s)",
                    c.states,
                    c.length.unwrap_or(0),
                    c.seconds
                ),
                Some(small) => match c.model_states {
                    Some(model_states) => format!(
                        "yes, on `{small}` ({} states, {} steps; {:.2} s with the model's own check, which stopped at its bound after {model_states} states)",
                        c.states,
                        c.length.unwrap_or(0),
                        c.seconds
                    ),
                    None => format!(
                        "yes, on `{small}` ({} states, {} steps, {:.2} s)",
                        c.states,
                        c.length.unwrap_or(0),
                        c.seconds
                    ),
                },
            },
            Some(c) => match r.bug.showcase().check {
                Err(reason) => format!(
                    "no ({} states, {:.2} s; known: {reason})",
                    c.states, c.seconds
                ),
                Ok(_) => format!("no (bound of {} states, {:.2} s)", c.states, c.seconds),
            },
        };
        let invariant = r
            .sim
            .invariant
            .or(r.check.as_ref().and_then(|c| c.invariant))
            .unwrap_or("-");
        let mark = if r.as_expected() {
            String::new()
        } else {
            format!(" (expected {})", r.expected)
        };
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | {sim} | {check} | `{invariant}`{mark} |",
            r.bug.name(),
            r.bug.origin(),
            r.model
        );
    }
    let caught_sim = results
        .iter()
        .filter(|r| r.sim.caught_at_seed.is_some())
        .count();
    let checked = results.iter().filter(|r| r.check.is_some()).count();
    let caught_check = results
        .iter()
        .filter(|r| r.check.as_ref().is_some_and(|c| c.caught))
        .count();
    let _ = writeln!(
        out,
        "\n{} bugs: {caught_sim} caught by the simulator within {} seeds; {caught_check} of the {checked} model-checked caught by check.",
        results.len(),
        budget.sim_seeds
    );
    out
}

/// The report as JSON.
pub fn json(results: &[BugResult], budget: &Budget) -> serde_json::Value {
    let rows: Vec<serde_json::Value> = results
        .iter()
        .map(|r| {
            serde_json::json!({
                "bug": r.bug.name(),
                "layer": r.bug.layer(),
                "origin": r.bug.origin(),
                "model": r.model,
                "expected_invariant": r.expected,
                "as_expected": r.as_expected(),
                "sim": {
                    "caught": r.sim.caught_at_seed.is_some(),
                    "seeds_until_first_catch": r.sim.caught_at_seed.map(|s| s + 1),
                    "seeds_run": r.sim.seeds_run,
                    "seconds": r.sim.seconds,
                    "invariant": r.sim.invariant,
                },
                "not_checked": r.not_checked,
                "schedulers": r.schedulers.iter().map(|d| serde_json::json!({
                    "scheduler": d.scheduler.to_string(),
                    "seeds_run": d.seeds_run,
                    "catching_seeds": d.catching_seeds,
                    "first_catch": d.first_catch,
                    "invariant": d.invariant,
                    "seconds": d.seconds,
                    "catches_per_second": d.per_second(),
                })).collect::<Vec<_>>(),
                "check": r.check.as_ref().map(|c| serde_json::json!({
                    "caught": c.caught,
                    "states": c.states,
                    "counterexample_length": c.length,
                    "seconds": c.seconds,
                    "invariant": c.invariant,
                    "small_instance": c.instance,
                    "model_states_before_the_instance": c.model_states,
                })),
            })
        })
        .collect();
    serde_json::json!({
        "sim_seed_budget": budget.sim_seeds,
        "bugs": rows,
    })
}

/// Writes the bug's shortest available counterexample, shrunk, as a regression trace; returns
/// its length.
pub fn write_trace(result: &BugResult, path: &str) -> Result<usize, InputError> {
    let showcase = showcase_spec(result.bug);
    // A counterexample from the small instance replays only there.
    let from_instance = result
        .check
        .as_ref()
        .is_some_and(|c| c.caught && c.instance.is_some());
    let spec = match showcase.small_instance() {
        Some(small) if from_instance => small,
        _ => showcase,
    };
    let oracle = Oracle::new(&spec);
    let bugs = BugSet::of(&[result.bug]);
    let (actions, healed_at, origin) = match &result.check {
        Some(c) if c.caught && !c.actions.is_empty() => (
            c.actions.clone(),
            c.healed_at,
            Origin::Check {
                strategy: "bug report".into(),
            },
        ),
        _ => (
            result.sim.actions.clone(),
            Some(result.sim.healed_at),
            Origin::Sim {
                scheduler: SchedulerKind::Random,
                config: format!("seed {}", result.sim.caught_at_seed.unwrap_or(0)),
            },
        ),
    };
    let first_invariant = match &result.check {
        Some(c) if c.caught => c.invariant,
        _ => result.sim.invariant,
    };
    let expected = Expected::Violation {
        invariant: first_invariant.unwrap_or(result.expected).to_string(),
    };
    let mut original = Trace::new(&spec, bugs, origin, actions, expected);
    original.healed_at = healed_at;
    let shrunk = trace::shrink(&spec, &oracle, &original, path)?;
    let mut written = shrunk.trace;
    written.origin = Origin::Hand;
    let violated = match &written.expected {
        Expected::Violation { invariant } => invariant.clone(),
        Expected::Pass => String::new(),
    };
    written.note = format!(
        "Injected bug `{}` ({}; {}): {}. It must keep violating `{}` on model `{}`. {}",
        result.bug.name(),
        result.bug.origin(),
        result.bug.layer(),
        result.bug.description(),
        violated,
        spec.name,
        result.bug.history()
    );
    written.save(path)?;
    let replayed = trace::replay(&spec, &oracle, &written, path)?;
    match replayed.outcome {
        Outcome::Violation { violation, .. }
            if result.bug.showcase().accepts(violation.invariant) =>
        {
            Ok(written.actions.len())
        }
        other => Err(InputError::new(
            path,
            "expected",
            format!(
                "the written trace replays to {other:?}, not {}",
                result.expected
            ),
        )),
    }
}
