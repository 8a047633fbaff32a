//! The completed-checkpoint store (`StandaloneCompletedCheckpointStore` /
//! `DefaultCompletedCheckpointStore` with `CheckpointSubsumeHelper`, reference §1.11).
//!
//! Entries are kept in add order; the latest is the last one. The store and the id counter are
//! the coordinator's only state that survives a coordinator failover (HA storage).

use crate::system::protocol::{CheckpointId, SnapshotKind, TaskId, TaskSet, Tick};
use crate::system::task::{SharedSnapshot, TaskSnapshot};

/// A completed checkpoint or savepoint: every acknowledged task's snapshot.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CompletedCheckpoint {
    pub id: CheckpointId,
    pub kind: SnapshotKind,
    pub timestamp: Tick,
    /// Snapshots of the acknowledged tasks, sorted by task.
    pub snapshots: Vec<(TaskId, SharedSnapshot)>,
    /// Tasks the checkpoint waited for (running at trigger time).
    pub expected: TaskSet,
    /// Tasks that had finished before the checkpoint was planned (FLIP-147): restored finished.
    pub finished: TaskSet,
}

impl CompletedCheckpoint {
    pub fn snapshot(&self, task: TaskId) -> Option<&TaskSnapshot> {
        self.snapshots
            .iter()
            .find(|(t, _)| *t == task)
            .map(|(_, snapshot)| snapshot.as_ref())
    }

    pub fn acknowledged(&self) -> TaskSet {
        let mut set = TaskSet::default();
        for (task, _) in &self.snapshots {
            set.insert(*task);
        }
        set
    }
}

/// The store: completed checkpoints in add order.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CompletedStore {
    pub entries: Vec<CompletedCheckpoint>,
}

impl CompletedStore {
    pub fn latest(&self) -> Option<&CompletedCheckpoint> {
        self.entries.last()
    }

    /// Flink's `getLatestCheckpointId` (0 if none).
    pub fn latest_id(&self) -> CheckpointId {
        self.latest().map_or(CheckpointId::NONE, |c| c.id)
    }

    /// `addCheckpointAndSubsumeOldestOne`: append, then remove entries while more than `retained`
    /// remain. Never the newest; savepoint entries always may go; otherwise a checkpoint stays if
    /// it is the newest non-savepoint entry (incremental lineage, FLINK-21351), unless the newest
    /// entry is a synchronous savepoint. Returns the highest removed id.
    pub fn add(&mut self, checkpoint: CompletedCheckpoint, retained: u8) -> Option<CheckpointId> {
        self.entries.push(checkpoint);
        let mut removed = None;
        let mut index = 0;
        while self.entries.len() > retained as usize && index + 1 < self.entries.len() {
            let newest = self.entries.last().expect("non-empty");
            let newest_non_savepoint = self
                .entries
                .iter()
                .rev()
                .find(|c| !c.kind.is_savepoint())
                .map(|c| c.id);
            let entry = &self.entries[index];
            let removable = entry.kind.is_savepoint()
                || newest.kind.is_synchronous()
                || Some(entry.id) != newest_non_savepoint;
            if removable {
                let gone = self.entries.remove(index);
                removed = removed.max(Some(gone.id));
            } else {
                index += 1;
            }
        }
        removed
    }
}
