//! The model-file schema (`models/*.toml`, serde, unknown keys rejected) and its validation into
//! an immutable [`Spec`]: the expanded topology, the checkpoint configuration, the fault budget,
//! the user requests the environment may make, the exploration bounds and the injected bugs.
//!
//! Every load error names the file, the key and the reason (`ModelError`); nothing here panics on
//! user input. `models/README.md` documents every key with its unit and default.

use crate::error::InputError;
use crate::system::bugs::{Bug, BugSet};
use crate::system::protocol::{Alignment, ChannelId, Record, SnapshotKind, TaskId, TaskSet, Tick};
use crate::system::topology;
pub use crate::system::topology::{
    source_records, ChannelSpec, EdgeSpec, InputSpec, OperatorKind, OperatorSpec, OutputSpec,
    Partitioning, TaskSpec,
};
use serde::Deserialize;

/// The default model embedded in the binary (`check` without a MODEL argument).
pub const DEFAULT_MODEL_NAME: &str = "models/keyed-join-2pc.toml";
pub const DEFAULT_MODEL_TEXT: &str = include_str!("../../models/keyed-join-2pc.toml");

/// Every model in `models/`, embedded so that the bug report runs from anywhere (a test checks
/// that this list and the directory agree).
pub const EMBEDDED_MODELS: &[(&str, &str)] = &[
    (
        "alignment-timeout",
        include_str!("../../models/alignment-timeout.toml"),
    ),
    ("async-sink", include_str!("../../models/async-sink.toml")),
    (
        "at-least-once",
        include_str!("../../models/at-least-once.toml"),
    ),
    ("broadcast", include_str!("../../models/broadcast.toml")),
    (
        "coordinator-faults",
        include_str!("../../models/coordinator-faults.toml"),
    ),
    ("diamond", include_str!("../../models/diamond.toml")),
    ("drain", include_str!("../../models/drain.toml")),
    (
        "keyed-aggregate",
        include_str!("../../models/keyed-aggregate.toml"),
    ),
    ("ha-failures", include_str!("../../models/ha-failures.toml")),
    ("incremental", include_str!("../../models/incremental.toml")),
    ("keyed-join-2pc", DEFAULT_MODEL_TEXT),
    ("linear", include_str!("../../models/linear.toml")),
    (
        "region-failover",
        include_str!("../../models/region-failover.toml"),
    ),
    (
        "retained-checkpoints",
        include_str!("../../models/retained-checkpoints.toml"),
    ),
    (
        "savepoints-2pc",
        include_str!("../../models/savepoints-2pc.toml"),
    ),
    (
        "short-timeout",
        include_str!("../../models/short-timeout.toml"),
    ),
    (
        "split-source",
        include_str!("../../models/split-source.toml"),
    ),
    (
        "split-source-savepoint",
        include_str!("../../models/split-source-savepoint.toml"),
    ),
    (
        "task-lifecycle",
        include_str!("../../models/task-lifecycle.toml"),
    ),
    (
        "transactions",
        include_str!("../../models/transactions.toml"),
    ),
    (
        "transactions-mark",
        include_str!("../../models/transactions-mark.toml"),
    ),
    (
        "transactions-resume",
        include_str!("../../models/transactions-resume.toml"),
    ),
    (
        "transactions-retry",
        include_str!("../../models/transactions-retry.toml"),
    ),
    (
        "two-input-join",
        include_str!("../../models/two-input-join.toml"),
    ),
    ("unaligned", include_str!("../../models/unaligned.toml")),
    (
        "unaligned-union",
        include_str!("../../models/unaligned-union.toml"),
    ),
];

/// A model file that could not be loaded: which file, which key, and why.
pub type ModelError = InputError;

