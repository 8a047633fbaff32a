//! Transaction-identity scenario tests: the rules of Flink's Kafka sink (`KafkaWriter`,
//! `TransactionAborter`, `KafkaCommitter`) restated on a two-phase-commit sink with
//! `transactions.identity` and replayed through the world (`world::apply` over scripted actions,
//! each checked against `world::enabled`). Named after the connector tests they restate:
//! `KafkaSinkITCase` (flink-connector-kafka); the failed-commit ones after flink-runtime's
//! `CommitterOperatorTest` (the `transactions-retry` model: commits that fail transiently,
//! `faults.failed_commits`, retried up to `transactions.commit_retries`).
//!
//! The rules: a writer restored from checkpoint N aborts lingering transactions from N + 1
//! upward until an id that was never used, then opens the producer of N + 1; a snapshot of M
//! pre-commits the open transaction and initialises every id up to M + 1; a restored
//! committable is committed again, and a transaction the broker committed already makes that a
//! no-op. What the external system holds is read from its own record (`External::broker`),
//! never from the sink's state.
//!
//! The committed-mark ones (the `transactions-mark` model, `transactions.committed_mark`) restate
//! Apache Iceberg's Flink sink (`IcebergCommitter`, sink v2, flink/v1.20; `IcebergFilesCommitter`,
//! flink/v1.17) and are named after its `TestIcebergFilesCommitter`: every commit appends to the
//! table and records, in the same snapshot, the committed checkpoint id for the committable's job
//! id and operator; a committable is committed only above that mark, on notify and on restore
//! alike; a resume is a new job submission with a new job id. What the table holds is read from
//! `External::records` and `External::table`, the verdict from the oracle (the reference fold).

use checkpoint_harness::bugs::{Bug, BugSet};
use checkpoint_harness::invariants::{self, Oracle};
use checkpoint_harness::protocol::{CheckpointId, TaskId};
use checkpoint_harness::spec::Spec;
use checkpoint_harness::world::{self, Action, RpcKind, Timer, TxnState, UserRequestKind, World};

const SOURCE: TaskId = TaskId(0);
const SINK: TaskId = TaskId(1);

/// The embedded `transactions` model (source -> Kafka-style sink), optionally with bugs.
struct Run {
    spec: Spec,
    oracle: Oracle,
    world: World,
    /// Every action taken, in order.
    actions: Vec<Action>,
}

impl Run {
    fn new(bugs: &[Bug]) -> Run {
        let spec = Spec::embedded("transactions")
            .expect("embedded")
            .with_bugs(BugSet::of(bugs));
        Run::of(spec)
    }

    /// The embedded `transactions-retry` model with this many commit retries.
    fn retrying(retries: u32, bugs: &[Bug]) -> Run {
        let text = Spec::embedded("transactions-retry")
            .expect("embedded")
            .text
            .replace("commit_retries = 1", &format!("commit_retries = {retries}"));
        let spec = Spec::parse("transactions-retry.toml", &text)
            .expect("valid")
            .with_bugs(BugSet::of(bugs));
        Run::of(spec)
    }

    /// The embedded `transactions-mark` model (an Iceberg-style table with the committed mark)
    /// with one record (the scenarios follow a single record through the runs), `edit`ed.
    fn marked(edit: impl Fn(String) -> String, bugs: &[Bug]) -> Run {
        let text = Spec::embedded("transactions-mark").expect("embedded").text;
        let text = edit(text.replace("records = 2", "records = 1"));
        let spec = Spec::parse("transactions-mark.toml", &text)
            .expect("valid")
            .with_bugs(BugSet::of(bugs));
        Run::of(spec)
    }

    /// [`Run::marked`] with one task crash allowed (a failover within the job run).
    fn marked_crashing() -> Run {
        Run::marked(|t| format!("{t}\n[faults]\ntask_crashes = 1\n"), &[])
    }

