//! Exhaustive model checking with stateright: the only module that names it.
//!
//! The stateright model is the world itself: init = `World::initial`, actions = `world::enabled`,
//! next state = `world::apply`, properties = the invariants table (`always` for safety and the
//! quiescence liveness property, `sometimes` for every applicable non-vacuity property). There is
//! no second copy of the semantics.
//!
//! stateright is pinned to 0.30.2 (see ARCHITECTURE.md): 0.31.0's BFS overwrites discoveries, so
//! it no longer returns the shortest counterexample. The harness owns what stateright gets wrong
//! or leaves open: the time limit (a stop flag read by `within_boundary`, since stateright ignores
//! its timeout on one thread), the verdict (a run cut short by a bound is partial, never a pass),
//! a shortest counterexample (a single-threaded breadth-first search for the violated property,
//! bounded by the depth-first counterexample's length), a canonical symmetry representative, and
//! partial-order reduction: `actions()` returns a persistent subset of the enabled actions
//! (`reduction`; on by default, [`REDUCTION_DEFAULT`], and off for the shortest-counterexample
//! search, which stays a breadth-first search of the whole graph).
//!
//! [`check_shard`] checks one shard of the state space (`check --shard K/N`, see `shard`): the
//! states above the split depth are enumerated with this model's own successor function and
//! checked by every shard, the frontier states that fall to the shard become stateright's initial
//! states, and a counterexample found below the frontier gets the prefix path to its frontier
//! state put in front, so that it replays from the initial state. Without a shard nothing changes.
//!
//! Besides the invariants table, the checker registers `healed-run-finishes` (`hang`; on by
//! default, [`HangOptions`]) in the last slot: hangs with timers still armed, which only the
//! simulator could judge before. Its counterexample is the path to the hanging state followed by
//! the healed continuation, with [`Counterexample::healed_at`] marking where the continuation
//! starts, so that `replay` (trace `healed_at`) judges it by the healed rules and reports the
//! same violation.

use crate::explore::hang::{self, HangOptions};
use crate::explore::reduction::Reduction;
use crate::explore::shard::{self, ShardSpec};
use crate::explore::symmetry;
use crate::oracle::invariants::{self, Kind, Oracle};
use crate::system::spec::Spec;
use crate::system::world::describe;
use crate::system::world::{self, Action, World};
use stateright::{Checker, HasDiscoveries, Model, Property};
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The stateright model over the world.
#[derive(Clone)]
pub struct CheckModel {
    spec: Arc<Spec>,
    oracle: Arc<Oracle>,
    /// The registered subset of the invariants table, by table index.
    registered: Vec<usize>,
    /// Set by the harness to end an exploration (time limit): every new state is out of bounds.
    stop: Arc<AtomicBool>,
    /// Set when a state was left out because it outgrew [`MAX_STATE_SIZE`].
    outgrown: Arc<AtomicBool>,
    /// Symmetry groups; states are replaced by their canonical representative (empty: off).
    groups: Arc<Vec<symmetry::Group>>,
    /// Partial-order reduction (`None`: every enabled action is explored).
    reduction: Option<Arc<Reduction>>,
    /// The initial states of a shard (`None`: the model's one initial state; see `shard`).
    init: Option<Arc<Vec<World>>>,
    /// `healed-run-finishes`, registered in the slot after `registered` (`None`: not checked).
    hangs: Option<HangOptions>,
}

impl CheckModel {
    /// A model without partial-order reduction (the Explorer and the shortest-counterexample
    /// search see the whole graph), with `healed-run-finishes` as `hangs` says.
    pub fn new(
        spec: Arc<Spec>,
        oracle: Arc<Oracle>,
        registered: Vec<usize>,
        symmetric: bool,
        hangs: HangOptions,
    ) -> CheckModel {
        CheckModel::with_reduction(spec, oracle, registered, symmetric, false, hangs)
    }

    /// [`CheckModel::new`], with partial-order reduction on or off (see `reduction`).
    pub fn with_reduction(
        spec: Arc<Spec>,
        oracle: Arc<Oracle>,
        registered: Vec<usize>,
        symmetric: bool,
        reduce: bool,
        hangs: HangOptions,
    ) -> CheckModel {
        let groups = if symmetric {
            symmetry::groups(&spec)
        } else {
            Vec::new()
        };
        let reduction = Reduction::new(&spec);
        let reduction = (reduce && reduction.applies()).then(|| Arc::new(reduction));
        CheckModel {
            spec,
            oracle,
            registered,
            stop: Arc::new(AtomicBool::new(false)),
            outgrown: Arc::new(AtomicBool::new(false)),
            groups: Arc::new(groups),
            reduction,
            init: None,
            hangs: hangs.enabled.then_some(hangs),
        }
    }

    fn canonical(&self, world: World) -> World {
        if self.groups.is_empty() {
            world
        } else {
            symmetry::canonicalize(&self.spec, &self.groups, &world).0
        }
    }

    /// Real actions for a path found among canonical representatives.
    fn real_actions(&self, actions: &[Action]) -> Vec<Action> {
        if self.groups.is_empty() {
            actions.to_vec()
        } else {
            symmetry::decanonicalize(&self.spec, &self.groups, actions)
        }
    }

    /// Every safety and liveness property plus the sometimes properties that apply to the model,
    /// as indices into `oracle.properties()`.
    pub fn all_properties(spec: &Spec, oracle: &Oracle) -> Vec<usize> {
        oracle
            .properties()
            .enumerate()
            .filter(|(_, p)| p.kind != Kind::Sometimes || p.applies(spec))
            .map(|(i, _)| i)
            .collect()
    }

