//! RPCs between the coordinator and the tasks: what is in flight, how an action names one
//! (`RpcKey`, stable across replays) and which connection it travels on (for per-pair FIFO).

use crate::system::protocol::{Attempt, Barrier, CheckpointId, FailureReason, SourceEvent, TaskId};
use crate::system::task::SharedSnapshot;
use serde::{Deserialize, Serialize};

/// An RPC in flight between the coordinator and a task.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Rpc {
    Trigger {
        task: TaskId,
        barrier: Barrier,
    },
    NotifyComplete {
        task: TaskId,
        id: CheckpointId,
    },
    NotifyAborted {
        task: TaskId,
        id: CheckpointId,
        latest_completed: CheckpointId,
    },
    Ack {
        task: TaskId,
        attempt: Attempt,
        id: CheckpointId,
        snapshot: SharedSnapshot,
    },
    Decline {
        task: TaskId,
        attempt: Attempt,
        id: CheckpointId,
        reason: FailureReason,
    },
    EndOfData {
        task: TaskId,
        attempt: Attempt,
    },
    TaskFinished {
        task: TaskId,
        attempt: Attempt,
    },
    /// The task manager reports a failed task (never lost).
    TaskFailed {
        task: TaskId,
        attempt: Attempt,
    },
    /// An operator event from the split source's coordinator to a reader
    /// (`TaskExecutorGateway.sendOperatorEventToTask`).
    SourceEvent {
        task: TaskId,
        event: SourceEvent,
    },
    /// A reader's split request to the source's coordinator
    /// (`JobMasterOperatorEventGateway.sendOperatorEventToCoordinator`, never lost: see
    /// docs/fidelity.md).
    SplitRequest {
        task: TaskId,
        attempt: Attempt,
    },
    /// The task switched to RUNNING (`lifecycle.deploy_steps`; an execution-state update,
    /// never lost).
    TaskRunning {
        task: TaskId,
        attempt: Attempt,
    },
}

/// The kind of an RPC.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RpcKind {
    Trigger,
    NotifyComplete,
    NotifyAborted,
    Ack,
    Decline,
    EndOfData,
    TaskFinished,
    TaskFailed,
    SourceEvent,
    SplitRequest,
    TaskRunning,
}

/// Names an RPC in flight by value (identical RPCs are interchangeable).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct RpcKey {
    pub kind: RpcKind,
    pub task: TaskId,
    /// The checkpoint it is about (`NONE` for lifecycle RPCs).
    pub checkpoint: CheckpointId,
    pub attempt: Attempt,
    /// Operator events: which one (absent from traces of every other kind).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<SourceEvent>,
}

impl Rpc {
    pub fn key(&self) -> RpcKey {
        let (kind, task, checkpoint, attempt) = match *self {
            Rpc::Trigger { task, barrier } => {
                (RpcKind::Trigger, task, barrier.id, Attempt::default())
            }
            Rpc::NotifyComplete { task, id } => {
                (RpcKind::NotifyComplete, task, id, Attempt::default())
            }
            Rpc::NotifyAborted { task, id, .. } => {
                (RpcKind::NotifyAborted, task, id, Attempt::default())
            }
            Rpc::Ack {
                task, attempt, id, ..
            } => (RpcKind::Ack, task, id, attempt),
            Rpc::Decline {
                task, attempt, id, ..
            } => (RpcKind::Decline, task, id, attempt),
            Rpc::EndOfData { task, attempt } => {
                (RpcKind::EndOfData, task, CheckpointId::NONE, attempt)
            }
            Rpc::TaskFinished { task, attempt } => {
                (RpcKind::TaskFinished, task, CheckpointId::NONE, attempt)
            }
            Rpc::TaskFailed { task, attempt } => {
                (RpcKind::TaskFailed, task, CheckpointId::NONE, attempt)
            }
            Rpc::SourceEvent { task, event } => {
                return RpcKey {
                    kind: RpcKind::SourceEvent,
                    task,
                    checkpoint: CheckpointId::NONE,
                    attempt: Attempt::default(),
                    event: Some(event),
                };
            }
            Rpc::SplitRequest { task, attempt } => {
                (RpcKind::SplitRequest, task, CheckpointId::NONE, attempt)
            }
            Rpc::TaskRunning { task, attempt } => {
                (RpcKind::TaskRunning, task, CheckpointId::NONE, attempt)
            }
        };
        RpcKey {
            kind,
            task,
            checkpoint,
            attempt,
            event: None,
        }
    }

    /// The ordered lane an RPC travels on under per-pair FIFO: (towards the coordinator, the
    /// task, lane). Everything on a connection shares lane 0 and arrives in sending order, except
    /// acknowledgements and declines: each checkpoint's is sent by that checkpoint's own
    /// asynchronous snapshot phase (`AsyncCheckpointRunnable`), so it travels on a lane of its own
    /// (the checkpoint id) and may overtake, or be overtaken by, the rest.
    pub fn connection(&self) -> (bool, TaskId, u32) {
        let key = self.key();
        let lane = match key.kind {
            RpcKind::Ack | RpcKind::Decline => key.checkpoint.0,
            _ => 0,
        };
        (!self.to_task(), key.task, lane)
    }

    /// RPCs addressed to a task (dropped when the job restarts).
    pub fn to_task(&self) -> bool {
        matches!(
            self,
            Rpc::Trigger { .. }
                | Rpc::NotifyComplete { .. }
                | Rpc::NotifyAborted { .. }
                | Rpc::SourceEvent { .. }
        )
    }
}
