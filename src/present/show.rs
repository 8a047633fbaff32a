//! Renderings of a model (`checkpoint-harness show`): the topology with parallelism,
//! partitioning and channels, and the checkpoint configuration, as text, Graphviz dot or a
//! Mermaid flowchart.

use crate::system::spec::{CheckpointMode, Spec};
use std::fmt::Write as _;

/// The checkpoint configuration, the fault budget and the bounds, one item per line.
fn configuration(spec: &Spec) -> Vec<String> {
    let c = &spec.checkpointing;
    let mut lines = vec![
        format!(
            "mode {}{}",
            c.mode.name(),
            if c.mode == CheckpointMode::Unaligned {
                if c.alignment_timeout == 0 {
                    " (unaligned from the first barrier)".to_string()
                } else {
                    format!(" (aligned, unaligned after {} ticks)", c.alignment_timeout)
                }
            } else {
                String::new()
            }
        ),
        match c.interval {
            Some(interval) => format!("interval {interval} ticks, min pause {}", c.min_pause),
            None => "periodic checkpointing off".to_string(),
        },
        format!(
            "max concurrent {}, timeout {} ticks, retained {}",
            c.max_concurrent, c.timeout, c.retained
        ),
        format!(
            "tolerable failures {}",
            c.tolerable_failures
                .map_or("unlimited".to_string(), |n| n.to_string())
        ),
        format!(
            "rpc order {}",
            match spec.rpc_order {
                crate::system::spec::RpcOrder::Unordered => "unordered",
                crate::system::spec::RpcOrder::PerPairFifo => "per-pair-fifo",
            }
        ),
    ];
    let f = spec.faults;
    lines.push(format!(
        "faults: {} task crashes, {} coordinator failovers, {} lost rpcs, {} declined snapshots, {} storage failures",
        f.task_crashes, f.coordinator_failovers, f.lost_rpcs, f.declined_snapshots, f.storage_failures
    ));
    let u = spec.user;
    if u.manual_checkpoints + u.savepoints + u.stop_with_savepoint > 0 {
        lines.push(format!(
            "user: {} manual checkpoints, {} savepoints, {} stop-with-savepoint",
            u.manual_checkpoints, u.savepoints, u.stop_with_savepoint
        ));
    }
    lines.push(format!(
        "bounds: time {} ticks, {} faulty steps, {} healed steps",
        spec.bounds.time, spec.bounds.faulty_steps, spec.bounds.healed_steps
    ));
    if !spec.bugs.is_empty() {
        let bugs: Vec<&str> = spec.bugs.iter().map(|b| b.name()).collect();
        lines.push(format!("injected bugs: {}", bugs.join(", ")));
    }
    lines
}

/// Plain text: operators, edges, channels, configuration.
pub fn text(spec: &Spec) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "model {} ({})", spec.name, spec.file);
    if !spec.description.is_empty() {
        let _ = writeln!(out, "  {}", spec.description);
    }
    let _ = writeln!(out, "operators:");
    for op in &spec.operators {
        let subtasks: Vec<&str> = (0..op.parallelism)
            .map(|i| spec.tasks[(op.first_task.0 + i) as usize].name.as_str())
            .collect();
        let input = if op.kind.is_source() {
            format!(", {} records, {} keys per subtask", op.records, op.keys)
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "  {:<16} {:<22} parallelism {}{input}: {}",
            op.name,
            op.kind.name(),
            op.parallelism,
            subtasks.join(", ")
        );
    }
    let _ = writeln!(out, "edges:");
    for (index, edge) in spec.edges.iter().enumerate() {
        let channels = spec.channels.iter().filter(|c| c.edge == index).count();
        let _ = writeln!(
            out,
            "  {} -> {} ({}, {channels} channel{})",
            spec.operators[edge.from].name,
            spec.operators[edge.to].name,
            edge.partitioning.name(),
            if channels == 1 { "" } else { "s" }
        );
    }
    let _ = writeln!(out, "channels:");
    for channel in spec.channel_ids() {
        let c = spec.channel(channel);
        let _ = writeln!(
            out,
            "  c{:<3} {} -> {} (input {})",
            channel.0,
            spec.task(c.from).name,
            spec.task(c.to).name,
            c.to_input
        );
    }
    let _ = writeln!(out, "checkpointing:");
    for line in configuration(spec) {
        let _ = writeln!(out, "  {line}");
    }
    out
}

fn quote(text: &str) -> String {
    text.replace('\\', "\\\\").replace('"', "\\\"")
}

/// Graphviz dot: one cluster per operator holding its subtasks, one edge per channel.
pub fn dot(spec: &Spec) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "digraph \"{}\" {{", quote(&spec.name));
    let _ = writeln!(out, "  rankdir=LR;");
    let _ = writeln!(out, "  node [shape=box, fontname=\"monospace\"];");
    let config = configuration(spec).join("\\l") + "\\l";
    let _ = writeln!(
        out,
        "  label=\"{}\\l{}\"; labeljust=l; labelloc=b;",
        quote(&spec.name),
        quote(&config).replace("\\\\l", "\\l")
    );
    for (index, op) in spec.operators.iter().enumerate() {
        let _ = writeln!(out, "  subgraph cluster_{index} {{");
        let _ = writeln!(
            out,
            "    label=\"{} ({}, parallelism {})\";",
            quote(&op.name),
            op.kind.name(),
            op.parallelism
        );
        for i in 0..op.parallelism {
            let task = op.first_task.0 + i;
            let _ = writeln!(
                out,
                "    t{task} [label=\"{}\"];",
                quote(&spec.tasks[task as usize].name)
            );
        }
        let _ = writeln!(out, "  }}");
    }
    for channel in spec.channel_ids() {
        let c = spec.channel(channel);
        let _ = writeln!(
            out,
            "  t{} -> t{} [label=\"c{} {}\"];",
            c.from.0,
            c.to.0,
            channel.0,
            spec.edges[c.edge].partitioning.name()
        );
    }
    let _ = writeln!(out, "}}");
    out
}

/// A Mermaid flowchart: one subgraph per operator holding its subtasks, one edge per channel,
/// and the configuration in a note node.
pub fn mermaid(spec: &Spec) -> String {
    let mut out = String::from("flowchart LR\n");
    for (index, op) in spec.operators.iter().enumerate() {
        let _ = writeln!(
            out,
            "    subgraph op{index}[\"{} ({}, parallelism {})\"]",
            op.name.replace('"', "'"),
            op.kind.name(),
            op.parallelism
        );
        for i in 0..op.parallelism {
            let task = op.first_task.0 + i;
            let _ = writeln!(
                out,
                "        t{task}[\"{}\"]",
                spec.tasks[task as usize].name.replace('"', "'")
            );
        }
        let _ = writeln!(out, "    end");
    }
    for channel in spec.channel_ids() {
        let c = spec.channel(channel);
        let _ = writeln!(
            out,
            "    t{} -->|\"c{} {}\"| t{}",
            c.from.0,
            channel.0,
            spec.edges[c.edge].partitioning.name(),
            c.to.0
        );
    }
    let config = configuration(spec).join("<br/>").replace('"', "'");
    let _ = writeln!(out, "    config[\"{config}\"]");
    out
}
