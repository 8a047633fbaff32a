//! `CheckpointRequestDecider`: the queue of trigger requests and the rule that picks the next one
//! to execute (reference §1.6).

use crate::system::protocol::{FailureReason, SnapshotKind, Tick};

/// Flink's `MAX_QUEUED_REQUESTS`.
pub const MAX_QUEUED_REQUESTS: usize = 1000;

/// A request to trigger a checkpoint or savepoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TriggerRequest {
    pub kind: SnapshotKind,
    /// Periodic timer (true) or user / end-of-data request (false).
    pub periodic: bool,
    /// May exceed max concurrent checkpoints (savepoints when unaligned checkpoints are off).
    pub forced: bool,
    pub created: Tick,
    /// Submission order: the stable tie-break.
    pub seq: u32,
}

impl TriggerRequest {
    /// Queue order, smallest first: savepoints, then forced, then user before periodic, then
    /// older, then submission order.
    fn priority(&self) -> (bool, bool, bool, Tick, u32) {
        (
            !self.kind.is_savepoint(),
            !self.forced,
            self.periodic,
            self.created,
            self.seq,
        )
    }
}

/// What the decider did with a submission.
#[derive(Debug, PartialEq, Eq)]
pub enum Submitted {
    Queued,
    /// A request failed with `TOO_MANY_CHECKPOINT_REQUESTS` (the new one or an evicted one).
    Rejected(TriggerRequest),
}

/// The priority queue of requests.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RequestQueue {
    pub requests: Vec<TriggerRequest>,
}

impl RequestQueue {
    /// Submit: reject the new request if the queue is full of non-periodic requests, else insert it
    /// and evict the lowest-priority one on overflow.
    pub fn submit(&mut self, request: TriggerRequest) -> Submitted {
        if self.requests.len() >= MAX_QUEUED_REQUESTS
            && self.requests.last().is_some_and(|lowest| !lowest.periodic)
        {
            return Submitted::Rejected(request);
        }
        let at = self
            .requests
            .partition_point(|r| r.priority() <= request.priority());
        self.requests.insert(at, request);
        if self.requests.len() > MAX_QUEUED_REQUESTS {
            let evicted = self.requests.pop().expect("over capacity");
            return Submitted::Rejected(evicted);
        }
        Submitted::Queued
    }

    pub fn head(&self) -> Option<&TriggerRequest> {
        self.requests.first()
    }

    pub fn pop(&mut self) -> Option<TriggerRequest> {
        if self.requests.is_empty() {
            None
        } else {
            Some(self.requests.remove(0))
        }
    }

    pub fn drain(&mut self) -> Vec<TriggerRequest> {
        std::mem::take(&mut self.requests)
    }

    pub fn len(&self) -> usize {
        self.requests.len()
    }

    pub fn is_empty(&self) -> bool {
        self.requests.is_empty()
    }
}

/// The decision for the head of the queue (`chooseRequestToExecute`).
#[derive(Debug, PartialEq, Eq)]
pub enum Decision {
    /// Nothing may run now; the head (if any) stays queued.
    Wait,
    /// Run this request.
    Execute(TriggerRequest),
    /// A periodic request violated the minimum pause: dropped, timer re-armed after `delay`.
    DropForMinPause {
        request: TriggerRequest,
        delay: Tick,
    },
}

/// The rule, in Flink's order: one trigger at a time; at max concurrency only a forced head runs;
/// a non-forced periodic head inside the minimum pause is dropped.
pub fn choose(
    queue: &mut RequestQueue,
    is_triggering: bool,
    pending: usize,
    max_concurrent: u8,
    last_completion: Tick,
    min_pause: Tick,
    now: Tick,
) -> Decision {
    let Some(head) = queue.head().copied() else {
        return Decision::Wait;
    };
    if is_triggering {
        return Decision::Wait;
    }
    if pending >= max_concurrent as usize && !head.forced {
        return Decision::Wait;
    }
    if !head.forced && head.periodic {
        let next_allowed = last_completion.saturating_add(min_pause);
        if next_allowed > now {
            queue.pop();
            return Decision::DropForMinPause {
                request: head,
                delay: next_allowed - now,
            };
        }
    }
    queue.pop();
    Decision::Execute(head)
}

/// Why a dropped request failed (for the timeline).
pub fn drop_reason() -> FailureReason {
    FailureReason::MinimumTimeBetweenCheckpoints
}
