//! The invariants: one named table of safety properties, a quiescence liveness property, and
//! non-vacuity ("sometimes") properties, used by the simulator after every step and registered
//! as stateright properties by the model checker.
//!
//! Safety properties are predicates over one `World` (history they need lives in the ghost state).
//! The exactly-once properties compare the system's state against the independent reference
//! fold in `reference`, never against the code under test.

use crate::oracle::reference::{self, Cut, Effective, ReferenceTask};
use crate::system::coordinator::store::CompletedCheckpoint;
use crate::system::coordinator::JobStatus;
use crate::system::protocol::FailureReason;
use crate::system::protocol::{ClaimMode, Digest, Lineage, TaskId};
use crate::system::spec::{CheckpointMode, FailoverStrategy, OperatorKind, Spec};
use crate::system::task::operator::OperatorState;
use crate::system::task::{BarrierHandler, TaskStatus};
use crate::system::world::ghost::LastStep;
use crate::system::world::{self, World, RETAINED_CHECKPOINT};
use std::fmt::Write as _;

/// What kind of property an entry is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Must hold in every state.
    Safety,
    /// Must hold in every quiescent state (checked as safety) and, in the simulator, within the
    /// healed phase's bound.
    Liveness,
    /// Must be reached at least once by a complete exploration (non-vacuity).
    Sometimes,
}

/// A violated property with what it saw against what it expected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    pub invariant: &'static str,
    pub detail: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.invariant, self.detail)
    }
}

/// A safety predicate: `Err` says what it saw against what it expected.
pub type SafetyCheck = fn(&Spec, &Oracle, &World) -> Result<(), String>;
/// A non-vacuity predicate: whether this state reaches what the property asks for.
pub type SometimesCheck = fn(&Spec, &World) -> bool;

/// One entry of the table.
pub struct Property {
    pub name: &'static str,
    pub kind: Kind,
    pub description: &'static str,
    check: Check,
}

enum Check {
    Safety(SafetyCheck),
    Sometimes {
        reached: SometimesCheck,
        applies: fn(&Spec) -> bool,
    },
}

impl Property {
    /// A safety property of your own, for [`Oracle::with_property`]: `check` must hold in every
    /// state (history it needs is in `world.ghost`, what the last action did in `world.last`).
    pub const fn safety(
        name: &'static str,
        description: &'static str,
        check: SafetyCheck,
    ) -> Property {
        Property {
            name,
            kind: Kind::Safety,
            description,
            check: Check::Safety(check),
        }
    }

    /// A non-vacuity property of your own: a complete exploration of a model for which
    /// `applies` holds must reach a state where `reached` holds.
    pub const fn sometimes(
        name: &'static str,
        description: &'static str,
        reached: SometimesCheck,
        applies: fn(&Spec) -> bool,
    ) -> Property {
        Property {
            name,
            kind: Kind::Sometimes,
            description,
            check: Check::Sometimes { reached, applies },
        }
    }

    /// Evaluates a safety or liveness property.
    pub fn check(&self, spec: &Spec, oracle: &Oracle, world: &World) -> Result<(), Violation> {
        match self.check {
            Check::Safety(check) => check(spec, oracle, world).map_err(|detail| Violation {
                invariant: self.name,
                detail,
            }),
            Check::Sometimes { .. } => Ok(()),
        }
    }

    /// For a sometimes property: whether this state reaches it.
    pub fn reached(&self, spec: &Spec, world: &World) -> bool {
        match self.check {
            Check::Sometimes { reached, .. } => reached(spec, world),
            Check::Safety(_) => false,
        }
    }

    /// For a sometimes property: whether the model can reach it at all (else it is not demanded).
    pub fn applies(&self, spec: &Spec) -> bool {
        match self.check {
            Check::Sometimes { applies, .. } => applies(spec),
            Check::Safety(_) => true,
        }
    }
}

impl std::fmt::Debug for Property {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Property")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

/// Precomputed, per-model facts the properties need, and the properties to check: the built-in
/// table plus any added with [`Oracle::with_property`].
#[derive(Clone, Debug)]
pub struct Oracle {
    /// The sinks' expected output once all input is processed (a sorted multiset).
    pub full_output: Vec<Lineage>,
    /// The values each sink's output records must carry (`reference::OutputValues`).
    pub output_values: reference::OutputValues,
    /// Properties added from outside the table, checked after it (in the order added).
    extra: Vec<&'static Property>,
}

impl Oracle {
    /// The sinks' expected output for this world once its job finished: the full output, or,
    /// once a stop-with-savepoint with drain completed, the drained output at its savepoint.
    pub fn expected_output<'a>(
        &'a self,
        spec: &Spec,
        world: &World,
    ) -> std::borrow::Cow<'a, [Lineage]> {
        match &world.ghost.drained {
            Some(savepoint) => reference::drained_output(spec, world, savepoint).into(),
            None if !world.ghost.older_resumes.0.is_empty() => {
                // A resume from an older checkpoint produces again what the stopped run
                // committed after it (`reference::superseded`).
                let mut output = self.full_output.clone();
                output.extend(reference::superseded(spec, world).into_iter().flatten());
                output.sort();
                output.into()
            }
            None => std::borrow::Cow::Borrowed(&self.full_output),
        }
    }

    pub fn new(spec: &Spec) -> Oracle {
        Oracle {
            full_output: reference::full_output(spec),
            output_values: reference::OutputValues::of(spec),
            extra: Vec::new(),
        }
    }

    /// Adds a property of your own: the simulator and the model checker (up to
    /// [`MAX_PROPERTIES`] in all) check it like the built-in ones. A name already in use is an
    /// error. The checker's partial-order reduction only ever postpones deliveries that change
    /// nothing but the network (an obsolete RPC, a record into a task with nothing else to do):
    /// a property that reads the RPCs or channel contents in flight should be checked with
    /// `CheckOptions { reduction: false, .. }`.
    pub fn with_property(mut self, property: &'static Property) -> Result<Oracle, String> {
        if self.find(property.name).is_some() {
            return Err(format!("a property named {} exists already", property.name));
        }
        if PROPERTIES.len() + self.extra.len() >= MAX_PROPERTIES {
            return Err(format!(
                "cannot add {}: at most {MAX_PROPERTIES} properties can be checked",
                property.name
            ));
        }
        self.extra.push(property);
        Ok(self)
    }

    /// Every property this oracle checks: the table, then the added ones.
    pub fn properties(&self) -> impl Iterator<Item = &'static Property> + '_ {
        PROPERTIES.iter().chain(self.extra.iter().copied())
    }

    /// The `index`-th of [`Oracle::properties`].
    pub fn nth(&self, index: usize) -> &'static Property {
        PROPERTIES
            .get(index)
            .unwrap_or_else(|| self.extra[index - PROPERTIES.len()])
    }

    /// The property with this name, built-in or added.
    pub fn find(&self, name: &str) -> Option<&'static Property> {
        self.properties().find(|p| p.name == name)
    }
}

/// Non-vacuity properties a simulator sweep reaches too rarely to be demanded of one (`verify`
/// does not fail a model whose sweep misses them; an exhaustive check still demands them):
/// `possibly-inconsistent-write-restored` needs a storage fault armed twice, a completion while
/// it is armed, a JobManager failover and a restore, in that order; measured on ha-failures, 5
/// runs in 3,000. `task-restored-as-finished` needs the crash after a checkpoint that recorded
/// the source finished and before the sink finished; measured on task-lifecycle, 2 runs in
/// 5,000 (its exhaustive `task-lifecycle@small` check reaches it). `resumed-from-older-checkpoint`
/// needs a checkpoint completed before the stop-with-savepoint and then the resume from it;
/// measured on transactions-resume, 7 runs in 2,000 (its exhaustive check, and that of
/// `transactions-resume@small`, reach it). `mark-kept-runs-apart` needs the same resume and then
/// a commit of the new job; measured on transactions-mark, 7 runs in 2,000 (the exhaustive
/// checks of `transactions-mark` and of its small instance reach it).
pub const SWEEP_RARE: &[&str] = &[
    "possibly-inconsistent-write-restored",
    "task-restored-as-finished",
    "resumed-from-older-checkpoint",
    "mark-kept-runs-apart",
];

/// The most properties one check can register, built-in and added (the model checker has one
/// slot more, for its `healed-run-finishes`).
pub const MAX_PROPERTIES: usize = 62;

