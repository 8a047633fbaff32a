//! The exactly-once barrier handler's transition table (`task::handler::SingleHandler`, Flink's
//! `SingleCheckpointBarrierHandler`, reference §2.4) and a short table for the at-least-once
//! `Tracker` (reference §2.5), rendered as text and pinned with insta snapshots.
//!
//! Each phase of `Phase` is reached by a short scripted prefix on a three-input handler, for the
//! aligned handler (`alternating = false`, plain aligned barriers) and the alternating handler
//! (`alternating = true`, timeoutable barriers stamped at tick 0, alignment timeout 10 ticks).
//! Every input kind is then applied to a copy of that state. The subject checkpoint is always
//! cp5: cp4 is older, cp6 newer. A row shows the phase before, the input, the phase after, the
//! handler's effects, and the blocked inputs, aligned inputs and current / last-done ids after.

use checkpoint_harness::protocol::{
    Alignment, Barrier, CheckpointId, InputSet, SnapshotKind, Tick,
};
use checkpoint_harness::spec::Spec;
use checkpoint_harness::task::handler::{Effects, HandlerEffect, Phase, SingleHandler};
use checkpoint_harness::task::tracker::Tracker;

/// Alignment timeout of the alternating handler, in ticks.
const TIMEOUT: Tick = 10;
const INPUTS: usize = 3;

fn spec(mode: &str) -> Spec {
    let mut text = String::from("name = \"transitions\"\n\n");
    for i in 0..INPUTS {
        text += &format!("[[operators]]\nname = \"src{i}\"\nkind = \"source\"\n\n");
    }
    text += "[[operators]]\nname = \"union\"\nkind = \"union\"\n\n";
    let sink = if mode == "at-least-once" {
        "at-least-once-sink"
    } else {
        "two-phase-commit-sink"
    };
    text += &format!("[[operators]]\nname = \"sink\"\nkind = \"{sink}\"\n\n");
    for i in 0..INPUTS {
        text += &format!("[[edges]]\nfrom = \"src{i}\"\nto = \"union\"\n\n");
    }
    text += "[[edges]]\nfrom = \"union\"\nto = \"sink\"\n\n";
    text += &format!("[checkpointing]\nmode = \"{mode}\"\n");
    if mode == "unaligned" {
        text += &format!("alignment_timeout = {TIMEOUT}\n");
    }
    Spec::parse("transitions.toml", &text).expect("valid model")
}

fn barrier(id: u32, alignment: Alignment) -> Barrier {
    Barrier {
        id: CheckpointId(id),
        timestamp: 0,
        kind: SnapshotKind::Checkpoint,
        alignment,
        full: false,
    }
}

/// The handler's "aligned" barrier kind: plain aligned, or timeoutable for the alternating one.
fn aligned_kind(alternating: bool) -> Alignment {
    if alternating {
        Alignment::AlignedWithTimeout
    } else {
        Alignment::Aligned
    }
}

#[derive(Clone, Copy)]
enum Input {
    Barrier { input: u8, barrier: Barrier },
    Cancel(u32),
    EndOfPartition(u8),
    Timeout,
}

fn apply(spec: &Spec, h: &mut SingleHandler, now: Tick, input: Input) -> Effects {
    match input {
        Input::Barrier { input, barrier } => h.on_barrier(spec, now, input, barrier, false),
        Input::Cancel(id) => h.on_cancellation(spec, CheckpointId(id)),
        Input::EndOfPartition(input) => h.on_end_of_partition(spec, now, input),
        Input::Timeout => h.on_alignment_timeout(spec, now),
    }
}

fn phase(p: Phase) -> &'static str {
    match p {
        Phase::WaitingForFirstBarrier => "WFFB",
        Phase::CollectingBarriers => "CB",
        Phase::CollectingBarriersUnaligned => "CBU",
    }
}

fn id(c: CheckpointId) -> String {
    if c.is_none() {
        "-".into()
    } else {
        c.to_string()
    }
}

