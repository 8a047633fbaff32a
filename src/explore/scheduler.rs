//! The seeded scheduler: the only module that touches randomness (generators elsewhere draw
//! through [`Draws`]).
//!
//! A seed (u64) fixes a ChaCha8 stream from which everything random in a run is drawn, in a fixed
//! order: the run's swarm configuration (which fault kinds are on, how many of each within the
//! model's budget, how long faults wait, how heavily each class of action is weighted) and then
//! one choice per step. Two schedulers pick actions: `random` (weighted by action class, then
//! uniform within the class) and `pct` (probabilistic concurrency testing, Burckhardt et al.,
//! ASPLOS 2010: random thread priorities, always run the highest-priority enabled thread, and
//! `depth - 1` priority change points drawn uniformly over the run's expected length `k`, which
//! the simulator calibrates per model; see [`Lane`] for what a thread is here). Same seed, same
//! model, same version = the same choices, on every machine and thread count.

use crate::system::spec::Spec;
use crate::system::world::{Action, RpcKind};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A seeded stream of plain draws for generators outside the world's scheduler (the barrier
/// handlers' conformance sequences): the same ChaCha8 stream, so that randomness stays in this
/// module. `stream` separates generators that share seeds.
pub struct Draws(ChaCha8Rng);

impl Draws {
    pub fn new(seed: u64, stream: u64) -> Draws {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(stream);
        Draws(rng)
    }

    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u32) -> u32 {
        self.0.gen_range(0..n)
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.0.gen_bool(p)
    }
}

/// Which scheduler picks actions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum SchedulerKind {
    Random,
    /// PCT with bug depth `depth` (depth - 1 priority change points).
    Pct {
        depth: u32,
    },
}

impl fmt::Display for SchedulerKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SchedulerKind::Random => write!(f, "random"),
            SchedulerKind::Pct { depth } => write!(f, "pct(depth {depth})"),
        }
    }
}

/// The classes actions are weighted by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ActionClass {
    Deliver,
    Priority,
    Emit,
    Rpc,
    Trigger,
    Timer,
    User,
    Crash,
    CoordinatorFailover,
    LoseRpc,
    DeclineSnapshot,
    StorageFailure,
}

impl ActionClass {
    pub const ALL: [ActionClass; 12] = [
        ActionClass::Deliver,
        ActionClass::Priority,
        ActionClass::Emit,
        ActionClass::Rpc,
        ActionClass::Trigger,
        ActionClass::Timer,
        ActionClass::User,
        ActionClass::Crash,
        ActionClass::CoordinatorFailover,
        ActionClass::LoseRpc,
        ActionClass::DeclineSnapshot,
        ActionClass::StorageFailure,
    ];

    pub fn of(action: &Action) -> ActionClass {
        match action {
            Action::Deliver { .. } => ActionClass::Deliver,
            Action::DeliverPriority { .. } => ActionClass::Priority,
            Action::Emit { .. } => ActionClass::Emit,
            Action::DeliverRpc { .. } => ActionClass::Rpc,
            Action::FinishTriggering => ActionClass::Trigger,
            Action::Fire { .. } => ActionClass::Timer,
            Action::User { .. } | Action::ResumeFromSavepoint | Action::ResumeFromOlder { .. } => {
                ActionClass::User
            }
            Action::Crash { .. } => ActionClass::Crash,
            Action::FailoverCoordinator => ActionClass::CoordinatorFailover,
            Action::LoseRpc { .. } => ActionClass::LoseRpc,
            Action::DeclineSnapshot { .. } => ActionClass::DeclineSnapshot,
            Action::FailStorageWrite => ActionClass::StorageFailure,
            // A failed commit fails its task once out of retries: weighed as a crash (as a fatal
            // send failure is), so that no new class shifts every model's swarm draws.
            Action::FailCommit => ActionClass::Crash,
        }
    }

    fn index(self) -> usize {
        ActionClass::ALL
            .iter()
            .position(|c| *c == self)
            .expect("listed")
    }

