//! Models that exercise their topic: every model in `models/` states in one line (`topic`) which
//! mechanism or bug family it is for, and the seeded simulator, on the correct code, reaches each
//! situation that topic is about within a fixed seed budget. A model whose runs never reach its
//! situations would pass every invariant vacuously for the bugs it is meant to catch.
//!
//! Each situation is a predicate over one step of a run: the world before it, the action, what
//! happened during it (`world::apply_traced`) and the world after it. The runs are the
//! simulator's own (`sim::run`), replayed step by step, and a situation counts only when it is
//! reached within the model checker's horizon (`bounds.time`), so the exhaustive check of the
//! model can reach it too.

use checkpoint_harness::coordinator::{CoordinatorEvent, JobStatus};
use checkpoint_harness::ghost::LastStep;
use checkpoint_harness::invariants::Oracle;
use checkpoint_harness::protocol::{ChannelEvent, CheckpointId, FailureReason, SnapshotKind};
use checkpoint_harness::scheduler::SchedulerKind;
use checkpoint_harness::sim::{self, Outcome, RunBounds};
use checkpoint_harness::spec::{Spec, EMBEDDED_MODELS};
use checkpoint_harness::task::handler::Phase;
use checkpoint_harness::task::operator::OperatorState;
use checkpoint_harness::task::{BarrierHandler, TaskStatus};
use checkpoint_harness::world::{
    self, Action, CoordinatorCall, RpcKind, StepEvent, Timer, TxnState, UserRequestKind, World,
};

/// One step of a run.
struct Step<'a> {
    spec: &'a Spec,
    before: &'a World,
    action: Action,
    events: &'a [StepEvent],
    after: &'a World,
}

impl Step<'_> {
    fn coordinator(&self) -> impl Iterator<Item = &CoordinatorEvent> + '_ {
        self.events.iter().filter_map(|e| match e {
            StepEvent::Coordinator(event) => Some(event),
            _ => None,
        })
    }

    /// The checkpoint this step restored, if it restored one (`Some(None)`: a restart from
    /// nothing).
    fn restored(&self) -> Option<Option<CheckpointId>> {
        self.coordinator().find_map(|e| match e {
            CoordinatorEvent::Restored { id, .. } => Some(*id),
            _ => None,
        })
    }

    /// This step restored a completed checkpoint (not a restart from the beginning).
    fn restored_checkpoint(&self) -> Option<CheckpointId> {
        self.restored().flatten()
    }

    /// The checkpoints this step aborted for one of `reasons`.
    fn aborted(&self, reasons: &[FailureReason]) -> Vec<CheckpointId> {
        self.coordinator()
            .filter_map(|e| match e {
                CoordinatorEvent::Aborted { id, reason, .. } if reasons.contains(reason) => {
                    Some(*id)
                }
                _ => None,
            })
            .collect()
    }

    fn completed(&self, kind: SnapshotKind) -> bool {
        self.coordinator()
            .any(|e| matches!(e, CoordinatorEvent::Completed { kind: k, .. } if *k == kind))
    }

    fn request_failed(&self, reasons: &[FailureReason]) -> bool {
        self.coordinator().any(
            |e| matches!(e, CoordinatorEvent::RequestFailed { reason, .. } if reasons.contains(reason)),
        )
    }

    /// The phase of every exactly-once task, before and after the step.
    fn phases(&self) -> impl Iterator<Item = (CheckpointId, Phase, CheckpointId, Phase)> + '_ {
        self.before
            .tasks
            .iter()
            .zip(&self.after.tasks)
            .filter_map(|(b, a)| match (&b.handler, &a.handler) {
                (BarrierHandler::Single(b), BarrierHandler::Single(a)) => {
                    Some((b.current_id, b.phase, a.current_id, a.phase))
                }
                _ => None,
            })
    }

    /// The operator states of the tasks of `kind` after the step.
    fn keyed_counts(&self) -> Vec<u32> {
        self.after
            .tasks
            .iter()
            .filter_map(|t| match &t.operator {
                OperatorState::KeyedAggregate { counts, .. } => {
                    Some(counts.iter().map(|c| u32::from(*c)).sum())
                }
                _ => None,
            })
            .collect()
    }
}

/// Whether a completed checkpoint in the store holds channel state (in-flight records).
fn has_channel_state(world: &World, id: CheckpointId) -> bool {
    world
        .coordinator
        .store
        .entries
        .iter()
        .filter(|c| c.id == id)
        .any(|c| c.snapshots.iter().any(|(_, s)| !s.channel_state.is_empty()))
}

fn latest_has_channel_state(world: &World) -> bool {
    world
        .coordinator
        .store
        .latest()
        .is_some_and(|c| has_channel_state(world, c.id))
}

/// A situation a model is for, as a predicate over one step.
struct Situation {
    what: &'static str,
    reached: fn(&Step) -> bool,
}

/// A model and the situations its topic demands, with the seeds the simulator may spend.
struct Topic {
    model: &'static str,
    seeds: u64,
    situations: &'static [Situation],
}

const RESTORE_FROM_CHECKPOINT: Situation = Situation {
    what: "a failover restores a completed checkpoint",
    reached: |s| s.restored_checkpoint().is_some(),
};

const REPLAYED_TWICE: Situation = Situation {
    what: "the output holds a replayed record twice",
    reached: |s| {
        s.after
            .external
            .records
            .windows(2)
            .any(|w| w[0].0 == w[1].0)
    },
};