fn alignment(a: Alignment) -> &'static str {
    match a {
        Alignment::AtLeastOnce => "at-least-once",
        Alignment::Aligned => "aligned",
        Alignment::AlignedWithTimeout => "timeoutable",
        Alignment::Unaligned => "unaligned",
    }
}

fn set(s: InputSet) -> String {
    let items: Vec<String> = s.iter().map(|i| i.to_string()).collect();
    format!("{{{}}}", items.join(","))
}

fn effects(effects: &Effects) -> String {
    if effects.is_empty() {
        return "-".into();
    }
    effects
        .iter()
        .map(|e| match e {
            HandlerEffect::Trigger {
                barrier,
                capture,
                forward,
            } => format!(
                "trigger {} {} capture={}{}",
                barrier.id,
                alignment(barrier.alignment),
                set(*capture),
                if *forward { "" } else { " no-forward" }
            ),
            HandlerEffect::StopCapture { input } => format!("stop-capture in{input}"),
            HandlerEffect::ForwardEarly { barrier } => format!("forward-early {}", barrier.id),
            HandlerEffect::Abort { id, reason } => format!("abort {id} {reason:?}"),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// Left-aligned columns separated by " | ".
fn render(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.len());
        }
    }
    let line = |cells: Vec<String>| {
        cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect::<Vec<_>>()
            .join(" | ")
            .trim_end()
            .to_string()
    };
    let mut out = line(header.iter().map(|h| h.to_string()).collect());
    out.push('\n');
    out += &line(widths.iter().map(|w| "-".repeat(*w)).collect());
    out.push('\n');
    for row in rows {
        out += &line(row.clone());
        out.push('\n');
    }
    out
}

/// A scripted prefix: inputs applied at tick 0 to a fresh three-input handler.
struct Prefix {
    name: &'static str,
    steps: Vec<Input>,
}

fn prefixes(alternating: bool) -> Vec<Prefix> {
    let b5 = |input: u8| Input::Barrier {
        input,
        barrier: barrier(5, aligned_kind(alternating)),
    };
    let u5 = |input: u8| Input::Barrier {
        input,
        barrier: barrier(5, Alignment::Unaligned),
    };
    let mut list = vec![
        Prefix {
            name: "fresh",
            steps: vec![],
        },
        Prefix {
            name: "cp5 done on in0,in1,in2",
            steps: vec![b5(0), b5(1), b5(2)],
        },
        Prefix {
            name: "cp5 on in0",
            steps: vec![b5(0)],
        },
        Prefix {
            name: "cp5 on in0,in1",
            steps: vec![b5(0), b5(1)],
        },
    ];
    if alternating {
        list.push(Prefix {
            name: "cp5 unaligned on in0",
            steps: vec![u5(0)],
        });
        list.push(Prefix {
            name: "cp5 unaligned on in0,in1",
            steps: vec![u5(0), u5(1)],
        });
    }
    list
}

