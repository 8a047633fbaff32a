//! The model's side of a comparison: a list of world actions (a seeded schedule or a saved
//! trace) folded through `world::apply`, projected onto the driver's schema. Every action that
//! gives the coordinator an input becomes one driver input, and the coordinator's effects during
//! that action become its expected [`Observation`].
//!
//! The mapping, action by action:
//! - the periodic timer, a checkpoint's canceller, a user request: `periodic`, `timeout`,
//!   `request` (the model's asynchronous operator-coordinator phase, `FinishTriggering`, belongs
//!   to the input that started the trigger pipeline: the driver runs the whole pipeline in one
//!   input, so its effects are added to that input's observation);
//! - an ack, decline, end-of-data, finished or task-failed RPC reaching the coordinator: `ack`,
//!   `decline`, `end_of_data`, `finished`, `task_failed` (with the attempt that sent it; an ack
//!   with the shared files of its snapshot, uploaded and reused);
//! - a trigger RPC delivered to a task that has finished meanwhile: `trigger_failed`;
//! - a JobManager failover: `jm_failover`;
//! - the delay of a parked (non-atomic) restart elapsing (`FinishTriggering` with a restart
//!   parked): `restart` (the driver delays as many restarts as the model parks);
//! - an injected storage fault: `storage_fault` with the stage the model consumed it at
//!   (`store_inconsistent` for a possibly inconsistent one that struck a store add), placed just
//!   before the input that consumed it;
//! - task-side actions (channels, emits, crashes before their report, lost RPCs): nothing.
//!
//! The shared files the coordinator deletes during an input (`StepEvent::SharedDiscarded`) are
//! part of its observation, and the input that ends the job also expects what Flink's terminal
//! store shutdown deletes ([`add_terminal_cleanup`]).
//!
//! Where the driver has no input for what the model did, the projection stops there and says
//! why (resuming a job from a savepoint; a coordinator input arriving inside the trigger
//! pipeline). Such stops are counted, never compared away.

use super::observation::{Observation, RAW_FINALIZE_FAILURE};
use super::script::{flink_kind, flink_reason, shared_key, Input, RequestKind, StorageStage};
use crate::system::coordinator::{CoordinatorEvent, JobStatus};
use crate::system::protocol::{Alignment, CheckpointId, FailureReason};
use crate::system::spec::Spec;
use crate::system::task::TaskStatus;
use crate::system::world::{
    self, Action, CoordinatorCall, Rpc, RpcKind, StepEvent, Timer, UserRequestKind, World,
};

/// A world run projected onto the driver's schema.
#[derive(Clone, Debug, Default)]
pub struct Projection {
    /// Driver inputs, in order.
    pub inputs: Vec<Input>,
    /// The model's observation for each input.
    pub expected: Vec<Observation>,
    /// For each input, the number of actions applied when it was made (its last action's index
    /// + 1), so a divergence can name the world step.
    pub at_action: Vec<usize>,
    /// The model's attempt number that is the driver's attempt 0 at each input (the model
    /// numbers a task's attempts per job, Flink per execution graph, which a JobManager failover
    /// rebuilds; both number them per task).
    pub attempt_base: Vec<u32>,
    /// Why the projection stopped before the end of the actions, if it did.
    pub stopped: Option<String>,
    /// Actions that were not enabled and were skipped (only when shrinking removes actions).
    pub skipped: usize,
}

