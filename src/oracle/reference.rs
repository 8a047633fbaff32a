//! The independent reference: what every subtask's state must hold for given source offsets,
//! computed by a serial, failure-free fold of the sources' inputs through the topology.
//!
//! This module deliberately re-states everything it needs in a few lines of its own instead of
//! sharing it with the code under test, so that a bug there cannot hide by changing both sides
//! of the comparison:
//!
//! - the expansion of the declared graph ([`Layout`]): which task id is which subtask, what each
//!   source subtask emits, which input of a subtask an edge feeds, a topological order. It reads
//!   only the declared operators (name, kind, parallelism, records, keys) and edges (from, to,
//!   partitioning), never the system's expansion (`Spec::tasks`, `channels`,
//!   `topological_order`, `sources`, `key_space`, `EdgeSpec::input_side`,
//!   `OperatorSpec::first_task`) or `topology::source_records`;
//! - routing on forward, hash, rebalance and broadcast edges, with its own statement of the
//!   rebalance hash (not `topology::route`, not `Lineage::hash64`);
//! - operator semantics (not `OperatorState::process`), and what a state accounts for: from the
//!   state's own contents (join buffers, a sink's open and pre-committed transactions plus what
//!   the external output holds from its committed ones), not from the ghost digests `process`
//!   keeps, wherever the state names its records.
//!
//! The end of input is the reference's too: a `batch-flush` subtask holds every record it
//! received until every source upstream of it ended its input (`endData(DRAIN)`: exhausted, or
//! stopped with drain), and then emits them all and holds nothing (Flink's `endInput`/`finish`
//! before the barrier that follows); which sources ended comes from the cut (a source's state
//! records it, a finished source ended), which subtasks are upstream from the declaration.
//!
//! Output values ([`OutputValues`]) are the reference's too: a source record's value, a map's
//! and a join's arithmetic restated here (not `map_value`), folded over the declared operators;
//! where a keyed aggregate feeds a sink, its running counts (each key's output counts 1 to n).
//!
//! It also replays a checkpoint's captured channel state through the same semantics, so that a
//! cut taken by unaligned checkpoints (state + in-flight records) can be compared with a plain
//! fold, and it builds the cuts from what the world observed ([`Cut`]): a task may be missing
//! from a completed checkpoint only if the world saw it finish before the checkpoint was
//! triggered, whatever the coordinator planned.

use crate::system::coordinator::store::CompletedCheckpoint;
use crate::system::protocol::{
    ChannelEvent, CheckpointId, Digest, Key, Lineage, Provenance, Record, TaskId, TaskSet,
};
use crate::system::spec::{OperatorKind, Partitioning, Spec};
use crate::system::task::operator::OperatorState;
use crate::system::task::TaskStatus;
use crate::system::world::World;

/// What the reference says one subtask accounts for.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReferenceTask {
    /// Every record the subtask consumed (sources: emitted), as a sorted multiset of lineages.
    pub consumed: Vec<Lineage>,
    /// Keyed aggregation: count per key.
    pub counts: Vec<u16>,
    /// Join: left and right buffers (sorted lineages).
    pub left: Vec<Lineage>,
    pub right: Vec<Lineage>,
    /// Sources: the offset.
    pub offset: u8,
    /// Batch flush: the records still buffered (sorted lineages; empty once its input ended).
    pub buffer: Vec<Lineage>,
}

/// A subtask's part of a cut: its operator state (if it has one in the cut) and the in-flight
/// records captured at its inputs.
#[derive(Clone, Debug)]
pub struct CutTask<'a> {
    pub operator: Option<&'a OperatorState>,
    pub channel_state: Vec<(u8, Record)>,
    /// The subtask had finished (FLIP-147): it consumed all of its input.
    pub finished: bool,
}

/// The reference's own expansion of the declared graph.
///
/// The numbering is the one every task id in a world means (operators in declaration order,
/// their subtasks in order; source numbers count source subtasks the same way), derived here
/// from the declaration alone: if the system's expansion numbered, wired or fed subtasks
/// differently, the reference's expectation for a task id is about another subtask and the
/// comparison fails instead of agreeing.
#[derive(Clone, Debug)]
pub struct Layout {
    /// Per operator: the task id of its subtask 0.
    first: Vec<u8>,
    /// Per task id: (operator, subtask index).
    subtasks: Vec<(usize, u8)>,
    /// Per source number: (operator, subtask index).
    sources: Vec<(usize, u8)>,
    /// Split sources: per split, in order, its operator; split `s` of the model's split source
    /// has source number `sources.len() + s` (after every plain source subtask).
    splits: Vec<usize>,
    /// Operators, every one after all of its upstream operators.
    order: Vec<usize>,
    /// Per edge: the input side it feeds, its position among the edges into the same operator
    /// (join: the first declared is the left side).
    edge_sides: Vec<u8>,
    /// Per channel, numbered edge by edge, upstream subtask first: (receiving task, its input
    /// index). Per task id: its inputs' sides, by input index.
    channels: Vec<(TaskId, u8)>,
    sides: Vec<Vec<u8>>,
    /// Per task id: the subtasks with a channel into it.
    upstream: Vec<Vec<TaskId>>,
    /// Keys are `0..key_space` (the most keys any source declares).
    key_space: u8,
}

