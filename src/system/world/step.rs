//! One application of an action: `perform` routes each action to the step function it concerns
//! in a few lines, and the helpers below route the step functions' outputs into channels, RPCs in
//! flight and the external system. Failover and recovery live in `failover.rs`.

use super::{Action, Rpc, RpcKey, StepEvent, Timer, UserRequestKind, World, Writer};
use crate::system::bugs::Bug;
use crate::system::coordinator::failure_manager::FailureLevel;
use crate::system::coordinator::{
    CoordinatorContext, CoordinatorEvent, CoordinatorInput, CoordinatorOutput, StepFaults,
};
use crate::system::protocol::{
    ChannelEvent, ChannelId, CheckpointId, FailureReason, Record, SnapshotKind, TaskId,
};
use crate::system::spec::{OperatorKind, RpcOrder, Spec};
use crate::system::task::operator::Transaction;
use crate::system::task::{SharedSnapshot, TaskContext, TaskInput, TaskOutput, TaskStatus};
use crate::system::topology;
use crate::system::world::ghost::{LastStep, RequestTraffic};

/// One application of an action: the world being changed and the routing helpers.
pub(super) struct Step<'a> {
    pub(super) spec: &'a Spec,
    pub(super) world: &'a mut World,
    pub(super) events: Option<&'a mut Vec<StepEvent>>,
    /// The checkpoint whose abort notification a task is handling right now (the one cause
    /// for which a task fails itself).
    pub(super) handling_abort_of: Option<CheckpointId>,
    /// Abort notifications sent in this step, as (task, checkpoint).
    pub(super) aborts_notified: Vec<(TaskId, CheckpointId)>,
    /// The checkpoint whose storage a fault consumed in this step would have hit: the one this
    /// step allocated (initialising its location) or acknowledged (finalising it), with its kind.
    pub(super) storage_target: Option<(CheckpointId, SnapshotKind, FailureReason)>,
}

