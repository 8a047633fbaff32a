//! Human-readable descriptions of actions, step events and worlds, and the per-step summary,
//! shared by `replay`'s timeline, the model checker's Explorer view, traces and the renderers.
//! Pure formatting of the world's own data: nothing here decides behaviour.

use crate::system::coordinator::CoordinatorEvent;
use crate::system::protocol::{ChannelEvent, CheckpointId, SourceEvent, TaskId};
use crate::system::spec::{OperatorKind, Spec};
use crate::system::task::TaskStatus;
use crate::system::world::{Action, RpcKey, RpcKind, StepEvent, Timer, UserRequestKind, World};
use std::fmt::Write as _;

pub fn task_name(spec: &Spec, task: TaskId) -> &str {
    spec.tasks
        .get(task.0 as usize)
        .map_or("?", |t| t.name.as_str())
}

/// An RPC in words: `ack cp3 join -> coordinator`.
pub fn describe_rpc(spec: &Spec, rpc: &RpcKey) -> String {
    let task = task_name(spec, rpc.task);
    let id = rpc.checkpoint;
    match rpc.kind {
        RpcKind::Trigger => format!("trigger {id} coordinator -> {task}"),
        RpcKind::NotifyComplete => format!("notify-complete {id} coordinator -> {task}"),
        RpcKind::NotifyAborted => format!("notify-aborted {id} coordinator -> {task}"),
        RpcKind::Ack => format!("ack {id} {task} -> coordinator"),
        RpcKind::Decline => format!("decline {id} {task} -> coordinator"),
        RpcKind::EndOfData => format!("end-of-data {task} -> coordinator"),
        RpcKind::TaskFinished => format!("finished {task} -> coordinator"),
        RpcKind::TaskFailed => format!("task-failed {task} -> coordinator"),
        RpcKind::SourceEvent => match rpc.event {
            Some(SourceEvent::AddSplit(split)) => {
                format!("add-split {split} coordinator -> {task}")
            }
            _ => format!("no-more-splits coordinator -> {task}"),
        },
        RpcKind::SplitRequest => format!("split-request {task} -> coordinator"),
        RpcKind::TaskRunning => format!("running {task} -> coordinator"),
    }
}

/// An action in words, as seen in the world it is applied to.
pub fn describe_action(spec: &Spec, world: &World, action: &Action) -> String {
    match action {
        Action::Deliver { channel } => {
            let c = spec.channel(*channel);
            let head = world.channels[channel.0 as usize]
                .front()
                .map_or("nothing".to_string(), |e| format!("{e:?}"));
            format!(
                "deliver {head} {} -> {}",
                task_name(spec, c.from),
                task_name(spec, c.to)
            )
        }
        Action::DeliverPriority { channel } => {
            let c = spec.channel(*channel);
            let queue = &world.channels[channel.0 as usize];
            let position = queue
                .iter()
                .position(|e| matches!(e, ChannelEvent::Barrier(_)))
                .unwrap_or(0);
            let barrier = queue
                .get(position)
                .map_or("barrier".to_string(), |e| format!("{e:?}"));
            format!(
                "deliver {barrier} {} -> {} overtaking {position} queued events",
                task_name(spec, c.from),
                task_name(spec, c.to)
            )
        }
        Action::Emit { task } if world.task(*task).status == TaskStatus::Deploying => {
            format!("{} is deployed and switches to RUNNING", task_name(spec, *task))
        }
        Action::Emit { task } if world.task(*task).status == TaskStatus::Finishing => {
            format!("{} finishes (ready to finish before)", task_name(spec, *task))
        }
        Action::Emit { task } if spec.task(*task).kind == OperatorKind::AsyncSink => {
            format!("the oldest send of {} completes", task_name(spec, *task))
        }
        Action::Emit { task } => format!("{} reads its next record", task_name(spec, *task)),
        Action::DeliverRpc { rpc } => describe_rpc(spec, rpc),
        Action::FinishTriggering if world.coordinator.parked_restart.is_some() => {
            "the restart delay elapses: the cancelled tasks are restored".to_string()
        }
        Action::FinishTriggering => {
            let id = world
                .coordinator
                .coordinator_snapshot
                .unwrap_or(CheckpointId::NONE);
            if spec.split_source.is_some() && world.source_coordinator.marked != Some(id) {
                format!("the source coordinator checkpoints {id} and closes its gateways")
            } else {
                format!("coordinator finishes triggering {id}")
            }
        }
        Action::Fire { timer } => {
            match timer {
                Timer::Periodic => "periodic trigger fires".to_string(),
                Timer::CheckpointTimeout { checkpoint } => format!("{checkpoint} times out"),
                Timer::Alignment { task } => {
                    format!("alignment timeout at {}", task_name(spec, *task))
                }
                Timer::OutputAlignment { checkpoint } => {
                    format!("alignment timeout of {checkpoint} elapses (queued barriers turn unaligned)")
                }
            }
        }
        Action::User { request } => match request {
            UserRequestKind::ManualCheckpoint => "user requests a checkpoint".to_string(),
            UserRequestKind::Savepoint => "user requests a savepoint".to_string(),
            UserRequestKind::StopWithSavepoint => "user requests stop-with-savepoint".to_string(),
        },
        Action::ResumeFromSavepoint => "user resumes the job from its savepoint".to_string(),
        Action::ResumeFromOlder { checkpoint } => {
            format!("user resumes the job from {checkpoint}, older than its savepoint")
        }
        Action::Crash { task } if super::step::send_fails(spec, world, *task) => format!(
            "FAULT a send of {} fails fatally (the task fails)",
            task_name(spec, *task)
        ),
        Action::Crash { task } => format!("FAULT {} crashes", task_name(spec, *task)),
        Action::FailoverCoordinator if world.coordinator.parked_restart.is_some() => {
            "FAULT the JobManager loses leadership while the job restarts; a new leader takes over"
                .to_string()
        }
        Action::FailoverCoordinator => "FAULT coordinator fails over to a new leader".to_string(),
        Action::LoseRpc { rpc } => format!("FAULT lose {}", describe_rpc(spec, rpc)),
        Action::DeclineSnapshot { rpc } => format!(
            "FAULT the snapshot of {} by {} fails (its ack becomes a decline)",
            rpc.checkpoint,
            task_name(spec, rpc.task)
        ),
        Action::FailStorageWrite if world.storage_fault_armed => {
            "FAULT the armed storage fault becomes possibly inconsistent: a store add it fails lands in HA storage".to_string()
        }
        Action::FailStorageWrite => "FAULT the next checkpoint-storage write fails".to_string(),
        Action::FailCommit => {
            "FAULT the external system is unavailable for the next commit attempt".to_string()
        }
    }
}