/// The table. When one state violates several properties the first one in this order is
/// reported, so the specific structural properties come before the broad exactly-once checks.
pub static PROPERTIES: &[Property] = &[
    Property {
        name: "checkpoint-ids-increase",
        kind: Kind::Safety,
        description: "checkpoint ids only increase, across restarts and coordinator failovers too",
        check: Check::Safety(checkpoint_ids_increase),
    },
    Property {
        name: "completed-has-every-ack",
        kind: Kind::Safety,
        description: "a checkpoint completes only with a snapshot from every task it waited for",
        check: Check::Safety(completed_has_every_ack),
    },
    Property {
        name: "no-commit-before-complete",
        kind: Kind::Safety,
        description: "a two-phase-commit transaction is committed only once a checkpoint at or after the one that pre-committed it completed",
        check: Check::Safety(no_commit_before_complete),
    },
    Property {
        name: "pending-within-max-concurrent",
        kind: Kind::Safety,
        description: "at most max_concurrent non-forced checkpoints are pending",
        check: Check::Safety(pending_within_max_concurrent),
    },
    Property {
        name: "planned-with-tasks-running",
        kind: Kind::Safety,
        description: "no pending checkpoint waits for a task that has not switched to RUNNING since the job (re)started (DefaultCheckpointPlanCalculator.checkTasksStarted)",
        check: Check::Safety(planned_with_tasks_running),
    },
    Property {
        name: "request-order-respected",
        kind: Kind::Safety,
        description: "queued trigger requests run in Flink's order: savepoints, then forced requests, then user before periodic, then older first",
        check: Check::Safety(request_order_respected),
    },
    Property {
        name: "refused-only-when-full",
        kind: Kind::Safety,
        description: "a trigger request is refused as TOO_MANY_CHECKPOINT_REQUESTS only when 1,000 requests are queued",
        check: Check::Safety(refused_only_when_full),
    },
    Property {
        name: "min-pause-respected",
        kind: Kind::Safety,
        description: "only a periodic, non-forced request is dropped for the minimum pause, only inside the pause, and the periodic trigger then fires when the pause ends",
        check: Check::Safety(min_pause_respected),
    },
    Property {
        name: "abort-notified-at-most-once",
        kind: Kind::Safety,
        description: "each checkpoint is aborted (and its abort notified) at most once",
        check: Check::Safety(abort_notified_at_most_once),
    },
    Property {
        name: "savepoint-never-subsumed",
        kind: Kind::Safety,
        description: "a pending savepoint is never aborted as subsumed (PendingCheckpoint treats it as an IllegalState)",
        check: Check::Safety(savepoint_never_subsumed),
    },
    Property {
        name: "tolerable-failures-respected",
        kind: Kind::Safety,
        description: "the job fails over for checkpoint failures exactly when more distinct counted failures than tolerated happened since the last success",
        check: Check::Safety(tolerable_failures_respected),
    },
    Property {
        name: "no-spurious-failure",
        kind: Kind::Safety,
        description: "a task fails, or the job fails over, only because of an injected fault, a failure manager whose budget was exceeded, the abort of a synchronous savepoint, a JobManager failover or a resume",
        check: Check::Safety(no_spurious_failure),
    },
    Property {
        name: "periodic-trigger-armed",
        kind: Kind::Safety,
        description: "while the job runs with periodic checkpointing, the periodic trigger is armed (with tasks deploying as steps of their own, from the first RUNNING report on)",
        check: Check::Safety(periodic_trigger_armed),
    },
    Property {
        name: "trigger-flag-released",
        kind: Kind::Safety,
        description: "the coordinator's isTriggering flag is set only while a trigger request is in its pipeline, so later requests are not blocked forever",
        check: Check::Safety(trigger_flag_released),
    },
    Property {
        name: "cancellation-releases-alignment",
        kind: Kind::Safety,
        description: "a consumed cancellation marker leaves the task neither blocked nor aligning for that checkpoint or an older one",
        check: Check::Safety(cancellation_releases_alignment),
    },
    Property {
        name: "stop-with-savepoint-drain-respected",
        kind: Kind::Safety,
        description: "a stop-with-savepoint's savepoint ends the input exactly when it drains: with drain every source ended its input before it (endData(DRAIN), so every operator flushed into it), without drain no source ended its input early (endData(NO_DRAIN) ends nothing)",
        check: Check::Safety(stop_with_savepoint_drain_respected),
    },
    Property {
        name: "completed-checkpoint-consistent",
        kind: Kind::Safety,
        description: "every completed checkpoint or savepoint is a consistent cut: each task's state plus captured channel state accounts for exactly the records its sources emitted before their snapshotted offsets",
        check: Check::Safety(completed_checkpoint_consistent),
    },
    Property {
        name: "restored-checkpoint-intact",
        kind: Kind::Safety,
        description: "every checkpoint the world restores, and every checkpoint HA storage retains (also one whose add reported a failure but landed), still has its state files: none was deleted by a clean-up; with incremental checkpoints also every shared file the restored checkpoint, the store's checkpoints and the latest one in HA storage reference, and every file of the snapshot a NO_CLAIM start came from",
        check: Check::Safety(restored_checkpoint_intact),
    },
    Property {
        name: "no-claim-snapshot-not-referenced",
        kind: Kind::Safety,
        description: "after a NO_CLAIM start no checkpoint of the job in HA storage references a shared file of the snapshot it started from (the user may delete it once the job's first checkpoint completed)",
        check: Check::Safety(no_claim_snapshot_not_referenced),
    },
    Property {
        name: "restored-splits-owned-once",
        kind: Kind::Safety,
        description: "right after a restore, every split of a split source has at most one owner (unassigned at the enumerator, or held by one reader, or finished by one), and exactly one unless a reader was restored finished (whose finished splits no state names)",
        check: Check::Safety(restored_splits_owned_once),
    },
    Property {
        name: "restored-state-exactly-once",
        kind: Kind::Safety,
        description: "right after a restore, every task's state (with channel state replayed) equals the reference fold of the sources' inputs up to the restored offsets",
        check: Check::Safety(restored_state_exactly_once),
    },
    Property {
        name: "sink-writes-cover-cut",
        kind: Kind::Safety,
        description: "when a checkpoint or savepoint completes, and right after a restore, the external output holds, written by that sink subtask, every record the reference fold at the cut's offsets routes to an at-least-once or async sink: a sink acknowledges only once its writes reached the external system (async sinks flush in prepareSnapshotPreBarrier)",
        check: Check::Safety(sink_writes_cover_cut),
    },
    Property {
        name: "end-to-end-exactly-once",
        kind: Kind::Safety,
        description: "the external output never holds a record more often than the reference output (exactly-once mode); once the job finished it holds exactly (at-least-once: at least) the reference output",
        check: Check::Safety(end_to_end_exactly_once),
    },
    Property {
        name: "finished-tasks-stay-finished",
        kind: Kind::Safety,
        description: "a task the world saw finish in this job run, also one deployed finished from the restored checkpoint (FLIP-147), never runs, deploys or reads its input again",
        check: Check::Safety(finished_tasks_stay_finished),
    },
    Property {
        name: "no-commit-of-fenced-transaction",
        kind: Kind::Safety,
        description: "transaction identity: the external system never sees a commit of a transaction it aborted (fenced by a newer producer of its id: the data is lost, KafkaCommitter's signalFailedWithKnownReason) nor a send by a fenced producer",
        check: Check::Safety(no_commit_of_fenced_transaction),
    },
    Property {
        name: "no-lingering-transaction",
        kind: Kind::Safety,
        description: "transaction identity: once the job finished, the external system holds no ongoing transaction (an aborted attempt's transactions were aborted on restore; a lingering one blocks read-committed consumers)",
        check: Check::Safety(no_lingering_transaction),
    },
    Property {
        name: "quiescent-job-finished",
        kind: Kind::Liveness,
        description: "a state where nothing can happen any more (within the time horizon) is a finished job: no stuck alignment, no trigger that stopped",
        check: Check::Safety(quiescent_job_finished),
    },
    Property {
        name: "two-checkpoints-in-flight",
        kind: Kind::Sometimes,
        description: "two checkpoints are pending at once",
        check: Check::Sometimes {
            reached: |_, w| w.coordinator.pending.len() >= 2,
            applies: |s| s.checkpointing.max_concurrent >= 2,
        },
    },
    Property {
        name: "restore-with-newer-pending",
        kind: Kind::Sometimes,
        description: "the job restores while a checkpoint newer than the restored one is pending",
        check: Check::Sometimes {
            reached: |_, w| w.last.has(LastStep::RESTORED_WITH_NEWER_PENDING),
            applies: |s| s.faults.task_crashes > 0,
        },
    },
    Property {
        name: "barrier-overtook-records",
        kind: Kind::Sometimes,
        description: "an unaligned barrier overtakes in-flight records",
        check: Check::Sometimes {
            reached: |_, w| w.last.has(LastStep::BARRIER_OVERTOOK_RECORDS),
            applies: |s| s.checkpointing.unaligned_enabled(),
        },
    },
    Property {
        name: "alignment-timer-fired",
        kind: Kind::Sometimes,
        description: "a task's alignment timer fires and switches its aligned checkpoint to unaligned",
        check: Check::Sometimes {
            reached: |_, w| w.last.has(LastStep::ALIGNMENT_TIMER_FIRED),
            applies: |s| s.checkpointing.alignment_timeout > 0,
        },
    },
    Property {
        name: "storage-write-failed",
        kind: Kind::Sometimes,
        description: "an injected storage fault fails a checkpoint-storage write",
        check: Check::Sometimes {
            reached: |_, w| w.last.has(LastStep::STORAGE_WRITE_FAILED),
            applies: |s| s.faults.storage_failures > 0,
        },
    },
    Property {
        name: "checkpoint-subsumed",
        kind: Kind::Sometimes,
        description: "a completing checkpoint subsumes an older pending one",
        check: Check::Sometimes {
            reached: |_, w| w.last.has(LastStep::CHECKPOINT_SUBSUMED),
            applies: |s| s.checkpointing.max_concurrent >= 2,
        },
    },
    Property {
        name: "checkpoint-expired",
        kind: Kind::Sometimes,
        description: "a checkpoint expires after its timeout",
        check: Check::Sometimes {
            reached: |_, w| w.last.has(LastStep::CHECKPOINT_EXPIRED),
            applies: |s| {
                s.checkpointing
                    .interval
                    .is_some_and(|i| i + s.checkpointing.timeout <= s.bounds.time)
            },
        },
    },
    Property {
        name: "restore-not-from-first",
        kind: Kind::Sometimes,
        description: "a restore uses a checkpoint other than the first one that completed",
        check: Check::Sometimes {
            reached: |_, w| w.last.has(LastStep::RESTORED_NOT_FIRST),
            applies: |s| {
                s.faults.task_crashes + s.faults.coordinator_failovers > 0
                    && s.checkpointing.interval.is_some_and(|i| 2 * i < s.bounds.time)
            },
        },
    },
    Property {
        name: "possibly-inconsistent-write-restored",
        kind: Kind::Sometimes,
        description: "a restore reads back a checkpoint whose store add reported a failure but landed in HA storage",
        check: Check::Sometimes {
            reached: |_, w| w.last.has(LastStep::RESTORED_POSSIBLY_INCONSISTENT),
            applies: |s| {
                s.faults.possibly_inconsistent_writes > 0 && s.faults.coordinator_failovers > 0
            },
        },
    },
    Property {
        name: "leadership-lost-during-restart",
        kind: Kind::Sometimes,
        description: "the JobManager loses leadership between a restart's cancellation of the tasks and their restore",
        check: Check::Sometimes {
            reached: |_, w| w.last.has(LastStep::LEADERSHIP_LOST_DURING_RESTART),
            applies: |s| s.faults.non_atomic_restarts > 0 && s.faults.coordinator_failovers > 0,
        },
    },
    Property {
        name: "shared-file-deleted-after-subsumption",
        kind: Kind::Sometimes,
        description: "the shared-state registry deletes shared files no retained checkpoint uses any more, after an add to the store",
        check: Check::Sometimes {
            reached: |_, w| w.last.has(LastStep::SHARED_FILE_DELETED),
            applies: |s| s.checkpointing.incremental,
        },
    },
    Property {
        name: "incremental-checkpoint-reused-shared-file",
        kind: Kind::Sometimes,
        description: "a checkpoint completes that reuses a shared file an earlier checkpoint uploaded",
        check: Check::Sometimes {
            reached: |_, w| w.last.has(LastStep::REUSED_SHARED_FILE),
            applies: |s| s.checkpointing.incremental,
        },
    },
    Property {
        name: "no-claim-forced-full",
        kind: Kind::Sometimes,
        description: "after a NO_CLAIM start a FULL_CHECKPOINT is triggered (forceFullSnapshot)",
        check: Check::Sometimes {
            reached: |_, w| w.last.has(LastStep::FORCED_FULL_TRIGGERED),
            applies: |s| {
                s.checkpointing.restore_mode == ClaimMode::NoClaim
                    && s.checkpointing.start_from_retained
            },
        },
    },
    Property {
        name: "snapshot-waited-for-sends",
        kind: Kind::Sometimes,
        description: "an async sink's snapshot waits for its sends in flight, which then complete",
        check: Check::Sometimes {
            reached: |_, w| w.last.has(LastStep::SNAPSHOT_WAITED_FOR_SENDS),
            applies: has_async_sink,
        },
    },
    Property {
        name: "sends-lost-at-failure",
        kind: Kind::Sometimes,
        description: "a task fails (a crash or a fatal send failure) while an async sink's sends are in flight",
        check: Check::Sometimes {
            reached: |_, w| w.last.has(LastStep::SENDS_LOST_AT_FAILURE),
            applies: |s| has_async_sink(s) && s.faults.task_crashes + s.faults.failed_sends > 0,
        },
    },
    Property {
        name: "drained-savepoint-completed",
        kind: Kind::Sometimes,
        description: "a stop-with-savepoint with drain completes its terminating savepoint",
        check: Check::Sometimes {
            reached: |_, w| {
                w.last.has(LastStep::SAVEPOINT_COMPLETED)
                    && w.savepoint.as_ref().is_some_and(|s| s.kind.drains())
            },
            applies: |s| s.user.drain,
        },
    },
    Property {
        name: "buffer-flushed-at-end-of-input",
        kind: Kind::Sometimes,
        description: "a batch-flush operator's input ends and it emits the records it buffered",
        check: Check::Sometimes {
            reached: |_, w| w.last.has(LastStep::BUFFER_FLUSHED),
            applies: has_batch_flush,
        },
    },
    Property {
        name: "event-held-by-valve",
        kind: Kind::Sometimes,
        description: "a split source's coordinator sends an event between its checkpoint and the barrier injection, and the valve holds it",
        check: Check::Sometimes {
            reached: |_, w| w.last.has(LastStep::EVENT_HELD_BY_VALVE),
            applies: |s| s.split_source.is_some() && s.checkpointing.interval.is_some(),
        },
    },
    Property {
        name: "splits-added-back",
        kind: Kind::Sometimes,
        description: "a restore gives splits assigned after the restored checkpoint back to the enumerator (subtaskReset -> addSplitsBack)",
        check: Check::Sometimes {
            reached: |_, w| w.last.has(LastStep::SPLITS_ADDED_BACK),
            applies: |s| s.split_source.is_some() && s.faults.task_crashes > 0,
        },
    },
    Property {
        name: "lost-event-fails-reader",
        kind: Kind::Sometimes,
        description: "an operator event to a reader is lost and the reader fails over (FLINK-21996)",
        check: Check::Sometimes {
            reached: |_, w| w.last.has(LastStep::LOST_EVENT_FAILED_READER),
            applies: |s| s.split_source.is_some() && s.faults.lost_rpcs > 0,
        },
    },
    Property {
        name: "ready-to-finish-before-finished",
        kind: Kind::Sometimes,
        description: "a task is ready to finish (its mailbox closed after its final checkpoint) and has not finished yet",
        check: Check::Sometimes {
            reached: |_, w| {
                w.tasks
                    .iter()
                    .any(|t| t.status == TaskStatus::Finishing)
            },
            applies: |s| s.lifecycle.finish_steps,
        },
    },
    Property {
        name: "trigger-declined-task-closing",
        kind: Kind::Sometimes,
        description: "a trigger RPC reaches a task that is ready to finish and is declined with CHECKPOINT_DECLINED_TASK_CLOSING",
        check: Check::Sometimes {
            reached: |_, w| {
                w.rpcs.iter().any(|r| {
                    matches!(
                        r,
                        world::Rpc::Decline {
                            reason: FailureReason::CheckpointDeclinedTaskClosing,
                            ..
                        }
                    )
                })
            },
            applies: |s| s.lifecycle.finish_steps,
        },
    },
    Property {
        name: "task-redeployed",
        kind: Kind::Sometimes,
        description: "after a restore a task is deploying again while the restarted job runs",
        check: Check::Sometimes {
            reached: |_, w| {
                w.coordinator.attempt.0 > 0
                    && w.tasks.iter().any(|t| t.status == TaskStatus::Deploying)
            },
            applies: |s| s.lifecycle.deploy_steps && s.faults.task_crashes > 0,
        },
    },
    Property {
        name: "task-restored-as-finished",
        kind: Kind::Sometimes,
        description: "a restore deploys a task finished in the restored checkpoint as finished (FLIP-147)",
        check: Check::Sometimes {
            reached: |_, w| w.last.has(LastStep::RESTORED_FINISHED),
            applies: |s| s.lifecycle.deploy_steps && s.faults.task_crashes > 0,
        },
    },
    Property {
        name: "transaction-fenced",
        kind: Kind::Sometimes,
        description: "transaction identity: a newer producer's initTransactions aborts (fences) an ongoing transaction of an earlier attempt with the same transactional id",
        check: Check::Sometimes {
            reached: |_, w| w.external.broker.fenced_ongoing,
            applies: |s| s.transactions.identity && s.faults.task_crashes > 0,
        },
    },
    Property {
        name: "recommit-was-no-op",
        kind: Kind::Sometimes,
        description: "transaction identity: a restored sink's recoverAndCommit commits a transaction the external system had committed already, as a no-op (FLINK-16419's situation)",
        check: Check::Sometimes {
            reached: |_, w| w.external.broker.recommitted,
            applies: |s| s.transactions.identity && s.faults.task_crashes > 0,
        },
    },
    Property {
        name: "commit-retried",
        kind: Kind::Sometimes,
        description: "failed commits: a commit attempt the external system answered with retryLater is retried and commits (CheckpointCommittableManagerImpl.commit's retry loop)",
        check: Check::Sometimes {
            reached: |_, w| w.external.broker.retried,
            applies: |s| s.faults.failed_commits > 0 && s.transactions.commit_retries > 0,
        },
    },
    Property {
        name: "commit-gave-up",
        kind: Kind::Sometimes,
        description: "failed commits: a committer out of retries fails its task ('Failed to commit ... after N retries'), and the job recovers through recoverAndCommit",
        check: Check::Sometimes {
            reached: |_, w| w.external.broker.gave_up,
            applies: |s| s.faults.failed_commits > s.transactions.commit_retries,
        },
    },
    Property {
        name: "resumed-from-older-checkpoint",
        kind: Kind::Sometimes,
        description: "a job stopped with a savepoint is resumed from an older retained checkpoint, a new run reusing the ids after it",
        check: Check::Sometimes {
            reached: |_, w| !w.ghost.older_resumes.0.is_empty(),
            applies: |s| s.user.resume_older > 0,
        },
    },
    Property {
        name: "mark-skipped-recommit",
        kind: Kind::Sometimes,
        description: "committed mark: a committer takes a committable at or below the table's max-committed-checkpoint-id for its job id and operator as committed (a restored committable the table holds already) instead of appending it again",
        check: Check::Sometimes {
            reached: |_, w| w.external.table.skipped,
            applies: |s| {
                s.transactions.committed_mark
                    && (s.faults.task_crashes > 0 || s.user.resume_older > 0)
            },
        },
    },
    Property {
        name: "mark-kept-runs-apart",
        kind: Kind::Sometimes,
        description: "committed mark: a job resumed from an older checkpoint commits a checkpoint id at or below the mark the stopped run left for the same sink, told apart by its new job id",
        check: Check::Sometimes {
            reached: |_, w| w.external.table.kept_apart,
            applies: |s| s.transactions.committed_mark && s.user.resume_older > 0,
        },
    },
    Property {
        name: "checkpoint-spans-region-restart",
        kind: Kind::Sometimes,
        description: "region failover: a checkpoint completes that waited for tasks the last region restart restarted and for tasks that kept running through it",
        check: Check::Sometimes {
            reached: |_, w| {
                let g = &w.ghost;
                w.last.has(LastStep::CHECKPOINT_COMPLETED)
                    && g.just_completed.is_some_and(|(_, awaited)| {
                        awaited.0 & g.region_restarted.0 != 0
                            && awaited.0 & g.survived_region_restart.0 != 0
                    })
            },
            applies: |s| {
                s.failover == FailoverStrategy::Region && s.regions.len() > 1 && s.faults.task_crashes > 0
            },
        },
    },
    Property {
        name: "survivor-aborted-before-barrier",
        kind: Kind::Sometimes,
        description: "region failover: a task that kept running through a region restart receives the abort notification of a checkpoint whose barrier it has not seen (it skips that checkpoint)",
        check: Check::Sometimes {
            reached: |_, w| w.last.has(LastStep::SURVIVOR_ABORT_BEFORE_BARRIER),
            applies: |s| {
                s.failover == FailoverStrategy::Region && s.regions.len() > 1 && s.faults.task_crashes > 0
            },
        },
    },
    Property {
        name: "job-finished",
        kind: Kind::Sometimes,
        description: "the job finishes with all of its output committed",
        check: Check::Sometimes {
            reached: |_, w| w.job_done(),
            applies: |_| true,
        },
    },
];

