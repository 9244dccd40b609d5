//! The smallest tool: bindings straight from the contract (world
//! `tool-plugin`, no SDK), returning `{}`. The benchmark measures the cost of
//! a fresh isolated invocation with it, so the guest's own work is ~nothing.

wit_bindgen::generate!({ path: "../../../wit/plugin", world: "tool-plugin" });

use exports::factory::plugin::tool::{Guest, Info, ToolError};

struct Noop;

impl Guest for Noop {
    fn describe() -> Info {
        Info {
            name: "noop".into(),
            description: "Does nothing and returns {} (for factory's benchmark).".into(),
            input_schema: r#"{"type":"object"}"#.into(),
        }
    }
    fn invoke(_input: String) -> Result<String, ToolError> {
        Ok("{}".into())
    }
}

export!(Noop);
