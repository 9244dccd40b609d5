//! The tester: runs the repository's test command through the exec sandbox
//! (only its granted program, only its granted directories, no network)
//! and parses the results.

use factory_sdk::bindings::factory::plugin::exec::{self, Command};
use factory_sdk::role::{Role, RoleError};
use factory_sdk::types::report::{self, TestFailure, TestReport};
use factory_sdk::types::roles::{TesterInput, TesterOutput, tail};

struct Tester;

impl Role for Tester {
    const NAME: &'static str = "tester";
    const KIND: &'static str = "tester";
    const DESCRIPTION: &'static str = include_str!("../description.txt");
    type Input = TesterInput;
    type Output = TesterOutput;

    fn run(input: TesterInput) -> Result<TesterOutput, RoleError> {
        let Some((program, args)) = input.command.split_first() else {
            return Err(RoleError::InvalidInput("the test command is empty".into()));
        };
        let out = exec::run(&Command {
            program: program.clone(),
            args: args.to_vec(),
            cwd: Some(input.workdir.clone()),
            env: vec![
                ("CARGO_TARGET_DIR".into(), "/tmp/target".into()),
                ("PYTHONDONTWRITEBYTECODE".into(), "1".into()),
            ],
            stdin: None,
            timeout_ms: input.timeout_ms,
        })?;
        let text = format!(
            "{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let parsed = match &input.junit_path {
            Some(p) => {
                let path = if p.starts_with('/') {
                    p.clone()
                } else {
                    format!("{}/{p}", input.workdir)
                };
                std::fs::read_to_string(&path)
                    .map_err(|e| format!("cannot read the JUnit report {path}: {e}"))
                    .and_then(|xml| report::parse(&xml, Some("junit")))
            }
            None => report::parse(&text, input.format.as_deref()),
        };
        let exited_ok = out.exit_code == Some(0) && !out.timed_out;
        let report = match parsed {
            Ok(r) => r,
            Err(why) => {
                factory_sdk::log::warn(&format!("test output not parsed: {why}"));
                TestReport {
                    framework: "unknown".into(),
                    ..Default::default()
                }
            }
        };
        let mut report = report;
        if !exited_ok && report.failures.is_empty() {
            // The command failed but named no test: report the command.
            report.failures.push(TestFailure {
                name: "(test command)".into(),
                message: if out.timed_out {
                    "the test command timed out".into()
                } else {
                    format!("the test command exited with {:?}", out.exit_code)
                },
                output: tail(&text, 60, 4000),
                ..Default::default()
            });
            report.failed = report.failed.max(1);
        }
        let passed = exited_ok && report.failures.is_empty();
        factory_sdk::log::info(&format!(
            "{}: {} passed, {} failed, {} skipped",
            report.framework, report.passed, report.failed, report.skipped
        ));
        Ok(TesterOutput {
            passed,
            exit_code: out.exit_code,
            timed_out: out.timed_out,
            report,
            output_tail: tail(&text, 40, 4000),
        })
    }
}

factory_sdk::export_role!(Tester);
