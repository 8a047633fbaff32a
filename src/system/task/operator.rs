//! Operator state and record processing, one variant per operator kind.
//!
//! States are kept in canonical form (join buffers and transactions sorted) so that two runs that
//! reach the same logical state reach the same value, which keeps the explored state space small.
//! Where the state itself does not name the records it absorbed (counts, a sink's committed
//! transactions), it carries an oracle-only [`Digest`] of their lineages that the invariants
//! compare against an independent reference.

use crate::system::protocol::{CheckpointId, Digest, Lineage, Record};
use crate::system::spec::{OperatorKind, TaskSpec};

/// A pre-committed two-phase-commit transaction, keyed by the checkpoint that pre-committed it
/// (`TwoPhaseCommitSinkFunction.pendingCommitTransactions`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Transaction {
    pub checkpoint: CheckpointId,
    pub records: Vec<Record>,
    /// Its transactional id and producer epoch (`KafkaCommittable`: transactional id, producer
    /// id and epoch); `TxnId::NONE` unless the model has `transactions.identity`.
    pub id: TxnId,
}

/// A transaction's identity in the external system: the checkpoint id in its transactional id
/// (`TransactionalIdFactory.buildTransactionalId(prefix, subtaskId, checkpointId)`, the sink
/// subtask being the owner) and the producer epoch that began it. The model's epoch is the job
/// attempt that opened the producer: it increases with every restart, as the epoch Kafka bumps
/// on every `initTransactions` of an id does.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct TxnId {
    pub name: CheckpointId,
    pub epoch: u8,
}

/// `NONE` hashes to nothing, so that the models without transaction identity hash as they did
/// before it existed (symmetry sorts lanes by hash and the hang check samples states by hash:
/// their pinned counts stay put). Equal values still hash equally.
impl std::hash::Hash for TxnId {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        if *self != TxnId::NONE {
            self.name.hash(state);
            self.epoch.hash(state);
        }
    }
}

impl TxnId {
    pub const NONE: TxnId = TxnId {
        name: CheckpointId::NONE,
        epoch: 0,
    };
}

/// The state of one subtask's operator.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum OperatorState {
    /// The offset of the next record to emit (`SourceOperator` split position), and whether the
    /// source ended its input (`endData`, FLIP-147: a snapshot taken after it marks the operator
    /// finished; a restored finished source emits nothing more). `ended` is recorded only in
    /// models where the end of input changes what an operator holds (a `batch-flush` operator or
    /// a draining stop, `Spec::tracks_end_of_input`); elsewhere it stays false, so those models'
    /// state spaces are what they were.
    Source {
        offset: u8,
        ended: bool,
    },
    Map,
    /// A running count per key (keyed state), plus the oracle digest of absorbed records.
    KeyedAggregate {
        counts: Vec<u16>,
        absorbed: Digest,
    },
    Union,
    /// Symmetric hash join buffers, sorted.
    Join {
        left: Vec<Record>,
        right: Vec<Record>,
    },
    /// The open transaction's records and the pre-committed transactions awaiting commit, plus the
    /// oracle digest of every record this state lineage wrote into a transaction.
    TwoPhaseCommitSink {
        current: Vec<Record>,
        pending: Vec<Transaction>,
        absorbed: Digest,
        /// The open transaction's identity (`transactions.identity`; else `TxnId::NONE`).
        open: TxnId,
    },
    /// Writes straight to the external output; the digest counts what this lineage wrote.
    AtLeastOnceSink {
        absorbed: Digest,
    },
    /// An at-least-once sink with asynchronous sends (`AsyncSinkWriter`, one entry per request):
    /// the records whose sends are in flight, oldest first, and the digest of every record this
    /// lineage put in flight. In-flight requests are never part of a snapshot
    /// (`AsyncSinkWriter.snapshotState` stores only the buffered entries, and the flush before
    /// the snapshot leaves none in flight).
    AsyncSink {
        in_flight: Vec<Record>,
        absorbed: Digest,
    },
    /// Records buffered until the end of input, sorted (`BoundedOneInput.endInput` /
    /// `StreamOperator.finish` flushes them downstream; until then they are only state).
    BatchFlush {
        buffered: Vec<Record>,
    },
    /// A FLIP-27 split reader (`SourceOperator` + `SourceReaderBase`,
    /// `system/task/split_reader.rs`): its assigned, unfinished splits with their positions, in
    /// assignment order (the reader reads the first); whether its split request is outstanding and
    /// the enumerator said it has no more splits (neither is snapshotted: a restored reader asks
    /// again); and, oracle-only, the splits it finished (Flink's reader keeps no such record).
    SplitReader {
        splits: Vec<(u8, u8)>,
        requested: bool,
        no_more: bool,
        finished: u16,
    },
}

/// What processing one record produced.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Processed {
    /// Records to send downstream.
    pub emitted: Vec<Record>,
    /// Records an at-least-once sink writes straight to the external output.
    pub written: Vec<Record>,
    /// A record a two-phase-commit sink with transaction identity sends into its open
    /// transaction in the external system (invisible until the transaction commits).
    pub sent: Option<(TxnId, Record)>,
}

/// The stateless map's transformation (deterministic; the reference applies the same function).
pub fn map_value(value: u16) -> u16 {
    value.wrapping_mul(3).wrapping_add(1)
}

fn insert_sorted(records: &mut Vec<Record>, record: Record) {
    let at = records.partition_point(|r| r <= &record);
    records.insert(at, record);
}