    fn of(spec: Spec) -> Run {
        Run {
            oracle: Oracle::new(&spec),
            world: World::initial(&spec),
            spec,
            actions: Vec::new(),
        }
    }

    fn apply(&mut self, action: Action) {
        self.world = world::apply(&self.spec, &self.world, action).expect("enabled");
        self.actions.push(action);
    }

    /// Takes the first enabled action that `pick` accepts; panics with the enabled list if none.
    fn take(&mut self, what: &str, pick: impl Fn(&Action) -> bool) {
        let enabled = world::enabled(&self.spec, &self.world);
        let Some(action) = enabled.iter().copied().find(|a| pick(a)) else {
            panic!("{what}: not enabled; enabled: {enabled:?}");
        };
        self.apply(action);
    }

    /// Delivers every channel head and RPC, and ends trigger phases, until none is left (no
    /// timer, no fault, no source emission).
    fn settle(&mut self) {
        self.settle_holding(|_| false);
    }

    /// [`Run::settle`], holding back the RPCs whose kind `hold` accepts.
    fn settle_holding(&mut self, hold: impl Fn(RpcKind) -> bool) {
        for _ in 0..200 {
            let enabled = world::enabled(&self.spec, &self.world);
            let Some(action) = enabled.iter().copied().find(|a| match a {
                Action::Deliver { .. } | Action::FinishTriggering => true,
                Action::DeliverRpc { rpc } => !hold(rpc.kind),
                _ => false,
            }) else {
                return;
            };
            self.apply(action);
        }
        panic!("settle did not settle");
    }

    fn emit(&mut self) {
        self.take("the source emits", |a| *a == Action::Emit { task: SOURCE });
    }

    fn periodic(&mut self) {
        self.take("the periodic trigger", |a| {
            matches!(
                a,
                Action::Fire {
                    timer: Timer::Periodic
                }
            )
        });
    }

    /// The record into the sink, then checkpoint 1 up to the sink's snapshot (its transaction
    /// pre-committed and pending), its acknowledgements not yet delivered.
    fn precommit_first(&mut self) {
        self.emit();
        self.settle();
        self.periodic();
        self.take("the trigger phase ends", |a| *a == Action::FinishTriggering);
        self.take(
            "the trigger RPC reaches the source",
            |a| matches!(a, Action::DeliverRpc { rpc } if rpc.kind == RpcKind::Trigger),
        );
        self.take("the barrier reaches the sink", |a| {
            matches!(a, Action::Deliver { .. })
        });
    }

    fn fail_next_commit(&mut self) {
        self.take("a commit failure", |a| *a == Action::FailCommit);
    }

    fn crash_sink(&mut self) {
        self.crash(SINK);
    }

    fn crash(&mut self, task: TaskId) {
        self.take("the task crashes", |a| *a == Action::Crash { task });
    }

    /// Checkpoint 1 completes before the record; the stop's savepoint 2 then commits it.
    fn stop_after_first_checkpoint(&mut self) {
        self.periodic();
        self.settle();
        assert_eq!(
            self.world.coordinator.store.entries.len(),
            1,
            "checkpoint 1"
        );
        self.emit();
        self.settle();
        self.stop_with_savepoint();
        self.settle();
    }

    /// The stopped job resumes from checkpoint 1, a new run whose counter reuses id 2.
    fn resume_from_first(&mut self) {
        self.take("resume from checkpoint 1", |a| {
            *a == Action::ResumeFromOlder {
                checkpoint: CheckpointId(1),
            }
        });
        assert_eq!(
            self.world.coordinator.next_id,
            CheckpointId(2),
            "ids reused"
        );
    }

    fn stop_with_savepoint(&mut self) {
        self.take("stop-with-savepoint", |a| {
            *a == Action::User {
                request: UserRequestKind::StopWithSavepoint,
            }
        });
    }

    /// Runs fault-free to the end: deliveries first, then the sources, then timers; the oracle
    /// must not object on the way.
    fn finish(&mut self) {
        assert_eq!(self.run_out(), None);
    }

