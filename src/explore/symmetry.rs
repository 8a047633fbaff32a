//! Symmetry reduction over interchangeable parallel subtasks.
//!
//! A *group* is a set of operators with the same parallelism connected by forward edges. Its
//! subtasks `i` (one per member operator) form a lane; lanes are interchangeable when nothing
//! tells them apart: no member is a source, every edge entering the group from outside is a
//! broadcast (every lane receives the same records) and no edge leaves the group (nobody outside
//! sees lane numbers). Then permuting lanes maps runs to runs and preserves every invariant.
//!
//! The representative is canonical: lanes are sorted by a hash of everything attached to the lane
//! (task states, input channels, RPCs, the coordinator's and the store's entries, external
//! records), so lanes that sort equal are identical and the representative does not depend on
//! traversal order or thread count.

use crate::system::coordinator::store::CompletedCheckpoint;
use crate::system::protocol::{ChannelId, TaskId, TaskSet};
use crate::system::spec::{Partitioning, Spec};
use crate::system::world::{Action, Rpc, RpcKey, Timer, World};

/// One group of interchangeable lanes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    /// Member operators (indices into `spec.operators`), in graph order.
    pub members: Vec<usize>,
    pub parallelism: u8,
}

/// The groups of a model (empty: no symmetry to exploit). None with region failover: the
/// coordinator's per-task attempts (`Coordinator::task_attempts`) and the ghost's region
/// records are indexed by task, and relabeling does not permute them.
pub fn groups(spec: &Spec) -> Vec<Group> {
    if spec.failover == crate::system::spec::FailoverStrategy::Region {
        return Vec::new();
    }
    let count = spec.operators.len();
    let mut group_of: Vec<usize> = (0..count).collect();
    fn root(group_of: &mut [usize], x: usize) -> usize {
        let mut r = x;
        while group_of[r] != r {
            r = group_of[r];
        }
        group_of[x] = r;
        r
    }
    for edge in &spec.edges {
        if edge.partitioning == Partitioning::Forward {
            let (a, b) = (root(&mut group_of, edge.from), root(&mut group_of, edge.to));
            group_of[a.max(b)] = a.min(b);
        }
    }
    let mut groups = Vec::new();
    for leader in 0..count {
        if root(&mut group_of, leader) != leader {
            continue;
        }
        let members: Vec<usize> = (0..count)
            .filter(|&o| root(&mut group_of, o) == leader)
            .collect();
        let parallelism = spec.operators[leader].parallelism;
        let symmetric = parallelism >= 2
            && members.iter().all(|&m| !spec.operators[m].kind.is_source())
            && spec.edges.iter().all(|e| {
                let from_in = members.contains(&e.from);
                let to_in = members.contains(&e.to);
                match (from_in, to_in) {
                    (true, true) => true,
                    (false, true) => e.partitioning == Partitioning::Broadcast,
                    (true, false) => false,
                    (false, false) => true,
                }
            });
        if symmetric {
            groups.push(Group {
                members,
                parallelism,
            });
        }
    }
    groups
}

/// Whether the model has interchangeable subtasks.
pub fn applies(spec: &Spec) -> bool {
    !groups(spec).is_empty()
}

/// A relabeling of subtasks and channels (old id -> new id).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Relabeling {
    pub tasks: Vec<TaskId>,
    pub channels: Vec<ChannelId>,
}

impl Relabeling {
    pub fn identity(spec: &Spec) -> Relabeling {
        Relabeling {
            tasks: spec.task_ids().collect(),
            channels: spec.channel_ids().collect(),
        }
    }

    pub fn is_identity(&self) -> bool {
        self.tasks
            .iter()
            .enumerate()
            .all(|(i, t)| t.0 as usize == i)
    }

    pub fn task(&self, task: TaskId) -> TaskId {
        self.tasks[task.0 as usize]
    }

    fn set(&self, set: TaskSet) -> TaskSet {
        let mut out = TaskSet::default();
        for task in set.iter() {
            out.insert(self.task(task));
        }
        out
    }

    pub fn inverse(&self) -> Relabeling {
        let mut tasks = self.tasks.clone();
        for (old, new) in self.tasks.iter().enumerate() {
            tasks[new.0 as usize] = TaskId(old as u8);
        }
        let mut channels = self.channels.clone();
        for (old, new) in self.channels.iter().enumerate() {
            channels[new.0 as usize] = ChannelId(old as u8);
        }
        Relabeling { tasks, channels }
    }

    /// The relabeling that permutes the lanes of `group` by `lane_order` (new lane k is old lane
    /// `lane_order[k]`).
    fn for_lanes(spec: &Spec, group: &Group, lane_order: &[u8]) -> Relabeling {
        let mut relabeling = Relabeling::identity(spec);
        for &member in &group.members {
            let first = spec.operators[member].first_task.0;
            for (new_lane, &old_lane) in lane_order.iter().enumerate() {
                relabeling.tasks[(first + old_lane) as usize] = TaskId(first + new_lane as u8);
            }
        }
        for channel in spec.channel_ids() {
            let c = spec.channel(channel);
            let (from, to) = (relabeling.task(c.from), relabeling.task(c.to));
            let target = spec
                .channel_ids()
                .find(|d| {
                    let d_spec = spec.channel(*d);
                    d_spec.edge == c.edge && d_spec.from == from && d_spec.to == to
                })
                .expect("a lane permutation maps channels to channels");
            relabeling.channels[channel.0 as usize] = target;
        }
        relabeling
    }
}

