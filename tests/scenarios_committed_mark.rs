//! Committed-mark scenario tests: the rules of Apache Iceberg's Flink sink (`IcebergCommitter`,
//! sink v2, flink/v1.20; `IcebergFilesCommitter`, flink/v1.17; `SinkUtil.
//! getMaxCommittedCheckpointId`) restated on a two-phase-commit sink with
//! `transactions.committed_mark` and replayed through the world (`world::apply` over scripted
//! actions, each checked against `world::enabled`). Named after the Iceberg unit tests they
//! restate (`TestIcebergFilesCommitter`, `TestIcebergCommitter`).
//!
//! The rules: every commit appends to the table (which deduplicates nothing) and records, in the
//! same snapshot, the committed checkpoint id for the committable's job id and operator
//! (`flink.max-committed-checkpoint-id`, `flink.job-id`, `flink.operator-id`); a committable is
//! committed only above that mark, on notify and on restore alike, and at or below it counts as
//! committed. A resume is a new job submission with a new job id. What the table holds is read
//! from the external system's record (`External::records`, `External::table`), and the verdict
//! from the oracle, whose expectation is the reference fold, never the mark.

use checkpoint_harness::bugs::{Bug, BugSet};
use checkpoint_harness::invariants::{self, Oracle};
use checkpoint_harness::protocol::{CheckpointId, TaskId};
use checkpoint_harness::spec::Spec;
use checkpoint_harness::world::{self, Action, RpcKind, Timer, UserRequestKind, World};

const SOURCE: TaskId = TaskId(0);
const SINK: TaskId = TaskId(1);

struct Run {
    spec: Spec,
    oracle: Oracle,
    world: World,
}

impl Run {
    /// The embedded `transactions-mark` model with one record (the scenarios follow a single
    /// record through the runs), `edit`ed, with bugs.
    fn of(edit: impl Fn(String) -> String, bugs: &[Bug]) -> Run {
        let text = Spec::embedded("transactions-mark").expect("embedded").text;
        let text = edit(text.replace("records = 2", "records = 1"));
        let spec = Spec::parse("transactions-mark.toml", &text)
            .expect("valid")
            .with_bugs(BugSet::of(bugs));
        Run {
            oracle: Oracle::new(&spec),
            world: World::initial(&spec),
            spec,
        }
    }

    /// The model with one task crash allowed (a failover within the job run).
    fn crashing() -> Run {
        Run::of(|t| format!("{t}\n[faults]\ntask_crashes = 1\n"), &[])
    }

    fn apply(&mut self, action: Action) {
        self.world = world::apply(&self.spec, &self.world, action).expect("enabled");
        assert_eq!(self.violation(), None, "after {action:?}");
    }

    fn take(&mut self, what: &str, pick: impl Fn(&Action) -> bool) {
        let enabled = world::enabled(&self.spec, &self.world);
        let Some(action) = enabled.iter().copied().find(|a| pick(a)) else {
            panic!("{what}: not enabled; enabled: {enabled:?}");
        };
        self.apply(action);
    }

    /// Delivers channel heads and RPCs (but no RPC `hold` accepts) and ends trigger phases
    /// until none is left.
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

    fn settle(&mut self) {
        self.settle_holding(|_| false);
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

    fn crash(&mut self, task: TaskId) {
        self.take("the task crashes", |a| *a == Action::Crash { task });
    }

    fn stop_with_savepoint(&mut self) {
        self.take("stop-with-savepoint", |a| {
            *a == Action::User {
                request: UserRequestKind::StopWithSavepoint,
            }
        });
    }

    /// Runs fault-free to the end (deliveries, then the sources, then timers), or until the
    /// oracle objects; returns the objection.
    fn run_out(&mut self) -> Option<&'static str> {
        for _ in 0..2000 {
            if self.world.job_done() {
                break;
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
            self.world = world::apply(&self.spec, &self.world, action).expect("enabled");
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

    /// The records the table holds from this sink.
    fn rows(&self, sink: TaskId) -> usize {
        let records = &self.world.external.records;
        records.iter().filter(|(_, w)| w.sink == sink).count()
    }

    fn mark(&self, job: u8, sink: TaskId) -> CheckpointId {
        self.world.external.table.mark(job, sink)
    }
}

/// `TestIcebergFilesCommitter#testRecoveryFromValidSnapshot`: a checkpoint committed, then a
/// restore from it: the restored committable is at the mark, so it is not appended again, and
/// the next checkpoint commits above it. Restated: the record is in checkpoint 1's committable,
/// whose notification commits it (mark 1 for job 0); the sink crashes, the restore from
/// checkpoint 1 takes the restored committable as committed; the job finishes with the record
/// in the table once.
#[test]
fn test_recovery_from_valid_snapshot() {
    let mut run = Run::crashing();
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
    let mut run = Run::crashing();
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
        let mut run = Run::of(|t| t, bugs);
        run.periodic();
        run.settle();
        assert_eq!(run.world.coordinator.store.entries.len(), 1, "checkpoint 1");
        run.emit();
        run.settle();
        run.stop_with_savepoint();
        run.settle();
        assert_eq!(
            run.mark(0, SINK),
            CheckpointId(2),
            "the savepoint committed"
        );
        assert_eq!(run.rows(SINK), 1);
        run.take("resume from checkpoint 1", |a| {
            *a == Action::ResumeFromOlder {
                checkpoint: CheckpointId(1),
            }
        });
        assert_eq!(run.world.coordinator.next_id, CheckpointId(2), "ids reused");
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
    let mut run = Run::of(
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