    /// Each registration slot's name and kind: the registered table entries, then
    /// `healed-run-finishes` if it is checked.
    fn slots(&self) -> Vec<(&'static str, Kind)> {
        let mut slots: Vec<(&'static str, Kind)> = self
            .registered
            .iter()
            .map(|&index| {
                let property = self.oracle.nth(index);
                (property.name, property.kind)
            })
            .collect();
        if self.hangs.is_some() {
            slots.push((hang::NAME, Kind::Liveness));
        }
        slots
    }

    /// Whether the safety or liveness property named `name` is violated at `world`.
    fn violated(&self, name: &str, world: &World) -> bool {
        self.slots()
            .iter()
            .position(|(slot, _)| *slot == name)
            .is_some_and(|slot| !self.holds(slot, world))
    }

    fn holds(&self, slot: usize, world: &World) -> bool {
        let Some(&index) = self.registered.get(slot) else {
            // The slot after the table's: `healed-run-finishes`.
            let options = self
                .hangs
                .expect("a slot past the table is the hang property");
            return hang::holds(&self.spec, world, options);
        };
        let property = self.oracle.nth(index);
        match property.kind {
            Kind::Sometimes => property.reached(&self.spec, world),
            Kind::Safety | Kind::Liveness => {
                property.check(&self.spec, &self.oracle, world).is_ok()
            }
        }
    }
}

/// stateright properties are plain function pointers: one per registration slot, for the
/// checker and for the Explorer (whose states wrap worlds).
fn check_slot<const SLOT: usize>(model: &CheckModel, world: &World) -> bool {
    model.holds(SLOT, world)
}

fn explore_slot<const SLOT: usize>(model: &ExploreModel, state: &Explored) -> bool {
    model.0.holds(SLOT, &state.0)
}

macro_rules! slot_table {
    ($slot:ident, $model:ty, $state:ty; $($index:literal),* $(,)?) => {
        &[$($slot::<$index>),*] as &[fn(&$model, &$state) -> bool]
    };
}

const SLOTS: &[fn(&CheckModel, &World) -> bool] = slot_table!(check_slot, CheckModel, World;
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
    16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31,
    32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47,
    48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62);

const EXPLORE_SLOTS: &[fn(&ExploreModel, &Explored) -> bool] = slot_table!(explore_slot, ExploreModel, Explored;
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
    16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31,
    32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47,
    48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62);

// Every property the oracle can hold, plus `healed-run-finishes`, has a slot.
const _: () = assert!(SLOTS.len() > invariants::MAX_PROPERTIES);
const _: () = assert!(EXPLORE_SLOTS.len() == SLOTS.len());

impl CheckModel {
    /// The registered properties as stateright properties, by name, through `slots`.
    fn properties_with<M>(&self, slots: &[fn(&M, &M::State) -> bool]) -> Vec<Property<M>>
    where
        M: Model,
    {
        let names = self.slots();
        assert!(names.len() <= slots.len(), "more properties than slots");
        names
            .into_iter()
            .enumerate()
            .map(|(slot, (name, kind))| match kind {
                Kind::Sometimes => Property::sometimes(name, slots[slot]),
                Kind::Safety | Kind::Liveness => Property::always(name, slots[slot]),
            })
            .collect()
    }
}

impl Model for CheckModel {
    type State = World;
    type Action = Action;

    fn init_states(&self) -> Vec<World> {
        match &self.init {
            Some(init) => init.to_vec(),
            None => vec![self.canonical(World::initial(&self.spec))],
        }
    }

    fn actions(&self, state: &World, actions: &mut Vec<Action>) {
        let enabled = world::enabled(&self.spec, state);
        match &self.reduction {
            Some(reduction) => actions.extend(reduction.ample(&self.spec, state, enabled)),
            None => actions.extend(enabled),
        }
    }

    fn next_state(&self, state: &World, action: Action) -> Option<World> {
        world::apply(&self.spec, state, action)
            .ok()
            .map(|next| self.canonical(next))
    }

    fn properties(&self) -> Vec<Property<Self>> {
        self.properties_with(SLOTS)
    }

    fn within_boundary(&self, state: &World) -> bool {
        if self.stop.load(Ordering::Relaxed) {
            return false;
        }
        if state_size(state) > MAX_STATE_SIZE {
            self.outgrown.store(true, Ordering::Relaxed);
            return false;
        }
        true
    }

    fn format_action(&self, action: &Action) -> String {
        describe::describe_action_alone(&self.spec, action)
    }
}

/// The most channel events, RPCs in flight and pending checkpoints one explored state may hold
/// (together): a state past it is left out and the check is partial ([`Bound::StateSize`]).
pub const MAX_STATE_SIZE: usize = 20_000;

/// What one state holds that can grow without bound in a hostile model: queued channel events,
/// RPCs in flight, pending checkpoints and queued requests.
pub fn state_size(world: &World) -> usize {
    world.channels.iter().map(|c| c.len()).sum::<usize>()
        + world.rpcs.len()
        + world.coordinator.pending.len()
}

/// Resource limits of a check, beyond [`CheckOptions`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Stop (partial) when the process's resident memory exceeds this many bytes.
    pub max_memory: Option<u64>,
}

impl Default for Limits {
    /// The memory bound defaults to [`default_max_memory`].
    fn default() -> Self {
        Limits {
            max_memory: default_max_memory(),
        }
    }
}

