//! `verify`, the gate for a change: with a small budget it passes on the correct code (every
//! model, every canary caught, every regression trace reproduced) and fails, naming the invariant,
//! the seed and commands that run as printed, when a coordinator bug is switched on in every
//! model; its JSON, JUnit and Markdown outputs say the same; its plan is sized up front and its
//! shards split the work exactly; bad flags are usage errors (exit 2). Where a JDK and Flink's jars
//! are available the conformance step runs too and must agree.

use std::path::PathBuf;
use std::process::{Command, Output};

/// One `verify` run at a time: each is sized to its wall-clock budget for a machine it has to
/// itself, so two at once on two cores would spend theirs on each other and skip their last
/// steps (a budget failure, not a finding). Plans (`--plan`) and usage errors run at once.
static VERIFY_RUNS: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn harness(args: &[&str]) -> Output {
    let runs_verify = args.first() == Some(&"verify") && !args.contains(&"--plan");
    let _turn = runs_verify.then(|| VERIFY_RUNS.lock().unwrap_or_else(|e| e.into_inner()));
    Command::new(env!("CARGO_BIN_EXE_checkpoint-harness"))
        .args(args)
        .env_remove("GITHUB_ACTIONS")
        .output()
        .expect("the binary runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("ch-verify-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        TempDir(dir)
    }

    fn path(&self, name: &str) -> String {
        self.0.join(name).to_string_lossy().into_owned()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn embedded_models() -> usize {
    checkpoint_harness::spec::Spec::all_embedded().len()
}

fn regression_traces() -> usize {
    checkpoint_harness::present::verify::trace_files("traces")
        .expect("traces/ lists")
        .len()
}

/// The shard `K/8` whose plan at the small budget has a step starting with `step` (shards are
/// dealt by estimated cost).
fn small_shard_planning(step: &str) -> String {
    (0..8)
        .map(|k| format!("{k}/8"))
        .find(|shard| {
            let plan = harness(&["verify", "--plan", "--shard", shard, "--budget", "small"]);
            assert_eq!(plan.status.code(), Some(0));
            stdout(&plan).contains(&format!("  {step}"))
        })
        .unwrap_or_else(|| panic!("no shard plans {step}"))
}

/// Whether `word` names this binary (`checkpoint-harness`, or the path it was run by).
fn is_program(word: &str) -> bool {
    word.rsplit('/').next() == Some("checkpoint-harness")
}

/// Runs a printed command line (`PROGRAM ARGS...`, no quoting needed in these tests).
fn run_printed(command: &str) -> Output {
    let mut words = command.split_whitespace();
    let program = words.next().unwrap_or_default();
    assert!(is_program(program), "{command}");
    let args: Vec<&str> = words.collect();
    harness(&args)
}

#[test]
fn verify_passes_on_the_correct_code() {
    let dir = TempDir::new("pass");
    let (junit, summary) = (dir.path("verify.xml"), dir.path("summary.md"));
    let output = harness(&[
        "verify",
        "--budget",
        "small",
        "--seed-base",
        "0",
        "--format",
        "json",
        "--out-dir",
        &dir.path("traces"),
        "--junit",
        &junit,
        "--summary",
        &summary,
    ]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}\n{}",
        stdout(&output),
        stderr(&output)
    );
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).expect("one JSON object");
    assert_eq!(json["verdict"], "pass");
    let models = json["models"].as_array().expect("models");
    assert_eq!(models.len(), embedded_models(), "every embedded model");
    for model in models {
        assert_eq!(model["passed"], true, "{model}");
        assert!(model["sim"]["seeds_run"].as_u64().unwrap() > 0, "{model}");
        let verdict = model["check"]["verdict"].as_str().unwrap();
        let kind = model["check"]["plan"]["kind"].as_str().unwrap();
        assert!(verdict == "complete" || verdict == "partial", "{model}");
        // A bounded plan can never claim an exhaustive verdict.
        if kind == "bounded" {
            assert_eq!(verdict, "partial", "{model}");
        }
    }
    let canaries = json["canaries"].as_array().expect("canaries");
    assert_eq!(canaries.len(), checkpoint_harness::bugs::Bug::ALL.len());
    for canary in canaries {
        assert_eq!(canary["caught"], true, "{canary}");
        assert_eq!(canary["as_expected"], true, "{canary}");
    }
    let traces = json["traces"].as_array().expect("traces");
    assert_eq!(traces.len(), regression_traces());
    assert!(traces.iter().all(|t| t["reproduced"] == true));
    // Every bug trace was also replayed without its bug, and violated nothing.
    for trace in traces {
        if trace["path"].as_str().unwrap().starts_with("traces/bugs/") {
            assert!(trace["without_bugs"].is_object(), "{trace}");
            assert!(trace["without_bugs"]["violation"].is_null(), "{trace}");
        }
    }
    // Real Flink agrees where a JDK and Flink's jars are here; elsewhere the step says so.
    let conformance = json["conformance"]["status"]
        .as_str()
        .expect("a conformance status");
    assert!(
        conformance == "passed" || conformance == "not-available",
        "{}",
        json["conformance"]
    );
    if conformance == "passed" {
        let models = json["conformance"]["models"].as_array().expect("models");
        // A loaded machine may spend the step's share of the budget before the last model.
        if json["conformance"]["cut_short"] == false {
            assert_eq!(models.len(), embedded_models());
            assert_eq!(json["conformance"]["traces_compared"], regression_traces());
        }
        assert!(models.iter().all(|m| m["diverged"] == false), "{models:?}");
        // The task side runs first: every barrier handler compared, none diverged.
        let handlers = json["conformance"]["handlers"]
            .as_array()
            .expect("handlers");
        assert_eq!(handlers.len(), 3, "{handlers:?}");
        assert!(
            handlers.iter().all(|h| h["diverged"] == false),
            "{handlers:?}"
        );
        if json["conformance"]["cut_short"] == false {
            assert!(
                handlers
                    .iter()
                    .all(|h| h["compared"].as_u64() >= Some(1000)),
                "{handlers:?}"
            );
        }
    }
    assert!(json["failures"].as_array().unwrap().is_empty());
    // The rotating block starts at the given base.
    assert_eq!(json["rotating_seeds"]["start"], 0);

    let junit = std::fs::read_to_string(&junit).expect("JUnit written");
    assert!(junit.starts_with("<?xml"));
    if conformance == "passed" {
        assert!(
            junit.contains("name=\"barrier handler alternating\""),
            "{junit}"
        );
    }
    assert!(junit.contains("failures=\"0\""), "{junit}");
    assert!(junit.contains("<testsuite name=\"model keyed-join-2pc\""));
    assert!(junit.contains("name=\"property pending-within-max-concurrent\""));
    assert!(junit.contains("<testsuite name=\"canaries\""));
    assert!(junit.contains("name=\"complete-with-missing-ack\""));
    let summary = std::fs::read_to_string(&summary).expect("summary written");
    assert!(
        summary.starts_with("## checkpoint-harness verify: PASS"),
        "{summary}"
    );
    assert!(summary.contains("| `keyed-join-2pc` | pass |"), "{summary}");
}

