//! The HTML report, end to end: the report of a real exactly-once counterexample is rendered by
//! headless Chromium, and the rendered page must show one lane per subtask plus the
//! coordinator, the violation marker at the step where the invariant failed, and nothing that
//! failed or tried to load. The screenshot and the page are kept under `target/ci-artifacts/`.
//!
//! Chromium is driven through its command line only (no new dependencies): `--dump-dom` gives
//! the DOM after rendering, `--screenshot` the picture, `--enable-logging=stderr` the console
//! (the page has no script, so any console line is the browser complaining about the page,
//! e.g. a fetch refused by the report's Content-Security-Policy) and `--log-net-log` every
//! network request, of which the page must have made none. Without Chromium the browser test
//! prints that it was skipped and how to enable it, and passes; with `CI` set it fails instead
//! (`support::skip_or_fail`). `CHECKPOINT_HARNESS_SKIP_BROWSER=1` skips it on purpose.
//!
//! The other tests check the markup itself, without a browser: self-contained, deterministic,
//! escaped, violation marker at the right step.

mod support;

use checkpoint_harness::html;
use checkpoint_harness::invariants::{self, Oracle};
use checkpoint_harness::sim::Outcome;
use checkpoint_harness::spec::Spec;
use checkpoint_harness::trace::{self, Replayed, Trace};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A real counterexample of an exactly-once invariant: a completion notification commits only
/// its own transaction, so the join's output never reaches the external system.
const TRACE: &str = "traces/bugs/commit-only-notified-transaction.json";
const INVARIANT: &str = "end-to-end-exactly-once";
/// How long one Chromium run may take before it is killed and the test fails.
const CHROMIUM_TIMEOUT: Duration = Duration::from_secs(60);
const WINDOW_WIDTH: u32 = 1400;

struct Rendered {
    spec: Spec,
    replayed: Replayed,
    html: String,
}

/// Loads, replays and reports `TRACE`, optionally editing the spec first (names with markup).
fn rendered_with(edit: impl FnOnce(&mut Spec, &mut Trace)) -> Rendered {
    let mut trace = Trace::load(TRACE).expect("the counterexample trace loads");
    let mut spec = trace.spec(TRACE).expect("its embedded model parses");
    edit(&mut spec, &mut trace);
    let oracle = Oracle::new(&spec);
    let replayed = trace::replay(&spec, &oracle, &trace, TRACE).expect("the trace replays");
    let evidence = invariants::output_evidence(&spec, &oracle, &replayed.world);
    let html = html::report(&spec, &trace, &replayed, Some(&evidence));
    Rendered {
        spec,
        replayed,
        html,
    }
}

fn rendered() -> Rendered {
    rendered_with(|_, _| {})
}

/// The (1-based) step after which the replay saw the violation, and the invariant.
fn violation_of(replayed: &Replayed) -> (usize, &'static str) {
    match &replayed.outcome {
        Outcome::Violation { violation, step } => (*step, violation.invariant),
        Outcome::Pass => panic!("{TRACE} no longer fails when replayed"),
    }
}

// ---------------------------------------------------------------------------------------------
// Reading markup without a parser: the report's stable attributes make plain searching enough.
// ---------------------------------------------------------------------------------------------

/// Every start tag (`<...>`) that contains `needle`.
fn tags_containing<'a>(markup: &'a str, needle: &str) -> Vec<&'a str> {
    let mut tags = Vec::new();
    let mut from = 0;
    while let Some(found) = markup[from..].find(needle) {
        let at = from + found;
        let start = markup[..at].rfind('<').expect("an attribute inside a tag");
        let end = at + markup[at..].find('>').expect("a closed tag");
        tags.push(&markup[start..=end]);
        from = end;
    }
    tags
}

fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

/// The value of a double-quoted attribute of a start tag.
fn attribute(tag: &str, name: &str) -> Option<String> {
    let key = format!(" {name}=\"");
    let start = tag.find(&key)? + key.len();
    let end = start + tag[start..].find('"')?;
    Some(unescape(&tag[start..end]))
}

/// The one start tag containing `needle`.
fn only_tag<'a>(markup: &'a str, needle: &str) -> &'a str {
    let tags = tags_containing(markup, needle);
    assert_eq!(
        tags.len(),
        1,
        "expected exactly one element with {needle}: {tags:?}"
    );
    tags[0]
}

/// The markup of the chart row of `step`: from its start tag to the next row's.
fn row_markup(markup: &str, step: usize) -> &str {
    let needle = format!("data-step=\"{step}\"");
    let row_start = tags_containing(markup, &needle)
        .into_iter()
        .find(|tag| tag.contains("class=\"step\""))
        .map(|tag| markup.find(tag).expect("found in the markup"))
        .unwrap_or_else(|| panic!("no chart row for step {step}"));
    let rest = &markup[row_start + 1..];
    let row_end = rest
        .find("<g class=\"step\"")
        .map_or(markup.len(), |i| row_start + 1 + i);
    &markup[row_start..row_end]
}