/// An action in words without a world to look at (the Explorer's action labels).
pub fn describe_action_alone(spec: &Spec, action: &Action) -> String {
    match action {
        Action::Deliver { channel } => {
            let c = spec.channel(*channel);
            format!(
                "deliver head {} -> {}",
                task_name(spec, c.from),
                task_name(spec, c.to)
            )
        }
        Action::DeliverPriority { channel } => {
            let c = spec.channel(*channel);
            format!(
                "deliver unaligned barrier {} -> {} (overtaking)",
                task_name(spec, c.from),
                task_name(spec, c.to)
            )
        }
        Action::FinishTriggering => {
            "coordinator finishes triggering (or a parked restart resumes)".to_string()
        }
        other => describe_action(spec, &World::initial(spec), other),
    }
}

/// The notable events of a step, one short phrase each (record traffic is left out).
pub fn describe_events(spec: &Spec, events: &[StepEvent]) -> Vec<String> {
    let mut lines: Vec<(String, usize)> = Vec::new();
    for event in events {
        let line = match event {
            StepEvent::Snapshotted {
                task,
                id,
                unaligned,
            } => format!(
                "{} snapshots {id}{}",
                task_name(spec, *task),
                if *unaligned { " (unaligned)" } else { "" }
            ),
            StepEvent::Committed {
                sink,
                transaction,
                records,
            } => format!(
                "{} commits the transaction of {transaction} ({records} records)",
                task_name(spec, *sink)
            ),
            StepEvent::CommitFailed { sink, transaction } => format!(
                "{}'s commit of the transaction of {transaction} fails transiently (retryLater)",
                task_name(spec, *sink)
            ),
            StepEvent::Finished(task) => format!("{} finishes", task_name(spec, *task)),
            StepEvent::Resumed { from } => format!("job resumes from savepoint {from}"),
            StepEvent::ResumedOlder { from } => {
                format!("job resumes from {from}, older than its savepoint (a new run reusing later ids)")
            }
            StepEvent::Coordinator(event) => match event {
                CoordinatorEvent::Allocated(id, _) => format!("coordinator triggers {id}"),
                CoordinatorEvent::Completed { id, kind } => {
                    format!("{id} completes ({kind:?})")
                }
                CoordinatorEvent::Aborted { id, reason, .. } => {
                    format!("{id} aborted ({reason:?})")
                }
                CoordinatorEvent::RequestFailed { kind, reason } => {
                    format!("{kind:?} request fails ({reason:?})")
                }
                CoordinatorEvent::FailedByFailureManager => {
                    "failure manager fails the job over".to_string()
                }
                CoordinatorEvent::Restored { id, .. } => match id {
                    Some(id) => format!("job restarts from {id}"),
                    None => "job restarts from scratch".to_string(),
                },
                CoordinatorEvent::FailureReported { .. } => continue,
            },
            _ => continue,
        };
        // Repeated identical events (a queue failing request by request) collapse into one line.
        match lines.last_mut() {
            Some((last, count)) if *last == line => *count += 1,
            _ => lines.push((line, 1)),
        }
    }
    lines
        .into_iter()
        .map(|(line, count)| {
            if count > 1 {
                format!("{line} (x{count})")
            } else {
                line
            }
        })
        .collect()
}

