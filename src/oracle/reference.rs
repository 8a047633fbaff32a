//! The independent reference: what every subtask's state must hold for given source offsets,
//! computed by a serial, failure-free fold of the sources' inputs through the topology.
//!
//! This module deliberately re-states routing and operator semantics in a few lines of its own
//! instead of calling the code under test (`topology::route`, `OperatorState::process`): a bug
//! there must not be able to hide by changing both sides of the comparison. It also replays a
//! checkpoint's captured channel state through the same reference semantics, so that a cut taken
//! by unaligned checkpoints (state + in-flight records) can be compared with a plain fold.

use crate::system::protocol::{Digest, Key, Lineage, Record, TaskId};
use crate::system::spec::{OperatorKind, Partitioning, Spec};
use crate::system::task::operator::OperatorState;

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

/// The reference fold for the given offsets (indexed by source index).
pub fn fold(spec: &Spec, offsets: &[u8]) -> Vec<ReferenceTask> {
    let mut tasks = vec![ReferenceTask::default(); spec.tasks.len()];
    let mut inbox: Vec<Vec<(u8, Record)>> = vec![Vec::new(); spec.tasks.len()];
    for &task in &spec.topological_order {
        let task_spec = spec.task(task);
        let reference = &mut tasks[task.0 as usize];
        let outputs: Vec<Record> = match task_spec.kind {
            OperatorKind::Source => {
                let source = task_spec.source_index.expect("sources have an index") as usize;
                let offset = offsets.get(source).copied().unwrap_or(0);
                reference.offset = offset;
                task_spec.input_records[..offset as usize].to_vec()
            }
            _ => {
                let received = std::mem::take(&mut inbox[task.0 as usize]);
                absorb(spec, task, reference, &received)
            }
        };
        reference.consumed.extend(
            outputs
                .iter()
                .filter(|_| task_spec.kind.is_source())
                .map(|r| r.lineage),
        );
        reference.consumed.sort();
        send(spec, task, &outputs, &mut inbox);
    }
    tasks
}