const TWO_IN_FLIGHT: Situation = Situation {
    what: "two checkpoints are pending at once",
    reached: |s| s.after.coordinator.pending.len() >= 2,
};

static TOPICS: &[Topic] = &[
    Topic {
        model: "keyed-join-2pc",
        seeds: 3000,
        situations: &[
            TWO_IN_FLIGHT,
            Situation {
                what: "a crash restores while a checkpoint newer than the restored one is pending",
                reached: |s| s.after.last.has(LastStep::RESTORED_WITH_NEWER_PENDING),
            },
            Situation {
                what: "a restore brings back join buffers holding a record",
                reached: |s| {
                    s.restored_checkpoint().is_some()
                        && s.after.tasks.iter().any(|t| {
                            matches!(&t.operator, OperatorState::Join { left, right }
                                if !left.is_empty() || !right.is_empty())
                        })
                },
            },
        ],
    },
    Topic {
        model: "linear",
        seeds: 3000,
        situations: &[
            Situation {
                what: "a restore rewinds the source behind records it had already emitted",
                reached: |s| {
                    s.restored_checkpoint().is_some()
                        && s.spec.sources.iter().any(|t| {
                            let offset = |w: &World| match w.task(*t).operator {
                                OperatorState::Source { offset, .. } => offset,
                                _ => 0,
                            };
                            offset(s.after) > 0 && offset(s.after) < offset(s.before)
                        })
                },
            },
            Situation {
                what: "a restore commits the restored pre-committed transactions (recoverAndCommit)",
                reached: |s| {
                    s.restored_checkpoint().is_some()
                        && s.after.external.committed.len() > s.before.external.committed.len()
                },
            },
        ],
    },
    Topic {
        model: "keyed-aggregate",
        seeds: 3000,
        situations: &[
            Situation {
                what: "both aggregation subtasks hold keyed state (hash partitioning spreads keys)",
                reached: |s| {
                    let counts = s.keyed_counts();
                    counts.len() == 2 && counts.iter().all(|c| *c > 0)
                },
            },
            Situation {
                what: "a restore brings back non-empty keyed state",
                reached: |s| {
                    s.restored_checkpoint().is_some() && s.keyed_counts().iter().any(|c| *c > 0)
                },
            },
        ],
    },
    Topic {
        model: "two-input-join",
        seeds: 3000,
        situations: &[
            Situation {
                what: "a declined snapshot aborts the checkpoint",
                reached: |s| {
                    !s.aborted(&[
                        FailureReason::CheckpointAsyncException,
                        FailureReason::CheckpointDeclined,
                    ])
                    .is_empty()
                },
            },
            Situation {
                what: "a cancellation marker reaches a task aligning for that checkpoint",
                reached: |s| {
                    s.after.last.cancellation().is_some_and(|(task, id)| {
                        matches!(&s.before.task(task).handler, BarrierHandler::Single(h)
                            if h.current_id == id && h.phase == Phase::CollectingBarriers)
                    })
                },
            },
            Situation {
                what: "an RPC is lost",
                reached: |s| matches!(s.action, Action::LoseRpc { .. }),
            },
            Situation {
                what: "the failure manager fails the job after more failures than tolerated",
                reached: |s| {
                    s.coordinator()
                        .any(|e| matches!(e, CoordinatorEvent::FailedByFailureManager))
                },
            },
            Situation {
                what: "a checkpoint expires after an RPC was lost",
                reached: |s| {
                    s.before.used.lost_rpcs > 0
                        && !s.aborted(&[FailureReason::CheckpointExpired]).is_empty()
                },
            },
        ],
    },
    Topic {
        model: "diamond",
        seeds: 3000,
        situations: &[
            Situation {
                what: "the union blocks one input while it waits for the other's barrier",
                reached: |s| {
                    s.after
                        .tasks
                        .iter()
                        .any(|t| !t.handler.blocked().is_empty())
                },
            },
            Situation {
                what: "an input of an aligning task ends (end of data or end of partition)",
                reached: |s| {
                    s.events.iter().any(|e| match e {
                        StepEvent::Delivered {
                            channel,
                            event: ChannelEvent::EndOfData | ChannelEvent::EndOfPartition,
                            ..
                        } => {
                            let to = s.spec.channels[channel.0 as usize].to;
                            matches!(&s.before.task(to).handler, BarrierHandler::Single(h)
                                if h.phase == Phase::CollectingBarriers)
                        }
                        _ => false,
                    })
                },
            },
            RESTORE_FROM_CHECKPOINT,
        ],
    },
    Topic {
        model: "broadcast",
        seeds: 3000,
        situations: &[
            Situation {
                what: "both lanes commit the broadcast record",
                reached: |s| {
                    let mut sinks: Vec<_> = s.after.external.records.iter().map(|(_, w)| w.sink).collect();
                    sinks.dedup();
                    sinks.len() == 2
                },
            },
            RESTORE_FROM_CHECKPOINT,
        ],
    },
    Topic {
        model: "unaligned",
        seeds: 3000,
        situations: &[
            Situation {
                what: "an unaligned barrier overtakes in-flight records",
                reached: |s| s.after.last.has(LastStep::BARRIER_OVERTOOK_RECORDS),
            },
            Situation {
                what: "a completed checkpoint holds channel state",
                reached: |s| {
                    s.after.last.has(LastStep::CHECKPOINT_COMPLETED)
                        && latest_has_channel_state(s.after)
                },
            },
            Situation {
                what: "a restore replays channel state",
                reached: |s| {
                    s.restored_checkpoint()
                        .is_some_and(|id| has_channel_state(s.after, id))
                },
            },
        ],
    },
    Topic {
        model: "unaligned-union",
        seeds: 3000,
        situations: &[
            Situation {
                what: "an unaligned barrier overtakes in-flight records",
                reached: |s| s.after.last.has(LastStep::BARRIER_OVERTOOK_RECORDS),
            },
            Situation {
                what: "a completed checkpoint holds channel state",
                reached: |s| {
                    s.after.last.has(LastStep::CHECKPOINT_COMPLETED)
                        && latest_has_channel_state(s.after)
                },
            },
        ],
    },
    Topic {
        model: "alignment-timeout",
        seeds: 3000,
        situations: &[
            Situation {
                what: "the alignment timer fires while a task is aligning",
                reached: |s| {
                    matches!(s.action, Action::Fire { timer: Timer::Alignment { task } }
                        if matches!(&s.before.task(task).handler, BarrierHandler::Single(h)
                            if h.phase == Phase::CollectingBarriers))
                },
            },
            Situation {
                what: "an aligning task switches to unaligned for the same checkpoint",
                reached: |s| {
                    s.phases().any(|(b_id, b, a_id, a)| {
                        b == Phase::CollectingBarriers
                            && a == Phase::CollectingBarriersUnaligned
                            && a_id == b_id
                    })
                },
            },
            Situation {
                what: "a checkpoint that started aligned completes with channel state (it switched)",
                reached: |s| {
                    s.after.last.has(LastStep::CHECKPOINT_COMPLETED)
                        && s.after.coordinator.store.latest().is_some_and(|c| {
                            has_channel_state(s.after, c.id)
                                && s.before
                                    .coordinator
                                    .pending
                                    .iter()
                                    .any(|p| p.id == c.id && p.barrier.is_timeoutable())
                        })
                },
            },
            Situation {
                what: "a checkpoint completes aligned, within the alignment timeout",
                reached: |s| {
                    s.after.last.has(LastStep::CHECKPOINT_COMPLETED)
                        && s.after
                            .coordinator
                            .store
                            .latest()
                            .is_some_and(|c| !has_channel_state(s.after, c.id))
                },
            },
        ],
    },
    Topic {
        model: "at-least-once",
        seeds: 3000,
        situations: &[
            Situation {
                what: "a task consumes a record behind a barrier while the checkpoint waits for its other input (no blocking)",
                reached: |s| {
                    s.events.iter().any(|e| match e {
                        StepEvent::Delivered {
                            channel,
                            event: ChannelEvent::Record(_),
                            ..
                        } => {
                            let spec = s.spec.channels[channel.0 as usize];
                            matches!(&s.before.task(spec.to).handler, BarrierHandler::Tracker(t)
                                if t.pending.iter().any(|p| !p.aborted
                                    && p.seen.contains(spec.to_input as usize)
                                    && u32::from(p.target) > p.seen.0.count_ones()))
                        }
                        _ => false,
                    })
                },
            },
            TWO_IN_FLIGHT,
            RESTORE_FROM_CHECKPOINT,
            REPLAYED_TWICE,
        ],
    },
    Topic {
        model: "split-source",
        seeds: 3000,
        situations: &[
            Situation {
                what: "a split request reaches the coordinator between its checkpoint and the barrier injection, and the valve holds the answer",
                reached: |s| s.after.last.has(LastStep::EVENT_HELD_BY_VALVE),
            },
            Situation {
                what: "the barrier injection releases the held events, behind the trigger RPCs",
                reached: |s| {
                    !s.before.source_coordinator.held.is_empty()
                        && s.after.source_coordinator.held.is_empty()
                        && s.after.source_coordinator.marked.is_none()
                        && s.events.iter().any(|e| {
                            matches!(e, StepEvent::RpcSent(r) if r.key().kind == RpcKind::Trigger)
                        })
                },
            },
            Situation {
                what: "a checkpoint completes whose coordinator state still has an unassigned split",
                reached: |s| {
                    s.after.last.has(LastStep::CHECKPOINT_COMPLETED)
                        && s.after.coordinator.store.latest().is_some_and(|c| {
                            c.coordinator_state.is_some_and(|st| st.unassigned != 0)
                        })
                },
            },
            Situation {
                what: "a restore gives splits assigned after the checkpoint back to the enumerator",
                reached: |s| s.after.last.has(LastStep::SPLITS_ADDED_BACK),
            },
            Situation {
                what: "a restored reader owns a split from its snapshot",
                reached: |s| {
                    s.restored_checkpoint().is_some()
                        && s.after.tasks.iter().any(|t| {
                            matches!(&t.operator, OperatorState::SplitReader { splits, .. } if !splits.is_empty())
                        })
                },
            },
            Situation {
                what: "a lost operator event fails its reader (FLINK-21996)",
                reached: |s| s.after.last.has(LastStep::LOST_EVENT_FAILED_READER),
            },
        ],
    },
    Topic {
        model: "split-source-savepoint",
        seeds: 3000,
        situations: &[
            Situation {
                what: "a savepoint completes while the tracker records an assignment up to its id, and keeps it (no coordinator is notified)",
                reached: |s| {
                    s.after.last.has(LastStep::SAVEPOINT_COMPLETED)
                        && s.after.savepoint.as_ref().is_some_and(|sp| {
                            s.after
                                .source_coordinator
                                .by_checkpoint
                                .iter()
                                .any(|&(c, _, _)| c <= sp.id)
                        })
                },
            },
            Situation {
                what: "a new leader's coordinator is reset to the latest checkpoint (resetToCheckpoint)",
                reached: |s| {
                    s.events.iter().any(|e| {
                        matches!(e, StepEvent::OperatorCoordinator(CoordinatorCall::Reset(_)))
                    })
                },
            },
            Situation {
                what: "a restore after a completed savepoint gives the split assigned before it back to the enumerator",
                reached: |s| {
                    s.after.last.has(LastStep::SPLITS_ADDED_BACK) && s.before.savepoint.is_some()
                },
            },
        ],
    },
    Topic {
        model: "async-sink",
        seeds: 3000,
        situations: &[
            Situation {
                what: "a record arrives behind the barrier while the sink's snapshot waits for its sends (it stays queued)",
                reached: |s| {
                    let sink = |w: &World| w.tasks.iter().position(|t| t.flush.is_some());
                    sink(s.before).is_some_and(|t| {
                        matches!(s.action, Action::Emit { task } if task.0 as usize == t)
                            && s.before.channels.iter().enumerate().any(|(c, q)| {
                                s.spec.channels[c].to.0 as usize == t
                                    && q.iter().any(|e| matches!(e, ChannelEvent::Record(_)))
                            })
                    })
                },
            },
            Situation {
                what: "a snapshot that waited for the sink's sends is acknowledged once they completed",
                reached: |s| {
                    s.after.last.has(LastStep::SNAPSHOT_WAITED_FOR_SENDS)
                        && s.events.iter().any(|e| {
                            matches!(e, StepEvent::RpcSent(rpc) if rpc.key().kind == RpcKind::Ack)
                        })
                },
            },
            Situation {
                what: "a send fails fatally while the sink's snapshot waits for it: the task fails",
                reached: |s| {
                    matches!(s.action, Action::Crash { task }
                        if s.before.task(task).flush.is_some()
                            && s.after.used.failed_sends > s.before.used.failed_sends)
                },
            },
            RESTORE_FROM_CHECKPOINT,
            REPLAYED_TWICE,
        ],
    },
    Topic {
        model: "savepoints-2pc",
        seeds: 3000,
        situations: &[
            Situation {
                what: "a savepoint is pending alongside a checkpoint",
                reached: |s| {
                    let kinds = || s.after.coordinator.pending.iter().map(|p| p.kind());
                    kinds().any(|k| k == SnapshotKind::Savepoint)
                        && kinds().any(|k| k == SnapshotKind::Checkpoint)
                },
            },
            Situation {
                what: "a savepoint completes",
                reached: |s| s.completed(SnapshotKind::Savepoint),
            },
            Situation {
                what: "the synchronous savepoint completes and the job stops with it",
                reached: |s| s.after.coordinator.job == JobStatus::Suspended,
            },
            Situation {
                what: "the synchronous savepoint's completion notification commits the sink",
                reached: |s| {
                    s.events.iter().any(|e| {
                        matches!(e, StepEvent::Committed { sink, transaction, .. }
                            if !transaction.is_none()
                                && s.before.task(*sink).sync_savepoint == *transaction)
                    })
                },
            },
            Situation {
                what: "the stopped job resumes from its savepoint",
                reached: |s| matches!(s.action, Action::ResumeFromSavepoint),
            },
            Situation {
                what: "a crash while a savepoint is pending",
                reached: |s| {
                    matches!(s.action, Action::Crash { .. })
                        && s.before
                            .coordinator
                            .pending
                            .iter()
                            .any(|p| p.kind().is_savepoint())
                },
            },
        ],
    },
    Topic {
        model: "drain",
        seeds: 3000,
        situations: &[
            Situation {
                what: "the source ends its input for the terminating savepoint before its snapshot",
                reached: |s| {
                    s.events.iter().any(|e| {
                        matches!(e, StepEvent::Sent { event: ChannelEvent::EndOfData, .. })
                    }) && s.spec.sources.iter().any(|t| {
                        let source = s.after.task(*t);
                        source.sync_savepoint == source.last_checkpoint_id
                            && !source.sync_savepoint.is_none()
                            && matches!(source.operator, OperatorState::Source { offset, .. }
                                if (offset as usize) < s.spec.task(*t).input_records.len())
                    })
                },
            },
            Situation {
                what: "the batch flush emits what it buffered at the end of input",
                reached: |s| s.after.last.has(LastStep::BUFFER_FLUSHED),
            },
            Situation {
                what: "the terminating savepoint completes with the flushed records in the sink's pre-committed transaction",
                reached: |s| {
                    s.completed(SnapshotKind::TerminatingSavepoint)
                        && s.after.savepoint.as_ref().is_some_and(|sp| {
                            sp.snapshots.iter().any(|(_, snapshot)| {
                                matches!(&snapshot.operator,
                                    OperatorState::TwoPhaseCommitSink { pending, .. }
                                        if pending.iter().any(|t| t.checkpoint == sp.id && !t.records.is_empty()))
                            })
                        })
                },
            },
            Situation {
                what: "the job finishes after the drained stop, with sources stopped before their end",
                reached: |s| {
                    s.after.coordinator.job == JobStatus::Finished
                        && s.before.coordinator.job != JobStatus::Finished
                        && s.after.ghost.drained.is_some()
                },
            },
            Situation {
                what: "a failover restores a non-empty buffer from a checkpoint",
                reached: |s| {
                    s.restored_checkpoint().is_some()
                        && s.spec.task_ids().any(|t| {
                            matches!(&s.after.task(t).operator,
                                OperatorState::BatchFlush { buffered } if !buffered.is_empty())
                        })
                },
            },
        ],
    },
    Topic {
        model: "task-lifecycle",
        seeds: 30000,
        situations: &[
            Situation {
                what: "the plan refuses a checkpoint with NOT_ALL_REQUIRED_TASKS_RUNNING while a task is still deploying",
                reached: |s| {
                    s.coordinator().any(|e| {
                        matches!(
                            e,
                            CoordinatorEvent::RequestFailed {
                                reason: FailureReason::NotAllRequiredTasksRunning,
                                ..
                            }
                        )
                    }) && s.after.tasks.iter().any(|t| t.status == TaskStatus::Deploying)
                },
            },
            Situation {
                what: "a task switches to RUNNING and reports it",
                reached: |s| {
                    matches!(s.action, Action::Emit { task } if s.before.task(task).status == TaskStatus::Deploying)
                        && s.events.iter().any(|e| matches!(e, StepEvent::RpcSent(r) if r.key().kind == RpcKind::TaskRunning))
                },
            },
            Situation {
                what: "a task is ready to finish and finishes in a later step",
                reached: |s| {
                    matches!(s.action, Action::Emit { task } if s.before.task(task).status == TaskStatus::Finishing
                        && s.after.task(task).status == TaskStatus::Finished)
                },
            },
            Situation {
                what: "a trigger RPC reaching a task ready to finish is declined with TASK_CLOSING, not counted",
                reached: |s| {
                    !s.aborted(&[FailureReason::CheckpointDeclinedTaskClosing]).is_empty()
                        && s.after.coordinator.job == JobStatus::Running
                },
            },
            Situation {
                what: "after a crash the tasks deploy again and a checkpoint completes",
                reached: |s| {
                    s.after.coordinator.attempt.0 > 0
                        && s.completed(SnapshotKind::Checkpoint)
                },
            },
            Situation {
                what: "a restore deploys a task finished in the checkpoint as finished",
                reached: |s| s.after.last.has(LastStep::RESTORED_FINISHED),
            },
        ],
    },
    Topic {
        model: "transactions",
        seeds: 3000,
        situations: &[
            Situation {
                what: "a snapshot initialises the transactional id of a checkpoint the sink never saw (a gap) beside its new producer's",
                reached: |s| {
                    s.restored().is_none()
                        && s.after.external.broker.ids.len()
                            >= s.before.external.broker.ids.len() + 2
                },
            },
            Situation {
                what: "a pre-committed transaction commits and the records the external system holds for it become visible",
                reached: |s| {
                    s.after.external.records.len() > s.before.external.records.len()
                        && s.after
                            .external
                            .broker
                            .txns
                            .iter()
                            .any(|t| t.state == TxnState::Committed)
                },
            },
            Situation {
                what: "a restart's producer fences (aborts) an ongoing transaction of the earlier attempt",
                reached: |s| {
                    !s.before.external.broker.fenced_ongoing && s.after.external.broker.fenced_ongoing
                },
            },
            Situation {
                what: "one transactional id holds transactions of two epochs (the id is reused after a restart)",
                reached: |s| {
                    let txns = &s.after.external.broker.txns;
                    txns.windows(2).any(|w| {
                        w[0].sink == w[1].sink
                            && w[0].id.name == w[1].id.name
                            && w[0].id.epoch != w[1].id.epoch
                    })
                },
            },
            Situation {
                what: "a restored sink's recoverAndCommit commits a transaction the external system committed already (a no-op)",
                reached: |s| {
                    !s.before.external.broker.recommitted && s.after.external.broker.recommitted
                },
            },
        ],
    },
    Topic {
        model: "transactions-resume",
        seeds: 3000,
        situations: &[
            Situation {
                what: "a job stopped with a savepoint resumes from an older retained checkpoint, its counter continuing from that checkpoint",
                reached: |s| {
                    matches!(s.action, Action::ResumeFromOlder { .. })
                        && s.after.coordinator.next_id < s.before.ghost.highest_allocated
                },
            },
            Situation {
                what: "one transactional id holds committed transactions of both runs (the new run reused it with a newer epoch)",
                reached: |s| {
                    s.after.external.broker.txns.windows(2).any(|w| {
                        w[0].sink == w[1].sink
                            && w[0].id.name == w[1].id.name
                            && w[0].state == TxnState::Committed
                            && w[1].state == TxnState::Committed
                    })
                },
            },
        ],
    },
    Topic {
        model: "transactions-mark",
        seeds: 3000,
        situations: &[
            Situation {
                what: "a committer takes a restored committable at or below its job's committed mark as committed and appends nothing",
                reached: |s| !s.before.external.table.skipped && s.after.external.table.skipped,
            },
            Situation {
                what: "a job resumed from an older checkpoint commits a checkpoint id at or below the stopped run's mark, under its own job id",
                reached: |s| {
                    !s.before.external.table.kept_apart && s.after.external.table.kept_apart
                },
            },
        ],
    },
    Topic {
        model: "transactions-retry",
        seeds: 3000,
        situations: &[
            Situation {
                what: "a commit attempt fails transiently and its retry in the same call commits it",
                reached: |s| !s.before.external.broker.retried && s.after.external.broker.retried,
            },
            Situation {
                what: "a committer out of retries fails its task ('Failed to commit ... after N retries')",
                reached: |s| !s.before.external.broker.gave_up && s.after.external.broker.gave_up,
            },
            Situation {
                what: "after a committer gave up, a restore commits the restored committables (recoverAndCommit)",
                reached: |s| {
                    s.before.external.broker.gave_up
                        && s.restored_checkpoint().is_some()
                        && s.after.external.committed.len() > s.before.external.committed.len()
                },
            },
        ],
    },
    Topic {
        model: "coordinator-faults",
        seeds: 3000,
        situations: &[
            Situation {
                what: "the JobManager fails over with a checkpoint pending",
                reached: |s| {
                    matches!(s.action, Action::FailoverCoordinator)
                        && !s.before.coordinator.pending.is_empty()
                },
            },
            Situation {
                what: "the new JobManager restores a completed checkpoint from the HA store",
                reached: |s| {
                    matches!(s.action, Action::FailoverCoordinator)
                        && s.restored_checkpoint().is_some()
                },
            },
            Situation {
                what: "a failed storage-location initialisation fails a checkpoint (IO_EXCEPTION)",
                reached: |s| {
                    let reasons = [FailureReason::IoException];
                    !s.aborted(&reasons).is_empty() || s.request_failed(&reasons)
                },
            },
            Situation {
                what: "a failed completed-checkpoint store add fails a checkpoint (FINALIZE_CHECKPOINT_FAILURE)",
                reached: |s| {
                    let reasons = [FailureReason::FinalizeCheckpointFailure];
                    !s.aborted(&reasons).is_empty() || s.request_failed(&reasons)
                },
            },
            Situation {
                what: "the failure manager fails the job over (no failure tolerated)",
                reached: |s| {
                    s.coordinator()
                        .any(|e| matches!(e, CoordinatorEvent::FailedByFailureManager))
                },
            },
            Situation {
                what: "an RPC is lost",
                reached: |s| matches!(s.action, Action::LoseRpc { .. }),
            },
            Situation {
                what: "a periodic request is dropped for the minimum pause",
                reached: |s| s.request_failed(&[FailureReason::MinimumTimeBetweenCheckpoints]),
            },
            Situation {
                what: "a manual checkpoint is requested while the job runs",
                reached: |s| {
                    matches!(
                        s.action,
                        Action::User {
                            request: UserRequestKind::ManualCheckpoint
                        }
                    ) && s.before.coordinator.job == JobStatus::Running
                },
            },
        ],
    },
    Topic {
        model: "ha-failures",
        seeds: 3000,
        situations: &[
            Situation {
                what: "a store add reports a failure but lands in HA storage (possibly inconsistent)",
                reached: |s| {
                    s.before.storage_fault_lands
                        && s.after.coordinator.store.ha_only.len()
                            > s.before.coordinator.store.ha_only.len()
                },
            },
            Situation {
                what: "a restore reads back a checkpoint whose store add reported a failure",
                reached: |s| s.after.last.has(LastStep::RESTORED_POSSIBLY_INCONSISTENT),
            },
            Situation {
                what: "a restart stops between cancelling and restoring the tasks",
                reached: |s| {
                    s.before.coordinator.parked_restart.is_none()
                        && s.after.coordinator.parked_restart.is_some()
                },
            },
            Situation {
                what: "the JobManager loses leadership while the job restarts",
                reached: |s| {
                    matches!(s.action, Action::FailoverCoordinator)
                        && s.before.coordinator.parked_restart.is_some()
                },
            },
            Situation {
                what: "a parked restart's delay elapses and the tasks are restored",
                reached: |s| {
                    matches!(s.action, Action::FinishTriggering)
                        && s.before.coordinator.parked_restart.is_some()
                        && s.restored().is_some()
                },
            },
            Situation {
                what: "the store subsumes a checkpoint (its files deleted) while the job runs on",
                reached: |s| {
                    s.completed(SnapshotKind::Checkpoint)
                        && !s.before.coordinator.store.entries.is_empty()
                        && s.after.coordinator.store.entries.len() == 1
                },
            },
        ],
    },
    Topic {
        model: "incremental",
        seeds: 3000,
        situations: &[
            Situation {
                what: "a FULL checkpoint is triggered after the NO_CLAIM start",
                reached: |s| s.after.last.has(LastStep::FORCED_FULL_TRIGGERED),
            },
            Situation {
                what: "a completed checkpoint reuses a shared file an earlier checkpoint uploaded",
                reached: |s| s.after.last.has(LastStep::REUSED_SHARED_FILE),
            },
            Situation {
                what: "the registry deletes shared files no retained checkpoint uses",
                reached: |s| s.after.last.has(LastStep::SHARED_FILE_DELETED),
            },
            Situation {
                what: "the user's NO_CLAIM snapshot leaves the store while the job runs on",
                reached: |s| {
                    s.before.coordinator.store.unclaimed.is_some()
                        && s.after.coordinator.store.unclaimed.is_none()
                        && s.after.coordinator.job == JobStatus::Running
                },
            },
            Situation {
                what: "a crash restores the job from the user's NO_CLAIM snapshot",
                reached: |s| {
                    s.restored_checkpoint() == Some(CheckpointId(1))
                        && s.before.coordinator.store.unclaimed.is_some()
                },
            },
        ],
    },
    Topic {
        model: "retained-checkpoints",
        seeds: 3000,
        situations: &[
            TWO_IN_FLIGHT,
            Situation {
                what: "the store holds two completed checkpoints",
                reached: |s| s.after.coordinator.store.entries.len() == 2,
            },
            Situation {
                what: "a completing checkpoint subsumes an older pending one",
                reached: |s| s.after.last.has(LastStep::CHECKPOINT_SUBSUMED),
            },
            Situation {
                what: "an acknowledgement of a checkpoint older than the store's newest arrives late",
                reached: |s| {
                    matches!(s.action, Action::DeliverRpc { rpc }
                        if rpc.kind == RpcKind::Ack
                            && rpc.checkpoint < s.before.coordinator.store.latest_id())
                },
            },
            Situation {
                what: "a failover restores the newer of two retained checkpoints",
                reached: |s| {
                    let store = &s.before.coordinator.store;
                    store.entries.len() == 2
                        && s.restored_checkpoint() == Some(store.latest_id())
                },
            },
        ],
    },
    Topic {
        model: "region-failover",
        seeds: 3000,
        situations: &[
            Situation {
                what: "a crash restarts one pipelined region while the other keeps running",
                reached: |s| {
                    s.after.last.has(LastStep::REGION_RESTORED)
                        && !s.after.ghost.survived_region_restart.is_empty()
                },
            },
            Situation {
                what: "the region restart aborts a pending checkpoint (the job run's first failover: the activator's CHECKPOINT_COORDINATOR_SUSPEND; later ones: JOB_FAILOVER_REGION)",
                reached: |s| {
                    s.after.last.has(LastStep::REGION_RESTORED)
                        && !s
                            .aborted(&[
                                FailureReason::CheckpointCoordinatorSuspend,
                                FailureReason::JobFailover,
                            ])
                            .is_empty()
                },
            },
            Situation {
                what: "a surviving task hears of an abort before that checkpoint's barrier",
                reached: |s| s.after.last.has(LastStep::SURVIVOR_ABORT_BEFORE_BARRIER),
            },
            Situation {
                what: "an acknowledgement of a surviving task's unchanged attempt is accepted after another region restarted",
                reached: |s| {
                    matches!(s.action, Action::DeliverRpc { rpc }
                        if rpc.kind == RpcKind::Ack
                            && rpc.attempt < s.before.coordinator.attempt
                            && s.before.coordinator.pending.iter().any(|p| {
                                p.id == rpc.checkpoint && p.not_yet_acked.contains(rpc.task)
                            })
                            && (s.after.coordinator.pending.iter().any(|p| {
                                p.id == rpc.checkpoint && !p.not_yet_acked.contains(rpc.task)
                            }) || s.completed(SnapshotKind::Checkpoint)))
                },
            },
            Situation {
                what: "a checkpoint completes that spans restarted and surviving tasks",
                reached: |s| {
                    let g = &s.after.ghost;
                    s.completed(SnapshotKind::Checkpoint)
                        && g.just_completed.is_some_and(|(_, awaited)| {
                            awaited.0 & g.region_restarted.0 != 0
                                && awaited.0 & g.survived_region_restart.0 != 0
                        })
                },
            },
        ],
    },
    Topic {
        model: "short-timeout",
        seeds: 3000,
        situations: &[
            Situation {
                what: "a checkpoint's timeout fires with the checkpoint still pending",
                reached: |s| {
                    matches!(s.action, Action::Fire { timer: Timer::CheckpointTimeout { checkpoint } }
                        if s.before.coordinator.pending.iter().any(|p| p.id == checkpoint))
                },
            },
            Situation {
                what: "a checkpoint's canceller fires while it is in its trigger phase",
                reached: |s| {
                    s.aborted(&[FailureReason::CheckpointExpired])
                        .iter()
                        .any(|id| s.before.coordinator.coordinator_snapshot == Some(*id))
                },
            },
            Situation {
                what: "a checkpoint's canceller fires while it waits for acknowledgements, some received",
                reached: |s| {
                    s.aborted(&[FailureReason::CheckpointExpired]).iter().any(|id| {
                        s.before.coordinator.coordinator_snapshot != Some(*id)
                            && s.before
                                .coordinator
                                .pending
                                .iter()
                                .any(|p| p.id == *id && !p.acks.is_empty())
                    })
                },
            },
            Situation {
                what: "a periodic trigger after an expiry starts a new checkpoint",
                reached: |s| {
                    matches!(s.action, Action::Fire { timer: Timer::Periodic })
                        && !s.before.coordinator.recent_expired.is_empty()
                        && s.coordinator()
                            .any(|e| matches!(e, CoordinatorEvent::Allocated(..)))
                },
            },
            Situation {
                what: "a checkpoint completes within the short timeout",
                reached: |s| s.completed(SnapshotKind::Checkpoint),
            },
        ],
    },
];

