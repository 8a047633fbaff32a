//! The at-least-once barrier tracker: Flink's `CheckpointBarrierTracker` (reference §2.5).
//!
//! It never blocks a channel. Several checkpoints may be tracked at once; a checkpoint triggers
//! when every open channel delivered its barrier (or ended), and completing one silently drops all
//! older incomplete ones.

use super::handler::{Effects, HandlerEffect};
use crate::system::bugs::Bug;
use crate::system::protocol::{Barrier, CheckpointId, FailureReason, InputSet};
use crate::system::spec::Spec;

/// Flink's `MAX_CHECKPOINTS_TO_TRACK`.
const MAX_TRACKED: usize = 50;

/// One checkpoint whose barriers are being counted.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TrackedCheckpoint {
    pub id: CheckpointId,
    /// `None` for an entry created by a cancellation marker.
    pub barrier: Option<Barrier>,
    pub seen: InputSet,
    pub target: u8,
    pub aborted: bool,
}

/// `CheckpointBarrierTracker` state.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Tracker {
    pub open: InputSet,
    /// Tracked checkpoints, ascending by id.
    pub pending: Vec<TrackedCheckpoint>,
    pub latest_pending_id: CheckpointId,
}

impl Tracker {
    pub fn new(inputs: usize) -> Tracker {
        Tracker {
            open: InputSet::all(inputs),
            pending: Vec::new(),
            latest_pending_id: CheckpointId::NONE,
        }
    }

    /// Triggers `pending[index]` unless aborted, and silently drops it and every older entry.
    fn complete(&mut self, index: usize, effects: &mut Effects) {
        let entry = self.pending[index].clone();
        self.pending.drain(..=index);
        if !entry.aborted {
            if let Some(barrier) = entry.barrier {
                effects.push(HandlerEffect::Trigger {
                    barrier,
                    capture: InputSet::default(),
                    forward: true,
                });
            }
        }
    }

    /// `processBarrier`.
    pub fn on_barrier(&mut self, spec: &Spec, input: u8, barrier: Barrier) -> Effects {
        let mut effects = Effects::new();
        let id = barrier.id;
        // Fast path: a single open channel triggers at once (Flink does not advance
        // `latestPendingCheckpointID` here; the task's `lastCheckpointId` drops repeats).
        if id > self.latest_pending_id && self.open.len() == 1 {
            effects.push(HandlerEffect::Trigger {
                barrier,
                capture: InputSet::default(),
                forward: true,
            });
            return effects;
        }
        if let Some(index) = self.pending.iter().position(|e| e.id == id) {
            let entry = &mut self.pending[index];
            entry.seen.insert(input as usize);
            if entry.barrier.is_none() {
                entry.barrier = Some(barrier);
            }
            if entry.seen.len() >= entry.target as u32 {
                self.complete(index, &mut effects);
            }
        } else if id > self.latest_pending_id {
            self.latest_pending_id = id;
            let mut seen = InputSet::default();
            seen.insert(input as usize);
            self.pending.push(TrackedCheckpoint {
                id,
                barrier: Some(barrier),
                seen,
                target: self.open.len() as u8,
                aborted: false,
            });
            if self.pending.len() > MAX_TRACKED {
                self.pending.remove(0);
            }
        } else if counts_obsolete_barriers(spec) {
            if let Some(last) = self.pending.len().checked_sub(1) {
                self.pending[last].seen.insert(input as usize);
                if self.pending[last].seen.len() >= self.pending[last].target as u32 {
                    self.complete(last, &mut effects);
                }
            }
        }
        effects
    }

    /// `processCancellationBarrier`.
    pub fn on_cancellation(&mut self, spec: &Spec, input: u8, id: CheckpointId) -> Effects {
        let mut effects = Effects::new();
        // BUG ignore-cancellation-marker.
        if spec.has_bug(Bug::IgnoreCancellationMarker) {
            return effects;
        }
        let abort = |id, effects: &mut Effects| {
            effects.push(HandlerEffect::Abort {
                id,
                reason: FailureReason::CheckpointDeclinedOnCancellationBarrier,
            })
        };
        if id > self.latest_pending_id && self.open.len() == 1 {
            abort(id, &mut effects);
            return effects;
        }
        // Entries older than the cancelled one can never complete: abort them.
        while self.pending.first().is_some_and(|e| e.id < id) {
            let entry = self.pending.remove(0);
            if !entry.aborted {
                abort(entry.id, &mut effects);
            }
        }
        if let Some(head) = self.pending.first_mut().filter(|e| e.id == id) {
            if !head.aborted {
                head.aborted = true;
                abort(id, &mut effects);
            }
            head.seen.insert(input as usize);
            if head.seen.len() >= head.target as u32 {
                self.pending.remove(0);
            }
        } else if id > self.latest_pending_id {
            abort(id, &mut effects);
            self.latest_pending_id = id;
            let mut seen = InputSet::default();
            seen.insert(input as usize);
            // Every older entry was removed above, so the marker goes first.
            self.pending.insert(
                0,
                TrackedCheckpoint {
                    id,
                    barrier: None,
                    seen,
                    target: self.open.len() as u8,
                    aborted: true,
                },
            );
        }
        effects
    }

    /// `processEndOfPartition` with checkpoints after tasks finish enabled: the ended channel is
    /// credited to tracked checkpoints from the newest down until one completes.
    pub fn on_end_of_partition(&mut self, input: u8) -> Effects {
        let mut effects = Effects::new();
        self.open.remove(input as usize);
        for index in (0..self.pending.len()).rev() {
            let entry = &mut self.pending[index];
            entry.seen.insert(input as usize);
            if entry.seen.len() >= entry.target as u32 {
                self.complete(index, &mut effects);
                break;
            }
        }
        effects
    }
}

/// Whether an older, unknown barrier counts toward the newest tracked checkpoint (it must not).
fn counts_obsolete_barriers(spec: &Spec) -> bool {
    // BUG obsolete-barrier-counted: an older unknown barrier counts for the newest entry.
    spec.has_bug(Bug::ObsoleteBarrierCounted)
}
