//! The catalogue of injectable checkpointing bugs.
//!
//! Each bug is one clearly marked decision (`spec.has_bug(Bug::X)`) at the exact place where the
//! correct rule is applied; with no bug switched on the code runs the faithful rule. A bug is
//! switched on from the CLI (`--bug NAME`, repeatable) or a model file (`bugs = [...]`).

use std::fmt;

macro_rules! bugs {
    ($( $variant:ident = $name:literal, $layer:literal, $origin:literal, $what:literal, $history:literal,
        $model:literal, $invariant:literal, $check:expr; )*) => {
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

            /// How the bug relates to Flink's history: the ticket's problem and fix, and whether
            /// this is the same bug or a variant (evidence gathered from Flink's pull requests,
            /// changelogs and source comments).
            pub fn history(self) -> &'static str {
                match self { $( Bug::$variant => $history, )* }
            }

            /// Where the bug shows and what must catch it.
            pub fn showcase(self) -> Showcase {
                match self { $( Bug::$variant => Showcase {
                    model: $model,
                    invariant: $invariant,
                    check: $check,
                }, )* }
            }

            pub fn from_name(name: &str) -> Option<Bug> {
                Bug::ALL.iter().copied().find(|bug| bug.name() == name)
            }
        }
    };
}

/// How the model checker looks for a bug in its showcase model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CheckPlan {
    /// Breadth-first (short counterexamples near the start) or depth-first (deep ones).
    pub breadth_first: bool,
    /// Generated states the search may spend.
    pub max_states: usize,
    /// The search runs on the model's small instance (`MODEL@small`): the bug lies deeper than
    /// the full model's search reaches in `check`'s default 60 s, within the instance's bounds.
    pub small_instance: bool,
}

const fn dfs(max_states: usize) -> Result<CheckPlan, &'static str> {
    Ok(CheckPlan {
        breadth_first: false,
        max_states,
        small_instance: false,
    })
}

const fn bfs(max_states: usize) -> Result<CheckPlan, &'static str> {
    Ok(CheckPlan {
        breadth_first: true,
        max_states,
        small_instance: false,
    })
}

/// A plan on the model's small instance.
const fn on_small_instance(
    plan: Result<CheckPlan, &'static str>,
) -> Result<CheckPlan, &'static str> {
    match plan {
        Ok(plan) => Ok(CheckPlan {
            small_instance: true,
            ..plan
        }),
        Err(why) => Err(why),
    }
}

/// The embedded model a bug shows on, the invariant it must violate, and the model checker's
/// plan (or why the model checker does not look for it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Showcase {
    pub model: &'static str,
    /// The expected invariant; `a|b` when one root cause legitimately shows as either, depending
    /// on the schedule (a state can violate several properties; the first in table order is
    /// reported).
    pub invariant: &'static str,
    pub check: Result<CheckPlan, &'static str>,
}

impl Showcase {
    /// Whether a run that violated `invariant` caught the bug as expected.
    pub fn accepts(&self, invariant: &str) -> bool {
        self.invariant.split('|').any(|i| i == invariant)
    }

    /// The main expected invariant.
    pub fn primary(&self) -> &'static str {
        self.invariant.split('|').next().unwrap_or(self.invariant)
    }
}

