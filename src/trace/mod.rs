//! Trace files: the durable artefact of a run. A trace embeds the model text and lists the
//! actions taken, by value, so replaying it needs no seed and no RNG: replay folds `apply` over
//! the actions and checks every invariant after each one. `replay_while_enabled` does the same
//! for as long as each action is enabled, for a trace recorded on other code (a bug's
//! counterexample replayed without the bug).
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

pub mod strict;

/// The largest trace file (bytes).
pub const MAX_TRACE_BYTES: u64 = 64 << 20;
/// The most actions a trace may hold (a run takes at most two phases of
/// [`crate::system::spec::MAX_STEPS`] steps).
pub const MAX_ACTIONS: usize = 2 * crate::system::spec::MAX_STEPS as usize;

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

    /// Loads and validates a trace file (a regular file of at most [`MAX_TRACE_BYTES`]).
    pub fn load(path: &str) -> Result<Trace, InputError> {
        let text = crate::error::read_input(path, "trace file", MAX_TRACE_BYTES)?;
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
        if !value.is_object() {
            return Err(InputError::new(path, "", "a trace is a JSON object"));
        }
        let trace: Trace = serde_json::from_value(value.clone())
            .map_err(|e| strict::locate_error(path, &value, &e))?;
        // Unknown keys anywhere (inside actions, their RPCs and timers, in `origin`): whatever
        // the file holds that the trace does not write back.
        let written = serde_json::to_value(&trace).expect("traces always serialize");
        if let Some(key) = strict::unknown_key(&value, &written, "") {
            return Err(InputError::new(
                path,
                key,
                "unknown key (not part of the trace format; see traces/README.md)",
            ));
        }
        if trace.actions.len() > MAX_ACTIONS {
            return Err(InputError::new(
                path,
                "actions",
                format!(
                    "{} actions, more than the {MAX_ACTIONS} a trace may have",
                    trace.actions.len()
                ),
            ));
        }
        Ok(trace)
    }

    /// The trace file's text (pretty JSON with a final newline).
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("traces always serialize") + "\n"
    }

    /// Writes the trace atomically (temporary file in the same directory, then rename).
    pub fn save(&self, path: &str) -> Result<(), InputError> {
        write_atomically(path, &self.to_json())
    }
}

/// Writes `text` to `path` through a temporary file and a rename, creating parent directories.
/// The temporary file (`.NAME.PID.checkpoint-harness.tmp`, next to the target) of a write that was
/// killed is removed by the next write into the same directory, once its process is gone.
pub fn write_atomically(path: &str, text: &str) -> Result<(), InputError> {
    if path.is_empty() {
        return Err(InputError::new(
            "command line",
            "",
            "an output path is empty (give a file name)",
        ));
    }
    let target = Path::new(path);
    let Some(file_name) = target.file_name().and_then(|n| n.to_str()) else {
        return Err(InputError::new(path, "", "is not a file name"));
    };
    let directory = target
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(directory)
        .map_err(|e| InputError::new(path, "", format!("cannot create its directory: {e}")))?;
    remove_stale_temporaries(directory);
    let temporary = directory.join(format!(
        ".{file_name}.{}{TEMPORARY_SUFFIX}",
        std::process::id()
    ));
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

/// The suffix of the temporary files [`write_atomically`] writes.
pub const TEMPORARY_SUFFIX: &str = ".checkpoint-harness.tmp";

/// Removes the temporary files in `directory` left by writes whose process no longer runs (known
/// only where `/proc` lists processes; elsewhere nothing is removed).
fn remove_stale_temporaries(directory: &Path) {
    if !Path::new("/proc/self").exists() {
        return;
    }
    let Ok(entries) = std::fs::read_dir(directory) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some(stem) = name.strip_suffix(TEMPORARY_SUFFIX) else {
            continue;
        };
        let Some(pid) = stem.rsplit('.').next().and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        if pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = std::fs::remove_file(entry.path());
        }
    }
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
    let mut steps = Vec::new();
    let walk = walk(
        spec,
        oracle,
        &trace.actions,
        trace.healed_at,
        |index, before, after, events, violation| {
            let action = trace.actions[index];
            steps.push(ReplayStep {
                index,
                now: after.now,
                action,
                description: describe::describe_action(spec, before, &action),
                events,
                violation: violation.cloned(),
                summary: describe::summarize(spec, after),
            });
        },
    );
    if let Some(blocked) = walk.blocked {
        let (index, reason) = match blocked {
            Blocked::NotEnabled(index) => (
                index,
                format!(
                    "{:?} is not enabled at step {} of this model (a trace from another model or version?)",
                    trace.actions[index],
                    index + 1
                ),
            ),
            Blocked::NotApplied(index, error) => {
                (index, format!("{:?} could not be applied", error.0))
            }
        };
        return Err(InputError::new(file, format!("actions[{index}]"), reason));
    }
    let world = walk.world;
    let outcome = match walk.violation {
        Some(violation) => Outcome::Violation {
            violation,
            step: walk.applied,
        },
        None => match healed_outcome(spec, &world, trace.actions.len(), trace.healed_at) {
            Some(violation) => Outcome::Violation {
                violation,
                step: trace.actions.len(),
            },
            None => Outcome::Pass,
        },
    };
    Ok(Replayed {
        steps,
        outcome,
        world,
    })
}

