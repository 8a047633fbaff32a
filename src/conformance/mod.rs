//! Layer 5, conformance: the model's coordinator differentially tested against Flink 2.3's real
//! `CheckpointCoordinator`, driven in-process by the Java driver in `conformance/`.
//!
//! - [`script`]: the driver's schema (`conformance/SCHEMA.md`): setup from a model, inputs.
//! - [`model`]: a world run (a seeded schedule or a saved trace) projected onto that schema,
//!   with the model's expected observation after every coordinator input.
//! - [`observation`]: the one observable form both sides are compared in.
//! - [`flink`]: the driver process.
//!
//! [`compare`] runs one action list through both and reports the first input after which they
//! differ; [`schedule`] makes seeded schedules (the simulator's scheduler, with the trigger
//! pipeline's asynchronous phase run promptly, as the driver runs a pipeline in one input);
//! [`shrink`] removes actions while the divergence stays. Nothing here decides the model's
//! behaviour: it only watches it.
//!
//! May touch: every layer below. Must not touch: the command line (it prints nothing).

pub mod flink;
pub mod handlers;
pub mod model;
pub mod observation;
pub mod script;
pub mod validate;

use crate::explore::scheduler::{Scheduler, SchedulerKind};
use crate::system::bugs::{Bug, BugSet};
use crate::system::spec::Spec;
use crate::system::world::{self, Action, Options, World};
use flink::FlinkDriver;
use observation::Observation;
use serde_json::Value;
use std::collections::BTreeMap;

/// The first input after which the model and Flink observably differ.
#[derive(Clone, Debug)]
pub struct Divergence {
    /// Index of the input (0-based, the setup not counted).
    pub input: usize,
    /// The world actions applied up to and including that input's.
    pub at_action: usize,
    /// The first differing field and its value on each side.
    pub field: &'static str,
    pub model_value: String,
    pub flink_value: String,
    pub model: Observation,
    pub flink: Observation,
    /// The script up to the divergent input: the setup line, then the inputs.
    pub script: Vec<String>,
    /// The driver's answers to those lines.
    pub answers: Vec<String>,
}

/// What comparing one action list found.
#[derive(Clone, Debug)]
pub enum Verdict {
    /// Every input agreed. `stopped`: where (and why) the projection ended early.
    Conforms {
        inputs: usize,
        stopped: Option<String>,
    },
    Diverges(Box<Divergence>),
    /// The driver (Flink's configuration builder) refused the model's setup.
    SetupRejected(String),
    /// The model cannot be expressed as a driver setup.
    NotExpressible {
        key: &'static str,
        why: String,
    },
}

impl Verdict {
    pub fn divergence(&self) -> Option<&Divergence> {
        match self {
            Verdict::Diverges(d) => Some(d),
            _ => None,
        }
    }
}

/// What the compared schedules reached, counted from both sides' inputs and Flink's answers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Coverage {
    pub counts: BTreeMap<String, u64>,
}

impl Coverage {
    fn add(&mut self, item: impl Into<String>) {
        *self.counts.entry(item.into()).or_default() += 1;
    }

    pub fn merge(&mut self, other: &Coverage) {
        for (item, count) in &other.counts {
            *self.counts.entry(item.clone()).or_default() += count;
        }
    }

    pub fn reached(&self, item: &str) -> bool {
        self.counts.get(item).is_some_and(|c| *c > 0)
    }
}

/// Divergences from real Flink found and not yet resolved, by model, with the first diverging
/// seed: the seeds below it conform and are compared by the test suite and `verify`; the seed
/// itself is asserted to still diverge (docs/fidelity.md, "Open conformance divergences"). Empty
/// when none is open; the mechanism stays for the next one found.
pub const OPEN_DIVERGENCES: &[(&str, u64)] = &[];

/// Deliberate deviations of the model from Flink's coordinator (docs/fidelity.md), by model: the
/// catalogued bug that switches Flink's own rule on, and a seed where the model without it
/// diverges. Such a model is compared with Flink's rule switched on, so none of its seeds is
/// left out, and the seed is asserted to still diverge without it, so the deviation is exactly
/// that rule and nothing else. `savepoints-2pc`: Flink requests the end-of-data checkpoint
/// during a stop-with-savepoint, which makes the model's tasks hang.
pub const DELIBERATE_DEVIATIONS: &[(&str, Bug, u64)] = &[
    ("savepoints-2pc", Bug::EndOfDataCheckpointWhileStopping, 19),
    // A stop with drain makes every task report end of data while the terminating savepoint
    // is pending, so Flink's rule strikes on almost every drained stop.
    ("drain", Bug::EndOfDataCheckpointWhileStopping, 2),
    // The stop that precedes the resume from an older checkpoint: its tasks reach end of data
    // while the synchronous savepoint is pending, as in savepoints-2pc.
    (
        "transactions-resume",
        Bug::EndOfDataCheckpointWhileStopping,
        2,
    ),
    // The same stop before the resume; the committed mark is sink-side.
    (
        "transactions-mark",
        Bug::EndOfDataCheckpointWhileStopping,
        14,
    ),
];

