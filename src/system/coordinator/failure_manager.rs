//! `CheckpointFailureManager`: counts checkpoint failures against the tolerable number and
//! decides when the job must fail over (reference §1.10).

use crate::system::bugs::Bug;
use crate::system::protocol::{CheckpointId, FailureReason, SnapshotKind};
use crate::system::spec::Spec;

/// Failure-manager state: the count, the ids already counted, and the last successful id.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FailureManager {
    pub count: u8,
    pub counted: Vec<CheckpointId>,
    pub last_succeeded: CheckpointId,
}

/// Who reported a failure: the job manager itself, or a task (with an execution attempt).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailureLevel {
    Job,
    Task,
}

impl FailureManager {
    /// `handleCheckpointException`: returns true when the job must fail over. `id` is `None`
    /// for failures before an id was allocated ("unknown", -1 in Flink).
    pub fn on_failure(
        &mut self,
        spec: &Spec,
        id: Option<CheckpointId>,
        kind: SnapshotKind,
        reason: FailureReason,
        level: FailureLevel,
    ) -> bool {
        // Job-level if the reason is pre-flight or there is no attempt.
        if level == FailureLevel::Job || reason.is_pre_flight() {
            if kind.is_savepoint() {
                return false;
            }
            return self.check_against_counter(spec, id, reason);
        }
        // A task-level failure of a synchronous savepoint fails the job regardless of tolerance.
        if kind.is_synchronous() {
            return true;
        }
        self.check_against_counter(spec, id, reason)
    }

    fn check_against_counter(
        &mut self,
        spec: &Spec,
        id: Option<CheckpointId>,
        reason: FailureReason,
    ) -> bool {
        let Some(tolerable) = spec.checkpointing.tolerable_failures else {
            return false; // Unlimited: counting disabled.
        };
        // BUG miscount-tolerable-failures: no per-id de-duplication, no "newer than the last
        // success" filter, every reason counts.
        if spec.has_bug(Bug::MiscountTolerableFailures) {
            self.count = self.count.saturating_add(1);
        } else {
            let newer = id.is_none_or(|id| id > self.last_succeeded);
            if !newer {
                return false;
            }
            // The id is remembered only when a counted reason counts it (`countedIds.add` sits
            // behind the reason check), so an uncounted failure does not shadow a later one.
            if reason.is_counted() {
                let first_time = match id {
                    None => true,
                    Some(id) if !self.counted.contains(&id) => {
                        self.counted.push(id);
                        true
                    }
                    Some(_) => false,
                };
                if first_time {
                    self.count = self.count.saturating_add(1);
                }
            }
        }
        if self.count > tolerable {
            self.clear();
            return true;
        }
        false
    }

    /// `handleCheckpointSuccess`.
    pub fn on_success(&mut self, id: CheckpointId) {
        if id > self.last_succeeded {
            self.last_succeeded = id;
            self.clear();
        }
    }

    fn clear(&mut self) {
        self.count = 0;
        self.counted.clear();
    }
}