    /// Runs fault-free (as [`Run::finish`]) to the end, or until the oracle objects: returns
    /// the objection; without one the job must have finished.
    fn run_out(&mut self) -> Option<&'static str> {
        for _ in 0..2000 {
            if self.world.job_done() {
                return None;
            }
            let enabled = world::enabled(&self.spec, &self.world);
            let rank = |a: &Action| match a {
                Action::Deliver { .. } | Action::DeliverRpc { .. } | Action::FinishTriggering => 0,
                Action::Emit { .. } => 1,
                Action::Fire { .. } => 2,
                _ => 3,
            };
            let Some(action) = enabled
                .iter()
                .copied()
                .filter(|a| rank(a) < 3)
                .min_by_key(rank)
            else {
                break;
            };
            self.apply(action);
            if let Some(violation) = self.violation() {
                return Some(violation);
            }
        }
        assert!(self.world.job_done(), "the job finishes");
        None
    }

    fn violation(&self) -> Option<&'static str> {
        invariants::check_all(&self.spec, &self.oracle, &self.world)
            .err()
            .map(|v| v.invariant)
    }

    /// The records the external output holds from this sink.
    fn rows(&self, sink: TaskId) -> usize {
        let records = &self.world.external.records;
        records.iter().filter(|(_, w)| w.sink == sink).count()
    }

    /// The table's committed mark for (job id, sink): `NONE` where it has none.
    fn mark(&self, job: u8, sink: TaskId) -> CheckpointId {
        self.world.external.table.mark(job, sink)
    }

    fn broker_state(&self, name: u32) -> Vec<(u8, TxnState)> {
        self.world
            .external
            .broker
            .txns
            .iter()
            .filter(|t| t.sink == SINK && t.id.name == CheckpointId(name))
            .map(|t| (t.id.epoch, t.state))
            .collect()
    }

    fn id_known(&self, name: u32) -> bool {
        self.world
            .external
            .broker
            .ids
            .iter()
            .any(|((sink, n), _)| *sink == SINK && *n == CheckpointId(name))
    }
}

/// `KafkaSinkITCase#testRecoveryWithExactlyOnceGuarantee`: after a failure the output holds
/// every record exactly once. Restated: checkpoint 1 commits the record sent into transaction 1;
/// the sink then fails, the job restores checkpoint 1 and its sink's `recoverAndCommit` commits
/// transaction 1 again, a no-op on the broker (FLINK-16419's situation), and the job finishes
/// with the output exactly once and nothing ongoing.
#[test]
fn kafka_sink_it_case_test_recovery_with_exactly_once_guarantee() {
    let mut run = Run::new(&[]);
    run.emit();
    run.settle();
    assert_eq!(run.broker_state(1), vec![(0, TxnState::Ongoing)]);
    assert!(
        run.world.external.records.is_empty(),
        "invisible until it commits"
    );
    run.periodic();
    run.settle();
    assert_eq!(run.broker_state(1), vec![(0, TxnState::Committed)]);
    assert_eq!(
        run.world.external.records.len(),
        1,
        "visible once committed"
    );
    assert!(run.id_known(2), "the producer of checkpoint 2 was opened");
    run.crash_sink();
    run.settle();
    assert!(
        run.world.external.broker.recommitted,
        "the restored committable was committed again, as a no-op"
    );
    assert_eq!(run.world.external.records.len(), 1, "no duplicate");
    run.finish();
    assert_eq!(run.violation(), None);
}