/// What distinguishes one lane from another: a hash of everything attached to its subtasks
/// (task states, input channels, RPCs with the lane's own task ids blanked, the coordinator's and
/// the store's entries for it, its external output). Lanes are sorted by this hash; equal hashes
/// mean identical lanes (up to a 2^-64 collision, which could only cost some reduction, never
/// soundness: any lane order is a valid relabeling).
fn lane_hash(spec: &Spec, world: &World, group: &Group, lane: u8) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::hash::DefaultHasher::new();
    let tasks: Vec<TaskId> = group
        .members
        .iter()
        .map(|&m| TaskId(spec.operators[m].first_task.0 + lane))
        .collect();
    let anonymous = Relabeling {
        tasks: spec
            .task_ids()
            .map(|t| {
                if tasks.contains(&t) {
                    TaskId(u8::MAX)
                } else {
                    t
                }
            })
            .collect(),
        channels: spec.channel_ids().collect(),
    };
    let c = &world.coordinator;
    for &task in &tasks {
        world.task(task).hash(&mut hasher);
        for input in &spec.task(task).inputs {
            world.channels[input.channel.0 as usize].hash(&mut hasher);
        }
        for rpc in world.rpcs.iter().filter(|r| r.key().task == task) {
            relabel_rpc(&anonymous, rpc).hash(&mut hasher);
        }
        c.finished_tasks.contains(task).hash(&mut hasher);
        c.end_of_data.reached.contains(task).hash(&mut hasher);
        c.end_of_data.removed.contains(task).hash(&mut hasher);
        for pending in &c.pending {
            (
                pending.not_yet_acked.contains(task),
                pending.tasks_to_trigger.contains(task),
                pending.tasks_to_commit.contains(task),
                pending.finished.contains(task),
            )
                .hash(&mut hasher);
            pending
                .acks
                .iter()
                .find(|(t, _)| *t == task)
                .map(|(_, s)| s)
                .hash(&mut hasher);
        }
        for checkpoint in c.store.entries.iter().chain(world.savepoint.iter()) {
            (
                checkpoint.expected.contains(task),
                checkpoint.finished.contains(task),
            )
                .hash(&mut hasher);
            checkpoint.snapshot(task).hash(&mut hasher);
        }
        world
            .last
            .cancellation()
            .filter(|(t, _)| *t == task)
            .map(|(_, id)| id)
            .hash(&mut hasher);
        for (record, writer) in &world.external.records {
            if writer.sink == task {
                (record, writer.transaction).hash(&mut hasher);
            }
        }
        for (sink, transaction) in &world.external.committed {
            if *sink == task {
                transaction.hash(&mut hasher);
            }
        }
    }
    hasher.finish()
}

/// The canonical representative of `world`'s orbit and the relabeling that produced it.
pub fn canonicalize(spec: &Spec, groups: &[Group], world: &World) -> (World, Relabeling) {
    let mut current = world.clone();
    let mut total = Relabeling::identity(spec);
    for group in groups {
        let mut lanes: Vec<(u64, u8)> = (0..group.parallelism)
            .map(|lane| (lane_hash(spec, &current, group, lane), lane))
            .collect();
        lanes.sort();
        let order: Vec<u8> = lanes.iter().map(|(_, lane)| *lane).collect();
        if order.iter().enumerate().all(|(i, l)| i as u8 == *l) {
            continue;
        }
        let relabeling = Relabeling::for_lanes(spec, group, &order);
        current = relabel_world(spec, &current, &relabeling);
        total = compose(&total, &relabeling);
    }
    (current, total)
}

/// `second` after `first`.
fn compose(first: &Relabeling, second: &Relabeling) -> Relabeling {
    Relabeling {
        tasks: first.tasks.iter().map(|t| second.task(*t)).collect(),
        channels: first
            .channels
            .iter()
            .map(|c| second.channels[c.0 as usize])
            .collect(),
    }
}

fn relabel_rpc(r: &Relabeling, rpc: &Rpc) -> Rpc {
    let mut rpc = rpc.clone();
    match &mut rpc {
        Rpc::Trigger { task, .. }
        | Rpc::NotifyComplete { task, .. }
        | Rpc::NotifyAborted { task, .. }
        | Rpc::Ack { task, .. }
        | Rpc::Decline { task, .. }
        | Rpc::EndOfData { task, .. }
        | Rpc::TaskFinished { task, .. }
        | Rpc::TaskFailed { task, .. }
        | Rpc::SourceEvent { task, .. }
        | Rpc::SplitRequest { task, .. }
        | Rpc::TaskRunning { task, .. } => *task = r.task(*task),
    }
    rpc
}