    pub fn is_fault(self) -> bool {
        matches!(
            self,
            ActionClass::Crash
                | ActionClass::CoordinatorFailover
                | ActionClass::LoseRpc
                | ActionClass::DeclineSnapshot
                | ActionClass::StorageFailure
        )
    }
}

/// A fault kind switched on for a run: how many times it may strike and how heavily it is
/// weighted against other actions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultSetting {
    pub class: ActionClass,
    pub limit: u8,
    pub weight: u32,
}

/// Everything a seed decides about a run before its first step (swarm testing).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SwarmConfig {
    pub seed: u64,
    pub scheduler: SchedulerKind,
    /// Weight of each non-fault action class.
    pub weights: Vec<(ActionClass, u32)>,
    /// Fault kinds switched on (others are off for this run).
    pub faults: Vec<FaultSetting>,
    /// Faults may strike only from this step on.
    pub faults_from_step: u32,
    /// PCT's run length and change points (PCT runs only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pct: Option<PctPlan>,
}

impl SwarmConfig {
    /// Derives the configuration of a run from its seed, within the model's fault budget.
    pub fn derive(
        spec: &Spec,
        seed: u64,
        scheduler: SchedulerKind,
        rng: &mut ChaCha8Rng,
    ) -> SwarmConfig {
        let mut weights = Vec::new();
        for (class, low, high) in [
            (ActionClass::Deliver, 4, 20),
            (ActionClass::Priority, 1, 12),
            (ActionClass::Emit, 2, 12),
            (ActionClass::Rpc, 4, 20),
            (ActionClass::Trigger, 2, 12),
            (ActionClass::Timer, 1, 8),
            (ActionClass::User, 1, 4),
        ] {
            weights.push((class, rng.gen_range(low..=high)));
        }
        let budget = spec.faults;
        let mut faults = Vec::new();
        for (class, available) in [
            (ActionClass::Crash, budget.task_crashes),
            (
                ActionClass::CoordinatorFailover,
                budget.coordinator_failovers,
            ),
            (ActionClass::LoseRpc, budget.lost_rpcs),
            (ActionClass::DeclineSnapshot, budget.declined_snapshots),
            (ActionClass::StorageFailure, budget.storage_failures),
        ] {
            // Draw for every kind, in a fixed order, so that one kind's budget does not shift the
            // draws of the next.
            let on = rng.gen_bool(0.6);
            let limit = rng.gen_range(1..=available.max(1));
            let weight = rng.gen_range(1..=6);
            if on && available > 0 {
                faults.push(FaultSetting {
                    class,
                    limit,
                    weight,
                });
            }
        }
        let faults_from_step = rng.gen_range(0..=spec.bounds.faulty_steps / 2);
        SwarmConfig {
            seed,
            scheduler,
            weights,
            faults,
            faults_from_step,
            pct: None,
        }
    }

    fn weight(&self, class: ActionClass) -> u32 {
        if class.is_fault() {
            return self
                .faults
                .iter()
                .find(|f| f.class == class)
                .map_or(0, |f| f.weight);
        }
        self.weights
            .iter()
            .find(|(c, _)| *c == class)
            .map_or(1, |(_, w)| *w)
    }

    /// Whether a fault of this class may strike now, given how many struck so far.
    pub fn fault_allowed(&self, class: ActionClass, step: u32, used: u8) -> bool {
        step >= self.faults_from_step
            && self
                .faults
                .iter()
                .any(|f| f.class == class && used < f.limit)
    }

