//! The command line end to end: exit codes (0 pass, 1 violation, 2 usage or input error), error
//! messages that name the file, the key and the reason, failure reports that print the invariant,
//! the seed, the derived configuration and the replay command, and machine-readable output.

use std::path::PathBuf;
use std::process::{Command, Output};

fn harness(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_checkpoint-harness"))
        .args(args)
        .output()
        .expect("the binary runs")
}

/// How the binary prints its own command lines when run by the tests: the path that was run,
/// relative to the current directory (the tests run in the checkout, where it is not on PATH
/// under that path).
fn program() -> String {
    let exe = std::path::PathBuf::from(env!("CARGO_BIN_EXE_checkpoint-harness"));
    let cwd = std::env::current_dir().expect("cwd");
    match exe.strip_prefix(&cwd) {
        Ok(relative) => relative.to_string_lossy().into_owned(),
        Err(_) => exe.to_string_lossy().into_owned(),
    }
}

fn text(output: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("ch-cli-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        TempDir(dir)
    }

    fn write(&self, name: &str, contents: &str) -> String {
        let path = self.0.join(name);
        std::fs::write(&path, contents).expect("write");
        path.to_string_lossy().into_owned()
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

const LINEAR: &str = include_str!("../models/linear.toml");

fn assert_input_error(output: &Output, file: &str, key: &str, reason: &str) {
    let (_, stderr) = text(output);
    assert_eq!(output.status.code(), Some(2), "stderr: {stderr}");
    assert!(stderr.contains(file), "names the file {file}: {stderr}");
    assert!(stderr.contains(key), "names the key {key}: {stderr}");
    assert!(
        stderr.contains(reason),
        "gives the reason {reason:?}: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "no panic: {stderr}");
}

#[test]
fn unknown_model_keys_are_rejected_with_file_key_and_reason() {
    let dir = TempDir::new("unknown-key");
    let model = dir.write(
        "typo.toml",
        &LINEAR.replace("max_concurrent = 1", "max_concurent = 1"),
    );
    let output = harness(&["sim", &model, "--seed", "1"]);
    assert_input_error(
        &output,
        "typo.toml",
        "checkpointing.max_concurent",
        "unknown key",
    );
}

#[test]
fn malformed_toml_is_rejected() {
    let dir = TempDir::new("malformed");
    let model = dir.write("broken.toml", "name = \"x\n[[operators]]\n");
    let output = harness(&["check", &model]);
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output).1.contains("broken.toml"));
}

#[test]
fn bad_config_values_are_rejected() {
    let dir = TempDir::new("bad-values");
    for (from, to, key, reason) in [
        (
            "max_concurrent = 1",
            "max_concurrent = 0",
            "checkpointing.max_concurrent",
            "at least 1",
        ),
        (
            "tolerable_failures = 0",
            "tolerable_failures = \"many\"",
            "checkpointing.tolerable_failures",
            "unlimited",
        ),
        (
            "mode = \"aligned\"",
            "mode = \"sideways\"",
            "checkpointing.mode",
            "unknown variant",
        ),
        (
            "timeout = 40",
            "timeout = -3",
            "checkpointing.timeout",
            "invalid value",
        ),
        ("time = 40", "time = 0", "bounds.time", "at least 1"),
        (
            "records = 3",
            "records = 1000",
            "operators[0].records",
            "out of range",
        ),
    ] {
        assert!(LINEAR.contains(from), "fixture has {from}");
        let model = dir.write("bad.toml", &LINEAR.replace(from, to));
        let output = harness(&["sim", &model]);
        assert_input_error(&output, "bad.toml", key, reason);
    }
}

#[test]
fn invalid_topologies_are_rejected() {
    let dir = TempDir::new("topology");
    let cases = [
        (
            LINEAR.replace("to = \"map\"", "to = \"mapp\""),
            "edges[0].to",
            "unknown operator",
        ),
        (
            format!("{LINEAR}\n[[edges]]\nfrom = \"map\"\nto = \"map\"\n"),
            "edges",
            "cycle",
        ),
        (
            LINEAR.replace("kind = \"map\"", "kind = \"map\"\nparallelism = 0"),
            "operators[1].parallelism",
            "zero parallelism",
        ),
        (
            LINEAR.replace("kind = \"map\"", "kind = \"map\"\nparallelism = 2"),
            "edges[0].partitioning",
            "forward edge needs equal parallelism",
        ),
        (
            LINEAR.replace("kind = \"two-phase-commit-sink\"", "kind = \"map\""),
            "operators",
            "no sink",
        ),
        (
            format!("{LINEAR}\n[[operators]]\nname = \"orphan\"\nkind = \"at-least-once-sink\"\n"),
            "operators[3]",
            "no input edge",
        ),
    ];
    for (model, key, reason) in cases {
        let path = dir.write("topology.toml", &model);
        let output = harness(&["check", &path]);
        assert_input_error(&output, "topology.toml", key, reason);
    }
}

#[test]
fn unreachable_operators_are_rejected() {
    let dir = TempDir::new("unreachable");
    let model = format!(
        "{LINEAR}\n[[operators]]\nname = \"island\"\nkind = \"map\"\n\n[[operators]]\nname = \"island-sink\"\nkind = \"at-least-once-sink\"\n\n[[edges]]\nfrom = \"island\"\nto = \"island-sink\"\n"
    );
    let path = dir.write("unreachable.toml", &model);
    let output = harness(&["check", &path]);
    assert_input_error(
        &output,
        "unreachable.toml",
        "operators[3]",
        "unreachable from every source",
    );
}

#[test]
fn a_missing_model_file_is_an_input_error() {
    let output = harness(&["sim", "models/does-not-exist.toml"]);
    assert_input_error(&output, "does-not-exist.toml", "", "cannot read");
}

#[test]
fn unknown_bugs_and_bad_flags_are_usage_errors() {
    let output = harness(&["sim", "models/linear.toml", "--bug", "no-such-bug"]);
    assert_input_error(&output, "command line", "--bug", "unknown bug");
    let output = harness(&["sim", "models/linear.toml", "--seeds", "9..3"]);
    assert_input_error(&output, "command line", "--seeds", "greater");
    let output = harness(&[
        "sim",
        "models/linear.toml",
        "--seeds",
        "0..10",
        "--shard",
        "3/3",
    ]);
    assert_input_error(&output, "command line", "--shard", "0 <= K < N");
    let output = harness(&["sim", "models/linear.toml", "--no-such-flag"]);
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn a_passing_sweep_exits_zero_and_reports_numbers() {
    let output = harness(&["sim", "models/linear.toml", "--seeds", "0..200"]);
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(0), "{stdout}{stderr}");
    assert!(stdout.contains("PASS linear: 200 seeds"), "{stdout}");
    assert!(stdout.contains("steps/s"), "{stdout}");
}

#[test]
fn sim_json_is_one_machine_readable_summary() {
    let output = harness(&[
        "sim",
        "models/linear.toml",
        "--seeds",
        "0..100",
        "--shard",
        "1/4",
        "--format",
        "json",
    ]);
    assert_eq!(output.status.code(), Some(0));
    let summary: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("one JSON object");
    assert_eq!(summary["outcome"], "pass");
    assert_eq!(summary["seeds_run"], 25);
    assert_eq!(summary["shard"], "1/4");
    assert!(summary["steps"].as_u64().expect("steps") > 0);
    assert!(summary["steps_per_second"].as_f64().expect("rate") > 0.0);
    assert!(
        summary["non_vacuity"]["job-finished"]
            .as_u64()
            .expect("count")
            == 25
    );
}

#[test]
fn a_failure_prints_invariant_seed_configuration_and_replay_command() {
    let dir = TempDir::new("failure");
    let out_dir = dir.path("traces");
    let output = harness(&[
        "sim",
        "models/linear.toml",
        "--seeds",
        "0..500",
        "--bug",
        "source-offset-off-by-one",
        "--out-dir",
        &out_dir,
    ]);
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(1), "{stdout}{stderr}");
    assert!(stdout.contains("FAIL linear seed "), "{stdout}");
    assert!(
        stdout.contains("completed-checkpoint-consistent"),
        "{stdout}"
    );
    assert!(stdout.contains("configuration: seed "), "{stdout}");
    assert!(
        stdout.contains("--bug source-offset-off-by-one"),
        "{stdout}"
    );
    let program = program();
    assert!(
        stdout.contains(&format!("render: {program} render ")) && stdout.contains("--format html"),
        "prints the command that renders the saved trace: {stdout}"
    );
    let replay_prefix = format!("replay: {program} replay ");
    let replay_line = stdout
        .lines()
        .find(|l| l.trim_start().starts_with(&replay_prefix))
        .expect("prints the replay command");
    let trace = replay_line.trim_start().trim_start_matches(&replay_prefix);
    assert!(std::path::Path::new(trace).exists(), "the trace was saved");
    // The printed shrink command writes next to the trace, not into the repository's traces/.
    let shrink_line = stdout
        .lines()
        .find(|l| l.trim_start().starts_with("shrink: "))
        .expect("prints the shrink command");
    assert!(
        shrink_line.contains(&format!("-o {}", trace.replace(".json", ".shrunk.json"))),
        "{shrink_line}"
    );
    assert!(!shrink_line.contains("traces/NAME"), "{shrink_line}");
    // Replaying a trace that reproduces its recorded violation succeeds.
    let replay = harness(&["replay", trace]);
    let (replayed, _) = text(&replay);
    assert_eq!(replay.status.code(), Some(0), "{replayed}");
    assert!(replayed.contains("reproduced (exit 0)"), "{replayed}");
    assert!(!replayed.contains("NOT REPRODUCED"), "{replayed}");

    // Shrinking writes a shorter trace that still fails the same way, and refuses to overwrite.
    let shrunk = dir.path("shrunk.json");
    let output = harness(&["shrink", trace, "-o", &shrunk]);
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(0), "{stdout}{stderr}");
    assert!(
        stdout.contains("still violating completed-checkpoint-consistent"),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("render: {program} render ")),
        "{stdout}"
    );
    let rendered = harness(&["render", &shrunk, "--format", "mermaid"]);
    assert_eq!(rendered.status.code(), Some(0));
    assert!(text(&rendered).0.starts_with("sequenceDiagram"));
    let again = harness(&["shrink", trace, "-o", &shrunk]);
    assert_input_error(&again, "shrunk.json", "", "exists");
}