/// The property with this name.
pub fn property(name: &str) -> Option<&'static Property> {
    PROPERTIES.iter().find(|p| p.name == name)
}

/// Checks every safety and liveness property, added ones included; the first violation wins
/// (table order, then the order added).
pub fn check_all(spec: &Spec, oracle: &Oracle, world: &World) -> Result<(), Violation> {
    for property in oracle.properties() {
        property.check(spec, oracle, world)?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Safety checks
// ---------------------------------------------------------------------------------------------

fn completed_checkpoint_consistent(spec: &Spec, _: &Oracle, world: &World) -> Result<(), String> {
    if world.last.has(LastStep::CHECKPOINT_COMPLETED) {
        if let Some(latest) = world.coordinator.store.latest() {
            check_checkpoint(spec, world, latest)?;
        }
    }
    if world.last.has(LastStep::SAVEPOINT_COMPLETED) {
        if let Some(savepoint) = &world.savepoint {
            check_checkpoint(spec, world, savepoint)?;
        }
    }
    Ok(())
}

/// The consistent-cut check of one completed checkpoint, judged in the step it completed: which
/// tasks may be missing from it and what its sinks committed come from the world.
pub fn check_checkpoint(
    spec: &Spec,
    world: &World,
    checkpoint: &CompletedCheckpoint,
) -> Result<(), String> {
    let cut = Cut::of_checkpoint(spec, world, checkpoint);
    compare_cut(spec, &cut).map_err(|detail| format!("{} {detail}", checkpoint.id))
}

/// Split ownership right after a restore, from the restored states and the live enumerator: the
/// readers' assigned and finished splits (their restored operator states) and the enumerator's
/// unassigned ones.
fn restored_splits_owned_once(spec: &Spec, _: &Oracle, world: &World) -> Result<(), String> {
    if !world.last.has(LastStep::RESTORED) {
        return Ok(());
    }
    let Some(op) = spec
        .operators
        .iter()
        .position(|o| o.kind == OperatorKind::SplitSource)
    else {
        return Ok(());
    };
    let declared = &spec.operators[op];
    let readers: Vec<TaskId> = (0..declared.parallelism)
        .map(|i| TaskId(declared.first_task.0 + i))
        .collect();
    let restored_finished = readers
        .iter()
        .any(|r| world.task(*r).status == TaskStatus::Finished);
    for split in 0..declared.splits {
        let bit = 1u16 << split;
        let mut owners: Vec<String> = Vec::new();
        if world.source_coordinator.unassigned & bit != 0 {
            owners.push("the enumerator (unassigned)".into());
        }
        for reader in &readers {
            if let OperatorState::SplitReader {
                splits, finished, ..
            } = &world.task(*reader).operator
            {
                if let Some((_, offset)) = splits.iter().find(|(s, _)| *s == split) {
                    owners.push(format!("{} (at offset {offset})", name(spec, *reader)));
                }
                if finished & bit != 0 {
                    owners.push(format!("{} (finished)", name(spec, *reader)));
                }
            }
        }
        if owners.len() > 1 {
            return Err(format!(
                "after the restore split {split} of {:?} has {} owners: {}",
                declared.name,
                owners.len(),
                owners.join(", ")
            ));
        }
        if owners.is_empty() && !restored_finished {
            return Err(format!(
                "after the restore split {split} of {:?} has no owner: neither the enumerator nor any reader has it, so it is never read",
                declared.name
            ));
        }
    }
    Ok(())
}

fn restored_state_exactly_once(spec: &Spec, _: &Oracle, world: &World) -> Result<(), String> {
    if !world.last.has(LastStep::RESTORED) {
        return Ok(());
    }
    if world.tasks.iter().any(|t| t.status == TaskStatus::Crashed) {
        // A task failed during its restore (a recoverAndCommit out of retries fails
        // `initializeState`): this restore did not bring the job up, so there is no live cut;
        // its failure report is in flight and the next restore is judged instead.
        return Ok(());
    }
    // The live cut: restored states plus the channel state now queued before live input.
    let cut = Cut::after_restore(spec, world);
    compare_cut(spec, &cut).map_err(|detail| format!("after the restore: {detail}"))?;
    // Recovered two-phase-commit sinks have committed everything their state wrote.
    if spec.exactly_once() {
        let superseded = reference::superseded(spec, world);
        for task in spec.task_ids().filter(|t| cut.judged.contains(*t)) {
            let live = world.task(task);
            if !live.is_running() {
                continue; // Finished on restore: it owns no state to compare.
            }
            if let OperatorState::TwoPhaseCommitSink { absorbed, .. } = &live.operator {
                let mut committed = written_by(world, task);
                if let Some(old) = superseded.get(task.0 as usize) {
                    // What a resume from an older checkpoint superseded is the stopped run's.
                    let (kept, _) = multiset_diff(&committed, old);
                    committed = kept;
                }
                if Digest::of(&committed) != *absorbed {
                    return Err(format!(
                        "after the restore: sink {} restored a state that wrote {} records, but the external output holds {} committed records from it {}",
                        name(spec, task),
                        absorbed.count,
                        committed.len(),
                        list(&committed)
                    ));
                }
            }
        }
    }
    Ok(())
}

/// Flink's rule for the sources in a synchronous savepoint, judged in the step it completed:
/// `SourceOperatorStreamTask` stops each source with `StopMode.DRAIN` for a terminating savepoint
/// (it ends its input, `endData(DRAIN)`, before the barrier) and with `NO_DRAIN` otherwise (its
/// input is not ended: FLINK-21132). A source that finished before the savepoint ended anyway;
/// one that exhausted its input may have ended on its own.
fn stop_with_savepoint_drain_respected(
    spec: &Spec,
    _: &Oracle,
    world: &World,
) -> Result<(), String> {
    if !world.last.has(LastStep::SAVEPOINT_COMPLETED) || !spec.tracks_end_of_input() {
        return Ok(());
    }
    let Some(savepoint) = world.savepoint.as_ref().filter(|s| s.kind.is_synchronous()) else {
        return Ok(());
    };
    let cut = Cut::of_checkpoint(spec, world, savepoint);
    let offsets = reference::cut_offsets(spec, &cut.tasks);
    let ended = reference::cut_ended(spec, &cut.tasks);
    let records: Vec<u8> = spec
        .operators
        .iter()
        .filter(|o| o.kind.is_source())
        .flat_map(|o| (0..o.parallelism).map(|_| o.records))
        .collect();
    for (number, &task) in spec.sources.iter().enumerate() {
        let (ended, offset) = (ended[number], offsets[number]);
        if savepoint.kind.drains() && !ended {
            return Err(format!(
                "{} drains, but source {} had not ended its input when it took its snapshot (at offset {offset}): the operators downstream did not flush into it",
                savepoint.id,
                name(spec, task)
            ));
        }
        if !savepoint.kind.drains() && ended && offset < records[number] {
            return Err(format!(
                "{} does not drain, but source {} ended its input at offset {offset} of {}: it stops for good where a stop without drain must be resumable",
                savepoint.id,
                name(spec, task),
                records[number]
            ));
        }
    }
    Ok(())
}

/// Compares a cut (after replaying its channel state) with the reference fold at its offsets.
fn compare_cut(spec: &Spec, cut: &Cut) -> Result<(), String> {
    let offsets = reference::cut_offsets_of(spec, cut);
    let ended = reference::cut_ended(spec, &cut.tasks);
    let expected = reference::fold_at(spec, &offsets, &ended);
    let at = || format!("at offsets {}", describe_offsets(spec, &offsets));
    let effective = reference::replay(spec, cut).map_err(|detail| format!("{}: {detail}", at()))?;
    let exactly_once = spec.exactly_once();
    for task in spec.task_ids().filter(|t| cut.judged.contains(*t)) {
        let (Some(actual), reference) = (&effective[task.0 as usize], &expected[task.0 as usize])
        else {
            continue;
        };
        compare_task(spec, task, actual, reference, exactly_once)
            .map_err(|detail| format!("{}: {detail}", at()))?;
    }
    Ok(())
}

fn compare_task(
    spec: &Spec,
    task: TaskId,
    actual: &Effective,
    reference: &ReferenceTask,
    exactly_once: bool,
) -> Result<(), String> {
    let task_name = name(spec, task);
    match spec.task(task).kind {
        OperatorKind::Source
        | OperatorKind::SplitSource
        | OperatorKind::Map
        | OperatorKind::Union => Ok(()),
        OperatorKind::KeyedAggregate => {
            let counts_ok = if exactly_once {
                actual.counts == reference.counts
            } else {
                actual
                    .counts
                    .iter()
                    .zip(&reference.counts)
                    .all(|(a, r)| a >= r)
            };
            if !counts_ok {
                return Err(format!(
                    "aggregation {task_name} counts per key are {:?}, expected {:?}",
                    actual.counts, reference.counts
                ));
            }
            check_digest(&task_name, actual, reference, exactly_once)
        }
        OperatorKind::Join => {
            for (side, got, want) in [
                ("left", &actual.left, &reference.left),
                ("right", &actual.right, &reference.right),
            ] {
                let (missing, extra) = multiset_diff(want, got);
                if !missing.is_empty() || (exactly_once && !extra.is_empty()) {
                    return Err(format!(
                        "join {task_name} {side} buffer holds {} but expected {}{}{}",
                        list(got),
                        list(want),
                        if missing.is_empty() {
                            String::new()
                        } else {
                            format!("; missing {}", list(&missing))
                        },
                        if extra.is_empty() {
                            String::new()
                        } else {
                            format!("; duplicated {}", list(&extra))
                        },
                    ));
                }
            }
            Ok(())
        }
        OperatorKind::BatchFlush => {
            let (missing, extra) = multiset_diff(&reference.buffer, &actual.buffer);
            if missing.is_empty() && (!exactly_once || extra.is_empty()) {
                return Ok(());
            }
            Err(format!(
                "batch flush {task_name} buffers {} but the reference expects {}{}{}",
                list(&actual.buffer),
                list(&reference.buffer),
                if missing.is_empty() {
                    String::new()
                } else {
                    format!("; missing {}", list(&missing))
                },
                if extra.is_empty() {
                    String::new()
                } else {
                    format!(
                        "; extra {} (emitted at the end of input, or duplicated)",
                        list(&extra)
                    )
                },
            ))
        }
        OperatorKind::TwoPhaseCommitSink
        | OperatorKind::AtLeastOnceSink
        | OperatorKind::AsyncSink => check_digest(&task_name, actual, reference, exactly_once),
    }
}

fn has_batch_flush(spec: &Spec) -> bool {
    spec.operators
        .iter()
        .any(|o| o.kind == OperatorKind::BatchFlush)
}

fn check_digest(
    task_name: &str,
    actual: &Effective,
    reference: &ReferenceTask,
    exactly_once: bool,
) -> Result<(), String> {
    let expected = Digest::of(&reference.consumed);
    let ok = if exactly_once {
        actual.digest == expected
    } else {
        actual.digest.count >= expected.count
    };
    if ok {
        return Ok(());
    }
    let what = match actual.digest.count.cmp(&expected.count) {
        std::cmp::Ordering::Less => "records are missing",
        std::cmp::Ordering::Greater => "records are duplicated",
        std::cmp::Ordering::Equal => "a record is missing and another duplicated",
    };
    Err(format!(
        "{task_name} accounts for {} records but the reference expects {} {}: {what}",
        actual.digest.count,
        expected.count,
        list(&reference.consumed)
    ))
}

/// The sink kinds whose writes reach the external output outside any transaction.
fn writes_at_least_once(kind: OperatorKind) -> bool {
    matches!(
        kind,
        OperatorKind::AtLeastOnceSink | OperatorKind::AsyncSink
    )
}

/// What the external output holds from one sink subtask, as a sorted multiset of lineages.
fn written_by(world: &World, task: TaskId) -> Vec<Lineage> {
    let mut written: Vec<Lineage> = world
        .external
        .records
        .iter()
        .filter(|(_, writer)| writer.sink == task)
        .map(|(record, _)| record.lineage)
        .collect();
    written.sort();
    written
}

fn has_async_sink(spec: &Spec) -> bool {
    spec.operators
        .iter()
        .any(|o| o.kind == OperatorKind::AsyncSink)
}

/// The at-least-once guarantee at a cut, judged from the reference and the external system,
/// never from a sink's own bookkeeping: a sink acknowledges its snapshot only once what it
/// consumed before the barrier is visible (an at-least-once sink writes synchronously; an async
/// sink's `prepareSnapshotPreBarrier` waits for its sends), so when a checkpoint completes every
/// record the reference routes to such a sink at the cut's offsets is in the external output, as
/// often, from that very subtask; and since the external system survives every failure, so it is
/// right after a restore from it. A cut with channel state is left out (records captured
/// upstream of a sink have not reached it yet; its replay is judged by the cut checks).
fn sink_writes_cover_cut(spec: &Spec, _: &Oracle, world: &World) -> Result<(), String> {
    if !spec.tasks.iter().any(|t| {
        matches!(
            t.kind,
            OperatorKind::AtLeastOnceSink | OperatorKind::AsyncSink
        )
    }) {
        return Ok(());
    }
    let mut cuts: Vec<(String, Cut)> = Vec::new();
    if world.last.has(LastStep::CHECKPOINT_COMPLETED) {
        if let Some(latest) = world.coordinator.store.latest() {
            cuts.push((
                format!("{} completed", latest.id),
                Cut::of_checkpoint(spec, world, latest),
            ));
        }
    }
    if world.last.has(LastStep::SAVEPOINT_COMPLETED) {
        if let Some(savepoint) = &world.savepoint {
            cuts.push((
                format!("{} completed", savepoint.id),
                Cut::of_checkpoint(spec, world, savepoint),
            ));
        }
    }
    if world.last.has(LastStep::RESTORED) {
        cuts.push(("after the restore".into(), Cut::after_restore(spec, world)));
    }
    for (when, cut) in cuts {
        let judged = |task: TaskId| cut.judged.contains(task);
        if (0..cut.tasks.len())
            .any(|t| judged(TaskId(t as u8)) && !cut.tasks[t].channel_state.is_empty())
        {
            continue;
        }
        let offsets = reference::cut_offsets_of(spec, &cut);
        let ended = reference::cut_ended(spec, &cut.tasks);
        let expected = reference::fold_at(spec, &offsets, &ended);
        for task in spec.task_ids() {
            if !writes_at_least_once(spec.task(task).kind) || !judged(task) {
                continue;
            }
            let written = written_by(world, task);
            let want = &expected[task.0 as usize].consumed;
            let (missing, _) = multiset_diff(want, &written);
            if !missing.is_empty() {
                return Err(format!(
                    "{when}: at offsets {} the reference routes {} to sink {}, but the external output lacks {} from it (it holds {})",
                    describe_offsets(spec, &offsets),
                    list(want),
                    name(spec, task),
                    list(&missing),
                    list(&written)
                ));
            }
        }
    }
    Ok(())
}

/// Judged from the external system's record alone (the broker's flags), never from the sinks.
fn no_commit_of_fenced_transaction(_: &Spec, _: &Oracle, world: &World) -> Result<(), String> {
    let broker = &world.external.broker;
    if broker.fenced_commit {
        return Err("a commit reached a transaction the external system had aborted (fenced): its records are lost".into());
    }
    if broker.fenced_send {
        return Err("a fenced producer sent a record into a transaction".into());
    }
    Ok(())
}

/// Judged from the external system's record: once the job finished nothing may be ongoing.
fn no_lingering_transaction(_: &Spec, _: &Oracle, world: &World) -> Result<(), String> {
    if !world.job_done() {
        return Ok(());
    }
    let lingering: Vec<String> = world
        .external
        .broker
        .txns
        .iter()
        .filter(|t| t.state == crate::system::world::TxnState::Ongoing)
        .map(|t| {
            format!(
                "sink {} transactional id {} epoch {} ({} records)",
                t.sink.0,
                t.id.name,
                t.id.epoch,
                t.records.len()
            )
        })
        .collect();
    if lingering.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "the job finished but the external system holds ongoing transactions: {}",
            lingering.join(", ")
        ))
    }
}

