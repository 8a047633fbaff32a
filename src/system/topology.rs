//! The dataflow topology: a `petgraph` graph of operators, validated and expanded into subtasks
//! and FIFO channels.
//!
//! Validation rejects cycles, unknown operators (resolved in `spec`), zero parallelism, forward
//! edges between different parallelisms, operators unreachable from a source, graphs without a
//! sink, and shapes this model cannot represent (a join fed by another join, too many subtasks).
//! Expansion numbers subtasks operator by operator and channels edge by edge, upstream subtask
//! first, so ids are stable for a given file. This module owns the static graph types
//! (`OperatorSpec`, `EdgeSpec`, `TaskSpec`, `ChannelSpec`, ...) that `spec` builds and re-exports,
//! so it depends on nothing above `protocol`.

use crate::system::protocol::{ChannelId, Key, Lineage, Provenance, Record, TaskId, TaskSet};
use petgraph::algo::toposort;
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::{Bfs, EdgeRef};
use petgraph::Direction;
use serde::Deserialize;

/// Operator kinds a model can declare.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OperatorKind {
    /// Finite deterministic input with an offset (Flink `SourceOperator` with one split).
    Source,
    /// Stateless one-to-one transformation.
    Map,
    /// Keyed aggregation: a running count per key (keyed state).
    KeyedAggregate,
    /// Multi-input union.
    Union,
    /// Two-input keyed symmetric hash join: first declared input edge is the left side.
    Join,
    /// `TwoPhaseCommitSinkFunction`: pre-commit at snapshot, commit on completion notification.
    TwoPhaseCommitSink,
    /// Writes every record straight to the external output (at-least-once).
    AtLeastOnceSink,
    /// At-least-once sink with asynchronous sends (`AsyncSinkWriter`): a record goes in flight
    /// and reaches the external output only when its send completes; a checkpoint waits for the
    /// sends in flight (`SinkWriterOperator.prepareSnapshotPreBarrier` -> `flush(false)`).
    AsyncSink,
    /// Buffers every record it receives and emits them only at the end of its input (a
    /// `BoundedOneInput`/`BoundedMultiInput` operator whose `endInput`/`finish` flushes, like a
    /// batch sort or a window fired by the final MAX_WATERMARK); the buffer is its state.
    BatchFlush,
    /// A FLIP-27 source whose `SplitEnumerator` (on the JobManager, `SourceCoordinator`) owns
    /// `splits` bounded splits and assigns them to the reader subtasks by operator events
    /// (`system/coordinator/operator_coordinator.rs`, `system/task/split_reader.rs`).
    SplitSource,
}

impl OperatorKind {
    pub fn is_source(self) -> bool {
        matches!(self, OperatorKind::Source | OperatorKind::SplitSource)
    }

    pub fn is_sink(self) -> bool {
        matches!(
            self,
            OperatorKind::TwoPhaseCommitSink
                | OperatorKind::AtLeastOnceSink
                | OperatorKind::AsyncSink
        )
    }

    pub fn name(self) -> &'static str {
        match self {
            OperatorKind::Source => "source",
            OperatorKind::Map => "map",
            OperatorKind::KeyedAggregate => "keyed-aggregate",
            OperatorKind::Union => "union",
            OperatorKind::Join => "join",
            OperatorKind::TwoPhaseCommitSink => "two-phase-commit-sink",
            OperatorKind::AtLeastOnceSink => "at-least-once-sink",
            OperatorKind::AsyncSink => "async-sink",
            OperatorKind::BatchFlush => "batch-flush",
            OperatorKind::SplitSource => "split-source",
        }
    }
}

/// How an edge distributes records over the downstream subtasks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Partitioning {
    /// Subtask `i` to subtask `i` (equal parallelism required).
    #[default]
    Forward,
    /// By key: key `k` goes to subtask `k mod parallelism`.
    Hash,
    /// Every record to every downstream subtask.
    Broadcast,
    /// Spread over all downstream subtasks by a deterministic function of the record's lineage.
    /// Flink's `RebalancePartitioner` is round-robin from a random start and not checkpointed;
    /// a lineage function keeps the reference fold order-independent.
    Rebalance,
}

