//! The external system the sinks write to: committed two-phase-commit transactions (commits are
//! idempotent) and the visible records with their writers. It survives every failure.
//!
//! With `transactions.identity` it is a Kafka-like broker as well ([`Broker`]): it remembers
//! every transactional id it has seen with the epoch of its latest `initTransactions`, and every
//! transaction by (sink, id, epoch) as ongoing, committed or aborted. Initialising an id with a
//! newer epoch fences the older producer: its ongoing transaction of that id is aborted. A commit
//! of an ongoing transaction makes the records the broker holds for it visible; a commit of a
//! committed one is a no-op (Kafka's double commit does not fail; FLINK-16419's recommit on
//! recovery of a transaction known committed); a commit of an aborted (fenced) one fails, and
//! the broker records it (`KafkaCommitter`: `ProducerFencedException` / `InvalidTxnStateException`
//! -> `signalFailedWithKnownReason`, "most likely signals data loss").
//!
//! With `transactions.committed_mark` it is an Iceberg-like table instead ([`MarkTable`]):
//! every commit appends its records (the table deduplicates nothing; committing the same data
//! files twice duplicates them) and, in the same snapshot, its summary records the committed
//! checkpoint id for the committable's job id and operator (`flink.max-committed-checkpoint-id`,
//! `flink.job-id`, `flink.operator-id`: `IcebergCommitter.commitOperation`, Iceberg's
//! flink/v1.20 sink). The committer reads the latest such mark for (job id, operator) from the
//! snapshot history (`SinkUtil.getMaxCommittedCheckpointId`) and commits only the committables
//! above it; those at or below it count as committed (`signalAlreadyCommitted`).
//!
//! With `faults.failed_commits` the external system may also be unavailable for a commit
//! attempt (any two-phase-commit sink, with identity or not): the attempt fails transiently and
//! the committer retries it (`Step::commit_all`).

use crate::system::protocol::{CheckpointId, Record, TaskId};
use crate::system::task::operator::{Transaction, TxnId};

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
    /// Transaction identity (`transactions.identity`); empty otherwise.
    pub broker: Broker,
    /// The Iceberg-style table's marks (`transactions.committed_mark`); empty otherwise.
    pub table: MarkTable,
}

/// A job id as the model knows it: the job submissions so far when the run began (0: the first
/// run). Flink gives every submission a new `JobID` (a resume from a savepoint or an older
/// checkpoint is one); a failover within a run keeps it.
pub type JobId = u8;

/// The Iceberg-style table's snapshot summaries as the sink reads them, and the job id each
/// committable carries.
///
/// Iceberg's sink v2 committable carries the job id and operator id of the run that wrote it
/// (`IcebergCommittable`), and a restored committable keeps them. The model's committables
/// (`Transaction`) carry none, so the world derives it: `runs` is the current run's ancestry,
/// newest first, each entry the checkpoint a run was restored from on its submission and that
/// run's job id. A committable of checkpoint `c` was written by the first run in it whose base
/// is below `c` (a run's own checkpoints lie above its base; what its restored state holds lies
/// at or below it and is the restored checkpoint's run's). The operator id is the sink subtask:
/// each sink subtask stands for a committer of its own (Iceberg's committer is one
/// parallelism-1 operator per sink, `flink.operator-id` its uid).
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct MarkTable {
    /// The latest `flink.max-committed-checkpoint-id` by (job id, sink subtask), sorted. A
    /// snapshot's summary is written atomically with its commit; the sink only ever writes a
    /// higher one for its key, so the latest is the one `getMaxCommittedCheckpointId` finds.
    pub marks: Vec<((JobId, TaskId), CheckpointId)>,
    /// The current run's ancestry, newest first: (checkpoint it was restored from, job id). Empty:
    /// the first run, job 0, from scratch.
    pub runs: Vec<(CheckpointId, JobId)>,
    /// Job submissions so far beyond the first (the newest job id).
    pub submitted: JobId,
    /// A committable at or below its job's mark was taken as committed and not committed again.
    pub skipped: bool,
    /// A commit of checkpoint `c` by one job while another job's mark of the same sink stood at
    /// or above `c`: the job ids kept the runs' reused checkpoint ids apart.
    pub kept_apart: bool,
}

/// An empty table hashes to nothing, so that the models without the mark hash as they did
/// before it existed (state sampling by hash stays put). Equal values hash equally.
impl std::hash::Hash for MarkTable {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        if *self != MarkTable::default() {
            self.marks.hash(state);
            self.runs.hash(state);
            self.submitted.hash(state);
            self.skipped.hash(state);
            self.kept_apart.hash(state);
        }
    }
}

impl MarkTable {
    /// The job id of the run that wrote checkpoint `checkpoint`'s committable (see the type doc).
    pub fn job_of(&self, checkpoint: CheckpointId) -> JobId {
        self.runs
            .iter()
            .find(|(base, _)| checkpoint > *base)
            .map_or(0, |(_, job)| *job)
    }