/// The inputs applied after a prefix, as (label, tick, input).
fn inputs(h: &SingleHandler, alternating: bool) -> Vec<(String, Tick, Input)> {
    let kind = aligned_kind(alternating);
    let missing: Vec<u8> = h.open.minus(h.aligned).iter().map(|i| i as u8).collect();
    let aligned: Vec<u8> = h.aligned.iter().map(|i| i as u8).collect();
    let first = missing[0];
    let mut rows = Vec::new();
    let b = |id: u32, a: Alignment, input: u8| Input::Barrier {
        input,
        barrier: barrier(id, a),
    };
    if missing.len() >= 2 {
        rows.push((
            format!("barrier cp5 {} on un-aligned in{first}", alignment(kind)),
            0,
            b(5, kind, first),
        ));
    } else {
        rows.push((
            format!("barrier cp5 {} on last in{first}", alignment(kind)),
            0,
            b(5, kind, first),
        ));
    }
    rows.push((
        format!("barrier cp6 {} (newer) on in{first}", alignment(kind)),
        0,
        b(6, kind, first),
    ));
    rows.push((
        format!("barrier cp4 {} (older) on in{first}", alignment(kind)),
        0,
        b(4, kind, first),
    ));
    rows.push((
        format!("barrier cp5 unaligned on in{first}"),
        0,
        b(5, Alignment::Unaligned, first),
    ));
    rows.push(("cancel cp4 (older)".into(), 0, Input::Cancel(4)));
    rows.push(("cancel cp5 (current)".into(), 0, Input::Cancel(5)));
    rows.push(("cancel cp6 (newer)".into(), 0, Input::Cancel(6)));
    if let Some(a) = aligned.first() {
        rows.push((
            format!("end of partition on aligned in{a}"),
            0,
            Input::EndOfPartition(*a),
        ));
    }
    rows.push((
        format!("end of partition on un-aligned in{first}"),
        0,
        Input::EndOfPartition(first),
    ));
    rows.push((
        format!("alignment timeout at t={} (before deadline)", TIMEOUT - 1),
        TIMEOUT - 1,
        Input::Timeout,
    ));
    rows.push((
        format!("alignment timeout at t={} (after deadline)", TIMEOUT + 1),
        TIMEOUT + 1,
        Input::Timeout,
    ));
    if alternating {
        let last = if missing.len() == 1 {
            "last"
        } else {
            "un-aligned"
        };
        rows.push((
            format!(
                "barrier cp5 timeoutable on {last} in{first} at t={} (passive timeout)",
                TIMEOUT + 1
            ),
            TIMEOUT + 1,
            b(5, kind, first),
        ));
        rows.push((
            format!(
                "end of partition on {last} in{first} at t={} (passive timeout)",
                TIMEOUT + 1
            ),
            TIMEOUT + 1,
            Input::EndOfPartition(first),
        ));
    }
    rows
}

fn state_summary(h: &SingleHandler) -> String {
    format!(
        "{} blocked={} aligned={} open={} cur={} done={}",
        phase(h.phase),
        set(h.blocked),
        set(h.aligned),
        set(h.open),
        id(h.current_id),
        id(h.last_done_id)
    )
}