// ---------------------------------------------------------------------------------------------
// The file format (serde). Defaults live here and in models/README.md.
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ModelFile {
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    topic: String,
    operators: Vec<OperatorFile>,
    #[serde(default)]
    edges: Vec<EdgeFile>,
    #[serde(default)]
    checkpointing: CheckpointingFile,
    #[serde(default)]
    faults: FaultsFile,
    #[serde(default)]
    user: UserFile,
    #[serde(default)]
    network: NetworkFile,
    #[serde(default)]
    lifecycle: Lifecycle,
    /// The failover strategy (`[failover]`): full by default.
    #[serde(default)]
    failover: FailoverFile,
    #[serde(default)]
    bounds: BoundsFile,
    /// Transaction identity in the external system (`system/task/transactions.rs`).
    #[serde(default)]
    transactions: TransactionsFile,
    #[serde(default)]
    bugs: Vec<String>,
    /// The small instance the exhaustive checker completes on (`system/instance.rs`).
    #[serde(default)]
    small: Option<SmallFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OperatorFile {
    name: String,
    kind: OperatorKind,
    #[serde(default = "one")]
    parallelism: u32,
    /// Sources: records per subtask.
    #[serde(default)]
    records: Option<u32>,
    /// Sources: number of distinct keys; record `j` has key `j mod keys`.
    #[serde(default)]
    keys: Option<u32>,
    /// Split sources: the number of splits the enumerator owns.
    #[serde(default)]
    splits: Option<u32>,
}

fn one() -> u32 {
    1
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EdgeFile {
    from: String,
    to: String,
    #[serde(default)]
    partitioning: Partitioning,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CheckpointingFile {
    #[serde(default = "default_mode")]
    mode: CheckpointMode,
    #[serde(default = "default_interval")]
    interval: u32,
    #[serde(default)]
    min_pause: u32,
    #[serde(default = "one")]
    max_concurrent: u32,
    #[serde(default = "default_timeout")]
    timeout: u32,
    #[serde(default)]
    alignment_timeout: u32,
    #[serde(default)]
    tolerable_failures: Tolerance,
    #[serde(default = "one")]
    retained: u32,
    #[serde(default)]
    incremental: bool,
    #[serde(default)]
    restore_mode: RestoreModeFile,
    #[serde(default)]
    start_from_retained: bool,
    #[serde(default)]
    scheduler_start_delay: StartDelayFile,
}

/// `checkpointing.scheduler_start_delay`: how long a started periodic scheduler waits before its
/// first trigger.
#[derive(Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
enum StartDelayFile {
    #[default]
    Interval,
    MinPause,
}

/// `checkpointing.restore_mode`: how a job started from a snapshot treats it.
#[derive(Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
enum RestoreModeFile {
    #[default]
    Claim,
    NoClaim,
}

impl Default for CheckpointingFile {
    fn default() -> Self {
        CheckpointingFile {
            mode: default_mode(),
            interval: default_interval(),
            min_pause: 0,
            max_concurrent: 1,
            timeout: default_timeout(),
            alignment_timeout: 0,
            tolerable_failures: Tolerance::default(),
            retained: 1,
            incremental: false,
            restore_mode: RestoreModeFile::Claim,
            start_from_retained: false,
            scheduler_start_delay: StartDelayFile::Interval,
        }
    }
}

fn default_mode() -> CheckpointMode {
    CheckpointMode::Aligned
}
fn default_interval() -> u32 {
    10
}
fn default_timeout() -> u32 {
    100
}

/// `tolerable_failures`: a count or the word `"unlimited"` (deserialized by hand so that a bad
/// value gets a message in the file's terms, not serde's "untagged enum").
#[derive(Debug)]
enum Tolerance {
    Count(u64),
    Word(String),
}

impl<'de> Deserialize<'de> for Tolerance {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Tolerance;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a whole number of failures from 0 to 100, or \"unlimited\"")
            }
            fn visit_u64<E: serde::de::Error>(self, value: u64) -> Result<Tolerance, E> {
                Ok(Tolerance::Count(value))
            }
            fn visit_i64<E: serde::de::Error>(self, value: i64) -> Result<Tolerance, E> {
                u64::try_from(value)
                    .map(Tolerance::Count)
                    .map_err(|_| E::invalid_value(serde::de::Unexpected::Signed(value), &self))
            }
            fn visit_str<E: serde::de::Error>(self, value: &str) -> Result<Tolerance, E> {
                Ok(Tolerance::Word(value.to_string()))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

impl Default for Tolerance {
    fn default() -> Self {
        Tolerance::Count(0)
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FaultsFile {
    #[serde(default)]
    task_crashes: u32,
    #[serde(default)]
    coordinator_failovers: u32,
    #[serde(default)]
    lost_rpcs: u32,
    #[serde(default)]
    declined_snapshots: u32,
    #[serde(default)]
    storage_failures: u32,
    #[serde(default)]
    possibly_inconsistent_writes: u32,
    #[serde(default)]
    non_atomic_restarts: u32,
    #[serde(default)]
    failed_sends: u32,
    #[serde(default)]
    failed_commits: u32,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct UserFile {
    #[serde(default)]
    manual_checkpoints: u32,
    #[serde(default)]
    savepoints: u32,
    #[serde(default)]
    stop_with_savepoint: u32,
    #[serde(default)]
    drain: bool,
    #[serde(default)]
    resume_older: u32,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct TransactionsFile {
    #[serde(default)]
    identity: bool,
    #[serde(default)]
    commit_retries: Option<u32>,
    #[serde(default)]
    committed_mark: bool,
}

/// How the two-phase-commit sinks' transactions are identified in the external system.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Transactions {
    /// Kafka-style transactional ids (`KafkaWriter`, `TransactionalIdFactory`:
    /// `prefix-subtaskId-checkpointId`) with producer epochs and fencing in the external system,
    /// idempotent `recoverAndCommit` and the `TransactionAborter` on restore. Off: the external
    /// system keys a transaction by (sink, pre-committing checkpoint) and knows nothing else.
    pub identity: bool,
    /// How often the committer retries a commit request the external system answered with
    /// `retryLater` before it gives up and fails the task (`sink.committer.retries`, Flink's
    /// default 10; `CheckpointCommittableManagerImpl.commit` retries in the same call). Only
    /// matters with `faults.failed_commits`.
    pub commit_retries: u8,
    /// An Iceberg-style table with a sink-side mark (`system/world/external.rs`): every commit
    /// appends (the table deduplicates nothing) and records, in the same snapshot, the highest
    /// committed checkpoint id for the committable's job id and operator
    /// (`flink.max-committed-checkpoint-id`); the committer commits a committable only above
    /// that mark (Iceberg's `IcebergCommitter`, sink v2).
    pub committed_mark: bool,
}

/// Flink's default of `sink.committer.retries` (`SinkOptions.COMMITTER_RETRIES`).
pub const DEFAULT_COMMIT_RETRIES: u8 = 10;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct NetworkFile {
    #[serde(default)]
    rpc_order: RpcOrder,
}

/// The `[lifecycle]` table (`task/lifecycle.rs`): task lifecycle phases as steps of their own.
/// Both off by default, so models without the table keep their state spaces.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lifecycle {
    /// After a (re)start every task is DEPLOYING/INITIALIZING until its own deploy step; the
    /// JobManager learns it runs from its RUNNING report (`updateTaskExecutionState`).
    #[serde(default)]
    pub deploy_steps: bool,
    /// A task whose final checkpoint completed becomes ready to finish (`afterInvoke` closed
    /// its mailbox) and finishes (EndOfPartition, the FINISHED report) in a later step.
    #[serde(default)]
    pub finish_steps: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FailoverFile {
    #[serde(default)]
    strategy: FailoverStrategy,
}

/// What a task failure restarts (`jobmanager.execution.failover-strategy`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FailoverStrategy {
    /// Every task restarts from the latest completed checkpoint (`RestartAllFailoverStrategy`).
    /// The default of these model files (their state spaces and traces predate regions).
    #[default]
    Full,
    /// Flink's default (`RestartPipelinedRegionFailoverStrategy`): a task failure restarts only
    /// its pipelined region (`Spec::regions`); the other tasks keep running with all their
    /// state. Global failures (the failure manager's, a new leader's) still restart everything.
    Region,
}

/// How RPCs between the coordinator and the tasks may be reordered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RpcOrder {
    /// Any RPC in flight may arrive next (Flink sends notifications from executor threads, so
    /// they can overtake each other).
    #[default]
    Unordered,
    /// RPCs between the coordinator and one task arrive in the order sent, per direction (the
    /// ordering an RPC connection gives messages sent from one thread), except acknowledgements
    /// and declines, which each checkpoint's asynchronous snapshot phase sends on its own and
    /// which may therefore overtake (see `Rpc::connection`). Notifications are not reordered:
    /// models that need that use `unordered`.
    PerPairFifo,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BoundsFile {
    #[serde(default = "default_time")]
    time: u32,
    #[serde(default = "default_faulty_steps")]
    faulty_steps: u32,
    /// Absent: derived from the model ([`default_healed_steps`]).
    #[serde(default)]
    healed_steps: Option<u32>,
}

impl Default for BoundsFile {
    fn default() -> Self {
        BoundsFile {
            time: default_time(),
            faulty_steps: default_faulty_steps(),
            healed_steps: None,
        }
    }
}

fn default_time() -> u32 {
    200
}
fn default_faulty_steps() -> u32 {
    200
}

/// The largest model file (bytes).
pub const MAX_MODEL_BYTES: u64 = 1 << 20;
/// The longest model name (it becomes part of trace file names).
pub const MAX_NAME_CHARS: usize = 64;
/// The largest `bounds.time` (ticks).
pub const MAX_TIME: u32 = 1_000_000;
/// The most periodic checkpoints a horizon may hold (`bounds.time / checkpointing.interval`).
pub const MAX_PERIODIC_TRIGGERS: u32 = 10_000;
/// The largest `bounds.faulty_steps` and `bounds.healed_steps`.
pub const MAX_STEPS: u32 = 1_000_000;
/// The most steps moving a model's records may take ([`data_work`]).
pub const MAX_DATA_STEPS: u64 = 200_000;

/// The healed phase's default step budget: enough to move every record through the graph three
/// times over (a restore replays what the last checkpoint had not covered), plus, for each of a
/// few rounds of `max_concurrent` checkpoints, a barrier per channel and a trigger, an
/// acknowledgement and a notification per subtask, plus slack.
pub fn default_healed_steps(
    data_steps: u64,
    tasks: usize,
    channels: usize,
    max_concurrent: u8,
) -> u32 {
    let per_checkpoint = channels as u64 + 4 * tasks as u64 + 4;
    let rounds = 8 + 4 * max_concurrent as u64;
    let budget = 1_000 + 3 * data_steps + rounds * per_checkpoint;
    budget.min(MAX_STEPS as u64) as u32
}

/// How much moving a model's records costs.
struct DataWork {
    /// Emits and channel deliveries of one failure-free run, an upper bound.
    steps: u64,
    /// The key to name when that is too much.
    key: String,
}

/// An upper bound on the emits and deliveries of one failure-free run: each operator's output
/// count (sources: records, plus an end of data, per subtask; a join: the pairs of records that
/// share a key; others: their input), times the copies each edge makes (broadcast: one per
/// downstream subtask). Saturating, so a hostile model cannot overflow it.
fn data_work(operators: &[OperatorSpec], edges: &[EdgeSpec]) -> DataWork {
    let graph = topology::operator_graph(operators, edges);
    let order = petgraph_order(&graph);
    // Per operator and input side: records arriving, per key (keys 0..64).
    let mut arriving: Vec<[[u64; 64]; 2]> = vec![[[0; 64]; 2]; operators.len()];
    let mut steps: u64 = 0;
    let mut worst = (0u64, String::from("operators"));
    for index in order {
        let op = &operators[index];
        let mut out = [0u64; 64];
        match op.kind {
            OperatorKind::Source => {
                for offset in 0..op.records as usize {
                    out[offset % op.keys.max(1) as usize] += op.parallelism as u64;
                }
                steps = steps.saturating_add(out.iter().sum::<u64>() + op.parallelism as u64);
            }
            OperatorKind::SplitSource => {
                for offset in 0..op.records as usize {
                    out[offset % op.keys.max(1) as usize] += op.splits as u64;
                }
                // Every split is requested and assigned, and every reader asks once more.
                let events = 2 * (op.splits as u64 + op.parallelism as u64);
                steps = steps.saturating_add(out.iter().sum::<u64>() + events);
            }
            OperatorKind::Join => {
                for (key, slot) in out.iter_mut().enumerate() {
                    *slot = arriving[index][0][key].saturating_mul(arriving[index][1][key]);
                }
            }
            _ => {
                for (key, slot) in out.iter_mut().enumerate() {
                    *slot = arriving[index][0][key].saturating_add(arriving[index][1][key]);
                }
            }
        }
        let produced = out.iter().fold(0u64, |a, b| a.saturating_add(*b));
        if produced > worst.0 {
            worst = (
                produced,
                format!(
                    "operators[{index}]{}",
                    if op.kind.is_source() { ".records" } else { "" }
                ),
            );
        }
        for edge in edges.iter().filter(|e| e.from == index) {
            let copies = if edge.partitioning == Partitioning::Broadcast {
                operators[edge.to].parallelism as u64
            } else {
                1
            };
            let side = (edge.input_side as usize).min(1);
            for (key, count) in out.iter().enumerate() {
                let sent = count.saturating_mul(copies);
                arriving[edge.to][side][key] = arriving[edge.to][side][key].saturating_add(sent);
                // Each record and each end-of-data marker is delivered once per channel copy.
                steps = steps.saturating_add(sent);
            }
            steps = steps.saturating_add(
                operators[edge.from].parallelism as u64 * operators[edge.to].parallelism as u64,
            );
        }
    }
    DataWork {
        steps,
        key: worst.1,
    }
}

/// Operator indices in a topological order (the graph was validated acyclic).
fn petgraph_order(graph: &petgraph::graph::DiGraph<usize, usize>) -> Vec<usize> {
    petgraph::algo::toposort(graph, None)
        .map(|order| order.into_iter().map(|node| graph[node]).collect())
        .unwrap_or_default()
}

/// A model name is a plain file-name part: it becomes part of the names of the trace files the
/// model's runs write, so it may not hold a path.
fn check_name(name: &str) -> Result<(), String> {
    if name.trim().is_empty() {
        return Err("must not be empty".into());
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(format!(
            "is longer than {MAX_NAME_CHARS} characters (it becomes part of trace file names)"
        ));
    }
    // '@' for small instances (`linear@small`).
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '@');
    if !name.chars().all(allowed) || !name.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return Err(format!(
            "{} may hold only letters, digits, '-', '_', '.' and '@', starting with a letter or digit (it becomes part of trace file names, so it may not hold a path)",
            quoted(name)
        ));
    }
    Ok(())
}

/// A user's string for a message: quoted, and cut if long.
fn quoted(text: &str) -> String {
    format!("{:?}", crate::error::shorten(text, 60))
}

/// The checkpointing mode of a model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CheckpointMode {
    /// Exactly-once with aligned barriers (unaligned checkpoints disabled).
    Aligned,
    /// Exactly-once with unaligned checkpoints enabled (alignment timeout decides when).
    Unaligned,
    /// At-least-once: the barrier tracker never blocks.
    AtLeastOnce,
}

impl CheckpointMode {
    pub fn name(self) -> &'static str {
        match self {
            CheckpointMode::Aligned => "aligned",
            CheckpointMode::Unaligned => "unaligned",
            CheckpointMode::AtLeastOnce => "at-least-once",
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The validated, immutable Spec.
// ---------------------------------------------------------------------------------------------

/// Checkpoint configuration (Flink `CheckpointConfig` / `CheckpointCoordinatorConfiguration`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckpointConfig {
    pub mode: CheckpointMode,
    /// Periodic interval in ticks; `None` disables periodic checkpointing.
    pub interval: Option<Tick>,
    pub min_pause: Tick,
    pub max_concurrent: u8,
    pub timeout: Tick,
    /// Unaligned mode only: 0 = unaligned from the first barrier.
    pub alignment_timeout: Tick,
    /// `None` = unlimited (failure counting disabled).
    pub tolerable_failures: Option<u8>,
    pub retained: u8,
    /// Incremental checkpoints: task snapshots reference shared state files, tracked by the
    /// coordinator's shared-state registry.
    pub incremental: bool,
    /// `RecoveryClaimMode` of the snapshot the job starts or resumes from.
    pub restore_mode: crate::system::protocol::ClaimMode,
    /// The job starts from a retained incremental checkpoint of an earlier run (id 1).
    pub start_from_retained: bool,
    /// A started periodic scheduler first fires after `min_pause`, as in a deployed Flink 2.3
    /// job (`checkpointing.scheduler_start_delay = "min-pause"`), instead of after the base
    /// interval (`"interval"`, the default). Flink draws a random first delay in [min_pause,
    /// base interval] for a coordinator's first start only, and a deployed job's start-up
    /// replaces it at once with `min_pause`, as does every later start (conformance/README.md,
    /// "How the periodic scheduler starts"). The embedded models keep the base interval, so that
    /// a job runs a while before its first checkpoint (the explored schedules fire a timer at
    /// its due time or later, so an earlier first trigger is one they do not explore); `conform`
    /// switches Flink's delay on, which lets it compare the periodic timer's due time.
    pub start_after_min_pause: bool,
}

impl CheckpointConfig {
    pub fn unaligned_enabled(&self) -> bool {
        self.mode == CheckpointMode::Unaligned
    }

    /// Flink: `baseInterval = max(interval, minPause)`.
    pub fn base_interval(&self) -> Option<Tick> {
        self.interval.map(|interval| interval.max(self.min_pause))
    }

    /// `CheckpointOptions.forConfig`: the barrier alignment for a snapshot of this kind.
    pub fn alignment_for(&self, kind: SnapshotKind) -> Alignment {
        match self.mode {
            CheckpointMode::AtLeastOnce => Alignment::AtLeastOnce,
            CheckpointMode::Aligned => Alignment::Aligned,
            // Savepoints are never unaligned.
            CheckpointMode::Unaligned if kind.is_savepoint() => Alignment::Aligned,
            CheckpointMode::Unaligned if self.alignment_timeout == 0 => Alignment::Unaligned,
            CheckpointMode::Unaligned => Alignment::AlignedWithTimeout,
        }
    }

    /// Savepoints are "forced" (may exceed max concurrent) iff unaligned checkpoints are off.
    pub fn savepoints_forced(&self) -> bool {
        !self.unaligned_enabled()
    }
}

/// How many faults of each kind a run may inject.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FaultBudget {
    pub task_crashes: u8,
    pub coordinator_failovers: u8,
    pub lost_rpcs: u8,
    pub declined_snapshots: u8,
    pub storage_failures: u8,
    /// Armed storage faults that may be turned into possibly inconsistent store writes: the
    /// completed checkpoint lands in HA storage although the add reports a failure (Flink's
    /// `PossibleInconsistentStateException`, `CheckpointCoordinator.
    /// addCompletedCheckpointToStoreAndSubsumeOldest`).
    pub possibly_inconsistent_writes: u8,
    /// Global restarts (of the first ones in a run) that are not atomic: the tasks are cancelled
    /// in one step and restored in a later one (`DefaultScheduler.restartTasksWithDelay`), and
    /// the JobManager may lose leadership in between (a `coordinator_failovers` fault).
    pub non_atomic_restarts: u8,
    /// Fatal failures of an async sink's outstanding send (`AsyncSinkWriter`'s fatal exception
    /// fails the task): a `Crash` of a sink with sends in flight spends this budget first.
    pub failed_sends: u8,
    /// Transient failures of a two-phase-commit sink's commit attempts: the external system is
    /// unavailable and answers `retryLater` (`Committer.CommitRequest.retryLater`), so the
    /// committer retries (`transactions.commit_retries`) or, out of retries, fails the task and
    /// the restored sink commits again (`recoverAndCommit`). Each one strikes one attempt.
    pub failed_commits: u8,
}

impl FaultBudget {
    pub fn total(&self) -> u32 {
        self.task_crashes as u32
            + self.coordinator_failovers as u32
            + self.lost_rpcs as u32
            + self.declined_snapshots as u32
            + self.storage_failures as u32
            + self.possibly_inconsistent_writes as u32
            + self.failed_sends as u32
            + self.failed_commits as u32
    }
}

/// How many requests of each kind the user (the environment) may make.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UserBudget {
    pub manual_checkpoints: u8,
    pub savepoints: u8,
    pub stop_with_savepoint: u8,
    /// Stop-with-savepoint drains (`stop --drain`, `SavepointType.terminate`): the sources end
    /// their input before the savepoint and the job finishes after it.
    pub drain: bool,
    /// Resumes of a job stopped with a savepoint from a retained checkpoint older than that
    /// savepoint (a new job run whose checkpoint ids continue from the checkpoint's, so it
    /// reuses the ids, and the transactional ids, the stopped run used after it).
    pub resume_older: u8,
}

/// Exploration bounds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bounds {
    /// Timers due after this tick never fire: the time horizon that keeps the space finite.
    pub time: Tick,
    /// Simulator: steps in the faulty phase.
    pub faulty_steps: u32,
    /// Simulator: steps the healed phase may take to finish the job (the liveness bound).
    pub healed_steps: u32,
}

