//! Partial-order reduction for the exhaustive checker: at each state, a persistent ("ample") subset
//! of the enabled actions, where that is sound for every property the checker registers, instead
//! of all of them. `check --no-reduction` turns it off.
//!
//! # What is reduced
//!
//! Only one kind of action ever forms a reduced ample set: delivering a *record* at the head of a
//! channel to a running task ("record deliveries"). At a state `s` the reduction looks at the
//! tasks in id order and, for the first task `t` that qualifies, explores only `R_t`, the enabled
//! record deliveries into `t`; everything else enabled at `s` is deferred. Otherwise `s` is fully
//! expanded. A task qualifies when all of the following hold (each is checked at `s`):
//!
//! - **S, the state is stable** (spec-level: no stop-with-savepoint budget, unlimited tolerable
//!   failures, aligned or at-least-once mode with no alignment timeout, channels following the
//!   topological order; state-level: the task-crash and JobManager-failover budgets are used up
//!   and no task-failure report is in flight). From a stable state no restore, job cancellation
//!   or resume can happen any more: a restore needs a task-failure report (sent only by a crash,
//!   or by a task failing on the abort of its synchronous savepoint, and there are none), a
//!   failure manager that fails the job (never with unlimited tolerance, except for a task-level
//!   failure of a synchronous savepoint), a JobManager failover or a resume (neither possible).
//!   Cancelling the job and resuming need stop-with-savepoint. Stability is kept by every step
//!   (budgets only grow, nothing sends a failure report). In a stable state the coordinator's
//!   actions (RPCs delivered to it, the end of its trigger phase, timers, user requests) and the
//!   remaining faults (a lost RPC, a declined snapshot, a failed storage write) touch only the
//!   coordinator, the savepoint, the storage fault flag, the ghost, the clock and the RPCs in
//!   flight, never a task, a channel or the external system; and with no alignment timeout no
//!   task reads the clock (only `passively_timed_out` and the alignment timers do, and both need
//!   a timeoutable barrier).
//! - **I, every input of `t` is settled**: each input channel of `t` either has a record at its
//!   head and is delivered by `R_t`, or is blocked by `t`'s alignment, or has ended at `t`
//!   (its end of partition was consumed). With no unaligned barriers there are no priority
//!   deliveries.
//! - **F, no finishing**: for each channel `c` (sender `u`) of `R_t`, `c` holds two events or `u`
//!   has not reached its end of data. (A task finishes, inside whichever step drains its last
//!   output, only once it is ready; readiness needs the final checkpoint, which is set only after
//!   its end of data, and its end of data is broadcast into `c` before that.)
//! - **T, no trigger for `t`**: no trigger RPC to `t` is in flight. The coordinator triggers only
//!   tasks without a running predecessor, and `u` runs while `c` is not empty (a task finishes
//!   only with its outputs drained), so none is sent before `R_t` acts either.
//! - **V, invisible**: each action of `R_t`, applied at `s`, leaves the coordinator, the ghost
//!   (but for the last step's completion, which every step clears), the external system, the RPCs
//!   in flight, the savepoint, the budgets, the clock and every other task exactly as they were,
//!   records no observation (`LastStep` empty), keeps `t` running, removes one event from its own
//!   channel and adds events only to `t`'s output channels.
//!
//! # Why it is sound
//!
//! *Independence.* Call two actions independent at a state when neither disables the other and
//! both orders reach the same world. In a stable state, a record delivery `a` on channel `c` into
//! `t` reads `t`'s state, the head of `c` and the job attempt (constant without a restore), and
//! writes `t`'s state, the head of `c` and the tails of `t`'s output channels (V). It is therefore
//! independent of: every action of another task (those write other tasks, pop other channels,
//! push at channel tails — a pop at the head of a non-empty FIFO and a push at its tail commute —
//! insert RPCs and external records into sorted multisets, which commute); every coordinator
//! action and remaining fault (S: they touch nothing `a` reads or writes); and every notification
//! (complete or aborted) delivered to `t` itself: those write the task's completion bookkeeping,
//! its pre-committed (not its open) transactions, its abort list and the external system, while a
//! record only touches the operator's open state and `t`'s outputs (there is no channel capture
//! without unaligned checkpoints). A record delivery is dependent on the other channel deliveries
//! into `t` (a join's outputs would be queued in another order), on a trigger RPC to `t`, and on
//! the faults that the budgets of S exclude.
//!
//! *Persistence (C1).* Along any path from `s` that takes no action of `R_t`, every action is
//! independent of `R_t`: the only dependent actions are other deliveries into `t` (I: inputs not
//! in `R_t` are blocked, which only `t`'s own barrier deliveries change, or ended; the channels of
//! `R_t` stay non-empty, so the same actions stay enabled and no new record delivery appears),
//! triggers to `t` (T), and restores and crashes (S). F keeps the footprint of `R_t` fixed along
//! such a path: no action of `R_t` can become the step that finishes its sender. So `R_t` is a
//! persistent set in the sense of Godefroid.
//!
//! *Non-empty (C0).* `R_t` is never empty and a state with an enabled action never gets an empty
//! ample set, so terminal (quiescent) states are exactly preserved: a persistent set's
//! selective search reaches every deadlock of the full graph.
//!
//! *Visibility (C2).* Every registered safety property reads, besides the world's observations of
//! the last step (`LastStep`, the ghost's last completion), only the coordinator, the ghost, the
//! savepoint, the external system, and — when an observation says a restore or a cancellation
//! marker just happened — the tasks and channels. V makes each reduced action leave all of these
//! unchanged and observe nothing; restores cannot happen any more (S), and a cancellation marker
//! is never delivered by a record delivery. The non-vacuity (`sometimes`) properties read only
//! the coordinator and observations. So a reduced action never turns a property's verdict in
//! either direction, and the usual argument applies: if the full graph has a path from `s` to a
//! state violating a safety property (or reaching a `sometimes` goal), either it takes an action
//! of `R_t` — then commuting that action to the front gives an equally long path from its
//! successor to the very same state — or it does not, and then the same path from any successor
//! `a(s)` ends in a state that differs from the old one only in what `a` changed, which no
//! property reads. The quiescence property (`quiescent-job-finished`) is violated only in
//! terminal states, which are preserved (C0, and a terminal state leaves no room for the second
//! case).
//!
//! *Cycles (C3).* The second case never repeats forever, because reduced steps alone cannot
//! cycle: a record delivery into `t` removes one event from a channel into `t` and adds events only
//! to channels out of `t` (V), which lead later in the topological order (S). The vector "events
//! queued into the tasks at each topological position", compared position by position from the
//! sources, strictly decreases with every reduced step, so every cycle of the reduced graph
//! passes through a fully expanded state. This is a static proviso: it holds for any search order
//! (depth-first, breadth-first, several threads) and needs no stack or visited set, so the
//! reduced graph, and its state count, are a deterministic function of the model.
//!
//! *Symmetry.* Every condition above is stated per task and channel and is invariant under the
//! permutations of interchangeable subtasks, as are the properties, so reducing the canonical
//! representatives explores a quotient of a sound reduced graph.
//!
//! Counterexamples from a reduced search are real paths of the world: `tests/reduction.rs`
//! replays them in the simulator's replay and compares verdicts with and without reduction over
//! the bug catalogue.

