//! Trace files: the durable artefact of a run. A trace embeds the model text and lists the
//! actions taken, by value, so replaying it needs no seed and no RNG: replay folds `apply` over
//! the actions and checks every invariant after each one.
//!
//! Saving is atomic (temporary file + rename). Loading rejects, with the file, the key and the
//! reason: unreadable, empty or truncated files, malformed JSON, files that are not traces, and
//! traces written by a newer format version. `shrink` minimises a failing trace by delta
//! debugging over its actions, keeping only candidates that violate the same invariant.

use crate::error::InputError;
use crate::explore::scheduler::SchedulerKind;
use crate::explore::sim::{self, Outcome};
use crate::oracle::invariants::{self, Oracle, Violation};
use crate::system::bugs::{Bug, BugSet};
use crate::system::protocol::Tick;
use crate::system::spec::Spec;
use crate::system::world::describe;
use crate::system::world::{self, Action, Options, StepEvent, World};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The marker in every trace file's `format` key.
pub const FORMAT: &str = "checkpoint-harness-trace";
/// The newest format version this build reads and the one it writes.
pub const FORMAT_VERSION: u32 = 1;

/// Where a trace came from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind", deny_unknown_fields)]
pub enum Origin {
    /// A simulator run; `config` is the derived swarm configuration.
    Sim {
        scheduler: SchedulerKind,
        config: String,
    },
    /// A model-checking counterexample.
    Check { strategy: String },
    /// `shrink` of another trace.
    Shrink {
        from: String,
        original_length: usize,
    },
    /// Written or edited by hand (regression files).
    Hand,
}

/// What replaying the trace must produce.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "outcome", deny_unknown_fields)]
pub enum Expected {
    Pass,
    Violation { invariant: String },
}

impl Expected {
    pub fn of(outcome: &Outcome) -> Expected {
        match outcome {
            Outcome::Pass => Expected::Pass,
            Outcome::Violation { violation, .. } => Expected::Violation {
                invariant: violation.invariant.to_string(),
            },
        }
    }
}

/// A trace file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Trace {
    pub format: String,
    pub format_version: u32,
    pub tool_version: String,
    /// The model's file name when the trace was made (informational).
    pub model_file: String,
    /// The model text itself.
    pub model: String,
    /// Bugs switched on from the command line, on top of the model's own `bugs`.
    #[serde(default)]
    pub bugs: Vec<String>,
    pub origin: Origin,
    #[serde(default)]
    pub seed: Option<u64>,
    /// Index of the first healed-phase action (simulator traces): from there on faults stopped
    /// and the job had `healed_steps` steps to finish.
    #[serde(default)]
    pub healed_at: Option<usize>,
    pub actions: Vec<Action>,
    pub expected: Expected,
    #[serde(default)]
    pub note: String,
}

impl Trace {
    /// A new trace of `actions` on `spec`.
    pub fn new(
        spec: &Spec,
        extra_bugs: BugSet,
        origin: Origin,
        actions: Vec<Action>,
        expected: Expected,
    ) -> Trace {
        Trace {
            format: FORMAT.to_string(),
            format_version: FORMAT_VERSION,
            tool_version: env!("CARGO_PKG_VERSION").to_string(),
            model_file: spec.file.clone(),
            model: spec.text.clone(),
            bugs: extra_bugs.iter().map(|b| b.name().to_string()).collect(),
            origin,
            seed: None,
            healed_at: None,
            actions,
            expected,
            note: String::new(),
        }
    }

    /// The model the trace runs on (its embedded text plus its extra bugs).
    pub fn spec(&self, file: &str) -> Result<Spec, InputError> {
        let mut bugs = BugSet::default();
        for (index, name) in self.bugs.iter().enumerate() {
            let bug = Bug::from_name(name).ok_or_else(|| {
                InputError::new(
                    file,
                    format!("bugs[{index}]"),
                    format!("unknown bug {name:?}"),
                )
            })?;
            bugs.insert(bug);
        }
        let spec = Spec::parse(&format!("{file} (embedded model)"), &self.model)?;
        Ok(spec.with_bugs(bugs))
    }

