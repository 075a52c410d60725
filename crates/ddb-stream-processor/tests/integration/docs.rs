//! Documents that name tests and files cannot drift from them: every `module::test` of the library's
//! integration tests, every other test named by its function alone, and every path that
//! RELIABILITY.md names exists.

use std::path::Path;

fn repository() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

/// The `module::function` names in backticks, and the backticked paths ending in `.rs`.
fn named_tests_and_files(text: &str) -> (Vec<(String, String)>, Vec<String>) {
    let mut tests = Vec::new();
    let mut files = Vec::new();
    for quoted in text.split('`').skip(1).step_by(2) {
        if quoted.ends_with(".rs") {
            files.push(quoted.to_owned());
        } else if let Some((module, function)) = quoted.split_once("::") {
            let identifier = |part: &str| {
                !part.is_empty()
                    && part
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            };
            if identifier(module) && identifier(function) {
                tests.push((module.to_owned(), function.to_owned()));
            }
        }
    }
    (tests, files)
}

#[test]
fn reliability_names_only_tests_and_files_that_exist() {
    let text = std::fs::read_to_string(repository().join("RELIABILITY.md")).unwrap();
    let (tests, files) = named_tests_and_files(&text);
    assert!(tests.len() >= 10, "RELIABILITY.md names its tests: {tests:?}");
    let integration = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/integration");
    for (module, function) in tests {
        let source =
            std::fs::read_to_string(integration.join(format!("{module}.rs"))).unwrap_or_else(|error| {
                panic!("RELIABILITY.md names {module}::{function}, but {module}.rs: {error}")
            });
        assert!(
            source.contains(&format!("fn {function}(")),
            "RELIABILITY.md names {module}::{function}, which does not exist"
        );
    }
    for file in files {
        assert!(
            repository().join(&file).exists(),
            "RELIABILITY.md names {file}, which does not exist"
        );
    }
}

/// The test functions named alone in backticks: snake_case names of five words or more (shorter
/// ones are code, such as `is_ttl_delete`).
fn named_test_functions(text: &str) -> Vec<String> {
    text.split('`')
        .skip(1)
        .step_by(2)
        .filter(|quoted| {
            quoted.matches('_').count() >= 4
                && quoted
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        })
        .map(str::to_owned)
        .collect()
}

/// Every `.rs` file's text under `folder`.
fn sources(folder: &Path, into: &mut String) {
    for entry in std::fs::read_dir(folder).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, into);
        } else if path.extension().is_some_and(|extension| extension == "rs") {
            into.push_str(&std::fs::read_to_string(&path).unwrap());
        }
    }
}

#[test]
fn reliability_names_only_test_functions_that_exist() {
    let text = std::fs::read_to_string(repository().join("RELIABILITY.md")).unwrap();
    let names = named_test_functions(&text);
    assert!(names.len() >= 20, "RELIABILITY.md names its tests: {names:?}");
    let mut code = String::new();
    for folder in ["crates", "obsctl", "tests", "src"] {
        sources(&repository().join(folder), &mut code);
    }
    for name in names {
        assert!(
            code.contains(&format!("fn {name}(")),
            "RELIABILITY.md names {name}, which no test function is"
        );
    }
}

#[test]
fn a_renamed_test_would_be_caught() {
    assert_eq!(
        named_test_functions(
            "`a_test_that_was_renamed_since` and `is_ttl_delete` and `Not_a_test_name_at_all`"
        ),
        ["a_test_that_was_renamed_since"]
    );
    let (tests, files) =
        named_tests_and_files("proven by `engine::no_such_test` in `tests/x.rs`; `Vec::new` is code");
    assert_eq!(tests, [("engine".to_owned(), "no_such_test".to_owned())]);
    assert_eq!(files, ["tests/x.rs"]);
}