use crate::system::protocol::{ChannelEvent, ChannelId, CheckpointId, TaskId};
use crate::system::spec::{CheckpointMode, Spec};
use crate::system::task::TaskStatus;
use crate::system::world::{self, Action, Rpc, RpcKey, RpcKind, World};

/// What the reduction precomputes about one model.
#[derive(Clone, Debug)]
pub struct Reduction {
    /// Whether the model-level part of N holds (no-op RPC deliveries to the coordinator may be
    /// reduced).
    no_ops: bool,
    /// Whether the model-level part of R holds (no-op notifications may be reduced too).
    restore_free: bool,
    /// Whether the model-level part of S holds as well (record deliveries may be reduced).
    records: bool,
}

impl Reduction {
    /// The reduction for a model (it may never apply: then every state is fully expanded).
    pub fn new(spec: &Spec) -> Reduction {
        let restore_free = model_restore_free(spec);
        Reduction {
            no_ops: model_no_ops(spec),
            restore_free,
            records: restore_free && model_time_free(spec),
        }
    }

    /// Whether any state of this model can be reduced.
    pub fn applies(&self) -> bool {
        self.no_ops
    }

    /// The actions to explore at `world`: a persistent subset of `enabled` (the full list where
    /// no reduced set qualifies).
    pub fn ample(&self, spec: &Spec, world: &World, enabled: Vec<Action>) -> Vec<Action> {
        if !self.no_ops
            || enabled.len() <= 1
            || world.used.coordinator_failovers < spec.faults.coordinator_failovers
        {
            return enabled;
        }
        let restore_free = self.restore_free && restore_free(spec, world);
        for action in &enabled {
            if let Action::DeliverRpc { rpc } = *action {
                if no_op_forever(spec, world, rpc, restore_free) {
                    return vec![*action];
                }
            }
        }
        if self.records && restore_free {
            for task in spec.task_ids() {
                if let Some(ample) = record_deliveries(spec, world, &enabled, task) {
                    return ample;
                }
            }
        }
        enabled
    }
}

