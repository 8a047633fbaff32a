//! Human-readable descriptions of actions, step events and worlds, shared by `replay`'s timeline,
//! the model checker's Explorer view and the renderers.

use crate::system::coordinator::CoordinatorEvent;
use crate::system::protocol::{ChannelEvent, CheckpointId, TaskId, Tick};
use crate::system::spec::Spec;
use crate::system::world::{Action, RpcKey, RpcKind, StepEvent, Timer, UserRequestKind, World};
use std::fmt::Write as _;

fn task_name(spec: &Spec, task: TaskId) -> &str {
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
        Action::Emit { task } => format!("{} reads its next record", task_name(spec, *task)),
        Action::DeliverRpc { rpc } => describe_rpc(spec, rpc),
        Action::FinishTriggering => {
            let id = world
                .coordinator
                .coordinator_snapshot
                .unwrap_or(CheckpointId::NONE);
            format!("coordinator finishes triggering {id}")
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
        Action::Crash { task } => format!("FAULT {} crashes", task_name(spec, *task)),
        Action::FailoverCoordinator => "FAULT coordinator fails over to a new leader".to_string(),
        Action::LoseRpc { rpc } => format!("FAULT lose {}", describe_rpc(spec, rpc)),
        Action::DeclineSnapshot { rpc } => format!(
            "FAULT the snapshot of {} by {} fails (its ack becomes a decline)",
            rpc.checkpoint,
            task_name(spec, rpc.task)
        ),
        Action::FailStorageWrite => "FAULT the next checkpoint-storage write fails".to_string(),
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
        Action::FinishTriggering => "coordinator finishes triggering".to_string(),
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
            StepEvent::Finished(task) => format!("{} finishes", task_name(spec, *task)),
            StepEvent::Resumed { from } => format!("job resumes from savepoint {from}"),
            StepEvent::Coordinator(event) => match event {
                CoordinatorEvent::Allocated(id) => format!("coordinator triggers {id}"),
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

/// The step-by-step timeline `replay` prints: one line per action with the clock after it,
/// indented notable events, the violation where it happens, and where faults stopped.
pub fn timeline(
    spec: &Spec,
    replayed: &crate::trace::Replayed,
    healed_at: Option<usize>,
) -> String {
    let mut out = String::new();
    for step in &replayed.steps {
        if healed_at == Some(step.index) {
            let _ = writeln!(out, "      --- faults stop here: healed phase ---");
        }
        let _ = writeln!(
            out,
            "{:>5}  t={:<4} {}",
            step.index + 1,
            step.now,
            step.description
        );
        for line in describe_events(spec, &step.events) {
            let _ = writeln!(out, "{:>13} {line}", "");
        }
        if let Some(violation) = &step.violation {
            let _ = writeln!(
                out,
                "{:>13} VIOLATION {}: {}",
                "", violation.invariant, violation.detail
            );
        }
    }
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

/// What an arrow carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArrowKind {
    Trigger,
    Barrier,
    Record,
    Ack,
    Decline,
    Notify,
    Cancel,
    /// End of data, end of partition, lifecycle reports.
    Control,
}

/// What a note marks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoteKind {
    Snapshot,
    Commit,
    Complete,
    Abort,
    Crash,
    Restore,
    Finish,
    Timer,
    Fault,
    Info,
}

/// One element of a step in the chart. Lanes: 0 is the coordinator, `1 + t` is task `t`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChartItem {
    Arrow {
        from: usize,
        to: usize,
        label: String,
        kind: ArrowKind,
    },
    /// A note over lanes `first..=last`.
    Note {
        first: usize,
        last: usize,
        text: String,
        kind: NoteKind,
    },
}

/// One step of the chart.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChartStep {
    /// 1-based step number.
    pub number: usize,
    pub now: Tick,
    pub action: String,
    pub items: Vec<ChartItem>,
    /// The invariant violated right after this step, if any.
    pub violation: Option<(String, String)>,
}

/// A checkpoint's life in the trace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lifecycle {
    pub id: CheckpointId,
    pub kind: String,
    /// Step numbers (1-based).
    pub triggered_at: Option<usize>,
    pub acked_by: Vec<(String, usize)>,
    /// `completed`, `aborted: Reason`, or `pending`.
    pub outcome: String,
    pub outcome_at: Option<usize>,
    pub restored_at: Vec<usize>,
}

/// A message-sequence chart of a replayed trace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chart {
    pub model: String,
    /// Lane names: the coordinator, then every subtask.
    pub lanes: Vec<String>,
    pub steps: Vec<ChartStep>,
    pub lifecycles: Vec<Lifecycle>,
}

