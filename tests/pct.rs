//! PCT (Burckhardt et al., ASPLOS 2010) as the simulator implements it: `d - 1` distinct change
//! points drawn uniformly over the calibrated run length `k` (spread over the whole run, not
//! front-loaded, and landing inside the runs PCT actually produces), change point `k_i` carrying
//! priority `i`, and everything fixed by the seed: the same seed gives the same plan and the same
//! trace, whatever the thread count. Also the report's scheduler comparison, whose counts are
//! exact whatever the thread count.

use checkpoint_harness::bugs::{Bug, BugSet};
use checkpoint_harness::invariants::Oracle;
use checkpoint_harness::scheduler::{Scheduler, SchedulerKind};
use checkpoint_harness::sim::{self, RunBounds, Shard, Sweep};
use checkpoint_harness::spec::Spec;
use checkpoint_harness::world::Action;

const DEPTH: u32 = 4;
const PCT: SchedulerKind = SchedulerKind::Pct { depth: DEPTH };

#[test]
fn change_points_are_distinct_carry_priorities_one_to_d_minus_one_and_spread_over_the_run() {
    let spec = Spec::embedded("keyed-join-2pc").expect("embedded");
    let k = sim::pct_run_length(&spec, PCT, RunBounds::of(&spec));
    assert!(
        k >= 20 && k <= spec.bounds.faulty_steps,
        "calibrated k = {k} (faulty_steps {})",
        spec.bounds.faulty_steps
    );
    let seeds = 4000u64;
    let mut quarters = [0u64; 4];
    let mut sum = 0u64;
    for seed in 0..seeds {
        let scheduler = Scheduler::with_run_length(&spec, seed, PCT, k);
        let plan = scheduler.pct_plan().expect("a PCT plan").clone();
        assert_eq!(plan.run_length, k);
        assert_eq!(plan.change_points.len(), (DEPTH - 1) as usize);
        let mut steps: Vec<u32> = plan.change_points.iter().map(|(s, _)| *s).collect();
        steps.sort();
        steps.dedup();
        assert_eq!(
            steps.len(),
            plan.change_points.len(),
            "seed {seed}: {plan:?}"
        );
        let mut priorities: Vec<u32> = plan.change_points.iter().map(|(_, p)| *p).collect();
        priorities.sort();
        assert_eq!(priorities, (1..DEPTH).collect::<Vec<_>>());
        for (step, _) in &plan.change_points {
            assert!(
                (1..=k).contains(step),
                "seed {seed}: {step} outside 1..={k}"
            );
            quarters[(((step - 1) * 4) / k) as usize] += 1;
            sum += u64::from(*step);
        }
        assert_eq!(scheduler.config.pct.as_ref(), Some(&plan));
    }
    let total = seeds * u64::from(DEPTH - 1);
    // Uniform over 1..=k: every quarter of the run holds about a quarter of the change points,
    // and their mean is about (k + 1) / 2.
    for (index, count) in quarters.iter().enumerate() {
        let share = *count as f64 / total as f64;
        assert!(
            (0.21..=0.29).contains(&share),
            "quarter {index} of the run holds {share:.3} of the change points: {quarters:?}"
        );
    }
    let mean = sum as f64 / total as f64;
    let expected = f64::from(k + 1) / 2.0;
    assert!(
        (mean - expected).abs() < f64::from(k) * 0.03,
        "mean change point {mean:.1}, expected about {expected:.1}"
    );
}

#[test]
fn change_points_land_inside_the_runs_pct_produces() {
    // k is calibrated on PCT's own runs, so most change points fall before the faulty phase
    // ends (a k fixed at the bound would put many past the end of short runs).
    for name in [
        "keyed-join-2pc",
        "retained-checkpoints",
        "coordinator-faults",
    ] {
        let spec = Spec::embedded(name).expect("embedded");
        let oracle = Oracle::new(&spec);
        let bounds = RunBounds::of(&spec);
        let k = sim::pct_run_length(&spec, PCT, bounds);
        let (mut landed, mut drawn) = (0usize, 0usize);
        for seed in 0..300 {
            let run = sim::run_with_length(&spec, &oracle, seed, PCT, bounds, k);
            let scheduled = run.actions[..run.healed_at]
                .iter()
                .filter(|a| !a.is_fault() && !a.is_user())
                .count() as u32;
            let plan = run.config.pct.expect("a PCT plan");
            drawn += plan.change_points.len();
            landed += plan
                .change_points
                .iter()
                .filter(|(step, _)| *step <= scheduled)
                .count();
        }
        let share = landed as f64 / drawn as f64;
        assert!(
            share >= 0.7,
            "{name}: only {share:.2} of the change points fall inside the runs (k = {k})"
        );
    }
}

