//! End to end with real Flink (issue 10, point 6): a handful of real jobs on a local MiniCluster
//! (`conformance/minicluster/run-job.sh`: a deterministic FLIP-27 source, keyed state, a
//! two-phase-commit Sink V2 with committer; parallelism 2; aligned or unaligned; a task fault or
//! a committer fault; every checkpoint triggered by the job's driver). Each test checks that the
//! committed output is exactly once (committed multiset = generated multiset, for the values and
//! for the per-key counts of the keyed state), and validates the coordinator events parsed from
//! the JobManager's log against the model: a bounded search of the model's world
//! (`conformance::validate`) must find a run with the same event sequence, ending with the job
//! finished, as the real job did.
//!
//! Each run costs 5-8 s (a JVM and a cluster); the tests take a lock so that one JVM (or search) runs
//! at a time. Needs Java 17 and Flink's jars (`conformance/fetch-flink.sh`); without them each test
//! prints that it was skipped and how to enable it, and passes; with `CI` set it fails instead.

mod support;

use checkpoint_harness::conformance::flink::HOW_TO_ENABLE;
use checkpoint_harness::conformance::validate::{self, Bounds, Observed, Outcome};
use checkpoint_harness::spec::Spec;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::Instant;

/// One JVM at a time (the machine is shared; each run starts a cluster).
static ONE_JVM: Mutex<()> = Mutex::new(());

/// States the trace-validation search may explore per run.
const MAX_STATES: usize = 300_000;

fn conformance_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("conformance")
}

