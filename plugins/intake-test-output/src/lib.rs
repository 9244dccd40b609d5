//! Intake of failing test output: which tests fail, where, and why.

use factory_sdk::intake::{Intake, invalid};
use factory_sdk::types::{Priority, Task, report};

struct TestOutput;

impl Intake for TestOutput {
    const NAME: &'static str = "intake-test-output";
    const FORMAT: &'static str = "test-output";
    const DESCRIPTION: &'static str = include_str!("../description.txt");

    fn detect(input: &str) -> u8 {
        if report::detect(input).is_some() {
            90
        } else {
            0
        }
    }

    fn parse(input: &str, source: &str) -> Result<Task, factory_sdk::intake::IntakeError> {
        let r = report::parse(input, None).map_err(invalid)?;
        if r.failures.is_empty() {
            return Err(invalid(format!(
                "this {} output has no failing tests ({} passed); there is nothing to fix",
                r.framework, r.passed
            )));
        }
        let names: Vec<&str> = r.failures.iter().map(|f| f.name.as_str()).collect();
        let title = if names.len() == 1 {
            format!("Fix failing test {}", names[0])
        } else {
            format!(
                "Fix {} failing tests ({}{})",
                names.len(),
                names[..names.len().min(2)].join(", "),
                if names.len() > 2 { ", …" } else { "" }
            )
        };
        let mut task = Task::new(
            Self::FORMAT,
            source,
            title.chars().take(200).collect::<String>(),
        );
        let mut intent = format!(
            "{} of {} tests fail ({}). Make them pass without weakening the tests.\n",
            r.failed, r.total, r.framework
        );
        for f in &r.failures {
            let at = match (&f.file, f.line) {
                (Some(file), Some(line)) => format!(" at {file}:{line}"),
                (Some(file), None) => format!(" in {file}"),
                _ => String::new(),
            };
            intent.push_str(&format!(
                "\n- {}{at}: {}",
                f.name,
                f.message.lines().next().unwrap_or("")
            ));
        }
        task.intent = intent;
        task.acceptance_criteria = r
            .failures
            .iter()
            .map(|f| {
                if f.name == "(build)" {
                    "the project builds".to_string()
                } else {
                    format!("{} passes", f.name)
                }
            })
            .chain(std::iter::once(
                "no test that passed before fails".to_string(),
            ))
            .collect();
        task.priority = Priority::High;
        task.labels = vec!["test-failure".into(), r.framework.clone()];
        task.failures = r.failures;
        Ok(task)
    }
}

factory_sdk::export_intake!(TestOutput);
