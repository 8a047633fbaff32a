//! What may happen next: the armed timers (derived from state, never stored) and the one
//! enumeration of enabled actions, in a deterministic order, shared by `enabled`, `enabled_with`
//! and `has_enabled` so that they cannot drift apart.

use super::{Action, Options, RpcKind, Timer, UserRequestKind, World};
use crate::system::coordinator::JobStatus;
use crate::system::protocol::{Barrier, ChannelEvent, ChannelId, CheckpointId, TaskId, Tick};
use crate::system::spec::{RpcOrder, Spec};
use crate::system::task::TaskStatus;

impl World {
    /// The first barrier in a channel that may overtake the records before it, and its position:
    /// an unaligned barrier, or a timeoutable one whose alignment timeout elapsed.
    pub(super) fn priority_barrier(
        &self,
        spec: &Spec,
        channel: ChannelId,
    ) -> Option<(usize, Barrier)> {
        let timeout = spec.checkpointing.alignment_timeout;
        self.channels[channel.0 as usize]
            .iter()
            .enumerate()
            .find_map(|(index, event)| match event {
                ChannelEvent::Barrier(b)
                    if b.is_unaligned()
                        || (b.is_timeoutable() && self.now >= b.alignment_deadline(timeout)) =>
                {
                    Some((index, *b))
                }
                _ => None,
            })
    }

    /// Every armed timer with its due time, in a deterministic order.
    pub fn timers(&self, spec: &Spec) -> Vec<(Tick, Timer)> {
        let mut timers = Vec::new();
        let c = &self.coordinator;
        // Armed even while the scheduler is stopped: end of data re-arms it (Flink's
        // `setIsProcessingBacklog`), and its requests then fail PERIODIC_SCHEDULER_SHUTDOWN.
        if let Some(due) = c.periodic_due.filter(|_| c.is_running()) {
            timers.push((due, Timer::Periodic));
        }
        for pending in &c.pending {
            timers.push((
                pending.expires_at,
                Timer::CheckpointTimeout {
                    checkpoint: pending.id,
                },
            ));
        }
        for (index, task) in self.tasks.iter().enumerate() {
            if let Some(due) = task.alignment_deadline(spec) {
                timers.push((
                    due.max(self.now),
                    Timer::Alignment {
                        task: TaskId(index as u8),
                    },
                ));
            }
        }
        let timeout = spec.checkpointing.alignment_timeout;
        let mut deadlines: Vec<(Tick, CheckpointId)> = Vec::new();
        for queue in &self.channels {
            for event in queue {
                if let ChannelEvent::Barrier(b) = event {
                    let due = b.alignment_deadline(timeout);
                    if b.is_timeoutable() && due > self.now && !deadlines.contains(&(due, b.id)) {
                        deadlines.push((due, b.id));
                    }
                }
            }
        }
        deadlines.sort();
        for (due, checkpoint) in deadlines {
            timers.push((due, Timer::OutputAlignment { checkpoint }));
        }
        timers
    }
}

/// Every action that may happen next, in a deterministic order (the model checker's default
/// options).
pub fn enabled(spec: &Spec, world: &World) -> Vec<Action> {
    enabled_with(spec, world, Options::exhaustive(spec))
}

/// [`enabled`] with explicit options.
pub fn enabled_with(spec: &Spec, world: &World, options: Options) -> Vec<Action> {
    let mut actions = Vec::new();
    let mut sink = Sink {
        actions: Some(&mut actions),
        found: false,
    };
    for_each_enabled(spec, world, options, &mut sink);
    actions
}

/// Whether any action is enabled under `options`; stops at the first one.
pub fn has_enabled(spec: &Spec, world: &World, options: Options) -> bool {
    let mut sink = Sink {
        actions: None,
        found: false,
    };
    for_each_enabled(spec, world, options, &mut sink);
    sink.found
}