/// The validated model: static, immutable, passed as context to every function that needs it.
#[derive(Clone, Debug)]
pub struct Spec {
    pub name: String,
    pub description: String,
    /// One line: the mechanism or bug family the model is for (`""` when the file has none).
    pub topic: String,
    /// Where the model came from (a path, or the embedded default's name).
    pub file: String,
    /// The model file's text, embedded in traces so that they replay without the file.
    pub text: String,
    pub operators: Vec<OperatorSpec>,
    pub edges: Vec<EdgeSpec>,
    pub tasks: Vec<TaskSpec>,
    pub channels: Vec<ChannelSpec>,
    /// Subtasks in a topological order (upstream first).
    pub topological_order: Vec<TaskId>,
    /// Source subtasks by source index.
    pub sources: Vec<TaskId>,
    /// Keys are `0..key_space` (the largest `keys` of any source).
    pub key_space: u8,
    pub checkpointing: CheckpointConfig,
    pub faults: FaultBudget,
    pub user: UserBudget,
    pub bounds: Bounds,
    pub rpc_order: RpcOrder,
    /// The `[lifecycle]` table.
    pub lifecycle: Lifecycle,
    /// The `[failover]` strategy.
    pub failover: FailoverStrategy,
    /// The pipelined regions (`topology::pipelined_regions`), sorted by lowest task.
    pub regions: Vec<TaskSet>,
    /// Transaction identity in the external system (`[transactions]`).
    pub transactions: Transactions,
    pub bugs: BugSet,
    /// The file's `[small]` table: the overrides of its small instance (`Spec::small_instance`).
    pub small: Option<SmallInstance>,
    /// The model's FLIP-27 split source, if it has one (at most one).
    pub split_source: Option<SplitSourceSpec>,
}

