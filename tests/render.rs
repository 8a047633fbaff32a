//! Renderings: the fixed-column text and Mermaid views of a fixed trace are pinned with insta;
//! every trace in `traces/` renders to Mermaid within the subset of the syntax we emit; `show`
//! renders the default model as text, dot and Mermaid.

use checkpoint_harness::invariants::Oracle;
use checkpoint_harness::render;
use checkpoint_harness::show;
use checkpoint_harness::spec::Spec;
use checkpoint_harness::trace::{self, Replayed, Trace};

/// Two checkpoints in flight, the older completing last, a crash and a restore.
const FIXED: &str = "traces/bugs/late-checkpoint-becomes-latest.json";

fn replay(path: &str) -> (Spec, Replayed) {
    let trace = Trace::load(path).expect("loads");
    let spec = trace.spec(path).expect("parses");
    let oracle = Oracle::new(&spec);
    let replayed = trace::replay(&spec, &oracle, &trace, path).expect("replays");
    (spec, replayed)
}

#[test]
fn the_text_rendering_of_a_fixed_trace() {
    let (spec, replayed) = replay(FIXED);
    let text = render::render_text(&spec, &replayed);
    // Fixed columns: the channel depths start where the header's `channels` column does.
    let header = text.lines().next().expect("header");
    let column = header.find("channels").expect("a channels column");
    for line in text
        .lines()
        .filter(|l| l.trim_start().starts_with(char::is_numeric))
    {
        assert_eq!(line.len() - line[column..].len(), column, "{line}");
        assert!(line[..column].ends_with(' '), "column {column} of {line:?}");
    }
    insta::assert_snapshot!(text);
}

#[test]
fn the_mermaid_rendering_of_a_fixed_trace() {
    let (spec, replayed) = replay(FIXED);
    insta::assert_snapshot!(render::render_mermaid(&spec, &replayed));
}

/// Text without Mermaid entity codes (`#35;`, `#lt;`), which are the escaped forms.
fn without_entities(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find('#') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        match after.find(';') {
            Some(end) if end > 0 && after[..end].chars().all(|c| c.is_ascii_alphanumeric()) => {
                rest = &after[end + 1..];
            }
            _ => {
                out.push('#');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The subset of Mermaid's sequence-diagram syntax the renderer emits.
fn check_mermaid(diagram: &str) -> Result<(), String> {
    let mut lines = diagram.lines();
    if lines.next() != Some("sequenceDiagram") {
        return Err("does not start with sequenceDiagram".into());
    }
    let mut participants = Vec::new();
    let mut open_rects = 0;
    for line in lines {
        let line = line.trim();
        if let Some(rest) = line.strip_prefix("participant ") {
            let (id, _) = rest
                .split_once(" as ")
                .ok_or(format!("bad participant: {line}"))?;
            participants.push(id.to_string());
            continue;
        }
        if line.starts_with("rect rgb(") {
            open_rects += 1;
            continue;
        }
        if line == "end" {
            open_rects -= 1;
            if open_rects < 0 {
                return Err("unbalanced end".into());
            }
            continue;
        }
        let known = |id: &str| participants.iter().any(|p| p == id);
        if let Some(rest) = line.strip_prefix("Note over ") {
            let (over, text) = rest.split_once(": ").ok_or(format!("bad note: {line}"))?;
            for id in over.split(',') {
                if !known(id) {
                    return Err(format!("unknown participant {id}: {line}"));
                }
            }
            let text = without_entities(text);
            if text.contains(';') || text.contains('<') || text.contains('>') || text.contains('#')
            {
                return Err(format!("unescaped text: {line}"));
            }
            continue;
        }
        let arrow = ["-->>", "->>", "-x"]
            .iter()
            .find_map(|a| line.split_once(a))
            .ok_or(format!("unknown statement: {line}"))?;
        let (from, rest) = arrow;
        let (to, text) = rest
            .split_once(": ")
            .ok_or(format!("bad message: {line}"))?;
        if !known(from) || !known(to) {
            return Err(format!("unknown participant: {line}"));
        }
        let text = without_entities(text);
        if text.contains(';') || text.contains('<') || text.contains('>') || text.contains('#') {
            return Err(format!("unescaped text: {line}"));
        }
    }
    if open_rects != 0 {
        return Err("unbalanced rect".into());
    }
    Ok(())
}

#[test]
fn every_trace_renders_to_valid_mermaid() {
    let mut paths = Vec::new();
    for dir in ["traces", "traces/bugs"] {
        for entry in std::fs::read_dir(dir).expect("dir") {
            let path = entry.expect("entry").path();
            if path.extension().is_some_and(|e| e == "json") {
                paths.push(path);
            }
        }
    }
    assert!(paths.len() > 20);
    for path in paths {
        let name = path.to_str().expect("utf-8");
        let (spec, replayed) = replay(name);
        let diagram = render::render_mermaid(&spec, &replayed);
        check_mermaid(&diagram).unwrap_or_else(|e| panic!("{name}: {e}"));
        // One participant for the coordinator and one per subtask.
        let participants = diagram
            .lines()
            .filter(|l| l.trim_start().starts_with("participant "))
            .count();
        assert_eq!(participants, 1 + spec.tasks.len(), "{name}");
        // The violation is marked at its step.
        let violation = replayed.steps.iter().find(|s| s.violation.is_some());
        if let Some(step) = violation {
            let marker = format!("{}. VIOLATION", step.index + 1);
            assert!(diagram.contains(&marker), "{name}: {marker}");
        }
        // The text rendering has one line per step.
        let text = render::render_text(&spec, &replayed);
        let step_lines = text
            .lines()
            .filter(|l| l.trim_start().starts_with(char::is_numeric))
            .count();
        assert_eq!(step_lines, replayed.steps.len(), "{name}");
    }
}

#[test]
fn show_renders_the_default_model() {
    let spec = Spec::default_model();
    let text = show::text(&spec);
    assert!(text.contains("join") && text.contains("hash") && text.contains("max concurrent 2"));
    insta::assert_snapshot!("show_text", text);
    let dot = show::dot(&spec);
    assert!(dot.starts_with("digraph") && dot.trim_end().ends_with('}'));
    assert_eq!(dot.matches(" -> ").count(), spec.channels.len());
    insta::assert_snapshot!("show_dot", dot);
    let mermaid = show::mermaid(&spec);
    assert!(mermaid.starts_with("flowchart LR"));
    assert_eq!(mermaid.matches("-->|").count(), spec.channels.len());
    insta::assert_snapshot!("show_mermaid", mermaid);
}