fn handler_table() -> String {
    let mut out = String::new();
    for alternating in [false, true] {
        let spec = spec(if alternating { "unaligned" } else { "aligned" });
        out += &format!(
            "## alternating={alternating} ({} barriers{})\n\n",
            alignment(aligned_kind(alternating)),
            if alternating {
                format!(", timestamp 0, alignment timeout {TIMEOUT}")
            } else {
                String::new()
            }
        );
        for prefix in prefixes(alternating) {
            let mut start = SingleHandler::new(INPUTS, alternating);
            for step in &prefix.steps {
                apply(&spec, &mut start, 0, *step);
            }
            out += &format!(
                "### prefix: {} -> {}\n\n",
                prefix.name,
                state_summary(&start)
            );
            let mut rows = Vec::new();
            for (label, now, input) in inputs(&start, alternating) {
                let mut h = start.clone();
                let fx = apply(&spec, &mut h, now, input);
                rows.push(vec![
                    phase(start.phase).to_string(),
                    label,
                    phase(h.phase).to_string(),
                    effects(&fx),
                    set(h.blocked),
                    set(h.aligned),
                    set(h.open),
                    format!("{}/{}", id(h.current_id), id(h.last_done_id)),
                ]);
            }
            out += &render(
                &[
                    "before", "input", "after", "effects", "blocked", "aligned", "open", "cur/done",
                ],
                &rows,
            );
            out.push('\n');
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// The at-least-once tracker.
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy)]
enum TrackerInput {
    Barrier(u8, u32),
    Cancel(u8, u32),
    EndOfPartition(u8),
}

fn tracker_apply(spec: &Spec, t: &mut Tracker, input: TrackerInput) -> Effects {
    let b = |id| barrier(id, Alignment::AtLeastOnce);
    match input {
        TrackerInput::Barrier(input, id) => t.on_barrier(spec, input, b(id)),
        TrackerInput::Cancel(input, id) => t.on_cancellation(spec, input, CheckpointId(id)),
        TrackerInput::EndOfPartition(input) => t.on_end_of_partition(input),
    }
}

fn tracker_state(t: &Tracker) -> String {
    let entries: Vec<String> = t
        .pending
        .iter()
        .map(|e| {
            format!(
                "{} seen={}/{}{}",
                e.id,
                set(e.seen),
                e.target,
                if e.aborted { " aborted" } else { "" }
            )
        })
        .collect();
    format!(
        "[{}] latest={} open={}",
        entries.join(", "),
        id(t.latest_pending_id),
        set(t.open)
    )
}

fn tracker_table() -> String {
    use TrackerInput::*;
    let spec = spec("at-least-once");
    let prefixes: Vec<(&str, Vec<TrackerInput>)> = vec![
        ("fresh", vec![]),
        ("cp5 on in0", vec![Barrier(0, 5)]),
        ("cp5 on in0,in1", vec![Barrier(0, 5), Barrier(1, 5)]),
        ("cp5 on in0, cp6 on in1", vec![Barrier(0, 5), Barrier(1, 6)]),
        ("cancel cp5 on in0", vec![Cancel(0, 5)]),
        (
            "in1, in2 ended (one open input)",
            vec![EndOfPartition(1), EndOfPartition(2)],
        ),
    ];
    let mut out = String::new();
    for (name, steps) in prefixes {
        let mut start = Tracker::new(INPUTS);
        for step in &steps {
            tracker_apply(&spec, &mut start, *step);
        }
        out += &format!("### prefix: {name} -> {}\n\n", tracker_state(&start));
        // Probe on in2, or on in0 when in2 has ended.
        let p: u8 = if start.open.contains(2) { 2 } else { 0 };
        let mut inputs: Vec<(String, TrackerInput)> = vec![
            (format!("barrier cp5 on in{p}"), Barrier(p, 5)),
            (format!("barrier cp6 on in{p}"), Barrier(p, 6)),
            (format!("barrier cp4 on in{p}"), Barrier(p, 4)),
        ];
        if start
            .pending
            .iter()
            .any(|e| e.id.0 == 5 && e.seen.contains(0))
        {
            inputs.push(("barrier cp5 on in0 again".into(), Barrier(0, 5)));
        }
        inputs.extend([
            (format!("cancel cp4 on in{p}"), Cancel(p, 4)),
            (format!("cancel cp5 on in{p}"), Cancel(p, 5)),
            (format!("cancel cp6 on in{p}"), Cancel(p, 6)),
            (format!("end of partition on in{p}"), EndOfPartition(p)),
        ]);
        if p != 0 {
            inputs.push(("end of partition on in0".into(), EndOfPartition(0)));
        }
        let mut rows = Vec::new();
        for (label, input) in &inputs {
            let mut t = start.clone();
            let fx = tracker_apply(&spec, &mut t, *input);
            let fx = fx
                .iter()
                .map(|e| match e {
                    HandlerEffect::Trigger { barrier, .. } => format!("trigger {}", barrier.id),
                    HandlerEffect::Abort { id, reason } => format!("abort {id} {reason:?}"),
                    other => format!("{other:?}"),
                })
                .collect::<Vec<_>>();
            rows.push(vec![
                label.to_string(),
                if fx.is_empty() {
                    "-".into()
                } else {
                    fx.join("; ")
                },
                tracker_state(&t),
            ]);
        }
        out += &render(&["input", "effects", "after"], &rows);
        out.push('\n');
    }
    out
}

#[test]
fn barrier_handler_transition_tables() {
    insta::assert_snapshot!("exactly_once_handler", handler_table());
    insta::assert_snapshot!("at_least_once_tracker", tracker_table());
}