/// A split source (`kind = "split-source"`): its operator, its reader subtasks and the records
/// of each split.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SplitSourceSpec {
    pub operator: usize,
    pub readers: Vec<TaskId>,
    /// Per split, its records in offset order; split `s`'s provenance number is
    /// `first_provenance + s` (after every plain source subtask's).
    pub splits: Vec<Vec<Record>>,
    pub first_provenance: u8,
}

impl SplitSourceSpec {
    /// Every split, as a set (bit `s`: split `s`).
    pub fn all_splits(&self) -> u16 {
        ((1u32 << self.splits.len()) - 1) as u16
    }
}

/// What region failover does not model (its key and the reason), or `None`. Each is a
/// mechanism whose interplay with a partial restart is not built: the split source's
/// coordinator (`subtaskReset` of some readers only), transaction identity (producer epochs are
/// per job attempt), non-atomic restarts and lifecycle steps (a region RESTARTING while the rest
/// runs), stop-with-savepoint (its failure handling across a region restart) and incremental
/// checkpoints (shared state restored to some tasks only).
fn region_failover_unsupported(spec: &Spec) -> Option<(&'static str, &'static str)> {
    let why = if spec.split_source.is_some() {
        "split-source: an operator coordinator's subtaskReset for some readers only is not modelled"
    } else if spec.transactions.identity {
        "transactions.identity: producer epochs are per job attempt, not per restarted task"
    } else if spec.faults.non_atomic_restarts > 0 {
        "faults.non_atomic_restarts: a region restart is one step"
    } else if spec.lifecycle.deploy_steps || spec.lifecycle.finish_steps {
        "lifecycle: restarted tasks are deployed running, as in the default lifecycle"
    } else if spec.user.stop_with_savepoint > 0 || spec.user.drain {
        "user.stop_with_savepoint: its failure handling across a region restart is not modelled"
    } else if spec.checkpointing.incremental {
        "checkpointing.incremental: shared state restored to some tasks only is not modelled"
    } else {
        return None;
    };
    Some(("failover.strategy", why))
}

