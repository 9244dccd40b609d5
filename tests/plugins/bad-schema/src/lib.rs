//! A tool whose `describe()` returns an input schema that is not a valid
//! JSON Schema (`minimum` must be a number): install must refuse it, naming
//! what is wrong, rather than let an MCP client find out at call time.

wit_bindgen::generate!({ path: "../../../wit/plugin", world: "tool-plugin" });

use exports::factory::plugin::tool::{Guest, Info, ToolError};

struct BadSchema;

impl Guest for BadSchema {
    fn describe() -> Info {
        Info {
            name: "bad-schema".into(),
            description:
                "Declares an input schema that is not valid JSON Schema (for factory's tests)."
                    .into(),
            input_schema:
                r#"{"type":"object","properties":{"n":{"type":"integer","minimum":"zero"}}}"#.into(),
        }
    }
    fn invoke(_input: String) -> Result<String, ToolError> {
        Ok("{}".into())
    }
}

export!(BadSchema);
