//! What one coordinator input observably did, in one form for both sides: the model's
//! coordinator (projected from a `World` step) and Flink's (parsed from the driver's answer line).
//!
//! The projection keeps what a party outside the coordinator can observe, and nothing else:
//! - per task, the RPCs that task receives, in order (trigger with kind, alignment and attempt;
//!   completion; abort with the latest completed id). RPCs to different tasks travel on different
//!   connections, so only their order per task is observable;
//! - the requests' outcomes (completed id, or failure reason), as a sorted list: the model does
//!   not name requests, and the outcomes of different requests reach different callers;
//! - fail-job verdicts of the failure manager, and restores (which checkpoint);
//! - with a split source, the calls on its operator coordinator, in order (its checkpoint,
//!   completion and abort notifications, `resetToCheckpoint`, `subtaskReset`);
//! - with incremental checkpoints, the shared state files the coordinator deleted (the model's
//!   registry's `unregisterUnusedState` verdicts; on Flink's side the keys whose recording
//!   handle's `discardState` ran), as a sorted list: Flink's registry walks a hash map;
//! - after the input: the pending checkpoints (id, kind, acknowledged and awaited tasks), the
//!   store's ids, the failure manager's consecutive-failure counter, and the periodic trigger's
//!   due time (the first moment it may fire: a due time in the past counts as now; none once
//!   the job is terminal), compared only where the model starts its scheduler with Flink's delay
//!   (`CheckpointConfig::start_after_min_pause`).
//!
//! Left out on purpose (each is a deliberate deviation listed in docs/fidelity.md): the
//! `lastSubsumed` id of completion notifications, the checkpoint timeouts' due times, and the
//! request queue's length.

use serde_json::Value;
use std::fmt::Write as _;

/// The outcome of a request whose checkpoint failed to finalize or to be stored. Flink fails the
/// request's future with the raw exception there (an `IOException`, say), not with a
/// `CheckpointException`, while the failure manager and the tasks see
/// FINALIZE_CHECKPOINT_FAILURE as in the model. Both sides name it this way (a deliberate
/// deviation of the projection, docs/fidelity.md: the caller sees a failure either way).
pub const RAW_FINALIZE_FAILURE: &str = "failed (finalize exception)";

/// One input's observable effect.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Observation {
    /// The driver refused the input (illegal in its state); the model side never does.
    pub refused: Option<String>,
    /// `(task, rpc)` in order; stable-sorted by task so that only the per-task order counts.
    pub rpcs: Vec<(u32, String)>,
    /// `completed cpN` / `failed REASON`, sorted.
    pub outcomes: Vec<String>,
    /// One entry per fail-job verdict (`fail job`), in order.
    pub fail_job: Vec<String>,
    /// `restore cpN` / `restore nothing`, in order.
    pub restores: Vec<String>,
    /// Calls on the operator coordinator, in order: `checkpoint cpN`, `complete cpN`,
    /// `aborted cpN`, `reset cpN`, `subtask-reset tK cpN` (`cp0`: no checkpoint).
    pub operator_coordinator: Vec<String>,
    /// Shared state files deleted, by the model's key (`t<task>@<checkpoint>`), sorted. Empty
    /// for models without incremental checkpoints.
    pub shared_discarded: Vec<String>,
    /// `cpN kind acked={..} awaited={..}`, ascending by id.
    pub pending: Vec<String>,
    pub store: Vec<u32>,
    pub failures: u64,
    /// The live periodic trigger's due time in ms, raised to the clock (a timer due in the past
    /// fires at once); `None` without one or once the job is terminal.
    pub periodic_due: Option<u64>,
}

impl Observation {
    /// Puts the order-free parts in their canonical order.
    pub fn canonical(mut self) -> Observation {
        self.rpcs.sort_by_key(|(task, _)| *task); // stable: per-task order kept
        self.outcomes.sort();
        self.shared_discarded.sort();
        self
    }

