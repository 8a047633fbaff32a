//! The completed-checkpoint store (`StandaloneCompletedCheckpointStore` /
//! `DefaultCompletedCheckpointStore` with `CheckpointSubsumeHelper`, reference §1.11).
//!
//! Entries are kept in add order; the latest is the last one. The store and the id counter are
//! the coordinator's only state that survives a coordinator failover (HA storage).
//!
//! HA storage and the coordinator's local copy of it can differ: an add whose write reaches HA
//! storage but whose reply reports a failure (`PossibleInconsistentStateException`,
//! `DefaultCompletedCheckpointStore.addCheckpoint`: the handle is written by
//! `StateHandleStore.addAndLock` before the local deque is appended to) leaves the checkpoint in
//! HA storage only (`ha_only`). This leader never subsumes it (it subsumes only its deque); the
//! next leader's `recover` reads it back with everything else
//! (`DefaultCompletedCheckpointStoreUtils.retrieveCompletedCheckpoints`, sorted by id).

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
    /// The split source's coordinator state (`OperatorState` of the coordinator); `None`
    /// without a split source.
    pub coordinator_state: Option<super::operator_coordinator::EnumeratorState>,
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

/// Who deleted a checkpoint's state files from checkpoint storage (`CheckpointsCleaner`).
/// Savepoints' files are never deleted by the job.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Discarder {
    /// The store subsumed it (`tryRemoveCompletedCheckpoint` after `releaseAndTryRemove`).
    Subsumed,
    /// Its add to the store failed (`cleanCheckpointOnFailedStoring`).
    FailedStoring,
    /// The store was shut down (`DefaultCompletedCheckpointStore.shutdown` on a globally
    /// terminal job status).
    Shutdown,
}

/// The store: completed checkpoints in add order.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CompletedStore {
    /// The local copy (`completedCheckpoints`): what this leader restores from and subsumes.
    pub entries: Vec<CompletedCheckpoint>,
    /// In HA storage but not in the local copy: possibly inconsistent writes that landed,
    /// ascending by id.
    pub ha_only: Vec<CompletedCheckpoint>,
    /// The entry a NO_CLAIM start added (`CheckpointProperties.forUnclaimedSnapshot`: typed as
    /// a savepoint, never discarded), while the store names it.
    pub unclaimed: Option<CheckpointId>,
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
    /// entry is a synchronous savepoint. Returns the removed entries, in removal order.
    pub fn add(
        &mut self,
        checkpoint: CompletedCheckpoint,
        retained: u8,
    ) -> Vec<CompletedCheckpoint> {
        self.entries.push(checkpoint);
        let mut removed = Vec::new();
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
                removed.push(self.entries.remove(index));
            } else {
                index += 1;
            }
        }
        removed
    }

    /// A possibly inconsistent add whose write landed: the checkpoint is in HA storage, not in
    /// the local copy.
    pub fn add_to_ha_only(&mut self, checkpoint: CompletedCheckpoint) {
        let at = self.ha_only.partition_point(|c| c.id < checkpoint.id);
        self.ha_only.insert(at, checkpoint);
    }

    /// Every checkpoint HA storage holds: the local copy and the writes that landed unseen.
    pub fn in_ha_storage(&self) -> impl Iterator<Item = &CompletedCheckpoint> {
        self.entries.iter().chain(self.ha_only.iter())
    }

    /// Whether HA storage names checkpoint `id`.
    pub fn names(&self, id: CheckpointId) -> bool {
        self.in_ha_storage().any(|c| c.id == id)
    }

    /// `recover()` by a new leader: every checkpoint in HA storage, sorted by id (Flink sorts the
    /// handles by their names, which encode the id); no subsumption until the next add
    /// (`DefaultCompletedCheckpointStore`'s constructor keeps all it is given).
    pub fn recovered(&self) -> CompletedStore {
        if self.ha_only.is_empty() {
            // Already in the order HA storage lists them (the local copy is in add order, which
            // is id order unless an injected bug completes an older checkpoint late).
            return self.clone();
        }
        let mut entries: Vec<CompletedCheckpoint> = self.in_ha_storage().cloned().collect();
        entries.sort_by_key(|c| c.id);
        CompletedStore {
            entries,
            ha_only: Vec::new(),
            unclaimed: self.unclaimed,
        }
    }
}
