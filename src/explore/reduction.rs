//! Partial-order reduction for the exhaustive checker: at each state, a persistent ("ample") subset
//! of the enabled actions, where that is sound for every property the checker registers, instead
//! of all of them. `check --no-reduction` turns it off. The choice is a pure function of the state
//! (no stack, no visited set), so the reduced graph and its state count do not depend on the
//! search order or the number of threads.
//!
//! # What is reduced
//!
//! Two kinds of reduced sets, tried in this order; a state where neither qualifies is fully
//! expanded.
//!
//! **Not classified: async sinks.** A model with an `async-sink` is never reduced (every state is
//! fully expanded). Its send completions (`Emit` on the sink, which writes the external system
//! and may release a deferred acknowledgement), its fatal send failures (`Crash` spending
//! `failed_sends`) and its yielding (deliveries and RPCs to it disabled while it flushes) are not
//! covered by the argument below, so they are treated as dependent on everything.
//!
//! **Not classified: split sources.** Nor is a model with a `split-source`: its operator events
//! (split requests that change the enumerator, events held by the valve and released by the end
//! of the trigger phase, a lost event that fails its reader) couple the coordinator's actions
//! with the tasks', which the argument below (under R the coordinator's actions touch no task)
//! does not cover.
//! **Not classified: lifecycle steps.** A model with a `[lifecycle]` step (`deploy_steps` or
//! `finish_steps`) is never reduced either. Its deploy and finish steps (`Emit` on a deploying or
//! finishing task) enable channel deliveries and change what the plan calculator and the trigger
//! RPCs see, its RUNNING reports are not no-ops, and notifications to a finishing task are
//! dropped although it has not finished; none of that is in the argument below.
//!
//! **Not classified: failed commits.** Nor is a model with `faults.failed_commits`: a commit
//! that runs out of retries fails its task inside a notification's delivery, a restore the
//! argument below (R: only a crash or a failover restores) does not foresee.
//!
//! **Region failover** (`failover.strategy = "region"`) adds no action either: a region restore
//! happens only inside the delivery of a task-failure report, like a global one, so R (no
//! crash budget left, no report in flight) excludes it too; it keeps every RPC to the
//! coordinator, and each task's attempt only grows (a region restart gives each of its tasks
//! its own next attempt, as Flink numbers them per execution vertex), so "an RPC of an older attempt of its task" stays a no-op forever.
//!
//! **Transaction identity** (`transactions.identity`) adds no action. Its effects ride on
//! existing ones: a record delivered into a sink with identity sends the record into its open
//! transaction in the external system, so it fails V below (checked by applying it) and is never
//! in a reduced set; the producer's `initTransactions`, the abort of lingering transactions and
//! the broker's commits happen inside restores, snapshots and notifications, which are never
//! reduced. The argument below therefore covers these models unchanged.
//!
//! **N, a no-op RPC delivery, alone.** The first enabled RPC delivery whose step changes nothing
//! but removing that RPC, here and in every state reachable from here. Which ones qualify is
//! decided by kind, from the coordinator's and tasks' step functions:
//!
//! - an acknowledgement, end-of-data or finished report of an older job attempt (every one of
//!   them is dropped on an attempt mismatch before anything is touched);
//! - an acknowledgement while the job is not running, or for a checkpoint that is settled (below
//!   the id counter and not pending), or from a task the pending checkpoint no longer waits for;
//!   a decline while the job is not running or for a settled checkpoint;
//! - only where no restore can happen any more (R below): a notification to a finished task, or a
//!   completion notification no newer than the task's latest completed checkpoint.
//!
//! It is *forever* a no-op because, with a model-level part of N (no stop-with-savepoint budget,
//! so no resume, which would reset the id counter and restart a finished job; unlimited
//! tolerable failures; fewer than 200 crashes and failovers in the budget, so the `u8` attempt
//! counter cannot wrap back) and the JobManager-failover budget used up (a new leader resets the
//! id counter and drops every RPC): the attempt only grows, the id counter only grows, a settled
//! checkpoint stays settled, a pending checkpoint's set of awaited tasks only shrinks, a finished
//! job stays finished, and (under R) a task's latest completed checkpoint only grows and a
//! finished task stays finished. The step is checked to be a no-op in the current state by
//! applying it. And nothing can remove or rewrite it first: the lost-RPC budget must be used up for
//! a losable kind and the declined-snapshot budget for an acknowledgement; a restore or a job
//! cancellation keeps every RPC to the coordinator (`retain(!to_task)`), and RPCs to tasks only
//! qualify under R.
//!
//! **R_t, record deliveries into one task.** Where S and R (or, before the crash budget is spent,
//! K) hold, the first task `t` (by id) that qualifies (I, F, T, V below): every enabled delivery
//! into `t` of a record or end-of-data event at the head of its channel.
//!
//! - **R, no restore any more**: the model-level part of N, the task-crash and failover budgets
//!   used up, and no task-failure report in flight. A restore needs a task-failure report (sent
//!   only by a crash, or by a task failing on the abort of its synchronous savepoint, and there
//!   are none), a failure manager that fails the job (never with unlimited tolerance, except for a
//!   task-level failure of a synchronous savepoint), a JobManager failover or a resume; cancelling
//!   the job needs stop-with-savepoint. R is kept by every step. Under R the coordinator's actions
//!   (RPCs delivered to it, the end of its trigger phase, timers, user requests) and the remaining
//!   faults (a lost RPC, a declined snapshot, a failed storage write) touch only the coordinator,
//!   the savepoint, the storage fault flag, the ghost, the clock and the RPCs in flight, never a
//!   task, a channel or the external system.
//! - **K, only global restores to come** (in place of R): the model-level part of R, the full
//!   failover strategy (not `region`) and the JobManager-failover budget used up; task crashes
//!   may still come and failure reports may be in flight. Every restore left is then a global
//!   one, inside the delivery of a failure report (or the parked restart after it), and it
//!   replaces every task by its restored state, clears and refills every channel and keeps the
//!   RPCs to the coordinator. Under K, V is stricter: the RPCs in flight stay as they were (an
//!   end-of-data report would outlive the restore).
//! - **S, no clock and no overtaking**: aligned or at-least-once mode with no alignment timeout
//!   (only `passively_timed_out` and the alignment timers read the clock, and both need a
//!   timeoutable barrier; no barrier is unaligned, so there are no priority deliveries and no
//!   channel capture), and every channel leads later in the topological order.
//! - **I, every input of `t` is settled**: each input channel of `t` is delivered by `R_t`, or is
//!   blocked by `t`'s alignment, or has ended at `t` (its end of partition was consumed).
//! - **F, no finishing**: for each channel `c` (sender `u`) of `R_t`, `c` holds two events or `u`
//!   has not reached its end of data. (A task finishes, inside whichever step drains its last
//!   output, only once it is ready; readiness needs the final checkpoint, which is set only after
//!   its end of data, and its end of data is broadcast into `c` first.)
//! - **T, no trigger for `t`**: no trigger RPC to `t` is in flight. The coordinator triggers only
//!   tasks without a running predecessor, and `u` runs while `c` is not empty (a task finishes
//!   only with its outputs drained), so none is sent before `R_t` acts either.
//! - **V, invisible**: each action of `R_t`, applied here, leaves the coordinator, the ghost (but
//!   for the last step's completion, which every step clears), the external system, the savepoint,
//!   the budgets, the clock and every other task as they were, only adds end-of-data reports from
//!   `t` to the RPCs in flight (their content is their key), records no observation (`LastStep`
//!   empty), keeps `t` running, removes the head of its own channel and only appends to `t`'s
//!   output channels.
//!
//! # Why it is sound
//!
//! *Independence.* Call two actions independent at a state when neither disables the other and
//! both orders reach the same world. A no-op delivery (N) writes only the RPC list, by removing
//! one RPC that no other action reads (others find their own RPC by key; per-pair FIFO only
//! looks at connection heads, and a removal at the head only enables), and what it reads stays as
//! it was (above): it is independent of every action but the faults its budgets exclude. Under R
//! and S, a delivery of a record or end of data on `c` into `t` reads `t`'s state, the head of
//! `c` and the job attempt (constant without a restore) and writes what V allows. It is
//! independent of every action of another task (those write other tasks, pop other channels,
//! append at channel tails, insert RPCs and external records into sorted multisets: a pop at the
//! head of a non-empty FIFO and a push at its tail commute, as do insertions into a multiset), of
//! every coordinator action and remaining fault (R: they touch nothing it reads or writes), and of
//! every notification (complete or aborted) delivered to `t` itself: those write the task's
//! completion bookkeeping, its pre-committed (not its open) transactions, its abort list and the
//! external system, while a record only touches the operator's open state and `t`'s outputs, and
//! end of data only `t`'s end-of-data flags. It is dependent on the other channel deliveries into
//! `t` (a join's outputs would be queued in another order), on a trigger to `t`, and on crashes
//! and restores.
//!
//! *Persistence (C1).* Along any path from the state that takes no action of the reduced set,
//! every action is independent of the set: for N there is nothing to check; for `R_t` the only
//! dependent actions are other deliveries into `t` (I: inputs not in `R_t` are blocked, which
//! only `t`'s own barrier deliveries change, or ended; the channels of `R_t` stay non-empty, so
//! the same deliveries stay enabled and no new one appears), triggers to `t` (T), and crashes and
//! restores (R). F keeps the footprint of `R_t` fixed along such a path: none of its actions can
//! become the step that finishes its sender. So each reduced set is persistent (Godefroid).
//!
//! *Non-empty (C0).* A reduced set is never empty, so terminal (quiescent) states are exactly
//! preserved: a selective search with persistent sets reaches every deadlock of the full graph.
//!
//! *Visibility (C2).* Every registered safety property reads, besides the observations of the last
//! step (`LastStep`, the ghost's last completion), only the coordinator, the ghost, the savepoint,
//! the external system, and, when an observation says a restore or a cancellation marker just
//! happened, the tasks and channels; none reads the RPCs in flight. The non-vacuity (`sometimes`)
//! properties read only the coordinator and observations. A reduced action changes none of these
//! and observes nothing (N: checked by applying it; `R_t`: V), restores cannot happen where `R_t`
//! is used (R), and a cancellation marker is never a record or end of data. So the usual argument
//! applies: if the full graph has a path from a state to one violating a safety property (or
//! reaching a `sometimes` goal), either the path takes an action of the reduced set, and
//! commuting it to the front gives an equally long path from its successor to the very same
//! state, or it does not, and then the same path from the successor ends in a state that differs
//! from the old one only in what the reduced action changed, which no property reads. The
//! quiescence property (`quiescent-job-finished`) is violated only in terminal states, which are
//! preserved (C0; a terminal state leaves no room for the second case, since a reduced action
//! stays enabled along the path).
//!
//! *Absorption (K).* Under K and not R, two more actions are dependent on a delivery `a` on `c`
//! into `t`: a crash of `t` (a crashed task takes no input, so it disables `a`) and a global
//! restore (it clears `c`). Neither reads what `a` writes: a crash replaces `t` by a crashed task
//! and sends a failure report naming `t` and the coordinator's attempt of it; a restore
//! overwrites every task and every channel from the checkpoint and keeps RPCs to the
//! coordinator, which `a` left as they were. A crash of another task writes only that task, the
//! budget and the RPCs in flight (an insertion into a sorted multiset), so it is independent of
//! `a`. Take a path from the state that does not take `a`. Up to its first crash of `t` or
//! restore, the argument above applies unchanged. At a restore, the world reached by `a` then
//! the path is the very world the path reaches: the restore absorbs `a`, and from there the two
//! coincide, properties included (they read tasks and channels right after a restore, where
//! the two are equal). Between a crash of `t` and the next restore the two worlds differ only in
//! the head of `c` (consumed by `a`, still queued on the path, where nothing can take it: `t`
//! takes no input) and in the tails of `t`'s output channels (`a`'s outputs, which no action of
//! the path reaches: their receivers pop only the heads both worlds share). No property reads
//! either, and no terminal state lies in that window: the crash's failure report is in flight,
//! an RPC to the coordinator is always deliverable, and with the job running (a crash needs it,
//! and the crashed `t` keeps it from finishing) and the attempt current its delivery restores
//! the job (an earlier restore absorbed `a` already). So the safety, non-vacuity and quiescence
//! arguments above hold under K as under R. A region restore would not absorb: it leaves the
//! other regions running and the properties judge the restored and the surviving tasks right
//! after it, so region failover keeps R.
//!
//! *Cycles (C3).* The second case never repeats forever, because reduced steps alone cannot
//! cycle: a no-op delivery removes one RPC and changes nothing else; a delivery into `t` removes
//! one event from a channel into `t` and adds events only to channels out of `t` (V), which lead
//! later in the topological order (S). The pair (events queued into the tasks at each
//! topological position, compared position by position from the sources; then the number of RPCs
//! in flight), compared lexicographically, strictly decreases with every reduced step, so every
//! cycle of the reduced graph passes through a fully expanded state. This static proviso holds
//! for every search order (depth-first, breadth-first, several threads).
//!
//! *Symmetry.* Every condition above is stated per task, channel and RPC and is invariant under
//! the permutations of interchangeable subtasks, as are the properties, so reducing the canonical
//! representatives explores a quotient of a sound reduced graph.
//!
//! Measured, not only argued: `tests/reduction.rs` compares every property's status with and
//! without reduction on small models, compares the two searches over the bug catalogue and replays
//! the reduced counterexamples; `benches/reduction.rs` reports the state counts for every model.