/// Where `for_each_enabled` puts actions: a list, or just the fact that one exists.
struct Sink<'a> {
    actions: Option<&'a mut Vec<Action>>,
    found: bool,
}

impl Sink<'_> {
    fn push(&mut self, action: Action) {
        self.found = true;
        if let Some(actions) = self.actions.as_mut() {
            actions.push(action);
        }
    }

    /// Only existence was asked for, and it is known.
    fn done(&self) -> bool {
        self.actions.is_none() && self.found
    }
}

/// The one enumeration of enabled actions, in the deterministic order (shared by
/// `enabled_with` and `has_enabled` so that the two cannot drift apart).
fn for_each_enabled(spec: &Spec, world: &World, options: Options, actions: &mut Sink) {
    let running = world.coordinator.is_running();
    // A parked (non-atomic) restart: the tasks are cancelled and the job RESTARTING. Either its
    // delay elapses (the tasks are restored) or the JobManager loses leadership first. Nothing
    // else is offered meanwhile (a restriction: the cancelled tasks' last messages, timers and
    // user requests wait until the restart is over).
    if world.coordinator.parked_restart.is_some() {
        actions.push(Action::FinishTriggering);
        if options.faults && world.used.coordinator_failovers < spec.faults.coordinator_failovers {
            actions.push(Action::FailoverCoordinator);
        }
        return;
    }

    // Channels: the head of every channel whose receiver runs and has not blocked it, and the
    // first priority barrier behind records.
    for channel in spec.channel_ids() {
        let queue = &world.channels[channel.0 as usize];
        let spec_channel = spec.channel(channel);
        let receiver = world.task(spec_channel.to);
        // An async sink yielding to its sends takes no input (`MailboxExecutor.yield`).
        if queue.is_empty() || !receiver.is_running() || receiver.yielding_to_sends() {
            continue;
        }
        // A blocked input delivers nothing, priority events included: the upstream
        // subpartition of a blocked channel sends no buffer until consumption resumes.
        if receiver
            .handler
            .blocked()
            .contains(spec_channel.to_input as usize)
        {
            continue;
        }
        actions.push(Action::Deliver { channel });
        if world
            .priority_barrier(spec, channel)
            .is_some_and(|(index, _)| index > 0)
        {
            actions.push(Action::DeliverPriority { channel });
        }
    }
    if actions.done() {
        return;
    }
    // Sources, and async sinks whose oldest send may complete.
    for task in spec.task_ids() {
        let live = world.task(task);
        if live.can_emit(spec.task(task))
            || live.has_outstanding_sends()
            || live.lifecycle_step_due()
        {
            actions.push(Action::Emit { task });
        }
    }
    // RPCs (identical RPCs are offered once; per-pair FIFO offers each connection's head).
    let fifo = spec.rpc_order == RpcOrder::PerPairFifo;
    let mut last_key = None;
    let mut last_connection = None;
    for rpc in &world.rpcs {
        let key = rpc.key();
        let head = last_connection != Some(rpc.connection());
        last_connection = Some(rpc.connection());
        if last_key == Some(key) || (fifo && !head) {
            last_key = Some(key);
            continue;
        }
        last_key = Some(key);
        // An async sink yielding to its sends takes no checkpoint RPC meanwhile: those are
        // main-mailbox mails, below the sink operator's priority.
        let deliverable = !rpc.to_task()
            || (world.task(key.task).status != TaskStatus::Crashed
                && !world.task(key.task).yielding_to_sends());
        if deliverable {
            actions.push(Action::DeliverRpc { rpc: key });
        }
    }
    if world.coordinator.coordinator_snapshot.is_some() {
        actions.push(Action::FinishTriggering);
    }
    // Timers: the earliest due ones (several may share the due time), within the horizon.
    if actions.done() {
        return;
    }
    if !options.timers_last || !actions.found {
        let timers = world.timers(spec);
        if let Some(earliest) = timers.iter().map(|(due, _)| *due).min() {
            if options.horizon.is_none_or(|horizon| earliest <= horizon) {
                for (due, timer) in timers {
                    if due == earliest {
                        actions.push(Action::Fire { timer });
                    }
                }
            }
        }
    }
    // The user.
    if options.user_requests {
        let (budget, used) = (spec.user, world.used);
        if running && world.coordinator.job == JobStatus::Running {
            if used.manual_checkpoints < budget.manual_checkpoints {
                actions.push(Action::User {
                    request: UserRequestKind::ManualCheckpoint,
                });
            }
            if used.savepoints < budget.savepoints {
                actions.push(Action::User {
                    request: UserRequestKind::Savepoint,
                });
            }
            if used.stop_with_savepoint < budget.stop_with_savepoint {
                actions.push(Action::User {
                    request: UserRequestKind::StopWithSavepoint,
                });
            }
        }
    }
    if world.coordinator.job == JobStatus::Suspended && world.savepoint.is_some() {
        actions.push(Action::ResumeFromSavepoint);
        if world.older_resumes.0 < spec.user.resume_older {
            for checkpoint in world.older_checkpoints() {
                actions.push(Action::ResumeFromOlder { checkpoint });
            }
        }
    }
    // Faults, within the budget, while the job runs.
    if options.faults && running {
        let (budget, used) = (spec.faults, world.used);
        let crashes_left = used.task_crashes < budget.task_crashes;
        let send_failures_left = used.failed_sends < budget.failed_sends;
        if crashes_left || send_failures_left {
            for task in spec.task_ids() {
                let live = world.task(task);
                if live.is_running()
                    && (crashes_left || (send_failures_left && live.has_outstanding_sends()))
                {
                    actions.push(Action::Crash { task });
                }
            }
        }
        if used.coordinator_failovers < budget.coordinator_failovers {
            actions.push(Action::FailoverCoordinator);
        }
        let mut last_key = None;
        for rpc in &world.rpcs {
            let key = rpc.key();
            if last_key == Some(key) {
                continue;
            }
            last_key = Some(key);
            // Only best-effort messages can be lost; execution-state updates (end of data,
            // finished, failed) are retried and reconciled by the JobManager. An operator event
            // to a reader can be lost too (and fails the reader); a split request cannot
            // (docs/fidelity.md).
            let losable = matches!(
                key.kind,
                RpcKind::Trigger
                    | RpcKind::NotifyComplete
                    | RpcKind::NotifyAborted
                    | RpcKind::Ack
                    | RpcKind::Decline
                    | RpcKind::SourceEvent
            );
            if used.lost_rpcs < budget.lost_rpcs && losable {
                actions.push(Action::LoseRpc { rpc: key });
            }
            if used.declined_snapshots < budget.declined_snapshots && key.kind == RpcKind::Ack {
                actions.push(Action::DeclineSnapshot { rpc: key });
            }
        }
        // A new storage fault, or one armed already made possibly inconsistent.
        let arm = used.storage_failures < budget.storage_failures && !world.storage_fault_armed;
        let make_landing = world.storage_fault_armed
            && !world.storage_fault_lands
            && used.possibly_inconsistent_writes < budget.possibly_inconsistent_writes;
        if arm || make_landing {
            actions.push(Action::FailStorageWrite);
        }
        // A commit failure is offered only while some sink has a transaction awaiting its
        // commit (an outage no commit meets changes nothing but the state count).
        if world.external.broker.failed_commits < budget.failed_commits
            && spec
                .task_ids()
                .any(|t| world.task(t).is_running() && world.task(t).has_pending_commits())
        {
            actions.push(Action::FailCommit);
        }
    }
}

/// Whether nothing can happen any more (under the model checker's options).
pub fn is_quiescent(spec: &Spec, world: &World) -> bool {
    !has_enabled(spec, world, Options::exhaustive(spec))
}