impl OperatorState {
    /// The state of a freshly started subtask.
    pub fn initial(task: &TaskSpec, key_space: u8) -> OperatorState {
        match task.kind {
            OperatorKind::Source => OperatorState::Source {
                offset: 0,
                ended: false,
            },
            OperatorKind::Map => OperatorState::Map,
            OperatorKind::KeyedAggregate => OperatorState::KeyedAggregate {
                counts: vec![0; key_space as usize],
                absorbed: Digest::default(),
            },
            OperatorKind::Union => OperatorState::Union,
            OperatorKind::Join => OperatorState::Join {
                left: Vec::new(),
                right: Vec::new(),
            },
            OperatorKind::TwoPhaseCommitSink => OperatorState::TwoPhaseCommitSink {
                current: Vec::new(),
                pending: Vec::new(),
                absorbed: Digest::default(),
                open: TxnId::NONE,
            },
            OperatorKind::AtLeastOnceSink => OperatorState::AtLeastOnceSink {
                absorbed: Digest::default(),
            },
            OperatorKind::AsyncSink => OperatorState::AsyncSink {
                in_flight: Vec::new(),
                absorbed: Digest::default(),
            },
            OperatorKind::BatchFlush => OperatorState::BatchFlush {
                buffered: Vec::new(),
            },
            OperatorKind::SplitSource => OperatorState::SplitReader {
                splits: Vec::new(),
                requested: false,
                no_more: false,
                finished: 0,
            },
        }
    }

    /// Processes one record that arrived on an input of the given side (join: 0 left, 1 right).
    pub fn process(&mut self, side: u8, record: Record) -> Processed {
        let mut out = Processed::default();
        match self {
            OperatorState::Source { .. } | OperatorState::SplitReader { .. } => {}
            OperatorState::Map => out.emitted.push(Record {
                value: map_value(record.value),
                ..record
            }),
            OperatorState::KeyedAggregate { counts, absorbed } => {
                let count = &mut counts[record.key as usize];
                *count += 1;
                absorbed.add(record.lineage);
                out.emitted.push(Record {
                    value: *count,
                    ..record
                });
            }
            OperatorState::Union => out.emitted.push(record),
            OperatorState::Join { left, right } => {
                let (own, other) = if side == 0 {
                    (left, &*right)
                } else {
                    (right, &*left)
                };
                for partner in other.iter().filter(|p| p.key == record.key) {
                    let (l, r) = if side == 0 {
                        (record, *partner)
                    } else {
                        (*partner, record)
                    };
                    out.emitted.push(Record {
                        key: record.key,
                        value: l.value.wrapping_add(r.value),
                        lineage: Lineage::joined(l.lineage, r.lineage),
                    });
                }
                insert_sorted(own, record);
            }
            OperatorState::TwoPhaseCommitSink {
                current,
                absorbed,
                open,
                ..
            } => {
                insert_sorted(current, record);
                absorbed.add(record.lineage);
                if *open != TxnId::NONE {
                    out.sent = Some((*open, record));
                }
            }
            OperatorState::AtLeastOnceSink { absorbed } => {
                absorbed.add(record.lineage);
                out.written.push(record);
            }
            OperatorState::AsyncSink {
                in_flight,
                absorbed,
            } => {
                // `AsyncSinkWriter.write`: the entry is submitted as a request; it is written to
                // the destination only when the request completes (`complete_send`).
                absorbed.add(record.lineage);
                in_flight.push(record);
            }
            // Buffered in state; nothing goes downstream before the end of input.
            OperatorState::BatchFlush { buffered } => insert_sorted(buffered, record),
        }
        out
    }

    /// `endInput` / `finish` at the end of input (FLIP-147 `endData(DRAIN)`): a batch-flush
    /// operator emits everything it buffered, in its sorted order, and keeps nothing; every other
    /// kind emits nothing here (a two-phase-commit sink's records are already in its open
    /// transaction, which the final checkpoint pre-commits).
    pub fn end_input(&mut self) -> Vec<Record> {
        match self {
            OperatorState::BatchFlush { buffered } => std::mem::take(buffered),
            _ => Vec::new(),
        }
    }

    /// How many sends are in flight (async sinks; zero for every other kind).
    pub fn outstanding_sends(&self) -> usize {
        match self {
            OperatorState::AsyncSink { in_flight, .. } => in_flight.len(),
            _ => 0,
        }
    }

    /// The oldest send in flight completes (`AsyncSinkWriterResultHandler.complete` ->
    /// `completeRequest`): its record is the one to write to the external system. Flink lets
    /// requests complete in any order; the model completes them oldest first, which keeps the
    /// state space small and loses nothing the checks read (every send must complete before a
    /// snapshot, whatever the order).
    pub fn complete_send(&mut self) -> Option<Record> {
        match self {
            OperatorState::AsyncSink { in_flight, .. } if !in_flight.is_empty() => {
                Some(in_flight.remove(0))
            }
            _ => None,
        }
    }

    /// The state a snapshot holds: everything but an async sink's sends in flight, which are
    /// never snapshotted (`AsyncSinkWriter.snapshotState`).
    pub fn snapshot(&self) -> OperatorState {
        match self {
            OperatorState::AsyncSink { absorbed, .. } => OperatorState::AsyncSink {
                in_flight: Vec::new(),
                absorbed: *absorbed,
            },
            // `SourceOperator.snapshotState`: the reader's splits with their positions.
            OperatorState::SplitReader {
                splits, finished, ..
            } => OperatorState::SplitReader {
                splits: splits.clone(),
                requested: false,
                no_more: false,
                finished: *finished,
            },
            other => other.clone(),
        }
    }
}
