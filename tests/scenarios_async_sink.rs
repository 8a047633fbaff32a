//! Async-sink scenario tests: the task-side rules of Flink's asynchronous sinks restated on the
//! `async-sink` operator kind and replayed through the world (`world::apply` over scripted
//! actions, each checked against `world::enabled`). Named after the Flink tests they restate:
//! `AsyncSinkWriterTest` (flink-connector-base) and `FlinkKafkaProducerBaseTest` (the tests that
//! came with FLINK-4027's flush on checkpoint).
//!
//! The rules: `SinkWriterOperator.prepareSnapshotPreBarrier` calls `AsyncSinkWriter.flush(false)`,
//! which yields the mailbox until no request is in flight, so a snapshot (and its
//! acknowledgement) waits for the sends in flight, and no input is taken meanwhile; `endInput`
//! calls `flush(true)`; a fatal exception of a request fails the task; requests in flight are
//! never part of a snapshot, so a failure loses them and the source's rewind sends them again.
//!
//! Skipped (not representable): `AsyncSinkWriterTest#testRetryableErrorsDoNotViolateAtLeastOnce
//! SemanticsDueToRequeueOfFailures` and the other retry tests: a retryable failure re-queues the
//! entry at the head of the buffer and the model sends it again at once, which is the state it was
//! in, so retries are not modelled; buffering, batching and rate limiting neither (one entry per
//! request, sent on `write`).

use checkpoint_harness::bugs::{Bug, BugSet};
use checkpoint_harness::invariants;
use checkpoint_harness::protocol::ChannelEvent;
use checkpoint_harness::spec::Spec;
use checkpoint_harness::task::operator::OperatorState;
use checkpoint_harness::world::{self, Action, RpcKind};

/// The embedded `async-sink` model (source -> sink), optionally with bugs.
fn model(bugs: &[Bug]) -> Spec {
    Spec::embedded("async-sink")
        .expect("embedded")
        .with_bugs(BugSet::of(bugs))
}

mod scripted;

const SOURCE: u8 = 0;
const SINK: u8 = 1;

// Every action must be enabled where it is taken.
scripted_run!(Run);

impl Run {
    fn new(bugs: &[Bug]) -> Run {
        Run::of(model(bugs))
    }

    /// `Emit` on a task: the source emits, or the sink's oldest send completes.
    fn emit_on(&mut self, task: u8, what: &str) {
        self.take(what, |_, a| {
            *a == Action::Emit {
                task: world_task(task),
            }
        });
    }

    fn emit(&mut self) {
        self.emit_on(SOURCE, "the source emits");
    }

    fn complete_send(&mut self) {
        self.emit_on(SINK, "the sink's oldest send completes");
    }

    fn deliver_to_sink(&mut self) {
        self.take("a delivery into the sink", |_, a| {
            matches!(a, Action::Deliver { .. })
        });
    }

    /// The periodic trigger fires and the trigger RPC reaches the source, which snapshots and
    /// sends its barrier to the sink.
    fn trigger_checkpoint(&mut self) {
        self.take("the periodic trigger", |_, a| {
            matches!(a, Action::Fire { .. })
        });
        if self.enabled().contains(&Action::FinishTriggering) {
            self.take("the trigger phase ends", |_, a| {
                *a == Action::FinishTriggering
            });
        }
        self.take(
            "the trigger RPC reaches the source",
            |_, a| matches!(a, Action::DeliverRpc { rpc } if rpc.kind == RpcKind::Trigger),
        );
    }

    fn deliver_acks(&mut self) {
        while self.enabled().iter().any(is_ack) {
            self.take("an acknowledgement", |_, a| is_ack(a));
        }
    }

    fn sink(&self) -> &checkpoint_harness::task::Task {
        self.world.task(world_task(SINK))
    }

    fn in_flight(&self) -> usize {
        self.sink().operator.outstanding_sends()
    }

    fn written(&self) -> usize {
        self.world.external.records.len()
    }
}

fn world_task(index: u8) -> checkpoint_harness::protocol::TaskId {
    checkpoint_harness::protocol::TaskId(index)
}

fn is_ack(action: &Action) -> bool {
    matches!(action, Action::DeliverRpc { rpc } if rpc.kind == RpcKind::Ack)
}

fn is_sink_ack(action: &Action) -> bool {
    matches!(action, Action::DeliverRpc { rpc } if rpc.kind == RpcKind::Ack && rpc.task == world_task(SINK))
}

fn sink_inputs_offered(run: &Run) -> bool {
    run.enabled().iter().any(|a| {
        matches!(a, Action::Deliver { channel } if run.spec.channel(*channel).to == world_task(SINK))
    })
}