    /// One line describing the configuration (printed with every failure).
    pub fn describe(&self) -> String {
        let weights: Vec<String> = self
            .weights
            .iter()
            .map(|(c, w)| format!("{}={w}", class_name(*c)))
            .collect();
        let faults: Vec<String> = self
            .faults
            .iter()
            .map(|f| format!("{} x{} (weight {})", class_name(f.class), f.limit, f.weight))
            .collect();
        let pct = match &self.pct {
            None => String::new(),
            Some(plan) => {
                let points: Vec<String> = plan
                    .change_points
                    .iter()
                    .map(|(k, i)| format!("step {k} -> priority {i}"))
                    .collect();
                format!(
                    "; pct over k={} steps, change points {}",
                    plan.run_length,
                    if points.is_empty() {
                        "none".to_string()
                    } else {
                        points.join(", ")
                    }
                )
            }
        };
        format!(
            "seed {} scheduler {}{pct}; weights {}; faults {} from step {}",
            self.seed,
            self.scheduler,
            weights.join(" "),
            if faults.is_empty() {
                "none".to_string()
            } else {
                faults.join(", ")
            },
            self.faults_from_step
        )
    }
}

pub fn class_name(class: ActionClass) -> &'static str {
    match class {
        ActionClass::Deliver => "deliver",
        ActionClass::Priority => "priority",
        ActionClass::Emit => "emit",
        ActionClass::Rpc => "rpc",
        ActionClass::Trigger => "trigger",
        ActionClass::Timer => "timer",
        ActionClass::User => "user",
        ActionClass::Crash => "crash",
        ActionClass::CoordinatorFailover => "coordinator-failover",
        ActionClass::LoseRpc => "lose-rpc",
        ActionClass::DeclineSnapshot => "decline-snapshot",
        ActionClass::StorageFailure => "storage-failure",
    }
}

/// PCT's notion of a thread (Burckhardt et al. schedule *threads*; this world has no threads, so
/// each independent actor whose next step the scheduler chooses is one):
///
/// - `Task(t)`: subtask `t`'s mailbox thread — a source emitting, and the task handling an RPC
///   addressed to it (trigger, notify-complete, notify-aborted);
/// - `Channel(c)`: the network connection of data channel `c` — delivering its head, in order or
///   as an overtaking (unaligned) barrier, so that PCT can starve one input against another;
/// - `Outbound(t, lane)`: task `t`'s RPC connection to the coordinator — lane 0 carries the
///   lifecycle reports (end of data, finished, failed), lane `id` carries the acknowledgement or
///   decline of checkpoint `id`, which Flink sends from that checkpoint's own asynchronous
///   snapshot thread (`AsyncCheckpointRunnable`), exactly the lanes of `Rpc::connection`;
/// - `Coordinator`: the coordinator finishing an asynchronous trigger phase;
/// - `Clock`: time advancing to the earliest due timer.
///
/// Faults and user requests are not threads of the system under test but the test's inputs: PCT
/// does not prioritise them. They are injected at the rates the seed's swarm configuration gives
/// them, exactly as the random scheduler does, and PCT schedules every other step.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Lane {
    Task(u8),
    Channel(u8),
    Outbound(u8, u32),
    Coordinator,
    Clock,
}

/// The PCT thread of a system action; `None` for the environment's inputs (faults, the user).
fn lane(action: &Action) -> Option<Lane> {
    match action {
        Action::Deliver { channel } | Action::DeliverPriority { channel } => {
            Some(Lane::Channel(channel.0))
        }
        Action::Emit { task } => Some(Lane::Task(task.0)),
        Action::DeliverRpc { rpc } => Some(match rpc.kind {
            RpcKind::Trigger
            | RpcKind::NotifyComplete
            | RpcKind::NotifyAborted
            | RpcKind::SourceEvent => Lane::Task(rpc.task.0),
            RpcKind::Ack | RpcKind::Decline => Lane::Outbound(rpc.task.0, rpc.checkpoint.0),
            RpcKind::EndOfData
            | RpcKind::TaskFinished
            | RpcKind::TaskFailed
            | RpcKind::SplitRequest
            | RpcKind::TaskRunning => Lane::Outbound(rpc.task.0, 0),
        }),
        Action::FinishTriggering => Some(Lane::Coordinator),
        Action::Fire { .. } => Some(Lane::Clock),
        Action::User { .. } | Action::ResumeFromSavepoint | Action::ResumeFromOlder { .. } => None,
        Action::Crash { .. }
        | Action::FailoverCoordinator
        | Action::LoseRpc { .. }
        | Action::DeclineSnapshot { .. }
        | Action::FailStorageWrite
        | Action::FailCommit => None,
    }
}