/// The off-by-one a new user tried (`pending >= max_concurrent` changed to `>`, catalogued as
/// `max-concurrent-off-by-one`): the default model alone could not see it, `verify` must.
#[test]
fn verify_fails_on_the_max_concurrent_off_by_one() {
    let dir = TempDir::new("off-by-one");
    let out = dir.path("traces");
    let output = harness(&[
        "verify",
        "--budget",
        "small",
        "--seed-base",
        "0",
        "--bug",
        "max-concurrent-off-by-one",
        "--out-dir",
        &out,
    ]);
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(1), "{text}\n{}", stderr(&output));
    assert!(text.contains("pending-within-max-concurrent"), "{text}");
    assert!(
        text.lines()
            .last()
            .is_some_and(|l| l.starts_with("verdict: FAIL (")),
        "{text}"
    );
}

/// `--fail-fast` (what the mutation gate runs) stops at the first failing step with the same FAIL,
/// and says which steps it left out and why (not "the budget was spent").
#[test]
fn fail_fast_stops_at_the_first_failing_step() {
    let dir = TempDir::new("fail-fast");
    let out = dir.path("traces");
    let output = harness(&[
        "verify",
        "--budget",
        "small",
        "--seed-base",
        "0",
        "--fail-fast",
        "--bug",
        "max-concurrent-off-by-one",
        "--format",
        "json",
        "--out-dir",
        &out,
    ]);
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(1), "{text}\n{}", stderr(&output));
    let json: serde_json::Value = serde_json::from_str(&text).expect("verify --format json");
    assert_eq!(json["verdict"], "fail", "{text}");
    let failed_models = json["models"]
        .as_array()
        .expect("models")
        .iter()
        .filter(|m| m["passed"] == false)
        .count();
    let traces_failed = json["traces"]
        .as_array()
        .is_some_and(|traces| traces.iter().any(|t| t["reproduced"] == false));
    let conformance_failed =
        json["conformance"].is_object() && json["conformance"]["passed"] == false;
    assert_eq!(
        failed_models + traces_failed as usize + conformance_failed as usize,
        1,
        "it stops after the first failing step: {text}"
    );
    let not_run = json["not_run"].as_array().expect("not_run");
    assert!(!not_run.is_empty(), "{text}");
    assert!(
        not_run.iter().all(|s| s["why"] == "fail-fast"),
        "every step left out was left out by --fail-fast: {text}"
    );
    // The exact replays run first (the cheapest judges of a change), so a change they catch
    // stops the gate before the models' sweeps.
    assert!(
        traces_failed,
        "the regression traces catch this bug: {text}"
    );
    assert!(
        not_run.iter().any(|s| s["step"]
            .as_str()
            .is_some_and(|step| step.starts_with("model "))),
        "{text}"
    );
    // Nothing that budget-skipping would report as a failure of its own.
    let failures = json["failures"].as_array().expect("failures");
    assert!(
        failures.iter().all(|f| f["invariant"] != "not run"),
        "{text}"
    );
}

