//! Hostile input, bounded resources and findings that are never lost (issue 14).
//!
//! The corpus under `tests/hostile/` is data: one bad model file (`models/*.toml`), bad trace
//! file (`traces/*.json`) or bad command line (`cli/*.args`) each, headed by `#!` lines that say
//! what it checks, the command line to run (`{}` is the case's body written to a file of the
//! same name, `{dir}` a fresh directory), the expected exit code, the key the message must name,
//! a reason it must give, and optionally text it must not contain (`not:`, e.g. a Rust type
//! name), text standard output must contain (`stdout:`) and a bound on the error's length
//! (`max-stderr:`). [`every_corpus_case_gets_its_exit_code_key_and_reason`] runs them all.
//!
//! The tests after it cover what a data file cannot: devices and FIFOs, size caps, closed
//! pipes, ports in use, traces that cannot be saved, temporary files of killed writes, shards
//! and seed ranges, and the printed commands.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_checkpoint-harness")
}

fn run(args: &[String], cwd: Option<&Path>) -> Output {
    let mut command = Command::new(binary());
    command.args(args).stdin(Stdio::null());
    if let Some(cwd) = cwd {
        command.current_dir(cwd);
    }
    command.output().expect("the binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A fresh directory, removed at the end.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("ch-hostile-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        TempDir(dir)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// One corpus case: its header and its body.
struct Case {
    file: PathBuf,
    args: Vec<String>,
    exit: i32,
    key: String,
    reason: String,
    not: Vec<String>,
    stdout: Vec<String>,
    max_stderr: usize,
    body: Vec<u8>,
}

fn parse_case(file: &Path) -> Case {
    let bytes = std::fs::read(file).expect("readable case");
    let mut case = Case {
        file: file.to_path_buf(),
        args: Vec::new(),
        exit: -1,
        key: String::new(),
        reason: String::new(),
        not: vec!["panicked".into(), "RUST_BACKTRACE".into()],
        stdout: Vec::new(),
        max_stderr: 4_000,
        body: Vec::new(),
    };
    let mut rest: &[u8] = &bytes;
    while rest.starts_with(b"#! ") {
        let end = rest.iter().position(|b| *b == b'\n').unwrap_or(rest.len());
        let line = std::str::from_utf8(&rest[3..end]).expect("UTF-8 header");
        let (name, value) = line
            .split_once(": ")
            .unwrap_or((line.trim_end_matches(':'), ""));
        match name {
            "what" => {}
            "args" => case.args = serde_json::from_str(value).expect("args are a JSON list"),
            "exit" => case.exit = value.parse().expect("exit code"),
            "key" => case.key = value.to_string(),
            "reason" => case.reason = value.to_string(),
            "not" => case.not.push(value.to_string()),
            "stdout" => case.stdout.push(value.to_string()),
            "max-stderr" => case.max_stderr = value.parse().expect("a length"),
            other => panic!("{}: unknown header {other:?}", file.display()),
        }
        rest = &rest[(end + 1).min(rest.len())..];
    }
    assert!(!case.args.is_empty(), "{}: no args", file.display());
    assert!(case.exit >= 0, "{}: no exit", file.display());
    case.body = rest.to_vec();
    case
}

fn corpus() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for kind in ["models", "traces", "cli"] {
        let dir = Path::new("tests/hostile").join(kind);
        for entry in std::fs::read_dir(&dir).expect("corpus directory") {
            files.push(entry.expect("entry").path());
        }
    }
    files.sort();
    files
}

fn run_case(case: &Case) -> Result<(), String> {
    let name = case.file.file_name().expect("name").to_string_lossy();
    let dir = TempDir::new(&format!("case-{name}"));
    let input = dir.path(&name);
    std::fs::write(&input, &case.body).expect("write body");
    let args: Vec<String> = case
        .args
        .iter()
        .map(|a| {
            a.replace("{dir}", &dir.0.to_string_lossy())
                .replace("{}", &input.to_string_lossy())
        })
        .collect();
    let output = run(&args, None);
    let (stdout, stderr) = (text(&output.stdout), text(&output.stderr));
    let mut problems = Vec::new();
    if output.status.code() != Some(case.exit) {
        problems.push(format!("exit {:?}, expected {}", output.status, case.exit));
    }
    if case.exit == 2 {
        let named = if case.key.is_empty() {
            true
        } else if case.key.starts_with("--") {
            stderr.contains(&format!("key `{}`", case.key))
        } else {
            stderr.contains(&format!("key `{}", case.key))
        };
        if !named {
            problems.push(format!("does not name the key `{}`", case.key));
        }
        let about_the_file =
            case.args.iter().any(|a| a.contains("{}")) && !case.key.starts_with("--");
        if about_the_file && !stderr.contains(&*name) {
            problems.push(format!("does not name the file {name}"));
        }
    }
    let reported = if case.exit == 0 { &stdout } else { &stderr };
    if !reported.contains(&case.reason) && !stdout.contains(&case.reason) {
        problems.push(format!("does not give the reason {:?}", case.reason));
    }
    for word in &case.not {
        if stderr.contains(word.as_str()) {
            problems.push(format!("contains {word:?}"));
        }
    }
    for word in &case.stdout {
        if !stdout.contains(word.as_str()) {
            problems.push(format!("standard output lacks {word:?}"));
        }
    }
    if stderr.len() > case.max_stderr {
        problems.push(format!(
            "the error is {} bytes (at most {})",
            stderr.len(),
            case.max_stderr
        ));
    }
    // Nothing may be written outside the case's directory (the name-escape cases).
    if dir.0.parent().is_some_and(|p| p.join("escaped").exists()) {
        problems.push("wrote outside --out-dir".into());
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{}: {}\n  args: {args:?}\n  stdout: {}\n  stderr: {}",
            case.file.display(),
            problems.join("; "),
            stdout.chars().take(600).collect::<String>(),
            stderr.chars().take(600).collect::<String>()
        ))
    }
}