    /// The first field in which two observations differ, with both values, or `None`.
    pub fn difference(&self, other: &Observation) -> Option<(&'static str, String, String)> {
        let show = |v: &dyn std::fmt::Debug| format!("{v:?}");
        if self.refused.is_some() != other.refused.is_some() {
            return Some(("refused", show(&self.refused), show(&other.refused)));
        }
        let fields: [(&'static str, String, String); 10] = [
            ("rpcs", show(&self.rpcs), show(&other.rpcs)),
            (
                "operator_coordinator",
                show(&self.operator_coordinator),
                show(&other.operator_coordinator),
            ),
            (
                "shared_discarded",
                show(&self.shared_discarded),
                show(&other.shared_discarded),
            ),
            ("outcomes", show(&self.outcomes), show(&other.outcomes)),
            ("fail_job", show(&self.fail_job), show(&other.fail_job)),
            ("restores", show(&self.restores), show(&other.restores)),
            ("pending", show(&self.pending), show(&other.pending)),
            ("store", show(&self.store), show(&other.store)),
            ("failures", show(&self.failures), show(&other.failures)),
            // Last: a protocol difference is named before the timing one it may cause.
            (
                "periodic_due",
                show(&self.periodic_due),
                show(&other.periodic_due),
            ),
        ];
        fields.into_iter().find(|(_, a, b)| a != b)
    }

    /// A few readable lines.
    pub fn describe(&self) -> String {
        let mut out = String::new();
        if let Some(reason) = &self.refused {
            let _ = writeln!(out, "refused: {reason}");
        }
        let rpcs: Vec<String> = self
            .rpcs
            .iter()
            .map(|(task, rpc)| format!("t{task}:{rpc}"))
            .collect();
        let _ = writeln!(out, "rpcs:     {}", rpcs.join(", "));
        let _ = writeln!(out, "outcomes: {}", self.outcomes.join(", "));
        let _ = writeln!(out, "op-coord: {}", self.operator_coordinator.join(", "));
        let _ = writeln!(out, "deleted:  {}", self.shared_discarded.join(", "));
        // Every line always, so that two descriptions line up side by side.
        let failover: Vec<&str> = self
            .fail_job
            .iter()
            .chain(&self.restores)
            .map(String::as_str)
            .collect();
        let _ = writeln!(out, "failover: {}", failover.join(", "));
        let _ = writeln!(out, "pending:  {}", self.pending.join("; "));
        let _ = writeln!(
            out,
            "store:    {:?}  failures: {}",
            self.store, self.failures
        );
        out
    }

    /// Parses one driver answer line (`{"step":k,"outputs":[...],"state":{...}}` or
    /// `{"step":k,"error":...}`) into an observation. `attempt_base` maps the driver's attempt
    /// numbers onto the model's (see `model::AttemptMap`).
    pub fn from_driver(answer: &Value, attempt_base: u32) -> Result<Observation, String> {
        if let Some(error) = answer.get("error") {
            return Ok(Observation {
                refused: Some(error.as_str().unwrap_or("?").to_string()),
                ..Observation::default()
            });
        }
        let outputs = answer
            .get("outputs")
            .and_then(Value::as_array)
            .ok_or("answer without outputs")?;
        let mut observation = Observation::default();
        let number = |v: &Value, key: &str| v.get(key).and_then(Value::as_u64).unwrap_or(0);
        for output in outputs {
            if let Some(t) = output.get("trigger") {
                let attempt = number(t, "attempt") as u32 + attempt_base;
                let alignment = driver_alignment(t);
                observation.rpcs.push((
                    number(t, "task") as u32,
                    format!(
                        "trigger cp{} {} {alignment} a{attempt}",
                        number(t, "id"),
                        t.get("kind").and_then(Value::as_str).unwrap_or("?")
                    ),
                ));
            } else if let Some(c) = output.get("complete") {
                observation.rpcs.push((
                    number(c, "task") as u32,
                    format!("complete cp{}", number(c, "id")),
                ));
            } else if let Some(a) = output.get("abort") {
                observation.rpcs.push((
                    number(a, "task") as u32,
                    format!(
                        "abort cp{} latest=cp{}",
                        number(a, "id"),
                        number(a, "latest_completed")
                    ),
                ));
            } else if let Some(o) = output.get("outcome") {
                let text = match (o.get("completed"), o.get("failed")) {
                    (Some(id), _) => format!("completed cp{}", id.as_u64().unwrap_or(0)),
                    (None, Some(reason)) => {
                        let reason = reason.as_str().unwrap_or("?");
                        // Not a `CheckpointFailureReason` name but an exception's class: Flink
                        // completes the request with the raw exception when finalizing or
                        // storing fails (see [`RAW_FINALIZE_FAILURE`]).
                        if reason.chars().all(|c| c.is_ascii_uppercase() || c == '_') {
                            format!("failed {reason}")
                        } else {
                            RAW_FINALIZE_FAILURE.to_string()
                        }
                    }
                    _ => "outcome ?".to_string(),
                };
                observation.outcomes.push(text);
            } else if let Some(c) = output.get("coordinator") {
                let id = number(c, "id");
                let call = c.get("call").and_then(Value::as_str).unwrap_or("?");
                observation.operator_coordinator.push(match call {
                    "subtask_reset" => format!("subtask-reset t{} cp{id}", number(c, "task")),
                    other => format!("{} cp{id}", other.replace('_', "-")),
                });
            } else if let Some(d) = output.get("discarded") {
                let key = d.get("key").and_then(Value::as_str).unwrap_or("?");
                observation.shared_discarded.push(key.to_string());
            } else if output.get("fail_job").is_some() {
                observation.fail_job.push("fail job".to_string());
            } else if let Some(r) = output.get("restore") {
                // Flink restores state on every failover; `id` null = nothing to restore.
                observation
                    .restores
                    .push(match r.get("id").and_then(Value::as_u64) {
                        Some(id) => format!("restore cp{id}"),
                        None => "restore nothing".to_string(),
                    });
            }
            // `ack_returned`, `ignored`, `exception`: return values and diagnostics, not
            // messages anyone receives.
        }
        let state = answer.get("state").ok_or("answer without state")?;
        for pending in state
            .get("pending")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let tasks = |key: &str| -> Vec<u64> {
                pending
                    .get(key)
                    .and_then(Value::as_array)
                    .map(|a| a.iter().filter_map(Value::as_u64).collect())
                    .unwrap_or_default()
            };
            observation.pending.push(format!(
                "cp{} {} acked={:?} awaited={:?}",
                number(pending, "id"),
                pending.get("kind").and_then(Value::as_str).unwrap_or("?"),
                tasks("acked"),
                tasks("awaited"),
            ));
        }
        observation.store = state
            .get("store")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_u64().map(|v| v as u32))
                    .collect()
            })
            .unwrap_or_default();
        observation.failures = number(state, "failures");
        observation.periodic_due = state
            .get("timers")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .find(|t| t.get("kind").and_then(Value::as_str) == Some("periodic"))
            .and_then(|t| t.get("due").and_then(Value::as_u64))
            .map(|due| due.max(number(state, "now")))
            .filter(|_| {
                // A terminal job's coordinator is shut down: a timer left armed does nothing.
                let job = state.get("job").and_then(Value::as_str).unwrap_or("");
                !matches!(job, "FINISHED" | "FAILED" | "CANCELED" | "SUSPENDED")
            });
        Ok(observation.canonical())
    }
}