#[test]
fn verify_fails_when_a_coordinator_bug_is_switched_on_in_every_model() {
    // `complete-with-missing-ack` stands in for a broken change to the coordinator (a checkpoint
    // completes when all but one task acknowledged it).
    let dir = TempDir::new("fail");
    let out = dir.path("traces");
    let junit = dir.path("verify.xml");
    let output = harness(&[
        "verify",
        "--budget",
        "small",
        "--seed-base",
        "0",
        "--bug",
        "complete-with-missing-ack",
        "--out-dir",
        &out,
        "--junit",
        &junit,
        "--annotations",
        "github",
    ]);
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(1), "{text}\n{}", stderr(&output));
    // One line per model, each failing, and the verdict.
    for spec in checkpoint_harness::spec::Spec::all_embedded() {
        assert!(
            text.lines()
                .any(|l| l.starts_with(&format!("  FAIL {} ", spec.name))),
            "no FAIL line for {}:\n{text}",
            spec.name
        );
    }
    let verdict = text.lines().last().expect("a verdict");
    assert!(verdict.starts_with("verdict: FAIL ("), "{verdict}");
    // The canaries still make sense: each is caught, most first by the injected bug's
    // invariant, and the summary says so.
    assert!(
        text.contains("canaries (every catalogued bug must still be caught): 24 of 24 caught")
            || text.contains(&format!(
                "{n} of {n} caught",
                n = checkpoint_harness::bugs::Bug::ALL.len()
            )),
        "{text}"
    );
    assert!(text.contains("the injected bug is caught before the canary's own"));
    // Each failure names the invariant and the seed, saves its trace, and prints commands.
    assert!(
        text.contains("  linear sim seed ") && text.contains(": completed-has-every-ack"),
        "{text}"
    );
    let rerun = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("rerun:"))
        .map(str::trim)
        .expect("a rerun command");
    assert!(rerun.contains("--bug complete-with-missing-ack"), "{rerun}");
    let rerun_output = run_printed(rerun);
    assert_eq!(
        rerun_output.status.code(),
        Some(1),
        "the rerun command fails again: {rerun}"
    );
    assert!(
        stdout(&rerun_output).contains("completed-has-every-ack"),
        "{}",
        stdout(&rerun_output)
    );
    let replay = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("replay:"))
        .map(str::trim)
        .expect("a replay command");
    // The replay shows the violation and reproduces the trace's recorded outcome.
    let replayed = stdout(&run_printed(replay));
    assert!(
        replayed.contains("completed-has-every-ack violated") && replayed.contains("reproduced"),
        "{replay}: {replayed}"
    );
    // GitHub annotations, one per failure.
    assert!(
        text.lines()
            .any(|l| l.starts_with("::error title=verify linear sim::completed-has-every-ack")),
        "{text}"
    );
    let junit = std::fs::read_to_string(&junit).expect("JUnit written");
    assert!(
        junit.contains("<failure message=\"completed-has-every-ack"),
        "{junit}"
    );
    let suites = junit.lines().nth(1).expect("<testsuites ...>");
    assert!(
        suites.starts_with("<testsuites ") && !suites.contains(" failures=\"0\""),
        "{suites}"
    );
}