fn end_to_end_exactly_once(spec: &Spec, oracle: &Oracle, world: &World) -> Result<(), String> {
    // Values: each output record carries the value the reference computes for its lineage
    // (lineages alone would let a map or join that computes the wrong value pass).
    for (record, writer) in &world.external.records {
        if let Some(values) = oracle.output_values.expected(writer.sink, record.lineage) {
            if !values.contains(&Some(record.value)) {
                let expected: Vec<String> =
                    values.iter().flatten().map(|v| v.to_string()).collect();
                return Err(format!(
                    "the external output holds {} with value {} (written by {}); the reference gives {}",
                    record.lineage,
                    record.value,
                    name(spec, writer.sink),
                    expected.join(" or ")
                ));
            }
        }
    }
    let mut output: Vec<Lineage> = world
        .external
        .records
        .iter()
        .map(|(r, _)| r.lineage)
        .collect();
    output.sort();
    let expected = oracle.expected_output(spec, world);
    let (missing, extra) = multiset_diff(&expected, &output);
    if spec.exactly_once() && !extra.is_empty() {
        let places: Vec<String> = extra
            .iter()
            .map(|lineage| {
                let writers: Vec<String> = world
                    .external
                    .records
                    .iter()
                    .filter(|(r, _)| r.lineage == *lineage)
                    .map(|(_, w)| match w.transaction {
                        Some(t) => format!("{} txn {t}", name(spec, w.sink)),
                        None => name(spec, w.sink),
                    })
                    .collect();
                format!("{lineage} (written by {})", writers.join(", "))
            })
            .collect();
        return Err(format!(
            "the external output holds duplicates: {}",
            places.join("; ")
        ));
    }
    if world.job_done() && !missing.is_empty() {
        return Err(format!(
            "the job finished but the external output lacks {} (it holds {} of {} expected records{})",
            list(&missing),
            output.len(),
            expected.len(),
            if world.ghost.drained.is_some() {
                ", the output at the drained savepoint"
            } else {
                ""
            }
        ));
    }
    // A keyed aggregate's running counts: once the output is complete, exactly once, each key's
    // values are 1..=n (its records' arrival order is free, the counts are not).
    if spec.exactly_once() && world.job_done() && missing.is_empty() {
        let written = world.external.records.iter().map(|(r, w)| (w.sink, r));
        if let Some((sink, key, values)) = oracle.output_values.miscounted(spec, written) {
            let values: Vec<String> = values.iter().map(|v| v.to_string()).collect();
            return Err(format!(
                "the job finished but the counts sink `{}` wrote for key {key} are [{}], not 1 to {}",
                spec.operators[sink].name,
                values.join(", "),
                values.len()
            ));
        }
    }
    Ok(())
}