/// Java and Flink's jars, or why not.
fn available() -> Result<(), String> {
    for program in ["java", "javac"] {
        let found = Command::new(program)
            .arg("-version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !found {
            return Err(format!("`{program}` is not on PATH"));
        }
    }
    let fetch = Command::new("bash")
        .arg(conformance_dir().join("fetch-flink.sh"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map_err(|e| format!("cannot run fetch-flink.sh: {e}"))?;
    if !fetch.success() {
        return Err("conformance/fetch-flink.sh could not provide Flink's jars".into());
    }
    Ok(())
}

/// Runs the job; `None` when skipped.
fn run_job(test: &str, mode: &str, fault: &str) -> Option<Value> {
    if let Err(why) = available() {
        support::skip_or_fail(test, &format!("real Flink ({why})"), HOW_TO_ENABLE);
        return None;
    }
    let out = std::env::temp_dir().join(format!(
        "checkpoint-harness-minicluster-{}-{mode}-{fault}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&out);
    let started = Instant::now();
    let output = Command::new("bash")
        .arg(conformance_dir().join("minicluster").join("run-job.sh"))
        .args([mode, fault])
        .arg(&out)
        .stderr(Stdio::inherit())
        .output()
        .expect("run-job.sh starts");
    let seconds = started.elapsed().as_secs_f64();
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    assert!(
        output.status.success(),
        "{test}: run-job.sh {mode} {fault} failed ({}); stdout: {stdout}; the JobManager log is {}",
        output.status,
        out.join("jobmanager.log").display()
    );
    let line = stdout.lines().last().unwrap_or("");
    let result: Value = serde_json::from_str(line)
        .unwrap_or_else(|e| panic!("{test}: not a JSON line ({e}): {line}"));
    eprintln!("{test}: the job ran in {seconds:.1} s");
    let _ = std::fs::remove_dir_all(&out);
    Some(result)
}

fn sorted(value: &Value, key: &str) -> Vec<String> {
    let mut list: Vec<String> = value[key]
        .as_array()
        .unwrap_or_else(|| panic!("no array {key:?} in {value}"))
        .iter()
        .map(|v| v.to_string())
        .collect();
    list.sort();
    list
}

/// The committed output is exactly the generated one: every value once, and the keyed state's
/// counts per key exactly 1..=n (a lost or replayed record would repeat or skip a count).
fn assert_exactly_once(test: &str, result: &Value) {
    assert_eq!(result["status"], "FINISHED", "{test}: {result}");
    assert_eq!(
        sorted(result, "committed_values"),
        sorted(result, "expected_values"),
        "{test}: committed values are not exactly the generated ones"
    );
    assert_eq!(
        sorted(result, "committed"),
        sorted(result, "expected"),
        "{test}: committed key:count records are not exactly the expected ones"
    );
}

/// The job's shape as a model: source(2) -hash-> keyed count(2) -forward-> two-phase-commit
/// sink(2) (Flink chains the map into the source and the count into the sink; chaining changes
/// no coordinator event), a periodic interval past the time horizon (the job's never fires
/// either; an interval must be configured, see Job.java) and one manual checkpoint per trigger
/// the job's driver requested, Flink's defaults otherwise (one concurrent checkpoint, no tolerated
/// failure, one retained), the job's faults as task crashes (a committer failure is a task
/// failure after the completion), a timeout past the time horizon (no expiry, as in the job).
/// One record per source subtask suffices: the search decides when records flow.
fn model(mode: &str, task_crashes: u32, manual_checkpoints: usize) -> Spec {
    let text = format!(
        r#"
name = "minicluster"
description = "the MiniCluster job of conformance/minicluster"

[[operators]]
name = "source"
kind = "source"
parallelism = 2
records = 1
keys = 2

[[operators]]
name = "count"
kind = "keyed-aggregate"
parallelism = 2

[[operators]]
name = "sink"
kind = "two-phase-commit-sink"
parallelism = 2

[[edges]]
from = "source"
to = "count"
partitioning = "hash"

[[edges]]
from = "count"
to = "sink"
partitioning = "forward"

[checkpointing]
mode = "{mode}"
interval = 1000
max_concurrent = 1
timeout = 100
tolerable_failures = 0
retained = 1

[faults]
task_crashes = {task_crashes}

[user]
manual_checkpoints = {manual_checkpoints}

[network]
rpc_order = "per-pair-fifo"

[bounds]
time = 50
"#
    );
    Spec::parse("minicluster (tests/minicluster.rs)", &text).expect("the model parses")
}

fn show(events: &[Observed]) -> String {
    events
        .iter()
        .map(|e| e.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Runs the job, checks exactly-once, and returns the observed events and the search outcome.
fn run_and_validate(test: &str, mode: &str, fault: &str) -> Option<(Vec<Observed>, Outcome, Spec)> {
    // The search too: a search beside a running job would slow the job's timed steps.
    let _one = ONE_JVM.lock().unwrap_or_else(|e| e.into_inner());
    let result = run_job(test, mode, fault)?;
    assert_exactly_once(test, &result);
    let observed = validate::parse_events(&result["events"]).expect("events parse");
    let triggers = observed
        .iter()
        .filter(|e| matches!(e, Observed::Trigger(_)))
        .count();
    // Flink's scheduler triggers one more by itself once every task reported end of data
    // (`SchedulerBase.notifyEndOfData`); the model has that trigger too.
    let requested = result["triggers_requested"]
        .as_u64()
        .expect("triggers_requested") as usize;
    assert!(
        triggers == requested || triggers == requested + 1,
        "{test}: {triggers} triggers logged for {requested} requested by the driver"
    );
    let crashes = u32::from(fault != "none");
    let spec = model(mode, crashes, requested);
    let started = Instant::now();
    let outcome = validate::validate(
        &spec,
        &observed,
        Bounds {
            max_states: MAX_STATES,
            require_finished: true,
        },
    );
    eprintln!(
        "{test}: observed [{}]; search ({:.1} s): {}",
        show(&observed),
        started.elapsed().as_secs_f64(),
        describe(&outcome, &observed)
    );
    Some((observed, outcome, spec))
}

fn describe(outcome: &Outcome, observed: &[Observed]) -> String {
    match outcome {
        Outcome::Found { actions, states } => {
            format!("a model run of {} actions ({states} states)", actions.len())
        }
        Outcome::Impossible {
            states,
            matched,
            offered,
        } => format!(
            "no model run ({states} states explored): the model produces [{}] but not {} after it; \
             it offers instead: {}",
            show(&observed[..*matched]),
            observed
                .get(*matched)
                .map_or("the job finishing".to_string(), |e| e.to_string()),
            offered
                .iter()
                .map(|o| format!("[{}]", show(o)))
                .collect::<Vec<_>>()
                .join(" ")
        ),
        Outcome::CapReached { states, matched } => format!(
            "state cap reached ({states} states) with the longest prefix [{}]",
            show(&observed[..*matched])
        ),
    }
}

fn assert_found(test: &str, observed: &[Observed], outcome: &Outcome) {
    assert!(
        outcome.found(),
        "{test}: the observed coordinator events [{}] are not a behaviour of the model: {}",
        show(observed),
        describe(outcome, observed)
    );
}

#[test]
fn aligned_without_faults() {
    let test = "aligned_without_faults";
    if let Some((observed, outcome, _)) = run_and_validate(test, "aligned", "none") {
        assert_found(test, &observed, &outcome);
    }
}

#[test]
fn aligned_with_a_task_fault() {
    let test = "aligned_with_a_task_fault";
    if let Some((observed, outcome, _)) = run_and_validate(test, "aligned", "task") {
        assert_found(test, &observed, &outcome);
    }
}

#[test]
fn unaligned_with_a_task_fault() {
    let test = "unaligned_with_a_task_fault";
    if let Some((observed, outcome, _)) = run_and_validate(test, "unaligned", "task") {
        assert_found(test, &observed, &outcome);
    }
}

#[test]
fn aligned_with_a_committer_fault() {
    let test = "aligned_with_a_committer_fault";
    if let Some((observed, outcome, _)) = run_and_validate(test, "aligned", "committer") {
        assert_found(test, &observed, &outcome);
    }
}

/// The search is not vacuous (no Java needed): a sequence the model cannot produce (a checkpoint
/// completing before it was triggered) is rejected with every consistent state explored, and a
/// clean one is found.
#[test]
fn trace_validation_rejects_what_the_model_cannot_do() {
    let spec = model("aligned", 1, 2);
    let bounds = Bounds {
        max_states: MAX_STATES,
        require_finished: false,
    };
    let impossible = [Observed::Complete(1), Observed::Trigger(1)];
    let outcome = validate::validate(&spec, &impossible, bounds);
    assert!(
        matches!(outcome, Outcome::Impossible { matched: 0, .. }),
        "{}",
        describe(&outcome, &impossible)
    );
    let possible = [Observed::Trigger(1), Observed::Complete(1)];
    assert!(validate::validate(&spec, &possible, bounds).found());
}
