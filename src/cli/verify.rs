//! `verify`: the gate for a change to the coordinator or the tasks. Sizes the work to the time
//! budget, runs this shard of it (`present::verify`), saves every failure as a trace, and prints
//! one line per model, the canaries, the regression traces, the conformance step and the verdict
//! (text, JSON or JUnit), optionally a Markdown summary and GitHub annotations. Exit code 0 only
//! if everything passed and every canary was caught; 1 otherwise; 2 for bad flags.

use super::common::{
    parse_bugs, parse_shard, positive, program, render_command, shrink_command, trace_command,
    TraceDir,
};
use checkpoint_harness::check::Status;
use checkpoint_harness::error::InputError;
use checkpoint_harness::present::verify::{
    self, BoundedReason, Budget, CheckPlan, CheckStatus, Clock, Conformance, ConformanceDivergence,
    ConformanceResult, Item, Plan, Report, Request,
};
use checkpoint_harness::sim::Shard;
use checkpoint_harness::trace::Expected;
use clap::ValueEnum;
use indicatif::{ProgressBar, ProgressStyle};
use std::fmt::Write as _;
use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

#[derive(clap::Args)]
pub struct Args {
    /// Time budget: small (20 s), default (300 s, a CI job on two cores), large (20 min), or a
    /// duration such as 90s, 10m.
    #[arg(long, default_value = "default")]
    budget: String,
    /// First seed of the rotating seed block (default: derived from today's date, printed).
    #[arg(long)]
    seed_base: Option<u64>,
    /// Run shard K of N (0-based: K in 0..N) of the plan, for CI matrices: the shards together
    /// run exactly the unsharded plan, each in about 1/N of the time.
    #[arg(long)]
    shard: Option<String>,
    /// Worker threads (results never depend on it).
    #[arg(long, default_value_t = 2)]
    threads: usize,
    /// Switch an injected bug on in every model, canary and regression trace (repeatable): shows
    /// what the gate does with a broken change.
    #[arg(long = "bug")]
    bugs: Vec<String>,
    /// Stop at the first failing step, cheapest steps first (the rest is reported as not run):
    /// the same FAIL, sooner. `scripts/mutants.sh` uses it.
    #[arg(long)]
    fail_fast: bool,
    /// The regression traces' directory.
    #[arg(long, default_value = "traces")]
    traces_dir: String,
    #[command(flatten)]
    traces: TraceDir,
    #[arg(long, value_enum, default_value = "text")]
    format: VerifyFormat,
    /// Also write the JUnit XML report to FILE.
    #[arg(long, value_name = "FILE")]
    junit: Option<String>,
    /// Also write a Markdown summary to FILE (e.g. "$GITHUB_STEP_SUMMARY").
    #[arg(long, value_name = "FILE")]
    summary: Option<String>,
    /// GitHub annotations for failures: auto (when GITHUB_ACTIONS=true), github, none.
    #[arg(long, value_enum, default_value = "auto")]
    annotations: Annotations,
    /// List every canary and regression trace, not only the ones that failed.
    #[arg(long, short)]
    verbose: bool,
    /// Print the plan (what runs, with which sizes and limits) and exit without running it.
    #[arg(long)]
    plan: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum VerifyFormat {
    Text,
    Json,
    Junit,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Annotations {
    Auto,
    Github,
    None,
}

struct WallClock(Instant);

impl Clock for WallClock {
    fn elapsed(&self) -> Duration {
        self.0.elapsed()
    }
}

/// Days since 1970-01-01 and that day as `YYYY-MM-DD`.
fn today() -> (u64, String) {
    let days = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() / 86_400);
    (days, civil_date(days))
}

/// The proleptic Gregorian date of a day number (days since 1970-01-01).
fn civil_date(days: u64) -> String {
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

/// Seeds per day of the rotating block's numbering (blocks of different days never overlap).
const SEEDS_PER_DAY: u64 = 100_000;

pub fn run(args: Args) -> Result<ExitCode, InputError> {
    let budget = Budget::parse(&args.budget)
        .map_err(|reason| InputError::new("command line", "--budget", reason))?;
    let shard = match &args.shard {
        Some(text) => parse_shard(text)?,
        None => Shard::ALL,
    };
    let injected = parse_bugs(&args.bugs)?;
    let out_dir = args.traces.out_dir.trim().to_string();
    if out_dir.is_empty() {
        return Err(InputError::new(
            "command line",
            "--out-dir",
            "is empty; give a directory",
        ));
    }
    let (seed_base, seed_origin) = match args.seed_base {
        Some(base) => (base, "given by --seed-base".to_string()),
        None => {
            let (days, date) = today();
            (
                days * SEEDS_PER_DAY,
                format!("from today's date, {date}; rotates daily"),
            )
        }
    };
    let request = Request {
        budget,
        threads: positive("--threads", args.threads)?,
        seed_base,
        shard,
        injected,
        fail_fast: args.fail_fast,
    };
    let traces_dir = std::path::Path::new(&args.traces_dir);
    let (traces, traces_note) = if traces_dir.is_dir() {
        (verify::trace_files(&args.traces_dir)?, None)
    } else if args.traces_dir == "traces" {
        (
            Vec::new(),
            Some("no traces/ directory here (run from the repository root, or pass --traces-dir DIR)".to_string()),
        )
    } else {
        return Err(InputError::new(
            &args.traces_dir,
            "--traces-dir",
            "not a directory",
        ));
    };
    let plan = verify::plan(&request, &traces);
    let header = Header {
        plan: &plan,
        seed_origin,
        traces_dir: args.traces_dir.clone(),
        traces_note,
    };
    if args.plan {
        print!("{}", plan_text(&header));
        return Ok(ExitCode::SUCCESS);
    }

    let clock = WallClock(Instant::now());
    let bar = progress_bar(plan.items.len() as u64);
    let report = verify::run(&plan, &clock, &mut |p| {
        bar.set_position(p.done as u64);
        bar.set_message(p.message);
    });
    bar.finish_and_clear();

    let failures = failures(&report, &out_dir)?;
    let annotate = match args.annotations {
        Annotations::Github => true,
        Annotations::None => false,
        Annotations::Auto => std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true"),
    };
    // Workflow commands are read from standard output; machine-readable output stays clean.
    let annotation_lines = if annotate {
        annotations(&failures)
    } else {
        String::new()
    };
    match args.format {
        VerifyFormat::Text => {
            print!("{}", text(&header, &report, &failures, args.verbose));
            print!("{annotation_lines}");
            println!("verdict: {}", verdict_text(&report));
        }
        VerifyFormat::Json => {
            println!("{}", json(&header, &report, &failures));
            eprint!("{annotation_lines}");
        }
        VerifyFormat::Junit => {
            print!("{}", junit(&report, &failures));
            eprint!("{annotation_lines}");
        }
    }
    if let Some(path) = &args.junit {
        write_file(path, "--junit", &junit(&report, &failures))?;
    }
    if let Some(path) = &args.summary {
        write_file(path, "--summary", &markdown(&header, &report, &failures))?;
    }
    Ok(if report.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn write_file(path: &str, flag: &str, text: &str) -> Result<(), InputError> {
    if let Some(parent) = std::path::Path::new(path).parent() {
        if !parent.as_os_str().is_empty() {
            std::fs::create_dir_all(parent).map_err(|e| {
                InputError::new(path, flag, format!("cannot create its directory: {e}"))
            })?;
        }
    }
    std::fs::write(path, text)
        .map_err(|e| InputError::new(path, flag, format!("cannot write the file: {e}")))
}

fn progress_bar(items: u64) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(items);
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} steps {elapsed} {msg}")
            .expect("valid template"),
    );
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

struct Header<'a> {
    plan: &'a Plan,
    seed_origin: String,
    traces_dir: String,
    traces_note: Option<String>,
}

impl Header<'_> {
    fn budget_line(&self) -> String {
        let request = &self.plan.request;
        let shard = if request.shard.count > 1 {
            format!(
                ", shard {}/{} ({} of {} steps)",
                request.shard.index,
                request.shard.count,
                self.plan.items.len(),
                self.plan.total_items
            )
        } else {
            String::new()
        };
        let injected = if request.injected.is_empty() {
            String::new()
        } else {
            let names: Vec<&str> = request.injected.iter().map(|b| b.name()).collect();
            format!(", injected bug {} in every model", names.join(", "))
        };
        format!(
            "budget {} ({} s), {} threads{shard}{injected}; planned {:.0} s",
            request.budget.name(),
            request.budget.seconds,
            request.threads,
            self.plan.estimate().as_secs_f64()
        )
    }

