//! The exactly-once barrier handler: Flink's `SingleCheckpointBarrierHandler` with its
//! `BarrierHandlerState`s (`WaitingForFirstBarrier`, `CollectingBarriers` and the alternating /
//! unaligned variants), reference §2.4.
//!
//! It decides, per barrier, cancellation marker, end of partition or alignment timeout, whether a
//! channel blocks, when the task snapshots (`Trigger`), when an input's in-flight records stop
//! being persisted (`StopCapture`) and when the checkpoint is aborted (`Abort`). The task carries
//! out those effects. Announcements (remote-channel priority hints) are not modelled: a barrier
//! whose alignment timeout elapsed is delivered already converted to unaligned, which is what the
//! sender's output timer does in Flink.

use crate::system::bugs::Bug;
use crate::system::protocol::{Barrier, CheckpointId, FailureReason, InputSet, Tick};
use crate::system::spec::Spec;

/// Which `BarrierHandlerState` the handler is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Phase {
    /// `WaitingForFirstBarrier` / `AlternatingWaitingForFirstBarrier`.
    WaitingForFirstBarrier,
    /// `CollectingBarriers` / `AlternatingCollectingBarriers`: aligned, some channels blocked.
    CollectingBarriers,
    /// `AlternatingCollectingBarriersUnaligned`: the snapshot is taken; in-flight records of the
    /// channels still before their barrier are being persisted.
    CollectingBarriersUnaligned,
}

/// What the task must do as a consequence of one handler input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HandlerEffect {
    /// `triggerCheckpointOnBarrier`: snapshot now. `capture` lists the inputs whose in-flight
    /// records precede their (not yet received) barrier and become channel state; empty for an
    /// aligned checkpoint. `forward` is false when the barrier was already forwarded.
    Trigger {
        barrier: Barrier,
        capture: InputSet,
        forward: bool,
    },
    /// The barrier or end of partition of this input arrived: its channel state is complete.
    StopCapture { input: u8 },
    /// Injected bug only: the barrier was forwarded before alignment and snapshot.
    ForwardEarly { barrier: Barrier },
    /// `abortCheckpointOnBarrier`.
    Abort {
        id: CheckpointId,
        reason: FailureReason,
    },
}

/// `SingleCheckpointBarrierHandler` state.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SingleHandler {
    /// True when unaligned checkpoints are enabled (`SingleCheckpointBarrierHandler.alternating`).
    pub alternating: bool,
    pub current_id: CheckpointId,
    /// The last checkpoint completed or cancelled by this handler.
    pub last_done_id: CheckpointId,
    pub pending_barrier: Option<Barrier>,
    /// Inputs that delivered the barrier (or ended) for the current checkpoint.
    pub aligned: InputSet,
    /// How many open inputs the current checkpoint waits for.
    pub target: u8,
    /// Inputs that have not delivered end of partition.
    pub open: InputSet,
    /// Inputs whose consumption is suspended until the checkpoint triggers or aborts.
    pub blocked: InputSet,
    pub phase: Phase,
}

/// Results of one handler input (at most a handful).
pub type Effects = Vec<HandlerEffect>;

impl SingleHandler {
    pub fn new(inputs: usize, alternating: bool) -> SingleHandler {
        SingleHandler {
            alternating,
            current_id: CheckpointId::NONE,
            last_done_id: CheckpointId::NONE,
            pending_barrier: None,
            aligned: InputSet::default(),
            target: 0,
            open: InputSet::all(inputs),
            blocked: InputSet::default(),
            phase: Phase::WaitingForFirstBarrier,
        }
    }

    /// `isCheckpointPending`.
    pub fn is_pending(&self) -> bool {
        self.current_id != self.last_done_id && !self.current_id.is_none()
    }

    fn all_aligned(&self) -> bool {
        self.aligned.len() >= self.target as u32
    }

    /// When the active alignment timer fires, if armed (alternating handler collecting aligned
    /// barriers of a timeoutable checkpoint).
    pub fn alignment_deadline(&self, spec: &Spec) -> Option<Tick> {
        match self.pending_barrier {
            Some(barrier)
                if self.alternating
                    && self.is_pending()
                    && self.phase == Phase::CollectingBarriers
                    && barrier.is_timeoutable() =>
            {
                Some(barrier.alignment_deadline(spec.checkpointing.alignment_timeout))
            }
            _ => None,
        }
    }

