//! A self-contained HTML report of a replayed trace: header and outcome, what the violated
//! invariant saw against what it expected (with the output evidence of exactly-once checks), a
//! message-sequence chart drawn as inline SVG from [`render::chart`], and a table of checkpoint
//! lifecycles.
//!
//! The document loads nothing: inline CSS only, no script, and a Content-Security-Policy that
//! forbids every fetch, so it opens anywhere (CI artefact viewers, mail attachments, offline)
//! and a browser refuses, loudly, anything that would reach out. Layout is computed here in
//! integer pixels so the same input always gives the same bytes.
//!
//! Stable markup for tests and tools: lane headers carry `data-lane="<name>"` (one element per
//! lane), chart rows `data-step="<n>"` and `id="step-<n>"`, the violation marker
//! `id="violation"` with `data-step` and `data-invariant`, the lifecycle table
//! `id="lifecycles"`.

use crate::explore::sim::Outcome;
use crate::oracle::invariants::OutputEvidence;
use crate::present::render::{self, ArrowKind, Chart, ChartItem, ChartStep, Lifecycle, NoteKind};
use crate::system::protocol::Lineage;
use crate::system::spec::Spec;
use crate::trace::{Expected, Origin, Replayed, Trace};
use std::fmt::Write as _;

/// Height of one line of the chart; a step takes one line per item (at least one).
const LINE: i64 = 24;
/// Chart text size; labels are monospace so that truncation by character count is exact.
const FONT_PX: i64 = 12;
/// Advance of one monospace character at `FONT_PX`, in tenths of a pixel (0.6 em).
const CHAR_TENTHS: i64 = 73;
/// Right edge of the step number, start of the clock and of the action text.
const STEP_X: i64 = 44;
const TIME_X: i64 = 52;
const ACTION_X: i64 = 118;
/// Width of the action column; the lanes start after it.
const ACTION_WIDTH: i64 = 340;
const LANES_LEFT: i64 = ACTION_X + ACTION_WIDTH;
/// Height of the lane header strip.
const HEADER_HEIGHT: i64 = 40;
/// Space below the last row so the bottom arrow heads are not clipped.
const BOTTOM_PAD: i64 = 8;

/// Renders the report. `evidence` is the output evidence of the final world, which the caller
/// passes for exactly-once invariants; it adds which records are missing or duplicated and who
/// wrote them.
pub fn report(
    spec: &Spec,
    trace: &Trace,
    replayed: &Replayed,
    evidence: Option<&OutputEvidence>,
) -> String {
    let chart = render::chart(spec, replayed);
    let verdict = Verdict::of(&replayed.outcome);
    let mut out = String::new();
    document_head(&mut out, &chart, verdict.as_ref());
    out.push_str("<body>\n");
    header_section(&mut out, spec, trace, replayed, verdict.as_ref());
    evidence_section(&mut out, verdict.as_ref(), evidence);
    chart_section(&mut out, &chart, verdict.as_ref(), trace.healed_at);
    lifecycle_section(&mut out, &chart.lifecycles);
    let _ = writeln!(
        out,
        "<footer>checkpoint-harness {} &middot; trace format {}</footer>",
        escape(env!("CARGO_PKG_VERSION")),
        trace.format_version
    );
    out.push_str("</body>\n</html>\n");
    out
}

/// The violated invariant and the (1-based) step after which it was seen.
struct Verdict {
    step: usize,
    invariant: String,
    detail: String,
}