/// A PCT run's plan, fixed by the seed before the first step: the expected run length `k` and
/// the `d - 1` priority change points drawn over it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PctPlan {
    /// `k`: the expected number of PCT-scheduled steps in a faulty phase.
    pub run_length: u32,
    /// `(k_i, i)`: at its `k_i`-th scheduled step (1-based) the running thread's priority drops
    /// to `i`, for `i` in `1..d`. In draw order, not sorted: which change point gets which low
    /// priority is part of the random choice.
    pub change_points: Vec<(u32, u32)>,
}

impl PctPlan {
    /// Burckhardt et al., "A Randomized Scheduler with Probabilistic Guarantees of Finding Bugs"
    /// (ASPLOS 2010), §3, step 2: "pick `d - 1` random priority change points `k_1, …, k_{d-1}`
    /// in the range `[1, k]`" — uniformly, distinct; change point `k_i` carries priority `i`.
    fn draw(depth: u32, run_length: u32, rng: &mut ChaCha8Rng) -> PctPlan {
        let run_length = run_length.max(1);
        // More change points than steps cannot change anything: never draw them.
        let points = depth.saturating_sub(1).min(run_length) as usize;
        let change_points = rand::seq::index::sample(rng, run_length as usize, points)
            .into_iter()
            .zip(1u32..)
            .map(|(step, priority)| (step as u32 + 1, priority))
            .collect();
        PctPlan {
            run_length,
            change_points,
        }
    }
}

/// PCT state: the plan, thread priorities (assigned at first sight) and the steps scheduled.
struct Pct {
    depth: u32,
    plan: PctPlan,
    priorities: Vec<(Lane, u64)>,
    scheduled: u32,
}

/// Picks one action per step.
pub struct Scheduler {
    rng: ChaCha8Rng,
    pub config: SwarmConfig,
    pct: Option<Pct>,
}

impl Scheduler {
    /// A scheduler for one run, PCT's run length estimated from the model's bounds alone (its
    /// faulty-phase bound). The simulator itself uses [`Scheduler::with_run_length`] with a
    /// calibrated estimate (`sim::pct_run_length`); the swarm configuration is the same either
    /// way.
    pub fn new(spec: &Spec, seed: u64, kind: SchedulerKind) -> Scheduler {
        Scheduler::with_run_length(spec, seed, kind, spec.bounds.faulty_steps)
    }

    /// A scheduler for one run: derives the swarm configuration first, then (PCT) the change
    /// points over `run_length` expected steps, all from the seed.
    pub fn with_run_length(
        spec: &Spec,
        seed: u64,
        kind: SchedulerKind,
        run_length: u32,
    ) -> Scheduler {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut config = SwarmConfig::derive(spec, seed, kind, &mut rng);
        let pct = match kind {
            SchedulerKind::Random => None,
            SchedulerKind::Pct { depth } => {
                let plan = PctPlan::draw(depth, run_length, &mut rng);
                config.pct = Some(plan.clone());
                Some(Pct {
                    depth,
                    plan,
                    priorities: Vec::new(),
                    scheduled: 0,
                })
            }
        };
        Scheduler { rng, config, pct }
    }

    /// PCT's plan for this run (`None` for the random scheduler).
    pub fn pct_plan(&self) -> Option<&PctPlan> {
        self.pct.as_ref().map(|p| &p.plan)
    }

    /// Chooses the next action fairly (weighted random) whatever the scheduler: the healed phase
    /// judges liveness, which only means something under a fair scheduler (PCT starves lanes
    /// by design).
    pub fn pick_fair(&mut self, actions: &[Action]) -> usize {
        self.pick_weighted(actions)
    }