/// Where a situation was first reached: the first seed that reached it at all, and the first
/// that reached it within the model checker's horizon.
#[derive(Clone, Copy, Debug, Default)]
struct Reached {
    anywhere: Option<u64>,
    within_horizon: Option<u64>,
}

/// Runs the model's seeds until every situation is reached within the model checker's horizon
/// (`bounds.time`).
///
/// A simulator run is a path of the model checker's transition relation as long as every timer
/// it fired was due by the horizon (the simulator's phases only restrict which actions it
/// picks, and its fault budget is the model's). The clock is the due time of the last timer
/// fired, so a situation reached at a step with `now <= bounds.time` is reachable by
/// `checkpoint-harness check` on the model too (given enough states: the CI checks are bounded).
/// Some situations are rare in the simulator within the horizon (two-input-join's cancellation
/// marker reaching an aligning task first shows at seed 1624), hence the budget.
fn reach(topic: &Topic) -> Vec<Reached> {
    let spec = Spec::embedded(topic.model).unwrap_or_else(|| panic!("{} is embedded", topic.model));
    let oracle = Oracle::new(&spec);
    let mut found = vec![Reached::default(); topic.situations.len()];
    for seed in 0..topic.seeds {
        let run = sim::run(
            &spec,
            &oracle,
            seed,
            SchedulerKind::Random,
            RunBounds::of(&spec),
        );
        assert_eq!(
            run.outcome,
            Outcome::Pass,
            "{} seed {seed} fails on the correct code",
            topic.model
        );
        let mut world = World::initial(&spec);
        for action in &run.actions {
            let (after, events) =
                world::apply_traced(&spec, &world, *action).expect("the run's actions replay");
            let step = Step {
                spec: &spec,
                before: &world,
                action: *action,
                events: &events,
                after: &after,
            };
            let within_horizon = after.now <= spec.bounds.time;
            for (slot, situation) in found.iter_mut().zip(topic.situations) {
                if slot.within_horizon.is_some()
                    || (slot.anywhere.is_some() && !within_horizon)
                    || !(situation.reached)(&step)
                {
                    continue;
                }
                slot.anywhere.get_or_insert(seed);
                if within_horizon {
                    slot.within_horizon = Some(seed);
                }
            }
            world = after;
        }
        if found.iter().all(|r| r.within_horizon.is_some()) {
            break;
        }
    }
    found
}