/// Half of the machine's physical memory, where the system says (`/proc/meminfo`); `None`
/// elsewhere (then only the other bounds apply).
pub fn default_max_memory() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    meminfo_kib(&text, "MemTotal:").map(|kib| kib * 1024 / 2)
}

/// The process's resident memory in bytes (`/proc/self/status`), where the system says.
pub fn resident_memory() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/status").ok()?;
    meminfo_kib(&text, "VmRSS:").map(|kib| kib * 1024)
}

fn meminfo_kib(text: &str, field: &str) -> Option<u64> {
    text.lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|number| number.parse().ok())
}

/// Watches the time limit and the memory bound of one exploration and raises its stop flag.
struct Watch {
    started: Instant,
    time_limit: Option<Duration>,
    max_memory: Option<u64>,
    stopped_by: Option<Bound>,
    peak_memory: u64,
}

impl Watch {
    fn new(time_limit: Option<Duration>, max_memory: Option<u64>) -> Watch {
        Watch {
            started: Instant::now(),
            time_limit,
            max_memory,
            stopped_by: None,
            peak_memory: 0,
        }
    }

    /// Checks the bounds; raises `stop` (once) when one is passed.
    fn poll(&mut self, stop: &AtomicBool) {
        if self.stopped_by.is_some() {
            return;
        }
        if let Some(resident) = resident_memory() {
            self.peak_memory = self.peak_memory.max(resident);
            if self.max_memory.is_some_and(|max| resident >= max) {
                self.stopped_by = Some(Bound::MaxMemory);
            }
        }
        if self
            .time_limit
            .is_some_and(|limit| self.started.elapsed() >= limit)
        {
            self.stopped_by = Some(Bound::TimeLimit);
        }
        if self.stopped_by.is_some() {
            stop.store(true, Ordering::Relaxed);
        }
    }
}

/// Search strategy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Strategy {
    /// A bounded breadth-first search, then (unless it decided) a depth-first one, each on every
    /// thread (the default; see [`race`] and [`RACE_BFS_MAX_STATES`]). The summary names the
    /// strategy that decided.
    Race,
    /// Depth-first: fastest and leanest.
    Dfs,
    /// Breadth-first: shortest counterexamples, much more memory; no symmetry reduction.
    Bfs,
}

/// Options of one check.
#[derive(Clone, Copy, Debug)]
pub struct CheckOptions {
    pub strategy: Strategy,
    pub threads: usize,
    pub max_states: Option<usize>,
    pub max_depth: Option<usize>,
    pub time_limit: Option<Duration>,
    pub symmetry: bool,
    /// After a violation, search breadth-first for the shortest counterexample.
    pub shortest: bool,
    /// Partial-order reduction (`check --no-reduction` turns it off; see `reduction`).
    pub reduction: bool,
}

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions {
            strategy: Strategy::Race,
            threads: 2,
            max_states: None,
            max_depth: None,
            time_limit: None,
            // Off by default: measured on broadcast, the one embedded model with
            // interchangeable subtasks, canonicalising costs more per state than the halved
            // state space saves (40 s: 3.36 M unique states with it, 7.46 M without, i.e. 84 k
            // against 186 k unique states/s for half as many distinct states each). `--symmetry`
            // turns it on.
            symmetry: false,
            shortest: true,
            reduction: REDUCTION_DEFAULT,
        }
    }
}

/// Progress of a running exploration.
#[derive(Clone, Copy, Debug)]
pub struct Progress {
    pub total: usize,
    pub unique: usize,
    pub depth: usize,
    pub elapsed: Duration,
}

/// How a property fared.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Status {
    Held,
    Violated,
    Reached,
    NotReached,
    /// The exploration was cut short before it could tell.
    Unknown,
}

/// A property's line in the summary.
#[derive(Clone, Debug)]
pub struct PropertyResult {
    pub name: &'static str,
    pub kind: Kind,
    pub status: Status,
}

/// Why an exploration stopped before it was exhaustive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bound {
    MaxStates,
    MaxDepth,
    TimeLimit,
    /// The process's memory reached [`Limits::max_memory`].
    MaxMemory,
    /// A state outgrew [`MAX_STATE_SIZE`] and was left out.
    StateSize,
}

/// How the search for a shorter counterexample went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShortestSearch {
    /// Not asked for (`shortest: false`).
    Off,
    /// Breadth-first search finished: the counterexample is a shortest one.
    Done,
    /// The search hit a bound before it found one: the counterexample may not be the shortest.
    Capped(Bound),
}