    /// Chooses the index of the next action among `actions` (non-empty) at step `_step` of the
    /// run. PCT counts its own scheduled steps: the environment's inputs are not its steps.
    pub fn pick(&mut self, _step: u32, actions: &[Action]) -> usize {
        debug_assert!(!actions.is_empty());
        if self.pct.is_none() {
            return self.pick_weighted(actions);
        }
        // The environment's inputs (faults, user requests) strike at their swarm weights, as
        // under the random scheduler; PCT schedules the system's threads.
        let environment: Vec<usize> = (0..actions.len())
            .filter(|&i| lane(&actions[i]).is_none())
            .collect();
        if !environment.is_empty() {
            let weight = |i: usize| self.config.weight(ActionClass::of(&actions[i])).max(1);
            let mut env_classes = [0u32; 12];
            let mut sys_classes = [0u32; 12];
            for (i, action) in actions.iter().enumerate() {
                let class = ActionClass::of(action).index();
                if environment.contains(&i) {
                    env_classes[class] = weight(i);
                } else {
                    sys_classes[class] = weight(i);
                }
            }
            let env: u32 = env_classes.iter().sum();
            let sys: u32 = sys_classes.iter().sum();
            if sys == 0 || self.rng.gen_range(0..env + sys) < env {
                let subset: Vec<Action> = environment.iter().map(|&i| actions[i]).collect();
                return environment[self.pick_weighted(&subset)];
            }
        }
        let pct = self.pct.as_mut().expect("checked");
        // PCT §3, step 1: every thread gets a random initial priority, all of them above the
        // change points' priorities `1..d` (threads that appear later are inserted at a random
        // rank, the paper's treatment of thread creation).
        for action in actions {
            if let Some(lane) = lane(action) {
                if !pct.priorities.iter().any(|(l, _)| *l == lane) {
                    let priority = self.rng.gen_range(u64::from(pct.depth)..u64::MAX / 2);
                    pct.priorities.push((lane, priority));
                }
            }
        }
        let priority_of = |lane: Lane| {
            pct.priorities
                .iter()
                .find(|(l, _)| *l == lane)
                .map_or(0, |(_, p)| *p)
        };
        // Step 3: run the enabled thread of highest priority (ties, within one thread, in the
        // world's deterministic action order).
        let best = (0..actions.len())
            .filter_map(|i| lane(&actions[i]).map(|l| (priority_of(l), usize::MAX - i, i)))
            .max()
            .map(|(_, _, i)| i)
            .expect("a system action is enabled");
        // ...and when it executes the k_i-th step, its priority drops to i.
        pct.scheduled += 1;
        let now = pct.scheduled;
        if let Some(&(_, low)) = pct.plan.change_points.iter().find(|(k, _)| *k == now) {
            let running = lane(&actions[best]).expect("a system action");
            if let Some(entry) = pct.priorities.iter_mut().find(|(l, _)| *l == running) {
                entry.1 = u64::from(low);
            }
        }
        best
    }

    /// Weighted by class, then uniform within the class.
    fn pick_weighted(&mut self, actions: &[Action]) -> usize {
        let mut class_weights = [0u32; 12];
        for action in actions {
            let class = ActionClass::of(action);
            class_weights[class.index()] = self.config.weight(class).max(1);
        }
        let total: u32 = class_weights.iter().sum();
        let mut draw = self.rng.gen_range(0..total);
        let mut chosen = ActionClass::ALL[0];
        for (index, weight) in class_weights.iter().enumerate() {
            if draw < *weight {
                chosen = ActionClass::ALL[index];
                break;
            }
            draw -= weight;
        }
        let members: Vec<usize> = (0..actions.len())
            .filter(|&i| ActionClass::of(&actions[i]) == chosen)
            .collect();
        members[self.rng.gen_range(0..members.len())]
    }
}