/// The model's alignment vocabulary for a trigger RPC of the driver: `at-least-once`,
/// `unaligned`, `aligned-timeout` (timeoutable), or `aligned` (Flink's ALIGNED and
/// FORCED_ALIGNED alike: both never time out).
fn driver_alignment(trigger: &Value) -> &'static str {
    let alignment = trigger.get("alignment").and_then(Value::as_str);
    let timeoutable = trigger.get("aligned_timeout").is_some_and(|v| !v.is_null());
    match alignment {
        Some("AT_LEAST_ONCE") => "at-least-once",
        Some("UNALIGNED") => "unaligned",
        _ if timeoutable => "aligned-timeout",
        _ => "aligned",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn answer(now: u64, job: &str, due: Option<u64>) -> Value {
        let timers: Vec<Value> = due
            .map(|due| json!({"kind": "periodic", "id": null, "due": due}))
            .into_iter()
            .chain([json!({"kind": "timeout", "id": 1, "due": 5})])
            .collect();
        json!({"step": 1, "outputs": [],
               "state": {"now": now, "job": job, "failures": 0, "timers": timers}})
    }

    /// Flink's live periodic trigger is read as the first moment it may fire: a due time in the
    /// past counts as now, a checkpoint's canceller is not it, and a terminal job has none.
    #[test]
    fn the_periodic_trigger_due_time_is_read_as_the_first_moment_it_may_fire() {
        let read = |a: Value| {
            Observation::from_driver(&a, 0)
                .expect("parses")
                .periodic_due
        };
        assert_eq!(read(answer(100, "RUNNING", Some(300))), Some(300));
        assert_eq!(read(answer(400, "RUNNING", Some(300))), Some(400));
        assert_eq!(read(answer(100, "RUNNING", None)), None);
        assert_eq!(read(answer(100, "FINISHED", Some(300))), None);
    }

    /// A due time that differs is a divergence, named after any protocol difference.
    #[test]
    fn a_different_due_time_diverges_after_protocol_differences() {
        let model = Observation {
            periodic_due: Some(200),
            ..Observation::default()
        };
        let flink = Observation {
            periodic_due: Some(100),
            ..Observation::default()
        };
        assert_eq!(model.difference(&flink).map(|d| d.0), Some("periodic_due"));
        let flink = Observation {
            failures: 1,
            ..flink
        };
        assert_eq!(model.difference(&flink).map(|d| d.0), Some("failures"));
        assert_eq!(model.difference(&model.clone()), None);
    }
}