    /// Loads and validates a trace file.
    pub fn load(path: &str) -> Result<Trace, InputError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| InputError::new(path, "", format!("cannot read the file: {e}")))?;
        Trace::parse(path, &text)
    }

    pub fn parse(path: &str, text: &str) -> Result<Trace, InputError> {
        if text.trim().is_empty() {
            return Err(InputError::new(path, "", "the file is empty (truncated?)"));
        }
        // Identify the file before judging its shape, so that foreign and newer files get the
        // clearer message.
        let value: serde_json::Value = serde_json::from_str(text).map_err(|e| {
            let what = if e.is_eof() {
                "the file ends early: a truncated trace"
            } else {
                "the file is not valid JSON"
            };
            InputError::new(
                path,
                "",
                format!("{what} (line {}, column {}: {e})", e.line(), e.column()),
            )
        })?;
        let format = value.get("format").and_then(|f| f.as_str());
        if format != Some(FORMAT) {
            return Err(InputError::new(
                path,
                "format",
                format!(
                    "not a checkpoint-harness trace (expected \"{FORMAT}\", found {})",
                    value
                        .get("format")
                        .map_or("nothing".to_string(), |f| f.to_string())
                ),
            ));
        }
        match value.get("format_version").and_then(|v| v.as_u64()) {
            Some(version) if version > FORMAT_VERSION as u64 => {
                return Err(InputError::new(
                    path,
                    "format_version",
                    format!("written by a newer version (format {version}); this build reads format {FORMAT_VERSION} and older"),
                ))
            }
            Some(_) => {}
            None => return Err(InputError::new(path, "format_version", "missing or not a number")),
        }
        serde_json::from_value(value).map_err(|e| {
            let message = e.to_string();
            let key = message
                .split('`')
                .nth(1)
                .filter(|_| message.contains("field"))
                .unwrap_or("")
                .to_string();
            InputError::new(path, key, message)
        })
    }

    /// Writes the trace atomically (temporary file in the same directory, then rename).
    pub fn save(&self, path: &str) -> Result<(), InputError> {
        let text = serde_json::to_string_pretty(self).expect("traces always serialize") + "\n";
        write_atomically(path, &text)
    }
}

/// Writes `text` to `path` through a temporary file and a rename, creating parent directories.
pub fn write_atomically(path: &str, text: &str) -> Result<(), InputError> {
    let target = Path::new(path);
    if let Some(parent) = target.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .map_err(|e| InputError::new(path, "", format!("cannot create its directory: {e}")))?;
    }
    let temporary = format!("{path}.{}.tmp", std::process::id());
    let result = (|| {
        use std::io::Write;
        let mut file = std::fs::File::create(&temporary)?;
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
        std::fs::rename(&temporary, target)
    })();
    result.map_err(|e| {
        let _ = std::fs::remove_file(&temporary);
        InputError::new(path, "", format!("cannot write the file: {e}"))
    })
}

/// One replayed step.
#[derive(Clone, Debug)]
pub struct ReplayStep {
    pub index: usize,
    /// The clock after the step.
    pub now: Tick,
    pub action: Action,
    pub description: String,
    pub events: Vec<StepEvent>,
    pub violation: Option<Violation>,
    /// The world after the step, in brief (for fixed-column renderings).
    pub summary: describe::StepSummary,
}

/// A replayed trace.
#[derive(Clone, Debug)]
pub struct Replayed {
    pub steps: Vec<ReplayStep>,
    pub outcome: Outcome,
    pub world: World,
}

/// Re-executes a trace, checking every invariant after every step. An action that is not
/// enabled where the trace takes it means the trace does not fit this model or version: that is
/// an input error naming the step.
pub fn replay(
    spec: &Spec,
    oracle: &Oracle,
    trace: &Trace,
    file: &str,
) -> Result<Replayed, InputError> {
    let mut world = World::initial(spec);
    let mut steps = Vec::new();
    for (index, action) in trace.actions.iter().enumerate() {
        if !world::enabled_with(spec, &world, replay_options(trace, index)).contains(action) {
            return Err(InputError::new(
                file,
                format!("actions[{index}]"),
                format!(
                    "{:?} is not enabled at step {} of this model (a trace from another model or version?)",
                    action,
                    index + 1
                ),
            ));
        }
        let description = describe::describe_action(spec, &world, action);
        let (next, events) = world::apply_traced(spec, &world, *action).map_err(|e| {
            InputError::new(
                file,
                format!("actions[{index}]"),
                format!("{:?} could not be applied", e.0),
            )
        })?;
        world = next;
        let violation = invariants::check_all(spec, oracle, &world).err();
        steps.push(ReplayStep {
            index,
            now: world.now,
            action: *action,
            description,
            events,
            violation: violation.clone(),
            summary: describe::summarize(spec, &world),
        });
        if let Some(violation) = violation {
            return Ok(Replayed {
                steps,
                outcome: Outcome::Violation {
                    violation,
                    step: index + 1,
                },
                world,
            });
        }
    }
    let outcome = match trace.healed_at {
        Some(healed_at) if !world.job_done() => {
            let healed_steps = trace.actions.len().saturating_sub(healed_at);
            let stuck = world::enabled_with(spec, &world, Options::healed()).is_empty();
            if healed_steps >= spec.bounds.healed_steps as usize || stuck {
                Outcome::Violation {
                    violation: sim::healed_violation(spec, &world, spec.bounds.healed_steps),
                    step: trace.actions.len(),
                }
            } else {
                Outcome::Pass
            }
        }
        _ => Outcome::Pass,
    };
    Ok(Replayed {
        steps,
        outcome,
        world,
    })
}