impl Layout {
    pub fn of(spec: &Spec) -> Layout {
        let operators = &spec.operators;
        let mut first = Vec::with_capacity(operators.len());
        let mut subtasks = Vec::new();
        let mut sources = Vec::new();
        let mut splits = Vec::new();
        for (op, declared) in operators.iter().enumerate() {
            first.push(subtasks.len() as u8);
            for index in 0..declared.parallelism {
                subtasks.push((op, index));
                if declared.kind == OperatorKind::Source {
                    sources.push((op, index));
                }
            }
            if declared.kind == OperatorKind::SplitSource {
                splits.extend((0..declared.splits).map(|_| op));
            }
        }

        // Kahn's algorithm, lowest operator first: the declared graph is acyclic (validated), so
        // every round finds one; on a cycle the rest is left out rather than looping.
        let mut order = Vec::with_capacity(operators.len());
        let mut done = vec![false; operators.len()];
        while let Some(op) = (0..operators.len())
            .find(|&op| !done[op] && spec.edges.iter().all(|e| e.to != op || done[e.from]))
        {
            done[op] = true;
            order.push(op);
        }

        let edge_sides: Vec<u8> = (0..spec.edges.len())
            .map(|edge| {
                let to = spec.edges[edge].to;
                spec.edges[..edge].iter().filter(|e| e.to == to).count() as u8
            })
            .collect();
        let mut channels = Vec::new();
        let mut sides: Vec<Vec<u8>> = vec![Vec::new(); subtasks.len()];
        let mut upstream: Vec<Vec<TaskId>> = vec![Vec::new(); subtasks.len()];
        for (edge, declared) in spec.edges.iter().enumerate() {
            let (from, to) = (&operators[declared.from], &operators[declared.to]);
            for up in 0..from.parallelism {
                let downs = match declared.partitioning {
                    Partitioning::Forward => up..up + 1,
                    _ => 0..to.parallelism,
                };
                for down in downs {
                    let receiver = first[declared.to] + down;
                    let input = &mut sides[receiver as usize];
                    channels.push((TaskId(receiver), input.len() as u8));
                    input.push(edge_sides[edge]);
                    upstream[receiver as usize].push(TaskId(first[declared.from] + up));
                }
            }
        }

        let key_space = operators
            .iter()
            .filter(|o| o.kind.is_source())
            .map(|o| o.keys)
            .max()
            .unwrap_or(0);
        Layout {
            first,
            subtasks,
            sources,
            splits,
            order,
            edge_sides,
            channels,
            sides,
            upstream,
            key_space,
        }
    }

    /// The connected components of the declared subtask graph (every channel joins its two
    /// ends), sorted by lowest task.
    pub fn components(&self) -> Vec<TaskSet> {
        let mut label: Vec<usize> = (0..self.subtasks.len()).collect();
        // Propagate the lowest label along channels until nothing changes (at most 64 tasks).
        let mut changed = true;
        while changed {
            changed = false;
            for (to, ups) in self.upstream.iter().enumerate() {
                for up in ups {
                    let (a, b) = (up.0 as usize, to);
                    let low = label[a].min(label[b]);
                    if label[a] != low || label[b] != low {
                        label[a] = low;
                        label[b] = low;
                        changed = true;
                    }
                }
            }
        }
        let mut components: Vec<TaskSet> = Vec::new();
        for lowest in 0..label.len() {
            let mut component = TaskSet::default();
            for (task, l) in label.iter().enumerate() {
                if *l == lowest {
                    component.insert(TaskId(task as u8));
                }
            }
            if !component.is_empty() {
                components.push(component);
            }
        }
        components
    }

    /// How many subtasks the declared graph has.
    pub fn len(&self) -> usize {
        self.subtasks.len()
    }

    pub fn is_empty(&self) -> bool {
        self.subtasks.is_empty()
    }

    fn task(&self, op: usize, index: u8) -> TaskId {
        TaskId(self.first[op] + index)
    }

    /// Subtasks in a topological order (all subtasks of an operator together).
    fn tasks_in_order<'a>(&'a self, spec: &'a Spec) -> impl Iterator<Item = (usize, u8)> + 'a {
        self.order
            .iter()
            .flat_map(move |&op| (0..spec.operators[op].parallelism).map(move |i| (op, i)))
    }

    /// The subtask's name as the model file spells it.
    fn name(&self, spec: &Spec, task: TaskId) -> String {
        match self.subtasks.get(task.0 as usize) {
            Some(&(op, index)) if spec.operators[op].parallelism > 1 => {
                format!("`{}#{index}`", spec.operators[op].name)
            }
            Some(&(op, _)) => format!("`{}`", spec.operators[op].name),
            None => format!("task {}", task.0),
        }
    }

    fn source_number(&self, op: usize, index: u8) -> Option<u8> {
        self.sources
            .iter()
            .position(|&s| s == (op, index))
            .map(|n| n as u8)
    }

    /// The operator whose input source number `number` is: a plain source subtask, or a split.
    fn source_operator(&self, number: u8) -> usize {
        match self.sources.get(number as usize) {
            Some(&(op, _)) => op,
            None => self.splits[number as usize - self.sources.len()],
        }
    }

    /// How many source numbers there are: plain source subtasks, then splits.
    pub fn source_numbers(&self) -> usize {
        self.sources.len() + self.splits.len()
    }

    /// Source `number` emits `records` records; the one at offset `j` has key `j mod keys`.
    fn source_record(&self, spec: &Spec, number: u8, offset: u8) -> Record {
        let op = self.source_operator(number);
        Record {
            key: offset % spec.operators[op].keys.max(1),
            value: 0, // The reference does not model values; it compares lineages.
            lineage: Lineage {
                first: Provenance {
                    source: number,
                    offset,
                },
                second: None,
            },
        }
    }

    /// The key of a source record (keys never change along the pipeline).
    fn key_of(&self, spec: &Spec, lineage: Lineage) -> Key {
        let op = self.source_operator(lineage.first.source);
        lineage.first.offset % spec.operators[op].keys.max(1)
    }

    /// The downstream subtask indices a record from subtask `up` goes to along `edge`.
    fn targets(&self, spec: &Spec, edge: usize, up: u8, record: &Record) -> Vec<u8> {
        let declared = &spec.edges[edge];
        let parallelism = spec.operators[declared.to].parallelism;
        match declared.partitioning {
            Partitioning::Forward => vec![up],
            Partitioning::Hash => vec![self.key_of(spec, record.lineage) % parallelism],
            Partitioning::Rebalance => {
                vec![(rebalance_hash(record.lineage) % parallelism as u64) as u8]
            }
            Partitioning::Broadcast => (0..parallelism).collect(),
        }
    }