    fn seeds_line(&self) -> String {
        let plan = self.plan;
        format!(
            "seeds per model: fixed {}..{}, rotating {}..{} ({}; repeat with --seed-base {})",
            plan.fixed_seeds.start,
            plan.fixed_seeds.end,
            plan.rotating_seeds.start,
            plan.rotating_seeds.end,
            self.seed_origin,
            plan.request.seed_base
        )
    }
}

fn check_plan_text(plan: CheckPlan) -> String {
    match plan {
        CheckPlan::Exhaustive { max_states } => {
            format!("exhaustive (capped at {max_states} states)")
        }
        CheckPlan::Bounded { max_states, reason } => format!(
            "bounded at {max_states} states ({})",
            bounded_reason(reason)
        ),
    }
}

fn bounded_reason(reason: BoundedReason) -> &'static str {
    match reason {
        BoundedReason::TooLarge => "too large to complete",
        BoundedReason::OverBudget => "completes with a larger --budget",
    }
}

fn plan_text(header: &Header) -> String {
    let plan = header.plan;
    let mut out = String::new();
    let _ = writeln!(out, "verify plan: {}", header.budget_line());
    let _ = writeln!(out, "{}", header.seeds_line());
    for planned in &plan.items {
        let what = match &planned.item {
            Item::Model {
                name, check, small, ..
            } => {
                let small = small
                    .map(|plan| format!(", its small instance {}", check_plan_text(plan)))
                    .unwrap_or_default();
                format!("model {name}: sim, check {}{small}", check_plan_text(*check))
            }
            Item::Canary(bug) => format!(
                "canary {bug}: up to {} simulator seeds{}",
                plan.canary_seeds,
                if plan.canary_check_always {
                    ", then the model checker"
                } else {
                    ", the model checker if they miss it"
                }
            ),
            Item::Traces => format!(
                "regression traces: {} files under {}",
                plan.traces.len(),
                header.traces_dir
            ),
            Item::Conformance => format!(
                "conformance against real Flink (where it runs): {} input sequences per barrier handler, {} schedules per model from seed 0, below any open divergence, and every regression trace",
                plan.handler_sequences,
                plan.conformance_seeds
            ),
        };
        let _ = writeln!(
            out,
            "  {what}; estimate {:.1} s, limit {:.0} s",
            planned.estimate.as_secs_f64(),
            planned.limit.as_secs_f64()
        );
    }
    out
}

