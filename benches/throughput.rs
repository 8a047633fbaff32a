//! Throughput benchmarks, reported as numbers (never asserted): simulator steps per second,
//! model-checker states per second on one and two threads, and bytes per state (the deep size
//! of a `World`, which every clone and hash in the explorers touches, measured with a counting
//! allocator), and conformance schedules per second through the model and through Flink 2.3's
//! real coordinator (when Java and Flink's jars are there). Run with `cargo bench`;
//! `cargo bench -- --quick` runs a shorter version.

use checkpoint_harness::check::{self, CheckOptions, Strategy};
use checkpoint_harness::conformance::{self, flink::FlinkDriver, model, Coverage};
use checkpoint_harness::invariants::Oracle;
use checkpoint_harness::scheduler::SchedulerKind;
use checkpoint_harness::sim::{self, RunBounds, Shard, Sweep};
use checkpoint_harness::spec::Spec;
use checkpoint_harness::world::{self, World};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Counts bytes allocated, so that the deep size of a clone can be measured.
struct Counting;

static ALLOCATED: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATED.fetch_add(layout.size(), Ordering::Relaxed);
        System.alloc(layout)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// The deep size of a world: its inline size plus everything a clone allocates.
fn deep_size(world: &World) -> usize {
    let before = ALLOCATED.load(Ordering::Relaxed);
    let copy = world.clone();
    let heap = ALLOCATED.load(Ordering::Relaxed) - before;
    drop(copy);
    std::mem::size_of::<World>() + heap
}

/// The deep size of one part of a world: its inline size plus what a clone of it allocates.
fn part_size<T: Clone>(part: &T) -> usize {
    let before = ALLOCATED.load(Ordering::Relaxed);
    let copy = part.clone();
    let heap = ALLOCATED.load(Ordering::Relaxed) - before;
    drop(copy);
    std::mem::size_of::<T>() + heap
}

/// The parts of a world, for the breakdown of its size.
const PARTS: [&str; 6] = ["coordinator", "tasks", "channels", "rpcs", "ghost", "other"];

/// Average and largest deep size over the worlds a simulation run passes through, and the
/// average of each of [`PARTS`] ("other": the clock, external system, savepoint, budgets,
/// files and last step's observations).
fn bytes_per_state(spec: &Spec) -> (usize, usize, [usize; 6]) {
    let oracle = Oracle::new(spec);
    let run = sim::run(spec, &oracle, 1, SchedulerKind::Random, RunBounds::of(spec));
    let mut world = World::initial(spec);
    let (mut total, mut largest) = (0, 0);
    let mut parts = [0usize; 6];
    for action in &run.actions {
        world = world::apply(spec, &world, *action).expect("enabled");
        let size = deep_size(&world);
        total += size;
        largest = largest.max(size);
        let named = [
            part_size(&world.coordinator),
            part_size(&world.tasks),
            part_size(&world.channels),
            part_size(&world.rpcs),
            part_size(&world.ghost),
        ];
        for (sum, part) in parts.iter_mut().zip(named) {
            *sum += part;
        }
        parts[5] += size.saturating_sub(named.iter().sum());
    }
    let steps = run.actions.len().max(1);
    (total / steps, largest, parts.map(|sum| sum / steps))
}

fn simulator(spec: &Spec, seeds: u64, threads: usize) -> (u64, f64) {
    let oracle = Oracle::new(spec);
    let request = Sweep {
        seeds: 0..seeds,
        shard: Shard::ALL,
        scheduler: SchedulerKind::Random,
        bounds: RunBounds::of(spec),
        threads,
    };
    let started = Instant::now();
    let report = sim::sweep(spec, &oracle, &request, &|_| {});
    assert!(report.failure.is_none(), "{} fails", spec.name);
    (report.steps, started.elapsed().as_secs_f64())
}