fn checkpoint_ids_increase(_: &Spec, _: &Oracle, world: &World) -> Result<(), String> {
    if world.last.has(LastStep::ID_REUSED) {
        return Err(format!(
            "a checkpoint id was allocated again: the highest id so far is {} and the coordinator's counter is at {}",
            world.ghost.highest_allocated, world.coordinator.next_id
        ));
    }
    Ok(())
}

/// The tasks a completed checkpoint had to hear from come from the world (every task but those
/// it saw finish before the checkpoint was allocated, `ghost.awaited`), not from the
/// coordinator's plan, so a plan that leaves a running task out is caught at completion.
fn completed_has_every_ack(spec: &Spec, _: &Oracle, world: &World) -> Result<(), String> {
    let Some((id, awaited)) = world.ghost.just_completed else {
        return Ok(());
    };
    let completed = world
        .coordinator
        .store
        .entries
        .iter()
        .chain(world.savepoint.as_ref())
        .find(|c| c.id == id);
    let Some(checkpoint) = completed else {
        return Ok(()); // Subsumed out of the store in the same step: judged by the cut checks.
    };
    let acked = checkpoint.acknowledged();
    let missing: Vec<String> = awaited
        .iter()
        .filter(|t| !acked.contains(*t))
        .map(|t| name(spec, t))
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "{} completed without an acknowledgement from {}",
            checkpoint.id,
            missing.join(", ")
        ));
    }
    Ok(())
}