/// How far a trace replayed by [`replay_while_enabled`] followed its recorded path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Followed {
    /// Actions applied: every one, or those before the first that is not enabled, or those up
    /// to and including the one after which an invariant failed.
    pub applied: usize,
    /// The first invariant violated (after action `applied`, counting from 1), if any.
    pub violation: Option<Violation>,
    /// Index of the first action that is not enabled where the trace takes it: the replay left
    /// the recorded path there (and stopped).
    pub left_path_at: Option<usize>,
}

/// Replays a trace for as long as its next action is enabled (under [`replay`]'s rules, healed
/// phase included), checking every invariant after every step, and stops at the first action
/// that is not enabled or the first violation. For a trace recorded on other code (a bug's
/// counterexample replayed without the bug): that code may leave the recorded path, which is no
/// failure, but whatever it violates on the way is. The healed phase's liveness verdict at the
/// end of the trace is not judged: the recorded healed steps were the other code's schedule.
pub fn replay_while_enabled(spec: &Spec, oracle: &Oracle, trace: &Trace) -> Followed {
    let walk = walk(
        spec,
        oracle,
        &trace.actions,
        trace.healed_at,
        |_, _, _, _, _| {},
    );
    Followed {
        applied: walk.applied,
        violation: walk.violation,
        left_path_at: walk.blocked.as_ref().map(Blocked::index),
    }
}

/// Where a replay could not take the trace's next action, and why.
enum Blocked {
    /// `actions[index]` is not among the enabled actions.
    NotEnabled(usize),
    /// `actions[index]` is enabled but `apply` refused it.
    NotApplied(usize, world::NotEnabled),
}

impl Blocked {
    fn index(&self) -> usize {
        match self {
            Blocked::NotEnabled(index) | Blocked::NotApplied(index, _) => *index,
        }
    }
}

/// How far a replay got.
struct Walk {
    /// The world after the last action applied.
    world: World,
    applied: usize,
    /// The first violation: the walk stops after the action that caused it.
    violation: Option<Violation>,
    /// The action the walk could not take (it stopped before it).
    blocked: Option<Blocked>,
}

/// Folds `apply` over a trace's actions under [`replay`]'s rules (each must be enabled where the
/// trace takes it, the steps from `healed_at` on under the healed rules), checking every
/// invariant after every step, until the first violation or the first action that cannot be
/// taken. `visit` sees every step taken: its index, the world before and after, its events and
/// its violation.
fn walk(
    spec: &Spec,
    oracle: &Oracle,
    actions: &[Action],
    healed_at: Option<usize>,
    mut visit: impl FnMut(usize, &World, &World, Vec<StepEvent>, Option<&Violation>),
) -> Walk {
    let mut walk = Walk {
        world: World::initial(spec),
        applied: 0,
        violation: None,
        blocked: None,
    };
    for (index, action) in actions.iter().enumerate() {
        if !world::enabled_with(spec, &walk.world, phase_options(healed_at, index)).contains(action)
        {
            walk.blocked = Some(Blocked::NotEnabled(index));
            break;
        }
        let (next, events) = match world::apply_traced(spec, &walk.world, *action) {
            Ok(step) => step,
            Err(error) => {
                walk.blocked = Some(Blocked::NotApplied(index, error));
                break;
            }
        };
        walk.violation = invariants::check_all(spec, oracle, &next).err();
        visit(index, &walk.world, &next, events, walk.violation.as_ref());
        walk.world = next;
        walk.applied += 1;
        if walk.violation.is_some() {
            break;
        }
    }
    walk
}