/// Which actions a trace may take at `index`: healed-phase steps are held to the healed rules.
fn replay_options(trace: &Trace, index: usize) -> Options {
    match trace.healed_at {
        Some(healed_at) if index >= healed_at => Options::healed(),
        _ => Options {
            faults: true,
            user_requests: true,
            horizon: None,
            timers_last: false,
        },
    }
}

/// The options traces are replayed and shrunk under outside the healed phase: every fault and
/// user request, no time horizon.
fn free_options() -> Options {
    Options {
        faults: true,
        user_requests: true,
        horizon: None,
        timers_last: false,
    }
}

/// Lenient replay for shrinking: skips actions that are not enabled; returns the applied actions
/// up to and including the first violation, and that violation's invariant.
fn replay_lenient(
    spec: &Spec,
    oracle: &Oracle,
    actions: &[Action],
) -> (Vec<Action>, Option<&'static str>, World) {
    let mut world = World::initial(spec);
    let mut applied = Vec::new();
    let options = Options {
        faults: true,
        user_requests: true,
        horizon: None,
        timers_last: false,
    };
    for action in actions {
        if !world::enabled_with(spec, &world, options).contains(action) {
            continue;
        }
        world = world::apply(spec, &world, *action).expect("enabled");
        applied.push(*action);
        if let Err(violation) = invariants::check_all(spec, oracle, &world) {
            return (applied, Some(violation.invariant), world);
        }
    }
    (applied, None, world)
}

/// Runs a deterministic healed continuation (always the first enabled action) from `world`;
/// returns the actions taken and whether the job finished.
fn healed_continuation(spec: &Spec, world: &World) -> (Vec<Action>, bool) {
    let mut world = world.clone();
    let mut taken = Vec::new();
    for _ in 0..spec.bounds.healed_steps {
        if world.job_done() {
            break;
        }
        let Some(action) = world::enabled_with(spec, &world, Options::healed())
            .first()
            .copied()
        else {
            break;
        };
        world = world::apply(spec, &world, action).expect("enabled");
        taken.push(action);
    }
    (taken, world.job_done())
}

/// The result of shrinking.
pub struct Shrunk {
    pub trace: Trace,
    pub before: usize,
    pub after: usize,
}