/// One failure with everything needed to act on it.
struct Failure {
    /// Stable test-case-like name: `keyed-join-2pc sim`, `canary commit-on-abort`.
    name: String,
    /// The violated invariant, or what went wrong.
    invariant: String,
    detail: String,
    seed: Option<u64>,
    step: Option<usize>,
    configuration: Option<String>,
    trace: Option<(String, usize)>,
    /// (label, command line), in print order.
    commands: Vec<(&'static str, String)>,
}

/// `program ARGS`: a command line for arguments the library wrote.
fn command(args: &str) -> String {
    format!("{} {args}", program())
}

fn trace_commands(path: &str, rerun: &str) -> Vec<(&'static str, String)> {
    vec![
        ("replay", trace_command(path)),
        ("render", render_command(path)),
        ("rerun", command(rerun)),
        ("shrink", shrink_command(path)),
    ]
}

/// Every failure of the report, its traces saved under `out_dir`.
fn failures(report: &Report, out_dir: &str) -> Result<Vec<Failure>, InputError> {
    let mut out = Vec::new();
    for model in &report.models {
        if let Some(f) = &model.sim.failure {
            let path = format!("{out_dir}/verify-sim-{}-seed-{}.json", model.model, f.seed);
            f.trace.save(&path)?;
            out.push(Failure {
                name: format!("{} sim", model.model),
                invariant: f.invariant.to_string(),
                detail: f.detail.clone(),
                seed: Some(f.seed),
                step: Some(f.step),
                configuration: Some(f.configuration.clone()),
                trace: Some((path.clone(), f.trace.actions.len())),
                commands: trace_commands(&path, &f.rerun),
            });
        }
        if let Some(small) = &model.small {
            check_failures(&small.model, &small.file, &small.check, out_dir, &mut out)?;
        }
        check_failures(&model.model, &model.file, &model.check, out_dir, &mut out)?;
        if !model.unreached.is_empty() {
            out.push(Failure {
                name: format!("{} sim", model.model),
                invariant: "vacuous".into(),
                detail: format!(
                    "no run of the sweep ({} seeds) and no state of the check reached {}: the model no longer exercises what it is there to test, so its invariants pass vacuously (a change that switches a mechanism off looks like this; a larger --budget runs more seeds)",
                    model.sim.seeds_run,
                    model.unreached.join(", ")
                ),
                seed: None,
                step: None,
                configuration: None,
                trace: None,
                commands: vec![("rerun", command(&format!("sim {}", model.file)))],
            });
        }
    }
    for canary in report.canaries.iter().filter(|c| !c.caught()) {
        let check = match &canary.check {
            Some(c) => format!("the model checker ({} states)", c.states),
            None => "the model checker did not look".to_string(),
        };
        out.push(Failure {
            name: format!("canary {}", canary.bug),
            invariant: format!("not caught (expected {})", canary.expected),
            detail: format!(
                "bug `{}` on model {} was caught by neither the simulator ({} seeds) nor {check}: a verifier that stopped catching its canaries is broken",
                canary.bug, canary.model, canary.sim.seeds_run
            ),
            seed: None,
            step: None,
            configuration: None,
            trace: None,
            commands: vec![("rerun", command(&canary.rerun()))],
        });
    }
    for trace in report.traces.iter().flatten().filter(|t| !t.reproduced()) {
        out.push(trace_failure(trace, out_dir)?);
    }
    if let Some(Conformance::Ran(r)) = &report.conformance {
        out.extend(r.divergences().map(divergence_failure));
        if let Some(error) = &r.driver_error {
            out.push(Failure {
                name: "conformance".into(),
                invariant: "the Flink driver failed".into(),
                detail: error.clone(),
                seed: None,
                step: None,
                configuration: None,
                trace: None,
                commands: vec![("rerun", command("conform"))],
            });
        }
    }
    for skipped in report.skipped.iter().filter(|s| !s.after_failure) {
        out.push(Failure {
            name: skipped.label.clone(),
            invariant: "not run".into(),
            detail: "the budget was spent before its turn: not a pass (raise --budget, or split the work with --shard)".into(),
            seed: None,
            step: None,
            configuration: None,
            trace: None,
            commands: Vec::new(),
        });
    }
    Ok(out)
}

/// A regression trace that failed: its replay did not give the recorded outcome, or the replay
/// without its own bugs violated an invariant (the bug re-created by the code without it; the
/// actions up to the violation are saved under `out_dir` as a trace that replays it).
fn trace_failure(trace: &verify::TraceResult, out_dir: &str) -> Result<Failure, InputError> {
    let got = match &trace.got {
        Ok(got) => expected_text(got),
        Err(error) => format!("no replay: {error}"),
    };
    let mut failure = Failure {
        name: format!("trace {}", trace.path),
        invariant: "not reproduced".into(),
        detail: format!(
            "recorded {}, replay gives {got}",
            trace
                .expected
                .as_ref()
                .map_or("nothing (it did not load)".into(), expected_text)
        ),
        seed: None,
        step: None,
        configuration: None,
        trace: None,
        commands: vec![("replay", trace_command(&trace.path))],
    };
    let Some((without, violation)) = trace
        .without_bugs
        .as_ref()
        .and_then(|w| Some((w, w.violation.as_ref()?)))
    else {
        return Ok(failure);
    };
    let what = recreated_text(without, violation.invariant);
    let why = format!(
        "replayed {}, the trace's first {} of its {} actions violate {}: {}",
        without.bugs_text(),
        without.applied,
        without.total,
        violation.invariant,
        violation.detail
    );
    if !trace.outcome_reproduced() {
        let _ = write!(failure.detail, "; and {what} ({why})");
        return Ok(failure);
    }
    failure.invariant = what;
    failure.detail = format!(
        "{why}. With the bug on, the replay still reproduces the recorded outcome ({got}), {}",
        if without.kept.is_empty() {
            "so the code without the bug does what the bug does: a change outside the bug's own code re-creates it"
        } else {
            "so the code with only the injected bugs does what the trace's bug does"
        }
    );
    if let Some(recreated) = &without.trace {
        let stem = std::path::Path::new(&trace.path)
            .file_stem()
            .map_or("trace".into(), |s| s.to_string_lossy());
        let path = format!("{out_dir}/verify-without-bugs-{stem}.json");
        recreated.save(&path)?;
        failure.trace = Some((path.clone(), recreated.actions.len()));
        // The saved actions are the bug-free path up to the violation: replaying them is the
        // rerun of this check.
        failure.commands = vec![
            ("replay", trace_command(&path)),
            ("render", render_command(&path)),
            ("rerun", trace_command(&path)),
            ("shrink", shrink_command(&path)),
        ];
    }
    Ok(failure)
}

/// `bug re-created without its bug: INVARIANT at action N`.
fn recreated_text(without: &verify::WithoutBugs, invariant: &str) -> String {
    format!(
        "bug re-created without its bug: {invariant} at action {}",
        without.applied
    )
}

/// What replaying a bug trace without its bugs gave, for the verbose listing.
fn without_bugs_note(without: &verify::WithoutBugs) -> String {
    match &without.violation {
        Some(violation) => recreated_text(without, violation.invariant),
        None if without.applied == without.total => format!(
            "without its bug: {} applied, no invariant violated",
            plural(without.total, "action", "actions")
        ),
        None => format!(
            "without its bug: no invariant violated until it left the path at action {} of {}",
            without.applied + 1,
            without.total
        ),
    }
}

/// The failure of one model check (a model's, or its small instance's), if it failed.
fn check_failures(
    model: &str,
    file: &str,
    check: &verify::CheckResult,
    out_dir: &str,
    out: &mut Vec<Failure>,
) -> Result<(), InputError> {
    match (&check.failure, check.status()) {
        (Some(f), _) => {
            let path = format!("{out_dir}/verify-check-{}-{}.json", model, f.invariant);
            f.trace.save(&path)?;
            out.push(Failure {
                name: format!("{} check", model),
                invariant: f.invariant.to_string(),
                detail: f.detail.clone(),
                seed: None,
                step: Some(f.trace.actions.len()),
                configuration: None,
                trace: Some((path.clone(), f.trace.actions.len())),
                commands: trace_commands(&path, &f.rerun),
            });
        }
        (None, CheckStatus::Vacuous) => {
            let unreached: Vec<&str> = check
                .properties
                .iter()
                .filter(|p| p.status == Status::NotReached)
                .map(|p| p.name)
                .collect();
            out.push(Failure {
                name: format!("{} check", model),
                invariant: "vacuous".into(),
                detail: format!(
                    "the exhaustive check never reached {}: a vacuous pass is not a pass",
                    unreached.join(", ")
                ),
                seed: None,
                step: None,
                configuration: None,
                trace: None,
                commands: vec![("rerun", command(&format!("check {}", file)))],
            });
        }
        _ => {}
    }
    Ok(())
}

/// One JUnit case of the conformance suite: a handler's sequences or a model's schedules,
/// `agreed` = (how many agreed, the unit's singular, plural).
fn conformance_case(
    name: String,
    divergence: Option<&ConformanceDivergence>,
    agreed: (u64, &str, &str),
    seeds: &std::ops::Range<u64>,
    skipped: Option<String>,
) -> Case {
    let (count, one, many) = agreed;
    Case {
        class: "verify.conformance".into(),
        name,
        seconds: 0.0,
        result: match divergence {
            Some(d) => {
                let f = divergence_failure(d);
                Err((format!("{}: {}", f.invariant, f.detail), failure_body(&f)))
            }
            None => Ok(Some(format!(
                "{} agree (seeds {}..{})",
                plural(count as usize, one, many),
                seeds.start,
                seeds.end
            ))),
        },
        skipped,
    }
}

fn divergence_failure(d: &ConformanceDivergence) -> Failure {
    Failure {
        name: format!("conformance {}", d.what),
        invariant: format!("diverges from Flink at input {} ({})", d.input, d.field),
        detail: format!("model {} / Flink {}", d.model_value, d.flink_value),
        seed: None,
        step: None,
        configuration: None,
        trace: None,
        commands: vec![("rerun", command(&d.rerun))],
    }
}

fn expected_text(expected: &Expected) -> String {
    match expected {
        Expected::Pass => "a pass".into(),
        Expected::Violation { invariant } => format!("a violation of {invariant}"),
    }
}

fn sim_text(model: &verify::ModelResult) -> String {
    let sim = &model.sim;
    match &sim.failure {
        Some(f) => format!("sim FAIL seed {} step {}: {}", f.seed, f.step, f.invariant),
        None if sim.cut_short => format!("sim {} seeds (time limit)", sim.seeds_run),
        None if !model.unreached.is_empty() => format!(
            "sim {} seeds, VACUOUS: never reached {}",
            sim.seeds_run,
            model.unreached.join(", ")
        ),
        None => format!("sim {} seeds", sim.seeds_run),
    }
}

fn check_text(model: &verify::ModelResult) -> String {
    let full = check_result_text(&model.check);
    match &model.small {
        Some(small) => format!(
            "{full}; small instance ({}): {}",
            small.scope,
            check_result_text(&small.check)
        ),
        None => full,
    }
}

fn check_result_text(check: &verify::CheckResult) -> String {
    match check.status() {
        CheckStatus::Complete => format!(
            "check exhaustive: {} unique states, all held",
            check.unique_states
        ),
        CheckStatus::Bounded if check.fell_short() => format!(
            "check bounded: {} unique states, no violation (planned exhaustive; stopped by {})",
            check.unique_states,
            bound_text(check)
        ),
        CheckStatus::Bounded => match check.plan {
            CheckPlan::Bounded { reason, .. } => format!(
                "check bounded: {} unique states, no violation ({}{})",
                check.unique_states,
                bounded_reason(reason),
                if check.bound() == Some(checkpoint_harness::check::Bound::TimeLimit) {
                    "; stopped by the time limit"
                } else {
                    ""
                }
            ),
            CheckPlan::Exhaustive { .. } => unreachable!("fell_short covers it"),
        },
        CheckStatus::Violated => match &check.failure {
            Some(f) => format!(
                "check FAIL: {} ({} steps)",
                f.invariant,
                f.trace.actions.len()
            ),
            None => "check FAIL".into(),
        },
        CheckStatus::Vacuous => "check FAIL: vacuous".into(),
    }
}

fn bound_text(check: &verify::CheckResult) -> &'static str {
    match check.bound() {
        Some(checkpoint_harness::check::Bound::TimeLimit) => "the time limit",
        Some(checkpoint_harness::check::Bound::MaxDepth) => "the depth bound",
        _ => "its state cap",
    }
}