fn rpc_arrow(spec: &Spec, rpc: &RpcKey) -> ChartItem {
    let task_lane = 1 + rpc.task.0 as usize;
    let id = rpc.checkpoint;
    let (to_task, label, kind) = match rpc.kind {
        RpcKind::Trigger => (true, format!("trigger {id}"), ArrowKind::Trigger),
        RpcKind::NotifyComplete => (true, format!("complete {id}"), ArrowKind::Notify),
        RpcKind::NotifyAborted => (true, format!("aborted {id}"), ArrowKind::Notify),
        RpcKind::Ack => (false, format!("ack {id}"), ArrowKind::Ack),
        RpcKind::Decline => (false, format!("decline {id}"), ArrowKind::Decline),
        RpcKind::EndOfData => (false, "end of data".to_string(), ArrowKind::Control),
        RpcKind::TaskFinished => (false, "finished".to_string(), ArrowKind::Control),
        RpcKind::TaskFailed => (false, "task failed".to_string(), ArrowKind::Control),
    };
    let _ = spec;
    let (from, to) = if to_task {
        (0, task_lane)
    } else {
        (task_lane, 0)
    };
    ChartItem::Arrow {
        from,
        to,
        label,
        kind,
    }
}

fn channel_label(event: &ChannelEvent) -> (String, ArrowKind) {
    match event {
        ChannelEvent::Record(record) => (format!("{}", record.lineage), ArrowKind::Record),
        ChannelEvent::Barrier(barrier) => (
            format!(
                "barrier {}{}",
                barrier.id,
                if barrier.is_unaligned() {
                    " (unaligned)"
                } else {
                    ""
                }
            ),
            ArrowKind::Barrier,
        ),
        ChannelEvent::CancelMarker(id) => (format!("cancel {id}"), ArrowKind::Cancel),
        ChannelEvent::EndOfData => ("end of data".to_string(), ArrowKind::Control),
        ChannelEvent::EndOfPartition => ("end of partition".to_string(), ArrowKind::Control),
    }
}

