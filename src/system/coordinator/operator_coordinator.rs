//! The JobManager side of a FLIP-27 split source: Flink's `OperatorCoordinatorHolder` around a
//! `SourceCoordinator` whose `SplitEnumerator` owns the source's splits, as plain state and pure
//! methods the world calls.
//!
//! - The enumerator (a pull enumerator like the `FileSource`'s): it answers a reader's split
//!   request (`handleSplitRequest`) with its lowest unassigned split (`AddSplitEvent`), or with
//!   `NoMoreSplitsEvent` once it has none left. Its checkpointed state is the set of unassigned
//!   splits ([`EnumeratorState`], `SplitEnumerator.snapshotState`).
//! - The `SplitAssignmentTracker`: assignments since the last coordinator checkpoint
//!   (`uncheckpointedAssignments`), moved under that checkpoint's id when it is taken
//!   (`onCheckpoint`), forgotten up to an id once it completes (`onCheckpointComplete`), and
//!   returned for a reset subtask if made after the restored checkpoint
//!   (`getAndRemoveUncheckpointedAssignment` -> `SplitEnumerator.addSplitsBack`, `subtaskReset`).
//! - The subtask gateways' valve (`SubtaskGatewayImpl.markForCheckpoint` / `closeGateways` /
//!   `openGatewayAndUnmarkCheckpoint`): from the coordinator's checkpoint until the trigger RPCs
//!   went out or the triggering ended, events are held and then sent in order, behind the
//!   trigger RPC on the same connection; a reset subtask's held events are dropped ("from the
//!   coordinator's perspective these events are lost, because they were sent to a failed
//!   subtask after its latest complete checkpoint"). This is the rule of Flink 1.11-1.15
//!   (`afterSourceBarrierInjection`, `abortCurrentTriggering`); Flink 2.3's
//!   `OperatorCoordinatorHolder` opens a subtask's gateway later, when that subtask's
//!   `AcknowledgeCheckpointEvent` (sent after its snapshot) arrives or the checkpoint completes
//!   or aborts. Either way the reader handles the event after its snapshot of that checkpoint,
//!   which is what the valve is for; the difference (docs/fidelity.md) is only how long an event
//!   waits.
//!
//! A lost event fails its target task (`SubtaskGatewayImpl.sendEvent`: "An OperatorEvent from an
//! OperatorCoordinator to a task was lost. Triggering task failover", FLINK-21996); that is the
//! world's to do (`world/step.rs`).

use crate::system::bugs::Bug;
use crate::system::protocol::{CheckpointId, SourceEvent, TaskId};
use crate::system::spec::Spec;

/// The coordinator's checkpointed state: the enumerator's unassigned splits (bit `s`: split
/// `s`). The assignment tracker is not part of it (`SourceCoordinator.toBytes`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EnumeratorState {
    pub unassigned: u16,
}

/// The split source's coordinator (all zero in models without a split source).
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SourceCoordinator {
    /// The enumerator's unassigned splits.
    pub unassigned: u16,
    /// `assignmentsByCheckpointId`: (checkpoint, reader, split), sorted.
    pub by_checkpoint: Vec<(CheckpointId, TaskId, u8)>,
    /// `uncheckpointedAssignments`: (reader, split), sorted.
    pub uncheckpointed: Vec<(TaskId, u8)>,
    /// The checkpoint the gateways are marked and closed for: set by the coordinator's
    /// checkpoint, cleared by the barrier injection or the abort of the triggering.
    pub marked: Option<CheckpointId>,
    /// Events the closed valve holds, in sending order.
    pub held: Vec<(TaskId, SourceEvent)>,
    /// A new leader's (or a resumed job's) coordinator, not yet restored: the next restore
    /// resets it to the checkpoint (`resetToCheckpoint`) instead of resetting its subtasks.
    pub fresh: bool,
}