/// Applies the reference semantics of `task` to received records (side, record) and returns what
/// it emits. Join pairs are emitted for every new record against everything seen before it.
fn absorb(
    spec: &Spec,
    task: TaskId,
    reference: &mut ReferenceTask,
    received: &[(u8, Record)],
) -> Vec<Record> {
    let task_spec = spec.task(task);
    let mut emitted = Vec::new();
    if reference.counts.is_empty() && task_spec.kind == OperatorKind::KeyedAggregate {
        reference.counts = vec![0; spec.key_space as usize];
    }
    for &(side, record) in received {
        reference.consumed.push(record.lineage);
        match task_spec.kind {
            OperatorKind::Source => {}
            OperatorKind::Map | OperatorKind::Union => emitted.push(record),
            OperatorKind::KeyedAggregate => {
                reference.counts[record.key as usize] += 1;
                emitted.push(record);
            }
            OperatorKind::Join => {
                let key_of = |l: &Lineage| key_of_lineage(spec, *l);
                if side == 0 {
                    for partner in reference.right.iter().filter(|p| key_of(p) == record.key) {
                        emitted.push(joined(record.key, record.lineage, *partner));
                    }
                    reference.left.push(record.lineage);
                } else {
                    for partner in reference.left.iter().filter(|p| key_of(p) == record.key) {
                        emitted.push(joined(record.key, *partner, record.lineage));
                    }
                    reference.right.push(record.lineage);
                }
            }
            OperatorKind::TwoPhaseCommitSink | OperatorKind::AtLeastOnceSink => {}
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

/// The key of a source record, from the model (keys never change along the pipeline).
fn key_of_lineage(spec: &Spec, lineage: Lineage) -> Key {
    let source = spec.sources[lineage.first.source as usize];
    spec.task(source).input_records[lineage.first.offset as usize].key
}

/// Routes emitted records to the downstream inboxes (the reference's own partitioning).
fn send(spec: &Spec, task: TaskId, records: &[Record], inbox: &mut [Vec<(u8, Record)>]) {
    let task_spec = spec.task(task);
    for output in &task_spec.outputs {
        let edge = &spec.edges[output.edge];
        let downstream = &spec.operators[edge.to];
        let parallelism = downstream.parallelism as u64;
        for record in records {
            let targets: Vec<u8> = match edge.partitioning {
                Partitioning::Forward => vec![task_spec.subtask],
                Partitioning::Hash => vec![(record.key as u64 % parallelism) as u8],
                Partitioning::Rebalance => vec![(record.lineage.hash64() % parallelism) as u8],
                Partitioning::Broadcast => (0..downstream.parallelism).collect(),
            };
            for subtask in targets {
                let to = TaskId(downstream.first_task.0 + subtask);
                inbox[to.0 as usize].push((edge.input_side, *record));
            }
        }
    }
}

/// The effective content of a cut: each subtask's state with the cut's captured channel state
/// replayed through the reference semantics (in topological order, so records captured upstream
/// reach downstream subtasks too). Returns, per subtask, the digest of what it accounts for, its
/// counts (aggregations) and its join buffers.
pub fn replay_cut(spec: &Spec, cut: &[CutTask]) -> Vec<Option<Effective>> {
    let mut result: Vec<Option<Effective>> = vec![None; spec.tasks.len()];
    let mut inbox: Vec<Vec<(u8, Record)>> = vec![Vec::new(); spec.tasks.len()];
    for &task in &spec.topological_order {
        let part = &cut[task.0 as usize];
        let task_spec = spec.task(task);
        let mut received = std::mem::take(&mut inbox[task.0 as usize]);
        received.extend(
            part.channel_state
                .iter()
                .map(|(input, record)| (task_spec.inputs[*input as usize].side, *record)),
        );
        let Some(operator) = part.operator else {
            continue; // Finished or absent: compared elsewhere (or not at all).
        };
        let mut effective = Effective::from_state(operator);
        let mut reference = ReferenceTask {
            counts: effective.counts.clone(),
            left: effective.left.clone(),
            right: effective.right.clone(),
            ..ReferenceTask::default()
        };
        let emitted = absorb(spec, task, &mut reference, &received);
        for (_, record) in &received {
            effective.digest.add(record.lineage);
        }
        effective.counts = reference.counts;
        effective.left = reference.left;
        effective.right = reference.right;
        send(spec, task, &emitted, &mut inbox);
        result[task.0 as usize] = Some(effective);
    }
    result
}

/// A subtask's effective state in a cut.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Effective {
    pub digest: Digest,
    pub counts: Vec<u16>,
    pub left: Vec<Lineage>,
    pub right: Vec<Lineage>,
    pub offset: Option<u8>,
    /// Whether the state accounts for its records (stateless operators do not).
    pub stateful: bool,
}

impl Effective {
    fn from_state(operator: &OperatorState) -> Effective {
        let mut effective = Effective {
            digest: operator.accounted().unwrap_or_default(),
            stateful: operator.accounted().is_some(),
            ..Effective::default()
        };
        match operator {
            OperatorState::Source { offset } => effective.offset = Some(*offset),
            OperatorState::KeyedAggregate { counts, .. } => effective.counts = counts.clone(),
            OperatorState::Join { left, right } => {
                effective.left = left.iter().map(|r| r.lineage).collect();
                effective.right = right.iter().map(|r| r.lineage).collect();
            }
            _ => {}
        }
        effective
    }
}

/// The multiset of lineages the sinks must hold once every source emitted all of its input.
pub fn full_output(spec: &Spec) -> Vec<Lineage> {
    let offsets: Vec<u8> = spec
        .sources
        .iter()
        .map(|s| spec.task(*s).input_records.len() as u8)
        .collect();
    sink_output(spec, &fold(spec, &offsets))
}

/// The union of what the sinks consumed in a fold.
pub fn sink_output(spec: &Spec, fold: &[ReferenceTask]) -> Vec<Lineage> {
    let mut all: Vec<Lineage> = spec
        .task_ids()
        .filter(|t| spec.task(*t).kind.is_sink())
        .flat_map(|t| fold[t.0 as usize].consumed.iter().copied())
        .collect();
    all.sort();
    all
}