/// Validates the model's split source (at most one; its output edges route by the record, never
/// `forward`; RPCs per-pair FIFO) and builds its [`SplitSourceSpec`].
fn split_source_spec(
    operators: &[OperatorSpec],
    edges: &[EdgeSpec],
    first_provenance: u8,
    rpc_order: RpcOrder,
) -> Result<Option<SplitSourceSpec>, (String, String)> {
    let mut found = operators
        .iter()
        .enumerate()
        .filter(|(_, o)| o.kind == OperatorKind::SplitSource);
    let Some((index, op)) = found.next() else {
        return Ok(None);
    };
    if let Some((second, _)) = found.next() {
        return Err((
            format!("operators[{second}].kind"),
            "a model may have at most one split-source".into(),
        ));
    }
    if let Some(edge) = edges
        .iter()
        .position(|e| e.from == index && e.partitioning == Partitioning::Forward)
    {
        return Err((
            format!("edges[{edge}].partitioning"),
            format!(
                "an edge out of split-source {:?} must route by the record (hash, rebalance or broadcast), not forward: which reader reads a split is decided at run time",
                op.name
            ),
        ));
    }
    if rpc_order != RpcOrder::PerPairFifo {
        // OperatorCoordinatorHolder: "all events from the scheduler to the Tasks are transported
        // strictly in order"; an event sent after the barrier injection must not overtake it.
        return Err((
            "network.rpc_order".into(),
            format!(
                "split-source {:?} needs \"per-pair-fifo\": operator events rely on the RPC connection's order against the trigger RPCs (Flink's RPC keeps it)",
                op.name
            ),
        ));
    }
    let readers = (0..op.parallelism)
        .map(|s| TaskId(op.first_task.0 + s))
        .collect();
    let splits = (0..op.splits)
        .map(|s| topology::split_records(op, first_provenance, s))
        .collect();
    Ok(Some(SplitSourceSpec {
        operator: index,
        readers,
        splits,
        first_provenance,
    }))
}

impl Spec {
    pub fn task(&self, task: TaskId) -> &TaskSpec {
        &self.tasks[task.0 as usize]
    }

    pub fn channel(&self, channel: ChannelId) -> &ChannelSpec {
        &self.channels[channel.0 as usize]
    }

    pub fn all_tasks(&self) -> TaskSet {
        TaskSet::all(self.tasks.len())
    }

    pub fn task_ids(&self) -> impl Iterator<Item = TaskId> {
        (0..self.tasks.len() as u8).map(TaskId)
    }

    pub fn channel_ids(&self) -> impl Iterator<Item = ChannelId> {
        (0..self.channels.len() as u8).map(ChannelId)
    }

    /// Whether the end-to-end oracle demands exactly-once (false: at-least-once).
    pub fn exactly_once(&self) -> bool {
        self.checkpointing.mode != CheckpointMode::AtLeastOnce
    }

    /// The pipelined region `task` belongs to (`regions`).
    pub fn region_of(&self, task: TaskId) -> TaskSet {
        self.regions
            .iter()
            .copied()
            .find(|region| region.contains(task))
            .unwrap_or_default()
    }

    pub fn has_bug(&self, bug: Bug) -> bool {
        self.bugs.contains(bug)
    }

    /// Whether the end of input changes what an operator holds: the model has a `batch-flush`
    /// operator or its stop-with-savepoint drains. Only then do sources record that they ended
    /// (`OperatorState::Source::ended`).
    pub fn tracks_end_of_input(&self) -> bool {
        self.user.drain
            || self
                .operators
                .iter()
                .any(|o| o.kind == OperatorKind::BatchFlush)
    }

    /// The same model with extra bugs switched on (the CLI's `--bug`).
    pub fn with_bugs(mut self, bugs: BugSet) -> Spec {
        self.bugs = self.bugs.union(bugs);
        self
    }

    /// Loads a model file from disk (a regular file of at most [`MAX_MODEL_BYTES`]).
    pub fn load(path: &str) -> Result<Spec, ModelError> {
        let text = crate::error::read_input(path, "model file", MAX_MODEL_BYTES)?;
        Spec::parse(path, &text)
    }

    /// An embedded model by name (`linear` for `models/linear.toml`).
    pub fn embedded(name: &str) -> Option<Spec> {
        EMBEDDED_MODELS
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(n, text)| {
                Spec::parse(&format!("models/{n}.toml"), text)
                    .expect("embedded models are valid (checked by the test suite)")
            })
    }

    /// Every embedded model, sorted by name (tests/corpus.rs checks these are exactly the files
    /// in `models/`).
    pub fn all_embedded() -> Vec<Spec> {
        let mut names: Vec<&str> = EMBEDDED_MODELS.iter().map(|(name, _)| *name).collect();
        names.sort();
        names.into_iter().filter_map(Spec::embedded).collect()
    }

    /// The embedded default model.
    pub fn default_model() -> Spec {
        Spec::parse(DEFAULT_MODEL_NAME, DEFAULT_MODEL_TEXT)
            .expect("the embedded default model is valid (checked by the test suite)")
    }

    /// Parses and validates model text. `file` is only used in error messages and traces.
    pub fn parse(file: &str, text: &str) -> Result<Spec, ModelError> {
        if text.len() as u64 > MAX_MODEL_BYTES {
            return Err(ModelError::new(
                file,
                "",
                format!(
                    "the model is {} bytes, more than the {MAX_MODEL_BYTES} bytes a model may have",
                    text.len()
                ),
            ));
        }
        let model: ModelFile = toml::from_str(text).map_err(|error| {
            let mut key = error
                .span()
                .map(|span| key_at(text, span.start))
                .unwrap_or_default();
            // A missing key is reported at its table: name the key itself.
            if let Some(missing) = error
                .message()
                .strip_prefix("missing field `")
                .and_then(|rest| rest.split('`').next())
            {
                let table = error
                    .span()
                    .map(|span| table_at(text, span.start))
                    .unwrap_or_default();
                key = if table.is_empty() {
                    missing.to_string()
                } else {
                    format!("{table}.{missing}")
                };
            }
            ModelError::new(file, key, describe_toml_error(&error))
        })?;
        build(file, text, model)
    }
}

/// The serde/TOML message plus the line, without toml's multi-line snippet.
fn describe_toml_error(error: &toml::de::Error) -> String {
    let message = error
        .message()
        .trim()
        .lines()
        .map(str::trim)
        .collect::<Vec<_>>()
        .join("; ");
    let first_line = error.to_string();
    let location = first_line
        .lines()
        .next()
        .and_then(|line| line.strip_prefix("TOML parse error at "))
        .map(|loc| format!(" (at {loc})"))
        .unwrap_or_default();
    let message = crate::error::plain_serde_message(&message);
    let message = if message.starts_with("unknown field") {
        format!("unknown key: {message}")
    } else if let Some(rest) = message.strip_prefix("missing field") {
        format!("missing key{rest}")
    } else {
        message
    };
    format!("{message}{location}")
}