impl Verdict {
    /// Taken from the replay outcome rather than the chart's per-step violations, because a
    /// liveness failure (the healed run did not finish) belongs to the last step without any
    /// step's invariant check failing.
    fn of(outcome: &Outcome) -> Option<Verdict> {
        match outcome {
            Outcome::Pass => None,
            Outcome::Violation { violation, step } => Some(Verdict {
                step: *step,
                invariant: violation.invariant.to_string(),
                detail: violation.detail.clone(),
            }),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Text helpers
// ---------------------------------------------------------------------------------------------

/// Escapes text for HTML and SVG content and for double- or single-quoted attributes.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// How many monospace characters fit in `px` pixels.
fn chars_in(px: i64) -> usize {
    (px.max(0) * 10 / CHAR_TENTHS).max(1) as usize
}

/// `text` cut to `max_chars` with an ellipsis, and whether it was cut.
fn clip(text: &str, max_chars: usize) -> (String, bool) {
    if text.chars().count() <= max_chars {
        return (text.to_string(), false);
    }
    let mut cut: String = text.chars().take(max_chars.saturating_sub(1)).collect();
    cut.push('\u{2026}');
    (cut, true)
}

/// An SVG `<text>` fitted into `max_px`; when cut, the full text is its tooltip.
fn svg_text(out: &mut String, x: i64, y: i64, anchor: &str, class: &str, text: &str, max_px: i64) {
    let (shown, cut) = clip(text, chars_in(max_px));
    let _ = write!(
        out,
        "<text x=\"{x}\" y=\"{y}\" text-anchor=\"{anchor}\" class=\"{class}\">"
    );
    if cut {
        let _ = write!(out, "<title>{}</title>", escape(text));
    }
    let _ = writeln!(out, "{}</text>", escape(&shown));
}

fn list_of(lineages: &[Lineage]) -> String {
    if lineages.is_empty() {
        return "none".to_string();
    }
    lineages
        .iter()
        .map(|l| format!("<code>{}</code>", escape(&l.to_string())))
        .collect::<Vec<_>>()
        .join(", ")
}

fn step_link(step: usize) -> String {
    format!("<a href=\"#step-{step}\">{step}</a>")
}

// ---------------------------------------------------------------------------------------------
// Document head and header
// ---------------------------------------------------------------------------------------------

const STYLE: &str = r#"
:root { color-scheme: light; }
body { margin: 0; padding: 0 24px 24px; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; color: #1f2328; background: #fff; }
h1 { font-size: 22px; margin: 18px 0 4px; }
h2 { font-size: 17px; margin: 26px 0 8px; border-bottom: 1px solid #d0d7de; padding-bottom: 4px; }
code, .mono { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 12.5px; }
.desc { margin: 0 0 10px; color: #57606a; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 2px 14px; margin: 8px 0; }
dl.facts dt { color: #57606a; }
dl.facts dd { margin: 0; }
.outcome { display: inline-block; padding: 6px 12px; border-radius: 6px; font-weight: 600; margin: 8px 0; }
.outcome.pass { background: #dafbe1; color: #116329; border: 1px solid #4ac26b; }
.outcome.fail { background: #ffebe9; color: #82071e; border: 1px solid #ff8182; }
.note { color: #57606a; max-width: 1100px; }
blockquote.detail { margin: 6px 0; padding: 8px 12px; background: #fff8f7; border-left: 4px solid #cf222e; font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: 12.5px; white-space: pre-wrap; }
table { border-collapse: collapse; margin: 6px 0; }
th, td { border: 1px solid #d0d7de; padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #f6f8fa; }
tr.missing td, tr.duplicate td { background: #ffebe9; color: #82071e; font-weight: 600; }
tr.completed td.outcome-cell { color: #116329; }
tr.aborted td.outcome-cell { color: #82071e; }
tr.pending td.outcome-cell { color: #9a6700; }
.side-by-side { display: flex; gap: 32px; flex-wrap: wrap; align-items: flex-start; }
.legend { display: flex; flex-wrap: wrap; gap: 4px 16px; margin: 6px 0 10px; font-size: 12.5px; }
.legend span { white-space: nowrap; }
.legend svg { vertical-align: middle; }
.chart-head { position: sticky; top: 0; z-index: 2; background: #fff; }
svg.chart, svg.lanes { display: block; font-family: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 12px; }
svg .zebra { fill: #f6f8fa; }
svg .lane-line { stroke: #d0d7de; stroke-width: 1; }
svg .lane-line.coordinator { stroke: #8c959f; stroke-width: 1.5; }
svg .lane-box { fill: #f6f8fa; stroke: #8c959f; }
svg .lane-box.coordinator { fill: #24292f; stroke: #24292f; }
svg .lane-name { fill: #1f2328; font-weight: 600; }
svg .lane-name.coordinator { fill: #fff; }
svg .col-name { fill: #57606a; font-weight: 600; }
svg .num { fill: #1f2328; font-weight: 600; }
svg .time { fill: #6e7781; }
svg .action { fill: #24292f; }
svg .hit { fill: transparent; }
svg .step:hover > .hit { fill: rgba(9, 105, 218, 0.07); }
svg .arrow line, svg .arrow path { stroke: currentColor; stroke-width: 1.6; fill: none; }
svg .arrow polygon, svg .arrow circle { fill: currentColor; stroke: none; }
svg .arrow text { fill: currentColor; paint-order: stroke; stroke: #fff; stroke-width: 3px; stroke-linejoin: round; }
svg .a-trigger { color: #0969da; }
svg .a-barrier { color: #8250df; }
svg .a-barrier line { stroke-width: 2.6; }
svg .a-record { color: #57606a; }
svg .a-record line { stroke-dasharray: 5 3; }
svg .a-ack { color: #1a7f37; }
svg .a-decline { color: #cf222e; }
svg .a-notify { color: #0e7c86; }
svg .a-cancel { color: #bc4c00; }
svg .a-cancel line { stroke-dasharray: 7 3; }
svg .a-control { color: #6e7781; }
svg .a-control line { stroke-dasharray: 2 3; }
svg .note rect { stroke-width: 1; }
svg .n-snapshot rect { fill: #ddf4ff; stroke: #54aeff; } svg .n-snapshot text { fill: #0a3069; }
svg .n-commit rect { fill: #dafbe1; stroke: #4ac26b; } svg .n-commit text { fill: #116329; }
svg .n-complete rect { fill: #1a7f37; stroke: #116329; } svg .n-complete text { fill: #fff; font-weight: 600; }
svg .n-abort rect { fill: #ffebe9; stroke: #ff8182; } svg .n-abort text { fill: #82071e; }
svg .n-crash rect { fill: #cf222e; stroke: #82071e; } svg .n-crash text { fill: #fff; font-weight: 700; }
svg .n-restore rect { fill: #fff8c5; stroke: #d4a72c; } svg .n-restore text { fill: #4d2d00; font-weight: 600; }
svg .n-finish rect { fill: #eaeef2; stroke: #8c959f; } svg .n-finish text { fill: #24292f; }
svg .n-timer rect { fill: #fbefff; stroke: #c297ff; } svg .n-timer text { fill: #512a97; }
svg .n-fault rect { fill: #fff1e5; stroke: #fb8f44; } svg .n-fault text { fill: #762c00; font-weight: 600; }
svg .n-info rect { fill: #ffffff; stroke: #afb8c1; } svg .n-info text { fill: #24292f; }
svg .healed line { stroke: #1a7f37; stroke-width: 1.5; stroke-dasharray: 6 4; }
svg .healed text { fill: #1a7f37; font-weight: 600; }
svg .violation-band { fill: rgba(207, 34, 46, 0.10); stroke: #cf222e; stroke-width: 2; }
svg .violation-bar { fill: #cf222e; }
svg .violation-line { fill: #fbe3e5; }
svg .violation-text { fill: #a40e26; font-weight: 700; }
footer { margin-top: 28px; color: #8c959f; font-size: 12px; }
"#;

fn document_head(out: &mut String, chart: &Chart, verdict: Option<&Verdict>) {
    let title = match verdict {
        Some(v) => format!(
            "{}: {} violated at step {}",
            chart.model, v.invariant, v.step
        ),
        None => format!("{}: pass", chart.model),
    };
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    // The policy makes self-containment a property the browser enforces: any fetch is refused
    // and reported on the console instead of silently reaching the network.
    out.push_str("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    let _ = writeln!(out, "<title>{}</title>", escape(&title));
    let _ = writeln!(out, "<style>{STYLE}</style>\n</head>");
}

fn describe_origin(origin: &Origin) -> String {
    match origin {
        Origin::Sim { scheduler, config } => {
            format!("simulator, {scheduler} scheduler ({config})")
        }
        Origin::Check { strategy } => format!("model checker ({strategy})"),
        Origin::Shrink {
            from,
            original_length,
        } => format!("shrunk from {from} ({original_length} actions)"),
        Origin::Hand => "written by hand".to_string(),
    }
}

fn describe_expected(expected: &Expected) -> String {
    match expected {
        Expected::Pass => "pass".to_string(),
        Expected::Violation { invariant } => format!("violation of {invariant}"),
    }
}

fn fact(out: &mut String, name: &str, value_html: &str) {
    let _ = writeln!(out, "<dt>{name}</dt><dd>{value_html}</dd>");
}

fn header_section(
    out: &mut String,
    spec: &Spec,
    trace: &Trace,
    replayed: &Replayed,
    verdict: Option<&Verdict>,
) {
    let _ = writeln!(
        out,
        "<header>\n<h1>checkpoint-harness report: {}</h1>",
        escape(&spec.name)
    );
    if !spec.description.is_empty() {
        let _ = writeln!(out, "<p class=\"desc\">{}</p>", escape(&spec.description));
    }
    out.push_str("<dl class=\"facts\">\n");
    fact(
        out,
        "model",
        &format!("<code>{}</code>", escape(&spec.name)),
    );
    fact(
        out,
        "model file",
        &format!("<code>{}</code>", escape(&trace.model_file)),
    );
    fact(
        out,
        "trace origin",
        &escape(&describe_origin(&trace.origin)),
    );
    if let Some(seed) = trace.seed {
        fact(out, "seed", &seed.to_string());
    }
    if !trace.bugs.is_empty() {
        fact(out, "injected bugs", &escape(&trace.bugs.join(", ")));
    }
    fact(
        out,
        "steps",
        &format!(
            "{} replayed of {} actions in the trace",
            replayed.steps.len(),
            trace.actions.len()
        ),
    );
    if let Some(healed_at) = trace.healed_at {
        fact(
            out,
            "healed phase",
            &format!("from step {} (faults stop)", healed_at + 1),
        );
    }
    fact(
        out,
        "expected",
        &escape(&describe_expected(&trace.expected)),
    );
    out.push_str("</dl>\n");
    match verdict {
        Some(v) => {
            let _ = writeln!(
                out,
                "<p class=\"outcome fail\">VIOLATION: <code>{}</code> after step {} &middot; <a href=\"#violation\">show in the chart</a></p>",
                escape(&v.invariant),
                v.step
            );
        }
        None => out.push_str("<p class=\"outcome pass\">PASS: no invariant was violated</p>\n"),
    }
    if !trace.note.is_empty() {
        let _ = writeln!(out, "<p class=\"note\">{}</p>", escape(&trace.note));
    }
    out.push_str("</header>\n");
}

// ---------------------------------------------------------------------------------------------
// What it saw against what it expected
// ---------------------------------------------------------------------------------------------

fn evidence_section(
    out: &mut String,
    verdict: Option<&Verdict>,
    evidence: Option<&OutputEvidence>,
) {
    if verdict.is_none() && evidence.is_none() {
        return;
    }
    out.push_str("<section id=\"evidence\">\n<h2>What it saw against what it expected</h2>\n");
    if let Some(v) = verdict {
        let _ = writeln!(
            out,
            "<p>After step {} the invariant <code>{}</code> failed:</p>\n<blockquote class=\"detail\">{}</blockquote>",
            step_link(v.step),
            escape(&v.invariant),
            escape(&v.detail)
        );
    }
    if let Some(evidence) = evidence {
        output_evidence(out, evidence);
    }
    out.push_str("</section>\n");
}

fn output_evidence(out: &mut String, evidence: &OutputEvidence) {
    match &evidence.missing {
        Some(missing) => {
            let _ = writeln!(
                out,
                "<p><strong>Missing</strong> (expected, never written): {}</p>",
                list_of(missing)
            );
        }
        None => out.push_str(
            "<p><strong>Missing</strong>: not judged, the job had not finished (a record not written yet may not have been emitted yet)</p>\n",
        ),
    }
    if evidence.duplicated.is_empty() {
        out.push_str(
            "<p><strong>Duplicated</strong> (written more often than expected): none</p>\n",
        );
    } else {
        out.push_str("<p><strong>Duplicated</strong> (written more often than expected):</p>\n");
        out.push_str("<table id=\"duplicated\">\n<tr><th>record</th><th>written by</th></tr>\n");
        for (lineage, writers) in &evidence.duplicated {
            let _ = writeln!(
                out,
                "<tr class=\"duplicate\"><td><code>{}</code></td><td>{}</td></tr>",
                escape(&lineage.to_string()),
                escape(&writers.join(", "))
            );
        }
        out.push_str("</table>\n");
    }
    out.push_str("<div class=\"side-by-side\">\n");
    expected_output_table(out, evidence);
    actual_output_table(out, evidence);
    out.push_str("</div>\n");
}

/// The reference output, with the records that never arrived marked (as many occurrences as
/// are missing, since outputs are multisets).
fn expected_output_table(out: &mut String, evidence: &OutputEvidence) {
    let mut still_missing = evidence.missing.clone().unwrap_or_default();
    let _ = writeln!(
        out,
        "<table id=\"expected-output\">\n<tr><th>expected output once the job finished ({} records, reference fold)</th></tr>",
        evidence.expected.len()
    );
    for lineage in &evidence.expected {
        let missing = match still_missing.iter().position(|m| m == lineage) {
            Some(index) => {
                still_missing.remove(index);
                true
            }
            None => false,
        };
        let _ = writeln!(
            out,
            "<tr{}><td><code>{}</code>{}</td></tr>",
            if missing { " class=\"missing\"" } else { "" },
            escape(&lineage.to_string()),
            if missing { " &mdash; missing" } else { "" }
        );
    }
    if evidence.expected.is_empty() {
        out.push_str("<tr><td>nothing</td></tr>\n");
    }
    out.push_str("</table>\n");
}

/// The external output in write order, with who wrote each record and duplicates marked.
fn actual_output_table(out: &mut String, evidence: &OutputEvidence) {
    let _ = writeln!(
        out,
        "<table id=\"actual-output\">\n<tr><th>actual external output ({} records)</th><th>written by</th></tr>",
        evidence.actual.len()
    );
    for (lineage, writer) in &evidence.actual {
        let duplicate = evidence.duplicated.iter().any(|(l, _)| l == lineage);
        let _ = writeln!(
            out,
            "<tr{}><td><code>{}</code>{}</td><td>{}</td></tr>",
            if duplicate {
                " class=\"duplicate\""
            } else {
                ""
            },
            escape(&lineage.to_string()),
            if duplicate { " &mdash; duplicate" } else { "" },
            escape(writer)
        );
    }
    if evidence.actual.is_empty() {
        out.push_str("<tr><td colspan=\"2\">nothing</td></tr>\n");
    }
    out.push_str("</table>\n");
}

// ---------------------------------------------------------------------------------------------
// The message-sequence chart
// ---------------------------------------------------------------------------------------------

/// Horizontal geometry of the chart: lane spacing shrinks with more lanes, within bounds that
/// keep one-gap labels readable; wide topologies scroll horizontally instead.
struct Layout {
    lanes: usize,
    gap: i64,
}

impl Layout {
    fn new(lanes: usize) -> Layout {
        let gap = (860 / lanes.max(1) as i64).clamp(120, 240);
        Layout {
            lanes: lanes.max(1),
            gap,
        }
    }

    fn lane_x(&self, lane: usize) -> i64 {
        LANES_LEFT + self.gap / 2 + lane as i64 * self.gap
    }

    /// Right edge of the last lane's column.
    fn lanes_right(&self) -> i64 {
        LANES_LEFT + self.lanes as i64 * self.gap
    }

    fn width(&self) -> i64 {
        self.lanes_right() + 8
    }
}

/// One line of a step's row.
enum Line<'a> {
    Healed,
    Item(Option<&'a ChartItem>),
    /// The first line of the violation text; the marker draws all of them.
    Violation,
    /// A further line of the violation text (space only).
    ViolationMore,
}

/// The lines of a step, top to bottom: the healed-phase marker where faults stop, one line per
/// item (the first also carries the action text), and the lines of the violation text.
fn lines_of<'a>(step: &'a ChartStep, healed: bool, violation_lines: usize) -> Vec<Line<'a>> {
    let mut lines = Vec::new();
    if healed {
        lines.push(Line::Healed);
    }
    if step.items.is_empty() {
        lines.push(Line::Item(None));
    }
    lines.extend(step.items.iter().map(|item| Line::Item(Some(item))));
    if violation_lines > 0 {
        lines.push(Line::Violation);
        lines.extend((1..violation_lines).map(|_| Line::ViolationMore));
    }
    lines
}

fn arrow_class(kind: ArrowKind) -> &'static str {
    match kind {
        ArrowKind::Trigger => "a-trigger",
        ArrowKind::Barrier => "a-barrier",
        ArrowKind::Record => "a-record",
        ArrowKind::Ack => "a-ack",
        ArrowKind::Decline => "a-decline",
        ArrowKind::Notify => "a-notify",
        ArrowKind::Cancel => "a-cancel",
        ArrowKind::Control => "a-control",
    }
}

fn note_class(kind: NoteKind) -> &'static str {
    match kind {
        NoteKind::Snapshot => "n-snapshot",
        NoteKind::Commit => "n-commit",
        NoteKind::Complete => "n-complete",
        NoteKind::Abort => "n-abort",
        NoteKind::Crash => "n-crash",
        NoteKind::Restore => "n-restore",
        NoteKind::Finish => "n-finish",
        NoteKind::Timer => "n-timer",
        NoteKind::Fault => "n-fault",
        NoteKind::Info => "n-info",
    }
}

const ARROW_LEGEND: &[(ArrowKind, &str)] = &[
    (ArrowKind::Trigger, "trigger"),
    (ArrowKind::Barrier, "barrier"),
    (ArrowKind::Record, "record"),
    (ArrowKind::Ack, "ack"),
    (ArrowKind::Decline, "decline"),
    (ArrowKind::Notify, "notification"),
    (ArrowKind::Cancel, "cancellation"),
    (ArrowKind::Control, "control"),
];

const NOTE_LEGEND: &[(NoteKind, &str)] = &[
    (NoteKind::Snapshot, "snapshot"),
    (NoteKind::Commit, "commit / write"),
    (NoteKind::Complete, "complete"),
    (NoteKind::Abort, "abort"),
    (NoteKind::Crash, "crash"),
    (NoteKind::Restore, "restore"),
    (NoteKind::Finish, "finish"),
    (NoteKind::Timer, "timer"),
    (NoteKind::Fault, "fault"),
    (NoteKind::Info, "coordinator event"),
];

fn legend(out: &mut String) {
    out.push_str("<div class=\"legend\">\n");
    for (kind, name) in ARROW_LEGEND {
        let _ = writeln!(
            out,
            "<span><svg class=\"chart\" width=\"44\" height=\"12\"><g class=\"arrow {}\"><line x1=\"2\" y1=\"6\" x2=\"34\" y2=\"6\"/><polygon points=\"42,6 33,2 33,10\"/></g></svg> {name}</span>",
            arrow_class(*kind)
        );
    }
    for (kind, name) in NOTE_LEGEND {
        let _ = writeln!(
            out,
            "<span><svg class=\"chart\" width=\"26\" height=\"14\"><g class=\"note {}\"><rect x=\"1\" y=\"1\" width=\"24\" height=\"12\" rx=\"3\"/></g></svg> {name}</span>",
            note_class(*kind)
        );
    }
    out.push_str("</div>\n");
}

fn chart_section(
    out: &mut String,
    chart: &Chart,
    verdict: Option<&Verdict>,
    healed_at: Option<usize>,
) {
    let layout = Layout::new(chart.lanes.len());
    out.push_str("<section id=\"chart\">\n<h2>Message-sequence chart</h2>\n");
    out.push_str("<p>One lane per subtask plus the coordinator; one row per step (number and logical time on the left). Hover over a row or a cut label for the full text; step numbers in the tables link here.</p>\n");
    legend(out);
    out.push_str("<div class=\"chart-head\">\n");
    lane_headers(out, &layout, &chart.lanes);
    out.push_str("</div>\n");
    chart_body(
        out,
        &layout,
        chart,
        verdict,
        healed_at.map(|index| index + 1),
    );
    out.push_str("</section>\n");
}

/// The lane header strip, kept in its own SVG so that it can stay in view (sticky) while a long
/// chart scrolls under it.
fn lane_headers(out: &mut String, layout: &Layout, lanes: &[String]) {
    let _ = writeln!(
        out,
        "<svg class=\"lanes\" width=\"{}\" height=\"{HEADER_HEIGHT}\" role=\"img\" aria-label=\"lanes\">",
        layout.width()
    );
    let y = HEADER_HEIGHT / 2 + FONT_PX / 2 - 2;
    svg_text(out, STEP_X, y, "end", "col-name", "step", 60);
    svg_text(out, TIME_X, y, "start", "col-name", "t", 40);
    svg_text(
        out,
        ACTION_X,
        y,
        "start",
        "col-name",
        "action",
        ACTION_WIDTH,
    );
    for (lane, name) in lanes.iter().enumerate() {
        let x = layout.lane_x(lane);
        let role = if lane == 0 { " coordinator" } else { "" };
        let box_width = layout.gap - 16;
        let _ = writeln!(
            out,
            "<g data-lane=\"{}\"><rect class=\"lane-box{role}\" x=\"{}\" y=\"6\" width=\"{box_width}\" height=\"{}\" rx=\"5\"/>",
            escape(name),
            x - box_width / 2,
            HEADER_HEIGHT - 12
        );
        svg_text(
            out,
            x,
            y,
            "middle",
            &format!("lane-name{role}"),
            name,
            box_width - 10,
        );
        out.push_str("</g>\n");
    }
    out.push_str("</svg>\n");
}

/// Where each step's row starts and how many lines it has.
struct Row<'a> {
    step: &'a ChartStep,
    top: i64,
    lines: Vec<Line<'a>>,
}

impl Row<'_> {
    fn height(&self) -> i64 {
        self.lines.len() as i64 * LINE
    }
}

fn rows_of<'a>(
    chart: &'a Chart,
    violation: Option<(&Verdict, usize)>,
    healed_step: Option<usize>,
) -> Vec<Row<'a>> {
    let mut top = 0;
    let mut rows = Vec::with_capacity(chart.steps.len());
    for step in &chart.steps {
        let violation_lines = match violation {
            Some((v, lines)) if v.step == step.number => lines,
            _ => 0,
        };
        let lines = lines_of(step, healed_step == Some(step.number), violation_lines);
        let row = Row { step, top, lines };
        top += row.height();
        rows.push(row);
    }
    rows
}

fn chart_body(
    out: &mut String,
    layout: &Layout,
    chart: &Chart,
    verdict: Option<&Verdict>,
    healed_step: Option<usize>,
) {
    let text = verdict.map_or(Vec::new(), |v| violation_text(layout, v));
    let rows = rows_of(chart, verdict.map(|v| (v, text.len())), healed_step);
    let rows_bottom = rows.last().map_or(0, |r| r.top + r.height());
    // A violation after no step at all (an empty trace) still gets its marker, below the rows.
    let orphan = verdict.filter(|v| !chart.steps.iter().any(|s| s.number == v.step));
    let orphan_height = (1 + text.len() as i64) * LINE;
    let height = rows_bottom + if orphan.is_some() { orphan_height } else { 0 } + BOTTOM_PAD;
    let width = layout.width();
    let _ = writeln!(
        out,
        "<svg class=\"chart\" width=\"{width}\" height=\"{height}\" role=\"img\" aria-label=\"message-sequence chart\">"
    );
    // Layers, bottom to top: zebra stripes, lane lines, then the rows themselves, so that every
    // row's content is drawn over the lane lines.
    for row in rows.iter().filter(|r| r.step.number % 2 == 0) {
        let _ = writeln!(
            out,
            "<rect class=\"zebra\" x=\"0\" y=\"{}\" width=\"{width}\" height=\"{}\"/>",
            row.top,
            row.height()
        );
    }
    for lane in 0..layout.lanes {
        let x = layout.lane_x(lane);
        let role = if lane == 0 { " coordinator" } else { "" };
        let _ = writeln!(
            out,
            "<line class=\"lane-line{role}\" x1=\"{x}\" y1=\"0\" x2=\"{x}\" y2=\"{height}\"/>"
        );
    }
    for row in &rows {
        step_row(out, layout, row, verdict, &text);
    }
    if let Some(v) = orphan {
        violation_marker(out, layout, v, &text, (rows_bottom, orphan_height));
    }
    out.push_str("</svg>\n");
}

fn step_row(
    out: &mut String,
    layout: &Layout,
    row: &Row,
    verdict: Option<&Verdict>,
    violation_text: &[String],
) {
    let step = row.step;
    let _ = writeln!(
        out,
        "<g class=\"step\" id=\"step-{n}\" data-step=\"{n}\"><title>step {n} (t={}): {}</title>",
        step.now,
        escape(&step.action),
        n = step.number
    );
    let _ = writeln!(
        out,
        "<rect class=\"hit\" x=\"0\" y=\"{}\" width=\"{}\" height=\"{}\"/>",
        row.top,
        layout.width(),
        row.height()
    );
    let mut action_shown = false;
    for (index, line) in row.lines.iter().enumerate() {
        let top = row.top + index as i64 * LINE;
        match line {
            Line::Healed => healed_line(out, layout, top),
            Line::Item(item) => {
                if !action_shown {
                    step_gutter(out, step, top);
                    action_shown = true;
                }
                match item {
                    Some(ChartItem::Arrow {
                        from,
                        to,
                        label,
                        kind,
                    }) => arrow(out, layout, top, (*from, *to), label, *kind),
                    Some(ChartItem::Note {
                        first,
                        last,
                        text,
                        kind,
                    }) => note(out, layout, top, (*first, *last), text, *kind),
                    None => {}
                }
            }
            Line::Violation => {
                if let Some(v) = verdict {
                    violation_marker(out, layout, v, violation_text, (row.top, row.height()));
                }
            }
            Line::ViolationMore => {}
        }
    }
    out.push_str("</g>\n");
}

/// Baseline of text vertically centred in a line starting at `top`.
fn baseline(top: i64) -> i64 {
    top + LINE / 2 + FONT_PX / 2 - 2
}

fn step_gutter(out: &mut String, step: &ChartStep, top: i64) {
    let y = baseline(top);
    svg_text(
        out,
        STEP_X,
        y,
        "end",
        "num",
        &step.number.to_string(),
        STEP_X,
    );
    svg_text(
        out,
        TIME_X,
        y,
        "start",
        "time",
        &format!("t={}", step.now),
        ACTION_X - TIME_X - 4,
    );
    svg_text(
        out,
        ACTION_X,
        y,
        "start",
        "action",
        &step.action,
        ACTION_WIDTH - 12,
    );
}

fn healed_line(out: &mut String, layout: &Layout, top: i64) {
    let y = top + LINE / 2;
    let _ = writeln!(
        out,
        "<g class=\"healed\"><line x1=\"{}\" y1=\"{y}\" x2=\"{}\" y2=\"{y}\"/>",
        LANES_LEFT,
        layout.width()
    );
    svg_text(
        out,
        TIME_X,
        baseline(top),
        "start",
        "",
        "faults stop here: healed phase",
        LANES_LEFT - TIME_X - 8,
    );
    out.push_str("</g>\n");
}

/// An arrow between two lanes: the label above the shaft, a dot where it leaves, a head where
/// it arrives (and a cross for refusals). Labels may be wider than a one-lane shaft because each
/// item has its own line, but they stay inside the lane area.
fn arrow(
    out: &mut String,
    layout: &Layout,
    top: i64,
    (from, to): (usize, usize),
    label: &str,
    kind: ArrowKind,
) {
    let x1 = layout.lane_x(from);
    let x2 = layout.lane_x(to);
    let y = top + LINE - 6;
    let _ = writeln!(out, "<g class=\"arrow {}\">", arrow_class(kind));
    if from == to {
        // A message to oneself: a small loop to the right.
        let _ = writeln!(
            out,
            "<path d=\"M{x1} {} h22 v8 h-20\"/><polygon points=\"{x1},{} {},{} {},{}\"/>",
            y - 8,
            y,
            x1 + 8,
            y - 4,
            x1 + 8,
            y + 4
        );
    } else {
        let dir = if x2 > x1 { 1 } else { -1 };
        let tip = x2 - dir * 2;
        let _ = writeln!(
            out,
            "<circle cx=\"{x1}\" cy=\"{y}\" r=\"2.5\"/><line x1=\"{x1}\" y1=\"{y}\" x2=\"{}\" y2=\"{y}\"/><polygon points=\"{tip},{y} {},{} {},{}\"/>",
            tip - dir * 8,
            tip - dir * 9,
            y - 4,
            tip - dir * 9,
            y + 4
        );
        if matches!(kind, ArrowKind::Decline | ArrowKind::Cancel) {
            let cx = tip - dir * 16;
            let _ = writeln!(
                out,
                "<path d=\"M{} {} l8 8 M{} {} l-8 8\"/>",
                cx - 4,
                y - 4,
                cx + 4,
                y - 4
            );
        }
    }
    let lanes_right = layout.lanes_right();
    let span = (x2 - x1)
        .abs()
        .max(2 * layout.gap)
        .min(lanes_right - LANES_LEFT)
        - 8;
    let (shown, _) = clip(label, chars_in(span));
    let half = shown.chars().count() as i64 * CHAR_TENTHS / 20 + 4;
    // min then max rather than clamp: never panics, even if rounding made the label a pixel
    // wider than the lane area.
    let centre = ((x1 + x2) / 2)
        .min(lanes_right - half)
        .max(LANES_LEFT + half);
    svg_text(out, centre, y - 5, "middle", "", label, span);
    out.push_str("</g>\n");
}

/// A note box over lanes `first..=last`. A box grows to fit its text instead of cutting it (up
/// to two lanes or 284 px wide, centred on its lanes and kept inside the lane area): each item
/// has a line of its own, so the wider box covers nothing else.
fn note(
    out: &mut String,
    layout: &Layout,
    top: i64,
    (first, last): (usize, usize),
    text: &str,
    kind: NoteKind,
) {
    let (first, last) = (first.min(last), first.max(last));
    let lanes_left = LANES_LEFT + 8;
    let lanes_right = layout.lanes_right() - 8;
    let natural = layout.lane_x(last) - layout.lane_x(first) + layout.gap - 16;
    let wanted = text.chars().count() as i64 * CHAR_TENTHS / 10 + 14;
    let width = wanted
        .clamp(natural, natural.max(2 * layout.gap.max(150) - 16))
        .min(lanes_right - lanes_left);
    let centre = (layout.lane_x(first) + layout.lane_x(last)) / 2;
    let left = (centre - width / 2)
        .min(lanes_right - width)
        .max(lanes_left);
    let _ = writeln!(
        out,
        "<g class=\"note {}\"><rect x=\"{left}\" y=\"{}\" width=\"{width}\" height=\"{}\" rx=\"4\"/>",
        note_class(kind),
        top + 3,
        LINE - 6
    );
    svg_text(
        out,
        left + width / 2,
        baseline(top),
        "middle",
        "",
        text,
        width - 10,
    );
    out.push_str("</g>\n");
}

/// The violation text, wrapped at word boundaries to the chart's width; at most four lines
/// (the last cut, with the full text as tooltip) so that a huge detail does not swamp the
/// chart: the evidence section above has it in full.
fn violation_text(layout: &Layout, verdict: &Verdict) -> Vec<String> {
    let text = format!(
        "VIOLATION {} after step {}: {}",
        verdict.invariant, verdict.step, verdict.detail
    );
    let width = chars_in(layout.width() - TIME_X - 12);
    let mut lines = wrap(&text, width);
    if lines.len() > 4 {
        let rest = lines.split_off(3).join(" ");
        lines.push(rest);
    }
    lines
}

/// Greedy word wrap to `width` characters; words longer than a line are split.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let mut word: Vec<char> = word.chars().collect();
        while word.len() > width {
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
            }
            lines.push(word.drain(..width).collect());
        }
        let word: String = word.into_iter().collect();
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(&word);
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

/// The violation marker: a red band over the whole row (`top`, `height`) of the step after
/// which the invariant failed, a bar in the margin, and the invariant with its detail on the
/// row's last lines.
fn violation_marker(
    out: &mut String,
    layout: &Layout,
    verdict: &Verdict,
    text: &[String],
    (top, height): (i64, i64),
) {
    let width = layout.width();
    let _ = writeln!(
        out,
        "<g id=\"violation\" data-step=\"{}\" data-invariant=\"{}\"><title>VIOLATION {}: {}</title>",
        verdict.step,
        escape(&verdict.invariant),
        escape(&verdict.invariant),
        escape(&verdict.detail)
    );
    let _ = writeln!(
        out,
        "<rect class=\"violation-band\" x=\"1\" y=\"{}\" width=\"{}\" height=\"{}\"/><rect class=\"violation-bar\" x=\"1\" y=\"{}\" width=\"6\" height=\"{}\"/>",
        top + 1,
        width - 2,
        height - 2,
        top + 1,
        height - 2
    );
    // An opaque strip under the text, so that lane lines do not cross it.
    let text_top = top + height - text.len() as i64 * LINE;
    let _ = writeln!(
        out,
        "<rect class=\"violation-line\" x=\"8\" y=\"{}\" width=\"{}\" height=\"{}\"/>",
        text_top + 1,
        width - 10,
        text.len() as i64 * LINE - 3
    );
    for (index, line) in text.iter().enumerate() {
        svg_text(
            out,
            TIME_X,
            baseline(text_top + index as i64 * LINE),
            "start",
            "violation-text",
            line,
            width - TIME_X - 8,
        );
    }
    out.push_str("</g>\n");
}

// ---------------------------------------------------------------------------------------------
// Checkpoint lifecycles
// ---------------------------------------------------------------------------------------------

fn lifecycle_section(out: &mut String, lifecycles: &[Lifecycle]) {
    out.push_str("<section>\n<h2>Checkpoint lifecycles</h2>\n");
    out.push_str("<table id=\"lifecycles\">\n<tr><th>checkpoint</th><th>kind</th><th>triggered at step</th><th>acknowledged by (task at step)</th><th>outcome</th><th>restored at steps</th></tr>\n");
    for lifecycle in lifecycles {
        lifecycle_row(out, lifecycle);
    }
    if lifecycles.is_empty() {
        out.push_str("<tr><td colspan=\"6\">no checkpoint was triggered</td></tr>\n");
    }
    out.push_str("</table>\n</section>\n");
}

fn lifecycle_row(out: &mut String, l: &Lifecycle) {
    let class = l.outcome.split(':').next().unwrap_or("pending");
    let triggered = l.triggered_at.map_or("&mdash;".to_string(), step_link);
    let acks = if l.acked_by.is_empty() {
        "none".to_string()
    } else {
        l.acked_by
            .iter()
            .map(|(task, step)| format!("{} at {}", escape(task), step_link(*step)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let outcome = match l.outcome_at {
        Some(step) => format!("{} at step {}", escape(&l.outcome), step_link(step)),
        None => escape(&l.outcome),
    };
    let restored = if l.restored_at.is_empty() {
        "&mdash;".to_string()
    } else {
        l.restored_at
            .iter()
            .map(|s| step_link(*s))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let _ = writeln!(
        out,
        "<tr class=\"{}\" data-checkpoint=\"{}\"><td><code>{}</code></td><td>{}</td><td>{triggered}</td><td>{acks}</td><td class=\"outcome-cell\">{outcome}</td><td>{restored}</td></tr>",
        escape(class),
        escape(&l.id.to_string()),
        escape(&l.id.to_string()),
        escape(&l.kind)
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_covers_markup_and_quotes() {
        assert_eq!(
            escape("a<b & \"c\" 'd'>"),
            "a&lt;b &amp; &quot;c&quot; &#39;d&#39;&gt;"
        );
    }

    #[test]
    fn clip_cuts_with_an_ellipsis() {
        assert_eq!(clip("abcdef", 6), ("abcdef".to_string(), false));
        assert_eq!(clip("abcdefg", 4), ("abc\u{2026}".to_string(), true));
    }

    #[test]
    fn wrap_breaks_at_words_and_splits_long_words() {
        assert_eq!(wrap("aa bb cc", 5), vec!["aa bb", "cc"]);
        assert_eq!(wrap("abcdefgh x", 3), vec!["abc", "def", "gh", "x"]);
        assert_eq!(wrap("", 3), vec![""]);
    }

    #[test]
    fn output_evidence_marks_missing_and_duplicated_records() {
        use crate::system::protocol::Provenance;
        let record = |source, offset| Lineage::single(Provenance { source, offset });
        let (a, b) = (record(0, 0), record(0, 1));
        let evidence = OutputEvidence {
            expected: vec![a, b, b],
            actual: vec![
                (a, "sink txn cp1".to_string()),
                (a, "sink txn cp2".to_string()),
                (b, "sink txn cp2".to_string()),
            ],
            missing: Some(vec![b]),
            duplicated: vec![(
                a,
                vec!["sink txn cp1".to_string(), "sink txn cp2".to_string()],
            )],
        };
        let mut out = String::new();
        output_evidence(&mut out, &evidence);
        assert!(out.contains("(expected, never written): <code>s0@1</code>"));
        assert!(out.contains("<td><code>s0@0</code></td><td>sink txn cp1, sink txn cp2</td>"));
        // One of the two expected s0@1 is missing, so exactly one row is marked.
        assert_eq!(out.matches("s0@1</code> &mdash; missing").count(), 1);
        assert_eq!(out.matches("s0@0</code> &mdash; duplicate").count(), 2);
    }

    #[test]
    fn lanes_stay_readable_for_many_or_few_subtasks() {
        assert_eq!(Layout::new(2).gap, 240);
        assert_eq!(Layout::new(30).gap, 120);
        let layout = Layout::new(5);
        assert!(layout.lane_x(4) + layout.gap / 2 <= layout.width());
    }
}