fn no_commit_before_complete(spec: &Spec, _: &Oracle, world: &World) -> Result<(), String> {
    let max_completed = world.ghost.max_completed;
    for (sink, transaction) in &world.external.committed {
        if *transaction > max_completed {
            return Err(format!(
                "sink {} committed the transaction of {transaction} but the newest completed checkpoint is {}",
                name(spec, *sink),
                if max_completed.is_none() { "none".to_string() } else { max_completed.to_string() }
            ));
        }
    }
    Ok(())
}

/// Flink 2.3's plan calculator fails an attempt while any task it would wait for is not RUNNING
/// in the JobManager's view, and that view only turns RUNNING after the task itself did. Judged
/// with the world's records, not the coordinator's plan: the tasks each pending checkpoint must
/// hear from (`ghost.awaited`) and each task's own status.
fn planned_with_tasks_running(spec: &Spec, _: &Oracle, world: &World) -> Result<(), String> {
    for (id, awaited) in &world.ghost.awaited {
        if world.coordinator.pending(*id).is_none() {
            continue;
        }
        for task in awaited.iter() {
            if world.task(task).status == TaskStatus::Deploying {
                return Err(format!(
                    "checkpoint {id} is pending and waits for {}, which is still deploying",
                    world::describe::task_name(spec, task)
                ));
            }
        }
    }
    Ok(())
}