/// Checks the lanes and the violation marker; used on the generated and on the rendered markup.
fn assert_lanes_and_violation(markup: &str, spec: &Spec, replayed: &Replayed, what: &str) {
    let lanes: Vec<String> = tags_containing(markup, " data-lane=\"")
        .iter()
        .map(|tag| attribute(tag, "data-lane").expect("a lane name"))
        .collect();
    let mut expected = vec!["coordinator".to_string()];
    expected.extend(spec.tasks.iter().map(|t| t.name.clone()));
    assert_eq!(
        lanes.len(),
        1 + spec.tasks.len(),
        "{what}: one lane per subtask plus the coordinator"
    );
    assert_eq!(lanes, expected, "{what}: lane names");

    let (step, invariant) = violation_of(replayed);
    let marker = only_tag(markup, "id=\"violation\"");
    assert_eq!(
        attribute(marker, "data-step"),
        Some(step.to_string()),
        "{what}: the violation marker is at the violated step"
    );
    assert_eq!(
        attribute(marker, "data-invariant").as_deref(),
        Some(invariant),
        "{what}: the marker names the invariant"
    );
    let row = row_markup(markup, step);
    assert!(
        row.contains("id=\"violation\""),
        "{what}: the marker sits inside the chart row of step {step}"
    );
    assert!(
        row.contains(&format!("VIOLATION {invariant} after step {step}")),
        "{what}: the marker's visible text names the invariant"
    );
}

// ---------------------------------------------------------------------------------------------
// Without a browser
// ---------------------------------------------------------------------------------------------

#[test]
fn the_counterexample_still_violates_the_exactly_once_invariant() {
    let report = rendered();
    let (step, invariant) = violation_of(&report.replayed);
    assert_eq!(invariant, INVARIANT);
    assert_eq!(step, report.replayed.steps.len());
}

#[test]
fn the_report_is_self_contained() {
    let html = rendered().html;
    let lower = html.to_lowercase();
    for forbidden in [
        "http://",
        "https://",
        "<script src",
        "<link",
        "<img",
        "<iframe",
        "url(",
    ] {
        assert!(
            !lower.contains(forbidden),
            "the report contains {forbidden:?}"
        );
    }
    for attribute_name in [" src=\"", " href=\""] {
        for tag in tags_containing(&html, attribute_name) {
            let value = attribute(tag, attribute_name.trim().trim_end_matches("=\""))
                .expect("an attribute value");
            assert!(
                value.starts_with('#'),
                "only links within the page are allowed, found {tag}"
            );
        }
    }
    assert!(
        html.contains("Content-Security-Policy") && html.contains("default-src 'none'"),
        "the report forbids every fetch"
    );
}

#[test]
fn the_report_is_deterministic() {
    let first = rendered().html;
    let second = rendered().html;
    assert!(first == second, "two renderings of the same trace differ");
}

#[test]
fn names_and_notes_are_escaped() {
    let report = rendered_with(|spec, trace| {
        spec.name = "model <b>&amp;".to_string();
        spec.tasks[2].name = "j<o>&in".to_string();
        trace.note = "a note with <script>alert(1)</script> & more".to_string();
    });
    let html = &report.html;
    for raw in ["j<o>&in", "<b>&amp;", "<script>alert"] {
        assert!(!html.contains(raw), "unescaped {raw:?} in the report");
    }
    assert!(html.contains("data-lane=\"j&lt;o&gt;&amp;in\""));
    assert!(html.contains("j&lt;o&gt;&amp;in"));
    assert!(html.contains("model &lt;b&gt;&amp;amp;"));
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; more"));
    // The action texts name the renamed task too, and are escaped in the chart rows.
    assert!(html.contains("-&gt; j&lt;o&gt;&amp;in"));
    assert_lanes_and_violation(html, &report.spec, &report.replayed, "escaped report");
}

#[test]
fn the_violation_marker_is_at_the_violated_step() {
    let report = rendered();
    assert_lanes_and_violation(&report.html, &report.spec, &report.replayed, "generated");
    assert!(report.html.contains("id=\"lifecycles\""));
    // The evidence names what is missing: the joined record that was never committed.
    let evidence = report
        .html
        .split("id=\"evidence\"")
        .nth(1)
        .expect("an evidence section");
    assert!(evidence
        .contains("<strong>Missing</strong> (expected, never written): <code>s0@0+s1@0</code>"));
}

