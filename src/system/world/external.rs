//! The external system the sinks write to: committed two-phase-commit transactions (commits are
//! idempotent) and the visible records with their writers. It survives every failure.

use crate::system::protocol::{CheckpointId, Record, TaskId};
use crate::system::task::operator::Transaction;

/// Who wrote a record to the external output: the sink subtask and, for a two-phase-commit sink,
/// the checkpoint that pre-committed the transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Writer {
    pub sink: TaskId,
    pub transaction: Option<CheckpointId>,
}

/// The external system the sinks write to; it survives every failure.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct External {
    /// Committed transactions by (sink, pre-committing checkpoint); commits are idempotent.
    pub committed: Vec<(TaskId, CheckpointId)>,
    /// Visible records with their writer, sorted.
    pub records: Vec<(Record, Writer)>,
}

impl External {
    pub(super) fn commit(&mut self, sink: TaskId, transaction: Transaction) {
        let key = (sink, transaction.checkpoint);
        let at = match self.committed.binary_search(&key) {
            Ok(_) => return, // Already committed: committing again is a no-op.
            Err(at) => at,
        };
        self.committed.insert(at, key);
        let writer = Writer {
            sink,
            transaction: Some(transaction.checkpoint),
        };
        for record in transaction.records {
            self.insert(record, writer);
        }
    }

    pub(super) fn insert(&mut self, record: Record, writer: Writer) {
        let entry = (record, writer);
        let at = self.records.partition_point(|e| *e <= entry);
        self.records.insert(at, entry);
    }
}