/// `KafkaSinkITCase#testAbortTransactionsOfPendingCheckpointsAfterFailure`: a job failing
/// during a checkpoint leaves lingering transactions, which the next run aborts. Restated: the
/// record sits in transaction 1, pre-committed by checkpoint 1 which never completes (the sink
/// fails before its acknowledgement is delivered); the restart (no checkpoint to restore) aborts
/// transaction 1 of epoch 0 by initialising id 1 with epoch 1, the source's rewind sends the
/// record into the new transaction of id 1, and the job finishes with it committed once.
#[test]
fn kafka_sink_it_case_test_abort_transactions_of_pending_checkpoints_after_failure() {
    let mut run = Run::new(&[]);
    run.emit();
    run.settle();
    run.periodic();
    run.take("the trigger phase ends", |a| *a == Action::FinishTriggering);
    run.take(
        "the trigger RPC reaches the source",
        |a| matches!(a, Action::DeliverRpc { rpc } if rpc.kind == RpcKind::Trigger),
    );
    run.take("the barrier reaches the sink", |a| {
        matches!(a, Action::Deliver { .. })
    });
    assert_eq!(
        run.broker_state(1),
        vec![(0, TxnState::Ongoing)],
        "pre-committed"
    );
    run.crash_sink();
    run.take(
        "the failure reaches the coordinator before any acknowledgement",
        |a| matches!(a, Action::DeliverRpc { rpc } if rpc.kind == RpcKind::TaskFailed),
    );
    run.settle();
    assert_eq!(
        run.broker_state(1),
        vec![(0, TxnState::Aborted)],
        "the lingering transaction was aborted (fenced) on restart"
    );
    assert!(run.world.external.broker.fenced_ongoing);
    run.finish();
    let states = run.broker_state(1);
    assert!(states.contains(&(0, TxnState::Aborted)), "{states:?}");
    assert!(
        states
            .iter()
            .any(|(e, s)| *e > 0 && *s == TxnState::Committed),
        "the id was reused by a newer epoch and committed: {states:?}"
    );
    assert_eq!(run.violation(), None);
}

/// `KafkaWriter.getTransactionalProducer`: "in case checkpoints have been aborted, Flink would
/// create non-consecutive transaction ids; this loop ensures that all gaps are filled with
/// initialized (empty) transactions". Restated: checkpoint 1 expires in its trigger phase, so
/// the sink never snapshots it; its snapshot of checkpoint 2 pre-commits transaction 1 and
/// initialises id 2 (the gap) and id 3 (the new producer). With the injected bug
/// `transactional-id-gap-not-filled` id 2 stays unknown to the broker.
#[test]
fn kafka_writer_fills_the_transactional_id_gap_of_an_aborted_checkpoint() {
    for (bugs, gap_filled) in [
        (&[][..], true),
        (&[Bug::TransactionalIdGapNotFilled][..], false),
    ] {
        let mut run = Run::new(bugs);
        run.periodic();
        run.take("checkpoint 1 expires in its trigger phase", |a| {
            matches!(
                a,
                Action::Fire {
                    timer: Timer::CheckpointTimeout { .. }
                }
            )
        });
        run.settle();
        run.periodic();
        run.settle();
        assert!(run.id_known(3), "the producer of checkpoint 3 was opened");
        assert_eq!(run.id_known(2), gap_filled, "bugs {bugs:?}");
    }
}

/// The `[transactions]` table: unknown keys are rejected, and identity needs a two-phase-commit
/// sink; errors name the file and the key.
#[test]
fn the_transactions_table_is_validated() {
    let base = Spec::embedded("transactions").expect("embedded").text;
    let unknown = base.replace("identity = true", "identity = true\nids = \"kafka\"");
    let error = Spec::parse("x.toml", &unknown).expect_err("unknown key");
    assert_eq!(error.file, "x.toml");
    assert!(error.reason.contains("ids"), "{error:?}");
    let no_sink = base.replace("two-phase-commit-sink", "at-least-once-sink");
    let error = Spec::parse("x.toml", &no_sink).expect_err("no two-phase-commit sink");
    assert_eq!(error.key, "transactions.identity", "{error:?}");
    assert!(Spec::parse("x.toml", &base).is_ok());
    let off = base.replace("identity = true", "identity = false");
    assert!(
        !Spec::parse("x.toml", &off)
            .expect("valid")
            .transactions
            .identity
    );
}