/// The model-level part of N: no resume (which would reuse checkpoint ids and restart a
/// finished job), and so few restarts that the job attempt (a `u8`) never wraps around to an
/// old attempt's number.
fn model_no_ops(spec: &Spec) -> bool {
    spec.user.stop_with_savepoint == 0
        && spec.checkpointing.tolerable_failures.is_none()
        && (spec.faults.task_crashes as u32 + spec.faults.coordinator_failovers as u32) < 200
}

/// The model-level part of R: nothing but a crash or a JobManager failover can restore, cancel
/// or resume the job.
fn model_restore_free(spec: &Spec) -> bool {
    spec.user.stop_with_savepoint == 0 && spec.checkpointing.tolerable_failures.is_none()
}

/// The model-level rest of S: no task reads the clock, no barrier overtakes, and every channel
/// leads later in the topological order.
fn model_time_free(spec: &Spec) -> bool {
    let c = &spec.checkpointing;
    let position = |task: TaskId| spec.topological_order.iter().position(|t| *t == task);
    let topological = spec
        .channels
        .iter()
        .all(|ch| matches!((position(ch.from), position(ch.to)), (Some(a), Some(b)) if a < b));
    c.alignment_timeout == 0
        && matches!(
            c.mode,
            CheckpointMode::Aligned | CheckpointMode::AtLeastOnce
        )
        && topological
}

/// The state-level part of R: no crash or failover can happen any more and no failure report
/// is in flight, so no restore, cancellation or resume can happen any more.
fn restore_free(spec: &Spec, world: &World) -> bool {
    world.used.task_crashes >= spec.faults.task_crashes
        && world.used.coordinator_failovers >= spec.faults.coordinator_failovers
        && !world
            .rpcs
            .iter()
            .any(|rpc| matches!(rpc, Rpc::TaskFailed { .. }))
}

/// N: delivering the RPC named `key` changes nothing but the RPCs in flight here, and (by its
/// kind and the state, see the module doc) in every state reachable from here, and no fault
/// can remove or change it first.
fn no_op_forever(spec: &Spec, world: &World, key: RpcKey, restore_free: bool) -> bool {
    let (budget, used) = (spec.faults, world.used);
    let losable = matches!(
        key.kind,
        RpcKind::Trigger
            | RpcKind::NotifyComplete
            | RpcKind::NotifyAborted
            | RpcKind::Ack
            | RpcKind::Decline
    );
    if losable && used.lost_rpcs < budget.lost_rpcs {
        return false;
    }
    if key.kind == RpcKind::Ack && used.declined_snapshots < budget.declined_snapshots {
        return false;
    }
    let c = &world.coordinator;
    let settled = |id: CheckpointId| id < c.next_id && c.pending(id).is_none();
    let forever = match key.kind {
        RpcKind::Ack => {
            key.attempt != c.attempt
                || !c.is_running()
                || settled(key.checkpoint)
                || c.pending(key.checkpoint)
                    .is_some_and(|p| !p.not_yet_acked.contains(key.task))
        }
        RpcKind::EndOfData | RpcKind::TaskFinished => key.attempt != c.attempt,
        RpcKind::Decline => !c.is_running() || settled(key.checkpoint),
        // A restore removes RPCs to tasks: only where none can happen any more.
        RpcKind::NotifyComplete | RpcKind::NotifyAborted if restore_free => {
            let task = world.task(key.task);
            task.status == TaskStatus::Finished
                || (key.kind == RpcKind::NotifyComplete && key.checkpoint <= task.latest_completed)
        }
        RpcKind::NotifyComplete
        | RpcKind::NotifyAborted
        | RpcKind::Trigger
        | RpcKind::TaskFailed => false,
    };
    if !forever {
        return false;
    }
    // And it is a no-op here: the world after it is the world before it, less that RPC.
    let Ok(next) = world::apply(spec, world, Action::DeliverRpc { rpc: key }) else {
        return false;
    };
    let mut expected = world.clone();
    let Some(at) = expected.rpcs.iter().position(|r| r.key() == key) else {
        return false;
    };
    expected.rpcs.remove(at);
    expected.last = Default::default();
    expected.ghost.just_completed = None;
    next == expected
}