#[test]
fn the_calibrated_length_is_fixed_by_the_model_and_the_run_by_the_seed() {
    let spec = Spec::embedded("two-input-join").expect("embedded");
    let oracle = Oracle::new(&spec);
    let bounds = RunBounds::of(&spec);
    let k = sim::pct_run_length(&spec, PCT, bounds);
    assert_eq!(k, sim::pct_run_length(&spec, PCT, bounds));
    assert_eq!(sim::pct_run_length(&spec, SchedulerKind::Random, bounds), 0);
    for seed in [0, 1, 17, 4242] {
        let first = sim::run(&spec, &oracle, seed, PCT, bounds);
        let second = sim::run_with_length(&spec, &oracle, seed, PCT, bounds, k);
        assert_eq!(first.actions, second.actions, "seed {seed}");
        assert_eq!(first.config, second.config, "seed {seed}");
        assert_eq!(first.outcome, second.outcome, "seed {seed}");
    }
    // Different seeds draw different plans.
    let plans: Vec<_> = (0..50)
        .map(|seed| Scheduler::with_run_length(&spec, seed, PCT, k).config.pct)
        .collect();
    let mut distinct = plans.clone();
    distinct.sort_by_key(|p| format!("{p:?}"));
    distinct.dedup();
    assert!(distinct.len() >= 45, "{} distinct plans", distinct.len());
}

#[test]
fn a_pct_sweep_reports_the_same_failure_on_any_thread_count() {
    let spec = Spec::embedded("keyed-join-2pc")
        .expect("embedded")
        .with_bugs(BugSet::of(&[Bug::SnapshotBeforeAllBarriers]));
    let oracle = Oracle::new(&spec);
    let outcome = |threads: usize| {
        let request = Sweep {
            seeds: 0..300,
            shard: Shard::ALL,
            scheduler: PCT,
            bounds: RunBounds::of(&spec),
            threads,
        };
        let report = sim::sweep(&spec, &oracle, &request, &|_| {});
        let (seed, run) = report
            .failure
            .expect("PCT catches the bug within 300 seeds");
        (seed, run.actions, report.seeds_run, report.steps)
    };
    let one = outcome(1);
    assert_eq!(one, outcome(3));
    // And the sweep's failing run is the single run of that seed.
    let single = sim::run(&spec, &oracle, one.0, PCT, RunBounds::of(&spec));
    assert_eq!(single.actions, one.1);
}

#[test]
fn pct_leaves_faults_and_user_requests_to_the_swarm_configuration() {
    // The environment's inputs are not PCT threads: faults strike in PCT runs about as often as
    // in random runs with the same swarm configurations (PCT priorities would otherwise starve
    // them, or flood the run with them as soon as they are allowed).
    let spec = Spec::embedded("coordinator-faults").expect("embedded");
    let oracle = Oracle::new(&spec);
    let bounds = RunBounds::of(&spec);
    let struck = |kind: SchedulerKind| {
        let (mut on, mut struck) = (0u32, 0u32);
        for seed in 0..300 {
            let run = sim::run(&spec, &oracle, seed, kind, bounds);
            if !run.config.faults.is_empty() {
                on += 1;
                struck += u32::from(run.actions.iter().any(Action::is_fault));
            }
        }
        f64::from(struck) / f64::from(on)
    };
    let (random, pct) = (struck(SchedulerKind::Random), struck(PCT));
    assert!(
        pct >= random * 0.8 && pct > 0.5,
        "faults struck in {pct:.2} of the PCT runs that switched them on, {random:.2} of the random ones"
    );
}

#[test]
fn the_scheduler_comparison_counts_every_seed_the_same_on_any_thread_count() {
    use checkpoint_harness::report::{self, Budget};
    let bug = Bug::SnapshotBeforeAllBarriers;
    let counts = |threads: usize| {
        let budget = Budget {
            sim_seeds: 200,
            threads,
            check: false,
            ..Budget::default()
        };
        let mut result = report::run(bug, &budget);
        report::compare_schedulers(&mut result, 3, &budget);
        let table = report::comparison_table(&[result.clone()], &budget);
        assert!(
            table.contains("| `snapshot-before-all-barriers` |"),
            "{table}"
        );
        result
            .schedulers
            .iter()
            .map(|d| {
                (
                    d.scheduler,
                    d.seeds_run,
                    d.catching_seeds,
                    d.first_catch,
                    d.invariant,
                )
            })
            .collect::<Vec<_>>()
    };
    let one = counts(1);
    assert_eq!(one.len(), 2);
    assert_eq!(one[0].0, SchedulerKind::Random);
    assert_eq!(one[1].0, SchedulerKind::Pct { depth: 3 });
    assert!(one.iter().all(|d| d.1 == 200 && d.2 > 0 && d.3.is_some()));
    assert_eq!(one, counts(2));
}