/// Builds the chart of a replayed trace.
pub fn chart(spec: &Spec, replayed: &crate::trace::Replayed) -> Chart {
    let last_lane = spec.tasks.len();
    let mut lanes = vec!["coordinator".to_string()];
    lanes.extend(spec.tasks.iter().map(|t| t.name.clone()));
    let mut lifecycles: Vec<Lifecycle> = Vec::new();
    let mut steps = Vec::new();
    for step in &replayed.steps {
        let number = step.index + 1;
        let mut items = Vec::new();
        let note = |lane: usize, text: String, kind: NoteKind| ChartItem::Note {
            first: lane,
            last: lane,
            text,
            kind,
        };
        for event in &step.events {
            match event {
                StepEvent::Delivered {
                    channel,
                    event,
                    priority,
                    overtaken,
                } => {
                    let c = spec.channel(*channel);
                    let (mut label, kind) = channel_label(event);
                    if *priority && *overtaken > 0 {
                        label.push_str(&format!(" overtakes {overtaken}"));
                    }
                    items.push(ChartItem::Arrow {
                        from: 1 + c.from.0 as usize,
                        to: 1 + c.to.0 as usize,
                        label,
                        kind,
                    });
                }
                StepEvent::RpcDelivered(rpc) => items.push(rpc_arrow(spec, rpc)),
                StepEvent::RpcLost(rpc) => items.push(note(
                    0,
                    format!("lost: {}", describe_rpc(spec, rpc)),
                    NoteKind::Fault,
                )),
                StepEvent::SnapshotFailed(rpc) => items.push(note(
                    1 + rpc.task.0 as usize,
                    format!("snapshot {} fails", rpc.checkpoint),
                    NoteKind::Fault,
                )),
                StepEvent::TimerFired { timer, now } => {
                    let text = match timer {
                        Timer::Periodic => format!("periodic timer (t={now})"),
                        Timer::CheckpointTimeout { checkpoint } => {
                            format!("{checkpoint} times out (t={now})")
                        }
                        Timer::Alignment { .. } => format!("alignment timeout (t={now})"),
                        Timer::OutputAlignment { checkpoint } => {
                            format!("{checkpoint} alignment deadline (t={now})")
                        }
                    };
                    let lane = match timer {
                        Timer::Alignment { task } => 1 + task.0 as usize,
                        _ => 0,
                    };
                    items.push(note(lane, text, NoteKind::Timer));
                }
                StepEvent::UserRequested(kind) => {
                    items.push(note(0, format!("user: {kind:?}"), NoteKind::Info))
                }
                StepEvent::Resumed { from } => items.push(ChartItem::Note {
                    first: 0,
                    last: last_lane,
                    text: format!("resume from savepoint {from}"),
                    kind: NoteKind::Restore,
                }),
                StepEvent::Snapshotted {
                    task,
                    id,
                    unaligned,
                } => items.push(note(
                    1 + task.0 as usize,
                    format!(
                        "snapshot {id}{}",
                        if *unaligned { " (unaligned)" } else { "" }
                    ),
                    NoteKind::Snapshot,
                )),
                StepEvent::Committed {
                    sink,
                    transaction,
                    records,
                } => items.push(note(
                    1 + sink.0 as usize,
                    format!("commit txn {transaction} ({records} records)"),
                    NoteKind::Commit,
                )),
                StepEvent::Finished(task) => items.push(note(
                    1 + task.0 as usize,
                    "finished".into(),
                    NoteKind::Finish,
                )),
                StepEvent::Crashed(task) => {
                    items.push(note(1 + task.0 as usize, "CRASH".into(), NoteKind::Crash))
                }
                StepEvent::CoordinatorFailedOver => {
                    items.push(note(0, "COORDINATOR FAILOVER".into(), NoteKind::Crash))
                }
                StepEvent::StorageFaultArmed => {
                    items.push(note(0, "next storage write fails".into(), NoteKind::Fault))
                }
                StepEvent::Coordinator(event) => match event {
                    CoordinatorEvent::Allocated(id) => {
                        lifecycles.push(Lifecycle {
                            id: *id,
                            kind: "checkpoint".into(),
                            triggered_at: Some(number),
                            acked_by: Vec::new(),
                            outcome: "pending".into(),
                            outcome_at: None,
                            restored_at: Vec::new(),
                        });
                        items.push(note(0, format!("trigger {id}"), NoteKind::Info));
                    }
                    CoordinatorEvent::Completed { id, kind } => {
                        if let Some(l) = lifecycles.iter_mut().rev().find(|l| l.id == *id) {
                            l.outcome = "completed".into();
                            l.outcome_at = Some(number);
                            l.kind = format!("{kind:?}").to_lowercase();
                        }
                        items.push(note(0, format!("{id} completed"), NoteKind::Complete));
                    }
                    CoordinatorEvent::Aborted { id, kind, reason } => {
                        if let Some(l) = lifecycles.iter_mut().rev().find(|l| l.id == *id) {
                            l.outcome = format!("aborted: {reason:?}");
                            l.outcome_at = Some(number);
                            l.kind = format!("{kind:?}").to_lowercase();
                        }
                        items.push(note(
                            0,
                            format!("{id} aborted ({reason:?})"),
                            NoteKind::Abort,
                        ));
                    }
                    CoordinatorEvent::Restored { id, .. } => {
                        if let Some(id) = id {
                            if let Some(l) = lifecycles.iter_mut().rev().find(|l| l.id == *id) {
                                l.restored_at.push(number);
                            }
                        }
                        items.push(ChartItem::Note {
                            first: 0,
                            last: last_lane,
                            text: match id {
                                Some(id) => format!("job restarts from {id}"),
                                None => "job restarts from scratch".into(),
                            },
                            kind: NoteKind::Restore,
                        });
                    }
                    CoordinatorEvent::FailedByFailureManager => items.push(note(
                        0,
                        "failure manager fails the job".into(),
                        NoteKind::Crash,
                    )),
                    CoordinatorEvent::RequestFailed { .. }
                    | CoordinatorEvent::FailureReported { .. } => {}
                },
                StepEvent::RpcSent(_) | StepEvent::Sent { .. } | StepEvent::TriggerPhaseDone => {}
                StepEvent::Written { sink, record } => items.push(note(
                    1 + sink.0 as usize,
                    format!("write {}", record.lineage),
                    NoteKind::Commit,
                )),
            }
            // Acknowledgements delivered to the coordinator are recorded in the lifecycle.
            if let StepEvent::RpcDelivered(rpc) = event {
                if rpc.kind == RpcKind::Ack {
                    if let Some(l) = lifecycles.iter_mut().rev().find(|l| l.id == rpc.checkpoint) {
                        l.acked_by
                            .push((task_name(spec, rpc.task).to_string(), number));
                    }
                }
            }
        }
        steps.push(ChartStep {
            number,
            now: step.now,
            action: step.description.clone(),
            items,
            violation: step
                .violation
                .as_ref()
                .map(|v| (v.invariant.to_string(), v.detail.clone())),
        });
    }
    Chart {
        model: spec.name.clone(),
        lanes,
        steps,
        lifecycles,
    }
}

// ---------------------------------------------------------------------------------------------
// Trace renderings: fixed-column text and Mermaid.
// ---------------------------------------------------------------------------------------------