/// `R_t` if task `t` qualifies (I, F, T, V), else `None`.
fn record_deliveries(
    spec: &Spec,
    world: &World,
    enabled: &[Action],
    task: TaskId,
) -> Option<Vec<Action>> {
    let live = world.task(task);
    if !live.is_running() || live.capture.is_some() {
        return None;
    }
    let task_spec = spec.task(task);
    let mut ample = Vec::new();
    for (index, input) in task_spec.inputs.iter().enumerate() {
        let queue = &world.channels[input.channel.0 as usize];
        let delivery = Action::Deliver {
            channel: input.channel,
        };
        let record_head = matches!(
            queue.front(),
            Some(ChannelEvent::Record(_) | ChannelEvent::EndOfData)
        );
        if record_head && enabled.contains(&delivery) {
            // F: delivering this record cannot be the step that finishes its sender.
            let sender = world.task(spec.channel(input.channel).from);
            if queue.len() < 2 && (sender.end_of_data || sender.ready_to_finish()) {
                return None;
            }
            ample.push(delivery);
        } else if !live.handler.blocked().contains(index) && live.handler.open().contains(index) {
            return None; // I: an open, unblocked input not delivered by R_t.
        }
    }
    if ample.is_empty() {
        return None;
    }
    // T: no trigger for this task in flight.
    let triggered = world
        .rpcs
        .iter()
        .any(|rpc| matches!(rpc, Rpc::Trigger { task: t, .. } if *t == task));
    if triggered {
        return None;
    }
    // V: each action, applied here, changes only what the argument allows.
    for action in &ample {
        let Action::Deliver { channel } = *action else {
            return None;
        };
        let next = world::apply(spec, world, *action).ok()?;
        if !invisible(spec, world, &next, task, channel) {
            return None;
        }
    }
    Some(ample)
}

/// V for one record delivery on `channel` into `task`, from `before` to `after`.
fn invisible(spec: &Spec, before: &World, after: &World, task: TaskId, channel: ChannelId) -> bool {
    let mut ghost = after.ghost.clone();
    ghost.just_completed = before.ghost.just_completed;
    let unchanged = after.last == Default::default()
        && after.ghost.just_completed.is_none()
        && ghost == before.ghost
        && after.now == before.now
        && after.coordinator == before.coordinator
        && rpcs_only_report_end_of_data(before, after, task)
        && after.external == before.external
        && after.savepoint == before.savepoint
        && after.used == before.used
        && after.storage_fault_armed == before.storage_fault_armed
        && after.task(task).is_running();
    if !unchanged {
        return false;
    }
    let others_unchanged = spec
        .task_ids()
        .filter(|t| *t != task)
        .all(|t| after.task(t) == before.task(t));
    if !others_unchanged {
        return false;
    }
    let outputs: Vec<_> = spec
        .task(task)
        .outputs
        .iter()
        .flat_map(|o| o.targets.iter().copied())
        .collect();
    spec.channel_ids().all(|c| {
        let (old, new) = (
            &before.channels[c.0 as usize],
            &after.channels[c.0 as usize],
        );
        if c == channel {
            new.len() + 1 == old.len() && old.iter().skip(1).eq(new.iter())
        } else if outputs.contains(&c) {
            new.len() >= old.len() && old.iter().eq(new.iter().take(old.len()))
        } else {
            new == old
        }
    })
}

/// The RPCs in flight after a reduced step: those before, plus at most end-of-data reports from
/// `task` (their content is their key, so where one is inserted among equal ones does not matter).
fn rpcs_only_report_end_of_data(before: &World, after: &World, task: TaskId) -> bool {
    if after.rpcs == before.rpcs {
        return true;
    }
    let mut rest = before.rpcs.iter().peekable();
    for rpc in &after.rpcs {
        if rest.peek() == Some(&rpc) {
            rest.next();
        } else if !matches!(rpc, Rpc::EndOfData { task: t, .. } if *t == task) {
            return false;
        }
    }
    rest.next().is_none()
}