/// `CommitterOperatorTest#testNumberOfRetries` (`numRetries` 0 and 1): a commit request that
/// asks to be retried later (`retryLater`) is retried in the same call up to
/// `sink.committer.retries` times; with no retries left the committer throws ("Failed to
/// commit"), which fails the task. Restated: one failed attempt of transaction 1's commit; with
/// one retry the retry commits it at once, with none the sink fails and its restore from
/// checkpoint 1 commits it again (`recoverAndCommit`); either way the job ends exactly once.
#[test]
fn committer_operator_test_test_number_of_retries() {
    for retries in [0, 1] {
        let mut run = Run::retrying(retries, &[]);
        run.precommit_first();
        run.fail_next_commit();
        run.settle();
        let broker = &run.world.external.broker;
        assert_eq!(broker.retried, retries > 0, "retries {retries}");
        assert_eq!(broker.gave_up, retries == 0, "retries {retries}");
        assert_eq!(
            run.world.external.records.len(),
            1,
            "retries {retries}: committed, by the retry or by the restored sink's recoverAndCommit"
        );
        run.finish();
        assert_eq!(run.violation(), None);
    }
}

/// A restored committer commits its restored committables again, and that commit can fail as
/// well (`CommitterOperator.initializeState` calls `commitAndEmitCheckpoints`, whose failure
/// fails the task again). Restated: with one retry, two failed attempts in a row fail the sink on
/// checkpoint 1's notification (the committer gives up); the job restores checkpoint 1, its
/// recoverAndCommit commits transaction 1, and the job finishes with the record exactly once.
#[test]
fn committer_out_of_retries_fails_the_task_and_the_restore_commits_again() {
    let mut run = Run::retrying(1, &[]);
    run.precommit_first();
    run.fail_next_commit();
    run.fail_next_commit();
    run.settle();
    assert!(run.world.external.broker.gave_up);
    assert_eq!(
        run.world.external.records.len(),
        1,
        "recommitted on restore"
    );
    assert_eq!(run.world.coordinator.attempt.0, 1, "one failover");
    run.finish();
    assert_eq!(run.violation(), None);
}

/// The injected bug `failed-commit-dropped`: a transient failure is taken as final and the
/// committable discarded (as `signalFailedWithKnownReason` does), so checkpoint 1's record never
/// becomes visible: the next checkpoint's cut, or the finished job, lacks it.
#[test]
fn a_dropped_failed_commit_loses_its_records() {
    let mut run = Run::retrying(1, &[Bug::FailedCommitDropped]);
    run.precommit_first();
    run.fail_next_commit();
    run.settle();
    assert!(run.world.external.records.is_empty(), "dropped");
    assert!(!run.world.external.broker.retried);
    for _ in 0..2000 {
        if run.world.job_done() || run.violation().is_some() {
            break;
        }
        let enabled = world::enabled(&run.spec, &run.world);
        let Some(action) = enabled.iter().copied().find(|a| {
            matches!(
                a,
                Action::Deliver { .. }
                    | Action::DeliverRpc { .. }
                    | Action::FinishTriggering
                    | Action::Emit { .. }
                    | Action::Fire { .. }
            )
        }) else {
            break;
        };
        run.apply(action);
    }
    // The next checkpoint's cut finds the sink accounting for less than the reference (the
    // record is neither pending nor visible), or the finished job lacks it.
    let violation = run.violation();
    assert!(
        matches!(
            violation,
            Some("completed-checkpoint-consistent" | "end-to-end-exactly-once")
        ),
        "{violation:?}"
    );
}