/// Judged from the world's record of the tasks it saw finish in the current job run
/// (`ghost.finished`: reset by a restore to the tasks deployed finished) and each task's status.
fn finished_tasks_stay_finished(spec: &Spec, _: &Oracle, world: &World) -> Result<(), String> {
    for task in world.ghost.finished.iter() {
        let status = world.task(task).status;
        if matches!(
            status,
            TaskStatus::Running | TaskStatus::Deploying | TaskStatus::Finishing
        ) {
            return Err(format!(
                "{} finished in this job run but is {status:?} again",
                world::describe::task_name(spec, task)
            ));
        }
    }
    Ok(())
}

fn pending_within_max_concurrent(spec: &Spec, _: &Oracle, world: &World) -> Result<(), String> {
    // The oracle's own statement of the rule, not the coordinator's helper: a savepoint may
    // exceed the limit exactly when unaligned checkpoints are off (reference §1.3, §6.1).
    let forced_savepoints = spec.checkpointing.mode != CheckpointMode::Unaligned;
    let non_forced = world
        .coordinator
        .pending
        .iter()
        .filter(|p| !(p.kind().is_savepoint() && forced_savepoints))
        .count();
    if non_forced > spec.checkpointing.max_concurrent as usize {
        return Err(format!(
            "{non_forced} non-forced checkpoints are pending, max_concurrent is {}",
            spec.checkpointing.max_concurrent
        ));
    }
    Ok(())
}

fn request_order_respected(_: &Spec, _: &Oracle, world: &World) -> Result<(), String> {
    if world.last.has(LastStep::REQUEST_OUT_OF_ORDER) {
        return Err(format!(
            "a trigger request left the queue while one that Flink's order puts first stayed queued ({})",
            describe_queue(world)
        ));
    }
    Ok(())
}

fn refused_only_when_full(_: &Spec, _: &Oracle, world: &World) -> Result<(), String> {
    if world.last.has(LastStep::REFUSED_BELOW_CAPACITY) {
        return Err(format!(
            "a trigger request was refused as TOO_MANY_CHECKPOINT_REQUESTS with fewer than {} requests queued ({})",
            crate::system::world::ghost::FLINK_MAX_QUEUED_REQUESTS,
            describe_queue(world)
        ));
    }
    Ok(())
}

fn min_pause_respected(spec: &Spec, _: &Oracle, world: &World) -> Result<(), String> {
    if world.last.has(LastStep::MIN_PAUSE_MISAPPLIED) {
        let pause_ends = world
            .ghost
            .last_completed_at
            .saturating_add(spec.checkpointing.min_pause);
        return Err(format!(
            "a request was dropped for the minimum pause against Flink's rule at t={}: the last completion was at t={}, the pause ends at t={pause_ends}, the periodic trigger is due at {} ({})",
            world.now,
            world.ghost.last_completed_at,
            world
                .coordinator
                .periodic_due
                .map_or("never".to_string(), |due| format!("t={due}")),
            describe_queue(world)
        ));
    }
    Ok(())
}

/// The request queue as the violation messages show it.
fn describe_queue(world: &World) -> String {
    let queue = &world.coordinator.queue.requests;
    if queue.is_empty() {
        return "the queue is now empty".into();
    }
    let entries: Vec<String> = queue
        .iter()
        .map(|r| {
            format!(
                "{}{}{} created t={}",
                format!("{:?}", r.kind).to_lowercase(),
                if r.periodic { " periodic" } else { "" },
                if r.forced { " forced" } else { "" },
                r.created
            )
        })
        .collect();
    format!("still queued: {}", entries.join(", "))
}

fn abort_notified_at_most_once(_: &Spec, _: &Oracle, world: &World) -> Result<(), String> {
    if world.last.has(LastStep::ABORT_NOTIFIED_TWICE) {
        return Err("a task was sent a second abort notification for the same checkpoint".into());
    }
    if world.last.has(LastStep::ABORTED_TWICE) {
        return Err("a checkpoint id was aborted (and its abort notified) a second time".into());
    }
    Ok(())
}

fn savepoint_never_subsumed(_: &Spec, _: &Oracle, world: &World) -> Result<(), String> {
    if world.last.has(LastStep::SAVEPOINT_SUBSUMED) {
        return Err("a pending savepoint was aborted as subsumed".into());
    }
    Ok(())
}

fn tolerable_failures_respected(spec: &Spec, _: &Oracle, world: &World) -> Result<(), String> {
    let tolerance = match spec.checkpointing.tolerable_failures {
        Some(n) => n.to_string(),
        None => "unlimited".to_string(),
    };
    if world.last.has(LastStep::FAILOVER_WITHOUT_CAUSE) {
        return Err(format!(
            "the failure manager failed the job over although no more than {tolerance} distinct counted failures happened since the last success"
        ));
    }
    if world.last.has(LastStep::FAILOVER_MISSING) {
        return Err(format!(
            "more than {tolerance} distinct counted checkpoint failures happened since the last success but the job did not fail over"
        ));
    }
    Ok(())
}

/// The world's observation of causes (`ghost.rs`) against what happened: the class "the job
/// fails for no reason" (failing on an obsolete barrier or notification, a re-commit, a restart
/// loop) is visible in both explorers.
fn no_spurious_failure(_: &Spec, _: &Oracle, world: &World) -> Result<(), String> {
    if world.last.has(LastStep::SPURIOUS_FAILURE) {
        return Err(
            "a task failed or the job failed over without an injected fault, an exceeded failure budget, an aborted synchronous savepoint, a JobManager failover or a resume".into(),
        );
    }
    Ok(())
}

fn periodic_trigger_armed(spec: &Spec, _: &Oracle, world: &World) -> Result<(), String> {
    let c = &world.coordinator;
    // Tasks deploying as steps of their own (`lifecycle.deploy_steps`): Flink 2.3's scheduler
    // starts at the first RUNNING report the JobManager receives (its execution-tracking
    // activator stopped it when the executions went SCHEDULED).
    let awaiting_first_running_report =
        spec.lifecycle.deploy_steps && c.reported_running.is_empty();
    // A parked restart is Flink's RESTARTING: the job is not running then.
    if c.job == JobStatus::Running
        && !awaiting_first_running_report
        && c.parked_restart.is_none()
        && spec.checkpointing.interval.is_some()
        && (!c.periodic_scheduling || c.periodic_due.is_none())
    {
        return Err("the job is running but the periodic checkpoint trigger is not armed".into());
    }
    Ok(())
}

/// Reads checkpoint storage as the world recorded it (`World::files`): which checkpoints' files
/// were deleted, and by whom.
fn restored_checkpoint_intact(_: &Spec, _: &Oracle, world: &World) -> Result<(), String> {
    let deleted = world.files.discarded();
    if world.last.has(LastStep::RESTORED_DISCARDED) {
        return Err(format!(
            "the job was restored from a checkpoint whose state files were deleted (deleted: {deleted:?})"
        ));
    }
    for checkpoint in world.coordinator.store.in_ha_storage() {
        if let Some(by) = world.files.discarded_by(checkpoint.id) {
            return Err(format!(
                "HA storage retains checkpoint {} but its state files were deleted ({by:?}): a recovery would restore it",
                checkpoint.id
            ));
        }
    }
    if world.files.shared_deletions().is_empty() {
        return Ok(());
    }
    // Shared files: the user's NO_CLAIM snapshot must stay whole.
    if let Some(file) = world
        .files
        .unclaimed
        .iter()
        .find(|f| world.files.shared_deleted(**f))
    {
        return Err(format!(
            "the job deleted shared file {file} of the snapshot it started from in NO_CLAIM mode: that snapshot is the user's"
        ));
    }
    // The store's checkpoints and the latest in HA storage (what a recovery restores). An older
    // checkpoint that is only in HA storage (a possibly inconsistent add this leader never saw)
    // is not protected by this leader's registry, as in Flink; it is never the one restored.
    let store = &world.coordinator.store;
    let latest_in_ha = store.in_ha_storage().max_by_key(|c| c.id);
    for checkpoint in store.entries.iter().chain(latest_in_ha) {
        for (task, snapshot) in &checkpoint.snapshots {
            if let Some(file) = snapshot
                .shared
                .iter()
                .find(|f| world.files.shared_deleted(**f))
            {
                return Err(format!(
                    "checkpoint {} (task {}) references shared file {file}, which was deleted: a recovery would restore it",
                    checkpoint.id, task.0
                ));
            }
        }
    }
    Ok(())
}