    /// Routes records emitted by subtask `index` of `op` to the downstream inboxes.
    fn send(
        &self,
        spec: &Spec,
        (op, index): (usize, u8),
        records: &[Record],
        inbox: &mut [Vec<(u8, Record)>],
    ) {
        for (edge, declared) in spec.edges.iter().enumerate() {
            if declared.from != op {
                continue;
            }
            let side = self.edge_sides[edge];
            for record in records {
                for down in self.targets(spec, edge, index, record) {
                    let to = self.task(declared.to, down);
                    inbox[to.0 as usize].push((side, *record));
                }
            }
        }
    }
}

/// The rebalance partitioner's choice as the model declares it (`Partitioning::Rebalance`): the
/// splitmix64 finaliser (Steele, Lea and Flood; the constants of Vigna's reference code) of the
/// lineage packed as `first | second << 16 | 1 << 40`, a provenance packing as
/// `source << 8 | offset` and a missing second as `0xffff`. Stated here on its own so that a
/// change to the system's hash moves its records away from where the reference expects them.
fn rebalance_hash(lineage: Lineage) -> u64 {
    const GOLDEN_GAMMA: u64 = 0x9e37_79b9_7f4a_7c15;
    const ROUNDS: [(u32, u64); 2] = [(30, 0xbf58_476d_1ce4_e5b9), (27, 0x94d0_49bb_1331_11eb)];
    let pack = |p: Provenance| u64::from(p.source) * 256 + u64::from(p.offset);
    let second = lineage.second.map_or(0xffff, pack);
    let mut z = (pack(lineage.first) + second * (1 << 16) + (1 << 40)).wrapping_add(GOLDEN_GAMMA);
    for (shift, multiplier) in ROUNDS {
        z = (z ^ (z >> shift)).wrapping_mul(multiplier);
    }
    z ^ (z >> 31)
}

/// The downstream subtask index a record with this lineage takes on a rebalance edge into an
/// operator of the given parallelism, by the reference's own statement of the partitioner.
pub fn rebalance_target(lineage: Lineage, parallelism: u8) -> u8 {
    (rebalance_hash(lineage) % u64::from(parallelism.max(1))) as u8
}

/// The reference fold for the given offsets (indexed by source number), no source having ended
/// its input.
pub fn fold(spec: &Spec, offsets: &[u8]) -> Vec<ReferenceTask> {
    fold_at(spec, offsets, &[])
}

/// The reference fold for the given offsets and the sources that ended their input there
/// (`ended`, by source number; missing entries: not ended). A subtask's input ends once the
/// input of every subtask upstream of it ended.
pub fn fold_at(spec: &Spec, offsets: &[u8], ended: &[bool]) -> Vec<ReferenceTask> {
    let layout = Layout::of(spec);
    let mut input_ended = vec![false; layout.len()];
    // At least one entry per system task, so a system with more subtasks than the declaration
    // compares them with an empty expectation instead of indexing out of bounds.
    let count = layout.len().max(spec.tasks.len());
    let mut tasks = vec![ReferenceTask::default(); count];
    let mut inbox: Vec<Vec<(u8, Record)>> = vec![Vec::new(); count];
    for (op, index) in layout.tasks_in_order(spec) {
        let task = layout.task(op, index);
        let reference = &mut tasks[task.0 as usize];
        let declared = &spec.operators[op];
        let outputs: Vec<Record> = if declared.kind == OperatorKind::SplitSource {
            // Which reader reads a split is decided at run time; its edges route by the record
            // (never forward), so the fold lets subtask 0 emit every split's records.
            let mut emitted = Vec::new();
            if index == 0 {
                for split in 0..layout.splits.len() {
                    let number = (layout.sources.len() + split) as u8;
                    let offset = offsets
                        .get(number as usize)
                        .copied()
                        .unwrap_or(0)
                        .min(declared.records);
                    emitted.extend((0..offset).map(|j| layout.source_record(spec, number, j)));
                }
            }
            reference.consumed = emitted.iter().map(|r| r.lineage).collect();
            reference.consumed.sort();
            emitted
        } else if declared.kind.is_source() {
            let number = layout.source_number(op, index).expect("a source subtask");
            let offset = offsets
                .get(number as usize)
                .copied()
                .unwrap_or(0)
                .min(declared.records);
            reference.offset = offset;
            let emitted: Vec<Record> = (0..offset)
                .map(|j| layout.source_record(spec, number, j))
                .collect();
            reference.consumed = emitted.iter().map(|r| r.lineage).collect();
            reference.consumed.sort();
            input_ended[task.0 as usize] = ended.get(number as usize).copied().unwrap_or(false);
            emitted
        } else {
            let received = std::mem::take(&mut inbox[task.0 as usize]);
            let all_ended = layout.upstream[task.0 as usize]
                .iter()
                .all(|up| input_ended.get(up.0 as usize).copied().unwrap_or(false));
            input_ended[task.0 as usize] = all_ended;
            let kind = declared.kind;
            absorb(spec, &layout, kind, reference, &received, all_ended)
        };
        layout.send(spec, (op, index), &outputs, &mut inbox);
    }
    tasks
}

