//! The shared-state registry (`SharedStateRegistryImpl`, reference §1.8 step 2, §1.11, §3.2):
//! which shared (incremental) state files the job's checkpoints use, and when a file may be
//! deleted.
//!
//! Since FLINK-24611 Flink keeps no reference counts: each entry remembers the checkpoint that
//! created it and the newest checkpoint that used it (`lastUsedCheckpointID`). Every
//! acknowledgement carrying state registers its files (also a duplicate, late or unknown one:
//! rule 7); after every add to the completed-checkpoint store, `unregisterUnusedState(lowest)`
//! drops the entries last used before the lowest retained non-savepoint checkpoint and deletes
//! their files, unless the file was created at or below `highestNotClaimedCheckpointID` (the
//! snapshot a NO_CLAIM restore started from, FLINK-26985). A reused file is sent as a
//! placeholder; a placeholder for a key the registry does not know is refused ("Attempt to
//! reference unknown state"), which Flink surfaces as an exception that drops the
//! acknowledgement. Entries are kept sorted by file, so equal registries are equal values.

use crate::system::bugs::Bug;
pub use crate::system::protocol::ClaimMode;
use crate::system::protocol::{CheckpointId, SharedFile};
use crate::system::spec::Spec;

/// One registered file (`SharedStateEntry`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Entry {
    pub file: SharedFile,
    /// `createdByCheckpointID`: the checkpoint whose registration created the entry.
    pub created_by: CheckpointId,
    /// `lastUsedCheckpointID`.
    pub last_used: CheckpointId,
}

/// The registry. Rebuilt by a new leader from the checkpoints it recovers
/// (`SharedStateRegistryFactory`, `registerAllAfterRestored`); it is not HA state itself.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SharedStateRegistry {
    /// Sorted by file.
    pub entries: Vec<Entry>,
    /// `highestNotClaimedCheckpointID` (`NONE`: -1 in Flink).
    pub highest_not_claimed: CheckpointId,
}

/// A placeholder named a file the registry does not know (`registerReference`'s
/// `checkState(!isPlaceholder(newHandle))`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UnknownSharedState(pub SharedFile);

impl SharedStateRegistry {
    fn find(&self, file: SharedFile) -> Result<usize, usize> {
        self.entries.binary_search_by_key(&file, |e| e.file)
    }

    /// Registers the files of one acknowledged snapshot of `checkpoint`
    /// (`registerSharedStates`): a file created by this checkpoint is a new upload and creates
    /// its entry; any other is a placeholder and must be known. Every known entry's last use
    /// advances to `checkpoint`. If a placeholder is unknown nothing is registered and the
    /// acknowledgement is dropped: Flink registers the handles in order and throws at the
    /// unknown one, and `RocksIncrementalSnapshotStrategy` lists the reused files (placeholders)
    /// before the new uploads, so no upload is registered first (found by conformance, which
    /// sends them in that order); only placeholders listed before the unknown one would keep an
    /// advanced last use in Flink, and a model snapshot reuses at most one file.
    pub fn register(
        &mut self,
        files: &[SharedFile],
        checkpoint: CheckpointId,
    ) -> Result<(), UnknownSharedState> {
        if let Some(unknown) = files
            .iter()
            .find(|f| f.created != checkpoint && self.find(**f).is_err())
        {
            return Err(UnknownSharedState(*unknown));
        }
        for file in files {
            self.register_one(*file, checkpoint);
        }
        Ok(())
    }

    fn register_one(&mut self, file: SharedFile, checkpoint: CheckpointId) {
        match self.find(file) {
            Ok(at) => {
                let entry = &mut self.entries[at];
                entry.last_used = entry.last_used.max(checkpoint);
            }
            Err(at) => self.entries.insert(
                at,
                Entry {
                    file,
                    created_by: checkpoint,
                    last_used: checkpoint,
                },
            ),
        }
    }

    /// `registerAllAfterRestored`: the files of a checkpoint the job restores or recovers are
    /// registered as real handles under its id; unless the mode is CLAIM, nothing created up to
    /// it is ever deleted by this registry.
    pub fn register_restored(
        &mut self,
        spec: &Spec,
        id: CheckpointId,
        files: impl Iterator<Item = SharedFile>,
        mode: ClaimMode,
    ) {
        for file in files {
            self.register_one(file, id);
        }
        // BUG no-claim-discards-restored-shared-state: the restored snapshot is not protected.
        if mode == ClaimMode::NoClaim && !spec.has_bug(Bug::NoClaimDiscardsRestoredSharedState) {
            self.highest_not_claimed = self.highest_not_claimed.max(id);
        }
    }

    /// `unregisterUnusedState(lowest)`: drops every entry last used before `lowest` and returns
    /// the files to delete (those created after the highest not-claimed checkpoint), sorted.
    pub fn unregister_unused(&mut self, lowest: CheckpointId) -> Vec<SharedFile> {
        let mut deleted = Vec::new();
        let highest_not_claimed = self.highest_not_claimed;
        self.entries.retain(|e| {
            let unused = e.last_used < lowest;
            if unused && e.created_by > highest_not_claimed {
                deleted.push(e.file);
            }
            !unused
        });
        deleted
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}
