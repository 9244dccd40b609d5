//! The parsers against real output (tests/fixtures/intake, captured from
//! the real tools).

use super::*;

macro_rules! fixture {
    ($f:literal) => {
        include_str!(concat!("../../../../tests/fixtures/intake/", $f))
    };
}

/// The failure named `name` (or ending with it).
pub(super) fn find<'a>(r: &'a TestReport, name: &str) -> &'a TestFailure {
    r.failures
        .iter()
        .find(|f| f.name == name || f.name.ends_with(name))
        .unwrap_or_else(|| panic!("no failure {name} in {:#?}", r.failures))
}

#[test]
fn cargo_test() {
    let text = fixture!("cargo-test-fail.txt");
    assert_eq!(detect(text), Some("cargo-test"));
    let r = parse(text, None).unwrap();
    assert_eq!((r.passed, r.failed, r.skipped, r.total), (2, 2, 1, 5));
    let adds = find(&r, "tests::adds");
    assert_eq!(adds.file.as_deref(), Some("src/lib.rs"));
    assert_eq!(adds.line, Some(6));
    assert!(
        adds.message.contains("assertion `left == right` failed"),
        "{}",
        adds.message
    );
    assert!(adds.message.contains("left: 0"));
    assert!(!adds.message.contains("stack backtrace"));
    let overflow = find(&r, "tests::overflow");
    assert!(
        overflow.message.contains("index out of bounds"),
        "{}",
        overflow.message
    );
}

#[test]
fn cargo_build_failure() {
    let text = fixture!("cargo-build-fail.txt");
    let r = parse(text, None).unwrap();
    let b = find(&r, "(build)");
    assert_eq!(b.file.as_deref(), Some("src/lib.rs"));
    assert_eq!(b.line, Some(1));
    assert!(b.message.contains("E0425"));
    assert_eq!(r.failed, 1);
}

#[test]
fn pytest() {
    let text = fixture!("pytest-fail.txt");
    assert_eq!(detect(text), Some("pytest"));
    let r = parse(text, None).unwrap();
    assert_eq!((r.passed, r.failed), (1, 3));
    assert_eq!(r.failures.len(), 3, "{:#?}", r.failures);
    let m = find(&r, "test_mean");
    assert_eq!(m.name, "test_calc.py::TestCalc::test_mean");
    assert_eq!(m.file.as_deref(), Some("test_calc.py"));
    assert_eq!(m.line, Some(15));
    assert_eq!(m.message, "AssertionError: 2.0 != 3");
    let z = find(&r, "test_mean_of_empty_is_zero");
    assert_eq!(z.line, Some(12));
    assert!(z.message.contains("ZeroDivisionError"));
}

#[test]
fn unittest() {
    let text = fixture!("unittest-fail.txt");
    assert_eq!(detect(text), Some("unittest"));
    let r = parse(text, None).unwrap();
    assert_eq!((r.total, r.passed, r.failed), (4, 1, 3));
    let m = find(&r, "TestCalc.test_mean");
    assert_eq!(m.name, "test_calc.TestCalc.test_mean");
    assert_eq!(m.line, Some(15));
    assert!(m.file.as_deref().unwrap().ends_with("test_calc.py"));
    assert_eq!(m.message, "AssertionError: 2.0 != 3");
    assert!(
        find(&r, "test_divide_by_zero_returns_none")
            .message
            .contains("ZeroDivisionError")
    );
}

#[test]
fn junit() {
    let text = fixture!("junit-pytest.xml");
    assert_eq!(detect(text), Some("junit"));
    let r = parse(text, None).unwrap();
    assert_eq!((r.total, r.passed, r.failed), (4, 1, 3));
    let m = find(&r, "test_mean");
    assert_eq!(m.name, "test_calc.TestCalc.test_mean");
    assert_eq!(m.message, "AssertionError: 2.0 != 3");
    assert_eq!(m.file.as_deref(), Some("test_calc.py"));
    assert_eq!(m.line, Some(15));
}

#[test]
fn junit_errors_are_clear() {
    assert!(
        parse("<testsuite><testcase", Some("junit"))
            .unwrap_err()
            .contains("invalid JUnit XML")
    );
    assert!(
        parse("<html/>", Some("junit"))
            .unwrap_err()
            .contains("root element is <html>")
    );
}

#[test]
fn passing_runs_and_noise() {
    let ok = "running 2 tests\ntest a ... ok\ntest b ... ok\n\ntest result: ok. 2 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s\n";
    let r = parse(ok, None).unwrap();
    assert_eq!((r.passed, r.failed, r.failures.len()), (2, 0, 0));
    let ok = "....\n----------------------------------------------------------------------\nRan 4 tests in 0.001s\n\nOK\n";
    let r = parse(ok, None).unwrap();
    assert_eq!((r.total, r.passed, r.failed), (4, 4, 0));
    assert!(parse("hello world", None).is_err());
    assert_eq!(detect(""), None);
}

#[test]
fn signature_ignores_order_and_output() {
    let mut a = parse(fixture!("pytest-fail.txt"), None).unwrap();
    let sig = a.signature();
    a.failures.reverse();
    a.failures[0].output.push_str("different");
    assert_eq!(a.signature(), sig);
}

#[test]
fn passed_names_where_the_output_lists_them() {
    let unittest_v = "test_divide (test_calc.TestCalc.test_divide) ... ok\n\
        test_mean (test_calc.TestCalc.test_mean)\nThe mean of a list. ... ok\n\
        test_odd (test_calc.TestCalc.test_odd) ... FAIL\n\
        test_skip (test_calc.TestCalc.test_skip) ... skipped 'later'\n\n\
        ======================================================================\n\
        FAIL: test_odd (test_calc.TestCalc.test_odd)\n\
        ----------------------------------------------------------------------\n\
        AssertionError: 1 != 2\n\n\
        ----------------------------------------------------------------------\n\
        Ran 4 tests in 0.001s\n\nFAILED (failures=1, skipped=1)\n";
    let r = parse(unittest_v, None).unwrap();
    assert_eq!(r.passed, 2);
    assert_eq!(
        r.passed_names,
        [
            "test_calc.TestCalc.test_divide",
            "test_calc.TestCalc.test_mean"
        ]
    );
    let pytest_v = "============================= test session starts ==============================\n\
        test_calc.py::test_divide PASSED                                         [ 50%]\n\
        test_calc.py::test_mean FAILED                                           [100%]\n\
        =========================== short test summary info ============================\n\
        PASSED test_calc.py::test_divide\n\
        FAILED test_calc.py::test_mean - assert 1 == 2\n\
        ========================= 1 failed, 1 passed in 0.01s ==========================\n";
    let r = parse(pytest_v, None).unwrap();
    assert_eq!(r.passed_names, ["test_calc.py::test_divide"]);
    // Without -v there are no names, only counts.
    let quiet = "..\n----------------------------------------------------------------------\nRan 2 tests in 0.000s\n\nOK\n";
    let r = parse(quiet, None).unwrap();
    assert_eq!((r.passed, r.passed_names.len()), (2, 0));
}