/// Applies the reference semantics of an operator of `kind` to received records (side, record)
/// and returns what it emits. Join pairs are emitted for every new record against everything
/// seen before it. `ended`: the subtask's input ended after these records (a batch flush then
/// emits everything it buffered, in lineage order).
fn absorb(
    spec: &Spec,
    layout: &Layout,
    kind: OperatorKind,
    reference: &mut ReferenceTask,
    received: &[(u8, Record)],
    ended: bool,
) -> Vec<Record> {
    let mut emitted = Vec::new();
    if reference.counts.is_empty() && kind == OperatorKind::KeyedAggregate {
        reference.counts = vec![0; layout.key_space as usize];
    }
    for &(side, record) in received {
        reference.consumed.push(record.lineage);
        let key = layout.key_of(spec, record.lineage);
        match kind {
            OperatorKind::Source | OperatorKind::SplitSource => {}
            OperatorKind::Map | OperatorKind::Union => emitted.push(record),
            OperatorKind::KeyedAggregate => {
                if let Some(count) = reference.counts.get_mut(key as usize) {
                    *count += 1;
                }
                emitted.push(record);
            }
            OperatorKind::Join => {
                let same_key = |p: &&Lineage| layout.key_of(spec, **p) == key;
                if side == 0 {
                    for partner in reference.right.iter().filter(same_key) {
                        emitted.push(joined(key, record.lineage, *partner));
                    }
                    reference.left.push(record.lineage);
                } else {
                    for partner in reference.left.iter().filter(same_key) {
                        emitted.push(joined(key, *partner, record.lineage));
                    }
                    reference.right.push(record.lineage);
                }
            }
            OperatorKind::BatchFlush => reference.buffer.push(record.lineage),
            OperatorKind::TwoPhaseCommitSink
            | OperatorKind::AtLeastOnceSink
            | OperatorKind::AsyncSink => {}
        }
    }
    reference.buffer.sort();
    if ended && kind == OperatorKind::BatchFlush {
        for lineage in std::mem::take(&mut reference.buffer) {
            emitted.push(Record {
                key: layout.key_of(spec, lineage),
                value: 0,
                lineage,
            });
        }
    }
    reference.consumed.sort();
    reference.left.sort();
    reference.right.sort();
    emitted
}

fn joined(key: Key, left: Lineage, right: Lineage) -> Record {
    Record {
        key,
        value: 0,
        lineage: Lineage {
            first: left.first,
            second: Some(right.first),
        },
    }
}

/// A cut as the world observed it: the states, which subtasks may be missing, and what the sinks'
/// state lineages put into the external output.
#[derive(Clone, Debug)]
pub struct Cut<'a> {
    /// By task id.
    pub tasks: Vec<CutTask<'a>>,
    /// Per task id: the records its state lineage has in the external output that the state no
    /// longer holds itself (a two-phase-commit sink's committed transactions). Empty for other
    /// kinds.
    pub written: Vec<Vec<Lineage>>,
    /// A split source's enumerator at the cut: its unassigned splits (the checkpoint's
    /// coordinator state, or the live coordinator's right after a restore).
    pub unassigned: Option<u16>,
    /// The tasks the cut is about: every task of a checkpoint's cut; right after a restore,
    /// every task of each connected component of the declared graph (`Layout::components`) that
    /// holds a restored task. A component no restore touched is live mid-stream, not a cut.
    pub judged: TaskSet,
}

impl<'a> Cut<'a> {
    /// The cut of a completed checkpoint or savepoint, checked in the step it completed.
    ///
    /// `finished` comes from the world, not from the checkpoint's `finished` set (the
    /// coordinator's plan): a task may be missing only if the world saw it finish before the
    /// checkpoint was allocated (`ghost.just_completed`, else the tasks seen finished so far).
    pub fn of_checkpoint(
        spec: &Spec,
        world: &'a World,
        checkpoint: &'a CompletedCheckpoint,
    ) -> Cut<'a> {
        let count = Layout::of(spec).len().max(spec.tasks.len());
        let finished_before = match world.ghost.just_completed {
            Some((id, awaited)) if id == checkpoint.id => TaskSet(!awaited.0),
            _ => world.ghost.finished,
        };
        let mut tasks = Vec::with_capacity(count);
        let mut written = Vec::with_capacity(count);
        for task in (0..count as u8).map(TaskId) {
            let snapshot = checkpoint.snapshot(task);
            let finished = finished_before.contains(task);
            let operator = snapshot
                .map(|s| &s.operator)
                .or_else(|| drained_source(world, task).filter(|_| finished));
            tasks.push(CutTask {
                operator,
                channel_state: snapshot
                    .map(|s| s.channel_state.clone())
                    .unwrap_or_default(),
                finished,
            });
            written.push(committed_outside(
                spec,
                world,
                task,
                operator,
                Some(checkpoint.id),
            ));
        }
        let unassigned = checkpoint.coordinator_state.map(|c| c.unassigned);
        Cut {
            tasks,
            written,
            unassigned,
            judged: TaskSet::all(count),
        }
    }

    /// The live cut right after a restore: restored states plus the records now queued on
    /// their input channels (channel state put back before live input), by the reference's own
    /// channel numbering.
    pub fn after_restore(spec: &Spec, world: &'a World) -> Cut<'a> {
        let layout = Layout::of(spec);
        let count = layout.len().max(world.tasks.len());
        // Region failover restores whole pipelined regions, which in a streaming job are the
        // connected components of the subtask graph: the reference's own components of the
        // restored tasks are judged, with every task in them, restored or not.
        let restored = world.ghost.restored;
        let mut judged = TaskSet::default();
        for component in layout.components() {
            if component.0 & restored.0 != 0 {
                judged.0 |= component.0;
            }
        }
        if restored == TaskSet::all(world.tasks.len()) {
            judged = TaskSet::all(count);
        }
        let mut channel_states: Vec<Vec<(u8, Record)>> = vec![Vec::new(); count];
        for (channel, events) in world.channels.iter().enumerate() {
            // A channel the declaration does not have: its records reach no subtask the
            // reference knows, which the comparison then reports as missing.
            let Some(&(to, input)) = layout.channels.get(channel) else {
                continue;
            };
            if !judged.contains(to) {
                continue; // A live channel of a component no restore touched: not a cut.
            }
            for event in events {
                if let ChannelEvent::Record(record) = event {
                    channel_states[to.0 as usize].push((input, *record));
                }
            }
        }
        let mut tasks = Vec::with_capacity(count);
        let mut written = Vec::with_capacity(count);
        for (index, channel_state) in channel_states.into_iter().enumerate() {
            let live = world.tasks.get(index);
            let finished = live.is_some_and(|t| t.status == TaskStatus::Finished);
            let operator = live
                .filter(|_| !finished)
                .map(|t| &t.operator)
                .or_else(|| drained_source(world, TaskId(index as u8)).filter(|_| finished));
            tasks.push(CutTask {
                operator,
                channel_state,
                finished,
            });
            written.push(committed_outside(
                spec,
                world,
                TaskId(index as u8),
                operator,
                None,
            ));
        }
        let unassigned = spec
            .operators
            .iter()
            .any(|o| o.kind == OperatorKind::SplitSource)
            .then_some(world.source_coordinator.unassigned);
        Cut {
            tasks,
            written,
            unassigned,
            judged,
        }
    }
}