#[test]
fn bad_trace_files_are_input_errors() {
    let dir = TempDir::new("traces");
    let good = std::fs::read_to_string("traces/canary-commit-before-complete.json")
        .expect("regression trace");
    let cases = [
        ("empty.json", String::new(), "", "empty"),
        (
            "truncated.json",
            good[..good.len() / 2].to_string(),
            "",
            "truncated",
        ),
        (
            "garbage.json",
            "not json at all".to_string(),
            "",
            "not valid JSON",
        ),
        (
            "foreign.json",
            "{\"hello\": \"world\"}".to_string(),
            "format",
            "not a checkpoint-harness trace",
        ),
        (
            "newer.json",
            good.replace("\"format_version\": 1", "\"format_version\": 99"),
            "format_version",
            "newer version",
        ),
        (
            "extra.json",
            good.replacen("\"note\"", "\"surprise\": 1,\n  \"note\"", 1),
            "surprise",
            "unknown key",
        ),
    ];
    for (name, contents, key, reason) in cases {
        let path = dir.write(name, &contents);
        for command in ["replay", "shrink"] {
            let args: Vec<&str> = if command == "shrink" {
                vec!["shrink", &path, "-o", "/dev/null/never"]
            } else {
                vec!["replay", &path]
            };
            let output = harness(&args);
            assert_input_error(&output, name, key, reason);
        }
    }
}