#[test]
fn a_failure_in_json_carries_every_command() {
    // One cheap shard: only the model `linear`'s step fails fast; the JSON of each failure has
    // the replay, render, rerun and shrink commands.
    let dir = TempDir::new("json");
    // The shard that holds the model `linear` (shards are dealt by estimated cost).
    let shard = small_shard_planning("model linear:");
    let output = harness(&[
        "verify",
        "--budget",
        "small",
        "--shard",
        &shard,
        "--seed-base",
        "0",
        "--bug",
        "commit-before-complete",
        "--format",
        "json",
        "--out-dir",
        &dir.path("traces"),
    ]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(json["verdict"], "fail");
    let failures = json["failures"].as_array().expect("failures");
    let with_trace: Vec<&serde_json::Value> =
        failures.iter().filter(|f| f["trace"].is_string()).collect();
    assert!(!with_trace.is_empty(), "{json}");
    for failure in with_trace {
        for key in ["replay", "render", "rerun", "shrink"] {
            let command = failure[key].as_str().unwrap_or_default();
            let mut words = command.split_whitespace();
            assert!(words.next().is_some_and(is_program), "{key} in {failure}");
            // A model's failure reruns its sweep or check; a bug trace re-created without its
            // bug reruns as the replay of the saved bug-free path.
            let subcommand = if key == "rerun" { "sim" } else { key };
            let next = words.next();
            assert!(
                next == Some(subcommand)
                    || (key == "rerun" && command.contains(" check "))
                    || (key == "rerun" && next == Some("replay")),
                "{key} in {failure}"
            );
        }
        assert!(failure["invariant"].is_string() && failure["detail"].is_string());
        let path = failure["trace"].as_str().unwrap();
        assert!(std::path::Path::new(path).is_file(), "{path} saved");
    }
}

#[test]
fn the_plan_is_sized_up_front_and_shards_split_it_exactly() {
    let whole = stdout(&harness(&["verify", "--plan", "--seed-base", "7"]));
    assert_eq!(
        whole,
        stdout(&harness(&["verify", "--plan", "--seed-base", "7"])),
        "deterministic"
    );
    assert!(whole.contains("rotating 7.."), "{whole}");
    let steps = |text: &str| -> Vec<String> {
        text.lines()
            .filter(|l| l.starts_with("  "))
            .map(|l| l.split(';').next().unwrap_or("").trim().to_string())
            .collect()
    };
    let mut all = steps(&whole);
    assert_eq!(
        all.len(),
        embedded_models() + checkpoint_harness::bugs::Bug::ALL.len() + 2,
        "models, canaries, traces, conformance"
    );
    // The default budget checks the default model exhaustively; the small one cannot.
    assert!(
        whole.contains("model keyed-join-2pc: sim, check exhaustive"),
        "{whole}"
    );
    let small = stdout(&harness(&["verify", "--plan", "--budget", "small"]));
    assert!(
        small.contains("model keyed-join-2pc: sim, check bounded"),
        "{small}"
    );
    let mut sharded = Vec::new();
    for k in 0..3 {
        let shard = format!("{k}/3");
        let text = stdout(&harness(&[
            "verify",
            "--plan",
            "--seed-base",
            "7",
            "--shard",
            &shard,
        ]));
        assert!(text.contains(&format!("shard {shard}")), "{text}");
        sharded.extend(steps(&text));
    }
    all.sort();
    sharded.sort();
    assert_eq!(all, sharded, "every step runs on exactly one shard");
}

#[test]
fn bad_flags_are_usage_errors() {
    for (args, names) in [
        (vec!["verify", "--budget", "fast"], "--budget"),
        (vec!["verify", "--budget", "2s"], "--budget"),
        (vec!["verify", "--shard", "3/3"], "--shard"),
        (vec!["verify", "--bug", "no-such-bug"], "--bug"),
        (vec!["verify", "--threads", "0"], "--threads"),
        (
            vec!["verify", "--traces-dir", "no/such/dir"],
            "--traces-dir",
        ),
        (vec!["verify", "--format", "xml"], "--format"),
    ] {
        let output = harness(&args);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{args:?}: {}",
            stderr(&output)
        );
        assert!(
            stderr(&output).contains(names),
            "{args:?}: {}",
            stderr(&output)
        );
        assert!(!stderr(&output).contains("panicked"));
    }
}