/// A source's state in the terminating savepoint of a drained stop: where it stopped for good.
/// A source that finished after the drain emitted only that much, not all of its input (it is
/// restored finished and reads nothing more); one missing from the savepoint finished before.
fn drained_source(world: &World, task: TaskId) -> Option<&OperatorState> {
    let snapshot = world.ghost.drained.as_ref()?.snapshot(task)?;
    matches!(snapshot.operator, OperatorState::Source { .. }).then_some(&snapshot.operator)
}

/// What a job resumed from an older checkpoint supersedes, by sink subtask (sorted multisets of
/// lineages): at each such resume from checkpoint N, the records the external output then held
/// from the sink beyond what the reference fold at N's offsets routes to it. The stopped run
/// committed them after N; the new run rewinds to N and produces them again, so they are in
/// the output once more than the reference says (Flink's exactly-once holds per run, from the
/// restored checkpoint on). Empty without such resumes.
pub fn superseded(spec: &Spec, world: &World) -> Vec<Vec<Lineage>> {
    superseded_writes(spec, world)
        .into_iter()
        .map(|writes| {
            let mut lineages: Vec<Lineage> = writes.into_iter().map(|(l, _)| l).collect();
            lineages.sort();
            lineages
        })
        .collect()
}

/// [`superseded`] with the transaction each record was committed by (sorted).
fn superseded_writes(spec: &Spec, world: &World) -> Vec<Vec<(Lineage, Option<CheckpointId>)>> {
    let resumes = &world.ghost.older_resumes.0;
    if resumes.is_empty() {
        return Vec::new();
    }
    let layout = Layout::of(spec);
    let count = layout.len().max(world.tasks.len());
    let mut superseded = vec![Vec::new(); count];
    for resume in resumes {
        let checkpoint = &resume.checkpoint;
        // The checkpoint's own states: aligned (no channel state), tasks missing from it
        // finished before it.
        let tasks: Vec<CutTask> = (0..count as u8)
            .map(TaskId)
            .map(|task| CutTask {
                operator: checkpoint.snapshot(task).map(|s| &s.operator),
                channel_state: Vec::new(),
                finished: checkpoint.snapshot(task).is_none() && checkpoint.finished.contains(task),
            })
            .collect();
        let offsets = cut_offsets(spec, &tasks);
        let ended = cut_ended(spec, &tasks);
        let expected = fold_at(spec, &offsets, &ended);
        for (task, out) in superseded.iter_mut().enumerate() {
            let mut visible: Vec<(Lineage, Option<CheckpointId>)> = resume
                .visible
                .iter()
                .filter(|(_, writer)| writer.sink.0 as usize == task)
                .map(|(record, writer)| (record.lineage, writer.transaction))
                .collect();
            visible.sort();
            // Each lineage the fold routes to the sink at N accounts for one visible copy.
            let mut routed = expected
                .get(task)
                .map_or(Vec::new(), |r| r.consumed.clone());
            for (lineage, transaction) in visible {
                match routed.iter().position(|l| *l == lineage) {
                    Some(at) => {
                        routed.remove(at);
                    }
                    None => out.push((lineage, transaction)),
                }
            }
            out.sort();
        }
    }
    superseded
}

/// `a - b` for sorted multisets.
fn multiset_minus<T: Ord + Copy>(a: &[T], b: &[T]) -> Vec<T> {
    let (mut out, mut j) = (Vec::new(), 0);
    for x in a {
        while j < b.len() && b[j] < *x {
            j += 1;
        }
        if j < b.len() && b[j] == *x {
            j += 1;
        } else {
            out.push(*x);
        }
    }
    out
}

/// A two-phase-commit sink's committed records that its state no longer holds: those of the
/// committed transactions its state does not list as pending (up to `upto`, the cut's own
/// checkpoint; later ones were opened after the snapshot), less what a resume from an older
/// checkpoint superseded ([`superseded`]).
fn committed_outside(
    spec: &Spec,
    world: &World,
    task: TaskId,
    operator: Option<&OperatorState>,
    upto: Option<CheckpointId>,
) -> Vec<Lineage> {
    let Some(OperatorState::TwoPhaseCommitSink { pending, .. }) = operator else {
        return Vec::new();
    };
    let mut writes: Vec<(Lineage, Option<CheckpointId>)> = world
        .external
        .records
        .iter()
        .filter(|(_, writer)| writer.sink == task)
        .map(|(record, writer)| (record.lineage, writer.transaction))
        .collect();
    writes.sort();
    // What the stopped run committed and a resume from an older checkpoint superseded is not
    // this state lineage's (removed before the pending filter: the new run may have reused the
    // transaction's id).
    if let Some(old) = superseded_writes(spec, world).get(task.0 as usize) {
        writes = multiset_minus(&writes, old);
    }
    let mut lineages: Vec<Lineage> = writes
        .into_iter()
        .filter(|(_, transaction)| {
            transaction.is_some_and(|t| {
                upto.is_none_or(|upto| t <= upto) && !pending.iter().any(|p| p.checkpoint == t)
            })
        })
        .map(|(lineage, _)| lineage)
        .collect();
    lineages.sort();
    lineages
}