#[test]
fn a_trace_that_does_not_fit_its_model_names_the_step() {
    let dir = TempDir::new("misfit");
    let good = std::fs::read_to_string("traces/canary-commit-before-complete.json")
        .expect("regression trace");
    let mut trace: serde_json::Value = serde_json::from_str(&good).expect("json");
    trace["actions"]
        .as_array_mut()
        .expect("actions")
        .insert(0, serde_json::json!({"action": "deliver", "channel": 2}));
    let path = dir.write("misfit.json", &trace.to_string());
    let output = harness(&["replay", &path]);
    assert_input_error(&output, "misfit.json", "actions[0]", "not enabled");
}

#[test]
fn check_prints_the_render_command_for_its_counterexample() {
    let dir = TempDir::new("check-render");
    let out_dir = dir.path("traces");
    let output = harness(&[
        "check",
        "models/short-timeout.toml",
        "--bug",
        "triggering-flag-stuck",
        "--out-dir",
        &out_dir,
    ]);
    let (stdout, _) = text(&output);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains(&format!("render: {} render ", program())),
        "{stdout}"
    );
}

#[test]
fn show_prints_a_model_in_every_format() {
    for (format, start) in [
        ("text", "model linear"),
        ("dot", "digraph"),
        ("mermaid", "flowchart LR"),
    ] {
        let output = harness(&["show", "models/linear.toml", "--format", format]);
        assert_eq!(output.status.code(), Some(0));
        assert!(text(&output).0.starts_with(start), "{format}");
    }
}

/// `conform --keep FILE` writes the conformance schedule of one seed as a trace that replays to
/// its recorded outcome (before the driver starts, so also where real Flink is missing), and
/// refuses a range of more than one seed.
#[test]
fn conform_keep_writes_one_seeds_schedule_as_a_replayable_trace() {
    let dir = TempDir::new("conform-keep");
    let kept = dir.path("kept.json");
    let _ = harness(&[
        "conform",
        "linear",
        "--seeds",
        "3..4",
        "--keep",
        &kept,
        "--note",
        "kept for a test",
    ]);
    let trace: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&kept).expect("the trace is written"))
            .expect("json");
    assert_eq!(trace["seed"], 3);
    assert_eq!(trace["note"], "kept for a test");
    // The schedule ran with Flink's scheduler start delay, and the kept model says so.
    assert!(trace["model"]
        .as_str()
        .is_some_and(|m| m.contains("scheduler_start_delay = \"min-pause\"")));
    assert!(trace["actions"].as_array().is_some_and(|a| !a.is_empty()));
    let replay = harness(&["replay", &kept]);
    assert_eq!(replay.status.code(), Some(0), "{:?}", text(&replay));

    let many = harness(&["conform", "linear", "--seeds", "3..5", "--keep", &kept]);
    assert_input_error(&many, "command line", "--keep", "one seed");
}