/// The test cargo-mutants runs for every mutant (`scripts/mutants.sh`, `.cargo/mutants.toml`):
/// `verify` must pass on the unmutated code, and a mutant it fails on is killed. Ignored by a
/// plain `cargo test` (`verify_passes_on_the_correct_code` covers the same run); the budget comes
/// from `CHECKPOINT_HARNESS_MUTANTS_BUDGET` (default `small`), the seeds are fixed so that a score
/// can be reproduced.
///
/// A run whose only failures are steps the budget left out (a loaded machine, not the mutant)
/// passes here, so the mutant counts as not killed: a slow machine can lower the score, never
/// raise it.
#[test]
#[ignore = "run by scripts/mutants.sh for each mutant"]
fn mutation_gate() {
    let budget =
        std::env::var("CHECKPOINT_HARNESS_MUTANTS_BUDGET").unwrap_or_else(|_| "small".into());
    let dir = TempDir::new("mutant");
    let output = harness(&[
        "verify",
        "--budget",
        &budget,
        "--seed-base",
        "0",
        "--fail-fast",
        "--format",
        "json",
        "--out-dir",
        &dir.path("traces"),
    ]);
    let text = stdout(&output);
    if output.status.code() == Some(1) {
        let json: serde_json::Value = serde_json::from_str(&text).expect("verify --format json");
        let failures = json["failures"].as_array().expect("failures");
        if !failures.is_empty() && failures.iter().all(|f| f["invariant"] == "not run") {
            eprintln!(
                "inconclusive: the budget was spent before {} steps ran (a loaded machine); \
                 counted as not killed",
                failures.len()
            );
            return;
        }
    }
    assert_eq!(
        output.status.code(),
        Some(0),
        "verify failed:\n{text}\n{}",
        stderr(&output)
    );
}