fn clip(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        format!("{text:<width$}")
    } else {
        let cut: String = text.chars().take(width.saturating_sub(1)).collect();
        format!("{cut}~")
    }
}

/// One line per step with fixed columns (step, clock, action, coordinator phase, pending
/// checkpoints, per-task alignment state, channel depths), for terminals and CI logs.
pub fn render_text(spec: &Spec, replayed: &crate::trace::Replayed) -> String {
    let mut out = String::new();
    let task_widths: Vec<usize> = spec.tasks.iter().map(|t| t.name.len().max(7)).collect();
    let _ = write!(
        out,
        "{:>5} {:<5} {} {} {}",
        "step",
        "t",
        clip("action", 52),
        clip("coordinator", 13),
        clip("pending", 11)
    );
    for (task, width) in spec.tasks.iter().zip(&task_widths) {
        let _ = write!(out, " {}", clip(&task.name, *width));
    }
    let _ = writeln!(out, " channels");
    for step in &replayed.steps {
        let s = &step.summary;
        let pending: Vec<String> = s.pending.iter().map(|p| p.to_string()).collect();
        let _ = write!(
            out,
            "{:>5} {:<5} {} {} {}",
            step.index + 1,
            step.now,
            clip(&step.description, 52),
            clip(&s.coordinator, 13),
            clip(&pending.join(","), 11)
        );
        for (state, width) in s.tasks.iter().zip(&task_widths) {
            let _ = write!(out, " {}", clip(state, *width));
        }
        let depths: Vec<String> = s.channel_depths.iter().map(|d| d.to_string()).collect();
        let _ = writeln!(out, " {}", depths.join(" "));
        if let Some(violation) = &step.violation {
            let _ = writeln!(
                out,
                "      ^ VIOLATION {}: {}",
                violation.invariant, violation.detail
            );
        }
    }
    let _ = writeln!(
        out,
        "task states: idle, A<cp>{{blocked inputs}} aligning, U<cp>{{persisted inputs}} unaligned, T<cp> tracking, fin, down; channels: events queued per channel (ids as in `show`)"
    );
    out
}

/// Escapes text for a Mermaid message or note.
fn mermaid_text(text: &str) -> String {
    text.replace(';', ",")
        .replace('#', "#35;")
        .replace('<', "#lt;")
        .replace('>', "#gt;")
}

/// A Mermaid sequence diagram: one participant for the coordinator and one per subtask; arrows
/// for triggers, barriers, records, acks, declines and notifications; notes for snapshots,
/// crashes, restores, commits and the violation.
pub fn render_mermaid(spec: &Spec, replayed: &crate::trace::Replayed) -> String {
    let chart = chart(spec, replayed);
    let id = |lane: usize| {
        if lane == 0 {
            "C".to_string()
        } else {
            format!("T{}", lane - 1)
        }
    };
    let mut out = String::from("sequenceDiagram\n");
    for (lane, name) in chart.lanes.iter().enumerate() {
        let _ = writeln!(
            out,
            "    participant {} as {}",
            id(lane),
            mermaid_text(name)
        );
    }
    let last = chart.lanes.len() - 1;
    for step in &chart.steps {
        if step.items.is_empty() {
            let _ = writeln!(
                out,
                "    Note over C: {}. {}",
                step.number,
                mermaid_text(&step.action)
            );
        }
        for item in &step.items {
            match item {
                ChartItem::Arrow {
                    from,
                    to,
                    label,
                    kind,
                } => {
                    let arrow = match kind {
                        ArrowKind::Record | ArrowKind::Control => "-->>",
                        ArrowKind::Decline | ArrowKind::Cancel => "-x",
                        _ => "->>",
                    };
                    let _ = writeln!(
                        out,
                        "    {}{arrow}{}: {}. {}",
                        id(*from),
                        id(*to),
                        step.number,
                        mermaid_text(label)
                    );
                }
                ChartItem::Note {
                    first,
                    last: end,
                    text,
                    ..
                } => {
                    let over = if first == end {
                        id(*first)
                    } else {
                        format!("{},{}", id(*first), id(*end))
                    };
                    let _ = writeln!(
                        out,
                        "    Note over {over}: {}. {}",
                        step.number,
                        mermaid_text(text)
                    );
                }
            }
        }
        if let Some((invariant, detail)) = &step.violation {
            let _ = writeln!(out, "    rect rgb(255, 210, 210)");
            let _ = writeln!(
                out,
                "    Note over C,{}: {}. VIOLATION {}: {}",
                id(last),
                step.number,
                invariant,
                mermaid_text(detail)
            );
            let _ = writeln!(out, "    end");
        }
    }
    out
}