/// The table (`checkpointing`, `operators[1]`, or empty for the top level) that the line at byte
/// `offset` belongs to, a table header counting as part of its own table.
fn table_at(text: &str, offset: usize) -> String {
    let key = key_at(text, offset);
    let line = text[..offset.min(text.len())]
        .rsplit('\n')
        .next()
        .unwrap_or("")
        .to_string()
        + text[offset.min(text.len())..]
            .split('\n')
            .next()
            .unwrap_or("");
    let trimmed = line.trim();
    if trimmed.starts_with('[') || !trimmed.contains('=') {
        key
    } else {
        // `key_at` named `table.key`: drop the key.
        match key.rsplit_once('.') {
            Some((table, _)) => table.to_string(),
            None => String::new(),
        }
    }
}

/// The dotted key path (`operators[1].parallelism`) of the key whose value or name starts at byte
/// `offset`, found by scanning table headers above it. Good for the flat files this format uses.
fn key_at(text: &str, offset: usize) -> String {
    let offset = offset.min(text.len());
    let mut table = String::new();
    let mut array_counts: Vec<(String, usize)> = Vec::new();
    let mut line_start = 0;
    let mut found_key = String::new();
    for line in text.split_inclusive('\n') {
        let line_end = line_start + line.len();
        let trimmed = line.trim();
        if let Some(name) = trimmed
            .strip_prefix("[[")
            .and_then(|rest| rest.split("]]").next())
        {
            let name = name.trim().trim_end_matches(']').trim().to_string();
            let count = match array_counts.iter_mut().find(|(n, _)| *n == name) {
                Some((_, count)) => {
                    *count += 1;
                    *count
                }
                None => {
                    array_counts.push((name.clone(), 0));
                    0
                }
            };
            table = format!("{name}[{count}]");
        } else if let Some(name) = trimmed
            .strip_prefix('[')
            .and_then(|rest| rest.split(']').next())
        {
            table = name.trim().to_string();
        }
        if offset >= line_start && offset < line_end.max(line_start + 1) {
            if let Some((key, _)) = trimmed.split_once('=') {
                found_key = key.trim().trim_matches('"').to_string();
            } else if !trimmed.starts_with('[') {
                found_key = String::new();
            }
            break;
        }
        line_start = line_end;
    }
    match (table.is_empty(), found_key.is_empty()) {
        (true, _) => found_key,
        (false, true) => table,
        (false, false) => format!("{table}.{found_key}"),
    }
}