/// On the correct code every trace recorded with a bug (each catalogued bug's counterexample
/// under `traces/bugs/`) violates nothing when replayed without it, for as long as the code
/// follows the trace's path.
#[test]
fn every_bug_trace_holds_every_invariant_without_its_bug() {
    use checkpoint_harness::present::verify;
    let paths = verify::trace_files("traces").expect("traces/ lists");
    let mut replayed = 0;
    for path in &paths {
        let result = verify::replay_trace(path, checkpoint_harness::bugs::BugSet::default());
        assert!(result.reproduced(), "{path}: {result:?}");
        if path.starts_with("traces/bugs/") {
            let without = result.without_bugs.as_ref().expect("a bug trace has bugs");
            assert!(
                !without.removed.is_empty() && without.kept.is_empty(),
                "{path}"
            );
            assert!(without.applied <= without.total, "{path}");
            assert!(
                without.violation.is_none() && without.trace.is_none(),
                "{path}"
            );
            replayed += 1;
        }
    }
    assert_eq!(
        replayed,
        checkpoint_harness::bugs::Bug::ALL.len(),
        "one trace per bug"
    );
}

/// The replay without the trace's bugs can fail: with the trace's own bug injected into the whole
/// run (injected bugs stay on), it stands for code that re-creates the bug outside the bug's
/// code. The replay with the bug still reproduces; the one without it violates the bug's
/// invariant, so the trace fails, and the saved actions replay to that violation.
#[test]
fn a_bug_trace_fails_when_the_code_without_its_bug_re_creates_it() {
    use checkpoint_harness::bugs::{Bug, BugSet};
    use checkpoint_harness::present::verify;
    let path = "traces/bugs/commit-on-abort.json";
    let result = verify::replay_trace(path, BugSet::of(&[Bug::CommitOnAbort]));
    assert!(result.outcome_reproduced(), "{result:?}");
    assert!(!result.reproduced(), "{result:?}");
    let without = result
        .without_bugs
        .as_ref()
        .expect("replayed without its bugs");
    assert!(without.removed.is_empty(), "the injected bug stays on");
    assert!(without.kept.contains(Bug::CommitOnAbort));
    let violation = result.recreated().expect("the bug re-created");
    assert_eq!(violation.invariant, "no-commit-before-complete");
    assert!(without.applied >= 1 && without.applied <= without.total);
    let saved = without
        .trace
        .as_ref()
        .expect("the actions up to the violation");
    assert_eq!(saved.actions.len(), without.applied);
    let dir = TempDir::new("recreated");
    let file = dir.path("recreated.json");
    saved.save(&file).expect("saved");
    let again = verify::replay_trace(&file, BugSet::default());
    assert!(again.outcome_reproduced(), "{again:?}");

    // `verify` reports it as such, with commands that run as printed.
    let shard = small_shard_planning("regression traces:");
    let output = harness(&[
        "verify",
        "--budget",
        "small",
        "--shard",
        &shard,
        "--bug",
        "commit-on-abort",
        "--out-dir",
        &dir.path("traces"),
    ]);
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(1), "{text}\n{}", stderr(&output));
    let heading = format!(
        "  trace {path}: bug re-created without its bug: no-commit-before-complete at action {}",
        without.applied
    );
    let at = text.find(&heading).unwrap_or_else(|| panic!("{text}"));
    let replay = text[at..]
        .lines()
        .find_map(|l| l.trim().strip_prefix("replay:"))
        .map(str::trim)
        .expect("a replay command");
    assert!(
        replay.contains("verify-without-bugs-commit-on-abort.json"),
        "{replay}"
    );
    let replayed = run_printed(replay);
    assert_eq!(replayed.status.code(), Some(0), "{replay}");
    assert!(
        stdout(&replayed).contains("no-commit-before-complete violated; reproduced"),
        "{replay}: {}",
        stdout(&replayed)
    );
}
