//! The parsers on output captured from real projects' suites
//! (tests/fixtures/reports; output only, never the projects' source):
//! - more-itertools 10.5.0 (PyPI) with a bug injected into `chunked()` or
//!   `padded()`, run with `python3 -m unittest` and with pytest 9 (long
//!   tracebacks, `-x`, xdist `-n 2`, `--doctest-modules`, `--junitxml`);
//! - percent-encoding 2.3.2 (crates.io) with a bug injected into its
//!   decoder and a test whose worker threads panic, run with `cargo test
//!   --no-fail-fast` (unit tests, an integration test, doc-tests), with and
//!   without RUST_BACKTRACE;
//! - a Maven project run by maven-surefire (the JUnit XML it writes).

use super::tests::find;
use super::*;

macro_rules! real {
    ($f:literal) => {
        include_str!(concat!("../../../../tests/fixtures/reports/", $f))
    };
}

#[test]
fn unittest_list_comparisons_report_the_assertion_not_the_diff_markers() {
    let r = parse(real!("unittest-more-itertools-padded.txt"), None).unwrap();
    assert_eq!(r.framework, "unittest");
    assert_eq!((r.total, r.failed, r.skipped, r.passed), (817, 4, 1, 812));
    let f = find(&r, "tests.test_more.PaddedTest.test_next_multiple");
    assert_eq!(
        f.message,
        "AssertionError: Lists differ: [1, 2, 3, 4, 5, 6, 0, 0] != [1, 2, 3, 4, 5, 6, None, None]"
    );
    assert!(f.file.as_deref().unwrap().ends_with("tests/test_more.py"));
    assert_eq!(f.line, Some(1763));
    // The markers are in the output, for whoever reads all of it.
    assert!(
        f.output.contains("?                    ^^^^  ^^^^"),
        "{}",
        f.output
    );
    for f in &r.failures {
        assert!(
            !f.message.starts_with('?') && !f.message.starts_with('+'),
            "{f:#?}"
        );
    }
}

#[test]
fn unittest_doctest_failures_keep_expected_and_got() {
    let r = parse(real!("unittest-more-itertools-chunked.txt"), None).unwrap();
    assert_eq!((r.total, r.failed, r.skipped), (817, 7, 1));
    assert_eq!(r.failures.len(), 7);
    let odd = find(&r, "tests.test_more.ChunkedTests.test_odd");
    assert_eq!(
        odd.message,
        "AssertionError: Lists differ: [['A', 'B', 'C']] != [['A', 'B', 'C'], ['D', 'E']]"
    );
    assert_eq!(odd.line, Some(58));
    let d = find(&r, "more_itertools.more.chunked");
    assert_eq!(d.name, "more_itertools.more.chunked");
    assert!(
        d.file
            .as_deref()
            .unwrap()
            .ends_with("more_itertools/more.py")
    );
    assert_eq!(d.line, Some(171), "the failing example's line");
    assert!(
        d.message
            .starts_with("AssertionError: Failed doctest test for more_itertools.more.chunked\n"),
        "{}",
        d.message
    );
    for part in [
        "Failed example:\n    list(chunked([1, 2, 3, 4, 5, 6, 7, 8], 3))",
        "Expected:\n    [[1, 2, 3], [4, 5, 6], [7, 8]]",
        "Got:\n    [[1, 2, 3], [4, 5, 6]]",
    ] {
        assert!(d.message.contains(part), "{part:?} not in {}", d.message);
    }
    // The last failure stops before the run's closing rule and summary.
    let last = find(&r, "more_itertools.more.intersperse");
    assert!(
        last.message.contains("Got:\n    [1, 2, None, 3, 4]"),
        "{}",
        last.message
    );
    assert!(!last.output.contains("Ran 817"), "{}", last.output);
}

#[test]
fn pytest_long_tracebacks() {
    let r = parse(real!("pytest-more-itertools.txt"), None).unwrap();
    assert_eq!(r.framework, "pytest");
    assert_eq!((r.passed, r.failed, r.skipped), (659, 4, 1));
    assert_eq!(r.failures.len(), 4, "{:#?}", r.failures);
    let f = find(&r, "tests/test_more.py::ChunkedTests::test_odd");
    assert!(
        f.message.starts_with(
            "AssertionError: Lists differ: [['A', 'B', 'C']] != [['A', 'B', 'C'], ['D', 'E']]"
        ),
        "{}",
        f.message
    );
    assert_eq!(f.file.as_deref(), Some("tests/test_more.py"));
    assert_eq!(f.line, Some(58));
}

#[test]
fn pytest_stopped_by_x() {
    let r = parse(real!("pytest-more-itertools-x.txt"), None).unwrap();
    assert_eq!((r.passed, r.failed), (1, 1));
    let f = find(&r, "tests/test_more.py::ChunkedTests::test_none");
    assert!(
        f.message.starts_with("AssertionError: Lists differ"),
        "{}",
        f.message
    );
    assert_eq!(f.line, Some(64));
}

#[test]
fn pytest_with_xdist_workers() {
    let r = parse(real!("pytest-more-itertools-xdist.txt"), None).unwrap();
    assert_eq!((r.passed, r.failed, r.skipped), (659, 4, 1));
    assert_eq!(r.failures.len(), 4, "{:#?}", r.failures);
    for f in &r.failures {
        assert!(f.name.starts_with("tests/test_more.py::"), "{f:#?}");
        assert!(
            f.message.starts_with("AssertionError: Lists differ"),
            "{f:#?}"
        );
        assert_eq!(f.file.as_deref(), Some("tests/test_more.py"), "{f:#?}");
        // The `[gw0] linux -- Python …` worker line is not the message.
        assert!(!f.message.contains("[gw"), "{f:#?}");
    }
}

