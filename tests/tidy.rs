//! Tidy: the mechanical parts of the architecture invariants (ARCHITECTURE.md), checked on the
//! source text.
//!
//! - Step-function modules (protocol, coordinator, task) do no I/O, read no clock, draw no random
//!   numbers, and know nothing of petgraph, stateright, serde_json or clap.
//! - State-holding and behaviour-deciding modules use no `HashMap`/`HashSet`.
//! - Only `scheduler.rs` touches randomness; only `check.rs` names stateright; only the binary
//!   (`main.rs`, `cli/`) prints.
//! - Every Rust file starts with a `//!` module doc.
//! - Layers: a file may name only its own layer and the layers below it (system < oracle <
//!   explore < trace < present, conformance < cli), always by the layered path (`crate::system::
//!   spec`, not the root re-export `crate::spec`), and no two files import each other, directly
//!   or through others.

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n == "snapshots") {
                continue;
            }
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn source_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    rust_files(Path::new("src"), &mut files);
    files
}

fn relative(path: &Path) -> String {
    path.to_string_lossy().replace('\\', "/")
}

/// Lines of code without comments (so that docs may name what the code must not use).
fn code_lines(text: &str) -> Vec<(usize, String)> {
    text.lines()
        .enumerate()
        .filter_map(|(i, line)| {
            let code = line.split("//").next().unwrap_or("").to_string();
            (!code.trim().is_empty()).then_some((i + 1, code))
        })
        .collect()
}

fn violations(files: &[PathBuf], forbidden: &[&str]) -> Vec<String> {
    let mut found = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(file).expect("readable source");
        for (number, line) in code_lines(&text) {
            for word in forbidden {
                if line.contains(word) {
                    found.push(format!(
                        "{}:{number}: `{word}` in `{}`",
                        relative(file),
                        line.trim()
                    ));
                }
            }
        }
    }
    found
}

/// The binary: the command line, which alone prints and picks exit codes.
fn is_binary(path: &Path) -> bool {
    let name = relative(path);
    name == "src/main.rs" || name.starts_with("src/cli/")
}

/// The layer a source file belongs to, by its directory, with its rank: a file may name layers of
/// equal or lower rank only.
fn layer_of(path: &Path) -> (&'static str, u8) {
    let name = relative(path);
    let rest = name.strip_prefix("src/").unwrap_or(&name);
    let top = rest.split('/').next().unwrap_or("");
    match top {
        "error.rs" => ("error", 0),
        "system" => ("system", 1),
        "oracle" => ("oracle", 2),
        "explore" => ("explore", 3),
        "trace" => ("trace", 4),
        "present" => ("present", 5),
        "conformance" => ("conformance", 5),
        "lib.rs" | "main.rs" | "cli" => ("cli", 9),
        other => {
            panic!("{name}: no layer for `{other}`; add it to tests/tidy.rs and ARCHITECTURE.md")
        }
    }
}

/// Rank of a layer named in a `crate::` path, or `None` for a name that is not a layer (a root
/// re-export such as `crate::spec`).
fn layer_rank(name: &str) -> Option<u8> {
    Some(match name {
        "error" => 0,
        "system" => 1,
        "oracle" => 2,
        "explore" => 3,
        "trace" => 4,
        "present" | "conformance" => 5,
        _ => return None,
    })
}

/// Every `crate::a::b::...` path named in a line of code, as its segments.
fn crate_paths(line: &str) -> Vec<Vec<String>> {
    let mut paths = Vec::new();
    let mut rest = line;
    while let Some(at) = rest.find("crate::") {
        let before = rest[..at].chars().last();
        rest = &rest[at + "crate::".len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue; // e.g. `checkpoint_harness_crate::`, not ours.
        }
        let segments: Vec<String> = rest
            .split("::")
            .map(|s| {
                s.chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect::<String>()
            })
            .take_while(|s| !s.is_empty() && s.chars().next().is_some_and(|c| c.is_lowercase()))
            .collect();
        if !segments.is_empty() {
            paths.push(segments);
        }
    }
    paths
}