#[test]
fn a_passing_trace_has_no_violation_marker() {
    let report = rendered_with(|_, trace| {
        trace.actions.truncate(10);
        trace.expected = trace::Expected::Pass;
    });
    assert!(matches!(report.replayed.outcome, Outcome::Pass));
    assert!(!report.html.contains("id=\"violation\""));
    assert!(report.html.contains("PASS"));
    assert_eq!(tags_containing(&report.html, "class=\"step\"").len(), 10);
}

// ---------------------------------------------------------------------------------------------
// In headless Chromium
// ---------------------------------------------------------------------------------------------

fn artifacts_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("target/ci-artifacts")
}

/// The Chromium binary: `CHECKPOINT_HARNESS_CHROMIUM`, else the usual names on the `PATH`.
fn find_chromium() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("CHECKPOINT_HARNESS_CHROMIUM") {
        return Some(PathBuf::from(path));
    }
    let names = [
        "chromium",
        "chromium-browser",
        "google-chrome",
        "google-chrome-stable",
    ];
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .flat_map(|dir| names.iter().map(move |name| dir.join(name)))
        .find(|candidate| candidate.is_file())
}

/// A `file://` URL for an absolute path, percent-encoding anything unusual.
fn file_url(path: &Path) -> String {
    let mut url = String::from("file://");
    for byte in path.to_string_lossy().bytes() {
        if byte.is_ascii_alphanumeric() || b"/-._~".contains(&byte) {
            url.push(byte as char);
        } else {
            url.push_str(&format!("%{byte:02X}"));
        }
    }
    url
}

/// What one Chromium run left behind.
struct Run {
    stdout: String,
    stderr: String,
    net_log: String,
}