// ---------------------------------------------------------------------------------------------
// SinkWriterOperator.prepareSnapshotPreBarrier -> AsyncSinkWriter.flush(false)
// ---------------------------------------------------------------------------------------------

/// `FlinkKafkaProducerBaseTest#testAtLeastOnceProducer` (FLINK-4027): "the snapshot does not
/// complete while records are pending; once they are acknowledged it does". Restated: the
/// sink's snapshot waits for its send in flight, takes no input meanwhile (a record behind the
/// barrier stays queued), and acknowledges once the send completed; the completed checkpoint's
/// record is then in the external system.
#[test]
fn test_at_least_once_producer_snapshot_waits_for_pending_sends() {
    let mut run = Run::new(&[]);
    run.emit();
    run.deliver_to_sink();
    assert_eq!(
        (run.in_flight(), run.written()),
        (1, 0),
        "the record went in flight"
    );
    run.trigger_checkpoint();
    run.emit(); // A record behind the barrier.
    run.deliver_to_sink(); // The barrier: the snapshot must wait.
    assert!(
        run.sink().flush.is_some(),
        "the snapshot waits for the send"
    );
    assert!(
        !run.enabled().iter().any(is_sink_ack),
        "no acknowledgement from the sink yet"
    );
    assert!(
        !sink_inputs_offered(&run),
        "no input is taken while the sink flushes (the mailbox yields to completions only)"
    );
    assert_eq!(
        run.world.channels[0]
            .front()
            .map(|e| matches!(e, ChannelEvent::Record(_))),
        Some(true),
        "the record behind the barrier stays queued"
    );
    run.complete_send();
    assert_eq!((run.in_flight(), run.written()), (0, 1));
    assert!(run.sink().flush.is_none(), "the snapshot went on");
    assert!(
        run.enabled().iter().any(is_sink_ack),
        "the sink acknowledged"
    );
    run.deliver_acks();
    assert!(
        run.world.coordinator.store.latest().is_some(),
        "the checkpoint completed"
    );
    assert_eq!(run.current_violation(), None);
}

/// `FlinkKafkaProducerBaseTest#testDoesNotWaitForPendingRecordsIfFlushingDisabled`, the
/// injected bug `snapshot-without-flush`: "with flushing disabled the snapshot completes while a
/// record is pending". A checkpoint then covers a record the external system never got:
/// `sink-writes-cover-cut` fails when it completes; and if the send is then lost in a failure,
/// the job restored from that checkpoint never sends the record again, so it finishes without it.
#[test]
fn test_does_not_wait_for_pending_records_if_flushing_disabled() {
    let mut run = Run::new(&[Bug::SnapshotWithoutFlush]);
    run.emit();
    run.deliver_to_sink();
    run.trigger_checkpoint();
    run.deliver_to_sink(); // The barrier: snapshot with the send still in flight.
    assert!(run.sink().flush.is_none());
    assert_eq!(run.in_flight(), 1);
    run.deliver_acks();
    assert!(
        run.world.coordinator.store.latest().is_some(),
        "the checkpoint completed"
    );
    assert_eq!(run.current_violation(), Some("sink-writes-cover-cut"));

    // The send fails fatally: the task fails, the job restores the checkpoint (source offset 1).
    let mut lost = Run::new(&[Bug::SnapshotWithoutFlush]);
    lost.world = run.world.clone();
    lost.take("the send fails fatally", |w, a| {
        *a == Action::Crash {
            task: world_task(SINK),
        } && w.task(world_task(SINK)).has_outstanding_sends()
    });
    assert_eq!(
        lost.world.used.failed_sends, 1,
        "the send-failure budget was spent"
    );
    lost.take(
        "the failure report",
        |_, a| matches!(a, Action::DeliverRpc { rpc } if rpc.kind == RpcKind::TaskFailed),
    );
    assert_eq!(
        lost.current_violation(),
        Some("sink-writes-cover-cut"),
        "after the restore"
    );
    // Run to the end on the correct schedule: the record in flight is never sent again.
    let mut steps = 0;
    while !lost.world.job_done() && steps < 500 {
        let actions: Vec<Action> =
            world::enabled_with(&lost.spec, &lost.world, world::Options::healed());
        let Some(action) = actions.first().copied() else {
            break;
        };
        lost.world = world::apply(&lost.spec, &lost.world, action).expect("enabled");
        steps += 1;
    }
    assert!(lost.world.job_done(), "the job finished");
    let detail = invariants::property("end-to-end-exactly-once")
        .expect("listed")
        .check(&lost.spec, &lost.oracle, &lost.world)
        .expect_err("the finished job lacks the record lost in flight");
    assert!(detail.detail.contains("lacks [s0@0]"), "{detail}");
}

