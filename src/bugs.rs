//! The catalogue of injectable checkpointing bugs.
//!
//! Each bug is one clearly marked decision (`spec.has_bug(Bug::X)`) at the exact place where the
//! correct rule is applied; with no bug switched on the code runs the faithful rule. A bug is
//! switched on from the CLI (`--bug NAME`, repeatable) or a model file (`bugs = [...]`).

use std::fmt;

macro_rules! bugs {
    ($( $variant:ident = $name:literal, $layer:literal, $origin:literal, $what:literal; )*) => {
        /// An injectable bug (see `checkpoint-harness bugs`).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Bug { $( $variant, )* }

        impl Bug {
            pub const ALL: &'static [Bug] = &[ $( Bug::$variant, )* ];

            /// The name used on the command line and in model files.
            pub fn name(self) -> &'static str {
                match self { $( Bug::$variant => $name, )* }
            }

            /// Which layer the bug lives in: coordinator, task, source or sink.
            pub fn layer(self) -> &'static str {
                match self { $( Bug::$variant => $layer, )* }
            }

            /// The Flink ticket the bug comes from, or "textbook".
            pub fn origin(self) -> &'static str {
                match self { $( Bug::$variant => $origin, )* }
            }

            /// One line on what goes wrong.
            pub fn description(self) -> &'static str {
                match self { $( Bug::$variant => $what, )* }
            }

            pub fn from_name(name: &str) -> Option<Bug> {
                Bug::ALL.iter().copied().find(|bug| bug.name() == name)
            }
        }
    };
}

bugs! {
    CompleteWithMissingAck = "complete-with-missing-ack", "coordinator", "textbook",
        "a pending checkpoint completes when all but one task acknowledged it";
    RestoreSubsumedCheckpoint = "restore-subsumed-checkpoint", "coordinator", "textbook",
        "failover restores the oldest checkpoint the store ever held instead of the latest";
    RestorePendingCheckpoint = "restore-pending-checkpoint", "coordinator", "textbook",
        "failover restores the newest pending checkpoint's partial acknowledgements";
    LateCheckpointBecomesLatest = "late-checkpoint-becomes-latest", "coordinator", "textbook",
        "completion does not subsume older pending checkpoints, so a late older one becomes the latest in the store";
    SubsumeSavepoint = "subsume-savepoint", "coordinator", "textbook",
        "completing a checkpoint also subsumes (aborts) pending savepoints";
    ReuseCheckpointIds = "reuse-checkpoint-ids", "coordinator", "textbook",
        "the checkpoint id counter is not persisted, so a coordinator failover restarts ids at 1";
    MiscountTolerableFailures = "miscount-tolerable-failures", "coordinator", "textbook",
        "the failure manager counts the same checkpoint id on every report and ignores the last success";
    PeriodicTriggerNotRearmed = "periodic-trigger-not-rearmed", "coordinator", "textbook",
        "a periodic request dropped for the minimum pause does not re-arm the periodic timer";
    TriggeringFlagStuck = "triggering-flag-stuck", "coordinator", "textbook",
        "an abort during the trigger phase leaves isTriggering set, so no later checkpoint starts";
    NoBlockAfterBarrier = "no-block-after-barrier", "task", "textbook",
        "aligned mode keeps consuming a channel after its barrier arrived";
    SnapshotBeforeAllBarriers = "snapshot-before-all-barriers", "task", "textbook",
        "an aligned task snapshots when all but one channel delivered the barrier";
    ForwardBarrierBeforeSnapshot = "forward-barrier-before-snapshot", "task", "textbook",
        "an aligned task forwards the barrier at the first barrier, before aligning and snapshotting";
    ObsoleteBarrierCounted = "obsolete-barrier-counted", "task", "textbook",
        "a barrier of an older, aborted checkpoint counts toward the alignment of the current one";
    IgnoreCancellationMarker = "ignore-cancellation-marker", "task", "textbook",
        "a task ignores cancellation markers, so it neither declines nor forwards the cancellation";
    EndOfPartitionLeavesBlocked = "end-of-partition-leaves-blocked", "task", "textbook",
        "an input ending during alignment completes the checkpoint but leaves the other inputs blocked";
    UnalignedConsumesBehindBarrier = "unaligned-consumes-behind-barrier", "task", "textbook",
        "unaligned mode keeps persisting every input until the last barrier, so post-barrier records become channel state";
    UnalignedCapturesSomeInputs = "unaligned-captures-some-inputs", "task", "textbook",
        "unaligned mode persists in-flight records of the first input only";
    SourceOffsetOffByOne = "source-offset-off-by-one", "source", "textbook",
        "a source snapshots the offset of the record after the next one to emit";
    SourceSnapshotNotAtomic = "source-snapshot-not-atomic", "source", "textbook",
        "a source emits one more record between snapshotting its offset and emitting the barrier";
    StopWithSavepointFailsOverToCheckpoint = "stop-with-savepoint-fails-over-to-checkpoint", "coordinator", "FLINK-26783",
        "a task failing after the stop-with-savepoint's savepoint completed fails the job over to the latest checkpoint, duplicating committed output";
    CommitBeforeComplete = "commit-before-complete", "sink", "textbook",
        "the two-phase-commit sink commits its transaction at pre-commit, before the checkpoint completes";
    CommitOnAbort = "commit-on-abort", "sink", "textbook",
        "the two-phase-commit sink commits pending transactions when a checkpoint is aborted";
    CommitOnlyNotifiedTransaction = "commit-only-notified-transaction", "sink", "textbook",
        "a completion notification commits only the transaction of that checkpoint, not earlier pending ones";
    NoRecommitOnRestore = "no-recommit-on-restore", "sink", "textbook",
        "on restore the sink drops the restored pending transactions instead of committing them";
}

impl fmt::Display for Bug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A set of bugs as a bitset.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BugSet(u64);

impl BugSet {
    pub fn contains(self, bug: Bug) -> bool {
        self.0 & (1 << bug as u64) != 0
    }

    pub fn insert(&mut self, bug: Bug) {
        self.0 |= 1 << bug as u64;
    }

    pub fn union(self, other: BugSet) -> BugSet {
        BugSet(self.0 | other.0)
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn iter(self) -> impl Iterator<Item = Bug> {
        Bug::ALL
            .iter()
            .copied()
            .filter(move |bug| self.contains(*bug))
    }

    pub fn of(bugs: &[Bug]) -> BugSet {
        let mut set = BugSet::default();
        for bug in bugs {
            set.insert(*bug);
        }
        set
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_round_trip() {
        for bug in Bug::ALL {
            assert_eq!(Bug::from_name(bug.name()), Some(*bug));
        }
        assert!(Bug::ALL.len() <= 64);
    }
}