/// `faults.failed_commits` and `transactions.commit_retries` are a two-phase-commit sink's:
/// refused without one, naming the key; `commit_retries` defaults to Flink's 10.
#[test]
fn failed_commits_need_a_two_phase_commit_sink() {
    let base = Spec::embedded("transactions-retry").expect("embedded").text;
    let no_sink = base
        .replace("two-phase-commit-sink", "at-least-once-sink")
        .replace("commit_retries = 1\n", "");
    let error = Spec::parse("x.toml", &no_sink).expect_err("no two-phase-commit sink");
    assert_eq!(error.key, "faults.failed_commits", "{error:?}");
    let default = base.replace("commit_retries = 1\n", "");
    assert_eq!(
        Spec::parse("x.toml", &default)
            .expect("valid")
            .transactions
            .commit_retries,
        10
    );
}

/// Conformance: a failed commit is nothing the coordinator sees, its out-of-retries task failure
/// is a task-failure report; the driver takes the model and the whole run projects onto it.
#[test]
fn a_failed_commit_projects_onto_the_driver_as_a_task_failure() {
    let mut run = Run::retrying(1, &[]);
    run.precommit_first();
    run.fail_next_commit();
    run.fail_next_commit();
    run.finish();
    assert!(checkpoint_harness::conformance::script::setup(&run.spec).is_ok());
    let projection = checkpoint_harness::conformance::model::project(&run.spec, &run.actions);
    assert_eq!(projection.stopped, None);
    assert!(projection.inputs.iter().any(|i| matches!(
        i,
        checkpoint_harness::conformance::script::Input::TaskFailed { .. }
    )));
}

/// Resuming a stopped job from a retained checkpoint older than its savepoint: a new run whose
/// counter continues from the checkpoint's id + 1 (`CheckpointCoordinator.restoreSavepoint`), so
/// `KafkaWriter` reuses the transactional ids the stopped run used after it; the new producers'
/// newer epoch tells the runs' transactions apart. Restated: checkpoint 1 completes before the
/// record, the stop's savepoint 2 commits it in transaction 2 of epoch 0; the job resumes from
/// checkpoint 1, replays the record and commits it in transaction 2 of epoch 1. The output holds
/// it twice (once per run: exactly-once holds from the restored checkpoint on) and the oracle
/// expects exactly that. With the injected bug `commit-by-id-without-epoch` the new run's commit
/// is taken for the stopped run's and its record never becomes visible.
#[test]
fn resume_from_an_older_checkpoint_reuses_transactional_ids_with_a_newer_epoch() {
    for bugs in [&[][..], &[Bug::CommitByIdWithoutEpoch][..]] {
        let spec = Spec::embedded("transactions-resume")
            .expect("embedded")
            .with_bugs(BugSet::of(bugs));
        let mut run = Run::of(spec);
        run.stop_after_first_checkpoint();
        assert_eq!(run.broker_state(2), vec![(0, TxnState::Committed)]);
        run.resume_from_first();
        let violation = run.run_out();
        if bugs.is_empty() {
            assert_eq!(violation, None);
            assert_eq!(
                run.broker_state(2),
                vec![(0, TxnState::Committed), (1, TxnState::Committed)]
            );
            assert_eq!(run.world.external.records.len(), 2, "once per run");
        } else {
            assert!(violation.is_some());
            assert_eq!(run.world.external.records.len(), 1, "the new run's is lost");
        }
    }
}

/// `user.resume_older` needs transaction identity (without it the external system keys a
/// commit by sink and checkpoint id, which a new run reuses), a stop without drain and aligned
/// checkpoints; errors name the key.
#[test]
fn resume_older_is_validated() {
    let base = Spec::embedded("transactions-resume")
        .expect("embedded")
        .text;
    for bad in [
        base.replace("identity = true", "identity = false"),
        base.replace("mode = \"aligned\"", "mode = \"unaligned\""),
        base.replace("stop_with_savepoint = 1", "stop_with_savepoint = 0"),
    ] {
        let error = Spec::parse("x.toml", &bad).expect_err("refused");
        assert_eq!(error.key, "user.resume_older", "{error:?}");
    }
}