impl Partitioning {
    pub fn name(self) -> &'static str {
        match self {
            Partitioning::Forward => "forward",
            Partitioning::Hash => "hash",
            Partitioning::Broadcast => "broadcast",
            Partitioning::Rebalance => "rebalance",
        }
    }

    pub fn is_all_to_all(self) -> bool {
        self != Partitioning::Forward
    }
}

/// One operator of the logical graph.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OperatorSpec {
    pub name: String,
    pub kind: OperatorKind,
    pub parallelism: u8,
    /// The operator's subtasks are `first_task .. first_task + parallelism`.
    pub first_task: TaskId,
    /// Sources: records per subtask (split sources: per split) and number of keys.
    pub records: u8,
    pub keys: u8,
    /// Split sources: the number of splits the enumerator owns (0 for every other kind).
    pub splits: u8,
}

/// One logical edge of the graph.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EdgeSpec {
    pub from: usize,
    pub to: usize,
    pub partitioning: Partitioning,
    /// Which input of the downstream operator this edge feeds (0 = first declared; join: 0 left,
    /// 1 right).
    pub input_side: u8,
}

/// One input channel of a subtask.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InputSpec {
    pub channel: ChannelId,
    pub side: u8,
}

/// The output channels of a subtask along one edge, indexed by downstream subtask.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutputSpec {
    pub edge: usize,
    pub partitioning: Partitioning,
    /// `targets[j]` is the channel to downstream subtask `j` (forward edges: exactly one entry).
    pub targets: Vec<ChannelId>,
}

/// One subtask.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskSpec {
    pub name: String,
    pub operator: usize,
    pub subtask: u8,
    pub kind: OperatorKind,
    /// Input channels by local input index.
    pub inputs: Vec<InputSpec>,
    pub outputs: Vec<OutputSpec>,
    /// Sources: the records this subtask emits, in offset order.
    pub input_records: Vec<Record>,
    /// Sources: the index among all source subtasks (the `source` of a `Provenance`).
    pub source_index: Option<u8>,
    /// Subtasks with a channel into this one.
    pub predecessors: TaskSet,
}

/// One FIFO channel between two subtasks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChannelSpec {
    pub from: TaskId,
    pub to: TaskId,
    /// The local input index of this channel at the receiving subtask.
    pub to_input: u8,
    pub edge: usize,
}

/// The deterministic input of source subtask `subtask` of `operator`: record `j` has key
/// `j mod keys` and value `j + 1`.
pub fn source_records(operator: &OperatorSpec, source_index: u8) -> Vec<Record> {
    (0..operator.records)
        .map(|offset| Record {
            key: (offset % operator.keys) as Key,
            value: offset as u16 + 1,
            lineage: Lineage::single(Provenance {
                source: source_index,
                offset,
            }),
        })
        .collect()
}

/// The records of split `split` of a split source whose splits' provenance numbers start at
/// `first` (after every plain source subtask's): record `j` has key `j mod keys` and value
/// `j + 1`, like a plain source's.
pub fn split_records(operator: &OperatorSpec, first: u8, split: u8) -> Vec<Record> {
    source_records(operator, first + split)
}

/// A structural problem with the graph, naming the offending key.
#[derive(Debug)]
pub struct TopologyError {
    pub key: String,
    pub reason: String,
}

/// The subtasks and channels of a validated graph.
pub struct Expanded {
    pub tasks: Vec<TaskSpec>,
    pub channels: Vec<ChannelSpec>,
    pub topological_order: Vec<TaskId>,
    pub sources: Vec<TaskId>,
}

/// The logical operator graph (node weight = operator index, edge weight = edge index).
pub fn operator_graph(operators: &[OperatorSpec], edges: &[EdgeSpec]) -> DiGraph<usize, usize> {
    let mut graph = DiGraph::new();
    let nodes: Vec<NodeIndex> = (0..operators.len()).map(|i| graph.add_node(i)).collect();
    for (index, edge) in edges.iter().enumerate() {
        graph.add_edge(nodes[edge.from], nodes[edge.to], index);
    }
    graph
}