fn build(file: &str, text: &str, model: ModelFile) -> Result<Spec, ModelError> {
    let error = |key: String, reason: String| ModelError::new(file, key, reason);
    let small = |key: &str, value: u32, min: u32, max: u32| -> Result<u8, ModelError> {
        if value < min || value > max {
            Err(error(
                key.to_string(),
                format!("{value} is out of range (allowed {min}..={max})"),
            ))
        } else {
            Ok(value as u8)
        }
    };

    check_name(&model.name).map_err(|reason| error("name".into(), reason))?;

    // Operators.
    let mut operators = Vec::new();
    for (index, op) in model.operators.iter().enumerate() {
        let key = |field: &str| format!("operators[{index}].{field}");
        if op.name.trim().is_empty() {
            return Err(error(key("name"), "must not be empty".into()));
        }
        if operators.iter().any(|o: &OperatorSpec| o.name == op.name) {
            return Err(error(
                key("name"),
                format!("duplicate operator name {}", quoted(&op.name)),
            ));
        }
        if op.parallelism == 0 {
            return Err(error(
                key("parallelism"),
                "parallelism must be at least 1 (zero parallelism)".into(),
            ));
        }
        let parallelism = small(&key("parallelism"), op.parallelism, 1, 16)?;
        let (records, keys) = if op.kind.is_source() {
            let records = small(&key("records"), op.records.unwrap_or(2), 0, 200)?;
            let keys = small(&key("keys"), op.keys.unwrap_or(1), 1, 64)?;
            (records, keys)
        } else {
            if op.records.is_some() {
                return Err(error(
                    key("records"),
                    "only sources have input records".into(),
                ));
            }
            if op.keys.is_some() {
                return Err(error(key("keys"), "only sources have input keys".into()));
            }
            (0, 0)
        };
        // Split sources: `splits` (1..=8, default 2); no other kind has one.
        let splits = match (op.kind, op.splits) {
            (OperatorKind::SplitSource, splits) => {
                small(&key("splits"), splits.unwrap_or(2), 1, 8)?
            }
            (_, Some(_)) => {
                return Err(error(
                    key("splits"),
                    "only a split-source has splits".into(),
                ))
            }
            (_, None) => 0,
        };
        operators.push(OperatorSpec {
            name: op.name.clone(),
            kind: op.kind,
            parallelism,
            first_task: TaskId(0),
            records,
            keys,
            splits,
        });
    }
    if operators.is_empty() {
        return Err(error(
            "operators".into(),
            "a model needs at least one operator".into(),
        ));
    }

    // Edges (names resolved here; structure validated by the topology module).
    let mut edges = Vec::new();
    for (index, edge) in model.edges.iter().enumerate() {
        let find = |field: &str, name: &str| {
            operators
                .iter()
                .position(|o| o.name == name)
                .ok_or_else(|| {
                    error(
                        format!("edges[{index}].{field}"),
                        format!("unknown operator {}", quoted(name)),
                    )
                })
        };
        let from = find("from", &edge.from)?;
        let to = find("to", &edge.to)?;
        let input_side = edges.iter().filter(|e: &&EdgeSpec| e.to == to).count() as u8;
        edges.push(EdgeSpec {
            from,
            to,
            partitioning: edge.partitioning,
            input_side,
        });
    }

    // Checkpointing.
    let c = &model.checkpointing;
    let tolerable_failures = match &c.tolerable_failures {
        Tolerance::Count(n) if *n > 100 => {
            return Err(error(
                "checkpointing.tolerable_failures".into(),
                format!("{n} is out of range (allowed 0..=100, or \"unlimited\")"),
            ))
        }
        Tolerance::Count(n) => Some(*n as u8),
        Tolerance::Word(word) if word == "unlimited" => None,
        Tolerance::Word(word) => {
            return Err(error(
                "checkpointing.tolerable_failures".into(),
                format!("expected a number or \"unlimited\", found {}", quoted(word)),
            ))
        }
    };
    if c.max_concurrent == 0 {
        return Err(error(
            "checkpointing.max_concurrent".into(),
            "must be at least 1".into(),
        ));
    }
    if c.retained == 0 {
        return Err(error(
            "checkpointing.retained".into(),
            "must be at least 1".into(),
        ));
    }
    if c.timeout == 0 {
        return Err(error(
            "checkpointing.timeout".into(),
            "must be at least 1 tick".into(),
        ));
    }
    if c.start_from_retained && !c.incremental {
        return Err(error(
            "checkpointing.start_from_retained".into(),
            "the retained checkpoint is an incremental one: needs incremental = true".into(),
        ));
    }
    if c.restore_mode == RestoreModeFile::NoClaim && !c.incremental {
        return Err(error(
            "checkpointing.restore_mode".into(),
            "\"no-claim\" only matters for shared state: needs incremental = true".into(),
        ));
    }
    if c.alignment_timeout > 0 && c.mode != CheckpointMode::Unaligned {
        return Err(error(
            "checkpointing.alignment_timeout".into(),
            "only applies when mode = \"unaligned\"".into(),
        ));
    }
    // Only aligned barriers are modelled around the end of input: an unaligned barrier that
    // overtakes EndOfData, and the barrier tracker's snapshot before a blocked input's EndOfData,
    // are left out, so a `batch-flush` operator needs aligned checkpoints.
    if let Some(index) = model
        .operators
        .iter()
        .position(|o| o.kind == OperatorKind::BatchFlush)
    {
        if c.mode != CheckpointMode::Aligned {
            return Err(error(
                format!("operators[{index}].kind"),
                "a batch-flush operator needs checkpointing.mode = \"aligned\"".into(),
            ));
        }
    }
    let checkpointing = CheckpointConfig {
        mode: c.mode,
        interval: if c.interval == 0 {
            None
        } else {
            Some(c.interval)
        },
        min_pause: c.min_pause,
        max_concurrent: small("checkpointing.max_concurrent", c.max_concurrent, 1, 16)?,
        timeout: c.timeout,
        alignment_timeout: c.alignment_timeout,
        tolerable_failures,
        retained: small("checkpointing.retained", c.retained, 1, 16)?,
        incremental: c.incremental,
        restore_mode: match c.restore_mode {
            RestoreModeFile::Claim => crate::system::protocol::ClaimMode::Claim,
            RestoreModeFile::NoClaim => crate::system::protocol::ClaimMode::NoClaim,
        },
        start_from_retained: c.start_from_retained,
        start_after_min_pause: c.scheduler_start_delay == StartDelayFile::MinPause,
    };

    let f = &model.faults;
    let faults = FaultBudget {
        task_crashes: small("faults.task_crashes", f.task_crashes, 0, 20)?,
        coordinator_failovers: small(
            "faults.coordinator_failovers",
            f.coordinator_failovers,
            0,
            20,
        )?,
        lost_rpcs: small("faults.lost_rpcs", f.lost_rpcs, 0, 50)?,
        declined_snapshots: small("faults.declined_snapshots", f.declined_snapshots, 0, 50)?,
        storage_failures: small("faults.storage_failures", f.storage_failures, 0, 50)?,
        possibly_inconsistent_writes: small(
            "faults.possibly_inconsistent_writes",
            f.possibly_inconsistent_writes,
            0,
            50,
        )?,
        non_atomic_restarts: small("faults.non_atomic_restarts", f.non_atomic_restarts, 0, 20)?,
        failed_sends: small("faults.failed_sends", f.failed_sends, 0, 50)?,
        failed_commits: small("faults.failed_commits", f.failed_commits, 0, 20)?,
    };
    let commit_retries = match model.transactions.commit_retries {
        None => DEFAULT_COMMIT_RETRIES,
        Some(n) => small("transactions.commit_retries", n, 0, 50)?,
    };
    if faults.possibly_inconsistent_writes > 0 && faults.storage_failures == 0 {
        return Err(error(
            "faults.possibly_inconsistent_writes".into(),
            "a possibly inconsistent write turns an armed storage fault into one whose write lands: it needs storage_failures > 0".into(),
        ));
    }
    let u = &model.user;
    let user = UserBudget {
        manual_checkpoints: small("user.manual_checkpoints", u.manual_checkpoints, 0, 20)?,
        savepoints: small("user.savepoints", u.savepoints, 0, 20)?,
        stop_with_savepoint: small("user.stop_with_savepoint", u.stop_with_savepoint, 0, 5)?,
        drain: u.drain,
        resume_older: small("user.resume_older", u.resume_older, 0, 3)?,
    };
    if user.drain && user.stop_with_savepoint == 0 {
        return Err(error(
            "user.drain".into(),
            "drain makes stop-with-savepoint drain: it needs stop_with_savepoint > 0".into(),
        ));
    }
    if user.stop_with_savepoint > 0 && c.interval == 0 {
        return Err(error(
            "user.stop_with_savepoint".into(),
            "stop-with-savepoint needs periodic checkpointing (interval > 0)".into(),
        ));
    }
    let b = &model.bounds;
    if b.time == 0 {
        return Err(error(
            "bounds.time".into(),
            "must be at least 1 tick".into(),
        ));
    }
    if b.time > MAX_TIME {
        return Err(error(
            "bounds.time".into(),
            format!(
                "{} ticks is more than the {MAX_TIME} a model may explore (the horizon keeps the state space finite)",
                b.time
            ),
        ));
    }
    if let Some(interval) = checkpointing.interval {
        let triggers = b.time / interval;
        if triggers > MAX_PERIODIC_TRIGGERS {
            return Err(error(
                "bounds.time".into(),
                format!(
                    "a horizon of {} ticks holds {triggers} periodic checkpoints (interval {interval}); at most {MAX_PERIODIC_TRIGGERS} can be explored",
                    b.time
                ),
            ));
        }
    }
    if b.faulty_steps > MAX_STEPS {
        return Err(error(
            "bounds.faulty_steps".into(),
            format!(
                "{} is more than the {MAX_STEPS} steps a run may take",
                b.faulty_steps
            ),
        ));
    }
    if b.healed_steps == Some(0) {
        return Err(error(
            "bounds.healed_steps".into(),
            "must be at least 1 step".into(),
        ));
    }
    if let Some(steps) = b.healed_steps.filter(|steps| *steps > MAX_STEPS) {
        return Err(error(
            "bounds.healed_steps".into(),
            format!("{steps} is more than the {MAX_STEPS} steps a run may take"),
        ));
    }

    let mut bugs = BugSet::default();
    for (index, name) in model.bugs.iter().enumerate() {
        let bug = Bug::from_name(name).ok_or_else(|| {
            error(
                format!("bugs[{index}]"),
                format!(
                    "unknown bug {} (run `checkpoint-harness bugs` for the list)",
                    quoted(name)
                ),
            )
        })?;
        bugs.insert(bug);
    }

    let expanded = topology::expand(&mut operators, &edges).map_err(|e| error(e.key, e.reason))?;
    let regions = topology::pipelined_regions(expanded.tasks.len(), &expanded.channels, |_| true);
    let split_source = split_source_spec(
        &operators,
        &edges,
        expanded.sources.len() as u8,
        model.network.rpc_order,
    )
    .map_err(|(key, reason)| error(key, reason))?;
    let key_space = operators.iter().map(|o| o.keys).max().unwrap_or(1).max(1);
    let work = data_work(&operators, &edges);
    if work.steps > MAX_DATA_STEPS {
        return Err(error(
            work.key,
            format!(
                "the job would take about {} steps to move its records (joins multiply records that share a key), more than the {MAX_DATA_STEPS} a run can explore; use fewer records, more keys or a lower parallelism",
                work.steps
            ),
        ));
    }
    let bounds = Bounds {
        time: b.time,
        faulty_steps: b.faulty_steps,
        healed_steps: b.healed_steps.unwrap_or_else(|| {
            default_healed_steps(
                work.steps,
                expanded.tasks.len(),
                expanded.channels.len(),
                checkpointing.max_concurrent,
            )
        }),
    };

    let small = match model.small {
        Some(table) => Some(SmallInstance::from_file(file, table)?),
        None => None,
    };
    let spec = Spec {
        name: model.name,
        description: model.description,
        topic: model.topic,
        file: file.to_string(),
        text: text.to_string(),
        operators,
        edges,
        tasks: expanded.tasks,
        channels: expanded.channels,
        topological_order: expanded.topological_order,
        sources: expanded.sources,
        key_space,
        checkpointing,
        faults,
        user,
        bounds,
        rpc_order: model.network.rpc_order,
        lifecycle: model.lifecycle,
        failover: model.failover.strategy,
        regions,
        transactions: Transactions {
            identity: model.transactions.identity,
            commit_retries,
            committed_mark: model.transactions.committed_mark,
        },
        bugs,
        small,
        split_source,
    };
    if spec.transactions.identity
        && !spec
            .operators
            .iter()
            .any(|o| o.kind == OperatorKind::TwoPhaseCommitSink)
    {
        return Err(error(
            "transactions.identity".into(),
            "transaction identity is a two-phase-commit sink's: the model has none".into(),
        ));
    }
    let has_two_phase_sink = spec
        .operators
        .iter()
        .any(|o| o.kind == OperatorKind::TwoPhaseCommitSink);
    if spec.faults.failed_commits > 0 && !has_two_phase_sink {
        return Err(error(
            "faults.failed_commits".into(),
            "a failed commit is a two-phase-commit sink's: the model has none".into(),
        ));
    }
    if model.transactions.commit_retries.is_some() && !has_two_phase_sink {
        return Err(error(
            "transactions.commit_retries".into(),
            "commit retries are a two-phase-commit sink's committer's: the model has none".into(),
        ));
    }
    if spec.user.resume_older > 0 {
        // Without identity the external system keys a commit by (sink, checkpoint id), so a new
        // run's commit of a reused checkpoint id would be taken for the old run's and dropped;
        // the oracle's account of the old run's output (`reference::superseded`) assumes aligned
        // cuts (no channel state) and a job that is resumed, not drained.
        let why = if !spec.transactions.identity && !spec.transactions.committed_mark {
            Some("resuming from an older checkpoint reuses checkpoint ids: it needs transactions.identity (the external system then tells the runs' transactions apart by epoch) or transactions.committed_mark (by job id)")
        } else if spec.user.stop_with_savepoint == 0 || spec.user.drain {
            Some("a job is resumed once stopped with a savepoint without drain: it needs stop_with_savepoint > 0 and no drain")
        } else if spec.checkpointing.mode != CheckpointMode::Aligned {
            Some("modelled with aligned checkpoints only (a cut with channel state is not accounted)")
        } else {
            None
        };
        if let Some(why) = why {
            return Err(error("user.resume_older".into(), why.into()));
        }
    }
    if spec.transactions.committed_mark {
        // The mark is a two-phase-commit sink's committer's; the table is the one external
        // system (a Kafka-style broker deduplicates by itself and keeps no such mark); a
        // retained checkpoint of an earlier job would restore committables whose job left no
        // mark in the table the model starts with.
        let why = if !has_two_phase_sink {
            Some("the committed mark is a two-phase-commit sink's committer's: the model has none")
        } else if spec.transactions.identity {
            Some("not with transactions.identity: the external system is either a Kafka-style broker (transactional ids) or an Iceberg-style table (the mark), not both")
        } else if spec.checkpointing.start_from_retained {
            Some("not modelled with checkpointing.start_from_retained (the retained checkpoint's job left no mark in the table the model starts with)")
        } else {
            None
        };
        if let Some(why) = why {
            return Err(error("transactions.committed_mark".into(), why.into()));
        }
    }
    if spec.transactions.identity && spec.checkpointing.start_from_retained {
        return Err(error(
            "transactions.identity".into(),
            "not modelled with checkpointing.start_from_retained (the retained checkpoint's sinks carry no transactional ids)".into(),
        ));
    }
    if spec.failover == FailoverStrategy::Region {
        if let Some((key, why)) = region_failover_unsupported(&spec) {
            return Err(error(
                key.into(),
                format!("\"region\" is not modelled with {why}"),
            ));
        }
    }
    // The small instance must be a valid model too, so that `small_instance` cannot fail later.
    if let Some(table) = &spec.small {
        let instance = spec.small_instance_text(table);
        Spec::parse(&format!("{file}{SMALL_SUFFIX}"), &instance).map_err(|inner| {
            error(
                format!("small.{}", inner.key),
                format!("the small instance is not a valid model: {}", inner.reason),
            )
        })?;
    }
    Ok(spec)
}

