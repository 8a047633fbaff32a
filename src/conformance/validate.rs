//! Trace validation: is a coordinator event sequence observed on a real Flink job (the
//! MiniCluster job of `conformance/minicluster/`, parsed from its JobManager log) a behaviour the
//! model allows? A bounded depth-first search over the model's world looks for a run whose
//! projection onto the same small vocabulary ([`Observed`]) equals the observed sequence.
//!
//! The projection of one world step: a trigger RPC sent for a checkpoint id not triggered before
//! is `Trigger` (Flink logs "Triggering checkpoint N" in `triggerTasks`, just before it sends the
//! trigger RPCs; an allocated id that fails before that logs no trigger, so `Allocated` is not
//! used); `Completed` of a checkpoint is `Complete`; `Aborted` is `Fail` with its reason and a
//! request that failed before allocation is `Fail` without an id (Flink's log parse keeps only
//! numbered failures, so such a model run never matches); `Restored` is `Restore`. Savepoint
//! events are ignored (the job takes none).
//!
//! The search prunes every step whose projected events do not continue the observed sequence,
//! deduplicates states by a 64-bit hash of (world, matched length), and stops at a state cap, so
//! it answers one of: a run was found (with its actions), no run exists (every consistent state
//! was explored), or the cap was reached first. With `require_finished`, the run must also end
//! with the model's job finished (the observed job finished, and nothing may follow in the
//! vocabulary); without it, a run that has produced exactly the observed sequence suffices (the
//! observed sequence is a prefix of a model run).
//!
//! Watches the model; decides nothing.

use crate::system::coordinator::CoordinatorEvent;
use crate::system::protocol::{FailureReason, SnapshotKind};
use crate::system::spec::Spec;
use crate::system::world::{self, Action, Rpc, StepEvent, World};
use serde_json::Value;
use std::collections::BTreeSet;
use std::hash::{DefaultHasher, Hash, Hasher};

/// One coordinator event in the vocabulary both sides are projected onto.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Observed {
    Trigger(u32),
    Complete(u32),
    /// `id`: `None` for a request that failed before a checkpoint id was allocated.
    Fail {
        id: Option<u32>,
        reason: FailureReason,
    },
    /// `None`: restarted without a completed checkpoint.
    Restore(Option<u32>),
}

impl std::fmt::Display for Observed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Observed::Trigger(id) => write!(f, "trigger {id}"),
            Observed::Complete(id) => write!(f, "complete {id}"),
            Observed::Fail {
                id: Some(id),
                reason,
            } => {
                write!(f, "fail {id} ({})", super::script::flink_reason(*reason))
            }
            Observed::Fail { id: None, reason } => {
                write!(
                    f,
                    "fail before allocation ({})",
                    super::script::flink_reason(*reason)
                )
            }
            Observed::Restore(Some(id)) => write!(f, "restore {id}"),
            Observed::Restore(None) => write!(f, "restore none"),
        }
    }
}

/// The model's reason for Flink's `CheckpointFailureReason` name.
pub fn reason_from_flink(name: &str) -> Option<FailureReason> {
    FailureReason::ALL
        .iter()
        .copied()
        .find(|r| super::script::flink_reason(*r) == name)
}

/// Parses the job's `events` array (`{"trigger":N}`, `{"complete":N}`,
/// `{"fail":N,"reason":"FLINK_NAME",..}`, `{"restore":N|null}`).
pub fn parse_events(events: &Value) -> Result<Vec<Observed>, String> {
    let list = events
        .as_array()
        .ok_or_else(|| format!("events is not an array: {events}"))?;
    let id = |v: &Value| -> Result<u32, String> {
        v.as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(|| format!("not a checkpoint id: {v}"))
    };
    list.iter()
        .map(|e| {
            if let Some(n) = e.get("trigger") {
                Ok(Observed::Trigger(id(n)?))
            } else if let Some(n) = e.get("complete") {
                Ok(Observed::Complete(id(n)?))
            } else if let Some(n) = e.get("fail") {
                let name = e.get("reason").and_then(Value::as_str).unwrap_or("");
                let reason = reason_from_flink(name).ok_or_else(|| {
                    format!("Flink failure reason {name:?} has no model counterpart: {e}")
                })?;
                Ok(Observed::Fail {
                    id: Some(id(n)?),
                    reason,
                })
            } else if let Some(n) = e.get("restore") {
                Ok(Observed::Restore(if n.is_null() {
                    None
                } else {
                    Some(id(n)?)
                }))
            } else {
                Err(format!("unknown event {e}"))
            }
        })
        .collect()
}