/// The source file a module path resolves to (`["system", "world", "ghost"]` ->
/// `src/system/world/ghost.rs`), taking the longest prefix that is a file.
fn module_file(segments: &[String]) -> Option<String> {
    for length in (1..=segments.len()).rev() {
        let base = format!("src/{}", segments[..length].join("/"));
        for candidate in [format!("{base}.rs"), format!("{base}/mod.rs")] {
            if Path::new(&candidate).is_file() {
                return Some(candidate);
            }
        }
    }
    None
}

fn is_step_function_module(path: &Path) -> bool {
    let name = relative(path);
    name == "src/system/protocol.rs"
        || name.starts_with("src/system/coordinator/")
        || name.starts_with("src/system/coordinator/")
        || name.starts_with("src/system/task/")
        || name.starts_with("src/system/task/")
}

#[test]
fn step_functions_do_no_io_read_no_clock_draw_no_random_numbers() {
    let files: Vec<PathBuf> = source_files()
        .into_iter()
        .filter(|p| is_step_function_module(p))
        .collect();
    assert!(
        files.len() >= 8,
        "the step-function modules moved: {files:?}"
    );
    let found = violations(
        &files,
        &[
            "std::time",
            "Instant",
            "SystemTime",
            "rand::",
            "rand_chacha",
            "thread_rng",
            "std::fs",
            "std::io",
            "std::net",
            "std::thread",
            "std::env",
            "println!",
            "eprintln!",
            "petgraph",
            "stateright",
            "serde_json",
            "clap",
        ],
    );
    assert!(
        found.is_empty(),
        "impure step functions:\n{}",
        found.join("\n")
    );
}

#[test]
fn no_hash_map_or_hash_set_decides_behaviour() {
    let files: Vec<PathBuf> = source_files()
        .into_iter()
        .filter(|p| relative(p) != "src/main.rs")
        .collect();
    let found = violations(&files, &["HashMap", "HashSet"]);
    assert!(
        found.is_empty(),
        "nondeterministic iteration order in library code:\n{}",
        found.join("\n")
    );
}

#[test]
fn only_the_scheduler_touches_randomness() {
    let files: Vec<PathBuf> = source_files()
        .into_iter()
        .filter(|p| relative(p) != "src/explore/scheduler.rs")
        .collect();
    let found = violations(&files, &["rand::", "rand_chacha", "thread_rng", "ChaCha"]);
    assert!(
        found.is_empty(),
        "randomness outside scheduler.rs:\n{}",
        found.join("\n")
    );
}

#[test]
fn only_check_names_stateright() {
    let files: Vec<PathBuf> = source_files()
        .into_iter()
        .filter(|p| relative(p) != "src/explore/check.rs")
        .collect();
    let found = violations(&files, &["stateright"]);
    assert!(
        found.is_empty(),
        "stateright outside check.rs:\n{}",
        found.join("\n")
    );
}

#[test]
fn only_main_prints() {
    let files: Vec<PathBuf> = source_files()
        .into_iter()
        .filter(|p| !is_binary(p))
        .collect();
    let found = violations(&files, &["println!", "eprintln!", "print!("]);
    assert!(
        found.is_empty(),
        "printing outside the binary (main.rs, cli/):\n{}",
        found.join("\n")
    );
}

#[test]
fn no_wall_clock_decides_behaviour() {
    // Wall-clock time may only measure (progress, time limits, statistics), in these modules.
    let allowed = [
        "src/explore/check.rs",
        "src/system/bugs.rs",
        "src/present/report.rs",
    ];
    let files: Vec<PathBuf> = source_files()
        .into_iter()
        .filter(|p| !allowed.contains(&relative(p).as_str()) && !is_binary(p))
        .collect();
    let found = violations(&files, &["Instant::now", "SystemTime"]);
    assert!(
        found.is_empty(),
        "wall clock in behaviour:\n{}",
        found.join("\n")
    );
}