/// Conformance: the driver takes the `transactions-resume` model, and a run's projection stops
/// at the resume from an older checkpoint (the driver has no resume input), as at
/// `ResumeFromSavepoint`.
#[test]
fn a_resume_from_an_older_checkpoint_stops_the_projection() {
    let spec = Spec::embedded("transactions-resume").expect("embedded");
    let mut run = Run::of(spec);
    run.periodic();
    run.settle();
    run.stop_with_savepoint();
    run.settle();
    run.take("resume from checkpoint 1", |a| {
        matches!(a, Action::ResumeFromOlder { .. })
    });
    assert!(checkpoint_harness::conformance::script::setup(&run.spec).is_ok());
    let projection = checkpoint_harness::conformance::model::project(&run.spec, &run.actions);
    let stopped = projection.stopped.expect("stops at the resume");
    assert!(stopped.contains("resumed"), "{stopped}");
}

/// `TestIcebergFilesCommitter#testRecoveryFromValidSnapshot`: a checkpoint committed, then a
/// restore from it: the restored committable is at the mark, so it is not appended again, and
/// the next checkpoint commits above it. Restated: the record is in checkpoint 1's committable,
/// whose notification commits it (mark 1 for job 0); the sink crashes, the restore from
/// checkpoint 1 takes the restored committable as committed; the job finishes with the record
/// in the table once.
#[test]
fn test_recovery_from_valid_snapshot() {
    let mut run = Run::marked_crashing();
    run.emit();
    run.settle();
    run.periodic();
    run.settle();
    assert_eq!(run.rows(SINK), 1, "checkpoint 1 committed the record");
    assert_eq!(run.mark(0, SINK), CheckpointId(1));
    assert!(!run.world.external.table.skipped);
    run.crash(SINK);
    run.settle();
    assert!(
        run.world.external.table.skipped,
        "the restored committable was at the mark"
    );
    assert_eq!(run.rows(SINK), 1, "not appended again");
    assert_eq!(run.run_out(), None);
    assert_eq!(run.rows(SINK), 1);
}

/// `TestIcebergFilesCommitter#testRecoveryFromSnapshotWithoutCompletedNotification`: a
/// checkpoint completed but its notification never reached the committer, then a restore from
/// it: the table has no mark of the job, so the restore commits the restored committable.
/// Restated: checkpoint 1 completes at the coordinator with the record in its committable; the
/// sink crashes before the notification arrives; the restore finds no mark (Iceberg's -1) and
/// commits it, raising the mark to 1.
#[test]
fn test_recovery_from_snapshot_without_completed_notification() {
    let mut run = Run::marked_crashing();
    run.emit();
    run.settle();
    run.periodic();
    run.settle_holding(|kind| kind == RpcKind::NotifyComplete);
    assert_eq!(
        run.world.coordinator.store.entries.len(),
        1,
        "checkpoint 1 completed"
    );
    assert_eq!(run.rows(SINK), 0, "not notified, not committed");
    assert_eq!(run.mark(0, SINK), CheckpointId::NONE);
    run.crash(SINK);
    run.settle();
    assert_eq!(run.rows(SINK), 1, "the restore committed it");
    assert_eq!(run.mark(0, SINK), CheckpointId(1));
    assert!(!run.world.external.table.skipped);
    assert_eq!(run.run_out(), None);
    assert_eq!(run.rows(SINK), 1);
}