    /// `processBarrier`. `is_rpc`: the barrier was fed by a trigger RPC (FLIP-147: all upstream
    /// tasks finished), so the channel is not blocked.
    pub fn on_barrier(
        &mut self,
        spec: &Spec,
        now: Tick,
        input: u8,
        barrier: Barrier,
        is_rpc: bool,
    ) -> Effects {
        let mut effects = Effects::new();
        // 1. Obsolete: an older checkpoint, or the current one already done. The channel simply
        // keeps flowing (we block only on acceptance, so there is nothing to resume).
        if self.current_id > barrier.id || (self.current_id == barrier.id && !self.is_pending()) {
            // BUG obsolete-barrier-counted: an older barrier counts toward the current alignment.
            let counted = spec.has_bug(Bug::ObsoleteBarrierCounted)
                && self.is_pending()
                && barrier.id < self.current_id;
            if !counted {
                return effects;
            }
            let current = self.pending_barrier.unwrap_or(barrier);
            self.barrier_received(spec, now, input, current, is_rpc, &mut effects);
            return effects;
        }
        // 2. A newer checkpoint subsumes the pending one (`checkNewCheckpoint`).
        if self.current_id < barrier.id {
            if self.is_pending() {
                self.abort(
                    self.current_id,
                    FailureReason::CheckpointDeclinedSubsumed,
                    &mut effects,
                );
            }
            self.current_id = barrier.id;
            self.pending_barrier = Some(barrier);
            self.aligned = InputSet::default();
            self.target = self.open.len() as u8;
            if forwards_at_first_barrier(spec) && !barrier.is_unaligned() {
                effects.push(HandlerEffect::ForwardEarly { barrier });
            }
        }
        self.barrier_received(spec, now, input, barrier, is_rpc, &mut effects);
        effects
    }

    /// Steps 3-5 of `processBarrier`: mark aligned, run the state's `barrierReceived`, finish.
    fn barrier_received(
        &mut self,
        spec: &Spec,
        now: Tick,
        input: u8,
        barrier: Barrier,
        is_rpc: bool,
        effects: &mut Effects,
    ) {
        self.aligned.insert(input as usize);
        match self.phase {
            Phase::WaitingForFirstBarrier | Phase::CollectingBarriers => {
                if barrier.is_unaligned() {
                    // "Act as timeout, then re-handle the barrier as unaligned."
                    self.switch_to_unaligned(spec, effects);
                    return;
                }
                // BUG no-block-after-barrier: the channel keeps flowing.
                if !is_rpc && !spec.has_bug(Bug::NoBlockAfterBarrier) {
                    self.blocked.insert(input as usize);
                }
                // BUG snapshot-before-all-barriers: one barrier short is enough.
                let aligned_enough = self.all_aligned()
                    || (spec.has_bug(Bug::SnapshotBeforeAllBarriers)
                        && self.aligned.len() + 1 >= self.target as u32);
                // All barriers first; only an incomplete alignment can time out passively.
                let timed_out = self.alternating
                    && barrier.passively_timed_out(now, spec.checkpointing.alignment_timeout);
                if aligned_enough {
                    self.trigger_aligned(spec, effects);
                } else if timed_out {
                    self.switch_to_unaligned(spec, effects);
                } else {
                    self.phase = Phase::CollectingBarriers;
                }
            }
            Phase::CollectingBarriersUnaligned => {
                // `AlternatingCollectingBarriersUnaligned.barrierReceived`: an aligned barrier
                // arriving out of order blocks its channel, as the credit-based network does.
                if !is_rpc && !barrier.is_unaligned() {
                    self.blocked.insert(input as usize);
                }
                self.unaligned_input_done(spec, input, effects)
            }
        }
    }

    /// An input's barrier (or end) arrived during an unaligned checkpoint: its channel state is
    /// complete, and the checkpoint is done once every input's is.
    fn unaligned_input_done(&mut self, spec: &Spec, input: u8, effects: &mut Effects) {
        effects.push(HandlerEffect::StopCapture { input });
        if self.all_aligned() {
            self.finish_unaligned(spec);
        }
    }

    /// All open inputs delivered the aligned barrier: snapshot and release every channel.
    fn trigger_aligned(&mut self, spec: &Spec, effects: &mut Effects) {
        let barrier = self
            .pending_barrier
            .expect("an aligned trigger always has a pending barrier");
        effects.push(HandlerEffect::Trigger {
            barrier,
            capture: InputSet::default(),
            forward: !forwards_at_first_barrier(spec),
        });
        self.blocked = InputSet::default();
        self.phase = Phase::WaitingForFirstBarrier;
        self.aligned = InputSet::default();
        self.last_done_id = self.current_id;
    }