impl SourceCoordinator {
    /// The coordinator of a freshly started job: every split unassigned.
    pub fn new(spec: &Spec) -> SourceCoordinator {
        SourceCoordinator {
            unassigned: spec.split_source.as_ref().map_or(0, |s| s.all_splits()),
            ..SourceCoordinator::default()
        }
    }

    /// `handleSplitRequest` from `reader`: assign the lowest unassigned split, or signal that
    /// there are no more. Returns the events to send now (none while the valve holds them).
    pub fn handle_split_request(
        &mut self,
        spec: &Spec,
        reader: TaskId,
    ) -> Vec<(TaskId, SourceEvent)> {
        let event = if self.unassigned == 0 {
            SourceEvent::NoMoreSplits
        } else {
            let split = self.unassigned.trailing_zeros() as u8;
            self.unassigned &= !(1 << split);
            // `SplitAssignmentTracker.recordSplitAssignment`.
            let at = self
                .uncheckpointed
                .partition_point(|a| *a <= (reader, split));
            self.uncheckpointed.insert(at, (reader, split));
            SourceEvent::AddSplit(split)
        };
        self.send(spec, reader, event)
    }

    /// `SubtaskGatewayImpl.sendEvent`: through the valve.
    fn send(
        &mut self,
        spec: &Spec,
        reader: TaskId,
        event: SourceEvent,
    ) -> Vec<(TaskId, SourceEvent)> {
        // BUG split-event-bypasses-valve: an event sent after the coordinator's checkpoint goes
        // out at once, ahead of the barrier injection.
        if self.marked.is_some() && !spec.has_bug(Bug::SplitEventBypassesValve) {
            self.held.push((reader, event));
            Vec::new()
        } else {
            vec![(reader, event)]
        }
    }

    /// `checkpointCoordinator(id)`: the tracker files the uncheckpointed assignments under `id`,
    /// the gateways are marked and closed, and the enumerator's state is the result.
    pub fn checkpoint(&mut self, id: CheckpointId) -> EnumeratorState {
        for (reader, split) in std::mem::take(&mut self.uncheckpointed) {
            self.by_checkpoint.push((id, reader, split));
        }
        self.by_checkpoint.sort();
        self.marked = Some(id);
        EnumeratorState {
            unassigned: self.unassigned,
        }
    }

    /// The trigger RPCs went out or the triggering ended: the valve opens and releases what it
    /// held, in order (see the module doc for Flink 2.3's later opening).
    pub fn open_valve(&mut self) -> Vec<(TaskId, SourceEvent)> {
        self.marked = None;
        std::mem::take(&mut self.held)
    }

    /// `notifyCheckpointComplete(id)`: assignments up to `id` are final.
    pub fn checkpoint_complete(&mut self, id: CheckpointId) {
        self.by_checkpoint.retain(|(c, _, _)| *c > id);
    }

    /// `subtaskReset(reader, restored)`: the splits assigned to `reader` after the restored
    /// checkpoint go back to the enumerator (`addSplitsBack`), and the valve drops what it holds
    /// for it. Returns the splits added back.
    pub fn subtask_reset(&mut self, reader: TaskId, restored: CheckpointId) -> u16 {
        let mut back = 0u16;
        self.by_checkpoint.retain(|&(c, r, split)| {
            let after = r == reader && c > restored;
            if after {
                back |= 1 << split;
            }
            !after
        });
        self.uncheckpointed.retain(|&(r, split)| {
            if r == reader {
                back |= 1 << split;
            }
            r != reader
        });
        self.held.retain(|(r, _)| *r != reader);
        self.unassigned |= back;
        back
    }

    /// `resetToCheckpoint`: a coordinator created from the checkpoint's state (every split
    /// unassigned without one), nothing tracked or held.
    pub fn reset_to_checkpoint(&mut self, spec: &Spec, state: Option<EnumeratorState>) {
        *self = SourceCoordinator::new(spec);
        if let Some(state) = state {
            self.unassigned = state.unassigned;
        }
    }
}
