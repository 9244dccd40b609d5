//! Recognising the same work arriving again by another road: a new task
//! gets keys, and one sharing a key with an open or recent task is linked
//! to it (the queue does the matching).
//!
//! - `tests:REPO:IDS`: the failing tests its spec names (unittest's
//!   `FAIL:`/`ERROR:` lines, pytest's `FAILED` lines, Go's `--- FAIL:`),
//!   sorted.
//! - `title:REPO:WORDS`: its title's words, lower-cased, without
//!   punctuation or filler words, so "mean() crashes on an empty list" and
//!   "Mean crashes on empty list!" are one title.
//!
//! The spec is untrusted text; it is only read here, to make these keys.

use serde_json::Value;
use std::collections::BTreeSet;

const FILLER: &[&str] = &[
    "a", "an", "the", "is", "are", "in", "on", "of", "to", "for", "when", "with", "and", "or",
    "it", "its", "be", "at", "by",
];

/// The keys of a task on `repo`: `task` is what its intake adapter made
/// of `spec`.
pub fn keys(repo: &str, task: &factory_types::Task, spec: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut tests: BTreeSet<String> = task.failures.iter().map(|f| f.name.clone()).collect();
    if tests.is_empty() {
        tests = failing_tests(spec);
    }
    if !tests.is_empty() {
        let ids: Vec<&str> = tests.iter().map(String::as_str).collect();
        out.push(format!("tests:{repo}:{}", ids.join(",")));
    }
    let words = title_words(&task.title);
    // Fewer words say too little ("fix tests") to call two tasks one.
    if words.len() >= 3 {
        let mut scope = task.scope.clone();
        scope.sort();
        scope.dedup();
        out.push(format!(
            "title:{repo}:{}|{}",
            words.join(" "),
            scope.join(",")
        ));
    }
    out
}

fn title_words(title: &str) -> Vec<String> {
    title
        .to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty() && !FILLER.contains(w))
        .map(str::to_string)
        .collect()
}

/// The failing tests a spec names; a JSON spec's strings are read.
pub fn failing_tests(spec: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    match serde_json::from_str::<Value>(spec) {
        Ok(v) => strings(&v, &mut |s| scan(s, &mut found)),
        Err(_) => scan(spec, &mut found),
    }
    found
}

fn strings(v: &Value, f: &mut dyn FnMut(&str)) {
    match v {
        Value::String(s) => f(s),
        Value::Array(a) => a.iter().for_each(|x| strings(x, f)),
        Value::Object(o) => o.values().for_each(|x| strings(x, f)),
        _ => {}
    }
}

fn scan(text: &str, found: &mut BTreeSet<String>) {
    for line in text.lines().map(str::trim) {
        // unittest: `FAIL: test_mean (test_calc.TestMean.test_mean)` or
        // `ERROR: test_mean (test_calc.TestMean)`.
        if let Some(rest) = line
            .strip_prefix("FAIL: ")
            .or_else(|| line.strip_prefix("ERROR: "))
            && let Some((name, place)) = rest.split_once(" (")
            && let Some(place) = place.strip_suffix(')')
            && is_id(name)
            && is_id(place)
        {
            found.insert(if place.ends_with(name) {
                place.to_string()
            } else {
                format!("{place}.{name}")
            });
        } else if let Some(rest) = line.strip_prefix("FAILED ") {
            // pytest: `FAILED tests/test_calc.py::test_mean - ZeroDivisionError`.
            let id = rest.split(" - ").next().unwrap_or_default().trim();
            if id.contains("::") && !id.contains(' ') {
                found.insert(id.to_string());
            }
        } else if let Some(rest) = line.strip_prefix("--- FAIL: ") {
            // go test: `--- FAIL: TestMean (0.00s)`.
            let id = rest.split_whitespace().next().unwrap_or_default();
            if is_id(id) {
                found.insert(id.to_string());
            }
        }
    }
}

fn is_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 300
        && s.chars()
            .all(|c| c.is_alphanumeric() || "_.-/[]:".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failing_tests_of_unittest_pytest_and_go_output_in_text_or_json() {
        let unittest = "F.\n======\nFAIL: test_empty (test_calc.TestMean.test_empty)\n------\nERROR: test_zero (test_calc.TestMean)\n";
        assert_eq!(
            failing_tests(unittest).into_iter().collect::<Vec<_>>(),
            [
                "test_calc.TestMean.test_empty",
                "test_calc.TestMean.test_zero"
            ]
        );
        let pytest = "FAILED tests/test_calc.py::test_mean - ZeroDivisionError: division by zero\nFAILED nothing here\n";
        assert_eq!(
            failing_tests(pytest).into_iter().collect::<Vec<_>>(),
            ["tests/test_calc.py::test_mean"]
        );
        let go = "=== RUN   TestMean\n--- FAIL: TestMean (0.00s)\n";
        assert_eq!(
            failing_tests(go).into_iter().collect::<Vec<_>>(),
            ["TestMean"]
        );
        // Inside an issue's body, as a webhook carries it.
        let issue =
            serde_json::json!({"title": "t", "body": format!("It fails:\n```\n{pytest}```")});
        assert_eq!(failing_tests(&issue.to_string()).len(), 1);
        assert!(failing_tests("FAIL: not a test line at all").is_empty());
    }

    fn task(title: &str, scope: &[&str]) -> factory_types::Task {
        let mut t = factory_types::Task::new("markdown", "-", title);
        t.scope = scope.iter().map(|s| s.to_string()).collect();
        t
    }

    #[test]
    fn near_identical_titles_and_scope_share_a_key_and_others_do_not() {
        let k = |t: &str, scope: &[&str]| keys("acme/calc", &task(t, scope), "");
        assert_eq!(
            k("mean() crashes on an empty list", &["calc.py"]),
            k("Mean crashes on empty list!", &["calc.py"])
        );
        assert_ne!(
            k("mean() crashes on an empty list", &["calc.py"]),
            k("mean() crashes on an empty list", &["stats/calc.py"]),
            "another scope is other work"
        );
        assert_ne!(
            k("mean() crashes on an empty list", &[]),
            k("median crashes on an empty list", &[])
        );
        assert!(
            k("Fix the tests", &[]).is_empty(),
            "two words say too little"
        );
        assert_ne!(
            keys("acme/calc", &task("mean crashes on empty", &[]), ""),
            keys("acme/other", &task("mean crashes on empty", &[]), "")
        );
        // Failing tests the adapter found are the key.
        let mut t = task("Tests fail", &[]);
        t.failures.push(factory_types::TestFailure {
            name: "test_calc.TestMean.test_empty".into(),
            file: None,
            line: None,
            message: "ZeroDivisionError".into(),
            output: String::new(),
        });
        assert_eq!(
            keys("acme/calc", &t, ""),
            ["tests:acme/calc:test_calc.TestMean.test_empty"]
        );
    }
}
