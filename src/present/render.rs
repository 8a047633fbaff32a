//! The chart model of a replayed trace (lanes, arrows, notes, checkpoint lifecycles) and its
//! text and Mermaid renderings, plus `replay`'s step-by-step timeline. The descriptions of single
//! actions, events and worlds live below, in `system::world::describe`, and are used from there.

use crate::system::coordinator::CoordinatorEvent;
use crate::system::protocol::{ChannelEvent, CheckpointId, SourceEvent, Tick};
use crate::system::spec::Spec;
use crate::system::world::describe::{describe_events, describe_rpc, task_name};
use crate::system::world::{RpcKey, RpcKind, StepEvent, Timer};
use std::fmt::Write as _;

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
        RpcKind::SourceEvent => (true, source_event_label(rpc), ArrowKind::Control),
        RpcKind::SplitRequest => (false, "split request".to_string(), ArrowKind::Control),
        RpcKind::TaskRunning => (false, "running".to_string(), ArrowKind::Control),
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

fn source_event_label(rpc: &RpcKey) -> String {
    match rpc.event {
        Some(SourceEvent::AddSplit(split)) => format!("add split {split}"),
        Some(SourceEvent::NoMoreSplits) | None => "no more splits".to_string(),
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
                StepEvent::ResumedOlder { from } => items.push(ChartItem::Note {
                    first: 0,
                    last: last_lane,
                    text: format!("resume from older checkpoint {from}"),
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
                StepEvent::CommitFailed { sink, transaction } => items.push(note(
                    1 + sink.0 as usize,
                    format!("commit of txn {transaction} fails (retry later)"),
                    NoteKind::Fault,
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
                    CoordinatorEvent::Allocated(id, _) => {
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
                StepEvent::RpcSent(_)
                | StepEvent::Sent { .. }
                | StepEvent::TriggerPhaseDone
                | StepEvent::OperatorCoordinator(_)
                | StepEvent::SharedDiscarded(_) => {}
                StepEvent::CoordinatorCheckpointed(id) => items.push(note(
                    0,
                    format!("source coordinator checkpoints {id}"),
                    NoteKind::Snapshot,
                )),
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