#[test]
fn every_corpus_case_gets_its_exit_code_key_and_reason() {
    let files = corpus();
    assert!(
        files.len() >= 100,
        "the corpus shrank: {} cases",
        files.len()
    );
    let cases: Vec<Case> = files.iter().map(|f| parse_case(f)).collect();
    for kind in ["models", "traces", "cli"] {
        let count = cases
            .iter()
            .filter(|c| c.file.to_string_lossy().contains(&format!("/{kind}/")))
            .count();
        assert!(count >= 25, "few {kind} cases: {count}");
    }
    // Two at a time: the cases are independent processes.
    let failures: Vec<String> = std::thread::scope(|scope| {
        let halves: Vec<_> = cases
            .chunks(cases.len().div_ceil(2))
            .map(|chunk| {
                scope.spawn(move || {
                    chunk
                        .iter()
                        .filter_map(|c| run_case(c).err())
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        halves
            .into_iter()
            .flat_map(|h| h.join().expect("no panic"))
            .collect()
    });
    assert!(
        failures.is_empty(),
        "{} of {} hostile cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| s.to_string()).collect()
}

#[test]
fn a_fifo_is_refused_not_read_forever() {
    let dir = TempDir::new("fifo");
    let fifo = dir.path("model.toml");
    let made = Command::new("mkfifo").arg(&fifo).status();
    if !made.is_ok_and(|s| s.success()) {
        eprintln!("a_fifo_is_refused_not_read_forever: skipped: mkfifo is not available");
        return;
    }
    for command in [
        vec!["show", fifo.to_str().expect("utf-8")],
        vec!["replay", fifo.to_str().expect("utf-8")],
    ] {
        let output = run(&strings(&command), None);
        assert_eq!(output.status.code(), Some(2));
        assert!(text(&output.stderr).contains("not a regular file"));
    }
}

#[test]
fn oversized_input_files_are_refused_with_their_cap() {
    let dir = TempDir::new("oversized");
    let model = dir.path("big.toml");
    std::fs::write(&model, format!("# {}\n", "x".repeat(2 << 20))).expect("write");
    let output = run(&strings(&["show", model.to_str().expect("utf-8")]), None);
    assert_eq!(output.status.code(), Some(2));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("big.toml") && stderr.contains("1048576 bytes"),
        "{stderr}"
    );
}

#[test]
fn output_into_a_closed_pipe_ends_quietly() {
    for args in [
        strings(&["bugs"]),
        strings(&["show", "linear", "--format", "dot"]),
        strings(&["sim", "linear", "--seeds", "0..20"]),
    ] {
        let (reader, writer) = std::io::pipe().expect("pipe");
        drop(reader);
        let output = Command::new(binary())
            .args(&args)
            .stdout(writer)
            .stderr(Stdio::piped())
            .output()
            .expect("runs");
        let stderr = text(&output.stderr);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        #[cfg(unix)]
        {
            use std::os::unix::process::ExitStatusExt;
            assert_eq!(
                output.status.signal(),
                Some(13),
                "{args:?}: SIGPIPE, {stderr}"
            );
        }
    }
}

#[test]
fn explore_on_a_port_in_use_is_an_input_error_naming_the_port() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port().to_string();
    let output = run(&strings(&["explore", "linear", "--port", &port]), None);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains(&format!("127.0.0.1:{port}")), "{stderr}");
    assert!(
        !stderr.contains("serving"),
        "fails before serving: {stderr}"
    );
}

/// Starts `explore linear` on a free port: the server, its stderr after the serving line, that
/// line and the port it names.
fn spawn_explorer() -> (
    std::process::Child,
    std::io::BufReader<std::process::ChildStderr>,
    String,
    u16,
) {
    use std::io::BufRead;
    let mut child = Command::new(binary())
        .args(["explore", "linear", "--port", "0"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawns");
    let mut stderr = std::io::BufReader::new(child.stderr.take().expect("stderr"));
    let mut line = String::new();
    stderr.read_line(&mut line).expect("the serving line");
    let port: u16 = line
        .split("http://127.0.0.1:")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("prints the port: {line}"));
    (child, stderr, line, port)
}

/// GETs `path` from the Explorer on `port`, retrying while it starts.
fn explorer_get(port: u16, path: &str) -> String {
    use std::io::{Read, Write};
    for _ in 0..50 {
        if let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            let request = format!("GET {path} HTTP/1.0\r\nHost: x\r\n\r\n");
            let mut answer = String::new();
            if stream.write_all(request.as_bytes()).is_ok()
                && stream.read_to_string(&mut answer).is_ok()
                && answer.contains("200")
            {
                return answer;
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("the Explorer did not answer {path}");
}

#[test]
fn the_explorer_names_the_model_and_every_property() {
    let (mut child, _stderr, line, port) = spawn_explorer();
    let status = explorer_get(port, "/.status");
    let states = explorer_get(port, "/.states");
    child.kill().expect("kill the server");
    let _ = child.wait();
    assert!(line.contains("for linear"), "{line}");
    for name in [
        "completed-checkpoint-consistent",
        "end-to-end-exactly-once",
        "request-order-respected",
        "quiescent-job-finished",
        "job-finished",
    ] {
        assert!(
            status.contains(&format!("\"{name}\"")),
            "{name} in {status}"
        );
    }
    assert!(!status.contains("all-invariants"), "{status}");
    assert!(states.contains("model: linear"), "{states}");
}

#[test]
fn explore_on_port_zero_prints_the_real_port_and_survives_dropped_connections() {
    use std::io::{Read, Write};
    let (mut child, mut stderr, line, port) = spawn_explorer();
    assert_ne!(port, 0, "{line}");
    // Connections dropped before the answer is read, then a real request.
    for _ in 0..20 {
        if let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            let _ = stream.write_all(b"GET /app.js HTTP/1.1\r\nHost: x\r\n\r\n");
        }
    }
    let mut answer = String::new();
    for _ in 0..50 {
        std::thread::sleep(std::time::Duration::from_millis(100));
        if let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            let _ = stream.write_all(b"GET /.status HTTP/1.0\r\nHost: x\r\n\r\n");
            answer.clear();
            let _ = stream.read_to_string(&mut answer);
            if answer.contains("200") {
                break;
            }
        }
    }
    child.kill().expect("kill the server");
    let _ = child.wait();
    let mut rest = String::new();
    let _ = stderr.read_to_string(&mut rest);
    assert!(answer.contains("200"), "still serving: {answer}");
    assert!(!rest.contains("panicked"), "no panic output: {rest}");
}

#[test]
fn a_finding_whose_trace_cannot_be_saved_is_printed_and_exits_1() {
    let dir = TempDir::new("unsaved");
    // A file where the output directory should be: the directory cannot be created.
    let blocker = dir.path("blocker");
    std::fs::write(&blocker, "not a directory").expect("write");
    let out_dir = blocker.join("traces");
    let output = run(
        &strings(&[
            "sim",
            "linear",
            "--seeds",
            "0..200",
            "--bug",
            "source-offset-off-by-one",
            "--out-dir",
            out_dir.to_str().expect("utf-8"),
        ]),
        None,
    );
    let (stdout, stderr) = (text(&output.stdout), text(&output.stderr));
    assert_eq!(
        output.status.code(),
        Some(1),
        "a violation, not an input error: {stderr}"
    );
    assert!(stdout.contains("FAIL linear seed"), "{stdout}");
    assert!(
        stdout.contains("completed-checkpoint-consistent"),
        "{stdout}"
    );
    assert!(stdout.contains("configuration: seed"), "{stdout}");
    assert!(
        stdout.contains("rerun:") && stdout.contains("--seed"),
        "{stdout}"
    );
    assert!(stdout.contains("trace NOT saved"), "{stdout}");
    // The whole trace is on standard error, and it is a trace that replays.
    let json = &stderr[stderr.find('{').expect("the trace")..];
    let file = dir.path("recovered.json");
    std::fs::write(&file, json).expect("write");
    let replay = run(
        &strings(&["replay", file.to_str().expect("utf-8"), "--quiet"]),
        None,
    );
    assert_eq!(replay.status.code(), Some(0), "{}", text(&replay.stdout));

    // The same for check's counterexample.
    let output = run(
        &strings(&[
            "check",
            "linear",
            "--bug",
            "commit-before-complete",
            "--out-dir",
            out_dir.to_str().expect("utf-8"),
        ]),
        None,
    );
    let (stdout, stderr) = (text(&output.stdout), text(&output.stderr));
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stdout.contains("trace NOT saved"), "{stdout}");
    assert!(
        stderr.contains("\"format\": \"checkpoint-harness-trace\""),
        "{stderr}"
    );
}

#[test]
fn temporary_files_of_killed_writes_are_removed_by_the_next_write() {
    let dir = TempDir::new("stale");
    // A temporary file of a write whose process is gone (pid 0 runs nothing).
    let stale = dir.path(".sim-linear-random-seed-2.json.999999999.checkpoint-harness.tmp");
    std::fs::write(&stale, "half a trace").expect("write");
    let output = run(
        &strings(&[
            "sim",
            "linear",
            "--seeds",
            "0..200",
            "--bug",
            "source-offset-off-by-one",
            "--out-dir",
            dir.0.to_str().expect("utf-8"),
        ]),
        None,
    );
    assert_eq!(output.status.code(), Some(1));
    assert!(!stale.exists(), "the stale temporary file was removed");
    let left: Vec<String> = std::fs::read_dir(&dir.0)
        .expect("dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn a_model_name_never_writes_outside_the_output_directory() {
    // Even a name that passed validation is made a plain file-name part: check with the
    // reproducer's name rejected, and a legal name's trace landing inside --out-dir.
    let dir = TempDir::new("inside");
    let out = dir.path("out");
    let output = run(
        &strings(&[
            "sim",
            "linear",
            "--seeds",
            "0..200",
            "--bug",
            "source-offset-off-by-one",
            "--out-dir",
            out.to_str().expect("utf-8"),
        ]),
        None,
    );
    assert_eq!(output.status.code(), Some(1));
    let written: Vec<_> = std::fs::read_dir(&out).expect("out").collect();
    assert_eq!(written.len(), 1, "exactly the trace, inside --out-dir");
}

#[test]
fn embedded_models_are_named_anywhere_and_traces_avoid_a_foreign_target() {
    let dir = TempDir::new("elsewhere");
    let output = run(
        &strings(&[
            "sim",
            "linear",
            "--seeds",
            "0..200",
            "--bug",
            "source-offset-off-by-one",
        ]),
        Some(&dir.0),
    );
    let stdout = text(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(1),
        "{stdout}{}",
        text(&output.stderr)
    );
    assert!(
        !dir.path("target").exists(),
        "no target/ outside a checkout"
    );
    assert!(dir.path("checkpoint-harness-traces").is_dir(), "{stdout}");
    // Every printed command runs as printed from that directory (the binary by its path).
    for label in ["replay:", "render:", "shrink:"] {
        let line = stdout
            .lines()
            .find(|l| l.trim_start().starts_with(label))
            .unwrap_or_else(|| panic!("prints {label}: {stdout}"));
        let words: Vec<String> = line
            .trim_start()
            .trim_start_matches(label)
            .split_whitespace()
            .map(str::to_string)
            .collect();
        assert_eq!(words[0], binary(), "the path that was run: {line}");
        let ran = Command::new(&words[0])
            .args(&words[1..])
            .current_dir(&dir.0)
            .output()
            .expect("runs");
        assert_eq!(ran.status.code(), Some(0), "{line}: {}", text(&ran.stderr));
    }
    // The shrunk trace's note describes its own violation.
    let shrunk = std::fs::read_dir(dir.path("checkpoint-harness-traces"))
        .expect("traces")
        .map(|e| e.expect("entry").path())
        .find(|p| p.to_string_lossy().ends_with(".shrunk.json"))
        .expect("the shrunk trace");
    let trace: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&shrunk).expect("read")).expect("json");
    let replayed = run(
        &strings(&["replay", shrunk.to_str().expect("utf-8"), "--quiet"]),
        None,
    );
    let out = text(&replayed.stdout);
    let note = trace["note"].as_str().expect("note");
    assert!(
        !note.is_empty() && out.contains(note),
        "note {note:?} vs replay {out}"
    );
}

#[test]
fn a_pass_never_reports_zero_seeds() {
    let output = run(&strings(&["sim", "linear", "--seed", "7"]), None);
    assert_eq!(output.status.code(), Some(0));
    assert!(text(&output.stdout).contains("PASS linear: 1 seeds"));
}

#[test]
fn a_shrunk_liveness_trace_replays_to_the_same_violation() {
    // A real liveness failure (the end-of-data checkpoint expires and nothing retries it);
    // shrinking used to produce a trace that replayed to a different violation.
    let dir = TempDir::new("shrink-liveness");
    let out = dir.path("out");
    let model = "tests/hostile/fixtures/interval-zero-timeouts.toml";
    let output = run(
        &strings(&[
            "sim",
            model,
            "--seeds",
            "0..50",
            "--out-dir",
            out.to_str().expect("utf-8"),
        ]),
        None,
    );
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stdout));
    let trace = std::fs::read_dir(&out)
        .expect("out")
        .map(|e| e.expect("entry").path())
        .next()
        .expect("a trace");
    let original = text(
        &run(
            &strings(&["replay", trace.to_str().expect("utf-8"), "--quiet"]),
            None,
        )
        .stdout,
    );
    let invariant = original
        .lines()
        .find_map(|l| l.strip_prefix("outcome: "))
        .and_then(|l| l.split(' ').next())
        .expect("an outcome")
        .to_string();
    let shrunk = dir.path("shrunk.json");
    let output = run(
        &strings(&[
            "shrink",
            trace.to_str().expect("utf-8"),
            "-o",
            shrunk.to_str().expect("utf-8"),
        ]),
        None,
    );
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let replay = run(
        &strings(&["replay", shrunk.to_str().expect("utf-8"), "--quiet"]),
        None,
    );
    let replayed = text(&replay.stdout);
    assert_eq!(replay.status.code(), Some(0), "{replayed}");
    assert!(
        replayed.contains(&format!("outcome: {invariant} violated")),
        "{invariant}: {replayed}"
    );
}