impl Step<'_> {
    /// Where the first RPC named by `key` is in flight.
    pub(super) fn rpc_index(&self, key: RpcKey) -> Result<usize, ()> {
        self.world
            .rpcs
            .iter()
            .position(|r| r.key() == key)
            .ok_or(())
    }

    pub(super) fn note(&mut self, event: StepEvent) {
        if let Some(events) = self.events.as_mut() {
            events.push(event);
        }
    }

    /// Routes one action to the step function it concerns. `Err` means the action is not
    /// enabled in this world (only ever from a replayed trace that does not fit).
    pub(super) fn perform(&mut self, action: Action) -> Result<(), ()> {
        match action {
            Action::Deliver { channel } => self.deliver_channel_head(channel)?,
            Action::DeliverPriority { channel } => self.deliver_priority_barrier(channel)?,
            Action::Emit { task } => self.emit(task)?,
            Action::DeliverRpc { rpc } => self.deliver_rpc_in_flight(rpc)?,
            Action::FinishTriggering => self.finish_triggering()?,
            Action::Fire { timer } => self.fire(timer)?,
            Action::User { request } => self.user_request(request),
            Action::ResumeFromSavepoint => self.resume_from_savepoint()?,
            Action::ResumeFromOlder { checkpoint } => self.resume_from_older(checkpoint)?,
            Action::Crash { task } => self.crash_or_fail_send(task),
            Action::FailoverCoordinator => self.failover_coordinator(),
            Action::LoseRpc { rpc } => self.lose_rpc(rpc)?,
            Action::DeclineSnapshot { rpc } => self.decline_snapshot(rpc)?,
            Action::FailStorageWrite => self.arm_storage_fault(),
            Action::FailCommit => self.arm_commit_failure(),
        }
        Ok(())
    }

    /// A source emits its next record; an async sink's oldest send in flight completes.
    fn emit(&mut self, task: TaskId) -> Result<(), ()> {
        if self.world.task(task).lifecycle_step_due() {
            return self.lifecycle_step(task);
        }
        if self.spec.task(task).kind == OperatorKind::AsyncSink {
            if !self.world.task(task).has_outstanding_sends() {
                return Err(());
            }
            self.task_step(task, TaskInput::SendCompleted);
        } else {
            self.task_step(task, TaskInput::EmitNext);
        }
        Ok(())
    }

    /// Fault: a task crashes, or (an async sink with sends in flight, budget left) one of its
    /// sends fails fatally: `AsyncSinkWriter`'s fatal exception consumer rethrows it in the
    /// mailbox, so the task fails and reports it, exactly as a crash. Either way the sends in
    /// flight are lost: the external system never got them.
    fn crash_or_fail_send(&mut self, task: TaskId) {
        if self.world.task(task).has_outstanding_sends() {
            self.world.last.set(LastStep::SENDS_LOST_AT_FAILURE);
        }
        if send_fails(self.spec, self.world, task) {
            self.world.used.failed_sends += 1;
            self.note(StepEvent::Crashed(task));
            self.crash(task);
        } else {
            self.crash_task(task);
        }
    }

    fn deliver_channel_head(&mut self, channel: ChannelId) -> Result<(), ()> {
        let spec = self.spec;
        if self
            .world
            .task(spec.channel(channel).to)
            .yielding_to_sends()
        {
            return Err(()); // It takes no input until its sends completed.
        }
        let event = self.world.channels[channel.0 as usize]
            .pop_front()
            .ok_or(())?;
        let to = spec.channel(channel);
        if let ChannelEvent::CancelMarker(id) = event {
            self.world.last.1 = Some((to.to, id));
        }
        let event = match event {
            // The sender's output timer turned a queued timeoutable barrier unaligned.
            ChannelEvent::Barrier(b)
                if b.is_timeoutable()
                    && self.world.now
                        >= b.alignment_deadline(spec.checkpointing.alignment_timeout) =>
            {
                ChannelEvent::Barrier(b.as_unaligned())
            }
            other => other,
        };
        self.note(StepEvent::Delivered {
            channel,
            event,
            priority: false,
            overtaken: 0,
        });
        self.task_step(
            to.to,
            TaskInput::Event {
                input: to.to_input,
                event,
            },
        );
        Ok(())
    }

    fn deliver_priority_barrier(&mut self, channel: ChannelId) -> Result<(), ()> {
        let spec = self.spec;
        let (index, barrier) = self.world.priority_barrier(spec, channel).ok_or(())?;
        let queue = &mut self.world.channels[channel.0 as usize];
        let overtaken: Vec<Record> = queue
            .iter()
            .take(index)
            .filter_map(|e| match e {
                ChannelEvent::Record(r) => Some(*r),
                _ => None,
            })
            .collect();
        queue.remove(index);
        if !overtaken.is_empty() {
            self.world.last.set(LastStep::BARRIER_OVERTOOK_RECORDS);
        }
        let to = spec.channel(channel);
        self.note(StepEvent::Delivered {
            channel,
            event: ChannelEvent::Barrier(barrier.as_unaligned()),
            priority: true,
            overtaken: overtaken.len(),
        });
        self.task_step(
            to.to,
            TaskInput::PriorityBarrier {
                input: to.to_input,
                barrier: barrier.as_unaligned(),
                overtaken,
            },
        );
        Ok(())
    }

    fn deliver_rpc_in_flight(&mut self, rpc: RpcKey) -> Result<(), ()> {
        let index = self.rpc_index(rpc)?;
        let connection = self.world.rpcs[index].connection();
        let behind = self.world.rpcs[..index]
            .iter()
            .any(|r| r.connection() == connection);
        if self.spec.rpc_order == RpcOrder::PerPairFifo && behind {
            return Err(()); // Not the head of its connection.
        }
        let rpc_to_task = self.world.rpcs[index].to_task();
        if rpc_to_task && self.world.task(rpc.task).yielding_to_sends() {
            return Err(()); // Its mailbox runs only its send completions meanwhile.
        }
        let message = self.world.rpcs.remove(index);
        self.note(StepEvent::RpcDelivered(rpc));
        self.deliver_rpc(message);
        Ok(())
    }

    fn finish_triggering(&mut self) -> Result<(), ()> {
        if self.world.coordinator.parked_restart.is_some() {
            // The restart delay of a parked restart elapsed: the tasks are restored now, for
            // the cause the world saw when the restart was parked.
            self.world.ghost.restart_resumed();
            self.coordinator_step(CoordinatorInput::RestartTasks);
            return Ok(());
        }
        if self.world.coordinator.coordinator_snapshot.is_none() {
            return Err(());
        }
        // A split source's coordinator checkpoints first (`OperatorCoordinatorCheckpoints`),
        // in a step of its own; the trigger RPCs go out in the next.
        if self.checkpoint_source_coordinator() {
            return Ok(());
        }
        self.note(StepEvent::TriggerPhaseDone);
        self.coordinator_step(CoordinatorInput::TriggerPhaseDone);
        Ok(())
    }

    fn fire(&mut self, timer: Timer) -> Result<(), ()> {
        let due = self
            .world
            .timers(self.spec)
            .into_iter()
            .find(|(_, t)| *t == timer)
            .map(|(due, _)| due)
            .ok_or(())?;
        self.world.now = self.world.now.max(due);
        self.note(StepEvent::TimerFired {
            timer,
            now: self.world.now,
        });
        match timer {
            Timer::Periodic => self.coordinator_step(CoordinatorInput::PeriodicTimer),
            Timer::CheckpointTimeout { checkpoint } => {
                // The canceller of a pending checkpoint fired: a job-level expiry.
                if let Some(kind) = self.pending_kind(checkpoint) {
                    self.world.ghost.delivered_failure(
                        self.spec,
                        checkpoint,
                        kind,
                        FailureReason::CheckpointExpired,
                        FailureLevel::Job,
                    );
                }
                self.coordinator_step(CoordinatorInput::CheckpointTimeout(checkpoint))
            }
            Timer::Alignment { task } => {
                // Observed as fired only if it did something: a due timer always switches the
                // aligned checkpoint to unaligned, so a timer that changes nothing is not the
                // mechanism the non-vacuity property asks for.
                let before = self.world.task(task).clone();
                self.task_step(task, TaskInput::AlignmentTimeout);
                if *self.world.task(task) != before {
                    self.world.last.set(LastStep::ALIGNMENT_TIMER_FIRED);
                }
            }
            Timer::OutputAlignment { .. } => {}
        }
        Ok(())
    }

    fn user_request(&mut self, request: UserRequestKind) {
        self.note(StepEvent::UserRequested(request));
        let used = &mut self.world.used;
        match request {
            UserRequestKind::ManualCheckpoint => used.manual_checkpoints += 1,
            UserRequestKind::Savepoint => used.savepoints += 1,
            UserRequestKind::StopWithSavepoint => used.stop_with_savepoint += 1,
        }
        self.coordinator_step(CoordinatorInput::User(request.into()));
    }

    fn lose_rpc(&mut self, rpc: RpcKey) -> Result<(), ()> {
        let index = self.rpc_index(rpc)?;
        let lost = self.world.rpcs.remove(index);
        self.world.used.lost_rpcs += 1;
        self.note(StepEvent::RpcLost(rpc));
        if let Rpc::SourceEvent { task, .. } = lost {
            self.source_event_lost(task);
        }
        Ok(())
    }

    /// The asynchronous part of a task's snapshot failed: the task declines instead of
    /// acknowledging.
    fn decline_snapshot(&mut self, rpc: RpcKey) -> Result<(), ()> {
        let index = self.rpc_index(rpc)?;
        let Rpc::Ack {
            task, attempt, id, ..
        } = self.world.rpcs.remove(index)
        else {
            return Err(());
        };
        self.world.used.declined_snapshots += 1;
        self.note(StepEvent::SnapshotFailed(rpc));
        self.send(Rpc::Decline {
            task,
            attempt,
            id,
            reason: FailureReason::CheckpointAsyncException,
        });
        Ok(())
    }

    /// Arms a storage fault, or, with one armed already, makes it possibly inconsistent.
    fn arm_storage_fault(&mut self) {
        if self.world.storage_fault_armed {
            self.world.used.possibly_inconsistent_writes += 1;
            self.world.storage_fault_lands = true;
        } else {
            self.world.used.storage_failures += 1;
            self.world.storage_fault_armed = true;
        }
        self.note(StepEvent::StorageFaultArmed);
    }

    pub(super) fn send(&mut self, rpc: Rpc) {
        if self.events.is_some() {
            self.note(StepEvent::RpcSent(rpc.clone()));
        }
        let at = match self.spec.rpc_order {
            RpcOrder::Unordered => self.world.rpcs.partition_point(|r| *r <= rpc),
            // Behind everything on connections that sort before it or are the same one: each
            // connection's queue keeps its sending order.
            RpcOrder::PerPairFifo => {
                let connection = rpc.connection();
                self.world
                    .rpcs
                    .partition_point(|r| r.connection() <= connection)
            }
        };
        self.world.rpcs.insert(at, rpc);
    }

    pub(super) fn deliver_rpc(&mut self, rpc: Rpc) {
        match rpc {
            Rpc::Trigger { task, barrier } => {
                if self.world.task(task).status == TaskStatus::Finished {
                    // The trigger RPC fails on a finished task (CCT#testTasksFinishDuringTriggering);
                    // the coordinator sees its own RPC fail.
                    self.coordinator_step(CoordinatorInput::TriggerRpcFailed {
                        task,
                        id: barrier.id,
                    });
                } else {
                    self.task_step(task, TaskInput::Trigger(barrier));
                }
            }
            Rpc::NotifyComplete { task, id } => self.task_step(task, TaskInput::NotifyComplete(id)),
            Rpc::NotifyAborted {
                task,
                id,
                latest_completed,
            } => {
                let live = self.world.task(task);
                if self.world.ghost.survived_region_restart.contains(task)
                    && live.is_running()
                    && live.last_checkpoint_id < id
                {
                    self.world.last.set(LastStep::SURVIVOR_ABORT_BEFORE_BARRIER);
                }
                self.handling_abort_of = Some(id);
                self.task_step(
                    task,
                    TaskInput::NotifyAborted {
                        id,
                        latest_completed,
                    },
                );
                self.handling_abort_of = None;
            }
            Rpc::Ack {
                task,
                attempt,
                id,
                snapshot,
            } => {
                if let Some(kind) = self.pending_kind(id) {
                    self.storage_target =
                        Some((id, kind, FailureReason::FinalizeCheckpointFailure));
                }
                self.coordinator_step(CoordinatorInput::Ack {
                    task,
                    attempt,
                    id,
                    snapshot,
                })
            }
            Rpc::Decline {
                task,
                attempt,
                id,
                reason,
            } => {
                // A task declined a pending checkpoint: a task-level failure with the task's
                // reason (Flink's receiveDeclineMessage aborts whatever the attempt).
                if let Some(kind) = self.pending_kind(id) {
                    let world = &mut *self.world;
                    world
                        .ghost
                        .delivered_failure(self.spec, id, kind, reason, FailureLevel::Task);
                }
                self.coordinator_step(CoordinatorInput::Decline {
                    task,
                    attempt,
                    id,
                    reason,
                })
            }
            Rpc::EndOfData { task, attempt } => {
                self.coordinator_step(CoordinatorInput::EndOfData { task, attempt })
            }
            Rpc::TaskRunning { task, attempt } => {
                self.coordinator_step(CoordinatorInput::TaskRunning { task, attempt })
            }
            Rpc::TaskFinished { task, attempt } => {
                self.coordinator_step(CoordinatorInput::TaskFinished { task, attempt })
            }
            Rpc::TaskFailed { task, attempt } => {
                // A task's failure report is a cause for a failover (whether the failure itself
                // had a cause was judged when the task failed).
                self.world.ghost.failover_cause();
                self.coordinator_step(CoordinatorInput::TaskFailed { task, attempt })
            }
            Rpc::SourceEvent { task, event } => self.task_step(task, TaskInput::SourceEvent(event)),
            Rpc::SplitRequest { task, attempt } => self.deliver_split_request(task, attempt),
        }
    }

    /// The kind of `id` if the world counts it as pending (allocated, neither completed nor
    /// aborted, by the events it saw); the kind is the coordinator's record of it.
    fn pending_kind(&self, id: CheckpointId) -> Option<SnapshotKind> {
        if !self.world.ghost.awaited.iter().any(|(a, _)| *a == id) {
            return None;
        }
        self.world
            .coordinator
            .pending
            .iter()
            .find(|p| p.id == id)
            .map(|p| p.kind())
    }

    pub(super) fn coordinator_step(&mut self, input: CoordinatorInput) {
        let ctx = CoordinatorContext {
            spec: self.spec,
            now: self.world.now,
            storage_write_fails: self.world.storage_fault_armed,
        };
        let faults = StepFaults {
            store_write_lands: self.world.storage_fault_lands,
            restart_may_park: self.world.used.non_atomic_restarts
                < self.spec.faults.non_atomic_restarts,
        };
        let periodic_input = matches!(input, CoordinatorInput::PeriodicTimer);
        let before = self.world.coordinator.queue.requests.clone();
        let outputs = self.world.coordinator.step_with(&ctx, faults, input);
        let failed: Vec<(SnapshotKind, FailureReason)> = outputs
            .iter()
            .filter_map(|output| match output {
                CoordinatorOutput::Event(CoordinatorEvent::RequestFailed { kind, reason }) => {
                    Some((*kind, *reason))
                }
                _ => None,
            })
            .collect();
        let periodic_due = self.world.coordinator.periodic_due;
        let after = if before.is_empty() {
            Vec::new()
        } else {
            self.world.coordinator.queue.requests.clone()
        };
        // Completions first: the minimum pause counts from them.
        self.coordinator_outputs(outputs);
        if before.is_empty() && failed.is_empty() {
            return; // Nothing was queued and nothing refused or dropped: no rule to check.
        }
        let world = &mut *self.world;
        let traffic = RequestTraffic {
            now: ctx.now,
            before: &before,
            after: &after,
            periodic_input,
            failed: &failed,
            periodic_due,
        };
        world
            .ghost
            .request_traffic(self.spec, &traffic, &mut world.last);
    }

    pub(super) fn coordinator_outputs(&mut self, outputs: Vec<CoordinatorOutput>) {
        for output in outputs {
            match output {
                CoordinatorOutput::TriggerTask { task, barrier } => {
                    if barrier.full {
                        self.world.last.set(LastStep::FORCED_FULL_TRIGGERED);
                    }
                    if barrier.kind.is_synchronous() {
                        self.world.ghost.sync_savepoints.insert(barrier.id);
                    }
                    self.send(Rpc::Trigger { task, barrier })
                }
                CoordinatorOutput::NotifyComplete { task, id } => {
                    self.send(Rpc::NotifyComplete { task, id })
                }
                CoordinatorOutput::NotifyOperatorCoordinators { id } => {
                    self.source_checkpoint_complete(id)
                }
                CoordinatorOutput::NotifyOperatorCoordinatorsAborted { id } => {
                    self.source_checkpoint_aborted(id)
                }
                CoordinatorOutput::NotifyAborted {
                    task,
                    id,
                    latest_completed,
                } => {
                    let world = &mut *self.world;
                    world.ghost.abort_notification(
                        task,
                        id,
                        &self.aborts_notified,
                        &mut world.last,
                    );
                    self.aborts_notified.push((task, id));
                    self.send(Rpc::NotifyAborted {
                        task,
                        id,
                        latest_completed,
                    })
                }
                CoordinatorOutput::Restore { checkpoint } => self.restore(checkpoint.as_ref()),
                CoordinatorOutput::RestoreRegion { checkpoint, tasks } => {
                    self.restore_region(checkpoint.as_ref(), tasks)
                }
                CoordinatorOutput::CancelJob => self.cancel_job(),
                CoordinatorOutput::SavepointCompleted(savepoint) => {
                    if savepoint.kind.drains() {
                        self.world.ghost.drained = Some(Box::new(savepoint.clone()));
                    }
                    self.world.savepoint = Some(savepoint)
                }
                CoordinatorOutput::StorageFaultConsumed => {
                    self.world.storage_fault_armed = false;
                    self.world.last.set(LastStep::STORAGE_WRITE_FAILED);
                    let lands = std::mem::take(&mut self.world.storage_fault_lands);
                    // The injected storage fault hit a checkpoint: a job-level failure, whether
                    // at its location's initialisation (IO_EXCEPTION) or at finalisation.
                    if let Some((id, kind, reason)) = self.storage_target {
                        // A possibly inconsistent fault striking a store add: the world's own
                        // observation that this checkpoint is in HA storage (a location's
                        // initialisation writes nothing the next leader reads, so there the
                        // fault is a plain IO_EXCEPTION).
                        if lands && reason == FailureReason::FinalizeCheckpointFailure {
                            self.world.ghost.possibly_inconsistent.insert(id);
                        }
                        let world = &mut *self.world;
                        world.ghost.delivered_failure(
                            self.spec,
                            id,
                            kind,
                            reason,
                            FailureLevel::Job,
                        );
                    }
                }
                CoordinatorOutput::DiscardState { id, by } => self.world.files.discard(id, by),
                CoordinatorOutput::DiscardShared { files } => {
                    self.world.files.discard_shared(&files);
                    self.world.last.set(LastStep::SHARED_FILE_DELETED);
                    self.note(StepEvent::SharedDiscarded(files));
                }
                CoordinatorOutput::RestartParked => {
                    self.world.used.non_atomic_restarts += 1;
                    self.world.ghost.restart_parked();
                }
                CoordinatorOutput::Event(event) => self.observe(event),
            }
        }
    }

    pub(super) fn observe(&mut self, event: CoordinatorEvent) {
        if let CoordinatorEvent::Completed { id, .. } = event {
            // An incremental checkpoint that reuses a file an earlier checkpoint uploaded.
            let reused = self.world.coordinator.store.latest().is_some_and(|c| {
                c.id == id
                    && c.snapshots
                        .iter()
                        .any(|(_, s)| s.shared.iter().any(|f| f.created < id))
            });
            if reused {
                self.world.last.set(LastStep::REUSED_SHARED_FILE);
            }
        }
        if let CoordinatorEvent::Allocated(id, kind) = event {
            self.storage_target = Some((id, kind, FailureReason::IoException));
        }
        if self.events.is_some() {
            self.note(StepEvent::Coordinator(event.clone()));
        }
        self.world
            .ghost
            .observe(self.spec, self.world.now, &event, &mut self.world.last);
    }

    pub(super) fn task_step(&mut self, task: TaskId, input: TaskInput) {
        let ctx = TaskContext {
            spec: self.spec,
            task,
            now: self.world.now,
        };
        let outputs = self.world.tasks[task.0 as usize].step(&ctx, input);
        self.task_outputs(task, outputs);
    }

    pub(super) fn task_outputs(&mut self, task: TaskId, outputs: Vec<TaskOutput>) {
        let attempt = self.world.coordinator.attempt_of(task);
        for output in outputs {
            match output {
                TaskOutput::Emit(record) => {
                    let spec = self.spec;
                    for spec_output in &spec.task(task).outputs {
                        for channel in topology::route(spec_output, &record) {
                            let event = ChannelEvent::Record(record);
                            self.note(StepEvent::Sent { channel, event });
                            self.world.channels[channel.0 as usize].push_back(event);
                        }
                    }
                }
                TaskOutput::Broadcast(event) => self.broadcast(task, event),
                TaskOutput::Ack { id, snapshot } => self.send(Rpc::Ack {
                    task,
                    attempt,
                    id,
                    snapshot: SharedSnapshot::new(snapshot),
                }),
                TaskOutput::Decline { id, reason } => self.send(Rpc::Decline {
                    task,
                    attempt,
                    id,
                    reason,
                }),
                TaskOutput::Commit(transactions) => {
                    if self.commit_all(task, transactions).is_err() {
                        // The committer gave up: its task failed, the rest of its outputs
                        // belong to a task that no longer runs.
                        return;
                    }
                }
                TaskOutput::SendToTransaction { id, record } => {
                    self.world.external.send(task, id, record)
                }
                TaskOutput::InitTransactionalId(id) => {
                    self.world.external.init_transactional_id(task, id);
                }
                TaskOutput::AbortLingering { from } => {
                    self.world.external.abort_lingering(task, from)
                }
                TaskOutput::Write(record) => {
                    self.note(StepEvent::Written { sink: task, record });
                    self.world.external.insert(
                        record,
                        Writer {
                            sink: task,
                            transaction: None,
                        },
                    )
                }
                TaskOutput::Snapshotted { id, unaligned } => self.note(StepEvent::Snapshotted {
                    task,
                    id,
                    unaligned,
                }),
                TaskOutput::Flushed { .. } => {
                    self.world.last.set(LastStep::SNAPSHOT_WAITED_FOR_SENDS)
                }
                TaskOutput::InputEnded { flushed } => {
                    if flushed > 0 {
                        self.world.last.set(LastStep::BUFFER_FLUSHED);
                    }
                }
                TaskOutput::EndOfData => self.send(Rpc::EndOfData { task, attempt }),
                TaskOutput::Finished => self.send(Rpc::TaskFinished { task, attempt }),
                TaskOutput::RequestSplit => self.send(Rpc::SplitRequest { task, attempt }),
                TaskOutput::Running => self.send(Rpc::TaskRunning { task, attempt }),
                TaskOutput::Fail => {
                    let aborted = self.handling_abort_of;
                    self.world.ghost.task_failed(aborted, &mut self.world.last);
                    self.crash(task)
                }
            }
        }
    }

    /// Fault: the external system is unavailable for one more commit attempt.
    fn arm_commit_failure(&mut self) {
        let broker = &mut self.world.external.broker;
        broker.failed_commits += 1;
        broker.unavailable += 1;
    }

    /// A sink's committer commits its transactions in order, as Flink's does
    /// (`CommitterOperator.commitAndEmitCheckpoints`, checkpoint by checkpoint, each fully
    /// committed before the next): an attempt the external system answers with `retryLater` is
    /// retried in the same call up to `transactions.commit_retries` times
    /// (`CheckpointCommittableManagerImpl.commit`); out of retries, the committer throws ("Failed
    /// to commit ... after N retries"), which fails the task, and the committables stay in the
    /// state of the completed checkpoint it restores from (its `recoverAndCommit` commits them
    /// again, idempotently). `Err` if the task failed.
    fn commit_all(&mut self, task: TaskId, transactions: Vec<Transaction>) -> Result<(), ()> {
        let retries = self.spec.transactions.commit_retries;
        for transaction in transactions {
            let (mut failed, mut dropped) = (0u8, false);
            while self.world.external.attempt_fails() {
                failed += 1;
                self.note(StepEvent::CommitFailed {
                    sink: task,
                    transaction: transaction.checkpoint,
                });
                // BUG failed-commit-dropped: a transient failure is taken as final and the
                // committable discarded (as `signalFailedWithKnownReason` would), so its records
                // never become visible.
                if self.spec.has_bug(Bug::FailedCommitDropped) {
                    dropped = true;
                    break;
                }
                if failed > retries {
                    self.world.external.broker.gave_up = true;
                    self.crash(task);
                    return Err(());
                }
            }
            // `KafkaCommitter` resumes the transaction by producer id and epoch, which tell the
            // runs' transactions of a reused id apart (a resume from an older checkpoint).
            // BUG commit-by-id-without-epoch: a transactional id the external system committed
            // already is taken as this committable's (`signalAlreadyCommitted`), epoch ignored.
            let taken_as_done = self.spec.has_bug(Bug::CommitByIdWithoutEpoch)
                && self.world.external.committed_by_name(task, transaction.id);
            if dropped || taken_as_done {
                continue;
            }
            if failed > 0 {
                self.world.external.broker.retried = true;
            }
            if self.spec.transactions.committed_mark {
                // Iceberg's committer (sink v2 `IcebergCommitter.commit`, flink/v1.20) reads the
                // mark of the committable's job id and operator and commits only above it, on
                // notify and on restore (`recoverAndCommit`) alike; at or below it the
                // committable counts as committed (`signalAlreadyCommitted`).
                let job = self.world.external.table.job_of(transaction.checkpoint);
                let (checkpoint, records) = (transaction.checkpoint, transaction.records.len());
                if self.world.external.commit_marked(task, job, transaction) {
                    self.note(StepEvent::Committed {
                        sink: task,
                        transaction: checkpoint,
                        records,
                    });
                }
                continue;
            }
            self.note(StepEvent::Committed {
                sink: task,
                transaction: transaction.checkpoint,
                records: transaction.records.len(),
            });
            self.world.external.commit(task, transaction);
        }
        Ok(())
    }

    pub(super) fn broadcast(&mut self, task: TaskId, event: ChannelEvent) {
        let spec = self.spec;
        for spec_output in &spec.task(task).outputs {
            for channel in &spec_output.targets {
                self.note(StepEvent::Sent {
                    channel: *channel,
                    event,
                });
                self.world.channels[channel.0 as usize].push_back(event);
            }
        }
    }

    /// Tasks finish as soon as they may (final checkpoint or stop-with-savepoint complete, inputs
    /// ended) and everything they emitted was consumed downstream.
    pub(super) fn finish_ready_tasks(&mut self) {
        for task in self.spec.task_ids() {
            let ready = self.world.task(task).ready_to_finish()
                && self
                    .spec
                    .task(task)
                    .outputs
                    .iter()
                    .flat_map(|o| o.targets.iter())
                    .all(|c| self.world.channels[c.0 as usize].is_empty());
            if ready {
                self.ready_to_finish(task);
            }
        }
    }
}

/// Whether a `Crash` of `task` is a fatal send failure: an async sink with sends in flight and
/// `failed_sends` budget left (that budget is spent first; otherwise it is a plain crash).
pub(super) fn send_fails(spec: &Spec, world: &World, task: TaskId) -> bool {
    world.used.failed_sends < spec.faults.failed_sends && world.task(task).has_outstanding_sends()
}