/// Validates the graph and expands it; fills in `first_task` of every operator.
pub fn expand(
    operators: &mut [OperatorSpec],
    edges: &[EdgeSpec],
) -> Result<Expanded, TopologyError> {
    let fail = |key: String, reason: String| Err(TopologyError { key, reason });
    let graph = operator_graph(operators, edges);

    let order = match toposort(&graph, None) {
        Ok(order) => order,
        Err(cycle) => {
            let name = &operators[graph[cycle.node_id()]].name;
            return fail(
                "edges".into(),
                format!("the graph has a cycle through operator {name:?}"),
            );
        }
    };

    for (index, edge) in edges.iter().enumerate() {
        let (from, to) = (&operators[edge.from], &operators[edge.to]);
        if edge.partitioning == Partitioning::Forward && from.parallelism != to.parallelism {
            return fail(
                format!("edges[{index}].partitioning"),
                format!(
                    "a forward edge needs equal parallelism, but {:?} has {} and {:?} has {}",
                    from.name, from.parallelism, to.name, to.parallelism
                ),
            );
        }
        if to.kind.is_source() {
            return fail(
                format!("edges[{index}].to"),
                format!("source {:?} cannot have inputs", to.name),
            );
        }
        if from.kind.is_sink() {
            return fail(
                format!("edges[{index}].from"),
                format!("sink {:?} cannot have outputs", from.name),
            );
        }
        if edge.from == edge.to {
            return fail(
                format!("edges[{index}]"),
                format!("operator {:?} has an edge to itself", from.name),
            );
        }
    }

    for (index, op) in operators.iter().enumerate() {
        let node = NodeIndex::new(index);
        let inputs = graph.edges_directed(node, Direction::Incoming).count();
        let key = format!("operators[{index}]");
        // In an acyclic graph this is also the reachability check: an operator is unreachable
        // from every source exactly when some operator upstream of it (or itself) has no input.
        if !op.kind.is_source() && inputs == 0 {
            return fail(
                key,
                format!(
                    "operator {:?} has no input edge, so it is unreachable from every source",
                    op.name
                ),
            );
        }
        if op.kind == OperatorKind::Join && inputs != 2 {
            return fail(
                key,
                format!(
                    "join {:?} needs exactly two input edges (left, right), found {inputs}",
                    op.name
                ),
            );
        }
    }

    if !operators.iter().any(|o| o.kind.is_sink()) {
        return fail(
            "operators".into(),
            "the graph has no sink (two-phase-commit-sink, at-least-once-sink or async-sink)"
                .into(),
        );
    }
    // Lineage records at most one join (two source provenances).
    for &node in &order {
        let op = &operators[graph[node]];
        if op.kind == OperatorKind::Join {
            let mut bfs = Bfs::new(&graph, node);
            bfs.next(&graph);
            while let Some(next) = bfs.next(&graph) {
                if operators[graph[next]].kind == OperatorKind::Join {
                    return fail(
                        format!("operators[{}]", graph[next]),
                        format!(
                            "join {:?} is fed by join {:?}; a model may have at most one join on a path",
                            operators[graph[next]].name, op.name
                        ),
                    );
                }
            }
        }
    }

    // Subtasks, operator by operator.
    let mut tasks: Vec<TaskSpec> = Vec::new();
    let mut source_count = 0u8;
    for (index, op) in operators.iter_mut().enumerate() {
        op.first_task = TaskId(tasks.len() as u8);
        for subtask in 0..op.parallelism {
            if tasks.len() >= 64 {
                return fail(
                    format!("operators[{index}].parallelism"),
                    "a model may have at most 64 subtasks in all".into(),
                );
            }
            let source_index = if op.kind == OperatorKind::Source {
                source_count += 1;
                Some(source_count - 1)
            } else {
                None
            };
            let name = if op.parallelism == 1 {
                op.name.clone()
            } else {
                format!("{}#{subtask}", op.name)
            };
            tasks.push(TaskSpec {
                name,
                operator: index,
                subtask,
                kind: op.kind,
                inputs: Vec::new(),
                outputs: Vec::new(),
                input_records: source_index
                    .map(|s| source_records(op, s))
                    .unwrap_or_default(),
                source_index,
                predecessors: TaskSet::default(),
            });
        }
    }

    // Channels, edge by edge, upstream subtask first.
    let mut channels: Vec<ChannelSpec> = Vec::new();
    for (edge_index, edge) in edges.iter().enumerate() {
        let (from, to) = (&operators[edge.from], &operators[edge.to]);
        for up in 0..from.parallelism {
            let up_task = TaskId(from.first_task.0 + up);
            let downs: Vec<u8> = if edge.partitioning == Partitioning::Forward {
                vec![up]
            } else {
                (0..to.parallelism).collect()
            };
            let mut targets = Vec::new();
            for down in downs {
                if channels.len() >= 255 {
                    return fail(
                        format!("edges[{edge_index}]"),
                        "a model may have at most 255 channels in all".into(),
                    );
                }
                let down_task = TaskId(to.first_task.0 + down);
                let channel = ChannelId(channels.len() as u8);
                let receiver = &mut tasks[down_task.0 as usize];
                if receiver.inputs.len() >= 32 {
                    return fail(
                        format!("edges[{edge_index}]"),
                        format!("subtask {:?} would have more than 32 inputs", receiver.name),
                    );
                }
                let to_input = receiver.inputs.len() as u8;
                receiver.inputs.push(InputSpec {
                    channel,
                    side: edge.input_side,
                });
                receiver.predecessors.insert(up_task);
                channels.push(ChannelSpec {
                    from: up_task,
                    to: down_task,
                    to_input,
                    edge: edge_index,
                });
                targets.push(channel);
            }
            tasks[up_task.0 as usize].outputs.push(OutputSpec {
                edge: edge_index,
                partitioning: edge.partitioning,
                targets,
            });
        }
    }

    let topological_order = order
        .iter()
        .flat_map(|&node| {
            let op = &operators[graph[node]];
            (0..op.parallelism).map(move |s| TaskId(op.first_task.0 + s))
        })
        .collect();
    let sources = tasks
        .iter()
        .enumerate()
        .filter(|(_, t)| t.source_index.is_some())
        .map(|(i, _)| TaskId(i as u8))
        .collect();

    Ok(Expanded {
        tasks,
        channels,
        topological_order,
        sources,
    })
}

