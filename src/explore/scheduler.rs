//! The seeded scheduler: the only module that touches randomness.
//!
//! A seed (u64) fixes a ChaCha8 stream from which everything random in a run is drawn, in a fixed
//! order: the run's swarm configuration (which fault kinds are on, how many of each within the
//! model's budget, how long faults wait, how heavily each class of action is weighted) and then
//! one choice per step. Two schedulers pick actions: `random` (weighted by action class, then
//! uniform within the class) and `pct` (probabilistic concurrency testing: random lane
//! priorities with `depth - 1` priority change points). Same seed, same model, same version =
//! the same choices, on every machine and thread count.

use crate::system::spec::Spec;
use crate::system::world::{Action, RpcKind};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::fmt;

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
            Action::User { .. } | Action::ResumeFromSavepoint => ActionClass::User,
            Action::Crash { .. } => ActionClass::Crash,
            Action::FailoverCoordinator => ActionClass::CoordinatorFailover,
            Action::LoseRpc { .. } => ActionClass::LoseRpc,
            Action::DeclineSnapshot { .. } => ActionClass::DeclineSnapshot,
            Action::FailStorageWrite => ActionClass::StorageFailure,
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
        format!(
            "seed {} scheduler {}; weights {}; faults {} from step {}",
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

/// PCT's notion of a thread: who performs an action.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Lane {
    Channel(u8),
    Task(u8),
    Coordinator,
    Timers,
    User,
    Faults,
}

fn lane(action: &Action) -> Lane {
    match action {
        Action::Deliver { channel } | Action::DeliverPriority { channel } => {
            Lane::Channel(channel.0)
        }
        Action::Emit { task } => Lane::Task(task.0),
        Action::DeliverRpc { rpc } => match rpc.kind {
            RpcKind::Trigger | RpcKind::NotifyComplete | RpcKind::NotifyAborted => {
                Lane::Task(rpc.task.0)
            }
            _ => Lane::Coordinator,
        },
        Action::FinishTriggering => Lane::Coordinator,
        Action::Fire { .. } => Lane::Timers,
        Action::User { .. } | Action::ResumeFromSavepoint => Lane::User,
        _ => Lane::Faults,
    }
}

/// PCT state: lane priorities and the steps at which the running lane's priority drops.
struct Pct {
    priorities: Vec<(Lane, u64)>,
    change_points: Vec<u32>,
    next_low: u64,
}

/// Picks one action per step.
pub struct Scheduler {
    rng: ChaCha8Rng,
    pub config: SwarmConfig,
    pct: Option<Pct>,
}

impl Scheduler {
    /// A scheduler for one run: derives the swarm configuration first, then (PCT) the change
    /// points, all from the seed.
    pub fn new(spec: &Spec, seed: u64, kind: SchedulerKind) -> Scheduler {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let config = SwarmConfig::derive(spec, seed, kind, &mut rng);
        let pct = match kind {
            SchedulerKind::Random => None,
            SchedulerKind::Pct { depth } => {
                let horizon = spec.bounds.faulty_steps.max(1);
                // More change points than steps cannot change anything: never allocate them.
                let mut change_points: Vec<u32> = (1..depth.clamp(1, horizon.saturating_add(1)))
                    .map(|_| rng.gen_range(0..horizon))
                    .collect();
                change_points.sort();
                Some(Pct {
                    priorities: Vec::new(),
                    change_points,
                    next_low: depth as u64,
                })
            }
        };
        Scheduler { rng, config, pct }
    }

    /// Chooses the next action fairly (weighted random) whatever the scheduler: the healed phase
    /// judges liveness, which only means something under a fair scheduler (PCT starves lanes
    /// by design).
    pub fn pick_fair(&mut self, actions: &[Action]) -> usize {
        self.pick_weighted(actions)
    }

    /// Chooses the index of the next action among `actions` (non-empty).
    pub fn pick(&mut self, step: u32, actions: &[Action]) -> usize {
        debug_assert!(!actions.is_empty());
        if let Some(pct) = &mut self.pct {
            // Assign priorities to lanes on first sight, in the deterministic action order.
            for action in actions {
                let lane = lane(action);
                if !pct.priorities.iter().any(|(l, _)| *l == lane) {
                    let priority = self.rng.gen_range(1_000..u64::MAX / 2);
                    pct.priorities.push((lane, priority));
                }
            }
            let priority_of = |lane: Lane, pct: &Pct| {
                pct.priorities
                    .iter()
                    .find(|(l, _)| *l == lane)
                    .map_or(0, |(_, p)| *p)
            };
            let best = (0..actions.len())
                .max_by_key(|&i| (priority_of(lane(&actions[i]), pct), usize::MAX - i))
                .expect("non-empty");
            if pct.change_points.first() == Some(&step) {
                pct.change_points.remove(0);
                let chosen = lane(&actions[best]);
                pct.next_low = pct.next_low.saturating_sub(1);
                let low = pct.next_low;
                if let Some(entry) = pct.priorities.iter_mut().find(|(l, _)| *l == chosen) {
                    entry.1 = low;
                }
            }
            return best;
        }
        self.pick_weighted(actions)
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