    /// The latest mark for (job, sink): `getMaxCommittedCheckpointId` (`NONE`, Iceberg's -1,
    /// where no snapshot of the job and operator exists).
    pub fn mark(&self, job: JobId, sink: TaskId) -> CheckpointId {
        self.marks
            .binary_search_by(|(k, _)| k.cmp(&(job, sink)))
            .map_or(CheckpointId::NONE, |at| self.marks[at].1)
    }

    /// A job submission restored from checkpoint `from` (a resume): the new run's ancestry is
    /// the new job on top of the restored checkpoint's run's. `job` is the job id the new run
    /// runs under.
    pub(super) fn submit(&mut self, from: CheckpointId, job: JobId) {
        let keep = self
            .runs
            .iter()
            .position(|(base, _)| from > *base)
            .unwrap_or(self.runs.len());
        self.runs.drain(..keep);
        self.runs.insert(0, (from, job));
        self.submitted = self.submitted.max(job);
    }
}

/// A transaction's state in the broker.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TxnState {
    Ongoing,
    Committed,
    /// Aborted by a newer epoch's `initTransactions` of its id (fenced).
    Aborted,
}

/// One transaction the broker knows, with the records sent into it (sorted).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BrokerTxn {
    pub sink: TaskId,
    pub id: TxnId,
    pub state: TxnState,
    pub records: Vec<Record>,
}

/// The broker's record of transactional ids and transactions (see the module doc).
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Broker {
    /// Every transactional id initialised so far, (sink, checkpoint id) with the latest epoch,
    /// sorted.
    pub ids: Vec<((TaskId, CheckpointId), u8)>,
    /// Every transaction that received a record, by (sink, id), sorted.
    pub txns: Vec<BrokerTxn>,
    /// A commit attempt found its transaction aborted (fenced): it failed, its data is lost.
    pub fenced_commit: bool,
    /// A record was sent by a fenced producer (an epoch older than its id's latest).
    pub fenced_send: bool,
    /// A commit found its transaction already committed and was a no-op.
    pub recommitted: bool,
    /// An ongoing transaction of an older epoch was aborted (fenced) by a newer producer.
    pub fenced_ongoing: bool,
    /// Commit attempts that will fail transiently (`faults.failed_commits` armed, not yet spent).
    pub unavailable: u8,
    /// `faults.failed_commits` armed so far.
    pub failed_commits: u8,
    /// A commit attempt failed transiently and a retry of it committed.
    pub retried: bool,
    /// A committer ran out of retries and failed its task.
    pub gave_up: bool,
}

/// An empty broker hashes to nothing, so that the models without transaction identity hash as
/// they did before it existed (state sampling by hash stays put). Equal values hash equally.
impl std::hash::Hash for Broker {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        if *self != Broker::default() {
            self.ids.hash(state);
            self.txns.hash(state);
            self.fenced_commit.hash(state);
            self.fenced_send.hash(state);
            self.recommitted.hash(state);
            self.fenced_ongoing.hash(state);
            self.unavailable.hash(state);
            self.failed_commits.hash(state);
            self.retried.hash(state);
            self.gave_up.hash(state);
        }
    }
}

impl External {
    /// One commit attempt meets the external system: `true` if the system is unavailable for it
    /// (a transient failure, `retryLater`), which spends one armed failure.
    pub(super) fn attempt_fails(&mut self) -> bool {
        let broker = &mut self.broker;
        if broker.unavailable == 0 {
            return false;
        }
        broker.unavailable -= 1;
        true
    }

    /// Whether the external system holds a committed transaction of this transactional id, of
    /// any epoch.
    pub(super) fn committed_by_name(&self, sink: TaskId, id: TxnId) -> bool {
        id != TxnId::NONE
            && self
                .broker
                .txns
                .iter()
                .any(|t| t.sink == sink && t.id.name == id.name && t.state == TxnState::Committed)
    }