// ---------------------------------------------------------------------------------------------
// The `[small]` table: a model's small instance (built in `system/instance.rs`).
// ---------------------------------------------------------------------------------------------

/// The suffix that names a model's small instance (`linear@small`).
pub const SMALL_SUFFIX: &str = "@small";

/// The `[small]` table of a model file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmallFile {
    /// What the instance leaves out and why it still exercises the model's topic.
    why: String,
    /// At most this many records per source subtask.
    #[serde(default)]
    records: Option<u32>,
    /// The time horizon (`bounds.time`).
    #[serde(default)]
    time: Option<u32>,
    /// The RPC order (`network.rpc_order`).
    #[serde(default)]
    rpc_order: Option<RpcOrder>,
}

/// A validated `[small]` table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SmallInstance {
    pub why: String,
    pub records: Option<u32>,
    pub time: Option<u32>,
    pub rpc_order: Option<RpcOrder>,
}

impl SmallInstance {
    /// Validates the table (`file` names the model file in errors).
    fn from_file(file: &str, table: SmallFile) -> Result<SmallInstance, InputError> {
        if table.why.trim().is_empty() {
            return Err(InputError::new(
                file,
                "small.why",
                "must say what the small instance leaves out and why it still exercises the model's topic",
            ));
        }
        if table.records.is_none() && table.time.is_none() && table.rpc_order.is_none() {
            return Err(InputError::new(
                file,
                "small",
                "changes nothing: set at least one of records, time, rpc_order",
            ));
        }
        if table.records == Some(0) {
            return Err(InputError::new(
                file,
                "small.records",
                "must be at least 1 (a source without records never checkpoints anything)",
            ));
        }
        Ok(SmallInstance {
            why: table.why.trim().to_string(),
            records: table.records,
            time: table.time,
            rpc_order: table.rpc_order,
        })
    }

    /// The overrides in words (`records <= 2, time 20, RPCs per-pair FIFO`).
    pub fn summary(&self) -> String {
        let mut parts = Vec::new();
        if let Some(records) = self.records {
            parts.push(format!("records <= {records}"));
        }
        if let Some(time) = self.time {
            parts.push(format!("time {time}"));
        }
        match self.rpc_order {
            Some(RpcOrder::PerPairFifo) => parts.push("RPCs per-pair FIFO".to_string()),
            Some(RpcOrder::Unordered) => parts.push("RPCs unordered".to_string()),
            None => {}
        }
        parts.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_paths_point_at_the_offending_key() {
        let text = "name = 'x'\n[[operators]]\nname = 'a'\n[[operators]]\nname = 'b'\nparalelism = 2\n[checkpointing]\nintervall = 3\n";
        let at = |needle: &str| key_at(text, text.find(needle).unwrap());
        assert_eq!(at("paralelism"), "operators[1].paralelism");
        assert_eq!(at("intervall"), "checkpointing.intervall");
        assert_eq!(at("name = 'x'"), "name");
    }
}