/// The offsets a cut implies, by source number (plain sources, then splits), with the split
/// enumerator's unassigned splits at the cut: a split a reader's state holds is at that reader's
/// position (the furthest, should two hold it), one a reader's state lists as finished and one
/// neither holds nor the enumerator (a reader that finished before the cut read it) at its end,
/// an unassigned one at 0.
pub fn cut_offsets_of(spec: &Spec, cut: &Cut) -> Vec<u8> {
    let layout = Layout::of(spec);
    let mut offsets = cut_offsets(spec, &cut.tasks);
    for (split, &op) in layout.splits.iter().enumerate() {
        let records = spec.operators[op].records;
        let mut held: Option<u8> = None;
        let mut finished = false;
        for part in &cut.tasks {
            if let Some(OperatorState::SplitReader {
                splits,
                finished: done,
                ..
            }) = part.operator
            {
                finished |= done & (1 << split) != 0;
                for &(s, offset) in splits {
                    if s as usize == split {
                        held = Some(held.map_or(offset, |h| h.max(offset)));
                    }
                }
            }
        }
        let unassigned = cut.unassigned.is_some_and(|u| u & (1 << split) != 0);
        let offset = match held {
            Some(offset) => offset,
            None if finished || !unassigned => records,
            None => 0,
        };
        offsets[layout.sources.len() + split] = offset;
    }
    offsets
}

/// The offsets a cut implies, by source number: sources' states (finished sources: all of
/// their input; sources missing from the cut: none). Splits are at 0 here (they need the
/// enumerator's state, [`cut_offsets_of`]).
pub fn cut_offsets(spec: &Spec, cut: &[CutTask]) -> Vec<u8> {
    let layout = Layout::of(spec);
    let splits = layout.splits.len();
    let mut offsets: Vec<u8> = layout
        .sources
        .iter()
        .map(|&(op, index)| {
            let part = cut.get(layout.task(op, index).0 as usize);
            match part.and_then(|p| p.operator) {
                Some(OperatorState::Source { offset, .. }) => *offset,
                _ if part.is_some_and(|p| p.finished) => spec.operators[op].records,
                _ => 0,
            }
        })
        .collect();
    offsets.extend(std::iter::repeat_n(0, splits));
    offsets
}

/// The sources that ended their input in a cut, by source number: those whose state says so and
/// those that had finished (empty where the model does not track the end of input).
pub fn cut_ended(spec: &Spec, cut: &[CutTask]) -> Vec<bool> {
    if !spec.tracks_end_of_input() {
        return Vec::new(); // No source records its end of input, and nothing depends on it.
    }
    let layout = Layout::of(spec);
    layout
        .sources
        .iter()
        .map(|&(op, index)| {
            let part = cut.get(layout.task(op, index).0 as usize);
            match part.and_then(|p| p.operator) {
                Some(OperatorState::Source { ended, .. }) => *ended,
                _ => part.is_some_and(|p| p.finished),
            }
        })
        .collect()
}

/// The effective content of a cut: each subtask's state with the cut's captured channel state
/// replayed through the reference semantics (in topological order, so records captured upstream
/// reach downstream subtasks too). Returns, per subtask, the digest of what it accounts for, its
/// counts (aggregations) and its join buffers; `None` for subtasks that finished.
///
/// A subtask missing from the cut that is not marked finished, or channel state on an input the
/// subtask does not have, is an error: the cut is not a consistent snapshot of the job.
pub fn replay(spec: &Spec, cut: &Cut) -> Result<Vec<Option<Effective>>, String> {
    replay_parts(spec, &cut.tasks, Some(&cut.written))
}

/// The replay of a bare cut, trusting the states' ghost digests and skipping subtasks missing
/// from it: the entry point of callers that have no [`Cut`] (no world) at hand. Prefer
/// [`replay`].
pub fn replay_cut(spec: &Spec, cut: &[CutTask]) -> Vec<Option<Effective>> {
    let lenient: Vec<CutTask> = cut
        .iter()
        .map(|part| CutTask {
            finished: part.finished || part.operator.is_none(),
            ..part.clone()
        })
        .collect();
    // Marked finished, a missing subtask is no error; only channel state on an input that does
    // not exist is, and indexing it failed loudly before too.
    replay_parts(spec, &lenient, None).expect("channel state on an existing input")
}

fn replay_parts(
    spec: &Spec,
    cut: &[CutTask],
    written: Option<&[Vec<Lineage>]>,
) -> Result<Vec<Option<Effective>>, String> {
    let layout = Layout::of(spec);
    let count = layout.len().max(cut.len());
    let mut result: Vec<Option<Effective>> = vec![None; count];
    let mut inbox: Vec<Vec<(u8, Record)>> = vec![Vec::new(); count];
    for (op, index) in layout.tasks_in_order(spec) {
        let task = layout.task(op, index);
        let name = || layout.name(spec, task);
        let part = cut.get(task.0 as usize);
        let mut received = std::mem::take(&mut inbox[task.0 as usize]);
        for &(input, record) in part.map_or(&[][..], |p| &p.channel_state) {
            let side = layout.sides[task.0 as usize]
                .get(input as usize)
                .ok_or_else(|| {
                    format!(
                        "{} captured channel state on input {input}, which it does not have",
                        name()
                    )
                })?;
            received.push((*side, record));
        }
        let Some(operator) = part.and_then(|p| p.operator) else {
            if part.is_some_and(|p| p.finished) {
                continue; // Finished: it consumed all of its input; nothing of it to compare.
            }
            return Err(format!(
                "{} has no state in the cut although the world did not see it finish before the checkpoint was triggered",
                name()
            ));
        };
        let kind = spec.operators[op].kind;
        let outside = written
            .and_then(|w| w.get(task.0 as usize))
            .map(Vec::as_slice);
        let mut effective = Effective::from_state(operator, outside);
        let mut reference = ReferenceTask {
            counts: effective.counts.clone(),
            left: effective.left.clone(),
            right: effective.right.clone(),
            buffer: effective.buffer.clone(),
            ..ReferenceTask::default()
        };
        // Captured channel state is replayed into the state as records only (a batch flush
        // models aligned checkpoints only, which capture none).
        let emitted = absorb(spec, &layout, kind, &mut reference, &received, false);
        for (_, record) in &received {
            effective.digest.add(record.lineage);
        }
        effective.counts = reference.counts;
        effective.left = reference.left;
        effective.right = reference.right;
        effective.buffer = reference.buffer;
        layout.send(spec, (op, index), &emitted, &mut inbox);
        result[task.0 as usize] = Some(effective);
    }
    Ok(result)
}