/// Projects `actions` (applied from the initial world; actions that are not enabled are
/// skipped, which shrinking relies on).
pub fn project(spec: &Spec, actions: &[Action]) -> Projection {
    let mut projection = Projection::default();
    let mut world = World::initial(spec);
    let mut attempt_base = 0u32;
    let mut users = 0u32;
    // The input whose trigger pipeline is still in its asynchronous phase.
    let mut open: Option<usize> = None;
    for (index, &action) in actions.iter().enumerate() {
        let Ok((next, events)) = world::apply_traced(spec, &world, action) else {
            projection.skipped += 1;
            continue;
        };
        let input = match input_of(spec, &world, &next, action, attempt_base, &mut users) {
            Ok(input) => input,
            Err(reason) => {
                projection.stopped = Some(format!("at action {}: {reason}", index + 1));
                break;
            }
        };
        let storage_consumed = world.storage_fault_armed
            && !next.storage_fault_armed
            && action != Action::FailStorageWrite;
        match (input, action) {
            (None, Action::FinishTriggering) => {
                let Some(at) = open else {
                    projection.stopped = Some(format!(
                        "at action {}: the trigger pipeline's last phase finished with no input \
                         open (the trace does not start at a fresh job)",
                        index + 1
                    ));
                    break;
                };
                if storage_consumed {
                    insert_storage_fault(&mut projection, at, &world, &events, attempt_base);
                }
                // The open input is the last one (a storage fault goes before it).
                let last = projection.inputs.len() - 1;
                add_effects(&mut projection.expected[last], &events, &next);
                add_terminal_cleanup(&mut projection.expected[last], &world, &next);
                set_state(&mut projection.expected[last], &next);
                projection.at_action[last] = index + 1;
            }
            (None, _) => {}
            (Some(input), _) => {
                if world.coordinator.coordinator_snapshot.is_some() {
                    projection.stopped = Some(format!(
                        "at action {}: a coordinator input arrived inside the trigger pipeline, \
                         which the driver runs as one input",
                        index + 1
                    ));
                    break;
                }
                if storage_consumed {
                    let at = projection.inputs.len();
                    insert_storage_fault(&mut projection, at, &world, &events, attempt_base);
                }
                if action == Action::FailoverCoordinator {
                    attempt_base = next.coordinator.attempt.0 as u32;
                }
                let mut observation = Observation::default();
                add_effects(&mut observation, &events, &next);
                add_terminal_cleanup(&mut observation, &world, &next);
                set_state(&mut observation, &next);
                projection.inputs.push(input);
                projection.expected.push(observation);
                projection.at_action.push(index + 1);
                projection.attempt_base.push(attempt_base);
            }
        }
        open = next
            .coordinator
            .coordinator_snapshot
            .is_some()
            .then(|| projection.inputs.len().saturating_sub(1));
        world = next;
    }
    if open.is_some() {
        // The last input's trigger pipeline never finished in the model, so its observation is
        // incomplete: it is not compared.
        projection.inputs.pop();
        projection.expected.pop();
        projection.at_action.pop();
        projection.attempt_base.pop();
        if projection.stopped.is_none() {
            projection.stopped = Some("the actions end inside a trigger pipeline".to_string());
        }
    }
    projection.expected = projection
        .expected
        .into_iter()
        .map(Observation::canonical)
        .collect();
    projection
}

/// Puts a `storage_fault` input at `at`, stage from what the consuming step reported.
fn insert_storage_fault(
    projection: &mut Projection,
    at: usize,
    before: &World,
    events: &[StepEvent],
    attempt_base: u32,
) {
    let finalize = events.iter().any(|e| {
        matches!(
            e,
            StepEvent::Coordinator(CoordinatorEvent::Aborted {
                reason: FailureReason::FinalizeCheckpointFailure,
                ..
            })
        )
    });
    let stage = if finalize && before.storage_fault_lands {
        StorageStage::StoreInconsistent
    } else if finalize {
        StorageStage::Store
    } else {
        StorageStage::Location
    };
    // The fault itself changes nothing observable: the state is the one before the input.
    let mut observation = Observation::default();
    set_state(&mut observation, before);
    let step = projection.at_action.get(at).copied().unwrap_or(0);
    projection.inputs.insert(at, Input::StorageFault { stage });
    projection.expected.insert(at, observation);
    projection.at_action.insert(at, step);
    projection.attempt_base.insert(at, attempt_base);
}