/// A fresh scratch directory (profile, logs) for one Chromium run, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(label: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!(
            "checkpoint-harness-report-{}-{label}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("a scratch directory");
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs headless Chromium on `url` with `extra` arguments, offline-minded flags, a fresh
/// profile, console logging and a network log; kills it (its whole process group: Chromium
/// forks renderer and GPU processes) after `CHROMIUM_TIMEOUT`.
fn run_chromium(chromium: &Path, label: &str, extra: &[String], url: &str) -> Run {
    use std::os::unix::process::CommandExt;
    let scratch = Scratch::new(label);
    let stdout_path = scratch.0.join("stdout");
    let stderr_path = scratch.0.join("stderr");
    let net_log_path = scratch.0.join("net-log.json");
    let mut command = Command::new(chromium);
    command
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--no-first-run",
            "--no-default-browser-check",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!(
            "--user-data-dir={}",
            scratch.0.join("profile").display()
        ))
        .arg(format!("--log-net-log={}", net_log_path.display()))
        .args(extra)
        .arg(url)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&stdout_path).expect("stdout file"))
        .stderr(std::fs::File::create(&stderr_path).expect("stderr file"))
        .process_group(0);
    let mut child = command
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", chromium.display()));
    let deadline = Instant::now() + CHROMIUM_TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("waiting for chromium") {
            break status;
        }
        if Instant::now() >= deadline {
            // Only the group this test started: the browser and the processes it forked.
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", child.id())])
                .status();
            let _ = child.kill();
            let _ = child.wait();
            let stderr = std::fs::read_to_string(&stderr_path).unwrap_or_default();
            panic!(
                "chromium ({label}) did not finish within {CHROMIUM_TIMEOUT:?}; stderr:\n{stderr}"
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let run = Run {
        stdout: std::fs::read_to_string(&stdout_path).unwrap_or_default(),
        stderr: std::fs::read_to_string(&stderr_path).unwrap_or_default(),
        net_log: std::fs::read_to_string(&net_log_path).unwrap_or_default(),
    };
    assert!(
        status.success(),
        "chromium ({label}) exited with {status}; stderr:\n{}",
        run.stderr
    );
    run
}

/// The page logged no console error, loaded everything it asked for and made no network request.
fn assert_loaded_cleanly(run: &Run, url: &str) {
    assert_eq!(
        page_problems(&run.stderr, url),
        Vec::<String>::new(),
        "console errors or failed loads"
    );
    assert_eq!(
        page_requests(&run.net_log),
        Vec::<String>::new(),
        "the page made network requests"
    );
}

/// Console messages and load failures about the page. Chromium's stderr also carries unrelated
/// noise (D-Bus, GPU, sandbox warnings), which is ignored; the page runs no script, so any
/// console message at all is the browser reporting a problem with the page.
fn page_problems(stderr: &str, page_url: &str) -> Vec<String> {
    stderr
        .lines()
        .filter(|line| {
            line.contains(":CONSOLE")
                || ((line.contains("Failed to load") || line.contains("net::ERR"))
                    && (line.contains(page_url) || line.contains("file://")))
        })
        .map(str::to_string)
        .collect()
}

/// Network requests the page made. The net log also records the browser's own background
/// requests (update checks and the like, despite the flags); those have no `file://` page as
/// their network isolation key, the page's requests do.
fn page_requests(net_log: &str) -> Vec<String> {
    let log: serde_json::Value = serde_json::from_str(net_log)
        .unwrap_or_else(|e| panic!("the net log is not complete JSON ({e}); chromium crashed?"));
    let events = log["events"].as_array().expect("net log events");
    assert!(
        !events.is_empty(),
        "the net log recorded nothing: logging is broken"
    );
    let mut requests: Vec<String> = events
        .iter()
        .filter_map(|event| {
            let params = event.get("params")?;
            let url = params.get("url")?.as_str()?;
            let key = params
                .get("network_isolation_key")
                .and_then(|k| k.as_str())
                .unwrap_or("");
            (key.contains("file://") || url.starts_with("file:")).then(|| url.to_string())
        })
        .collect();
    requests.sort();
    requests.dedup();
    requests
}

/// Width and height from a PNG's header chunk.
fn png_size(png: &[u8]) -> (u32, u32) {
    assert!(
        png.len() > 24 && png.starts_with(b"\x89PNG\r\n\x1a\n") && &png[12..16] == b"IHDR",
        "the screenshot is not a PNG"
    );
    let word = |at: usize| u32::from_be_bytes([png[at], png[at + 1], png[at + 2], png[at + 3]]);
    (word(16), word(20))
}

/// A window tall enough for the whole report: the chart's height plus room for the header,
/// the evidence and the lifecycle table (which grow with the trace, like the chart).
fn window_height(html: &str) -> u32 {
    let chart = only_tag(html, "aria-label=\"message-sequence chart\"");
    let chart_height: u32 = attribute(chart, "height")
        .and_then(|h| h.parse().ok())
        .expect("the chart has a height");
    let table_rows = html.matches("<tr").count() as u32;
    (chart_height + 1000 + 30 * table_rows).min(16_000)
}

#[test]
fn the_report_renders_in_headless_chromium() {
    if std::env::var("CHECKPOINT_HARNESS_SKIP_BROWSER").as_deref() == Ok("1") {
        println!("CHECKPOINT_HARNESS_SKIP_BROWSER=1: skipping the headless Chromium test");
        return;
    }
    let Some(chromium) = find_chromium() else {
        support::skip_or_fail(
            "the_report_renders_in_headless_chromium",
            "headless Chromium",
            "install it (Debian/Ubuntu: `apt-get install -y chromium`; CI's .ci/run does this) or \
             point CHECKPOINT_HARNESS_CHROMIUM at a Chromium binary",
        );
        return;
    };
    let report = rendered();
    let dir = artifacts_dir();
    std::fs::create_dir_all(&dir).expect("target/ci-artifacts can be created");
    let page = dir.join("report.html");
    std::fs::write(&page, &report.html).expect("the report can be written");
    let page = page.canonicalize().expect("an absolute path");
    let url = file_url(&page);

    // The DOM as Chromium built it: broken escaping or markup would show up here as missing or
    // extra elements.
    let run = run_chromium(&chromium, "dom", &["--dump-dom".to_string()], &url);
    let dom = &run.stdout;
    assert!(
        dom.contains("id=\"lifecycles\""),
        "chromium did not render the report; stdout:\n{dom}\nstderr:\n{}",
        run.stderr
    );
    assert_lanes_and_violation(dom, &report.spec, &report.replayed, "rendered page");
    assert!(
        dom.contains(&format!("data-invariant=\"{INVARIANT}\"")),
        "the rendered marker names {INVARIANT}"
    );
    assert_loaded_cleanly(&run, &url);

    // The screenshot, kept as a CI artefact.
    let screenshot = dir.join("report.png");
    let _ = std::fs::remove_file(&screenshot);
    let height = window_height(&report.html);
    let run = run_chromium(
        &chromium,
        "screenshot",
        &[
            format!("--screenshot={}", screenshot.display()),
            format!("--window-size={WINDOW_WIDTH},{height}"),
            "--hide-scrollbars".to_string(),
        ],
        &url,
    );
    assert_loaded_cleanly(&run, &url);
    let png = std::fs::read(&screenshot).expect("chromium wrote the screenshot");
    assert_eq!(png_size(&png), (WINDOW_WIDTH, height), "screenshot size");
    println!(
        "report: {}\nscreenshot: {} ({WINDOW_WIDTH}x{height})",
        page.display(),
        screenshot.display()
    );
}
