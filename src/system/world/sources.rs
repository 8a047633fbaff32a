//! A split source's operator coordinator in the world: the reader's split requests reach it, its
//! events travel to the readers as RPCs through the valve, its checkpoint is a phase of the
//! trigger pipeline, it hears of completed checkpoints, a lost event fails its reader, and a
//! restore resets it (`subtaskReset` per reader on a failover, `resetToCheckpoint` for a new
//! leader or a resumed job). Models without a split source never reach any of this.

use super::step::Step;
use super::{CoordinatorCall, Rpc, StepEvent};
use crate::system::bugs::Bug;
use crate::system::coordinator::store::CompletedCheckpoint;
use crate::system::protocol::{Attempt, CheckpointId, SourceEvent, TaskId};
use crate::system::world::ghost::LastStep;

impl Step<'_> {
    /// A reader's split request arrives (`SourceCoordinator.handleEventFromOperator` ->
    /// `handleSplitRequest`). A request of an earlier attempt is dropped: that reader is gone,
    /// and its restarted attempt asks again.
    pub(super) fn deliver_split_request(&mut self, task: TaskId, attempt: Attempt) {
        if attempt != self.world.coordinator.attempt_of(task)
            || !self.world.coordinator.is_running()
        {
            return;
        }
        let held_before = self.world.source_coordinator.held.len();
        let events = self
            .world
            .source_coordinator
            .handle_split_request(self.spec, task);
        if self.world.source_coordinator.held.len() > held_before {
            self.world.last.set(LastStep::EVENT_HELD_BY_VALVE);
        }
        self.send_source_events(events);
    }

    fn send_source_events(&mut self, events: Vec<(TaskId, SourceEvent)>) {
        for (task, event) in events {
            self.send(Rpc::SourceEvent { task, event });
        }
    }

    /// The first half of the trigger pipeline's asynchronous phase in a model with a split
    /// source: the coordinator's checkpoint future completes (`checkpointCoordinator`), its
    /// state goes into the pending checkpoint, and the gateways close. Returns false if there
    /// is nothing left to do in this half (the state is in already).
    pub(super) fn checkpoint_source_coordinator(&mut self) -> bool {
        if self.spec.split_source.is_none() {
            return false;
        }
        let Some(id) = self.world.coordinator.coordinator_snapshot else {
            return false;
        };
        if self.world.source_coordinator.marked == Some(id) {
            return false;
        }
        let state = self.world.source_coordinator.checkpoint(id);
        self.world
            .coordinator
            .acknowledge_coordinator_state(id, state);
        self.note(StepEvent::CoordinatorCheckpointed(id));
        true
    }

    /// After every step: once the checkpoint the gateways are closed for is no longer being
    /// triggered, its trigger RPCs went out or its triggering was aborted: either way the valve
    /// opens and sends what it held, behind the trigger RPCs (the rule of Flink 1.11-1.15; Flink
    /// 2.3 opens later, see `coordinator/operator_coordinator.rs`).
    pub(super) fn settle_valve(&mut self) {
        let Some(marked) = self.world.source_coordinator.marked else {
            return;
        };
        if self.world.coordinator.coordinator_snapshot == Some(marked) {
            return;
        }
        let events = self.world.source_coordinator.open_valve();
        self.send_source_events(events);
    }

    /// `notifyCheckpointComplete` on the coordinator: every completed checkpoint and synchronous
    /// savepoint (`CheckpointCoordinator.sendAcknowledgeMessages`; Flink 2.3's
    /// `cleanupAfterCompletedCheckpoint` does not call it for other savepoints).
    pub(super) fn source_checkpoint_complete(&mut self, id: CheckpointId) {
        if self.spec.split_source.is_some() {
            self.world.source_coordinator.checkpoint_complete(id);
            self.note(StepEvent::OperatorCoordinator(CoordinatorCall::Complete(
                id,
            )));
        }
    }

    /// `notifyCheckpointAborted` on the coordinator: nothing for the tracker (the valve opens
    /// when the triggering ends, `settle_valve`); noted for conformance.
    pub(super) fn source_checkpoint_aborted(&mut self, id: CheckpointId) {
        if self.spec.split_source.is_some() {
            self.note(StepEvent::OperatorCoordinator(CoordinatorCall::Aborted(id)));
        }
    }

    /// An operator event was lost: its send future fails and the gateway fails the target task
    /// (`SubtaskGatewayImpl`, since FLINK-21996), unless it is not running anyway.
    pub(super) fn source_event_lost(&mut self, task: TaskId) {
        // BUG lost-event-not-failing-reader: the failed send is ignored.
        if self.spec.has_bug(Bug::LostEventNotFailingReader) {
            return;
        }
        if self.world.task(task).is_running() {
            self.world.last.set(LastStep::LOST_EVENT_FAILED_READER);
            self.crash(task);
        }
    }

    /// The coordinator's part of a restore: a new leader's (or resumed job's) coordinator is
    /// reset to the checkpoint's state (`resetToCheckpoint`); otherwise the job fails over and
    /// every reader subtask is reset (`subtaskReset`, full failover restarting every region):
    /// splits assigned to it after the restored checkpoint go back to the enumerator.
    pub(super) fn restore_source_coordinator(&mut self, checkpoint: Option<&CompletedCheckpoint>) {
        let spec = self.spec;
        let Some(source) = &spec.split_source else {
            return;
        };
        let coordinator = &mut self.world.source_coordinator;
        if coordinator.fresh {
            coordinator.reset_to_checkpoint(spec, checkpoint.and_then(|c| c.coordinator_state));
            // A new coordinator with nothing to restore is not reset
            // (`restoreInitialCheckpointIfPresent`).
            if let Some(c) = checkpoint {
                self.note(StepEvent::OperatorCoordinator(CoordinatorCall::Reset(c.id)));
            }
            return;
        }
        let restored = checkpoint.map_or(CheckpointId::NONE, |c| c.id);
        let mut back = 0u16;
        for &reader in &source.readers {
            back |= self
                .world
                .source_coordinator
                .subtask_reset(reader, restored);
            self.note(StepEvent::OperatorCoordinator(
                CoordinatorCall::SubtaskReset {
                    task: reader,
                    restored,
                },
            ));
        }
        if back != 0 {
            self.world.last.set(LastStep::SPLITS_ADDED_BACK);
        }
    }
}