fn relabel_checkpoint(r: &Relabeling, checkpoint: &CompletedCheckpoint) -> CompletedCheckpoint {
    let mut out = checkpoint.clone();
    out.snapshots = checkpoint
        .snapshots
        .iter()
        .map(|(t, s)| (r.task(*t), s.clone()))
        .collect();
    out.snapshots.sort_by_key(|(t, _)| *t);
    out.expected = r.set(checkpoint.expected);
    out.finished = r.set(checkpoint.finished);
    out
}

/// Applies a relabeling to every task and channel reference in a world.
pub fn relabel_world(spec: &Spec, world: &World, r: &Relabeling) -> World {
    let mut out = world.clone();
    for task in spec.task_ids() {
        out.tasks[r.task(task).0 as usize] = world.task(task).clone();
    }
    for channel in spec.channel_ids() {
        out.channels[r.channels[channel.0 as usize].0 as usize] =
            world.channels[channel.0 as usize].clone();
    }
    out.rpcs = world.rpcs.iter().map(|rpc| relabel_rpc(r, rpc)).collect();
    // Unordered: a sorted multiset. Per-pair FIFO: grouped by connection, sending order kept.
    match spec.rpc_order {
        crate::system::spec::RpcOrder::Unordered => out.rpcs.sort(),
        crate::system::spec::RpcOrder::PerPairFifo => out.rpcs.sort_by_key(|rpc| rpc.connection()),
    }
    let c = &mut out.coordinator;
    c.finished_tasks = r.set(c.finished_tasks);
    c.end_of_data.reached = r.set(c.end_of_data.reached);
    c.end_of_data.removed = r.set(c.end_of_data.removed);
    for pending in &mut c.pending {
        pending.not_yet_acked = r.set(pending.not_yet_acked);
        pending.tasks_to_trigger = r.set(pending.tasks_to_trigger);
        pending.tasks_to_commit = r.set(pending.tasks_to_commit);
        pending.finished = r.set(pending.finished);
        for (task, _) in &mut pending.acks {
            *task = r.task(*task);
        }
        pending.acks.sort_by_key(|(t, _)| *t);
    }
    c.store.entries = c
        .store
        .entries
        .iter()
        .map(|e| relabel_checkpoint(r, e))
        .collect();
    out.savepoint = world.savepoint.as_ref().map(|s| relabel_checkpoint(r, s));
    for (_, writer) in &mut out.external.records {
        writer.sink = r.task(writer.sink);
    }
    out.external.records.sort();
    for (sink, _) in &mut out.external.committed {
        *sink = r.task(*sink);
    }
    out.external.committed.sort();
    out.last.1 = world.last.1.map(|(task, id)| (r.task(task), id));
    // The world's own observations name tasks too.
    let g = &mut out.ghost;
    g.finished = r.set(g.finished);
    for (_, awaited) in &mut g.awaited {
        *awaited = r.set(*awaited);
    }
    g.just_completed = g.just_completed.map(|(id, awaited)| (id, r.set(awaited)));
    out
}

fn relabel_key(r: &Relabeling, key: RpcKey) -> RpcKey {
    RpcKey {
        task: r.task(key.task),
        ..key
    }
}

/// Applies a relabeling to an action.
pub fn relabel_action(r: &Relabeling, action: Action) -> Action {
    match action {
        Action::Deliver { channel } => Action::Deliver {
            channel: r.channels[channel.0 as usize],
        },
        Action::DeliverPriority { channel } => Action::DeliverPriority {
            channel: r.channels[channel.0 as usize],
        },
        Action::Emit { task } => Action::Emit { task: r.task(task) },
        Action::DeliverRpc { rpc } => Action::DeliverRpc {
            rpc: relabel_key(r, rpc),
        },
        Action::Fire {
            timer: Timer::Alignment { task },
        } => Action::Fire {
            timer: Timer::Alignment { task: r.task(task) },
        },
        Action::Crash { task } => Action::Crash { task: r.task(task) },
        Action::LoseRpc { rpc } => Action::LoseRpc {
            rpc: relabel_key(r, rpc),
        },
        Action::DeclineSnapshot { rpc } => Action::DeclineSnapshot {
            rpc: relabel_key(r, rpc),
        },
        other => other,
    }
}

/// Turns a path of actions taken on canonical representatives into the same run on real worlds.
pub fn decanonicalize(spec: &Spec, groups: &[Group], actions: &[Action]) -> Vec<Action> {
    let mut world = World::initial(spec);
    let (_, mut to_canonical) = canonicalize(spec, groups, &world);
    let mut actual = Vec::with_capacity(actions.len());
    for action in actions {
        let real = relabel_action(&to_canonical.inverse(), *action);
        match crate::system::world::apply(spec, &world, real) {
            Ok(next) => world = next,
            Err(_) => break,
        }
        actual.push(real);
        to_canonical = canonicalize(spec, groups, &world).1;
    }
    actual
}