/// The driver input an action gives the coordinator, if any; `Err` where the driver has none.
fn input_of(
    spec: &Spec,
    before: &World,
    after: &World,
    action: Action,
    attempt_base: u32,
    users: &mut u32,
) -> Result<Option<Input>, String> {
    let at = after.now as u64;
    let driver_attempt = |attempt: u8| (attempt as u32).saturating_sub(attempt_base);
    Ok(match action {
        Action::Fire {
            timer: Timer::Periodic,
        } => Some(Input::Periodic { at }),
        Action::Fire {
            timer: Timer::CheckpointTimeout { checkpoint },
        } => Some(Input::Timeout {
            id: checkpoint.0,
            at,
        }),
        Action::Fire { .. } => None,
        Action::User { request } => {
            *users += 1;
            let kind = match request {
                UserRequestKind::ManualCheckpoint => RequestKind::Checkpoint,
                UserRequestKind::Savepoint => RequestKind::Savepoint,
                UserRequestKind::StopWithSavepoint if spec.user.drain => RequestKind::StopWithDrain,
                UserRequestKind::StopWithSavepoint => RequestKind::StopWithSavepoint,
            };
            Some(Input::Request {
                kind,
                handle: format!("u{users}"),
                at,
            })
        }
        Action::DeliverRpc { rpc } => {
            let task = rpc.task.0;
            match rpc.kind {
                RpcKind::Ack => {
                    // The snapshot's shared files (incremental checkpoints), as the driver's
                    // keyed state names them.
                    let shared = before
                        .rpcs
                        .iter()
                        .find_map(|r| match r {
                            Rpc::Ack { snapshot, .. } if r.key() == rpc => {
                                Some(snapshot.shared.clone())
                            }
                            _ => None,
                        })
                        .unwrap_or_default();
                    Some(Input::Ack {
                        task,
                        attempt: driver_attempt(rpc.attempt.0),
                        id: rpc.checkpoint.0,
                        shared,
                        at,
                    })
                }
                RpcKind::Decline => {
                    let reason = before
                        .rpcs
                        .iter()
                        .find_map(|r| match r {
                            Rpc::Decline { reason, .. } if r.key() == rpc => Some(*reason),
                            _ => None,
                        })
                        .unwrap_or(FailureReason::CheckpointDeclined);
                    Some(Input::Decline {
                        task,
                        attempt: driver_attempt(rpc.attempt.0),
                        id: rpc.checkpoint.0,
                        reason,
                        at,
                    })
                }
                RpcKind::EndOfData => Some(Input::EndOfData {
                    task,
                    attempt: driver_attempt(rpc.attempt.0),
                    at,
                }),
                RpcKind::TaskFinished => Some(Input::Finished {
                    task,
                    attempt: driver_attempt(rpc.attempt.0),
                    at,
                }),
                RpcKind::TaskFailed => Some(Input::TaskFailed {
                    task,
                    attempt: driver_attempt(rpc.attempt.0),
                    at,
                }),
                // `[lifecycle] deploy_steps`: the TaskManager's RUNNING report of the current
                // attempt (the driver's `running` has no attempt; an earlier attempt's report
                // is one Flink's graph no longer has an execution for, and the model drops it).
                RpcKind::TaskRunning if rpc.attempt == before.coordinator.attempt => {
                    Some(Input::Running { task, at })
                }
                RpcKind::TaskRunning => None,
                RpcKind::Trigger if before.task(rpc.task).status == TaskStatus::Finished => {
                    Some(Input::TriggerFailed {
                        task,
                        id: rpc.checkpoint.0,
                        at,
                    })
                }
                RpcKind::Trigger
                | RpcKind::NotifyComplete
                | RpcKind::NotifyAborted
                | RpcKind::SourceEvent
                | RpcKind::SplitRequest => None,
            }
        }
        Action::FailoverCoordinator => Some(Input::JmFailover { at }),
        Action::FinishTriggering if before.coordinator.parked_restart.is_some() => {
            Some(Input::Restart { at })
        }
        Action::ResumeFromSavepoint | Action::ResumeFromOlder { .. } => {
            return Err("the job was resumed from a savepoint; the driver has no such input".into())
        }
        Action::FinishTriggering
        | Action::Deliver { .. }
        | Action::DeliverPriority { .. }
        | Action::Emit { .. }
        | Action::Crash { .. }
        | Action::LoseRpc { .. }
        | Action::DeclineSnapshot { .. }
        | Action::FailStorageWrite
        | Action::FailCommit => None,
    })
}

/// Adds the coordinator's effects during one step to an observation.
fn add_effects(observation: &mut Observation, events: &[StepEvent], after: &World) {
    for event in events {
        match event {
            StepEvent::RpcSent(rpc) => match rpc {
                Rpc::Trigger { task, barrier } => {
                    let alignment = match barrier.alignment {
                        Alignment::AtLeastOnce => "at-least-once",
                        Alignment::Aligned => "aligned",
                        Alignment::AlignedWithTimeout => "aligned-timeout",
                        Alignment::Unaligned => "unaligned",
                    };
                    // `CheckpointType.FULL_CHECKPOINT`: the coordinator's `forceFullSnapshot`
                    // after a NO_CLAIM restore (the driver names its options' type).
                    let kind = if barrier.full {
                        "full_checkpoint"
                    } else {
                        flink_kind(barrier.kind)
                    };
                    observation.rpcs.push((
                        task.0 as u32,
                        format!(
                            "trigger cp{} {kind} {alignment} a{}",
                            barrier.id.0,
                            after.coordinator.attempt_of(*task).0
                        ),
                    ));
                }
                Rpc::NotifyComplete { task, id } => observation
                    .rpcs
                    .push((task.0 as u32, format!("complete cp{}", id.0))),
                Rpc::NotifyAborted {
                    task,
                    id,
                    latest_completed,
                } => observation.rpcs.push((
                    task.0 as u32,
                    format!("abort cp{} latest=cp{}", id.0, latest_completed.0),
                )),
                _ => {}
            },
            StepEvent::CoordinatorCheckpointed(id) => observation
                .operator_coordinator
                .push(format!("checkpoint cp{}", id.0)),
            StepEvent::OperatorCoordinator(call) => {
                observation.operator_coordinator.push(match call {
                    CoordinatorCall::Complete(id) => format!("complete cp{}", id.0),
                    CoordinatorCall::Aborted(id) => format!("aborted cp{}", id.0),
                    CoordinatorCall::Reset(id) => format!("reset cp{}", id.0),
                    CoordinatorCall::SubtaskReset { task, restored } => {
                        format!("subtask-reset t{} cp{}", task.0, restored.0)
                    }
                })
            }
            StepEvent::SharedDiscarded(files) => observation
                .shared_discarded
                .extend(files.iter().map(shared_key)),
            StepEvent::Coordinator(event) => match event {
                CoordinatorEvent::Completed { id, .. } => {
                    observation.outcomes.push(format!("completed cp{}", id.0))
                }
                CoordinatorEvent::Aborted {
                    reason: FailureReason::FinalizeCheckpointFailure,
                    ..
                } => observation.outcomes.push(RAW_FINALIZE_FAILURE.to_string()),
                CoordinatorEvent::Aborted { reason, .. }
                | CoordinatorEvent::RequestFailed { reason, .. } => observation
                    .outcomes
                    .push(format!("failed {}", flink_reason(*reason))),
                CoordinatorEvent::FailedByFailureManager => {
                    observation.fail_job.push("fail job".to_string())
                }
                CoordinatorEvent::Restored { id, .. } => observation.restores.push(match id {
                    Some(id) => format!("restore cp{}", id.0),
                    None => "restore nothing".to_string(),
                }),
                CoordinatorEvent::Allocated(..) | CoordinatorEvent::FailureReported { .. } => {}
            },
            _ => {}
        }
    }
}