/// Reads the files the world recorded for the NO_CLAIM snapshot and the checkpoints' own
/// metadata (the files each snapshot references).
fn no_claim_snapshot_not_referenced(_: &Spec, _: &Oracle, world: &World) -> Result<(), String> {
    let unclaimed = &world.files.unclaimed;
    if unclaimed.is_empty() {
        return Ok(());
    }
    for checkpoint in world.coordinator.store.in_ha_storage() {
        if checkpoint.id == RETAINED_CHECKPOINT {
            continue;
        }
        for (task, snapshot) in &checkpoint.snapshots {
            if let Some(file) = snapshot.shared.iter().find(|f| unclaimed.contains(f)) {
                return Err(format!(
                    "checkpoint {} (task {}) references shared file {file} of the snapshot the job started from in NO_CLAIM mode",
                    checkpoint.id, task.0
                ));
            }
        }
    }
    Ok(())
}

fn trigger_flag_released(_: &Spec, _: &Oracle, world: &World) -> Result<(), String> {
    let c = &world.coordinator;
    if c.is_triggering && c.coordinator_snapshot.is_none() {
        return Err(format!(
            "isTriggering is set but no trigger request is in progress ({} queued requests wait behind it)",
            c.queue.len()
        ));
    }
    Ok(())
}

fn cancellation_releases_alignment(spec: &Spec, _: &Oracle, world: &World) -> Result<(), String> {
    let Some((task, id)) = world.last.cancellation() else {
        return Ok(());
    };
    let live = world.task(task);
    if !live.is_running() {
        return Ok(());
    }
    let stuck = match &live.handler {
        BarrierHandler::Single(h) => h.is_pending() && h.current_id <= id,
        // The tracker's single-channel fast path leaves older entries alone (Flink does too);
        // the cancelled checkpoint itself must be released.
        BarrierHandler::Tracker(t) => t.pending.iter().any(|e| e.id == id && !e.aborted),
    };
    if stuck {
        return Err(format!(
            "task {} consumed the cancellation marker of {id} but is still aligning for it (blocked inputs {:?})",
            name(spec, task),
            live.handler.blocked()
        ));
    }
    Ok(())
}

fn quiescent_job_finished(spec: &Spec, _: &Oracle, world: &World) -> Result<(), String> {
    if world.job_done() || !world::is_quiescent(spec, world) {
        return Ok(());
    }
    if !world.timers(spec).is_empty() {
        return Ok(()); // Only timers beyond the time horizon remain: not a verdict.
    }
    // Name what is still there (nothing of it can move): unfinished subtasks with their status,
    // events stuck in channels, RPCs that cannot be delivered, pending checkpoints; and if there
    // is nothing at all, say that the coordinator never declared the job finished.
    let mut still = Vec::new();
    let mut finished = Vec::new();
    for task in spec.task_ids() {
        let live = world.task(task);
        if live.status == crate::system::task::TaskStatus::Finished {
            finished.push(name(spec, task));
            continue;
        }
        let blocked = live.handler.blocked();
        still.push(format!(
            "{} {:?}{}{}",
            name(spec, task),
            live.status,
            if blocked.is_empty() {
                String::new()
            } else {
                format!(" blocked inputs {blocked:?}")
            },
            if live.end_of_data {
                " at end of data"
            } else {
                ""
            },
        ));
    }
    for channel in spec.channel_ids() {
        let events = world.channels[channel.0 as usize].len();
        if events > 0 {
            let edge = spec.channel(channel);
            still.push(format!(
                "{events} events stuck on {} -> {}",
                name(spec, edge.from),
                name(spec, edge.to)
            ));
        }
    }
    for rpc in &world.rpcs {
        still.push(format!(
            "undeliverable RPC {}",
            world::describe::describe_rpc(spec, &rpc.key())
        ));
    }
    for pending in &world.coordinator.pending {
        still.push(format!("checkpoint {} pending", pending.id));
    }
    let mut detail = format!(
        "nothing can happen any more but the job has not finished (job {:?}):",
        world.coordinator.job
    );
    if still.is_empty() {
        let _ = write!(
            detail,
            " nothing is left running: every subtask finished and no event, RPC or checkpoint is left, yet the coordinator never declared the job finished"
        );
    } else {
        let _ = write!(detail, " still running: {}", still.join("; "));
        if !finished.is_empty() {
            let _ = write!(detail, "; finished: {}", finished.join(", "));
        }
    }
    Err(detail)
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

fn name(spec: &Spec, task: TaskId) -> String {
    format!("`{}`", spec.task(task).name)
}

fn describe_offsets(spec: &Spec, offsets: &[u8]) -> String {
    let mut parts: Vec<String> = spec
        .sources
        .iter()
        .zip(offsets)
        .map(|(source, offset)| format!("{}={offset}", spec.task(*source).name))
        .collect();
    if let Some(op) = spec
        .operators
        .iter()
        .find(|o| o.kind == OperatorKind::SplitSource)
    {
        let splits = offsets.iter().skip(spec.sources.len());
        for (split, offset) in splits.enumerate() {
            parts.push(format!("{}/split{split}={offset}", op.name));
        }
    }
    format!("{{{}}}", parts.join(", "))
}

/// (in `expected` but not `actual`, in `actual` but not `expected`), both sorted multisets.
pub fn multiset_diff(expected: &[Lineage], actual: &[Lineage]) -> (Vec<Lineage>, Vec<Lineage>) {
    let (mut missing, mut extra) = (Vec::new(), Vec::new());
    let (mut i, mut j) = (0, 0);
    while i < expected.len() || j < actual.len() {
        match (expected.get(i), actual.get(j)) {
            (Some(e), Some(a)) if e == a => {
                i += 1;
                j += 1;
            }
            (Some(e), Some(a)) if e < a => {
                missing.push(*e);
                i += 1;
            }
            (Some(_), Some(a)) => {
                extra.push(*a);
                j += 1;
            }
            (Some(e), None) => {
                missing.push(*e);
                i += 1;
            }
            (None, Some(a)) => {
                extra.push(*a);
                j += 1;
            }
            (None, None) => break,
        }
    }
    (missing, extra)
}

fn list(lineages: &[Lineage]) -> String {
    let items: Vec<String> = lineages.iter().map(|l| l.to_string()).collect();
    format!("[{}]", items.join(", "))
}

/// What the external output holds against what the reference expects, for reports: the
/// records missing, and those held more often than expected with every place that wrote them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutputEvidence {
    /// The reference output once every record is processed.
    pub expected: Vec<Lineage>,
    /// What the external output holds, with who wrote each record ("sink txn cp3").
    pub actual: Vec<(Lineage, String)>,
    /// Records never written. Only judged once the job finished (`None` before: a record not
    /// written yet may simply not have been emitted yet).
    pub missing: Option<Vec<Lineage>>,
    /// Records written more often than the reference allows (judged at any time).
    pub duplicated: Vec<(Lineage, Vec<String>)>,
}

/// The output evidence of a world.
pub fn output_evidence(spec: &Spec, oracle: &Oracle, world: &World) -> OutputEvidence {
    let writer = |w: &crate::system::world::Writer| match w.transaction {
        Some(t) => format!("{} txn {t}", spec.task(w.sink).name),
        None => spec.task(w.sink).name.clone(),
    };
    let actual: Vec<(Lineage, String)> = world
        .external
        .records
        .iter()
        .map(|(r, w)| (r.lineage, writer(w)))
        .collect();
    let mut lineages: Vec<Lineage> = actual.iter().map(|(l, _)| *l).collect();
    lineages.sort();
    let expected = oracle.expected_output(spec, world);
    let (missing, extra) = multiset_diff(&expected, &lineages);
    let mut duplicated: Vec<(Lineage, Vec<String>)> = Vec::new();
    for lineage in extra {
        if duplicated.iter().any(|(l, _)| *l == lineage) {
            continue;
        }
        let writers = actual
            .iter()
            .filter(|(l, _)| *l == lineage)
            .map(|(_, w)| w.clone())
            .collect();
        duplicated.push((lineage, writers));
    }
    OutputEvidence {
        expected: expected.into_owned(),
        actual,
        missing: world.job_done().then_some(missing),
        duplicated,
    }
}
