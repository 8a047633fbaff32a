//! The injectable-bug catalogue: every bug is listed, caught by the simulator within the fixed
//! seed budget and (where its model is small enough) by the model checker, each time naming the
//! expected invariant; the same runs without the bug raise no false alarm; every bug is one
//! marked decision in the source and keeps a shrunk regression trace under `traces/bugs/`.

use checkpoint_harness::bugs::{Bug, CheckPlan};
use checkpoint_harness::report::{self, Budget};
use checkpoint_harness::spec::Spec;
use checkpoint_harness::trace::{Expected, Trace};
use std::process::Command;

#[test]
fn the_catalogue_covers_every_layer_with_at_least_twenty_bugs() {
    assert!(Bug::ALL.len() >= 20, "{} bugs", Bug::ALL.len());
    for layer in ["coordinator", "task", "source", "sink"] {
        let count = Bug::ALL.iter().filter(|b| b.layer() == layer).count();
        assert!(count >= 2, "layer {layer} has {count} bugs");
    }
    for bug in Bug::ALL {
        let origin = bug.origin();
        assert!(
            // "flink-2.3": Flink's own current rule, kept out of the model on purpose
            // (docs/fidelity.md, "Deliberate deviation") and catalogued as a variant.
            // "apache/iceberg#N": a connector's issue (Iceberg tracks them on GitHub).
            origin == "textbook"
                || origin == "flink-2.3"
                || origin.starts_with("FLINK-")
                || origin.starts_with("apache/iceberg#"),
            "{bug}: origin {origin}"
        );
        assert!(!bug.description().is_empty() && !bug.history().is_empty());
        let showcase = bug.showcase();
        assert!(
            Spec::embedded(showcase.model).is_some(),
            "{bug}: showcase model {} is not embedded",
            showcase.model
        );
        for invariant in showcase.invariant.split('|') {
            assert!(
                checkpoint_harness::invariants::property(invariant).is_some()
                    || invariant == checkpoint_harness::sim::HEALED_RUN_FINISHES,
                "{bug}: unknown invariant {invariant}"
            );
        }
    }
}

#[test]
fn the_bugs_command_lists_every_bug() {
    let output = Command::new(env!("CARGO_BIN_EXE_checkpoint-harness"))
        .args(["bugs", "--format", "json"])
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(0));
    let list: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    let names: Vec<&str> = list
        .as_array()
        .expect("array")
        .iter()
        .map(|b| b["name"].as_str().expect("name"))
        .collect();
    let expected: Vec<&str> = Bug::ALL.iter().map(|b| b.name()).collect();
    assert_eq!(names, expected);
    let text = Command::new(env!("CARGO_BIN_EXE_checkpoint-harness"))
        .arg("bugs")
        .output()
        .expect("runs");
    let text = String::from_utf8_lossy(&text.stdout);
    for bug in Bug::ALL {
        assert!(
            text.contains(bug.name()) && text.contains(bug.origin()),
            "{bug}"
        );
    }
}

