//! Writing an intake adapter: detect and parse one input format into a
//! [`Task`](crate::types::Task), plus [`export_intake!`].

pub use crate::intake_bindings::exports::factory::plugin::intake::{Info, IntakeError};
use crate::types::Task;

pub trait Intake {
    const NAME: &'static str;
    /// The `--format` value this adapter serves.
    const FORMAT: &'static str;
    const DESCRIPTION: &'static str;
    /// 0 (not this format) to 100 (certainly this format).
    fn detect(input: &str) -> u8;
    fn parse(input: &str, source: &str) -> Result<Task, IntakeError>;
}

pub fn invalid(msg: impl std::fmt::Display) -> IntakeError {
    IntakeError::InvalidInput(msg.to_string())
}

#[doc(hidden)]
pub fn __describe<I: Intake>() -> Info {
    Info {
        name: I::NAME.into(),
        format: I::FORMAT.into(),
        description: I::DESCRIPTION.trim().into(),
    }
}

#[doc(hidden)]
pub fn __parse<I: Intake>(input: String, source: String) -> Result<String, IntakeError> {
    if input.trim().is_empty() {
        return Err(invalid(format!(
            "the input is empty; expected {}",
            I::DESCRIPTION.trim_end_matches('.')
        )));
    }
    let task = I::parse(&input, &source)?;
    let problems = task.problems();
    if !problems.is_empty() {
        return Err(IntakeError::Failed(format!(
            "the adapter produced an invalid task: {}",
            problems.join("; ")
        )));
    }
    serde_json::to_string(&task).map_err(|e| IntakeError::Failed(e.to_string()))
}

/// Export an [`Intake`] as this component's `factory:plugin/intake`.
#[macro_export]
macro_rules! export_intake {
    ($intake:ty) => {
        #[doc(hidden)]
        pub struct __FactoryIntakeExport;
        impl $crate::intake_bindings::exports::factory::plugin::intake::Guest for __FactoryIntakeExport {
            fn describe() -> $crate::intake::Info {
                $crate::intake::__describe::<$intake>()
            }
            fn detect(input: String) -> u8 {
                <$intake as $crate::intake::Intake>::detect(&input).min(100)
            }
            fn parse(input: String, source: String) -> Result<String, $crate::intake::IntakeError> {
                $crate::intake::__parse::<$intake>(input, source)
            }
        }
        $crate::intake_bindings::__export_intake!(__FactoryIntakeExport with_types_in $crate::intake_bindings);
    };
}