    /// Switch the current checkpoint to unaligned: snapshot now and persist the in-flight records
    /// of every open input that has not delivered its barrier. Channels that already delivered
    /// their (aligned) barrier stay blocked until the last barrier arrives: Flink's
    /// `alignmentTimeout` does not resume them (FLINK-22638, reference §2.4).
    fn switch_to_unaligned(&mut self, spec: &Spec, effects: &mut Effects) {
        let barrier = self
            .pending_barrier
            .expect("switching to unaligned needs a pending barrier")
            .as_unaligned();
        let capture = self.open.minus(self.aligned);
        effects.push(HandlerEffect::Trigger {
            barrier,
            capture,
            forward: true,
        });
        if self.all_aligned() {
            self.finish_unaligned(spec);
        } else {
            self.phase = Phase::CollectingBarriersUnaligned;
        }
    }

    /// All barriers of an unaligned checkpoint arrived: reset to waiting for the next one.
    fn finish_unaligned(&mut self, _spec: &Spec) {
        self.blocked = InputSet::default();
        self.aligned = InputSet::default();
        self.last_done_id = self.current_id;
        self.phase = Phase::WaitingForFirstBarrier;
    }

    /// `processCancellationBarrier`.
    pub fn on_cancellation(&mut self, spec: &Spec, id: CheckpointId) -> Effects {
        let mut effects = Effects::new();
        // BUG ignore-cancellation-marker.
        if spec.has_bug(Bug::IgnoreCancellationMarker) {
            return effects;
        }
        if id > self.current_id || (id == self.current_id && !self.aligned.is_empty()) {
            self.abort(
                id,
                FailureReason::CheckpointDeclinedOnCancellationBarrier,
                &mut effects,
            );
        }
        effects
    }

    /// `processEndOfPartition` with checkpoints after tasks finish enabled (FLIP-147): the ended
    /// channel counts as aligned for the pending checkpoint.
    pub fn on_end_of_partition(&mut self, spec: &Spec, now: Tick, input: u8) -> Effects {
        let mut effects = Effects::new();
        self.open.remove(input as usize);
        if !self.is_pending() {
            return effects;
        }
        if !self.aligned.insert(input as usize) {
            return effects; // Already aligned by its barrier: not counted twice.
        }
        match self.phase {
            Phase::WaitingForFirstBarrier | Phase::CollectingBarriers => {
                let timed_out = self.alternating
                    && self.pending_barrier.is_some_and(|b| {
                        b.passively_timed_out(now, spec.checkpointing.alignment_timeout)
                    });
                if self.all_aligned() {
                    // BUG end-of-partition-leaves-blocked: the other inputs stay blocked.
                    let blocked = self.blocked;
                    self.trigger_aligned(spec, &mut effects);
                    if spec.has_bug(Bug::EndOfPartitionLeavesBlocked) {
                        self.blocked = blocked;
                    }
                } else if timed_out {
                    self.switch_to_unaligned(spec, &mut effects);
                } else {
                    self.phase = Phase::CollectingBarriers;
                }
            }
            Phase::CollectingBarriersUnaligned => {
                self.unaligned_input_done(spec, input, &mut effects)
            }
        }
        effects
    }

    /// The active alignment timer fired (`AlternatingCollectingBarriers.alignedCheckpointTimeout`).
    pub fn on_alignment_timeout(&mut self, spec: &Spec, now: Tick) -> Effects {
        let mut effects = Effects::new();
        if self
            .alignment_deadline(spec)
            .is_some_and(|deadline| now >= deadline)
        {
            self.switch_to_unaligned(spec, &mut effects);
        }
        effects
    }

    /// `abortInternal`: the aborted id and everything before it are done; channels resume.
    pub fn abort(&mut self, id: CheckpointId, reason: FailureReason, effects: &mut Effects) {
        self.current_id = self.current_id.max(id);
        self.last_done_id = self.last_done_id.max(id);
        self.pending_barrier = None;
        self.aligned = InputSet::default();
        self.target = 0;
        self.blocked = InputSet::default();
        self.phase = Phase::WaitingForFirstBarrier;
        effects.push(HandlerEffect::Abort { id, reason });
    }
}

/// Whether an aligned task forwards the barrier as soon as its first copy arrives (it must not:
/// forwarding and the snapshot happen together, once aligned).
fn forwards_at_first_barrier(spec: &Spec) -> bool {
    // BUG forward-barrier-before-snapshot: forward at the first barrier.
    spec.has_bug(Bug::ForwardBarrierBeforeSnapshot)
}