bugs! {
    CompleteWithMissingAck = "complete-with-missing-ack", "coordinator", "textbook",
        "a pending checkpoint completes when all but one task acknowledged it",
        "No Flink ticket describes this exact bug; PendingCheckpoint treats finalizing with missing acks as an IllegalState.",
        "keyed-join-2pc", "completed-has-every-ack", dfs(2_000_000);
    RestoreSubsumedCheckpoint = "restore-subsumed-checkpoint", "coordinator", "FLINK-14145",
        "failover restores the oldest retained checkpoint instead of the latest",
        "Variant: in FLINK-14145 getLatestCheckpoint(preferCheckpoints) walked back from the end without checking the last entry, so recovery got an older checkpoint than the latest (fix: return the true latest, stepping back only past savepoints; apache/flink#9727).",
        "retained-checkpoints", "restored-state-exactly-once", bfs(3_000_000);
    RestorePendingCheckpoint = "restore-pending-checkpoint", "coordinator", "textbook",
        "failover restores the newest pending checkpoint's partial acknowledgements",
        "No Flink ticket found; recovery must only use the completed-checkpoint store.",
        "retained-checkpoints", "restored-state-exactly-once|no-commit-before-complete", bfs(3_000_000);
    LateCheckpointBecomesLatest = "late-checkpoint-becomes-latest", "coordinator", "textbook",
        "completion does not subsume older pending checkpoints, so a late older one becomes the latest in the store",
        "No Flink ticket found for this mechanism; CheckpointCoordinator.completePendingCheckpoint drops the older pending checkpoints (dropSubsumedCheckpoints), so an older one can never complete after a newer one. Formerly cited FLINK-6284, which has the same symptom (the store's 'latest' is not the newest checkpoint) by a different mechanism: ZooKeeperCompletedCheckpointStore sorted checkpoint nodes by name, so after recovery the order was lexicographic (fix: zero-padded paths, apache/flink#3884).",
        "retained-checkpoints", "restored-state-exactly-once", bfs(3_000_000);
    SubsumeSavepoint = "subsume-savepoint", "coordinator", "textbook",
        "completing a checkpoint also subsumes (aborts) pending savepoints",
        "No Flink ticket found; PendingCheckpoint asserts that a savepoint is never aborted as subsumed.",
        "savepoints-2pc", "savepoint-never-subsumed", dfs(2_000_000);
    ReuseCheckpointIds = "reuse-checkpoint-ids", "coordinator", "textbook",
        "the checkpoint id counter is not persisted, so a coordinator failover restarts ids at 1",
        "No exact Flink ticket found; the HA checkpoint id counter exists so that ids survive leader changes.",
        "coordinator-faults", "checkpoint-ids-increase", bfs(1_000_000);
    MiscountTolerableFailures = "miscount-tolerable-failures", "coordinator", "FLINK-18336",
        "the failure manager counts the same checkpoint id on every report and ignores the last success",
        "Match: FLINK-18336 'CheckpointFailureManager forgets failed checkpoints after a successful one' counted failures of already-seen or older checkpoints again (fix: lastSucceededCheckpointId and per-id de-duplication, apache/flink#12751).",
        "coordinator-faults", "tolerable-failures-respected", dfs(1_000_000);
    PeriodicTriggerNotRearmed = "periodic-trigger-not-rearmed", "coordinator", "FLINK-13256",
        "a periodic request dropped for the minimum pause does not re-arm the periodic timer",
        "Variant: FLINK-13256 'Periodical checkpointing is stopped after failovers': aborting pending checkpoints on a region failover left the cancelled periodic trigger never re-established (fix: re-create the trigger, apache/flink#9128). Same defect (a path that takes the periodic trigger away never re-arms it), different path: here the minimum pause drops the periodic request and rescheduleTrigger is skipped.",
        "coordinator-faults", "periodic-trigger-armed", dfs(1_000_000);
    TriggeringFlagStuck = "triggering-flag-stuck", "coordinator", "FLINK-26394",
        "an abort during the trigger phase leaves isTriggering set, so no later checkpoint starts",
        "Match: FLINK-26394 'CheckpointCoordinator.isTriggering can not be reset in a particular case': a checkpoint expiring while its trigger was queued left the flag set and the job could never checkpoint again (fix: cancel the trigger future on abort, apache/flink#18956).",
        "short-timeout", "trigger-flag-released", dfs(1_000_000);
    MaxConcurrentOffByOne = "max-concurrent-off-by-one", "coordinator", "textbook",
        "the request decider lets a non-forced request run when max_concurrent checkpoints are already pending (`pending > max_concurrent`)",
        "No Flink ticket: the off-by-one a new user tried against the README's main command, which the default model alone could not see (two checkpoints at most); `verify`'s sweeps over every model catch it.",
        "linear", "pending-within-max-concurrent", dfs(1_000_000);
    AbortNotifiedTwice = "abort-notified-twice", "coordinator", "textbook",
        "an aborted checkpoint's abort notifications go out twice to every task, with one Aborted event",
        "No Flink ticket: the broken variant that `abort-notified-at-most-once` missed while it counted the coordinator's Aborted events instead of the notifications actually sent.",
        "short-timeout", "abort-notified-at-most-once", dfs(1_000_000);
    RequestOrderFifo = "request-order-fifo", "coordinator", "textbook",
        "queued trigger requests run in submission order, ignoring Flink's priorities (savepoints first, then forced, then user before periodic)",
        "No Flink ticket: the canary of `request-order-respected`, which the request decider's order needed before any invariant stated it (mutation testing of `verify` found it unjudged).",
        "savepoints-2pc", "request-order-respected", dfs(1_000_000);
    RefuseBehindUserRequest = "refuse-behind-user-request", "coordinator", "textbook",
        "a new trigger request is refused as TOO_MANY_CHECKPOINT_REQUESTS whenever the lowest queued request is not periodic, whatever the queue's length",
        "No Flink ticket: the capacity test of CheckpointRequestDecider.submit inverted; the canary of `refused-only-when-full`.",
        "retained-checkpoints", "refused-only-when-full", dfs(1_000_000);
    MinPauseDropsUserRequests = "min-pause-drops-user-requests", "coordinator", "textbook",
        "a user's checkpoint request inside the minimum pause is dropped like a periodic one",
        "No Flink ticket: Flink drops only non-forced periodic requests for the pause (CheckpointRequestDecider.chooseRequestToExecute); the canary of `min-pause-respected`.",
        "coordinator-faults", "min-pause-respected|request-order-respected", dfs(2_000_000);
    EndOfDataCheckpointWhileStopping = "end-of-data-checkpoint-while-stopping", "coordinator", "flink-2.3",
        "once every task reported end of data, the coordinator requests a checkpoint even while a stop-with-savepoint is in flight",
        "Not a known ticket: Flink 2.3's own rule (SchedulerBase.notifyEndOfData requests the checkpoint whatever the job is doing), found by conformance with the real coordinator (savepoints-2pc seed 19) and kept out of the model on purpose. With this model's tasks, which follow StreamTask.notifyCheckpointComplete, that checkpoint completing before the synchronous savepoint makes every task ignore the savepoint's completion, and the stop never finishes; unconfirmed against Flink's task side.",
        "savepoints-2pc", "healed-run-finishes", bfs(1_000_000);
    NoBlockAfterBarrier = "no-block-after-barrier", "task", "textbook",
        "aligned mode keeps consuming a channel after its barrier arrived",
        "No Flink ticket found; blocking the channel is what makes an aligned snapshot a consistent cut.",
        "keyed-join-2pc", "completed-checkpoint-consistent", dfs(2_000_000);
    SnapshotBeforeAllBarriers = "snapshot-before-all-barriers", "task", "textbook",
        "an aligned task snapshots when all but one channel delivered the barrier",
        "No verified Flink ticket (FLINK-2301 'In BarrierBuffer newer Barriers trigger old Checkpoints' is related by title only).",
        "keyed-join-2pc", "completed-checkpoint-consistent", dfs(2_000_000);
    ForwardBarrierBeforeSnapshot = "forward-barrier-before-snapshot", "task", "textbook",
        "an aligned task forwards the barrier at the first barrier, before aligning and snapshotting",
        "No Flink ticket; Flink forwards the barrier just before the snapshot on purpose (FLINK-2846), but atomically, with nothing processed in between. The bug processes records in between.",
        "keyed-join-2pc", "completed-checkpoint-consistent", dfs(2_000_000);
    ObsoleteBarrierCounted = "obsolete-barrier-counted", "task", "FLINK-21104",
        "a barrier of an older, aborted checkpoint counts toward the alignment of the current one",
        "Variant: FLINK-21104/FLINK-20654 - input channels mishandled an obsolete, uncancelled barrier in unaligned checkpoints, taking it for part of the current checkpoint when deciding which buffers to persist (fix: ignore obsoleted barriers, apache/flink#14797); here the obsolete barrier is taken for part of the current checkpoint by the aligned handler's and the tracker's barrier count.",
        "two-input-join", "completed-checkpoint-consistent", dfs(2_000_000);
    IgnoreCancellationMarker = "ignore-cancellation-marker", "task", "FLINK-18063",
        "a task ignores cancellation markers, so it neither declines nor forwards the cancellation",
        "Variant: FLINK-18063 'Fix the race condition for aborting checkpoint in CheckpointBarrierUnaligner' - cancellation markers failed to abort checkpoints started from the netty thread (apache/flink#12511); before cancellation markers existed, a declined checkpoint held the alignment until a newer barrier (FLINK-3261).",
        "two-input-join", "cancellation-releases-alignment", bfs(1_000_000);
    EndOfPartitionLeavesBlocked = "end-of-partition-leaves-blocked", "task", "FLINK-2519",
        "an input ending during alignment completes the checkpoint but leaves the other inputs blocked",
        "Match by title: FLINK-2519 'BarrierBuffers get stuck infinitely when some inputs end early' (Flink 0.10 changelog; the ticket's details were not found). FLINK-24068 (apache/flink#17131) is only related: end of partition during alignment skipped the alignment-start bookkeeping, not the release of blocked inputs.",
        "diamond", "healed-run-finishes",
        // An input's end of partition in flight behind a finished task while the next
        // checkpoint aligns: deeper than the full model's search reaches in `check`'s 60 s.
        on_small_instance(dfs(12_000_000));
    UnalignedConsumesBehindBarrier = "unaligned-consumes-behind-barrier", "task", "FLINK-17568",
        "unaligned mode keeps persisting every input until the last barrier, so post-barrier records become channel state",
        "Match in effect: FLINK-17568 'Task may consume data after checkpoint barrier before performing checkpoint for unaligned checkpoint' led to duplicated data after recovery (fix: return to the mailbox right after a barrier, apache/flink#12034).",
        "unaligned-union", "completed-checkpoint-consistent", dfs(2_000_000);
    UnalignedCapturesSomeInputs = "unaligned-captures-some-inputs", "task", "FLINK-18139",
        "unaligned mode persists in-flight records of the first input only",
        "Match: FLINK-18139 'Unaligned checkpoints checks wrong channels for inflight data' - only the first channels were checked in multi-gate setups, losing data (FLINK-18118; fix: gate-aware channel indices, apache/flink#12493).",
        "unaligned-union", "completed-checkpoint-consistent", bfs(2_000_000);
    SourceOffsetOffByOne = "source-offset-off-by-one", "source", "textbook",
        "a source snapshots the offset of the record after the next one to emit",
        "No Flink ticket found for a checkpointed source offset that is off by one. Formerly cited FLINK-4618, whose mechanism is different: the Kafka 0.9 consumer committed the last processed offset, not the next one, back to Kafka, an offset used only on a fresh start and not part of any checkpoint, so a fresh start re-read one record (fix: +1 on commit, apache/flink#2579; FLINK-4723 unified it). Here the checkpointed offset skips a record after a restore.",
        "linear", "completed-checkpoint-consistent", dfs(2_000_000);
    SourceSnapshotNotAtomic = "source-snapshot-not-atomic", "source", "FLINK-2098",
        "a source emits one more record between snapshotting its offset and emitting the barrier",
        "Match: FLINK-2098 'Checkpoint barrier initiation at source is not aligned with snapshotting' - sources kept emitting while a checkpoint was taken (fix: the checkpoint lock serialises emission with snapshot and barrier, apache/flink#742).",
        "keyed-join-2pc", "completed-checkpoint-consistent", dfs(2_000_000);
    StopWithSavepointFailsOverToCheckpoint = "stop-with-savepoint-fails-over-to-checkpoint", "coordinator", "FLINK-26783",
        "a task failing after the stop-with-savepoint's savepoint completed fails the job over to the latest checkpoint, duplicating committed output",
        "Match: FLINK-26783 - restarting to the latest checkpoint instead of the savepoint after a stop-with-savepoint failed while committing side effects could produce duplicates (fix: no global failover once the savepoint completed; the user restarts from it, apache/flink#19198).",
        "savepoints-2pc", "restored-state-exactly-once", bfs(4_000_000);
    CommitBeforeComplete = "commit-before-complete", "sink", "textbook",
        "the two-phase-commit sink commits its transaction at pre-commit, before the checkpoint completes",
        "No Flink ticket found; TwoPhaseCommitSinkFunction commits only in notifyCheckpointComplete.",
        "keyed-join-2pc", "no-commit-before-complete", dfs(2_000_000);
    CommitOnAbort = "commit-on-abort", "sink", "textbook",
        "the two-phase-commit sink commits pending transactions when a checkpoint is aborted",
        "No Flink ticket found; notifyCheckpointAborted is a no-op for TwoPhaseCommitSinkFunction.",
        "keyed-join-2pc", "no-commit-before-complete", dfs(2_000_000);
    CommitOnlyNotifiedTransaction = "commit-only-notified-transaction", "sink", "textbook",
        "a completion notification commits only the transaction of that checkpoint, not earlier pending ones",
        "No exact Flink ticket found; TwoPhaseCommitSinkFunction commits every pending transaction up to the notified id because notifications can be skipped or merged.",
        "keyed-join-2pc", "end-to-end-exactly-once", dfs(2_000_000);
    NoRecommitOnRestore = "no-recommit-on-restore", "sink", "textbook",
        "on restore the sink drops the restored pending transactions instead of committing them",
        "No exact Flink ticket found; recoverAndCommit exists because a completed checkpoint's notification may never have arrived.",
        "linear", "restored-state-exactly-once", bfs(1_000_000);
    DiscardOnPossiblyInconsistentWrite = "discard-on-possibly-inconsistent-write", "coordinator", "FLINK-22494",
        "a completed-checkpoint store add that reports a failure but reached HA storage is cleaned up: the next leader recovers a checkpoint whose state files are gone",
        "Match: FLINK-22494 (apache/flink#15832, 'Introduce PossibleInconsistentStateException'): a ZooKeeper commit failure after which the write may have landed was treated as a clean failure and the checkpoint's state discarded; the fix signals the ambiguity with PossibleInconsistentStateException, and CheckpointCoordinator.addCompletedCheckpointToStoreAndSubsumeOldest skips cleanCheckpointOnFailedStoring for it.",
        "ha-failures", "restored-checkpoint-intact", bfs(1_000_000);
    HaCleanupOnSuspend = "ha-cleanup-on-suspend", "coordinator", "FLINK-4201",
        "a JobManager that loses leadership (the job SUSPENDED) deletes its checkpoints' state as on a globally terminal status; the new leader recovers their HA entries and restores deleted state",
        "Match: FLINK-4201 (apache/flink#2276, 'Forward suspend to checkpoint coordinator'): a suspended job shut its checkpoint coordinator down and so removed the checkpoint state that HA recovery needs; the fix keeps it on SUSPENDED and discards only on FINISHED/FAILED/CANCELED (today DefaultCompletedCheckpointStore.shutdown releases its handles unless the status is globally terminal).",
        "ha-failures", "restored-checkpoint-intact", bfs(1_000_000);
    SnapshotWithoutFlush = "snapshot-without-flush", "sink", "FLINK-4027",
        "the async sink snapshots and acknowledges with sends still in flight, so a completed checkpoint covers records the external system never got",
        "Same mechanism: FLINK-4027 (FlinkKafkaProducer09 sink can lose messages) acknowledged checkpoints while records sent asynchronously were not yet acknowledged by Kafka, so a failure after the checkpoint lost them and the restored job never sent them again; the fix (apache/flink#2108) counted pending records through the producer's callbacks and made the snapshot wait until none was pending (flushOnCheckpoint, on by default since FLINK-5728). Today's form of the rule is SinkWriterOperator.prepareSnapshotPreBarrier calling AsyncSinkWriter.flush(false).",
        "async-sink", "sink-writes-cover-cut|end-to-end-exactly-once", bfs(1_000_000);
    NoClaimDiscardsRestoredSharedState = "no-claim-discards-restored-shared-state", "coordinator", "FLINK-26985",
        "a job started in NO_CLAIM mode deletes the shared files of the snapshot it started from once its own checkpoints stop using them: the user's snapshot is destroyed",
        "Match: FLINK-26985 (apache/flink#19331, 'Don't discard shared state of restored checkpoints'): after FLINK-24611 replaced reference counts by last-used checkpoint ids, the initial checkpoint's shared state was discarded regardless of whether the job created it; the fix remembers the highest checkpoint id seen during recovery (highestNotClaimedCheckpointID in SharedStateRegistryImpl.registerAllAfterRestored, unless the mode is CLAIM) and only discards entries created after it.",
        "incremental", "restored-checkpoint-intact", bfs(1_000_000);
    NoClaimNotForcedFull = "no-claim-not-forced-full", "coordinator", "textbook",
        "after a NO_CLAIM start the first checkpoint is incremental, so the job's checkpoints keep referencing files of a snapshot the user owns and may delete",
        "No Flink ticket found for a regression of this rule; it is the NO_CLAIM contract of FLIP-193 (CheckpointCoordinator.forceFullSnapshot makes checkpoints FULL_CHECKPOINT until one enters the store; CheckpointCoordinatorTriggeringTest#testTriggeringFullSnapshotAfterJobmasterFailover and #testTriggeringFullCheckpoints pin it).",
        "incremental", "no-claim-snapshot-not-referenced", bfs(1_000_000);
    SubsumeDiscardsSharedState = "subsume-discards-shared-state", "coordinator", "textbook",
        "a subsumed checkpoint's clean-up deletes the shared files it references, also those the retained checkpoint still uses",
        "No Flink ticket found; the reason the shared-state registry exists (FLINK-6014 introduced it with incremental checkpoints): a subsumed checkpoint drops only its references, and a shared file is deleted only once no retained checkpoint uses it (SharedStateRegistryImpl.unregisterUnusedState).",
        "incremental", "restored-checkpoint-intact", bfs(1_000_000);
    DrainSkipsEndInput = "drain-skips-end-input", "task", "FLINK-21453",
        "stop-with-savepoint with drain stops the sources as without drain: no operator ends its input or flushes before the terminating savepoint, and the job finishes with the buffered records never emitted",
        "Match: FLINK-21453 (apache/flink#15000, 'Do not ignore endOfInput when terminating a job with savepoint'): after FLINK-21132 stopped calling endInput for stop-with-savepoint, a stop with the drain flag (terminating, never to be resumed) no longer flushed the records operators buffered; the fix invokes endOfInput when the savepoint terminates. Today's form of the rule is SourceOperatorStreamTask stopping its source with StopMode.DRAIN, so endData(DRAIN) finishes every operator (StreamOperatorWrapper.finish) before the savepoint's barrier. The model places the decision at the source's stop.",
        "drain", "stop-with-savepoint-drain-respected", bfs(1_000_000);
    SplitEventBypassesValve = "split-event-bypasses-valve", "source", "FLINK-16986",
        "an operator event the split enumerator sends after its checkpoint and before the barriers are injected reaches the reader ahead of the barrier: the split is unassigned in the coordinator's checkpoint and owned by the reader's, and a restore reads it twice",
        "Same mechanism: FLINK-16986 (apache/flink#12234, 'Provide exactly-once guaranteed around checkpoints and operator event sending'): events sent between a coordinator's checkpoint and the source barrier injection must not be transported, or they fall between the coordinator's state and the tasks' state; the fix introduced the OperatorEventValve, shut when the coordinator's checkpoint future completes and opened in afterSourceBarrierInjection (today SubtaskGatewayImpl.markForCheckpoint / openGatewayAndUnmarkCheckpoint).",
        "split-source", "restored-splits-owned-once|end-to-end-exactly-once", bfs(3_000_000);
    LostEventNotFailingReader = "lost-event-not-failing-reader", "source", "FLINK-21996",
        "a lost operator event leaves its reader running: the enumerator counts the split as assigned, the reader never gets it and waits for it forever (or a later restore no longer gives it back)",
        "Match: FLINK-21996 ('Transient RPC failure without TaskManager failure can lead to split assignment loss', apache/flink#15601 and #15605): an OperatorEvent lost in transport while the task stayed up lost the split assignment; the fix made SubtaskGatewayImpl fail the target task when an event's send future fails ('An OperatorEvent from an OperatorCoordinator to a task was lost. Triggering task failover to ensure consistency.'), and held the coordinator's checkpoint until the events sent before it were acknowledged.",
        "split-source", "completed-checkpoint-consistent|quiescent-job-finished|healed-run-finishes|restored-splits-owned-once", bfs(3_000_000);
    SavepointNotifiesOperatorCoordinators = "savepoint-notifies-operator-coordinators", "coordinator", "textbook",
        "a savepoint that is not synchronous notifies the operator coordinators of its completion: the split enumerator's tracker forgets the splits assigned after the latest completed checkpoint, and a restore of that checkpoint (savepoints are never restored on failover) does not give them back",
        "No Flink ticket: the simulator itself had this deviation until the split source was run with savepoints (sim seed 56). Flink 2.3's CheckpointCoordinator.cleanupAfterCompletedCheckpoint calls sendAcknowledgeMessages (the tasks, then every OperatorCoordinatorCheckpointContext.notifyCheckpointComplete) only for a checkpoint that is not a savepoint or is synchronous (read in flink-dist 2.3.0's bytecode), and SplitAssignmentTracker.onCheckpointComplete(id) drops every assignment recorded under an id up to id; FLINK-20290's review discussed the same checkpoint-versus-savepoint hazard for regional recovery.",
        "split-source-savepoint", "restored-splits-owned-once|end-to-end-exactly-once|quiescent-job-finished|healed-run-finishes", bfs(3_000_000);
    TriggerBeforeTasksRunning = "trigger-before-tasks-running", "coordinator", "textbook",
        "the plan calculator checks only that every task has an execution attempt, not that the tasks the checkpoint waits for are RUNNING: checkpoints are triggered into a job still deploying, and sources that are not running yet decline them",
        "No Flink ticket found. Flink 2.3's DefaultCheckpointPlanCalculator.calculateCheckpointPlan runs checkAllTasksInitiated and then checkTasksStarted(plan.getTasksToWaitFor()), which fails the attempt with NOT_ALL_REQUIRED_TASKS_RUNNING while any task to wait for is not RUNNING in the JobManager's view; the bug drops the second check. The task-side TASK_NOT_READY decline (Task.triggerCheckpointBarrier, FLINK-3261) is what such a trigger then meets.",
        "task-lifecycle", "planned-with-tasks-running", bfs(1_000_000);
    TransactionalIdGapNotFilled = "transactional-id-gap-not-filled", "sink", "textbook",
        "a Kafka-style sink skips initialising the transactional ids of checkpoints it never saw, so the abort of lingering transactions on restore stops at the gap and leaves a later one open",
        "No Flink ticket found for this exact bug. KafkaWriter.getTransactionalProducer initialises every id from lastCheckpointId + 1 to the new one ('in case checkpoints have been aborted, Flink would create non-consecutive transaction ids; this loop ensures that all gaps are filled with initialized (empty) transactions'), because TransactionAborter probes ids upward and stops at the first never-used one ('we assume that transaction ids are consecutively used'); a lingering open transaction blocks read-committed consumers until the broker's transaction timeout.",
        "transactions", "no-lingering-transaction", bfs(12_000_000);
    FailedCommitDropped = "failed-commit-dropped", "sink", "textbook",
        "a sink's committer takes a transient commit failure (retryLater) as final and discards the committable instead of retrying it, so a completed checkpoint's records never become visible",
        "No Flink ticket found for this exact bug. Flink's Committer contract separates CommitRequest.retryLater (retried: CheckpointCommittableManagerImpl.commit loops up to sink.committer.retries, then throws 'Failed to commit ... after N retries', failing the task so that the restored committer commits again) from signalFailedWithKnownReason (discarded, processing proceeds; KafkaCommitter uses it for a fenced transaction and warns it most likely signals data loss); the bug treats the first as the second.",
        "transactions-retry", "end-to-end-exactly-once|restored-state-exactly-once|completed-checkpoint-consistent", bfs(2_000_000);
    CommitByIdWithoutEpoch = "commit-by-id-without-epoch", "sink", "textbook",
        "a Kafka-style committer takes a transactional id the broker committed already as its committable's, ignoring the producer epoch, so a job resumed from an older checkpoint never commits the transactions of the ids it reuses",
        "No Flink ticket found for this exact bug. A job resumed from checkpoint N continues its counter from N + 1 (CheckpointCoordinator.restoreSavepoint), so KafkaWriter reuses the transactional ids prefix-subtask-(N+1).. that the stopped run used; what tells the runs' transactions apart is the producer id and epoch the KafkaCommittable carries (KafkaCommitter resumes the transaction with them before committing, and initTransactions of a reused id bumps the epoch). The bug keys the already-committed check by the id alone.",
        "transactions-resume", "end-to-end-exactly-once|completed-checkpoint-consistent|restored-state-exactly-once", bfs(2_000_000);
    Iceberg10892MarkAcrossRuns = "iceberg-10892-mark-across-runs", "sink", "apache/iceberg#10892",
        "a job resumed from an older checkpoint keeps the job id of the run it restores, so its committer compares the new run's checkpoint ids, which restart just above the restored checkpoint, with the max-committed-checkpoint-id the stopped run left above them, takes them as committed and drops their records",
        "Match: apache/iceberg#10892 ('Restoring the Flink streaming job from the savepoint might trigger a silent data loss', open): Iceberg's Flink committer keeps flink.max-committed-checkpoint-id keyed by flink.job-id and flink.operator-id in the table's snapshot summaries and commits only above it; restoring from an older savepoint where the job id stays the restored run's (the legacy IcebergFilesCommitter initialises its in-memory max from the restored job id's mark, flink/v1.17; the sink v2 IcebergCommitter reads the mark of the committable's job id, flink/v1.20, which a fixed pipeline.job-id or application-mode job id makes the stopped run's) skips every checkpoint up to the old mark. The issue's proposed fix resets the mark to the restored checkpoint; apache/iceberg#18098 / #18123 are the same mechanism after a stateless restart. The model's faithful rule is a new job id per submission (Flink's default), under which the v2 committer is correct.",
        "transactions-mark", "end-to-end-exactly-once|completed-checkpoint-consistent|restored-state-exactly-once", bfs(2_000_000);
    RegionSplitsAtForwardEdges = "region-splits-at-forward-edges", "coordinator", "textbook",
        "region failover computes pipelined regions without forward (pointwise) edges, so a task connected to the failed one keeps running on state the restarted one rewound",
        "No Flink ticket found. SchedulingPipelinedRegionComputeUtil joins the producer and consumer of every pipelined result partition into one region, pointwise (forward) as well as all-to-all; only blocking partitions (batch) separate regions. Treating pointwise edges like blocking ones restarts a failed source without its forward-connected sink, which keeps what it consumed after the restored checkpoint and receives it again.",
        "region-failover", "restored-state-exactly-once", bfs(2_000_000);
    RegionRestartKeepsAttempts = "region-restart-keeps-attempts", "coordinator", "textbook",
        "a region restart gives its tasks no new execution attempts, so reports their cancelled executions sent before the failure are taken for the restarted ones",
        "No Flink ticket found. Every redeployment creates a new Execution with a new ExecutionAttemptID (ExecutionVertex.resetForNewExecution), and the JobManager routes task reports by attempt (SchedulerBase.updateTaskExecutionState, CheckpointCoordinator.receiveAcknowledgeMessage: 'Received message for job ... from unknown task'), so a cancelled execution's late report changes nothing; with a full failover the job-wide attempt in the model makes the same point, with region failover only per-task attempts do.",
        "region-failover", "completed-has-every-ack",
        // A finished source's report in flight across a region restart and a later checkpoint:
        // deeper than the full model's search reaches in `check`'s 60 s.
        on_small_instance(dfs(3_000_000));
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

    /// The bugs of `self` that are not in `other`.
    pub fn difference(self, other: BugSet) -> BugSet {
        BugSet(self.0 & !other.0)
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

    #[test]
    fn difference_keeps_only_the_bugs_the_other_set_lacks() {
        let (a, b, c) = (Bug::ALL[0], Bug::ALL[1], Bug::ALL[2]);
        let left = BugSet::of(&[a, b]);
        assert_eq!(left.difference(BugSet::of(&[b, c])), BugSet::of(&[a]));
        assert_eq!(left.difference(left), BugSet::default());
        assert_eq!(left.difference(BugSet::default()), left);
    }
}