/// The downstream channel(s) a record goes to along one output, by the edge's partitioning.
pub fn route<'a>(
    output: &'a OutputSpec,
    record: &crate::system::protocol::Record,
) -> impl Iterator<Item = ChannelId> + 'a {
    let count = output.targets.len();
    let chosen: Option<usize> = match output.partitioning {
        Partitioning::Forward => Some(0),
        Partitioning::Hash => Some(record.key as usize % count),
        Partitioning::Rebalance => Some((record.lineage.hash64() % count as u64) as usize),
        Partitioning::Broadcast => None,
    };
    output
        .targets
        .iter()
        .enumerate()
        .filter(move |(index, _)| chosen.is_none_or(|c| c == *index))
        .map(|(_, channel)| *channel)
}

/// The edges (as graph edge references) of the operator graph, for renderers.
pub fn edge_list(graph: &DiGraph<usize, usize>) -> Vec<(usize, usize, usize)> {
    graph
        .edge_references()
        .map(|e| (graph[e.source()], graph[e.target()], *e.weight()))
        .collect()
}

/// Flink's pipelined regions of a streaming job (`SchedulingPipelinedRegionComputeUtil`): every
/// result partition of a streaming job is pipelined, so a region is a connected component of the
/// subtask graph, joined by every channel `joins` accepts (all of them for the correct rule: an
/// all-to-all edge joins both vertices' subtasks, a forward edge only matched ones). Sorted by
/// each region's lowest task, so equal topologies give equal lists.
pub fn pipelined_regions(
    task_count: usize,
    channels: &[ChannelSpec],
    joins: impl Fn(&ChannelSpec) -> bool,
) -> Vec<TaskSet> {
    let mut components = petgraph::unionfind::UnionFind::<usize>::new(task_count);
    for channel in channels.iter().filter(|c| joins(c)) {
        components.union(channel.from.0 as usize, channel.to.0 as usize);
    }
    let mut regions: Vec<TaskSet> = Vec::new();
    let mut region_of_root: Vec<Option<usize>> = vec![None; task_count];
    for task in 0..task_count {
        let root = components.find(task);
        let index = *region_of_root[root].get_or_insert_with(|| {
            regions.push(TaskSet::default());
            regions.len() - 1
        });
        regions[index].insert(TaskId(task as u8));
    }
    regions
}
