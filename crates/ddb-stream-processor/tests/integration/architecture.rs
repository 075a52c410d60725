//! The library's layers, checked from its source: each top-level module uses only modules of its
//! own layer or the layers below, and no two modules use each other, directly or around a circle.
//!
//! The layers, lowest first (the crate documentation explains each):
//! domain (`clock`, `record`, `processor`) → `engine` → `lambda` (the edge) → `telemetry` →
//! `function` (the composition) → `testing`.
//!
//! Written as a test over `use crate::…` paths rather than with a module-graph tool: those build on
//! rust-analyzer and take minutes to compile on CI's two cores, for a rule this small.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const LAYERS: &[&[&str]] = &[
    &["clock", "record", "processor"],
    &["engine"],
    &["lambda"],
    &["telemetry"],
    &["function"],
    &["testing"],
];

fn layer_of(module: &str) -> usize {
    LAYERS
        .iter()
        .position(|layer| layer.contains(&module))
        .unwrap_or_else(|| panic!("module `{module}` is in no layer: add it to LAYERS"))
}

fn source_files(folder: &Path, files: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(folder).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            source_files(&path, files);
        } else if path.extension().is_some_and(|extension| extension == "rs") {
            files.push(path);
        }
    }
}

/// The top-level modules each top-level module uses, read from `crate::name` paths outside comments.
fn module_graph(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut files = Vec::new();
    source_files(src, &mut files);
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in files {
        let relative = file.strip_prefix(src).unwrap();
        let module = relative
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy()
            .trim_end_matches(".rs")
            .to_owned();
        if module == "lib" {
            continue;
        }
        let uses = graph.entry(module.clone()).or_default();
        for line in std::fs::read_to_string(&file).unwrap().lines() {
            let code = line.split("//").next().unwrap_or_default();
            for (position, _) in code.match_indices("crate::") {
                let rest = &code[position + "crate::".len()..];
                let used: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                // `crate::{a, b}` and `crate::Name` (a re-export at the root) are not module paths.
                if !used.is_empty()
                    && used.chars().next().is_some_and(|c| c.is_ascii_lowercase())
                    && used != module
                {
                    uses.insert(used);
                }
            }
        }
    }
    graph
}

fn library_graph() -> BTreeMap<String, BTreeSet<String>> {
    module_graph(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"))
}

/// A circle of modules in `graph`, if there is one.
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(start) = path.iter().position(|visited| visited == node) {
            let mut cycle = path[start..].to_vec();
            cycle.push(node.to_owned());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(node.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|node| visit(node, graph, &mut Vec::new(), &mut done))
}

#[test]
fn no_module_uses_a_higher_layer() {
    let graph = library_graph();
    assert!(
        graph.contains_key("engine") && graph.contains_key("function"),
        "{graph:?}"
    );
    let violations: Vec<String> = graph
        .iter()
        .flat_map(|(module, uses)| {
            uses.iter()
                .filter(|used| layer_of(used) > layer_of(module))
                .map(move |used| format!("{module} uses {used}"))
        })
        .collect();
    assert!(violations.is_empty(), "layering broken: {violations:?}");
    assert!(
        !graph["engine"].contains("telemetry") && !graph["engine"].contains("lambda"),
        "the engine knows neither telemetry nor Lambda's wire types"
    );
}

#[test]
fn no_two_modules_use_each_other() {
    let graph = library_graph();
    assert_eq!(find_cycle(&graph), None, "an import circle: {graph:?}");
}

#[test]
fn the_checks_catch_a_circle_and_an_upward_use() {
    let graph: BTreeMap<String, BTreeSet<String>> =
        [("engine", vec!["telemetry"]), ("telemetry", vec!["engine"])]
            .into_iter()
            .map(|(module, uses)| (module.to_owned(), uses.into_iter().map(str::to_owned).collect()))
            .collect();
    assert_eq!(
        find_cycle(&graph),
        Some(vec![
            "engine".to_owned(),
            "telemetry".to_owned(),
            "engine".to_owned()
        ])
    );
    assert!(layer_of("telemetry") > layer_of("engine"));
}

/// The files of the library's domain and engine that name one of Lambda's crates (`aws_lambda_events`
/// for the wire types, `lambda_runtime` for the runtime), outside comments.
fn lambda_crates_below_the_edge(src: &Path) -> Vec<String> {
    let mut files = Vec::new();
    for module in ["engine", "record"] {
        source_files(&src.join(module), &mut files);
    }
    files.extend(["clock.rs", "processor.rs"].map(|file| src.join(file)));
    files
        .into_iter()
        .filter(|file| {
            std::fs::read_to_string(file).unwrap().lines().any(|line| {
                let code = line.split("//").next().unwrap_or_default();
                code.contains("aws_lambda_events") || code.contains("lambda_runtime")
            })
        })
        .map(|file| file.strip_prefix(src).unwrap().display().to_string())
        .collect()
}

#[test]
fn the_domain_and_the_engine_never_see_lambdas_wire_types() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    assert_eq!(lambda_crates_below_the_edge(&src), Vec::<String>::new());

    let planted = std::env::temp_dir().join(format!("architecture-planted-{}", std::process::id()));
    for module in ["engine", "record"] {
        std::fs::create_dir_all(planted.join(module)).unwrap();
    }
    std::fs::write(planted.join("clock.rs"), "// aws_lambda_events in a comment\n").unwrap();
    std::fs::write(
        planted.join("processor.rs"),
        "use aws_lambda_events::event::dynamodb::EventRecord;\n",
    )
    .unwrap();
    let found = lambda_crates_below_the_edge(&planted);
    std::fs::remove_dir_all(&planted).unwrap();
    assert_eq!(found, ["processor.rs"]);
}
