//! Checkpoint storage as the world sees it: which completed checkpoints' private state files
//! and which shared (incremental) state files were deleted, and the files of the snapshot a
//! NO_CLAIM start came from. Written by the coordinator's clean-up outputs (`DiscardState`,
//! `DiscardShared`); read by the restore (deleted state cannot be restored) and the oracle
//! (`restored-checkpoint-intact`, `no-claim-snapshot-not-referenced`), never by the registry.

use crate::system::coordinator::store::{CompletedCheckpoint, CompletedStore, Discarder};
use crate::system::coordinator::{shared_files, Coordinator};
use crate::system::protocol::{Attempt, CheckpointId, ClaimMode, SharedFile, SnapshotKind};
use crate::system::spec::Spec;
use crate::system::task::{Task, TaskSnapshot};
use crate::system::world::World;

/// The id of the retained checkpoint a `checkpointing.start_from_retained` job starts from.
pub const RETAINED_CHECKPOINT: CheckpointId = CheckpointId(1);

/// A job started from a retained incremental checkpoint of an earlier run (`-s <path>` with
/// the model's restore mode): every task's state is the initial one, held in one shared file
/// per task; the checkpoint is the store's first entry (CLAIM: the job's own checkpoint;
/// NO_CLAIM: the unclaimed, savepoint-typed entry), its files are registered, ids continue
/// after it, and every task is restored from it (`CheckpointCoordinator.restoreSavepoint`).
pub(super) fn started_from_retained(spec: &Spec, mut world: World) -> World {
    let mode = spec.checkpointing.restore_mode;
    let retained = CompletedCheckpoint {
        id: RETAINED_CHECKPOINT,
        kind: match mode {
            ClaimMode::Claim => SnapshotKind::Checkpoint,
            ClaimMode::NoClaim => SnapshotKind::Savepoint,
        },
        timestamp: 0,
        snapshots: spec
            .task_ids()
            .map(|task| {
                let snapshot = TaskSnapshot {
                    operator: Task::new(spec, task).operator.snapshot(),
                    channel_state: Vec::new(),
                    shared: vec![SharedFile {
                        task,
                        created: RETAINED_CHECKPOINT,
                    }],
                };
                (task, snapshot.into())
            })
            .collect(),
        expected: spec.all_tasks(),
        finished: Default::default(),
        coordinator_state: None,
    };
    if mode == ClaimMode::NoClaim {
        world.files.unclaimed = shared_files(&retained).collect();
    }
    world.coordinator = Coordinator::resumed_from(spec, 0, retained.clone(), Attempt(0));
    for task in spec.task_ids() {
        if let Some(snapshot) = retained.snapshot(task) {
            world.tasks[task.0 as usize] =
                Task::restore(spec, task, snapshot, RETAINED_CHECKPOINT).0;
        }
    }
    world.ghost.highest_allocated = RETAINED_CHECKPOINT;
    world
}

/// Checkpoint storage as the world sees it (the file system the coordinator's
/// `CheckpointsCleaner` deletes from): which completed checkpoints' state files were deleted,
/// and by whom, sorted by id. The oracle reads it (`restored-checkpoint-intact`).
///
/// A record is kept only while HA storage still names the checkpoint (`forget_unnamed`): a
/// restore reads only what the store names, so a deleted checkpoint the store no longer names
/// can never be read, and forgetting it keeps equal states equal (correct runs delete only what
/// the store dropped, so their record stays empty). Private state is recorded per checkpoint;
/// shared (incremental) state per file (`SharedFile`), whoever deleted it.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CheckpointFiles {
    discarded: Vec<(CheckpointId, Discarder)>,
    /// Deleted shared files, sorted; kept while a checkpoint HA storage names, the snapshot a
    /// NO_CLAIM start came from, or a task's uploads still reference them.
    shared_deleted: Vec<SharedFile>,
    /// The shared files of the snapshot a NO_CLAIM start came from: the user's, never the
    /// job's to delete (sorted).
    pub unclaimed: Vec<SharedFile>,
}

impl CheckpointFiles {
    /// The state files of `id` are deleted by `by` (the first deletion is the one recorded).
    pub fn discard(&mut self, id: CheckpointId, by: Discarder) {
        if let Err(at) = self.discarded.binary_search_by_key(&id, |(i, _)| *i) {
            self.discarded.insert(at, (id, by));
        }
    }

    /// Who deleted the state files of `id`, if anyone did.
    pub fn discarded_by(&self, id: CheckpointId) -> Option<Discarder> {
        self.discarded
            .binary_search_by_key(&id, |(i, _)| *i)
            .ok()
            .map(|at| self.discarded[at].1)
    }

    /// Every recorded deletion, by id.
    pub fn discarded(&self) -> &[(CheckpointId, Discarder)] {
        &self.discarded
    }

    /// Shared files are deleted (by the registry, or by an injected bug).
    pub fn discard_shared(&mut self, files: &[SharedFile]) {
        for file in files {
            if let Err(at) = self.shared_deleted.binary_search(file) {
                self.shared_deleted.insert(at, *file);
            }
        }
    }

    /// Whether shared file `file` was deleted.
    pub fn shared_deleted(&self, file: SharedFile) -> bool {
        self.shared_deleted.binary_search(&file).is_ok()
    }

    /// Every recorded deletion of a shared file still referenced.
    pub fn shared_deletions(&self) -> &[SharedFile] {
        &self.shared_deleted
    }

    /// Drops the records of checkpoints HA storage no longer names, and of deleted shared
    /// files nothing can reference any more (no checkpoint HA storage names, not the NO_CLAIM
    /// snapshot, no task's confirmed or unconfirmed uploads): correct runs delete only such
    /// files, so their record stays empty.
    pub(super) fn forget_unnamed(&mut self, store: &CompletedStore, tasks: &[Task]) {
        if !self.discarded.is_empty() {
            self.discarded.retain(|(id, _)| store.names(*id));
        }
        if self.shared_deleted.is_empty() {
            return;
        }
        let unclaimed = &self.unclaimed;
        self.shared_deleted.retain(|file| {
            unclaimed.binary_search(file).is_ok()
                || store
                    .in_ha_storage()
                    .any(|c| c.snapshots.iter().any(|(_, s)| s.shared.contains(file)))
                || tasks.iter().any(|t| {
                    t.uploads.as_ref().is_some_and(|u| {
                        u.base.contains(file)
                            || u.unconfirmed.iter().any(|(_, fs)| fs.contains(file))
                    })
                })
        });
    }
}