fn assert_topic_reached(model: &str) {
    let topic = TOPICS
        .iter()
        .find(|t| t.model == model)
        .unwrap_or_else(|| panic!("{model} has an entry in TOPICS"));
    let found = reach(topic);
    let horizon = Spec::embedded(model).expect("embedded").bounds.time;
    let mut missed = Vec::new();
    for (situation, reached) in topic.situations.iter().zip(&found) {
        eprintln!("{model}: {} -> {reached:?}", situation.what);
        match (reached.anywhere, reached.within_horizon) {
            (_, Some(_)) => {}
            (Some(seed), None) => missed.push(format!(
                "{} (seed {seed} reaches it only after the checker's horizon, bounds.time = {horizon})",
                situation.what
            )),
            (None, None) => missed.push(format!("{} (never)", situation.what)),
        }
    }
    assert!(
        missed.is_empty(),
        "{model}: within {} seeds the simulator did not reach, by tick {horizon}: {missed:#?}",
        topic.seeds
    );
}

#[test]
fn every_model_states_its_topic_and_has_situations() {
    for (name, _) in EMBEDDED_MODELS {
        let spec = Spec::embedded(name).expect("embedded");
        assert!(
            !spec.topic.trim().is_empty() && !spec.topic.contains('\n'),
            "{name}: one-line `topic` missing"
        );
        let topic = TOPICS.iter().find(|t| t.model == *name);
        assert!(
            topic.is_some_and(|t| !t.situations.is_empty()),
            "{name}: no situations in tests/model_topics.rs"
        );
    }
    assert_eq!(TOPICS.len(), EMBEDDED_MODELS.len(), "one entry per model");
}