/// The overall verdict.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Exhaustive, every property held, every applicable sometimes property reached.
    Pass,
    /// A safety or liveness property failed.
    Violated { invariant: &'static str },
    /// Exhaustive, no violation, but a sometimes property was never reached: a vacuous pass.
    Vacuous { unreached: Vec<&'static str> },
    /// Cut short by a bound: no verdict.
    Partial { bound: Bound },
}

/// A counterexample.
#[derive(Clone, Debug)]
pub struct Counterexample {
    pub invariant: &'static str,
    pub detail: String,
    pub actions: Vec<Action>,
    /// Where the healed continuation of a `healed-run-finishes` counterexample starts (the
    /// trace's `healed_at`: replay holds the actions from there on to the healed rules).
    pub healed_at: Option<usize>,
    /// Whether a breadth-first search made it the shortest.
    pub shortest: bool,
    /// Length of the depth-first counterexample before the breadth-first search.
    pub first_found_length: usize,
    /// Whether the breadth-first search finished or hit a bound.
    pub shortest_search: ShortestSearch,
}

/// The result of a check.
#[derive(Clone, Debug)]
pub struct Summary {
    pub unique_states: usize,
    pub total_states: usize,
    pub max_depth: usize,
    pub elapsed: Duration,
    pub verdict: Verdict,
    pub properties: Vec<PropertyResult>,
    pub counterexample: Option<Counterexample>,
    /// The strategy that decided (a race reports its winner, or depth-first).
    pub strategy: Strategy,
    /// Whether depth-first and breadth-first search raced ([`Strategy::Race`]).
    pub race: bool,
    pub threads: usize,
    pub symmetry: bool,
    /// Whether partial-order reduction was in force (asked for, and applicable to the model).
    pub reduction: bool,
    /// The largest resident memory seen (bytes), where the system says.
    pub peak_memory: Option<u64>,
    /// The memory bound in force.
    pub max_memory: Option<u64>,
    /// The part of a sharded check this summary covers (`None`: the whole state space).
    pub shard: Option<ShardReport>,
}

/// What one shard of a sharded check explored (see `shard`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShardReport {
    pub spec: ShardSpec,
    /// Distinct states below the split depth (every shard enumerates and checks them all).
    pub prefix_states: usize,
    /// Distinct states at the split depth, over all shards.
    pub frontier_states: usize,
    /// The frontier states that fell to this shard (its initial states).
    pub assigned_states: usize,
    /// [`shard::Prefix::fingerprint`]: equal in every shard of one check.
    pub fingerprint: u64,
}

