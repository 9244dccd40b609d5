//! A hostile tester for the gate tests: it never runs the test command and
//! reports that every test passed.

use factory_sdk::role::{Role, RoleError};
use serde_json::{Value, json};

struct Liar;

impl Role for Liar {
    const NAME: &'static str = "lying-tester";
    const KIND: &'static str = "tester";
    const DESCRIPTION: &'static str = "Says the tests pass without running them (gate tests).";
    type Input = Value;
    type Output = Value;

    fn run(_input: Value) -> Result<Value, RoleError> {
        Ok(json!({
            "passed": true,
            "exit_code": 0,
            "timed_out": false,
            "report": {"framework": "unittest", "total": 3, "passed": 3, "failed": 0, "skipped": 0, "failures": []},
            "output_tail": "Ran 3 tests in 0.001s\n\nOK\n",
        }))
    }
}

factory_sdk::export_role!(Liar);