/// A subtask's effective state in a cut.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Effective {
    pub digest: Digest,
    pub counts: Vec<u16>,
    pub left: Vec<Lineage>,
    pub right: Vec<Lineage>,
    /// A batch flush's buffered records (sorted lineages).
    pub buffer: Vec<Lineage>,
    pub offset: Option<u8>,
    /// Whether the state accounts for its records (stateless operators do not).
    pub stateful: bool,
}

impl Effective {
    /// What a state accounts for, from its own contents where it names its records.
    ///
    /// - A join names its buffered records.
    /// - A two-phase-commit sink names its open and pre-committed transactions. Its committed
    ///   ones are in the external output, which `written` lists (`None`: no world at hand, so
    ///   the ghost digest `process` keeps stands in).
    /// - An aggregation's state is its counts, compared with the reference's own counts; only
    ///   the digest that adds the records' names is the ghost.
    /// - An at-least-once sink keeps no state at all: the external output holds every attempt's
    ///   writes, which cannot be cut at the snapshot, so only its ghost digest can be. An async
    ///   sink is the same (its snapshot never holds sends in flight); what it wrote is judged
    ///   from the external output by `sink-writes-cover-cut`.
    fn from_state(operator: &OperatorState, written: Option<&[Lineage]>) -> Effective {
        let mut effective = Effective::default();
        match operator {
            OperatorState::Source { offset, .. } => effective.offset = Some(*offset),
            OperatorState::BatchFlush { buffered } => {
                effective.stateful = true;
                effective.buffer = buffered.iter().map(|r| r.lineage).collect();
                effective.digest = Digest::of(&effective.buffer);
            }
            OperatorState::SplitReader { .. } => {}
            OperatorState::Map | OperatorState::Union => {}
            OperatorState::KeyedAggregate { counts, absorbed } => {
                effective.stateful = true;
                effective.counts = counts.clone();
                effective.digest = *absorbed;
            }
            OperatorState::Join { left, right } => {
                effective.stateful = true;
                effective.left = left.iter().map(|r| r.lineage).collect();
                effective.right = right.iter().map(|r| r.lineage).collect();
                effective.digest = Digest::of(effective.left.iter().chain(&effective.right));
            }
            OperatorState::TwoPhaseCommitSink {
                current,
                pending,
                absorbed,
                ..
            } => {
                effective.stateful = true;
                effective.digest = match written {
                    Some(written) => {
                        let held = current
                            .iter()
                            .chain(pending.iter().flat_map(|t| &t.records))
                            .map(|r| &r.lineage);
                        Digest::of(held.chain(written))
                    }
                    None => *absorbed,
                };
            }
            OperatorState::AtLeastOnceSink { absorbed }
            | OperatorState::AsyncSink { absorbed, .. } => {
                effective.stateful = true;
                effective.digest = *absorbed;
            }
        }
        effective
    }
}

/// The multiset of lineages the sinks must hold once every source emitted all of its input (and
/// so ended it).
pub fn full_output(spec: &Spec) -> Vec<Lineage> {
    let layout = Layout::of(spec);
    let offsets: Vec<u8> = (0..layout.source_numbers())
        .map(|number| spec.operators[layout.source_operator(number as u8)].records)
        .collect();
    let ended = vec![true; offsets.len()];
    sink_output(spec, &fold_at(spec, &offsets, &ended))
}

/// The multiset of lineages the sinks must hold once a job stopped with drain finished: what
/// the sources emitted before the terminating savepoint (its offsets; a source missing from it
/// had finished, so emitted everything), every operator's input ended and flushed
/// (`SavepointType.terminate`: the job is not resumed from there).
pub fn drained_output(spec: &Spec, world: &World, savepoint: &CompletedCheckpoint) -> Vec<Lineage> {
    let cut = Cut::of_checkpoint(spec, world, savepoint);
    let offsets = cut_offsets(spec, &cut.tasks);
    let ended = vec![true; offsets.len()];
    sink_output(spec, &fold_at(spec, &offsets, &ended))
}

/// The union of what the sinks consumed in a fold.
pub fn sink_output(spec: &Spec, fold: &[ReferenceTask]) -> Vec<Lineage> {
    let layout = Layout::of(spec);
    let mut all: Vec<Lineage> = layout
        .subtasks
        .iter()
        .enumerate()
        .filter(|(_, (op, _))| spec.operators[*op].kind.is_sink())
        .flat_map(|(task, _)| fold[task].consumed.iter().copied())
        .collect();
    all.sort();
    all
}

/// The values the output records must carry, from the declaration alone: a source record `j`
/// has value `j + 1` (the model format's definition), a map turns `v` into `3v + 1` (wrapping),
/// a join adds its two sides' values (wrapping), unions and batch flushes pass records on. A
/// record derived through a keyed aggregate may carry any value: the aggregate emits its running
/// count, which depends on the order its key's records arrived in, and its state is judged by
/// the cut checks instead.
///
/// Values do not depend on which subtask a record passed, so this is a fold over operators: per
/// sink operator, each lineage it receives and the values it may carry (several where paths with
/// different operators meet).
#[derive(Clone, Debug)]
pub struct OutputValues {
    layout: Layout,
    by_sink: std::collections::BTreeMap<usize, Values>,
    /// The sink operators fed by one keyed aggregate and nothing else, where that aggregate
    /// counts each key in one subtask: each record there carries its key's running count, so
    /// once every record is out exactly once, a key's values are 1, 2, ..., n (in whatever
    /// order its records arrived).
    counted: std::collections::BTreeSet<usize>,
}