fn canary_text(canary: &verify::CanaryResult) -> String {
    match canary.caught_by() {
        Some((by, invariant)) => {
            let at = match (by, canary.sim.caught_at_seed, &canary.check) {
                ("sim", Some(seed), _) => format!("sim seed {seed}"),
                (_, _, Some(c)) => format!("check, {} steps", c.length.unwrap_or(0)),
                _ => by.to_string(),
            };
            let mark = if canary.as_expected() {
                String::new()
            } else {
                format!(" (expected {})", canary.expected)
            };
            format!(
                "caught     {:<46} {:<22} {at}: {invariant}{mark}",
                canary.bug.name(),
                canary.model
            )
        }
        None => format!(
            "NOT CAUGHT {:<46} {:<22} expected {}",
            canary.bug.name(),
            canary.model,
            canary.expected
        ),
    }
}

fn conformance_text(conformance: &Option<Conformance>) -> Option<String> {
    conformance.as_ref().map(|c| {
        let what = match c {
            Conformance::NotAvailable(reason) => reason.clone(),
            Conformance::Ran(r) => conformance_summary(r),
        };
        format!("conformance against real Flink: {what}")
    })
}

fn conformance_summary(r: &ConformanceResult) -> String {
    let schedules: u64 = r.models.iter().map(|m| m.compared).sum();
    let diverged = r.divergences().count();
    let verdict = if let Some(error) = &r.driver_error {
        format!("FAIL: the driver failed: {error}")
    } else if diverged > 0 {
        format!("FAIL: {diverged} diverged")
    } else {
        "every input agreed".to_string()
    };
    let capped: Vec<String> = r
        .models
        .iter()
        .filter(|m| m.divergence.is_none())
        .filter_map(|m| {
            verify::CONFORMANCE_OPEN
                .iter()
                .find(|(name, seed)| *name == m.model && m.seeds.end == *seed)
                .map(|(name, seed)| format!("{name} below its open divergence at seed {seed}"))
        })
        .collect();
    let not_compared = r.models.iter().filter(|m| m.not_compared.is_some()).count();
    let mut notes = Vec::new();
    if !capped.is_empty() {
        notes.push(capped.join(", "));
    }
    if not_compared > 0 {
        notes.push(format!(
            "{} not expressible for the driver",
            plural(not_compared, "model", "models")
        ));
    }
    if r.cut_short {
        notes.push("stopped by the time limit".to_string());
    }
    let notes = if notes.is_empty() {
        String::new()
    } else {
        format!(" ({})", notes.join("; "))
    };
    let sequences: u64 = r.handlers.iter().map(|h| h.compared).sum();
    format!(
        "{verdict}: {} of {} and {} compared, {} of {} barrier handlers, {} inputs, {:.1} s{notes}",
        plural(schedules as usize, "schedule", "schedules"),
        plural(r.models.len(), "model", "models"),
        plural(r.traces_compared, "regression trace", "regression traces"),
        plural(sequences as usize, "sequence", "sequences"),
        r.handlers.len(),
        r.inputs,
        r.seconds
    )
}

/// `1 model`, `2 models`.
fn plural(count: usize, one: &str, many: &str) -> String {
    format!("{count} {}", if count == 1 { one } else { many })
}