/// Deliberate deviation (docs/fidelity.md), the shared-state side of the store compared as empty
/// once the job is finished: Flink's `StandaloneCompletedCheckpointStore.shutdown` on a globally
/// terminal status discards the checkpoints it does not retain (all but savepoint-typed ones:
/// the NO_CLAIM snapshot; the driver's jobs retain nothing after termination), then calls
/// `unregisterUnusedState` with the lowest id kept, which deletes every shared file last used
/// below it and created after `highestNotClaimedCheckpointID`. The model performs no terminal
/// clean-up (nothing runs after it); the input that ends the job expects the files that
/// clean-up deletes, computed from the model's registry at that point.
fn add_terminal_cleanup(observation: &mut Observation, before: &World, after: &World) {
    if shut_down_in_flink(before) || !shut_down_in_flink(after) {
        return;
    }
    let c = &after.coordinator;
    let lowest = c
        .store
        .entries
        .iter()
        .filter(|e| e.kind.is_savepoint())
        .map(|e| e.id)
        .min()
        .unwrap_or(CheckpointId(u32::MAX));
    let highest_not_claimed = c.registry.highest_not_claimed;
    observation.shared_discarded.extend(
        c.registry
            .entries
            .iter()
            .filter(|e| e.last_used < lowest && e.created_by > highest_not_claimed)
            .map(|e| shared_key(&e.file)),
    );
}

/// Whether Flink has shut the job's store down: the model's finished job, and a job stopped with
/// a savepoint (FINISHED in Flink once its tasks finished), are globally terminal there.
fn shut_down_in_flink(world: &World) -> bool {
    matches!(
        world.coordinator.job,
        JobStatus::Finished | JobStatus::Suspended
    )
}

/// The coordinator's state after an input.
fn set_state(observation: &mut Observation, world: &World) {
    let c = &world.coordinator;
    observation.pending = c
        .pending
        .iter()
        .map(|p| {
            let acked: Vec<u64> = p.acked().iter().map(|t| t.0 as u64).collect();
            let awaited: Vec<u64> = p.not_yet_acked.iter().map(|t| t.0 as u64).collect();
            format!(
                "cp{} {} acked={acked:?} awaited={awaited:?}",
                p.id.0,
                flink_kind(p.kind())
            )
        })
        .collect();
    // Deliberate deviation (docs/fidelity.md): Flink discards the store of a finished job (HA
    // cleanup on a globally terminal state); the model keeps it for the oracle's last checks.
    // A job stopped with a savepoint is FINISHED in Flink too once its tasks finished (the
    // model's Suspended: resumable from the savepoint, which is not in the store).
    observation.store = if shut_down_in_flink(world) {
        Vec::new()
    } else {
        c.store.entries.iter().map(|e| e.id.0).collect()
    };
    observation.failures = c.failure_manager.count as u64;
    observation.periodic_due = c
        .periodic_due
        .filter(|_| !shut_down_in_flink(world))
        .map(|due| u64::from(due.max(world.now)) * super::script::TICK_MS);
}