#[test]
fn pytest_doctest_modules() {
    let r = parse(real!("pytest-more-itertools-doctest-modules.txt"), None).unwrap();
    assert_eq!((r.passed, r.failed, r.skipped), (808, 8, 6));
    assert_eq!(r.failures.len(), 8, "{:#?}", r.failures);
    let d = find(&r, "more_itertools/more.py::more_itertools.more.chunked");
    assert_eq!(
        d.name,
        "more_itertools/more.py::more_itertools.more.chunked"
    );
    assert_eq!(
        (d.file.as_deref(), d.line),
        (Some("/tmp/mi/work/more_itertools/more.py"), Some(171))
    );
    assert_eq!(
        d.message,
        "DocTestFailure\nFailed example:\n    list(chunked([1, 2, 3, 4, 5, 6, 7, 8], 3))\nExpected:\n    [[1, 2, 3], [4, 5, 6], [7, 8]]\nGot:\n    [[1, 2, 3], [4, 5, 6]]"
    );
}

#[test]
fn junit_from_pytest_on_a_real_suite() {
    let r = parse(real!("junit-pytest-more-itertools.xml"), None).unwrap();
    assert_eq!(r.framework, "junit");
    assert_eq!((r.failed, r.skipped), (4, 1));
    assert_eq!(r.passed, 659);
    let f = find(&r, "tests.test_more.ChunkedTests.test_odd");
    assert!(
        f.message.starts_with("AssertionError: Lists differ"),
        "{}",
        f.message
    );
    assert_eq!(f.line, Some(58));
}

#[test]
fn cargo_test_unit_integration_and_doc_tests() {
    for text in [
        real!("cargo-test-percent-encoding.txt"),
        real!("cargo-test-percent-encoding-backtrace.txt"),
    ] {
        let r = parse(text, None).unwrap();
        assert_eq!(r.framework, "cargo-test");
        // Three binaries: lib 12+6, threads 0+1, doc-tests 5+1.
        assert_eq!((r.passed, r.failed), (17, 8), "{:#?}", r.failures);
        assert_eq!(r.failures.len(), 8);
        let f = find(&r, "tests::percent_decode");
        assert_eq!(f.name, "tests::percent_decode");
        assert_eq!((f.file.as_deref(), f.line), (Some("src/lib.rs"), Some(423)));
        assert!(
            f.message
                .starts_with("assertion `left == right` failed\n  left: \"foo!bar@\""),
            "{}",
            f.message
        );
        assert!(!f.message.contains("stack backtrace") && !f.message.contains("rust_begin_unwind"));
    }
}

#[test]
fn cargo_test_panics_in_threads_report_the_first_cause() {
    let r = parse(real!("cargo-test-percent-encoding.txt"), None).unwrap();
    let f = find(&r, "decodes_in_worker_threads");
    assert_eq!(
        (f.file.as_deref(), f.line),
        (Some("tests/threads.rs"), Some(11))
    );
    assert!(
        f.message
            .starts_with("assertion `left == right` failed: worker 0\n  left: \"a!b\""),
        "{}",
        f.message
    );
    assert!(f.message.contains("(then thread 'decodes_in_worker_threads' panicked at tests/threads.rs:17: a decoder thread panicked"), "{}", f.message);
}

#[test]
fn cargo_doc_test_failures_point_at_the_example() {
    let r = parse(real!("cargo-test-percent-encoding.txt"), None).unwrap();
    let f = find(&r, "src/lib.rs - percent_decode (line 234)");
    // Not `src/lib.rs:7`, a line of the generated test.
    assert_eq!((f.file.as_deref(), f.line), (Some("src/lib.rs"), Some(234)));
    assert!(f.message.contains("left: \"foo!bar@\""), "{}", f.message);
}

#[test]
fn junit_from_maven_surefire() {
    let text = real!("junit-surefire.xml");
    assert_eq!(detect(text), Some("junit"));
    let r = parse(text, None).unwrap();
    assert_eq!((r.total, r.passed, r.failed, r.skipped), (4, 1, 2, 1));
    let f = find(&r, "demo.StatsTest.meanIsNotFloored");
    assert_eq!(
        f.message,
        "java.lang.AssertionError: expected:<2.3333333333333335> but was:<2.0>"
    );
    assert_eq!(
        (f.file.as_deref(), f.line),
        (Some("demo/StatsTest.java"), Some(9))
    );
    let e = find(&r, "demo.StatsTest.meanOfEmptyIsZero");
    assert_eq!(e.message, "java.lang.ArithmeticException: / by zero");
    assert_eq!(e.line, Some(10));
}

#[test]
fn passed_names_match_the_passed_counts() {
    for (name, text) in [
        ("cargo", real!("cargo-test-percent-encoding.txt")),
        ("junit-pytest", real!("junit-pytest-more-itertools.xml")),
        ("junit-surefire", real!("junit-surefire.xml")),
    ] {
        let r = parse(text, None).unwrap();
        assert!(r.passed > 0, "{name}");
        assert_eq!(r.passed_names.len() as u32, r.passed, "{name}");
        let mut unique = r.passed_names.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(
            unique.len(),
            r.passed_names.len(),
            "{name}: duplicate names"
        );
        for f in &r.failures {
            assert!(!r.passed_names.contains(&f.name), "{name}: {} both", f.name);
        }
    }
}