/// A compact multi-line picture of a world: coordinator, tasks, channels, RPCs, output.
pub fn describe_world(spec: &Spec, world: &World) -> String {
    let mut out = String::new();
    let c = &world.coordinator;
    let pending: Vec<String> = c
        .pending
        .iter()
        .map(|p| {
            let waiting: Vec<&str> = p.not_yet_acked.iter().map(|t| task_name(spec, t)).collect();
            format!("{} (waiting for {})", p.id, waiting.join(", "))
        })
        .collect();
    let _ = writeln!(
        out,
        "t={} job {:?} attempt {} next id {}",
        world.now, c.job, c.attempt.0, c.next_id
    );
    let _ = writeln!(
        out,
        "coordinator: pending [{}], queued {}, store [{}]",
        pending.join("; "),
        c.queue.len(),
        c.store
            .entries
            .iter()
            .map(|e| e.id.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );
    for task in spec.task_ids() {
        let live = world.task(task);
        let blocked = live.handler.blocked();
        let _ = writeln!(
            out,
            "{}: {:?} {:?}{}{}",
            task_name(spec, task),
            live.status,
            live.operator,
            if blocked.is_empty() {
                String::new()
            } else {
                format!(" blocked {blocked:?}")
            },
            if live.end_of_data { " end-of-data" } else { "" }
        );
    }
    for channel in spec.channel_ids() {
        let queue = &world.channels[channel.0 as usize];
        if queue.is_empty() {
            continue;
        }
        let c = spec.channel(channel);
        let _ = writeln!(
            out,
            "{} -> {}: {:?}",
            task_name(spec, c.from),
            task_name(spec, c.to),
            queue
        );
    }
    if !world.rpcs.is_empty() {
        let rpcs: Vec<String> = world
            .rpcs
            .iter()
            .map(|r| describe_rpc(spec, &r.key()))
            .collect();
        let _ = writeln!(out, "rpcs: {}", rpcs.join("; "));
    }
    let output: Vec<String> = world
        .external
        .records
        .iter()
        .map(|(r, _)| r.lineage.to_string())
        .collect();
    let _ = writeln!(out, "external output: [{}]", output.join(", "));
    out
}

// ---------------------------------------------------------------------------------------------
// Per-step summaries and the chart model shared by the text, Mermaid and HTML renderings.
// ---------------------------------------------------------------------------------------------

/// The world after a step, in brief.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StepSummary {
    /// `running`, `stopping`, `suspending`, `suspended`, `finished`; `+trig` while triggering.
    pub coordinator: String,
    pub pending: Vec<CheckpointId>,
    /// Per task: `idle`, `A3{0}` (aligning cp3, inputs 0 blocked), `U3{1}` (unaligned cp3,
    /// persisting input 1), `T3` (tracking cp3), `fin`, `down`.
    pub tasks: Vec<String>,
    /// Events queued on each channel.
    pub channel_depths: Vec<usize>,
}

/// Summarises a world for fixed-column renderings.
pub fn summarize(spec: &Spec, world: &World) -> StepSummary {
    use crate::system::coordinator::JobStatus;
    use crate::system::task::handler::Phase;
    use crate::system::task::{BarrierHandler, TaskStatus};
    let c = &world.coordinator;
    let mut coordinator = match c.job {
        JobStatus::Running => "running",
        JobStatus::StoppingWithSavepoint => "stopping",
        JobStatus::Suspending => "suspending",
        JobStatus::Suspended => "suspended",
        JobStatus::Finished => "finished",
    }
    .to_string();
    if c.is_triggering {
        coordinator.push_str("+trig");
    }
    let tasks = spec
        .task_ids()
        .map(|t| {
            let task = world.task(t);
            match task.status {
                TaskStatus::Finished => return "fin".to_string(),
                TaskStatus::Crashed => return "down".to_string(),
                TaskStatus::Deploying => return "deploy".to_string(),
                TaskStatus::Finishing => return "closing".to_string(),
                TaskStatus::Running => {}
            }
            match &task.handler {
                BarrierHandler::Single(h) if h.is_pending() => match h.phase {
                    Phase::CollectingBarriersUnaligned => {
                        let persisting =
                            task.capture.as_ref().map(|c| c.pending).unwrap_or_default();
                        format!("U{}{persisting:?}", h.current_id.0)
                    }
                    _ => format!("A{}{:?}", h.current_id.0, h.blocked),
                },
                BarrierHandler::Tracker(tracker) => match tracker.pending.last() {
                    Some(entry) => format!("T{}", entry.id.0),
                    None => "idle".to_string(),
                },
                _ => "idle".to_string(),
            }
        })
        .collect();
    StepSummary {
        coordinator,
        pending: c.pending.iter().map(|p| p.id).collect(),
        tasks,
        channel_depths: world.channels.iter().map(|q| q.len()).collect(),
    }
}