/// The projection of one step's events; `last_trigger` is the highest checkpoint id whose
/// trigger was already projected (updated).
pub fn project(events: &[StepEvent], last_trigger: &mut u32) -> Vec<Observed> {
    let mut out = Vec::new();
    for event in events {
        match event {
            StepEvent::RpcSent(Rpc::Trigger { barrier, .. })
                if barrier.kind == SnapshotKind::Checkpoint && barrier.id.0 > *last_trigger =>
            {
                *last_trigger = barrier.id.0;
                out.push(Observed::Trigger(barrier.id.0));
            }
            StepEvent::Coordinator(CoordinatorEvent::Completed {
                id,
                kind: SnapshotKind::Checkpoint,
            }) => out.push(Observed::Complete(id.0)),
            StepEvent::Coordinator(CoordinatorEvent::Aborted {
                id,
                kind: SnapshotKind::Checkpoint,
                reason,
            }) => out.push(Observed::Fail {
                id: Some(id.0),
                reason: *reason,
            }),
            StepEvent::Coordinator(CoordinatorEvent::RequestFailed {
                kind: SnapshotKind::Checkpoint,
                reason,
            }) => out.push(Observed::Fail {
                id: None,
                reason: *reason,
            }),
            StepEvent::Coordinator(CoordinatorEvent::Restored { id, .. }) => {
                out.push(Observed::Restore(id.map(|c| c.0)))
            }
            _ => {}
        }
    }
    out
}

/// The search's bounds.
#[derive(Clone, Copy, Debug)]
pub struct Bounds {
    /// Distinct states explored at most.
    pub max_states: usize,
    /// The run must end with the model's job finished.
    pub require_finished: bool,
}

/// What the search found.
#[derive(Clone, Debug)]
pub enum Outcome {
    /// A model run producing the observed sequence: its actions.
    Found { actions: Vec<Action>, states: usize },
    /// Every state consistent with a prefix of the observed sequence was explored: the model
    /// cannot produce it. `matched`: the longest prefix some run produced; `offered`: what the
    /// model produced instead of the next observed event (a few, sorted).
    Impossible {
        states: usize,
        matched: usize,
        offered: Vec<Vec<Observed>>,
    },
    /// The state cap was reached first (no verdict).
    CapReached { states: usize, matched: usize },
}

impl Outcome {
    pub fn found(&self) -> bool {
        matches!(self, Outcome::Found { .. })
    }
}

struct Node {
    parent: usize,
    action: Option<Action>,
}

/// Searches `spec`'s world for a run whose projection is `observed` (see the module doc).
pub fn validate(spec: &Spec, observed: &[Observed], bounds: Bounds) -> Outcome {
    let mut nodes = vec![Node {
        parent: 0,
        action: None,
    }];
    let mut seen: BTreeSet<u64> = BTreeSet::new();
    let mut stack: Vec<(usize, World, usize, u32)> = vec![(0, World::initial(spec), 0, 0)];
    let mut matched_best = 0;
    let mut offered: BTreeSet<Vec<Observed>> = BTreeSet::new();
    while let Some((node, world, matched, last_trigger)) = stack.pop() {
        if !seen.insert(key(&world, matched, last_trigger)) {
            continue;
        }
        if matched == observed.len() && (!bounds.require_finished || world.job_done()) {
            let mut actions = Vec::new();
            let mut at = node;
            while let Some(action) = nodes[at].action {
                actions.push(action);
                at = nodes[at].parent;
            }
            actions.reverse();
            return Outcome::Found {
                actions,
                states: seen.len(),
            };
        }
        if seen.len() >= bounds.max_states {
            return Outcome::CapReached {
                states: seen.len(),
                matched: matched_best,
            };
        }
        let enabled = world::enabled(spec, &world);
        // Pushed in reverse: the first enabled action is explored first.
        for action in enabled.into_iter().rev() {
            let Ok((next, events)) = world::apply_traced(spec, &world, action) else {
                continue;
            };
            let mut trigger = last_trigger;
            let projected = project(&events, &mut trigger);
            let rest = &observed[matched..];
            if projected.len() > rest.len() || projected[..] != rest[..projected.len()] {
                if matched >= matched_best {
                    if matched > matched_best {
                        offered.clear();
                    }
                    if offered.len() < 8 {
                        offered.insert(projected);
                    }
                }
                continue;
            }
            let now_matched = matched + projected.len();
            if now_matched > matched_best {
                matched_best = now_matched;
                offered.clear();
            }
            if seen.contains(&key(&next, now_matched, trigger)) {
                continue;
            }
            nodes.push(Node {
                parent: node,
                action: Some(action),
            });
            stack.push((nodes.len() - 1, next, now_matched, trigger));
        }
    }
    Outcome::Impossible {
        states: seen.len(),
        matched: matched_best,
        offered: offered.into_iter().collect(),
    }
}

fn key(world: &World, matched: usize, last_trigger: u32) -> u64 {
    let mut hasher = DefaultHasher::new();
    world.hash(&mut hasher);
    matched.hash(&mut hasher);
    last_trigger.hash(&mut hasher);
    hasher.finish()
}