/// The model as conformance compares it: with Flink's own rule switched on where the model
/// deviates from it on purpose ([`DELIBERATE_DEVIATIONS`]).
pub fn compared_spec(spec: Spec) -> Spec {
    let rules: Vec<Bug> = DELIBERATE_DEVIATIONS
        .iter()
        .filter(|(name, _, _)| *name == spec.name)
        .map(|(_, bug, _)| *bug)
        .collect();
    let mut spec = spec.with_bugs(BugSet::of(&rules));
    spec.checkpointing.start_after_min_pause = true;
    spec
}

/// What the conformance suite must reach (issue: "coverage that is measured, not assumed").
pub const REQUIRED_COVERAGE: &[&str] = &[
    "input: periodic",
    "input: request checkpoint",
    "input: request savepoint",
    "input: request stop-with-savepoint",
    "input: ack",
    "input: decline",
    "input: timeout",
    "input: end of data",
    "input: task finished",
    "input: task failed",
    "input: JobManager failover",
    "request queued",
    "outcome: failed MINIMUM_TIME_BETWEEN_CHECKPOINTS",
    "outcome: failed CHECKPOINT_EXPIRED",
    "outcome: failed CHECKPOINT_SUBSUMED",
    "outcome: failed CHECKPOINT_DECLINED",
    "late or unknown ack",
    "store holds more than one checkpoint",
    "fail job",
    "restore of a checkpoint",
    // Incremental checkpoints: a shared file Flink's registry deleted (and the model's with it).
    "shared file deleted",
];

/// Runs `actions` through the model and through Flink and compares after every input.
pub fn compare(
    driver: &mut FlinkDriver,
    spec: &Spec,
    actions: &[Action],
    coverage: &mut Coverage,
) -> Result<Verdict, String> {
    let projection = model::project(spec, actions);
    let setup = match script::setup(spec) {
        Ok(setup) => setup,
        Err(script::SetupError(why, key)) => return Ok(Verdict::NotExpressible { key, why }),
    };
    let inputs: Vec<Value> = projection
        .inputs
        .iter()
        .map(|i| i.to_json_for(spec))
        .collect();
    let answers = driver.run(&setup, &inputs)?;
    if let Some(error) = answers[0].get("error") {
        return Ok(Verdict::SetupRejected(
            error.as_str().unwrap_or("?").to_string(),
        ));
    }
    let mut previous_pending: Vec<u64> = Vec::new();
    for (index, input) in projection.inputs.iter().enumerate() {
        let answer = &answers[index + 1];
        count_coverage(coverage, input, answer, &previous_pending);
        previous_pending = pending_ids(answer);
        let mut flink_side = Observation::from_driver(answer, projection.attempt_base[index])?;
        let mut model_side = projection.expected[index].clone();
        if !spec.checkpointing.start_after_min_pause {
            flink_side.periodic_due = None;
            model_side.periodic_due = None;
        }
        if let Some((field, model_value, flink_value)) = model_side.difference(&flink_side) {
            let mut script = vec![setup.to_string()];
            script.extend(inputs[..=index].iter().map(Value::to_string));
            return Ok(Verdict::Diverges(Box::new(Divergence {
                input: index,
                at_action: projection.at_action[index],
                field,
                model_value,
                flink_value,
                model: model_side,
                flink: flink_side,
                script,
                answers: answers[..=index + 1].iter().map(Value::to_string).collect(),
            })));
        }
    }
    Ok(Verdict::Conforms {
        inputs: projection.inputs.len(),
        stopped: projection.stopped,
    })
}

fn pending_ids(answer: &Value) -> Vec<u64> {
    answer
        .pointer("/state/pending")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|p| p.get("id").and_then(Value::as_u64))
                .collect()
        })
        .unwrap_or_default()
}