use crate::system::protocol::{ChannelEvent, ChannelId, CheckpointId, TaskId};
use crate::system::spec::{CheckpointMode, FailoverStrategy, OperatorKind, Spec};
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
    /// Whether the model-level part of S holds as well (record deliveries may be reduced once R
    /// holds).
    records: bool,
    /// Whether every restore is global (the full failover strategy), so that K may stand in
    /// for R: record deliveries may be reduced while task crashes are still to come, or a
    /// failure report is in flight.
    restores_absorb: bool,
}

impl Reduction {
    /// The reduction for a model (it may never apply: then every state is fully expanded).
    pub fn new(spec: &Spec) -> Reduction {
        let restore_free = model_restore_free(spec);
        // Async sinks, split sources and lifecycle steps: not classified (module doc), so
        // nothing is reduced.
        let unclassified = spec
            .tasks
            .iter()
            .any(|t| matches!(t.kind, OperatorKind::AsyncSink | OperatorKind::SplitSource))
            || spec.lifecycle.deploy_steps
            || spec.lifecycle.finish_steps
            || spec.faults.failed_commits > 0;
        Reduction {
            no_ops: model_no_ops(spec) && !unclassified,
            restore_free,
            records: restore_free && model_time_free(spec),
            restores_absorb: spec.failover == FailoverStrategy::Full,
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
        // R, or else K: a restore may still come, but only a global one, which absorbs a
        // reduced delivery (module doc).
        if self.records && (restore_free || self.restores_absorb) {
            for task in spec.task_ids() {
                if let Some(ample) = record_deliveries(spec, world, &enabled, task, restore_free) {
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
            key.attempt != c.attempt_of(key.task)
                || !c.is_running()
                || settled(key.checkpoint)
                || c.pending(key.checkpoint)
                    .is_some_and(|p| !p.not_yet_acked.contains(key.task))
        }
        RpcKind::EndOfData | RpcKind::TaskFinished | RpcKind::TaskRunning => {
            key.attempt != c.attempt_of(key.task)
        }
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
        | RpcKind::TaskFailed
        | RpcKind::SourceEvent
        | RpcKind::SplitRequest => false,
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

/// `R_t` if task `t` qualifies (I, F, T, V), else `None`. Without R (`restore_free` false, K
/// in its place) V is stricter: the RPCs in flight stay as they were.
fn record_deliveries(
    spec: &Spec,
    world: &World,
    enabled: &[Action],
    task: TaskId,
    restore_free: bool,
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
        if !invisible(spec, world, &next, task, channel)
            || (!restore_free && next.rpcs != world.rpcs)
        {
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
        && after.storage_fault_lands == before.storage_fault_lands
        && after.files == before.files
        && after.source_coordinator == before.source_coordinator
        && after.older_resumes == before.older_resumes
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