/// `AsyncSinkWriterTest#testRuntimeErrorsInSubmitRequestEntriesEndUpAsIOExceptionsWithNumOfFailedRequests`
/// ("a fatal failure of a request surfaces as an exception of the writer"), with FLINK-5701's rule
/// that a checkpoint must fail on it: a send that fails while the snapshot waits for it fails the
/// task, the checkpoint never completes, the job restarts and the source sends the record again.
#[test]
fn test_fatal_send_failure_while_flushing_fails_the_task_and_the_checkpoint() {
    let mut run = Run::new(&[]);
    run.emit();
    run.deliver_to_sink();
    run.trigger_checkpoint();
    run.deliver_to_sink();
    assert!(run.sink().flush.is_some());
    run.take("the send fails fatally", |_, a| {
        *a == Action::Crash {
            task: world_task(SINK),
        }
    });
    assert_eq!(run.world.used.failed_sends, 1);
    assert_eq!(
        run.world.used.task_crashes, 0,
        "a send failure, not a crash"
    );
    assert!(!run.sink().is_running(), "the task failed");
    run.take(
        "the failure report",
        |_, a| matches!(a, Action::DeliverRpc { rpc } if rpc.kind == RpcKind::TaskFailed),
    );
    assert!(
        run.world.coordinator.store.latest().is_none(),
        "no checkpoint completed"
    );
    assert!(
        run.world.coordinator.pending.is_empty(),
        "the checkpoint was aborted"
    );
    assert!(
        matches!(
            run.world.task(world_task(SOURCE)).operator,
            OperatorState::Source {
                offset: 0,
                ended: false
            }
        ),
        "the source rewound to the start"
    );
    assert_eq!(run.written(), 0);
    assert_eq!(run.current_violation(), None);
    // The rewind sends the record again.
    run.emit();
    run.deliver_to_sink();
    run.complete_send();
    assert_eq!(run.written(), 1);
    assert_eq!(run.current_violation(), None);
}

/// A send failure needs a send in flight: with none outstanding and no crash budget left, the
/// sink cannot fail (the `failed_sends` budget only fails sends).
#[test]
fn a_send_failure_needs_a_send_in_flight() {
    let mut run = Run::new(&[]);
    run.world.used.task_crashes = 1; // The crash budget is spent.
    let sink_fails = |run: &Run| {
        run.enabled().contains(&Action::Crash {
            task: world_task(SINK),
        })
    };
    assert!(!sink_fails(&run));
    run.emit();
    run.deliver_to_sink();
    assert!(sink_fails(&run), "a send is in flight");
    run.complete_send();
    assert!(!sink_fails(&run));
}

// ---------------------------------------------------------------------------------------------
// SinkWriterOperator.endInput -> AsyncSinkWriter.flush(true)
// ---------------------------------------------------------------------------------------------

/// `AsyncSinkWriterTest#testFlushingAtEndEnsuresBufferedRecordsArePersistedToDestination`: "after
/// flush(true) at the end of input every record is at the destination". Restated: at end of data
/// the sink yields to its sends (no RPC is taken meanwhile) and cannot finish before they
/// completed.
#[test]
fn test_flushing_at_end_ensures_buffered_records_are_persisted_to_destination() {
    let mut run = Run::new(&[]);
    run.emit();
    run.emit();
    run.emit(); // End of data.
    while sink_inputs_offered(&run) && !run.sink().end_of_data {
        run.deliver_to_sink();
    }
    assert!(run.sink().end_of_data);
    assert_eq!(run.in_flight(), 2);
    assert!(run.sink().yielding_to_sends(), "endInput flushes");
    assert!(!run.sink().ready_to_finish());
    assert!(
        !run.enabled().iter().any(|a| {
            matches!(a, Action::DeliverRpc { rpc } if rpc.task == world_task(SINK)
                && matches!(rpc.kind, RpcKind::Trigger | RpcKind::NotifyComplete | RpcKind::NotifyAborted))
        }),
        "no checkpoint RPC reaches the sink while it flushes"
    );
    run.complete_send();
    run.complete_send();
    assert_eq!(run.written(), 2);
    assert!(!run.sink().yielding_to_sends());
    assert_eq!(run.current_violation(), None);
}

/// The send completions are oldest first (Flink allows any order; the model picks one).
#[test]
fn sends_complete_oldest_first() {
    let mut run = Run::new(&[]);
    run.emit();
    run.emit();
    run.deliver_to_sink();
    run.deliver_to_sink();
    let OperatorState::AsyncSink { in_flight, .. } = &run.sink().operator else {
        panic!("an async sink");
    };
    let oldest = in_flight[0];
    run.complete_send();
    assert_eq!(run.world.external.records[0].0, oldest);
}