fn verdict_text(report: &Report) -> String {
    let models = report.models.len();
    let failed = report.models.iter().filter(|m| !m.passed()).count();
    let exhaustive = report.exhaustive_count();
    let mut parts = Vec::new();
    if models > 0 {
        if failed == 0 {
            let small = match report.small_exhaustive_count() {
                0 => String::new(),
                n => format!(" ({n} of them exhaustive on a small instance)"),
            };
            parts.push(format!(
                "{}: {exhaustive} exhaustive, {} bounded{small}",
                plural(models, "model", "models"),
                models - exhaustive
            ));
        } else {
            parts.push(format!(
                "{failed} of {} failed",
                plural(models, "model", "models")
            ));
        }
    }
    if !report.canaries.is_empty() {
        let caught = report.canaries.iter().filter(|c| c.caught()).count();
        parts.push(format!(
            "{caught} of {} caught",
            plural(report.canaries.len(), "canary", "canaries")
        ));
    }
    if let Some(traces) = &report.traces {
        let ok = traces.iter().filter(|t| t.reproduced()).count();
        parts.push(format!(
            "{ok} of {} reproduced",
            plural(traces.len(), "regression trace", "regression traces")
        ));
    }
    match &report.conformance {
        Some(Conformance::Ran(r)) if r.passed() => parts.push("real Flink agreed".into()),
        Some(Conformance::Ran(r)) => parts.push(format!(
            "real Flink disagreed ({})",
            plural(r.divergences().count(), "divergence", "divergences")
        )),
        Some(Conformance::NotAvailable(_)) => parts.push("no real Flink here".into()),
        None => {}
    }
    if !report.skipped.is_empty() {
        parts.push(format!(
            "{} not run",
            plural(report.skipped.len(), "step", "steps")
        ));
    }
    if parts.is_empty() {
        parts.push("nothing in this shard".into());
    }
    format!(
        "{} ({}) in {:.1} s",
        if report.passed() { "PASS" } else { "FAIL" },
        parts.join("; "),
        report.seconds
    )
}

/// ` (the 48 with bugs also replayed without them: none re-created its bug)` (empty when no
/// trace has bugs).
fn without_bugs_summary(traces: &[verify::TraceResult]) -> String {
    let with_bugs = traces.iter().filter(|t| t.without_bugs.is_some()).count();
    if with_bugs == 0 {
        return String::new();
    }
    let recreated = traces.iter().filter(|t| t.recreated().is_some()).count();
    format!(
        " (the {with_bugs} with bugs also replayed without them: {})",
        match recreated {
            0 => "none re-created its bug".to_string(),
            1 => "1 re-created its bug".to_string(),
            n => format!("{n} re-created their bugs"),
        }
    )
}

fn text(header: &Header, report: &Report, failures: &[Failure], verbose: bool) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "verify: {}", header.budget_line());
    let _ = writeln!(out, "{}", header.seeds_line());
    if !report.models.is_empty() {
        let _ = writeln!(
            out,
            "models (simulator sweep; model check, exhaustive where the model completes):"
        );
        for model in &report.models {
            let _ = writeln!(
                out,
                "  {} {:<22} {:<25} {}; {:.1} s",
                if model.passed() { "PASS" } else { "FAIL" },
                model.model,
                format!("{};", sim_text(model)),
                check_text(model),
                model.seconds
            );
        }
    }
    if !report.canaries.is_empty() {
        let caught = report.canaries.iter().filter(|c| c.caught()).count();
        let unexpected = report
            .canaries
            .iter()
            .filter(|c| c.caught() && !c.as_expected())
            .count();
        let code_fails = report.models.iter().any(|m| !m.passed());
        let note = if unexpected == 0 {
            String::new()
        } else if !report.plan.request.injected.is_empty() {
            format!(
                "; {unexpected} first by another invariant (the injected bug is caught before the canary's own)"
            )
        } else if code_fails {
            format!(
                "; {unexpected} first by another invariant (the code under test fails on its own, and that is caught first)"
            )
        } else {
            format!("; {unexpected} by another invariant than the catalogue expects")
        };
        let _ = writeln!(
            out,
            "canaries (every catalogued bug must still be caught): {caught} of {} caught{note}",
            report.canaries.len()
        );
        for canary in &report.canaries {
            if verbose || !canary.caught() || !canary.as_expected() {
                let _ = writeln!(out, "  {}", canary_text(canary));
            }
        }
    }
    if let Some(traces) = &report.traces {
        let ok = traces.iter().filter(|t| t.outcome_reproduced()).count();
        match &header.traces_note {
            Some(note) => {
                let _ = writeln!(out, "regression traces: none: {note}");
            }
            None => {
                let _ = writeln!(
                    out,
                    "regression traces ({}/): {ok} of {} reproduced their recorded outcome{}",
                    header.traces_dir,
                    traces.len(),
                    without_bugs_summary(traces)
                );
            }
        }
        for trace in traces {
            if verbose || !trace.reproduced() {
                let label = if !trace.outcome_reproduced() {
                    "NOT REPRODUCED"
                } else if trace.recreated().is_some() {
                    "BUG RE-CREATED"
                } else {
                    "reproduced    "
                };
                let note = match &trace.without_bugs {
                    Some(without) if verbose || trace.recreated().is_some() => {
                        format!(" ({})", without_bugs_note(without))
                    }
                    _ => String::new(),
                };
                let _ = writeln!(out, "  {label} {}{note}", trace.path);
            }
        }
    }
    if let Some(line) = conformance_text(&report.conformance) {
        let _ = writeln!(out, "{line}");
    }
    for skipped in &report.skipped {
        let why = if skipped.after_failure {
            "--fail-fast: an earlier step failed"
        } else {
            "budget spent"
        };
        let _ = writeln!(out, "not run ({why}): {}", skipped.label);
    }
    if !failures.is_empty() {
        let _ = writeln!(out, "failures:");
        for failure in failures {
            out.push_str(&failure_text(failure));
        }
    }
    out
}

fn failure_text(failure: &Failure) -> String {
    let mut out = String::new();
    let at = match (failure.seed, failure.step) {
        (Some(seed), Some(step)) => format!(" seed {seed} at step {step}"),
        (None, Some(step)) => format!(" at step {step}"),
        _ => String::new(),
    };
    let _ = writeln!(out, "  {}{at}: {}", failure.name, failure.invariant);
    let _ = writeln!(out, "    {}", failure.detail);
    if let Some(configuration) = &failure.configuration {
        let _ = writeln!(out, "    configuration: {configuration}");
    }
    if let Some((path, actions)) = &failure.trace {
        let _ = writeln!(out, "    trace saved: {path} ({actions} actions)");
    }
    for (label, command) in &failure.commands {
        let _ = writeln!(out, "    {:<7} {command}", format!("{label}:"));
    }
    out
}