/// `TestIcebergFilesCommitter#testStartAnotherJobToWriteSameTable`: a new job writing the table
/// the old job wrote starts with no mark of its own, so its commits go through although the old
/// job's mark is higher. Restated with a resume (a new job submission, so a new job id):
/// checkpoint 1 completes before the record, the stop's savepoint 2 commits it (mark 2 for job
/// 0); the job resumes from checkpoint 1, replays the record and commits it in its own
/// checkpoint 2, below the old mark but under job 1. The table holds the record once per run,
/// which is what the oracle expects (exactly-once from the restored checkpoint on). With the
/// injected bug `iceberg-10892-mark-across-runs` the resumed run keeps job 0's id, its
/// checkpoint 2 is taken as committed and the record of the new run is lost.
#[test]
fn test_start_another_job_to_write_same_table() {
    for bugs in [&[][..], &[Bug::Iceberg10892MarkAcrossRuns][..]] {
        let mut run = Run::marked(|t| t, bugs);
        run.stop_after_first_checkpoint();
        assert_eq!(
            run.mark(0, SINK),
            CheckpointId(2),
            "the savepoint committed"
        );
        assert_eq!(run.rows(SINK), 1);
        run.resume_from_first();
        let violation = run.run_out();
        if bugs.is_empty() {
            assert_eq!(violation, None);
            assert_eq!(
                run.mark(0, SINK),
                CheckpointId(2),
                "the old job's mark stays"
            );
            assert!(
                run.mark(1, SINK) >= CheckpointId(2),
                "the new job's own mark"
            );
            assert!(run.world.external.table.kept_apart);
            assert_eq!(run.rows(SINK), 2, "once per run");
        } else {
            assert_eq!(violation, Some("end-to-end-exactly-once"));
            assert_eq!(run.mark(1, SINK), CheckpointId::NONE, "no job 1");
            assert!(run.world.external.table.skipped);
            assert_eq!(run.rows(SINK), 1, "the new run's record is lost");
        }
    }
}

/// `TestIcebergFilesCommitter#testMultipleSinksRecoveryFromValidSnapshot`: two sinks (two
/// operator ids) writing one table keep a mark each, and a restore skips each one's own
/// committed committable. Restated: the source feeds two sinks; checkpoint 1 commits the record
/// in both (marks 1 for each operator under job 0); a crash restores checkpoint 1, both
/// restored committables are skipped, and each sink's record is in the table once.
#[test]
fn test_multiple_sinks_recovery_from_valid_snapshot() {
    let mut run = Run::marked(
        |t| {
            let t = t.replace(
                "[[edges]]",
                "[[operators]]\nname = \"sink-b\"\nkind = \"two-phase-commit-sink\"\n\n[[edges]]\nfrom = \"source\"\nto = \"sink-b\"\n\n[[edges]]",
            );
            format!("{t}\n[faults]\ntask_crashes = 1\n")
        },
        &[],
    );
    let sinks = [SINK, TaskId(2)];
    run.emit();
    run.settle();
    run.periodic();
    run.settle();
    for sink in sinks {
        assert_eq!(run.rows(sink), 1, "{sink:?}");
        assert_eq!(run.mark(0, sink), CheckpointId(1), "a mark per operator");
    }
    run.crash(SOURCE);
    run.settle();
    assert!(run.world.external.table.skipped);
    assert_eq!(run.run_out(), None);
    for sink in sinks {
        assert_eq!(run.rows(sink), 1, "{sink:?} once");
    }
}

/// `transactions.committed_mark` needs a two-phase-commit sink, and is refused with transaction
/// identity and with a start from a retained checkpoint; errors name the key. With it,
/// `user.resume_older` is accepted without identity (the job id tells the runs apart).
#[test]
fn committed_mark_is_validated() {
    let base = Spec::embedded("transactions-mark").expect("embedded").text;
    for bad in [
        base.replace("two-phase-commit-sink", "at-least-once-sink")
            .replace("resume_older = 1", "resume_older = 0"),
        base.replace(
            "committed_mark = true",
            "committed_mark = true\nidentity = true",
        ),
        base.replace(
            "retained = 2",
            "retained = 2\nincremental = true\nstart_from_retained = true",
        ),
    ] {
        let error = Spec::parse("x.toml", &bad).expect_err("refused");
        assert_eq!(error.key, "transactions.committed_mark", "{error:?}");
    }
    let without = base.replace("committed_mark = true", "committed_mark = false");
    let error = Spec::parse("x.toml", &without).expect_err("refused");
    assert_eq!(error.key, "user.resume_older", "{error:?}");
}
