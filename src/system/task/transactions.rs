//! Transaction identity on the sink side (`transactions.identity`): a two-phase-commit sink that
//! names its transactions as Flink's `KafkaWriter` does. Each transaction has a transactional id
//! `prefix-subtaskId-checkpointId` (`TransactionalIdFactory`; here the sink subtask and the
//! checkpoint id, [`TxnId::name`]) and the epoch of the producer that began it ([`TxnId::epoch`],
//! the job attempt). The rules, restated from `KafkaWriter` / `TransactionAborter`:
//!
//! - A restored (or restarted) writer's `lastCheckpointId` is the restored checkpoint's id (0
//!   without one); it first aborts lingering transactions of an earlier attempt from
//!   `lastCheckpointId + 1` upward, probing ids until one was never used (`TransactionAborter.
//!   abortTransactionOfSubtask`: "we assume that transaction ids are consecutively used"), then
//!   opens the producer of `lastCheckpointId + 1`.
//! - `snapshotState(N)` pre-commits the open transaction (its committable carries the id and
//!   epoch) and opens the producer of `N + 1`, initialising every id in between
//!   (`getTransactionalProducer`: "in case checkpoints have been aborted, Flink would create
//!   non-consecutive transaction ids; this loop ensures that all gaps are filled with
//!   initialized (empty) transactions"), which is what keeps the aborter's probing sound.
//! - Every record is sent into the open transaction at once (invisible until it commits).
//!
//! The external system's side (epochs, fencing, idempotent commit) is `world/external.rs`.

use super::operator::{OperatorState, TxnId};
use super::{Outputs, Task, TaskOutput};
use crate::system::bugs::Bug;
use crate::system::protocol::CheckpointId;
use crate::system::spec::Spec;

impl Task {
    /// A deployed (restored or restarted) two-phase-commit sink opens its producer: it aborts
    /// the lingering transactions from `restored + 1` upward and opens the transaction of
    /// `restored + 1` with this attempt's epoch. Not a sink with identity: nothing.
    pub fn open_producer(&mut self, spec: &Spec, restored: CheckpointId, epoch: u8) -> Outputs {
        let mut out = Outputs::new();
        if !spec.transactions.identity || !self.is_running() {
            return out;
        }
        if let OperatorState::TwoPhaseCommitSink { open, .. } = &mut self.operator {
            *open = TxnId {
                name: CheckpointId(restored.0 + 1),
                epoch,
            };
            out.push(TaskOutput::AbortLingering { from: *open });
            out.push(TaskOutput::InitTransactionalId(*open));
        }
        out
    }
}

/// A fresh sink's state with identity: its first producer is the one of checkpoint 1, epoch 0
/// (a restart replaces it by [`Task::open_producer`]).
pub(super) fn first_producer(spec: &Spec, mut state: OperatorState) -> OperatorState {
    if let OperatorState::TwoPhaseCommitSink { open, .. } = &mut state {
        if spec.transactions.identity {
            *open = TxnId {
                name: CheckpointId(1),
                epoch: 0,
            };
        }
    }
    state
}

/// `snapshotState(id)` with identity: the open transaction is pre-committed under its own id
/// (returned), and the producer of `id + 1` is opened, every id in between initialised.
pub(super) fn precommit(
    spec: &Spec,
    open: &mut TxnId,
    id: CheckpointId,
    out: &mut Outputs,
) -> TxnId {
    let precommitted = *open;
    let next = CheckpointId(id.0 + 1);
    let mut name = CheckpointId(open.name.0 + 1);
    while name < next {
        // BUG transactional-id-gap-not-filled: the ids of checkpoints the sink never saw are
        // not initialised, so a later abort of lingering transactions stops at the gap.
        if !spec.has_bug(Bug::TransactionalIdGapNotFilled) {
            out.push(TaskOutput::InitTransactionalId(TxnId {
                name,
                epoch: open.epoch,
            }));
        }
        name = CheckpointId(name.0 + 1);
    }
    *open = TxnId {
        name: next,
        epoch: open.epoch,
    };
    out.push(TaskOutput::InitTransactionalId(*open));
    precommitted
}