/// The options of step `index` of a trace whose healed phase starts at `healed_at`: which actions
/// it may take (healed-phase steps are held to the healed rules).
fn phase_options(healed_at: Option<usize>, index: usize) -> Options {
    match healed_at {
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

/// Runs a deterministic healed continuation from `world`: first the `recorded` healed-phase
/// actions that are still enabled, then always the first enabled action, within the model's
/// healed budget in all. Returns the actions taken and whether the job finished.
fn healed_continuation(spec: &Spec, world: &World, recorded: &[Action]) -> (Vec<Action>, bool) {
    let mut world = world.clone();
    let mut taken = Vec::new();
    let budget = spec.bounds.healed_steps as usize;
    let mut recorded = recorded.iter();
    while taken.len() < budget && !world.job_done() {
        let enabled = world::enabled_with(spec, &world, Options::healed());
        let Some(action) = recorded
            .by_ref()
            .find(|a| enabled.contains(a))
            .or_else(|| enabled.first())
            .copied()
        else {
            break;
        };
        world = world::apply(spec, &world, action).expect("enabled");
        taken.push(action);
    }
    (taken, world.job_done())
}

/// The violation replaying `actions` gives under exactly [`replay`]'s rules (healed-phase
/// steps from `healed_at` on), or `None` for a pass; `Err` if an action is not enabled.
fn replayed_violation(
    spec: &Spec,
    oracle: &Oracle,
    actions: &[Action],
    healed_at: Option<usize>,
) -> Result<Option<Violation>, usize> {
    let walk = walk(spec, oracle, actions, healed_at, |_, _, _, _, _| {});
    match &walk.blocked {
        Some(blocked) => Err(blocked.index()),
        None if walk.violation.is_some() => Ok(walk.violation),
        None => Ok(healed_outcome(spec, &walk.world, actions.len(), healed_at)),
    }
}

/// The liveness violation at the end of a trace whose healed phase started at `healed_at`: the
/// job did not finish and either the healed budget ran out or nothing could happen any more.
fn healed_outcome(
    spec: &Spec,
    world: &World,
    length: usize,
    healed_at: Option<usize>,
) -> Option<Violation> {
    let healed_at = healed_at?;
    if world.job_done() {
        return None;
    }
    let healed_steps = length.saturating_sub(healed_at);
    let stuck = world::enabled_with(spec, world, Options::healed()).is_empty();
    (healed_steps >= spec.bounds.healed_steps as usize || stuck)
        .then(|| sim::healed_violation(spec, world, spec.bounds.healed_steps))
}

/// The result of shrinking.
pub struct Shrunk {
    pub trace: Trace,
    pub before: usize,
    pub after: usize,
}

/// Minimises a failing trace (delta debugging, then single-action removal), keeping the same
/// violated invariant. Liveness failures shrink their faulty prefix; the healed suffix is
/// regenerated deterministically (the recorded healed steps that still apply, then the first
/// enabled action) and must still fail to finish. Every candidate is judged by [`replay`]'s own
/// rules, so the shrunk trace replays to the same violation, whose detail becomes its note.
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
    let healed_from = trace
        .healed_at
        .unwrap_or(trace.actions.len())
        .min(trace.actions.len());
    let prefix: Vec<Action> = if liveness {
        trace.actions[..healed_from].to_vec()
    } else {
        trace.actions[..replayed.steps.len()].to_vec()
    };
    let recorded_healed: Vec<Action> = trace.actions[healed_from..].to_vec();
    // Does this candidate still fail the same way? Returns the normalised action list.
    let fails = |candidate: &[Action]| -> Option<(Vec<Action>, usize)> {
        let (applied, violated, world) = replay_lenient(spec, oracle, candidate);
        if liveness {
            if violated.is_some() {
                return None;
            }
            let healed_at = applied.len();
            // The regenerated healed phase, then the recorded one if that finishes the job.
            for recorded in [&[][..], &recorded_healed[..]] {
                let (suffix, finished) = healed_continuation(spec, &world, recorded);
                if finished {
                    continue;
                }
                let mut all = applied.clone();
                all.extend(suffix);
                let judged = replayed_violation(spec, oracle, &all, Some(healed_at));
                if matches!(&judged, Ok(Some(v)) if v.invariant == target) {
                    return Some((all, healed_at));
                }
            }
            None
        } else if violated == Some(target) {
            let judged = replayed_violation(spec, oracle, &applied, None);
            matches!(&judged, Ok(Some(v)) if v.invariant == target).then(|| {
                let length = applied.len();
                (applied, length)
            })
        } else {
            None
        }
    };
    let (mut best, mut best_healed) = fails(&prefix).ok_or_else(|| {
        let reason = if liveness {
            format!(
                "cannot shrink this liveness failure: after the trace's {} faulty-phase actions, a healed phase that takes the recorded healed steps (or the first enabled action) finishes the job within {} steps, so the failure depends on the exact schedule of the original healed phase; replay the trace as it is",
                prefix.len(),
                spec.bounds.healed_steps
            )
        } else {
            let (_, violated, _) = replay_lenient(spec, oracle, &prefix);
            format!(
                "cannot shrink: replayed with every fault and user request allowed, the trace's actions give {} instead of {target}",
                violated.map_or("a pass".to_string(), |v| format!("a violation of {v}"))
            )
        };
        InputError::new(file, "actions", reason)
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
    shrunk.healed_at = liveness.then_some(best_healed);
    // The note describes the shrunk violation (its checkpoint ids and records may differ from
    // the original's).
    match replayed_violation(spec, oracle, &best, shrunk.healed_at) {
        Ok(Some(violation)) if violation.invariant == target => shrunk.note = violation.detail,
        other => {
            return Err(InputError::new(
                file,
                "actions",
                format!(
                    "shrinking produced a trace that replays to {} instead of {target} (a bug in shrink; the original trace is unchanged)",
                    match other {
                        Ok(Some(v)) => format!("a violation of {}", v.invariant),
                        Ok(None) => "a pass".to_string(),
                        Err(index) => format!("an action that is not enabled at actions[{index}]"),
                    }
                ),
            ))
        }
    }
    shrunk.actions = best;
    shrunk.expected = Expected::Violation {
        invariant: target.to_string(),
    };
    Ok(Shrunk {
        trace: shrunk,
        before,
        after,
    })
}