#[test]
fn every_bug_is_caught_naming_the_expected_invariant() {
    let budget = Budget::default();
    let mut failures = Vec::new();
    for bug in Bug::ALL {
        // The two bugs the catalogue places deeper than 60 s of search on their full models are
        // checked on their small instances at once (what `bugs --report` falls back to).
        let result = report::run_skipping_known_misses(*bug, &budget);
        if result.sim.caught_at_seed.is_none() {
            failures.push(format!(
                "{bug}: not caught by the simulator in {} seeds",
                budget.sim_seeds
            ));
        }
        // The catalogue names the bugs the checker is known not to catch, with the reason; every
        // other bug must be caught by `check` with the user's defaults, and a known miss that
        // `check` now catches must get a plan (so the list stays true).
        if let Some(check) = &result.check {
            match (check.caught, bug.showcase().check) {
                (false, Ok(_)) => failures.push(format!(
                    "{bug}: not caught by check within {} states",
                    check.states
                )),
                (true, Err(reason)) => failures.push(format!(
                    "{bug}: now caught by check, but the catalogue says it cannot be ({reason}): give it a plan"
                )),
                _ => {}
            }
        }
        if bug.showcase().check.is_ok() && result.check.is_none() {
            failures.push(format!("{bug}: planned for check but not checked"));
        }
        if !result.as_expected() {
            failures.push(format!(
                "{bug}: expected {}, sim found {:?}, check found {:?}",
                bug.showcase().invariant,
                result.sim.invariant,
                result.check.as_ref().and_then(|c| c.invariant)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn no_false_alarm_without_the_bug() {
    let budget = Budget::default();
    let mut models: Vec<&str> = Bug::ALL.iter().map(|b| b.showcase().model).collect();
    models.sort();
    models.dedup();
    for model in models {
        let spec = Spec::embedded(model).expect("embedded");
        let sim = report::simulate(&spec, &budget);
        assert!(
            sim.caught_at_seed.is_none(),
            "{model}: false alarm {:?} at seed {:?}",
            sim.invariant,
            sim.caught_at_seed
        );
        // The largest check any bug of this model gets, with both strategies that bugs use.
        let plans: Vec<CheckPlan> = Bug::ALL
            .iter()
            .filter(|b| b.showcase().model == model)
            .filter_map(|b| b.showcase().check.ok())
            // Small instances are checked exhaustively without bugs by tests/model_check.rs.
            .filter(|p| !p.small_instance)
            .collect();
        for breadth_first in [false, true] {
            let Some(max_states) = plans
                .iter()
                .filter(|p| p.breadth_first == breadth_first)
                .map(|p| p.max_states)
                .max()
            else {
                continue;
            };
            let plan = CheckPlan {
                breadth_first,
                max_states,
                small_instance: false,
            };
            let check = report::model_check(&spec, plan, &budget);
            assert!(
                !check.caught,
                "{model}: check false alarm {:?} ({plan:?})",
                check.invariant
            );
        }
    }
}

#[test]
fn every_bug_keeps_a_shrunk_regression_trace() {
    for bug in Bug::ALL {
        let path = format!("traces/bugs/{}.json", bug.name());
        let trace = Trace::load(&path).unwrap_or_else(|e| {
            panic!("{e} (regenerate: checkpoint-harness bugs --report --write-traces traces/bugs)")
        });
        let Expected::Violation { invariant } = &trace.expected else {
            panic!("{path}: a bug's regression trace records its violation");
        };
        assert!(bug.showcase().accepts(invariant), "{path}: {invariant}");
        assert_eq!(trace.bugs, vec![bug.name().to_string()], "{path}");
        assert!(
            trace.note.contains(bug.name()),
            "{path}: the note names the bug"
        );
        // tests/corpus.rs replays it to this expectation.
    }
}

#[test]
fn every_bug_is_one_marked_decision() {
    let mut sources = Vec::new();
    fn collect(dir: &std::path::Path, out: &mut Vec<(String, String)>) {
        for entry in std::fs::read_dir(dir).expect("src") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                collect(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs")
                && !path.ends_with("bugs.rs")
                // Conformance switches a variant on for the comparison; only the system decides.
                && !path.starts_with("src/conformance")
            {
                let text = std::fs::read_to_string(&path).expect("readable");
                out.push((path.display().to_string(), text));
            }
        }
    }
    collect(std::path::Path::new("src"), &mut sources);
    for bug in Bug::ALL {
        let variant = format!("Bug::{bug:?}");
        let marker = format!("BUG {}", bug.name());
        let mut sites = 0;
        for (file, text) in &sources {
            let lines: Vec<&str> = text.lines().collect();
            for (index, line) in lines.iter().enumerate() {
                // Doc examples name bugs to switch them on; only code decides.
                if line.contains(&variant) && !line.trim_start().starts_with("//") {
                    sites += 1;
                    let nearby = lines[index.saturating_sub(3)..=index].join("\n");
                    assert!(
                        nearby.contains(&marker),
                        "{file}:{}: `{variant}` without a `// {marker}` comment just above",
                        index + 1
                    );
                }
            }
        }
        assert!(sites >= 1, "{bug} is never consulted");
        // One decision; the rules two barrier handlers both implement count once per handler.
        assert!(sites <= 2, "{bug} is consulted in {sites} places");
    }
}