    pub(super) fn commit(&mut self, sink: TaskId, transaction: Transaction) {
        if transaction.id != TxnId::NONE {
            return self.commit_identified(sink, transaction);
        }
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

    /// A commit into the Iceberg-style table (`transactions.committed_mark`): the committable is
    /// committed only above the mark of its job and operator; the commit appends its records and
    /// raises the mark in one snapshot. Returns whether it committed (else it was taken as
    /// committed, `signalAlreadyCommitted`).
    pub(super) fn commit_marked(
        &mut self,
        sink: TaskId,
        job: JobId,
        transaction: Transaction,
    ) -> bool {
        let table = &mut self.table;
        if transaction.checkpoint <= table.mark(job, sink) {
            table.skipped = true;
            return false;
        }
        if table
            .marks
            .iter()
            .any(|((j, s), mark)| *j != job && *s == sink && transaction.checkpoint <= *mark)
        {
            table.kept_apart = true;
        }
        match table.marks.binary_search_by(|(k, _)| k.cmp(&(job, sink))) {
            Ok(at) => table.marks[at].1 = transaction.checkpoint,
            Err(at) => table
                .marks
                .insert(at, ((job, sink), transaction.checkpoint)),
        }
        if let Err(at) = self
            .committed
            .binary_search(&(sink, transaction.checkpoint))
        {
            self.committed.insert(at, (sink, transaction.checkpoint));
        }
        let writer = Writer {
            sink,
            transaction: Some(transaction.checkpoint),
        };
        for record in transaction.records {
            self.insert(record, writer);
        }
        true
    }

    pub(super) fn insert(&mut self, record: Record, writer: Writer) {
        let entry = (record, writer);
        let at = self.records.partition_point(|e| *e <= entry);
        self.records.insert(at, entry);
    }

    /// A commit by transactional id and epoch: the broker's own records become visible. The
    /// sink's copy of them (`transaction.records`) is not read.
    fn commit_identified(&mut self, sink: TaskId, transaction: Transaction) {
        let writer = Writer {
            sink,
            transaction: Some(transaction.checkpoint),
        };
        if let Err(at) = self
            .committed
            .binary_search(&(sink, transaction.checkpoint))
        {
            self.committed.insert(at, (sink, transaction.checkpoint));
        }
        let broker = &mut self.broker;
        let Some(txn) = broker
            .txns
            .iter_mut()
            .find(|t| t.sink == sink && t.id == transaction.id)
        else {
            // Nothing was ever sent into it: an empty transaction commits as a no-op.
            return;
        };
        match txn.state {
            TxnState::Committed => broker.recommitted = true,
            TxnState::Aborted => broker.fenced_commit = true,
            TxnState::Ongoing => {
                txn.state = TxnState::Committed;
                let records = txn.records.clone();
                for record in records {
                    self.insert(record, writer);
                }
            }
        }
    }

    /// `initTransactions` of a transactional id with an epoch: the id is registered with the
    /// newest epoch, and an ongoing transaction of an older epoch is aborted (fenced). Returns
    /// whether the id had been used before (Kafka: the new epoch is not 0).
    pub(super) fn init_transactional_id(&mut self, sink: TaskId, id: TxnId) -> bool {
        let broker = &mut self.broker;
        let key = (sink, id.name);
        let used = match broker.ids.binary_search_by(|(k, _)| k.cmp(&key)) {
            Ok(at) => {
                let epoch = &mut broker.ids[at].1;
                *epoch = (*epoch).max(id.epoch);
                true
            }
            Err(at) => {
                broker.ids.insert(at, (key, id.epoch));
                false
            }
        };
        for txn in &mut broker.txns {
            if txn.sink == sink
                && txn.id.name == id.name
                && txn.id.epoch < id.epoch
                && txn.state == TxnState::Ongoing
            {
                txn.state = TxnState::Aborted;
                broker.fenced_ongoing = true;
            }
        }
        used
    }

    /// `TransactionAborter`: from `from` upward, initialise each id with `from`'s epoch (which
    /// aborts its lingering transaction) until one that was never used.
    pub(super) fn abort_lingering(&mut self, sink: TaskId, from: TxnId) {
        let mut id = from;
        while self.init_transactional_id(sink, id) {
            id.name = CheckpointId(id.name.0 + 1);
        }
    }

    /// A record sent into a transaction: invisible until it commits. A send by a fenced producer
    /// fails (the broker records it and keeps nothing).
    pub(super) fn send(&mut self, sink: TaskId, id: TxnId, record: Record) {
        let broker = &mut self.broker;
        let latest = broker
            .ids
            .binary_search_by(|(k, _)| k.cmp(&(sink, id.name)))
            .map(|at| broker.ids[at].1);
        if latest.is_ok_and(|epoch| epoch > id.epoch) {
            broker.fenced_send = true;
            return;
        }
        if latest.is_err() {
            // The producer's id is registered by its `initTransactions`; a first send registers
            // it too, so that the broker's record never misses an id with data.
            broker.ids.push(((sink, id.name), id.epoch));
            broker.ids.sort();
        }
        let at = broker.txns.partition_point(|t| (t.sink, t.id) < (sink, id));
        match broker.txns.get_mut(at) {
            Some(txn) if txn.sink == sink && txn.id == id => {
                if txn.state == TxnState::Ongoing {
                    let pos = txn.records.partition_point(|r| *r <= record);
                    txn.records.insert(pos, record);
                } else {
                    broker.fenced_send = true;
                }
            }
            _ => broker.txns.insert(
                at,
                BrokerTxn {
                    sink,
                    id,
                    state: TxnState::Ongoing,
                    records: vec![record],
                },
            ),
        }
    }
}
