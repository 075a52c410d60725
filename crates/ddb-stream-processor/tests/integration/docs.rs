//! Documents that name tests and files cannot drift from them: every `module::test` and every path
//! that RELIABILITY.md names exists.

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

#[test]
fn a_renamed_test_would_be_caught() {
    let (tests, files) =
        named_tests_and_files("proven by `engine::no_such_test` in `tests/x.rs`; `Vec::new` is code");
    assert_eq!(tests, [("engine".to_owned(), "no_such_test".to_owned())]);
    assert_eq!(files, ["tests/x.rs"]);
}