fn failure_json(failure: &Failure) -> serde_json::Value {
    let mut value = serde_json::json!({
        "name": failure.name,
        "invariant": failure.invariant,
        "detail": failure.detail,
        "seed": failure.seed,
        "step": failure.step,
        "configuration": failure.configuration,
        "trace": failure.trace.as_ref().map(|(p, _)| p.clone()),
    });
    for (label, command) in &failure.commands {
        value[*label] = serde_json::json!(command);
    }
    value
}

fn status_name(status: &Status) -> &'static str {
    match status {
        Status::Held => "held",
        Status::Violated => "violated",
        Status::Reached => "reached",
        Status::NotReached => "not-reached",
        Status::Unknown => "unknown",
    }
}

fn plan_json(plan: CheckPlan) -> serde_json::Value {
    match plan {
        CheckPlan::Exhaustive { max_states } => {
            serde_json::json!({"kind": "exhaustive", "max_states": max_states})
        }
        CheckPlan::Bounded { max_states, reason } => serde_json::json!({
            "kind": "bounded",
            "max_states": max_states,
            "reason": bounded_reason(reason),
        }),
    }
}

fn verdict_name(status: CheckStatus) -> &'static str {
    match status {
        CheckStatus::Complete => "complete",
        CheckStatus::Bounded => "partial",
        CheckStatus::Violated => "violated",
        CheckStatus::Vacuous => "vacuous",
    }
}

fn json(header: &Header, report: &Report, failures: &[Failure]) -> serde_json::Value {
    let plan = header.plan;
    let find = |name: String| failures.iter().find(|f| f.name == name).map(failure_json);
    let models: Vec<serde_json::Value> = report
        .models
        .iter()
        .map(|m| {
            let check_plan = plan_json(m.check.plan);
            let reached: serde_json::Map<String, serde_json::Value> = m
                .sim
                .reached
                .iter()
                .map(|(n, c)| (n.to_string(), serde_json::json!(c)))
                .collect();
            serde_json::json!({
                "model": m.model,
                "file": m.file,
                "passed": m.passed(),
                "seconds": m.seconds,
                "sim": {
                    "fixed_seeds": {"start": m.sim.fixed.start, "end": m.sim.fixed.end},
                    "rotating_seeds": {"start": m.sim.rotating.start, "end": m.sim.rotating.end},
                    "seeds_run": m.sim.seeds_run,
                    "steps": m.sim.steps,
                    "cut_short": m.sim.cut_short,
                    "non_vacuity": reached,
                    "unreached": m.unreached,
                    "seconds": m.sim.seconds,
                    "failure": find(format!("{} sim", m.model)),
                },
                "small": m.small.as_ref().map(|small| serde_json::json!({
                    "model": small.model,
                    "file": small.file,
                    "scope": small.scope,
                    "why": small.why,
                    "check": {
                        "plan": plan_json(small.check.plan),
                        "verdict": verdict_name(small.check.status()),
                        "unique_states": small.check.unique_states,
                        "total_states": small.check.total_states,
                        "max_depth": small.check.max_depth,
                        "seconds": small.check.seconds,
                        "properties": small.check.properties.iter().map(|p| {
                            serde_json::json!({"name": p.name, "status": status_name(&p.status)})
                        }).collect::<Vec<_>>(),
                        "failure": find(format!("{} check", small.model)),
                    },
                })),
                "check": {
                    "plan": check_plan,
                    "verdict": verdict_name(m.check.status()),
                    "unique_states": m.check.unique_states,
                    "total_states": m.check.total_states,
                    "max_depth": m.check.max_depth,
                    "seconds": m.check.seconds,
                    "properties": verify::property_names(m).iter().map(|(name, _)| {
                        serde_json::json!({"name": name, "status": status_name(&verify::property_status(m, name))})
                    }).collect::<Vec<_>>(),
                    "failure": find(format!("{} check", m.model)),
                },
            })
        })
        .collect();
    let canaries: Vec<serde_json::Value> = report
        .canaries
        .iter()
        .map(|c| {
            serde_json::json!({
                "bug": c.bug.name(),
                "model": c.model,
                "expected_invariant": c.expected,
                "caught": c.caught(),
                "as_expected": c.as_expected(),
                "caught_by": c.caught_by().map(|(by, _)| by),
                "invariant": c.caught_by().map(|(_, i)| i),
                "sim_seed": c.sim.caught_at_seed,
                "seconds": c.seconds,
                "rerun": command(&c.rerun()),
            })
        })
        .collect();
    let traces = report.traces.as_ref().map(|traces| {
        traces
            .iter()
            .map(|t| {
                serde_json::json!({
                    "path": t.path,
                    "reproduced": t.reproduced(),
                    "expected": t.expected.as_ref().map(expected_text),
                    "got": match &t.got { Ok(g) => expected_text(g), Err(e) => e.clone() },
                    "replay": trace_command(&t.path),
                    "without_bugs": t.without_bugs.as_ref().map(|w| serde_json::json!({
                        "removed": w.removed.iter().map(|b| b.name()).collect::<Vec<_>>(),
                        "kept": w.kept.iter().map(|b| b.name()).collect::<Vec<_>>(),
                        "applied": w.applied,
                        "total": w.total,
                        "violation": w.violation.as_ref().map(|v| serde_json::json!({
                            "invariant": v.invariant,
                            "detail": v.detail,
                            "at_action": w.applied,
                        })),
                    })),
                })
            })
            .collect::<Vec<_>>()
    });
    let request = &plan.request;
    serde_json::json!({
        "verdict": if report.passed() { "pass" } else { "fail" },
        "passed": report.passed(),
        "summary": verdict_text(report),
        "budget": {"name": request.budget.name(), "seconds": request.budget.seconds},
        "threads": request.threads,
        "shard": format!("{}/{}", request.shard.index, request.shard.count),
        "injected_bugs": request.injected.iter().map(|b| b.name()).collect::<Vec<_>>(),
        "seed_base": request.seed_base,
        "fixed_seeds": {"start": plan.fixed_seeds.start, "end": plan.fixed_seeds.end},
        "rotating_seeds": {"start": plan.rotating_seeds.start, "end": plan.rotating_seeds.end},
        "seconds": report.seconds,
        "models": models,
        "canaries": canaries,
        "traces": traces,
        "conformance": report.conformance.as_ref().map(|c| match c {
            Conformance::NotAvailable(reason) => serde_json::json!({"status": "not-available", "reason": reason}),
            Conformance::Ran(r) => serde_json::json!({
                "status": if r.passed() { "passed" } else { "failed" },
                "models": r.models.iter().map(|m| serde_json::json!({
                    "model": m.model,
                    "seeds": {"start": m.seeds.start, "end": m.seeds.end},
                    "compared": m.compared,
                    "diverged": m.divergence.is_some(),
                    "not_compared": m.not_compared,
                })).collect::<Vec<_>>(),
                "handlers": r.handlers.iter().map(|h| serde_json::json!({
                    "handler": h.handler,
                    "seeds": {"start": h.seeds.start, "end": h.seeds.end},
                    "compared": h.compared,
                    "inputs": h.inputs,
                    "stopped_early": h.stopped,
                    "diverged": h.divergence.is_some(),
                })).collect::<Vec<_>>(),
                "traces_compared": r.traces_compared,
                "inputs": r.inputs,
                "cut_short": r.cut_short,
                "driver_error": r.driver_error,
                "seconds": r.seconds,
                "failures": r.divergences().map(|d| failure_json(&divergence_failure(d))).collect::<Vec<_>>(),
            }),
        }),
        "not_run": report.skipped.iter().map(|s| serde_json::json!({
            "step": s.label,
            "why": if s.after_failure { "fail-fast" } else { "budget" },
        })).collect::<Vec<_>>(),
        "failures": failures.iter().map(failure_json).collect::<Vec<_>>(),
    })
}