/// One check: total and unique states, seconds, whether it completed, and the growth of the
/// process's resident memory over the run per unique state (bytes; `None` where the system does
/// not say).
fn checker(spec: &Spec, threads: usize, limit: Duration) -> (usize, usize, f64, bool, Option<u64>) {
    let baseline = check::resident_memory();
    let options = CheckOptions {
        strategy: Strategy::Dfs,
        threads,
        max_states: None,
        max_depth: None,
        time_limit: Some(limit),
        symmetry: true,
        shortest: true,
        reduction: check::REDUCTION_DEFAULT,
    };
    let started = Instant::now();
    let summary = check::check(Arc::new(spec.clone()), options, &mut |_| {});
    let complete = matches!(summary.verdict, check::Verdict::Pass);
    let per_unique = match (baseline, summary.peak_memory) {
        (Some(before), Some(peak)) => {
            Some(peak.saturating_sub(before) / summary.unique_states.max(1) as u64)
        }
        _ => None,
    };
    (
        summary.total_states,
        summary.unique_states,
        started.elapsed().as_secs_f64(),
        complete,
        per_unique,
    )
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let (seeds, limit) = if quick {
        (300, Duration::from_secs(10))
    } else {
        (3000, Duration::from_secs(90))
    };
    let models = [
        "linear",
        "keyed-join-2pc",
        "keyed-aggregate",
        "unaligned",
        "two-input-join",
    ];

    println!("simulator ({seeds} seeds per model, random scheduler)");
    println!(
        "{:<18} {:>12} {:>12} {:>12}",
        "model", "steps", "steps/s 1t", "steps/s 2t"
    );
    for name in models {
        let spec = Spec::embedded(name).expect("embedded");
        let (steps, one) = simulator(&spec, seeds, 1);
        let (_, two) = simulator(&spec, seeds, 2);
        println!(
            "{name:<18} {steps:>12} {:>12.0} {:>12.0}",
            steps as f64 / one,
            steps as f64 / two
        );
    }

    println!("\nbytes per state (deep size of a World along a simulated run; the average by part)");
    print!("{:<18} {:>10} {:>10}", "model", "average", "largest");
    for part in PARTS {
        print!(" {part:>12}");
    }
    println!();
    for name in models {
        let spec = Spec::embedded(name).expect("embedded");
        let (average, largest, parts) = bytes_per_state(&spec);
        print!("{name:<18} {average:>10} {largest:>10}");
        for part in parts {
            print!(" {part:>12}");
        }
        println!();
    }

    // The default model first: the resident-memory growth of later runs is understated by
    // what the allocator kept from earlier ones.
    println!("\nmodel checker (depth-first, partial-order reduction on, time limit {limit:?})");
    println!(
        "{:<22} {:>8} {:>12} {:>12} {:>10} {:>12} {:>12} {:>9} {:>14}",
        "model",
        "threads",
        "total",
        "unique",
        "seconds",
        "states/s",
        "unique/s",
        "complete",
        "RSS B/unique"
    );
    for name in ["keyed-join-2pc", "short-timeout", "retained-checkpoints"] {
        let spec = Spec::embedded(name).expect("embedded");
        for threads in [1, 2] {
            let (total, unique, seconds, complete, per_unique) = checker(&spec, threads, limit);
            println!(
                "{name:<22} {threads:>8} {total:>12} {unique:>12} {seconds:>10.1} {:>12.0} {:>12.0} {:>9} {:>14}",
                total as f64 / seconds,
                unique as f64 / seconds,
                if complete { "yes" } else { "no" },
                per_unique.map_or("-".to_string(), |b| b.to_string())
            );
        }
    }

    conformance_throughput(if quick { 200 } else { 2000 });
}

/// Conformance schedules per second: generated and projected through the model alone, and the
/// whole comparison through the real coordinator (one JVM, started once).
fn conformance_throughput(seeds: u64) {
    println!("\nconformance ({seeds} schedules per model)");
    println!(
        "{:<22} {:>14} {:>16} {:>14}",
        "model", "model sched/s", "with Flink s/s", "inputs/sched"
    );
    let mut driver = match FlinkDriver::start(None) {
        Ok(driver) => Some(driver),
        Err(why) => {
            println!("(real Flink not available: {why}; only the model side is measured)");
            None
        }
    };
    for name in ["keyed-join-2pc", "retained-checkpoints", "short-timeout"] {
        let spec = Spec::embedded(name).expect("embedded");
        let schedules: Vec<_> = (0..seeds)
            .map(|s| conformance::schedule(&spec, s))
            .collect();
        let started = Instant::now();
        let mut inputs = 0usize;
        for actions in &schedules {
            inputs += model::project(&spec, actions).inputs.len();
        }
        let model_rate = seeds as f64 / started.elapsed().as_secs_f64();
        let flink_rate = driver.as_mut().map(|driver| {
            let started = Instant::now();
            let mut coverage = Coverage::default();
            for actions in &schedules {
                let _ = conformance::compare(driver, &spec, actions, &mut coverage);
            }
            seeds as f64 / started.elapsed().as_secs_f64()
        });
        println!(
            "{name:<22} {model_rate:>14.0} {:>16} {:>14.1}",
            flink_rate.map_or("-".to_string(), |r| format!("{r:.0}")),
            inputs as f64 / seeds as f64
        );
    }
}