/// Per lineage, the values a record of it may carry (`None`: any).
type Values = std::collections::BTreeMap<Lineage, std::collections::BTreeSet<Option<u16>>>;

impl OutputValues {
    pub fn of(spec: &Spec) -> OutputValues {
        let layout = Layout::of(spec);
        let mut emitted: Vec<Values> = vec![Values::new(); spec.operators.len()];
        let mut by_sink = std::collections::BTreeMap::new();
        let mut counted = std::collections::BTreeSet::new();
        for &op in &layout.order {
            let declared = &spec.operators[op];
            // Per input side: every record the operator receives there.
            let mut sides: Vec<Values> = Vec::new();
            for (edge, e) in spec.edges.iter().enumerate().filter(|(_, e)| e.to == op) {
                let side = layout.edge_sides[edge] as usize;
                if sides.len() <= side {
                    sides.resize(side + 1, Values::new());
                }
                for (lineage, values) in &emitted[e.from] {
                    sides[side]
                        .entry(*lineage)
                        .or_default()
                        .extend(values.iter().copied());
                }
            }
            let mut all = Values::new();
            for side in &sides {
                for (lineage, values) in side {
                    all.entry(*lineage)
                        .or_default()
                        .extend(values.iter().copied());
                }
            }
            let transform = |f: fn(u16) -> Option<u16>| -> Values {
                all.iter()
                    .map(|(l, vs)| (*l, vs.iter().map(|v| v.and_then(f)).collect()))
                    .collect()
            };
            emitted[op] = match declared.kind {
                OperatorKind::Source | OperatorKind::SplitSource => {
                    let mut out = Values::new();
                    for number in 0..layout.source_numbers() as u8 {
                        if layout.source_operator(number) != op {
                            continue;
                        }
                        for j in 0..declared.records {
                            let lineage = layout.source_record(spec, number, j).lineage;
                            out.entry(lineage).or_default().insert(Some(j as u16 + 1));
                        }
                    }
                    out
                }
                OperatorKind::Map => transform(|v| Some(v.wrapping_mul(3).wrapping_add(1))),
                OperatorKind::Union | OperatorKind::BatchFlush => all,
                OperatorKind::KeyedAggregate => transform(|_| None),
                OperatorKind::Join => {
                    let (left, right) = match sides.as_slice() {
                        [left, right, ..] => (left.clone(), right.clone()),
                        _ => (Values::new(), Values::new()),
                    };
                    let mut out = Values::new();
                    for (l, lvs) in &left {
                        for (r, rvs) in &right {
                            if layout.key_of(spec, *l) != layout.key_of(spec, *r) {
                                continue;
                            }
                            let values = out.entry(joined(0, *l, *r).lineage).or_default();
                            for lv in lvs {
                                for rv in rvs {
                                    values.insert(lv.zip(*rv).map(|(a, b)| a.wrapping_add(b)));
                                }
                            }
                        }
                    }
                    out
                }
                OperatorKind::TwoPhaseCommitSink
                | OperatorKind::AtLeastOnceSink
                | OperatorKind::AsyncSink => {
                    by_sink.insert(op, all);
                    let mut feeders = spec.edges.iter().filter(|e| e.to == op).map(|e| e.from);
                    let first = feeders.next();
                    // Each key counted in one place: the aggregate runs once, or every edge into
                    // it partitions by key (a broadcast or rebalance into two subtasks counts a
                    // key in each).
                    let counts_each_key_once = |aggregate: usize| {
                        spec.operators[aggregate].parallelism == 1
                            || spec
                                .edges
                                .iter()
                                .filter(|e| e.to == aggregate)
                                .all(|e| e.partitioning == Partitioning::Hash)
                    };
                    if first.is_some_and(|f| {
                        spec.operators[f].kind == OperatorKind::KeyedAggregate
                            && counts_each_key_once(f)
                            && feeders.all(|other| other == f)
                    }) {
                        counted.insert(op);
                    }
                    Values::new()
                }
            };
        }
        OutputValues {
            layout,
            by_sink,
            counted,
        }
    }

    /// Where a keyed aggregate feeds the sinks directly: the values its output must carry once
    /// the output is complete and exactly once. For each such sink operator and key, the
    /// values written (`records`: value and lineage, by sink subtask) must be exactly 1..=n.
    /// Returns the first (sink operator's declared index, key, sorted values) that is not.
    pub fn miscounted<'a>(
        &self,
        spec: &Spec,
        records: impl Iterator<Item = (TaskId, &'a Record)>,
    ) -> Option<(usize, Key, Vec<u16>)> {
        let mut by_key: std::collections::BTreeMap<(usize, Key), Vec<u16>> = Default::default();
        for (sink, record) in records {
            let Some(&(op, _)) = self.layout.subtasks.get(sink.0 as usize) else {
                continue;
            };
            if self.counted.contains(&op) {
                let key = self.layout.key_of(spec, record.lineage);
                by_key.entry((op, key)).or_default().push(record.value);
            }
        }
        by_key.into_iter().find_map(|((op, key), mut values)| {
            values.sort_unstable();
            let counts = values.iter().zip(1u16..).all(|(v, n)| *v == n);
            (!counts).then_some((op, key, values))
        })
    }

    /// The values a record of `lineage` written by sink subtask `sink` may carry; `None` where
    /// the reference does not expect the lineage there (the lineage checks judge that) or any
    /// value will do.
    pub fn expected(
        &self,
        sink: TaskId,
        lineage: Lineage,
    ) -> Option<&std::collections::BTreeSet<Option<u16>>> {
        let &(op, _) = self.layout.subtasks.get(sink.0 as usize)?;
        let values = self.by_sink.get(&op)?.get(&lineage)?;
        (!values.contains(&None)).then_some(values)
    }
}