impl Summary {
    pub fn states_per_second(&self) -> f64 {
        self.total_states as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// Explores the model under the default [`Limits`]. `progress` is called about ten times a
/// second.
pub fn check(
    spec: Arc<Spec>,
    options: CheckOptions,
    progress: &mut dyn FnMut(Progress),
) -> Summary {
    check_limited(spec, options, Limits::default(), progress)
}

/// Explores the model within `limits`, with partial-order reduction as [`REDUCTION_DEFAULT`].
pub fn check_limited(
    spec: Arc<Spec>,
    options: CheckOptions,
    limits: Limits,
    progress: &mut dyn FnMut(Progress),
) -> Summary {
    let oracle = Oracle::new(&spec);
    check_with(spec, oracle, options, limits, progress)
}

/// Whether `check` reduces by default (`check --no-reduction` turns it off). On: the default
/// model (two records per source) completes with 1,184,075 unique states in about 13 s, where
/// the unreduced search has 4.5 million after 60 s and is still going; with one record per
/// source, 545,927 instead of 5,784,958 at the same verdict and property statuses;
/// `benches/reduction.rs` reports every model.
pub const REDUCTION_DEFAULT: bool = true;

/// Explores the model within `limits`, checking `oracle`'s properties (the built-in table plus
/// any added with [`Oracle::with_property`]), with partial-order reduction as
/// `options.reduction` says (it is off anyway on models where it never applies, see
/// `reduction`).
pub fn check_with(
    spec: Arc<Spec>,
    oracle: Oracle,
    options: CheckOptions,
    limits: Limits,
    progress: &mut dyn FnMut(Progress),
) -> Summary {
    check_with_hangs(
        spec,
        oracle,
        options,
        limits,
        HangOptions::default(),
        None,
        progress,
    )
}

/// [`check_with`] for one shard of the state space (`check --shard K/N`, see `shard`): every
/// property is checked on every state below `shard.split_depth`, and the subtrees of the states
/// at that depth that fall to shard `shard.index` are explored completely. Counterexamples are
/// full paths from the initial state. The verdict covers this shard's part only: a `sometimes`
/// property another shard reaches is `NotReached` here (`merge` combines the shards).
pub fn check_shard(
    spec: Arc<Spec>,
    oracle: Oracle,
    options: CheckOptions,
    limits: Limits,
    shard: ShardSpec,
    progress: &mut dyn FnMut(Progress),
) -> Summary {
    check_with_hangs(
        spec,
        oracle,
        options,
        limits,
        HangOptions::default(),
        Some(shard),
        progress,
    )
}

/// The prefix of a sharded check: its discoveries (full canonical paths) and what it counted.
struct SplitOutcome {
    discoveries: Vec<(&'static str, Vec<Action>)>,
    /// The prefix path to each assigned frontier state.
    paths: Vec<(World, Vec<Action>)>,
    report: ShardReport,
    depth: usize,
}

/// Enumerates the prefix with the model's own successor function (reduction and symmetry as in
/// the search), checks every registered property on its states, and sets the model's initial
/// states to the frontier states that fall to `spec`'s shard.
fn split_for_shard(model: &mut CheckModel, spec: ShardSpec) -> SplitOutcome {
    let prefix = {
        let model = &*model;
        shard::split(model.init_states(), spec.split_depth, |state| {
            let mut actions = Vec::new();
            model.actions(state, &mut actions);
            actions
                .into_iter()
                .filter_map(|action| {
                    let next = model.next_state(state, action)?;
                    model.within_boundary(&next).then_some((action, next))
                })
                .collect()
        })
    };
    let mut discoveries: Vec<(&'static str, Vec<Action>)> = Vec::new();
    for (state, path) in &prefix.inner {
        for (slot, (name, kind)) in model.slots().into_iter().enumerate() {
            if discoveries.iter().any(|(known, _)| *known == name) {
                continue;
            }
            let holds = model.holds(slot, state);
            let found = match kind {
                Kind::Sometimes => holds,
                Kind::Safety | Kind::Liveness => !holds,
            };
            if found {
                discoveries.push((name, path.clone()));
            }
        }
    }
    let paths: Vec<(World, Vec<Action>)> = prefix
        .assigned(&spec)
        .map(|(state, path, _)| (state.clone(), path.clone()))
        .collect();
    let depth = prefix
        .frontier
        .first()
        .map(|(_, path, _)| path.len())
        .or_else(|| prefix.inner.last().map(|(_, path)| path.len()))
        .unwrap_or(0);
    let report = ShardReport {
        spec,
        prefix_states: prefix.inner.len(),
        frontier_states: prefix.frontier.len(),
        assigned_states: paths.len(),
        fingerprint: prefix.fingerprint(),
    };
    model.init = Some(Arc::new(paths.iter().map(|(s, _)| s.clone()).collect()));
    SplitOutcome {
        discoveries,
        paths,
        report,
        depth,
    }
}

/// [`check_with`] (or, with `shard`, [`check_shard`]) with `healed-run-finishes` as `hangs`
/// says (`check --no-hangs`, `--hang-sample K`; see `hang`).
pub fn check_with_hangs(
    spec: Arc<Spec>,
    oracle: Oracle,
    options: CheckOptions,
    limits: Limits,
    hangs: HangOptions,
    shard: Option<ShardSpec>,
    progress: &mut dyn FnMut(Progress),
) -> Summary {
    let started = Instant::now();
    let oracle = Arc::new(oracle);
    let registered = CheckModel::all_properties(&spec, &oracle);
    let symmetry = options.symmetry && symmetry::applies(&spec);
    let mut model = CheckModel::with_reduction(
        spec.clone(),
        oracle.clone(),
        registered,
        symmetry,
        options.reduction,
        hangs,
    );
    let split = shard.map(|shard| split_for_shard(&mut model, shard));
    let reduced = model.reduction.is_some();
    let translate = model.clone();
    let stop = model.stop.clone();
    let outgrown = model.outgrown.clone();
    let mut watch = Watch::new(options.time_limit, limits.max_memory);
    // A shard races nothing: it searches depth-first unless told otherwise.
    let mut decided = match options.strategy {
        Strategy::Race => Strategy::Dfs,
        strategy => strategy,
    };
    let (total, unique, depth, discoveries) = if let Some(split) = &split {
        // A violation in the prefix ends the shard (every shard finds it); so does a shard
        // without frontier states.
        let violated = split.discoveries.iter().any(|(name, _)| {
            oracle
                .find(name)
                .is_some_and(|property| property.kind != Kind::Sometimes)
        });
        let prefix_states = split.report.prefix_states;
        let (total, unique, depth, mut found) = if violated || split.paths.is_empty() {
            (0, 0, 0, Vec::new())
        } else {
            let offset = split.depth;
            let max_depth = options
                .max_depth
                .map(|depth| depth.saturating_sub(offset).max(1));
            run_checker(
                model, options, max_depth, &mut watch, &stop, started, progress,
            )
        };
        // A shard's paths start at its frontier state: put the prefix path in front.
        for (_, path) in &mut found {
            if let Some((_, prefix)) = split
                .paths
                .iter()
                .find(|(state, _)| path.first().is_some_and(|(first, _)| first == state))
            {
                let mut full: Vec<(World, Option<Action>)> = Vec::new();
                full.extend(prefix.iter().map(|a| (World::initial(&spec), Some(*a))));
                full.append(path);
                *path = full;
            }
        }
        let mut discoveries: Vec<(&'static str, Vec<Action>)> = split
            .discoveries
            .iter()
            .map(|(name, path)| (*name, translate.real_actions(path)))
            .collect();
        for (name, path) in found {
            if !discoveries.iter().any(|(known, _)| *known == name) {
                let actions: Vec<Action> = path.into_iter().filter_map(|(_, a)| a).collect();
                discoveries.push((name, translate.real_actions(&actions)));
            }
        }
        discoveries.sort_by_key(|(name, _)| *name);
        let depth = if depth == 0 {
            split.depth
        } else {
            depth + split.depth
        };
        (
            total + prefix_states,
            unique + prefix_states,
            depth,
            discoveries,
        )
    } else {
        let (total, unique, depth, found) = if options.strategy == Strategy::Race {
            let (found, winner) = race(model, options, hangs, &mut watch, started, progress);
            decided = winner;
            found
        } else {
            run_checker(
                model,
                options,
                options.max_depth,
                &mut watch,
                &stop,
                started,
                progress,
            )
        };
        let discoveries = found
            .into_iter()
            .map(|(name, path)| {
                let actions: Vec<Action> = path.into_iter().filter_map(|(_, a)| a).collect();
                (name, translate.real_actions(&actions))
            })
            .collect();
        (total, unique, depth, discoveries)
    };
    let elapsed = started.elapsed();

    // A violation: the first violated property in slot order, the table's then
    // `healed-run-finishes` (properties are independent; the search stops at the first one it
    // meets).
    let slots = translate.slots();
    let violated = slots.iter().find(|(name, kind)| {
        *kind != Kind::Sometimes && discoveries.iter().any(|(found, _)| found == name)
    });
    let counterexample = violated.map(|&(name, _)| {
        let actions = discoveries
            .iter()
            .find(|(found, _)| *found == name)
            .map(|(_, a)| a.clone())
            .expect("discovered");
        let actions = truncate_at_violation(&translate, &actions, name);
        let first_found_length = actions.len();
        let (mut actions, shortest, shortest_search) = if options.shortest {
            // `--time-limit` bounds the whole check: the shortening gets what the search left.
            let rest = CheckOptions {
                time_limit: options
                    .time_limit
                    .map(|limit| limit.saturating_sub(started.elapsed())),
                ..options
            };
            let (found, search) = shortest_counterexample(
                &spec,
                &oracle,
                name,
                actions.len(),
                rest,
                limits,
                symmetry,
                hangs,
            );
            match found {
                Some(shorter) if shorter.len() <= actions.len() => (shorter, true, search),
                _ => (actions, false, search),
            }
        } else {
            (actions, false, ShortestSearch::Off)
        };
        // A hang's counterexample goes on with the healed continuation that does not finish,
        // replayed by the healed rules from `healed_at` on (as a simulator trace is).
        let healed_at = (name == hang::NAME).then(|| {
            let end = actions.iter().fold(World::initial(&spec), |world, action| {
                world::apply(&spec, &world, *action).expect("counterexample actions are enabled")
            });
            let at = actions.len();
            actions.extend(hang::continuation(&spec, &end).0);
            at
        });
        // Name the counterexample the way replay will: the first violated property in table
        // order at its final state (a state may violate several).
        let violation = replay_violation(&spec, &oracle, &actions, healed_at);
        Counterexample {
            invariant: violation.as_ref().map_or(name, |v| v.invariant),
            detail: violation.map(|v| v.detail).unwrap_or_default(),
            actions,
            healed_at,
            shortest,
            first_found_length,
            shortest_search,
        }
    });

    let bound = if let Some(bound) = watch.stopped_by {
        Some(bound)
    } else if outgrown.load(Ordering::Relaxed) {
        Some(Bound::StateSize)
    } else if options.max_states.is_some_and(|max| total >= max) {
        Some(Bound::MaxStates)
    } else if options.max_depth.is_some_and(|max| depth >= max) {
        Some(Bound::MaxDepth)
    } else {
        None
    };
    let complete = bound.is_none() && counterexample.is_none();
    let properties: Vec<PropertyResult> = slots
        .iter()
        .map(|&(name, kind)| {
            let found = discoveries.iter().any(|(found, _)| *found == name);
            let status = match (kind, found) {
                (Kind::Sometimes, true) => Status::Reached,
                (Kind::Sometimes, false) if complete => Status::NotReached,
                (Kind::Sometimes, false) => Status::Unknown,
                (_, true) => Status::Violated,
                (_, false) if complete => Status::Held,
                (_, false) => Status::Unknown,
            };
            PropertyResult { name, kind, status }
        })
        .collect();
    let verdict = if let Some(c) = &counterexample {
        Verdict::Violated {
            invariant: c.invariant,
        }
    } else if let Some(bound) = bound {
        Verdict::Partial { bound }
    } else {
        let unreached: Vec<&'static str> = properties
            .iter()
            .filter(|p| p.status == Status::NotReached)
            .map(|p| p.name)
            .collect();
        if unreached.is_empty() {
            Verdict::Pass
        } else {
            Verdict::Vacuous { unreached }
        }
    };
    Summary {
        unique_states: unique,
        total_states: total,
        max_depth: depth,
        elapsed,
        verdict,
        properties,
        counterexample,
        strategy: decided,
        race: options.strategy == Strategy::Race && split.is_none(),
        threads: options.threads,
        symmetry,
        reduction: reduced,
        peak_memory: (watch.peak_memory > 0).then_some(watch.peak_memory),
        max_memory: limits.max_memory,
        shard: split.map(|split| split.report),
    }
}

/// A path as stateright reports it: each state with the action taken from it.
type FoundPath = Vec<(World, Option<Action>)>;

/// The most states the breadth-first phase of [`Strategy::Race`] generates: enough for the
/// shallow violations depth-first search meets late or never (the hang of
/// `end-of-data-checkpoint-while-stopping` on savepoints-2pc, at depth 9 within 50,000 unique
/// states; `stop-with-savepoint-fails-over-to-checkpoint`, at depth 14 after 2.6 million
/// states, which depth-first search does not find in a minute), and enough for the default
/// model's whole space (2.5 million states: breadth-first decides it in 2.2 s, against 4.4 s
/// depth-first, in 84 MB). Measured peak memory at the bound: about 1 GB.
pub const RACE_BFS_MAX_STATES: usize = 3_000_000;

/// What one search returned: state counts, depth, discoveries.
type Found = (usize, usize, usize, Vec<(&'static str, FoundPath)>);

/// [`Strategy::Race`]: a breadth-first search bounded by [`RACE_BFS_MAX_STATES`] first, then,
/// unless it found a violation or explored the whole space within its bound, a depth-first
/// search from scratch, each on every thread. A model that fits the bound is decided by the
/// breadth-first search alone (no slower than depth-first on it); a larger one pays the bound
/// once (a second or two) for the shallow violations, including hangs, that depth-first search
/// meets late or never. Both are sound searches of the same graph; which one decided is in the
/// summary.
fn race(
    model: CheckModel,
    options: CheckOptions,
    hangs: HangOptions,
    watch: &mut Watch,
    started: Instant,
    progress: &mut dyn FnMut(Progress),
) -> (Found, Strategy) {
    let breadth = CheckModel::with_reduction(
        model.spec.clone(),
        model.oracle.clone(),
        model.registered.clone(),
        !model.groups.is_empty(),
        model.reduction.is_some(),
        hangs,
    );
    let violation = |found: &Found| {
        found.3.iter().any(|(name, _)| {
            !model
                .slots()
                .iter()
                .any(|(n, k)| n == name && *k == Kind::Sometimes)
        })
    };
    let cap = options
        .max_states
        .map_or(RACE_BFS_MAX_STATES, |max| max.min(RACE_BFS_MAX_STATES));
    let bounded = CheckOptions {
        strategy: Strategy::Bfs,
        max_states: Some(cap),
        ..options
    };
    let breadth_stop = breadth.stop.clone();
    let breadth_outgrown = breadth.outgrown.clone();
    let wide = run_checker(
        breadth,
        bounded,
        options.max_depth,
        watch,
        &breadth_stop,
        started,
        progress,
    );
    let capped = wide.0 >= cap;
    let users_bound = options.max_states.is_some_and(|max| max <= cap);
    if violation(&wide) || !capped || users_bound || watch.stopped_by.is_some() {
        // The breadth-first search decided (or a bound of the check's own stopped it).
        model
            .outgrown
            .store(breadth_outgrown.load(Ordering::Relaxed), Ordering::Relaxed);
        return (wide, Strategy::Bfs);
    }
    let deep = CheckOptions {
        strategy: Strategy::Dfs,
        ..options
    };
    let stop = model.stop.clone();
    let mut found = run_checker(
        model,
        deep,
        options.max_depth,
        watch,
        &stop,
        started,
        progress,
    );
    // What the breadth-first phase reached stays reached (its paths are real paths of the same
    // graph), so a partial depth-first search does not forget a `sometimes` property it met.
    for (name, path) in wide.3 {
        if !found.3.iter().any(|(known, _)| *known == name) {
            found.3.push((name, path));
        }
    }
    (found, Strategy::Dfs)
}

/// Runs stateright's checker on `model` under the watch, and returns the state counts, the
/// depth and each discovery's path (canonical, from one of the model's initial states).
fn run_checker(
    model: CheckModel,
    options: CheckOptions,
    max_depth: Option<usize>,
    watch: &mut Watch,
    stop: &AtomicBool,
    started: Instant,
    progress: &mut dyn FnMut(Progress),
) -> (usize, usize, usize, Vec<(&'static str, FoundPath)>) {
    let mut builder = model
        .checker()
        .threads(options.threads.max(1))
        .finish_when(HasDiscoveries::AnyFailures);
    if let Some(max) = options.max_states {
        builder = builder.target_state_count(max);
    }
    if let Some(depth) = max_depth {
        builder = builder.target_max_depth(depth);
    }
    let checker: Box<dyn Checker<CheckModel>> = match options.strategy {
        Strategy::Dfs | Strategy::Race => Box::new(builder.spawn_dfs()),
        Strategy::Bfs => Box::new(builder.spawn_bfs()),
    };
    let mut polls = 0u32;
    while !checker.is_done() {
        // Memory can grow fast: look every 20 ms, report progress every 100 ms.
        std::thread::sleep(Duration::from_millis(20));
        watch.poll(stop);
        polls += 1;
        if polls.is_multiple_of(5) {
            progress(Progress {
                total: checker.state_count(),
                unique: checker.unique_state_count(),
                depth: checker.max_depth(),
                elapsed: started.elapsed(),
            });
        }
    }
    let names: BTreeSet<&'static str> = checker.discoveries().keys().copied().collect();
    let discoveries = names
        .into_iter()
        .map(|name| {
            let path = checker.discovery(name).expect("listed");
            (name, path.into_vec())
        })
        .collect();
    (
        checker.state_count(),
        checker.unique_state_count(),
        checker.max_depth(),
        discoveries,
    )
}

/// The actions up to the first state that violates `invariant` (stateright may report a later
/// state of the same block).
fn truncate_at_violation(model: &CheckModel, actions: &[Action], invariant: &str) -> Vec<Action> {
    let mut world = World::initial(&model.spec);
    for (index, action) in actions.iter().enumerate() {
        world =
            world::apply(&model.spec, &world, *action).expect("counterexample actions are enabled");
        if model.violated(invariant, &world) {
            return actions[..=index].to_vec();
        }
    }
    actions.to_vec()
}

/// The violation `replay` reports for `actions`: the first violated table property after a
/// step, or, for a trace with a healed phase from `healed_at` on whose last state is not a
/// finished job, `healed-run-finishes` (the continuation ends only at its budget, or when
/// nothing can happen any more, which is exactly when replay judges it).
fn replay_violation(
    spec: &Spec,
    oracle: &Oracle,
    actions: &[Action],
    healed_at: Option<usize>,
) -> Option<invariants::Violation> {
    let mut world = World::initial(spec);
    for action in actions {
        world = world::apply(spec, &world, *action).expect("counterexample actions are enabled");
        if let Err(violation) = invariants::check_all(spec, oracle, &world) {
            return Some(violation);
        }
    }
    (healed_at.is_some() && !world.job_done()).then(|| hang::violation(spec, &world))
}

/// The most states the search for a shorter counterexample generates unless `--max-states`
/// says otherwise.
pub const SHORTEST_MAX_STATES: usize = 5_000_000;
/// How long the search for a shorter counterexample may take unless `--time-limit` says
/// otherwise.
pub const SHORTEST_TIME_LIMIT: Duration = Duration::from_secs(60);

/// A breadth-first search (one thread, so the first discovery is the shortest in stateright
/// 0.30.2) for a violation of one property, no deeper than `depth` steps, and how it went. For
/// `healed-run-finishes` it is the shortest path to a state where it is evaluated and fails
/// (the continuation is appended afterwards).
#[allow(clippy::too_many_arguments)]
fn shortest_counterexample(
    spec: &Arc<Spec>,
    oracle: &Arc<Oracle>,
    invariant: &'static str,
    depth: usize,
    options: CheckOptions,
    limits: Limits,
    symmetric: bool,
    hangs: HangOptions,
) -> (Option<Vec<Action>>, ShortestSearch) {
    let alone = if invariant == hang::NAME && hangs.enabled {
        (Vec::new(), hangs)
    } else {
        let Some(index) = oracle.properties().position(|p| p.name == invariant) else {
            return (None, ShortestSearch::Off);
        };
        let off = HangOptions {
            enabled: false,
            ..hangs
        };
        (vec![index], off)
    };
    let model = CheckModel::new(spec.clone(), oracle.clone(), alone.0, symmetric, alone.1);
    let translate = model.clone();
    let stop = model.stop.clone();
    let outgrown = model.outgrown.clone();
    let max_states = options.max_states.unwrap_or(SHORTEST_MAX_STATES);
    let checker = model
        .checker()
        .threads(1)
        // Depth counts the initial state as 1, and states at the target depth are skipped before
        // their properties are evaluated: a path of `depth` actions needs a bound of `depth + 2`.
        .target_max_depth(depth + 2)
        .target_state_count(max_states)
        .finish_when(HasDiscoveries::Any)
        .spawn_bfs();
    let mut watch = Watch::new(
        Some(options.time_limit.unwrap_or(SHORTEST_TIME_LIMIT)),
        limits.max_memory,
    );
    while !checker.is_done() {
        std::thread::sleep(Duration::from_millis(20));
        watch.poll(&stop);
    }
    let found = checker
        .discovery(invariant)
        .map(|path| translate.real_actions(&path.into_actions()));
    let search = if found.is_some() {
        ShortestSearch::Done
    } else if let Some(bound) = watch.stopped_by {
        ShortestSearch::Capped(bound)
    } else if checker.state_count() >= max_states {
        ShortestSearch::Capped(Bound::MaxStates)
    } else if outgrown.load(Ordering::Relaxed) {
        ShortestSearch::Capped(Bound::StateSize)
    } else {
        // Exhausted within the depth bound without a shorter one: the depth-first one is
        // shortest.
        ShortestSearch::Done
    };
    (found, search)
}

/// The Explorer's view of a world: rendered with task names, checkpoint ids and channel contents
/// instead of a raw debug dump. Equality and hashing are the world's.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Explored(pub World);

static EXPLORED_SPEC: std::sync::OnceLock<Arc<Spec>> = std::sync::OnceLock::new();

impl std::fmt::Debug for Explored {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match EXPLORED_SPEC.get() {
            // stateright titles the page with the Rust type; every state names the model.
            Some(spec) => write!(
                f,
                "model: {}\n{}",
                spec.name,
                describe::describe_world(spec, &self.0)
            ),
            None => write!(f, "{:?}", self.0),
        }
    }
}

/// The model served by the Explorer.
#[derive(Clone)]
pub struct ExploreModel(CheckModel);

impl Model for ExploreModel {
    type State = Explored;
    type Action = Action;

    fn init_states(&self) -> Vec<Explored> {
        self.0.init_states().into_iter().map(Explored).collect()
    }

    fn actions(&self, state: &Explored, actions: &mut Vec<Action>) {
        self.0.actions(&state.0, actions)
    }

    fn next_state(&self, state: &Explored, action: Action) -> Option<Explored> {
        self.0.next_state(&state.0, action).map(Explored)
    }

    fn format_action(&self, action: &Action) -> String {
        self.0.format_action(action)
    }

    fn format_step(&self, last: &Explored, action: Action) -> Option<String> {
        let spec = &self.0.spec;
        let description = describe::describe_action(spec, &last.0, &action);
        let (next, events) = world::apply_traced(spec, &last.0, action).ok()?;
        let mut text = description;
        for line in describe::describe_events(spec, &events) {
            text.push_str("\n  ");
            text.push_str(&line);
        }
        text.push_str("\n\n");
        text.push_str(&describe::describe_world(spec, &next));
        Some(text)
    }

    fn properties(&self) -> Vec<Property<Self>> {
        // Every registered property by its own name, so the Explorer names what failed.
        self.0.properties_with(EXPLORE_SLOTS)
    }
}

/// The name of the thread [`explore`] serves from (a panic hook may recognise it).
pub const EXPLORER_THREAD: &str = "explorer";

/// Serves stateright's Explorer web UI for the model on 127.0.0.1:`port`. Never returns.
/// stateright's server ends when a client drops a connection while it answers (it unwraps the
/// write): the Explorer is then served again on the same port, with the same states (the
/// Explorer is on demand and its paths are fingerprints, so open pages keep working).
pub fn explore(spec: Arc<Spec>, port: u16) -> ! {
    let _ = EXPLORED_SPEC.set(spec.clone());
    loop {
        let oracle = Arc::new(Oracle::new(&spec));
        let registered = CheckModel::all_properties(&spec, &oracle);
        let model = ExploreModel(CheckModel::new(
            spec.clone(),
            oracle,
            registered,
            false,
            HangOptions::default(),
        ));
        let served = std::thread::Builder::new()
            .name(EXPLORER_THREAD.to_string())
            .spawn(move || {
                model.checker().serve(("127.0.0.1", port));
            })
            .map(|handle| handle.join());
        match served {
            // The server stopped by itself (it never does) or panicked on a dropped connection:
            // serve again after a moment.
            Ok(_) => std::thread::sleep(Duration::from_millis(100)),
            Err(_) => std::process::exit(2),
        }
    }
}