fn xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if (c as u32) < 0x20 && c != '\n' && c != '\t' => {}
            c => out.push(c),
        }
    }
    out
}

/// One JUnit test case.
struct Case {
    class: String,
    name: String,
    seconds: f64,
    /// `Err((message, body))` for a failure.
    result: Result<Option<String>, (String, String)>,
    skipped: Option<String>,
}

fn failure_body(failure: &Failure) -> String {
    failure_text(failure)
}

fn junit(report: &Report, failures: &[Failure]) -> String {
    let find = |name: String| failures.iter().find(|f| f.name == name);
    let mut suites: Vec<(String, Vec<Case>)> = Vec::new();
    for model in &report.models {
        let class = format!("verify.{}", model.model);
        let mut cases = Vec::new();
        let sim = find(format!("{} sim", model.model));
        cases.push(Case {
            class: class.clone(),
            name: "simulator sweep".into(),
            seconds: model.sim.seconds,
            result: match sim {
                Some(f) => Err((format!("{}: {}", f.invariant, f.detail), failure_body(f))),
                None => Ok(Some(sim_text(model))),
            },
            skipped: None,
        });
        let check = find(format!("{} check", model.model));
        cases.push(Case {
            class: class.clone(),
            name: "model check".into(),
            seconds: model.check.seconds,
            result: match check {
                Some(f) => Err((format!("{}: {}", f.invariant, f.detail), failure_body(f))),
                None => Ok(Some(check_result_text(&model.check))),
            },
            skipped: None,
        });
        if let Some(small) = &model.small {
            cases.push(Case {
                class: class.clone(),
                name: format!("small instance check ({})", small.scope),
                seconds: small.check.seconds,
                result: match find(format!("{} check", small.model)) {
                    Some(f) => Err((format!("{}: {}", f.invariant, f.detail), failure_body(f))),
                    None => Ok(Some(check_result_text(&small.check))),
                },
                skipped: None,
            });
        }
        for (name, _) in verify::property_names(model) {
            let status = verify::property_status(model, name);
            let failure = [sim, check]
                .into_iter()
                .flatten()
                .find(|f| f.invariant == name);
            let (result, skipped) = match (&status, failure) {
                (Status::Violated, Some(f)) => (
                    Err((format!("{name} violated: {}", f.detail), failure_body(f))),
                    None,
                ),
                (Status::Violated, None) => {
                    (Err((format!("{name} violated"), String::new())), None)
                }
                (Status::NotReached, _) => (
                    Err((format!("{name} never reached (vacuous)"), String::new())),
                    None,
                ),
                (Status::Unknown, _) => (
                    Ok(None),
                    Some(if model.check.status() == CheckStatus::Bounded {
                        "not decided: the bounded check found no violation and did not reach it"
                            .to_string()
                    } else {
                        "not decided: the run stopped at another property's violation".to_string()
                    }),
                ),
                (status, _) => (Ok(Some(status_name(status).to_string())), None),
            };
            cases.push(Case {
                class: class.clone(),
                name: format!("property {name}"),
                seconds: 0.0,
                result,
                skipped,
            });
        }
        suites.push((format!("model {}", model.model), cases));
    }
    if !report.canaries.is_empty() {
        let cases = report
            .canaries
            .iter()
            .map(|c| Case {
                class: "verify.canaries".into(),
                name: c.bug.name().into(),
                seconds: c.seconds,
                result: match find(format!("canary {}", c.bug)) {
                    Some(f) => Err((f.detail.clone(), failure_body(f))),
                    None => Ok(Some(canary_text(c))),
                },
                skipped: None,
            })
            .collect();
        suites.push(("canaries".into(), cases));
    }
    if let Some(traces) = &report.traces {
        let cases = traces
            .iter()
            .map(|t| Case {
                class: "verify.traces".into(),
                name: t.path.clone(),
                seconds: 0.0,
                result: match find(format!("trace {}", t.path)) {
                    Some(f) => Err((f.detail.clone(), failure_body(f))),
                    None => Ok(None),
                },
                skipped: None,
            })
            .collect();
        suites.push(("regression traces".into(), cases));
    }
    match &report.conformance {
        Some(Conformance::NotAvailable(reason)) => suites.push((
            "conformance".into(),
            vec![Case {
                class: "verify.conformance".into(),
                name: "real Flink CheckpointCoordinator".into(),
                seconds: 0.0,
                result: Ok(None),
                skipped: Some(reason.clone()),
            }],
        )),
        Some(Conformance::Ran(r)) => {
            let mut cases: Vec<Case> = r
                .handlers
                .iter()
                .map(|h| {
                    let name = format!("barrier handler {}", h.handler);
                    let agreed = (h.compared, "sequence", "sequences");
                    conformance_case(name, h.divergence.as_ref(), agreed, &h.seeds, None)
                })
                .collect();
            cases.extend(r.models.iter().map(|m| {
                let name = format!("model {}", m.model);
                let agreed = (m.compared, "schedule", "schedules");
                let skipped = m.not_compared.clone();
                conformance_case(name, m.divergence.as_ref(), agreed, &m.seeds, skipped)
            }));
            cases.push(Case {
                class: "verify.conformance".into(),
                name: "regression traces".into(),
                seconds: 0.0,
                result: match (&r.driver_error, r.trace_divergences.first()) {
                    (Some(error), _) => Err((format!("the driver failed: {error}"), String::new())),
                    (None, Some(d)) => {
                        let f = divergence_failure(d);
                        Err((format!("{}: {}", f.invariant, f.detail), failure_body(&f)))
                    }
                    (None, None) => Ok(Some(format!(
                        "{} agree",
                        plural(r.traces_compared, "trace", "traces")
                    ))),
                },
                skipped: None,
            });
            suites.push(("conformance".into(), cases));
        }
        None => {}
    }
    if !report.skipped.is_empty() {
        let cases = report
            .skipped
            .iter()
            .map(|s| Case {
                class: "verify.budget".into(),
                name: s.label.clone(),
                seconds: 0.0,
                // After a failure under --fail-fast the step is skipped (the failure that
                // stopped the run is its own case); a step the budget left out is a failure.
                result: if s.after_failure {
                    Ok(None)
                } else {
                    Err((
                        "not run: the budget was spent before its turn".into(),
                        String::new(),
                    ))
                },
                skipped: s
                    .after_failure
                    .then(|| "--fail-fast: an earlier step failed".into()),
            })
            .collect();
        suites.push(("not run".into(), cases));
    }

    let count = |cases: &[Case], f: &dyn Fn(&Case) -> bool| cases.iter().filter(|c| f(c)).count();
    let all: Vec<&Case> = suites.iter().flat_map(|(_, c)| c).collect();
    let total_failures = all.iter().filter(|c| c.result.is_err()).count();
    let total_skipped = all.iter().filter(|c| c.skipped.is_some()).count();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"checkpoint-harness verify\" tests=\"{}\" failures=\"{total_failures}\" errors=\"0\" skipped=\"{total_skipped}\" time=\"{:.3}\">",
        all.len(),
        report.seconds
    );
    for (name, cases) in &suites {
        let seconds: f64 = cases.iter().map(|c| c.seconds).sum();
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"{}\" time=\"{seconds:.3}\">",
            xml(name),
            cases.len(),
            count(cases, &|c| c.result.is_err()),
            count(cases, &|c| c.skipped.is_some())
        );
        for case in cases {
            let _ = write!(
                out,
                "    <testcase classname=\"{}\" name=\"{}\" time=\"{:.3}\"",
                xml(&case.class),
                xml(&case.name),
                case.seconds
            );
            match (&case.result, &case.skipped) {
                (Err((message, body)), _) => {
                    let _ = writeln!(
                        out,
                        ">\n      <failure message=\"{}\" type=\"verify\">{}</failure>\n    </testcase>",
                        xml(message),
                        xml(body)
                    );
                }
                (Ok(_), Some(reason)) => {
                    let _ = writeln!(
                        out,
                        ">\n      <skipped message=\"{}\"/>\n    </testcase>",
                        xml(reason)
                    );
                }
                (Ok(Some(note)), None) => {
                    let _ = writeln!(
                        out,
                        ">\n      <system-out>{}</system-out>\n    </testcase>",
                        xml(note)
                    );
                }
                (Ok(None), None) => {
                    let _ = writeln!(out, "/>");
                }
            }
        }
        let _ = writeln!(out, "  </testsuite>");
    }
    let _ = writeln!(out, "</testsuites>");
    out
}