#[test]
fn a_legal_model_with_many_records_does_not_fail_for_want_of_healed_steps() {
    // 202 records through a union: the old fixed budget of 1000 healed steps ran out (seed 94).
    let output = run(
        &strings(&[
            "sim",
            "tests/hostile/fixtures/two-hundred-records.toml",
            "--seeds",
            "0..120",
        ]),
        None,
    );
    let stdout = text(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("PASS"), "{stdout}");
}

#[test]
fn a_healed_budget_that_runs_out_says_so_and_shows_the_backlog() {
    let dir = TempDir::new("budget");
    let linear = std::fs::read_to_string("models/linear.toml").expect("model");
    let model = dir.path("tight.toml");
    std::fs::write(
        &model,
        linear.replace("time = 40", "time = 40\nhealed_steps = 3"),
    )
    .expect("write");
    let output = run(
        &strings(&[
            "sim",
            model.to_str().expect("utf-8"),
            "--seed",
            "0",
            "--steps",
            "2",
            "--out-dir",
            dir.path("out").to_str().expect("utf-8"),
        ]),
        None,
    );
    let stdout = text(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("healed-run-finishes"), "{stdout}");
    assert!(
        stdout.contains("budget of 3 healed steps ran out"),
        "{stdout}"
    );
    assert!(
        stdout.contains("backlog:") && stdout.contains("unfinished subtasks: "),
        "{stdout}"
    );
    assert!(!stdout.contains("unfinished subtasks: none"), "{stdout}");
}