macro_rules! topic_tests {
    ($($test:ident => $model:literal,)*) => {
        $(
            #[test]
            fn $test() {
                assert_topic_reached($model);
            }
        )*
    };
}

topic_tests! {
    keyed_join_2pc_reaches_its_topic => "keyed-join-2pc",
    linear_reaches_its_topic => "linear",
    keyed_aggregate_reaches_its_topic => "keyed-aggregate",
    two_input_join_reaches_its_topic => "two-input-join",
    diamond_reaches_its_topic => "diamond",
    broadcast_reaches_its_topic => "broadcast",
    unaligned_reaches_its_topic => "unaligned",
    unaligned_union_reaches_its_topic => "unaligned-union",
    alignment_timeout_reaches_its_topic => "alignment-timeout",
    at_least_once_reaches_its_topic => "at-least-once",
    async_sink_reaches_its_topic => "async-sink",
    savepoints_2pc_reaches_its_topic => "savepoints-2pc",
    drain_reaches_its_topic => "drain",
    task_lifecycle_reaches_its_topic => "task-lifecycle",
    coordinator_faults_reaches_its_topic => "coordinator-faults",
    ha_failures_reaches_its_topic => "ha-failures",
    incremental_reaches_its_topic => "incremental",
    region_failover_reaches_its_topic => "region-failover",
    retained_checkpoints_reaches_its_topic => "retained-checkpoints",
    short_timeout_reaches_its_topic => "short-timeout",
    split_source_reaches_its_topic => "split-source",
    split_source_savepoint_reaches_its_topic => "split-source-savepoint",
    transactions_reaches_its_topic => "transactions",
    transactions_mark_reaches_its_topic => "transactions-mark",
}