fn markdown_cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

fn markdown(header: &Header, report: &Report, failures: &[Failure]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "## checkpoint-harness verify: {}\n",
        if report.passed() { "PASS" } else { "FAIL" }
    );
    let _ = writeln!(out, "{}\n", verdict_text(report));
    let _ = writeln!(out, "{}; {}\n", header.budget_line(), header.seeds_line());
    if !report.models.is_empty() {
        let _ = writeln!(out, "| model | result | simulator | model checker | time |");
        let _ = writeln!(out, "|---|---|---|---|---|");
        for model in &report.models {
            let _ = writeln!(
                out,
                "| `{}` | {} | {} | {} | {:.1} s |",
                model.model,
                if model.passed() { "pass" } else { "**FAIL**" },
                markdown_cell(&sim_text(model)),
                markdown_cell(&check_text(model)),
                model.seconds
            );
        }
        out.push('\n');
    }
    if !report.canaries.is_empty() {
        let caught = report.canaries.iter().filter(|c| c.caught()).count();
        let _ = writeln!(
            out,
            "**Canaries**: {caught} of {} catalogued bugs caught.\n",
            report.canaries.len()
        );
        let _ = writeln!(out, "<details><summary>every canary</summary>\n");
        let _ = writeln!(out, "| bug | model | caught by | invariant |");
        let _ = writeln!(out, "|---|---|---|---|");
        for c in &report.canaries {
            let (by, invariant) = c.caught_by().unwrap_or(("**not caught**", "-"));
            let _ = writeln!(
                out,
                "| `{}` | {} | {by} | `{invariant}`{} |",
                c.bug,
                c.model,
                if c.caught() && !c.as_expected() {
                    format!(" (expected `{}`)", c.expected)
                } else {
                    String::new()
                }
            );
        }
        let _ = writeln!(out, "\n</details>\n");
    }
    if let Some(traces) = &report.traces {
        let ok = traces.iter().filter(|t| t.reproduced()).count();
        let _ = writeln!(
            out,
            "**Regression traces**: {ok} of {} reproduced{}.\n",
            traces.len(),
            without_bugs_summary(traces)
        );
    }
    if let Some(line) = conformance_text(&report.conformance) {
        let _ = writeln!(
            out,
            "**Conformance**: {}\n",
            line.trim_start_matches("conformance against real Flink: ")
        );
    }
    if !failures.is_empty() {
        let _ = writeln!(out, "### Failures\n");
        for failure in failures {
            let _ = writeln!(out, "**{}**: `{}`\n", failure.name, failure.invariant);
            let _ = writeln!(out, "```\n{}```\n", failure_text(failure));
        }
        let _ = writeln!(
            out,
            "The traces are in the job's `target/traces/` artefact."
        );
    }
    out
}

/// GitHub workflow-command escaping of a message (`%`, CR, LF) and of a property (also `:` and
/// `,`).
fn escape_message(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

fn escape_property(text: &str) -> String {
    escape_message(text).replace(':', "%3A").replace(',', "%2C")
}

fn annotations(failures: &[Failure]) -> String {
    let mut out = String::new();
    for failure in failures {
        let mut message = format!("{}: {}", failure.invariant, failure.detail);
        if let Some(seed) = failure.seed {
            let _ = write!(message, "\nseed {seed}");
        }
        for (label, command) in &failure.commands {
            let _ = write!(message, "\n{label}: {command}");
        }
        let _ = writeln!(
            out,
            "::error title={}::{}",
            escape_property(&format!("verify {}", failure.name)),
            escape_message(&message)
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(civil_date(0), "1970-01-01");
        assert_eq!(civil_date(19_723), "2024-01-01");
        assert_eq!(civil_date(20_147), "2025-02-28");
        assert_eq!(civil_date(20_148), "2025-03-01");
    }

    #[test]
    fn annotation_escaping() {
        assert_eq!(escape_message("a%b\nc"), "a%25b%0Ac");
        assert_eq!(escape_property("x: y, z"), "x%3A y%2C z");
    }

    #[test]
    fn xml_escaping() {
        assert_eq!(xml("<a & \"b\">"), "&lt;a &amp; &quot;b&quot;&gt;");
    }
}