/// Minimises a failing trace (delta debugging, then single-action removal), keeping the same
/// violated invariant. Liveness failures shrink their faulty prefix; the healed suffix is
/// regenerated deterministically and must still fail to finish.
pub fn shrink(
    spec: &Spec,
    oracle: &Oracle,
    trace: &Trace,
    file: &str,
) -> Result<Shrunk, InputError> {
    let replayed = replay(spec, oracle, trace, file)?;
    let Some(target) = replayed.outcome.invariant() else {
        return Err(InputError::new(
            file,
            "expected",
            "the trace does not fail when replayed: nothing to shrink",
        ));
    };
    let liveness = target == sim::HEALED_RUN_FINISHES;
    let prefix: Vec<Action> = if liveness {
        trace.actions[..trace.healed_at.unwrap_or(trace.actions.len())].to_vec()
    } else {
        trace.actions[..replayed.steps.len()].to_vec()
    };
    // Does this candidate still fail the same way? Returns the normalised action list.
    let fails = |candidate: &[Action]| -> Option<(Vec<Action>, usize)> {
        let (applied, violated, world) = replay_lenient(spec, oracle, candidate);
        if liveness {
            if violated.is_some() {
                return None;
            }
            let (suffix, finished) = healed_continuation(spec, &world);
            if finished {
                return None;
            }
            let healed_at = applied.len();
            let mut all = applied;
            all.extend(suffix);
            Some((all, healed_at))
        } else if violated == Some(target) {
            let length = applied.len();
            Some((applied, length))
        } else {
            None
        }
    };
    let (mut best, mut best_healed) = fails(&prefix).ok_or_else(|| {
        InputError::new(
            file,
            "actions",
            "the trace's failure does not reproduce under shrinking's replay",
        )
    })?;
    let core = |actions: &[Action], healed: usize| -> Vec<Action> {
        if liveness {
            actions[..healed].to_vec()
        } else {
            actions.to_vec()
        }
    };
    // ddmin over the (faulty) core.
    let mut current = core(&best, best_healed);
    let mut chunks = 2usize;
    while current.len() >= 2 {
        let size = current.len().div_ceil(chunks);
        let mut reduced = false;
        for start in (0..current.len()).step_by(size) {
            let candidate: Vec<Action> = current[..start]
                .iter()
                .chain(current[(start + size).min(current.len())..].iter())
                .copied()
                .collect();
            if let Some((all, healed)) = fails(&candidate) {
                current = core(&all, healed);
                best = all;
                best_healed = healed;
                chunks = (chunks - 1).max(2);
                reduced = true;
                break;
            }
        }
        if !reduced {
            if chunks >= current.len() {
                break;
            }
            chunks = (chunks * 2).min(current.len());
        }
    }
    // One action at a time, from the end.
    let mut index = current.len();
    while index > 0 {
        index -= 1;
        if index >= current.len() {
            continue;
        }
        let mut candidate = current.clone();
        candidate.remove(index);
        if let Some((all, healed)) = fails(&candidate) {
            current = core(&all, healed);
            best = all;
            best_healed = healed;
        }
    }
    // Second pass, over choice indices (each action's position among the enabled actions):
    // removing a choice keeps the rest meaningful even when checkpoint ids shift.
    let choices_of = |actions: &[Action]| -> Vec<usize> {
        let mut world = World::initial(spec);
        let mut choices = Vec::with_capacity(actions.len());
        for action in actions {
            let enabled = world::enabled_with(spec, &world, free_options());
            let Some(choice) = enabled.iter().position(|a| a == action) else {
                break;
            };
            choices.push(choice);
            world = world::apply(spec, &world, *action).expect("enabled");
        }
        choices
    };
    let actions_of = |choices: &[usize]| -> Vec<Action> {
        let mut world = World::initial(spec);
        let mut actions = Vec::with_capacity(choices.len());
        for choice in choices {
            let enabled = world::enabled_with(spec, &world, free_options());
            if enabled.is_empty() {
                break;
            }
            let action = enabled[choice % enabled.len()];
            world = world::apply(spec, &world, action).expect("enabled");
            actions.push(action);
            if invariants::check_all(spec, oracle, &world).is_err() {
                break;
            }
        }
        actions
    };
    let mut choices = choices_of(&current);
    let mut chunk = choices.len().div_ceil(2).max(1);
    while chunk >= 1 && !choices.is_empty() {
        let mut start = 0;
        let mut reduced = false;
        while start < choices.len() {
            let mut candidate = choices.clone();
            candidate.drain(start..(start + chunk).min(choices.len()));
            if let Some((all, healed)) = fails(&actions_of(&candidate)) {
                if healed < current.len() || all.len() < best.len() {
                    current = core(&all, healed);
                    best = all;
                    best_healed = healed;
                    choices = choices_of(&current);
                    reduced = true;
                    continue;
                }
            }
            start += chunk;
        }
        if !reduced {
            if chunk == 1 {
                break;
            }
            chunk = chunk.div_ceil(2);
        }
    }
    let before = trace.actions.len();
    let after = best.len();
    let mut shrunk = trace.clone();
    shrunk.origin = Origin::Shrink {
        from: file.to_string(),
        original_length: before,
    };
    shrunk.actions = best;
    shrunk.healed_at = liveness.then_some(best_healed);
    shrunk.expected = Expected::Violation {
        invariant: target.to_string(),
    };
    Ok(Shrunk {
        trace: shrunk,
        before,
        after,
    })
}