#[test]
fn every_rust_file_has_a_module_doc() {
    let mut files = source_files();
    rust_files(Path::new("tests"), &mut files);
    rust_files(Path::new("benches"), &mut files);
    let missing: Vec<String> = files
        .iter()
        .filter(|file| {
            let text = std::fs::read_to_string(file).expect("readable");
            !text.trim_start().starts_with("//!")
        })
        .map(|f| relative(f))
        .collect();
    assert!(missing.is_empty(), "files without a `//!` doc: {missing:?}");
}

#[test]
fn each_layer_names_only_the_layers_below_it_by_their_layered_paths() {
    let mut found = Vec::new();
    for file in source_files() {
        let (layer, rank) = layer_of(&file);
        let text = std::fs::read_to_string(&file).expect("readable source");
        for (number, line) in code_lines(&text) {
            for segments in crate_paths(&line) {
                match layer_rank(&segments[0]) {
                    None => found.push(format!(
                        "{}:{number}: `crate::{}` is a root re-export; name it by its layer",
                        relative(&file),
                        segments.join("::")
                    )),
                    Some(named) if named > rank => found.push(format!(
                        "{}:{number}: the {layer} layer names `crate::{}`, a layer above it",
                        relative(&file),
                        segments.join("::")
                    )),
                    Some(_) => {}
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "layer rules broken:\n{}",
        found.join("\n")
    );
}

#[test]
fn no_two_source_files_import_each_other() {
    // The file-level import graph: an edge from each file to every file its `crate::` paths and
    // `super::` paths resolve to.
    let files = source_files();
    let names: Vec<String> = files.iter().map(|f| relative(f)).collect();
    let mut edges: Vec<Vec<usize>> = vec![Vec::new(); files.len()];
    for (index, file) in files.iter().enumerate() {
        let text = std::fs::read_to_string(file).expect("readable source");
        let own = &names[index];
        // The module path of this file, for `super::`.
        let module: Vec<String> = own
            .trim_start_matches("src/")
            .trim_end_matches(".rs")
            .trim_end_matches("/mod")
            .split('/')
            .map(str::to_string)
            .collect();
        for (_, line) in code_lines(&text) {
            let mut targets: Vec<Vec<String>> = crate_paths(&line);
            if let Some(at) = line.find("super::") {
                let rest = &line[at + "super::".len()..];
                let next: String = rest
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                let mut path: Vec<String> = module[..module.len().saturating_sub(1)].to_vec();
                if next.chars().next().is_some_and(|c| c.is_lowercase()) {
                    path.push(next);
                }
                if !path.is_empty() {
                    targets.push(path);
                }
            }
            for segments in targets {
                if let Some(target) = module_file(&segments) {
                    if let Some(to) = names.iter().position(|n| *n == target) {
                        if to != index && !edges[index].contains(&to) {
                            edges[index].push(to);
                        }
                    }
                }
            }
        }
    }
    // Depth-first search for a cycle.
    fn visit(
        node: usize,
        edges: &[Vec<usize>],
        state: &mut [u8],
        stack: &mut Vec<usize>,
    ) -> Option<Vec<usize>> {
        state[node] = 1;
        stack.push(node);
        for &next in &edges[node] {
            if state[next] == 1 {
                let from = stack.iter().position(|&n| n == next).expect("on the stack");
                let mut cycle = stack[from..].to_vec();
                cycle.push(next);
                return Some(cycle);
            }
            if state[next] == 0 {
                if let Some(cycle) = visit(next, edges, state, stack) {
                    return Some(cycle);
                }
            }
        }
        stack.pop();
        state[node] = 2;
        None
    }
    let mut state = vec![0u8; files.len()];
    for start in 0..files.len() {
        if state[start] == 0 {
            let mut stack = Vec::new();
            if let Some(cycle) = visit(start, &edges, &mut state, &mut stack) {
                let path: Vec<&str> = cycle.iter().map(|&n| names[n].as_str()).collect();
                panic!("import cycle between files: {}", path.join(" -> "));
            }
        }
    }
    assert!(
        edges.iter().map(Vec::len).sum::<usize>() > 50,
        "the import graph is implausibly small: the resolver broke"
    );
}