fn count_coverage(coverage: &mut Coverage, input: &script::Input, answer: &Value, pending: &[u64]) {
    coverage.add(format!("input: {}", input.class()));
    match input {
        script::Input::Decline { reason, .. } => {
            coverage.add(format!("decline reason: {}", script::flink_reason(*reason)))
        }
        script::Input::Ack { id, .. } if !pending.contains(&(*id as u64)) => {
            coverage.add("late or unknown ack")
        }
        _ => {}
    }
    if answer
        .pointer("/state/requests")
        .and_then(Value::as_u64)
        .is_some_and(|n| n > 0)
    {
        coverage.add("request queued");
    }
    if answer
        .pointer("/state/store")
        .and_then(Value::as_array)
        .is_some_and(|s| s.len() > 1)
    {
        coverage.add("store holds more than one checkpoint");
    }
    for output in answer
        .get("outputs")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(reason) = output.pointer("/outcome/failed").and_then(Value::as_str) {
            coverage.add(format!("outcome: failed {reason}"));
        }
        if output.pointer("/outcome/completed").is_some() {
            coverage.add("outcome: completed");
        }
        if output.get("fail_job").is_some() {
            coverage.add("fail job");
        }
        if output.get("discarded").is_some() {
            coverage.add("shared file deleted");
        }
        if output
            .pointer("/restore/id")
            .is_some_and(|id| !id.is_null())
        {
            coverage.add("restore of a checkpoint");
        }
    }
}

/// A seeded schedule: the simulator's scheduler picks among the enabled actions (faults within
/// the model's budget, user requests, timers), except that the trigger pipeline's asynchronous
/// phase finishes as soon as it is enabled; then a healed phase lets the job finish. Same model
/// and seed, same schedule.
pub fn schedule(spec: &Spec, seed: u64) -> Vec<Action> {
    let mut scheduler = Scheduler::new(spec, seed, SchedulerKind::Random);
    let mut world = World::initial(spec);
    let mut actions = Vec::new();
    let faulty = Options {
        faults: true,
        user_requests: true,
        horizon: None,
        timers_last: false,
    };
    let phases = [
        (faulty, spec.bounds.faulty_steps),
        (Options::healed(), spec.bounds.healed_steps),
    ];
    for (phase, (options, steps)) in phases.into_iter().enumerate() {
        for step in 0..steps {
            if phase == 1 && world.job_done() {
                break;
            }
            let enabled = world::enabled_with(spec, &world, options);
            if enabled.is_empty() {
                break;
            }
            let action = if world.coordinator.coordinator_snapshot.is_some()
                && enabled.contains(&Action::FinishTriggering)
            {
                Action::FinishTriggering
            } else if phase == 0 {
                enabled[scheduler.pick(step, &enabled)]
            } else {
                enabled[scheduler.pick_fair(&enabled)]
            };
            match world::apply(spec, &world, action) {
                Ok(next) => world = next,
                Err(_) => break,
            }
            actions.push(action);
        }
    }
    actions
}

/// Removes actions (chunks, then single ones) while the comparison still diverges, and returns
/// the shortest action list found. Each try costs one driver round trip (about a millisecond).
pub fn shrink(
    driver: &mut FlinkDriver,
    spec: &Spec,
    actions: &[Action],
    max_tries: usize,
) -> Result<Vec<Action>, String> {
    let mut coverage = Coverage::default();
    let mut best = actions.to_vec();
    // Only what the divergent input needs: cut the tail first.
    if let Verdict::Diverges(d) = compare(driver, spec, &best, &mut coverage)? {
        best.truncate(d.at_action);
    } else {
        return Ok(best);
    }
    let mut tries = 0;
    let mut chunk = (best.len() / 2).max(1);
    while chunk >= 1 && tries < max_tries {
        let mut start = 0;
        let mut removed_any = false;
        while start < best.len() && tries < max_tries {
            let end = (start + chunk).min(best.len());
            let mut candidate = best[..start].to_vec();
            candidate.extend_from_slice(&best[end..]);
            tries += 1;
            match compare(driver, spec, &candidate, &mut coverage)? {
                Verdict::Diverges(d) => {
                    candidate.truncate(d.at_action.min(candidate.len()));
                    best = candidate;
                    removed_any = true;
                }
                _ => start = end,
            }
        }
        if !removed_any {
            if chunk == 1 {
                break;
            }
            chunk /= 2;
        }
    }
    // Drop the actions the model skipped as not enabled, so the result replays as it is.
    Ok(enabled_prefix(spec, &best))
}

/// The actions of `actions` that are enabled when their turn comes (the others skipped).
fn enabled_prefix(spec: &Spec, actions: &[Action]) -> Vec<Action> {
    let mut world = World::initial(spec);
    let mut kept = Vec::new();
    for &action in actions {
        if let Ok(next) = world::apply(spec, &world, action) {
            world = next;
            kept.push(action);
        }
    }
    kept
}
